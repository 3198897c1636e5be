#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import YKTCore
import YKTStore

/// The warning rules' read side: finds every case over the whole county in two passes that run
/// at once on their own read connections (WAL lets them read while nothing writes), so a
/// million residents and four million roster lines take seconds, not minutes.
///
/// - The **line pass** reads every roster line once, in `(resident_id, account_number)` order
///   from the covering index, so each resident's lines arrive together with their accounts
///   sorted: several accounts in one period, paid twice for one program and period, invalid IDs
///   on rosters, and each (resident, account) pair for the shared-account rule.
/// - The **register pass** reads the register (invalid IDs, each resident's designated
///   account), then the few lines above their program's standard (one query per roster, the
///   ceiling bound in integer fen), and the deceased and officials lists (small, joined by index).
///
/// Then one sort of the (account, resident) pairs from both passes, by a 64-bit hash of the
/// account, finds the accounts named for more than one resident. Lines of rejected rosters are
/// left out everywhere. Nothing here allocates per line except for the cases it finds.
struct WarningScan: Sendable {
    struct Finding: Sendable {
        var rule: WarningRule
        var subject: String
        var evidence: JSONValue
        var residents: [String]
    }

    struct RosterInfo: Sendable {
        var node: String
        var program: String
        var period: String
        var live: Bool
        /// Small integers naming the period and the program × period, for comparing lines.
        var periodKey: Int32
        var programPeriodKey: Int32
        /// A small integer naming the program, and the months the period covers
        /// (`Period.monthSpan`; every month for a 一次性 program, paid once whatever the period):
        /// two lines of one program whose months meet are paid twice.
        var programKey: Int32 = 0
        var firstMonth: Int32 = 0
        var lastMonth: Int32 = 0
        /// The roster's line count (what reading it whole costs).
        var lines = 0
    }

    /// Rosters by id (ids are small integers; the table is dense).
    let rosters: [RosterInfo?]
    /// Each roster's program and months, by roster id (no text: the line pass compares these
    /// for every pair of a resident's lines).
    let spans: [(program: Int32, first: Int32, last: Int32)]
    let path: String
    let today: CivilDate

    init(db: Database, today: CivilDate) throws {
        var table: [RosterInfo?] = []
        var periods: [String: Int32] = [:], programPeriods: [String: Int32] = [:], programs: [String: Int32] = [:]
        var once: Set<String> = []
        try db.forEach("SELECT code FROM program WHERE frequency = ?", PaymentFrequency.once.rawValue) { once.insert($0.text(0)) }
        try db.forEach("SELECT id, node_id, program, period, status, line_count FROM roster ORDER BY id") { r in
            let id = r.int(0)
            guard id >= 0, id < 50_000_000 else { return }
            if table.count <= id { table.append(contentsOf: repeatElement(nil, count: id + 1 - table.count)) }
            let period = r.text(3), program = r.text(2)
            let p = periods[period] ?? { let k = Int32(periods.count); periods[period] = k; return k }()
            let pp = programPeriods[program + "/" + period] ?? {
                let k = Int32(programPeriods.count); programPeriods[program + "/" + period] = k; return k
            }()
            var info = RosterInfo(node: r.text(1), program: program, period: period, live: r.text(4) != "rejected",
                                  periodKey: p, programPeriodKey: pp)
            info.lines = r.int(5)
            info.programKey = programs[program] ?? { let k = Int32(programs.count); programs[program] = k; return k }()
            if once.contains(program) {
                (info.firstMonth, info.lastMonth) = (.min, .max)
            } else if let span = (try? Period(parsing: period))?.monthSpan {
                (info.firstMonth, info.lastMonth) = (Int32(span.lowerBound), Int32(span.upperBound))
            } else {
                // Not a period we can read: only the same string meets it (as before periods had forms).
                (info.firstMonth, info.lastMonth) = (Int32(-1 - pp), Int32(-1 - pp))
            }
            table[id] = info
        }
        rosters = table
        spans = table.map { $0.map { ($0.programKey, $0.firstMonth, $0.lastMonth) } ?? (-1, 0, -1) }
        path = db.path
        self.today = today
    }

