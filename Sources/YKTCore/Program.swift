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
    /// 发放载体, 发放对象 and 限时办理.
    public var rules: ProgramRules

    public init(code: String, name: String, department: String, unit: ProgramUnit, standard: Fen,
                frequency: String, secret: Bool, basis: String, version: Int, firstPeriod: Period? = nil,
                rules: ProgramRules = .standard) {
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
        self.rules = rules
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
        o.merge(rules.json) { a, _ in a }
        return .object(o)
    }

    public init?(json: JSONValue) {
        guard let code = json["code"]?.stringValue, let name = json["name"]?.stringValue,
              let unit = json["unit"]?.stringValue.flatMap(ProgramUnit.init(rawValue:)),
              let fen = json["standardFen"]?.intValue, fen >= 0, Fen(fen) <= AmountRule.maximumStandard,
              let version = json["version"]?.intValue, case .bool(let secret)? = json["secret"],
              let rules = ProgramRules(json: json) else { return nil }
        self.init(code: code, name: name, department: json["department"]?.stringValue ?? "", unit: unit, standard: Fen(fen),
                  frequency: json["frequency"]?.stringValue ?? "", secret: secret, basis: json["basis"]?.stringValue ?? "",
                  version: Int(version), firstPeriod: json["firstPeriod"]?.stringValue.flatMap { try? Period(parsing: $0) },
                  rules: rules)
    }
}

/// 发放载体 (seeds 000 and 004: 以社会保障卡为载体): which kind of designated account a program
/// may pay onto. `any`: a bank card, a social security card or a passbook; `socialSecurityCard`:
/// only a social security card's financial account (社会保障卡金融账户), a line on any other kind
/// is refused; `socialSecurityCardTransition`: the same rule during the county's transition
/// period, where a line on another kind is paid but warned, with the reason.
public enum CarrierRule: String, Sendable, Codable, CaseIterable {
    case any
    case socialSecurityCard = "social-security-card"
    case socialSecurityCardTransition = "social-security-card-transition"

    public init(parsing text: String) throws(YKTError) {
        switch text.trimmed {
        case "", "any", "不限", "银行卡": self = .any
        case "social-security-card", "社保卡", "社会保障卡": self = .socialSecurityCard
        case "social-security-card-transition", "社保卡（过渡期）", "社保卡(过渡期)", "社保卡过渡期", "社保卡过渡":
            self = .socialSecurityCardTransition
        default:
            throw YKTError(.programInvalid, "发放载体「\(text)」不认识", hint: "填写 不限、社保卡 或 社保卡（过渡期）")
        }
    }

    public var chinese: String {
        switch self {
        case .any: "不限"
        case .socialSecurityCard: "社保卡"
        case .socialSecurityCardTransition: "社保卡（过渡期）"
        }
    }
}

/// 发放对象 (seed 003: 一人（户）一卡): a program paid per person, or once per household onto the
/// household head's designated account.
public enum PayeeUnit: String, Sendable, Codable, CaseIterable {
    case person
    case household

    public init(parsing text: String) throws(YKTError) {
        switch text.trimmed {
        case "", "person", "按人", "人": self = .person
        case "household", "按户", "户": self = .household
        default: throw YKTError(.programInvalid, "发放对象「\(text)」不认识", hint: "填写 按人 或 按户")
        }
    }

    public var chinese: String { self == .person ? "按人" : "按户" }
}

/// 限时办理 (seed 000: 合理确定补贴资金兑付时限要求，实行限时办理): the working days allowed for
/// each step of a roster, per program. The defaults are the county's when its list leaves the
/// column blank (docs/conventions.md).
public struct StepLimits: Sendable, Hashable, Codable {
    /// 乡镇审核: working days from the township notice's close to the roster's submission.
    public var townshipReview: Int
    /// 部门审核: working days from the county's receipt of the roster to the department's review.
    public var departmentReview: Int
    /// 财政审批: working days from the department's review to finance's approval.
    public var financeApproval: Int

    public init(townshipReview: Int, departmentReview: Int, financeApproval: Int) {
        self.townshipReview = townshipReview
        self.departmentReview = departmentReview
        self.financeApproval = financeApproval
    }

    public static let standard = StepLimits(townshipReview: 10, departmentReview: 10, financeApproval: 5)
    /// The most a list may allow for one step (a quarter of a year of working days).
    public static let maximumDays = 60
}

/// A program's rules beyond its standard: carrier, payee and time limits.
public struct ProgramRules: Sendable, Hashable, Codable {
    public var carrier: CarrierRule
    public var payee: PayeeUnit
    public var limits: StepLimits

    public init(carrier: CarrierRule = .any, payee: PayeeUnit = .person, limits: StepLimits = .standard) {
        self.carrier = carrier
        self.payee = payee
        self.limits = limits
    }

    public static let standard = ProgramRules()

    /// As it travels in a program's JSON (`policy.version`): only what differs from the standard.
    var json: [String: JSONValue] {
        var o: [String: JSONValue] = [:]
        if carrier != .any { o["carrier"] = .string(carrier.rawValue) }
        if payee != .person { o["payee"] = .string(payee.rawValue) }
        if limits != .standard {
            o["limits"] = ["townshipReview": .int(Int64(limits.townshipReview)), "departmentReview": .int(Int64(limits.departmentReview)),
                           "financeApproval": .int(Int64(limits.financeApproval))]
        }
        return o
    }

    /// Read from a program's JSON; nil when a field is present but not understood.
    init?(json: JSONValue) {
        self.init()
        if let c = json["carrier"] {
            guard let v = c.stringValue.flatMap(CarrierRule.init(rawValue:)) else { return nil }
            carrier = v
        }
        if let p = json["payee"] {
            guard let v = p.stringValue.flatMap(PayeeUnit.init(rawValue:)) else { return nil }
            payee = v
        }
        if let l = json["limits"] {
            func day(_ key: String) -> Int? {
                guard let v = l[key]?.intValue, v >= 1, v <= Int64(StepLimits.maximumDays) else { return nil }
                return Int(v)
            }
            guard let t = day("townshipReview"), let d = day("departmentReview"), let f = day("financeApproval") else { return nil }
            limits = StepLimits(townshipReview: t, departmentReview: d, financeApproval: f)
        }
    }
}
