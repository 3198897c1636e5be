import Foundation
import Testing
import YKTTestSupport
import YKTCore
import YKTStore
@testable import YKTCounty
@testable import YKTTownship

/// The two notices (seed 004) as the county re-checks them, a hostile township (valid keys,
/// anything in its outbox) playing each case: a township notice of applications no village
/// notice listed, a village notice naming no meeting, another township's or village's meeting,
/// or a meeting held after the posting, and roster lines whose village notice is still open
/// or removed them on an upheld objection.
@Suite("Two notices at the county: the village stage cannot be skipped or forged")
struct TwoNoticeIntegrityTests {
    let d = { (s: String) in try! CivilDate(parsing: s) }
    let alice = ResidentID.completing("45022319500101123")
    let bob = ResidentID.completing("45022319620315456")

    /// One township, Alice and Bob registered (大塘村) with GD01 2026 applications.
    func township() throws -> (County, TownshipNode) {
        let c = try County(["450223101", "450223102"])
        let t = c.townships["450223101"]!
        try register(t, alice, "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        try register(t, bob, "覃建国", card: AccountNumber.completingLuhn("622848000000000002"))
        try apply(t, alice, "GD01", quantity: "2")
        try apply(t, bob, "GD01", quantity: "1")
        return (c, t)
    }

    @Test("the honest two stages are accepted: the county keeps the meeting, both notices with their stage, and the statuses")
    func honest() throws {
        let (c, t) = try township()
        let village = try t.passVillageNotices(program: "GD01")
        t.at("2026-02-10")
        let n = try t.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2026-02-10"), place: "镇政府公告栏",
                                 phone: "0772-6812345")
        let report = try c.push("450223101")
        #expect(report.rejected == 0 && report.conflicted == 0)
        let db = c.county.db
        #expect(try db.first("SELECT village, present, expected, held_on FROM meeting") { "\($0.text(0)) \($0.int(1))/\($0.int(2)) \($0.text(3))" }
                == "大塘村 20/25 2026-02-02")
        #expect(try db.all("SELECT entity, stage, coalesce(village, ''), coalesce(meeting, ''), status FROM notice ORDER BY op_seq") {
            [$0.text(0), $0.text(1), $0.text(2), $0.text(3), $0.text(4)].joined(separator: " ")
        } == ["notice/450223101/\(village[0].id) village 大塘村 meeting/450223101/1 closed", "notice/450223101/\(n.id) township   open"])
        #expect(try db.all("SELECT status FROM application ORDER BY entity") { $0.text(0) } == ["in_notice", "in_notice"])
        #expect(try db.integer("SELECT count(*) FROM application WHERE village_notice = ? AND village_legacy = 0", "notice/450223101/\(village[0].id)") == 2)
    }

    @Test("a township notice listing applications that never had a village notice is refused, and one that leaves out its stage too")
    func townshipWithoutVillage() throws {
        let (c, t) = try township()
        t.at("2026-03-02")
        let days = try NoticePeriod(posted: d("2026-03-02"), calendar: t.calendar)
        for stage: JSONValue? in [.string("township"), nil] {
            try t.perform("test.forge") {
                var data: [String: JSONValue] = [
                    "program": "GD01", "period": "2026", "place": "镇政府公告栏", "phone": "0772-6812345", "postedOn": "2026-03-02",
                    "firstDay": .string(days.firstDay.description), "lastDay": .string(days.lastDay.description),
                    "applications": .array([.string("application/\(alice)/GD01/2026"), .string("application/\(bob)/GD01/2026")]),
                ]
                data["stage"] = stage
                _ = try t.enqueue("notice.open", entity: "notice/450223101/\(stage == nil ? 2 : 1)", baseVersion: 0, data: .object(data))
                return ((), TownshipNode.AuditNote(object: "notice forged"))
            }
        }
        let report = try c.push("450223101")
        #expect(report.rejected == 2)
        #expect(report.problems.allSatisfy { $0.contains("YKT-APPLICATION-STATE") && $0.contains("没有经过村级公示") })
        #expect(try c.county.db.integer("SELECT count(*) FROM notice") == 0)
        #expect(try c.county.db.integer("SELECT count(*) FROM application WHERE status = 'recorded'") == 2)
    }

    @Test("a village notice naming no meeting, another township's, another village's, or one held after its posting is refused")
    func villageMeetingForged() throws {
        /// A fresh county for each case: the village notice's operation edited, then pushed.
        func forged(_ edit: (inout [String: JSONValue], _ foreign: String) -> Void) throws -> (TownshipNode.PushReport, CountyNode) {
            let (c, t) = try township()
            let other = c.townships["450223102"]!
            try register(other, ResidentID.completing("45022319800707078"), "黄丽华", card: AccountNumber.completingLuhn("622848000000000003"))
            other.at("2026-02-27")
            let foreign = try other.recordMeeting(village: "大塘村", program: "GD01", period: try Period(parsing: "2026"), heldOn: d("2026-02-27"),
                                                  present: 20, expected: 25, outcome: "通过")
            #expect(try c.push("450223102").rejected == 0)
            t.at("2026-03-02")
            let m = try t.recordMeeting(village: "大塘村", program: "GD01", period: try Period(parsing: "2026"), heldOn: d("2026-03-02"),
                                        present: 20, expected: 25, outcome: "通过")
            try t.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2026-03-02"), place: "大塘村村务公开栏",
                             phone: "0772-6812345", stage: .village, meeting: m.id)
            try tamper(t, kind: "notice.open") { edit(&$0, "meeting/450223102/\(foreign.id)") }
            return (try c.push("450223101"), c.county)
        }
        let earlier = try NoticePeriod(posted: d("2026-02-27"), calendar: try township().1.calendar)
        let cases: [(String, String, (inout [String: JSONValue], String) -> Void)] = [
            ("YKT-MEETING-MISSING", "没有写明评议的村民代表会议", { data, _ in data["meeting"] = nil }),
            ("YKT-MEETING-MISMATCH", "县里没有本乡镇的登记", { data, foreign in data["meeting"] = .string(foreign) }),
            ("YKT-MEETING-MISMATCH", "与本公示", { data, _ in data["village"] = "石门村" }),
            ("YKT-DATE-ORDER", "早于评议会议日期 2026-03-02", { data, _ in
                data["postedOn"] = "2026-02-27"; data["firstDay"] = .string(earlier.firstDay.description)
                data["lastDay"] = .string(earlier.lastDay.description); data["backdatedReason"] = "补录"
            }),
        ]
        for (code, words, edit) in cases {
            let (report, county) = try forged(edit)
            #expect(report.rejected == 1, "\(code)")
            #expect(report.problems.contains { $0.contains(code) && $0.contains(words) }, "\(code): \(report.problems)")
            #expect(try county.db.integer("SELECT count(*) FROM notice") == 0)
            #expect(try county.db.integer("SELECT count(*) FROM application WHERE status = 'recorded'") == 2)
        }
    }

    @Test("roster lines whose village notice is still open, or whose village notice removed them on an upheld objection, are refused with the reason")
    func rosterLinesCheckBothStages() throws {
        let p = try Publicised(submit: false)
        let (t, c) = (p.t, p.c)
        // Carol (applied after the first township notice) and Dave go on a village notice that stays open; an
        // objection against Dave is upheld there.
        t.at("2026-03-10")
        try apply(t, p.dave, "GD01", quantity: "1")
        let m = try t.recordMeeting(village: "大塘村", program: "GD01", period: try Period(parsing: "2026"), heldOn: d("2026-03-10"),
                                    present: 20, expected: 25, outcome: "通过")
        let v = try t.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2026-03-10"), place: "大塘村村务公开栏",
                                 phone: "0772-6812345", stage: .village, meeting: m.id)
        #expect(v.applicationCount == 2)
        let o = try t.recordObjection(notice: v.id, residentID: try ResidentID(p.dave), receivedOn: d("2026-03-10"), complainant: "村民",
                                      content: "已迁出")
        try t.settleObjection(o.id, upheld: true, reason: "核实属实", on: d("2026-03-10"))
        // The township builds the honest roster (Alice, Bob); the forger adds Carol and Dave.
        try t.submitAsLeader(try t.buildRoster(program: "GD01", period: try Period(parsing: "2026")).id)
        try tamperLines(t) { lines in
            for (n, who) in [(3, p.carol), (4, p.dave)] {
                lines.append(lines[1].setting("line", .int(Int64(n))).setting("residentId", .string(who))
                    .setting("application", .string("application/\(who)/GD01/2026")).setting("quantity", .string("1")).setting("amountFen", .int(11235))
                    .setting("accountNumber", .string(AccountNumber.completingLuhn("62284800000000000\(n)"))))
            }
        }
        let report = try c.push("450223101")
        #expect(report.rejected == 1)
        let problem = try #require(report.problems.first)
        #expect(problem.contains("4 行中有 2 行不符"))
        #expect(problem.contains("第 3 行：[YKT-ROSTER-NOTICE]") && problem.contains("所在的村级公示尚未结束"))
        #expect(problem.contains("第 4 行：[YKT-ROSTER-OBJECTION]") && problem.contains("在村级公示中异议成立"))
        #expect(try c.county.db.integer("SELECT count(*) FROM roster") == 0)
        // A line whose application is village-cleared only (no township notice yet) is refused too,
        // and one the closed village notice removed on an upheld objection.
        let q = try Publicised(submit: false)
        q.t.at("2026-03-10")
        try apply(q.t, q.dave, "GD01", quantity: "1")
        let m2 = try q.t.recordMeeting(village: "大塘村", program: "GD01", period: try Period(parsing: "2026"), heldOn: d("2026-03-10"),
                                       present: 20, expected: 25, outcome: "通过")
        let v2 = try q.t.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: d("2026-03-10"), place: "x",
                                    phone: "0772-6812345", stage: .village, meeting: m2.id)
        let o2 = try q.t.recordObjection(notice: v2.id, residentID: try ResidentID(q.dave), receivedOn: d("2026-03-10"), complainant: "村民",
                                         content: "已迁出")
        try q.t.settleObjection(o2.id, upheld: true, reason: "核实属实", on: d("2026-03-10"))
        q.t.at("2026-03-17")
        try q.t.closeNotice(v2.id, on: d("2026-03-17"))
        try q.t.submitAsLeader(try q.t.buildRoster(program: "GD01", period: try Period(parsing: "2026")).id)
        try tamperLines(q.t) { lines in
            for (n, who) in [(3, q.carol), (4, q.dave)] {
                lines.append(lines[1].setting("line", .int(Int64(n))).setting("residentId", .string(who))
                    .setting("application", .string("application/\(who)/GD01/2026")).setting("quantity", .string("1")).setting("amountFen", .int(11235))
                    .setting("accountNumber", .string(AccountNumber.completingLuhn("62284800000000000\(n)"))))
            }
        }
        let second = try q.c.push("450223101")
        let why = try #require(second.problems.first)
        #expect(second.rejected == 1 && why.contains("第 3 行：[YKT-ROSTER-NOTICE]") && why.contains("只走完村级公示，乡镇公示尚未张贴"))
        #expect(why.contains("第 4 行：[YKT-ROSTER-OBJECTION]") && why.contains("因村级公示异议成立已剔除"))
    }
}
