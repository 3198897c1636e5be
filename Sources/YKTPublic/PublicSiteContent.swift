import YKTCore

/// What the county publishes on its public site (`ykt publish`), already masked and without
/// any secret (涉密) program: the policy list and its versions, the closed notices, the payment
/// results, the complaint channels. The long lists (a notice's lines, a roster's lines) are
/// not held here but read one notice or roster at a time from a `PublicSiteSource`, so that a
/// county of a million residents is written page by page.
public struct PublicSiteContent: Sendable, Codable {
    /// One program of the policy list in force (补贴政策清单).
    public struct Policy: Sendable, Codable, Hashable {
        public var code: String
        public var name: String
        public var department: String
        /// 元/亩, 元/人·月, …
        public var unit: String
        public var standardFen: Int64
        public var frequency: String
        /// 政策依据.
        public var basis: String
        public var version: Int
        /// The first period of this version ("" when it applies from the start).
        public var firstPeriod: String

        public init(code: String, name: String, department: String, unit: String, standardFen: Int64, frequency: String,
                    basis: String, version: Int, firstPeriod: String) {
            self.code = code
            self.name = name
            self.department = department
            self.unit = unit
            self.standardFen = standardFen
            self.frequency = frequency
            self.basis = basis
            self.version = version
            self.firstPeriod = firstPeriod
        }
    }

    /// One version of one program (标准、单位、频次 as they were), with the list version that
    /// published it and when.
    public struct ProgramVersion: Sendable, Codable, Hashable {
        public var code: String
        public var name: String
        public var version: Int
        public var firstPeriod: String
        public var unit: String
        public var standardFen: Int64
        public var frequency: String
        /// The policy-list version that published it (0: unknown, before versions were kept).
        public var listVersion: Int
        /// When that list version was published ("" when unknown).
        public var publishedAt: String

        public init(code: String, name: String, version: Int, firstPeriod: String, unit: String, standardFen: Int64, frequency: String,
                    listVersion: Int, publishedAt: String) {
            self.code = code
            self.name = name
            self.version = version
            self.firstPeriod = firstPeriod
            self.unit = unit
            self.standardFen = standardFen
            self.frequency = frequency
            self.listVersion = listVersion
            self.publishedAt = publishedAt
        }
    }

    /// A closed notice (公示) of a non-secret program, as the township posted it.
    public struct Notice: Sendable, Codable, Hashable {
        /// The key the source finds its lines by (the county's notice entity).
        public var key: String
        public var township: String
        public var townshipName: String
        public var programCode: String
        public var programName: String
        public var department: String
        public var basis: String
        /// 期次 as stored, and in words.
        public var period: String
        public var periodChinese: String
        /// The quantity's unit (亩, 月, …) and the standard's (元/亩, …).
        public var quantityUnit: String
        public var standardUnit: String
        public var postedOn: String
        public var firstDay: String
        public var lastDay: String
        public var closedOn: String
        public var place: String
        /// The supervision phone printed on the notice (a mobile is masked).
        public var phone: String

        public init(key: String, township: String, townshipName: String, programCode: String, programName: String, department: String,
                    basis: String, period: String, periodChinese: String, quantityUnit: String, standardUnit: String, postedOn: String,
                    firstDay: String, lastDay: String, closedOn: String, place: String, phone: String) {
            self.key = key
            self.township = township
            self.townshipName = townshipName
            self.programCode = programCode
            self.programName = programName
            self.department = department
            self.basis = basis
            self.period = period
            self.periodChinese = periodChinese
            self.quantityUnit = quantityUnit
            self.standardUnit = standardUnit
            self.postedOn = postedOn
            self.firstDay = firstDay
            self.lastDay = lastDay
            self.closedOn = closedOn
            self.place = place
            self.phone = phone
        }
    }

