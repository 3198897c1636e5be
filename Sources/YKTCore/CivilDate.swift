import Foundation

/// A calendar date with no time and no zone: the day as a Chinese office counts it.
///
/// Business dates (notice opened, closed, period) are always `CivilDate`s. "Today" is the date in
/// China Standard Time (UTC+8, no daylight saving), whatever the machine's zone.
public struct CivilDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Validating initialiser: nil when the day does not exist (2026-02-29).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              day >= 1, day <= CivilDate.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    public static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Parses `YYYY-MM-DD` (also `YYYY/MM/DD` and `YYYYMMDD`, as spreadsheets write them).
    public init(parsing text: String) throws(YKTError) {
        // The usual form, read straight from its bytes (bank files carry one date a line).
        var fast: CivilDate?
        if text.utf8.count == 10 {
            fast = text.utf8.withContiguousStorageIfAvailable { Self.iso($0) } ?? nil
        }
        if let fast {
            self = fast
            return
        }
        let trimmed = text.trimmed
        let digits: [Substring]
        if trimmed.contains("-") {
            digits = trimmed.split(separator: "-", omittingEmptySubsequences: false)
        } else if trimmed.contains("/") {
            digits = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        } else if trimmed.count == 8, trimmed.allSatisfy(\.isASCIIDigit) {
            let s = Substring(trimmed)
            digits = [s.prefix(4), s.dropFirst(4).prefix(2), s.suffix(2)]
        } else {
            digits = []
        }
        guard digits.count == 3, digits.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }),
              digits[0].count == 4,
              let y = Int(digits[0]), let m = Int(digits[1]), let d = Int(digits[2]),
              let date = CivilDate(year: y, month: m, day: d) else {
            throw YKTError(.dateInvalid, "日期「\(text)」无效", hint: "请写成 YYYY-MM-DD，例如 2026-03-02")
        }
        self = date
    }

    /// `YYYY-MM-DD` in exactly 10 bytes, or nil.
    static func iso(_ b: UnsafeBufferPointer<UInt8>) -> CivilDate? {
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { return nil }
        func number(_ r: Range<Int>) -> Int? {
            var n = 0
            for i in r {
                let d = b[i] &- 48
                guard d <= 9 else { return nil }
                n = n * 10 + Int(d)
            }
            return n
        }
        guard let y = number(0..<4), let m = number(5..<7), let d = number(8..<10) else { return nil }
        return CivilDate(year: y, month: m, day: d)
    }

    /// `2026-03-02`
    public var description: String {
        if year >= 1000 {
            return String(unsafeUninitializedCapacity: 10) { out in
                var n = year
                for i in (0..<4).reversed() { out[i] = UInt8(48 + n % 10); n /= 10 }
                out[4] = UInt8(ascii: "-")
                out[5] = UInt8(48 + month / 10); out[6] = UInt8(48 + month % 10)
                out[7] = UInt8(ascii: "-")
                out[8] = UInt8(48 + day / 10); out[9] = UInt8(48 + day % 10)
                return 10
            }
        }
        let y = String(year)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + ChinaTime.two(month) + "-" + ChinaTime.two(day)
    }

    /// `2026年3月2日`
    public var chinese: String { "\(year)年\(month)月\(day)日" }

    /// Days since 1970-01-01 (proleptic Gregorian), by Howard Hinnant's `days_from_civil`.
    public var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The inverse of `dayNumber` (`civil_from_days`).
    public init(dayNumber z0: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.month = m
        self.day = d
    }

    public func adding(days: Int) -> CivilDate { CivilDate(dayNumber: dayNumber + days) }

    /// ISO weekday: 1 = Monday … 7 = Sunday. 1970-01-01 was a Thursday.
    public var weekday: Int {
        let w = (dayNumber % 7 + 7 + 3) % 7   // 0 = Monday
        return w + 1
    }

    public var isWeekend: Bool { weekday >= 6 }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { a.dayNumber < b.dayNumber }

    /// China Standard Time: UTC+8 all year.
    public static let chinaTimeZone = TimeZone(secondsFromGMT: 8 * 3600)!

    /// The date in China at `instant`.
    public static func inChina(at instant: Date = Date()) -> CivilDate {
        let seconds = Int(instant.timeIntervalSince1970.rounded(.down)) + 8 * 3600
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        return CivilDate(dayNumber: days)
    }

    /// The instant this date, at `hour`:`minute` China time, begins.
    public func instantInChina(hour: Int = 0, minute: Int = 0) -> Date {
        Date(timeIntervalSince1970: TimeInterval(dayNumber * 86_400 - 8 * 3600 + hour * 3600 + minute * 60))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try CivilDate(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }
}

/// An ISO-8601 timestamp in China time, `2026-03-02T09:15:04+08:00`, for audit and outbox records.
public enum ChinaTime {
    public static func timestamp(_ instant: Date = Date()) -> String {
        let total = Int(instant.timeIntervalSince1970.rounded(.down)) + 8 * 3600
        return clock(total) + "+08:00"
    }

    /// `2026-03-02T14:05:09.123+08:00`: to the millisecond (truncated), for log lines.
    public static func timestampMilliseconds(_ instant: Date = Date()) -> String {
        // Through whole microseconds first, so that a Double a hair under .123 still shows .123.
        let micros = Int((instant.timeIntervalSince1970 * 1_000_000).rounded())
        let ms = micros >= 0 ? micros / 1000 : (micros - 999) / 1000
        let millis = ((ms % 1000) + 1000) % 1000
        let total = (ms - millis) / 1000 + 8 * 3600
        let frac = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return clock(total) + "." + frac + "+08:00"
    }

    /// `YYYY-MM-DDThh:mm:ss` for `total` seconds since 1970-01-01 00:00 in the same zone.
    private static func clock(_ total: Int) -> String {
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let secs = total - days * 86_400
        let date = CivilDate(dayNumber: days)
        return date.description + "T" + two(secs / 3600) + ":" + two(secs / 60 % 60) + ":" + two(secs % 60)
    }

    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)"
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
