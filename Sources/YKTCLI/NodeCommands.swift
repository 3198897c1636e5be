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
            discussion: "在 --node 指定的目录建立一个新节点。目录权限 0700，数据库和签名密钥文件权限 0600。同时建立首位管理员账户：口令在终端输入两次，脚本中用 --password-stdin（标准输入第 1 行）。管理员再为其他经办人开户、授予角色（docs/operators.md）。node.conf 写入本角色用到的全部配置项：须向县财政或证书管理员索取的值（同步地址、证书、县财政公钥）写成以 # 开头的注释行，填好后去掉 #；有默认值的写明默认值。建立后列出接下来的步骤和要运行的命令。",
            options: [
                .value("role", "角色", "township（乡镇，默认）或 county（县财政）"),
                .value("township", "代码", "乡镇 9 位行政区划代码，例如 450223101（乡镇节点必填）"),
                .value("name", "名称", "节点名称，例如 寨沙镇、鹿寨县", required: true),
                .value("county", "代码", "县级 6 位代码；乡镇节点不给时取乡镇代码前 6 位，县级节点必填"),
                .value("admin", "登录名", "首位管理员的登录名（如 admin-liu）", required: true),
                .value("admin-name", "姓名", "首位管理员的真实姓名", required: true),
            ],
            run: { inv in
                guard let dir = inv.nodeDirectory else {
                    throw YKTError(.usage, "没有指定节点目录", at: SourceLocation(field: "--node"),
                                   hint: "用 --node 目录 指定新节点放在哪里")
                }
                let admin = try Operators.checkLogin(try inv.require("admin"))
                let adminName = try inv.require("admin-name")
                let password = try inv.password(0, prompt: "首位管理员 \(admin) 的口令")
                try Operators.checkStrength(password)
                if !inv.flag("password-stdin"), try inv.password(1, prompt: "再输入一次") != password {
                    throw YKTError(.authPassword, "两次输入的口令不一致", hint: "重新运行 ykt init")
                }
                if inv.string("role") == "county" {
                    let code = try inv.require("county")
                    guard code.count == 6, code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                        throw YKTError(.usageValue, "县级代码应为 6 位数字", at: SourceLocation(field: "--county"))
                    }
                    let config = NodeConfig(role: .county, nodeID: code, name: try inv.require("name"), countyCode: code,
                                            defaultOperator: "")
                    let node = try CountyNode.create(directory: dir, config: config)
                    try node.bootstrapAdministrator(login: admin, realName: adminName, password: password)
                    try appendSetup(NodeSetup.countySection(countyCode: code), to: dir)
                    inv.out.line("已建立县级节点 \(node.config.name)（\(node.config.nodeID)）：\(dir)")
                    inv.out.line(NodeSetup.countyNextSteps(directory: dir, admin: admin, countyCode: code))
                    return
                }
                guard inv.string("role") == nil || inv.string("role") == "township" else {
                    throw YKTError(.usageValue, "角色只能是 township 或 county", at: SourceLocation(field: "--role"))
                }
                let township = try inv.require("township")
                let config = NodeConfig(role: .township, nodeID: township, name: try inv.require("name"),
                                        countyCode: inv.string("county") ?? String(township.prefix(6)),
                                        defaultOperator: "")
                let node = try TownshipNode.create(directory: dir, config: config)
                try node.bootstrapAdministrator(login: admin, realName: adminName, password: password)
                try appendSetup(NodeSetup.townshipSection(township: township, name: try inv.require("name")), to: dir)
                inv.out.line("已建立乡镇节点 \(node.config.name)（\(node.config.nodeID)）：\(dir)")
                inv.out.line(NodeSetup.townshipNextSteps(directory: dir, admin: admin, township: township, name: node.config.name))
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
                var fields = [("节点", shown.node), ("算法", shown.algorithm), ("密钥编号", shown.keyID), ("公钥", shown.publicKey)]
                if try inv.role() != .county, let pending = try inv.node().pendingKey() {
                    fields.append(("待确认的新密钥", "\(pending.keyID)（下次同步县财政确认后启用）"))
                }
                inv.out.fields(fields)
            }),
        CommandSpec(
            path: ["key", "rotate"], abstract: "更换本节点的签名密钥（新密钥由旧密钥签名宣布）",
            discussion: "乡镇：生成新密钥（signing.key.next），旧密钥在县财政确认前继续使用；下一次 ykt sync 的变更集带上由旧密钥和新密钥共同签名的换钥声明（头部 key-next 字段），县财政核验后在同一事务中把新密钥登记为现用、旧密钥停用，此后用旧密钥签名的变更集一律拒收（YKT-SYNC-KEY-RETIRED）。回执确认后新密钥替换 signing.key。中途崩溃不影响：下次同步照样带声明重发。上一次更换未确认前不能再次更换（YKT-KEY-PENDING）。县级：生成新密钥，换钥声明由现用密钥和新密钥共同签名，在同一事务中启用新密钥、停用旧密钥，并用新密钥重签尚未被乡镇确认的下行消息；此后回执和下行消息都带密钥编号和换钥声明，乡镇由它信任的密钥签发的声明接受新密钥，旧密钥或未经宣布的密钥签名的内容一律拒收。正在运行的 ykt serve 从下一个请求起使用新密钥。",
            options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let rotation = try inv.role() == .county ? try inv.county().rotateKey() : try inv.node().rotateKey()
                struct Shown: Encodable { var node: String; var oldKeyID: String; var newKeyID: String; var publicKey: String; var at: String }
                let shown = Shown(node: rotation.node, oldKeyID: rotation.oldKeyID, newKeyID: rotation.newKey.keyID,
                                  publicKey: Hex.encode(rotation.newKey.raw), at: rotation.at)
                if inv.json { return try inv.out.json(shown) }
                inv.out.fields([("节点", shown.node), ("旧密钥", shown.oldKeyID), ("新密钥", shown.newKeyID), ("新公钥", shown.publicKey),
                                ("时间", shown.at)])
                inv.out.line(try inv.role() == .county ? "县级签名密钥已更换；各乡镇下次同步时由旧密钥签发的声明接受新密钥"
                                                   : "新密钥待县财政确认：下次 ykt sync 时送达，确认后启用")
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
            path: ["calendar", "publish"], abstract: "（县级）发布新年度的节假日安排（放假和调休上班），下次同步时下发到所有乡镇",
            discussion: "文件格式同 data/cn-holidays.tsv：日期<TAB>holiday|workday<TAB>名称；整份校验。只能发布尚未发布的年度（已发布的年度用 ykt calendar correct 更正）。每次发布是一个新版本，记入审计；乡镇只采用县里发布的日历。",
            positionals: [("文件", "节假日安排 TSV 文件")],
            options: [.value("reason", "说明", "发布依据，例如 国办发明电〔2025〕7号（记入审计和版本）")],
            run: { inv in
                let v = try inv.county().publishCalendar(path: inv.positional(0), reason: inv.string("reason") ?? "")
                inv.out.line("已发布工作日历第 \(v.version) 版（\(v.years.map(String.init).joined(separator: "、")) 年），各乡镇下次同步时收到")
            }),
        CommandSpec(
            path: ["calendar", "correct"], abstract: "（县级）更正已发布年度的节假日安排：只能改动还没有被公示期或银行期限用到的日期",
            discussion: "文件中每个年度整年替换已发布的安排。会改变某个已用日期（县里已收到的公示从张贴日到第 5 个工作日、已发出批次从发出日到报告期限）的更正整份拒绝，并列出用到它的公示和批次（YKT-CAL-USED）。须写明理由；更正是一个新版本，记入审计并下发到所有乡镇。",
            positionals: [("文件", "更正后的年度节假日安排 TSV 文件")],
            options: [.value("reason", "理由", "为什么更正（必填，记入审计并下发）", required: true)],
            run: { inv in
                let v = try inv.county().correctCalendar(path: inv.positional(0), reason: try inv.require("reason"))
                let changed = v.changed.isEmpty ? "只改名称" : "改动 \(v.changed.joined(separator: "、"))"
                inv.out.line("已更正工作日历，第 \(v.version) 版（\(v.years.map(String.init).joined(separator: "、")) 年，\(changed)），各乡镇下次同步时收到")
            }),
        CommandSpec(
            path: ["calendar", "show"], abstract: "查看本节点的工作日历：县级为各版本，乡镇为同步收到的县里版本",
            options: [.flag("days", "列出每一个节假日和调休上班日"), .flag("json", "以 JSON 输出")],
            run: { inv in
                if inv.isCounty {
                    let county = try inv.county()
                    let versions = try county.calendarVersions()
                    let cal = try county.calendar
                    if inv.json {
                        struct Shown: Encodable { var years: [Int]; var versions: [CountyNode.CalendarVersion]; var days: [WorkCalendar.Entry] }
                        return try inv.out.json(Shown(years: cal.years.sorted(), versions: versions, days: Self.days(cal)))
                    }
                    if versions.isEmpty { inv.out.line("尚未发布工作日历：用 ykt calendar publish 文件 发布") }
                    try inv.list(versions, ["版本", "操作", "年度", "文件", "改动日期", "说明", "经办人", "时间"]) { v in
                        [String(v.version), v.action, v.years.map(String.init).joined(separator: ","), v.file,
                         v.changed.joined(separator: ","), v.reason, v.by, v.at]
                    }
                    if inv.flag("days") { Self.printDays(cal, inv) }
                    return
                }
                let node = try inv.node()
                let info = try node.calendarInfo()
                if inv.json {
                    struct Shown: Encodable { var info: TownshipNode.CalendarInfo; var days: [WorkCalendar.Entry] }
                    return try inv.out.json(Shown(info: info, days: Self.days(node.calendar)))
                }
                guard let version = info.version else {
                    inv.out.line("尚未收到县财政发布的工作日历：请县财政 ykt calendar publish，然后本节点 ykt sync")
                    return
                }
                inv.out.fields([("县财政工作日历", "第 \(version) 版（\(info.action == "correct" ? "更正" : "发布")）"),
                                ("年度", info.years.map(String.init).joined(separator: "、")),
                                ("节假日和调休上班", "\(info.days) 天"),
                                ("更正的日期", info.changed.isEmpty ? "—" : info.changed.joined(separator: "、")),
                                ("说明", info.reason?.isEmpty == false ? info.reason! : "—"),
                                ("县里发布于", info.publishedAt ?? ""), ("本节点收到于", info.receivedAt ?? "")])
                if inv.flag("days") { Self.printDays(node.calendar, inv) }
            }),
        CommandSpec(
            path: ["calendar", "load"], abstract: "（已停用）节假日安排改由县财政统一发布：本命令在任何节点都拒绝执行",
            discussion: "乡镇不能自行导入节假日安排，否则各节点的工作日历会不一致。县财政用 ykt calendar publish / correct，乡镇 ykt sync 后自动采用（YKT-CAL-COUNTY）。",
            positionals: [("文件", "节假日安排 TSV 文件")],
            run: { inv in
                if inv.isCounty {
                    throw YKTError(.calendarCounty, "县级节点用 ykt calendar publish 发布节假日安排", at: SourceLocation(file: inv.positional(0)),
                                   hint: "ykt calendar publish \(inv.positional(0))")
                }
                try inv.node().loadCalendar(tsv: "", file: inv.positional(0))
            }),
        CommandSpec(
            path: ["calendar", "period"], abstract: "推算公示期：从张贴日起满 5 个工作日的起止日期和最早结束日期（按本节点的县财政工作日历）",
            options: [.value("date", "日期", "公示张贴日期 YYYY-MM-DD；不给时为今天（北京时间）"), .flag("json", "以 JSON 输出")],
            run: { inv in
                guard inv.nodeDirectory != nil else {
                    throw YKTError(.nodeMissing, "推算公示期要用县财政发布的工作日历，须指定节点", at: SourceLocation(field: "--node"),
                                   hint: "用 --node 或 YKT_NODE 指向本乡镇或县级节点")
                }
                let calendar: WorkCalendar = inv.isCounty ? try inv.county().calendar : try inv.node().calendar
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

    /// Appends the role's configuration keys (`NodeSetup`) to the new node's node.conf.
    static func appendSetup(_ section: String, to dir: String) throws {
        let path = (dir as NSString).appendingPathComponent(NodeConfig.fileName)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(section.utf8))
    }

    static func days(_ cal: WorkCalendar) -> [WorkCalendar.Entry] { cal.entries.values.sorted { $0.date < $1.date } }

    static func printDays(_ cal: WorkCalendar, _ inv: Invocation) {
        inv.out.table(["日期", "类别", "名称"], days(cal).map { [$0.date.description, $0.kind == .holiday ? "放假" : "调休上班", $0.name] })
    }
}
