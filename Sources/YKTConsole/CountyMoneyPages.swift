import Foundation
import YKTCore
import YKTNode
import YKTCounty

/// The county's money pages: the review queue per program and a roster with its lines, warnings
/// and budget (`roster show`, `roster review`); finance approval and budgets (`roster approve`,
/// `budget list/set`); batches with their deadlines and dispatch (`batch list --due`, `batch
/// dispatch`); the banks' result files (`bank receive`); re-issues (`batch reissue`); payments
/// (`payment list`). Each calls the CountyNode function its command calls.
enum CountyMoneyPages {
    static let pages: [ConsolePage] = [
        ConsolePage("GET", "/review", node: .county, command: "roster review", menu: ("审核审定", "清册审核"), handler: reviewQueue),
        ConsolePage("GET", "/rosters/:id", node: .county, command: "roster show", handler: roster),
        ConsolePage("POST", "/rosters/:id/review", node: .county, command: "roster review", handler: review),
        ConsolePage("GET", "/approval", node: .county, command: "roster approve", menu: ("审核审定", "财政审定"), handler: approval),
        ConsolePage("POST", "/approval", node: .county, command: "roster approve", handler: approve),
        ConsolePage("GET", "/budgets", node: .county, command: "budget list", menu: ("审核审定", "预算"), handler: budgets),
        ConsolePage("POST", "/budgets", node: .county, command: "budget set", handler: setBudget),
        ConsolePage("GET", "/batches", node: .county, command: "batch list", menu: ("发放", "支付批次"), handler: batches),
        ConsolePage("POST", "/batches/dispatch", node: .county, command: "batch dispatch", handler: dispatch),
        ConsolePage("GET", "/bank", node: .county, command: "bank list", menu: ("发放", "银行回盘"), handler: bank),
        ConsolePage("POST", "/bank/receive", node: .county, command: "bank receive", handler: receive),
        ConsolePage("GET", "/reissue", node: .county, command: "payment list", menu: ("发放", "失败补发"), handler: reissueList),
        ConsolePage("POST", "/reissue", node: .county, command: "batch reissue", handler: reissue),
        ConsolePage("GET", "/payments", node: .county, command: "payment list", menu: ("发放", "支付明细"), handler: payments),
    ]

    // MARK: Shared pieces

    static func money(_ fen: Int64) -> HTML { "\(Markup.yuan(fen))" }

    /// The programs this operator reviews (`*`: all).
    static func reviewPrograms(_ c: ConsoleContext) -> Set<String> {
        Set(c.session.grants.filter { $0.role == .reviewer }.map(\.program))
    }

    static func reviews(_ c: ConsoleContext, _ program: String) -> Bool {
        let mine = reviewPrograms(c)
        return mine.contains("*") || mine.contains(program)
    }

    static func programNames(_ c: ConsoleContext) throws -> [String: String] {
        Dictionary(try c.county.programs().map { ($0.program.code, $0.program.name) }, uniquingKeysWith: { a, _ in a })
    }

    static func programLabel(_ code: String, _ names: [String: String]) -> String {
        names[code].map { "\(code) \($0)" } ?? code
    }

    static func budget(_ c: ConsoleContext, program: String, period: String) throws -> CountyNode.BudgetUse? {
        try c.county.budgets().first { $0.program == program && $0.period == period }
    }

    static func paymentState(_ s: String) -> String {
        ["pending": "待发放", "dispatched": "发放中", "paid": "已发放", "failed": "发放失败"][s] ?? s
    }

    /// The pager line, saying "more than" when a search's count was capped.
    static func pagerNote(_ capped: Bool) -> HTML {
        capped ? "<p class=\"muted\">符合条件的超过 \(CountyNode.countCap) 条，只列出前 \(CountyNode.countCap) 条；请缩小查找范围。</p>" : ""
    }

    /// Rosters as a table: number (link), township, program, period, version, lines, amount,
    /// state, received; `extra` adds columns.
    static func rosterRows(_ list: [CountyNode.CountyRoster], _ names: [String: String]) -> [[HTML]] {
        list.map { r in
            [Markup.link("/rosters/\(r.id)", String(r.id)), "\(r.node)", "\(programLabel(r.program, names))", "\(r.period)",
             "\(r.version)", "\(r.lineCount)", money(r.totalFen), "\(r.statusChinese)", "\(Markup.when(r.receivedAt))"]
        }
    }

    // MARK: Review

