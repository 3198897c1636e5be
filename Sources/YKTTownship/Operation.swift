import YKTCore
import YKTStore

/// A domain operation as it sits in the outbox (format in `docs/operations.md`).
public struct Operation: Sendable, Codable, Hashable {
    /// The operation format version written in every body as `"v"`.
    public static let formatVersion = 1

    public var seq: Int64
    /// `<node>-<seq>`
    public var opID: String
    public var kind: String
    public var entity: String
    public var baseVersion: Int
    public var at: String
    public var by: String
    public var state: String
    /// The canonical JSON text, exactly as it will be sent.
    public var body: String

    /// The canonical body of an operation (`docs/operations.md`): the canonical JSON of the
    /// envelope, whose keys in sorted order are at, base, by, data, entity, id, node, op, seq, v.
    /// `data` is already canonical JSON. The outbox stores the envelope's fields as columns and
    /// `data` as text; the body is rebuilt from them byte for byte, so it is never stored twice.
    public static func body(kind: String, node: String, seq: Int64, entity: String, baseVersion: Int, at: String,
                            by: String, data: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(data.utf8.count + 200)
        func key(_ k: String) { out.append(contentsOf: ",\"\(k)\":".utf8) }
        out.append(contentsOf: "{\"at\":".utf8)
        JSONValue.writeString(at, into: &out)
        key("base"); out.append(contentsOf: String(baseVersion).utf8)
        key("by"); JSONValue.writeString(by, into: &out)
        key("data"); out.append(contentsOf: data.utf8)
        key("entity"); JSONValue.writeString(entity, into: &out)
        key("id"); JSONValue.writeString("\(node)-\(seq)", into: &out)
        key("node"); JSONValue.writeString(node, into: &out)
        key("op"); JSONValue.writeString(kind, into: &out)
        key("seq"); out.append(contentsOf: String(seq).utf8)
        key("v"); out.append(contentsOf: String(formatVersion).utf8)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}

extension TownshipNode {
    /// The outbox, oldest first; `state` filters (`pending`).
    public func outbox(state: String? = nil, after: Int64 = 0, limit: Int = Int.max) throws -> [Operation] {
        try db.all("""
            SELECT seq, kind, entity, base_version, at, by_operator, state, data FROM outbox
            WHERE (?1 IS NULL OR state = ?1) AND seq > ?3 ORDER BY seq LIMIT ?2
            """, state, Int64(min(limit, Int(Int64.max))), after) { r in
            let node = config.nodeID
            return Operation(seq: r.int64(0), opID: "\(node)-\(r.int64(0))", kind: r.text(1), entity: r.text(2),
                             baseVersion: r.int(3), at: r.text(4), by: r.text(5), state: r.text(6),
                             body: Operation.body(kind: r.text(1), node: node, seq: r.int64(0), entity: r.text(2),
                                                  baseVersion: r.int(3), at: r.text(4), by: r.text(5), data: r.text(7)))
        }
    }

    /// Counts of outbox operations by kind and state.
    public func outboxSummary() throws -> [(kind: String, state: String, count: Int)] {
        try db.all("SELECT kind, state, count(*) FROM outbox GROUP BY kind, state ORDER BY kind, state") {
            (kind: $0.text(0), state: $0.text(1), count: $0.int(2))
        }
    }
}
