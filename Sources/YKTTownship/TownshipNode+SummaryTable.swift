import YKTCore
import YKTNode

/// One notice that cleared applications on a roster: which stage, where, from which day to
/// which, and when it was closed.
public struct RosterNoticePeriod: Sendable, Codable, Hashable {
    /// `township`: the township's notice of the reviewed roster (today the only stage).
    public var stage: String
    /// How the summary table names it: 「乡镇公示（第 3 号）」.
    public var label: String
    public var noticeID: Int64
    /// The village whose notice it is; nil for the township's.
    public var village: String?
    public var firstDay: CivilDate
    public var lastDay: CivilDate
    /// nil while it is still posted.
    public var closedOn: CivilDate?
    /// Whether the proof of posting (公示证明材料: signed list, photos) was recorded when it closed.
    public var proofRecorded: Bool

    /// 「乡镇公示（第 3 号）：2026年9月30日至2026年10月13日，2026年10月13日结束公示，公示证明材料已登记」
    public var chinese: String {
        "\(label)\(village.map { "（\($0)）" } ?? "")：\(firstDay.chinese)至\(lastDay.chinese)，"
            + (closedOn.map { "\($0.chinese)结束公示" } ?? "尚未结束")
            + (proofRecorded ? "，公示证明材料已登记" : "，未登记公示证明材料")
    }
}

/// One row of the summary table: a village's lines of the roster.
public struct RosterVillageTotal: Sendable, Codable, Hashable {
    public var village: String
    public var lineCount: Int
    public var quantity: Quantity
    public var amountFen: Int64
}

/// The township's summary table (汇总表) of a roster, seed 004: 经相关职能站所负责人和乡（镇）
/// 主要负责人分别在汇总表上签字并加盖公章后，将汇总表、发放清册、公示证明材料报县业务主管部门审定.
/// Totals only: no person is named on it, so there is nothing to mask.
extension TownshipNode {
    /// The notice periods of the roster's applications, earliest first: every notice that
    /// cleared one of its lines (today through `application.notice_id`, the township's notice
    /// of the reviewed roster). Empty for a secret program, which has none.
    /// The one place that says which notices a roster rests on: a new notice stage adds its
    /// rows here, and the summary table prints whatever this returns.
    public func rosterNoticePeriods(_ id: Int64) throws -> [RosterNoticePeriod] {
        _ = try roster(id)
        // Both stages (docs/conventions.md, 两级公示): each village's notice, then the township's.
        let ids = try db.all("""
            SELECT DISTINCT n.id, n.stage = 'township', n.first_day FROM roster_line l JOIN application a ON a.id = l.application_id
            JOIN notice n ON n.id = a.notice_id OR n.id = a.village_notice_id
            WHERE l.roster_id = ? ORDER BY 2, 3, 1
            """, id) { $0.int64(0) }
        return try ids.map { nid in
            let n = try notice(nid)
            let village = n.stage == .village
            return RosterNoticePeriod(stage: n.stage.rawValue,
                                      label: village ? "村级公示（\(n.village ?? "")，第 \(nid) 号）" : "乡镇公示（第 \(nid) 号）",
                                      noticeID: nid, village: village ? n.village : nil,
                                      firstDay: n.firstDay, lastDay: n.lastDay, closedOn: n.closedOn, proofRecorded: n.proofSHA256 != nil)
        }
    }

    /// The roster's lines totalled by village, in the order the villages first appear on it.
    public func rosterVillageTotals(_ id: Int64) throws -> [RosterVillageTotal] {
        try db.all("""
            SELECT village, count(*), sum(quantity_e4), sum(amount_fen) FROM roster_line WHERE roster_id = ?
            GROUP BY village ORDER BY min(line_no)
            """, id) {
            RosterVillageTotal(village: $0.text(0), lineCount: $0.int(1), quantity: Quantity(tenThousandths: $0.int64(2)),
                               amountFen: $0.int64(3))
        }
    }

