import YKTCore
import YKTNode
import YKTTownship

/// Public notices and objections.
enum NoticeCommands {
    static func describe(_ inv: Invocation, _ n: NoticeRecord) {
        inv.out.fields([
            ("公示编号", String(n.id)),
            ("阶段", n.stage == .village ? "村级公示（\(n.village ?? "")拟补贴对象名单，评议会议 \(n.meetingID.map(String.init) ?? "")）"
                                          : "乡镇公示（审核后的发放清册）"),
            ("项目", n.programCode), ("期次", n.period), ("地点", n.place),
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
            path: ["meeting", "record"], abstract: "登记村民代表会议评议：日期、实到/应到人数、评议结果（村级公示须写明它）",
            discussion: "村民代表会议须有三分之二以上组成人员参加方可召开（村民委员会组织法第二十六条），不足的拒绝登记。",
            options: [
                .value("village", "村", "召开会议的村（社区），与底册一致", required: true),
                .value("program", "编码", "评议的补贴项目编码", required: true),
                .value("period", "期次", "评议的期次", required: true),
                .value("present", "人数", "实到村民代表人数", required: true),
                .value("expected", "人数", "应到村民代表人数", required: true),
                .value("outcome", "结果", "评议结果，例如 评议通过 12 户，不通过 1 户", required: true),
                .value("date", "日期", "会议日期；不给时为今天（北京时间）"),
                .value("backdated-reason", "理由", "日期早于今天（补录）时必填：补录的理由；县里据此生成预警"),
                .flag("json", "以 JSON 输出"),
            ],
            run: { inv in
                func count(_ name: String) throws(YKTError) -> Int {
                    try inv.parse(name) { s throws(YKTError) -> Int in
                        guard let n = Int(s.trimmed), n >= 0 else {
                            throw YKTError(.usageValue, "--\(name) 应为不小于 0 的整数，收到「\(s)」", at: SourceLocation(field: "--\(name)"))
                        }
                        return n
                    }
                }
                let m = try inv.node().recordMeeting(
                    village: try inv.require("village"), program: try inv.require("program"),
                    period: try inv.parse("period") { s throws(YKTError) in try Period(parsing: s) }, heldOn: try inv.date(),
                    present: try count("present"), expected: try count("expected"), outcome: try inv.require("outcome"),
                    backdatedReason: inv.string("backdated-reason"))
                if inv.json { return try inv.out.json(m) }
                inv.out.line("已登记村民代表会议 \(m.id)：\(m.village) \(m.heldOn.chinese)，实到 \(m.present) 人／应到 \(m.expected) 人，\(m.outcome)")
            }),
        CommandSpec(
            path: ["meeting", "list"], abstract: "列出村民代表会议评议", options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                try inv.list(try inv.node().meetings(), ["编号", "村（社区）", "项目", "期次", "会议日期", "实到/应到", "评议结果"], rightAligned: [0]) {
                    [String($0.id), $0.village, $0.programCode, $0.period, $0.heldOn.description, "\($0.present)/\($0.expected)", $0.outcome]
                }
            }),
        CommandSpec(
            path: ["notice", "open"], abstract: "张贴公示（两级）：村级公示列评议会议通过的本村对象；乡镇公示列村级公示无异议的对象",
            discussion: """
                两级公示（见 docs/conventions.md「两级公示」）：先由村民代表会议评议（ykt meeting record），
                再用 --meeting 会议编号 张贴村级拟补贴对象公示（项目、期次、村取自会议）；村级公示期满无异议并结束后，
                用 --program --period 张贴乡镇审核后的发放清册公示。两级公示都满 5 个工作日并结束，才能编制清册。
                公示期按国家法定节假日和调休安排计算；缺少该年度日历数据时拒绝推算。
                """,
            options: [
                .value("meeting", "编号", "村级公示：评议的村民代表会议编号（给出即为村级公示）"),
                .value("stage", "阶段", "村级 或 乡镇；不给时：有 --meeting 为村级，否则为乡镇"),
                .value("program", "编码", "补贴项目编码（乡镇公示必填；村级公示取自会议）"),
                .value("period", "期次", "期次（乡镇公示必填；村级公示取自会议）"),
                .value("place", "地点", "公示地点，例如 大塘村村务公开栏、镇政府公告栏", required: true),
                .value("phone", "电话", "监督举报电话", required: true),
                .value("date", "日期", "张贴日期；不给时为今天（北京时间）"),
                .value("village", "村", "乡镇公示：只公示这个村（社区）的对象"),
                .value("backdated-reason", "理由", "日期早于今天（补录）时必填：补录的理由；县里据此生成预警，审核人核实后清册才能审定"),
                .flag("json", "以 JSON 输出"),
            ],
            run: { inv in
                let node = try inv.node()
                let meetingID = try inv.optional("meeting") { s throws(YKTError) -> Int64 in
                    guard let n = Int64(s) else { throw YKTError(.usageValue, "会议编号应为整数", at: SourceLocation(field: "--meeting")) }
                    return n
                }
                let stage = try inv.optional("stage") { s throws(YKTError) in try NoticeRecord.Stage(parsing: s) }
                    ?? (meetingID == nil ? .township : .village)
                let meeting = try meetingID.map { try node.meeting($0) }
                let program = try inv.string("program") ?? meeting?.programCode ?? inv.require("program")
                let period = try Period(parsing: try inv.string("period") ?? meeting?.period ?? inv.require("period"))
                let n = try node.openNotice(
                    program: program, period: period,
                    postedOn: try inv.date(), place: try inv.require("place"), phone: try inv.require("phone"),
                    village: inv.string("village"), backdatedReason: inv.string("backdated-reason"), stage: stage, meeting: meetingID)
                if inv.json { return try inv.out.json(n) }
                inv.out.line("已张贴\(n.stage.chinese) \(n.id)" + (n.village.map { "（\($0)）" } ?? "") +
                             "：\(n.applicationCount) 人，公示期 \(n.firstDay.chinese)至\(n.lastDay.chinese)，最早 \(n.earliestClose.chinese) 可结束")
            }),
        CommandSpec(
            path: ["notice", "list"], abstract: "列出公示", options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let list = try inv.node().notices()
                try inv.list(list, ["编号", "阶段", "村（社区）", "项目", "期次", "公示期", "状态", "人数", "金额（元）"], rightAligned: [0, 7, 8]) {
                    [String($0.id), $0.stage.chinese, $0.village ?? "", $0.programCode, $0.period, "\($0.firstDay)至\($0.lastDay)",
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
                inv.out.line(n.stage == .village
                    ? "村级公示 \(n.id) 已于 \(n.closedOn?.chinese ?? "") 结束，\(n.applicationCount) 人无异议，可列入乡镇公示"
                    : "乡镇公示 \(n.id) 已于 \(n.closedOn?.chinese ?? "") 结束，\(n.applicationCount) 人中可编入清册的金额合计 \(Fen(n.totalFen).yuanGrouped) 元")
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
