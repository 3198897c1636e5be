import Foundation
import YKTCore
import YKTStore

/// The operations a township sends (docs/operations.md): one kind each, one handler each.
enum OperationKind: String, CaseIterable, Sendable {
    case register = "beneficiary.register"
    case update = "beneficiary.update"
    case accountChange = "account.change"
    case paymentCorrect = "payment.correct"
    case applicationRecord = "application.record"
    case noticeOpen = "notice.open"
    case noticeClose = "notice.close"
    case rosterSubmit = "roster.submit"
    case objectionRecord = "objection.record"
    case objectionSettle = "objection.settle"
}

extension CountyNode {
    /// Re-checks one operation with the same domain rules the township used; the county never
    /// takes a township's word (notice periods are recomputed, amounts recomputed, IDs rechecked).
    /// A field the handler needs and the operation lacks refuses it (`YKT-FIELD-MISSING`). The
    /// caller runs it in a savepoint, so a handler that wrote and then refused leaves nothing.
    func check(_ op: JSONValue, kind text: String, node: String) throws -> Decision {
        guard let kind = OperationKind(rawValue: text) else {
            return .rejected(.syncBody, "操作种类「\(text)」本程序不认识")
        }
        let data = op["data"] ?? .null
        do {
            return try handle(kind, op, data, node: node)
        } catch let e as YKTError {
            return .rejected(e.code, e.message)
        }
    }

    private func handle(_ kind: OperationKind, _ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        switch kind {
        case .register: try decideRegister(op, data, node: node)
        case .update: try decideUpdate(op, data, node: node)
        case .accountChange: try decideAccountChange(op, data, node: node)
        case .paymentCorrect: try decidePaymentCorrect(op, data, node: node)
        case .applicationRecord: try decideApplication(op, data, node: node)
        case .noticeOpen: try decideNoticeOpen(op, data, node: node)
        case .noticeClose: try decideNoticeClose(op, data, node: node)
        case .rosterSubmit: try decideRosterSubmit(op, data, node: node)
        case .objectionRecord, .objectionSettle: .accepted   // recorded with the notice; the county keeps no objection yet
        }
    }

    /// The township that registered `rid` at the county, if any.
    func owner(_ rid: String) throws -> String? {
        try db.first("SELECT node_id FROM resident WHERE resident_id = ?", rid) { $0.text(0) }
    }

    /// nil when the operation's resident is `node`'s own; otherwise the refusal or conflict.
    func ownResident(_ data: JSONValue, node: String) throws -> Decision? {
        let rid = try data.requiredString("residentId")
        switch try owner(rid) {
        case node: return nil
        case nil: return .rejected(.residentUnknown, "县里没有 \(Masking.residentID(rid)) 在本乡镇的登记")
        case let other?:
            return Decision(status: .conflicted, rule: "resident.other-township", reason: "此人由乡镇 \(other) 登记",
                            conflict: ("resident.other-township", other, "\(Masking.residentID(rid)) 的变更来自 \(node)，登记在 \(other)"))
        }
    }

    /// A registration sent as a general JSON line (the fast reader did not take it).
    func decideRegister(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        let account = data["account"] ?? .null
        return try checkRegister(residentID: try data.requiredString("residentId"), name: try data.requiredString("name"),
                                 bank: try account.requiredString("bank"), kind: try account.requiredString("kind"),
                                 number: try account.requiredString("number"), node: node)
    }

    /// A change of a resident's details: only the township that registered them may send it.
    func decideUpdate(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        return try ownResident(data, node: node) ?? .accepted
    }

    /// A change of the designated account, checked against the county's own changes.
    func decideAccountChange(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        if let d = try ownResident(data, node: node) { return d }
        return try receiveAccountChange(data, node: node, opSeq: try op.requiredInt("seq"))
    }

    /// A failed payment corrected (a new account), for re-issue.
    func decidePaymentCorrect(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        return try receiveCorrection(data, node: node, opSeq: try op.requiredInt("seq"))
    }

    /// An application: the program on the county's list at a version it has, the amount recomputed.
    func decideApplication(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        if let d = try ownResident(data, node: node) { return d }
        if let d = try checkApplicationPeriod(data, node: node) { return d }   // CountyNode+Periods.swift
        // The program must be on the county's policy list, at a version the county has.
        if try hasPolicyList {
            let code = try data.requiredString("program")
            let version = Int(try data.requiredInt("programVersion"))
            guard let program = try countyProgram(code) else {
                return Decision(status: .conflicted, rule: "program.unknown", reason: "县里的补贴政策清单没有项目 \(code)",
                                conflict: ("program.unknown", nil, "乡镇 \(node) 申请了县里没有的项目 \(code)"))
            }
            guard version <= program.version else {
                return Decision(status: .conflicted, rule: "program.version",
                                reason: "项目 \(code) 版本 \(version) 比县里的版本 \(program.version) 新",
                                conflict: ("program.version", nil, "项目 \(code)：乡镇 \(node) 用版本 \(version)，县里为 \(program.version)"))
            }
            if version == program.version, data["standardFen"]?.intValue != program.standard {
                return .rejected(.moneyInvalid, "项目 \(code) 版本 \(version) 的标准是 \(Fen(program.standard).yuan) 元，申请用的是 \(Fen(data["standardFen"]?.intValue ?? 0).yuan) 元")
            }
        }
        let quantity = try Quantity(parsing: try data.requiredString("quantity"))
        let standard = Fen(try data.requiredInt("standardFen"))
        guard standard.value >= 0, standard <= AmountRule.maximumStandard else {
            return .rejected(.moneyInvalid, "补贴标准无效")
        }
        let amount = AmountRule.amount(standard: standard, quantity: quantity)
        guard amount.value == data["amountFen"]?.intValue else {
            return .rejected(.moneyInvalid, "金额 \(Fen(data["amountFen"]?.intValue ?? 0).yuan) 与标准×数量 \(amount.yuan) 不符")
        }
        return .accepted
    }

