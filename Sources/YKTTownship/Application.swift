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
    /// Village passed it; waiting for the village notice (村级公示).
    case recorded
    /// Village did not pass it; it never goes on a notice.
    case notPassed = "not_passed"
    /// On an open village notice (村级拟补贴对象公示).
    case inVillageNotice = "in_village_notice"
    /// The village notice closed without an upheld objection: waiting for the township notice.
    case villageCleared = "village_cleared"
    /// On an open township notice (乡镇审核后发放清册公示).
    case inNotice = "in_notice"
    /// Both notices closed without an upheld objection: may go on a roster.
    case cleared
    /// An objection was upheld: it leaves the roster.
    case removed
    /// On a submitted roster.
    case rostered

    public var chinese: String {
        switch self {
        case .recorded: "待村级公示"
        case .notPassed: "村评议未通过"
        case .inVillageNotice: "村级公示中"
        case .villageCleared: "村级公示无异议，待乡镇公示"
        case .inNotice: "乡镇公示中"
        case .cleared: "两级公示无异议"
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
    /// The township notice that listed it.
    public var noticeID: Int64?
    public var version: Int
    /// The village notice that listed it.
    public var villageNoticeID: Int64? = nil
    /// Listed by a notice posted before the two stages existed (set by the upgrade only).
    public var villageLegacy: Bool = false

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
