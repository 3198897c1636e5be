import Foundation
import YKTCore

/// Generates a realistic county for demos, tests and benchmarks: a policy list, townships and
/// villages with Chinese names, residents with valid IDs (correct check digits), designated
/// accounts (cards pass Luhn), and applications. Defects can be planted on request.
public struct CountyGenerator: Sendable {
    public enum Defect: String, Sendable, CaseIterable {
        /// The ID's last character is wrong.
        case checkDigit = "checkdigit"
        /// The card number repeats another resident's (no reason given).
        case sharedAccount = "shared-account"
        /// The card number fails Luhn.
        case badCard = "bad-card"
        /// The name is empty.
        case missingName = "missing-name"
        /// A line repeats an earlier resident.
        case duplicate = "duplicate"
        /// The ID's birth date does not exist (month 13).
        case badBirthDate = "bad-birthdate"

        public static func parse(_ text: String) throws(YKTError) -> [Defect: Int] {
            var out: [Defect: Int] = [:]
            for part in text.split(separator: ",") {
                let kv = part.split(separator: "=")
                guard let d = Defect(rawValue: String(kv[0]).trimmed) else {
                    throw YKTError(.usageValue, "错误种类「\(kv[0])」不认识",
                                   hint: "可用：" + Defect.allCases.map(\.rawValue).joined(separator: "、"))
                }
                let n = kv.count > 1 ? Int(kv[1]) : 1
                guard let n, n >= 0 else { throw YKTError(.usageValue, "「\(part)」的行数应为非负整数") }
                out[d] = n
            }
            return out
        }
    }

    public struct Options: Sendable {
        public var seed: UInt64 = 1
        public var countyCode = "450223"
        public var countyName = "鹿寨县"
        public var townships = 3
        public var villagesPerTownship = 4
        public var peoplePerVillage = 25
        public var period = try! Period(parsing: "2026")
        /// Planted in the first township's register.
        public var defects: [Defect: Int] = [:]
        /// Write registers in GB18030 (as WPS/Excel save "CSV" on Chinese Windows) instead of UTF-8 with BOM.
        public var gb18030 = false
        public var withApplications = true
        public init() {}
    }

    public struct Township: Sendable {
        public var code: String
        public var name: String
        public var villages: [String]
    }

    public let options: Options
    public init(options: Options) { self.options = options }

    static let townshipNames = ["寨沙镇", "中渡镇", "平山镇", "黄冕镇", "四排镇", "江口乡", "导江乡", "拉沟乡", "鹿寨镇"]
    static let villageRoots = ["大塘", "石门", "龙江", "古木", "新村", "长岭", "马鞍", "黄竹", "白沙", "东安", "三合",
                               "凤凰", "清水", "桐木", "六合", "杨柳", "石榴", "雅瑶", "英山", "板洞", "里仁", "高岩",
                               "洛江", "大岩", "民乐", "沙坪", "新华", "福田", "江头", "枫木"]
    static let surnames = Array("韦覃黄蓝莫李张王陈刘杨梁廖罗潘吴周谢卢蒙农欧何赵钟")
    static let given = Array("秀英丽华建国明军桂芳海燕文志强玉兰德福春梅立新金凤永红小平家豪宏伟翠云振东秋菊晓光少华美玲")
    static let banks: [(name: String, prefix: String, length: Int)] = [
        ("广西农村信用社", "623018", 19), ("中国农业银行", "622848", 19), ("中国邮政储蓄银行", "621799", 19),
    ]

    public static let programsCSV = """
    项目编码,项目名称,主管部门,补贴标准(元),计量单位,发放频次,是否涉密,政策依据,版本,发放载体,发放对象
    GD01,耕地地力保护补贴,县农业农村局,112.35,元/亩,每年,否,财农〔2016〕26号,1,,按人
    TZ01,糖料蔗良种补贴,县农业农村局,150.00,元/亩,每年,否,桂农厅发〔2023〕12号,1,,按人
    YL01,城乡居民基础养老金,县人力资源和社会保障局,163.00,元/人·月,每月,否,国发〔2014〕8号,1,社保卡（过渡期）,按人
    GL01,高龄津贴,县民政局,100.00,元/人·月,每月,否,桂民发〔2019〕21号,1,,按人
    CJ01,残疾人两项补贴,县残疾人联合会,90.00,元/人·月,每月,否,国发〔2015〕52号,1,,按人
    TF01,特殊对象生活补助,县民政局,300.00,元/人,一次性,是,内部文件,1,,按人
    GY01,生态公益林补偿,县林业局,15.75,元/亩,每年,否,财农〔2020〕10号,1,,按户

    """

    public var townships: [Township] {
        (0..<options.townships).map { t in
            Township(code: options.countyCode + String(format: "%03d", 101 + t),
                     name: Self.townshipNames[t % Self.townshipNames.count] + (t >= Self.townshipNames.count ? "\(t / Self.townshipNames.count + 1)" : ""),
                     villages: (0..<options.villagesPerTownship).map { v in
                         let i = (t * options.villagesPerTownship + v)
                         return Self.villageRoots[i % Self.villageRoots.count] + (i >= Self.villageRoots.count ? "\(i / Self.villageRoots.count + 1)" : "") + "村"
                     })
        }
    }

