import YKTCore
import YKTCrypto

/// A change set: one batch of domain operations from one node, as exact bytes.
///
/// ```
/// YKT-CHANGESET/3
/// schema: 1
/// node: 450223101
/// key: 3f2a9c0d11e4b7a8
/// seq: 7
/// prev: <64 hex: SHA-256 of change set 6's bytes; 64 zeros for the first>
/// ops: 3
/// body: 1234
/// body-sha256: <64 hex>
/// audit: <the township's audit entries> <64 hex: its audit head hash>
/// key-next: <new public key> <time> <old key's signature> <new key's signature>   (only while a key rotation is pending)
///
/// <body: each operation's canonical JSON body, one per line, each ending in LF>
/// ```
///
/// Header lines are `name: value`, in exactly this order, ASCII, LF-terminated, at most
/// `maximumHeaderBytes` in all. The header commits to the body (its length and SHA-256), so
/// the node signs the header's bytes (up to and including the empty line) and the receiver can
/// check the signature before a byte of the body arrives, then stream the body, however large,
/// and prove it by its hash. The signature travels beside the bytes. The change set's hash
/// (SHA-256 of the header's bytes, which name the body's hash) is the next one's `prev`.
///
/// `audit` (format 3) is the sending node's audit head when the change set was built: the
/// county keeps it as an anchor of the township's audit trail (docs/protocol.md). Headers of
/// format 2 (without it) stay readable, for the change sets stored before; a receiver applies
/// only the current format (`ChangeSetReceiver`).
public struct ChangeSet: Sendable, Hashable {
    public static let formatVersion = 3
    /// The formats `readHeader` reads: the current one, and 2 for change sets stored before.
    public static let readableFormats = [2, 3]
    /// The longest operation line a receiver takes (a whole roster is one operation).
    public static let maximumOperationBytes = 64 * 1024 * 1024
    public static let schemaVersion = 1
    public static let maximumHeaderBytes = 4_096
    public static let genesisHash = String(repeating: "0", count: 64)
    static let magic = "YKT-CHANGESET/"
    static let fieldOrder = ["schema", "node", "key", "seq", "prev", "ops", "body", "body-sha256", "audit"]

    /// The header lines of `format`, in order (format 2 has no `audit`).
    static func fields(format: Int) -> ArraySlice<String> { format == 2 ? fieldOrder.dropLast() : fieldOrder[...] }
    /// The optional last field: a key rotation statement (`KeyRotation.field`), present only in
    /// change sets a node signs with its old key while the county has not yet confirmed the new one.
    static let keyNextField = "key-next"

    public struct Header: Sendable, Hashable {
        public var format: Int
        public var schema: Int
        public var node: String
        public var keyID: String
        public var seq: Int64
        public var prev: String
        public var ops: Int
        public var bodyBytes: Int
        public var bodySHA256: String
        /// The sender's audit head when it built the change set (nil in format 2).
        public var audit: AuditHead?
        /// The `key-next` field verbatim (a `KeyRotation` for this node and `keyID`), or nil.
        public var keyNext: String? = nil
    }

    public let header: Header
    /// The bytes exactly as sent: the header, then the body (a receiver that streams the body
    /// holds only the header here).
    public let bytes: [UInt8]
    /// Where the body starts in `bytes` (the header's length).
    public let bodyOffset: Int

    /// The header's bytes: what the node signs.
    public var headerBytes: ArraySlice<UInt8> { bytes[..<bodyOffset] }

    /// What a node signs of `bytes`: the header, up to and including its empty line (all of
    /// `bytes` when there is no such line in the first `maximumHeaderBytes`).
    public static func signedPart(of bytes: [UInt8]) -> [UInt8] {
        let limit = min(bytes.count, maximumHeaderBytes)
        var k = 0
        while k + 1 < limit {
            if bytes[k] == 0x0A, bytes[k + 1] == 0x0A { return Array(bytes[..<(k + 2)]) }
            k += 1
        }
        return bytes
    }

    /// SHA-256 of the header's bytes, as hex: the chain link (the header names the body's hash).
    public var hash: String { Hex.encode(SHA256.hash(headerBytes)) }

    /// Builds the bytes of a change set from operation bodies (each one canonical JSON line).
    /// `audit` is the sender's audit head, read in the transaction that takes the operations;
    /// `keyNext`, a pending key rotation's statement.
    public static func build(node: String, keyID: String, seq: Int64, prev: String, operations: [String],
                             audit: AuditHead, keyNext: String? = nil) -> ChangeSet {
        var body: [UInt8] = []
        for op in operations {
            body.append(contentsOf: op.utf8)
            body.append(0x0A)
        }
        return build(node: node, keyID: keyID, seq: seq, prev: prev, count: operations.count, body: body, audit: audit, keyNext: keyNext)
    }

