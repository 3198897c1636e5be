/// The official working-day calendar (工作日历): Monday–Friday work, Saturday and Sunday rest,
/// except the statutory holidays (放假) and make-up working days (调休上班) the State Council
/// publishes each year.
///
/// A year with no published data is never guessed: asking about it throws `YKT-CAL-NODATA`.
///
/// Nodes do not load a calendar of their own: the county publishes the arrangement
/// (`ykt calendar publish`, versioned, corrected only where unused) and every township uses
/// what sync brought down (`docs/conventions.md`, "One calendar for the county").
public struct WorkCalendar: Sendable {
    public enum DayKind: String, Sendable, Codable {
        case holiday
        case workday
    }

    public struct Entry: Sendable, Hashable, Codable {
        public var date: CivilDate
        public var kind: DayKind
        public var name: String
    }

    private(set) public var entries: [CivilDate: Entry] = [:]
    /// The years for which the calendar has the official arrangement.
    private(set) public var years: Set<Int> = []

    public init() {}

    /// The State Council arrangement for 2025–2026 shipped with the program (`data/cn-holidays.tsv`).
    /// No node uses it by itself: it is what a county publishes first and what tests publish.
    public static var builtInTSV: String { BuiltinHolidays.tsv }

    /// `builtInTSV` read.
    public static let builtIn: WorkCalendar = {
        do { return try WorkCalendar(tsv: BuiltinHolidays.tsv, file: "built-in cn-holidays.tsv") } catch {
            preconditionFailure("the built-in holiday table is invalid: \(error)")
        }
    }()

    /// Reads the TSV format of `data/cn-holidays.tsv`: `date<TAB>kind<TAB>name`, `#` comments,
    /// an optional header line. Every year present becomes a known year.
    public init(tsv text: String, file: String) throws(YKTError) {
        try merge(tsv: text, file: file)
    }

    /// Adds another file's entries (a later year's arrangement). A date given twice with
    /// different kinds is refused.
    public mutating func merge(tsv text: String, file: String) throws(YKTError) {
        var newYears: Set<Int> = []
        let text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            let lineNo = index + 1
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("date\t") { continue }
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false).map {
                $0.trimmed
            }
            let at = SourceLocation(file: file, line: lineNo)
            guard cols.count >= 2 else {
                throw YKTError(.calendarFile, "应有 日期<TAB>类别<TAB>名称 三列，实际 \(cols.count) 列", at: at,
                               hint: "按 data/cn-holidays.tsv 的格式填写")
            }
            let date: CivilDate
            do { date = try CivilDate(parsing: cols[0]) } catch { throw error.located(at.with(field: "date")) }
            guard let kind = DayKind(rawValue: cols[1]) else {
                throw YKTError(.calendarFile, "类别「\(cols[1])」不认识", at: at.with(field: "kind"),
                               hint: "holiday 表示放假，workday 表示调休上班")
            }
            if kind == .holiday && date.isWeekend == false || kind == .workday && date.isWeekend {
                // ordinary: holidays on weekdays, make-up days on weekends
            } else if kind == .workday {
                throw YKTError(.calendarFile, "\(date) 本来就是工作日，不能标为调休上班", at: at.with(field: "kind"),
                               hint: "workday 只用于调休上班的周六、周日")
            }
            if let existing = entries[date], existing.kind != kind {
                throw YKTError(.calendarFile, "\(date) 已标为 \(existing.kind.rawValue)，这里又标为 \(kind.rawValue)",
                               at: at, hint: "删去重复的一行")
            }
            entries[date] = Entry(date: date, kind: kind, name: cols.count > 2 ? cols[2] : "")
            newYears.insert(date.year)
        }
        years.formUnion(newYears)
    }

    /// Whether `date` is a working day. Throws when its year has no official data.
    public func isWorkday(_ date: CivilDate) throws(YKTError) -> Bool {
        guard years.contains(date.year) else {
            let known = years.sorted().map(String.init).joined(separator: "、")
            throw YKTError(.calendarNoData, "县财政尚未发布 \(date.year) 年的节假日安排，工作日历没有该年度（已有：\(known.isEmpty ? "无" : known)）",
                           hint: "须由县财政用 ykt calendar publish 文件 发布国务院办公厅公布的 \(date.year) 年节假日安排；乡镇同步后再试")
        }
        if let e = entries[date] { return e.kind == .workday }
        return !date.isWeekend
    }

    /// The `count`-th working day on or after `start` (the first when `count` is 1).
    public func workday(number count: Int, onOrAfter start: CivilDate) throws(YKTError) -> CivilDate {
        precondition(count >= 1)
        var d = start
        var seen = 0
        while true {
            if try isWorkday(d) {
                seen += 1
                if seen == count { return d }
            }
            d = d.adding(days: 1)
        }
    }

    /// Whether `date` is a working day on this calendar's entries, whether or not its year is known.
    func effectivelyWorkday(_ date: CivilDate) -> Bool {
        entries[date].map { $0.kind == .workday } ?? !date.isWeekend
    }

    /// The dates of `years` that are a working day on one calendar and not on the other
    /// (a renamed holiday is not a difference: no count changes), in order.
    public func differences(to other: WorkCalendar, in years: Set<Int>) -> [CivilDate] {
        Set(entries.keys).union(other.entries.keys)
            .filter { years.contains($0.year) && effectivelyWorkday($0) != other.effectivelyWorkday($0) }
            .sorted()
    }

    /// This calendar without the entries and the knowledge of `years`.
    public func removing(years gone: Set<Int>) -> WorkCalendar {
        var copy = self
        copy.entries = entries.filter { !gone.contains($0.key.year) }
        copy.years.subtract(gone)
        return copy
    }

    /// The calendar in the format of `data/cn-holidays.tsv` (header line, one entry a line in
    /// date order): what the county stores and sends down, read back by `init(tsv:file:)`.
    public var tsv: String {
        var text = "date\tkind\tname\n"
        for e in entries.values.sorted(by: { $0.date < $1.date }) {
            text += "\(e.date)\t\(e.kind.rawValue)\t\(e.name)\n"
        }
        return text
    }

    /// Working days in the closed range `from...to`.
    public func workdays(from: CivilDate, through to: CivilDate) throws(YKTError) -> Int {
        var n = 0
        var d = from
        while d <= to {
            if try isWorkday(d) { n += 1 }
            d = d.adding(days: 1)
        }
        return n
    }
}

/// The notice-period rule (公示期), documented in `docs/conventions.md`:
/// a notice posted on day P runs for the first `workingDays` working days **on or after P**
/// (P itself counts when it is a working day, as notices are posted in the morning and
/// printed "公示时间：自3月2日至3月6日"). The last of those is the notice's last day; the notice
/// may be closed from the next calendar day on, once the whole last day has passed.
public struct NoticePeriod: Sendable, Hashable, Codable {
    public static let minimumWorkingDays = 5
    public var posted: CivilDate
    public var firstDay: CivilDate
    public var lastDay: CivilDate
    public var earliestClose: CivilDate

    public init(posted: CivilDate, calendar: WorkCalendar,
                workingDays: Int = NoticePeriod.minimumWorkingDays) throws(YKTError) {
        self.posted = posted
        firstDay = try calendar.workday(number: 1, onOrAfter: posted)
        lastDay = try calendar.workday(number: workingDays, onOrAfter: posted)
        earliestClose = lastDay.adding(days: 1)
    }
}

extension SourceLocation {
    func with(field: String) -> SourceLocation {
        var copy = self
        copy.field = field
        return copy
    }
}
