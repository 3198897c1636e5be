/// The constants of the sync protocol over HTTP/1.1 (docs/protocol.md), in one place for both
/// nodes, the tests and the hostile client.
public enum SyncProtocol {
    /// `POST`: a township's change set (header and body as signed), answered by a receipt.
    public static let changeSetsPath = "/v1/changesets"
    /// `GET /v1/stream?after=N`: the county's messages to the township after number N.
    public static let streamPath = "/v1/stream"
    public static let streamAfterQuery = "after"
    /// The Ed25519 signature (hex) of a change set's header, or of a receipt's body.
    public static let signatureHeader = "x-ykt-signature"
    /// On a stream request: the last anchor of the county's audit trail the township holds,
    /// `<seq> <64 hex>`, which the county checks against its own chain before it answers.
    public static let auditAnchorHeader = "x-ykt-audit-anchor"
    /// The id of the county key that signed a receipt or the stream's messages.
    public static let keyHeader = "x-ykt-key"
    /// The county's key rotation statements (`KeyRotation.chain`), beside every county answer.
    public static let countyKeysHeader = "x-ykt-county-keys"
    /// The port `ykt serve` listens on when neither `--listen` nor node.conf's `listen` names one
    /// (docs/protocol.md, "Transport"), on every address of the county's host; a township's
    /// `county_address` names the county's host and this port.
    public static let defaultPort: UInt16 = 8443
    public static var defaultListen: String { "0.0.0.0:\(defaultPort)" }
    public static let changeSetContentType = "application/vnd.ykt.changeset"
    public static let receiptContentType = "application/json; charset=utf-8"
    public static let streamContentType = "application/x-ndjson; charset=utf-8"

    /// The path that asks for the messages after `after`.
    public static func streamPath(after: Int64) -> String { "\(streamPath)?\(streamAfterQuery)=\(after)" }

    /// `after` of a stream request path, or nil when the path is not one.
    public static func streamAfter(_ path: String) -> Int64?? {
        let prefix = "\(streamPath)?\(streamAfterQuery)="
        guard path.hasPrefix(prefix) else { return nil }
        guard let n = Int64(path.dropFirst(prefix.count)), n >= 0 else { return .some(nil) }
        return .some(n)
    }

    /// The most operations a change set may declare; a header above it is refused before any
    /// arithmetic or allocation is made from it.
    public static let maximumOperations = 50_000_000
    /// The largest body a change set may declare (1 TiB) whatever a county allows; a county's
    /// own `max_changeset_bytes` is lower. Bounds every sum made from the header.
    public static let maximumBodyBytes = 1 << 40
}
