import Foundation
import Testing
import YKTCore
import YKTTestSupport
import YKTCounty
import YKTCrypto
import YKTNet
import YKTNode
import YKTStore
import YKTSync
import YKTTownship
import YKTTransport
#if canImport(Glibc)
import Glibc
#endif

/// Whether `condition` holds within `seconds`, looking every 10 ms (for what another thread logs).
func eventually(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let until = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > until { return false }
        usleep(10_000)
    }
    return true
}

/// Keys cut off and rotated, and the CRL, over real mutual TLS on loopback (issue 15, item 6).
@Suite("Keys and CRL over the network", .serialized)
struct KeyNetworkTests {
    /// `code`'s node reopened with `tls_crl` in its node.conf (as an administrator would set it).
    func withCRL(_ net: SyncNetwork, _ code: String, crl: String) throws -> TownshipNode {
        let node = net.townships[code]!
        var config = node.config
        config.extra["tls_crl"] = crl
        try config.text.write(toFile: node.directory + "/" + NodeConfig.fileName, atomically: true, encoding: .utf8)
        return try TownshipNode.open(directory: node.directory)
    }

    @Test("a township disabled by another process is refused by the running server at once, before its body, with YKT-SYNC-DISABLED in the log")
    func disabledBeforeBody() throws {
        let net = try SyncNetwork()
        try net.register("450223101", count: 2)
        try net.county.disable(township: "450223101", reason: "证书疑似被盗")   // another connection than the server's
        let built = try #require(try net.townships["450223101"]!.nextChangeSet())
        // The request head says a large body follows; only the head is sent.
        let head = "POST \(SyncProtocol.changeSetsPath) HTTP/1.1\r\n\(SyncProtocol.signatureHeader): \(Hex.encode(built.signature))\r\n"
            + "content-length: \(built.set.bytes.count + 50_000_000)\r\n\r\n"
        let c = try net.connect("450223101")
        try c.write(Array(head.utf8))
        let started = Date()
        let text = drain(c, seconds: 5)
        #expect(Date().timeIntervalSince(started) < 3, "the refusal waited for a body")
        #expect(text.hasPrefix("HTTP/1.1 403"), "\(text.prefix(80))")
        #expect(text.contains("YKT-SYNC-DISABLED"))
        #expect((#expect(throws: YKTError.self) { _ = try net.sync("450223101") })?.code == .syncDisabled)
        #expect(eventually { net.log.contains { $0.metadata.contains { $0 == ("code", "YKT-SYNC-DISABLED") } } })
        // Another township is not touched; re-enabled, the first one syncs.
        try net.register("450223102", count: 1)
        #expect(try net.sync("450223102").accepted == 1)
        try net.county.enable(township: "450223101", reason: "已核实")
        #expect(try net.sync("450223101").accepted == 2)
    }

    @Test("township and county keys rotated (the county's by another process while serving) are taken over the network")
    func rotationsOverTheNetwork() throws {
        let net = try SyncNetwork()
        let town = net.townships["450223101"]!
        try net.register("450223101", count: 2)
        let township = try town.acting(TestOperators.administrator).rotateKey()
        let county = try net.county.acting(TestOperators.administrator).rotateKey()
        let report = try net.sync("450223101")
        #expect(report.accepted == 2)
        #expect(try town.publicKey().keyID == township.newKey.keyID && town.pendingKey() == nil)
        #expect(try town.trustedCountyKey().keyID == county.newKey.keyID)
        try net.register("450223101", count: 1, first: 10)
        #expect(try net.sync("450223101").accepted == 1)
        #expect(try net.townships["450223101"]!.storedChangeSets().last?.set.header.keyID == township.newKey.keyID)
    }

