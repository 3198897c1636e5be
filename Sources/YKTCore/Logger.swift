import Foundation

/// How much a log line matters. A logger writes the lines at or above its `level`.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    /// Detail for finding a fault; off in normal running.
    case debug
    /// What the node did (a change set received, a round synced).
    case info
    /// Normal but worth an administrator's eye (a replay answered, a checkpoint recovered).
    case notice
    /// Something went wrong and was handled, or will be retried (a refused connection).
    case warning
    /// Something failed and needs a person (a checkpoint failing, storage full).
    case error

    /// The name written in each line: `debug`, `info`, `notice`, `warning`, `error`.
    public var description: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "error"
        }
    }

    /// The level named `name` (as written in lines and in `node.conf`), or nil.
    public init?(name: String) {
        guard let level = Self.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = level
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// A logger in the manner of swift-log: a cheap value with a label, a level and `key=value`
/// metadata, handed to whatever logs (libraries accept a logger rather than make one). Copies
/// share the `LogWriter`; changing a copy's level or metadata changes only that copy.
///
/// A text line (the default) reads
///
///     2026-03-02T14:05:09.123+08:00 info ykt.serve: change set applied peer=450223101 seq=17 ops=290 ms=85
///
/// the time in China (UTC+8, to the millisecond), the level, the label, the message, then the
/// metadata in a stable order: the logger's own keys in the order they were set, then the
/// call's. The message, and any value holding a space, `=`, `"`, `\` or a control character
/// (or empty), is written as a double-quoted JSON string literal (`"a \"b\"\nc"`), so a line is
/// always one line and splits unambiguously: a bare message holds no `=`, so the pairs begin at
/// the first word holding one. `Format.jsonLines` writes one JSON object per line instead:
/// `{"time":…,"level":…,"label":…,"message":…,"metadata":{…}}`.
///
/// As a last safeguard for personal data, a run of 11 or more digits that stands alone in a
/// message or value (a resident ID, an account number, a mobile phone number) is masked as the
/// conventions say (`Masking`); callers still never pass such data.
public struct Logger: Sendable {
    /// One line of text, or one JSON object, per event.
    public enum Format: Sendable {
        case text
        case jsonLines
    }

    /// Who logs: `ykt.serve`, `ykt.sync`. Kept to letters, digits, `.`, `_` and `-`.
    public var label: String {
        didSet { label = Self.token(label) }
    }
    /// The lowest level written.
    public var level: LogLevel
    public var format: Format
    /// Metadata added to every line, in the order the keys were first set.
    public private(set) var metadata: [(key: String, value: String)]
    public let writer: LogWriter
    /// The time each line is stamped with (injectable for tests).
    public var clock: @Sendable () -> Date

    /// Longest message and value written, in characters; longer ones are cut with `…`.
    public static let maximumMessageLength = 2_048
    public static let maximumValueLength = 512

    public init(label: String, level: LogLevel = .info, format: Format = .text, writer: LogWriter = .standardError,
                metadata: KeyValuePairs<String, String> = [:], clock: @escaping @Sendable () -> Date = { Date() }) {
        self.label = Self.token(label)
        self.level = level
        self.format = format
        self.writer = writer
        self.metadata = []
        self.clock = clock
        for (key, value) in metadata { self[metadataKey: key] = value }
    }

    /// The value of one metadata key; setting `nil` removes it. A key already set keeps its place.
    public subscript(metadataKey key: String) -> String? {
        get { metadata.first { $0.key == Self.token(key) }?.value }
        set {
            let key = Self.token(key)
            if let i = metadata.firstIndex(where: { $0.key == key }) {
                if let newValue { metadata[i].value = newValue } else { metadata.remove(at: i) }
            } else if let newValue {
                metadata.append((key, newValue))
            }
        }
    }

    /// A copy with more metadata (for one connection, one township): `logger.with(["peer": code])`.
    public func with(_ more: KeyValuePairs<String, String>) -> Logger {
        var copy = self
        for (key, value) in more { copy[metadataKey: key] = value }
        return copy
    }

    /// Whether a line at `level` would be written.
    public func isEnabled(_ level: LogLevel) -> Bool { level >= self.level }

    /// Writes one line if `level` is enabled; the message is not even built otherwise.
    public func log(_ level: LogLevel, _ message: @autoclosure () -> String, _ metadata: KeyValuePairs<String, String> = [:]) {
        guard isEnabled(level) else { return }
        writer.write(line(level, message(), Array(metadata)))
    }

    /// The same, with metadata made at run time (pairs in order).
    public func log(_ level: LogLevel, _ message: String, pairs: [(key: String, value: String)]) {
        guard isEnabled(level) else { return }
        writer.write(line(level, message, pairs))
    }

    public func debug(_ message: @autoclosure () -> String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.debug, message(), metadata)
    }
    public func info(_ message: @autoclosure () -> String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.info, message(), metadata)
    }
    public func notice(_ message: @autoclosure () -> String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.notice, message(), metadata)
    }
    public func warning(_ message: @autoclosure () -> String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.warning, message(), metadata)
    }
    public func error(_ message: @autoclosure () -> String, _ metadata: KeyValuePairs<String, String> = [:]) {
        log(.error, message(), metadata)
    }

    /// The line `log` would write now (without its newline), whatever the level.
    public func line(_ level: LogLevel, _ message: String, _ metadata: [(key: String, value: String)] = []) -> String {
        var pairs = self.metadata
        for (key, value) in metadata {
            let key = Self.token(key)
            if let i = pairs.firstIndex(where: { $0.key == key }) { pairs[i].value = value } else { pairs.append((key, value)) }
        }
        let time = ChinaTime.timestampMilliseconds(clock())
        let text = Self.clean(message, limit: Self.maximumMessageLength)
        switch format {
        case .text:
            var out = time + " " + level.description + " " + label + ": "
            out += text.isEmpty || Self.needsQuotes(text, allowSpaces: true) ? Self.quoted(text) : text
            for (key, value) in pairs {
                let v = Self.clean(value, limit: Self.maximumValueLength)
                out += " " + key + "=" + (v.isEmpty || Self.needsQuotes(v, allowSpaces: false) ? Self.quoted(v) : v)
            }
            return out
        case .jsonLines:
            var out = "{\"time\":" + Self.quoted(time) + ",\"level\":" + Self.quoted(level.description)
            out += ",\"label\":" + Self.quoted(label) + ",\"message\":" + Self.quoted(text) + ",\"metadata\":{"
            out += pairs.map { Self.quoted($0.key) + ":" + Self.quoted(Self.clean($0.value, limit: Self.maximumValueLength)) }
                .joined(separator: ",")
            return out + "}}"
        }
    }

    // MARK: Text rules

    /// A label or key: letters, digits, `.`, `_`, `-`; anything else becomes `_`.
    static func token(_ s: String) -> String {
        let kept = String(String.UnicodeScalarView(s.unicodeScalars.map { scalar -> Unicode.Scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "._-".unicodeScalars.contains(scalar)) ? scalar : "_"
        }))
        return kept.isEmpty ? "_" : kept
    }

    /// Written inside quotes: a space (for values), `=`, `"`, `\`, or a control or line-break character.
    static func needsQuotes(_ s: String, allowSpaces: Bool) -> Bool {
        if allowSpaces, s.first?.isWhitespace == true || s.last?.isWhitespace == true { return true }
        return s.unicodeScalars.contains { c in
            c == "=" || c == "\"" || c == "\\" || mustEscape(c) || (!allowSpaces && c.properties.isWhitespace)
        }
    }

    static func mustEscape(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator, .format: return true
        default: return false
        }
    }

    /// `s` as a JSON string literal: `"`, `\` and control characters escaped; other text as is.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if mustEscape(c) {
                    for unit in String(c).utf16 { out += "\\u" + String(repeating: "0", count: 4 - String(unit, radix: 16).count) + String(unit, radix: 16) }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }

    /// `s` cut to `limit` characters and with long digit runs masked.
    static func clean(_ s: String, limit: Int) -> String {
        let cut = s.count > limit ? String(s.prefix(limit - 1)) + "…" : s
        return maskDigitRuns(cut)
    }

    /// Masks each run of 11 or more ASCII digits (an 18-character ID may end in X) that no
    /// ASCII letter or digit touches: a resident ID keeps region and last 4, a phone its first 3 and
    /// last 4, anything else (an account) its first and last 4. Hex hashes are left alone.
    static func maskDigitRuns(_ s: String) -> String {
        let chars = Array(s)
        guard chars.count >= 11 else { return s }
        func isDigit(_ c: Character) -> Bool { c.isASCII && c.isNumber }
        // ASCII only: a hex hash's letters protect its digits; Chinese text next to an ID does not.
        func isWordy(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        var out = ""
        var i = 0
        while i < chars.count {
            guard isDigit(chars[i]), i == 0 || !isWordy(chars[i - 1]) else {
                out.append(chars[i])
                i += 1
                continue
            }
            var j = i
            while j < chars.count, isDigit(chars[j]) { j += 1 }
            if j - i == 17, j < chars.count, chars[j] == "X" || chars[j] == "x" { j += 1 }
            let run = String(chars[i..<j])
            if run.count >= 11, j == chars.count || !isWordy(chars[j]) {
                out += run.count == 18 ? Masking.residentID(run)
                    : run.count == 11 && run.first == "1" ? Masking.phone(run) : Masking.account(run)
            } else {
                out += run
            }
            i = j
        }
        return out
    }
}
