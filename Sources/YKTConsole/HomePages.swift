import Foundation
import YKTCore
import YKTNode
import YKTCounty
import YKTTownship
import YKTTransport

/// The home page is `ykt status`: what stands, and what waits with a link to where it is done.
/// The township's has a "sync now" button that runs a round and shows its progress.
enum HomePages {
    static let pages: [ConsolePage] = [
        ConsolePage("GET", "/", node: .township, command: "status", menu: ("工作台", "今日待办"), handler: township),
        ConsolePage("GET", "/", node: .county, command: "status", menu: ("工作台", "今日待办"), handler: county),
        ConsolePage("POST", "/sync", node: .township, command: "status", handler: startSync),
        ConsolePage("GET", "/sync", node: .township, command: "status", handler: syncProgress),
    ]

    /// An item that waits: what, and a link to the page where it is done.
    static func item(_ text: String, _ path: String? = nil, _ label: String = "去办理") -> HTML {
        guard let path else { return "<li>\(text)</li>" }
        return "<li>\(text) \(Markup.link(path, label))</li>"
    }

    static func list(_ standing: [HTML], _ waiting: [HTML]) -> HTML {
        var out: HTML = ""
        if !standing.isEmpty { out += "<ul class=\"standing\">\(standing)</ul>" }
        out += waiting.isEmpty ? Markup.box("ok", "没有待办事项。")
            : "<h2>待办（\(waiting.count) 项）</h2><ol class=\"waiting-list\">\(waiting)</ol>"
        return out
    }

    /// 限时办理: one standing line with the counts, and one to-do item per step due or overdue
    /// (the same figures as `ykt status`), each linked to where the step is done.
    static func stepItems(_ steps: [TimedStep], withinLimit: Int, county: Bool) -> (standing: HTML?, waiting: [HTML]) {
        let overdue = steps.filter { $0.clock.state == .overdue }.count
        let standing: HTML? = overdue + steps.count + withinLimit == 0 ? nil
            : "<li id=\"time-limits\">限时办理（乡镇审核、部门审核、财政审批，按工作日）：逾期 \(overdue) 项、即将到期 \(steps.count - overdue) 项、时限内 \(withinLimit) 项</li>"
        var waiting: [HTML] = steps.prefix(20).map { t in
            let c = t.clock
            let what = (county ? "\(t.townshipName)（\(t.township)）" : "") + "\(t.programName)（\(t.program)）\(t.period) \(t.subject)"
            let head = "\(c.step.chinese)\(c.state == .overdue ? "逾期" : "即将到期")"
            let text = "\(what) 自 \(c.start) 起算、时限 \(c.limit) 个工作日，\(c.summary)"
            let path: String
            switch (c.step, county, t.roster) {
            case (.townshipReview, true, _): path = "/townships"
            case (.departmentReview, true, let id?): path = "/rosters/\(id)"
            case (.financeApproval, true, _): path = "/approval"
            case (_, false, let id?): path = "/rosters/\(id)"
            default: path = "/rosters"
            }
            let label = county || c.step == .townshipReview ? "去办理" : "查看"
            let mark: HTML = c.state == .overdue ? "<span class=\"bad\">\(head)</span>" : "\(head)"
            return "<li class=\"time-limit \(c.state.rawValue)\">\(mark)：\(text) \(Markup.link(path, label))</li>"
        }
        if steps.count > 20 { waiting.append(item("另有 \(steps.count - 20) 项限时办理事项即将到期或逾期（ykt status --json 查看全部）")) }
        return (standing, waiting)
    }

    static func outcome(_ r: TownshipNode.PushReport) -> String {
        "推送操作 \(r.operations) 条（采纳 \(r.accepted)、退回 \(r.rejected)、冲突 \(r.conflicted)），收到县财政消息 \(r.pulled) 条"
    }

