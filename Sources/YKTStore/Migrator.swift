/// Applies numbered schema migrations in order and records the version in `PRAGMA user_version`.
/// A database newer than the program is refused, never downgraded.
public struct Migrator: Sendable {
    public struct Migration: Sendable {
        public var version: Int
        public var sql: String
        /// A migration that rebuilds a table other tables reference (SQLite cannot change a
        /// CHECK or add a foreign key in place). SQLite's documented way
        /// (https://sqlite.org/lang_altertable.html#otheralter, "the 12 steps"): foreign keys
        /// are switched off outside the transaction (the pragma is a no-op inside one), the
        /// table is created anew, copied, the old one dropped and the new one renamed, then
        /// `PRAGMA foreign_key_check` must find nothing before the commit; foreign keys are
        /// switched back on whatever happened.
        public var rebuildsReferencedTable: Bool
        public init(version: Int, sql: String, rebuildsReferencedTable: Bool = false) {
            self.version = version
            self.sql = sql
            self.rebuildsReferencedTable = rebuildsReferencedTable
        }
    }

    public struct TooNew: Error, Sendable, CustomStringConvertible {
        public var found: Int
        public var supported: Int
        public var description: String { "database schema version \(found) is newer than this program's \(supported)" }
    }

    /// A table rebuild left rows whose foreign key points nowhere: the migration is rolled back.
    public struct ForeignKeyViolation: Error, Sendable, CustomStringConvertible {
        public var version: Int
        public var violations: [String]
        public var description: String {
            "migration \(version) left \(violations.count) foreign key violation(s): \(violations.prefix(5).joined(separator: "; "))"
        }
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
            guard m.rebuildsReferencedTable else {
                try db.transaction {
                    try db.execute(m.sql)
                    try db.execute("PRAGMA user_version = \(m.version)")
                }
                continue
            }
            let enforced = try db.integer("PRAGMA foreign_keys") == 1
            try db.execute("PRAGMA foreign_keys=OFF")
            defer { if enforced { try? db.execute("PRAGMA foreign_keys=ON") } }
            try db.transaction {
                try db.execute(m.sql)
                let violations = try db.all("PRAGMA foreign_key_check") {
                    "\($0.text(0)) rowid \($0.optionalText(1) ?? "?") → \($0.text(2))"
                }
                guard violations.isEmpty else { throw ForeignKeyViolation(version: m.version, violations: violations) }
                try db.execute("PRAGMA user_version = \(m.version)")
            }
        }
    }
}
