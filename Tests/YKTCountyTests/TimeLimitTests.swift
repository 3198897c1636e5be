import Foundation
import Testing
import YKTCore
import YKTNode
import YKTTestSupport
@testable import YKTCounty
@testable import YKTTownship

/// 限时办理 (issue 20, item 5; seed 000): each step's clock on the county's working-day calendar,
/// shown by `ykt status` at both nodes and counted by the monthly report (docs/conventions.md).
@Suite("time limits per step (限时办理)")
struct TimeLimitTests {
    static func d(_ s: String) -> CivilDate { try! CivilDate(parsing: s) }
    static let calendar = WorkCalendar.builtIn

    static func clock(_ start: String, _ limit: Int, finished: String? = nil, today: String) throws -> StepClock {
        try StepClock(step: .townshipReview, start: d(start), limit: limit, finished: finished.map(d), today: d(today), calendar: calendar)
    }

    @Test("due dates count the start day as day 1, skip weekends and holidays, and count make-up working days")
    func dueDates() throws {
        // National Day 2026: 9-30 (1), 10-8 (2), 10-9 (3), Saturday 10-10 make-up (4), 10-12 (5).
        #expect(try Self.clock("2026-09-30", 5, today: "2026-09-30").due == Self.d("2026-10-12"))
        // Started on a holiday: the first working day after it is day 1.
        #expect(try Self.clock("2026-10-01", 1, today: "2026-10-01").due == Self.d("2026-10-08"))
        // Spring Festival: 2-12, 2-13, Saturday 2-14 (make-up), 2-24 … 2-27, Saturday 2-28 (make-up), 3-2, 3-3.
        #expect(try Self.clock("2026-02-12", 10, today: "2026-02-12").due == Self.d("2026-03-03"))
        // An ordinary weekend: Thursday + 3 working days is Monday.
        #expect(try Self.clock("2026-11-19", 3, today: "2026-11-19").due == Self.d("2026-11-23"))
        // A year the county has not published is never guessed.
        let e = #expect(throws: YKTError.self) { try Self.clock("2026-12-28", 10, today: "2026-12-28") }
        #expect(e?.code == .calendarNoData)
    }

    @Test("waiting, due (today or the next working day), overdue from the first working day after the due date")
    func states() throws {
        // Due Monday 10-12 (above).
        var c = try Self.clock("2026-09-30", 5, today: "2026-10-09")
        #expect(c.state == .waiting && c.workingDaysLeft == 2)          // 10-10 (make-up), 10-12
        c = try Self.clock("2026-09-30", 5, today: "2026-10-10")
        #expect(c.state == .due && c.workingDaysLeft == 1)
        c = try Self.clock("2026-09-30", 5, today: "2026-10-12")
        #expect(c.state == .due && c.workingDaysLeft == 0 && c.summary.contains("今天"))
        c = try Self.clock("2026-09-30", 5, today: "2026-10-14")
        #expect(c.state == .overdue && c.workingDaysOver == 2 && c.summary.contains("已逾期 2 个工作日"))
        // Due Friday 11-20: the weekend after it is not yet overdue; Monday is.
        #expect(try Self.clock("2026-11-16", 5, today: "2026-11-21").state == .due)
        #expect(try Self.clock("2026-11-16", 5, today: "2026-11-23").workingDaysOver == 1)
        // Finished: on time up to the due date (and on the rest days right after it), late after.
        #expect(try Self.clock("2026-11-16", 5, finished: "2026-11-20", today: "2026-12-01").state == .onTime)
        #expect(try Self.clock("2026-11-16", 5, finished: "2026-11-22", today: "2026-12-01").state == .onTime)
        c = try Self.clock("2026-11-16", 5, finished: "2026-11-24", today: "2026-12-01")
        #expect(c.state == .late && c.workingDaysOver == 2)
    }

    /// One township, GD01 with its own limits (township 3, department 2, finance 1 working days),
    /// a notice posted 2026-09-30 and closed 2026-10-13, three residents on it.
    struct Scene {
        let c: County
        var county: CountyNode { c.county }
        var town: TownshipNode { c.townships["450223101"]! }