    func live(_ id: Int64) -> RosterInfo? {
        guard id >= 0, id < rosters.count, let r = rosters[Int(id)], r.live else { return nil }
        return r
    }

    /// Runs both passes (at once where there are two cores) and returns every finding, rule by
    /// rule in the order of `WarningRule.allCases`, each rule's findings sorted by subject.
    func run() throws -> [Finding] {
        // The line pass on one core; the register pass, then the household pass, on the other
        // (parallelMap gives each worker a contiguous run of the three).
        let outcomes = [0, 1, 2].parallelMap(minimumChunk: 1) { pass -> Result<PassOutput, any Error> in
            Result {
                switch pass {
                case 0: try linePass()
                case 1: try registerPass()
                default: PassOutput(findings: try householdPass())   // WarningScan+Households.swift
                }
            }
        }
        let lines = try outcomes[0].get()
        let register = try outcomes[1].get()
        var findings = lines.findings + register.findings + (try outcomes[2].get()).findings
        // Invalid IDs on rosters that the register does not already report.
        let reported = Set(register.findings.filter { $0.rule == .invalidID }.map(\.subject))
        findings += lines.invalidOnRosters.filter { !reported.contains($0.subject) }
        findings += Self.sharedAccounts(lines.holders, register.holders)
        return Self.ordered(findings)
    }

    /// Rule by rule in the order of `WarningRule.allCases`, each rule's findings by subject,
    /// one per rule and subject: where two are found for one (two lines of one person, program
    /// and period, say), the later in the order found is kept, as the warning table would.
    static func ordered(_ findings: [Finding]) -> [Finding] {
        let order = Dictionary(uniqueKeysWithValues: WarningRule.allCases.enumerated().map { ($1, $0) })
        let sorted = findings.indices.sorted {
            (order[findings[$0].rule]!, findings[$0].subject, $0) < (order[findings[$1].rule]!, findings[$1].subject, $1)
        }
        var kept: [Finding] = []
        for i in sorted {
            if let last = kept.last, last.rule == findings[i].rule, last.subject == findings[i].subject { kept.removeLast() }
            kept.append(findings[i])
        }
        return kept
    }

    struct PassOutput: Sendable {
        var findings: [Finding] = []
        var invalidOnRosters: [Finding] = []
        var holders = Holders()
    }

    // MARK: The line pass

    /// One resident's live lines while the pass reads them.
    struct Group {
        var resident: [UInt8] = []
        var accounts: [UInt8] = []
        var lines: [(account: Range<Int>, roster: Int64, line: Int64)] = []

        func account(_ i: Int) -> ArraySlice<UInt8> { accounts[lines[i].account] }
        var residentText: String { String(decoding: resident, as: UTF8.self) }

        /// Adds a line when its roster is live.
        mutating func add(roster: Int64, line: Int64, account: UnsafeBufferPointer<UInt8>, if live: (Int64) -> RosterInfo?) {
            guard live(roster) != nil else { return }
            let start = accounts.count
            accounts.append(contentsOf: account)
            lines.append((start..<accounts.count, roster, line))
        }
    }

    /// A read-only connection of the pass's own, reading the file through a memory map (no
    /// system call per page: the passes read hundreds of megabytes of index), with the keys
    /// given in a temporary table `wanted` (filled by `selects`, kept sorted, for joins that
    /// read the history in order) and lists of roster ids as tables named by `ids`.
    func reader(filling selects: [String] = [], ids: [String: [Int64]] = [:]) throws -> Database {
        let db = try Database(path: path)
        try db.execute("PRAGMA mmap_size=17179869184")
        for (name, list) in ids {
            try db.execute("CREATE TEMP TABLE \(name)(id INTEGER PRIMARY KEY)")
            let add = try db.statement("INSERT INTO temp.\(name)(id) VALUES (?)")
            for id in list { try add.run([id]) }
        }
        if !selects.isEmpty {
            // A deferred transaction: it writes the temporary database only, and takes no lock
            // on the county's file that a sync would wait for.
            try db.execute("CREATE TEMP TABLE wanted(key TEXT PRIMARY KEY) WITHOUT ROWID")
            try db.execute("BEGIN")
            for select in selects { try db.execute("INSERT OR IGNORE INTO temp.wanted(key) " + select) }
            try db.execute("COMMIT")
        }
        try db.execute("PRAGMA query_only=1")
        return db
    }