    /// One line of a notice, masked as the township prints it: 村、姓名、身份证号（前六后四）、数量、标准、金额.
    public struct NoticeLine: Sendable, Codable, Hashable {
        public var village: String
        public var name: String
        public var maskedID: String
        public var quantity: String
        public var standardFen: Int64
        public var amountFen: Int64

        public init(village: String, name: String, maskedID: String, quantity: String, standardFen: Int64, amountFen: Int64) {
            self.village = village
            self.name = name
            self.maskedID = maskedID
            self.quantity = quantity
            self.standardFen = standardFen
            self.amountFen = amountFen
        }
    }

    /// An approved roster of a non-secret program whose payments are published (发放结果).
    public struct PaymentRoster: Sendable, Codable, Hashable {
        /// The county's roster number (the source finds its lines by it).
        public var id: Int64
        public var township: String
        public var townshipName: String
        public var programCode: String
        public var programName: String
        public var period: String
        public var periodChinese: String

        public init(id: Int64, township: String, townshipName: String, programCode: String, programName: String, period: String,
                    periodChinese: String) {
            self.id = id
            self.township = township
            self.townshipName = townshipName
            self.programCode = programCode
            self.programName = programName
            self.period = period
            self.periodChinese = periodChinese
        }
    }

    /// One roster line with its latest payment, masked as on the payment-result notice.
    public struct PaymentLine: Sendable, Codable, Hashable {
        public enum Outcome: String, Sendable, Codable { case paid, failed, pending }
        public var lineNo: Int
        public var village: String
        public var name: String
        public var maskedID: String
        public var maskedAccount: String
        public var amountFen: Int64
        public var outcome: Outcome
        /// 已发放 / 补发成功 / 发放失败（原因） / 发放中.
        public var result: String
        /// yyyy-MM-dd of the bank's result ("" while in progress).
        public var date: String

        public init(lineNo: Int, village: String, name: String, maskedID: String, maskedAccount: String, amountFen: Int64,
                    outcome: Outcome, result: String, date: String) {
            self.lineNo = lineNo
            self.village = village
            self.name = name
            self.maskedID = maskedID
            self.maskedAccount = maskedAccount
            self.amountFen = amountFen
            self.outcome = outcome
            self.result = result
            self.date = date
        }
    }

    /// A township's complaint channel.
    public struct Channel: Sendable, Codable, Hashable {
        public var township: String
        public var name: String
        /// "" when the county knows no phone of the township (then the county's number serves).
        public var phone: String

        public init(township: String, name: String, phone: String) {
            self.township = township
            self.name = name
            self.phone = phone
        }
    }

    public var county: String
    public var countyCode: String
    /// yyyy-MM-dd HH:mm:ss, China time.
    public var publishedAt: String
    /// `public_url` of the county's node.conf ("" when not set): the query page is `<publicURL>query`.
    public var publicURL: String
    /// The county's complaint phone (`complaint_phone` in node.conf).
    public var countyPhone: String
    public var policies: [Policy]
    public var programVersions: [ProgramVersion]
    public var notices: [Notice]
    public var payments: [PaymentRoster]
    public var channels: [Channel]

    public init(county: String, countyCode: String, publishedAt: String, publicURL: String, countyPhone: String, policies: [Policy],
                programVersions: [ProgramVersion], notices: [Notice], payments: [PaymentRoster], channels: [Channel]) {
        self.county = county
        self.countyCode = countyCode
        self.publishedAt = publishedAt
        self.publicURL = publicURL
        self.countyPhone = countyPhone
        self.policies = policies
        self.programVersions = programVersions
        self.notices = notices
        self.payments = payments
        self.channels = channels
    }
}

/// Where the site writer reads the long lists, one notice or roster at a time (the county
/// answers from its database snapshot).
public protocol PublicSiteSource {
    func noticeLines(_ notice: PublicSiteContent.Notice) throws -> [PublicSiteContent.NoticeLine]
    func paymentLines(_ roster: PublicSiteContent.PaymentRoster) throws -> [PublicSiteContent.PaymentLine]
}
