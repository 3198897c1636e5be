import YKTCore
import YKTNode

/// A public notice (公示) of applications, at one of two stages (seed 004; docs/conventions.md,
/// "两级公示"): the village posts the proposed beneficiaries its representative meeting passed,
/// then the township posts the reviewed roster of those the village notice cleared.
public struct NoticeRecord: Sendable, Codable, Hashable {
    public enum Status: String, Sendable, Codable { case open, closed }

    public enum Stage: String, Sendable, Codable, CaseIterable {
        /// 村级拟补贴对象公示: one village, after its representative meeting.
        case village
        /// 乡镇审核后的当期补贴项目发放清册公示: what the village notices cleared.
        case township

        public init(parsing text: String) throws(YKTError) {
            switch text.trimmed.lowercased() {
            case "village", "村", "村级", "村级公示": self = .village
            case "township", "乡镇", "乡镇公示", "镇", "乡": self = .township
            default:
                throw YKTError(.valueInvalid, "公示阶段「\(text)」不认识", at: SourceLocation(field: "--stage"),
                               hint: "填写 村级 或 乡镇（village / township）")
            }
        }

        public var chinese: String { self == .village ? "村级公示" : "乡镇公示" }
        /// The printed title's words.
        public var title: String { self == .village ? "拟补贴对象名单公示" : "审核后补贴项目发放清册公示" }
    }

    public var id: Int64
    public var programCode: String
    public var period: String
    public var place: String
    public var phone: String
    public var postedOn: CivilDate
    public var firstDay: CivilDate
    public var lastDay: CivilDate
    public var earliestClose: CivilDate
    public var status: Status
    public var closedOn: CivilDate?
    public var proofSHA256: String?
    public var version: Int
    public var applicationCount: Int
    public var totalFen: Int64
    public var stage: Stage = .township
    /// The village of a village notice.
    public var village: String? = nil
    /// The representative meeting a village notice names.
    public var meetingID: Int64? = nil
}

/// A villagers' representative meeting (村民代表大会) that evaluated one village's applications
/// for a program and period: when, how many representatives came of how many, and what it
/// decided. A village notice names it.
public struct MeetingRecord: Sendable, Codable, Hashable {
    public var id: Int64
    public var village: String
    public var programCode: String
    public var period: String
    public var heldOn: CivilDate
    public var present: Int
    public var expected: Int
    public var outcome: String
    public var version: Int
}

/// An objection (异议) raised against a line of a notice.
public struct ObjectionRecord: Sendable, Codable, Hashable {
    public enum Status: String, Sendable, Codable {
        case open, upheld, dismissed
        public var chinese: String {
            switch self {
            case .open: "待处理"
            case .upheld: "异议成立"
            case .dismissed: "异议不成立"
            }
        }
    }

    public var id: Int64
    public var noticeID: Int64
    public var applicationID: Int64
    public var residentID: String
    public var name: String
    public var receivedOn: CivilDate
    public var complainant: String
    public var content: String
    public var status: Status
    public var decisionReason: String?
    public var settledOn: CivilDate?
    public var version: Int
}
