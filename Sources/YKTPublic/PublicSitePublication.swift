import Foundation
import YKTCore
import YKTCrypto
import YKTNode

/// One publish into `OUT` (`ykt publish --out OUT`): the site and the query store are written
/// under a temporary folder inside `OUT` (`.ykt-publish-<random>`, same file system) and only
/// renamed to `OUT/site` and `OUT/query.store` by `commit`, so a failed publish leaves nothing
/// half-written: until `commit` the old publish (if any) is untouched, and `discard` (or
/// the end of the object) removes the temporary folder, and `OUT` itself when this publish
/// made it. Other files in `OUT` are left alone.
public final class PublicSitePublication {
    public static let siteFolderName = "site"
    public static let storeFileName = "query.store"

    public let out: String
    public let replace: Bool
    /// The temporary folder, and the site and store inside it.
    public let staging: String
    public var stagedSite: String { NSStringPath(staging).appending(Self.siteFolderName) }
    public var stagedStore: String { NSStringPath(staging).appending(Self.storeFileName) }
    private let madeOut: Bool
    private var finished = false

    /// Checks `out` and makes the temporary folder. `out` that already holds a publish
    /// (`site` or `query.store`) is refused unless `replace`.
    public init(out: String, replace: Bool) throws {
        self.out = out
        self.replace = replace
        var info = stat()
        if stat(out, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw YKTError(.usageValue, "输出位置 \(out) 不是目录", at: SourceLocation(file: out, field: "--out"), hint: "--out 给一个目录（不存在时会建立）")
            }
            madeOut = false
            let existing = [Self.siteFolderName, Self.storeFileName].map { NSStringPath(out).appending($0) }.filter {
                var i = stat()
                return lstat($0, &i) == 0
            }
            if !existing.isEmpty && !replace {
                throw YKTError(.publishExists, "输出目录 \(out) 里已有一次发布（\(existing.map { ($0 as NSString).lastPathComponent }.joined(separator: "、"))）",
                               at: SourceLocation(file: existing[0], field: "--out"),
                               hint: "要用这次发布替换它，加 --replace；或换一个输出目录")
            }
        } else {
            guard mkdir(out, 0o755) == 0 else {
                throw YKTError(.fileWrite, "不能建立输出目录（\(String(cString: strerror(errno)))）", at: SourceLocation(file: out, field: "--out"),
                               hint: "检查上级目录是否存在、是否可写")
            }
            madeOut = true
        }
        staging = NSStringPath(out).appending(".ykt-publish-" + Hex.encode(try Scrypt.randomBytes(8)))
        guard mkdir(staging, 0o755) == 0, mkdir(NSStringPath(staging).appending(Self.siteFolderName), 0o755) == 0 else {
            let why = String(cString: strerror(errno))
            let made = madeOut
            Self.remove(staging)
            if made { rmdir(out) }
            throw YKTError(.fileWrite, "不能在输出目录里建立临时目录（\(why)）", at: SourceLocation(file: out, field: "--out"), hint: "检查目录权限和磁盘空间")
        }
    }

    deinit { if !finished { discard() } }

    /// Removes the temporary folder (and `OUT` when this publish made it and it is empty).
    public func discard() {
        finished = true
        Self.remove(staging)
        if madeOut { rmdir(out) }
    }

    /// Puts the staged site and store in place of `OUT/site` and `OUT/query.store` (the old
    /// ones, with `replace`, are moved aside first and deleted after; put back if a rename
    /// fails). Renames only: nothing is copied.
    public func commit() throws {
        let site = NSStringPath(out).appending(Self.siteFolderName), store = NSStringPath(out).appending(Self.storeFileName)
        let old = NSStringPath(staging).appending("old")
        guard mkdir(old, 0o700) == 0 else { throw Self.renameError(old) }
        var movedAside: [(from: String, to: String)] = []
        var placed: [String] = []
        func undo() {
            for p in placed.reversed() { Self.remove(p) }
            for m in movedAside.reversed() { rename(m.to, m.from) }
        }
        for (current, aside) in [(site, NSStringPath(old).appending(Self.siteFolderName)), (store, NSStringPath(old).appending(Self.storeFileName))] {
            var info = stat()
            guard lstat(current, &info) == 0 else { continue }
            // Another publish finished into `out` meanwhile: without --replace it stays.
            guard replace else {
                undo()
                throw YKTError(.publishExists, "输出目录 \(out) 里已有一次发布（另一次发布刚刚完成）", at: SourceLocation(file: current, field: "--out"),
                               hint: "要用这次发布替换它，加 --replace")
            }
            guard rename(current, aside) == 0 else {
                let error = Self.renameError(current)
                undo()
                throw error
            }
            movedAside.append((current, aside))
        }
        for (staged, target) in [(stagedSite, site), (stagedStore, store)] {
            guard rename(staged, target) == 0 else {
                let error = Self.renameError(target)
                undo()
                throw error
            }
            placed.append(target)
        }
        // The renames on disk too (best effort: some file systems refuse fsync on a folder).
        let fd = open(out, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
        finished = true
        Self.remove(staging)
    }

    static func renameError(_ path: String) -> YKTError {
        YKTError(.fileWrite, "不能把发布放到位（\(String(cString: strerror(errno)))）", at: SourceLocation(file: path),
                 hint: "检查输出目录的权限；原有的发布没有改动")
    }

    /// Removes `path` and everything under it, following no link.
    static func remove(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] { remove(NSStringPath(path).appending(name)) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
