import YKTCore
import YKTCrypto
#if canImport(Glibc)
import Glibc
#endif

/// A change set's body read as it arrives, a part at a time, so that the receiver's memory
/// follows the part (and the longest operation), never the change set. Each part yields the
/// operation lines it completes; `finish` then proves the whole body against the signed
/// header: its length, its SHA-256 and its number of operations. A receiver applies the
/// lines inside one transaction and commits only after `finish`, so a body that does not
/// match its header is never applied, not even in part.
public struct ChangeSetBodyReader {
    /// Complete operation lines: ranges of `bytes`, numbered from `firstNumber` (1-based).
    public struct Part {
        public var bytes: [UInt8]
        public var lines: [Range<Int>]
        public var firstNumber: Int
    }

    public let header: ChangeSet.Header
    private let hasher = SHA256.Hasher()
    public private(set) var received = 0
    public private(set) var lineCount = 0
    /// The start of an operation line whose end has not arrived yet.
    private var carry: [UInt8] = []

    public init(header: ChangeSet.Header) { self.header = header }

    /// Takes the next bytes of the body.
    public mutating func take(_ chunk: [UInt8]) throws(YKTError) -> Part {
        received += chunk.count
        guard received <= header.bodyBytes else {
            throw YKTError(.syncBody, "正文超过头部写明的 \(header.bodyBytes) 字节", hint: "重新发送")
        }
        hasher.update(chunk)
        let buffer: [UInt8]
        if carry.isEmpty { buffer = chunk } else { carry.append(contentsOf: chunk); buffer = carry }
        var lines: [Range<Int>] = []
        lines.reserveCapacity(buffer.count / 96)
        var start = 0
        buffer.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return }
            while start < p.count, let hit = memchr(base + start, 0x0A, p.count - start) {
                let end = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                lines.append(start..<end)
                start = end + 1
            }
        }
        carry = start == buffer.count ? [] : Array(buffer[start...])
        guard carry.count <= ChangeSet.maximumOperationBytes else {
            throw YKTError(.syncBody, "正文中有一条操作超过 \(ChangeSet.maximumOperationBytes) 字节", hint: "把过大的操作拆开")
        }
        let first = lineCount + 1
        lineCount += lines.count
        guard lineCount <= header.ops else {
            throw YKTError(.syncBody, "正文的操作多于头部写的 \(header.ops) 条")
        }
        return Part(bytes: buffer, lines: lines, firstNumber: first)
    }

    /// Checks the whole body against the header: length, hash, count, nothing after the last line end.
    public func finish() throws(YKTError) {
        guard received == header.bodyBytes else {
            throw YKTError(.syncBody, "正文应为 \(header.bodyBytes) 字节，实际 \(received) 字节", hint: "重新发送")
        }
        guard carry.isEmpty, lineCount == header.ops else {
            throw YKTError(.syncBody, "正文有 \(lineCount) 条完整的操作，头部写的是 \(header.ops) 条")
        }
        guard Hex.encode(hasher.finish()) == header.bodySHA256 else {
            throw YKTError(.syncBody, "正文哈希与头部 body-sha256 不符", hint: "正文在途中被改动；已拒收，什么也没有应用")
        }
    }
}

/// Where a receiver reads a change set's bytes from: the request body as it arrives, or bytes
/// already in memory.
public protocol ChangeSetSource: AnyObject {
    /// All bytes the sender announced (header and body).
    var length: Int { get }
    /// Appends up to `max` more bytes to `buffer`; 0 once all `length` bytes were read.
    func read(into buffer: inout [UInt8], max: Int) throws -> Int
}

/// A change set already in memory.
public final class ChangeSetBytes: ChangeSetSource {
    let bytes: [UInt8]
    var offset = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var length: Int { bytes.count }
    public func read(into buffer: inout [UInt8], max: Int) throws -> Int {
        let n = Swift.min(max, bytes.count - offset)
        buffer.append(contentsOf: bytes[offset..<(offset + n)])
        offset += n
        return n
    }
}
