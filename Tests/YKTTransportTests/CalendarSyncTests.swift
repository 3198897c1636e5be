import Foundation
import Testing
import YKTCore
import YKTTestSupport
import YKTCounty
import YKTTownship
import YKTTransport

@Suite("The county's calendar over real mutual TLS")
struct CalendarSyncTests {
    @Test("a year the county publishes reaches the township in its next sync round, and its notices count on it")
    func publishedYearArrivesBySync() throws {
        let net = try SyncNetwork(["450223101"])
        let t = net.townships["450223101"]!
        #expect(try t.calendarInfo().version == 1 && t.calendarInfo().years == [2025, 2026])
        try "date\tkind\tname\n2027-01-01\tholiday\t元旦\n".write(toFile: net.dir + "/2027.tsv", atomically: true, encoding: .utf8)
        let published = try net.county.publishCalendar(path: net.dir + "/2027.tsv", reason: "国办发明电（演示）")
        #expect(published.version == 2 && published.years == [2027])
        let report = try net.sync("450223101")
        #expect(report.pulled == 1)
        let info = try t.calendarInfo()
        #expect(info.version == 2 && info.years == [2025, 2026, 2027] && info.reason == "国办发明电（演示）")
        #expect(try NoticePeriod(posted: try CivilDate(parsing: "2026-12-28"), calendar: t.calendar).lastDay.description == "2027-01-04")
    }
}
