/// An 18-character resident identity number (公民身份号码) checked against GB 11643-1999:
/// a 6-digit region code, an 8-digit birth date, a 3-digit sequence (odd for men, even for
/// women) and a check character `0`–`9` or `X` computed by ISO 7064 MOD 11-2.
public struct ResidentID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The normalised number: 18 characters, a final `x` upper-cased.
    public let value: String

    /// Province-level codes (GB/T 2260), the first two digits of every valid region code.
    static let provinces: Set<Int> = [11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37,
                                      41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65,
                                      71, 81, 82]
    static let provinceTable: [Bool] = (0..<100).map { provinces.contains($0) }
    static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let checkCharacters: [UInt8] = Array("10X98765432".utf8)

    /// What is wrong with a number, found without allocating (the county checks a million).
    public enum Problem: Sendable, Equatable {
        case length(Int)
        case character(position: Int)
        case region
        case birthDate
        case checkDigit(expected: UInt8)
    }

    /// Checks 18 bytes (a final lower-case `x` is accepted, as `init` normalises it).
    /// nil when the number is valid.
    public static func problem(in bytes: UnsafeBufferPointer<UInt8>, today: CivilDate) -> Problem? {
        guard bytes.count == 18 else { return .length(bytes.count) }
        var sum = 0
        for i in 0..<18 {
            let b = bytes[i]
            if b >= 48 && b <= 57 {
                if i < 17 { sum += Int(b - 48) * weights[i] }
            } else if !(i == 17 && (b == UInt8(ascii: "X") || b == UInt8(ascii: "x"))) {
                return .character(position: i + 1)
            }
        }
        func digit(_ i: Int) -> Int { Int(bytes[i]) - 48 }
        guard provinceTable[digit(0) * 10 + digit(1)], !(digit(2) == 0 && digit(3) == 0 && digit(4) == 0 && digit(5) == 0) else {
            return .region
        }
        let year = digit(6) * 1000 + digit(7) * 100 + digit(8) * 10 + digit(9)
        guard let birth = CivilDate(year: year, month: digit(10) * 10 + digit(11), day: digit(12) * 10 + digit(13)),
              year >= 1900, birth <= today else { return .birthDate }
        let expected = checkCharacters[sum % 11]
        let last = bytes[17] == UInt8(ascii: "x") ? UInt8(ascii: "X") : bytes[17]
        return last == expected ? nil : .checkDigit(expected: expected)
    }

    /// Validates `text`. `today` bounds the birth date (no one is born in the future).
    /// Full-width digits and `Ｘ` count as their ASCII forms and spaces anywhere are ignored
    /// (`ExcelText.plainCode`); a number a spreadsheet has changed is named as such.
    public init(_ text: String, today: CivilDate = .inChina()) throws(YKTError) {
        let raw = ExcelText.plainCode(text)
        // Valid, with an upper-case X if any (nearly every number): the text itself.
        if raw.utf8.withContiguousStorageIfAvailable({ $0.count == 18 && $0[17] != UInt8(ascii: "x") && Self.problem(in: $0, today: today) == nil }) == true {
            value = raw
            return
        }
        var bytes = Array(raw.utf8)
        let problem = bytes.withUnsafeBufferPointer { Self.problem(in: $0, today: today) }
        if problem != nil { try Self.checkSpreadsheetDamage(raw) }
        switch problem {
        case nil: break
        case .length:
            var hint = "核对证件重新录入；15 位旧号码请先换成 18 位号码"
            if raw.count < 18, !raw.isEmpty, raw.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
                hint += "。号码若来自 Excel/WPS 表格，可能被当成数字截短或改掉了：先把这一列设为「文本」，"
                    + "再对照证件改正本程序写出的错误行文件（--rejects）中的这一格，改好后导入那个文件"
            }
            throw YKTError(.idLength, "身份证号应为 18 位，实际 \(raw.count) 位", hint: hint)
        case .character(let position):
            throw YKTError(.idCharacters, "身份证号第 \(position) 位不是数字", hint: "只有第 18 位可以是 X")
        case .region:
            throw YKTError(.idRegion, "身份证号前 6 位「\(String(decoding: bytes[0..<6], as: UTF8.self))」不是有效的行政区划代码",
                           hint: "核对证件重新录入")
        case .birthDate:
            throw YKTError(.idBirthDate, "身份证号中的出生日期「\(String(decoding: bytes[6..<14], as: UTF8.self))」无效",
                           hint: "出生日期须真实存在、不早于 1900 年、不晚于今天；请核对证件")
        case .checkDigit(let expected):
            throw YKTError(.idCheckDigit, "身份证号校验码错误：第 18 位应为「\(Character(Unicode.Scalar(expected)))」",
                           hint: "多半是某一位录错了，请核对证件逐位重新录入")
        }
        if bytes[17] == UInt8(ascii: "x") { bytes[17] = UInt8(ascii: "X") }
        value = String(decoding: bytes, as: UTF8.self)
    }

    /// Throws `YKT-EXCEL-NUMBER` when a refused number has the marks of a spreadsheet: scientific
    /// notation, or 16 or more digits whose last ones (past the 15th significant) are all `0`.
    static func checkSpreadsheetDamage(_ raw: String) throws(YKTError) {
        if ExcelText.isScientific(raw) {
            throw YKTError(.excelNumber, "身份证号成了科学计数法（「\(raw)」）：Excel/WPS 把它当成了数字，后几位已经丢失",
                           hint: ExcelText.avoidHint)
        }
        if let zeros = ExcelText.cutZeros(raw) {
            throw YKTError(.excelNumber, "身份证号后 \(zeros) 位都是 0 且通不过校验：多半是 Excel/WPS 把它当成数字保存时截断了（只保留 15 位有效数字）",
                           hint: ExcelText.avoidHint)
        }
    }

    /// The check character for the first 17 digits (`digits` may be longer; the rest is ignored).
    static func checkCharacter(for digits: [Int]) -> UInt8 {
        var sum = 0
        for i in 0..<17 { sum += digits[i] * weights[i] }
        return checkCharacters[sum % 11]
    }

    /// Appends the check character to 17 digits (used by the demo-data generator).
    public static func completing(_ first17: String) -> String {
        let d = first17.utf8.map { Int($0) - 48 }
        return first17 + String(Character(Unicode.Scalar(checkCharacter(for: d))))
    }

    public var birthDate: CivilDate {
        let u = Array(value.utf8).map { Int($0) - 48 }
        return CivilDate(year: u[6] * 1000 + u[7] * 100 + u[8] * 10 + u[9], month: u[10] * 10 + u[11],
                         day: u[12] * 10 + u[13])!
    }

    /// 男 for an odd sequence digit, 女 for an even one.
    public var sex: String {
        let u = Array(value.utf8)
        return (Int(u[16]) - 48) % 2 == 1 ? "男" : "女"
    }

    /// `450223********1234`: region code and last four kept, the rest hidden.
    public var masked: String { Masking.residentID(value) }

    public var description: String { masked }

    public static func < (a: ResidentID, b: ResidentID) -> Bool { a.value < b.value }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try ResidentID(text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }
}
