import Foundation
import Testing
import YKTCore
import YKTTestSupport
import YKTDemo
import YKTNode
import YKTSync
import YKTCrypto
@testable import YKTCounty
@testable import YKTTownship

/// A township with valid keys that skips its own checks: it signs operations of its own making.
struct HostileTownship {
    let c: County
    let node = "450223101"
    var setSeq: Int64
    var prev: String
    var opSeq: Int64
    let keyID: String
    let key: Ed25519.PrivateKey
    /// The audit head its change sets carry (the one its last real change set carried).
    let audit: AuditHead

    /// After the township's own pushes (its register), continuing its streams.
    init(_ c: County) throws {
        let t = c.townships[node]!
        let last = try #require(try t.storedChangeSets().last)
        self.c = c
        setSeq = last.set.header.seq
        prev = last.set.hash
        opSeq = try t.db.integer("SELECT max(seq) FROM outbox") ?? 0
        keyID = last.set.header.keyID
        audit = try #require(last.set.header.audit)
        key = try NodeKey.load(from: t.directory)
    }

    /// Sends one `application.record` as crafted; returns the county's status and rule for it.
    mutating func apply(_ resident: String, _ program: String, _ period: String, quantity: String = "1",
                        standardFen: Int64, version: Int = 1) throws -> (status: String, rule: String?) {
        opSeq += 1
        setSeq += 1
        let amount = AmountRule.amount(standard: Fen(standardFen), quantity: try Quantity(parsing: quantity)).value
        let data: JSONValue = ["residentId": .string(resident), "program": .string(program), "programVersion": .int(Int64(version)),
                               "period": .string(period), "quantity": .string(quantity), "standardFen": .int(standardFen),
                               "amountFen": .int(amount), "villageResult": .string("passed"), "villageNote": .string("")]
        let op = Operation.body(kind: "application.record", node: node, seq: opSeq, entity: "application/\(resident)/\(program)/\(period)",
                                baseVersion: 0, at: "2026-03-01T09:00:00+08:00", by: "经办人", data: data.canonical)
        let set = ChangeSet.build(node: node, keyID: keyID, seq: setSeq, prev: prev, operations: [op], audit: audit)
        prev = set.hash
        let answer = c.county.receive(peer: node, bytes: set.bytes, signature: try key.sign(ChangeSet.signedPart(of: set.bytes)))
        #expect(answer.status == 200)
        // The receipt lists only the operations not accepted.
        guard case .array(let results)? = try JSONValue.parse(answer.body)["results"] else {
            Issue.record("no results")
            return ("", nil)
        }
        guard let r = results.first else { return ("accepted", nil) }
        return (r["status"]?.stringValue ?? "", r["rule"]?.stringValue)
    }
}

@Suite("County: periods follow the program's frequency; the standard in force for the period")
struct PeriodRuleTests {
    let alice = ResidentID.completing("45022319500101123")
    let bob = ResidentID.completing("45022319620315456")

