import Foundation
import YKTCrypto
#if canImport(Glibc)
import Glibc
#endif

/// A mutual-TLS request/response server on POSIX sockets: one accept thread, a thread per
/// connection, one request per connection (or, when `limits.maximumRequestsPerConnection` is
/// above 1, HTTP keep-alive: requests one after the other, each under the same limits, the
/// connection idle at most `limits.keepAliveIdleSeconds` between them), every read and write
/// under a timeout.
///
/// Admission happens in two steps, so that a flood of unauthenticated sockets cannot starve the
/// townships: a connection still in its TLS handshake is *pending* (at most
/// `limits.maximumPendingPerAddress` from one address and `maximumPendingHandshakes` in all;
/// more are closed at once, and it must finish within `handshakeDeadlineSeconds`); only an
/// authenticated connection takes one of the `maximumConnections` slots. Refusals are logged
/// once per `refusalLogIntervalSeconds` with a count; every request that gets an answer is
/// logged exactly once, with its outcome.
public final class TLSServer: @unchecked Sendable {
    // Safe: `listenFD`, `port`, `context`, `limits`, the handlers and `log` are set before
    // `start` and only read afterwards; the counters and the stopping flag are guarded by `lock`.
    public typealias Handler = @Sendable (_ peer: String, _ request: HTTPRequest) -> HTTPResponse
    /// For requests whose body is read as it arrives: `request.body` is empty, the body is `stream`.
    public typealias StreamingHandler = @Sendable (_ peer: String, _ request: HTTPRequest, _ stream: HTTPBodyStream) -> HTTPResponse
    /// Picks a request's route from its method and path; nil answers 404 without reading the body.
    public typealias Router = @Sendable (_ method: String, _ path: String) -> HTTPRoute?

    public let port: UInt16
    let listenFD: Int32
    /// nil: plain HTTP (the township's console on the office PC's loopback address).
    let context: TLSContext?
    /// Whether a peer must present a certificate with a common name (mutual TLS): the sync
    /// server. The console's peers are browsers; their requests carry the address as `peer`.
    let peersAuthenticate: Bool
    let limits: HTTPLimits
    let handler: Handler
    let streamingHandler: StreamingHandler?
    let router: Router
    let maximumConnections: Int
    /// Authenticated connections one peer may hold at once (the certificate's common name under
    /// mutual TLS, else the address); nil: no cap of its own. More are refused at once, so that
    /// one peer cannot take every slot.
    let maximumConnectionsPerPeer: Int?
    /// Peers the per-peer cap does not apply to (a trusted reverse proxy). Set before `start`.
    public var uncappedPeers: Set<String> = []
    /// The answer to a connection refused for want of a slot (all taken, or its peer's). Set
    /// before `start`.
    public var busyResponse = HTTPResponse(status: 503, headers: ["content-type": "text/plain; charset=utf-8"],
                                           body: Array("busy: try again later".utf8))
    private let lock = NSLock()
    private var active = 0
    private var activeByPeer: [String: Int] = [:]
    private var pending = 0
    private var accepted = 0
    private var pendingByAddress: [String: Int] = [:]
    private var stopping = false
    private let done = DispatchGroup()
    private let refusals: RefusalLog
    /// Where the server's log lines go (never personal data): one per answered request, and
    /// the refusal summaries.
    public var log: (@Sendable (ServerLogLine) -> Void)? {
        didSet { refusals.sink = log }
    }