    /// A resident paid twice: the lines of one run of colliding periods, the line it is named
    /// by, and the periods.
    typealias Twice = (resident: String, lines: [(roster: Int64, line: Int64)], named: Int64, periods: [String])

    func linePass() throws -> PassOutput {
        let db = try reader()
        var out = PassOutput()
        var twice: [Twice] = []
        try checkGroups(db, "SELECT resident_id, account_number, roster_id, line_no FROM roster_line ORDER BY resident_id, account_number",
                        into: &out, twice: &twice, holders: true)
        out.findings += try paidTwice(twice, db)
        out.holders.sort()
        return out
    }

    /// Reads `sql`'s rows (resident, account, roster, line; in resident then account order)
    /// one resident at a time, and checks each resident's live lines.
    func checkGroups(_ db: Database, _ sql: String, into out: inout PassOutput, twice: inout [Twice], holders: Bool,
                     lines keep: ((Int64) -> RosterInfo?)? = nil) throws {
        let keep = keep ?? live
        var g = Group()
        try db.forEach(sql) { r in
            let resident = r.utf8(0)
            if !Self.equal(g.resident, resident) {
                check(g, into: &out, twice: &twice, holders: holders)
                g.resident.removeAll(keepingCapacity: true)
                g.resident.append(contentsOf: resident)
                g.accounts.removeAll(keepingCapacity: true)
                g.lines.removeAll(keepingCapacity: true)
            }
            g.add(roster: r.int64(2), line: r.int64(3), account: r.utf8(1), if: keep)
        }
        check(g, into: &out, twice: &twice, holders: holders)
    }

    /// One resident's live lines, as a group: several accounts in one period, paid twice (kept
    /// in `twice`, gathered by `paidTwice` afterwards), an invalid ID on a roster, and with
    /// `holders` each (resident, account) pair for the shared-account rule.
    func check(_ g: Group, into out: inout PassOutput, twice: inout [Twice], holders: Bool) {
        guard !g.lines.isEmpty else { return }
        let problem = g.resident.withUnsafeBufferPointer { ResidentID.problem(in: $0, today: today) }
        if problem != nil {
            out.invalidOnRosters.append(invalidID(g.residentText, where: "roster"))
        }
        // Accounts arrive sorted, so equal ones are neighbours.
        let residentAt = holders ? out.holders.add(g.resident) : 0
        var distinct = 0
        for i in g.lines.indices where i == 0 || g.account(i) != g.account(i - 1) {
            distinct += 1
            if holders { out.holders.pair(resident: residentAt, residentLength: g.resident.count, account: g.account(i)) }
        }
        guard g.lines.count > 1 else { return }
        if distinct > 1 { out.findings += severalAccounts(g) }
        // Paid twice: two live lines for one program whose periods overlap (a year and one
        // of its months, say; equal periods overlap), checked without allocating; the few
        // found are gathered afterwards.
        func info(_ i: Int) -> RosterInfo { rosters[Int(g.lines[i].roster)]! }
        var duplicated = false
        spans.withUnsafeBufferPointer { spans in
            outer: for i in 1..<g.lines.count {
                let a = spans[Int(g.lines[i].roster)]
                for j in 0..<i {
                    let b = spans[Int(g.lines[j].roster)]
                    if a.program == b.program && a.first <= b.last && b.first <= a.last { duplicated = true; break outer }
                }
            }
        }
        guard duplicated else { return }
        var byProgram: [Int32: [Int]] = [:]
        for i in g.lines.indices { byProgram[info(i).programKey, default: []].append(i) }
        for indices in byProgram.values where indices.count > 1 {
            // Widest first at each start, so a run's first line covers the period it is named by.
            let sorted = indices.sorted {
                (info($0).firstMonth, -Int64(info($0).lastMonth), info($0).period, g.lines[$0].roster, g.lines[$0].line)
                    < (info($1).firstMonth, -Int64(info($1).lastMonth), info($1).period, g.lines[$1].roster, g.lines[$1].line)
            }
            var run: [Int] = []
            var end = Int32.min
            func emit() {
                guard run.count > 1 else { return }
                let lines = run.map { (roster: g.lines[$0].roster, line: g.lines[$0].line) }.sorted { ($0.roster, $0.line) < ($1.roster, $1.line) }
                twice.append((g.residentText, lines, g.lines[run[0]].roster, Set(run.map { info($0).period }).sorted()))
            }
            for i in sorted {
                if !run.isEmpty, info(i).firstMonth <= end {
                    run.append(i)
                    end = max(end, info(i).lastMonth)
                } else {
                    emit()
                    run = [i]
                    end = info(i).lastMonth
                }
            }
            emit()
        }
    }

