import YKTCore
import YKTStore

/// A domain operation as it sits in the outbox (format in `docs/operations.md`).
public struct Operation: Sendable, Codable, Hashable {
    /// The operation format version written in every body as `"v"`.
    public static let formatVersion = 1

    public var seq: Int64
    public var opID: String
    public var kind: String
    public var entity: String
    public var baseVersion: Int
    public var at: String
    public var state: String
    /// The canonical JSON text, exactly as it will be sent.
    public var body: String
}

extension TownshipNode {
    /// The outbox, oldest first; `state` filters (`pending`).
    public func outbox(state: String? = nil, limit: Int = Int.max) throws -> [Operation] {
        try db.all("""
            SELECT seq, op_id, kind, entity, base_version, at, state, body FROM outbox
            WHERE (?1 IS NULL OR state = ?1) ORDER BY seq LIMIT ?2
            """, state, Int64(min(limit, Int(Int64.max)))) { r in
            Operation(seq: r.int64(0), opID: r.text(1), kind: r.text(2), entity: r.text(3), baseVersion: r.int(4),
                      at: r.text(5), state: r.text(6), body: r.text(7))
        }
    }

    /// Counts of outbox operations by kind and state.
    public func outboxSummary() throws -> [(kind: String, state: String, count: Int)] {
        try db.all("SELECT kind, state, count(*) FROM outbox GROUP BY kind, state ORDER BY kind, state") {
            (kind: $0.text(0), state: $0.text(1), count: $0.int(2))
        }
    }
}
