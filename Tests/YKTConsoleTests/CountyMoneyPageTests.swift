import Foundation
import Testing
import YKTConsole
import YKTCore
import YKTCounty
import YKTDemo
import YKTNode
import YKTTestSupport
import YKTTownship

/// A county console with a roster to work on: the township registers people, records their
/// TF01 applications (a secret program: no notice), builds and submits the roster and pushes
/// it in-process; the county has a reviewer of TF01 (shen), an approver (zhou), a payments
/// clerk (pay), a budget and one agency bank (ABC, paying 农行 accounts).
final class MoneyScene {
    let f: ConsoleFixture
    var county: CountyNode { f.county }
    var town: TownshipNode { f.township }
    let people: [String]
    var bankFolder: String { f.dir.file("bank-ABC") }
    static let password = TestOperators.password

    init(people count: Int = 6, budgetYuan: String = "100000") throws {
        f = try ConsoleFixture()
        people = (0..<count).map { ResidentID.completing("45022319500101\(String(format: "%02d", $0 + 10))3") }
        try town.actAs("tester", .clerk, .leader)
        for (i, p) in people.enumerated() {
            try town.register(BeneficiaryInput(residentID: try ResidentID(p), name: Self.name(i), village: "大塘村",
                                               account: AccountInput(bank: "农行", number: try AccountNumber(AccountNumber.completingLuhn("62284800000000\(String(format: "%03d", i + 1))"), kind: .card),
                                                                     confirmation: "QR")))
            try town.recordApplication(ApplicationInput(residentID: try ResidentID(p), programCode: "TF01", period: try Period(parsing: "2026"),
                                                        quantity: try Quantity(parsing: "1"), villageResult: .passed))
        }
        try town.submitAsLeader(try town.buildRoster(program: "TF01", period: try Period(parsing: "2026")).id)
        try push()
        try county.actAs("shen", .reviewer("TF01"))
        try county.actAs("zhou", .approver)
        try county.actAs("pay", .payments)
        try county.setBudget(program: "TF01", period: try Period(parsing: "2026"), amount: try Fen(yuan: budgetYuan))
        try county.actAs(TestOperators.administrator)
        try county.addBank(code: "ABC", name: "农行", serves: [], folder: bankFolder, agreement: .init(number: "LZCZ-DF-2025-01", start: try CivilDate(parsing: "2025-01-01"), end: try CivilDate(parsing: "2027-12-31"), fees: "免费"))
        #expect(try county.roster(1).status == "received")
    }

    /// 韦秀 and the number in Chinese digits (names carry no digits): 韦秀零, 韦秀四二.
    static func name(_ i: Int) -> String {
        "韦秀" + String(String(i).map { Array("零一二三四五六七八九")[Int(String($0))!] })
    }

