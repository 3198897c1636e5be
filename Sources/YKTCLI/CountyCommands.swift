import Foundation
import YKTCore
import YKTNode
import YKTCounty
import YKTDemo
import YKTTownship

/// The county's money loop: roles, budgets, review, approval, banks, results, re-issue,
/// deadlines, query, complaints, reports, reconciliation and warnings.
enum CountyCommands {
    static func listRosters(_ inv: Invocation) throws {
        let list = try inv.county().rosters(status: inv.string("status"))
        try inv.list(list, ["编号", "乡镇", "项目", "期次", "版本", "人数", "金额（元）", "状态", "审核人", "审定人"], rightAligned: [0, 4, 5, 6]) {
            [String($0.id), $0.node, $0.program, $0.period, String($0.version), String($0.lineCount), Fen($0.totalFen).yuanGrouped,
             $0.statusChinese, $0.reviewedBy ?? "", $0.approvedBy ?? ""]
        }
    }

    static func showRoster(_ inv: Invocation) throws {
        let county = try inv.county()
        let id = try inv.number(positional: 0)
        let r = try county.roster(id)
        let lines = try county.rosterLines(id)
        if inv.json {
            struct Shown: Encodable { var roster: CountyNode.CountyRoster; var lines: [CountyNode.CountyRosterLine] }
            return try inv.disclose(Shown(roster: r, lines: lines), object: "roster#\(id)")
        }
        inv.out.fields([("清册编号", String(r.id)), ("乡镇", r.node), ("清册", r.entity + "（第 \(r.version) 版）"), ("项目", r.program),
                        ("期次", r.period), ("人数", String(r.lineCount)), ("金额合计", Fen(r.totalFen).yuanGrouped + " 元"),
                        ("状态", r.statusChinese), ("接收时间", r.receivedAt),
                        ("乡镇编制人", r.preparedBy ?? "未记录"), ("乡镇报送人", r.submittedBy ?? "未记录"),
                        ("审核", r.reviewedBy.map { "\($0)" + ((r.reviewReason ?? "").isEmpty ? "" : "：\(r.reviewReason!)") } ?? "—"),
                        ("审定", r.approvedBy ?? "—")])
        inv.out.line()
        let states = ["pending": "待发放", "dispatched": "发放中", "paid": "已发放", "failed": "发放失败"]
        inv.out.table(["序号", "村（社区）", "姓名", "身份证号", "开户银行", "账号", "金额（元）", "发放"], lines.map {
            [String($0.lineNo), $0.village, $0.name, Masking.residentID($0.residentID), $0.bank, Masking.account($0.accountNumber),
             Fen($0.amountFen).yuanGrouped, states[$0.payment] ?? $0.payment]
        }, rightAligned: [0, 6])
    }

    static func date(_ inv: Invocation) throws -> CivilDate { try inv.date() }

