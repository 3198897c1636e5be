import Foundation
import YKTCore
import YKTStore

/// A page at a time of the county's big lists (a roster of a million lines, a batch of two
/// hundred thousand payments), for the office console: each query reads only the rows of the
/// page through an index, and counts a search's matches up to `countCap` (a screen says "more
/// than 10,000"), so a page costs the same on the benchmark county as on a small one.
extension CountyNode {
    /// Matches of a search are counted up to this many.
    public static let countCap = 10_000

    /// One page of a list: its rows, how many there are in all (`capped`: at least that many).
    public struct Page<Item: Sendable>: Sendable {
        public var items: [Item]
        public var total: Int
        public var capped: Bool
    }

    /// What a roster line search names: a whole resident ID, a line number, or the beginning of
    /// a name.
    enum LineSearch {
        case resident(String)
        case line(Int)
        case name(String)

        init?(_ text: String?) {
            guard let t = text?.trimmed, !t.isEmpty else { return nil }
            if t.count == 18, let id = try? ResidentID(t) { self = .resident(id.value); return }
            if t.count <= 9, let n = Int(t), n > 0 { self = .line(n); return }
            self = .name(t)
        }
    }

    /// A roster line's payment state: the paid payment when there is one, else the latest
    /// (looked up through the resident's payments, the index every payment has).
    static let linePaymentState = """
        coalesce((SELECT status FROM payment p WHERE p.resident_id = l.resident_id AND p.roster_id = l.roster_id AND p.line_no = l.line_no
                  ORDER BY (status = 'paid') DESC, id DESC LIMIT 1), 'pending')
        """

    static let lineColumns = """
        l.line_no, l.resident_id, l.name, l.village, l.bank, l.account_kind, l.account_number, l.quantity, l.amount_fen, \(linePaymentState)
        """

    static func rosterLine(_ r: Row) -> CountyRosterLine {
        CountyRosterLine(lineNo: r.int(0), residentID: r.text(1), name: r.text(2), village: r.text(3), bank: r.text(4),
                         accountKind: r.text(5), accountNumber: r.text(6), quantity: r.text(7), amountFen: r.int64(8),
                         payment: r.text(9))
    }

    /// One page of a roster's lines, in line order; `search` is a whole resident ID, a line
    /// number or the beginning of a name (matches by name come in name order).
    public func rosterLinesPage(_ id: Int64, search: String? = nil, offset: Int, limit: Int) throws -> Page<CountyRosterLine> {
        let r = try roster(id)
        let (offset, limit) = (max(0, offset), max(1, min(limit, 500)))
        switch LineSearch(search) {
        case nil:
            // A roster's lines are numbered 1…n (checked line by line when it was received), so
            // the page after `offset` lines starts past line number `offset`: found through the
            // primary key, not by stepping over the lines before it.
            let items = try db.all("SELECT \(Self.lineColumns) FROM roster_line l WHERE l.roster_id = ? AND l.line_no > ? ORDER BY l.line_no LIMIT ?",
                                   id, offset, limit, map: Self.rosterLine)
            return Page(items: items, total: r.lineCount, capped: false)
        case .resident(let rid):
            // The person's few lines in every roster, never the roster's million lines: SQLite,
            // with no statistics, may otherwise start from the roster and read them all.
            let items = try db.all("""
                SELECT \(Self.lineColumns) FROM roster_line l INDEXED BY roster_line_resident
                WHERE l.resident_id = ? AND l.roster_id = ? ORDER BY l.line_no LIMIT ? OFFSET ?
                """, rid, id, limit, offset, map: Self.rosterLine)
            let total = try db.integer("SELECT count(*) FROM roster_line INDEXED BY roster_line_resident WHERE resident_id = ? AND roster_id = ?",
                                       rid, id) ?? 0
            return Page(items: items, total: Int(total), capped: false)
        case .line(let n):
            let items = offset > 0 ? [] : try db.all("SELECT \(Self.lineColumns) FROM roster_line l WHERE l.roster_id = ? AND l.line_no = ?",
                                                     id, n, map: Self.rosterLine)
            return Page(items: items, total: items.isEmpty && offset == 0 ? 0 : 1, capped: false)
        case .name(let prefix):
            // The names starting with `prefix`, through the index on (roster, name): in BINARY
            // order they lie from `prefix` up to `prefix` followed by the last code point.
            let upper = prefix + "\u{10FFFF}"
            let items = try db.all("""
                SELECT \(Self.lineColumns) FROM roster_line l WHERE l.roster_id = ? AND l.name >= ? AND l.name < ?
                ORDER BY l.name, l.line_no LIMIT ? OFFSET ?
                """, id, prefix, upper, limit, offset, map: Self.rosterLine)
            let total = try db.integer("""
                SELECT count(*) FROM (SELECT 1 FROM roster_line WHERE roster_id = ? AND name >= ? AND name < ? LIMIT ?)
                """, id, prefix, upper, Self.countCap + 1) ?? 0
            return Page(items: items, total: min(Int(total), Self.countCap), capped: total > Self.countCap)
        }
    }

