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
    /// A line of a per-household program, its texts as numbers into `HouseholdLines.texts`.
    struct HouseholdLine {
        var roster: Int64
        var line: Int64
        var resident: Int32
        var account: Int32
        var amount: Int64
        /// Township + 户号 written on the line, and the one the resident is in now (-1: none).
        var written: Int32
        var now: Int32
    }

    /// Byte strings numbered in the order first seen, in one arena with an open-addressing
    /// table: looking one up allocates nothing (a county has hundreds of thousands of lines of
    /// per-household programs, each with a household, a resident and an account).
    struct Interned {
        private var arena: [UInt8] = []
        private var ends: [Int] = [0]
        private var slots = [Int32](repeating: -1, count: 1 << 16)

        var count: Int { ends.count - 1 }

        func bytes(_ n: Int32) -> ArraySlice<UInt8> { arena[ends[Int(n)]..<ends[Int(n) + 1]] }
        func text(_ n: Int32) -> String { String(decoding: bytes(n), as: UTF8.self) }

        /// The number of `key`, numbering it when new.
        mutating func number(_ key: UnsafeBufferPointer<UInt8>) -> Int32 {
            let mask = slots.count - 1
            var i = Self.hash(key) & mask
            while slots[i] >= 0 {
                if WarningScan.equal(bytes(slots[i]), key) { return slots[i] }
                i = (i + 1) & mask
            }
            let n = Int32(count)
            arena.append(contentsOf: key)
            ends.append(arena.count)
            slots[i] = n
            if count * 2 > slots.count { grow() }
            return n
        }

        /// FNV-1a, its high bits folded into the low ones the table reads.
        private static func hash<C: Collection<UInt8>>(_ key: C) -> Int {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in key { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 }
            return Int(truncatingIfNeeded: hash ^ (hash >> 29))
        }

        private mutating func grow() {
            slots = [Int32](repeating: -1, count: slots.count * 2)
            let mask = slots.count - 1
            for n in 0..<Int32(count) {
                var i = Self.hash(bytes(n)) & mask
                while slots[i] >= 0 { i = (i + 1) & mask }
                slots[i] = n
            }
        }
    }

    /// The lines read, with the households, residents and accounts numbered (grouped by number
    /// and sorted, not by text in dictionaries, and nothing allocated per line or per group
    /// without a finding).
    struct HouseholdLines {
        var lines: [HouseholdLine] = []
        var texts = Interned()
        /// Township + "/" + 户号, put together without a `String`.
        private var key: [UInt8] = []

        mutating func household(_ node: String.UTF8View, _ household: UnsafeBufferPointer<UInt8>) -> Int32 {
            key.removeAll(keepingCapacity: true)
            key.append(contentsOf: node)
            key.append(UInt8(ascii: "/"))
            key.append(contentsOf: household)
            return key.withUnsafeBufferPointer { texts.number($0) }
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
                body(texts.text(sorted[start].household), indices[start..<end])
                start = end
            }
        }
    }

    /// The household rules over every household (a full run), or over `only` (township/户号:
    /// an incremental run's households), reading every line that paid one of them: written
    /// with it, or paid to someone in it now.
    func householdPass(only: Set<String>? = nil) throws -> [Finding] {
        if let only, only.isEmpty { return [] }
        let db = try reader(mapped: only != nil)
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
            let roster = r.int64(0)
            guard isLive(roster), let node = rosters[Int(roster)]?.node.utf8 else { return }
            let written = h.household(node, r.utf8(5))
            let now = r.utf8(6).elementsEqual(node) && r.utf8(7).count > 0 ? h.household(node, r.utf8(7)) : -1
            h.lines.append(HouseholdLine(roster: roster, line: r.int64(1), resident: h.texts.number(r.utf8(2)),
                                         account: h.texts.number(r.utf8(3)), amount: r.int64(4), written: written, now: now))
        }
        // Only the households asked for: their groups are whole; others' may not be.
        return severalAccounts(h).filter { only?.contains(Self.household(of: $0.subject)) ?? true }
            + paidTwice(h).filter { only?.contains(Self.household(of: $0.subject)) ?? true }
    }

    /// township/户号 of a household finding's subject (township/户号/…).
    static func household(of subject: String) -> String {
        subject.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false).prefix(2).joined(separator: "/")
    }

    func info(_ l: HouseholdLine) -> RosterInfo { rosters[Int(l.roster)]! }

    func evidence(_ household: String, _ lines: [HouseholdLine], _ h: HouseholdLines) -> [String: JSONValue] {
        let parts = household.split(separator: "/", maxSplits: 1).map(String.init)
        let sorted = lines.sorted { ($0.roster, $0.line) < ($1.roster, $1.line) }
        return ["township": .string(parts.first ?? ""), "household": .string(parts.count > 1 ? parts[1] : ""),
                "residents": .array(Self.texts(lines.map(\.resident), h).map { .string($0) }),
                "lines": .string(sorted.map { "\(info($0).node) 清册\($0.roster)第\($0.line)行" }.joined(separator: "；")),
                "totalFen": .int(lines.reduce(0) { $0 + $1.amount })]
    }

    /// The distinct texts of `numbers`, sorted.
    static func texts(_ numbers: [Int32], _ h: HouseholdLines) -> [String] {
        Set(numbers).map { h.texts.text($0) }.sorted()
    }

    /// 一户多卡: per household (as written on the lines) and calendar year, more than one account.
    func severalAccounts(_ h: HouseholdLines) -> [Finding] {
        var years: [Int32: Int32] = [:]   // period key → year (absent: not a period we can read)
        var keys: [(household: Int32, key: Int32, line: Int32)] = []
        keys.reserveCapacity(h.lines.count)
        for (i, l) in h.lines.enumerated() {
            let roster = info(l)
            if years[roster.periodKey] == nil, let year = (try? Period(parsing: roster.period))?.year { years[roster.periodKey] = Int32(year) }
            guard let year = years[roster.periodKey] else { continue }
            keys.append((l.written, year, Int32(i)))
        }
        var found: [Finding] = []
        h.groups(keys) { household, indices in
            let first = h.lines[Int(indices.first!)].account
            guard indices.contains(where: { h.lines[Int($0)].account != first }) else { return }
            let group = indices.map { h.lines[Int($0)] }
            let year = String(years[info(group[0]).periodKey]!)
            var evidence = evidence(household, group, h)
            evidence["year"] = .string(year)
            evidence["accounts"] = .array(Self.texts(group.map(\.account), h).map { .string($0) })
            found.append(Finding(rule: .householdSeveralAccounts, subject: household + "/" + year, evidence: .object(evidence),
                                 residents: Self.texts(group.map(\.resident), h)))
        }
        return found
    }

    /// 一户重复发放: per household (written on a line, or the resident's now) and program, the
    /// runs of lines whose periods collide, with more than one resident among them.
    func paidTwice(_ h: HouseholdLines) -> [Finding] {
        var keys: [(household: Int32, key: Int32, line: Int32)] = []
        keys.reserveCapacity(h.lines.count)
        for (i, l) in h.lines.enumerated() {
            let program = spans[Int(l.roster)].program
            keys.append((l.written, program, Int32(i)))
            if l.now >= 0 && l.now != l.written { keys.append((l.now, program, Int32(i))) }
        }
        var found: [Finding] = []
        h.groups(keys) { household, indices in
            let first = h.lines[Int(indices.first!)].resident
            guard indices.contains(where: { h.lines[Int($0)].resident != first }) else { return }
            // Widest first at each start, so a run's first line names its period.
            let sorted = indices.map { h.lines[Int($0)] }.sorted {
                let a = spans[Int($0.roster)], b = spans[Int($1.roster)]
                return (a.first, -Int64(a.last), $0.roster, $0.line) < (b.first, -Int64(b.last), $1.roster, $1.line)
            }
            var run: [HouseholdLine] = []
            var end = Int32.min
            func emit() {
                guard Set(run.map(\.resident)).count > 1 else { return }
                let named = info(run[0])
                var evidence = evidence(household, run, h)
                evidence["program"] = .string(named.program)
                evidence["period"] = .string(named.period)
                found.append(Finding(rule: .householdPaidTwice, subject: "\(household)/\(named.program)/\(named.period)",
                                     evidence: .object(evidence), residents: Self.texts(run.map(\.resident), h)))
            }
            for l in sorted {
                let span = spans[Int(l.roster)]
                if !run.isEmpty, span.first <= end {
                    run.append(l)
                    end = max(end, span.last)
                } else {
                    emit()
                    run = [l]
                    end = span.last
                }
            }
            emit()
        }
        return found
    }
}
