/// The kind of a designated account: a social security card's financial account (社会保障卡金融账户,
/// the carrier seeds 000 and 004 pay onto), another bank card (debit card), or a passbook (存折),
/// which has no Luhn check digit. A social security card's number is checked like a bank card's.
///
/// Until issue 20 「社保卡」 was a spelling of `.card`; rows stored then stay `card` until the
/// account is declared again (`ykt account change`, `ykt beneficiary edit`).
public enum AccountKind: String, Sendable, Codable, CaseIterable {
    case card
    case passbook
    case socialSecurityCard = "social-security-card"

    /// The raw value as a literal (bound to SQLite without a copy).
    public var literal: StaticString {
        switch self {
        case .card: "card"
        case .passbook: "passbook"
        case .socialSecurityCard: "social-security-card"
        }
    }

    /// Accepts the raw values and the Chinese labels clerks type.
    public init(parsing text: String) throws(YKTError) {
        // A raw value or a label exactly as listed (every registration a township sends, nearly
        // every line of a village register), by its bytes: nothing to trim, fold or hash.
        if let exact = text.utf8.withContiguousStorageIfAvailable(Self.spelled(exactly:)) ?? nil {
            self = exact
            return
        }
        if let exact = AccountKind(rawValue: text) {
            self = exact
            return
        }
        // A spelling as written (every line of a village register), else trimmed and folded.
        guard let kind = Self.spellings[text] ?? Self.spellings[text.trimmed.lowercased()] else {
            throw YKTError(.accountKind, "账户类型「\(text)」不认识", hint: "填写 社保卡、银行卡 或 存折")
        }
        self = kind
    }

    /// Every spelling accepted, lower case: one hash lookup, where a `switch` compared the text
    /// with them one after another.
    private static let spellings: [String: AccountKind] = {
        var all: [String: AccountKind] = [:]
        for s in ["card", "银行卡", "卡", "借记卡", "其他银行卡", ""] { all[s] = .card }
        for s in ["passbook", "存折", "折"] { all[s] = .passbook }
        for s in ["social-security-card", "社保卡", "社会保障卡", "社保卡金融账户", "社会保障卡金融账户"] { all[s] = .socialSecurityCard }
        return all
    }()

    /// The kind one of `spellings` names, when `bytes` are exactly its UTF-8 bytes.
    static func spelled(exactly bytes: UnsafeBufferPointer<UInt8>) -> AccountKind? {
        for (spelling, kind) in spellingBytes where spelling.count == bytes.count && spelling.elementsEqual(bytes) {
            return kind
        }
        return nil
    }

    private static let spellingBytes: [([UInt8], AccountKind)] = spellings.map { (Array($0.key.utf8), $0.value) }

    /// The kind whose raw value `bytes` are exactly (what every registration line carries),
    /// without making a `String` of them; nil otherwise.
    public init?(exactly bytes: UnsafeBufferPointer<UInt8>) {
        let kind: AccountKind
        switch bytes.count {
        case 4: kind = .card
        case 8: kind = .passbook
        case 20: kind = .socialSecurityCard
        default: return nil
        }
        guard kind.rawValue.utf8.elementsEqual(bytes) else { return nil }
        self = kind
    }

    public var chinese: String {
        switch self {
        case .card: "银行卡"
        case .passbook: "存折"
        case .socialSecurityCard: "社保卡"
        }
    }

    /// Whether the number is a card number (16–19 digits with a Luhn check digit).
    public var isCard: Bool { self != .passbook }
}

/// A designated account (指定账户) number, validated for its kind.
public struct AccountNumber: Sendable, Hashable, Codable, CustomStringConvertible {
    public let kind: AccountKind
    /// Digits only; spaces and dashes a clerk typed are removed.
    public let value: String

    /// Full-width digits count as ASCII ones and spaces anywhere are ignored
    /// (`ExcelText.plainCode`); a number a spreadsheet has changed is named as such.
    public init(_ text: String, kind: AccountKind) throws(YKTError) {
        let plain = ExcelText.plainCode(text)
        // Digits only, of the kind's length and check (nearly every number): the text itself.
        if plain.utf8.withContiguousStorageIfAvailable({ Self.isPlainValid($0, kind: kind) }) == true {
            self.kind = kind
            self.value = plain
            return
        }
        var digits: [UInt8] = []
        digits.reserveCapacity(plain.utf8.count)
        for b in plain.utf8 {
            if b == UInt8(ascii: "-") { continue }
            guard b >= 48 && b <= 57 else {
                if ExcelText.isScientific(plain) {
                    throw YKTError(.excelNumber, "账号成了科学计数法（「\(plain)」）：Excel/WPS 把它当成了数字，后几位已经丢失",
                                   hint: ExcelText.avoidHint)
                }
                throw YKTError(.accountFormat, "账号「\(Masking.account(text))」含有数字以外的字符", hint: "只填数字")
            }
            digits.append(b)
        }
        switch kind {
        case .card, .socialSecurityCard:
            let what = kind == .socialSecurityCard ? "社保卡号" : "银行卡号"
            if !(16...19).contains(digits.count) || !Self.luhnValid(digits),
               let zeros = ExcelText.cutZeros(String(decoding: digits, as: UTF8.self), minimum: 2) {
                throw YKTError(.excelNumber, "\(what)后 \(zeros) 位都是 0 且通不过校验：多半是 Excel/WPS 把它当成数字保存时截断了（只保留 15 位有效数字）",
                               hint: ExcelText.avoidHint)
            }
            guard (16...19).contains(digits.count) else {
                throw YKTError(.accountFormat, "\(what)应为 16–19 位数字，实际 \(digits.count) 位",
                               hint: "核对卡面号码；存折账号请把账户类型填为 存折")
            }
            guard Self.luhnValid(digits) else {
                throw YKTError(.accountLuhn, "\(what) \(Masking.account(String(decoding: digits, as: UTF8.self))) 未通过校验（Luhn）",
                               hint: "多半是某一位录错了，请对照卡面逐位核对")
            }
        case .passbook:
            guard (8...30).contains(digits.count) else {
                throw YKTError(.accountFormat, "存折账号应为 8–30 位数字，实际 \(digits.count) 位", hint: "核对存折账号")
            }
        }
        self.kind = kind
        self.value = String(decoding: digits, as: UTF8.self)
    }

