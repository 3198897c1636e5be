import YKTCore
import YKTNode
import YKTStore

/// Roles, budgets, department review (业务主管部门审核) and finance approval (财政审定).
extension CountyNode {
    /// Grants `login` a role: for one program (reviewers, `program` from the policy list) or for
    /// all (`nil`). An administrator's signed decision; nobody grants themselves.
    public func grant(_ login: String, role: OperatorRole, program: String?) throws {
        if let program, try countyProgram(program) == nil {
            throw YKTError(.programUnknown, "县里的补贴政策清单没有项目 \(program)", at: SourceLocation(field: "--program"),
                           hint: "先发布政策清单（ykt policy publish）")
        }
        if program != nil, !role.perProgram {
            throw YKTError(.usageValue, "\(role.chinese)不分项目，不用 --program", at: SourceLocation(field: "--program"))
        }
        try grantRole(OperatorGrant(role: role, program: program ?? "*"), to: login)
    }

    // MARK: Budgets

    public func setBudget(program: String, period: Period, amount: Fen) throws {
        guard try countyProgram(program) != nil else {
            throw YKTError(.programUnknown, "县里的补贴政策清单没有项目 \(program)", at: SourceLocation(field: "--program"))
        }
        try perform("budget.set", object: "budget/\(program)/\(period)", detail: amount.yuan) {
            try db.run("""
                INSERT INTO budget(program, period, budget_fen, set_by, set_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(program, period) DO UPDATE SET budget_fen = excluded.budget_fen, set_by = excluded.set_by, set_at = excluded.set_at
                """, program, period.description, amount.value, operatorName, timestamp())
        }
    }

    public struct BudgetUse: Sendable, Codable {
        public var program: String
        public var period: String
        public var budgetFen: Int64
        public var approvedFen: Int64
        public var remainingFen: Int64 { budgetFen - approvedFen }
    }

    public func budgets() throws -> [BudgetUse] {
        try db.all("""
            SELECT b.program, b.period, b.budget_fen,
                   (SELECT coalesce(sum(total_fen), 0) FROM roster r WHERE r.program = b.program AND r.period = b.period AND r.status = 'approved')
            FROM budget b ORDER BY b.program, b.period
            """) { BudgetUse(program: $0.text(0), period: $0.text(1), budgetFen: $0.int64(2), approvedFen: $0.int64(3)) }
    }

    // MARK: Rosters at the county

    public struct CountyRoster: Sendable, Codable {
        public var id: Int64
        public var node: String
        public var entity: String
        public var version: Int
        public var program: String
        public var period: String
        public var lineCount: Int
        public var totalFen: Int64
        public var status: String
        public var receivedAt: String
        public var reviewedBy: String?
        public var reviewReason: String?
        public var approvedBy: String?
        /// The township's two signers of the summary table (汇总表): who built the roster and
        /// who submitted it, 「name（login）」; nil for a roster received before they were recorded.
        public var preparedBy: String?
        public var submittedBy: String?

        public var statusChinese: String {
            ["received": "待审核", "reviewed": "已审核待审定", "rejected": "已退回", "approved": "已审定"][status] ?? status
        }
    }

    static let rosterColumns = """
        id, node_id, entity, version, program, period, line_count, total_fen, status, received_at, reviewed_by, review_reason, approved_by,
        prepared_by, prepared_name, submitted_by, submitted_name
        """

    static func countyRoster(_ r: Row) -> CountyRoster {
        CountyRoster(id: r.int64(0), node: r.text(1), entity: r.text(2), version: r.int(3), program: r.text(4), period: r.text(5),
                     lineCount: r.int(6), totalFen: r.int64(7), status: r.text(8), receivedAt: r.text(9),
                     reviewedBy: r.optionalText(10), reviewReason: r.optionalText(11), approvedBy: r.optionalText(12),
                     preparedBy: signer(r, 13), submittedBy: signer(r, 15))
    }

