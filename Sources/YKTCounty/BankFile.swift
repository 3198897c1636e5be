import YKTCore
import YKTCrypto

/// The files exchanged with agency banks (代发文件), specified in `docs/bank-files.md`.
///
/// Every file is UTF-8 text with LF line ends. Line 1 is the control header: a magic word with
/// its version, then `key=value` fields separated by commas, among them the line count, the
/// control totals and `body_sha256`, the SHA-256 of every byte after the header's line end.
/// The body is one CSV record per line (RFC 4180 quoting).
public enum BankFile {
    public static let instructionMagic = "YKT-PAY/2"
    public static let resultMagic = "YKT-RESULT/1"
    public static let statementMagic = "YKT-STATEMENT/1"

    /// Why a bank could not pay a line, with the code the result file carries.
    public enum FailureReason: String, Sendable, CaseIterable, Codable {
        case accountClosed = "ACCOUNT_CLOSED"
        case nameMismatch = "NAME_MISMATCH"
        case accountFrozen = "ACCOUNT_FROZEN"
        case noSuchAccount = "NO_SUCH_ACCOUNT"
        case other = "OTHER"
        /// The resident ID in the instruction is not the holder's of record for the account (实名核验不符).
        case holderMismatch = "HOLDER_MISMATCH"

        public var chinese: String {
            switch self {
            case .accountClosed: "账户已销户"
            case .nameMismatch: "户名与账号不符"
            case .accountFrozen: "账户冻结"
            case .noSuchAccount: "账号不存在"
            case .other: "其他原因"
            case .holderMismatch: "持卡人身份证号与账户登记不符"
            }
        }
    }

    // MARK: Instruction (county → bank)

    public struct InstructionLine: Sendable, Equatable {
        public var lineID: String
        public var name: String
        /// The beneficiary's 18-character resident ID, in full: the bank checks it against the
        /// holder of the account (实名). Masked wherever a line is printed or logged.
        public var residentID: String
        public var accountKind: String
        public var accountNumber: String
        public var amountFen: Int64
        public var program: String
        public var memo: String
        public init(lineID: String, name: String, residentID: String, accountKind: String, accountNumber: String, amountFen: Int64,
                    program: String, memo: String) {
            self.lineID = lineID
            self.name = name
            self.residentID = residentID
            self.accountKind = accountKind
            self.accountNumber = accountNumber
            self.amountFen = amountFen
            self.program = program
            self.memo = memo
        }
    }

    public struct Instruction: Sendable, Equatable {
        public var batch: Int64
        /// The file's sequence number among the county's files for this bank: 1, 2, 3… in the
        /// order the batches were dispatched. A bank refuses a sequence number (or a batch) it
        /// has already paid.
        public var seq: Int64
        public var bank: String
        public var county: String
        public var lines: [InstructionLine]
        public var totalFen: Int64 { lines.reduce(0) { $0 + $1.amountFen } }
        public init(batch: Int64, seq: Int64, bank: String, county: String, lines: [InstructionLine]) {
            self.batch = batch
            self.seq = seq
            self.bank = bank
            self.county = county
            self.lines = lines
        }
    }

