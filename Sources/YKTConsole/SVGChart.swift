import YKTCore

/// A bar chart drawn by the program as inline SVG: horizontal bars (Chinese labels read on the
/// left), one bar per series in each row, each with its value written beside it. Fixed width
/// (fits the frame at 1366×768 and an A4 page when printed); every label goes through `HTML`
/// interpolation, so text from anyone stays text. No script, no external file.
public struct SVGChart: Sendable {
    public struct Row: Sendable {
        public var label: String
        /// One value per series (fen, counts: whole numbers, never negative in a bar).
        public var values: [Int64]
        public init(_ label: String, _ values: [Int64]) {
            self.label = label
            self.values = values
        }
    }

    public var title: String
    /// The series' names (a legend is drawn when there are two or more).
    public var series: [String]
    public var rows: [Row]
    /// How a value is written beside its bar (yuan from fen, a count).
    public var format: @Sendable (Int64) -> String

    public static let width = 720
    static let labelWidth = 170
    static let valueWidth = 130
    static let barHeight = 14
    static let rowGap = 8
    /// Rows past this many are added up into one last row (a chart is read at a glance).
    public static let maximumRows = 16
    /// The series' colours (also in the stylesheet as `rect.s0`…`s2`, which wins when CSS applies).
    static let fills = ["#0b5cad", "#e08a00", "#2e7d32"]

    public init(title: String, series: [String], rows: [Row], format: @escaping @Sendable (Int64) -> String) {
        self.title = title
        self.series = series
        self.format = format
        if rows.count > Self.maximumRows {
            let kept = Array(rows.prefix(Self.maximumRows - 1))
            let rest = rows.dropFirst(Self.maximumRows - 1)
            let sums = (0..<series.count).map { i in rest.reduce(Int64(0)) { $0 + ($1.values.count > i ? $1.values[i] : 0) } }
            self.rows = kept + [Row("其余 \(rest.count) 项", sums)]
        } else {
            self.rows = rows
        }
    }

    /// The chart as an `<svg>` element (with a `<title>` and `aria-label` for screen readers).
    public var svg: HTML {
        let perRow = max(1, series.count) * Self.barHeight + Self.rowGap
        let legend = series.count > 1 ? 22 : 0
        let top = 26 + legend
        let height = top + max(1, rows.count) * perRow + 6
        let plot = Self.width - Self.labelWidth - Self.valueWidth
        let largest = max(1, rows.flatMap(\.values).max() ?? 1)
        var out: HTML = """
            <svg class="chart" xmlns="http://www.w3.org/2000/svg" width="\(Self.width)" height="\(height)" \
            viewBox="0 0 \(Self.width) \(height)" role="img" aria-label="\(title)"><title>\(title)</title>\
            <text x="0" y="16" class="chart-title">\(title)</text>
            """
        if series.count > 1 {
            for (i, name) in series.enumerated() {
                let x = Self.labelWidth + i * 150
                out += "<rect class=\"bar s\(i % Self.fills.count)\" x=\"\(x)\" y=\"26\" width=\"12\" height=\"12\" fill=\"\(Self.fills[i % Self.fills.count])\"></rect>"
                out += "<text x=\"\(x + 16)\" y=\"37\">\(name)</text>"
            }
        }
        if rows.isEmpty {
            out += "<text x=\"\(Self.labelWidth)\" y=\"\(top + 12)\">（没有数据）</text>"
        }
        for (r, row) in rows.enumerated() {
            let y = top + r * perRow
            let label = row.label.count > 12 ? String(row.label.prefix(11)) + "…" : row.label
            out += "<text x=\"\(Self.labelWidth - 6)\" y=\"\(y + Self.barHeight - 3)\" text-anchor=\"end\">\(label)</text>"
            for (i, value) in row.values.enumerated() {
                let by = y + i * Self.barHeight
                let w = value <= 0 ? 0 : max(1, Int((Double(value) / Double(largest) * Double(plot)).rounded()))
                out += "<rect class=\"bar s\(i % Self.fills.count)\" x=\"\(Self.labelWidth)\" y=\"\(by + 1)\" width=\"\(w)\" height=\"\(Self.barHeight - 2)\" fill=\"\(Self.fills[i % Self.fills.count])\"></rect>"
                out += "<text x=\"\(Self.labelWidth + w + 4)\" y=\"\(by + Self.barHeight - 3)\">\(format(value))</text>"
            }
        }
        return out + "</svg>"
    }
}
