import Foundation
import Testing
import YKTStore
@testable import YKTCounty

@Suite("County schema migrations")
struct CountySchemaTests {
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
