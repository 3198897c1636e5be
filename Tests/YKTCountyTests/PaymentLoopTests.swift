import Foundation
import Testing
import YKTNode
import YKTCore
import YKTTestSupport
import YKTDemo
import YKTCrypto
@testable import YKTCounty
@testable import YKTTownship

/// A county with one township whose TF01 roster (three residents, 300.00 yuan each) has been
/// synced; roles, a budget and one agency bank (ABC, paying 农行 accounts) are set up.
struct Loop {
    let c: County
    var county: CountyNode { c.county }
    var town: TownshipNode { c.townships["450223101"]! }
    let people = [ResidentID.completing("45022319500101123"), ResidentID.completing("45022319620315456"),
                  ResidentID.completing("45022319800707078")]
    var bankFolder: String { c.dir.sub("bank-ABC") }

    /// The agency agreement the bank is registered with: 2025-01-01 to 2027-12-31 (3 years).
    static let agreement = CountyNode.AgreementTerms(number: "LZCZ-DF-2025-01", start: CivilDate(year: 2025, month: 1, day: 1)!,
                                                     end: CivilDate(year: 2027, month: 12, day: 31)!, fees: "免费")

    /// `agreement`: the bank's agency agreement (nil: registered without one).
    init(budgetYuan: String = "100000", roles: Bool = true, agreement: CountyNode.AgreementTerms? = Loop.agreement) throws {
        c = try County(["450223101"])
        for (i, p) in people.enumerated() {
            try register(c.townships["450223101"]!, p, ["韦秀英", "覃建国", "黄丽华"][i], card: AccountNumber.completingLuhn("62284800000000000\(i + 1)"))
            try apply(c.townships["450223101"]!, p, "TF01", quantity: "1")
        }
        let t = c.townships["450223101"]!
        try t.submitAsLeader(try t.buildRoster(program: "TF01", period: try Period(parsing: "2026")).id)
        _ = try c.push("450223101")
        if roles {
            try county.actAs("reviewer", .reviewer("TF01"))
            try county.actAs("approver", .approver)
            try county.actAs("payer", .payments)
        }
        try county.setBudget(program: "TF01", period: try Period(parsing: "2026"), amount: try Fen(yuan: budgetYuan))
        try county.actAs(TestOperators.administrator)
        try county.actAs(TestOperators.administrator)
        try county.addBank(code: "ABC", name: "农行", serves: [], folder: bankFolder, agreement: agreement)
    }

    /// The county, acting as the person named: 审核员 (reviewer), 审定员 (approver), 支付经办员
    /// (payments clerk) or 管理员 (administrator), each a separate account.
    func by(_ name: String) throws -> CountyNode {
        switch name {
        case "审核员": try county.become("reviewer")
        case "审定员": try county.become("approver")
        case "支付经办员": try county.actAs("payer", .payments)
        default: try county.actAs(TestOperators.administrator)
        }
        return county
    }

    /// Reviewed, approved and dispatched on 2026-11-16; returns the batch id.
    @discardableResult
    func dispatched() throws -> Int64 {
        try by("审核员").review(1, approve: true, reason: "")
        let result = try by("审定员").approve([1])
        try county.dispatch(on: d("2026-11-16"))
        return result.batches[0]
    }

    /// Writes a result file for `batch` into the bank's inbox, failing the given payment ids.
    func answer(batch: Int64, failing: Set<Int64> = [], date: String = "2026-11-17", edit: (inout BankFile.Result) -> Void = { _ in }) throws {
        var lines: [BankFile.ResultLine] = []
        for p in try county.payments(batch: batch) {
            let fail = failing.contains(p.id)
            lines.append(.init(lineID: String(p.id), status: fail ? .failed : .paid, amountFen: p.amountFen, date: d(date),
                               reason: fail ? .accountClosed : nil, reasonText: fail ? "账户已销户" : "", returnedFen: fail ? p.amountFen : 0))
        }
        var result = BankFile.Result(batch: batch, bank: "ABC", lines: lines)
        edit(&result)
        try FileOutput.writeAtomically(bytes: BankFile.write(result), to: bankFolder + "/inbox/result-\(batch)-\(UUID().uuidString.prefix(6)).txt")
    }

    func receive(_ today: String = "2026-11-18") throws -> [CountyNode.ResultReport] {
        try county.receiveResults(today: d(today))
    }

    /// Dispatched, answered by the bank (failing the given payments) and the result received.
    @discardableResult
    func resulted(failing: Set<Int64> = []) throws -> Int64 {
        let batch = try dispatched()
        try answer(batch: batch, failing: failing)
        _ = try receive()
        return batch
    }

