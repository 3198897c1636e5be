import Foundation
import Testing
import YKTCore
import YKTDemo
import YKTNode
import YKTTestSupport

/// The QR code read back off printed pages: poppler's pdftoppm draws each page, zbarimg
/// (zbar-tools, installed by `.ci/setup`) reads it.
enum PrintedCodes {
    static let pdftoppm = PrintTools.find(["pdftoppm"])
    static let zbarimg = PrintTools.find(["zbarimg"])

    static func ready() -> Bool {
        guard PrintTools.ready() else { return false }
        let missing = [("pdftoppm", pdftoppm), ("zbarimg", zbarimg)].filter { $0.1 == nil }.map(\.0)
        if missing.isEmpty { return true }
        Issue.record("缺少打印测试工具：\(missing.joined(separator: "、"))。请运行 .ci/setup 安装（或设置 YKT_SKIP_PRINT_TESTS=1 明确跳过）")
        return false
    }

    /// The texts of the QR codes zbarimg finds on each page of `pdf` drawn at 150 dpi.
    static func read(_ pdf: String) throws -> [[String]] {
        let dir = URL(fileURLWithPath: pdf).deletingLastPathComponent().path
        let prefix = URL(fileURLWithPath: pdf).deletingPathExtension().lastPathComponent + "-page"
        #expect(try PrintTools.run(pdftoppm!, ["-r", "150", "-gray", "-png", pdf, dir + "/" + prefix]).status == 0)
        let images = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(prefix) && $0.hasSuffix(".png") }.sorted()
        return try images.map { image in
            try PrintTools.run(zbarimg!, ["--raw", "-q", "-Sdisable", "-Sqrcode.enable", dir + "/" + image]).stdout
                .split(separator: "\n").map(String.init)
        }
    }
}

@Suite("QR codes on printouts and ykt card print, through the built binary and Chromium",
       .enabled(if: !PrintTools.skipped, "YKT_SKIP_PRINT_TESTS=1"))
struct CardCLITests {
    static let query = "https://ykt.example.gov.cn/query"

