import Foundation
import YKTCore
import YKTNode
import YKTCounty

/// The conflict log (`ykt conflicts list/show/resolve`): counts by kind and township, a filtered
/// and paged list, one conflict with both sides (masked) and the decisions valid for its kind,
/// and the administrator's signed decision on one conflict or on a whole filtered set.
enum ConflictPages {
    static let pages: [ConsolePage] = [
        ConsolePage("GET", "/conflicts", node: .county, command: "conflicts list", menu: ("监督", "冲突日志"), handler: list),
        ConsolePage("POST", "/conflicts/resolve", node: .county, command: "conflicts resolve", handler: resolveAll),
        ConsolePage("GET", "/conflicts/:id", node: .county, command: "conflicts show", handler: show),
        ConsolePage("POST", "/conflicts/:id/resolve", node: .county, command: "conflicts resolve", handler: resolveOne),
    ]

    /// The filter from the query or form (status, kind, township, from, to), with the fields'
    /// Chinese names in errors.
    static func filter(_ c: ConsoleContext) throws -> CountyNode.ConflictFilter {
        func date(_ name: String, _ label: String) throws -> CivilDate? { c.value(name) == nil ? nil : try c.date(name, label) }
        var status = c.value("status")
        // The list opens on what waits; "全部" is status=all.
        if status == nil && c.request.method == "GET" && c.request.query["status"] == nil { status = "open" }
        if status == "all" { status = nil }
        if let s = status, !["open", "resolved"].contains(s) {
            throw YKTError(.usageValue, "状态「\(s)」无效", at: SourceLocation(field: "状态"), hint: "open（待处理）或 resolved（已处理）")
        }
        return CountyNode.ConflictFilter(status: status, kind: c.value("kind"), township: c.value("township"),
                                         from: try date("from", "记录日期自"), to: try date("to", "记录日期至"))
    }

    static func query(_ f: CountyNode.ConflictFilter) -> [(String, String)] {
        [("status", f.status ?? "all"), ("kind", f.kind ?? ""), ("township", f.township ?? ""),
         ("from", f.from?.description ?? ""), ("to", f.to?.description ?? "")]
    }

    @Sendable static func list(_ c: ConsoleContext) throws -> WebResponse {
        let county = c.county
        let f = try filter(c)
        let kinds = CountyNode.decisionsByKind.map { ($0.kind, SyncWords.conflict($0.kind)) }
        let towns = try county.townships().map { ($0.code, "\($0.name)（\($0.code)）") }
        var body: HTML = """
            <form method="get" action="/conflicts" class="form" id="conflicts-filter">\
            \(WarningPages.select("status", "状态", [("open", "待处理"), ("resolved", "已处理")], selected: f.status, anyValue: "all"))\
            \(WarningPages.select("kind", "种类", kinds, selected: f.kind))\
            \(WarningPages.select("township", "乡镇", towns, selected: f.township))\
            <label>记录日期自<input type="date" name="from" value="\(f.from?.description ?? "")"></label>\
            <label>至<input type="date" name="to" value="\(f.to?.description ?? "")"></label>\
            <button type="submit">筛选</button></form>
            """
        // Counts by kind, township and status for the same filter (ykt conflicts list --summary).
        let summary = try county.conflictSummary(f)
        if !summary.isEmpty {
            let rows: [[HTML]] = summary.map { s in
                var q = query(f)
                q = q.filter { $0.0 != "kind" && $0.0 != "township" && $0.0 != "status" }
                    + [("kind", s.kind), ("township", s.township), ("status", s.status)]
                return ["\(s.kind)", "\(SyncWords.conflict(s.kind))", "\(s.township)", "\(SyncWords.conflictStatus(s.status))",
                        Markup.link("/conflicts", String(s.count), query: q)]
            }
            body += "<div id=\"conflicts-summary\">" + Markup.table(["种类", "说明", "乡镇", "状态", "条数"], rows, numeric: [4],
                                                                   caption: "按种类和乡镇汇总（合计 \(summary.reduce(0) { $0 + $1.count }) 条）") + "</div>"
        }
        let total = try county.conflictCount(f)
        let page = c.pager(total: total)
        var paged = f
        paged.limit = page.limit
        paged.offset = page.offset
        let shown = try county.conflicts(paged)
        let rows: [[HTML]] = shown.map { x in
            [Markup.link("/conflicts/\(x.id)", String(x.id)), "\(SyncWords.conflict(x.kind))", "\(x.node)", "\(x.otherNode ?? "")",
             "\(String(x.createdAt.prefix(10)))", "\(Masking.digits(in: x.detail))",
             "\(SyncWords.conflictStatus(x.status))\(x.decision.map { "：\($0)" } ?? "")"]
        }
        body += "<h2>冲突</h2><div id=\"conflicts-list\">" + Markup.table(["编号", "种类", "乡镇", "另一方", "记录日期", "说明", "状态"], rows, numeric: [0],
                                                                      empty: "没有符合条件的冲突") + "</div>" + page.links
        body += try bulkForm(c, f, total: total, shown: shown)
        return c.page("冲突日志", body)
    }

