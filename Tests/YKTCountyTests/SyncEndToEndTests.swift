import Foundation
import Testing
import YKTNode
import YKTCore
import YKTTestSupport
import YKTCrypto
import YKTDemo
import YKTStore
import YKTSync
@testable import YKTCounty
@testable import YKTTownship

final class Dir {
    let path = NSTemporaryDirectory() + "ykt-county-" + UUID().uuidString
    init() { try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func sub(_ name: String) -> String { path + "/" + name }
}

/// A county and townships that know each other's keys.
struct County {
    let dir = Dir()
    let county: CountyNode
    var townships: [String: TownshipNode] = [:]

    /// `policy`: the county publishes the demo policy list (it checks every application and
    /// roster against it) and each township has pulled it: its stream's message 1.
    init(_ codes: [String], policy: Bool = true) throws {
        county = try CountyNode.create(directory: dir.sub("county"), config: NodeConfig(
            role: .county, nodeID: "450223", name: "鹿寨县", countyCode: "450223", defaultOperator: "县管理员"))
        try county.actAs(TestOperators.administrator)
        let countyKey = Hex.encode(try county.publicKey().raw)
        try FileManager.default.createDirectory(atPath: dir.sub("data"), withIntermediateDirectories: true)
        let programs = dir.sub("data/programs.csv")
        try CountyGenerator.programsCSV.write(toFile: programs, atomically: true, encoding: .utf8)
        // The county's calendar: the standard 2025–2026 arrangement, received by every township.
        let holidays = dir.sub("data/cn-holidays.tsv")
        try WorkCalendar.builtInTSV.write(toFile: holidays, atomically: true, encoding: .utf8)
        try county.publishCalendar(path: holidays)
        if policy { try county.publishPolicy(path: programs) }
        for code in codes {
            var config = NodeConfig(role: .township, nodeID: code, name: "乡镇\(code.suffix(3))", countyCode: "450223",
                                    defaultOperator: "经办人")
            config.extra["county_public_key"] = countyKey
            let node = try TownshipNode.create(directory: dir.sub(code), config: config)
            try node.actAs("tester", .clerk, .leader)
            node.at("2026-01-05")   // registrations and applications come before any notice
            try node.loadLocalPrograms(path: programs)
            try county.enrol(township: code, name: config.name, publicKeyHex: Hex.encode(try node.publicKey().raw))
            townships[code] = node
            _ = try pull(code)
        }
    }

    func push(_ code: String) throws -> TownshipNode.PushReport {
        try townships[code]!.push(maxOperations: 2) { bytes, signature in
            let a = county.receive(peer: code, bytes: bytes, signature: signature)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }
}

extension TownshipNode {
    /// Sets this node's clock to `day` (10:00 China time), so that an act dated `day` is
    /// recorded on its day.
    func at(_ day: String, hour: Int = 10) {
        let instant = try! CivilDate(parsing: day).instantInChina(hour: hour)
        now = { instant }
    }
}

/// Records a village-passed application for `resident` (2026, or the period given).
func apply(_ node: TownshipNode, _ resident: String, _ program: String, quantity: String, period: String = "2026") throws {
    try node.recordApplication(ApplicationInput(residentID: try ResidentID(resident), programCode: program,
                                                period: try Period(parsing: period), quantity: try Quantity(parsing: quantity),
                                                villageResult: .passed))
}

func register(_ node: TownshipNode, _ id: String, _ name: String, card: String) throws {
    try node.register(BeneficiaryInput(residentID: try ResidentID(id), name: name, village: "大塘村",
                                       account: AccountInput(bank: "农行", number: try AccountNumber(card, kind: .card), confirmation: "QR")))
}

@Suite("Township → county sync, end to end (in-process county, real databases)")
struct SyncEndToEndTests {
    let alice = ResidentID.completing("45022319500101123")
    let bob = ResidentID.completing("45022319620315456")
    let carol = ResidentID.completing("45022319800707078")

    /// Two townships; alice and bob registered in 450223101, not pushed yet.
    func aliceAndBobIn101() throws -> (County, TownshipNode, TownshipNode) {
        let c = try County(["450223101", "450223102"])
        let t1 = c.townships["450223101"]!, t2 = c.townships["450223102"]!
        try register(t1, alice, "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        try register(t1, bob, "覃建国", card: AccountNumber.completingLuhn("622848000000000002"))
        return (c, t1, t2)
    }

    @Test("accepted, conflicted across townships, totals agree, replay answered with the stored receipt")
    func pushAndConflicts() throws {
        let (c, t1, t2) = try aliceAndBobIn101()
        try register(t2, alice, "韦秀英", card: AccountNumber.completingLuhn("622848000000000003"))   // same resident elsewhere
        try register(t2, carol, "黄丽华", card: AccountNumber.completingLuhn("622848000000000004"))

        let r1 = try c.push("450223101")
        #expect(r1.accepted == 2 && r1.changeSets == 1)
        // The county's database has the large pages of its register; a township's, the usual.
        #expect(try c.county.db.integer("PRAGMA page_size") == Int64(Database.largePageSize))
        #expect(try t1.db.integer("PRAGMA page_size") == Int64(Database.pageSize))
        let r2 = try c.push("450223102")
        #expect(r2.accepted == 1 && r2.conflicted == 1)
        #expect(try t2.outbox().map(\.state) == ["conflicted", "accepted"])
        #expect(try c.county.db.integer("SELECT count(*) FROM conflict WHERE kind = 'resident.two-townships'") == 1)
        let totals = try c.county.totals()
        #expect(totals.map(\.residents) == [2, 1])

        // Replay: the same bytes again are answered with the identical signed receipt, nothing applied twice.
        let stored = try t1.storedChangeSets().first!
        let before = try c.county.db.integer("SELECT count(*) FROM decision")
        let again = c.county.receive(peer: "450223101", bytes: stored.set.bytes, signature: stored.signature)
        #expect(again.status == 200)
        #expect(try t1.db.first("SELECT receipt FROM changeset_out WHERE seq = 1") { $0.text(0) } == String(decoding: again.body, as: UTF8.self))
        #expect(try c.county.db.integer("SELECT count(*) FROM decision") == before)
        // Nothing left to push.
        #expect(try c.push("450223101").changeSets == 0)
    }

    @Test("a resident removed from one register is taken by another township's registration (marked for the warning rules); a live one stays refused or conflicted")
    func removedResidentTakenAgain() throws {
        let (c, t1, t2) = try aliceAndBobIn101()
        #expect(try c.push("450223101").accepted == 2)
        _ = try t1.removeBeneficiary(try ResidentID(alice), reason: "迁出本乡镇")
        #expect(try c.push("450223101").accepted == 1)
        try c.county.db.execute("DELETE FROM warning_dirty")
        try register(t2, alice, "韦秀英", card: AccountNumber.completingLuhn("622848000000000003"))
        try register(t2, bob, "覃建国", card: AccountNumber.completingLuhn("622848000000000004"))
        let r = try c.push("450223102")
        #expect(r.accepted == 1 && r.conflicted == 1)
        let row = try c.county.db.first("SELECT node_id, account_number, removed_at IS NULL FROM resident WHERE resident_id = ?", alice) {
            ($0.text(0), $0.text(1), $0.int(2))
        }
        #expect(row?.0 == "450223102" && row?.1 == AccountNumber.completingLuhn("622848000000000003") && row?.2 == 1)
        // The update that took the row again told the incremental warning rules (old and new).
        #expect(try c.county.db.integer("SELECT count(*) FROM warning_dirty WHERE resident_id = ?", alice) == 2)
        #expect(try c.county.db.integer("SELECT count(*) FROM warning_dirty WHERE resident_id = ?", bob) == 0)
        #expect(try c.county.db.first("SELECT node_id FROM resident WHERE resident_id = ?", bob) { $0.text(0) } == "450223101")
        // Registered again by the township that holds them: its own duplicate.
        let again = try c.county.checkRegister(residentID: bob, name: "覃建国", bank: "农行", kind: "card",
                                               number: AccountNumber.completingLuhn("622848000000000002"), node: "450223101")
        #expect(again.status == .rejected && again.rule == ErrorCode.residentDuplicate.rawValue)
    }

    @Test("a pull from where the township already was notes when it was seen without a sync of its own; the county's connection still syncs every commit")
    func seenUnsynced() throws {
        let (c, _, _) = try aliceAndBobIn101()
        #expect(try c.push("450223101").accepted == 2)
        try c.county.db.execute("PRAGMA synchronous=FULL")   // as `ykt serve` runs
        let last = try c.county.db.integer("SELECT max(seq) FROM downstream WHERE node_id = '450223101'") ?? 0
        #expect(c.county.stream(peer: "450223101", after: last).status == 200)   // a new position: an audit entry
        var statements: [String] = []
        c.county.db.trace { statements.append($0) }
        defer { c.county.db.trace(nil) }
        #expect(c.county.stream(peer: "450223101", after: last).status == 200)   // the same position again
        let seen = try #require(statements.firstIndex { $0.hasPrefix("UPDATE checkpoint SET seen_at") })
        #expect(statements[..<seen].last == "PRAGMA synchronous=NORMAL" && statements[seen...].dropFirst().first == "PRAGMA synchronous=2",
                "\(statements)")
        #expect(c.county.db.synchronousLevel == 2)
    }

