import Foundation
import Testing
import YKTNode
import YKTCore
import YKTTestSupport
import YKTCrypto
import YKTStore
import YKTSync
@testable import YKTCounty
@testable import YKTTownship

/// The township's answer as the transport hands it over: with the county's key id and chain.
private func answer(_ a: CountyNode.Answer) -> TownshipNode.CountyAnswer {
    TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature, keyID: a.keyID, keyChain: a.keyChain)
}

extension County {
    /// A push as the transport does it (key id and rotation statements passed along).
    func pushKeyed(_ code: String) throws -> TownshipNode.PushReport {
        try townships[code]!.push { bytes, signature in answer(county.receive(peer: code, bytes: bytes, signature: signature)) }
    }

    func pullKeyed(_ code: String) throws -> Int {
        try townships[code]!.pull { after in answer(county.stream(peer: code, after: after)) }
    }
}

/// The code of a refusal answer.
private func code(_ a: CountyNode.Answer) -> String? { (try? JSONValue.parse(a.body))?["code"]?.stringValue }

@Suite("Keys cut off and rotated (issue 15, item 6): disabled townships, township and county key rotation")
struct KeyRotationTests {
    let alice = ResidentID.completing("45022319500101123")
    let bob = ResidentID.completing("45022319620315456")

    @Test("a disabled township is refused at once with YKT-SYNC-DISABLED, upstream and downstream; enabled again it syncs")
    func disabledTownship() throws {
        let c = try County(["450223101"])
        let t = c.townships["450223101"]!
        try register(t, alice, "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        // Disabled from another connection, as another `ykt` process would.
        let other = try CountyNode.open(directory: c.county.directory)
        try other.become(TestOperators.administrator)
        #expect((#expect(throws: YKTError.self) { try other.disable(township: "450223101", reason: " ") })?.code == .fieldMissing)
        #expect((#expect(throws: YKTError.self) { try other.disable(township: "450223199", reason: "x") })?.code == .townshipUnknown)
        try other.disable(township: "450223101", reason: "签名密钥疑似被盗")

        let set = try #require(try t.nextChangeSet())
        let refused = c.county.receive(peer: "450223101", bytes: set.set.bytes, signature: set.signature)
        #expect(refused.status == 403 && code(refused) == "YKT-SYNC-DISABLED")
        // Refused at admission, from the header alone: no body is needed to be refused.
        let header = CountyNode.ArrivedHeader(bytes: Array(set.set.headerBytes), end: set.set.bodyOffset)
        guard case .answer(let early) = c.county.admit(peer: "450223101", header: header, length: set.set.bytes.count + 1_000_000,
                                                       signature: set.signature) else {
            Issue.record("a disabled township's header was admitted")
            return
        }
        #expect(code(early) == "YKT-SYNC-DISABLED")
        #expect((#expect(throws: YKTError.self) { try c.push("450223101") })?.code == .syncDisabled)
        #expect(code(c.county.stream(peer: "450223101", after: 1)) == "YKT-SYNC-DISABLED")
        #expect(try c.county.db.integer("SELECT count(*) FROM upstream") == 0)
        #expect(try c.county.townships().first?.disabledReason == "签名密钥疑似被盗")
        #expect(try c.county.db.integer("SELECT count(*) FROM audit WHERE action = 'township.disable'") == 1)

        try other.enable(township: "450223101", reason: "已核实，换发新证书")
        #expect(try c.pushKeyed("450223101").accepted == 1)
        #expect(try c.county.townships().first?.disabledAt == nil)
    }

    @Test("a rotated township key takes effect with the next change set; the old key is refused afterwards")
    func townshipRotation() throws {
        let c = try County(["450223101"])
        let t = c.townships["450223101"]!
        let oldKey = try NodeKey.load(from: t.directory)
        let oldID = try oldKey.publicKey.keyID
        try register(t, alice, "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        #expect(try c.pushKeyed("450223101").accepted == 1)

        let rotation = try t.acting(TestOperators.administrator).rotateKey()
        #expect(rotation.oldKeyID == oldID)
        #expect(try t.publicKey().keyID == oldID)            // the old key signs until the county confirms
        #expect(try t.pendingKey()?.keyID == rotation.newKey.keyID)
        #expect((#expect(throws: YKTError.self) { try t.acting(TestOperators.administrator).rotateKey() })?.code == .keyRotationPending)

        // Nothing pending: an empty change set carries the statement.
        let report = try c.pushKeyed("450223101")
        #expect(report.changeSets == 1 && report.operations == 0)
        #expect(try t.publicKey().keyID == rotation.newKey.keyID)
        #expect(try t.pendingKey() == nil)
        #expect(try NodeKey.loadNext(from: t.directory) == nil)
        #expect(try c.county.db.first("SELECT key_id FROM node_key WHERE node_id = '450223101' AND active = 1") { $0.text(0) }
                == rotation.newKey.keyID)
        #expect(try c.county.db.first("SELECT replaced_by FROM node_key WHERE key_id = ?", oldID) { $0.text(0) } == rotation.newKey.keyID)

        // The next change set is signed with the new key and accepted.
        try register(t, bob, "覃建国", card: AccountNumber.completingLuhn("622848000000000002"))
        #expect(try c.pushKeyed("450223101").accepted == 1)
        let last = try #require(try t.storedChangeSets().last)
        #expect(last.set.header.keyID == rotation.newKey.keyID && last.set.header.keyNext == nil)

        // A change set signed with the old key (a thief's) is refused, nothing applied.
        let forged = ChangeSet.build(node: "450223101", keyID: oldID, seq: last.set.header.seq + 1, prev: last.set.hash, operations: [],
                                     audit: try AuditLog.head(db: t.db))
        let refused = c.county.receive(peer: "450223101", bytes: forged.bytes, signature: try oldKey.sign(Array(forged.headerBytes)))
        #expect(refused.status == 403 && code(refused) == "YKT-SYNC-KEY-RETIRED")
        #expect(try c.county.db.integer("SELECT count(*) FROM upstream WHERE node_id = '450223101'") == 3)
    }

    @Test("a rotation survives a lost receipt: the same bytes are sent again and the stored receipt confirms it")
    func rotationLostReceipt() throws {
        let c = try County(["450223101"])
        let t = c.townships["450223101"]!
        try register(t, alice, "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        let rotation = try t.acting(TestOperators.administrator).rotateKey()
        struct Lost: Error {}
        // The county takes the change set (and the new key), but the township never hears back.
        #expect(throws: Lost.self) {
            try t.push { bytes, signature in
                _ = c.county.receive(peer: "450223101", bytes: bytes, signature: signature)
                throw Lost()
            }
        }
        #expect(try t.pendingKey()?.keyID == rotation.newKey.keyID)
        // Reopened (as after a crash): the same set, signed with the old key, is a replay.
        let reopened = try TownshipNode.open(directory: t.directory)
        let report = try reopened.push { bytes, signature in answer(c.county.receive(peer: "450223101", bytes: bytes, signature: signature)) }
        #expect(report.accepted == 1)
        #expect(try reopened.publicKey().keyID == rotation.newKey.keyID && reopened.pendingKey() == nil)
    }

    @Test("a rotation statement not signed by the old key is refused with YKT-SYNC-ROTATION; nothing changes")
    func forgedRotation() throws {
        let c = try County(["450223101"])
        let t = c.townships["450223101"]!
        let oldKey = try NodeKey.load(from: t.directory)
        let oldID = try oldKey.publicKey.keyID
        let thief = try Ed25519.PrivateKey.generate()
        // A statement made with another key in place of the old one, in a header the old key signed.
        var statement = try KeyRotation.make(node: "450223101", old: oldKey, new: thief, at: "2026-12-03T20:00:00+08:00")
        statement.oldSignature = try thief.sign(statement.statement)
        let set = ChangeSet.build(node: "450223101", keyID: oldID, seq: 1, prev: ChangeSet.genesisHash, operations: [], audit: .genesis,
                                  keyNext: statement.field)
        let refused = c.county.receive(peer: "450223101", bytes: set.bytes, signature: try oldKey.sign(Array(set.headerBytes)))
        #expect(refused.status == 403 && code(refused) == "YKT-SYNC-ROTATION")
        // The new key's signature must hold too.
        var unsigned = try KeyRotation.make(node: "450223101", old: oldKey, new: thief, at: "2026-12-03T20:00:00+08:00")
        unsigned.newSignature = try oldKey.sign(unsigned.statement)
        let set2 = ChangeSet.build(node: "450223101", keyID: oldID, seq: 1, prev: ChangeSet.genesisHash, operations: [], audit: .genesis,
                                   keyNext: unsigned.field)
        #expect(code(c.county.receive(peer: "450223101", bytes: set2.bytes, signature: try oldKey.sign(Array(set2.headerBytes))))
                == "YKT-SYNC-ROTATION")
        #expect(try c.county.db.integer("SELECT count(*) FROM upstream") == 0)
        #expect(try c.county.db.first("SELECT key_id FROM node_key WHERE active = 1") { $0.text(0) } == oldID)
    }

