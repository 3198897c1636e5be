import YKTCore
import YKTCrypto
import YKTStore

/// A node whose commands are taken by named operators: the county and the townships. Both keep
/// accounts the same way (`Operators`); what differs is which actions are decisions that must
/// be signed, and by which role (`decisionRules`).
public protocol OperatorNode: AnyObject {
    var db: Database { get }
    var config: NodeConfig { get }
    /// The login of whoever runs the current command (from their session).
    var operatorName: String { get set }
    /// Their signing key, unlocked with their password for a decision (nil otherwise).
    var signer: OperatorSigner? { get set }
    /// Actions that are decisions: signed by the person who takes them, who must hold the role.
    static var decisionRules: [String: OperatorAudit.Rule] { get }
    /// One command: `body`'s change and its audit entry (signed when the action is a decision)
    /// in one transaction.
    func audited<T>(_ action: String, object: String, detail: String, _ body: () throws -> T) throws -> T
    func auditTimestamp() -> String
}

extension OperatorNode {
    public var operators: Operators { Operators(db: db, node: config.role) }

    /// Whether `action` must be signed by the operator taking it.
    public static func isDecision(_ action: String) -> Bool {
        decisionRules[action] != nil || OperatorAudit.accountActions.contains(action)
    }

    /// The signer for an audit entry of `action`: required for decisions, and it must be the
    /// logged-in operator's own key. The role is checked here too, as `audit verify` will check
    /// it (per-program roles are checked by the decision itself, which knows the program).
    public func signer(for action: String) throws -> OperatorSigner? {
        guard Self.isDecision(action) else { return nil }
        guard let signer, signer.login == operatorName else {
            throw YKTError(.authSign, "「\(action)」是须本人签名的决定，须再次输入口令",
                           hint: "在终端按提示输入口令，脚本中用 --password-stdin 从标准输入给出")
        }
        if OperatorAudit.selfSigned.contains(action) { return signer }
        // A key sealed under a password an administrator chose proves nothing about who used it.
        if try operators.mustChange(operatorName) {
            throw YKTError(.authChange, "\(operatorName) 的口令是管理员设定的初始口令，须先改为本人的口令才能作出决定",
                           hint: "用 ykt password 修改口令（同时生成只有本人能解开的新签名密钥）")
        }
        if OperatorAudit.accountActions.contains(action) {
            try requireRole(.administrator)
        } else if let rule = Self.decisionRules[action], !rule.role.perProgram {
            try requireRole(rule.role)
        }
        return signer
    }

    /// The first administrator, made by `ykt init`: the only account not made by another
    /// administrator, signed by its own new key.
    /// `parameters`: the scrypt cost (the standard one; tests pass a cheaper one to stay fast).
    public func bootstrapAdministrator(login: String, realName: String, password: String,
                                       parameters: Scrypt.Parameters = .standard) throws {
        let login = try Operators.checkLogin(login)
        guard try operators.isEmpty else {
            throw YKTError(.operatorExists, "本节点已经有管理员", hint: "由现有管理员用 ykt operator add 开户")
        }
        let credentials = try Operators.credentials(login: login, password: password, parameters: parameters)
        signer = credentials.signer
        operatorName = login
        try audited("operator.bootstrap", object: "operator/\(login)",
                    detail: "key=\(Hex.encode(credentials.publicKey.raw)) name=\(realName.trimmed)") {
            // Checked again inside the write transaction: two bootstraps at once make one administrator.
            guard try operators.isEmpty else {
                throw YKTError(.operatorExists, "本节点已经有管理员", hint: "由现有管理员用 ykt operator add 开户")
            }
            try operators.insert(login: login, realName: realName, credentials: credentials, by: login, at: auditTimestamp(),
                                 mustChange: false)
            try operators.insertGrant(OperatorGrant(role: .administrator), to: login, by: login, at: auditTimestamp())
        }
    }

    /// Opens an account (an administrator's signed decision); the new operator has no role yet.
    public func addOperator(login: String, realName: String, password: String, parameters: Scrypt.Parameters = .standard) throws {
        let login = try Operators.checkLogin(login)
        let credentials = try Operators.credentials(login: login, password: password, parameters: parameters)
        try audited("operator.add", object: "operator/\(login)",
                    detail: "key=\(Hex.encode(credentials.publicKey.raw)) name=\(realName.trimmed)") {
            try operators.insert(login: login, realName: realName, credentials: credentials, by: operatorName, at: auditTimestamp())
        }
    }

    /// The logged-in operator replaces their password (the current one, `old`, checked and
    /// counted like a login) with one only they know, and gets a new signing key sealed under it:
    /// the key an administrator's chosen password sealed is never used again. The entry is signed
    /// with the new key (`operator.password`).
    public func changeOwnPassword(old: String, new: String, parameters: Scrypt.Parameters = .standard) throws {
        let login = operatorName
        _ = try operators.authenticate(login, password: old)
        guard new != old else {
            throw YKTError(.authWeak, "新口令不能与原口令相同", hint: "另选一个只有本人知道的口令")
        }
        let credentials = try Operators.credentials(login: login, password: new, parameters: parameters)
        signer = credentials.signer
        try audited("operator.password", object: "operator/\(login)", detail: "key=\(Hex.encode(credentials.publicKey.raw))") {
            try operators.replaceCredentials(of: login, with: credentials, mustChange: false)
        }
    }

