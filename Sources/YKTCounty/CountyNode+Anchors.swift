import YKTCore
import YKTCrypto
import YKTNode
import YKTStore
import YKTSync

/// Each side anchors the other's audit trail (docs/conventions.md (h), docs/protocol.md): the
/// county keeps the audit head each township's change set carries, sends its own head down
/// every stream answer, and exports what it holds for an auditor.
extension CountyNode {
    /// One anchor of a township's audit trail as the county holds it.
    public struct HeldAnchor: Sendable, Codable, Hashable {
        public var node: String
        public var changeSet: Int64
        public var head: AuditHead
        public var receivedAt: String
    }

    /// The anchor of `node`'s chain furthest along (the highest audit sequence), if any.
    func heldAnchor(of node: String) throws -> HeldAnchor? {
        try db.first("""
            SELECT changeset_seq, seq, hash, received_at FROM audit_anchor WHERE node_id = ?
            ORDER BY seq DESC, changeset_seq DESC LIMIT 1
            """, node) { HeldAnchor(node: node, changeSet: $0.int64(0), head: AuditHead(seq: $0.int64(1), hash: $0.text(2)),
                                    receivedAt: $0.text(3)) }
    }

    /// Keeps the audit head change set `changeSet` of `node` carries, in the caller's
    /// transaction (the one that applies the change set), and returns the anchor held before.
    /// A head behind one already held (a lower sequence, or the same sequence with another
    /// hash) means the township's audit trail was rewritten or restored: refused with
    /// `YKT-SYNC-AUDIT`, so the transaction applies nothing.
    func takeAnchor(node: String, changeSet: Int64, head: AuditHead?) throws -> HeldAnchor? {
        guard let head else {
            throw YKTError(.syncVersion, "第 \(changeSet) 号变更集没有审计链头（格式 2），新变更集须为格式 \(ChangeSet.formatVersion)")
        }
        let held = try heldAnchor(of: node)
        if let held, head.seq < held.head.seq || (head.seq == held.head.seq && head.hash != held.head.hash) {
            let what = head.seq < held.head.seq
                ? "审计链头倒退：变更集写的是第 \(head.seq) 条，县里已持有第 \(held.head.seq) 条的锚点"
                : "审计链第 \(head.seq) 条的哈希与县里持有的锚点不同（\(head.hash.prefix(16))… ≠ \(held.head.hash.prefix(16))…）"
            throw YKTError(.syncAudit, "乡镇 \(node) 第 \(changeSet) 号变更集：\(what)（锚点来自第 \(held.changeSet) 号变更集，\(held.receivedAt)）",
                           hint: "已拒收，什么也没有应用。乡镇节点的审计日志被改写或从旧备份恢复过：乡镇停止使用该节点、保留现场；"
                               + "县里用 ykt audit anchors --export 文件 --township \(node) 导出锚点，在乡镇用 ykt audit verify --anchors 文件 核对")
        }
        try db.run("INSERT INTO audit_anchor(node_id, changeset_seq, seq, hash, received_at) VALUES (?, ?, ?, ?, ?)",
                   node, changeSet, head.seq, head.hash, timestamp())
        return held
    }

    /// A change set refused for its audit head leaves an entry in the county's own audit trail
    /// (the refusal itself applied nothing); a failure to write it is not the township's answer.
    func recordAnchorRefusal(node: String, seq: Int64, error: YKTError) {
        try? perform("audit.anchor.refused", object: "township/\(node)", detail: "changeset=\(seq) " + error.message) {}
    }

    /// Every anchor held of `township`'s chain (all townships when nil), oldest first per township.
    public func heldAnchors(township: String? = nil) throws -> [HeldAnchor] {
        if let township {
            guard try db.integer("SELECT count(*) FROM township WHERE node_id = ?", township) == 1 else {
                throw YKTError(.usageValue, "乡镇 \(township) 未在本县登记", at: SourceLocation(field: "--township"),
                               hint: "用 ykt county totals 查看已登记的乡镇")
            }
        }
        let sql = "SELECT node_id, changeset_seq, seq, hash, received_at FROM audit_anchor"
            + (township == nil ? "" : " WHERE node_id = ?") + " ORDER BY node_id, changeset_seq"
        var out: [HeldAnchor] = []
        try db.statement(sql).forEach(township.map { [$0] } ?? []) { r in
            out.append(HeldAnchor(node: r.text(0), changeSet: r.int64(1), head: AuditHead(seq: r.int64(2), hash: r.text(3)),
                                  receivedAt: r.text(4)))
        }
        return out
    }

