import Foundation
import Testing
import YKTNode
import YKTCore
import YKTStore
import YKTTestSupport
@testable import YKTTownship

/// Seed 004: the village's representative meeting evaluates, the village posts the proposed
/// beneficiaries (≥ 5 working days), then the township posts the reviewed roster of those the
/// village notice cleared (≥ 5 working days); a roster takes only what both cleared.
@Suite("Two notices: village meeting, village notice, township notice")
struct TwoStageNoticeTests {
    let d = Fixture.d
    let period = try! Period(parsing: "2026")

    /// Alice and Bob (大塘村) passed for GD01 2026; Carol (石门村) passed too.
    func node(_ dir: TempDir) throws -> TownshipNode {
        let node = try Fixture.registered(dir)
        for (who, mu) in [(Fixture.alice, "1"), (Fixture.bob, "2"), (Fixture.carol, "3")] {
            try node.recordApplication(ApplicationInput(residentID: try ResidentID(who), programCode: "GD01", period: period,
                                                        quantity: try Quantity(parsing: mu), villageResult: .passed))
        }
        return node
    }

    @Test("the meeting is recorded with date, attendance and outcome; an invalid one is refused with the field")
    func meeting() throws {
        let dir = TempDir()
        let node = try node(dir)
        node.at("2026-02-02")
        let quorum = #expect(throws: YKTError.self) {
            try node.recordMeeting(village: "大塘村", program: "GD01", period: period, heldOn: d("2026-02-02"), present: 16, expected: 25, outcome: "通过")
        }
        #expect(quorum?.code == .meetingQuorum && quorum?.location?.field == "--present")
        #expect((#expect(throws: YKTError.self) {
            try node.recordMeeting(village: "大塘村", program: "GD01", period: period, heldOn: d("2026-02-02"), present: 26, expected: 25, outcome: "通过")
        })?.code == .valueInvalid)
        #expect((#expect(throws: YKTError.self) {
            try node.recordMeeting(village: "不存在村", program: "GD01", period: period, heldOn: d("2026-02-02"), present: 20, expected: 25, outcome: "通过")
        })?.location?.field == "--village")
        #expect((#expect(throws: YKTError.self) {
            try node.recordMeeting(village: "大塘村", program: "GD01", period: period, heldOn: d("2026-02-02"), present: 20, expected: 25, outcome: " ")
        })?.code == .fieldMissing)
        #expect((#expect(throws: YKTError.self) {
            try node.recordMeeting(village: "大塘村", program: "GD01", period: period, heldOn: d("2026-02-03"), present: 20, expected: 25, outcome: "通过")
        })?.code == .dateFuture)
        let m = try node.recordMeeting(village: "大塘村", program: "GD01", period: period, heldOn: d("2026-02-02"), present: 17, expected: 25,
                                       outcome: "评议通过 2 户")
        #expect(m.present == 17 && m.expected == 25 && m.outcome == "评议通过 2 户" && m.village == "大塘村")
        let op = try #require(try node.outbox().last)
        #expect(op.kind == "meeting.record" && op.entity == "meeting/450223101/\(m.id)")
        #expect(op.body.contains("\"present\":17") && op.body.contains("\"heldOn\":\"2026-02-02\""))
    }

    @Test("a village notice names its meeting and lists only its village's passed applications; refusals: no meeting, another village's or program's meeting, a meeting after the posting")
    func villageNotice() throws {
        let dir = TempDir()
        let node = try node(dir)
        node.at("2026-02-03")
        let m = try node.recordMeeting(village: "大塘村", program: "GD01", period: period, heldOn: d("2026-02-03"), present: 20, expected: 25, outcome: "通过")
        func open(_ date: String, meeting: Int64?, village: String? = nil) throws -> NoticeRecord {
            try node.openNotice(program: "GD01", period: period, postedOn: d(date), place: "大塘村村务公开栏", phone: "0772-6812345",
                                village: village, stage: .village, meeting: meeting)
        }
        #expect((#expect(throws: YKTError.self) { try open("2026-02-03", meeting: nil) })?.code == .meetingMissing)
        #expect((#expect(throws: YKTError.self) { try open("2026-02-03", meeting: 99) })?.code == .meetingUnknown)
        #expect((#expect(throws: YKTError.self) { try open("2026-02-03", meeting: m.id, village: "石门村") })?.code == .meetingMismatch)
        let early = #expect(throws: YKTError.self) { try open("2026-02-02", meeting: m.id) }
        #expect(early?.code == .dateOrder || early?.code == .dateBackdated)
        let other = try node.recordMeeting(village: "大塘村", program: "TZ01", period: period, heldOn: d("2026-02-03"), present: 20, expected: 25, outcome: "通过")
        #expect((#expect(throws: YKTError.self) { try open("2026-02-03", meeting: other.id) })?.code == .meetingMismatch)
        // Backdated with a reason, a posting before the meeting is still out of order.
        let before = #expect(throws: YKTError.self) {
            try node.openNotice(program: "GD01", period: period, postedOn: d("2026-02-02"), place: "x", phone: "0772-6812345",
                                backdatedReason: "补录", stage: .village, meeting: m.id)
        }
        #expect(before?.code == .dateOrder)
        // The township notice cannot come first.
        let first = #expect(throws: YKTError.self) {
            try node.openNotice(program: "GD01", period: period, postedOn: d("2026-02-03"), place: "x", phone: "0772-6812345")
        }
        #expect(first?.code == .noticeEmpty && first?.message.contains("尚未走完村级公示") == true)

        let n = try open("2026-02-03", meeting: m.id)
        #expect(n.stage == .village && n.village == "大塘村" && n.meetingID == m.id && n.applicationCount == 2)
        #expect(try node.applications(notice: n.id).map(\.residentID).sorted() == [Fixture.alice, Fixture.bob].sorted())
        #expect(try node.applications(program: "GD01").first { $0.residentID == Fixture.carol }?.status == .recorded)
        let op = try #require(try node.outbox().last)
        #expect(op.kind == "notice.open" && op.body.contains("\"stage\":\"village\"") && op.body.contains("\"village\":\"大塘村\"")
                && op.body.contains("\"meeting\":\"meeting/450223101/\(m.id)\""))
        // A second village notice for the same village has nothing left to list.
        #expect((#expect(throws: YKTError.self) { try open("2026-02-03", meeting: m.id) })?.code == .noticeEmpty)
    }

    @Test("an upheld objection at the village stage keeps the line off the township notice; the roster waits for both notices; a township notice posted before the village notice closed is refused")
    func bothStages() throws {
        let dir = TempDir()
        let node = try node(dir)
        node.at("2026-02-02")
        let m = try node.recordMeeting(village: "大塘村", program: "GD01", period: period, heldOn: d("2026-02-02"), present: 20, expected: 25, outcome: "通过")
        let v = try node.openNotice(program: "GD01", period: period, postedOn: d("2026-02-02"), place: "大塘村村务公开栏", phone: "0772-6812345",
                                    stage: .village, meeting: m.id)
        node.at("2026-02-04")
        let o = try node.recordObjection(notice: v.id, residentID: try ResidentID(Fixture.bob), receivedOn: d("2026-02-04"),
                                         complainant: "村民", content: "已迁出")
        try node.settleObjection(o.id, upheld: true, reason: "核实属实", on: d("2026-02-04"))
        #expect((#expect(throws: YKTError.self) { try node.buildRoster(program: "GD01", period: period) })?.code == .rosterEmpty)
        node.at("2026-02-09")
        let closed = try node.closeNotice(v.id, on: d("2026-02-09"))
        #expect(closed.status == .closed && closed.applicationCount == 1)
        let close = try #require(try node.outbox().last)
        #expect(close.kind == "notice.close" && close.body.contains("\"removed\":[\"application/\(Fixture.bob)/GD01/2026\"]"))
        #expect(try node.applications(program: "GD01").first { $0.residentID == Fixture.alice }?.status == .villageCleared)
        #expect(try node.applications(program: "GD01").first { $0.residentID == Fixture.bob }?.status == .removed)
        // Only the village stage done: no roster yet.
        let waiting = #expect(throws: YKTError.self) { try node.buildRoster(program: "GD01", period: period) }
        #expect(waiting?.code == .rosterEmpty && waiting?.message.contains("还没有走完村级公示和乡镇公示") == true)
        // Posted (backdated) before the village notice closed: refused.
        node.at("2026-02-10")
        let order = #expect(throws: YKTError.self) {
            try node.openNotice(program: "GD01", period: period, postedOn: d("2026-02-06"), place: "镇政府公告栏", phone: "0772-6812345",
                                backdatedReason: "补录")
        }
        #expect(order?.code == .dateOrder && order?.message.contains("村级公示结束日 2026-02-09") == true)
        let t = try node.openNotice(program: "GD01", period: period, postedOn: d("2026-02-10"), place: "镇政府公告栏", phone: "0772-6812345")
        #expect(t.stage == .township && t.applicationCount == 1)
        #expect(try node.applications(notice: t.id).map(\.residentID) == [Fixture.alice])
        #expect((#expect(throws: YKTError.self) { try node.buildRoster(program: "GD01", period: period) })?.message.contains("仍在乡镇公示中") == true)
        node.at("2026-02-24")
        try node.closeNotice(t.id, on: d("2026-02-24"))
        let roster = try node.buildRoster(program: "GD01", period: period)
        #expect(try node.rosterLines(roster.id).map(\.residentID) == [Fixture.alice])
        // The village notice still counts the line it cleared.
        #expect(try node.notice(v.id).applicationCount == 1)
    }

    @Test("upgrade: a database of the one-notice version keeps its notices as the township stage and marks what they listed as past a village notice; references survive the rebuild")
    func upgrade() throws {
        let dir = TempDir()
        let db = try Database(path: dir.file("old.db"))
        try Migrator(Schema.migrator.migrations.filter { $0.version <= 15 }).migrate(db)
        try db.execute("""
            INSERT INTO program(code, name, department, unit, standard_fen, frequency, secret, basis, version, loaded_at)
                VALUES ('GD01', '耕地地力保护补贴', '县农业农村局', '亩', 11235, '每年', 0, '', 1, '2026-01-05');
            INSERT INTO beneficiary(id, resident_id, name, village, created_at, updated_at) VALUES
                (1, '\(Fixture.alice)', '韦秀英', '大塘村', 'x', 'x'), (2, '\(Fixture.bob)', '覃建国', '大塘村', 'x', 'x');
            INSERT INTO notice(id, program_code, period, place, phone, posted_on, first_day, last_day, earliest_close, status, created_at)
                VALUES (1, 'GD01', '2026', 'x', '0772-6812345', '2026-03-02', '2026-03-02', '2026-03-06', '2026-03-09', 'open', 'x');
            INSERT INTO application(id, beneficiary_id, program_code, period, quantity_e4, standard_fen, amount_fen, village_result,
                status, notice_id, created_at) VALUES (1, 1, 'GD01', '2026', 10000, 11235, 11235, 'passed', 'in_notice', 1, 'x'),
                (2, 2, 'GD01', '2026', 10000, 11235, 11235, 'passed', 'recorded', NULL, 'x');
            INSERT INTO objection(notice_id, application_id, received_on, content, status) VALUES (1, 1, '2026-03-03', 'x', 'open');
            """)
        try Schema.migrator.migrate(db)
        #expect(db.userVersion == Schema.migrator.latest)
        #expect(try db.all("SELECT id, status, village_legacy, village_notice_id IS NULL FROM application ORDER BY id") {
            "\($0.int64(0)):\($0.text(1)):\($0.int64(2)):\($0.bool(3))"
        } == ["1:in_notice:1:true", "2:recorded:0:true"])
        #expect(try db.first("SELECT stage FROM notice WHERE id = 1") { $0.text(0) } == "township")
        #expect(try db.all("PRAGMA foreign_key_check") { $0.text(0) }.isEmpty)
        #expect(try db.integer("PRAGMA foreign_keys") == 1)
        #expect(try db.integer("SELECT count(*) FROM objection o JOIN application a ON a.id = o.application_id") == 1)
        // The new statuses are allowed; others still are not.
        try db.run("UPDATE application SET status = 'in_village_notice' WHERE id = 2")
        #expect(throws: (any Error).self) { try db.run("UPDATE application SET status = 'bogus' WHERE id = 2") }
    }
}
