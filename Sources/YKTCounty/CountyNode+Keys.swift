import Foundation
import YKTCore
import YKTCrypto
import YKTNode
import YKTStore
import YKTSync

/// Keys that can be cut off and rotated (issue 15, item 6; docs/protocol.md "密钥"): townships
/// disabled and enabled again, and the county's own signing key rotated.
extension CountyNode {
    /// One enrolled township as the county holds it.
    public struct Township: Sendable, Codable {
        public var code: String
        public var name: String
        public var enrolledAt: String
        public var keyID: String?
        public var disabledAt: String?
        public var disabledBy: String?
        public var disabledReason: String?
    }

    public func townships() throws -> [Township] {
        try db.all("""
            SELECT t.node_id, t.name, t.enrolled_at,
                   (SELECT key_id FROM node_key k WHERE k.node_id = t.node_id AND k.active = 1 ORDER BY registered_at DESC LIMIT 1),
                   t.disabled_at, t.disabled_by, t.disabled_reason
            FROM township t ORDER BY t.node_id
            """) {
            Township(code: $0.text(0), name: $0.text(1), enrolledAt: $0.text(2), keyID: $0.optionalText(3), disabledAt: $0.optionalText(4),
                     disabledBy: $0.optionalText(5), disabledReason: $0.optionalText(6))
        }
    }

    /// Disables a township: from the commit on, every change set and stream request from it is
    /// refused at once (`YKT-SYNC-DISABLED`), before a byte of a change set's body is read, by
    /// this process and by a running `ykt serve` alike (each request reads the database).
    public func disable(township code: String, reason: String) throws {
        let why = reason.trimmed
        guard !why.isEmpty else {
            throw YKTError(.fieldMissing, "停用乡镇须写明理由", at: SourceLocation(field: "--reason"), hint: "例如 --reason 签名密钥疑似被盗")
        }
        try perform("township.disable", object: "township/\(code)", detail: why) {
            guard try db.integer("SELECT count(*) FROM township WHERE node_id = ?", code) == 1 else {
                throw YKTError(.townshipUnknown, "县级没有登记乡镇 \(code)", at: SourceLocation(field: "乡镇代码"),
                               hint: "用 ykt township list 查看已登记的乡镇")
            }
            try db.run("UPDATE township SET disabled_at = ?, disabled_by = ?, disabled_reason = ? WHERE node_id = ?",
                       timestamp(), operatorName, why, code)
        }
    }

    /// Enables a disabled township again (its keys are as they were; enrol a new key first
    /// when the old one may be in other hands).
    public func enable(township code: String, reason: String) throws {
        let why = reason.trimmed
        guard !why.isEmpty else {
            throw YKTError(.fieldMissing, "重新启用乡镇须写明理由", at: SourceLocation(field: "--reason"))
        }
        try perform("township.enable", object: "township/\(code)", detail: why) {
            guard try db.integer("SELECT count(*) FROM township WHERE node_id = ?", code) == 1 else {
                throw YKTError(.townshipUnknown, "县级没有登记乡镇 \(code)", at: SourceLocation(field: "乡镇代码"),
                               hint: "用 ykt township list 查看已登记的乡镇")
            }
            try db.run("UPDATE township SET disabled_at = NULL, disabled_by = NULL, disabled_reason = NULL WHERE node_id = ?", code)
        }
    }

    /// The refusal of a disabled township, or nil when `code` may sync. Read per request.
    public func disabledRefusal(_ code: String) throws -> YKTError? {
        guard let row = try db.first("SELECT disabled_at, disabled_reason FROM township WHERE node_id = ? AND disabled_at IS NOT NULL",
                                     code, map: { (at: $0.text(0), reason: $0.text(1)) }) else { return nil }
        return YKTError(.syncDisabled, "乡镇 \(code) 已于 \(row.at) 被县财政停用（理由：\(row.reason)），同步一律拒收",
                        hint: "乡镇：请联系县财政系统管理员；县财政核实后可用 ykt township enable \(code) 重新启用")
    }

