import Foundation
import YKTCore
#if canImport(Glibc)
import Glibc
#endif

/// A file written in two steps with something committed in between: `stage` writes the bytes
/// to a new hidden temporary file beside the final path and flushes it (data and folder entry)
/// to disk; `place` renames it into place. The payment instruction files use it so that a batch
/// becomes dispatched in the database *before* its file can be seen by the bank, and a dispatch
/// killed in between finds the staged bytes again (`staged(for:)`).
///
/// The temporary file follows `FileOutput`'s rules: `.<name>.tmp-<16 random hex digits>`,
/// created with `O_CREAT|O_EXCL|O_NOFOLLOW`, its mode set on the descriptor.
public enum StagedFile {
    /// Writes `bytes` to a new temporary file beside `path` and flushes it; returns its path.
    /// On failure nothing is left behind.
    public static func stage(bytes: [UInt8], beside path: String, mode: Int = 0o640) throws(YKTError) -> String {
        let tmp = try writeFlushed(bytes, beside: path, mode: mode)
        syncFolder((path as NSString).deletingLastPathComponent)
        return tmp
    }

    /// `bytes` in a new hidden temporary file beside `path` (its folder made if missing), with
    /// `mode`, flushed to disk; its path. On failure nothing is left behind.
    static func writeFlushed(_ bytes: [UInt8], beside path: String, mode: Int) throws(YKTError) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try ExchangeFile.makeFolder(dir) }
        let tmp = FileOutput.temporaryPath(beside: path)
        let fd = try FileOutput.createExclusive(tmp, mode: mode_t(mode))
        var failure: String?
        bytes.withUnsafeBytes { raw in
            var written = 0
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                written += n
            }
        }
        if failure == nil, fchmod(fd, mode_t(mode)) != 0 { failure = String(cString: strerror(errno)) }
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(tmp)
            throw YKTError(.fileWrite, "不能写入文件：\(failure)", at: SourceLocation(file: path), hint: "检查目录权限和磁盘空间")
        }
        return tmp
    }

    /// Renames the staged file `temporary` to `path` (replacing whatever is there, a link
    /// included, never following it) and flushes the folder.
    public static func place(_ temporary: String, at path: String) throws(YKTError) {
        guard rename(temporary, path) == 0 else {
            throw YKTError(.fileWrite, "不能把临时文件改名为正式文件：\(String(cString: strerror(errno)))", at: SourceLocation(file: path),
                           hint: "检查目录权限；再次执行同一命令会补写这个文件")
        }
        syncFolder((path as NSString).deletingLastPathComponent)
    }

    /// Removes a staged file that will not be placed (best effort).
    public static func discard(_ temporary: String) { unlink(temporary) }

    /// The staged files for `path` still in its folder (`.<name>.tmp-…`), regular files only.
    public static func staged(for path: String) -> [String] {
        let dir = (path as NSString).deletingLastPathComponent
        let prefix = "." + (path as NSString).lastPathComponent + ".tmp-"
        return ExchangeFile.list(dir.isEmpty ? "." : dir) { $0.hasPrefix(prefix) }.files.sorted()
            .map { (dir as NSString).appendingPathComponent($0) }
    }

    /// The rename (or the new entry) itself on disk too. Best effort: some file systems refuse
    /// `fsync` on a folder.
    static func syncFolder(_ dir: String) {
        let dirFD = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }
}
