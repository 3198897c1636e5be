import Foundation
import YKTCore
import YKTCrypto
import YKTNode
import YKTStore

/// Sending payment batches to the agency banks, exactly once (issue 14; `docs/bank-files.md`,
/// `docs/reliability.md`).
///
/// A batch becomes dispatched in the one transaction that fixes its file: name, sequence number
/// for its bank, SHA-256, dispatch date and deadlines. The file's bytes are staged under a hidden
/// temporary name (flushed to disk) inside that transaction and renamed into the outbox only
/// after the commit, so the bank never sees a file for a batch the county has not recorded as
/// sent; a command that fails before its commit leaves no file. A dispatch killed after its
/// commit is completed by the next `batch dispatch`, from the staged bytes, or else by writing
/// the file again: the file is a pure function of what the transaction committed (the batch,
/// its payment rows, its sequence number; no clock is read), and its SHA-256 is checked
/// against the recorded one before it is put in place.
extension CountyNode {
    /// What one `batch dispatch` did: files of earlier, interrupted dispatches put in place,
    /// then the batches it sent.
    public struct DispatchReport: Sendable, Codable {
        public var completed: [Batch] = []
        public var dispatched: [Batch] = []
    }

    /// The instruction file of a batch with sequence number `seq`: byte for byte the same
    /// however often it is made from the same database.
    func instruction(for batch: Batch, seq: Int64) throws -> BankFile.Instruction {
        let names = Dictionary(try db.all("SELECT code, name FROM program") { ($0.text(0), $0.text(1)) }, uniquingKeysWith: { a, _ in a })
        var periods: [String: String] = [:]
        let lines = try db.all("""
            SELECT id, name, resident_id, account_kind, account_number, amount_fen, program, period, reissue_of
            FROM payment WHERE batch_id = ? ORDER BY id
            """, batch.id) { r in
            let program = names[r.text(6)] ?? r.text(6)
            let raw = r.text(7)
            let period = periods[raw] ?? {
                let p = (try? Period(parsing: raw))?.chinese ?? raw
                periods[raw] = p
                return p
            }()
            return BankFile.InstructionLine(lineID: String(r.int64(0)), name: r.text(1), residentID: r.text(2), accountKind: r.text(3),
                                            accountNumber: r.text(4), amountFen: r.int64(5), program: program,
                                            memo: "\(period)\(program)" + (r.isNull(8) ? "" : "（补发）"))
        }
        return BankFile.Instruction(batch: batch.id, seq: seq, bank: batch.bank, county: config.nodeID, lines: lines)
    }

    public static func instructionFileName(county: String, bank: String, batch: Int64) -> String {
        "YKT-PAY-\(county)-\(bank)-\(String(format: "%06lld", batch)).txt"
    }

    /// Dispatches every batch not yet sent and returns the batches whose files it put in place
    /// (those of interrupted earlier dispatches first).
    @discardableResult
    public func dispatch(on date: CivilDate) throws -> [Batch] {
        let report = try dispatchReport(on: date)
        return report.completed + report.dispatched
    }

