import Foundation

/// One record of a CSV file, with the physical line it started on (1-based, header included).
public struct CSVRecord: Sendable {
    public var line: Int
    public var fields: [String]
    public init(line: Int, fields: [String]) {
        self.line = line
        self.fields = fields
    }
}

/// A small RFC 4180 reader over UTF-8 bytes: quoted fields with `""` escapes and embedded line
/// breaks, CRLF or LF line ends, comma or tab separators (tab is chosen when the first line
/// has tabs and no commas, as Excel's "Unicode text" export does). Blank lines are skipped,
/// and with `skipsEmptyRows` also rows of separators only (`,,,,`, what a spreadsheet saves for
/// a row it once touched).
public struct CSVReader: Sendable {
    public let file: String
    public let separator: UInt8
    /// Skip rows whose every field is empty (files from people); machine formats keep them.
    public var skipsEmptyRows = false
    private let bytes: [UInt8]

    /// A reader with a known separator (no guessing from the first line).
    public init(utf8 bytes: [UInt8], file: String, separator: UInt8) {
        self.bytes = bytes
        self.file = file
        self.separator = separator
    }

    public init(utf8 bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        var firstLineEnd = bytes.firstIndex(of: 0x0A) ?? bytes.count
        if firstLineEnd > 0, bytes[firstLineEnd - 1] == 0x0D { firstLineEnd -= 1 }
        let first = bytes[..<firstLineEnd]
        separator = first.contains(0x09) && !first.contains(0x2C) ? 0x09 : 0x2C
    }

    /// Reads every record. A quote left open at the end of the file is an error naming its line.
    /// A large file with no quote character at all is read in two halves at once: without
    /// quotes every line end ends a record, so the halves split cleanly at a line end.
    public func records() throws(YKTError) -> [CSVRecord] {
        let n = bytes.count
        guard n >= 1 << 20, System.activeProcessorCount > 1, !containsQuote() else {
            return try records(in: 0..<n, firstLine: 1)
        }
        var mid = n / 2
        while mid < n, bytes[mid] != 0x0A { mid += 1 }
        mid = min(mid + 1, n)
        var linesBefore = 1
        for b in bytes[..<mid] where b == 0x0A { linesBefore += 1 }
        let secondLine = linesBefore, half = mid
        let reader = self
        let second = BackgroundJob { try reader.records(in: half..<n, firstLine: secondLine) }
        var first = try records(in: 0..<half, firstLine: 1)
        do { first += try second.wait() } catch let error as YKTError { throw error } catch {
            preconditionFailure("CSV reading throws only YKTError")
        }
        return first
    }

    private func containsQuote() -> Bool {
        bytes.withUnsafeBufferPointer { buf in
            buf.count > 0 && memchr(buf.baseAddress!, 0x22, buf.count) != nil
        }
    }

    /// The records in `range`, which starts at the beginning of line `firstLine`. Unquoted fields
    /// are made straight from the file's bytes; only quoted ones go through a buffer.
    private func records(in range: Range<Int>, firstLine: Int) throws(YKTError) -> [CSVRecord] {
        try records(in: range, firstLine: firstLine, limit: .max).records
    }

