import Foundation
import YKTCore
import YKTCrypto
import YKTStore
import YKTNode

/// Agency banks (代发金融机构): payment batches out as instruction files, results back, failed
/// lines corrected by the township and re-issued until paid. File formats: `docs/bank-files.md`.
extension CountyNode {
    public struct AgencyBank: Sendable, Codable {
        public var code: String
        public var name: String
        /// Account banks (开户行) whose accounts this bank pays, besides its own name.
        public var serves: [String]
        /// The exchange folder: `outbox/` (instructions for the bank), `inbox/` (results from
        /// it), `processed/` and `refused/` (result files kept after reading).
        public var folder: String
        /// Its agency agreements (代发协议), oldest first.
        public var agreements: [BankAgreement] = []

        public func pays(_ accountBank: String) -> Bool { accountBank == name || serves.contains(accountBank) }
        public var outbox: String { (folder as NSString).appendingPathComponent("outbox") }
        public var inbox: String { (folder as NSString).appendingPathComponent("inbox") }
        public var processed: String { (folder as NSString).appendingPathComponent("processed") }
        public var refused: String { (folder as NSString).appendingPathComponent("refused") }
    }

    /// Registers an agency bank (or updates one with the same code), with its agency agreement
    /// when one is given (`bank add --agreement …`): without one in force no batch is sent to it.
    public func addBank(code: String, name: String, serves: [String], folder: String, agreement: AgreementTerms? = nil) throws {
        guard !code.isEmpty, code.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) }) else {
            throw YKTError(.usageValue, "代发银行代码「\(code)」只能用大写字母和数字", at: SourceLocation(field: "--code"))
        }
        if let agreement { try Self.checkAgreement(agreement) }
        let path = Self.absolute(folder)
        let bank = AgencyBank(code: code, name: name.trimmed, serves: serves, folder: path)
        try Self.makeFolders(of: bank)
        // The folder is signed too: payment files (full account numbers) go where it says.
        try perform("bank.add", object: "bank/\(code)", describing: {
            try db.run("""
                INSERT INTO agency_bank(code, name, serves, folder, added_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(code) DO UPDATE SET name = excluded.name, serves = excluded.serves, folder = excluded.folder
                """, code, bank.name, serves.joined(separator: "\n"), path, timestamp())
            let recorded = try agreement.map { try recordAgreement($0, bank: code) }
            return ((), "folder=\(path)\n\(name) serves=\(serves.joined(separator: "、"))" + (recorded.map { "\n" + $0 } ?? ""))
        })
    }

    /// Changes a registered agency bank: its name, the account banks it serves, its folder, and
    /// records an agreement (a new number: a renewal; a known one: corrected). Nil leaves a
    /// thing as it is; at least one must be given.
    public func editBank(code: String, name: String? = nil, serves: [String]? = nil, folder: String? = nil,
                         agreement: AgreementTerms? = nil) throws {
        var bank = try agencyBank(code)
        guard name != nil || serves != nil || folder != nil || agreement != nil else {
            throw YKTError(.usage, "没有要修改的内容", hint: "给出 --name、--serves、--folder，或 --agreement 与 --agreement-start、--agreement-end、--fees")
        }
        if let agreement { try Self.checkAgreement(agreement) }
        if let name {
            guard !name.trimmed.isEmpty else { throw YKTError(.fieldMissing, "银行名称为空", at: SourceLocation(field: "--name")) }
            bank.name = name.trimmed
        }
        if let serves { bank.serves = serves }
        if let folder {
            bank.folder = Self.absolute(folder)
            try Self.makeFolders(of: bank)
        }
        // Signed as `bank.add` (登记或更改代发银行), like a registration: `audit verify` checks the
        // folder against the latest such entry and each agreement against an entry that names it.
        try perform("bank.add", object: "bank/\(code)", describing: {
            try db.run("UPDATE agency_bank SET name = ?, serves = ?, folder = ? WHERE code = ?",
                       bank.name, bank.serves.joined(separator: "\n"), bank.folder, code)
            var detail = "folder=\(bank.folder)\n\(bank.name) serves=\(bank.serves.joined(separator: "、"))"
            if let agreement { detail += "\n" + (try recordAgreement(agreement, bank: code)) }
            return ((), detail)
        })
    }

    static func absolute(_ folder: String) -> String {
        folder.hasPrefix("/") ? folder : FileManager.default.currentDirectoryPath + "/" + folder
    }

    /// 0750: the county's folders; a bank gets in only as the administrator allows (docs/bank-files.md).
    static func makeFolders(of bank: AgencyBank) throws {
        for dir in [bank.outbox, bank.inbox, bank.processed, bank.refused] { try ExchangeFile.makeFolder(dir) }
    }

    public func agencyBanks() throws -> [AgencyBank] {
        let agreements = try bankAgreements()
        return try db.all("SELECT code, name, serves, folder FROM agency_bank ORDER BY code") { r in
            let code = r.text(0)
            return AgencyBank(code: code, name: r.text(1), serves: r.text(2).split(separator: "\n").map(String.init), folder: r.text(3),
                              agreements: agreements.filter { $0.bank == code })
        }
    }

    func agencyBank(_ code: String) throws -> AgencyBank {
        guard let b = try agencyBanks().first(where: { $0.code == code }) else {
            throw YKTError(.bankUnknown, "没有代码为 \(code) 的代发银行", hint: "用 ykt bank list 查看")
        }
        return b
    }

    // MARK: Batches

    public struct Batch: Sendable, Codable {
        public var id: Int64
        public var bank: String
        public var kind: String
        public var lineCount: Int
        public var totalFen: Int64
        public var status: String
        public var createdAt: String
        public var file: String?
        public var dispatchedOn: String?
        public var payDue: String?
        public var reportDue: String?
        public var resultedOn: String?
        /// The instruction file's sequence number among this bank's files (nil before schema 10).
        public var fileSeq: Int64?
        /// SHA-256 of the whole instruction file, fixed when the batch was dispatched.
        public var sha256: String?
        /// Whether the file is known to be in the outbox (false: dispatched, and the next
        /// `batch dispatch` puts the file in place).
        public var filePlaced: Bool = false

        public var statusChinese: String { ["created": "待发送", "dispatched": "已发送待回盘", "resulted": "已回盘"][status] ?? status }
    }

    public func batches() throws -> [Batch] {
        try db.all("""
            SELECT id, bank, kind, line_count, total_fen, status, created_at, file, dispatched_on, pay_due, report_due, resulted_on,
                   file_seq, sha256, file_placed_at IS NOT NULL
            FROM batch ORDER BY id
            """) {
            Batch(id: $0.int64(0), bank: $0.text(1), kind: $0.text(2), lineCount: $0.int(3), totalFen: $0.int64(4), status: $0.text(5),
                  createdAt: $0.text(6), file: $0.optionalText(7), dispatchedOn: $0.optionalText(8), payDue: $0.optionalText(9),
                  reportDue: $0.optionalText(10), resultedOn: $0.optionalText(11), fileSeq: $0.isNull(12) ? nil : $0.int64(12),
                  sha256: $0.optionalText(13), filePlaced: $0.bool(14))
        }
    }

    /// A batch awaiting its result, with where it stands against its deadlines on `today`.
    public struct BatchDeadline: Sendable, Codable {
        public var batch: Batch
        /// overdue (report deadline passed), due (pay deadline reached, report due soon), waiting.
        public var state: String
        public var workingDaysLeft: Int
        public var stateChinese: String { ["overdue": "逾期未回盘", "due": "即将到期", "waiting": "正常"][state] ?? state }
    }

    public func deadlines(on today: CivilDate) throws -> [BatchDeadline] {
        try batches().filter { $0.status == "dispatched" }.map { b in
            let pay = try CivilDate(parsing: b.payDue ?? "")
            let report = try CivilDate(parsing: b.reportDue ?? "")
            if today > report {
                return BatchDeadline(batch: b, state: "overdue", workingDaysLeft: -(try calendar.workdays(from: report.adding(days: 1), through: today)))
            }
            let left = try calendar.workdays(from: today.adding(days: 1), through: report)
            return BatchDeadline(batch: b, state: today >= pay ? "due" : "waiting", workingDaysLeft: left)
        }
    }

    // MARK: Results

    public struct ResultReport: Sendable, Codable {
        public var file: String
        public var bank: String
        public var batch: Int64?
        public var paid = 0
        public var paidFen: Int64 = 0
        public var failed = 0
        public var failedFen: Int64 = 0
        public var returnedFen: Int64 = 0
        public var alreadyApplied = false
        /// Set when the file was refused; the file is then in the bank's `refused/` folder with a report.
        public var refusal: String?
        /// Set for an entry of the inbox that is not a regular file (a link, a directory, a FIFO…):
        /// it was not read and is left where it is; the text names it and what it is.
        public var skipped: String?
    }

    /// Reads every result file in every agency bank's inbox (or one bank's). Each file is applied
    /// whole in one transaction or refused whole and kept, with a report beside it.
    /// The files in a bank's inbox folder that `bank receive` reads: no link followed, hidden
    /// and temporary files (a bank still writing) left out.
    static func resultFiles(of bank: AgencyBank) -> (files: [String], skipped: [ExchangeFile.Skipped]) {
        ExchangeFile.list(bank.inbox) { !$0.hasPrefix(".") && !$0.contains(".tmp") }
    }

    public func receiveResults(bank code: String? = nil, today: CivilDate) throws -> [ResultReport] {
        var reports: [ResultReport] = []
        for bank in try agencyBanks() where code == nil || bank.code == code {
            let inbox = Self.resultFiles(of: bank)
            for entry in inbox.skipped {
                var report = ResultReport(file: entry.name, bank: bank.code)
                report.skipped = entry.error.description
                reports.append(report)
            }
            for name in inbox.files {
                reports.append(try receiveResult(path: (bank.inbox as NSString).appendingPathComponent(name), bank: bank, today: today))
            }
        }
        return reports
    }

    func receiveResult(path: String, bank: AgencyBank, today: CivilDate) throws -> ResultReport {
        let name = (path as NSString).lastPathComponent
        var report = ResultReport(file: name, bank: bank.code)
        var sha = ""    // stays empty for a file refused unread
        do {
            let bytes = try ExchangeFile.read(path: path, maximumBytes: exchangeFileMaximumBytes)
            sha = Hex.encode(SHA256.hash(bytes))
            let result = try BankFile.readResult(bytes, file: name)
            report.batch = result.batch
            if let applied = try db.first("SELECT result_sha256 FROM batch WHERE id = ? AND status = 'resulted'", result.batch,
                                          map: { $0.optionalText(0) }), applied == sha {
                report.alreadyApplied = true
                try move(path, to: bank.processed)
                return report
            }
            try perform("batch.result", object: "batch#\(result.batch)", detail: "\(name) sha256:\(sha.prefix(16))") {
                try apply(result, bank: bank, file: name, sha256: sha, today: today, report: &report)
            }
            try move(path, to: bank.processed)
        } catch let e as YKTError where e.code.exitStatus == .storage {
            // The county could not store it (disk full, database busy): nothing applied, and the
            // file, which may be perfectly good, stays in the inbox to be read again.
            throw e
        } catch let e as YKTError {
            // Nothing applied: keep the file as it came, with a report beside it. The report holds
            // the problems only: each names its line and field and quotes at most that field, cut
            // short (BankFile, ExchangeFile.quote); no line or content of the file is copied.
            let kept = try move(path, to: bank.refused)
            var text = "支付结果文件 \(name) 未采用（\(ChinaTime.timestamp(now()))）\n\(e.description)\n"
            for d in e.details { text += "  - \(d.description)\n" }
            try FileOutput.writeAtomically(text, to: kept + ".report.txt", mode: 0o640)
            let read = sha.isEmpty ? "unread" : "sha256:\(sha.prefix(16))"
            try perform("batch.result.refused", object: "bank/\(bank.code)", detail: "\(name) \(read) \(e.code.rawValue)") {
                try db.run("INSERT INTO result_refusal(bank, file, sha256, kept_as, problems, refused_at) VALUES (?, ?, ?, ?, ?, ?)",
                           bank.code, name, sha, kept, max(1, e.details.count), timestamp())
            }
            report.refusal = e.description + e.details.prefix(10).map { "\n  - " + $0.description }.joined()
        }
        return report
    }

    @discardableResult
    func move(_ path: String, to dir: String) throws -> String {
        var target = (dir as NSString).appendingPathComponent((path as NSString).lastPathComponent)
        var n = 1
        var st = stat()
        while lstat(target, &st) == 0 {     // lstat: a dangling link there is taken too, not replaced
            n += 1
            target = (dir as NSString).appendingPathComponent((path as NSString).lastPathComponent + ".\(n)")
        }
        guard rename(path, target) == 0 else {
            throw YKTError(.fileWrite, "不能移动文件到 \(dir)", at: SourceLocation(file: path))
        }
        return target
    }

    /// Checks a parsed result against its batch and applies it. Throws (applying nothing) on any
    /// difference: wrong bank or batch, a batch already answered, unknown, missing or duplicate
    /// lines, amounts that differ from the instruction, dates outside dispatch…today, or a
    /// roster whose paid total would exceed its approved total.
    func apply(_ result: BankFile.Result, bank: AgencyBank, file: String, sha256: String, today: CivilDate,
               report: inout ResultReport) throws {
        guard let batch = try batches().first(where: { $0.id == result.batch }) else {
            throw YKTError(.batchUnknown, "结果文件的批次 \(result.batch) 县里没有", at: SourceLocation(file: file, line: 1, field: "batch"))
        }
        guard batch.bank == bank.code, result.bank == bank.code else {
            throw YKTError(.bankLine, "批次 \(batch.id) 属于代发银行 \(batch.bank)，结果文件写的是「\(ExchangeFile.quote(result.bank))」，放在 \(bank.code) 的目录里",
                           at: SourceLocation(file: file, line: 1, field: "bank"))
        }
        guard batch.status == "dispatched" else {
            throw YKTError(.batchState, "批次 \(batch.id) 的状态是「\(batch.statusChinese)」，不接收（另一份）结果文件",
                           at: SourceLocation(file: file, line: 1, field: "batch"))
        }
        let dispatched = try CivilDate(parsing: batch.dispatchedOn ?? "")
        var expected: [Int64: (amount: Int64, roster: Int64)] = [:]
        expected.reserveCapacity(batch.lineCount)
        try db.forEach("SELECT id, amount_fen, roster_id FROM payment WHERE batch_id = ?", batch.id) {
            expected[$0.int64(0)] = ($0.int64(1), $0.int64(2))
        }
        var problems: [YKTError] = []
        var matched = 0
        var paidPerRoster: [Int64: Int64] = [:]
        for l in result.lines {
            guard let id = Int64(l.lineID), String(id) == l.lineID, let e = expected[id] else {
                problems.append(YKTError(.bankLine, "行号「\(ExchangeFile.quote(l.lineID))」不在批次 \(batch.id) 的支付指令中",
                                         at: SourceLocation(file: file, line: l.fileLine, field: "line_id")))
                continue
            }
            matched += 1    // the reader refused duplicate line ids
            if l.amountFen != e.amount {
                problems.append(YKTError(.bankLine, "行号 \(l.lineID) 的金额 \(Fen(l.amountFen).yuan) 元与支付指令的 \(Fen(e.amount).yuan) 元不同",
                                         at: SourceLocation(file: file, line: l.fileLine, field: "amount_fen")))
            }
            if l.date < dispatched || l.date > today {
                problems.append(YKTError(.bankLine, "行号 \(l.lineID) 的日期 \(l.date) 不在发送日 \(dispatched) 至今天 \(today) 之间",
                                         at: SourceLocation(file: file, line: l.fileLine, field: "date")))
            }
            if l.status == .paid { paidPerRoster[e.roster, default: 0] += l.amountFen }
        }
        if matched != expected.count {
            let seen = Set(result.lines.compactMap { Int64($0.lineID) })
            let missing = expected.keys.filter { !seen.contains($0) }.sorted().map(String.init)
            problems.append(YKTError(.bankLine, "结果文件缺少 \(missing.count) 行：" + missing.prefix(10).joined(separator: "、") +
                                     (missing.count > 10 ? "…" : ""), at: SourceLocation(file: file)))
        }
        for (roster, adding) in paidPerRoster.sorted(by: { $0.key < $1.key }) {
            let approved = try db.integer("SELECT total_fen FROM roster WHERE id = ?", roster) ?? 0
            let paid = try db.integer("SELECT coalesce(sum(amount_fen), 0) FROM payment WHERE roster_id = ? AND status = 'paid'", roster) ?? 0
            if paid + adding > approved {
                problems.append(YKTError(.bankLine, "清册 \(roster) 已发放 \(Fen(paid).yuan) 元，再加本文件 \(Fen(adding).yuan) 元将超过审定总额 \(Fen(approved).yuan) 元"))
            }
        }
        guard problems.isEmpty else {
            throw YKTError(.bankLine, "结果文件与批次 \(batch.id) 的支付指令有 \(problems.count) 处不符，整个文件不予采用",
                           at: SourceLocation(file: file), hint: "文件已原样保留；请开户行核对后重新出具", details: problems)
        }
        // The townships' messages are written from the payment rows (which results do not change)
        // and the result lines on a read connection of their own, while this one applies them.
        // Numbered, wrapped and signed there too, so that this connection only stores them.
        let key = try signingKey()
        let envelope = MessageEnvelope(at: timestamp(), county: config.nodeID, key: key)
        let messages = BackgroundJob { [path = db.path, id = batch.id, lines = result.lines, limit = resultLinesPerMessage] in
            try Self.resultMessages(path: path, batch: id, lines: lines, limit: limit, envelope: envelope)
        }
        // Most lines are paid on one day: they are written by one statement after the others,
        // each written on its own, have left the 'dispatched' state. Every line must change.
        var days: [CivilDate: Int] = [:]
        for l in result.lines where l.status == .paid { days[l.date, default: 0] += 1 }
        let usual = days.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key
        let update = try db.statement("""
            UPDATE payment SET status = ?, reason_code = ?, reason = ?, result_on = ?, returned_fen = ? WHERE id = ? AND status = 'dispatched'
            """)
        var changed = 0
        var dates: [CivilDate: String] = [:]
        for l in result.lines {
            if l.status == .paid {
                report.paid += 1
                report.paidFen += l.amountFen
            } else {
                report.failed += 1
                report.failedFen += l.amountFen
            }
            report.returnedFen += l.returnedFen
            if l.status == .paid && l.date == usual { continue }
            let date = dates[l.date] ?? { let d = l.date.description; dates[l.date] = d; return d }()
            update.reset()
            try update.bind(1, l.status.rawValue)
            try update.bind(2, l.reason?.rawValue)
            try update.bind(3, l.storedReason)
            try update.bind(4, date)
            try update.bind(5, l.returnedFen)
            try update.bind(6, Int64(l.lineID)!)
            try update.execute()
            changed += db.changes
        }
        if let usual {
            try db.run("""
                UPDATE payment SET status = 'paid', reason_code = NULL, reason = NULL, result_on = ?, returned_fen = 0
                WHERE batch_id = ? AND status = 'dispatched'
                """, usual.description, batch.id)
            changed += db.changes
        }
        guard changed == result.lines.count else {
            throw YKTError(.batchState, "批次 \(batch.id) 有 \(result.lines.count - changed) 笔支付已不在「已发送」状态，结果文件未采用",
                           at: SourceLocation(file: file), hint: "用 ykt payment list 核对该批次")
        }
        // The paid totals per roster and day that the monthly report reads.
        // (Added up from the result lines just written: every one of them changed its payment.)
        struct Day: Hashable { var roster: Int64; var date: CivilDate }
        var paidPerDay: [Day: (lines: Int64, fen: Int64)] = [:]
        for l in result.lines where l.status == .paid {
            let day = Day(roster: expected[Int64(l.lineID)!]!.roster, date: l.date)
            let sum = paidPerDay[day] ?? (0, 0)
            paidPerDay[day] = (sum.lines + 1, sum.fen + l.amountFen)
        }
        for (day, sum) in paidPerDay.sorted(by: { ($0.key.roster, $0.key.date) < ($1.key.roster, $1.key.date) }) {
            try db.run("""
                INSERT INTO roster_paid(roster_id, paid_on, lines, fen) VALUES (?, ?, ?, ?)
                ON CONFLICT(roster_id, paid_on) DO UPDATE SET lines = lines + excluded.lines, fen = fen + excluded.fen
                """, day.roster, day.date.description, sum.lines, sum.fen)
        }
        try db.run("UPDATE batch SET status = 'resulted', result_file = ?, result_sha256 = ?, resulted_on = ? WHERE id = ?",
                   file, sha256, today.description, batch.id)
        try store(try messages.wait(), at: envelope.at)
    }

    /// The `payment.result` messages of a batch for the townships, each at most `limit` lines
    /// in payment order, written as canonical JSON straight from
    /// the rows: the payment as dispatched and its result line from the bank's file.
    static func resultMessages(path: String, batch: Int64, lines results: [BankFile.ResultLine], limit: Int,
                               envelope: MessageEnvelope) throws -> [SignedMessage] {
        let db = try Database(path: path, create: false)   // the county's own file, never a new one
        try db.execute("PRAGMA query_only=1")
        // Numbered after each township's last message: the caller's transaction holds the
        // write lock and has stored none yet, so this read sees the numbers it would (and a
        // number taken all the same fails its insert, and with it the whole file).
        var nextSeq: [String: Int64] = [:]
        func seq(_ node: String) throws -> Int64 {
            let n = try nextSeq[node] ?? ((try db.integer("SELECT max(seq) FROM downstream WHERE node_id = ?", node) ?? 0) + 1)
            nextSeq[node] = n + 1
            return n
        }
        var order = results.indices.map { (id: Int64(results[$0].lineID) ?? 0, index: $0) }
        order.sort { $0.id < $1.id }
        var next = 0
        var dates: [CivilDate: String] = [:]
        // Lines waiting to be sent, per township; the current township's are held apart.
        var waiting: [String: (lines: [UInt8], count: Int)] = [:]
        var node = ""
        var lines: [UInt8] = []
        var count = 0
        var messages: [(node: String, seq: Int64, body: [UInt8])] = []
        let batchPrefix = Array("{\"batch\":\(batch),\"lines\":".utf8)
        func send() throws {
            guard count > 0 else { return }
            lines.append(UInt8(ascii: "]"))
            lines.append(UInt8(ascii: "}"))
            let s = try seq(node)
            messages.append((node, s, downstreamBody(at: envelope.at, county: envelope.county, node: node, seq: s, kind: "payment.result",
                                                     data: batchPrefix + lines)))
            lines.removeAll(keepingCapacity: true)
            count = 0
        }
        var w = CanonicalObjectWriter(capacity: 512)
        try db.forEach("""
            SELECT p.node_id, p.id, r.entity, p.line_no, p.resident_id, p.name, p.amount_fen, p.reissue_of, p.bank, p.account_kind,
                   p.account_number, p.program, p.period
            FROM payment p JOIN roster r ON r.id = p.roster_id WHERE p.batch_id = ? ORDER BY p.id
            """, batch) { r in
            guard next < order.count, order[next].id == r.int64(1) else {
                throw YKTError(.batchState, "批次 \(batch) 的支付与结果文件对不上（支付 \(r.int64(1))）")
            }
            let l = results[order[next].index]
            next += 1
            if !r.utf8(0).elementsEqual(node.utf8) {
                if count > 0 { waiting[node] = (lines, count) }
                node = r.text(0)
                (lines, count) = waiting.removeValue(forKey: node) ?? ([], 0)
            }
            w.reset()
            w.string("accountKind", utf8: r.utf8(9))
            w.string("accountNumber", utf8: r.utf8(10))
            w.int("amountFen", r.int64(6))
            w.string("bank", utf8: r.utf8(8))
            w.string("date", dates[l.date] ?? { let d = l.date.description; dates[l.date] = d; return d }())
            w.string("entity", utf8: r.utf8(2))
            w.int("line", r.int64(3))
            w.string("name", utf8: r.utf8(5))
            w.int("payment", r.int64(1))
            w.string("period", utf8: r.utf8(12))
            w.string("program", utf8: r.utf8(11))
            if let reason = l.storedReason { w.string("reason", reason) }
            if let code = l.reason { w.string("reasonCode", code.rawValue) }
            if !r.isNull(7) { w.int("reissueOf", r.int64(7)) }
            w.string("residentId", utf8: r.utf8(4))
            w.int("returnedFen", l.returnedFen)
            w.string("status", l.status.rawValue)
            lines.append(UInt8(ascii: count == 0 ? "[" : ","))
            w.finish(appendingTo: &lines)
            count += 1
            if count == limit { try send() }
        }
        guard next == order.count else {
            throw YKTError(.batchState, "批次 \(batch) 的支付与结果文件对不上（\(order.count - next) 行）")
        }
        if count > 0 { waiting[node] = (lines, count) }
        for (n, pending) in waiting.sorted(by: { $0.key < $1.key }) {
            (node, lines, count) = (n, pending.lines, pending.count)
            try send()
        }
        let signatures = messages.parallelMap(minimumChunk: 1) { m in Result { try envelope.key.sign(m.body) } }
        return try zip(messages, signatures).map {
            SignedMessage(node: $0.node, seq: $0.seq, kind: "payment.result", body: $0.body, signature: try $1.get())
        }
    }

    /// What wraps a downstream message: when, from which county, signed with which key.
    struct MessageEnvelope: Sendable {
        var at: String
        var county: String
        var key: Ed25519.PrivateKey
    }

    // MARK: Corrections and re-issue

    /// A township's correction of one of its failed payments (`payment.correct`).
    func receiveCorrection(_ data: JSONValue, node: String, opSeq: Int64) throws -> Decision {
        // Every field first: one that is missing is a refusal naming it, never an empty value.
        let id = try data.requiredInt("payment")
        let resident = try data.requiredString("residentId")
        let note = try data.requiredString("note")
        guard let account = data["account"], case .object = account else {
            throw YKTError(.fieldMissing, "操作缺少字段「account」，或它不是对象", at: SourceLocation(field: "account"))
        }
        let (kindText, numberText) = (try account.requiredString("kind"), try account.requiredString("number"))
        let (bank, confirmation) = (try account.requiredString("bank"), try account.requiredString("confirmation"))
        guard let p = try db.first("SELECT node_id, status, resident_id FROM payment WHERE id = ?", id,
                                   map: { (node: $0.text(0), status: $0.text(1), resident: $0.text(2)) }), p.node == node else {
            return .rejected(.paymentUnknown, "县里没有本乡镇的支付 \(id)")
        }
        guard p.status == "failed", p.resident == resident else {
            return .rejected(.paymentState, "支付 \(id) 的状态是 \(p.status)，只有失败的支付可以更正")
        }
        if try db.integer("SELECT count(*) FROM correction WHERE payment_id = ?", id) != 0 {
            return .rejected(.paymentState, "支付 \(id) 已收到过更正")
        }
        let kind = try AccountKind(parsing: kindText)
        let number = try AccountNumber(numberText, kind: kind)
        try db.run("""
            INSERT INTO correction(payment_id, node_id, op_seq, bank, account_kind, account_number, confirmation, note, received_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, id, node, opSeq, bank, kind.rawValue, number.value, confirmation, note, timestamp())
        return .accepted
    }

    /// Failed payments the townships corrected and that are not yet re-issued.
    public func pendingReissues() throws -> [(payment: Int64, node: String, amountFen: Int64, bank: String)] {
        try db.all("""
            SELECT c.payment_id, c.node_id, p.amount_fen, c.bank FROM correction c JOIN payment p ON p.id = c.payment_id
            WHERE NOT EXISTS (SELECT 1 FROM payment q WHERE q.reissue_of = c.payment_id) ORDER BY c.payment_id
            """) { (payment: $0.int64(0), node: $0.text(1), amountFen: $0.int64(2), bank: $0.text(3)) }
    }

    /// Re-issues every corrected failed payment in new batches (one per agency bank), each new
    /// line linked to the failed one and paying the corrected account the same amount.
    @discardableResult
    public func reissue() throws -> [Int64] {
        let pending = try pendingReissues()
        guard !pending.isEmpty else { return [] }
        try requireRole(.payments)
        let banks = try agencyBanks()
        var byBank: [String: [Int64]] = [:]
        for p in pending {
            guard let b = banks.first(where: { $0.pays(p.bank) }) else {
                throw YKTError(.bankUnknown, "支付 \(p.payment) 更正后的开户行「\(p.bank)」没有代发银行", hint: "用 ykt bank add 登记")
            }
            byBank[b.code, default: []].append(p.payment)
        }
        // The new batches are named in the signed entry (each must rest on it) with what each pays.
        return try perform("batch.reissue", object: "payments", describing: {
            var created: [Int64] = []
            for (bank, ids) in byBank.sorted(by: { $0.key < $1.key }) {
                let total = pending.filter { ids.contains($0.payment) }.reduce(0) { $0 + $1.amountFen }
                let batch = try createBatch(bank: bank, kind: "reissue", count: ids.count, total: total)
                for id in ids {
                    try db.run("""
                        INSERT INTO payment(batch_id, roster_id, line_no, node_id, program, period, resident_id, name, bank, account_kind,
                            account_number, amount_fen, reissue_of)
                        SELECT ?, p.roster_id, p.line_no, p.node_id, p.program, p.period, p.resident_id, p.name, c.bank, c.account_kind,
                               c.account_number, p.amount_fen, p.id
                        FROM payment p JOIN correction c ON c.payment_id = p.id WHERE p.id = ?
                        """, batch, id)
                }
                created.append(batch)
            }
            let batches = created.map { "#\($0)," }.joined()
            return (created, "count=\(pending.count) batches=\(batches) lines=\(try reissueDigest(created))")
        })
    }

    /// SHA-256 (16 hex) of what re-issue batches pay: each line's payment, account and amount.
    func reissueDigest(_ batches: [Int64]) throws -> String {
        var text = ""
        for b in batches {
            try db.forEach("SELECT reissue_of, account_number, amount_fen FROM payment WHERE batch_id = ? ORDER BY id", b) { r in
                text += "\(b)|\(r.int64(0))|\(r.text(1))|\(r.int64(2))\n"
            }
        }
        return String(SHA256.hex(text).prefix(16))
    }

    // MARK: Payments

    public struct Payment: Sendable, Codable {
        public var id: Int64
        public var batch: Int64
        public var roster: Int64
        public var line: Int
        public var node: String
        public var program: String
        public var period: String
        public var residentID: String
        public var name: String
        public var bank: String
        public var accountNumber: String
        public var amountFen: Int64
        public var status: String
        public var reasonCode: String?
        public var reason: String?
        public var resultOn: String?
        public var returnedFen: Int64
        public var reissueOf: Int64?
        public var statusChinese: String { ["dispatched": "发放中", "paid": "已发放", "failed": "发放失败"][status] ?? status }
    }

    static let paymentColumns = """
        id, batch_id, roster_id, line_no, node_id, program, period, resident_id, name, bank, account_number, amount_fen, status,
        reason_code, reason, result_on, returned_fen, reissue_of
        """

    static func payment(_ r: Row) -> Payment {
        Payment(id: r.int64(0), batch: r.int64(1), roster: r.int64(2), line: r.int(3), node: r.text(4), program: r.text(5),
                period: r.text(6), residentID: r.text(7), name: r.text(8), bank: r.text(9), accountNumber: r.text(10),
                amountFen: r.int64(11), status: r.text(12), reasonCode: r.optionalText(13), reason: r.optionalText(14),
                resultOn: r.optionalText(15), returnedFen: r.int64(16), reissueOf: r.isNull(17) ? nil : r.int64(17))
    }

    public func payments(status: String? = nil, batch: Int64? = nil) throws -> [Payment] {
        try db.all("SELECT \(Self.paymentColumns) FROM payment WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR batch_id = ?2) ORDER BY id",
                   status, batch, map: Self.payment)
    }

    /// The whole loop's figures, for the demo's summary and the invariant checks.
    public struct LoopSummary: Sendable, Codable {
        public var residents = 0
        public var rosterLines = 0
        public var approvedLines = 0
        public var approvedFen: Int64 = 0
        public var paidLines = 0
        public var paidFen: Int64 = 0
        public var failedPayments = 0
        public var reissued = 0
        /// Approved roster lines not (yet) paid.
        public var outstanding = 0
        /// Money the banks returned for failed lines that is not yet out again (the failed line
        /// has no re-issue): 0 once every failed line was re-issued (docs/bank-files.md, "退回资金").
        public var returnedFen: Int64 = 0
        /// Every amount the banks ever returned, re-issued or not (for reconciliation).
        public var returnedTotalFen: Int64 = 0
        /// Failed payments not yet re-issued (waiting for a correction or for `batch reissue`).
        public var failedOpen = 0
    }

    public func loopSummary() throws -> LoopSummary {
        var s = LoopSummary()
        s.residents = Int(try db.integer("SELECT count(*) FROM resident") ?? 0)
        s.rosterLines = Int(try db.integer("SELECT coalesce(sum(line_count), 0) FROM roster WHERE status != 'rejected'") ?? 0)
        s.approvedLines = Int(try db.integer("SELECT coalesce(sum(line_count), 0) FROM roster WHERE status = 'approved'") ?? 0)
        s.approvedFen = try db.integer("SELECT coalesce(sum(total_fen), 0) FROM roster WHERE status = 'approved'") ?? 0
        s.paidLines = Int(try db.integer("SELECT count(*) FROM payment WHERE status = 'paid'") ?? 0)
        s.paidFen = try db.integer("SELECT coalesce(sum(amount_fen), 0) FROM payment WHERE status = 'paid'") ?? 0
        s.failedPayments = Int(try db.integer("SELECT count(*) FROM payment WHERE status = 'failed'") ?? 0)
        s.reissued = Int(try db.integer("SELECT count(*) FROM payment WHERE reissue_of IS NOT NULL") ?? 0)
        s.outstanding = s.approvedLines - s.paidLines
        s.returnedTotalFen = try db.integer("SELECT coalesce(sum(returned_fen), 0) FROM payment") ?? 0
        let open = "FROM payment p WHERE p.status = 'failed' AND NOT EXISTS (SELECT 1 FROM payment q WHERE q.reissue_of = p.id)"
        s.returnedFen = try db.integer("SELECT coalesce(sum(p.returned_fen), 0) " + open) ?? 0
        s.failedOpen = Int(try db.integer("SELECT count(*) " + open) ?? 0)
        return s
    }
}

