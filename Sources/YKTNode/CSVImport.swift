import Foundation
import YKTCore
#if canImport(Glibc)
import Glibc
#endif

/// How an import treats bad lines.
public struct ImportOptions: Sendable {
    public var encoding: TextEncoding
    /// false (the default): all-or-nothing. true: import the good lines, write the bad ones to `rejectsPath`.
    public var keepGood: Bool
    public var rejectsPath: String?
    /// Where a refused import writes its whole list of problems (`导入问题-<file>-<time>.csv`);
    /// the nodes set their `out` folder when this is nil. Without one, no list is written.
    public var problemsDirectory: String?
    /// Called now and then with (phase, done, total) for a progress display.
    public var progress: (@Sendable (String, Int, Int) -> Void)?

    public init(encoding: TextEncoding = .auto, keepGood: Bool = false, rejectsPath: String? = nil,
                problemsDirectory: String? = nil, progress: (@Sendable (String, Int, Int) -> Void)? = nil) {
        self.encoding = encoding
        self.keepGood = keepGood
        self.rejectsPath = rejectsPath
        self.problemsDirectory = problemsDirectory
        self.progress = progress
    }

    /// These options, with `directory` for the problem list unless one is set already.
    public func listingProblems(in directory: String) -> ImportOptions {
        var copy = self
        if copy.problemsDirectory == nil { copy.problemsDirectory = directory }
        return copy
    }
}

/// What an import did.
public struct ImportResult: Sendable, Codable {
    public var file: String
    public var encoding: String
    public var sha256: String
    public var rows: Int
    public var imported: Int
    public var rejected: Int
    public var rejectsFile: String?
    /// Every problem found, one per bad field (a line may have several).
    public var problems: [String]
    /// The same problems with their codes, for a summary by code (not in the JSON form).
    public var details: [YKTError] = []

    enum CodingKeys: String, CodingKey {
        case file, encoding, sha256, rows, imported, rejected, rejectsFile, problems
    }

    package init(file: String, encoding: String, sha256: String, rows: Int, imported: Int, rejected: Int,
                 rejectsFile: String?, problems: [String], details: [YKTError] = []) {
        self.details = details
        self.file = file
        self.encoding = encoding
        self.sha256 = sha256
        self.rows = rows
        self.imported = imported
        self.rejected = rejected
        self.rejectsFile = rejectsFile
        self.problems = problems
    }
}

/// A CSV file read into records, with what is needed to report on it.
public struct LoadedCSV: Sendable {
    public var file: String
    public var name: String
    public var header: CSVRecord
    public var rows: [CSVRecord]
    public var encoding: String
    public var sha256: String
    /// The records the file holds (after the header): `rows.count`, or, for a file read a chunk
    /// at a time (`OpenedCSV`), those read, its rows not kept.
    public var rowCount: Int

    public init(file: String, name: String, header: CSVRecord, rows: [CSVRecord], encoding: String, sha256: String, rowCount: Int? = nil) {
        self.file = file
        self.name = name
        self.header = header
        self.rows = rows
        self.encoding = encoding
        self.sha256 = sha256
        self.rowCount = rowCount ?? rows.count
    }
}

/// A CSV file read and decoded, with its header; its records are read later, a chunk at a time
/// (`chunks`), by an import's checking thread while the writer writes the chunk before.
public struct OpenedCSV: Sendable {
    public var file: String
    public var name: String
    public var header: CSVRecord
    public var chunks: CSVReader.Chunks
    public var encoding: String
    /// About how many records follow the header, known before they are read, for sizing and
    /// for choosing how to write: the lines after the first that begin with something other
    /// than a separator or a line end (blank lines and a spreadsheet's rows of separators only
    /// are not counted; a line break inside a quoted cell is, a record whose first cell is
    /// empty is not).
    public var estimatedRecords: Int
    let bytes: [UInt8]

    public func sha256() -> String { YKTCryptoBridge.sha256Hex(bytes) }

    /// What the import reports on: the file's counts, with none of its rows kept.
    public func loaded(rowCount: Int, sha256: String) -> LoadedCSV {
        LoadedCSV(file: file, name: name, header: header, rows: [], encoding: encoding, sha256: sha256, rowCount: rowCount)
    }
}