    func d(_ s: String) -> CivilDate { try! CivilDate(parsing: s) }
}

@Suite("County money loop: review, approval, banks, failures until paid")
struct PaymentLoopTests {
    @Test("when the county cannot store a result file (disk full, read-only), the file stays in the inbox, not refused")
    func storageFailureKeepsFile() throws {
        let loop = try Loop()
        let batch = try loop.dispatched()
        try loop.answer(batch: batch, failing: [])
        try loop.county.db.execute("PRAGMA query_only = 1")   // every write now fails in SQLite, as on a full disk
        #expect((#expect(throws: YKTError.self) { try loop.receive() })?.code.exitStatus == .storage)
        try loop.county.db.execute("PRAGMA query_only = 0")
        #expect(try FileManager.default.contentsOfDirectory(atPath: loop.bankFolder + "/inbox").count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: loop.bankFolder + "/refused").isEmpty)
        #expect(try loop.county.db.integer("SELECT count(*) FROM result_refusal") == 0)
        #expect(try loop.county.payments(status: "dispatched").count == 3)
        // Once the county can write again, the same file is applied.
        #expect(try loop.receive().first?.paid == 3)
    }

    @Test("a batch's results go down in messages of bounded size, and every line arrives")
    func resultsInSeveralMessages() throws {
        let loop = try Loop()
        loop.county.resultLinesPerMessage = 2
        let batch = try loop.dispatched()
        try loop.answer(batch: batch, failing: [3])
        #expect(try loop.receive().first?.refusal == nil)
        let sizes = try loop.county.db.all("SELECT body FROM downstream WHERE kind = 'payment.result' ORDER BY seq") { r -> Int in
            guard case .array(let lines)? = try JSONValue.parse(Array(r.text(0).utf8))["data"]?["lines"] else { return -1 }
            return lines.count
        }
        #expect(sizes == [2, 1])
        _ = try loop.c.pull("450223101")
        let results = try loop.town.db.all("SELECT payment, status, coalesce(reason_code, '') FROM payment_result ORDER BY payment") {
            "\($0.int64(0)) \($0.text(1)) \($0.text(2))"
        }
        #expect(results == ["1 paid ", "2 paid ", "3 failed ACCOUNT_CLOSED"])
    }

    @Test("the whole loop: approve → batch → instruction file → results with a failure → correction → re-issue → all paid")
    func wholeLoop() throws {
        let loop = try Loop()
        let batch = try loop.dispatched()
        // The instruction file: header control totals and body hash check out; lines carry the standard program name.
        let file = try #require(try loop.county.batches().first?.file)
        let bytes = [UInt8](FileManager.default.contents(atPath: loop.bankFolder + "/outbox/" + file)!)
        let instruction = try BankFile.readInstruction(bytes, file: file)
        #expect(instruction.lines.count == 3 && instruction.totalFen == 90000)
        #expect(instruction.lines.allSatisfy { $0.program == "特殊对象生活补助" && $0.memo.contains("2026年") })
        // Writing it again gives the same bytes (a crash between file and record is harmless).
        #expect(BankFile.write(try loop.county.instruction(for: loop.county.batches()[0], seq: 1)) == bytes)
        #expect(instruction.seq == 1 && instruction.batch == batch)
        #expect(instruction.lines.map(\.residentID) == loop.people)

        try loop.answer(batch: batch, failing: [2])
        let report = try #require(try loop.receive().first)
        #expect(report.refusal == nil && report.paid == 2 && report.failed == 1 && report.returnedFen == 30000)
        // Returned funds are tracked to their line.
        let failed = try #require(try loop.county.payments(status: "failed").first)
        #expect(failed.id == 2 && failed.returnedFen == 30000 && failed.reasonCode == "ACCOUNT_CLOSED")

        // Down to the township, corrected there with a new account, up again.
        _ = try loop.c.pull("450223101")
        let toFix = try loop.town.paymentsToCorrect()
        #expect(toFix.map(\.payment) == [2])
        let newCard = AccountNumber.completingLuhn("622848000000000099")
        try loop.town.correctPayment(2, newAccount: AccountInput(bank: "农行", number: try AccountNumber(newCard, kind: .card),
                                                                 confirmation: "QR-NEW"), note: "")
        #expect((#expect(throws: YKTError.self) { try loop.town.correctPayment(2, newAccount: nil, note: "again") })?.code == .paymentState)
        let pushed = try loop.c.push("450223101")
        #expect(pushed.rejected == 0 && pushed.accepted == 2)   // account.change + payment.correct
        #expect(try loop.county.db.first("SELECT account_number FROM resident WHERE resident_id = ?", loop.people[1]) { $0.text(0) } == newCard)

        // Re-issue: a new batch whose line links to the failed one and pays the new account.
        #expect((#expect(throws: YKTError.self) { try loop.by("审核员").reissue() })?.code == .roleMissing)
        let reissue = try loop.by("支付经办员").reissue()
        #expect(reissue.count == 1)
        let line = try #require(try loop.county.payments(batch: reissue[0]).first)
        #expect(line.reissueOf == 2 && line.accountNumber == newCard && line.amountFen == 30000)
        #expect(try loop.county.reissue().isEmpty)   // nothing is re-issued twice
        try loop.county.dispatch(on: loop.d("2026-11-18"))
        try loop.answer(batch: reissue[0], date: "2026-11-19")
        #expect(try loop.receive("2026-11-19").first?.paid == 1)

        let s = try loop.county.loopSummary()
        #expect(s.paidLines == 3 && s.paidFen == 90000 && s.outstanding == 0 && s.reissued == 1 && s.returnedFen == 0 && s.returnedTotalFen == 30000 && s.failedOpen == 0)
        _ = try loop.c.pull("450223101")
        #expect(try loop.town.paymentResults(roster: 1).filter { $0.status == "paid" }.count == 3)
        // TF01 is secret: no public result notice at all.
        #expect((#expect(throws: YKTError.self) { try loop.town.paymentNoticeDocument(1, printedOn: loop.d("2026-11-20")) })?.code == .noticeSecret)
    }

