import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import YKTCore
import YKTStore

/// The warning rules' read side: finds every case over the whole county in two workers that
/// read at once on their own read connections (WAL lets them read while nothing writes), so
/// millions of residents and roster lines take seconds, not minutes.
///
/// - The **resident pass** reads the register and every roster line side by side in resident
///   order (the register's primary key; the lines' covering index `roster_line_resident`), so
///   each resident's register row and lines arrive together, the lines' accounts sorted:
///   invalid IDs, several accounts in one period, paid twice, and each account a resident's live
///   lines name that the register does not name for them. It is read from both ends: one worker
///   from the first resident up, the other from the last down once its own rules are done, and
///   they stop where their claims meet (`Meeting`), so both cores stay busy to the end whatever
///   the other rules cost.
/// - The **register rules**: the accounts the register names for more than one resident (the
///   account index read in order, neighbours compared), the few lines above their program's
///   standard (one query per roster, the ceiling bound in integer fen), the carrier rule, the
///   deceased and officials lists (small, joined by index), and the household rules.
///
/// The shared-account rule then joins the two: an account is named for the residents the
/// register names it for and those whose live lines name it. Lines of rejected rosters are left
/// out everywhere. Nothing here allocates per line or per resident except for what it finds.
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
    /// Whether each roster id is live (known and not rejected), for the lines read in bulk.
    let isLive: [Bool]
    /// Each roster's chain: the rosters of one program joined by overlapping periods (a line
    /// of one chain can be paid twice only with a line of the same chain), numbered from 0.
    let chain: [Int32]
    let chains: Int
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
        isLive = table.map { $0?.live ?? false }
        (chain, chains) = Self.chains(spans)
        path = db.path
        self.today = today
    }

    func live(_ id: Int64) -> RosterInfo? {
        guard id >= 0, id < rosters.count, let r = rosters[Int(id)], r.live else { return nil }
        return r
    }

    func isLive(_ id: Int64) -> Bool { id >= 0 && id < isLive.count && isLive[Int(id)] }

    /// Runs every rule over the whole county (two workers where there are two cores) and
    /// returns every finding, rule by rule in the order of `WarningRule.allCases`, each rule's
    /// findings sorted by subject.
    func run() throws -> [Finding] {
        let meeting = Meeting()
        let outcomes = [0, 1].parallelMap(minimumChunk: 1) { worker -> Result<PassOutput, any Error> in
            Result {
                if worker == 0 { return try residentPass(ascending: true, meeting) }
                var out = try registerRules()
                out.findings += try householdPass()   // WarningScan+Households.swift
                out.add(try residentPass(ascending: false, meeting))
                return out
            }
        }
        let up = try outcomes[0].get(), down = try outcomes[1].get()
        let shared = try sharedAccounts(inRegister: up.registerShared.merging(down.registerShared) { a, _ in a },
                                        onLines: up.onLines + down.onLines, try reader(mapped: false))
        return Self.ordered(up.findings + down.findings + shared)
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
        /// Accounts named on live lines for a resident the register does not name for them.
        var onLines: [(account: String, resident: String)] = []
        /// Accounts the register names for more than one resident, with those residents.
        var registerShared: [String: [String]] = [:]

        mutating func add(_ other: PassOutput) {
            findings += other.findings
            onLines += other.onLines
            registerShared.merge(other.registerShared) { a, _ in a }
        }
    }

    // MARK: The resident pass

    /// One resident's live lines while the pass reads them (each account kept once: a
    /// resident's lines arrive with their accounts sorted).
    struct Group {
        var resident: [UInt8] = []
        var accounts: [UInt8] = []
        var lines: [(account: Range<Int>, roster: Int64, line: Int64)] = []

        func account(_ i: Int) -> ArraySlice<UInt8> { accounts[lines[i].account] }
        var residentText: String { String(decoding: resident, as: UTF8.self) }

        mutating func start(_ resident: UnsafeBufferPointer<UInt8>) {
            self.resident.removeAll(keepingCapacity: true)
            self.resident.append(contentsOf: resident)
            accounts.removeAll(keepingCapacity: true)
            lines.removeAll(keepingCapacity: true)
        }

        mutating func add(roster: Int64, line: Int64, account: UnsafeBufferPointer<UInt8>) {
            if let last = lines.last, WarningScan.equal(accounts[last.account], account) {
                lines.append((last.account, roster, line))
                return
            }
            let start = accounts.count
            accounts.append(contentsOf: account)
            lines.append((start..<accounts.count, roster, line))
        }
    }

    /// Where the two ends of the resident pass have got to. Each end claims the residents
    /// whose IDs begin with one prefix (`claimPrefix` bytes: region and birth date, a few
    /// hundred people in a county) before reading the first of them, and stops at the first
    /// prefix the other end has claimed, so every resident is read by exactly one end (a
    /// prefix's residents are neighbours in either order). Prefixes compare as SQLite's BINARY
    /// collation orders the IDs (bytes, then length), and cutting IDs keeps that order.
    final class Meeting: @unchecked Sendable {
        // Safe: read and written only under `lock`.
        private let lock = NSLock()
        private var up: [UInt8] = [], down: [UInt8] = []
        private var claimedUp = false, claimedDown = false

        func claim(_ resident: UnsafeBufferPointer<UInt8>, ascending: Bool) -> Bool {
            lock.lock()
            defer { lock.unlock() }
            if ascending {
                if claimedDown && WarningScan.compare(resident, down) >= 0 { return false }
                up.removeAll(keepingCapacity: true)
                up.append(contentsOf: resident)
                claimedUp = true
            } else {
                if claimedUp && WarningScan.compare(resident, up) <= 0 { return false }
                down.removeAll(keepingCapacity: true)
                down.append(contentsOf: resident)
                claimedDown = true
            }
            return true
        }
    }

    /// A read-only connection of the pass's own, with the keys given in a temporary table
    /// `wanted` (filled by `selects`, kept sorted, for joins that read the history in order)
    /// and lists of roster ids as tables named by `ids`. With `mapped` it reads the file
    /// through a memory map (no system call per page: an incremental run's joins seek all over
    /// the history's indexes); the full run reads each index once in order, page by page, where
    /// a map only added page faults and gigabytes of resident memory (2.8 s and 2.3 GB against
    /// 2.7 s and 160 MB for the 4M-resident county).
    func reader(mapped: Bool = true, filling selects: [String] = [], ids: [String: [Int64]] = [:]) throws -> Database {
        let db = try Database(path: path, create: false)   // the county's own file, never a new one
        if mapped { try db.execute("PRAGMA mmap_size=17179869184") }
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

    /// The bytes of an ID that `Meeting` claims at once (region and birth date).
    static let claimPrefix = 14

    /// One end of the resident pass: the register and the lines side by side, resident by
    /// resident, up from the first (`ascending`) or down from the last, each prefix of
    /// `prefix` bytes claimed in `meeting` before its first resident is read. Stops at the
    /// first prefix the other end has claimed (or, for tests, before claiming a prefix beyond
    /// `limit`).
    func residentPass(ascending: Bool, _ meeting: Meeting, prefix: Int = claimPrefix, limit: Int = .max) throws -> PassOutput {
        let db = try reader(mapped: false)
        let order = ascending ? "" : " DESC"
        // Without the line numbers (one column less a line): a resident whose lines could hold a
        // finding is read again with them (`whole`).
        let lines = try db.statement("""
            SELECT resident_id, account_number, roster_id FROM roster_line INDEXED BY roster_line_resident
            ORDER BY resident_id\(order), account_number\(order)
            """)
        let whole = try db.statement("""
            SELECT account_number, roster_id, line_no FROM roster_line INDEXED BY roster_line_resident
            WHERE resident_id = ? ORDER BY account_number
            """)
        let register = try db.statement("SELECT resident_id, account_number FROM resident ORDER BY resident_id\(order)")
        try lines.bind([])
        try register.bind([])
        defer { lines.reset(); register.reset() }
        var out = PassOutput()
        var twice: [Twice] = []
        var g = Group()
        // The register's row at hand, copied (a statement's text is valid until it steps).
        var registered: [UInt8] = [], account: [UInt8] = []
        func nextRegistered() throws -> Bool {
            guard try register.step() else { return false }
            registered.removeAll(keepingCapacity: true)
            registered.append(contentsOf: register.row.utf8(0))
            account.removeAll(keepingCapacity: true)
            account.append(contentsOf: register.row.utf8(1))
            return true
        }
        var inRegister = try nextRegistered(), onLines = try lines.step()
        // The resident of the line at hand (each column is asked for once a line: a call into
        // SQLite costs as much as the rest of a line's work).
        var lineResident = onLines ? lines.row.utf8(0) : UnsafeBufferPointer(start: nil, count: 0)
        var claimed = 0, residents: UInt32 = 0
        var held: [UInt8]? = nil   // the prefix this end holds
        /// Whether this end may read `id`: a resident of the prefix held is its already;
        /// another prefix is claimed first.
        func take(_ id: UnsafeBufferPointer<UInt8>) -> Bool {
            if let held, Self.begins(id, with: held, prefix) { return true }
            let start = UnsafeBufferPointer(rebasing: id.prefix(prefix))
            guard claimed < limit, meeting.claim(start, ascending: ascending) else { return false }
            held = Array(start)
            claimed += 1
            return true
        }
        var stamps = [UInt32](repeating: 0, count: chains)
        while inRegister || onLines {
            // Which comes next in this direction: the register's resident (> 0), the lines' (< 0), or both (0).
            var next = inRegister ? 1 : -1
            if inRegister && onLines { next = (ascending ? 1 : -1) * Self.compare(lineResident, registered) }
            guard next > 0 ? registered.withUnsafeBufferPointer(take) : take(lineResident) else { break }
            residents &+= 1
            if next > 0 { registered.withUnsafeBufferPointer { g.start($0) } } else { g.start(lineResident) }
            while next <= 0 && onLines {
                let r = lines.row
                let roster = r.int64(2)
                if isLive(roster) { g.add(roster: roster, line: 0, account: r.utf8(1)) }
                onLines = try lines.step()
                guard onLines else { break }
                lineResident = r.utf8(0)
                if !Self.equal(g.resident, lineResident) { break }
            }
            // Invalid IDs: the register's when the resident is registered, else the rosters'.
            if next >= 0 || !g.lines.isEmpty,
               g.resident.withUnsafeBufferPointer({ ResidentID.problem(in: $0, today: today) }) != nil {
                out.findings.append(invalidID(g.residentText, where: next >= 0 ? "register" : "roster"))
            }
            // Accounts on the lines that the register does not name for this resident.
            for i in g.lines.indices where i == 0 || g.lines[i].account != g.lines[i - 1].account {
                if next == 0 && account.withUnsafeBufferPointer({ Self.equal(g.account(i), $0) }) { continue }
                out.onLines.append((String(decoding: g.account(i), as: UTF8.self), g.residentText))
            }
            if Self.severalAccounts(in: g) || sameChain(g, stamps: &stamps, group: residents) && overlaps(g) {
                whole.reset()
                try whole.bind(1, utf8Text: g.resident)
                g.accounts.removeAll(keepingCapacity: true)
                g.lines.removeAll(keepingCapacity: true)
                while try whole.step() {
                    let r = whole.row
                    if isLive(r.int64(1)) { g.add(roster: r.int64(1), line: r.int64(2), account: r.utf8(0)) }
                }
                whole.reset()
                check(g, into: &out, twice: &twice)
            }
            if next >= 0 { inRegister = try nextRegistered() }
        }
        out.findings += try paidTwice(twice, db)
        return out
    }

    /// Reads `sql`'s rows (resident, account, roster, line; in resident then account order)
    /// one resident at a time, and checks each resident's lines of the rosters `keep` gives.
    func checkGroups(_ db: Database, _ sql: String, into out: inout PassOutput, twice: inout [Twice],
                     lines keep: (Int64) -> RosterInfo?) throws {
        var g = Group()
        try db.forEach(sql) { r in
            let resident = r.utf8(0)
            if !Self.equal(g.resident, resident) {
                check(g, into: &out, twice: &twice)
                g.start(resident)
            }
            if keep(r.int64(2)) != nil { g.add(roster: r.int64(2), line: r.int64(3), account: r.utf8(1)) }
        }
        check(g, into: &out, twice: &twice)
    }

    /// One resident's live lines, as a group: several accounts in one period, and paid twice
    /// (kept in `twice`, gathered by `paidTwice` afterwards).
    func check(_ g: Group, into out: inout PassOutput, twice: inout [Twice]) {
        guard g.lines.count > 1 else { return }
        if Self.severalAccounts(in: g) { out.findings += severalAccounts(g) }
        // Paid twice: gathered afterwards for the few found.
        func info(_ i: Int) -> RosterInfo { rosters[Int(g.lines[i].roster)]! }
        guard overlaps(g) else { return }
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

    /// The chains of `spans` (rosters by id): per program, in order of first month, a roster
    /// whose first month is after every month of the chain so far starts a new one.
    static func chains(_ spans: [(program: Int32, first: Int32, last: Int32)]) -> ([Int32], Int) {
        var chain = [Int32](repeating: -1, count: spans.count)
        var count: Int32 = 0
        var current: (program: Int32, last: Int32)? = nil
        for id in spans.indices.sorted(by: { (spans[$0].program, spans[$0].first) < (spans[$1].program, spans[$1].first) }) {
            let s = spans[id]
            if let c = current, c.program == s.program, s.first <= c.last {
                current = (c.program, max(c.last, s.last))
            } else {
                count += 1
                current = (s.program, s.last)
            }
            chain[id] = count - 1
        }
        return (chain, Int(count))
    }

    /// Whether two of `g`'s lines are of one chain (so could be paid twice), by stamping each
    /// line's chain with `group`, a number new for each group: one look per line.
    func sameChain(_ g: Group, stamps: inout [UInt32], group: UInt32) -> Bool {
        guard g.lines.count > 1 else { return false }
        return chain.withUnsafeBufferPointer { chain in
            stamps.withUnsafeMutableBufferPointer { stamps in
                for l in g.lines {
                    let c = Int(chain[Int(l.roster)])
                    if stamps[c] == group { return true }
                    stamps[c] = group
                }
                return false
            }
        }
    }

    /// More than one account on a resident's lines (equal accounts share one range: `Group.add`).
    static func severalAccounts(in g: Group) -> Bool {
        g.lines.contains { $0.account != g.lines[0].account }
    }

    /// Two of a resident's lines for one program whose periods overlap (a year and one of its
    /// months, say; equal periods overlap), found without allocating.
    func overlaps(_ g: Group) -> Bool {
        guard g.lines.count > 1 else { return false }
        return spans.withUnsafeBufferPointer { spans in
            for i in 1..<g.lines.count {
                let a = spans[Int(g.lines[i].roster)]
                for j in 0..<i {
                    let b = spans[Int(g.lines[j].roster)]
                    if a.program == b.program && a.first <= b.last && b.first <= a.last { return true }
                }
            }
            return false
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

    // MARK: The register rules

    /// The rules that read the register's indexes and the lists, and few lines each.
    func registerRules() throws -> PassOutput {
        let db = try reader(mapped: false)
        var out = PassOutput()
        out.registerShared = try registerShared(db)
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

    /// The accounts the register names for more than one resident, with those residents: the
    /// register's account index (`resident_account`) read in order, each account compared with
    /// the one before; the residents of the few named twice are read after.
    func registerShared(_ db: Database) throws -> [String: [String]] {
        var twice: [String] = []
        var last: [UInt8] = []
        try db.forEach("SELECT account_number FROM resident INDEXED BY resident_account WHERE account_number <> '' ORDER BY account_number") { r in
            let account = r.utf8(0)
            if Self.equal(last, account) {
                if twice.last.map({ !$0.utf8.elementsEqual(account) }) ?? true { twice.append(String(decoding: account, as: UTF8.self)) }
            } else {
                last.removeAll(keepingCapacity: true)
                last.append(contentsOf: account)
            }
        }
        let named = try db.statement("SELECT resident_id FROM resident WHERE account_number = ? AND account_number <> ''")
        var found: [String: [String]] = [:]
        for account in twice {
            try named.forEach([account]) { found[account, default: []].append($0.text(0)) }
        }
        return found
    }

    /// 一卡多人: one account named for several residents, in the register or on live rosters:
    /// those the register names it for (`inRegister`, where that is more than one; otherwise
    /// looked up in its account index) and the residents whose live lines name it while the
    /// register does not name it for them (`onLines`).
    func sharedAccounts(inRegister: [String: [String]], onLines: [(account: String, resident: String)], _ db: Database) throws -> [Finding] {
        var people = inRegister.mapValues(Set.init)
        let holders = try db.statement("SELECT resident_id FROM resident WHERE account_number = ? AND account_number <> ''")
        for (account, resident) in onLines {
            if people[account] == nil {
                var named: Set<String> = []
                try holders.forEach([account]) { named.insert($0.text(0)) }
                people[account] = named
            }
            people[account]!.insert(resident)
        }
        return people.compactMap { Self.sharedAccount($0.key, $0.value) }
    }

    /// 一卡多人 for one account and the residents it is named for.
    static func sharedAccount(_ account: String, _ people: Set<String>) -> Finding? {
        guard people.count > 1 else { return nil }
        let sorted = people.sorted()
        return Finding(rule: .sharedAccount, subject: account,
                       evidence: ["accountNumber": .string(account), "residents": .array(sorted.map { .string($0) })],
                       residents: sorted)
    }

    static func equal<C: Collection<UInt8>>(_ a: C, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard let base = b.baseAddress, b.count > 0 else { return true }
        return a.withContiguousStorageIfAvailable { memcmp($0.baseAddress!, base, b.count) == 0 } ?? a.elementsEqual(b)
    }

    /// Whether `id`'s first `length` bytes (all of it, when shorter) are `prefix`.
    static func begins(_ id: UnsafeBufferPointer<UInt8>, with prefix: [UInt8], _ length: Int) -> Bool {
        let n = min(id.count, length)
        guard n == prefix.count else { return false }
        return equal(prefix, UnsafeBufferPointer(rebasing: id.prefix(n)))
    }

    /// SQLite's BINARY order of two texts: bytes, then length (negative: `a` first).
    static func compare(_ a: UnsafeBufferPointer<UInt8>, _ b: [UInt8]) -> Int {
        let n = min(a.count, b.count)
        let c = n == 0 ? 0 : b.withUnsafeBufferPointer { memcmp(a.baseAddress!, $0.baseAddress!, n) }
        return c != 0 ? Int(c) : a.count - b.count
    }
}

