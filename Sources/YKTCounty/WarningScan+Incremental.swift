import YKTCore
import YKTStore

/// What changed since the last warning run (docs/conventions.md, "Warnings that cost what is
/// new"), read on the county's own connection before the scan reads anything else:
///
/// - **rosters** received since, or whose liveness changed (rejected since, say): every
///   resident and account on their lines is checked again;
/// - **registrations** since: the register's rows above the last run's rowid mark (rows are
///   only ever appended; a resident removed stays, with `removed_at`);
/// - **changes to residents already known**, and entries of the deceased and officials
///   lists: the triggers of county migration 27 write the resident (and the account before and
///   after) into `warning_dirty`; the rows read here (up to the highest id read) are deleted
///   when the run commits, so a change made during the run, even to the same resident, is
///   checked again by the next;
/// - **the policy list**: when its version changed (a standard, a frequency, a carrier), the
///   run is a full one.
struct WarningChanges: Sendable {
    /// No earlier run, or the policy list changed since: the run reads everything.
    var full: Bool
    var rosters: [Int64] = []
    /// The liveness of every roster the scan knows, to keep for the next run.
    var liveness: [(id: Int64, live: Bool)] = []
    var residentsFrom: Int64 = 0
    var residentsThrough: Int64 = 0
    /// Residents changed, with the account and household (township/户号) before and after.
    var dirty: [(resident: String, account: String, household: String?)] = []
    var dirtyThrough: Int64 = 0
    var policy: String = ""

    /// What the last run kept, against what `scan` sees now.
    init(_ db: Database, scan: WarningScan, forceFull: Bool) throws {
        let state = try db.first("SELECT resident_rowid, policy FROM warning_state WHERE id = 1") { ($0.int64(0), $0.text(1)) }
        policy = "\(try db.integer("SELECT coalesce(max(version), 0) FROM policy_version") ?? 0)/"
            + "\(try db.integer("SELECT count(*) FROM program_version") ?? 0)"
        full = forceFull || state == nil || state?.1 != policy
        residentsFrom = state?.0 ?? 0
        residentsThrough = try db.integer("SELECT coalesce(max(rowid), 0) FROM resident") ?? 0
        var kept: [Int64: Bool] = [:]
        try db.forEach("SELECT roster_id, live FROM warning_roster") { kept[$0.int64(0)] = $0.int64(1) != 0 }
        for (id, info) in scan.rosters.enumerated() {
            guard let info else { continue }
            let was = kept[Int64(id)]
            if was != info.live { liveness.append((Int64(id), info.live)) }
            // A roster never seen live and not live now has nothing to check.
            if was != info.live && (info.live || was == true) { rosters.append(Int64(id)) }
        }
        try db.forEach("SELECT id, resident_id, account_number, node_id, household FROM warning_dirty ORDER BY id") {
            dirty.append(($0.text(1), $0.text(2), $0.text(4).isEmpty ? nil : $0.text(3) + "/" + $0.text(4)))
            dirtyThrough = $0.int64(0)
        }
    }

    /// Writes what this run saw, in the run's transaction.
    func keep(_ db: Database, mode: String, at: String) throws {
        let roster = try db.statement("INSERT OR REPLACE INTO warning_roster(roster_id, live) VALUES (?, ?)")
        for r in liveness { try roster.run([r.id, Int64(r.live ? 1 : 0)]) }
        try db.run("DELETE FROM warning_dirty WHERE id <= ?", dirtyThrough)
        try db.run("""
            INSERT OR REPLACE INTO warning_state(id, resident_rowid, policy, mode, run_at) VALUES (1, ?, ?, ?, ?)
            """, residentsThrough, policy, mode, at)
    }
}

extension WarningScan {
    /// What an incremental run checked.
    struct Checked: Sendable {
        var rosters = 0
        var residents = 0
        var accounts = 0
    }

