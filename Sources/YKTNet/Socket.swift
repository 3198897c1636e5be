#if canImport(Glibc)
import Glibc
#endif

/// A failed socket call: the call and its errno. Runtime failures (a refused connection, a
/// reset) are thrown as this; `isTimeout` and `isUnreachable` name the ones a caller treats
/// differently.
public struct SocketError: Error, Sendable, CustomStringConvertible {
    public var call: String
    public var errno: Int32
    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }
    public var description: String { "\(call) failed: \(String(cString: strerror(errno))) (\(errno))" }
    /// The peer did not answer in time.
    public var isTimeout: Bool { errno == ETIMEDOUT || errno == EAGAIN || errno == EWOULDBLOCK }
    /// Nothing listens there, or the network does not reach it: the peer is offline.
    public var isUnreachable: Bool {
        [ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, ENETDOWN, EHOSTDOWN, ETIMEDOUT, ECONNRESET].contains(errno)
    }
}

/// Thin POSIX socket wrappers in the manner of swift-nio's `System.swift`: calls are retried on
/// `EINTR` (except `connect`, whose completion is polled for instead), runtime failures throw
/// `SocketError` with the call and errno.
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

    /// The dotted IPv4 address of a peer (for per-address limits and logs).
    static func text(_ addr: sockaddr_in) -> String {
        var a = addr.sin_addr
        var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        guard inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
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

    /// A connected TCP socket, or a `SocketError`: `ETIMEDOUT` when the connection is not made
    /// within `timeoutSeconds`. `connect` is not retried after `EINTR` (a second call fails with
    /// `EALREADY`): the socket is non-blocking while connecting and its completion is polled for.
    /// `source` (an IPv4 address of this host) is bound first, so the connection comes from it
    /// (tests and the hostile client play other hosts on loopback). Reads and writes are then
    /// bounded by `timeoutSeconds` too, until the caller sets its own.
    /// Sends each write at once (TCP_NODELAY): a message goes out whole in one write, so
    /// Nagle's algorithm would only hold the last part of it back until the peer's delayed
    /// acknowledgement (40 ms), as it did to an answer on a kept-alive connection.
    static func noDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    static func connect(host: String, port: UInt16, source: String? = nil,
                        timeoutSeconds: Double = 10) throws(SocketError) -> Int32 {
        let fd = try retrying("socket") { socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        do throws(SocketError) {
            setTimeouts(fd, seconds: timeoutSeconds)
            if let source {
                var local = try address(source, 0)
                _ = try retrying("bind") {
                    withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                }
            }
            var addr = try address(host, port)
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if rc != 0 {
                guard errno == EINPROGRESS || errno == EINTR else { throw SocketError(call: "connect", errno: errno) }
                try waitUntilWritable(fd, timeoutSeconds: timeoutSeconds)
                var failure: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                _ = try retrying("getsockopt") { getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) }
                if failure != 0 { throw SocketError(call: "connect", errno: failure) }
            }
            _ = fcntl(fd, F_SETFL, flags)
            noDelay(fd)
            return fd
        } catch {
            close(fd)
            throw error
        }
    }

    /// Polls until `fd` is writable (a non-blocking connect has completed), retrying on `EINTR`
    /// with the time left; `ETIMEDOUT` when the time runs out.
    static func waitUntilWritable(_ fd: Int32, timeoutSeconds: Double) throws(SocketError) {
        let deadline = Clock.now + UInt64(timeoutSeconds * 1e9)
        while true {
            let now = Clock.now
            guard now < deadline else { throw SocketError(call: "connect", errno: ETIMEDOUT) }
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let n = poll(&p, 1, Int32((deadline - now) / 1_000_000) + 1)
            if n > 0 { return }
            if n == 0 { throw SocketError(call: "connect", errno: ETIMEDOUT) }
            if errno != EINTR { throw SocketError(call: "poll", errno: errno) }
        }
    }

    /// Every read and write on `fd` gives up after `seconds` (a stalled peer cannot hold a
    /// connection forever).
    static func setTimeouts(_ fd: Int32, seconds: Double) {
        var tv = timeval(seconds)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    static func setReadTimeout(_ fd: Int32, seconds: Double) {
        var tv = timeval(seconds)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
}

extension timeval {
    /// At least a millisecond: a zero timeval would mean "no timeout".
    init(_ seconds: Double) {
        let s = Swift.max(seconds, 0.001)
        self.init(tv_sec: Int(s), tv_usec: Int((s - Double(Int(s))) * 1_000_000))
    }
}

/// Monotonic time in nanoseconds.
public enum Clock {
    public static var now: UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
