import Foundation
import YKTConsole
import YKTCore
import YKTCounty
import YKTCrypto
import YKTDemo
import YKTNet
import YKTNode
import YKTTestSupport
import YKTTownship

/// Real nodes for console tests: a county (with a development PKI, so its console serves TLS)
/// and a township enrolled at it, with the county's calendar and policy list pulled, and people
/// with roles (`TestOperators`: password `TestOperators.password`). The consoles run in-process
/// on ports the OS chooses, on a set clock.
final class ConsoleFixture {
    let dir = ConsoleTempDir()
    let county: CountyNode
    let township: TownshipNode
    var servers: [ConsoleServer] = []
    /// The consoles' clock: 09:00 China time on `today`.
    let clock: @Sendable () -> Date

    init(today: String = "2026-03-02") throws {
        let instant = try CivilDate(parsing: today).instantInChina(hour: 9)
        clock = { instant }
        let pki = dir.file("pki")
        try Self.script([pki, "450223101"])
        var countyConfig = NodeConfig(role: .county, nodeID: "450223", name: "鹿寨县", countyCode: "450223", defaultOperator: "县管理员")
        countyConfig.extra = ["tls_certificate": "\(pki)/county.crt", "tls_key": "\(pki)/county.key", "tls_ca": "\(pki)/ca.crt"]
        county = try CountyNode.create(directory: dir.file("county"), config: countyConfig)
        try county.actAs(TestOperators.administrator)
        try county.publishCalendar(path: dir.write("cn-holidays.tsv", WorkCalendar.builtInTSV))
        try county.publishPolicy(path: dir.write("programs.csv", CountyGenerator.programsCSV))
        var config = NodeConfig(role: .township, nodeID: "450223101", name: "寨沙镇", countyCode: "450223", defaultOperator: "测试员")
        config.extra["county_public_key"] = Hex.encode(try county.publicKey().raw)
        township = try TownshipNode.create(directory: dir.file("township"), config: config)
        try township.actAs(TestOperators.administrator)
        try county.enrol(township: "450223101", name: "寨沙镇", publicKeyHex: Hex.encode(try township.publicKey().raw))
        try pull()
        township.now = clock
        county.now = clock
    }

    /// The township pulls the county's stream in-process (what `ykt sync` does over TLS).
    func pull() throws {
        _ = try township.pull { after in
            let a = self.county.stream(peer: self.township.config.nodeID, after: after)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }

    /// Starts the console of `node` and returns a browser pointed at it.
    func browser(_ node: any OperatorNode) throws -> ConsoleBrowser {
        let directory = node.config.role == .county ? county.directory : township.directory
        let server = try ConsoleServer(directory: directory, host: "127.0.0.1", port: 0, clock: clock)
        server.start()
        servers.append(server)
        var tls: TLSContext?
        if node.config.role == .county {
            let pki = dir.file("pki")
            tls = try TLSContext(role: .client, files: .init(certificate: "\(pki)/450223101.crt", privateKey: "\(pki)/450223101.key",
                                                             caCertificate: "\(pki)/ca.crt"))
        }
        return ConsoleBrowser(port: server.port, tls: tls)
    }

    deinit { for s in servers { s.stop() } }

    static func script(_ args: [String]) throws { try TestPKI.script(args) }
}