    /// The findings for the residents paid twice, with the amounts of their lines (few), read
    /// by primary key.
    func paidTwice(_ twice: [Twice], _ db: Database) throws -> [Finding] {
        var found: [Finding] = []
        for t in twice {
            var total: Int64 = 0
            var where_: [String] = []
            for (roster, line) in t.lines {
                total += try db.integer("SELECT amount_fen FROM roster_line WHERE roster_id = ? AND line_no = ?", roster, line) ?? 0
                where_.append("\(rosters[Int(roster)]!.node) 清册\(roster)第\(line)行")
            }
            let info = rosters[Int(t.named)]!
            var evidence: [String: JSONValue] = ["residentId": .string(t.resident), "program": .string(info.program),
                                       "period": .string(info.period), "lines": .string(where_.joined(separator: "；")),
                                       "totalFen": .int(total)]
            if t.periods.count > 1 { evidence["periods"] = .array(t.periods.map { .string($0) }) }
            found.append(Finding(rule: .paidTwice, subject: "\(t.resident)/\(info.program)/\(info.period)",
                                 evidence: .object(evidence), residents: [t.resident]))
        }
        return found
    }

    /// 一人多卡: one person, one period, paid to more than one account.
    func severalAccounts(_ g: Group) -> [Finding] {
        var found: [Finding] = []
        let periods = Set(g.lines.map { rosters[Int($0.roster)]!.periodKey })
        for key in periods {
            let lines = g.lines.indices.filter { rosters[Int(g.lines[$0].roster)]!.periodKey == key }
            let accounts = Set(lines.map { String(decoding: g.account($0), as: UTF8.self) }).sorted()
            guard accounts.count > 1 else { continue }
            let period = rosters[Int(g.lines[lines[0]].roster)]!.period
            let rosterLines = lines.map { (g.lines[$0].roster, g.lines[$0].line) }.sorted { $0 < $1 }.map { "\($0.0):\($0.1)" }
            found.append(Finding(rule: .severalAccounts, subject: "\(g.residentText)/\(period)",
                                 evidence: ["residentId": .string(g.residentText), "period": .string(period),
                                            "accounts": .array(accounts.map { .string($0) }),
                                            "rosterLines": .string(rosterLines.joined(separator: ","))],
                                 residents: [g.residentText]))
        }
        return found
    }

    // MARK: The register pass

