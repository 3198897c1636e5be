import Foundation
import Testing
import YKTCrypto
@testable import YKTNet
#if canImport(Glibc)
import Glibc
#endif

/// A development PKI made by `certs/make-dev-pki.sh` in a temporary directory.
final class PKI {
    let dir: String
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("certs/make-dev-pki.sh").path

    init(_ townships: [String] = ["450223101", "450223102"]) throws {
        dir = NSTemporaryDirectory() + "ykt-pki-" + UUID().uuidString
        try PKI.run([dir] + townships)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    static func run(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script] + args
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw SocketError(call: "make-dev-pki.sh", errno: p.terminationStatus) }
    }

    func revoke(_ code: String) throws { try PKI.run(["revoke", dir, code]) }

    func files(_ name: String, crl: Bool = false) -> TLSContext.Files {
        TLSContext.Files(certificate: "\(dir)/\(name).crt", privateKey: "\(dir)/\(name).key",
                         caCertificate: "\(dir)/ca.crt", crl: crl ? "\(dir)/ca.crl" : nil)
    }
}

/// Counts requests that reached the handler (a refusal must never get that far).
final class Counter: @unchecked Sendable {
    // Safe: guarded by the lock.
    private let lock = NSLock()
    private var n = 0
    private var peers: [String] = []
    func hit(_ peer: String) { lock.withLock { n += 1; peers.append(peer) } }
    var count: Int { lock.withLock { n } }
    var lastPeer: String? { lock.withLock { peers.last } }
}

/// `body` run on a new thread, with its own (empty) OpenSSL error queue; `value` waits for what
/// it returns.
final class OnThread<T: Sendable>: @unchecked Sendable {
    // Safe: `result` is written once, by the thread, before `done` is signalled, and read after.
    private var result: T?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () -> T) {
        let thread = Thread { [self] in
            result = body()
            done.signal()
        }
        thread.start()
    }

    /// What `body` returned; nil if it has not returned within `seconds`. Call once.
    func value(within seconds: Double = 30) -> T? {
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        return result
    }
}

/// How a test server cuts a connection under TLS, without close_notify.
enum Cut: String, Sendable, CaseIterable {
    /// `shutdown(SHUT_RDWR)`: a TCP FIN.
    case fin
    /// `connect(AF_UNSPEC)`: the connection is dissolved with a TCP reset.
    case reset
}

/// Why a handshake fails in the queue tests.
enum HandshakeFailure: String, Sendable, CaseIterable {
    case tls12Client = "a TLS 1.2 client"
    case unknownCAClient = "a client certificate from an unknown CA"
}

/// What one side of a handshake saw: whether it failed, and whether its thread's OpenSSL error
/// queue was empty afterwards.
struct HandshakeSide: Sendable, Equatable {
    var failed: Bool
    var queueEmpty: Bool
}

@Suite("Mutual TLS 1.3 on loopback", .serialized)
struct TLSTests {
    func server(_ pki: PKI, crl: Bool = false, limits: HTTPLimits = HTTPLimits(), counter: Counter) throws -> TLSServer {
        let s = try TLSServer(context: try TLSContext(role: .server, files: pki.files("county", crl: crl)), limits: limits) { peer, request in
            counter.hit(peer)
            return HTTPResponse(status: 200, body: Array("\(peer):\(request.method) \(request.path) \(request.body.count)".utf8))
        }
        s.start()
        return s
    }

    /// A server with a 1 s I/O timeout and 1.5 s for the handshake and header, for the trickle tests.
    func deadlineServer(_ pki: PKI, counter: Counter) throws -> TLSServer {
        var limits = HTTPLimits()
        limits.ioTimeoutSeconds = 1
        limits.headerDeadlineSeconds = 1.5
        limits.handshakeDeadlineSeconds = 1.5
        return try server(pki, limits: limits, counter: counter)
    }

