internal import CSQLite

/// A prepared statement. It owns its `sqlite3_stmt` and finalizes it in `deinit`, so a
/// statement is never leaked on an error path.
public final class Statement {
    let handle: OpaquePointer
    public let sql: String
    unowned let database: Database

    init(database: Database, sql: String) throws(DatabaseError) {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            throw database.error(rc, sql: sql)
        }
        self.handle = stmt
        self.sql = sql
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds text by its UTF-8 bytes (copied by SQLite); an empty string binds as empty text, not NULL.
    func bindText(_ index: Int32, _ text: String) -> Int32 {
        func bind(_ buf: UnsafeBufferPointer<UInt8>) -> Int32 {
            guard let base = buf.baseAddress, buf.count > 0 else {
                return sqlite3_bind_text(handle, index, "", 0, ykt_sqlite_transient())
            }
            return sqlite3_bind_text(handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self),
                                     Int32(buf.count), ykt_sqlite_transient())
        }
        // A native string's bytes in place, without a copy of the string (and its retain).
        if let rc = text.utf8.withContiguousStorageIfAvailable(bind) { return rc }
        var s = text
        return s.withUTF8(bind)
    }

    /// Clears earlier bindings and binds `values` to `?1…?n`.
    public func bind(_ values: [any DatabaseValueConvertible]) throws(DatabaseError) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard expected == values.count else {
            throw DatabaseError(resultCode: SQLITE_RANGE,
                                message: "statement expects \(expected) arguments, got \(values.count)", sql: sql)
        }
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch value.databaseValue {
            case .null: rc = sqlite3_bind_null(handle, index)
            case .integer(let v): rc = sqlite3_bind_int64(handle, index, v)
            case .text(let s):
                rc = bindText(index, s)
            case .blob(let bytes):
                rc = bytes.withUnsafeBytes { buf in
                    sqlite3_bind_blob(handle, index, buf.baseAddress, Int32(buf.count), ykt_sqlite_transient())
                }
            }
            guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
        }
    }

    /// Steps once: true when a row is available.
    @discardableResult
    public func step() throws(DatabaseError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = database.error(rc, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Binds, runs to completion, and resets.
    public func run(_ values: [any DatabaseValueConvertible] = []) throws(DatabaseError) {
        try bind(values)
        while try step() {}
        sqlite3_reset(handle)
    }

    /// The current row after `step()` returned true (valid until the next step): for reading
    /// two statements side by side.
    public var row: Row { Row(statement: self) }

    /// Binds and calls `body` for each row.
    public func forEach(_ values: [any DatabaseValueConvertible] = [], _ body: (Row) throws -> Void) throws {
        try bind(values)
        defer { sqlite3_reset(handle) }
        let row = Row(statement: self)
        while try step() { try body(row) }
    }
}

/// The current row of a stepping statement. Valid only inside the `forEach` body.
public struct Row {
    let statement: Statement

    public var count: Int { Int(sqlite3_column_count(statement.handle)) }

    public func isNull(_ i: Int) -> Bool { sqlite3_column_type(statement.handle, Int32(i)) == SQLITE_NULL }

    public func int64(_ i: Int) -> Int64 { sqlite3_column_int64(statement.handle, Int32(i)) }
    public func int(_ i: Int) -> Int { Int(int64(i)) }
    public func bool(_ i: Int) -> Bool { int64(i) != 0 }
    public func optionalInt(_ i: Int) -> Int? { isNull(i) ? nil : int(i) }
    public func optionalInt64(_ i: Int) -> Int64? { isNull(i) ? nil : int64(i) }

    public func text(_ i: Int) -> String {
        String(decoding: utf8(i), as: UTF8.self)
    }

    public func optionalText(_ i: Int) -> String? { isNull(i) ? nil : text(i) }

    /// The text of column `i` as SQLite holds it, without copying: valid only until the
    /// statement steps again (for scans over millions of rows). Read as a blob: the bytes are
    /// the same (the database is UTF-8), but `sqlite3_column_text` first copies a value read
    /// from a page into memory of its own to end it with a NUL, which nothing here needs. A
    /// number reads as its text (`sqlite3_value_blob` converts it as `_text` does); NULL as
    /// no bytes.
    public func utf8(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        let p = sqlite3_column_blob(statement.handle, Int32(i))
        let n = Int(sqlite3_column_bytes(statement.handle, Int32(i)))
        return UnsafeBufferPointer(start: p?.assumingMemoryBound(to: UInt8.self), count: p == nil ? 0 : n)
    }

    public func blob(_ i: Int) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(statement.handle, Int32(i)))
        guard n > 0, let p = sqlite3_column_blob(statement.handle, Int32(i)) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}

