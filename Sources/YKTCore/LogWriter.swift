import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where log lines go: a file descriptor (stderr by default, or a log file opened for
/// appending), written by any number of threads. Each line, with its newline, goes out in one
/// `write(2)` call made under a lock, so lines from different threads never interleave; if the
/// kernel takes only part of it (a full pipe, a signal), the rest follows before any other line.
/// A line that cannot be written (disk full, reader gone) is counted in `failedWrites` and
/// dropped: logging never stops the program. Writing to a pipe whose reader has gone raises
/// SIGPIPE unless the program ignores it (`ykt serve` does, for its sockets).
public final class LogWriter: @unchecked Sendable {
    // Safe: `fd` is immutable and every write, and `failed`, happen under `lock`.
    private let lock = NSLock()
    private let fd: Int32
    private let owned: Bool
    private var failed = 0

    /// The process's standard error (not closed).
    public static let standardError = LogWriter(fileDescriptor: STDERR_FILENO)

    /// Writes to `fileDescriptor`, which the caller keeps open and closes.
    public init(fileDescriptor: Int32) {
        fd = fileDescriptor
        owned = false
    }

    /// Appends to the file at `path` (created 0600 if missing; symlinks not followed), closed
    /// when the writer goes away.
    public init(appendingTo path: String) throws(YKTError) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw YKTError(.fileWrite, "不能打开日志文件：\(String(cString: strerror(errno)))", at: SourceLocation(file: path),
                           hint: "检查目录是否存在、是否可写，日志文件不能是符号链接")
        }
        self.fd = fd
        owned = true
    }

    deinit {
        if owned { close(fd) }
    }

    /// Lines that could not be written, so far.
    public var failedWrites: Int { lock.withLock { failed } }

    /// Writes `line` and a newline, whole.
    public func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        lock.withLock {
            var done = 0
            while done < bytes.count {
                let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + done, $0.count - done) }
                if n > 0 {
                    done += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    failed += 1
                    return
                }
            }
        }
    }
}

private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, bytes, count)
    #else
    Darwin.write(fd, bytes, count)
    #endif
}
