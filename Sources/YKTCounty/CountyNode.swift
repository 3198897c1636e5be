import Foundation
import YKTCore
import YKTCrypto
import YKTStore
import YKTSync
import YKTNode

/// The county node (县财政): the authority townships sync to. It registers townships and their
/// signing keys, receives their signed change sets, re-checks every operation against the same
/// domain rules, keeps the bytes verbatim as evidence, and answers with a signed receipt.
public final class CountyNode: OperatorNode {
    public static let databaseFile = "county.db"

    public let directory: String
    public let config: NodeConfig
    public let db: Database
    public var operatorName: String
    public var signer: OperatorSigner?
    public var now: @Sendable () -> Date = { Date() }
    /// Lines per `payment.result` message: a batch can hold hundreds of thousands of lines, and a
    /// message (about 300 bytes a line) stays well under the protocol's size limits.
    var resultLinesPerMessage = 2_000
    /// The largest change-set body the county takes (`max_changeset_bytes` in node.conf; a
    /// larger one is refused from its header, 413, before a byte of its body is read).
    public var maximumChangeSetBytes = 1 << 30
    /// The largest file from a bank the county reads (result files, statements); larger ones are
    /// refused unread (`YKT-FILE-SIZE`). Default 256 MiB (`ExchangeFile.defaultMaximumBytes`).
    public var exchangeFileMaximumBytes = ExchangeFile.defaultMaximumBytes
    /// The signing key as last loaded, and its id; `signingKey()` follows a rotation made by
    /// another process (the database names the active key).
    var key: Ed25519.PrivateKey
    var keyID: String

    init(directory: String, config: NodeConfig, db: Database, key: Ed25519.PrivateKey, operatorName: String) throws {
        self.directory = directory
        self.config = config
        self.db = db
        self.key = key
        self.keyID = try key.publicKey.keyID
        self.operatorName = operatorName
        try CountySchema.migrator.migrate(db)
        _ = try signingKey()
    }

