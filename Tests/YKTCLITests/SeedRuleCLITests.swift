import Foundation
import Testing
import YKTCore
import YKTCounty
import YKTNode
import YKTTestSupport

/// Issue 20, items 6 and 7 through the built binary: `bank add/edit/list` with agency
/// agreements and what `ykt status` says about them; `complaint close --upheld`, `leads list`
/// and `leads export` (who may, what is written).
@Suite("ykt bank agreements and problem leads, black-box")
struct SeedRuleCLITests {
    func county(_ cli: CLI) throws {
        #expect(try cli.run("init", "--role", "county", "--county", "450223", "--name", "鹿寨县", "--node", cli.path("node")).status == 0)
    }

    @Test("bank add refuses a term over 3 years or an agreement without fees; bank list and status warn 60 days ahead; bank edit records the renewal")
    func agreements() throws {
        let cli = CLI()
        try county(cli)
        let today = CivilDate.inChina()
        let start = today.adding(days: -300), end = today.adding(days: 30)
        let add = ["bank", "add", "--code", "RCC", "--name", "广西农村信用社", "--folder", cli.path("banks/RCC")]
        let long = try cli.run(add + ["--agreement", "LZ-1", "--agreement-start", start.description,
                                      "--agreement-end", CountyNode.latestAgreementEnd(start: start).adding(days: 1).description, "--fees", "免费"])
        #expect(long.status == 1 && long.stderr.contains("YKT-BANK-AGREEMENT-TERM") && long.stderr.contains("--agreement-end"), "\(long.stderr)")
        let noFees = try cli.run(add + ["--agreement", "LZ-1", "--agreement-start", start.description, "--agreement-end", end.description])
        #expect(noFees.status == 2 && noFees.stderr.contains("--fees"), "\(noFees.stderr)")
        #expect(try cli.run("bank", "list").stdout.contains("RCC") == false)   // neither was recorded

        let added = try cli.run(add + ["--agreement", "LZ-1", "--agreement-start", start.description, "--agreement-end", end.description,
                                       "--fees", "每笔 0.50 元"])
        #expect(added.status == 0 && added.stdout.contains("代发协议 LZ-1"), "\(added.stderr)")
        let list = try cli.run("bank", "list")
        #expect(list.stdout.contains("LZ-1") && list.stdout.contains("每笔 0.50 元") && list.stdout.contains("30 天后到期"), "\(list.stdout)")
        let status = try cli.run("status")
        #expect(status.stdout.contains("代发银行 RCC（广西农村信用社）的代发协议 LZ-1于 \(end) 到期，还有 30 天"), "\(status.stdout)")
        #expect(status.stdout.contains("ykt bank edit --code RCC --agreement"))

        // A bank registered without one: no agreement in force, said so in status.
        let bare = try cli.run("bank", "add", "--code", "ABC", "--name", "中国农业银行", "--folder", cli.path("banks/ABC"))
        #expect(bare.status == 0 && bare.stdout.contains("尚未登记代发协议"))
        #expect(try cli.run("status").stdout.contains("代发银行 ABC（中国农业银行）今天没有有效的代发协议（没有登记代发协议）"))

        // The renewal, from the day after: RCC is covered again, nothing to warn.
        let renewal = try cli.run("bank", "edit", "--code", "RCC", "--agreement", "LZ-2", "--agreement-start", end.adding(days: 1).description,
                                  "--agreement-end", end.adding(days: 700).description, "--fees", "免费")
        #expect(renewal.status == 0, "\(renewal.stderr)")
        #expect(!(try cli.run("status").stdout.contains("代发银行 RCC")))
        #expect(try cli.run("bank", "edit", "--code", "RCC").status == 2)   // nothing to change
        #expect(try cli.run("audit", "verify").status == 0)
    }

    @Test("an upheld complaint is a lead: listed masked, exported once with a number, --full by an auditor; an administrator may not export")
    func leads() throws {
        let cli = CLI()
        try county(cli)
        let id = "450223195001011230"
        #expect(try cli.run("complaint", "add", "--about", "resident:\(id)", "--content", "反映冒领", "--complainant", "张举报",
                            "--channel", "来信").status == 0)
        let none = try cli.run("leads", "export", "--out", cli.path("leads.csv"))
        #expect(none.status == 0 && none.stdout.contains("没有新的问题线索"))
        #expect(!FileManager.default.fileExists(atPath: cli.path("leads.csv")))
        let closed = try cli.run("complaint", "close", "1", "--upheld", "--outcome", "经核查属实")
        #expect(closed.status == 0 && closed.stdout.contains("查实"), "\(closed.stderr)")
        let list = try cli.run("leads", "list")
        #expect(list.stdout.contains(Masking.residentID(id)) && !list.stdout.contains(id) && list.stdout.contains("（未移交）"), "\(list.stdout)")

        // The administrator runs no money or audit work: refused by Access.
        var env = cli.environment
        env["YKT_SESSION"] = CLI.sessionPath(node: cli.path("node"), login: TestOperators.administrator)
        let denied = try cli.raw(["leads", "export", "--out", cli.path("x.csv")], environment: env)
        #expect(denied.status == 77, "\(denied.stderr)")

        let export = try cli.run("leads", "export", "--out", cli.path("leads.csv"))
        #expect(export.status == 0 && export.stdout.contains("移交清单第 1 批：1 条线索（新编号 1 条），脱敏版"), "\(export.stderr)")
        let masked = try String(contentsOfFile: cli.path("leads.csv"), encoding: .utf8)
        #expect(masked.contains(Masking.residentID(id)) && !masked.contains(id) && !masked.contains("张举报"))
        #expect(FileManager.default.fileExists(atPath: cli.path("leads.html")))
        #expect(try cli.run("leads", "export", "--out", cli.path("again.csv")).stdout.contains("没有新的问题线索"))
        // The test operator is an auditor too: the full list, every lead.
        let full = try cli.run("leads", "export", "--out", cli.path("full.csv"), "--full", "--all")
        #expect(full.status == 0 && full.stdout.contains("完整版"), "\(full.stderr)")
        let text = try String(contentsOfFile: cli.path("full.csv"), encoding: .utf8)
        #expect(text.contains(id) && text.contains("张举报"))
        let audit = try cli.run("audit", "list")
        #expect(audit.stdout.contains("leads.export"), "\(audit.stdout)")
    }
}