public enum CSVFiles {
    package static func read(path: String) throws(YKTError) -> [UInt8] {
        // Straight into the array (no `Data` copied over), from the one opening: a named pipe
        // opened twice would lose what its writer wrote. What cannot be read (a folder) is
        // reported as before.
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            defer { close(fd) }
            var info = stat()
            let size = fstat(fd, &info) == 0 && info.st_mode & S_IFMT == S_IFREG ? Int(info.st_size) : 0
            if let bytes = readAll(fd, size: size) { return bytes }
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw YKTError(.fileRead, exists ? "文件不能读取" : "文件不存在", at: SourceLocation(file: path),
                           hint: exists ? "检查文件权限" : "检查文件路径")
        }
        return [UInt8](data)
    }

    /// The file's `size` bytes read into one array, and any more up to its end (a file grown
    /// since, a pipe); nil on a read error (a folder: the caller then reports it).
    private static func readAll(_ fd: Int32, size: Int) -> [UInt8]? {
        var bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            while count < size {
                let got = Glibc.read(fd, buffer.baseAddress! + count, size - count)
                if got < 0 && errno == EINTR { continue }
                if got <= 0 { break }
                count += got
            }
        }
        var more = [UInt8](repeating: 0, count: 65_536)
        while true {
            let got = more.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if got < 0 && errno == EINTR { continue }
            if got < 0 { return nil }
            if got == 0 { return bytes }
            bytes += more[..<got]
        }
    }

    /// Reads and decodes the file and reads its header; the records are left to `chunks`.
    /// The same refusals as `load` for a file that is not text or has no header.
    public static func open(path: String, encoding: TextEncoding) throws(YKTError) -> OpenedCSV {
        let bytes = try read(path: path)
        let name = (path as NSString).lastPathComponent
        let decoded = try TextDecoding.decode(bytes, as: encoding, file: name)
        var reader = CSVReader(utf8: decoded.utf8, file: name)
        reader.skipsEmptyRows = true
        var chunks = CSVReader.Chunks(reader)
        guard let header = try chunks.next(1).first else {
            throw noHeader(decoded.utf8, name)
        }
        let separator = reader.separator
        let estimated = decoded.utf8.withUnsafeBufferPointer { buf in
            var count = 0, at = 0
            while at < buf.count, let found = memchr(buf.baseAddress! + at, 0x0A, buf.count - at) {
                at = buf.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self)) + 1
                if at < buf.count, buf[at] != 0x0A, buf[at] != 0x0D, buf[at] != separator { count += 1 }
            }
            return count
        }
        return OpenedCSV(file: path, name: name, header: header, chunks: chunks, encoding: decoded.detected,
                         estimatedRecords: estimated, bytes: bytes)
    }

    private static func noHeader(_ utf8: [UInt8], _ name: String) -> YKTError {
        let blank = utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        return YKTError(.csvHeader, blank ? "文件是空的，没有表头" : "文件没有表头：只有空行（各格都是空的）",
                        at: SourceLocation(file: name), hint: "第一行须是表头，其后每行一条记录；多半是存错了文件或工作表，请重新导出")
    }

    public static func load(path: String, encoding: TextEncoding) throws(YKTError) -> LoadedCSV {
        let bytes = try read(path: path)
        let hash = BackgroundJob { YKTCryptoBridge.sha256Hex(bytes) }   // while the text is checked
        let name = (path as NSString).lastPathComponent
        let decoded = try TextDecoding.decode(bytes, as: encoding, file: name)
        var reader = CSVReader(utf8: decoded.utf8, file: name)
        reader.skipsEmptyRows = true
        var records = try reader.records()
        guard !records.isEmpty else { throw noHeader(decoded.utf8, name) }
        let header = records.removeFirst()
        let sha256: String
        do { sha256 = try hash.wait() } catch { preconditionFailure("hashing does not throw") }
        return LoadedCSV(file: path, name: name, header: header, rows: records, encoding: decoded.detected, sha256: sha256)
    }

    /// Writes the rejected lines with their reasons, in the same columns plus three more, as a
    /// UTF-8 CSV with BOM that the clerk can correct and import again. The columns at `codes`
    /// (IDs, accounts, phones…) are written so Excel and WPS keep them as text.
    package static func writeRejects(_ loaded: LoadedCSV, bad: [(CSVRecord, [YKTError])], codes: Set<Int> = [],
                                     to path: String) throws(YKTError) {
        var w = CSVWriter()
        w.row(loaded.header.fields + ["原行号", "错误代码", "错误说明"])
        for (record, errors) in bad {
            let errorCodes = errors.map(\.code.rawValue).joined(separator: ";")
            let reasons = errors.map { e in
                (e.location?.field.map { "「\($0)」" } ?? "") + e.message + (e.hint.map { "（\($0)）" } ?? "")
            }.joined(separator: "；")
            var fields = record.fields
            if fields.count < loaded.header.fields.count {
                fields += Array(repeating: "", count: loaded.header.fields.count - fields.count)
            }
            w.row(fields + [String(record.line), errorCodes, reasons], codes: codes)
        }
        try FileOutput.writeAtomically(w.text, to: path, mode: 0o600)
    }

    /// Writes every problem of a refused import, one row each (原行号, 列, 错误代码, 错误说明,
    /// 处理办法), into `directory` as `导入问题-<file name>-<China time>.csv`, mode 0600 (the
    /// messages may quote a name or a masked number). Returns the path.
    package static func writeProblems(_ loaded: LoadedCSV, _ problems: [YKTError], into directory: String,
                                      at date: Date = Date()) throws(YKTError) -> String {
        var w = CSVWriter()
        w.row(["原行号", "列", "错误代码", "错误说明", "处理办法"])
        for p in problems {
            w.row([p.location?.line.map(String.init) ?? "", p.location?.field ?? "", p.code.rawValue, p.message, p.hint ?? ""])
        }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "Asia/Shanghai")
        f.dateFormat = "yyyyMMdd-HHmmss"
        let stem = (loaded.name as NSString).deletingPathExtension
        let path = (directory as NSString).appendingPathComponent("导入问题-\(stem)-\(f.string(from: date)).csv")
        try FileOutput.writeAtomically(w.text, to: path, mode: 0o600)
        return path
    }
}


