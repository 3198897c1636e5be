import Foundation
import YKTCore
import YKTTransport
#if canImport(Glibc)
import Glibc
#endif

/// Where a command writes: stdout for results, stderr for messages and progress. Tests run
/// the binary and read both.
struct Output: Sendable {
    func line(_ text: String = "") { Self.write(1, text + "\n") }
    func message(_ text: String) { Self.write(2, text + "\n") }

    /// Writes all of `text` to `fd` with `write(2)`, as `FileHandle` did, without a `Data` made
    /// for it through generic code first. A write to standard output that fails (a full disk, a
    /// closed pipe) is remembered: the command's result stops there, and `YKTCommandLine.main`
    /// says so and ends with a non-zero status (`FileHandle` stopped the program instead).
    static func write(_ fd: Int32, _ text: String) {
        var text = text
        text.withUTF8 { write(fd, bytes: UnsafeRawBufferPointer($0)) }
    }

    static func write(_ fd: Int32, bytes buffer: UnsafeRawBufferPointer) {
        var at = 0
        while at < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + at, buffer.count - at)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                if fd == 1 { stdoutFailure.note(n < 0 ? errno : EIO) }
                return
            }
            at += n
        }
    }

    /// The first failed write to standard output, if any (its `errno`).
    static let stdoutFailure = WriteFailure()

    final class WriteFailure: @unchecked Sendable {
        // Safe: `first` is read and written under `lock`.
        private let lock = NSLock()
        private var first: Int32?
        func note(_ code: Int32) { lock.withLock { if first == nil { first = code } } }
        var code: Int32? { lock.withLock { first } }
    }

    /// Whether messages go to a terminal (progress is shown only there).
    var isTerminal: Bool { isatty(2) == 1 }

    /// A progress line on the terminal, written over itself.
    func progress(_ text: String) { Self.write(2, "\r\u{1B}[K" + text) }

    /// Clears the progress line.
    func clearProgress() { Self.write(2, "\r\u{1B}[K") }

    /// A JSON array written one element at a time, as `json` would write the whole array
    /// (pretty, keys sorted), so that a long list is never held whole: `element` each, then
    /// `finish`. Output is gathered and written 64 KiB at a time.
    final class JSONArrayWriter {
        private let encoder = JSONEncoder()
        private var buffer: [UInt8] = []
        private var count = 0

        init() {
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            buffer.reserveCapacity(1 << 16)
            buffer.append(contentsOf: "[\n".utf8)
        }

        func element<T: Encodable>(_ value: T) throws {
            if count > 0 { buffer.append(contentsOf: ",\n".utf8) }
            count += 1
            // The element as the array's encoding indents it: two spaces before every line.
            buffer.append(contentsOf: "  ".utf8)
            try encoder.encode(value).withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
                var start = 0
                for i in bytes.indices where bytes[i] == UInt8(ascii: "\n") {
                    buffer.append(contentsOf: bytes[start...i])
                    buffer.append(contentsOf: "  ".utf8)
                    start = i + 1
                }
                buffer.append(contentsOf: bytes[start...])
            }
            if buffer.count >= 1 << 16 { flush() }
        }

        func finish() {
            buffer.append(contentsOf: "\n]\n".utf8)
            flush()
        }

        private func flush() {
            buffer.withUnsafeBytes { Output.write(1, bytes: $0) }
            buffer.removeAll(keepingCapacity: true)
        }
    }

    /// Pretty, key-sorted JSON of any `Encodable`.
    func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        line(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// A table whose columns line up by display width (Chinese characters count two).
    /// A cell or field value on one line: a line break, carriage return, tab or other control
    /// character in text from outside (a complaint typed on the public page) becomes a space, so
    /// it can neither start a forged row nor overwrite one.
    static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == "\u{2028}" || $0 == "\u{2029}" })
        else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map {
            $0.properties.generalCategory == .control || $0 == "\u{2028}" || $0 == "\u{2029}" ? " " : $0
        }))
    }

    func table(_ headers: [String], _ rows: [[String]], rightAligned: Set<Int> = []) {
        try? table(headers, rightAligned: rightAligned) { emit in rows.forEach(emit) }
    }

    /// `table` of the rows `rows` gives, each kept as one string (its cells made one-line and
    /// joined by U+001F, which `oneLine` leaves in no cell) until the columns are measured: a
    /// register's listing is a hundred thousand lines. Written 64 KiB at a time.
    func table(_ headers: [String], rightAligned: Set<Int> = [], rows: (_ emit: ([String]) -> Void) throws -> Void) throws {
        var widths = headers.map(DisplayWidth.of)
        var kept: [String] = []
        try rows { row in
            let cells = row.map(Self.oneLine)
            for (i, cell) in cells.enumerated() where i < widths.count { widths[i] = max(widths[i], DisplayWidth.of(cell)) }
            kept.append(cells.joined(separator: "\u{1F}"))
        }
        func render<S: StringProtocol>(_ cells: [S]) -> String {
            var text = cells.enumerated().map { i, c in
                DisplayWidth.pad(String(c), to: widths[i], right: rightAligned.contains(i))
            }.joined(separator: "  ").unicodeScalars
            // No trailing white space (scalar by scalar: a combining mark after a space stays).
            while let last = text.last, last.properties.isWhitespace { text.removeLast() }
            return String(text)
        }
        var page = render(headers) + "\n" + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for row in kept {
            page += render(row.split(separator: "\u{1F}", omittingEmptySubsequences: false))
            page += "\n"
            if page.utf8.count >= 1 << 16 {
                Self.write(1, page)
                page = ""
            }
        }
        Self.write(1, page)
    }

    /// The two files of a printed document, one path per line.
    func paths(_ p: (html: String, csv: String)) {
        line(p.html)
        line(p.csv)
    }

    /// `key: value` lines with keys padded to one width.
    func fields(_ pairs: [(String, String)]) {
        let w = pairs.map { DisplayWidth.of($0.0) }.max() ?? 0
        for (k, v) in pairs { line(DisplayWidth.pad(k, to: w) + "  " + Self.oneLine(v)) }
    }

    /// Reports an error on stderr: code, place, what, and what to do; then every detail. With
    /// `json` (the command was given `--json`), the same as one JSON object, for scripts.
    func report(_ error: YKTError, json: Bool) {
        guard json else { return report(error) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(ErrorReport(error: .init(error, exit: error.code.exitStatus.rawValue))))
            .map { String(decoding: $0, as: UTF8.self) } ?? #"{"error":{"code":"\#(error.code.rawValue)"}}"#
        message(body)
    }

    /// The JSON shape of a reported error (`docs/errors.md`).
    struct ErrorReport: Encodable {
        struct Entry: Encodable {
            var code: String
            var exit: Int32?
            var message: String
            var file: String?
            var line: Int?
            var field: String?
            var hint: String?
            var details: [Entry]?
            /// With many problems, `details` holds the first `ProblemSummary.perCode` of each code
            /// (as the text summary does); these give the whole count, in all and by code.
            var detailsTotal: Int?
            var detailCounts: [String: Int]?

            init(_ e: YKTError, exit: Int32?) {
                code = e.code.rawValue
                self.exit = exit
                message = e.message
                file = e.location?.file
                line = e.location?.line
                field = e.location?.field
                hint = e.hint
                guard !e.details.isEmpty else { return }
                var counts: [String: Int] = [:]
                var kept: [Entry] = []
                for d in e.details {
                    counts[d.code.rawValue, default: 0] += 1
                    if counts[d.code.rawValue]! <= ProblemSummary.perCode { kept.append(Entry(d, exit: nil)) }
                }
                details = kept
                detailsTotal = e.details.count
                detailCounts = counts
            }
        }
        var error: Entry
    }

    func report(_ error: YKTError) {
        var text = "错误 \(error.description)"
        for line in ProblemSummary.lines(error.details) { text += "\n" + line }
        message(text)
    }
}