    func county() throws -> County {
        let c = try County(["450223101"])
        try c.county.publishPolicy(path: c.dir.sub("data/programs.csv"))
        try register(c.townships["450223101"]!, alice, "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        try register(c.townships["450223101"]!, bob, "覃建国", card: AccountNumber.completingLuhn("622848000000000002"))
        #expect(try c.push("450223101").accepted == 2)
        return c
    }

    @Test("a crafted application whose period's form is not the program's frequency's is refused, and nothing of it stays")
    func wrongForm() throws {
        let c = try county()
        var h = try HostileTownship(c)
        #expect(try h.apply(alice, "GD01", "2026-03", standardFen: 11235) == ("rejected", "YKT-PERIOD-FREQUENCY"))
        #expect(try h.apply(alice, "YL01", "2026", quantity: "12", standardFen: 16300) == ("rejected", "YKT-PERIOD-FREQUENCY"))
        #expect(try h.apply(alice, "YL01", "2026-Q1", quantity: "3", standardFen: 16300) == ("rejected", "YKT-PERIOD-FREQUENCY"))
        #expect(try h.apply(alice, "TF01", "2026-06", standardFen: 30000) == ("rejected", "YKT-PERIOD-FREQUENCY"))
        #expect(try h.apply(alice, "GD01", "26", standardFen: 11235) == ("rejected", "YKT-PERIOD"))
        #expect(try c.county.db.integer("SELECT count(*) FROM application_period") == 0)
        #expect(try h.apply(alice, "YL01", "2026-03", standardFen: 16300) == ("accepted", nil))
    }

    @Test("a crafted application overlapping one the county accepted is refused: year vs month, equal, 一次性 whatever the period")
    func overlap() throws {
        let c = try county()
        var h = try HostileTownship(c)
        #expect(try h.apply(alice, "GD01", "2026", quantity: "2", standardFen: 11235) == ("accepted", nil))
        #expect(try h.apply(alice, "GD01", "2026", quantity: "2", standardFen: 11235) == ("rejected", "YKT-APPLICATION-DUPLICATE"))
        #expect(try h.apply(alice, "GD01", "2027", quantity: "2", standardFen: 11235) == ("accepted", nil))
        #expect(try h.apply(bob, "GD01", "2026", quantity: "2", standardFen: 11235) == ("accepted", nil))
        #expect(try h.apply(alice, "YL01", "2026-03", standardFen: 16300) == ("accepted", nil))
        #expect(try h.apply(alice, "YL01", "2026-04", standardFen: 16300) == ("accepted", nil))
        #expect(try h.apply(alice, "TF01", "2026", standardFen: 30000) == ("accepted", nil))
        #expect(try h.apply(alice, "TF01", "2029", standardFen: 30000) == ("rejected", "YKT-APPLICATION-OVERLAP"))
        // The county's list now pays YL01 yearly (version 2 from 2027): a year meets the months accepted.
        let list = c.dir.sub("data/v2.csv")
        try CountyGenerator.programsCSV.replacingOccurrences(of: "元/人·月,每月,否,国发〔2014〕8号,1", with: "元/人·月,每年,否,国发〔2014〕8号,2")
            .write(toFile: list, atomically: true, encoding: .utf8)
        try c.county.publishPolicy(path: list)
        #expect(try h.apply(alice, "YL01", "2026", quantity: "12", standardFen: 16300, version: 2) == ("rejected", "YKT-APPLICATION-OVERLAP"))
        #expect(try h.apply(alice, "YL01", "2027", quantity: "12", standardFen: 16300, version: 2) == ("accepted", nil))
        // A refusal for another reason after the period check keeps nothing: the period stays free.
        #expect(try h.apply(bob, "TZ01", "2026", standardFen: 99999) == ("rejected", "YKT-MONEY"))
        #expect(try h.apply(bob, "TZ01", "2026", standardFen: 15000) == ("accepted", nil))
        #expect(try c.county.db.integer("SELECT count(*) FROM application_period") == 8)
        #expect(try c.county.db.integer("SELECT count(*) FROM decision WHERE rule = 'YKT-APPLICATION-OVERLAP'") == 2)
    }

    /// A live roster at the county, inserted as received (the warning rules read what is there,
    /// however it came: rosters from before these rules, or accepted from another township).
    func roster(_ c: County, program: String, period: String, lines: [(String, String, Int64)]) throws {
        let db = c.county.db
        try db.run("INSERT INTO roster(node_id, entity, program, period, line_count, total_fen, received_at) VALUES ('450223101', ?, ?, ?, ?, 0, 'now')",
                   "roster/\(program)/\(period)", program, period, lines.count)
        let id = db.lastInsertRowID
        for (i, (rid, quantity, fen)) in lines.enumerated() {
            try db.run("INSERT INTO roster_line VALUES (?, ?, ?, '某某', '大塘村', '农行', 'card', ?, ?, ?, '')",
                       id, i + 1, rid, AccountNumber.completingLuhn("622848000000000001"), quantity, fen)
        }
    }

    @Test("paid twice: the same person and program on a year's roster and a month's is found, not only equal periods")
    func paidTwiceOverlapping() throws {
        let c = try county()
        try roster(c, program: "YL01", period: "2026", lines: [(alice, "12", 195_600)])
        try roster(c, program: "YL01", period: "2026-03", lines: [(alice, "1", 16_300), (bob, "1", 16_300)])
        try roster(c, program: "YL01", period: "2027-01", lines: [(alice, "1", 16_300)])   // another year: no
        try roster(c, program: "GD01", period: "2026", lines: [(bob, "1", 11_235)])          // another program: no
        try roster(c, program: "TF01", period: "2026", lines: [(bob, "1", 30_000)])
        try roster(c, program: "TF01", period: "2027", lines: [(bob, "1", 30_000)])          // 一次性: twice whatever the period
        let run = try c.county.runWarnings()
        #expect(run.found["paid-twice"] == 2)
        let found = try c.county.warnings(rule: .paidTwice)
        let year = try #require(found.first { $0.subject.hasPrefix(alice) })
        #expect(year.subject == "\(alice)/YL01/2026")
        #expect(year.evidence.contains("2026-03") && year.evidence.contains("\"periods\""))
        #expect(found.contains { $0.subject == "\(bob)/TF01/2026" })
    }

    /// The policy list with one program's line replaced (a new version of it).
    func policy(_ c: County, _ name: String, replacing code: String, with line: String) throws -> String {
        let path = c.dir.sub("data/\(name).csv")
        try CountyGenerator.programsCSV.split(separator: "\n").map { $0.hasPrefix(code + ",") ? Substring(line) : $0 }
            .joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a roster received through the county's amount check keeps its largest amount and standard; its lines are read again once the standard in force is lowered")
    func aboveStandardAfterLowering() throws {
        // Per person: TF01 received through sync (300.00 × 1 each).
        let loop = try Loop()
        let kept = try loop.county.db.first("SELECT max_amount_fen, checked_standard_fen FROM roster WHERE id = 1") { [$0.int64(0), $0.int64(1)] }
        #expect(kept == [30_000, 30_000])
        try loop.county.actAs(TestOperators.administrator)
        #expect(try loop.county.runWarnings().found["above-standard"] == nil)
        try loop.county.publishPolicy(path: try policy(loop.c, "tf01-lower", replacing: "TF01",
                                                       with: "TF01,特殊对象生活补助,县民政局,250.00,元/人,一次性,是,内部文件,2,,按人"))
        #expect(try loop.county.runWarnings().found["above-standard"] == 3)

        // Land: a GD01 roster as the county writes one it received (each amount 112.35 × the area).
        let c = try county()
        try roster(c, program: "GD01", period: "2026", lines: [(alice, "1.3333", 14_980), (bob, "2", 22_470)])
        try c.county.db.run("UPDATE roster SET max_amount_fen = 22470, checked_standard_fen = 11235 WHERE program = 'GD01'")
        #expect(try c.county.runWarnings().found["above-standard"] == nil)
        try c.county.publishPolicy(path: try policy(c, "gd01-higher", replacing: "GD01",
                                                    with: "GD01,耕地地力保护补贴,县农业农村局,120.00,元/亩,每年,否,财农〔2016〕26号,2,,按人"))
        #expect(try c.county.runWarnings().found["above-standard"] == nil)   // raised: nothing can be above
        try c.county.publishPolicy(path: try policy(c, "gd01-lower", replacing: "GD01",
                                                    with: "GD01,耕地地力保护补贴,县农业农村局,100.00,元/亩,每年,否,财农〔2016〕26号,3,,按人"))
        #expect(try c.county.runWarnings().found["above-standard"] == 2)     // 149.80 > 133.33, 224.70 > 200.00
    }

    @Test("above standard uses the version in force for the line's period: a standard raised for 2027 leaves 2026 alone, and vice versa")
    func aboveStandardInForce() throws {
        let c = try county()
        let raised = c.dir.sub("data/v2.csv")
        // Version 2 of GD01 raises the standard from 2027 (the other programs carry no first period).
        try CountyGenerator.programsCSV.split(separator: "\n").map { line in
            line.hasPrefix("项目编码") ? line + ",起始期次"
                : line.hasPrefix("GD01") ? "GD01,耕地地力保护补贴,县农业农村局,150.00,元/亩,每年,否,财农〔2016〕26号,2,,按人,2027" : line + ","
        }.joined(separator: "\n").write(toFile: raised, atomically: true, encoding: .utf8)
        let published = try c.county.publishPolicy(path: raised)
        #expect(try c.county.db.integer("SELECT count(*) FROM program_version WHERE code = 'GD01'") == 2)
        try roster(c, program: "GD01", period: "2026", lines: [(alice, "2", 22_470), (bob, "2", 30_000)])   // 2 亩 × 112.35; × 150.00
        try roster(c, program: "GD01", period: "2027", lines: [(alice, "2", 30_000), (bob, "2", 30_100)])   // × 150.00; one yuan more
        _ = try c.county.runWarnings()
        let subjects = Set(try c.county.warnings(rule: .aboveStandard).map { $0.subject.split(separator: "/").prefix(3).joined(separator: "/") })
        #expect(subjects == ["\(bob)/GD01/2026", "\(bob)/GD01/2027"])
        // A published version comes back unchanged or not at all: changing it needs a new number.
        let rewritten = c.dir.sub("data/v2b.csv")
        try String(contentsOfFile: raised, encoding: .utf8).replacingOccurrences(of: "150.00", with: "160.00")
            .write(toFile: rewritten, atomically: true, encoding: .utf8)
        let e = #expect(throws: YKTError.self) { try c.county.publishPolicy(path: rewritten) }
        #expect(e?.code == .programInvalid && e?.message.contains("GD01") == true)
        #expect(try c.county.db.integer("SELECT count(*) FROM policy_version") == Int64(published))
        #expect(try c.county.publishPolicy(path: raised) == published + 1)   // the same list again is fine
    }
}
