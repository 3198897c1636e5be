import YKTCore
import YKTNode

extension CountyNode {
    /// The county's decisions as its tables record them, each of which must rest on a signed
    /// audit entry (`OperatorAudit.verify`). Rows decided before accounts existed (no
    /// `operator.bootstrap` yet) are not listed.
    public func decidedRows() throws -> [OperatorAudit.Decided] {
        guard let start = try db.first("SELECT at FROM audit WHERE action = 'operator.bootstrap'", map: { $0.text(0) }) else { return [] }
        var rows: [OperatorAudit.Decided] = []
        // A roster past review rests on a signed review, an approved one on a signed approval too,
        // whatever its columns say (a status set straight in the database has neither).
        try db.forEach("""
            SELECT id, reviewed_by, approved_by, status FROM roster
            WHERE (status IN ('reviewed', 'approved') OR reviewed_by IS NOT NULL) AND received_at >= ?
            """, start) { r in
            rows.append(.init(what: "清册 \(r.int64(0)) 的审核", action: "roster.review", login: r.optionalText(1), token: "roster#\(r.int64(0))"))
            if r.text(3) == "approved" || !r.isNull(2) {
                rows.append(.init(what: "清册 \(r.int64(0)) 的审定", action: "roster.approve", login: r.optionalText(2), token: "#\(r.int64(0))"))
            }
        }
        try db.forEach("SELECT id, closed_by FROM warning WHERE closed_by IS NOT NULL AND closed_at >= ?", start) { r in
            rows.append(.init(what: "预警 \(r.int64(0)) 的处理", action: "warning.close", login: r.text(1), token: "warning#\(r.int64(0))"))
        }
        try db.forEach("SELECT id FROM conflict WHERE status = 'resolved' AND created_at >= ?", start) { r in
            rows.append(.init(what: "冲突 \(r.int64(0)) 的处理", action: "conflict.resolve", login: nil, token: "conflict#\(r.int64(0))"))
        }
        // A key that came in by the township's own rotation statement (signed by its old key) rests
        // on that statement, kept with the old key; every other key on an enrolment.
        try db.forEach("""
            SELECT node_id FROM node_key WHERE registered_at >= ?
            AND key_id NOT IN (SELECT replaced_by FROM node_key WHERE replaced_by IS NOT NULL AND rotation IS NOT NULL)
            """, start) { r in
            rows.append(.init(what: "乡镇 \(r.text(0)) 的签名公钥", action: "township.enrol", login: nil, token: "township/\(r.text(0))"))
        }
        try db.forEach("SELECT node_id, disabled_by FROM township WHERE disabled_at IS NOT NULL AND disabled_at >= ?", start) { r in
            rows.append(.init(what: "乡镇 \(r.text(0)) 的停用", action: "township.disable", login: r.optionalText(1), token: "township/\(r.text(0))"))
        }
        try db.forEach("SELECT code FROM agency_bank WHERE added_at >= ?", start) { r in
            rows.append(.init(what: "代发银行 \(r.text(0))", action: "bank.add", login: nil, token: "bank/\(r.text(0))"))
        }
        try db.forEach("SELECT DISTINCT created_by FROM batch WHERE kind = 'reissue' AND created_at >= ?", start) { r in
            rows.append(.init(what: "补发批次", action: "batch.reissue", login: r.text(0), token: "payments"))
        }
        return rows
    }
}