    @Test("a roster line is paid at most once and never above the approved total")
    func paidOnce() throws {
        let loop = try Loop()
        let batch = try loop.resulted()
        // The database refuses a second paid payment for the same line.
        #expect(throws: (any Error).self) {
            try loop.county.db.run("""
                INSERT INTO payment(batch_id, roster_id, line_no, node_id, program, period, resident_id, name, bank, account_kind,
                    account_number, amount_fen, status) SELECT batch_id, roster_id, line_no, node_id, program, period, resident_id, name,
                    bank, account_kind, account_number, amount_fen, 'paid' FROM payment WHERE id = 1
                """)
        }
        // The same result file delivered twice is not applied twice; a different one for the batch is refused.
        try loop.answer(batch: batch)
        #expect(try loop.receive().first?.alreadyApplied == true)
        try loop.answer(batch: batch, failing: [1])
        let second = try #require(try loop.receive().first)
        #expect(second.refusal?.contains("YKT-BATCH-STATE") == true)
        #expect(try loop.county.loopSummary().paidFen == 90000)
        // A roster whose approved total is lower than what the bank reports paid is refused whole.
        let l2 = try Loop()
        let b2 = try l2.dispatched()
        try l2.county.db.run("UPDATE roster SET total_fen = 60000 WHERE id = 1")
        try l2.answer(batch: b2)
        let r = try #require(try l2.receive().first)
        #expect(r.refusal?.contains("超过审定总额") == true)
        #expect(try l2.county.payments(status: "paid").isEmpty)
    }

    @Test("a wrong result file is refused whole, kept with a report, and nothing is applied",
          arguments: ["total", "duplicate", "amount", "unknown", "missing"])
    func refusedResult(tamper: String) throws {
        let loop = try Loop()
        try loop.dispatched()
        var options = BankSimulator.Options(payDate: loop.d("2026-11-17"))
        options.tamper = tamper
        let handled = try BankSimulator(folder: loop.bankFolder, bank: "ABC").run(options)
        #expect(handled.count == 1)
        let report = try #require(try loop.receive().first)
        let expected = ["total": "YKT-BANK-CONTROL", "duplicate": "YKT-BANK", "amount": "YKT-BANK-LINE", "unknown": "YKT-BANK-LINE",
                        "missing": "YKT-BANK-LINE"][tamper]!
        #expect(report.refusal?.contains(expected) == true, "\(report.refusal ?? "applied")")
        #expect(try loop.county.payments(status: "dispatched").count == 3)
        #expect(try loop.county.batches().first?.status == "dispatched")
        let kept = try FileManager.default.contentsOfDirectory(atPath: loop.bankFolder + "/refused")
        #expect(kept.count == 2 && kept.contains { $0.hasSuffix(".report.txt") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: loop.bankFolder + "/inbox").isEmpty)
    }

    @Test("review and approval: roles, separation of duties, budget with figures, rejection back to the township and resubmission")
    func reviewAndApproval() throws {
        let loop = try Loop(budgetYuan: "800")
        #expect((#expect(throws: YKTError.self) { try loop.by("路人").review(1, approve: true, reason: "") })?.code == .roleMissing)
        #expect((#expect(throws: YKTError.self) { try loop.by("审定员").approve([1]) })?.code == .rosterState)
        #expect((#expect(throws: YKTError.self) { try loop.by("审核员").review(1, approve: false, reason: "") })?.code == .fieldMissing)
        try loop.by("审核员").review(1, approve: false, reason: "第 2 行不符合条件")
        _ = try loop.c.pull("450223101")
        #expect(try loop.town.roster(1).status == .draft)
        #expect(try loop.town.rosterDecisions(1).last?.reason == "第 2 行不符合条件")
        try loop.town.submitAsLeader(try loop.town.buildRoster(program: "TF01", period: try Period(parsing: "2026")).id)
        #expect(try loop.c.push("450223101").accepted == 1)
        let v2 = try #require(try loop.county.rosters(status: "received").first)
        #expect(v2.version == 2 && v2.id == 2)

        try loop.county.actAs("reviewer", .approver)
        try loop.by("审核员").review(2, approve: true, reason: "")
        let same = try #require(#expect(throws: YKTError.self) { try loop.by("审核员").approve([2]) })
        #expect(same.code == .roleMissing && same.message.contains("另一人"))
        let over = try #require(#expect(throws: YKTError.self) { try loop.by("审定员").approve([2]) })
        #expect(over.code == .budgetExceeded && over.message.contains("预算 800.00 元") && over.message.contains("超出 100.00 元"))
        try loop.county.setBudget(program: "TF01", period: try Period(parsing: "2026"), amount: try Fen(yuan: "900"))
        #expect(try loop.by("审定员").approve([2]).totalFen == 90000)
        #expect(try loop.county.budgets().first?.remainingFen == 0)
    }

    @Test("an open warning blocks approval; an override records who and why")
    func warningsBlock() throws {
        let loop = try Loop()
        let csv = loop.c.dir.sub("deceased.csv")
        try "身份证号,姓名,死亡日期,来源\n\(loop.people[0]),韦秀英,2026-01-05,民政局\n".write(toFile: csv, atomically: true, encoding: .utf8)
        #expect(try loop.county.importDeceased(path: csv) == 1)
        let run = try loop.county.runWarnings()
        #expect(run.found["deceased"] == 1 && run.new == 1)
        #expect(try loop.county.runWarnings().new == 0)   // running again adds nothing
        try loop.by("审核员").review(1, approve: true, reason: "")
        let blocked = try #require(#expect(throws: YKTError.self) { try loop.by("审定员").approve([1]) })
        #expect(blocked.code == .warningBlocking && blocked.details.count == 1)
        let r = try loop.by("审定员").approve([1], override: "死亡日期有误，已与民政局核实本人健在")
        #expect(r.overridden == [1])
        #expect(try loop.county.db.first("SELECT by_operator, reason FROM warning_override") { $0.text(0) + "|" + $0.text(1) }
                == "approver|死亡日期有误，已与民政局核实本人健在")
        // A bad list is refused whole with the line.
        try "身份证号,姓名,死亡日期\n123,某某,2026-01-01\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let bad = try #require(#expect(throws: YKTError.self) { try loop.county.importDeceased(path: csv) })
        #expect(bad.code == .importRejected && bad.details.first?.location?.line == 2)
    }

    @Test("deadlines are counted on the official calendar: 3 working days to pay, 2 more to report")
    func deadlines() throws {
        let loop = try Loop()
        try loop.by("审核员").review(1, approve: true, reason: "")
        try loop.by("审定员").approve([1])
        // Dispatched on Tuesday 29 September 2026, before the Mid-Autumn/National Day break.
        let b = try #require(try loop.county.dispatch(on: loop.d("2026-09-29")).first)
        #expect(b.payDue == "2026-10-09" && b.reportDue == "2026-10-12")   // 10 October is a make-up working day
        #expect(try loop.county.deadlines(on: loop.d("2026-09-30")).first?.state == "waiting")
        #expect(try loop.county.deadlines(on: loop.d("2026-10-09")).first?.state == "due")
        let late = try #require(try loop.county.deadlines(on: loop.d("2026-10-14")).first)
        #expect(late.state == "overdue" && late.workingDaysLeft == -2)
    }

    @Test("reconciliation: a clean month says so; each kind of difference is listed")
    func reconciliation() throws {
        let loop = try Loop()
        let batch = try loop.resulted(failing: [3])
        func statement(_ lines: [BankFile.StatementLine]) throws -> String {
            let path = loop.c.dir.sub("statement-\(UUID().uuidString.prefix(6)).txt")
            try FileOutput.writeAtomically(bytes: BankFile.write(BankFile.Statement(bank: "ABC", from: loop.d("2026-11-01"),
                                                                                    to: loop.d("2026-11-30"), lines: lines)), to: path)
            return path
        }
        let good: [BankFile.StatementLine] = try loop.county.payments().map {
            .init(lineID: String($0.id), batch: $0.batch, accountNumber: $0.accountNumber, amountFen: $0.amountFen,
                  kind: $0.status == "paid" ? .paid : .returned, date: loop.d("2026-11-17"))
        }
        let clean = try loop.county.reconcile(statementPath: try statement(good), from: loop.d("2026-11-01"), to: loop.d("2026-11-30"))
        #expect(clean.clean && clean.programs.first?.countyFen == 60000 && clean.programs.first?.bankFen == 60000)
        var bad = good
        bad.removeFirst()                                   // payment 1 missing
        bad[0].amountFen += 1                               // payment 2 amount differs
        bad.append(.init(lineID: "77", batch: batch, accountNumber: "1", amountFen: 5, kind: .paid, date: loop.d("2026-11-17")))
        let r = try loop.county.reconcile(statementPath: try statement(bad), from: loop.d("2026-11-01"), to: loop.d("2026-11-30"))
        #expect(Set(r.differences.map(\.kind)) == ["missing", "amount", "extra"])
        let out = loop.c.dir.sub("reports")
        let printed = try loop.county.printReconciliation(r, into: out, printedOn: loop.d("2026-11-30"))
        #expect(try String(contentsOfFile: printed.html, encoding: .utf8).contains("3 处差异"))
        // A statement for other dates is refused.
        #expect((#expect(throws: YKTError.self) {
            try loop.county.reconcile(statementPath: try statement(good), from: loop.d("2026-10-01"), to: loop.d("2026-10-31"))
        })?.code == .bankFile)
    }

    @Test("a beneficiary's own query needs ID and name; complaints are recorded and closed")
    func queryAndComplaints() throws {
        let loop = try Loop()
        try loop.resulted()
        let mine = try loop.county.query(residentID: try ResidentID(loop.people[0]), name: "韦秀英")
        #expect(mine.count == 1 && mine[0].status == "已发放" && mine[0].account.contains("*"))
        #expect((#expect(throws: YKTError.self) { try loop.county.query(residentID: try ResidentID(loop.people[0]), name: "覃建国") })?.code == .queryNoMatch)
        let id = try loop.county.addComplaint(about: "payment:1", content: "到账金额不对", complainant: "韦秀英", channel: "来电",
                                              on: loop.d("2026-11-18"))
        #expect((#expect(throws: YKTError.self) {
            try loop.county.addComplaint(about: "payment:99", content: "x", complainant: "", channel: "", on: loop.d("2026-11-18"))
        })?.code == .paymentUnknown)
        try loop.county.closeComplaint(id, outcome: "核实金额无误，已解释", on: loop.d("2026-11-19"))
        #expect((#expect(throws: YKTError.self) { try loop.county.closeComplaint(id, outcome: "再办", on: loop.d("2026-11-19")) })?.code == .complaintState)
        let rows = try loop.county.monthlyReport(month: try Period(parsing: "2026-11"))
        #expect(rows.count == 1 && rows[0].paid == 3 && rows[0].paidFen == 90000 && rows[0].outstanding == 0)
        let audit = try loop.county.db.all("SELECT action, object FROM audit WHERE action = 'payment.query'") { $0.text(1) }
        #expect(audit.count == 2 && audit.allSatisfy { $0.contains("********") })
    }
}

