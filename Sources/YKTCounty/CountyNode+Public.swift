import Foundation
import YKTCore
import YKTStore
import YKTNode
import YKTCrypto
import YKTPublic
#if canImport(Glibc)
import Glibc
#endif

/// What the county shows people: a beneficiary's own payments (`ykt query`), complaints and
/// reports (投诉举报), the monthly disbursement report, and reconciliation with the banks (对账).
extension CountyNode {
    // MARK: Query

    public struct QueryLine: Sendable, Codable {
        public var program: String
        public var programName: String
        public var period: String
        public var amountFen: Int64
        public var date: String
        public var status: String
        public var account: String
    }

    /// A beneficiary's own payments, found by resident ID **and** name (both must match, and the
    /// answer never says which one did not). Accounts are masked. Audited.
    public func query(residentID: ResidentID, name: String) throws -> [QueryLine] {
        let who = name.trimmed
        let known = try db.integer("""
            SELECT (SELECT count(*) FROM resident WHERE resident_id = ?1 AND name = ?2)
                 + (SELECT count(*) FROM roster_line WHERE resident_id = ?1 AND name = ?2)
            """, residentID.value, who) ?? 0
        let names = Dictionary(try db.all("SELECT code, name FROM program") { ($0.text(0), $0.text(1)) }, uniquingKeysWith: { a, _ in a })
        var lines: [QueryLine] = []
        if known > 0 {
            try db.forEach("""
                SELECT program, period, amount_fen, coalesce(result_on, ''), status, account_number, reissue_of IS NOT NULL
                FROM payment WHERE resident_id = ? ORDER BY id
                """, residentID.value) { r in
                let status = ["dispatched": "发放中", "paid": r.bool(6) ? "补发成功" : "已发放", "failed": "发放失败（待更正补发）"][r.text(4)] ?? r.text(4)
                lines.append(QueryLine(program: r.text(0), programName: names[r.text(0)] ?? r.text(0), period: r.text(1), amountFen: r.int64(2),
                                       date: r.text(3), status: status, account: Masking.account(r.text(5))))
            }
            // Lines approved or under review and not yet sent to a bank.
            try db.forEach("""
                SELECT r.program, r.period, l.amount_fen, r.status, l.account_number FROM roster_line l JOIN roster r ON r.id = l.roster_id
                WHERE l.resident_id = ? AND r.status IN ('received','reviewed')
                """, residentID.value) { r in
                lines.append(QueryLine(program: r.text(0), programName: names[r.text(0)] ?? r.text(0), period: r.text(1), amountFen: r.int64(2),
                                       date: "", status: "审核中", account: Masking.account(r.text(4))))
            }
        }
        try perform("payment.query", object: "resident \(residentID.masked)", detail: known > 0 ? "lines=\(lines.count)" : "no match") {}
        guard known > 0 else {
            throw YKTError(.queryNoMatch, "没有查到：身份证号与姓名对不上，或没有登记", hint: "核对身份证号和姓名；仍有疑问请联系所在乡镇")
        }
        return lines
    }

    // MARK: Complaints

    public struct Complaint: Sendable, Codable {
        public var id: Int64
        public var subjectKind: String
        public var subject: String
        public var receivedOn: String
        public var channel: String
        public var complainant: String
        public var content: String
        public var status: String
        public var outcome: String?
        public var closedBy: String?
        public var closedOn: String?
        /// Closed as found true (查实): a problem lead for the discipline commission (`ykt leads export`).
        public var upheld = false
    }

    /// Records a complaint or report against `resident:<ID>`, `roster:<n>` or `payment:<n>`.
    @discardableResult
    public func addComplaint(about: String, content: String, complainant: String, channel: String, on date: CivilDate) throws -> Int64 {
        let parts = about.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, ["resident", "roster", "payment"].contains(parts[0]) else {
            throw YKTError(.usageValue, "投诉对象「\(about)」应为 resident:身份证号、roster:清册编号 或 payment:支付编号",
                           at: SourceLocation(field: "--about"))
        }
        var subject = parts[1]
        switch parts[0] {
        case "resident": subject = try ResidentID(parts[1]).value
        case "roster": _ = try roster(Int64(parts[1]) ?? 0)
        default:
            guard try db.integer("SELECT count(*) FROM payment WHERE id = ?", Int64(parts[1]) ?? 0) == 1 else {
                throw YKTError(.paymentUnknown, "没有编号为 \(parts[1]) 的支付", at: SourceLocation(field: "--about"))
            }
        }
        guard !content.trimmed.isEmpty else { throw YKTError(.fieldMissing, "投诉举报内容为空", at: SourceLocation(field: "--content")) }
        let masked = parts[0] == "resident" ? Masking.residentID(subject) : subject
        return try perform("complaint.add", object: "\(parts[0])/\(masked)", detail: channel) {
            try db.run("""
                INSERT INTO complaint(subject_kind, subject, received_on, channel, complainant, content) VALUES (?, ?, ?, ?, ?, ?)
                """, parts[0], subject, date.description, channel, complainant, content.trimmed)
            return db.lastInsertRowID
        }
    }