    /// First completes every dispatch interrupted after its commit (its file put in place, same
    /// name, same bytes), then dispatches every batch not yet sent, each in its own transaction:
    /// the bank pays within 3 working days and reports within 2 working days after that
    /// (`docs/conventions.md`). The deadlines are worked out before any batch is touched, so a
    /// date the calendar cannot answer (`YKT-CAL-NODATA`) sends nothing and writes no file; so
    /// is every bank's agency agreement, so a batch for a bank without one in force on `date`
    /// (`YKT-BANK-AGREEMENT`) sends nothing either.
    public func dispatchReport(on date: CivilDate) throws -> DispatchReport {
        var report = DispatchReport()
        for batch in try batches() where batch.status != "created" && !batch.filePlaced {
            try completeDispatch(of: batch)
            report.completed.append(try batches().first { $0.id == batch.id }!)
        }
        let waiting = try batches().filter { $0.status == "created" }
        guard !waiting.isEmpty else { return report }
        // No payment goes to a bank without an agency agreement in force on the dispatch day
        // (seed 003: 代发协议); refused before anything is sent, naming each such bank.
        try requireAgreements(for: waiting, on: date)
        let payDue = try calendar.workday(number: 4, onOrAfter: date)    // dispatch day + 3 working days
        let reportDue = try calendar.workday(number: 3, onOrAfter: payDue)
        for batch in waiting {
            let bank = try agencyBank(batch.bank)
            let name = Self.instructionFileName(county: config.nodeID, bank: bank.code, batch: batch.id)
            let path = (bank.outbox as NSString).appendingPathComponent(name)
            var staged: String?
            var recorded = ""
            do {
                try perform("batch.dispatch", object: "batch#\(batch.id)", describing: { () throws -> ((), detail: String) in
                    // Read again inside the write transaction: another dispatch may have sent it.
                    guard try db.first("SELECT status FROM batch WHERE id = ?", batch.id, map: { $0.text(0) }) == "created" else {
                        throw YKTError(.batchState, "批次 \(batch.id) 已由同时运行的另一次发送处理", hint: "用 ykt batch list 查看；再次执行 ykt batch dispatch 无妨")
                    }
                    // Staged files of attempts that never committed (killed before their commit).
                    for old in StagedFile.staged(for: path) { StagedFile.discard(old) }
                    let seq = (try db.integer("SELECT max(file_seq) FROM batch WHERE bank = ?", bank.code) ?? 0) + 1
                    let bytes = BankFile.write(try instruction(for: batch, seq: seq))
                    let sha = Hex.encode(SHA256.hash(bytes))
                    recorded = sha
                    staged = try StagedFile.stage(bytes: bytes, beside: path, mode: 0o640)
                    CrashPoint.here("dispatch.staged")
                    try db.run("""
                        UPDATE batch SET status = 'dispatched', file = ?, sha256 = ?, file_seq = ?, dispatched_on = ?, pay_due = ?, report_due = ?
                        WHERE id = ?
                        """, name, sha, seq, date.description, payDue.description, reportDue.description, batch.id)
                    return ((), "\(bank.code) \(name) seq=\(seq) sha256:\(sha.prefix(16))")
                })
            } catch {
                // Nothing committed: the bank must never see this file.
                if let staged { StagedFile.discard(staged) }
                throw error
            }
            CrashPoint.here("dispatch.committed")
            do {
                try StagedFile.place(staged!, at: path)
            } catch {
                // A dispatch started meanwhile may have completed this one (moved the staged
                // file into place itself): then the file is there, with the recorded bytes.
                guard let bytes = try? ExchangeFile.read(path: path), Hex.encode(SHA256.hash(bytes)) == recorded else { throw error }
            }
            CrashPoint.here("dispatch.placed")
            try markPlaced(batch.id)
            report.dispatched.append(try batches().first { $0.id == batch.id }!)
        }
        return report
    }

    /// Puts the file of a batch dispatched by an interrupted command into place: the staged
    /// bytes if they are still there, or the file made again from the database; either way only
    /// when its SHA-256 is the one recorded at dispatch.
    func completeDispatch(of batch: Batch) throws {
        let bank = try agencyBank(batch.bank)
        guard let name = batch.file, let expected = batch.sha256, let seq = batch.fileSeq else {
            throw YKTError(.batchState, "批次 \(batch.id) 已发送，但没有记录文件名、序号或 SHA-256", hint: "请系统管理员检查数据库")
        }
        let path = (bank.outbox as NSString).appendingPathComponent(name)
        var how = "rewritten"
        for tmp in StagedFile.staged(for: path) {
            if how == "rewritten", let bytes = try? ExchangeFile.read(path: tmp), Hex.encode(SHA256.hash(bytes)) == expected {
                try StagedFile.place(tmp, at: path)
                how = "staged"
            } else {
                StagedFile.discard(tmp)
            }
        }
        if how == "rewritten" {
            let bytes = BankFile.write(try instruction(for: batch, seq: seq))
            guard Hex.encode(SHA256.hash(bytes)) == expected else {
                throw YKTError(.batchState, "批次 \(batch.id) 已发送，但其支付指令文件 \(name) 不能按发送时的内容重写（SHA-256 与记录不符）",
                               hint: "不要另建批次；请系统管理员从备份找回该文件，或核对该批次的支付与项目名称是否被改动")
            }
            try FileOutput.writeAtomically(bytes: bytes, to: path, mode: 0o640)
        }
        try perform("batch.dispatch.complete", object: "batch#\(batch.id)", detail: "\(bank.code) \(name) seq=\(seq) \(how)") {
            try db.run("UPDATE batch SET file_placed_at = ? WHERE id = ? AND file_placed_at IS NULL", timestamp(), batch.id)
        }
    }

    func markPlaced(_ batch: Int64) throws {
        do {
            try db.run("UPDATE batch SET file_placed_at = ? WHERE id = ? AND file_placed_at IS NULL", timestamp(), batch)
        } catch {
            throw StoreErrors.map(error)
        }
    }
}
