import Foundation
import YKTCore
import YKTNode
import YKTCounty
import YKTTownship

/// Logging in and out, and the accounts and roles of a node's operators (docs/operators.md).
enum OperatorCommands {
    static func operatorNode(_ inv: Invocation) throws -> any OperatorNode {
        try inv.role() == .county ? try inv.county() : try inv.node()
    }

    static func grantInput(_ inv: Invocation) throws -> OperatorGrant {
        let role = try OperatorRole.parse(try inv.require("role"), node: try inv.role())
        let program = inv.string("program")?.trimmed
        if role.perProgram, program == nil {
            throw YKTError(.usage, "\(role.chinese)按项目授予，须写 --program 项目编码", at: SourceLocation(field: "--program"))
        }
        if !role.perProgram, program != nil {
            throw YKTError(.usageValue, "\(role.chinese)不分项目，不用 --program", at: SourceLocation(field: "--program"))
        }
        return OperatorGrant(role: role, program: program ?? "*")
    }

    /// `ykt operator disable` and `enable`: one account's status, an administrator's signed decision.
    static func status(_ verb: String, active: Bool, abstract: String, done: String) -> CommandSpec {
        CommandSpec(path: ["operator", verb], abstract: abstract, options: [loginOption], run: { inv in
            let login = try inv.require("login")
            try operatorNode(inv).setOperator(login, active: active)
            inv.out.line("\(done) \(login)")
        })
    }

