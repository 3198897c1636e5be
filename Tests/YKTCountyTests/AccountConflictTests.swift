import Foundation
import Testing
import YKTCore
import YKTTestSupport
@testable import YKTCounty
@testable import YKTTownship

/// The designated account changed at the county (a replaced card the bank reported) and at the
/// township: flowing down when only one side changed it, a conflict when both did.
@Suite("Designated account changed on both sides")
struct AccountConflictTests {
    let alice = try! ResidentID(ResidentID.completing("45022319500101123"))
    let card1 = AccountNumber.completingLuhn("622848000000000001")
    let card2 = AccountNumber.completingLuhn("622848000000000002")
    let card3 = AccountNumber.completingLuhn("622848000000000003")

    /// Alice registered and synced with card 1; the county's operator may change accounts.
    func synced() throws -> (County, TownshipNode) {
        let (c, t) = try County.registered(alice.value)
        #expect(try c.push("450223101").accepted == 1)
        try c.county.actAs("approver", .approver)
        return (c, t)
    }

    func countyChanges(_ c: County, to number: String) throws {
        if try c.county.operators.exists("approver") { try c.county.become("approver") }
        try c.county.changeAccount(alice, bank: "农行", number: try AccountNumber(number, kind: .card), confirmation: "BANK-7",
                                   reason: "代发银行报告挂失补卡")
    }

    func townshipChanges(_ t: TownshipNode, to number: String) throws {
        try t.changeAccount(alice, to: AccountInput(bank: "农行", number: try AccountNumber(number, kind: .card), confirmation: "QR-9"))
    }

    func current(_ t: TownshipNode) throws -> String? { try t.beneficiary(alice).account?.number }

    /// Synced, then the county changes Alice's account to `county` and the township to
    /// `township` before either hears of the other; then the township pushes.
    func bothChange(county: String, township: String) throws -> (County, TownshipNode, TownshipNode.PushReport) {
        let (c, t) = try synced()
        try countyChanges(c, to: county)
        try townshipChanges(t, to: township)
        return (c, t, try c.push("450223101"))
    }

    @Test("changed only at the county: the township takes it on its next pull, with history and no operation back")
    func countyOnly() throws {
        let (c, t) = try synced()
        try countyChanges(c, to: card2)
        #expect(try c.county.currentAccount(of: alice)?.number == card2)
        let pending = try t.outbox().count
        #expect(try c.pull("450223101") == 1)
        #expect(try current(t) == card2)
        #expect(try t.accountHistory(alice).map(\.number) == [card1, card2])
        #expect(try t.outbox().count == pending)
        // The township's next change starts from the county's account: accepted.
        try townshipChanges(t, to: card3)
        let report = try c.push("450223101")
        #expect(report.accepted == 1 && report.conflicted == 0)
        #expect(try c.county.currentAccount(of: alice)?.number == card3)
        #expect(try c.county.accountHistory(alice).map(\.source) == ["county", "township"])
    }

    @Test("changed on both sides: a conflict with both sides' data; the county's account wins when the admin says so")
    func bothSidesCountyWins() throws {
        let (c, t, report) = try bothChange(county: card2, township: card3)
        #expect(report.conflicted == 1 && report.accepted == 0)
        #expect(report.problems.joined().contains("account.both-sides"))
        #expect(try c.county.currentAccount(of: alice)?.number == card2)
        let conflict = try #require(try c.county.conflicts().first { $0.kind == "account.both-sides" })
        #expect(!conflict.detail.contains(card2) && !conflict.detail.contains(card3))   // masked in the log
        let sides = try c.county.conflictSides(conflict.id).sides
        #expect(sides.count == 2)
        #expect(sides[0].node == "450223" && sides[0].changeSet == 0 && sides[0].body.contains(card2))
        #expect(sides.contains { $0.body.contains("\"op\":\"account.change\"") && $0.body.contains(card3) })

        // The county's own change came down meanwhile: the township keeps its account until decided.
        #expect(try c.pull("450223101") == 1)
        #expect(try current(t) == card3)

        let wrong = #expect(throws: YKTError.self) { try c.county.acting(TestOperators.administrator).resolveConflict(conflict.id, decision: "keep", reason: "核实") }
        #expect(wrong?.code == .conflictDecision && wrong?.location?.field == "--decision" && wrong?.message.contains("township") == true)
        try c.county.acting(TestOperators.administrator).resolveConflict(conflict.id, decision: "county", reason: "银行已换发新卡，以县里登记为准")
        #expect(try c.pull("450223101") == 1)
        #expect(try current(t) == card2)
        #expect(try t.accountHistory(alice).map(\.number) == [card1, card3, card2])
        #expect(try c.county.currentAccount(of: alice)?.number == card2)
    }

