import YKTCore
import YKTStore

/// 一人（户）一卡 at the county (seed 003; docs/conventions.md): the households the townships
/// send (户号, keyed by township and number) and their heads (户主), re-checked; a per-household
/// program (发放对象 按户) is applied for by the head the county holds and paid once per
/// household, program and colliding period.
extension CountyNode {
    /// A second head for a household of `node` refused (nil: none other, or no household).
    func refuseSecondHead(resident rid: String, household: String, node: String, statements: RegisterStatements? = nil) throws -> Decision? {
        guard !household.isEmpty else {
            return .rejected(.householdHeads, "\(Masking.residentID(rid)) 报为户主，但没有户号")
        }
        let otherHead = try statements?.otherHead ?? db.statement(RegisterStatements.otherHeadSQL)
        defer { otherHead.reset() }
        try otherHead.bind(1, node)
        try otherHead.bind(2, household)
        try otherHead.bind(3, rid)
        guard try otherHead.step() else { return nil }
        let other = otherHead.row.text(0)
        return .rejected(.householdHeads, "户号 \(household) 在县里已有户主 \(Masking.residentID(other))，一户只能有一个户主")
    }

    /// A `beneficiary.update` that moves a resident to another household or changes whether
    /// they head it: kept when it leaves the household with at most one head. nil: taken (or
    /// nothing of the household in it).
    func takeHousehold(_ data: JSONValue, node: String) throws -> Decision? {
        guard data["household"] != nil || data["head"] != nil else { return nil }
        let rid = try data.requiredString("residentId")
        guard let current = try db.first("SELECT household, head FROM resident WHERE resident_id = ?", rid,
                                          map: { (household: $0.text(0), head: $0.bool(1)) }) else { return nil }
        var household = current.household
        if let v = data["household"] {
            guard let s = v.stringValue else { return .rejected(.syncBody, "户号不是文本") }
            household = s
        }
        var head = household == current.household ? current.head : false
        if let v = data["head"] {
            switch v {
            case .bool(let b): head = b
            default: return .rejected(.syncBody, "户主标记不是 true 或 false")
            }
        }
        if head, let refused = try refuseSecondHead(resident: rid, household: household, node: node) { return refused }
        try db.run("UPDATE resident SET household = ?, head = ? WHERE resident_id = ?", household, head, rid)
        return nil
    }

    /// Whether the county's program is paid per household.
    func paidPerHousehold(_ program: String) throws -> Bool {
        try db.first("SELECT payee FROM program WHERE code = ?", program, map: { $0.text(0) }) == PayeeUnit.household.rawValue
    }

    /// An application for a per-household program: by the head the county holds of a household
    /// with a 户号, and no other member's application (not withdrawn) of the program for a
    /// colliding period. nil: fine, or not a per-household program.
    func refuseHouseholdApplication(resident rid: String, program: String, period: String, node: String) throws -> Decision? {
        guard try paidPerHousehold(program),
              let frequency = try db.first("SELECT frequency FROM program WHERE code = ?", program, map: { $0.text(0) }) else { return nil }
        let masked = Masking.residentID(rid)
        guard let member = try db.first("SELECT household, head FROM resident WHERE resident_id = ? AND node_id = ?", rid, node,
                                        map: { (household: $0.text(0), head: $0.bool(1)) }) else { return nil }
        if member.household.isEmpty {
            return .rejected(.householdHead, "\(program) 按户发放，\(masked) 在县里没有户号")
        }
        if !member.head {
            return .rejected(.householdHead, "\(program) 按户发放，\(masked) 不是县里登记的户号 \(member.household) 的户主")
        }
        let others = try db.all("""
            SELECT a.period, a.resident_id FROM application a JOIN resident m ON m.resident_id = a.resident_id
            WHERE m.node_id = ? AND m.household = ? AND m.household <> '' AND a.program = ? AND a.resident_id <> ? AND a.status <> 'removed'
            """, node, member.household, program, rid, map: { (period: $0.text(0), resident: $0.text(1)) })
        if let other = others.first(where: { Self.periodsCollide($0.period, period, frequency: frequency) }) {
            return .rejected(.householdDuplicate,
                             "\(program) 按户发放，户号 \(member.household) 已有成员 \(Masking.residentID(other.resident)) 的 \(other.period) 申请，与 \(period) 重叠")
        }
        return nil
    }

    /// The household checks of one roster line of a per-household program: the line's resident
    /// is the head the county holds, and no other line of the program pays the household for a
    /// colliding period: not in this roster (`seen`), not on a live roster of the county, whether
    /// that line was written for this household or pays someone who is now one of its members.
    /// Returns the household the line pays and the problems found.
    func householdLineProblems(resident rid: String, node: String, program: String, period: Period, frequency: String,
                               seen: inout [String: Int], line: Int) throws -> (household: String, problems: [LineProblem]) {
        var problems: [LineProblem] = []
        let masked = Masking.residentID(rid)
        let member = try db.first("SELECT household, head FROM resident WHERE resident_id = ? AND node_id = ?", rid, node,
                                  map: { (household: $0.text(0), head: $0.bool(1)) })
        guard let member, !member.household.isEmpty, member.head else {
            problems.append(LineProblem(line: line, code: .rosterHead,
                                        reason: member?.household.isEmpty ?? true ? "\(program) 按户发放，\(masked) 在县里没有户号"
                                            : "\(program) 按户发放，\(masked) 不是县里登记的户号 \(member!.household) 的户主"))
            return ("", problems)
        }
        let household = member.household
        if let first = seen[household] {
            problems.append(LineProblem(line: line, code: .rosterHousehold, reason: "户号 \(household) 已在本清册第 \(first) 行"))
        } else {
            seen[household] = line
        }
        let earlier = try db.all("""
            SELECT r.period, r.id, l.line_no, l.resident_id FROM roster_line l JOIN roster r ON r.id = l.roster_id
            WHERE r.node_id = ?1 AND r.program = ?2 AND r.status != 'rejected' AND l.resident_id <> ?4
              AND ((l.roster_id, l.line_no) IN (SELECT roster_id, line_no FROM household_line WHERE node_id = ?1 AND household = ?3)
                   OR l.resident_id IN (SELECT resident_id FROM resident WHERE node_id = ?1 AND household = ?3 AND household <> '' AND removed_at IS NULL))
            """, node, program, household, rid, map: { (period: $0.text(0), roster: $0.int64(1), line: $0.int(2), resident: $0.text(3)) })
        if let other = earlier.first(where: { Self.periodsCollide($0.period, period.description, frequency: frequency) }) {
            problems.append(LineProblem(line: line, code: .rosterHousehold,
                                        reason: "户号 \(household) 的 \(program) 已由县里清册 \(other.roster) 第 \(other.line) 行（\(Masking.residentID(other.resident))，期次 \(other.period)）发放，与 \(period) 重叠"))
        }
        return (household, problems)
    }
}
