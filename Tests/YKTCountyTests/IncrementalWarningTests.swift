import Foundation
import Testing
import YKTCore
import YKTTestSupport
@testable import YKTCounty

/// Warnings that cost what is new (issue 21): a run checks what changed since the last one,
/// and what it leaves in the warning table is what a full run over the whole history leaves.
/// Each incremental run below is compared with `runWarnings(full: true)` on a copy of the
/// county taken at the same moment.
@Suite("Incremental warning runs equal full ones")
struct IncrementalWarningTests {
    static let node = "450223101"

    /// Resident `i` (born 1960-01-01, sequence `i`) and their designated account.
    static func resident(_ i: Int) -> String { ResidentID.completing("45022319600101" + String(format: "%03d", i)) }
    static func account(_ i: Int) -> String { AccountNumber.completingLuhn("623018000000" + String(format: "%06d", i)) }

    /// An approved roster at the county with one line per (resident, account, amount).
    @discardableResult
    static func roster(_ c: County, _ program: String, _ period: String, _ lines: [(Int, String, Int64)], quantity: String = "1") throws -> Int64 {
        let db = c.county.db
        try db.run("""
            INSERT INTO roster(node_id, entity, program, period, line_count, total_fen, received_at, status)
            VALUES (?, ?, ?, ?, ?, ?, 'seeded', 'approved')
            """, node, "roster/\(program)/\(period)/\(UUID().uuidString)", program, period, lines.count, lines.reduce(0) { $0 + $1.2 })
        let id = db.lastInsertRowID
        let insert = try db.statement("INSERT INTO roster_line VALUES (?, ?, ?, '韦秀英', '大塘村', '广西农村信用社', 'card', ?, ?, ?, '')")
        for (n, line) in lines.enumerated() {
            try insert.run([id, Int64(n + 1), resident(line.0), line.1, quantity, line.2])
        }
        return id
    }

    /// Writes the household each line of roster `id` paid (per-household programs).
    static func households(_ c: County, roster id: Int64, _ households: [String]) throws {
        for (n, h) in households.enumerated() {
            try c.county.db.run("INSERT INTO household_line(roster_id, line_no, node_id, household) VALUES (?, ?, ?, ?)", id, n + 1, node, h)
        }
    }

    static func register(_ c: County, _ ids: Range<Int>, account: (Int) -> String = account) throws {
        let insert = try c.county.db.statement("""
            INSERT INTO resident(resident_id, node_id, name, bank, account_kind, account_number) VALUES (?, ?, '韦秀英', '广西农村信用社', 'card', ?)
            """)
        for i in ids { try insert.run([resident(i), node, account(i)]) }
    }

    /// The warning table as people see it: rule, subject, evidence and status, in order.
    static func warnings(_ node: CountyNode) throws -> [String] {
        try node.db.all("SELECT rule, subject, evidence, status FROM warning ORDER BY rule, subject") {
            [$0.text(0), $0.text(1), $0.text(2), $0.text(3)].joined(separator: " | ")
        }
    }

