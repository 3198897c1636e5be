import Dispatch
import Foundation
import YKTCore
import YKTNode
import YKTCounty
import YKTCrypto
import YKTNet
import YKTStore
import YKTSync
import YKTTownship
import YKTTransport
#if canImport(Glibc)
import Glibc
#endif

/// Enrolment, the county server and the township's sync.
enum SyncCommands {
    /// `10m`, `30s`, `1h` → seconds.
    static func duration(_ text: String) throws(YKTError) -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
        guard let unit = text.last.flatMap({ units[$0] }), let n = Double(text.dropLast()), n > 0 else {
            throw YKTError(.usageValue, "时间间隔「\(text)」无效", hint: "例如 30s、10m、1h")
        }
        return n * unit
    }

    /// What `ykt sync` prints about operations not accepted: one line per status, rule and
    /// reason with its count, the county's conflict numbers and the first operations (the
    /// most frequent first, at most `shown` lines), never one line per operation.
    static func problemLines(_ r: TownshipNode.PushReport, shown: Int = 10) -> [String] {
        let groups = r.groups.sorted { $0.count > $1.count }
        var lines = groups.prefix(shown).map { g -> String in
            let what = g.status == "conflicted" ? "冲突" : "退回"
            let conflicts = g.conflicts.isEmpty ? "" : "（县里冲突编号 " + g.conflicts.prefix(5).map(String.init).joined(separator: "、")
                + (g.conflicts.count > 5 ? " 等 \(g.conflicts.count) 个" : "") + "）"
            let rule = g.rule.isEmpty ? "" : "[\(g.rule)] "
            let ops = g.examples.joined(separator: "、") + (g.count > g.examples.count ? " 等" : "")
            return "  - \(what) \(g.count) 条：\(rule)\(g.reason)\(conflicts)；如操作 \(ops)"
        }
        let rest = groups.dropFirst(shown).reduce(0) { $0 + $1.count } + r.otherProblems
        if rest > 0 { lines.append("  - 另有 \(rest) 条退回或冲突，原因各不相同：用 ykt outbox list --problems 逐条查看") }
        return lines
    }

    /// The options that choose conflicts (`conflicts list`, `conflicts resolve all`).
    static func conflictFilterOptions(paging: Bool) -> [OptionSpec] {
        var options: [OptionSpec] = [
            .value("status", "状态", "open（待处理）或 resolved（已处理）"),
            .value("kind", "种类", "冲突种类，如 resident.two-townships、program.list"),
            .value("township", "代码", "涉及这个乡镇（报送方或另一方）"),
            .value("from", "日期", "记录日期不早于 YYYY-MM-DD"),
            .value("to", "日期", "记录日期不晚于 YYYY-MM-DD"),
        ]
        if paging {
            options += [.value("limit", "条数", "每页最多几条"), .value("offset", "条数", "跳过前几条"),
                        .value("page", "页码", "第几页（从 1 起，与 --limit 合用，默认每页 50 条）")]
        }
        return options
    }

    static func conflictFilter(_ inv: Invocation, paging: Bool) throws -> CountyNode.ConflictFilter {
        func count(_ name: String, positive: Bool) throws(YKTError) -> Int? {
            try inv.optional(name) { s throws(YKTError) -> Int in
                guard let n = Int(s), positive ? n > 0 : n >= 0 else {
                    throw YKTError(.usageValue, "--\(name) 应为\(positive ? "正" : "非负")整数", at: SourceLocation(field: "--\(name)"))
                }
                return n
            }
        }
        var filter = CountyNode.ConflictFilter(
            status: inv.string("status")?.trimmed, kind: inv.string("kind")?.trimmed, township: inv.string("township")?.trimmed,
            from: try inv.optional("from") { s throws(YKTError) in try CivilDate(parsing: s) },
            to: try inv.optional("to") { s throws(YKTError) in try CivilDate(parsing: s) })
        if paging {
            filter.limit = try count("limit", positive: true)
            filter.offset = try count("offset", positive: false) ?? 0
            if let page = try count("page", positive: true) {
                let size = filter.limit ?? 50
                filter.limit = size
                filter.offset = (page - 1) * size
            }
        }
        return filter
    }

    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["township", "enrol"], abstract: "（县级）登记一个乡镇节点及其签名公钥",
            options: [.value("township", "代码", "乡镇 9 位代码", required: true),
                      .value("name", "名称", "乡镇名称", required: true),
                      .value("public-key", "十六进制", "乡镇节点 ykt key show 显示的公钥", required: true)],
            run: { inv in
                try inv.county().enrol(township: try inv.require("township"), name: try inv.require("name"),
                                       publicKeyHex: try inv.require("public-key"))
                inv.out.line("已登记乡镇 \(try inv.require("township"))")
            }),
        CommandSpec(
            path: ["township", "disable"], abstract: "（县级）停用一个乡镇：从此刻起它的变更集和下行同步一律拒收（YKT-SYNC-DISABLED）",
            discussion: "用于签名密钥或证书疑似被盗、乡镇撤并等情形。停用立即生效，正在运行的 ykt serve 也从下一个请求起拒收（每个请求都读数据库），变更集在读正文之前即被拒收；拒收记入服务日志（outcome=refused code=YKT-SYNC-DISABLED）。停用和理由记入审计日志。ykt township enable 重新启用。",
            positionals: [("乡镇代码", "乡镇 9 位代码")],
            options: [.value("reason", "理由", "停用理由，记入审计日志", required: true)],
            run: { inv in
                try inv.county().disable(township: inv.positional(0), reason: try inv.require("reason"))
                inv.out.line("已停用乡镇 \(inv.positional(0))：它的同步从此刻起一律拒收")
            }),
        CommandSpec(
            path: ["township", "enable"], abstract: "（县级）重新启用被停用的乡镇",
            discussion: "签名密钥可能已落入他人之手时，先用 ykt township enrol 登记乡镇的新公钥，再启用。",
            positionals: [("乡镇代码", "乡镇 9 位代码")],
            options: [.value("reason", "理由", "重新启用的理由，记入审计日志", required: true)],
            run: { inv in
                try inv.county().enable(township: inv.positional(0), reason: try inv.require("reason"))
                inv.out.line("已重新启用乡镇 \(inv.positional(0))")
            }),
        CommandSpec(
            path: ["township", "list"], abstract: "（县级）列出已登记的乡镇：代码、名称、现用签名密钥、状态、最近同步",
            discussion: "最近同步取最近收到变更集和最近下行同步两者中较晚的时间；从未同步的乡镇写「未同步」。--json 另有最近变更集编号、已确认的下行消息和待取的下行消息条数。",
            options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let county = try inv.county()
                let rows = try county.townships()
                let syncs = Dictionary(uniqueKeysWithValues: try county.townshipSyncs().map { ($0.code, $0) })
                if inv.json {
                    struct Row: Encodable {
                        var code: String; var name: String; var enrolledAt: String; var keyID: String?
                        var disabledAt: String?; var disabledBy: String?; var disabledReason: String?
                        var lastSyncAt: String?; var sync: CountyNode.TownshipSyncState?
                    }
                    return try inv.out.json(rows.map {
                        Row(code: $0.code, name: $0.name, enrolledAt: $0.enrolledAt, keyID: $0.keyID, disabledAt: $0.disabledAt,
                            disabledBy: $0.disabledBy, disabledReason: $0.disabledReason, lastSyncAt: syncs[$0.code]?.lastSyncAt,
                            sync: syncs[$0.code])
                    })
                }
                inv.out.table(["乡镇", "名称", "登记时间", "现用密钥", "状态", "停用理由", "最近同步"], rows.map {
                    [$0.code, $0.name, $0.enrolledAt, $0.keyID ?? "", $0.disabledAt.map { "已停用（\($0)）" } ?? "正常", $0.disabledReason ?? "",
                     syncs[$0.code]?.lastSyncAt.map(StatusCommands.when) ?? "未同步"]
                })
            }),
        CommandSpec(
            path: ["serve"], abstract: "（县级）启动同步服务：TLS 1.3 双向认证，接收乡镇的签名变更集并回签收据",
            discussion: "监听地址取 --listen 或 node.conf 的 listen；都没有时为默认的 \(SyncProtocol.defaultListen)（本机所有地址的 \(SyncProtocol.defaultPort) 端口，乡镇 node.conf 的 county_address 写 县财政主机:\(SyncProtocol.defaultPort)）。端口写 0 时由系统分配（测试用）。实际端口写入 节点目录/serve.port。未完成握手的连接须在 handshake_deadline_seconds（默认 5）内完成 TLS 握手，同一地址同时最多 max_pending_per_address（默认 32）个；握手和请求头须在 header_deadline_seconds（默认 15）内收齐；每次读写的超时取 io_timeout_seconds（默认 10）；请求正文按实际收到的字节计速，须至少每秒 min_body_bytes_per_second（默认 16384）字节，拖延的连接到时即断开。变更集先整份收进该乡镇的存证文件（不占数据库），核验无误后再在一个短事务中应用，所以慢速或中断的上传不会挡住其他乡镇和县里的命令；同一乡镇同时只能有一个上传，同一乡镇证书同时最多 \(CountyServer.connectionsPerTownship) 个连接（更多的立即答 503），全部乡镇同时最多 64 个。单个变更集最大取 max_changeset_bytes（默认 1 GiB）；数据库页缓存取 cache_mib（默认 128 MiB）。日志每个请求一行（log_format = json 为 JSON 行，log_level 设最低级别），不含个人信息。被停用的乡镇（ykt township disable）在读变更集头部之前即被拒收（YKT-SYNC-DISABLED）。证书吊销列表（tls_crl）在文件变化后的下一个连接起生效，收到 SIGHUP 时立即重读；CRL 过期（nextUpdate 已过）时启动即报错 YKT-CRL-EXPIRED，运行中过期则拒绝一切连接并记入日志，直到用 openssl ca -gencrl 重新签发。收到 SIGTERM 或 SIGINT 时处理完进行中的连接后退出。",
            options: [.value("listen", "地址", "监听地址 主机:端口（默认 \(SyncProtocol.defaultListen)）")],
            run: { inv in
                let county = try inv.county()
                let (host, port) = try NodeTLS.listenAddress(option: inv.string("listen"), config: county.config)
                var logger = Logger(label: "ykt.serve", format: county.config.extra["log_format"] == "json" ? .jsonLines : .text)
                if let name = county.config.extra["log_level"] {
                    guard let level = LogLevel(name: name) else {
                        throw YKTError(.nodeConfig, "node.conf 的 log_level「\(name)」无效", at: SourceLocation(file: NodeConfig.fileName, field: "log_level"),
                                       hint: "debug、info、notice、warning 或 error")
                    }
                    logger.level = level
                }
                let server = try CountyServer(county: county, host: host, port: port, logger: logger)
                let portFile = (county.directory as NSString).appendingPathComponent("serve.port")
                try FileOutput.writeAtomically("\(server.port)\n", to: portFile)
                let stop = StopSignal()
                // SIGHUP: read the CRL again now (it is also re-read whenever its file changes).
                signal(SIGHUP, SIG_IGN)
                let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
                hangup.setEventHandler {
                    do throws(YKTError) {
                        try server.reloadCRL()
                        logger.notice("CRL reloaded", ["signal": "SIGHUP", "next_update": server.tls.crlNextUpdateDescription])
                    } catch {
                        logger.error("CRL reload failed", ["signal": "SIGHUP", "code": error.code.rawValue, "error": error.message])
                    }
                }
                hangup.resume()
                server.start()
                inv.out.message("ykt serve: 县级节点 \(county.config.nodeID) 在 \(host):\(server.port) 监听（TLS 1.3 双向认证）")
                stop.wait()
                inv.out.message("ykt serve: 收到停止信号，处理完进行中的连接后退出")
                server.stop()
                hangup.cancel()
                try? FileManager.default.removeItem(atPath: portFile)
            }),
        CommandSpec(
            path: ["sync"], abstract: "（乡镇）同步一轮：把待同步的操作打包签名，经 TLS 报送县财政，核验回执",
            discussion: "县财政地址取 --county 或 node.conf 的 county_address。--every 10m 为定时模式：每轮一行日志，失败后按指数退避（带随机抖动）重试。",
            options: [.value("county", "地址", "县财政同步服务 主机:端口"),
                      .value("every", "间隔", "定时模式：每隔多久同步一轮，例如 10m"),
                      .value("rounds", "次数", "定时模式下最多运行几轮（默认不限）"),
                      .flag("json", "以 JSON 输出本轮结果")],
            run: { inv in
                let every = try inv.optional("every", { s throws(YKTError) in try duration(s) })
                let rounds = try inv.optional("rounds") { s throws(YKTError) -> Int in
                    guard let n = Int(s), n > 0 else { throw YKTError(.usageValue, "--rounds 应为正整数") }
                    return n
                } ?? Int.max
                // The TLS context is made while the node opens.
                let context = inv.nodeDirectory.flatMap(TownshipSync.startContext)
                let node = try inv.node()
                let sync = try TownshipSync(node: node, county: inv.string("county"), context: context)
                let progress = inv.out.isTerminal ? SyncProgressLine(out: inv.out).show : nil
                func round() throws -> TownshipNode.PushReport {
                    defer { if progress != nil { inv.out.clearProgress() } }
                    return try sync.round(progress: progress)
                }
                func line(_ r: TownshipNode.PushReport) -> String {
                    "推送变更集 \(r.changeSets) 个、操作 \(r.operations) 条：采纳 \(r.accepted)，退回 \(r.rejected)，冲突 \(r.conflicted)；收到县财政消息 \(r.pulled) 条"
                }
                guard let every else {
                    let r = try round()
                    // A small round's log is left for the next command to copy back, rather than
                    // copied back (and synced twice) as this process ends (Database.keepLogOnClose).
                    node.db.keepLogOnClose(ifAtMost: 1 << 20)
                    if inv.json { return try inv.out.json(r) }
                    inv.out.line("\(ChinaTime.timestamp()) " + line(r))
                    for l in problemLines(r) { inv.out.line(l) }
                    return
                }
                // A certificate, key or CRL no round could use stops the schedule at once.
                try sync.contextReady()
                var failures = 0
                for n in 1...rounds {
                    var wait = every
                    do {
                        inv.out.message("ykt sync: \(ChinaTime.timestamp()) 第 \(n) 轮 " + line(try round()))
                        failures = 0
                    } catch {
                        failures += 1
                        // Exponential back-off from 30 s, capped at the interval, with ±20 % jitter.
                        wait = min(every, 30 * pow(2, Double(min(failures - 1, 10)))) * Double.random(in: 0.8...1.2)
                        inv.out.message("ykt sync: \(ChinaTime.timestamp()) 第 \(n) 轮失败（连续 \(failures) 次）：\(error)；\(Int(wait)) 秒后重试")
                    }
                    if n < rounds { Thread.sleep(forTimeInterval: wait) }
                }
            }),
        CommandSpec(
            path: ["policy", "publish"], abstract: "（县级）发布新版补贴政策清单，下次同步时下发到所有乡镇",
            discussion: "文件格式同 ykt program load；整份校验，任何一行有错都不发布。",
            positionals: [("文件", "政策清单 CSV 文件")], options: [RegisterCommands.encodingOption],
            run: { inv in
                let encoding = try inv.optional("encoding") { s throws(YKTError) in try TextEncoding(parsing: s) } ?? .auto
                let version = try inv.county().publishPolicy(path: inv.positional(0), encoding: encoding)
                inv.out.line("已发布补贴政策清单第 \(version) 版，各乡镇下次同步时收到")
            }),
        CommandSpec(
            path: ["conflicts", "show"], abstract: "（县级）查看一条冲突：双方的操作原文、所在变更集、状态、可用的处理决定（文本脱敏；--json 为原文并记入审计）",
            positionals: [("编号", "冲突编号")], options: [.flag("json", "以 JSON 输出（含完整个人信息）")],
            run: { inv in
                guard let id = Int64(inv.positional(0)) else { throw YKTError(.usageValue, "冲突编号应为整数") }
                let county = try inv.county()
                let (c, sides) = try county.conflictSides(id)
                let decisions = CountyNode.decisions(for: c)
                if inv.json {
                    struct Shown: Encodable { var conflict: CountyNode.Conflict; var sides: [CountyNode.ConflictSide]; var decisions: [CountyNode.ConflictDecision] }
                    try county.recordView(of: "conflict#\(id)")
                    return try inv.out.json(Shown(conflict: c, sides: sides, decisions: decisions))
                }
                var fields = [("冲突编号", String(c.id)), ("种类", "\(c.kind)（\(SyncWords.conflict(c.kind))）"), ("对象", c.entity),
                              ("乡镇", c.node + (c.otherNode.map { "，另一方 \($0)" } ?? "")), ("记录时间", c.createdAt),
                              ("说明", RecordCommands.maskDigits(c.detail)), ("状态", SyncWords.conflictStatus(c.status))]
                if let d = c.decision { fields.append(("决定", d + (c.reason.map { "，理由：\($0)" } ?? ""))) }
                inv.out.fields(fields)
                if c.status == "open" {
                    inv.out.line()
                    inv.out.line("可用的决定（ykt conflicts resolve \(c.id) --decision 决定 --reason 理由）：")
                    for d in decisions { inv.out.line("  \(d.decision)：\(d.meaning)") }
                }
                for side in sides {
                    inv.out.line()
                    inv.out.line(side.changeSet == 0 ? "县财政 \(side.node)，\(side.operation)："
                                                     : "乡镇 \(side.node)，变更集 \(side.changeSet)，操作 \(side.operation)：")
                    inv.out.line("  " + RecordCommands.maskDigits(side.body))
                }
            }),
        CommandSpec(
            path: ["conflicts", "resolve"], abstract: "（县级）处理冲突：记录决定和理由（本人签名），决定下发给相关乡镇；可按条件一次处理一批",
            discussion: "编号为一条冲突的编号；写 all 则处理符合 --kind、--township、--from、--to 的全部待处理冲突（至少给出其中一项；同一个决定、同一个理由，在一个事务中；决定须适用于其中每一条，否则一条也不处理）。每种冲突可用的决定：" + decisionsText + "。ykt conflicts show 编号 列出该条可用的决定及其含义。一批冲突记为签名的审计记录（每条记录最多列 500 个冲突），ykt audit verify 逐个核对。",
            positionals: [("编号", "冲突编号，或 all（按条件批量处理）")],
            options: [.value("decision", "决定", "决定（须适用于该种冲突，见上）", required: true),
                      .value("reason", "理由", "核实情况和理由", required: true)] + conflictFilterOptions(paging: false),
            run: { inv in
                let county = try inv.county()
                let target = inv.positional(0).trimmed
                if target == "all" {
                    let filter = try conflictFilter(inv, paging: false)
                    // A set is named, never "every conflict" by a forgotten option.
                    guard filter.narrows else {
                        throw YKTError(.usage, "批量处理须用 --kind、--township、--from 或 --to 指明哪些冲突", at: SourceLocation(field: "all"),
                                       hint: "先用 ykt conflicts list --summary 查看，再按种类和乡镇处理")
                    }
                    let n = try county.resolveConflicts(filter, decision: try inv.require("decision"), reason: try inv.require("reason"))
                    inv.out.line("已处理冲突 \(n) 条，决定将在相关乡镇下次同步时送达")
                    return
                }
                guard let id = Int64(target) else { throw YKTError(.usageValue, "冲突编号应为整数，或写 all 按条件批量处理", at: SourceLocation(field: "编号")) }
                try county.resolveConflict(id, decision: try inv.require("decision"), reason: try inv.require("reason"))
                inv.out.line("冲突 \(id) 已处理，决定将在相关乡镇下次同步时送达")
            }),
        CommandSpec(
            path: ["inbox", "list"], abstract: "（乡镇）列出从县财政收到的消息：每条一行中文摘要，须办理的写明怎么办",
            discussion: "消息在同步时已自动采用（政策清单、工作日历、审核审定结果、发放结果、账户变更）；须经办人办理的（如冲突决定要求移除某人、发放失败要更正）在「须办理」一栏写明命令。--json 输出每条消息的完整原文（含完整个人信息，查看记入审计日志）。",
            options: [.flag("waiting", "只列须办理的"), .flag("json", "以 JSON 输出（含完整原文）")],
            run: { inv in
                var items = try inv.node().inboxItems()
                if inv.flag("waiting") { items = items.filter { $0.action != nil } }
                if inv.json { return try inv.disclose(items, object: "inbox n=\(items.count)") }
                if items.isEmpty {
                    return inv.out.line(inv.flag("waiting") ? "没有须办理的消息" : "还没有收到县财政的消息（同步后才有）")
                }
                inv.out.table(["序号", "种类", "收到时间", "内容", "须办理"], items.map {
                    [String($0.seq), $0.kindText, String($0.receivedAt.prefix(16)), RecordCommands.maskDigits($0.summary), $0.action ?? ""]
                }, rightAligned: [0])
            }),
        CommandSpec(
            path: ["county", "totals"], abstract: "（县级）各乡镇已同步的底册人数、清册数和金额",
            options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let totals = try inv.county().totals()
                if inv.json {
                    struct Row: Encodable { var node: String; var residents: Int; var rosters: Int; var rosterFen: Int64; var operations: Int }
                    return try inv.out.json(totals.map { Row(node: $0.node, residents: $0.residents, rosters: $0.rosters,
                                                             rosterFen: $0.rosterFen, operations: $0.operations) })
                }
                inv.out.table(["乡镇", "底册人数", "清册数", "清册金额（元）", "操作数"], totals.map {
                    [$0.node, String($0.residents), String($0.rosters), Fen($0.rosterFen).yuanGrouped, String($0.operations)]
                }, rightAligned: [1, 2, 3, 4])
            }),
        CommandSpec(
            path: ["conflicts", "list"], abstract: "（县级）列出冲突日志：按状态、种类、乡镇、日期筛选，分页，或按种类和乡镇汇总",
            discussion: "在乡镇节点上不可用（冲突日志在县财政）：乡镇收到的处理决定用 ykt inbox list 查看，每条写明要办的事。",
            options: conflictFilterOptions(paging: true) + [.flag("summary", "按种类、乡镇、状态汇总条数"), .flag("json", "以 JSON 输出")],
            run: { inv in
                guard try inv.role() == .county else {
                    throw YKTError(.conflictTownship, "冲突日志在县财政，乡镇节点没有", hint: "用 ykt inbox list 查看县里的处理决定和要办的事")
                }
                let county = try inv.county()
                let filter = try conflictFilter(inv, paging: true)
                if inv.flag("summary") {
                    let rows = try county.conflictSummary(filter)
                    if inv.json { return try inv.out.json(rows) }
                    if rows.isEmpty { return inv.out.line("没有符合条件的冲突") }
                    inv.out.table(["种类", "说明", "乡镇", "状态", "条数"], rows.map {
                        [$0.kind, SyncWords.conflict($0.kind), $0.township, SyncWords.conflictStatus($0.status), String($0.count)]
                    }, rightAligned: [4])
                    inv.out.line("合计 \(rows.reduce(0) { $0 + $1.count }) 条")
                    return
                }
                let rows = try county.conflicts(filter)
                if inv.json { return try inv.out.json(rows) }
                if rows.isEmpty {
                    let total = filter.offset > 0 ? try county.conflictCount(filter) : 0
                    return inv.out.line(total > 0 ? "本页没有冲突：符合条件的共 \(total) 条，--offset 超出了范围" : "没有符合条件的冲突")
                }
                inv.out.table(["编号", "种类", "乡镇", "操作", "另一方", "记录时间", "说明", "状态"], rows.map {
                    [String($0.id), $0.kind, $0.node, "\($0.node)-\($0.opSeq)", $0.otherNode ?? "", String($0.createdAt.prefix(10)),
                     RecordCommands.maskDigits($0.detail), SyncWords.conflictStatus($0.status)]
                }, rightAligned: [0])
                let total = try county.conflictCount(filter)
                if let limit = filter.limit, total > rows.count {
                    inv.out.line("共 \(total) 条，本页第 \(filter.offset + 1)–\(filter.offset + rows.count) 条；下一页：--offset \(filter.offset + limit) --limit \(limit)")
                }
            }),
    ]
}


/// What each kind of conflict can be resolved with, for `ykt conflicts resolve --help`: built
/// with `+=`, as every command builds its list at its start (a generic `joined` looked its
/// types up at run time).
private var decisionsText: String {
    var text = ""
    for (i, entry) in CountyNode.decisionsByKind.enumerated() {
        text += (i == 0 ? "" : "；") + entry.kind + "：" + entry.decisions
    }
    return text
}
