import Dispatch
import Foundation
import YKTCrypto
#if canImport(Glibc)
import Glibc
#endif

/// A mutual-TLS request/response server on POSIX sockets: one accept thread, each connection
/// handled on a concurrent queue, at most `maximumConnections` at once (more are closed at
/// once), every read and write under a timeout, one request per connection.
public final class TLSServer: @unchecked Sendable {
    // Safe: `listenFD`, `port`, `context`, `limits` and `handler` are set once in init; the
    // mutable connection count and the stopping flag are guarded by `lock`.
    public typealias Handler = @Sendable (_ peer: String, _ request: HTTPRequest) -> HTTPResponse
    /// For requests whose body is read as it arrives: `request.body` is empty, the body is `stream`.
    public typealias StreamingHandler = @Sendable (_ peer: String, _ request: HTTPRequest, _ stream: HTTPBodyStream) -> HTTPResponse

    public let port: UInt16
    let listenFD: Int32
    let context: TLSContext
    let limits: HTTPLimits
    let handler: Handler
    let streaming: (route: @Sendable (_ method: String, _ path: String) -> Bool, handler: StreamingHandler)?
    let maximumConnections: Int
    private let lock = NSLock()
    private var active = 0
    private var stopping = false
    private let done = DispatchGroup()
    /// Called with one line per refused or failed connection (never personal data).
    public var log: (@Sendable (String) -> Void)?

    /// `streams` picks the requests (by method and path) whose bodies go to `streamingHandler`
    /// as they arrive, up to `limits.maximumStreamedBodyBytes`; all others are read whole (up
    /// to `limits.maximumBodyBytes`) and go to `handler`.
    public init(context: TLSContext, host: String = "127.0.0.1", port: UInt16 = 0, limits: HTTPLimits = HTTPLimits(),
                maximumConnections: Int = 64,
                streams: (@Sendable (_ method: String, _ path: String) -> Bool)? = nil,
                streamingHandler: StreamingHandler? = nil,
                handler: @escaping Handler) throws(SocketError) {
        let (fd, bound) = try Socket.listen(host: host, port: port)
        listenFD = fd
        self.port = bound
        self.context = context
        self.limits = limits
        self.handler = handler
        if let streams, let streamingHandler { streaming = (streams, streamingHandler) } else { streaming = nil }
        self.maximumConnections = maximumConnections
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
        let queue = DispatchQueue(label: "ykt-connections", attributes: .concurrent)
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return   // the listening socket was shut down: stop
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let admitted: Bool = lock.withLock {
                if stopping || active >= maximumConnections { return false }
                active += 1
                return true
            }
            guard admitted else {
                close(fd)
                log?("connection refused: \(maximumConnections) connections already open")
                continue
            }
            done.enter()
            queue.async { [self] in
                defer {
                    lock.withLock { active -= 1 }
                    done.leave()
                }
                serve(fd)
            }
        }
    }

    func serve(_ fd: Int32) {
        let connection: TLSConnection
        // The handshake's reads happen inside OpenSSL; a watchdog on a duplicate of the socket
        // ends a handshake still trickling in at the header deadline (the duplicate keeps the
        // socket itself alive, so the watchdog can never touch another connection's).
        let watchdog = Watchdog(fd: dup(fd))
        DispatchQueue.global().asyncAfter(deadline: .now() + limits.headerDeadlineSeconds) { watchdog.fire() }
        do {
            defer { watchdog.disarm() }
            connection = try TLSConnection(context: context, fd: fd, server: true, timeoutSeconds: limits.ioTimeoutSeconds,
                                           deadlineSeconds: limits.headerDeadlineSeconds)
        } catch {
            log?("handshake refused: \(error)")
            return
        }
        guard let peer = connection.peerCommonName else {
            log?("peer certificate has no common name")
            return
        }
        do {
            let limits = self.limits
            let streaming = self.streaming
            func route(_ start: String) -> (method: String, path: String, streamed: Bool)? {
                let parts = start.split(separator: " ")
                guard parts.count == 3, parts[2] == "HTTP/1.1" else { return nil }
                let (method, path) = (String(parts[0]), String(parts[1]))
                return (method, path, streaming?.route(method, path) ?? false)
            }
            let (start, headers, body) = try HTTPFraming.readHead(connection, limits: limits) { start in
                route(start)?.streamed == true ? limits.maximumStreamedBodyBytes : limits.maximumBodyBytes
            }
            guard let (method, path, streamed) = route(start) else {
                throw HTTPFramingError(status: 400, reason: "bad request line")
            }
            let response: HTTPResponse
            if streamed, let streaming {
                response = streaming.handler(peer, HTTPRequest(method: method, path: path, headers: headers), body)
                // Answered before the whole body was read (a replay, a refusal): read the rest,
                // so that the sender, still writing, gets to read the answer.
                if !body.isComplete {
                    if body.length - body.consumed <= limits.maximumDrainBytes { try? body.discard() }
                    try HTTPFraming.write(connection, start: "HTTP/1.1 \(response.status) \(HTTPResponse.reason(response.status))",
                                          headers: response.headers, body: response.body)
                    connection.lingeringClose()
                    return
                }
            } else {
                response = handler(peer, HTTPRequest(method: method, path: path, headers: headers, body: try body.readAll()))
            }
            try HTTPFraming.write(connection, start: "HTTP/1.1 \(response.status) \(HTTPResponse.reason(response.status))",
                                  headers: response.headers, body: response.body)
        } catch let e as HTTPFramingError {
            log?("request from \(peer) refused: \(e.status) \(e.reason)")
            try? HTTPFraming.write(connection, start: "HTTP/1.1 \(e.status) \(HTTPResponse.reason(e.status))",
                                   headers: ["content-type": "text/plain; charset=utf-8"], body: Array(e.reason.utf8))
            connection.lingeringClose()
        } catch {
            log?("connection from \(peer) ended: \(error)")
        }
    }

    /// Stops accepting, waits for open connections to finish (each is bounded by the I/O
    /// timeout), and closes the socket.
    public func stop() {
        lock.withLock { stopping = true }
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
        done.wait()
    }
}

