import Foundation
import YKTCore
import YKTCrypto
import YKTNode
import YKTStore
import YKTSync

/// This node's signing key rotated, and the county's keys followed (issue 15, item 6;
/// docs/protocol.md "密钥").
///
/// A rotation is crash-safe in three steps: the new key is written to `signing.key.next`; one
/// transaction records the rotation as pending (with its statement, signed by the old key and
/// the new); change sets go on being signed with the old key and carry the statement in their
/// `key-next` field until the county's receipt names the new key, which marks the rotation
/// confirmed in the transaction that records the receipt; then `signing.key.next` is renamed
/// over `signing.key`. Whatever step a crash interrupts, the next command finds the state again.
extension TownshipNode {
    /// The key change sets are signed with now, and the rotation statement they carry while
    /// the county has not confirmed it. Finishes a confirmed rotation whose rename was cut off.
    func signingState() throws -> (key: Ed25519.PrivateKey, rotation: KeyRotation?) {
        var current = try NodeKey.load(from: directory)
        var currentID = try current.publicKey.keyID
        let confirmed = try db.first("""
            SELECT new_key_id FROM key_rotation WHERE state = 'confirmed' AND old_key_id = ? ORDER BY confirmed_at DESC LIMIT 1
            """, currentID, map: { $0.text(0) })
        if let confirmed, let next = try NodeKey.loadNext(from: directory), try next.publicKey.keyID == confirmed {
            try NodeKey.promote(in: directory)
            (current, currentID) = (next, confirmed)
        }
        guard let pending = try db.first("SELECT old_key_id, field FROM key_rotation WHERE state = 'pending'",
                                         map: { (old: $0.text(0), field: $0.text(1)) }) else { return (current, nil) }
        guard pending.old == currentID else {
            throw YKTError(.nodeConfig, "待确认的密钥更换是从 \(pending.old) 换出，但 \(NodeKey.fileName) 是 \(currentID)",
                           at: SourceLocation(file: NodeKey.fileName), hint: "从与数据库同一时刻的备份恢复 \(NodeKey.fileName)")
        }
        return (current, try KeyRotation(field: pending.field, node: config.nodeID, oldKeyID: currentID))
    }

    /// The node's public signing key (the one change sets are signed with), for enrolment.
    public func publicKey() throws -> Ed25519.PublicKey { try signingState().key.publicKey }

    /// The rotation waiting for the county's confirmation: its new key, or nil.
    public func pendingKey() throws -> Ed25519.PublicKey? { try signingState().rotation?.newKey }

    /// `ykt key rotate`: a new signing key, announced to the county by a statement signed by
    /// the current key and the new one. It takes effect at the county with the next change set
    /// the county accepts (one is sent even with nothing pending), and here once its receipt
    /// is recorded. Refused while an earlier rotation is still unconfirmed (`YKT-KEY-PENDING`).
    public func rotateKey() throws -> KeyRotation {
        let (old, pending) = try signingState()
        if let pending {
            throw YKTError(.keyRotationPending, "上一次密钥更换（\(pending.oldKeyID) → \(pending.newKey.keyID)）还没有被县财政确认",
                           hint: "先运行 ykt sync；县财政确认后才能再次更换")
        }
        let new = try NodeKey.createNext(in: directory)
        let rotation = try KeyRotation.make(node: config.nodeID, old: old, new: new, at: ChinaTime.timestamp(now()))
        try perform("key.rotate") {
            try db.run("INSERT INTO key_rotation(new_key_id, old_key_id, field, state, created_at) VALUES (?, ?, ?, 'pending', ?)",
                       rotation.newKey.keyID, rotation.oldKeyID, rotation.field, timestamp())
            return ((), AuditNote(object: "node/\(config.nodeID)", detail: "\(rotation.oldKeyID) → \(rotation.newKey.keyID) pending"))
        }
        return rotation
    }