    /// The same, from a body already written: `count` operations, each followed by a line end.
    public static func build(node: String, keyID: String, seq: Int64, prev: String, count: Int, body: [UInt8],
                             audit: AuditHead, keyNext: String? = nil) -> ChangeSet {
        build(node: node, keyID: keyID, seq: seq, prev: prev, count: count, framed: body, bodyAt: 0, audit: audit, keyNext: keyNext)
    }

    /// The same, from a body written after `bodyAt` bytes of room (`TownshipNode.outboxBodies`
    /// leaves `maximumHeaderBytes`): the header goes at the end of that room and the room before
    /// it is dropped, so the body is moved within its own array rather than copied into a new
    /// one (a township's 96 MiB body: no second buffer faulted in). Without room enough, a copy.
    /// The caller hands `framed` over (`consume`): a copy still held elsewhere would make the
    /// move a copy again.
    public static func build(node: String, keyID: String, seq: Int64, prev: String, count: Int, framed: consuming [UInt8], bodyAt: Int,
                             audit: AuditHead, keyNext: String? = nil) -> ChangeSet {
        let header = Header(format: formatVersion, schema: schemaVersion, node: node, keyID: keyID, seq: seq, prev: prev,
                            ops: count, bodyBytes: framed.count - bodyAt, bodySHA256: Hex.encode(SHA256.hash(framed[bodyAt...])),
                            audit: audit, keyNext: keyNext)
        var text = "\(magic)\(header.format)\n"
        text += "schema: \(header.schema)\nnode: \(node)\nkey: \(keyID)\nseq: \(seq)\nprev: \(prev)\n"
        text += "ops: \(header.ops)\nbody: \(header.bodyBytes)\nbody-sha256: \(header.bodySHA256)\n"
        text += "audit: \(audit)\n"
        if let keyNext { text += "\(keyNextField): \(keyNext)\n" }
        text += "\n"
        let head = text.utf8.count
        guard head <= bodyAt else {
            var bytes = Array(text.utf8)
            bytes.append(contentsOf: framed[bodyAt...])
            return ChangeSet(header: header, bytes: bytes, bodyOffset: head)
        }
        framed.replaceSubrange((bodyAt - head)..<bodyAt, with: text.utf8)
        framed.removeFirst(bodyAt - head)
        return ChangeSet(header: header, bytes: framed, bodyOffset: head)
    }

