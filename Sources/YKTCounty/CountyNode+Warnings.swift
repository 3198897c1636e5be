import YKTCore
import YKTStore
import YKTNode

/// The warning rules (预警规则, "big-data comparison") across every township: leads for a person
/// to check, each with its evidence and a status. Rules in `docs/conventions.md`.
public enum WarningRule: String, Sendable, Codable, CaseIterable {
    case severalAccounts = "one-person-several-accounts"
    case sharedAccount = "one-account-several-people"
    case paidTwice = "paid-twice"
    case aboveStandard = "above-standard"
    case deceased = "deceased"
    case official = "official-relative"
    case invalidID = "invalid-id"
    /// A dated act recorded after its date (补录): blocks approval until a reviewer clears it.
    case backdated = "backdated"
    /// 一户多卡: per-household programs paid one household onto several accounts in a year.
    case householdSeveralAccounts = "one-household-several-accounts"
    /// 一户重复发放: one per-household program paid twice to one household for colliding periods.
    case householdPaidTwice = "household-paid-twice"
    /// A live roster line of a program in its social security card transition (发放载体
    /// 社保卡（过渡期）) paid onto another kind of account. Does not block approval: the county's
    /// policy allows the transition; the warning lists who still has to move to the card.
    case carrierTransition = "carrier-transition"

    /// Whether an open or confirmed warning of this rule on a line stops the roster's approval.
    public var blocksApproval: Bool { self != .carrierTransition }

    public var chinese: String {
        switch self {
        case .severalAccounts: "一人多卡"
        case .sharedAccount: "一卡多人"
        case .paidTwice: "同一人同一项目同一期次重复发放"
        case .aboveStandard: "发放金额高于补贴标准"
        case .deceased: "已故人员仍在发放名单"
        case .official: "公职人员及其亲属在发放名单"
        case .invalidID: "身份证号无效"
        case .backdated: "补录（业务日期早于录入日）"
        case .householdSeveralAccounts: "一户多卡"
        case .householdPaidTwice: "同一户同一项目同一期次重复发放"
        case .carrierTransition: "社保卡过渡期仍发放到其他账户"
        }
    }
}

extension CountyNode {
    public struct Warning: Sendable, Codable {
        public var id: Int64
        public var rule: WarningRule
        public var subject: String
        /// JSON: the rows that make the case (full personal data: shown masked unless asked).
        public var evidence: String
        public var residents: [String]
        public var status: String
        public var foundAt: String
        public var lastSeen: String
        public var closedBy: String?
        public var closeReason: String?
        public var statusChinese: String { ["open": "待核实", "confirmed": "已核实属实", "dismissed": "已排除"][status] ?? status }
    }

    public struct WarningRun: Sendable, Codable {
        /// Findings of this run by rule: over the whole county in a full run, over what was
        /// checked in an incremental one.
        public var found: [String: Int] = [:]
        public var new = 0
        public var reopened = 0
        /// "full" or "incremental".
        public var mode = "full"
        /// What an incremental run checked: rosters new or changed since the last run, and the
        /// residents and accounts on them or changed in the register.
        public var rosters = 0
        public var residents = 0
        public var accounts = 0
        public var total: Int { found.values.reduce(0, +) }
    }

    /// Runs the rules. A warning is one rule × subject; running again refreshes its evidence
    /// and keeps its status, except that a dismissed warning whose evidence changed is opened
    /// again (the dismissal covered what was seen then).
    ///
    /// By default a run checks what changed since the last one (`WarningChanges`), against the
    /// history through indexes: its findings are the full run's for every subject it touches,
    /// and every other subject's are unchanged. `full` (or no earlier run, or a new policy
    /// list) reads the whole history.
    @discardableResult
    public func runWarnings(full: Bool = false) throws -> WarningRun {
        let scan = try WarningScan(db: db, today: CivilDate.inChina(at: now()))
        let changes = try WarningChanges(db, scan: scan, forceFull: full)
        var run = WarningRun()
        let findings: [WarningScan.Finding]
        if changes.full {
            findings = try scan.run()
        } else {
            let (found, checked) = try scan.runIncremental(changes)
            findings = found
            run.mode = "incremental"
            (run.rosters, run.residents, run.accounts) = (checked.rosters, checked.residents, checked.accounts)
        }
        let detail = "mode=\(run.mode) findings=\(findings.count)" + (changes.full ? "" : " rosters=\(run.rosters) residents=\(run.residents)")
        return try perform("warnings.run", object: "warnings", detail: detail) {
            let at = timestamp()
            let existing = try db.statement("SELECT id, status, evidence FROM warning WHERE rule = ? AND subject = ?")
            for f in findings {
                run.found[f.rule.rawValue, default: 0] += 1
                let evidence = f.evidence.canonical
                var known: (id: Int64, status: String, evidence: String)?
                try existing.forEach([f.rule.rawValue, f.subject]) { known = ($0.int64(0), $0.text(1), $0.text(2)) }
                let id: Int64
                if let known {
                    id = known.id
                    let reopen = known.status == "dismissed" && known.evidence != evidence
                    if reopen { run.reopened += 1 }
                    try db.run("UPDATE warning SET evidence = ?, last_seen = ?, status = ? WHERE id = ?",
                               evidence, at, reopen ? "open" : known.status, id)
                } else {
                    try db.run("""
                        INSERT INTO warning(rule, subject, evidence, residents, found_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)
                        """, f.rule.rawValue, f.subject, evidence, f.residents.joined(separator: ","), at, at)
                    id = db.lastInsertRowID
                    run.new += 1
                }
                for rid in f.residents {
                    try db.run("INSERT OR IGNORE INTO warning_resident(warning_id, resident_id) VALUES (?, ?)", id, rid)
                }
            }
            try changes.keep(db, mode: run.mode, at: at)
            return run
        }
    }

