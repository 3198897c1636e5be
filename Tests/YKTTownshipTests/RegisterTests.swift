import Foundation
import Testing
import YKTNode
import YKTCore
import YKTDemo
import YKTStore
@testable import YKTTownship

@Suite("Register import and designated accounts")
struct RegisterTests {
    @Test("a clean register imports: beneficiaries, accounts, one operation each, one audit entry")
    func cleanImport() throws {
        let dir = TempDir()
        let node = try Fixture.node(dir)
        let auditBefore = try node.db.integer("SELECT count(*) FROM audit")!
        let r = try node.importBeneficiaries(path: dir.write("reg.csv", Fixture.registerCSV))
        #expect(r.imported == 3 && r.rejected == 0)
        #expect(try node.beneficiaryCount() == 3)
        let ops = try node.outbox()
        #expect(ops.map(\.kind) == Array(repeating: "beneficiary.register", count: 3))
        #expect(ops.map(\.seq) == [1, 2, 3])
        #expect(ops[0].body.contains("\"residentId\":\"\(Fixture.alice)\""))
        #expect(try node.db.integer("SELECT count(*) FROM audit")! == auditBefore + 1)
        let carol = try node.beneficiary(try ResidentID(Fixture.carol))
        #expect(carol.account?.kind == .card)
        #expect(carol.phone == "0772-6812345")
        // Written with foreign keys unenforced: every account's person is there, and the keys
        // are enforced again afterwards.
        #expect(try node.db.all("PRAGMA foreign_key_check") { $0.text(0) }.isEmpty)
        #expect(try node.db.integer("PRAGMA foreign_keys") == 1)
    }

