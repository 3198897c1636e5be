import Foundation
import YKTCore
import YKTNode
import YKTTownship

/// The township's daily work after the register: applications, public notices and
/// objections, rosters (built by the clerk, submitted — signed — by the leader), failed
/// payments and their corrections, and the messages to and from the county. Each page calls
/// what the CLI command named in its `command` calls.
enum TownshipPages {
    static let pages: [ConsolePage] = [
        ConsolePage("GET", "/applications", node: .township, command: "application list", menu: ("申请与公示", "申请"), handler: applications),
        ConsolePage("GET", "/applications/new", node: .township, command: "application add", menu: ("申请与公示", "录入申请"), handler: applicationForm),
        ConsolePage("POST", "/applications/new", node: .township, command: "application add", handler: addApplication),
        ConsolePage("GET", "/notices", node: .township, command: "notice list", menu: ("申请与公示", "公示"), handler: notices),
        ConsolePage("POST", "/notices", node: .township, command: "notice open", handler: openNotice),
        ConsolePage("POST", "/meetings", node: .township, command: "meeting record", handler: recordMeeting),
        ConsolePage("GET", "/notices/:id", node: .township, command: "notice show", handler: notice),
        ConsolePage("POST", "/notices/:id/objections", node: .township, command: "objection add", handler: addObjection),
        ConsolePage("POST", "/notices/:id/objections/:objection", node: .township, command: "objection settle", handler: settleObjection),
        ConsolePage("POST", "/notices/:id/close", node: .township, command: "notice close", handler: closeNotice),
        ConsolePage("GET", "/notices/:id/print", node: .township, command: "notice print", handler: printPreview),
        ConsolePage("GET", "/notices/:id/html", node: .township, command: "notice print", handler: printHTML),
        ConsolePage("GET", "/notices/:id/csv", node: .township, command: "notice print", handler: printCSV),
        ConsolePage("GET", "/rosters", node: .township, command: "roster list", menu: ("清册与发放", "清册"), handler: rosters),
        ConsolePage("POST", "/rosters", node: .township, command: "roster build", handler: buildRoster),
        ConsolePage("GET", "/rosters/:id", node: .township, command: "roster show", handler: roster),
        ConsolePage("POST", "/rosters/:id/submit", node: .township, command: "roster submit", handler: submitRoster),
        ConsolePage("GET", "/rosters/:id/summary", node: .township, command: "roster summary", handler: summaryPreview),
        ConsolePage("GET", "/rosters/:id/summary/html", node: .township, command: "roster summary", handler: summaryHTML),
        ConsolePage("GET", "/rosters/:id/summary/csv", node: .township, command: "roster summary", handler: summaryCSV),
        ConsolePage("GET", "/rosters/:id/payment-notice", node: .township, command: "payment notice", handler: paymentNotice),
        ConsolePage("GET", "/payments", node: .township, command: "payment list", menu: ("清册与发放", "发放结果与更正"), handler: payments),
        ConsolePage("GET", "/payments/:id", node: .township, command: "payment correct", handler: paymentForm),
        ConsolePage("POST", "/payments/:id", node: .township, command: "payment correct", handler: correctPayment),
        ConsolePage("GET", "/inbox", node: .township, command: "inbox list", menu: ("消息", "县财政消息"), handler: inbox),
        ConsolePage("POST", "/inbox/remove", node: .township, command: "beneficiary remove", handler: removeByDecision),
        ConsolePage("GET", "/outbox", node: .township, command: "outbox list", menu: ("消息", "报送县财政"), handler: outbox),
    ]

    static func formWithID(_ id: String, _ form: HTML) -> HTML { RegisterPages.formWithID(id, form) }

    /// A select of the programs (optionally without secret ones), `selected` chosen.
    static func programSelect(_ c: ConsoleContext, name: String = "program", selected: String?, publicOnly: Bool = false,
                              blank: String? = nil) throws -> HTML {
        var out: HTML = "<select name=\"\(name)\">"
        if let blank { out += "<option value=\"\">\(blank)</option>" }
        for p in try c.township.programs() where !(publicOnly && p.secret) {
            out += "<option value=\"\(p.code)\"\(p.code == selected ? " selected" : "")>\(p.code) \(p.name)</option>"
        }
        return out + "</select>"
    }

    static func period(_ c: ConsoleContext, _ name: String = "period") throws -> Period {
        do { return try Period(parsing: try c.require(name, "期次")) } catch let e as YKTError {
            throw e.location == nil ? e.located(SourceLocation(field: "期次")) : e
        }
    }

    /// The date on a form, or today (as the CLI's `--date`).
    static func date(_ c: ConsoleContext, _ name: String = "date", _ label: String = "日期") throws -> CivilDate {
        c.value(name) == nil ? c.today : try c.date(name, label)
    }

    static func residentID(_ c: ConsoleContext, _ name: String = "id") throws -> ResidentID {
        do { return try ResidentID(try c.require(name, "身份证号"), today: c.today) } catch let e as YKTError {
            throw e.location == nil ? e.located(SourceLocation(field: "身份证号")) : e
        }
    }

    static let backdatedField: HTML = "<label>补录理由（日期早于今天时必填）<input name=\"backdated_reason\"></label>"

    // MARK: Applications