    /// The signing key the database names as active (a rotation made by another process is
    /// followed: the new key is read from the node directory), loaded once per change.
    func signingKey() throws -> Ed25519.PrivateKey {
        guard let active = try db.first("SELECT key_id FROM county_key WHERE state = 'active'", map: { $0.text(0) }) else { return key }
        if active == keyID { return key }
        // The rotation committed; its file may still be `signing.key.next` (renamed just after).
        if let next = try NodeKey.loadNext(from: directory), try next.publicKey.keyID == active {
            try? NodeKey.promote(in: directory)
            (key, keyID) = (next, active)
            return next
        }
        let current = try NodeKey.load(from: directory)
        guard try current.publicKey.keyID == active else {
            throw YKTError(.nodeConfig, "数据库记录的县级现用签名密钥 \(active) 在节点目录中找不到（\(NodeKey.fileName) 是 \(try current.publicKey.keyID)）",
                           at: SourceLocation(file: NodeKey.fileName), hint: "从备份恢复 \(NodeKey.fileName)，或与数据库同一时刻的备份一起恢复")
        }
        (key, keyID) = (current, active)
        return current
    }

    /// The county's rotation statements, oldest first (at most the last 16): sent beside every
    /// receipt and stream answer so a township can follow them from the key it trusts.
    func keyChain() throws -> [KeyRotation] {
        try db.all("SELECT statement FROM county_key WHERE statement IS NOT NULL ORDER BY created_at DESC, key_id LIMIT 16") {
            $0.text(0)
        }.reversed().map { try KeyRotation(text: $0) }
    }

    /// `body` signed with the active key, the key's id and the chain of statements beside it.
    func signedAnswer(_ body: [UInt8]) throws -> Answer {
        let key = try signingKey()
        var answer = Answer(status: 200, body: body, signature: try key.sign(body))
        answer.keyID = keyID
        answer.keyChain = try keyChain()
        return answer
    }

    /// Rotates the county's signing key: a new key (`signing.key.next`), a statement signed by
    /// the current key and the new one, in one transaction with the audit entry: the new key
    /// active, the old one retired, and every stream message not yet acknowledged signed again
    /// with the new key (so a township never meets the retired key after the announcement).
    /// Then the new key replaces `signing.key`. Townships accept it on their next sync, from
    /// the statement signed by the key they trust.
    public func rotateKey() throws -> KeyRotation {
        let old = try signingKey()
        let oldID = keyID
        let new = try NodeKey.createNext(in: directory)
        let newID = try new.publicKey.keyID
        let rotation = try KeyRotation.make(node: config.nodeID, old: old, new: new, at: timestamp())
        try perform("county.key.rotate", object: "county/\(config.nodeID)", detail: "\(oldID) → \(newID)") {
            let at = timestamp()
            try db.run("INSERT OR IGNORE INTO county_key(key_id, public_key, state, created_at) VALUES (?, ?, 'active', ?)",
                       oldID, DatabaseValue.blob(try old.publicKey.raw), at)
            try db.run("UPDATE county_key SET state = 'retired', retired_at = ? WHERE key_id = ?", at, oldID)
            try db.run("""
                INSERT INTO county_key(key_id, public_key, state, statement, old_signature, new_signature, created_at)
                VALUES (?, ?, 'active', ?, ?, ?, ?)
                """, newID, DatabaseValue.blob(rotation.newKey.raw), rotation.text, DatabaseValue.blob(rotation.oldSignature),
                       DatabaseValue.blob(rotation.newSignature), at)
            let pending = try db.all("""
                SELECT d.node_id, d.seq, d.body FROM downstream d LEFT JOIN checkpoint c ON c.node_id = d.node_id
                WHERE d.seq > coalesce(c.acked, 0)
                """) { (node: $0.text(0), seq: $0.int64(1), body: $0.text(2)) }
            for m in pending {
                try db.run("UPDATE downstream SET signature = ?, key_id = ? WHERE node_id = ? AND seq = ?",
                           DatabaseValue.blob(try new.sign(Array(m.body.utf8))), newID, m.node, m.seq)
            }
            try db.run("UPDATE downstream SET key_id = ? WHERE key_id IS NULL", oldID)
        }
        // Renames signing.key.next over signing.key (a serving process may have done it already).
        _ = try signingKey()
        return rotation
    }
}