    @Test("pipelined push: the next change set is built while the county works; sent only after an accepted answer, or right behind the one before when the sender says it went out whole")
    func pipelined() throws {
        let (c, t) = try County.registering([(alice, "韦秀英", "622848000000000001"), (bob, "覃建国", "622848000000000002"),
                                             (carol, "黄丽华", "622848000000000004")])
        // The county refuses the first change set: the second, already built, is not sent.
        var sent: [Int64] = []
        let refused = #expect(throws: YKTError.self) {
            try t.pushPipelined(maxOperations: 1) { bytes, _ in
                sent.append(try ChangeSet.readHeader(bytes).header.seq)
                return TownshipNode.Sending { TownshipNode.CountyAnswer(status: 503, body: Array(#"{"code":"YKT-DB-BUSY","message":"忙"}"#.utf8), signature: nil) }
            }
        }
        #expect(refused?.code == .databaseBusy)
        #expect(sent == [1])
        // A sender that says when a change set went out whole gets the next one right behind it
        // (two on their way); the first refused, the push fails once the second is answered too.
        var answered: [Int64] = []
        let refusedBehind = #expect(throws: YKTError.self) {
            try t.pushPipelined(maxOperations: 1) { bytes, _ in
                let seq = try ChangeSet.readHeader(bytes).header.seq
                sent.append(seq)
                return TownshipNode.Sending(sent: {}) {
                    answered.append(seq)
                    return TownshipNode.CountyAnswer(status: 503, body: Array(#"{"code":"YKT-DB-BUSY","message":"忙"}"#.utf8), signature: nil)
                }
            }
        }
        #expect(refusedBehind?.code == .databaseBusy)
        #expect(sent == [1, 1, 2] && answered == [1, 2])
        sent = []
        #expect(try t.storedChangeSets().map(\.set.header.seq) == [1, 2])
        // The next push sends both built sets and the third, in order, each after the last was answered.
        let report = try t.pushPipelined(maxOperations: 1) { bytes, signature in
            sent.append(try ChangeSet.readHeader(bytes).header.seq)
            let a = c.county.receive(peer: "450223101", bytes: bytes, signature: signature)
            return TownshipNode.Sending { TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature) }
        }
        #expect(sent == [1, 2, 3])
        #expect(report.accepted == 3 && report.changeSets == 3)
        #expect(try t.outbox().allSatisfy { $0.state == "accepted" })
    }

    @Test("a change set sent right behind another that reaches the county first is refused as a gap, and sent again once the one before is answered")
    func behindArrivesFirst() throws {
        let (c, t) = try County.registering([(alice, "韦秀英", "622848000000000001"), (bob, "覃建国", "622848000000000002"),
                                             (carol, "黄丽华", "622848000000000004")])
        // The first change set's connection is served only when its answer is awaited; every
        // later one at once: the second reaches the real county before the first.
        var sent: [Int64] = []
        var statuses: [Int] = []
        let report = try t.pushPipelined(maxOperations: 1) { bytes, signature in
            let seq = try ChangeSet.readHeader(bytes).header.seq
            sent.append(seq)
            func receive() -> TownshipNode.CountyAnswer {
                let a = c.county.receive(peer: "450223101", bytes: bytes, signature: signature)
                statuses.append(a.status)
                return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
            }
            if seq == 1 { return TownshipNode.Sending(sent: {}) { receive() } }
            let answer = receive()
            return TownshipNode.Sending(sent: {}) { answer }
        }
        #expect(sent == [1, 2, 2, 3] || sent == [1, 2, 3, 2, 3], "\(sent)")
        #expect(statuses.first == 409 && statuses.filter { $0 == 200 }.count == 3)
        #expect(report.accepted == 3 && report.changeSets == 3)
        #expect(try t.outbox().allSatisfy { $0.state == "accepted" })
        // A county still behind after the second try is answered as a gap.
        #expect(!TownshipNode.isGapBefore(TownshipNode.CountyAnswer(status: 409, body: Array(#"{"code":"YKT-SYNC-GAP","resumeSeq":3}"#.utf8),
                                                                      signature: nil), seq: 5))
        #expect(TownshipNode.isGapBefore(TownshipNode.CountyAnswer(status: 409, body: Array(#"{"code":"YKT-SYNC-GAP","resumeSeq":4}"#.utf8),
                                                                     signature: nil), seq: 5))
    }

    @Test("a registration the fast reader does not recognise (an escaped name) is read by the general parser, same result")
    func escapedRegistration() throws {
        let (c, t) = try County.registering([(alice, "韦秀英", "622848000000000001"), (bob, "覃建国", "622848000000000002")])
        let built = try #require(try t.nextChangeSet())
        let lines = try built.set.operationLines().map { String(decoding: built.set.bytes[$0], as: UTF8.self) }
        #expect(lines[0].contains(#""name":"韦秀英""#))
        let escaped = lines[0].replacingOccurrences(of: #""name":"韦秀英""#, with: #""name":"\u97e6秀英""#)
        let set = ChangeSet.build(node: "450223101", keyID: built.set.header.keyID, seq: 1, prev: ChangeSet.genesisHash,
                                  operations: [escaped, lines[1]], audit: .genesis)
        let answer = c.county.receive(peer: "450223101", bytes: set.bytes, signature: try NodeKey.load(from: t.directory).sign(ChangeSet.signedPart(of: set.bytes)))
        #expect(answer.status == 200)
        let receipt = try JSONValue.parse(answer.body)
        // Both accepted: the receipt covers operations 1…2 and lists none as not accepted.
        guard case .array(let results)? = receipt["results"] else { Issue.record("no results"); return }
        #expect(results.isEmpty && receipt["firstOp"]?.intValue == 1 && receipt["lastOp"]?.intValue == 2)
        #expect(try c.county.db.all("SELECT name FROM resident ORDER BY name") { $0.text(0) }.sorted() == ["覃建国", "韦秀英"].sorted())
    }

    @Test("the fast reader and the general parser decide every kind of registration alike: IDs, names and accounts to normalise or refuse, heads, repeats")
    func fastAndGeneralAgree() throws {
        let people = 16
        let (a, t, ids) = try County.registeringMany(people, month: 3)
        let built = try #require(try t.nextChangeSet(maxOperations: people))
        var lines = try built.set.operationLines().map { String(decoding: built.set.bytes[$0], as: UTF8.self) }
        func change(_ i: Int, _ from: String, _ to: String) {
            #expect(lines[i].contains(from), "line \(i) has no \(from)")
            lines[i] = lines[i].replacingOccurrences(of: from, with: to)
        }
        func number(_ i: Int) -> String { AccountNumber.completingLuhn(String(format: "6228480%011d", i)) }
        let fullWidth = String(String.UnicodeScalarView(ids[1].unicodeScalars.map { Unicode.Scalar($0.value + 0xFEE0)! }))
        change(1, #""residentId":"\#(ids[1])""#, #""residentId":"\#(fullWidth)""#)            // full-width digits
        change(2, #""name":"韦秀英""#, #""name":"Aygul""#)                                    // a Latin name
        change(3, #""name":"韦秀英""#, #""name":"阿依·买买提""#)                              // a middle dot
        change(4, #""name":"韦秀英""#, #""name":"韦秀英1""#)                                  // a digit: refused
        change(5, number(5), String(number(5).prefix(4)) + "-" + String(number(5).dropFirst(4)))  // a dash
        let luhn = number(6).last == "0" ? "1" : "0"
        change(6, number(6), String(number(6).dropLast()) + luhn)                             // wrong check digit
        change(7, #""kind":"card""#, #""kind":"银行卡""#)                                     // a label, not the raw value
        change(8, #""kind":"card","number":"\#(number(8))""#, #""kind":"passbook","number":"4502231234""#)
        change(9, #""kind":"card","number":"\#(number(9))""#, #""kind":"passbook","number":"4502231""#)  // too short
        change(10, #""household":"""#, #""head":true,"household":"H1""#)                     // a head
        change(11, #""household":"""#, #""head":true,"household":"H1""#)                     // a second head: refused
        change(12, #""household":"""#, #""head":true,"household":"""#)                       // a head without a household
        change(13, ids[13], ids[10])                                                          // the same resident again
        let born = String(ids[14].prefix(6)) + "20990101" + String(ids[14].dropFirst(14))
        change(14, ids[14], ResidentID.completing(String(born.prefix(17))))                   // born in the future
        // Sent as they are (each on the fast path where it can be), and with every line written
        // with an escape (`"at"`'s first digit), so that only the general parser can read them.
        let escaped = lines.map { $0.replacingOccurrences(of: #"{"at":"2"#, with: #"{"at":"\u0032"#) }
        #expect(escaped.allSatisfy { $0.contains(#"\u0032"#) })
        let (b, u, _) = try County.registeringMany(people, month: 3)
        let fast = try Self.decide(a, t, lines)
        let general = try Self.decide(b, u, escaped)
        #expect(fast.0 == general.0)
        #expect(fast.1 == general.1)
        #expect(fast.2 == general.2)
        // What each came to: refused are the digit in a name, the wrong check digit, the short
        // passbook, the second head, the head without a household, the repeat and the future birth.
        guard case .array(let results) = fast.0 else { Issue.record("no results"); return }
        #expect(results.compactMap { $0["id"]?.stringValue } == [5, 7, 10, 12, 13, 14, 15].map { "450223101-\($0)" })
        #expect(fast.1.count == people - 7)
        #expect(fast.1.contains { $0[0] == ids[1] && $0[1] == "韦秀英" })                   // normalised to ASCII digits
        #expect(fast.1.contains { $0[0] == ids[10] && $0[5] == "H1" && $0[6] == "1" })
        // The lines the fast reader takes are most of them: their decisions go in by runs.
        #expect(try a.county.db.integer("SELECT count(*) FROM operation_run") ?? 0 > 0)
        #expect(try b.county.db.integer("SELECT count(*) FROM operation_run") == 0)
    }

    /// `ops` sent to `county` as `township`'s first change set: the receipt's results, the
    /// register (with where each resident is and whether removed) and the decision rows.
    static func decide(_ county: County, _ township: TownshipNode, _ ops: [String]) throws -> (JSONValue, [[String]], [[String]]) {
        let key = try NodeKey.load(from: township.directory)
        let keyID = try #require(try township.nextChangeSet(maxOperations: 1)).set.header.keyID
        let set = ChangeSet.build(node: "450223101", keyID: keyID, seq: 1, prev: ChangeSet.genesisHash, operations: ops, audit: .genesis)
        let answer = county.county.receive(peer: "450223101", bytes: set.bytes, signature: try key.sign(ChangeSet.signedPart(of: set.bytes)))
        #expect(answer.status == 200)
        let residents = try county.county.db.all("""
            SELECT resident_id, name, bank, account_kind, account_number, household, head, node_id, removed_at IS NULL
            FROM resident ORDER BY resident_id
            """) { row in (0..<9).map { row.text($0) } }
        let decisions = try county.county.db.all("""
            SELECT op_seq, kind, entity, status, coalesce(rule, ''), coalesce(reason, '') FROM decision ORDER BY op_seq
            """) { row in (0..<6).map { row.text($0) } }
        return (try JSONValue.parse(answer.body)["results"] ?? .null, residents, decisions)
    }

    @Test("registrations go into the register several to a statement, decided as one at a time: repeats near and far, households with no, one or two heads, residents known live or removed, here or in another township (seeded)")
    func batchedAsOneByOne() throws {
        let people = 300
        for seed: UInt64 in [11, 12, 13] {
            var rng = SplitMix64(seed: seed)
            let (a, t, ids) = try County.registeringMany(people, month: 4)
            let built = try #require(try t.nextChangeSet(maxOperations: people))
            var lines = try built.set.operationLines().map { String(decoding: built.set.bytes[$0], as: UTF8.self) }
            // Households of one to four lines in a row; two lines in five are heads, so that a
            // household has none, one or several.
            var line = 0, household = 0
            while line < people {
                for j in line..<min(line + Int.random(in: 1...4, using: &rng), people) {
                    let head = Int.random(in: 0..<5, using: &rng) < 2
                    lines[j] = lines[j].replacingOccurrences(of: #""household":"""#,
                                                             with: (head ? #""head":true,"# : "") + #""household":"H\#(household)""#)
                    line = j + 1
                }
                household += 1
            }
            // One line in eight registers again the resident of a line up to forty before it.
            for j in 1..<people where Int.random(in: 0..<8, using: &rng) == 0 {
                lines[j] = lines[j].replacingOccurrences(of: ids[j], with: ids[max(0, j - Int.random(in: 1...40, using: &rng))])
            }
            // Known to the county before: some of the file's residents, live or removed, of this
            // township or another; and heads of some of the file's households not in the file.
            let (b, u, _) = try County.registeringMany(people, month: 4)
            let known = ids.indices.filter { _ in Int.random(in: 0..<10, using: &rng) == 0 }
            for county in [a, b] {
                for (n, i) in known.enumerated() {
                    try county.county.db.run("""
                        INSERT INTO resident(resident_id, node_id, name, bank, account_kind, account_number, household, head, removed_at)
                        VALUES (?, ?, '韦秀英', '农行', 'card', ?, '', 0, ?)
                        """, ids[i], n % 2 == 0 ? "450223101" : "450223102", AccountNumber.completingLuhn(String(format: "6228489%011d", i)),
                                                 n % 4 < 2 ? nil : "2026-01-05T09:00:00+08:00")
                }
                for h in stride(from: 3, to: household, by: 7) {
                    try county.county.db.run("""
                        INSERT INTO resident(resident_id, node_id, name, bank, account_kind, account_number, household, head)
                        VALUES (?, '450223101', '覃建国', '农行', 'card', ?, ?, 1)
                        """, ResidentID.completing(String(format: "4502231970%02d%02d%03d", 5, 1, h)),
                                                 AccountNumber.completingLuhn(String(format: "6228487%011d", h)), "H\(h)")
                }
            }
            let escaped = lines.map { $0.replacingOccurrences(of: #"{"at":"2"#, with: #"{"at":"\u0032"#) }
            let batched = try Self.decide(a, t, lines)
            let single = try Self.decide(b, u, escaped)
            #expect(batched.0 == single.0, "seed \(seed): receipts differ")
            #expect(batched.1 == single.1, "seed \(seed): registers differ")
            #expect(batched.2 == single.2, "seed \(seed): decisions differ")
            // Every kind of decision came up.
            let statuses = batched.2.map { $0[3] + " " + $0[4] }
            for kind in ["accepted ", "conflicted resident.two-townships", "rejected \(ErrorCode.residentDuplicate.rawValue)",
                         "rejected \(ErrorCode.householdHeads.rawValue)"] {
                #expect(statuses.contains(kind), "seed \(seed): no \(kind)")
            }
            let removed = known.enumerated().filter { $0.offset % 4 >= 2 }.map(\.element)
            let retaken = try removed.filter { i in
                try a.county.db.integer("SELECT count(*) FROM resident WHERE resident_id = ? AND removed_at IS NULL AND node_id = '450223101'", ids[i]) == 1
            }
            #expect(removed.count >= 3 && retaken.count > removed.count / 2, "seed \(seed): removed residents not taken again")
            // Most went in on the bulk path (decision rows by runs).
            #expect(try a.county.db.integer("SELECT sum(length(ids) / 18) FROM operation_run") ?? 0 > Int64(people / 2))
        }
    }

    @Test("accepted registrations' decision rows go in by runs, each row as one of its own would be; the others one by one")
    func decisionRuns() throws {
        let people = CountyNode.acceptedRunLimit + 300   // a full run, then a partial one
        let (c, t, ids) = try County.registeringMany(people, month: 2)
        let built = try #require(try t.nextChangeSet(maxOperations: people))
        var lines = try built.set.operationLines().map { String(decoding: built.set.bytes[$0], as: UTF8.self) }
        // 10: an entity that is not `beneficiary/<ID>` (written on its own); 20: a second
        // registration of the first resident (rejected); 30: an escaped name (general parser);
        // 4_200: an ID whose check digit is wrong (left to the general parser, rejected).
        lines[10] = lines[10].replacingOccurrences(of: #""entity":"beneficiary/"#, with: #""entity":"beneficiary/x"#)
        lines[20] = lines[20].replacingOccurrences(of: ids[20], with: ids[0])
        lines[30] = lines[30].replacingOccurrences(of: #""name":"韦秀英""#, with: #""name":"\u97e6秀英""#)
        let last = ids[4_200].last!
        let wrong = String(ids[4_200].dropLast()) + (last == "0" ? "1" : "0")
        lines[4_200] = lines[4_200].replacingOccurrences(of: ids[4_200], with: wrong)
        let set = ChangeSet.build(node: "450223101", keyID: built.set.header.keyID, seq: 1, prev: ChangeSet.genesisHash, operations: lines, audit: .genesis)
        let answer = c.county.receive(peer: "450223101", bytes: set.bytes,
                                      signature: try NodeKey.load(from: t.directory).sign(ChangeSet.signedPart(of: set.bytes)))
        #expect(answer.status == 200)
        let receipt = try JSONValue.parse(answer.body)
        guard case .array(let results)? = receipt["results"] else { Issue.record("no results"); return }
        #expect(results.map { $0["id"]?.stringValue ?? "" } == ["450223101-21", "450223101-4201"])
        let rows = try c.county.db.all("""
            SELECT op_seq, changeset_seq, kind, entity, typeof(entity), status FROM decision WHERE node_id = '450223101' ORDER BY op_seq
            """) { [$0.text(0), $0.text(1), $0.text(2), $0.text(3), $0.text(4), $0.text(5)] }
        let expected = try lines.enumerated().map { i, line in
            let entity = try JSONValue.parse(Array(line.utf8))["entity"]?.stringValue ?? ""
            return ["\(i + 1)", "1", "beneficiary.register", entity, "text", [20, 4_200].contains(i) ? "rejected" : "accepted"]
        }
        #expect(rows.count == people)
        let differing = zip(rows, expected).filter { $0.0 != $0.1 }
        #expect(differing.isEmpty, "\(differing.count) rows differ, first: \(differing.prefix(2))")
        #expect(rows[10][3] == "beneficiary/x" + ids[10])
        // The four operations off the fast path have decision rows of their own; every other
        // one is a place in a run (runs broken by those four, and at 4,096).
        #expect(try c.county.db.all("SELECT op_seq FROM operation WHERE node_id = '450223101' ORDER BY op_seq") { $0.int(0) }
                == [11, 21, 31, 4_201])
        #expect(try c.county.db.all("SELECT first_op, length(ids) / 18 FROM operation_run ORDER BY first_op") { [$0.int(0), $0.int(1)] }
                == [[1, 10], [12, 9], [22, 9], [32, 4_096], [4_128, 73], [4_202, people - 4_201]])
        #expect(try c.county.lastOperation(of: "450223101") == Int64(people))
        #expect(try c.county.db.integer("SELECT count(*) FROM resident") == Int64(people - 2))
    }

    @Test("change sets stop at a byte budget too, always with at least one operation")
    func byteBudget() throws {
        let (c, t) = try County.registering([(alice, "韦秀英", "622848000000000001"), (bob, "覃建国", "622848000000000002"),
                                             (carol, "黄丽华", "622848000000000004")])
        let first = try #require(try t.nextChangeSet(maxOperations: 100, maxBytes: 900))
        #expect(first.set.header.ops == 1)   // one registration is about 600 bytes with its envelope
        let rest = try #require(try t.nextChangeSet(maxOperations: 100, maxBytes: 1_500, after: first.set.header.seq))
        #expect(rest.set.header.ops == 2 && rest.firstOp == 2)
        _ = c
    }

    @Test("a header claiming an absurd operation count is refused, not trusted")
    func absurdCount() throws {
        let (c, t) = try County.registering([(alice, "韦秀英", "622848000000000001")])
        let built = try #require(try t.nextChangeSet())
        let text = String(decoding: built.set.bytes, as: UTF8.self).replacingOccurrences(of: "\nops: 1\n", with: "\nops: 9223372036854775807\n")
        let bytes = Array(text.utf8)
        let answer = c.county.receive(peer: "450223101", bytes: bytes, signature: try NodeKey.load(from: t.directory).sign(ChangeSet.signedPart(of: bytes)))
        #expect(answer.status == 400)
        #expect(try c.county.db.integer("SELECT count(*) FROM decision") == 0)
    }

    @Test("a change set of several evidence parts streams in: applied whole, stored verbatim; a bad last byte applies nothing")
    func streamedParts() throws {
        let people = 3_000   // over 1 MiB of body: at least two evidence parts, cut inside a line
        let (c, t, _) = try County.registeringMany(people, month: 1)
        let built = try #require(try t.nextChangeSet(maxOperations: people))
        #expect(built.set.header.ops == people && built.set.header.bodyBytes > CountyNode.evidencePartBytes)
        let key = try NodeKey.load(from: t.directory)
        // A sender whose bytes arrive 777 at a time.
        final class Trickle: ChangeSetSource {
            let bytes: [UInt8]
            var offset = 0
            init(_ bytes: [UInt8]) { self.bytes = bytes }
            var length: Int { bytes.count }
            func read(into buffer: inout [UInt8], max: Int) throws -> Int {
                let n = Swift.min(max, 777, bytes.count - offset)
                buffer.append(contentsOf: bytes[offset..<(offset + n)])
                offset += n
                return n
            }
        }
        var spoiled = built.set.bytes
        spoiled[spoiled.count - 2] ^= 1
        let refused = c.county.receive(peer: "450223101", source: Trickle(spoiled), signature: built.signature)
        #expect(refused.status == 400)
        let evidenceFile = EvidenceFile.path(directory: c.county.directory, node: "450223101")
        #expect(try FileManager.default.attributesOfItem(atPath: evidenceFile)[.size] as? Int == 0)   // written, then cut off
        for table in ["upstream", "upstream_part", "operation", "resident"] {
            #expect(try c.county.db.integer("SELECT count(*) FROM \(table)") == 0, "\(table)")
        }
        let answer = c.county.receive(peer: "450223101", source: Trickle(built.set.bytes), signature: built.signature)
        #expect(answer.status == 200)
        let receipt = try JSONValue.parse(answer.body)
        #expect(receipt["firstOp"]?.intValue == 1 && receipt["lastOp"]?.intValue == Int64(people))
        #expect(try c.county.db.integer("SELECT count(*) FROM resident") == Int64(people))
        let parts = (built.set.header.bodyBytes + CountyNode.evidencePartBytes - 1) / CountyNode.evidencePartBytes
        #expect(parts >= 2)
        // The body is in the township's evidence file, verbatim, and nothing else is.
        let file = EvidenceFile.path(directory: c.county.directory, node: "450223101")
        #expect(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int == built.set.header.bodyBytes)
        #expect(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int == 0o600)
        #expect(try c.county.db.integer("SELECT count(*) FROM upstream_part") == 0)
        #expect(try c.county.evidence(node: "450223101", seq: 1) == built.set.bytes)
        #expect(try key.publicKey.verify(built.signature, of: ChangeSet.signedPart(of: try #require(try c.county.evidence(node: "450223101", seq: 1)))))
    }

    @Test("a fault in a later part (an operation out of sequence, a line that is not JSON) refuses the whole change set; the next one is read")
    func laterPartFaults() throws {
        let people = 3_000   // over 1 MiB of body: the faults sit in the second part
        let (c, t, _) = try County.registeringMany(people, month: 3)
        let built = try #require(try t.nextChangeSet(maxOperations: people))
        let lines = try built.set.operationLines().map { String(decoding: built.set.bytes[$0], as: UTF8.self) }
        let key = try NodeKey.load(from: t.directory)
        var outOfOrder = lines
        outOfOrder.swapAt(2_500, 2_501)
        var notJSON = lines
        notJSON[2_600] = "{\"at\":"
        for (name, spoiled) in [("out of sequence", outOfOrder), ("not JSON", notJSON)] {
            let set = ChangeSet.build(node: "450223101", keyID: built.set.header.keyID, seq: 1, prev: ChangeSet.genesisHash, operations: spoiled, audit: .genesis)
            #expect(set.header.bodyBytes > CountyNode.evidencePartBytes + 100_000)
            let answer = c.county.receive(peer: "450223101", bytes: set.bytes, signature: try key.sign(ChangeSet.signedPart(of: set.bytes)))
            #expect(answer.status == 400, "\(name)")
            #expect(String(decoding: answer.body, as: UTF8.self).contains("YKT-SYNC-BODY"), "\(name)")
            for table in ["upstream", "upstream_part", "operation", "resident"] {
                #expect(try c.county.db.integer("SELECT count(*) FROM \(table)") == 0, "\(name): \(table)")
            }
        }
        let answer = c.county.receive(peer: "450223101", bytes: built.set.bytes, signature: built.signature)
        #expect(answer.status == 200)
        #expect(try c.county.db.integer("SELECT count(*) FROM resident") == Int64(people))
    }

    @Test("while a body is staged the county holds no database lock: another connection writes meanwhile; the body is applied after")
    func stagingHoldsNoLock() throws {
        let people = 3_000   // over 1 MiB of body: the sender pauses after the first part
        let (c, t, _) = try County.registeringMany(people, month: 4)
        let built = try #require(try t.nextChangeSet(maxOperations: people))
        // A sender that stops after the header and the first part until it is let go.
        final class Paused: ChangeSetSource, @unchecked Sendable {
            let bytes: [UInt8]
            let pauseAt: Int
            var offset = 0
            let reached = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0)
            init(_ bytes: [UInt8], pauseAt: Int) { self.bytes = bytes; self.pauseAt = pauseAt }
            var length: Int { bytes.count }
            func read(into buffer: inout [UInt8], max: Int) throws -> Int {
                if offset == pauseAt { reached.signal(); go.wait() }
                let n = Swift.min(max, (offset < pauseAt ? pauseAt : bytes.count) - offset)
                buffer.append(contentsOf: bytes[offset..<(offset + n)])
                offset += n
                return n
            }
        }
        let source = Paused(built.set.bytes, pauseAt: built.set.bytes.count - built.set.header.bodyBytes + CountyNode.evidencePartBytes)
        // The county is used by the receiving thread only until `value()` returns.
        final class Handed: @unchecked Sendable { let county: CountyNode; init(_ c: CountyNode) { county = c } }
        let handed = Handed(c.county)
        let receiving = Background(name: "receive") { handed.county.receive(peer: "450223101", source: source, signature: built.signature) }
        source.reached.wait()
        // Another process's write goes through at once (it waited for the whole stream before).
        let other = try Database(path: c.county.directory + "/county.db", busyTimeoutMilliseconds: 200)
        try other.transaction { try other.execute("CREATE TABLE probe(x)") }
        source.go.signal()
        let answer = try receiving.value()
        #expect(answer.status == 200)
        #expect(try c.county.db.integer("SELECT count(*) FROM resident") == Int64(people))
    }

    @Test("an operation from a township with valid keys that lacks a field is refused naming the field, never read as empty; nothing of it stays")
    func missingFieldRefused() throws {
        let (c, t) = try County.registering([(alice, "韦秀英", "622848000000000001")])
        #expect(try c.push("450223101").accepted == 1)
        let first = try #require(try t.storedChangeSets().last)
        let key = try NodeKey.load(from: t.directory)
        // An application without its quantity, and a notice without its posting date.
        let application = Operation.body(kind: "application.record", node: "450223101", seq: 2, entity: "application/x", baseVersion: 0,
                                         at: "2026-03-01T09:00:00+08:00", by: "经办人",
                                         data: #"{"amountFen":11235,"period":"2026","program":"GD01","programVersion":1,"residentId":"\#(alice)","standardFen":11235}"#)
        let notice = Operation.body(kind: "notice.open", node: "450223101", seq: 3, entity: "notice/9", baseVersion: 0,
                                    at: "2026-03-01T09:00:00+08:00", by: "经办人", data: #"{"lastDay":"2026-03-09"}"#)
        // A payment correction whose new account names no bank (it would be stored empty).
        let correction = Operation.body(kind: "payment.correct", node: "450223101", seq: 4, entity: "payment/1", baseVersion: 0,
                                        at: "2026-03-01T09:00:00+08:00", by: "经办人",
                                        data: #"{"account":{"confirmation":"","kind":"银行卡","number":"622848000000000001"},"line":1,"note":"换卡","payment":1,"residentId":"\#(alice)","roster":"r"}"#)
        let set = ChangeSet.build(node: "450223101", keyID: first.set.header.keyID, seq: 2, prev: first.set.hash,
                                  operations: [application, notice, correction], audit: try #require(first.set.header.audit))
        let answer = c.county.receive(peer: "450223101", bytes: set.bytes, signature: try key.sign(ChangeSet.signedPart(of: set.bytes)))
        #expect(answer.status == 200)
        guard case .array(let results)? = try JSONValue.parse(answer.body)["results"] else { Issue.record("no results"); return }
        #expect(results.count == 3)
        #expect(results.allSatisfy { $0["rule"]?.stringValue == "YKT-FIELD-MISSING" && $0["status"]?.stringValue == "rejected" })
        #expect(results[0]["reason"]?.stringValue?.contains("quantity") == true)
        #expect(results[2]["reason"]?.stringValue?.contains("bank") == true)
        #expect(try c.county.db.integer("SELECT count(*) FROM notice") == 0)
        #expect(try c.county.db.integer("SELECT count(*) FROM correction") == 0)
    }

    @Test("a signed header with an absurd body length is refused from its bounds, not trapped on; one above max_changeset_bytes is 413")
    func absurdBodyLength() throws {
        let (c, t) = try County.registering([(alice, "韦秀英", "622848000000000001")])
        let built = try #require(try t.nextChangeSet())
        let key = try NodeKey.load(from: t.directory)
        func sendWithBody(_ declared: String) -> CountyNode.Answer {
            let text = String(decoding: built.set.bytes, as: UTF8.self)
                .replacingOccurrences(of: "\nbody: \(built.set.header.bodyBytes)\n", with: "\nbody: \(declared)\n")
            let bytes = Array(text.utf8)
            return c.county.receive(peer: "450223101", bytes: bytes, signature: try! key.sign(ChangeSet.signedPart(of: bytes)))
        }
        let absurd = sendWithBody("9223372036854775000")
        #expect(absurd.status == 400 && String(decoding: absurd.body, as: UTF8.self).contains("YKT-SYNC-FORMAT"))
        c.county.maximumChangeSetBytes = 1_000
        let large = sendWithBody("2000")
        #expect(large.status == 413 && String(decoding: large.body, as: UTF8.self).contains("YKT-SYNC-FORMAT"))
        c.county.maximumChangeSetBytes = 1 << 30
        #expect(c.county.receive(peer: "450223101", bytes: built.set.bytes, signature: built.signature).status == 200)
        #expect(try c.county.db.integer("SELECT count(*) FROM decision") == 1)
    }

    @Test("evidence file: bytes left past the recorded end are cut off; a changed body is found; a short file refuses further sets")
    func evidenceFile() throws {
        let (c, t) = try County.registering([(alice, "韦秀英", "622848000000000001"), (bob, "覃建国", "622848000000000002"),
                                             (carol, "黄丽华", "622848000000000004")])
        let key = try NodeKey.load(from: t.directory)
        func send(_ built: TownshipNode.StoredChangeSet) -> CountyNode.Answer {
            c.county.receive(peer: "450223101", bytes: built.set.bytes, signature: built.signature)
        }
        let first = try #require(try t.nextChangeSet(maxOperations: 1))
        #expect(send(first).status == 200)
        let path = EvidenceFile.path(directory: c.county.directory, node: "450223101")
        // A receive that wrote its body and never committed (the process was killed) leaves
        // bytes past the end the database records; the next receive writes over them.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(repeating: 0x41, count: 5_000))
        try handle.close()
        let second = try #require(try t.nextChangeSet(maxOperations: 1, after: first.set.header.seq))
        #expect(send(second).status == 200)
        #expect(try c.county.evidence(node: "450223101", seq: 1) == first.set.bytes)
        #expect(try c.county.evidence(node: "450223101", seq: 2) == second.set.bytes)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
                == first.set.header.bodyBytes + second.set.header.bodyBytes)
        // A body changed in the file no longer matches its signed header.
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[first.set.header.bodyBytes + 10] ^= 1
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(try c.county.evidence(node: "450223101", seq: 1) == first.set.bytes)
        let changed = #expect(throws: YKTError.self) { try c.county.evidence(node: "450223101", seq: 2) }
        #expect(changed?.code == .fileRead && changed?.location?.file == path)
        let verified = try c.county.verifyEvidence()   // what ykt audit verify adds at the county
        #expect(verified.changeSets == 2 && verified.problems.count == 1 && verified.problems[0].contains("第 2 号变更集"))
        // A file shorter than the database records has lost evidence: nothing more goes in.
        #expect(truncate(path, off_t(first.set.header.bodyBytes)) == 0)
        let third = try #require(try t.nextChangeSet(maxOperations: 1, after: second.set.header.seq))
        let refused = c.county.receive(peer: "450223101", bytes: third.set.bytes, signature: try key.sign(ChangeSet.signedPart(of: third.set.bytes)))
        #expect(refused.status == 500)
        #expect(String(decoding: refused.body, as: UTF8.self).contains("YKT-FILE-READ"))
        #expect(try c.county.db.integer("SELECT count(*) FROM upstream") == 2)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == first.set.header.bodyBytes)
    }

    @Test("refused and nothing applied: tampered bytes, another township's set, a gap")
    func refusals() throws {
        let c = try County(["450223101", "450223102"])
        let t1 = c.townships["450223101"]!
        try register(t1, alice, "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        let set = try #require(try t1.nextChangeSet())
        var tampered = set.set.bytes
        tampered[tampered.count - 10] ^= 1
        // The body no longer matches the signed header: read, refused, rolled back.
        let body = c.county.receive(peer: "450223101", bytes: tampered, signature: set.signature)
        #expect(body.status == 400)
        #expect(try JSONValue.parse(body.body)["code"]?.stringValue == "YKT-SYNC-BODY")
        var header = set.set.bytes   // a digit of the signed body-sha256
        header[set.set.bodyOffset - 3] = header[set.set.bodyOffset - 3] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(c.county.receive(peer: "450223101", bytes: header, signature: set.signature).status == 403)
        #expect(c.county.receive(peer: "450223102", bytes: set.set.bytes, signature: set.signature).status == 403)
        for table in ["upstream", "upstream_part", "operation", "resident"] {
            #expect(try c.county.db.integer("SELECT count(*) FROM \(table)") == 0, "\(table)")
        }
        // A later set sent before the first: a gap, with where to resume.
        let second = ChangeSet.build(node: "450223101", keyID: try t1.publicKey().keyID, seq: 2, prev: set.set.hash, operations: [], audit: .genesis)
        let key = try NodeKey.load(from: t1.directory)
        let gap = c.county.receive(peer: "450223101", bytes: second.bytes, signature: try key.sign(ChangeSet.signedPart(of: second.bytes)))
        #expect(gap.status == 409)
        #expect(try JSONValue.parse(gap.body)["resumeSeq"]?.intValue == 1)
    }

    @Test("the county re-checks notice periods itself: a notice closed early is rejected")
    func countyRechecks() throws {
        let (c, t1) = try County.registered(alice)
        try apply(t1, alice, "GD01", quantity: "2")
        try t1.passVillageNotices(program: "GD01")
        t1.at("2026-03-02")
        let n = try t1.openNotice(program: "GD01", period: try Period(parsing: "2026"), postedOn: try CivilDate(parsing: "2026-03-02"),
                                  place: "公开栏", phone: "13800138000")
        t1.at("2026-03-09")
        try t1.closeNotice(n.id, on: try CivilDate(parsing: "2026-03-09"))
        // Forge a close one day too early, as a township with a broken calendar would send it.
        try t1.db.run("UPDATE outbox SET data = replace(data, '2026-03-09', '2026-03-06') WHERE kind = 'notice.close'")
        let report = try c.push("450223101")
        #expect(report.rejected == 1)
        #expect(report.problems.first?.contains("YKT-NOTICE-EARLY") == true)
        #expect(try t1.outbox(state: "rejected").map(\.kind) == ["notice.close"])
    }
}

extension County {
    /// One township, 450223101, with `resident` registered (not yet pushed).
    static func registered(_ resident: String) throws -> (County, TownshipNode) {
        let c = try County(["450223101"])
        let t = c.townships["450223101"]!
        try register(t, resident, "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        return (c, t)
    }

    /// One township that registered `people` residents born in 1960, `month` (a distinct month
    /// per test keeps the IDs apart), 1,000 a day, all named 韦秀英; and their IDs.
    static func registeringMany(_ people: Int, month: Int) throws -> (County, TownshipNode, [String]) {
        let c = try County(["450223101"])
        let t = c.townships["450223101"]!
        let ids = (0..<people).map { ResidentID.completing(String(format: "4502231960%02d%02d%03d", month, 1 + $0 / 1_000, $0 % 1_000)) }
        try t.db.transaction {
            for (i, id) in ids.enumerated() {
                try register(t, id, "韦秀英", card: AccountNumber.completingLuhn(String(format: "6228480%011d", i)))
            }
        }
        return (c, t, ids)
    }

    /// One township that registered each (resident, name, card without its check digit).
    static func registering(_ people: [(String, String, String)]) throws -> (County, TownshipNode) {
        let c = try County(["450223101"])
        let t = c.townships["450223101"]!
        for (id, name, card) in people { try register(t, id, name, card: AccountNumber.completingLuhn(card)) }
        return (c, t)
    }

    /// Two townships that both registered `resident`, both pushed: one conflict at the county.
    static func registeredTwice(_ resident: String) throws -> County {
        let c = try County(["450223101", "450223102"])
        try register(c.townships["450223101"]!, resident, "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        try register(c.townships["450223102"]!, resident, "韦秀英", card: AccountNumber.completingLuhn("622848000000000003"))
        _ = try c.push("450223101")
        _ = try c.push("450223102")
        return c
    }

    func pull(_ code: String) throws -> Int {
        try townships[code]!.pull { after in
            let a = county.stream(peer: code, after: after)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }
}

@Suite("County → township stream, conflict decisions, checkpoints")
struct DownstreamTests {
    let alice = ResidentID.completing("45022319500101123")

    @Test("a resolved conflict flows down to both townships, signed, in order")
    func conflictDecision() throws {
        let c = try County.registeredTwice(alice)
        let conflict = try #require(try c.county.conflicts().first)
        #expect(conflict.entity.contains("********"))        // the admin list masks the resident ID
        let sides = try c.county.conflictSides(conflict.id).sides
        #expect(sides.map(\.node) == ["450223101", "450223102"])   // the earlier side first
        #expect(sides.allSatisfy { $0.body.contains(alice) && $0.body.contains("\"op\":\"beneficiary.register\"") })
        #expect((#expect(throws: YKTError.self) { try c.county.acting(TestOperators.administrator).resolveConflict(conflict.id, decision: "keep-450223101", reason: " ") })?.code == .fieldMissing)
        try c.county.acting(TestOperators.administrator).resolveConflict(conflict.id, decision: "keep-450223101", reason: "户籍在寨沙镇，中渡镇登记撤销")
        #expect((#expect(throws: YKTError.self) { try c.county.acting(TestOperators.administrator).resolveConflict(conflict.id, decision: "x", reason: "y") })?.code == .conflictState)
        #expect(try c.pull("450223101") == 1)
        #expect(try c.pull("450223102") == 1)
        let message = try #require(try c.townships["450223102"]!.inbox().last)   // after the county's calendar
        #expect(message.kind == "conflict.decision" && message.body.contains("户籍在寨沙镇"))
        #expect(try c.pull("450223102") == 0)   // nothing new; the position was acknowledged
    }

    @Test("a submitted roster is acknowledged downstream")
    func rosterReceived() throws {
        let (c, t) = try County.registered(alice)
        try apply(t, alice, "TF01", quantity: "1")
        let r = try t.buildRoster(program: "TF01", period: try Period(parsing: "2026"))
        try t.submitAsLeader(r.id)
        #expect(try c.push("450223101").accepted == 3)
        #expect(try c.pull("450223101") == 1)
        #expect(try t.inbox().last?.kind == "roster.received")
        #expect(try c.county.totals().first?.rosterFen == 30000)
        // The same roster arriving again (a township restored from a backup re-sends its work
        // under new sequence numbers) is a conflict: an accepted roster is frozen.
        let again = try t.outbox().last!
        try t.db.run("INSERT INTO outbox(seq, kind, entity, base_version, at, by_operator, data) SELECT seq + 1, kind, entity, base_version, at, by_operator, data FROM outbox WHERE seq = ?", again.seq)
        let r2 = try c.push("450223101")
        #expect(r2.conflicted == 1)
        #expect(try c.county.conflicts().last?.kind == "roster.already-accepted")
        #expect(try c.county.totals().first?.rosterFen == 30000)
    }

    @Test("a township or a county restored from an old backup is detected, not silently served")
    func restoredBackups() throws {
        let c = try County.registeredTwice(alice)
        try c.county.acting(TestOperators.administrator).resolveConflict(try c.county.conflicts()[0].id, decision: "keep-450223101", reason: "核实")
        #expect(try c.pull("450223101") == 1)
        // Township restored: its inbox lost the message it had acknowledged.
        try c.townships["450223101"]!.db.run("DELETE FROM inbox")
        #expect((#expect(throws: YKTError.self) { try c.pull("450223101") })?.code == .syncRestored)
        // County restored: the township asks for more than the county has.
        let ahead = c.county.stream(peer: "450223102", after: 5)
        #expect(ahead.status == 409 && String(decoding: ahead.body, as: UTF8.self).contains("YKT-SYNC-RESTORED"))
    }

    @Test("ykt backup: a consistent copy that verifies; a township or county restored from it is refused at its next sync")
    func backupAndRestore() throws {
        var c = try County(["450223101"], policy: false)
        let town = c.townships["450223101"]!
        let early = c.dir.sub("backup-town"), earlyCounty = c.dir.sub("backup-county")
        let report = try town.backup(to: early)
        #expect(report.files == ["township.db", "node.conf", "signing.key"])
        _ = try c.county.backup(to: earlyCounty)
        #expect(!FileManager.default.fileExists(atPath: earlyCounty + "/evidence"))   // nothing received yet
        #expect((#expect(throws: YKTError.self) { try town.backup(to: early) })?.code == .fileWrite)   // never overwritten
        for (path, mode) in [(early, 0o700), (early + "/township.db", 0o600), (early + "/signing.key", 0o600)] {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == mode)
        }
        // The copy is a whole node: it opens, its audit chain verifies, its register is there.
        let restored = try TownshipNode.open(directory: early, operatorName: "恢复")
        #expect(try AuditLog.verify(db: restored.db).ok)
        #expect(try restored.db.integer("SELECT count(*) FROM beneficiary") == (try town.db.integer("SELECT count(*) FROM beneficiary")))
        // After the backups the county publishes a policy list and the township pulls it (the
        // county records the position acknowledged) …
        let file = c.dir.sub("data/policy.csv")
        try CountyGenerator.programsCSV.write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try c.county.publishPolicy(path: file) == 1)
        #expect(try c.pull("450223101") >= 1)
        _ = try c.pull("450223101")
        // … so the restored township is behind what it acknowledged, and is told so.
        c.townships["450223101"] = restored
        #expect((#expect(throws: YKTError.self) { try c.pull("450223101") })?.code == .syncRestored)
        // A county restored from its early backup has less than the township already holds.
        let oldCounty = try CountyNode.open(directory: earlyCounty, operatorName: "恢复")
        let acked = try town.db.integer("SELECT max(seq) FROM inbox") ?? 0
        #expect(acked >= 1)
        let answer = oldCounty.stream(peer: "450223101", after: acked)
        #expect(answer.status == 409 && String(decoding: answer.body, as: UTF8.self).contains("YKT-SYNC-RESTORED"))
    }

    @Test("a county backup carries the townships' evidence files: the restored county shows what each township sent")
    func backupCarriesEvidence() throws {
        let (c, t) = try County.registered(alice)
        let built = try #require(try t.nextChangeSet())
        #expect(c.county.receive(peer: "450223101", bytes: built.set.bytes, signature: built.signature).status == 200)
        let target = c.dir.sub("backup-county")
        let report = try c.county.backup(to: target)
        #expect(report.files.contains("evidence/450223101.body"))
        let copy = target + "/evidence/450223101.body"
        #expect(try FileManager.default.attributesOfItem(atPath: copy)[.posixPermissions] as? Int == 0o600)
        let restored = try CountyNode.open(directory: target, operatorName: "恢复")
        #expect(try restored.evidence(node: "450223101", seq: 1) == built.set.bytes)
    }
}

@Suite("Policy list versions and program conflicts")
struct PolicyTests {
    let alice = ResidentID.completing("45022319500101123")

    @Test("a published policy list reaches the township on its next pull and replaces its programs")
    func publish() throws {
        let c = try County(["450223101"], policy: false)
        let file = c.dir.sub("data/policy-v1.csv")
        try CountyGenerator.programsCSV.replacingOccurrences(of: "GD01,耕地地力保护补贴,县农业农村局,112.35", with: "GD01,耕地地力保护补贴,县农业农村局,118.00")
            .write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try c.county.publishPolicy(path: file) == 1)
        #expect(try c.pull("450223101") == 1)
        let t = c.townships["450223101"]!
        #expect(try t.program("GD01").standard == 11800)
        #expect(try t.inbox().map(\.kind) == ["calendar.version", "policy.version"])
        // A township enrolled later starts with the current calendar and list.
        let late = try TownshipNode.create(directory: c.dir.sub("late"), config: {
            var config = NodeConfig(role: .township, nodeID: "450223109", name: "新乡", countyCode: "450223", defaultOperator: "x")
            config.extra["county_public_key"] = Hex.encode(try c.county.publicKey().raw)
            return config
        }())
        try c.county.actAs(TestOperators.administrator)
        try c.county.enrol(township: "450223109", name: "新乡", publicKeyHex: Hex.encode(try late.publicKey().raw))
        #expect(try late.pull { after in
            let a = c.county.stream(peer: "450223109", after: after)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        } == 2)
        #expect(try late.program("GD01").standard == 11800 && late.calendarInfo().version == 1)
        // A bad file publishes nothing.
        let bad = c.dir.sub("data/bad.csv")
        try "项目编码,项目名称,主管部门,补贴标准(元),计量单位\nX1,某补贴,县民政局,abc,元/人\n".write(toFile: bad, atomically: true, encoding: .utf8)
        #expect(throws: YKTError.self) { try c.county.publishPolicy(path: bad) }
        #expect(try c.pull("450223101") == 0)
    }

    @Test("applications for a program the county lacks, or at a newer version, share one conflict for their change set")
    func programConflicts() throws {
        let c = try County(["450223101"], policy: false)
        let list = c.dir.sub("data/policy.csv")
        // The county's list lacks TZ01 and has GD01 at version 1.
        try CountyGenerator.programsCSV.split(separator: "\n").filter { !$0.hasPrefix("TZ01") }.joined(separator: "\n")
            .write(toFile: list, atomically: true, encoding: .utf8)
        try c.county.publishPolicy(path: list)
        let t = c.townships["450223101"]!
        // The township has its own newer GD01 (version 2) and still has TZ01 from its local list.
        let local = c.dir.sub("data/local.csv")
        try CountyGenerator.programsCSV.replacingOccurrences(of: "财农〔2016〕26号,1", with: "财农〔2016〕26号,2")
            .write(toFile: local, atomically: true, encoding: .utf8)
        try t.loadLocalPrograms(path: local)
        try register(t, alice, "韦秀英", card: AccountNumber.completingLuhn("622848000000000001"))
        for code in ["TZ01", "GD01", "YL01"] {
            try apply(t, alice, code, quantity: "3", period: code == "YL01" ? "2026-03" : "2026")   // YL01 is paid 每月
        }
        let r = try c.push("450223101")
        #expect(r.accepted == 2 && r.conflicted == 2)   // register + YL01 accepted; TZ01 unknown, GD01 v2 newer
        // One conflict per change set for all such applications, never one per operation
        // (this push sends a change set per operation; PolicyConflictCLITests has the volume).
        let conflicts = try c.county.conflicts()
        #expect(conflicts.count == 2 && conflicts.allSatisfy { $0.kind == "program.list" && $0.entity.hasPrefix("changeset/450223101/") })
        #expect(conflicts.contains { $0.detail.contains("TZ01 版本 1（县里的清单没有此项目）1 条") })
        #expect(conflicts.contains { $0.detail.contains("GD01 版本 2（县里只有版本 1）1 条") })
        #expect(Set(r.groups.map(\.rule)) == ["program.unknown", "program.version"])
    }
}