/// Validates every row with `validate`, collecting all problems, then either refuses the whole
/// file (listing every bad line) or, with `keepGood`, writes the rejects file and returns the
/// good rows. `crossCheck` sees the good rows in file order and can reject more (duplicates).
package func screen<T: Sendable>(_ loaded: LoadedCSV, options: ImportOptions, what: String, codes: Set<Int> = [],
                         validate: @Sendable (CSVRecord) -> Result<T, RowErrors>,
                         crossCheck: (CSVRecord, T) -> [YKTError]) throws -> (good: [T], bad: Int, problems: [String], details: [YKTError]) {
    var good: [T] = []
    good.reserveCapacity(loaded.rows.count)
    var bad: [(CSVRecord, [YKTError])] = []
    let total = loaded.rows.count
    options.progress?("校验", 0, total)
    // Lines are validated independently, on every core; cross-line checks then run in file order.
    let checked = loaded.rows.parallelMap(validate)
    for (record, outcome) in zip(loaded.rows, checked) {
        let at = SourceLocation(file: loaded.name, line: record.line)
        switch outcome {
        case .success(let value):
            let more = crossCheck(record, value)
            if more.isEmpty { good.append(value) } else { bad.append((record, more.map { $0.located(at) })) }
        case .failure(let failure):
            bad.append((record, failure.errors.map { $0.located(at) }))
        }
    }
    options.progress?("校验", total, total)
    let settled = try settle(loaded, bad: bad, options: options, what: what, codes: codes)
    return (good, bad.count, settled.problems, settled.details)
}

/// The end of every import: nothing bad, or the rejects file (`keepGood`), or the refusal of the
/// whole file. A refusal carries every problem (printed summarised by code,
/// `ProblemSummary`) and writes them all to a file in `options.problemsDirectory`, whose path
/// it names. Returns the problems, one per bad field.
package func settle(_ loaded: LoadedCSV, bad: [(CSVRecord, [YKTError])], options: ImportOptions, what: String,
                    codes: Set<Int> = []) throws -> (problems: [String], details: [YKTError]) {
    let details = bad.flatMap(\.1)
    if !bad.isEmpty {
        if options.keepGood {
            guard let path = options.rejectsPath else {
                throw YKTError(.usage, "保留正确行导入时须指定错误行文件", hint: "加上 --rejects 文件路径")
            }
            try CSVFiles.writeRejects(loaded, bad: bad, codes: codes, to: path)   // 0600: it holds personal data
        } else {
            let list = try options.problemsDirectory.map { dir throws(YKTError) in try CSVFiles.writeProblems(loaded, details, into: dir) }
            let listed = list.map { "全部 \(details.count) 处问题已逐条写入 \($0)（可用 WPS/Excel 打开）；" } ?? ""
            throw YKTError(.importRejected,
                           "\(loaded.name) 共 \(loaded.rowCount) 行，其中 \(bad.count) 行有错误，整批未导入（\(what)）",
                           at: SourceLocation(file: loaded.name),
                           hint: listed + "按各处的提示改正原文件后重新导入；或用 --keep-good --rejects 文件 先导入正确的行",
                           details: details)
        }
    }
    return (details.map(\.description), details)
}