    @Sendable static func reviewQueue(_ c: ConsoleContext) throws -> WebResponse {
        let names = try programNames(c)
        let mine = reviewPrograms(c)
        let waiting = try c.county.rosters(status: "received").filter { mine.contains("*") || mine.contains($0.program) }
        let chosen = c.value("program")
        var body: HTML = "<p>已接收、等待业务主管部门审核的清册（只列本人负责审核的项目：\(mine.contains("*") ? "全部项目" : mine.sorted().joined(separator: "、"))）。点编号查看明细、预警和预算后审核。</p>"
        let programs = Array(Set(waiting.map(\.program))).sorted()
        var options: HTML = "<option value=\"\">全部项目</option>"
        for p in programs {
            options += p == chosen ? "<option value=\"\(p)\" selected>\(programLabel(p, names))</option>" : "<option value=\"\(p)\">\(programLabel(p, names))</option>"
        }
        body += "<form method=\"get\" action=\"/review\" id=\"review-filter\" class=\"form\"><label>项目<select name=\"program\">\(options)</select></label><button type=\"submit\">筛选</button></form>"
        let shown = waiting.filter { chosen == nil || $0.program == chosen }
        if shown.isEmpty { return c.page("清册审核", body + Markup.box("ok", "没有等待审核的清册。")) }
        let pager = c.pager(total: shown.count)
        let pageRows = Array(shown.dropFirst(pager.offset).prefix(pager.limit))
        let budgets = try c.county.budgets()
        let clocks = try stepClocks(c, .departmentReview)
        for program in Array(Set(pageRows.map(\.program))).sorted() {
            let rows = pageRows.filter { $0.program == program }
            body += "<h2>\(programLabel(program, names))（\(rows.count) 张）</h2>"
            body += "<div class=\"review-queue\" id=\"review-\(program)\">" + Markup.table(
                ["编号", "乡镇", "项目", "期次", "版本", "人数", "金额（元）", "状态", "接收时间", "预算余额（元）", "审核时限"],
                zip(rosterRows(rows, names), rows).map { cells, r in
                    let b = budgets.first { $0.program == r.program && $0.period == r.period }
                    return cells + [b.map { money($0.remainingFen) } ?? "未设预算", stepCell(clocks[r.id])]
                }, numeric: [0, 4, 5, 6, 9]) + "</div>"
        }
        return c.page("清册审核", body + pager.links)
    }

