import Foundation
import YKTCore
import YKTCrypto
import YKTStore
import YKTSync

/// The county's signed stream to each township, conflict resolution, and checkpoints.
extension CountyNode {
    /// Appends one signed message to `node`'s stream. Must run inside a transaction.
    func emit(to node: String, kind: String, data: JSONValue) throws {
        try emit(to: node, kind: kind, canonicalData: data.canonical)
    }

    /// The same, with `data` already canonical JSON (large messages are written directly).
    func emit(to node: String, kind: String, canonicalData data: String) throws {
        try emit([(node, kind, data)])
    }

    /// Several messages at once: numbered in order per township, signed on every core, stored
    /// in the caller's transaction.
    func emit(_ messages: [(node: String, kind: String, canonicalData: String)]) throws {
        var next: [String: Int64] = [:]
        let at = timestamp()
        var bodies: [(node: String, seq: Int64, kind: String, body: [UInt8])] = []
        for m in messages {
            let seq = try next[m.node] ?? ((try db.integer("SELECT max(seq) FROM downstream WHERE node_id = ?", m.node) ?? 0) + 1)
            next[m.node] = seq + 1
            bodies.append((m.node, seq, m.kind, Self.downstreamBody(at: at, county: config.nodeID, node: m.node, seq: seq, kind: m.kind,
                                                                    data: m.canonicalData.utf8)))
        }
        let key = try signingKey()
        let signatures = bodies.parallelMap(minimumChunk: 1) { b in Result { try key.sign(b.body) } }
        var signed: [SignedMessage] = []
        for (b, signature) in zip(bodies, signatures) {
            signed.append(SignedMessage(node: b.node, seq: b.seq, kind: b.kind, body: b.body, signature: try signature.get()))
        }
        try store(signed, at: at)
    }

    /// A downstream message as stored: its body (canonical JSON, valid UTF-8) and the county's
    /// signature of it.
    struct SignedMessage: Sendable {
        var node: String
        var seq: Int64
        var kind: String
        var body: [UInt8]
        var signature: [UInt8]
    }

    /// A downstream message's body: `{"at","county","data","kind","node","seq","v":1}`, with
    /// `data` canonical JSON already; bytes that are not valid UTF-8 are repaired (U+FFFD) as a
    /// `String` would be.
    static func downstreamBody(at: String, county: String, node: String, seq: Int64, kind: String, data: some Collection<UInt8>) -> [UInt8] {
        var body = CanonicalObjectWriter(capacity: data.count + 160)
        body.string("at", at)
        body.string("county", county)
        body.raw("data", utf8: data)
        body.string("kind", kind)
        body.string("node", node)
        body.int("seq", seq)
        body.int("v", 1)
        let bytes = body.finishBytes()
        return UTF8Check.isValid(bytes) ? bytes : Array(String(decoding: bytes, as: UTF8.self).utf8)
    }

