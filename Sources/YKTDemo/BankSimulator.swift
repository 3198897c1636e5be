import Foundation
import YKTCore
import YKTNode
import YKTCounty
import YKTTownship

/// A stand-in agency bank for the demo and the tests (`ykt bank simulate`). It takes every
/// instruction file from an exchange folder's `outbox/`, "pays" each line, failing a seeded
/// share of them with the configured reasons, and writes the result file into `inbox/`. It
/// keeps a ledger of what it paid and returned, from which it prints statements for
/// reconciliation. Files it has read move to `bank-done/`.
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
        for name in listing.files {
            let path = (outbox as NSString).appendingPathComponent(name)
            let instruction = try BankFile.readInstruction(try ExchangeFile.read(path: path), file: name)
            guard instruction.bank == bank else {
                throw YKTError(.bankFile, "支付指令是给「\(ExchangeFile.quote(instruction.bank))」的，本行是 \(bank)", at: SourceLocation(file: name, line: 1, field: "bank"))
            }
            var lines: [BankFile.ResultLine] = []
            var ledger = ""
            for l in instruction.lines {
                let reissue = l.memo.contains("补发")
                let reason = (reissue && !options.failReissues) ? nil
                    : Self.failure(seed: options.seed, lineID: l.lineID, rates: options.failureRates)
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
            if options.tamper == nil { try appendLedger(ledger) }
            try ExchangeFile.makeFolder(done)
            _ = rename(path, (done as NSString).appendingPathComponent(name))
            handled.append(Handled(instruction: name, result: resultName, lines: lines.count, failed: result.failed.count, skipped: nil))
        }
        return handled
    }

    func appendLedger(_ text: String) throws {
        try FileOutput.writeAtomically(try ledger() + text, to: ledgerPath, mode: 0o640)
    }

    /// The ledger as written so far (empty before the first payment), read like any file in
    /// the shared folder: no link followed, a regular file only.
    func ledger() throws -> String {
        var st = stat()
        guard lstat(ledgerPath, &st) == 0 || errno != ENOENT else { return "" }
        return String(decoding: try ExchangeFile.read(path: ledgerPath), as: UTF8.self)
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