    @Sendable static func roster(_ c: ConsoleContext) throws -> WebResponse {
        let id = try c.id()
        let county = c.county
        let r: CountyNode.CountyRoster
        do { r = try county.roster(id) } catch let e as YKTError where e.code == .rosterUnknown { throw ConsoleServer.NotFound() }
        let names = try programNames(c)
        var body = Markup.fields([
            ("清册编号", "\(r.id)"), ("乡镇", "\(r.node)"), ("清册", "\(r.entity)（第 \(r.version) 版）"),
            ("项目", "\(programLabel(r.program, names))"), ("期次", "\(r.period)"), ("人数", "\(r.lineCount)"),
            ("金额合计", money(r.totalFen) + " 元"), ("状态", "\(r.statusChinese)"), ("接收时间", "\(Markup.when(r.receivedAt))"),
            ("审核", r.reviewedBy.map { "\($0)" + ((r.reviewReason ?? "").isEmpty ? "" : "：\(r.reviewReason!)") }.map { "\($0)" } ?? "—"),
            ("审定", "\(r.approvedBy ?? "—")"),
        ])
        // 限时办理: the roster's steps against its program's limits.
        body += "<h2>限时办理</h2>" + stepTable(try county.timedSteps(asOf: c.today, roster: id))
        // The budget left for the program and period (budget list).
        body += "<h2>预算</h2>"
        if let b = try budget(c, program: r.program, period: r.period) {
            let after = r.status == "approved" ? b.remainingFen : b.remainingFen - r.totalFen
            let kind = after < 0 ? "error" : "ok"
            body += Markup.box(kind, "项目 \(r.program) \(r.period) 期预算 \(Markup.yuan(b.budgetFen)) 元，已审定 \(Markup.yuan(b.approvedFen)) 元，余额 \(Markup.yuan(b.remainingFen)) 元" +
                               (r.status == "approved" ? "（本清册已计入）" : "；本清册 \(Markup.yuan(r.totalFen)) 元审定后余额 \(Markup.yuan(after)) 元") +
                               (after < 0 ? "，超出预算，审定会被拒绝" : ""))
        } else {
            body += Markup.box("warn", "项目 \(r.program) \(r.period) 期还没有预算；审定前须由财政审定人设置预算（\(c.can("budget set") ? Markup.link("/budgets", "设置预算") : "预算")）。")
        }
        // Its warnings, with their evidence masked (warnings list/show).
        let warnings = try county.rosterWarnings(id)
        body += "<h2>预警（\(warnings.total) 条，未处理 \(warnings.open) 条）</h2>"
        if warnings.total > warnings.shown.count {
            body += "<p class=\"muted\">下表列出前 \(warnings.shown.count) 条（未处理的在前），其余在 \(Markup.link("/warnings", "预警")) 页查看。</p>"
        }
        body += "<div id=\"roster-warnings\">" + Markup.table(["预警", "规则", "状态", "涉及的行", "证据（脱敏）", "处理"], warnings.shown.map { w in
            let lines = w.lines.prefix(20).map(String.init).joined(separator: "、") + (w.lines.count > 20 ? " 等 \(w.lines.count) 行" : "")
            let state: HTML = w.warning.status == "dismissed" ? "\(w.warning.statusChinese)" : "<span class=\"bad\">\(w.warning.statusChinese)</span>"
            return [Markup.link("/warnings/\(w.warning.id)", String(w.warning.id)), "\(w.warning.rule.chinese)", state, "\(lines)",
                    "\(String(CountyNode.maskedEvidence(w.warning.evidence).prefix(200)))",
                    "\(w.warning.closedBy.map { "\($0)：\(w.warning.closeReason ?? "")" } ?? "—")"]
        }, numeric: [0], empty: "没有涉及本清册的预警。") + "</div>"
        // The decision, for the reviewer of this program.
        if r.status == "received", c.can("roster review"), reviews(c, r.program) {
            body += "<h2>审核</h2>"
            let fields: HTML = """
                <input type="hidden" name="back" value="/rosters/\(r.id)">
                <fieldset class="choice"><legend>审核意见</legend>
                <label><input type="radio" name="decision" value="approve" id="decision-approve" required> 审核通过（送财政审定）</label>
                <label><input type="radio" name="decision" value="reject" id="decision-reject"> 退回乡镇</label></fieldset>
                <label>理由（退回时必填）<textarea name="reason" rows="2" cols="40"></textarea></label>
                """
            body += c.form("/rosters/\(r.id)/review", fields, submit: "提交审核意见", signed: true).replacingFormID("roster-review")
        } else if r.status == "received", c.can("roster review") {
            body += Markup.box("warn", "本清册的项目 \(r.program) 不在您负责审核的项目中。")
        } else if r.status == "reviewed", c.can("roster approve") {
            body += "<p>\(Markup.link("/approval", "去财政审定"))</p>"
        }
        // The lines, a page at a time, masked.
        let q = c.value("q")
        body += "<h2>清册明细</h2>"
        body += """
            <form method="get" action="/rosters/\(r.id)" id="roster-lines-search" class="form">
            <label>查找（身份证号、序号或姓名）<input type="search" name="q" value="\(q ?? "")"></label><button type="submit">查找</button></form>
            """
        let size = 50
        let current = max(1, Int(c.value("page") ?? "1") ?? 1)
        var page = try county.rosterLinesPage(id, search: q, offset: (current - 1) * size, limit: size)
        let pager = c.pager(total: page.total, size: size)
        if pager.offset != (current - 1) * size {   // a page past the end: the last one
            page = try county.rosterLinesPage(id, search: q, offset: pager.offset, limit: size)
        }
        body += "<div class=\"roster-lines\">" + Markup.table(["序号", "村（社区）", "姓名", "身份证号", "开户银行", "账号", "数量", "金额（元）", "发放"], page.items.map { l in
            ["\(l.lineNo)", "\(l.village)", "\(l.name)", "\(Masking.residentID(l.residentID))", "\(l.bank)",
             "\(Masking.account(l.accountNumber))", "\(l.quantity)", money(l.amountFen), "\(paymentState(l.payment))"]
        }, numeric: [0, 7], empty: q == nil ? "（没有明细）" : "没有符合「\(q!)」的行。") + "</div>"
        return c.page("清册 \(r.id)", body + pagerNote(page.capped) + pager.links)
    }

    @Sendable static func review(_ c: ConsoleContext) throws -> WebResponse {
        let id = try c.id()
        let decision = try c.require("decision", "审核意见")
        guard decision == "approve" || decision == "reject" else {
            throw YKTError(.usageValue, "「审核意见」应为审核通过或退回乡镇", at: SourceLocation(field: "审核意见"))
        }
        try c.unlock()
        try c.county.review(id, approve: decision == "approve", reason: c.value("reason") ?? "")
        return c.redirect("/review", notice: decision == "approve" ? "清册 \(id) 审核通过，待财政审定" : "清册 \(id) 已退回乡镇")
    }

    // MARK: Approval and budgets

