import Foundation
import Testing
@testable import YKTStore

/// The events a checkpointer reports, for a test to wait on (no sleeps: each wait ends as soon
/// as the event it needs has arrived, or fails after a generous deadline).
final class CheckpointEvents: @unchecked Sendable {
    // Safe: `events` is guarded by `condition`.
    private let condition = NSCondition()
    private var events: [BackgroundCheckpointer.Event] = []

    func append(_ event: BackgroundCheckpointer.Event) {
        condition.withLock {
            events.append(event)
            condition.broadcast()
        }
    }

    var all: [BackgroundCheckpointer.Event] { condition.withLock { events } }

    /// Waits until `done` holds for the events so far; false after `seconds` without.
    func wait(seconds: TimeInterval = 20, until done: ([BackgroundCheckpointer.Event]) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        return condition.withLock {
            while !done(events) {
                if !condition.wait(until: deadline) { return done(events) }
            }
            return true
        }
    }

    static func failures(_ events: [BackgroundCheckpointer.Event]) -> [Int] {
        events.compactMap { if case .failed(_, let n, _) = $0 { n } else { nil } }
    }
    static func busy(_ events: [BackgroundCheckpointer.Event]) -> Int {
        events.filter { if case .busy = $0 { true } else { false } }.count
    }
    static func recovered(_ events: [BackgroundCheckpointer.Event]) -> [Int] {
        events.compactMap { if case .recovered(let n) = $0 { n } else { nil } }
    }
    static func checkpointed(_ events: [BackgroundCheckpointer.Event]) -> [Int] {
        events.compactMap { if case .checkpointed(let n) = $0 { n } else { nil } }
    }
}

@Suite("Background checkpointer: failures reported and retried, readers are no failure")
struct BackgroundCheckpointerTests {
    /// Short waits, so that a test sees several retries at once.
    let quick = BackgroundCheckpointer.Backoff(initial: 0.005, maximum: 0.05)

    @Test("the back-off doubles from its start and stays under its bound")
    func backoff() {
        let b = BackgroundCheckpointer.Backoff(initial: 0.5, maximum: 60)
        #expect((1...9).map { b.delay(after: $0) } == [0.5, 1, 2, 4, 8, 16, 32, 60, 60])
        #expect(b.delay(after: 10_000) == 60)
    }

    @Test("a checkpoint that fails is reported with its cause, retried without a request, and works again once the cause is gone")
    func failureReportedAndRetried() throws {
        let dir = TempDir()
        let home = dir.file("node")
        let moved = dir.file("moved")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
        let writer = try Database(path: home + "/a.db")
        try writer.execute("CREATE TABLE t(x)")
        let events = CheckpointEvents()
        let checkpointer = try BackgroundCheckpointer(takeOverCheckpoints: writer, backoff: quick) { events.append($0) }
        defer { checkpointer.stop() }

        // The node directory goes away (moved, a mount lost) while the writer keeps its files
        // open and goes on committing: the checkpointer cannot open the database. This fails
        // for root too, where a file made read-only would not.
        try FileManager.default.moveItem(atPath: home, toPath: moved)
        for i in 0..<50 { try writer.run("INSERT INTO t VALUES (?)", i) }
        checkpointer.request()
        // Reported, and tried again on its own (one request, several attempts).
        #expect(events.wait { CheckpointEvents.failures($0).count >= 3 })
        #expect(CheckpointEvents.failures(events.all).prefix(3) == [1, 2, 3])
        guard case .failed(let error, _, let retryIn)? = events.all.first else {
            Issue.record("the first event is not the failure: \(events.all)")
            return
        }
        #expect(error.message.contains("a.db"))
        #expect(retryIn == quick.initial)
        let failing = checkpointer.status
        #expect(failing.consecutiveFailures >= 3 && failing.failures >= 3 && failing.completed == 0)
        #expect(failing.lastError != nil && failing.lastFailureAt != nil)
        #expect(checkpointer.consecutiveFailures >= 3 && checkpointer.lastError != nil)
        // It never made an empty database where the real one was.
        #expect(!FileManager.default.fileExists(atPath: home))

        // The directory is back: the next retry checkpoints the whole log, and says so.
        try FileManager.default.moveItem(atPath: moved, toPath: home)
        #expect(events.wait { !CheckpointEvents.checkpointed($0).isEmpty })
        let recovered = CheckpointEvents.recovered(events.all)
        #expect(recovered.count == 1 && recovered[0] >= 3)
        #expect(CheckpointEvents.checkpointed(events.all).first ?? 0 > 0)
        let after = checkpointer.status
        #expect(after.consecutiveFailures == 0 && after.completed == 1 && after.lastError != nil)
        #expect(after.logFrames > 0 && after.checkpointedFrames == after.logFrames)

        // And it goes on working at each request.
        try writer.run("INSERT INTO t VALUES (99)")
        checkpointer.request()
        #expect(events.wait { CheckpointEvents.checkpointed($0).count >= 2 })
        #expect(checkpointer.status.failures == after.failures)
    }

