import Foundation
import Testing
import YKTCore
import YKTDemo
import YKTStore
import YKTTownship
@testable import YKTCLI

@Suite("ykt, run as a black box")
struct CLITests {
    @Test("fuzz inputs (the seed corpus and every saved regression) replay through each target without a crash")
    func fuzzRegressions() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let replay = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().appendingPathComponent("ykt-fuzz").path
        for target in ["changeset", "csv", "bankfile"] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: replay)
            p.arguments = [target] + ["corpus", "regressions"].map { root.appendingPathComponent("fuzz/\($0)/\(target)").path }
                .filter { FileManager.default.fileExists(atPath: $0) }
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 0 && text.contains("no crash") && !text.contains(": 0 inputs"), "\(target): \(text)")
        }
    }

    @Test("help: the overview, every command's --help, unknown commands and options")
    func help() throws {
        let cli = CLI()
        let overview = try cli.run("--help")
        #expect(overview.status == 0 && overview.stdout.contains("ykt beneficiary import"))
        for spec in YKTCommandLine.commands {
            let r = try cli.run(spec.path + ["--help"])
            #expect(r.status == 0, "ykt \(spec.path.joined(separator: " ")) --help")
            #expect(r.stdout.contains("用法：ykt \(spec.path.joined(separator: " "))"))
        }
        let unknown = try cli.run("frobnicate")
        #expect(unknown.status == 2 && unknown.stderr.contains("YKT-USAGE-COMMAND"))
        let badOption = try cli.run("program", "list", "--colour")
        #expect(badOption.status == 2 && badOption.stderr.contains("--colour") && badOption.stderr.contains("--json"))
        let missing = try cli.run("init", "--township", "450223101")
        #expect(missing.status == 2 && missing.stderr.contains("--name"))
    }

    @Test("county commands refuse a date after the county's today, naming --date; today itself is fine")
    func countyFutureDates() throws {
        let cli = CLI()
        let county = cli.path("county")
        #expect(try cli.run("init", "--role", "county", "--county", "450223", "--name", "鹿寨县", "--node", county).status == 0)
        for args in [["batch", "dispatch", "--date", "2099-01-04"],
                     ["complaint", "add", "--about", "roster:1", "--content", "x", "--date", "2099-01-04"],
                     ["bank", "receive", "--date", "2099-01-04"]] {
            let r = try cli.run(args + ["--node", county])
            #expect(r.status != 0 && r.stderr.contains("YKT-DATE-FUTURE") && r.stderr.contains("--date"), "\(args): \(r.stderr)")
        }
        #expect(try cli.run("batch", "dispatch", "--node", county).stderr.contains("YKT-DATE-FUTURE") == false)
    }

    @Test("no node: a clear error with what to do")
    func noNode() throws {
        let cli = CLI()
        let r = try cli.run("program", "list")
        #expect(r.status == 6)
        #expect(r.stderr.contains("YKT-NODE-MISSING") && r.stderr.contains("ykt init"))
    }

    @Test("beneficiary list, read one person at a time: the JSON byte for byte the whole array's encoding, the table aligned, an empty village")
    func listStreams() throws {
        let cli = CLI()
        try cli.demoTownship(seed: 7, villages: 3, people: 40)
        #expect(try cli.run("beneficiary", "import", cli.path("data/450223101-register.csv")).status == 0)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let listed = try cli.run("beneficiary", "list", "--json")
        let people = try JSONDecoder().decode([BeneficiaryRecord].self, from: Data(listed.stdout.utf8))
        #expect(people.count == 120)
        let whole = String(decoding: try encoder.encode(people), as: UTF8.self) + "\n"
        #expect(listed.stdout == whole)
        let none = try cli.run("beneficiary", "list", "--json", "--village", "无此村")
        let empty = String(decoding: try encoder.encode([BeneficiaryRecord]()), as: UTF8.self) + "\n"
        #expect(none.status == 0 && none.stdout == empty)
        // The table: a header, its rule, one line a person in the same order, the count.
        let table = try cli.run("beneficiary", "list").stdout.split(separator: "\n").map(String.init)
        #expect(table.count == 2 + 120 + 1 && table.last == "共 120 人")
        let rule = table[1].components(separatedBy: " ").filter { !$0.isEmpty }.map { $0.count }
        #expect(rule.count == 5 && table.allSatisfy { $0.last != " " })
        for (line, person) in zip(table[2..<122], people) {
            #expect(line.hasPrefix(person.village) && line.contains(person.maskedID))
            // Each column starts where the rule's does.
            let start = DisplayWidth.of(String(line.prefix { $0 != "4" }))   // the ID column (every ID starts 45)
            #expect(start == rule[0] + 2 + rule[1] + 2, "\(line)")
        }
    }

    @Test("a township's whole offline day, from the demo county to a submitted roster")
    func workday() throws {
        let cli = CLI()
        #expect(try cli.run("demo", "generate", "--out", cli.path("data"), "--seed", "5", "--townships", "1",
                            "--defects", "checkdigit=1,shared-account=1", "--encoding", "gb18030").status == 0)
        #expect(try cli.run("init", "--township", "450223101", "--name", "寨沙镇").status == 0)
        // The county publishes the policy list with its calendar; the township takes both.
        try cli.receiveCountyCalendar(programs: cli.path("data/programs.csv"))
        // A set clock is refused until the node's configuration allows it (demo and training only).
        cli.environment["YKT_CLOCK"] = "2026-09-20"
        let unset = try cli.run("beneficiary", "list")
        #expect(unset.status != 0 && unset.stderr.contains("YKT-NODE-CONFIG") && unset.stderr.contains("clock_override"))
        try cli.clock("2026-09-20")   // the day's work happens on its day
        let programs = try cli.run("program", "list", "--json")
        #expect((try JSONSerialization.jsonObject(with: Data(programs.stdout.utf8)) as? [Any])?.count == 7)

        // The planted defects refuse the whole register (exit 3), naming lines; nothing is imported.
        let register = cli.path("data/450223101-register.csv")
        let refused = try cli.run("beneficiary", "import", register)
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("YKT-IMPORT-REJECTED") && refused.stderr.contains("YKT-ID-CHECKDIGIT"))
        #expect(refused.stderr.contains("YKT-ACCOUNT-SHARED") && refused.stderr.contains("第 "))
        #expect(try cli.run("beneficiary", "list").stdout.contains("共 0 人"))

        // Keep the good lines; the rejects file lists the two bad ones.
        let kept = try cli.run("beneficiary", "import", register, "--keep-good", "--rejects", cli.path("rejects.csv"), "--json")
        #expect(kept.status == 0)
        let result = try JSONSerialization.jsonObject(with: Data(kept.stdout.utf8)) as? [String: Any]
        #expect(result?["imported"] as? Int == 98 && result?["rejected"] as? Int == 2)
        #expect(result?["encoding"] as? String == "GB18030")
        #expect(try cli.run("application", "import", cli.path("data/450223101-applications.csv")).status == 0)

        // The roster cannot come before the two notices.
        let tooSoon = try cli.run("roster", "build", "--program", "GD01", "--period", "2026")
        #expect(tooSoon.status == 1 && tooSoon.stderr.contains("YKT-ROSTER-EMPTY") && tooSoon.stderr.contains("村级公示"))
        let villages = try cli.passVillageNotices(program: "GD01")
        #expect(!villages.isEmpty)
        let township = String(villages.count + 1)
        try cli.clock("2026-09-30")
        let open = try cli.run("notice", "open", "--program", "GD01", "--period", "2026", "--place", "各村村务公开栏",
                               "--phone", "0772-6812345", "--date", "2026-09-30")
        #expect(open.status == 0 && open.stdout.contains("已张贴乡镇公示 \(township)") && open.stdout.contains("2026年10月12日"), "\(open.stderr)")
        try cli.clock("2026-10-12")
        let early = try cli.run("notice", "close", township, "--date", "2026-10-12")
        #expect(early.status == 1 && early.stderr.contains("YKT-NOTICE-EARLY") && early.stderr.contains("2026年10月13日"))
        try cli.clock("2026-10-13")
        #expect(try cli.run("notice", "close", township, "--date", "2026-10-13").status == 0)
        let listed = try cli.run("notice", "list").stdout
        #expect(listed.contains("村级公示") && listed.contains("乡镇公示"))
        let villagePrint = try cli.run("notice", "print", villages[0], "--out", cli.path("out-village"), "--date", "2026-10-13")
        #expect(villagePrint.status == 0 && villagePrint.stdout.contains(".html"))
        let printed = try cli.run("notice", "print", township, "--out", cli.path("out"), "--date", "2026-10-13")
        #expect(printed.status == 0 && printed.stdout.contains(".html"))
        let built = try cli.run("roster", "build", "--program", "GD01", "--period", "2026", "--json")
        let roster = try JSONSerialization.jsonObject(with: Data(built.stdout.utf8)) as? [String: Any]
        #expect((roster?["lineCount"] as? Int ?? 0) > 0)
        #expect(try cli.run("roster", "submit", "1").status == 0)
        let again = try cli.run("roster", "submit", "1")
        #expect(again.status == 1 && again.stderr.contains("YKT-ROSTER-FROZEN"))

        let outbox = try cli.run("outbox", "list", "--summary", "--json")
        let rows = try JSONSerialization.jsonObject(with: Data(outbox.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(rows.first { $0["kind"] as? String == "beneficiary.register" }?["count"] as? Int == 98)
        #expect(rows.contains { $0["kind"] as? String == "roster.submit" })

        // Exporting full personal data is itself recorded: who, when, what.
        #expect(try cli.run("application", "list", "--json").status == 0)
        let last = try cli.run("audit", "list", "--limit", "1", "--json")
        let entry = (try JSONSerialization.jsonObject(with: Data(last.stdout.utf8)) as? [[String: Any]])?.first
        #expect(entry?["action"] as? String == "personal-data.view" && entry?["operatorName"] as? String == "tester")

        let key = try cli.run("key", "show", "--json")
        let shown = try JSONSerialization.jsonObject(with: Data(key.stdout.utf8)) as? [String: Any]
        #expect((shown?["publicKey"] as? String)?.count == 64 && shown?["algorithm"] as? String == "Ed25519")

        let verify = try cli.run("audit", "verify")
        #expect(verify.status == 0 && verify.stdout.contains("审计日志完好"))

        // Nothing this workday printed to the terminal or wrote in public files carries a whole ID.
        let ids = try generatedIDs(cli)
        let outputs = [refused.stderr, open.stdout, early.stderr, printed.stdout, verify.stdout,
                       try cli.run("beneficiary", "list").stdout, try cli.run("roster", "show", "1").stdout,
                       try cli.run("outbox", "list").stdout, try cli.run("audit", "list", "--limit", "100").stdout]
            + (try FileManager.default.contentsOfDirectory(atPath: cli.path("out")).map {
                try String(contentsOfFile: cli.path("out/" + $0), encoding: .utf8)
            })
        for id in ids {
            #expect(!outputs.contains { $0.contains(id) }, "an unmasked resident ID appeared")
        }
    }

    /// The resident IDs of the demo register (decoded from GB18030).
    func generatedIDs(_ cli: CLI) throws -> [String] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: cli.path("data/450223101-register.csv"))))
        let text = try TextDecoding.decode(bytes, file: "r")
        return try CSVReader(utf8: text.utf8, file: "r").records().dropFirst().map { $0.fields[1] }
    }

    @Test("calendar commands: the county publishes and shows versions, a township shows the version it received")
    func calendarCommands() throws {
        let cli = CLI()
        #expect(try cli.run("init", "--township", "450223105", "--name", "拉沟乡").status == 0)
        let none = try cli.run("calendar", "show")
        #expect(none.status == 0 && none.stdout.contains("尚未收到县财政发布的工作日历"))
        try cli.receiveCountyCalendar()
        let shown = try cli.run("calendar", "show")
        #expect(shown.stdout.contains("第 1 版") && shown.stdout.contains("2025、2026"))
        let county = try cli.run("calendar", "show", "--json", "--node", cli.path("county"))
        let json = try JSONSerialization.jsonObject(with: Data(county.stdout.utf8)) as? [String: Any]
        #expect((json?["versions"] as? [[String: Any]])?.first?["action"] as? String == "publish")
        let again = try cli.run("calendar", "publish", cli.path("cn-holidays.tsv"), "--node", cli.path("county"))
        #expect(again.status == 1 && again.stderr.contains("YKT-CAL-PUBLISHED"))
        let noReason = try cli.run("calendar", "correct", cli.path("cn-holidays.tsv"), "--node", cli.path("county"))
        #expect(noReason.status == 2 && noReason.stderr.contains("--reason"))
        let atTownship = try cli.run("calendar", "publish", cli.path("cn-holidays.tsv"))
        #expect(atTownship.status != 0)
        var bare = cli.environment
        bare["YKT_NODE"] = nil
        cli.environment = bare
        let noNode = try cli.run("calendar", "period", "--date", "2026-02-12")
        #expect(noNode.status == 6 && noNode.stderr.contains("YKT-NODE-MISSING"))
    }

    @Test("a tampered audit trail is reported with exit status 7")
    func tamperedAudit() throws {
        let cli = CLI()
        #expect(try cli.run("init", "--township", "450223102", "--name", "中渡镇").status == 0)
        // A township loads no calendar of its own (the county publishes it): refused, exit 1.
        let tsv = cli.path("2027.tsv")
        try Data("2027-01-01\tholiday\t元旦\n".utf8).write(to: URL(fileURLWithPath: tsv))
        let load = try cli.run("calendar", "load", tsv)
        #expect(load.status == 1 && load.stderr.contains("YKT-CAL-COUNTY") && load.stderr.contains("ykt calendar publish"))
        #expect(try cli.run("beneficiary", "add", "--id", ResidentID.completing("45022319500101123"), "--name", "韦秀英",
                            "--village", "大塘村", "--bank", "农行", "--account", "6228480000000000018",
                            "--confirmation", "QR").status == 0)
        do {
            let db = try Database(path: cli.path("node/township.db"))
            try db.run("UPDATE audit SET detail = 'forged' WHERE seq = 1")
        }
        let r = try cli.run("audit", "verify")
        #expect(r.status == 7)
        #expect(r.stderr.contains("YKT-AUDIT-BROKEN") && r.stderr.contains("第 1 条"))
    }

    @Test("scheduled sync logs one line per round and backs off while the county is unreachable")
    func scheduled() throws {
        let cli = CLI()
        #expect(try cli.run("init", "--township", "450223104", "--name", "四排镇").status == 0)
        #expect(try cli.run("sync", "--every", "soon").stderr.contains("YKT-USAGE-VALUE"))
        let mk = Process()
        mk.executableURL = URL(fileURLWithPath: "/bin/bash")
        mk.arguments = [ServeProcessTests.pkiScript, cli.path("pki"), "450223104"]
        mk.standardOutput = FileHandle.nullDevice
        try mk.run()
        mk.waitUntilExit()
        let conf = cli.path("node/node.conf")
        let pki = cli.path("pki")
        let extra = "tls_certificate = \(pki)/450223104.crt\ntls_key = \(pki)/450223104.key\ntls_ca = \(pki)/ca.crt\n"
            + "county_public_key = " + String(repeating: "00", count: 32) + "\n"
        try (try String(contentsOfFile: conf, encoding: .utf8) + extra).write(toFile: conf, atomically: true, encoding: .utf8)
        // Port 9 on loopback: nobody listens, every round fails.
        let r = try cli.run("sync", "--county", "127.0.0.1:9", "--every", "1s", "--rounds", "2")
        #expect(r.status == 0)
        #expect(r.stderr.contains("第 1 轮失败（连续 1 次）") && r.stderr.contains("第 2 轮失败（连续 2 次）"))
        #expect(r.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("ykt sync:") }.count == 2)
    }

    @Test("raw operation bodies shown to admins have IDs, cards and mobiles masked")
    func maskDigits() {
        let text = #"{"residentId":"11010519491231002X","number":"6228480000000000018","phone":"13800138000","fen":37413}"#
        let masked = RecordCommands.maskDigits(text)
        #expect(masked.contains("110105********002X") && masked.contains("6228***********0018") && masked.contains("138****8000"))
        #expect(masked.contains("37413"))
    }

    @Test("bad values on the command line name the option")
    func badValues() throws {
        let cli = CLI()
        #expect(try cli.run("init", "--township", "450223103", "--name", "平山镇").status == 0)
        try cli.receiveCountyCalendar()
        let id = try cli.run("beneficiary", "add", "--id", "450223195001011231", "--name", "韦秀英", "--village", "大塘村",
                             "--bank", "农行", "--account", "6228480000000000018", "--confirmation", "QR")
        #expect(id.status == 3 && id.stderr.contains("--id") && id.stderr.contains("YKT-ID-CHECKDIGIT"))
        let date = try cli.run("calendar", "period", "--date", "2026-02-30")
        #expect(date.status == 3 && date.stderr.contains("--date"))
        let period = try cli.run("calendar", "period", "--date", "2026-02-12", "--json")
        #expect(period.stdout.contains("\"lastDay\" : \"2026-02-25\""))
        let nodata = try cli.run("calendar", "period", "--date", "2027-06-01")
        #expect(nodata.status == 6 && nodata.stderr.contains("YKT-CAL-NODATA"))
    }

    @Test("docs/commands.md is the program's own reference, and docs/errors.md lists every code")
    func docs() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let commands = try String(contentsOf: root.appendingPathComponent("docs/commands.md"), encoding: .utf8)
        #expect(commands.trimmingCharacters(in: .whitespacesAndNewlines)
                == YKTCommandLine.markdownReference.trimmingCharacters(in: .whitespacesAndNewlines),
                "regenerate with: swift run ykt docs commands > docs/commands.md")
        let errors = try String(contentsOf: root.appendingPathComponent("docs/errors.md"), encoding: .utf8)
        #expect(errors.contains(YKTCommandLine.errorTable), "regenerate the table with: swift run ykt docs errors")
    }
}
