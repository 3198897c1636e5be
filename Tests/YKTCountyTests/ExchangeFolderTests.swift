import Foundation
import Testing
@testable import YKTNode
import YKTCore
import YKTTestSupport
import YKTCrypto
import YKTDemo
@testable import YKTCounty
@testable import YKTTownship

/// Everything the county said about a receive run and everything it wrote: the reports as JSON,
/// every regular file under the bank's exchange folder, and the audit trail and refusal records.
private func everythingWritten(_ loop: Loop, _ reports: [CountyNode.ResultReport]) throws -> String {
    var text = String(decoding: try JSONEncoder().encode(reports), as: UTF8.self)
    text += reports.map { "\($0)" }.joined(separator: "\n")
    let root = loop.bankFolder
    for sub in try FileManager.default.subpathsOfDirectory(atPath: root) {
        var st = stat()
        guard lstat(root + "/" + sub, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
        text += "\n" + String(decoding: try Data(contentsOf: URL(fileURLWithPath: root + "/" + sub)), as: UTF8.self)
    }
    text += try loop.county.db.all("SELECT action || ' ' || object || ' ' || detail FROM audit") { $0.text(0) }.joined(separator: "\n")
    text += try loop.county.db.all("SELECT file || ' ' || kept_as FROM result_refusal") { $0.text(0) }.joined(separator: "\n")
    return text
}

/// The refusal reports (`*.report.txt`) in the bank's `refused/` folder, joined.
private func refusalReports(_ loop: Loop) throws -> String {
    let dir = loop.bankFolder + "/refused"
    return try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".report.txt") }.sorted()
        .map { try String(contentsOfFile: dir + "/" + $0, encoding: .utf8) }.joined(separator: "\n")
}

private func mode(_ path: String) -> mode_t {
    var st = stat()
    return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : 0o7777
}

/// Set once by the watchdog below, read by the test after the watchdog has finished.
/// @unchecked Sendable: the flag is only touched under the lock.
private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// Runs `body`. Should it not return within `seconds` (a reader blocked opening `fifo`), the
/// watchdog opens the FIFO for writing and closes it, so the reader sees its end and the test
/// fails instead of hanging. Returns what `body` returned and whether the watchdog had to act.
private func withFIFOWatchdog<T>(_ fifo: String, seconds: Int = 30, _ body: () throws -> T) rethrows -> (T, blocked: Bool) {
    let finished = DispatchSemaphore(value: 0), stopped = DispatchSemaphore(value: 0)
    let blocked = Flag()
    DispatchQueue.global().async {
        if finished.wait(timeout: .now() + .seconds(seconds)) == .timedOut {
            blocked.set()
            let fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            if fd >= 0 { close(fd) }
        }
        stopped.signal()
    }
    let value: T
    do {
        defer {
            finished.signal()
            stopped.wait()
        }
        value = try body()
    }
    return (value, blocked.isSet)
}

