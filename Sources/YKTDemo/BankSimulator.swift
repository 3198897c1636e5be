import Foundation
import YKTCore
import YKTNode
import YKTCounty
import YKTTownship
import YKTCrypto

/// A stand-in agency bank for the demo and the tests (`ykt bank simulate`). It takes every
/// instruction file from an exchange folder's `outbox/`, "pays" each line, failing a seeded
/// share of them with the configured reasons, and writes the result file into `inbox/`. It
/// keeps a ledger of what it paid and returned, from which it prints statements for
/// reconciliation. Files it has read move to `bank-done/`.
///
/// Like a real bank it checks two things before paying a file (`docs/bank-files.md`): that it
/// has not paid the same file before — a file whose batch, sequence number or SHA-256 is in
/// its record of paid files (`bank-files.csv`) is refused whole and paid nothing — and that each
/// line's resident ID is the holder of record of the account (实名): its card registry
/// (`bank-cards.csv`, account number → holder's resident ID, filled by `ykt bank cards` from the
/// registers) fails a line whose holder differs with `HOLDER_MISMATCH`. An account the registry
/// does not list is not checked (the simulator knows only the cards it was given).
public struct BankSimulator: Sendable {
    public struct Options: Sendable {
        public var seed: UInt64 = 1
        /// Share of lines failing for each reason (0…1), e.g. [.accountClosed: 0.05].
        public var failureRates: [BankFile.FailureReason: Double] = [:]
        /// Re-issued lines (memo marked 补发) are paid unless this is set.
        public var failReissues = false
        /// Writes a deliberately wrong result file, to exercise the county's refusal:
        /// total, duplicate, amount, unknown, missing.
        public var tamper: String?
        public var payDate: CivilDate
        public init(payDate: CivilDate) { self.payDate = payDate }

        /// `closed=0.05,name=0.02,frozen=0.01,missing=0.01,other=0.01`
        public static func parseRates(_ text: String) throws(YKTError) -> [BankFile.FailureReason: Double] {
            let names: [String: BankFile.FailureReason] = ["closed": .accountClosed, "name": .nameMismatch, "frozen": .accountFrozen,
                                                           "missing": .noSuchAccount, "other": .other]
            var rates: [BankFile.FailureReason: Double] = [:]
            for part in text.split(separator: ",") {
                let kv = part.split(separator: "=")
                guard kv.count == 2, let reason = names[String(kv[0]).trimmed], let rate = Double(kv[1]), rate >= 0, rate <= 1 else {
                    throw YKTError(.usageValue, "失败比例「\(part)」应为 原因=比例，原因取 closed、name、frozen、missing、other，比例 0–1",
                                   at: SourceLocation(field: "--fail"))
                }
                rates[reason] = rate
            }
            guard rates.values.reduce(0, +) <= 1 else {
                throw YKTError(.usageValue, "各失败比例之和不能超过 1", at: SourceLocation(field: "--fail"))
            }
            return rates
        }
    }

    public struct Handled: Sendable, Codable {
        public var instruction: String
        public var result: String
        public var lines: Int
        public var failed: Int
        /// Set for an entry of `outbox/` that is not a regular file (a link, a directory, a
        /// FIFO…): not read, nothing written for it; the text names it and what it is.
        public var skipped: String?
        /// Set for an instruction file refused because the bank has already paid it (same
        /// batch, sequence number or content): nothing paid, no result written, the file moved
        /// to `bank-done/` as `<name>.repeat`. The text says which.
        public var refused: String? = nil
        /// Lines failed because the resident ID is not the account holder's.
        public var holderMismatches: Int = 0
    }

    public let folder: String
    public let bank: String
    public init(folder: String, bank: String) {
        self.folder = folder
        self.bank = bank
    }

    var outbox: String { (folder as NSString).appendingPathComponent("outbox") }
    var inbox: String { (folder as NSString).appendingPathComponent("inbox") }
    var done: String { (folder as NSString).appendingPathComponent("bank-done") }
    var ledgerPath: String { (folder as NSString).appendingPathComponent("bank-ledger.csv") }
    /// The files paid: `seq,batch,sha256,file` a line.
    var paidFilesPath: String { (folder as NSString).appendingPathComponent("bank-files.csv") }
    /// The card registry: `account_number,resident_id` a line.
    var cardsPath: String { (folder as NSString).appendingPathComponent("bank-cards.csv") }

    /// The failure (if any) of one line: a pure function of the seed and the line id, so a
    /// run can be repeated.
    static func failure(seed: UInt64, lineID: String, rates: [BankFile.FailureReason: Double]) -> BankFile.FailureReason? {
        var h: UInt64 = seed ^ 0xcbf2_9ce4_8422_2325
        for b in lineID.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        var rng = SplitMix64(seed: h)
        let u = Double(rng.next() >> 11) / Double(UInt64(1) << 53)
        var edge = 0.0
        for reason in BankFile.FailureReason.allCases {
            edge += rates[reason] ?? 0
            if u < edge { return reason }
        }
        return nil
    }