    @Sendable static func approval(_ c: ConsoleContext) throws -> WebResponse {
        let county = c.county
        let names = try programNames(c)
        let waiting = try county.rosters(status: "reviewed")
        let budgets = try county.budgets()
        var body: HTML = "<p>业务主管部门已审核、等待财政审定的清册。勾选一张或几张，核对预算后审定；审定后按代发银行生成支付批次。审定人不能是该清册的审核人。</p>"
        if waiting.isEmpty { return c.page("财政审定", body + Markup.box("ok", "没有等待审定的清册。")) }
        // Totals against the budget, per program and period.
        var asked: [String: (program: String, period: String, fen: Int64, count: Int)] = [:]
        for r in waiting { asked["\(r.program)|\(r.period)", default: (r.program, r.period, 0, 0)].fen += r.totalFen; asked["\(r.program)|\(r.period)"]!.count += 1 }
        body += "<h2>预算对照</h2><div id=\"approval-budget\">" + Markup.table(["项目", "期次", "预算（元）", "已审定（元）", "待审定（元）", "全部审定后余额（元）"],
            asked.values.sorted { ($0.program, $0.period) < ($1.program, $1.period) }.map { a in
                let b = budgets.first { $0.program == a.program && $0.period == a.period }
                guard let b else { return ["\(programLabel(a.program, names))", "\(a.period)", "<span class=\"bad\">未设预算</span>", "", money(a.fen), ""] }
                let after = b.remainingFen - a.fen
                return ["\(programLabel(a.program, names))", "\(a.period)", money(b.budgetFen), money(b.approvedFen), money(a.fen),
                        after < 0 ? "<span class=\"bad\">\(Markup.yuan(after))</span>" : money(after)]
            }, numeric: [2, 3, 4, 5]) + "</div>"
        let pager = c.pager(total: waiting.count)
        let rows = Array(waiting.dropFirst(pager.offset).prefix(pager.limit))
        var table: [[HTML]] = []
        let clocks = try stepClocks(c, .financeApproval)
        for r in rows {
            let open = try county.rosterWarnings(r.id, limit: 0).open
            let box: HTML = "<input type=\"checkbox\" name=\"rosters\" value=\"\(r.id)\" id=\"roster-\(r.id)\" aria-label=\"审定清册 \(r.id)\">"
            table.append([box] + rosterRows([r], names)[0].prefix(7) + ["\(r.reviewedBy ?? "")", open > 0 ? "<span class=\"bad\">\(open)</span>" : "0",
                                                                      stepCell(clocks[r.id])])
        }
        var fields: HTML = "<div class=\"approval-list\">" + Markup.table(["选", "编号", "乡镇", "项目", "期次", "版本", "人数", "金额（元）", "审核人", "未处理预警", "审批时限"],
                                                                        table, numeric: [1, 5, 6, 7, 9]) + "</div>"
        fields += """
            <label>审定意见<input type="text" name="note" size="30"></label>
            <label>有未处理预警时强制审定的理由<input type="text" name="override" size="30"></label>
            <input type="hidden" name="back" value="/approval">
            """
        body += "<h2>待审定清册（\(waiting.count) 张）</h2>" + c.form("/approval", fields, submit: "审定所选清册", signed: true).replacingFormID("roster-approve")
        return c.page("财政审定", body + pager.links)
    }

    @Sendable static func approve(_ c: ConsoleContext) throws -> WebResponse {
        let text = c.value("rosters") ?? ""
        var ids: [Int64] = []
        for part in text.split(whereSeparator: { $0 == "\n" || $0 == "," }) {
            guard let n = Int64(part.trimmingCharacters(in: .whitespaces)), n > 0 else {
                throw YKTError(.usageValue, "清册编号「\(part)」不是整数", at: SourceLocation(field: "清册"))
            }
            ids.append(n)
        }
        guard !ids.isEmpty else {
            throw YKTError(.usage, "没有勾选要审定的清册", at: SourceLocation(field: "清册"), hint: "在列表中勾选一张或几张清册")
        }
        try c.unlock()
        let r = try c.county.approve(ids, note: c.value("note") ?? "", override: c.value("override"))
        return c.redirect("/batches", notice: "已审定清册 \(r.rosters.map(String.init).joined(separator: "、"))：\(r.lines) 笔，\(Markup.yuan(r.totalFen)) 元；" +
                          "生成支付批次 \(r.batches.map(String.init).joined(separator: "、"))" +
                          (r.overridden.isEmpty ? "" : "；强制通过预警 \(r.overridden.map(String.init).joined(separator: "、"))"))
    }

    @Sendable static func budgets(_ c: ConsoleContext) throws -> WebResponse {
        let names = try programNames(c)
        let q = c.value("q")
        let all = try c.county.budgets().filter { b in q.map { b.program.contains($0) || b.period.contains($0) || (names[b.program] ?? "").contains($0) } ?? true }
        var body: HTML = """
            <form method="get" action="/budgets" id="budget-search" class="form">
            <label>查找（项目编码、名称或期次）<input type="search" name="q" value="\(q ?? "")"></label><button type="submit">查找</button></form>
            """
        let pager = c.pager(total: all.count)
        body += "<div class=\"budgets\">" + Markup.table(["项目", "期次", "预算（元）", "已审定（元）", "余额（元）"], all.dropFirst(pager.offset).prefix(pager.limit).map { b in
            ["\(programLabel(b.program, names))", "\(b.period)", money(b.budgetFen), money(b.approvedFen),
             b.remainingFen < 0 ? "<span class=\"bad\">\(Markup.yuan(b.remainingFen))</span>" : money(b.remainingFen)]
        }, numeric: [2, 3, 4], empty: "还没有设置预算。") + "</div>" + pager.links
        if c.can("budget set") {
            var options: HTML = ""
            for (code, name) in names.sorted(by: { $0.key < $1.key }) { options += "<option value=\"\(code)\">\(code) \(name)</option>" }
            let fields: HTML = """
                <label>项目<select name="program" required>\(options)</select></label>
                <label>期次<input type="text" name="period" required placeholder="2026 或 2026-11" size="10"></label>
                <label>预算金额（元）<input type="text" name="yuan" required inputmode="decimal" size="14"></label>
                <input type="hidden" name="back" value="/budgets">
                """
            body += "<h2>设置预算</h2><p class=\"muted\">同一项目同一期次再次设置即为调整。</p>" + c.form("/budgets", fields, submit: "保存预算").replacingFormID("budget-set")
        }
        return c.page("预算", body)
    }

