import YKTCore
import YKTCounty
import YKTNode
import YKTTownship

/// The outbox and the audit trail.
enum RecordCommands {
    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["outbox", "list"], abstract: "列出待同步和已同步的操作及县里的结果（操作与变更在同一事务中写入）",
            discussion: "状态：pending 待同步、batched 已打包待回执、accepted 县里已采纳、rejected 县里退回、conflicted 冲突待县里处理、decided 冲突县里已裁决（决定见 ykt inbox list）。--problems 逐条列出县里退回或记为冲突的操作及理由。--json 输出完整操作内容（含完整个人信息，查看记入审计日志）。",
            options: [.value("state", "状态", "只列这个状态：pending、batched、accepted、rejected、conflicted"), .value("limit", "条数", "最多列出几条"),
                      .flag("summary", "只按操作类型汇总条数"), .flag("problems", "只列县里退回或记为冲突的操作及理由"),
                      .flag("json", "以 JSON 输出（含完整操作内容）")],
            run: { inv in
                let node = try inv.node()
                if inv.flag("summary") {
                    let s = try node.outboxSummary()
                    if inv.json {
                        struct Row: Encodable { var kind: String; var state: String; var count: Int }
                        return try inv.out.json(s.map { Row(kind: $0.kind, state: $0.state, count: $0.count) })
                    }
                    if s.isEmpty { return inv.out.line("发件箱是空的：还没有办理过要报送县财政的操作") }
                    inv.out.table(["操作", "状态", "条数"], s.map { [SyncWords.operation($0.kind), SyncWords.state($0.state), String($0.count)] },
                                  rightAligned: [2])
                    return
                }
                let limit = try inv.optional("limit") { s throws(YKTError) -> Int in
                    guard let n = Int(s), n > 0 else { throw YKTError(.usageValue, "--limit 应为正整数") }
                    return n
                } ?? Int.max
                if inv.flag("problems") {
                    let rows = try node.outboxProblems(limit: limit)
                    if inv.json { return try inv.out.json(rows) }
                    if rows.isEmpty { return inv.out.line("没有县里退回或记为冲突的操作") }
                    inv.out.table(["序号", "操作", "对象", "状态", "规则", "县里的理由", "冲突编号"], rows.map {
                        [String($0.seq), SyncWords.operation($0.kind), maskEntity($0.entity), SyncWords.state($0.status), $0.rule ?? "",
                         RecordCommands.maskDigits($0.reason ?? ""), $0.conflict.map(String.init) ?? ""]
                    }, rightAligned: [0, 6])
                    return
                }
                let ops = try node.outbox(state: inv.string("state"), limit: limit)
                if inv.json { return try inv.disclose(ops, object: "outbox n=\(ops.count)") }
                if ops.isEmpty {
                    return inv.out.line(inv.string("state").map { "没有状态为「\(SyncWords.state($0))」的操作" }
                                        ?? "发件箱是空的：还没有办理过要报送县财政的操作")
                }
                inv.out.table(["序号", "操作", "对象", "基于版本", "时间", "状态"], ops.map {
                    [String($0.seq), SyncWords.operation($0.kind), maskEntity($0.entity), String($0.baseVersion), String($0.at.prefix(16)),
                     SyncWords.state($0.state)]
                }, rightAligned: [0, 3])
            }),
        CommandSpec(
            path: ["audit", "verify"], abstract: "校验审计日志：哈希链（被修改、删除或截断的记录）、每项决定的本人签名及其当时的角色、表中的决定是否都有签名记录、对方节点持有的锚点；县级节点还逐个核对已收变更集的存证原文",
            discussion: """
                链完好之后再与对方节点持有的锚点（审计条数和哈希）核对：乡镇节点总是核对县财政回执中说明它持有的锚点；\
                --anchors 给出对方用 ykt audit anchors --export 导出的锚点文件时（须有对方签名），逐个核对文件中的锚点。\
                本节点第 N 条的哈希与锚点不同或没有第 N 条，以 YKT-AUDIT-ANCHOR 退出，逐个列出（docs/conventions.md (h)）。
                """,
            options: [.value("anchors", "文件", "对方节点导出的锚点文件：逐个核对本节点审计日志在该序号的哈希"), .flag("json", "以 JSON 输出")],
            run: { inv in
                var report: AuditLog.Report
                var anchorProblems: [AuditLog.AnchorProblem] = []
                var anchorsChecked = 0
                var anchorSource = ""
                var evidence: (changeSets: Int, problems: [String])?
                if inv.isCounty {
                    // The county's checks are one library call (the console's audit page runs it too).
                    let path = inv.string("anchors")
                    let check = try inv.county().checkAudit(anchors: try path.map { (try AuditAnchorFile.read(path: $0), $0) })
                    (report, anchorProblems, anchorsChecked, anchorSource, evidence) =
                        (check.report, check.anchorProblems, check.anchorsChecked, check.anchorSource, check.evidence)
                } else {
                    let node = try inv.node()
                    report = try AuditLog.verify(db: node.db)
                    // Anchors are checked once the chain itself holds (a broken chain is reported first).
                    if report.ok {
                        if let path = inv.string("anchors") {
                            let file = try AuditAnchorFile.read(path: path)
                            anchorProblems = try node.checkAnchors(file: file)
                            anchorsChecked = try file.anchors(of: node.config.nodeID).count
                            anchorSource = "锚点文件 \(path)（\(file.exportedBy) 于 \(file.exportedAt) 导出）"
                        } else {
                            (anchorsChecked, anchorProblems) = try node.checkReportedAnchors()
                            anchorSource = "县财政回执"
                        }
                    }
                    // Who took each decision: signatures, roles at the moment, rows written around the program.
                    report.problems += try node.verifyOperators(decided: try node.decidedRows())
                }
                if inv.json {
                    struct Full: Encodable {
                        var entries: Int; var problems: [AuditLog.Problem]; var headHash: String; var ok: Bool
                        var anchorsChecked: Int; var anchorProblems: [AuditLog.AnchorProblem]
                    }
                    try inv.out.json(Full(entries: report.entries, problems: report.problems, headHash: report.headHash,
                                          ok: report.ok && anchorProblems.isEmpty, anchorsChecked: anchorsChecked, anchorProblems: anchorProblems))
                } else if report.ok {
                    inv.out.line("审计日志完好：共 \(report.entries) 条，链头 \(report.headHash.prefix(16))…")
                    if !anchorSource.isEmpty, anchorProblems.isEmpty {
                        inv.out.line("与对方持有的锚点一致：核对 \(anchorsChecked) 个（\(anchorSource)）")
                    }
                }
                if !report.ok { throw AuditLog.brokenError(report) }
                if !anchorProblems.isEmpty { throw AuditLog.anchorError(anchorProblems, checked: anchorsChecked, source: anchorSource) }
                if let evidence {
                    if !evidence.problems.isEmpty { throw CountyNode.evidenceError(evidence) }
                    if !inv.json { inv.out.line("存证原文完好：共核对 \(evidence.changeSets) 个变更集") }
                }
            }),
        CommandSpec(
            path: ["audit", "anchors"], abstract: "导出本节点持有的对方审计日志锚点（县级：各乡镇的；乡镇：县财政的），供对方 ykt audit verify --anchors 核对",
            discussion: """
                锚点是对方审计日志在某一时刻的条数和链头哈希：乡镇每个变更集带着乡镇的，县财政每次下行应答带着县里的。\
                文件为一行 JSON，由本节点签名（docs/conventions.md (h)）；不含个人信息。不给 --export 时列出锚点。
                """,
            options: [.value("export", "文件", "写入锚点文件（已有同名文件则替换）"),
                      .value("township", "代码", "（县级）只导出这个乡镇的锚点；不给时导出所有乡镇的"), .flag("json", "以 JSON 输出")],
            run: { inv in
                let file: AuditAnchorFile
                if inv.isCounty {
                    file = try inv.county().exportAnchors(township: inv.string("township"))
                } else {
                    if inv.string("township") != nil {
                        throw YKTError(.usage, "--township 只用于县级节点", at: SourceLocation(field: "--township"),
                                       hint: "乡镇节点导出的是县财政审计日志的锚点，不用 --township")
                    }
                    file = try inv.node().exportAnchors()
                }
                if let path = inv.string("export") {
                    try FileOutput.writeAtomically(file.text, to: path, mode: 0o644)
                    let count = file.chains.reduce(0) { $0 + $1.anchors.count }
                    if inv.json { return try inv.out.json(file.chains) }
                    inv.out.line("已导出 \(count) 个锚点（\(file.chains.map { "\($0.node)：\($0.anchors.count) 个" }.joined(separator: "，"))）到 \(path)")
                    return
                }
                if inv.json { return try inv.out.json(file.chains) }
                inv.out.table(["节点", "审计条数", "链头哈希", "收到时间", "来自"], file.chains.flatMap { c in
                    c.anchors.map { [c.node, String($0.head.seq), String($0.head.hash.prefix(16)) + "…", $0.at, $0.from] }
                }, rightAligned: [1])
            }),
        CommandSpec(
            path: ["audit", "trace"],
            abstract: "（县级）逐行追溯已审定的清册行：申请→村评议→公示→清册→审核→审定→批次→结果（→更正→补发），列出每条断链",
            discussion: "只读；身份证号脱敏。有断链时以 YKT-TRACE-BROKEN 退出（docs/money-trace.md）。",
            options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let report = try inv.county().trace()
                if inv.json { try inv.out.json(report) } else {
                    inv.out.line("已追溯 \(report.traced) 行（已发放 \(report.paid) 行，待发放 \(report.outstanding) 行），断链 \(report.broken.count) 行")
                }
                if !report.broken.isEmpty {
                    throw YKTError(.traceBroken, "有 \(report.broken.count) 行追溯不到完整链条",
                                   hint: "逐行核对；断链的行不应付款，已付的须查明原因",
                                   details: report.broken.prefix(50).map {
                                       YKTError(.traceBroken, "清册 \($0.roster) 第 \($0.line) 行（\($0.resident)）：" + $0.problems.joined(separator: "；"))
                                   })
                }
            }),
        CommandSpec(
            path: ["audit", "list"], abstract: "列出最近的审计记录",
            options: [.value("limit", "条数", "列出最近几条（默认 50）"), .flag("json", "以 JSON 输出")],
            run: { inv in
                let limit = Int(inv.string("limit") ?? "50") ?? 50
                let entries = try AuditLog.entries(db: inv.isCounty ? try inv.county().db : try inv.node().db, limit: limit)
                try inv.list(entries, ["序号", "时间", "经办人", "操作", "对象", "说明", "签名"], rightAligned: [0]) {
                    [String($0.seq), $0.at, $0.operatorName, $0.action, $0.object, $0.detail, $0.signature == nil ? "" : "已签名"]
                }
            }),
    ]

    /// Masks every run of 16 or more digits (resident IDs, card numbers) and 11-digit mobile
    /// numbers in free text, for screens that show raw operation bodies.
    static func maskDigits(_ text: String) -> String { Masking.digits(in: text) }

    /// Entity keys carry resident IDs; mask them for display.
    static func maskEntity(_ entity: String) -> String {
        entity.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.count == 18 && part.prefix(17).allSatisfy(\.isNumber) ? Masking.residentID(String(part)) : String(part)
        }.joined(separator: "/")
    }
}
