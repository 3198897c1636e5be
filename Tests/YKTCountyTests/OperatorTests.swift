import Foundation
import Testing
import YKTCore
import YKTTestSupport
import YKTCrypto
import YKTCounty
import YKTTownship
@testable import YKTNode
import YKTStore

/// Operators are people (docs/operators.md): every refusal the accounts, sessions, roles and
/// signed decisions promise, each played by the insider it is meant for.
@Suite("Operators: accounts, sessions, roles, signed decisions")
struct OperatorTests {
    @Test("scrypt through EVP_KDF gives RFC 7914's answer; AES-256-GCM opens only what it sealed, under the same key")
    func primitives() throws {
        // RFC 7914, section 12, third vector: N = 1024 (2^10), r = 8, p = 16.
        let out = try Scrypt.derive(password: Array("password".utf8), salt: Array("NaCl".utf8),
                                    parameters: .init(logN: 10, r: 8, p: 16), length: 64)
        #expect(Hex.encode(out) == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640")
        let key = try Scrypt.randomBytes(32)
        let sealed = try AESGCM.seal(Array("seed".utf8), key: key, associated: Array("ctx".utf8))
        #expect(AESGCM.open(sealed, key: key, associated: Array("ctx".utf8)) == Array("seed".utf8))
        #expect(AESGCM.open(sealed, key: try Scrypt.randomBytes(32), associated: Array("ctx".utf8)) == nil)
        #expect(AESGCM.open(sealed, key: key, associated: Array("other".utf8)) == nil)
        var flipped = sealed
        flipped.ciphertext[0] ^= 1
        #expect(AESGCM.open(flipped, key: key, associated: Array("ctx".utf8)) == nil)
    }