    @Sendable static func township(_ c: ConsoleContext) throws -> WebResponse {
        let s = try c.township.status(today: c.today)
        var standing: [HTML] = ["<li>今天：\(s.today)</li>"]
        var waiting: [HTML] = []
        if let at = s.sync.lastSuccessAt {
            standing.append("<li>上次同步成功：\(Markup.when(at))，\(s.sync.lastOutcome.map(outcome) ?? "")</li>")
        } else if !s.countyConfigured {
            waiting.append(item("尚未与县财政同步过：node.conf 还没有填 county_address 等同步配置，请按 ykt init 列出的步骤填好"))
        } else {
            waiting.append(item("尚未与县财政同步过，请点「立即同步」"))
        }
        if s.sync.failing, let at = s.sync.lastFailureAt {
            waiting.append(item("最近一次同步失败：\(Markup.when(at)) [\(s.sync.lastFailureCode ?? "")] \(s.sync.lastFailureMessage ?? "")（本节点的工作已保存在本地，处理后再同步）"))
        }
        if s.outboxWaiting > 0 { waiting.append(item("待同步：\(s.outboxWaiting) 条操作尚未经县财政签收", "/outbox", "查看")) }
        if s.operationsRejected > 0 { waiting.append(item("县财政退回的操作 \(s.operationsRejected) 条，请查看理由，改正后重新办理", "/outbox", "查看")) }
        if s.operationsConflicted > 0 { waiting.append(item("与县里记录冲突的操作 \(s.operationsConflicted) 条，由县财政处理，决定随同步送达", "/inbox", "查看")) }
        for r in s.rostersReturned {
            waiting.append(item("清册 \(r.roster)（\(r.program) \(r.period)）被县里退回（\(Markup.when(r.at))）：\(r.reason)", "/rosters/\(r.roster)"))
        }
        for id in s.draftRosters { waiting.append(item("清册 \(id) 尚未报送，核对后由乡镇领导报送", "/rosters/\(id)")) }
        for d in s.decisionsToAct {
            waiting.append(item("县财政冲突处理决定（冲突 \(d.conflict)，\(d.person)）：保留另一乡镇的登记，本乡镇底册仍有此人", "/inbox"))
        }
        for n in s.closableNotices {
            let text = n.openObjections > 0
                ? "\(n.named)已满 5 个工作日，但还有 \(n.openObjections) 条异议未处理"
                : "\(n.named)已满 5 个工作日，今天可以结束"
            waiting.append(item(text, "/notices/\(n.notice)"))
        }
        if !s.failedPayments.isEmpty {
            let total = s.failedPayments.reduce(Int64(0)) { $0 + $1.amountFen }
            waiting.append(item("发放失败待更正：\(s.failedPayments.count) 笔 \(Markup.yuan(total)) 元", "/payments"))
        }
        let steps = stepItems(s.timeLimits, withinLimit: s.stepsWithinLimit, county: false)
        waiting += steps.waiting
        if let line = steps.standing { standing.append(line) }
        if s.inboxMessages > 0 { standing.append("<li>已收到县财政消息 \(s.inboxMessages) 条 \(Markup.link("/inbox", "查看"))</li>") }
        for n in s.openNotices {
            standing.append("<li>\(n.named)公示中，\(n.earliestClose) 起可以结束 \(Markup.link("/notices/\(n.notice)", "查看"))</li>")
        }
        let sync = s.countyConfigured ? c.form("/sync", "", submit: "立即同步", className: "form inline") : ""
        return c.page("\(s.name)今日待办", list(standing, waiting) + sync)
    }

    static let syncJob = "sync"

    @Sendable static func startSync(_ c: ConsoleContext) throws -> WebResponse {
        c.server.startNodeJob(syncJob, as: nil, TownshipNode.self) { node, job in
            let sync = try TownshipSync(node: node)
            job.say("正在连接县财政 \(sync.host):\(sync.port) …")
            let report = try sync.round { p in job.say("已发送变更集 \(p.changeSets) 个、操作 \(p.operations) 条、\(p.bytesSent / 1024) KB") }
            job.say("同步完成：" + outcome(report))
            for g in report.groups.prefix(20) { job.say("  \(g.status == "rejected" ? "退回" : "冲突") \(g.count) 条 [\(g.rule)] \(g.reason)") }
        }
        return .redirect("/sync")
    }

