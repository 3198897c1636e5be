import Foundation
import YKTCore
import YKTCrypto
import YKTStore
import YKTNode

/// Problem leads handed to the discipline commission (移交问题线索; issue 20, item 7;
/// `docs/conventions.md`, "移交问题线索"). Seed 004 (操作规程, 三(四) 县财政部门): 「定期向本级纪委监委
/// 报送惠民惠农补贴资金发放情况,并及时移交补贴发放过程中发现的虚报冒领等问题线索」.
///
/// A lead is a warning a reviewer confirmed (`warnings close --confirm`) or a complaint closed as
/// found true (`complaint close --upheld`). `ykt leads export` writes them as a numbered
/// hand-over list: each lead gets a running number the first time it is exported (kept by the
/// county, never reused) and is marked with that export's number, so the next export lists only
/// new leads unless `--all`. Masked by default; `--full` (resident IDs, complainants) only for
/// an auditor (审计查询人). Every export is in the audit trail: who, when, how many, masked or full.
extension CountyNode {
    public struct ProblemLead: Sendable, Codable {
        /// The running number (nil until first exported) and the export that first listed it.
        public var number: Int64?
        public var firstExport: Int64?
        /// warning or complaint, and its number there.
        public var source: String
        public var sourceID: Int64
        /// The warning rule, or 投诉举报 with its channel.
        public var category: String
        /// Full resident IDs, their names and townships (names, as the county knows them).
        public var residents: [String]
        public var names: [String]
        public var townships: [String]
        /// What makes the case: the warning's evidence (JSON) or the complaint's content. Full data.
        public var facts: String
        /// What the check found (the reviewer's reason, the complaint's outcome), by whom, when.
        public var finding: String
        public var decidedBy: String
        public var decidedOn: String
        /// The complainant of a complaint (full exports only).
        public var complainant: String?

        public var sourceChinese: String { source == "warning" ? "预警 \(sourceID)" : "投诉举报 \(sourceID)" }
    }

    /// What one export did.
    public struct LeadExportReport: Sendable, Codable {
        /// The export's number (nil: nothing to export, no file written, nothing recorded).
        public var export: Int64?
        public var listed = 0
        public var newLeads = 0
        public var full = false
        public var csv: String?
        public var html: String?
    }

    /// How many leads were first handed over in a month (the monthly report).
    public struct LeadCount: Sendable, Codable, Equatable {
        public var warnings = 0
        public var complaints = 0
        public var total: Int { warnings + complaints }
    }

    /// The leads, in the order they are numbered: by the day they were decided, then source and
    /// number. `pendingOnly`: only those never exported. `from`/`to` bound the decision day.
    public func problemLeads(pendingOnly: Bool = true, from: CivilDate? = nil, to: CivilDate? = nil) throws -> [ProblemLead] {
        if let from, let to, to < from {
            throw YKTError(.dateOrder, "--to \(to) 早于 --from \(from)", at: SourceLocation(field: "--to"))
        }
        let (lo, hi) = (from?.description ?? "0000-00-00", to?.description ?? "9999-99-99")
        let towns = Dictionary(try db.all("SELECT node_id, name FROM township") { ($0.text(0), $0.text(1)) }, uniquingKeysWith: { a, _ in a })
        func person(_ id: String) throws -> (name: String, township: String) {
            let r = try db.first("SELECT name, node_id FROM resident WHERE resident_id = ?", id, map: { ($0.text(0), $0.text(1)) })
            return (r?.0 ?? "", r.map { towns[$0.1] ?? $0.1 } ?? "")
        }
        var leads: [ProblemLead] = []
        let rows = try db.all("""
            SELECT w.id, w.rule, w.evidence, w.residents, coalesce(w.closed_by, ''), substr(coalesce(w.closed_at, w.last_seen), 1, 10),
                   coalesce(w.close_reason, ''), l.number, l.export_id
            FROM warning w LEFT JOIN lead l ON l.source = 'warning' AND l.source_id = w.id
            WHERE w.status = 'confirmed' AND substr(coalesce(w.closed_at, w.last_seen), 1, 10) BETWEEN ? AND ?
            """, lo, hi) { r in
            (id: r.int64(0), rule: r.text(1), evidence: r.text(2), residents: r.text(3), by: r.text(4), on: r.text(5), reason: r.text(6),
             number: r.isNull(7) ? nil : r.int64(7), export: r.isNull(8) ? nil : r.int64(8))
        }
        for w in rows where !pendingOnly || w.number == nil {
            let ids = w.residents.split(separator: ",").map(String.init)
            let people = try ids.map(person)
            leads.append(ProblemLead(number: w.number, firstExport: w.export, source: "warning", sourceID: w.id,
                                     category: WarningRule(rawValue: w.rule)?.chinese ?? w.rule, residents: ids, names: people.map(\.name),
                                     townships: Array(Set(people.map(\.township).filter { !$0.isEmpty })).sorted(),
                                     facts: w.evidence, finding: w.reason, decidedBy: w.by, decidedOn: w.on))
        }
        let complaints = try db.all("""
            SELECT c.id, c.subject_kind, c.subject, c.channel, c.complainant, c.content, coalesce(c.outcome, ''), coalesce(c.closed_by, ''),
                   coalesce(c.closed_on, ''), l.number, l.export_id
            FROM complaint c LEFT JOIN lead l ON l.source = 'complaint' AND l.source_id = c.id
            WHERE c.status = 'closed' AND c.upheld = 1 AND coalesce(c.closed_on, '') BETWEEN ? AND ?
            """, lo, hi) { r in
            (id: r.int64(0), kind: r.text(1), subject: r.text(2), channel: r.text(3), complainant: r.text(4), content: r.text(5),
             outcome: r.text(6), by: r.text(7), on: r.text(8), number: r.isNull(9) ? nil : r.int64(9), export: r.isNull(10) ? nil : r.int64(10))
        }
        for c in complaints where !pendingOnly || c.number == nil {
            var ids: [String] = [], names: [String] = [], townships: [String] = []
            var facts = c.content
            switch c.kind {
            case "resident":
                let p = try person(c.subject)
                (ids, names, townships) = ([c.subject], [p.name], p.township.isEmpty ? [] : [p.township])
            case "payment":
                if let p = try db.first("SELECT resident_id, name, node_id FROM payment WHERE id = ?", Int64(c.subject) ?? 0,
                                        map: { ($0.text(0), $0.text(1), $0.text(2)) }) {
                    (ids, names, townships) = ([p.0], [p.1], [towns[p.2] ?? p.2])
                }
                facts = "（支付 \(c.subject)）" + facts
            default:
                if let r = try db.first("SELECT node_id, program, period FROM roster WHERE id = ?", Int64(c.subject) ?? 0,
                                        map: { ($0.text(0), $0.text(1), $0.text(2)) }) {
                    townships = [towns[r.0] ?? r.0]
                    facts = "（清册 \(c.subject)：\(r.1) \(r.2)）" + facts
                }
            }
            leads.append(ProblemLead(number: c.number, firstExport: c.export, source: "complaint", sourceID: c.id,
                                     category: "投诉举报（\(c.channel)）", residents: ids, names: names, townships: townships,
                                     facts: facts, finding: c.outcome, decidedBy: c.by, decidedOn: c.on, complainant: c.complainant))
        }
        // Numbered leads first in number order, then new ones by decision day.
        return leads.sorted {
            switch ($0.number, $1.number) {
            case let (a?, b?): return a < b
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return ($0.decidedOn, $0.source, $0.sourceID) < ($1.decidedOn, $1.source, $1.sourceID)
            }
        }
    }