    @Sendable static func applications(_ c: ConsoleContext) throws -> WebResponse {
        let status = try c.value("status").map { s -> ApplicationStatus in
            guard let st = ApplicationStatus(rawValue: s) else { throw YKTError(.usageValue, "状态「\(s)」不认识", at: SourceLocation(field: "状态")) }
            return st
        }
        let node = c.township
        let (q, program, period) = (c.value("q"), c.value("program"), c.value("period"))
        let total = try node.applicationsPage(program: program, period: period, status: status, query: q, offset: 0, limit: 0).total
        let pager = c.pager(total: total)
        let rows = try node.applicationsPage(program: program, period: period, status: status, query: q,
                                             offset: pager.offset, limit: pager.limit).rows
        var statuses: HTML = "<option value=\"\">（全部）</option>"
        for s in ApplicationStatus.allCases { statuses += "<option value=\"\(s.rawValue)\"\(s == status ? " selected" : "")>\(s.chinese)</option>" }
        var body: HTML = """
            <form method="get" action="/applications" id="application-search" class="form">
            <label>姓名、村或身份证号<input name="q" value="\(q ?? "")"></label>
            <label>项目\(try programSelect(c, selected: program, blank: "（全部）"))</label>
            <label>期次<input name="period" size="8" value="\(period ?? "")"></label>
            <label>状态<select name="status">\(statuses)</select></label>
            <button type="submit">查询</button></form>
            """
        var actions: [HTML] = []
        if c.can("application add") { actions.append(Markup.link("/applications/new", "录入申请")) }
        if c.can("application import") { actions.append(Markup.link("/applications/import", "导入申请名单")) }
        if !actions.isEmpty { body += "<p>\(HTML.join(actions, "　"))</p>" }
        body += "<div id=\"application-list\">" + Markup.table(["编号", "项目", "期次", "村（社区）", "姓名", "身份证号", "数量", "金额（元）", "状态"], rows.map {
            ["\($0.id)", "\($0.programCode)", "\($0.period)", "\($0.village)", "\($0.name)", "\(Masking.residentID($0.residentID))",
             "\($0.quantity)", "\(Markup.yuan($0.amountFen))", "\($0.status.chinese)"]
        }, numeric: [0, 6, 7], empty: "没有符合条件的申请。") + "</div>" + pager.links
        return c.page("申请", body)
    }

    static func applicationMarkup(_ c: ConsoleContext, error: YKTError?) throws -> HTML {
        let result = c.value("village_result") ?? "passed"
        let fields: HTML = """
            <label>身份证号（须已在底册）<input name="id" required maxlength="18" autocomplete="off" value="\(c.value("id") ?? "")"></label>
            <label>补贴项目\(try programSelect(c, selected: c.value("program")))</label>
            <label>期次（按年 2026，按月 2026-03）<input name="period" required size="8" value="\(c.value("period") ?? "")"></label>
            <label>数量（亩数、月数、人数）<input name="quantity" required size="8" value="\(c.value("quantity") ?? "")"></label>
            <label>村评议结果<select name="village_result"><option value="passed"\(result == "passed" ? " selected" : "")>通过</option><option value="failed"\(result == "failed" ? " selected" : "")>不通过</option></select></label>
            <label>村评议备注<input name="note" value="\(c.value("note") ?? "")"></label>
            """
        return (error.map(Markup.error) ?? "") + "<p>金额 = 补贴标准 × 数量，按整数分计算。</p>"
            + formWithID("application-add", c.form("/applications/new", fields, submit: "录入申请"))
    }

    @Sendable static func applicationForm(_ c: ConsoleContext) throws -> WebResponse {
        c.page("录入申请", try applicationMarkup(c, error: nil))
    }

    @Sendable static func addApplication(_ c: ConsoleContext) throws -> WebResponse {
        do {
            let quantity: Quantity
            do { quantity = try Quantity(parsing: try c.require("quantity", "数量")) } catch let e as YKTError {
                throw e.location == nil ? e.located(SourceLocation(field: "数量")) : e
            }
            let a = try c.township.recordApplication(ApplicationInput(
                residentID: try residentID(c), programCode: try c.require("program", "补贴项目"), period: try period(c),
                quantity: quantity, villageResult: try VillageResult(parsing: c.value("village_result") ?? "passed"), note: c.value("note") ?? ""))
            return c.redirect(Markup.url("/applications", query: [("program", a.programCode), ("period", a.period)]),
                              notice: "已录入申请 \(a.id)：\(a.name)（\(Masking.residentID(a.residentID))）\(a.programCode) \(a.period) 数量 \(a.quantity) 金额 \(Markup.yuan(a.amountFen)) 元（\(a.status.chinese)）")
        } catch let e as YKTError {
            return c.page("录入申请", try applicationMarkup(c, error: e), status: 400)
        }
    }

    // MARK: Notices

