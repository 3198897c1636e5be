import Foundation
import YKTCore
import YKTNode
import YKTCounty

/// The warnings (预警): the list by status and rule, one warning with its evidence (masked), the
/// rules run over the whole county as a background job (`ykt warnings run`), and a reviewer's
/// signed decision on one (`ykt warnings close`).
enum WarningPages {
    static let pages: [ConsolePage] = [
        ConsolePage("GET", "/warnings", node: .county, command: "warnings list", menu: ("监督", "预警"), handler: list),
        ConsolePage("POST", "/warnings/run", node: .county, command: "warnings run", handler: startRun),
        ConsolePage("GET", "/warnings/run", node: .county, command: "warnings run", handler: runProgress),
        ConsolePage("GET", "/warnings/:id", node: .county, command: "warnings show", handler: show),
        ConsolePage("POST", "/warnings/:id/close", node: .county, command: "warnings close", handler: close),
    ]

    static let statuses = [("open", "待核实"), ("confirmed", "已核实属实"), ("dismissed", "已排除")]

    /// A `<select>` with its label; the first option is "any" (`anyValue`, empty by default).
    static func select(_ name: String, _ label: String, _ options: [(String, String)], selected: String?, any: String = "全部",
                       anyValue: String = "") -> HTML {
        var out: HTML = "<label>\(label)<select name=\"\(name)\"><option value=\"\(anyValue)\">\(any)</option>"
        for (value, text) in options {
            out += value == selected ? "<option value=\"\(value)\" selected>\(text)</option>" : "<option value=\"\(value)\">\(text)</option>"
        }
        return out + "</select></label>"
    }

    static func rule(_ c: ConsoleContext) throws -> WarningRule? {
        guard let text = c.value("rule") else { return nil }
        guard let r = WarningRule(rawValue: text) else {
            throw YKTError(.usageValue, "规则「\(text)」不认识", at: SourceLocation(field: "规则"),
                           hint: "可用：" + WarningRule.allCases.map(\.rawValue).joined(separator: "、"))
        }
        return r
    }

    static func status(_ c: ConsoleContext) throws -> String? {
        guard let s = c.value("status") else { return nil }
        guard statuses.contains(where: { $0.0 == s }) else {
            throw YKTError(.usageValue, "状态「\(s)」不认识", at: SourceLocation(field: "状态"), hint: "open、confirmed 或 dismissed")
        }
        return s
    }

    @Sendable static func list(_ c: ConsoleContext) throws -> WebResponse {
        let county = c.county
        let status = try status(c), rule = try rule(c)
        var body: HTML = ""
        // Counts by rule and status: the warning table is read once, grouped.
        let summary = try county.warningSummary()
        if !summary.isEmpty {
            var rows: [[HTML]] = []
            for r in WarningRule.allCases {
                let mine = summary.filter { $0.rule == r }
                guard !mine.isEmpty else { continue }
                func n(_ s: String) -> HTML {
                    let count = mine.first { $0.status == s }?.count ?? 0
                    return count == 0 ? "0" : Markup.link("/warnings", String(count), query: [("rule", r.rawValue), ("status", s)])
                }
                rows.append(["\(r.chinese)", n("open"), n("confirmed"), n("dismissed")])
            }
            body += Markup.table(["规则", "待核实", "已核实属实", "已排除"], rows, numeric: [1, 2, 3], caption: "按规则和状态")
        }
        if c.can("warnings run") {
            let running = c.server.job(runJob).map { !$0.isFinished } ?? false
            body += running ? Markup.box("warn", "预警规则正在运行。\(Markup.link("/warnings/run", "查看进度"))")
                : c.form("/warnings/run", "<p class=\"muted\">对全县底册和清册运行全部预警规则（一人多卡、一卡多人、重复发放、超标准、已故、公职人员亲属、身份证号无效），在后台进行。</p>",
                         submit: "运行预警规则", id: "warnings-run")
        }
        let rules = WarningRule.allCases.map { ($0.rawValue, $0.chinese) }
        body += """
            <form method="get" action="/warnings" class="form" id="warnings-filter">\(select("status", "状态", statuses, selected: status))\
            \(select("rule", "规则", rules, selected: rule?.rawValue))<button type="submit">筛选</button></form>
            """
        let total = try county.warningCount(status: status, rule: rule)
        let page = c.pager(total: total)
        let rows = try county.warnings(status: status, rule: rule, limit: page.limit, offset: page.offset).map { w -> [HTML] in
            [Markup.link("/warnings/\(w.id)", String(w.id)), "\(w.rule.chinese)",
             "\(w.residents.prefix(3).map(Masking.residentID).joined(separator: "、"))\(w.residents.count > 3 ? "等 \(w.residents.count) 人" : "")",
             "\(w.statusChinese)", "\(String(CountyNode.maskedEvidence(w.evidence).prefix(80)))", "\(Markup.when(w.lastSeen))"]
        }
        body += "<div id=\"warnings-list\">" + Markup.table(["编号", "规则", "涉及", "状态", "证据（脱敏）", "最近一次发现"], rows, numeric: [0],
                                                           empty: total == 0 && status == nil && rule == nil ? "还没有预警（运行预警规则后才有）" : "没有符合条件的预警")
            + "</div>" + page.links
        return c.page("预警", body)
    }

