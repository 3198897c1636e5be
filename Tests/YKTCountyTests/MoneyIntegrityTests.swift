import Foundation
import Testing
import YKTCore
import YKTTestSupport
import YKTStore
@testable import YKTCounty
@testable import YKTTownship

/// A township with valid keys signs whatever its outbox holds: these tests edit an operation
/// there before the push, as a dishonest township (or a clerk with a database editor) would.
func tamper(_ t: TownshipNode, kind: String, last: Bool = true, _ edit: (inout [String: JSONValue]) throws -> Void) throws {
    let order = last ? "DESC" : "ASC"
    guard let (seq, text) = try t.db.first("SELECT seq, data FROM outbox WHERE kind = ? ORDER BY seq \(order) LIMIT 1", kind,
                                           map: { ($0.int64(0), $0.text(1)) }),
          case .object(var data) = try JSONValue.parse(Array(text.utf8)) else {
        Issue.record("no \(kind) in the outbox")
        return
    }
    try edit(&data)
    try t.db.run("UPDATE outbox SET data = ? WHERE seq = ?", JSONValue.object(data).canonical, seq)
}

/// Edits the roster.submit's lines (and keeps the totals consistent, as a careful forger would).
func tamperLines(_ t: TownshipNode, _ edit: (inout [JSONValue]) throws -> Void) throws {
    try tamper(t, kind: "roster.submit") { data in
        guard case .array(var lines)? = data["lines"] else { return }
        try edit(&lines)
        data["lines"] = .array(lines)
        data["lineCount"] = .int(Int64(lines.count))
        data["totalFen"] = .int(lines.reduce(0) { $0 + ($1["amountFen"]?.intValue ?? 0) })
    }
}

extension JSONValue {
    /// A copy of this object with `key` set.
    func setting(_ key: String, _ value: JSONValue) -> JSONValue {
        guard case .object(var d) = self else { return self }
        d[key] = value
        return .object(d)
    }
}

/// Alice, Bob and Carol registered; GD01 2026 applications for Alice (2 亩) and Bob (1 亩),
/// posted on 2026-03-02 and closed on 2026-03-09; Carol's application recorded after the notice
/// was posted (so on no notice). A roster built and submitted, not yet pushed.
struct Publicised {
    let c: County
    var t: TownshipNode { c.townships["450223101"]! }
    let alice = ResidentID.completing("45022319500101123")
    let bob = ResidentID.completing("45022319620315456")
    let carol = ResidentID.completing("45022319800707078")
    let dave = ResidentID.completing("45022319700505055")

    /// `closeLate`: the notice is closed on 2026-03-16 for 2026-03-09, with a reason (补录).
    init(submit: Bool = true, closeLate: Bool = false) throws {
        c = try County(["450223101"])
        let t = c.townships["450223101"]!
        for (i, (id, name)) in [(alice, "韦秀英"), (bob, "覃建国"), (carol, "黄丽华"), (dave, "蒙小军")].enumerated() {
            try register(t, id, name, card: AccountNumber.completingLuhn("62284800000000000\(i + 1)"))
        }
        try apply(t, alice, "GD01", quantity: "2")
        try apply(t, bob, "GD01", quantity: "1")
        try t.passVillageNotices(program: "GD01")
        t.at("2026-03-02")
        let n = try t.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: try CivilDate(parsing: "2026-03-02"),
                                 place: "各村村务公开栏", phone: "0772-6812345")
        try apply(t, carol, "GD01", quantity: "1")   // after the posting: on no notice
        if closeLate {
            t.at("2026-03-16")
            let refused = #expect(throws: YKTError.self) { try t.closeNotice(n.id, on: try CivilDate(parsing: "2026-03-09")) }
            #expect(refused?.code == .dateBackdated && refused?.location?.field == "--date")
            try t.closeNotice(n.id, on: try CivilDate(parsing: "2026-03-09"), backdatedReason: "3 月 9 日停电，当日纸质记录，今日补录")
        } else {
            t.at("2026-03-09")
            try t.closeNotice(n.id, on: try CivilDate(parsing: "2026-03-09"))
        }
        if submit { try t.submitAsLeader(try t.buildRoster(program: "GD01", period: try Period(parsing: "2026")).id) }
    }
}