    @Sendable static func notices(_ c: ConsoleContext) throws -> WebResponse {
        let list = try c.township.notices()
        let pager = c.pager(total: list.count)
        let rows = list.reversed().dropFirst(pager.offset).prefix(pager.limit)
        var body: HTML = "<div id=\"notice-list\">" + Markup.table(["编号", "阶段", "村（社区）", "项目", "期次", "公示期", "最早结束日", "状态", "人数", "金额（元）", ""], rows.map {
            ["\($0.id)", "\($0.stage.chinese)", "\($0.village ?? "")", "\($0.programCode)", "\($0.period)", "\($0.firstDay.description)至\($0.lastDay.description)",
             "\($0.earliestClose.description)",
             "\($0.status == .open ? "公示中" : "已结束（\($0.closedOn?.description ?? "")）")", "\($0.applicationCount)", "\(Markup.yuan($0.totalFen))",
             Markup.link("/notices/\($0.id)", "查看")]
        }, numeric: [0, 8, 9], empty: "还没有张贴过公示。") + "</div>" + pager.links
        let meetings = try c.township.meetings()
        if !meetings.isEmpty {
            body += "<h2>村民代表会议评议</h2><div id=\"meeting-list\">" + Markup.table(["编号", "村（社区）", "项目", "期次", "会议日期", "实到/应到", "评议结果"],
                meetings.reversed().prefix(50).map {
                    ["\($0.id)", "\($0.village)", "\($0.programCode)", "\($0.period)", "\($0.heldOn.description)", "\($0.present)/\($0.expected)", "\($0.outcome)"]
                }, numeric: [0]) + "</div>"
        }
        if c.can("meeting record") {
            let fields: HTML = """
                <label>村（社区）<input name="village" required value="\(c.value("village") ?? "")"></label>
                <label>补贴项目\(try programSelect(c, selected: c.value("program"), publicOnly: false))</label>
                <label>期次<input name="period" required size="8" value="\(c.value("period") ?? "")"></label>
                <label>会议日期（不填为今天）<input name="date" type="date" value="\(c.value("date") ?? "")"></label>
                <label>实到人数<input name="present" required size="4" inputmode="numeric" value="\(c.value("present") ?? "")"></label>
                <label>应到人数<input name="expected" required size="4" inputmode="numeric" value="\(c.value("expected") ?? "")"></label>
                <label>评议结果<input name="outcome" required value="\(c.value("outcome") ?? "")"></label>
                """ + backdatedField
            body += "<h2>登记村民代表会议评议</h2><p class=\"muted\">村级公示前，村民代表会议评议申请（须三分之二以上代表到会）。</p>"
                + formWithID("meeting-record", c.form("/meetings", fields, submit: "登记评议会议"))
        }
        if c.can("notice open") {
            var options: HTML = "<option value=\"\">（不选：乡镇公示）</option>"
            for m in meetings.reversed().prefix(100) {
                options += "<option value=\"\(m.id)\"\(c.value("meeting") == String(m.id) ? " selected" : "")>会议 \(m.id)：\(m.village) \(m.programCode) \(m.period)（\(m.heldOn.description)）</option>"
            }
            let fields: HTML = """
                <label>村民代表会议（村级公示选此项）<select name="meeting">\(options)</select></label>
                <label>补贴项目（乡镇公示）\(try programSelect(c, selected: c.value("program"), publicOnly: true))</label>
                <label>期次（乡镇公示）<input name="period" size="8" value="\(c.value("period") ?? "")"></label>
                <label>公示地点<input name="place" required value="\(c.value("place") ?? "各村村务公开栏")"></label>
                <label>监督举报电话<input name="phone" required value="\(c.value("phone") ?? "")"></label>
                <label>张贴日期（不填为今天）<input name="date" type="date" value="\(c.value("date") ?? "")"></label>
                <label>乡镇公示只公示这个村（可不填）<input name="village" value="\(c.value("village") ?? "")"></label>
                """ + backdatedField
            body += "<h2>张贴公示</h2><p class=\"muted\">两级公示：选评议会议，张贴该村的拟补贴对象名单（村级公示）；村级公示期满无异议并结束后，不选会议，按项目、期次张贴审核后的发放清册（乡镇公示）。各满 5 个工作日，按工作日历推算。</p>"
                + formWithID("notice-open", c.form("/notices", fields, submit: "张贴公示"))
        }
        return c.page("公示", body)
    }

    @Sendable static func recordMeeting(_ c: ConsoleContext) throws -> WebResponse {
        func count(_ name: String, _ label: String) throws -> Int {
            let text = try c.require(name, label)
            guard let n = Int(text.trimmed), n >= 0 else {
                throw YKTError(.usageValue, "\(label)应为不小于 0 的整数，收到「\(text)」", at: SourceLocation(field: label))
            }
            return n
        }
        let m = try c.township.recordMeeting(village: try c.require("village", "村（社区）"), program: try c.require("program", "补贴项目"),
                                             period: try period(c), heldOn: try date(c, "date", "会议日期"),
                                             present: try count("present", "实到人数"), expected: try count("expected", "应到人数"),
                                             outcome: try c.require("outcome", "评议结果"), backdatedReason: c.value("backdated_reason"))
        return c.redirect("/notices", notice: "已登记村民代表会议 \(m.id)：\(m.village) \(m.heldOn.chinese)，实到 \(m.present) 人／应到 \(m.expected) 人")
    }

    @Sendable static func openNotice(_ c: ConsoleContext) throws -> WebResponse {
        let node = c.township
        let meetingID = c.value("meeting").flatMap { Int64($0.trimmed) }
        let meeting = try meetingID.map { try node.meeting($0) }
        let program = try meeting?.programCode ?? c.require("program", "补贴项目")
        let chosen = try meeting.map { try Period(parsing: $0.period) } ?? period(c)
        let n = try node.openNotice(program: program, period: chosen, postedOn: try date(c, "date", "张贴日期"),
                                    place: try c.require("place", "公示地点"), phone: try c.require("phone", "监督举报电话"),
                                    village: meeting == nil ? c.value("village") : nil, backdatedReason: c.value("backdated_reason"),
                                    stage: meeting == nil ? .township : .village, meeting: meetingID)
        return c.redirect("/notices/\(n.id)", notice: "已张贴\(n.stage.chinese) \(n.id)\(n.village.map { "（\($0)）" } ?? "")：\(n.applicationCount) 人，公示期 \(n.firstDay.chinese)至\(n.lastDay.chinese)，最早 \(n.earliestClose.chinese) 可结束")
    }