    @Sendable static func show(_ c: ConsoleContext) throws -> WebResponse {
        let id = try c.id()
        let w: CountyNode.Warning
        do { w = try c.county.warning(id) } catch let e as YKTError where e.code == .warningUnknown { throw ConsoleServer.NotFound() }
        var body = Markup.fields([
            ("编号", "\(w.id)"), ("规则", "\(w.rule.chinese)（\(w.rule.rawValue)）"),
            ("涉及", "\(w.residents.map(Masking.residentID).joined(separator: "、"))"), ("状态", "\(w.statusChinese)"),
            ("发现", "\(Markup.when(w.foundAt))"), ("最近一次", "\(Markup.when(w.lastSeen))"),
            ("处理", "\(w.closedBy.map { "\($0)：\(w.closeReason ?? "")" } ?? "—")"),
        ])
        body += "<h2>证据（身份证号、账号已脱敏）</h2><pre class=\"evidence\" id=\"warning-evidence\">\(pretty(CountyNode.maskedEvidence(w.evidence)))</pre>"
        if w.status == "open" && c.can("warnings close") {
            let fields: HTML = """
                <fieldset class="choice"><legend>核实结果</legend>\
                <label><input type="radio" name="outcome" value="dismiss" required> 排除（线索不属实）</label>\
                <label><input type="radio" name="outcome" value="confirm"> 核实属实（继续阻止审定此人的清册行）</label></fieldset>\
                <label>核实情况<textarea name="reason" required></textarea></label>
                """
            body += "<h2>处理这条预警</h2>" + c.form("/warnings/\(w.id)/close", fields, submit: "处理预警", signed: true, id: "warning-close")
        }
        body += "<p>\(Markup.link("/warnings", "返回预警列表"))</p>"
        return c.page("预警 \(w.id)", body)
    }

    /// Evidence JSON one key a line, for reading (the text stays what the library masked).
    static func pretty(_ json: String) -> String {
        guard let v = try? JSONValue.parse(Array(json.utf8)), case .object(let o) = v else { return json }
        return o.keys.sorted().map { key in "\(key)：\(o[key]!.canonical)" }.joined(separator: "\n")
    }

    @Sendable static func close(_ c: ConsoleContext) throws -> WebResponse {
        let id = try c.id()
        let outcome = try c.require("outcome", "核实结果")
        guard outcome == "confirm" || outcome == "dismiss" else {
            throw YKTError(.usageValue, "核实结果应为「排除」或「核实属实」", at: SourceLocation(field: "核实结果"))
        }
        let reason = try c.require("reason", "核实情况")
        try c.unlock()
        try c.county.closeWarning(id, confirmed: outcome == "confirm", reason: reason)
        return c.redirect("/warnings/\(id)", notice: "预警 \(id) 已处理（\(outcome == "confirm" ? "核实属实" : "已排除")）")
    }

    static let runJob = "warnings-run"

    /// `ykt warnings run` over the whole county takes seconds on a million residents: it runs on
    /// a thread of its own, as the operator who started it, and the page shows its progress.
    @Sendable static func startRun(_ c: ConsoleContext) throws -> WebResponse {
        c.server.startNodeJob(runJob, as: c.token, CountyNode.self) { node, job in
            job.say("\(node.operatorName) 开始运行预警规则 …")
            let started = Date()
            let r = try node.runWarnings()
            for rule in WarningRule.allCases { job.say("\(rule.chinese)：\(r.found[rule.rawValue] ?? 0) 条") }
            job.say("共 \(r.total) 条线索，新增 \(r.new) 条" + (r.reopened > 0 ? "，重新打开 \(r.reopened) 条（证据有变化）" : "")
                    + String(format: "，用时 %.1f 秒", Date().timeIntervalSince(started)))
        }
        return .redirect("/warnings/run")
    }

    @Sendable static func runProgress(_ c: ConsoleContext) throws -> WebResponse {
        guard let job = c.server.job(runJob) else {
            return c.page("运行预警规则", "<p>本次开机以来还没有从工作台运行过预警规则。</p>"
                          + c.form("/warnings/run", "", submit: "运行预警规则", id: "warnings-run"))
        }
        let body = Markup.progress(job, running: "预警规则运行中", done: "预警规则已运行完毕。")
        return c.page("运行预警规则", body + "<p>\(Markup.link("/warnings", "查看预警", query: [("status", "open")]))</p>")
    }
}
