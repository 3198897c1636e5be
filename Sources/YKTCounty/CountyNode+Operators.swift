import Foundation
import YKTCore
import YKTNode

extension CountyNode {
    /// The county's decisions as its tables record them, each of which must rest on a signed
    /// audit entry by whoever the row names, saying what the row says (`OperatorAudit.verify`).
    /// Every row counts, whatever its dates say (dates are columns an insider can write); a node
    /// that had decisions before accounts existed reports them as unsigned.
    public func decidedRows() throws -> [OperatorAudit.Decided] {
        guard try !operators.isEmpty else { return [] }
        var rows: [OperatorAudit.Decided] = []
        // A roster past review rests on a signed review, an approved one on a signed approval too,
        // whatever its columns say (a status set straight in the database has neither).
        try db.forEach("""
            SELECT id, reviewed_by, approved_by, status FROM roster
            WHERE status IN ('reviewed', 'approved') OR reviewed_by IS NOT NULL OR approved_by IS NOT NULL
            """) { r in
            rows.append(.init(what: "清册 \(r.int64(0)) 的审核", action: "roster.review", login: r.optionalText(1), token: "roster#\(r.int64(0))"))
            if r.text(3) == "approved" || !r.isNull(2) {
                rows.append(.init(what: "清册 \(r.int64(0)) 的审定", action: "roster.approve", login: r.optionalText(2), token: "#\(r.int64(0))"))
            }
        }
        try db.forEach("SELECT id, closed_by FROM warning WHERE closed_by IS NOT NULL OR status != 'open'") { r in
            rows.append(.init(what: "预警 \(r.int64(0)) 的处理", action: "warning.close", login: r.optionalText(1), token: "warning#\(r.int64(0))"))
        }
        try db.forEach("SELECT id FROM conflict WHERE status = 'resolved'") { r in
            rows.append(.init(what: "冲突 \(r.int64(0)) 的处理", action: "conflict.resolve", login: nil, token: "conflict#\(r.int64(0))"))
        }
        // Each township key rests on its own enrolment, or, when it came in by the township's
        // rotation statement (signed by its old key), on that statement, kept with the old key.
        try db.forEach("""
            SELECT node_id, key_id FROM node_key
            WHERE key_id NOT IN (SELECT replaced_by FROM node_key WHERE replaced_by IS NOT NULL AND rotation IS NOT NULL)
            """) { r in
            rows.append(.init(what: "乡镇 \(r.text(0)) 的签名公钥 \(r.text(1))", action: "township.enrol", login: nil, token: "key/\(r.text(1))"))
        }
        try db.forEach("SELECT node_id, disabled_by FROM township WHERE disabled_at IS NOT NULL") { r in
            rows.append(.init(what: "乡镇 \(r.text(0)) 的停用", action: "township.disable", login: r.optionalText(1), token: "township/\(r.text(0))"))
        }
        // A bank's folder is where its payment files go: it must be the one last signed.
        try db.forEach("SELECT code, folder FROM agency_bank") { r in
            rows.append(.init(what: "代发银行 \(r.text(0)) 的交换目录", action: "bank.add", login: nil, token: "bank/\(r.text(0))",
                              detail: "folder=\(r.text(1))\n", latest: true))
        }
        // Each agency agreement, as recorded, rests on a signed registration or edit naming it.
        try db.forEach("SELECT bank, number, start_on, end_on, fees FROM bank_agreement") { r in
            rows.append(.init(what: "代发银行 \(r.text(0)) 的代发协议 \(r.text(1))", action: "bank.add", login: nil, token: "bank/\(r.text(0))",
                              detail: "agreement=\(r.text(1)) \(r.text(2))~\(r.text(3)) fees=\(r.text(4))"))
        }
        // Each re-issue batch is named by a signed re-issue, which also fixed what its lines pay.
        try db.forEach("SELECT id, created_by FROM batch WHERE kind = 'reissue'") { r in
            rows.append(.init(what: "补发批次 \(r.int64(0))", action: "batch.reissue", login: r.text(1), token: "payments",
                              detail: "#\(r.int64(0)),"))
        }
        try db.forEach("SELECT operator, detail FROM audit WHERE action = 'batch.reissue' AND signature IS NOT NULL") { r in
            guard let list = OperatorAudit.field("batches", in: r.text(1)) else { return }
            let batches = list.split(separator: ",").compactMap { Int64($0.dropFirst()) }
            rows.append(.init(what: "补发批次 \(list) 的支付行", action: "batch.reissue", login: r.text(0), token: "payments",
                              detail: "lines=\(try reissueDigest(batches))"))
        }
        // An account changed at the county rests on the approver's signed change.
        try db.forEach("SELECT resident_id, account_number, by_operator FROM account_change WHERE source = 'county'") { r in
            let rid = try ResidentID(r.text(0))
            rows.append(.init(what: "\(rid.masked) 的县级账户变更", action: "account.change", login: r.text(2), token: rid.masked,
                              detail: Masking.account(r.text(1))))
        }
        return rows
    }
}
