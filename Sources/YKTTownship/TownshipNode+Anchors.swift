import YKTCore
import YKTCrypto
import YKTNode
import YKTStore

/// Each side anchors the other's audit trail (docs/conventions.md (h)): the county's head as
/// each stream answer brings it, the anchors of this node's chain the county's receipts name,
/// the checks of this node's chain against them, and the export for an auditor.
extension TownshipNode {
    /// The county's audit head as a stream answer ends with it, its signature checked.
    struct CountyAnchor {
        var head: AuditHead
        var message: String
        var signature: [UInt8]
    }

    /// Reads and checks the anchor line of a stream answer: signed by the county, naming this
    /// node and this county, `kind` `audit.head`, version 1.
    func countyAnchor(_ text: String, signatureHex: String?, county: Ed25519.PublicKey) throws -> CountyAnchor {
        let signature = signatureHex.flatMap { Hex.decode($0) } ?? []
        guard county.verify(signature, of: Array(text.utf8)) else {
            throw YKTError(.syncSignature, "下行应答中县财政审计链头的签名验证不通过", hint: "已拒收；核对 county_public_key")
        }
        let message = try JSONValue.parse(Array(text.utf8))
        guard message["v"]?.intValue == 1, message["kind"]?.stringValue == "audit.head", message["node"]?.stringValue == config.nodeID,
              message["county"]?.stringValue == config.countyCode, let head = AuditHead(json: message) else {
            throw YKTError(.syncBody, "县财政审计链头的格式不对，或不是给本节点的")
        }
        return CountyAnchor(head: head, message: text, signature: signature)
    }

    /// Checks the county's head against the anchors held here: one behind (a lower sequence, or
    /// the same one with another hash) means the county's audit trail was rewritten or restored,
    /// recorded in this node's audit trail and refused with `YKT-SYNC-AUDIT` (nothing of the
    /// answer is taken). Returns whether it is new (to be kept).
    func takeCountyAnchor(_ anchor: CountyAnchor) throws -> Bool {
        guard let held = try latestCountyAnchor() else { return true }
        let head = anchor.head
        if head.seq < held.head.seq || (head.seq == held.head.seq && head.hash != held.head.hash) {
            let what = head.seq < held.head.seq
                ? "县财政的审计链头倒退：这次是第 \(head.seq) 条，本节点已持有第 \(held.head.seq) 条的锚点（\(held.receivedAt)）"
                : "县财政审计链第 \(head.seq) 条的哈希与本节点持有的锚点不同（\(head.hash.prefix(16))… ≠ \(held.head.hash.prefix(16))…）"
            try perform("audit.anchor.refused") {
                ((), AuditNote(object: "county/\(config.countyCode)", detail: what))
            }
            throw YKTError(.syncAudit, what,
                           hint: "下行消息未采用。县级节点的审计日志被改写或从旧备份恢复过：报告县财政系统管理员；"
                               + "用 ykt audit anchors --export 文件 导出本节点持有的锚点，交县里用 ykt audit verify --anchors 文件 核对")
        }
        return head != held.head
    }

    func storeCountyAnchor(_ anchor: CountyAnchor) throws {
        try db.run("INSERT INTO county_anchor(seq, hash, message, signature, received_at) VALUES (?, ?, ?, ?, ?)",
                   anchor.head.seq, anchor.head.hash, anchor.message, DatabaseValue.blob(anchor.signature), timestamp())
    }

    /// One anchor held here: the county's head as a pull brought it, or (own) what the county
    /// said it held of this node's chain.
    public struct Anchor: Sendable, Codable, Hashable {
        public var head: AuditHead
        public var receivedAt: String
        public var from: String
    }

    func latestCountyAnchor() throws -> Anchor? {
        try db.first("SELECT seq, hash, received_at, id FROM county_anchor ORDER BY seq DESC, id DESC LIMIT 1") {
            Anchor(head: AuditHead(seq: $0.int64(0), hash: $0.text(1)), receivedAt: $0.text(2), from: "收到的第 \($0.int64(3)) 个县财政链头")
        }
    }

    /// Every anchor of the county's chain held here, oldest first.
    public func countyAnchors() throws -> [Anchor] {
        try db.all("SELECT seq, hash, received_at, id FROM county_anchor ORDER BY id") {
            Anchor(head: AuditHead(seq: $0.int64(0), hash: $0.text(1)), receivedAt: $0.text(2), from: "收到的第 \($0.int64(3)) 个县财政链头")
        }
    }

    /// The anchors of this node's own chain the county said it held (one per receipt).
    public func reportedAnchors() throws -> [Anchor] {
        try db.all("SELECT seq, hash, reported_at, changeset_seq FROM own_anchor ORDER BY changeset_seq") {
            Anchor(head: AuditHead(seq: $0.int64(0), hash: $0.text(1)), receivedAt: $0.text(2), from: "县财政第 \($0.int64(3)) 号变更集回执")
        }
    }

    /// Checks this node's chain against every anchor the county reported holding of it.
    public func checkReportedAnchors() throws -> (checked: Int, problems: [AuditLog.AnchorProblem]) {
        let anchors = try reportedAnchors()
        return (anchors.count, try AuditLog.check(db: db, anchors: anchors.map { ($0.head, $0.from) }))
    }

    /// The anchors held of the county's chain as a signed anchor file (`AuditAnchorFile`).
    public func exportAnchors() throws -> AuditAnchorFile {
        let anchors = try countyAnchors().map { AuditAnchorFile.Anchor(head: $0.head, at: $0.receivedAt, from: $0.from) }
        return try AuditAnchorFile(exportedBy: config.nodeID, exportedAt: timestamp(),
                                   chains: [AuditAnchorFile.Chain(node: config.countyCode, anchors: anchors)],
                                   key: try NodeKey.load(from: directory))
    }

    /// Checks this node's chain against an anchor file the county exported, after checking its
    /// signature with the county's key (`county_public_key`).
    public func checkAnchors(file: AuditAnchorFile) throws -> [AuditLog.AnchorProblem] {
        guard file.exportedBy == config.countyCode, file.verify(with: try countyKey()) else {
            throw YKTError(.anchorFile, "锚点文件不是县财政（\(config.countyCode)）签发的，或签名验证不通过（文件写的导出节点：\(file.exportedBy)）",
                           at: SourceLocation(file: file.path), hint: "向县财政重新索取（县级节点 ykt audit anchors --export 文件 --township \(config.nodeID)）")
        }
        return try AuditLog.check(db: db, anchors: try file.anchors(of: config.nodeID).map { ($0.head, "县财政 \($0.from)，\($0.at)") })
    }

    /// Records in the audit trail that this node's chain no longer matches an anchor the county
    /// holds, and stops with `YKT-AUDIT-ANCHOR` naming each one.
    func anchorMismatch(_ problems: [AuditLog.AnchorProblem]) throws -> Never {
        try perform("audit.anchor.mismatch") {
            ((), AuditNote(object: "county/\(config.countyCode)", detail: problems.map(\.description).joined(separator: "；")))
        }
        throw Self.anchorError(problems)
    }

    /// `YKT-AUDIT-ANCHOR` for anchors of this node's chain it does not match.
    public static func anchorError(_ problems: [AuditLog.AnchorProblem]) -> YKTError {
        YKTError(.auditAnchor, "本节点审计日志与县财政持有的 \(problems.count) 个锚点不符：本节点的审计历史在县里记下之后被改写过",
                 hint: "停止使用本节点、保留现场（不要修复），报告县财政系统管理员",
                 details: problems.map { YKTError(.auditAnchor, $0.description) })
    }
}
