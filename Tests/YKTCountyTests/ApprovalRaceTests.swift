import Foundation
import Testing
import YKTCore
import YKTTestSupport
@testable import YKTCounty
@testable import YKTTownship

/// Two parties meet here before either goes on; false if the other never came (then the
/// caller goes on alone, and the test reports it).
final class Meeting: @unchecked Sendable {
    // Safe: `arrived` is guarded by `condition`.
    private let condition = NSCondition()
    private var arrived = 0
    private let parties: Int
    init(parties: Int) { self.parties = parties }

    func arrive(seconds: TimeInterval = 20) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        return condition.withLock {
            arrived += 1
            condition.broadcast()
            while arrived < parties {
                if !condition.wait(until: deadline) { return arrived >= parties }
            }
            return true
        }
    }
}

/// A county with two townships whose TF01 rosters for 2026 (three residents each, 900.00 yuan
/// a roster) are synced and reviewed (county rosters 1 and 2), a finance approver, the agency
/// bank, and a budget.
struct TwoRosters {
    let c: County
    var county: CountyNode { c.county }

    init(budgetYuan: String) throws {
        c = try County(["450223101", "450223102"])
        let people = [
            "450223101": ["45022319500101123", "45022319620315456", "45022319800707078"],
            "450223102": ["45022319510202234", "45022319630416567", "45022319810808189"],
        ]
        for (n, code) in ["450223101", "450223102"].enumerated() {
            let t = c.townships[code]!
            for (i, p) in people[code]!.enumerated() {
                let id = ResidentID.completing(p)
                try register(t, id, ["韦秀英", "覃建国", "黄丽华"][i], card: AccountNumber.completingLuhn("6228480000000000\(n)\(i + 1)"))
                try apply(t, id, "TF01", quantity: "1")
            }
            try t.submitAsLeader(try t.buildRoster(program: "TF01", period: try Period(parsing: "2026")).id)
            _ = try c.push(code)
        }
        try county.actAs("reviewer", .reviewer("TF01"))
        try county.actAs("approver", .approver)
        try county.setBudget(program: "TF01", period: try Period(parsing: "2026"), amount: try Fen(yuan: budgetYuan))
        try county.actAs(TestOperators.administrator)
        try county.actAs(TestOperators.administrator)
        try county.addBank(code: "ABC", name: "农行", serves: [], folder: c.dir.sub("bank-ABC"), agreement: .init(number: "LZCZ-DF-2025-01", start: try CivilDate(parsing: "2025-01-01"), end: try CivilDate(parsing: "2027-12-31"), fees: "免费"))
        try county.become("reviewer")
        try county.review(1, approve: true, reason: "")
        try county.review(2, approve: true, reason: "")
    }

    /// Approves `first` and `second` at the same time, each in a thread of its own with its own
    /// connection to county.db (as two `ykt roster approve` processes would). The two meet just
    /// before each begins its write transaction: whatever an approval reads before then, both
    /// have read before either writes.
    func approveTogether(_ first: [Int64], _ second: [Int64]) throws -> [Result<CountyNode.ApprovalResult, YKTError>] {
        let meeting = Meeting(parties: 2)
        let results = Results()
        let finished = DispatchGroup()
        for (slot, ids) in [first, second].enumerated() {
            finished.enter()
            let directory = county.directory
            let thread = Thread {
                defer { finished.leave() }
                do {
                    let approver = try CountyNode.open(directory: directory)
                    try approver.become("approver")
                    var met = false
                    approver.db.trace { sql in
                        if sql == "BEGIN IMMEDIATE" && !met {
                            met = true
                            results.met(meeting.arrive())
                        }
                    }
                    results.set(slot, .success(try approver.approve(ids)))
                } catch let error as YKTError {
                    results.set(slot, .failure(error))
                } catch {
                    results.set(slot, .failure(YKTError(.internalError, "\(error)")))
                }
            }
            thread.start()
        }
        finished.wait()
        #expect(results.meetings == [true, true], "both approvals reached their transaction")
        return results.all
    }

    final class Results: @unchecked Sendable {
        // Safe: everything is guarded by `lock`.
        private let lock = NSLock()
        private var results: [Result<CountyNode.ApprovalResult, YKTError>?] = [nil, nil]
        private var met: [Bool] = []
        func set(_ slot: Int, _ r: Result<CountyNode.ApprovalResult, YKTError>) { lock.withLock { results[slot] = r } }
        func met(_ ok: Bool) { lock.withLock { met.append(ok) } }
        var meetings: [Bool] { lock.withLock { met } }
        var all: [Result<CountyNode.ApprovalResult, YKTError>] { lock.withLock { results.compactMap { $0 } } }
    }
}

