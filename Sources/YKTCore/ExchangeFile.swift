import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files the node did not write: an agency bank's result files and statements, and (for the
/// bank simulator) the county's instruction files. They are hostile until checked
/// (`docs/bank-files.md`, "Files the county did not write"):
///
/// - a link is never followed: `open` with `O_NOFOLLOW` refuses a symbolic link, and a file with
///   more than one hard link is refused, so a link planted in an inbox cannot make the node read
///   its own `signing.key` or database;
/// - only a regular file is read (checked with `fstat` on the open descriptor, so the answer is
///   about the file read, not a name that can change); `O_NONBLOCK` keeps a FIFO from hanging
///   the open;
/// - a file above a size cap is refused before it is read;
/// - a refusal names the file and says why, never quotes its content; a field quoted from such
///   a file is cut to `quoteLimit` characters (`quote`).
public enum ExchangeFile {
    /// 256 MiB. A result file is about 100 bytes a line: 300,000 lines are about 30 MB, so the
    /// cap leaves room for a county-wide batch many times over while keeping a runaway or
    /// hostile file from exhausting memory (it is read whole, and parsing takes several times
    /// its size).
    public static let defaultMaximumBytes = 256 << 20

    /// The most characters of one field of such a file that a message or report quotes.
    public static let quoteLimit = 32

    /// The mode of exchange folders the node makes: owner and group only, the group read-only.
    /// (The process umask can only make it tighter.)
    public static let folderMode: mode_t = 0o750