    /// Exports the leads as a numbered hand-over list: CSV (UTF-8 with BOM) at `path` and an A4
    /// HTML print beside it (`.html`). New leads get their running numbers in the same
    /// transaction that records the export and its audit entry; the files are written inside
    /// it, so a failure leaves neither numbers nor files. `full` needs an auditor.
    public func exportLeads(to path: String, full: Bool, all: Bool = false, from: CivilDate? = nil, to: CivilDate? = nil,
                            on day: CivilDate) throws -> LeadExportReport {
        if full {
            try requireRole(.auditor)
        } else if try !operators.holds(operatorName, .approver) && !operators.holds(operatorName, .auditor) {
            throw YKTError(.roleMissing, "经办人 \(operatorName) 不是财政审定人或审计查询人，不能导出问题线索",
                           hint: "角色由管理员用 ykt operator grant 授予；用 ykt whoami 查看本人的角色")
        }
        guard !path.trimmed.isEmpty else { throw YKTError(.fieldMissing, "输出文件为空", at: SourceLocation(field: "--out")) }
        var report = LeadExportReport(full: full)
        guard !(try problemLeads(pendingOnly: !all, from: from, to: to)).isEmpty else { return report }
        let csvPath = path
        let htmlPath = (path.lowercased().hasSuffix(".csv") ? String(path.dropLast(4)) : path) + ".html"
        var written: [String] = []
        do {
            return try perform("leads.export", object: "leads", describing: {
                // Read again inside the write transaction: another export may have numbered some.
                var leads = try problemLeads(pendingOnly: !all, from: from, to: to)
                try db.run("""
                    INSERT INTO lead_export(by_operator, at, exported_on, full, listed, new_leads, from_on, to_on, file, sha256)
                    VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, '')
                    """, operatorName, timestamp(), day.description, full, Int64(leads.count), from?.description, to?.description, csvPath)
                let export = db.lastInsertRowID
                var new = 0
                for i in leads.indices where leads[i].number == nil {
                    try db.run("INSERT INTO lead(source, source_id, export_id) VALUES (?, ?, ?)", leads[i].source, leads[i].sourceID, export)
                    leads[i].number = db.lastInsertRowID
                    leads[i].firstExport = export
                    new += 1
                }
                let (csv, html) = leadDocuments(leads, export: export, full: full, all: all, from: from, to: to, on: day)
                let mode = full ? 0o600 : 0o640
                try FileOutput.writeAtomically(csv, to: csvPath, mode: mode)
                written.append(csvPath)
                try FileOutput.writeAtomically(html, to: htmlPath, mode: mode)
                written.append(htmlPath)
                let sha = SHA256.hex(csv)
                try db.run("UPDATE lead_export SET new_leads = ?, sha256 = ? WHERE id = ?", Int64(new), sha, export)
                report.export = export
                report.listed = leads.count
                report.newLeads = new
                report.csv = csvPath
                report.html = htmlPath
                let numbers = leads.compactMap(\.number)
                let range = numbers.isEmpty ? "" : "\(numbers.min()!)-\(numbers.max()!)"
                return (report, "export=#\(export) listed=\(leads.count) new=\(new) numbers=\(range) \(full ? "full" : "masked")" +
                                (all ? " all" : "") + (from.map { " from=\($0)" } ?? "") + (to.map { " to=\($0)" } ?? "") +
                                " file=\(csvPath) sha256:\(sha.prefix(16))")
            })
        } catch {
            // Nothing recorded: no file may claim numbers the county did not keep.
            for f in written { unlink(f) }
            throw error
        }
    }