    /// The Luhn (mod 10) check over ASCII digits.
    public static func luhnValid(_ digits: [UInt8]) -> Bool {
        digits.withUnsafeBufferPointer { luhnValid($0) }
    }

    public static func luhnValid(_ digits: UnsafeBufferPointer<UInt8>) -> Bool {
        var sum = 0
        for (i, b) in digits.reversed().enumerated() {
            var v = Int(b) - 48
            if i % 2 == 1 {
                v *= 2
                if v > 9 { v -= 9 }
            }
            sum += v
        }
        return sum % 10 == 0
    }

    /// Whether `bytes` are a valid number of `kind` exactly as `value` would hold it (ASCII
    /// digits only), checked without making a `String`: the county's bulk path. false sends
    /// the number to `init`, which accepts more spellings and names what is wrong.
    public static func isPlainValid(_ bytes: UnsafeBufferPointer<UInt8>, kind: AccountKind) -> Bool {
        guard bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        return kind.isCard ? (16...19).contains(bytes.count) && luhnValid(bytes) : (8...30).contains(bytes.count)
    }

    /// Appends the Luhn check digit to `body` (used by the demo-data generator).
    public static func completingLuhn(_ body: String) -> String {
        for c in 0...9 {
            let candidate = body + String(c)
            if luhnValid(Array(candidate.utf8)) { return candidate }
        }
        return body + "0"
    }

    public var masked: String { Masking.account(value) }
    public var description: String { masked }
}

/// A phone number: an 11-digit mobile number, or a fixed line with area code (`0772-1234567`).
public enum PhoneNumber {
    /// Full-width digits count as ASCII ones and spaces are ignored (`ExcelText.plainCode`).
    public static func validate(_ text: String) throws(YKTError) -> String {
        let t = ExcelText.plainCode(text)
        // A mobile number as it should be (nearly every one): 11 digits from 1.
        if t.utf8.withContiguousStorageIfAvailable({ $0.count == 11 && $0[0] == UInt8(ascii: "1") && $0.allSatisfy { $0 >= 48 && $0 <= 57 } }) == true {
            return t
        }
        var digits: [UInt8] = []
        digits.reserveCapacity(t.utf8.count)
        var onlyDigits = true
        for b in t.utf8 where b != UInt8(ascii: "-") && b != UInt8(ascii: " ") {
            if b < 48 || b > 57 { onlyDigits = false }
            digits.append(b)
        }
        if onlyDigits, digits.count == 11, digits[0] == UInt8(ascii: "1") {
            return digits.count == t.utf8.count ? t : String(decoding: digits, as: UTF8.self)
        }
        if onlyDigits, digits.first == UInt8(ascii: "0"), (10...12).contains(digits.count) { return t }
        throw YKTError(.phoneInvalid, "联系电话「\(Masking.phone(t))」无效",
                       hint: "填写 11 位手机号，或带区号的固定电话如 0772-1234567")
    }
}

/// A person's name as written on the ID card: 1–30 characters, Chinese (with the middle dot of
/// minority names) or Latin letters; no digits.
public enum PersonName {
    public static func validate(_ text: String) throws(YKTError) -> String {
        let t = text.trimmed
        guard !t.isEmpty else {
            throw YKTError(.fieldMissing, "姓名为空", hint: "按身份证填写姓名")
        }
        guard t.unicodeScalars.count <= 30, t.unicodeScalars.allSatisfy({ s in
            isIdeograph(s.value) || s.properties.isAlphabetic || s == "·" || s == "•" || s == " " || s == "."
        }) else {
            throw YKTError(.nameInvalid, "姓名「\(t)」含有不允许的字符或过长", hint: "按身份证填写姓名，不要带数字或符号")
        }
        return t
    }

    /// CJK ideographs (the basic block and extension A), tried first: nearly every name is only
    /// these.
    static func isIdeograph(_ v: UInt32) -> Bool { (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) }

    /// Whether valid UTF-8 `bytes` are a name `validate` accepts unchanged, when it is made of
    /// CJK ideographs only (the usual name), checked without making a `String`: the county's
    /// bulk path. false for anything else, which `validate` then decides.
    public static func isPlainIdeographs(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        // Every ideograph of both blocks is three bytes: 1110xxxx 10xxxxxx 10xxxxxx.
        guard !bytes.isEmpty, bytes.count % 3 == 0, bytes.count <= 90 else { return false }
        var i = 0
        while i < bytes.count {
            let (b0, b1, b2) = (bytes[i], bytes[i + 1], bytes[i + 2])
            guard b0 & 0xF0 == 0xE0, b1 & 0xC0 == 0x80, b2 & 0xC0 == 0x80 else { return false }
            guard isIdeograph(UInt32(b0 & 0x0F) << 12 | UInt32(b1 & 0x3F) << 6 | UInt32(b2 & 0x3F)) else { return false }
            i += 3
        }
        return true
    }
}
