import Foundation
import Testing
import YKTCore
import YKTCounty
import YKTTownship
import YKTNode
import YKTTestSupport

/// Runs the built `ykt` binary as a user would, in its own temporary directory.
final class CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    let dir: String
    var environment: [String: String]

    init() {
        dir = NSTemporaryDirectory() + "ykt-cli-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var env = ProcessInfo.processInfo.environment
        env["YKT_NODE"] = dir + "/node"
        environment = env
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// Runs the node's next commands on a set clock (`YKT_CLOCK`, 09:00 China time on `day`),
    /// allowing it in the node's configuration the first time, as the demo does.
    func clock(_ day: String) throws {
        let conf = dir + "/node/node.conf"
        let text = try String(contentsOfFile: conf, encoding: .utf8)
        if !text.contains("clock_override") {
            try (text + "clock_override = allowed\n").write(toFile: conf, atomically: true, encoding: .utf8)
        }
        environment["YKT_CLOCK"] = day
    }

    /// The `ykt` built next to this test bundle.
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("ykt").path
    }()

    @discardableResult
    func run(_ args: String...) throws -> Result { try run(args) }

    /// Runs `ykt` as the office would: `init` makes the first administrator `admin` and an
    /// operator `tester` (township: clerk, leader, auditor; county: approver, payments,
    /// complaints, auditor), and at a township the leader `leader`; every other command on a node
    /// runs logged in, as `admin` for the administrator's commands, as `leader` for `roster
    /// submit` (whoever built a roster cannot submit it) and as `tester` otherwise, with the password on standard input
    /// for the decisions it signs. A test that sets `YKT_SESSION` itself runs exactly as given.
    func run(_ args: [String]) throws -> Result {
        var args = args
        var env = environment
        var input: String?
        let node = Self.option("node", in: args) ?? env["YKT_NODE"]
        if args.first == "init", !args.contains("--admin"), !args.contains("--help") {
            args += ["--admin", TestOperators.administrator, "--admin-name", "测试管理员", "--password-stdin"]
            let r = try raw(args, environment: env, input: TestOperators.password + "\n")
            if r.status == 0, let node, FileManager.default.fileExists(atPath: node + "/node.conf") { try Self.provision(node) }
            return r
        }
        if env["YKT_SESSION"] == nil, let node, let login = Self.login(for: args, node: node) {
            env["YKT_SESSION"] = Self.sessionPath(node: node, login: login)
            input = TestOperators.password + "\n"
            if !args.contains("--password-stdin") { args.append("--password-stdin") }
        }
        return try raw(args, environment: env, input: input)
    }

    static func option(_ name: String, in args: [String]) -> String? {
        guard let i = args.firstIndex(of: "--" + name), i + 1 < args.count else { return nil }
        return args[i + 1]
    }

    /// Commands that need no login, and the administrator's.
    static let open: Set<String> = ["init", "docs", "demo", "key show", "calendar show", "calendar period", "calendar load",
                                    "program list", "bank simulate", "bank cards", "bank statement", "login", "logout", "whoami",
                                    "serve", "sync", "--help", "help", "--version"]
    static let administrators: Set<String> = ["operator", "backup", "township", "key rotate", "bank add", "bank edit", "policy publish",
                                              "calendar publish", "calendar correct", "conflicts resolve", "program load"]

    static func login(for args: [String], node: String) -> String? {
        let words = args.prefix { !$0.hasPrefix("--") }
        let one = words.first ?? "", two = words.prefix(2).joined(separator: " ")
        if open.contains(one) || open.contains(two) || args.contains("--help") { return nil }
        guard FileManager.default.fileExists(atPath: node + "/node.conf") else { return nil }
        if administrators.contains(one) || administrators.contains(two) { return TestOperators.administrator }
        // The summary table is signed by two people: the roster is submitted by another than its builder.
        return two == "roster submit" ? TownshipNode.testLeader : "tester"
    }

    /// Where a login's session for `node` is kept: beside the node directory, so every `CLI`
    /// working on that node finds it.
    static func sessionPath(node: String, login: String) -> String {
        let url = URL(fileURLWithPath: node)
        return url.deletingLastPathComponent().appendingPathComponent(".session-\(url.lastPathComponent)-\(login)").path
    }

    /// The accounts `run` expects on a new node, made in-process as the administrator would, and
    /// both sessions opened.
    static func provision(_ node: String) throws {
        let text = try String(contentsOfFile: node + "/node.conf", encoding: .utf8)
        let operatorNode: any OperatorNode = text.contains("role = county") ? try CountyNode.open(directory: node)
                                                                              : try TownshipNode.open(directory: node)
        let roles: [OperatorGrant] = text.contains("role = county") ? [.approver, .payments, .complaints, .auditor]
                                                                    : [.clerk, .leader, .auditor]
        try operatorNode.actAs("tester", roles: roles)
        var logins = [TestOperators.administrator, "tester"]
        if !text.contains("role = county") {
            try operatorNode.actAs(TownshipNode.testLeader, .leader)
            logins.append(TownshipNode.testLeader)
        }
        for login in logins {
            try operatorNode.sessionFile(login, at: sessionPath(node: node, login: login))
        }
    }

    /// Runs `ykt` exactly as given.
    func raw(_ args: [String], environment: [String: String]? = nil, input: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.environment = environment ?? self.environment
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let stdin = Pipe()
        p.standardInput = stdin
        try p.run()
        // A child that never reads its input may be gone already: EPIPE, not SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        try? stdin.fileHandleForWriting.write(contentsOf: Data((input ?? "").utf8))
        try? stdin.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }

    func path(_ name: String) -> String { dir + "/" + name }

    /// A demo county's data in `data/` (one township, `villages` × `people`, from `seed`) and
    /// township 450223101 寨沙镇 made here, its register not yet imported.
    func demoTownship(seed: Int, villages: Int, people: Int) throws {
        let generated = try run("demo", "generate", "--out", path("data"), "--seed", "\(seed)", "--townships", "1",
                                "--villages", "\(villages)", "--people", "\(people)")
        #expect(generated.status == 0, "\(generated.stderr)")
        let made = try run("init", "--township", "450223101", "--name", "寨沙镇")
        #expect(made.status == 0, "\(made.stderr)")
    }

    /// Gives the township at `node` the county's calendar, as in production: a county node
    /// (`county/`) publishes the standard 2025–2026 arrangement and enrols the township with
    /// `ykt`, and the township pulls the county's stream (in-process here: `ykt sync` needs TLS).
    /// `programs`: a policy-list file the county publishes first (the township takes the
    /// county's list in the same pull, as `ykt sync` does).
    func receiveCountyCalendar(node: String = "node", programs: String? = nil) throws {
        func key(_ dir: String) throws -> (node: String, key: String) {
            let shown = try JSONSerialization.jsonObject(with: Data(try run("key", "show", "--json", "--node", path(dir)).stdout.utf8))
                as? [String: Any]
            return (shown?["node"] as? String ?? "", shown?["publicKey"] as? String ?? "")
        }
        if !FileManager.default.fileExists(atPath: path("county/node.conf")) {
            #expect(try run("init", "--role", "county", "--county", "450223", "--name", "鹿寨县", "--node", path("county")).status == 0)
            try WorkCalendar.builtInTSV.write(toFile: path("cn-holidays.tsv"), atomically: true, encoding: .utf8)
            #expect(try run("calendar", "publish", path("cn-holidays.tsv"), "--node", path("county")).status == 0)
        }
        if let programs {
            #expect(try run("policy", "publish", programs, "--node", path("county")).status == 0)
        }
        let township = try key(node), county = try key("county")
        #expect(try run("township", "enrol", "--township", township.node, "--name", township.node, "--public-key", township.key,
                        "--node", path("county")).status == 0)
        let conf = path(node + "/node.conf")
        try (try String(contentsOfFile: conf, encoding: .utf8) + "county_public_key = \(county.key)\n")
            .write(toFile: conf, atomically: true, encoding: .utf8)
        let countyNode = try CountyNode.open(directory: path("county"))
        _ = try TownshipNode.open(directory: path(node)).pull { after in
            let a = countyNode.stream(peer: township.node, after: after)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }
}
