import Foundation
import Testing
import YKTCore
import YKTTestSupport
import YKTCounty
import YKTCrypto
@testable import YKTNet
import YKTStore
import YKTSync
import YKTTownship
@testable import YKTTransport

/// A change set sent while the one before it is applied (docs/protocol.md, "Two change sets in
/// flight"): staged beside that one's apply, applied only once that one is taken. Real TLS on
/// loopback, the service in-process; the county's database is held by another connection, as
/// another `ykt` process would hold it, so that the first change set waits in its apply.
@Suite("Two change sets in flight", .serialized)
struct InFlightTests {
    static let code = "450223101"

    /// Change sets 1…`count` of `code`, `each` operations apiece, as request heads and bytes.
    func requests(_ net: SyncNetwork, count: Int, each: Int) throws -> [(head: [UInt8], bytes: [UInt8])] {
        let node = net.townships[Self.code]!
        var out: [(head: [UInt8], bytes: [UInt8])] = []
        for seq in 1...count {
            let built = try #require(try node.nextChangeSet(maxOperations: each, after: Int64(seq - 1)))
            #expect(built.set.header.seq == Int64(seq))
            let head = "POST \(SyncProtocol.changeSetsPath) HTTP/1.1\r\n\(SyncProtocol.signatureHeader): \(Hex.encode(built.signature))\r\n"
                + "content-length: \(built.set.bytes.count)\r\n\r\n"
            out.append((Array(head.utf8), built.set.bytes))
        }
        return out
    }

    /// Sends `request` on a new connection and leaves it to be answered.
    func send(_ net: SyncNetwork, _ request: (head: [UInt8], bytes: [UInt8])) throws -> TLSConnection {
        let c = try net.connect(Self.code)
        try c.write(request.head + request.bytes)
        return c
    }

    /// Reads an answer on `c` up to the end of its JSON body (at most 5 s), leaving the
    /// connection open.
    func answer(_ c: TLSConnection) -> String {
        var all: [UInt8] = []
        let until = Date().addingTimeInterval(5)
        while Date() < until, all.last != UInt8(ascii: "}") {
            guard let chunk = try? c.read(max: 16 * 1024), !chunk.isEmpty else { break }
            all += chunk
        }
        return String(decoding: all, as: UTF8.self)
    }

    /// A network whose township registered `people`, its change sets of `each` operations
    /// built (`count` of them), the county's database held by another connection (as another
    /// `ykt` process would hold it), and the first change set sent: it waits in its apply.
    func firstHeld(people: Int, count: Int, each: Int)
        throws -> (net: SyncNetwork, sets: [(head: [UInt8], bytes: [UInt8])], other: Database, first: TLSConnection) {
        let net = try SyncNetwork()
        try net.register(Self.code, count: people)
        let sets = try requests(net, count: count, each: each)
        let other = try net.otherConnection()
        try other.execute("BEGIN IMMEDIATE")
        let first = try send(net, sets[0])
        usleep(300_000)
        return (net, sets, other, first)
    }

    func logFields(_ net: SyncNetwork, seq: Int) -> [[String: String]] {
        net.log.filter { $0.message == "request" }
            .map { Dictionary($0.metadata, uniquingKeysWith: { a, _ in a }) }
            .filter { $0["seq"] == String(seq) }
    }

