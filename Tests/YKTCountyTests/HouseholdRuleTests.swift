import Foundation
import Testing
import YKTCore
import YKTDemo
import YKTTestSupport
import YKTStore
@testable import YKTCounty
@testable import YKTTownship

/// 一人（户）一卡 at the county: households and heads reach it, per-household programs (the
/// demo list's GY01 生态公益林补偿, 按户) are applied for by the head it holds and paid once per
/// household and period; a dishonest township plays each case the township itself refuses.
@Suite("Households at the county: heads re-checked, one application and one line per household, 一户多卡 and 一户重复发放 warnings")
struct HouseholdRuleTests {
    let alice = ResidentID.completing("45022319500101123")
    let bob = ResidentID.completing("45022319620315456")
    let carol = ResidentID.completing("45022319800707078")

    /// Alice heads 001 with Bob in it; Carol heads 003 (all of 450223101), pushed.
    func households() throws -> County {
        let c = try County(["450223101"])
        let t = c.townships["450223101"]!
        for (i, (id, name, household, head)) in [(alice, "韦秀英", "001", true), (bob, "覃建国", "001", false),
                                                 (carol, "黄丽华", "003", true)].enumerated() {
            try t.register(BeneficiaryInput(residentID: try ResidentID(id), name: name, village: "大塘村", household: household,
                                            account: AccountInput(bank: "农行", number: try AccountNumber(
                                                AccountNumber.completingLuhn("62284800000000000\(i + 1)"), kind: .card), confirmation: "QR"),
                                            head: head))
        }
        #expect(try c.push("450223101").accepted == 3)
        return c
    }

    func resident(_ c: County, _ id: String) throws -> (household: String, head: Bool)? {
        try c.county.db.first("SELECT household, head FROM resident WHERE resident_id = ?", id) { ($0.text(0), $0.bool(1)) }
    }

    /// Posts and closes a notice for the GY01 2026 applications recorded, builds and submits the roster.
    func publicise(_ t: TownshipNode, village: (posted: String, closed: String), posted: String, closed: String) throws {
        try t.passVillageNotices(program: "GY01", posted: village.posted, closed: village.closed)
        t.at(posted)
        let n = try t.openNotice(program: "GY01", period: try Period(parsing: "2026"), postedOn: try CivilDate(parsing: posted),
                                 place: "村务公开栏", phone: "0772-6812345")
        t.at(closed)
        try t.closeNotice(n.id, on: try CivilDate(parsing: closed))
        try t.submitAsLeader(try t.buildRoster(program: "GY01", period: try Period(parsing: "2026")).id)
    }

    @Test("households and heads reach the county (fast path and edits); a second head sent by a township is refused (YKT-HOUSEHOLD-HEADS)")
    func heads() throws {
        let c = try households()
        let t = c.townships["450223101"]!
        #expect(try resident(c, alice)! == ("001", true))
        #expect(try resident(c, bob)! == ("001", false))
        // Bob takes over (Alice's step-down is sent first), then moves nowhere: the county follows.
        try t.edit(try ResidentID(bob), BeneficiaryEdit(head: true))
        #expect(try c.push("450223101").rejected == 0)
        #expect(try resident(c, alice)! == ("001", false) && resident(c, bob)! == ("001", true))
        // Insider: Carol's township makes her head of 001 too (the township itself refuses it).
        try t.perform("test.forge") {
            _ = try t.enqueue("beneficiary.update", entity: "beneficiary/\(carol)", baseVersion: 1,
                              data: ["residentId": .string(carol), "household": .string("001"), "head": .bool(true)])
            return ((), TownshipNode.AuditNote(object: "forged"))
        }
        let report = try c.push("450223101")
        #expect(report.rejected == 1 && report.problems.first?.contains("YKT-HOUSEHOLD-HEADS") == true)
        #expect(try resident(c, carol)! == ("003", true))
        // And a registration naming a second head.
        let dave = ResidentID.completing("45022319700505055")
        try t.register(BeneficiaryInput(residentID: try ResidentID(dave), name: "蒙小军", village: "大塘村", household: "003",
                                        account: AccountInput(bank: "农行", number: try AccountNumber(AccountNumber.completingLuhn("622848000000000004"),
                                                                                                    kind: .card), confirmation: "QR")))
        try tamper(t, kind: "beneficiary.register") { $0["head"] = .bool(true) }
        let second = try c.push("450223101")
        #expect(second.rejected == 1 && second.problems.first?.contains("YKT-HOUSEHOLD-HEADS") == true)
        #expect(try resident(c, dave) == nil)
    }