        init() throws {
            c = try County(["450223101"])
            let list = c.dir.sub("data/limits.csv")
            try (ProgramRulesTests.header + """
                GD01,耕地地力保护补贴,县农业农村局,112.35,元/亩,每年,否,财农〔2016〕26号,2,,,3,2,1
                """).write(toFile: list, atomically: true, encoding: .utf8)
            try c.county.publishPolicy(path: list)
            _ = try c.pull("450223101")
            let t = c.townships["450223101"]!
            for (i, p) in ["45022319500101123", "45022319620315456", "45022319800707078"].enumerated() {
                let id = ResidentID.completing(p)
                try register(t, id, ["韦秀英", "覃建国", "黄丽华"][i], card: AccountNumber.completingLuhn("62284800000000000\(i + 1)"))
                try apply(t, id, "GD01", quantity: "1")
            }
            try t.passVillageNotices(program: "GD01", posted: "2026-09-21", closed: "2026-09-29")
            t.at("2026-09-30")
            let n = try t.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2026-09-30"),
                                     place: "公开栏", phone: "0772-6812345")
            t.at("2026-10-13")
            try t.closeNotice(n.id, on: d("2026-10-13"))
            at("2026-10-13")
            _ = try c.push("450223101")
            try county.actAs("reviewer", .reviewer("GD01"))
            try county.actAs("approver", .approver)
            try county.setBudget(program: "GD01", period: try Period(parsing: "2026"), amount: try Fen(yuan: "100000"))
            try county.actAs(TestOperators.administrator)
            try county.addBank(code: "ABC", name: "农行", serves: [], folder: c.dir.sub("bank-ABC"), agreement: Loop.agreement)
        }

        /// Both nodes' clocks at `day`, 10:00 China time.
        func at(_ day: String) {
            town.at(day)
            let instant = d(day).instantInChina(hour: 10)
            county.now = { instant }
        }

