import Foundation
import YKTCore

/// A rate: `count` requests per `seconds`, written `N/s`, `N/min` or `N/h` (`30/min`).
public struct Rate: Sendable, Hashable, CustomStringConvertible {
    public var count: Double
    public var seconds: Double

    public init(_ count: Double, per seconds: Double) {
        self.count = count
        self.seconds = seconds
    }

    public var perSecond: Double { count / seconds }

    /// Parses `N/s`, `N/min`, `N/h` (N a positive number); a bare `N` is `N/min`. Nil otherwise.
    public init?(parsing text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let n = Double(first), n > 0, n.isFinite, n <= 1_000_000 else { return nil }
        let unit = parts.count == 2 ? parts[1].lowercased() : "min"
        switch unit {
        case "s", "sec", "秒": self.init(n, per: 1)
        case "min", "m", "分": self.init(n, per: 60)
        case "h", "hour", "时": self.init(n, per: 3600)
        default: return nil
        }
    }

    public var description: String {
        let n = count == count.rounded() ? String(Int(count)) : String(count)
        switch seconds {
        case 1: return "\(n)/s"
        case 60: return "\(n)/min"
        case 3600: return "\(n)/h"
        default: return "\(n)/\(seconds)s"
        }
    }
}

/// Token buckets that limit how often one kind of request (queries, complaints) is answered:
/// one bucket per client address and one for everybody. A request takes a token from both;
/// when either is empty it is refused and told when to come back (`Retry-After`).
///
/// Memory is bounded: a bucket that has filled up again is the same as no bucket, so buckets
/// idle that long are dropped (swept at most once a second); and at most `maximumAddresses`
/// are kept: beyond them, new addresses share one overflow bucket until the sweep frees room
/// (a flood from very many addresses then meets the overflow bucket and the global one).
public final class RateLimiter: @unchecked Sendable {
    // Safe: every mutable field is guarded by `lock`; the rest is set in init.
    public struct Settings: Sendable, Hashable {
        /// Per client address: the sustained rate and the burst (bucket size).
        public var perAddress: Rate
        public var perAddressBurst: Int
        /// Everybody together.
        public var global: Rate
        public var globalBurst: Int

        public init(perAddress: Rate, perAddressBurst: Int, global: Rate, globalBurst: Int) {
            self.perAddress = perAddress
            self.perAddressBurst = max(1, perAddressBurst)
            self.global = global
            self.globalBurst = max(1, globalBurst)
        }

        /// Queries: 30 a minute per address after a burst of 10; 300 a second in all after a
        /// burst of 600. One query costs about half a millisecond of scrypt, so 300 a second
        /// keeps a two-core server well below saturation.
        public static let queries = Settings(perAddress: Rate(30, per: 60), perAddressBurst: 10, global: Rate(300, per: 1), globalBurst: 600)
        /// Complaints: 10 an hour per address after a burst of 3; 5 a second in all after 20.
        public static let complaints = Settings(perAddress: Rate(10, per: 3600), perAddressBurst: 3, global: Rate(5, per: 1), globalBurst: 20)
    }

    public enum Decision: Sendable, Equatable {
        case allowed
        /// Refused: whole seconds until a token is there again (at least 1).
        case refused(retryAfter: Int)
    }

    struct Bucket {
        var tokens: Double
        var updated: UInt64
    }

    public let settings: Settings
    public let maximumAddresses: Int
    let clock: @Sendable () -> UInt64
    private let lock = NSLock()
    private var buckets: [String: Bucket] = [:]
    private var overflow: Bucket
    private var global: Bucket
    private var lastSweep: UInt64

    /// `clock`: monotonic nanoseconds (tests pass their own).
    public init(_ settings: Settings, maximumAddresses: Int = 100_000, clock: @escaping @Sendable () -> UInt64 = RateLimiter.monotonicNow) {
        self.settings = settings
        self.maximumAddresses = max(1, maximumAddresses)
        self.clock = clock
        let now = clock()
        overflow = Bucket(tokens: Double(settings.perAddressBurst), updated: now)
        global = Bucket(tokens: Double(settings.globalBurst), updated: now)
        lastSweep = now
    }

    /// Takes a token for a request from `address`, or says when to retry.
    public func take(_ address: String) -> Decision {
        lock.withLock {
            let now = clock()
            sweep(now)
            var own: Bucket
            let known = buckets[address]
            let useOverflow = known == nil && buckets.count >= maximumAddresses
            if let known { own = known } else if useOverflow { own = overflow } else {
                own = Bucket(tokens: Double(settings.perAddressBurst), updated: now)
            }
            refill(&own, now, rate: settings.perAddress.perSecond, burst: settings.perAddressBurst)
            refill(&global, now, rate: settings.global.perSecond, burst: settings.globalBurst)
            let decision: Decision
            if own.tokens >= 1 && global.tokens >= 1 {
                own.tokens -= 1
                global.tokens -= 1
                decision = .allowed
            } else {
                let waitOwn = own.tokens >= 1 ? 0 : (1 - own.tokens) / settings.perAddress.perSecond
                let waitGlobal = global.tokens >= 1 ? 0 : (1 - global.tokens) / settings.global.perSecond
                decision = .refused(retryAfter: max(1, Int(max(waitOwn, waitGlobal).rounded(.up))))
            }
            if useOverflow { overflow = own } else { buckets[address] = own }
            return decision
        }
    }

    /// Monotonic time in nanoseconds.
    public static func monotonicNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Addresses with a bucket now (tests: memory stays bounded).
    public var trackedAddresses: Int { lock.withLock { buckets.count } }

    private func refill(_ b: inout Bucket, _ now: UInt64, rate: Double, burst: Int) {
        let elapsed = Double(now &- b.updated) / 1e9
        if now > b.updated {
            b.tokens = min(Double(burst), b.tokens + elapsed * rate)
            b.updated = now
        }
    }

    /// Drops the buckets that would be full by now (an address idle long enough).
    private func sweep(_ now: UInt64) {
        // Once a second; when the table is full, up to ten times a second (each sweep is one pass).
        let interval: UInt64 = buckets.count >= maximumAddresses ? 100_000_000 : 1_000_000_000
        guard now >= lastSweep, now - lastSweep >= interval else { return }
        lastSweep = now
        let rate = settings.perAddress.perSecond
        let burst = Double(settings.perAddressBurst)
        buckets = buckets.filter { _, b in b.tokens + Double(now &- b.updated) / 1e9 * rate < burst }
    }
}
