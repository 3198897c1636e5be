import Foundation
import YKTCore
import YKTCrypto
import YKTSync

/// The bodies of one township's change sets, end to end in sequence order, in
/// `evidence/<township>.body` in the county's node directory: the verbatim evidence of what
/// the township sent (its signed header is kept in `upstream.bytes`, which names the body's
/// length and SHA-256; `upstream.body_offset` says where the body starts in this file).
///
/// The file is only ever appended to, by a receiver that holds the database's write lock,
/// starting at the end the database records; it is fsynced before the commit that records
/// the new end. A receive that fails, or whose commit never happens, leaves at most bytes past
/// the recorded end, which the next receive cuts off before writing. A file shorter than the
/// database records has lost evidence: nothing more is written to it until an administrator
/// restores it from a backup.
///
/// Kept outside SQLite because SQLite would write each body twice (its log, then the
/// database) and keep it in its page cache until the commit: at a million registrations
/// that was a quarter of the county's receiving time (`docs/performance.md`).
final class EvidenceFile: @unchecked Sendable {
    // Safe: after `init`, one thread at a time uses the file (the pipeline's reading thread
    // while it runs, then the receiving thread once it has stopped it).
    static let directoryName = "evidence"

    let path: String
    /// Where this change set's body begins: the end the database records.
    let start: Int64
    private(set) var written: Int64 = 0
    private let fd: Int32
    private let directory: String
    /// The file's directory entry may not be on disk yet (the file is new, or was made by a
    /// receive that never committed): `sync` syncs the directory too.
    private let syncDirectory: Bool

    static func path(directory: String, node: String) -> String {
        ((directory as NSString).appendingPathComponent(directoryName) as NSString).appendingPathComponent("\(node).body")
    }