    /// `router` picks, from method and path, how each request's body is read: whole (up to a
    /// route's maximum, and `handler` answers) or streamed (`streamingHandler` answers, up to
    /// `limits.maximumStreamedBodyBytes`); a request it does not know is answered 404 before a
    /// byte of its body is read. Without a router every request is read whole (up to
    /// `limits.maximumBodyBytes`) and goes to `handler`.
    public init(context: TLSContext?, host: String = "127.0.0.1", port: UInt16 = 0, limits: HTTPLimits = HTTPLimits(),
                maximumConnections: Int = 64, maximumConnectionsPerPeer: Int? = nil, peersAuthenticate: Bool = true, router: Router? = nil,
                streamingHandler: StreamingHandler? = nil, handler: @escaping Handler) throws(SocketError) {
        let (fd, bound) = try Socket.listen(host: host, port: port)
        listenFD = fd
        self.port = bound
        self.context = context
        self.peersAuthenticate = peersAuthenticate && context != nil
        self.limits = limits
        self.handler = handler
        self.streamingHandler = streamingHandler
        let maximumBody = limits.maximumBodyBytes
        self.router = router ?? { _, _ in .buffered(maximumBody: maximumBody) }
        self.maximumConnections = maximumConnections
        self.maximumConnectionsPerPeer = maximumConnectionsPerPeer.map { max(1, $0) }
        refusals = RefusalLog(intervalSeconds: limits.refusalLogIntervalSeconds)
    }

    /// Starts accepting on a background thread.
    public func start() {
        done.enter()
        let thread = Thread { [self] in
            defer { done.leave() }
            acceptLoop()
        }
        thread.name = "ykt-accept"
        thread.start()
    }

