/// A JSON value with one canonical text form: object keys sorted by their UTF-8 bytes, no
/// insignificant white space, integers only (money is fen), strings escaped minimally.
/// Operation bodies are written in this form so that the same operation always has the same
/// bytes (docs/operations.md).
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public var canonical: String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public func write(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, v) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let sorted = members.sorted { a, b in
                // ASCII keys (all of ours) compare the same as their UTF-8 bytes, and faster.
                a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
            }
            for (i, member) in sorted.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    public static func writeString(_ s: String, into out: inout [UInt8]) {
        // A native string's bytes are contiguous: scanned as a buffer, not through the
        // view's index (a register import writes a million strings).
        if let done: Void = s.utf8.withContiguousStorageIfAvailable({ writeString(utf8: $0, into: &out) }) { return done }
        writeString(utf8: s.utf8, into: &out)
    }

    /// The same over a buffer (a `String`'s bytes in place, a row's bytes): one pass of plain
    /// comparisons, then one copy.
    @inlinable
    public static func writeString(utf8 s: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        guard !needsEscape(s) else { return writeString(utf8: s[...], into: &out) }
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: s)
        out.append(UInt8(ascii: "\""))
    }

    /// Whether a string's UTF-8 bytes hold one that a JSON string escapes (a control character,
    /// `"` or `\`), tested eight bytes at a time: a byte below 0x20 leaves a borrow in its top
    /// bit after subtracting 0x20 from each byte (and a byte of 0x80 or more cannot), and a byte
    /// equal to `"` or `\` is a zero byte after an exclusive or with it.
    @inlinable
    public static func needsEscape(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        var i = 0
        if let base = s.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i + 8 <= s.count {
                let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
                let below = (w &- ones &* 0x20) & ~w
                let zero = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash)
                if (below | zero) & highs != 0 { return true }
                i += 8
            }
        }
        while i < s.count {
            let b = s[i]
            if b < 0x20 || b == 0x22 || b == 0x5C { return true }
            i += 1
        }
        return false
    }

    /// Inlinable, so that a caller in another module gets it specialized for its collection
    /// (a township builds a million of these per register: unspecialized, every byte went
    /// through the generic iterator and value witnesses).
    @inlinable
    public static func writeString<C: Collection<UInt8>>(utf8 s: C, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings need no escape: copy them whole.
        if !s.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            out.append(contentsOf: s)
            out.append(UInt8(ascii: "\""))
            return
        }
        for b in s {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 0x0A: out.append(contentsOf: [92, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [92, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [92, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
                     ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, b in b }))
    }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
}

/// Writes one canonical JSON object directly, for hot paths (a 100,000-line import): members
/// must be added in ascending key order, which is checked in debug builds. The result is
/// byte-identical to `JSONValue.object(...).canonical`.
public struct CanonicalObjectWriter {
    private var out: [UInt8]
    private var lastKey: String?

    public init(capacity: Int = 256) {
        out = []
        out.reserveCapacity(capacity)
        out.append(UInt8(ascii: "{"))
    }

    /// Starts a new object, keeping the buffer (for writing many objects in a row).
    public mutating func reset() {
        out.removeAll(keepingCapacity: true)
        out.append(UInt8(ascii: "{"))
        lastKey = nil
    }

    /// Keys are the program's own identifiers (ASCII letters), written without escaping.
    private mutating func key(_ k: String) {
        assert(lastKey.map { $0.utf8.lexicographicallyPrecedes(k.utf8) } ?? true, "keys must be added in ascending order")
        assert(!k.utf8.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }, "keys need no escape")
        #if DEBUG
        lastKey = k
        #endif
        if out.last != UInt8(ascii: "{") { out.append(UInt8(ascii: ",")) }   // not the object's first member
        out.append(UInt8(ascii: "\""))
        if k.utf8.withContiguousStorageIfAvailable({ out.append(contentsOf: $0) }) == nil { out.append(contentsOf: k.utf8) }
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: ":"))
    }

    public mutating func string(_ k: String, _ v: String) {
        key(k)
        JSONValue.writeString(v, into: &out)
    }

    /// A string member from UTF-8 bytes (straight from a database row, with no `String` made).
    public mutating func string(_ k: String, utf8 v: UnsafeBufferPointer<UInt8>) {
        key(k)
        JSONValue.writeString(utf8: v, into: &out)
    }

    public mutating func int(_ k: String, _ v: Int64) {
        key(k)
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = v.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(48 + magnitude % 10)
                magnitude /= 10
                n += 1
            } while magnitude > 0
            for i in (0..<n).reversed() { out.append(d[i]) }
        }
    }

    /// A member whose value is an object, its members written by `members` into the same
    /// buffer (no inner `String` made and copied).
    public mutating func object(_ k: String, _ members: (inout CanonicalObjectWriter) -> Void) {
        key(k)
        var inner = CanonicalObjectWriter(capacity: 0)
        swap(&inner.out, &out)
        inner.out.append(UInt8(ascii: "{"))
        members(&inner)
        inner.out.append(UInt8(ascii: "}"))
        swap(&inner.out, &out)
    }

    /// A member whose value is already canonical JSON.
    public mutating func raw(_ k: String, _ json: String) {
        raw(k, utf8: json.utf8)
    }

    /// The same, from the JSON's UTF-8 bytes.
    public mutating func raw<C: Collection<UInt8>>(_ k: String, utf8 json: C) {
        key(k)
        out.append(contentsOf: json)
    }

    public mutating func finish() -> String {
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Closes the object and returns its bytes, as they are: valid UTF-8 when every string
    /// added was (a `String`, or bytes checked by the caller).
    public mutating func finishBytes() -> [UInt8] {
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Closes the object and appends its bytes to `target`.
    public mutating func finish(appendingTo target: inout [UInt8]) {
        out.append(UInt8(ascii: "}"))
        target.append(contentsOf: out)
    }
}

extension JSONValue {
    /// Why a text is not JSON, and at which byte.
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "JSON error at byte \(offset): \(reason)" }
    }

    /// Parses JSON (RFC 8259) as this program writes it: integers only (a fraction or exponent
    /// is refused, since money is fen), nesting at most 64 deep.
    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> JSONValue {
        var p = JSONParser(bytes: bytes)
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == bytes.count else { throw ParseError(offset: p.i, reason: "trailing bytes") }
        return v
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }
}