@Suite("Files from outside: the bank exchange folders trust nothing they did not write")
struct ExchangeFolderTests {
    @Test("a symlink in a bank's inbox pointing at the county's signing.key is not read; no byte of the key appears in any report or record")
    func symlinkToSigningKey() throws {
        let loop = try Loop()
        try loop.dispatched()
        let keyPath = loop.c.dir.sub("county/" + NodeKey.fileName)
        let seed = try #require(try String(contentsOfFile: keyPath, encoding: .utf8).split(separator: " ").last?
            .trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(seed.count == 64)
        let name = "YKT-RESULT-450223-ABC-000001.txt"
        try FileManager.default.createSymbolicLink(atPath: loop.bankFolder + "/inbox/" + name, withDestinationPath: keyPath)

        let reports = try loop.receive()
        let said = String(decoding: try JSONEncoder().encode(reports), as: UTF8.self)
        #expect(reports.count == 1 && reports[0].file == name)
        #expect(reports[0].skipped?.contains("YKT-FILE-UNSAFE") == true && reports[0].skipped?.contains("符号链接") == true, "\(said)")
        // Left where it is, unread: nothing moved, nothing recorded as a refusal.
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: loop.bankFolder + "/inbox/" + name) == keyPath)
        #expect(try FileManager.default.contentsOfDirectory(atPath: loop.bankFolder + "/refused").isEmpty)
        let all = try everythingWritten(loop, reports)
        #expect(!all.contains("ed25519-seed"))
        // No 6 hex digits of the seed in a row anywhere people read (reports, report files), no
        // 12 anywhere at all (the audit trail holds other hashes, where 6 digits can match by chance).
        let human = said + (try refusalReports(loop))
        let chars = Array(seed)
        for i in 0...(chars.count - 6) {
            #expect(!human.contains(String(chars[i..<i + 6])), "key material at \(i)")
            if i + 12 <= chars.count { #expect(!all.contains(String(chars[i..<i + 12])), "key material at \(i)") }
        }
        #expect(try loop.county.payments(status: "dispatched").count == 3)

        // Had the link appeared between the listing and the read, the read refuses it itself.
        let e = try #require(#expect(throws: YKTError.self) { try ExchangeFile.read(path: loop.bankFolder + "/inbox/" + name) })
        #expect(e.code == .fileUnsafe && !e.description.contains(seed.prefix(6)))
        // So does a hard link to the key (the same file under a second name).
        let hard = loop.bankFolder + "/inbox/YKT-RESULT-450223-ABC-000002.txt"
        #expect(link(keyPath, hard) == 0)
        #expect((#expect(throws: YKTError.self) { try ExchangeFile.read(path: hard) })?.code == .fileUnsafe)
        let again = try loop.receive()
        #expect(again.map(\.file) == [name, "YKT-RESULT-450223-ABC-000002.txt"] && again.allSatisfy { $0.skipped?.contains("链接") == true })
    }

    @Test("a FIFO or a directory named like a result file is skipped by name without hanging; the good file beside them is applied")
    func fifoAndDirectory() throws {
        let loop = try Loop()
        let batch = try loop.dispatched()
        let fifo = loop.bankFolder + "/inbox/YKT-RESULT-450223-ABC-000001.txt"
        #expect(mkfifo(fifo, 0o600) == 0)
        try FileManager.default.createDirectory(atPath: loop.bankFolder + "/inbox/YKT-RESULT-450223-ABC-000002.txt",
                                                withIntermediateDirectories: false)
        try loop.answer(batch: batch)
        let (reports, blocked) = try withFIFOWatchdog(fifo) { try loop.receive() }
        #expect(!blocked, "the county blocked opening a FIFO in the inbox")
        let skipped = reports.filter { $0.skipped != nil }
        #expect(skipped.map(\.file) == ["YKT-RESULT-450223-ABC-000001.txt", "YKT-RESULT-450223-ABC-000002.txt"])
        #expect(skipped[0].skipped?.contains("命名管道") == true && skipped[1].skipped?.contains("目录") == true)
        #expect(reports.contains { $0.paid == 3 })
        #expect(try loop.county.payments(status: "paid").count == 3)
        // Read directly, a FIFO is refused at once, not waited on.
        let (direct, blockedAgain) = withFIFOWatchdog(fifo) { Result { () throws(YKTError) in try ExchangeFile.read(path: fifo) } }
        #expect(!blockedAgain)
        guard case .failure(let e) = direct else { Issue.record("a FIFO was read"); return }
        #expect(e.code == .fileUnsafe && e.message.contains("命名管道"))
    }

    @Test("a result file above the size cap (256 MiB) is refused unread, kept in refused/ with a report naming the cap")
    func oversizedResult() throws {
        let loop = try Loop()
        try loop.dispatched()
        let name = "YKT-RESULT-450223-ABC-000001.txt"
        let path = loop.bankFolder + "/inbox/" + name
        // Sparse: 257 MiB long, next to nothing on disk.
        #expect(FileManager.default.createFile(atPath: path, contents: Data("YKT-RESULT/1,batch=1\n".utf8)))
        #expect(truncate(path, off_t(257) << 20) == 0)
        let report = try #require(try loop.receive().first)
        #expect(report.file == name)
        #expect(report.refusal?.contains("YKT-FILE-SIZE") == true, "\(report.refusal ?? "applied")")
        #expect(FileManager.default.fileExists(atPath: loop.bankFolder + "/refused/" + name))
        #expect(try refusalReports(loop).contains("268435456"))
        #expect(try loop.county.payments(status: "dispatched").count == 3)
        #expect(try loop.county.db.first("SELECT sha256 FROM result_refusal") { $0.text(0) } == "")
    }

    @Test("the size cap is the county's to set; a bank statement goes through the same door")
    func sizeCap() throws {
        let dir = Dir()
        let path = dir.sub("r.txt")
        try Data(repeating: 0x41, count: 1_000).write(to: URL(fileURLWithPath: path))
        #expect(try ExchangeFile.read(path: path, maximumBytes: 1_000).count == 1_000)
        let e = try #require(#expect(throws: YKTError.self) { try ExchangeFile.read(path: path, maximumBytes: 999) })
        #expect(e.code == .fileTooLarge && e.message.contains("999") && e.location?.file == path)
        #expect((#expect(throws: YKTError.self) { try ExchangeFile.read(path: dir.sub("missing.txt")) })?.code == .fileRead)

        let loop = try Loop()
        try loop.resulted()
        loop.county.exchangeFileMaximumBytes = 100
        let statement = loop.c.dir.sub("statement.txt")
        try FileOutput.writeAtomically(bytes: BankFile.write(BankFile.Statement(bank: "ABC", from: loop.d("2026-11-01"), to: loop.d("2026-11-30"),
                                                                                lines: [])), to: statement)
        try FileManager.default.createSymbolicLink(atPath: statement + ".link", withDestinationPath: statement)
        #expect((#expect(throws: YKTError.self) {
            try loop.county.reconcile(statementPath: statement + ".link", from: loop.d("2026-11-01"), to: loop.d("2026-11-30"))
        })?.code == .fileUnsafe)
        #expect((#expect(throws: YKTError.self) {
            try loop.county.reconcile(statementPath: statement, from: loop.d("2026-11-01"), to: loop.d("2026-11-30"))
        })?.code == .fileTooLarge)
    }

    @Test("a refusal report quotes at most the offending field, cut short, never the rest of the line or a header it does not know")
    func reportsQuoteOnlyTheField() throws {
        let loop = try Loop()
        let batch = try loop.dispatched()
        let longID = String(repeating: "9", count: 3_000)
        try loop.answer(batch: batch) { r in
            r.lines[0].lineID = longID
            r.lines[0].reasonText = "同一行别的字段ZZZ"
        }
        var report = try #require(try loop.receive().first)
        #expect(report.refusal?.contains("YKT-BANK-LINE") == true)
        var text = try refusalReports(loop) + (report.refusal ?? "")
        #expect(!text.contains(String(repeating: "9", count: 41)) && !text.contains("ZZZ"))

        // A field the reader refuses (a status of 1,000 characters) is cut short too.
        try loop.answer(batch: batch) { r in
            r.lines[1].reasonText = "同一行别的字段ZZZ"
        }
        let inbox = loop.bankFolder + "/inbox/"
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: inbox).first)
        var lines = try String(contentsOfFile: inbox + file, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[2] = lines[2].replacingOccurrences(of: ",paid,", with: "," + String(repeating: "p", count: 1_000) + ",")
        let body = lines.dropFirst().joined(separator: "\n") + "\n"
        lines[0] = lines[0].replacingOccurrences(of: #"body_sha256=[0-9a-f]+"#, with: "body_sha256=" + Hex.encode(SHA256.hash(Array(body.utf8))),
                                                 options: .regularExpression)
        try (lines[0] + "\n" + body).write(toFile: inbox + file, atomically: false, encoding: .utf8)
        report = try #require(try loop.receive().first)
        #expect(report.refusal?.contains("YKT-BANK-FILE") == true)
        text = try refusalReports(loop) + (report.refusal ?? "")
        #expect(text.contains("status") && !text.contains(String(repeating: "p", count: 41)) && !text.contains("ZZZ"))

        // A first line that is no control header of ours is not quoted at all.
        try "PRIVATE KEY abcdef0123456789\n".write(toFile: inbox + "YKT-RESULT-x.txt", atomically: false, encoding: .utf8)
        report = try #require(try loop.receive().first)
        #expect(report.refusal?.contains("YKT-BANK-FILE") == true)
        #expect(!(try refusalReports(loop) + (report.refusal ?? "")).contains("abcdef"))
    }

    @Test("exchange folders are made 0750 or tighter (the county's and the simulator's); an existing folder's mode is left alone")
    func folderModes() throws {
        let loop = try Loop()
        for sub in ["", "/outbox", "/inbox", "/processed", "/refused"] {
            #expect(mode(loop.bankFolder + sub) & 0o027 == 0, "\(sub) is \(String(mode(loop.bankFolder + sub), radix: 8))")
        }
        try loop.dispatched()
        // The simulator, on a folder of its own it has to make (outbox copied in by hand).
        let sim = loop.c.dir.sub("sim-ABC")
        try FileManager.default.createDirectory(atPath: sim + "/outbox", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: loop.bankFolder + "/outbox").first)
        try FileManager.default.copyItem(atPath: loop.bankFolder + "/outbox/" + file, toPath: sim + "/outbox/" + file)
        #expect(try BankSimulator(folder: sim, bank: "ABC").run(.init(payDate: loop.d("2026-11-17"))).count == 1)
        for sub in ["/inbox", "/bank-done"] {
            #expect(mode(sim + sub) & 0o027 == 0, "\(sub) is \(String(mode(sim + sub), radix: 8))")
        }
        // A folder the administrator opened to the bank's group (0770) stays as it was.
        let shared = loop.c.dir.sub("bank-RCC")
        try FileManager.default.createDirectory(atPath: shared + "/inbox", withIntermediateDirectories: true)
        #expect(chmod(shared + "/inbox", 0o770) == 0)
        try loop.county.actAs(TestOperators.administrator)
        try loop.county.addBank(code: "RCC", name: "农信社", serves: [], folder: shared, agreement: .init(number: "LZCZ-DF-2025-01", start: try CivilDate(parsing: "2025-01-01"), end: try CivilDate(parsing: "2027-12-31"), fees: "免费"))
        #expect(mode(shared + "/inbox") == 0o770)
        #expect(mode(shared + "/outbox") & 0o027 == 0)
    }

    @Test("the simulator skips what is not a regular file in its outbox, by name")
    func simulatorSkips() throws {
        let loop = try Loop()
        try loop.dispatched()
        let secret = loop.c.dir.sub("county/" + NodeKey.fileName)
        try FileManager.default.createSymbolicLink(atPath: loop.bankFolder + "/outbox/YKT-PAY-450223-ABC-999999.txt", withDestinationPath: secret)
        let handled = try BankSimulator(folder: loop.bankFolder, bank: "ABC").run(.init(payDate: loop.d("2026-11-17")))
        #expect(handled.map(\.instruction) == ["YKT-PAY-450223-ABC-999999.txt", "YKT-PAY-450223-ABC-000001.txt"])
        #expect(handled[0].skipped?.contains("符号链接") == true && handled[1].skipped == nil && handled[1].lines == 3)
        #expect(try loop.receive().first?.paid == 3)
    }
}

