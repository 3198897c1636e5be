import YKTCore
import YKTNode
import YKTStore

/// 一人（户）一卡 (seed 003; docs/conventions.md): a program paid per household (发放对象 按户) is
/// applied for by the household's head (户主) and paid once per household and period onto the
/// head's designated account. A household is a 户号 of this township's register.
extension TownshipNode {
    /// Refuses an application for a per-household program by anyone but the head of a household
    /// with a 户号 (`YKT-HOUSEHOLD-HEAD`), and a second one for the same household, program and
    /// colliding period by another member (`YKT-HOUSEHOLD-DUPLICATE`; the person's own are the
    /// person rules'). Withdrawn applications (`removed`) do not count.
    func refuseHouseholdApplication(_ b: BeneficiaryRecord, program: Program, period: Period) throws {
        guard program.rules.payee == .household else { return }
        if let problem = try Self.householdHeadProblem(name: b.name, maskedID: b.maskedID, household: b.household, head: b.head,
                                                       program: program, headOf: { try householdHead(of: $0)?.name }) {
            throw problem
        }
        for other in try householdApplications(household: b.household, program: program.code, excluding: b.id)
        where Self.collide(period, other.period, program: program) {
            throw Self.householdDuplicate(program: program, household: b.household, period: period,
                                          other: "\(other.name)（\(Masking.residentID(other.residentID))）的 \(other.period)")
        }
    }

    /// The applications of a program by the members of a household now (other than `excluding`).
    func householdApplications(household: String, program: String, excluding: Int64?) throws
        -> [(period: String, name: String, residentID: String)] {
        try db.all("""
            SELECT ap.period, b.name, b.resident_id FROM application ap JOIN beneficiary b ON b.id = ap.beneficiary_id
            WHERE b.household = ? AND b.household <> '' AND ap.program_code = ? AND ap.status <> 'removed' AND b.id IS NOT ?
            """, household, program, excluding) { (period: $0.text(0), name: $0.text(1), residentID: $0.text(2)) }
    }

    static func collide(_ a: Period, _ b: String, program: Program) -> Bool {
        guard let other = try? Period(parsing: b) else { return a.description == b }
        return program.paymentFrequency?.collides(a, with: other) ?? a.overlaps(other)
    }

    static func householdHeadProblem(name: String, maskedID: String, household: String, head: Bool, program: Program,
                                     headOf: (String) throws -> String?) throws -> YKTError? {
        let who = "\(name)（\(maskedID)）"
        if household.isEmpty {
            return YKTError(.householdHead, "「\(program.name)」按户发放，\(who)在底册中没有户号",
                            hint: "在底册补登户号并指定户主（ykt beneficiary edit <身份证号> --household <户号> --head），由户主申请")
        }
        if head { return nil }
        if let current = try headOf(household) {
            return YKTError(.householdHead, "「\(program.name)」按户发放，只能由户主申请；\(who)不是户号 \(household) 的户主（户主是 \(current)）",
                            hint: "以户主的身份证号申请；户主变了先用 ykt beneficiary edit <身份证号> --head")
        }
        return YKTError(.householdHead, "「\(program.name)」按户发放，户号 \(household) 尚未指定户主",
                        hint: "先用 ykt beneficiary edit <户主身份证号> --head 指定户主，由户主申请")
    }

    static func householdDuplicate(program: Program, household: String, period: Period, other: String) -> YKTError {
        YKTError(.householdDuplicate, "「\(program.name)」按户发放，户号 \(household) 已有 \(other) 申请，与 \(period.chinese) 重叠",
                 hint: "一户同一期次只能申请一次；用 ykt application list 查看")
    }
}

/// The household rules of an application import, line after line on the checking thread:
/// each household's applications per per-household program (register, then earlier lines).
final class HouseholdApplications: @unchecked Sendable {   // used by one thread at a time (the import's cross-check)
    /// resident ID → (household, head) for everyone on the register.
    var members: [String: (household: String, head: Bool)] = [:]
    /// household → its head's name.
    var heads: [String: String] = [:]
    /// "household|program" → periods applied for (line 0: already recorded).
    var periods: [String: [(period: String, line: Int)]] = [:]

    /// Reads nothing when no program of the list is paid per household.
    init(db: Database, programs: [String: Program]) throws {
        let household = Set(programs.values.filter { $0.rules.payee == .household }.map(\.code))
        guard !household.isEmpty else { return }
        try db.forEach("SELECT resident_id, household, head, name FROM beneficiary WHERE removed_at IS NULL") {
            members[$0.text(0)] = ($0.text(1), $0.bool(2))
            if $0.bool(2) { heads[$0.text(1)] = $0.text(3) }
        }
        try db.forEach("""
            SELECT b.household, ap.program_code, ap.period FROM application ap JOIN beneficiary b ON b.id = ap.beneficiary_id
            WHERE b.household <> '' AND ap.status <> 'removed'
            """) { r in
            guard household.contains(r.text(1)) else { return }
            periods[r.text(0) + "|" + r.text(1), default: []].append((r.text(2), 0))
        }
    }

    func check(_ input: ApplicationInput, name: String, program: Program, line: Int) -> [YKTError] {
        guard program.rules.payee == .household else { return [] }
        let member = members[input.residentID.value] ?? (household: "", head: false)
        do {
            if let problem = try TownshipNode.householdHeadProblem(name: name, maskedID: input.residentID.masked, household: member.household,
                                                                   head: member.head, program: program, headOf: { heads[$0] }) {
                return [problem]
            }
        } catch { return [] }
        let key = member.household + "|" + program.code
        if let other = periods[key]?.first(where: { TownshipNode.collide(input.period, $0.period, program: program) }) {
            return [TownshipNode.householdDuplicate(program: program, household: member.household, period: input.period,
                                                    other: other.line == 0 ? "成员 \(other.period)" : "第 \(other.line) 行 \(other.period)")]
        }
        periods[key, default: []].append((input.period.description, line))
        return []
    }
}
