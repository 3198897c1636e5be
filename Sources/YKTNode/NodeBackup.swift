import Foundation
import YKTCore
import YKTStore

/// A node's backup: a new directory (0700) holding a consistent copy of its database made with
/// SQLite's online backup API (the node may keep working meanwhile), its `node.conf` and its
/// signing key (0600). Restoring is using that directory as the node directory, with the node
/// stopped. A node restored from a backup is behind what the other side has seen: its next sync
/// is refused with `YKT-SYNC-RESTORED` for an administrator to look at, never silently served.
public enum NodeBackup {
    public struct Report: Sendable, Codable {
        public var directory: String
        public var databaseBytes: Int
        public var files: [String]
    }

    static let copied = [(NodeConfig.fileName, 0o644), (NodeKey.fileName, 0o600), (NodeKey.nextFileName, 0o600)]

    package static func write(db: Database, nodeDirectory: String, databaseFile: String, to target: String) throws -> Report {
        let fm = FileManager.default
        if fm.fileExists(atPath: target) {
            throw YKTError(.fileWrite, "备份目录已存在，不覆盖", at: SourceLocation(file: target), hint: "换一个新目录名，例如带上日期")
        }
        guard mkdir(target, 0o700) == 0 else {
            throw YKTError(.fileWrite, "不能建立备份目录：\(String(cString: strerror(errno)))", at: SourceLocation(file: target))
        }
        let dbPath = (target as NSString).appendingPathComponent(databaseFile)
        do { try db.backup(to: dbPath) } catch {
            throw StoreErrors.map(error)
        }
        var files = [databaseFile]
        for (name, mode) in copied {
            let source = (nodeDirectory as NSString).appendingPathComponent(name)
            guard let bytes = fm.contents(atPath: source) else { continue }
            try FileOutput.writeAtomically(bytes: [UInt8](bytes), to: (target as NSString).appendingPathComponent(name), mode: mode)
            files.append(name)
        }
        let size = (try? fm.attributesOfItem(atPath: dbPath))?[.size] as? Int ?? 0
        return Report(directory: target, databaseBytes: size, files: files)
    }
}
