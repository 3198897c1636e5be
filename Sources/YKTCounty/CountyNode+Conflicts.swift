import YKTCore
import YKTStore
import YKTNode

/// The conflict log as an administrator works through it (issue 16, item 2): filtered, paged,
/// counted by kind and township, and resolved one at a time or as a filtered set, with only the
/// decisions each kind allows.
extension CountyNode {
    /// Which conflicts: every field nil or empty means "any".
    public struct ConflictFilter: Sendable {
        public var status: String?
        public var kind: String?
        public var township: String?
        /// China calendar dates, inclusive, on the day the conflict was recorded.
        public var from: CivilDate?
        public var to: CivilDate?
        public var ids: [Int64]?
        public var limit: Int?
        public var offset = 0
        public init(status: String? = nil, kind: String? = nil, township: String? = nil, from: CivilDate? = nil,
                    to: CivilDate? = nil, ids: [Int64]? = nil, limit: Int? = nil, offset: Int = 0) {
            self.status = status
            self.kind = kind
            self.township = township
            self.from = from
            self.to = to
            self.ids = ids
            self.limit = limit
            self.offset = offset
        }

        /// Whether it narrows anything (a bulk resolve must name a set, never "everything" by accident).
        public var narrows: Bool {
            kind != nil || township != nil || from != nil || to != nil || ids != nil
        }

        func whereClause() throws -> (sql: String, values: [any DatabaseValueConvertible]) {
            var parts: [String] = []
            var values: [any DatabaseValueConvertible] = []
            if let status {
                guard ["open", "resolved"].contains(status) else {
                    throw YKTError(.usageValue, "状态「\(status)」无效", at: SourceLocation(field: "--status"), hint: "open（待处理）或 resolved（已处理）")
                }
                parts.append("status = ?"); values.append(status)
            }
            if let kind { parts.append("kind = ?"); values.append(kind) }
            if let township { parts.append("(node_id = ? OR other_node = ?)"); values.append(township); values.append(township) }
            if let from { parts.append("substr(created_at, 1, 10) >= ?"); values.append(from.description) }
            if let to { parts.append("substr(created_at, 1, 10) <= ?"); values.append(to.description) }
            if let ids {
                parts.append("id IN (\(ids.isEmpty ? "NULL" : ids.map { _ in "?" }.joined(separator: ",")))")
                values.append(contentsOf: ids.map { $0 as any DatabaseValueConvertible })
            }
            return (parts.isEmpty ? "" : "WHERE " + parts.joined(separator: " AND "), values)
        }
    }

    /// The conflicts `filter` names, oldest first, paged by its limit and offset. Entity keys
    /// carry resident IDs; they are masked here.
    public func conflicts(_ filter: ConflictFilter) throws -> [Conflict] {
        let (clause, values) = try filter.whereClause()
        let page = filter.limit.map { " LIMIT \($0) OFFSET \(filter.offset)" } ?? (filter.offset > 0 ? " LIMIT -1 OFFSET \(filter.offset)" : "")
        var out: [Conflict] = []
        try db.statement("""
            SELECT id, kind, entity, node_id, op_seq, other_node, detail, status, created_at, decision, reason FROM conflict \(clause) ORDER BY id\(page)
            """).forEach(values) { r in
            out.append(Conflict(id: r.int64(0), kind: r.text(1),
                     entity: r.text(2).split(separator: "/").map { $0.count == 18 ? Masking.residentID(String($0)) : String($0) }
                         .joined(separator: "/"),
                     node: r.text(3), opSeq: r.int64(4), otherNode: r.optionalText(5), detail: r.text(6), status: r.text(7),
                     createdAt: r.text(8), decision: r.optionalText(9), reason: r.optionalText(10)))
        }
        return out
    }

    /// How many conflicts `filter` names (ignoring its paging).
    public func conflictCount(_ filter: ConflictFilter) throws -> Int {
        let (clause, values) = try filter.whereClause()
        var n = 0
        try db.statement("SELECT count(*) FROM conflict \(clause)").forEach(values) { n = $0.int(0) }
        return n
    }

    /// Counts by kind, township and status (`ykt conflicts list --summary`).
    public struct ConflictCount: Sendable, Codable {
        public var kind: String
        public var township: String
        public var status: String
        public var count: Int
    }

    public func conflictSummary(_ filter: ConflictFilter) throws -> [ConflictCount] {
        var unpaged = filter
        unpaged.limit = nil
        unpaged.offset = 0
        let (clause, values) = try unpaged.whereClause()
        var out: [ConflictCount] = []
        try db.statement("""
            SELECT kind, node_id, status, count(*) FROM conflict \(clause) GROUP BY kind, node_id, status ORDER BY kind, node_id, status
            """).forEach(values) { out.append(ConflictCount(kind: $0.text(0), township: $0.text(1), status: $0.text(2), count: $0.int(3))) }
        return out
    }

    /// One decision an administrator may take on a conflict of some kind, and what it does.
    public struct ConflictDecision: Sendable, Codable, Equatable {
        public var decision: String
        public var meaning: String
    }

