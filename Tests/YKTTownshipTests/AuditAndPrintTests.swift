import Foundation
import Testing
import YKTTestSupport
@testable import YKTNode
import YKTCore
@testable import YKTTownship

@Suite("Audit trail, outbox atomicity, printed notices")
struct AuditAndPrintTests {
    let d = Fixture.d

    @Test("every command leaves one chained audit entry with its operator")
    func chain() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        node.operatorName = "覃建国"
        try node.edit(try ResidentID(Fixture.alice), BeneficiaryEdit(household: "009"))
        let entries = try AuditLog.entries(db: node.db)
        #expect(entries.map(\.action) == ["node.init", "operator.bootstrap", "operator.add", "operator.password", "role.grant", "role.grant",
                                             "downstream.receive", "program.load", "beneficiary.import", "beneficiary.update"])
        #expect(entries.last?.operatorName == "覃建国")
        #expect(entries.first?.operatorName == "测试员")
        #expect(zip(entries.dropFirst(), entries).allSatisfy { $0.prevHash == $1.hash })
        // Audit objects never carry a whole resident ID.
        #expect(entries.allSatisfy { !$0.object.contains(Fixture.alice) && !$0.detail.contains(Fixture.alice) })
        #expect(try AuditLog.verify(db: node.db).ok)
    }

    @Test("tampering is found: an edited entry, a deleted middle entry, a deleted last entry", arguments: [
        ("UPDATE audit SET operator = '别人' WHERE seq = 2", "修改"),
        ("DELETE FROM audit WHERE seq = 2", "不连续"),
        ("DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)", "链尾"),
    ])
    func tampered(sql: String, finding: String) throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        #expect(try AuditLog.verify(db: node.db).ok)
        try node.db.run(sql)
        let report = try AuditLog.verify(db: node.db)
        #expect(!report.ok)
        #expect(report.problems.contains { $0.what.contains(finding) })
    }

    @Test("a full disk (SQLITE_FULL) mid-import: a clear error, nothing written, no corruption; the same import works once there is room")
    func diskFull() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        var csv = Fixture.header
        for i in 0..<3_000 {
            let id = Fixture.id("450223197001" + String(format: "%02d", i / 1000 % 28 + 1) + String(format: "%03d", i % 1000))
            csv += "\(["韦秀英", "覃建国", "黄丽华"][i % 3]),\(id),大塘村,\(i),,中国农业银行,银行卡,\(Fixture.card("62284800001" + String(format: "%07d", i))),QR-\(i),\n"
        }
        let file = dir.write("big.csv", csv)
        let before = try Fixture.counts(node)
        // The database may grow by a few pages only, as on a disk with almost no space left.
        let pages = try #require(try node.db.integer("PRAGMA page_count"))
        _ = try node.db.integer("PRAGMA max_page_count = \(pages + 8)")
        let e = try #require(#expect(throws: YKTError.self) { try node.importBeneficiaries(path: file) })
        #expect(e.code == .databaseFull && e.hint?.isEmpty == false)
        #expect(try Fixture.counts(node) == before)
        #expect(try node.db.first("PRAGMA integrity_check") { $0.text(0) } == "ok")
        #expect(try AuditLog.verify(db: node.db).ok)
        _ = try node.db.integer("PRAGMA max_page_count = 1073741823")
        #expect(try node.importBeneficiaries(path: file).imported == 3_000)
    }

    @Test("a refused command writes no change, no operation and no audit entry")
    func atomic() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        let before = try Fixture.counts(node)
        #expect(throws: YKTError.self) {
            try node.changeAccount(try ResidentID(Fixture.alice), to: AccountInput(
                bank: "中国农业银行", number: try AccountNumber(Fixture.bobCard, kind: .card), confirmation: "BG"))
        }
        #expect(throws: YKTError.self) { try node.buildRoster(program: "GD01", period: try Period(parsing: "2026")) }
        #expect(try Fixture.counts(node) == before)
        #expect(try AuditLog.verify(db: node.db).ok)
    }

    @Test("a failure inside the transaction after the change rolls back the change and its operation")
    func rollbackMidway() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        let before = try Fixture.counts(node)
        struct Crash: Error {}
        #expect(throws: Crash.self) {
            try node.perform("test.crash") { () throws -> ((), TownshipNode.AuditNote) in
                try node.db.run("UPDATE beneficiary SET phone = '13900000000'")
                try node.enqueue("beneficiary.update", entity: "beneficiary/x", baseVersion: 1, data: [:])
                throw Crash()
            }
        }
        #expect(try Fixture.counts(node) == before)
        #expect(try node.db.integer("SELECT count(*) FROM beneficiary WHERE phone = '13900000000'") == 0)
    }

    @Test("the printed notice masks IDs, never lists accounts or phones, and opens in WPS/Excel")
    func printed() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        for (who, mu) in [(Fixture.alice, "3.33"), (Fixture.bob, "5")] {
            try node.recordApplication(ApplicationInput(residentID: try ResidentID(who), programCode: "GD01",
                                                        period: try Period(parsing: "2026"), quantity: try Quantity(parsing: mu), villageResult: .passed))
        }
        try node.passVillageNotices(program: "GD01")
        node.at("2026-02-12")
        let n = try node.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2026-02-12"),
                                    place: "大塘村村务公开栏", phone: "0772-6812345")
        let paths = try node.printNotice(n.id, into: dir.file("out"), printedOn: d("2026-02-12"))
        let html = try String(contentsOfFile: paths.html, encoding: .utf8)
        let csv = try String(contentsOfFile: paths.csv, encoding: .utf8)
        for text in [html, csv] {
            #expect(!text.contains(Fixture.alice) && !text.contains(Fixture.bob))
            #expect(text.contains(Masking.residentID(Fixture.alice)))
            #expect(!text.contains(Fixture.aliceCard) && !text.contains("13800138000"))
            #expect(text.contains("寨沙镇2026年度耕地地力保护补贴发放对象公示"))
            #expect(text.contains("0772-6812345"))
        }
        #expect(html.contains("size: A4") && html.contains("2026年2月12日至2026年2月25日"))
        #expect(html.contains("935.88"))          // 374.13 + 561.75
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: paths.csv)))
        #expect(raw.starts(with: [0xEF, 0xBB, 0xBF]) && csv.contains("\r\n"))
        // In the CSV the ID and the phone are kept as text in Excel/WPS (a leading tab); amounts,
        // quantities and names are not.
        #expect(csv.contains(",\t" + Masking.residentID(Fixture.alice) + ",3.33,") && csv.contains("监督电话,\t0772-6812345"))
        #expect(csv.contains(",935.88") && !csv.contains("\t3.33") && !csv.contains("\t935.88"))
        #expect(csv.components(separatedBy: "\t").count == 1 + 2 + 1)   // two IDs and the phone
        #expect(try AuditLog.entries(db: node.db).last?.action == "notice.print")
    }

    @Test("names with HTML are escaped in the printed notice")
    func escaping() {
        #expect(NoticeDocument.escape("<b>&\"'") == "&lt;b&gt;&amp;&quot;&#39;")
    }
}
