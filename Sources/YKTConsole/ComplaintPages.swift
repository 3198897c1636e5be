import Foundation
import YKTCore
import YKTNode
import YKTCounty

/// Complaints and reports (投诉举报, `ykt complaint add/list/close`) and the counter clerk's
/// query of what a resident was paid (`ykt query`).
enum ComplaintPages {
    static let pages: [ConsolePage] = [
        ConsolePage("GET", "/complaints", node: .county, command: "complaint list", menu: ("监督", "投诉举报"), handler: list),
        ConsolePage("POST", "/complaints", node: .county, command: "complaint add", handler: add),
        ConsolePage("GET", "/complaints/:id", node: .county, command: "complaint list", handler: show),
        ConsolePage("POST", "/complaints/:id/close", node: .county, command: "complaint close", handler: close),
        ConsolePage("GET", "/query", node: .county, command: "query", menu: ("查询与报表", "发放查询"), handler: queryForm),
        ConsolePage("POST", "/query", node: .county, command: "query", handler: query),
    ]

    static let kinds = [("resident", "补贴对象（身份证号）"), ("roster", "清册（编号）"), ("payment", "支付（编号）")]
    static let channels = ["来电", "来信", "来访", "网络"]

    /// A complaint's subject, a resident ID masked.
    static func subject(_ x: CountyNode.Complaint) -> String {
        let what = ["resident": "补贴对象", "roster": "清册", "payment": "支付", "public": "网上投诉"][x.subjectKind] ?? x.subjectKind
        return "\(what) " + (x.subjectKind == "resident" ? Masking.residentID(x.subject) : x.subject)
    }

    static func addForm(_ c: ConsoleContext, error: YKTError? = nil) -> HTML {
        let v = { (name: String) in c.request.method == "POST" ? c.value(name) ?? "" : "" }
        var kind: HTML = "<label>投诉对象<select name=\"about_kind\">"
        for (value, text) in kinds {
            kind += value == v("about_kind") ? "<option value=\"\(value)\" selected>\(text)</option>" : "<option value=\"\(value)\">\(text)</option>"
        }
        kind += "</select></label>"
        var channel: HTML = "<label>渠道<select name=\"channel\">"
        for ch in channels {
            channel += ch == v("channel") ? "<option selected>\(ch)</option>" : "<option>\(ch)</option>"
        }
        channel += "</select></label>"
        let fields: HTML = """
            \(kind)<label>身份证号或编号<input name="about" required value="\(v("about"))"></label>\(channel)\
            <label>投诉举报人（可匿名）<input name="complainant" value="\(v("complainant"))"></label>\
            <label>收到日期<input type="date" name="date" value="\(v("date").isEmpty ? c.today.description : v("date"))"></label>\
            <label>内容<textarea name="content" required>\(v("content"))</textarea></label>
            """
        return (error.map(Markup.error) ?? "") + c.form("/complaints", fields, submit: "登记投诉举报", id: "complaint-add")
    }

    @Sendable static func list(_ c: ConsoleContext) throws -> WebResponse {
        try render(c, error: nil)
    }

    static func render(_ c: ConsoleContext, error: YKTError?) throws -> WebResponse {
        let county = c.county
        let status = c.request.query["status"] == nil ? "open" : c.value("status")
        if let s = status, !["open", "closed"].contains(s) {
            throw YKTError(.usageValue, "状态「\(s)」无效", at: SourceLocation(field: "状态"), hint: "open（办理中）或 closed（已办结）")
        }
        var body: HTML = ""
        if c.can("complaint add") { body += "<h2>登记投诉举报</h2>" + addForm(c, error: error) }
        body += """
            <form method="get" action="/complaints" class="form" id="complaints-filter">\
            \(WarningPages.select("status", "状态", [("open", "办理中"), ("closed", "已办结")], selected: status))\
            <label>内容含<input name="q" value="\(c.request.method == "GET" ? Masking.digits(in: c.value("q") ?? "") : "")"></label>\
            <button type="submit">查找</button></form>
            """
        let q = c.request.method == "GET" ? c.value("q") : nil
        let total = try county.complaintCount(status: status, containing: q)
        let page = c.pager(total: total)
        let rows: [[HTML]] = try county.complaints(status: status, containing: q, limit: page.limit, offset: page.offset).map { x in
            [Markup.link("/complaints/\(x.id)", String(x.id)), "\(subject(x))", "\(x.receivedOn)", "\(x.channel)",
             "\(String(Masking.digits(in: x.content).prefix(60)))", "\(x.status == "open" ? "办理中" : "已办结")",
             "\(Masking.digits(in: x.outcome ?? ""))"]
        }
        body += "<div id=\"complaints-list\">" + Markup.table(["编号", "对象", "收到", "渠道", "内容", "状态", "处理结果"], rows, numeric: [0],
                                                             empty: q != nil ? "没有符合条件的投诉举报" : status == "open" ? "没有办理中的投诉举报" : "没有投诉举报") + "</div>" + page.links
        return c.page("投诉举报", body, status: error == nil ? 200 : 400)
    }