    /// The rules over what `changes` names, against the whole history through its indexes:
    /// each resident concerned is read with all their lines (`roster_line_resident`), each
    /// account with everyone it is named for in the register and on live lines
    /// (`resident_account`, `roster_line_account`), and the per-roster rules run on the
    /// rosters concerned. The findings are those a full run gives for the same subjects.
    func runIncremental(_ changes: WarningChanges) throws -> (findings: [Finding], checked: Checked) {
        let db = try reader()
        var households: Set<String> = []
        for d in changes.dirty {
            if let h = d.household { households.insert(h) }
        }
        // The households a line of a per-household program paid: the one written on it, and
        // the one its resident is in now.
        let paid = try db.statement("""
            SELECT h.household, coalesce(m.node_id, ''), coalesce(m.household, '') FROM household_line h
            JOIN roster_line l ON l.roster_id = h.roster_id AND l.line_no = h.line_no LEFT JOIN resident m ON m.resident_id = l.resident_id
            WHERE h.roster_id = ?
            """)
        for id in changes.rosters {
            guard let node = rosters[Int(id)]?.node else { continue }
            try paid.forEach([id]) { r in
                households.insert(node + "/" + r.text(0))
                if r.text(1) == node && !r.text(2).isEmpty { households.insert(node + "/" + r.text(2)) }
            }
        }
        try db.forEach("SELECT node_id, household FROM resident WHERE rowid > ? AND rowid <= ? AND household <> ''",
                       changes.residentsFrom, changes.residentsThrough) { households.insert($0.text(0) + "/" + $0.text(1)) }
        // The residents and accounts concerned go straight from the tables into each half's
        // temporary table (halves by a character of the key; two cores on the county's machine).
        let ids = changes.rosters.map(String.init).joined(separator: ",")
        func concerned(_ column: String, half: Int) -> [String] {
            func mine(_ c: String) -> String { "coalesce(unicode(substr(\(c), -2, 1)), 0) % 2 = \(half) AND \(c) <> ''" }
            // A line's account whose resident the register names for it already: that line
            // adds nobody to (or, rejected, takes nobody from) the people it is named for.
            let lineAccounts = column == "account_number" ? """
                 AND NOT EXISTS (SELECT 1 FROM main.resident r
                                 WHERE r.resident_id = l.resident_id AND r.account_number = l.account_number AND r.account_number <> '')
                """ : ""
            return (changes.rosters.isEmpty ? [] : ["SELECT l.\(column) FROM main.roster_line l WHERE l.roster_id IN (\(ids)) AND \(mine("l." + column))" + lineAccounts]) + [
                "SELECT \(column) FROM main.resident WHERE rowid > \(changes.residentsFrom) AND rowid <= \(changes.residentsThrough) AND \(mine(column))",
                "SELECT \(column) FROM main.warning_dirty WHERE id <= \(changes.dirtyThrough) AND \(mine(column))",
            ]
        }
        // Three parts on two cores: the line rules of the changed rosters, and each half of the
        // residents and accounts concerned.
        let selects = [0, 1].map { (residents: concerned("resident_id", half: $0), accounts: concerned("account_number", half: $0)) }
        let parts = [-1, 0, 1].parallelMap(minimumChunk: 1) { part -> Result<(findings: [Finding], residents: Int, accounts: Int), any Error> in
            Result {
                guard part >= 0 else { return (try lineRules(changes.rosters), 0, 0) }
                let (found, residents) = try residentChecks(selects[part].residents)
                let (shared, accounts) = try accountChecks(selects[part].accounts)
                return (found + shared, residents, accounts)
            }
        }
        let done = try parts.map { try $0.get() }
        var findings = done.flatMap(\.findings)
        let rosters = Set(changes.rosters)
        try aboveStandard(db, into: &findings, only: rosters)
        // The carrier rule's subject is a person, program and period: the live rosters of the
        // same program and period as a changed one are read again with it.
        let touched = Set(changes.rosters.compactMap { self.rosters[Int($0)] }.map { $0.program + "/" + $0.period })
        let siblings = self.rosters.indices.filter { self.rosters[$0].map { touched.contains($0.program + "/" + $0.period) } ?? false }
        try carrierTransition(db, into: &findings, only: Set(siblings.map(Int64.init)))
        findings += try householdPass(only: households)   // WarningScan+Households.swift
        return (Self.ordered(findings), Checked(rosters: changes.rosters.count, residents: done.reduce(0) { $0 + $1.residents },
                                                accounts: done.reduce(0) { $0 + $1.accounts }))
    }

