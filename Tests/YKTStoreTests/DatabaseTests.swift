import Foundation
import Testing
import CSQLite
@testable import YKTStore

/// A temporary directory per test, removed afterwards.
struct TempDir: ~Copyable {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "ykt-store-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

@Suite("SQLite layer")
struct DatabaseTests {
    @Test("a column's text is read without a copy as SQLite holds it: text read from a page, an empty text, a number as its text, NULL as nothing, a NUL inside kept")
    func columnBytes() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        try db.execute("CREATE TABLE t(a TEXT, b, c, d, e, f)")
        try db.run("INSERT INTO t VALUES (?, '', 42, 2.5, NULL, CAST(X'61006200' AS TEXT))", "450223196001010010 韦秀英")
        var texts: [[UInt8]] = []
        try db.forEach("SELECT a, b, c, d, e, f FROM t") { r in texts = (0..<6).map { Array(r.utf8($0)) } }
        #expect(texts == [Array("450223196001010010 韦秀英".utf8), [], Array("42".utf8), Array("2.5".utf8), [], [0x61, 0, 0x62, 0]])
        #expect(try db.first("SELECT a, c FROM t") { $0.text(0) + "|" + $0.text(1) } == "450223196001010010 韦秀英|42")
    }

    @Test("text bound without a copy: bytes held while the statement runs, literals, an empty text; bound again for each row")
    func bindingsWithoutCopy() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        try db.execute("CREATE TABLE t(a TEXT, b TEXT, c TEXT, d TEXT)")
        let insert = try db.statement("INSERT INTO t VALUES (?, ?, ?, ?)")
        for (i, word) in ["韦秀英", "覃建国"].enumerated() {
            let bytes = Array(word.utf8)
            try bytes.withUnsafeBufferPointer { buf in
                try insert.bind(1, utf8TextNoCopy: buf)
                try insert.bind(2, literal: "social-security-card")
                try insert.bind(3, literal: i == 0 ? "x" : "é")
                try insert.bind(4, utf8TextNoCopy: UnsafeBufferPointer(rebasing: buf[0..<0]))
                try insert.execute()
            }
        }
        #expect(try db.all("SELECT a, b, c, d, typeof(d) FROM t ORDER BY rowid") { r in (0..<5).map { r.text($0) } }
                == [["韦秀英", "social-security-card", "x", "", "text"], ["覃建国", "social-security-card", "é", "", "text"]])
    }

    @Test("the file is created 0600, in WAL mode, with foreign keys on")
    func opening() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        let mode = try FileManager.default.attributesOfItem(atPath: dir.file("a.db"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try db.first("PRAGMA journal_mode") { $0.text(0) } == "wal")
        #expect(try db.integer("PRAGMA synchronous") == 1)   // NORMAL
        #expect(try db.integer("PRAGMA foreign_keys") == 1)
    }

    @Test("a new file has 8 KiB pages, or the size asked for; a file made with 4 KiB pages keeps them, and its rows, when opened")
    func pageSize() throws {
        let dir = TempDir()
        let made = try Database(path: dir.file("new.db"))
        try made.execute("CREATE TABLE t(x)")
        #expect(try made.integer("PRAGMA page_size") == Int64(Database.pageSize))
        #expect(Database.pageSize == 8_192)
        do {
            let large = try Database(path: dir.file("large.db"), pageSize: Database.largePageSize)
            try large.execute("CREATE TABLE t(x)")
        }
        // Opened again without asking: the size it was made with.
        #expect(try Database(path: dir.file("large.db")).integer("PRAGMA page_size") == 32_768)
        // An older file: 4 KiB pages, made by SQLite's default before this program opens it.
        var raw: OpaquePointer?
        #expect(sqlite3_open(dir.file("old.db"), &raw) == SQLITE_OK)
        #expect(sqlite3_exec(raw, "PRAGMA page_size=4096; PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (7);",
                             nil, nil, nil) == SQLITE_OK)
        sqlite3_close(raw)
        let old = try Database(path: dir.file("old.db"))
        #expect(try old.integer("PRAGMA page_size") == 4_096)
        try old.run("INSERT INTO t VALUES (8)")
        #expect(try old.integer("SELECT sum(x) FROM t") == 15)
    }

    @Test("keepLogOnClose: a small log is left as it is when the last connection closes, and read by the next; a log over the limit is copied back and removed as usual")
    func keepLogOnClose() throws {
        let dir = TempDir()
        let path = dir.file("a.db")
        do {
            let db = try Database(path: path)
            try db.execute("CREATE TABLE t(x)")
            try db.run("INSERT INTO t VALUES (1)")
            #expect(db.keepLogOnClose(ifAtMost: 1 << 20))
        }
        let kept = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
        #expect(kept > 0)
        do {
            let db = try Database(path: path)
            #expect(try db.integer("SELECT sum(x) FROM t") == 1)
            try db.run("INSERT INTO t VALUES (2)")
            #expect(!db.keepLogOnClose(ifAtMost: 100))   // the log is larger than 100 bytes
        }
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(try Database(path: path).integer("SELECT sum(x) FROM t") == 3)
    }

    @Test("unsynced: NORMAL for its body on a connection that syncs every commit, FULL again after (also when the body fails); inside a transaction it changes nothing")
    func unsynced() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        try db.execute("CREATE TABLE t(x)")
        try db.execute("PRAGMA synchronous=FULL")
        try db.unsynced {
            #expect(db.synchronousLevel == 1)
            try db.run("INSERT INTO t VALUES (1)")
        }
        #expect(db.synchronousLevel == 2)
        #expect(throws: DatabaseError.self) { try db.unsynced { try db.run("INSERT INTO nowhere VALUES (1)") } }
        #expect(db.synchronousLevel == 2)
        try db.transaction { try db.unsynced { #expect(db.synchronousLevel == 2) } }
        try db.execute("PRAGMA synchronous=NORMAL")
        try db.unsynced { #expect(db.synchronousLevel == 1) }
        #expect(db.synchronousLevel == 1)
        #expect(try db.integer("SELECT count(*) FROM t") == 1)
    }

    @Test("foreign keys unenforced for a body outside a transaction, enforced again after (also when the body fails)")
    func foreignKeysUnenforced() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        try db.execute("CREATE TABLE parent(id INTEGER PRIMARY KEY); CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))")
        #expect(throws: DatabaseError.self) { try db.run("INSERT INTO child VALUES (1, 9)") }
        try db.withForeignKeysUnenforced {
            #expect(try db.integer("PRAGMA foreign_keys") == 0)
            try db.transaction { try db.run("INSERT INTO child VALUES (1, 9)") }
        }
        #expect(try db.integer("PRAGMA foreign_keys") == 1)
        #expect(throws: DatabaseError.self) { try db.withForeignKeysUnenforced { try db.run("INSERT INTO nowhere VALUES (1)") } }
        #expect(try db.integer("PRAGMA foreign_keys") == 1)
        #expect(throws: DatabaseError.self) { try db.run("INSERT INTO child VALUES (2, 9)") }
        #expect(try db.all("PRAGMA foreign_key_check") { $0.text(0) } == ["child"])
    }

    @Test("a second connection in the same process keeps the first one's locks (another process cannot take the database from under it)")
    func secondConnectionKeepsLocks() throws {
        let dir = TempDir()
        let path = dir.file("a.db")
        let first = try Database(path: path)
        try first.execute("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
        // Opening (and closing) another connection must not drop the first one's POSIX locks:
        // if it did, another process would think the database unused and could leave WAL
        // mode, deleting the log the first connection still reads (a corrupt database).
        do { _ = try Database(path: path) }
        let second = try Database(path: path)
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        cli.arguments = [path, "PRAGMA journal_mode=DELETE;"]
        let out = Pipe()
        cli.standardOutput = out
        cli.standardError = out
        try cli.run()
        cli.waitUntilExit()
        let said = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(!said.contains("delete"), "another process left WAL mode under open connections: \(said)")
        #expect(try first.first("PRAGMA journal_mode") { $0.text(0) } == "wal")
        #expect(try second.integer("SELECT count(*) FROM t") == 1)
    }

    @Test("online backup: committed data only, while another connection writes; 0600; never over a file")
    func backup() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        try db.execute("CREATE TABLE t(x INTEGER)")
        try db.run("INSERT INTO t VALUES (1)")
        // A second connection is in the middle of a write transaction.
        let writer = try Database(path: dir.file("a.db"))
        try writer.execute("BEGIN IMMEDIATE; INSERT INTO t VALUES (2);")
        try db.backup(to: dir.file("copy.db"))
        try writer.execute("COMMIT")
        let copy = try Database(path: dir.file("copy.db"))
        #expect(try copy.all("SELECT x FROM t") { $0.int(0) } == [1])
        #expect(try copy.first("PRAGMA integrity_check") { $0.text(0) } == "ok")
        #expect(try FileManager.default.attributesOfItem(atPath: dir.file("copy.db"))[.posixPermissions] as? Int == 0o600)
        #expect(throws: DatabaseError.self) { try db.backup(to: dir.file("copy.db")) }
        #expect(try copy.all("SELECT x FROM t") { $0.int(0) } == [1])   // the refused backup left it alone
    }

    @Test("a failing transaction leaves nothing behind")
    func rollback() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        try db.execute("CREATE TABLE t(x INTEGER PRIMARY KEY, y TEXT NOT NULL UNIQUE)")
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try db.transaction {
                try db.run("INSERT INTO t(y) VALUES (?)", "one")
                throw Boom()
            }
        }
        #expect(try db.integer("SELECT count(*) FROM t") == 0)
        #expect(throws: DatabaseError.self) {
            try db.transaction {
                try db.run("INSERT INTO t(y) VALUES (?)", "two")
                try db.run("INSERT INTO t(y) VALUES (?)", "two")
            }
        }
        #expect(try db.integer("SELECT count(*) FROM t") == 0)
        #expect(db.isInTransaction == false)
    }

    @Test("errors carry code, message and SQL")
    func errors() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        let error = #expect(throws: DatabaseError.self) { try db.run("SELECT * FROM missing") }
        #expect(error?.message.contains("missing") == true)
        #expect(error?.sql == "SELECT * FROM missing")
        #expect(error?.resultCode == 1)
        let arity = #expect(throws: DatabaseError.self) { try db.run("SELECT ?", 1, 2) }
        #expect(arity?.message.contains("expects 1") == true)
    }

    @Test("values round-trip: integers, text with Chinese and NUL-free bytes, blobs, null")
    func values() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        try db.execute("CREATE TABLE v(i INTEGER, t TEXT, b BLOB, n TEXT)")
        try db.run("INSERT INTO v VALUES (?, ?, ?, ?)", Int64.max, "韦秀英", DatabaseValue.blob([0, 1, 255]), Optional<String>.none)
        let row = try db.first("SELECT i, t, b, n FROM v") { r in (r.int64(0), r.text(1), r.blob(2), r.optionalText(3)) }
        #expect(row?.0 == Int64.max)
        #expect(row?.1 == "韦秀英")
        #expect(row?.2 == [0, 1, 255])
        #expect(row?.3 == nil)
    }

    @Test("migrations run once, in order; a newer database is refused")
    func migrations() throws {
        let dir = TempDir()
        let m = Migrator([.init(version: 2, sql: "ALTER TABLE a ADD COLUMN y"), .init(version: 1, sql: "CREATE TABLE a(x)")])
        do {
            let db = try Database(path: dir.file("m.db"))
            try m.migrate(db)
            try m.migrate(db)
            #expect(db.userVersion == 2)
            try db.execute("PRAGMA user_version = 9")
        }
        let db = try Database(path: dir.file("m.db"))
        let error = #expect(throws: Migrator.TooNew.self) { try m.migrate(db) }
        #expect(error?.found == 9)
    }

    @Test("trace sees each statement as written (placeholders, not values) until turned off")
    func trace() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        try db.execute("CREATE TABLE t(x TEXT)")
        var seen: [String] = []
        db.trace { seen.append($0) }
        try db.transaction { try db.run("INSERT INTO t VALUES (?)", "韦秀英") }
        db.trace(nil)
        try db.run("DELETE FROM t")
        #expect(seen == ["BEGIN IMMEDIATE", "INSERT INTO t VALUES (?)", "COMMIT"])
    }

    @Test("a database that must exist is not created")
    func mustExist() throws {
        let dir = TempDir()
        let error = #expect(throws: DatabaseError.self) { try Database(path: dir.file("a.db"), create: false) }
        #expect(error?.message.contains("cannot open \(dir.file("a.db"))") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.file("a.db")))
    }

    @Test("a database that cannot be opened says why")
    func cannotOpen() {
        let error = #expect(throws: DatabaseError.self) { try Database(path: "/nonexistent-dir/x.db") }
        #expect(error?.message.contains("cannot create") == true)
    }
}

