internal import COpenSSL

/// SHA-256 through OpenSSL's EVP interface. A value type; the C context lives only for one
/// computation.
public struct SHA256: Sendable {
    private static let size = 32

    /// The digest of `bytes`.
    public static func hash<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var digest = [UInt8](repeating: 0, count: size)
        var length: UInt32 = 0
        let ok: Int32 = bytes.withContiguousStorageIfAvailable { buf in
            digest.withUnsafeMutableBufferPointer { out in
                EVP_Digest(buf.baseAddress, buf.count, out.baseAddress, &length, EVP_sha256(), nil)
            }
        } ?? Array(bytes).withUnsafeBufferPointer { buf in
            digest.withUnsafeMutableBufferPointer { out in
                EVP_Digest(buf.baseAddress, buf.count, out.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        // EVP_Digest with SHA-256 fails only when OpenSSL cannot allocate: nothing to recover.
        precondition(ok == 1 && length == UInt32(size), "EVP_Digest(SHA-256) failed")
        return digest
    }

    /// The digest of the UTF-8 bytes of `text`, as 64 lower-case hex digits.
    public static func hex(_ text: String) -> String { Hex.encode(hash(Array(text.utf8))) }
}

/// Lower-case hexadecimal.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// The bytes of an even-length hexadecimal text (either case), or nil if it is not one.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
