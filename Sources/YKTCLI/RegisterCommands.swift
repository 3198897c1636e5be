import Foundation
import YKTCore
import YKTNode
import YKTTownship

/// The policy list, the register and designated accounts.
enum RegisterCommands {
    static let encodingOption = OptionSpec.value("encoding", "编码", "文件编码：auto（默认，自动识别 UTF-8/GB18030）、utf-8、gb18030")
    static let importOptions: [OptionSpec] = [
        encodingOption,
        .flag("keep-good", "只导入正确的行，错误行写入 --rejects 文件（默认整批要么全部导入要么全不导入）"),
        .value("rejects", "文件", "错误行文件（CSV，带原行号和错误说明）"),
        .flag("json", "以 JSON 输出结果"),
    ]
    static let accountOptions: [OptionSpec] = [
        .value("bank", "银行", "开户银行（代发银行）", required: true),
        .value("account", "账号", "社保卡或银行卡号（16–19 位）或存折账号", required: true),
        .value("account-kind", "类型", "账户类型：银行卡（默认）、社保卡（社会保障卡金融账户）或 存折"),
        .value("confirmation", "编号", "本人签字确认书编号", required: true),
        .value("shared-account-reason", "理由", "账号已是他人指定账户时，共用的理由"),
    ]

    static func accountInput(_ inv: Invocation) throws(YKTError) -> AccountInput {
        let kind = try inv.optional("account-kind") { s throws(YKTError) in try AccountKind(parsing: s) } ?? .card
        let number = try inv.parse("account") { s throws(YKTError) in try AccountNumber(s, kind: kind) }
        return AccountInput(bank: try inv.require("bank"), number: number, confirmation: try inv.require("confirmation"),
                            sharedReason: inv.string("shared-account-reason"))
    }

    static func printImport(_ inv: Invocation, _ r: ImportResult, what: String) throws {
        if inv.json { return try inv.out.json(r) }
        inv.out.line("\(r.file)（\(r.encoding)）共 \(r.rows) 行：导入\(what) \(r.imported) 条，错误 \(r.rejected) 行")
        if let f = r.rejectsFile { inv.out.line("错误行已写入 \(f)，改正后可再次导入") }
        for line in ProblemSummary.lines(r.details, fullList: r.rejectsFile) { inv.out.message(line) }
    }

