import Foundation
import YKTCore
import YKTCrypto

/// The node's Ed25519 signing key, in `signing.key` in the node directory (mode 0600): one line
/// `ed25519-seed <64 hex>`. Made by `ykt init`; never logged, never leaves the node. The county
/// registers the public key (`ykt key show`) at enrolment.
public enum NodeKey {
    public static let fileName = "signing.key"
    /// The key a rotation made (`ykt key rotate`), kept beside the current one until the
    /// rotation is confirmed (township: the county's receipt; county: its own commit), then
    /// renamed over `signing.key` (`promote`).
    public static let nextFileName = "signing.key.next"

    static func path(_ directory: String, _ name: String = fileName) -> String { NSStringPath(directory).appending(name) }

    /// Writes a new key; refuses to overwrite one.
    package static func create(in directory: String, file name: String = fileName) throws -> Ed25519.PrivateKey {
        let key = try Ed25519.PrivateKey.generate()
        let file = path(directory, name)
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw YKTError(.fileWrite, "不能创建签名密钥文件（\(String(cString: strerror(errno)))）",
                           at: SourceLocation(file: file), hint: "检查节点目录权限；已有密钥时不会覆盖")
        }
        defer { close(fd) }
        let text = Array("ed25519-seed \(Hex.encode(key.seed))\n".utf8)
        guard write(fd, text, text.count) == text.count, fsync(fd) == 0 else {
            throw YKTError(.fileWrite, "写入签名密钥失败", at: SourceLocation(file: file), hint: "检查磁盘空间")
        }
        return key
    }

    /// A new key in `signing.key.next`, replacing one left there by a rotation that never
    /// committed (nothing refers to it: the database records a rotation only after this file
    /// is on disk).
    package static func createNext(in directory: String) throws -> Ed25519.PrivateKey {
        let file = path(directory, nextFileName)
        if unlink(file) != 0, errno != ENOENT {
            throw YKTError(.fileWrite, "不能删除未完成的密钥文件（\(String(cString: strerror(errno)))）", at: SourceLocation(file: file))
        }
        return try create(in: directory, file: nextFileName)
    }

    /// The key in `signing.key.next`, or nil when there is none.
    package static func loadNext(from directory: String) throws -> Ed25519.PrivateKey? {
        guard FileManager.default.fileExists(atPath: path(directory, nextFileName)) else { return nil }
        return try load(from: directory, file: nextFileName)
    }

    /// Makes the rotated key the current one: renames `signing.key.next` over `signing.key`
    /// (atomic; the old private key is gone) and syncs the directory.
    package static func promote(in directory: String) throws {
        let next = path(directory, nextFileName), current = path(directory)
        guard rename(next, current) == 0 else {
            throw YKTError(.fileWrite, "不能启用新签名密钥（\(String(cString: strerror(errno)))）", at: SourceLocation(file: next),
                           hint: "检查节点目录权限；下次打开节点时会再试")
        }
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    package static func load(from directory: String, file name: String = fileName) throws -> Ed25519.PrivateKey {
        let file = path(directory, name)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw YKTError(.nodeConfig, "节点没有签名密钥文件 \(name)", at: SourceLocation(file: file),
                           hint: "从备份恢复该文件；密钥丢失须在县级重新登记新密钥")
        }
        let parts = String(decoding: data, as: UTF8.self).trimmed.split(separator: " ")
        guard parts.count == 2, parts[0] == "ed25519-seed", let seed = Hex.decode(parts[1]), seed.count == 32 else {
            throw YKTError(.nodeConfig, "签名密钥文件格式不对", at: SourceLocation(file: file), hint: "从备份恢复该文件")
        }
        return try Ed25519.PrivateKey(seed: seed)
    }
}
