import YKTCore
import YKTNode

/// The pieces every page of the public site is made of: one layout (readable on a phone: a
/// viewport, one small stylesheet, tables that scroll sideways), escaped text, and tables
/// with the CSV beside them. No script.
enum PublicSitePage {
    static let stylesheet = """
    body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 0; color: #222; background: #fff;
      line-height: 1.6; font-size: 16px; }
    header { background: #a61b1b; color: #fff; padding: 0.6em 1em; }
    header a { color: #fff; text-decoration: none; font-weight: bold; }
    nav { font-size: 0.9em; padding: 0.4em 1em; background: #f4f4f4; border-bottom: 1px solid #ddd; }
    nav a { margin-right: 1em; }
    main { padding: 0 1em 2em; max-width: 72em; }
    h1 { font-size: 1.3em; margin: 0.8em 0 0.4em; }
    h2 { font-size: 1.1em; margin: 1.2em 0 0.4em; }
    p { margin: 0.4em 0; }
    .scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; margin: 0.5em 0; }
    table { border-collapse: collapse; min-width: 100%; font-size: 0.92em; }
    th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; white-space: nowrap; text-align: left; }
    th { background: #f0f0f0; }
    td.n { text-align: right; font-variant-numeric: tabular-nums; }
    tr.total td { font-weight: bold; background: #fafafa; }
    .csv { font-size: 0.85em; }
    .note { color: #555; font-size: 0.9em; }
    ul.links li { margin: 0.3em 0; }
    footer { color: #666; font-size: 0.85em; padding: 1em; border-top: 1px solid #ddd; }

    """

    static func e(_ s: String) -> String { NoticeDocument.escape(s) }

    /// A whole page. `depth` is how many folders below the site's root it lies (0 or 1), for
    /// the relative links to the stylesheet and the home page.
    static func page(title: String, depth: Int, content: PublicSiteContent, body: String) -> String {
        let up = String(repeating: "../", count: depth)
        return """
        <!DOCTYPE html>
        <html lang="zh-CN"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(e(title))</title>
        <link rel="stylesheet" href="\(up)style.css">
        </head><body>
        <header><a href="\(up)index.html">\(e(content.county))惠民惠农财政补贴资金公开</a></header>
        <nav><a href="\(up)index.html">首页</a><a href="\(up)policy/index.html">政策清单</a><a href="\(up)notices/index.html">公示</a><a href="\(up)payments/index.html">发放结果</a><a href="\(up)complaints.html">投诉举报</a></nav>
        <main>
        <h1>\(e(title))</h1>
        \(body)</main>
        <footer>\(e(content.county))财政局发布 · 发布时间 \(e(content.publishedAt)) · 本站文件均有县财政签名（manifest.json、manifest.sig），可用 ykt publish verify 校验。身份证号、账号只显示部分数字。</footer>
        </body></html>

        """
    }

    /// A table in a sideways-scrolling box, with a link to its CSV (`csv`: a file name beside the page).
    static func table(columns: [String], rows: [[String]], numeric: Set<Int> = [], totals: [String]? = nil, csv: String? = nil,
                      links: [Int: [String]] = [:]) -> String {
        var h = ""
        if let csv { h += "<p class=\"csv\"><a href=\"\(e(csv))\">下载表格（CSV，可用 WPS、Excel 打开）</a></p>\n" }
        h += "<div class=\"scroll\"><table>\n<thead><tr>" + columns.map { "<th>\(e($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        func row(_ cells: [String], index: Int?, total: Bool) -> String {
            (total ? "<tr class=\"total\">" : "<tr>") + cells.enumerated().map { i, v in
                let cls = numeric.contains(i) ? " class=\"n\"" : ""
                var text = e(v)
                if let index, let targets = links[i], index < targets.count, !targets[index].isEmpty {
                    text = "<a href=\"\(e(targets[index]))\">\(text)</a>"
                }
                return "<td\(cls)>\(text)</td>"
            }.joined() + "</tr>\n"
        }
        if rows.isEmpty {
            h += "<tr><td colspan=\"\(max(1, columns.count))\">（无）</td></tr>\n"
        }
        for (i, r) in rows.enumerated() { h += row(r, index: i, total: false) }
        if let totals { h += row(totals, index: nil, total: true) }
        h += "</tbody></table></div>\n"
        return h
    }

    /// The same table as CSV (UTF-8 with BOM, CRLF, as the project's other CSV files), with the
    /// title on the first line; the columns at `codes` (masked IDs, accounts, phones, periods)
    /// kept as text by spreadsheets.
    static func csv(title: String, head: [[String]] = [], columns: [String], rows: [[String]], totals: [String]? = nil,
                    codes: Set<Int> = []) -> String {
        var w = CSVWriter()
        w.row([title])
        head.forEach { w.row($0) }
        w.row(columns)
        rows.forEach { w.row($0, codes: codes) }
        if let totals { w.row(totals) }
        return w.text
    }

    static func paragraph(_ text: String) -> String { "<p>\(e(text))</p>\n" }
    static func note(_ text: String) -> String { "<p class=\"note\">\(e(text))</p>\n" }
}