    /// Reads the file at `path` whole, refusing (with `YKT-FILE-UNSAFE`) a symbolic link, a file
    /// with more than one hard link, or anything but a regular file, and (with `YKT-FILE-SIZE`)
    /// a file above `maximumBytes`. A file that cannot be opened or read is `YKT-FILE-READ`.
    public static func read(path: String, maximumBytes: Int = defaultMaximumBytes) throws(YKTError) -> [UInt8] {
        var fd: Int32
        repeat {
            fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        } while fd < 0 && errno == EINTR
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ELOOP:     // O_NOFOLLOW on a symbolic link
                throw unsafe(path, kind: "符号链接")
            case ENXIO, ENODEV:     // a socket, or a device with no driver behind it
                throw unsafe(path, kind: "特殊文件")
            case ENOENT:
                throw YKTError(.fileRead, "文件不存在", at: SourceLocation(file: path), hint: "检查文件路径")
            default:
                throw YKTError(.fileRead, "文件不能打开（\(String(cString: strerror(code)))）", at: SourceLocation(file: path),
                               hint: "检查文件权限")
            }
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw YKTError(.fileRead, "不能查看文件信息（\(String(cString: strerror(errno)))）", at: SourceLocation(file: path))
        }
        if let kind = refusedKind(st) { throw unsafe(path, kind: kind) }
        guard st.st_size <= maximumBytes else { throw tooLarge(path, size: Int64(st.st_size), maximum: maximumBytes) }

        // Read what fstat announced, then on to the end: a file still growing is read as far as
        // the cap, never further.
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        var filled = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n: Int
            if filled < bytes.count {
                n = bytes.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress! + filled, $0.count - filled) }
            } else {
                n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, $0.count) }
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw YKTError(.fileRead, "读取文件失败（\(String(cString: strerror(errno)))）", at: SourceLocation(file: path))
            }
            if n == 0 { break }
            if filled < bytes.count {
                filled += n
            } else {
                guard bytes.count + n <= maximumBytes else {
                    throw tooLarge(path, size: Int64(bytes.count + n), maximum: maximumBytes)
                }
                bytes.append(contentsOf: chunk[..<n])
                filled = bytes.count
            }
        }
        if filled < bytes.count { bytes.removeSubrange(filled...) }   // it shrank while read
        return bytes
    }

    /// An entry of an exchange folder that is not read: a link, a directory, a FIFO, a socket,
    /// a device, or a file with several hard links.
    public struct Skipped: Sendable {
        public var name: String
        /// What it is, in Chinese (`符号链接`, `目录`, `命名管道`…).
        public var kind: String
        /// The refusal, naming the entry (never quoting anything in it).
        public var error: YKTError { ExchangeFile.unsafe(name, kind: kind) }
    }

    /// The names in `folder` that `include` accepts, sorted, split into regular files (each
    /// with one link) and the entries skipped. Looked at with `lstat`, so no link is followed;
    /// `read` checks again on the open file. A folder that cannot be listed lists nothing.
    public static func list(_ folder: String, including include: (String) -> Bool) -> (files: [String], skipped: [Skipped]) {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter(include).sorted()
        var files: [String] = [], skipped: [Skipped] = []
        for name in names {
            var st = stat()
            guard lstat((folder as NSString).appendingPathComponent(name), &st) == 0 else { continue }   // gone meanwhile
            if let kind = refusedKind(st) {
                skipped.append(Skipped(name: name, kind: kind))
            } else {
                files.append(name)
            }
        }
        return (files, skipped)
    }

    /// Makes `path` and any missing parent folders with `mode` (0750 unless told; `mkdir`
    /// applies the umask, which can only tighten it). A folder that exists is left as it is:
    /// never loosened, never tightened (an administrator may have given a bank's group write
    /// access to its inbox).
    public static func makeFolder(_ path: String, mode: mode_t = folderMode) throws(YKTError) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw YKTError(.fileWrite, "不能建立目录：同名的文件已存在", at: SourceLocation(file: path), hint: "移走这个文件，或换一个目录")
            }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeFolder(parent, mode: mode) }
        guard mkdir(path, mode) == 0 || errno == EEXIST else {
            throw YKTError(.fileWrite, "不能建立目录（\(String(cString: strerror(errno)))）", at: SourceLocation(file: path),
                           hint: "检查上级目录的权限")
        }
    }

    /// A field of a file from outside, fit to quote in a message: at most `limit` characters
    /// (then `…` and its length), control and format characters (line breaks, bidirectional
    /// overrides) shown as `�`, so a quoted field can neither carry a file's content into a
    /// report nor forge lines in it.
    public static func quote(_ field: some StringProtocol, limit: Int = quoteLimit) -> String {
        var out = ""
        var count = 0
        for c in field {
            if count == limit { return out + "…（共 \(field.count) 字）" }
            let unsafe = c.unicodeScalars.contains {
                switch $0.properties.generalCategory {
                case .control, .format, .lineSeparator, .paragraphSeparator: true
                default: false
                }
            }
            out.append(unsafe ? "\u{FFFD}" : c)
            count += 1
        }
        return out
    }

    /// What a file is when it must not be read (`nil` for a regular file with one link).
    static func refusedKind(_ st: stat) -> String? {
        switch st.st_mode & S_IFMT {
        case S_IFREG: st.st_nlink == 1 ? nil : "有 \(st.st_nlink) 个硬链接的文件"
        case S_IFLNK: "符号链接"
        case S_IFDIR: "目录"
        case S_IFIFO: "命名管道"
        case S_IFSOCK: "套接字"
        case S_IFCHR, S_IFBLK: "设备文件"
        default: "特殊文件"
        }
    }

    static func unsafe(_ file: String, kind: String) -> YKTError {
        YKTError(.fileUnsafe, "是\(kind)，不是普通文件，未读取（从外部来的文件只读普通文件，不跟随链接）", at: SourceLocation(file: file),
                 hint: "请对方把文件本身（不是链接）放入；删除这一项")
    }

    static func tooLarge(_ file: String, size: Int64, maximum: Int) -> YKTError {
        YKTError(.fileTooLarge, "文件大小（至少 \(size) 字节）超过上限 \(maximum) 字节（\(maximum >> 20) MiB），未读取",
                 at: SourceLocation(file: file), hint: "请对方分成几个文件重新出具；确需更大的文件时调高上限")
    }
}

/// `read(2)`, named apart from `ExchangeFile.read`.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
