import Foundation
import YKTDemo
#if canImport(Glibc)
import Glibc
#endif

/// A TCP proxy on 127.0.0.1 (OS-chosen port) between a township and the county that breaks
/// connections on purpose: two new connections in each five get one fault (which two, and which
/// fault, drawn from a seeded generator, so a run of n connections gets at least 2·⌊n/5⌋):
/// dropped at once, reset (RST), delayed chunk by chunk, truncated mid-message, or with one
/// byte flipped. With `faulty` off it relays faithfully. For the proving ground's network trials.
final class FaultProxy: @unchecked Sendable {
    enum Fault: String, CaseIterable, Sendable { case none, drop, reset, delay, truncate, flip }

    let port: UInt16
    private let upstream: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var rng: SplitMix64
    private var on = true
    private var counts: [Fault: Int] = [:]
    /// Which of the current five connections get a fault (two of them), the next one first.
    private var block: [Bool] = []
    private var stopped = false

    init(upstream: UInt16, seed: UInt64) throws {
        self.upstream = upstream
        rng = SplitMix64(seed: seed)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Faults on (each connection draws one, `none` included) or off (faithful relay).
    var faulty: Bool {
        get { lock.withLock { on } }
        set { lock.withLock { on = newValue } }
    }

    /// How many connections got each fault.
    var injected: [Fault: Int] { lock.withLock { counts } }

    func stop() {
        lock.withLock { stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    static func loopback(port: UInt16) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return a
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if lock.withLock({ stopped }) { return }
                continue
            }
            let (fault, amount) = lock.withLock { () -> (Fault, Int) in
                // Two connections in each five get a fault, so some syncs get through between
                // faults, and every seed breaks as many (a sync round uses one connection or two).
                if block.isEmpty {
                    block = [true, true, false, false, false]
                    for i in stride(from: block.count - 1, to: 0, by: -1) { block.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                }
                let faults = Fault.allCases.filter { $0 != .none }
                let f = on && block.removeFirst() ? faults[Int(rng.next() % UInt64(faults.count))] : .none
                counts[f, default: 0] += 1
                return (f, Int(rng.next() % 3_000) + 1)
            }
            Thread.detachNewThread { [self] in relay(client, fault: fault, amount: amount) }
        }
    }

    private func relay(_ client: Int32, fault: Fault, amount: Int) {
        switch fault {
        case .drop:
            close(client)
            return
        case .reset:
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            close(client)
            return
        default: break
        }
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = Self.loopback(port: upstream)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(client)
            close(server)
            return
        }
        let done = DispatchGroup()
        for (from, to, upward) in [(client, server, true), (server, client, false)] {
            done.enter()
            Thread.detachNewThread { [self] in
                pump(from, to, fault: fault, amount: amount, upward: upward)
                done.leave()
            }
        }
        done.wait()
        close(client)
        close(server)
    }

    /// Copies one direction. `amount` is where truncation cuts (bytes sent upward) or which byte
    /// a flip changes (in the direction the fault picked: upward for even amounts).
    private func pump(_ from: Int32, _ to: Int32, fault: Fault, amount: Int, upward: Bool) {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var total = 0
        defer { shutdown(to, Int32(SHUT_WR)) }
        while true {
            let n = read(from, &buffer, buffer.count)
            if n <= 0 { return }
            var count = n
            switch fault {
            case .delay:
                usleep(UInt32(amount % 150) * 1_000)
            case .truncate where upward:
                if total + count >= amount {
                    count = amount - total
                    _ = send(to, buffer, count, Int32(MSG_NOSIGNAL))
                    shutdown(from, Int32(SHUT_RDWR))
                    shutdown(to, Int32(SHUT_RDWR))
                    return
                }
            case .flip where upward == (amount % 2 == 0):
                let at = amount % 1_500
                if at >= total && at < total + count { buffer[at - total] ^= 0x20 }
            default: break
            }
            total += count
            var sent = 0
            while sent < count {
                // MSG_NOSIGNAL: a peer that has gone must not raise SIGPIPE in the test process.
                let w = buffer.withUnsafeBytes { send(to, $0.baseAddress! + sent, count - sent, Int32(MSG_NOSIGNAL)) }
                if w <= 0 { return }
                sent += w
            }
        }
    }
}
