import YKTCore
import YKTTownship

/// Applications and their village evaluation.
enum ApplicationCommands {
    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["application", "add"], abstract: "录入一条申请（对象 × 项目 × 期次 × 数量）及村评议结果",
            discussion: "金额 = 补贴标准 × 数量，用整数分精确计算后四舍五入到分（见 docs/conventions.md）。",
            options: [
                .value("id", "身份证号", "申请人身份证号（须已在底册）", required: true),
                .value("program", "编码", "补贴项目编码", required: true),
                .value("period", "期次", "期次：按年 2026，按月 2026-03", required: true),
                .value("quantity", "数量", "数量：亩数（最多四位小数）、月数、人数", required: true),
                .value("village-result", "结果", "村评议结果：通过（默认）或 不通过"),
                .value("note", "备注", "村评议备注"),
                .flag("json", "以 JSON 输出"),
            ],
            run: { inv in
                let input = ApplicationInput(
                    residentID: try inv.parse("id") { s throws(YKTError) in try ResidentID(s) },
                    programCode: try inv.require("program"),
                    period: try inv.parse("period") { s throws(YKTError) in try Period(parsing: s) },
                    quantity: try inv.parse("quantity") { s throws(YKTError) in try Quantity(parsing: s) },
                    villageResult: try inv.optional("village-result") { s throws(YKTError) in try VillageResult(parsing: s) } ?? .passed,
                    note: inv.string("note") ?? "")
                let a = try inv.node().recordApplication(input)
                if inv.json { return try inv.out.json(a) }
                inv.out.line("已录入申请 \(a.id)：\(a.name)（\(Masking.residentID(a.residentID))）\(a.programCode) \(a.period) " +
                             "数量 \(a.quantity) 金额 \(Fen(a.amountFen).yuanGrouped) 元（\(a.status.chinese)）")
            }),
        CommandSpec(
            path: ["application", "import"], abstract: "从 CSV 导入申请（村评议结果一并导入）",
            discussion: "列：身份证号,姓名,项目编码,期次,数量,村评议结果,备注（姓名、村评议结果、备注可省；给了姓名就与底册核对）。",
            positionals: [("文件", "申请 CSV 文件")], options: RegisterCommands.importOptions,
            run: { inv in
                let progress = Progress()
                let r = try inv.node().importApplications(path: inv.positional(0), options: try inv.importOptions(progress: progress))
                try RegisterCommands.printImport(inv, r, what: "申请")
            }),
        CommandSpec(
            path: ["application", "list"], abstract: "列出申请",
            discussion: "末行的合计只计仍可能发放的申请：村评议未通过（not_passed）和异议成立已剔除（removed）的申请照样列出，但单独计数，不计入合计；只列这两种状态时，末行写明这些申请不计入发放合计。",
            options: [
                .value("program", "编码", "只列这个项目"), .value("period", "期次", "只列这个期次"),
                .value("status", "状态", "只列这个状态：recorded、not_passed、in_village_notice、village_cleared、in_notice、cleared、removed、rostered"),
                .flag("json", "以 JSON 输出"),
            ],
            run: { inv in
                let status = try inv.optional("status") { s throws(YKTError) -> ApplicationStatus in
                    guard let st = ApplicationStatus(rawValue: s) else {
                        throw YKTError(.usageValue, "状态「\(s)」不认识",
                                       hint: "可用：" + ApplicationStatus.allCases.map(\.rawValue).joined(separator: "、"))
                    }
                    return st
                }
                let list = try inv.node().applications(program: inv.string("program"), period: inv.string("period"), status: status)
                if inv.json { return try inv.disclose(list, object: "applications n=\(list.count)") }
                inv.out.table(["编号", "项目", "期次", "村（社区）", "姓名", "身份证号", "数量", "金额（元）", "状态"], list.map {
                    [String($0.id), $0.programCode, $0.period, $0.village, $0.name, Masking.residentID($0.residentID),
                     $0.quantity, Fen($0.amountFen).yuanGrouped, $0.status.chinese]
                }, rightAligned: [0, 6, 7])
                inv.out.line(totalsLine(list))
            }),
    ]

    /// The last line of `application list`: the total of the applications that may still be
    /// paid, and those the village did not pass or an objection removed, counted apart.
    static func totalsLine(_ list: [ApplicationRecord]) -> String {
        let excluded: [ApplicationStatus] = [.notPassed, .removed]
        let counted = list.filter { !excluded.contains($0.status) }
        func sum(_ rows: [ApplicationRecord]) -> String { Fen(rows.reduce(Int64(0)) { $0 + $1.amountFen }).yuanGrouped }
        if counted.isEmpty && !list.isEmpty {
            // Only rows outside the total (e.g. --status not_passed): say what they are, plainly.
            let present = excluded.filter { st in list.contains { $0.status == st } }
            if present.count == 1 {
                return "共 \(list.count) 条（\(present[0].chinese)，不计入发放合计），金额 \(sum(list)) 元"
            }
            return "共 \(list.count) 条，均不计入发放合计：" + present.map { st in
                let these = list.filter { $0.status == st }
                return "\(st.chinese) \(these.count) 条 \(sum(these)) 元"
            }.joined(separator: "、")
        }
        var line = "共 \(counted.count) 条，金额合计 \(Fen(counted.reduce(Int64(0)) { $0 + $1.amountFen }).yuanGrouped) 元"
        var apart: [String] = []
        for status in excluded {
            let these = list.filter { $0.status == status }
            if !these.isEmpty {
                apart.append("\(status.chinese) \(these.count) 条 \(Fen(these.reduce(Int64(0)) { $0 + $1.amountFen }).yuanGrouped) 元")
            }
        }
        if !apart.isEmpty { line += "；另有" + apart.joined(separator: "、") + "，不计入合计" }
        return line
    }
}
