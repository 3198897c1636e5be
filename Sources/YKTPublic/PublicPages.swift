import Foundation
import YKTCore
import YKTNode

/// The public server's own pages: the query form and its answer, the complaint form and its
/// receipt, and the refusals (429, 404, 403). Plain HTML with the published site's stylesheet
/// (`/style.css`), no script and no inline style (the Content-Security-Policy forbids both),
/// readable on a phone. Nothing a person typed is written back except what they see masked
/// (the ID, as 6 + 4 digits) and, on a complaint form sent back for a fix, their own words.
enum PublicPages {
    static func escape(_ s: String) -> String { NoticeDocument.escape(s) }

    struct Site {
        var county: String
        var publishedAt: String
        /// Whether the published site has a stylesheet to link.
        var hasStylesheet: Bool
    }

    /// A whole page, in the published site's layout (header, nav, main, footer; the classes of
    /// its stylesheet), so the query and complaint pages look like the rest of the site.
    static func page(_ site: Site, title: String, _ body: String) -> [UInt8] {
        let css = site.hasStylesheet ? "\n<link rel=\"stylesheet\" href=\"/style.css\">" : ""
        let html = """
            <!DOCTYPE html>
            <html lang="zh-CN"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>\(css)
            </head><body>
            <header><a href="/index.html">\(escape(site.county))惠民惠农财政补贴资金公开</a></header>
            <nav><a href="/index.html">首页</a><a href="/query">查询本人补贴</a><a href="/complaint">网上投诉举报</a><a href="/complaints.html">投诉举报渠道</a></nav>
            <main>
            <h1>\(escape(title))</h1>
            \(body)
            </main>
            <footer>\(escape(site.county))财政局 · 数据发布时间 \(escape(site.publishedAt)) · 本页不保存您输入的身份证号和姓名；身份证号、账号只显示部分数字。</footer>
            </body></html>

            """
        return Array(html.utf8)
    }

    static func box(_ kind: String, _ text: String) -> String { "<p class=\"\(kind)\" role=\"alert\"><strong>\(escape(text))</strong></p>" }

    // MARK: Query

    static func queryForm(_ site: Site, token: String, message: String?) -> [UInt8] {
        page(site, title: "查询本人补贴发放情况", """
            <p>请输入本人的身份证号和姓名，两项都要填。只显示您本人的发放记录，银行账号只显示前 4 位和后 4 位。</p>
            \(message.map { box("error", $0) } ?? "")
            <form method="post" action="/query" autocomplete="off">
            <input type="hidden" name="token" value="\(escape(token))">
            <p><label for="id">身份证号</label><br><input id="id" name="id" type="text" required maxlength="18" size="20" autocomplete="off" spellcheck="false"></p>
            <p><label for="name">姓名</label><br><input id="name" name="name" type="text" required maxlength="50" size="20" autocomplete="off"></p>
            <p><button type="submit">查询</button></p>
            </form>
            <p>对发放结果有疑问，请打电话给所在乡镇（电话在查询结果中），或 <a href="/complaint">在网上投诉举报</a>。</p>
            """)
    }

    /// The answer: a hit and a miss share everything but the middle (the table, or 没有查到).
    static func queryAnswer(_ site: Site, maskedID: String, records: [PublicRecord]?) -> [UInt8] {
        let middle: String
        if let records, !records.isEmpty {
            var rows = ""
            for r in records {
                rows += "<tr><td>\(escape(r.programName))</td><td>\(escape(r.period))</td><td class=\"n\">\(escape(Fen(r.amountFen).yuan))</td>"
                    + "<td>\(escape(r.status))</td><td>\(escape(r.date))</td><td>\(escape(r.reason))</td><td>\(escape(r.account))</td>"
                    + "<td>\(escape(r.township))</td><td>\(escape(r.phone))</td></tr>\n"
            }
            middle = """
                <div class="scroll"><table class="records"><thead><tr><th>补贴项目</th><th>期次</th><th>金额（元）</th><th>发放状态</th><th>日期</th><th>未成功原因</th><th>账号</th><th>乡镇</th><th>咨询电话</th></tr></thead>
                <tbody>
                \(rows)</tbody></table></div>
                """
        } else {
            middle = "<p class=\"none\">没有查到：身份证号与姓名对不上，或没有发放记录。请核对后再查；仍有疑问请联系户籍所在乡镇。</p>"
        }
        return page(site, title: "查询结果", """
            <p class="note">身份证号 \(escape(maskedID)) 的补贴发放记录</p>
            \(middle)
            <p>记录截至 \(escape(site.publishedAt))。对发放结果有疑问，请打电话给所在乡镇，或 <a href="/complaint">在网上投诉举报</a>。</p>
            <p><a href="/query">再查一次</a></p>
            """)
    }

