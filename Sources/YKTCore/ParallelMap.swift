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
///
/// What the consumer is done with it can hand back (`recycle`): the producer frees it, on its
/// own thread, the next time it puts an item and while it waits in `finish`, so that a consumer
/// on the critical path (a writer) does not spend its time freeing what the producer made.
public final class Handoff<T: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [T] = []
    private var spent: [any Sendable] = []
    private var finished = false
    private var drained = false     // the consumer has taken the last item
    private var cancelled = false
    private let capacity: Int

    public init(capacity: Int) {
        self.capacity = Swift.max(1, capacity)
    }

    /// Producer: waits for room, then queues `item`. Returns false once the consumer has cancelled.
    public func put(_ item: T) -> Bool {
        condition.lock()
        while items.count >= capacity && !cancelled { condition.wait() }
        if cancelled {
            condition.unlock()
            return false
        }
        items.append(item)
        let used = spent
        spent = []
        condition.broadcast()
        condition.unlock()
        withExtendedLifetime(used) {}   // freed here, outside the lock
        return true
    }

    /// Producer: no more items will come. Returns once the consumer has taken the last item (or
    /// cancelled), freeing what it hands back meanwhile.
    public func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        while true {
            while spent.isEmpty && !drained && !cancelled { condition.wait() }
            let used = spent
            spent = []
            let done = drained || cancelled
            condition.unlock()
            withExtendedLifetime(used) {}
            if done { return }
            condition.lock()
        }
    }

    /// Consumer: the next item, waiting for it; nil when the producer has finished and all are taken.
    public func take() -> T? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !finished && !cancelled { condition.wait() }
        guard !items.isEmpty, !cancelled else {
            drained = true
            condition.broadcast()
            return nil
        }
        let item = items.removeFirst()   // at most `capacity` move up
        condition.broadcast()
        return item
    }

    /// Consumer: `used` (an item taken, what was made of it) is no longer needed: the producer
    /// frees it. Call before taking the next item, handing over the last reference
    /// (`recycle(consume x)`): a reference kept here would free it here when the producer
    /// lets go of its own first.
    public func recycle(_ used: consuming some Sendable) {
        condition.lock()
        spent.append(consume used)   // this call keeps no reference: the producer's is the last
        condition.broadcast()
        condition.unlock()
    }

    /// Consumer: stop the producer and drop what is queued.
    public func cancel() {
        condition.lock()
        cancelled = true
        items.removeAll()
        let used = spent
        spent = []
        condition.broadcast()
        condition.unlock()
        withExtendedLifetime(used) {}
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
