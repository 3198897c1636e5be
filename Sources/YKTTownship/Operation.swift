import YKTCore
import YKTNode
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
        writeBody(into: &out, kind: kind.utf8, node: node, seq: seq, entity: entity.utf8, baseVersion: Int64(baseVersion),
                  at: at.utf8, by: by.utf8, data: data.utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// `body`, appended to `out` from UTF-8 bytes (straight from the outbox rows when a change
    /// set is built, with no `String` made per field).
    static func writeBody<T: Collection<UInt8>, U: Collection<UInt8>, V: Collection<UInt8>, W: Collection<UInt8>, X: Collection<UInt8>>(
        into out: inout [UInt8], kind: T, node: String, seq: Int64, entity: U, baseVersion: Int64, at: V, by: W, data: X) {
        func key(_ k: StaticString) {
            out.append(UInt8(ascii: ","))
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: ":"))
        }
        func integer(_ n: Int64) { out.append(contentsOf: String(n).utf8) }
        out.append(contentsOf: #"{"at":"#.utf8)
        JSONValue.writeString(utf8: at, into: &out)
        key("base"); integer(baseVersion)
        key("by"); JSONValue.writeString(utf8: by, into: &out)
        key("data"); out.append(contentsOf: data)
        key("entity"); JSONValue.writeString(utf8: entity, into: &out)
        key("id")
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: node.utf8)
        out.append(UInt8(ascii: "-"))
        integer(seq)
        out.append(UInt8(ascii: "\""))
        key("node"); JSONValue.writeString(node, into: &out)
        key("op"); JSONValue.writeString(utf8: kind, into: &out)
        key("seq"); integer(seq)
        key("v"); integer(Int64(formatVersion))
        out.append(UInt8(ascii: "}"))
    }
}

extension TownshipNode {
    /// The outbox, oldest first; `state` filters (`pending`).
    public func outbox(state: String? = nil, after: Int64 = 0, limit: Int = Int.max) throws -> [Operation] {
        try db.all("""
            SELECT o.seq, o.kind, o.entity, o.base_version, o.at, o.by_operator, s.state, o.data
            FROM outbox o JOIN outbox_state s ON s.seq = o.seq
            WHERE (?1 IS NULL OR s.state = ?1) AND o.seq > ?3 ORDER BY o.seq LIMIT ?2
            """, state, Int64(min(limit, Int(Int64.max))), after) { r in
            let node = config.nodeID
            return Operation(seq: r.int64(0), opID: "\(node)-\(r.int64(0))", kind: r.text(1), entity: r.text(2),
                             baseVersion: r.int(3), at: r.text(4), by: r.text(5), state: r.text(6),
                             body: Operation.body(kind: r.text(1), node: node, seq: r.int64(0), entity: r.text(2),
                                                  baseVersion: r.int(3), at: r.text(4), by: r.text(5), data: r.text(7)))
        }
    }

    /// The most body bytes a change set is built with (at least one operation always goes in,
    /// whatever its size: a roster is one operation with all its lines). The county streams a
    /// change set in, so this bounds the township's memory (it holds the body it sends and the
    /// next one), not the county's. 96 MiB (about 200,000 registrations): a register's first
    /// sync of a million makes six commits at the county instead of twelve, each of which
    /// writes the pages of its random index entries again (docs/performance.md).
    public static let changeSetBodyBudget = 96 << 20

    /// The bodies of up to `limit` operations after `after`, and about no more than `maxBytes`
    /// (each operation is counted at its data's size plus 300), each followed by a line end, written from the rows into one
    /// buffer after `headroom` zero bytes (room for the change set's header, `ChangeSet.build(framed:bodyAt:)`):
    /// what a change set carries.
    func outboxBodies(after: Int64, limit: Int, maxBytes: Int = changeSetBodyBudget, headroom: Int = 0) throws
        -> (first: Int64, last: Int64, count: Int, bytes: [UInt8]) {
        var bytes: [UInt8] = []
        // Room for the whole body at once (a registration's line is about 480 bytes): grown by
        // doubling from 1 MiB, a 48 MiB body was copied 63 MiB more and faulted in twice over,
        // a tenth of a large push's CPU at the township.
        bytes.reserveCapacity(headroom + (limit > maxBytes / 512 ? maxBytes + 4_096 : limit * 512 + 4_096))
        bytes.append(contentsOf: repeatElement(0, count: headroom))
        var first: Int64 = 0, last: Int64 = 0, count = 0
        var full = false
        let node = config.nodeID
        try db.statement("""
            SELECT seq, kind, entity, base_version, at, by_operator, data FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?
            """).forEach([after, Int64(min(limit, Int(Int64.max)))]) { r in
            guard !full else { return }
            let seq = r.int64(0)
            if count > 0 && bytes.count - headroom + r.utf8(6).count + 300 > maxBytes {
                full = true
                return
            }
            if count == 0 { first = seq }
            last = seq
            count += 1
            Operation.writeBody(into: &bytes, kind: r.utf8(1), node: node, seq: seq, entity: r.utf8(2), baseVersion: r.int64(3),
                                at: r.utf8(4), by: r.utf8(5), data: r.utf8(6))
            bytes.append(0x0A)
        }
        return (first, last, count, bytes)
    }

    /// Counts of outbox operations by kind and state.
    /// An operation the county rejected or recorded as a conflict, with its rule and reason.
    public struct OutboxProblem: Sendable, Codable {
        public var seq: Int64
        public var kind: String
        public var entity: String
        public var status: String
        public var rule: String?
        public var reason: String?
        public var conflict: Int64?
    }

    /// The operations the county did not accept, in order (`ykt outbox list --problems`).
    public func outboxProblems(limit: Int = Int.max) throws -> [OutboxProblem] {
        try db.all("""
            SELECT r.seq, o.kind, o.entity, r.status, r.rule, r.reason, r.conflict_id FROM op_result r JOIN outbox o ON o.seq = r.seq
            ORDER BY r.seq LIMIT ?
            """, Int64(min(limit, Int(Int64.max)))) {
            OutboxProblem(seq: $0.int64(0), kind: $0.text(1), entity: $0.text(2), status: $0.text(3), rule: $0.optionalText(4),
                          reason: $0.optionalText(5), conflict: $0.optionalInt64(6))
        }
    }

    public func outboxSummary() throws -> [(kind: String, state: String, count: Int)] {
        try db.all("""
            SELECT o.kind, s.state, count(*) FROM outbox o JOIN outbox_state s ON s.seq = o.seq
            GROUP BY o.kind, s.state ORDER BY o.kind, s.state
            """) {
            (kind: $0.text(0), state: $0.text(1), count: $0.int(2))
        }
    }
}
