import Foundation
import Testing
@testable import YKTNet
#if canImport(Glibc)
import Glibc
#endif

/// A connect on a thread of its own: the thread's id (for `pthread_kill`), and its result. The
/// thread stays alive until `release()`, so a signal can never be sent to a thread that is gone.
final class ConnectAttempt: @unchecked Sendable {
    // Safe: `thread` and `result` are guarded by `lock`; the semaphores are thread-safe.
    private let lock = NSLock()
    private var thread: pthread_t?
    private var result: Result<Int32, SocketError>?
    private let started = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)

    init(port: UInt16, timeoutSeconds: Double, signal: Int32) {
        let worker = Thread { [self] in
            // A thread inherits its creator's signal mask, and the test runs on a thread that
            // blocks signals: let this one through.
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, signal)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            lock.withLock { thread = pthread_self() }
            started.signal()
            let outcome = Result { () throws(SocketError) -> Int32 in
                try Socket.connect(host: "127.0.0.1", port: port, timeoutSeconds: timeoutSeconds)
            }
            lock.withLock { result = outcome }
            finished.signal()
            released.wait()
        }
        worker.start()
        started.wait()
    }

    /// Sends `signal` to the connecting thread unless its connect has returned.
    func interrupt(_ signal: Int32) {
        lock.withLock {
            if result == nil, let thread { _ = pthread_kill(thread, signal) }
        }
    }

    var isFinished: Bool { lock.withLock { result != nil } }

    /// The connect's result, waiting at most `seconds` for it (nil: still connecting).
    func wait(seconds: Double) -> Result<Int32, SocketError>? {
        _ = finished.wait(timeout: .now() + seconds)
        return lock.withLock { result }
    }

    func release() { released.signal() }
}

@Suite("POSIX sockets on loopback")
struct SocketTests {
    /// `Socket.connect` polls for completion and resumes the poll after `EINTR`, rather than call
    /// `connect` again (POSIX: `EALREADY`). Linux itself makes a blocking `connect` called again
    /// after `EINTR` wait on, so on Linux this test guards the poll's handling of `EINTR`; the
    /// old retrying code passes it too.
    @Test("a connect interrupted by signals (no SA_RESTART) still completes: the poll for it goes on after EINTR")
    func connectInterrupted() throws {
        // A handler that does nothing, without SA_RESTART: the signal only interrupts the call
        // the thread is blocked in.
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        var previous = sigaction()
        #expect(sigaction(SIGUSR1, &action, &previous) == 0)
        defer { sigaction(SIGUSR1, &previous, nil) }

        // A listener whose accept queue is full (backlog 0 holds one connection): the kernel
        // drops the next SYN, and a connect waits for its retransmission, a second later.
        let (listener, port) = try Socket.listen(host: "127.0.0.1", port: 0, backlog: 0)
        defer { close(listener) }
        var queued: [Int32] = []
        defer { queued.forEach { close($0) } }
        for _ in 0..<4 {
            guard let fd = try? Socket.connect(host: "127.0.0.1", port: port, timeoutSeconds: 0.3) else { break }
            queued.append(fd)
        }
        try #require(!queued.isEmpty && queued.count < 4, "the accept queue did not fill (\(queued.count) connections)")

        let attempt = ConnectAttempt(port: port, timeoutSeconds: 10, signal: SIGUSR1)
        defer { attempt.release() }
        // Interrupt the waiting connect, again and again, for 0.4 s (the pause only spaces the
        // signals out): all before the SYN is sent again, so they land while the connect waits.
        for _ in 0..<20 where !attempt.isFinished {
            attempt.interrupt(SIGUSR1)
            usleep(20_000)
        }
        // Make room in the queue: the retransmitted SYN is answered and the connect completes.
        for _ in queued {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 1_000) == 1 else { break }
            let fd = accept(listener, nil, nil)
            if fd >= 0 { close(fd) }
        }
        let result = try #require(attempt.wait(seconds: 15), "the connect neither completed nor failed within 15 s")
        switch result {
        case .success(let fd):
            defer { close(fd) }
            // The server side sees the connection.
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            #expect(poll(&p, 1, 5_000) == 1)
            let accepted = accept(listener, nil, nil)
            #expect(accepted >= 0)
            if accepted >= 0 { close(accepted) }
        case .failure(let error):
            Issue.record("the interrupted connect failed: \(error)")
        }
    }
}