    @Sendable static func setBudget(_ c: ConsoleContext) throws -> WebResponse {
        let program = try c.require("program", "项目")
        let periodText = try c.require("period", "期次")
        let period: Period
        do { period = try Period(parsing: periodText) } catch { throw error.located(SourceLocation(field: "期次")) }
        let amount: Fen
        let yuan = try c.require("yuan", "预算金额（元）")
        do { amount = try Fen(yuan: yuan) } catch { throw error.located(SourceLocation(field: "预算金额（元）")) }
        try c.county.setBudget(program: program, period: period, amount: amount)
        return c.redirect("/budgets", notice: "项目 \(program) \(period) 期预算：\(amount.yuanGrouped) 元")
    }

    // MARK: Time limits

    /// A step's clock in a table cell, like a batch's deadline: overdue in red with the working
    /// days over, else the due date and the working days left (docs/conventions.md, "限时办理").
    static func stepCell(_ clock: StepClock?) -> HTML {
        guard let clock else { return "" }
        switch clock.state {
        case .overdue: return "<span class=\"bad\">逾期 \(clock.workingDaysOver) 个工作日（应于 \(clock.due.description) 前）</span>"
        case .due: return "即将到期（\(clock.due.description)，剩 \(clock.workingDaysLeft) 个工作日）"
        case .waiting: return "\(clock.due.description) 前（剩 \(clock.workingDaysLeft) 个工作日）"
        case .onTime, .late: return "\(clock.state.chinese)"
        }
    }

    /// A roster's steps as a table: step, start, limit, due date, the day done, and where it stands.
    static func stepTable(_ steps: [TimedStep]) -> HTML {
        "<div id=\"roster-time-limits\">" + Markup.table(["环节", "起算日", "时限（工作日）", "应办结日", "办结日", "情况"], steps.map { t in
            let c = t.clock
            let state: HTML = switch c.state {
            case .late: "<span class=\"bad\">超时 \(c.workingDaysOver) 个工作日</span>"
            case .onTime: "按时办结"
            default: stepCell(c)
            }
            return ["\(c.step.chinese)", "\(c.start.description)", "\(c.limit)", "\(c.due.description)", "\(c.finished?.description ?? "—")", state]
        }, numeric: [2], empty: "尚无计时的环节（涉密项目的首次报送不计乡镇审核时限）。") + "</div>"
    }

    /// The running clock of `step` for each roster, on `today`.
    static func stepClocks(_ c: ConsoleContext, _ step: ProcessingStep) throws -> [Int64: StepClock] {
        var out: [Int64: StepClock] = [:]
        for t in try c.county.timedSteps(asOf: c.today, openOnly: true) where t.clock.step == step {
            if let id = t.roster { out[id] = t.clock }
        }
        return out
    }

    // MARK: Batches

    static func batchState(_ b: CountyNode.Batch, _ due: CountyNode.BatchDeadline?) -> HTML {
        if let due {
            switch due.state {
            case "overdue": return "<span class=\"bad\">逾期未回盘（\(-due.workingDaysLeft) 个工作日）</span>"
            case "due": return "即将到期（剩 \(due.workingDaysLeft) 个工作日）"
            default: return "正常（剩 \(due.workingDaysLeft) 个工作日）"
            }
        }
        if b.status == "created" { return "待发送" }
        if b.status == "dispatched" && !b.filePlaced { return "<span class=\"bad\">已发送，指令文件未放入（再次写出即补写）</span>" }
        return "\(b.statusChinese)"
    }

