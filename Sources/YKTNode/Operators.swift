import Foundation
import YKTCore
import YKTCrypto
import YKTStore

/// What an operator may do. County and township nodes use different sets (`applies(to:)`);
/// reviewers hold their role per program, every other role for the whole node.
public enum OperatorRole: String, Sendable, Codable, CaseIterable {
    case administrator, reviewer, approver, payments, complaints, auditor, clerk, leader

    public var chinese: String {
        switch self {
        case .administrator: "管理员"
        case .reviewer: "业务主管部门审核人"
        case .approver: "财政审定人"
        case .payments: "支付经办人"
        case .complaints: "投诉受理人"
        case .auditor: "审计查询人"
        case .clerk: "乡镇经办人"
        case .leader: "乡镇审核人"
        }
    }

    public func applies(to node: NodeConfig.Role) -> Bool {
        switch self {
        case .administrator, .auditor: true
        case .reviewer, .approver, .payments, .complaints: node == .county
        case .clerk, .leader: node == .township
        }
    }

    public var perProgram: Bool { self == .reviewer }

    /// Roles an administrator may not also hold (separation of duties: whoever manages accounts
    /// and keys does not also decide on money).
    public var excludedForAdministrator: Bool { self == .reviewer || self == .approver }

    public static func parse(_ text: String, node: NodeConfig.Role) throws(YKTError) -> OperatorRole {
        let t = text.trimmed
        guard let role = allCases.first(where: { $0.rawValue == t || $0.chinese == t }), role.applies(to: node) else {
            let names = allCases.filter { $0.applies(to: node) }.map { "\($0.rawValue)（\($0.chinese)）" }
            throw YKTError(.usageValue, "「\(t)」不是\(node == .county ? "县级" : "乡镇")节点的角色", at: SourceLocation(field: "--role"),
                           hint: "可选：" + names.joined(separator: "、"))
        }
        return role
    }
}

/// One role held: for one program (reviewers) or for all (`*`).
public struct OperatorGrant: Sendable, Codable, Hashable {
    public var role: OperatorRole
    public var program: String

    public init(role: OperatorRole, program: String = "*") {
        self.role = role
        self.program = program
    }

    public var description: String { role.chinese + (program == "*" ? "" : "（\(program)）") }
}

/// An operator's account as listed (no password, no key material).
public struct OperatorAccount: Sendable, Codable {
    public var login: String
    public var realName: String
    public var status: String
    public var grants: [OperatorGrant]
    public var keyID: String
    public var lockedUntil: String?
    public var createdAt: String
}

/// An operator's signing key, unlocked with their password for one command (never stored
/// unencrypted, never logged).
public struct OperatorSigner: Sendable, CustomStringConvertible {
    public let login: String
    let key: Ed25519.PrivateKey
    public let publicKey: Ed25519.PublicKey

    public func sign(_ message: [UInt8]) throws -> [UInt8] { try key.sign(message) }
    public var description: String { "OperatorSigner(\(login), \(publicKey.keyID))" }
}

/// A logged-in operator, from a session.
public struct OperatorSession: Sendable {
    public var login: String
    public var realName: String
    public var grants: [OperatorGrant]
    public var expiresAt: Date
}

/// Accounts, passwords, sessions and roles of one node, in its own database (tables made by
/// `Operators.schemaSQL`). Passwords and signing keys (docs/operators.md):
///
/// - scrypt (N = 2^15, r = 8, p = 1, 16-byte random salt) derives 64 bytes from the password;
///   the SHA-256 of the first 32 is kept to check the password, the last 32 are the AES-256-GCM
///   key that seals the operator's Ed25519 signing key. One derivation both checks a password
///   and unlocks the key; neither half tells anything about the other.
/// - Five wrong passwords in a row lock the account for 15 minutes; sessions expire 8 hours
///   after login or 30 minutes after their last use. These times follow the machine's clock,
///   never a training clock (`YKT_CLOCK`).
public struct Operators {
    public static let minimumPasswordLength = 10
    public static let maximumFailures = 5
    public static let lockout: TimeInterval = 15 * 60
    public static let sessionLifetime: TimeInterval = 8 * 3600
    public static let sessionIdle: TimeInterval = 30 * 60