    /// 「name（login）」 from a login column and the name column after it.
    private static func signer(_ r: Row, _ i: Int) -> String? {
        guard let login = r.optionalText(i) else { return nil }
        let name = r.optionalText(i + 1) ?? login
        return name == login ? login : "\(name)（\(login)）"
    }

    public func rosters(status: String? = nil) throws -> [CountyRoster] {
        try db.all("SELECT \(Self.rosterColumns) FROM roster WHERE ?1 IS NULL OR status = ?1 ORDER BY id", status,
                   map: Self.countyRoster)
    }

    public func roster(_ id: Int64) throws -> CountyRoster {
        guard let r = try db.first("SELECT \(Self.rosterColumns) FROM roster WHERE id = ?", id, map: Self.countyRoster) else {
            throw YKTError(.rosterUnknown, "县里没有编号为 \(id) 的清册", hint: "用 ykt roster list 查看")
        }
        return r
    }

    public struct CountyRosterLine: Sendable, Codable {
        public var lineNo: Int
        public var residentID: String
        public var name: String
        public var village: String
        public var bank: String
        public var accountKind: String
        public var accountNumber: String
        public var quantity: String
        public var amountFen: Int64
        /// paid, failed, dispatched, or pending (not yet in a batch).
        public var payment: String
    }

    /// Every line of a roster (the CLI's `roster show`, approval); a page of them for a screen:
    /// `rosterLinesPage`.
    public func rosterLines(_ id: Int64) throws -> [CountyRosterLine] {
        try db.all("SELECT \(Self.lineColumns) FROM roster_line l WHERE l.roster_id = ? ORDER BY l.line_no", id, map: Self.rosterLine)
    }

    // MARK: Review

    /// The department's review: passes the roster on to finance, or returns it to the township
    /// with the reason (the township corrects it and submits it again as the next version).
    public func review(_ id: Int64, approve: Bool, reason: String) throws {
        let r = try roster(id)
        let why = reason.trimmed
        guard approve || !why.isEmpty else {
            throw YKTError(.fieldMissing, "退回清册须写明理由", at: SourceLocation(field: "--reason"))
        }
        try requireRole(.reviewer, program: r.program)
        guard r.status == "received" else {
            throw YKTError(.rosterState, "清册 \(id) 的状态是「\(r.statusChinese)」，不能再审核")
        }
        try perform("roster.review", object: "roster#\(id)", detail: "program=\(r.program) " + (approve ? "approved" : "rejected: \(why)")) {
            try db.run("UPDATE roster SET status = ?, reviewed_by = ?, reviewed_at = ?, review_reason = ? WHERE id = ?",
                       approve ? "reviewed" : "rejected", operatorName, timestamp(), why, id)
            try emit(to: r.node, kind: "roster.reviewed", data: [
                "entity": .string(r.entity), "roster": .int(id), "version": .int(Int64(r.version)),
                "decision": .string(approve ? "approved" : "rejected"), "reason": .string(why), "by": .string(operatorName),
            ])
        }
    }

    // MARK: Approval

    public struct ApprovalResult: Sendable, Codable {
        public var rosters: [Int64]
        public var batches: [Int64]
        public var lines: Int
        public var totalFen: Int64
        public var overridden: [Int64]
    }

    /// Finance approval (财政审定) of reviewed rosters: checks the budget of every program and
    /// period involved, refuses lines with open warnings unless `override` gives the reason, and
    /// turns the lines into payment batches, one per agency bank, in one transaction.
    ///
    /// Everything the decision rests on (each roster's state, the roles, the budget and what is
    /// already approved against it, the warnings, the banks) is read inside the write
    /// transaction (`BEGIN IMMEDIATE`) that records the approval. Two approvals at the same time
    /// (two `ykt roster approve` processes) are therefore taken one after the other, and the
    /// second decides on what the first approved: it cannot overspend a budget or approve a
    /// roster twice.
    @discardableResult
    public func approve(_ requested: [Int64], note: String = "", override: String? = nil) throws -> ApprovalResult {
        guard !requested.isEmpty else { throw YKTError(.usage, "没有给出要审定的清册编号") }
        // A roster named twice is approved (and counted against the budget) once.
        var seen = Set<Int64>()
        let ids = requested.filter { seen.insert($0).inserted }
        return try perform("roster.approve", object: "rosters " + ids.map { "#\($0)" }.joined(separator: ","), describing: {
            try decideApproval(ids, note: note, override: override)
        })
    }

