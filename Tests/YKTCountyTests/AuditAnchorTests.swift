import Foundation
import Testing
import YKTCore
import YKTTestSupport
import YKTCrypto
import YKTNode
import YKTStore
import YKTSync
@testable import YKTCounty
@testable import YKTTownship

/// What someone who can write a node's database does to hide a change: edits entry `seq` and
/// recomputes every hash after it and the head in `meta`, by the construction in
/// docs/conventions.md (h), so that the chain verifies again.
func rewriteAudit(_ db: Database, seq: Int64, detail: String) throws {
    try db.run("UPDATE audit SET detail = ? WHERE seq = ?", detail, seq)
    try Insider.rechain(db, from: seq)
}

/// The same, cutting the chain back to `seq` entries (the head in `meta` follows), so that it verifies.
func truncateAudit(_ db: Database, to seq: Int64) throws {
    try db.transaction {
        let hash = try #require(try db.first("SELECT hash FROM audit WHERE seq = ?", seq) { $0.text(0) })
        try db.run("DELETE FROM audit WHERE seq > ?", seq)
        try db.run("UPDATE meta SET value = ? WHERE key = 'audit_head_seq'", String(seq))
        try db.run("UPDATE meta SET value = ? WHERE key = 'audit_head_hash'", hash)
    }
}

/// An anchor file as it travels: written by one node, read back from disk by the other.
func travelled(_ file: AuditAnchorFile, _ dir: Dir, _ name: String) throws -> AuditAnchorFile {
    try file.text.write(toFile: dir.sub(name), atomically: true, encoding: .utf8)
    return try AuditAnchorFile.read(path: dir.sub(name))
}

@Suite("Each side anchors the other's audit trail (issue 15, item 5)")
struct AuditAnchorTests {
    let alice = ResidentID.completing("45022319500101123")
    let bob = ResidentID.completing("45022319620315456")
    let carol = ResidentID.completing("45022319800707078")

    /// One township that registered three residents and pushed them (two change sets).
    func pushed() throws -> (County, TownshipNode) {
        let (c, t) = try County.registering([(alice, "韦秀英", "622848000000000001"), (bob, "覃建国", "622848000000000002"),
                                             (carol, "黄丽华", "622848000000000004")])
        #expect(try c.push("450223101").changeSets == 2)
        return (c, t)
    }

