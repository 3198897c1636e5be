import Testing
import YKTCore
import YKTDemo
import YKTNode
@testable import YKTTownship

/// Periods follow the program's 发放频次 (docs/conventions.md): at load, at record, at import.
@Suite("Township: periods follow the program's frequency")
struct PeriodFrequencyTests {
    let header = "项目编码,项目名称,主管部门,补贴标准(元),计量单位,发放频次,是否涉密,政策依据,版本,起始期次\n"

    func input(_ who: String, _ program: String, _ period: String, quantity: String = "1") throws -> ApplicationInput {
        ApplicationInput(residentID: try ResidentID(who), programCode: program, period: try Period(parsing: period),
                         quantity: try Quantity(parsing: quantity), villageResult: .passed)
    }

    @Test("a frequency spelled any other way, or missing, is refused at load with file, line and field; nothing is loaded")
    func frequencyRefusedAtLoad() throws {
        let dir = TempDir()
        let node = try Fixture.node(dir)
        let before = try node.programs()
        let file = dir.write("list.csv", header
            + "A1,甲补贴,县民政局,10,元/人,每年,否,,1,\n"
            + "A2,乙补贴,县民政局,10,元/人·月,每季度,否,,1,\n"      // line 3
            + "A3,丙补贴,县民政局,10,元/人·月,,否,,1,\n"            // line 4
            + "A4,丁补贴,县民政局,10,元/人·月,每月,否,,2,2026\n")    // line 5: a first period not in months
        let e = try #require(#expect(throws: YKTError.self) { try node.loadLocalPrograms(path: file) })
        #expect(e.code == .importRejected)
        let bad = e.details.filter { $0.code == .programFrequency }
        #expect(bad.map { $0.location?.line } == [3, 4])
        #expect(bad.allSatisfy { $0.location?.field == "发放频次" && $0.location?.file == "list.csv" })
        #expect(bad[0].message.contains("每季度"))
        let first = try #require(e.details.first { $0.location?.line == 5 })
        #expect(first.code == .periodFrequency && first.location?.field == "起始期次")
        #expect(try node.programs() == before)
        // The four spellings, with first periods in the program's form, load.
        let good = dir.write("good.csv", header
            + "A1,甲补贴,县民政局,10,元/人,每年,否,,1,2026\n" + "A2,乙补贴,县民政局,10,元/人·月,每季,否,,1,2026-Q3\n"
            + "A3,丙补贴,县民政局,10,元/人·月,每月,否,,1,\n" + "A4,丁补贴,县民政局,10,元/人,一次性,否,,1,2026\n")
        let loaded = try node.loadLocalPrograms(path: good)
        #expect(loaded.map(\.paymentFrequency) == [.yearly, .quarterly, .monthly, .once])
        #expect(loaded.map { $0.firstPeriod?.description } == ["2026", "2026-Q3", nil, "2026"])
    }

    @Test("a period whose form is not the program's frequency's is refused, when recorded and when imported")
    func wrongFormRefused() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        for (program, period) in [("GD01", "2026-03"), ("GD01", "2026-Q1"), ("YL01", "2026"), ("YL01", "2026-Q2"), ("TF01", "2026-05")] {
            let e = #expect(throws: YKTError.self) { try node.recordApplication(input(Fixture.alice, program, period)) }
            #expect(e?.code == .periodFrequency, "\(program) \(period)")
        }
        #expect(try node.applications().isEmpty)
        let file = dir.write("apps.csv", "身份证号,项目编码,期次,数量\n\(Fixture.alice),GD01,2026,1\n\(Fixture.bob),YL01,2026,12\n")
        let e = try #require(#expect(throws: YKTError.self) { try node.importApplications(path: file) })
        #expect(e.details.map(\.code) == [.periodFrequency])
        #expect(e.details.first?.location?.line == 3 && e.details.first?.location?.field == "期次")
        #expect(try node.applications().isEmpty)
        #expect(try node.db.integer("SELECT count(*) FROM outbox") == 3)   // the three registrations only
    }

    @Test("an application overlapping one already recorded for the person and program is refused; 一次性 only once")
    func overlapRefused() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        let quarterly = dir.write("q.csv", header + "JD01,季度补贴,县民政局,30,元/人·月,每季,否,,1,\n")
        try node.loadLocalPrograms(path: quarterly)
        try node.recordApplication(input(Fixture.alice, "YL01", "2026-03"))
        try node.recordApplication(input(Fixture.alice, "YL01", "2026-04"))          // another month: fine
        try node.recordApplication(input(Fixture.alice, "JD01", "2026-Q1", quantity: "3"))
        #expect((#expect(throws: YKTError.self) { try node.recordApplication(input(Fixture.alice, "YL01", "2026-03")) })?.code
                == .applicationDuplicate)
        #expect((#expect(throws: YKTError.self) { try node.recordApplication(input(Fixture.alice, "JD01", "2026-Q1", quantity: "3")) })?.code
                == .applicationDuplicate)
        try node.recordApplication(input(Fixture.alice, "JD01", "2026-Q2", quantity: "3"))
        try node.recordApplication(input(Fixture.alice, "GD01", "2026", quantity: "2"))
        try node.recordApplication(input(Fixture.alice, "GD01", "2027", quantity: "2"))     // another year: fine
        try node.recordApplication(input(Fixture.alice, "TF01", "2026"))
        let once = try #require(#expect(throws: YKTError.self) { try node.recordApplication(input(Fixture.alice, "TF01", "2028")) })
        #expect(once.code == .applicationOverlap && once.message.contains("一次性"))
        #expect(!once.message.contains(Fixture.alice))   // masked
        let count = try node.applications().count
        // A program whose list is changed from 每月 to 每年 meets the months already recorded.
        let changed = CountyGenerator.programsCSV.replacingOccurrences(of: "元/人·月,每月,否,国发〔2014〕8号,1", with: "元/人·月,每年,否,国发〔2014〕8号,2")
        try node.loadLocalPrograms(path: dir.write("p2.csv", changed))
        let year = try #require(#expect(throws: YKTError.self) { try node.recordApplication(input(Fixture.alice, "YL01", "2026", quantity: "12")) })
        #expect(year.code == .applicationOverlap && year.message.contains("2026年3月"))
        try node.recordApplication(input(Fixture.alice, "YL01", "2027", quantity: "12"))
        #expect(try node.applications().count == count + 1)
    }

    @Test("an import refuses a line overlapping a recorded application or an earlier line, naming it; nothing is imported")
    func overlapRefusedOnImport() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        try node.recordApplication(input(Fixture.alice, "YL01", "2026-03"))
        try node.recordApplication(input(Fixture.bob, "TF01", "2025"))
        let file = dir.write("apps.csv", "身份证号,项目编码,期次,数量\n"
            + "\(Fixture.carol),GD01,2026,1\n"
            + "\(Fixture.carol),GD01,2027,1\n"
            + "\(Fixture.bob),TF01,2026,1\n"           // line 4: 一次性, recorded for 2025
            + "\(Fixture.carol),TF01,2026,1\n"
            + "\(Fixture.carol),TF01,2027,1\n")        // line 6: 一次性, line 5
        let e = try #require(#expect(throws: YKTError.self) { try node.importApplications(path: file) })
        #expect(e.details.map(\.code) == [.applicationOverlap, .applicationOverlap])
        #expect(e.details.map { $0.location?.line } == [4, 6])
        #expect(e.details.last?.message.contains("第 5 行") == true)
        #expect(try node.applications().count == 2)
    }
}
