import YKTCore
import YKTNode
import YKTStore

/// 发放载体 at the township (issue 20, item 3; docs/conventions.md): `ykt report carriers` for
/// its own villages.
extension TownshipNode {
    /// By village: the residents on submitted rosters the county has not rejected (of `period` and `program` when given),
    /// each once with the kind of account of their latest line; and the register's residents
    /// (not removed) by the kind of their current designated account.
    public func carrierReport(period: Period?, program code: String?) throws -> CarrierReport {
        if let code { _ = try program(code) }
        let name = config.name
        // Submitted, and not refused by the county (its latest decision is not a rejection).
        var filter = """
            r.status = 'submitted' AND coalesce((SELECT d.decision FROM roster_decision d WHERE d.roster_id = r.id
                                                 ORDER BY d.id DESC LIMIT 1), '') != 'rejected'
            """
        var values: [any DatabaseValueConvertible] = []
        if let period { filter += " AND r.period = ?"; values.append(period.description) }
        if let code { filter += " AND r.program_code = ?"; values.append(code) }
        var onRosters: [(township: String, name: String, village: String, kind: String)] = []
        try db.statement("""
            SELECT l.village, l.account_kind, max(l.roster_id * 1000000 + l.line_no)
            FROM roster_line l JOIN roster r ON r.id = l.roster_id WHERE \(filter) GROUP BY l.resident_id
            """).forEach(values) { onRosters.append((config.nodeID, name, $0.text(0), $0.text(1))) }
        var registered: [(township: String, name: String, village: String, kind: String)] = []
        try db.forEach("""
            SELECT b.village, a.kind FROM beneficiary b JOIN account a ON a.beneficiary_id = b.id AND a.replaced_at IS NULL
            WHERE b.removed_at IS NULL
            """) { registered.append((config.nodeID, name, $0.text(0), $0.text(1))) }
        return CarrierReport(period: period?.description, program: code,
                             rosters: CarrierReport.tally(onRosters), register: CarrierReport.tally(registered))
    }
}