@Suite("Money integrity: the county pays only what it can trace (a hostile township plays each case)")
struct MoneyIntegrityTests {
    @Test("every roster line is checked against what the county holds; every line with every reason; the whole roster refused, back to the township as a draft, then accepted once honest")
    func rosterLines() throws {
        let p = try Publicised()
        let (t, c) = (p.t, p.c)
        let card = AccountNumber.completingLuhn("622848000000000099")   // registered to nobody
        try tamperLines(t) { lines in
            #expect(lines.count == 2)
            lines[0] = lines[0].setting("accountNumber", .string(card))                        // Alice: another card
            lines[1] = lines[1].setting("amountFen", .int((lines[1]["amountFen"]?.intValue ?? 0) + 100))   // Bob: 1 yuan more
            // Carol: an application on no notice; Dave: no application at all.
            for (n, who) in [(3, p.carol), (4, p.dave)] {
                lines.append(lines[1].setting("line", .int(Int64(n))).setting("residentId", .string(who))
                    .setting("application", .string("application/\(who)/GD01/2026")).setting("amountFen", .int(11235))
                    .setting("accountNumber", .string(AccountNumber.completingLuhn("62284800000000000\(n)"))))
            }
        }
        let report = try c.push("450223101")
        #expect(report.rejected == 1)
        let problem = try #require(report.problems.first)
        #expect(problem.contains("YKT-ROSTER-LINES") && problem.contains("4 行中有 4 行不符"))
        #expect(problem.contains("第 1 行：[YKT-ROSTER-ACCOUNT]"))
        #expect(problem.contains("第 2 行：[YKT-ROSTER-AMOUNT]"))
        #expect(problem.contains("第 3 行：[YKT-ROSTER-NOTICE]"))
        #expect(problem.contains("第 4 行：[YKT-ROSTER-APPLICATION]"))
        #expect(!problem.contains(p.alice) && !problem.contains(card))   // masked
        #expect(try c.county.db.integer("SELECT count(*) FROM roster") == 0)
        // The township has it back as a draft, with the county's reasons.
        let roster = try #require(try t.rosters().first)
        #expect(roster.status == .draft)
        let reason = try t.db.first("SELECT reason FROM roster_decision WHERE roster_id = ? AND decision = 'rejected'", roster.id) { $0.text(0) }
        #expect(reason?.contains("YKT-ROSTER-ACCOUNT") == true)
        // Submitted again as built (honest), it is accepted, and the county pays the accounts it holds.
        try t.submitAsLeader(try t.buildRoster(program: "GD01", period: try Period(parsing: "2026")).id)
        let again = try c.push("450223101")
        #expect(again.rejected == 0 && again.accepted == 1)
        let accounts = try c.county.db.all("SELECT l.account_number, r.account_number, l.application FROM roster_line l JOIN resident r USING (resident_id)") {
            ($0.text(0), $0.text(1), $0.text(2))
        }
        #expect(accounts.count == 2 && accounts.allSatisfy { $0.0 == $0.1 && $0.2.hasPrefix("application/") })
    }

