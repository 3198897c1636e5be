import Foundation
import Testing
import YKTNode
import YKTCore
import YKTStore
import YKTTestSupport
@testable import YKTTownship

@Suite("The township's summary table (汇总表): totals by village, the notice periods, two signers")
struct SummaryTableTests {
    let d = Fixture.d

    /// Alice (3.33 亩) and Bob (5 亩) of 大塘村 and Carol (2.5 亩) of 石门村 apply for GD01 2026; the
    /// notice posted 2026-03-02 is closed on 2026-03-09; the roster is built by `tester` (clerk).
    func built(_ dir: TempDir) throws -> (node: TownshipNode, notice: NoticeRecord, roster: RosterRecord) {
        let node = try Fixture.registered(dir)
        let period = try Period(parsing: "2026")
        for (id, q) in [(Fixture.alice, "3.33"), (Fixture.bob, "5"), (Fixture.carol, "2.5")] {
            try node.recordApplication(ApplicationInput(residentID: try ResidentID(id), programCode: "GD01", period: period,
                                                        quantity: try Quantity(parsing: q), villageResult: .passed))
        }
        try node.passVillageNotices(program: "GD01")
        node.at("2026-03-02")
        let n = try node.openNotice(program: "GD01", period: period, postedOn: d("2026-03-02"), place: "公开栏", phone: "0772-6812345")
        node.at("2026-03-09")
        let closed = try node.closeNotice(n.id, on: d("2026-03-09"))
        let r = try node.buildRoster(program: "GD01", period: period)
        return (node, closed, r)
    }

    @Test("totals by village equal the roster; the notice period; preparer recorded; no person, ID or account on it")
    func content() throws {
        let dir = TempDir()
        let (node, notice, r) = try built(dir)
        #expect(r.preparedBy == RosterSigner(login: "tester", name: "测试tester") && r.submittedBy == nil)

        let villages = try node.rosterVillageTotals(r.id)
        #expect(villages.map(\.village) == ["大塘村", "石门村"])
        #expect(villages.map(\.lineCount) == [2, 1])
        #expect(villages.map(\.quantity.description) == ["8.33", "2.5"])
        #expect(villages.map(\.amountFen) == [37413 + 56175, 28088])   // 112.35 元/亩
        #expect(villages.reduce(0) { $0 + $1.amountFen } == r.totalFen && villages.reduce(0) { $0 + $1.lineCount } == r.lineCount)

        let periods = try node.rosterNoticePeriods(r.id)
        // Both stages: each village's notice first (closed 2026-02-09), then the township's.
        #expect(periods.count == villages.count + 1)
        #expect(periods.dropLast().allSatisfy { $0.stage == "village" && $0.village != nil && $0.closedOn == d("2026-02-09") })
        #expect(Set(periods.dropLast().compactMap(\.village)) == Set(villages.map(\.village)))
        #expect(periods.last?.noticeID == notice.id && periods.last?.stage == "township" && periods.last?.village == nil)
        #expect(periods.last?.firstDay == notice.firstDay && periods.last?.lastDay == notice.lastDay)
        #expect(periods.last?.closedOn == d("2026-03-09"))

        let doc = try node.summaryTableDocument(r.id, printedOn: d("2026-03-10"))
        let html = doc.html, csv = doc.csv
        #expect(doc.title == "寨沙镇\(try Period(parsing: "2026").chinese)\(try node.program("GD01").name)发放汇总表")
        for text in ["大塘村", "石门村", "935.88", "280.88", "1,216.76", "3 人", "2 个村（社区）", "第 1 批", "清册编号 \(r.id)",
                     "\(notice.firstDay.chinese)至\(notice.lastDay.chinese)", "2026年3月9日结束公示，未登记公示证明材料",
                     "职能站所负责人（签字）", "乡（镇）主要负责人（签字）", "寨沙镇人民政府（公章）", "编制人：测试tester（tester）",
                     "尚未报送", "2026年3月10日"] {
            #expect(html.contains(text), "HTML lacks 「\(text)」")
        }
        #expect(csv.contains("大塘村") && csv.contains("1,216.76") && csv.contains("职能站所负责人（签字）"))
        // Totals only: nobody's name, ID (even masked) or account.
        for (name, id, card) in [("韦秀英", Fixture.alice, Fixture.aliceCard), ("覃建国", Fixture.bob, Fixture.bobCard),
                                 ("黄丽华", Fixture.carol, Fixture.carolCard)] {
            for text in [name, id, Masking.residentID(id), card, Masking.account(card), String(id.suffix(4)) + "<"] {
                #expect(!html.contains(text) && !csv.contains(text), "「\(text)」 printed")
            }
        }
        #expect(!html.contains("0772-6812345"))   // the notice's phone belongs on the notice

        // Printed: both files, and the audit trail says so.
        let paths = try node.printSummaryTable(r.id, into: dir.file("out"), printedOn: d("2026-03-10"))
        #expect(paths.html.hasSuffix("汇总表-450223101-\(r.id).html") && paths.csv.hasSuffix("汇总表-450223101-\(r.id).csv"))
        #expect(try String(contentsOfFile: paths.html, encoding: .utf8) == html)
        #expect(try node.db.integer("SELECT count(*) FROM audit WHERE action = 'roster.summary' AND object = ?", "roster#\(r.id)") == 1)
    }

