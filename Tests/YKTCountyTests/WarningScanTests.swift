import Foundation
import Testing
import YKTCore
@testable import YKTCounty

/// The full warning run's resident pass is read from both ends at once, each end claiming a
/// resident before reading it (`WarningScan.Meeting`). Wherever the ends meet, together they
/// must find exactly what one end finds alone: no resident read twice, none skipped.
@Suite("The resident pass from both ends")
struct WarningScanTests {
    typealias T = IncrementalWarningTests

    /// A county whose register and rosters hold every case the resident pass reports:
    /// residents only in the register, only on rosters, in both; invalid IDs in the register and
    /// only on a roster; several accounts in one period; paid twice; a line account the register
    /// names for someone else; lines of a rejected roster.
    static func seeded() throws -> County {
        let c = try County([T.node])
        try T.register(c, 0..<30)
        try T.roster(c, "GD01", "2026", (0..<20).map { ($0, T.account($0), 22_470) } + (40..<45).map { ($0, T.account($0), 22_470) },
                     quantity: "2")
        try T.roster(c, "GD01", "2026", [(3, T.account(3), 22_470)], quantity: "2")                // paid twice
        try T.roster(c, "YL01", "2026-01", [(4, T.account(904), 16_300), (5, T.account(6), 16_300), (41, T.account(9), 16_300)])
        try T.roster(c, "YL01", "2026-01", [(4, T.account(4), 16_300)])                           // several accounts
        let rejected = try T.roster(c, "GL01", "2026-01", [(7, T.account(8), 10_000), (50, T.account(50), 10_000)])
        try c.county.db.run("UPDATE roster SET status = 'rejected' WHERE id = ?", rejected)
        let db = c.county.db
        let bad = { (i: Int) in String(T.resident(i).dropLast()) + (T.resident(i).hasSuffix("1") ? "2" : "1") }
        try db.run("INSERT INTO resident(resident_id, node_id, name, bank, account_kind, account_number) VALUES (?, ?, '韦秀英', '农行', 'card', '')",
                   bad(60), T.node)
        try db.run("INSERT INTO roster_line VALUES (1, 900, ?, '韦秀英', '大塘村', '广西农村信用社', 'card', ?, '2', 22470, '')", bad(61), T.account(61))
        return c
    }

    /// What an end found, comparable: each finding as rule, subject and evidence, and each
    /// account on lines the register does not name for its resident, sorted.
    static func found(_ outputs: [WarningScan.PassOutput]) -> [String] {
        outputs.flatMap { out in
            out.findings.map { "\($0.rule.rawValue) | \($0.subject) | \($0.evidence.canonical)" }
                + out.onLines.map { "on lines | \($0.account) | \($0.resident)" }
        }.sorted()
    }

    @Test("wherever the two ends meet, they find together what one end finds alone, each case once")
    func endsMeetAnywhere() throws {
        let c = try Self.seeded()
        let scan = try WarningScan(db: c.county.db, today: CivilDate(year: 2026, month: 12, day: 4)!)
        let alone = Self.found([try scan.residentPass(ascending: true, WarningScan.Meeting())])
        #expect(Self.found([try scan.residentPass(ascending: false, WarningScan.Meeting())]) == alone)
        for rule in [WarningRule.severalAccounts, .paidTwice, .invalidID] {
            #expect(alone.contains { $0.hasPrefix(rule.rawValue + " |") }, "the seeded county plants \(rule)")
        }
        #expect(alone.contains { $0.contains("\"register\"") } && alone.contains { $0.contains("\"roster\"") },
                "invalid IDs both in the register and only on a roster")
        #expect(alone.contains { $0.hasPrefix("on lines | \(T.account(6)) | \(T.resident(5))") })
        #expect(!alone.contains { $0.contains(T.resident(50)) }, "a rejected roster's lines count for nothing")
        // The lines of a finding by number (the pass reads them again for the few residents
        // whose lines could hold one).
        #expect(alone.contains { $0.hasPrefix("paid-twice | \(T.resident(3))/GD01/2026") && $0.contains("清册1第4行；450223101 清册2第1行") })
        #expect(alone.contains { $0.hasPrefix("one-person-several-accounts | \(T.resident(4))/2026-01") && $0.contains("\"rosterLines\":\"3:1,4:1\"") })
        // 30 registered and one invalid; 5 only on rosters, one invalid only on a roster, one only
        // on a rejected roster (read, with nothing live): 38 residents, all born the same day.
        // Claimed a resident at a time (18 bytes), ten at a time (16: the IDs' sequence numbers
        // by tens) and all at once (14, region and birth date, as a county's run claims).
        for (prefix, claims) in [(18, 38), (16, 7), (14, 1)] {
            for first in [true, false] {
                for k in 0...claims + 1 {
                    let meeting = WarningScan.Meeting()
                    let one = try scan.residentPass(ascending: first, meeting, prefix: prefix, limit: k)
                    let other = try scan.residentPass(ascending: !first, meeting, prefix: prefix)
                    #expect(Self.found([one, other]) == alone, "prefix \(prefix): \(first ? "up" : "down") for \(k) claims, then the other end")
                }
            }
        }
    }

    @Test("the shared-account rule joins the register and the lines: named twice in the register, or on a line for someone else")
    func sharedAccounts() throws {
        let c = try Self.seeded()
        // Two registered residents with one account.
        try c.county.db.run("UPDATE resident SET account_number = ? WHERE resident_id = ?", T.account(20), T.resident(21))
        let run = try c.county.runWarnings(full: true)
        #expect(run.mode == "full")
        let shared = try c.county.db.all("SELECT subject, evidence FROM warning WHERE rule = 'one-account-several-people' ORDER BY subject") {
            $0.text(0) + " " + $0.text(1)
        }
        // account 6: resident 6 in the register, resident 5 on YL01; account 9: resident 9 in the
        // register, resident 41 on YL01; account 20: residents 20 and 21 in the register. Account
        // 8 is on a rejected roster's line only.
        #expect(shared.map { String($0.prefix(19)) } == [T.account(6), T.account(9), T.account(20)].sorted())
        #expect(shared.contains { $0.hasPrefix(T.account(20)) && $0.contains(T.resident(20)) && $0.contains(T.resident(21)) })
        #expect(shared.contains { $0.hasPrefix(T.account(9)) && $0.contains(T.resident(9)) && $0.contains(T.resident(41)) })
    }

    @Test("rosters of one program chain through overlapping periods: a year holds its months though they do not meet each other")
    func chains() {
        // Roster ids 0…5: GD01 2026 (months 1–12 as 2026 × 12), its January and June, GD01
        // 2027-01, YL01 2026-01, and an unknown id.
        let m = { (year: Int32, month: Int32) in year * 12 + month - 1 }
        let spans: [(program: Int32, first: Int32, last: Int32)] = [
            (0, m(2026, 1), m(2026, 12)), (0, m(2026, 1), m(2026, 1)), (0, m(2026, 6), m(2026, 6)),
            (0, m(2027, 1), m(2027, 1)), (1, m(2026, 1), m(2026, 1)), (-1, 0, -1),
        ]
        let (chain, count) = WarningScan.chains(spans)
        #expect(count == 4)
        #expect(chain[0] == chain[1] && chain[1] == chain[2], "June meets the year, not January: one chain still")
        #expect(Set([chain[0], chain[3], chain[4], chain[5]]).count == 4)
    }
}