    @Test("a township and the county authenticate each other and exchange one request")
    func roundTrip() throws {
        let pki = try PKI()
        let counter = Counter()
        let s = try server(pki, counter: counter)
        defer { s.stop() }
        #expect(s.port != 0)
        let client = try TLSContext(role: .client, files: pki.files("450223101"))
        let body = [UInt8](repeating: 7, count: 300_000)
        let (response, peer) = try TLSClient.send(HTTPRequest(method: "POST", path: "/v1/changesets", body: body), port: s.port, context: client)
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "450223101:POST /v1/changesets 300000")
        #expect(peer == "450223")
        #expect(counter.lastPeer == "450223101")
    }

    /// What `openssl` itself reads from a key file: the DER of its PKCS #8 form.
    static func opensslDER(_ path: String) throws -> [UInt8] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["pkey", "-in", path, "-outform", "DER"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return [UInt8](data)
    }

    @Test("an Ed25519 key file is read from its fixed PKCS #8 layout, as openssl reads it; any other key goes to OpenSSL; a key not matching the certificate is refused")
    func ed25519KeyFile() throws {
        let pki = try PKI(["450223101"])
        for name in ["county", "450223101"] {
            let seed = try #require(TLSContext.ed25519Seed(pem: "\(pki.dir)/\(name).key"))
            let der = try Self.opensslDER("\(pki.dir)/\(name).key")
            #expect(der.count == 48 && Array(der.suffix(32)) == seed)
        }
        // The console's ECDSA P-256 key is not one: OpenSSL reads it, and the context loads.
        try PKI.run(["console", pki.dir])
        #expect(TLSContext.ed25519Seed(pem: "\(pki.dir)/console.key") == nil)
        _ = try TLSContext(role: .server, files: TLSContext.Files(certificate: "\(pki.dir)/console.crt", privateKey: "\(pki.dir)/console.key",
                                                                  caCertificate: "\(pki.dir)/console-ca.crt"), clientCertificates: false)
        // Nor is a key whose algorithm is another (X25519), one cut short, or a certificate.
        let x25519 = "\(pki.dir)/x25519.key"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["genpkey", "-algorithm", "x25519", "-out", x25519]
        try p.run()
        p.waitUntilExit()
        #expect(TLSContext.ed25519Seed(pem: x25519) == nil)
        let text = try String(contentsOfFile: "\(pki.dir)/county.key", encoding: .utf8)
        let cut = "\(pki.dir)/cut.key"
        var lines = text.split(separator: "\n").map(String.init)
        lines[1] = String(lines[1].prefix(20))
        try (lines.joined(separator: "\n") + "\n").write(toFile: cut, atomically: true, encoding: .utf8)
        #expect(TLSContext.ed25519Seed(pem: cut) == nil)
        #expect(TLSContext.ed25519Seed(pem: "\(pki.dir)/county.crt") == nil)
        #expect(throws: OpenSSLError.self) { try TLSContext(role: .client, files: TLSContext.Files(
            certificate: "\(pki.dir)/450223101.crt", privateKey: cut, caCertificate: "\(pki.dir)/ca.crt")) }
        // The county's key beside a township's certificate: read, and refused as not its key.
        let wrong = #expect(throws: OpenSSLError.self) { try TLSContext(role: .client, files: TLSContext.Files(
            certificate: "\(pki.dir)/450223101.crt", privateKey: "\(pki.dir)/county.key", caCertificate: "\(pki.dir)/ca.crt")) }
        #expect(wrong?.description.contains("private key") == true)
    }

    /// A handshake that must fail: `client` against a county serving with `serverPKI`'s
    /// certificate; nothing may reach the handler.
    func expectHandshakeRefused(server serverPKI: PKI, client: TLSContext) throws {
        let counter = Counter()
        let s = try server(serverPKI, counter: counter)
        defer { s.stop() }
        #expect(throws: (any Error).self) { try TLSClient.send(HTTPRequest(method: "GET", path: "/"), port: s.port, context: client) }
        #expect(counter.count == 0)
    }

    @Test("refused: a client certificate from an unknown CA")
    func unknownCA() throws {
        let pki = try PKI(), rogue = try PKI(["450223101"])
        try expectHandshakeRefused(server: pki, client: try TLSContext(role: .client, files: rogue.files("450223101")))
    }

    @Test("refused: an expired township certificate from the right CA")
    func expired() throws {
        let pki = try PKI()
        try PKI.run(["expired", pki.dir, "450223101"])
        try expectHandshakeRefused(server: pki, client: try TLSContext(role: .client, files: TLSContext.Files(
            certificate: "\(pki.dir)/450223101-expired.crt", privateKey: "\(pki.dir)/450223101-expired.key",
            caCertificate: "\(pki.dir)/ca.crt")))
    }

    @Test("refused: a server from an unknown CA (the township checks the county too)")
    func unknownServer() throws {
        let pki = try PKI(), rogue = try PKI([])
        try expectHandshakeRefused(server: rogue, client: try TLSContext(role: .client, files: pki.files("450223101")))
    }

    @Test("refused: a revoked township certificate (CRL); others still get in")
    func revoked() throws {
        let pki = try PKI()
        try pki.revoke("450223102")
        let counter = Counter()
        let s = try server(pki, crl: true, counter: counter)
        defer { s.stop() }
        #expect(throws: (any Error).self) {
            try TLSClient.send(HTTPRequest(method: "GET", path: "/"), port: s.port, context: try TLSContext(role: .client, files: pki.files("450223102")))
        }
        let ok = try TLSClient.send(HTTPRequest(method: "GET", path: "/"), port: s.port,
                                    context: try TLSContext(role: .client, files: pki.files("450223101")))
        #expect(ok.response.status == 200 && counter.count == 1)
    }

    @Test("refused: a TLS 1.2 client")
    func tls12() throws {
        let pki = try PKI()
        try expectHandshakeRefused(server: pki, client: try TLSContext(role: .client, files: pki.files("450223101"), tls12ForTesting: true))
    }

    @Test("refused: oversized header (431) and oversized body (413), before the handler")
    func oversized() throws {
        let pki = try PKI()
        let counter = Counter()
        var limits = HTTPLimits()
        limits.maximumHeaderBytes = 1024
        limits.maximumBodyBytes = 10_000
        let s = try server(pki, limits: limits, counter: counter)
        defer { s.stop() }
        let client = try TLSContext(role: .client, files: pki.files("450223101"))
        let big = try TLSClient.send(HTTPRequest(method: "GET", path: "/", headers: ["x-pad": String(repeating: "a", count: 4000)]),
                                     port: s.port, context: client)
        #expect(big.response.status == 431)
        let body = try TLSClient.send(HTTPRequest(method: "POST", path: "/", body: [UInt8](repeating: 1, count: 20_000)),
                                      port: s.port, context: client)
        #expect(body.response.status == 413)
        #expect(counter.count == 0)
    }

    @Test("refused with 400, before the handler: malformed request line, header line and Content-Length, a duplicate Content-Length or Host", arguments: [
        "GARBAGE\r\n\r\n",
        "POST /v1/changesets HTTP/1.1\r\nno colon here\r\n\r\n",
        "POST /v1/changesets HTTP/1.1\r\ncontent-length: -5\r\n\r\n",
        "POST /v1/changesets HTTP/1.1\r\ncontent-length: 2\r\n\r\nabcdef",
        // Two lengths (different, or the same twice) and two hosts: never legitimate.
        "POST /v1/changesets HTTP/1.1\r\ncontent-length: 0\r\nContent-Length: 3\r\n\r\nabc",
        "POST /v1/changesets HTTP/1.1\r\ncontent-length: 3\r\ncontent-length: 3\r\n\r\nabc",
        "GET /v1/changesets HTTP/1.1\r\nhost: a.example\r\nHost: b.example\r\n\r\n",
    ])
    func malformed(request: String) throws {
        let pki = try PKI()
        let counter = Counter()
        let s = try server(pki, counter: counter)
        defer { s.stop() }
        let client = try TLSContext(role: .client, files: pki.files("450223101"))
        let connection = try TLSConnection(context: client, fd: try Socket.connect(host: "127.0.0.1", port: s.port), server: false,
                                           timeoutSeconds: 5)
        try connection.write(Array(request.utf8))
        var answer: [UInt8] = []
        while true {
            let chunk = (try? connection.read(max: 4096)) ?? []
            if chunk.isEmpty { break }
            answer += chunk
        }
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 400"), "\(String(decoding: answer, as: UTF8.self))")
        #expect(counter.count == 0)
    }

    @Test("a client that trickles its request a byte at a time, each within the I/O timeout, is dropped at the header deadline")
    func trickled() throws {
        signal(SIGPIPE, SIG_IGN)   // writing to the connection the server dropped must not end the test process
        let (pki, counter) = (try PKI(), Counter())
        let s = try deadlineServer(pki, counter: counter)
        defer { s.stop() }
        let client = try TLSContext(role: .client, files: pki.files("450223101"))
        let connection = try TLSConnection(context: client, fd: try Socket.connect(host: "127.0.0.1", port: s.port), server: false,
                                           timeoutSeconds: 5)
        let started = Date()
        var dropped = false
        for byte in Array("POST /v1/changesets HTTP/1.1\r\nx-pad: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 40) {
            do { try connection.write([byte]) } catch { dropped = true; break }
            usleep(250_000)   // a byte every quarter second: well inside the 1 s I/O timeout
            if Date().timeIntervalSince(started) > 8 { break }
        }
        #expect(dropped)
        #expect(Date().timeIntervalSince(started) < 5)   // dropped at about 1.5 s, not after 40 bytes (10 s)
        #expect(counter.count == 0)
    }

    @Test("a handshake trickled in a byte at a time is ended at the header deadline")
    func trickledHandshake() throws {
        let (pki, counter) = (try PKI(), Counter())
        let s = try deadlineServer(pki, counter: counter)
        defer { s.stop() }
        let fd = try Socket.connect(host: "127.0.0.1", port: s.port)
        defer { close(fd) }
        // The start of a TLS ClientHello record, one byte every quarter second.
        let hello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03] + Array(repeating: 0x42, count: 40)
        let started = Date()
        var closed = false
        for b in hello {
            if send(fd, [b], 1, Int32(MSG_NOSIGNAL)) <= 0 { closed = true; break }
            var probe: UInt8 = 0
            if recv(fd, &probe, 1, Int32(MSG_DONTWAIT)) == 0 { closed = true; break }   // the server has closed
            usleep(250_000)
        }
        #expect(closed)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(counter.count == 0)
    }

    @Test("a client that connects and stalls is dropped after the I/O timeout")
    func stalled() throws {
        let pki = try PKI()
        let counter = Counter()
        var limits = HTTPLimits()
        limits.ioTimeoutSeconds = 0.5
        let s = try server(pki, limits: limits, counter: counter)
        defer { s.stop() }
        let fd = try Socket.connect(host: "127.0.0.1", port: s.port)
        defer { close(fd) }
        _ = send(fd, [0x16], 1, 0)   // one byte of a TLS record, then nothing
        Socket.setTimeouts(fd, seconds: 5)
        var byte: UInt8 = 0
        let started = Date()
        let n = recv(fd, &byte, 1, 0)
        let waited = Date().timeIntervalSince(started)
        #expect(n <= 0)                     // the server closed the connection
        #expect(waited < 4)                 // because of its own timeout, not ours
        #expect(counter.count == 0)
    }

    @Test("a server that takes the connection and never answers the handshake is a timeout, named as one")
    func handshakeTimeout() throws {
        let pki = try PKI()
        // A listening socket nobody serves: the kernel completes the TCP handshake, TLS never starts.
        let (listener, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        defer { close(listener) }
        var limits = HTTPLimits()
        limits.ioTimeoutSeconds = 0.5
        let client = try TLSContext(role: .client, files: pki.files("450223101"))
        let started = Date()
        let error = #expect(throws: TLSError.self) {
            try TLSClient.send(HTTPRequest(method: "GET", path: "/"), port: port, context: client, limits: limits)
        }
        if case .timeout? = error {} else { Issue.record("expected TLSError.timeout, got \(String(describing: error))") }
        #expect(Date().timeIntervalSince(started) < 5)
    }

    /// Accepts one connection on `listener`, waiting at most 10 s for it.
    static func acceptOne(_ listener: Int32) -> Int32 {
        var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 10_000) == 1 else { return -1 }
        return accept(listener, nil, nil)
    }

    @Test("an answer cut without close_notify is TLSError.unclean, never an end of stream", arguments: Cut.allCases)
    func cutWithoutCloseNotify(cut: Cut) throws {
        let pki = try PKI()
        let serverContext = try TLSContext(role: .server, files: pki.files("county"))
        let client = try TLSContext(role: .client, files: pki.files("450223101"))
        let (listener, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        defer { close(listener) }
        let cutNow = DispatchSemaphore(value: 0)
        // The server announces 100 bytes of body, sends 7, and once the client has them cuts
        // the TCP connection under TLS.
        let server = OnThread { () -> String in
            let fd = Self.acceptOne(listener)
            guard fd >= 0 else { return "accept failed" }
            do {
                let c = try TLSConnection(context: serverContext, fd: fd, server: true, timeoutSeconds: 5)
                try c.write(Array("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial".utf8))
                guard cutNow.wait(timeout: .now() + 10) == .success else { return "the client never read the partial answer" }
                switch cut {
                case .fin:
                    shutdown(c.fd, Int32(SHUT_RDWR))
                case .reset:
                    var unspecified = sockaddr()
                    unspecified.sa_family = sa_family_t(AF_UNSPEC)
                    _ = connect(c.fd, &unspecified, socklen_t(MemoryLayout<sockaddr>.size))
                }
                return "cut"
            } catch {
                return "server side: \(error)"
            }
        }
        let connection = try TLSConnection(context: client, fd: try Socket.connect(host: "127.0.0.1", port: port), server: false,
                                           timeoutSeconds: 5)
        let (start, _, body) = try HTTPFraming.readHead(connection, limits: HTTPLimits()) { _ in 1000 }
        #expect(start == "HTTP/1.1 200 OK" && body.length == 100)
        var received: [UInt8] = []
        for _ in 0..<7 where received.count < 7 { try body.read(into: &received) }
        #expect(String(decoding: received, as: UTF8.self) == "partial")
        cutNow.signal()
        do {
            let n = try body.read(into: &received)
            Issue.record("the read after the cut returned \(n) bytes instead of throwing TLSError.unclean")
        } catch TLSError.unclean {
            // An end without close_notify: the answer is known to be incomplete.
        } catch {
            Issue.record("the read after the cut threw \(error), not TLSError.unclean")
        }
        #expect(server.value() == "cut")
    }

    @Test("a failed handshake leaves no error in either side's OpenSSL queue (no SSL_shutdown, queue drained); the county goes on serving",
          arguments: HandshakeFailure.allCases)
    func failedHandshakeLeavesNoErrors(failure: HandshakeFailure) throws {
        let pki = try PKI(), rogue = try PKI(["450223101"])
        let badClient = switch failure {
        case .tls12Client: try TLSContext(role: .client, files: pki.files("450223101"), tls12ForTesting: true)
        case .unknownCAClient: try TLSContext(role: .client, files: rogue.files("450223101"))
        }
        let serverContext = try TLSContext(role: .server, files: pki.files("county"))
        let (listener, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        defer { close(listener) }
        // Each side on a thread of its own, whose error queue holds only what this handshake left.
        let server = OnThread { () -> HandshakeSide in
            let fd = Self.acceptOne(listener)
            guard fd >= 0 else { return HandshakeSide(failed: false, queueEmpty: false) }
            var failed = false
            do { _ = try TLSConnection(context: serverContext, fd: fd, server: true, timeoutSeconds: 5) } catch { failed = true }
            return HandshakeSide(failed: failed, queueEmpty: TLSConnection.threadErrorQueueIsEmpty)
        }
        let client = OnThread { () -> HandshakeSide in
            var failed = false
            do {
                let c = try TLSConnection(context: badClient, fd: try Socket.connect(host: "127.0.0.1", port: port), server: false,
                                          timeoutSeconds: 5)
                // In TLS 1.3 the client's handshake ends before the server has checked the client's
                // certificate: the refusal comes with the first read.
                _ = try c.read(max: 1)
            } catch {
                failed = true
            }
            return HandshakeSide(failed: failed, queueEmpty: TLSConnection.threadErrorQueueIsEmpty)
        }
        #expect(server.value() == HandshakeSide(failed: true, queueEmpty: true))
        #expect(client.value() == HandshakeSide(failed: true, queueEmpty: true))

        // The county refuses the same client and then serves a good one.
        let counter = Counter()
        let s = try self.server(pki, counter: counter)
        defer { s.stop() }
        #expect(throws: (any Error).self) { try TLSClient.send(HTTPRequest(method: "GET", path: "/"), port: s.port, context: badClient) }
        let ok = try TLSClient.send(HTTPRequest(method: "GET", path: "/"), port: s.port,
                                    context: try TLSContext(role: .client, files: pki.files("450223101")))
        #expect(ok.response.status == 200 && counter.count == 1)
    }
}