    @Test("an import writes what registering the same people one at a time writes: ids, accounts, operations, in file order")
    func importAsOneByOne() throws {
        // 37 people: two statements of sixteen and one of five; after one registered by hand,
        // so that the ids do not start at 1.
        struct Person { var name, id, village, household, phone, kind, number, shared: String }
        var people: [Person] = []
        for i in 0..<37 {
            let passbook = i % 5 == 0
            let name = ["韦秀英", "覃建国", "黄丽华"][i % 3]
            let id = Fixture.id(String(format: "450223196803%02d%03d", 1 + i / 20, i))
            let number = passbook ? String(format: "45022310%04d", i) : Fixture.card(String(format: "6228480001%08d", i))
            // Line 12's village has a quote and line 8's reason a backslash: their values are
            // escaped in the operation's JSON, and written from the strings, not from it.
            people.append(Person(name: name, id: id, village: i == 11 ? "石\"门村" : ["大塘村", "石门村"][i % 2],
                                 household: i % 4 == 0 ? String(format: "H%02d", i / 4) : "", phone: i % 3 == 0 ? "13800138000" : "",
                                 kind: passbook ? "存折" : "银行卡", number: number, shared: i == 7 ? "监护人\\代领" : ""))
        }
        func cell(_ s: String) -> String { s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s }
        let first = BeneficiaryInput(residentID: try ResidentID(Fixture.alice), name: "韦秀英", village: "大塘村",
                                     account: AccountInput(bank: "中国农业银行", number: try AccountNumber(Fixture.aliceCard, kind: .card), confirmation: "QR-0"))
        let dirA = TempDir(), dirB = TempDir()
        let a = try Fixture.node(dirA), b = try Fixture.node(dirB)
        try a.register(first)
        try b.register(first)
        let csv = Fixture.header + people.enumerated().map { i, p in
            "\(p.name),\(p.id),\(cell(p.village)),\(p.household),\(p.phone),中国农业银行,\(p.kind),\(p.number),QR-\(i),\(p.shared)\n"
        }.joined()
        #expect(try a.importBeneficiaries(path: dirA.write("reg.csv", csv)).imported == people.count)
        for (i, p) in people.enumerated() {
            let kind: AccountKind = p.kind == "存折" ? .passbook : .card
            try b.register(BeneficiaryInput(residentID: try ResidentID(p.id), name: p.name, village: p.village, household: p.household,
                                            phone: p.phone, account: AccountInput(bank: "中国农业银行", number: try AccountNumber(p.number, kind: kind),
                                                                                  confirmation: "QR-\(i)", sharedReason: p.shared.isEmpty ? nil : p.shared)))
        }
        let tables = [
            ("SELECT id, resident_id, name, village, household, phone, version, head, created_at = updated_at FROM beneficiary ORDER BY id", 9),
            ("SELECT id, beneficiary_id, bank, kind, number, confirmation_ref, coalesce(shared_reason, '-'), replaced_at IS NULL FROM account ORDER BY id", 8),
            ("SELECT seq, kind, entity, base_version, by_operator, data FROM outbox ORDER BY seq", 6),
        ]
        for (sql, columns) in tables {
            let rows = { (node: TownshipNode) in try node.db.all(sql) { row in (0..<columns).map { row.text($0) } } }
            let (imported, single) = (try rows(a), try rows(b))
            #expect(imported.count == people.count + 1)
            #expect(imported == single, "\(sql)")
        }
        #expect(try a.db.all("SELECT id FROM beneficiary ORDER BY id") { $0.int64(0) } == Array(1...Int64(people.count + 1)))
        // Each value in its own column, and in the operation, as the file has it.
        for (i, p) in people.enumerated() {
            let row = try a.db.first("""
                SELECT b.name, b.village, b.household, b.phone, a.bank, a.kind, a.number, a.confirmation_ref, coalesce(a.shared_reason, ''), o.entity, o.data
                FROM beneficiary b JOIN account a ON a.beneficiary_id = b.id JOIN outbox o ON o.seq = b.id WHERE b.resident_id = ?
                """, p.id) { r in (0..<11).map { r.text($0) } }
            let kind = p.kind == "存折" ? "passbook" : "card"
            #expect(row.map { Array($0[0..<10]) } == [p.name, p.village, p.household, p.phone, "中国农业银行", kind, p.number, "QR-\(i)", p.shared,
                                                       "beneficiary/\(p.id)"])
            var account: [String: JSONValue] = ["bank": "中国农业银行", "kind": .string(kind), "number": .string(p.number), "confirmation": .string("QR-\(i)")]
            if !p.shared.isEmpty { account["sharedReason"] = .string(p.shared) }
            let data: JSONValue = ["account": .object(account), "household": .string(p.household), "name": .string(p.name), "phone": .string(p.phone),
                                   "residentId": .string(p.id), "township": "450223101", "village": .string(p.village)]
            #expect(row?[10] == data.canonical, "line \(i + 2)")
        }
    }

    /// The register's header with a 户主 column.
    static let headHeader = Fixture.header.replacingOccurrences(of: "\n", with: ",户主\n")

    /// `n` good register lines (up to 12,000), households of three, the first of each its head.
    static func householdLines(_ n: Int) -> [String] {
        (0..<n).map { i in
            let id = Fixture.id(String(format: "4502231970%02d%02d%03d", 1 + i / 500 % 12, 1 + i / 20 % 28, i % 1000))
            let household = String(format: "H%04d", i / 3)
            return "黄丽华,\(id),\(["大塘村", "石门村"][i % 2]),\(household),,中国农业银行,银行卡,\(Fixture.card(String(format: "6228480002%08d", i))),QR-\(i),,\(i % 3 == 0 ? "是" : "否")\n"
        }
    }

    @Test("a large import into a small register builds the indexes it left aside again, whole and unchanged; refused, it leaves them as they were")
    func indexesBuiltAgain() throws {
        let n = TownshipNode.deferIndexesFrom
        let lines = Self.householdLines(n)
        let header = Self.headHeader
        let indexes = "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"
        let listed = { (node: TownshipNode) in try node.db.all(indexes) { [$0.text(0), $0.text(1)] } }

        let dir = TempDir()
        let node = try Fixture.node(dir)
        let before = try listed(node)
        for name in TownshipNode.deferredIndexes + ["beneficiary_household_head"] { #expect(before.contains { $0[0] == name }, "\(name)") }
        #expect(try node.importBeneficiaries(path: dir.write("reg.csv", header + lines.joined())).imported == n)
        #expect(try listed(node) == before)
        #expect(try node.db.all("PRAGMA integrity_check") { $0.text(0) } == ["ok"])   // every row in every index
        #expect(try node.db.integer("SELECT count(*) FROM beneficiary INDEXED BY beneficiary_household_head WHERE head = 1 AND removed_at IS NULL AND household >= ''") == Int64((n + 2) / 3))

        // The same file with a repeated person at the end, into another new node: refused whole,
        // the indexes as before.
        let dirB = TempDir()
        let other = try Fixture.node(dirB)
        #expect(throws: YKTError.self) { try other.importBeneficiaries(path: dirB.write("reg.csv", header + lines.joined() + lines[1])) }
        #expect(try listed(other) == before)
        #expect(try other.db.integer("SELECT count(*) FROM beneficiary") == 0)
        #expect(try other.db.all("PRAGMA integrity_check") { $0.text(0) } == ["ok"])
    }

    @Test("a register read a chunk at a time while the chunk before is written: bad lines in the first and a later chunk all reported by their lines, nothing written; with --keep-good the rest written; a quote left open late in the file refuses it whole")
    func readInChunks() throws {
        // 6,000 lines: the first chunk (512), a whole one (4,096) and the rest.
        var lines = Self.householdLines(6_000)
        lines[100] = lines[100].replacingOccurrences(of: ",中国农业银行,", with: ",,")                 // line 102: no bank
        lines[5_000] = lines[5_000].replacingOccurrences(of: "QR-5000", with: "")                  // line 5,002: no confirmation
        let file = Self.headHeader + lines.joined()
        let dir = TempDir()
        let node = try Fixture.node(dir)
        let before = try Fixture.counts(node)
        let refused = #expect(throws: YKTError.self) { try node.importBeneficiaries(path: dir.write("reg.csv", file)) }
        #expect(refused?.details.compactMap(\.location?.line) == [102, 5_002])
        #expect(refused?.message.contains("共 6000 行，其中 2 行有错误") == true)
        #expect(try Fixture.counts(node) == before)
        let kept = try node.importBeneficiaries(path: dir.write("reg.csv", file),
                                                options: ImportOptions(keepGood: true, rejectsPath: dir.file("rejects.csv")))
        #expect(kept.rows == 6_000 && kept.imported == 5_998 && kept.rejected == 2)
        let rejects = try String(contentsOfFile: dir.file("rejects.csv"), encoding: .utf8)
        #expect(rejects.contains(",102,") && rejects.contains(",5002,"))
        #expect(try node.db.integer("SELECT count(*) FROM outbox") == 5_998)

        // A quote opened on line 5,502 and never closed: the whole file refused, at that line,
        // though earlier chunks were already written (the transaction undoes them).
        let dirB = TempDir()
        let other = try Fixture.node(dirB)
        let otherBefore = try Fixture.counts(other)
        var open = Self.householdLines(6_000)
        open[5_500] = open[5_500].replacingOccurrences(of: "黄丽华,", with: "\"黄丽华,")
        let syntax = #expect(throws: YKTError.self) { try other.importBeneficiaries(path: dirB.write("reg.csv", Self.headHeader + open.joined())) }
        #expect(syntax?.code == .csvSyntax && syntax?.location?.line == 5_502)
        #expect(try Fixture.counts(other) == otherBefore)
    }

    @Test("the records a file holds are estimated before it is read without its blank lines and rows of separators only (a spreadsheet's), with commas or tabs")
    func estimatedRecords() throws {
        let dir = TempDir()
        for separator in [",", "\t"] {
            let row = { (cells: [String]) in cells.joined(separator: separator) }
            let text = row(["姓名", "身份证号", "村"]) + "\r\n" + row(["韦秀英", Fixture.alice, "大塘村"]) + "\n\n"
                + row(["覃建国", Fixture.bob, "石门村"]) + "\r\n" + row(["", "", ""]) + "\n" + row(["", "", ""]) + "\r\n\r\n"
                + row(["黄丽华", Fixture.carol, "大塘村"])   // the last line without a line end
            let opened = try CSVFiles.open(path: dir.write("r.csv", text), encoding: .auto)
            #expect(opened.estimatedRecords == 3, "\(separator.debugDescription)")
        }
    }

    @Test("a register that is not there, or is a folder, is named as such; nothing is written")
    func unreadable() throws {
        let dir = TempDir()
        let node = try Fixture.node(dir)
        let missing = #expect(throws: YKTError.self) { try node.importBeneficiaries(path: dir.file("none.csv")) }
        #expect(missing?.code == .fileRead && missing?.message == "文件不存在")
        try FileManager.default.createDirectory(atPath: dir.file("folder.csv"), withIntermediateDirectories: false)
        let folder = #expect(throws: YKTError.self) { try node.importBeneficiaries(path: dir.file("folder.csv")) }
        #expect(folder?.code == .fileRead && folder?.message == "文件不能读取")
        #expect(try node.db.integer("SELECT count(*) FROM beneficiary") == 0)
    }

    @Test("a register given through a named pipe is read whole, from the one opening")
    func namedPipe() throws {
        let dir = TempDir()
        let node = try Fixture.node(dir)
        let lines = Self.householdLines(3_000)   // more than a pipe holds (64 KiB): the writer waits for the reader
        let text = Array((Self.headHeader + lines.joined()).utf8)
        let fifo = dir.file("reg.csv")
        #expect(mkfifo(fifo, 0o600) == 0)
        signal(SIGPIPE, SIG_IGN)   // a reader that closes early fails the writer's write, not the test process
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            guard fd >= 0 else { return }
            text.withUnsafeBytes { bytes in
                var done = 0
                while done < bytes.count {
                    let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
                    if n <= 0 { break }
                    done += n
                }
            }
            close(fd)
        }
        writer.start()
        // The import on a thread of its own: one that opened the pipe a second time would wait
        // for a writer for ever; it is then given one that writes nothing, and fails.
        nonisolated(unsafe) let importing = node
        nonisolated(unsafe) var outcome: Result<ImportResult, any Error>?
        let done = DispatchSemaphore(value: 0)
        Thread {
            outcome = Result { try importing.importBeneficiaries(path: fifo) }
            done.signal()
        }.start()
        if done.wait(timeout: .now() + 60) == .timedOut {
            Issue.record("the import still waits on the pipe after a minute")
            close(open(fifo, O_WRONLY | O_NONBLOCK))
            done.wait()
        }
        #expect(try outcome?.get().imported == 3_000)
    }

    @Test("a row the checks let through but a constraint refuses fails the whole import: nothing of it is written")
    func unforeseenConstraint() throws {
        let dir = TempDir()
        let node = try Fixture.node(dir)
        // An account row already naming the id the import's first person will get (planted
        // behind the node's back, foreign keys off): the current-account index refuses theirs.
        try node.db.execute("PRAGMA foreign_keys=OFF")
        try node.db.run("""
            INSERT INTO account(beneficiary_id, bank, kind, number, confirmation_ref, valid_from) VALUES (1, '农行', 'card', ?, 'X', '2026-01-01')
            """, Fixture.card("622848000000000009"))
        try node.db.execute("PRAGMA foreign_keys=ON")
        let before = try Fixture.counts(node)
        let error = #expect(throws: YKTError.self) { try node.importBeneficiaries(path: dir.write("reg.csv", Fixture.registerCSV)) }
        #expect(error?.code == .internalError)
        #expect(try Fixture.counts(node) == before)
        #expect(try node.db.integer("PRAGMA foreign_keys") == 1)
        // The account kinds' CHECK (version 21 writes it as equalities) still refuses any other.
        #expect(throws: DatabaseError.self) {
            try node.db.run("UPDATE account SET kind = 'debit' WHERE beneficiary_id = 1")
        }
        #expect(try node.db.integer("SELECT count(*) FROM account WHERE kind = 'social-security-card'") == 0)
        try node.db.run("UPDATE account SET kind = 'social-security-card' WHERE beneficiary_id = 1")
    }

    @Test("GB18030 and UTF-8 with BOM import the same register")
    func encodings() throws {
        let dirA = TempDir(), dirB = TempDir()
        let a = try Fixture.node(dirA), b = try Fixture.node(dirB)
        let gb = try TextDecoding.encodeGB18030(Array(Fixture.registerCSV.utf8))
        let ra = try a.importBeneficiaries(path: dirA.write("gb.csv", bytes: gb))
        let rb = try b.importBeneficiaries(path: dirB.write("bom.csv", bytes: [0xEF, 0xBB, 0xBF] + Array(Fixture.registerCSV.utf8)))
        #expect(ra.encoding == "GB18030")
        #expect(rb.encoding == "UTF-8 (BOM)")
        #expect(try a.beneficiaries().map(\.name) == b.beneficiaries().map(\.name))
        #expect(try a.beneficiaries().map(\.village).contains("大塘村"))
    }

    static let badRegister: String = Fixture.header
        + "韦秀英,\(Fixture.alice),大塘村,001,13800138000,中国农业银行,银行卡,\(Fixture.aliceCard),QR-1,\n"           // 2 good
        + "覃建国,\(String(Fixture.bob.dropLast()))\(Fixture.bob.last == "0" ? "1" : "0"),大塘村,002,,农行,,\(Fixture.bobCard),QR-2,\n" // 3 check digit
        + ",\(Fixture.carol),石门村,003,,农行,,\(Fixture.carolCard),QR-3,\n"                                         // 4 name missing
        + "黄丽华,\(Fixture.id("45022319900101111")),石门村,004,,农行,,\(Fixture.aliceCard),QR-4,\n"                 // 5 shared account
        + "韦秀英,\(Fixture.alice),大塘村,001,,农行,,\(Fixture.card("622848000000000009")),QR-5,\n"                  // 6 duplicate resident
        + "蓝天,\(Fixture.id("45022319900101222")),石门村,005,123,农行,,6228480000000000019,QR-6,\n"                 // 7 phone + Luhn
        + "莫凡,\(Fixture.id("45022319900101333")),石门村,006,,农行,存折,12345678901,,\n"                            // 8 confirmation missing
        + "潘安,\(Fixture.id("45022319900101444")),石门村,007,,农行,信用卡,\(Fixture.card("622848000000000010")),QR-8,\n" // 9 kind

    @Test("a bad register is refused whole, every bad line reported with line, column and reason")
    func allOrNothing() throws {
        let dir = TempDir()
        let node = try Fixture.node(dir)
        let before = try Fixture.counts(node)
        let error = #expect(throws: YKTError.self) { try node.importBeneficiaries(path: dir.write("bad.csv", Self.badRegister)) }
        #expect(error?.code == .importRejected)
        let found = Set((error?.details ?? []).map { "\($0.location?.line ?? 0):\($0.code.rawValue)" })
        #expect(found == ["3:YKT-ID-CHECKDIGIT", "4:YKT-FIELD-MISSING", "5:YKT-ACCOUNT-SHARED", "6:YKT-RESIDENT-DUPLICATE",
                          "7:YKT-PHONE", "7:YKT-ACCOUNT-LUHN", "8:YKT-FIELD-MISSING", "9:YKT-ACCOUNT-KIND"])
        #expect(error?.details.allSatisfy { $0.location?.file == "bad.csv" && $0.location?.field != nil } == true)
        // Nothing was written: no beneficiary, no account, no operation, no audit entry.
        #expect(try Fixture.counts(node) == before)
    }

    @Test("with keep-good, the good lines import and the bad ones go to a rejects file that can be corrected")
    func keepGood() throws {
        let dir = TempDir()
        let node = try Fixture.node(dir)
        let rejects = dir.file("rejects.csv")
        let r = try node.importBeneficiaries(path: dir.write("bad.csv", Self.badRegister),
                                             options: ImportOptions(keepGood: true, rejectsPath: rejects))
        #expect(r.imported == 1 && r.rejected == 7)
        #expect(try node.outbox().count == 1)
        let raw = [UInt8](try Data(contentsOf: URL(fileURLWithPath: rejects)))
        #expect(raw.starts(with: [0xEF, 0xBB, 0xBF]))
        let text = String(decoding: raw, as: UTF8.self)
        #expect(text.contains("姓名,身份证号"))
        #expect(text.contains("原行号,错误代码,错误说明"))
        let rows = try CSVReader(utf8: try TextDecoding.decode(Array(text.utf8), file: "r").utf8, file: "r").records()
        #expect(rows.count == 8)
        #expect(rows[1].fields[10] == "3" && rows[1].fields[11] == "YKT-ID-CHECKDIGIT")
    }

    @Test("a missing column is named before any line is read")
    func missingColumn() throws {
        let dir = TempDir()
        let node = try Fixture.node(dir)
        let error = #expect(throws: YKTError.self) {
            try node.importBeneficiaries(path: dir.write("h.csv", "姓名,身份证号,村\n韦秀英,\(Fixture.alice),大塘村\n"))
        }
        #expect(error?.code == .csvHeader)
        #expect(error?.message.contains("开户银行") == true)
        #expect(error?.location?.line == 1)
    }

    @Test("the same resident twice is refused; a shared account needs a reason")
    func singleAdd() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        let before = try Fixture.counts(node)
        let dup = #expect(throws: YKTError.self) {
            try node.register(BeneficiaryInput(residentID: try ResidentID(Fixture.alice), name: "韦秀英", village: "大塘村",
                                               account: AccountInput(bank: "农行", number: try AccountNumber(Fixture.card("622848000000000077"), kind: .card), confirmation: "QR")))
        }
        #expect(dup?.code == .residentDuplicate)
        let newID = try ResidentID(Fixture.id("45022320100101555"))
        let shared = AccountInput(bank: "中国农业银行", number: try AccountNumber(Fixture.aliceCard, kind: .card), confirmation: "QR-9")
        let refused = #expect(throws: YKTError.self) {
            try node.register(BeneficiaryInput(residentID: newID, name: "韦小宝", village: "大塘村", account: shared))
        }
        #expect(refused?.code == .accountShared)
        #expect(try Fixture.counts(node) == before)
        var withReason = shared
        withReason.sharedReason = "未成年，由祖母监护代领"
        let b = try node.register(BeneficiaryInput(residentID: newID, name: "韦小宝", village: "大塘村", account: withReason))
        #expect(b.account?.sharedReason == "未成年，由祖母监护代领")
    }

    @Test("an account change keeps the history, needs the confirmation, and queues an operation on the base version")
    func accountChange() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        let id = try ResidentID(Fixture.bob)
        let newCard = try AccountNumber(Fixture.card("621799000000000005"), kind: .card)
        #expect((#expect(throws: YKTError.self) {
            try node.changeAccount(id, to: AccountInput(bank: "邮储银行", number: newCard, confirmation: " "))
        })?.code == .accountConfirmation)
        #expect((#expect(throws: YKTError.self) {
            try node.changeAccount(id, to: AccountInput(bank: "中国农业银行", number: try AccountNumber(Fixture.bobCard, kind: .card), confirmation: "QR"))
        })?.code == .accountUnchanged)
        let b = try node.changeAccount(id, to: AccountInput(bank: "中国邮政储蓄银行", number: newCard, confirmation: "BG-2026-001"))
        #expect(b.account?.number == newCard.value)
        #expect(b.version == 2)
        let history = try node.accountHistory(id)
        #expect(history.count == 2)
        #expect(history[0].number == Fixture.bobCard && history[0].replacedAt != nil)
        #expect(history[1].replacedAt == nil && history[1].confirmation == "BG-2026-001")
        let op = try node.outbox().last!
        #expect(op.kind == "account.change" && op.baseVersion == 1 && op.entity == "beneficiary/\(Fixture.bob)")
        #expect(op.body.contains("\"previousNumber\":\"\(Fixture.bobCard)\""))
    }

    @Test("edits bump the version and queue only the changed fields")
    func edit() throws {
        let dir = TempDir()
        let node = try Fixture.registered(dir)
        let b = try node.edit(try ResidentID(Fixture.alice), BeneficiaryEdit(phone: "13900139000"))
        #expect(b.phone == "13900139000" && b.version == 2)
        let op = try node.outbox().last!
        #expect(op.kind == "beneficiary.update")
        #expect(op.body.contains("\"phone\":\"13900139000\"") && !op.body.contains("\"name\""))
        #expect(throws: YKTError.self) { try node.edit(try ResidentID(Fixture.alice), BeneficiaryEdit(phone: "12")) }
    }

    @Test("the node's database and directory are private")
    func permissions() throws {
        let dir = TempDir()
        let node = try Fixture.node(dir)
        let fm = FileManager.default
        #expect(try fm.attributesOfItem(atPath: node.directory + "/township.db")[.posixPermissions] as? Int == 0o600)
        #expect(try fm.attributesOfItem(atPath: node.directory)[.posixPermissions] as? Int == 0o700)
        #expect((#expect(throws: YKTError.self) { try TownshipNode.create(directory: node.directory, config: node.config) })?.code == .nodeExists)
    }

    @Test("a generated county with planted defects is caught line by line")
    func generatedDefects() throws {
        let dir = TempDir()
        var options = CountyGenerator.Options()
        options.townships = 1
        options.defects = [.checkDigit: 2, .sharedAccount: 1, .badCard: 1, .missingName: 1, .duplicate: 1, .badBirthDate: 1]
        options.gb18030 = true
        let files = try CountyGenerator(options: options).write(to: dir.file("data"))
        let node = try Fixture.node(dir)
        let error = #expect(throws: YKTError.self) {
            try node.importBeneficiaries(path: files.first { $0.hasSuffix("-register.csv") }!)
        }
        let codes = (error?.details ?? []).map(\.code)
        #expect(codes.filter { $0 == .idCheckDigit }.count == 2)
        #expect(codes.contains(.accountShared) && codes.contains(.accountLuhn) && codes.contains(.fieldMissing))
        #expect(codes.contains(.residentDuplicate) && codes.contains(.idBirthDate))
        #expect(Set((error?.details ?? []).compactMap { $0.location?.line }).count == 7)
    }

    /// A one-township register of about 10,000 lines: more than two of the import's chunks.
    static func largeRegister(_ dir: TempDir, defects: [CountyGenerator.Defect: Int] = [:]) throws -> String {
        var options = CountyGenerator.Options()
        options.townships = 1
        options.villagesPerTownship = 20
        options.peoplePerVillage = 500
        options.withApplications = false
        options.defects = defects
        let files = try CountyGenerator(options: options).write(to: dir.file("data"))
        return files.first { $0.hasSuffix("-register.csv") }!
    }

    @Test("a register of several chunks: bad lines anywhere refuse it whole; keep-good imports the rest")
    func largeRegisterChunks() throws {
        let dir = TempDir()
        let path = try Self.largeRegister(dir, defects: [.checkDigit: 3, .duplicate: 2, .sharedAccount: 2])
        let node = try Fixture.node(dir)
        let before = try Fixture.counts(node)
        let error = #expect(throws: YKTError.self) { try node.importBeneficiaries(path: path) }
        #expect(error?.code == .importRejected)
        let lines = Set((error?.details ?? []).compactMap { $0.location?.line })
        #expect(lines.count == 7)
        #expect(lines.contains { $0 > 4_096 }, "bad lines beyond the first chunk are found")
        #expect(try Fixture.counts(node) == before)
        #expect(node.db.journalMode == "wal")

        let rows = try CSVFiles.load(path: path, encoding: .auto).rows.count
        let r = try node.importBeneficiaries(path: path, options: ImportOptions(keepGood: true, rejectsPath: dir.file("rejects.csv")))
        #expect(r.rejected == 7 && r.imported == rows - 7)
        #expect(try node.db.integer("SELECT count(*) FROM beneficiary") == Int64(rows - 7))
        #expect(try node.db.integer("SELECT count(*) FROM outbox") == Int64(rows - 7))
        #expect(try node.db.integer("SELECT max(seq) - min(seq) + 1 FROM outbox") == Int64(rows - 7))
        #expect(node.db.journalMode == "wal")
    }

    @Test("a large import writes with a rollback journal when alone, and in WAL when another connection is open")
    func importJournal() throws {
        func walBytes(_ dir: TempDir) -> Int {
            ((try? FileManager.default.attributesOfItem(atPath: dir.file("node/township.db-wal"))[.size]) as? Int) ?? 0
        }
        let dirA = TempDir(), dirB = TempDir()
        let a = try Fixture.node(dirA), b = try Fixture.node(dirB)
        let ra = try a.importBeneficiaries(path: try Self.largeRegister(dirA))
        #expect(a.db.journalMode == "wal")
        // Alone: the pages went once into the database file, not through the WAL.
        #expect(walBytes(dirA) < 1 << 20)
        // Another connection (a scheduled sync, say) keeps WAL; the result is the same.
        let other = try Database(path: dirB.file("node/township.db"))
        _ = try other.integer("SELECT count(*) FROM program")
        let rb = try b.importBeneficiaries(path: try Self.largeRegister(dirB))
        #expect(walBytes(dirB) > 4 << 20)
        #expect(ra.imported == rb.imported && ra.imported > 9_000)
        #expect(try other.integer("SELECT count(*) FROM beneficiary") == Int64(rb.imported))
        let ops = "SELECT group_concat(data, '') FROM (SELECT data FROM outbox ORDER BY seq)"
        #expect(try a.db.first(ops) { $0.text(0) } == b.db.first(ops) { $0.text(0) })
    }
}
