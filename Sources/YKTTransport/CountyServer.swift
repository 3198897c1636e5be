import Foundation
import YKTCore
import YKTNode
import YKTCounty
import YKTNet
import YKTStore
import YKTSync
import YKTTownship

/// The county's sync server, wired from its node directory: the TLS server, the protocol's
/// routes (`CountyService`), the checkpointer beside the serving connection, and the limits
/// `node.conf` sets. `ykt serve` only starts and stops it; tests run it in-process.
public final class CountyServer: @unchecked Sendable {
    // Safe: set up in init, then only `stop` touches the parts, once.
    public let server: TLSServer
    public let service: CountyService
    /// The server's TLS context: its CRL is re-read when the file changes, or by `reloadCRL`.
    public let tls: TLSContext
    private let checkpointer: BackgroundCheckpointer

    /// Connections one township certificate may hold at once (a sync round needs one at a time):
    /// one valid township cannot take all the slots. Per certificate, not per address, so that
    /// townships behind one address (a county network's NAT) are not capped together.
    public static let connectionsPerTownship = 4

    /// The limits `node.conf` sets: `io_timeout_seconds`, `handshake_deadline_seconds`,
    /// `header_deadline_seconds`, `min_body_bytes_per_second`, `max_changeset_bytes`,
    /// `max_pending_per_address` (each optional; docs/operations-guide.md).
    public static func limits(_ config: NodeConfig) throws(YKTError) -> HTTPLimits {
        var limits = HTTPLimits()
        // Two requests a connection at most, each under the same limits: a township pulls on
        // the connection of its last push (docs/protocol.md, "Transport").
        limits.maximumRequestsPerConnection = 2
        func number(_ key: String) throws(YKTError) -> Double? {
            guard let text = config.extra[key] else { return nil }
            guard let v = Double(text), v > 0, v.isFinite else {
                throw YKTError(.nodeConfig, "node.conf 的 \(key) 应为正数，现为「\(text)」",
                               at: SourceLocation(file: NodeConfig.fileName, field: key))
            }
            return v
        }
        if let t = try number("io_timeout_seconds") { limits.ioTimeoutSeconds = t }
        if let t = try number("handshake_deadline_seconds") { limits.handshakeDeadlineSeconds = t }
        if let t = try number("header_deadline_seconds") { limits.headerDeadlineSeconds = t }
        if let n = try number("min_body_bytes_per_second") { limits.minimumBodyBytesPerSecond = Int(min(n, 1e12)) }
        if let n = try number("max_changeset_bytes") { limits.maximumStreamedBodyBytes = Int(min(n, Double(SyncProtocol.maximumBodyBytes))) }
        if let n = try number("max_pending_per_address") { limits.maximumPendingPerAddress = Int(min(n, 1e6)) }
        return limits
    }

    /// Sets up the county's database for serving (page cache, durable commits, checkpoints on
    /// a thread of their own) and listens on `host:port` (port 0: the OS chooses).
    /// Every request, refusal summary and checkpoint failure goes to `logger` (label
    /// `ykt.serve`; never personal data).
    public init(county: CountyNode, host: String, port: UInt16, logger: Logger? = nil) throws {
        let config = county.config
        let limits = try Self.limits(config)
        county.maximumChangeSetBytes = limits.maximumStreamedBodyBytes
        let files = try NodeTLS.files(config, directory: county.directory)
        let context = try NodeTLS.context(.server, files)
        tls = context
        // The serving connection commits; checkpoints run beside it on the other core.
        // A failing checkpoint lets the log grow without limit: each failure and the recovery
        // are logged.
        checkpointer = try BackgroundCheckpointer(takeOverCheckpoints: county.db) { event in
            switch event {
            case .failed(let error, let consecutive, let retryIn):
                logger?.error("checkpoint failed", ["consecutive": String(consecutive),
                                                    "retry_in": retryIn.map { String(format: "%.1f", $0) } ?? "never",
                                                    "sqlite": String(error.extendedCode), "error": error.message])
            case .recovered(let failures):
                logger?.notice("checkpoint works again", ["failures": String(failures)])
            case .checkpointed, .busy:
                break
            }
        }
        // A page cache that holds most of the county-wide register, so that registrations
        // arriving in random ID order rarely spill pages to the log mid-change-set or read them
        // back from it. 128 MiB: a push of a million registrations took as long as with 256 MiB
        // (within the noise), and `ykt serve` peaked at 190 MB instead of 338 (docs/performance.md).
        let cacheMiB = config.extra["cache_mib"].flatMap(Int.init).map { max(16, min($0, 64 * 1024)) } ?? 128
        try county.db.execute("PRAGMA cache_size=-\(cacheMiB * 1024)")
        // A receipt tells a township its change set is taken, and it never sends it again:
        // each commit is on disk before its receipt leaves.
        try county.db.execute("PRAGMA synchronous=FULL")
        let checkpointer = self.checkpointer
        let service = CountyService(county, committed: { checkpointer.request() })
        self.service = service
        do {
            server = try TLSServer(context: context, host: host, port: port, limits: limits,
                                   maximumConnectionsPerPeer: Self.connectionsPerTownship, router: CountyService.router,
                                   streamingHandler: { peer, request, body in service.receive(peer: peer, request: request, body: body) },
                                   handler: { peer, request in service.handle(peer: peer, request: request) })
        } catch {
            checkpointer.stop()
            throw YKTError(.nodeConfig, "不能监听 \(host):\(port)：\(error)", hint: "换一个端口或停止占用它的程序")
        }
        if let logger {
            server.log = { line in
                logger.log(line.level == .warning ? .warning : .info, line.message,
                           pairs: line.metadata.map { (key: $0.0, value: $0.1) })
            }
        }
    }

    public var port: UInt16 { server.port }

    /// Reads the CRL again now (SIGHUP), whether or not its file changed; an unreadable or
    /// expired one is an error (and every connection is refused until it is replaced).
    public func reloadCRL() throws(YKTError) {
        do {
            try tls.reloadCRL()
            try tls.checkCRL()
        } catch {
            throw NodeTLS.crlError(error) ?? YKTError(.nodeConfig, "\(error)")
        }
    }

    public func start() { server.start() }

    /// Finishes the connections under way, then stops checkpointing.
    public func stop() {
        server.stop()
        checkpointer.stop()
    }
}
