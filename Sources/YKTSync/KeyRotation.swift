import YKTCore
import YKTCrypto

/// A key rotation statement: node `node` replaces its signing key `oldKeyID` with `newKey` at
/// `at`. The statement's bytes are signed by the old key (which vouches for the new one) and by
/// the new key (which proves it is held):
///
/// ```
/// YKT-KEY-ROTATION/1
/// node: 450223101
/// old: 3f2a9c0d11e4b7a8
/// new: <64 hex: the new Ed25519 public key>
/// at: 2026-12-03T20:41:07+08:00
/// ```
///
/// A township's statement travels in the `key-next` field of its change set headers
/// (`field`: node and old key id are the header's own `node` and `key`) until the county's
/// receipt confirms it; the county's statements travel beside every receipt and stream answer
/// (`text`, a chain from the first key), so a township accepts a new county key only when the
/// key it already trusts announced it.
public struct KeyRotation: Sendable, Hashable {
    public var node: String
    public var oldKeyID: String
    public var newKey: Ed25519.PublicKey
    public var at: String
    public var oldSignature: [UInt8]
    public var newSignature: [UInt8]

    static let magic = "YKT-KEY-ROTATION/1"

    /// The bytes both keys sign.
    public var statement: [UInt8] {
        Array("\(Self.magic)\nnode: \(node)\nold: \(oldKeyID)\nnew: \(Hex.encode(newKey.raw))\nat: \(at)\n".utf8)
    }

    /// A statement made and signed by both keys.
    public static func make(node: String, old: Ed25519.PrivateKey, new: Ed25519.PrivateKey, at: String) throws -> KeyRotation {
        var r = KeyRotation(node: node, oldKeyID: try old.publicKey.keyID, newKey: try new.publicKey, at: at,
                            oldSignature: [], newSignature: [])
        r.oldSignature = try old.sign(r.statement)
        r.newSignature = try new.sign(r.statement)
        return r
    }

    /// Checks that `oldKey` (the key the statement replaces) and the new key both signed it.
    /// Refused with `YKT-SYNC-ROTATION`, saying which signature failed.
    public func verify(oldKey: Ed25519.PublicKey) throws(YKTError) {
        guard oldKey.keyID == oldKeyID else {
            throw YKTError(.syncRotation, "节点 \(node) 的密钥更换声明说更换的是密钥 \(oldKeyID)，但签名用的是 \(oldKey.keyID)",
                           hint: "密钥更换声明须由被更换的旧密钥签发；已拒收，什么也没有应用")
        }
        guard oldKey.verify(oldSignature, of: statement) else {
            throw YKTError(.syncRotation, "节点 \(node) 的密钥更换声明（\(oldKeyID) → \(newKey.keyID)）不是旧密钥 \(oldKeyID) 签发的",
                           hint: "这份声明是伪造的或被改动过；已拒收，什么也没有应用。若确须换钥，在该节点运行 ykt key rotate")
        }
        guard newKey.verify(newSignature, of: statement) else {
            throw YKTError(.syncRotation, "节点 \(node) 的密钥更换声明上新密钥 \(newKey.keyID) 的签名验证不通过",
                           hint: "声明被改动过，或新密钥不是声明人持有；已拒收，什么也没有应用")
        }
    }

    /// The header field's value: `<new public key> <at> <old signature> <new signature>`, hex.
    public var field: String {
        "\(Hex.encode(newKey.raw)) \(at) \(Hex.encode(oldSignature)) \(Hex.encode(newSignature))"
    }

    /// Reads a `key-next` field of a change set from `node` signed with `oldKeyID`.
    public init(field: String, node: String, oldKeyID: String) throws(YKTError) {
        let parts = field.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 4, let raw = Hex.decode(parts[0]), raw.count == Ed25519.keySize, !parts[1].isEmpty,
              parts[1].utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }),
              let old = Hex.decode(parts[2]), old.count == Ed25519.signatureSize,
              let new = Hex.decode(parts[3]), new.count == Ed25519.signatureSize else {
            throw YKTError(.syncFormat, "头部字段 key-next 应为「新公钥 时间 旧密钥签名 新密钥签名」（十六进制，空格分隔）",
                           at: SourceLocation(field: "key-next"))
        }
        self.init(node: node, oldKeyID: oldKeyID, newKey: Ed25519.PublicKey(raw: raw), at: String(parts[1]),
                  oldSignature: old, newSignature: new)
    }

    public init(node: String, oldKeyID: String, newKey: Ed25519.PublicKey, at: String, oldSignature: [UInt8], newSignature: [UInt8]) {
        self.node = node
        self.oldKeyID = oldKeyID
        self.newKey = newKey
        self.at = at
        self.oldSignature = oldSignature
        self.newSignature = newSignature
    }

    /// The statement standing alone: `<node> <old key id> ` and the field.
    public var text: String { "\(node) \(oldKeyID) \(field)" }

    public init(text: String) throws(YKTError) {
        let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].utf8.count == 16 else {
            throw YKTError(.syncFormat, "密钥更换声明格式不对")
        }
        try self.init(field: String(parts[2]), node: String(parts[0]), oldKeyID: String(parts[1]))
    }

    /// A chain of statements (`text`, joined by commas) as one HTTP header value, and back.
    public static func chain(_ rotations: [KeyRotation]) -> String { rotations.map(\.text).joined(separator: ",") }

    public static func chain(parsing value: String) throws(YKTError) -> [KeyRotation] {
        var out: [KeyRotation] = []
        for part in value.split(separator: ",") { out.append(try KeyRotation(text: String(part))) }
        return out
    }
}
