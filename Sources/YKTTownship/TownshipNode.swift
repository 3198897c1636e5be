import Foundation
import YKTCore
import YKTNode
import YKTStore

/// A township node (乡镇节点): its directory, configuration, database and calendar.
///
/// Every command that changes something runs through `perform`, which opens one transaction
/// for the change, its outbound operations (`enqueue`) and its audit entry: all three commit
/// together or not at all.
public final class TownshipNode: OperatorNode {
    public static let databaseFile = "township.db"

    public let directory: String
    public let config: NodeConfig
    public let db: Database
    public private(set) var calendar: WorkCalendar
    /// Who is working: recorded in every audit entry and operation.
    public var operatorName: String
    public var signer: OperatorSigner?
    /// The clock for timestamps (audit, operations). Business dates are always passed in.
    public var now: @Sendable () -> Date = { Date() }

    var nextOutboxSeq: Int64?
    /// The time of the command being performed: one command, one timestamp on every row it writes.
    var commandTime: String?

    init(directory: String, config: NodeConfig, db: Database, operatorName: String) throws {
        self.directory = directory
        self.config = config
        self.db = db
        self.operatorName = operatorName
        self.calendar = WorkCalendar()
        try Schema.migrator.migrate(db)
        try reloadCalendar()
    }

    /// Makes a new node directory (mode 0700) with its configuration and an empty database.
    public static func create(directory: String, config: NodeConfig) throws -> TownshipNode {
        let fm = FileManager.default
        let confPath = (directory as NSString).appendingPathComponent(NodeConfig.fileName)
        if fm.fileExists(atPath: confPath) {
            throw YKTError(.nodeExists, "目录 \(directory) 已经是一个节点", at: SourceLocation(file: confPath),
                           hint: "换一个目录，或直接使用这个节点")
        }
        guard config.nodeID.count == 9, config.nodeID.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw YKTError(.usageValue, "乡镇代码「\(config.nodeID)」应为 9 位数字（县级 6 位 + 乡镇 3 位）",
                           at: SourceLocation(field: "--township"), hint: "例如 450223101")
        }
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                   attributes: [.posixPermissions: 0o700])
            // An existing empty directory keeps its mode unless we set it.
            try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
            try Data(config.text.utf8).write(to: URL(fileURLWithPath: confPath), options: .atomic)
        } catch {
            throw YKTError(.fileWrite, "不能创建节点目录：\(error.localizedDescription)",
                           at: SourceLocation(file: directory), hint: "检查路径和权限")
        }
        let node = try open(directory: directory, operatorName: config.defaultOperator)
        let key = try NodeKey.create(in: directory)
        try node.perform("node.init") {
            try node.db.run("INSERT INTO meta(key, value) VALUES ('node_id', ?), ('created_at', ?)",
                            config.nodeID, node.timestamp())
            return ((), AuditNote(object: "node/\(config.nodeID)", detail: "\(config.name) key \(try key.publicKey.keyID)"))
        }
        return node
    }

    /// Opens an existing node directory.
    public static func open(directory: String, operatorName: String? = nil) throws -> TownshipNode {
        let confPath = (directory as NSString).appendingPathComponent(NodeConfig.fileName)
        guard let data = FileManager.default.contents(atPath: confPath) else {
            throw YKTError(.nodeMissing, "\(directory) 不是节点目录（没有 \(NodeConfig.fileName)）",
                           at: SourceLocation(file: confPath),
                           hint: "先用 ykt init --node 目录 --township 代码 --name 名称 建立节点，或用 --node / YKT_NODE 指向已有节点")
        }
        let config = try NodeConfig(text: String(decoding: data, as: UTF8.self), file: confPath)
        guard config.role == .township else {
            throw YKTError(.nodeConfig, "这是县级节点，本命令只用于乡镇节点",
                           at: SourceLocation(file: confPath, field: "role"), hint: "用 --node 或 YKT_NODE 指向乡镇节点的目录")
        }
        let dbPath = (directory as NSString).appendingPathComponent(databaseFile)
        let db: Database
        do { db = try Database(path: dbPath) } catch { throw StoreErrors.map(error) }
        let who = (operatorName?.isEmpty == false ? operatorName! : config.defaultOperator)
        let node: TownshipNode
        do {
            node = try TownshipNode(directory: directory, config: config, db: db, operatorName: who.isEmpty ? "未署名" : who)
        } catch let e as Migrator.TooNew {
            throw YKTError(.databaseSchema, "数据库结构版本 \(e.found) 比本程序支持的 \(e.supported) 新",
                           at: SourceLocation(file: dbPath), hint: "请升级 ykt 程序后再打开这个节点")
        }
        // Operation ids carry the node id: the configuration must still name the node the
        // database belongs to.
        if let recorded = try node.db.first("SELECT value FROM meta WHERE key = 'node_id'", map: { $0.text(0) }),
           recorded != config.nodeID {
            throw YKTError(.nodeConfig, "node.conf 中的 node_id \(config.nodeID) 与数据库所属节点 \(recorded) 不符",
                           at: SourceLocation(file: confPath, field: "node_id"),
                           hint: "把 node_id 改回 \(recorded)；一个数据库只属于一个乡镇节点")
        }
        return node
    }

    func timestamp() -> String { commandTime ?? ChinaTime.timestamp(now()) }
    public func auditTimestamp() -> String { timestamp() }

    /// The township's decisions: the leader's sign-off of a roster (乡镇审核) is signed by them.
    public static let decisionRules: [String: OperatorAudit.Rule] = [
        "roster.submit": .init(.leader), "key.rotate": .init(.administrator),
    ]

    public func audited<T>(_ action: String, object: String, detail: String, _ body: () throws -> T) throws -> T {
        try perform(action) { (try body(), AuditNote(object: object, detail: detail)) }
    }

    /// Loads the calendar the county published, as sync brought it (`TownshipNode+Calendar.swift`).
    /// A township that has received none has no year: every date is refused with `YKT-CAL-NODATA`.
    func reloadCalendar() throws {
        var lines: [String] = []
        try db.forEach("SELECT date, kind, name FROM county_calendar_day ORDER BY date") { row in
            lines.append("\(row.text(0))\t\(row.text(1))\t\(row.text(2))")
        }
        calendar = try WorkCalendar(tsv: lines.joined(separator: "\n"), file: "县财政发布的工作日历")
    }

    /// A township does not load holidays itself: the county publishes them and sync brings them
    /// down, so the two cannot diverge. Always refused with `YKT-CAL-COUNTY`.
    public func loadCalendar(tsv: String, file: String) throws -> Never {
        throw YKTError(.calendarCounty, "乡镇节点不能自行导入节假日安排，只采用县财政发布的工作日历", at: SourceLocation(file: file),
                       hint: "请县财政用 ykt calendar publish 发布（已发布年度有误用 ykt calendar correct 更正），乡镇 ykt sync 后即采用；ykt calendar show 查看本节点的版本")
    }

    /// What one command leaves in the audit trail besides its action.
    public struct AuditNote: Sendable {
        public var object: String
        public var detail: String
        public init(object: String, detail: String = "") {
            self.object = object
            self.detail = detail
        }
    }

    /// Runs `body` as one command: one transaction holding the change, its outbound operations
    /// and one audit entry. Any error rolls all of it back; database errors come out as `YKTError`.
    @discardableResult
    public func perform<T>(_ action: String, _ body: () throws -> (T, AuditNote)) throws -> T {
        try performUnlessIdle(action) { () throws -> (T, AuditNote?) in
            let (value, note) = try body()
            return (value, note)
        }
    }

    /// `perform` for work that may find nothing to do (a scheduled sync round with nothing to
    /// send): a nil note means the body changed nothing, and no audit entry is written.
    @discardableResult
    func performUnlessIdle<T>(_ action: String, _ body: () throws -> (T, AuditNote?)) throws -> T {
        do {
            return try db.transaction {
                nextOutboxSeq = nil
                commandTime = ChinaTime.timestamp(now())
                defer {
                    nextOutboxSeq = nil
                    commandTime = nil
                }
                let signer = try signer(for: action)
                let (value, note) = try body()
                if let note {
                    try AuditLog.append(db: db, at: timestamp(), operatorName: operatorName, action: action,
                                        object: note.object, detail: note.detail, signer: signer)
                }
                return value
            }
        } catch let error as DatabaseError {
            throw StoreErrors.map(error)
        }
    }

    /// Appends one domain operation to the outbox. Must run inside `perform`.
    /// The operation format is specified in `docs/operations.md`.
    @discardableResult
    func enqueue(_ kind: String, entity: String, baseVersion: Int, data: JSONValue) throws -> Int64 {
        let seq = try reserveOutboxSequence(count: 1)
        try insertOperation(seq: seq, kind: kind, entity: entity, baseVersion: baseVersion, at: timestamp(),
                            data: data.canonical)
        return seq
    }

    /// Reserves `count` consecutive outbox sequence numbers in the current transaction and
    /// returns the first. Numbers are gapless: a rolled-back transaction reserves nothing.
    func reserveOutboxSequence(count: Int) throws -> Int64 {
        precondition(db.isInTransaction, "operations are written only inside the change's transaction")
        let first = try nextOutboxSeq ?? ((try db.integer("SELECT max(seq) FROM outbox") ?? 0) + 1)
        nextOutboxSeq = first + Int64(count)
        return first
    }

    /// Writes one operation whose `data` is already canonical JSON.
    func insertOperation(seq: Int64, kind: String, entity: String, baseVersion: Int, at: String, data: String) throws {
        let s = try db.statement("INSERT INTO outbox(seq, kind, entity, base_version, at, by_operator, data) VALUES (?, ?, ?, ?, ?, ?, ?)")
        s.reset()
        try s.bind(1, seq)
        try s.bind(2, kind)
        try s.bind(3, entity)
        try s.bind(4, Int64(baseVersion))
        try s.bind(5, at)
        try s.bind(6, operatorName)
        try s.bind(7, data)
        try s.execute()
    }
}
