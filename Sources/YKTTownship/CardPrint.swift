import YKTCore
import YKTNode

/// Lays out 惠民惠农补贴明白卡 for printing: one A4-portrait sheet per household (a new page
/// for each), the title, the query QR code in the top right corner, the household's members
/// with their designated accounts (masked), every approved line with its standard, quantity,
/// period, amount and state, the totals, the complaint phone and the township's signature.
/// Column widths are set in the stylesheet (no `style` attributes).
enum CardPage {
    static let title = "惠民惠农补贴明白卡"
    /// 序号, 姓名, 身份证号, 开户银行, 账号: 186 mm.
    static let memberWidths: [Double] = [10, 28, 48, 50, 50]
    /// 姓名, 补贴项目, 期次, 补贴标准, 数量, 金额, 发放情况, 发放日期: 186 mm.
    static let lineWidths: [Double] = [18, 38, 22, 28, 16, 20, 24, 20]

    static func html(cards: [TownshipNode.Card], township: String, issuer: String, phone: String, date: String, qr: QueryCode?) -> String {
        func e(_ s: String) -> String { NoticeDocument.escape(s) }
        func widths(_ table: String, _ list: [Double]) -> String {
            list.enumerated().map { "table.\(table) col:nth-child(\($0.offset + 1)) { width: \(Int($0.element))mm; }\n" }.joined()
        }
        var h = """
        <!DOCTYPE html>
        <html lang="zh-CN"><head><meta charset="utf-8"><title>\(title)</title>
        <style>
        @page { size: A4 portrait; margin: 14mm 12mm 14mm; }
        body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; font-size: 10.5pt; color: #000; margin: 0; }
        section.card { break-after: page; page-break-after: always; }
        section.card:last-child { break-after: auto; page-break-after: auto; }
        h1 { font-family: "SimHei", "Heiti SC", "Noto Sans CJK SC", sans-serif; font-size: 18pt; text-align: center; letter-spacing: 0.15em; margin: 0 0 5mm; }
        h2 { font-family: "SimHei", "Heiti SC", "Noto Sans CJK SC", sans-serif; font-size: 11pt; margin: 4mm 0 1.5mm; }
        p { line-height: 1.6; text-indent: 2em; margin: 0 0 1.5mm; }
        p.who { text-indent: 0; font-size: 11pt; }
        table { width: 100%; border-collapse: collapse; table-layout: fixed; }
        th, td { border: 0.5pt solid #000; padding: 0.8mm 1mm; line-height: 1.3; }
        th { font-size: 9pt; background: #eee; font-weight: bold; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        td.d { white-space: nowrap; }
        tr { break-inside: avoid; page-break-inside: avoid; }
        .nw { white-space: nowrap; }
        .end { break-inside: avoid; page-break-inside: avoid; margin-top: 2mm; }
        .sign { width: 62mm; margin: 4mm 4mm 0 auto; padding-top: 8mm; text-align: center; line-height: 2; }
        \(widths("members", memberWidths))\(widths("lines", lineWidths))\(qr == nil ? "" : QueryCode.css)</style></head><body>

        """
        for card in cards {
            h += "<section class=\"card\">\n<h1>\(title)</h1>\n"
            if let qr { h += qr.html + "\n" }
            let household = card.household.isEmpty ? "（底册未登记户号，本卡只列本人）" : e(card.household)
            h += "<p class=\"who\">乡镇：\(e(township))　村（社区）：\(e(card.village))　户号：\(household)</p>\n"
            h += "<p>本卡列出您家庭成员经县财政审定的惠民惠农补贴：项目、补贴标准、数量、期次、金额和发放情况。补贴通过“一卡通”" +
                "直接发放到本人指定的社会保障卡或银行账户，请核对到账情况；如有疑问，请向\(e(issuer))反映" +
                (qr == nil ? "。</p>\n" : "，或扫描右上角二维码查询。</p>\n")
            h += "<h2>一、家庭成员和补贴到账账户</h2>\n<table class=\"members\"><colgroup>" +
                String(repeating: "<col>", count: memberWidths.count) + "</colgroup>\n"
            h += "<thead><tr><th>序号</th><th>姓名</th><th>身份证号</th><th>开户银行</th><th>账号</th></tr></thead>\n<tbody>\n"
            for (i, m) in card.members.enumerated() {
                h += "<tr><td class=\"n\">\(i + 1)</td><td>\(e(m.name))</td><td class=\"d\">\(e(m.maskedID))</td><td>\(e(m.bank))</td>" +
                    "<td class=\"d\">\(e(m.maskedAccount))</td></tr>\n"
            }
            h += "</tbody></table>\n"
            h += "<h2>二、补贴发放明细</h2>\n<table class=\"lines\"><colgroup>" + String(repeating: "<col>", count: lineWidths.count) + "</colgroup>\n"
            h += "<thead><tr><th>姓名</th><th>补贴项目</th><th>期次</th><th>补贴标准</th><th>数量</th><th>金额（元）</th><th>发放情况</th>" +
                "<th>发放日期</th></tr></thead>\n<tbody>\n"
            if card.lines.isEmpty {
                h += "<tr><td colspan=\"\(lineWidths.count)\">暂无经县财政审定的补贴发放记录</td></tr>\n"
            }
            for l in card.lines {
                let period = (try? Period(parsing: l.period))?.chinese ?? l.period
                h += "<tr><td>\(e(l.name))</td><td>\(e(l.program))</td><td>\(e(period))</td><td>\(e(l.standard))</td>" +
                    "<td class=\"n\">\(e(l.quantity))</td><td class=\"n\">\(Fen(l.amountFen).yuanGrouped)</td><td>\(e(l.state))</td>" +
                    "<td class=\"d\">\(e(l.date))</td></tr>\n"
            }
            let failed = card.lines.filter { $0.state.hasPrefix("发放失败") }.count
            let pending = card.lines.filter { !$0.paid && !$0.state.hasPrefix("发放失败") }.count
            h += "</tbody></table>\n<div class=\"end\">\n"
            var totals = "本户已发放补贴 \(card.lines.filter(\.paid).count) 笔，合计 \(Fen(card.paidFen).yuanGrouped) 元。"
            if failed > 0 { totals += "发放失败 \(failed) 笔，乡镇将与本人核实账户，更正后由县财政补发。" }
            if pending > 0 { totals += "另有 \(pending) 笔正在发放，银行结果尚未返回。" }
            h += "<p>\(totals)</p>\n"
            h += "<p>任何单位和个人不得截留、挪用、冒领补贴资金，不得代领、代管群众的“一卡通”卡（折）。发现问题请拨打监督举报电话：" +
                "<span class=\"nw\">\(e(phone))</span>。</p>\n"
            h += "<p>为保护个人信息，身份证号、账号只显示部分数字。</p>\n"
            h += "<div class=\"sign\"><div class=\"nw\">\(e(issuer))</div><div class=\"nw\">\(e(date))</div></div>\n</div>\n</section>\n"
        }
        h += "</body></html>\n"
        return h
    }
}
