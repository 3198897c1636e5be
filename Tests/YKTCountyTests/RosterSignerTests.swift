import Foundation
import Testing
import YKTCore
import YKTTestSupport
import YKTStore
@testable import YKTCounty
@testable import YKTTownship

@Suite("The summary table's two signers at the county: recorded with the roster, one person twice or none refused")
struct RosterSignerTests {
    @Test("the preparer (clerk) and the submitter (leader) arrive with roster.submit and are stored and shown")
    func recorded() throws {
        let p = try Publicised()
        let report = try p.c.push("450223101")
        #expect(report.rejected == 0 && report.conflicted == 0)
        let r = try #require(try p.c.county.rosters().first)
        #expect(r.preparedBy == "测试tester（tester）" && r.submittedBy == "测试leader（leader）")
        #expect(try p.c.county.roster(r.id).preparedBy == r.preparedBy)
        let stored = try p.c.county.db.first("SELECT prepared_by, prepared_name, submitted_by, submitted_name FROM roster WHERE id = ?", r.id) {
            [$0.text(0), $0.text(1), $0.text(2), $0.text(3)]
        }
        #expect(stored == ["tester", "测试tester", "leader", "测试leader"])
    }

    /// A dishonest township edits its queued roster.submit; the county refuses it with
    /// YKT-ROSTER-SIGNERS, keeps nothing, and the roster is a draft at the township again.
    func refused(_ edit: (inout [String: JSONValue]) -> Void, saying words: String) throws {
        let p = try Publicised()
        try tamper(p.t, kind: "roster.submit", edit)
        let report = try p.c.push("450223101")
        #expect(report.rejected == 1)
        let problem = try #require(report.problems.first)
        #expect(problem.contains("YKT-ROSTER-SIGNERS") && problem.contains(words), "\(problem)")
        #expect(try p.c.county.db.integer("SELECT count(*) FROM roster") == 0)
        let roster = try #require(try p.t.rosters().first)
        #expect(roster.status == .draft && roster.submittedBy == nil)
        let reason = try p.t.db.first("SELECT reason FROM roster_decision WHERE roster_id = ? AND decision = 'rejected'", roster.id) { $0.text(0) }
        #expect(reason?.contains("YKT-ROSTER-SIGNERS") == true)
    }

    @Test("the same person as preparer and submitter is refused")
    func samePerson() throws {
        try refused({ $0["preparedBy"] = $0["submittedBy"] }, saying: "同一人（leader）")
    }

    @Test("no preparer (a township program from before the rule, or one that leaves it out) is refused")
    func noPreparer() throws {
        try refused({ $0["preparedBy"] = nil }, saying: "没有载明编制人")
        try refused({ $0["preparedBy"] = ["login": "", "name": "某人"] }, saying: "没有载明编制人")
    }

    @Test("no submitter, or a submitter other than the operator who sent the operation, is refused")
    func wrongSubmitter() throws {
        try refused({ $0["submittedBy"] = nil }, saying: "没有载明报送人")
        try refused({ $0["submittedBy"] = ["login": "someone", "name": "某人"] }, saying: "不是报送这项操作的经办人 leader")
    }

    @Test("refused and back as a draft, it is submitted again by the leader and accepted")
    func againAfterRefusal() throws {
        let p = try Publicised()
        try tamper(p.t, kind: "roster.submit") { $0["preparedBy"] = $0["submittedBy"] }
        #expect(try p.c.push("450223101").rejected == 1)
        let roster = try #require(try p.t.rosters().first)
        try p.t.submitAsLeader(roster.id)
        #expect(try p.c.push("450223101").accepted == 1)
        #expect(try p.c.county.rosters().first?.submittedBy == "测试leader（leader）")
    }
}
