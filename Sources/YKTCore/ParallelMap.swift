import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Array where Element: Sendable {
    /// `map` spread over the machine's cores in contiguous chunks, results in input order.
    /// For pure, CPU-bound work on large inputs (validating 100,000 register lines).
    /// `leavingCores`: cores left to other threads of the same work (a pipeline's writer), so
    /// that the workers do not take turns with them on the same core.
    public func parallelMap<R: Sendable>(minimumChunk: Int = 2_048, leavingCores: Int = 0, _ transform: @Sendable (Element) -> R) -> [R] {
        let n = count
        let workers = Swift.min(System.activeProcessorCount - leavingCores, Swift.max(1, n / minimumChunk))
        if workers <= 1 { return map(transform) }
        return [R](unsafeUninitializedCapacity: n) { buffer, initialized in
            let out = UnsafeSendableBuffer(base: buffer.baseAddress!)
            let input = self
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let lo = n * w / workers, hi = n * (w + 1) / workers
                for i in lo..<hi { (out.base + i).initialize(to: transform(input[i])) }
            }
            initialized = n
        }
    }
}

/// A raw output pointer handed to parallel workers. Safe because every worker writes a
/// disjoint index range and `concurrentPerform` returns only when all have finished.
struct UnsafeSendableBuffer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
}

enum System {
    static let activeProcessorCount: Int = {
        #if canImport(Glibc)
        return Swift.max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }()
}

/// Work started on another thread while the caller goes on with its own; `wait()` blocks until
/// it is done and returns its result (or throws its error). The result is written before the
/// semaphore is signalled and read after it is waited for, so no lock is needed.
public final class BackgroundJob<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, any Error>?

    public init(_ work: @escaping @Sendable () throws -> T) {
        DispatchQueue.global().async { [self] in
            result = Result { try work() }
            done.signal()
        }
    }

    public func wait() throws -> T {
        done.wait()
        done.signal()    // a second wait returns at once
        return try result!.get()
    }
}

/// Hands items from one producer thread to one consumer, in order, holding at most `capacity`
/// at a time so the producer cannot run far ahead (memory stays bounded). The consumer can
/// `cancel`, after which `put` returns false and the producer should stop.
public final class Handoff<T: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [T] = []
    private var head = 0
    private var finished = false
    private var cancelled = false
    private let capacity: Int

    public init(capacity: Int) {
        self.capacity = Swift.max(1, capacity)
    }

    /// Producer: waits for room, then queues `item`. Returns false once the consumer has cancelled.
    public func put(_ item: T) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count - head >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        if head > 64 {
            items.removeFirst(head)
            head = 0
        }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Producer: no more items will come.
    public func finish() {
        signalAll { finished = true }
    }

    /// Consumer: the next item, waiting for it; nil when the producer has finished and all are taken.
    public func take() -> T? {
        condition.lock()
        defer { condition.unlock() }
        while items.count == head && !finished && !cancelled { condition.wait() }
        guard items.count > head, !cancelled else { return nil }
        let item = items[head]
        head += 1
        condition.broadcast()
        return item
    }

    /// Consumer: stop the producer and drop what is queued.
    public func cancel() {
        signalAll {
            cancelled = true
            items.removeAll()
            head = 0
        }
    }

    /// Changes the state under the lock and wakes every waiter.
    private func signalAll(_ change: () -> Void) {
        condition.lock()
        change()
        condition.broadcast()
        condition.unlock()
    }
}

/// A value computed on a thread of its own while the caller goes on; `value()` waits for it
/// (and may be asked again). For overlapping blocking work, such as writing a large request
/// while the next one is built.
public final class Background<T: Sendable>: @unchecked Sendable {
    // Safe: `result` is written once, before `done` is signalled, and read only after waiting.
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, any Error>?

    public init(name: String, _ work: @escaping @Sendable () throws -> T) {
        let thread = Thread { [self] in
            result = Result { try work() }
            done.signal()
        }
        thread.name = name
        thread.start()
    }

    public func value() throws -> T {
        done.wait()
        defer { done.signal() }
        return try result!.get()
    }
}
