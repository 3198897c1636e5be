import Foundation
import YKTCore
import YKTNode
import YKTCounty
import YKTCrypto
import YKTTownship

/// Setting up a node, its calendar, and the generated documentation.
enum NodeCommands {
    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["init"], abstract: "建立节点（目录、配置、数据库和签名密钥）：乡镇节点或县级节点",
            discussion: "在 --node 指定的目录建立一个新节点。目录权限 0700，数据库和签名密钥文件权限 0600。",
            options: [
                .value("role", "角色", "township（乡镇，默认）或 county（县财政）"),
                .value("township", "代码", "乡镇 9 位行政区划代码，例如 450223101（乡镇节点必填）"),
                .value("name", "名称", "节点名称，例如 寨沙镇、鹿寨县", required: true),
                .value("county", "代码", "县级 6 位代码；乡镇节点不给时取乡镇代码前 6 位，县级节点必填"),
            ],
            run: { inv in
                guard let dir = inv.nodeDirectory else {
                    throw YKTError(.usage, "没有指定节点目录", at: SourceLocation(field: "--node"),
                                   hint: "用 --node 目录 指定新节点放在哪里")
                }
                if inv.string("role") == "county" {
                    let code = try inv.require("county")
                    guard code.count == 6, code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                        throw YKTError(.usageValue, "县级代码应为 6 位数字", at: SourceLocation(field: "--county"))
                    }
                    let config = NodeConfig(role: .county, nodeID: code, name: try inv.require("name"), countyCode: code,
                                            defaultOperator: inv.operatorName ?? "")
                    let node = try CountyNode.create(directory: dir, config: config)
                    inv.out.line("已建立县级节点 \(node.config.name)（\(node.config.nodeID)）：\(dir)")
                    return
                }
                guard inv.string("role") == nil || inv.string("role") == "township" else {
                    throw YKTError(.usageValue, "角色只能是 township 或 county", at: SourceLocation(field: "--role"))
                }
                let township = try inv.require("township")
                let config = NodeConfig(role: .township, nodeID: township, name: try inv.require("name"),
                                        countyCode: inv.string("county") ?? String(township.prefix(6)),
                                        defaultOperator: inv.operatorName ?? "")
                let node = try TownshipNode.create(directory: dir, config: config)
                inv.out.line("已建立乡镇节点 \(node.config.name)（\(node.config.nodeID)）：\(dir)")
            }),
        CommandSpec(
            path: ["key", "show"], abstract: "显示本节点的签名公钥（在县级节点登记用；私钥不会显示）",
            options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let (nodeID, key) = try inv.role() == .county ? (try inv.county().config.nodeID, try inv.county().publicKey())
                                                               : (try inv.node().config.nodeID, try inv.node().publicKey())
                struct Shown: Encodable { var node: String; var keyID: String; var algorithm: String; var publicKey: String }
                let shown = Shown(node: nodeID, keyID: key.keyID, algorithm: "Ed25519", publicKey: Hex.encode(key.raw))
                if inv.json { return try inv.out.json(shown) }
                inv.out.fields([("节点", shown.node), ("算法", shown.algorithm), ("密钥编号", shown.keyID), ("公钥", shown.publicKey)])
            }),
        CommandSpec(
            path: ["backup"], abstract: "备份本节点：数据库（SQLite 在线备份，节点可照常办理）、node.conf 和签名私钥，写入一个新目录",
            discussion: "备份目录权限 0700，私钥与数据库 0600，请存放在安全处。恢复：停止节点，用备份目录作节点目录。从备份恢复的节点下次同步会被识别（YKT-SYNC-RESTORED），须系统管理员核对后处理。",
            options: [.value("out", "目录", "新的备份目录（不能已存在）"), .flag("json", "以 JSON 输出")],
            run: { inv in
                guard let out = inv.string("out"), !out.isEmpty else {
                    throw YKTError(.usage, "请用 --out 给出新的备份目录", at: SourceLocation(field: "--out"))
                }
                let report = inv.isCounty ? try inv.county().backup(to: out) : try inv.node().backup(to: out)
                if inv.json { return try inv.out.json(report) }
                inv.out.line("已备份到 \(report.directory)：\(report.files.joined(separator: "、"))（数据库 \(report.databaseBytes) 字节）")
            }),
        CommandSpec(
            path: ["calendar", "load"], abstract: "导入新年度的节假日安排（放假和调休上班）",
            discussion: "文件格式同 data/cn-holidays.tsv：日期<TAB>holiday|workday<TAB>名称。已有年度不能重复导入。",
            positionals: [("文件", "节假日安排 TSV 文件")],
            run: { inv in
                let path = inv.positional(0)
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw YKTError(.fileRead, "文件不存在或不能读取", at: SourceLocation(file: path), hint: "检查文件路径")
                }
                let years = try inv.node().loadCalendar(tsv: String(decoding: data, as: UTF8.self), file: path)
                inv.out.line("已导入 \(years.map(String.init).joined(separator: "、")) 年的节假日安排")
            }),
        CommandSpec(
            path: ["calendar", "period"], abstract: "推算公示期：从张贴日起满 5 个工作日的起止日期和最早结束日期",
            options: [.value("date", "日期", "公示张贴日期 YYYY-MM-DD；不给时为今天（北京时间）"), .flag("json", "以 JSON 输出")],
            run: { inv in
                let calendar: WorkCalendar = inv.nodeDirectory == nil ? .builtIn : try inv.node().calendar
                let p = try NoticePeriod(posted: try inv.date(), calendar: calendar)
                if inv.json { return try inv.out.json(p) }
                inv.out.fields([("张贴日", p.posted.chinese), ("公示第一天", p.firstDay.chinese),
                                ("公示最后一天", p.lastDay.chinese), ("最早结束日", p.earliestClose.chinese)])
            }),
        CommandSpec(
            path: ["docs", "commands"], abstract: "输出命令参考（Markdown，即 docs/commands.md）",
            run: { inv in inv.out.line(YKTCommandLine.markdownReference) }),
        CommandSpec(
            path: ["docs", "errors"], abstract: "输出错误代码表（Markdown，用于 docs/errors.md）",
            run: { inv in inv.out.line(YKTCommandLine.errorTable) }),
    ]
}
