internal import CSQLite
import Foundation

/// Checkpoints a WAL database on a thread of its own, so that a long-running writer (the
/// county's `ykt serve`) commits without copying the log back into the database on its own
/// clock: the writer turns automatic checkpoints off (`takeOverCheckpoints`) and calls
/// `request()` after each commit; this thread then runs a passive checkpoint (it never blocks
/// the writer or readers) on its own connection.
///
/// Since automatic checkpoints are off, a checkpointer that stopped working would let the log
/// grow without limit, so it never gives up:
/// - A checkpoint that readers hold back ("SQLITE_BUSY", or frames left behind because a reader
///   still uses them) is normal: it is tried again after a short back-off, or at the next
///   request, whichever comes first. It is counted (`Status.busyRetries`), not reported as a
///   failure.
/// - Any other error (the database cannot be opened, an I/O error, a full disk) is a failure:
///   it is reported through `report` and recorded in `status`, the connection is dropped (the
///   next attempt opens a fresh one), and the checkpoint is tried again after a back-off that
///   doubles up to `Backoff.maximum`. Requests do not shorten that wait, so a writer that
///   commits often cannot turn a failing checkpoint into a flood of attempts and reports.
public final class BackgroundCheckpointer: @unchecked Sendable {
    // Safe: `pending`, `stopped` and `state` are guarded by `lock`; the connection lives in
    // `run()` and is used only on the checkpoint thread; `report` is `@Sendable`.
    private let lock = NSLock()
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private var pending = false
    private var stopped = false
    private var state = Status()
    private let path: String
    private let backoff: Backoff
    private let report: @Sendable (Event) -> Void

    /// How long to wait before trying again: `initial` after the first failure (or busy
    /// attempt), doubling with each further one in a row, never more than `maximum`.
    public struct Backoff: Sendable {
        public var initial: TimeInterval
        public var maximum: TimeInterval

        public init(initial: TimeInterval = 0.5, maximum: TimeInterval = 60) {
            precondition(initial > 0 && maximum >= initial, "a back-off needs 0 < initial <= maximum")
            self.initial = initial
            self.maximum = maximum
        }

        /// The wait after the `attempt`-th unsuccessful attempt in a row (1-based).
        public func delay(after attempt: Int) -> TimeInterval {
            let doublings = min(max(attempt - 1, 0), 62)
            return min(initial * Double(UInt64(1) << UInt64(doublings)), maximum)
        }
    }

    /// What happened on the checkpoint thread, as it happens. Messages carry SQLite's own text
    /// and the database path, never a record's content.
    public enum Event: Sendable {
        /// The whole log is in the database (`frames` frames in the log; 0 when it was empty).
        case checkpointed(frames: Int)
        /// Readers held the checkpoint back (`status` says how far it got); it is tried again
        /// after `retryIn` seconds or at the next request. Not a failure.
        case busy(retryIn: TimeInterval)
        /// The checkpoint failed for the `consecutive`-th time in a row; tried again after
        /// `retryIn` seconds (`nil`: the checkpointer is stopping and will not try again).
        case failed(DatabaseError, consecutive: Int, retryIn: TimeInterval?)
        /// A checkpoint ran again after `afterFailures` failures in a row.
        case recovered(afterFailures: Int)
    }

    /// What the checkpointer has done so far.
    public struct Status: Sendable {
        /// Checkpoints that left the whole log in the database.
        public var completed = 0
        /// Failed attempts, in all.
        public var failures = 0
        /// Failed attempts since the last one that ran (0 when the last one ran).
        public var consecutiveFailures = 0
        /// The most recent failure and when it happened (kept after a recovery).
        public var lastError: DatabaseError?
        public var lastFailureAt: Date?
        /// Attempts that readers held back (normal; tried again).
        public var busyRetries = 0
        /// Frames in the log and frames copied into the database by the last attempt that ran.
        public var logFrames = 0
        public var checkpointedFrames = 0
    }

    /// Turns `writer`'s automatic checkpoints off and starts the thread. `report` is called on
    /// the checkpoint thread for every `Event`; a server logs `.failed` and `.recovered`.
    public init(takeOverCheckpoints writer: Database, backoff: Backoff = Backoff(),
                report: @escaping @Sendable (Event) -> Void = { _ in }) throws {
        path = writer.path
        self.backoff = backoff
        self.report = report
        _ = try writer.first("PRAGMA wal_autocheckpoint=0") { $0.int(0) }
        let thread = Thread { [self] in run() }
        thread.name = "ykt-checkpoint"
        thread.start()
    }

    /// What the checkpointer has done so far, failures included.
    public var status: Status { lock.withLock { state } }
    /// The most recent failure (kept after a recovery; see `status.consecutiveFailures`).
    public var lastError: DatabaseError? { status.lastError }
    /// Failed attempts since the last one that ran.
    public var consecutiveFailures: Int { status.consecutiveFailures }