    @Test("the second change set is staged while the first waits for the database, and applied right after it")
    func secondStagedDuringFirst() throws {
        let (net, sets, other, first) = try firstHeld(people: 4, count: 2, each: 2)
        let second = try send(net, sets[1])
        // The second is admitted and staged without the database, behind the first.
        let bodies = Int64(try sets.map { try ChangeSet.readHeader($0.bytes).header.bodyBytes }.reduce(0, +))
        let evidence = net.dir + "/county/evidence/\(Self.code).body"
        #expect(eventually { FileManager.default.fileSize(evidence) == bodies },
                "evidence \(FileManager.default.fileSize(evidence) ?? -1) bytes, not both bodies (\(bodies))")
        #expect(try other.integer("SELECT count(*) FROM upstream") == 0)
        try other.execute("COMMIT")
        let one = drain(first), two = drain(second)
        #expect(one.hasPrefix("HTTP/1.1 200"), "\(one)")
        #expect(two.hasPrefix("HTTP/1.1 200"), "\(two)")
        #expect(try other.integer("SELECT count(*) FROM upstream WHERE node_id = ?", Self.code) == 2)
        #expect(try other.integer("SELECT count(*) FROM resident") == 4)
        #expect(eventually { logFields(net, seq: 2).first?["behind"] == "1" }, "\(logFields(net, seq: 2))")
        #expect(logFields(net, seq: 1).first?["behind"] == nil)
        // Sent again by the township (it never read those answers): replays, answered with the
        // stored receipts, nothing applied twice.
        #expect(try net.sync(Self.code).accepted == 4)
        #expect(try other.integer("SELECT count(*) FROM upstream WHERE node_id = ?", Self.code) == 2)
    }

    @Test("the first refused (its township disabled meanwhile): the second, staged behind it, is refused too and nothing of either applied; once enabled, both are taken and the stray bytes cut off")
    func firstRefusedSecondRefused() throws {
        let (net, sets, other, first) = try firstHeld(people: 4, count: 2, each: 2)
        let second = try send(net, sets[1])
        usleep(300_000)
        try other.run("UPDATE township SET disabled_at = '2026-12-04T08:00:00+08:00', disabled_reason = '核查中' WHERE node_id = ?", Self.code)
        try other.execute("COMMIT")
        let one = drain(first), two = drain(second)
        #expect(one.hasPrefix("HTTP/1.1 403") && one.contains("YKT-SYNC-DISABLED"), "\(one)")
        #expect(two.hasPrefix("HTTP/1.1 403") && two.contains("YKT-SYNC-DISABLED"), "\(two)")
        #expect(try other.integer("SELECT count(*) FROM upstream") == 0)
        #expect(try other.integer("SELECT count(*) FROM resident") == 0)
        try other.run("UPDATE township SET disabled_at = NULL, disabled_reason = NULL WHERE node_id = ?", Self.code)
        let report = try net.sync(Self.code)
        #expect(report.accepted == 4 && report.changeSets == 2)
        #expect(try other.integer("SELECT count(*) FROM resident") == 4)
        // The evidence file ends where the database says the last body ends.
        let end = try other.integer("SELECT max(body_offset + body_bytes) FROM upstream WHERE node_id = ?", Self.code)
        #expect(FileManager.default.fileSize(net.dir + "/county/evidence/\(Self.code).body") == end)
    }

    @Test("behind a change set being applied only the very next one is taken: a replay of it, or one further on, is answered busy (429)")
    func onlyTheNextOneFollows() throws {
        let (net, sets, other, first) = try firstHeld(people: 3, count: 3, each: 1)
        // Read up to the answer's JSON body only: the connection stays open for another request.
        let replay = answer(try send(net, sets[0]))
        #expect(replay.hasPrefix("HTTP/1.1 429") && replay.contains("YKT-SYNC-BUSY"), "\(replay)")
        let further = answer(try send(net, sets[2]))
        #expect(further.hasPrefix("HTTP/1.1 429") && further.contains("YKT-SYNC-BUSY"), "\(further)")
        try other.execute("COMMIT")
        #expect(drain(first).hasPrefix("HTTP/1.1 200"))
        #expect(try other.integer("SELECT count(*) FROM upstream WHERE node_id = ?", Self.code) == 1)
        // The township sends all three (the first's receipt comes again, as a replay's).
        #expect(try net.sync(Self.code).accepted == 3)
        #expect(try other.integer("SELECT count(*) FROM upstream WHERE node_id = ?", Self.code) == 3)
        #expect(try other.integer("SELECT count(*) FROM resident") == 3)
    }

    @Test("a county that takes one change set at a time (the one sent behind answered busy) gets them all, in order, each once")
    func busyFollowerSentAgain() throws {
        let net = try SyncNetwork()
        try net.register(Self.code, count: 5)
        let node = net.townships[Self.code]!
        final class Counter { var open = 0; var sent: [Int64] = [] }
        let counter = Counter()
        let report = try node.pushPipelined(maxOperations: 1) { bytes, signature in
            counter.sent.append(try ChangeSet.readHeader(bytes).header.seq)
            // Refused at once, nothing read, while another is unanswered.
            if counter.open > 0 {
                return TownshipNode.Sending(sent: {}) {
                    TownshipNode.CountyAnswer(status: 429, body: Array(#"{"code":"YKT-SYNC-BUSY","message":"busy"}"#.utf8), signature: nil)
                }
            }
            counter.open += 1
            let a = net.county.receive(peer: Self.code, bytes: bytes, signature: signature)
            return TownshipNode.Sending(sent: {}) {
                counter.open -= 1
                return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature, keyID: a.keyID, keyChain: a.keyChain)
            }
        }
        #expect(report.accepted == 5 && report.changeSets == 5)
        // Each one after the first went behind the one before, was refused, and went again.
        #expect(counter.sent.filter { $0 == 1 }.count == 1 && counter.sent.filter { $0 == 5 }.count == 2, "\(counter.sent)")
        #expect(try net.county.db.integer("SELECT count(*) FROM upstream WHERE node_id = ?", Self.code) == 5)
        #expect(try net.county.db.integer("SELECT count(*) FROM resident") == 5)
    }

    @Test("a push large enough to send change sets behind each other over TLS is taken whole")
    func pipelinedPushOverTLS() throws {
        let net = try SyncNetwork()
        // The first change set of a push holds 2,048 operations (about 900 kB, sent on a thread
        // of its own); the rest follow it.
        try net.register(Self.code, count: 2_400)
        let report = try net.sync(Self.code)
        #expect(report.accepted == 2_400 && report.changeSets == 2)
        let other = try net.otherConnection()
        #expect(try other.integer("SELECT count(*) FROM resident") == 2_400)
        #expect(try other.integer("SELECT count(*) FROM upstream WHERE node_id = ?", Self.code) == 2)
        #expect(try net.sync(Self.code).accepted == 0)
    }
}

extension FileManager {
    func fileSize(_ path: String) -> Int64? {
        (try? attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
    }
}