    /// The decisions valid for `c` (its kind, and for a resident's conflicts the townships involved).
    public static func decisions(for c: Conflict) -> [ConflictDecision] {
        switch c.kind {
        case "resident.two-townships":
            let first = c.otherNode ?? "先登记的乡镇", later = c.node
            return [ConflictDecision(decision: "keep-\(first)", meaning: "此人由先登记的乡镇 \(first) 保留；乡镇 \(later) 须用 ykt beneficiary remove 从底册移除此人"),
                    ConflictDecision(decision: "keep-\(later)", meaning: "此人改由乡镇 \(later) 登记（县里底册改记在 \(later) 名下，账户取 \(later) 报来的）；乡镇 \(first) 须用 ykt beneficiary remove 移除此人")]
        case "resident.other-township":
            let owner = c.otherNode ?? "登记的乡镇"
            return [ConflictDecision(decision: "keep-\(owner)", meaning: "此人仍由乡镇 \(owner) 登记，乡镇 \(c.node) 的这项变更不采用；\(c.node) 底册中如有此人，须用 ykt beneficiary remove 移除")]
        case "account.both-sides":
            return [ConflictDecision(decision: "township", meaning: "采用乡镇报来的新账户"),
                    ConflictDecision(decision: "county", meaning: "保留县里的账户（乡镇同步后自动改回）")]
        case ProgramGate.conflictKind:
            return [ConflictDecision(decision: "void", meaning: "这些申请作废；乡镇按县里发布的清单（ykt program list）重新录入")]
        case "roster.already-accepted":
            return [ConflictDecision(decision: "county", meaning: "以县里已接收的清册为准，乡镇的再次报送作废")]
        default:
            return [ConflictDecision(decision: "acknowledge", meaning: "已核实，记录理由，通知乡镇")]
        }
    }

    /// The decisions valid for every kind the conflict log has, for `conflicts resolve --help`.
    public static let decisionsByKind: [(kind: String, decisions: String)] = [
        ("resident.two-townships", "keep-<乡镇代码>（保留哪个乡镇的登记：两个乡镇之一）"),
        ("resident.other-township", "keep-<登记此人的乡镇代码>"),
        ("account.both-sides", "township（采用乡镇的新账户）或 county（保留县里的账户）"),
        (ProgramGate.conflictKind, "void（申请作废，乡镇按县里的清单重新录入）"),
        ("roster.already-accepted", "county（以县里已接收的清册为准）"),
    ]

    /// Resolves one conflict (`resolveConflicts` with its id).
    public func resolveConflict(_ id: Int64, decision: String, reason: String) throws {
        guard try conflicts(ConflictFilter(ids: [id])).first != nil else {
            throw YKTError(.conflictUnknown, "没有编号为 \(id) 的冲突", hint: "用 ykt conflicts list 查看")
        }
        _ = try resolveConflicts(ConflictFilter(ids: [id]), decision: decision, reason: reason)
    }

    /// How many conflicts one signed audit entry of a bulk resolve names (its object lists
    /// `conflict#<id>` for each, which `audit verify` matches against the resolved rows).
    static let conflictsPerEntry = 500

    /// Resolves every open conflict `filter` names with one decision and one reason, in one
    /// transaction: the decision must be valid for each of them (else nothing is resolved and
    /// `YKT-CONFLICT-DECISION` lists the valid ones), each conflict's decision flows down to the
    /// townships involved, and the set is recorded as signed `conflict.resolve` entries of up
    /// to `conflictsPerEntry` conflicts each, all signed by the administrator who decided.
    /// Returns how many were resolved.
    @discardableResult
    public func resolveConflicts(_ filter: ConflictFilter, decision raw: String, reason: String) throws -> Int {
        let decision = raw.trimmed, why = reason.trimmed
        guard !why.isEmpty, !decision.isEmpty else {
            throw YKTError(.fieldMissing, "处理冲突须写明决定和理由", at: SourceLocation(field: why.isEmpty ? "--reason" : "--decision"))
        }
        var chosen = filter
        chosen.limit = nil
        chosen.offset = 0
        do {
            return try db.transaction {
                let signer = try signer(for: "conflict.resolve")
                let all = try conflicts(chosen)
                if let single = filter.ids, single.count == 1, let c = all.first, c.status != "open" {
                    throw YKTError(.conflictState, "冲突 \(c.id) 已处理（决定 \(c.decision ?? "")）",
                                   hint: "用 ykt conflicts show \(c.id) 查看当时的决定和理由；一条冲突只处理一次")
                }
                let open = all.filter { $0.status == "open" }
                guard !open.isEmpty else {
                    throw YKTError(.conflictUnknown, "没有符合条件的待处理冲突", hint: "用 ykt conflicts list --status open 查看")
                }
                for c in open {
                    let valid = Self.decisions(for: c)
                    guard valid.contains(where: { $0.decision == decision }) else {
                        throw YKTError(.conflictDecision,
                                       "决定「\(decision)」不适用于冲突 \(c.id)（\(c.kind)）；可用的决定：" + valid.map { "\($0.decision)（\($0.meaning)）" }.joined(separator: "；"),
                                       at: SourceLocation(field: "--decision"),
                                       hint: open.count > 1 ? "批量处理时决定须适用于所选的每一条冲突：用 --kind、--township 缩小范围" : "用 ykt conflicts show \(c.id) 核对后再决定")
                    }
                }
                var index = 0
                while index < open.count {
                    let chunk = open[index..<min(index + Self.conflictsPerEntry, open.count)]
                    for c in chunk { try settle(c, decision: decision, reason: why) }
                    try AuditLog.append(db: db, at: timestamp(), operatorName: operatorName, action: "conflict.resolve",
                                        object: chunk.map { "conflict#\($0.id)" }.joined(separator: ","),
                                        detail: open.count == 1 ? decision : "\(decision) bulk=\(open.count)", signer: signer)
                    index += chunk.count
                }
                return open.count
            }
        } catch let error as DatabaseError {
            throw StoreErrors.map(error)
        }
    }

