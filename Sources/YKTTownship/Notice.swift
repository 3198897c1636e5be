import YKTCore
import YKTNode

/// A public notice (公示) of applications.
public struct NoticeRecord: Sendable, Codable, Hashable {
    public enum Status: String, Sendable, Codable { case open, closed }

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