    /// A full run on a copy of the county now, against the county's own table.
    static func expectEqualToFull(_ c: County, step: String) throws {
        try c.county.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let copy = c.dir.sub("copy-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: c.dir.sub("county"), toPath: copy)
        let full = try CountyNode.open(directory: copy)
        try full.actAs(TestOperators.administrator)
        let run = try full.runWarnings(full: true)
        #expect(run.mode == "full", "\(step)")
        #expect(run.new == 0 && run.reopened == 0, "\(step): the full run found what the incremental one had not")
        let mine = try warnings(c.county), theirs = try warnings(full)
        let differ = Set(mine).symmetricDifference(theirs).sorted()
        #expect(mine.count == theirs.count && differ.isEmpty, "\(step): \(mine.count) against \(theirs.count); differ: \(differ)")
        try? FileManager.default.removeItem(atPath: copy)
    }

    static func writeCSV(_ c: County, _ name: String, _ text: String) throws -> String {
        let path = c.dir.sub("data/\(name)")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("over a seeded history with new rosters, a rejection, register and list changes between runs, each incremental run leaves the full run's table")
    func equalsFull() throws {
        let c = try County([Self.node])
        let county = c.county
        try county.actAs("rev", .reviewer())
        // The history: 200 residents, GD01 for 2025 and 2026, YL01 and GL01 for January 2026.
        try Self.register(c, 0..<200)
        let everyone = (0..<200).map { ($0, Self.account($0), Int64(22_470)) }
        try Self.roster(c, "GD01", "2025", everyone, quantity: "2")
        var gd2026 = everyone
        gd2026[33].1 = Self.account(933)       // a line account nobody registered
        try Self.roster(c, "GD01", "2026", gd2026, quantity: "2")
        try Self.roster(c, "GD01", "2026", [(8, Self.account(8), 22_470)], quantity: "2")            // paid twice
        var yl = (0..<100).map { ($0, Self.account($0), Int64(16_300)) }
        yl[7].1 = Self.account(6)              // 一卡多人
        yl[12].2 = 99_900                      // above the standard
        try Self.roster(c, "YL01", "2026-01", yl)
        try Self.roster(c, "GL01", "2026-01", [(5, Self.account(905), 10_000)] + (100..<150).map { ($0, Self.account($0), Int64(10_000)) })
        let invalid = String(Self.resident(990).dropLast()) + (Self.resident(990).hasSuffix("1") ? "2" : "1")
        try county.db.run("INSERT INTO resident(resident_id, node_id, name, bank, account_kind, account_number) VALUES (?, ?, '韦秀英', '农行', 'card', '')",
                          invalid, Self.node)
        try county.importDeceased(path: Self.writeCSV(c, "deceased.csv", "身份证号,姓名,死亡日期,来源\n\(Self.resident(9)),韦秀英,2026-03-01,民政\n"))
        try county.importOfficials(path: Self.writeCSV(c, "officials.csv", "身份证号,姓名,工作单位,关系\n\(Self.resident(10)),韦秀英,某局,本人\n"))

        // CJ01 for the first quarter and for March to resident 80: paid twice (a chain grows below).
        try Self.roster(c, "CJ01", "2026-Q1", [(80, Self.account(80), 27_000)])
        try Self.roster(c, "CJ01", "2026-03", [(80, Self.account(80), 9_000)])

        // Households: 0060 (head 60, member 62) and 0061 (head 61), paid GY01 for 2025.
        for (i, h, head) in [(60, "0060", 1), (62, "0060", 0), (61, "0061", 1)] {
            try county.db.run("UPDATE resident SET household = ?, head = ? WHERE resident_id = ?", h, head, Self.resident(i))
        }
        let gy2025 = try Self.roster(c, "GY01", "2025", [(60, Self.account(60), 15_750), (61, Self.account(61), 15_750)], quantity: "10")
        try Self.households(c, roster: gy2025, ["0060", "0061"])

        // Run 1: no earlier run, so the whole history.
        let first = try county.runWarnings()
        #expect(first.mode == "full")
        for rule in ["one-person-several-accounts", "one-account-several-people", "paid-twice", "above-standard", "deceased",
                     "official-relative", "invalid-id", "carrier-transition"] {
            #expect((first.found[rule] ?? 0) > 0, "the seeded history plants \(rule)")
        }
        try Self.expectEqualToFull(c, step: "run 1")

        // Changes A: a new roster (several accounts, a shared account, above the standard, paid
        // twice), an account changed at the county onto an account seen only on lines,
        // registrations (one sharing an account, one with an invalid ID), list entries.
        var gl = (0..<50).map { ($0, Self.account($0), Int64(10_000)) }
        gl[21].1 = Self.account(921)
        gl[22].1 = Self.account(23)
        gl[24].2 = 50_000
        try Self.roster(c, "GL01", "2026-01", gl)      // residents 0–49 again: 100–149 had January; 0–49 had not
        try Self.roster(c, "YL01", "2026-01", [(25, Self.account(25), 16_300)])
        // Household 0060 paid twice for 2026 (its head and a member); 0061 onto another card.
        let gy2026 = try Self.roster(c, "GY01", "2026", [(60, Self.account(60), 15_750), (62, Self.account(62), 15_750),
                                                        (61, Self.account(61), 15_750)], quantity: "10")
        try Self.households(c, roster: gy2026, ["0060", "0060", "0061"])
        let gy2025b = try Self.roster(c, "GY01", "2025", [(61, Self.account(961), 15_750)], quantity: "10")
        try Self.households(c, roster: gy2025b, ["0061"])
        try county.actAs("approver", .approver)
        try county.changeAccount(try ResidentID(Self.resident(32)), bank: "广西农村信用社", number: AccountNumber(Self.account(933), kind: .card),
                                 confirmation: "本人到柜面确认", reason: "换卡")
        try Self.register(c, 200..<203) { $0 == 201 ? Self.account(35) : Self.account($0) }
        let invalid2 = String(Self.resident(981).dropLast()) + (Self.resident(981).hasSuffix("1") ? "2" : "1")
        try county.db.run("INSERT INTO resident(resident_id, node_id, name, bank, account_kind, account_number) VALUES (?, ?, '韦秀英', '农行', 'card', ?)",
                          invalid2, Self.node, Self.account(981))
        try county.importDeceased(path: Self.writeCSV(c, "deceased2.csv",
                                                      "身份证号,姓名,死亡日期,来源\n\(Self.resident(9)),韦秀英,2025-06-01,民政\n\(Self.resident(40)),韦秀英,2026-02-01,民政\n"))
        let second = try county.runWarnings()
        #expect(second.mode == "incremental")
        #expect(second.rosters == 4 && second.residents < 80, "only what changed: \(second.residents) residents")
        #expect(try county.warnings(rule: .severalAccounts).contains { $0.subject == "\(Self.resident(21))/2026-01" })
        #expect(try county.warnings(rule: .sharedAccount).contains { $0.subject == Self.account(933) })
        #expect(try county.warnings(rule: .householdPaidTwice).contains { $0.subject == "\(Self.node)/0060/GY01/2026" })
        #expect(try county.warnings(rule: .householdSeveralAccounts).contains { $0.subject == "\(Self.node)/0061/2025" })
        try Self.expectEqualToFull(c, step: "run 2")

        // Changes B: the shared account 933 dismissed, then named on one more line (its evidence
        // changes: opened again); a roster rejected; an official; a household change.
        try county.actAs("rev", .reviewer())
        let shared = try #require(try county.warnings(rule: .sharedAccount).first { $0.subject == Self.account(933) })
        try county.closeWarning(shared.id, confirmed: false, reason: "核实为同一家庭代领，已改正")
        // January to resident 80 as well: it meets March only through the quarter, yet the run
        // of the three is one finding.
        try Self.roster(c, "CJ01", "2026-01", [(36, Self.account(933), 9_000), (37, Self.account(37), 9_000), (80, Self.account(80), 9_000)])
        let rejected = try #require(try county.db.integer("SELECT max(id) FROM roster WHERE program = 'YL01'"))
        try county.db.run("UPDATE roster SET status = 'rejected' WHERE id = ?", rejected)
        try county.importOfficials(path: Self.writeCSV(c, "officials2.csv", "身份证号,姓名,工作单位,关系\n\(Self.resident(41)),韦秀英,某局,配偶\n"))
        try county.db.run("UPDATE resident SET household = '0001', head = 1 WHERE resident_id = ?", Self.resident(50))
        try county.db.run("UPDATE resident SET household = '0061' WHERE resident_id = ?", Self.resident(62))   // moved: 0061 now pays two
        let third = try county.runWarnings()
        #expect(try county.warnings(rule: .householdPaidTwice).contains { $0.subject == "\(Self.node)/0061/GY01/2026" })
        #expect(third.mode == "incremental" && third.reopened == 1)
        let chain = try #require(try county.warnings(rule: .paidTwice).first { $0.subject == "\(Self.resident(80))/CJ01/2026-Q1" })
        #expect(chain.evidence.components(separatedBy: "清册").count - 1 == 3, "\(chain.evidence)")
        try Self.expectEqualToFull(c, step: "run 3")

        // Nothing changed: nothing checked.
        let fourth = try county.runWarnings()
        #expect(fourth.mode == "incremental" && fourth.rosters == 0 && fourth.residents == 0 && fourth.accounts == 0 && fourth.total == 0)
        try Self.expectEqualToFull(c, step: "run 4")

        // A new policy list (a standard may have changed): the next run reads everything.
        try county.actAs(TestOperators.administrator)
        try county.publishPolicy(path: c.dir.sub("data/programs.csv"))
        #expect(try county.runWarnings().mode == "full")
        #expect(try county.runWarnings(full: true).mode == "full")
    }

    @Test("a change made while a run reads is left for the next run: only the rows the run read are marked done")
    func changesDuringRunStay() throws {
        let c = try County([Self.node])
        try Self.register(c, 0..<3)
        try Self.roster(c, "GD01", "2026", (0..<3).map { ($0, Self.account($0), 22_470) }, quantity: "2")
        _ = try c.county.runWarnings()
        try c.county.db.run("UPDATE resident SET account_number = ? WHERE resident_id = ?", Self.account(1), Self.resident(0))
        let scan = try WarningScan(db: c.county.db, today: CivilDate(year: 2026, month: 12, day: 4)!)
        let changes = try WarningChanges(c.county.db, scan: scan, forceFull: false)
        #expect(changes.dirty.count == 2)
        // A change after the changes were read, before the run commits.
        try c.county.db.run("UPDATE resident SET account_number = ? WHERE resident_id = ?", Self.account(2), Self.resident(0))
        try c.county.db.transaction { try changes.keep(c.county.db, mode: "incremental", at: "now") }
        #expect(try c.county.db.all("SELECT account_number FROM warning_dirty ORDER BY id") { $0.text(0) } == [Self.account(1), Self.account(2)])
    }

    @Test("above the standard for land: one fen over the rounded ceiling (112.35 元 × 1.3333 亩 = 149.80 元) is found, the ceiling itself is not")
    func landCeilingToTheFen() throws {
        let c = try County([Self.node])
        try Self.register(c, 0..<3)
        try Self.roster(c, "GD01", "2026", [(0, Self.account(0), 14_980), (1, Self.account(1), 14_981), (2, Self.account(2), 14_979)],
                        quantity: "1.3333")
        _ = try c.county.runWarnings(full: true)
        #expect(try c.county.warnings(rule: .aboveStandard).map(\.subject).map { String($0.prefix(18)) } == [Self.resident(1)])
    }
}
