import YKTCore
import YKTNode
import YKTTownship

/// The outbox and the audit trail.
enum RecordCommands {
    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["outbox", "list"], abstract: "列出待同步的操作（与变更在同一事务中写入）",
            options: [.value("state", "状态", "只列这个状态（pending 等）"), .value("limit", "条数", "最多列出几条"),
                      .flag("summary", "只按操作类型汇总条数"), .flag("json", "以 JSON 输出（含完整操作内容）")],
            run: { inv in
                let node = try inv.node()
                if inv.flag("summary") {
                    let s = try node.outboxSummary()
                    if inv.json {
                        struct Row: Encodable { var kind: String; var state: String; var count: Int }
                        return try inv.out.json(s.map { Row(kind: $0.kind, state: $0.state, count: $0.count) })
                    }
                    inv.out.table(["操作", "状态", "条数"], s.map { [$0.kind, $0.state, String($0.count)] }, rightAligned: [2])
                    return
                }
                let limit = try inv.optional("limit") { s throws(YKTError) -> Int in
                    guard let n = Int(s), n > 0 else { throw YKTError(.usageValue, "--limit 应为正整数") }
                    return n
                } ?? Int.max
                let ops = try node.outbox(state: inv.string("state"), limit: limit)
                if inv.json { return try inv.disclose(ops, object: "outbox n=\(ops.count)") }
                inv.out.table(["序号", "操作", "对象", "基于版本", "时间", "状态"], ops.map {
                    [String($0.seq), $0.kind, maskEntity($0.entity), String($0.baseVersion), $0.at, $0.state]
                }, rightAligned: [0, 3])
            }),
        CommandSpec(
            path: ["audit", "verify"], abstract: "校验审计日志：哈希链（被修改、删除或截断的记录）、每项决定的本人签名及其当时的角色、表中的决定是否都有签名记录；县级节点还逐个核对已收变更集的存证原文",
            options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let county = inv.isCounty ? try inv.county() : nil
                var report = try AuditLog.verify(db: try county?.db ?? inv.node().db)
                // Who took each decision: signatures, roles at the moment, rows written around the program.
                report.problems += try county.map { try $0.verifyOperators(decided: try $0.decidedRows()) }
                    ?? inv.node().verifyOperators(decided: try inv.node().decidedRows())
                if inv.json { try inv.out.json(report) } else if report.ok {
                    inv.out.line("审计日志完好：共 \(report.entries) 条，链头 \(report.headHash.prefix(16))…")
                }
                if !report.ok {
                    throw YKTError(.auditBroken, "审计日志有 \(report.problems.count) 处断裂（共 \(report.entries) 条）",
                                   hint: "数据库可能被绕过本程序改动；保留现场，报告县财政系统管理员",
                                   details: report.problems.map { YKTError(.auditBroken, $0.description) })
                }
                if let county {
                    let evidence = try county.verifyEvidence()
                    if !evidence.problems.isEmpty {
                        throw YKTError(.fileRead, "存证原文有 \(evidence.problems.count) 处与签名头部不符（共核对 \(evidence.changeSets) 个变更集）",
                                       hint: "停止 ykt serve，从最近的备份恢复节点目录下的 evidence 目录，再核对",
                                       details: evidence.problems.map { YKTError(.fileRead, $0) })
                    }
                    if !inv.json { inv.out.line("存证原文完好：共核对 \(evidence.changeSets) 个变更集") }
                }
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
    static func maskDigits(_ text: String) -> String {
        var out = ""
        var run = ""
        func flush() {
            if run.count >= 16 { out += Masking.residentID(run).count == run.count && run.count == 18 ? Masking.residentID(run) : Masking.account(run) }
            else if run.count == 11, run.first == "1" { out += Masking.phone(run) }
            else { out += run }
            run = ""
        }
        for ch in text {
            if ch.isNumber && ch.isASCII || (ch == "X" && run.count == 17) { run.append(ch) } else { flush(); out.append(ch) }
        }
        flush()
        return out
    }

    /// Entity keys carry resident IDs; mask them for display.
    static func maskEntity(_ entity: String) -> String {
        entity.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.count == 18 && part.prefix(17).allSatisfy(\.isNumber) ? Masking.residentID(String(part)) : String(part)
        }.joined(separator: "/")
    }
}
