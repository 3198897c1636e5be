import Foundation
import Testing
import YKTCore

/// Files that survive Excel and WPS, black-box through the built binary: the rejects file keeps
/// IDs, accounts and phones as text and imports again after an open-and-save; the register
/// import names what a spreadsheet did to a file (`docs/conventions.md` (e)).
@Suite("Excel and WPS: protected codes, the rejects round trip, what spreadsheets do to input")
struct ExcelCLITests {
    static let header = "姓名,身份证号,村（社区）,户号,联系电话,开户银行,账户类型,账号,确认书编号,共用账户理由"

    /// A valid resident ID and card number for person `i` (region 450223, born 1960-01-01…).
    static func person(_ i: Int) -> (id: String, card: String) {
        let id = ResidentID.completing("450223" + "1960" + String(format: "%02d%02d", 1 + i / 28 % 12, 1 + i % 28) + String(format: "%03d", i % 1000))
        let card = AccountNumber.completingLuhn("621799" + String(format: "%012d", 100_000 + i))
        return (id, card)
    }

    func township() throws -> CLI {
        let cli = CLI()
        #expect(try cli.run("init", "--township", "450223101", "--name", "寨沙镇").status == 0)
        return cli
    }

    func write(_ text: String, to path: String, bom: Bool = true) throws {
        try Data(((bom ? "\u{FEFF}" : "") + text).utf8).write(to: URL(fileURLWithPath: path))
    }

    func shown(_ cli: CLI, _ id: String) throws -> [String: Any] {
        let r = try cli.run("beneficiary", "show", id, "--json")
        #expect(r.status == 0, "\(r.stderr)")
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
    }

