import Foundation
import YKTCore
#if canImport(Glibc)
import Glibc
#endif

/// Files the node writes: always to a temporary name first, then renamed, so a reader never
/// sees half a file. Many land in folders others can write too (a bank's exchange folder), so
/// nothing there is trusted: the temporary file is new (`O_EXCL`), its name unpredictable, and
/// no link at either name is followed.
public enum FileOutput {
    public static func writeAtomically(_ text: String, to path: String, mode: Int = 0o644) throws(YKTError) {
        try writeAtomically(bytes: Array(text.utf8), to: path, mode: mode)
    }

    /// Writes `bytes` to a new temporary file beside `path`, flushes it to disk and renames it
    /// into place, so a reader (a bank's pick-up job, WPS) never sees a half-written file.
    ///
    /// - The temporary file is `.<name>.tmp-<16 random hex digits>`, created with
    ///   `O_CREAT|O_EXCL|O_NOFOLLOW`: a file or link planted at a guessed name is refused, never
    ///   followed or reused. It has `mode` from the start (set on the descriptor with `fchmod`,
    ///   whatever the umask; no path is ever `chmod`-ed).
    /// - `rename` replaces whatever is at `path` itself: a symbolic link planted there is
    ///   replaced by the file, and the file it pointed to is left untouched.
    /// - On any failure the temporary file is removed and `path` is as it was.
    /// - Missing folders on the way are made 0750 (`ExchangeFile.makeFolder`); existing ones are
    ///   left as they are.
    public static func writeAtomically(bytes: [UInt8], to path: String, mode: Int = 0o644) throws(YKTError) {
        let tmp = try StagedFile.writeFlushed(bytes, beside: path, mode: mode)
        guard rename(tmp, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(tmp)
            throw YKTError(.fileWrite, "不能写入文件：\(why)", at: SourceLocation(file: path), hint: "检查目录权限和磁盘空间")
        }
        // The rename itself on disk too. Best effort: some file systems refuse fsync on a folder.
        StagedFile.syncFolder((path as NSString).deletingLastPathComponent)
    }

    /// `.<name>.tmp-<16 hex digits>` beside `path`, the digits from the system's random source:
    /// hidden from pick-up jobs that skip dot files, and not to be guessed in advance.
    static func temporaryPath(beside path: String) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        let name = "." + (path as NSString).lastPathComponent + ".tmp-" + String(format: "%016llx", UInt64.random(in: .min ... .max))
        return dir.isEmpty ? name : (dir as NSString).appendingPathComponent(name)
    }

    /// Creates `path` as a new file for writing with `mode`; refuses anything already there,
    /// a symbolic link included (`O_EXCL|O_NOFOLLOW`).
    static func createExclusive(_ path: String, mode: mode_t) throws(YKTError) -> Int32 {
        var fd: Int32
        repeat {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        } while fd < 0 && errno == EINTR
        guard fd >= 0 else {
            throw YKTError(.fileWrite, "不能建立临时文件（\(String(cString: strerror(errno)))）", at: SourceLocation(file: path),
                           hint: "检查目录权限和磁盘空间；同名的文件或链接已存在时不会覆盖")
        }
        return fd
    }
}