struct JSONParser {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ reason: String) -> JSONValue.ParseError { .init(offset: i, reason: reason) }

    mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return
            }
        }
    }

    mutating func literal(_ word: String, _ v: JSONValue) throws(JSONValue.ParseError) -> JSONValue {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw fail("expected \(word)") }
        i += w.count
        return v
    }

    mutating func value(depth: Int) throws(JSONValue.ParseError) -> JSONValue {
        guard depth < 64 else { throw fail("nested too deeply") }
        guard i < bytes.count else { throw fail("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members: [String: JSONValue] = [:]
            members.reserveCapacity(8)
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                let key = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                skipSpace()
                guard members[key] == nil else { throw fail("duplicate key \(key)") }
                members[key] = try value(depth: depth + 1)
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                guard bytes[i] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                i += 1
                return .object(members)
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                guard bytes[i] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
                i += 1
                return .array(items)
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        default: return .int(try integer())
        }
    }

    mutating func integer() throws(JSONValue.ParseError) -> Int64 {
        let start = i
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        let digitsStart = i
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { i += 1 }
        guard i > digitsStart else { throw fail("expected a value") }
        if i < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[i]) {
            throw fail("only integers are allowed")
        }
        guard bytes[digitsStart] != 48 || i - digitsStart == 1 else { throw fail("bad integer") }
        // Accumulated negatively, so Int64.min is reachable; overflow is an error, not a trap.
        var n: Int64 = 0
        for k in digitsStart..<i {
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (d, o2) = m.subtractingReportingOverflow(Int64(bytes[k] - 48))
            guard !o1, !o2 else { throw fail("bad integer") }
            n = d
        }
        if start == digitsStart {
            guard n != .min else { throw fail("bad integer") }
            return -n
        }
        return n
    }

    mutating func string() throws(JSONValue.ParseError) -> String {
        i += 1   // opening quote
        // Most strings have no escape: made straight from the bytes, checked in the same pass.
        var j = i
        var ascii = true
        while j < bytes.count {
            let b = bytes[j]
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
            if b >= 0x80 { ascii = false }
            j += 1
        }
        if j < bytes.count, bytes[j] == UInt8(ascii: "\"") {
            let text: String? = bytes.withUnsafeBufferPointer { buf in
                let slice = UnsafeBufferPointer(rebasing: buf[i..<j])
                return ascii ? String(decoding: slice, as: UTF8.self) : String(validating: slice, as: UTF8.self)
            }
            guard let text else { throw fail("invalid UTF-8") }
            i = j + 1
            return text
        }
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let b = bytes[i]
            i += 1
            switch b {
            case UInt8(ascii: "\""):
                guard TextDecoding.firstInvalidUTF8(out) == nil else { throw fail("invalid UTF-8") }
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard i < bytes.count else { throw fail("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw fail("lone surrogate")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("bad surrogate pair") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw fail("bad \\u escape") }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw fail("bad escape")
                }
            case 0..<0x20: throw fail("control character in string")
            default: out.append(b)
            }
        }
    }

    mutating func hex4() throws(JSONValue.ParseError) -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) else {
            throw fail("bad \\u escape")
        }
        i += 4
        return v
    }
}

extension JSONValue {
    /// The string at `key`, or a refusal naming the field (an operation from outside that lacks
    /// a field is refused, never read as an empty string).
    public func requiredString(_ key: String) throws(YKTError) -> String {
        guard let v = self[key]?.stringValue else {
            throw YKTError(.fieldMissing, "操作缺少字段「\(key)」，或它不是文本", at: SourceLocation(field: key))
        }
        return v
    }

    /// The integer at `key`, or a refusal naming the field.
    public func requiredInt(_ key: String) throws(YKTError) -> Int64 {
        guard let v = self[key]?.intValue else {
            throw YKTError(.fieldMissing, "操作缺少字段「\(key)」，或它不是整数", at: SourceLocation(field: key))
        }
        return v
    }
}
