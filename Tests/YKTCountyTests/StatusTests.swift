import Foundation
import Testing
import YKTCore
import YKTNode
import YKTTestSupport
@testable import YKTCounty
@testable import YKTTownship

/// `ykt status` and `ykt summary` along the payment loop (issue 16, items 3 and 6): the figures
/// from the node libraries, and the county's screens through the built binary.
@Suite("status and summary along the payment loop")
struct StatusTests {
    /// The `ykt` built beside this test bundle, run on `node` as `login` (a session made in-process).
    static func ykt(_ args: [String], node: CountyNode, as login: String) throws -> (status: Int32, stdout: String) {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let binary = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("ykt").path
        let session = NSTemporaryDirectory() + "ykt-status-session-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: session) }
        try node.sessionFile(login, at: session)
        var env = ProcessInfo.processInfo.environment
        env["YKT_SESSION"] = session
        return try TestProcess.run(binary, args + ["--node", node.directory], environment: env)
    }

    @Test("a failed payment waits for the township, then for the re-issue; once paid, nothing waits and summary shows no 退回")
    func failedThenReissued() throws {
        let loop = try Loop()
        let batch = try loop.dispatched()
        // Dispatched, no result yet: the bank's deadline is overdue by the end of the year.
        let waiting = try loop.county.status(today: loop.d("2026-12-31"))
        #expect(waiting.deadlines.map(\.batch.id) == [batch] && waiting.deadlines.first?.state == "overdue")
        try loop.answer(batch: batch, failing: [2])
        // The bank's answer lies in its folder until it is read: status says so, with the command.
        let unread = try loop.county.status()
        #expect(unread.bankFilesWaiting.count == 1 && unread.bankFilesWaiting.first?.files == 1)
        let unreadScreen = try Self.ykt(["status"], node: loop.county, as: "payer").stdout
        #expect(unreadScreen.contains("回盘目录有 1 个结果文件未读取") && unreadScreen.contains("ykt bank receive --bank"))
        _ = try loop.receive()
        #expect(try loop.county.status().bankFilesWaiting.isEmpty)

        var s = try loop.county.status()
        #expect(s.failedPayments.toCorrect == 1 && s.failedPayments.toCorrectFen == 30000 && s.failedPayments.toReissue == 0)
        #expect(s.deadlines.isEmpty)
        let township = try #require(s.townships.first)
        #expect(township.code == "450223101" && township.lastChangeSet != nil && township.waitingDown > 0)
        try loop.county.actAs("payer", .payments)
        var screen = try Self.ykt(["status"], node: loop.county, as: "payer")
        #expect(screen.status == 0 && screen.stdout.contains("发放失败待乡镇更正：1 笔 300.00 元"))
        #expect(screen.stdout.contains("待取下行消息"))
        let failedSummary = try Self.ykt(["summary"], node: loop.county, as: "payer").stdout
        #expect(failedSummary.contains("退回资金（待补发）") && failedSummary.contains("300.00 元") && failedSummary.contains("1 笔待补发"))

        // The township sees it as its own work to do.
        _ = try loop.c.pull("450223101")
        let town = try loop.town.status()
        #expect(town.failedPayments.map(\.payment) == [2] && town.failedPayments[0].amountFen == 30000)
        #expect(town.failedPayments[0].residentID.contains("*"))
        #expect(try loop.county.status().townships.first?.waitingDown == 0)

        let card = AccountNumber.completingLuhn("622848000000000099")
        try loop.town.correctPayment(2, newAccount: AccountInput(bank: "农行", number: try AccountNumber(card, kind: .card),
                                                                 confirmation: "QR-NEW"), note: "")
        #expect(try loop.town.status().failedPayments.isEmpty)
        _ = try loop.c.push("450223101")
        s = try loop.county.status()
        #expect(s.failedPayments.toCorrect == 0 && s.failedPayments.toReissue == 1 && s.failedPayments.toReissueFen == 30000)
        screen = try Self.ykt(["status"], node: loop.county, as: "payer")
        #expect(screen.stdout.contains("乡镇已更正、待补发：1 笔 300.00 元 → ykt batch reissue"))

        let reissue = try loop.by("支付经办员").reissue()
        try loop.county.dispatch(on: loop.d("2026-11-18"))
        try loop.answer(batch: reissue[0], date: "2026-11-19")
        _ = try loop.receive("2026-11-19")
        s = try loop.county.status()
        #expect(s.failedPayments.toCorrect == 0 && s.failedPayments.toReissue == 0)
        let summary = try loop.county.loopSummary()
        #expect(summary.returnedFen == 0 && summary.returnedTotalFen == 30000 && summary.failedPayments == 1 && summary.failedOpen == 0)
        let paidSummary = try Self.ykt(["summary"], node: loop.county, as: "payer")
        #expect(paidSummary.status == 0 && !paidSummary.stdout.contains("退回") && paidSummary.stdout.contains("1 笔（均已补发）"))
        let json = try JSONSerialization.jsonObject(with: Data(try Self.ykt(["summary", "--json"], node: loop.county, as: "payer").stdout.utf8))
            as? [String: Any]
        #expect(json?["returnedFen"] as? Int == 0 && json?["returnedTotalFen"] as? Int == 30000)
        _ = try loop.c.pull("450223101")
        #expect(try loop.town.status().failedPayments.isEmpty)
    }

    @Test("rosters to review and approve, open warnings, conflicts and complaints are counted with the next step")
    func countyQueues() throws {
        let loop = try Loop()
        var s = try loop.county.status()
        #expect(s.rostersToReview == 1 && s.rostersToApprove == 0 && s.openConflicts == 0)
        try loop.by("审核员").review(1, approve: true, reason: "")
        s = try loop.county.status()
        #expect(s.rostersToReview == 0 && s.rostersToApprove == 1)
        try loop.county.db.run("""
            INSERT INTO conflict(kind, entity, node_id, op_seq, detail, created_at) VALUES ('beneficiary.duplicate', 'beneficiary/x', '450223101', 1, 'd', 't')
            """)
        try loop.county.db.run("""
            INSERT INTO warning(rule, subject, evidence, residents, found_at, last_seen) VALUES ('r', 's', '{}', '', 't', 't')
            """)
        s = try loop.county.status()
        #expect(s.openConflicts == 1 && s.openWarnings == 1)
        try loop.county.actAs("payer", .payments)
        let screen = try Self.ykt(["status"], node: loop.county, as: "payer").stdout
        #expect(screen.contains("待审定清册 1 张 → 财政 ykt roster approve"))
        #expect(screen.contains("未处理的冲突 1 条 → ykt conflicts list") && screen.contains("未处理的预警 1 条"))
    }
}