    static let complaintColumns = "id, subject_kind, subject, received_on, channel, complainant, content, status, outcome, closed_by, closed_on, upheld"

    static func complaint(_ r: Row) -> Complaint {
        Complaint(id: r.int64(0), subjectKind: r.text(1), subject: r.text(2), receivedOn: r.text(3), channel: r.text(4),
                  complainant: r.text(5), content: r.text(6), status: r.text(7), outcome: r.optionalText(8),
                  closedBy: r.optionalText(9), closedOn: r.optionalText(10), upheld: r.bool(11))
    }

    /// The complaints with `status` (nil: any) whose content or outcome contains `text` (nil:
    /// any), by number; `limit` and `offset` page them.
    public func complaints(status: String? = nil, containing text: String? = nil, limit: Int? = nil, offset: Int = 0) throws -> [Complaint] {
        try db.all("""
            SELECT \(Self.complaintColumns) FROM complaint WHERE (?1 IS NULL OR status = ?1)
              AND (?2 IS NULL OR instr(content, ?2) > 0 OR instr(coalesce(outcome, ''), ?2) > 0) ORDER BY id LIMIT ?3 OFFSET ?4
            """, status, text, Int64(limit ?? -1), Int64(max(0, offset)), map: Self.complaint)
    }

    public func complaintCount(status: String? = nil, containing text: String? = nil) throws -> Int {
        Int(try db.integer("""
            SELECT count(*) FROM complaint WHERE (?1 IS NULL OR status = ?1)
              AND (?2 IS NULL OR instr(content, ?2) > 0 OR instr(coalesce(outcome, ''), ?2) > 0)
            """, status, text) ?? 0)
    }

    public func complaint(_ id: Int64) throws -> Complaint {
        guard let c = try db.first("SELECT \(Self.complaintColumns) FROM complaint WHERE id = ?", id, map: Self.complaint) else {
            throw YKTError(.complaintUnknown, "没有编号为 \(id) 的投诉举报", hint: "用 ykt complaint list 查看")
        }
        return c
    }

    /// Closes a complaint with its outcome; `upheld`: it was found true (查实), which makes it a
    /// problem lead for the discipline commission (`ykt leads export`).
    public func closeComplaint(_ id: Int64, outcome: String, on date: CivilDate, upheld: Bool = false) throws {
        guard !outcome.trimmed.isEmpty else { throw YKTError(.fieldMissing, "办结须写明处理结果", at: SourceLocation(field: "--outcome")) }
        let c = try complaint(id)
        guard c.status == "open" else { throw YKTError(.complaintState, "投诉举报 \(id) 已于 \(c.closedOn ?? "") 办结") }
        try perform("complaint.close", object: "complaint#\(id)", detail: (upheld ? "upheld: " : "") + outcome.trimmed) {
            try db.run("UPDATE complaint SET status = 'closed', outcome = ?, closed_by = ?, closed_on = ?, upheld = ? WHERE id = ?",
                       outcome.trimmed, operatorName, date.description, upheld, id)
        }
    }

    // MARK: Complaints from the public page

    /// What `importPublicComplaints` did.
    public struct PublicComplaintImport: Sendable, Codable {
        /// Receipt → the complaint's number at the county, for each file imported now.
        public var imported: [ImportedComplaint]
        /// Receipts already imported earlier (their files are moved to `imported/` again, not re-imported).
        public var skipped: [String]
        /// Files that could not be moved to `imported/` after the import (they are skipped next time).
        public var notMoved: [String]
    }

    public struct ImportedComplaint: Sendable, Codable {
        public var receipt: String
        public var complaint: Int64
    }