    @Sendable static func notice(_ c: ConsoleContext) throws -> WebResponse {
        let node = c.township
        let id = try c.id()
        let n: NoticeRecord
        do { n = try node.notice(id) } catch let e as YKTError where e.code == .noticeUnknown { throw ConsoleServer.NotFound() }
        var body = Markup.fields([
            ("公示编号", "\(n.id)"), ("项目", "\(n.programCode)"), ("期次", "\(n.period)"), ("地点", "\(n.place)"),
            ("监督电话", "\(n.phone)"), ("张贴日", "\(n.postedOn.chinese)"),
            ("公示期", "\(n.firstDay.chinese)至\(n.lastDay.chinese)（\(NoticePeriod.minimumWorkingDays)个工作日）"),
            ("最早结束日", "\(n.earliestClose.chinese)"),
            ("阶段", n.stage == .village ? "村级公示（\(n.village ?? "")拟补贴对象名单，评议会议 \(n.meetingID.map(String.init) ?? "")）" : "乡镇公示（审核后的发放清册）"),
            ("状态", "<span id=\"notice-status\">\(n.status == .open ? "公示中" : "已结束（\(n.closedOn?.chinese ?? "")）")</span>"),
            ("人数", "\(n.applicationCount)"), ("金额合计", "\(Markup.yuan(n.totalFen)) 元"),
        ] + (n.proofSHA256.map { [("证明材料 SHA-256", "\($0)")] } ?? []))
        if c.can("notice print") {
            body += "<p>\(Markup.link("/notices/\(id)/print", "打印预览（A4）")) 　\(Markup.link("/notices/\(id)/html", "下载可打印的 HTML")) 　\(Markup.link("/notices/\(id)/csv", "下载 CSV"))</p>"
        }
        let total = try node.applicationsPage(notice: id, offset: 0, limit: 0).total
        let pager = c.pager(total: total)
        let lines = try node.applicationsPage(notice: id, offset: pager.offset, limit: pager.limit).rows
        body += "<h2>公示名单</h2><div id=\"notice-lines\">" + Markup.table(["村（社区）", "姓名", "身份证号", "数量", "金额（元）", "状态"], lines.map {
            ["\($0.village)", "\($0.name)", "\(Masking.residentID($0.residentID))", "\($0.quantity)", "\(Markup.yuan($0.amountFen))", "\($0.status.chinese)"]
        }, numeric: [3, 4]) + "</div>" + pager.links
        let objections = try node.objections(notice: id)
        body += "<h2>异议（\(objections.count) 条）</h2><div id=\"objection-list\">" + Markup.table(["编号", "姓名", "身份证号", "收到日期", "反映人", "内容", "状态", "处理理由"], objections.map {
            ["\($0.id)", "\($0.name)", "\(Masking.residentID($0.residentID))", "\($0.receivedOn.description)", "\(Masking.digits(in: $0.complainant))",
             "\(Masking.digits(in: $0.content))", "\($0.status.chinese)", "\(Masking.digits(in: $0.decisionReason ?? ""))"]
        }, numeric: [0], empty: "没有异议。") + "</div>"
        if n.status == .open {
            if c.can("objection settle") {
                for o in objections where o.status == .open {
                    let fields: HTML = """
                        <span>异议 \(o.id)（\(o.name)）：</span>
                        <label><input type="radio" name="decision" value="dismissed" checked> 不成立</label>
                        <label><input type="radio" name="decision" value="upheld"> 成立（剔除此人）</label>
                        <label>核实情况和处理理由<input name="reason" required size="30"></label>
                        <label>处理日期（不填为今天）<input name="date" type="date"></label>
                        """ + backdatedField
                    body += formWithID("objection-settle-\(o.id)", c.form("/notices/\(id)/objections/\(o.id)", fields, submit: "处理异议 \(o.id)"))
                }
            }
            if c.can("objection add") {
                let fields: HTML = """
                    <label>被提出异议的对象的身份证号<input name="id" required maxlength="18" autocomplete="off"></label>
                    <label>异议的事实和理由<input name="content" required size="40"></label>
                    <label>反映人（可匿名）<input name="complainant"></label>
                    <label>收到日期（不填为今天）<input name="date" type="date"></label>
                    """ + backdatedField
                body += "<h2>登记异议</h2>" + formWithID("objection-add", c.form("/notices/\(id)/objections", fields, submit: "登记异议"))
            }
            if c.can("notice close") {
                let fields: HTML = """
                    <label>结束日期（不填为今天）<input name="date" type="date"></label>
                    <label>公示证明材料（签字汇总表、张贴照片，可不传）<input type="file" name="proof"></label>
                    """ + backdatedField
                body += "<h2>结束公示</h2><p class=\"muted\">须满 5 个工作日（\(n.earliestClose.chinese)起）且异议均已处理。</p>"
                    + formWithID("notice-close", c.form("/notices/\(id)/close", fields, submit: "结束公示", multipart: true))
            }
        }
        return c.page("公示 \(id)（\(n.programCode) \(n.period)）", body)
    }