        func steps(_ day: String) throws -> [TimedStep] { try county.status(today: d(day)).timeLimits }
    }

    @Test("the county and the township show each step due and overdue, with the program's own limits, until it is done")
    func alongTheRoster() throws {
        let s = try Scene()
        // Township review: from the close (10-13), 3 working days → due 10-15.
        var steps = try s.steps("2026-10-13")
        let within = try s.county.status(today: Self.d("2026-10-13")).stepsWithinLimit
        #expect(steps.isEmpty && within == 1)
        steps = try s.steps("2026-10-14")
        #expect(steps.map(\.clock.state) == [.due] && steps[0].clock.due == Self.d("2026-10-15"))
        steps = try s.steps("2026-10-16")
        #expect(steps.count == 1 && steps[0].clock.step == .townshipReview && steps[0].clock.state == .overdue)
        #expect(steps[0].clock.workingDaysOver == 1 && steps[0].township == "450223101" && steps[0].roster == nil)
        #expect(steps[0].clock.limit == 3 && steps[0].clock.start == Self.d("2026-10-13"))
        // The township sees its own review overdue too.
        let own = try s.town.status(today: Self.d("2026-10-16")).timeLimits
        #expect(own.map(\.clock.step) == [.townshipReview] && own[0].clock.state == .overdue && own[0].subject.hasPrefix("公示"))

        // Built on Friday 10-16 (a draft: still the township's review, now on the roster), submitted Monday 10-19.
        s.at("2026-10-16")
        let roster = try s.town.buildRoster(program: "GD01", period: try Period(parsing: "2026"))
        let draft = try s.town.status(today: Self.d("2026-10-16")).timeLimits
        #expect(draft.count == 1 && draft[0].roster == roster.id && draft[0].clock.state == .overdue)
        s.at("2026-10-19")
        try s.town.submitAsLeader(roster.id)
        _ = try s.c.push("450223101")
        let all = try s.county.timedSteps(asOf: Self.d("2026-10-19"))
        let township = try #require(all.first { $0.clock.step == .townshipReview })
        #expect(all.filter { $0.clock.step == .townshipReview }.count == 1)
        #expect(township.clock.state == .late && township.clock.workingDaysOver == 2)   // 10-16, 10-19
        // Department review: from receipt (10-19), 2 working days → due 10-20.
        steps = try s.steps("2026-10-19")
        #expect(steps.map(\.clock.step) == [.departmentReview] && steps.map(\.clock.state) == [.due])
        steps = try s.steps("2026-10-21")
        #expect(steps.count == 1 && steps[0].clock.state == .overdue && steps[0].clock.due == Self.d("2026-10-20"))
        let countyID = try #require(steps[0].roster)
        // The day the notice behind it closed is kept with the roster when received, equal to
        // what its lines say (the time limits read it there, not from every line).
        let kept = try s.county.db.first("SELECT notices_closed_on FROM roster WHERE id = ?", countyID) { $0.optionalText(0) } ?? nil
        let fromLines = try s.county.noticesClosedOn(roster: countyID)
        #expect(kept != nil && kept != "" && kept == fromLines)
        s.at("2026-10-22")
        try s.county.become("reviewer")
        try s.county.review(countyID, approve: true, reason: "")
        // The township learns it from the county's messages.
        _ = try s.c.pull("450223101")
        let known = try s.town.timedSteps(on: Self.d("2026-10-23"))
        #expect(known.first { $0.clock.step == .departmentReview }?.clock.state == .late)
        #expect(known.first { $0.clock.step == .financeApproval }?.clock.state == .overdue)
        // Finance approval: from the review (10-22), 1 working day → due 10-22; approved 11-02.
        steps = try s.steps("2026-10-23")
        #expect(steps.map(\.clock.step) == [.financeApproval] && steps[0].clock.workingDaysOver == 1)
        s.at("2026-11-02")
        try s.county.become("approver")
        try s.county.approve([countyID])
        #expect(try s.steps("2026-11-02").isEmpty)
        #expect(try s.county.status(today: Self.d("2026-11-02")).stepsWithinLimit == 0)

        // The monthly report: October finished the township and department reviews late and
        // ended with the approval overdue; November finished the approval late.
        let october = try s.county.stepTallies(month: try Period(parsing: "2026-10"))
        #expect(october.map(\.late) == [1, 1, 0] && october.map(\.onTime) == [0, 0, 0] && october.map(\.overdue) == [0, 0, 1])
        let november = try s.county.stepTallies(month: try Period(parsing: "2026-11"))
        #expect(november.map(\.late) == [0, 0, 1] && november.map(\.overdue) == [0, 0, 0])
        let paths = try s.county.printMonthlyReport(month: try Period(parsing: "2026-10"), into: s.c.dir.path,
                                                    printedOn: Self.d("2026-11-02"))
        let html = try String(contentsOfFile: paths.html, encoding: .utf8)
        #expect(html.contains("乡镇审核本月按时办结 0 件、超时办结 1 件、月末逾期未办 0 件"))
        #expect(html.contains("财政审批本月按时办结 0 件、超时办结 0 件、月末逾期未办 1 件"))
        let csv = try String(contentsOfFile: paths.csv, encoding: .utf8)
        #expect(csv.contains("限时办理：部门审核,按时办结（件）,0,超时办结（件）,1,月末逾期未办（件）,0"))
    }

    @Test("a returned roster's township review runs again from the day it was returned")
    func returned() throws {
        let s = try Scene()
        s.at("2026-10-14")
        let roster = try s.town.buildRoster(program: "GD01", period: try Period(parsing: "2026"))
        try s.town.submitAsLeader(roster.id)
        _ = try s.c.push("450223101")
        s.at("2026-10-15")
        try s.county.become("reviewer")
        try s.county.review(1, approve: false, reason: "面积有误")
        var steps = try s.steps("2026-10-21")
        // Returned 10-15 (Thursday): 3 working days → due 10-19; on 10-21 overdue by 2.
        #expect(steps.count == 1 && steps[0].clock.step == .townshipReview && steps[0].subject.contains("退回重报"))
        #expect(steps[0].clock.start == Self.d("2026-10-15") && steps[0].clock.workingDaysOver == 2)
        _ = try s.c.pull("450223101")
        let own = try s.town.status(today: Self.d("2026-10-21")).timeLimits
        #expect(own.count == 1 && own[0].roster == roster.id && own[0].clock.start == Self.d("2026-10-15"))
        // Sent again on 10-16: on time; the county's clock for version 2 starts at the return.
        s.at("2026-10-16")
        try s.town.submitAsLeader(try s.town.buildRoster(program: "GD01", period: try Period(parsing: "2026")).id)
        _ = try s.c.push("450223101")
        let again = try s.county.timedSteps(asOf: Self.d("2026-10-16")).filter { $0.clock.step == .townshipReview }
        #expect(again.count == 2 && again.map(\.clock.state) == [.onTime, .onTime])
        steps = try s.steps("2026-10-16")
        #expect(steps.map(\.clock.step) == [.departmentReview])
        // October: both township reviews and the first department review on time; the second
        // department review (received 10-16, due 10-19) still open at the month's end.
        let october = try s.county.stepTallies(month: try Period(parsing: "2026-10"))
        #expect(october.map(\.onTime) == [2, 1, 0] && october.map(\.late) == [0, 0, 0] && october.map(\.overdue) == [0, 1, 0])
    }

    @Test("the monthly counts are as of the month's end: a roster that arrived later is one overdue township review, counted once")
    func monthEnd() throws {
        let s = try Scene()
        s.at("2026-11-02")
        try s.town.submitAsLeader(try s.town.buildRoster(program: "GD01", period: try Period(parsing: "2026")).id)
        _ = try s.c.push("450223101")
        let october = try s.county.stepTallies(month: try Period(parsing: "2026-10"))
        #expect(october.map(\.overdue) == [1, 0, 0] && october.map(\.late) == [0, 0, 0] && october.map(\.onTime) == [0, 0, 0])
        // In November it was done, late (due 10-15; 10-16 … 10-30 and 11-02 are 12 working days).
        let november = try s.county.stepTallies(month: try Period(parsing: "2026-11"))
        #expect(november.map(\.late) == [1, 0, 0] && november.map(\.overdue) == [0, 1, 0])   // the department has not reviewed it (due 11-03)
        let done = try s.county.timedSteps(asOf: Self.d("2026-11-30")).filter { $0.clock.step == .townshipReview }
        #expect(done.count == 1 && done[0].clock.workingDaysOver == 12 && done[0].roster != nil)
    }

    @Test("ykt status at the county prints the overdue step with its due date and the next command; --json carries it")
    func screen() throws {
        let s = try Scene()
        try s.county.actAs("payer", .payments)
        let conf = s.county.directory + "/" + NodeConfig.fileName
        let text = try String(contentsOfFile: conf, encoding: .utf8)
        try (text + "clock_override = allowed\n").write(toFile: conf, atomically: true, encoding: .utf8)
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let binary = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("ykt").path
        let session = s.c.dir.sub("session")
        let start = Self.d("2026-10-19").instantInChina(hour: 9)
        s.county.now = { start }   // the session is opened at the time the command will run
        try s.county.sessionFile("payer", at: session)
        var env = ProcessInfo.processInfo.environment
        env["YKT_SESSION"] = session
        env["YKT_CLOCK"] = "2026-10-19"
        let out = try TestProcess.run(binary, ["status", "--node", s.county.directory], environment: env)
        #expect(out.status == 0)
        #expect(out.stdout.contains("乡镇审核逾期：乡镇101（450223101）耕地地力保护补贴（GD01）2026 公示 2（待报清册） 自 2026-10-13 起算、时限 3 个工作日，应于 2026-10-15 前办结，已逾期 2 个工作日 → 催乡镇审核后报送清册"))
        #expect(out.stdout.contains("限时办理（乡镇审核、部门审核、财政审批，按工作日）：逾期 1 项、即将到期 0 项、时限内 0 项"))
        let json = try TestProcess.run(binary, ["status", "--json", "--node", s.county.directory], environment: env)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let limits = object?["timeLimits"] as? [[String: Any]]
        let clock = limits?.first?["clock"] as? [String: Any]
        #expect(limits?.count == 1 && clock?["state"] as? String == "overdue" && clock?["due"] as? String == "2026-10-15")
        #expect(clock?["workingDaysOver"] as? Int == 2 && clock?["step"] as? String == "township-review")

        // The township's own screen: the same review, with what to do here.
        let townConf = s.town.directory + "/" + NodeConfig.fileName
        try (try String(contentsOfFile: townConf, encoding: .utf8) + "clock_override = allowed\n")
            .write(toFile: townConf, atomically: true, encoding: .utf8)
        s.town.now = { start }
        let townSession = s.c.dir.sub("town-session")
        try s.town.sessionFile("tester", at: townSession)
        env["YKT_SESSION"] = townSession
        let town = try TestProcess.run(binary, ["status", "--node", s.town.directory], environment: env)
        #expect(town.status == 0)
        #expect(town.stdout.contains("乡镇审核逾期：耕地地力保护补贴（GD01）2026 公示 2（待编清册） 自 2026-10-13 起算、时限 3 个工作日，应于 2026-10-15 前办结，已逾期 2 个工作日 → ykt roster build --program GD01 --period 2026，核对后由乡镇领导 ykt roster submit 编号"))
    }
}