    /// The body of `approve`, run inside its transaction: the checks, then the writes.
    private func decideApproval(_ ids: [Int64], note: String, override: String?) throws -> (ApprovalResult, detail: String) {
        let rosters = try ids.map(roster)
        for r in rosters {
            try requireRole(.approver, program: r.program)
            guard r.status == "reviewed" else {
                throw YKTError(.rosterState, "清册 \(r.id) 的状态是「\(r.statusChinese)」，须先经业务主管部门审核",
                               hint: r.status == "received" ? "先由审核人 ykt roster review \(r.id) --approve" : nil)
            }
            guard r.reviewedBy != operatorName else {
                throw YKTError(.roleMissing, "清册 \(r.id) 由「\(operatorName)」审核，审定须由另一人办理（不相容岗位分离）",
                               hint: "请另一位财政审定人登录后审定")
            }
        }
        // Budget per program × period, with what is already approved.
        var asked: [String: (program: String, period: String, fen: Int64)] = [:]
        for r in rosters { asked["\(r.program)|\(r.period)", default: (r.program, r.period, 0)].fen += r.totalFen }
        for (_, a) in asked.sorted(by: { $0.key < $1.key }) {
            guard let budget = try db.integer("SELECT budget_fen FROM budget WHERE program = ? AND period = ?", a.program, a.period) else {
                throw YKTError(.budgetMissing, "项目 \(a.program) \(a.period) 期还没有预算",
                               hint: "先用 ykt budget set --program \(a.program) --period \(a.period) --yuan 金额 设置预算")
            }
            let used = try db.integer("SELECT coalesce(sum(total_fen), 0) FROM roster WHERE program = ? AND period = ? AND status = 'approved'",
                                      a.program, a.period) ?? 0
            guard used + a.fen <= budget else {
                throw YKTError(.budgetExceeded,
                               "项目 \(a.program) \(a.period) 期预算 \(Fen(budget).yuan) 元，已审定 \(Fen(used).yuan) 元，本次 \(Fen(a.fen).yuan) 元，合计 \(Fen(used + a.fen).yuan) 元，超出 \(Fen(used + a.fen - budget).yuan) 元",
                               hint: "调整预算或分批审定")
            }
        }
        // Blocking warnings on any line.
        var blocking: [(roster: Int64, warning: Int64, line: Int, rule: String)] = []
        for r in rosters {
            try db.forEach("""
                SELECT DISTINCT w.id, l.line_no, w.rule FROM roster_line l
                JOIN warning_resident wr ON wr.resident_id = l.resident_id
                JOIN warning w ON w.id = wr.warning_id AND w.status IN ('open','confirmed')
                WHERE l.roster_id = ? ORDER BY l.line_no
                """, r.id) { row in
                // A rule that only informs (the social security card transition) does not block.
                if WarningRule(rawValue: row.text(2))?.blocksApproval ?? true { blocking.append((r.id, row.int64(0), row.int(1), row.text(2))) }
            }
        }
        // A dated act recorded after the fact is cleared by a reviewer who checked it, never
        // overridden at approval.
        let backdated = blocking.filter { $0.rule == WarningRule.backdated.rawValue }
        if !backdated.isEmpty {
            throw YKTError(.warningBlocking, "有 \(backdated.count) 处补录预警未经审核人核实，不能审定（不能强制审定）",
                           hint: "由该项目的审核人核实补录理由后用 ykt warnings close 处理",
                           details: backdated.prefix(20).map {
                               YKTError(.warningBlocking, "清册 \($0.roster) 第 \($0.line) 行：预警 \($0.warning)（补录）")
                           })
        }
        let overrideReason = override?.trimmed ?? ""
        if !blocking.isEmpty && overrideReason.isEmpty {
            throw YKTError(.warningBlocking, "有 \(blocking.count) 处预警未处理，不能审定",
                           hint: "逐条核实后用 ykt warnings close 处理，或用 --override 写明理由强制审定（记录经办人和理由）",
                           details: blocking.map {
                               YKTError(.warningBlocking, "清册 \($0.roster) 第 \($0.line) 行：预警 \($0.warning)（\(WarningRule(rawValue: $0.rule)?.chinese ?? $0.rule)）")
                           })
        }
        let banks = try agencyBanks()
        var lines: [(roster: CountyRoster, line: CountyRosterLine, bank: AgencyBank)] = []
        var unmapped: [YKTError] = []
        for r in rosters {
            for l in try rosterLines(r.id) {
                if let b = banks.first(where: { $0.pays(l.bank) }) {
                    lines.append((r, l, b))
                } else {
                    unmapped.append(YKTError(.bankUnknown, "清册 \(r.id) 第 \(l.lineNo) 行的开户行「\(l.bank)」没有代发银行"))
                }
            }
        }
        if !unmapped.isEmpty {
            throw YKTError(.bankUnknown, "\(unmapped.count) 行的开户行没有对应的代发银行，未审定",
                           hint: "用 ykt bank add 登记代发银行及其代发的开户行（--serves）", details: Array(unmapped.prefix(20)))
        }
        // The writes.
        let detail = (note.isEmpty ? "" : note) + (blocking.isEmpty ? "" : " override: \(overrideReason)")
        let at = timestamp()
        for r in rosters {
            try db.run("UPDATE roster SET status = 'approved', approved_by = ?, approved_at = ?, approve_note = ? WHERE id = ?",
                       operatorName, at, note, r.id)
        }
        for b in blocking {
            try db.run("INSERT OR IGNORE INTO warning_override(roster_id, warning_id, by_operator, reason, at) VALUES (?, ?, ?, ?, ?)",
                       b.roster, b.warning, operatorName, overrideReason, at)
        }
        var batches: [Int64] = []
        for bank in banks {
            let mine = lines.filter { $0.bank.code == bank.code }
            guard !mine.isEmpty else { continue }
            let batch = try createBatch(bank: bank.code, kind: "original", count: mine.count, total: mine.reduce(0) { $0 + $1.line.amountFen })
            let insert = try db.statement("""
                INSERT INTO payment(batch_id, roster_id, line_no, node_id, program, period, resident_id, name, bank, account_kind,
                    account_number, amount_fen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for m in mine {
                try insert.run([batch, m.roster.id, m.line.lineNo, m.roster.node, m.roster.program, m.roster.period,
                                m.line.residentID, m.line.name, m.line.bank, m.line.accountKind, m.line.accountNumber,
                                m.line.amountFen])
            }
            batches.append(batch)
        }
        for r in rosters {
            try emit(to: r.node, kind: "roster.approved", data: [
                "entity": .string(r.entity), "roster": .int(r.id), "version": .int(Int64(r.version)), "by": .string(operatorName),
                "totalFen": .int(r.totalFen),
            ])
        }
        let result = ApprovalResult(rosters: ids, batches: batches, lines: lines.count,
                                    totalFen: lines.reduce(0) { $0 + $1.line.amountFen },
                                    overridden: Array(Set(blocking.map(\.warning))).sorted())
        return (result, detail)
    }

    func createBatch(bank: String, kind: String, count: Int, total: Int64) throws -> Int64 {
        try db.run("""
            INSERT INTO batch(bank, kind, created_by, created_at, line_count, total_fen) VALUES (?, ?, ?, ?, ?, ?)
            """, bank, kind, operatorName, timestamp(), count, total)
        return db.lastInsertRowID
    }
}
