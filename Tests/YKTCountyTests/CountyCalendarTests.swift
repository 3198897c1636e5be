import Foundation
import Testing
import YKTNode
import YKTCore
import YKTTestSupport
import YKTCrypto
import YKTStore
@testable import YKTCounty
@testable import YKTTownship

/// The standard 2026 arrangement with one more holiday: Wednesday 2026-03-04.
private let withMarch4 = WorkCalendar.builtInTSV.split(separator: "\n").filter { $0.hasPrefix("2026") }
    .joined(separator: "\n") + "\n2026-03-04\tholiday\t演示更正\n"

@Suite("One calendar for the county: published, corrected where unused, carried down by sync")
struct CountyCalendarTests {
    let d = { (s: String) in try! CivilDate(parsing: s) }

    func write(_ c: County, _ name: String, _ text: String) throws -> String {
        let path = c.dir.sub("data/" + name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a correction of an unused date flows down, is audited with operator and reason, and the township's notice period uses it")
    func correctionFlowsDown() throws {
        let c = try County(["450223101"])
        let t = c.townships["450223101"]!
        #expect(try t.calendarInfo().version == 1 && t.calendarInfo().years == [2025, 2026])
        c.county.operatorName = "县财政日历管理员"
        let v = try c.county.correctCalendar(path: try write(c, "2026-fix.tsv", withMarch4), reason: "省里通知 3 月 4 日放假（演示）")
        #expect(v.version == 2 && v.action == "correct" && v.changed == ["2026-03-04"])
        // Audited at the county: operator, action and reason.
        let audit = try c.county.db.first("SELECT operator, action, detail FROM audit ORDER BY seq DESC LIMIT 1") {
            ($0.text(0), $0.text(1), $0.text(2))
        }
        #expect(audit?.0 == "县财政日历管理员" && audit?.1 == "calendar.correct")
        #expect(audit?.2.contains("changed=2026-03-04") == true && audit?.2.contains("reason=省里通知 3 月 4 日放假（演示）") == true)
        // The township has the old version until it syncs; then the new one.
        #expect(try t.calendar.isWorkday(d("2026-03-04")))
        #expect(try c.pull("450223101") == 1)
        let info = try t.calendarInfo()
        #expect(info.version == 2 && info.action == "correct" && info.changed == ["2026-03-04"] && info.reason == "省里通知 3 月 4 日放假（演示）")
        #expect(try !t.calendar.isWorkday(d("2026-03-04")))
        #expect(try !TownshipNode.open(directory: t.directory).calendar.isWorkday(d("2026-03-04")))
        // The notice period counts on it, and the county (same calendar) accepts the notice.
        try register(t, ResidentID.completing("45022319500101123"), "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        try apply(t, ResidentID.completing("45022319500101123"), "GD01", quantity: "1.5")
        try t.passVillageNotices(program: "GD01")
        t.at("2026-03-02")
        let n = try t.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2026-03-02"), place: "x", phone: "13800138000")
        #expect(n.lastDay == d("2026-03-09"))
        let report = try c.push("450223101")
        #expect(report.rejected == 0 && report.conflicted == 0)
        #expect(try c.county.db.integer("SELECT count(*) FROM notice WHERE last_day = '2026-03-09'") == 1)
    }

    @Test("a correction that changes a date a notice or a bank deadline used is refused, naming them; nothing changes")
    func usedDatesRefused() throws {
        let loop = try Loop()
        let c = loop.c
        // A notice received by the county: posted 2026-03-02, 5th working day 2026-03-06.
        let t = loop.town
        try apply(t, loop.people[0], "GD01", quantity: "1")
        try t.passVillageNotices(program: "GD01")
        t.at("2026-03-02")
        _ = try t.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2026-03-02"), place: "x", phone: "13800138000")
        _ = try c.push("450223101")
        let refused = #expect(throws: YKTError.self) {
            try c.county.correctCalendar(path: try write(c, "fix.tsv", withMarch4), reason: "试图更正已用日期")
        }
        #expect(refused?.code == .calendarUsed)
        #expect(refused?.message.contains("2026-03-04") == true && refused?.message.contains("notice/450223101/2") == true)
        // A dispatched batch: 2026-11-16, paid by 11-19, reported by 11-23.
        try loop.dispatched()
        let nov = WorkCalendar.builtInTSV.split(separator: "\n").filter { $0.hasPrefix("2026") }.joined(separator: "\n")
            + "\n2026-11-20\tholiday\t演示更正\n"
        let batch = #expect(throws: YKTError.self) {
            try c.county.correctCalendar(path: try write(c, "nov.tsv", nov), reason: "试图更正银行期限内的日期")
        }
        #expect(batch?.code == .calendarUsed && batch?.message.contains("支付批次 1") == true)
        // Nothing was recorded or sent.
        #expect(try c.county.calendarVersions().count == 1)
        #expect(try c.county.db.integer("SELECT count(*) FROM downstream WHERE kind = 'calendar.version'") == 1)
        #expect(try c.county.calendar.isWorkday(d("2026-11-20")))
        // A date nobody used can still be corrected.
        let dec = WorkCalendar.builtInTSV.split(separator: "\n").filter { $0.hasPrefix("2026") }.joined(separator: "\n")
            + "\n2026-12-30\tholiday\t演示更正\n"
        #expect(try c.county.correctCalendar(path: try write(c, "dec.tsv", dec), reason: "未用日期").version == 2)
    }

    @Test("publishing a published year, correcting without a reason, or an unpublished year is refused with a clear code")
    func publishRules() throws {
        let c = try County(["450223101"])
        let again = #expect(throws: YKTError.self) { try c.county.publishCalendar(path: try write(c, "again.tsv", WorkCalendar.builtInTSV)) }
        #expect(again?.code == .calendarPublished && again?.hint?.contains("ykt calendar correct") == true)
        #expect((#expect(throws: YKTError.self) { try c.county.correctCalendar(path: try write(c, "fix.tsv", withMarch4), reason: " ") })?.code
                == .fieldMissing)
        let future = #expect(throws: YKTError.self) {
            try c.county.correctCalendar(path: try write(c, "2027.tsv", "2027-01-01\tholiday\t元旦\n"), reason: "x")
        }
        #expect(future?.code == .calendarNoData)
        #expect(try c.county.calendarVersions().count == 1)
    }

    @Test("a year with no published calendar is refused at the county and at the township, saying the county must publish it")
    func unpublishedYear() throws {
        let c = try County(["450223101"])
        let atCounty = #expect(throws: YKTError.self) { try c.county.calendar.isWorkday(d("2027-03-01")) }
        #expect(atCounty?.code == .calendarNoData && atCounty?.message.contains("县财政尚未发布 2027 年") == true)
        #expect(atCounty?.hint?.contains("ykt calendar publish") == true)
        let loop = try Loop()
        try loop.by("审核员").review(1, approve: true, reason: "")
        _ = try loop.by("审定员").approve([1])
        let dispatch = #expect(throws: YKTError.self) { try loop.county.dispatch(on: d("2027-03-01")) }
        #expect(dispatch?.code == .calendarNoData && dispatch?.message.contains("县财政尚未发布 2027 年") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: loop.bankFolder + "/outbox").isEmpty)
        let t = c.townships["450223101"]!
        try register(t, ResidentID.completing("45022319500101123"), "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        try apply(t, ResidentID.completing("45022319500101123"), "GD01", quantity: "1")
        t.at("2027-03-01")
        let atTownship = #expect(throws: YKTError.self) {
            try t.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2027-03-01"), place: "x", phone: "13800138000")
        }
        #expect(atTownship?.code == .calendarNoData && atTownship?.message.contains("县财政尚未发布 2027 年") == true)
        // A county that has published nothing refuses every date.
        let bare = try CountyNode.create(directory: c.dir.sub("bare"), config: NodeConfig(
            role: .county, nodeID: "450224", name: "某县", countyCode: "450224", defaultOperator: "x"))
        #expect((#expect(throws: YKTError.self) { try bare.calendar.isWorkday(d("2026-03-02")) })?.message.contains("已有：无") == true)
    }

    @Test("a calendar message with a bad signature is refused by the township: nothing stored, calendar unchanged")
    func tamperedMessage() throws {
        let c = try County(["450223101"])
        try c.county.correctCalendar(path: try write(c, "fix.tsv", withMarch4), reason: "演示")
        let t = c.townships["450223101"]!
        let refused = #expect(throws: YKTError.self) {
            try t.pull { after in
                let a = c.county.stream(peer: "450223101", after: after)
                // The county's signature stays; the holiday moves from 2026-03-04 to 03-05 in the text.
                let text = String(decoding: a.body, as: UTF8.self).replacingOccurrences(of: "2026-03-04", with: "2026-03-05")
                #expect(text != String(decoding: a.body, as: UTF8.self))
                return TownshipNode.CountyAnswer(status: a.status, body: Array(text.utf8), signature: a.signature)
            }
        }
        #expect(refused?.code == .syncSignature)
        #expect(try t.calendarInfo().version == 1 && t.inbox().count == 2)   // the calendar, the policy list
        #expect(try t.calendar.isWorkday(d("2026-03-04")))
        // The genuine message is taken on the next pull.
        #expect(try c.pull("450223101") == 1)
        #expect(try t.calendarInfo().version == 2)
    }
}
