import Foundation
import Testing
import YKTNode
import YKTCore
import YKTDemo
import YKTStore
@testable import YKTTownship

@Suite("发放载体 at the township (issue 20, item 3): the social security card as an account kind; a 社保卡 program refuses other kinds")
struct TownshipCarrierTests {
    let d = Fixture.d

    @Test("migration 17 rebuilds the account table: old rows kept as they were (card stays card), indexes back, the new kind accepted, junk still refused")
    func migrationKeepsRows() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("t.db"))
        try Migrator(Schema.migrator.migrations.filter { $0.version < 17 }).migrate(db)
        try db.run("INSERT INTO beneficiary(id, resident_id, name, village, created_at, updated_at) VALUES (1, ?, '韦秀英', '大塘村', 'x', 'x')", Fixture.alice)
        try db.run("""
            INSERT INTO account(id, beneficiary_id, bank, kind, number, confirmation_ref, shared_reason, valid_from, replaced_at)
            VALUES (7, 1, '农行', 'card', '622848000000000001', 'QR-1', NULL, '2025-01-01', '2025-06-01'),
                   (8, 1, '农信社', 'passbook', '12345678901234567890', 'QR-2', '夫妻共用', '2025-06-01', NULL)
            """)
        #expect(throws: (any Error).self) {
            try db.run("INSERT INTO account(beneficiary_id, bank, kind, number, confirmation_ref, valid_from) VALUES (1, 'x', 'social-security-card', '1', 'q', 'd')")
        }
        try Schema.migrator.migrate(db)
        #expect(db.userVersion == Schema.migrator.latest)
        let rows = try db.all("SELECT id, kind, number, shared_reason, replaced_at FROM account ORDER BY id") {
            [String($0.int64(0)), $0.text(1), $0.text(2), $0.optionalText(3) ?? "-", $0.optionalText(4) ?? "-"]
        }
        #expect(rows == [["7", "card", "622848000000000001", "-", "2025-06-01"], ["8", "passbook", "12345678901234567890", "夫妻共用", "-"]])
        let indexes = try db.all("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'account' ORDER BY name") { $0.text(0) }
        #expect(indexes == ["account_current", "account_number"])
        // One current account per person still holds; the new kind goes in; an unknown kind does not.
        #expect(throws: (any Error).self) {
            try db.run("INSERT INTO account(beneficiary_id, bank, kind, number, confirmation_ref, valid_from) VALUES (1, 'x', 'card', '2', 'q', 'd')")
        }
        try db.run("UPDATE account SET replaced_at = 'now' WHERE id = 8")
        try db.run("INSERT INTO account(beneficiary_id, bank, kind, number, confirmation_ref, valid_from) VALUES (1, '农行', 'social-security-card', '3', 'q', 'd')")
        #expect(throws: (any Error).self) {
            try db.run("INSERT INTO account(beneficiary_id, bank, kind, number, confirmation_ref, valid_from) VALUES (1, 'x', 'credit', '4', 'q', 'd')")
        }
        #expect(try db.integer("PRAGMA foreign_key_check(account)") == nil)
    }

    @Test("社保卡 in the import's 账户类型 column is stored as its own kind; re-declaring only the kind is an account change")
    func importAndRedeclare() throws {
        let dir = TempDir()
        let node = try Fixture.node(dir)
        let csv = Fixture.registerCSV.replacingOccurrences(of: "中国农业银行,银行卡,\(Fixture.aliceCard)", with: "中国农业银行,社保卡,\(Fixture.aliceCard)")
        _ = try node.importBeneficiaries(path: dir.write("reg.csv", csv))
        #expect(try node.beneficiary(try ResidentID(Fixture.alice)).account?.kind == .socialSecurityCard)
        #expect(try node.db.first("SELECT kind FROM account a JOIN beneficiary b ON b.id = a.beneficiary_id WHERE b.resident_id = ?",
                                  Fixture.alice) { $0.text(0) } == "social-security-card")
        let bob = try ResidentID(Fixture.bob)
        #expect(try node.beneficiary(bob).account?.kind == .card)
        let same = AccountInput(bank: "中国农业银行", number: try AccountNumber(Fixture.bobCard, kind: .card), confirmation: "QR-9")
        #expect((#expect(throws: YKTError.self) { try node.changeAccount(bob, to: same) })?.code == .accountUnchanged)
        let declared = try node.changeAccount(bob, to: AccountInput(bank: "中国农业银行", number: try AccountNumber(Fixture.bobCard, kind: .socialSecurityCard),
                                                                    confirmation: "QR-9"))
        #expect(declared.account?.kind == .socialSecurityCard && declared.account?.number == Fixture.bobCard)
        #expect(try node.outbox().last?.body.contains("\"kind\":\"social-security-card\"") == true)
    }

    @Test("a 社保卡 program: building the roster names everyone on another kind of account and what to do; a draft built before the rule is refused at submission; declared cards pass")
    func townshipRefuses() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        let period = try Period(parsing: "2026")
        for (who, mu) in [(Fixture.alice, "2"), (Fixture.bob, "1")] {
            try node.recordApplication(ApplicationInput(residentID: try ResidentID(who), programCode: "GD01", period: period,
                                                        quantity: try Quantity(parsing: mu), villageResult: .passed))
        }
        try node.passVillageNotices(program: "GD01")
        node.at("2026-03-02")
        let n = try node.openNotice(program: "GD01", period: period, postedOn: d("2026-03-02"), place: "公开栏", phone: "0772-6812345")
        node.at("2026-03-09")
        try node.closeNotice(n.id, on: d("2026-03-09"))
        let draft = try node.buildRoster(program: "GD01", period: period)      // GD01 takes any account
        // The county's list now pays GD01 on the social security card only.
        let strict = CountyGenerator.programsCSV.replacingOccurrences(of: "财农〔2016〕26号,1,", with: "财农〔2016〕26号,2,社保卡")
        try node.loadLocalPrograms(path: dir.write("p2.csv", strict))
        #expect(try node.program("GD01").rules.carrier == .socialSecurityCard)
        let atSubmit = #expect(throws: YKTError.self) { try node.submitAsLeader(draft.id) }
        #expect(atSubmit?.code == .rosterCarrier)
        let atBuild = try #require(#expect(throws: YKTError.self) { try node.buildRoster(program: "GD01", period: period) })
        #expect(atBuild.code == .rosterCarrier && atBuild.message.contains("2 人"))
        #expect(atBuild.message.contains("韦秀英") && atBuild.message.contains("覃建国") && atBuild.message.contains("银行卡"))
        #expect(!atBuild.message.contains(Fixture.alice) && atBuild.message.contains(Masking.residentID(Fixture.alice)))
        #expect(atBuild.hint?.contains("ykt account change") == true && atBuild.hint?.contains("--account-kind 社保卡") == true)
        #expect(try node.roster(draft.id).status == .draft)
        #expect(try node.rosterLines(draft.id).count == 2)   // nothing half-written
        // Declared as social security cards: built and submitted.
        for (who, card) in [(Fixture.alice, Fixture.aliceCard), (Fixture.bob, Fixture.bobCard)] {
            try node.changeAccount(try ResidentID(who), to: AccountInput(bank: "中国农业银行", number: try AccountNumber(card, kind: .socialSecurityCard),
                                                                          confirmation: "QR-社保"))
        }
        let r = try node.buildRoster(program: "GD01", period: period)
        #expect(try node.rosterLines(r.id).map(\.accountKind) == [.socialSecurityCard, .socialSecurityCard])
        #expect(try node.submitAsLeader(r.id).status == .submitted)
        #expect(try node.outbox().last?.body.contains("\"accountKind\":\"social-security-card\"") == true)
        // The township's own carriers report.
        let report = try node.carrierReport(period: period, program: "GD01")
        #expect(report.rosters.map { [$0.village] } == [["大塘村"]] && report.rosters[0].socialSecurityCard == 2)
        #expect(report.register.map(\.village) == ["大塘村", "石门村"])
        #expect(report.register.map { [$0.socialSecurityCard, $0.otherCard, $0.passbook] } == [[2, 0, 0], [0, 1, 0]])
    }

    @Test("社保卡（过渡期）: the township builds and submits the roster with other kinds (the county warns)")
    func transitionAccepted() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        let period = try Period(parsing: "2026")
        let list = CountyGenerator.programsCSV.replacingOccurrences(of: "财农〔2016〕26号,1,", with: "财农〔2016〕26号,2,社保卡（过渡期）")
        try node.loadLocalPrograms(path: dir.write("p2.csv", list))
        try node.recordApplication(ApplicationInput(residentID: try ResidentID(Fixture.alice), programCode: "GD01", period: period,
                                                    quantity: try Quantity(parsing: "2"), villageResult: .passed))
        try node.passVillageNotices(program: "GD01")
        node.at("2026-03-02")
        let n = try node.openNotice(program: "GD01", period: period, postedOn: d("2026-03-02"), place: "公开栏", phone: "0772-6812345")
        node.at("2026-03-09")
        try node.closeNotice(n.id, on: d("2026-03-09"))
        #expect(try node.submitAsLeader(try node.buildRoster(program: "GD01", period: period).id).status == .submitted)
    }
}