    static func warning(_ r: Row) -> Warning {
        Warning(id: r.int64(0), rule: WarningRule(rawValue: r.text(1)) ?? .invalidID, subject: r.text(2), evidence: r.text(3),
                residents: r.text(4).split(separator: ",").map(String.init), status: r.text(5), foundAt: r.text(6),
                lastSeen: r.text(7), closedBy: r.optionalText(8), closeReason: r.optionalText(9))
    }

    static let warningColumns = "id, rule, subject, evidence, residents, status, found_at, last_seen, closed_by, close_reason"

    /// The warnings with `status` and `rule` (nil: any), by number; `limit` and `offset` page
    /// them (the console shows a page at a time).
    public func warnings(status: String? = nil, rule: WarningRule? = nil, limit: Int? = nil, offset: Int = 0) throws -> [Warning] {
        try db.all("""
            SELECT \(Self.warningColumns) FROM warning WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR rule = ?2) ORDER BY id
            LIMIT ?3 OFFSET ?4
            """, status, rule?.rawValue, Int64(limit ?? -1), Int64(max(0, offset)), map: Self.warning)
    }

    /// How many warnings have `status` and `rule` (nil: any).
    public func warningCount(status: String? = nil, rule: WarningRule? = nil) throws -> Int {
        Int(try db.integer("SELECT count(*) FROM warning WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR rule = ?2)",
                           status, rule?.rawValue) ?? 0)
    }

    /// Counts by rule and status (the console's overview above the list).
    public func warningSummary() throws -> [(rule: WarningRule, status: String, count: Int)] {
        try db.all("SELECT rule, status, count(*) FROM warning GROUP BY rule, status ORDER BY rule, status") {
            (WarningRule(rawValue: $0.text(0)) ?? .invalidID, $0.text(1), $0.int(2))
        }
    }

    public func warning(_ id: Int64) throws -> Warning {
        guard let w = try db.first("SELECT \(Self.warningColumns) FROM warning WHERE id = ?", id, map: Self.warning) else {
            throw YKTError(.warningUnknown, "没有编号为 \(id) 的预警", hint: "用 ykt warnings list 查看")
        }
        return w
    }

    /// Closes a warning after checking it: confirmed (true: the lead was right; it keeps
    /// blocking approval of that person's lines) or dismissed (with the reason).
    public func closeWarning(_ id: Int64, confirmed: Bool, reason: String) throws {
        let why = reason.trimmed
        guard !why.isEmpty else { throw YKTError(.fieldMissing, "处理预警须写明核实情况", at: SourceLocation(field: "--reason")) }
        let w = try warning(id)
        guard w.status == "open" else { throw YKTError(.warningState, "预警 \(id) 已处理（\(w.statusChinese)）") }
        // A reviewer decides: of the warning's program when it names one (a backdated act is
        // cleared only by a reviewer of its program), otherwise any reviewer.
        let program = (try? JSONValue.parse(Array(w.evidence.utf8)))?["program"]?.stringValue
        if let program { try requireRole(.reviewer, program: program) } else { try requireAnyGrant(of: .reviewer) }
        try perform("warning.close", object: "warning#\(id)",
                    detail: (program.map { "program=\($0) " } ?? "") + (confirmed ? "confirmed: " : "dismissed: ") + why) {
            try db.run("UPDATE warning SET status = ?, closed_by = ?, closed_at = ?, close_reason = ? WHERE id = ?",
                       confirmed ? "confirmed" : "dismissed", operatorName, timestamp(), why, id)
        }
    }

