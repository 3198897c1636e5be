import YKTCore
import YKTNode
import YKTTownship

/// Public notices and objections.
enum NoticeCommands {
    static func describe(_ inv: Invocation, _ n: NoticeRecord) {
        inv.out.fields([
            ("公示编号", String(n.id)), ("项目", n.programCode), ("期次", n.period), ("地点", n.place),
            ("监督电话", n.phone), ("张贴日", n.postedOn.chinese),
            ("公示期", "\(n.firstDay.chinese)至\(n.lastDay.chinese)（\(NoticePeriod.minimumWorkingDays)个工作日）"),
            ("最早结束日", n.earliestClose.chinese),
            ("状态", n.status == .open ? "公示中" : "已结束（\(n.closedOn?.chinese ?? "")）"),
            ("人数", String(n.applicationCount)), ("金额合计", Fen(n.totalFen).yuanGrouped + " 元"),
        ] + (n.proofSHA256.map { [("证明材料 SHA-256", $0)] } ?? []))
    }

    /// Says on stderr that a printout was made without the query QR code, and which node.conf
    /// key gives it, when `public_url` is not set.
    static func hintWithoutQueryCode(_ inv: Invocation, _ node: TownshipNode) throws {
        if try node.queryCode() == nil { inv.out.message(QueryCode.missingHint(directory: node.directory)) }
    }

    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["notice", "open"], abstract: "张贴公示：把村评议通过、尚未公示的申请列入公示，推算满 5 个工作日的公示期",
            discussion: "公示期按国家法定节假日和调休安排计算（见 docs/conventions.md）；缺少该年度日历数据时拒绝推算。",
            options: [
                .value("program", "编码", "补贴项目编码", required: true),
                .value("period", "期次", "期次", required: true),
                .value("place", "地点", "公示地点，例如 各村村务公开栏", required: true),
                .value("phone", "电话", "监督举报电话", required: true),
                .value("date", "日期", "张贴日期；不给时为今天（北京时间）"),
                .value("village", "村", "只公示这个村（社区）的申请"),
                .value("backdated-reason", "理由", "日期早于今天（补录）时必填：补录的理由；县里据此生成预警，审核人核实后清册才能审定"),
                .flag("json", "以 JSON 输出"),
            ],
            run: { inv in
                let n = try inv.node().openNotice(
                    program: try inv.require("program"),
                    period: try inv.parse("period") { s throws(YKTError) in try Period(parsing: s) },
                    postedOn: try inv.date(), place: try inv.require("place"), phone: try inv.require("phone"),
                    village: inv.string("village"), backdatedReason: inv.string("backdated-reason"))
                if inv.json { return try inv.out.json(n) }
                inv.out.line("已张贴公示 \(n.id)：\(n.applicationCount) 人，公示期 \(n.firstDay.chinese)至\(n.lastDay.chinese)，" +
                             "最早 \(n.earliestClose.chinese) 可结束")
            }),
        CommandSpec(
            path: ["notice", "list"], abstract: "列出公示", options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let list = try inv.node().notices()
                try inv.list(list, ["编号", "项目", "期次", "公示期", "状态", "人数", "金额（元）"], rightAligned: [0, 5, 6]) {
                    [String($0.id), $0.programCode, $0.period, "\($0.firstDay)至\($0.lastDay)",
                     $0.status == .open ? "公示中" : "已结束", String($0.applicationCount), Fen($0.totalFen).yuanGrouped]
                }
            }),
        CommandSpec(
            path: ["notice", "show"], abstract: "查看一个公示及其名单（脱敏）",
            positionals: [("编号", "公示编号")], options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let node = try inv.node()
                let id = try inv.number(positional: 0)
                let n = try node.notice(id)
                let lines = try node.applications(notice: id)
                if inv.json {
                    struct Shown: Encodable { var notice: NoticeRecord; var applications: [ApplicationRecord]; var objections: [ObjectionRecord] }
                    return try inv.disclose(Shown(notice: n, applications: lines, objections: try node.objections(notice: id)),
                                            object: "notice#\(id)")
                }
                describe(inv, n)
                inv.out.line()
                inv.out.table(["村（社区）", "姓名", "身份证号", "数量", "金额（元）", "状态"], lines.map {
                    [$0.village, $0.name, Masking.residentID($0.residentID), $0.quantity, Fen($0.amountFen).yuanGrouped, $0.status.chinese]
                }, rightAligned: [3, 4])
            }),
        CommandSpec(
            path: ["notice", "close"], abstract: "结束公示（须满 5 个工作日且异议均已处理）",
            positionals: [("编号", "公示编号")],
            options: [.value("date", "日期", "结束日期；不给时为今天（北京时间）"),
                      .value("proof", "文件", "公示证明材料（签字汇总表、张贴照片），记录其 SHA-256"),
                      .value("backdated-reason", "理由", "日期早于今天（补录）时必填：补录的理由；县里据此生成预警，审核人核实后清册才能审定")],
            run: { inv in
                let n = try inv.node().closeNotice(try inv.number(positional: 0), on: try inv.date(), proofPath: inv.string("proof"),
                                                   backdatedReason: inv.string("backdated-reason"))
                inv.out.line("公示 \(n.id) 已于 \(n.closedOn?.chinese ?? "") 结束，\(n.applicationCount) 人中可编入清册的金额合计 \(Fen(n.totalFen).yuanGrouped) 元")
            }),
        CommandSpec(
            path: ["notice", "print"], abstract: "生成可打印的公示（A4 HTML）和 CSV（身份证号脱敏；涉密项目不生成）",
            positionals: [("编号", "公示编号")],
            options: [.value("out", "目录", "输出目录；不给时为 节点目录/out"), .value("date", "日期", "落款日期；不给时为今天")],
            run: { inv in
                let node = try inv.node()
                inv.out.paths(try node.printNotice(try inv.number(positional: 0), into: inv.string("out"), printedOn: try inv.date()))
                try hintWithoutQueryCode(inv, node)
            }),
        CommandSpec(
            path: ["objection", "add"], abstract: "登记公示期间收到的异议",
            options: [
                .value("notice", "编号", "公示编号", required: true),
                .value("id", "身份证号", "被提出异议的对象", required: true),
                .value("content", "内容", "异议的事实和理由", required: true),
                .value("complainant", "反映人", "反映人（可匿名）"),
                .value("date", "日期", "收到日期；不给时为今天"),
                .value("backdated-reason", "理由", "日期早于今天（补录）时必填：补录的理由；县里据此生成预警，审核人核实后清册才能审定"),
            ],
            run: { inv in
                let noticeID = try inv.parse("notice") { s throws(YKTError) -> Int64 in
                    guard let n = Int64(s) else { throw YKTError(.usageValue, "公示编号应为整数") }
                    return n
                }
                let o = try inv.node().recordObjection(
                    notice: noticeID, residentID: try inv.parse("id") { s throws(YKTError) in try ResidentID(s) },
                    receivedOn: try inv.date(), complainant: inv.string("complainant") ?? "", content: try inv.require("content"),
                    backdatedReason: inv.string("backdated-reason"))
                inv.out.line("已登记异议 \(o.id)（公示 \(o.noticeID)，\(o.name)）")
            }),
        CommandSpec(
            path: ["objection", "settle"], abstract: "处理异议：成立（该对象从清册剔除）或不成立，须写明理由",
            positionals: [("编号", "异议编号")],
            options: [.flag("upheld", "异议成立"), .flag("dismissed", "异议不成立"),
                      .value("reason", "理由", "核实情况和处理理由", required: true),
                      .value("date", "日期", "处理日期；不给时为今天"),
                      .value("backdated-reason", "理由", "日期早于今天（补录）时必填：补录的理由；县里据此生成预警，审核人核实后清册才能审定")],
            run: { inv in
                guard inv.flag("upheld") != inv.flag("dismissed") else {
                    throw YKTError(.usage, "须且只能给出 --upheld 或 --dismissed 之一", hint: "异议成立用 --upheld，不成立用 --dismissed")
                }
                let o = try inv.node().settleObjection(try inv.number(positional: 0), upheld: inv.flag("upheld"),
                                                       reason: try inv.require("reason"), on: try inv.date(),
                                                       backdatedReason: inv.string("backdated-reason"))
                inv.out.line("异议 \(o.id) 已处理：\(o.status.chinese)")
            }),
        CommandSpec(
            path: ["objection", "list"], abstract: "列出异议",
            options: [.value("notice", "编号", "只列这个公示的异议"), .flag("json", "以 JSON 输出")],
            run: { inv in
                let list = try inv.node().objections(notice: inv.string("notice").flatMap { Int64($0) })
                if inv.json { return try inv.disclose(list, object: "objections n=\(list.count)") }
                inv.out.table(["编号", "公示", "姓名", "身份证号", "收到日期", "内容", "状态", "处理理由"], list.map {
                    [String($0.id), String($0.noticeID), $0.name, Masking.residentID($0.residentID), $0.receivedOn.description,
                     $0.content, $0.status.chinese, $0.decisionReason ?? ""]
                })
            }),
    ]
}
