import Foundation
import Testing
@testable import YKTCore

@Suite("Working-day calendar and the notice period")
struct WorkCalendarTests {
    let cal = WorkCalendar.builtIn
    func d(_ s: String) -> CivilDate { try! CivilDate(parsing: s) }

    @Test("civil dates: day numbers, weekdays, China's today")
    func dates() throws {
        #expect(d("1970-01-01").dayNumber == 0)
        #expect(d("2026-02-17").weekday == 2)   // Tuesday, 春节
        #expect(d("2026-10-10").weekday == 6)   // Saturday
        #expect(CivilDate(dayNumber: d("2028-02-29").dayNumber) == d("2028-02-29"))
        #expect(CivilDate(year: 2026, month: 2, day: 29) == nil)
        // 2026-11-21 16:30 UTC is already 2026-11-22 in China.
        let instant = Date(timeIntervalSince1970: 1_795_278_600)
        #expect(CivilDate.inChina(at: instant) == d("2026-11-22"))
        #expect((#expect(throws: YKTError.self) { try CivilDate(parsing: "2026-02-30") })?.code == .dateInvalid)
    }

    @Test("holidays and make-up Saturdays of 2026")
    func workdays() throws {
        #expect(try cal.isWorkday(d("2026-02-14")) == true)    // Saturday, 春节调休
        #expect(try cal.isWorkday(d("2026-02-16")) == false)   // Monday, 春节
        #expect(try cal.isWorkday(d("2026-02-28")) == true)    // Saturday, 春节调休
        #expect(try cal.isWorkday(d("2026-10-10")) == true)    // Saturday, 国庆节调休
        #expect(try cal.isWorkday(d("2026-10-05")) == false)
        #expect(try cal.isWorkday(d("2026-03-07")) == false)   // ordinary Saturday
        #expect(try cal.isWorkday(d("2025-01-26")) == true)    // Sunday, 2025 春节调休
    }

    @Test("a notice across the 2026 Spring Festival")
    func springFestival() throws {
        // Posted Thursday 2026-02-12: 12, 13, 14 (make-up Saturday), then the holiday 15–23,
        // then 24, 25: five working days, the last on 2026-02-25.
        let p = try NoticePeriod(posted: d("2026-02-12"), calendar: cal)
        #expect(p.firstDay == d("2026-02-12"))
        #expect(p.lastDay == d("2026-02-25"))
        #expect(p.earliestClose == d("2026-02-26"))
    }

    @Test("a notice across the 2026 National Day")
    func nationalDay() throws {
        // Posted Wednesday 2026-09-30: 30, then 8, 9, 10 (make-up Saturday), 12.
        let p = try NoticePeriod(posted: d("2026-09-30"), calendar: cal)
        #expect(p.lastDay == d("2026-10-12"))
        #expect(p.earliestClose == d("2026-10-13"))
        #expect(try cal.workdays(from: d("2026-09-30"), through: d("2026-10-12")) == 5)
    }

    @Test("posting on a rest day starts the count on the next working day")
    func restDay() throws {
        let p = try NoticePeriod(posted: d("2026-03-07"), calendar: cal)   // Saturday
        #expect(p.firstDay == d("2026-03-09"))
        #expect(p.lastDay == d("2026-03-13"))
    }

    @Test("a year without data is refused, never guessed")
    func noData() {
        let error = #expect(throws: YKTError.self) { try NoticePeriod(posted: d("2026-12-28"), calendar: cal) }
        #expect(error?.code == .calendarNoData)
        #expect(error?.message.contains("2027") == true)
        #expect(error?.message.contains("县财政尚未发布 2027 年") == true)
        #expect(error?.hint?.contains("ykt calendar publish") == true)
    }

    @Test("later years load from the same TSV format, with line numbers in errors")
    func loading() throws {
        var c = cal
        try c.merge(tsv: "date\tkind\tname\n2027-01-01\tholiday\t元旦\n", file: "2027.tsv")
        #expect(c.years.contains(2027))
        #expect(try NoticePeriod(posted: d("2026-12-28"), calendar: c).lastDay == d("2027-01-04"))
        let error = #expect(throws: YKTError.self) { try c.merge(tsv: "# x\n2027-02-30\tholiday\t春节\n", file: "bad.tsv") }
        #expect(error?.location?.line == 2)
        #expect(error?.location?.file == "bad.tsv")
        #expect(throws: YKTError.self) { try c.merge(tsv: "2027-03-03\tworkday\tx\n", file: "bad.tsv") }
        #expect(throws: YKTError.self) { try c.merge(tsv: "2027-03-06\tnap\tx\n", file: "bad.tsv") }
    }

    @Test("the built-in table is a verbatim copy of data/cn-holidays.tsv")
    func builtInMatchesData() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try String(contentsOf: root.appendingPathComponent("data/cn-holidays.tsv"), encoding: .utf8)
        #expect(BuiltinHolidays.tsv.trimmingCharacters(in: .newlines) == file.trimmingCharacters(in: .newlines))
        #expect(cal.years == [2025, 2026])
    }
}