    /// A notice posted: its last day recomputed on the county's calendar.
    func decideNoticeOpen(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        let posted = try CivilDate(parsing: try data.requiredString("postedOn"))
        let period = try NoticePeriod(posted: posted, calendar: calendar)
        guard data["lastDay"]?.stringValue == period.lastDay.description else {
            return .rejected(.noticeTooEarly, "公示期应至 \(period.lastDay)，乡镇报的是 \(data["lastDay"]?.stringValue ?? "")")
        }
        try db.run("INSERT OR REPLACE INTO notice(node_id, entity, posted_on, last_day) VALUES (?, ?, ?, ?)",
                   node, try op.requiredString("entity"), posted.description, period.lastDay.description)
        return .accepted
    }

    /// A notice closed: not before its 5th working day on the county's calendar.
    func decideNoticeClose(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        let closed = try CivilDate(parsing: try data.requiredString("closedOn"))
        guard let lastDay = try db.first("SELECT last_day FROM notice WHERE node_id = ? AND entity = ?",
                                         node, try op.requiredString("entity"), map: { $0.text(0) }) else {
            return .rejected(.noticeUnknown, "县里没有这个公示的张贴记录")
        }
        guard closed > (try CivilDate(parsing: lastDay)) else {
            return .rejected(.noticeTooEarly, "公示至 \(lastDay) 才满 5 个工作日，不能在 \(closed) 结束")
        }
        return .accepted
    }

    /// A roster: every line the township's own resident, totals recomputed; frozen once accepted.
    func decideRosterSubmit(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        guard case .array(let lines)? = data["lines"] else { return .rejected(.syncBody, "清册没有明细") }
        // A roster the county already accepted is frozen: sending it again (say, from a
        // township restored from a backup, with other lines) is a conflict, never an edit.
        // A roster the county rejected may come back, corrected, as its next version.
        let entity = try op.requiredString("entity")
        if try db.integer("SELECT count(*) FROM roster WHERE node_id = ? AND entity = ? AND status != 'rejected'", node, entity) != 0 {
            return Decision(status: .conflicted, rule: "roster.already-accepted", reason: "该清册县里已接收，已冻结",
                            conflict: ("roster.already-accepted", nil, "乡镇 \(node) 再次报送已接收的清册 \(op["entity"]?.stringValue ?? "")"))
        }
        var sum: Int64 = 0
        var parsed: [RosterLineData] = []
        for (i, line) in lines.enumerated() {
            let rid = try line.requiredString("residentId")
            guard try owner(rid) == node else {
                return .rejected(.residentUnknown, "清册中 \(Masking.residentID(rid)) 不是本乡镇登记的对象")
            }
            let kind = try AccountKind(parsing: try line.requiredString("accountKind"))
            let number = try AccountNumber(try line.requiredString("accountNumber"), kind: kind)
            let amount = try line.requiredInt("amountFen")
            guard amount > 0, line["line"]?.intValue == Int64(i + 1) else {
                return .rejected(.moneyInvalid, "清册第 \(i + 1) 行的行号或金额无效")
            }
            sum += amount
            parsed.append(RosterLineData(lineNo: i + 1, residentID: rid, name: try PersonName.validate(try line.requiredString("name")),
                                         village: try line.requiredString("village"), bank: try line.requiredString("bank"),
                                         accountKind: kind.rawValue, accountNumber: number.value,
                                         quantity: try line.requiredString("quantity"), amountFen: amount))
        }
        guard sum == data["totalFen"]?.intValue, lines.count == Int(try data.requiredInt("lineCount")) else {
            return .rejected(.moneyInvalid, "清册合计与明细不符")
        }
        let version = (try db.integer("SELECT max(version) FROM roster WHERE node_id = ? AND entity = ?", node, entity) ?? 0) + 1
        try db.run("""
            INSERT INTO roster(node_id, entity, version, program, period, line_count, total_fen, received_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, node, entity, version, try data.requiredString("program"),
                   try data.requiredString("period"), lines.count, sum, timestamp())
        let rosterID = db.lastInsertRowID
        let insert = try db.statement("""
            INSERT INTO roster_line(roster_id, line_no, resident_id, name, village, bank, account_kind, account_number,
                quantity, amount_fen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for l in parsed {
            try insert.run([rosterID, l.lineNo, l.residentID, l.name, l.village, l.bank, l.accountKind, l.accountNumber,
                            l.quantity, l.amountFen])
        }
        try emit(to: node, kind: "roster.received", data: [
            "entity": .string(entity), "roster": .int(rosterID), "version": .int(version),
            "lineCount": .int(Int64(lines.count)), "totalFen": .int(sum),
        ])
        return .accepted
    }
}
