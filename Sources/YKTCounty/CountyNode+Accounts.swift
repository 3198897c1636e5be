import YKTCore
import YKTNode
import YKTStore

/// Designated accounts (一人一卡) as the county holds them: changed at the county (an agency
/// bank reports a replaced card), changed at a township (`account.change`), and the conflict
/// when both changed the same person's account from the same starting point.
extension CountyNode {
    /// One change of a resident's designated account, from either side, kept as history.
    public struct AccountChange: Sendable, Codable {
        public var id: Int64
        public var residentID: String
        /// "county" or "township".
        public var source: String
        public var node: String
        public var opSeq: Int64?
        public var bank: String
        public var kind: String
        public var number: String
        public var confirmation: String
        public var reason: String
        public var previousNumber: String
        public var by: String
        public var at: String
    }

    /// The resident's designated account as the county holds it.
    public func currentAccount(of rid: ResidentID) throws -> (node: String, bank: String, kind: String, number: String)? {
        try db.first("SELECT node_id, bank, account_kind, account_number FROM resident WHERE resident_id = ?", rid.value) {
            (node: $0.text(0), bank: $0.text(1), kind: $0.text(2), number: $0.text(3))
        }
    }

    /// Changes a resident's designated account at the county, for instance when the agency bank
    /// reports that a lost card was replaced (挂失补卡) under a new number. Needs the reference of
    /// the signed confirmation and a reason; a finance approver does it. The change is kept in the
    /// history and goes down to the township that registered the person (`account.changed`).
    /// If that township changed the account too, from the same old account, its change becomes
    /// the conflict `account.both-sides` for an admin to decide.
    public func changeAccount(_ rid: ResidentID, bank rawBank: String, number: AccountNumber, confirmation rawConfirmation: String,
                              reason rawReason: String) throws {
        let bank = rawBank.trimmed, confirmation = rawConfirmation.trimmed, reason = rawReason.trimmed
        for (value, field, what) in [(bank, "--bank", "开户银行"), (confirmation, "--confirmation", "确认书编号"), (reason, "--reason", "变更理由")]
        where value.isEmpty {
            throw YKTError(.fieldMissing, "\(what)为空", at: SourceLocation(field: field), hint: "填写\(what)")
        }
        try requireRole(.approver)
        // Read and changed in one transaction: a township's change committed by `ykt serve` in
        // between would otherwise be overwritten without a conflict.
        try perform("account.change", object: "resident \(rid.masked)", detail: number.masked) {
            guard let current = try currentAccount(of: rid) else {
                throw YKTError(.residentUnknown, "县里没有 \(rid.masked) 的登记", hint: "核对身份证号；此人须先由乡镇登记并同步")
            }
            if current.number == number.value, current.bank == bank, current.kind == number.kind.rawValue {
                throw YKTError(.accountUnchanged, "新账户 \(number.masked) 与县里现用的指定账户相同", hint: "核对新卡号")
            }
            // One card per person: another resident's designated account is refused here (a shared
            // account is registered at the township, with its reason).
            if let holder = try db.first("SELECT resident_id FROM resident WHERE account_number = ? AND account_number <> '' AND resident_id != ?",
                                         number.value, rid.value, map: { $0.text(0) }) {
                throw YKTError(.accountShared, "账号 \(number.masked) 已是 \(Masking.residentID(holder)) 的指定账户",
                               at: SourceLocation(field: "--account"), hint: "一人一卡：核实账号；确需共用须由乡镇登记并写明理由")
            }
            try setAccount(rid, bank: bank, kind: number.kind.rawValue, number: number.value)
            let change = try recordAccountChange(rid, source: "county", node: current.node, opSeq: nil, bank: bank,
                                                 kind: number.kind.rawValue, number: number.value, confirmation: confirmation,
                                                 reason: reason, previous: current.number)
            try emit(to: current.node, kind: "account.changed", data: [
                "residentId": .string(rid.value), "change": .int(change),
                "account": ["bank": .string(bank), "confirmation": .string(confirmation), "kind": .string(number.kind.rawValue),
                            "number": .string(number.value)],
                "previousNumber": .string(current.number), "previousBank": .string(current.bank),
                "reason": .string(reason), "by": .string(operatorName),
            ])
        }
    }

    /// The resident's account changes, oldest first (full numbers: for the county's staff).
    public func accountHistory(_ rid: ResidentID) throws -> [AccountChange] {
        try db.all("""
            SELECT id, resident_id, source, node_id, op_seq, bank, account_kind, account_number, confirmation, reason,
                   previous_number, by_operator, at
            FROM account_change WHERE resident_id = ? ORDER BY id
            """, rid.value) { r in
            AccountChange(id: r.int64(0), residentID: r.text(1), source: r.text(2), node: r.text(3), opSeq: r.optionalInt(4).map(Int64.init),
                          bank: r.text(5), kind: r.text(6), number: r.text(7), confirmation: r.text(8), reason: r.text(9),
                          previousNumber: r.text(10), by: r.text(11), at: r.text(12))
        }
    }

    func setAccount(_ rid: ResidentID, bank: String, kind: String, number: String) throws {
        try db.run("UPDATE resident SET bank = ?, account_kind = ?, account_number = ? WHERE resident_id = ?", bank, kind, number, rid.value)
    }

