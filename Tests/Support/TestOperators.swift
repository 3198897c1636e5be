import Foundation
import YKTCore
import YKTNode
import YKTStore
import YKTCrypto

/// How a test plays a named person on a node: the account is made as an office would make it
/// (the first administrator `admin` bootstraps the node; `admin` opens the others' accounts and
/// grants their roles, each a signed decision), then the test acts as that person with their
/// signing key unlocked by their password. Unlocked keys are kept per node and login, so
/// switching between people costs no scrypt derivation after the first.
public enum TestOperators {
    public static let password = "test-password-1234"
    /// What the administrator sets when opening an account; each operator then chooses `password`.
    public static let initialPassword = "initial-password-1234"
    public static let administrator = "admin"
    /// scrypt at N = 2^10 for the accounts tests make (about a millisecond each, against a tenth
    /// of a second at the standard N = 2^15, which `ykt` itself always uses): hundreds of test
    /// nodes, each with a few people, stay quick. The records carry their cost, so checking them
    /// takes the same path as in service.
    public static let parameters = Scrypt.Parameters(logN: 10, r: 8, p: 1)

    final class Cache: @unchecked Sendable {
        let lock = NSLock()
        var signers: [String: OperatorSigner] = [:]
        func get(_ key: String) -> OperatorSigner? { lock.withLock { signers[key] } }
        func set(_ key: String, _ signer: OperatorSigner) { lock.withLock { signers[key] = signer } }
    }
    static let cache = Cache()
}

extension OperatorNode {
    /// Acts as `login`, holding at least `roles` (granted by `admin` when missing).
    public func actAs(_ login: String, _ roles: OperatorGrant...) throws {
        try actAs(login, roles: roles)
    }

    public func actAs(_ login: String, roles: [OperatorGrant]) throws {
        let admin = TestOperators.administrator
        if try operators.isEmpty {
            try bootstrapAdministrator(login: admin, realName: "测试管理员", password: TestOperators.password,
                                       parameters: TestOperators.parameters)
            if let signer { TestOperators.cache.set(db.path + "|" + admin, signer) }
        }
        if login != admin {
            if try !operators.exists(login) {
                // Opened by the administrator with an initial password, then changed by its owner.
                try become(admin)
                try addOperator(login: login, realName: "测试\(login)", password: TestOperators.initialPassword,
                                parameters: TestOperators.parameters)
                operatorName = login
                try changeOwnPassword(old: TestOperators.initialPassword, new: TestOperators.password,
                                      parameters: TestOperators.parameters)
                if let signer { TestOperators.cache.set(db.path + "|" + login, signer) }
            }
            let missing = try roles.filter { r in try !operators.grants(of: login).contains(r) }
            if !missing.isEmpty {
                try become(admin)
                for r in missing { try grantRole(r, to: login) }
            }
        }
        try become(login)
    }

    /// The acting operator becomes `login` (an existing account), key unlocked.
    public func become(_ login: String) throws {
        let key = db.path + "|" + login
        let cached = TestOperators.cache.get(key)
        if let cached, try operators.account(login).map({ $0.keyID == cached.publicKey.keyID }) == true {
            signer = cached
        } else {
            let s = try operators.authenticate(login, password: TestOperators.password)
            TestOperators.cache.set(key, s)
            signer = s
        }
        operatorName = login
    }
}

extension OperatorGrant {
    public static let clerk = OperatorGrant(role: .clerk)
    public static let leader = OperatorGrant(role: .leader)
    public static let approver = OperatorGrant(role: .approver)
    public static let payments = OperatorGrant(role: .payments)
    public static let complaints = OperatorGrant(role: .complaints)
    public static let auditor = OperatorGrant(role: .auditor)
    public static func reviewer(_ program: String = "*") -> OperatorGrant { OperatorGrant(role: .reviewer, program: program) }
}

extension OperatorNode {
    /// The node, acting as `login` (for one call: `try county.acting("admin").resolveConflict(…)`).
    @discardableResult
    public func acting(_ login: String) throws -> Self {
        try become(login)
        return self
    }
}

extension OperatorNode {
    /// Logs `login` in (as `ykt login` would) and writes the session token to a 0600 file at
    /// `path`, for a `ykt` child process run with `YKT_SESSION=path`; the node keeps acting as
    /// before.
    @discardableResult
    public func sessionFile(_ login: String, at path: String) throws -> String {
        let (previousName, previousSigner) = (operatorName, signer)
        defer { (operatorName, signer) = (previousName, previousSigner) }
        let (token, _) = try self.login(login, password: TestOperators.password)
        _ = FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        return path
    }
}

/// What someone who can write a node's database does to hide a change: recomputes every audit
/// hash from entry `seq` on, and the head in `meta`, so that the hash chain verifies again
/// (docs/conventions.md (h)). Signatures it cannot recompute: that is what they are for.
public enum Insider {
    public static func rechain(_ db: Database, from seq: Int64) throws {
        try db.transaction {
            var prev = try db.first("SELECT prev_hash FROM audit WHERE seq = ?", seq) { $0.text(0) } ?? AuditLog.genesis
            let rows = try db.all("SELECT seq, at, operator, action, object, detail FROM audit WHERE seq >= ? ORDER BY seq", seq) {
                ($0.int64(0), $0.text(1), $0.text(2), $0.text(3), $0.text(4), $0.text(5))
            }
            for r in rows {
                let hash = AuditLog.digest(seq: r.0, at: r.1, operatorName: r.2, action: r.3, object: r.4, detail: r.5, prev: prev)
                try db.run("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", prev, hash, r.0)
                prev = hash
            }
            try db.run("UPDATE meta SET value = ? WHERE key = 'audit_head_hash'", prev)
        }
    }
}
