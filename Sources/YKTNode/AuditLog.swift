import YKTCore
import YKTCrypto
import YKTStore

/// The hash-chained audit trail: every command leaves an entry with operator, time, action and
/// object; each entry's hash covers its fields and the previous entry's hash, and the head
/// (last sequence and hash) is kept in `meta`, so an edited, deleted, inserted or truncated
/// entry is found by `verify`.
public enum AuditLog {
    public static let genesis = String(repeating: "0", count: 64)

    public struct Entry: Sendable, Codable, Hashable {
        public var seq: Int64
        public var at: String
        public var operatorName: String
        public var action: String
        public var object: String
        public var detail: String
        public var prevHash: String
        public var hash: String
        /// The signer's public key (hex) and Ed25519 signature (hex) of `signedMessage(hash)`,
        /// on decisions taken by a person (docs/operators.md).
        public var signerKey: String?
        public var signature: String?
    }

    /// What an operator's key signs for an entry: its hash, which covers its fields and the
    /// entry before it.
    public static func signedMessage(_ hash: String) -> [UInt8] { Array("ykt-audit|\(hash)".utf8) }

    public struct Problem: Sendable, Codable, Hashable, CustomStringConvertible {
        public var seq: Int64
        public var what: String
        /// "chain" (the hash chain) or "decision" (a signature, a role, a decision without its
        /// signed entry: `OperatorAudit`).
        public var kind = "chain"

        public init(seq: Int64, what: String, kind: String = "chain") {
            self.seq = seq
            self.what = what
            self.kind = kind
        }
        public var description: String { "第 \(seq) 条：\(what)" }
    }

    public struct Report: Sendable, Codable {
        public var entries: Int
        public var problems: [Problem]
        public var headHash: String
        public var ok: Bool { problems.isEmpty }
    }

    package static func digest(seq: Int64, at: String, operatorName: String, action: String, object: String,
                       detail: String, prev: String) -> String {
        // Fields are length-prefixed so no two different entries hash the same text.
        var text = prev + "\n" + String(seq)
        for field in [at, operatorName, action, object, detail] {
            text += "\n\(field.utf8.count):" + field
        }
        return SHA256.hex(text)
    }