    /// The bulk decision over the filtered set: shown to an administrator when the filter names
    /// a set (never "every conflict") and the set has open conflicts; the decisions offered are
    /// those valid for every open conflict on the page (the library checks each one again).
    static func bulkForm(_ c: ConsoleContext, _ f: CountyNode.ConflictFilter, total: Int, shown: [CountyNode.Conflict]) throws -> HTML {
        guard c.can("conflicts resolve") else { return "" }
        guard f.narrows else {
            return "<p class=\"muted\">批量处理：先按种类、乡镇或日期筛选出一批冲突（不能一次处理全部冲突）。</p>"
        }
        var open = f
        open.status = "open"
        let openCount = try c.county.conflictCount(open)
        guard openCount > 0 else { return "" }
        let openShown = shown.filter { $0.status == "open" }
        var common: [CountyNode.ConflictDecision]? = nil
        for x in openShown {
            let valid = CountyNode.decisions(for: x)
            common = common.map { have in have.filter { d in valid.contains(d) } } ?? valid
        }
        var choice: HTML
        if let common, !common.isEmpty {
            choice = "<fieldset class=\"choice\"><legend>决定</legend>"
            for (i, d) in common.enumerated() {
                choice += "<label><input type=\"radio\" name=\"decision\" value=\"\(d.decision)\"\(i == 0 ? " checked" : "") required> \(d.decision)：\(d.meaning)</label>"
            }
            choice += "</fieldset>"
        } else {
            choice = "<label>决定<input name=\"decision\" required placeholder=\"如 void、county、keep-乡镇代码\"></label>"
        }
        var hidden: HTML = ""
        for (k, v) in [("kind", f.kind), ("township", f.township), ("from", f.from?.description), ("to", f.to?.description)] {
            if let v { hidden += "<input type=\"hidden\" name=\"\(k)\" value=\"\(v)\">" }
        }
        let fields: HTML = "\(hidden)<p>对符合上面筛选条件的全部 <strong>\(openCount)</strong> 条待处理冲突作同一个决定（同一事务，决定须适用于每一条，否则一条也不处理）。</p>\(choice)<label>理由<textarea name=\"reason\" required></textarea></label>"
        return "<h2>批量处理</h2>" + c.form("/conflicts/resolve", fields, submit: "处理这 \(openCount) 条冲突", signed: true, id: "conflicts-resolve")
    }

    @Sendable static func resolveAll(_ c: ConsoleContext) throws -> WebResponse {
        var f = try filter(c)
        f.status = nil
        // A set is named, never "every conflict" by a forgotten field (as on the command line).
        guard f.narrows else {
            throw YKTError(.usage, "批量处理须按种类、乡镇或日期指明哪些冲突", at: SourceLocation(field: "筛选条件"),
                           hint: "先在冲突日志中筛选，再用筛选结果下方的批量处理")
        }
        let decision = try c.require("decision", "决定"), reason = try c.require("reason", "理由")
        try c.unlock()
        let n = try c.county.resolveConflicts(f, decision: decision, reason: reason)
        return c.redirect(Markup.url("/conflicts", query: query(f).filter { $0.0 != "status" } + [("status", "resolved")]),
                          notice: "已处理冲突 \(n) 条，决定将在相关乡镇下次同步时送达")
    }

    @Sendable static func show(_ c: ConsoleContext) throws -> WebResponse {
        let id = try c.id()
        let found: (conflict: CountyNode.Conflict, sides: [CountyNode.ConflictSide])
        do { found = try c.county.conflictSides(id) } catch let e as YKTError where e.code == .conflictUnknown { throw ConsoleServer.NotFound() }
        let x = found.conflict
        var fields: [(String, HTML)] = [
            ("冲突编号", "\(x.id)"), ("种类", "\(x.kind)（\(SyncWords.conflict(x.kind))）"), ("对象", "\(x.entity)"),
            ("乡镇", "\(x.node)\(x.otherNode.map { "，另一方 \($0)" } ?? "")"), ("记录时间", "\(Markup.when(x.createdAt))"),
            ("说明", "\(Masking.digits(in: x.detail))"), ("状态", "\(SyncWords.conflictStatus(x.status))"),
        ]
        if let d = x.decision { fields.append(("决定", "\(d)\(x.reason.map { "，理由：\($0)" } ?? "")")) }
        var body = Markup.fields(fields)
        for side in found.sides {
            let title: String = side.changeSet == 0 ? "县财政 \(side.node)，\(side.operation)"
                : "乡镇 \(side.node)，变更集 \(side.changeSet)，操作 \(side.operation)"
            body += "<h2>\(title)</h2>"
            body += "<pre class=\"evidence\">\(Masking.digits(in: side.body))</pre>"
        }
        if x.status == "open" {
            let decisions = CountyNode.decisions(for: x)
            body += "<h2>可用的决定</h2><ul>\(decisions.map { d -> HTML in "<li><strong>\(d.decision)</strong>：\(d.meaning)</li>" })</ul>"
            if c.can("conflicts resolve") {
                var choice: HTML = "<fieldset class=\"choice\"><legend>决定</legend>"
                for (i, d) in decisions.enumerated() {
                    choice += "<label><input type=\"radio\" name=\"decision\" value=\"\(d.decision)\"\(i == 0 ? " checked" : "") required> \(d.decision)</label>"
                }
                choice += "</fieldset><label>理由<textarea name=\"reason\" required></textarea></label>"
                body += c.form("/conflicts/\(x.id)/resolve", choice, submit: "处理冲突", signed: true, id: "conflict-resolve")
            }
        }
        body += "<p>\(Markup.link("/conflicts", "返回冲突日志"))</p>"
        return c.page("冲突 \(x.id)", body)
    }

    @Sendable static func resolveOne(_ c: ConsoleContext) throws -> WebResponse {
        let id = try c.id()
        let decision = try c.require("decision", "决定"), reason = try c.require("reason", "理由")
        try c.unlock()
        try c.county.resolveConflict(id, decision: decision, reason: reason)
        return c.redirect("/conflicts/\(id)", notice: "冲突 \(id) 已处理，决定将在相关乡镇下次同步时送达")
    }
}