    @Test("a county key rotation is accepted by a township from the old key's statement; the retired or an unknown key is refused")
    func countyRotation() throws {
        let c = try County(["450223101"])
        let t = c.townships["450223101"]!
        let oldCounty = c.county.key
        let oldID = c.county.keyID
        try register(t, alice, "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        // A message waiting in the stream, signed before the rotation: signed again with the new key.
        try c.county.disable(township: "450223101", reason: "x")
        try c.county.enable(township: "450223101", reason: "y")
        try c.county.db.transaction { try c.county.emit(to: "450223101", kind: "test.note", data: ["n": .int(1)]) }

        let rotation = try c.county.acting(TestOperators.administrator).rotateKey()
        #expect(rotation.oldKeyID == oldID && c.county.keyID == rotation.newKey.keyID)
        #expect(try c.county.publicKey().keyID == rotation.newKey.keyID)
        #expect(try NodeKey.load(from: c.county.directory).publicKey.keyID == rotation.newKey.keyID)

        // The receipt is signed with the new key, which the township takes from the old key's statement.
        #expect(try c.pushKeyed("450223101").accepted == 1)
        #expect(try t.trustedCountyKey().keyID == rotation.newKey.keyID)
        #expect(try c.pullKeyed("450223101") == 1)
        #expect(try t.inbox().last?.kind == "test.note")

        // A stream answer signed with the retired key is refused.
        try c.county.db.transaction { try c.county.emit(to: "450223101", kind: "test.note", data: ["n": .int(2)]) }
        let good = c.county.stream(peer: "450223101", after: try t.inbox().last!.seq)
        let line = try JSONValue.parse(Array(good.body.split(separator: 0x0A).first!))
        let text = line["message"]!.stringValue!
        func stream(signedBy key: Ed25519.PrivateKey, id: String, chain: [KeyRotation]) throws -> TownshipNode.CountyAnswer {
            let wrapper: JSONValue = ["key": .string(id), "message": .string(text),
                                      "signature": .string(Hex.encode(try key.sign(Array(text.utf8))))]
            return TownshipNode.CountyAnswer(status: 200, body: Array(wrapper.canonical.utf8) + [0x0A], signature: nil,
                                             keyID: id, keyChain: chain)
        }
        let retired = try stream(signedBy: oldCounty, id: oldID, chain: good.keyChain)
        #expect((#expect(throws: YKTError.self) { _ = try t.pull { _ in retired } })?.code == .syncKeyRetired)
        // A key no statement from the trusted key announces.
        let stranger = try Ed25519.PrivateKey.generate()
        let unknown = try stream(signedBy: stranger, id: try stranger.publicKey.keyID, chain: good.keyChain)
        #expect((#expect(throws: YKTError.self) { _ = try t.pull { _ in unknown } })?.code == .syncKeyUnknown)
        // A statement for it signed by the stranger itself is no announcement.
        let selfMade = try KeyRotation.make(node: "450223", old: stranger, new: stranger, at: "2026-12-03T20:00:00+08:00")
        var claimed = selfMade
        claimed.oldKeyID = rotation.newKey.keyID
        let forged = try stream(signedBy: stranger, id: try stranger.publicKey.keyID, chain: good.keyChain + [claimed])
        #expect((#expect(throws: YKTError.self) { _ = try t.pull { _ in forged } })?.code == .syncRotation)
        #expect(try t.trustedCountyKey().keyID == rotation.newKey.keyID)
        // The real answer is still taken.
        #expect(try c.pullKeyed("450223101") == 1)
    }

    @Test("a township two county rotations behind follows the chain of statements from the key it trusts")
    func countyRotatedTwice() throws {
        let c = try County(["450223101"])
        let t = c.townships["450223101"]!
        let first = c.county.keyID
        let second = try c.county.acting(TestOperators.administrator).rotateKey()
        let third = try c.county.acting(TestOperators.administrator).rotateKey()
        #expect(second.oldKeyID == first && third.oldKeyID == second.newKey.keyID)
        try register(t, alice, "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        #expect(try c.pushKeyed("450223101").accepted == 1)
        #expect(try t.trustedCountyKey().keyID == third.newKey.keyID)
        #expect(try t.db.all("SELECT key_id, state FROM county_key ORDER BY state, key_id") { "\($0.text(0)):\($0.text(1))" }.sorted()
                == ["\(first):retired", "\(second.newKey.keyID):retired", "\(third.newKey.keyID):current"].sorted())
        #expect(try c.pullKeyed("450223101") == 0)
    }

    @Test("a county key rotated by another process is used by the running county from its next answer")
    func countyRotationByOtherProcess() throws {
        let c = try County(["450223101"])
        let t = c.townships["450223101"]!
        let other = try CountyNode.open(directory: c.county.directory)
        let rotation = try other.acting(TestOperators.administrator).rotateKey()
        try register(t, alice, "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        let report = try t.push { bytes, signature in
            let a = c.county.receive(peer: "450223101", bytes: bytes, signature: signature)
            #expect(a.keyID == rotation.newKey.keyID)
            return answer(a)
        }
        #expect(report.accepted == 1)
        #expect(try t.trustedCountyKey().keyID == rotation.newKey.keyID)
    }
}
