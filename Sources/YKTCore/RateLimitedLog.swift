import Foundation

/// Logs a flood of the same event (connections refused, a peer retrying a refused change set)
/// as a trickle: for each key, the first event is written at once, then at most one line per
/// `interval`, carrying `suppressed=N`, the number of events of that key not written since the
/// previous line. `flush()` writes the count still pending (at shutdown). Time comes from the
/// logger's clock, so a test steps it instead of sleeping.
///
/// Memory stays bounded whatever the keys (a hostile peer can vary its address): at most
/// `maximumKeys` are tracked; when that is reached, keys whose interval has passed are dropped
/// (their pending counts written first), then, if need be, the one written longest ago.
public final class RateLimitedLog: @unchecked Sendable {
    // Safe: `entries` is guarded by `lock`; `logger` and the limits are immutable.
    private let lock = NSLock()
    public let logger: Logger
    public let interval: TimeInterval
    public let maximumKeys: Int
    private var entries: [String: Entry] = [:]

    private struct Entry {
        var lastWritten: Date
        var suppressed = 0
        /// The latest suppressed event, for `flush`.
        var latest: (level: LogLevel, message: String, metadata: [(key: String, value: String)])?
    }

    public init(_ logger: Logger, interval: TimeInterval, maximumKeys: Int = 1_000) {
        precondition(interval > 0 && maximumKeys > 0, "a rate limit needs a positive interval and room for a key")
        self.logger = logger
        self.interval = interval
        self.maximumKeys = maximumKeys
    }

    /// Writes the event now if `key` had no line in the last `interval` (with the count
    /// suppressed since), else counts it. Returns whether a line was written. Events below
    /// the logger's level are neither written nor counted.
    @discardableResult
    public func log(_ level: LogLevel, key: String, _ message: @autoclosure () -> String,
                    _ metadata: KeyValuePairs<String, String> = [:]) -> Bool {
        guard logger.isEnabled(level) else { return false }
        let now = logger.clock()
        var lines: [String] = []
        let written: Bool = lock.withLock {
            if var entry = entries[key], now.timeIntervalSince(entry.lastWritten) < interval {
                entry.suppressed += 1
                entry.latest = (level, message(), Array(metadata))
                entries[key] = entry
                return false
            }
            let suppressed = entries[key]?.suppressed ?? 0
            if entries[key] == nil && entries.count >= maximumKeys { lines += makeRoom(now) }
            entries[key] = Entry(lastWritten: now)
            lines.append(logger.line(level, message(), Array(metadata) + (suppressed > 0 ? [("suppressed", String(suppressed))] : [])))
            return true
        }
        // Written outside the lock: the writer has its own, and keeps each line whole.
        for line in lines { logger.writer.write(line) }
        return written
    }

    /// Writes, for every key with events suppressed since its last line, its latest event with
    /// the count, and forgets all keys.
    public func flush() {
        let lines = lock.withLock {
            defer { entries.removeAll() }
            return entries.keys.sorted().compactMap { pendingLine(entries[$0]!) }
        }
        for line in lines { logger.writer.write(line) }
    }

    /// Keys tracked now.
    public var trackedKeys: Int { lock.withLock { entries.count } }

    /// The line for what `entry` still holds back, if anything.
    private func pendingLine(_ entry: Entry) -> String? {
        guard entry.suppressed > 0, let e = entry.latest else { return nil }
        return logger.line(e.level, e.message, e.metadata + [("suppressed", String(entry.suppressed))])
    }

    /// Drops keys to make room for one more (under `lock`); returns their pending lines.
    private func makeRoom(_ now: Date) -> [String] {
        var lines: [String] = []
        for (key, entry) in entries where now.timeIntervalSince(entry.lastWritten) >= interval {
            if let line = pendingLine(entry) { lines.append(line) }
            entries[key] = nil
        }
        if entries.count >= maximumKeys, let oldest = entries.min(by: { $0.value.lastWritten < $1.value.lastWritten }) {
            if let line = pendingLine(oldest.value) { lines.append(line) }
            entries[oldest.key] = nil
        }
        return lines
    }
}
