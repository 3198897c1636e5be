import Foundation
import YKTCore
import YKTTestSupport
import YKTCounty
import YKTCrypto
import YKTDemo
import YKTNet
import YKTNode
import YKTStore
import YKTSync
import YKTTownship
import YKTTransport

/// A county served in-process over real mutual TLS on 127.0.0.1 (port chosen by the OS), with
/// townships as real node directories and a development PKI from `certs/make-dev-pki.sh`.
/// Short limits, so the rules about time show within seconds.
final class SyncNetwork: @unchecked Sendable {
    // Safe: set up in init; the log lines are guarded by `lock`.
    let dir = NSTemporaryDirectory() + "ykt-net-" + UUID().uuidString
    let county: CountyNode
    let server: CountyServer
    var townships: [String: TownshipNode] = [:]
    private let lock = NSLock()
    private var lines: [ServerLogLine] = []

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    var pki: String { dir + "/pki" }
    var port: UInt16 { server.port }
    var address: String { "127.0.0.1:\(server.port)" }
    var log: [ServerLogLine] { lock.withLock { lines } }

    init(_ codes: [String] = ["450223101", "450223102"], limits: [String: String] = [:], crl: Bool = false,
         revoke: [String] = []) throws {
        let (dir, pki) = (self.dir, self.dir + "/pki")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.script([pki] + codes)
        for code in revoke { try Self.script(["revoke", pki, code]) }
        var config = NodeConfig(role: .county, nodeID: "450223", name: "鹿寨县", countyCode: "450223", defaultOperator: "县管理员")
        config.extra = ["tls_certificate": "\(pki)/county.crt", "tls_key": "\(pki)/county.key", "tls_ca": "\(pki)/ca.crt",
                        "io_timeout_seconds": "1", "handshake_deadline_seconds": "1", "header_deadline_seconds": "2",
                        "min_body_bytes_per_second": "20000"].merging(limits) { $1 }
        if crl { config.extra["tls_crl"] = "\(pki)/ca.crl" }
        county = try CountyNode.create(directory: dir + "/county", config: config)
        try county.actAs(TestOperators.administrator)
        let programs = dir + "/programs.csv"
        try CountyGenerator.programsCSV.write(toFile: programs, atomically: true, encoding: .utf8)
        // The county's calendar: the standard 2025–2026 arrangement, pulled by every township.
        try WorkCalendar.builtInTSV.write(toFile: dir + "/cn-holidays.tsv", atomically: true, encoding: .utf8)
        try county.publishCalendar(path: dir + "/cn-holidays.tsv")
        for code in codes {
            var t = NodeConfig(role: .township, nodeID: code, name: "乡镇\(code.suffix(3))", countyCode: "450223", defaultOperator: "经办人")
            t.extra = ["county_public_key": Hex.encode(try county.publicKey().raw), "tls_certificate": "\(pki)/\(code).crt",
                       "tls_key": "\(pki)/\(code).key", "tls_ca": "\(pki)/ca.crt"]
            let node = try TownshipNode.create(directory: dir + "/" + code, config: t)
            try node.actAs("tester", .clerk, .leader)
            try node.loadLocalPrograms(path: programs)
            try county.enrol(township: code, name: t.name, publicKeyHex: Hex.encode(try node.publicKey().raw))
            _ = try node.pull { [county] after in
                let a = county.stream(peer: code, after: after)
                return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
            }
            townships[code] = node
        }
        server = try CountyServer(county: try CountyNode.open(directory: dir + "/county"), host: "127.0.0.1", port: 0)
        // Weak: the server is ours, so a strong capture would keep both alive, serving, after the test.
        server.server.log = { [weak self, lock] line in lock.withLock { self?.lines.append(line) } }
        server.start()
    }

    deinit {
        server.stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    static func script(_ args: [String]) throws { try TestPKI.script(args) }

    /// Registers `count` residents at `code` (IDs from `first`), as a clerk would.
    func register(_ code: String, count: Int, first: Int = 1) throws {
        let node = townships[code]!
        let t = Int(code.suffix(3))!
        for i in first..<(first + count) {
            let id = ResidentID.completing(String(format: "450223%04d0101%03d", 1900 + (t % 5) * 20 + i / 1_000, i % 1_000))
            let card = AccountNumber.completingLuhn(String(format: "6228%03d%011d", t, i))
            try node.register(BeneficiaryInput(residentID: try ResidentID(id), name: "韦秀英", village: "大塘村",
                                               account: AccountInput(bank: "农行", number: try AccountNumber(card, kind: .card),
                                                                     confirmation: "QR")))
        }
    }

    func sync(_ code: String) throws -> TownshipNode.PushReport {
        try TownshipSync(node: townships[code]!, county: address).round()
    }

    /// A raw client connection with `code`'s certificate, handshake done.
    func connect(_ code: String, bind: String? = nil) throws -> TLSConnection {
        try TLSClient.connect(host: "127.0.0.1", port: port, context: try TLSContext(role: .client, files: TLSContext.Files(
            certificate: "\(pki)/\(code).crt", privateKey: "\(pki)/\(code).key", caCertificate: "\(pki)/ca.crt")), source: bind)
    }

    /// The county's database seen from another connection (as another `ykt` process sees it).
    func otherConnection() throws -> Database { try Database(path: dir + "/county/county.db", busyTimeoutMilliseconds: 1_500) }
}

/// A value handed to one other thread and used there only (the test's own discipline).
final class Handed<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Reads what comes back on `c` until the server closes it (at most `seconds`).
func drain(_ c: TLSConnection, seconds: Double = 10) -> String {
    var all: [UInt8] = []
    let until = Date().addingTimeInterval(seconds)
    while Date() < until {
        guard let chunk = try? c.read(max: 16 * 1024), !chunk.isEmpty else { break }
        all += chunk
    }
    return String(decoding: all, as: UTF8.self)
}
