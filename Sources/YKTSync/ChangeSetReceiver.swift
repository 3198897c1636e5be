import YKTCore
import YKTCrypto

/// A node's signing keys as the county registered them at enrolment. Retired keys stay, so
/// change sets signed with them can still be verified by an auditor, but new change sets must
/// use an active key.
public struct KeyRegistry: Sendable {
    public struct Entry: Sendable, Hashable {
        public var node: String
        public var key: Ed25519.PublicKey
        public var active: Bool
        /// When a rotation statement retired this key, and the key that replaced it.
        public var retiredAt: String? = nil
        public var replacedBy: String? = nil
    }

    public private(set) var entries: [String: Entry] = [:]   // by "node/keyID"

    public init() {}

    public mutating func register(node: String, key: Ed25519.PublicKey, active: Bool = true, retiredAt: String? = nil,
                                  replacedBy: String? = nil) {
        entries["\(node)/\(key.keyID)"] = Entry(node: node, key: key, active: active, retiredAt: retiredAt, replacedBy: replacedBy)
    }

    public func entry(node: String, keyID: String) -> Entry? { entries["\(node)/\(keyID)"] }
}

/// What the county knows of one township's upstream stream: the last applied change set.
public struct StreamPosition: Sendable, Hashable {
    public var lastSeq: Int64
    public var lastHash: String
    /// Hashes of applied change sets by sequence (to tell a replay from a fork).
    public var applied: [Int64: String]

    public init(lastSeq: Int64 = 0, lastHash: String = ChangeSet.genesisHash, applied: [Int64: String] = [:]) {
        self.lastSeq = lastSeq
        self.lastHash = lastHash
        self.applied = applied
    }

    public mutating func advance(to set: ChangeSet) {
        lastSeq = set.header.seq
        lastHash = set.hash
        applied[set.header.seq] = set.hash
    }
}

/// The receiver's checks, in the order the architecture fixes, **before the body is parsed**:
/// 1. the TLS peer is the node named in the header;
/// 2. the signature over the header's bytes verifies with that node's registered, active key
///    (the header names the body's length and SHA-256, which the receiver checks as it reads);
///    a key retired by a rotation is refused (`YKT-SYNC-KEY-RETIRED`) except for a replay of a
///    change set it signed while active; a `key-next` rotation statement must be signed by the
///    key that signed the header and by the new key (`YKT-SYNC-ROTATION`);
/// 3. the sequence is exactly last + 1 and `prev` is the last applied hash; an already applied
///    change set (same sequence, same bytes) is a replay, answered with the stored receipt;
///    a gap or a fork is refused saying where to resume.
public enum ChangeSetReceiver {
    public enum Verdict: Sendable {
        /// Apply it (parse the body with `operations()`).
        case apply(ChangeSet)
        /// Already applied: answer with the receipt stored for this sequence; apply nothing.
        case replay(seq: Int64)
    }

    public static func check(bytes: [UInt8], signature: [UInt8], peerNode: String, registry: KeyRegistry,
                             position: StreamPosition) throws(YKTError) -> Verdict {
        let set = try ChangeSet.readHeader(bytes)
        let h = set.header
        guard h.node == peerNode else {
            throw YKTError(.syncPeer, "变更集写的是节点 \(h.node)，连接的证书却是节点 \(peerNode)",
                           hint: "每个乡镇只能用自己的证书报送自己的变更集")
        }
        guard let entry = registry.entry(node: h.node, keyID: h.keyID) else {
            throw YKTError(.syncKey, "节点 \(h.node) 的签名密钥 \(h.keyID) 未登记或已停用",
                           hint: "在县级节点登记该乡镇的当前签名密钥")
        }
        guard entry.key.verify(signature, of: Array(set.headerBytes)) else {
            throw YKTError(.syncSignature, "节点 \(h.node) 第 \(h.seq) 号变更集签名验证不通过",
                           hint: "变更集在途中被改动或不是该节点签发；已拒收，什么也没有应用")
        }
        if !entry.active {
            // Signed while the key was active and already applied: answered with its stored receipt.
            if h.seq <= position.lastSeq, position.applied[h.seq] == set.hash { return .replay(seq: h.seq) }
            if let successor = entry.replacedBy {
                throw YKTError(.syncKeyRetired, "节点 \(h.node) 的签名密钥 \(h.keyID) 已于 \(entry.retiredAt ?? "此前") 更换为 \(successor)，旧密钥签名的变更集一律拒收",
                               hint: "乡镇节点应使用新密钥签名（ykt key show 查看）；若乡镇没有换过钥，旧密钥可能已被盗用，请核查")
            }
            throw YKTError(.syncKey, "节点 \(h.node) 的签名密钥 \(h.keyID) 未登记或已停用",
                           hint: "在县级节点登记该乡镇的当前签名密钥")
        }
        if let field = h.keyNext, h.seq > position.lastSeq {
            let rotation = try KeyRotation(field: field, node: h.node, oldKeyID: h.keyID)
            try rotation.verify(oldKey: entry.key)
            if rotation.newKey.keyID == h.keyID || registry.entry(node: h.node, keyID: rotation.newKey.keyID).map({ !$0.active }) == true {
                throw YKTError(.syncRotation, "节点 \(h.node) 的密钥更换声明要换成的密钥 \(rotation.newKey.keyID) 是现用或已停用的密钥",
                               hint: "在乡镇节点重新运行 ykt key rotate 生成新密钥")
            }
        }
        if h.seq <= position.lastSeq {
            if position.applied[h.seq] == set.hash { return .replay(seq: h.seq) }
            throw YKTError(.syncFork, "第 \(h.seq) 号变更集与已应用的内容不同（分叉）",
                           hint: "从第 \(position.lastSeq + 1) 号续传，prev = \(position.lastHash)；乡镇节点可能从旧备份恢复过")
        }
        // Format 2 is read only for change sets stored before (a replay above): a new change
        // set must carry the sender's audit head (format 3).
        guard h.format == ChangeSet.formatVersion else {
            throw YKTError(.syncVersion, "变更集格式版本 \(h.format) 只用于读取已存的变更集，新的变更集须为版本 \(ChangeSet.formatVersion)",
                           hint: "乡镇节点升级到与县里同一版本的 ykt")
        }
        guard h.seq == position.lastSeq + 1 else {
            throw YKTError(.syncGap, "收到第 \(h.seq) 号变更集，但县里只应用到第 \(position.lastSeq) 号",
                           hint: "从第 \(position.lastSeq + 1) 号续传")
        }
        guard h.prev == position.lastHash else {
            throw YKTError(.syncFork, "第 \(h.seq) 号变更集的 prev 与县里第 \(position.lastSeq) 号变更集的哈希不符（分叉）",
                           hint: "从第 \(position.lastSeq + 1) 号续传，prev = \(position.lastHash)")
        }
        return .apply(set)
    }
}