    @Sendable static func addObjection(_ c: ConsoleContext) throws -> WebResponse {
        let id = try c.id()
        let o = try c.township.recordObjection(notice: id, residentID: try residentID(c), receivedOn: try date(c, "date", "收到日期"),
                                               complainant: c.value("complainant") ?? "", content: try c.require("content", "异议的事实和理由"),
                                               backdatedReason: c.value("backdated_reason"))
        return c.redirect("/notices/\(id)", notice: "已登记异议 \(o.id)（公示 \(o.noticeID)，\(o.name)）")
    }

    @Sendable static func settleObjection(_ c: ConsoleContext) throws -> WebResponse {
        let id = try c.id()
        let objection = try c.id("objection")
        let decision = try c.require("decision", "处理结果")
        guard decision == "upheld" || decision == "dismissed" else {
            throw YKTError(.usageValue, "处理结果应为 成立 或 不成立", at: SourceLocation(field: "处理结果"))
        }
        let o = try c.township.settleObjection(objection, upheld: decision == "upheld", reason: try c.require("reason", "核实情况和处理理由"),
                                               on: try date(c, "date", "处理日期"), backdatedReason: c.value("backdated_reason"))
        return c.redirect("/notices/\(id)", notice: "异议 \(o.id) 已处理：\(o.status.chinese)")
    }

    @Sendable static func closeNotice(_ c: ConsoleContext) throws -> WebResponse {
        let id = try c.id()
        var proofPath: String?
        if let proof = c.request.files["proof"], !proof.bytes.isEmpty {
            // The CLI reads the proof from a file and records its SHA-256: the upload is written
            // to a private temporary file for the library to read, then removed.
            let path = NSTemporaryDirectory() + "ykt-proof-" + UUID().uuidString
            guard FileManager.default.createFile(atPath: path, contents: Data(proof.bytes), attributes: [.posixPermissions: 0o600]) else {
                throw YKTError(.fileWrite, "不能保存上传的证明材料", hint: "检查临时目录的空间")
            }
            proofPath = path
        }
        defer { if let proofPath { try? FileManager.default.removeItem(atPath: proofPath) } }
        let n = try c.township.closeNotice(id, on: try date(c, "date", "结束日期"), proofPath: proofPath, backdatedReason: c.value("backdated_reason"))
        return c.redirect("/notices/\(id)", notice: "公示 \(n.id) 已于 \(n.closedOn?.chinese ?? "") 结束，\(n.applicationCount) 人中可编入清册的金额合计 \(Markup.yuan(n.totalFen)) 元")
    }