    /// Imports the complaints the public server wrote into `spool` (docs/public.md, "投诉举报导入"):
    /// every `<receipt>.json` file is read as a file from outside (regular files only, no link
    /// followed, at most 64 KB) and checked; one bad file (or a link, a FIFO… named like a
    /// complaint) refuses the whole import, naming the file, line and field, and nothing is
    /// written. Otherwise all are recorded in one transaction, each complaint audited
    /// (`complaint.import`), and then the files are moved to `spool/imported/`. A receipt already
    /// imported is skipped (never recorded twice), so importing a file again does no harm; a
    /// file under an imported receipt whose bytes differ from the imported one refuses the import.
    public func importPublicComplaints(spool: String) throws -> PublicComplaintImport {
        var st = stat()
        guard lstat(spool, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw YKTError(.fileRead, "投诉存放目录不存在，或不是目录", at: SourceLocation(file: spool),
                           hint: "给出 ykt public serve --spool 写入的目录（或复制过来的副本）")
        }
        let listing = ExchangeFile.list(spool, including: ComplaintSpool.isComplaintFile)
        if let skipped = listing.skipped.first {
            var error = skipped.error
            error.location = SourceLocation(file: (spool as NSString).appendingPathComponent(skipped.name))
            throw error
        }
        var read: [(file: String, complaint: PublicComplaint, sha256: String)] = []
        for name in listing.files {
            let path = (spool as NSString).appendingPathComponent(name)
            let bytes = try ExchangeFile.read(path: path, maximumBytes: ComplaintSpool.maximumFileBytes)
            let complaint = try ComplaintSpool.parse(bytes, path: path)
            read.append((name, complaint, Hex.encode(SHA256.hash(bytes))))
        }
        var result = PublicComplaintImport(imported: [], skipped: [], notMoved: [])
        do {
            try db.transaction {
                for item in read {
                    let c = item.complaint
                    if let known = try db.first("SELECT sha256 FROM public_complaint WHERE receipt = ?", c.receipt, map: { $0.text(0) }) {
                        // The same file again: skipped. Another text under a receipt already
                        // imported: refused, the whole import (someone edited or forged it).
                        guard known == item.sha256 else {
                            throw YKTError(.publicSpool, "受理编号 \(c.receipt) 已经导入过，但这个文件的内容与当时导入的不同",
                                           at: SourceLocation(file: (spool as NSString).appendingPathComponent(item.file)),
                                           hint: "同一受理编号的投诉只导入一次；核对这个文件从哪里来（可能被改动过），把它移出存放目录后再导入其余的")
                        }
                        result.skipped.append(c.receipt)
                        continue
                    }
                    var subject: [String] = []
                    if !c.township.isEmpty { subject.append("乡镇：\(c.township)") }
                    if !c.program.isEmpty { subject.append("项目：\(c.program)") }
                    let who = [c.name, c.phone].filter { !$0.isEmpty }.joined(separator: " ")
                    let id = try perform("complaint.import", object: "receipt \(c.receipt)", detail: "网上投诉") { () throws -> Int64 in
                        try db.run("""
                            INSERT INTO complaint(subject_kind, subject, received_on, channel, complainant, content) VALUES ('public', ?, ?, ?, ?, ?)
                            """, subject.isEmpty ? "未写明乡镇和项目" : subject.joined(separator: "；"), c.receivedOn,
                                   "网上（受理编号 \(c.receipt)）", who.isEmpty ? "匿名" : who, c.content)
                        let id = db.lastInsertRowID
                        try db.run("INSERT INTO public_complaint(receipt, complaint_id, sha256, imported_at) VALUES (?, ?, ?, ?)",
                                   c.receipt, id, item.sha256, timestamp())
                        return id
                    }
                    result.imported.append(ImportedComplaint(receipt: c.receipt, complaint: id))
                }
            }
        } catch let error as DatabaseError {
            throw StoreErrors.map(error)
        }
        // After the commit: move every file read. A file that cannot be moved stays and is
        // skipped by its receipt next time.
        let done = (spool as NSString).appendingPathComponent(ComplaintSpool.importedFolder)
        do { try ExchangeFile.makeFolder(done, mode: 0o700) } catch {
            result.notMoved = read.map(\.file)
            return result
        }
        for item in read {
            let from = (spool as NSString).appendingPathComponent(item.file)
            let to = (done as NSString).appendingPathComponent(item.file)
            if Glibc.rename(from, to) != 0 { result.notMoved.append(item.file) }
        }
        return result
    }

