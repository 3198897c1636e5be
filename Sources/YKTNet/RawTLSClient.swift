internal import COpenSSL
import Dispatch
import YKTCrypto
#if canImport(Glibc)
import Glibc
#endif

/// What a broken or hostile peer needs and a node never uses (integration/ykt-hostile): a
/// mutual-TLS connection that writes exactly the bytes it is given, when it is told to (a
/// `Content-Length` that is not the body's, a body trickled a few bytes at a time), and plain
/// TCP connections that never speak TLS. Nodes use `TLSClient`.
public final class RawTLSClient {
    let connection: TLSConnection

    /// A TCP connection to `host:port`, from `source` (an IPv4 address of this host) when
    /// given, that has sent nothing. The connect and every read and write give up after
    /// `timeoutSeconds`. The caller owns the descriptor and closes it.
    public static func openTCP(host: String, port: UInt16, source: String? = nil,
                               timeoutSeconds: Double = 10) throws(SocketError) -> Int32 {
        try Socket.connect(host: host, port: port, source: source, timeoutSeconds: timeoutSeconds)
    }

    /// Connects (from `source` when given) and completes the handshake; nothing is sent yet.
    public init(host: String, port: UInt16, context: TLSContext, source: String? = nil, timeoutSeconds: Double = 10) throws {
        let fd = try Socket.connect(host: host, port: port, source: source, timeoutSeconds: timeoutSeconds)
        connection = try TLSConnection(context: context, fd: fd, server: false, timeoutSeconds: timeoutSeconds)
    }

    /// The server certificate's name.
    public var peer: String? { connection.peerCommonName }

    /// Writes `bytes` as they are.
    public func write(_ bytes: [UInt8]) throws {
        try connection.write(bytes)
    }

    /// Whether the server has sent data (an answer) or closed the connection, waiting at most
    /// `seconds` for it. TLS records that carry no data (a session ticket) do not count.
    public func readable(within seconds: Double) -> Bool {
        let deadline = Clock.now + UInt64(max(0, seconds) * 1e9)
        while true {
            if SSL_pending(connection.ssl) > 0 { return true }
            let now = Clock.now
            var p = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(now < deadline ? (deadline - now) / 1_000_000 : 0)) > 0 else { return false }
            // Something arrived: look without waiting whether it is data, a close, or a record
            // OpenSSL consumes by itself.
            let flags = fcntl(connection.fd, F_GETFL)
            _ = fcntl(connection.fd, F_SETFL, flags | O_NONBLOCK)
            var byte: UInt8 = 0
            var got = 0
            let rc = SSL_peek_ex(connection.ssl, &byte, 1, &got)
            let err = SSL_get_error(connection.ssl, rc)
            _ = fcntl(connection.fd, F_SETFL, flags)
            _ = OpenSSLError.drain("SSL_peek_ex")
            if rc != 1, err == SSL_ERROR_WANT_READ {
                if Clock.now >= deadline { return false }
                continue
            }
            return true   // data, or a close or failure the next read reports
        }
    }

    /// Reads the server's answer (status line, headers, a body of at most `limits`).
    public func response(limits: HTTPLimits = HTTPLimits()) throws -> HTTPResponse {
        let (start, headers, body) = try HTTPFraming.read(connection, limits: limits)
        let parts = start.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, let status = Int(parts[1]) else { throw TLSError.io("bad status line") }
        return HTTPResponse(status: status, headers: headers, body: body)
    }
}