    @Sendable static func batches(_ c: ConsoleContext) throws -> WebResponse {
        let county = c.county
        let all = try county.batches()
        let deadlines = Dictionary(try county.deadlines(on: c.today).map { ($0.batch.id, $0) }, uniquingKeysWith: { a, _ in a })
        let filter = c.value("state")
        let shown = all.reversed().filter { b in
            switch filter {
            case nil: return true
            case "overdue"?: return deadlines[b.id]?.state == "overdue"
            case "due"?: return deadlines[b.id].map { $0.state != "waiting" } ?? false
            case let s?: return b.status == s
            }
        }
        var body: HTML = ""
        let toSend = all.filter { $0.status == "created" || ($0.status == "dispatched" && !$0.filePlaced) }
        let overdue = deadlines.values.filter { $0.state == "overdue" }.count
        if overdue > 0 { body += Markup.box("error", "有 \(overdue) 个批次逾期未回盘，请催告代发银行。") }
        if !toSend.isEmpty {
            body += Markup.box("warn", "批次 \(toSend.map { String($0.id) }.joined(separator: "、")) 的支付指令文件尚未放入银行目录。")
            if c.can("batch dispatch") {
                body += c.form("/batches/dispatch", "<input type=\"hidden\" name=\"back\" value=\"/batches\"><p>今天 \(c.today.description) 发送：写出支付指令文件放入各代发银行的 outbox/，银行应在 3 个工作日内发放、其后 2 个工作日内回盘。</p>",
                               submit: "写出支付指令文件").replacingFormID("batch-dispatch")
            }
        }
        var options: HTML = ""
        for (value, label) in [("", "全部"), ("created", "待发送"), ("dispatched", "已发送待回盘"), ("due", "到期或逾期"), ("overdue", "逾期未回盘"), ("resulted", "已回盘")] {
            options += value == (filter ?? "") ? "<option value=\"\(value)\" selected>\(label)</option>" : "<option value=\"\(value)\">\(label)</option>"
        }
        body += "<form method=\"get\" action=\"/batches\" id=\"batch-filter\" class=\"form\"><label>状态<select name=\"state\">\(options)</select></label><button type=\"submit\">筛选</button></form>"
        let pager = c.pager(total: shown.count)
        body += "<div class=\"batches\">" + Markup.table(["批次", "代发银行", "类别", "笔数", "金额（元）", "状态", "发送日", "应发放日", "应回盘日", "期限", "回盘日", "指令文件"],
            shown.dropFirst(pager.offset).prefix(pager.limit).map { b in
                [Markup.link("/payments", String(b.id), query: [("batch", String(b.id))]), "\(b.bank)", "\(b.kind == "reissue" ? "补发" : "首发")",
                 "\(b.lineCount)", money(b.totalFen), "\(b.statusChinese)", "\(b.dispatchedOn ?? "")", "\(b.payDue ?? "")", "\(b.reportDue ?? "")",
                 batchState(b, deadlines[b.id]), "\(b.resultedOn ?? "")", "\(b.file ?? "")"]
            }, numeric: [0, 3, 4], empty: "没有支付批次。") + "</div>"
        return c.page("支付批次", body + pager.links)
    }

    @Sendable static func dispatch(_ c: ConsoleContext) throws -> WebResponse {
        let report = try c.county.dispatchReport(on: c.today)
        var said: [String] = []
        for b in report.completed {
            said.append("批次 \(b.id) → \(b.bank)：上次发送中断，已补写文件 \(b.file ?? "")（序号 \(b.fileSeq.map(String.init) ?? "")，内容与发送时相同）")
        }
        for b in report.dispatched {
            said.append("批次 \(b.id) → \(b.bank)：\(b.lineCount) 笔 \(Markup.yuan(b.totalFen)) 元，文件 \(b.file ?? "")（序号 \(b.fileSeq.map(String.init) ?? "")），应于 \(b.payDue ?? "") 前发放、\(b.reportDue ?? "") 前回盘")
        }
        return c.redirect("/batches", notice: said.isEmpty ? "没有待发送的批次" : "已写出支付指令文件：" + said.joined(separator: "；"))
    }

    // MARK: Bank results