    /// A warning that touches a roster: the warning and the roster's lines it names.
    public struct RosterWarning: Sendable {
        public var warning: Warning
        public var lines: [Int]
    }

    /// The warnings naming a resident on the roster: how many (and how many not dismissed), and
    /// the first `limit` with their lines, open ones first. Read from the warnings' residents
    /// through the roster lines' resident index, never by reading the roster's lines; only the
    /// warnings shown are loaded whole (a roster may touch a thousand).
    public func rosterWarnings(_ id: Int64, limit: Int = 20) throws -> (total: Int, open: Int, shown: [RosterWarning]) {
        var lines: [Int64: [Int]] = [:]
        var status: [Int64: String] = [:]
        try db.forEach("""
            SELECT wr.warning_id, l.line_no, w.status FROM warning_resident wr CROSS JOIN roster_line l INDEXED BY roster_line_resident
            JOIN warning w ON w.id = wr.warning_id
            WHERE l.resident_id = wr.resident_id AND l.roster_id = ?
            """, id) { r in
            lines[r.int64(0), default: []].append(r.int(1))
            status[r.int64(0)] = r.text(2)
        }
        let open = status.values.filter { $0 != "dismissed" }.count
        let order = lines.keys.sorted { a, b in
            let (x, y) = (status[a] == "dismissed", status[b] == "dismissed")
            return x == y ? a < b : !x
        }
        let shown = try order.prefix(max(0, limit)).map { RosterWarning(warning: try warning($0), lines: lines[$0]!.sorted()) }
        return (lines.count, open, shown)
    }

    // MARK: Payments