    /// One generated resident.
    public struct Person: Sendable {
        public var name: String
        public var residentID: String
        public var village: String
        public var household: String
        public var phone: String
        public var bank: String
        public var kind: String
        public var account: String
        public var confirmation: String
        public var age: Int
        /// The household head (户主): the first of each household.
        public var head = false
    }

    /// Generates the people of one township (deterministic for the seed and township index).
    public func people(of township: Township, index: Int, ids: inout Set<String>, cards: inout Set<String>) -> [Person] {
        var rng = SplitMix64(seed: options.seed &* 1_000_003 &+ UInt64(index))
        var out: [Person] = []
        out.reserveCapacity(township.villages.count * options.peoplePerVillage)
        let year = options.period.year
        var serial = 0
        var households = 0   // 户号 are the township's: numbered on across its villages
        for village in township.villages {
            for p in 0..<options.peoplePerVillage {
                serial += 1
                if p % 3 == 0 { households += 1 }
                let surname = Self.surnames[Int(rng.next() % UInt64(Self.surnames.count))]
                var name = String(surname)
                for _ in 0..<(rng.next() % 4 == 0 ? 1 : 2) { name.append(Self.given[Int(rng.next() % UInt64(Self.given.count))]) }
                let age = 18 + Int(rng.next() % 78)
                var id: String
                repeat {
                    let birthYear = year - age
                    let month = 1 + Int(rng.next() % 12)
                    let day = 1 + Int(rng.next() % UInt64(CivilDate.daysIn(month: month, year: birthYear)))
                    let region = rng.next() % 10 < 8 ? options.countyCode : ["450221", "450222", "450224"][Int(rng.next() % 3)]
                    let seq = Int(rng.next() % 1000)
                    id = ResidentID.completing(region + String(format: "%04d%02d%02d%03d", birthYear, month, day, seq))
                } while !ids.insert(id).inserted
                let bank = Self.banks[Int(rng.next() % UInt64(Self.banks.count))]
                // One draw decides the kind (the sequence stays as it was before kinds were three):
                // 1 in 20 a passbook; of the cards, 4 in 5 the social security card's financial
                // account (seeds 000, 004: the carrier), the rest another bank card.
                let draw = rng.next()
                let passbook = draw % 20 == 0
                let kind = passbook ? "存折" : (draw / 20) % 5 == 0 ? "银行卡" : "社保卡"
                var account: String
                repeat {
                    if passbook {
                        account = (0..<20).map { _ in String(rng.next() % 10) }.joined()
                    } else {
                        let body = bank.prefix + (0..<(bank.length - bank.prefix.count - 1)).map { _ in String(rng.next() % 10) }.joined()
                        account = AccountNumber.completingLuhn(body)
                    }
                } while !cards.insert(account).inserted
                let phone = "1" + ["3", "5", "7", "8", "9"][Int(rng.next() % 5)] + (0..<9).map { _ in String(rng.next() % 10) }.joined()
                out.append(Person(name: name, residentID: id, village: village,
                                  household: "\(township.code)\(String(format: "%03d", households))",
                                  phone: rng.next() % 10 == 0 ? "" : phone, bank: bank.name,
                                  kind: kind, account: account,
                                  confirmation: "QR\(township.code.suffix(3))-\(String(format: "%05d", serial))", age: age,
                                  head: p % 3 == 0))
            }
        }
        return out
    }

    /// The register CSV for `people`, with defects planted when asked.
    public func registerCSV(_ people: [Person], defects: [Defect: Int], seed: UInt64) -> (text: String, defective: Set<Int>) {
        var rows: [[String]] = people.map {
            [$0.name, $0.residentID, $0.village, $0.household, $0.phone, $0.bank, $0.kind, $0.account, $0.confirmation, "",
             $0.head ? "是" : "否"]
        }
        var rng = SplitMix64(seed: seed ^ 0xDEFEC7)
        var defective: Set<Int> = []
        var reserved: Set<Int> = [0]   // row 0 lends its account to the shared-account defect
        func pick(withPrevious: Bool) -> Int? {
            for _ in 0..<(rows.count * 4) {
                let i = 1 + Int(rng.next() % UInt64(max(1, rows.count - 1)))
                guard i < rows.count, !defective.contains(i), !reserved.contains(i), people[i].kind != "存折" else { continue }
                // A duplicate copies the line before it, which must stay good.
                if withPrevious && (defective.contains(i - 1) || i - 1 == 0) { continue }
                defective.insert(i)
                if withPrevious { reserved.insert(i - 1) }
                return i
            }
            return nil
        }
        for defect in Defect.allCases {
            for _ in 0..<(defects[defect] ?? 0) {
                guard let i = pick(withPrevious: defect == .duplicate) else { break }
                switch defect {
                case .checkDigit:
                    let id = rows[i][1]
                    let last = id.last!
                    let replacement: Character = last == "X" ? "0" : (last == "9" ? "X" : Character(String((Int(String(last))! + 1) % 10)))
                    rows[i][1] = String(id.dropLast()) + String(replacement)
                case .sharedAccount:
                    rows[i][7] = rows[0][7]
                    rows[i][6] = rows[0][6]
                case .badCard:
                    let acct = rows[i][7]
                    let last = Int(String(acct.last!))!
                    rows[i][7] = String(acct.dropLast()) + String((last + 1) % 10)
                case .missingName:
                    rows[i][0] = ""
                case .duplicate:
                    rows[i] = rows[i - 1]
                case .badBirthDate:
                    var chars = Array(rows[i][1])
                    chars[10] = "1"
                    chars[11] = "3"
                    rows[i][1] = ResidentID.completing(String(chars.prefix(17)))
                }
            }
        }
        var w = CSVWriter()
        w.row(["姓名", "身份证号", "村（社区）", "户号", "联系电话", "开户银行", "账户类型", "账号", "确认书编号", "共用账户理由", "户主"])
        for r in rows { w.row(r) }
        return (w.text, defective)
    }