    public func run(_ options: Options) throws -> [Handled] {
        // A bank trusts the county's folder no more than the county trusts the bank's.
        let listing = ExchangeFile.list(outbox) { !$0.hasPrefix(".") && $0.hasSuffix(".txt") && !$0.contains(".tmp") }
        var handled = listing.skipped.map {
            Handled(instruction: $0.name, result: "", lines: 0, failed: 0, skipped: $0.error.description)
        }
        let cards = try cardRegistry()
        var paid = try paidFiles()
        for name in listing.files {
            let path = (outbox as NSString).appendingPathComponent(name)
            let raw = try ExchangeFile.read(path: path)
            let instruction = try BankFile.readInstruction(raw, file: name)
            guard instruction.bank == bank else {
                throw YKTError(.bankFile, "支付指令是给「\(ExchangeFile.quote(instruction.bank))」的，本行是 \(bank)", at: SourceLocation(file: name, line: 1, field: "bank"))
            }
            let sha = Hex.encode(SHA256.hash(raw))
            if let before = paid.first(where: { $0.batch == instruction.batch || $0.seq == instruction.seq || $0.sha256 == sha }) {
                let why = before.sha256 == sha ? "与已付的 \(before.file) 内容相同"
                    : before.batch == instruction.batch ? "批次 \(instruction.batch) 已由 \(before.file) 付过"
                    : "序号 \(instruction.seq) 已由 \(before.file) 用过"
                let error = YKTError(.bankFileRepeated, "支付指令文件 \(name) 不予支付：\(why)", at: SourceLocation(file: name, line: 1),
                                     hint: "同一批次只付一次；文件已移到 bank-done/")
                try ExchangeFile.makeFolder(done)
                _ = rename(path, try Self.freeName((done as NSString).appendingPathComponent(name + ".repeat")))
                handled.append(Handled(instruction: name, result: "", lines: instruction.lines.count, failed: 0, skipped: nil,
                                       refused: error.description))
                continue
            }
            var lines: [BankFile.ResultLine] = []
            var ledger = ""
            var mismatches = 0
            for l in instruction.lines {
                let reissue = l.memo.contains("补发")
                var reason = (reissue && !options.failReissues) ? nil
                    : Self.failure(seed: options.seed, lineID: l.lineID, rates: options.failureRates)
                // 实名: the account's holder of record must be the person the county names.
                if let holder = cards[l.accountNumber], holder != l.residentID {
                    reason = .holderMismatch
                    mismatches += 1
                }
                if let reason {
                    lines.append(.init(lineID: l.lineID, status: .failed, amountFen: l.amountFen, date: options.payDate, reason: reason,
                                       reasonText: reason.chinese, returnedFen: l.amountFen))
                    ledger += "\(l.lineID),\(instruction.batch),\(l.accountNumber),\(l.amountFen),returned,\(options.payDate)\n"
                } else {
                    lines.append(.init(lineID: l.lineID, status: .paid, amountFen: l.amountFen, date: options.payDate, reason: nil,
                                       reasonText: "", returnedFen: 0))
                    ledger += "\(l.lineID),\(instruction.batch),\(l.accountNumber),\(l.amountFen),paid,\(options.payDate)\n"
                }
            }
            var result = BankFile.Result(batch: instruction.batch, bank: bank, lines: lines)
            var bytes = BankFile.write(result)
            switch options.tamper {
            case "total"?:
                // The header's paid_fen one fen off; the body and its hash are right.
                let text = String(decoding: bytes, as: UTF8.self)
                let paid = result.paid.reduce(0) { $0 + $1.amountFen }
                bytes = Array(text.replacingOccurrences(of: "paid_fen=\(paid),", with: "paid_fen=\(paid + 1),").utf8)
            case "duplicate"?:
                if let first = result.lines.first { result.lines.append(first) }
                bytes = BankFile.write(result)
            case "amount"?:
                if !result.lines.isEmpty { result.lines[0].amountFen += 100 }
                bytes = BankFile.write(result)
            case "unknown"?:
                if !result.lines.isEmpty { result.lines[0].lineID = "999999999" }
                bytes = BankFile.write(result)
            case "missing"?:
                if !result.lines.isEmpty { result.lines.removeLast() }
                bytes = BankFile.write(result)
            default:
                break
            }
            let resultName = name.replacingOccurrences(of: "YKT-PAY-", with: "YKT-RESULT-")
            try FileOutput.writeAtomically(bytes: bytes, to: (inbox as NSString).appendingPathComponent(resultName), mode: 0o640)
            if options.tamper == nil {
                // Only a file actually paid counts as paid: a tampered answer pays nothing.
                try appendLedger(ledger)
                let record = PaidFile(seq: instruction.seq, batch: instruction.batch, sha256: sha, file: name)
                try FileOutput.writeAtomically(try text(at: paidFilesPath) + record.line, to: paidFilesPath, mode: 0o640)
                paid.append(record)
            }
            try ExchangeFile.makeFolder(done)
            _ = rename(path, try Self.freeName((done as NSString).appendingPathComponent(name)))
            handled.append(Handled(instruction: name, result: resultName, lines: lines.count, failed: result.failed.count, skipped: nil,
                                   holderMismatches: mismatches))
        }
        return handled
    }