// Typed binding without boxing, for bulk inserts: `reset()`, bind each parameter, `execute()`.
extension Statement {
    public func reset() {
        sqlite3_reset(handle)
    }

    public func bind(_ index: Int32, _ value: Int64) throws(DatabaseError) {
        let rc = sqlite3_bind_int64(handle, index, value)
        guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
    }

    public func bind(_ index: Int32, _ value: Int64?) throws(DatabaseError) {
        let rc = value.map { sqlite3_bind_int64(handle, index, $0) } ?? sqlite3_bind_null(handle, index)
        guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
    }

    public func bind(_ index: Int32, _ value: String?) throws(DatabaseError) {
        let rc = value.map { bindText(index, $0) } ?? sqlite3_bind_null(handle, index)
        guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
    }

    /// Binds UTF-8 bytes as text (copied by SQLite), with no `String` made of them: the caller
    /// has made sure they are valid UTF-8 (`UTF8Check`).
    public func bind(_ index: Int32, utf8Text bytes: [UInt8]) throws(DatabaseError) {
        try bytes.withUnsafeBufferPointer { buf throws(DatabaseError) in try bind(index, utf8Text: buf) }
    }

    public func bind(_ index: Int32, utf8Text bytes: UnsafeBufferPointer<UInt8>) throws(DatabaseError) {
        let rc: Int32
        if let base = bytes.baseAddress, bytes.count > 0 {
            rc = sqlite3_bind_text(handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(bytes.count),
                                   ykt_sqlite_transient())
        } else {
            rc = sqlite3_bind_text(handle, index, "", 0, ykt_sqlite_transient())
        }
        guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
    }

    /// Binds UTF-8 bytes as text without copying them (`SQLITE_STATIC`): SQLite reads them when
    /// the statement runs. For a bulk path that binds the same parameters again for every row:
    /// the caller keeps the bytes valid and unchanged until the statement has run (`execute`),
    /// and binds the parameter again before it runs the statement again. Same UTF-8 rule as
    /// `bind(_:utf8Text:)`.
    public func bind(_ index: Int32, utf8TextNoCopy bytes: UnsafeBufferPointer<UInt8>) throws(DatabaseError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return try bind(index, utf8Text: bytes) }
        let rc = sqlite3_bind_text(handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil)
        guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
    }

    /// Binds a string literal's UTF-8 bytes as text without a copy (they live as long as the
    /// program). A `StaticString` made from a lone `Unicode.Scalar` has no bytes of its own
    /// (`withUTF8Buffer` lends a temporary copy): it is bound copied. (String literals written
    /// in the source, even of one character, are stored as bytes.)
    public func bind(_ index: Int32, literal: StaticString) throws(DatabaseError) {
        guard literal.hasPointerRepresentation else { return try bind(index, literal.description) }
        let rc = literal.withUTF8Buffer { buf in
            sqlite3_bind_text(handle, index, UnsafeRawPointer(buf.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self),
                              Int32(buf.count), nil)
        }
        guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
    }

    /// Binds bytes as a blob (copied by SQLite).
    public func bind(_ index: Int32, blob bytes: [UInt8]) throws(DatabaseError) {
        let rc = bytes.withUnsafeBytes { buf in
            sqlite3_bind_blob(handle, index, buf.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(buf.count), ykt_sqlite_transient())
        }
        guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
    }

    /// Steps to completion and resets, keeping the bindings cleared for the next row.
    public func execute() throws(DatabaseError) {
        defer { sqlite3_reset(handle) }
        while try step() {}
    }
}
