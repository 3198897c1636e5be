import Foundation
import YKTCore
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive, advisory lock on `<node>/sync.lock` for one sync round. The kernel drops it when
/// the process ends, however it ends, so a killed sync never leaves the node locked.
public final class SyncLock {
    private let fd: Int32

    public init(directory: String) throws(YKTError) {
        let path = (directory as NSString).appendingPathComponent("sync.lock")
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw YKTError(.fileWrite, "不能建立同步锁文件", at: SourceLocation(file: path)) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw YKTError(.syncBusy, "本节点另一个同步正在进行，本次未执行", hint: "等它结束后再同步；定时同步会在下一轮继续")
        }
    }

    public func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
