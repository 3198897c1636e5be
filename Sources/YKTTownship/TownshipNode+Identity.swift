import Foundation
import YKTCore
import YKTCrypto
import YKTNode

extension TownshipNode {
    /// Backs this node up into the new directory `target` (see `NodeBackup`).
    public func backup(to target: String) throws -> NodeBackup.Report {
        let report = try NodeBackup.write(db: db, nodeDirectory: directory, databaseFile: Self.databaseFile, to: target)
        try perform("node.backup") { ((), AuditNote(object: target, detail: "bytes=\(report.databaseBytes)")) }
        return report
    }
}
