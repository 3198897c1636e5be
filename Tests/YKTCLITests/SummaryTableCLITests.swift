import Foundation
import Testing
import YKTCore
import YKTCounty
import YKTNode
import YKTTestSupport
import YKTTownship

@Suite("ykt roster summary: the summary table (汇总表) printed on A4 through Chromium, and its two signers up to the county",
       .enabled(if: !PrintTools.skipped, "YKT_SKIP_PRINT_TESTS=1"))
struct SummaryTableCLITests {
    @Test("one A4 page: totals by village equal to the roster, the notice period, both signature lines and the seal; no personal data; the builder cannot submit; the county shows both signers")
    func printedAndSigned() throws {
        guard PrintTools.ready() else { return }
        let cli = CLI()
        let people = PrintPeople(count: 68)   // 大塘村, 古木村, 六合村 and 长盛社区: 17 each
        let county = cli.path("county")
        try PrintTools.countyAndTownship(cli, county: county)
        try cli.clock("2026-09-20")
        try people.register().write(toFile: cli.path("register.csv"), atomically: true, encoding: .utf8)
        try people.applications("GD01").write(toFile: cli.path("applications.csv"), atomically: true, encoding: .utf8)
        #expect(try cli.run("beneficiary", "import", cli.path("register.csv")).status == 0)
        #expect(try cli.run("application", "import", cli.path("applications.csv")).status == 0)
        let village = try cli.passVillageNotices(program: "GD01")
        try cli.clock("2026-09-30")
        #expect(try cli.run("notice", "open", "--program", "GD01", "--period", "2026", "--place", "各村村务公开栏",
                            "--phone", "0772-6812345", "--date", "2026-09-30").status == 0)
        try cli.clock("2026-10-13")
        #expect(try cli.run("notice", "close", String(village.count + 1), "--date", "2026-10-13").status == 0)
        #expect(try cli.run("roster", "build", "--program", "GD01", "--period", "2026").status == 0)

        // Printed from the draft, before the two sign it.
        let printed = try cli.run("roster", "summary", "1", "--out", cli.path("out"), "--date", "2026-10-14")
        #expect(printed.status == 0, "\(printed.stderr)")
        let htmlPath = cli.path("out/汇总表-450223101-1.html"), csvPath = cli.path("out/汇总表-450223101-1.csv")
        #expect(printed.stdout.contains(htmlPath) && printed.stdout.contains(csvPath))
        let pdfs = try PrintTools.printToPDF([htmlPath])
        try PrintTools.keep([htmlPath] + pdfs)
        #expect(try PrintTools.pages(pdfs[0]) == 1)
        let text = try PrintTools.pageTexts(pdfs[0]).joined(separator: "\n")
        let flat = text.replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "\u{3000}", with: "").replacingOccurrences(of: "\n", with: "")

        // The totals the roster itself gives, by village and overall.
        let township = try TownshipNode.open(directory: cli.path("node"))
        let roster = try township.roster(1)
        let lines = try township.rosterLines(1)
        #expect(roster.lineCount == 68 && lines.count == 68)
        for village in ["大塘村", "古木村", "六合村", "长盛社区"] {
            let own = lines.filter { $0.village == village }
            let fen = own.reduce(Int64(0)) { $0 + $1.amountFen }
            #expect(text.contains(try Regex("(^|\\n) *[0-9] +\(village) +[^ ]+ +\(own.count) +[0-9.]+ +\(NSRegularExpression.escapedPattern(for: Fen(fen).yuanGrouped))(\\n|$)")),
                    "\(village): \(own.count) 人 \(Fen(fen).yuanGrouped) 元 not whole on its line")
        }
        #expect(flat.contains("合计4个村（社区）68人") && flat.contains(Fen(roster.totalFen).yuanGrouped))
        let notice = try township.notice(Int64(village.count + 1))
        #expect(flat.contains("\(notice.firstDay.chinese)至\(notice.lastDay.chinese)，2026年10月13日结束公示"))
        let first = try township.notice(1)   // a village notice: both stages are on the table
        #expect(first.stage == .village && flat.contains("村级公示") && flat.contains("\(first.firstDay.chinese)至\(first.lastDay.chinese)，2026年9月29日结束公示"))
        #expect(flat.contains("职能站所负责人（签字）") && flat.contains("乡（镇）主要负责人（签字）") && flat.contains("年月日"))
        #expect(flat.contains("寨沙镇人民政府（公章）") && flat.contains("第1页共1页"))
        #expect(flat.contains("编制人：测试tester（tester）") && flat.contains("尚未报送"))
        // Totals only: no name, no ID (whole or masked), no account, in the print or the CSV.
        let csv = try String(contentsOfFile: csvPath, encoding: .utf8)
        let html = try String(contentsOfFile: htmlPath, encoding: .utf8)
        for p in people.people {
            for s in [p.id, Masking.residentID(p.id), p.card, Masking.account(p.card)] {
                #expect(!text.contains(s) && !csv.contains(s) && !html.contains(s), "\(p.name): 「\(s)」 printed")
            }
        }
        #expect(!flat.contains("0772-6812345"))

        // The builder cannot submit what they prepared; the leader can.
        var asBuilder = cli.environment
        asBuilder["YKT_SESSION"] = CLI.sessionPath(node: cli.path("node"), login: "tester")
        let same = try cli.raw(["roster", "submit", "1", "--password-stdin"], environment: asBuilder, input: TestOperators.password + "\n")
        #expect(same.status != 0 && same.stderr.contains("YKT-ROSTER-SIGNERS") && same.stderr.contains("分别签字"), "\(same.stderr)")
        #expect(try cli.run("roster", "submit", "1").status == 0)
        let shown = try cli.run("roster", "show", "1")
        #expect(shown.stdout.contains("测试tester（tester）") && shown.stdout.contains("测试leader（leader）"))
        #expect(try cli.run("roster", "summary", "1", "--out", cli.path("after"), "--date", "2026-10-14").status == 0)
        #expect(try String(contentsOfFile: cli.path("after/汇总表-450223101-1.html"), encoding: .utf8)
            .contains("编制人：测试tester（tester）；报送人：测试leader（leader）"))

        // Up to the county: `ykt roster show` there names both.
        let countyNode = try CountyNode.open(directory: county)
        try PrintedNoticeTests.push(township, to: countyNode)
        cli.environment["YKT_CLOCK"] = nil   // the county node keeps the real clock
        let atCounty = try cli.run("roster", "show", "1", "--node", county)
        #expect(atCounty.status == 0 && atCounty.stdout.contains("乡镇编制人") && atCounty.stdout.contains("测试tester（tester）")
                && atCounty.stdout.contains("测试leader（leader）"), "\(atCounty.stdout)\(atCounty.stderr)")
    }
}