    /// Evidence with resident IDs and account numbers masked, for lists and screens.
    public static func maskedEvidence(_ text: String) -> String {
        guard let v = try? JSONValue.parse(Array(text.utf8)) else { return "" }
        func mask(_ v: JSONValue, key: String?) -> JSONValue {
            switch v {
            case .object(let o): return .object(o.mapValues { $0 }.reduce(into: [:]) { $0[$1.key] = mask($1.value, key: $1.key) })
            case .array(let a): return .array(a.map { mask($0, key: key) })
            case .string(let s):
                if ["residentId", "residents"].contains(key) { return .string(Masking.residentID(s)) }
                if ["accountNumber", "accounts"].contains(key) { return .string(Masking.account(s)) }
                return v
            default: return v
            }
        }
        return mask(v, key: nil).canonical
    }

    // MARK: Lists from other departments

    /// Imports the civil-affairs list of deceased residents (身份证号, 姓名, 死亡日期, 来源),
    /// all-or-nothing; replaces earlier entries for the same residents.
    @discardableResult
    public func importDeceased(path: String, encoding: TextEncoding = .auto) throws -> Int {
        try importList(path: path, encoding: encoding, action: "deceased.import", what: "死亡人员名单",
                       columns: [CSVColumn("id", ["身份证号", "公民身份号码", "resident_id"]), CSVColumn("name", ["姓名", "name"]),
                                 CSVColumn("date", ["死亡日期", "died_on"]), CSVColumn("source", ["来源", "source"], required: false)]) { v, source in
            let date = try CivilDate(parsing: v["date"] ?? "")
            try db.run("INSERT OR REPLACE INTO deceased(resident_id, name, died_on, source) VALUES (?, ?, ?, ?)",
                       v["id"] ?? "", v["name"] ?? "", date.description, v["source"].flatMap { $0.isEmpty ? nil : $0 } ?? source)
        }
    }

    /// Imports the list of officials and their relatives (身份证号, 姓名, 工作单位, 关系).
    @discardableResult
    public func importOfficials(path: String, encoding: TextEncoding = .auto) throws -> Int {
        try importList(path: path, encoding: encoding, action: "officials.import", what: "公职人员及亲属名单",
                       columns: [CSVColumn("id", ["身份证号", "公民身份号码", "resident_id"]), CSVColumn("name", ["姓名", "name"]),
                                 CSVColumn("unit", ["工作单位", "单位", "unit"]), CSVColumn("relation", ["关系", "与公职人员关系", "relation"])]) { v, source in
            try db.run("INSERT OR REPLACE INTO official(resident_id, name, unit, relation, source) VALUES (?, ?, ?, ?, ?)",
                       v["id"] ?? "", v["name"] ?? "", v["unit"] ?? "", v["relation"] ?? "", source)
        }
    }

    func importList(path: String, encoding: TextEncoding, action: String, what: String, columns: [CSVColumn],
                    insert: ([String: String], String) throws -> Void) throws -> Int {
        let loaded = try CSVFiles.load(path: path, encoding: encoding)
        let header = try CSVHeader(loaded.header, columns: columns, file: loaded.name)
        var rows: [[String: String]] = []
        var problems: [YKTError] = []
        for r in loaded.rows {
            var v: [String: String] = [:]
            for c in columns { v[c.key] = header.value(c.key, in: r).trimmed }
            do {
                v["id"] = try ResidentID(v["id"] ?? "").value
                _ = try PersonName.validate(v["name"] ?? "")
                if let d = v["date"] { _ = try CivilDate(parsing: d) }
                rows.append(v)
            } catch {
                problems.append(error.located(SourceLocation(file: loaded.name, line: r.line)))
            }
        }
        guard problems.isEmpty else {
            let list = try CSVFiles.writeProblems(loaded, problems, into: NSStringPath(directory).appending("out"))
            throw YKTError(.importRejected, "\(what)有 \(problems.count) 行错误，整批未导入", at: SourceLocation(file: loaded.name),
                           hint: "全部问题已逐条写入 \(list)；改正后重新导入", details: problems)
        }
        return try perform(action, object: "file \(loaded.name) sha256:\(loaded.sha256.prefix(16))", detail: "rows=\(rows.count)") {
            for v in rows { try insert(v, loaded.name) }
            return rows.count
        }
    }
}
