import YKTCore
import YKTNode
import YKTStore

/// 发放载体 at the county (issue 20, item 3; docs/conventions.md): `ykt report carriers`.
extension CountyNode {
    /// By township and village, the residents on rosters not rejected (of `period` and
    /// `program` when given), each counted once with the kind of account of their latest line;
    /// and by township, the register's residents (not removed) by the kind of the designated
    /// account the county holds now. The county keeps no village for a resident outside roster
    /// lines, so the register section is by township only.
    public func carrierReport(period: Period?, program: String?) throws -> CarrierReport {
        var names: [String: String] = [:]
        try db.forEach("SELECT node_id, name FROM township") { names[$0.text(0)] = $0.text(1) }
        if let program, try db.integer("SELECT count(*) FROM program WHERE code = ?", program) == 0 {
            throw YKTError(.programUnknown, "县里的补贴政策清单没有项目 \(program)", at: SourceLocation(field: "--program"),
                           hint: "用 ykt program list 查看项目编码")
        }
        var filter = "r.status != 'rejected'"
        var values: [any DatabaseValueConvertible] = []
        if let period { filter += " AND r.period = ?"; values.append(period.description) }
        if let program { filter += " AND r.program = ?"; values.append(program) }
        // SQLite takes the bare columns from the row where max() is found: the latest line.
        var onRosters: [(township: String, name: String, village: String, kind: String)] = []
        try db.statement("""
            SELECT r.node_id, l.village, l.account_kind, max(l.roster_id * 1000000 + l.line_no)
            FROM roster_line l JOIN roster r ON r.id = l.roster_id WHERE \(filter) GROUP BY l.resident_id
            """).forEach(values) { onRosters.append(($0.text(0), names[$0.text(0)] ?? $0.text(0), $0.text(1), $0.text(2))) }
        var registered: [(township: String, name: String, village: String, kind: String)] = []
        try db.forEach("SELECT node_id, account_kind FROM resident WHERE removed_at IS NULL") {
            registered.append(($0.text(0), names[$0.text(0)] ?? $0.text(0), "", $0.text(1)))
        }
        return CarrierReport(period: period?.description, program: program,
                             rosters: CarrierReport.tally(onRosters), register: CarrierReport.tally(registered))
    }
}