    /// The hand-over list as CSV and A4 HTML.
    func leadDocuments(_ leads: [ProblemLead], export: Int64, full: Bool, all: Bool, from: CivilDate?, to: CivilDate?,
                       on day: CivilDate) -> (csv: String, html: String) {
        let title = "\(config.name)惠民惠农财政补贴资金问题线索移交清单（第 \(export) 批）"
        func ids(_ l: ProblemLead) -> String { l.residents.map { full ? $0 : Masking.residentID($0) }.joined(separator: "、") }
        func facts(_ l: ProblemLead) -> String {
            if l.source == "warning" { return full ? l.facts : Self.maskedEvidence(l.facts) }
            return full ? l.facts : Masking.digits(in: l.facts)
        }
        func finding(_ l: ProblemLead) -> String { full ? l.finding : Masking.digits(in: l.finding) }
        func complainant(_ l: ProblemLead) -> String {
            guard l.source == "complaint" else { return "" }
            return full ? (l.complainant ?? "") : "（完整版列出）"
        }
        let scope = (all ? "全部线索（含以前移交过的）" : "新线索（以前未移交的）") +
            (from != nil || to != nil ? "，核实日期 \(from?.description ?? "…") 至 \(to?.description ?? "…")" : "")
        let version = full ? "完整版（含完整身份证号和举报人，仅限接收单位办案使用）" : "脱敏版（身份证号脱敏，不列举报人）"
        var w = CSVWriter()
        w.row([title])
        w.row(["移交批次", String(export)])
        w.row(["移交日期", day.description])
        w.row(["版本", version])
        w.row(["范围", scope])
        let columns = ["线索编号", "首次移交批次", "来源", "问题类别", "涉及人员", "身份证号", "乡镇", "情况（证据）", "核实情况", "核实人", "核实日期", "举报人"]
        w.row(columns)
        for l in leads {
            w.row([String(l.number ?? 0), String(l.firstExport ?? export), l.sourceChinese, l.category, l.names.joined(separator: "、"), ids(l),
                   l.townships.joined(separator: "、"), facts(l), finding(l), l.decidedBy, l.decidedOn, complainant(l)], codes: [5])
        }
        w.row(["合计", "\(leads.count) 条"])
        var htmlColumns = ["编号", "来源", "问题类别", "涉及人员", "身份证号", "乡镇", "情况（证据）", "核实情况", "核实人、日期"]
        if full { htmlColumns.append("举报人") }
        let rows = leads.map { l -> [String] in
            var row = [String(l.number ?? 0), l.sourceChinese, l.category, l.names.joined(separator: "、"), ids(l), l.townships.joined(separator: "、"),
                       facts(l), finding(l), "\(l.decidedBy) \(l.decidedOn)"]
            if full { row.append(complainant(l)) }
            return row
        }
        let html = NoticeDocument.page(
            title: title,
            intro: ["根据惠民惠农财政补贴资金“一卡通”管理有关规定，现将补贴发放过程中发现、经核实的问题线索移交如下（\(scope)；\(version)）。线索编号由县财政统一编排，不重复使用。"],
            columns: htmlColumns, numeric: [0], rows: rows, totals: nil,
            outro: ["本批共 \(leads.count) 条线索。", "移交人：__________　　接收人：__________", config.name, day.chinese])
        return (w.text, html)
    }

    /// Leads first handed over in `month` (by the export's date).
    public func leadsHandedOver(month: Period) throws -> LeadCount {
        guard let m = month.month else { throw YKTError(.periodInvalid, "须给出月份，例如 2026-11", at: SourceLocation(field: "--month")) }
        let first = "\(month)-01", last = "\(month)-\(CivilDate.daysIn(month: m, year: month.year))"
        var count = LeadCount()
        try db.forEach("""
            SELECT l.source, count(*) FROM lead l JOIN lead_export e ON e.id = l.export_id
            WHERE e.exported_on BETWEEN ? AND ? GROUP BY l.source
            """, first, last) { r in
            if r.text(0) == "warning" { count.warnings = r.int(1) } else { count.complaints = r.int(1) }
        }
        return count
    }
}