    /// Makes a new county node directory (0700): configuration, database (0600), signing key (0600).
    public static func create(directory: String, config: NodeConfig) throws -> CountyNode {
        let fm = FileManager.default
        let confPath = (directory as NSString).appendingPathComponent(NodeConfig.fileName)
        if fm.fileExists(atPath: confPath) {
            throw YKTError(.nodeExists, "目录 \(directory) 已经是一个节点", at: SourceLocation(file: confPath))
        }
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
            try Data(config.text.utf8).write(to: URL(fileURLWithPath: confPath), options: .atomic)
        } catch {
            throw YKTError(.fileWrite, "不能创建节点目录：\(error.localizedDescription)", at: SourceLocation(file: directory))
        }
        _ = try NodeKey.create(in: directory)
        let node = try open(directory: directory, operatorName: config.defaultOperator)
        try node.perform("node.init", object: "county/\(config.nodeID)", detail: config.name) {}
        return node
    }

    public static func open(directory: String, operatorName: String? = nil) throws -> CountyNode {
        let confPath = (directory as NSString).appendingPathComponent(NodeConfig.fileName)
        guard let data = FileManager.default.contents(atPath: confPath) else {
            throw YKTError(.nodeMissing, "\(directory) 不是节点目录（没有 \(NodeConfig.fileName)）", at: SourceLocation(file: confPath),
                           hint: "先用 ykt init --role county 建立县级节点")
        }
        let config = try NodeConfig(text: String(decoding: data, as: UTF8.self), file: confPath)
        guard config.role == .county else {
            throw YKTError(.nodeConfig, "这是乡镇节点，本命令只用于县级节点", at: SourceLocation(file: confPath, field: "role"),
                           hint: "用 --node 或 YKT_NODE 指向县级节点的目录")
        }
        let db: Database
        do { db = try Database(path: (directory as NSString).appendingPathComponent(databaseFile), pageSize: Database.largePageSize) } catch {
            throw StoreErrors.map(error)
        }
        let who = operatorName?.isEmpty == false ? operatorName! : config.defaultOperator
        return try CountyNode(directory: directory, config: config, db: db, key: try NodeKey.load(from: directory),
                              operatorName: who.isEmpty ? "未署名" : who)
    }

    func timestamp() -> String { ChinaTime.timestamp(now()) }
    public func auditTimestamp() -> String { timestamp() }

    /// The county's decisions: each signed by the operator who takes it, who holds the role
    /// (docs/operators.md).
    public static let decisionRules: [String: OperatorAudit.Rule] = [
        "roster.review": .init(.reviewer), "roster.approve": .init(.approver), "account.change": .init(.approver),
        "warning.close": .init(.reviewer), "batch.reissue": .init(.payments),
        "conflict.resolve": .init(.administrator), "township.enrol": .init(.administrator), "bank.add": .init(.administrator),
        "township.disable": .init(.administrator), "township.enable": .init(.administrator),
        "county.key.rotate": .init(.administrator),
    ]

    public func audited<T>(_ action: String, object: String, detail: String, _ body: () throws -> T) throws -> T {
        try perform(action, object: object, detail: detail, body)
    }

    /// One command: the change and its audit entry in one transaction.
    @discardableResult
    func perform<T>(_ action: String, object: String, detail: String = "", _ body: () throws -> T) throws -> T {
        try perform(action, object: object, describing: { (try body(), detail) })
    }

    /// One command whose audit detail depends on what it finds inside its transaction (a
    /// decision that reads and writes in the same `BEGIN IMMEDIATE` transaction, so that no
    /// other writer comes between): `body` returns its value and the detail.
    func perform<T>(_ action: String, object: String, describing body: () throws -> (T, detail: String)) throws -> T {
        do {
            return try db.transaction {
                // Who may sign is settled before anything is changed.
                let signer = try signer(for: action)
                let (value, detail) = try body()
                try AuditLog.append(db: db, at: timestamp(), operatorName: operatorName, action: action, object: object, detail: detail,
                                    signer: signer)
                return value
            }
        } catch let error as DatabaseError {
            throw StoreErrors.map(error)
        }
    }

    public func publicKey() throws -> Ed25519.PublicKey { try signingKey().publicKey }

    /// Enrols a township: its code, name and signing public key (hex, from `ykt key show`).
    /// Enrolling a new key for a known township retires its previous keys.
    public func enrol(township code: String, name: String, publicKeyHex: String) throws {
        guard code.count == 9, code.allSatisfy({ $0.isASCII && $0.isNumber }), code.hasPrefix(config.countyCode) else {
            throw YKTError(.usageValue, "乡镇代码「\(code)」应为本县（\(config.countyCode)）的 9 位代码", at: SourceLocation(field: "--township"))
        }
        guard let raw = Hex.decode(publicKeyHex.trimmed), raw.count == 32 else {
            throw YKTError(.usageValue, "公钥应为 64 位十六进制（乡镇节点 ykt key show 显示的「公钥」）", at: SourceLocation(field: "--public-key"))
        }
        let key = Ed25519.PublicKey(raw: raw)
        try perform("township.enrol", object: "township/\(code) key/\(key.keyID)", detail: "key \(key.keyID)") {
            let at = timestamp()
            try db.run("INSERT INTO township(node_id, name, enrolled_at) VALUES (?, ?, ?) ON CONFLICT(node_id) DO UPDATE SET name = excluded.name",
                       code, name, at)
            try db.run("""
                UPDATE node_key SET active = 0, retired_at = coalesce(retired_at, ?), replaced_by = coalesce(replaced_by, ?)
                WHERE node_id = ? AND key_id != ? AND active = 1
                """, at, key.keyID, code, key.keyID)
            try db.run("""
                INSERT INTO node_key(node_id, key_id, public_key, active, registered_at) VALUES (?, ?, ?, 1, ?)
                ON CONFLICT(node_id, key_id) DO UPDATE SET active = 1, retired_at = NULL, replaced_by = NULL
                """, code, key.keyID, DatabaseValue.blob(raw), at)
            // A township enrolled after a publication starts with the current calendar and policy list.
            try sendCurrentCalendar(to: code)
            if let version = try db.integer("SELECT max(version) FROM policy_version"),
               try db.integer("SELECT count(*) FROM downstream WHERE node_id = ? AND kind = 'policy.version'", code) == 0 {
                let programs = try db.all("""
                    SELECT \(Program.storedColumns) FROM program ORDER BY code
                    """) { Program.stored($0).json }
                try emit(to: code, kind: "policy.version", data: ["version": .int(version), "programs": .array(programs)])
            }
        }
    }

    func registry() throws -> KeyRegistry {
        var r = KeyRegistry()
        try db.forEach("SELECT node_id, public_key, active, retired_at, replaced_by FROM node_key") {
            r.register(node: $0.text(0), key: Ed25519.PublicKey(raw: $0.blob(1)), active: $0.bool(2), retiredAt: $0.optionalText(3),
                       replacedBy: $0.optionalText(4))
        }
        return r
    }

    /// Where `node`'s upstream stream stands: the last applied change set and, when `seq` is an
    /// earlier one (a replay or a fork), that one's hash. Two indexed look-ups, whatever the
    /// number of change sets already applied.
    func position(of node: String, for seq: Int64? = nil) throws -> StreamPosition {
        var p = StreamPosition()
        if let last = try db.first("SELECT seq, hash FROM upstream WHERE node_id = ? ORDER BY seq DESC LIMIT 1", node,
                                   map: { (seq: $0.int64(0), hash: $0.text(1)) }) {
            p.lastSeq = last.seq
            p.lastHash = last.hash
            p.applied[last.seq] = last.hash
        }
        if let seq, seq < p.lastSeq,
           let hash = try db.first("SELECT hash FROM upstream WHERE node_id = ? AND seq = ?", node, seq, map: { $0.text(0) }) {
            p.applied[seq] = hash
        }
        return p
    }

    /// Totals the county holds per township: residents registered and submitted roster amounts.
    public func totals() throws -> [(node: String, residents: Int, rosters: Int, rosterFen: Int64, operations: Int)] {
        try db.all("""
            SELECT t.node_id,
                   (SELECT count(*) FROM resident r WHERE r.node_id = t.node_id),
                   (SELECT count(*) FROM roster r WHERE r.node_id = t.node_id),
                   (SELECT coalesce(sum(total_fen), 0) FROM roster r WHERE r.node_id = t.node_id),
                   (SELECT count(*) FROM operation o WHERE o.node_id = t.node_id)
                     + (SELECT coalesce(sum(length(ids) / 18), 0) FROM operation_run o WHERE o.node_id = t.node_id)
            FROM township t ORDER BY t.node_id
            """) { (node: $0.text(0), residents: $0.int(1), rosters: $0.int(2), rosterFen: $0.int64(3), operations: $0.int(4)) }
    }
}

