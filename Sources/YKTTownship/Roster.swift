import YKTCore
import YKTNode

/// A disbursement roster (发放清册): program × period × township, numbered by batch.
public struct RosterRecord: Sendable, Codable, Hashable {
    public enum Status: String, Sendable, Codable {
        case draft, submitted
        public var chinese: String { self == .draft ? "草稿" : "已报送（冻结）" }
    }

    public var id: Int64
    public var programCode: String
    public var period: String
    public var batch: Int
    public var status: Status
    public var lineCount: Int
    public var totalFen: Int64
    public var createdAt: String
    public var submittedAt: String?
    public var version: Int
    /// Who built it (`roster build`, the station head as clerk): nil for a draft built before
    /// the signers were recorded (it must be rebuilt before it is submitted).
    public var preparedBy: RosterSigner?
    /// Who submitted it (`roster submit`, the township leader); nil while a draft.
    public var submittedBy: RosterSigner?
}

/// One of the two people who sign a roster's summary table (汇总表): the operator's login and
/// their name as their account gives it.
public struct RosterSigner: Sendable, Codable, Hashable {
    public var login: String
    public var name: String

    public init(login: String, name: String) {
        self.login = login
        self.name = name
    }

    /// 「韦建华（weijh）」
    public var description: String { name == login ? login : "\(name)（\(login)）" }

    /// The operation's form: `{"login": …, "name": …}`.
    public var json: JSONValue { ["login": .string(login), "name": .string(name)] }
}

/// One line of a roster: a snapshot of the person, the account and the amount when it was built.
public struct RosterLine: Sendable, Codable, Hashable {
    public var lineNo: Int
    public var applicationID: Int64
    public var residentID: String
    public var name: String
    public var village: String
    public var bank: String
    public var accountKind: AccountKind
    public var accountNumber: String
    public var quantity: String
    public var amountFen: Int64
}