    @Test("without public_url: printed as before and a hint naming the key; with it: the QR code in the corner, the notice still 3 A4 pages of whole rows, and the code read off the printed page")
    func noticesAndCards() throws {
        guard PrintedCodes.ready() else { return }
        let cli = CLI()
        let people = PrintPeople(count: 68)
        let county = cli.path("county")
        try PrintTools.countyAndTownship(cli, county: county)
        // ykt init's template names the key.
        let conf = cli.path("node/node.conf")
        #expect(try String(contentsOfFile: conf, encoding: .utf8).contains("# public_url = https://"))

        try cli.clock("2026-09-20")
        try people.register().write(toFile: cli.path("register.csv"), atomically: true, encoding: .utf8)
        try (people.applications("GD01") + people.applications("TZ01", first: 12).split(separator: "\n").dropFirst()
            .joined(separator: "\n") + "\n").write(toFile: cli.path("applications.csv"), atomically: true, encoding: .utf8)
        #expect(try cli.run("beneficiary", "import", cli.path("register.csv")).status == 0)
        #expect(try cli.run("application", "import", cli.path("applications.csv")).status == 0)
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

        // Without public_url: made as before, without the code; the hint on stderr names the key.
        let plain = try cli.run("notice", "print", township[0], "--out", cli.path("plain"), "--date", "2026-10-13")
        #expect(plain.status == 0 && plain.stderr.contains("public_url") && plain.stderr.contains(conf))
        #expect(!plain.stdout.contains("public_url"))
        #expect(try !String(contentsOfFile: cli.path("plain/公示-450223101-\(township[0]).html"), encoding: .utf8).contains("<svg"))

        // With it: the code, no hint.
        try (try String(contentsOfFile: conf, encoding: .utf8) + "public_url = https://ykt.example.gov.cn/\n")
            .write(toFile: conf, atomically: true, encoding: .utf8)
        let printed = try cli.run("notice", "print", township[0], "--out", cli.path("out"), "--date", "2026-10-13")
        #expect(printed.status == 0 && !printed.stderr.contains("public_url"), "\(printed.stderr)")
        for (program, roster) in [("GD01", "1"), ("TZ01", "2")] {
            #expect(try cli.run("roster", "build", "--program", program, "--period", "2026").status == 0)
            #expect(try cli.run("roster", "submit", roster).status == 0)
        }
        try PrintedNoticeTests().payAtCounty(cli, failing: [5, 40])
        try cli.clock("2026-11-20")
        let paid = try cli.run("payment", "notice", "1", "--out", cli.path("out"), "--date", "2026-11-20")
        #expect(paid.status == 0 && !paid.stderr.contains("public_url"))

        // 明白卡: the register has no household numbers, so one sheet a resident; 大塘村 has 17.
        let cards = try cli.run("card", "print", "--village", "大塘村", "--out", cli.path("out/明白卡-大塘村.html"), "--date", "2026-11-20")
        #expect(cards.status == 0 && cards.stdout.contains("已生成明白卡 17 户"), "\(cards.stderr)")
        let both = try cli.run("card", "print", "--village", "大塘村", "--household", "1", "--out", cli.path("x.html"))
        #expect(both.status == 2 && both.stderr.contains("至多给一个"))
        let none = try cli.run("card", "print", "--household", "9999", "--out", cli.path("x.html"))
        #expect(none.status == 4 && none.stderr.contains("YKT-CARD-NONE") && !FileManager.default.fileExists(atPath: cli.path("x.html")))
        let one = try cli.run("card", "print", "--resident", people.people[0].id, "--out", cli.path("out/明白卡-1.html"), "--date", "2026-11-20")
        #expect(one.status == 0 && one.stdout.contains("已生成明白卡 1 户"))

        let html = ["公示-450223101-\(township[0])", "发放结果-450223101-1", "明白卡-大塘村"].map { cli.path("out/\($0).html") }
        let pdfs = try PrintTools.printToPDF(html)
        // YKT_KEEP_PRINTS=目录 keeps the HTML and PDFs to look at.
        try PrintTools.keep(html + pdfs)

        // The notice as before: 3 pages, 24–32 rows on each full page, every row whole on its line.
        let notice = try PrintTools.pageTexts(pdfs[0])
        #expect(try PrintTools.pages(pdfs[0]) == 3 && notice.count == 3)
        for (i, page) in notice.enumerated() {
            let rows = page.split(separator: "\n").filter { $0.contains("450223*") }.count
            #expect(i == 2 || (24...32).contains(rows), "page \(i + 1): \(rows) rows")
            #expect(page.replacingOccurrences(of: " ", with: "").contains("第\(i + 1)页共3页"))
        }
        for p in people.people {
            #expect(notice.joined(separator: "\n").contains(rowLine(nil, [p.village, p.name, Masking.residentID(p.id)])), "\(p.name)")
        }
        // The caption under the code (two short lines beside the opening paragraphs).
        #expect(notice[0].contains("扫码查询本人") && notice[0].contains("补贴发放情况"))
        // The payment-result notice as before: 3 pages; its rows whole.
        #expect(try PrintTools.pages(pdfs[1]) == 3)
        let payment = try PrintTools.pageTexts(pdfs[1]).joined(separator: "\n")
        for p in people.people {
            #expect(payment.contains(rowLine(nil, [p.village, p.name, Masking.residentID(p.id), Masking.account(p.card)])), "\(p.name)")
        }
        // 17 cards, one page each; nothing unmasked.
        #expect(try PrintTools.pages(pdfs[2]) == 17)
        let cardText = try PrintTools.pageTexts(pdfs[2]).joined(separator: "\n")
        for p in people.people { #expect(!cardText.contains(p.id) && !cardText.contains(p.card)) }

        // The code on the first page of each notice and on every card reads as the query page.
        let codes = try pdfs.map { try PrintedCodes.read($0) }
        #expect(codes[0] == [[Self.query], [], []])
        #expect(codes[1] == [[Self.query], [], []])
        #expect(codes[2] == Array(repeating: [Self.query], count: 17))
    }
}