/// The client side: one request on a new connection.
public enum TLSClient {
    /// `source`, when given, is the local address the connection comes from.
    public static func send(_ request: HTTPRequest, host: String = "127.0.0.1", port: UInt16, context: TLSContext,
                            limits: HTTPLimits = HTTPLimits(), source: String? = nil) throws -> (response: HTTPResponse, peer: String?) {
        try start(request, host: host, port: port, context: context, limits: limits, source: source).response()
    }

    /// Connects and writes the request, returning at once: the caller can work while the
    /// server does, then read the answer with `response()`. `checkPeer` sees the server
    /// certificate's name after the handshake and can refuse it before anything is sent.
    public static func start(_ request: HTTPRequest, host: String = "127.0.0.1", port: UInt16, context: TLSContext,
                             limits: HTTPLimits = HTTPLimits(), source: String? = nil,
                             checkPeer: (String?) throws -> Void = { _ in }) throws -> Exchange {
        let fd = try Socket.connect(host: host, port: port, source: source)
        let c = try TLSConnection(context: context, fd: fd, server: false, timeoutSeconds: limits.ioTimeoutSeconds)
        try checkPeer(c.peerCommonName)
        var headers = request.headers
        headers["host"] = "\(host):\(port)"
        try HTTPFraming.write(c, start: "\(request.method) \(request.path) HTTP/1.1", headers: headers, body: request.body)
        return Exchange(connection: c, limits: limits)
    }

    /// A request written on its own connection, its answer still to be read.
    public final class Exchange {
        let connection: TLSConnection
        let limits: HTTPLimits

        init(connection: TLSConnection, limits: HTTPLimits) {
            self.connection = connection
            self.limits = limits
        }

        /// The server's certificate name, known once the handshake is done.
        public var peer: String? { connection.peerCommonName }

        public func response() throws -> (response: HTTPResponse, peer: String?) {
            let (start, responseHeaders, body) = try HTTPFraming.read(connection, limits: limits)
            let parts = start.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let status = Int(parts[1]) else { throw TLSError.io("bad status line") }
            return (HTTPResponse(status: status, headers: responseHeaders, body: body), connection.peerCommonName)
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
