import YKTCore
import YKTCrypto
import YKTNode
import YKTStore
import YKTSync

/// Turning the outbox into signed change sets (docs/protocol.md). Sending them is the sync
/// transport's job (issue 3); here they are built, signed and kept until acknowledged.
extension TownshipNode {
    public struct StoredChangeSet: Sendable {
        public var set: ChangeSet
        public var signature: [UInt8]
        public var firstOp: Int64
        public var lastOp: Int64
        public var acknowledged: Bool
    }

    /// The oldest change set not yet acknowledged, or a new one holding up to `maxOperations`
    /// pending operations that follow the last one batched; nil when there is nothing to send.
    /// An unacknowledged set is returned byte for byte as it was signed (its body rebuilt from
    /// the outbox and checked against the signed header), so a retry after an interruption
    /// re-sends exactly what was signed (the county answers a replay with its stored receipt).
    /// With `after` (a change set already sent, its answer not yet read), the next one after it.
    /// `maxBytes` bounds the body too (`changeSetBodyBudget`). While a key rotation waits for the
    /// county's confirmation, new sets are signed with the old key and carry the rotation
    /// statement (`key-next`); with nothing pending, one empty set is built to carry it.
    public func nextChangeSet(maxOperations: Int = 1_000, maxBytes: Int = TownshipNode.changeSetBodyBudget,
                              after: Int64 = 0) throws -> StoredChangeSet? {
        precondition(maxOperations > 0)
        if let pending = try storedChangeSets(state: "built").first(where: { $0.set.header.seq > after }) {
            return try withBody(pending)
        }
        let (key, rotation) = try signingState()
        let keyID = try key.publicKey.keyID
        // Nothing pending writes nothing, not even an audit entry: an empty scheduled round
        // leaves no trace (docs/operations-guide.md, "ykt status").
        return try performUnlessIdle("changeset.build") { () throws -> (StoredChangeSet?, AuditNote?) in
            let last = try db.first("SELECT seq, hash, last_op FROM changeset_out ORDER BY seq DESC LIMIT 1") {
                (seq: $0.int64(0), hash: $0.text(1), lastOp: $0.int64(2))
            }
            let room = ChangeSet.maximumHeaderBytes
            let (first, end, count, framed) = try outboxBodies(after: last?.lastOp ?? 0, limit: maxOperations, maxBytes: maxBytes,
                                                               headroom: room)
            guard count > 0 || rotation != nil else {
                return (nil, nil)
            }
            // The outbox is gapless; a change set must continue it exactly.
            let firstOp = (last?.lastOp ?? 0) + 1
            guard count == 0 || (first == firstOp && end - first + 1 == Int64(count)) else {
                throw YKTError(.internalError, "待发送操作从 \(first) 开始，上一变更集止于 \(last?.lastOp ?? 0)")
            }
            let lastOp = firstOp + Int64(count) - 1
            let seq = (last?.seq ?? 0) + 1
            // The audit head goes with the operations, read in the same transaction: the county
            // keeps it as an anchor of this node's audit trail (this build's own entry follows it).
            let set = ChangeSet.build(node: config.nodeID, keyID: keyID, seq: seq, prev: last?.hash ?? ChangeSet.genesisHash,
                                      count: count, framed: consume framed, bodyAt: room, audit: try AuditLog.head(db: db),
                                      keyNext: rotation?.field)
            // The signature covers the header, which names the body's length and SHA-256.
            let signature = try key.sign(Array(set.headerBytes))
            try db.run("""
                INSERT INTO changeset_out(seq, first_op, last_op, key_id, prev, hash, bytes, signature, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, seq, firstOp, lastOp, keyID, set.header.prev, set.hash, DatabaseValue.blob(Array(set.headerBytes)),
                       DatabaseValue.blob(signature), timestamp())
            let stored = StoredChangeSet(set: set, signature: signature, firstOp: firstOp, lastOp: lastOp,
                                         acknowledged: false)
            return (stored, AuditNote(object: "changeset#\(seq)", detail: "打包第 \(seq) 号变更集：操作第 \(firstOp)–\(lastOp) 条，sha256:\(set.hash.prefix(16))"
                                      + (rotation.map { "，附换钥声明（新密钥 \($0.newKey.keyID)）" } ?? "")))
        }
    }

    /// Stored change sets, oldest first, with their signed headers (`set.bytes` is the header
    /// only; `withBody` adds the body); `state` filters (`built`, `acknowledged`).
    public func storedChangeSets(state: String? = nil) throws -> [StoredChangeSet] {
        let columns = "SELECT bytes, signature, first_op, last_op, state FROM changeset_out"
        let sql = state == nil ? columns + " ORDER BY seq" : columns + " WHERE state = ? ORDER BY seq"
        let args: [any DatabaseValueConvertible] = state.map { [$0] } ?? []
        var out: [StoredChangeSet] = []
        try db.statement(sql).forEach(args) { r in
            out.append(StoredChangeSet(set: try ChangeSet.readHeader(r.blob(0)), signature: r.blob(1), firstOp: r.int64(2),
                                       lastOp: r.int64(3), acknowledged: r.text(4) == "acknowledged"))
        }
        return out
    }

    /// A stored change set with its body, rebuilt from the outbox (operations never change
    /// once written) and checked against the signed header: the same bytes as first sent.
    public func withBody(_ stored: StoredChangeSet) throws -> StoredChangeSet {
        let h = stored.set.header
        let signed = stored.set.headerBytes
        // The body is written after room for the signed header, which then fills that room.
        var (_, _, count, bytes) = try outboxBodies(after: stored.firstOp - 1, limit: Int(stored.lastOp - stored.firstOp + 1),
                                                    maxBytes: Int.max, headroom: signed.count)
        guard count == h.ops, bytes.count - signed.count == h.bodyBytes,
              Hex.encode(SHA256.hash(bytes[signed.count...])) == h.bodySHA256 else {
            throw YKTError(.internalError, "第 \(h.seq) 号变更集的正文不能从操作队列原样重建",
                           hint: "操作队列被改动过；请联系县财政系统管理员")
        }
        bytes.replaceSubrange(0..<signed.count, with: signed)
        var copy = stored
        copy.set = try ChangeSet.readHeader(bytes)
        return copy
    }
}
