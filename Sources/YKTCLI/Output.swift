import Foundation
import YKTCore

/// Where a command writes: stdout for results, stderr for messages and progress. Tests run
/// the binary and read both.
struct Output: Sendable {
    func line(_ text: String = "") { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
    func message(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

    /// Pretty, key-sorted JSON of any `Encodable`.
    func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        line(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// A table whose columns line up by display width (Chinese characters count two).
    func table(_ headers: [String], _ rows: [[String]], rightAligned: Set<Int> = []) {
        var widths = headers.map(DisplayWidth.of)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], DisplayWidth.of(cell)) }
        }
        func render(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                DisplayWidth.pad(c, to: widths[i], right: rightAligned.contains(i))
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        line(render(headers))
        line(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        for row in rows { line(render(row)) }
    }

    /// The two files of a printed document, one path per line.
    func paths(_ p: (html: String, csv: String)) {
        line(p.html)
        line(p.csv)
    }

    /// `key: value` lines with keys padded to one width.
    func fields(_ pairs: [(String, String)]) {
        let w = pairs.map { DisplayWidth.of($0.0) }.max() ?? 0
        for (k, v) in pairs { line(DisplayWidth.pad(k, to: w) + "  " + v) }
    }

    /// Reports an error on stderr: code, place, what, and what to do; then every detail.
    func report(_ error: YKTError) {
        var text = "错误 \(error.description)"
        if !error.details.isEmpty {
            text += "\n共 \(error.details.count) 处问题："
            for d in error.details { text += "\n  - " + d.description }
        }
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
            FileHandle.standardError.write(Data(text.utf8))
            last = text
        }
        if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