    func acceptLoop() {
        while true {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let fd = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listenFD, $0, &length) }
            }
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED, EPROTO:
                    continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors or memory for now: the connections under way will free
                    // some. Wait a little rather than spin or stop serving.
                    refusals.record("accept failed: \(String(cString: strerror(errno)))", address: "-")
                    if lock.withLock({ stopping }) { return }
                    usleep(100_000)
                    continue
                default:
                    return   // the listening socket was shut down: stop
                }
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            Socket.noDelay(fd)
            let peerAddress = Socket.text(address)
            let admitted: Bool = lock.withLock {
                if stopping { return false }
                let fromAddress = pendingByAddress[peerAddress, default: 0]
                if pending >= limits.maximumPendingHandshakes || fromAddress >= limits.maximumPendingPerAddress { return false }
                pending += 1
                accepted += 1
                pendingByAddress[peerAddress] = fromAddress + 1
                return true
            }
            guard admitted else {
                close(fd)
                refusals.record("connection refused: too many unauthenticated connections", address: peerAddress)
                continue
            }
            done.enter()
            let thread = Thread { [self] in
                defer { done.leave() }
                serve(fd, address: peerAddress, accepted: Clock.now)
            }
            thread.name = "ykt-connection"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private func leavePending(_ address: String) {
        lock.withLock {
            pending -= 1
            let left = pendingByAddress[address, default: 1] - 1
            pendingByAddress[address] = left > 0 ? left : nil
        }
    }

    func serve(_ fd: Int32, address: String, accepted: UInt64) {
        // The handshake's reads happen inside OpenSSL; a watchdog on a duplicate of the socket
        // ends a handshake still trickling in at the handshake deadline (the duplicate keeps the
        // socket itself alive, so the watchdog can never touch another connection's).
        let connection: TLSConnection
        let watchdog = Watchdog(fd: dup(fd))
        DispatchQueue.global().asyncAfter(deadline: .now() + limits.handshakeDeadlineSeconds) { watchdog.fire() }
        do {
            defer {
                watchdog.disarm()
                leavePending(address)
            }
            let deadline = max(0.001, limits.headerDeadlineSeconds - Double(Clock.now - accepted) / 1e9)
            if let context {
                connection = try TLSConnection(context: context, fd: fd, server: true, timeoutSeconds: limits.ioTimeoutSeconds,
                                               deadlineSeconds: deadline)
            } else {
                connection = TLSConnection(plain: fd, timeoutSeconds: limits.ioTimeoutSeconds, deadlineSeconds: deadline)
            }
        } catch {
            refusals.record("handshake refused: \(Self.kind(of: error))", address: address)
            return
        }
        let peer: String
        if !peersAuthenticate {
            peer = address
        } else if let name = connection.peerCommonName {
            peer = name
        } else {
            refusals.record("handshake refused: peer certificate has no common name", address: address)
            return
        }
        // nil: admitted; otherwise why not.
        let refusal: String? = lock.withLock {
            if active >= maximumConnections { return "connection refused: \(maximumConnections) authenticated connections already open" }
            let mine = activeByPeer[peer, default: 0]
            if let cap = maximumConnectionsPerPeer, mine >= cap, !uncappedPeers.contains(peer) {
                return "connection refused: \(cap) connections already open from one \(peersAuthenticate ? "certificate" : "address")"
            }
            active += 1
            activeByPeer[peer] = mine + 1
            return nil
        }
        defer {
            if refusal == nil {
                lock.withLock {
                    active -= 1
                    let left = activeByPeer[peer, default: 1] - 1
                    activeByPeer[peer] = left > 0 ? left : nil
                }
            }
        }
        if let refusal {
            var record = RequestRecord(address: address, peer: peer)
            refusals.record(refusal, address: peersAuthenticate ? "\(peer)@\(address)" : address)
            answer(connection, busyResponse, record: &record)
            log?(record.line)
            connection.lingeringClose(maxBytes: 64 * 1024, seconds: 0.5)
            return
        }
        // One request, or (keep-alive) several one after the other, each under the same limits.
        var number = 1
        while true {
            let started = Clock.now
            var record = RequestRecord(address: address, peer: peer)
            let more = serveRequest(connection, peer: peer, record: &record, first: number == 1,
                                    remaining: limits.maximumRequestsPerConnection - number)
            if record.status != nil {
                record.milliseconds = Int((Clock.now - started) / 1_000_000)
                log?(record.line)
            }
            guard more, waitForNextRequest(connection) else { return }
            number += 1
        }
    }

    /// Waits, idle, for the next request on a kept-alive connection: true when its first bytes
    /// arrived within `keepAliveIdleSeconds` (its head then has `headerDeadlineSeconds`), false
    /// when the time ran out, the peer left, or the server is stopping.
    private func waitForNextRequest(_ connection: TLSConnection) -> Bool {
        let until = Clock.now + UInt64(max(0, limits.keepAliveIdleSeconds) * 1e9)
        while true {
            if lock.withLock({ stopping }) { return false }
            let now = Clock.now
            guard now < until else { return false }
            // In slices, so that `stop` does not wait out every idle connection.
            if connection.waitReadable(seconds: min(0.25, Double(until - now) / 1e9)) {
                connection.deadline = Clock.now + UInt64(limits.headerDeadlineSeconds * 1e9)
                return true
            }
        }
    }

    /// Reads one request and answers it. True when the connection may carry another request
    /// (keep-alive allowed and asked for, nothing refused, the body read whole).
    /// `remaining`: how many more requests the connection may carry after this one.
    private func serveRequest(_ connection: TLSConnection, peer: String, record: inout RequestRecord, first: Bool, remaining: Int) -> Bool {
        do {
            let limits = self.limits
            let router = self.router
            let hasStreaming = streamingHandler != nil
            var chosen: (method: String, path: String, route: HTTPRoute)?
            let (_, headers, body) = try HTTPFraming.readHead(connection, limits: limits, endQuietly: !first) { start in
                let parts = start.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 3, parts[2] == "HTTP/1.1", !parts[0].isEmpty, parts[1].hasPrefix("/") else {
                    throw HTTPFramingError(status: 400, reason: "bad request line")
                }
                let (method, path) = (String(parts[0]), String(parts[1].prefix(256)))
                record.method = method
                record.path = path
                guard var route = router(method, path) else {
                    throw HTTPFramingError(status: 404, reason: "unknown endpoint")
                }
                if case .streamed = route, !hasStreaming { route = .buffered(maximumBody: limits.maximumBodyBytes) }
                chosen = (method, path, route)
                switch route {
                case .buffered(let maximum): return maximum
                case .streamed: return limits.maximumStreamedBodyBytes
                }
            }
            guard let (method, path, route) = chosen else { throw HTTPFramingError(status: 400, reason: "bad request line") }
            record.bytesIn = body.length
            let response: HTTPResponse
            switch route {
            case .streamed:
                response = streamingHandler!(peer, HTTPRequest(method: method, path: path, headers: headers), body)
                // Answered before the whole body was read (a replay, a refusal): read the rest,
                // so that the sender, still writing, gets to read the answer.
                if !body.isComplete {
                    if body.length - body.consumed <= limits.maximumDrainBytes { try? body.discard() }
                    answer(connection, response, record: &record)
                    connection.lingeringClose()
                    return false
                }
            case .buffered:
                response = handler(peer, HTTPRequest(method: method, path: path, headers: headers, body: try body.readAll()))
            }
            let keep = remaining > 0
                && headers["connection"]?.lowercased() != "close" && response.headers["connection"]?.lowercased() != "close"
                && !lock.withLock({ stopping })
            answer(connection, response, record: &record,
                   keepAlive: keep ? "timeout=\(Int(limits.keepAliveIdleSeconds.rounded(.down))), max=\(remaining)" : nil)
            return keep && record.outcome == nil
        } catch is HTTPConnectionEnded {
            return false
        } catch let e as HTTPFramingError {
            record.outcome = e.reason
            answer(connection, HTTPResponse(status: e.status, headers: ["content-type": "text/plain; charset=utf-8"],
                                            body: Array(e.reason.utf8)), record: &record)
            connection.lingeringClose(maxBytes: 1 << 20, seconds: e.status == 404 ? 0.5 : 2)
            return false
        } catch {
            record.status = 0
            record.outcome = "connection ended: \(Self.kind(of: error))"
            return false
        }
    }

    /// Writes the answer and notes its status for the request's log line.
    private func answer(_ connection: TLSConnection, _ response: HTTPResponse, record: inout RequestRecord, keepAlive: String? = nil) {
        record.status = response.status
        record.extra = response.log
        do {
            try HTTPFraming.write(connection, start: "HTTP/1.1 \(response.status) \(HTTPResponse.reason(response.status))",
                                  headers: response.headers, body: response.body, keepAlive: keepAlive)
        } catch {
            record.outcome = "answer not delivered: \(Self.kind(of: error))"
        }
    }

    /// A short name for why a connection failed (for logs: no peer-supplied text).
    static func kind(of error: any Error) -> String {
        switch error {
        case let e as TLSError:
            switch e {
            case .timeout: "timeout"
            case .closed: "closed"
            case .unclean: "cut"
            case .certificate(let why): "certificate (\(why.prefix(120)))"
            case .handshake: "tls handshake"
            case .io: "tls i/o"
            case .crlExpired(let path, let next): "CRL \(path) expired at \(next): re-issue it (openssl ca -gencrl); every connection is refused until then"
            case .crlUnreadable(let path, let why): "CRL \(path) unusable (\(why.prefix(120))): every connection is refused until it is fixed"
            }
        case let e as SocketError: e.description
        default: "error"
        }
    }

    /// Stops accepting, waits for open connections to finish (each is bounded by its
    /// deadlines and timeouts), writes the last refusal counts, and closes the socket.
    public func stop() {
        lock.withLock { stopping = true }
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
        done.wait()
        refusals.flush()
    }

    /// Connections open now: (authenticated, still in their handshake).
    public var connectionCounts: (active: Int, pending: Int) { lock.withLock { (active, pending) } }

    /// Connections taken into their handshake since the server started (tests).
    public var connectionsAccepted: Int { lock.withLock { accepted } }
}

