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
                outro: [String], csvHead: [[String]] = [], csvTail: [[String]] = [], codes: Set<Int> = [], qr: QueryCode? = nil) {
        self.title = title
        html = Self.page(title: title, intro: intro, columns: columns, numeric: numeric, rows: rows, totals: totals, outro: outro,
                         qr: qr)
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

    /// Escapes `& < > " '` for HTML text and quoted attribute values (the console's `HTML` too).
    public static func escape(_ s: String) -> String {
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

    /// Lays out a titled table with paragraphs before and after, on A4 portrait: the header row
    /// repeats on every page, every page is numbered 「第 x 页 共 y 页」 (CSS `@page` margin box,
    /// which Chromium prints), rows never split across pages, and the last rows, the totals, the
    /// closing paragraphs and the signature stay together so that the signature is never alone
    /// on the last page. The last two `outro` lines are the signature: the issuing body and the
    /// date, with room for the seal. With a `layout`, the columns have fixed widths and each
    /// cell keeps to one line (see `PrintLayout`). With a `qr`, the query page's QR code and its
    /// caption stand in the top right corner of the first page, beside the opening paragraphs.
    public static func page(title: String, intro: [String], columns: [String], numeric: Set<Int>, rows: [[String]],
                            totals: [String]?, outro: [String], layout: PrintLayout? = nil, qr: QueryCode? = nil) -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="zh-CN"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        @page { size: A4 portrait; margin: 14mm 12mm 16mm;
          @bottom-center { content: "第 " counter(page) " 页 共 " counter(pages) " 页"; font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; font-size: 9pt; } }
        body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; font-size: \(PrintLayout.bodyPoints)pt; color: #000; margin: 0; }
        h1 { font-family: "SimHei", "Heiti SC", "Noto Sans CJK SC", sans-serif; font-size: 16pt; text-align: center; margin: 0 0 5mm; }
        p { line-height: 1.6; text-indent: 2em; margin: 0 0 1.5mm; }
        table { width: 100%; border-collapse: collapse; margin: 3mm 0 0; }
        th, td { border: 0.5pt solid #000; padding: 0.8mm 1mm; }
        th { font-size: \(PrintLayout.headerPoints)pt; background: #eee; font-weight: bold; }
        table.fixed { table-layout: fixed; }
        table.fixed th, table.fixed td { height: \(PrintLayout.rowMillimetres)mm; padding: 0 1mm; white-space: nowrap; }
        table.fixed td.w { white-space: normal; line-height: 1.2; }
        td small { font-size: \(PrintLayout.remarkPoints)pt; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        thead { display: table-header-group; }
        tr { break-inside: avoid; page-break-inside: avoid; }
        tbody.end { break-inside: avoid; page-break-inside: avoid; }
        tr.outro td, table.fixed tr.outro td { border: none; padding: 3mm 0 0; height: auto; white-space: normal; }
        .nw { white-space: nowrap; }
        .sign { width: 62mm; min-height: 40mm; margin: 2mm 4mm 0 auto; padding-top: 10mm; box-sizing: border-box; text-align: center; line-height: 2; break-inside: avoid; }
        \(qr == nil ? "" : QueryCode.css)</style></head><body>
        <h1>\(escape(title))</h1>

        """
        if let qr { h += qr.html + "\n" }
        for p in intro { h += "<p>\(phoneKeptWhole(escape(p)))</p>\n" }
        let span = max(1, columns.count)
        if let layout {
            h += "<table class=\"fixed\"><colgroup>" + layout.widths.map { "<col style=\"width:\(format($0))mm\">" }.joined() + "</colgroup>"
        } else {
            h += "<table>"
        }
        h += "<thead><tr>" + columns.enumerated().map { i, v in
            "<th>\(fitted(escape(v), v, column: i, layout: layout, points: PrintLayout.headerPoints))</th>"
        }.joined() + "</tr></thead>\n"
        func row(_ cells: [String], bold: Bool) -> String {
            "<tr>" + cells.enumerated().map { i, v in
                var classes: [String] = []
                if numeric.contains(i) { classes.append("n") }
                // The totals keep to one line even in a column that may wrap.
                let wraps = layout?.wrapping.contains(i) == true && !bold
                if wraps { classes.append("w") }
                let attributes = classes.isEmpty ? "" : " class=\"\(classes.joined(separator: " "))\""
                var text = escape(v)
                if wraps {
                    // A remark in brackets at the end (a failure's reason) goes on a second line,
                    // without the brackets, in smaller type: made smaller still to keep to one
                    // line, and wrapped only when even that is too long.
                    if let open = v.firstIndex(of: "（"), open != v.startIndex, v.hasSuffix("）") {
                        let remark = String(v[v.index(after: open)..<v.index(before: v.endIndex)])
                        text = escape(String(v[..<open])) + "<br><small>"
                            + fitted(escape(remark), remark, column: i, layout: layout, points: PrintLayout.remarkPoints) + "</small>"
                    }
                } else {
                    text = fitted(text, v, column: i, layout: layout, points: PrintLayout.bodyPoints)
                }
                return "<td\(attributes)>" + (bold ? "<b>\(text)</b>" : text) + "</td>"
            }.joined() + "</tr>\n"
        }
        // The last rows, the totals and the end of the page are kept together.
        let kept = min(rows.count, 3)
        h += "<tbody>\n" + rows.dropLast(kept).map { row($0, bold: false) }.joined() + "</tbody>\n"
        h += "<tbody class=\"end\">\n" + rows.suffix(kept).map { row($0, bold: false) }.joined()
        if let totals { h += row(totals, bold: true) }
        let closing = Array(outro.dropLast(2)), signature = Array(outro.suffix(2))
        // A long list of remarks (a reconciliation's differences) follows the table instead.
        let inside = closing.count <= 4
        var end = ""
        if inside { for p in closing { end += "<p>\(phoneKeptWhole(escape(p)))</p>\n" } }
        end += "<div class=\"sign\">" + signature.map { "<div class=\"nw\">\(escape($0))</div>" }.joined() + "</div>\n"
        if inside {
            h += "<tr class=\"outro\"><td colspan=\"\(span)\">\n" + end + "</td></tr>\n</tbody></table>\n"
        } else {
            h += "</tbody></table>\n"
            for p in closing { h += "<p>\(escape(p))</p>\n" }
            h += end
        }
        h += "</body></html>\n"
        return h
    }

    /// `html` (the escaped `text`) in smaller type when `text` would not fit on one line of its
    /// column at `points`. The size is set on an inner span, not on the cell, so that the cell's
    /// line keeps its height and every cell of a row keeps the same baseline.
    static func fitted(_ html: String, _ text: String, column: Int, layout: PrintLayout?, points: Double) -> String {
        guard let layout, column < layout.widths.count, let size = PrintLayout.points(fitting: text, width: layout.widths[column], base: points) else {
            return html
        }
        return "<span style=\"font-size:\(format(size))pt\">\(html)</span>"
    }

    /// Keeps a phone number (「电话：0772-6812345」) on one line.
    static func phoneKeptWhole(_ html: String) -> String {
        guard let r = html.range(of: "电话：") else { return html }
        let number = html[r.upperBound...].prefix { $0.isASCII && ($0.isNumber || $0 == "-" || $0 == " ") }
        guard !number.isEmpty else { return html }
        return String(html[..<r.upperBound]) + "<span class=\"nw\">\(number)</span>" + String(html[number.endIndex...])
    }

    static func format(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : "\(tenths / 10).\(tenths % 10)"
    }
}

extension NoticeDocument {
    /// The document with its table in a fixed A4-portrait layout (`PrintLayout`); the CSV is
    /// the same as without one.
    public init(title: String, intro: [String], columns: [String], numeric: Set<Int>, rows: [[String]], totals: [String]?,
                outro: [String], layout: PrintLayout, csvHead: [[String]] = [], csvTail: [[String]] = [], codes: Set<Int> = [],
                qr: QueryCode? = nil) {
        self.init(title: title, intro: intro, columns: columns, numeric: numeric, rows: rows, totals: totals, outro: outro,
                  csvHead: csvHead, csvTail: csvTail, codes: codes)
        html = Self.page(title: title, intro: intro, columns: columns, numeric: numeric, rows: rows, totals: totals, outro: outro,
                         layout: layout, qr: qr)
    }
}

/// The fixed layout of a printed table on A4 portrait (186 mm between 12 mm margins): each
/// column's width in millimetres, and the columns whose text may take a second line. Every
/// other cell, and every header, keeps to one line: its type is made smaller when its text
/// would not fit at the normal size (a five-character name, a 30-digit passbook).
public struct PrintLayout: Sendable {
    public var widths: [Double]
    public var wrapping: Set<Int>

    public init(widths: [Double], wrapping: Set<Int> = []) {
        self.widths = widths
        self.wrapping = wrapping
    }

    /// The width of the page between its margins, in millimetres.
    public static let pageWidth = 186.0
    /// Type sizes (pt) of table cells and of the header row; the height of a row (mm), which
    /// makes about 30 rows a page (fewer on the first, under the title).
    static let bodyPoints = 10.5
    static let headerPoints = 9.0
    static let remarkPoints = 8.0
    static let rowMillimetres = 8.2

    /// The type size at which `text` fits on one line in a cell `width` mm wide, when it does
    /// not at `base` points; nil when it does. A Chinese character is 1 em, a digit or Latin
    /// letter taken as 0.56 em (SimSun's are 0.5, Noto's about 0.52): on the safe side.
    public static func points(fitting text: String, width: Double, base: Double) -> Double? {
        var em = 0.0
        for s in text.unicodeScalars {
            switch DisplayWidth.width(of: s) {
            case 2: em += 1
            case 1: em += 0.56
            default: break
            }
        }
        let room = width - 2.4   // 1 mm padding each side and the borders
        let millimetresPerPoint = 0.3528
        guard em > 0, em * base * millimetresPerPoint > room else { return nil }
        return max(6, ((room / (em * millimetresPerPoint)) * 10).rounded(.down) / 10)
    }
}

/// The QR code a printout carries in its top right corner: the public query page's address,
/// `<public_url>query` (`public_url` in node.conf, one slash between), drawn by `QRCode` at
/// level M, with the caption 「扫码查询本人补贴发放情况」 under it. Printed 24 mm wide (about
/// 0.65 mm a module for a version-3 symbol), which a phone reads from arm's length on a notice
/// board.
public struct QueryCode: Sendable, Equatable {
    /// The node.conf key that gives the public site's address.
    public static let configKey = "public_url"
    public static let caption = "扫码查询本人补贴发放情况"

    /// The address in the code.
    public let url: String
    /// The symbol as SVG (presentation attributes only).
    public let svg: String

    /// The code of `<publicURL>query`. `publicURL` must be an http or https address with a host
    /// and no spaces, quotes or angle brackets (it goes into a printed code, never into HTML);
    /// `file` names node.conf in the error.
    public init(publicURL raw: String, file: String) throws(YKTError) {
        let base = raw.trimmed
        let scheme = ["https://", "http://"].first { base.lowercased().hasPrefix($0) }
        let host = scheme.map { base.dropFirst($0.count).prefix { $0 != "/" && $0 != "?" && $0 != "#" } } ?? ""
        guard scheme != nil, !host.isEmpty, !base.contains(where: { $0.isWhitespace || "\"'<>\\`{}|^".contains($0) || !$0.isASCII }),
              !base.contains("?"), !base.contains("#") else {
            throw YKTError(.nodeConfig, "public_url 应为公众查询网站的地址（http:// 或 https:// 开头，含主机名，不含空格、引号、问号和中文），实际为「\(base)」",
                           at: SourceLocation(file: file, field: Self.configKey),
                           hint: "改为例如 public_url = https://ykt.example.gov.cn/（二维码内容为该地址加 query）")
        }
        url = base + (base.hasSuffix("/") ? "" : "/") + "query"
        do {
            svg = try QRCode(url).svg(moduleSize: 4, quietZone: 4)
        } catch {
            throw error.located(SourceLocation(file: file, field: Self.configKey))
        }
    }

    /// The code of a node's `public_url`, nil when node.conf has none (printouts are then made
    /// without it: see `missingHint`).
    public static func of(_ config: NodeConfig, directory: String) throws(YKTError) -> QueryCode? {
        guard let raw = config.extra[configKey]?.trimmed, !raw.isEmpty else { return nil }
        return try QueryCode(publicURL: raw, file: NSStringPath(directory).appending(NodeConfig.fileName))
    }

    /// What a command says (stderr) when it prints without the code.
    public static func missingHint(directory: String) -> String {
        "提示：node.conf 没有 public_url，打印件上没有查询二维码。在 \(NSStringPath(directory).appending(NodeConfig.fileName)) " +
            "中加一行 public_url = 公众查询网站地址（例如 https://ykt.example.gov.cn/），打印件右上角即印二维码（内容为该地址加 query）"
    }

    /// The corner block: the SVG and its caption.
    public var html: String {
        // The caption in two lines of six characters, under the code.
        "<div class=\"qr\">" + svg + "<div class=\"qr-caption\">\(Self.caption.prefix(6))<br>\(Self.caption.dropFirst(6))</div></div>"
    }

    /// Its print CSS: floated to the right beside the opening paragraphs, 24 mm square.
    public static let css = """
        .qr { float: right; width: 27mm; margin: 0 0 2mm 4mm; text-align: center; break-inside: avoid; }
        .qr svg { display: block; width: 24mm; height: 24mm; margin: 0 auto; }
        .qr-caption { font-size: 7.5pt; line-height: 1.3; text-indent: 0; margin-top: 0.5mm; }

        """
}