    @Test("insider: in a bulk change set, a head of a household the county has a head for, and a second head of a household of the same set, are refused, the rest taken")
    func secondHeadsInBulk() throws {
        let c = try households()   // Alice heads 001 (Bob in it), Carol heads 003
        let t = c.townships["450223101"]!
        // Thirty people of ten new households 100–109, the first of each its head.
        let people = (0..<30).map { ResidentID.completing(String(format: "450223198001%02d%03d", 1 + $0 / 10, $0)) }
        for (i, id) in people.enumerated() {
            try t.register(BeneficiaryInput(residentID: try ResidentID(id), name: "黄丽华", village: "大塘村", household: String(format: "1%02d", i / 3),
                                            account: AccountInput(bank: "农行", number: try AccountNumber(
                                                AccountNumber.completingLuhn(String(format: "62284803%010d", i)), kind: .card), confirmation: "QR"),
                                            head: i % 3 == 0))
        }
        // Forged in the outbox, in the canonical form of the bulk path: person 4 (a member of
        // 101) sent as head of 003, which Carol heads; person 7 as a second head of 102, which
        // person 6 heads in the same change set.
        for (i, household) in [(4, "003"), (7, "102")] {
            let entity = "beneficiary/\(people[i])"
            let text = try #require(try t.db.first("SELECT data FROM outbox WHERE entity = ? AND kind = 'beneficiary.register'", entity) { $0.text(0) })
            guard case .object(var data) = try JSONValue.parse(Array(text.utf8)) else { Issue.record("no data"); return }
            data["head"] = .bool(true)
            data["household"] = .string(household)
            try t.db.run("UPDATE outbox SET data = ? WHERE entity = ? AND kind = 'beneficiary.register'", JSONValue.object(data).canonical, entity)
        }
        let report = try c.push("450223101")
        #expect(report.accepted == 28 && report.rejected == 2)
        #expect(report.problems.count == 2 && report.problems.allSatisfy { $0.contains("YKT-HOUSEHOLD-HEADS") })
        #expect(try resident(c, people[4]) == nil && resident(c, people[7]) == nil)
        #expect(try resident(c, carol)! == ("003", true) && resident(c, people[6])! == ("102", true))
        let doubled = "SELECT count(*) FROM (SELECT 1 FROM resident WHERE head = 1 AND removed_at IS NULL AND household <> '' GROUP BY node_id, household HAVING count(*) > 1)"
        #expect(try c.county.db.integer(doubled) == 0)
        #expect(try c.county.db.integer("SELECT count(*) FROM resident WHERE head = 1") == 2 + 10)
    }

    @Test("a resident registered by two townships, kept by the later one, takes that township's household and head flag; kept as head of a household that township has since given another head, refused, saying so, the conflict left open")
    func keptHousehold() throws {
        let dave = ResidentID.completing("45022319700505055")
        for later in [false, true] {
            let c = try County(["450223101", "450223102"])
            func register(_ code: String, _ id: String, household: String, head: Bool, card: Int) throws {
                try c.townships[code]!.register(BeneficiaryInput(residentID: try ResidentID(id), name: "韦秀英", village: "大塘村", household: household,
                                                                  account: AccountInput(bank: "农行", number: try AccountNumber(
                                                                      AccountNumber.completingLuhn(String(format: "62284804%010d", card)), kind: .card),
                                                                                        confirmation: "QR"), head: head))
            }
            try register("450223101", alice, household: "005", head: true, card: 1)          // Alice heads 005 in the first township
            if later {
                try register("450223102", alice, household: "005", head: true, card: 3)      // the second registers her as head of its 005
            } else {
                try register("450223102", dave, household: "005", head: true, card: 2)       // Dave heads the second's 005
                try register("450223102", alice, household: "006", head: false, card: 3)     // and Alice is in its 006
            }
            #expect(try c.push("450223101").accepted == 1)
            _ = try c.push("450223102")
            let conflict = try #require(try c.county.conflicts().filter { $0.kind == "resident.two-townships" && $0.status == "open" }.min { $0.id < $1.id })
            if later {
                // Then Dave joins 005 there and takes over as its head (Alice stepping down is a
                // conflict of its own at the county, where she is the first township's).
                try register("450223102", dave, household: "005", head: false, card: 2)
                try c.townships["450223102"]!.edit(try ResidentID(dave), BeneficiaryEdit(head: true))
                _ = try c.push("450223102")
                #expect(try c.county.db.integer("SELECT head FROM resident WHERE resident_id = ?", dave) == 1)
            }
            let alices = { try c.county.db.first("SELECT node_id, household, head FROM resident WHERE resident_id = ?", alice) { [$0.text(0), $0.text(1), $0.text(2)] } }
            let keep = { try c.county.acting(TestOperators.administrator).resolveConflict(conflict.id, decision: "keep-450223102", reason: "核实") }
            if later {
                let refused = #expect(throws: YKTError.self) { try keep() }
                #expect(refused?.code == .householdHeads && refused?.message.contains("户号 005") == true)
                #expect(try c.county.conflicts().first { $0.id == conflict.id }?.status == "open")
                #expect(try alices() == ["450223101", "005", "1"])
            } else {
                try keep()
                #expect(try alices() == ["450223102", "006", "0"])   // not a second head of the second township's 005
            }
        }
    }

