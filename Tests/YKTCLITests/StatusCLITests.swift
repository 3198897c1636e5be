import Foundation
import Testing
import YKTCore
import YKTCounty
import YKTSync
@testable import YKTTownship

/// `ykt status` at both nodes, empty sync rounds, `init`'s configuration and next steps, the
/// default port, the development PKI extended later, and the totals of `application list`
/// (issue 16, items 3 and 6), black-box through the built binary.
@Suite("ykt status, quiet sync rounds, init and setup")
struct StatusCLITests {
    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    @Test("status at a township and the county: what waits, the last sync, refusals; an empty round adds no audit entry")
    func statusAndQuietRounds() throws {
        let served = try ServedCounty()
        defer { served.stop() }
        let (cli, county, town, port) = (served.cli, served.county, served.town, served.port)
        func add(_ n: Int) throws {
            let r = try cli.run("beneficiary", "add", "--id", ResidentID.completing("4502231950010112\(n)"), "--name", ["韦秀英", "覃建国"][n - 1],
                                "--village", "大塘村", "--bank", "农行", "--account", AccountNumber.completingLuhn("62284800000000010\(n)"),
                                "--confirmation", "QR")
            #expect(r.status == 0, "\(r.stderr)")
        }
        func audits() throws -> (town: Int64, county: Int64) {
            (try TownshipNode.open(directory: town).db.integer("SELECT count(*) FROM audit") ?? 0,
             try CountyNode.open(directory: county).db.integer("SELECT count(*) FROM audit") ?? 0)
        }
        let sync = ["sync", "--county", "127.0.0.1:\(port)"]

        // Never synced, one operation waiting: each says what to do next.
        try add(1)
        let before = try cli.run("status")
        #expect(before.status == 0)
        #expect(before.stdout.contains("尚未与县财政同步过") && before.stdout.contains("待同步：1 条操作") && before.stdout.contains("ykt sync"))
        #expect(Self.json(try cli.run("status", "--json").stdout)["outboxWaiting"] as? Int == 1)

        // A round that moves something: audit entries on both sides; the status tells its outcome.
        #expect(try cli.run(sync).status == 0)
        let after = try cli.run("status").stdout
        #expect(after.contains("上次同步成功") && after.contains("推送操作 1 条（采纳 1") && !after.contains("待同步"))
        let state = Self.json(try cli.run("status", "--json").stdout)["sync"] as? [String: Any]
        #expect(state?["lastSuccessAt"] as? String != nil && (state?["lastOutcome"] as? [String: Any])?["accepted"] as? Int == 1)

        // Empty scheduled rounds: nothing in either audit trail, but the last sync time moves.
        let quiet = try audits()
        #expect(try cli.run(sync + ["--every", "1s", "--rounds", "2"]).status == 0)
        #expect(try audits() == quiet, "an empty round wrote an audit entry")
        #expect(try cli.run(sync).status == 0)
        #expect(try audits() == quiet)
        let later = (Self.json(try cli.run("status", "--json").stdout)["sync"] as? [String: Any])?["lastSuccessAt"] as? String
        #expect(later != nil && later! >= state?["lastSuccessAt"] as? String ?? "")
        // A round with something to send writes its entries again.
        try add(2)
        let busy = try audits()
        #expect(try cli.run(sync).status == 0)
        let moved = try audits()
        #expect(moved.town > busy.town + 0 && moved.county > busy.county)

        // The county: the township's last change set and pull; township list shows the last sync.
        let countyStatus = try cli.run("status", "--node", county)
        #expect(countyStatus.status == 0 && countyStatus.stdout.contains("寨沙镇（450223101）：最近收到第 2 号变更集"))
        #expect(countyStatus.stdout.contains("最近下行同步"))
        let townships = Self.json(try cli.run("status", "--json", "--node", county).stdout)["townships"] as? [[String: Any]]
        #expect(townships?.first?["lastChangeSet"] as? Int == 2 && townships?.first?["lastAccepted"] as? Int == 1)
        let list = try cli.run("township", "list", "--node", county)
        #expect(list.stdout.contains("最近同步") && !list.stdout.contains("未同步"))

        // Refused: the county disabled the township. Both sides say so, with the code and what to do.
        #expect(try cli.run("township", "disable", "450223101", "--reason", "证书疑似被盗", "--node", county).status == 0)
        #expect(try cli.run(sync).status != 0)
        let failing = try cli.run("status").stdout
        #expect(failing.contains("最近一次同步失败") && failing.contains("YKT-SYNC-DISABLED"))
        let refused = try cli.run("status", "--node", county).stdout
        #expect(refused.contains("被拒收") && refused.contains("YKT-SYNC-DISABLED") && refused.contains("【已停用】"))
        // Enabled again, a round with nothing to push gets through: the refusal is history, not a to-do.
        #expect(try cli.run("township", "enable", "450223101", "--reason", "已换发证书", "--node", county).status == 0)
        #expect(try cli.run(sync).status == 0)
        let cleared = try cli.run("status", "--node", county).stdout
        #expect(!cleared.contains("被拒收") && !cleared.contains("YKT-SYNC-DISABLED"), "\(cleared)")
        #expect(try cli.run("audit", "verify").status == 0)
        #expect(try cli.run("audit", "verify", "--node", county).status == 0)
    }