    @Sendable static func bank(_ c: ConsoleContext) throws -> WebResponse {
        let county = c.county
        let inboxes = try county.resultInboxes()
        var body: HTML = "<p>代发银行把结果文件放入各自交换目录的 inbox/；读取时整份核对无误才采用，否则整份拒收，原样移入 refused/ 并附问题报告。</p>"
        body += "<h2>等待读取的结果文件</h2><div id=\"bank-inboxes\">" + Markup.table(["代发银行", "名称", "inbox/ 中的结果文件", "不读取的项"], inboxes.map { i in
            let files: HTML = i.files.isEmpty ? "（无）" : HTML.join(i.files.map { "\($0)" }, "<br>")
            return ["\(i.bank.code)", "\(i.bank.name)", files, HTML.join(i.skipped.map { "<span class=\"bad\">\($0)</span>" }, "<br>")]
        }, empty: "还没有登记代发银行。") + "</div>"
        // The agency agreements (代发协议, seed 003): no batch goes to a bank without one in force.
        body += "<h2>代发协议</h2><div id=\"bank-agreements\">" + Markup.table(["代发银行", "名称", "协议编号", "期限", "费用条款", "今天"],
            try county.agreementCovers(on: c.today).map { a in
                let cls: HTML = a.state == "ok" ? "" : " class=\"bad\""
                let terms = a.inForce?.terms
                return ["\(a.bank)", "\(a.bankName)", "\(terms?.number ?? "—")", "\(terms.map { "\($0.start) 至 \($0.end)" } ?? "")",
                        "\(terms?.fees ?? "")", "<span\(cls)>\(a.stateChinese)</span>"]
            }, empty: "还没有登记代发银行。") + "</div>"
        let waiting = inboxes.reduce(0) { $0 + $1.files.count + $1.skipped.count }
        if c.can("bank receive") && waiting > 0 {
            var options: HTML = "<option value=\"\">全部代发银行</option>"
            for i in inboxes where !i.files.isEmpty || !i.skipped.isEmpty { options += "<option value=\"\(i.bank.code)\">\(i.bank.code) \(i.bank.name)</option>" }
            body += c.form("/bank/receive", "<label>代发银行<select name=\"bank\">\(options)</select></label><input type=\"hidden\" name=\"back\" value=\"/bank\">",
                           submit: "读取结果文件").replacingFormID("bank-receive")
        }
        let refused = try county.refusedResults()
        body += "<h2>拒收的结果文件（最近 \(refused.count) 份）</h2><div id=\"bank-refused\">" + Markup.table(["拒收时间", "代发银行", "文件", "问题数", "保存位置", "问题报告"], refused.map { r in
            ["\(Markup.when(r.refusedAt))", "\(r.bank)", "\(r.file)", "\(r.problems)", "\(r.keptAs)",
             "<pre class=\"report\">\(String((r.report ?? "（报告不能读取）").prefix(4000)))</pre>"]
        }, numeric: [3], empty: "没有拒收的结果文件。") + "</div>"
        let received = try county.receivedResults()
        body += "<h2>已采用的结果文件（最近 \(received.count) 份）</h2><div id=\"bank-received\">" + Markup.table(["批次", "代发银行", "文件", "回盘日", "失败的支付"], received.map { r in
            [Markup.link("/payments", String(r.batch), query: [("batch", String(r.batch))]), "\(r.bank)", "\(r.file)", "\(r.resultedOn)",
             Markup.link("/payments", "查看", query: [("batch", String(r.batch)), ("status", "failed")])]
        }, numeric: [0], empty: "还没有采用过结果文件。") + "</div>"
        return c.page("银行回盘", body)
    }

    @Sendable static func receive(_ c: ConsoleContext) throws -> WebResponse {
        let reports = try c.county.receiveResults(bank: c.value("bank"), today: c.today)
        var said: [String] = []
        for r in reports {
            if let skipped = r.skipped {
                said.append("跳过 \(r.bank)/\(r.file)：\(skipped)")
            } else if let refusal = r.refusal {
                said.append("拒收 \(r.bank)/\(r.file)：\(refusal.split(separator: "\n").first.map(String.init) ?? refusal)（问题报告见下方「拒收的结果文件」）")
            } else if r.alreadyApplied {
                said.append("\(r.bank)/\(r.file)：批次 \(r.batch ?? 0) 的这份结果已采用过，未重复入账")
            } else {
                said.append("采用 \(r.bank)/\(r.file)：批次 \(r.batch ?? 0) 成功 \(r.paid) 笔 \(Markup.yuan(r.paidFen)) 元，失败 \(r.failed) 笔 \(Markup.yuan(r.failedFen)) 元（退回 \(Markup.yuan(r.returnedFen)) 元）")
            }
        }
        return c.redirect("/bank", notice: said.isEmpty ? "没有新的结果文件" : said.joined(separator: "；"))
    }

    // MARK: Re-issue

    @Sendable static func reissueList(_ c: ConsoleContext) throws -> WebResponse {
        let county = c.county
        let corrected = try county.failedPaymentsPage(corrected: true, offset: 0, limit: 1)
        let waiting = try county.failedPaymentsPage(corrected: false, offset: 0, limit: 1)
        let list = c.value("list") ?? (corrected.total > 0 ? "corrected" : "waiting")
        var body: HTML = "<p>银行报告发放失败的支付：先由乡镇更正（换指定账户或写明原因，同步到县里），再由支付经办员补发（每笔链接原失败支付）。</p>"
        body += "<nav class=\"tabs\" id=\"reissue-lists\">"
        body += Markup.link("/reissue", "乡镇已更正、待补发（\(corrected.total)\(corrected.capped ? "+" : "") 笔）", query: [("list", "corrected")],
                            className: list == "corrected" ? "current" : nil) + " | "
        body += Markup.link("/reissue", "待乡镇更正（\(waiting.total)\(waiting.capped ? "+" : "") 笔）", query: [("list", "waiting")],
                            className: list == "waiting" ? "current" : nil) + "</nav>"
        if list == "corrected", corrected.total > 0, c.can("batch reissue") {
            body += c.form("/reissue", "<input type=\"hidden\" name=\"back\" value=\"/reissue\"><p>把乡镇已更正的失败支付全部生成补发批次（每个代发银行一批），再到「支付批次」写出支付指令文件。</p>",
                           submit: "生成补发批次", signed: true).replacingFormID("batch-reissue")
        }
        let total = list == "corrected" ? corrected.total : waiting.total
        let pager = c.pager(total: total)
        let page = try county.failedPaymentsPage(corrected: list == "corrected", offset: pager.offset, limit: pager.limit)
        body += "<div class=\"reissue-\(list)\">" + Markup.table(
            ["支付", "批次", "清册", "行", "乡镇", "项目", "期次", "姓名", "身份证号", "原账号", "金额（元）", "失败原因", "回盘日"] + (list == "corrected" ? ["更正后开户行", "更正收到"] : []),
            page.items.map { f in
                let p = f.payment
                var row: [HTML] = ["\(p.id)", "\(p.batch)", Markup.link("/rosters/\(p.roster)", String(p.roster)), "\(p.line)", "\(p.node)", "\(p.program)",
                                   "\(p.period)", "\(p.name)", "\(Masking.residentID(p.residentID))", "\(Masking.account(p.accountNumber))",
                                   money(p.amountFen), "\(p.reason ?? "")", "\(p.resultOn ?? "")"]
                if list == "corrected" { row += ["\(f.correctedBank ?? "")", "\(Markup.when(f.correctedAt ?? ""))"] }
                return row
            }, numeric: [0, 1, 2, 3, 10], empty: list == "corrected" ? "没有待补发的支付。" : "没有待乡镇更正的失败支付。") + "</div>"
        return c.page("失败补发", body + pagerNote(page.capped) + pager.links)
    }

