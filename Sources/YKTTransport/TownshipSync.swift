import Foundation
import YKTCore
import YKTCrypto
import YKTNet
import YKTNode
import YKTSync
import YKTTownship

/// One township's sync with the county over mutual TLS: push the outbox as signed change
/// sets, then pull the county's messages. `ykt sync` runs rounds of it; tests run it
/// in-process against a `CountyServer`.
public struct TownshipSync {
    public let node: TownshipNode
    public let host: String
    public let port: UInt16
    /// The client's TLS context, made on a thread of its own (reading OpenSSL's configuration,
    /// the certificate, key, CA and CRL files takes about 2.5 ms, as long as opening the node and
    /// building the first change set): waited for at the first connection.
    let context: Background<TLSContext>
    var limits = HTTPLimits()
    /// How long the township waits for the county's answer to a change set it has sent whole
    /// (the county applies it first: about 5 s for 500,000 registrations on a modest machine).
    public static let answerWaitSeconds = 300.0
    /// A change set smaller than this is sent on the round's own thread.
    static let inlineSendBytes = 64 * 1024

    /// What a round has done so far, for a progress display.
    public struct Progress: Sendable {
        public var changeSets = 0
        public var operations = 0
        public var bytesSent = 0
    }

    /// From `node.conf` (`county_address` unless `county` is given, and the TLS files). The TLS
    /// context is `context` when given (`startContext`), else started here; a certificate, key
    /// or CRL that cannot be used is reported by the round (or `contextReady`).
    public init(node: TownshipNode, county: String? = nil, context: Background<TLSContext>? = nil) throws(YKTError) {
        self.node = node
        let address = county ?? node.config.extra["county_address"] ?? ""
        (host, port) = try NodeTLS.address(address, field: county == nil ? "county_address" : "--county")
        let files = try NodeTLS.files(node.config, directory: node.directory)
        self.context = context ?? Background(name: "ykt-tls") { try NodeTLS.context(.client, files) }
    }

    /// Starts making the client TLS context of the node in `directory` from its `node.conf`, so
    /// that it is made while the node opens (`ykt sync`). Nil when `node.conf` cannot be read or
    /// names no TLS files: opening the node, or `init`, then says what is wrong.
    public static func startContext(directory: String) -> Background<TLSContext>? {
        let path = (directory as NSString).appendingPathComponent(NodeConfig.fileName)
        guard let data = FileManager.default.contents(atPath: path),
              let config = try? NodeConfig(text: String(decoding: data, as: UTF8.self), file: path),
              let files = try? NodeTLS.files(config, directory: directory) else { return nil }
        return Background(name: "ykt-tls") { try NodeTLS.context(.client, files) }
    }

    /// Waits for the TLS context; throws what kept it from being made (`YKT-CRL-EXPIRED`, files
    /// that cannot be read). The scheduled sync asks before its first round, so that it stops at
    /// once on a configuration that no round could use.
    public func contextReady() throws {
        _ = try context.value()
    }

    /// One round: push everything pending, then pull. One round at a time per node (the node
    /// directory's sync lock). Network failures come out as `SyncFailure` names them.
    public func round(progress: (@Sendable (Progress) -> Void)? = nil) throws -> TownshipNode.PushReport {
        let lock = try SyncLock(directory: node.directory)
        defer { lock.release() }
        // What the round did is kept for `ykt status` (sync_state), outside the audit trail.
        do {
            let report = try unlockedRound(progress: progress)
            try? node.recordSyncSuccess(report)
            return report
        } catch {
            let failure = SyncFailure.map(error, county: "\(host):\(port)", timeoutSeconds: limits.ioTimeoutSeconds)
            try? node.recordSyncFailure(failure)
            throw failure
        }
    }

