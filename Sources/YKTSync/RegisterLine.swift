import YKTCore

/// A `beneficiary.register` operation line read straight from its bytes, for the county's bulk
/// path: a register of a million residents arrives as a million of these, and building a
/// general JSON tree for each (three dictionaries, a dozen strings, their allocations) is most
/// of the county's parsing cost.
///
/// `read` accepts only the exact canonical form the township writes (`docs/operations.md`):
/// the envelope keys in order, format version 1, `id` = `<node>-<seq>`, this node, and every
/// string plain UTF-8 with no escape. That is a strict subset of valid JSON whose values the
/// general parser would read identically; anything else returns nil and goes to the general
/// parser, which decides as it always has. So the fast path can never accept what the general
/// one would refuse.
public struct RegisterLine: Sendable {
    public var seq: Int64
    public var entity: String
    public var residentID: String
    public var name: String
    public var bank: String
    public var kind: String
    public var number: String
    /// 户号 ("" when the register has none) and whether the resident heads that household.
    public var household: String = ""
    public var head = false

    public static func read(_ line: UnsafeBufferPointer<UInt8>, node: String) -> RegisterLine? {
        var r = Reader(bytes: line)
        guard r.literal(#"{"at":"#), r.skipString(), r.literal(#","base":"#), r.integer() != nil,
              r.literal(#","by":"#), r.skipString(), r.literal(#","data":{"account":{"bank":"#),
              let bank = r.string(), r.literal(#","confirmation":"#), r.skipString(),
              r.literal(#","kind":"#), let kind = r.string(), r.literal(#","number":"#), let number = r.string() else { return nil }
        if r.peek(#","sharedReason":"#) {
            guard r.literal(#","sharedReason":"#), r.skipString() else { return nil }
        }
        guard r.literal(#"}"#) else { return nil }
        let head = r.literal(#","head":true"#)
        guard r.literal(#","household":"#), let household = r.string(), r.literal(#","name":"#), let name = r.string(),
              r.literal(#","phone":"#), r.skipString(), r.literal(#","residentId":"#), let residentID = r.string(),
              r.literal(#","township":"#), r.skipString(), r.literal(#","village":"#), r.skipString(),
              r.literal(#"},"entity":"#), let entity = r.string(), r.literal(#","id":"#), let id = r.string(),
              r.literal(#","node":"#), let lineNode = r.string(), lineNode == node,
              r.literal(#","op":"beneficiary.register","seq":"#), let seq = r.integer(),
              r.literal(#","v":1}"#), r.atEnd, id == "\(node)-\(seq)" else { return nil }
        return RegisterLine(seq: seq, entity: entity, residentID: residentID, name: name, bank: bank, kind: kind, number: number,
                            household: household, head: head)
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        var atEnd: Bool { i == bytes.count }

        func peek(_ text: StaticString) -> Bool {
            let n = text.utf8CodeUnitCount
            guard i + n <= bytes.count else { return false }
            let p = text.utf8Start
            for k in 0..<n where bytes[i + k] != p[k] { return false }
            return true
        }

        mutating func literal(_ text: StaticString) -> Bool {
            guard peek(text) else { return false }
            i += text.utf8CodeUnitCount
            return true
        }

        /// The end of a plain string starting at its opening quote, and whether it is ASCII;
        /// nil for an escape, a control character or no closing quote.
        private func plainString() -> (end: Int, ascii: Bool)? {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
            var j = i + 1
            var ascii = true
            while j < bytes.count {
                let b = bytes[j]
                if b == UInt8(ascii: "\"") { return (j, ascii) }
                if b == UInt8(ascii: "\\") || b < 0x20 { return nil }
                if b >= 0x80 { ascii = false }
                j += 1
            }
            return nil
        }

        mutating func string() -> String? {
            guard let (end, ascii) = plainString() else { return nil }
            let slice = UnsafeBufferPointer(rebasing: bytes[(i + 1)..<end])
            guard let s = ascii ? String(decoding: slice, as: UTF8.self) : String(validating: slice, as: UTF8.self) else { return nil }
            i = end + 1
            return s
        }

        mutating func skipString() -> Bool {
            guard let (end, ascii) = plainString() else { return false }
            if !ascii, String(validating: UnsafeBufferPointer(rebasing: bytes[(i + 1)..<end]), as: UTF8.self) == nil { return false }
            i = end + 1
            return true
        }

        /// A canonical integer: no leading zero, no plus sign, within Int64.
        mutating func integer() -> Int64? {
            var j = i
            let negative = j < bytes.count && bytes[j] == UInt8(ascii: "-")
            if negative { j += 1 }
            let start = j
            var n: Int64 = 0
            while j < bytes.count, bytes[j] >= 48, bytes[j] <= 57 {
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (d, o2) = m.addingReportingOverflow(Int64(bytes[j] - 48))
                guard !o1, !o2 else { return nil }
                n = d
                j += 1
            }
            guard j > start, bytes[start] != 48 || j - start == 1, !(negative && n == 0) else { return nil }
            if j < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[j]) { return nil }
            i = j
            return negative ? -n : n
        }
    }
}

extension ChangeSet {
    /// A parsed operation line: recognised by a fast reader, or read by the general parser.
    public enum ParsedLine<Fast: Sendable>: Sendable {
        case fast(Fast)
        case json(JSONValue)
    }

    /// `parseOperations`, trying `fast` on each line's bytes first.
    public func parseOperations<Fast: Sendable>(_ lines: ArraySlice<Range<Int>>,
                                                fast: @escaping @Sendable (UnsafeBufferPointer<UInt8>, String) -> Fast?)
        throws(YKTError) -> [ParsedLine<Fast>] {
        try Self.parseOperations(bytes, lines: lines, node: header.node, numberedFrom: lines.startIndex + 1, fast: fast)
    }

    /// The operations on `lines` of `bytes` (a part of a streamed body), parsed on every core,
    /// each naming `node`; errors number the operations from `first`.
    /// `parallel: false` parses on the calling thread only (one that already runs beside
    /// the work it feeds). Inlinable, so that the county gets it specialized for its fast
    /// reader's type instead of handling every parsed line through generic metadata.
    @inlinable
    public static func parseOperations<Fast: Sendable>(_ bytes: [UInt8], lines: ArraySlice<Range<Int>>, node: String,
                                                       numberedFrom first: Int, parallel: Bool = true,
                                                       fast: @escaping @Sendable (UnsafeBufferPointer<UInt8>, String) -> Fast?)
        throws(YKTError) -> [ParsedLine<Fast>] {
        let one = { @Sendable (range: Range<Int>) -> Result<ParsedLine<Fast>, YKTError> in
            if let f = bytes.withUnsafeBufferPointer({ fast(UnsafeBufferPointer(rebasing: $0[range]), node) }) {
                return .success(.fast(f))
            }
            return Self.parseLine(bytes, range, node: node).map { .json($0) }
        }
        let parsed = parallel ? Array(lines).parallelMap(minimumChunk: 512, one) : lines.map(one)
        var ops: [ParsedLine<Fast>] = []
        ops.reserveCapacity(parsed.count)
        for (n, outcome) in parsed.enumerated() {
            switch outcome {
            case .success(let op): ops.append(op)
            case .failure(let e): throw YKTError(.syncBody, "第 \(first + n) 条操作\(e.message)")
            }
        }
        return ops
    }

    @usableFromInline
    static func parseLine(_ bytes: [UInt8], _ range: Range<Int>, node: String) -> Result<JSONValue, YKTError> {
        let op: JSONValue
        do { op = try JSONValue.parse(Array(bytes[range])) } catch {
            return .failure(YKTError(.syncBody, "不是有效 JSON：\(error)"))
        }
        guard op["node"]?.stringValue == node else { return .failure(YKTError(.syncBody, "节点不是 \(node)")) }
        return .success(op)
    }
}
