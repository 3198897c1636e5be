import Foundation
import Testing
import YKTCore
import YKTCounty
import YKTDemo
import YKTNode
import YKTTestSupport
import YKTTownship

/// The tools that print a notice as a village board sees it: Debian's Chromium (headless, print
/// to A4 PDF) and poppler's pdfinfo and pdftotext. Installed by `.ci/setup`; `ykt` itself never
/// uses them. Missing tools fail the tests that need them, unless `YKT_SKIP_PRINT_TESTS=1`
/// says to skip them on purpose.
enum PrintTools {
    /// The county (calendar and policy list published) at `county`, and township 450223101
    /// 寨沙镇 that has received them: where the print tests start.
    static func countyAndTownship(_ cli: CLI, county: String) throws {
        #expect(try cli.run("init", "--role", "county", "--county", "450223", "--name", "鹿寨县", "--node", county).status == 0)
        try WorkCalendar.builtInTSV.write(toFile: cli.path("cn-holidays.tsv"), atomically: true, encoding: .utf8)
        try CountyGenerator.programsCSV.write(toFile: cli.path("programs.csv"), atomically: true, encoding: .utf8)
        #expect(try cli.run("calendar", "publish", cli.path("cn-holidays.tsv"), "--node", county).status == 0)
        #expect(try cli.run("policy", "publish", cli.path("programs.csv"), "--node", county).status == 0)
        #expect(try cli.run("init", "--township", "450223101", "--name", "寨沙镇").status == 0)
        try cli.receiveCountyCalendar()
    }

    /// With YKT_KEEP_PRINTS=目录, copies `files` there to be looked at.
    static func keep(_ files: [String]) throws {
        guard let keep = ProcessInfo.processInfo.environment["YKT_KEEP_PRINTS"], !keep.isEmpty else { return }
        try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
        for file in files {
            let target = keep + "/" + URL(fileURLWithPath: file).lastPathComponent
            try? FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: file, toPath: target)
        }
    }

    static let skipped = ProcessInfo.processInfo.environment["YKT_SKIP_PRINT_TESTS"] == "1"

    static func find(_ names: [String]) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") + ["/usr/bin"]
        for name in names {
            for dir in path where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") { return "\(dir)/\(name)" }
        }
        return nil
    }

    static let chromium = find(["chromium", "chromium-browser"])
    static let pdfinfo = find(["pdfinfo"])
    static let pdftotext = find(["pdftotext"])

    /// True when every tool is there; otherwise records a failure that says what to do.
    static func ready() -> Bool {
        let missing = [("chromium", chromium), ("pdfinfo", pdfinfo), ("pdftotext", pdftotext)].filter { $0.1 == nil }.map(\.0)
        if missing.isEmpty { return true }
        Issue.record("缺少打印测试工具：\(missing.joined(separator: "、"))。请运行 .ci/setup 安装（或设置 YKT_SKIP_PRINT_TESTS=1 明确跳过）")
        return false
    }

    /// Runs a tool to its end; returns its exit status and standard output.
    static func run(_ tool: String, _ args: [String]) throws -> (status: Int32, stdout: String) {
        try TestProcess.run(tool, args)
    }

    /// Prints each HTML file to a PDF beside it (`.pdf`), all at once, as an office PC's
    /// Chromium prints to A4 without the browser's own header and footer; returns the PDFs.
    static func printToPDF(_ htmls: [String]) throws -> [String] {
        let pdfs = htmls.map { URL(fileURLWithPath: $0).deletingPathExtension().appendingPathExtension("pdf").path }
        let statuses = Statuses(count: htmls.count)
        DispatchQueue.concurrentPerform(iterations: htmls.count) { i in
            let profile = NSTemporaryDirectory() + "ykt-chromium-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: profile) }
            // coreutils' timeout stops a Chromium that hangs.
            let r = try? run("/usr/bin/timeout", ["90", chromium!, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)",
                                         "--print-to-pdf=\(pdfs[i])", "--no-pdf-header-footer", URL(fileURLWithPath: htmls[i]).absoluteString])
            statuses.set(i, r?.status ?? -1)
        }
        for (i, status) in statuses.all.enumerated() {
            #expect(status == 0 && FileManager.default.fileExists(atPath: pdfs[i]), "chromium \(htmls[i]): \(status)")
        }
        return pdfs
    }

    final class Statuses: @unchecked Sendable {
        let lock = NSLock()
        var values: [Int32]
        init(count: Int) { values = Array(repeating: -1, count: count) }
        func set(_ i: Int, _ v: Int32) { lock.withLock { values[i] = v } }
        var all: [Int32] { lock.withLock { values } }
    }

    static func pages(_ pdf: String) throws -> Int {
        let info = try run(pdfinfo!, [pdf]).stdout
        let line = info.split(separator: "\n").first { $0.hasPrefix("Pages:") } ?? ""
        return Int(line.dropFirst("Pages:".count).trimmingCharacters(in: .whitespaces)) ?? 0
    }

    /// The text of each page, laid out as printed (`pdftotext -layout`): one printed line per line.
    static func pageTexts(_ pdf: String) throws -> [String] {
        try run(pdftotext!, ["-layout", "-enc", "UTF-8", pdf, "-"]).stdout
            .split(separator: "\u{0C}", omittingEmptySubsequences: false).map(String.init)
            .filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }
}

