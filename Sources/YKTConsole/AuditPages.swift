import Foundation
import YKTCore
import YKTNode
import YKTCounty

/// The audit trail for the auditor and the administrator: `ykt audit verify` over the whole
/// database as a background job (with a township's exported anchor file, when given), and the
/// entries page by page, latest first (`ykt audit list`).
enum AuditPages {
    static let pages: [ConsolePage] = [
        ConsolePage("GET", "/audit", node: .county, command: "audit list", menu: ("管理", "审计日志"), handler: list),
        ConsolePage("POST", "/audit/verify", node: .county, command: "audit verify", handler: startVerify),
    ]

    static let verifyJob = "audit-verify"

    @Sendable static func list(_ c: ConsoleContext) throws -> WebResponse {
        var body: HTML = "<h2>校验审计日志</h2>"
        if let job = c.server.job(verifyJob) {
            body += Markup.progress(job, running: "校验进行中", done: "审计日志、本人签名和存证原文都已核对，没有问题。",
                                    id: "audit-verify-progress", resultID: "audit-verify-result")
        }
        let running = c.server.job(verifyJob).map { !$0.isFinished } ?? false
        if c.can("audit verify") && !running {
            let fields: HTML = """
                <p class="muted">核对哈希链、每项决定的本人签名及其当时的角色、已收变更集的存证原文；在后台进行。\
                可附上乡镇用 ykt audit anchors --export 导出的锚点文件一并核对。</p>\
                <label>锚点文件（可不选）<input type="file" name="anchors"></label>
                """
            body += c.form("/audit/verify", fields, submit: "校验审计日志", multipart: true, id: "audit-verify")
        }
        // The entries, latest first: the head's sequence is the count (the chain has no gaps, or
        // verify says so), and each page is read by the primary key.
        let head = try AuditLog.head(db: c.county.db)
        let page = c.pager(total: Int(head.seq))
        let entries = try AuditLog.entries(db: c.county.db, limit: page.limit, offset: page.offset).reversed()
        let rows: [[HTML]] = entries.map { e in
            ["\(e.seq)", "\(Markup.when(e.at))", "\(e.operatorName)", "\(e.action)", "\(Masking.digits(in: e.object))",
             "\(Masking.digits(in: e.detail))", "\(e.signature == nil ? "" : "已签名")"]
        }
        body += "<h2>审计记录（最新的在前）</h2><div id=\"audit-list\">"
            + Markup.table(["序号", "时间", "经办人", "操作", "对象", "说明", "签名"], rows, numeric: [0]) + "</div>" + page.links
        return c.page("审计日志", body)
    }

    /// Saves an uploaded anchor file where `AuditAnchorFile.read` can take it (a regular file
    /// of our own), and starts the whole check on a thread of its own.
    @Sendable static func startVerify(_ c: ConsoleContext) throws -> WebResponse {
        let anchorPath: String? = try c.request.files["anchors"].flatMap { upload in
            guard !upload.bytes.isEmpty else { return nil }
            let dir = try ReportPages.scratch()
            let path = (dir as NSString).appendingPathComponent(ReportPages.statementName(upload.name))
            guard FileManager.default.createFile(atPath: path, contents: Data(upload.bytes), attributes: [.posixPermissions: 0o600]) else {
                throw YKTError(.fileWrite, "不能保存上传的锚点文件", hint: "检查临时目录（TMPDIR）的空间和权限")
            }
            return path
        }
        let shownName = c.request.files["anchors"]?.name ?? ""
        c.server.startNodeJob(verifyJob, as: c.token, CountyNode.self) { node, job in
            defer { if let anchorPath { try? FileManager.default.removeItem(atPath: (anchorPath as NSString).deletingLastPathComponent) } }
            job.say("\(node.operatorName) 开始校验审计日志 …")
            let started = Date()
            let anchors = try anchorPath.map { (file: try AuditAnchorFile.read(path: $0), path: shownName) }
            let check = try node.checkAudit(anchors: anchors)
            let r = check.report
            if r.ok {
                job.say("审计日志完好：共 \(r.entries) 条，链头 \(r.headHash.prefix(16))…")
                if !check.anchorSource.isEmpty, check.anchorProblems.isEmpty {
                    job.say("与对方持有的锚点一致：核对 \(check.anchorsChecked) 个（\(check.anchorSource)）")
                }
            }
            if let evidence = check.evidence, evidence.problems.isEmpty {
                job.say("存证原文完好：共核对 \(evidence.changeSets) 个变更集")
            }
            job.say(String(format: "用时 %.1f 秒", Date().timeIntervalSince(started)))
            job.finish(check.failure)
        }
        return .redirect("/audit")
    }
}