    static let loginOption = OptionSpec.value("login", "登录名", "经办人的登录名（字母开头，如 wangxm）", required: true)

    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["login"], abstract: "登录：核对口令，开始一个会话（8 小时内有效，30 分钟不操作即过期）",
            discussion: "口令在终端输入（不回显），脚本中用 --password-stdin。会话令牌写入只有本人可读的会话文件（默认 ~/.ykt/sessions/，可用环境变量 YKT_SESSION 指定），节点只保存它的哈希。连续输错 5 次口令，账户锁定 15 分钟。",
            options: [loginOption],
            run: { inv in
                let node = try operatorNode(inv)
                let (token, session) = try node.login(try inv.require("login"), password: try inv.password(0, prompt: "口令"))
                try inv.writeSession(token: token)
                inv.out.line("已登录：\(session.realName)（\(session.login)），角色：" +
                             (session.grants.isEmpty ? "无" : session.grants.map(\.description).joined(separator: "、")))
            }),
        CommandSpec(
            path: ["logout"], abstract: "退出登录：会话作废，删除会话文件",
            run: { inv in
                if let token = try inv.readSession() { try operatorNode(inv).logout(session: token) }
                inv.removeSession()
                inv.out.line("已退出")
            }),
        CommandSpec(
            path: ["whoami"], abstract: "显示登录的经办人、角色和会话到期时间",
            options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                guard let token = try inv.readSession() else { throw YKTError(.authLogin, "没有登录", hint: "用 ykt login 登录") }
                let s = try operatorNode(inv).operators.session(token: token)
                struct Shown: Encodable { var login: String; var realName: String; var roles: [String]; var expiresAt: String }
                let shown = Shown(login: s.login, realName: s.realName, roles: s.grants.map(\.description),
                                  expiresAt: ChinaTime.timestamp(s.expiresAt))
                if inv.json { return try inv.out.json(shown) }
                inv.out.fields([("登录名", s.login), ("姓名", s.realName), ("角色", shown.roles.isEmpty ? "无" : shown.roles.joined(separator: "、")),
                                ("会话到期", shown.expiresAt)])
            }),
        CommandSpec(
            path: ["password"], abstract: "修改本人口令：同时生成只有本人能解开的新签名密钥（开户或重设后须先修改才能办理其他事项）",
            discussion: "终端中输入原口令和两次新口令；脚本中用 --password-stdin，第 1 行原口令，第 2 行新口令。新口令不能与原口令相同。",
            run: { inv in
                let node = try operatorNode(inv)
                let old = try inv.password(0, prompt: "原口令")
                let new = try inv.password(1, prompt: "新口令")
                if !inv.flag("password-stdin"), try inv.password(2, prompt: "再输入一次新口令") != new {
                    throw YKTError(.authPassword, "两次输入的新口令不一致", hint: "重新运行 ykt password")
                }
                try node.changeOwnPassword(old: old, new: new)
                inv.out.line("已修改 \(node.operatorName) 的口令，并换用只有本人能解开的新签名密钥")
            }),
        CommandSpec(
            path: ["operator", "bootstrap"], abstract: "为升级前建立、还没有任何账户的节点建立首位管理员（已有账户时拒绝）",
            discussion: "新节点由 ykt init 建立首位管理员，不用本命令。口令在终端输入，脚本中用 --password-stdin。",
            options: [loginOption, .value("name", "姓名", "首位管理员的真实姓名", required: true)],
            run: { inv in
                let login = try inv.require("login")
                try operatorNode(inv).bootstrapAdministrator(login: login, realName: try inv.require("name"),
                                                             password: try inv.password(0, prompt: "首位管理员 \(login) 的口令"))
                inv.out.line("已建立首位管理员 \(login)；用 ykt login 登录后为其他经办人开户")
            }),
        CommandSpec(
            path: ["operator", "add"], abstract: "开户：新经办人的登录名、姓名和初始口令（管理员办理，本人签名）",
            discussion: "新账户没有角色，另用 ykt operator grant 授予。口令在终端输入；脚本中用 --password-stdin，第 1 行为管理员本人口令，第 2 行为新经办人的初始口令。",
            options: [loginOption, .value("name", "姓名", "经办人真实姓名", required: true)],
            run: { inv in
                let node = try operatorNode(inv)
                let login = try inv.require("login")
                try node.addOperator(login: login, realName: try inv.require("name"),
                                     password: try inv.password(1, prompt: "新经办人的初始口令"))
                inv.out.line("已开户：\(try inv.require("name"))（\(login)）；用 ykt operator grant 授予角色")
            }),
        CommandSpec(
            path: ["operator", "list"], abstract: "列出经办人：登录名、姓名、状态、角色、签名密钥编号",
            options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let list = try operatorNode(inv).operators.list()
                try inv.list(list, ["登录名", "姓名", "状态", "角色", "密钥编号", "锁定至"]) {
                    [$0.login, $0.realName, $0.status == "active" ? "启用" : "停用",
                     $0.grants.map(\.description).joined(separator: "、"), $0.keyID, $0.lockedUntil ?? ""]
                }
            }),
        status("disable", active: false, abstract: "停用账户：其会话立即作废，不能再登录（管理员办理，本人签名）", done: "已停用"),
        status("enable", active: true, abstract: "恢复停用的账户（管理员办理，本人签名）", done: "已恢复"),
        CommandSpec(
            path: ["operator", "reset-password"], abstract: "重设另一位经办人的口令：同时换发新的签名密钥，其会话作废（管理员办理，本人签名）",
            discussion: "脚本中用 --password-stdin，第 1 行为管理员本人口令，第 2 行为新口令。",
            options: [loginOption],
            run: { inv in
                let login = try inv.require("login")
                try operatorNode(inv).resetPassword(of: login, to: try inv.password(1, prompt: "\(login) 的新口令"))
                inv.out.line("已重设 \(login) 的口令并换发签名密钥")
            }),
        CommandSpec(
            path: ["operator", "grant"], abstract: "授予角色（管理员办理，本人签名；不能授予自己，管理员不能兼任审核人或审定人）",
            discussion: "县级角色：administrator 管理员、reviewer 业务主管部门审核人（按项目，须 --program）、approver 财政审定人、payments 支付经办人、complaints 投诉受理人、auditor 审计查询人。乡镇角色：administrator、clerk 乡镇经办人、leader 乡镇审核人（报送清册）、auditor。",
            options: [loginOption, .value("role", "角色", "角色（英文名或中文名）", required: true),
                      .value("program", "编码", "审核人负责的补贴项目编码")],
            run: { inv in
                let node = try operatorNode(inv)
                let grant = try grantInput(inv)
                let login = try inv.require("login")
                if let county = node as? CountyNode {
                    try county.grant(login, role: grant.role, program: grant.program == "*" ? nil : grant.program)
                } else {
                    try node.grantRole(grant, to: login)
                }
                inv.out.line("已授予 \(login) \(grant.description)")
            }),
        CommandSpec(
            path: ["operator", "revoke"], abstract: "收回角色（管理员办理，本人签名）",
            options: [loginOption, .value("role", "角色", "角色", required: true), .value("program", "编码", "审核人的补贴项目编码")],
            run: { inv in
                let grant = try grantInput(inv)
                let login = try inv.require("login")
                try operatorNode(inv).revokeRole(grant, from: login)
                inv.out.line("已收回 \(login) 的\(grant.description)")
            }),
    ]
}
