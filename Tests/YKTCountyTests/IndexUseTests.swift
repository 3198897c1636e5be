import Foundation
import Testing
import YKTCore
import YKTDemo
import YKTTestSupport
import YKTStore
@testable import YKTCounty
@testable import YKTTownship

/// A statement run once per registration or edit must find its rows through an index. One that
/// reads a table whole makes a push quadratic: with a partial index (`WHERE household <> ''`)
/// that the query's own WHERE does not imply, SQLite scans the table on every operation, and
/// a million registrations took hours. SQLite counts the rows each statement stepped through in
/// full scans; here the township imports a register of 3,000 people and their applications,
/// edits some, takes two programs through both notices to rosters, and pushes
/// everything, and no statement the township or the county ran for each of those acts may have
/// read a table whole on each run.
@Suite("Index use on the sync path")
struct IndexUseTests {
    @Test("registrations, applications, edits and rosters pushed: no per-operation or per-line statement scans a table")
    func perOperationStatementsUseIndexes() throws {
        let c = try County(["450223101"])
        let township = c.townships["450223101"]!
        var options = CountyGenerator.Options()
        options.townships = 1
        options.villagesPerTownship = 10
        options.peoplePerVillage = 300
        let files = try CountyGenerator(options: options).write(to: c.dir.sub("register"))
        _ = try township.importBeneficiaries(path: files.first { $0.hasSuffix("-register.csv") }!)
        _ = try township.importApplications(path: files.first { $0.hasSuffix("-applications.csv") }!)
        #expect(try township.db.integer("SELECT count(*) FROM application")! > 1_000)
        let people = try township.db.integer("SELECT count(*) FROM beneficiary")!
        #expect(people == 3_000)
        _ = try township.push(maxOperations: 1_000) { bytes, signature in
            let a = c.county.receive(peer: "450223101", bytes: bytes, signature: signature)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
        #expect(try c.county.db.integer("SELECT count(*) FROM resident") == people)

        // Members move to households of their own, and change phones: edits the county re-checks
        // against the households it holds.
        let members = try township.db.all("SELECT resident_id FROM beneficiary WHERE head = 0 AND household <> '' LIMIT 200") { $0.text(0) }
        #expect(members.count == 200)
        for (i, rid) in members.enumerated() {
            let id = try ResidentID(rid)
            _ = try township.edit(id, BeneficiaryEdit(household: "9\(String(format: "%05d", i))", phone: "1380000\(String(format: "%04d", i))"))
            _ = try township.edit(id, BeneficiaryEdit(head: true))
        }
        _ = try c.push("450223101")

        // Two programs through both notices to rosters the county checks line by line: one paid
        // per person, one per household (its lines checked against the households it holds).
        let programs = try township.db.all("""
            SELECT program_code FROM application GROUP BY program_code HAVING count(*) >= 100 ORDER BY count(*) DESC
            """) { $0.text(0) }
        let perPerson = try #require(programs.first { $0 != "GY01" })
        #expect(programs.contains("GY01"))
        for program in [perPerson, "GY01"] {
            try township.passVillageNotices(program: program)
            township.at("2026-03-02")
            let notice = try township.openNotice(program: program, period: try Period(parsing: "2026"),
                                                 postedOn: try CivilDate(parsing: "2026-03-02"), place: "各村村务公开栏", phone: "0772-6812345")
            township.at("2026-03-09")
            try township.closeNotice(notice.id, on: try CivilDate(parsing: "2026-03-09"))
            try township.submitAsLeader(try township.buildRoster(program: program, period: try Period(parsing: "2026")).id)
        }
        let rosters = try c.push("450223101")
        #expect(rosters.rejected == 0)
        #expect(try c.county.db.integer("SELECT count(*) FROM roster_line")! >= 200)

        for (node, db) in [("township", township.db), ("county", c.county.db)] {
            // A statement that ran at least 100 times ran for each operation (or each roster line);
            // reading fewer than a tenth of the register per run on average means an index answered.
            let scanning = db.scanCounts().filter { $0.runs >= 100 && $0.fullScanSteps / $0.runs >= Int(people) / 10 }
            #expect(scanning.isEmpty, "\(node): \(scanning.map { "\($0.fullScanSteps / $0.runs) rows per run: \($0.sql)" })")
        }
    }
}