    /// Applications for the people (a share of each program, as a county would see them).
    public func applicationsCSV(_ people: [Person], skipping: Set<Int>, seed: UInt64) -> String {
        var rng = SplitMix64(seed: seed ^ 0xA5A5)
        var forest = SplitMix64(seed: seed ^ 0x6779)   // its own stream: the other programs' draws stay as they were
        var w = CSVWriter()
        w.row(["身份证号", "姓名", "项目编码", "期次", "数量", "村评议结果", "备注"])
        // Periods follow each program's 发放频次: the year for 每年 and 一次性, a month for 每月
        // (the month given, or January of the year given; one month each).
        let period = "\(options.period.year)"
        let month = options.period.kind == .month ? options.period.description : "\(options.period.year)-01"
        for (i, p) in people.enumerated() where !skipping.contains(i) {
            let result = rng.next() % 50 == 0 ? "不通过" : "通过"
            if p.age >= 60 { w.row([p.residentID, p.name, "YL01", month, "1", "通过", ""]) }
            if p.age >= 80 { w.row([p.residentID, p.name, "GL01", month, "1", result, ""]) }
            if rng.next() % 2 == 0 {
                let mu = 50 + Int(rng.next() % 1150)   // 0.50 – 11.99 亩
                w.row([p.residentID, p.name, "GD01", period, "\(mu / 100).\(String(format: "%02d", mu % 100))", result,
                       result == "通过" ? "" : "承包地已流转"])
            }
            if rng.next() % 10 == 0 {
                let mu = 100 + Int(rng.next() % 2000)
                w.row([p.residentID, p.name, "TZ01", period, "\(mu / 100).\(String(format: "%02d", mu % 100))", "通过", ""])
            }
            if rng.next() % 33 == 0 { w.row([p.residentID, p.name, "CJ01", month, "1", "通过", ""]) }
            if rng.next() % 50 == 0 { w.row([p.residentID, p.name, "TF01", period, "1", "通过", ""]) }
            // 生态公益林补偿 is paid per household (按户): the head applies, for the household's forest.
            if p.head && forest.next() % 4 == 0 {
                let mu = 100 + Int(forest.next() % 3000)
                w.row([p.residentID, p.name, "GY01", period, "\(mu / 100).\(String(format: "%02d", mu % 100))", "通过", ""])
            }
        }
        return w.text
    }

    /// Writes `programs.csv`, `townships.csv` and per township `<code>-register.csv` and
    /// `<code>-applications.csv` into `directory`. Returns the paths written.
    public func write(to directory: String) throws(YKTError) -> [String] {
        var written: [String] = []
        func put(_ name: String, _ text: String, gb: Bool = false) throws(YKTError) {
            let path = (directory as NSString).appendingPathComponent(name)
            var bytes = Array(text.utf8)
            if gb {
                if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
                bytes = try TextDecoding.encodeGB18030(bytes)
            }
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                throw YKTError(.fileWrite, "不能写入：\(error.localizedDescription)", at: SourceLocation(file: path))
            }
            written.append(path)
        }
        try put("programs.csv", "\u{FEFF}" + Self.programsCSV.replacingOccurrences(of: "\n", with: "\r\n"))
        var list = CSVWriter()
        list.row(["乡镇代码", "乡镇名称", "村（社区）"])
        for t in townships { list.row([t.code, t.name, t.villages.joined(separator: "、")]) }
        try put("townships.csv", list.text)
        var ids: Set<String> = []
        var cards: Set<String> = []
        for (i, t) in townships.enumerated() {
            let people = people(of: t, index: i, ids: &ids, cards: &cards)
            let reg = registerCSV(people, defects: i == 0 ? options.defects : [:], seed: options.seed &+ UInt64(i))
            try put("\(t.code)-register.csv", reg.text, gb: options.gb18030)
            if options.withApplications {
                try put("\(t.code)-applications.csv", applicationsCSV(people, skipping: reg.defective, seed: options.seed &+ UInt64(i)))
            }
        }
        return written
    }
}