    @Test("a certificate revoked in a CRL written after the server started is refused on the next connection, without a restart")
    func crlReloaded() throws {
        let net = try SyncNetwork(crl: true)
        try net.register("450223101", count: 1)
        #expect(try net.sync("450223101").accepted == 1)
        let loads = net.server.tls.crlLoads
        try SyncNetwork.script(["revoke", net.pki, "450223101"])
        try net.register("450223101", count: 1, first: 5)
        do { _ = try net.sync("450223101"); Issue.record("a revoked certificate synced") } catch let e as YKTError {
            #expect(e.code == .syncCertificate, "\(e)")
        }
        #expect(net.server.tls.crlLoads == loads + 1)
        // The server writes its refusal once the handshake thread ends, which may be after the client gave up.
        #expect(eventually { net.log.contains { $0.message.contains("revoked") } }, "\(net.log.map(\.message))")
        // Others go on; the CRL is not read again while it stays the same.
        try net.register("450223102", count: 1)
        #expect(try net.sync("450223102").accepted == 1)
        #expect(net.server.tls.crlLoads == loads + 1)
        // SIGHUP's reload reads it whether or not it changed.
        try net.server.reloadCRL()
        #expect(net.server.tls.crlLoads == loads + 2)
    }

    @Test("an expired CRL is a clear error: the server does not start, a running server refuses every connection, a township does not sync")
    func crlExpired() throws {
        let net = try SyncNetwork(crl: true)
        try net.register("450223101", count: 1)
        try SyncNetwork.script(["crl-expired", net.pki])
        // A running server: every connection refused, the reason in its log.
        #expect(throws: YKTError.self) { _ = try net.sync("450223101") }
        #expect(eventually { net.log.contains { $0.message.contains("expired") && $0.message.contains("gencrl") } },
                "\(net.log.map(\.message))")
        #expect((#expect(throws: YKTError.self) { try net.server.reloadCRL() })?.code == .crlExpired)
        // A server started on it: refused at start, saying what to do.
        let refused = #expect(throws: YKTError.self) {
            _ = try CountyServer(county: try CountyNode.open(directory: net.dir + "/county"), host: "127.0.0.1", port: 0)
        }
        #expect(refused?.code == .crlExpired)
        #expect(refused?.hint?.contains("openssl ca -gencrl") == true)
        #expect(refused?.location?.file == net.pki + "/ca.crl")
        // A township with the expired CRL does not sync.
        let town = try withCRL(net, "450223101", crl: net.pki + "/ca.crl")
        #expect((#expect(throws: YKTError.self) { _ = try TownshipSync(node: town, county: net.address).round() })?.code == .crlExpired)
        // The context `ykt sync` starts while the node opens says the same, before any round
        // (the scheduled sync stops there), and so does the round that waits for it.
        let early = try #require(TownshipSync.startContext(directory: town.directory))
        let sync = try TownshipSync(node: town, county: net.address, context: early)
        #expect((#expect(throws: YKTError.self) { try sync.contextReady() })?.code == .crlExpired)
        #expect((#expect(throws: YKTError.self) { _ = try sync.round() })?.code == .crlExpired)
        #expect(TownshipSync.startContext(directory: net.dir + "/no-such-node") == nil)
        // A fresh CRL, and the running server serves again without a restart.
        try SyncNetwork.script(["revoke", net.pki, "450223102"])
        #expect(try net.sync("450223101").accepted == 1)
    }

    @Test("a township refuses a county whose certificate its CRL revokes")
    func townshipChecksCountyCertificate() throws {
        let net = try SyncNetwork()
        try net.register("450223101", count: 1)
        let town = try withCRL(net, "450223101", crl: net.pki + "/ca.crl")
        #expect(try TownshipSync(node: town, county: net.address).round().accepted == 1)
        try SyncNetwork.script(["revoke", net.pki, "county"])
        try net.register("450223101", count: 1, first: 5)
        let e = #expect(throws: YKTError.self) { _ = try TownshipSync(node: town, county: net.address).round() }
        #expect(e?.code == .syncCertificate)
        #expect(e?.message.contains("吊销") == true, "\(e?.message ?? "")")
        #expect(try town.outbox().filter { $0.state == "accepted" }.count == 1)
    }
}