    /// The per-resident rules of the register for the residents `selecting` names: the
    /// deceased and officials lists and invalid IDs, each read by one join of the residents
    /// with the history's indexes, in order.
    func residentChecks(_ selecting: [String]) throws -> (findings: [Finding], residents: Int) {
        let db = try reader(filling: selecting)
        var out = PassOutput()
        // Invalid IDs: the register's when the resident is registered (as a full run reports
        // them), otherwise the rosters' when they have a live line.
        let registered = try db.statement("SELECT 1 FROM resident WHERE resident_id = ?")
        let onRosters = try db.statement("SELECT roster_id FROM roster_line WHERE resident_id = ?")
        var invalid: [String] = []
        var residents = 0
        try db.forEach("SELECT key FROM temp.wanted") { r in
            residents += 1
            if ResidentID.problem(in: r.utf8(0), today: today) != nil { invalid.append(r.text(0)) }
        }
        for id in invalid {
            var inRegister = false, onLine = false
            try registered.forEach([id]) { _ in inRegister = true }
            if !inRegister { try onRosters.forEach([id]) { r in if live(r.int64(0)) != nil { onLine = true } } }
            if inRegister || onLine { out.findings.append(invalidID(id, where: inRegister ? "register" : "roster")) }
        }
        try db.forEach("""
            SELECT d.resident_id, d.died_on, d.source, l.roster_id, l.line_no
            FROM temp.wanted w CROSS JOIN deceased d ON d.resident_id = w.key CROSS JOIN roster_line l ON l.resident_id = d.resident_id
            """) { r in
            if let f = deceased(r.text(0), diedOn: r.text(1), source: r.text(2), roster: r.int64(3), line: r.int64(4)) { out.findings.append(f) }
        }
        var seen: Set<String> = []
        try db.forEach("""
            SELECT o.resident_id, o.unit, o.relation, o.source, l.roster_id
            FROM temp.wanted w CROSS JOIN official o ON o.resident_id = w.key CROSS JOIN roster_line l ON l.resident_id = o.resident_id
            """) { r in
            if let f = official(r.text(0), unit: r.text(1), relation: r.text(2), source: r.text(3), roster: r.int64(4), seen: &seen) {
                out.findings.append(f)
            }
        }
        return (out.findings, residents)
    }