    @Test("the builder cannot submit (YKT-ROSTER-SIGNERS, nothing queued); another leader can, and both signers travel in roster.submit")
    func twoSigners() throws {
        let dir = TempDir()
        let (node, _, r) = try built(dir)
        // tester holds the leader's role too, but built this roster.
        let refused = #expect(throws: YKTError.self) { try node.submitRoster(r.id) }
        #expect(refused?.code == .rosterSigners && refused?.message.contains("测试tester（tester）") == true)
        #expect(try node.roster(r.id).status == .draft)
        #expect(try node.db.integer("SELECT count(*) FROM outbox WHERE kind = 'roster.submit'") == 0)

        let submitted = try node.submitAsLeader(r.id)
        #expect(submitted.status == .submitted)
        #expect(submitted.preparedBy?.login == "tester" && submitted.submittedBy == RosterSigner(login: "leader", name: "测试leader"))
        let op = try #require(try node.outbox().last)
        #expect(op.kind == "roster.submit")
        #expect(op.body.contains("\"preparedBy\":{\"login\":\"tester\",\"name\":\"测试tester\"}"))
        #expect(op.body.contains("\"submittedBy\":{\"login\":\"leader\",\"name\":\"测试leader\"}"))
        #expect(op.body.contains("\"by\":\"leader\""))
        // The table printed now names both.
        let html = try node.summaryTableDocument(r.id, printedOn: d("2026-03-10")).html
        #expect(html.contains("编制人：测试tester（tester）；报送人：测试leader（leader）") && html.contains("已报送"))
    }

    @Test("a draft with no recorded preparer (built before this rule) is refused until rebuilt; the table says so meanwhile")
    func draftWithoutPreparer() throws {
        let dir = TempDir()
        let (node, _, r) = try built(dir)
        try node.db.run("UPDATE roster SET prepared_by = NULL, prepared_name = NULL WHERE id = ?", r.id)
        #expect(try node.roster(r.id).preparedBy == nil)
        #expect(try node.summaryTableDocument(r.id, printedOn: d("2026-03-10")).html.contains("编制人：未记录（报送前须重新编制）"))
        let refused = #expect(throws: YKTError.self) { try node.submitAsLeader(r.id) }
        #expect(refused?.code == .rosterSigners && refused?.hint?.contains("ykt roster build") == true)
        #expect(try node.roster(r.id).status == .draft)
        try node.actAs("tester")
        #expect(try node.buildRoster(program: "GD01", period: try Period(parsing: "2026")).preparedBy?.login == "tester")
        #expect(try node.submitAsLeader(r.id).status == .submitted)
    }

    @Test("the signers' migration takes an existing roster's preparer and submitter from the audit trail, when they have accounts")
    func migrationFromAudit() throws {
        let dir = TempDir()
        let (node, _, r) = try built(dir)
        try node.submitAsLeader(r.id)
        // As a database from before: no signer columns filled; the audit trail names who built and submitted.
        try node.db.run("UPDATE roster SET prepared_by = NULL, prepared_name = NULL, submitted_by = NULL, submitted_name = NULL")
        // Found by what it does, not its number (migrations are renumbered when branches merge).
        let migration = try #require(Schema.migrator.migrations.first { $0.sql.contains("ADD COLUMN prepared_by") })
        let updates = migration.sql.components(separatedBy: ";").filter { $0.contains("UPDATE roster") }
        #expect(updates.count == 4)
        for sql in updates { try node.db.run(sql) }
        let after = try node.roster(r.id)
        #expect(after.preparedBy == RosterSigner(login: "tester", name: "测试tester"))
        #expect(after.submittedBy == RosterSigner(login: "leader", name: "测试leader"))
    }

    @Test("a secret program's table says it had no notice, by rule")
    func secret() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        try node.recordApplication(ApplicationInput(residentID: try ResidentID(Fixture.alice), programCode: "TF01", period: try Period(parsing: "2026"),
                                                    quantity: try Quantity(parsing: "1"), villageResult: .passed))
        let r = try node.buildRoster(program: "TF01", period: try Period(parsing: "2026"))
        #expect(try node.rosterNoticePeriods(r.id).isEmpty)
        let html = try node.summaryTableDocument(r.id, printedOn: d("2026-03-10")).html
        #expect(html.contains("涉密项目，按规定不公示") && !html.contains("韦秀英"))
    }
}
