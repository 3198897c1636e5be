import Foundation
import Testing
import YKTNode
import YKTCore
import YKTCounty
import YKTStore
import YKTTestSupport
@testable import YKTTownship

@Suite("Applications, public notice, objections, rosters")
struct NoticeRosterTests {
    let d = Fixture.d

    func withApplications(_ dir: TempDir) throws -> TownshipNode {
        let node = try Fixture.registered(dir)
        let period = try Period(parsing: "2026")
        try node.recordApplication(ApplicationInput(residentID: try ResidentID(Fixture.alice), programCode: "GD01",
                                                    period: period, quantity: try Quantity(parsing: "3.33"), villageResult: .passed))
        try node.recordApplication(ApplicationInput(residentID: try ResidentID(Fixture.bob), programCode: "GD01",
                                                    period: period, quantity: try Quantity(parsing: "5"), villageResult: .passed))
        try node.recordApplication(ApplicationInput(residentID: try ResidentID(Fixture.carol), programCode: "GD01",
                                                    period: period, quantity: try Quantity(parsing: "2.5"), villageResult: .failed,
                                                    note: "承包地已流转"))
        return node
    }

    @Test("applications compute the amount from the program standard; duplicates and unknown programs are refused")
    func applications() throws {
        let dir = TempDir()
        let node = try withApplications(dir)
        let list = try node.applications(program: "GD01")
        #expect(list.map(\.amountFen).sorted() == [28088, 37413, 56175])   // 2.5, 3.33, 5 亩 × 112.35
        #expect(list.first { $0.residentID == Fixture.carol }?.status == .notPassed)
        let input = ApplicationInput(residentID: try ResidentID(Fixture.alice), programCode: "GD01",
                                     period: try Period(parsing: "2026"), quantity: try Quantity(parsing: "1"), villageResult: .passed)
        #expect((#expect(throws: YKTError.self) { try node.recordApplication(input) })?.code == .applicationDuplicate)
        var unknown = input
        unknown.programCode = "XX99"
        #expect((#expect(throws: YKTError.self) { try node.recordApplication(unknown) })?.code == .programUnknown)
        var months = input
        months.programCode = "YL01"
        months.period = try Period(parsing: "2026-03")
        months.quantity = try Quantity(parsing: "1.5")
        #expect((#expect(throws: YKTError.self) { try node.recordApplication(months) })?.code == .quantityInvalid)
    }

    @Test("the whole township loop: notice → objection → close → roster → submit, each step queued and audited")
    func loop() throws {
        let dir = TempDir()
        let node = try withApplications(dir)
        let period = try Period(parsing: "2026")
        try node.passVillageNotices(program: "GD01")
        node.at("2026-09-30")
        let n = try node.openNotice(program: "GD01", period: period, postedOn: d("2026-09-30"), place: "各村村务公开栏",
                                    phone: "0772-6812345")
        #expect(n.applicationCount == 2)          // the village did not pass Carol
        #expect(n.lastDay == d("2026-10-12") && n.earliestClose == d("2026-10-13"))

        // Early close is refused and names the earliest date.
        node.at("2026-10-12")
        let early = #expect(throws: YKTError.self) { try node.closeNotice(n.id, on: d("2026-10-12")) }
        #expect(early?.code == .noticeTooEarly)
        #expect(early?.hint?.contains("2026-10-13") == true)

        // An objection is recorded; closing waits for it; upheld removes Bob's line.
        node.at("2026-10-09")
        let o = try node.recordObjection(notice: n.id, residentID: try ResidentID(Fixture.bob), receivedOn: d("2026-10-09"),
                                         complainant: "村民", content: "土地已转包")
        node.at("2026-10-13")
        #expect((#expect(throws: YKTError.self) { try node.closeNotice(n.id, on: d("2026-10-13")) })?.code == .objectionOpen)
        node.at("2026-10-12")
        try node.settleObjection(o.id, upheld: true, reason: "核实属实", on: d("2026-10-12"))
        node.at("2026-10-12")
        #expect((#expect(throws: YKTError.self) { try node.settleObjection(o.id, upheld: false, reason: "x", on: d("2026-10-12")) })?.code == .objectionState)
        node.at("2026-10-13")
        let closed = try node.closeNotice(n.id, on: d("2026-10-13"))
        #expect(closed.status == .closed)
        node.at("2026-10-14")
        #expect((#expect(throws: YKTError.self) { try node.closeNotice(n.id, on: d("2026-10-14")) })?.code == .noticeState)

        // The roster takes only Alice; it can be rebuilt as a draft, then submitted and frozen.
        let r = try node.buildRoster(program: "GD01", period: period)
        #expect(r.lineCount == 1 && r.totalFen == 37413 && r.status == .draft)
        let again = try node.buildRoster(program: "GD01", period: period)
        #expect(again.id == r.id && again.lineCount == 1)
        let lines = try node.rosterLines(r.id)
        #expect(lines.map(\.residentID) == [Fixture.alice])
        #expect(lines[0].accountNumber == Fixture.aliceCard)
        let submitted = try node.submitAsLeader(r.id)
        #expect(submitted.status == .submitted)
        #expect((#expect(throws: YKTError.self) { try node.submitRoster(r.id) })?.code == .rosterFrozen)
        #expect((#expect(throws: YKTError.self) { try node.buildRoster(program: "GD01", period: period) })?.code == .rosterEmpty)
        #expect(try node.applications(program: "GD01", status: .rostered).count == 1)

        // Every step left its operation, in order, gapless.
        let ops = try node.outbox()
        #expect(ops.map(\.seq) == Array(1...Int64(ops.count)))
        #expect(ops.suffix(5).map(\.kind) == ["notice.open", "objection.record", "objection.settle", "notice.close", "roster.submit"])
        let submit = ops.last!
        #expect(submit.entity == "roster/450223101/GD01/2026/1")
        #expect(submit.body.contains("\"totalFen\":37413") && submit.body.contains("\"accountNumber\":\"\(Fixture.aliceCard)\""))
        #expect(try AuditLog.verify(db: node.db).ok)
    }