    /// The summary table of roster `id`, on A4 with its CSV: township, program, period and batch;
    /// by village the number of people, the quantity and the amount, and the grand total (equal
    /// to the roster's, checked); the notice periods (`rosterNoticePeriods`); the preparer and
    /// the submitter when known; two signature lines with date blanks and room for the seal.
    /// A draft can be printed (the table is signed before the roster is submitted); it names the
    /// roster's build time, so a table printed before a rebuild is recognisably stale.
    public func summaryTableDocument(_ id: Int64, printedOn: CivilDate) throws -> NoticeDocument {
        let r = try roster(id)
        let program = try program(r.programCode)
        let period = try Period(parsing: r.period)
        let villages = try rosterVillageTotals(id)
        let people = villages.reduce(0) { $0 + $1.lineCount }
        let total = villages.reduce(Fen.zero) { $0 + Fen($1.amountFen) }
        let quantity = Quantity(tenThousandths: villages.reduce(0) { $0 + $1.quantity.tenThousandths })
        guard people == r.lineCount, total.value == r.totalFen else {
            throw YKTError(.internalError, "清册 \(id) 的明细合计（\(people) 人，\(total.yuanGrouped) 元）与清册记录的合计（\(r.lineCount) 人，\(Fen(r.totalFen).yuanGrouped) 元）不符",
                           hint: "重新编制清册（ykt roster build）后再打印；仍不符请联系技术支持")
        }
        let unit = program.unit.quantityUnit
        let title = "\(config.name)\(period.chinese)\(program.name)发放汇总表"
        let columns = ["序号", "村（社区）", "补贴项目", "人数", "数量（\(unit)）", "金额（元）"]
        let rows = villages.enumerated().map { i, v in
            [String(i + 1), v.village, program.name, String(v.lineCount), v.quantity.description, Fen(v.amountFen).yuanGrouped]
        }
        let totals = ["合计", "\(villages.count) 个村（社区）", "", "\(people) 人", quantity.description, total.yuanGrouped]
        let notices = try rosterNoticePeriods(id)
        let noticeText: [String] = program.secret ? ["公示情况：涉密项目，按规定不公示（经村评议通过后编入清册）。"]
            : notices.isEmpty ? ["公示情况：本清册的申请没有公示记录。"]
            : notices.map { "公示情况：\($0.chinese)。" }
        let preparedBy = r.preparedBy?.description ?? "未记录（报送前须重新编制）"
        let submittedBy = r.submittedBy?.description ?? "尚未报送（由乡镇审核人报送时记录）"
        let intro = [
            "乡（镇）：\(config.name)（\(config.nodeID)）。补贴项目：\(program.name)（\(program.code)，\(program.department)），"
                + "补贴标准 \(program.standard.yuan) \(program.unit.chinese)。期次：\(period.chinese)。",
            "发放清册：第 \(r.batch) 批（清册编号 \(r.id)，\(r.status.chinese)，编制时间 \(Self.minute(r.createdAt))" +
                (r.submittedAt.map { "，报送时间 \(Self.minute($0))" } ?? "") + "），共 \(people) 人，金额 \(total.yuanGrouped) 元。",
        ] + noticeText
        let blank = "________________"
        let outro = [
            "本表与发放清册逐村核对一致，随发放清册、公示证明材料报县业务主管部门审定。编制人：\(preparedBy)；报送人：\(submittedBy)。",
            // The two blanks end at the same place: the shorter title gets a longer line.
            "职能站所负责人（签字）：\(blank)____　　　　年　　月　　日",
            "乡（镇）主要负责人（签字）：\(blank)　　　　年　　月　　日",
            "\(issuingBody)（公章）",
            "打印日期：\(printedOn.chinese)",
        ]
        // 序号, 村（社区）, 项目 (up to ten characters), 人数, 数量, 金额: 186 mm.
        let layout = PrintLayout(widths: [12, 44, 52, 22, 26, 30])
        return NoticeDocument(title: title, intro: intro, columns: columns, numeric: [0, 3, 4, 5], rows: rows, totals: totals,
                              outro: outro, layout: layout,
                              csvHead: [["乡镇", config.name, "补贴项目", "\(program.name)（\(program.code)）", "期次", r.period, "批次", String(r.batch),
                                         "清册编号", String(r.id)]],
                              csvTail: notices.map { ["公示", $0.chinese] }
                                  + [["编制人", preparedBy], ["报送人", submittedBy], ["职能站所负责人（签字）", ""], ["乡（镇）主要负责人（签字）", ""]])
    }

    /// `2026-10-13T09:00:00+08:00` (China time, as stored) → `2026-10-13 09:00`.
    static func minute(_ timestamp: String) -> String {
        guard timestamp.count >= 16, timestamp.hasSuffix("+08:00") else { return timestamp }
        return timestamp.prefix(16).replacingOccurrences(of: "T", with: " ")
    }

    /// Writes the summary table's HTML and CSV (`汇总表-<node>-<roster>`) into `directory`
    /// (default `<node>/out`), recorded in the audit trail. Returns the two paths.
    public func printSummaryTable(_ id: Int64, into directory: String? = nil, printedOn: CivilDate) throws -> (html: String, csv: String) {
        try write(try summaryTableDocument(id, printedOn: printedOn), base: "汇总表-\(config.nodeID)-\(id)", into: directory,
                  action: "roster.summary", object: "roster#\(id)")
    }
}