    @Test("a reader holding a snapshot only holds the checkpoint back: retried, never reported as a failure, finished once it ends")
    func readerInTheWayIsNoFailure() throws {
        let dir = TempDir()
        let path = dir.file("a.db")
        let writer = try Database(path: path)
        try writer.execute("CREATE TABLE t(x); INSERT INTO t VALUES (0);")
        let events = CheckpointEvents()
        let checkpointer = try BackgroundCheckpointer(takeOverCheckpoints: writer, backoff: quick) { events.append($0) }
        defer { checkpointer.stop() }

        // Another connection reads in a transaction: its snapshot keeps the frames committed
        // after it in the log.
        let reader = try Database(path: path)
        try reader.execute("BEGIN")
        #expect(try reader.integer("SELECT count(*) FROM t") == 1)
        for i in 1...50 { try writer.run("INSERT INTO t VALUES (?)", i) }
        checkpointer.request()
        #expect(events.wait { CheckpointEvents.busy($0) >= 3 })   // tried again, on its own
        let held = checkpointer.status
        #expect(held.failures == 0 && held.consecutiveFailures == 0 && held.lastError == nil && held.busyRetries >= 3)
        #expect(held.checkpointedFrames < held.logFrames)
        #expect(CheckpointEvents.failures(events.all).isEmpty && CheckpointEvents.checkpointed(events.all).isEmpty)

        try reader.execute("COMMIT")
        #expect(events.wait { !CheckpointEvents.checkpointed($0).isEmpty })
        let done = checkpointer.status
        #expect(done.completed == 1 && done.failures == 0 && done.checkpointedFrames == done.logFrames)
        #expect(CheckpointEvents.recovered(events.all).isEmpty)
    }

    @Test("stop ends at once even during a long back-off, after one last attempt")
    func stopDuringBackoff() throws {
        let dir = TempDir()
        let home = dir.file("node")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
        let writer = try Database(path: home + "/a.db")
        try writer.execute("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        let events = CheckpointEvents()
        let checkpointer = try BackgroundCheckpointer(takeOverCheckpoints: writer,
                                                      backoff: .init(initial: 3_600, maximum: 3_600)) { events.append($0) }
        try FileManager.default.moveItem(atPath: home, toPath: dir.file("moved"))
        checkpointer.request()
        #expect(events.wait { CheckpointEvents.failures($0).count == 1 })
        checkpointer.request()   // waits for the hour's back-off, which stop cuts short
        try FileManager.default.moveItem(atPath: dir.file("moved"), toPath: home)
        checkpointer.stop()
        #expect(CheckpointEvents.failures(events.all) == [1])
        #expect(CheckpointEvents.checkpointed(events.all).count == 1)   // the last attempt ran
    }
}