    @Sendable static func add(_ c: ConsoleContext) throws -> WebResponse {
        do {
            let kind = try c.require("about_kind", "投诉对象")
            let about = try c.require("about", "身份证号或编号")
            let id = try c.county.addComplaint(about: "\(kind):\(about)", content: try c.require("content", "内容"),
                                               complainant: c.value("complainant") ?? "匿名", channel: c.value("channel") ?? "来电",
                                               on: c.value("date") == nil ? c.today : try c.date("date", "收到日期"))
            return c.redirect("/complaints/\(id)", notice: "已登记投诉举报 \(id)")
        } catch let e as YKTError where e.code != .roleMissing {
            // The form again, with what was typed and the error above it.
            return try render(c, error: e)
        }
    }

    @Sendable static func show(_ c: ConsoleContext) throws -> WebResponse {
        let id = try c.id()
        let x: CountyNode.Complaint
        do { x = try c.county.complaint(id) } catch let e as YKTError where e.code == .complaintUnknown { throw ConsoleServer.NotFound() }
        var body = Markup.fields([
            ("编号", "\(x.id)"), ("对象", "\(subject(x))"), ("收到日期", "\(x.receivedOn)"), ("渠道", "\(x.channel)"),
            ("投诉举报人", "\(Masking.digits(in: x.complainant))"), ("内容", "\(Masking.digits(in: x.content))"),
            ("状态", "\(x.status == "open" ? "办理中" : "已办结")"),
            ("处理结果", "\(x.outcome.map { Masking.digits(in: $0) } ?? "—")"),
            ("办结", "\(x.closedBy.map { "\($0)，\(x.closedOn ?? "")" + (x.upheld ? "（查实）" : "") } ?? "—")"),
        ])
        if x.status == "open" && c.can("complaint close") {
            let fields: HTML = """
                <label>处理结果<textarea name="outcome" required></textarea></label>\
                <label><input type="checkbox" name="upheld" value="1"> 经核查反映的问题属实（查实，列入移交纪委监委的问题线索）</label>\
                <label>办结日期<input type="date" name="date" value="\(c.today.description)"></label>
                """
            body += "<h2>办结</h2>" + c.form("/complaints/\(x.id)/close", fields, submit: "办结", id: "complaint-close")
        }
        body += "<p>\(Markup.link("/complaints", "返回投诉举报"))</p>"
        return c.page("投诉举报 \(x.id)", body)
    }

    @Sendable static func close(_ c: ConsoleContext) throws -> WebResponse {
        let id = try c.id()
        let outcome = try c.require("outcome", "处理结果")
        let upheld = c.value("upheld") == "1"
        try c.county.closeComplaint(id, outcome: outcome, on: c.value("date") == nil ? c.today : try c.date("date", "办结日期"), upheld: upheld)
        return c.redirect("/complaints/\(id)", notice: "投诉举报 \(id) 已办结" + (upheld ? "（查实，列入问题线索）" : ""))
    }

    // MARK: The counter clerk's query

    static func queryFields(_ c: ConsoleContext) -> HTML {
        // The resident ID typed is never echoed back into the page (nor into a URL: the form posts).
        """
        <label>身份证号<input name="id" required autocomplete="off" inputmode="text" maxlength="18"></label>\
        <label>姓名<input name="name" required autocomplete="off" value="\(c.request.method == "POST" ? c.value("name") ?? "" : "")"></label>
        """
    }

    @Sendable static func queryForm(_ c: ConsoleContext) throws -> WebResponse {
        c.page("发放查询", "<p>来人查询本人的补贴发放：身份证号和姓名都对上才有结果；账号只显示前 4 位和后 4 位，可向本人读出核对。每次查询记入审计日志。</p>"
               + c.form("/query", queryFields(c), submit: "查询", id: "query"))
    }

    @Sendable static func query(_ c: ConsoleContext) throws -> WebResponse {
        let form = c.form("/query", queryFields(c), submit: "查询", id: "query")
        do {
            let text = try c.require("id", "身份证号")
            let id: ResidentID
            do { id = try ResidentID(text) } catch { throw error.located(SourceLocation(field: "身份证号")) }
            let name = try c.require("name", "姓名")
            let lines = try c.county.query(residentID: id, name: name)
            let total = lines.filter { $0.status == "已发放" || $0.status == "补发成功" }.reduce(Int64(0)) { $0 + $1.amountFen }
            let rows: [[HTML]] = lines.map {
                ["\($0.programName)", "\($0.period)", "\(Markup.yuan($0.amountFen))", "\($0.date)", "\($0.status)", "\($0.account)"]
            }
            let body: HTML = form + "<h2>\(name)（\(id.masked)）的补贴发放</h2><div id=\"query-result\">"
                + Markup.table(["项目", "期次", "金额（元）", "日期", "状态", "账号"], rows, numeric: [2], empty: "已登记，尚无发放记录")
                + "</div><p>已发放合计：<strong>\(Markup.yuan(total))</strong> 元</p>"
            return c.page("发放查询", body)
        } catch let e as YKTError where e.code == .queryNoMatch || e.location?.field != nil {
            // No match, or a field typed wrong: the form again with the error above it.
            return c.page("发放查询", Markup.error(e) + form, status: 400)
        }
    }
}