@Suite("Warning rules")
struct WarningRuleTests {
    @Test("each rule finds its case with evidence; dismissed warnings reopen when the evidence changes")
    func rules() throws {
        let loop = try Loop()
        let db = loop.county.db
        let a = loop.people[0], b = loop.people[1]
        let bCard = AccountNumber.completingLuhn("622848000000000002")
        let invalid = String(a.dropLast()) + (a.last == "1" ? "2" : "1")
        // A second roster in the same period: a paid twice (TF01 again), a to another account,
        // b above the standard (2 persons' worth), an invalid ID, and an official.
        try db.run("INSERT INTO roster(node_id, entity, program, period, line_count, total_fen, received_at) VALUES ('450223101', 'roster/x', 'TF01', '2026', 3, 0, 'now')")
        try db.run("INSERT INTO roster_line VALUES (2, 1, ?, '韦秀英', '大塘村', '农行', 'card', '6228480000000000999', '1', 30000, '')", a)
        try db.run("INSERT INTO roster_line VALUES (2, 2, ?, '覃建国', '大塘村', '农行', 'card', ?, '2', 60000, '')", b, bCard)
        try db.run("INSERT INTO roster_line VALUES (2, 3, ?, '某某', '大塘村', '农行', 'card', ?, '1', 30000, '')", invalid, bCard)
        try db.run("INSERT INTO official VALUES (?, '覃建国', '县某局', '本人', 'test')", b)
        let run = try loop.county.runWarnings()
        #expect(run.found["paid-twice"] == 2)            // a, and b (also on roster 1)
        #expect(run.found["one-person-several-accounts"] == 1)
        #expect(run.found["one-account-several-people"] == 1)
        #expect(run.found["above-standard"] == 1)
        #expect(run.found["invalid-id"] == 1)
        #expect(run.found["official-relative"] == 1)
        let several = try #require(try loop.county.warnings(rule: .severalAccounts).first)
        #expect(several.evidence.contains("6228480000000000999"))
        #expect(!CountyNode.maskedEvidence(several.evidence).contains(a) && !CountyNode.maskedEvidence(several.evidence).contains("6228480000000000999"))
        try loop.county.become("reviewer")
        try loop.county.closeWarning(several.id, confirmed: false, reason: "已核实：换卡有签字确认书")
        #expect(try loop.county.runWarnings().reopened == 0)
        // Lines are never changed once received: the evidence changes when another roster of
        // the period pays a onto a third account (an incremental run sees the new roster).
        try db.run("INSERT INTO roster(node_id, entity, program, period, line_count, total_fen, received_at) VALUES ('450223101', 'roster/y', 'GD01', '2026', 1, 0, 'now')")
        try db.run("INSERT INTO roster_line VALUES (3, 1, ?, '韦秀英', '大塘村', '农行', 'card', '6228480000000000888', '1', 11235, '')", a)
        #expect(try loop.county.runWarnings().reopened == 1)
        #expect(try loop.county.warning(several.id).status == "open")
    }