    /// Marks the pending rotation confirmed when `receipt` (verified, for a change set that
    /// carried the statement) names its new key. Runs in the receipt's transaction.
    func confirmRotation(_ stored: StoredChangeSet, receipt: [UInt8]) throws {
        guard let field = stored.set.header.keyNext,
              let named = (try? JSONValue.parse(receipt))?["rotatedKey"]?.stringValue else { return }
        let rotation = try KeyRotation(field: field, node: config.nodeID, oldKeyID: stored.set.header.keyID)
        guard named == rotation.newKey.keyID else { return }
        try db.run("""
            UPDATE key_rotation SET state = 'confirmed', confirmed_at = ?, confirmed_by_changeset = ? WHERE new_key_id = ? AND state = 'pending'
            """, timestamp(), stored.set.header.seq, named)
    }

    /// The county key that signed an answer (`keyID`; nil: the key trusted now), after
    /// following the county's rotation statements (`chain`) from the key trusted now: each
    /// must be signed by the key it replaces. Accepted keys are recorded; the key replaced is
    /// retired, and anything signed with it is refused from then on (`YKT-SYNC-KEY-RETIRED`);
    /// a key no statement from the trusted key leads to is refused (`YKT-SYNC-KEY-UNKNOWN`).
    func countyKey(named keyID: String?, chain: [KeyRotation]) throws -> Ed25519.PublicKey {
        var current = try trustedCountyKey()
        guard let keyID, keyID != current.keyID else { return current }
        if let retired = try db.first("SELECT retired_at FROM county_key WHERE key_id = ? AND state = 'retired'", keyID,
                                      map: { $0.optionalText(0) ?? "" }) {
            throw YKTError(.syncKeyRetired, "县财政的回执或下行消息用已停用的县级签名密钥 \(keyID) 签名（该密钥已于 \(retired) 更换为 \(current.keyID)）",
                           hint: "已拒收；县财政换钥后旧密钥签名的内容一律不采用。若县财政没有换钥，请报告系统管理员核查")
        }
        var accepted: [KeyRotation] = []
        let trusted = current.keyID
        // Each step is taken at most once: a chain cannot lead round in a circle.
        while current.keyID != keyID, accepted.count < chain.count,
              let step = chain.first(where: { $0.oldKeyID == current.keyID && $0.node == config.countyCode }) {
            try step.verify(oldKey: current)
            accepted.append(step)
            current = step.newKey
        }
        guard current.keyID == keyID else {
            throw YKTError(.syncKeyUnknown, "县财政的回执或下行消息用签名密钥 \(keyID) 签名，本节点信任的是 \(trusted)，且没有由它签发的换钥声明",
                           hint: "已拒收。若县财政确已换钥，请向县财政核实新公钥后写入 node.conf 的 county_public_key；否则对方可能不是县财政")
        }
        let first = try trustedCountyKey()
        try perform("county.key.accept") {
            let at = timestamp()
            try db.run("INSERT OR IGNORE INTO county_key(key_id, public_key, state, accepted_at) VALUES (?, ?, 'current', ?)",
                       first.keyID, DatabaseValue.blob(first.raw), at)
            for step in accepted {
                try db.run("UPDATE county_key SET state = 'retired', retired_at = ? WHERE key_id = ?", step.at, step.oldKeyID)
                try db.run("INSERT INTO county_key(key_id, public_key, state, statement, accepted_at) VALUES (?, ?, 'current', ?, ?)",
                           step.newKey.keyID, DatabaseValue.blob(step.newKey.raw), step.text, at)
            }
            return ((), AuditNote(object: "county/\(config.countyCode)",
                                  detail: accepted.map { "\($0.oldKeyID) → \($0.newKey.keyID)" }.joined(separator: ", ")))
        }
        return current
    }

    /// The county key trusted now: the last one accepted, or node.conf's `county_public_key`.
    public func trustedCountyKey() throws -> Ed25519.PublicKey {
        if let raw = try db.first("SELECT public_key FROM county_key WHERE state = 'current'", map: { $0.blob(0) }) {
            return Ed25519.PublicKey(raw: raw)
        }
        return try countyKey()
    }
}
