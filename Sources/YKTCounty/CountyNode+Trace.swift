import YKTCore
import YKTStore

/// `ykt audit trace`: every roster line the county approved (paid, or still to be paid) traced
/// back along application → village evaluation → notice → roster → review → approval → batch →
/// result (→ correction → re-issue); each break in a chain is named (docs/money-trace.md).
extension CountyNode {
    public struct TraceReport: Sendable, Codable {
        public struct Broken: Sendable, Codable {
            public var roster: Int64
            public var line: Int
            /// Masked: the report is read by people, and may be pasted anywhere.
            public var resident: String
            public var problems: [String]
        }
        public var traced = 0
        public var paid = 0
        public var outstanding = 0
        public var broken: [Broken] = []
    }

    public func trace() throws -> TraceReport {
        var report = TraceReport()
        try db.snapshot {   // one consistent view of everything read
            let calendar = try self.calendar
            let secret = Dictionary(uniqueKeysWithValues: try db.all("SELECT code, secret FROM program") { ($0.text(0), $0.bool(1)) })
            try db.forEach("""
                SELECT r.id, l.line_no, l.resident_id, l.application, l.amount_fen, l.account_number, l.quantity,
                       r.node_id, r.program, r.period, r.reviewed_by, r.reviewed_at, r.approved_by, r.approved_at,
                       a.node_id, a.resident_id, a.village_result, a.status, a.quantity, a.notice,
                       n.posted_on, n.last_day, n.status, n.closed_on
                FROM roster r JOIN roster_line l ON l.roster_id = r.id
                LEFT JOIN application a ON a.entity = l.application
                LEFT JOIN notice n ON n.node_id = a.node_id AND n.entity = a.notice
                WHERE r.status = 'approved' ORDER BY r.id, l.line_no
                """) { row in
                let (roster, line, rid, key) = (row.int64(0), row.int(1), row.text(2), row.text(3))
                var problems: [String] = []
                // Application and village evaluation.
                if row.isNull(14) {
                    problems.append("没有申请记录（\(key.isEmpty ? "清册行未指明申请" : Masking.entity(key))）")
                } else {
                    if row.text(14) != row.text(7) || row.text(15) != rid { problems.append("申请与清册行的乡镇或对象不符") }
                    if row.text(16) != "passed" { problems.append("申请未通过村评议") }
                    if row.text(18) != row.text(6) { problems.append("数量与申请不符") }
                    // Notice: listed, closed after its 5th working day, not removed by an objection.
                    if secret[row.text(8)] == true {
                        if !row.isNull(19) { problems.append("涉密项目的申请列入了公示") }
                    } else if row.isNull(20) {
                        problems.append("申请没有列入公示")
                    } else {
                        if row.text(17) != "cleared" { problems.append("申请在公示中未获通过（\(row.text(17))）") }
                        if row.text(22) != "closed" { problems.append("公示尚未结束") }
                        if let posted = try? CivilDate(parsing: row.text(20)),
                           let lastDay = try? NoticePeriod(posted: posted, calendar: calendar).lastDay {
                            if lastDay.description != row.text(21) { problems.append("公示期与县里日历推算的 \(lastDay) 不符") }
                            if let closed = row.optionalText(23).flatMap({ try? CivilDate(parsing: $0) }), closed <= lastDay {
                                problems.append("公示未满 5 个工作日即结束")
                            }
                        } else {
                            problems.append("公示日期无法按县里日历核对")
                        }
                        let upheld = try db.integer("SELECT count(*) FROM objection WHERE application = ? AND status = 'upheld'", key) ?? 0
                        if upheld > 0 { problems.append("申请有成立的异议") }
                    }
                }
                // Review, then approval by another person.
                if row.isNull(10) || row.isNull(12) {
                    problems.append("缺少审核或审定记录")
                } else if row.text(10) == row.text(12) {
                    problems.append("审核与审定是同一人")
                } else if row.text(11) > row.text(13) {
                    problems.append("审定早于审核")
                }
                // Payments: amount and account as approved (or as corrected), paid at most once.
                let payments = try db.all("""
                    SELECT p.id, p.status, p.amount_fen, p.account_number, p.reissue_of, b.status, p.result_on,
                           (SELECT account_number FROM correction c WHERE c.payment_id = p.reissue_of),
                           (SELECT status FROM payment q WHERE q.id = p.reissue_of)
                    FROM payment p JOIN batch b ON b.id = p.batch_id WHERE p.roster_id = ? AND p.line_no = ? ORDER BY p.id
                    """, roster, line) {
                    (id: $0.int64(0), status: $0.text(1), amount: $0.int64(2), account: $0.text(3), reissueOf: $0.isNull(4) ? nil : $0.int64(4),
                     batch: $0.text(5), resultOn: $0.optionalText(6), corrected: $0.optionalText(7), previous: $0.optionalText(8))
                }
                if payments.isEmpty { problems.append("已审定但没有编入付款批次") }
                var paid = 0
                for p in payments {
                    if p.amount != row.int64(4) { problems.append("付款 \(p.id) 金额与清册行不符") }
                    if let of = p.reissueOf {
                        if p.previous != "failed" { problems.append("补发 \(p.id) 所补的付款 \(of) 并未失败") }
                        if p.corrected.map({ $0 != p.account }) ?? (p.account != row.text(5)) {
                            problems.append("补发 \(p.id) 的账户既不是清册行的也不是更正后的")
                        }
                    } else if p.account != row.text(5) {
                        problems.append("付款 \(p.id) 的账户不是审定的账户")
                    }
                    if p.status != "dispatched" && p.batch == "created" { problems.append("付款 \(p.id) 有结果但批次未发送") }
                    if p.status == "paid" {
                        paid += 1
                        if p.resultOn == nil { problems.append("付款 \(p.id) 已付但没有结果日期") }
                    }
                }
                if paid > 1 { problems.append("同一行付款 \(paid) 次") }
                report.traced += 1
                if paid == 1 { report.paid += 1 } else { report.outstanding += 1 }
                if !problems.isEmpty {
                    report.broken.append(.init(roster: roster, line: line, resident: Masking.residentID(rid), problems: problems))
                }
            }
        }
        return report
    }
}