@Suite("Savepoints inside a transaction")
struct SavepointTests {
    @Test("a step that throws, or whose value is not kept, undoes only its own writes; the transaction goes on")
    func ownWritesOnly() throws {
        let path = NSTemporaryDirectory() + "ykt-savepoint-\(UUID().uuidString).db"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try Database(path: path)
        try db.execute("CREATE TABLE t(x INTEGER)")
        struct Refused: Error {}
        try db.transaction {
            try db.run("INSERT INTO t VALUES (1)")
            #expect(throws: Refused.self) { try db.inSavepoint { try db.run("INSERT INTO t VALUES (2)"); throw Refused() } }
            let kept = try db.inSavepoint({ try db.run("INSERT INTO t VALUES (3)"); return false }, keep: { $0 })
            #expect(kept == false)
            _ = try db.inSavepoint { try db.run("INSERT INTO t VALUES (4)") }
        }
        #expect(try db.all("SELECT x FROM t ORDER BY x") { $0.int64(0) } == [1, 4])
    }

    @Test("a migration that rebuilds a referenced table (the 12 steps): foreign keys off outside its transaction, rows and references kept, a dangling reference rolls it back, foreign keys on again")
    func rebuildReferencedTable() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("a.db"))
        let base = Migrator.Migration(version: 1, sql: """
            CREATE TABLE parent(id INTEGER PRIMARY KEY, status TEXT NOT NULL CHECK (status IN ('a','b')));
            CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id));
            INSERT INTO parent VALUES (1, 'a'), (2, 'b'); INSERT INTO child VALUES (10, 1), (11, 2);
            """)
        let rebuild = "CREATE TABLE parent_new(id INTEGER PRIMARY KEY, status TEXT NOT NULL CHECK (status IN ('a','b','c')));"
            + " INSERT INTO parent_new SELECT id, status FROM parent%@; DROP TABLE parent; ALTER TABLE parent_new RENAME TO parent;"
        // Without the flag, dropping the referenced table with foreign keys on fails (the
        // implicit DELETE of its rows violates the children's references): nothing changes.
        let plain = Migrator([base, .init(version: 2, sql: rebuild.replacingOccurrences(of: "%@", with: ""))])
        #expect(throws: (any Error).self) { try plain.migrate(db) }
        #expect(db.userVersion == 1)
        // A rebuild that loses a referenced row is rolled back by the foreign key check.
        let lossy = Migrator([base, .init(version: 2, sql: rebuild.replacingOccurrences(of: "%@", with: " WHERE id = 1"),
                                          rebuildsReferencedTable: true)])
        let error = #expect(throws: Migrator.ForeignKeyViolation.self) { try lossy.migrate(db) }
        #expect(error?.violations.count == 1 && error?.version == 2)
        #expect(db.userVersion == 1)
        #expect(try db.integer("SELECT count(*) FROM parent") == 2)
        #expect(try db.integer("PRAGMA foreign_keys") == 1)
        // The honest rebuild: the new CHECK holds, every row and reference is kept, keys are on.
        let good = Migrator([base, .init(version: 2, sql: rebuild.replacingOccurrences(of: "%@", with: ""), rebuildsReferencedTable: true)])
        try good.migrate(db)
        #expect(db.userVersion == 2)
        try db.run("UPDATE parent SET status = 'c' WHERE id = 2")
        #expect(try db.all("SELECT p.status FROM child c JOIN parent p ON p.id = c.parent_id ORDER BY c.id") { $0.text(0) } == ["a", "c"])
        #expect(try db.integer("PRAGMA foreign_keys") == 1)
        #expect(throws: (any Error).self) { try db.run("INSERT INTO child VALUES (12, 99)") }
    }
}
