import Foundation
import YKTCore
import YKTStore
import YKTNode

/// Agency agreements (代发协议) with the agency banks (issue 20, item 6; `docs/conventions.md`,
/// "代发协议"). Seed 003 (鹿寨县工作方案, 7. 确定代发金融机构): 「按程序与代发金融机构签订不超过3年的
/// 代发协议，明确其代发职责的同时要对代发金融机构在资金支付、补贴通知、便捷取款、费用优惠、数据安全等方面
/// 提出明确要求」. So each agreement has a number, a term of at most 3 years and its fee terms; the
/// county dispatches to a bank only on a day one of its agreements covers, and is told 60 days
/// before the cover ends (`ykt status`, `ykt bank list`).
extension CountyNode {
    /// What `bank add` / `bank edit --agreement` records.
    public struct AgreementTerms: Sendable, Codable, Equatable {
        /// 协议编号.
        public var number: String
        public var start: CivilDate
        public var end: CivilDate
        /// 费用条款, free text (免费 / 每笔 0.5 元 …): what the bank may charge (seed 003, 9.: 严格按照代发协议
        /// 收取补贴资金发放业务的费用，不得额外收取费用).
        public var fees: String

        public init(number: String, start: CivilDate, end: CivilDate, fees: String) {
            self.number = number
            self.start = start
            self.end = end
            self.fees = fees
        }
    }

    /// One recorded agreement.
    public struct BankAgreement: Sendable, Codable, Equatable {
        public var bank: String
        public var terms: AgreementTerms
        public var recordedBy: String
        public var recordedAt: String

        public func inForce(on day: CivilDate) -> Bool { terms.start <= day && day <= terms.end }
    }

    /// The longest term: 3 calendar years (seed 003).
    public static let agreementYears = 3
    /// How many days before its agreements stop covering a bank the county is told.
    public static let agreementWarningDays = 60

    /// The last day an agreement starting on `start` may end: the same day 3 years on (29 February
    /// to 28 February when that year has none).
    public static func latestAgreementEnd(start: CivilDate) -> CivilDate {
        let year = start.year + agreementYears
        return CivilDate(year: year, month: start.month, day: min(start.day, CivilDate.daysIn(month: start.month, year: year)))!
    }

    /// Checks an agreement before it is recorded: a number, fee terms, an end not before the
    /// start, and no more than 3 years between them. Errors name the command-line field.
    public static func checkAgreement(_ t: AgreementTerms) throws {
        let number = t.number.trimmed
        guard !number.isEmpty else {
            throw YKTError(.fieldMissing, "代发协议编号为空", at: SourceLocation(field: "--agreement"), hint: "写协议文本上的编号")
        }
        guard number.count <= 64, !number.contains(where: { $0.isNewline || $0.asciiValue.map { $0 < 32 } == true }) else {
            throw YKTError(.valueInvalid, "代发协议编号过长（最多 64 个字）或含有控制字符", at: SourceLocation(field: "--agreement"))
        }
        let fees = t.fees.trimmed
        guard !fees.isEmpty else {
            throw YKTError(.fieldMissing, "代发协议 \(number) 的费用条款为空", at: SourceLocation(field: "--fees"),
                           hint: "照协议写明收费标准，例如 --fees 免费 或 --fees \"每笔 0.50 元，由财政支付\"")
        }
        guard fees.count <= 200 else {
            throw YKTError(.valueInvalid, "代发协议 \(number) 的费用条款过长（最多 200 个字）", at: SourceLocation(field: "--fees"),
                           hint: "写收费标准的要点，协议全文另行存档")
        }
        guard t.end >= t.start else {
            throw YKTError(.dateOrder, "代发协议 \(number) 的结束日 \(t.end) 早于开始日 \(t.start)", at: SourceLocation(field: "--agreement-end"),
                           hint: "核对协议的起止日期")
        }
        let latest = latestAgreementEnd(start: t.start)
        guard t.end <= latest else {
            throw YKTError(.bankAgreementTerm,
                           "代发协议 \(number) 的期限 \(t.start) 至 \(t.end) 超过 3 年：代发协议不超过 3 年（鹿寨县「一卡通」工作方案：按程序与代发金融机构签订不超过3年的代发协议）",
                           at: SourceLocation(field: "--agreement-end"),
                           hint: "从 \(t.start) 起的协议最晚到 \(latest) 结束；期满前按程序续签新协议，再用 ykt bank edit --agreement 登记")
        }
    }

    /// Every agreement of `bank` (nil: of every bank), by bank and start.
    public func bankAgreements(bank: String? = nil) throws -> [BankAgreement] {
        try db.all("""
            SELECT bank, number, start_on, end_on, fees, recorded_by, recorded_at FROM bank_agreement
            WHERE ?1 IS NULL OR bank = ?1 ORDER BY bank, start_on, number
            """, bank) { r in
            BankAgreement(bank: r.text(0), terms: AgreementTerms(number: r.text(1), start: try CivilDate(parsing: r.text(2)),
                                                                 end: try CivilDate(parsing: r.text(3)), fees: r.text(4)),
                          recordedBy: r.text(5), recordedAt: r.text(6))
        }
    }

