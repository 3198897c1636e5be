/// A disbursement period: a year (`2026`) or a month (`2026-03`). Programs paid yearly use
/// the year, monthly allowances the month.
public struct Period: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    /// nil for a whole year.
    public let month: Int?

    public init(parsing text: String) throws(YKTError) {
        let t = text.trimmed
        let parts = t.split(separator: "-", omittingEmptySubsequences: false)
        func bad() -> YKTError {
            YKTError(.periodInvalid, "期次「\(text)」无效", hint: "按年发放写 2026，按月发放写 2026-03")
        }
        guard let first = parts.first, first.count == 4, first.allSatisfy(\.isASCIIDigit),
              let y = Int(first), (2000...2100).contains(y) else { throw bad() }
        if parts.count == 1 {
            year = y
            month = nil
        } else if parts.count == 2, parts[1].count == 2, parts[1].allSatisfy(\.isASCIIDigit),
                  let m = Int(parts[1]), (1...12).contains(m) {
            year = y
            month = m
        } else {
            throw bad()
        }
    }

    public var description: String {
        if let month { return "\(year)-" + (month < 10 ? "0\(month)" : "\(month)") }
        return "\(year)"
    }

    /// `2026年` or `2026年3月`
    public var chinese: String {
        if let month { return "\(year)年\(month)月" }
        return "\(year)年度"
    }

    public static func < (a: Period, b: Period) -> Bool { (a.year, a.month ?? 0) < (b.year, b.month ?? 0) }

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