/// One line of the server's log: a level, a message and `key=value` metadata in order.
public struct ServerLogLine: Sendable {
    public enum Level: String, Sendable { case info, warning }
    public var level: Level
    public var message: String
    public var metadata: [(String, String)]
}

/// What the server logs of one request.
struct RequestRecord {
    var address: String
    var peer: String
    var method = "-"
    var path = "-"
    var status: Int?
    var bytesIn = 0
    var milliseconds = 0
    var outcome: String?
    var extra: [(String, String)] = []

    var line: ServerLogLine {
        var metadata: [(String, String)] = [("address", address), ("peer", peer), ("method", method), ("path", path),
                                            ("status", String(status ?? 0)), ("bytes", String(bytesIn)), ("ms", String(milliseconds))]
        metadata += extra
        if let outcome { metadata.append(("outcome", outcome)) }
        let failed = (status ?? 0) == 0 || (status ?? 0) >= 500
        return ServerLogLine(level: failed ? .warning : .info, message: "request", metadata: metadata)
    }
}

/// Refusals counted by reason and written once per interval with a count, so a flood of
/// refused connections costs a line per interval, not a line each.
final class RefusalLog: @unchecked Sendable {
    // Safe: every field is guarded by `lock`; `sink` is set before the server starts.
    private let lock = NSLock()
    private let interval: UInt64
    private var counts: [String: (count: Int, addresses: Set<String>, since: UInt64, lastWritten: UInt64?)] = [:]
    var sink: (@Sendable (ServerLogLine) -> Void)?

