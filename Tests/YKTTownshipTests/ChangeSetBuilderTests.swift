import Foundation
import Testing
import YKTNode
import YKTCore
import YKTCrypto
import YKTSync
@testable import YKTTownship

@Suite("From the outbox to signed change sets")
struct ChangeSetBuilderTests {
    @Test("init makes a private signing key (0600) whose public half verifies the node's change sets")
    func key() throws {
        let dir = TempDir()
        let node = try Fixture.node(dir)
        let path = node.directory + "/signing.key"
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        #expect(try node.publicKey().raw.count == 32)
        // The audit trail names the key id, never the key.
        let seed = Hex.encode(try NodeKey.load(from: node.directory).seed)
        #expect(try AuditLog.entries(db: node.db).allSatisfy { !$0.detail.contains(seed) })
    }

    @Test("pending operations become a chain of signed change sets the county's checks accept")
    func chain() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)   // 3 operations
        try node.edit(try ResidentID(Fixture.alice), BeneficiaryEdit(phone: "13900139000"))   // 4
        var registry = KeyRegistry()
        registry.register(node: node.config.nodeID, key: try node.publicKey())
        var position = StreamPosition()

        let first = try #require(try node.nextChangeSet(maxOperations: 3))
        #expect(first.set.header.seq == 1 && first.firstOp == 1 && first.lastOp == 3)
        // Not acknowledged yet: asked again, the same bytes come back, and nothing new is built.
        let again = try #require(try node.nextChangeSet(maxOperations: 3))
        #expect(again.set.bytes == first.set.bytes && again.signature == first.signature)
        #expect(try node.storedChangeSets().count == 1)

        guard case .apply(let received) = try ChangeSetReceiver.check(
            bytes: first.set.bytes, signature: first.signature, peerNode: node.config.nodeID,
            registry: registry, position: position) else { Issue.record("expected apply"); return }
        #expect(try received.operations().map { $0["id"]?.stringValue } == ["450223101-1", "450223101-2", "450223101-3"])
        position.advance(to: received)
        try node.db.run("UPDATE changeset_out SET state = 'acknowledged' WHERE seq = 1")

        let second = try #require(try node.nextChangeSet(maxOperations: 3))
        #expect(second.set.header.seq == 2 && second.firstOp == 4 && second.lastOp == 4)
        #expect(second.set.header.prev == first.set.hash)
        guard case .apply = try ChangeSetReceiver.check(
            bytes: second.set.bytes, signature: second.signature, peerNode: node.config.nodeID,
            registry: registry, position: position) else { Issue.record("expected apply"); return }
        // States follow from the change sets: the first is acknowledged, the second is not.
        #expect(try node.outbox().map(\.state) == ["accepted", "accepted", "accepted", "batched"])
        #expect(try node.outbox(state: "batched").map(\.seq) == [4])
        try node.db.run("UPDATE changeset_out SET state = 'acknowledged' WHERE seq = 2")
        #expect(try node.nextChangeSet() == nil)
    }
}

extension TownshipNode.StoredChangeSet: Equatable {
    public static func == (a: Self, b: Self) -> Bool { a.set.bytes == b.set.bytes && a.signature == b.signature }
}

@Suite("What a county answer without a code means")
struct AnswerStatusTests {
    @Test("busy (503, 429) and slow (408) are reasons to retry, not program faults")
    func statuses() {
        #expect(TownshipNode.code(forStatus: 503) == .syncBusy)
        #expect(TownshipNode.code(forStatus: 429) == .syncBusy)
        #expect(TownshipNode.code(forStatus: 408) == .syncTimeout)
        #expect(TownshipNode.code(forStatus: 408).exitStatus == .retryable)
        #expect(TownshipNode.code(forStatus: 500) == .internalError)
    }
}