    @Test("changed on both sides: the township's account wins when the admin says so, at both ends")
    func bothSidesTownshipWins() throws {
        let (c, t, report) = try bothChange(county: card2, township: card3)
        #expect(report.conflicted == 1)
        let conflict = try #require(try c.county.conflicts().first)
        try c.county.acting(TestOperators.administrator).resolveConflict(conflict.id, decision: "township", reason: "本人到乡镇确认使用新卡")
        #expect(try c.county.currentAccount(of: alice)?.number == card3)
        #expect(try c.county.accountHistory(alice).map(\.number) == [card2, card3])
        _ = try c.pull("450223101")
        #expect(try current(t) == card3)
        #expect(try t.accountHistory(alice).map(\.number) == [card1, card3])
    }

    @Test("a later change at the township supersedes its earlier conflict, whatever order the admin decides in")
    func superseded() throws {
        let card4 = AccountNumber.completingLuhn("622848000000000004")
        for order in [["county", "township"], ["township", "county"]] {
            let (c, t, _) = try bothChange(county: card2, township: card3)
            try townshipChanges(t, to: card4)
            _ = try c.push("450223101")
            let conflicts = try c.county.conflicts()
            #expect(conflicts.count == 2)
            // The newer conflict first with the first decision, then the older with the second.
            try c.county.acting(TestOperators.administrator).resolveConflict(conflicts[1].id, decision: order[0], reason: "核实")
            try c.county.acting(TestOperators.administrator).resolveConflict(conflicts[0].id, decision: order[1], reason: "核实")
            _ = try c.pull("450223101")
            let expected = order[0] == "county" ? card2 : card4
            #expect(try c.county.currentAccount(of: alice)?.number == expected, "order \(order)")
            #expect(try current(t) == expected, "order \(order)")
        }
    }

    @Test("the county changed only the bank (same number) while the township changed the number: still a conflict")
    func bankOnly() throws {
        let (c, t) = try synced()
        try c.county.acting("approver").changeAccount(alice, bank: "广西农村信用社", number: try AccountNumber(card1, kind: .card), confirmation: "BANK-8",
                                   reason: "开户行合并")
        try townshipChanges(t, to: card3)
        #expect(try c.push("450223101").conflicted == 1)
        #expect(try c.county.currentAccount(of: alice)?.bank == "广西农村信用社")
        // The county's message came with the same number but another bank: the township, which
        // changed the account itself, keeps its own until the decision.
        _ = try c.pull("450223101")
        #expect(try current(t) == card3)
        let conflict = try #require(try c.county.conflicts().first)
        try c.county.acting(TestOperators.administrator).resolveConflict(conflict.id, decision: "county", reason: "以县里为准")
        _ = try c.pull("450223101")
        #expect(try t.beneficiary(alice).account?.bank == "广西农村信用社" && current(t) == card1)
    }

    @Test("both sides chose the same new account: no conflict")
    func sameOnBothSides() throws {
        let (c, t, report) = try bothChange(county: card2, township: card2)
        #expect(report.accepted == 1 && report.conflicted == 0)
        _ = try c.pull("450223101")
        #expect(try current(t) == card2)
        #expect(try t.accountHistory(alice).map(\.number) == [card1, card2])
    }

    @Test("a county change needs an approver, a reason, a known resident and a different account")
    func countyRefusals() throws {
        let (c, _) = try County.registered(alice.value)
        _ = try c.push("450223101")
        let noRole = #expect(throws: YKTError.self) { try countyChanges(c, to: card2) }
        #expect(noRole?.code == .roleMissing)
        try c.county.actAs("approver", .approver)
        let noReason = #expect(throws: YKTError.self) {
            try c.county.changeAccount(alice, bank: "农行", number: try AccountNumber(card2, kind: .card), confirmation: "B", reason: " ")
        }
        #expect(noReason?.code == .fieldMissing && noReason?.location?.field == "--reason")
        let same = #expect(throws: YKTError.self) { try countyChanges(c, to: card1) }
        #expect(same?.code == .accountUnchanged)
        let bob = try ResidentID(ResidentID.completing("45022319620315456"))
        let unknown = #expect(throws: YKTError.self) {
            try c.county.changeAccount(bob, bank: "农行", number: try AccountNumber(card2, kind: .card), confirmation: "B", reason: "r")
        }
        #expect(unknown?.code == .residentUnknown)
        // Another resident's designated account is refused (one card per person).
        let (c2, t2) = try synced()
        try register(t2, bob.value, "覃建国", card: card3)
        _ = try c2.push("450223101")
        let shared = #expect(throws: YKTError.self) { try countyChanges(c2, to: card3) }
        #expect(shared?.code == .accountShared && shared?.location?.field == "--account")
        #expect(try c.county.accountHistory(alice).isEmpty && c2.county.accountHistory(alice).isEmpty)
    }
}
