import YKTCore
import YKTNode

/// 村评议结果
public enum VillageResult: String, Sendable, Codable {
    case passed
    case failed

    public init(parsing text: String) throws(YKTError) {
        switch text.trimmed.lowercased() {
        case "passed", "通过", "同意", "是", "": self = .passed
        case "failed", "不通过", "未通过", "不同意", "否": self = .failed
        default: throw YKTError(.valueInvalid, "村评议结果「\(text)」不认识", hint: "填写 通过 或 不通过")
        }
    }

    public var chinese: String { self == .passed ? "通过" : "不通过" }
}

/// Where an application stands.
public enum ApplicationStatus: String, Sendable, Codable, CaseIterable {
    /// Village passed it; waiting for a notice.
    case recorded
    /// Village did not pass it; it never goes on a notice.
    case notPassed = "not_passed"
    /// On an open notice.
    case inNotice = "in_notice"
    /// Notice closed without an upheld objection: may go on a roster.
    case cleared
    /// An objection was upheld: it leaves the roster.
    case removed
    /// On a submitted roster.
    case rostered

    public var chinese: String {
        switch self {
        case .recorded: "待公示"
        case .notPassed: "村评议未通过"
        case .inNotice: "公示中"
        case .cleared: "公示无异议"
        case .removed: "异议成立已剔除"
        case .rostered: "已编入清册"
        }
    }
}

/// An application: beneficiary × program × period, with quantity and computed amount.
public struct ApplicationRecord: Sendable, Codable, Hashable {
    public var id: Int64
    public var residentID: String
    public var name: String
    public var village: String
    public var programCode: String
    public var period: String
    public var quantity: String
    public var standardFen: Int64
    public var amountFen: Int64
    public var villageResult: VillageResult
    public var villageNote: String
    public var status: ApplicationStatus
    public var noticeID: Int64?
    public var version: Int

    public var entity: String { "application/\(residentID)/\(programCode)/\(period)" }
}

/// What a clerk enters for one application.
public struct ApplicationInput: Sendable, Hashable {
    public var residentID: ResidentID
    public var programCode: String
    public var period: Period
    public var quantity: Quantity
    public var villageResult: VillageResult
    public var note: String

    public init(residentID: ResidentID, programCode: String, period: Period, quantity: Quantity,
                villageResult: VillageResult, note: String = "") {
        self.residentID = residentID
        self.programCode = programCode
        self.period = period
        self.quantity = quantity
        self.villageResult = villageResult
        self.note = note
    }
}