    private func unlockedRound(progress: (@Sendable (Progress) -> Void)?) throws -> TownshipNode.PushReport {
        let (host, port, pending, limits) = (self.host, self.port, self.context, self.limits)
        let countyCode = node.config.countyCode
        let counter = ProgressCounter(report: progress)
        // The last change set's connection, when the county kept it open: the pull goes on it,
        // saving a connection and its handshake.
        let kept = KeptExchange()
        var report = try node.pushPipelined { bytes, signature in
            // A large change set is sent and answered on a thread of its own (below): the county
            // reads the body as it arrives, so the next change set is built meanwhile.
            let seq = (try? ChangeSet.readHeader(bytes))?.header.seq ?? 0
            let gate = SentGate()
            let send = { @Sendable () throws -> TownshipNode.CountyAnswer in
                // Open once the request is written whole (or could not be): the next change set
                // may then follow on a connection of its own.
                var written = false
                defer { if !written { gate.open() } }
                let context = try pending.value()
                let exchange = try TLSClient.start(
                    HTTPRequest(method: "POST", path: SyncProtocol.changeSetsPath,
                                headers: [SyncProtocol.signatureHeader: Hex.encode(signature),
                                          "content-type": SyncProtocol.changeSetContentType],
                                body: bytes),
                    host: host, port: port, context: context, limits: limits, keepAlive: true, checkPeer: { peer in
                        // Nothing is sent to a server that is not the county.
                        guard peer == countyCode else {
                            throw YKTError(.syncPeer, "对端证书是 \(peer ?? "无")，不是县级节点 \(countyCode)")
                        }
                    }, progress: counter.map { c in { c.sent($0, of: seq) } })
                written = true
                gate.open()
                // The county reads the whole body, then applies it before it answers: a large
                // change set's answer may take longer than one I/O timeout.
                let (response, _) = try exchange.response(waitingUpTo: TownshipSync.answerWaitSeconds)
                kept.keep(exchange.reusable ? exchange : nil)
                counter?.finished(seq, operations: (try? ChangeSet.readHeader(bytes))?.header.ops ?? 0)
                let sig = response.headers[SyncProtocol.signatureHeader].flatMap { Hex.decode($0) }
                return TownshipNode.CountyAnswer(status: response.status, body: response.body, signature: sig,
                                                 keyID: response.headers[SyncProtocol.keyHeader],
                                                 keyChain: try TownshipSync.keyChain(response))
            }
            // A small change set (a day's work) is sent here: a thread would cost more to start
            // than building the next set beside it saves.
            if bytes.count < TownshipSync.inlineSendBytes {
                let answer = Result { try send() }
                return TownshipNode.Sending { try answer.get() }
            }
            let sending = Background(name: "ykt-send", send)
            return TownshipNode.Sending(sent: { gate.wait() }, answer: { try sending.value() })
        }
        report.pulled = try node.pull { after, anchor in
            let headers = anchor.map { [SyncProtocol.auditAnchorHeader: $0.description] } ?? [:]
            let request = HTTPRequest(method: "GET", path: SyncProtocol.streamPath(after: after), headers: headers)
            // On the push's connection when it was kept (its peer checked then); on a new one
            // when there is none or it failed (a GET is safe to send again).
            let (r, peer) = try kept.take().flatMap { exchange in (try? exchange.send(request)).map { ($0, exchange.peer) } }
                ?? TLSClient.send(request, host: host, port: port, context: try pending.value(), limits: limits)
            guard peer == countyCode else {
                throw YKTError(.syncPeer, "对端证书是 \(peer ?? "无")，不是县级节点 \(countyCode)")
            }
            return TownshipNode.CountyAnswer(status: r.status, body: r.body, signature: nil,
                                             keyID: r.headers[SyncProtocol.keyHeader], keyChain: try TownshipSync.keyChain(r))
        }
        return report
    }

    /// The county's key rotation statements sent beside an answer (none from an older county).
    static func keyChain(_ response: HTTPResponse) throws(YKTError) -> [KeyRotation] {
        guard let value = response.headers[SyncProtocol.countyKeysHeader] else { return [] }
        return try KeyRotation.chain(parsing: value)
    }
}

/// Adds up a round's progress across the sending threads (two change sets may be on their way
/// at once).
final class ProgressCounter: @unchecked Sendable {
    // Safe: `state`, `finishedBytes` and `sending` are guarded by `lock`; `report` is set once.
    private let lock = NSLock()
    private var state = TownshipSync.Progress()
    private var finishedBytes = 0
    private var sending: [Int64: Int] = [:]
    private let report: @Sendable (TownshipSync.Progress) -> Void

    init?(report: (@Sendable (TownshipSync.Progress) -> Void)?) {
        guard let report else { return nil }
        self.report = report
    }

    /// Change set `seq` has `bytesOfThisSet` bytes sent so far.
    func sent(_ bytesOfThisSet: Int, of seq: Int64) {
        let now = lock.withLock {
            sending[seq] = bytesOfThisSet
            state.bytesSent = finishedBytes + sending.values.reduce(0, +)
            return state
        }
        report(now)
    }

    func finished(_ seq: Int64, operations: Int) {
        let now = lock.withLock {
            finishedBytes += sending.removeValue(forKey: seq) ?? 0
            state.changeSets += 1
            state.operations += operations
            state.bytesSent = finishedBytes + sending.values.reduce(0, +)
            return state
        }
        report(now)
    }
}

/// Opened once, when a change set's request is written whole (or could not be); waited for by
/// the push before it sends the next one.
final class SentGate: @unchecked Sendable {
    // Safe: a semaphore; `open` is called once.
    private let semaphore = DispatchSemaphore(value: 0)
    func open() { semaphore.signal() }
    func wait() {
        semaphore.wait()
        semaphore.signal()   // a second wait returns at once
    }
}

/// The one connection a round may keep between its push and its pull (set on the sending
/// thread, taken on the round's).
private final class KeptExchange: @unchecked Sendable {
    // Safe: `exchange` is only touched under `lock`, and used by one thread at a time.
    private let lock = NSLock()
    private var exchange: TLSClient.Exchange?

    /// Keeps `exchange` (nil: none), closing the one kept before.
    func keep(_ exchange: TLSClient.Exchange?) { lock.withLock { self.exchange = exchange } }

    func take() -> TLSClient.Exchange? { lock.withLock { defer { exchange = nil }; return exchange } }
}