    /// The same, stopping after `limit` records: also returns where the next record starts
    /// and on which line (a record ends at a line end outside quotes, so nothing carries over).
    private func records(in range: Range<Int>, firstLine: Int, limit: Int) throws(YKTError)
        -> (records: [CSVRecord], end: Int, nextLine: Int) {
        try bytes.withUnsafeBufferPointer { (bytes) throws(YKTError) -> (records: [CSVRecord], end: Int, nextLine: Int) in
            // The state lives inside the closure that the local functions share: declared
            // outside it, every access from them was checked for exclusivity at run time
            // (a tenth of reading a register).
            var result: [CSVRecord] = []
            result.reserveCapacity(min(range.count / 64, limit))
            var fields: [String] = []
            var field: [UInt8] = []          // a quoted field's bytes, quotes undone
            field.reserveCapacity(64)
            var line = firstLine
            var recordLine = firstLine
            var i = range.lowerBound
            let n = range.upperBound
            var inQuotes = false
            var quoteLine = 0
            var fieldWasQuoted = false
            var start = i                    // where the current unquoted field began
            func endField(at end: Int) {
                if fieldWasQuoted {
                    fields.append(String(decoding: field, as: UTF8.self))
                    field.removeAll(keepingCapacity: true)
                    fieldWasQuoted = false
                } else {
                    // Unquoted fields are trimmed of surrounding spaces (spreadsheets pad them).
                    var lo = start, hi = end
                    while lo < hi, bytes[lo] == 0x20 { lo += 1 }
                    while hi > lo, bytes[hi - 1] == 0x20 { hi -= 1 }
                    fields.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[lo..<hi]), as: UTF8.self))
                }
            }
            func endRecord(at end: Int) {
                endField(at: end)
                // Only the first field is looked at on the usual row, so this costs nothing there.
                let empty = fields[0].isEmpty && (fields.count == 1 || (skipsEmptyRows && fields.allSatisfy(\.isEmpty)))
                if !empty {
                    result.append(CSVRecord(line: recordLine, fields: fields))
                }
                fields = []
                fields.reserveCapacity(16)
            }
            func onlySpaces(_ lo: Int, _ hi: Int) -> Bool {
                var k = lo
                while k < hi { if bytes[k] != 0x20 { return false }; k += 1 }
                return true
            }
            while i < n {
                let b = bytes[i]
                if inQuotes {
                    if b == 0x22 {
                        if i + 1 < n, bytes[i + 1] == 0x22 {
                            field.append(0x22)
                            i += 2
                            continue
                        }
                        inQuotes = false
                    } else {
                        if b == 0x0A { line += 1 }
                        field.append(b)
                    }
                    i += 1
                    continue
                }
                switch b {
                case 0x22 where fieldWasQuoted ? field.allSatisfy({ $0 == 0x20 }) : onlySpaces(start, i):
                    field.removeAll(keepingCapacity: true)
                    inQuotes = true
                    fieldWasQuoted = true
                    quoteLine = line
                case separator:
                    endField(at: i)
                    start = i + 1
                case 0x0A:
                    endRecord(at: i > start && bytes[i - 1] == 0x0D && !fieldWasQuoted ? i - 1 : i)
                    line += 1
                    recordLine = line
                    start = i + 1
                    if result.count >= limit { return (result, i + 1, line) }
                default:
                    // After a closing quote, bytes join the quoted text (a CR before the line end does not).
                    if fieldWasQuoted && !(b == 0x0D && i + 1 < n && bytes[i + 1] == 0x0A) { field.append(b) }
                }
                i += 1
            }
            if inQuotes {
                throw YKTError(.csvSyntax, "引号没有配对（从这一行开始的引号到文件末尾都没有关上）",
                               at: SourceLocation(file: file, line: quoteLine), hint: "检查这一行的双引号")
            }
            if fieldWasQuoted || start < n || !fields.isEmpty { endRecord(at: n) }
            return (result, n, line)
        }
    }

    /// The file's records `count` at a time from its start (the header first), for an import
    /// that checks each chunk while the next is read: the same records, lines and errors as
    /// `records()`. An empty chunk means the end.
    public struct Chunks: Sendable {
        private let reader: CSVReader
        private var offset = 0
        private var line = 1

        public init(_ reader: CSVReader) { self.reader = reader }

        public mutating func next(_ count: Int) throws(YKTError) -> [CSVRecord] {
            guard offset < reader.bytes.count else { return [] }
            let chunk = try reader.records(in: offset..<reader.bytes.count, firstLine: line, limit: count)
            offset = chunk.end
            line = chunk.nextLine
            return chunk.records
        }
    }
}

/// A named column and the header spellings that mean it (Chinese first, then English).
public struct CSVColumn: Sendable, Hashable {
    public var key: String
    public var names: [String]
    public var required: Bool
    /// A code made of digits (ID, account, phone, household number, period) that a
    /// spreadsheet would turn into a number or a date: written back as text.
    public var code: Bool