    @Sendable static func syncProgress(_ c: ConsoleContext) throws -> WebResponse {
        guard let job = c.server.job(syncJob) else {
            return c.page("同步", "<p>本次开机以来还没有从工作台发起同步。</p>" + c.form("/sync", "", submit: "立即同步"))
        }
        let body = Markup.progress(job, running: "同步进行中", done: "同步完成。")
        return c.page("同步", body + "<p>\(Markup.link("/", "回到今日待办"))</p>")
    }

    @Sendable static func county(_ c: ConsoleContext) throws -> WebResponse {
        let s = try c.county.status(today: c.today)
        var standing: [HTML] = ["<li>今天：\(s.today)</li>"]
        var waiting: [HTML] = []
        if s.townships.isEmpty { waiting.append(item("还没有登记乡镇（ykt township enrol）")) }
        for t in s.townships {
            let last = t.lastSyncAt.map { "最近同步 \(Markup.when($0))" } ?? "尚未同步"
            standing.append("<li>\(t.name)（\(t.code)）\(t.disabled ? "【已停用】" : "")：\(last)\(t.waitingDown > 0 ? "，待取下行消息 \(t.waitingDown) 条" : "")</li>")
            if let r = t.refusals.first {
                waiting.append(item("\(t.name)（\(t.code)）的变更集被拒收 \(t.refusals.count) 次，最近 \(Markup.when(r.at)) [\(r.code)] \(r.message)", "/townships", "查看"))
            }
        }
        if s.rostersToReview > 0 { waiting.append(item("待审核清册 \(s.rostersToReview) 张", "/review")) }
        if s.rostersToApprove > 0 { waiting.append(item("待审定清册 \(s.rostersToApprove) 张", "/approval")) }
        if s.rostersToDispatch > 0 { waiting.append(item("已审定待发放的清册 \(s.rostersToDispatch) 张", "/batches")) }
        if !s.batchesToDispatch.isEmpty {
            waiting.append(item("批次 \(s.batchesToDispatch.map(String.init).joined(separator: "、")) 的指令文件尚未放入银行目录", "/batches"))
        }
        for w in s.bankFilesWaiting { waiting.append(item("代发银行 \(w.bank) 的回盘目录有 \(w.files) 个结果文件未读取", "/bank")) }
        for d in s.deadlines {
            let b = d.batch
            waiting.append(item(d.state == "overdue"
                ? "批次 \(b.id)（\(b.bank)）银行应于 \(b.reportDue ?? "") 前报告结果，已逾期 \(-d.workingDaysLeft) 个工作日"
                : "批次 \(b.id)（\(b.bank)）银行应于 \(b.payDue ?? "") 前入账、\(b.reportDue ?? "") 前报告结果", "/batches", "查看"))
        }
        let steps = stepItems(s.timeLimits, withinLimit: s.stepsWithinLimit, county: true)
        waiting += steps.waiting
        if let line = steps.standing { standing.append(line) }
        let f = s.failedPayments
        if f.toCorrect > 0 { waiting.append(item("发放失败待乡镇更正：\(f.toCorrect) 笔 \(Markup.yuan(f.toCorrectFen)) 元", "/reissue", "查看")) }
        if f.toReissue > 0 { waiting.append(item("乡镇已更正、待补发：\(f.toReissue) 笔 \(Markup.yuan(f.toReissueFen)) 元", "/reissue")) }
        if s.openWarnings > 0 { waiting.append(item("未处理的预警 \(s.openWarnings) 条", "/warnings")) }
        if s.openConflicts > 0 { waiting.append(item("未处理的冲突 \(s.openConflicts) 条", "/conflicts")) }
        if s.openComplaints > 0 { waiting.append(item("未办结的投诉 \(s.openComplaints) 件", "/complaints")) }
        return c.page("\(s.name)今日待办", list(standing, waiting))
    }
}