    // MARK: Monthly report

    /// The batches whose results may be dated from `?1` to `?2`, as `b` (a SQL table): a bank
    /// dates each result line from the batch's dispatch to the day the county receives the
    /// file (`bank receive` refuses any other date), so only batches dispatched by `?2` and
    /// answered on or after `?1` (or not yet) can hold one. Their payments are read by batch,
    /// so no index over every payment's result date is kept up by each result file (issue 21).
    static let batchesAnswering = """
        (SELECT id, bank FROM batch WHERE (dispatched_on IS NULL OR dispatched_on <= ?2) AND (resulted_on IS NULL OR resulted_on >= ?1)) b
        """

    public struct MonthlyRow: Sendable, Codable {
        public var program: String
        public var programName: String
        public var township: String
        public var townshipName: String
        public var paid = 0
        public var paidFen: Int64 = 0
        public var failed = 0
        public var failedFen: Int64 = 0
        public var returnedFen: Int64 = 0
        public var reissued = 0
        /// Approved by the month's end and not paid by then.
        public var outstanding = 0
        public var outstandingFen: Int64 = 0
    }

    /// The disbursement report for one month, by program and township (for audit and the
    /// discipline commission): bank results dated in the month, re-issues made in it, and what
    /// was approved by its end and still not paid.
    public func monthlyReport(month: Period) throws -> [MonthlyRow] {
        guard let m = month.month else { throw YKTError(.periodInvalid, "月报须给出月份，例如 2026-11", at: SourceLocation(field: "--month")) }
        let first = "\(month)-01", last = "\(month)-\(CivilDate.daysIn(month: m, year: month.year))"
        let programs = Dictionary(try db.all("SELECT code, name FROM program") { ($0.text(0), $0.text(1)) }, uniquingKeysWith: { a, _ in a })
        let towns = Dictionary(try db.all("SELECT node_id, name FROM township") { ($0.text(0), $0.text(1)) }, uniquingKeysWith: { a, _ in a })
        var rows: [String: MonthlyRow] = [:]
        func row(_ program: String, _ node: String) -> String {
            let key = "\(program)|\(node)"
            if rows[key] == nil {
                rows[key] = MonthlyRow(program: program, programName: programs[program] ?? program, township: node, townshipName: towns[node] ?? node)
            }
            return key
        }
        // The month's bank results in one pass, added up here by roster (a payment carries its
        // roster's program and township): a GROUP BY would first sort every result of the month,
        // two hundred thousand in a county's month, which costs four times the pass itself.
        struct Results { var paid = 0, paidFen: Int64 = 0, failed = 0, failedFen: Int64 = 0, returnedFen: Int64 = 0 }
        var byRoster: [Int64: Results] = [:]
        try db.forEach("""
            SELECT p.roster_id, CASE p.status WHEN 'paid' THEN 1 WHEN 'failed' THEN 2 ELSE 0 END, p.amount_fen, p.returned_fen
            FROM \(Self.batchesAnswering) CROSS JOIN payment p ON p.batch_id = b.id WHERE p.result_on BETWEEN ?1 AND ?2
            """, first, last) { r in
            let roster = r.int64(0)
            var x = byRoster[roster] ?? Results()
            switch r.int(1) {
            case 1: x.paid += 1; x.paidFen += r.int64(2)
            case 2: x.failed += 1; x.failedFen += r.int64(2)
            default: break
            }
            x.returnedFen += r.int64(3)
            byRoster[roster] = x
        }
        if !byRoster.isEmpty {
            try db.forEach("SELECT id, program, node_id FROM roster") { r in
                guard let x = byRoster[r.int64(0)] else { return }
                let k = row(r.text(1), r.text(2))
                rows[k]!.paid += x.paid
                rows[k]!.paidFen += x.paidFen
                rows[k]!.failed += x.failed
                rows[k]!.failedFen += x.failedFen
                rows[k]!.returnedFen += x.returnedFen
            }
        }
        try db.forEach("""
            SELECT p.program, p.node_id, count(*) FROM payment p JOIN batch b ON b.id = p.batch_id
            WHERE p.reissue_of IS NOT NULL AND substr(b.created_at, 1, 10) BETWEEN ? AND ? GROUP BY p.program, p.node_id
            """, first, last) { r in rows[row(r.text(0), r.text(1))]!.reissued += r.int(2) }
        // Unpaid at month end: each approved roster's lines (count and total, re-checked equal
        // to its lines when received) less its lines paid by then, from the paid totals per
        // roster and result date written with the results (roster_paid), not line by line.
        try db.forEach("""
            SELECT r.program, r.node_id, r.line_count, r.total_fen, coalesce(sum(x.lines), 0), coalesce(sum(x.fen), 0)
            FROM roster r LEFT JOIN roster_paid x ON x.roster_id = r.id AND x.paid_on <= ?1
            WHERE r.status = 'approved' AND substr(r.approved_at, 1, 10) <= ?1
            GROUP BY r.id
            """, last) { r in
            let unpaid = r.int(2) - r.int(4)
            guard unpaid > 0 else { return }
            let k = row(r.text(0), r.text(1))
            rows[k]!.outstanding += unpaid
            rows[k]!.outstandingFen += r.int64(3) - r.int64(5)
        }
        return rows.values.sorted { ($0.program, $0.township) < ($1.program, $1.township) }
    }