    @Test("a line whose application an upheld objection removed, and a second roster for an overlapping period, are refused")
    func objectionAndPeriod() throws {
        let p = try Publicised(submit: false)
        let (t, c) = (p.t, p.c)
        // Second notices for Carol (village, then township), with an upheld objection at the township's.
        try t.passVillageNotices(program: "GD01", posted: "2026-03-10", closed: "2026-03-17")
        let n2 = try t.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: try CivilDate(parsing: "2026-03-17"),
                                  place: "公开栏", phone: "0772-6812345")
        let o = try t.recordObjection(notice: n2.id, residentID: try ResidentID(p.carol), receivedOn: try CivilDate(parsing: "2026-03-17"),
                                      complainant: "村民", content: "已迁出")
        try t.settleObjection(o.id, upheld: true, reason: "核实属实", on: try CivilDate(parsing: "2026-03-17"))
        t.at("2026-03-24")
        try t.closeNotice(n2.id, on: try CivilDate(parsing: "2026-03-24"))
        try t.submitAsLeader(try t.buildRoster(program: "GD01", period: try Period(parsing: "2026")).id)
        #expect(try c.push("450223101").rejected == 0)
        #expect(try c.county.db.integer("SELECT count(*) FROM roster") == 1)
        // A second roster (batch 2) paying Alice again, and Carol whose line was removed, sent by
        // the leader the copied roster names as its submitter.
        try t.become(TownshipNode.testLeader)
        try t.perform("test.forge") {
            let first = try #require(try t.db.first("SELECT data FROM outbox WHERE kind = 'roster.submit'") { $0.text(0) })
            guard case .object(var data) = try JSONValue.parse(Array(first.utf8)), case .array(let lines)? = data["lines"] else {
                throw YKTError(.internalError, "no roster")
            }
            let carolLine = lines[0].setting("residentId", .string(p.carol)).setting("application", .string("application/\(p.carol)/GD01/2026"))
                .setting("accountNumber", .string(AccountNumber.completingLuhn("622848000000000003"))).setting("quantity", .string("1"))
                .setting("amountFen", .int(11235)).setting("line", .int(2))
            data["batch"] = .int(2)
            data["lines"] = .array([lines[0], carolLine])
            data["lineCount"] = .int(2)
            data["totalFen"] = .int((lines[0]["amountFen"]?.intValue ?? 0) + 11235)
            _ = try t.enqueue("roster.submit", entity: "roster/450223101/GD01/2026/2", baseVersion: 0, data: .object(data))
            return ((), TownshipNode.AuditNote(object: "roster forged"))
        }
        let report = try c.push("450223101")
        let problem = try #require(report.problems.first)
        #expect(report.rejected == 1 && problem.contains("第 1 行：[YKT-ROSTER-PERIOD]") && problem.contains("第 2 行：[YKT-ROSTER-OBJECTION]"))
        #expect(try c.county.db.integer("SELECT count(*) FROM roster") == 1)
    }

    @Test("dates are checked, not trusted: a notice before its applications, a future date, a backdated one without a reason are refused; with a reason it raises a warning only a reviewer clears, never an override")
    func dates() throws {
        let p = try Publicised(submit: false)
        let (t, c) = (p.t, p.c)
        // A notice dated before the newest application it lists was recorded.
        try tamper(t, kind: "notice.open") { $0["postedOn"] = .string("2026-01-02"); $0["lastDay"] = .string("2026-01-09") }
        var report = try c.push("450223101")
        #expect(report.rejected >= 1 && report.problems.contains { $0.contains("YKT-DATE-BACKDATED") || $0.contains("YKT-DATE-ORDER") })
        #expect(try c.county.db.integer("SELECT count(*) FROM notice WHERE stage = 'township'") == 0)

        // A fresh township history for the rest (the first one's notice was refused).
        let q = try Publicised(submit: false)
        // A close dated after the day it was recorded (a date still to come).
        try tamper(q.t, kind: "notice.close") { $0["closedOn"] = .string("2026-03-20") }
        report = try q.c.push("450223101")
        #expect(report.problems.contains { $0.contains("YKT-DATE-FUTURE") })

        // Backdated without a reason (the op says 03-09 was recorded on 03-20): refused.
        let r = try Publicised(submit: false)
        try r.t.db.run("UPDATE outbox SET at = '2026-03-20T10:00:00+08:00' WHERE kind = 'notice.close'")
        report = try r.c.push("450223101")
        #expect(report.problems.contains { $0.contains("YKT-DATE-BACKDATED") })

        // With a reason, through the township's own command: accepted, and a backdated warning.
        let s = try Publicised(submit: false, closeLate: true)
        let late = try #require(try s.t.notices().last)
        #expect(late.status == .closed)
        try s.t.submitAsLeader(try s.t.buildRoster(program: "GD01", period: try Period(parsing: "2026")).id)
        report = try s.c.push("450223101")
        #expect(report.rejected == 0)
        let warning = try #require(try s.c.county.warnings(rule: .backdated).first)
        #expect(warning.status == "open" && warning.evidence.contains("停电"))
        let county = s.c.county
        try county.actAs("reviewer", .reviewer("GD01"))
        try county.actAs("approver", .approver)
        try county.setBudget(program: "GD01", period: try Period(parsing: "2026"), amount: try Fen(yuan: "100000"))
        try county.actAs(TestOperators.administrator)
        try county.addBank(code: "ABC", name: "农行", serves: [], folder: s.c.dir.sub("bank-ABC"), agreement: .init(number: "LZCZ-DF-2025-01", start: try CivilDate(parsing: "2025-01-01"), end: try CivilDate(parsing: "2027-12-31"), fees: "免费"))
        try county.become("reviewer")
        try county.review(1, approve: true, reason: "")
        try county.become("approver")
        let blocked = #expect(throws: YKTError.self) { try county.approve([1], override: "急需发放") }
        #expect(blocked?.code == .warningBlocking && blocked?.message.contains("补录") == true)
        // Only a reviewer of the program may clear it.
        #expect((#expect(throws: YKTError.self) { try county.closeWarning(warning.id, confirmed: false, reason: "核实") })?.code == .roleMissing)
        try county.become("reviewer")
        try county.closeWarning(warning.id, confirmed: false, reason: "核实：3 月 16 日停电，纸质记录为 3 月 9 日结束")
        try county.become("approver")
        #expect(try county.approve([1]).lines == 2)
    }

    @Test("an account change without the account it replaced is refused by name: it could not be checked for a change on both sides")
    func accountChangeNeedsPrevious() throws {
        let p = try Publicised(submit: false)
        try p.t.changeAccount(try ResidentID(p.alice), to: AccountInput(
            bank: "农行", number: try AccountNumber(AccountNumber.completingLuhn("622848000000000077"), kind: .card), confirmation: "BG-1"))
        try tamper(p.t, kind: "account.change") { $0["previousNumber"] = nil; $0["previousBank"] = nil }
        let report = try p.c.push("450223101")
        #expect(report.rejected == 1 && report.problems.first?.contains("YKT-FIELD-MISSING") == true
                && report.problems.first?.contains("previousNumber") == true)
        #expect(try p.c.county.db.integer("SELECT count(*) FROM account_change") == 0)
        // A sync round leaves the township's connection committing with synchronous=FULL.
        #expect(p.t.db.synchronousLevel == 2)
    }

    @Test("ykt audit trace: a clean loop traces every line; an approval by the reviewer, a lost application or a payment not as approved is named")
    func trace() throws {
        let p = try Publicised()
        let c = p.c
        #expect(try c.push("450223101").accepted >= 1)
        let county = c.county
        try county.actAs("reviewer", .reviewer("GD01"))
        try county.actAs("approver", .approver)
        try county.setBudget(program: "GD01", period: try Period(parsing: "2026"), amount: try Fen(yuan: "100000"))
        try county.actAs(TestOperators.administrator)
        try county.addBank(code: "ABC", name: "农行", serves: [], folder: c.dir.sub("bank-ABC"), agreement: .init(number: "LZCZ-DF-2025-01", start: try CivilDate(parsing: "2025-01-01"), end: try CivilDate(parsing: "2027-12-31"), fees: "免费"))
        try county.become("reviewer")
        try county.review(1, approve: true, reason: "")
        try county.become("approver")
        _ = try county.approve([1])
        var report = try county.trace()
        #expect(report.traced == 2 && report.outstanding == 2 && report.broken.isEmpty)
        // Someone edits the county's database behind the program's back.
        try county.db.run("UPDATE roster SET approved_by = reviewed_by WHERE id = 1")
        try county.db.run("DELETE FROM application WHERE resident_id = ?", p.bob)
        // (Paying a line twice is impossible even so: a unique index allows one paid payment per line.)
        try county.db.run("UPDATE payment SET amount_fen = amount_fen + 100 WHERE line_no = 1")
        report = try county.trace()
        #expect(report.broken.count == 2)
        let all = report.broken.flatMap(\.problems).joined(separator: "；")
        #expect(all.contains("审核与审定是同一人") && all.contains("没有申请记录") && all.contains("金额与清册行不符"))
        #expect(!report.broken.contains { $0.resident == p.alice })   // masked
    }
}
