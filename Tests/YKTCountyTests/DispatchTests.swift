import Foundation
import Testing
import YKTNode
import YKTCore
import YKTTestSupport
@testable import YKTDemo
import YKTCrypto
@testable import YKTCounty
import YKTTownship

/// Exactly-once dispatch (issue 14): a batch is dispatched in the one transaction that fixes
/// its file, the file appears only after that commit, an interrupted dispatch is completed with
/// the same bytes under the same name, and the bank pays a file once and checks the holder.
@Suite("Dispatch exactly once, and what the bank checks")
struct DispatchTests {
    /// Every entry of the bank's outbox, hidden (staged) files included.
    func outbox(_ loop: Loop) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: loop.bankFolder + "/outbox").sorted()
    }

    func approved(_ loop: Loop) throws -> Int64 {
        try loop.by("审核员").review(1, approve: true, reason: "")
        return try loop.by("审定员").approve([1]).batches[0]
    }

    /// `ykt batch dispatch` on the loop's county as a child process, killed by itself at `crashAt`.
    func dispatchProcess(_ loop: Loop, date: String, crashAt: String?) throws -> Process {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("ykt")
        p.arguments = ["batch", "dispatch", "--date", date, "--node", loop.county.directory]
        var env = ProcessInfo.processInfo.environment
        env["YKT_SESSION"] = try loop.county.sessionFile("payer", at: loop.c.dir.sub("payer.session"))
        env["YKT_CRASH_AT"] = crashAt
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p
    }

    @Test("a dispatch that cannot work out its deadlines (YKT-CAL-NODATA) leaves no file and the batch unsent")
    func failedDispatchLeavesNothing() throws {
        let loop = try Loop()
        let batch = try approved(loop)
        // Dispatched on 2026-12-29 the bank's pay deadline falls in 2027, a year with no calendar data.
        let e = try #require(#expect(throws: YKTError.self) { try loop.county.dispatch(on: loop.d("2026-12-29")) })
        #expect(e.code == .calendarNoData)
        #expect(try outbox(loop).isEmpty)
        let b = try #require(try loop.county.batches().first { $0.id == batch })
        #expect(b.status == "created" && b.file == nil && b.fileSeq == nil && b.sha256 == nil)
        #expect(try loop.county.db.integer("SELECT count(*) FROM audit WHERE action = 'batch.dispatch'") == 0)
        // Once the date can be answered, the batch goes, once, as file 1 of its bank.
        let sent = try loop.county.dispatch(on: loop.d("2026-11-16"))
        #expect(sent.map(\.id) == [batch] && sent[0].fileSeq == 1 && sent[0].filePlaced)
        #expect(try outbox(loop) == ["YKT-PAY-450223-ABC-000001.txt"])
        #expect(try loop.county.dispatch(on: loop.d("2026-11-16")).isEmpty)
        #expect(try outbox(loop) == ["YKT-PAY-450223-ABC-000001.txt"])
    }

    @Test("a dispatch killed after its commit, before the rename, is completed by the next one: same name, same bytes",
          arguments: ["dispatch.committed", "dispatch.placed"])
    func killedAfterCommit(point: String) throws {
        let loop = try Loop()
        let batch = try approved(loop)
        let p = try dispatchProcess(loop, date: "2026-11-16", crashAt: point)
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL)
        let name = "YKT-PAY-450223-ABC-000001.txt"
        let b = try #require(try loop.county.batches().first { $0.id == batch })
        #expect(b.status == "dispatched" && b.file == name && b.fileSeq == 1 && !b.filePlaced)
        let left = try outbox(loop)
        var staged: [UInt8]?
        if point == "dispatch.committed" {
            // Only the hidden staged file: the bank sees nothing yet.
            #expect(left.count == 1 && left[0].hasPrefix("." + name + ".tmp-"))
            staged = [UInt8](FileManager.default.contents(atPath: loop.bankFolder + "/outbox/" + left[0])!)
        } else {
            #expect(left == [name])
            staged = [UInt8](FileManager.default.contents(atPath: loop.bankFolder + "/outbox/" + name)!)
        }
        #expect(Hex.encode(SHA256.hash(staged!)) == b.sha256)

        // The next dispatch (another day, another process) completes it and sends nothing new.
        let report = try loop.county.dispatchReport(on: loop.d("2026-11-18"))
        #expect(report.completed.map(\.id) == [batch] && report.dispatched.isEmpty)
        #expect(try outbox(loop) == [name])
        let bytes = [UInt8](FileManager.default.contents(atPath: loop.bankFolder + "/outbox/" + name)!)
        #expect(bytes == staged)
        let after = try #require(try loop.county.batches().first { $0.id == batch })
        #expect(after.filePlaced && after.dispatchedOn == "2026-11-16" && after.fileSeq == 1 && after.sha256 == b.sha256)
        #expect(try loop.county.dispatchReport(on: loop.d("2026-11-18")).completed.isEmpty)
        #expect(try loop.county.db.integer("SELECT count(*) FROM audit WHERE action = 'batch.dispatch.complete'") == 1)
        #expect(try AuditLog.verify(db: loop.county.db).ok)
    }

    @Test("with the staged file gone, the completed file is made again from the database, byte for byte")
    func completedFromDatabase() throws {
        let loop = try Loop()
        _ = try approved(loop)
        _ = try dispatchProcess(loop, date: "2026-11-16", crashAt: "dispatch.committed")
        let staged = try #require(try outbox(loop).first)
        let bytes = [UInt8](FileManager.default.contents(atPath: loop.bankFolder + "/outbox/" + staged)!)
        try FileManager.default.removeItem(atPath: loop.bankFolder + "/outbox/" + staged)
        try loop.county.dispatch(on: loop.d("2026-11-17"))
        #expect([UInt8](FileManager.default.contents(atPath: loop.bankFolder + "/outbox/YKT-PAY-450223-ABC-000001.txt")!) == bytes)
        // A batch whose payments were changed behind the county's back cannot be rewritten: refused, not sent different.
        let l2 = try Loop()
        _ = try approved(l2)
        _ = try dispatchProcess(l2, date: "2026-11-16", crashAt: "dispatch.committed")
        for f in try outbox(l2) { try FileManager.default.removeItem(atPath: l2.bankFolder + "/outbox/" + f) }
        try l2.county.db.run("UPDATE payment SET name = '别人' WHERE id = 1")
        let e = try #require(#expect(throws: YKTError.self) { try l2.county.dispatch(on: l2.d("2026-11-17")) })
        #expect(e.code == .batchState && e.message.contains("SHA-256"))
        #expect(try outbox(l2).isEmpty)
    }

    @Test("a dispatch killed before its commit leaves only a hidden staged file, which the next dispatch discards")
    func killedBeforeCommit() throws {
        let loop = try Loop()
        let batch = try approved(loop)
        let p = try dispatchProcess(loop, date: "2026-11-16", crashAt: "dispatch.staged")
        #expect(p.terminationReason == .uncaughtSignal)
        #expect(try loop.county.batches().first { $0.id == batch }?.status == "created")
        #expect(try outbox(loop).allSatisfy { $0.hasPrefix(".") })
        let sent = try loop.county.dispatch(on: loop.d("2026-11-16"))
        #expect(sent.map(\.fileSeq) == [1])
        #expect(try outbox(loop) == ["YKT-PAY-450223-ABC-000001.txt"])
    }

    @Test("a file the bank has already paid is refused (same batch, sequence number or content), nothing paid twice; sequence numbers increase per bank")
    func repeatedFileRefused() throws {
        let loop = try Loop()
        let batch = try approved(loop)
        try loop.county.dispatch(on: loop.d("2026-11-16"))
        let sim = BankSimulator(folder: loop.bankFolder, bank: "ABC")
        let first = try sim.run(.init(payDate: loop.d("2026-11-17")))
        #expect(first.count == 1 && first[0].refused == nil && first[0].lines == 3)
        let name = "YKT-PAY-450223-ABC-000001.txt"
        // The same file delivered again (a dispatch completed after the bank had taken it, a
        // transfer job run twice): refused whole, no result, nothing in the ledger.
        try FileManager.default.copyItem(atPath: loop.bankFolder + "/bank-done/" + name, toPath: loop.bankFolder + "/outbox/" + name)
        let inboxBefore = try FileManager.default.contentsOfDirectory(atPath: loop.bankFolder + "/inbox")
        let again = try sim.run(.init(payDate: loop.d("2026-11-17")))
        #expect(again.count == 1 && again[0].refused?.contains("YKT-BANK-REPEAT") == true && again[0].result.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: loop.bankFolder + "/inbox") == inboxBefore)
        #expect(FileManager.default.fileExists(atPath: loop.bankFolder + "/bank-done/" + name + ".repeat"))
        #expect(try sim.ledger().split(separator: "\n").count == 3)
        // The same batch under another sequence number (a forged or regenerated file) is refused too.
        var forged = try BankFile.readInstruction([UInt8](FileManager.default.contents(atPath: loop.bankFolder + "/bank-done/" + name)!), file: name)
        forged.seq = 9
        try FileOutput.writeAtomically(bytes: BankFile.write(forged), to: loop.bankFolder + "/outbox/YKT-PAY-450223-ABC-000009.txt")
        #expect(try sim.run(.init(payDate: loop.d("2026-11-17")))[0].refused?.contains("批次 \(batch) 已由") == true)
        #expect(try sim.ledger().split(separator: "\n").count == 3)
        #expect(try sim.paidFiles().map(\.seq) == [1])
        // The county takes the one result; every line paid once.
        let report = try #require(try loop.receive().first)
        #expect(report.paid == 3 && report.refusal == nil)
        #expect(try loop.county.loopSummary().paidFen == 90000)

        // The next file for this bank is number 2.
        _ = try loop.c.pull("450223101")
        let failing = try loop.county.payments(batch: batch)[0]
        try loop.county.db.run("UPDATE payment SET status = 'failed', reason_code = 'ACCOUNT_CLOSED' WHERE id = ?", failing.id)
        try loop.county.db.run("""
            INSERT INTO correction(payment_id, node_id, op_seq, bank, account_kind, account_number, confirmation, note, received_at)
            VALUES (?, '450223101', 99, '农行', 'card', ?, 'QR', '', '2026-11-18 10:00:00')
            """, failing.id, AccountNumber.completingLuhn("622848000000000077"))
        let reissue = try loop.by("支付经办员").reissue()
        let sent = try loop.county.dispatch(on: loop.d("2026-11-19"))
        #expect(sent.map(\.id) == reissue && sent.map(\.fileSeq) == [2])
    }

    @Test("the bank fails a line whose resident ID is not the account holder's; the county records it and the line is re-issued")
    func holderMismatch() throws {
        let loop = try Loop()
        let batch = try approved(loop)
        try loop.county.dispatch(on: loop.d("2026-11-16"))
        let payments = try loop.county.payments(batch: batch)
        // The bank's card registry, from a register; the second card planted with another holder.
        let register = loop.c.dir.sub("register.csv")
        var csv = "姓名,身份证号,账号\n"
        for p in payments { csv += "\(p.name),\(p.residentID),\(p.accountNumber)\n" }
        try csv.write(toFile: register, atomically: true, encoding: .utf8)
        let sim = BankSimulator(folder: loop.bankFolder, bank: "ABC")
        let filled = try sim.registerCards(registers: [register], mismatch: [payments[1].accountNumber])
        #expect(filled.cards == 3 && filled.planted == 1)
        #expect((#expect(throws: YKTError.self) { try sim.registerCards(registers: [register], mismatch: ["6228480000000000999"]) })?
            .message.contains("6228480000000000999") == false)   // the account is named masked
        let headless = loop.c.dir.sub("no-columns.csv")
        try "姓名,证件,卡\n韦秀英,1,2\n".write(toFile: headless, atomically: true, encoding: .utf8)
        #expect((#expect(throws: YKTError.self) { try sim.registerCards(registers: [headless]) })?.code == .csvHeader)
        #expect(try sim.cardRegistry().count == 3)   // a refused register changes nothing

        let handled = try sim.run(.init(payDate: loop.d("2026-11-17")))
        #expect(handled[0].failed == 1 && handled[0].holderMismatches == 1)
        let report = try #require(try loop.receive().first)
        #expect(report.refusal == nil && report.paid == 2 && report.failed == 1)
        let failed = try #require(try loop.county.payments(status: "failed").first)
        #expect(failed.id == payments[1].id && failed.reasonCode == "HOLDER_MISMATCH" && failed.reason == "持卡人身份证号与账户登记不符")
        #expect(failed.returnedFen == failed.amountFen)
        // The township sees the reason, corrects the account, and the re-issue is paid.
        _ = try loop.c.pull("450223101")
        let toFix = try loop.town.paymentsToCorrect()
        #expect(toFix.map(\.payment) == [failed.id] && toFix[0].reasonCode == "HOLDER_MISMATCH")
        let card = AccountNumber.completingLuhn("622848000000000088")
        try loop.town.correctPayment(failed.id, newAccount: AccountInput(bank: "农行", number: try AccountNumber(card, kind: .card),
                                                                          confirmation: "QR-HOLDER"), note: "户主核实后换卡")
        _ = try loop.c.push("450223101")
        let reissue = try loop.by("支付经办员").reissue()
        try loop.county.dispatch(on: loop.d("2026-11-18"))
        let second = try sim.run(.init(payDate: loop.d("2026-11-19")))
        #expect(second.map(\.failed) == [0])
        #expect(try loop.receive("2026-11-19").first?.paid == 1)
        let s = try loop.county.loopSummary()
        #expect(s.paidLines == 3 && s.outstanding == 0 && s.reissued == 1)
        #expect(try loop.county.payments(batch: reissue[0]).first?.reissueOf == failed.id)
    }
}
