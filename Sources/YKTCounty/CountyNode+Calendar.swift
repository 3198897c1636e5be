import Foundation
import YKTCore
import YKTCrypto
import YKTStore

/// One calendar for the county (工作日历): the county publishes the holiday arrangement in
/// versions, corrects a published year only where no notice or bank deadline has used a date,
/// and sends every version down whole (`calendar.version`); townships use what sync brought.
/// The rules are in `docs/conventions.md`, "One calendar for the county".
extension CountyNode {
    /// One publication or correction of the county's calendar.
    public struct CalendarVersion: Sendable, Codable {
        public var version: Int
        /// `publish` (new years) or `correct` (published years replaced).
        public var action: String
        public var years: [Int]
        public var file: String
        public var sha256: String
        /// Dates whose working-day status the version changed (a correction).
        public var changed: [String]
        public var reason: String
        public var by: String
        public var at: String
    }

    /// The county's calendar as published (every version applied). A county that has published
    /// nothing has a calendar with no years: every date is refused with `YKT-CAL-NODATA`.
    public var calendar: WorkCalendar {
        get throws {
            var lines: [String] = []
            try db.forEach("SELECT date, kind, name FROM calendar_day ORDER BY date") { r in
                lines.append("\(r.text(0))\t\(r.text(1))\t\(r.text(2))")
            }
            return try WorkCalendar(tsv: lines.joined(separator: "\n"), file: "县财政已发布的工作日历")
        }
    }

    /// Every version, oldest first.
    public func calendarVersions() throws -> [CalendarVersion] {
        try db.all("""
            SELECT version, action, years, file, sha256, changed, reason, by_operator, published_at FROM calendar_version ORDER BY version
            """) { r in
            CalendarVersion(version: r.int(0), action: r.text(1), years: r.text(2).split(separator: ",").compactMap { Int($0) },
                            file: r.text(3), sha256: r.text(4), changed: r.text(5).split(separator: ",").map(String.init),
                            reason: r.text(6), by: r.text(7), at: r.text(8))
        }
    }

    /// Publishes the arrangement of years not yet published, from a file in the format of
    /// `data/cn-holidays.tsv`, as the next version, and queues the whole calendar for every
    /// enrolled township. A year already published is refused (`YKT-CAL-PUBLISHED`): changing
    /// one is a correction (`correctCalendar`). Returns the version.
    @discardableResult
    public func publishCalendar(path: String, reason: String = "") throws -> CalendarVersion {
        let (incoming, file, sha) = try Self.readCalendarFile(path)
        return try recordCalendar(action: "publish", years: incoming.years, file: file, sha256: sha, reason: reason.trimmed) { current in
            let again = incoming.years.intersection(current.years).sorted()
            guard again.isEmpty else {
                throw YKTError(.calendarPublished, "\(Self.list(again)) 年的节假日安排已发布过", at: SourceLocation(file: file),
                               hint: "文件中只保留新年度；要改已发布的年度，用 ykt calendar correct 文件 --reason 理由")
            }
            var merged = current
            try merged.merge(tsv: incoming.tsv, file: file)
            return (merged, [])
        }
    }

    /// Corrects published years: each year in the file replaces that year's arrangement whole.
    /// Refused (`YKT-CAL-USED`, naming them) when a date whose working-day status changes lies
    /// in a notice the county has received (posting day through its 5th working day) or a
    /// dispatched batch's deadline range (dispatch day through the report deadline). The
    /// reason is required and goes into the audit trail and the version sent down.
    @discardableResult
    public func correctCalendar(path: String, reason: String) throws -> CalendarVersion {
        let why = reason.trimmed
        guard !why.isEmpty else {
            throw YKTError(.fieldMissing, "更正已发布的节假日安排须写明理由", at: SourceLocation(field: "--reason"),
                           hint: "例如 --reason \"国务院办公厅补充通知，国庆调休改为 10 月 11 日\"")
        }
        let (incoming, file, sha) = try Self.readCalendarFile(path)
        return try recordCalendar(action: "correct", years: incoming.years, file: file, sha256: sha, reason: why) { current in
            let unpublished = incoming.years.subtracting(current.years).sorted()
            guard unpublished.isEmpty else {
                throw YKTError(.calendarNoData, "\(Self.list(unpublished)) 年尚未发布，不能更正", at: SourceLocation(file: file),
                               hint: "新年度用 ykt calendar publish 文件 发布")
            }
            var corrected = current.removing(years: incoming.years)
            try corrected.merge(tsv: incoming.tsv, file: file)
            let changed = current.differences(to: corrected, in: incoming.years)
            guard changed.isEmpty == false || corrected.entries != current.entries else {
                throw YKTError(.calendarFile, "文件与已发布的 \(Self.list(incoming.years.sorted())) 年安排相同，没有可更正的内容",
                               at: SourceLocation(file: file), hint: "核对文件")
            }
            // Read in the same write transaction: no notice or dispatch comes in between.
            let used = try usesOfDates(changed)
            guard used.isEmpty else {
                throw YKTError(.calendarUsed, "更正会改变已经用到的日期：" + used.prefix(5).joined(separator: "；")
                               + (used.count > 5 ? "；另有 \(used.count - 5) 处" : ""), at: SourceLocation(file: file),
                               hint: "已用到的日期不能更正（公示期和银行期限须保持原样）；只更正尚未用到的日期")
            }
            return (corrected, changed)
        }
    }

