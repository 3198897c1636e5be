import Foundation

/// The small HTTP/1.1 subset the sync protocol uses (docs/protocol.md): one request per
/// connection, `Content-Length` bodies only, hard limits on header and body size.
public struct HTTPRequest: Sendable {
    public var method: String
    public var path: String
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(method: String, path: String, headers: [String: String] = [:], body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    /// What the server's one log line for this request adds (`key=value`: township, seq, ops,
    /// code…); never sent. No personal data.
    public var log: [(String, String)] = []

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = [], log: [(String, String)] = []) {
        self.status = status
        self.headers = headers
        self.body = body
        self.log = log
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 204: "No Content"
        case 303: "See Other"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

public struct HTTPLimits: Sendable {
    public var maximumHeaderBytes = 16 * 1024
    /// The largest body of a request that is read whole (a route may allow less).
    public var maximumBodyBytes = 64 * 1024 * 1024
    /// The largest body a streaming request (a change set) may have; it is read a part at a
    /// time, so memory does not grow with it.
    public var maximumStreamedBodyBytes = 1024 * 1024 * 1024
    /// What the server still reads (and discards) of a streamed body the handler answered
    /// before reading it all (a replay, a refusal), so that the sender gets to read the answer.
    /// The body's minimum rate still applies while it is discarded.
    public var maximumDrainBytes = 256 * 1024 * 1024
    /// Each read or write gives up after this long.
    public var ioTimeoutSeconds = 10.0
    /// An unauthenticated connection must finish its TLS handshake within this (a client that
    /// connects and says nothing, or trickles its hello, holds a slot no longer).
    public var handshakeDeadlineSeconds = 5.0
    /// The TLS handshake, request line and headers must all arrive within this, counted from
    /// the connection's acceptance, however the peer trickles them (a byte now and then would
    /// otherwise reset the I/O timeout forever).
    public var headerDeadlineSeconds = 15.0
    /// A body must arrive at this rate at least, measured as bytes received over the time since
    /// the body began, after a grace of one I/O timeout: by `t` seconds into the body at least
    /// `(t - ioTimeoutSeconds) * minimumBodyBytesPerSecond` bytes must have arrived. The
    /// declared length plays no part.
    public var minimumBodyBytesPerSecond = 16 * 1024
    /// Connections still in their TLS handshake (not yet authenticated), in all and from one
    /// address: more are closed at once.
    public var maximumPendingHandshakes = 256
    public var maximumPendingPerAddress = 32
    /// Refused connections are logged once per this interval, with a count.
    public var refusalLogIntervalSeconds = 10.0
    /// HTTP keep-alive: how many requests one connection may carry, one after the other (1:
    /// one request per connection, the sync protocol's rule). Each request is read under the
    /// same limits as the first; the connection is closed after the last, after any request
    /// the server refused, and when the client asks (`Connection: close`).
    public var maximumRequestsPerConnection = 1
    /// How long a kept-alive connection may wait, idle, for its next request's first byte; the
    /// rest of that head must then arrive within `headerDeadlineSeconds`.
    public var keepAliveIdleSeconds = 5.0
    public init() {}
}

/// How the server treats a request, chosen from its method and path before any of its body is
/// read: read whole up to `maximumBody` bytes, or streamed to the streaming handler.
public enum HTTPRoute: Sendable {
    case buffered(maximumBody: Int)
    case streamed
}

/// Why a message could not be read; the server answers with `status`.
struct HTTPFramingError: Error {
    var status: Int
    var reason: String
}

/// A kept-alive connection that ended (closed or cut) before a byte of its next request: the
/// normal end of keep-alive, not an error to answer.
struct HTTPConnectionEnded: Error {}

enum HTTPFraming {
    /// Headers a message may carry once only (RFC 9110 §8.6, §7.2).
    static let singleHeaders: Set<String> = ["content-length", "host"]

    /// Reads one message head and body from `connection`.
    static func read(_ c: TLSConnection, limits: HTTPLimits) throws -> (start: String, headers: [String: String], body: [UInt8]) {
        let (start, headers, stream) = try readHead(c, limits: limits) { _ in limits.maximumBodyBytes }
        return (start, headers, try stream.readAll())
    }

    /// Reads one message head; the body is left to read from the returned stream, which holds
    /// at most `maximumBody` bytes (413 when the head announces more).
    /// `endQuietly`: a close or cut before the first byte throws `HTTPConnectionEnded` (the
    /// end of a kept-alive connection between requests).
    static func readHead(_ c: TLSConnection, limits: HTTPLimits, endQuietly: Bool = false,
                         maximumBody: (String) throws -> Int) throws -> (start: String, headers: [String: String], body: HTTPBodyStream) {
        var buffer: [UInt8] = []
        var headEnd: Int?
        while headEnd == nil {
            let read: Result<[UInt8], TLSError>
            do { read = .success(try c.read(max: 16 * 1024)) } catch { read = .failure(error) }
            let chunk: [UInt8]
            switch read {
            case .success(let bytes): chunk = bytes
            case .failure(.unclean) where endQuietly && buffer.isEmpty: throw HTTPConnectionEnded()
            case .failure(let error): throw error
            }
            if chunk.isEmpty && endQuietly && buffer.isEmpty { throw HTTPConnectionEnded() }
            if chunk.isEmpty { throw HTTPFramingError(status: 400, reason: "connection closed before the header ended") }
            let searchFrom = max(0, buffer.count - 3)
            buffer += chunk
            if let r = find([13, 10, 13, 10], in: buffer, from: searchFrom) { headEnd = r }
            if headEnd == nil && buffer.count > limits.maximumHeaderBytes || (headEnd ?? 0) > limits.maximumHeaderBytes {
                throw HTTPFramingError(status: 431, reason: "header larger than \(limits.maximumHeaderBytes) bytes")
            }
        }
        let head = String(decoding: buffer[..<headEnd!], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let start = lines.removeFirst()
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { throw HTTPFramingError(status: 400, reason: "malformed header line") }
            let name = line[..<colon].lowercased()
            // Two lengths (equal or not) leave the message's end to whoever reads it (request
            // smuggling behind a proxy); two hosts, its origin. Neither is ever legitimate.
            if headers[name] != nil, Self.singleHeaders.contains(name) {
                throw HTTPFramingError(status: 400, reason: "duplicate \(name) header")
            }
            headers[name] = String(line[line.index(after: colon)...].trimmingSpacesAndTabs)
        }
        let early = Array(buffer[(headEnd! + 4)...])
        let length: Int
        if let text = headers["content-length"] {
            guard let n = Int(text), n >= 0 else { throw HTTPFramingError(status: 400, reason: "bad Content-Length") }
            length = n
        } else {
            length = 0
        }
        let maximum = try maximumBody(start)
        guard length <= maximum else {
            throw HTTPFramingError(status: 413, reason: "body of \(length) bytes exceeds \(maximum)")
        }
        guard early.count <= length else { throw HTTPFramingError(status: 400, reason: "more bytes than Content-Length") }
        let stream = HTTPBodyStream(connection: c, length: length, early: early)
        if c.deadline != nil {
            // From here on the body's rate decides how long reads may wait, not the header deadline.
            stream.enforceRate(minimumBytesPerSecond: limits.minimumBodyBytesPerSecond, graceSeconds: limits.ioTimeoutSeconds)
        }
        return (start, headers, stream)
    }

    /// `keepAlive`: the connection stays open for another message (`connection: keep-alive`,
    /// and a server's answer adds `keep-alive: timeout=…, max=…` when the text is not empty);
    /// otherwise the message says `connection: close`.
    static func write(_ c: TLSConnection, start: String, headers: [String: String], body: [UInt8], keepAlive: String? = nil,
                      progress: ((Int) -> Void)? = nil) throws {
        var head = start + "\r\n"
        var all = headers
        all["content-length"] = String(body.count)
        if let keepAlive {
            all["connection"] = "keep-alive"
            if !keepAlive.isEmpty { all["keep-alive"] = keepAlive }
        } else {
            all["connection"] = "close"
        }
        for (k, v) in all.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        if body.count <= 64 * 1024 {
            try c.write(Array(head.utf8) + body)
            progress?(body.count)
        } else if let progress {
            // A megabyte at a time, saying how far it got.
            try c.write(Array(head.utf8))
            var done = 0
            try body.withUnsafeBytes { all in
                while done < all.count {
                    let n = min(1 << 20, all.count - done)
                    try c.write(UnsafeRawBufferPointer(rebasing: all[done..<(done + n)]))
                    done += n
                    progress(done)
                }
            }
        } else {
            // A large body goes out from where it lies, without a copy.
            try c.write(Array(head.utf8))
            try c.write(body)
        }
    }

    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = from
        while i + needle.count <= hay.count {
            if hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}

/// A message body read as it arrives, at most `length` bytes, under the connection's I/O
/// timeout and the deadline its head set (the minimum body rate). A change set far larger than
/// memory should hold streams through it a part at a time.
public final class HTTPBodyStream {
    let connection: TLSConnection?
    /// The body's length (`Content-Length`).
    public let length: Int
    /// Bytes handed out so far.
    public private(set) var consumed = 0
    private var early: [UInt8]
    private var scratch: [UInt8] = []
    /// The minimum rate, when enforced: (start, bytes per second, grace in nanoseconds).
    private var rate: (start: UInt64, bytesPerSecond: Int, grace: UInt64)?

    init(connection: TLSConnection?, length: Int, early: [UInt8]) {
        self.connection = connection
        self.length = length
        self.early = early
    }

    /// A body already in memory (tests, and callers that hold the bytes).
    public convenience init(bytes: [UInt8]) {
        self.init(connection: nil, length: bytes.count, early: bytes)
    }

    /// Enforces a minimum rate from now on: each read may wait only until the moment the
    /// bytes received so far would fall below `minimumBytesPerSecond` over the time since now,
    /// less `graceSeconds`. A sender that trickles is cut off however long it declared its body.
    public func enforceRate(minimumBytesPerSecond: Int, graceSeconds: Double) {
        rate = (Clock.now, max(1, minimumBytesPerSecond), UInt64(graceSeconds * 1e9))
    }

    /// Whether every byte of the body has been read.
    public var isComplete: Bool { consumed == length }

    /// Appends up to `max` more bytes of the body to `buffer`; returns how many (0 once the
    /// body is complete). A body that ends early is an error: nothing half-read is taken.
    @discardableResult
    public func read(into buffer: inout [UInt8], max: Int = 256 * 1024) throws -> Int {
        let want = Swift.min(max, length - consumed)
        guard want > 0 else { return 0 }
        if !early.isEmpty {
            let n = Swift.min(want, early.count)
            buffer.append(contentsOf: early[..<n])
            early.removeFirst(n)
            consumed += n
            return n
        }
        guard let connection else { throw HTTPFramingError(status: 400, reason: "connection closed inside the body") }
        if let rate {
            // consumed / bytesPerSecond seconds of credit, on top of the grace.
            let credit = UInt64(consumed) / UInt64(rate.bytesPerSecond) * 1_000_000_000
                + UInt64(consumed) % UInt64(rate.bytesPerSecond) * 1_000_000_000 / UInt64(rate.bytesPerSecond)
            connection.deadline = rate.start + rate.grace + credit
        }
        if scratch.count < want { scratch = [UInt8](repeating: 0, count: Swift.max(want, 64 * 1024)) }
        var n = 0
        var failure: TLSError?
        scratch.withUnsafeMutableBytes { p in
            do throws(TLSError) { n = try connection.read(into: UnsafeMutableRawBufferPointer(rebasing: p[..<want])) } catch { failure = error }
        }
        if let failure { throw failure }
        if n == 0 { throw HTTPFramingError(status: 400, reason: "connection closed inside the body") }
        buffer.append(contentsOf: scratch[..<n])
        consumed += n
        return n
    }

    /// Reads and discards the rest of the body.
    public func discard() throws {
        var sink: [UInt8] = []
        sink.reserveCapacity(256 * 1024)
        while try read(into: &sink) > 0 { sink.removeAll(keepingCapacity: true) }
    }

    /// The rest of the body, whole.
    public func readAll() throws -> [UInt8] {
        var body: [UInt8] = []
        body.reserveCapacity(length - consumed)
        while try read(into: &body) > 0 {}
        return body
    }
}

extension Substring {
    /// Without the spaces and tabs at either end: HTTP's optional white space around a header
    /// value (RFC 9110, 5.6.3), a PEM line's indent. By hand, where Foundation's
    /// `trimmingCharacters(in:)` goes through `NSString` and looks its types up at run time.
    var trimmingSpacesAndTabs: Substring {
        var s = self
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return s
    }
}
