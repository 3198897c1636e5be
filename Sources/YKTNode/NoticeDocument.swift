import YKTCore

/// A printable public document: an A4 HTML page in Chinese and the same table as CSV (UTF-8
/// with BOM, for WPS/Excel). Personal data is always masked here: resident IDs keep region
/// code and last four, accounts first and last four, phones are never listed.
public struct NoticeDocument: Sendable {
    public var title: String
    public var html: String
    public var csv: String

    /// One table laid out twice: the A4 page, and the CSV with the title, `csvHead` rows, the
    /// column names, the rows, the totals and `csvTail` rows. In the CSV the columns at `codes`
    /// (resident IDs, accounts, phones) are written so Excel and WPS keep them as text.
    public init(title: String, intro: [String], columns: [String], numeric: Set<Int>, rows: [[String]], totals: [String]?,
                outro: [String], csvHead: [[String]] = [], csvTail: [[String]] = [], codes: Set<Int> = []) {
        self.title = title
        html = Self.page(title: title, intro: intro, columns: columns, numeric: numeric, rows: rows, totals: totals, outro: outro)
        var w = CSVWriter()
        w.row([title])
        csvHead.forEach { w.row($0) }
        w.row(columns)
        rows.forEach { w.row($0, codes: codes) }
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