    /// Records `terms` for `bank` inside the caller's transaction: a new number is a new
    /// agreement (a renewal), a known number is corrected. Returns the audit detail.
    func recordAgreement(_ terms: AgreementTerms, bank: String) throws -> String {
        try Self.checkAgreement(terms)
        let number = terms.number.trimmed
        let before = try db.first("SELECT start_on, end_on, fees FROM bank_agreement WHERE bank = ? AND number = ?", bank, number,
                                  map: { "\($0.text(0))~\($0.text(1)) \($0.text(2))" })
        try db.run("""
            INSERT INTO bank_agreement(bank, number, start_on, end_on, fees, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(bank, number) DO UPDATE SET start_on = excluded.start_on, end_on = excluded.end_on, fees = excluded.fees,
                recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at
            """, bank, number, terms.start.description, terms.end.description, terms.fees.trimmed, operatorName, timestamp())
        return "agreement=\(number) \(terms.start)~\(terms.end) fees=\(terms.fees.trimmed)" + (before.map { " (was \($0))" } ?? "")
    }

    /// Where a bank's agreements leave it on a day.
    public struct AgreementCover: Sendable, Codable {
        public var bank: String
        public var bankName: String
        /// The agreement in force on the day (the one that runs longest), nil when none is.
        public var inForce: BankAgreement?
        /// The last day of unbroken cover from the day on, counting agreements that follow one
        /// another without a gap (a renewal recorded ahead); nil when none is in force.
        public var coveredThrough: CivilDate?
        /// Days from the day to `coveredThrough` (0: it ends that day).
        public var daysLeft: Int?
        /// The last agreement that ended before the day, and the first that starts after it.
        public var lastEnded: BankAgreement?
        public var nextStarting: BankAgreement?

        /// none (no agreement in force: no dispatch), expiring (cover ends within 60 days), ok.
        public var state: String {
            guard let daysLeft else { return "none" }
            return daysLeft <= CountyNode.agreementWarningDays ? "expiring" : "ok"
        }
        public var stateChinese: String {
            switch state {
            case "none": return "无有效协议（不能发送支付批次）"
            case "expiring": return "\(daysLeft ?? 0) 天后到期（\(coveredThrough?.description ?? "")），须续签"
            default: return "有效至 \(coveredThrough?.description ?? "")"
            }
        }
    }

    /// Each agency bank's cover on `day`.
    public func agreementCovers(on day: CivilDate) throws -> [AgreementCover] {
        let all = try bankAgreements()
        return try agencyBanks().map { bank in
            let mine = all.filter { $0.bank == bank.code }
            var cover = AgreementCover(bank: bank.code, bankName: bank.name)
            cover.lastEnded = mine.filter { $0.terms.end < day }.max { $0.terms.end < $1.terms.end }
            cover.nextStarting = mine.filter { $0.terms.start > day }.min { $0.terms.start < $1.terms.start }
            guard let current = mine.filter({ $0.inForce(on: day) }).max(by: { $0.terms.end < $1.terms.end }) else { return cover }
            cover.inForce = current
            var through = current.terms.end
            // Agreements that start by the day after the cover ends extend it.
            while let next = mine.filter({ $0.terms.start <= through.adding(days: 1) && $0.terms.end > through })
                .max(by: { $0.terms.end < $1.terms.end }) {
                through = next.terms.end
            }
            cover.coveredThrough = through
            cover.daysLeft = through.dayNumber - day.dayNumber
            return cover
        }
    }

    /// Refuses a dispatch on `day` to any of `banks` without an agreement in force that day,
    /// naming each such bank, its batches and what to do.
    func requireAgreements(for waiting: [Batch], on day: CivilDate) throws {
        let covers = Dictionary(try agreementCovers(on: day).map { ($0.bank, $0) }, uniquingKeysWith: { a, _ in a })
        var problems: [String] = []
        for code in Set(waiting.map(\.bank)).sorted() {
            let cover = covers[code]
            guard cover?.inForce == nil else { continue }
            let ids = waiting.filter { $0.bank == code }.map { String($0.id) }.joined(separator: "、")
            var reasons: [String] = []
            if let ended = cover?.lastEnded { reasons.append("代发协议 \(ended.terms.number) 已于 \(ended.terms.end) 到期") }
            if let next = cover?.nextStarting { reasons.append("代发协议 \(next.terms.number) 自 \(next.terms.start) 起才生效") }
            let why = reasons.isEmpty ? "没有登记代发协议" : reasons.joined(separator: "，")
            problems.append("\(code)（\(cover?.bankName ?? code)）：\(why)，批次 \(ids)")
        }
        guard problems.isEmpty else {
            let first = waiting.map(\.bank).sorted().first { covers[$0]?.inForce == nil } ?? "代码"
            throw YKTError(.bankAgreement, "\(day) 没有有效代发协议的代发银行不能发送支付批次，本次未发送任何批次：" + problems.joined(separator: "；"),
                           at: SourceLocation(field: "--date"),
                           hint: "按程序与代发银行签订（续签）不超过 3 年的代发协议后，由管理员登记：ykt bank edit --code \(first) --agreement 协议编号 --agreement-start 开始日 --agreement-end 结束日 --fees 费用条款；再 ykt batch dispatch")
        }
    }
}