    // MARK: Complaints

    struct ComplaintForm {
        var township = ""
        var program = ""
        var content = ""
        var name = ""
        var phone = ""
    }

    static func complaintForm(_ site: Site, token: String, form: ComplaintForm, message: String?) -> [UInt8] {
        page(site, title: "网上投诉举报", """
            <p>反映惠民惠农补贴发放中的问题。请写明乡镇、补贴项目和具体情况；姓名和电话可以不填，填了便于我们回复您。</p>
            \(message.map { box("error", $0) } ?? "")
            <form method="post" action="/complaint" autocomplete="off">
            <input type="hidden" name="token" value="\(escape(token))">
            <p><label for="township">乡镇</label><br><input id="township" name="township" type="text" maxlength="50" size="20" value="\(escape(form.township))"></p>
            <p><label for="program">补贴项目</label><br><input id="program" name="program" type="text" maxlength="100" size="30" value="\(escape(form.program))"></p>
            <p><label for="content">投诉举报内容（不超过 \(PublicComplaint.maximumContent) 字）</label><br><textarea id="content" name="content" required maxlength="\(PublicComplaint.maximumContent)" rows="8" cols="40">\(escape(form.content))</textarea></p>
            <p><label for="cname">姓名（可不填）</label><br><input id="cname" name="name" type="text" maxlength="50" size="20" value="\(escape(form.name))"></p>
            <p><label for="phone">联系电话（可不填）</label><br><input id="phone" name="phone" type="tel" maxlength="20" size="20" value="\(escape(form.phone))"></p>
            <p><button type="submit">提交</button></p>
            </form>
            <p>也可以打电话给县、乡镇的投诉电话（见 <a href="/complaints.html">投诉举报渠道</a>）。</p>
            """)
    }

    static func complaintReceipt(_ site: Site, receipt: String) -> [UInt8] {
        page(site, title: "投诉举报已收到", """
            <p>受理编号：<strong class="receipt">\(escape(receipt))</strong></p>
            <p>请记下受理编号。县里收到后登记办理；询问办理情况时请报受理编号。</p>
            <p><a href="/index.html">回到首页</a></p>
            """)
    }

    // MARK: Refusals

    static func tooMany(_ site: Site, retryAfter: Int) -> [UInt8] {
        let wait = retryAfter >= 120 ? "约 \((retryAfter + 59) / 60) 分钟" : "\(retryAfter) 秒"
        return page(site, title: "请稍后再试", """
            \(box("error", "提交太频繁了，请 \(wait) 后再试。"))
            <p><a href="/index.html">回到首页</a></p>
            """)
    }

    /// Queries for one name refused after too many misses today (`NameMissLimiter`).
    static func nameRefused(_ site: Site) -> [UInt8] {
        page(site, title: "请稍后再试", """
            \(box("error", "这个姓名今天查询未成功的次数过多，请明天再试，或打电话给所在乡镇查询。"))
            <p><a href="/index.html">回到首页</a></p>
            """)
    }

    /// Every connection slot (or the address's share of them) taken.
    static func busy(_ site: Site) -> [UInt8] {
        page(site, title: "请稍后再试", """
            \(box("error", "现在访问的人太多（或本网络同时打开的连接太多），请几秒后再试。"))
            <p><a href="/index.html">回到首页</a></p>
            """)
    }

    static func notFound(_ site: Site) -> [UInt8] {
        page(site, title: "没有这个页面", "<p><a href=\"/index.html\">回到首页</a></p>")
    }

    static func refused(_ site: Site, _ text: String) -> [UInt8] {
        page(site, title: "已拒绝", "\(box("error", text))\n<p><a href=\"/index.html\">回到首页</a></p>")
    }
}