    init(intervalSeconds: Double) { interval = UInt64(max(0.001, intervalSeconds) * 1e9) }

    func record(_ reason: String, address: String) {
        let line: ServerLogLine? = lock.withLock {
            // Read under the lock: a time read before it could be older than a `lastWritten`
            // another thread set meanwhile, and `now - last` would trap.
            let now = Clock.now
            var entry = counts[reason] ?? (0, [], now, nil)
            entry.count += 1
            if entry.addresses.count < 8 { entry.addresses.insert(address) }
            // The first refusal of a kind is written at once; then at most one line an interval.
            if let last = entry.lastWritten, now - last < interval {
                counts[reason] = entry
                return nil
            }
            counts[reason] = (0, [], now, now)
            return Self.line(reason, entry.count, entry.addresses, seconds: Double(now - entry.since) / 1e9)
        }
        if let line { sink?(line) }
    }

    /// Writes what was counted since the last line of each kind.
    func flush() {
        let lines: [ServerLogLine] = lock.withLock {
            let now = Clock.now
            defer { counts.removeAll() }
            return counts.sorted { $0.key < $1.key }.filter { $0.value.count > 0 }.map {
                Self.line($0.key, $0.value.count, $0.value.addresses, seconds: Double(now - $0.value.since) / 1e9)
            }
        }
        for line in lines { sink?(line) }
    }

    private static func line(_ reason: String, _ count: Int, _ addresses: Set<String>, seconds: Double) -> ServerLogLine {
        ServerLogLine(level: .warning, message: reason,
                      metadata: [("count", String(count)), ("seconds", String(format: "%.1f", seconds)),
                                 ("address", addresses.sorted().joined(separator: ","))])
    }
}

/// The client side: one request on a new connection.
public enum TLSClient {
    /// `source`, when given, is the local address the connection comes from.
    /// A nil `context` sends in the clear (the township console on the loopback address).
    public static func send(_ request: HTTPRequest, host: String = "127.0.0.1", port: UInt16, context: TLSContext?,
                            limits: HTTPLimits = HTTPLimits(), source: String? = nil) throws -> (response: HTTPResponse, peer: String?) {
        try start(request, host: host, port: port, context: context, limits: limits, source: source).response()
    }

    /// Connects and writes the request, returning at once: the caller can work while the
    /// server does, then read the answer with `response()`. `checkPeer` sees the server
    /// certificate's name after the handshake and can refuse it before anything is sent.
    /// `progress`, when given, is called with the bytes of the body written so far. With
    /// `keepAlive` the request asks to keep the connection open for one more (`Exchange.send`).
    public static func start(_ request: HTTPRequest, host: String = "127.0.0.1", port: UInt16, context: TLSContext?,
                             limits: HTTPLimits = HTTPLimits(), source: String? = nil, keepAlive: Bool = false,
                             checkPeer: (String?) throws -> Void = { _ in },
                             progress: ((Int) -> Void)? = nil) throws -> Exchange {
        let c = try connect(host: host, port: port, context: context, limits: limits, source: source)
        try checkPeer(c.peerCommonName)
        var headers = request.headers
        if headers["host"] == nil { headers["host"] = "\(host):\(port)" }
        try HTTPFraming.write(c, start: "\(request.method) \(request.path) HTTP/1.1", headers: headers, body: request.body,
                              keepAlive: keepAlive ? "" : nil, progress: progress)
        return Exchange(connection: c, limits: limits, host: headers["host"]!)
    }

