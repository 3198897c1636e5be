import Foundation
import YKTCore
import YKTNode
import YKTCounty

/// The monthly disbursement report (`ykt report monthly`) and the reconciliation with a bank's
/// statement (`ykt reconcile`): their figures as tables and bar charts, and the HTML and CSV
/// files the CLI writes, to download.
enum ReportPages {
    static let pages: [ConsolePage] = [
        ConsolePage("GET", "/reports/monthly", node: .county, command: "report monthly", menu: ("查询与报表", "发放月报"), handler: monthly),
        ConsolePage("POST", "/reports/monthly", node: .county, command: "report monthly", handler: monthlyDownload),
        ConsolePage("GET", "/reports/reconcile", node: .county, command: "reconcile", menu: ("查询与报表", "银行对账"), handler: reconcileForm),
        ConsolePage("POST", "/reports/reconcile", node: .county, command: "reconcile", handler: reconcile),
    ]

    static func month(_ c: ConsoleContext) throws -> Period {
        let text = c.value("month") ?? String(c.today.description.prefix(7))
        let p: Period
        do { p = try Period(parsing: text) } catch { throw error.located(SourceLocation(field: "月份")) }
        guard p.kind == .month else { throw YKTError(.usageValue, "月份应为 YYYY-MM，例如 2026-11", at: SourceLocation(field: "月份")) }
        return p
    }

    static func yuanText(_ fen: Int64) -> String { Markup.yuan(fen) + " 元" }

    @Sendable static func monthly(_ c: ConsoleContext) throws -> WebResponse {
        let m = try month(c)
        let rows = try c.county.monthlyReport(month: m)
        var body: HTML = """
            <form method="get" action="/reports/monthly" class="form" id="monthly-month">\
            <label>月份<input type="month" name="month" value="\(m.description)" required></label><button type="submit">查看</button></form>
            """
        body += "<p class=\"muted\">统计口径：发放成功、失败按代发银行回盘日期计入当月；补发按补发批次生成日期；月末未发放为月末前已审定、截至月末仍未发放成功的清册明细。本表不含个人身份信息。</p>"
        func sum(_ f: (CountyNode.MonthlyRow) -> Int64) -> Int64 { rows.reduce(Int64(0)) { $0 + f($1) } }
        var table: [[HTML]] = rows.map { r in
            ["\(r.programName)", "\(r.townshipName)", "\(r.paid)", "\(Markup.yuan(r.paidFen))", "\(r.failed)", "\(Markup.yuan(r.failedFen))",
             "\(Markup.yuan(r.returnedFen))", "\(r.reissued)", "\(r.outstanding)", "\(Markup.yuan(r.outstandingFen))"]
        }
        if !rows.isEmpty {
            let paidTotal: HTML = "<strong id=\"monthly-paid-total\">\(Markup.yuan(sum { $0.paidFen }))</strong>"
            table.append(["<strong>合计</strong>", "", "\(sum { Int64($0.paid) })", paidTotal, "\(sum { Int64($0.failed) })",
                          "\(Markup.yuan(sum { $0.failedFen }))", "\(Markup.yuan(sum { $0.returnedFen }))", "\(sum { Int64($0.reissued) })",
                          "\(sum { Int64($0.outstanding) })", "\(Markup.yuan(sum { $0.outstandingFen }))"])
        }
        body += "<div id=\"monthly-report\">" + Markup.table(["补贴项目", "乡镇", "发放成功（笔）", "发放金额（元）", "发放失败（笔）", "失败金额（元）",
                                                             "退回金额（元）", "补发（笔）", "月末未发放（笔）", "未发放金额（元）"], table,
                                                            numeric: Set(2...9), caption: "\(m.chinese)发放情况", empty: "本月无发放") + "</div>"
        if !rows.isEmpty {
            // Charts: by program (paid and failed amounts) and by township (paid amounts).
            var programs: [String: (paid: Int64, failed: Int64)] = [:]
            var towns: [String: Int64] = [:]
            for r in rows {
                programs[r.programName, default: (0, 0)].paid += r.paidFen
                programs[r.programName, default: (0, 0)].failed += r.failedFen
                towns[r.townshipName, default: 0] += r.paidFen
            }
            let byProgram = SVGChart(title: "\(m.chinese)各项目发放金额（元）", series: ["发放成功", "发放失败"],
                                     rows: programs.sorted { $0.key < $1.key }.map { SVGChart.Row($0.key, [$0.value.paid, $0.value.failed]) },
                                     format: { Markup.yuan($0) })
            let byTown = SVGChart(title: "\(m.chinese)各乡镇发放金额（元）", series: ["发放成功"],
                                  rows: towns.sorted { $0.value > $1.value }.map { SVGChart.Row($0.key, [$0.value]) }, format: { Markup.yuan($0) })
            body += "<div class=\"chart-box\" id=\"monthly-chart-programs\">\(byProgram.svg)</div><div class=\"chart-box\" id=\"monthly-chart-townships\">\(byTown.svg)</div>"
        }
        let fields: HTML = """
            <input type="hidden" name="month" value="\(m.description)">\
            <label>格式<select name="format"><option value="html">A4 打印版（HTML）</option><option value="csv">表格（CSV）</option></select></label>
            """
        body += "<h2>下载月报文件</h2>" + c.form("/reports/monthly", fields, submit: "下载月报", id: "monthly-download")
        return c.page("发放月报", body)
    }