    @Test("a stale draft (account changed after building) must be rebuilt before submitting")
    func stale() throws {
        let dir = TempDir()
        let node = try withApplications(dir)
        let period = try Period(parsing: "2026")
        try node.passVillageNotices(program: "GD01")
        node.at("2026-03-02")
        let n = try node.openNotice(program: "GD01", period: period, postedOn: d("2026-03-02"), place: "公开栏", phone: "13800138000")
        node.at("2026-03-09")
        try node.closeNotice(n.id, on: d("2026-03-09"))
        let r = try node.buildRoster(program: "GD01", period: period)
        try node.changeAccount(try ResidentID(Fixture.alice), to: AccountInput(
            bank: "中国邮政储蓄银行", number: try AccountNumber(Fixture.card("621799000000000011"), kind: .card), confirmation: "BG-1"))
        #expect((#expect(throws: YKTError.self) { try node.submitAsLeader(r.id) })?.code == .rosterStale)
        try node.buildRoster(program: "GD01", period: period)
        #expect(try node.submitAsLeader(r.id).status == .submitted)
        #expect(try node.rosterLines(r.id).first { $0.residentID == Fixture.alice }?.bank == "中国邮政储蓄银行")
    }

    @Test("notice refusals: secret program, nothing to publish, no calendar data, roster before close")
    func refusals() throws {
        let dir = TempDir()
        let node = try withApplications(dir)
        let period = try Period(parsing: "2026")
        try node.passVillageNotices(program: "GD01")
        node.at("2026-03-02")
        #expect((#expect(throws: YKTError.self) {
            try node.openNotice(program: "TF01", period: period, postedOn: d("2026-03-02"), place: "x", phone: "13800138000")
        })?.code == .noticeSecret)
        node.at("2026-03-02")
        #expect((#expect(throws: YKTError.self) {
            try node.openNotice(program: "YL01", period: period, postedOn: d("2026-03-02"), place: "x", phone: "13800138000")
        })?.code == .noticeEmpty)
        let before = try Fixture.counts(node)
        node.now = { Date(timeIntervalSince1970: 1_799_020_800) }   // 2027-01-04: 2026-12-28 is past
        node.at("2026-12-28")
        #expect((#expect(throws: YKTError.self) {
            try node.openNotice(program: "GD01", period: period, postedOn: d("2026-12-28"), place: "x", phone: "13800138000")
        })?.code == .calendarNoData)
        #expect(try Fixture.counts(node) == before)
        node.at("2026-03-02")
        _ = try node.openNotice(program: "GD01", period: period, postedOn: d("2026-03-02"), place: "x", phone: "13800138000")
        let error = #expect(throws: YKTError.self) { try node.buildRoster(program: "GD01", period: period) }
        #expect(error?.code == .rosterEmpty)
        #expect(error?.message.contains("仍在乡镇公示中") == true)
    }

    @Test("a secret program skips the notice and goes straight to the roster")
    func secretProgram() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        try node.recordApplication(ApplicationInput(residentID: try ResidentID(Fixture.carol), programCode: "TF01",
                                                    period: try Period(parsing: "2026"), quantity: try Quantity(parsing: "1"), villageResult: .passed))
        let r = try node.buildRoster(program: "TF01", period: try Period(parsing: "2026"))
        #expect(r.lineCount == 1 && r.totalFen == 30000)
    }

    @Test("a township loads no calendar itself; a year the county publishes later comes by sync and lets notices run into it")
    func calendarFromCounty() throws {
        let dir = TempDir()
        let node = try withApplications(dir)
        let refused = #expect(throws: YKTError.self) { try node.loadCalendar(tsv: "2027-01-01\tholiday\t元旦\n", file: "2027.tsv") }
        #expect(refused?.code == .calendarCounty && refused?.hint?.contains("ykt calendar publish") == true)
        try node.passVillageNotices(program: "GD01")
        node.at("2026-12-28")   // posted on its day: its 5th working day falls in 2027
        let early = #expect(throws: YKTError.self) {
            try node.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2026-12-28"), place: "x", phone: "13800138000")
        }
        #expect(early?.code == .calendarNoData && early?.message.contains("县财政尚未发布 2027 年") == true)
        let county = try CountyNode.open(directory: dir.file("county"))
        try county.publishCalendar(path: dir.write("2027.tsv", "2027-01-01\tholiday\t元旦\n"), reason: "国办发明电〔2026〕1号")
        #expect(try Fixture.pull(node, from: county) == 1)
        #expect(try node.calendarInfo().version == 2 && node.calendarInfo().years == [2025, 2026, 2027])
        let reopened = try TownshipNode.open(directory: node.directory)
        reopened.now = node.now
        let n = try reopened.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2026-12-28"),
                                        place: "x", phone: "13800138000")
        #expect(n.lastDay == d("2027-01-04"))
    }
}

