import Foundation
import Testing
import YKTCore
import YKTDemo
import YKTNode
import YKTTestSupport
@testable import YKTCounty
@testable import YKTTownship

/// The demo policy list with GD01's 发放载体 set (version 2).
func carrierPolicy(_ c: County, _ carrier: String) throws -> String {
    let path = c.dir.sub("data/carrier-\(carrier).csv")
    try CountyGenerator.programsCSV.replacingOccurrences(of: "财农〔2016〕26号,1,", with: "财农〔2016〕26号,2,\(carrier)")
        .write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Re-declares the kind of a resident's designated account (same bank and number) at the township.
func redeclare(_ t: TownshipNode, _ id: String, as kind: AccountKind) throws {
    let current = try #require(try t.beneficiary(try ResidentID(id)).account)
    try t.changeAccount(try ResidentID(id), to: AccountInput(bank: current.bank, number: try AccountNumber(current.number, kind: kind),
                                                              confirmation: "QR-社保卡"))
}

@Suite("发放载体 at the county (issue 20, item 3): the social security card required per program, transition warned, carriers counted")
struct CarrierTests {
    @Test("a line of a 社保卡 program on a bank card is refused line by line (YKT-ROSTER-CARRIER) even when the township skips its own check; accepted once the accounts are declared social security cards")
    func countyRefuses() throws {
        let p = try Publicised(submit: false)
        let (t, c) = (p.t, p.c)
        try c.county.publishPolicy(path: try carrierPolicy(c, "社保卡"))
        #expect(try c.county.programCarrier("GD01") == .socialSecurityCard)
        // The township has not pulled the new policy (an insider skipping the check): its GD01 takes any account.
        #expect(try t.program("GD01").rules.carrier == .any)
        try t.submitAsLeader(try t.buildRoster(program: "GD01", period: try Period(parsing: "2026")).id)
        let report = try c.push("450223101")
        #expect(report.rejected == 1)
        let problem = try #require(report.problems.first)
        #expect(problem.contains("第 1 行：[YKT-ROSTER-CARRIER]") && problem.contains("第 2 行：[YKT-ROSTER-CARRIER]"))
        #expect(problem.contains("银行卡") && problem.contains("社会保障卡金融账户") && problem.contains("ykt account change"))
        #expect(!problem.contains(p.alice) && !problem.contains(p.bob))   // masked
        #expect(try c.county.db.integer("SELECT count(*) FROM roster") == 0)
        // A forged line claiming a social security card does not help: the county checks the kind it holds.
        try t.submitAsLeader(try t.buildRoster(program: "GD01", period: try Period(parsing: "2026")).id)
        try tamperLines(t) { lines in lines = lines.map { $0.setting("accountKind", .string("social-security-card")) } }
        let forged = try c.push("450223101")
        #expect(forged.rejected == 1 && forged.problems.first?.contains("[YKT-ROSTER-CARRIER]") == true)
        // Declared as social security cards (the same numbers): the kind reaches the county, the roster passes.
        try redeclare(t, p.alice, as: .socialSecurityCard)
        try redeclare(t, p.bob, as: .socialSecurityCard)
        _ = try c.pull("450223101")
        #expect(try t.program("GD01").rules.carrier == .socialSecurityCard)
        try t.submitAsLeader(try t.buildRoster(program: "GD01", period: try Period(parsing: "2026")).id)
        let again = try c.push("450223101")
        #expect(again.rejected == 0 && again.accepted >= 3)
        #expect(try c.county.currentAccount(of: try ResidentID(p.alice))?.kind == "social-security-card")
        #expect(try c.county.db.all("SELECT account_kind FROM roster_line") { $0.text(0) } == ["social-security-card", "social-security-card"])
        #expect(try c.county.db.integer("SELECT count(*) FROM account_change WHERE account_kind = 'social-security-card'") == 2)
    }

    @Test("社保卡（过渡期）: the line is accepted, the carrier-transition warning names who is still on another account, and it does not block approval")
    func transitionWarned() throws {
        let p = try Publicised(submit: false)
        let (t, c) = (p.t, p.c)
        try c.county.publishPolicy(path: try carrierPolicy(c, "社保卡（过渡期）"))
        _ = try c.pull("450223101")
        try redeclare(t, p.bob, as: .socialSecurityCard)      // Bob has moved to the card, Alice not yet
        try t.submitAsLeader(try t.buildRoster(program: "GD01", period: try Period(parsing: "2026")).id)
        let report = try c.push("450223101")
        #expect(report.rejected == 0)
        let county = c.county
        try county.actAs("reviewer", .reviewer("GD01"))
        try county.actAs("approver", .approver)
        let run = try county.runWarnings()
        #expect(run.found["carrier-transition"] == 1 && run.total == 1)
        let warning = try #require(try county.warnings(rule: .carrierTransition).first)
        #expect(warning.residents == [p.alice] && warning.subject == "\(p.alice)/GD01/2026")
        #expect(warning.evidence.contains("过渡期") && warning.evidence.contains("银行卡"))
        #expect(!CountyNode.maskedEvidence(warning.evidence).contains(p.alice))
        #expect(!WarningRule.carrierTransition.blocksApproval && WarningRule.paidTwice.blocksApproval)
        // Approval goes ahead with the warning open.
        try county.setBudget(program: "GD01", period: try Period(parsing: "2026"), amount: try Fen(yuan: "100000"))
        try county.actAs(TestOperators.administrator)
        try county.addBank(code: "ABC", name: "农行", serves: [], folder: c.dir.sub("bank-ABC"), agreement: Loop.agreement)
        try county.become("reviewer")
        try county.review(1, approve: true, reason: "")
        try county.become("approver")
        #expect(try county.approve([1]).lines == 2)
        #expect(try county.warnings(rule: .carrierTransition).map(\.status) == ["open"])
    }

    @Test("a social security card is paid as such: the kind travels from the township to the county's payment and the bank's instruction file, and reads back")
    func paidOnTheCard() throws {
        let c = try County(["450223101"])
        let t = c.townships["450223101"]!
        let alice = ResidentID.completing("45022319500101123")
        try register(t, alice, "韦秀英", card: AccountNumber.completingLuhn("623018000000000001"))
        try redeclare(t, alice, as: .socialSecurityCard)
        try apply(t, alice, "TF01", quantity: "1")
        try t.submitAsLeader(try t.buildRoster(program: "TF01", period: try Period(parsing: "2026")).id)
        #expect(try c.push("450223101").rejected == 0)
        let county = c.county
        try county.actAs("reviewer", .reviewer("TF01"))
        try county.actAs("approver", .approver)
        try county.setBudget(program: "TF01", period: try Period(parsing: "2026"), amount: try Fen(yuan: "1000"))
        try county.actAs(TestOperators.administrator)
        try county.addBank(code: "ABC", name: "农行", serves: [], folder: c.dir.sub("bank-ABC"), agreement: Loop.agreement)
        try county.become("reviewer")
        try county.review(1, approve: true, reason: "")
        try county.become("approver")
        _ = try county.approve([1])
        try county.actAs("payer", .payments)
        try county.dispatch(on: try CivilDate(parsing: "2026-11-16"))
        #expect(try county.db.all("SELECT account_kind FROM payment") { $0.text(0) } == ["social-security-card"])
        let file = try #require(try county.batches().first?.file)
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: c.dir.sub("bank-ABC/outbox/") + file)))
        let instruction = try BankFile.readInstruction(bytes, file: file)
        #expect(instruction.lines.map(\.accountKind) == ["social-security-card"])
        #expect(try AccountKind(parsing: instruction.lines[0].accountKind) == .socialSecurityCard)
        #expect(try BankFile.readInstruction(BankFile.write(instruction), file: "again") == instruction)
    }

    @Test("ykt report carriers at the county: residents on rosters by township and village with the kind of their latest line; the register by township")
    func report() throws {
        let c = try County(["450223101", "450223102"])
        let t1 = c.townships["450223101"]!, t2 = c.townships["450223102"]!
        let ids = (1...5).map { ResidentID.completing("4502231950010112\($0)") }
        for (i, id) in ids.enumerated() {
            let t = i < 3 ? t1 : t2
            try register(t, id, ["韦秀英", "覃建国", "黄丽华", "蒙小军", "潘美玲"][i], card: AccountNumber.completingLuhn("62284800000000010\(i)"))
        }
        try redeclare(t1, ids[0], as: .socialSecurityCard)
        try redeclare(t2, ids[3], as: .socialSecurityCard)
        // A passbook for the third.
        try t1.changeAccount(try ResidentID(ids[2]), to: AccountInput(bank: "农村信用社", number: try AccountNumber("12345678901234567890", kind: .passbook),
                                                                       confirmation: "QR-折"))
        for (t, people) in [(t1, Array(ids[0..<3])), (t2, [ids[3]])] {
            for id in people { try apply(t, id, "TF01", quantity: "1") }   // secret: no notice
            try t.submitAsLeader(try t.buildRoster(program: "TF01", period: try Period(parsing: "2026")).id)
        }
        #expect(try c.push("450223101").rejected == 0)
        #expect(try c.push("450223102").rejected == 0)
        let r = try c.county.carrierReport(period: nil, program: nil)
        #expect(r.rosters.map { [$0.township, $0.village] } == [["450223101", "大塘村"], ["450223102", "大塘村"]])
        #expect(r.rosters.map { [$0.socialSecurityCard, $0.otherCard, $0.passbook, $0.total] } == [[1, 1, 1, 3], [1, 0, 0, 1]])
        #expect(r.rosters[0].townshipName == "乡镇101" && r.rosters[0].share == "33.3%")
        #expect(r.register.map { [$0.socialSecurityCard, $0.otherCard, $0.passbook, $0.total] } == [[1, 1, 1, 3], [1, 1, 0, 2]])
        #expect(CarrierReport.total(r.register).total == 5 && CarrierReport.total(r.rosters).socialSecurityCard == 2)
        // Limited to a period or program with no rosters: nothing on rosters, the register as it is.
        let none = try c.county.carrierReport(period: try Period(parsing: "2025"), program: "GD01")
        #expect(none.rosters.isEmpty && none.register.count == 2)
        #expect((#expect(throws: YKTError.self) { try c.county.carrierReport(period: nil, program: "XX99") })?.code == .programUnknown)
        // The CSV: both sections with their totals.
        let csv = r.csv
        #expect(csv.hasPrefix("\u{FEFF}范围,乡镇,村（社区）,社保卡（人）"))
        #expect(csv.contains("清册,乡镇101,大塘村,1,1,1,3,33.3%") && csv.contains("清册,合计,,2,1,1,4,50.0%"))
        #expect(csv.contains("底册,乡镇102,,1,1,0,2,50.0%") && csv.contains("底册,合计,,2,2,1,5,40.0%"))
    }
}