    static func batchTable(_ inv: Invocation, _ list: [CountyNode.Batch]) {
        inv.out.table(["批次", "代发银行", "类别", "笔数", "金额（元）", "状态", "发送日", "应发放日", "应回盘日", "回盘日"], list.map {
            [String($0.id), $0.bank, $0.kind == "reissue" ? "补发" : "首发", String($0.lineCount), Fen($0.totalFen).yuanGrouped,
             $0.statusChinese, $0.dispatchedOn ?? "", $0.payDue ?? "", $0.reportDue ?? "", $0.resultedOn ?? ""]
        }, rightAligned: [0, 3, 4])
    }

    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["budget", "set"], abstract: "（县级）设置项目某期次的预算；审定超出预算的清册会被拒绝",
            options: [.value("program", "编码", "补贴项目编码", required: true), .value("period", "期次", "期次", required: true),
                      .value("yuan", "金额", "预算金额（元）", required: true)],
            run: { inv in
                let period = try inv.parse("period") { s throws(YKTError) in try Period(parsing: s) }
                let amount = try inv.yuan("yuan")
                try inv.county().setBudget(program: try inv.require("program"), period: period, amount: amount)
                inv.out.line("项目 \(try inv.require("program")) \(period) 期预算：\(amount.yuanGrouped) 元")
            }),
        CommandSpec(
            path: ["budget", "list"], abstract: "（县级）列出预算及已审定金额", options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let list = try inv.county().budgets()
                try inv.list(list, ["项目", "期次", "预算（元）", "已审定（元）", "余额（元）"], rightAligned: [2, 3, 4]) {
                    [$0.program, $0.period, Fen($0.budgetFen).yuanGrouped, Fen($0.approvedFen).yuanGrouped, Fen($0.remainingFen).yuanGrouped]
                }
            }),
        CommandSpec(
            path: ["roster", "review"], abstract: "（县级）业务主管部门审核清册：通过，或退回乡镇（写明理由）",
            discussion: "经办人须是该项目的审核人（ykt operator grant）。退回的清册同步回乡镇，乡镇更正后重新报送为下一版本。",
            positionals: [("编号", "县里的清册编号")],
            options: [.flag("approve", "审核通过"), .flag("reject", "退回乡镇"), .value("reason", "理由", "审核意见；退回时必填")],
            run: { inv in
                guard inv.flag("approve") != inv.flag("reject") else {
                    throw YKTError(.usage, "须给出 --approve 或 --reject 之一", hint: "退回时用 --reason 写明理由")
                }
                let id = try inv.number(positional: 0)
                try inv.county().review(id, approve: inv.flag("approve"), reason: inv.string("reason") ?? "")
                inv.out.line(inv.flag("approve") ? "清册 \(id) 审核通过，待财政审定" : "清册 \(id) 已退回乡镇")
            }),
        CommandSpec(
            path: ["roster", "approve"], abstract: "（县级）财政审定清册，生成支付批次（每个代发银行一批）",
            discussion: "须经审核通过、审定人不是审核人、不超出预算；清册中有未处理预警的，须处理预警或用 --override 写明理由。",
            options: [.value("rosters", "编号", "县里的清册编号，逗号分隔，例如 3,4,5", required: true),
                      .value("note", "意见", "审定意见"), .value("override", "理由", "有未处理预警时强制审定的理由（记录经办人和理由）"),
                      .flag("json", "以 JSON 输出")],
            run: { inv in
                let r = try inv.county().approve(try inv.numbers("rosters"), note: inv.string("note") ?? "", override: inv.string("override"))
                if inv.json { return try inv.out.json(r) }
                inv.out.line("已审定清册 \(r.rosters.map(String.init).joined(separator: "、"))：\(r.lines) 笔，\(Fen(r.totalFen).yuanGrouped) 元；" +
                             "生成支付批次 \(r.batches.map(String.init).joined(separator: "、"))" +
                             (r.overridden.isEmpty ? "" : "；强制通过预警 \(r.overridden.map(String.init).joined(separator: "、"))"))
            }),
        CommandSpec(
            path: ["bank", "add"], abstract: "（县级）登记代发银行、其文件交换目录和代发协议",
            discussion: "交换目录下：outbox/ 放支付指令（银行取），inbox/ 放结果文件（银行放），processed/、refused/ 存放已读和拒收的结果文件。代发协议（--agreement 及其起止日期、费用条款）不超过 3 年；发送日没有有效代发协议的代发银行不能发送支付批次（docs/conventions.md「代发协议」）。协议可在登记后用 ykt bank edit 补登或续签。",
            options: [.value("code", "代码", "代发银行代码（大写字母和数字），例如 RCC", required: true),
                      .value("name", "名称", "银行名称（与底册的开户银行一致）", required: true),
                      .value("folder", "目录", "文件交换目录", required: true),
                      .value("serves", "开户行", "另由本行代发的开户银行，逗号分隔")] + agreementOptions,
            run: { inv in
                let serves = (inv.string("serves") ?? "").split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty }
                let agreement = try agreementTerms(inv)
                try inv.county().addBank(code: try inv.require("code"), name: try inv.require("name"), serves: serves,
                                         folder: try inv.require("folder"), agreement: agreement)
                inv.out.line("已登记代发银行 \(try inv.require("code"))" + (agreement.map { "，代发协议 \($0.number)（\($0.start) 至 \($0.end)）" } ??
                             "；尚未登记代发协议，登记前不能向其发送支付批次（ykt bank edit --agreement）"))
            }),
        CommandSpec(
            path: ["bank", "edit"], abstract: "（县级）修改代发银行：名称、另代发的开户行、交换目录；登记（续签、更正）代发协议",
            discussion: "只改给出的项。--agreement 给出新编号时登记一份新协议（续签），给出已登记的编号时更正该协议；协议须写明起止日期和费用条款，期限不超过 3 年（结束日不晚于开始日 3 年后的同一天）。续签的协议与原协议首尾相接时，到期提醒按续签协议的结束日计算。",
            options: [.value("code", "代码", "代发银行代码", required: true), .value("name", "名称", "新的银行名称"),
                      .value("folder", "目录", "新的文件交换目录"), .value("serves", "开户行", "另由本行代发的开户银行，逗号分隔（整体替换）")]
                + agreementOptions,
            run: { inv in
                let serves = inv.string("serves").map { $0.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty } }
                let agreement = try agreementTerms(inv)
                let code = try inv.require("code")
                try inv.county().editBank(code: code, name: inv.string("name"), serves: serves, folder: inv.string("folder"), agreement: agreement)
                inv.out.line("已修改代发银行 \(code)" + (agreement.map { "，登记代发协议 \($0.number)（\($0.start) 至 \($0.end)，\($0.fees.trimmed)）" } ?? ""))
            }),
        CommandSpec(
            path: ["bank", "list"], abstract: "（县级）列出代发银行及其代发协议（有效期、费用条款、是否即将到期）",
            options: [.value("date", "日期", "按哪天判断协议是否有效，默认今天"), .flag("json", "以 JSON 输出")],
            run: { inv in
                let county = try inv.county()
                let day = try inv.date()
                let list = try county.agencyBanks()
                if inv.json { return try inv.out.json(list) }
                let covers = Dictionary(try county.agreementCovers(on: day).map { ($0.bank, $0) }, uniquingKeysWith: { a, _ in a })
                inv.out.table(["代码", "名称", "另代发", "代发协议", "期限", "费用条款", "协议状态（\(day)）", "交换目录"], list.flatMap { b in
                    let status = covers[b.code]?.stateChinese ?? ""
                    guard !b.agreements.isEmpty else { return [[b.code, b.name, b.serves.joined(separator: "、"), "—", "", "", status, b.folder]] }
                    return b.agreements.enumerated().map { i, a in
                        i == 0 ? [b.code, b.name, b.serves.joined(separator: "、"), a.terms.number, "\(a.terms.start) 至 \(a.terms.end)", a.terms.fees,
                                  status, b.folder]
                               : ["", "", "", a.terms.number, "\(a.terms.start) 至 \(a.terms.end)", a.terms.fees, "", ""]
                    }
                })
            }),
        CommandSpec(
            path: ["batch", "dispatch"], abstract: "（县级）把待发送的支付批次写成支付指令文件，放入代发银行的 outbox/",
            discussion: "每个批次在同一个事务里记为已发送并定下文件名、序号（每个代发银行递增）和 SHA-256；文件先写临时文件并落盘，事务提交后才改名放入 outbox/，银行不会读到半个文件，也不会读到县里未记为已发送的文件。命令失败（例如发放期限算不出：YKT-CAL-NODATA）不留下文件；中途被终止的发送由下一次 ykt batch dispatch 补写同名、逐字节相同的文件。银行应在发送后 3 个工作日内发放、其后 2 个工作日内回盘（docs/conventions.md）。",
            options: [.value("date", "日期", "发送日期，默认今天"), .flag("json", "以 JSON 输出")],
            run: { inv in
                let report = try inv.county().dispatchReport(on: try inv.countyDate())
                if inv.json { return try inv.out.json(report) }
                for b in report.completed {
                    inv.out.line("批次 \(b.id) → \(b.bank)：上次发送中断，已补写文件 \(b.file ?? "")（序号 \(b.fileSeq.map(String.init) ?? "")，内容与发送时相同）")
                }
                if report.dispatched.isEmpty && report.completed.isEmpty { return inv.out.line("没有待发送的批次") }
                for b in report.dispatched {
                    inv.out.line("批次 \(b.id) → \(b.bank)：\(b.lineCount) 笔 \(Fen(b.totalFen).yuanGrouped) 元，文件 \(b.file ?? "")（序号 \(b.fileSeq.map(String.init) ?? "")），应于 \(b.payDue ?? "") 前发放、\(b.reportDue ?? "") 前回盘")
                }
            }),
        CommandSpec(
            path: ["batch", "list"], abstract: "（县级）列出支付批次；--due 只列待回盘的批次及是否逾期",
            options: [.flag("due", "只列已发送、待回盘的批次，按工作日判断逾期或即将到期"), .value("date", "日期", "按哪天判断，默认今天"),
                      .flag("json", "以 JSON 输出")],
            run: { inv in
                let county = try inv.county()
                if inv.flag("due") {
                    let list = try county.deadlines(on: try inv.date())
                    try inv.list(list, ["批次", "代发银行", "笔数", "发送日", "应发放日", "应回盘日", "情况", "剩余工作日"], rightAligned: [0, 2, 7]) {
                        [String($0.batch.id), $0.batch.bank, String($0.batch.lineCount), $0.batch.dispatchedOn ?? "", $0.batch.payDue ?? "",
                         $0.batch.reportDue ?? "", $0.stateChinese, String($0.workingDaysLeft)]
                    }
                    let overdue = list.filter { $0.state == "overdue" }.count
                    return inv.out.line(overdue > 0 ? "有 \(overdue) 个批次逾期未回盘，请催告代发银行" : "没有逾期的批次")
                }
                let list = try county.batches()
                if inv.json { return try inv.out.json(list) }
                batchTable(inv, list)
            }),
        CommandSpec(
            path: ["bank", "receive"], abstract: "（县级）读取代发银行 inbox/ 中的结果文件：整份核对无误才采用，否则整份拒收并保留",
            discussion: "核对：控制头、正文 SHA-256、行数和合计、行号属于该批次且不重复不缺漏、金额与指令一致、日期合理、清册已发放合计不超过审定总额。拒收的文件原样移入 refused/，旁边有问题报告。只读普通文件：符号链接、硬链接、目录、命名管道跳过不读（按名列出），超过 256 MiB 的文件拒收。",
            options: [.value("bank", "代码", "只读这个代发银行"), .value("date", "日期", "今天的日期（结果日期不能晚于它），默认今天"),
                      .flag("json", "以 JSON 输出")],
            run: { inv in
                let reports = try inv.county().receiveResults(bank: inv.string("bank"), today: try inv.countyDate())
                if inv.json { try inv.out.json(reports) } else {
                    if reports.isEmpty { inv.out.line("没有新的结果文件") }
                    for r in reports {
                        if let skipped = r.skipped {
                            inv.out.line("跳过 \(r.bank)/\(r.file)：\(skipped)")
                        } else if let refusal = r.refusal {
                            inv.out.line("拒收 \(r.bank)/\(r.file)：\(refusal)")
                        } else if r.alreadyApplied {
                            inv.out.line("\(r.bank)/\(r.file)：批次 \(r.batch ?? 0) 的这份结果已采用过，未重复入账")
                        } else {
                            inv.out.line("采用 \(r.bank)/\(r.file)：批次 \(r.batch ?? 0) 成功 \(r.paid) 笔 \(Fen(r.paidFen).yuanGrouped) 元，失败 \(r.failed) 笔 \(Fen(r.failedFen).yuanGrouped) 元（退回 \(Fen(r.returnedFen).yuanGrouped) 元）")
                        }
                    }
                }
                if let bad = reports.first(where: { $0.refusal != nil }) {
                    throw YKTError(.bankFile, "有 \(reports.filter { $0.refusal != nil }.count) 份结果文件被拒收（如 \(bad.file)）",
                                   hint: "查看 refused/ 目录中的问题报告，请代发银行重新出具")
                }
                if let odd = reports.first(where: { $0.skipped != nil }) {
                    throw YKTError(.fileUnsafe, "inbox/ 中有 \(reports.filter { $0.skipped != nil }.count) 项不是普通文件，未读取（如 \(odd.bank)/\(odd.file)）",
                                   hint: "删除这些链接、目录或管道；请代发银行只放入结果文件本身")
                }
            }),
        CommandSpec(
            path: ["batch", "reissue"], abstract: "（县级）把乡镇已更正的失败支付生成补发批次（每笔链接原失败支付）",
            run: { inv in
                let county = try inv.county()
                let pending = try county.pendingReissues().count
                let batches = try county.reissue()
                inv.out.line(batches.isEmpty ? "没有待补发的支付" : "补发 \(pending) 笔，生成批次 \(batches.map(String.init).joined(separator: "、"))；用 ykt batch dispatch 发送")
            }),
        CommandSpec(
            path: ["bank", "simulate"], abstract: "模拟代发银行：读取交换目录 outbox/ 的支付指令，按设定的失败比例写出结果文件到 inbox/",
            discussion: "供演示和测试。失败与否由种子和行号决定，可重复。补发的行默认全部成功（--fail-reissues 让补发也按比例失败）。--tamper 故意写出有错的结果文件：total、duplicate、amount、unknown、missing。",
            options: [.value("folder", "目录", "代发银行的交换目录", required: true), .value("bank", "代码", "本行代码", required: true),
                      .value("seed", "整数", "随机种子，默认 1"), .value("fail", "比例", "失败比例，例如 closed=0.05,name=0.02,frozen=0.01"),
                      .flag("fail-reissues", "补发的行也按比例失败"), .value("tamper", "种类", "故意写错结果文件"),
                      .value("date", "日期", "发放日期，默认今天")],
            run: { inv in
                var options = BankSimulator.Options(payDate: try inv.date())
                options.seed = try inv.optional("seed") { s throws(YKTError) -> UInt64 in
                    guard let v = UInt64(s) else { throw YKTError(.usageValue, "种子应为非负整数") }
                    return v
                } ?? 1
                options.failureRates = try inv.optional("fail") { s throws(YKTError) in try BankSimulator.Options.parseRates(s) } ?? [:]
                options.failReissues = inv.flag("fail-reissues")
                options.tamper = inv.string("tamper")
                if let t = options.tamper, !["total", "duplicate", "amount", "unknown", "missing"].contains(t) {
                    throw YKTError(.usageValue, "--tamper 只能是 total、duplicate、amount、unknown、missing", at: SourceLocation(field: "--tamper"))
                }
                let handled = try BankSimulator(folder: try inv.require("folder"), bank: try inv.require("bank")).run(options)
                if handled.isEmpty { return inv.out.line("没有待处理的支付指令") }
                for h in handled {
                    if let skipped = h.skipped { inv.out.line("跳过 \(h.instruction)：\(skipped)") } else if let refused = h.refused {
                        inv.out.line("拒付 \(h.instruction)：\(refused)")
                    } else {
                        inv.out.line("\(h.instruction) → \(h.result)：\(h.lines) 笔，失败 \(h.failed) 笔" +
                                     (h.holderMismatches > 0 ? "（其中户主身份证号不符 \(h.holderMismatches) 笔）" : ""))
                    }
                }
            }),
        CommandSpec(
            path: ["bank", "cards"], abstract: "模拟代发银行：从底册登记卡库（账号 → 户主身份证号），供发放时核对户主",
            discussion: "读取一个底册 CSV（ykt demo generate 生成的，或同样有「身份证号」「账号」两列的文件，UTF-8 或 GB18030），把每个账号的户主记入交换目录的 bank-cards.csv。ykt bank simulate 发放时，账号在卡库中而身份证号与户主不符的行以 HOLDER_MISMATCH 失败；卡库中没有的账号不核对。--mismatch 故意把这些账号的户主登记成别人，用于演示。",
            positionals: [("底册", "底册 CSV 文件；多个底册逐个登记，卡库累加")],
            options: [.value("folder", "目录", "代发银行的交换目录", required: true),
                      .value("mismatch", "账号", "逗号分隔的账号：故意登记成别人的户主（演示户主不符）")],
            run: { inv in
                let registers = [inv.positional(0)]
                let mismatch = inv.string("mismatch").map { $0.split(separator: ",").map { String($0).trimmed } } ?? []
                let r = try BankSimulator(folder: try inv.require("folder"), bank: "").registerCards(registers: registers, mismatch: mismatch)
                inv.out.line("卡库共 \(r.cards) 个账号" + (r.planted > 0 ? "，其中 \(r.planted) 个故意登记为他人（户主不符）" : ""))
            }),
        CommandSpec(
            path: ["bank", "statement"], abstract: "模拟代发银行：按日期出具对账单（从模拟银行的流水）",
            options: [.value("folder", "目录", "代发银行的交换目录", required: true), .value("bank", "代码", "本行代码", required: true),
                      .value("from", "日期", "起始日期", required: true), .value("to", "日期", "截止日期", required: true),
                      .value("out", "文件", "对账单文件", required: true)],
            run: { inv in
                let from = try inv.date("from"), to = try inv.date("to")
                let bytes = try BankSimulator(folder: try inv.require("folder"), bank: try inv.require("bank")).statement(from: from, to: to)
                try FileOutput.writeAtomically(bytes: bytes, to: try inv.require("out"), mode: 0o640)
                inv.out.line("对账单已写入 \(try inv.require("out"))")
            }),
        CommandSpec(
            path: ["payment", "list"], abstract: "列出支付（县级：全部支付；乡镇：本乡镇的发放结果）",
            options: [.value("status", "状态", "只列这个状态：dispatched、paid、failed"), .value("batch", "批次", "（县级）只列这个批次"),
                      .flag("failed", "（乡镇）只列失败且尚未更正的"), .flag("json", "以 JSON 输出（完整信息）")],
            run: { inv in
                if inv.isCounty {
                    let list = try inv.county().payments(status: inv.string("status"), batch: inv.string("batch").flatMap { Int64($0) })
                    if inv.json { return try inv.disclose(list, object: "payments n=\(list.count)") }
                    inv.out.table(["支付", "批次", "清册", "行", "乡镇", "项目", "期次", "姓名", "身份证号", "账号", "金额（元）", "状态", "原因", "补发自"], list.map {
                        [String($0.id), String($0.batch), String($0.roster), String($0.line), $0.node, $0.program, $0.period, $0.name,
                         Masking.residentID($0.residentID), Masking.account($0.accountNumber), Fen($0.amountFen).yuanGrouped,
                         $0.statusChinese, $0.reason ?? "", $0.reissueOf.map(String.init) ?? ""]
                    }, rightAligned: [0, 1, 2, 3, 10])
                    return
                }
                let node = try inv.node()
                let list = inv.flag("failed") ? try node.paymentsToCorrect() : try node.paymentResults(status: inv.string("status"))
                if inv.json { return try inv.disclose(list, object: "payments n=\(list.count)") }
                inv.out.table(["支付", "清册", "行", "姓名", "身份证号", "账号", "金额（元）", "结果", "日期", "已更正"], list.map {
                    [String($0.payment), String($0.rosterID), String($0.lineNo), $0.name, Masking.residentID($0.residentID),
                     Masking.account($0.accountNumber), Fen($0.amountFen).yuanGrouped, $0.statusChinese, $0.resultOn, $0.correctedAt ?? ""]
                }, rightAligned: [0, 1, 2, 6])
            }),
        CommandSpec(
            path: ["payment", "correct"], abstract: "（乡镇）更正一笔失败的发放：换新的指定账户（须本人签字确认书），或同一账户写明原因；同步后县里补发",
            positionals: [("支付", "失败的支付编号（ykt payment list --failed）")],
            options: [.value("bank", "银行", "新开户银行"), .value("account", "账号", "新账号"),
                      .value("kind", "类型", "银行卡（默认）、社保卡 或 存折"), .value("confirmation", "编号", "本人签字确认书编号（换账户时必填）"),
                      .value("note", "说明", "更正说明；不换账户时必填（例如 账户已解冻）")],
            run: { inv in
                let node = try inv.node()
                let id = try inv.number(positional: 0)
                var account: AccountInput?
                if inv.string("account") != nil {
                    let kind = try inv.optional("kind") { s throws(YKTError) in try AccountKind(parsing: s) } ?? .card
                    account = AccountInput(bank: try inv.require("bank"),
                                           number: try inv.parse("account") { s throws(YKTError) in try AccountNumber(s, kind: kind) },
                                           confirmation: try inv.require("confirmation"))
                }
                try node.correctPayment(id, newAccount: account, note: inv.string("note") ?? "")
                inv.out.line("支付 \(id) 已更正，等待同步到县财政补发")
            }),
        CommandSpec(
            path: ["payment", "notice"], abstract: "（乡镇）打印清册的发放结果公示（A4 HTML 和 CSV，脱敏）",
            positionals: [("清册", "乡镇的清册编号")],
            options: [.value("out", "目录", "输出目录，默认 节点目录/out"), .value("date", "日期", "落款日期，默认今天")],
            run: { inv in
                let node = try inv.node()
                inv.out.paths(try node.printPaymentNotice(try inv.number(positional: 0), into: inv.string("out"), printedOn: try inv.date()))
                try NoticeCommands.hintWithoutQueryCode(inv, node)
            }),
        CommandSpec(
            path: ["query"], abstract: "（县级）查询本人的补贴发放：须身份证号和姓名都对上；账号脱敏",
            options: [.value("id", "身份证号", "身份证号", required: true), .value("name", "姓名", "姓名", required: true),
                      .flag("json", "以 JSON 输出")],
            run: { inv in
                let id = try inv.parse("id") { s throws(YKTError) in try ResidentID(s) }
                let lines = try inv.county().query(residentID: id, name: try inv.require("name"))
                if inv.json { return try inv.out.json(lines) }
                inv.out.line("\(try inv.require("name"))（\(id.masked)）的补贴发放：")
                inv.out.table(["项目", "期次", "金额（元）", "日期", "状态", "账号"], lines.map {
                    [$0.programName, $0.period, Fen($0.amountFen).yuanGrouped, $0.date, $0.status, $0.account]
                }, rightAligned: [2])
            }),
        CommandSpec(
            path: ["complaint", "add"], abstract: "（县级）登记投诉举报",
            options: [.value("about", "对象", "resident:身份证号、roster:清册编号 或 payment:支付编号", required: true),
                      .value("content", "内容", "投诉举报内容", required: true), .value("complainant", "姓名", "投诉举报人（可匿名）"),
                      .value("channel", "渠道", "来信、来电、来访、网络等，默认 来电"), .value("date", "日期", "收到日期，默认今天")],
            run: { inv in
                let id = try inv.county().addComplaint(about: try inv.require("about"), content: try inv.require("content"),
                                                       complainant: inv.string("complainant") ?? "匿名", channel: inv.string("channel") ?? "来电",
                                                       on: try inv.countyDate())
                inv.out.line("已登记投诉举报 \(id)")
            }),
        CommandSpec(
            path: ["complaint", "list"], abstract: "（县级）列出投诉举报",
            options: [.value("status", "状态", "open 或 closed"), .flag("json", "以 JSON 输出")],
            run: { inv in
                let list = try inv.county().complaints(status: inv.string("status"))
                if inv.json { return try inv.disclose(list, object: "complaints n=\(list.count)") }
                inv.out.table(["编号", "对象", "收到", "渠道", "内容", "状态", "处理结果"], list.map {
                    [String($0.id), "\($0.subjectKind):" + ($0.subjectKind == "resident" ? Masking.residentID($0.subject) : $0.subject),
                     $0.receivedOn, $0.channel, Masking.digits(in: $0.content), $0.status == "open" ? "办理中" : "已办结",
                     Masking.digits(in: $0.outcome ?? "")]
                }, rightAligned: [0])
            }),
        CommandSpec(
            path: ["complaint", "close"], abstract: "（县级）办结投诉举报，写明处理结果；查实的用 --upheld 标明（作为问题线索移交纪委监委）",
            positionals: [("编号", "投诉举报编号")],
            options: [.value("outcome", "结果", "处理结果", required: true), .flag("upheld", "经核查反映的问题属实（查实）：列入问题线索，ykt leads export 移交"),
                      .value("date", "日期", "办结日期，默认今天")],
            run: { inv in
                let id = try inv.number(positional: 0)
                try inv.county().closeComplaint(id, outcome: try inv.require("outcome"), on: try inv.countyDate(), upheld: inv.flag("upheld"))
                inv.out.line("投诉举报 \(id) 已办结" + (inv.flag("upheld") ? "（查实，列入待移交的问题线索）" : ""))
            }),
        CommandSpec(
            path: ["leads", "list"], abstract: "（县级）列出问题线索：核实属实的预警和查实的投诉举报（脱敏）；默认只列尚未移交的",
            options: [.flag("all", "也列出已移交的线索"), .value("from", "日期", "核实日期不早于"), .value("to", "日期", "核实日期不晚于"),
                      .flag("json", "以 JSON 输出（完整信息，记入审计）")],
            run: { inv in
                let (from, to) = try leadRange(inv)
                let list = try inv.county().problemLeads(pendingOnly: !inv.flag("all"), from: from, to: to)
                if inv.json { return try inv.disclose(list, object: "leads n=\(list.count)") }
                inv.out.table(["线索编号", "来源", "问题类别", "涉及人员", "身份证号", "核实人", "核实日期", "首次移交批次"], list.map {
                    [$0.number.map(String.init) ?? "（未移交）", $0.sourceChinese, $0.category, $0.names.joined(separator: "、"),
                     $0.residents.map(Masking.residentID).joined(separator: "、"), $0.decidedBy, $0.decidedOn, $0.firstExport.map(String.init) ?? ""]
                }, rightAligned: [0])
                inv.out.line("共 \(list.count) 条")
            }),
        CommandSpec(
            path: ["leads", "export"], abstract: "（县级）导出问题线索移交清单（移交纪委监委）：编号、CSV 和 A4 打印页，默认脱敏，只列新线索",
            discussion: "线索是核实属实的预警（ykt warnings close --confirm）和查实的投诉举报（ykt complaint close --upheld）。每条线索第一次导出时由县财政编上流水号（不重复使用）并记下移交批次，下一次只列新线索，--all 则全部列出（编号不变）。输出 CSV（UTF-8 带 BOM，供 Excel/WPS）和同名 .html（A4 打印，留移交人、接收人签字处）。默认脱敏（身份证号只留前 6 位和后 4 位，证据和处理结果中的长数字脱敏，不列举报人）；--full 输出完整身份证号和举报人，只有审计查询人可以导出，文件权限 0600。每次导出都记入审计日志：谁、何时、几条、脱敏还是完整。没有可导出的线索时不写文件。",
            options: [.value("out", "文件", "输出的 CSV 文件；A4 打印页写在同名 .html", required: true),
                      .flag("full", "完整版（含完整身份证号、举报人），仅审计查询人"), .flag("all", "也列出以前移交过的线索"),
                      .value("from", "日期", "核实日期不早于"), .value("to", "日期", "核实日期不晚于"),
                      .value("date", "日期", "移交日期，默认今天"), .flag("json", "以 JSON 输出结果")],
            run: { inv in
                let (from, to) = try leadRange(inv)
                let r = try inv.county().exportLeads(to: try inv.require("out"), full: inv.flag("full"), all: inv.flag("all"), from: from, to: to,
                                                     on: try inv.countyDate())
                if inv.json { return try inv.out.json(r) }
                guard let export = r.export else {
                    return inv.out.line(inv.flag("all") ? "没有问题线索，未写文件" : "没有新的问题线索（以前的已移交；要全部列出用 --all），未写文件")
                }
                inv.out.line("移交清单第 \(export) 批：\(r.listed) 条线索（新编号 \(r.newLeads) 条），\(r.full ? "完整版" : "脱敏版")")
                inv.out.paths((r.html ?? "", r.csv ?? ""))
            }),
        CommandSpec(
            path: ["report", "carriers"], abstract: "按乡镇和村（社区）统计发放载体：发放到社保卡、其他银行卡、存折的人数",
            discussion: "「清册」部分：列入未被退回的清册的对象（--period、--program 限定期次和项目），每人计一次，按其最近一行清册的账户类型和村（社区）；"
                + "「底册」部分：底册中未移除的对象按现用指定账户的类型（县财政节点只按乡镇，县里不记对象的村）。"
                + "社保卡是社会保障卡金融账户；升级到本版以前登记、当时填「社保卡」的账户仍记作银行卡，用 ykt account change 重新登记账户类型后才计入社保卡。"
                + "在乡镇节点上只列本乡镇各村。只有人数，不含个人信息。",
            options: [.value("period", "期次", "只统计这一期次的清册，例如 2026 或 2026-11"), .value("program", "项目", "只统计这个项目的清册"),
                      .value("out", "文件", "另存为 CSV（UTF-8 带 BOM，供 Excel/WPS）"), .flag("json", "以 JSON 输出")],
            run: { inv in
                let period = try inv.optional("period") { s throws(YKTError) in try Period(parsing: s) }
                let program = inv.string("program")
                let report = inv.isCounty ? try inv.county().carrierReport(period: period, program: program)
                                          : try inv.node().carrierReport(period: period, program: program)
                if let out = inv.string("out") {
                    try FileOutput.writeAtomically(report.csv, to: out)
                    inv.out.message("CSV：\(out)")
                }
                if inv.json { return try inv.out.json(report) }
                let scope = [period.map { $0.chinese }, program].compactMap { $0 }.joined(separator: " ")
                inv.out.line("列入清册的对象" + (scope.isEmpty ? "（全部期次、全部项目）" : "（\(scope)）") + "：")
                let numeric: Set<Int> = [2, 3, 4, 5, 6]
                inv.out.table(CarrierReport.columns, (report.rosters + [CarrierReport.total(report.rosters)]).map(CarrierReport.cells),
                              rightAligned: numeric)
                inv.out.line("底册（现用指定账户）：")
                inv.out.table(CarrierReport.columns, (report.register + [CarrierReport.total(report.register)]).map(CarrierReport.cells),
                              rightAligned: numeric)
            }),
        CommandSpec(
            path: ["report", "monthly"], abstract: "（县级）按项目和乡镇打印某月发放情况月报（HTML 和 CSV），含当月移交纪委监委的问题线索条数和限时办理情况（各环节按时、超时办结和月末逾期件数）",
            options: [.value("month", "月份", "例如 2026-11", required: true), .value("out", "目录", "输出目录", required: true),
                      .value("date", "日期", "落款日期，默认今天")],
            run: { inv in
                let month = try inv.parse("month") { s throws(YKTError) in try Period(parsing: s) }
                inv.out.paths(try inv.county().printMonthlyReport(month: month, into: try inv.require("out"), printedOn: try inv.countyDate()))
            }),
        CommandSpec(
            path: ["reconcile"], abstract: "（县级）与代发银行对账：按月或按年，逐笔核对银行对账单",
            discussion: "对账单格式见 docs/bank-files.md。输出各项目笔数和金额、每一处差异（缺少、多出、金额不符、退回未记）；无差异时写明账实相符。有差异时退出码为 1。",
            options: [.value("statement", "文件", "银行对账单", required: true), .value("month", "月份", "对账月份，例如 2026-11"),
                      .value("year", "年度", "对账年度，例如 2026"), .value("out", "目录", "报告输出目录（HTML 和 CSV）"),
                      .flag("json", "以 JSON 输出")],
            run: { inv in
                let (from, to) = try reconcileRange(inv)
                let county = try inv.county()
                let r = try county.reconcile(statementPath: try inv.require("statement"), from: from, to: to)
                if let out = inv.string("out") {
                    let p = try county.printReconciliation(r, into: out, printedOn: try inv.today())
                    inv.out.message("报告：\(p.html)\n      \(p.csv)")
                }
                if inv.json { try inv.out.json(r) } else {
                    inv.out.table(["项目", "县财政笔数", "县财政金额（元）", "银行笔数", "银行金额（元）"], r.programs.map {
                        [$0.program, String($0.countyCount), Fen($0.countyFen).yuanGrouped, String($0.bankCount), Fen($0.bankFen).yuanGrouped]
                    }, rightAligned: [1, 2, 3, 4])
                    for d in r.differences {
                        inv.out.line("差异：支付 \(d.lineID)（\(d.program)）\(d.kindChinese)；县里 \(d.countyFen.map { Fen($0).yuan } ?? "—")，银行 \(d.bankFen.map { Fen($0).yuan } ?? "—")")
                    }
                    inv.out.line(r.clean ? "对账结果：\(r.bank) \(r.from) 至 \(r.to) 账实相符，无差异" : "对账结果：有 \(r.differences.count) 处差异")
                }
                if !r.clean {
                    throw YKTError(.bankLine, "对账有 \(r.differences.count) 处差异", hint: "与代发银行逐笔核实")
                }
            }),
        CommandSpec(
            path: ["warnings", "run"], abstract: "（县级）运行全部预警规则（一人多卡、一卡多人、重复发放、超标准、已故、公职人员亲属、身份证号无效、社保卡过渡期仍发放到其他账户）",
            options: [.flag("full", "全量核查：重读全部历史清册和名册（默认只核查上次运行以来新到或有变化的清册、人员和账户）"),
                      .flag("json", "以 JSON 输出")],
            run: { inv in
                let r = try inv.county().runWarnings(full: inv.flag("full"))
                if inv.json { return try inv.out.json(r) }
                inv.out.line(r.mode == "full" ? "全量核查：全部清册和名册"
                             : "增量核查：上次运行以来新到或有变化的清册 \(r.rosters) 份，涉及 \(r.residents) 人、\(r.accounts) 个账户")
                for rule in WarningRule.allCases { inv.out.line("\(rule.chinese)：\(r.found[rule.rawValue] ?? 0) 条") }
                inv.out.line("共 \(r.total) 条线索，新增 \(r.new) 条" + (r.reopened > 0 ? "，重新打开 \(r.reopened) 条（证据有变化）" : ""))
            }),
        CommandSpec(
            path: ["warnings", "list"], abstract: "（县级）列出预警",
            options: [.value("status", "状态", "open、confirmed 或 dismissed"), .value("rule", "规则", "只列这条规则"), .flag("json", "以 JSON 输出")],
            run: { inv in
                let rule = try inv.optional("rule") { s throws(YKTError) -> WarningRule in
                    guard let r = WarningRule(rawValue: s) else {
                        throw YKTError(.usageValue, "规则「\(s)」不认识", hint: "可用：" + WarningRule.allCases.map(\.rawValue).joined(separator: "、"))
                    }
                    return r
                }
                let list = try inv.county().warnings(status: inv.string("status"), rule: rule)
                if inv.json { return try inv.disclose(list, object: "warnings n=\(list.count)") }
                inv.out.table(["编号", "规则", "涉及", "状态", "证据"], list.map {
                    [String($0.id), $0.rule.chinese, $0.residents.map(Masking.residentID).joined(separator: "、"), $0.statusChinese,
                     String(CountyNode.maskedEvidence($0.evidence).prefix(80))]
                }, rightAligned: [0])
            }),
        CommandSpec(
            path: ["warnings", "show"], abstract: "（县级）查看一条预警及其证据（脱敏；--json 为完整信息并记入审计）",
            positionals: [("编号", "预警编号")], options: [.flag("json", "以 JSON 输出（完整信息）")],
            run: { inv in
                let w = try inv.county().warning(try inv.number(positional: 0))
                if inv.json { return try inv.disclose(w, object: "warning#\(w.id)") }
                inv.out.fields([("编号", String(w.id)), ("规则", w.rule.chinese + "（\(w.rule.rawValue)）"),
                                ("涉及", w.residents.map(Masking.residentID).joined(separator: "、")), ("状态", w.statusChinese),
                                ("发现", w.foundAt), ("最近一次", w.lastSeen), ("证据", CountyNode.maskedEvidence(w.evidence)),
                                ("处理", w.closedBy.map { "\($0)：\(w.closeReason ?? "")" } ?? "—")])
            }),
        CommandSpec(
            path: ["warnings", "close"], abstract: "（县级）处理预警：核实属实（--confirm，继续阻止审定）或排除（--dismiss），写明核实情况",
            positionals: [("编号", "预警编号")],
            options: [.flag("confirm", "核实属实"), .flag("dismiss", "排除"), .value("reason", "情况", "核实情况", required: true)],
            run: { inv in
                guard inv.flag("confirm") != inv.flag("dismiss") else { throw YKTError(.usage, "须给出 --confirm 或 --dismiss 之一") }
                let id = try inv.number(positional: 0)
                try inv.county().closeWarning(id, confirmed: inv.flag("confirm"), reason: try inv.require("reason"))
                inv.out.line("预警 \(id) 已处理")
            }),
        listImport(["deceased", "import"], "（县级）导入民政部门的死亡人员名单（身份证号,姓名,死亡日期,来源），整批导入或整批不导入",
                   done: "已导入死亡人员") { county, path, encoding in try county.importDeceased(path: path, encoding: encoding) },
        listImport(["officials", "import"], "（县级）导入公职人员及亲属名单（身份证号,姓名,工作单位,关系），整批导入或整批不导入",
                   done: "已导入公职人员及亲属") { county, path, encoding in try county.importOfficials(path: path, encoding: encoding) },
        CommandSpec(
            path: ["summary"], abstract: "（县级）发放全程汇总：对象、清册明细、已发放、失败、补发、未发放、待补发的退回资金",
            discussion: "「发放失败」是银行报告失败的笔数（含已补发的）；「退回资金」只计银行退回、尚未补发出去的金额（失败行还没有补发批次），失败行全部补发后不再显示；--json 的 returnedTotalFen 为历次退回的总额（对账用）。",
            options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let s = try inv.county().loopSummary()
                if inv.json { return try inv.out.json(s) }
                var fields = [("补贴对象", "\(s.residents) 人"), ("清册明细", "\(s.rosterLines) 行"),
                              ("已审定", "\(s.approvedLines) 行 \(Fen(s.approvedFen).yuanGrouped) 元"),
                              ("已发放", "\(s.paidLines) 行 \(Fen(s.paidFen).yuanGrouped) 元"),
                              ("发放失败", "\(s.failedPayments) 笔" + (s.failedPayments > 0 && s.failedOpen == 0 ? "（均已补发）" : s.failedOpen > 0 ? "（\(s.failedOpen) 笔待补发）" : "")),
                              ("补发", "\(s.reissued) 笔"), ("未发放", "\(s.outstanding) 行")]
                if s.returnedFen > 0 { fields.append(("退回资金（待补发）", Fen(s.returnedFen).yuanGrouped + " 元")) }
                inv.out.fields(fields)
            }),
    ]

    /// The agency agreement options of `bank add` and `bank edit`.
    static let agreementOptions: [OptionSpec] = [
        .value("agreement", "编号", "代发协议编号"), .value("agreement-start", "日期", "代发协议开始日（YYYY-MM-DD）"),
        .value("agreement-end", "日期", "代发协议结束日；期限不超过 3 年"),
        .value("fees", "条款", "费用条款，例如 免费 或 \"每笔 0.50 元，由财政支付\""),
    ]

    /// The agreement given with `--agreement`: all four options, or none of them.
    static func agreementTerms(_ inv: Invocation) throws -> CountyNode.AgreementTerms? {
        let names = ["agreement", "agreement-start", "agreement-end", "fees"]
        guard names.contains(where: { inv.string($0) != nil }) else { return nil }
        for n in names where (inv.string(n) ?? "").trimmed.isEmpty {
            throw YKTError(.usage, "登记代发协议须同时给出 --agreement、--agreement-start、--agreement-end 和 --fees，缺少 --\(n)",
                           at: SourceLocation(field: "--\(n)"),
                           hint: "例如 --agreement LZ-2025-007 --agreement-start 2025-01-01 --agreement-end 2027-12-31 --fees 免费")
        }
        let start = try inv.parse("agreement-start") { s throws(YKTError) in try CivilDate(parsing: s) }
        let end = try inv.parse("agreement-end") { s throws(YKTError) in try CivilDate(parsing: s) }
        return CountyNode.AgreementTerms(number: try inv.require("agreement"), start: start, end: end, fees: try inv.require("fees"))
    }

    /// A command importing a list from another department into the county.
    static func listImport(_ path: [String], _ abstract: String, done: String,
                           _ load: @escaping @Sendable (CountyNode, String, TextEncoding) throws -> Int) -> CommandSpec {
        CommandSpec(
            path: path, abstract: abstract,
            positionals: [("文件", "CSV 文件")], options: [.value("encoding", "编码", "auto（默认）、utf-8 或 gb18030")],
            run: { inv in
                let enc = try inv.optional("encoding") { s throws(YKTError) in try TextEncoding(parsing: s) } ?? .auto
                inv.out.line("\(done) \(try load(try inv.county(), inv.positional(0), enc)) 人")
            })
    }

    /// `--from` / `--to` of the lead commands (either may be left out).
    static func leadRange(_ inv: Invocation) throws -> (CivilDate?, CivilDate?) {
        let from = try inv.optional("from") { s throws(YKTError) in try CivilDate(parsing: s) }
        let to = try inv.optional("to") { s throws(YKTError) in try CivilDate(parsing: s) }
        return (from, to)
    }

    static func reconcileRange(_ inv: Invocation) throws -> (CivilDate, CivilDate) {
        if inv.string("month") != nil {
            let p = try inv.parse("month") { s throws(YKTError) in try Period(parsing: s) }
            guard p.month != nil else { throw YKTError(.usageValue, "--month 应为 YYYY-MM", at: SourceLocation(field: "--month")) }
            return try CountyNode.reconciliationDates(p, field: "--month")
        }
        if inv.string("year") != nil {
            let p = try inv.parse("year") { s throws(YKTError) in try Period(parsing: s) }
            guard p.kind == .year else { throw YKTError(.usageValue, "--year 应为 YYYY", at: SourceLocation(field: "--year")) }
            return try CountyNode.reconciliationDates(p, field: "--year")
        }
        throw YKTError(.usage, "须给出 --month 或 --year", hint: "例如 --month 2026-11")
    }
}
