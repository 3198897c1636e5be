import YKTCore
import YKTStore

/// Periods follow the program's 发放频次 (docs/conventions.md): the form of an application's
/// period, and no two applications of one person and program whose periods overlap (for a
/// 一次性 program, no second application at all).
extension TownshipNode {
    /// Refuses (`YKT-PERIOD-FREQUENCY`) a period whose form is not the program's frequency's, and
    /// (`YKT-PROGRAM-FREQUENCY`) a program stored without a known frequency.
    static func checkPeriodForm(_ period: Period, program: Program) throws(YKTError) {
        try program.requireFrequency().check(period, program: program.code)
    }

    /// The periods of this person's applications for the program, whatever their status.
    func applicationPeriods(beneficiaryID: Int64, program: String) throws -> [String] {
        try db.all("SELECT period FROM application WHERE beneficiary_id = ? AND program_code = ? ORDER BY period",
                   beneficiaryID, program) { $0.text(0) }
    }

    /// Refuses (`YKT-APPLICATION-OVERLAP`) an application whose period overlaps one already
    /// recorded for the same person and program (equal periods are `YKT-APPLICATION-DUPLICATE`,
    /// checked before). Must run inside `perform`.
    func refuseOverlap(_ period: Period, program: Program, beneficiary b: BeneficiaryRecord) throws {
        let frequency = try program.requireFrequency()
        for text in try applicationPeriods(beneficiaryID: b.id, program: program.code) {
            guard let existing = try? Period(parsing: text), frequency.collides(period, with: existing) else { continue }
            throw Self.overlapError(period, existing: existing, program: program, who: "\(b.name)（\(b.maskedID)）")
        }
    }

    static func overlapError(_ period: Period, existing: Period, program: Program, who: String) -> YKTError {
        if program.paymentFrequency == .once {
            return YKTError(.applicationOverlap, "\(who)已申请过一次性项目「\(program.name)」（期次 \(existing)），不能再申请",
                            hint: "一次性项目每人只能申请一次，不论期次；用 ykt application list 查看")
        }
        return YKTError(.applicationOverlap,
                        "\(who)「\(program.name)」已有 \(existing.chinese) 的申请，与 \(period.chinese) 重叠",
                        hint: "同一人同一项目的期次不能重叠（年度包含其季度和月份）；用 ykt application list 查看")
    }
}