@Suite("Business dates and totals")
struct DatesAndTotalsTests {
    let d = Fixture.d

    @Test("dates after today are refused: a notice cannot be closed on a day still to come")
    func futureDates() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        node.now = { Date(timeIntervalSince1970: 1_772_409_600) }   // 2026-03-02 08:00 China time
        try node.recordApplication(ApplicationInput(residentID: try ResidentID(Fixture.alice), programCode: "GD01",
                                                    period: try Period(parsing: "2026"), quantity: try Quantity(parsing: "1"), villageResult: .passed))
        let m = try node.recordMeeting(village: "大塘村", program: "GD01", period: try Period(parsing: "2026"), heldOn: d("2026-03-02"),
                                       present: 20, expected: 25, outcome: "通过")
        #expect((#expect(throws: YKTError.self) {
            try node.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2026-03-03"), place: "x", phone: "13800138000",
                                stage: .village, meeting: m.id)
        })?.code == .dateFuture)
        let n = try node.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2026-03-02"),
                                    place: "x", phone: "13800138000", stage: .village, meeting: m.id)
        let error = #expect(throws: YKTError.self) { try node.closeNotice(n.id, on: d("2026-03-09")) }
        #expect(error?.code == .dateFuture && error?.location?.field == "--date")
        node.now = { Date(timeIntervalSince1970: 1_773_014_400) }   // 2026-03-09
        #expect(try node.closeNotice(n.id, on: d("2026-03-09")).status == .closed)
    }

    @Test("an upheld objection takes the line out of the notice's count and total and of the printed notice")
    func removedLines() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        for (who, mu) in [(Fixture.alice, "1"), (Fixture.bob, "2")] {
            try node.recordApplication(ApplicationInput(residentID: try ResidentID(who), programCode: "GD01",
                                                        period: try Period(parsing: "2026"), quantity: try Quantity(parsing: mu), villageResult: .passed))
        }
        try node.passVillageNotices(program: "GD01")
        node.at("2026-03-02")
        let n = try node.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2026-03-02"), place: "x", phone: "13800138000")
        node.at("2026-03-03")
        let o = try node.recordObjection(notice: n.id, residentID: try ResidentID(Fixture.bob), receivedOn: d("2026-03-03"), complainant: "", content: "不实")
        node.at("2026-03-04")
        try node.settleObjection(o.id, upheld: true, reason: "属实", on: d("2026-03-04"))
        let after = try node.notice(n.id)
        #expect(after.applicationCount == 1 && after.totalFen == 11235)
        let doc = try node.noticeDocument(n.id, printedOn: d("2026-03-04"))
        #expect(!doc.csv.contains(Masking.residentID(Fixture.bob)) && doc.csv.contains(Masking.residentID(Fixture.alice)))
        #expect(try node.outbox().last?.baseVersion == 1)
    }

    @Test("rows with too many or too few fields are refused in every import")
    func rowWidth() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        let apps = dir.write("apps.csv", "身份证号,项目编码,期次,数量\n\(Fixture.alice),GD01,2026,1,extra\n")
        let error = #expect(throws: YKTError.self) { try node.importApplications(path: apps) }
        #expect(error?.details.first?.code == .csvSyntax && error?.details.first?.location?.line == 2)
        let programs = dir.write("p.csv", "项目编码,项目名称,主管部门,补贴标准(元),计量单位\nX1,某补贴,县民政局,10\n")
        #expect((#expect(throws: YKTError.self) { try node.loadLocalPrograms(path: programs) })?.details.contains { $0.code == .csvSyntax } == true)
        let results = dir.write("r.csv", "身份证号,项目编码,期次,数量,村评议结果\n\(Fixture.alice),GD01,2026,1,也许\n")
        #expect((#expect(throws: YKTError.self) { try node.importApplications(path: results) })?.details.first?.code == .valueInvalid)
    }

    @Test("a configuration that names another node is refused")
    func nodeMismatch() throws {
        let dir = TempDir()
        let node = try Fixture.node(dir)
        let conf = node.directory + "/node.conf"
        let text = try String(contentsOfFile: conf, encoding: .utf8).replacingOccurrences(of: "450223101", with: "450223109")
        try text.write(toFile: conf, atomically: true, encoding: .utf8)
        #expect((#expect(throws: YKTError.self) { try TownshipNode.open(directory: node.directory) })?.code == .nodeConfig)
    }
}