    /// Opens township `node`'s file in the node directory `nodeDirectory` for the change set
    /// after the one ending at `committedEnd`.
    init(nodeDirectory: String, node: String, committedEnd: Int64) throws(YKTError) {
        directory = (nodeDirectory as NSString).appendingPathComponent(Self.directoryName)
        path = Self.path(directory: nodeDirectory, node: node)
        start = committedEnd
        if mkdir(directory, 0o700) == 0 {
            try Self.syncDirectory(nodeDirectory)   // the new directory's entry
        } else if errno != EEXIST {
            throw YKTError(.fileWrite, "不能建立存证目录：\(String(cString: strerror(errno)))", at: SourceLocation(file: directory))
        }
        var created = true
        var fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0, errno == EEXIST {
            created = false
            fd = open(path, O_RDWR | O_CLOEXEC)
        }
        guard fd >= 0 else {
            throw YKTError(.fileWrite, "不能打开存证文件：\(String(cString: strerror(errno)))", at: SourceLocation(file: path))
        }
        syncDirectory = created || committedEnd == 0
        // `fd` is stored only once the checks below pass, so a failed init closes it here,
        // once (deinit runs only for a fully initialized object).
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw YKTError(.fileRead, "不能读取存证文件的大小：\(message)", at: SourceLocation(file: path))
        }
        guard Int64(info.st_size) >= committedEnd else {
            close(fd)
            throw YKTError(.fileRead, "存证文件只有 \(info.st_size) 字节，数据库记录到 \(committedEnd) 字节：已收变更集的原文缺失",
                           at: SourceLocation(file: path),
                           hint: "停止 ykt serve，从最近的备份恢复节点目录下的 evidence 目录，再用 ykt audit verify 核对；在此之前本乡镇的变更集一律拒收")
        }
        if Int64(info.st_size) > committedEnd, ftruncate(fd, off_t(committedEnd)) != 0 {
            let message = String(cString: strerror(errno))
            close(fd)
            throw YKTError(.fileWrite, "不能截去存证文件末尾未提交的字节：\(message)", at: SourceLocation(file: path))
        }
        self.fd = fd
    }

    private static func syncDirectory(_ path: String) throws(YKTError) {
        let dir = open(path, O_RDONLY | O_CLOEXEC)
        guard dir >= 0 else { return }
        defer { close(dir) }
        guard fsync(dir) == 0 else {
            throw YKTError(.fileWrite, "存证目录落盘失败：\(String(cString: strerror(errno)))", at: SourceLocation(file: path))
        }
    }

    deinit { close(fd) }

    /// Writes the next bytes of the body.
    func append(_ bytes: [UInt8]) throws(YKTError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { buf in
                pwrite(fd, buf.baseAddress! + done, buf.count - done, off_t(start + written + Int64(done)))
            }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw YKTError(.fileWrite, "写存证文件失败：\(String(cString: strerror(errno)))", at: SourceLocation(file: path),
                               hint: "检查磁盘空间；这个变更集未被接收，乡镇下次同步时会重发")
            }
            done += n
        }
        written += Int64(bytes.count)
    }

    /// Makes what was written durable (and the file's directory entry, for a new file).
    func sync() throws(YKTError) {
        guard fsync(fd) == 0 else {
            throw YKTError(.fileWrite, "存证文件落盘失败：\(String(cString: strerror(errno)))", at: SourceLocation(file: path))
        }
        if syncDirectory { try Self.syncDirectory(directory) }
    }

    /// What this receive wrote, to be read back (from `start`, `written` bytes).
    func staged() -> some ChangeSetSource { StagedBody(file: self) }

    /// Reads up to `max` bytes at `offset` bytes into what this receive wrote.
    func read(at offset: Int64, into buffer: inout [UInt8], max: Int) throws(YKTError) -> Int {
        let want = Int(min(Int64(max), written - offset))
        guard want > 0 else { return 0 }
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: want))
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + old, want, off_t(start + offset)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                buffer.removeLast(want)
                throw YKTError(.fileRead, "读存证文件失败：\(n < 0 ? String(cString: strerror(errno)) : "文件比写入的短")",
                               at: SourceLocation(file: path), hint: "检查磁盘；这个变更集未被接收，乡镇下次同步时会重发")
            }
            buffer.removeLast(want - n)
            return n
        }
    }

    /// Cuts off what this receive wrote (it was not committed). Best effort: the next receive
    /// cuts it off anyway.
    func discard() {
        _ = ftruncate(fd, off_t(start))
    }

    /// Copies the first `bytes` bytes of township `node`'s file into another node directory
    /// (a backup), durably.
    static func copy(nodeDirectory: String, node: String, bytes: Int64, toNodeDirectory target: String) throws(YKTError) {
        let source = Self.path(directory: nodeDirectory, node: node)
        let destination = Self.path(directory: target, node: node)
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            throw YKTError(.fileRead, "不能打开存证文件：\(String(cString: strerror(errno)))", at: SourceLocation(file: source))
        }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else {
            throw YKTError(.fileWrite, "不能建立存证文件的备份：\(String(cString: strerror(errno)))", at: SourceLocation(file: destination))
        }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var done: Int64 = 0
        while done < bytes {
            let want = Int(min(Int64(buffer.count), bytes - done))
            let n = buffer.withUnsafeMutableBytes { pread(input, $0.baseAddress!, want, off_t(done)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw YKTError(.fileRead, "存证文件比数据库记录的短（\(done) 字节，应有 \(bytes) 字节）", at: SourceLocation(file: source),
                               hint: "从更早的备份恢复 evidence 目录")
            }
            var written = 0
            while written < n {
                let w = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, n - written) }
                if w < 0, errno == EINTR { continue }
                guard w > 0 else {
                    throw YKTError(.fileWrite, "写存证文件的备份失败：\(String(cString: strerror(errno)))", at: SourceLocation(file: destination))
                }
                written += w
            }
            done += Int64(n)
        }
        guard fsync(output) == 0 else {
            throw YKTError(.fileWrite, "存证文件的备份落盘失败：\(String(cString: strerror(errno)))", at: SourceLocation(file: destination))
        }
    }

    /// The body of a stored change set, checked against its signed header's length and hash.
    static func body(nodeDirectory: String, node: String, seq: Int64, header: ChangeSet.Header, offset: Int64) throws(YKTError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(header.bodyBytes)
        try read(nodeDirectory: nodeDirectory, node: node, seq: seq, header: header, offset: offset) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Checks a stored change set's body against its signed header, a megabyte at a time.
    static func verify(nodeDirectory: String, node: String, seq: Int64, header: ChangeSet.Header, offset: Int64) throws(YKTError) {
        try read(nodeDirectory: nodeDirectory, node: node, seq: seq, header: header, offset: offset) { _ in }
    }

    private static func read(nodeDirectory: String, node: String, seq: Int64, header: ChangeSet.Header, offset: Int64,
                             _ take: (ArraySlice<UInt8>) -> Void) throws(YKTError) {
        let path = Self.path(directory: nodeDirectory, node: node)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw YKTError(.fileRead, "不能打开存证文件：\(String(cString: strerror(errno)))", at: SourceLocation(file: path),
                           hint: "从最近的备份恢复节点目录下的 evidence 目录")
        }
        defer { close(fd) }
        let hasher = SHA256.Hasher()
        var buffer = [UInt8](repeating: 0, count: min(header.bodyBytes, 1 << 20))
        var done = 0
        while done < header.bodyBytes {
            let want = min(buffer.count, header.bodyBytes - done)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, want, off_t(offset + Int64(done))) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            hasher.update(buffer[..<n])
            take(buffer[..<n])
            done += n
        }
        guard done == header.bodyBytes, Hex.encode(hasher.finish()) == header.bodySHA256 else {
            throw YKTError(.fileRead, "存证文件中乡镇 \(node) 第 \(seq) 号变更集的正文与其签名头部不符（缺失或被改动）",
                           at: SourceLocation(file: path), hint: "从最近的备份恢复节点目录下的 evidence 目录，再核对")
        }
    }
}

/// A staged body read back from its evidence file, as a change set's source.
final class StagedBody: ChangeSetSource {
    let file: EvidenceFile
    var offset: Int64 = 0
    init(file: EvidenceFile) { self.file = file }
    var length: Int { Int(file.written) }
    func read(into buffer: inout [UInt8], max: Int) throws -> Int {
        let n = try file.read(at: offset, into: &buffer, max: max)
        offset += Int64(n)
        return n
    }
}