    /// A document's own page (its A4 styles inline, nothing else allowed).
    static func document(_ html: String) -> WebResponse {
        var r = WebResponse(status: 200, headers: ["content-type": "text/html; charset=utf-8"], body: Array(html.utf8))
        r.headers["content-security-policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; form-action 'none'"
        return r
    }

    /// The print preview: the very HTML `ykt notice print` writes (`noticeDocument`), dated today.
    @Sendable static func printPreview(_ c: ConsoleContext) throws -> WebResponse {
        document(try c.township.noticeDocument(try c.id(), printedOn: try date(c)).html)
    }

    /// `ykt notice print`: writes the HTML and CSV into `<node>/out` (recorded in the audit
    /// trail) and gives one of them to save.
    static func printed(_ c: ConsoleContext, html: Bool) throws -> WebResponse {
        try saved(c, html: html) { id, day in try c.township.printNotice(id, printedOn: day) }
    }

    /// A print command's files, written by `print` (recorded in the audit trail), one of them
    /// given to save.
    static func saved(_ c: ConsoleContext, html: Bool, _ print: (Int64, CivilDate) throws -> (html: String, csv: String)) throws -> WebResponse {
        let paths = try print(try c.id(), try date(c))
        let path = html ? paths.html : paths.csv
        guard let data = FileManager.default.contents(atPath: path) else {
            throw YKTError(.fileRead, "不能读取刚写出的文件", at: SourceLocation(file: path))
        }
        return .download(Array(data), name: (path as NSString).lastPathComponent,
                         type: html ? "text/html; charset=utf-8" : "text/csv; charset=utf-8")
    }

    @Sendable static func printHTML(_ c: ConsoleContext) throws -> WebResponse { try printed(c, html: true) }
    @Sendable static func printCSV(_ c: ConsoleContext) throws -> WebResponse { try printed(c, html: false) }

    /// The summary table's preview: the very HTML `ykt roster summary` writes (`summaryTableDocument`).
    @Sendable static func summaryPreview(_ c: ConsoleContext) throws -> WebResponse {
        document(try c.township.summaryTableDocument(try c.id(), printedOn: try date(c)).html)
    }

    /// `ykt roster summary`: the HTML and CSV written into `<node>/out`, one given to save.
    @Sendable static func summaryHTML(_ c: ConsoleContext) throws -> WebResponse {
        try saved(c, html: true) { id, day in try c.township.printSummaryTable(id, printedOn: day) }
    }

    @Sendable static func summaryCSV(_ c: ConsoleContext) throws -> WebResponse {
        try saved(c, html: false) { id, day in try c.township.printSummaryTable(id, printedOn: day) }
    }

    // MARK: Rosters

    @Sendable static func rosters(_ c: ConsoleContext) throws -> WebResponse {
        let list = try c.township.rosters()
        let pager = c.pager(total: list.count)
        let rows = list.reversed().dropFirst(pager.offset).prefix(pager.limit)
        var body: HTML = "<div id=\"roster-list\">" + Markup.table(["编号", "项目", "期次", "批次", "状态", "人数", "金额（元）", ""], rows.map {
            ["\($0.id)", "\($0.programCode)", "\($0.period)", "\($0.batch)", "\($0.status.chinese)", "\($0.lineCount)", "\(Markup.yuan($0.totalFen))",
             Markup.link("/rosters/\($0.id)", "查看")]
        }, numeric: [0, 3, 5, 6], empty: "还没有编制过清册。") + "</div>" + pager.links
        if c.can("roster build") {
            let fields: HTML = """
                <label>补贴项目\(try programSelect(c, selected: c.value("program")))</label>
                <label>期次<input name="period" required size="8" value="\(c.value("period") ?? "")"></label>
                """
            body += "<h2>编制清册</h2><p class=\"muted\">取公示已结束且无成立异议的申请（涉密项目取村评议通过的），快照对象、账户和金额；草稿可以重新编制，报送后冻结。</p>"
                + formWithID("roster-build", c.form("/rosters", fields, submit: "编制清册"))
        }
        return c.page("清册", body)
    }

    @Sendable static func buildRoster(_ c: ConsoleContext) throws -> WebResponse {
        let r = try c.township.buildRoster(program: try c.require("program", "补贴项目"), period: try period(c))
        return c.redirect("/rosters/\(r.id)", notice: "已编制清册 \(r.id)（草稿）：\(r.lineCount) 人，\(Markup.yuan(r.totalFen)) 元。请核对后由乡镇领导报送。")
    }

    @Sendable static func roster(_ c: ConsoleContext) throws -> WebResponse {
        let node = c.township
        let id = try c.id()
        let r: RosterRecord
        do { r = try node.roster(id) } catch let e as YKTError where e.code == .rosterUnknown { throw ConsoleServer.NotFound() }
        var body = Markup.fields([
            ("清册编号", "\(r.id)"), ("项目", "\(r.programCode)"), ("期次", "\(r.period)"), ("批次", "\(r.batch)"),
            ("状态", "<span id=\"roster-status\">\(r.status.chinese)</span>"), ("人数", "\(r.lineCount)"), ("金额合计", "\(Markup.yuan(r.totalFen)) 元"),
            ("编制时间", "\(Markup.when(r.createdAt))"), ("报送时间", "\(r.submittedAt.map(Markup.when) ?? "—")"),
            ("编制人", "\(r.preparedBy?.description ?? "未记录（报送前须重新编制）")"), ("报送人", "\(r.submittedBy?.description ?? "—")"),
        ])
        if c.can("roster summary") {
            body += "<p id=\"roster-summary\">\(Markup.link("/rosters/\(id)/summary", "打印汇总表"))（A4，按村汇总，两人签字盖章后随清册报送）"
                + "　\(Markup.link("/rosters/\(id)/summary/html", "下载可打印的 HTML"))　\(Markup.link("/rosters/\(id)/summary/csv", "下载 CSV"))</p>"
        }
        let decisions = try node.rosterDecisions(id)
        if !decisions.isEmpty {
            let words = ["received": "县财政已接收", "reviewed": "业务主管部门审核通过", "rejected": "县里退回", "approved": "财政已审定"]
            body += "<h2>县里的办理情况</h2><ul>" + HTML.join(decisions.map { d in
                "<li>\(Markup.when(d.at))　\(words[d.decision] ?? d.decision)\(d.by.isEmpty ? "" : "（\(d.by)）")\(d.reason.isEmpty ? "" : "：\(d.reason)")</li>"
            }) + "</ul>"
        }
        body += "<h2>限时办理</h2>" + CountyMoneyPages.stepTable(try node.timedSteps(on: c.today).filter { $0.roster == id })
        if r.status == .draft, c.can("roster submit") {
            body += "<h2>报送</h2><p>核对无误后报送：清册冻结并排入待同步队列（离线时也可报送）。这是须本人签名的决定。</p>"
                + formWithID("roster-submit", c.form("/rosters/\(id)/submit", "", submit: "报送清册 \(id)", signed: true))
        } else if r.status == .draft {
            body += Markup.box("warn", "草稿：由乡镇领导核对后报送。")
        }
        if r.status != .draft, c.can("payment notice"), !(try node.paymentResults(roster: id).isEmpty) {
            body += "<p>\(Markup.link("/rosters/\(id)/payment-notice", "发放结果公示（打印预览）"))</p>"
        }
        let pager = c.pager(total: r.lineCount)
        let lines = try node.rosterLines(id, offset: pager.offset, limit: pager.limit)
        body += "<h2>明细</h2><div id=\"roster-lines\">" + Markup.table(["序号", "村（社区）", "姓名", "身份证号", "开户银行", "账号", "数量", "金额（元）"], lines.map {
            ["\($0.lineNo)", "\($0.village)", "\($0.name)", "\(Masking.residentID($0.residentID))", "\($0.bank)",
             "\(Masking.account($0.accountNumber))", "\($0.quantity)", "\(Markup.yuan($0.amountFen))"]
        }, numeric: [0, 6, 7]) + "</div>" + pager.links
        return c.page("清册 \(id)（\(r.programCode) \(r.period)）", body)
    }

    @Sendable static func submitRoster(_ c: ConsoleContext) throws -> WebResponse {
        let id = try c.id()
        try c.unlock()
        let r = try c.township.submitRoster(id)
        return c.redirect("/rosters/\(id)", notice: "清册 \(r.id) 已报送并冻结：\(r.lineCount) 人，\(Markup.yuan(r.totalFen)) 元，等待同步到县财政")
    }

    @Sendable static func paymentNotice(_ c: ConsoleContext) throws -> WebResponse {
        document(try c.township.paymentNoticeDocument(try c.id(), printedOn: try date(c)).html)
    }

    // MARK: Payments

    @Sendable static func payments(_ c: ConsoleContext) throws -> WebResponse {
        let node = c.township
        let failed = try node.paymentsToCorrect()
        let pager = c.pager(total: failed.count)
        let rows = failed.dropFirst(pager.offset).prefix(pager.limit)
        var body: HTML = "<h2>发放失败待更正（\(failed.count) 笔，\(Markup.yuan(failed.reduce(Int64(0)) { $0 + $1.amountFen })) 元）</h2>"
        body += "<div id=\"payments-to-correct\">" + Markup.table(["支付编号", "清册", "序号", "批次", "姓名", "身份证号", "开户银行", "账号", "金额（元）", "失败原因", "结果日期", ""], rows.map { p in
            ["\(p.payment)", Markup.link("/rosters/\(p.rosterID)", String(p.rosterID)), "\(p.lineNo)", "\(p.batch)", "\(p.name)", "\(Masking.residentID(p.residentID))",
             "\(p.bank)", "\(Masking.account(p.accountNumber))", "\(Markup.yuan(p.amountFen))", "\(p.reason ?? p.reasonCode ?? "")", "\(p.resultOn)",
             c.can("payment correct") ? Markup.link("/payments/\(p.payment)", "更正") : ""]
        }, numeric: [0, 2, 3, 8], empty: "没有待更正的失败发放。") + "</div>" + pager.links
        return c.page("发放结果与更正", body)
    }

    static func failedPayment(_ c: ConsoleContext) throws -> TownshipNode.PaymentResult {
        let id = try c.id()
        guard let p = try c.township.paymentResults(status: "failed").first(where: { $0.payment == id }) else { throw ConsoleServer.NotFound() }
        return p
    }

    static func paymentMarkup(_ c: ConsoleContext, _ p: TownshipNode.PaymentResult, error: YKTError?) -> HTML {
        var body: HTML = error.map(Markup.error) ?? ""
        body += Markup.fields([
            ("支付编号", "\(p.payment)"), ("姓名", "\(p.name)"), ("身份证号", "\(Masking.residentID(p.residentID))"),
            ("原账户", "\(p.bank) \(Masking.account(p.accountNumber))"), ("金额", "\(Markup.yuan(p.amountFen)) 元"),
            ("失败原因", "\(p.reason ?? p.reasonCode ?? "")"), ("已更正", "\(p.correctedAt.map(Markup.when) ?? "否")"),
        ])
        guard p.correctedAt == nil else { return body }
        let fields: HTML = """
            <fieldset><legend>换新的指定账户（须本人签字确认书）</legend>
            <label>新开户银行<input name="bank" value="\(c.value("bank") ?? "")"></label>
            <label>账户类型<select name="account_kind"><option value="card"\(c.value("account_kind") == "card" ? " selected" : "")>银行卡</option><option value="social-security-card"\(c.value("account_kind") == "social-security-card" ? " selected" : "")>社保卡</option><option value="passbook"\(c.value("account_kind") == "passbook" ? " selected" : "")>存折</option></select></label>
            <label>新账号<input name="account" inputmode="numeric" autocomplete="off" value="\(c.value("account") ?? "")"></label>
            <label>本人签字确认书编号<input name="confirmation" value="\(c.value("confirmation") ?? "")"></label></fieldset>
            <label>更正说明（不换账户时必填，例如 账户已解冻）<input name="note" size="30" value="\(c.value("note") ?? "")"></label>
            """
        return body + formWithID("payment-correct", c.form("/payments/\(p.payment)", fields, submit: "更正并等待补发"))
    }

    @Sendable static func paymentForm(_ c: ConsoleContext) throws -> WebResponse {
        let p = try failedPayment(c)
        return c.page("更正发放 \(p.payment)", paymentMarkup(c, p, error: nil))
    }

    @Sendable static func correctPayment(_ c: ConsoleContext) throws -> WebResponse {
        let p = try failedPayment(c)
        do {
            // As `ykt payment correct`: a new account when an account number is given.
            var account: AccountInput?
            if c.value("account") != nil {
                let kind: AccountKind
                do { kind = try AccountKind(parsing: c.value("account_kind") ?? "card") } catch { throw error.located(SourceLocation(field: "账户类型")) }
                let number: AccountNumber
                do { number = try AccountNumber(try c.require("account", "新账号"), kind: kind) } catch let e as YKTError {
                    throw e.location == nil ? e.located(SourceLocation(field: "新账号")) : e
                }
                account = AccountInput(bank: try c.require("bank", "新开户银行"), number: number,
                                       confirmation: try c.require("confirmation", "本人签字确认书编号"))
            }
            try c.township.correctPayment(p.payment, newAccount: account, note: c.value("note") ?? "")
            return c.redirect("/payments", notice: "支付 \(p.payment) 已更正，等待同步到县财政补发")
        } catch let e as YKTError {
            return c.page("更正发放 \(p.payment)", paymentMarkup(c, p, error: e), status: 400)
        }
    }

    // MARK: Messages

    @Sendable static func inbox(_ c: ConsoleContext) throws -> WebResponse {
        let node = c.township
        var body: HTML = ""
        let decisions = try node.decisionsToAct()
        if !decisions.isEmpty {
            body += "<h2>待办的冲突处理决定（\(decisions.count) 项）</h2>"
            for d in decisions {
                let keeper = String(d.decision.dropFirst("keep-".count))
                var line: HTML = "<p>冲突 \(d.conflict)：县里决定 \(d.person) 由乡镇 \(keeper) 登记，本乡镇须从底册移除此人。理由：\(d.reason)</p>"
                if c.can("beneficiary remove") {
                    line += formWithID("inbox-remove-\(d.conflict)", c.form("/inbox/remove",
                        "<input type=\"hidden\" name=\"conflict\" value=\"\(d.conflict)\"><label>补充说明（可不填）<input name=\"reason\" size=\"30\"></label>",
                        submit: "核实无误，从底册移除（冲突 \(d.conflict)）", danger: true))
                }
                body += "<div class=\"box warn\">\(line)</div>"
            }
        }
        // Messages arrive a few a week; the whole inbox is read and shown a page at a time.
        let items = try node.inboxItems()
        let pager = c.pager(total: items.count)
        let rows = items.reversed().dropFirst(pager.offset).prefix(pager.limit)
        body += "<h2>收到的县财政消息</h2><div id=\"inbox-list\">" + Markup.table(["序号", "收到时间", "类别", "内容", "须办理"], rows.map {
            ["\($0.seq)", "\(Markup.when($0.receivedAt))", "\($0.kindText)", "\(Masking.digits(in: $0.summary))", "\($0.action ?? "—")"]
        }, numeric: [0], empty: "还没有收到县财政的消息（同步后收到）。") + "</div>" + pager.links
        return c.page("县财政消息", body)
    }

    @Sendable static func removeByDecision(_ c: ConsoleContext) throws -> WebResponse {
        let conflict = try c.number("conflict", "冲突编号")
        let node = c.township
        guard let d = try node.decisionsToAct().first(where: { $0.conflict == conflict }) else {
            throw YKTError(.conflictState, "冲突 \(conflict) 没有要本乡镇移除的人（没有收到这样的决定，或已移除）",
                           at: SourceLocation(field: "冲突编号"), hint: "刷新收件箱查看待办的决定")
        }
        let withdrawn = try node.removeByDecision(d, note: c.value("reason"))
        return c.redirect("/inbox", notice: "冲突 \(d.conflict)：已从底册移除 \(d.person)" + (withdrawn > 0 ? "，撤回未编入清册的申请 \(withdrawn) 条" : "") + "；下次同步时报送县财政")
    }

    @Sendable static func outbox(_ c: ConsoleContext) throws -> WebResponse {
        let node = c.township
        let summary = try node.outboxSummary()
        var body: HTML = "<h2>汇总</h2><div id=\"outbox-summary\">" + Markup.table(["操作", "状态", "条数"], summary.map {
            ["\(SyncWords.operation($0.kind))", "\(SyncWords.state($0.state))", "\($0.count)"]
        }, numeric: [2], empty: "发件箱是空的：还没有办理过要报送县财政的操作。") + "</div>"
        let problems = try node.outboxProblems(limit: 200)
        if !problems.isEmpty {
            body += "<h2>县里退回或记为冲突的操作</h2><div id=\"outbox-problems\">" + Markup.table(["序号", "操作", "对象", "状态", "规则", "县里的理由", "冲突编号"], problems.map {
                ["\($0.seq)", "\(SyncWords.operation($0.kind))", "\(Masking.entity($0.entity))", "\(SyncWords.state($0.status))", "\($0.rule ?? "")",
                 "\(Masking.digits(in: $0.reason ?? ""))", "\($0.conflict.map(String.init) ?? "")"]
            }, numeric: [0, 6]) + "</div>"
        }
        // Operations a page at a time by sequence number (keyset: `after`).
        let state = c.value("state")
        let after = Int64(c.value("after") ?? "0") ?? 0
        let size = 50
        let ops = try node.outbox(state: state, after: after, limit: size + 1)
        var states: HTML = "<option value=\"\">（全部）</option>"
        for s in ["pending", "batched", "accepted", "rejected", "conflicted", "decided"] {
            states += "<option value=\"\(s)\"\(s == state ? " selected" : "")>\(SyncWords.state(s))</option>"
        }
        body += """
            <h2>操作</h2><form method="get" action="/outbox" id="outbox-filter" class="form">
            <label>状态<select name="state">\(states)</select></label><button type="submit">筛选</button></form>
            """
        body += "<div id=\"outbox-list\">" + Markup.table(["序号", "操作", "对象", "基于版本", "时间", "状态"], ops.prefix(size).map {
            ["\($0.seq)", "\(SyncWords.operation($0.kind))", "\(Masking.entity($0.entity))", "\($0.baseVersion)", "\(Markup.when($0.at))", "\(SyncWords.state($0.state))"]
        }, numeric: [0, 3], empty: "没有这样的操作。") + "</div>"
        if ops.count > size, let last = ops.prefix(size).last {
            body += "<nav class=\"pager\">" + Markup.link("/outbox", "下一页", query: [("state", state ?? ""), ("after", String(last.seq))]) + "</nav>"
        }
        return c.page("报送县财政", body)
    }
}