    /// Stores signed messages (numbered and signed by the caller, with the county's active key)
    /// in the caller's transaction; a number already taken fails the transaction.
    func store(_ messages: [SignedMessage], at: String) throws {
        let insert = try db.statement("""
            INSERT INTO downstream(node_id, seq, kind, body, signature, created_at, key_id) VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        for m in messages {
            insert.reset()
            try insert.bind(1, m.node)
            try insert.bind(2, m.seq)
            try insert.bind(3, m.kind)
            try insert.bind(4, utf8Text: m.body)
            try insert.bind(5, blob: m.signature)
            try insert.bind(6, at)
            try insert.bind(7, keyID)
            try insert.execute()
        }
    }

    /// The messages after `after` for `peer`, as one JSON line each:
    /// `{"key":"<county key id>","message":"…","signature":"hex"}`, then one line with the
    /// county's signed audit head (`streamAnchorLine`), with the county's rotation statements
    /// beside them (`Answer.keyChain`). A disabled township is refused (`YKT-SYNC-DISABLED`).
    /// Asking for `after` acknowledges everything up to it. A township ahead of the county (the
    /// county was restored from an old backup) or behind what it already acknowledged (the
    /// township was restored) is refused with an explanation, never silently served.
    ///
    /// `anchor` is the last anchor of the county's audit trail the township holds: when the
    /// county's chain does not have that hash at that entry (the county's history was rewritten
    /// after the township recorded it), the answer is `409 YKT-AUDIT-ANCHOR` and the finding is
    /// recorded in the county's trail (`audit.anchor.mismatch`).
    public func stream(peer: String, after: Int64, limit: Int = 1_000, anchor: AuditHead? = nil) -> Answer {
        do {
            if let refused = try disabledRefusal(peer) { return Self.refusal(refused, position: nil) }
            let last = try db.integer("SELECT max(seq) FROM downstream WHERE node_id = ?", peer) ?? 0
            let acked = try db.integer("SELECT acked FROM checkpoint WHERE node_id = ?", peer) ?? 0
            if after > last {
                return Self.refusal(YKTError(.syncRestored, "乡镇 \(peer) 已确认到第 \(after) 条下行消息，县里只有 \(last) 条",
                                        hint: "县级节点可能从旧备份恢复过：停止同步，报告系统管理员核对"), position: nil, status: 409)
            }
            if after < acked {
                return Self.refusal(YKTError(.syncRestored, "乡镇 \(peer) 要求从第 \(after + 1) 条下行消息开始，但它早已确认到第 \(acked) 条",
                                        hint: "乡镇节点可能从旧备份恢复过：停止同步，报告县财政系统管理员核对"), position: nil, status: 409)
            }
            if let anchor, let refused = try checkTownshipHeldAnchor(anchor, peer: peer) { return refused }
            // A position that moved (or the first one) is recorded with an audit entry; asking
            // again from the same position (a scheduled round that brought nothing) only notes
            // when the township was last seen, outside the audit trail.
            let known = try db.integer("SELECT count(*) FROM checkpoint WHERE node_id = ?", peer) == 1
            if !known || after != acked {
                try perform("downstream.ack", object: "township/\(peer)", detail: "乡镇确认已收到下行消息至第 \(after) 条") {
                    try db.run("""
                        INSERT INTO checkpoint(node_id, acked, acked_at, seen_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT(node_id) DO UPDATE SET acked = excluded.acked, acked_at = excluded.acked_at, seen_at = excluded.seen_at
                        """, peer, after, timestamp(), timestamp())
                }
            } else {
                // Not worth a sync of its own (about 0.3 ms of a small round): the next receipt's syncs it.
                try db.unsynced { try db.run("UPDATE checkpoint SET seen_at = ? WHERE node_id = ?", timestamp(), peer) }
            }
            try markRefusalsOvercome(peer)
            var out: [UInt8] = []
            try db.forEach("SELECT body, signature, key_id FROM downstream WHERE node_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                           peer, after, limit) { r in
                var line: [String: JSONValue] = ["message": .string(r.text(0)), "signature": .string(Hex.encode(r.blob(1)))]
                if let key = r.optionalText(2) { line["key"] = .string(key) }
                out += Array(JSONValue.object(line).canonical.utf8) + [0x0A]
            }
            // Last, the county's audit head, signed: each township keeps it as an anchor.
            out += try streamAnchorLine(peer: peer)
            var answer = Answer(status: 200, body: out, signature: nil)
            answer.keyID = try signingKey().publicKey.keyID
            answer.keyChain = try keyChain()
            return answer
        } catch let e as YKTError {
            return Self.refusal(e, position: nil, status: 500)
        } catch {
            return Self.refusal(YKTError(.internalError, "\(error)"), position: nil, status: 500)
        }
    }
}

extension CountyNode {
    /// One side of a conflict: the operation as the township sent it, and where it came from.
    public struct ConflictSide: Sendable, Codable {
        public var node: String
        public var changeSet: Int64
        public var operation: String
        /// The operation's canonical body, verbatim (full personal data: for the admin only).
        public var body: String
    }

    /// Both sides of a conflict, read back from the stored change sets (the evidence): the other
    /// township's operation first, then the one that ran into it.
    public func conflictSides(_ id: Int64) throws -> (conflict: Conflict, sides: [ConflictSide]) {
        guard let c = try conflicts(ConflictFilter(ids: [id])).first else {
            throw YKTError(.conflictUnknown, "没有编号为 \(id) 的冲突", hint: "用 ykt conflicts list 查看")
        }
        let entity = try db.first("SELECT entity FROM conflict WHERE id = ?", id) { $0.text(0) } ?? ""
        var sides: [ConflictSide] = []
        if c.kind == ProgramGate.conflictKind {
            // One conflict for a change set's applications: the first few of them, as sent.
            let ops = try db.all("SELECT op_seq, changeset_seq FROM operation WHERE node_id = ? AND conflict_id = ? ORDER BY op_seq LIMIT 3",
                                 c.node, id) { (op: $0.int64(0), set: $0.int64(1)) }
            guard let set = ops.first?.set, let bytes = try evidence(node: c.node, seq: set) else { return (c, []) }
            for o in ops {
                let body = try StoredOperation.find(in: bytes, id: "\(c.node)-\(o.op)")
                sides.append(ConflictSide(node: c.node, changeSet: o.set, operation: "\(c.node)-\(o.op)", body: body ?? ""))
            }
            return (c, sides)
        }
        // The other township's operations first, then this one's, each in order.
        let ops = try decidedOperations(entity: entity, nodes: [c.node, c.otherNode ?? c.node])
            .sorted { ($0.node == c.node ? 1 : 0, $0.op) < ($1.node == c.node ? 1 : 0, $1.op) }
        for o in ops {
            guard let bytes = try evidence(node: o.node, seq: o.set) else { continue }
            let body = try StoredOperation.find(in: bytes, id: "\(o.node)-\(o.op)")
            sides.append(ConflictSide(node: o.node, changeSet: o.set, operation: "\(o.node)-\(o.op)", body: body ?? ""))
        }
        if c.kind == "account.both-sides" {
            // The township's account change that ran into the county's, and the county's change.
            sides = sides.filter { $0.operation == "\(c.node)-\(c.opSeq)" }
            if let county = try countyAccountSide(entity: entity) { sides.insert(county, at: 0) }
        }
        return (c, sides)
    }
}

extension CountyNode {
    /// Reads every change-set body in the townships' evidence files back and checks it
    /// against its signed header (length and SHA-256): what `ykt audit verify` adds at the
    /// county. Returns how many were checked and what does not match.
    public func verifyEvidence() throws -> (changeSets: Int, problems: [String]) {
        var problems: [String] = []
        var checked = 0
        let stored = try db.all("""
            SELECT node_id, seq, bytes, body_offset FROM upstream WHERE body_offset IS NOT NULL ORDER BY node_id, seq
            """) { ($0.text(0), $0.int64(1), $0.blob(2), $0.int64(3)) }
        for (node, seq, headerBytes, offset) in stored {
            checked += 1
            do {
                let header = try ChangeSet.readHeader(headerBytes).header
                try EvidenceFile.verify(nodeDirectory: directory, node: node, seq: seq, header: header, offset: offset)
            } catch {
                problems.append(error.message)
            }
        }
        return (checked, problems)
    }

    /// A stored change set's bytes as the township sent them: the signed header, then the
    /// body from the township's evidence file (checked against the header's length and hash),
    /// or from its parts for a change set stored before schema version 9.
    public func evidence(node: String, seq: Int64) throws -> [UInt8]? {
        guard let stored = try db.first("SELECT bytes, body_offset FROM upstream WHERE node_id = ? AND seq = ?", node, seq,
                                        map: { ($0.blob(0), $0.isNull(1) ? nil : $0.int64(1)) }) else {
            return nil
        }
        var bytes = stored.0
        if let offset = stored.1 {
            let header = try ChangeSet.readHeader(bytes).header
            bytes += try EvidenceFile.body(nodeDirectory: directory, node: node, seq: seq, header: header, offset: offset)
            return bytes
        }
        try db.forEach("SELECT bytes FROM upstream_part WHERE node_id = ? AND seq = ? ORDER BY part", node, seq) {
            bytes.append(contentsOf: $0.blob(0))
        }
        return bytes
    }
}

/// Finding one operation's line in a stored change set.
enum StoredOperation {
    static func find(in bytes: [UInt8], id: String) throws -> String? {
        let marker = Array("\"id\":\"\(id)\"".utf8)
        for line in bytes.split(separator: 0x0A) where line.count > marker.count {
            let l = Array(line)
            if l.first == UInt8(ascii: "{"), (0...(l.count - marker.count)).contains(where: { Array(l[$0..<($0 + marker.count)]) == marker }) {
                return String(decoding: l, as: UTF8.self)
            }
        }
        return nil
    }
}
