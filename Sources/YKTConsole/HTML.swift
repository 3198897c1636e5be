import Foundation
import YKTCore
import YKTNode

/// A piece of HTML. Built by interpolation, where every `String` (or number) is escaped and
/// only another `HTML` goes in as it is: text typed by anyone (a name, a reason, a file's cell)
/// can never become markup.
///
///     let row: HTML = "<td>\(person.name)</td>"
public struct HTML: ExpressibleByStringInterpolation, Sendable, Equatable {
    public var text: String

    public init(stringLiteral value: String) { text = value }
    public init(stringInterpolation: StringInterpolation) { text = stringInterpolation.text }
    /// Markup made by the program itself (never from input).
    public init(trusted text: String) { self.text = text }

    public static let empty = HTML(trusted: "")

    public struct StringInterpolation: StringInterpolationProtocol {
        var text = ""
        public init(literalCapacity: Int, interpolationCount: Int) { text.reserveCapacity(literalCapacity + 16 * interpolationCount) }
        public mutating func appendLiteral(_ literal: String) { text += literal }
        public mutating func appendInterpolation(_ value: String) { text += HTML.escape(value) }
        public mutating func appendInterpolation(_ value: String?) { text += HTML.escape(value ?? "") }
        public mutating func appendInterpolation(_ value: Int) { text += String(value) }
        public mutating func appendInterpolation(_ value: Int64) { text += String(value) }
        public mutating func appendInterpolation(_ value: HTML) { text += value.text }
        public mutating func appendInterpolation(_ value: [HTML]) { for v in value { text += v.text } }
    }

    public static func + (a: HTML, b: HTML) -> HTML { HTML(trusted: a.text + b.text) }
    public static func += (a: inout HTML, b: HTML) { a.text += b.text }

    /// Escapes the five characters that matter in text and in quoted attribute values.
    public static func escape(_ s: String) -> String {
        guard s.contains(where: { $0 == "&" || $0 == "<" || $0 == ">" || $0 == "\"" || $0 == "'" }) else { return s }
        return NoticeDocument.escape(s)
    }

    /// Joins pieces with `separator`.
    public static func join(_ parts: [HTML], _ separator: HTML = .empty) -> HTML {
        HTML(trusted: parts.map(\.text).joined(separator: separator.text))
    }
}

/// The building blocks pages share: tables, definition lists, boxes, links with query strings.
public enum Markup {
    /// A table with a header row; columns in `numeric` are right-aligned (money, counts).
    /// `caption`, when given, is read out by screen readers and printed above.
    public static func table(_ headers: [String], _ rows: [[HTML]], numeric: Set<Int> = [], caption: String? = nil,
                             empty: String = "（没有记录）") -> HTML {
        if rows.isEmpty { return "<p class=\"empty\">\(empty)</p>" }
        var out: HTML = "<div class=\"table-wrap\"><table>"
        if let caption { out += "<caption>\(caption)</caption>" }
        out += "<thead><tr>"
        for (i, h) in headers.enumerated() { out += numeric.contains(i) ? "<th class=\"num\">\(h)</th>" : "<th>\(h)</th>" }
        out += "</tr></thead><tbody>"
        for row in rows {
            out += "<tr>"
            for (i, cell) in row.enumerated() { out += numeric.contains(i) ? "<td class=\"num\">\(cell)</td>" : "<td>\(cell)</td>" }
            out += "</tr>"
        }
        return out + "</tbody></table></div>"
    }

    /// Label–value pairs (a record's fields).
    public static func fields(_ pairs: [(String, HTML)]) -> HTML {
        var out: HTML = "<dl class=\"fields\">"
        for (k, v) in pairs { out += "<dt>\(k)</dt><dd>\(v)</dd>" }
        return out + "</dl>"
    }

    /// A link whose query string is built from `query` (each value percent-encoded).
    public static func link(_ path: String, _ label: String, query: [(String, String)] = [], className: String? = nil) -> HTML {
        let href = url(path, query: query)
        if let className { return "<a class=\"\(className)\" href=\"\(href)\">\(label)</a>" }
        return "<a href=\"\(href)\">\(label)</a>"
    }

    public static func url(_ path: String, query: [(String, String)] = []) -> String {
        let q = query.filter { !$0.1.isEmpty }.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
        return q.isEmpty ? path : path + "?" + q
    }

    public static func percentEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(b)))
            default:
                out += "%" + String(b, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// A box saying something went well (`ok`), needs attention (`warn`) or failed (`error`).
    public static func box(_ kind: String, _ body: HTML) -> HTML {
        "<div class=\"box \(kind)\" role=\"\(kind == "error" ? "alert" : "status")\">\(body)</div>"
    }

    /// An error as the CLI says it: code, what, where, what to do; and the first details.
    public static func error(_ e: YKTError) -> HTML {
        var out: HTML = "<p><strong>[\(e.code.rawValue)]</strong> \(e.message)</p>"
        if let at = e.location?.chinese, !at.isEmpty { out += "<p>位置：\(at)</p>" }
        if let hint = e.hint { out += "<p>怎么办：\(hint)</p>" }
        if !e.details.isEmpty {
            out += "<ul>"
            for d in e.details.prefix(20) {
                out += "<li>[\(d.code.rawValue)] \(d.location?.chinese ?? "") \(d.message)</li>"
            }
            if e.details.count > 20 { out += "<li>……共 \(e.details.count) 处</li>" }
            out += "</ul>"
        }
        return box("error", out)
    }

    /// A job's progress lines, then, once it is done, its error or `done`; while it runs the
    /// page reloads itself every second (with JavaScript, or the `noscript` refresh without).
    public static func progress(_ job: ConsoleJob, running: String, done: HTML, id: String = "job-progress",
                                resultID: String? = nil) -> HTML {
        var body: HTML = "<pre class=\"progress\" id=\"\(id)\">\(job.progress.joined(separator: "\n"))</pre>"
        if !job.isFinished {
            return "<p data-refresh>\(running)……（页面每秒刷新）</p><noscript><meta http-equiv=\"refresh\" content=\"1\"></noscript>" + body
        }
        let result = job.error.map(error) ?? box("ok", done)
        body += resultID.map { "<div id=\"\($0)\">\(result)</div>" } ?? result
        return body
    }

    /// Money in yuan with grouping, from fen.
    public static func yuan(_ fen: Int64) -> String { Fen(fen).yuanGrouped }

    /// `2026-10-13T08:00:02+08:00` (China time, as stored) → `2026-10-13 08:00:02`.
    public static func when(_ timestamp: String) -> String {
        guard timestamp.count >= 19, timestamp.hasSuffix("+08:00") else { return timestamp }
        return timestamp.prefix(19).replacingOccurrences(of: "T", with: " ")
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