    @Sendable static func reissue(_ c: ConsoleContext) throws -> WebResponse {
        try c.unlock()
        let county = c.county
        let pending = try county.pendingReissues().count
        let batches = try county.reissue()
        return c.redirect(batches.isEmpty ? "/reissue" : "/batches",
                          notice: batches.isEmpty ? "没有待补发的支付" : "补发 \(pending) 笔，生成批次 \(batches.map(String.init).joined(separator: "、"))；请写出支付指令文件")
    }

    // MARK: Payments

    @Sendable static func payments(_ c: ConsoleContext) throws -> WebResponse {
        let status = c.value("status")
        if let status, !["dispatched", "paid", "failed"].contains(status) {
            throw YKTError(.usageValue, "「状态」只能是 发放中、已发放、发放失败 之一", at: SourceLocation(field: "状态"))
        }
        var batch: Int64?
        if let text = c.value("batch") {
            guard let n = Int64(text), n > 0 else { throw YKTError(.usageValue, "「批次」应为整数，现为「\(text)」", at: SourceLocation(field: "批次")) }
            batch = n
        }
        let q = c.value("q")
        var options: HTML = ""
        for (value, label) in [("", "全部"), ("dispatched", "发放中"), ("paid", "已发放"), ("failed", "发放失败")] {
            options += value == (status ?? "") ? "<option value=\"\(value)\" selected>\(label)</option>" : "<option value=\"\(value)\">\(label)</option>"
        }
        var body: HTML = """
            <form method="get" action="/payments" id="payment-search" class="form">
            <label>状态<select name="status">\(options)</select></label>
            <label>批次<input type="text" name="batch" value="\(batch.map(String.init) ?? "")" size="6" inputmode="numeric"></label>
            <label>查找（身份证号或支付编号）<input type="search" name="q" value="\(q ?? "")"></label>
            <button type="submit">查找</button></form>
            """
        let size = 50
        let current = max(1, Int(c.value("page") ?? "1") ?? 1)
        var page = try c.county.paymentsPage(status: status, batch: batch, search: q, offset: (current - 1) * size, limit: size)
        let pager = c.pager(total: page.total, size: size)
        if pager.offset != (current - 1) * size {
            page = try c.county.paymentsPage(status: status, batch: batch, search: q, offset: pager.offset, limit: size)
        }
        body += "<div class=\"payments\">" + Markup.table(["支付", "批次", "清册", "行", "乡镇", "项目", "期次", "姓名", "身份证号", "账号", "金额（元）", "状态", "原因", "补发自"],
            page.items.map { p in
                ["\(p.id)", "\(p.batch)", Markup.link("/rosters/\(p.roster)", String(p.roster)), "\(p.line)", "\(p.node)", "\(p.program)", "\(p.period)",
                 "\(p.name)", "\(Masking.residentID(p.residentID))", "\(Masking.account(p.accountNumber))", money(p.amountFen),
                 p.status == "failed" ? "<span class=\"bad\">\(p.statusChinese)</span>" : "\(p.statusChinese)", "\(p.reason ?? "")",
                 "\(p.reissueOf.map(String.init) ?? "")"]
            }, numeric: [0, 1, 2, 3, 10], empty: "没有符合条件的支付。") + "</div>"
        return c.page("支付明细", body + pagerNote(page.capped) + pager.links)
    }
}

extension HTML {
    /// This form with a stable `id` (for keyboard users' bookmarks and the Selenium drive):
    /// `c.form(...)` makes the form, this names it.
    func replacingFormID(_ id: String) -> HTML {
        guard text.hasPrefix("<form ") else { return self }
        return HTML(trusted: "<form id=\"\(HTML.escape(id))\" " + text.dropFirst("<form ".count))
    }
}