    func registerPass() throws -> PassOutput {
        let db = try reader()
        var out = PassOutput()
        try db.forEach("SELECT resident_id, account_number FROM resident") { r in
            let resident = r.utf8(0)
            if ResidentID.problem(in: resident, today: today) != nil {
                out.findings.append(invalidID(String(decoding: resident, as: UTF8.self), where: "register"))
            }
            let account = r.utf8(1)
            if account.count > 0 {
                let at = out.holders.add(resident)
                out.holders.pair(resident: at, residentLength: resident.count, account: account)
            }
        }
        out.holders.sort()
        try aboveStandard(db, into: &out.findings)
        try carrierTransition(db, into: &out.findings)
        try db.forEach("""
            SELECT l.resident_id, d.died_on, d.source, l.roster_id, l.line_no FROM deceased d CROSS JOIN roster_line l ON l.resident_id = d.resident_id
            """) { r in
            if let f = deceased(r.text(0), diedOn: r.text(1), source: r.text(2), roster: r.int64(3), line: r.int64(4)) { out.findings.append(f) }
        }
        var seen: Set<String> = []
        try db.forEach("""
            SELECT l.resident_id, o.unit, o.relation, o.source, l.roster_id FROM official o CROSS JOIN roster_line l ON l.resident_id = o.resident_id
            """) { r in
            if let f = official(r.text(0), unit: r.text(1), relation: r.text(2), source: r.text(3), roster: r.int64(4), seen: &seen) {
                out.findings.append(f)
            }
        }
        return out
    }

    /// On the civil-affairs list of deceased residents, on a roster for a period not ended
    /// before the death (the period's last day is on or after the date of death).
    func deceased(_ resident: String, diedOn: String, source: String, roster id: Int64, line: Int64) -> Finding? {
        guard let roster = live(id), let died = try? CivilDate(parsing: diedOn),
              let period = try? Period(parsing: roster.period) else { return nil }
        let month = period.months.upperBound
        guard let last = CivilDate(year: period.year, month: month, day: CivilDate.daysIn(month: month, year: period.year)),
              died <= last else { return nil }
        return Finding(rule: .deceased, subject: "\(resident)/\(roster.program)/\(roster.period)",
                       evidence: ["residentId": .string(resident), "diedOn": .string(diedOn), "source": .string(source),
                                  "program": .string(roster.program), "period": .string(roster.period),
                                  "roster": .int(id), "line": .int(line)], residents: [resident])
    }

    /// On the list of officials and their relatives (one finding per program and period: `seen`
    /// holds the subjects found so far).
    func official(_ resident: String, unit: String, relation: String, source: String, roster id: Int64, seen: inout Set<String>) -> Finding? {
        guard let roster = live(id) else { return nil }
        let subject = "\(resident)/\(roster.program)/\(roster.period)"
        guard seen.insert(subject).inserted else { return nil }
        return Finding(rule: .official, subject: subject,
                       evidence: ["residentId": .string(resident), "unit": .string(unit), "relation": .string(relation),
                                  "source": .string(source), "program": .string(roster.program),
                                  "period": .string(roster.period)], residents: [resident])
    }