@Suite("Writing files beside hostile ones: exclusive, unpredictable temporary files")
struct FileOutputTests {
    @Test("a symlink planted at the old predictable temporary name (path.tmp-<pid>) is not followed; a link at the target is replaced, not followed")
    func plantedLinks() throws {
        let dir = Dir()
        let secret = dir.sub("secret.txt")
        try "不要动我\n".write(toFile: secret, atomically: false, encoding: .utf8)
        #expect(chmod(secret, 0o600) == 0)
        try FileManager.default.createDirectory(atPath: dir.sub("outbox"), withIntermediateDirectories: false)
        let target = dir.sub("outbox/YKT-PAY-450223-ABC-000001.txt")
        try FileManager.default.createSymbolicLink(atPath: target + ".tmp-\(getpid())", withDestinationPath: secret)
        try FileOutput.writeAtomically(bytes: Array("payload\n".utf8), to: target, mode: 0o640)
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "不要动我\n")
        #expect(mode(secret) == 0o600)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "payload\n" && mode(target) == 0o640)

        // A link at the target itself: rename replaces the link, the file it named is untouched.
        let other = dir.sub("outbox/YKT-PAY-450223-ABC-000002.txt")
        try FileManager.default.createSymbolicLink(atPath: other, withDestinationPath: secret)
        try FileOutput.writeAtomically(bytes: Array("payload\n".utf8), to: other, mode: 0o640)
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "不要动我\n")
        var st = stat()
        #expect(lstat(other, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && st.st_mode & 0o7777 == 0o640)
        // Temporary names are not to be guessed, and one already there is refused, never followed.
        let names = (0..<4).map { _ in FileOutput.temporaryPath(beside: target) }
        #expect(Set(names).count == 4 && names.allSatisfy { ($0 as NSString).lastPathComponent.hasPrefix(".YKT-PAY-450223-ABC-000001.txt.tmp-") })
        let planted = target + ".tmp-\(getpid())"
        #expect((#expect(throws: YKTError.self) { _ = try FileOutput.createExclusive(planted, mode: 0o640) })?.code == .fileWrite)
        #expect((#expect(throws: YKTError.self) { _ = try FileOutput.createExclusive(target, mode: 0o640) })?.code == .fileWrite)
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "不要动我\n")
        // Nothing left behind but the planted link.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.sub("outbox")).sorted()
                == ["YKT-PAY-450223-ABC-000001.txt", "YKT-PAY-450223-ABC-000001.txt.tmp-\(getpid())", "YKT-PAY-450223-ABC-000002.txt"])
    }
}
