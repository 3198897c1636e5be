/// How a program's standard is expressed (补贴标准的计量单位).
public enum ProgramUnit: String, Sendable, Codable, CaseIterable {
    /// 元/亩: quantity is land area in mu, up to four decimals.
    case perMu = "mu"
    /// 元/人·月: quantity is a whole number of months.
    case perPersonMonth = "person-month"
    /// 元/人·年: quantity is a whole number of years.
    case perPersonYear = "person-year"
    /// 元/人: a one-off amount per person; quantity is a whole number (normally 1).
    case perPerson = "person"

    public init(parsing text: String) throws(YKTError) {
        let t = text.trimmed.replacingOccurrences(of: "元/", with: "")
        switch t {
        case "mu", "亩": self = .perMu
        case "person-month", "人·月", "人月", "人/月", "月": self = .perPersonMonth
        case "person-year", "人·年", "人年", "人/年", "年": self = .perPersonYear
        case "person", "人", "人次": self = .perPerson
        default:
            throw YKTError(.programInvalid, "计量单位「\(text)」不认识", hint: "填写 元/亩、元/人·月、元/人·年 或 元/人")
        }
    }

    public var chinese: String {
        switch self {
        case .perMu: "元/亩"
        case .perPersonMonth: "元/人·月"
        case .perPersonYear: "元/人·年"
        case .perPerson: "元/人"
        }
    }

    /// The quantity's unit on a notice: `亩`, `月`, `年`, `人`.
    public var quantityUnit: String {
        switch self {
        case .perMu: "亩"
        case .perPersonMonth: "月"
        case .perPersonYear: "年"
        case .perPerson: "人"
        }
    }

    /// Whether a quantity is acceptable for this unit (only land may be fractional).
    public func validate(_ q: Quantity) throws(YKTError) {
        if self != .perMu, !q.isWhole {
            throw YKTError(.quantityInvalid, "按\(quantityUnit)计的数量必须是整数，实际为 \(q)", hint: "填写整数")
        }
    }
}

/// An item of the county's policy list (补贴政策清单).
public struct Program: Sendable, Hashable, Codable {
    public var code: String
    public var name: String
    public var department: String
    public var unit: ProgramUnit
    public var standard: Fen
    /// 发放频次 as the list spells it: one of 每年, 每季, 每月, 一次性 (`PaymentFrequency`), checked
    /// when a list is loaded; `paymentFrequency` reads it.
    public var frequency: String
    /// 涉密: never published; no public notice is produced.
    public var secret: Bool
    public var basis: String
    public var version: Int
    /// 起始期次: the first period this version applies to; nil when it applies from the start.
    public var firstPeriod: Period?

    public init(code: String, name: String, department: String, unit: ProgramUnit, standard: Fen,
                frequency: String, secret: Bool, basis: String, version: Int, firstPeriod: Period? = nil) {
        self.code = code
        self.name = name
        self.department = department
        self.unit = unit
        self.standard = standard
        self.frequency = frequency
        self.secret = secret
        self.basis = basis
        self.version = version
        self.firstPeriod = firstPeriod
    }

    /// The frequency, or nil for a program stored before frequencies were checked.
    public var paymentFrequency: PaymentFrequency? { PaymentFrequency(rawValue: frequency) }

    /// The frequency, or `YKT-PROGRAM-FREQUENCY` saying to load the policy list again.
    public func requireFrequency() throws(YKTError) -> PaymentFrequency {
        guard let f = paymentFrequency else {
            throw YKTError(.programFrequency, "项目 \(code) 的发放频次「\(frequency)」不是 每年、每季、每月、一次性 之一",
                           hint: "改正补贴政策清单的发放频次后重新导入（ykt program load）")
        }
        return f
    }

    /// `120.00 元/亩`
    public var standardText: String { "\(standard.yuan) \(unit.chinese)" }
}

extension Program {
    /// The program as it travels in a `policy.version` message.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "code": .string(code), "name": .string(name), "department": .string(department), "unit": .string(unit.rawValue),
            "standardFen": .int(standard.value), "frequency": .string(frequency), "secret": .bool(secret),
            "basis": .string(basis), "version": .int(Int64(version))]
        if let firstPeriod { o["firstPeriod"] = .string(firstPeriod.description) }
        return .object(o)
    }

    public init?(json: JSONValue) {
        guard let code = json["code"]?.stringValue, let name = json["name"]?.stringValue,
              let unit = json["unit"]?.stringValue.flatMap(ProgramUnit.init(rawValue:)),
              let fen = json["standardFen"]?.intValue, fen >= 0, Fen(fen) <= AmountRule.maximumStandard,
              let version = json["version"]?.intValue, case .bool(let secret)? = json["secret"] else { return nil }
        self.init(code: code, name: name, department: json["department"]?.stringValue ?? "", unit: unit, standard: Fen(fen),
                  frequency: json["frequency"]?.stringValue ?? "", secret: secret, basis: json["basis"]?.stringValue ?? "",
                  version: Int(version), firstPeriod: json["firstPeriod"]?.stringValue.flatMap { try? Period(parsing: $0) })
    }
}
