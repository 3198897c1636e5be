import Glibc
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
    /// The values the county keeps of a registration line.
    public enum Field: Int, Sendable, CaseIterable {
        case entity, residentID, name, bank, kind, number, household
    }

    public var seq: Int64
    /// Whether the resident heads their household (`"head":true`).
    public var head = false
    /// The seven values' UTF-8 bytes end to end, in `Field` order: one allocation a line, where
    /// seven `String`s cost seven (a million lines' worth on the county's parsing thread).
    public let text: [UInt8]
    /// Where each value ends in `text`, by `Field.rawValue`.
    @usableFromInline let ends: SIMD8<UInt16>

    /// The bytes of `field`, valid UTF-8 with no escape.
    @inlinable
    public func withBytes<R>(_ field: Field, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let start = field.rawValue == 0 ? 0 : Int(ends[field.rawValue - 1])
        let end = Int(ends[field.rawValue])
        return try text.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<end])) }
    }

    /// Where `field`'s bytes are in `text`.
    @inlinable
    public func range(_ field: Field) -> Range<Int> {
        (field.rawValue == 0 ? 0 : Int(ends[field.rawValue - 1]))..<Int(ends[field.rawValue])
    }

    /// Every value's bytes at once (`field` gives each), all valid until `body` returns: for
    /// binding them without a copy (`Statement.bind(_:utf8TextNoCopy:)`) and running the
    /// statement inside `body`.
    @inlinable
    public func withFields<R>(_ body: ((Field) -> UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try text.withUnsafeBufferPointer { all in try body { UnsafeBufferPointer(rebasing: all[range($0)]) } }
    }

    public func string(_ field: Field) -> String { withBytes(field) { String(decoding: $0, as: UTF8.self) } }

    public var entity: String { string(.entity) }
    public var residentID: String { string(.residentID) }
    public var name: String { string(.name) }
    public var bank: String { string(.bank) }
    public var kind: String { string(.kind) }
    public var number: String { string(.number) }
    /// 户号 ("" when the register has none).
    public var household: String { string(.household) }

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
              r.literal(#","node":"#), let lineNode = r.string(), r.equal(lineNode, node),
              r.literal(#","op":"beneficiary.register","seq":"#), let seq = r.integer(),
              r.literal(#","v":1}"#), r.atEnd, r.isID(id, node: node, seq: seq) else { return nil }
        let total = entity.count + residentID.count + name.count + bank.count + kind.count + number.count + household.count
        guard total <= Int(UInt16.max) else { return nil }
        var text: [UInt8] = []
        text.reserveCapacity(total)
        var ends = SIMD8<UInt16>()
        func put(_ field: Field, _ range: Range<Int>) {
            text.append(contentsOf: UnsafeBufferPointer(rebasing: line[range]))
            ends[field.rawValue] = UInt16(text.count)
        }
        put(.entity, entity)
        put(.residentID, residentID)
        put(.name, name)
        put(.bank, bank)
        put(.kind, kind)
        put(.number, number)
        put(.household, household)
        return RegisterLine(seq: seq, head: head, text: text, ends: ends)
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        var atEnd: Bool { i == bytes.count }

        func peek(_ text: StaticString) -> Bool {
            let n = text.utf8CodeUnitCount
            return i + n <= bytes.count && memcmp(bytes.baseAddress! + i, text.utf8Start, n) == 0
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

        /// The bytes of a plain string (between its quotes), checked to be valid UTF-8.
        mutating func string() -> Range<Int>? {
            guard let (end, ascii) = plainString() else { return nil }
            let range = (i + 1)..<end
            guard ascii || UTF8Check.isValid(UnsafeBufferPointer(rebasing: bytes[range])) else { return nil }
            i = end + 1
            return range
        }

        /// Whether the bytes at `range` are `text`'s.
        func equal(_ range: Range<Int>, _ text: String) -> Bool {
            text.utf8.withContiguousStorageIfAvailable { t in
                t.count == range.count && (t.isEmpty || memcmp(bytes.baseAddress! + range.lowerBound, t.baseAddress!, t.count) == 0)
            } ?? text.utf8.elementsEqual(UnsafeBufferPointer(rebasing: bytes[range]))
        }

        /// Whether the bytes at `range` are `<node>-<seq>`, `seq` written canonically.
        func isID(_ range: Range<Int>, node: String, seq: Int64) -> Bool {
            let n = node.utf8.count
            guard range.count > n + 1, equal(range.lowerBound..<(range.lowerBound + n), node),
                  bytes[range.lowerBound + n] == UInt8(ascii: "-") else { return false }
            var digits = Reader(bytes: UnsafeBufferPointer(rebasing: bytes[(range.lowerBound + n + 1)..<range.upperBound]))
            return digits.integer() == seq && digits.atEnd
        }

        mutating func skipString() -> Bool {
            guard let (end, ascii) = plainString() else { return false }
            if !ascii, !UTF8Check.isValid(UnsafeBufferPointer(rebasing: bytes[(i + 1)..<end])) { return false }
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
            if j < bytes.count, bytes[j] == UInt8(ascii: ".") || bytes[j] | 0x20 == UInt8(ascii: "e") { return nil }
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
        var ops: [ParsedLine<Fast>] = []
        ops.reserveCapacity(lines.count)
        func take(_ outcome: Result<ParsedLine<Fast>, YKTError>, _ n: Int) throws(YKTError) {
            switch outcome {
            case .success(let op): ops.append(op)
            case .failure(let e): throw YKTError(.syncBody, "第 \(first + n) 条操作\(e.message)")
            }
        }
        if parallel {
            for (n, outcome) in Array(lines).parallelMap(minimumChunk: 512, one).enumerated() { try take(outcome, n) }
        } else {
            // On this thread: each line straight into the list, without a list of results first.
            for (n, range) in lines.enumerated() { try take(one(range), n) }
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