    /// A fresh directory for the files a report writes, removed once read back.
    static func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "ykt-console-report-" + UUID().uuidString
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        } catch {
            throw YKTError(.fileWrite, "不能建立临时目录 \(path)：\(error.localizedDescription)", hint: "检查临时目录（TMPDIR）的空间和权限")
        }
        return path
    }

    static func download(_ paths: (html: String, csv: String), format: String) throws -> WebResponse {
        let path = format == "csv" ? paths.csv : paths.html
        guard let data = FileManager.default.contents(atPath: path) else {
            throw YKTError(.fileRead, "读不到刚写出的报告 \(path)")
        }
        return .download(Array(data), name: (path as NSString).lastPathComponent,
                         type: format == "csv" ? "text/csv; charset=utf-8" : "text/html; charset=utf-8")
    }

    static func format(_ c: ConsoleContext) throws -> String {
        let f = c.value("format") ?? "html"
        guard f == "html" || f == "csv" else {
            throw YKTError(.usageValue, "格式应为 html 或 csv", at: SourceLocation(field: "格式"))
        }
        return f
    }

    /// The files `ykt report monthly` writes (and audits), handed to the browser.
    @Sendable static func monthlyDownload(_ c: ConsoleContext) throws -> WebResponse {
        let m = try month(c), f = try format(c)
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try download(try c.county.printMonthlyReport(month: m, into: dir, printedOn: c.today), format: f)
    }

    // MARK: Reconciliation

    static func reconcileFields(_ c: ConsoleContext) -> HTML {
        let period = c.request.method == "POST" ? c.value("period") ?? "" : String(c.today.description.prefix(7))
        return """
            <label>银行对账单<input type="file" name="statement" required></label>\
            <label>对账期间（月 YYYY-MM 或年 YYYY）<input name="period" required value="\(period)" pattern="[0-9]{4}(-[0-9]{2})?"></label>\
            <label>结果<select name="output"><option value="page">在本页显示</option><option value="html">下载报告（HTML）</option>\
            <option value="csv">下载报告（CSV）</option></select></label>
            """
    }

    @Sendable static func reconcileForm(_ c: ConsoleContext) throws -> WebResponse {
        c.page("银行对账", "<p>上传代发银行出具的对账单（格式见 docs/bank-files.md），与县财政按回盘日期在对账期间内的支付逐笔核对。每次对账记入审计日志。</p>"
               + c.form("/reports/reconcile", reconcileFields(c), submit: "对账", multipart: true, id: "reconcile"))
    }

    /// A name for the uploaded statement: the browser's, when it is a plain file name.
    static func statementName(_ given: String) -> String {
        let name = (given as NSString).lastPathComponent
        let safe = !name.isEmpty && name.count <= 100 && !name.hasPrefix(".")
            && name.unicodeScalars.allSatisfy { !CharacterSet.controlCharacters.contains($0) && $0 != "/" && $0 != "\\" }
        return safe ? name : "对账单.txt"
    }

    @Sendable static func reconcile(_ c: ConsoleContext) throws -> WebResponse {
        let form = c.form("/reports/reconcile", reconcileFields(c), submit: "对账", multipart: true, id: "reconcile")
        do {
            guard let upload = c.request.files["statement"], !upload.bytes.isEmpty else {
                throw YKTError(.fieldMissing, "请选择银行对账单文件", at: SourceLocation(field: "银行对账单"))
            }
            let text = try c.require("period", "对账期间")
            let period: Period
            do { period = try Period(parsing: text) } catch { throw error.located(SourceLocation(field: "对账期间")) }
            let (from, to) = try CountyNode.reconciliationDates(period, field: "对账期间")
            let output = c.value("output") ?? "page"
            let dir = try scratch()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = NSStringPath(dir).appending(statementName(upload.name))
            guard FileManager.default.createFile(atPath: path, contents: Data(upload.bytes), attributes: [.posixPermissions: 0o600]) else {
                throw YKTError(.fileWrite, "不能保存上传的对账单", hint: "检查临时目录（TMPDIR）的空间和权限")
            }
            let county = c.county
            let r = try county.reconcile(statementPath: path, from: from, to: to)
            if output == "html" || output == "csv" {
                let out = NSStringPath(dir).appending("out")
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
                return try download(try county.printReconciliation(r, into: out, printedOn: c.today), format: output)
            }
            let names = Dictionary(try county.programs().map { ($0.program.code, $0.program.name) }, uniquingKeysWith: { a, _ in a })
            var body: HTML = r.clean
                ? Markup.box("ok", "对账结果：\(r.bank) \(r.from) 至 \(r.to) 账实相符，无差异。")
                : Markup.box("error", "对账结果：\(r.bank) \(r.from) 至 \(r.to) 有 <strong>\(r.differences.count)</strong> 处差异，须与代发银行逐笔核实。")
            body += "<div id=\"reconcile-programs\">" + Markup.table(["补贴项目", "县财政笔数", "县财政金额（元）", "银行笔数", "银行金额（元）", "差额（元）"], r.programs.map { p in
                ["\(names[p.program] ?? p.program)", "\(p.countyCount)", "\(Markup.yuan(p.countyFen))", "\(p.bankCount)", "\(Markup.yuan(p.bankFen))",
                 "\(Fen(p.countyFen - p.bankFen).yuan)"]
            }, numeric: [1, 2, 3, 4, 5], caption: "各项目笔数和金额", empty: "对账期间内没有支付") + "</div>"
            if !r.programs.isEmpty {
                let chart = SVGChart(title: "各项目县财政与银行金额（元）", series: ["县财政", "银行"],
                                     rows: r.programs.map { SVGChart.Row(names[$0.program] ?? $0.program, [$0.countyFen, $0.bankFen]) },
                                     format: { Markup.yuan($0) })
                body += "<div class=\"chart-box\" id=\"reconcile-chart\">\(chart.svg)</div>"
            }
            if !r.differences.isEmpty {
                let shown = r.differences.prefix(500)
                body += "<h2>差异</h2><div id=\"reconcile-differences\">" + Markup.table(["支付", "补贴项目", "差异", "县财政（元）", "银行（元）"], shown.map { d in
                    ["\(d.lineID)", "\(names[d.program] ?? d.program)", "\(d.kindChinese)", "\(d.countyFen.map { Fen($0).yuan } ?? "—")",
                     "\(d.bankFen.map { Fen($0).yuan } ?? "—")"]
                }, numeric: [0, 3, 4]) + "</div>"
                if r.differences.count > shown.count {
                    body += "<p class=\"muted\">只列出前 \(shown.count) 处；全部差异见下载的报告（CSV）。</p>"
                }
            }
            return c.page("银行对账", body + "<h2>再对一份</h2>" + form)
        } catch let e as YKTError where e.code != .roleMissing {
            return c.page("银行对账", Markup.error(e) + form, status: 400)
        }
    }
}