/// Shows progress of long imports when stderr is a terminal.
final class Progress: @unchecked Sendable {
    // Safe: called only from the single thread running the command.
    private var last = ""
    static var enabled: Bool { isatty(STDERR_FILENO) == 1 }

    func update(_ phase: String, _ done: Int, _ total: Int) {
        guard Progress.enabled, total > 0 else { return }
        let text = "\r\(phase) \(done)/\(total) 行（\(done * 100 / total)%）"
        if text != last {
            Output.write(2, text)
            last = text
        }
        if done == total { Output.write(2, "\n") }
    }
}

/// `ykt sync`'s progress on a terminal: change sets, operations and bytes sent, at most five
/// updates a second.
final class SyncProgressLine: @unchecked Sendable {
    // Safe: `last` is guarded by `lock`.
    private let out: Output
    private let lock = NSLock()
    private var last: Date?

    init(out: Output) { self.out = out }

    @Sendable func show(_ p: TownshipSync.Progress) {
        let now = Date()
        let due: Bool = lock.withLock {
            if let last, now.timeIntervalSince(last) < 0.2 { return false }
            last = now
            return true
        }
        guard due else { return }
        out.progress(String(format: "已发送：变更集 %d 个，操作 %d 条，%.1f MB", p.changeSets, p.operations, Double(p.bytesSent) / 1e6))
    }
}
