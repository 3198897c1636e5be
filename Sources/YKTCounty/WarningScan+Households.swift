import YKTCore
import YKTStore

/// The household rules (一人（户）一卡, docs/conventions.md), over the live lines of
/// per-household programs only: those have the household they paid (`household_line`), so the
/// pass reads few lines however large the county.
///
/// - **一户多卡** (`one-household-several-accounts`): in one calendar year, the lines that paid a
///   household (township + 户号, as written on each line) went to more than one designated
///   account. One household's subsidies belong on one card; a card changed within the year also
///   shows here, for someone to check and dismiss.
/// - **一户重复发放** (`household-paid-twice`): two live lines of one per-household program whose
///   periods collide, for different residents of one household: the household written on both
///   lines, or the household one of them belongs to now (a 户号 changed between rosters, say).
///   The same resident twice is the person rule's (`paid-twice`).
extension WarningScan {
    struct HouseholdLine {
        var roster: Int64
        var line: Int64
        var resident: String
        var account: String
        var amount: Int64
        var info: RosterInfo
        /// Township + 户号 written on the line, and the one the resident is in now (-1: none),
        /// as numbers into `HouseholdLines.names`.
        var written: Int32
        var now: Int32
    }

    /// The lines read, with the households numbered (a county has hundreds of thousands of
    /// lines of per-household programs: grouped by number and sorted, not by text in
    /// dictionaries, and nothing allocated per group without a finding).
    struct HouseholdLines {
        var lines: [HouseholdLine] = []
        var names: [String] = []
        var numbers: [String: Int32] = [:]

        mutating func number(_ household: String) -> Int32 {
            if let n = numbers[household] { return n }
            let n = Int32(names.count)
            names.append(household)
            numbers[household] = n
            return n
        }

        /// `keys` (a household number, a second key, a line) in order, one group of lines per
        /// first two keys: `body` is called with each group's household and lines.
        func groups(_ keys: [(household: Int32, key: Int32, line: Int32)], _ body: (String, ArraySlice<Int32>) -> Void) {
            let sorted = keys.sorted { ($0.household, $0.key, $0.line) < ($1.household, $1.key, $1.line) }
            let indices = sorted.map(\.line)
            var start = 0
            while start < sorted.count {
                var end = start + 1
                while end < sorted.count && sorted[end].household == sorted[start].household && sorted[end].key == sorted[start].key { end += 1 }
                body(names[Int(sorted[start].household)], indices[start..<end])
                start = end
            }
        }
    }

    /// The household rules over every household (a full run), or over `only` (township/户号:
    /// an incremental run's households), reading every line that paid one of them: written
    /// with it, or paid to someone in it now.
    func householdPass(only: Set<String>? = nil) throws -> [Finding] {
        if let only, only.isEmpty { return [] }
        let db = try reader()
        let columns = """
            SELECT l.roster_id, l.line_no, l.resident_id, l.account_number, l.amount_fen, h.household,
                   coalesce(m.node_id, ''), coalesce(m.household, '')
            """
        let sql: String
        if let only {
            try db.execute("PRAGMA query_only=0")
            try db.execute("CREATE TEMP TABLE households(node_id TEXT NOT NULL, household TEXT NOT NULL, PRIMARY KEY (node_id, household)) WITHOUT ROWID")
            let add = try db.statement("INSERT OR IGNORE INTO temp.households(node_id, household) VALUES (?, ?)")
            try db.execute("BEGIN")
            for key in only.sorted() {
                let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
                if parts.count == 2 { try add.run([parts[0], parts[1]]) }
            }
            try db.execute("COMMIT")
            try db.execute("PRAGMA query_only=1")
            sql = """
                \(columns) FROM temp.households w CROSS JOIN household_line h ON h.node_id = w.node_id AND h.household = w.household
                JOIN roster_line l ON l.roster_id = h.roster_id AND l.line_no = h.line_no
                LEFT JOIN resident m ON m.resident_id = l.resident_id
                UNION
                \(columns) FROM temp.households w CROSS JOIN resident m ON m.node_id = w.node_id AND m.household = w.household AND m.household <> ''
                JOIN roster_line l INDEXED BY roster_line_resident ON l.resident_id = m.resident_id
                JOIN household_line h ON h.roster_id = l.roster_id AND h.line_no = l.line_no
                """
        } else {
            sql = """
                \(columns) FROM household_line h JOIN roster_line l ON l.roster_id = h.roster_id AND l.line_no = h.line_no
                LEFT JOIN resident m ON m.resident_id = l.resident_id
                """
        }
        var h = HouseholdLines()
        try db.forEach(sql) { r in
            guard let info = live(r.int64(0)) else { return }
            let written = h.number(info.node + "/" + r.text(5))
            let now = r.utf8(6).elementsEqual(info.node.utf8) && r.utf8(7).count > 0 ? h.number(info.node + "/" + r.text(7)) : -1
            h.lines.append(HouseholdLine(roster: r.int64(0), line: r.int64(1), resident: r.text(2), account: r.text(3),
                                         amount: r.int64(4), info: info, written: written, now: now))
        }
        // Only the households asked for: their groups are whole; others' may not be.
        return severalAccounts(h).filter { only?.contains(Self.household(of: $0.subject)) ?? true }
            + paidTwice(h).filter { only?.contains(Self.household(of: $0.subject)) ?? true }
    }

