import Foundation
import YKTCore
import YKTCrypto

/// The node's Ed25519 signing key, in `signing.key` in the node directory (mode 0600): one line
/// `ed25519-seed <64 hex>`. Made by `ykt init`; never logged, never leaves the node. The county
/// registers the public key (`ykt key show`) at enrolment.
public enum NodeKey {
    public static let fileName = "signing.key"

    static func path(_ directory: String) -> String { NSStringPath(directory).appending(fileName) }

    /// Writes a new key; refuses to overwrite one.
    package static func create(in directory: String) throws -> Ed25519.PrivateKey {
        let key = try Ed25519.PrivateKey.generate()
        let file = path(directory)
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

    package static func load(from directory: String) throws -> Ed25519.PrivateKey {
        let file = path(directory)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw YKTError(.nodeConfig, "节点没有签名密钥文件 \(fileName)", at: SourceLocation(file: file),
                           hint: "从备份恢复该文件；密钥丢失须在县级重新登记新密钥")
        }
        let parts = String(decoding: data, as: UTF8.self).trimmed.split(separator: " ")
        guard parts.count == 2, parts[0] == "ed25519-seed", let seed = Hex.decode(parts[1]), seed.count == 32 else {
            throw YKTError(.nodeConfig, "签名密钥文件格式不对", at: SourceLocation(file: file), hint: "从备份恢复该文件")
        }
        return try Ed25519.PrivateKey(seed: seed)
    }
}