    @Test("insider: an application for a per-household program by a member, or a second one for the household, is refused at the county")
    func applications() throws {
        let c = try households()
        let t = c.townships["450223101"]!
        try apply(t, alice, "GY01", quantity: "3.5")
        #expect(try c.push("450223101").accepted == 1)
        // Forged: Bob (a member) applies; then, made head, applies again for the household.
        func forge(_ who: String) throws {
            try t.perform("test.forge") {
                let text = try #require(try t.db.first("SELECT data FROM outbox WHERE kind = 'application.record' ORDER BY seq LIMIT 1") { $0.text(0) })
                let data = try JSONValue.parse(Array(text.utf8)).setting("residentId", .string(who))
                _ = try t.enqueue("application.record", entity: "application/\(who)/GY01/2026", baseVersion: 0, data: data)
                return ((), TownshipNode.AuditNote(object: "forged"))
            }
        }
        try forge(bob)
        let member = try c.push("450223101")
        #expect(member.rejected == 1 && member.problems.first?.contains("YKT-HOUSEHOLD-HEAD") == true)
        try t.edit(try ResidentID(bob), BeneficiaryEdit(head: true))
        try forge(bob)
        let twice = try c.push("450223101")
        #expect(twice.rejected == 1 && twice.problems.first?.contains("YKT-HOUSEHOLD-DUPLICATE") == true)
        #expect(try c.county.db.integer("SELECT count(*) FROM application WHERE program = 'GY01'") == 1)
    }

    @Test("roster lines: the head only (YKT-ROSTER-HEAD), one line per household and period, also across a 户号 change (YKT-ROSTER-HOUSEHOLD)")
    func rosterLines() throws {
        let c = try households()
        let t = c.townships["450223101"]!
        try apply(t, alice, "GY01", quantity: "3.5")
        try publicise(t, village: ("2026-02-02", "2026-02-09"), posted: "2026-03-02", closed: "2026-03-09")
        // Insider: a line for Bob, a member, beside Alice's.
        try tamperLines(t) { lines in
            lines.append(lines[0].setting("line", .int(2)).setting("residentId", .string(bob))
                .setting("accountNumber", .string(AccountNumber.completingLuhn("622848000000000002"))))
        }
        let refused = try c.push("450223101")
        let problem = try #require(refused.problems.first)
        #expect(refused.rejected == 1 && problem.contains("第 2 行：") && problem.contains("[YKT-ROSTER-HEAD]"))
        #expect(!problem.contains("第 1 行："))
        // Honest again: accepted, the line's household kept.
        try t.submitAsLeader(try t.buildRoster(program: "GY01", period: try Period(parsing: "2026")).id)
        #expect(try c.push("450223101").rejected == 0)
        #expect(try c.county.db.first("SELECT node_id, household FROM household_line") { $0.text(0) + "/" + $0.text(1) } == "450223101/001")
        // Bob takes over 001, Alice moves to 002 and heads it: the township sees no application
        // of 001's members now, and the county accepts Bob's application; but 001 was paid for
        // 2026 on Alice's line, so his line is refused.
        try t.edit(try ResidentID(bob), BeneficiaryEdit(head: true))
        try t.edit(try ResidentID(alice), BeneficiaryEdit(household: "002", head: true))
        try apply(t, bob, "GY01", quantity: "3.5")
        #expect(try c.push("450223101").rejected == 0)
        try publicise(t, village: ("2026-03-09", "2026-03-16"), posted: "2026-03-17", closed: "2026-03-24")
        let again = try c.push("450223101")
        let twice = try #require(again.problems.first)
        #expect(again.rejected == 1 && twice.contains("[YKT-ROSTER-HOUSEHOLD]") && twice.contains("户号 001"))
        #expect(!twice.contains(alice))   // masked
    }

