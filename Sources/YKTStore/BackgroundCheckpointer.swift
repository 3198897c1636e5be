import Foundation

/// Checkpoints a WAL database on a thread of its own, so that a long-running writer (the
/// county's `ykt serve`) commits without copying the log back into the database on its own
/// clock: the writer turns automatic checkpoints off (`takeOverCheckpoints`) and calls
/// `request()` after each commit; this thread then runs a passive checkpoint (it never blocks
/// the writer or readers) on its own connection.
public final class BackgroundCheckpointer: @unchecked Sendable {
    // Safe: `pending` and `stopped` are guarded by `lock`; the connection is used only on the
    // checkpoint thread.
    private let lock = NSLock()
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private var pending = false
    private var stopped = false
    private let path: String

    /// Turns `writer`'s automatic checkpoints off and starts the thread.
    public init(takeOverCheckpoints writer: Database) throws {
        path = writer.path
        _ = try writer.first("PRAGMA wal_autocheckpoint=0") { $0.int(0) }
        let thread = Thread { [self] in run() }
        thread.name = "ykt-checkpoint"
        thread.start()
    }

    /// Asks for a checkpoint soon (several requests while one runs make one more).
    public func request() {
        let signal = lock.withLock {
            defer { pending = true }
            return !pending
        }
        if signal { wake.signal() }
    }

    /// Runs a last checkpoint and ends the thread.
    public func stop() {
        lock.withLock { stopped = true }
        wake.signal()
        done.wait()
    }

    private func run() {
        defer { done.signal() }
        guard let db = try? Database(path: path) else { return }
        while true {
            wake.wait()
            let stop = lock.withLock {
                pending = false
                return stopped
            }
            // A passive checkpoint copies what it can without waiting for anyone; the next
            // one after a commit finishes the rest.
            _ = try? db.first("PRAGMA wal_checkpoint(PASSIVE)") { $0.int(0) }
            if stop { return }
        }
    }
}