    /// The line rules for the changed rosters `changed`: several accounts (for their periods)
    /// and paid twice (for their programs). A finding of these joins lines of one period, or of
    /// one program whose periods are chained by overlaps, so only such rosters are read: every
    /// live roster of a changed one's period, and of its program those joined to it by a chain
    /// of overlapping periods (the changed ones counted in the chain, live or not). When those
    /// rosters hold at most four times the changed rosters' lines they are read whole, in
    /// resident order (one sort); otherwise each resident of a changed roster is read with
    /// their lines through `roster_line_resident`. Either way the findings are those a full
    /// run gives for the same subjects.
    func lineRules(_ changed: [Int64]) throws -> [Finding] {
        guard !changed.isEmpty else { return [] }
        let infos = changed.compactMap { rosters[Int($0)] }
        let isChanged = Set(changed)
        let periods = Set(infos.map(\.periodKey))
        var read = Set(rosters.indices.filter { rosters[$0].map { $0.live && periods.contains($0.periodKey) } ?? false })
        for program in Set(infos.map(\.programKey)) {
            let members = rosters.indices.filter { i in
                rosters[i].map { $0.programKey == program && ($0.live || isChanged.contains(Int64(i))) } ?? false
            }.sorted { (rosters[$0]!.firstMonth, $0) < (rosters[$1]!.firstMonth, $1) }
            // Chains of overlapping periods, one after another in order of their first month.
            var chain: [Int] = [], end = Int32.min
            func close() {
                if chain.contains(where: { isChanged.contains(Int64($0)) }) { read.formUnion(chain.filter { rosters[$0]!.live }) }
                chain = []
            }
            for i in members {
                if !chain.isEmpty && rosters[i]!.firstMonth > end { close() }
                end = chain.isEmpty ? rosters[i]!.lastMonth : max(end, rosters[i]!.lastMonth)
                chain.append(i)
            }
            close()
        }
        func keep(_ id: Int64) -> RosterInfo? { read.contains(Int(id)) ? live(id) : nil }
        let whole = read.reduce(0) { $0 + rosters[$1]!.lines } <= 4 * infos.reduce(0) { $0 + $1.lines }
        let ids = changed.map(String.init).joined(separator: ",")
        let db = try reader(filling: whole ? [] : ["SELECT resident_id FROM main.roster_line WHERE roster_id IN (\(ids))"],
                            ids: ["relevant": read.map(Int64.init)])
        var out = PassOutput()
        var twice: [Twice] = []
        try checkGroups(db, whole ? """
            SELECT l.resident_id, l.account_number, l.roster_id, l.line_no
            FROM temp.relevant r CROSS JOIN roster_line l ON l.roster_id = r.id ORDER BY l.resident_id, l.account_number
            """ : """
            SELECT l.resident_id, l.account_number, l.roster_id, l.line_no
            FROM temp.wanted w CROSS JOIN roster_line l INDEXED BY roster_line_resident ON l.resident_id = w.key
            WHERE l.roster_id IN temp.relevant ORDER BY w.key, l.account_number
            """, into: &out, twice: &twice, lines: keep)
        // Findings of other periods and programs may lack rosters not read: left out.
        let programNames = Set(infos.map(\.program)), periodNames = Set(infos.map(\.period))
        let several = out.findings.filter {
            $0.rule == .severalAccounts && periodNames.contains(String($0.subject.split(separator: "/").last ?? ""))
        }
        return try several + paidTwice(twice.filter { programNames.contains(rosters[Int($0.named)]?.program ?? "") }, db)
    }

    /// 一卡多人 for the accounts `selecting` names. One row per account gives the least and the
    /// greatest resident it is named for on lines of rosters not rejected and in the register
    /// (`roster_line_account`, one seek in an index that holds the resident; `resident_account`,
    /// a seek and the few rows the account names); only an account where those differ is read
    /// in full, its lines judged live as the scan saw them.
    func accountChecks(_ selecting: [String]) throws -> (findings: [Finding], accounts: Int) {
        let dead = rosters.indices.filter { rosters[$0].map { !$0.live } ?? false }.map(Int64.init)
        let db = try reader(filling: selecting, ids: ["dead": dead])
        var candidates: [String] = []
        var accounts = 0
        try db.forEach("""
            SELECT w.key,
              (SELECT min(l.resident_id) FROM roster_line l INDEXED BY roster_line_account WHERE l.account_number = w.key AND l.roster_id NOT IN temp.dead),
              (SELECT max(l.resident_id) FROM roster_line l INDEXED BY roster_line_account WHERE l.account_number = w.key AND l.roster_id NOT IN temp.dead),
              (SELECT min(r.resident_id) FROM resident r INDEXED BY resident_account WHERE r.account_number = w.key AND r.account_number <> ''),
              (SELECT max(r.resident_id) FROM resident r INDEXED BY resident_account WHERE r.account_number = w.key AND r.account_number <> '')
            FROM temp.wanted w
            """) { r in
            accounts += 1
            var one: UnsafeBufferPointer<UInt8>? = nil
            for i in 1...4 where !r.isNull(i) {
                let who = r.utf8(i)
                if let one, !one.elementsEqual(who) {
                    candidates.append(r.text(0))
                    return
                }
                one = who
            }
        }
        let onLines = try db.statement("SELECT resident_id, roster_id FROM roster_line WHERE account_number = ?")
        let inRegister = try db.statement("SELECT resident_id FROM resident WHERE account_number = ? AND account_number <> ''")
        var found: [Finding] = []
        for account in candidates {
            var people: Set<String> = []
            try onLines.forEach([account]) { r in if live(r.int64(1)) != nil { people.insert(r.text(0)) } }
            try inRegister.forEach([account]) { people.insert($0.text(0)) }
            if let f = Self.sharedAccount(account, people) { found.append(f) }
        }
        return (found, accounts)
    }
}