    /// A live roster of `program` × `period` at the county with lines (resident, account, household).
    func roster(_ c: County, program: String, period: String, lines: [(String, String, String)]) throws {
        let db = c.county.db
        try db.run("INSERT INTO roster(node_id, entity, program, period, line_count, total_fen, received_at) VALUES ('450223101', ?, ?, ?, ?, 0, 'now')",
                   "roster/\(program)/\(period)/\(UUID().uuidString)", program, period, lines.count)
        let id = db.lastInsertRowID
        for (i, (rid, account, household)) in lines.enumerated() {
            try db.run("""
                INSERT INTO roster_line(roster_id, line_no, resident_id, name, village, bank, account_kind, account_number, quantity, amount_fen)
                VALUES (?, ?, ?, '某某', '大塘村', '农行', 'card', ?, '3.5', 5513)
                """, id, i + 1, rid, account)
            try db.run("INSERT INTO household_line(roster_id, line_no, node_id, household) VALUES (?, ?, '450223101', ?)", id, i + 1, household)
        }
    }

    @Test("warnings: 一户多卡 per household and year, 一户重复发放 for colliding periods by the household written on the line or held now")
    func warnings() throws {
        let c = try households()
        let card1 = AccountNumber.completingLuhn("622848000000000001"), card2 = AccountNumber.completingLuhn("622848000000000002")
        // 001 paid for GY01 2026 on Alice's card; then (after a change of head) on Bob's: both rules.
        try roster(c, program: "GY01", period: "2026", lines: [(alice, card1, "001")])
        try roster(c, program: "GY01", period: "2026", lines: [(bob, card2, "001")])
        // Carol (003) paid for 2026 and 2027 on one card: nothing.
        let card3 = AccountNumber.completingLuhn("622848000000000003")
        try roster(c, program: "GY01", period: "2026", lines: [(carol, card3, "003")])
        try roster(c, program: "GY01", period: "2027", lines: [(carol, card3, "003")])
        // A line written for household 009 by someone who is now in 003 (a 户号 changed between rosters).
        let dave = ResidentID.completing("45022319700505055")
        try c.county.db.run("INSERT INTO resident(resident_id, node_id, name, household) VALUES (?, '450223101', '蒙小军', '003')", dave)
        try roster(c, program: "GY01", period: "2027", lines: [(dave, card3, "009")])
        // A rejected roster counts for nothing.
        try roster(c, program: "GY01", period: "2028", lines: [(alice, card1, "001"), (bob, card2, "001")])
        try c.county.db.run("UPDATE roster SET status = 'rejected' WHERE id = (SELECT max(id) FROM roster)")

        let run = try c.county.runWarnings()
        #expect(run.found["one-household-several-accounts"] == 1)
        #expect(run.found["household-paid-twice"] == 2)
        let cards = try c.county.warnings(rule: .householdSeveralAccounts)
        #expect(cards.map(\.subject) == ["450223101/001/2026"])
        #expect(cards.first?.evidence.contains(card1) == true && cards.first?.evidence.contains(card2) == true)
        #expect(Set(cards.first?.residents ?? []) == [alice, bob])
        let twice = try c.county.warnings(rule: .householdPaidTwice)
        #expect(Set(twice.map(\.subject)) == ["450223101/001/GY01/2026", "450223101/003/GY01/2027"])
        let masked = CountyNode.maskedEvidence(twice.first { $0.subject.contains("/003/") }!.evidence)
        #expect(!masked.contains(carol) && !masked.contains(dave) && masked.contains("清册"))
        #expect(WarningRule.householdSeveralAccounts.chinese == "一户多卡")
    }
}