    public static let schemaSQL = """
        CREATE TABLE operator_account(login TEXT PRIMARY KEY, real_name TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','disabled')),
            password TEXT NOT NULL, sealed_key TEXT NOT NULL, public_key TEXT NOT NULL,
            failures INTEGER NOT NULL DEFAULT 0, locked_until INTEGER, must_change INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL, created_by TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE operator_grant(login TEXT NOT NULL REFERENCES operator_account(login), role TEXT NOT NULL,
            program TEXT NOT NULL DEFAULT '*', granted_by TEXT NOT NULL, granted_at TEXT NOT NULL,
            PRIMARY KEY (login, role, program)) WITHOUT ROWID;
        CREATE TABLE operator_session(token_hash TEXT PRIMARY KEY, login TEXT NOT NULL,
            created INTEGER NOT NULL, last_used INTEGER NOT NULL, ended INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
        ALTER TABLE audit ADD COLUMN signer_key TEXT;
        ALTER TABLE audit ADD COLUMN signature TEXT;
        """

    public let db: Database
    public let node: NodeConfig.Role
    /// The machine's clock (sessions and lock-outs; never the training clock).
    public var wallClock: @Sendable () -> Date = { Date() }

    public init(db: Database, node: NodeConfig.Role) {
        self.db = db
        self.node = node
    }

    // MARK: Passwords and keys

    /// What is stored for a password and the signing key it seals.
    public struct Credentials: Sendable {
        public var password: String
        public var sealedKey: String
        public var publicKey: Ed25519.PublicKey
        /// The new key, unlocked: only the bootstrap signs with it (its own first entry).
        var signer: OperatorSigner
    }

    static func associated(_ login: String) -> [UInt8] { Array("ykt-operator-key|\(login)".utf8) }

    /// New credentials for `login`: a new signing key sealed under `password`.
    public static func credentials(login: String, password: String, parameters: Scrypt.Parameters = .standard) throws -> Credentials {
        try checkStrength(password)
        let salt = try Scrypt.randomBytes(16)
        let derived = try Scrypt.derive(password: Array(password.utf8), salt: salt, parameters: parameters, length: 64)
        let key = try Ed25519.PrivateKey.generate()
        let sealed = try AESGCM.seal(key.seed, key: Array(derived[32...]), associated: associated(login))
        let record = ["scrypt", String(parameters.logN), String(parameters.r), String(parameters.p),
                      Hex.encode(salt), Hex.encode(SHA256.hash(Array(derived[..<32])))].joined(separator: "$")
        let sealedText = [Hex.encode(sealed.nonce), Hex.encode(sealed.ciphertext), Hex.encode(sealed.tag)].joined(separator: "$")
        return Credentials(password: record, sealedKey: sealedText, publicKey: try key.publicKey,
                           signer: OperatorSigner(login: login, key: key, publicKey: try key.publicKey))
    }

    public static func checkStrength(_ password: String) throws(YKTError) {
        guard password.count >= minimumPasswordLength else {
            throw YKTError(.authWeak, "口令太短：至少 \(minimumPasswordLength) 个字符",
                           hint: "用字母、数字和符号组成至少 \(minimumPasswordLength) 个字符的口令")
        }
        guard password.utf8.count <= 1024, !password.contains(where: { $0.isNewline }) else {
            throw YKTError(.authWeak, "口令不能含换行，且不能超过 1024 字节")
        }
    }

    /// The signing key sealed in `row` if `password` is right; nil if it is wrong.
    static func unlock(login: String, password: String, record: String, sealed: String) throws -> Ed25519.PrivateKey? {
        let parts = record.split(separator: "$").map(String.init)
        let box = sealed.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let logN = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
              let salt = Hex.decode(parts[4]), box.count == 3,
              let nonce = Hex.decode(box[0]), let ciphertext = Hex.decode(box[1]), let tag = Hex.decode(box[2]) else {
            throw YKTError(.auditBroken, "经办人 \(login) 的口令记录已损坏", hint: "请管理员用 ykt operator reset-password 重设口令")
        }
        let params = Scrypt.Parameters(logN: logN, r: r, p: p)
        guard params.isSane else {
            throw YKTError(.auditBroken, "经办人 \(login) 的口令参数超出范围", hint: "请管理员用 ykt operator reset-password 重设口令")
        }
        let derived = try Scrypt.derive(password: Array(password.utf8), salt: salt, parameters: params, length: 64)
        guard Hex.encode(SHA256.hash(Array(derived[..<32]))) == parts[5] else { return nil }
        guard let seed = AESGCM.open(.init(nonce: nonce, ciphertext: ciphertext, tag: tag), key: Array(derived[32...]),
                                     associated: associated(login)) else {
            throw YKTError(.auditBroken, "经办人 \(login) 的签名密钥无法解开（记录被改动）",
                           hint: "请管理员用 ykt operator reset-password 重设口令（会生成新的签名密钥）")
        }
        return try Ed25519.PrivateKey(seed: seed)
    }