    public init(_ key: String, _ names: [String], required: Bool = true, code: Bool = false) {
        self.key = key
        self.names = names
        self.required = required
        self.code = code
    }

    /// The name used in messages: the first Chinese spelling.
    public var label: String { names.first ?? key }
}

/// Where each known column sits in a file's header.
public struct CSVHeader: Sendable {
    public let positions: [String: Int]
    public let columns: [CSVColumn]
    public let width: Int

    public init(_ header: CSVRecord, columns: [CSVColumn], file: String) throws(YKTError) {
        var positions: [String: Int] = [:]
        for (index, raw) in header.fields.enumerated() {
            let name = Self.normalise(raw)
            guard let column = columns.first(where: { $0.names.contains(where: { Self.normalise($0) == name }) }) else {
                continue
            }
            if positions[column.key] != nil {
                throw YKTError(.csvHeader, "表头中「\(column.label)」出现了两次",
                               at: SourceLocation(file: file, line: header.line, field: raw), hint: "删去重复的列")
            }
            positions[column.key] = index
        }
        let missing = columns.filter { $0.required && positions[$0.key] == nil }.map(\.label)
        if !missing.isEmpty {
            throw YKTError(.csvHeader, "表头缺少必需的列：\(missing.joined(separator: "、"))",
                           at: SourceLocation(file: file, line: header.line),
                           hint: "第一行须是表头，列名为：" + columns.map { $0.label + ($0.required ? "" : "（可选）") }
                               .joined(separator: ","))
        }
        self.positions = positions
        self.columns = columns
        self.width = header.fields.count
    }

    static func normalise(_ s: String) -> String {
        s.trimmed.replacingOccurrences(of: "（", with: "(")
            .replacingOccurrences(of: "）", with: ")").replacingOccurrences(of: " ", with: "").lowercased()
    }

    /// The field for `key` in `record`, or "" when the column is absent or the row is short.
    /// A cell a spreadsheet was told to keep as text (a leading tab, `="…"`) is given without
    /// that protection (`ExcelText.unprotected`).
    public func value(_ key: String, in record: CSVRecord) -> String {
        value(at: positions[key], in: record)
    }

    /// The same, for the column at `position` (`positions[key]`, looked up once for a file).
    public func value(at position: Int?, in record: CSVRecord) -> String {
        guard let p = position, p < record.fields.count else { return "" }
        return ExcelText.unprotected(record.fields[p])
    }

    /// The positions of the columns that hold codes (`CSVColumn.code`), to be written back as
    /// text (`CSVWriter.row(_:codes:)`).
    public var codePositions: Set<Int> {
        Set(columns.filter(\.code).compactMap { positions[$0.key] })
    }

    public func label(_ key: String) -> String {
        columns.first { $0.key == key }?.label ?? key
    }
}

/// Writes CSV the way WPS and Excel open it without asking: UTF-8 with a BOM, CRLF line ends,
/// fields quoted when needed, cells that would start a formula prefixed with `'`, and the
/// cells named as codes (IDs, accounts, phones) kept as text (`ExcelText.protected`).
public struct CSVWriter: Sendable {
    public private(set) var text: String = "\u{FEFF}"

    public init() {}

    /// One row; the fields at the positions in `codes` are written so a spreadsheet keeps them as
    /// text (resident IDs, account numbers, phones, household numbers, periods), never money,
    /// counts or names.
    public mutating func row(_ fields: [String], codes: Set<Int> = []) {
        var first = true
        for (i, field) in fields.enumerated() {
            if !first { text += "," }
            first = false
            text += Self.escape(codes.contains(i) ? ExcelText.protected(field) : field)
        }
        text += "\r\n"
    }

    static func escape(_ raw: String) -> String {
        var s = raw
        // A formula sign, also behind tabs or line breaks a spreadsheet may skip (OWASP's list).
        let start = s.unicodeScalars.first { $0 != "\t" && $0 != "\r" && $0 != "\n" }
        if let start, "=+-@".unicodeScalars.contains(start), Double(s) == nil { s = "'" + s }
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return s
    }
}
