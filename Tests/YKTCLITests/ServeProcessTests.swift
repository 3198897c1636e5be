import Foundation
import Testing
import YKTNode
import YKTCore
import YKTCrypto
import YKTNet
import YKTSync
@testable import YKTTownship
#if canImport(Glibc)
import Glibc
#endif

/// The county as a real `ykt serve` process on 127.0.0.1 (OS-chosen port), and the refusals it
/// promises, each sent over real mutual TLS from a township's certificate.
@Suite("ykt serve, a real county process, and its refusals")
struct ServeProcessTests {
    static let pkiScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("certs/make-dev-pki.sh").path

    @Test("a second sync of one node while the first runs is refused clearly; the lock goes with its process")
    func oneSyncAtATime() throws {
        let cli = CLI()
        let pki = try Self.makePKI(cli)
        #expect(try cli.run("init", "--township", "450223101", "--name", "寨沙镇").status == 0)
        try Self.appendLines(cli.path("node/node.conf"), ["tls_certificate = \(pki)/450223101.crt", "tls_key = \(pki)/450223101.key",
                                                     "tls_ca = \(pki)/ca.crt"])
        // Another process's sync holds the node's lock (flock is per open file, so this one counts).
        let fd = open(cli.path("node/sync.lock"), O_RDWR | O_CREAT, 0o600)
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        let busy = try cli.run("sync", "--county", "127.0.0.1:9")
        #expect(busy.status != 0 && busy.stderr.contains("YKT-SYNC-BUSY"))
        flock(fd, LOCK_UN)
        close(fd)
        // Free again: this sync gets as far as the network (nothing listens on port 9).
        let free = try cli.run("sync", "--county", "127.0.0.1:9")
        #expect(free.status != 0 && !free.stderr.contains("YKT-SYNC-BUSY"))
    }

