import YKTCore
import YKTCrypto

/// The anchors one node holds of the other side's audit trail, as a small signed file for an
/// auditor working offline (`ykt audit anchors --export`, read by `ykt audit verify --anchors`
/// on the other node). One line of canonical JSON:
///
/// ```
/// {"export":{"chains":[{"anchors":[{"at":"…","from":"第 3 号变更集","hash":"<64 hex>","seq":41}],"node":"450223101"}],
///   "exportedAt":"…","exportedBy":"450223","format":"ykt-audit-anchors/1","key":"<key id>"},"signature":"<hex>"}
/// ```
///
/// `chains` holds one chain per node whose trail is anchored (the county exports one per
/// township; a township exports the county's); `signature` is the exporting node's Ed25519
/// signature over the canonical JSON of `export`, checked with the key the reader already
/// holds for that node (the county's registry; the township's `county_public_key`).
public struct AuditAnchorFile: Sendable {
    public static let format = "ykt-audit-anchors/1"
    /// An anchor file is small (one line per change set or pull); a larger one is refused unread.
    public static let maximumBytes = 64 << 20

    /// One anchor: the audit head, when the exporting node received it and from what.
    public struct Anchor: Sendable, Hashable, Codable {
        public var head: AuditHead
        public var at: String
        public var from: String
        public init(head: AuditHead, at: String, from: String) {
            self.head = head
            self.at = at
            self.from = from
        }
    }

    /// The anchors held of one node's chain, in the order received.
    public struct Chain: Sendable, Hashable, Codable {
        public var node: String
        public var anchors: [Anchor]
        public init(node: String, anchors: [Anchor]) {
            self.node = node
            self.anchors = anchors
        }
    }

    public var exportedBy: String
    public var exportedAt: String
    public var keyID: String
    public var chains: [Chain]
    public var signature: [UInt8]
    /// The file it was read from (for messages).
    public var path: String?

    /// Builds and signs an export.
    public init(exportedBy: String, exportedAt: String, chains: [Chain], key: Ed25519.PrivateKey) throws {
        self.exportedBy = exportedBy
        self.exportedAt = exportedAt
        self.keyID = try key.publicKey.keyID
        self.chains = chains
        self.signature = []
        self.signature = try key.sign(Array(signedPart.utf8))
    }

    /// The signed part: the canonical JSON of `export`.
    var signedPart: String {
        let chains: [JSONValue] = chains.map { c in
            ["node": .string(c.node), "anchors": .array(c.anchors.map { a in
                ["at": .string(a.at), "from": .string(a.from), "hash": .string(a.head.hash), "seq": .int(a.head.seq)]
            })]
        }
        let export: JSONValue = ["chains": .array(chains), "exportedAt": .string(exportedAt), "exportedBy": .string(exportedBy),
                                 "format": .string(Self.format), "key": .string(keyID)]
        return export.canonical
    }

    /// The file's text: one line of canonical JSON and a line end.
    public var text: String {
        "{\"export\":\(signedPart),\"signature\":\"\(Hex.encode(signature))\"}\n"
    }

    /// Whether `key` (the exporting node's) signed this export.
    public func verify(with key: Ed25519.PublicKey) -> Bool {
        key.keyID == keyID && key.verify(signature, of: Array(signedPart.utf8))
    }

    /// The anchors of `node`'s chain; a file without that chain is not for this node.
    public func anchors(of node: String) throws(YKTError) -> [Anchor] {
        guard let chain = chains.first(where: { $0.node == node }) else {
            throw YKTError(.anchorFile, "锚点文件中没有本节点（\(node)）审计日志的锚点（文件含：\(chains.map(\.node).joined(separator: "、"))）",
                           at: SourceLocation(file: path), hint: "向对方节点索取为本节点导出的锚点文件")
        }
        return chain.anchors
    }

    /// Reads an anchor file (a link is not followed; at most `maximumBytes`). Its structure is
    /// checked here; its signature by the caller, who holds the exporting node's key.
    public static func read(path: String) throws(YKTError) -> AuditAnchorFile {
        let bytes = try ExchangeFile.read(path: path, maximumBytes: maximumBytes)
        func bad(_ what: String) -> YKTError {
            YKTError(.anchorFile, "锚点文件格式不对：\(what)", at: SourceLocation(file: path),
                     hint: "用对方节点的 ykt audit anchors --export 重新导出；文件须原样传递，不要编辑")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(bytes) } catch { throw bad("不是 JSON（\(error)）") }
        guard let export = json["export"], export["format"]?.stringValue == format else {
            throw bad("没有 export，或 format 不是 \(format)")
        }
        guard let signature = json["signature"]?.stringValue.flatMap({ Hex.decode($0) }), signature.count == 64 else {
            throw bad("signature 应为 128 位十六进制")
        }
        guard let by = export["exportedBy"]?.stringValue, let at = export["exportedAt"]?.stringValue,
              let key = export["key"]?.stringValue, case .array(let chainValues)? = export["chains"] else {
            throw bad("export 缺少 exportedBy、exportedAt、key 或 chains")
        }
        var chains: [Chain] = []
        for c in chainValues {
            guard let node = c["node"]?.stringValue, case .array(let anchorValues)? = c["anchors"] else {
                throw bad("chains 的一项缺少 node 或 anchors")
            }
            var anchors: [Anchor] = []
            for a in anchorValues {
                guard let head = AuditHead(json: a), let at = a["at"]?.stringValue, let from = a["from"]?.stringValue else {
                    throw bad("节点 \(node) 的第 \(anchors.count + 1) 个锚点缺少 seq、hash（64 位小写十六进制）、at 或 from")
                }
                anchors.append(Anchor(head: head, at: at, from: from))
            }
            chains.append(Chain(node: node, anchors: anchors))
        }
        var file = AuditAnchorFile(exportedBy: by, exportedAt: at, keyID: key, chains: chains, signature: signature, path: path)
        // What is verified is the export as read back: it must be the canonical text itself.
        guard file.signedPart == export.canonical else { throw bad("export 含有本格式之外的字段") }
        file.path = path
        return file
    }

    private init(exportedBy: String, exportedAt: String, keyID: String, chains: [Chain], signature: [UInt8], path: String?) {
        self.exportedBy = exportedBy
        self.exportedAt = exportedAt
        self.keyID = keyID
        self.chains = chains
        self.signature = signature
        self.path = path
    }
}