    public static func write(_ i: Instruction) -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(i.lines.count * 110)
        for l in i.lines {
            record([l.lineID, l.name, l.residentID, l.accountKind, l.accountNumber, String(l.amountFen), l.program, l.memo], into: &body)
        }
        return header(instructionMagic, [("batch", String(i.batch)), ("seq", String(i.seq)), ("bank", i.bank), ("county", i.county),
                                         ("lines", String(i.lines.count)), ("total_fen", String(i.totalFen))], body: body) + body
    }

    public static func readInstruction(_ bytes: [UInt8], file: String) throws(YKTError) -> Instruction {
        let e = try envelope(bytes, magic: instructionMagic, file: file,
                             keys: ["batch", "seq", "bank", "county", "lines", "total_fen", "body_sha256"], width: 8)
        var problems = e.problems
        for key in ["batch", "seq"] where !(e.header[key].flatMap { Int64($0) }.map { $0 > 0 } ?? false) {
            problems.append(YKTError(.bankFile, "控制头 \(key)=\(q(e.header[key] ?? "")) 应为正整数", at: loc(file, 1, key)))
        }
        var lines: [InstructionLine] = []
        for r in e.records {
            guard let amount = positive(r.fields[5]) else {
                problems.append(YKTError(.bankFile, "金额「\(q(r.fields[5]))」应为不超过 1 亿元的正整数（分）", at: loc(file, r.line, "amount_fen")))
                continue
            }
            lines.append(InstructionLine(lineID: r.fields[0], name: r.fields[1], residentID: r.fields[2], accountKind: r.fields[3],
                                         accountNumber: r.fields[4], amountFen: amount, program: r.fields[6], memo: r.fields[7]))
        }
        let result = Instruction(batch: Int64(e.header["batch"] ?? "") ?? 0, seq: Int64(e.header["seq"] ?? "") ?? 0, bank: e.header["bank"] ?? "",
                                 county: e.header["county"] ?? "", lines: lines)
        if Int64(e.header["total_fen"] ?? "") != result.totalFen, problems.isEmpty {
            problems.append(YKTError(.bankControl, "控制总额 total_fen=\(q(e.header["total_fen"] ?? "")) 与明细合计 \(result.totalFen) 不符",
                                     at: loc(file, 1, "total_fen")))
        }
        try refuseIfAny(problems, file: file, what: "支付指令文件")
        return result
    }

    // MARK: Result (bank → county)

    public enum LineStatus: String, Sendable, Codable { case paid, failed }

    public struct ResultLine: Sendable, Equatable {
        /// The line of the file it came from (1 is the header).
        public var fileLine: Int
        public var lineID: String
        public var status: LineStatus
        public var amountFen: Int64
        public var date: CivilDate
        public var reason: FailureReason?
        public var reasonText: String
        public var returnedFen: Int64
        public init(fileLine: Int = 0, lineID: String, status: LineStatus, amountFen: Int64, date: CivilDate,
                    reason: FailureReason?, reasonText: String, returnedFen: Int64) {
            self.fileLine = fileLine
            self.lineID = lineID
            self.status = status
            self.amountFen = amountFen
            self.date = date
            self.reason = reason
            self.reasonText = reasonText
            self.returnedFen = returnedFen
        }

        /// The reason kept with a failed payment: the bank's words, or the code's standard text.
        public var storedReason: String? { reason.map { reasonText.isEmpty ? $0.chinese : reasonText } }
    }

    public struct Result: Sendable, Equatable {
        public var batch: Int64
        public var bank: String
        public var lines: [ResultLine]
        public init(batch: Int64, bank: String, lines: [ResultLine]) {
            self.batch = batch
            self.bank = bank
            self.lines = lines
        }
        public var paid: [ResultLine] { lines.filter { $0.status == .paid } }
        public var failed: [ResultLine] { lines.filter { $0.status == .failed } }
    }

    public static func write(_ r: Result) -> [UInt8] {
        var body: [UInt8] = []
        for l in r.lines {
            record([l.lineID, l.status.rawValue, String(l.amountFen), l.date.description, l.reason?.rawValue ?? "",
                    l.reasonText, String(l.returnedFen)], into: &body)
        }
        let paid = r.paid, failed = r.failed
        return header(resultMagic, [
            ("batch", String(r.batch)), ("bank", r.bank), ("lines", String(r.lines.count)),
            ("paid", String(paid.count)), ("paid_fen", String(paid.reduce(0) { $0 + $1.amountFen })),
            ("failed", String(failed.count)), ("failed_fen", String(failed.reduce(0) { $0 + $1.amountFen })),
            ("returned_fen", String(r.lines.reduce(0) { $0 + $1.returnedFen })),
        ], body: body) + body
    }

    /// Reads a result file and checks everything that can be checked without the batch: the
    /// header, the body hash, every field, duplicate line ids and the control totals. Every
    /// problem is reported, each with its line and field.
    public static func readResult(_ bytes: [UInt8], file: String) throws(YKTError) -> Result {
        let e = try envelope(bytes, magic: resultMagic, file: file,
                             keys: ["batch", "bank", "lines", "paid", "paid_fen", "failed", "failed_fen", "returned_fen", "body_sha256"],
                             width: 7)
        // Each line is checked on its own (on every core); duplicates are found in file order.
        let checked = e.records.parallelMap { r -> (line: ResultLine?, problems: [YKTError]) in
            let f = r.fields
            var problems: [YKTError] = []
            func problem(_ field: String, _ message: String) {
                problems.append(YKTError(.bankFile, message, at: loc(file, r.line, field)))
            }
            let status = LineStatus(rawValue: f[1])
            if status == nil { problem("status", "状态「\(q(f[1]))」应为 paid 或 failed") }
            let amount = positive(f[2])
            if amount == nil { problem("amount_fen", "金额「\(q(f[2]))」应为不超过 1 亿元的正整数（分）") }
            let date = try? CivilDate(parsing: f[3])
            if date == nil { problem("date", "日期「\(q(f[3]))」应为 YYYY-MM-DD") }
            let reason = f[4].isEmpty ? nil : FailureReason(rawValue: f[4])
            let returned = f[6].isEmpty ? 0 : (Int64(f[6]).flatMap { $0 <= maximumLineFen ? $0 : nil } ?? -1)
            if returned < 0 { problem("returned_fen", "退回金额「\(q(f[6]))」应为不小于 0、不超过 1 亿元的整数（分）") }
            switch status {
            case .paid?:
                if !f[4].isEmpty { problem("reason_code", "成功的行不应有失败原因") }
                if returned != 0 { problem("returned_fen", "成功的行不应有退回金额") }
            case .failed?:
                if reason == nil {
                    problem("reason_code", "失败原因代码「\(q(f[4]))」无效，应为 " + FailureReason.allCases.map(\.rawValue).joined(separator: "、"))
                }
                if let amount, returned > amount { problem("returned_fen", "退回金额 \(returned) 大于该行金额 \(amount)") }
            case nil: break
            }
            guard problems.isEmpty, let status, let amount, let date else { return (nil, problems) }
            return (ResultLine(fileLine: r.line, lineID: f[0], status: status, amountFen: amount, date: date,
                               reason: reason, reasonText: f[5], returnedFen: returned), [])
        }
        var problems = e.problems
        var lines: [ResultLine] = []
        lines.reserveCapacity(e.records.count)
        // Line ids written as our payment numbers are compared as numbers (no string hashed),
        // anything else as it is written.
        var seen: [Int64: Int] = [:], seenOther: [String: Int] = [:]
        seen.reserveCapacity(e.records.count)
        for (r, c) in zip(e.records, checked) {
            var duplicate = false
            let id = r.fields[0]
            let number = Int64(id).flatMap { String($0) == id ? $0 : nil }
            if let first = number.flatMap({ seen[$0] }) ?? (number == nil ? seenOther[id] : nil) {
                problems.append(YKTError(.bankLine, "行号「\(q(id))」重复（第 \(first) 行已有）", at: loc(file, r.line, "line_id")))
                duplicate = true
            } else if let number {
                seen[number] = r.line
            } else {
                seenOther[id] = r.line
            }
            problems += c.problems
            if !duplicate, let line = c.line { lines.append(line) }
        }
        let result = Result(batch: Int64(e.header["batch"] ?? "") ?? 0, bank: e.header["bank"] ?? "", lines: lines)
        if problems.isEmpty {
            let paid = result.paid, failed = result.failed
            let checks: [(String, Int64)] = [
                ("paid", Int64(paid.count)), ("paid_fen", paid.reduce(0) { $0 + $1.amountFen }),
                ("failed", Int64(failed.count)), ("failed_fen", failed.reduce(0) { $0 + $1.amountFen }),
                ("returned_fen", lines.reduce(0) { $0 + $1.returnedFen }),
            ]
            for (key, actual) in checks where Int64(e.header[key] ?? "") != actual {
                problems.append(YKTError(.bankControl, "控制数 \(key)=\(q(e.header[key] ?? "")) 与明细合计 \(actual) 不符",
                                         at: loc(file, 1, key)))
            }
        }
        try refuseIfAny(problems, file: file, what: "支付结果文件")
        return result
    }

    // MARK: Statement (bank → county, for reconciliation)

    public enum StatementKind: String, Sendable, Codable { case paid, returned }

    public struct StatementLine: Sendable, Equatable {
        public var fileLine: Int
        public var lineID: String
        public var batch: Int64
        public var accountNumber: String
        public var amountFen: Int64
        public var kind: StatementKind
        public var date: CivilDate
        public init(fileLine: Int = 0, lineID: String, batch: Int64, accountNumber: String, amountFen: Int64,
                    kind: StatementKind, date: CivilDate) {
            self.fileLine = fileLine
            self.lineID = lineID
            self.batch = batch
            self.accountNumber = accountNumber
            self.amountFen = amountFen
            self.kind = kind
            self.date = date
        }
    }

    public struct Statement: Sendable, Equatable {
        public var bank: String
        public var from: CivilDate
        public var to: CivilDate
        public var lines: [StatementLine]
        public init(bank: String, from: CivilDate, to: CivilDate, lines: [StatementLine]) {
            self.bank = bank
            self.from = from
            self.to = to
            self.lines = lines
        }
    }

    public static func write(_ s: Statement) -> [UInt8] {
        var body: [UInt8] = []
        for l in s.lines {
            record([l.lineID, String(l.batch), l.accountNumber, String(l.amountFen), l.kind.rawValue, l.date.description], into: &body)
        }
        return header(statementMagic, [("bank", s.bank), ("from", s.from.description), ("to", s.to.description),
                                       ("lines", String(s.lines.count)),
                                       ("total_fen", String(s.lines.reduce(0) { $0 + ($1.kind == .paid ? $1.amountFen : 0) })),
                                       ("returned_fen", String(s.lines.reduce(0) { $0 + ($1.kind == .returned ? $1.amountFen : 0) }))],
                      body: body) + body
    }

    public static func readStatement(_ bytes: [UInt8], file: String) throws(YKTError) -> Statement {
        let e = try envelope(bytes, magic: statementMagic, file: file,
                             keys: ["bank", "from", "to", "lines", "total_fen", "returned_fen", "body_sha256"], width: 6)
        var problems = e.problems
        var lines: [StatementLine] = []
        for r in e.records {
            let f = r.fields
            guard let batch = Int64(f[1]), let amount = positive(f[3]), let kind = StatementKind(rawValue: f[4]),
                  let date = try? CivilDate(parsing: f[5]) else {
                problems.append(YKTError(.bankFile, "对账单行格式不对：批次应为整数、金额为正整数（分）、类别为 paid 或 returned、日期为 YYYY-MM-DD",
                                         at: loc(file, r.line, nil)))
                continue
            }
            lines.append(StatementLine(fileLine: r.line, lineID: f[0], batch: batch, accountNumber: f[2], amountFen: amount,
                                       kind: kind, date: date))
        }
        guard let from = try? CivilDate(parsing: e.header["from"] ?? ""), let to = try? CivilDate(parsing: e.header["to"] ?? ""),
              from <= to else {
            throw YKTError(.bankFile, "对账单的起止日期 from/to 无效", at: loc(file, 1, "from"))
        }
        if problems.isEmpty {
            let paid = lines.reduce(0) { $0 + ($1.kind == .paid ? $1.amountFen : 0) }
            let returned = lines.reduce(0) { $0 + ($1.kind == .returned ? $1.amountFen : 0) }
            for (key, actual) in [("total_fen", paid), ("returned_fen", returned)] where Int64(e.header[key] ?? "") != actual {
                problems.append(YKTError(.bankControl, "控制数 \(key)=\(q(e.header[key] ?? "")) 与明细合计 \(actual) 不符", at: loc(file, 1, key)))
            }
        }
        try refuseIfAny(problems, file: file, what: "银行对账单")
        return Statement(bank: e.header["bank"] ?? "", from: from, to: to, lines: lines)
    }

    // MARK: The shared envelope

    static func loc(_ file: String, _ line: Int, _ field: String?) -> SourceLocation {
        SourceLocation(file: file, line: line, field: field)
    }

    /// A field from the file, fit to quote in a problem: cut short, control characters shown
    /// as `�`. A problem never quotes more of a file than the one field it is about.
    static func q(_ field: some StringProtocol) -> String { ExchangeFile.quote(field) }

    /// The most one line may carry: 100 million yuan, far above any subsidy, and low enough that
    /// no sum over a file's lines can overflow (a file would need 900 million such lines).
    public static let maximumLineFen: Int64 = 10_000_000_000

    /// A positive amount in fen, at most `maximumLineFen`.
    static func positive(_ s: String) -> Int64? {
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let v = Int64(s), v > 0, v <= maximumLineFen else { return nil }
        return v
    }

    static func refuseIfAny(_ problems: [YKTError], file: String, what: String) throws(YKTError) {
        guard !problems.isEmpty else { return }
        throw YKTError(.bankFile, "\(what)有 \(problems.count) 处问题，整个文件不予采用", at: SourceLocation(file: file),
                       hint: "文件已原样保留；请开户行核对后重新出具", details: problems)
    }

    static func record(_ fields: [String], into out: inout [UInt8]) {
        for (i, f) in fields.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            if f.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) {
                out.append(UInt8(ascii: "\""))
                for b in f.utf8 {
                    if b == UInt8(ascii: "\"") { out.append(b) }
                    out.append(b)
                }
                out.append(UInt8(ascii: "\""))
            } else {
                out.append(contentsOf: f.utf8)
            }
        }
        out.append(0x0A)
    }

    static func header(_ magic: String, _ fields: [(String, String)], body: [UInt8]) -> [UInt8] {
        let all = fields + [("body_sha256", Hex.encode(SHA256.hash(body)))]
        return Array((magic + "," + all.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "\n").utf8)
    }

    struct Envelope {
        var header: [String: String]
        var records: [CSVRecord]
        var problems: [YKTError]
    }

    /// Splits header and body, checks the magic, the header's fields, the body's hash and line
    /// count and each record's width. Problems that make the rest unreadable throw at once.
    /// The body's CSV records. A large body with no quote character (the usual case) is read
    /// in two halves at once, split at a line end; the second half's lines are numbered on from
    /// the first's. Anything quoted is read whole, since a quote can hide a line end.
    static func bodyRecords(_ body: [UInt8], file: String) throws(YKTError) -> [CSVRecord] {
        let half = body.count / 2
        guard body.count >= 1 << 20, !body.contains(0x22), let end = body[half...].firstIndex(of: 0x0A), end + 1 < body.count else {
            return try CSVReader(utf8: body, file: file, separator: 0x2C).records()
        }
        let parts = [Array(body[...end]), Array(body[(end + 1)...])]
        let read = parts.parallelMap(minimumChunk: 1) { part -> Swift.Result<[CSVRecord], YKTError> in
            do throws(YKTError) {
                return .success(try CSVReader(utf8: part, file: file, separator: 0x2C).records())
            } catch {
                return .failure(error)
            }
        }
        let offset = parts[0].count { $0 == 0x0A }
        return try read[0].get() + read[1].get().map { CSVRecord(line: $0.line + offset, fields: $0.fields) }
    }

    static func envelope(_ bytes: [UInt8], magic: String, file: String, keys: [String], width: Int) throws(YKTError) -> Envelope {
        guard let nl = bytes.firstIndex(of: 0x0A) else {
            throw YKTError(.bankFile, "文件没有控制头（第 1 行）", at: loc(file, 1, nil), hint: "文件可能为空或被截断")
        }
        guard let headerText = String(validating: bytes[..<nl], as: UTF8.self) else {
            throw YKTError(.bankFile, "控制头不是 UTF-8 文本", at: loc(file, 1, nil))
        }
        let parts = headerText.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.first == magic else {
            // Quoted only when it is a magic word of ours (another version, another kind of
            // file): anything else may be any file at all, and is not quoted.
            let first = parts.first ?? ""
            let ours = first.hasPrefix("YKT-") && first.utf8.count <= 32
                && first.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 47 }
            throw YKTError(.bankFile, "第 1 行应以 \(magic) 开头，" + (ours ? "实际为「\(first)」" : "实际不是本系统的控制头（内容不予引用）"),
                           at: loc(file, 1, nil), hint: "不是本系统认识的文件或版本（本程序认识 \(magic)）")
        }
        var header: [String: String] = [:]
        for p in parts.dropFirst() {
            guard let eq = p.firstIndex(of: "=") else {
                throw YKTError(.bankFile, "控制头字段「\(q(p))」应为 键=值", at: loc(file, 1, nil))
            }
            header[String(p[..<eq])] = String(p[p.index(after: eq)...])
        }
        let missing = keys.filter { header[$0] == nil }
        guard missing.isEmpty else {
            throw YKTError(.bankFile, "控制头缺少 " + missing.joined(separator: "、"), at: loc(file, 1, missing.first))
        }
        let body = Array(bytes[(nl + 1)...])
        let hash = Hex.encode(SHA256.hash(body))
        guard header["body_sha256"]?.lowercased() == hash else {
            throw YKTError(.bankControl, "正文的 SHA-256 与控制头 body_sha256 不符（文件被改动或截断）", at: loc(file, 1, "body_sha256"),
                           hint: "文件已原样保留；请开户行重新出具")
        }
        guard UTF8Check.isValid(body) else {
            throw YKTError(.fileEncoding, "正文不是 UTF-8 文本", at: SourceLocation(file: file))
        }
        let records = try bodyRecords(body, file: file)
        var problems: [YKTError] = []
        if Int(header["lines"] ?? "") != records.count {
            problems.append(YKTError(.bankControl, "控制数 lines=\(q(header["lines"] ?? "")) 与正文行数 \(records.count) 不符",
                                     at: loc(file, 1, "lines")))
        }
        // Body lines are numbered as lines of the file (the header is line 1).
        var good: [CSVRecord] = []
        good.reserveCapacity(records.count)
        for r in records {
            if r.fields.count != width {
                problems.append(YKTError(.csvSyntax, "应有 \(width) 列，实际 \(r.fields.count) 列", at: loc(file, r.line + 1, nil)))
            } else {
                good.append(CSVRecord(line: r.line + 1, fields: r.fields))
            }
        }
        return Envelope(header: header, records: good, problems: problems)
    }
}
