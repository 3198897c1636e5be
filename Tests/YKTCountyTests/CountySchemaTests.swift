import Foundation
import Testing
import YKTStore
@testable import YKTCounty

@Suite("County schema migrations")
struct CountySchemaTests {
    @Test("version 23 (two notices): notices kept before it are the township stage; what they listed counts as past a village notice, nothing else does; every row is kept")
    func twoNoticeUpgrade() throws {
        let dir = Dir()
        let db = try Database(path: dir.sub("county.db"))
        try Migrator(CountySchema.migrator.migrations.filter { $0.version <= 22 }).migrate(db)
        try db.execute("""
            INSERT INTO notice(node_id, entity, posted_on, last_day, program, period, status) VALUES
                ('450223101', 'notice/450223101/1', '2026-03-02', '2026-03-06', 'GD01', '2026', 'closed');
            INSERT INTO application(entity, node_id, op_seq, resident_id, program, period, program_version, quantity, standard_fen,
                amount_fen, village_result, village_note, recorded_at, notice, status) VALUES
                ('application/a/GD01/2026', '450223101', 3, 'a', 'GD01', '2026', 1, '1', 11235, 11235, 'passed', '', 'x', 'notice/450223101/1', 'cleared'),
                ('application/b/GD01/2026', '450223101', 4, 'b', 'GD01', '2026', 1, '1', 11235, 11235, 'passed', '', 'x', NULL, 'recorded');
            """)
        try CountySchema.migrator.migrate(db)
        #expect(db.userVersion == CountySchema.migrator.latest)
        #expect(try db.all("SELECT entity, status, village_legacy, coalesce(village_notice, '-') FROM application ORDER BY entity") {
            "\($0.text(0)) \($0.text(1)) \($0.int(2)) \($0.text(3))"
        } == ["application/a/GD01/2026 cleared 1 -", "application/b/GD01/2026 recorded 0 -"])
        #expect(try db.first("SELECT stage FROM notice") { $0.text(0) } == "township")
        try db.run("UPDATE application SET status = 'village_cleared' WHERE entity = 'application/b/GD01/2026'")
        #expect(throws: DatabaseError.self) { try db.run("UPDATE application SET status = 'rostered'") }
    }

    @Test("version 8 keeps every registered resident and still refuses a second row for one ID")
    func registerBecomesRowidTable() throws {
        let dir = Dir()
        let db = try Database(path: dir.sub("county.db"))
        try Migrator(CountySchema.migrator.migrations.filter { $0.version <= 7 }).migrate(db)
        try db.run("""
            INSERT INTO resident(resident_id, node_id, name, bank, account_kind, account_number)
            VALUES ('450223195001011234', '450223101', '韦秀英', '农行', 'card', '622848000000000001'),
                   ('450223196203154567', '450223102', '覃建国', '', '', '')
            """)
        try CountySchema.migrator.migrate(db)
        #expect(db.userVersion == CountySchema.migrator.latest)
        let rows = try db.all("SELECT resident_id, node_id, name, bank, account_kind, account_number FROM resident ORDER BY resident_id") { row in
            (0..<6).map { row.text($0) }
        }
        #expect(rows == [["450223195001011234", "450223101", "韦秀英", "农行", "card", "622848000000000001"],
                         ["450223196203154567", "450223102", "覃建国", "", "", ""]])
        #expect(throws: DatabaseError.self) {
            try db.run("INSERT INTO resident(resident_id, node_id, name) VALUES ('450223195001011234', '450223103', '黄丽华')")
        }
        try db.run("""
            INSERT INTO resident(resident_id, node_id, name) VALUES ('450223195001011234', '450223103', '黄丽华')
            ON CONFLICT(resident_id) DO NOTHING
            """)
        #expect(db.changes == 0)
        let sql = try db.first("SELECT sql FROM sqlite_master WHERE name = 'resident'") { $0.text(0) } ?? ""
        #expect(!sql.contains("WITHOUT ROWID"))
    }
}