    /// Asks for a checkpoint soon (several requests while one runs make one more).
    public func request() {
        let signal = lock.withLock {
            defer { pending = true }
            return !pending
        }
        if signal { wake.signal() }
    }

    /// Runs a last checkpoint (at once, even during a back-off) and ends the thread.
    public func stop() {
        lock.withLock { stopped = true }
        wake.signal()
        done.wait()
    }

    private enum Outcome {
        case complete(frames: Int)
        /// Readers held it back: frames in the log and copied, nil when it could not start.
        case heldBack(frames: (log: Int, copied: Int)?)
        case failed(DatabaseError)
    }

    /// When to try again without a request: `early` if a request may come first.
    private struct Retry {
        var at: DispatchTime
        var early: Bool
    }

    private func run() {
        defer { done.signal() }
        var connection: Database?
        var retry: Retry?
        while true {
            let stop = waitForWork(retry)
            let outcome = attempt(&connection)
            let (events, next) = lock.withLock { record(outcome, stopping: stop) }
            for event in events { report(event) }
            if stop { return }
            retry = next
        }
    }

    /// Waits for a request, or for `retry`'s time; returns whether the checkpointer is stopping.
    private func waitForWork(_ retry: Retry?) -> Bool {
        while true {
            let woken: Bool
            if let retry {
                woken = wake.wait(timeout: retry.at) == .success
            } else {
                wake.wait()
                woken = true
            }
            let stop = lock.withLock {
                let stop = stopped
                // A request during a failure's back-off stays pending until the back-off ends.
                if stop || !woken || retry?.early != false { pending = false }
                return stop
            }
            if stop || !woken || retry?.early != false { return stop }
        }
    }

    private func attempt(_ connection: inout Database?) -> Outcome {
        let db: Database
        if let open = connection {
            db = open
        } else {
            do {
                // Never creates the file: a database moved away is a failure, not a new one.
                db = try Database(path: path, create: false)
            } catch {
                return error.isBusy ? .heldBack(frames: nil) : .failed(error)
            }
            connection = db
        }
        var logFrames: Int32 = -1
        var checkpointed: Int32 = -1
        // "If another connection is running a checkpoint or ... SQLITE_BUSY is returned"; a
        // passive checkpoint "checkpoints as many frames as possible without waiting for any
        // database readers or writers to finish" and leaves the rest (checkpointed < log).
        let rc = sqlite3_wal_checkpoint_v2(db.handle, nil, SQLITE_CHECKPOINT_PASSIVE, &logFrames, &checkpointed)
        if rc & 0xFF == SQLITE_BUSY || rc & 0xFF == SQLITE_LOCKED { return .heldBack(frames: nil) }
        guard rc == SQLITE_OK else {
            let error = db.error(rc, sql: "PRAGMA wal_checkpoint(PASSIVE)")
            // A fresh connection for the next attempt, in case this one is left in a bad state.
            connection = nil
            return .failed(error)
        }
        // Both are -1 when the database is not in WAL mode: nothing to copy.
        guard logFrames > 0, checkpointed < logFrames else { return .complete(frames: max(0, Int(logFrames))) }
        return .heldBack(frames: (Int(logFrames), Int(checkpointed)))
    }

    /// Records `outcome` in `state` (called under `lock`): the events to report and the retry.
    private func record(_ outcome: Outcome, stopping: Bool) -> ([Event], Retry?) {
        var events: [Event] = []
        var retry: Retry?
        switch outcome {
        case .failed(let error):
            state.failures += 1
            state.consecutiveFailures += 1
            state.lastError = error
            state.lastFailureAt = Date()
            let delay = backoff.delay(after: state.consecutiveFailures)
            events.append(.failed(error, consecutive: state.consecutiveFailures, retryIn: stopping ? nil : delay))
            retry = Retry(at: .now() + delay, early: false)
            busyStreak = 0
        case .heldBack(let frames):
            if state.consecutiveFailures > 0 {
                events.append(.recovered(afterFailures: state.consecutiveFailures))
                state.consecutiveFailures = 0
            }
            state.busyRetries += 1
            busyStreak += 1
            if let frames {
                state.logFrames = frames.log
                state.checkpointedFrames = frames.copied
            }
            let delay = backoff.delay(after: busyStreak)
            events.append(.busy(retryIn: delay))
            retry = Retry(at: .now() + delay, early: true)
        case .complete(let frames):
            if state.consecutiveFailures > 0 {
                events.append(.recovered(afterFailures: state.consecutiveFailures))
                state.consecutiveFailures = 0
            }
            state.completed += 1
            state.logFrames = frames
            state.checkpointedFrames = frames
            busyStreak = 0
            events.append(.checkpointed(frames: frames))
        }
        return (events, retry)
    }

    /// Attempts in a row that readers held back (guarded by `lock`).
    private var busyStreak = 0
}
