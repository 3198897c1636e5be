import YKTCore

/// A printable public document: an A4 HTML page in Chinese and the same table as CSV (UTF-8
/// with BOM, for WPS/Excel). Personal data is always masked here: resident IDs keep region
/// code and last four, accounts first and last four, phones are never listed.
public struct NoticeDocument: Sendable {
    public var title: String
    public var html: String
    public var csv: String

    /// One table laid out twice: the A4 page, and the CSV with the title, `csvHead` rows, the
    /// column names, the rows, the totals and `csvTail` rows.
    public init(title: String, intro: [String], columns: [String], numeric: Set<Int>, rows: [[String]], totals: [String]?,
                outro: [String], csvHead: [[String]] = [], csvTail: [[String]] = []) {
        self.title = title
        html = Self.page(title: title, intro: intro, columns: columns, numeric: numeric, rows: rows, totals: totals, outro: outro)
        var w = CSVWriter()
        w.row([title])
        csvHead.forEach { w.row($0) }
        w.row(columns)
        rows.forEach { w.row($0) }
        if let totals { w.row(totals) }
        csvTail.forEach { w.row($0) }
        csv = w.text
    }

    /// Writes `<base>.html` and `<base>.csv` into `directory`, each atomically. Returns the paths.
    public func write(base: String, into directory: String) throws(YKTError) -> (html: String, csv: String) {
        let htmlPath = NSStringPath(directory).appending(base + ".html")
        let csvPath = NSStringPath(directory).appending(base + ".csv")
        try FileOutput.writeAtomically(html, to: htmlPath)
        try FileOutput.writeAtomically(csv, to: csvPath)
        return (htmlPath, csvPath)
    }

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// Lays out a titled table with paragraphs before and after, on A4.
    public static func page(title: String, intro: [String], columns: [String], numeric: Set<Int>, rows: [[String]],
                     totals: [String]?, outro: [String]) -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="zh-CN"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        @page { size: A4; margin: 18mm 15mm; }
        body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; font-size: 11pt; color: #000; }
        h1 { font-family: "SimHei", "Heiti SC", "Noto Sans CJK SC", sans-serif; font-size: 18pt; text-align: center; margin: 0 0 8mm; }
        p { line-height: 1.7; text-indent: 2em; margin: 0 0 2mm; }
        table { width: 100%; border-collapse: collapse; margin: 4mm 0; }
        th, td { border: 0.5pt solid #000; padding: 1.2mm 2mm; }
        th { background: #eee; font-weight: bold; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        thead { display: table-header-group; }
        tr { page-break-inside: avoid; }
        .sign { text-align: right; text-indent: 0; margin-top: 8mm; }
        </style></head><body>
        <h1>\(escape(title))</h1>

        """
        for p in intro { h += "<p>\(escape(p))</p>\n" }
        h += "<table><thead><tr>" + columns.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>\n"
        for row in rows {
            h += "<tr>" + row.enumerated().map { i, v in
                numeric.contains(i) ? "<td class=\"n\">\(escape(v))</td>" : "<td>\(escape(v))</td>"
            }.joined() + "</tr>\n"
        }
        if let totals {
            h += "<tr>" + totals.enumerated().map { i, v in
                numeric.contains(i) ? "<td class=\"n\"><b>\(escape(v))</b></td>" : "<td><b>\(escape(v))</b></td>"
            }.joined() + "</tr>\n"
        }
        h += "</tbody></table>\n"
        for (i, p) in outro.enumerated() {
            h += i >= outro.count - 2 ? "<p class=\"sign\">\(escape(p))</p>\n" : "<p>\(escape(p))</p>\n"
        }
        h += "</body></html>\n"
        return h
    }
}

extension TownshipNode {
    /// The public notice (公示) of a notice, masked. Secret programs have none.
    public func noticeDocument(_ id: Int64, printedOn: CivilDate) throws -> NoticeDocument {
        let n = try notice(id)
        let program = try program(n.programCode)
        if program.secret {
            throw YKTError(.noticeSecret, "「\(program.name)」是涉密项目，不生成公示文件")
        }
        let period = try Period(parsing: n.period)
        // Lines removed by an upheld objection are no longer published.
        let lines = try applications(notice: id).filter { $0.status != .removed }
        let title = "\(config.name)\(period.chinese)\(program.name)发放对象公示"
        let columns = ["序号", "村（社区）", "姓名", "身份证号", "数量（\(program.unit.quantityUnit)）", "补贴标准（\(program.unit.chinese)）", "补贴金额（元）"]
        var rows: [[String]] = []
        var total = Fen.zero
        for (i, a) in lines.enumerated() {
            rows.append([String(i + 1), a.village, a.name, Masking.residentID(a.residentID), a.quantity,
                         Fen(a.standardFen).yuan, Fen(a.amountFen).yuanGrouped])
            total = total + Fen(a.amountFen)
        }
        let intro = [
            "根据\(program.department)\(program.name)政策（\(program.basis.isEmpty ? "补贴政策清单" : program.basis)），" +
            "经村（社区）评议、乡镇审核，现将\(period.chinese)\(program.name)拟发放对象及金额予以公示，接受社会监督。",
            "公示时间：\(n.firstDay.chinese)至\(n.lastDay.chinese)（\(NoticePeriod.minimumWorkingDays)个工作日）。公示地点：\(n.place)。",
        ]
        let outro = [
            "公示期间，如对公示对象或金额有异议，请以书面或电话形式向\(config.name)反映。监督举报电话：\(n.phone)。",
            "为保护个人信息，身份证号只显示前六位和后四位。",
            config.name,
            printedOn.chinese,
        ]
        let totals = ["合计", "", "\(lines.count) 人", "", "", "", total.yuanGrouped]
        return NoticeDocument(title: title, intro: intro, columns: columns, numeric: [0, 4, 5, 6], rows: rows, totals: totals,
                              outro: outro, csvHead: [["公示时间", "\(n.firstDay)至\(n.lastDay)", "公示地点", n.place, "监督电话", n.phone]])
    }

    /// Writes the notice's HTML and CSV into `directory` (default `<node>/out`) and records it in
    /// the audit trail. Returns the two paths.
    public func printNotice(_ id: Int64, into directory: String? = nil, printedOn: CivilDate) throws -> (html: String, csv: String) {
        try write(try noticeDocument(id, printedOn: printedOn), base: "公示-\(config.nodeID)-\(id)", into: directory,
                  action: "notice.print", object: "notice#\(id)")
    }

    /// Writes a document's HTML and CSV as `<base>.html` and `<base>.csv` into `directory`
    /// (default `<node>/out`), recorded in the audit trail. Returns the two paths.
    func write(_ doc: NoticeDocument, base: String, into directory: String?, action: String, object: String) throws -> (html: String, csv: String) {
        try perform(action) {
            (try doc.write(base: base, into: directory ?? NSStringPath(self.directory).appending("out")), AuditNote(object: object, detail: base))
        }
    }
}