@Suite("Finance approval decides inside its write transaction: approvals at the same time never overspend or pay twice")
struct ApprovalRaceTests {
    @Test("two approvals at once, a budget for one roster but not two: exactly one is approved, the other refused as over budget")
    func budgetForOne() throws {
        let s = try TwoRosters(budgetYuan: "1500")
        let results = try s.approveTogether([1], [2])
        #expect(results.count == 2)
        let approved = results.compactMap { try? $0.get() }
        let refused = results.compactMap { if case .failure(let e) = $0 { e } else { nil } }
        #expect(approved.count == 1 && approved.first?.totalFen == 90000)
        #expect(refused.map(\.code) == [.budgetExceeded])
        #expect(refused.first?.message.contains("已审定 900.00 元") == true)
        let use = try #require(try s.county.budgets().first)
        #expect(use.approvedFen == 90000 && use.remainingFen == 60000)
        #expect(try s.county.rosters(status: "approved").count == 1)
        #expect(try s.county.db.integer("SELECT count(*) FROM payment") == 3)
        #expect(try s.county.db.integer("SELECT count(*) FROM batch") == 1)
    }

    @Test("two `ykt roster approve` processes at once, a budget for one roster: exactly one approves, the other is refused as over budget", arguments: [1, 2, 3])
    func budgetForOneTwoProcesses(round: Int) throws {
        let s = try TwoRosters(budgetYuan: "1500")
        let binary = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
            .deletingLastPathComponent().appendingPathComponent("ykt")
        // The approver logged in once; each process asks for their password to sign (on stdin).
        let session = try s.county.sessionFile("approver", at: s.c.dir.sub("approver.session"))
        let processes = ["1", "2"].map { roster -> (Process, Pipe, Pipe) in
            let p = Process(), err = Pipe(), input = Pipe()
            p.executableURL = binary
            p.arguments = ["roster", "approve", "--rosters", roster, "--node", s.county.directory, "--password-stdin"]
            p.environment = ProcessInfo.processInfo.environment.merging(["YKT_SESSION": session]) { $1 }
            p.standardInput = input
            p.standardOutput = FileHandle.nullDevice
            p.standardError = err
            return (p, err, input)
        }
        for (p, _, input) in processes {
            try p.run()
            input.fileHandleForWriting.write(Data((TestOperators.password + "\n").utf8))
            try input.fileHandleForWriting.close()
        }
        var statuses: [Int32] = []
        var errors = ""
        for (p, err, _) in processes {
            errors += String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            statuses.append(p.terminationStatus)
        }
        #expect(statuses.sorted().first == 0 && statuses.filter { $0 == 0 }.count == 1, "\(statuses) \(errors)")
        #expect(errors.contains("YKT-BUDGET-EXCEEDED"), "\(errors)")
        #expect(try s.county.rosters(status: "approved").count == 1)
        #expect(try s.county.db.integer("SELECT coalesce(sum(amount_fen), 0) FROM payment") == 90000)
    }

    @Test("the same roster approved twice at once is approved once, its lines paid once")
    func sameRosterTwice() throws {
        let s = try TwoRosters(budgetYuan: "100000")
        let results = try s.approveTogether([1], [1])
        let approved = results.compactMap { try? $0.get() }
        let refused = results.compactMap { if case .failure(let e) = $0 { e } else { nil } }
        #expect(approved.count == 1)
        #expect(refused.map(\.code) == [.rosterState], "\(refused)")
        #expect(try s.county.db.integer("SELECT count(*) FROM payment") == 3)
        #expect(try s.county.db.integer("SELECT count(*) FROM batch") == 1)
        #expect(try s.county.budgets().first?.approvedFen == 90000)
    }

    @Test("approving the same roster twice in one command counts it once")
    func duplicateIDs() throws {
        let s = try TwoRosters(budgetYuan: "1000")
        try s.county.become("approver")
        let r = try s.county.approve([1, 1])
        #expect(r.rosters == [1] && r.lines == 3 && r.totalFen == 90000)
        #expect(try s.county.db.integer("SELECT count(*) FROM payment") == 3)
    }
}
