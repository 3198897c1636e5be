import Dispatch
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

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 431: "Request Header Fields Too Large"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

public struct HTTPLimits: Sendable {
    public var maximumHeaderBytes = 16 * 1024
    public var maximumBodyBytes = 64 * 1024 * 1024
    /// Each read or write gives up after this long.
    public var ioTimeoutSeconds = 10.0
    /// The TLS handshake, request line and headers must all arrive within this, however the peer
    /// trickles them (a byte now and then would otherwise reset the I/O timeout forever).
    public var headerDeadlineSeconds = 30.0
    /// The body must then arrive at this rate at least, on top of one I/O timeout.
    public var minimumBodyBytesPerSecond = 16 * 1024
    public init() {}
}

/// Why a message could not be read; the server answers with `status`.
struct HTTPFramingError: Error {
    var status: Int
    var reason: String
}

enum HTTPFraming {
    /// Reads one message head and body from `connection`.
    static func read(_ c: TLSConnection, limits: HTTPLimits) throws -> (start: String, headers: [String: String], body: [UInt8]) {
        var buffer: [UInt8] = []
        var headEnd: Int?
        while headEnd == nil {
            let chunk = try c.read(max: 16 * 1024)
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
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(buffer[(headEnd! + 4)...])
        let length: Int
        if let text = headers["content-length"] {
            guard let n = Int(text), n >= 0 else { throw HTTPFramingError(status: 400, reason: "bad Content-Length") }
            length = n
        } else {
            length = 0
        }
        guard length <= limits.maximumBodyBytes else {
            throw HTTPFramingError(status: 413, reason: "body of \(length) bytes exceeds \(limits.maximumBodyBytes)")
        }
        guard body.count <= length else { throw HTTPFramingError(status: 400, reason: "more bytes than Content-Length") }
        if c.deadline != nil {
            c.deadline = DispatchTime.now().uptimeNanoseconds
                + UInt64((limits.ioTimeoutSeconds + Double(length) / Double(max(1, limits.minimumBodyBytesPerSecond))) * 1e9)
        }
        body.reserveCapacity(length)
        while body.count < length {
            let chunk = try c.read(max: min(256 * 1024, length - body.count))
            if chunk.isEmpty { throw HTTPFramingError(status: 400, reason: "connection closed inside the body") }
            body += chunk
        }
        return (start, headers, body)
    }

    static func write(_ c: TLSConnection, start: String, headers: [String: String], body: [UInt8]) throws {
        var head = start + "\r\n"
        var all = headers
        all["content-length"] = String(body.count)
        all["connection"] = "close"
        for (k, v) in all.sorted(by: { $0.key < $1.key }) { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        try c.write(Array(head.utf8) + body)
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
