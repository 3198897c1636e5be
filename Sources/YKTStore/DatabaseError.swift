internal import CSQLite

/// A failure reported by SQLite, with everything needed to understand it: the primary and
/// extended result codes, SQLite's message, and the SQL that failed.
public struct DatabaseError: Error, Sendable, CustomStringConvertible {
    public var resultCode: Int32
    public var extendedCode: Int32
    public var message: String
    public var sql: String?

    public init(resultCode: Int32, extendedCode: Int32? = nil, message: String, sql: String? = nil) {
        self.resultCode = resultCode
        self.extendedCode = extendedCode ?? resultCode
        self.message = message
        self.sql = sql
    }

    /// The disk or the database reached its size limit (`SQLITE_FULL`).
    public var isFull: Bool { resultCode == SQLITE_FULL }
    /// Another connection holds a lock (`SQLITE_BUSY`, `SQLITE_LOCKED`).
    public var isBusy: Bool { resultCode == SQLITE_BUSY || resultCode == SQLITE_LOCKED }
    /// A UNIQUE, CHECK, NOT NULL or foreign-key constraint failed.
    public var isConstraint: Bool { resultCode == SQLITE_CONSTRAINT }

    public var description: String {
        var text = "SQLite error \(resultCode)"
        if extendedCode != resultCode { text += " (extended \(extendedCode))" }
        text += ": \(message)"
        if let sql { text += " — in: \(sql)" }
        return text
    }
}
