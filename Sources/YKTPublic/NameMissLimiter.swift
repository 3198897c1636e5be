import Foundation
import YKTCore

/// Misses counted per *name*, whatever the address (docs/public.md, 「限速」): a public page
/// shows a name with the ID's first 6 and last 4 characters, and the 8 hidden ones (a birth
/// date) leave only about 1,000–2,600 candidates; without this, many addresses together could
/// try them all through the query form and confirm the right one. After `limit` misses for one
/// normalised name, queries for that name are refused (before any lookup, so a refusal tells
/// nothing) until `windowSeconds` after its first counted miss. A hit does not count.
///
/// The name itself is never kept: the table's key is the first 16 bytes of HMAC-SHA-256 of the
/// name under the server's random secret (made at start). Memory is bounded: entries whose
/// window has passed are swept; at most `maximumNames` are kept, and beyond that new names
/// share one overflow entry (which then refuses them all once it has `limit` misses: the
/// protection holds, at the cost of service for names not yet in the table, until the sweep
/// frees room).
public final class NameMissLimiter: @unchecked Sendable {
    // Safe: every mutable field is guarded by `lock`; the rest is set in init.
    struct Key: Hashable {
        var a: UInt64
        var b: UInt64
    }

    struct Entry {
        var misses: Int
        var since: UInt64
    }

    public let limit: Int
    public let windowSeconds: Double
    public let maximumNames: Int
    let clock: @Sendable () -> UInt64
    private let secret: [UInt8]
    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]
    private var overflow: Entry?
    private var lastSweep: UInt64

    public init(limit: Int, windowSeconds: Double = 24 * 3600, maximumNames: Int = 1_000_000, secret: [UInt8],
                clock: @escaping @Sendable () -> UInt64 = RateLimiter.monotonicNow) {
        self.limit = max(1, limit)
        self.windowSeconds = windowSeconds
        self.maximumNames = max(1, maximumNames)
        self.secret = secret
        self.clock = clock
        lastSweep = clock()
    }

    func key(_ name: String) -> Key {
        let mac = PublicServer.hmac(key: secret, Array("ykt-public-name|\(name)".utf8))
        func word(_ at: Int) -> UInt64 { mac[at..<at + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        return Key(a: word(0), b: word(8))
    }

    private var window: UInt64 { UInt64(windowSeconds * 1e9) }

    private func live(_ entry: Entry?, _ now: UInt64) -> Entry? {
        guard let entry, now &- entry.since < window || now < entry.since else { return nil }
        return entry
    }

    /// Whether queries for `name` (normalised) are refused now: nil when allowed, else whole
    /// seconds until they are answered again.
    public func refused(_ name: String) -> Int? {
        lock.withLock {
            let now = clock()
            sweep(now)
            let k = key(name)
            let entry = entries[k] ?? (entries.count >= maximumNames ? overflow : nil)
            guard let e = live(entry, now), e.misses >= limit else { return nil }
            let left = Double(window - min(window, now &- e.since)) / 1e9
            return max(1, Int(left.rounded(.up)))
        }
    }

    /// Counts a miss for `name`.
    public func miss(_ name: String) {
        lock.withLock {
            let now = clock()
            sweep(now)
            let k = key(name)
            if entries[k] == nil && entries.count >= maximumNames {
                var e = live(overflow, now) ?? Entry(misses: 0, since: now)
                e.misses += 1
                overflow = e
                return
            }
            var e = live(entries[k], now) ?? Entry(misses: 0, since: now)
            e.misses += 1
            entries[k] = e
        }
    }

    /// Names with an entry now (tests: memory stays bounded).
    public var trackedNames: Int { lock.withLock { entries.count } }

    /// Drops the entries whose window has passed (at most once a minute; each sweep is one pass).
    private func sweep(_ now: UInt64) {
        guard now >= lastSweep, now - lastSweep >= 60_000_000_000 || entries.count >= maximumNames && now - lastSweep >= 1_000_000_000 else { return }
        lastSweep = now
        entries = entries.filter { live($0.value, now) != nil }
    }
}