/// A township's people as a village reports them: names of two, three and four characters
/// (复姓 among them), villages and a community, real-looking IDs and bank cards.
struct PrintPeople {
    struct Person {
        var name: String
        var id: String
        var village: String
        var card: String
        var mu: String
    }

    let people: [Person]

    init(count: Int) {
        let surnames = ["韦", "覃", "黄", "莫", "蒙", "陆", "谢", "李", "潘", "蓝", "梁", "廖"]
        let compound = ["欧阳", "司马", "上官", "诸葛", "东方", "慕容"]
        let given = ["秀英", "建国", "丽华", "翠", "明", "志强", "桂兰", "海", "春燕", "德胜", "玉梅", "永"]
        let villages = ["大塘村", "古木村", "六合村", "长盛社区"]
        var list: [Person] = []
        for i in 0..<count {
            let name = i % 7 == 3 ? compound[i % compound.count] + given[(i / 2) % given.count]   // 3 or 4 characters
                : surnames[i % surnames.count] + given[(i * 5) % given.count]                         // 2 or 3 characters
            let birth = String(format: "19%02d%02d%02d", 30 + (i * 7) % 60, 1 + i % 12, 1 + (i * 3) % 28)
            let id = ResidentID.completing("450223" + birth + String(format: "%03d", (i * 37) % 1000))
            let card = AccountNumber.completingLuhn("622848" + String(format: "%012d", 100_000 + i * 7919))
            list.append(Person(name: name, id: id, village: villages[(i / 17) % villages.count], card: card,
                               mu: String(format: "%d.%02d", 1 + i % 9, (i * 13) % 100)))
        }
        people = list
    }

    func register() -> String {
        "姓名,身份证号,村（社区）,户号,联系电话,开户银行,账户类型,账号,确认书编号,共用账户理由\n" + people.enumerated().map { i, p in
            "\(p.name),\(p.id),\(p.village),,,中国农业银行,银行卡,\(p.card),QR101-\(String(format: "%05d", i + 1)),"
        }.joined(separator: "\n") + "\n"
    }

    func applications(_ program: String, first: Int? = nil) -> String {
        "身份证号,姓名,项目编码,期次,数量,村评议结果,备注\n" + people.prefix(first ?? people.count).map { p in
            "\(p.id),\(p.name),\(program),2026,\(p.mu),通过,"
        }.joined(separator: "\n") + "\n"
    }
}

/// What a printed page must show of each row: the row's cells, left to right, each whole on
/// the row's one printed line with space between them. A cell that wraps puts part of its
/// text on another line; a cell too narrow for its text runs into the next cell's text with no
/// space between: either way the row's line no longer matches.
/// The row number comes first (`number`, any number when nil).
func rowLine(_ number: Int?, _ cells: [String]) -> Regex<Substring> {
    let escaped = [number.map(String.init) ?? "[0-9]+"] + cells.map { NSRegularExpression.escapedPattern(for: $0) }
    return try! Regex("(?:^|\\n) *" + escaped.joined(separator: " +") + "(?: |\\n|$)", as: Substring.self)
}

@Suite("Printed notices on A4 through Chromium: ~30 rows a page, nothing wraps, page numbers, signature with the last rows",
       .enabled(if: !PrintTools.skipped, "YKT_SKIP_PRINT_TESTS=1"))