    public func printMonthlyReport(month: Period, into directory: String, printedOn: CivilDate) throws -> (html: String, csv: String) {
        let rows = try monthlyReport(month: month)
        let title = "\(config.name)惠民惠农财政补贴资金\(month.chinese)发放情况月报"
        let columns = ["补贴项目", "乡镇", "发放成功（笔）", "发放金额（元）", "发放失败（笔）", "失败金额（元）", "退回金额（元）",
                       "补发（笔）", "月末未发放（笔）", "未发放金额（元）"]
        var table = rows.map { r in
            [r.programName, r.townshipName, String(r.paid), Fen(r.paidFen).yuanGrouped, String(r.failed), Fen(r.failedFen).yuanGrouped,
             Fen(r.returnedFen).yuanGrouped, String(r.reissued), String(r.outstanding), Fen(r.outstandingFen).yuanGrouped]
        }
        if table.isEmpty { table = [["本月无发放", "", "", "", "", "", "", "", "", ""]] }
        let totals = ["合计", "", String(rows.reduce(0) { $0 + $1.paid }), Fen(rows.reduce(0) { $0 + $1.paidFen }).yuanGrouped,
                      String(rows.reduce(0) { $0 + $1.failed }), Fen(rows.reduce(0) { $0 + $1.failedFen }).yuanGrouped,
                      Fen(rows.reduce(0) { $0 + $1.returnedFen }).yuanGrouped, String(rows.reduce(0) { $0 + $1.reissued }),
                      String(rows.reduce(0) { $0 + $1.outstanding }), Fen(rows.reduce(0) { $0 + $1.outstandingFen }).yuanGrouped]
        // Leads handed to the discipline commission in the month (seed 004: 定期向本级纪委监委报送…及时移交…问题线索).
        let leads = try leadsHandedOver(month: month)
        let leadLine = "本月向纪委监委移交问题线索 \(leads.total) 条（预警 \(leads.warnings) 条，投诉举报 \(leads.complaints) 条；按首次移交日期计，ykt leads export）。"
        // 限时办理 (seed 000): each step done in the month on time or late, and overdue at its end.
        let tallies = try stepTallies(month: month)
        let stepLine = "限时办理（按工作日，时限见政策清单）：" + tallies.map {
            "\($0.step.chinese)本月按时办结 \($0.onTime) 件、超时办结 \($0.late) 件、月末逾期未办 \($0.overdue) 件"
        }.joined(separator: "；") + "。"
        let doc = NoticeDocument(title: title, intro: ["统计口径：发放成功、失败按代发银行回盘日期计入当月；补发按补发批次生成日期；月末未发放为月末前已审定、截至月末仍未发放成功的清册明细。"],
                                 columns: columns, numeric: Set(2...9), rows: table, totals: totals,
                                 outro: [leadLine, stepLine, "本表不含个人身份信息。", config.name, printedOn.chinese],
                                 csvTail: [["本月移交问题线索（条）", String(leads.total), "其中预警", String(leads.warnings), "其中投诉举报", String(leads.complaints)]]
                                    + tallies.map { ["限时办理：\($0.step.chinese)", "按时办结（件）", String($0.onTime), "超时办结（件）", String($0.late),
                                                     "月末逾期未办（件）", String($0.overdue)] })
        let base = "月报-\(config.nodeID)-\(month)"
        let paths = try doc.write(base: base, into: directory)
        try perform("report.monthly", object: "month \(month)", detail: base) {}
        return paths
    }