    package static func append(db: Database, at: String, operatorName: String, action: String, object: String,
                       detail: String, signer: OperatorSigner? = nil) throws {
        let headSeq = try db.integer("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'audit_head_seq'") ?? 0
        let prev = try db.first("SELECT value FROM meta WHERE key = 'audit_head_hash'") { $0.text(0) } ?? genesis
        let seq = headSeq + 1
        let hash = digest(seq: seq, at: at, operatorName: operatorName, action: action, object: object,
                          detail: detail, prev: prev)
        var signerKey: String?, signature: String?
        if let signer {
            signerKey = Hex.encode(signer.publicKey.raw)
            signature = Hex.encode(try signer.sign(signedMessage(hash)))
        }
        try db.run("""
            INSERT INTO audit(seq, at, operator, action, object, detail, prev_hash, hash, signer_key, signature)
            VALUES (?,?,?,?,?,?,?,?,?,?)
            """, seq, at, operatorName, action, object, detail, prev, hash, signerKey, signature)
        try db.run("INSERT INTO meta(key, value) VALUES ('audit_head_seq', ?), ('audit_head_hash', ?) " +
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value", String(seq), hash)
    }

    /// The head as recorded in `meta` (the last entry's sequence and hash), read in one statement
    /// so that it is one snapshot; inside a transaction, the head of what that transaction sees.
    public static func head(db: Database) throws -> AuditHead {
        try db.first("""
            SELECT (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'audit_head_seq'),
                   (SELECT value FROM meta WHERE key = 'audit_head_hash')
            """) { r in r.isNull(0) ? AuditHead.genesis : AuditHead(seq: r.int64(0), hash: r.text(1)) } ?? .genesis
    }

    /// An anchor of this node's chain that the chain does not match: the entry at `seq` is
    /// missing (`found` nil) or has another hash.
    public struct AnchorProblem: Sendable, Codable, Hashable, CustomStringConvertible {
        public var seq: Int64
        public var expected: String
        public var found: String?
        /// Where the other side took the anchor from (a change set, a receipt, a file).
        public var source: String
        public var description: String {
            "第 \(seq) 条：对方持有的哈希为 \(expected)，本节点" + (found.map { "为 \($0)" } ?? "没有这一条") + "（\(source)）"
        }
    }

    /// Checks this node's chain against anchors the other side holds: the entry at each anchor's
    /// sequence must exist and have that hash (sequence 0 is the empty chain, always held).
    /// Each anchor that does not hold is one problem; `verify` must pass as well for the chain
    /// before an anchor to be the one anchored.
    public static func check(db: Database, anchors: [(head: AuditHead, source: String)]) throws -> [AnchorProblem] {
        let lookup = try db.statement("SELECT hash FROM audit WHERE seq = ?")
        var problems: [AnchorProblem] = []
        for (head, source) in anchors where head.seq > 0 {
            var found: String?
            try lookup.forEach([head.seq]) { found = $0.text(0) }
            if found != head.hash {
                problems.append(AnchorProblem(seq: head.seq, expected: head.hash, found: found, source: source))
            }
        }
        return problems
    }

    /// The latest `limit` entries, oldest first; `offset` skips that many of the latest first
    /// (the console pages back through the trail by the primary key).
    public static func entries(db: Database, limit: Int = Int.max, offset: Int = 0) throws -> [Entry] {
        try db.all("""
            SELECT seq, at, operator, action, object, detail, prev_hash, hash, signer_key, signature FROM audit
            ORDER BY seq DESC LIMIT ? OFFSET ?
            """, Int64(min(limit, Int(Int64.max))), Int64(max(0, offset))) { r in
            Entry(seq: r.int64(0), at: r.text(1), operatorName: r.text(2), action: r.text(3), object: r.text(4),
                  detail: r.text(5), prevHash: r.text(6), hash: r.text(7), signerKey: r.optionalText(8), signature: r.optionalText(9))
        }.reversed()
    }

    /// What `audit verify` ends with when the chain (or a decision's signature) is broken.
    public static func brokenError(_ report: Report) -> YKTError {
        YKTError(.auditBroken, "审计日志有 \(report.problems.count) 处断裂（共 \(report.entries) 条）",
                 hint: "数据库可能被绕过本程序改动；保留现场，报告县财政系统管理员",
                 details: report.problems.map { YKTError(.auditBroken, $0.description) })
    }

    /// What `audit verify` ends with when anchors the other side holds do not match.
    public static func anchorError(_ problems: [AnchorProblem], checked: Int, source: String) -> YKTError {
        YKTError(.auditAnchor, "本节点审计日志与对方持有的 \(problems.count) 个锚点不符（共核对 \(checked) 个，\(source)）：本节点的审计历史在对方记下之后被改写过",
                 hint: "停止使用本节点、保留现场（不要修复），报告县财政系统管理员",
                 details: problems.map { YKTError(.auditAnchor, $0.description) })
    }

    /// Walks the whole chain and reports every break.
    public static func verify(db: Database) throws -> Report {
        var problems: [Problem] = []
        var expectedSeq: Int64 = 1
        var prev = genesis
        var count = 0
        try db.forEach("SELECT seq, at, operator, action, object, detail, prev_hash, hash FROM audit ORDER BY seq") { r in
            count += 1
            let seq = r.int64(0)
            if seq != expectedSeq {
                problems.append(Problem(seq: seq, what: "序号不连续：应为 \(expectedSeq)，第 \(expectedSeq)–\(seq - 1) 条被删除"))
            }
            if r.text(6) != prev {
                problems.append(Problem(seq: seq, what: "前一条哈希不符：上一条被修改或删除"))
            }
            let recomputed = digest(seq: seq, at: r.text(1), operatorName: r.text(2), action: r.text(3),
                                    object: r.text(4), detail: r.text(5), prev: r.text(6))
            if recomputed != r.text(7) {
                problems.append(Problem(seq: seq, what: "内容与哈希不符：这一条被修改"))
            }
            prev = r.text(7)
            expectedSeq = seq + 1
        }
        let headSeq = try db.integer("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'audit_head_seq'") ?? 0
        let headHash = try db.first("SELECT value FROM meta WHERE key = 'audit_head_hash'") { $0.text(0) } ?? genesis
        if headSeq != expectedSeq - 1 || headHash != prev {
            problems.append(Problem(seq: expectedSeq - 1,
                                    what: "链尾与记录的链头（第 \(headSeq) 条）不符：末尾的记录被删除或篡改"))
        }
        return Report(entries: count, problems: problems, headHash: prev)
    }
}