    /// What the county has already counted on `dates`: notices received (posting day through
    /// the last day) and dispatched batches (dispatch day through the report deadline).
    func usesOfDates(_ dates: [CivilDate]) throws -> [String] {
        var uses: [String] = []
        for d in dates {
            let day = d.description
            try db.forEach("""
                SELECT node_id, entity, posted_on, last_day FROM notice WHERE posted_on <= ? AND last_day >= ? ORDER BY node_id, entity
                """, day, day) { r in
                uses.append("\(day) 在乡镇 \(r.text(0)) 的公示 \(r.text(1))（\(r.text(2)) 张贴，公示至 \(r.text(3))）内")
            }
            try db.forEach("""
                SELECT id, bank, dispatched_on, report_due FROM batch
                WHERE dispatched_on IS NOT NULL AND dispatched_on <= ? AND report_due >= ? ORDER BY id
                """, day, day) { r in
                uses.append("\(day) 在支付批次 \(r.int64(0))（\(r.text(1))，\(r.text(2)) 发出，报告期限 \(r.text(3))）的期限内")
            }
        }
        return uses
    }

    /// Replaces the stored calendar with what `build` makes of the current one, records the version and its audit entry, and
    /// sends the whole calendar to every enrolled township, all in one transaction.
    private func recordCalendar(action: String, years: Set<Int>, file: String, sha256: String, reason: String,
                                build: (WorkCalendar) throws -> (WorkCalendar, changed: [CivilDate])) throws -> CalendarVersion {
        let yearList = years.sorted().map(String.init).joined(separator: ",")
        return try perform("calendar.\(action)", object: "calendar", describing: {
            let (cal, changed) = try build(try calendar)
            let changedList = changed.map(\.description).joined(separator: ",")
            let version = Int(try db.integer("SELECT max(version) FROM calendar_version") ?? 0) + 1
            try db.run("DELETE FROM calendar_day")
            let insert = try db.statement("INSERT INTO calendar_day(date, kind, name) VALUES (?, ?, ?)")
            for e in cal.entries.values.sorted(by: { $0.date < $1.date }) {
                try insert.run([e.date.description, e.kind.rawValue, e.name])
            }
            let v = CalendarVersion(version: version, action: action, years: years.sorted(), file: file, sha256: sha256,
                                    changed: changed.map(\.description), reason: reason, by: operatorName, at: timestamp())
            try db.run("""
                INSERT INTO calendar_version(version, action, years, file, sha256, changed, reason, by_operator, published_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, version, action, yearList, file, sha256, changedList, reason, operatorName, v.at)
            let data = try calendarMessage(v, calendar: cal)
            for node in try db.all("SELECT node_id FROM township ORDER BY node_id", map: { $0.text(0) }) {
                try emit(to: node, kind: "calendar.version", data: data)
            }
            var detail = "v\(version) years=\(yearList) file=\(file) sha256:\(sha256.prefix(16))"
            if !changed.isEmpty { detail += " changed=\(changedList)" }
            if !reason.isEmpty { detail += " reason=\(reason)" }
            return (v, detail)
        })
    }

    /// The `calendar.version` message: the version and the whole calendar (`docs/protocol.md`).
    func calendarMessage(_ v: CalendarVersion, calendar cal: WorkCalendar) throws -> JSONValue {
        [
            "version": .int(Int64(v.version)), "action": .string(v.action),
            "years": .array(cal.years.sorted().map { .int(Int64($0)) }),
            "changed": .array(v.changed.map { .string($0) }), "reason": .string(v.reason),
            "tsv": .string(cal.tsv),
        ]
    }

    /// Queues the current calendar for a township enrolled after a publication (once).
    func sendCurrentCalendar(to node: String) throws {
        guard let last = try calendarVersions().last,
              try db.integer("SELECT count(*) FROM downstream WHERE node_id = ? AND kind = 'calendar.version'", node) == 0 else { return }
        try emit(to: node, kind: "calendar.version", data: try calendarMessage(last, calendar: try calendar))
    }

    /// Reads a holiday-arrangement file (no symbolic links, bounded size) and checks it whole.
    static func readCalendarFile(_ path: String) throws -> (WorkCalendar, file: String, sha256: String) {
        let bytes = try ExchangeFile.read(path: path, maximumBytes: 1 << 20)
        let file = (path as NSString).lastPathComponent
        let text = String(decoding: try TextDecoding.decode(bytes, file: file).utf8, as: UTF8.self)
        let cal = try WorkCalendar(tsv: text, file: file)
        guard !cal.years.isEmpty else {
            throw YKTError(.calendarFile, "文件中没有任何日期", at: SourceLocation(file: file),
                           hint: "按 data/cn-holidays.tsv 的格式填写：日期<TAB>holiday|workday<TAB>名称")
        }
        return (cal, file, Hex.encode(SHA256.hash(bytes)))
    }

    static func list(_ years: [Int]) -> String { years.map(String.init).joined(separator: "、") }
}