    // MARK: Reconciliation

    public struct Difference: Sendable, Codable {
        /// missing (county paid, not on the statement), extra (on the statement, not paid by
        /// the county's records), amount (both, different amounts), returned-not-recorded
        /// (the bank returned it, the county has no return), return-missing (the county
        /// recorded a return the statement does not show).
        public var kind: String
        public var lineID: String
        public var program: String
        public var countyFen: Int64?
        public var bankFen: Int64?
        public var kindChinese: String {
            ["missing": "银行对账单缺少（县里记为已发放）", "extra": "对账单多出（县里无此发放）", "amount": "金额不符",
             "returned-not-recorded": "银行已退回、县里未记退回", "return-missing": "县里记有退回、对账单没有"][kind] ?? kind
        }
    }

    public struct ProgramTotals: Sendable, Codable {
        public var program: String
        public var countyCount = 0
        public var countyFen: Int64 = 0
        public var bankCount = 0
        public var bankFen: Int64 = 0
    }

    public struct Reconciliation: Sendable, Codable {
        public var bank: String
        public var from: String
        public var to: String
        public var programs: [ProgramTotals]
        public var differences: [Difference]
        public var clean: Bool { differences.isEmpty }
    }

    /// The dates a reconciliation covers: a month (`2026-11`: its first to its last day) or a
    /// year (`2026`: 1 January to 31 December); `field` names the option or form field in errors.
    public static func reconciliationDates(_ period: Period, field: String) throws -> (from: CivilDate, to: CivilDate) {
        if let month = period.month, period.kind == .month {
            return (try CivilDate(parsing: "\(period)-01"), try CivilDate(parsing: "\(period)-\(CivilDate.daysIn(month: month, year: period.year))"))
        }
        guard period.kind == .year else {
            throw YKTError(.usageValue, "对账期间应为月份（YYYY-MM）或年度（YYYY），现为 \(period)", at: SourceLocation(field: field))
        }
        return (try CivilDate(parsing: "\(period.year)-01-01"), try CivilDate(parsing: "\(period.year)-12-31"))
    }

    /// Reconciles the county's payments through one bank in `from…to` (a month or a year)
    /// against the bank's statement for the same dates.
    public func reconcile(statementPath: String, from: CivilDate, to: CivilDate) throws -> Reconciliation {
        // The bank's file: no link followed, a regular file only, within the size cap.
        let bytes = try ExchangeFile.read(path: statementPath, maximumBytes: exchangeFileMaximumBytes)
        let name = (statementPath as NSString).lastPathComponent
        let statement = try BankFile.readStatement(bytes, file: name)
        _ = try agencyBank(statement.bank)
        guard statement.from == from, statement.to == to else {
            throw YKTError(.bankFile, "对账单的日期是 \(statement.from) 至 \(statement.to)，要对的是 \(from) 至 \(to)",
                           at: SourceLocation(file: name, line: 1, field: "from"), hint: "向银行索取对应期间的对账单")
        }
        struct CountyLine { var program: String; var amount: Int64; var status: String; var returned: Int64 }
        var county: [String: CountyLine] = [:]
        try db.forEach("""
            SELECT p.id, p.program, p.amount_fen, p.status, p.returned_fen
            FROM \(Self.batchesAnswering) CROSS JOIN payment p ON p.batch_id = b.id
            WHERE b.bank = ?3 AND p.result_on BETWEEN ?1 AND ?2
            """, from.description, to.description, statement.bank) {
            county[String($0.int64(0))] = CountyLine(program: $0.text(1), amount: $0.int64(2), status: $0.text(3), returned: $0.int64(4))
        }
        var programs: [String: ProgramTotals] = [:]
        var diffs: [Difference] = []
        for (_, c) in county where c.status == "paid" {
            programs[c.program, default: ProgramTotals(program: c.program)].countyCount += 1
            programs[c.program, default: ProgramTotals(program: c.program)].countyFen += c.amount
        }
        var bankPaid: Set<String> = [], bankReturned: Set<String> = []
        let lookup = try db.statement("SELECT program FROM payment WHERE id = ?")
        for l in statement.lines {
            let c = county[l.lineID]
            // Only a line outside the period's payments is looked up (to name its program).
            var found = c?.program
            if found == nil { try lookup.forEach([Int64(l.lineID) ?? 0]) { found = $0.text(0) } }
            let program = found ?? ""
            switch l.kind {
            case .paid:
                bankPaid.insert(l.lineID)
                programs[program, default: ProgramTotals(program: program)].bankCount += 1
                programs[program, default: ProgramTotals(program: program)].bankFen += l.amountFen
                if c?.status != "paid" {
                    diffs.append(Difference(kind: "extra", lineID: l.lineID, program: program, countyFen: nil, bankFen: l.amountFen))
                } else if c!.amount != l.amountFen {
                    diffs.append(Difference(kind: "amount", lineID: l.lineID, program: program, countyFen: c!.amount, bankFen: l.amountFen))
                }
            case .returned:
                bankReturned.insert(l.lineID)
                if c?.status != "failed" || c!.returned != l.amountFen {
                    diffs.append(Difference(kind: "returned-not-recorded", lineID: l.lineID, program: program, countyFen: c?.returned,
                                            bankFen: l.amountFen))
                }
            }
        }
        for (id, c) in county {
            if c.status == "paid" && !bankPaid.contains(id) {
                diffs.append(Difference(kind: "missing", lineID: id, program: c.program, countyFen: c.amount, bankFen: nil))
            }
            if c.status == "failed" && c.returned > 0 && !bankReturned.contains(id) {
                diffs.append(Difference(kind: "return-missing", lineID: id, program: c.program, countyFen: c.returned, bankFen: nil))
            }
        }
        diffs.sort { (Int64($0.lineID) ?? 0, $0.kind) < (Int64($1.lineID) ?? 0, $1.kind) }
        let result = Reconciliation(bank: statement.bank, from: from.description, to: to.description,
                                    programs: programs.values.sorted { $0.program < $1.program }, differences: diffs)
        try perform("reconcile", object: "bank/\(statement.bank) \(from)…\(to)", detail: result.clean ? "clean" : "differences=\(diffs.count)") {}
        return result
    }

