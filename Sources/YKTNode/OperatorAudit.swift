import YKTCore
import YKTCrypto
import YKTStore

/// Checks who took each decision in the audit trail: every signature, that the signer held the
/// role at that moment, and that the accounts, roles and decisions in the tables are the ones
/// the signed entries made (docs/operators.md).
///
/// It replays the trail from the start: `operator.bootstrap` (the first administrator, at
/// `ykt init`), `operator.add`, `operator.reset-password`, `operator.disable|enable`,
/// `role.grant|revoke`, each signed by an administrator, build the accounts, their keys and
/// their roles as they stood at every entry; each decision is then checked against that state.
/// A row written straight into the database has no signed entry behind it, and a hash chain
/// recomputed around a forged entry still lacks a signature only the operator's password
/// unlocks.
public enum OperatorAudit {
    /// What a signed action needs: a role, for the program named in the entry's detail
    /// (`program=…`) when the role is per program.
    public struct Rule: Sendable {
        public var role: OperatorRole
        public init(_ role: OperatorRole) { self.role = role }
    }

    /// A decision recorded in a table that must rest on a signed audit entry: `action` by
    /// `login` (nil: by whoever signed it) whose object contains `token`.
    public struct Decided: Sendable {
        public var what: String
        public var action: String
        public var login: String?
        public var token: String
        /// What the signed entry's detail must contain: the latest such entry's (`latest`), or any.
        public var detail: String?
        public var latest = false
        public init(what: String, action: String, login: String?, token: String, detail: String? = nil, latest: Bool = false) {
            self.detail = detail
            self.latest = latest
            self.what = what
            self.action = action
            self.login = login
            self.token = token
        }
    }

    /// Actions on accounts and roles: signed by an administrator, whatever the node (but for
    /// `selfSigned`).
    public static let accountActions: Set<String> = [
        "operator.bootstrap", "operator.add", "operator.reset-password", "operator.disable", "operator.enable",
        "role.grant", "role.revoke", "operator.password",
    ]
    /// Signed by the operator's own new key: the first administrator's creation, and an
    /// operator choosing their own password.
    public static let selfSigned: Set<String> = ["operator.bootstrap", "operator.password"]

    /// The value of `name=` in an entry's detail (`key=… name=…`; `name` may hold spaces and
    /// comes last).
    public static func field(_ name: String, in detail: String) -> String? {
        let prefix = name + "="
        if name == "name", let r = detail.range(of: " name=") { return String(detail[r.upperBound...]) }
        if detail.hasPrefix("name="), name == "name" { return String(detail.dropFirst(5)) }
        return detail.split(separator: " ").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    static func tokens(_ object: String) -> Set<String> {
        Set(object.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init))
    }

