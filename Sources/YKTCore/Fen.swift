/// Money in integer fen (分). Never a floating-point number anywhere in the program.
public struct Fen: Sendable, Hashable, Comparable, Codable, CustomStringConvertible,
                   AdditiveArithmetic, ExpressibleByIntegerLiteral {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }
    public init(integerLiteral value: Int64) { self.value = value }

    public static var zero: Fen { Fen(0) }
    public static func + (a: Fen, b: Fen) -> Fen { Fen(a.value + b.value) }
    public static func - (a: Fen, b: Fen) -> Fen { Fen(a.value - b.value) }
    public static func < (a: Fen, b: Fen) -> Bool { a.value < b.value }

    /// Parses yuan as written by people and spreadsheets: `1200`, `1200.5`, `1,200.50`, `¥80`.
    /// At most two decimals; never negative. Exact: digits are read, never a Double.
    /// Full-width digits, point, comma and minus count as their ASCII forms (`ExcelText.plainCode`).
    public init(yuan text: String) throws(YKTError) {
        var t = Substring(ExcelText.plainCode(text.trimmed))
        if t.hasPrefix("¥") || t.hasPrefix("￥") { t = t.dropFirst() }
        if t.hasSuffix("元") { t = t.dropLast() }
        let cleaned = t.filter { $0 != "," }
        let parts = cleaned.split(separator: ".", omittingEmptySubsequences: false)
        func bad() -> YKTError {
            YKTError(.moneyInvalid, "金额「\(text)」无效", hint: "以元为单位，最多两位小数，例如 123.45")
        }
        guard (1...2).contains(parts.count), let whole = parts.first, !whole.isEmpty, whole.count <= 12,
              whole.allSatisfy(\.isASCIIDigit) else { throw bad() }
        var fen = Int64(whole)! * 100
        if parts.count == 2 {
            let frac = parts[1]
            guard (1...2).contains(frac.count), frac.allSatisfy(\.isASCIIDigit) else { throw bad() }
            fen += Int64(frac)! * (frac.count == 1 ? 10 : 1)
        }
        value = fen
    }

    /// `1234.50`: yuan with two decimals, no grouping (for files).
    public var yuan: String {
        let sign = value < 0 ? "-" : ""
        let a = value.magnitude
        let cents = a % 100
        return "\(sign)\(a / 100)." + (cents < 10 ? "0\(cents)" : "\(cents)")
    }

    /// `1,234.50`: yuan grouped by thousands (for screens and printed notices).
    public var yuanGrouped: String {
        let plain = yuan
        let neg = plain.hasPrefix("-")
        let body = neg ? String(plain.dropFirst()) : plain
        let dot = body.firstIndex(of: ".")!
        let whole = Array(body[..<dot])
        var grouped = ""
        for (i, c) in whole.enumerated() {
            if i > 0, (whole.count - i) % 3 == 0 { grouped.append(",") }
            grouped.append(c)
        }
        return (neg ? "-" : "") + grouped + String(body[dot...])
    }

    public var description: String { yuan }
}

/// A quantity with up to four decimals, stored exactly as ten-thousandths (`3.25` 亩 → 32500).
public struct Quantity: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public static let scale: Int64 = 10_000
    /// The largest quantity accepted (100,000 亩 or months), which keeps every product in range.
    public static let maximum: Int64 = 100_000 * scale
    public let tenThousandths: Int64

    public init(tenThousandths: Int64) { self.tenThousandths = tenThousandths }

    /// Full-width digits, point and minus (`１．５`, `－２`) count as their ASCII forms and spaces
    /// are ignored, as in codes (`ExcelText.plainCode`).
    public init(parsing text: String) throws(YKTError) {
        let t = ExcelText.plainCode(text.trimmed)
        let parts = t.split(separator: ".", omittingEmptySubsequences: false)
        func bad(_ why: String) -> YKTError {
            YKTError(.quantityInvalid, "数量「\(text)」无效：\(why)", hint: "填写大于 0 的数，最多四位小数，例如 3.25")
        }
        if t.count > 1, t.hasPrefix("-"), t.dropFirst().allSatisfy({ $0.isASCIIDigit || $0 == "." }) {
            throw bad("不能是负数")
        }
        guard (1...2).contains(parts.count), let whole = parts.first, !whole.isEmpty, whole.count <= 6,
              whole.allSatisfy(\.isASCIIDigit) else { throw bad("不是数字") }
        var v = Int64(whole)! * Self.scale
        if parts.count == 2 {
            let frac = parts[1]
            guard (1...4).contains(frac.count), frac.allSatisfy(\.isASCIIDigit) else { throw bad("小数超过四位") }
            var f = Int64(frac)!
            for _ in frac.count..<4 { f *= 10 }
            v += f
        }
        guard v > 0 else { throw bad("必须大于 0") }
        guard v <= Self.maximum else { throw bad("超过上限 100000") }
        tenThousandths = v
    }

    public var isWhole: Bool { tenThousandths % Self.scale == 0 }

    /// `3.25`, `12`: shortest exact decimal.
    public var description: String {
        let whole = tenThousandths / Self.scale
        var frac = tenThousandths % Self.scale
        guard frac != 0 else { return "\(whole)" }
        var digits = 4
        while frac % 10 == 0 { frac /= 10; digits -= 1 }
        let f = String(frac)
        return "\(whole)." + String(repeating: "0", count: digits - f.count) + f
    }

    public static func < (a: Quantity, b: Quantity) -> Bool { a.tenThousandths < b.tenThousandths }
}

/// The amount rule (see `docs/conventions.md`): amount = standard × quantity, computed exactly
/// in integers, then rounded once to the fen, half up (四舍五入). Never rounded per unit.
public enum AmountRule {
    /// The largest program standard accepted: 1,000,000 元 per unit. With `Quantity.maximum`
    /// this keeps every product below 10^17, inside Int64.
    public static let maximumStandard = Fen(100_000_000)

    public static func amount(standard: Fen, quantity: Quantity) -> Fen {
        precondition(standard <= maximumStandard && standard.value >= 0, "program standards are validated on load")
        let product = standard.value * quantity.tenThousandths
        let half = Quantity.scale / 2
        return Fen((product + half) / Quantity.scale)
    }
}
