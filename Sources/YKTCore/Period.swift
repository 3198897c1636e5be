/// A disbursement period: a year (`2026`), a quarter (`2026-Q1`) or a month (`2026-03`).
/// Which form a program's applications use follows its 发放频次 (`PaymentFrequency`):
/// 每年 and 一次性 the year, 每季 the quarter, 每月 the month (docs/conventions.md).
public struct Period: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The three forms a period takes.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case year
        case quarter
        case month

        /// How a clerk writes this form, e.g. `2026-Q1`.
        public var example: String {
            switch self {
            case .year: "2026"
            case .quarter: "2026-Q1"
            case .month: "2026-03"
            }
        }

        public var chinese: String {
            switch self {
            case .year: "年度"
            case .quarter: "季度"
            case .month: "月份"
            }
        }
    }

    public let year: Int
    /// nil for a whole year or a quarter.
    public let month: Int?
    /// 1…4 for a quarter, nil otherwise.
    public let quarter: Int?

    public init(parsing text: String) throws(YKTError) {
        let t = text.trimmed
        let parts = t.split(separator: "-", omittingEmptySubsequences: false)
        func bad() -> YKTError {
            YKTError(.periodInvalid, "期次「\(text)」无效", hint: "按年发放写 2026，按季发放写 2026-Q1，按月发放写 2026-03")
        }
        guard let first = parts.first, first.count == 4, first.allSatisfy(\.isASCIIDigit),
              let y = Int(first), (2000...2100).contains(y) else { throw bad() }
        year = y
        if parts.count == 1 {
            month = nil
            quarter = nil
        } else if parts.count == 2, parts[1].count == 2, parts[1].allSatisfy(\.isASCIIDigit),
                  let m = Int(parts[1]), (1...12).contains(m) {
            month = m
            quarter = nil
        } else if parts.count == 2, parts[1].count == 2, parts[1].first == "Q",
                  let q = Int(parts[1].dropFirst()), (1...4).contains(q) {
            month = nil
            quarter = q
        } else {
            throw bad()
        }
    }

    /// A whole year.
    public init(year: Int) {
        self.year = year
        month = nil
        quarter = nil
    }

    public var kind: Kind {
        if month != nil { return .month }
        if quarter != nil { return .quarter }
        return .year
    }

    /// The months of the year the period covers: 1…12 for a year, 4…6 for `Q2`, 3…3 for March.
    public var months: ClosedRange<Int> {
        if let month { return month...month }
        if let quarter { return (quarter * 3 - 2)...(quarter * 3) }
        return 1...12
    }

    /// The months covered, counted from year 0 (`year × 12 + month − 1`): for comparing the
    /// starts and overlaps of periods of different forms.
    public var monthSpan: ClosedRange<Int> {
        (year * 12 + months.lowerBound - 1)...(year * 12 + months.upperBound - 1)
    }

    /// Whether the two periods share a month: a year overlaps its quarters and months, a
    /// quarter its three months; equal periods overlap; periods of different years never do.
    public func overlaps(_ other: Period) -> Bool {
        monthSpan.overlaps(other.monthSpan)
    }

    public var description: String {
        if let month { return "\(year)-" + (month < 10 ? "0\(month)" : "\(month)") }
        if let quarter { return "\(year)-Q\(quarter)" }
        return "\(year)"
    }

    /// `2026年度`, `2026年第1季度` or `2026年3月`
    public var chinese: String {
        if let month { return "\(year)年\(month)月" }
        if let quarter { return "\(year)年第\(quarter)季度" }
        return "\(year)年度"
    }

    /// By start; at the same start the longer period first (`2026` < `2026-Q1` < `2026-01`).
    public static func < (a: Period, b: Period) -> Bool {
        (a.monthSpan.lowerBound, -a.monthSpan.count) < (b.monthSpan.lowerBound, -b.monthSpan.count)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try Period(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }
}
