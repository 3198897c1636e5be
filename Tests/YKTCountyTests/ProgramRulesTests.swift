import Foundation
import Testing
import YKTCore
import YKTNode
import YKTTestSupport
@testable import YKTCounty
@testable import YKTTownship

@Suite("Policy list: each program's carrier, payee and time limits travel from the county to the townships")
struct ProgramRulesTests {
    static let header = "项目编码,项目名称,主管部门,补贴标准(元),计量单位,发放频次,是否涉密,政策依据,版本,发放载体,发放对象,乡镇审核时限(工作日),部门审核时限(工作日),财政审批时限(工作日)\n"

    @Test("the columns are read, published, sent down and kept; blank columns are the documented defaults")
    func roundTrip() throws {
        let c = try County(["450223101"])
        let list = c.dir.sub("data/rules.csv")
        try (Self.header + """
            GD01,耕地地力保护补贴,县农业农村局,112.35,元/亩,每年,否,财农〔2016〕26号,2,不限,按户,8,12,3
            YL01,城乡居民基础养老金,县人力资源和社会保障局,163.00,元/人·月,每月,否,国发〔2014〕8号,2,社保卡,按人,,,
            GL01,高龄津贴,县民政局,100.00,元/人·月,每月,否,桂民发〔2019〕21号,2,社保卡（过渡期）,,,,
            """).write(toFile: list, atomically: true, encoding: .utf8)
        try c.county.publishPolicy(path: list)
        let county = Dictionary(uniqueKeysWithValues: try c.county.programs().map { ($0.program.code, $0.program.rules) })
        #expect(county["GD01"] == ProgramRules(carrier: .any, payee: .household,
                                               limits: StepLimits(townshipReview: 8, departmentReview: 12, financeApproval: 3)))
        #expect(county["YL01"] == ProgramRules(carrier: .socialSecurityCard, payee: .person, limits: .standard))
        #expect(county["GL01"]?.carrier == .socialSecurityCardTransition)
        #expect(StepLimits.standard == StepLimits(townshipReview: 10, departmentReview: 10, financeApproval: 5))

        let t = c.townships["450223101"]!
        #expect(try c.pull("450223101") > 0)
        #expect(try t.program("GD01").rules == county["GD01"])
        #expect(try t.program("YL01").rules.carrier == .socialSecurityCard)
        #expect(try t.program("GL01").rules == county["GL01"])
        // Programs not in this list keep the rules they had (the demo list's: the defaults).
        #expect(try t.program("TZ01").rules == .standard)
    }

    @Test("a bad carrier, payee or time limit is refused with its line and column, and nothing is published")
    func refused() throws {
        let c = try County(["450223101"])
        let before = try c.county.policyVersion()
        let list = c.dir.sub("data/bad.csv")
        try (Self.header + """
            GD01,耕地地力保护补贴,县农业农村局,112.35,元/亩,每年,否,财农〔2016〕26号,2,邮政卡,按人,,,
            YL01,城乡居民基础养老金,县人力资源和社会保障局,163.00,元/人·月,每月,否,国发〔2014〕8号,2,,按村,,,
            GL01,高龄津贴,县民政局,100.00,元/人·月,每月,否,桂民发〔2019〕21号,2,,,0,61,两天
            """).write(toFile: list, atomically: true, encoding: .utf8)
        let e = #expect(throws: YKTError.self) { try c.county.publishPolicy(path: list) }
        let details = e?.details ?? []
        func at(_ line: Int, _ field: String, saying word: String) -> Bool {
            details.contains { $0.location?.line == line && $0.location?.field == field && $0.message.contains(word) }
        }
        #expect(at(2, "发放载体", saying: "邮政卡"))
        #expect(at(3, "发放对象", saying: "按村"))
        #expect(at(4, "乡镇审核时限(工作日)", saying: "「0」"))
        #expect(at(4, "部门审核时限(工作日)", saying: "「61」"))
        #expect(at(4, "财政审批时限(工作日)", saying: "「两天」"))
        #expect(details.count == 5)
        #expect(try c.county.policyVersion() == before)
    }

    @Test("a program's JSON carries only rules that differ from the standard, and a rule it does not know is refused")
    func json() throws {
        let plain = Program(code: "A", name: "甲", department: "部门", unit: .perPerson, standard: Fen(100), frequency: "每年",
                            secret: false, basis: "", version: 1)
        #expect(plain.json["carrier"] == nil && plain.json["payee"] == nil && plain.json["limits"] == nil)
        #expect(Program(json: plain.json) == plain)
        var ruled = plain
        ruled.rules = ProgramRules(carrier: .socialSecurityCard, payee: .household,
                                   limits: StepLimits(townshipReview: 3, departmentReview: 4, financeApproval: 5))
        #expect(Program(json: ruled.json) == ruled)
        guard case .object(var o) = ruled.json else { Issue.record("not an object"); return }
        o["carrier"] = .string("gold-card")
        #expect(Program(json: .object(o)) == nil)
        o["carrier"] = .string("any")
        o["limits"] = ["townshipReview": 0, "departmentReview": 4, "financeApproval": 5]
        #expect(Program(json: .object(o)) == nil)
    }
}
