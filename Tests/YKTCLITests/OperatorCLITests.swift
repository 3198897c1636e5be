import Foundation
import Testing
import YKTCore
import YKTTestSupport
import YKTNode
import YKTTownship

/// The command line as an operator meets it: init makes the first administrator, every command
/// runs as the logged-in person with the role it needs, decisions ask for the password again,
/// and what a session leaves on disk is for its owner only.
@Suite("Operators on the command line")
struct OperatorCLITests {
    let pw = TestOperators.password

    /// A township node with admin (from init) and a clerk, `wang`, added and granted by admin.
    func township() throws -> (CLI, [String: String]) {
        let cli = CLI()
        let init_ = try cli.raw(["init", "--township", "450223101", "--name", "寨沙镇", "--admin", "admin", "--admin-name", "乡镇管理员",
                                 "--password-stdin"], input: pw + "\n")
        #expect(init_.status == 0, "\(init_.stderr)")
        var admin = cli.environment
        admin["YKT_SESSION"] = cli.path("admin.session")
        #expect(try cli.raw(["login", "--login", "admin", "--password-stdin"], environment: admin, input: pw + "\n").status == 0)
        let add = try cli.raw(["operator", "add", "--login", "wang", "--name", "王小明", "--password-stdin"], environment: admin,
                              input: pw + "\n" + "wang-initial-99\n")
        #expect(add.status == 0, "\(add.stderr)")
        #expect(try cli.raw(["operator", "grant", "--login", "wang", "--role", "clerk", "--password-stdin"], environment: admin,
                            input: pw + "\n").status == 0)
        // Wang's first login: nothing but changing the password the administrator chose.
        var wang = cli.environment
        wang["YKT_SESSION"] = cli.path("wang.session")
        #expect(try cli.raw(["login", "--login", "wang", "--password-stdin"], environment: wang, input: "wang-initial-99\n").status == 0)
        let blocked = try cli.raw(["beneficiary", "list"], environment: wang)
        #expect(blocked.status == 77 && blocked.stderr.contains("YKT-AUTH-CHANGE") && blocked.stderr.contains("ykt password"))
        let same = try cli.raw(["password", "--password-stdin"], environment: wang, input: "wang-initial-99\nwang-initial-99\n")
        #expect(same.status == 3 && same.stderr.contains("YKT-AUTH-WEAK"))
        let changed = try cli.raw(["password", "--password-stdin"], environment: wang, input: "wang-initial-99\nwang-password-99\n")
        #expect(changed.status == 0, "\(changed.stderr)")
        #expect(try cli.raw(["beneficiary", "list"], environment: wang).status == 0)
        return (cli, admin)
    }

    @Test("without a session every command that touches the node is refused with YKT-AUTH-LOGIN and what to do; --operator and YKT_OPERATOR are gone")
    func loginRequired() throws {
        let (cli, _) = try township()
        var none = cli.environment
        none["YKT_SESSION"] = cli.path("nobody.session")
        let r = try cli.raw(["beneficiary", "list"], environment: none)
        #expect(r.status == 77 && r.stderr.contains("YKT-AUTH-LOGIN") && r.stderr.contains("ykt login"))
        let named = try cli.raw(["beneficiary", "list", "--operator", "随便谁"], environment: none)
        #expect(named.status == 2 && named.stderr.contains("--operator 已停用"))
        var env = none
        env["YKT_OPERATOR"] = "随便谁"
        let viaEnv = try cli.raw(["beneficiary", "list"], environment: env)
        #expect(viaEnv.status == 2 && viaEnv.stderr.contains("YKT_OPERATOR 已停用"))
        // What is public needs no login.
        #expect(try cli.raw(["key", "show"], environment: none).status == 0)
    }

    @Test("a clerk cannot grant, and cannot submit a roster: each refused with YKT-ROLE naming the role needed")
    func rolesChecked() throws {
        let (cli, _) = try township()
        var wang = cli.environment
        wang["YKT_SESSION"] = cli.path("wang.session")
        let login = try cli.raw(["login", "--login", "wang", "--password-stdin"], environment: wang, input: "wang-password-99\n")
        #expect(login.status == 0 && login.stdout.contains("王小明") && login.stdout.contains("乡镇经办人"))
        let grant = try cli.raw(["operator", "grant", "--login", "wang", "--role", "leader", "--password-stdin"], environment: wang,
                                input: "wang-password-99\n")
        #expect(grant.status == 77 && grant.stderr.contains("YKT-ROLE") && grant.stderr.contains("管理员"))
        let submit = try cli.raw(["roster", "submit", "1", "--password-stdin"], environment: wang, input: "wang-password-99\n")
        #expect(submit.status == 77 && submit.stderr.contains("YKT-ROLE") && submit.stderr.contains("乡镇审核人"))
        let whoami = try cli.raw(["whoami", "--json"], environment: wang)
        #expect(whoami.status == 0 && whoami.stdout.contains("\"login\" : \"wang\""))
    }

    @Test("a decision asks for the password again: none given, or a wrong one, and nothing is decided")
    func decisionNeedsPassword() throws {
        let (cli, admin) = try township()
        let empty = try cli.raw(["operator", "grant", "--login", "wang", "--role", "leader", "--password-stdin"], environment: admin, input: "")
        #expect(empty.status == 77 && empty.stderr.contains("YKT-AUTH-SIGN"))
        let wrong = try cli.raw(["operator", "grant", "--login", "wang", "--role", "leader", "--password-stdin"], environment: admin,
                                input: "not-the-password\n")
        #expect(wrong.status == 77 && wrong.stderr.contains("YKT-AUTH-PASSWORD"))
        let list = try cli.raw(["operator", "list", "--json"], environment: admin)
        #expect(list.status == 0 && !list.stdout.contains("\"leader\"") && list.stdout.contains("\"clerk\""))
    }

    @Test("five wrong passwords lock the account (YKT-AUTH-LOCKED) and the right one is refused meanwhile; a disabled account cannot log in")
    func lockedAndDisabled() throws {
        let (cli, admin) = try township()
        var wang = cli.environment
        wang["YKT_SESSION"] = cli.path("wang.session")
        for _ in 1...4 {
            #expect(try cli.raw(["login", "--login", "wang", "--password-stdin"], environment: wang, input: "guess-guess-guess\n").stderr
                        .contains("YKT-AUTH-PASSWORD"))
        }
        let fifth = try cli.raw(["login", "--login", "wang", "--password-stdin"], environment: wang, input: "guess-guess-guess\n")
        #expect(fifth.status == 77 && fifth.stderr.contains("YKT-AUTH-LOCKED"))
        let right = try cli.raw(["login", "--login", "wang", "--password-stdin"], environment: wang, input: "wang-password-99\n")
        #expect(right.status == 77 && right.stderr.contains("YKT-AUTH-LOCKED"))
        #expect(try cli.raw(["operator", "disable", "--login", "wang", "--password-stdin"], environment: admin, input: pw + "\n").status == 0)
        let unknown = try cli.raw(["login", "--login", "nobody", "--password-stdin"], environment: wang, input: "wang-password-99\n")
        #expect(unknown.status == 77 && unknown.stderr.contains("YKT-AUTH-PASSWORD"))
        let disabled = try cli.raw(["operator", "list"], environment: admin)
        #expect(disabled.stdout.contains("停用"))
    }

    @Test("the session file is the owner's alone: written 0600, refused when others can read it; logout ends the session")
    func sessionFile() throws {
        let (cli, admin) = try township()
        let path = cli.path("admin.session")
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        let token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.count == 64)
        chmod(path, 0o644)
        let open = try cli.raw(["operator", "list"], environment: admin)
        #expect(open.status == 77 && open.stderr.contains("会话文件不安全"))
        chmod(path, 0o600)
        // A link in its place is not followed, even to a good token.
        let elsewhere = cli.path("elsewhere.session")
        try (token + "\n").write(toFile: elsewhere, atomically: true, encoding: .utf8)
        chmod(elsewhere, 0o600)
        unlink(path)
        symlink(elsewhere, path)
        let linked = try cli.raw(["operator", "list"], environment: admin)
        #expect(linked.status == 77 && linked.stderr.contains("会话文件不安全"), "\(linked.stderr)")
        unlink(path)
        try (token + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        #expect(try cli.raw(["operator", "list"], environment: admin).status == 0)
        #expect(try cli.raw(["logout"], environment: admin).status == 0)
        #expect(!FileManager.default.fileExists(atPath: path))
        // A copy of the token kept elsewhere is worth nothing after logout.
        try (token + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        let after = try cli.raw(["operator", "list"], environment: admin)
        #expect(after.status == 77 && after.stderr.contains("YKT-AUTH-LOGIN"))
    }

    @Test("ykt audit verify exits 7 and names a submitted roster written straight into the database")
    func verifyFindsDirectWrites() throws {
        let (cli, admin) = try township()
        #expect(try cli.raw(["audit", "verify"], environment: admin).status == 0)
        let db = cli.path("node/township.db")
        let sql = "INSERT INTO roster(program_code, period, batch, status, line_count, total_fen, created_at, submitted_at) "
            + "VALUES ('GD01', '2026', 1, 'submitted', 0, 0, 'x', '2099-01-01')"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = [db, "PRAGMA foreign_keys = OFF; " + sql]
        try p.run()
        p.waitUntilExit()
        let r = try cli.raw(["audit", "verify"], environment: admin)
        #expect(r.status == 7 && r.stderr.contains("报送") && r.stderr.contains("被直接写入数据库"), "\(r.stderr)")
    }

    @Test("operator bootstrap gives a node made before accounts its first administrator, and is refused once any account exists")
    func bootstrapOldNode() throws {
        let (cli, admin) = try township()
        let again = try cli.raw(["operator", "bootstrap", "--login", "mallory", "--name", "某某", "--password-stdin"], environment: admin,
                                input: "mallory-password-1\n")
        #expect(again.status == 1 && again.stderr.contains("YKT-OPERATOR-EXISTS"))
        // A node as an earlier version left it: no account at all.
        let old = cli.path("old")
        _ = try TownshipNode.create(directory: old, config: NodeConfig(role: .township, nodeID: "450223102", name: "中渡镇",
                                                                         countyCode: "450223", defaultOperator: ""))
        let first = try cli.raw(["operator", "bootstrap", "--login", "liu", "--name", "刘建华", "--password-stdin", "--node", old],
                                input: "liu-password-123\n")
        #expect(first.status == 0, "\(first.stderr)")
        var env = cli.environment
        env["YKT_SESSION"] = cli.path("liu.session")
        #expect(try cli.raw(["login", "--login", "liu", "--password-stdin", "--node", old], environment: env,
                            input: "liu-password-123\n").stdout.contains("管理员"))
        #expect(try cli.raw(["audit", "verify", "--node", old], environment: env).status == 0)
    }
}
