internal import COpenSSL
import Foundation

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

    /// The digest of a file's bytes, hex, read in 1 MiB parts (a file of any size in bounded
    /// memory). Links are not followed: a published file must be the file itself.
    public static func hex(ofFile path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw FileDigestError(path: path, errno: errno) }
        defer { close(fd) }
        let hasher = Hasher()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileDigestError(path: path, errno: errno)
            }
            if n == 0 { break }
            hasher.update(buffer[0..<n])
        }
        return Hex.encode(hasher.finish())
    }
}

/// Lower-case hexadecimal.
/// A file that could not be read to hash it.
public struct FileDigestError: Error, CustomStringConvertible {
    public var path: String
    public var errno: Int32
    public var description: String { "\(path): \(String(cString: strerror(errno)))" }
}

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

extension SHA256 {
    /// A digest computed a part at a time (a change-set body as it arrives), in bounded memory.
    public final class Hasher {
        private let context: OpaquePointer

        public init() {
            guard let c = EVP_MD_CTX_new(), EVP_DigestInit_ex(c, EVP_sha256(), nil) == 1 else {
                preconditionFailure("EVP_DigestInit_ex(SHA-256) failed")   // only when OpenSSL cannot allocate
            }
            context = c
        }

        deinit { EVP_MD_CTX_free(context) }

        public func update(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count > 0 else { return }
            precondition(EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1, "EVP_DigestUpdate failed")
        }

        public func update(_ bytes: [UInt8]) {
            bytes.withUnsafeBytes { update($0) }
        }

        public func update(_ bytes: ArraySlice<UInt8>) {
            bytes.withUnsafeBytes { update($0) }
        }

        /// The digest of everything given; the hasher is finished afterwards.
        public func finish() -> [UInt8] {
            var digest = [UInt8](repeating: 0, count: SHA256.size)
            var length: UInt32 = 0
            let ok = digest.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
            precondition(ok == 1 && length == UInt32(SHA256.size), "EVP_DigestFinal_ex failed")
            return digest
        }
    }
}