    /// Sets a new password for another operator: a new signing key too (the old one stays sealed
    /// under a password nobody else knows), and their sessions end.
    public func resetPassword(of login: String, to password: String) throws {
        let login = try Operators.checkLogin(login)
        _ = try operators.require(login)
        guard login != operatorName else {
            throw YKTError(.roleSelf, "不能用 reset-password 重设自己的口令", at: SourceLocation(field: "--login"),
                           hint: "请另一位管理员重设")
        }
        let credentials = try Operators.credentials(login: login, password: password)
        try audited("operator.reset-password", object: "operator/\(login)", detail: "key=\(Hex.encode(credentials.publicKey.raw))") {
            try operators.replaceCredentials(of: login, with: credentials)
        }
    }

    public func setOperator(_ login: String, active: Bool) throws {
        let login = try Operators.checkLogin(login)
        let account = try operators.require(login)
        guard login != operatorName else {
            throw YKTError(.roleSelf, "不能停用或启用自己的账户", at: SourceLocation(field: "--login"))
        }
        guard (account.status == "active") != active else {
            throw YKTError(.usageValue, "账户 \(login) 已经是\(active ? "启用" : "停用")状态")
        }
        try audited(active ? "operator.enable" : "operator.disable", object: "operator/\(login)", detail: "") {
            try operators.setStatus(of: login, active: active)
        }
    }

    public func grantRole(_ grant: OperatorGrant, to login: String) throws {
        let login = try Operators.checkLogin(login)
        try audited("role.grant", object: "operator/\(login)", detail: "role=\(grant.role.rawValue) program=\(grant.program)") {
            try operators.checkGrant(grant, to: login, by: operatorName)
            try operators.insertGrant(grant, to: login, by: operatorName, at: auditTimestamp())
        }
    }

    public func revokeRole(_ grant: OperatorGrant, from login: String) throws {
        let login = try Operators.checkLogin(login)
        guard login != operatorName else {
            throw YKTError(.roleSelf, "不能收回自己的角色", at: SourceLocation(field: "--login"), hint: "须由另一位管理员办理")
        }
        try audited("role.revoke", object: "operator/\(login)", detail: "role=\(grant.role.rawValue) program=\(grant.program)") {
            guard try operators.deleteGrant(grant, from: login) else {
                throw YKTError(.usageValue, "\(login) 没有\(grant.description)角色", hint: "用 ykt operator list 查看")
            }
        }
    }

    /// Checks a password and opens a session; returns its token.
    public func login(_ login: String, password: String) throws -> (token: String, session: OperatorSession) {
        let login = try Operators.checkLogin(login)
        signer = try operators.authenticate(login, password: password)
        operatorName = login
        let token = try operators.openSession(login)
        try audited("session.login", object: "operator/\(login)", detail: "") {}
        return (token, try operators.session(token: token))
    }

    /// Takes the session's operator as the one acting; `password`, when given, unlocks their
    /// signing key for a decision.
    @discardableResult
    public func act(session token: String, password: String? = nil) throws -> OperatorSession {
        let session = try operators.session(token: token)
        operatorName = session.login
        if let password { signer = try operators.authenticate(session.login, password: password) }
        return session
    }

    public func logout(session token: String) throws {
        let session = try operators.session(token: token)
        operatorName = session.login
        try operators.endSession(token: token)
        try audited("session.logout", object: "operator/\(session.login)", detail: "") {}
    }

    /// Whether the acting operator holds `role` (for `program`, when per program).
    public func requireRole(_ role: OperatorRole, program: String? = nil) throws {
        guard try operators.holds(operatorName, role, program: program) else {
            throw YKTError(.roleMissing, "经办人 \(operatorName) 不是\(role.chinese)\(program.map { "（项目 \($0)）" } ?? "")",
                           hint: "角色由管理员用 ykt operator grant 授予；用 ykt whoami 查看本人的角色")
        }
    }

    /// Whether the acting operator holds `role` for at least one program.
    public func requireAnyGrant(of role: OperatorRole) throws {
        guard try operators.grants(of: operatorName).contains(where: { $0.role == role }),
              try operators.account(operatorName)?.status == "active" else {
            throw YKTError(.roleMissing, "经办人 \(operatorName) 不是\(role.chinese)",
                           hint: "角色由管理员用 ykt operator grant 授予；用 ykt whoami 查看本人的角色")
        }
    }

    /// Signatures, roles at each moment and decisions in the tables (`OperatorAudit`).
    public func verifyOperators(decided: [OperatorAudit.Decided]) throws -> [AuditLog.Problem] {
        try OperatorAudit.verify(db: db, node: config.role, rules: Self.decisionRules, decided: decided)
    }
}
