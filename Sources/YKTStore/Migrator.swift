/// Applies numbered schema migrations in order and records the version in `PRAGMA user_version`.
/// A database newer than the program is refused, never downgraded.
public struct Migrator: Sendable {
    public struct Migration: Sendable {
        public var version: Int
        public var sql: String
        public init(version: Int, sql: String) {
            self.version = version
            self.sql = sql
        }
    }

    public struct TooNew: Error, Sendable, CustomStringConvertible {
        public var found: Int
        public var supported: Int
        public var description: String { "database schema version \(found) is newer than this program's \(supported)" }
    }

    public var migrations: [Migration]

    public init(_ migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    public var latest: Int { migrations.last?.version ?? 0 }

    /// Brings `db` to the latest version; each migration commits with its version number.
    public func migrate(_ db: Database) throws {
        let current = db.userVersion
        if current > latest { throw TooNew(found: current, supported: latest) }
        for m in migrations where m.version > current {
            try db.transaction {
                try db.execute(m.sql)
                try db.execute("PRAGMA user_version = \(m.version)")
            }
        }
    }
}