    func push() throws {
        _ = try town.push(maxOperations: 100) { bytes, signature in
            let a = self.county.receive(peer: "450223101", bytes: bytes, signature: signature)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }

    /// A browser logged in to the county's console as `login`.
    func browser(_ login: String) throws -> ConsoleBrowser {
        let b = try f.browser(county)
        let page = try b.login(login, password: Self.password)
        #expect(page.status == 200)
        return b
    }

    /// Reviewed by shen and approved by zhou through the library (what the CLI does).
    func approved() throws {
        try county.become("shen")
        try county.review(1, approve: true, reason: "")
        try county.become("zhou")
        try county.approve([1])
    }

    /// Approved and dispatched (library) on the console's day.
    func dispatched() throws {
        try approved()
        try county.become("pay")
        try county.dispatch(on: try CivilDate(parsing: "2026-03-02"))
    }

    func signedEntries(_ action: String) throws -> [String] {
        try county.db.all("SELECT operator FROM audit WHERE action = ? AND signature IS NOT NULL ORDER BY seq", action) { $0.text(0) }
    }

    func entries(_ action: String) throws -> Int {
        Int(try county.db.integer("SELECT count(*) FROM audit WHERE action = ?", action) ?? 0)
    }
}

@Suite("Console: the county's money pages (review, approval, budgets, batches, bank results, re-issue, payments)")
struct CountyMoneyPageTests {
    @Test func aReviewerSeesTheQueueOfTheirProgramAndReviewsWithTheirPasswordSignedAsOnTheCLI() throws {
        let s = try MoneyScene()
        let b = try s.browser("shen")
        let queue = try b.get("/review")
        #expect(queue.status == 200)
        #expect(queue.body.contains("id=\"review-TF01\""))
        #expect(queue.body.contains("href=\"/rosters/1\""))
        let page = try b.get("/rosters/1")
        #expect(page.status == 200)
        #expect(page.body.contains("<form id=\"roster-review\""))
        #expect(page.body.contains("name=\"password\""))
        #expect(page.body.contains("预算 100,000.00 元"))
        // The lines are masked: no whole resident ID or account on the page.
        for p in s.people { #expect(!page.body.contains(p)) }
        #expect(page.body.contains(Masking.residentID(s.people[0])))
        #expect(!page.body.contains(AccountNumber.completingLuhn("62284800000000001")))

        // A wrong password is refused and nothing changes.
        let wrong = try b.post("/rosters/1/review", [("decision", "approve"), ("reason", ""), ("password", "not-my-password-1")])
        #expect(wrong.status == 403)
        #expect(wrong.body.contains(ErrorCode.authPassword.rawValue))
        #expect(try s.county.roster(1).status == "received")
        #expect(try s.entries("roster.review") == 0)
        // Without the password at all: refused too.
        try b.get("/rosters/1")
        #expect(try b.post("/rosters/1/review", [("decision", "approve")]).status == 403)
        #expect(try s.county.roster(1).status == "received")

        try b.get("/rosters/1")
        let done = try b.post("/rosters/1/review", [("decision", "approve"), ("reason", "材料齐全"), ("password", MoneyScene.password)])
        #expect(done.status == 200)
        #expect(done.body.contains("清册 1 审核通过，待财政审定"))
        let r = try s.county.roster(1)
        #expect(r.status == "reviewed")
        #expect(r.reviewedBy == "shen")
        #expect(try s.signedEntries("roster.review") == ["shen"])
        // The roster.reviewed message for the township, as the CLI's review leaves it.
        #expect(try s.county.db.integer("SELECT count(*) FROM downstream WHERE kind = 'roster.reviewed'") == 1)
    }

    /// 限时办理 (docs/conventions.md): the roster was received on 2026-02-10; TF01 allows the
    /// department 10 working days (the standard), the 10th being Saturday 2026-02-28 (a make-up
    /// working day), so on the console's day, Monday 2026-03-02, the review is 1 working day late.
    @Test func anOverdueReviewIsShownOnTheHomePageTheQueueAndTheRoster() throws {
        let s = try MoneyScene()
        try s.county.db.run("UPDATE roster SET received_at = '2026-02-10T10:00:00+08:00' WHERE id = 1")
        let b = try s.browser("shen")
        let home = try b.get("/")
        #expect(home.status == 200)
        #expect(home.body.contains("<span class=\"bad\">部门审核逾期</span>"))
        #expect(home.body.contains("自 2026-02-10 起算、时限 10 个工作日，应于 2026-02-28 前办结，已逾期 1 个工作日"))
        #expect(home.body.contains("href=\"/rosters/1\""))
        #expect(home.body.contains("逾期 1 项、即将到期 0 项、时限内 0 项"))
        let queue = try b.get("/review")
        #expect(queue.body.contains("审核时限") && queue.body.contains("逾期 1 个工作日（应于 2026-02-28 前）"))
        let roster = try b.get("/rosters/1")
        #expect(roster.body.contains("id=\"roster-time-limits\"") && roster.body.contains("<td>部门审核</td>"))
        // Reviewed today: the approval is timed from today, 5 working days → due 2026-03-06.
        try s.county.become("shen")
        try s.county.review(1, approve: true, reason: "")
        let approver = try s.browser("zhou")
        let approval = try approver.get("/approval")
        #expect(approval.body.contains("审批时限") && approval.body.contains("2026-03-06 前（剩 4 个工作日）"))
        let after = try approver.get("/rosters/1")
        #expect(after.body.contains("超时 1 个工作日"))
        // The township's roster page has the section too (TF01 is secret: no township clock, and
        // the county's answers have not come down yet).
        let town = try s.f.browser(s.town)
        #expect(try town.login("tester", password: MoneyScene.password).status == 200)
        let own = try town.get("/rosters/1")
        #expect(own.status == 200 && own.body.contains("<h2>限时办理</h2>") && own.body.contains("涉密项目的首次报送不计乡镇审核时限"))
    }

    @Test func aReturnNeedsAReasonAndGoesBackToTheTownship() throws {
        let s = try MoneyScene()
        let b = try s.browser("shen")
        try b.get("/rosters/1")
        let missing = try b.post("/rosters/1/review", [("decision", "reject"), ("reason", ""), ("password", MoneyScene.password)])
        #expect(missing.status == 400)
        #expect(missing.body.contains(ErrorCode.fieldMissing.rawValue))
        #expect(try s.county.roster(1).status == "received")
        try b.get("/rosters/1")
        let back = try b.post("/rosters/1/review", [("decision", "reject"), ("reason", "第 2 行数量有误"), ("password", MoneyScene.password)])
        #expect(back.body.contains("清册 1 已退回乡镇"))
        #expect(try s.county.roster(1).status == "rejected")
        #expect(try s.county.roster(1).reviewReason == "第 2 行数量有误")
    }

    @Test func aReviewerOfAnotherProgramDoesNotSeeTheRosterNorGetTheForm() throws {
        let s = try MoneyScene()
        try s.county.actAs("lan", .reviewer("GD01"))
        let b = try s.browser("lan")
        let queue = try b.get("/review")
        #expect(queue.status == 200)
        #expect(!queue.body.contains("href=\"/rosters/1\""))
        let page = try b.get("/rosters/1")
        #expect(page.status == 200)
        #expect(!page.body.contains("roster-review"))
        // Posting anyway: the library refuses (roles are per program) and nothing changes.
        let refused = try b.post("/rosters/1/review", [("decision", "approve"), ("password", MoneyScene.password)])
        #expect(refused.status == 403)
        #expect(try s.county.roster(1).status == "received")
    }

    @Test func theSamePersonCannotApproveWhatTheyReviewed() throws {
        let s = try MoneyScene()
        try s.county.actAs("both", .reviewer("TF01"), .approver)
        let b = try s.browser("both")
        try b.get("/rosters/1")
        #expect(try b.post("/rosters/1/review", [("decision", "approve"), ("password", MoneyScene.password)]).status == 200)
        #expect(try s.county.roster(1).reviewedBy == "both")
        let list = try b.get("/approval")
        #expect(list.body.contains("<form id=\"roster-approve\""))
        #expect(list.body.contains("name=\"rosters\" value=\"1\""))
        let refused = try b.post("/approval", [("rosters", "1"), ("note", ""), ("password", MoneyScene.password)])
        #expect(refused.status == 403)
        #expect(refused.body.contains(ErrorCode.roleMissing.rawValue))
        #expect(refused.body.contains("不相容岗位分离"))
        #expect(try s.county.roster(1).status == "reviewed")
        #expect(try s.county.batches().isEmpty)
        #expect(try s.entries("roster.approve") == 0)
    }

    @Test func anApproverApprovesAgainstTheBudgetAndBatchesAreMade() throws {
        let s = try MoneyScene()
        try s.county.become("shen")
        try s.county.review(1, approve: true, reason: "")
        let b = try s.browser("zhou")
        let list = try b.get("/approval")
        #expect(list.status == 200)
        #expect(list.body.contains("id=\"approval-budget\""))
        #expect(list.body.contains("1,800.00"))          // six people at 300.00 yuan
        #expect(list.body.contains("98,200.00"))         // what the budget keeps after approving
        // Nothing ticked: a clear refusal, nothing approved.
        let none = try b.post("/approval", [("note", ""), ("password", MoneyScene.password)])
        #expect(none.status == 400)
        #expect(try s.county.roster(1).status == "reviewed")
        try b.get("/approval")
        let done = try b.post("/approval", [("rosters", "1"), ("note", "同意"), ("password", MoneyScene.password)])
        #expect(done.status == 200)
        #expect(done.body.contains("已审定清册 1：6 笔，1,800.00 元"))
        #expect(try s.county.roster(1).status == "approved")
        #expect(try s.county.batches().count == 1)
        #expect(try s.signedEntries("roster.approve") == ["zhou"])
        #expect(try s.county.budgets().first?.remainingFen == 9_820_000)
    }

    @Test func anApprovalOverTheBudgetIsRefusedAndChangesNothing() throws {
        let s = try MoneyScene(budgetYuan: "1000")
        try s.county.become("shen")
        try s.county.review(1, approve: true, reason: "")
        let b = try s.browser("zhou")
        let list = try b.get("/approval")
        #expect(list.body.contains("class=\"bad\">-800.00"))
        let refused = try b.post("/approval", [("rosters", "1"), ("password", MoneyScene.password)])
        #expect(refused.status == 400)
        #expect(refused.body.contains(ErrorCode.budgetExceeded.rawValue))
        #expect(try s.county.roster(1).status == "reviewed")
        // The approver raises the budget on /budgets, as budget set does.
        let budgets = try b.get("/budgets")
        #expect(budgets.body.contains("<form id=\"budget-set\""))
        let set = try b.post("/budgets", [("program", "TF01"), ("period", "2026"), ("yuan", "2000")])
        #expect(set.body.contains("项目 TF01 2026 期预算：2,000.00 元"))
        #expect(try s.county.budgets().first?.budgetFen == 200_000)
    }

    @Test func aPaymentsClerkCannotOpenTheApprovalPage() throws {
        let s = try MoneyScene()
        try s.county.become("shen")
        try s.county.review(1, approve: true, reason: "")
        let b = try s.browser("pay")
        let home = try b.get("/")
        #expect(!home.body.contains("href=\"/approval\">财政审定"))
        #expect(home.body.contains("href=\"/batches\">支付批次"))
        #expect(try b.get("/approval").status == 403)
        #expect(try b.post("/approval", [("rosters", "1"), ("password", MoneyScene.password)]).status == 403)
        #expect(try b.get("/review").status == 403)
        #expect(try b.post("/budgets", [("program", "TF01"), ("period", "2026"), ("yuan", "1")]).status == 403)
        #expect(try s.county.roster(1).status == "reviewed")
        #expect(try s.county.budgets().first?.budgetFen == 10_000_000)
    }

    @Test func dispatchWritesTheInstructionFileAndTheBatchShowsItsDeadlines() throws {
        let s = try MoneyScene()
        try s.approved()
        let b = try s.browser("pay")
        let before = try b.get("/batches")
        #expect(before.body.contains("<form id=\"batch-dispatch\""))
        #expect(before.body.contains("待发送"))
        let done = try b.post("/batches/dispatch", [])
        #expect(done.status == 200)
        #expect(done.body.contains("已写出支付指令文件：批次 1 → ABC：6 笔 1,800.00 元"))
        let name = CountyNode.instructionFileName(county: "450223", bank: "ABC", batch: 1)
        #expect(FileManager.default.fileExists(atPath: s.bankFolder + "/outbox/" + name))
        let batch = try #require(try s.county.batches().first)
        #expect(batch.status == "dispatched")
        #expect(batch.dispatchedOn == "2026-03-02")
        // The page shows the due dates and no longer offers to send.
        #expect(done.body.contains(batch.payDue ?? "?"))
        #expect(done.body.contains(batch.reportDue ?? "?"))
        #expect(done.body.contains("正常（剩"))
        #expect(!done.body.contains("<form id=\"batch-dispatch\""))
        // An approver may see batches but has no dispatch button.
        let zhou = try s.browser("zhou")
        #expect(try zhou.post("/batches/dispatch", []).status == 403)
    }

    @Test func bankReceiveShowsWhatWasReceivedAndWhatWasRefused() throws {
        let s = try MoneyScene()
        try s.dispatched()
        var options = BankSimulator.Options(payDate: try CivilDate(parsing: "2026-03-02"))
        options.seed = 7
        options.failureRates = [.accountClosed: 0.5]
        let handled = try BankSimulator(folder: s.bankFolder, bank: "ABC").run(options)
        let result = try #require(handled.first?.result)
        // A file that fails validation lies beside it.
        try Data("这不是结果文件\n".utf8).write(to: URL(fileURLWithPath: s.bankFolder + "/inbox/broken.txt"))
        let b = try s.browser("pay")
        let waiting = try b.get("/bank")
        #expect(waiting.body.contains(result))
        #expect(waiting.body.contains("broken.txt"))
        #expect(waiting.body.contains("<form id=\"bank-receive\""))
        let done = try b.post("/bank/receive", [("bank", "")])
        #expect(done.status == 200)
        let paid = try s.county.payments(status: "paid"), failed = try s.county.payments(status: "failed")
        #expect(paid.count + failed.count == 6)
        #expect(!failed.isEmpty)
        #expect(done.body.contains("采用 ABC/\(result)：批次 1 成功 \(paid.count) 笔"))
        #expect(done.body.contains("失败 \(failed.count) 笔"))
        #expect(done.body.contains("拒收 ABC/broken.txt"))
        // The refusal stays on the page with the report the CLI leaves beside the file.
        #expect(done.body.contains("id=\"bank-refused\""))
        #expect(done.body.contains("支付结果文件 broken.txt 未采用"))
        #expect(done.body.contains("id=\"bank-received\""))
        #expect(try s.county.batches().first?.status == "resulted")
        // The failed filter of the payments page lists exactly the failed ones, masked.
        let list = try b.get("/payments?status=failed&batch=1")
        #expect(list.body.contains("共 \(failed.count) 条"))
        for p in s.people { #expect(!list.body.contains(p)) }
        #expect(list.body.contains(Masking.residentID(failed[0].residentID)))
        // Searched by a whole resident ID (through its index); a name is answered with where to look.
        let one = try b.get("/payments?q=\(failed[0].residentID)")
        #expect(one.body.contains("共 1 条"))
        let byName = try b.get("/payments?q=" + Markup.percentEncode("韦秀"))
        #expect(byName.status == 400)
        #expect(byName.body.contains(ErrorCode.usageValue.rawValue))
        #expect(byName.body.contains("在清册明细中查找"))
    }

    @Test func correctedFailuresAreReissuedWithThePassword() throws {
        let s = try MoneyScene()
        try s.dispatched()
        var options = BankSimulator.Options(payDate: try CivilDate(parsing: "2026-03-02"))
        options.failureRates = [.accountClosed: 1]
        _ = try BankSimulator(folder: s.bankFolder, bank: "ABC").run(options)
        try s.county.become("pay")
        _ = try s.county.receiveResults(today: try CivilDate(parsing: "2026-03-02"))
        #expect(try s.county.payments(status: "failed").count == 6)
        // The township receives the results and corrects two of them.
        try s.f.pull()
        try s.town.become("tester")
        let toCorrect = try s.town.paymentsToCorrect()
        #expect(toCorrect.count == 6)
        for p in toCorrect.prefix(2) { try s.town.correctPayment(p.payment, newAccount: nil, note: "账户已解冻") }
        try s.push()
        #expect(try s.county.pendingReissues().count == 2)

        let b = try s.browser("pay")
        let page = try b.get("/reissue")
        #expect(page.body.contains("待补发（2 笔）"))
        #expect(page.body.contains("待乡镇更正（4 笔）"))
        #expect(page.body.contains("<form id=\"batch-reissue\""))
        for p in s.people { #expect(!page.body.contains(p)) }
        let wrong = try b.post("/reissue", [("password", "not-my-password-1")])
        #expect(wrong.status == 403)
        #expect(wrong.body.contains(ErrorCode.authPassword.rawValue))
        #expect(try s.county.pendingReissues().count == 2)
        #expect(try s.entries("batch.reissue") == 0)
        try b.get("/reissue")
        let done = try b.post("/reissue", [("password", MoneyScene.password)])
        #expect(done.body.contains("补发 2 笔，生成批次 2"))
        #expect(try s.county.pendingReissues().isEmpty)
        #expect(try s.county.payments(batch: 2).compactMap(\.reissueOf).sorted() == toCorrect.prefix(2).map(\.payment).sorted())
        #expect(try s.signedEntries("batch.reissue") == ["pay"])
        let waiting = try b.get("/reissue?list=waiting")
        #expect(waiting.body.contains("待乡镇更正（4 笔）"))
    }

    @Test func aRostersLinesComeAPageAtATimeAndCanBeSearched() throws {
        let s = try MoneyScene(people: 60)
        let b = try s.browser("zhou")
        let first = try b.get("/rosters/1")
        #expect(first.body.contains("共 60 条，第 1/2 页"))
        #expect(first.body.contains("韦秀四九"))
        #expect(!first.body.contains("韦秀五零<"))
        let second = try b.get("/rosters/1?page=2")
        #expect(second.body.contains("韦秀五九"))
        #expect(!second.body.contains("韦秀零<"))
        // By whole resident ID, by line number, by the beginning of a name.
        let byID = try b.get("/rosters/1?q=\(s.people[42])")
        #expect(byID.body.contains("共 1 条"))
        #expect(byID.body.contains("韦秀四二"))
        let table = try #require(byID.body.range(of: "class=\"roster-lines\"")).upperBound
        #expect(!byID.body[table...].contains(s.people[42]))   // still masked in the table
        let byLine = try b.get("/rosters/1?q=7")
        #expect(byLine.body.contains("共 1 条"))
        let byName = try b.get("/rosters/1?q=" + Markup.percentEncode("韦秀五"))
        #expect(byName.body.contains("共 11 条"))   // 韦秀五, 韦秀五零…五九
        let nobody = try b.get("/rosters/1?q=" + Markup.percentEncode("%"))
        #expect(nobody.body.contains("没有符合"))
        // The library's paged lines agree with the whole list the CLI prints.
        let all = try s.county.rosterLines(1)
        let page = try s.county.rosterLinesPage(1, offset: 50, limit: 50)
        #expect(page.items.map(\.lineNo) == all.dropFirst(50).map(\.lineNo))
        #expect(page.items.map(\.payment) == all.dropFirst(50).map(\.payment))
    }
}
