internal import CSQLite
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One SQLite connection. It is not `Sendable`: a connection is used by one thread at a time,
/// as a node process runs one command (or one sync round) at a time.
///
/// Opened with WAL journaling and `synchronous=NORMAL` ("a transaction committed in WAL mode
/// with synchronous=NORMAL might roll back following a power loss or system crash", never
/// corrupts; a committed transaction survives an application crash), foreign keys on, a busy
/// timeout, and the file created with mode 0600.
public final class Database {
    let handle: OpaquePointer
    public let path: String
    private var cache: [String: Statement] = [:]
    private var transactionDepth = 0
    /// `makeDurable` has run, and nothing has set `synchronous=NORMAL` since.
    private var durable = false
    /// The closure `trace` installed, kept alive while SQLite may call it.
    private var tracer: Tracer?
    private let busyTimeoutMilliseconds: Int32

    /// Process-wide SQLite settings, applied once before the first connection.
    private static let configured: Bool = {
        // Fails harmlessly (SQLITE_MISUSE) if the library was already initialised.
        _ = ykt_sqlite_disable_memstatus()
        return true
    }()

    /// Opens (and, when `create` is true, creates) the database at `path`. With `create` false
    /// a missing file is an error (`SQLITE_CANTOPEN`), never a new empty database: for a
    /// connection that joins a database another one already uses.
    ///
    /// With `readOnly` the file is opened as it is, never created, never written (not even the
    /// journal mode in its header): for a file whose bytes are signed, such as the public query
    /// store. `pageSize` is the page size of a file this call creates (a power of two from 512
    /// to 65,536); a file that exists keeps its own.
    public init(path: String, busyTimeoutMilliseconds: Int32 = 5_000, create: Bool = true, readOnly: Bool = false,
                pageSize: Int = Database.pageSize) throws(DatabaseError) {
        _ = Self.configured
        precondition((512...65_536).contains(pageSize) && pageSize & (pageSize - 1) == 0, "a page size is a power of two from 512 to 65,536")
        let create = create && !readOnly
        // Create the file ourselves so its mode is 0600 from the first byte; SQLite gives its
        // -wal and -shm files the same permissions as the database file.
        // Only a file that did not exist is opened and closed here: closing any descriptor of a
        // file drops every POSIX lock this process holds on it, so doing that to a database
        // another connection of this process has open (a read connection, the checkpointer)
        // would make other processes believe it closed, and one of them could reset the WAL
        // under it (a corrupt database).
        var created = false
        if path != ":memory:" && create {
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                fchmod(fd, 0o600)
                close(fd)
                created = true
            } else if errno == EEXIST {
                chmod(path, 0o600)
            } else {
                throw DatabaseError(resultCode: SQLITE_CANTOPEN,
                                    message: "cannot create \(path): \(String(cString: strerror(errno)))")
            }
        }
        var db: OpaquePointer?
        let mode = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)
        let rc = sqlite3_open_v2(path, &db, mode | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            // "Whether or not an error occurs when it is opened, resources associated with the
            // database connection handle should be released by passing it to sqlite3_close()."
            sqlite3_close_v2(db)
            throw DatabaseError(resultCode: rc & 0xFF, extendedCode: rc, message: "cannot open \(path): \(message)", sql: nil)
        }
        self.handle = db
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        do {
            // A 64 MiB page cache keeps a 100,000-line import from spilling pages mid-transaction.
            if readOnly {
                try execute("PRAGMA query_only=1; PRAGMA temp_store=MEMORY;")
            } else {
                // A new file gets pages of `pageSize` bytes (fixed from its first write on).
                if created { try execute("PRAGMA page_size=\(pageSize)") }
                try execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; " +
                            "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;")
            }
        } catch {
            cache.removeAll()
            sqlite3_close_v2(db)
            throw error
        }
    }

    /// The page size of the database files this program creates (all but a county's,
    /// `largePageSize`): 8 KiB, where SQLite's default is 4 KiB. Bulk writes (a register's first sync at the county, a register import) dirty
    /// pages all over three or four indexes; with pages twice as large, a commit writes half as
    /// many log frames (two system calls each) and every index is a level shallower or fuller
    /// (docs/performance.md, issue 19). Files made before keep the size they have.
    public static let pageSize = 8_192

    /// The page size of a county's database: 32 KiB. Its register takes a township's whole
    /// register at a first sync, a million residents written in random order into three
    /// indexes; with pages four times as large a commit writes a quarter as many log frames,
    /// each index is shallower, and SQLite looks up fewer pages per row (a million
    /// registrations' push about a tenth faster, issue 19; docs/performance.md). A township's
    /// database keeps 8 KiB: its small rounds make its log durable and copy it back before
    /// they send, and larger pages made a 10-operation sync about half a millisecond slower.
    public static let largePageSize = 32_768

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs `body` (a bulk write: a whole register import) with a rollback journal instead of
    /// WAL, when this connection is the only one open. Pages added to the file are then written
    /// once, where WAL writes each twice (to the log, then back at the checkpoint). Durability
    /// is kept with `synchronous=FULL`, and a crash mid-way leaves a hot journal that the next
    /// connection rolls back. When another connection is open the switch is refused at once
    /// (no waiting) and `body` runs in WAL as usual: slower, with the same result. WAL is set
    /// again afterwards, and every connection sets it again when it opens. While it runs,
    /// another process opening the database waits (up to its busy timeout) instead of reading
    /// beside it, as it could in WAL: a register import is short, and a scheduled sync that
    /// meets one simply tries again at its next round.
    public func withRollbackJournal<T>(_ body: () throws -> T) throws -> T {
        precondition(transactionDepth == 0, "the journal mode changes only outside a transaction")
        sqlite3_busy_timeout(handle, 0)
        let mode = try? first("PRAGMA journal_mode=DELETE") { $0.text(0) }
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        guard mode == "delete" else { return try body() }
        defer {
            // Each on its own, so that one failing (the WAL switch, if another process got in)
            // does not keep the others from running; the next connection sets WAL again anyway.
            _ = try? first("PRAGMA journal_mode=WAL") { $0.text(0) }
            try? execute("PRAGMA synchronous=NORMAL")
            durable = false
            try? execute("PRAGMA cache_size=-65536")
        }
        // 16 MiB of cache, not more: pages beyond it are written as the import goes (its
        // journal holds only the few pages the database had). A cache large enough to keep
        // every page until the commit was slower: each new page of memory costs a page fault,
        // and the commit then writes them all at once (100,000 lines: 0.94 s with 256 MiB,
        // 0.90 s with 8–16 MiB; docs/performance.md).
        try execute("PRAGMA synchronous=FULL; PRAGMA cache_size=-16384")
        return try body()
    }

    /// Runs `body` with this connection's foreign keys not enforced, for a bulk write whose
    /// every reference is made by construction and proven otherwise (a register import: each
    /// account names the id its person's row was written with in the same statement batch,
    /// and a batch that writes fewer rows than it has fails the whole import). SQLite looks up
    /// the parent row of every child row it inserts; here that lookup was a tenth of writing an
    /// account (docs/performance.md). Set outside a transaction (SQLite ignores the switch
    /// inside one), and back on afterwards, whatever `body` did; every new connection turns
    /// them on anyway.
    public func withForeignKeysUnenforced<T>(_ body: () throws -> T) throws -> T {
        precondition(transactionDepth == 0, "foreign key enforcement changes only outside a transaction")
        try execute("PRAGMA foreign_keys=OFF")
        defer { try? execute("PRAGMA foreign_keys=ON") }
        return try body()
    }

    /// From now on every commit on this connection is on disk before it returns
    /// (`synchronous=FULL`), and so is every commit made before with `synchronous=NORMAL`: a
    /// passive checkpoint syncs the log before it copies any of it back. A sync round calls
    /// this before it sends or acknowledges anything, so that a power cut can never leave the
    /// county knowing more of this node than the node itself. A second call on the connection
    /// does nothing (the round's pull after its push): every commit since the first was synced.
    public func makeDurable() throws {
        if durable { return }
        try execute("PRAGMA synchronous=FULL")
        _ = try first("PRAGMA wal_checkpoint(PASSIVE)") { $0.int(0) }
        durable = true
    }

    /// When this connection closes as the last one, the write-ahead log is left as it is
    /// instead of copied back into the database (a checkpoint: two syncs and the pages written
    /// again), if it holds at most `bytes`; the next connection to open reads it, and its own
    /// close or the next round's `makeDurable` copies it back. A one-shot `ykt sync` of a few
    /// operations ends this way; a large log (a push of a whole register) is copied back at
    /// close as usual, so that the next opening does not have to read it all. Returns whether
    /// the log is kept.
    @discardableResult
    public func keepLogOnClose(ifAtMost bytes: Int) -> Bool {
        var info = stat()
        guard path != ":memory:", stat(path + "-wal", &info) == 0, Int(info.st_size) <= bytes else { return false }
        return ykt_sqlite_keep_log_on_close(handle) == SQLITE_OK
    }

    /// Back to `synchronous=NORMAL`, once a round has sent its last request: what it writes
    /// after that (the county's audit anchor, the round's record) tells the county nothing, and
    /// is synced by the checkpoint when the last connection closes, or by the first commit of
    /// the next round, which `makeDurable` makes synced again.
    public func relaxDurability() throws {
        try execute("PRAGMA synchronous=NORMAL")
        durable = false
    }

    /// Runs `body`, a write whose loss to a power cut harms nothing (when a township was last
    /// seen), with `synchronous=NORMAL` on a connection that otherwise syncs every commit
    /// (`ykt serve`), and sets the level back afterwards. Its commit is synced with the next
    /// synced one: the log is one file, synced whole. Inside a transaction, or on a connection
    /// that does not sync every commit, `body` simply runs.
    public func unsynced<T>(_ body: () throws -> T) throws -> T {
        let level = synchronousLevel
        guard level >= 2, transactionDepth == 0 else { return try body() }
        try execute("PRAGMA synchronous=NORMAL")
        defer { try? execute("PRAGMA synchronous=\(level)") }
        return try body()
    }

    /// The `synchronous` setting in force (1 NORMAL, 2 FULL).
    public var synchronousLevel: Int {
        (try? first("PRAGMA synchronous") { $0.int(0) }) ?? -1
    }

    /// The journal mode in force: "wal", or "delete" inside `withRollbackJournal`.
    public var journalMode: String {
        (try? first("PRAGMA journal_mode") { $0.text(0) }) ?? "?"
    }

    func error(_ rc: Int32, sql: String?) -> DatabaseError {
        DatabaseError(resultCode: rc & 0xFF, extendedCode: sqlite3_extended_errcode(handle),
                      message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs one or more statements with no arguments (schema, pragmas).
    public func execute(_ sql: String) throws(DatabaseError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw DatabaseError(resultCode: rc & 0xFF, extendedCode: sqlite3_extended_errcode(handle),
                                message: text, sql: sql)
        }
    }

    /// A prepared statement for `sql`, cached for the life of the connection.
    public func statement(_ sql: String) throws(DatabaseError) -> Statement {
        if let s = cache[sql] { return s }
        let s = try Statement(database: self, sql: sql)
        cache[sql] = s
        return s
    }

    /// What each cached statement has done since it was prepared: how many times it ran and how
    /// many rows it stepped through in full-table scans (SQLite's `SQLITE_STMTSTATUS_RUN` and
    /// `SQLITE_STMTSTATUS_FULLSCAN_STEP`). For tests that look for a table read whole where an
    /// index should answer (a partial index the query's WHERE does not imply, say).
    public func scanCounts() -> [(sql: String, runs: Int, fullScanSteps: Int)] {
        cache.values.map { s in
            (s.sql, Int(sqlite3_stmt_status(s.handle, SQLITE_STMTSTATUS_RUN, 0)),
             Int(sqlite3_stmt_status(s.handle, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0)))
        }
    }

    /// Runs one statement with arguments.
    public func run(_ sql: String, _ values: any DatabaseValueConvertible...) throws(DatabaseError) {
        try statement(sql).run(values)
    }

    /// Calls `body` for each row of a query.
    public func forEach(_ sql: String, _ values: any DatabaseValueConvertible..., body: (Row) throws -> Void) throws {
        try statement(sql).forEach(values, body)
    }

    /// The rows of a query, each mapped by `map`.
    public func all<T>(_ sql: String, _ values: any DatabaseValueConvertible..., map: (Row) throws -> T) throws -> [T] {
        var out: [T] = []
        try statement(sql).forEach(values) { out.append(try map($0)) }
        return out
    }

    /// The first row mapped by `map`, or nil.
    public func first<T>(_ sql: String, _ values: any DatabaseValueConvertible..., map: (Row) throws -> T) throws -> T? {
        let s = try statement(sql)
        try s.bind(values)
        defer { sqlite3_reset(s.handle) }
        guard try s.step() else { return nil }
        return try map(Row(statement: s))
    }

    /// The integer in the first column of the first row, or nil.
    public func integer(_ sql: String, _ values: any DatabaseValueConvertible...) throws(DatabaseError) -> Int64? {
        let s = try statement(sql)
        try s.bind(values)
        defer { sqlite3_reset(s.handle) }
        guard try s.step() else { return nil }
        return sqlite3_column_type(s.handle, 0) == SQLITE_NULL ? nil : sqlite3_column_int64(s.handle, 0)
    }

    /// Copies the whole database into a new file at `path` (mode 0600) with SQLite's online
    /// backup API: a consistent snapshot even while other connections write (the copy restarts
    /// if the source changes under it). The new file is in rollback-journal mode, whole in
    /// itself, with no `-wal` beside it. Refuses to overwrite an existing file.
    public func backup(to path: String) throws(DatabaseError) {
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw DatabaseError(resultCode: SQLITE_CANTOPEN, message: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        close(fd)
        var target: OpaquePointer?
        var rc = sqlite3_open_v2(path, &target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
        defer { sqlite3_close_v2(target) }
        guard rc == SQLITE_OK, let target else {
            unlink(path)
            throw DatabaseError(resultCode: rc, message: "cannot open \(path)")
        }
        guard let backup = sqlite3_backup_init(target, "main", handle, "main") else {
            let error = DatabaseError(resultCode: sqlite3_errcode(target), message: String(cString: sqlite3_errmsg(target)))
            unlink(path)
            throw error
        }
        var waits = 0
        repeat {
            rc = sqlite3_backup_step(backup, -1)
            if rc == SQLITE_BUSY || rc == SQLITE_LOCKED {
                waits += 1
                sqlite3_sleep(50)
            }
        } while rc == SQLITE_OK || ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && waits < 200)
        sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE else {
            let error = DatabaseError(resultCode: rc, extendedCode: sqlite3_extended_errcode(target),
                                      message: String(cString: sqlite3_errmsg(target)))
            unlink(path)
            throw error
        }
        // The copy takes the source's journal mode (WAL); make it a single self-contained file.
        sqlite3_exec(target, "PRAGMA journal_mode=DELETE", nil, nil, nil)
    }

    /// Calls `body` with the text of each statement as it starts to run, on this connection's
    /// thread (SQLite's `SQLITE_TRACE_STMT`, like GRDB's `Database.trace`); `nil` stops tracing.
    /// The text is the SQL as written, with `?` where values are bound: a trace holds no record's
    /// content. For diagnostics, and for tests that must act at a given statement (two
    /// connections made to meet just before they begin their transactions).
    public func trace(_ body: ((String) -> Void)?) {
        let new = body.map(Tracer.init)
        if let new {
            sqlite3_trace_v2(handle, UInt32(SQLITE_TRACE_STMT), { _, context, _, sql in
                // "The X argument is a pointer to a zero-terminated UTF-8 string containing
                // the original text of the prepared statement."
                guard let context, let sql else { return 0 }
                Unmanaged<Tracer>.fromOpaque(context).takeUnretainedValue()
                    .body(String(cString: sql.assumingMemoryBound(to: CChar.self)))
                return 0
            }, Unmanaged.passUnretained(new).toOpaque())
        } else {
            sqlite3_trace_v2(handle, 0, nil, nil)
        }
        tracer = new   // only now is the previous one released: SQLite no longer calls it
    }

    private final class Tracer {
        let body: (String) -> Void
        init(_ body: @escaping (String) -> Void) { self.body = body }
    }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: committed when it returns, rolled back
    /// when it throws. Nested calls join the outer transaction (savepoints are not needed here:
    /// a failure anywhere undoes the whole command).
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        if transactionDepth > 0 {
            transactionDepth += 1
            defer { transactionDepth -= 1 }
            return try body()
        }
        try execute("BEGIN IMMEDIATE")
        transactionDepth = 1
        do {
            let value = try body()
            transactionDepth = 0
            try execute("COMMIT")
            return value
        } catch {
            transactionDepth = 0
            // "If the transaction has already been rolled back automatically by the error
            // response, then the ROLLBACK command will fail": ignore that case.
            if sqlite3_get_autocommit(handle) == 0 { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Runs `body` (reads only) on one snapshot of the database: a deferred transaction, which
    /// takes no write lock, so writers go on meanwhile (WAL), always rolled back at the end.
    public func snapshot<T>(_ body: () throws -> T) throws -> T {
        precondition(transactionDepth == 0, "a snapshot is taken outside any transaction")
        try execute("BEGIN DEFERRED")
        defer { if sqlite3_get_autocommit(handle) == 0 { try? execute("ROLLBACK") } }
        return try body()
    }

    /// Runs `body` inside a savepoint of the current transaction (GRDB's `inSavepoint`): its
    /// writes stay when it returns a value `keep` accepts, and only its own writes are undone
    /// when it throws or `keep` refuses the value ("ROLLBACK TO … rolls back all transactions
    /// that were started after the corresponding SAVEPOINT", sqlite.org/lang_savepoint.html).
    public func inSavepoint<T>(_ body: () throws -> T, keep: (T) -> Bool = { _ in true }) throws -> T {
        try execute("SAVEPOINT ykt_step")
        do {
            let value = try body()
            if !keep(value) { try execute("ROLLBACK TO ykt_step") }
            try execute("RELEASE ykt_step")
            return value
        } catch {
            if sqlite3_get_autocommit(handle) == 0 {
                try? execute("ROLLBACK TO ykt_step")
                try? execute("RELEASE ykt_step")
            }
            throw error
        }
    }

    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// `PRAGMA user_version`: the schema version.
    public var userVersion: Int {
        get { (try? integer("PRAGMA user_version")).flatMap { $0 }.map(Int.init) ?? 0 }
    }

    /// The SQLite library version, e.g. `3.40.1`.
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}