    /// township/户号 of a household finding's subject (township/户号/…).
    static func household(of subject: String) -> String {
        subject.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).prefix(2).joined(separator: "/")
    }

    static func place(_ l: HouseholdLine) -> String { "\(l.info.node) 清册\(l.roster)第\(l.line)行" }

    static func evidence(_ household: String, _ lines: [HouseholdLine]) -> [String: JSONValue] {
        let parts = household.split(separator: "/", maxSplits: 1).map(String.init)
        let sorted = lines.sorted { ($0.roster, $0.line) < ($1.roster, $1.line) }
        return ["township": .string(parts.first ?? ""), "household": .string(parts.count > 1 ? parts[1] : ""),
                "residents": .array(Set(lines.map(\.resident)).sorted().map { .string($0) }),
                "lines": .string(sorted.map(place).joined(separator: "；")),
                "totalFen": .int(lines.reduce(0) { $0 + $1.amount })]
    }

    /// 一户多卡: per household (as written on the lines) and calendar year, more than one account.
    func severalAccounts(_ h: HouseholdLines) -> [Finding] {
        var years: [Int32: Int32] = [:]   // period key → year (absent: not a period we can read)
        var keys: [(household: Int32, key: Int32, line: Int32)] = []
        keys.reserveCapacity(h.lines.count)
        for (i, l) in h.lines.enumerated() {
            if years[l.info.periodKey] == nil, let year = (try? Period(parsing: l.info.period))?.year { years[l.info.periodKey] = Int32(year) }
            guard let year = years[l.info.periodKey] else { continue }
            keys.append((l.written, year, Int32(i)))
        }
        var found: [Finding] = []
        h.groups(keys) { household, indices in
            let first = h.lines[Int(indices.first!)].account
            guard indices.contains(where: { h.lines[Int($0)].account != first }) else { return }
            let group = indices.map { h.lines[Int($0)] }
            let accounts = Set(group.map(\.account)).sorted()
            let year = String(years[group[0].info.periodKey]!)
            var evidence = Self.evidence(household, group)
            evidence["year"] = .string(year)
            evidence["accounts"] = .array(accounts.map { .string($0) })
            found.append(Finding(rule: .householdSeveralAccounts, subject: household + "/" + year, evidence: .object(evidence),
                                 residents: Set(group.map(\.resident)).sorted()))
        }
        return found
    }

    /// 一户重复发放: per household (written on a line, or the resident's now) and program, the
    /// runs of lines whose periods collide, with more than one resident among them.
    func paidTwice(_ h: HouseholdLines) -> [Finding] {
        var keys: [(household: Int32, key: Int32, line: Int32)] = []
        keys.reserveCapacity(h.lines.count)
        for (i, l) in h.lines.enumerated() {
            keys.append((l.written, l.info.programKey, Int32(i)))
            if l.now >= 0 && l.now != l.written { keys.append((l.now, l.info.programKey, Int32(i))) }
        }
        var found: [Finding] = []
        h.groups(keys) { household, indices in
            let first = h.lines[Int(indices.first!)].resident
            guard indices.contains(where: { h.lines[Int($0)].resident != first }) else { return }
            // Widest first at each start, so a run's first line names its period.
            let sorted = indices.map { h.lines[Int($0)] }.sorted {
                ($0.info.firstMonth, -Int64($0.info.lastMonth), $0.roster, $0.line) < ($1.info.firstMonth, -Int64($1.info.lastMonth), $1.roster, $1.line)
            }
            var run: [HouseholdLine] = []
            var end = Int32.min
            func emit() {
                guard Set(run.map(\.resident)).count > 1 else { return }
                var evidence = Self.evidence(household, run)
                evidence["program"] = .string(run[0].info.program)
                evidence["period"] = .string(run[0].info.period)
                found.append(Finding(rule: .householdPaidTwice, subject: "\(household)/\(run[0].info.program)/\(run[0].info.period)",
                                     evidence: .object(evidence), residents: Set(run.map(\.resident)).sorted()))
            }
            for l in sorted {
                if !run.isEmpty, l.info.firstMonth <= end {
                    run.append(l)
                    end = max(end, l.info.lastMonth)
                } else {
                    emit()
                    run = [l]
                    end = l.info.lastMonth
                }
            }
            emit()
        }
        return found
    }
}