extension CountyNode {
    public struct Conflict: Sendable, Codable {
        public var id: Int64
        public var kind: String
        public var entity: String
        public var node: String
        public var opSeq: Int64
        public var otherNode: String?
        public var detail: String
        public var status: String
        public var createdAt: String = ""
        public var decision: String?
        public var reason: String?
    }

    /// The conflict log, oldest first (`conflicts(_:)` filters and pages it).
    public func conflicts() throws -> [Conflict] { try conflicts(ConflictFilter()) }
}

extension CountyNode {
    /// Records in the audit trail that full personal data was displayed or exported.
    public func recordView(of object: String) throws {
        try perform("personal-data.view", object: object) {}
    }
}

extension CountyNode {
    /// Backs the county node up into the new directory `target` (see `NodeBackup`), with the
    /// townships' evidence files: each copied up to the end the database records once the
    /// database is copied, which covers every change set in the copy (bytes past a restored
    /// database's end are cut off by the next receive).
    public func backup(to target: String) throws -> NodeBackup.Report {
        var report = try NodeBackup.write(db: db, nodeDirectory: directory, databaseFile: Self.databaseFile, to: target)
        let ends = try db.all("""
            SELECT node_id, max(body_offset + body_bytes) FROM upstream WHERE body_offset IS NOT NULL GROUP BY node_id ORDER BY node_id
            """) { ($0.text(0), $0.int64(1)) }
        if !ends.isEmpty {
            let evidence = (target as NSString).appendingPathComponent(EvidenceFile.directoryName)
            guard mkdir(evidence, 0o700) == 0 else {
                throw YKTError(.fileWrite, "不能建立备份的存证目录：\(String(cString: strerror(errno)))", at: SourceLocation(file: evidence))
            }
            for (node, end) in ends {
                try EvidenceFile.copy(nodeDirectory: directory, node: node, bytes: end, toNodeDirectory: target)
                report.files.append("\(EvidenceFile.directoryName)/\(node).body")
            }
        }
        try perform("node.backup", object: target, detail: "bytes=\(report.databaseBytes)") {}
        return report
    }
}
