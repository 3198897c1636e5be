#if canImport(Glibc)
import Glibc
#endif

/// Thin POSIX socket wrappers in the manner of swift-nio's `System.swift`: calls are retried on
/// `EINTR`, runtime failures throw `SocketError` with the call and errno.
public struct SocketError: Error, Sendable, CustomStringConvertible {
    public var call: String
    public var errno: Int32
    public var description: String { "\(call) failed: \(String(cString: strerror(errno))) (\(errno))" }
}

enum Socket {
    static func retrying(_ call: String, _ body: () -> Int32) throws(SocketError) -> Int32 {
        while true {
            let r = body()
            if r >= 0 { return r }
            if errno == EINTR { continue }
            throw SocketError(call: call, errno: errno)
        }
    }

    static func address(_ host: String, _ port: UInt16) throws(SocketError) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else { throw SocketError(call: "inet_pton(\(host))", errno: EINVAL) }
        return addr
    }

    /// A listening TCP socket on `host:port` (port 0: the OS chooses); returns it and the port.
    static func listen(host: String, port: UInt16, backlog: Int32 = 128) throws(SocketError) -> (fd: Int32, port: UInt16) {
        let fd = try retrying("socket") { socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var addr = try address(host, port)
            _ = try retrying("bind") {
                withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            }
            _ = try retrying("listen") { Glibc.listen(fd, backlog) }
            var bound = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = try retrying("getsockname") {
                withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    getsockname(fd, $0, &length) } }
            }
            return (fd, UInt16(bigEndian: bound.sin_port))
        } catch {
            close(fd)
            throw error
        }
    }

    /// A connected TCP socket. `source` (an IPv4 address of this host) is bound before the
    /// connect, so the connection comes from that address; `timeoutSeconds` bounds the connect
    /// itself (Linux applies the send timeout to it) and every later read and write.
    static func connect(host: String, port: UInt16, source: String? = nil, timeoutSeconds: Double? = nil) throws(SocketError) -> Int32 {
        let fd = try retrying("socket") { socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do {
            if let timeoutSeconds { setTimeouts(fd, seconds: timeoutSeconds) }
            if let source {
                var from = try address(source, 0)
                _ = try retrying("bind(\(source))") {
                    withUnsafePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                }
            }
            var addr = try address(host, port)
            _ = try retrying("connect") {
                withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            }
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// Every read and write on `fd` gives up after `seconds` (a stalled peer cannot hold a
    /// connection forever).
    static func setTimeouts(_ fd: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
}