/// `screen` for large files, as a pipeline: a background thread reads the lines in chunks
/// (`OpenedCSV.chunks`) and checks them, in file order (`check` gets a chunk and returns each
/// line's outcome, sorted into the good lines and the failures by their place in the chunk: it
/// may validate on every core and cross-check with state only it touches),
/// while the calling thread hands each chunk's good lines to `write`, inside the caller's
/// transaction. So reading and checking overlap writing, and the writer starts after the
/// first chunk, not the whole file; the first chunk is smaller (`firstChunk`), since the writer
/// waits for it alone. All-or-nothing imports stop writing at the first bad line (the
/// caller's transaction is then rolled back by the refusal) but still check every line, so
/// every problem is reported. A line the CSV reader refuses (a quote left open) refuses the
/// file. `checked` runs on the checking thread after the last line (to free what only it
/// needed). Returns the file as reported on (`loaded`: its counts and hash, no rows kept).
package func screenStreaming<T: Sendable>(_ opened: OpenedCSV, options: ImportOptions, what: String, codes: Set<Int> = [],
                                  firstChunk: Int = 512, chunk: Int = 4_096,
                                  check: @escaping @Sendable (ArraySlice<CSVRecord>) -> (good: [T], failures: [(index: Int, errors: RowErrors)]),
                                  checked: @escaping @Sendable () -> Void = {},
                                  write: ([T]) throws -> Void) throws
    -> (loaded: LoadedCSV, good: Int, bad: Int, problems: [String], details: [YKTError]) {
    // A chunk's line count, its good lines, and its bad ones: sorted on the checking thread,
    // so that the writer only writes (and frees nothing: it hands the lines back); or the
    // reader's refusal.
    typealias Outcome = (count: Int, good: [T], failures: [(record: CSVRecord, errors: RowErrors)], refusal: YKTError?)
    if options.keepGood && options.rejectsPath == nil {   // known before anything is written
        throw YKTError(.usage, "保留正确行导入时须指定错误行文件", hint: "加上 --rejects 文件路径")
    }
    let handoff = Handoff<Outcome>(capacity: 4)
    let producer = BackgroundJob {
        var chunks = opened.chunks
        var size = firstChunk
        // The records read, kept until the last line is checked and freed then, while the
        // writer writes its last lines and builds its indexes: off the clock.
        var kept: [[CSVRecord]] = []
        defer { kept = [] }
        while true {
            let records: [CSVRecord]
            do throws(YKTError) { records = try chunks.next(size) } catch {
                _ = handoff.put((0, [], [], error))
                break
            }
            if records.isEmpty { break }
            size = chunk
            let (good, failed) = check(records[...])
            let failures = failed.map { (record: records[$0.index], errors: $0.errors) }
            kept.append(records)
            guard handoff.put((records.count, good, failures, nil)) else { return }
        }
        checked()           // while the writer writes the last lines
        kept = []
        handoff.finish()    // frees, on this thread, what the writer hands back
    }
    let sha256 = opened.sha256()   // while the first chunk is read and checked
    var bad: [(CSVRecord, [YKTError])] = []
    var good = 0, done = 0
    do {
        options.progress?("导入", 0, opened.estimatedRecords)
        while let (count, clean, failures, refusal) = handoff.take() {
            if let refusal { throw refusal }
            for (record, failure) in failures {
                let at = SourceLocation(file: opened.name, line: record.line)
                bad.append((record, failure.errors.map { $0.located(at) }))
            }
            good += clean.count
            if options.keepGood || bad.isEmpty { try write(clean) }
            done += count
            handoff.recycle(consume clean)   // freed by the checking thread
            options.progress?("导入", done, max(done, opened.estimatedRecords))
        }
        // The estimate was above what the file held: the last report said so; done is done.
        if opened.estimatedRecords > done { options.progress?("导入", done, done) }
    } catch {
        handoff.cancel()
        _ = try? producer.wait()
        throw error
    }
    try producer.wait()
    let loaded = opened.loaded(rowCount: done, sha256: sha256)
    let settled = try settle(loaded, bad: bad, options: options, what: what, codes: codes)
    return (loaded, good, bad.count, settled.problems, settled.details)
}

/// A line with more or fewer fields than the header (a stray comma, a cell cut short).
package func widthProblem(_ record: CSVRecord, _ header: CSVHeader) -> YKTError? {
    guard record.fields.count != header.width else { return nil }
    return YKTError(.csvSyntax, "应有 \(header.width) 列，实际 \(record.fields.count) 列", hint: "检查这一行是否多了或少了逗号")
}

/// Runs `body` on a field's value, returning its error located at the field's column label.
package func field<T>(_ key: String, _ header: CSVHeader, _ errors: inout [YKTError], _ body: () throws(YKTError) -> T) -> T? {
    do { return try body() } catch {
        errors.append(error.located(SourceLocation(field: header.label(key))))
        return nil
    }
}

/// Every problem found on one line (a `Result` failure needs an `Error`).
package struct RowErrors: Error, Sendable {
    package var errors: [YKTError]
    package init(_ errors: [YKTError]) { self.errors = errors }
}
