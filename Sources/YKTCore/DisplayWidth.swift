/// Terminal column width of text: East Asian wide and fullwidth characters take two columns,
/// combining marks none, everything else one. Enough for Chinese tables to line up.
public enum DisplayWidth {
    public static func of(_ text: String) -> Int {
        var w = 0
        for s in text.unicodeScalars { w += width(of: s) }
        return w
    }

    public static func width(of s: Unicode.Scalar) -> Int {
        let v = s.value
        if v == 0 { return 0 }
        if v < 0x300 { return 1 }
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if (0x1100...0x115F).contains(v) || (0x2E80...0x303E).contains(v) || (0x3041...0x33FF).contains(v)
            || (0x3400...0x4DBF).contains(v) || (0x4E00...0x9FFF).contains(v) || (0xA000...0xA4CF).contains(v)
            || (0xAC00...0xD7A3).contains(v) || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v)
            || (0xFF00...0xFF60).contains(v) || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1F64F).contains(v)
            || (0x20000...0x3FFFD).contains(v) {
            return 2
        }
        return 1
    }

    /// `text` padded with spaces to `width` columns (left-aligned, or right-aligned for numbers).
    public static func pad(_ text: String, to width: Int, right: Bool = false) -> String {
        let gap = max(0, width - of(text))
        let spaces = String(repeating: " ", count: gap)
        return right ? spaces + text : text + spaces
    }
}

extension Substring {
    /// The text without leading and trailing spaces, tabs, line breaks, the no-break space
    /// (U+00A0) and the full-width space (U+3000) that Chinese input methods type. Read on the
    /// UTF-8 bytes of a concrete type: Foundation's `trimmingCharacters(in:)` goes through
    /// `NSString`, and a generic `StringProtocol` version looked its view types up at run time
    /// on every call from another module (a register import trims every field of 100,000
    /// lines; every command trims the lines of its `node.conf`).
    public var trimmed: String {
        let u = utf8
        var lo = u.startIndex, hi = u.endIndex
        while lo < hi {
            let n: Int
            switch u[lo] {
            case 0x20, 0x09, 0x0A, 0x0D: n = 1
            case 0xC2 where u.index(after: lo) < hi && u[u.index(after: lo)] == 0xA0: n = 2
            case 0xE3 where u.distance(from: lo, to: hi) >= 3 && u[u.index(lo, offsetBy: 1)] == 0x80 && u[u.index(lo, offsetBy: 2)] == 0x80: n = 3
            default: n = 0
            }
            if n == 0 { break }
            lo = u.index(lo, offsetBy: n)
        }
        while hi > lo {
            let last = u.index(before: hi)
            let n: Int
            switch u[last] {
            case 0x20, 0x09, 0x0A, 0x0D: n = 1
            case 0xA0 where last > lo && u[u.index(before: last)] == 0xC2: n = 2
            case 0x80 where u.distance(from: lo, to: last) >= 2 && u[u.index(last, offsetBy: -1)] == 0x80 && u[u.index(last, offsetBy: -2)] == 0xE3: n = 3
            default: n = 0
            }
            if n == 0 { break }
            hi = u.index(hi, offsetBy: -n)
        }
        if lo == u.startIndex && hi == u.endIndex { return String(self) }
        // By scalars, not `self[lo..<hi]`: a subscript rounds to whole characters, and a space
        // trimmed before a combining mark would come back.
        return String(unicodeScalars[lo..<hi])
    }
}

extension String {
    /// The first and last of its UTF-8 bytes (nil when empty), read where they are: the
    /// view's `last` walks back through the general index (a register import asks for it
    /// twice for every field).
    @inlinable
    public var utf8Ends: (first: UInt8, last: UInt8)? {
        if let ends = utf8.withContiguousStorageIfAvailable({ $0.isEmpty ? nil : ($0[0], $0[$0.count - 1]) }) { return ends }
        guard let first = utf8.first, let last = utf8.last else { return nil }
        return (first, last)
    }

    /// Whether every UTF-8 byte satisfies `test`, read in place.
    @inlinable
    public func utf8AllSatisfy(_ test: (UInt8) -> Bool) -> Bool {
        if let all = utf8.withContiguousStorageIfAvailable({ $0.allSatisfy(test) }) { return all }
        return utf8.allSatisfy(test)
    }

    /// `Substring.trimmed` of the whole text; the text itself when there is nothing to trim.
    public var trimmed: String {
        // Most fields have nothing to trim: neither end's byte can begin (or end) a space.
        guard let (first, last) = utf8Ends else { return self }
        switch (first, last) {
        case (0x20, _), (0x09, _), (0x0A, _), (0x0D, _), (0xC2, _), (0xE3, _),
             (_, 0x20), (_, 0x09), (_, 0x0A), (_, 0x0D), (_, 0xA0), (_, 0x80):
            return self[...].trimmed
        default:
            return self
        }
    }
}