    public static func verify(db: Database, node: NodeConfig.Role, rules: [String: Rule],
                              decided: [Decided]) throws -> [AuditLog.Problem] {
        var problems: [AuditLog.Problem] = []
        var keys: [String: String] = [:]          // login → public key (hex) now in force
        var own: [String: Bool] = [:]             // whether that key is sealed under the operator's own password
        var active: [String: Bool] = [:]
        var grants = Set<String>()                  // "login|role|program"
        var signed = Set<String>()                  // "action|login|token" and "action|*|token"
        var details: [String: [String]] = [:]       // "action|login|token" → details, in order
        var reviewedBy: [String: String] = [:]      // "#<roster>" → reviewer
        var started = false
        var lastSeq: Int64 = 0

        func holds(_ login: String, _ role: OperatorRole, program: String?) -> Bool {
            guard active[login] == true else { return false }
            if role.perProgram, program == nil { return grants.contains { $0.hasPrefix("\(login)|\(role.rawValue)|") } }
            return grants.contains("\(login)|\(role.rawValue)|*") || program.map { grants.contains("\(login)|\(role.rawValue)|\($0)") } == true
        }
        func roles(of login: String) -> Set<String> {
            Set(grants.filter { $0.hasPrefix(login + "|") }.map { String($0.split(separator: "|", omittingEmptySubsequences: false)[1]) })
        }

        try db.forEach("SELECT seq, operator, action, object, detail, hash, signer_key, signature FROM audit ORDER BY seq") { r in
            let seq = r.int64(0), login = r.text(1), action = r.text(2), object = r.text(3), detail = r.text(4)
            let hash = r.text(5), signerKey = r.optionalText(6), signature = r.optionalText(7)
            lastSeq = seq
            func problem(_ what: String) { problems.append(.init(seq: seq, what: what, kind: "decision")) }
            let isAccount = accountActions.contains(action)
            if action == "operator.bootstrap" {
                guard !started else { return problem("第二次建立首位管理员（operator.bootstrap 只能在建节点时出现一次）") }
                started = true
            }
            guard started else { return }   // entries before accounts existed carry no signatures
            let needsSignature = isAccount || rules[action] != nil
            guard let signerKey, let signature else {
                if needsSignature { problem("决定「\(action)」（\(object)）没有签名：不是经本人口令签署的，可能被直接写入数据库") }
                return
            }
            // Whose key: the one in force for `login`; an entry that makes a key is signed by it.
            let expected = selfSigned.contains(action) ? field("key", in: detail) : keys[login]
            guard let expected, expected == signerKey else {
                return problem("决定「\(action)」的签名密钥不是 \(login) 当时的密钥")
            }
            guard let raw = Hex.decode(signerKey), let sig = Hex.decode(signature),
                  Ed25519.PublicKey(raw: raw).verify(sig, of: AuditLog.signedMessage(hash)) else {
                return problem("决定「\(action)」的签名不符（\(login)）：内容在签署后被改动，或签名是伪造的")
            }
            let target = object.hasPrefix("operator/") ? String(object.dropFirst("operator/".count)) : ""
            if !selfSigned.contains(action) {
                guard own[login] == true else {
                    return problem("\(login) 的签名密钥由管理员设定的口令保护（本人尚未改口令），第 \(seq) 条「\(action)」不能证明是本人所为")
                }
                if isAccount, !holds(login, .administrator, program: nil) {
                    return problem("\(login) 在第 \(seq) 条时不是管理员，却办理了「\(action)」")
                }
            }
            switch action {
            case "operator.bootstrap":
                keys[target] = signerKey
                own[target] = true
                active[target] = true
                grants.insert("\(target)|administrator|*")
            case "operator.password":
                guard target == login else { return problem("\(login) 修改了别人（\(target)）的口令") }
                keys[login] = signerKey
                own[login] = true
            case "operator.add", "operator.reset-password":
                guard let key = field("key", in: detail) else { return problem("开户或重设口令记录缺少公钥") }
                keys[target] = key
                own[target] = false
                if action == "operator.add" { active[target] = true }
            case "operator.disable": active[target] = false
            case "operator.enable": active[target] = true
            case "role.grant", "role.revoke":
                guard let role = field("role", in: detail), let program = field("program", in: detail) else {
                    return problem("角色记录缺少 role= 或 program=")
                }
                guard target != login else { return problem("\(login) 给自己\(action == "role.grant" ? "授予" : "收回")了角色") }
                if action == "role.grant" {
                    let held = roles(of: target)
                    let excluded = Set([OperatorRole.reviewer.rawValue, OperatorRole.approver.rawValue])
                    if (role == OperatorRole.administrator.rawValue && !held.isDisjoint(with: excluded))
                        || (excluded.contains(role) && held.contains(OperatorRole.administrator.rawValue)) {
                        problem("职责分离：\(target) 同时成为管理员和审核人或审定人（第 \(seq) 条）")
                    }
                    grants.insert("\(target)|\(role)|\(program)")
                } else {
                    grants.remove("\(target)|\(role)|\(program)")
                }
            default:
                if let rule = rules[action] {
                    let program = rule.role.perProgram ? field("program", in: detail) : nil
                    guard holds(login, rule.role, program: program) else {
                        return problem("\(login) 在第 \(seq) 条时不是\(rule.role.chinese)\(program.map { "（\($0)）" } ?? "")，却办理了「\(action)」")
                    }
                }
                if action == "roster.review" {
                    for token in tokens(object) where token.hasPrefix("roster#") { reviewedBy["#" + token.dropFirst("roster#".count)] = login }
                }
                if action == "roster.approve" {
                    for token in tokens(object) where reviewedBy[token] == login {
                        problem("清册 \(token.dropFirst()) 由 \(login) 审核，又由其本人审定（不相容岗位分离）")
                    }
                }
            }
            for token in tokens(object) {
                for who in [login, "*"] {
                    signed.insert("\(action)|\(who)|\(token)")
                    details["\(action)|\(who)|\(token)", default: []].append(detail)
                }
            }
        }

        let accounts = try db.integer("SELECT count(*) FROM operator_account") ?? 0
        if !started {
            // Accounts with no bootstrap entry: the entry was removed or renamed, which would make
            // every earlier decision look as if it came before accounts existed.
            if accounts > 0 { problems.append(.decision(lastSeq, "有经办人账户，审计日志却没有建立首位管理员的记录（operator.bootstrap）：被删除或改写")) }
            else { return problems }
        }
        // The tables must be what the signed entries made.
        let tableKeys = try db.all("SELECT login, public_key, status FROM operator_account") { ($0.text(0), $0.text(1), $0.text(2)) }
        for (login, key, status) in tableKeys {
            if keys[login] == nil {
                problems.append(.decision(lastSeq, "账户 \(login) 没有签名的开户记录：被直接写入数据库"))
            } else if keys[login] != key {
                problems.append(.decision(lastSeq, "账户 \(login) 的公钥与签名记录不符：被直接改动"))
            } else if (status == "active") != (active[login] ?? false) {
                problems.append(.decision(lastSeq, "账户 \(login) 的状态（\(status)）与签名记录不符：被直接改动"))
            }
        }
        let tableGrants = Set(try db.all("SELECT login, role, program FROM operator_grant") { "\($0.text(0))|\($0.text(1))|\($0.text(2))" })
        for extra in tableGrants.subtracting(grants).sorted() {
            let p = extra.split(separator: "|", omittingEmptySubsequences: false)
            problems.append(.decision(lastSeq, "\(p[0]) 的角色 \(p[1])（\(p[2])）没有签名的授予记录：被直接写入数据库"))
        }
        for missing in grants.subtracting(tableGrants).sorted() {
            let p = missing.split(separator: "|", omittingEmptySubsequences: false)
            problems.append(.decision(lastSeq, "\(p[0]) 的角色 \(p[1])（\(p[2])）已签名授予，却不在角色表中：被直接删除"))
        }
        for d in decided {
            let key = "\(d.action)|\(d.login ?? "*")|\(d.token)"
            let who = d.login.map { "记为 \($0) 所办，但" } ?? "，"
            guard signed.contains(key) else {
                problems.append(.decision(lastSeq, "\(d.what)\(who)审计日志中没有\(d.login == nil ? "" : "其")签名的「\(d.action)」：被直接写入数据库"))
                continue
            }
            if let expected = d.detail {
                let found = details[key] ?? []
                let ok = d.latest ? (found.last?.contains(expected) ?? false) : found.contains { $0.contains(expected) }
                if !ok { problems.append(.decision(lastSeq, "\(d.what)与签名的「\(d.action)」记录不符：被直接改动")) }
            }
        }
        return problems
    }
}

extension AuditLog.Problem {
    static func decision(_ seq: Int64, _ what: String) -> AuditLog.Problem { .init(seq: seq, what: what, kind: "decision") }
}
