import Foundation
import YKTCore
import YKTStore

/// The operations a township sends (docs/operations.md): one kind each, one handler each.
enum OperationKind: String, CaseIterable, Sendable {
    case register = "beneficiary.register"
    case update = "beneficiary.update"
    case remove = "beneficiary.remove"
    case accountChange = "account.change"
    case paymentCorrect = "payment.correct"
    case applicationRecord = "application.record"
    case meetingRecord = "meeting.record"
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
    func check(_ op: JSONValue, kind text: String, node: String, gate: ProgramGate) throws -> Decision {
        guard let kind = OperationKind(rawValue: text) else {
            return .rejected(.syncBody, "操作种类「\(text)」本程序不认识")
        }
        let data = op["data"] ?? .null
        do {
            return try handle(kind, op, data, node: node, gate: gate)
        } catch let e as YKTError {
            return .rejected(e.code, e.message)
        }
    }

    private func handle(_ kind: OperationKind, _ op: JSONValue, _ data: JSONValue, node: String, gate: ProgramGate) throws -> Decision {
        switch kind {
        case .register: try decideRegister(op, data, node: node)
        case .update: try decideUpdate(op, data, node: node)
        case .remove: try decideRemove(op, data, node: node)
        case .accountChange: try decideAccountChange(op, data, node: node)
        case .paymentCorrect: try decidePaymentCorrect(op, data, node: node)
        case .applicationRecord: try decideApplication(op, data, node: node, gate: gate)
        case .meetingRecord: try decideMeetingRecord(op, data, node: node)
        case .noticeOpen: try decideNoticeOpen(op, data, node: node)
        case .noticeClose: try decideNoticeClose(op, data, node: node)
        case .rosterSubmit: try decideRosterSubmit(op, data, node: node)
        case .objectionRecord: try decideObjectionRecord(op, data, node: node)
        case .objectionSettle: try decideObjectionSettle(op, data, node: node)
        }
    }

    /// The township that registered `rid` at the county, if any.
    func owner(_ rid: String) throws -> String? {
        try db.first("SELECT node_id FROM resident WHERE resident_id = ?", rid) { $0.text(0) }
    }

    /// nil when the operation's resident is `node`'s own; otherwise the refusal or conflict.
    /// A person the township removed from its register is refused.
    func ownResident(_ data: JSONValue, node: String) throws -> Decision? {
        let rid = try data.requiredString("residentId")
        let row = try db.first("SELECT node_id, removed_at FROM resident WHERE resident_id = ?", rid) { ($0.text(0), $0.isNull(1)) }
        if let row, row.0 == node, !row.1 {
            return .rejected(.residentUnknown, "\(Masking.residentID(rid)) 已由本乡镇从底册移除")
        }
        switch row?.0 {
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
                                 number: try account.requiredString("number"), node: node,
                                 household: data["household"]?.stringValue ?? "", head: data["head"] == .bool(true))
    }

    /// A change of a resident's details: only the township that registered them may send it.
    func decideUpdate(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        if let d = try ownResident(data, node: node) { return d }
        return try takeHousehold(data, node: node) ?? .accepted   // CountyNode+Households.swift
    }

    /// A person removed from a township's register (`ykt beneficiary remove`). When the county's
    /// register index names this township, the row is marked removed (kept as history; the
    /// person's applications already accepted stay, and rosters are re-checked against the
    /// index, so none of this township's later rosters can pay them). When it names another
    /// township (the usual case: a conflict decided for the other one) or nobody, there is
    /// nothing to undo here and the removal is simply recorded as accepted.
    func decideRemove(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        let rid = try data.requiredString("residentId")
        let reason = try data.requiredString("reason")
        try db.run("UPDATE resident SET removed_at = ?, removed_reason = ? WHERE resident_id = ? AND node_id = ? AND removed_at IS NULL",
                   timestamp(), reason, rid, node)
        return .accepted
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

    /// An application: the program on the county's list at a version it has (`ProgramGate`:
    /// one conflict per change set for all that miss it), the amount recomputed.
    func decideApplication(_ op: JSONValue, _ data: JSONValue, node: String, gate: ProgramGate) throws -> Decision {
        if let d = try ownResident(data, node: node) { return d }
        if gate.hasList, let d = gate.check(code: try data.requiredString("program"), version: Int(try data.requiredInt("programVersion")),
                                            standard: data["standardFen"]?.intValue, node: node) {
            return d
        }
        if let d = try checkApplicationPeriod(data, node: node) { return d }   // CountyNode+Periods.swift
        let quantity = try Quantity(parsing: try data.requiredString("quantity"))
        let standard = Fen(try data.requiredInt("standardFen"))
        guard standard.value >= 0, standard <= AmountRule.maximumStandard else {
            return .rejected(.moneyInvalid, "补贴标准无效")
        }
        let amount = AmountRule.amount(standard: standard, quantity: quantity)
        guard amount.value == data["amountFen"]?.intValue else {
            return .rejected(.moneyInvalid, "金额 \(Fen(data["amountFen"]?.intValue ?? 0).yuan) 与标准×数量 \(amount.yuan) 不符")
        }
        return try keepApplication(op, data, node: node)
    }
}