struct PrintedNoticeTests {
    @Test("a 68-person notice and its payment-result notices (with and without failures), printed to PDF")
    func printedNotices() throws {
        guard PrintTools.ready() else { return }
        let cli = CLI()
        let people = PrintPeople(count: 68)
        let county = cli.path("county")
        // The county publishes calendar and policy list; the township receives them.
        try PrintTools.countyAndTownship(cli, county: county)

        try cli.clock("2026-09-20")
        try people.register().write(toFile: cli.path("register.csv"), atomically: true, encoding: .utf8)
        try (people.applications("GD01") + people.applications("TZ01", first: 12).split(separator: "\n").dropFirst()
            .joined(separator: "\n") + "\n").write(toFile: cli.path("applications.csv"), atomically: true, encoding: .utf8)
        let imported = try cli.run("beneficiary", "import", cli.path("register.csv"))
        #expect(imported.status == 0, "\(imported.stderr)")
        let applied = try cli.run("application", "import", cli.path("applications.csv"))
        #expect(applied.status == 0, "\(applied.stderr)")
        var township: [String] = []
        for program in ["GD01", "TZ01"] { try cli.passVillageNotices(program: program) }
        try cli.clock("2026-09-30")
        for program in ["GD01", "TZ01"] {
            let (open, id) = try cli.openTownshipNotice("--program", program, "--period", "2026", "--place", "各村村务公开栏、镇政府公告栏",
                                                        "--phone", "0772-6812345", "--date", "2026-09-30")
            #expect(open.status == 0, "\(open.stderr)")
            township.append(id)
        }
        try cli.clock("2026-10-13")
        for n in township { #expect(try cli.run("notice", "close", n, "--date", "2026-10-13").status == 0) }
        let printed = try cli.run("notice", "print", township[0], "--out", cli.path("out"), "--date", "2026-10-13")
        #expect(printed.status == 0, "\(printed.stderr)")
        for (program, roster) in [("GD01", "1"), ("TZ01", "2")] {
            #expect(try cli.run("roster", "build", "--program", program, "--period", "2026").status == 0)
            #expect(try cli.run("roster", "submit", roster).status == 0)
        }

        // The county pays both rosters; the bank fails two GD01 lines; the results come down.
        try payAtCounty(cli, failing: [5, 40])
        try cli.clock("2026-11-20")
        for roster in ["1", "2"] {
            let r = try cli.run("payment", "notice", roster, "--out", cli.path("out"), "--date", "2026-11-20")
            #expect(r.status == 0, "\(r.stderr)")
        }

        let html = ["公示-450223101-\(township[0])", "发放结果-450223101-1", "发放结果-450223101-2"].map { cli.path("out/\($0).html") }
        let pdfs = try PrintTools.printToPDF(html)
        // YKT_KEEP_PRINTS=目录 keeps the HTML and PDFs (the page images in docs/ come from them).
        try PrintTools.keep(html + pdfs)

        // The public notice: 68 people at about 30 a page is 3 pages, each with the header row
        // and 「第 x 页 共 3 页」; every row whole on its line; the signature with the last rows.
        let notice = try PrintTools.pageTexts(pdfs[0])
        #expect(try PrintTools.pages(pdfs[0]) == 3 && notice.count == 3)
        for (i, page) in notice.enumerated() {
            #expect(page.contains("序号") && page.contains("身份证号") && page.contains("补贴标准（元/亩）"), "page \(i + 1) has the header row")
            #expect(page.replacingOccurrences(of: " ", with: "").contains("第\(i + 1)页共3页"), "page \(i + 1) is numbered")
            let rows = page.split(separator: "\n").filter { $0.contains("450223*") }.count
            #expect(i == 2 || (24...32).contains(rows), "page \(i + 1): \(rows) rows")
        }
        let all = notice.joined(separator: "\n")
        for p in people.people {
            #expect(all.contains(rowLine(nil, [p.village, p.name, Masking.residentID(p.id)])), "\(p.name)'s row is not whole on one line")
        }
        let last = notice[2]
        #expect(last.contains("寨沙镇人民政府") && last.contains("2026年10月13日") && last.contains("0772-6812345"))
        #expect(last.contains(rowLine(68, [])) && last.contains("合计"),
                "the signature is not alone on the last page")
        #expect(!all.contains(people.people[0].id))   // masked, as always

        // The payment-result notice with two failures says so, and what happens next.
        let failed = try PrintTools.pageTexts(pdfs[1])
        #expect(try PrintTools.pages(pdfs[1]) == 3)
        let failedText = failed.joined(separator: "\n")
        let flat = failedText.replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "\n", with: "")
        #expect(flat.contains("发放失败2人") && flat.contains("核实账户") && flat.contains("补发") && flat.contains("监督举报电话：0772-6812345"))
        #expect(flat.contains("已发放到本人指定账户66人"))
        for (i, page) in failed.enumerated() {
            #expect(page.replacingOccurrences(of: " ", with: "").contains("第\(i + 1)页共3页"))
            #expect(page.contains("序号") && page.contains("账号"))
        }
        for p in people.people {
            #expect(failedText.contains(rowLine(nil, [p.village, p.name, Masking.residentID(p.id), Masking.account(p.card)])),
                    "\(p.name) \(Masking.residentID(p.id)) \(Masking.account(p.card)): payment row is not whole on one line")
        }
        for n in 1...68 where ![5, 40].contains(n) {
            #expect(failedText.contains(try Regex("(^|\\n) *\(n) +.* [0-9,]+\\.[0-9]{2} +已发放 +2026-11-17(?: |\\n|$)")), "payment row \(n): 已发放")
        }
        // The two failures: their state, and the bank's reason under it (in the table, not only in the words above).
        #expect(failedText.components(separatedBy: "发放失败").count - 1 == 2 + 1 && failedText.components(separatedBy: "账户已销户").count - 1 == 2)
        #expect(failed[2].contains("寨沙镇人民政府") && failed[2].contains(rowLine(68, [])))

        // Without failures: no word of failure or re-issue; the phone is there.
        let paid = try PrintTools.pageTexts(pdfs[2])
        #expect(try PrintTools.pages(pdfs[2]) == 1)
        let paidFlat = paid.joined().replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "\n", with: "")
        #expect(!paidFlat.contains("失败") && !paidFlat.contains("补发") && paidFlat.contains("已发放到本人指定账户12人"))
        #expect(paidFlat.contains("监督举报电话：0772-6812345") && paidFlat.contains("寨沙镇人民政府") && paidFlat.contains("第1页共1页"))

        // The phone configured for payment notices replaces the notice's.
        let conf = cli.path("node/node.conf")
        try (try String(contentsOfFile: conf, encoding: .utf8) + "complaint_phone = 0772-6819999\n")
            .write(toFile: conf, atomically: true, encoding: .utf8)
        #expect(try cli.run("payment", "notice", "2", "--out", cli.path("again"), "--date", "2026-11-20").status == 0)
        let again = try String(contentsOfFile: cli.path("again/发放结果-450223101-2.html"), encoding: .utf8)
        #expect(again.contains("0772-6819999") && !again.contains("0772-6812345"))

        // The words follow the failed lines through correction and re-issue.
        func intro(_ dir: String) throws -> String {
            #expect(try cli.run("payment", "notice", "1", "--out", cli.path(dir), "--date", "2026-11-20").status == 0)
            let html = try String(contentsOfFile: cli.path("\(dir)/发放结果-450223101-1.html"), encoding: .utf8)
            return html.components(separatedBy: "<p>").dropFirst().prefix(2).joined()
        }
        let toCorrect = try TownshipNode.open(directory: cli.path("node")).paymentsToCorrect().map(\.payment)
        #expect(toCorrect.count == 2)
        let corrected = try cli.run("payment", "correct", String(toCorrect[0]), "--bank", "中国农业银行",
                                    "--account", AccountNumber.completingLuhn("622848000000999991"), "--confirmation", "QR101-09001")
        #expect(corrected.status == 0, "\(corrected.stderr)")
        let oneCorrected = try intro("corrected")
        #expect(oneCorrected.contains("发放失败 2 人") && oneCorrected.contains("其中 1 人乡镇正与本人核实账户，1 人已更正账户、等待县财政补发"))
        try reissueAtCounty(cli)
        let reissued = try intro("reissued")
        #expect(reissued.contains("已发放到本人指定账户 67 人") && reissued.contains("（其中更正账户后补发 1 人）"))
        #expect(reissued.contains("发放失败 1 人") && reissued.contains("乡镇将与本人核实账户，更正后由县财政补发"))
    }

    /// The township's change sets to the county, in-process (the transport has its own tests).
    static func push(_ township: TownshipNode, to county: CountyNode) throws {
        _ = try township.push { bytes, signature in
            let a = county.receive(peer: township.config.nodeID, bytes: bytes, signature: signature)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }

    /// The county's messages down to the township, in-process.
    static func pull(_ township: TownshipNode, from county: CountyNode) throws {
        _ = try township.pull { after in
            let a = county.stream(peer: township.config.nodeID, after: after)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }

    /// The county re-issues what the township corrected; the bank pays it; the result comes down.
    func reissueAtCounty(_ cli: CLI) throws {
        let county = try CountyNode.open(directory: cli.path("county"))
        let township = try TownshipNode.open(directory: cli.path("node"))
        try Self.push(township, to: county)
        try county.actAs("payer", .payments)
        let batches = try county.reissue()
        #expect(batches.count == 1)
        _ = try county.dispatch(on: try CivilDate(parsing: "2026-11-18"))
        let answers = try county.payments(batch: batches[0]).map { p in
            BankFile.ResultLine(lineID: String(p.id), status: .paid, amountFen: p.amountFen, date: try CivilDate(parsing: "2026-11-19"),
                                reason: nil, reasonText: "", returnedFen: 0)
        }
        try FileOutput.writeAtomically(bytes: BankFile.write(BankFile.Result(batch: batches[0], bank: "ABC", lines: answers)),
                                       to: cli.path("bank-ABC") + "/inbox/result-\(batches[0]).txt")
        #expect(try county.receiveResults(today: try CivilDate(parsing: "2026-11-19")).allSatisfy { $0.refusal == nil })
        try Self.pull(township, from: county)
    }

    /// The county side, in-process on the county node `ykt` made: roles, budgets and the agency
    /// bank; the township's change sets received; both rosters reviewed, approved and
    /// dispatched; the bank's answer failing the given lines of roster 1; the results pulled
    /// down to the township.
    func payAtCounty(_ cli: CLI, failing lines: Set<Int>) throws {
        let county = try CountyNode.open(directory: cli.path("county"))
        let township = try TownshipNode.open(directory: cli.path("node"))
        try Self.push(township, to: county)
        try county.actAs("payer", .payments)
        for program in ["GD01", "TZ01"] {
            try county.setBudget(program: program, period: try Period(parsing: "2026"), amount: try Fen(yuan: "1000000"))
        }
        try county.actAs(TestOperators.administrator)
        let bankFolder = cli.path("bank-ABC")
        try county.addBank(code: "ABC", name: "中国农业银行", serves: [], folder: bankFolder, agreement: .init(number: "LZCZ-DF-2025-01", start: try CivilDate(parsing: "2025-01-01"), end: try CivilDate(parsing: "2027-12-31"), fees: "免费"))
        try county.actAs("reviewer", .reviewer("GD01"), .reviewer("TZ01"))
        let rosters = try county.rosters()
        #expect(rosters.count == 2)
        for r in rosters { try county.review(r.id, approve: true, reason: "") }
        try county.actAs("approver", .approver)
        let approved = try county.approve(rosters.map(\.id))
        try county.actAs("payer", .payments)
        let day = try CivilDate(parsing: "2026-11-16")
        _ = try county.dispatch(on: day)
        for batch in approved.batches {
            let answers = try county.payments(batch: batch).map { p in
                let fail = p.program == "GD01" && lines.contains(p.line)
                return BankFile.ResultLine(lineID: String(p.id), status: fail ? .failed : .paid, amountFen: p.amountFen,
                                           date: try CivilDate(parsing: "2026-11-17"), reason: fail ? .accountClosed : nil,
                                           reasonText: fail ? "账户已销户" : "", returnedFen: fail ? p.amountFen : 0)
            }
            try FileOutput.writeAtomically(bytes: BankFile.write(BankFile.Result(batch: batch, bank: "ABC", lines: answers)),
                                           to: bankFolder + "/inbox/result-\(batch).txt")
        }
        let reports = try county.receiveResults(today: try CivilDate(parsing: "2026-11-18"))
        #expect(reports.allSatisfy { $0.refusal == nil })
        try Self.pull(township, from: county)
    }
}

@Suite("Who signs the printed notices")
struct NoticeIssuerTests {
    @Test("the township government by default (寨沙镇 → 寨沙镇人民政府), the name as it is when it ends in 政府, or node.conf's issuer")
    func issuer() throws {
        for (name, issuer, expected) in [("寨沙镇", nil, "寨沙镇人民政府"), ("拉沟乡人民政府", nil, "拉沟乡人民政府"),
                                          ("寨沙镇", "寨沙镇人民政府办公室", "寨沙镇人民政府办公室")] {
            let dir = NSTemporaryDirectory() + "ykt-issuer-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var config = NodeConfig(role: .township, nodeID: "450223101", name: name, countyCode: "450223", defaultOperator: "")
            if let issuer { config.extra["issuer"] = issuer }
            #expect(try TownshipNode.create(directory: dir, config: config).issuingBody == expected)
        }
    }
}