    public func printReconciliation(_ r: Reconciliation, into directory: String, printedOn: CivilDate) throws -> (html: String, csv: String) {
        let names = Dictionary(try db.all("SELECT code, name FROM program") { ($0.text(0), $0.text(1)) }, uniquingKeysWith: { a, _ in a })
        let bankName = (try? agencyBank(r.bank).name) ?? r.bank
        let title = "\(config.name)一卡通资金对账报告（\(bankName) \(r.from) 至 \(r.to)）"
        let columns = ["补贴项目", "县财政笔数", "县财政金额（元）", "银行笔数", "银行金额（元）", "差额（元）"]
        let rows = r.programs.map { p in
            [names[p.program] ?? p.program, String(p.countyCount), Fen(p.countyFen).yuanGrouped, String(p.bankCount),
             Fen(p.bankFen).yuanGrouped, Fen(p.countyFen - p.bankFen).yuan]
        }
        let verdict = r.clean ? "对账结果：账实相符，无差异。" : "对账结果：有 \(r.differences.count) 处差异，明细见下表，须与银行逐笔核实。"
        var outro = [verdict]
        for d in r.differences.prefix(200) {
            outro.append("支付 \(d.lineID)（\(names[d.program] ?? d.program)）：\(d.kindChinese)；县里 \(d.countyFen.map { Fen($0).yuan } ?? "—") 元，银行 \(d.bankFen.map { Fen($0).yuan } ?? "—") 元。")
        }
        outro += [config.name, printedOn.chinese]
        let doc = NoticeDocument(title: title, intro: ["县财政记录按代发银行回盘日期在对账期间内的支付，与银行对账单逐笔核对。"],
                                 columns: columns, numeric: [1, 2, 3, 4, 5], rows: rows, totals: nil, outro: outro,
                                 csvTail: [[verdict], ["差异类别", "支付编号", "补贴项目", "县财政金额（元）", "银行金额（元）"]] + r.differences.map { d in
                                     [d.kindChinese, d.lineID, names[d.program] ?? d.program, d.countyFen.map { Fen($0).yuan } ?? "",
                                      d.bankFen.map { Fen($0).yuan } ?? ""]
                                 })
        return try doc.write(base: "对账-\(r.bank)-\(r.from)-\(r.to)", into: directory)
    }
}