    func appendLedger(_ text: String) throws {
        try FileOutput.writeAtomically(try ledger() + text, to: ledgerPath, mode: 0o640)
    }

    /// The ledger as written so far (empty before the first payment), read like any file in
    /// the shared folder: no link followed, a regular file only.
    func ledger() throws -> String { try text(at: ledgerPath) }

    /// A file of the simulator's own (empty when there is none yet), read like any file in
    /// the shared folder: no link followed, a regular file only.
    func text(at path: String) throws -> String {
        var st = stat()
        guard lstat(path, &st) == 0 || errno != ENOENT else { return "" }
        return String(decoding: try ExchangeFile.read(path: path), as: UTF8.self)
    }

    /// `path`, or `path.2`, `path.3`… when taken: a file moved to `bank-done/` never replaces another.
    static func freeName(_ path: String) throws -> String {
        var target = path
        var n = 1
        var st = stat()
        while lstat(target, &st) == 0 {
            n += 1
            target = path + ".\(n)"
        }
        return target
    }

    /// One instruction file the simulator has paid.
    public struct PaidFile: Sendable, Equatable {
        public var seq: Int64
        public var batch: Int64
        public var sha256: String
        public var file: String
        var line: String { "\(seq),\(batch),\(sha256),\(file)\n" }
    }

    /// The instruction files paid so far (`bank-files.csv`).
    public func paidFiles() throws -> [PaidFile] {
        try text(at: paidFilesPath).split(separator: "\n").compactMap { row in
            let f = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 4, let seq = Int64(f[0]), let batch = Int64(f[1]) else { return nil }
            return PaidFile(seq: seq, batch: batch, sha256: f[2], file: f[3])
        }
    }

    /// The card registry: account number → the holder's resident ID.
    public func cardRegistry() throws -> [String: String] {
        var cards: [String: String] = [:]
        for row in try text(at: cardsPath).split(separator: "\n") {
            let f = row.split(separator: ",", omittingEmptySubsequences: false)
            if f.count == 2 { cards[String(f[0])] = String(f[1]) }
        }
        return cards
    }

    /// Fills the card registry from village registers (CSV as `ykt beneficiary import` reads
    /// them, any of its encodings; the columns 身份证号 and 账号): each account's holder is the
    /// resident on its row. Rows without both are passed over. Each account in `mismatch` is
    /// then given another holder (the next registered account's, or an altered ID), so that a
    /// payment to it fails with `HOLDER_MISMATCH`: the demo's planted fault. Returns the number
    /// of cards registered and of mismatches planted.
    public func registerCards(registers: [String], mismatch: [String] = []) throws -> (cards: Int, planted: Int) {
        var cards = try cardRegistry()
        for path in registers {
            let name = (path as NSString).lastPathComponent
            let decoded = try TextDecoding.decode(try ExchangeFile.read(path: path), file: name)
            let records = try CSVReader(utf8: decoded.utf8, file: name).records()
            guard let header = records.first?.fields.map({ $0.trimmed }),
                  let idColumn = header.firstIndex(of: "身份证号"), let accountColumn = header.firstIndex(of: "账号") else {
                throw YKTError(.csvHeader, "底册应有「身份证号」和「账号」两列", at: SourceLocation(file: name, line: 1),
                               hint: "用 ykt demo generate 生成的底册，或同样表头的文件")
            }
            for r in records.dropFirst() where r.fields.count > max(idColumn, accountColumn) {
                let id = r.fields[idColumn].trimmed.uppercased(), account = r.fields[accountColumn].trimmed
                guard !id.isEmpty, !account.isEmpty, account.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { continue }
                cards[account] = id
            }
        }
        var planted = 0
        for account in mismatch {
            guard let holder = cards[account] else {
                throw YKTError(.usageValue, "卡库中没有账号 \(Masking.account(account))，不能植入户主不符", at: SourceLocation(field: "--mismatch"))
            }
            let other = cards.first { $0.key != account && $0.value != holder }?.value
            cards[account] = other ?? String(holder.dropLast()) + (holder.last == "0" ? "1" : "0")
            planted += 1
        }
        let text = cards.sorted { $0.key < $1.key }.map { "\($0.key),\($0.value)\n" }.joined()
        try ExchangeFile.makeFolder(folder)
        try FileOutput.writeAtomically(text, to: cardsPath, mode: 0o640)
        return (cards.count, planted)
    }

    /// The bank's statement for `from…to`, from its ledger.
    public func statement(from: CivilDate, to: CivilDate) throws -> [UInt8] {
        let text = try ledger()
        var lines: [BankFile.StatementLine] = []
        for row in text.split(separator: "\n") {
            let f = row.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 6, let batch = Int64(f[1]), let amount = Int64(f[3]), let kind = BankFile.StatementKind(rawValue: f[4]),
                  let date = try? CivilDate(parsing: f[5]), date >= from, date <= to else { continue }
            lines.append(.init(lineID: f[0], batch: batch, accountNumber: f[2], amountFen: amount, kind: kind, date: date))
        }
        return BankFile.write(BankFile.Statement(bank: bank, from: from, to: to, lines: lines))
    }
}