    @Test("tampered, replayed, gapped, forked, unknown-version, oversized, TLS 1.2 and stalled: all refused; SIGTERM stops it")
    func refusals() throws {
        let served = try ServedCounty()
        let (cli, pki, county, town, serve, port) = (served.cli, served.pki, served.county, served.town, served.serve, served.port)
        defer { served.stop() }
        #expect(try cli.run("beneficiary", "add", "--id", ResidentID.completing("45022319500101123"), "--name", "韦秀英",
                            "--village", "大塘村", "--bank", "农行", "--account", AccountNumber.completingLuhn("622848000000000001"),
                            "--confirmation", "QR").status == 0)

        let client = try TLSContext(role: .client, files: TLSContext.Files(
            certificate: "\(pki)/450223101.crt", privateKey: "\(pki)/450223101.key", caCertificate: "\(pki)/ca.crt"))
        func post(_ bytes: [UInt8], _ signature: [UInt8]) throws -> HTTPResponse {
            try TLSClient.send(HTTPRequest(method: "POST", path: "/v1/changesets", headers: ["x-ykt-signature": Hex.encode(signature)],
                                           body: bytes), port: port, context: client).response
        }
        func code(_ r: HTTPResponse) -> String? { try? JSONValue.parse(r.body)["code"]?.stringValue }

        let node = try TownshipNode.open(directory: town)
        let set = try #require(try node.nextChangeSet())
        let signer = try NodeKey.load(from: town)

        // A byte of the body: the signed header's body-sha256 no longer matches, so the body
        // is refused after it was read, and nothing of it applied.
        var flipped = set.set.bytes
        flipped[set.set.bodyOffset + 5] ^= 0x20
        let tampered = try post(flipped, set.signature)
        #expect(tampered.status == 400 && code(tampered) == "YKT-SYNC-BODY")
        // A byte of the signed header: the signature fails before the body is read.
        var header = set.set.bytes   // a digit of the signed body-sha256
        header[set.set.bodyOffset - 3] = header[set.set.bodyOffset - 3] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        let tamperedHeader = try post(header, set.signature)
        #expect(tamperedHeader.status == 403 && code(tamperedHeader) == "YKT-SYNC-SIGNATURE")

        let ok = try post(set.set.bytes, set.signature)
        #expect(ok.status == 200)
        let replay = try post(set.set.bytes, set.signature)
        #expect(replay.status == 200 && replay.body == ok.body)

        let gap = ChangeSet.build(node: "450223101", keyID: set.set.header.keyID, seq: 3, prev: set.set.hash, operations: [], audit: .genesis)
        let gapAnswer = try post(gap.bytes, try signer.sign(ChangeSet.signedPart(of: gap.bytes)))
        #expect(gapAnswer.status == 409 && code(gapAnswer) == "YKT-SYNC-GAP")
        #expect(try JSONValue.parse(gapAnswer.body)["resumeSeq"]?.intValue == 2)

        let fork = ChangeSet.build(node: "450223101", keyID: set.set.header.keyID, seq: 1, prev: ChangeSet.genesisHash, operations: [], audit: .genesis)
        let forkAnswer = try post(fork.bytes, try signer.sign(ChangeSet.signedPart(of: fork.bytes)))
        #expect(forkAnswer.status == 409 && code(forkAnswer) == "YKT-SYNC-FORK")

        let v9 = Array(String(decoding: gap.bytes, as: UTF8.self).replacingOccurrences(of: "YKT-CHANGESET/\(ChangeSet.formatVersion)", with: "YKT-CHANGESET/9").utf8)
        let version = try post(v9, try signer.sign(ChangeSet.signedPart(of: v9)))
        #expect(version.status == 400 && code(version) == "YKT-SYNC-VERSION")
        #expect(String(decoding: version.body, as: UTF8.self).contains("9") && String(decoding: version.body, as: UTF8.self).contains("\(ChangeSet.formatVersion)"))

        let big = try TLSClient.send(HTTPRequest(method: "POST", path: "/v1/changesets",
                                                 headers: ["x-pad": String(repeating: "a", count: 20_000)]), port: port, context: client)
        #expect(big.response.status == 431)

        let old = try TLSContext(role: .client, files: TLSContext.Files(
            certificate: "\(pki)/450223101.crt", privateKey: "\(pki)/450223101.key", caCertificate: "\(pki)/ca.crt"), tls12ForTesting: true)
        #expect(throws: (any Error).self) { try TLSClient.send(HTTPRequest(method: "GET", path: "/"), port: port, context: old) }

        // A client that connects and says nothing is dropped after the county's 1 s timeout.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(connected == 0)
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let started = Date()
        var byte: UInt8 = 0
        #expect(recv(fd, &byte, 1, 0) <= 0)
        #expect(Date().timeIntervalSince(started) < 4)
        close(fd)

        // Only the one valid change set was applied.
        let totals = try cli.run("county", "totals", "--json", "--node", county)
        #expect(totals.stdout.contains("\"operations\" : 1"))

        serve.terminate()   // SIGTERM
        serve.waitUntilExit()
        #expect(serve.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: county + "/serve.port"))
    }

    @Test("a county out of file descriptors (EMFILE on accept) goes on serving once some are free")
    func descriptorsExhausted() throws {
        // 48 descriptors: about a dozen for the server itself, two for each connection in its
        // handshake. Any number of handshakes may come from 127.0.0.1, so plain TCP connections
        // that never speak TLS take them all.
        let limit = 48
        let served = try ServedCounty(descriptorLimit: limit, config: ["max_pending_per_address = 1000"])
        defer { served.stop() }
        let (cli, port) = (served.cli, served.port)
        #expect(try cli.run("beneficiary", "add", "--id", ResidentID.completing("45022319500101123"), "--name", "韦秀英",
                            "--village", "大塘村", "--bank", "农行", "--account", AccountNumber.completingLuhn("622848000000000001"),
                            "--confirmation", "QR").status == 0)
        var idle: [Int32] = []
        defer { idle.forEach { close($0) } }
        for _ in 0..<limit { idle.append(try RawTLSClient.openTCP(host: "127.0.0.1", port: port, timeoutSeconds: 5)) }
        // The server accepts until it has no descriptor left (each connection is held until the
        // 1 s I/O timeout): wait, at most 5 s, to see every number below the limit in use.
        // On a loaded machine the accept loop may get its turn only later: wait, at most 10 s,
        // for its EMFILE to be in the log too.
        func refusedAccept() -> Bool { ((try? String(contentsOfFile: served.log, encoding: .utf8)) ?? "").contains("accept failed") }
        var exhausted = false
        for _ in 0..<1000 where !exhausted {
            exhausted = served.descriptorsExhausted(limit: limit) && refusedAccept()
            if !exhausted { usleep(10_000) }
        }
        #expect(exhausted, "the server never ran out of descriptors: \((try? String(contentsOfFile: served.log, encoding: .utf8)) ?? "")")
        idle.forEach { close($0) }
        idle = []
        // "Once some are free": the server notices the closed connections on its own time (on a
        // loaded machine, a second or more). Wait, at most 10 s, for a dozen numbers to be free.
        var free = 0
        for _ in 0..<1000 where free < 12 {
            free = served.descriptorsFree(limit: limit)
            if free < 12 { usleep(10_000) }
        }
        #expect(free >= 12, "the server never freed its descriptors")

        let sync = try cli.run("sync", "--county", "127.0.0.1:\(port)")
        #expect(sync.status == 0, "\(sync.stderr)\n\((try? String(contentsOfFile: served.log, encoding: .utf8)) ?? "")")
        let totals = try cli.run("county", "totals", "--json", "--node", served.county)
        #expect(totals.stdout.contains("\"operations\" : 1"))
    }

    /// The development PKI (county CA, county server, township 450223101) in `<cli>/pki`.
    static func makePKI(_ cli: CLI) throws -> String {
        let pki = cli.path("pki")
        let mk = Process()
        mk.executableURL = URL(fileURLWithPath: "/bin/bash")
        mk.arguments = [Self.pkiScript, pki, "450223101"]
        mk.standardOutput = FileHandle.nullDevice
        try mk.run()
        mk.waitUntilExit()
        #expect(mk.terminationStatus == 0)
        return pki
    }

    static func appendLines(_ path: String, _ lines: [String]) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
        try handle.close()
    }
}