    @Test("the audit head a change set carries is the township's head in the transaction that took its operations")
    func headInTheSameTransaction() throws {
        let (c, t) = try County.registering([(alice, "韦秀英", "622848000000000001")])
        let built = try #require(try t.nextChangeSet())
        let head = try #require(built.set.header.audit)
        // The build's own audit entry comes right after the head it shipped.
        let entry = try #require(try t.db.first("SELECT seq, prev_hash FROM audit WHERE action = 'changeset.build'") {
            (seq: $0.int64(0), prev: $0.text(1))
        })
        #expect(entry.seq == head.seq + 1 && entry.prev == head.hash)
        #expect(try t.db.integer("SELECT count(*) FROM audit WHERE seq = ? AND hash = ?", head.seq, head.hash) == 1)
        _ = try c.push("450223101")
        let held = try c.county.heldAnchors(township: "450223101")
        #expect(held.map(\.head) == [head] && held.map(\.changeSet) == [1])
    }

    @Test("a township's rewritten audit row, its chain recomputed so that audit verify passes, is found through the county's exported anchors")
    func rewrittenTownshipFound() throws {
        let (c, t) = try pushed()
        let dir = Dir()
        // Untouched, the township's chain holds every anchor the county exports.
        let before = try travelled(try c.county.exportAnchors(township: "450223101"), dir, "before.json")
        #expect(try before.anchors(of: "450223101").count == 2)
        #expect(try t.checkAnchors(file: before).isEmpty)
        #expect(try t.checkReportedAnchors() == (1, []))

        // Entry 3 is rewritten and the chain recomputed; the anchors the receipts reported are
        // deleted too (whoever writes the database can): the township's own checks all pass.
        let anchors = try c.county.heldAnchors(township: "450223101").map(\.head)
        let old = try #require(try t.db.first("SELECT hash FROM audit WHERE seq = ?", anchors[0].seq) { $0.text(0) })
        try rewriteAudit(t.db, seq: 3, detail: "改写过的记录")
        try t.db.run("DELETE FROM own_anchor")
        #expect(try AuditLog.verify(db: t.db).ok)
        #expect(try t.checkReportedAnchors().problems.isEmpty)

        // The county's anchors, exported and carried to the township, find it: each named.
        let file = try travelled(try c.county.exportAnchors(township: "450223101"), dir, "after.json")
        let problems = try t.checkAnchors(file: file)
        #expect(problems.map(\.seq) == anchors.map(\.seq))
        #expect(problems.map(\.expected) == anchors.map(\.hash))
        #expect(problems[0].expected == old && problems[0].found != nil && problems[0].found != old)
        #expect(problems[0].description.contains("第 \(anchors[0].seq) 条") && problems[0].description.contains(old))
    }

    @Test("a county's rewritten audit row, its chain recomputed so that audit verify passes, is found through the township's exported anchors")
    func rewrittenCountyFound() throws {
        let (c, t) = try pushed()
        _ = try c.pull("450223101")
        let dir = Dir()
        let held = try t.countyAnchors()
        #expect(held.count >= 2)
        #expect(try c.county.checkAnchors(file: try travelled(try t.exportAnchors(), dir, "before.json")).isEmpty)

        try rewriteAudit(c.county.db, seq: 2, detail: "改写过的记录")
        #expect(try AuditLog.verify(db: c.county.db).ok)
        let problems = try c.county.checkAnchors(file: try travelled(try t.exportAnchors(), dir, "after.json"))
        #expect(problems.map(\.seq) == held.map(\.head.seq).filter { $0 >= 2 })
        #expect(problems.allSatisfy { p in held.contains { $0.head.seq == p.seq && $0.head.hash == p.expected } && p.found != p.expected })
    }

    @Test("a county whose chain no longer holds the anchor a township names on its stream request records it and answers 409 YKT-AUDIT-ANCHOR")
    func countyFindsItselfOnline() throws {
        let (c, t) = try pushed()
        _ = try c.pullAnchored("450223101")
        let held = try #require(try t.countyAnchors().last)
        _ = try c.pullAnchored("450223101")   // an untouched county answers
        try rewriteAudit(c.county.db, seq: 2, detail: "改写过的记录")
        #expect(try AuditLog.verify(db: c.county.db).ok)
        let anchors = try t.countyAnchors()
        let refused = #expect(throws: YKTError.self) { try c.pullAnchored("450223101") }
        #expect(refused?.code == .auditAnchor)
        #expect(refused?.message.contains("第 \(anchors.last!.head.seq) 条") == true)
        #expect(try t.countyAnchors() == anchors)
        #expect(try c.county.db.integer("SELECT count(*) FROM audit WHERE action = 'audit.anchor.mismatch' AND object = 'township/450223101'") == 1)
        #expect(held.head.seq >= 2)
        // A well-formed anchor the county never had (a township's false word) stops only that township's stream.
        let acked = try t.db.integer("SELECT max(seq) FROM inbox") ?? 0
        let other = c.county.stream(peer: "450223101", after: acked, anchor: AuditHead(seq: 1, hash: String(repeating: "e", count: 64)))
        #expect(other.status == 409)
        #expect(try JSONValue.parse(other.body)["code"]?.stringValue == "YKT-AUDIT-ANCHOR")
    }

    @Test("an anchor file that was edited, or is not for this node, is refused (YKT-ANCHOR-FILE)")
    func anchorFileRefused() throws {
        let (c, t) = try pushed()
        _ = try c.pull("450223101")
        let dir = Dir()
        let file = try c.county.exportAnchors(township: "450223101")
        // One digit of one anchor's hash changed: the county's signature no longer verifies.
        let anchor = try #require(file.chains.first?.anchors.first)
        let flipped = String(anchor.head.hash.dropLast()) + (anchor.head.hash.hasSuffix("0") ? "1" : "0")
        try file.text.replacingOccurrences(of: anchor.head.hash, with: flipped).write(toFile: dir.sub("edited.json"), atomically: true, encoding: .utf8)
        let edited = #expect(throws: YKTError.self) { try t.checkAnchors(file: try AuditAnchorFile.read(path: dir.sub("edited.json"))) }
        #expect(edited?.code == .anchorFile)
        // The township's own export (the county's chain) is not a file for the township to check.
        let own = #expect(throws: YKTError.self) { try t.checkAnchors(file: try travelled(try t.exportAnchors(), dir, "own.json")) }
        #expect(own?.code == .anchorFile)
        // Not JSON of the format.
        try "{\"export\":{}}\n".write(toFile: dir.sub("junk.json"), atomically: true, encoding: .utf8)
        #expect((#expect(throws: YKTError.self) { try AuditAnchorFile.read(path: dir.sub("junk.json")) })?.code == .anchorFile)
    }

    @Test("the anchor is kept in the transaction that applies its change set: a change set refused while applying leaves no anchor")
    func anchorAtomicWithChangeSet() throws {
        let (c, t) = try pushed()
        let anchorsBefore = try c.county.heldAnchors(township: "450223101")
        #expect(anchorsBefore.map(\.changeSet) == (try c.county.db.all("SELECT seq FROM upstream ORDER BY seq") { $0.int64(0) }))
        // A change set whose header passes every check but whose operation is out of sequence:
        // refused while it is applied, after its anchor was written in the same transaction.
        let last = try #require(try t.storedChangeSets().last)
        let op = Operation.body(kind: "beneficiary.update", node: "450223101", seq: 99, entity: "beneficiary/x", baseVersion: 1,
                                at: "2026-03-01T09:00:00+08:00", by: "经办人", data: #"{"household":"9"}"#)
        let head = try AuditLog.head(db: t.db)
        let set = ChangeSet.build(node: "450223101", keyID: last.set.header.keyID, seq: last.set.header.seq + 1, prev: last.set.hash,
                                  operations: [op], audit: head)
        let key = try NodeKey.load(from: t.directory)
        let answer = c.county.receive(peer: "450223101", bytes: set.bytes, signature: try key.sign(ChangeSet.signedPart(of: set.bytes)))
        #expect(answer.status == 400)
        #expect(try JSONValue.parse(answer.body)["code"]?.stringValue == "YKT-SYNC-BODY")
        #expect(try c.county.heldAnchors(township: "450223101") == anchorsBefore)
        #expect(try c.county.db.integer("SELECT count(*) FROM upstream") == Int64(anchorsBefore.count))
        // The township's next change set is taken, with its anchor, and its receipt names the anchor held before.
        try register(t, ResidentID.completing("45022319700101000"), "蒙小燕", card: AccountNumber.completingLuhn("622848000000000005"))
        #expect(try c.push("450223101").accepted == 1)
        let after = try c.county.heldAnchors(township: "450223101")
        #expect(after.count == anchorsBefore.count + 1 && Array(after.prefix(anchorsBefore.count)) == anchorsBefore)
        let receipt = try JSONValue.parse(Array(try #require(try t.db.first("SELECT receipt FROM changeset_out ORDER BY seq DESC LIMIT 1") {
            $0.text(0) }).utf8))
        #expect(AuditHead(json: receipt["auditAnchor"]) == anchorsBefore.last?.head)
        #expect(try t.checkReportedAnchors() == (2, []))
    }

    @Test("a change set whose audit head goes back (a lower sequence, or the same one with another hash) is refused at the county: YKT-SYNC-AUDIT, nothing applied, recorded")
    func backwardsRefused() throws {
        let (c, t) = try pushed()
        let held = try #require(try c.county.heldAnchor(of: "450223101"))
        let last = try #require(try t.storedChangeSets().last)
        let key = try NodeKey.load(from: t.directory)
        let op = Operation.body(kind: "beneficiary.update", node: "450223101", seq: last.lastOp + 1, entity: "beneficiary/\(alice)",
                                baseVersion: 1, at: "2026-03-01T09:00:00+08:00", by: "经办人", data: #"{"household":"9"}"#)
        let operations = try c.county.db.integer("SELECT count(*) FROM decision")
        let backwards = AuditHead(seq: held.head.seq - 1, hash: held.head.hash)
        let otherHash = AuditHead(seq: held.head.seq, hash: String(repeating: "a", count: 64))
        for head in [backwards, otherHash] {
            let set = ChangeSet.build(node: "450223101", keyID: last.set.header.keyID, seq: last.set.header.seq + 1, prev: last.set.hash,
                                      operations: [op], audit: head)
            let answer = c.county.receive(peer: "450223101", bytes: set.bytes, signature: try key.sign(ChangeSet.signedPart(of: set.bytes)))
            #expect(answer.status == 409)
            let body = try JSONValue.parse(answer.body)
            #expect(body["code"]?.stringValue == "YKT-SYNC-AUDIT")
            #expect(body["message"]?.stringValue?.contains("第 \(held.head.seq) 条") == true)
            #expect(try c.county.db.integer("SELECT count(*) FROM decision") == operations)
            #expect(try c.county.db.integer("SELECT max(seq) FROM upstream WHERE node_id = '450223101'") == last.set.header.seq)
            #expect(try c.county.heldAnchor(of: "450223101") == held)
        }
        #expect(try c.county.db.integer("SELECT count(*) FROM audit WHERE action = 'audit.anchor.refused' AND object = 'township/450223101'") == 2)
        #expect(try AuditLog.verify(db: c.county.db).ok)

        // The same through the township's own push, after its audit trail was cut back behind the anchor.
        try truncateAudit(t.db, to: held.head.seq - 2)
        #expect(try AuditLog.verify(db: t.db).ok)
        try register(t, ResidentID.completing("45022319700101000"), "蒙小燕", card: AccountNumber.completingLuhn("622848000000000005"))
        let refused = #expect(throws: YKTError.self) { try c.push("450223101") }
        #expect(refused?.code == .syncAudit)
        #expect(try c.county.heldAnchor(of: "450223101") == held)
    }

    @Test("a township whose chain no longer holds the anchor a receipt names records it and stops its push: YKT-AUDIT-ANCHOR; audit verify finds it again")
    func receiptAnchorMismatch() throws {
        let (c, t) = try pushed()
        let held = try #require(try c.county.heldAnchor(of: "450223101"))
        try rewriteAudit(t.db, seq: 2, detail: "改写过的记录")
        #expect(try AuditLog.verify(db: t.db).ok)
        try register(t, ResidentID.completing("45022319700101000"), "蒙小燕", card: AccountNumber.completingLuhn("622848000000000005"))
        let stopped = #expect(throws: YKTError.self) { try c.push("450223101") }
        #expect(stopped?.code == .auditAnchor)
        #expect(stopped?.details.first?.message.contains("第 \(held.head.seq) 条") == true)
        // The change set was applied and acknowledged; the finding is in the trail and stays for audit verify.
        #expect(try t.outbox().allSatisfy { $0.state == "accepted" })
        #expect(try t.db.integer("SELECT count(*) FROM audit WHERE action = 'audit.anchor.mismatch'") == 1)
        let found = try t.checkReportedAnchors()
        #expect(found.problems.map(\.seq).contains(held.head.seq))
        #expect(found.problems.first { $0.seq == held.head.seq }?.expected == held.head.hash)
    }

    @Test("the county's audit head comes down every stream answer, signed, and is kept; one that goes back is refused at the township (YKT-SYNC-AUDIT), recorded, nothing taken")
    func countyHeadDownstream() throws {
        let (c, t) = try pushed()
        let before = try t.countyAnchors()
        _ = try c.pull("450223101")
        let after = try t.countyAnchors()
        #expect(after.count == before.count + 1)
        // The county's head as it stood when it answered (its acknowledgement entry included).
        let countyHead = try AuditLog.head(db: c.county.db)
        #expect(after.last?.head == countyHead)
        #expect(try c.county.db.integer("SELECT count(*) FROM audit WHERE seq = ? AND hash = ?", countyHead.seq, countyHead.hash) == 1)

        // The county's chain cut back behind what the township holds: its next answer is refused.
        try truncateAudit(c.county.db, to: countyHead.seq - 3)
        #expect(try AuditLog.verify(db: c.county.db).ok)
        try c.county.emitNote(to: "450223101")
        let inbox = try t.inbox().count
        let refused = #expect(throws: YKTError.self) { try c.pull("450223101") }
        #expect(refused?.code == .syncAudit)
        #expect(try t.inbox().count == inbox)
        #expect(try t.countyAnchors() == after)
        #expect(try t.db.integer("SELECT count(*) FROM audit WHERE action = 'audit.anchor.refused'") == 1)
    }
}

extension County {
    /// A pull as `ykt sync` makes it: each request names the last county anchor the township holds.
    func pullAnchored(_ code: String) throws -> Int {
        try townships[code]!.pull { after, anchor in
            let a = county.stream(peer: code, after: after, anchor: anchor)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }
}

extension CountyNode {
    /// Puts one message on `node`'s stream (a kind the township stores and otherwise ignores).
    func emitNote(to node: String) throws {
        try perform("test.emit", object: "township/\(node)") {
            try emit(to: node, kind: "test.note", data: ["note": .string("x")])
        }
    }
}
