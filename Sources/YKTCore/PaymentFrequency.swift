/// 发放频次: how often a program pays, and so how its periods are written (docs/conventions.md).
/// The policy list must spell it exactly one of these four ways; anything else is refused when
/// the list is loaded or published.
public enum PaymentFrequency: String, Sendable, Hashable, Codable, CaseIterable {
    /// 每年: one application per person per year, period `2026`.
    case yearly = "每年"
    /// 每季: per quarter, period `2026-Q1`.
    case quarterly = "每季"
    /// 每月: per month, period `2026-03`.
    case monthly = "每月"
    /// 一次性: once per person per program, ever. The period is written as the year of the
    /// application (`2026`); a second application for the same person and program is refused
    /// whatever its period.
    case once = "一次性"

    /// Reads the policy list's 发放频次 cell: exactly one of 每年, 每季, 每月, 一次性.
    public init(parsing text: String) throws(YKTError) {
        let t = text.trimmed
        guard let f = PaymentFrequency(rawValue: t) else {
            throw YKTError(.programFrequency, t.isEmpty ? "发放频次为空" : "发放频次「\(t)」不认识",
                           hint: "填写 每年、每季、每月 或 一次性（其他写法不接受）")
        }
        self = f
    }

    /// The form of this program's periods.
    public var periodKind: Period.Kind {
        switch self {
        case .yearly, .once: .year
        case .quarterly: .quarter
        case .monthly: .month
        }
    }

    /// Refuses (`YKT-PERIOD-FREQUENCY`) a period whose form is not this frequency's.
    public func check(_ period: Period, program: String) throws(YKTError) {
        guard period.kind != periodKind else { return }
        throw YKTError(.periodFrequency,
                       "项目 \(program) 发放频次为「\(rawValue)」，期次应按\(periodKind.chinese)写（如 \(periodKind.example)），实际为 \(period)",
                       hint: self == .once ? "一次性项目的期次写申请所在年份，如 2026" : "按项目的发放频次改写期次")
    }

    /// Whether an application for `period` collides with one already recorded for `existing`
    /// (same person, same program): for 一次性 any two do; otherwise when they share a month.
    public func collides(_ period: Period, with existing: Period) -> Bool {
        self == .once || period.overlaps(existing)
    }
}