    // MARK: Accounts

    public static func checkLogin(_ login: String) throws(YKTError) -> String {
        let l = login.trimmed
        guard (2...32).contains(l.count), l.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }),
              l.first!.isLetter else {
            throw YKTError(.valueInvalid, "登录名「\(l)」不合格式", at: SourceLocation(field: "--login"),
                           hint: "2–32 个字符，字母开头，只用英文字母、数字和 . _ -（如 wangxm）")
        }
        return l.lowercased()
    }

    public func exists(_ login: String) throws -> Bool {
        try db.integer("SELECT count(*) FROM operator_account WHERE login = ?", login) ?? 0 > 0
    }

    public var isEmpty: Bool { get throws { try db.integer("SELECT count(*) FROM operator_account") ?? 0 == 0 } }

    /// Inserts an account (inside the caller's transaction).
    /// `mustChange`: the password was set by an administrator (every account but the first),
    /// so the operator must choose their own before doing anything else (`changeOwnPassword`).
    public func insert(login: String, realName: String, credentials: Credentials, by: String, at: String, mustChange: Bool = true) throws {
        guard try !exists(login) else {
            throw YKTError(.operatorExists, "登录名 \(login) 已经有人用了", at: SourceLocation(field: "--login"),
                           hint: "换一个登录名；用 ykt operator list 查看现有账户")
        }
        let name = realName.trimmed
        guard (2...20).contains(name.count), !name.contains(where: { $0.isNewline || $0 == "$" }) else {
            throw YKTError(.nameInvalid, "姓名「\(name)」不合格式", at: SourceLocation(field: "--name"), hint: "写本人真实姓名，2–20 个字")
        }
        try db.run("""
            INSERT INTO operator_account(login, real_name, password, sealed_key, public_key, created_at, created_by, must_change)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, login, name, credentials.password, credentials.sealedKey, Hex.encode(credentials.publicKey.raw), at, by, mustChange)
    }

    /// New credentials: set by an administrator (`mustChange`; the operator's sessions end), or
    /// chosen by the operator (their current session goes on).
    public func replaceCredentials(of login: String, with credentials: Credentials, mustChange: Bool = true) throws {
        try db.run("""
            UPDATE operator_account SET password = ?, sealed_key = ?, public_key = ?, failures = 0, locked_until = NULL, must_change = ?
            WHERE login = ?
            """, credentials.password, credentials.sealedKey, Hex.encode(credentials.publicKey.raw), mustChange, login)
        if mustChange { try db.run("UPDATE operator_session SET ended = 1 WHERE login = ?", login) }
    }

    /// Whether `login`'s password was set by an administrator and not yet changed by them.
    public func mustChange(_ login: String) throws -> Bool {
        try db.integer("SELECT must_change FROM operator_account WHERE login = ?", login) ?? 0 != 0
    }

    public func setStatus(of login: String, active: Bool) throws {
        try db.run("UPDATE operator_account SET status = ? WHERE login = ?", active ? "active" : "disabled", login)
        if !active { try db.run("UPDATE operator_session SET ended = 1 WHERE login = ?", login) }
    }

    public func account(_ login: String) throws -> OperatorAccount? {
        try list().first { $0.login == login }
    }

    public func require(_ login: String) throws -> OperatorAccount {
        guard let a = try account(login) else {
            throw YKTError(.operatorUnknown, "没有登录名为 \(login) 的经办人", at: SourceLocation(field: "--login"),
                           hint: "用 ykt operator list 查看；新人由管理员用 ykt operator add 开户")
        }
        return a
    }

    public func list() throws -> [OperatorAccount] {
        let grants = try db.all("SELECT login, role, program FROM operator_grant ORDER BY role, program") {
            ($0.text(0), OperatorGrant(role: OperatorRole(rawValue: $0.text(1)) ?? .auditor, program: $0.text(2)))
        }
        let now = Int64(wallClock().timeIntervalSince1970)
        return try db.all("""
            SELECT login, real_name, status, public_key, locked_until, created_at FROM operator_account ORDER BY login
            """) { r in
            let login = r.text(0)
            let locked = r.optionalInt64(4).flatMap { $0 > now ? ChinaTime.timestamp(Date(timeIntervalSince1970: TimeInterval($0))) : nil }
            return OperatorAccount(login: login, realName: r.text(1), status: r.text(2),
                                   grants: grants.filter { $0.0 == login }.map(\.1),
                                   keyID: Ed25519.PublicKey(raw: Hex.decode(r.text(3)) ?? []).keyID,
                                   lockedUntil: locked, createdAt: r.text(5))
        }
    }

    /// Checks `password` for `login` and unlocks their signing key.
    ///
    /// The attempt is counted before the password is derived, in one write transaction with the
    /// lock check, and the count is undone when the password is right: attempts made at the same
    /// moment in several processes cannot get past the lock-out together. An unknown login costs
    /// the same derivation and gets the same words as a wrong password, so neither the answer nor
    /// its time tells which logins exist.
    public func authenticate(_ login: String, password: String) throws -> OperatorSigner {
        let wrong = YKTError(.authPassword, "登录名或口令不对",
                             hint: "核对登录名和口令；连续错 \(Self.maximumFailures) 次账户锁定 15 分钟")
        let now = Int64(wallClock().timeIntervalSince1970)
        var lockedNow = false
        let row = try db.transaction { () -> (String, String, String)? in
            guard let (status, record, sealed, failures, lockedUntil) = try db.first("""
                SELECT status, password, sealed_key, failures, locked_until FROM operator_account WHERE login = ?
                """, login, map: { ($0.text(0), $0.text(1), $0.text(2), $0.int(3), $0.optionalInt64(4)) }) else { return nil }
            guard status == "active" else { return (status, record, sealed) }
            if let lockedUntil, lockedUntil > now { return ("locked", String(lockedUntil), "") }
            if failures + 1 >= Self.maximumFailures {
                lockedNow = true
                try db.run("UPDATE operator_account SET failures = 0, locked_until = ? WHERE login = ?", now + Int64(Self.lockout), login)
            } else {
                try db.run("UPDATE operator_account SET failures = failures + 1 WHERE login = ?", login)
            }
            return (status, record, sealed)
        }
        guard let (status, record, sealed) = row else {
            _ = try? Scrypt.derive(password: Array(password.utf8), salt: Array(repeating: 0, count: 16), length: 64)
            throw wrong
        }
        if status == "locked" {
            let until = ChinaTime.timestamp(Date(timeIntervalSince1970: TimeInterval(Int64(record) ?? now)))
            throw YKTError(.authLocked, "账户 \(login) 因连续输错口令已锁定，到 \(until) 解锁",
                           hint: "稍后再试；忘记口令请管理员用 ykt operator reset-password 重设")
        }
        guard status == "active" else {
            throw YKTError(.authDisabled, "账户 \(login) 已停用", hint: "请管理员核实后用 ykt operator enable 恢复，或开新账户")
        }
        guard let key = try Self.unlock(login: login, password: password, record: record, sealed: sealed) else {
            if lockedNow {
                throw YKTError(.authLocked, "口令连续错 \(Self.maximumFailures) 次，账户 \(login) 锁定 15 分钟",
                               hint: "稍后再试；忘记口令请管理员用 ykt operator reset-password 重设")
            }
            throw wrong
        }
        try db.transaction {
            try db.run("UPDATE operator_account SET failures = 0, locked_until = NULL WHERE login = ?", login)
        }
        return OperatorSigner(login: login, key: key, publicKey: try key.publicKey)
    }

    // MARK: Roles

    public func grants(of login: String) throws -> [OperatorGrant] {
        try db.all("SELECT role, program FROM operator_grant WHERE login = ?", login) {
            OperatorGrant(role: OperatorRole(rawValue: $0.text(0)) ?? .auditor, program: $0.text(1))
        }
    }

    public func holds(_ login: String, _ role: OperatorRole, program: String? = nil) throws -> Bool {
        try db.integer("""
            SELECT count(*) FROM operator_grant g JOIN operator_account a USING (login)
            WHERE g.login = ? AND g.role = ? AND (g.program = '*' OR g.program = ?) AND a.status = 'active'
            """, login, role.rawValue, program ?? "*") ?? 0 > 0
    }

    /// Checks the separation rules for `by` granting `grant` to `login` (inside the transaction).
    public func checkGrant(_ grant: OperatorGrant, to login: String, by: String) throws {
        guard grant.role.applies(to: node) else {
            throw YKTError(.usageValue, "\(grant.role.chinese)不是本节点的角色", at: SourceLocation(field: "--role"))
        }
        _ = try require(login)
        guard login != by else {
            throw YKTError(.roleSelf, "不能给自己授予角色", at: SourceLocation(field: "--login"),
                           hint: "角色须由另一位管理员授予")
        }
        let held = try grants(of: login).map(\.role)
        if grant.role == .administrator, let clash = held.first(where: \.excludedForAdministrator) {
            throw YKTError(.roleConflict, "\(login) 已是\(clash.chinese)，不能再当管理员（管理账户的人不审核、不审定资金）",
                           at: SourceLocation(field: "--role"), hint: "先用 ykt operator revoke 收回其\(clash.chinese)角色，或另选一人")
        }
        if grant.role.excludedForAdministrator, held.contains(.administrator) {
            throw YKTError(.roleConflict, "\(login) 是管理员，不能再当\(grant.role.chinese)（管理账户的人不审核、不审定资金）",
                           at: SourceLocation(field: "--role"), hint: "另选一人担任\(grant.role.chinese)")
        }
    }

    public func insertGrant(_ grant: OperatorGrant, to login: String, by: String, at: String) throws {
        try db.run("INSERT OR IGNORE INTO operator_grant(login, role, program, granted_by, granted_at) VALUES (?, ?, ?, ?, ?)",
                   login, grant.role.rawValue, grant.program, by, at)
    }

    public func deleteGrant(_ grant: OperatorGrant, from login: String) throws -> Bool {
        try db.run("DELETE FROM operator_grant WHERE login = ? AND role = ? AND program = ?", login, grant.role.rawValue, grant.program)
        return db.changes > 0
    }

    // MARK: Sessions

    static func tokenHash(_ token: String) -> String { SHA256.hex(token) }

    /// Opens a session for `login` (already authenticated); returns the token (kept only in
    /// the operator's session file; the node keeps its hash).
    public func openSession(_ login: String) throws -> String {
        let token = Hex.encode(try Scrypt.randomBytes(32))
        let now = Int64(wallClock().timeIntervalSince1970)
        try db.transaction {
            try db.run("DELETE FROM operator_session WHERE ended = 1 OR created < ?", now - Int64(Self.sessionLifetime))
            try db.run("INSERT INTO operator_session(token_hash, login, created, last_used) VALUES (?, ?, ?, ?)",
                       Self.tokenHash(token), login, now, now)
        }
        return token
    }

    /// The operator a session token belongs to, if the session is live; marks it used.
    public func session(token: String) throws -> OperatorSession {
        let hash = Self.tokenHash(token)
        let now = Int64(wallClock().timeIntervalSince1970)
        let row = try db.first("""
            SELECT s.login, s.created, s.last_used, s.ended, a.status, a.real_name FROM operator_session s
            JOIN operator_account a USING (login) WHERE s.token_hash = ?
            """, hash) { ($0.text(0), $0.int64(1), $0.int64(2), $0.int(3), $0.text(4), $0.text(5)) }
        guard let (login, created, lastUsed, ended, status, realName) = row else {
            throw YKTError(.authLogin, "没有登录，或会话已退出", hint: "先用 ykt login --login 登录名 登录")
        }
        guard status == "active" else {
            throw YKTError(.authDisabled, "账户 \(login) 已停用，会话作废", hint: "请管理员核实")
        }
        guard ended == 0 else {
            throw YKTError(.authLogin, "会话已退出或已作废（口令被重设）", hint: "用 ykt login --login \(login) 重新登录")
        }
        guard now - created < Int64(Self.sessionLifetime) else {
            throw YKTError(.authLogin, "会话已过期（登录满 8 小时）", hint: "重新用 ykt login 登录")
        }
        guard now - lastUsed < Int64(Self.sessionIdle) else {
            throw YKTError(.authLogin, "会话已过期（超过 30 分钟未操作）", hint: "重新用 ykt login 登录")
        }
        try db.transaction { try db.run("UPDATE operator_session SET last_used = ? WHERE token_hash = ?", now, hash) }
        return OperatorSession(login: login, realName: realName, grants: try grants(of: login),
                               expiresAt: Date(timeIntervalSince1970: TimeInterval(min(created + Int64(Self.sessionLifetime), now + Int64(Self.sessionIdle)))))
    }

    public func endSession(token: String) throws {
        try db.transaction { try db.run("UPDATE operator_session SET ended = 1 WHERE token_hash = ?", Self.tokenHash(token)) }
    }
}