    @Test("an account shared between the register and a roster is found; a rejected roster counts for nothing")
    func registerAndRejected() throws {
        let loop = try Loop()
        let db = loop.county.db
        let a = loop.people[0], b = loop.people[1]
        #expect(try loop.county.runWarnings().total == 0)
        // b's designated account in the register is the account a is paid on.
        let account = try #require(try db.first("SELECT account_number FROM roster_line WHERE resident_id = ?", a) { $0.text(0) })
        try db.run("UPDATE resident SET account_number = ? WHERE resident_id = ?", account, b)
        // A rejected roster that would pay a twice, to another account.
        try db.run("""
            INSERT INTO roster(node_id, entity, program, period, line_count, total_fen, received_at, status)
            VALUES ('450223101', 'roster/x', 'TF01', '2026', 1, 30000, 'now', 'rejected')
            """)
        try db.run("INSERT INTO roster_line VALUES (2, 1, ?, '韦秀英', '大塘村', '农行', 'card', '6228480000000000999', '1', 30000, '')", a)
        let run = try loop.county.runWarnings()
        #expect(run.total == 1 && run.found["one-account-several-people"] == 1)
        let shared = try #require(try loop.county.warnings(rule: .sharedAccount).first)
        #expect(shared.subject == account && Set(shared.residents) == [a, b])
        // Once the roster is taken back into review, its lines count.
        try db.run("UPDATE roster SET status = 'received' WHERE id = 2")
        let again = try loop.county.runWarnings()
        #expect(again.found["paid-twice"] == 1 && again.found["one-person-several-accounts"] == 1)
    }
}