    @Test("a password is stored as scrypt parameters, salt and a verifier; the signing key only sealed; short passwords are refused")
    func storage() throws {
        let c = try County(["450223101"], policy: false)
        try c.county.actAs("wangxm", .approver)
        let row = try #require(try c.county.db.first("SELECT password, sealed_key, public_key FROM operator_account WHERE login = 'wangxm'") {
            ($0.text(0), $0.text(1), $0.text(2))
        })
        #expect(row.0.hasPrefix("scrypt$10$8$1$") && !row.0.contains(TestOperators.password))   // tests' cost; ykt's is 15
        let standard = try Operators.credentials(login: "x0", password: TestOperators.password)
        #expect(standard.password.hasPrefix("scrypt$15$8$1$"))
        #expect(row.1.split(separator: "$").count == 3)
        // The same password twice gives different records (random salt).
        let a = try Operators.credentials(login: "x1", password: TestOperators.password)
        let b = try Operators.credentials(login: "x1", password: TestOperators.password)
        #expect(a.password != b.password && a.publicKey != b.publicKey)
        let weak = #expect(throws: YKTError.self) { try c.county.addOperator(login: "short", realName: "某某", password: "abc123") }
        #expect(weak?.code == .authWeak)
        let badLogin = #expect(throws: YKTError.self) { try c.county.addOperator(login: "王小明", realName: "王小明", password: TestOperators.password) }
        #expect(badLogin?.code == .valueInvalid)
    }

    @Test("unknown and wrong passwords read alike; five wrong in a row lock the account for 15 minutes, even against the right one; disabled accounts cannot log in and their sessions end")
    func lockOut() throws {
        let c = try County(["450223101"], policy: false)
        try c.county.actAs("wangxm", .approver)
        let unknown = #expect(throws: YKTError.self) { try c.county.login("nobody", password: TestOperators.password) }
        #expect(unknown?.code == .authPassword && unknown?.message.contains("登录名或口令不对") == true)
        for n in 1...4 {
            let e = #expect(throws: YKTError.self) { try c.county.login("wangxm", password: "wrong-password-\(n)") }
            #expect(e?.code == .authPassword && e?.message == unknown?.message, "attempt \(n)")
        }
        let fifth = #expect(throws: YKTError.self) { try c.county.login("wangxm", password: "wrong-password-5") }
        #expect(fifth?.code == .authLocked)
        let right = #expect(throws: YKTError.self) { try c.county.login("wangxm", password: TestOperators.password) }
        #expect(right?.code == .authLocked && right?.message.contains("锁定") == true)
        // Fifteen minutes later (the lock's end moved back: the test's way of waiting).
        try c.county.db.run("UPDATE operator_account SET locked_until = locked_until - 900 WHERE login = 'wangxm'")
        let (token, session) = try c.county.login("wangxm", password: TestOperators.password)
        #expect(session.login == "wangxm" && session.grants == [.approver])
        // Disabled: the session ends at once and login is refused.
        try c.county.become(TestOperators.administrator)
        try c.county.setOperator("wangxm", active: false)
        #expect((#expect(throws: YKTError.self) { try c.county.operators.session(token: token) })?.code == .authDisabled)
        #expect((#expect(throws: YKTError.self) { try c.county.login("wangxm", password: TestOperators.password) })?.code == .authDisabled)
        // A disabled approver holds no role either.
        #expect(try !c.county.operators.holds("wangxm", .approver))
    }

    @Test("a session expires 30 minutes after its last use and 8 hours after login; logout ends it; only its hash is stored")
    func sessions() throws {
        let c = try County(["450223101"], policy: false)
        try c.county.actAs("wangxm", .approver)
        let (token, _) = try c.county.login("wangxm", password: TestOperators.password)
        #expect(try c.county.db.integer("SELECT count(*) FROM operator_session WHERE token_hash = ?", SHA256.hex(token)) == 1)
        #expect(try c.county.db.integer("SELECT count(*) FROM operator_session WHERE token_hash = ?", token) == 0)
        try c.county.db.run("UPDATE operator_session SET last_used = last_used - 1801")
        let idle = #expect(throws: YKTError.self) { try c.county.operators.session(token: token) }
        #expect(idle?.code == .authLogin && idle?.message.contains("30 分钟") == true)
        let (second, _) = try c.county.login("wangxm", password: TestOperators.password)
        try c.county.db.run("UPDATE operator_session SET created = created - 8 * 3600 - 1 WHERE token_hash = ?", SHA256.hex(second))
        let old = #expect(throws: YKTError.self) { try c.county.operators.session(token: second) }
        #expect(old?.code == .authLogin && old?.message.contains("8 小时") == true)
        let (third, _) = try c.county.login("wangxm", password: TestOperators.password)
        try c.county.logout(session: third)
        #expect((#expect(throws: YKTError.self) { try c.county.operators.session(token: third) })?.code == .authLogin)
    }

    @Test("nobody grants themselves; an administrator is never also reviewer or approver; only an administrator grants")
    func separation() throws {
        let c = try County(["450223101"], policy: true)
        try c.county.actAs("liu", .approver)
        try c.county.become(TestOperators.administrator)
        let own = #expect(throws: YKTError.self) { try c.county.grant(TestOperators.administrator, role: .auditor, program: nil) }
        #expect(own?.code == .roleSelf)
        let adminApprover = #expect(throws: YKTError.self) { try c.county.grant(TestOperators.administrator, role: .approver, program: nil) }
        #expect(adminApprover?.code == .roleSelf)
        let approverAdmin = #expect(throws: YKTError.self) { try c.county.grant("liu", role: .administrator, program: nil) }
        #expect(approverAdmin?.code == .roleConflict)
        try c.county.actAs("zhang", OperatorGrant(role: .administrator))
        let adminReviewer = #expect(throws: YKTError.self) { try c.county.grant("zhang", role: .reviewer, program: "GD01") }
        #expect(adminReviewer?.code == .roleSelf)
        try c.county.become(TestOperators.administrator)
        let otherAdminReviewer = #expect(throws: YKTError.self) { try c.county.grant("zhang", role: .reviewer, program: "GD01") }
        #expect(otherAdminReviewer?.code == .roleConflict)
        // An approver cannot grant anything.
        try c.county.become("liu")
        let notAdmin = #expect(throws: YKTError.self) { try c.county.grant("zhang", role: .auditor, program: nil) }
        #expect(notAdmin?.code == .roleMissing)
        #expect(try !c.county.operators.holds("zhang", .auditor))
    }

    @Test("a decision needs the taker's own unlocked key: without it, or with another's, nothing is written")
    func decisionsAreSigned() throws {
        let loop = try Loop()
        try loop.county.become("reviewer")
        loop.county.signer = nil
        let unsigned = #expect(throws: YKTError.self) { try loop.county.review(1, approve: true, reason: "") }
        #expect(unsigned?.code == .authSign)
        try loop.county.become("approver")
        let approverKey = loop.county.signer
        try loop.county.become("reviewer")
        loop.county.signer = approverKey
        #expect((#expect(throws: YKTError.self) { try loop.county.review(1, approve: true, reason: "") })?.code == .authSign)
        #expect(try loop.county.roster(1).status == "received")
        try loop.county.become("reviewer")
        try loop.county.review(1, approve: true, reason: "")
        try loop.county.become("approver")
        try loop.county.approve([1])
        let signed = try loop.county.db.all("SELECT action FROM audit WHERE signature IS NOT NULL ORDER BY seq") { $0.text(0) }
        #expect(signed.suffix(2) == ["roster.review", "roster.approve"])
        #expect(try loop.county.verifyOperators(decided: try loop.county.decidedRows()).isEmpty)
    }

    @Test("audit verify finds a decision written straight into the database, a role granted there, and an approval signed by someone who was not an approver at that moment")
    func insidersFound() throws {
        let loop = try Loop()
        try loop.by("审核员").review(1, approve: true, reason: "")
        try loop.by("审定员").approve([1])
        // A revoke after the decision does not undo that the approver held the role when signing.
        try loop.county.actAs(TestOperators.administrator)
        try loop.county.actAs("clerk", .complaints)
        try loop.county.become(TestOperators.administrator)
        try loop.county.revokeRole(.approver, from: "approver")
        #expect(try loop.county.verifyOperators(decided: try loop.county.decidedRows()).isEmpty)
        #expect(try AuditLog.verify(db: loop.county.db).ok)

        // 1. A roster marked approved in the database, no signed entry behind it, dated long ago.
        try loop.county.db.run("""
            INSERT INTO roster(node_id, entity, program, period, line_count, total_fen, received_at, status, reviewed_by, approved_by)
            VALUES ('450223101', 'roster/x', 'TF01', '2026', 0, 0, '2000-01-01', 'approved', 'reviewer', 'approver')
            """)
        // 2. A role granted in the database.
        try loop.county.db.run("INSERT INTO operator_grant VALUES ('clerk', 'approver', '*', 'admin', 'now')")
        // 3. An approval entry, signed with the key of someone who is no approver (the complaints
        //    officer, who knows their own password), appended with a correct hash chain.
        let clerkKey = try loop.county.operators.authenticate("clerk", password: TestOperators.password)
        try loop.county.db.transaction {
            try AuditLog.append(db: loop.county.db, at: "2026-11-30T10:00:00+08:00", operatorName: "clerk", action: "roster.approve",
                                object: "rosters #1", detail: "", signer: clerkKey)
        }
        #expect(try AuditLog.verify(db: loop.county.db).ok)   // the chain alone sees nothing wrong
        let problems = try loop.county.verifyOperators(decided: try loop.county.decidedRows()).map(\.what)
        #expect(problems.contains { $0.contains("清册 2 的审定") && $0.contains("被直接写入数据库") }, "\(problems)")
        #expect(problems.contains { $0.contains("clerk 的角色 approver") && $0.contains("没有签名的授予记录") }, "\(problems)")
        #expect(problems.contains { $0.contains("clerk 在第") && $0.contains("不是财政审定人") }, "\(problems)")
    }

    @Test("an entry edited after signing and its chain recomputed: the chain verifies, the signature does not")
    func rewrittenSignedEntry() throws {
        let loop = try Loop()
        try loop.by("审核员").review(1, approve: true, reason: "")
        let seq = try #require(try loop.county.db.integer("SELECT seq FROM audit WHERE action = 'roster.review'"))
        // The insider changes the reason and recomputes every hash from there on.
        try loop.county.db.run("UPDATE audit SET detail = 'program=TF01 rejected: 伪造' WHERE seq = ?", seq)
        try Insider.rechain(loop.county.db, from: seq)
        #expect(try AuditLog.verify(db: loop.county.db).ok)
        let problems = try loop.county.verifyOperators(decided: []).map(\.what)
        #expect(problems.contains { $0.contains("roster.review") && $0.contains("签名不符") }, "\(problems)")
    }

    @Test("the township's sign-off is the leader's: a clerk cannot submit, the leader's submission is signed, and a roster marked submitted in the database is found")
    func townshipLeader() throws {
        let c = try County(["450223101"], policy: true)
        let t = c.townships["450223101"]!
        try t.actAs("clerk1", .clerk)
        try register(t, ResidentID.completing("45022319500101123"), "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        try apply(t, ResidentID.completing("45022319500101123"), "TF01", quantity: "1")
        let roster = try t.buildRoster(program: "TF01", period: try Period(parsing: "2026"))
        #expect((#expect(throws: YKTError.self) { try t.submitRoster(roster.id) })?.code == .roleMissing)
        try t.actAs("leader1", .leader)
        try t.submitRoster(roster.id)
        #expect(try t.verifyOperators(decided: try t.decidedRows()).isEmpty)
        // A roster written as submitted straight into the database has no leader's signature.
        try t.db.run("INSERT INTO roster(program_code, period, batch, status, line_count, total_fen, created_at, submitted_at) VALUES ('TF01', '2026', 9, 'submitted', 0, 0, 'x', '2099-01-01')")
        let problems = try t.verifyOperators(decided: try t.decidedRows()).map(\.what)
        #expect(problems.contains { $0.contains("的报送") && $0.contains("被直接写入数据库") }, "\(problems)")
    }

    @Test("an account opened or reset by an administrator decides nothing until its owner changes the password; a decision signed with the administrator-set key is named by audit verify")
    func ownPasswordFirst() throws {
        let c = try County(["450223101"], policy: false)
        try c.county.become(TestOperators.administrator)
        try c.county.addOperator(login: "li", realName: "李审定", password: TestOperators.initialPassword, parameters: TestOperators.parameters)
        try c.county.grantRole(.approver, to: "li")
        #expect(try c.county.operators.mustChange("li"))
        let initialKey = try c.county.operators.authenticate("li", password: TestOperators.initialPassword)
        c.county.operatorName = "li"
        c.county.signer = initialKey
        let refused = #expect(throws: YKTError.self) { try c.county.changeAccount(try ResidentID(ResidentID.completing("45022319500101123")),
            bank: "农行", number: try AccountNumber(AccountNumber.completingLuhn("622848000000000009"), kind: .card), confirmation: "B", reason: "r") }
        #expect(refused?.code == .authChange)
        // The administrator, who knows the initial password, signs an approval as li straight into the trail.
        try c.county.db.transaction {
            try AuditLog.append(db: c.county.db, at: "2026-11-30T10:00:00+08:00", operatorName: "li", action: "roster.approve",
                                object: "rosters #9", detail: "", signer: initialKey)
        }
        let problems = try c.county.verifyOperators(decided: []).map(\.what)
        #expect(problems.contains { $0.contains("li 的签名密钥由管理员设定的口令保护") }, "\(problems)")
        // Once li chooses a password, li's key is li's own; the old one signs nothing more.
        try c.county.changeOwnPassword(old: TestOperators.initialPassword, new: TestOperators.password, parameters: TestOperators.parameters)
        #expect(try !c.county.operators.mustChange("li"))
        #expect((#expect(throws: YKTError.self) { try c.county.changeOwnPassword(old: TestOperators.password, new: TestOperators.password) })?.code == .authWeak)
    }

    @Test("audit verify finds a bank's folder repointed in the database, a township key slipped in beside an enrolled one, and a trail whose bootstrap entry was renamed and rehashed")
    func coarseLinksClosed() throws {
        let loop = try Loop()
        #expect(try loop.county.verifyOperators(decided: try loop.county.decidedRows()).isEmpty)
        try loop.county.db.run("UPDATE agency_bank SET folder = '/tmp/elsewhere' WHERE code = 'ABC'")
        let rogue = Hex.encode(try Ed25519.PrivateKey.generate().publicKey.raw)
        try loop.county.db.run("INSERT INTO node_key(node_id, key_id, public_key, active, registered_at) VALUES ('450223101', 'feedfacefeedface', ?, 0, 'x')",
                               DatabaseValueHex(rogue))
        var problems = try loop.county.verifyOperators(decided: try loop.county.decidedRows()).map(\.what)
        #expect(problems.contains { $0.contains("代发银行 ABC 的交换目录") && $0.contains("不符") }, "\(problems)")
        #expect(problems.contains { $0.contains("feedfacefeedface") && $0.contains("被直接写入数据库") }, "\(problems)")
        // Rename the bootstrap and recompute the chain: the chain verifies, the missing bootstrap does not.
        let db = loop.county.db
        try db.run("UPDATE audit SET action = 'node.note' WHERE action = 'operator.bootstrap'")
        try Insider.rechain(db, from: 1)
        #expect(try AuditLog.verify(db: db).ok)
        problems = try loop.county.verifyOperators(decided: try loop.county.decidedRows()).map(\.what)
        #expect(problems.contains { $0.contains("没有建立首位管理员的记录") }, "\(problems)")
        #expect(problems.contains { $0.contains("代发银行 ABC") }, "\(problems)")
    }

    @Test("separation of duties is replayed: a role an administrator signs straight into the trail for another administrator, and an approval its own reviewer signs around the program, are named")
    func separationReplayed() throws {
        let loop = try Loop()
        try loop.by("审核员").review(1, approve: true, reason: "")
        // The reviewer also holds approver (allowed), but the program refuses them this roster.
        try loop.county.actAs("reviewer", .approver)
        #expect((#expect(throws: YKTError.self) { try loop.county.approve([1]) })?.code == .roleMissing)
        #expect(try loop.county.verifyOperators(decided: []).isEmpty)
        // So they sign the approval entry themselves, with their own key, straight into the trail.
        let reviewerKey = try loop.county.operators.authenticate("reviewer", password: TestOperators.password)
        try loop.county.db.transaction {
            try AuditLog.append(db: loop.county.db, at: "2026-11-30T10:00:00+08:00", operatorName: "reviewer", action: "roster.approve",
                                object: "rosters #1", detail: "", signer: reviewerKey)
        }
        // And an administrator makes another administrator a reviewer the same way.
        try loop.county.actAs("zhang", OperatorGrant(role: .administrator))
        let adminKey = try loop.county.operators.authenticate(TestOperators.administrator, password: TestOperators.password)
        try loop.county.db.transaction {
            try AuditLog.append(db: loop.county.db, at: "2026-11-30T10:01:00+08:00", operatorName: TestOperators.administrator,
                                action: "role.grant", object: "operator/zhang", detail: "role=reviewer program=TF01", signer: adminKey)
            try loop.county.db.run("INSERT INTO operator_grant VALUES ('zhang', 'reviewer', 'TF01', 'admin', 'now')")
        }
        let problems = try loop.county.verifyOperators(decided: []).map(\.what)
        #expect(problems.contains { $0.contains("由 reviewer 审核，又由其本人审定") }, "\(problems)")
        #expect(problems.contains { $0.contains("职责分离：zhang 同时成为管理员和审核人或审定人") }, "\(problems)")
    }

    @Test("two first administrators at once: exactly one is made")
    func bootstrapRace() throws {
        let dir = NSTemporaryDirectory() + "ykt-boot-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try TownshipNode.create(directory: dir, config: NodeConfig(role: .township, nodeID: "450223101", name: "寨沙镇",
                                                                         countyCode: "450223", defaultOperator: ""))
        let results = Results()
        let group = DispatchGroup()
        for login in ["first", "second"] {
            group.enter()
            Thread {
                defer { group.leave() }
                do {
                    let node = try TownshipNode.open(directory: dir)
                    try node.bootstrapAdministrator(login: login, realName: "管理员", password: TestOperators.password,
                                                    parameters: TestOperators.parameters)
                    results.add(.success(login))
                } catch { results.add(.failure(error)) }
            }.start()
        }
        group.wait()
        let node = try TownshipNode.open(directory: dir)
        #expect(try node.operators.list().count == 1)
        #expect(results.all.filter { if case .success = $0 { true } else { false } }.count == 1, "\(results.all)")
        #expect(try node.verifyOperators(decided: []).isEmpty)
    }
}

/// A public key as the blob node_key stores.
private func DatabaseValueHex(_ hex: String) -> DatabaseValue { .blob(Hex.decode(hex) ?? []) }

/// Results of concurrent attempts, gathered under a lock.
private final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Result<String, any Error>] = []
    func add(_ r: Result<String, any Error>) { lock.withLock { items.append(r) } }
    var all: [Result<String, any Error>] { lock.withLock { items } }
}