    @discardableResult
    func recordAccountChange(_ rid: ResidentID, source: String, node: String, opSeq: Int64?, bank: String, kind: String,
                             number: String, confirmation: String, reason: String, previous: String) throws -> Int64 {
        try db.run("""
            INSERT INTO account_change(resident_id, source, node_id, op_seq, bank, account_kind, account_number, confirmation,
                                       reason, previous_number, by_operator, at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, rid.value, source, node, opSeq, bank, kind, number, confirmation, reason, previous, operatorName, timestamp())
        return db.lastInsertRowID
    }

    /// A township's `account.change`, re-checked. `previousNumber` and `previousBank` are the
    /// account the township replaced; when the county's current account is another one (the county changed it since),
    /// the account was changed on both sides: a conflict, unless both chose the same account.
    func receiveAccountChange(_ data: JSONValue, node: String, opSeq: Int64) throws -> Decision {
        let rid = try ResidentID(try data.requiredString("residentId"))
        let account = data["account"] ?? .null
        let kind = try AccountKind(parsing: try account.requiredString("kind"))
        let number = try AccountNumber(try account.requiredString("number"), kind: kind)
        let bank = try account.requiredString("bank")
        guard let current = try currentAccount(of: rid) else {
            return .rejected(.residentUnknown, "县里没有 \(rid.masked) 的登记")
        }
        if current.number == number.value, current.bank == bank, current.kind == kind.rawValue { return .accepted }   // both sides chose the same account
        // The account the township replaced: its number (required: without it the county could
        // not tell a change made on both sides) and, when the operation names it, its bank.
        let previous = try data.requiredString("previousNumber")
        let previousBank = data["previousBank"]?.stringValue
        if previous != current.number || previousBank.map({ $0 != current.bank }) == true {
            let detail = "\(rid.masked) 的指定账户：县里现为 \(Masking.account(current.number))，乡镇 \(node) 从 "
                + "\(Masking.account(previous)) 改为 \(number.masked)"
            return Decision(status: .conflicted, rule: "account.both-sides",
                            reason: "县里已把 \(rid.masked) 的指定账户改为 \(Masking.account(current.number))，待县财政决定采用哪一方",
                            conflict: ("account.both-sides", nil, detail))
        }
        try setAccount(rid, bank: bank, kind: kind.rawValue, number: number.value)
        try recordAccountChange(rid, source: "township", node: node, opSeq: opSeq, bank: bank, kind: kind.rawValue,
                                number: number.value, confirmation: try account.requiredString("confirmation"),
                                reason: "乡镇变更", previous: current.number)
        return .accepted
    }

    /// Settles an `account.both-sides` conflict: `township` takes the township's new account
    /// (unless a later change from the township superseded it), `county` keeps the county's. Returns what the decision message tells the township: the
    /// resident and the account that stands, which the township then holds as current.
    func settleAccountConflict(_ c: Conflict, entity: String, decision: String, reason: String) throws -> [String: JSONValue] {
        guard decision == "township" || decision == "county" else {
            throw YKTError(.usageValue, "账户冲突的决定只能是 township（采用乡镇的新账户）或 county（保留县里的账户）",
                           at: SourceLocation(field: "--decision"), hint: "先用 ykt conflicts show \(c.id) 核对双方账户")
        }
        let rid = try ResidentID(String(entity.dropFirst("beneficiary/".count)))
        // A later account change from the same township supersedes this one: it is judged on
        // its own (accepted, or a conflict of its own), so deciding for the township here must
        // not bring back the older account.
        let superseded = try db.integer("""
            SELECT count(*) FROM operation WHERE node_id = ? AND entity = ? AND kind = 'account.change' AND op_seq > ?
            """, c.node, entity, c.opSeq) ?? 0 > 0
        if decision == "township" && !superseded {
            let op = try conflictSides(c.id).sides.first { $0.operation == "\(c.node)-\(c.opSeq)" }
            guard let body = op?.body, let json = try? JSONValue.parse(Array(body.utf8)), let account = json["data"]?["account"],
                  let kind = try? AccountKind(parsing: account["kind"]?.stringValue ?? ""),
                  let number = try? AccountNumber(account["number"]?.stringValue ?? "", kind: kind) else {
                throw YKTError(.internalError, "找不到冲突 \(c.id) 中乡镇的账户变更原文", hint: "报告系统管理员")
            }
            let previous = try currentAccount(of: rid)?.number ?? ""
            let bank = account["bank"]?.stringValue ?? ""
            try setAccount(rid, bank: bank, kind: kind.rawValue, number: number.value)
            try recordAccountChange(rid, source: "township", node: c.node, opSeq: c.opSeq, bank: bank, kind: kind.rawValue,
                                    number: number.value, confirmation: account["confirmation"]?.stringValue ?? "",
                                    reason: "冲突 \(c.id) 决定采用乡镇账户：\(reason)", previous: previous)
        }
        guard let standing = try currentAccount(of: rid) else {
            throw YKTError(.residentUnknown, "县里没有 \(rid.masked) 的登记")
        }
        return ["residentId": .string(rid.value),
                "account": ["bank": .string(standing.bank), "kind": .string(standing.kind), "number": .string(standing.number)]]
    }

    /// The county's side of an `account.both-sides` conflict: its latest change of the account.
    func countyAccountSide(entity: String) throws -> ConflictSide? {
        guard let rid = try? ResidentID(String(entity.dropFirst("beneficiary/".count))),
              let change = try accountHistory(rid).last(where: { $0.source == "county" }) else { return nil }
        let body: JSONValue = [
            "source": "county", "change": .int(change.id), "residentId": .string(change.residentID),
            "account": ["bank": .string(change.bank), "confirmation": .string(change.confirmation), "kind": .string(change.kind),
                        "number": .string(change.number)],
            "previousNumber": .string(change.previousNumber), "reason": .string(change.reason), "by": .string(change.by),
            "at": .string(change.at),
        ]
        return ConflictSide(node: config.nodeID, changeSet: 0, operation: "county-account-\(change.id)", body: body.canonical)
    }
}