@Suite("Bank files")
struct BankFileTests {
    let d = try! CivilDate(parsing: "2026-11-17")

    @Test("instruction and result files round-trip, with quoting")
    func roundTrip() throws {
        let i = BankFile.Instruction(batch: 7, seq: 3, bank: "RCC", county: "450223", lines: [
            .init(lineID: "1", name: "韦秀英", residentID: "45022319500101123X", accountKind: "card", accountNumber: "6228480000000000018", amountFen: 11235,
                  program: "耕地地力保护补贴", memo: "2026年, \"补发\""),
        ])
        #expect(try BankFile.readInstruction(BankFile.write(i), file: "i") == i)
        let r = BankFile.Result(batch: 7, bank: "RCC", lines: [
            .init(fileLine: 2, lineID: "1", status: .failed, amountFen: 11235, date: d, reason: .nameMismatch, reasonText: "户名不符",
                  returnedFen: 11235),
        ])
        #expect(try BankFile.readResult(BankFile.write(r), file: "r") == r)
    }

    @Test("every problem in a result file is reported with its line and field")
    func problems() throws {
        let r = BankFile.Result(batch: 7, bank: "RCC", lines: [
            .init(lineID: "1", status: .paid, amountFen: 100, date: d, reason: nil, reasonText: "", returnedFen: 0),
            .init(lineID: "2", status: .paid, amountFen: 100, date: d, reason: nil, reasonText: "", returnedFen: 0),
        ])
        var text = String(decoding: BankFile.write(r), as: UTF8.self)
        // Break the body but fix its hash, so the field checks run.
        let body = String(text.split(separator: "\n", maxSplits: 1)[1]).replacingOccurrences(of: "2,paid,100", with: "1,payed,-5")
        let header = String(text.split(separator: "\n")[0]).replacingOccurrences(
            of: #"body_sha256=[0-9a-f]+"#, with: "body_sha256=" + Hex.encode(SHA256.hash(Array(body.utf8))), options: .regularExpression)
        text = header + "\n" + body
        let e = try #require(#expect(throws: YKTError.self) { try BankFile.readResult(Array(text.utf8), file: "r.txt") })
        #expect(e.code == .bankFile)
        let fields = Set(e.details.compactMap { "\($0.location?.line ?? 0):\($0.location?.field ?? "")" })
        #expect(fields.isSuperset(of: ["3:line_id", "3:status", "3:amount_fen"]))
        // A flipped byte anywhere in the body fails the hash.
        var flipped = BankFile.write(r)
        flipped[flipped.count - 3] ^= 1
        #expect((#expect(throws: YKTError.self) { try BankFile.readResult(flipped, file: "r") })?.code == .bankControl)
        // Not a result file at all.
        #expect((#expect(throws: YKTError.self) { try BankFile.readResult(Array("hello\n".utf8), file: "r") })?.code == .bankFile)
    }

    @Test("an amount above 100 million yuan is refused with its line, so no file's totals can overflow (found by fuzzing)")
    func hugeAmounts() throws {
        let body = "1,韦秀英,45022319500101123X,card,6228480000000000018,9223372036854775000,耕地地力保护补贴,x\n" +
                   "2,覃建国,450223196203154561,card,6228480000000000026,9223372036854775000,耕地地力保护补贴,x\n"
        let text = "YKT-PAY/2,batch=1,seq=1,bank=RCC,county=450223,lines=2,total_fen=0,body_sha256=" + Hex.encode(SHA256.hash(Array(body.utf8))) + "\n" + body
        let e = try #require(#expect(throws: YKTError.self) { try BankFile.readInstruction(Array(text.utf8), file: "i.txt") })
        #expect(Set(e.details.map { "\($0.location?.line ?? 0):\($0.location?.field ?? "")" }) == ["2:amount_fen", "3:amount_fen"])
    }

    @Test("a large result file is read in two halves with the same lines, numbers and problems as whole")
    func largeFile() throws {
        let r = BankFile.Result(batch: 7, bank: "RCC", lines: (1...40_000).map {
            .init(lineID: String($0), status: .paid, amountFen: 100, date: d, reason: nil, reasonText: "", returnedFen: 0)
        })
        let bytes = BankFile.write(r)
        #expect(bytes.count > 1 << 20)
        let read = try BankFile.readResult(bytes, file: "r")
        #expect(read.lines.map(\.lineID) == r.lines.map(\.lineID))
        #expect(read.lines.map(\.fileLine) == Array(2...40_001))
        // Problems in the second half carry their line numbers in the file.
        var text = String(decoding: bytes, as: UTF8.self)
        let body = String(text.split(separator: "\n", maxSplits: 1)[1])
            .replacingOccurrences(of: "\n39000,paid,100", with: "\n39000,payed,100")
            .replacingOccurrences(of: "\n39999,paid,100", with: "\n39998,paid,100")
        let header = String(text.split(separator: "\n")[0]).replacingOccurrences(
            of: #"body_sha256=[0-9a-f]+"#, with: "body_sha256=" + Hex.encode(SHA256.hash(Array(body.utf8))), options: .regularExpression)
        text = header + "\n" + body
        let e = try #require(#expect(throws: YKTError.self) { try BankFile.readResult(Array(text.utf8), file: "r.txt") })
        let places = Set(e.details.map { "\($0.location?.line ?? 0):\($0.location?.field ?? "")" })
        #expect(places == ["39001:status", "40000:line_id"])
    }
}

@Suite("Monthly report: unpaid at month end from the index")
struct MonthlyUnpaidTests {
    /// The lines approved by `last` without a paid payment by then, read line by line.
    static func unpaidLineByLine(_ county: CountyNode, _ last: String) throws -> (count: Int, fen: Int64) {
        try county.db.first("""
            SELECT count(*), coalesce(sum(l.amount_fen), 0) FROM roster_line l JOIN roster r ON r.id = l.roster_id
            WHERE r.status = 'approved' AND substr(r.approved_at, 1, 10) <= ?1
              AND NOT EXISTS (SELECT 1 FROM payment p WHERE p.roster_id = l.roster_id AND p.line_no = l.line_no
                              AND p.status = 'paid' AND p.result_on <= ?1)
            """, last) { ($0.int(0), $0.int64(1)) } ?? (0, 0)
    }

    @Test("unpaid at month end, from the paid totals per roster and day (roster_paid), is the lines with no paid payment by then")
    func unpaidEqualsLineByLine() throws {
        let loop = try Loop()
        _ = try loop.resulted(failing: [2])   // one payment failed on 2026-11-17: its line stays unpaid
        var seen = 0
        for (month, last) in [("2026-10", "2026-10-31"), ("2026-11", "2026-11-30"), ("2026-12", "2026-12-31")] {
            let rows = try loop.county.monthlyReport(month: try Period(parsing: month))
            let expected = try Self.unpaidLineByLine(loop.county, last)
            #expect(rows.reduce(0) { $0 + $1.outstanding } == expected.count, "\(month)")
            #expect(rows.reduce(0) { $0 + $1.outstandingFen } == expected.fen, "\(month)")
            seen += expected.count
        }
        #expect(seen > 0, "some month has an unpaid line")
    }
}

@Suite("Monthly report: the month's results read by batch")
struct MonthlyResultsByBatchTests {
    @Test("results dated across a month's end are counted in the month of their date, as read payment by payment")
    func acrossMonthEnd() throws {
        let loop = try Loop()
        let batch = try loop.dispatched()   // dispatched 2026-11-16
        let ids = try loop.county.payments(batch: batch).map(\.id).sorted()
        try #require(ids.count == 3)
        // Paid on 30 November, failed on 1 December, paid on 2 December; received 3 December.
        try loop.answer(batch: batch, failing: [ids[1]]) { r in
            for i in r.lines.indices {
                r.lines[i].date = loop.d(["2026-11-30", "2026-12-01", "2026-12-02"][ids.firstIndex(of: Int64(r.lines[i].lineID)!)!])
            }
        }
        #expect(try loop.receive("2026-12-03").first?.refusal == nil)
        var counted = 0
        for (month, first, last) in [("2026-10", "2026-10-01", "2026-10-31"), ("2026-11", "2026-11-01", "2026-11-30"),
                                     ("2026-12", "2026-12-01", "2026-12-31")] {
            let rows = try loop.county.monthlyReport(month: try Period(parsing: month))
            let expected = try #require(try loop.county.db.first("""
                SELECT coalesce(sum(status = 'paid'), 0), coalesce(sum(CASE status WHEN 'paid' THEN amount_fen END), 0),
                       coalesce(sum(status = 'failed'), 0), coalesce(sum(returned_fen), 0)
                FROM payment WHERE result_on BETWEEN ? AND ?
                """, first, last) { [$0.int64(0), $0.int64(1), $0.int64(2), $0.int64(3)] })
            let got = [rows.reduce(0) { $0 + Int64($1.paid) }, rows.reduce(0) { $0 + $1.paidFen },
                       rows.reduce(0) { $0 + Int64($1.failed) }, rows.reduce(0) { $0 + $1.returnedFen }]
            #expect(got == expected, "\(month)")
            counted += Int(got[0] + got[2])
        }
        #expect(counted == 3, "each result counted once, in its own month")
    }
}
