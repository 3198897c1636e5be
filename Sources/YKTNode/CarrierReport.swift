import YKTCore

/// `ykt report carriers` (issue 20, item 3; docs/conventions.md, 发放载体): how many residents
/// are paid on social security cards (社会保障卡金融账户), other bank cards and passbooks, by
/// township and village. Counts only: no personal data.
public struct CarrierReport: Sendable, Codable {
    public struct Row: Sendable, Codable, Equatable {
        public var township: String
        public var townshipName: String
        /// Empty in the register section at the county, which holds no village for a resident.
        public var village: String
        public var socialSecurityCard = 0
        public var otherCard = 0
        public var passbook = 0
        public var total = 0

        public init(township: String, townshipName: String, village: String) {
            self.township = township
            self.townshipName = townshipName
            self.village = village
        }

        mutating func add(_ kind: String) {
            switch AccountKind(rawValue: kind) {
            case .socialSecurityCard: socialSecurityCard += 1
            case .passbook: passbook += 1
            default: otherCard += 1
            }
            total += 1
        }

        /// 社保卡占比, one decimal.
        public var share: String {
            guard total > 0 else { return "—" }
            let permille = (socialSecurityCard * 1000 + total / 2) / total
            return "\(permille / 10).\(permille % 10)%"
        }
    }

    /// The period and program the roster section is limited to (nil: every period, every program).
    public var period: String?
    public var program: String?
    /// Residents on rosters not rejected, each once, with the account of their latest line
    /// there (the account the money goes to), by township and village.
    public var rosters: [Row]
    /// Residents in the register (not removed), by the kind of their current designated account.
    public var register: [Row]

    public init(period: String?, program: String?, rosters: [Row], register: [Row]) {
        self.period = period
        self.program = program
        self.rosters = rosters
        self.register = register
    }

    /// Adds one resident's account kind to the row of `key`, keeping rows in key order.
    public static func tally(_ items: [(township: String, name: String, village: String, kind: String)]) -> [Row] {
        var rows: [String: Row] = [:]
        for i in items {
            let key = i.township + "\u{1}" + i.village
            rows[key, default: Row(township: i.township, townshipName: i.name, village: i.village)].add(i.kind)
        }
        return rows.keys.sorted().map { rows[$0]! }
    }

    public static func total(_ rows: [Row]) -> Row {
        var t = Row(township: "", townshipName: "合计", village: "")
        for r in rows {
            t.socialSecurityCard += r.socialSecurityCard
            t.otherCard += r.otherCard
            t.passbook += r.passbook
            t.total += r.total
        }
        return t
    }

    public static let columns = ["乡镇", "村（社区）", "社保卡（人）", "其他银行卡（人）", "存折（人）", "合计（人）", "社保卡占比"]

    public static func cells(_ r: Row) -> [String] {
        [r.townshipName, r.village, String(r.socialSecurityCard), String(r.otherCard), String(r.passbook), String(r.total), r.share]
    }

    /// The CSV (UTF-8 with BOM, for WPS and Excel): both sections, a 范围 column naming which.
    public var csv: String {
        var w = CSVWriter()
        w.row(["范围"] + Self.columns)
        let scope = "清册" + (period.map { " \($0)" } ?? "") + (program.map { " \($0)" } ?? "")
        for r in rosters { w.row([scope] + Self.cells(r)) }
        w.row([scope] + Self.cells(Self.total(rosters)))
        for r in register { w.row(["底册"] + Self.cells(r)) }
        w.row(["底册"] + Self.cells(Self.total(register)))
        return w.text
    }
}