    @Test("status at a township: notices that may close today, objections first, and application list totals")
    func townshipWork() throws {
        let cli = CLI()
        #expect(try cli.run("demo", "generate", "--out", cli.path("data"), "--seed", "5", "--townships", "1").status == 0)
        #expect(try cli.run("init", "--township", "450223101", "--name", "寨沙镇").status == 0)
        // The calendar and the policy list, both from the county.
        try cli.receiveCountyCalendar(programs: cli.path("data/programs.csv"))
        try cli.clock("2026-09-20")
        #expect(try cli.run("beneficiary", "import", cli.path("data/450223101-register.csv")).status == 0)
        #expect(try cli.run("application", "import", cli.path("data/450223101-applications.csv")).status == 0)
        // One the village did not pass: listed, counted apart, not in the total.
        let id = ResidentID.completing("45022319991231007")
        #expect(try cli.run("beneficiary", "add", "--id", id, "--name", "未通过", "--village", "大塘村", "--bank", "农行",
                            "--account", AccountNumber.completingLuhn("622848000000009990"), "--confirmation", "QR").status == 0)
        #expect(try cli.run("application", "add", "--id", id, "--program", "GD01", "--period", "2026", "--quantity", "10",
                            "--village-result", "不通过").status == 0)
        let listed = try cli.run("application", "list", "--program", "GD01")
        let rows = (try JSONSerialization.jsonObject(with: Data(try cli.run("application", "list", "--program", "GD01", "--json").stdout.utf8))
            as? [[String: Any]]) ?? []
        func sum(_ rows: [[String: Any]]) -> String { Fen(rows.reduce(Int64(0)) { $0 + Int64($1["amountFen"] as? Int ?? 0) }).yuanGrouped }
        let counted = rows.filter { !["not_passed", "removed"].contains($0["status"] as? String ?? "") }
        let apart = rows.filter { $0["status"] as? String == "not_passed" }
        #expect(apart.contains { $0["residentID"] as? String == id } && counted.count == rows.count - apart.count && !counted.isEmpty)
        #expect(listed.stdout.contains("共 \(counted.count) 条，金额合计 \(sum(counted)) 元；另有村评议未通过 \(apart.count) 条 \(sum(apart)) 元，不计入合计"),
                "\(listed.stdout.suffix(300))")
        // Only the rows outside the total: the last line says so plainly, not "共 0 条".
        let notPassed = try cli.run("application", "list", "--program", "GD01", "--status", "not_passed")
        #expect(notPassed.stdout.contains("共 \(apart.count) 条（村评议未通过，不计入发放合计），金额 \(sum(apart)) 元")
                && !notPassed.stdout.contains("共 0 条"), "\(notPassed.stdout.suffix(300))")
        // Nothing to do, nothing sent back: a line in words, not bare table headers.
        let waiting = try cli.run("inbox", "list", "--waiting")
        #expect(waiting.status == 0 && waiting.stdout.contains("没有须办理的消息") && !waiting.stdout.contains("序号"), "\(waiting.stdout)")
        let problems = try cli.run("outbox", "list", "--problems")
        #expect(problems.status == 0 && problems.stdout.contains("没有县里退回或记为冲突的操作") && !problems.stdout.contains("序号"))
        let rejected = try cli.run("outbox", "list", "--state", "rejected")
        #expect(rejected.status == 0 && rejected.stdout.contains("没有状态为") && !rejected.stdout.contains("序号"), "\(rejected.stdout)")

        let village = try cli.passVillageNotices(program: "GD01")
        let n = String(village.count + 1)
        try cli.clock("2026-09-30")
        #expect(try cli.run("notice", "open", "--program", "GD01", "--period", "2026", "--place", "各村村务公开栏",
                            "--phone", "0772-6812345", "--date", "2026-09-30").status == 0)
        let within = try cli.run("status").stdout
        #expect(within.contains("乡镇公示 \(n)（GD01 2026）公示中，2026-10-13 起可以结束") && !within.contains("今天可以结束"))
        let objected = (counted.first { $0["period"] as? String == "2026" }?["residentID"] as? String) ?? ""
        let objection = try cli.run("objection", "add", "--notice", n, "--id", objected, "--content", "家中有财政供养人员", "--date", "2026-09-30")
        #expect(objection.status == 0, "\(objection.stderr)")

        try cli.clock("2026-10-13")
        let due = try cli.run("status")
        #expect(due.status == 0 && due.stdout.contains("乡镇公示 \(n)（GD01 2026）已满 5 个工作日，但还有 1 条异议未处理") && due.stdout.contains("ykt objection settle"))
        let json = Self.json(try cli.run("status", "--json").stdout)
        #expect((json["closableNotices"] as? [[String: Any]])?.first?["openObjections"] as? Int == 1)
        #expect((json["outboxWaiting"] as? Int ?? 0) > 0 && json["today"] as? String == "2026-10-13")
        // Without --date, the date is the node's today (its clock, as ykt status uses), not the machine's.
        let settled = try cli.run("objection", "settle", "1", "--dismissed", "--reason", "经核实不属实")
        #expect(settled.status == 0 && !settled.stderr.contains("YKT-DATE"), "\(settled.stderr)")
        #expect(try cli.run("status").stdout.contains("乡镇公示 \(n)（GD01 2026）已满 5 个工作日，今天可以结束 → ykt notice close \(n)"))
        // `--json` before the command words counts as given after them.
        let leading = try cli.run("--json", "status")
        #expect(leading.status == 0 && Self.json(leading.stdout)["today"] as? String == "2026-10-13", "\(leading.stderr)")
        let closed = try cli.run("notice", "close", n)
        #expect(closed.status == 0 && !closed.stderr.contains("YKT-DATE"), "\(closed.stderr)")
        let notices = (try JSONSerialization.jsonObject(with: Data(try cli.run("notice", "list", "--json").stdout.utf8)) as? [[String: Any]]) ?? []
        #expect(notices.last?["closedOn"] as? String == "2026-10-13" && notices.last?["stage"] as? String == "township", "\(notices)")
        #expect(try cli.run("roster", "build", "--program", "GD01", "--period", "2026").status == 0)
        let drafted = try cli.run("status").stdout
        #expect(drafted.contains("清册 1 尚未报送") && !drafted.contains("今天可以结束"))
        // Nothing in it carries a whole resident ID.
        #expect(!drafted.contains(objected) && !drafted.contains(id))
    }

    @Test("init writes every key the role needs (to fill: commented) and prints numbered next steps; serve's default port is documented")
    func initAndDefaultPort() throws {
        let cli = CLI()
        let town = try cli.run("init", "--township", "450223101", "--name", "寨沙镇")
        #expect(town.status == 0)
        for step in ["1. 管理员登录：ykt login --login admin", "ykt key show", "ykt township enrol --township 450223101", "ykt sync", "ykt status"] {
            #expect(town.stdout.contains(step), "missing: \(step)")
        }
        let conf = try String(contentsOfFile: cli.path("node/node.conf"), encoding: .utf8)
        for key in ["county_address", "tls_certificate", "tls_key", "tls_ca", "tls_crl", "county_public_key", "issuer", "complaint_phone"] {
            #expect(conf.contains("\n# \(key) = "), "missing: \(key)")
        }
        #expect(conf.contains("# issuer = 寨沙镇人民政府"))
        // No empty `operator =` line: operators log in.
        #expect(!conf.contains("operator ="), "\(conf)")
        #expect(conf.contains(":\(SyncProtocol.defaultPort)"))
        // The commented keys are not set: the node still opens and says what is missing.
        let unset = try cli.run("sync")
        #expect(unset.status != 0 && unset.stderr.contains("YKT-NODE-CONFIG"))

        let county = try cli.run("init", "--role", "county", "--county", "450223", "--name", "鹿寨县", "--node", cli.path("county"))
        #expect(county.status == 0 && county.stdout.contains("ykt serve") && county.stdout.contains("ykt calendar publish"))
        let countyConf = try String(contentsOfFile: cli.path("county/node.conf"), encoding: .utf8)
        #expect(!countyConf.contains("operator ="))
        // The wrong node is named in Chinese, with where to point instead.
        let atCounty = try cli.run("outbox", "list", "--node", cli.path("county"))
        #expect(atCounty.status != 0 && atCounty.stderr.contains("这是县级节点，本命令只用于乡镇节点") && !atCounty.stderr.contains("county 节点"),
                "\(atCounty.stderr)")
        let atTownship = try cli.run("batch", "list")
        #expect(atTownship.status != 0 && atTownship.stderr.contains("这是乡镇节点，本命令只用于县级节点"), "\(atTownship.stderr)")
        #expect(countyConf.contains("\nlisten = 0.0.0.0:\(SyncProtocol.defaultPort)\n"))
        for key in ["tls_certificate", "tls_key", "tls_ca", "tls_crl", "io_timeout_seconds", "cache_mib", "log_level"] {
            #expect(countyConf.contains("\n# \(key) = "), "missing: \(key)")
        }
        // The documented default is the program's.
        #expect(SyncProtocol.defaultPort == 8443)
        #expect(try cli.run("serve", "--help").stdout.contains("0.0.0.0:8443"))
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for doc in ["docs/operations-guide.md", "docs/protocol.md"] {
            let text = try String(contentsOf: root.appendingPathComponent(doc), encoding: .utf8)
            #expect(text.contains("0.0.0.0:8443"), "\(doc) does not document the default port")
        }
    }

    @Test("make-dev-pki.sh adds a township to an existing PKI (same CA, county certificate kept) and says why it fails")
    func pkiExtendedLater() throws {
        let cli = CLI()
        func script(_ args: [String]) throws -> CLI.Result {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = [ServeProcessTests.pkiScript] + args
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return CLI.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
        }
        let pki = cli.path("pki")
        #expect(try script([pki, "450223101"]).status == 0)
        let countyCert = try Data(contentsOf: URL(fileURLWithPath: pki + "/county.crt"))
        let later = try script([pki, "450223102"])
        #expect(later.status == 0, "\(later.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: pki + "/county.crt")) == countyCert)
        // Both townships' certificates verify against the one CA and its CRL; serials differ.
        let verify = Process()
        verify.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        verify.arguments = ["verify", "-CAfile", pki + "/ca.crt", "-crl_check", "-CRLfile", pki + "/ca.crl",
                            pki + "/450223101.crt", pki + "/450223102.crt"]
        verify.standardOutput = FileHandle.nullDevice
        try verify.run()
        verify.waitUntilExit()
        #expect(verify.terminationStatus == 0)
        let index = try String(contentsOfFile: pki + "/index.txt", encoding: .utf8)
        let serials = index.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false)[3] }
        #expect(serials.count == 3 && Set(serials).count == 3)
        // Issued already: skipped with a note; revoking works on the extended PKI.
        let again = try script([pki, "450223102"])
        #expect(again.status == 0 && again.stderr.contains("450223102 的证书已有"))
        #expect(try script(["revoke", pki, "450223102"]).status == 0)
        // Failures say why.
        let bad = try script([pki, "12"])
        #expect(bad.status != 0 && bad.stderr.contains("应为 9 位数字"))
        let none = try script(["revoke", cli.path("nowhere"), "450223101"])
        #expect(none.status != 0 && none.stderr.contains("不是本脚本生成的证书目录"))
        let missing = try script(["revoke", pki, "450223109"])
        #expect(missing.status != 0 && missing.stderr.contains("没有乡镇 450223109 的证书"))
    }
}
