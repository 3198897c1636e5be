import Foundation
import YKTCore
import YKTNode
import YKTCounty

/// The enrolled townships (`ykt township list`, and the sync part of `ykt status`): each one's
/// key and state, the last change set received and what became of its operations, the last
/// pull, refusals since it last got through, and what waits (messages not yet fetched, open
/// conflicts).
enum CountyTownshipPages {
    static let pages: [ConsolePage] = [
        ConsolePage("GET", "/townships", node: .county, command: "township list", menu: ("管理", "乡镇节点"), handler: list),
    ]

    @Sendable static func list(_ c: ConsoleContext) throws -> WebResponse {
        let county = c.county
        let rows = try county.townships()
        let syncs = Dictionary(try county.townshipSyncs().map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
        // Open conflicts by township: one grouped count over the open ones.
        var open: [String: Int] = [:]
        for s in try county.conflictSummary(CountyNode.ConflictFilter(status: "open")) { open[s.township, default: 0] += s.count }
        let table: [[HTML]] = rows.map { t in
            let s = syncs[t.code]
            var last: HTML = "未收到"
            if let s, let seq = s.lastChangeSet {
                last = "第 \(seq) 个，\(Markup.when(s.lastChangeSetAt ?? ""))<br><span class=\"muted\">采纳 \(s.lastAccepted)、退回 \(s.lastRejected)、冲突 \(s.lastConflicted)</span>"
            }
            let pulled: String = s?.lastPullAt.map { Markup.when($0) } ?? "未同步"
            var refusals: HTML = ""
            for r in s?.refusals ?? [] {
                refusals += "<div class=\"bad\">\(Markup.when(r.at)) [\(r.code)] \(Masking.digits(in: r.message))\(r.changeSet.map { "（变更集 \($0)）" } ?? "")</div>"
            }
            var waiting: [HTML] = []
            if let n = s?.waitingDown, n > 0 { waiting.append("待取下行消息 \(n) 条") }
            if let n = open[t.code], n > 0 {
                waiting.append("待处理冲突 \(Markup.link("/conflicts", "\(n) 条", query: [("status", "open"), ("township", t.code)]))")
            }
            return ["\(t.code)", "\(t.name)", "\(t.disabledAt.map { "已停用（\(Markup.when($0))）：\(t.disabledReason ?? "")" } ?? "正常")",
                    "\(t.keyID ?? "")", last, "\(pulled)（已确认 \(s?.acknowledged ?? 0) 条）",
                    refusals.text.isEmpty ? "—" : refusals, waiting.isEmpty ? "—" : HTML.join(waiting, "<br>")]
        }
        let body: HTML = "<p class=\"muted\">最近同步取最近收到变更集和最近下行同步两者中较晚的时间。被拒收的变更集只列乡镇上次同步成功之后的。</p>"
            + "<div id=\"townships-list\">"
            + Markup.table(["代码", "名称", "状态", "现用密钥", "最近收到的变更集", "最近下行同步", "被拒收", "待办"], table,
                           empty: "还没有登记乡镇（ykt township enrol）") + "</div>"
        return c.page("乡镇节点", body)
    }
}