/// A county (`ykt serve`, a real process, mutual TLS on an OS-chosen port, 1 s I/O timeout)
/// with township 450223101 enrolled, both nodes and the PKI in one `CLI` directory. Its log
/// (stderr) goes to `log`.
final class ServedCounty {
    let cli = CLI()
    let pki: String
    let county: String
    let town: String
    let serve = Process()
    let port: UInt16
    let log: String

    /// `descriptorLimit`, when given, is the server's `ulimit -n`; `config` adds lines to the
    /// county's node.conf.
    init(descriptorLimit: Int? = nil, config: [String] = []) throws {
        pki = try ServeProcessTests.makePKI(cli)
        county = cli.path("county")
        town = cli.path("node")
        #expect(try cli.run("init", "--role", "county", "--county", "450223", "--name", "鹿寨县", "--node", county).status == 0)
        try ServeProcessTests.appendLines(county + "/node.conf", ["tls_certificate = \(pki)/county.crt", "tls_key = \(pki)/county.key",
                                                                  "tls_ca = \(pki)/ca.crt", "io_timeout_seconds = 1",
                                                                  "listen = 127.0.0.1:0"] + config)
        #expect(try cli.run("init", "--township", "450223101", "--name", "寨沙镇").status == 0)
        let countyKey = try JSONSerialization.jsonObject(with: Data(try cli.run("key", "show", "--json", "--node", county).stdout.utf8))
            as? [String: Any]
        try ServeProcessTests.appendLines(town + "/node.conf", ["tls_certificate = \(pki)/450223101.crt", "tls_key = \(pki)/450223101.key",
                                                                "tls_ca = \(pki)/ca.crt",
                                                                "county_public_key = \(countyKey?["publicKey"] as? String ?? "")"])
        let key = try JSONSerialization.jsonObject(with: Data(try cli.run("key", "show", "--json").stdout.utf8)) as? [String: Any]
        #expect(try cli.run("township", "enrol", "--township", "450223101", "--name", "寨沙镇",
                            "--public-key", key?["publicKey"] as? String ?? "", "--node", county).status == 0)
        if let descriptorLimit {
            // The shell sets the limit and becomes `ykt serve` (same process id).
            serve.executableURL = URL(fileURLWithPath: "/bin/sh")
            serve.arguments = ["-c", "ulimit -n \(descriptorLimit) && exec \"$0\" serve --node \"$1\"", CLI.binary, county]
        } else {
            serve.executableURL = URL(fileURLWithPath: CLI.binary)
            serve.arguments = ["serve", "--node", county]
        }
        // Not the test's own stdout: a server outliving a crashed test would hold `swift test` open.
        log = cli.path("serve.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle(forWritingAtPath: log)
        try serve.run()
        var found: UInt16 = 0
        for _ in 0..<200 where found == 0 {
            if let text = try? String(contentsOfFile: county + "/serve.port", encoding: .utf8) { found = UInt16(text.trimmed) ?? 0 }
            if found == 0 { usleep(50_000) }
        }
        port = found
        #expect(port != 0)
    }

    func stop() {
        if serve.isRunning { serve.terminate() }
    }

    /// Whether every descriptor number below `limit` is open in the server, so that its next
    /// `accept` fails with EMFILE (with `ulimit -n` = `limit`).
    func descriptorsExhausted(limit: Int) -> Bool {
        descriptorsFree(limit: limit) == 0
    }

    /// How many descriptor numbers below `limit` the server is not using.
    func descriptorsFree(limit: Int) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(serve.processIdentifier)/fd")) ?? []
        let open = Set(names.compactMap { Int($0) })
        return (0..<limit).filter { !open.contains($0) }.count
    }
}