    @Test("the rejects file keeps IDs, accounts, phones and household numbers as text, and imports again unchanged as written, as Excel saves it (GB18030, tabs kept), and as plain or =\"…\" digits")
    func rejectsRoundTrip() throws {
        let a = Self.person(1), b = Self.person(2)
        // Line 3 has no village: rejected; the clerk fills it in and imports the rejects file.
        let register = Self.header + "\r\n"
            + "韦秀英,\(a.id),大塘村,450223101001,13800001234,广西农村信用社,银行卡,\(a.card),QR-1,\r\n"
            + "覃 明,\(b.id),,450223101002,07726812345,广西农村信用社,银行卡,\(b.card),QR-2,\r\n"
        for variant in ["as written", "as Excel saves it", "plain digits", "formula form"] {
            let cli = try township()
            try write(register, to: cli.path("reg.csv"))
            let kept = try cli.run("beneficiary", "import", cli.path("reg.csv"), "--keep-good", "--rejects", cli.path("rejects.csv"))
            #expect(kept.status == 0 && kept.stderr.contains("YKT-FIELD-MISSING"), "\(kept.stderr)")
            var text = try String(contentsOfFile: cli.path("rejects.csv"), encoding: .utf8)
            // Codes are written with a leading tab; name, bank, kind and the line number are not.
            #expect(text.contains(",\t\(b.id),,\t450223101002,\t07726812345,广西农村信用社,银行卡,\t\(b.card),\tQR-2,,3,YKT-FIELD-MISSING,"),
                    "\(text.debugDescription)")
            #expect(text.contains("\r\n覃 明,"))
            // The clerk fills in the village.
            text = text.replacingOccurrences(of: "\t\(b.id),,", with: "\t\(b.id),大塘村,")
            var bytes = Array(text.utf8)
            switch variant {
            case "as Excel saves it":
                // "CSV (逗号分隔)" on Chinese Windows: GB18030, no BOM; cells kept as text keep their tab.
                bytes = try TextDecoding.encodeGB18030(Array(text.replacingOccurrences(of: "\u{FEFF}", with: "").utf8))
                #expect(bytes.contains(0x09) && !bytes.starts(with: [0xEF, 0xBB, 0xBF]))
            case "plain digits":
                bytes = Array(text.replacingOccurrences(of: "\t", with: "").utf8)
            case "formula form":
                for code in [b.id, b.card, "450223101002", "07726812345"] {
                    text = text.replacingOccurrences(of: "\t\(code),", with: "=\"\(code)\",")
                }
                bytes = Array(text.utf8)
            default: break
            }
            try Data(bytes).write(to: URL(fileURLWithPath: cli.path("fixed.csv")))
            let again = try cli.run("beneficiary", "import", cli.path("fixed.csv"))
            #expect(again.status == 0 && again.stdout.contains("导入补贴对象 1 条"), "\(variant): \(again.stderr)")
            let record = try shown(cli, b.id)
            #expect(record["residentID"] as? String == b.id, "\(variant)")
            #expect(record["household"] as? String == "450223101002" && record["phone"] as? String == "07726812345", "\(variant)")
            #expect((record["account"] as? [String: Any])?["number"] as? String == b.card, "\(variant)")
            #expect((record["account"] as? [String: Any])?["confirmation"] as? String == "QR-2", "\(variant)")
            #expect(record["name"] as? String == "覃 明" && record["village"] as? String == "大塘村", "\(variant)")
        }
    }

    @Test("scientific and cut numbers, full-width digits, spaces, separator-only rows: each named or normalised")
    func spreadsheetInput() throws {
        let cli = try township()
        let p = (1...6).map(Self.person)
        let wide = String(p[2].id.unicodeScalars.map { s in
            s.value >= 48 && s.value <= 57 ? Character(Unicode.Scalar(s.value + 0xFEE0)!) : Character(s)
        })
        let spaced = String(p[3].id.prefix(6)) + "\u{3000}" + String(p[3].id.dropFirst(6).prefix(8)) + "\u{A0}" + String(p[3].id.suffix(4))
        let cut = String(p[4].id.prefix(15)) + "000"
        #expect((try? ResidentID(cut)) == nil, "the cut number must fail its check digit for this test")
        let text = Self.header + "\r\n"
            + "甲,4.50223E+17,大塘村,,,广西农村信用社,银行卡,\(p[0].card),QR-1,\r\n"
            + "乙,4.50223199001011E+17,大塘村,,,广西农村信用社,银行卡,\(p[1].card),QR-2,\r\n"
            + ",,,,,,,,,\r\n"
            + "丙,\(wide),大塘村,,１３８ ０００ ０１２３４,广西农村信用社,银行卡,\(p[2].card),QR-3,\r\n"
            + "丁,\(spaced),大塘村,,,广西农村信用社,银行卡,\(p[3].card.prefix(4)) \(p[3].card.dropFirst(4)),QR-4,\r\n"
            + ",,,,,,,,,\r\n"
            + "戊,\(cut),大塘村,,,广西农村信用社,银行卡,\(p[4].card),QR-5,\r\n"
            + "己,\(p[5].id),大塘村,,,广西农村信用社,银行卡,6.21799E+18,QR-6,\r\n"
        try write(text, to: cli.path("reg.csv"))
        let r = try cli.run("beneficiary", "import", cli.path("reg.csv"), "--keep-good", "--rejects", cli.path("rejects.csv"), "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        let problems = result["problems"] as? [String] ?? []
        // The two rows of separators are skipped like blank lines: 6 rows, 2 imported, 4 refused.
        #expect(result["rows"] as? Int == 6 && result["imported"] as? Int == 2 && result["rejected"] as? Int == 4, "\(problems)")
        #expect(problems.count == 4 && problems.allSatisfy { $0.contains("YKT-EXCEL-NUMBER") }, "\(problems)")
        #expect(problems.contains { $0.contains("第 2 行") && $0.contains("科学计数法") && $0.contains("文本") })
        #expect(problems.contains { $0.contains("第 3 行") && $0.contains("科学计数法") })
        #expect(problems.contains { $0.contains("第 8 行") && $0.contains("截断") && $0.contains("15 位有效数字") })
        #expect(problems.contains { $0.contains("第 9 行") && $0.contains("字段「账号」") && $0.contains("科学计数法") })
        // Each quotes the cell's own value, not a fixed sample.
        #expect(problems.contains { $0.contains("第 2 行") && $0.contains("「4.50223E+17」") }, "\(problems)")
        #expect(problems.contains { $0.contains("第 9 行") && $0.contains("「6.21799E+18」") && !$0.contains("6.21700E+18") }, "\(problems)")
        #expect(!problems.joined().contains("应为 18 位"))
        // Full-width digits and spaces were made plain before the checks.
        #expect(try shown(cli, p[2].id)["phone"] as? String == "13800001234")
        #expect((try shown(cli, p[3].id)["account"] as? [String: Any])?["number"] as? String == p[3].card)
    }

    @Test("applications: a quantity of -1 must not be negative (not \"no number\"); the rejects file keeps ID and period as text")
    func applications() throws {
        let cli = try township()
        #expect(try cli.run("demo", "generate", "--out", cli.path("data"), "--seed", "5", "--townships", "1", "--people", "40").status == 0)
        try cli.clock("2026-09-20")
        #expect(try cli.run("program", "load", cli.path("data/programs.csv")).status == 0)
        let a = Self.person(1)
        try write(Self.header + "\r\n韦秀英,\(a.id),大塘村,,,广西农村信用社,银行卡,\(a.card),QR-1,\r\n", to: cli.path("reg.csv"))
        #expect(try cli.run("beneficiary", "import", cli.path("reg.csv")).status == 0)
        try write("身份证号,姓名,项目编码,期次,数量,村评议结果,备注\r\n\(a.id),韦秀英,GD01,2026,-1,通过,\r\n\(a.id),韦秀英,YL01,2026-05,1,通过,\r\n",
                  to: cli.path("apps.csv"))
        let refused = try cli.run("application", "import", cli.path("apps.csv"))
        #expect(refused.status == 3 && refused.stderr.contains("YKT-QUANTITY") && refused.stderr.contains("不能是负数"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("不是数字"))
        let kept = try cli.run("application", "import", cli.path("apps.csv"), "--keep-good", "--rejects", cli.path("rejects.csv"))
        #expect(kept.status == 0 && kept.stdout.contains("导入申请 1 条"), "\(kept.stderr)")
        let rejects = try String(contentsOfFile: cli.path("rejects.csv"), encoding: .utf8)
        #expect(rejects.contains("\r\n\t\(a.id),韦秀英,GD01,\t2026,-1,通过,,2,YKT-QUANTITY,"), "\(rejects.debugDescription)")
        // A full-width quantity (１．５) is read like full-width digits in an ID.
        try write("身份证号,姓名,项目编码,期次,数量,村评议结果,备注\r\n\(a.id),韦秀英,GD01,2026,１．５,通过,\r\n", to: cli.path("wide.csv"))
        let wide = try cli.run("application", "import", cli.path("wide.csv"))
        #expect(wide.status == 0 && !wide.stderr.contains("不是数字"), "\(wide.stderr)")
        let listed = (try JSONSerialization.jsonObject(with: Data(try cli.run("application", "list", "--program", "GD01", "--json").stdout.utf8))
            as? [[String: Any]]) ?? []
        #expect(listed.count == 1 && "\(listed.first?["quantity"] ?? "")" == "1.5", "\(listed)")
    }

    @Test("a short all-digit ID gets the spreadsheet hint; a file of only separators says it has no header row")
    func shortIDsAndEmptyRows() throws {
        let cli = try township()
        let p = Self.person(1)
        try write(Self.header + "\r\n甲,45022319710,大塘村,,,广西农村信用社,银行卡,\(p.card),QR-1,\r\n", to: cli.path("short.csv"))
        let short = try cli.run("beneficiary", "import", cli.path("short.csv"), "--keep-good", "--rejects", cli.path("rejects.csv"), "--json")
        let result = try JSONSerialization.jsonObject(with: Data(short.stdout.utf8)) as? [String: Any] ?? [:]
        let problems = (result["problems"] as? [String] ?? []).joined(separator: "\n")
        #expect(problems.contains("应为 18 位，实际 11 位") && problems.contains("Excel/WPS") && problems.contains("文本")
                && problems.contains("错误行文件"), "\(problems) \(short.stderr)")
        // A letter in it is no spreadsheet's doing: no such hint.
        try write(Self.header + "\r\n甲,4502231971A,大塘村,,,广西农村信用社,银行卡,\(p.card),QR-1,\r\n", to: cli.path("typo.csv"))
        let typo = try cli.run("beneficiary", "import", cli.path("typo.csv"))
        #expect(typo.status != 0 && !typo.stderr.contains("Excel/WPS"), "\(typo.stderr)")

        try write(",,,,\r\n,,,,\r\n", to: cli.path("commas.csv"))
        let commas = try cli.run("beneficiary", "import", cli.path("commas.csv"))
        #expect(commas.status != 0 && commas.stderr.contains("YKT-CSV-HEADER") && commas.stderr.contains("没有表头")
                && commas.stderr.contains("空行") && !commas.stderr.contains("文件是空的"), "\(commas.stderr)")
        try write("", to: cli.path("empty.csv"), bom: false)
        let empty = try cli.run("beneficiary", "import", cli.path("empty.csv"))
        #expect(empty.status != 0 && empty.stderr.contains("文件是空的，没有表头"), "\(empty.stderr)")
    }

    @Test("a workbook saved under a .csv name is named as one (xlsx and xls), with what to do")
    func workbooks() throws {
        let cli = try township()
        for (name, magic) in [("a.csv", [0x50, 0x4B, 0x03, 0x04, 0x14, 0x00]), ("b.csv", [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0x00])] as [(String, [UInt8])] {
            try Data(magic + [UInt8](repeating: 0x41, count: 64)).write(to: URL(fileURLWithPath: cli.path(name)))
            let r = try cli.run("beneficiary", "import", cli.path(name))
            #expect(r.status == 3 && r.stderr.contains("YKT-FILE-WORKBOOK") && r.stderr.contains("CSV UTF-8"), "\(r.stderr)")
            #expect(!r.stderr.contains("YKT-FILE-ENCODING"))
            #expect(r.stderr.contains(name == "a.csv" ? ".xlsx" : ".xls"))
        }
    }

    @Test("one systematic problem in 100,000 lines: a short summary by code, and a file with every problem")
    func summaryOfManyProblems() throws {
        let cli = try township()
        var text = Self.header + "\r\n"
        text.reserveCapacity(100_000 * 90)
        for i in 0..<100_000 {
            // Every ID as Excel saves it; every 10,000th line also lacks its confirmation.
            text += "韦秀英,4.50223E+17,大塘村,,,广西农村信用社,银行卡,\(Self.person(i).card),\(i % 10_000 == 0 ? "" : "QR"),\r\n"
        }
        try write(text, to: cli.path("big.csv"))
        let r = try cli.run("beneficiary", "import", cli.path("big.csv"))
        #expect(r.status == 3)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count <= 60, "\(lines.count) lines printed")
        #expect(r.stderr.contains("共 100010 处问题，按错误代码："))
        #expect(r.stderr.contains("YKT-EXCEL-NUMBER  100000 处") && r.stderr.contains("YKT-FIELD-MISSING  10 处"))
        #expect(r.stderr.contains("YKT-EXCEL-NUMBER 的前 20 处（共 100000 处）"))
        // The whole list, one row per problem, in the node's out folder (0600).
        let listed = try #require(r.stderr.range(of: "已逐条写入 ").map { r.stderr[$0.upperBound...].prefix { $0 != "（" } })
        let path = String(listed)
        #expect(path.contains("/node/out/导入问题-big-") && path.hasSuffix(".csv"), "\(path)")
        let list = try String(contentsOfFile: path, encoding: .utf8)
        let rows = list.split(separator: "\r\n")
        #expect(rows.count == 1 + 100_010)
        #expect(rows.first?.replacingOccurrences(of: "\u{FEFF}", with: "") == "原行号,列,错误代码,错误说明,处理办法")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).starts(with: [0xEF, 0xBB, 0xBF]))
        #expect(rows.filter { $0.contains("YKT-EXCEL-NUMBER") }.count == 100_000)
        #expect(rows.last?.hasPrefix("100001,身份证号,YKT-EXCEL-NUMBER,") == true)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try cli.run("beneficiary", "list").stdout.contains("共 0 人"))
    }
}
