import Foundation
import YKTCore
import YKTNode
import YKTCounty
import YKTTownship

/// `ykt status`: one screen with the last sync and everything that waits, each line saying
/// what to do next. The figures come from the node libraries (`TownshipNode.status`,
/// `CountyNode.status`); this file only words them.
enum StatusCommands {
    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["status"], abstract: "本节点今天的工作状态：上次同步、待同步、被退回、待办消息、可结束的公示、到期事项、待更正的发放失败",
            discussion: "乡镇：上次与县财政同步成功的时间和结果（最近一次失败也列出）、尚未报送的操作、县财政退回或记为冲突的操作、被退回待改正的清册、待报送的清册、须本乡镇办理的冲突处理决定、今天可以结束的公示（满 5 个工作日，按县财政工作日历）、待更正的发放失败、即将到期或逾期的乡镇审核（公示结束或县里退回后至报送清册）以及县里已告知的本乡镇清册的部门审核和财政审批。县级：各乡镇最近收到的变更集和结果、最近一次下行同步、待取的下行消息、被拒收的变更集；待审核、待审定、待发放的清册；待发出的批次；银行回盘到期或逾期的批次；待乡镇更正和待补发的发放失败；没有有效代发协议或协议 60 天内到期（未登记续签）的代发银行；未处理的预警、冲突和投诉；限时办理：各乡镇、各项目即将到期（今天或下一个工作日到期）或逾期的乡镇审核、部门审核、财政审批，写明起算日、时限、到期日和逾期的工作日数（时限由政策清单按项目规定，默认 10、10、5 个工作日，见 docs/conventions.md「限时办理」）。每一项后面写明下一步用哪条命令。没有待办时写明。定时同步中没有内容的一轮不写审计日志，上次同步时间记在节点数据库中。",
            options: [.flag("json", "以 JSON 输出（供脚本使用）")],
            run: { inv in
                if inv.isCounty {
                    let s = try inv.county().status()
                    if inv.json { return try inv.out.json(s) }
                    countyLines(s).forEach { inv.out.line($0) }
                } else {
                    let s = try inv.node().status()
                    if inv.json { return try inv.out.json(s) }
                    townshipLines(s).forEach { inv.out.line($0) }
                }
            }),
    ]

    static func yuan(_ fen: Int64) -> String { Fen(fen).yuanGrouped + " 元" }

    /// `2026-10-13T08:00:02+08:00` (China time, as stored) → `2026-10-13 08:00:02`.
    static func when(_ timestamp: String) -> String {
        guard timestamp.count >= 19, timestamp.hasSuffix("+08:00") else { return timestamp }
        return timestamp.prefix(19).replacingOccurrences(of: "T", with: " ")
    }

    static func outcome(_ r: TownshipNode.PushReport) -> String {
        "推送操作 \(r.operations) 条（采纳 \(r.accepted)、退回 \(r.rejected)、冲突 \(r.conflicted)），收到县财政消息 \(r.pulled) 条"
    }

    /// The township's status in lines: what stands, then what waits, each with its next step.
    static func townshipLines(_ s: TownshipNode.Status) -> [String] {
        var lines = ["\(s.name)（\(s.node)）工作状态，\(s.today)"]
        var waiting: [String] = []
        if let at = s.sync.lastSuccessAt {
            lines.append("上次同步成功：\(when(at))，" + (s.sync.lastOutcome.map(outcome) ?? ""))
        } else if !s.countyConfigured {
            waiting.append("尚未与县财政同步过：node.conf 还没有填 county_address 等同步配置 → 按 ykt init 列出的步骤填好后运行 ykt sync")
        } else {
            waiting.append("尚未与县财政同步过 → 运行 ykt sync")
        }
        if s.sync.failing, let at = s.sync.lastFailureAt {
            waiting.append("最近一次同步失败：\(when(at)) [\(s.sync.lastFailureCode ?? "")] \(s.sync.lastFailureMessage ?? "") → 按 docs/errors.md 中该代码的说明处理后再运行 ykt sync（本节点的工作已保存在本地）")
        }
        if s.outboxWaiting > 0 {
            waiting.append("待同步：\(s.outboxWaiting) 条操作尚未经县财政签收 → 运行 ykt sync（或等定时同步）")
        }
        if s.operationsRejected > 0 {
            waiting.append("县财政退回的操作：\(s.operationsRejected) 条 → ykt outbox list 查看理由，改正后重新办理")
        }
        if s.operationsConflicted > 0 {
            waiting.append("与县里记录冲突的操作：\(s.operationsConflicted) 条 → 由县财政处理，决定随同步送达（ykt inbox list）")
        }
        for r in s.rostersReturned {
            waiting.append("清册 \(r.roster)（\(r.program) \(r.period)）被县里退回（\(when(r.at))）：\(r.reason) → 按理由改正后由乡镇领导 ykt roster submit \(r.roster)")
        }
        if !s.draftRosters.isEmpty {
            let ids = s.draftRosters.map(String.init).joined(separator: "、")
            waiting.append("清册 \(ids) 尚未报送 → 核对后由乡镇领导 ykt roster submit 编号")
        }
        if s.decisionsToAct.count > 3 {
            let ids = s.decisionsToAct.prefix(5).map { String($0.conflict) }.joined(separator: "、")
            waiting.append("县财政冲突处理决定 \(s.decisionsToAct.count) 条（冲突 \(ids)…）保留另一乡镇的登记，本乡镇底册仍有这些人 → ykt inbox list --waiting 核实后 ykt beneficiary remove --conflict all")
        } else {
            for d in s.decisionsToAct {
                waiting.append("县财政冲突处理决定（冲突 \(d.conflict)，\(d.person)）：保留另一乡镇的登记（\(d.decision)），本乡镇底册仍有此人 → 核实后 ykt beneficiary remove --conflict \(d.conflict)")
            }
        }
        for n in s.closableNotices {
            if n.openObjections > 0 {
                waiting.append("\(n.named)已满 5 个工作日，但还有 \(n.openObjections) 条异议未处理 → 先 ykt objection settle 编号 --reason 理由，再 ykt notice close \(n.notice)")
            } else {
                waiting.append("\(n.named)已满 5 个工作日，今天可以结束 → ykt notice close \(n.notice)")
            }
        }
        if !s.failedPayments.isEmpty {
            let total = s.failedPayments.reduce(Int64(0)) { $0 + $1.amountFen }
            waiting.append("发放失败待更正：\(s.failedPayments.count) 笔 \(yuan(total)) → ykt payment list 查看原因，ykt payment correct 支付编号 改正账户")
        }
        waiting += stepLines(s.timeLimits, county: false)
        if s.inboxMessages > 0 { lines.append("已收到县财政消息 \(s.inboxMessages) 条（ykt inbox list）") }
        if let line = stepSummary(s.timeLimits, withinLimit: s.stepsWithinLimit) { lines.append(line) }
        for n in s.openNotices {
            lines.append("\(n.named)公示中，\(n.earliestClose) 起可以结束")
        }
        lines += waiting.isEmpty ? ["没有待办事项。"] : ["待办（\(waiting.count) 项）："] + waiting.map { "  - " + $0 }
        return lines
    }

    /// At most this many time-limit lines in the to-do list; the rest are counted in one line.
    static let stepLinesShown = 20

    /// `限时办理：逾期 2 项、即将到期 1 项、时限内 5 项` (nil when nothing runs).
    static func stepSummary(_ steps: [TimedStep], withinLimit: Int) -> String? {
        let overdue = steps.filter { $0.clock.state == .overdue }.count
        guard overdue + steps.count + withinLimit > 0 else { return nil }
        return "限时办理（乡镇审核、部门审核、财政审批，按工作日）：逾期 \(overdue) 项、即将到期 \(steps.count - overdue) 项、时限内 \(withinLimit) 项"
    }

    /// One to-do line per step due or overdue: which step of what, its due date, and who acts.
    static func stepLines(_ steps: [TimedStep], county: Bool) -> [String] {
        var out = steps.prefix(stepLinesShown).map { t -> String in
            let c = t.clock
            let what = (county ? "\(t.townshipName)（\(t.township)）" : "") + "\(t.programName)（\(t.program)）\(t.period) \(t.subject)"
            let head = c.state == .overdue ? "\(c.step.chinese)逾期" : "\(c.step.chinese)即将到期"
            let next: String
            switch (c.step, county, t.roster) {
            case (.townshipReview, true, _): next = "催乡镇审核后报送清册"
            case (.townshipReview, false, nil): next = "ykt roster build --program \(t.program) --period \(t.period)，核对后由乡镇领导 ykt roster submit 编号"
            case (.townshipReview, false, let id?): next = "核对后由乡镇领导 ykt roster submit \(id)"
            case (.departmentReview, true, let id?): next = "业务主管部门 ykt roster review \(id) --approve 或 --reject"
            case (.financeApproval, true, let id?): next = "财政 ykt roster approve --rosters \(id)"
            case (.departmentReview, _, _): next = "业务主管部门审核中，可联系县里催办"
            case (.financeApproval, _, _): next = "县财政审批中，可联系县里催办"
            }
            return "\(head)：\(what) 自 \(c.start) 起算、时限 \(c.limit) 个工作日，\(c.summary) → \(next)"
        }
        if steps.count > stepLinesShown {
            out.append("另有 \(steps.count - stepLinesShown) 项限时办理事项即将到期或逾期 → ykt status --json 查看全部")
        }
        return out
    }

    /// The county's status in lines.
    static func countyLines(_ s: CountyNode.Status) -> [String] {
        var lines = ["\(s.name)（\(s.node)）工作状态，\(s.today)"]
        var waiting: [String] = []
        if s.townships.isEmpty {
            waiting.append("还没有登记乡镇 → ykt township enrol --township 代码 --name 名称 --public-key 公钥")
        }
        for t in s.townships {
            var parts: [String] = []
            if let seq = t.lastChangeSet, let at = t.lastChangeSetAt {
                parts.append("最近收到第 \(seq) 号变更集 \(when(at))（采纳 \(t.lastAccepted)、退回 \(t.lastRejected)、冲突 \(t.lastConflicted)）")
            } else {
                parts.append("尚未收到变更集")
            }
            parts.append(t.lastPullAt.map { "最近下行同步 \(when($0))，已确认到第 \(t.acknowledged) 条" } ?? "尚未下行同步")
            if t.waitingDown > 0 { parts.append("待取下行消息 \(t.waitingDown) 条") }
            lines.append("\(t.name)（\(t.code)）\(t.disabled ? "【已停用】" : "")：" + parts.joined(separator: "；"))
            if let r = t.refusals.first {
                waiting.append("\(t.name)（\(t.code)）的变更集被拒收 \(t.refusals.count) 次，最近 \(when(r.at)) [\(r.code)] \(r.message) → 按 docs/errors.md 中该代码的说明联系乡镇处理")
            }
        }
        if s.rostersToReview > 0 { waiting.append("待审核清册 \(s.rostersToReview) 张 → 业务主管部门 ykt roster list 查看，ykt roster review 编号 --approve 或 --reject") }
        if s.rostersToApprove > 0 { waiting.append("待审定清册 \(s.rostersToApprove) 张 → 财政 ykt roster approve --rosters 编号") }
        if s.rostersToDispatch > 0 { waiting.append("已审定待发放的清册 \(s.rostersToDispatch) 张 → ykt batch dispatch") }
        if !s.batchesToDispatch.isEmpty {
            waiting.append("批次 \(s.batchesToDispatch.map(String.init).joined(separator: "、")) 的指令文件尚未放入银行目录 → ykt batch dispatch")
        }
        for w in s.bankFilesWaiting {
            waiting.append("代发银行 \(w.bank) 的回盘目录有 \(w.files) 个结果文件未读取 → ykt bank receive --bank \(w.bank)")
        }
        for a in s.bankAgreements {
            let edit = "ykt bank edit --code \(a.bank) --agreement 协议编号 --agreement-start 开始日 --agreement-end 结束日 --fees 费用条款"
            if let through = a.coveredThrough, let days = a.daysLeft {
                let number = a.inForce.map { "代发协议 \($0.terms.number)" } ?? "代发协议"
                waiting.append("代发银行 \(a.bank)（\(a.bankName)）的\(number)于 \(through) 到期，还有 \(days) 天，尚未登记续签的协议 → 按程序续签（不超过 3 年），由管理员 \(edit)")
            } else {
                let why = a.lastEnded.map { "代发协议 \($0.terms.number) 已于 \($0.terms.end) 到期" } ?? a.nextStarting.map { "代发协议 \($0.terms.number) 自 \($0.terms.start) 起才生效" } ?? "没有登记代发协议"
                waiting.append("代发银行 \(a.bank)（\(a.bankName)）今天没有有效的代发协议（\(why)），不能向其发送支付批次 → 签订协议后由管理员 \(edit)")
            }
        }
        for d in s.deadlines {
            let b = d.batch
            if d.state == "overdue" {
                waiting.append("批次 \(b.id)（\(b.bank)）银行应于 \(b.reportDue ?? "") 前报告结果，已逾期 \(-d.workingDaysLeft) 个工作日 → 催银行回盘，收到后 ykt bank receive")
            } else {
                waiting.append("批次 \(b.id)（\(b.bank)）银行应于 \(b.payDue ?? "") 前入账、\(b.reportDue ?? "") 前报告结果 → 收到回盘文件后 ykt bank receive")
            }
        }
        waiting += stepLines(s.timeLimits, county: true)
        if let line = stepSummary(s.timeLimits, withinLimit: s.stepsWithinLimit) { lines.append(line) }
        let f = s.failedPayments
        if f.toCorrect > 0 { waiting.append("发放失败待乡镇更正：\(f.toCorrect) 笔 \(yuan(f.toCorrectFen)) → ykt payment list 查看，通知乡镇 ykt payment correct") }
        if f.toReissue > 0 { waiting.append("乡镇已更正、待补发：\(f.toReissue) 笔 \(yuan(f.toReissueFen)) → ykt batch reissue") }
        if s.openWarnings > 0 { waiting.append("未处理的预警 \(s.openWarnings) 条 → ykt warnings list，核实后 ykt warnings close") }
        if s.openConflicts > 0 { waiting.append("未处理的冲突 \(s.openConflicts) 条 → ykt conflicts list，ykt conflicts resolve") }
        if s.openComplaints > 0 { waiting.append("未办结的投诉 \(s.openComplaints) 件 → ykt complaint list，ykt complaint close") }
        lines += waiting.isEmpty ? ["没有待办事项。"] : ["待办（\(waiting.count) 项）："] + waiting.map { "  - " + $0 }
        return lines
    }
}
