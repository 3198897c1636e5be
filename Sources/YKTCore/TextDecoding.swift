#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text encodings village registers really arrive in.
public enum TextEncoding: String, Sendable, CaseIterable {
    /// UTF-8 with a BOM if present, else valid UTF-8, else GB18030.
    case auto
    case utf8 = "utf-8"
    /// What WPS and Excel write on Chinese Windows ("ANSI"); a superset of GBK and GB2312.
    case gb18030

    public init(parsing text: String) throws(YKTError) {
        switch text.lowercased() {
        case "auto": self = .auto
        case "utf-8", "utf8": self = .utf8
        case "gb18030", "gbk", "gb2312", "ansi": self = .gb18030
        default: throw YKTError(.usageValue, "编码「\(text)」不支持", hint: "用 auto、utf-8 或 gb18030")
        }
    }
}

/// Turns file bytes into UTF-8 bytes. GB18030 goes through the C library's iconv.
public enum TextDecoding {
    public struct Decoded: Sendable {
        /// UTF-8 bytes without a BOM.
        public var utf8: [UInt8]
        /// What the file was: `UTF-8`, `UTF-8 (BOM)`, `GB18030`, `UTF-16LE`…
        public var detected: String
    }

    public static func decode(_ bytes: [UInt8], as encoding: TextEncoding = .auto, file: String) throws(YKTError) -> Decoded {
        if let kind = workbookKind(bytes) {
            throw YKTError(.fileWorkbook, "这是 Excel/WPS 工作簿文件（\(kind)），不是 CSV 文本文件", at: SourceLocation(file: file),
                           hint: "在 WPS 或 Excel 中打开它，选「文件 → 另存为」，保存类型选「CSV UTF-8（逗号分隔）(*.csv)」"
                               + "（没有这一项就选「CSV（逗号分隔）」），再导入另存的 .csv 文件")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            let body = Array(bytes.dropFirst(3))
            try requireUTF8(body, file: file)
            return Decoded(utf8: body, detected: "UTF-8 (BOM)")
        }
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            let little = bytes[0] == 0xFF
            var units: [UInt16] = []
            units.reserveCapacity(bytes.count / 2)
            var i = 2
            while i + 1 < bytes.count {
                let a = UInt16(bytes[i]), b = UInt16(bytes[i + 1])
                units.append(little ? a | b << 8 : a << 8 | b)
                i += 2
            }
            return Decoded(utf8: Array(String(decoding: units, as: UTF16.self).utf8),
                           detected: little ? "UTF-16LE" : "UTF-16BE")
        }
        switch encoding {
        case .utf8:
            try requireUTF8(bytes, file: file)
            return Decoded(utf8: bytes, detected: "UTF-8")
        case .gb18030:
            return Decoded(utf8: try convertGB18030(bytes, file: file), detected: "GB18030")
        case .auto:
            if firstInvalidUTF8(bytes) == nil { return Decoded(utf8: bytes, detected: "UTF-8") }
            return Decoded(utf8: try convertGB18030(bytes, file: file), detected: "GB18030")
        }
    }

    /// What kind of workbook `bytes` are, from their first bytes, or nil for anything else:
    /// a ZIP archive (`PK\u{03}\u{04}`: .xlsx, also WPS's .et saved as xlsx) or an OLE compound
    /// document (`D0 CF 11 E0 A1 B1 1A E1`: .xls, .et). No text file starts with either.
    public static func workbookKind(_ bytes: [UInt8]) -> String? {
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return ".xlsx 格式" }
        if bytes.starts(with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) { return ".xls 格式" }
        return nil
    }

    static func requireUTF8(_ bytes: [UInt8], file: String) throws(YKTError) {
        if let bad = firstInvalidUTF8(bytes) {
            let line = bytes[..<bad].reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
            throw YKTError(.fileEncoding, "不是有效的 UTF-8 文本", at: SourceLocation(file: file, line: line),
                           hint: "用 --encoding gb18030 导入，或在 WPS/Excel 中另存为「CSV UTF-8」")
        }
    }

    /// The offset of the first byte that breaks UTF-8, or nil. A large text is checked in two
    /// halves at once, split where a character begins (not at a continuation byte): no sequence
    /// crosses the split then, so the first half alone finds what the whole would find in it
    /// (a sequence cut short at its end is bad because the next byte does not continue it), and
    /// the second half is read from where the whole check would arrive.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        let n = bytes.count
        guard n >= 1 << 20, System.activeProcessorCount > 1 else { return bytes.withUnsafeBufferPointer { firstInvalidUTF8($0) } }
        var mid = n / 2
        while mid < n / 2 + 4, bytes[mid] & 0xC0 == 0x80 { mid += 1 }
        guard bytes[mid] & 0xC0 != 0x80 else { return bytes.withUnsafeBufferPointer { firstInvalidUTF8($0) } }
        let split = mid
        let second = BackgroundJob { bytes.withUnsafeBufferPointer { firstInvalidUTF8(UnsafeBufferPointer(rebasing: $0[split...])) } }
        let first = bytes.withUnsafeBufferPointer { firstInvalidUTF8(UnsafeBufferPointer(rebasing: $0[..<split])) }
        let later: Int?
        do { later = try second.wait() } catch { preconditionFailure("the check does not throw") }
        return first ?? later.map { $0 + split }
    }

    /// The same over a buffer: plain ASCII is passed eight bytes at a time, every other
    /// sequence checked as before (no overlong forms, no surrogates, nothing above U+10FFFF).
    static func firstInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let p = bytes.baseAddress else { return nil }
        let n = bytes.count
        var i = 0
        while i < n {
            while i + 8 <= n, UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
            guard i < n else { break }
            let b = p[i]
            if b < 0x80 { i += 1; continue }
            // The usual Chinese character: a lead byte with no special range (E1–EC, EE–EF)
            // and two continuation bytes.
            if b & 0xF0 == 0xE0, b != 0xE0, b != 0xED, i + 3 <= n, p[i + 1] & 0xC0 == 0x80, p[i + 2] & 0xC0 == 0x80 {
                i += 3
                continue
            }
            let len: Int
            if b & 0xE0 == 0xC0, b >= 0xC2 { len = 2 } else if b & 0xF0 == 0xE0 { len = 3 }
            else if b & 0xF8 == 0xF0, b <= 0xF4 { len = 4 } else { return i }
            guard i + len <= n else { return i }
            for k in 1..<len where p[i + k] & 0xC0 != 0x80 { return i }
            if len == 3 {
                let b1 = p[i + 1]
                if (b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 >= 0xA0) { return i }
            } else if len == 4 {
                let b1 = p[i + 1]
                if (b == 0xF0 && b1 < 0x90) || (b == 0xF4 && b1 >= 0x90) { return i }
            }
            i += len
        }
        return nil
    }

    static func convertGB18030(_ bytes: [UInt8], file: String) throws(YKTError) -> [UInt8] {
        let cd = iconv_open("UTF-8", "GB18030")
        guard let cd, cd != iconv_t(bitPattern: -1) else {
            throw YKTError(.fileEncoding, "本机的 C 库不支持 GB18030 转换", at: SourceLocation(file: file),
                           hint: "请先把文件另存为 UTF-8 再导入")
        }
        defer { iconv_close(cd) }
        // GB18030 uses at most 4 bytes for a character whose UTF-8 form is at most 4 bytes,
        // and 2 bytes for CJK that take 3 in UTF-8: 2× is always enough.
        var output = [UInt8](repeating: 0, count: bytes.count * 2 + 16)
        var input = bytes
        let produced: Int = input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(inBuf.baseAddress!)
                    .assumingMemoryBound(to: CChar.self)
                var inLeft = inBuf.count
                var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuf.baseAddress!)
                    .assumingMemoryBound(to: CChar.self)
                var outLeft = outBuf.count
                let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                if r == -1 { return -(inBuf.count - inLeft) - 1 }
                return outBuf.count - outLeft
            }
        }
        if produced < 0 {
            let offset = -produced - 1
            let line = bytes[..<min(offset, bytes.count)].reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
            throw YKTError(.fileEncoding, "既不是 UTF-8 也不是 GB18030 文本（第 \(offset + 1) 字节起无法识别）",
                           at: SourceLocation(file: file, line: line),
                           hint: "在 WPS/Excel 中把文件另存为「CSV UTF-8」或「CSV（逗号分隔）」后再导入")
        }
        output.removeSubrange(produced...)
        return output
    }
}

extension TextDecoding {
    /// UTF-8 → GB18030 (for the demo generator and tests that need files as WPS writes them).
    public static func encodeGB18030(_ utf8: [UInt8]) throws(YKTError) -> [UInt8] {
        guard let cd = iconv_open("GB18030", "UTF-8"), cd != iconv_t(bitPattern: -1) else {
            throw YKTError(.fileEncoding, "本机的 C 库不支持 GB18030 转换")
        }
        defer { iconv_close(cd) }
        var output = [UInt8](repeating: 0, count: utf8.count * 2 + 16)
        var input = utf8
        let produced: Int = input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(inBuf.baseAddress!).assumingMemoryBound(to: CChar.self)
                var inLeft = inBuf.count
                var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBuf.baseAddress!).assumingMemoryBound(to: CChar.self)
                var outLeft = outBuf.count
                if iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft) == -1 { return -1 }
                return outBuf.count - outLeft
            }
        }
        guard produced >= 0 else { throw YKTError(.fileEncoding, "文本不能转换为 GB18030") }
        output.removeSubrange(produced...)
        return output
    }
}