    static func show(_ inv: Invocation, _ b: BeneficiaryRecord) throws {
        if inv.json { return try inv.out.json(b) }
        var pairs: [(String, String)] = [
            ("姓名", b.name), ("身份证号", b.residentID), ("村（社区）", b.village), ("户号", b.household),
            ("户主", b.household.isEmpty ? "" : (b.head ? "是" : "否")), ("联系电话", b.phone),
        ]
        if let a = b.account {
            pairs += [("开户银行", a.bank), ("账户类型", a.kind.chinese), ("账号", a.number), ("确认书编号", a.confirmation)]
            if let r = a.sharedReason { pairs.append(("共用账户理由", r)) }
        }
        pairs += [("版本", String(b.version)), ("登记时间", b.createdAt), ("最后修改", b.updatedAt)]
        inv.out.fields(pairs)
    }

    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["program", "load"], abstract: "（未配置县财政的乡镇）导入补贴政策清单（CSV）；配置了县财政的乡镇只用县里同步下发的清单",
            discussion: "node.conf 写有 county_address 或 county_public_key 的乡镇不能自行导入（YKT-PROGRAM-COUNTY）：清单由县财政用 ykt policy publish 发布，ykt sync 时下发并取代本乡镇的清单。列：项目编码,项目名称,主管部门,补贴标准(元),计量单位,发放频次,是否涉密,政策依据,版本；可加 起始期次、发放载体（不限/社保卡/社保卡（过渡期））、发放对象（按人/按户）、乡镇审核时限(工作日)、部门审核时限(工作日)、财政审批时限(工作日)（空为默认 10/10/5）。计量单位：元/亩、元/人·月、元/人·年、元/人。",
            positionals: [("文件", "政策清单 CSV 文件")], options: [encodingOption],
            run: { inv in
                let encoding = try inv.optional("encoding") { s throws(YKTError) in try TextEncoding(parsing: s) } ?? .auto
                let programs = try inv.node().loadPrograms(path: inv.positional(0), encoding: encoding)
                inv.out.line("已导入补贴项目 \(programs.count) 个")
            }),
        CommandSpec(
            path: ["program", "list"], abstract: "列出补贴政策清单：县级节点为县里发布的清单（含版本），乡镇为同步收到的清单（注明来源）",
            options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                struct Listed: Encodable { var program: Program; var origin: String; var listVersion: Int? }
                if inv.isCounty {
                    let county = try inv.county()
                    let rows = try county.programs().map { Listed(program: $0.program, origin: "county", listVersion: $0.publishedIn) }
                    if inv.json { return try inv.out.json(rows) }
                    inv.out.line("县财政补贴政策清单：第 \(try county.policyVersion()) 版")
                    inv.out.table(["编码", "项目名称", "主管部门", "补贴标准", "频次", "涉密", "载体", "对象", "时限", "版本", "发布于清单"], rows.map {
                        [$0.program.code, $0.program.name, $0.program.department, $0.program.standardText, $0.program.frequency,
                         $0.program.secret ? "是" : "否"] + ruleCells($0.program) +
                        [String($0.program.version), $0.listVersion.map { "第 \($0) 版" } ?? ""]
                    }, rightAligned: [9])
                    return
                }
                let rows = try inv.node().programList().map { Listed(program: $0.program, origin: $0.origin, listVersion: $0.listVersion) }
                if inv.json { return try inv.out.json(rows) }
                inv.out.table(["编码", "项目名称", "主管部门", "补贴标准", "频次", "涉密", "载体", "对象", "时限", "版本", "来源"], rows.map {
                    [$0.program.code, $0.program.name, $0.program.department, $0.program.standardText, $0.program.frequency,
                     $0.program.secret ? "是" : "否"] + ruleCells($0.program) + [String($0.program.version),
                     $0.origin == "county" ? "县财政清单" + ($0.listVersion.map { $0 > 0 ? "第 \($0) 版" : "" } ?? "")
                         : $0.origin == "withdrawn" ? "本乡镇自行导入，县里清单没有，已停用" : "本乡镇自行导入"]
                }, rightAligned: [9])
            }),
        CommandSpec(
            path: ["beneficiary", "import"], abstract: "从 CSV 导入村里报来的补贴对象底册（UTF-8 或 GB18030）",
            discussion: "列：姓名,身份证号,村（社区）,户号,联系电话,开户银行,账户类型,账号,确认书编号,共用账户理由（户号、联系电话、账户类型、共用账户理由可省）；可加「户主」列（户主填 是，其他成员填 否 或留空）或「与户主关系」列（户主填 户主 或 本人）。有这一列时，文件中出现的每一户（按户号）连同底册须有且只有一个户主，否则整批不导入（YKT-HOUSEHOLD-HEADS）；按户发放的项目只能由户主申请。\n默认整批校验：任何一行有错就全部不导入，并列出每个错误的行号、列和原因。",
            positionals: [("文件", "底册 CSV 文件")], options: importOptions,
            run: { inv in
                let progress = Progress()
                let r = try inv.node().importBeneficiaries(path: inv.positional(0), options: try inv.importOptions(progress: progress))
                try printImport(inv, r, what: "补贴对象")
            }),
        CommandSpec(
            path: ["beneficiary", "add"], abstract: "登记一名补贴对象及其指定账户",
            options: [
                .value("id", "身份证号", "18 位身份证号", required: true),
                .value("name", "姓名", "姓名", required: true),
                .value("village", "村", "村（社区）", required: true),
                .value("household", "户号", "户号"),
                .flag("head", "此人是这一户的户主（须给 --household；一户只能有一个户主）"),
                .value("phone", "电话", "联系电话"),
                .flag("json", "以 JSON 输出"),
            ] + accountOptions,
            run: { inv in
                let id = try inv.parse("id") { s throws(YKTError) in try ResidentID(s) }
                let b = try inv.node().register(BeneficiaryInput(
                    residentID: id, name: try inv.require("name"), village: try inv.require("village"),
                    household: inv.string("household") ?? "", phone: inv.string("phone") ?? "",
                    account: try accountInput(inv), head: inv.flag("head")))
                if inv.json { return try inv.out.json(b) }
                inv.out.line("已登记 \(b.name)（\(b.maskedID)），指定账户 \(b.account?.masked ?? "")")
            }),
        CommandSpec(
            path: ["beneficiary", "edit"], abstract: "修改补贴对象的姓名、村、户号、电话，或指定其为户主（身份证号不能改）",
            discussion: "--head 把此人定为其户（或同时给出的新户号）的户主，原户主改为成员（作为原户主的修改一并报送县里）。改户号的人作为成员加入新户；户主要改户号而户内还有别人时须先换户主（YKT-HOUSEHOLD-HEADS）。",
            positionals: [("身份证号", "要修改的补贴对象")],
            options: [.value("name", "姓名", "新姓名"), .value("village", "村", "新村（社区）"),
                      .value("household", "户号", "新户号"), .value("phone", "电话", "新联系电话；空字符串表示删除"),
                      .flag("head", "定为户主（原户主改为成员）")],
            run: { inv in
                let b = try inv.node().edit(try inv.residentID(positional: 0), BeneficiaryEdit(
                    name: inv.string("name"), village: inv.string("village"), household: inv.string("household"),
                    phone: inv.string("phone"), head: inv.flag("head") ? true : nil))
                inv.out.line("已修改 \(b.name)（\(b.maskedID)），版本 \(b.version)")
            }),
        CommandSpec(
            path: ["beneficiary", "remove"], abstract: "从底册移除一名补贴对象（写明理由，记入审计日志，同步报送县财政）",
            discussion: "通常是县财政处理冲突后决定此人由另一个乡镇登记（ykt inbox list 会写明）。此人的记录、账户和历史保留（已编入清册和已发放的仍可查），此后不能再为其办理任何事项；其未编入清册的申请（已录入、评议未通过、公示中、公示已结束）一并撤回，不再进入公示和清册；已编入清册的申请不变，由县里按清册处理。移除作为操作 beneficiary.remove 下次同步时报送县财政：县里在底册索引中标记此人已移除（此人若登记在别的乡镇，县里只作记录）。",
            options: [.value("id", "身份证号", "要移除的补贴对象的身份证号（或用 --conflict）"),
                      .value("conflict", "冲突编号", "按县财政的冲突处理决定移除：冲突编号（可用逗号分隔多个），或 all 表示全部待办的决定"),
                      .value("reason", "理由", "移除的理由；用 --conflict 时可省略（写明冲突编号和决定）")],
            run: { inv in
                let node = try inv.node()
                if let which = inv.string("conflict")?.trimmed {
                    guard inv.string("id") == nil else {
                        throw YKTError(.usageValue, "--id 和 --conflict 只能给一个", at: SourceLocation(field: "--conflict"))
                    }
                    let waiting = try node.decisionsToAct()
                    var chosen = waiting
                    if which != "all" {
                        var ids: [Int64] = []
                        for part in which.split(separator: ",") {
                            guard let n = Int64(part.trimmingCharacters(in: .whitespaces)) else {
                                throw YKTError(.usageValue, "冲突编号「\(part)」应为整数，或写 all", at: SourceLocation(field: "--conflict"))
                            }
                            ids.append(n)
                        }
                        chosen = waiting.filter { ids.contains($0.conflict) }
                        let missing = ids.filter { id in !waiting.contains { $0.conflict == id } }
                        guard missing.isEmpty else {
                            throw YKTError(.conflictState, "冲突 \(missing.map(String.init).joined(separator: "、")) 没有要本乡镇移除的人（没有收到这样的决定，或已移除）",
                                           at: SourceLocation(field: "--conflict"), hint: "用 ykt inbox list --waiting 查看待办的决定；ykt status 列出全部")
                        }
                    }
                    guard !chosen.isEmpty else { return inv.out.line("没有待办的冲突处理决定要移除的人") }
                    var done = 0
                    for d in chosen {
                        let withdrawn = try node.removeByDecision(d, note: inv.string("reason"))
                        done += 1
                        inv.out.line("冲突 \(d.conflict)：已从底册移除 \(d.person)" + (withdrawn > 0 ? "，撤回未编入清册的申请 \(withdrawn) 条" : ""))
                    }
                    return inv.out.line("共移除 \(done) 人；下次同步时报送县财政")
                }
                guard let text = inv.string("id") else {
                    throw YKTError(.usage, "要写明移除谁：--id 身份证号，或 --conflict 冲突编号", at: SourceLocation(field: "--id"))
                }
                let id: ResidentID
                do throws(YKTError) { id = try ResidentID(text) } catch { throw error.located(SourceLocation(field: "--id")) }
                let b = try node.beneficiary(id)
                let withdrawn = try node.removeBeneficiary(id, reason: try inv.require("reason"))
                inv.out.line("已从底册移除 \(b.name)（\(b.maskedID)）" + (withdrawn > 0 ? "，撤回其未编入清册的申请 \(withdrawn) 条" : "")
                             + "；下次同步时报送县财政")
            }),
        CommandSpec(
            path: ["beneficiary", "show"], abstract: "查看一名补贴对象（完整信息，查看记入审计日志）",
            positionals: [("身份证号", "补贴对象的身份证号")], options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let node = try inv.node()
                let id = try inv.residentID(positional: 0)
                // A removed person is still shown (read only), with when and why.
                guard let b = try node.findBeneficiary(id) else { _ = try node.beneficiary(id); return }
                try node.recordView(of: "beneficiary#\(b.id) \(b.maskedID)")
                try show(inv, b)
                if !inv.json, let removed = try node.removal(of: b) {
                    inv.out.line("已于 \(removed.at.prefix(10)) 从底册移除：\(removed.reason)（只可查看，不能再办理）")
                }
            }),
        CommandSpec(
            path: ["beneficiary", "list"], abstract: "列出底册（身份证号、账号脱敏显示）",
            options: [.value("village", "村", "只列这个村（社区）"), .flag("json", "以 JSON 输出（完整信息）")],
            run: { inv in
                // One person at a time: a register of 100,000 is never held whole (the JSON
                // written as it is read; the table keeps one short line of masked cells a person).
                let node = try inv.node()
                let village = inv.string("village")
                if inv.json {
                    try node.recordView(of: "register \(village ?? "all") n=\(try node.listedBeneficiaryCount(village: village))")
                    let writer = Output.JSONArrayWriter()
                    try node.forEachBeneficiary(village: village) { try writer.element($0) }
                    return writer.finish()
                }
                var count = 0
                try inv.out.table(["村（社区）", "姓名", "身份证号", "开户银行", "账号"]) { emit in
                    try node.forEachBeneficiary(village: village) {
                        emit([$0.village, $0.name, $0.maskedID, $0.account?.bank ?? "", $0.account?.masked ?? ""])
                        count += 1
                    }
                }
                inv.out.line("共 \(count) 人")
            }),
        CommandSpec(
            path: ["account", "change"], abstract: "变更指定账户（须本人签字确认书；旧账户留存历史）",
            discussion: "在县财政节点上（例如代发银行报告挂失补卡换了新卡号）须 --reason，由全部项目的财政审定人办理；"
                + "变更下发到登记此人的乡镇。若乡镇也从同一个旧账户改了账户，乡镇的变更成为冲突 account.both-sides，"
                + "用 ykt conflicts resolve --decision township|county 决定采用哪一方。",
            positionals: [("身份证号", "补贴对象的身份证号")],
            options: accountOptions + [.value("reason", "理由", "（县级）变更理由，例如 代发银行报告挂失补卡"), .flag("json", "以 JSON 输出")],
            run: { inv in
                if inv.isCounty {
                    let id = try inv.residentID(positional: 0)
                    let account = try accountInput(inv)
                    let county = try inv.county()
                    try county.changeAccount(id, bank: account.bank, number: account.number, confirmation: account.confirmation,
                                             reason: try inv.require("reason"))
                    return inv.out.line("已变更 \(id.masked) 在县里的指定账户为 \(account.bank) \(account.number.masked)，登记乡镇下次同步时收到")
                }
                let b = try inv.node().changeAccount(try inv.residentID(positional: 0), to: try accountInput(inv))
                if inv.json { return try inv.out.json(b) }
                inv.out.line("已变更 \(b.name)（\(b.maskedID)）的指定账户为 \(b.account?.bank ?? "") \(b.account?.masked ?? "")")
            }),
        CommandSpec(
            path: ["account", "history"], abstract: "查看指定账户的变更历史",
            positionals: [("身份证号", "补贴对象的身份证号")], options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let id = try inv.residentID(positional: 0)
                if inv.isCounty {
                    let changes = try inv.county().accountHistory(id)
                    if inv.json { return try inv.disclose(changes, object: "account-history \(id.masked)") }
                    return inv.out.table(["时间", "来源", "乡镇", "开户银行", "原账号", "新账号", "确认书编号", "理由", "经办人"], changes.map {
                        [$0.at, $0.source == "county" ? "县财政" : "乡镇", $0.node, $0.bank, Masking.account($0.previousNumber),
                         Masking.account($0.number), $0.confirmation, $0.reason, $0.by]
                    })
                }
                let history = try inv.node().accountHistory(id)
                if inv.json { return try inv.disclose(history, object: "account-history \(id.masked)") }
                inv.out.table(["启用时间", "停用时间", "开户银行", "类型", "账号", "确认书编号"], history.map {
                    [$0.validFrom, $0.replacedAt ?? "（现用）", $0.bank, $0.kind.chinese, $0.masked, $0.confirmation]
                })
            }),
    ]
}

/// A program's 发放载体, 发放对象 and 限时办理 (乡镇审核/部门审核/财政审批, working days) as table cells.
func ruleCells(_ p: Program) -> [String] {
    let l = p.rules.limits
    return [p.rules.carrier.chinese, p.rules.payee.chinese, "\(l.townshipReview)/\(l.departmentReview)/\(l.financeApproval)"]
}