    /// One conflict's decision: its effect at the county, the row, and the message down to
    /// every township involved. Runs inside `resolveConflicts`' transaction.
    private func settle(_ c: Conflict, decision: String, reason why: String) throws {
        let (entity, detail) = try db.first("SELECT entity, detail FROM conflict WHERE id = ?", c.id) { ($0.text(0), $0.text(1)) } ?? ("", "")
        var data: [String: JSONValue] = [:]
        switch c.kind {
        case "account.both-sides":
            // An account conflict is settled here too; its message says which account stands.
            data = try settleAccountConflict(c, entity: entity, decision: decision, reason: why)
        case "resident.two-townships" where decision == "keep-\(c.node)":
            try moveResident(c, entity: entity)
        default:
            break
        }
        try db.run("UPDATE conflict SET status = 'resolved', decision = ?, reason = ? WHERE id = ?", decision, why, c.id)
        data.merge(["conflict": .int(c.id), "kind": .string(c.kind), "entity": .string(entity), "operation": .string("\(c.node)-\(c.opSeq)"),
                    "decision": .string(decision), "reason": .string(why), "detail": .string(detail)]) { $1 }
        if let other = c.otherNode { data["other"] = .string(other) }
        data["township"] = .string(c.node)
        for node in Set([c.node] + (c.otherNode.map { [$0] } ?? [])) {
            try emit(to: node, kind: "conflict.decision", data: .object(data))
        }
    }

    /// "keep" the later township's registration: the county's register index names it, with
    /// the name and the account of the latest registration or account change it sent for the
    /// person, and the household and head flag of its latest registration (household numbers
    /// are the township's own); read back from the stored operations (those that came after
    /// the conflict were conflicts of their own, since the index named the other township).
    /// Kept as head of a household that township's register already has a head for, they
    /// would be its second (one head per household): refused, saying so.
    private func moveResident(_ c: Conflict, entity: String) throws {
        func latest(_ kinds: [String]) throws -> JSONValue? {
            guard let op = try decidedOperations(entity: entity, nodes: [c.node], kinds: kinds).last else { return nil }
            guard let bytes = try evidence(node: c.node, seq: op.set),
                  let body = try StoredOperation.find(in: bytes, id: "\(c.node)-\(op.op)"),
                  let parsed = try? JSONValue.parse(Array(body.utf8)), let data = parsed["data"] else {
                throw YKTError(.internalError, "找不到冲突 \(c.id) 中乡镇 \(c.node) 的登记原文", hint: "报告系统管理员")
            }
            return data
        }
        guard let data = try latest(["beneficiary.register", "account.change"]), let rid = data["residentId"]?.stringValue else {
            throw YKTError(.internalError, "找不到冲突 \(c.id) 中乡镇 \(c.node) 的登记原文", hint: "报告系统管理员")
        }
        let registration = data["household"] != nil ? data : try latest(["beneficiary.register"]) ?? data
        let household = registration["household"]?.stringValue ?? ""
        var head = false
        if case .bool(true)? = registration["head"] { head = true }
        if head, let refused = try refuseSecondHead(resident: rid, household: household, node: c.node) {
            throw YKTError(.householdHeads, "不能按乡镇 \(c.node) 的登记处理冲突 \(c.id)：它把 \(Masking.residentID(rid)) 登记为户号 \(household) 的户主，"
                           + (refused.reason ?? "该户已有户主"),
                           hint: "先由乡镇 \(c.node) 核对这一户的户主，再处理这个冲突")
        }
        let account = data["account"] ?? .null
        try db.run("""
            UPDATE resident SET node_id = ?, name = coalesce(?, name), bank = coalesce(?, bank), account_kind = coalesce(?, account_kind),
                account_number = coalesce(?, account_number), household = ?, head = ?, removed_at = NULL, removed_reason = NULL
            WHERE resident_id = ?
            """, c.node, data["name"]?.stringValue, account["bank"]?.stringValue, account["kind"]?.stringValue,
                   account["number"]?.stringValue, household, head, rid)
    }
}
