import YKTCore
import YKTStore

/// The working-day calendar at a township: the county's, as the last `calendar.version`
/// message brought it (`docs/conventions.md`, "One calendar for the county").
extension TownshipNode {
    /// Which version of the county's calendar this township uses.
    public struct CalendarInfo: Sendable, Codable {
        /// The county's version number; nil when none has arrived yet.
        public var version: Int?
        public var years: [Int]
        /// `publish` or `correct`: what made this version at the county.
        public var action: String?
        /// Dates whose working-day status the version changed, and why (a correction).
        public var changed: [String]
        public var reason: String?
        /// When the county signed the message, and when it was stored here.
        public var publishedAt: String?
        public var receivedAt: String?
        public var days: Int
    }

    public func calendarInfo() throws -> CalendarInfo {
        func meta(_ key: String) throws -> String? {
            try db.first("SELECT value FROM meta WHERE key = ?", key) { $0.text(0) }
        }
        return CalendarInfo(version: try meta("calendar_version").flatMap { Int($0) }, years: calendar.years.sorted(),
                            action: try meta("calendar_action"),
                            changed: (try meta("calendar_changed") ?? "").split(separator: ",").map(String.init),
                            reason: try meta("calendar_reason"), publishedAt: try meta("calendar_published_at"),
                            receivedAt: try meta("calendar_received_at"), days: calendar.entries.count)
    }

    /// Applies a `calendar.version` message (already verified as the county's, in order):
    /// the whole calendar it carries replaces the one here. Must run inside the pull's transaction.
    func applyCalendar(_ body: JSONValue) throws {
        let data = body["data"] ?? .null
        guard let version = data["version"]?.intValue, version >= 1, let tsv = data["tsv"]?.stringValue,
              case .array(let years)? = data["years"] else {
            throw YKTError(.syncBody, "工作日历消息缺少版本、年度或内容")
        }
        let cal = try WorkCalendar(tsv: tsv, file: "县财政工作日历第 \(version) 版")
        guard Set(years.compactMap(\.intValue).map(Int.init)) == cal.years else {
            throw YKTError(.syncBody, "工作日历第 \(version) 版所列年度与内容不符", hint: "报告县财政系统管理员")
        }
        if let held = try db.first("SELECT value FROM meta WHERE key = 'calendar_version'", map: { Int($0.text(0)) ?? 0 }),
           held >= version {
            throw YKTError(.syncBody, "工作日历第 \(version) 版不比本节点已有的第 \(held) 版新", hint: "报告县财政系统管理员")
        }
        try db.run("DELETE FROM county_calendar_day")
        let insert = try db.statement("INSERT INTO county_calendar_day(date, kind, name) VALUES (?, ?, ?)")
        for e in cal.entries.values.sorted(by: { $0.date < $1.date }) {
            try insert.run([e.date.description, e.kind.rawValue, e.name])
        }
        let changed: [String] = {
            guard case .array(let c)? = data["changed"] else { return [] }
            return c.compactMap(\.stringValue)
        }()
        let values: [(String, String)] = [
            ("calendar_version", String(version)), ("calendar_action", data["action"]?.stringValue ?? ""),
            ("calendar_changed", changed.joined(separator: ",")), ("calendar_reason", data["reason"]?.stringValue ?? ""),
            ("calendar_published_at", body["at"]?.stringValue ?? ""), ("calendar_received_at", timestamp()),
        ]
        for (key, value) in values {
            try db.run("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value)
        }
    }
}