    /// Above the program standard: more than the standard for one person (per person), for the
    /// months or years of the period, or for the land area, at the standard of the policy-list
    /// version in force for the roster's period (`CountyNode.versionInForce`), not today's. For
    /// each live roster SQL picks the candidates; the exact ceiling is computed in integer fen
    /// here. For land the candidates are a superset: the ceiling is the standard × the area
    /// rounded half up (`AmountRule`), at least the product less half a fen, so an amount above
    /// it is at least the product plus half a fen; SQL keeps amounts above the product (in
    /// floating point) plus a quarter, and every line where the product is too large for a
    /// double to hold exactly.
    ///
    /// A roster is not read when none of its lines can be above: for a ceiling, when its
    /// largest amount (`max_amount_fen`, kept at receipt) is within it; for land, when its
    /// amounts were each found equal to the standard × the area at receipt
    /// (`checked_standard_fen`) and the standard in force now is no lower (the rounded product
    /// cannot fall as the standard rises). Rosters where these are not known are read.
    func aboveStandard(_ db: Database, into findings: inout [Finding], only: Set<Int64>? = nil) throws {
        let versions = try CountyNode.programVersions(db)
        var received: [Int64: (maxAmount: Int64?, checked: Int64?)] = [:]
        try db.forEach("SELECT id, max_amount_fen, checked_standard_fen FROM roster") {
            received[$0.int64(0)] = ($0.isNull(1) ? nil : $0.int64(1), $0.isNull(2) ? nil : $0.int64(2))
        }
        let byCeiling = try db.statement("SELECT line_no, resident_id, quantity, amount_fen FROM roster_line WHERE roster_id = ? AND amount_fen > ?")
        let byArea = try db.statement("""
            SELECT line_no, resident_id, quantity, amount_fen FROM roster_line
            WHERE roster_id = ?1 AND (amount_fen > ?2 * CAST(quantity AS REAL) + 0.25 OR ?2 * CAST(quantity AS REAL) > 4.0e15)
            """)
        for (id, info) in rosters.enumerated() {
            guard let info, info.live, only?.contains(Int64(id)) ?? true, let kept = versions[info.program], let period = try? Period(parsing: info.period),
                  let program = CountyNode.versionInForce(kept, for: period) else { continue }
            let standard = Fen(program.standard)
            let ceiling: Fen? = switch program.unit {
            case .perMu: nil
            case .perPerson, .perPersonYear: standard
            case .perPersonMonth: Fen(standard.value * Int64(period.months.count))
            }
            if let ceiling, let most = received[Int64(id)]?.maxAmount, most <= ceiling.value { continue }
            if ceiling == nil, let checked = received[Int64(id)]?.checked, checked <= standard.value { continue }
            let statement = ceiling == nil ? byArea : byCeiling
            try statement.forEach([Int64(id), ceiling?.value ?? standard.value]) { r in
                guard let quantity = try? Quantity(parsing: r.text(2)) else { return }
                let limit = ceiling ?? AmountRule.amount(standard: standard, quantity: quantity)
                guard r.int64(3) > limit.value else { return }
                findings.append(Finding(rule: .aboveStandard, subject: "\(r.text(1))/\(info.program)/\(info.period)/\(id)-\(r.int64(0))",
                                        evidence: ["residentId": .string(r.text(1)), "program": .string(info.program),
                                                   "period": .string(info.period), "roster": .int(Int64(id)), "line": .int(r.int64(0)),
                                                   "quantity": .string(r.text(2)), "amountFen": .int(r.int64(3)),
                                                   "ceilingFen": .int(limit.value)], residents: [r.text(1)]))
            }
        }
    }

    /// 社保卡过渡期: the lines of live rosters of programs whose carrier is the social security
    /// card in transition that are paid onto another kind of account (one finding per person,
    /// program and period). Few programs, read by the roster index; lines by primary key.
    func carrierTransition(_ db: Database, into findings: inout [Finding], only: Set<Int64>? = nil) throws {
        var programs: Set<String> = []
        try db.forEach("SELECT code FROM program WHERE carrier = ?", CarrierRule.socialSecurityCardTransition.rawValue) { programs.insert($0.text(0)) }
        guard !programs.isEmpty else { return }
        let lines = try db.statement("""
            SELECT line_no, resident_id, account_kind, bank FROM roster_line WHERE roster_id = ? AND account_kind != ? ORDER BY line_no
            """)
        for (id, info) in rosters.enumerated() {
            guard let info, info.live, only?.contains(Int64(id)) ?? true, programs.contains(info.program) else { continue }
            try lines.forEach([Int64(id), AccountKind.socialSecurityCard.rawValue]) { r in
                let kind = AccountKind(rawValue: r.text(2))?.chinese ?? r.text(2)
                findings.append(Finding(rule: .carrierTransition, subject: "\(r.text(1))/\(info.program)/\(info.period)",
                                        evidence: ["residentId": .string(r.text(1)), "program": .string(info.program),
                                                   "period": .string(info.period), "roster": .int(Int64(id)), "line": .int(r.int64(0)),
                                                   "accountKind": .string(kind), "bank": .string(r.text(3)),
                                                   "reason": .string("该项目处于社保卡过渡期，此人仍发放到\(kind)：过渡期结束前须登记社保卡金融账户为指定账户")],
                                        residents: [r.text(1)]))
            }
        }
    }