    /// A TLS connection to the server, handshake done.
    public static func connect(host: String, port: UInt16, context: TLSContext?, limits: HTTPLimits = HTTPLimits(),
                               source: String? = nil) throws -> TLSConnection {
        let fd = try Socket.connect(host: host, port: port, source: source, timeoutSeconds: limits.ioTimeoutSeconds)
        guard let context else { return TLSConnection(plain: fd, timeoutSeconds: limits.ioTimeoutSeconds) }
        return try TLSConnection(context: context, fd: fd, server: false, timeoutSeconds: limits.ioTimeoutSeconds)
    }

    /// A kept-alive connection (HTTP keep-alive): requests one after the other on one TLS
    /// connection, as a browser sends them. For tests and benchmarks of servers that allow it.
    public final class Session {
        let connection: TLSConnection
        let limits: HTTPLimits
        let host: String

        public init(host: String = "127.0.0.1", port: UInt16, context: TLSContext?, limits: HTTPLimits = HTTPLimits(),
                    source: String? = nil) throws {
            connection = try TLSClient.connect(host: host, port: port, context: context, limits: limits, source: source)
            self.limits = limits
            self.host = "\(host):\(port)"
        }

        /// Sends `request` asking to keep the connection open (unless it says `connection: close`),
        /// and reads the answer.
        public func send(_ request: HTTPRequest) throws -> HTTPResponse {
            var headers = request.headers
            if headers["host"] == nil { headers["host"] = host }
            // `connection: close` in the request: the last one on this connection.
            try HTTPFraming.write(connection, start: "\(request.method) \(request.path) HTTP/1.1", headers: headers, body: request.body,
                                  keepAlive: headers["connection"]?.lowercased() == "close" ? nil : "")
            let (start, responseHeaders, body) = try HTTPFraming.read(connection, limits: limits)
            let parts = start.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let status = Int(parts[1]) else { throw TLSError.io("bad status line") }
            return HTTPResponse(status: status, headers: responseHeaders, body: body)
        }
    }

    /// A request written on its own connection, its answer still to be read.
    public final class Exchange {
        let connection: TLSConnection
        let limits: HTTPLimits
        let host: String
        /// Whether the answer left the connection open for another request: asked for
        /// (`keepAlive`) and granted (the answer says `connection: keep-alive`).
        public private(set) var reusable = false

        init(connection: TLSConnection, limits: HTTPLimits, host: String) {
            self.connection = connection
            self.limits = limits
            self.host = host
        }

        /// The server's certificate name, known once the handshake is done.
        public var peer: String? { connection.peerCommonName }

        /// The answer. `waitingUpTo`, when given, is how long the first bytes may take instead
        /// of the I/O timeout (a server that does its work before it answers).
        public func response(waitingUpTo seconds: Double? = nil) throws -> (response: HTTPResponse, peer: String?) {
            if let seconds { Socket.setReadTimeout(connection.fd, seconds: seconds) }
            let response = try Self.read(connection, limits: limits)
            reusable = response.headers["connection"]?.lowercased() == "keep-alive"
            if seconds != nil { Socket.setReadTimeout(connection.fd, seconds: limits.ioTimeoutSeconds) }
            return (response, connection.peerCommonName)
        }

        /// One more request on this connection once its answer left it open (`reusable`), the
        /// last one (`connection: close`), and its answer.
        public func send(_ request: HTTPRequest) throws -> HTTPResponse {
            guard reusable else { throw TLSError.io("connection not kept open") }
            reusable = false
            var headers = request.headers
            if headers["host"] == nil { headers["host"] = host }
            try HTTPFraming.write(connection, start: "\(request.method) \(request.path) HTTP/1.1", headers: headers, body: request.body)
            return try Self.read(connection, limits: limits)
        }

        static func read(_ connection: TLSConnection, limits: HTTPLimits) throws -> HTTPResponse {
            let (start, responseHeaders, body) = try HTTPFraming.read(connection, limits: limits)
            let parts = start.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let status = Int(parts[1]) else { throw TLSError.io("bad status line") }
            return HTTPResponse(status: status, headers: responseHeaders, body: body)
        }
    }
}

/// Shuts a socket down once, unless disarmed first.
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var fd: Int32

    init(fd: Int32) { self.fd = fd }

    func fire() {
        lock.withLock {
            if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    func disarm() {
        lock.withLock {
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }
}