    /// Reads the header only: the receiver checks peer, key, signature and sequence before it
    /// looks at the body. Unknown format or schema versions are refused naming both versions.
    public static func readHeader(_ bytes: [UInt8]) throws(YKTError) -> ChangeSet {
        let limit = min(bytes.count, maximumHeaderBytes)
        var end: Int?
        var k = 0
        while k + 1 < limit {
            if bytes[k] == 0x0A, bytes[k + 1] == 0x0A { end = k; break }
            k += 1
        }
        guard let end else {
            throw YKTError(.syncFormat, "变更集头部没有在 \(maximumHeaderBytes) 字节内以空行结束",
                           hint: "发送方须按 docs/protocol.md 的格式生成变更集")
        }
        guard bytes[..<end].allSatisfy({ $0 < 0x80 }) else {
            throw YKTError(.syncFormat, "变更集头部含有非 ASCII 字节")
        }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.first, first.hasPrefix(magic) else {
            throw YKTError(.syncFormat, "不是变更集（第一行应为 \(magic)<版本>）")
        }
        guard let format = Int(first.dropFirst(magic.count)) else {
            throw YKTError(.syncFormat, "变更集格式版本「\(first.dropFirst(magic.count))」不是整数")
        }
        guard readableFormats.contains(format) else {
            throw YKTError(.syncVersion, "变更集格式版本 \(format) 本程序不认识（本程序只支持版本 \(formatVersion)）",
                           hint: "两端升级到同一版本的 ykt")
        }
        let fieldOrder = fields(format: format)
        var values: [String] = []
        for (i, name) in fieldOrder.enumerated() {
            guard i + 1 < lines.count, lines[i + 1].hasPrefix(name + ": ") else {
                throw YKTError(.syncFormat, "变更集头部第 \(i + 2) 行应为「\(name): …」", at: SourceLocation(line: i + 2, field: name))
            }
            values.append(String(lines[i + 1].dropFirst(name.count + 2)))
        }
        var keyNext: String?
        if lines.count == fieldOrder.count + 2, lines[fieldOrder.count + 1].hasPrefix(keyNextField + ": ") {
            keyNext = String(lines[fieldOrder.count + 1].dropFirst(keyNextField.count + 2))
        }
        guard lines.count == fieldOrder.count + 1 + (keyNext == nil ? 0 : 1) else {
            throw YKTError(.syncFormat, "变更集头部有多余的行", at: SourceLocation(line: fieldOrder.count + 2))
        }
        func int(_ i: Int) throws(YKTError) -> Int64 {
            guard let v = Int64(values[i]), v >= 0 else {
                throw YKTError(.syncFormat, "头部字段 \(fieldOrder[i]) 应为非负整数", at: SourceLocation(field: fieldOrder[i]))
            }
            return v
        }
        func hex64(_ i: Int) throws(YKTError) -> String {
            let v = values[i]
            guard v.utf8.count == 64, v.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                throw YKTError(.syncFormat, "头部字段 \(fieldOrder[i]) 应为 64 位小写十六进制", at: SourceLocation(field: fieldOrder[i]))
            }
            return v
        }
        let schema = Int(try int(0))
        guard schema == schemaVersion else {
            throw YKTError(.syncVersion, "变更集数据结构版本 \(schema) 本程序不认识（本程序只支持版本 \(schemaVersion)）",
                           hint: "两端升级到同一版本的 ykt")
        }
        // Integers the receiver will add, multiply and allocate from are bounded here, so no
        // header, however signed, can make an arithmetic trap or a huge reservation.
        let ops = try int(5), bodyBytes = try int(6)
        guard ops <= SyncProtocol.maximumOperations else {
            throw YKTError(.syncFormat, "头部字段 ops 为 \(ops)，超过上限 \(SyncProtocol.maximumOperations)", at: SourceLocation(field: "ops"),
                           hint: "把操作分成多个变更集")
        }
        guard bodyBytes <= SyncProtocol.maximumBodyBytes else {
            throw YKTError(.syncFormat, "头部字段 body 为 \(bodyBytes) 字节，超过上限 \(SyncProtocol.maximumBodyBytes)",
                           at: SourceLocation(field: "body"), hint: "把操作分成多个变更集")
        }
        var audit: AuditHead?
        if format >= 3 {
            guard let head = AuditHead(text: values[8]) else {
                throw YKTError(.syncFormat, "头部字段 audit 应为「审计条数 64 位小写十六进制哈希」", at: SourceLocation(field: "audit"))
            }
            audit = head
        }
        let header = Header(format: format, schema: schema, node: values[1], keyID: values[2], seq: try int(3),
                            prev: try hex64(4), ops: Int(ops), bodyBytes: Int(bodyBytes), bodySHA256: try hex64(7), audit: audit,
                            keyNext: keyNext)
        guard header.seq >= 1 else { throw YKTError(.syncFormat, "变更集序号从 1 开始", at: SourceLocation(field: "seq")) }
        return ChangeSet(header: header, bytes: bytes, bodyOffset: end + 2)
    }

    /// The operations of the body, after checking its length, hash, count and that every
    /// operation names this change set's node. Call only after the receiver's checks.
    public func operations() throws(YKTError) -> [JSONValue] {
        let lines = try operationLines()
        return try parseOperations(lines[...])
    }

    /// The body's operation lines as ranges of `bytes`, after checking the body's length, hash
    /// and count (so a receiver can parse and apply them a part at a time).
    public func operationLines() throws(YKTError) -> [Range<Int>] {
        let body = bytes[bodyOffset...]
        guard body.count == header.bodyBytes else {
            throw YKTError(.syncBody, "正文应为 \(header.bodyBytes) 字节，实际 \(body.count) 字节", hint: "重新发送")
        }
        guard Hex.encode(SHA256.hash(body)) == header.bodySHA256 else {
            throw YKTError(.syncBody, "正文哈希与头部 body-sha256 不符", hint: "正文在途中被改动；已拒收，什么也没有应用")
        }
        var lines: [Range<Int>] = []
        lines.reserveCapacity(min(header.ops, body.count))   // the header is the sender's word
        var start = bodyOffset
        for i in bodyOffset..<bytes.count where bytes[i] == 0x0A {
            lines.append(start..<i)
            start = i + 1
        }
        guard start == bytes.count, lines.count == header.ops else {
            throw YKTError(.syncBody, "正文有 \(lines.count) 条完整的操作，头部写的是 \(header.ops) 条")
        }
        return lines
    }

    /// The operations on `lines` (a slice of `operationLines()`, whose indices number them),
    /// parsed on every core; each must name this change set's node.
    public func parseOperations(_ lines: ArraySlice<Range<Int>>) throws(YKTError) -> [JSONValue] {
        try parseOperations(lines) { _, _ -> Never? in nil }.map { parsed in
            guard case .json(let op) = parsed else { preconditionFailure("no fast reader was given") }
            return op
        }
    }
}