    func invalidID(_ id: String, where place: String) -> Finding {
        var problem = ""
        do { _ = try ResidentID(id, today: today) } catch { problem = error.message }
        return Finding(rule: .invalidID, subject: id, evidence: ["residentId": .string(id), "where": .string(place),
                                                                 "problem": .string(problem)], residents: [id])
    }

    // MARK: Shared accounts

    /// (account, resident) pairs, the bytes in one arena.
    struct Holders: Sendable {
        struct Pair: Sendable {
            var hash: UInt64
            var resident: UInt32
            var account: UInt32
            var residentLength: UInt16
            var accountLength: UInt16
        }
        var arena: [UInt8] = []
        var pairs: [Pair] = []

        mutating func add<C: Collection<UInt8>>(_ bytes: C) -> Int {
            let at = arena.count
            arena.append(contentsOf: bytes)
            return at
        }

        mutating func pair<C: Collection<UInt8>>(resident: Int, residentLength: Int, account: C) {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325    // FNV-1a
            for b in account { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
            let at = add(account)
            pairs.append(Pair(hash: hash, resident: UInt32(resident), account: UInt32(at),
                              residentLength: UInt16(min(residentLength, Int(UInt16.max))),
                              accountLength: UInt16(min(account.count, Int(UInt16.max)))))
        }

        /// By the account's hash, as `sharedAccounts` reads them (each pass sorts its own).
        mutating func sort() {
            pairs.sort { $0.hash < $1.hash }
        }

        func resident(_ p: Pair) -> ArraySlice<UInt8> { arena[Int(p.resident)..<Int(p.resident) + Int(p.residentLength)] }
        func account(_ p: Pair) -> ArraySlice<UInt8> { arena[Int(p.account)..<Int(p.account) + Int(p.accountLength)] }
    }

    /// 一卡多人: one account named for several residents, in the register or on live rosters:
    /// the pairs of the two passes (each sorted by the account's hash) read together in hash
    /// order, with no copy of either.
    static func sharedAccounts(_ a: Holders, _ b: Holders) -> [Finding] {
        var found: [Finding] = []
        var i = 0, j = 0
        while i < a.pairs.count || j < b.pairs.count {
            let hash = min(i < a.pairs.count ? a.pairs[i].hash : .max, j < b.pairs.count ? b.pairs[j].hash : .max)
            var ei = i, ej = j
            while ei < a.pairs.count && a.pairs[ei].hash == hash { ei += 1 }
            while ej < b.pairs.count && b.pairs[ej].hash == hash { ej += 1 }
            defer { (i, j) = (ei, ej) }
            guard (ei - i) + (ej - j) > 1 else { continue }
            // Usually one resident's register and roster accounts: nothing to report.
            let resident = i < ei ? a.resident(a.pairs[i]) : b.resident(b.pairs[j])
            let account = i < ei ? a.account(a.pairs[i]) : b.account(b.pairs[j])
            if a.pairs[i..<ei].allSatisfy({ a.resident($0) == resident && a.account($0) == account })
                && b.pairs[j..<ej].allSatisfy({ b.resident($0) == resident && b.account($0) == account }) { continue }
            var residents: [String: Set<String>] = [:]
            for (h, range) in [(a, i..<ei), (b, j..<ej)] {
                for p in h.pairs[range] {
                    residents[String(decoding: h.account(p), as: UTF8.self), default: []].insert(String(decoding: h.resident(p), as: UTF8.self))
                }
            }
            for (account, people) in residents {
                if let f = sharedAccount(account, people) { found.append(f) }
            }
        }
        return found
    }

    /// 一卡多人 for one account and the residents it is named for.
    static func sharedAccount(_ account: String, _ people: Set<String>) -> Finding? {
        guard people.count > 1 else { return nil }
        let sorted = people.sorted()
        return Finding(rule: .sharedAccount, subject: account,
                       evidence: ["accountNumber": .string(account), "residents": .array(sorted.map { .string($0) })],
                       residents: sorted)
    }

    static func equal(_ a: [UInt8], _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard let base = b.baseAddress else { return true }
        return a.withUnsafeBufferPointer { memcmp($0.baseAddress!, base, b.count) == 0 }
    }
}
