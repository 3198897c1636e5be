/// One point of a node's audit hash chain: the entry count (the last sequence number) and that
/// entry's hash. Sent to the other side, it is an **anchor**: a rewritten history no longer has
/// this hash at this sequence (docs/conventions.md (h)).
public struct AuditHead: Sendable, Hashable, Codable, CustomStringConvertible {
    public var seq: Int64
    public var hash: String

    public init(seq: Int64, hash: String) {
        self.seq = seq
        self.hash = hash
    }

    /// An empty chain: no entry, the genesis hash (64 zeros).
    public static let genesis = AuditHead(seq: 0, hash: String(repeating: "0", count: 64))

    /// `<seq> <64 hex>`, as the change-set header's `audit` line carries it.
    public var description: String { "\(seq) \(hash)" }

    /// Reads `<seq> <64 lower-case hex>`; nil for anything else.
    public init?(text: some StringProtocol) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, let seq = Int64(parts[0]), seq >= 0, String(seq) == parts[0],
              Self.isHash(parts[1]) else { return nil }
        self.init(seq: seq, hash: String(parts[1]))
    }

    /// 64 lower-case hex digits.
    public static func isHash(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// `{"hash":…,"seq":…}`.
    public var json: JSONValue { ["hash": .string(hash), "seq": .int(seq)] }

    /// Reads `{"hash":…,"seq":…}`; nil for anything else.
    public init?(json: JSONValue?) {
        guard let json, let seq = json["seq"]?.intValue, seq >= 0, let hash = json["hash"]?.stringValue,
              Self.isHash(hash) else { return nil }
        self.init(seq: seq, hash: hash)
    }
}
