import Foundation
import Testing
import YKTCore
@testable import YKTTownship

@Suite("Operation format")
struct OperationFormatTests {
    @Test("the rebuilt body is exactly the canonical JSON of the envelope")
    func bodyIsCanonical() {
        let data: JSONValue = ["residentId": "450223195001011234", "note": "引号\"和\\反斜杠\n"]
        let body = Operation.body(kind: "beneficiary.register", node: "450223101", seq: 7, entity: "beneficiary/x",
                                  baseVersion: 2, at: "2026-03-02T09:00:00+08:00", by: "韦\"秀英", data: data.canonical)
        let envelope: JSONValue = [
            "v": 1, "op": "beneficiary.register", "id": "450223101-7", "node": "450223101", "seq": 7,
            "entity": "beneficiary/x", "base": 2, "at": "2026-03-02T09:00:00+08:00", "by": "韦\"秀英", "data": data,
        ]
        #expect(body == envelope.canonical)
    }

    @Test("the fast register writer equals the JSONValue form, with and without a shared-account reason or a household head, as text and as bytes")
    func registerData() throws {
        // A household with a quote (escaped in the JSON) and plain ones, short and long.
        for household in ["0\"01", "450223101001", "", "户\\号\u{1}"] {
            for reason in [nil, "监护人代领"] as [String?] {
                for head in [false, true] {
                    let input = BeneficiaryInput(
                        residentID: try ResidentID(Fixture.alice), name: "韦秀英", village: "大塘村", household: household, phone: "",
                        account: AccountInput(bank: "中国农业银行", number: try AccountNumber(Fixture.aliceCard, kind: .card),
                                              confirmation: "QR-1", sharedReason: reason), head: head)
                    var expected: [String: JSONValue] = [
                        "residentId": .string(input.residentID.value), "name": "韦秀英", "village": "大塘村", "household": .string(household),
                        "phone": "", "township": "450223101", "account": input.account.json,
                    ]
                    if head { expected["head"] = true }
                    #expect(TownshipNode.registerData(input, township: "450223101") == JSONValue.object(expected).canonical)
                    #expect(TownshipNode.registerDataBytes(input, township: "450223101") == Array(JSONValue.object(expected).canonical.utf8))
                    // What the writer binds: the data, the entity after it, and each value where
                    // it sits (when no value needed an escape).
                    let row = TownshipNode.RegisterRow(input, township: "450223101")
                    #expect(Array(row.bytes[..<row.dataCount]) == Array(JSONValue.object(expected).canonical.utf8))
                    #expect(String(decoding: row.bytes[row.dataCount...], as: UTF8.self) == "beneficiary/\(Fixture.alice)")
                    let plain = !household.contains("\"") && !household.contains("\\")
                    #expect((row.spans != nil) == plain)
                    if let spans = row.spans {
                        func text(_ span: (Int, Int)) -> String { String(decoding: row.bytes[span.0 ..< span.0 + span.1], as: UTF8.self) }
                        #expect([spans.residentID, spans.name, spans.village, spans.household, spans.phone, spans.bank, spans.number,
                                 spans.confirmation, spans.entity].map(text)
                                == [Fixture.alice, "韦秀英", "大塘村", household, "", "中国农业银行", input.account.number.value, "QR-1",
                                    "beneficiary/\(Fixture.alice)"])
                        #expect(spans.sharedReason.map(text) == reason)
                    }
                }
            }
        }
    }

    @Test("operations read back from the outbox carry their id, operator and a canonical body")
    func readBack() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        let op = try #require(try node.outbox().first)
        #expect(op.opID == "450223101-1" && op.by == "tester")
        #expect(op.body.hasPrefix("{\"at\":\"") && op.body.hasSuffix(",\"seq\":1,\"v\":1}"))
        #expect(op.body.contains("\"data\":{\"account\":{\"bank\":\"中国农业银行\""))
    }

    @Test("the round's report written by hand reads back as Foundation writes it")
    func pushReportJSON() throws {
        var report = TownshipNode.PushReport()
        report.changeSets = 2; report.operations = 7; report.accepted = 4; report.rejected = 2; report.conflicted = 1; report.pulled = 3
        report.note(id: "450223101-5", status: "rejected", rule: "一人一卡", reason: "账号 6217****0011 \"已\"用\\", conflict: nil)
        report.note(id: "450223101-6", status: "rejected", rule: "一人一卡", reason: "账号 6217****0011 \"已\"用\\", conflict: nil)
        report.note(id: "450223101-7", status: "conflict", rule: "program", reason: "县里没有\n这个项目", conflict: 12)
        report.otherProblems = 1
        let byHand = try JSONDecoder().decode(TownshipNode.PushReport.self, from: Data(report.json.utf8))
        let byFoundation = try JSONDecoder().decode(TownshipNode.PushReport.self, from: JSONEncoder().encode(report))
        for read in [byHand, byFoundation] {
            let counts: [Int] = [read.changeSets, read.operations, read.accepted, read.rejected, read.conflicted, read.pulled, read.otherProblems]
            #expect(counts == [2, 7, 4, 2, 1, 3, 1])
            #expect(read.problems == report.problems)
            #expect(read.groups.map(\.status) == ["rejected", "conflict"] && read.groups.map(\.count) == [2, 1])
            #expect(read.groups.map(\.reason) == report.groups.map(\.reason) && read.groups.map(\.rule) == report.groups.map(\.rule))
            #expect(read.groups.map(\.conflicts) == [[Int64]]([[], [12]]) && read.groups.map(\.examples) == report.groups.map(\.examples))
        }
    }
}
