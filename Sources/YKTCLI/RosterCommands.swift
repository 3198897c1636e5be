import YKTCore
import YKTTownship

/// Disbursement rosters.
enum RosterCommands {
    static func summary(_ inv: Invocation, _ r: RosterRecord) {
        inv.out.fields([
            ("清册编号", String(r.id)), ("项目", r.programCode), ("期次", r.period), ("批次", String(r.batch)),
            ("状态", r.status.chinese), ("人数", String(r.lineCount)), ("金额合计", Fen(r.totalFen).yuanGrouped + " 元"),
            ("编制时间", r.createdAt), ("报送时间", r.submittedAt ?? "—"),
            ("编制人", r.preparedBy?.description ?? "未记录（报送前须重新编制）"), ("报送人", r.submittedBy?.description ?? "—"),
        ])
    }

    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["roster", "build"], abstract: "编制发放清册（草稿）：取公示已结束且无成立异议的申请，快照对象、账户和金额",
            discussion: "同一项目同一期次的草稿可以重新编制；报送后冻结。涉密项目不公示，取村评议通过的申请。",
            options: [.value("program", "编码", "补贴项目编码", required: true),
                      .value("period", "期次", "期次", required: true), .flag("json", "以 JSON 输出")],
            run: { inv in
                let r = try inv.node().buildRoster(program: try inv.require("program"),
                                                   period: try inv.parse("period") { s throws(YKTError) in try Period(parsing: s) })
                if inv.json { return try inv.out.json(r) }
                summary(inv, r)
            }),
        CommandSpec(
            path: ["roster", "list"], abstract: "列出发放清册（在县级节点：收到的清册及审核、审定状态）",
            options: [.value("status", "状态", "（县级）只列这个状态：received、reviewed、rejected、approved"), .flag("json", "以 JSON 输出")],
            run: { inv in
                if inv.isCounty { return try CountyCommands.listRosters(inv) }
                let list = try inv.node().rosters()
                try inv.list(list, ["编号", "项目", "期次", "批次", "状态", "人数", "金额（元）"], rightAligned: [0, 3, 5, 6]) {
                    [String($0.id), $0.programCode, $0.period, String($0.batch), $0.status.chinese, String($0.lineCount),
                     Fen($0.totalFen).yuanGrouped]
                }
            }),
        CommandSpec(
            path: ["roster", "show"], abstract: "查看清册及明细（脱敏显示）",
            positionals: [("编号", "清册编号")], options: [.flag("json", "以 JSON 输出（完整信息）")],
            run: { inv in
                if inv.isCounty { return try CountyCommands.showRoster(inv) }
                let node = try inv.node()
                let id = try inv.number(positional: 0)
                let r = try node.roster(id)
                let lines = try node.rosterLines(id)
                if inv.json {
                    struct Shown: Encodable { var roster: RosterRecord; var lines: [RosterLine] }
                    return try inv.disclose(Shown(roster: r, lines: lines), object: "roster#\(id)")
                }
                summary(inv, r)
                for d in try node.rosterDecisions(id) {
                    let what = ["received": "县财政已接收", "reviewed": "业务主管部门审核通过", "rejected": "县里退回", "approved": "财政已审定"][d.decision] ?? d.decision
                    inv.out.line("  \(d.at)  \(what)" + (d.by.isEmpty ? "" : "（\(d.by)）") + (d.reason.isEmpty ? "" : "：\(d.reason)"))
                }
                inv.out.line()
                inv.out.table(["序号", "村（社区）", "姓名", "身份证号", "开户银行", "账号", "数量", "金额（元）"], lines.map {
                    [String($0.lineNo), $0.village, $0.name, Masking.residentID($0.residentID), $0.bank,
                     Masking.account($0.accountNumber), $0.quantity, Fen($0.amountFen).yuanGrouped]
                }, rightAligned: [0, 6, 7])
            }),
        CommandSpec(
            path: ["roster", "summary"], abstract: "生成清册的汇总表（A4 HTML 和 CSV）：按村汇总人数、数量、金额，公示期间，两人签字栏和盖章处",
            discussion: "汇总表只有合计，不列个人信息。草稿也可打印（先签字后报送），表上注明清册的编制时间；重新编制后须重新打印。"
                + "职能站所负责人（编制清册的经办人）和乡（镇）主要负责人（报送清册的审核人）分别签字并加盖公章，"
                + "随发放清册、公示证明材料报县业务主管部门审定（第 004 号文件）。",
            positionals: [("编号", "清册编号")],
            options: [.value("out", "目录", "输出目录；不给时为 节点目录/out"), .value("date", "日期", "打印日期；不给时为今天")],
            run: { inv in
                let node = try inv.node()
                inv.out.paths(try node.printSummaryTable(try inv.number(positional: 0), into: inv.string("out"), printedOn: try inv.date()))
            }),
        CommandSpec(
            path: ["roster", "submit"], abstract: "报送清册：冻结并排入待同步队列（离线时也可报送，联网后同步送达县里）",
            positionals: [("编号", "清册编号")],
            run: { inv in
                let r = try inv.node().submitRoster(try inv.number(positional: 0))
                inv.out.line("清册 \(r.id) 已报送并冻结：\(r.lineCount) 人，\(Fen(r.totalFen).yuanGrouped) 元，等待同步到县财政")
            }),
    ]
}