    /// The anchors held of townships' chains as a signed anchor file (`AuditAnchorFile`).
    public func exportAnchors(township: String? = nil) throws -> AuditAnchorFile {
        let held = try heldAnchors(township: township)
        var chains: [String: [AuditAnchorFile.Anchor]] = [:]
        for a in held {
            chains[a.node, default: []].append(AuditAnchorFile.Anchor(head: a.head, at: a.receivedAt, from: "第 \(a.changeSet) 号变更集"))
        }
        if let township, chains[township] == nil { chains[township] = [] }
        return try AuditAnchorFile(exportedBy: config.nodeID, exportedAt: timestamp(),
                                   chains: chains.keys.sorted().map { AuditAnchorFile.Chain(node: $0, anchors: chains[$0]!) },
                                   key: key)
    }

    /// The county's audit head for the end of a stream answer: `{"anchor":"<message>","signature":"<hex>"}`,
    /// the message `{"at","county","hash","kind":"audit.head","node","seq","v":1}` signed by the county.
    func streamAnchorLine(peer: String) throws -> [UInt8] {
        let head = try AuditLog.head(db: db)
        var message = CanonicalObjectWriter(capacity: 256)
        message.string("at", timestamp())
        message.string("county", config.nodeID)
        message.string("hash", head.hash)
        message.string("kind", "audit.head")
        message.string("node", peer)
        message.int("seq", head.seq)
        message.int("v", 1)
        let text = message.finish()
        // Signed by the key in force now (after a rotation, the new one), and named like each message.
        let signing = try signingKey()
        let line: JSONValue = ["anchor": .string(text), "key": .string(try signing.publicKey.keyID),
                               "signature": .string(Hex.encode(try signing.sign(Array(text.utf8))))]
        return Array(line.canonical.utf8) + [0x0A]
    }

    /// Checks the county's own chain against the anchor of it `peer` says it holds (on its
    /// stream request): nil when it holds; else the finding, recorded in the county's trail, as
    /// the answer `409 YKT-AUDIT-ANCHOR`. (A township that sends a false anchor only stops its
    /// own stream, and leaves an entry saying so.)
    func checkTownshipHeldAnchor(_ anchor: AuditHead, peer: String) throws -> Answer? {
        let problems = try AuditLog.check(db: db, anchors: [(anchor, "乡镇 \(peer) 持有的县财政锚点")])
        guard let problem = problems.first else { return nil }
        try perform("audit.anchor.mismatch", object: "township/\(peer)", detail: problem.description) {}
        return Self.refusal(YKTError(.auditAnchor, "县财政审计日志与乡镇 \(peer) 持有的锚点不符：\(problem.description)",
                                     hint: "县财政的审计历史在乡镇记下之后被改写过：停止使用县级节点、保留现场，报告系统管理员；"
                                         + "用乡镇导出的锚点文件（ykt audit anchors --export）在县里 ykt audit verify --anchors 核对"),
                            position: nil, status: 409)
    }

    /// Checks the county's own chain against an anchor file a township exported (the anchors
    /// it holds of the county's chain), after checking the file's signature with that
    /// township's registered keys (a retired key included).
    public func checkAnchors(file: AuditAnchorFile) throws -> [AuditLog.AnchorProblem] {
        var keys: [Ed25519.PublicKey] = []
        try db.forEach("SELECT public_key FROM node_key WHERE node_id = ?", file.exportedBy) { keys.append(Ed25519.PublicKey(raw: $0.blob(0))) }
        guard !keys.isEmpty else {
            throw YKTError(.anchorFile, "锚点文件由 \(file.exportedBy) 导出，它不是本县登记的乡镇", at: SourceLocation(file: file.path),
                           hint: "县级节点核对的是乡镇导出的锚点文件（乡镇节点上 ykt audit anchors --export）")
        }
        guard let signer = keys.first(where: { $0.keyID == file.keyID }), file.verify(with: signer) else {
            throw YKTError(.anchorFile, "锚点文件的签名不能用乡镇 \(file.exportedBy) 登记的密钥验证", at: SourceLocation(file: file.path),
                           hint: "文件被改动过，或不是该乡镇签发；向乡镇重新索取")
        }
        return try AuditLog.check(db: db, anchors: try file.anchors(of: config.nodeID).map { ($0.head, "乡镇 \(file.exportedBy) \($0.from)，\($0.at)") })
    }
}
