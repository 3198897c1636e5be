import Foundation
import Testing
@testable import YKTCore

@Suite("Handing chunks from a checking thread to a writer")
struct HandoffTests {
    /// Notes the thread its last reference is dropped on.
    final class Freed: @unchecked Sendable {
        let log: FreedLog
        let id: Int
        init(_ id: Int, _ log: FreedLog) { self.id = id; self.log = log }
        deinit { log.note(id, onMain: Thread.isMainThread, thread: pthread_self()) }
    }

    final class FreedLog: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var entries: [(id: Int, thread: pthread_t)] = []
        func note(_ id: Int, onMain: Bool, thread: pthread_t) {
            lock.lock()
            entries.append((id, thread))
            lock.unlock()
        }
        var all: [(id: Int, thread: pthread_t)] { lock.lock(); defer { lock.unlock() }; return entries }
    }

    /// Runs a producer of `count` items on a thread of its own and consumes them here,
    /// recycling each; returns what was taken in order, the producer's thread and the log.
    static func run(count: Int, capacity: Int, stopAfter: Int? = nil) throws -> (taken: [Int], producer: pthread_t, log: FreedLog, puts: Int) {
        let log = FreedLog()
        let handoff = Handoff<[Freed]>(capacity: capacity)
        let job = BackgroundJob { () -> (pthread_t, Int) in
            var puts = 0
            for i in 0..<count {
                guard handoff.put([Freed(i, log)]) else { return (pthread_self(), puts) }
                puts += 1
            }
            handoff.finish()
            return (pthread_self(), puts)
        }
        var taken: [Int] = []
        while let item = handoff.take() {
            taken.append(item[0].id)
            handoff.recycle(consume item)   // the last reference: freed where the producer drops it
            if let stop = stopAfter, taken.count == stop {
                handoff.cancel()
                break
            }
        }
        let (producer, puts) = try job.wait()
        return (taken, producer, log, puts)
    }

    @Test("items arrive in order, and what the writer hands back is freed on the checking thread, the last ones too")
    func recycledOnProducer() throws {
        for capacity in [1, 4, 1, 4, 1, 4, 1, 4, 1, 4, 1, 4, 1, 4, 1, 4] {   // again and again: a race shows now and then
            let (taken, producer, log, _) = try Self.run(count: 50, capacity: capacity)
            #expect(taken == Array(0..<50))
            let freed = log.all
            #expect(freed.map(\.id).sorted() == Array(0..<50))
            #expect(freed.allSatisfy { pthread_equal($0.thread, producer) != 0 }, "freed on another thread")
        }
    }

    @Test("a writer that stops (its write failed) cancels: the producer stops putting and nothing is left waiting")
    func cancelled() throws {
        let (taken, _, log, puts) = try Self.run(count: 1_000, capacity: 2, stopAfter: 3)
        #expect(taken == [0, 1, 2])
        #expect(puts < 10)
        #expect(log.all.count >= 3)
    }
}