    /// One page of payments, newest first: by state, batch, and a search (a whole resident ID
    /// or a payment number; both through an index).
    public func paymentsPage(status: String? = nil, batch: Int64? = nil, search: String? = nil,
                             offset: Int, limit: Int) throws -> Page<Payment> {
        let (offset, limit) = (max(0, offset), max(1, min(limit, 500)))
        var conditions: [String] = []
        var values: [any DatabaseValueConvertible] = []
        // The most selective index is named: with no statistics SQLite would take the batch's
        // (two hundred thousand rows) over a person's few payments or the failed ones.
        var index = ""
        if let status {
            // Written into the SQL (one of three known words), so that the failed payments are
            // read from their own partial index.
            guard let known = ["dispatched", "paid", "failed"].first(where: { $0 == status }) else {
                throw YKTError(.usageValue, "支付状态只能是 dispatched、paid、failed，现为「\(status)」", at: SourceLocation(field: "状态"))
            }
            conditions.append("status = '\(known)'")
            if known == "failed" { index = "INDEXED BY payment_failed" }
        }
        if let batch { conditions.append("batch_id = ?"); values.append(batch) }
        switch LineSearch(search) {
        case .resident(let rid): conditions.append("resident_id = ?"); values.append(rid); index = "INDEXED BY payment_resident"
        case .line(let n): conditions.append("id = ?"); values.append(Int64(n)); index = ""
        case .name:
            throw YKTError(.usageValue, "支付按完整的 18 位身份证号或支付编号查找，「\(search ?? "")」两者都不是",
                           at: SourceLocation(field: "查找"), hint: "按姓名查找请打开清册，在清册明细中查找")
        case nil: break
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        var items: [Payment] = []
        try db.statement("SELECT \(Self.paymentColumns) FROM payment \(index) \(filter) ORDER BY id DESC LIMIT ? OFFSET ?")
            .forEach(values + [limit, offset]) { items.append(Self.payment($0)) }
        var total = 0
        try db.statement("SELECT count(*) FROM (SELECT 1 FROM payment \(index) \(filter) LIMIT ?)")
            .forEach(values + [Self.countCap + 1]) { total = $0.int(0) }
        return Page(items: items, total: min(total, Self.countCap), capped: total > Self.countCap)
    }

    /// A failed payment not yet re-issued: waiting for the township's correction, or corrected
    /// (the new account's bank) and waiting for `batch reissue`.
    public struct FailedPayment: Sendable {
        public var payment: Payment
        public var correctedBank: String?
        public var correctedAt: String?
    }

    /// One page of the failed payments not yet re-issued: `corrected` false for those waiting
    /// for the township, true for those waiting for re-issue.
    public func failedPaymentsPage(corrected: Bool, offset: Int, limit: Int) throws -> Page<FailedPayment> {
        let (offset, limit) = (max(0, offset), max(1, min(limit, 500)))
        let columns = Self.paymentColumns.split(separator: ",").map { "p." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .joined(separator: ", ")
        let base = """
            FROM payment p LEFT JOIN correction c ON c.payment_id = p.id
            WHERE p.status = 'failed' AND NOT EXISTS (SELECT 1 FROM payment q WHERE q.reissue_of = p.id)
              AND (c.payment_id IS NOT NULL) = ?
            """
        let items = try db.all("SELECT \(columns), c.bank, c.received_at \(base) ORDER BY p.id LIMIT ? OFFSET ?", corrected, limit, offset) {
            FailedPayment(payment: Self.payment($0), correctedBank: $0.optionalText(18), correctedAt: $0.optionalText(19))
        }
        let total = Int(try db.integer("SELECT count(*) FROM (SELECT 1 \(base) LIMIT ?)", corrected, Self.countCap + 1) ?? 0)
        return Page(items: items, total: min(total, Self.countCap), capped: total > Self.countCap)
    }

    // MARK: Bank folders

    /// What lies in one agency bank's inbox for `bank receive`: result files, and entries it
    /// will not read (links, directories…), each with what it is.
    public struct InboxListing: Sendable {
        public var bank: AgencyBank
        public var files: [String]
        public var skipped: [String]
    }

    /// Every agency bank's inbox as `bank receive` would read it (the same listing).
    public func resultInboxes() throws -> [InboxListing] {
        try agencyBanks().map { bank in
            let inbox = Self.resultFiles(of: bank)
            return InboxListing(bank: bank, files: inbox.files.sorted(), skipped: inbox.skipped.map { "\($0.name)：\($0.error.description)" })
        }
    }

    /// A result file the county applied to its batch.
    public struct ReceivedResult: Sendable {
        public var batch: Int64
        public var bank: String
        public var file: String
        public var resultedOn: String
    }

    /// The latest result files applied, newest first.
    public func receivedResults(limit: Int = 20) throws -> [ReceivedResult] {
        try db.all("""
            SELECT id, bank, coalesce(result_file, ''), coalesce(resulted_on, '') FROM batch WHERE status = 'resulted'
            ORDER BY resulted_on DESC, id DESC LIMIT ?
            """, limit) { ReceivedResult(batch: $0.int64(0), bank: $0.text(1), file: $0.text(2), resultedOn: $0.text(3)) }
    }

    /// A result file the county refused, kept in the bank's `refused/` folder with its report.
    public struct RefusedResult: Sendable {
        public var bank: String
        public var file: String
        public var keptAs: String
        public var problems: Int
        public var refusedAt: String
        /// The report written beside the kept file (its problems, each naming line and field),
        /// nil when it cannot be read.
        public var report: String?
    }

    /// The latest result files refused, newest first, with their reports.
    public func refusedResults(limit: Int = 20) throws -> [RefusedResult] {
        try db.all("SELECT bank, file, kept_as, problems, refused_at FROM result_refusal ORDER BY id DESC LIMIT ?", limit) {
            let kept = $0.text(2)
            let report = (try? ExchangeFile.read(path: kept + ".report.txt", maximumBytes: 64 * 1024)).map { String(decoding: $0, as: UTF8.self) }
            return RefusedResult(bank: $0.text(0), file: $0.text(1), keptAs: kept, problems: $0.int(3), refusedAt: $0.text(4), report: report)
        }
    }
}
