import Dispatch
#if canImport(Glibc)
import Glibc
#endif

extension Array where Element: Sendable {
    /// `map` spread over the machine's cores in contiguous chunks, results in input order.
    /// For pure, CPU-bound work on large inputs (validating 100,000 register lines).
    public func parallelMap<R: Sendable>(minimumChunk: Int = 2_048, _ transform: @Sendable (Element) -> R) -> [R] {
        let n = count
        let workers = Swift.min(System.activeProcessorCount, Swift.max(1, n / minimumChunk))
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
