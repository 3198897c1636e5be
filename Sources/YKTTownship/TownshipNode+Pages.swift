import Foundation
import YKTCore
import YKTNode
import YKTStore

/// Paged, counted reads for screens that show one page of a list (the office console), and
/// the few actions the CLI did inline that a page needs too.
extension TownshipNode {
    /// The beneficiary with this row id (removed ones too), or nil.
    public func findBeneficiary(row id: Int64) throws -> BeneficiaryRecord? {
        try db.first("""
            SELECT \(Self.beneficiaryColumns) FROM beneficiary b
            LEFT JOIN account a ON a.beneficiary_id = b.id AND a.replaced_at IS NULL
            WHERE b.id = ?
            """, id, map: Self.beneficiary(from:))
    }

    /// One page of the register (people not removed), ordered by village and name. `query`
    /// matches a name or village containing it, a whole resident ID, or the last four
    /// characters of one; `village` keeps one village. Returns the count of all matches too.
    public func searchBeneficiaries(query: String?, village: String? = nil, offset: Int, limit: Int) throws
        -> (total: Int, rows: [BeneficiaryRecord]) {
        let q = query?.trimmed.uppercased()
        let filter = """
            b.removed_at IS NULL AND (?2 IS NULL OR b.village = ?2)
            AND (?1 IS NULL OR instr(b.name, ?1) > 0 OR instr(b.village, ?1) > 0 OR b.resident_id = ?1
                 OR (length(?1) = 4 AND substr(b.resident_id, 15) = ?1))
            """
        let total = try db.integer("SELECT count(*) FROM beneficiary b WHERE \(filter)", q, village) ?? 0
        // The page is chosen from the covering index alone (migration 15), then joined: the
        // rows skipped by the offset cost no table or account lookups.
        let rows = try db.all("""
            SELECT \(Self.beneficiaryColumns) FROM (
                SELECT b.id FROM beneficiary b WHERE \(filter) ORDER BY b.village, b.name, b.resident_id LIMIT ?3 OFFSET ?4) p
            JOIN beneficiary b ON b.id = p.id
            LEFT JOIN account a ON a.beneficiary_id = b.id AND a.replaced_at IS NULL
            ORDER BY b.village, b.name, b.resident_id
            """, q, village, Int64(limit), Int64(offset), map: Self.beneficiary(from:))
        return (Int(total), rows)
    }

    /// The villages of the register (for a filter).
    public func villages() throws -> [String] {
        try db.all("SELECT DISTINCT village FROM beneficiary WHERE removed_at IS NULL ORDER BY village") { $0.text(0) }
    }

    /// One page of the applications, filtered as `applications(...)` does, plus `query` (a name
    /// or village containing it, or a whole resident ID) and `notice`, in the order recorded. Returns the
    /// count of all matches.
    public func applicationsPage(program: String? = nil, period: String? = nil, status: ApplicationStatus? = nil,
                                 notice: Int64? = nil, query: String? = nil, offset: Int, limit: Int) throws
        -> (total: Int, rows: [ApplicationRecord]) {
        let q = query?.trimmed.uppercased()
        let filter = """
            (?1 IS NULL OR ap.program_code = ?1) AND (?2 IS NULL OR ap.period = ?2) AND (?3 IS NULL OR ap.status = ?3)
            AND (?4 IS NULL OR instr(b.name, ?4) > 0 OR instr(b.village, ?4) > 0 OR b.resident_id = ?4)
            AND (?5 IS NULL OR ap.notice_id = ?5 OR ap.village_notice_id = ?5)
            """
        let total = try db.integer("""
            SELECT count(*) FROM application ap JOIN beneficiary b ON b.id = ap.beneficiary_id WHERE \(filter)
            """, program, period, status?.rawValue, q, notice) ?? 0
        // In the order recorded; the page's ids first (no sort of every match), then their columns.
        let rows = try db.all("""
            SELECT \(Self.applicationColumns) FROM (
                SELECT ap.id FROM application ap JOIN beneficiary b ON b.id = ap.beneficiary_id
                WHERE \(filter) ORDER BY ap.id LIMIT ?6 OFFSET ?7) p
            JOIN application ap ON ap.id = p.id JOIN beneficiary b ON b.id = ap.beneficiary_id
            ORDER BY ap.id
            """, program, period, status?.rawValue, q, notice, Int64(limit), Int64(offset), map: Self.application(from:))
        return (Int(total), rows)
    }

    /// One page of a roster's lines, in line order.
    public func rosterLines(_ id: Int64, offset: Int, limit: Int) throws -> [RosterLine] {
        try db.all("""
            SELECT line_no, application_id, resident_id, name, village, bank, account_kind, account_number,
                   quantity_e4, amount_fen FROM roster_line WHERE roster_id = ? ORDER BY line_no LIMIT ? OFFSET ?
            """, id, Int64(limit), Int64(offset)) { r in
            RosterLine(lineNo: r.int(0), applicationID: r.int64(1), residentID: r.text(2), name: r.text(3),
                       village: r.text(4), bank: r.text(5), accountKind: AccountKind(rawValue: r.text(6)) ?? .card,
                       accountNumber: r.text(7), quantity: Quantity(tenThousandths: r.int64(8)).description,
                       amountFen: r.int64(9))
        }
    }

    /// Removes the person a county decision (`conflict.decision`) gives to another township
    /// (`ykt beneficiary remove --conflict N`): the reason names the conflict and the township
    /// keeping the person, with `note` after it. Returns the applications withdrawn.
    @discardableResult
    public func removeByDecision(_ d: DecisionToAct, note: String? = nil) throws -> Int {
        let keeper = d.decision.dropFirst("keep-".count)
        let why = "县财政冲突 \(d.conflict) 决定由 \(keeper) 登记" + (note.map { "；" + $0 } ?? "")
        return try removeBeneficiary(try ResidentID(d.residentID), reason: why)
    }

    /// `<node>/out`: where printed files, rejects and import problem lists are written.
    public var outputFolder: String { outFolder }
}
