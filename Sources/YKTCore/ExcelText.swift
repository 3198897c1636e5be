import Foundation

/// What Excel and WPS do to codes written as digits (resident IDs, account numbers, phones,
/// household numbers, periods) when they open a CSV file, and how the program's files and
/// imports deal with it. See `docs/conventions.md` (e).
///
/// - A spreadsheet opening a CSV file by a double-click turns every cell that looks like a
///   number into a number: an 18-digit ID is shown as `4.50223E+17` and, when saved, written
///   back as `4.50223E+17` or with its last digits turned to `0` (a spreadsheet keeps 15
///   significant digits); `2026-05` becomes a date. Nothing can restore the lost digits.
/// - The program's own files for people therefore write such a cell with a **leading tab**:
///   Excel and WPS both keep a cell that starts with a tab as text, and keep the tab in it, so
///   a file opened and saved (even several times) still carries the protection. The `="…"`
///   formula form also shows as text, but is saved back as the bare digits and so protects
///   only the first opening; it is accepted on input, never written.
/// - Imports accept every form: the tab, the `="…"` wrapper, and the plain digits a spreadsheet
///   writes back for a cell it kept as text.
public enum ExcelText {
    /// `value` as a CSV cell a spreadsheet keeps as text: a leading tab, for a code made only of
    /// ASCII letters and digits and `-` `*` `.` `/` `(` `)` and spaces that starts with a letter,
    /// digit or `(` (so never a formula). Any other value (empty, a name, something that starts
    /// like a formula) is returned as it is, to be escaped by the writer as usual.
    public static func protected(_ value: String) -> String {
        let bare = unprotected(value)
        guard let first = bare.utf8.first, isCodeStart(first), bare.utf8.allSatisfy(isCodeByte) else { return value }
        return "\t" + bare
    }

    /// A cell without the protection: tabs around it removed and a `="…"` wrapper undone.
    /// Without either (the usual case) the cell itself is returned, nothing is copied.
    public static func unprotected(_ field: String) -> String {
        guard let (first, last) = field.utf8Ends,
              first == 0x09 || last == 0x09 || ((first == 0x20 || last == 0x20) && field.utf8.contains(0x09))
                || (first == UInt8(ascii: "=") && last == UInt8(ascii: "\"")) else { return field }
        var text = Substring(field)
        while text.first == "\t" || text.first == " " { text = text.dropFirst() }
        while text.last == "\t" || text.last == " " { text = text.dropLast() }
        if text.hasPrefix("=\""), text.hasSuffix("\""), text.count >= 3 {
            text = text.dropFirst(2).dropLast()
            return text.replacingOccurrences(of: "\"\"", with: "\"")
        }
        return String(text)
    }

    /// A code as typed into a spreadsheet, made plain before it is checked: full-width letters,
    /// digits and signs (`０`–`９`, `Ｘ`, `－`) become their ASCII forms, and every space is
    /// removed (ASCII spaces and tabs, the ideographic space U+3000, the no-break space U+00A0,
    /// the other Unicode spaces and zero-width ones). A code that is already printable ASCII
    /// without spaces (the usual case) is returned as it is, nothing is copied.
    public static func plainCode(_ text: String) -> String {
        if text.utf8AllSatisfy({ $0 > 0x20 && $0 < 0x7F }) { return text }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            switch s.value {
            case 0xFF01...0xFF5E: out.append(Unicode.Scalar(s.value - 0xFEE0)!)   // full-width ASCII forms
            case 0x200B...0x200D, 0x2060, 0xFEFF: continue                        // zero-width spaces, BOM
            default:
                if s.properties.isWhitespace { continue }
                out.append(s)
            }
        }
        return String(out)
    }

    /// Whether `text` is a number in scientific notation, the way a spreadsheet shows and saves
    /// a long number: `4.50223E+17`, `4.50223199001011E+17`, `4E17`, `6.22848e+18`.
    public static func isScientific(_ text: String) -> Bool {
        var it = text.utf8.makeIterator()
        func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
        guard let first = it.next(), isDigit(first) else { return false }
        var b = it.next()
        if b == UInt8(ascii: ".") {
            b = it.next()
            guard let d = b, isDigit(d) else { return false }
            while let d = b, isDigit(d) { b = it.next() }
        }
        guard b == UInt8(ascii: "E") || b == UInt8(ascii: "e") else { return false }
        b = it.next()
        if b == UInt8(ascii: "+") { b = it.next() }
        guard let d = b, isDigit(d) else { return false }
        while let d = b, isDigit(d) { b = it.next() }
        return b == nil
    }

    /// How many of the last digits of a long digit string are `0` when a spreadsheet has cut it
    /// to its 15 significant digits: the trailing zeros, when there are at least `minimum` of
    /// them and at least as many as the digits past the 15th; else nil.
    public static func cutZeros(_ digits: String, minimum: Int = 3) -> Int? {
        let bytes = digits.utf8
        guard bytes.count > 15, bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        let zeros = bytes.reversed().prefix { $0 == UInt8(ascii: "0") }.count
        return zeros >= max(minimum, bytes.count - 15) ? zeros : nil
    }

    /// The hint every "a spreadsheet changed this number" error gives: how to avoid it.
    public static let avoidHint = "这是 Excel/WPS 把长号码当作数字造成的，已丢失的数字无法还原，请对照证件或卡折重新录入这一格。"
        + "以后：在表格里先把这一列设为「文本」再录入或粘贴；修改本程序写出的文件（如错误行文件）时直接改、直接保存即可，"
        + "其中号码已标为文本；打开别处来的 CSV 请用「数据 → 从文本/CSV 导入」，把这一列设为「文本」"

    static func isCodeStart(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == UInt8(ascii: "(")
    }

    static func isCodeByte(_ b: UInt8) -> Bool {
        isCodeStart(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "*") || b == UInt8(ascii: ".")
            || b == UInt8(ascii: "/") || b == UInt8(ascii: ")") || b == UInt8(ascii: " ")
    }
}
