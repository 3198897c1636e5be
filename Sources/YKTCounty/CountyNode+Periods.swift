import YKTCore
import YKTStore

/// Periods follow the program's 发放频次, and each policy-list version applies from its first
/// period (docs/conventions.md, "Periods and frequencies").
extension CountyNode {
    // MARK: Applications from townships

    /// The period of an `application.record` re-checked as a hostile township might have skipped
    /// it: its form must be the county program's frequency's (`YKT-PERIOD-FREQUENCY`), and it
    /// must not overlap an application the county already accepted for the same person and
    /// program (`YKT-APPLICATION-DUPLICATE` when equal, `YKT-APPLICATION-OVERLAP` otherwise; for
    /// a 一次性 program any earlier one). Records the period when the operation is kept (the
    /// caller's savepoint drops it when a later check refuses). nil when all is well.
    func checkApplicationPeriod(_ data: JSONValue, node: String) throws -> Decision? {
        let rid = try data.requiredString("residentId")
        let code = try data.requiredString("program")
        let period = try Period(parsing: try data.requiredString("period"))
        var frequency: PaymentFrequency?
        if let text = try db.first("SELECT frequency FROM program WHERE code = ?", code, map: { $0.text(0) }) {
            guard let f = PaymentFrequency(rawValue: text) else {
                return .rejected(.programFrequency, "县里项目 \(code) 的发放频次「\(text)」不是 每年、每季、每月、一次性 之一，须重新发布清单")
            }
            try f.check(period, program: code)
            frequency = f
        }
        let earlier = try db.all("SELECT period FROM application_period WHERE resident_id = ? AND program = ? ORDER BY period",
                                 rid, code) { $0.text(0) }
        for text in earlier {
            guard let existing = try? Period(parsing: text) else { continue }
            if existing == period {
                return .rejected(.applicationDuplicate, "\(Masking.residentID(rid)) 项目 \(code) 期次 \(period) 县里已有申请")
            }
            if frequency?.collides(period, with: existing) ?? period.overlaps(existing) {
                return .rejected(.applicationOverlap, frequency == .once
                                 ? "\(Masking.residentID(rid)) 已申请过一次性项目 \(code)（期次 \(existing)），不能再申请"
                                 : "\(Masking.residentID(rid)) 项目 \(code) 期次 \(period) 与县里已有的 \(existing) 重叠")
            }
        }
        try db.run("INSERT INTO application_period(resident_id, program, period, node_id) VALUES (?, ?, ?, ?)",
                   rid, code, period.description, node)
        return nil
    }

    // MARK: Policy-list versions

    /// Keeps every program version of a list being published. A version already kept must come
    /// back unchanged (its standard, unit, frequency and first period are history; a change is a
    /// new version number): otherwise `YKT-PROGRAM-INVALID` and nothing is published.
    func keepVersions(_ programs: [Program], publishedIn: Int) throws {
        for p in programs {
            let first = p.firstPeriod?.description
            if let kept = try db.first("""
                SELECT unit, standard_fen, frequency, first_period FROM program_version WHERE code = ? AND version = ?
                """, p.code, p.version, map: { (unit: $0.text(0), standard: $0.int64(1), frequency: $0.text(2), first: $0.optionalText(3)) }) {
                guard kept.unit == p.unit.rawValue, kept.standard == p.standard.value, kept.frequency == p.frequency,
                      kept.first == first else {
                    throw YKTError(.programInvalid,
                                   "项目 \(p.code) 版本 \(p.version) 已经发布过（标准 \(Fen(kept.standard).yuan) 元，频次 \(kept.frequency)，起始期次 \(kept.first ?? "无")），这次的内容不同",
                                   hint: "改动标准、单位、频次或起始期次须用新的版本号")
                }
                continue
            }
            try db.run("""
                INSERT INTO program_version(code, version, first_period, unit, standard_fen, frequency, published_in)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, p.code, p.version, first, p.unit.rawValue, p.standard.value, p.frequency, publishedIn)
        }
    }

    /// One kept version of a program: what the above-standard rule needs.
    struct ProgramVersion: Sendable {
        var version: Int
        /// The first month it applies to (`Period.monthSpan`), nil from the start.
        var firstMonth: Int?
        var unit: ProgramUnit
        var standard: Int64
    }

    /// Every kept version of every program, by code.
    static func programVersions(_ db: Database) throws -> [String: [ProgramVersion]] {
        var out: [String: [ProgramVersion]] = [:]
        try db.forEach("SELECT code, version, first_period, unit, standard_fen FROM program_version ORDER BY code, version") { r in
            guard let unit = ProgramUnit(rawValue: r.text(3)) else { return }
            let first = r.optionalText(2).flatMap { try? Period(parsing: $0) }
            out[r.text(0), default: []].append(ProgramVersion(version: r.int(1), firstMonth: first?.monthSpan.lowerBound,
                                                              unit: unit, standard: r.int64(4)))
        }
        return out
    }

    /// The version in force for `period`: among those whose first period starts on or before
    /// the period's start (no first period: from the start), the latest start, then the highest
    /// version number. A period before every version's first period gets the earliest one.
    static func versionInForce(_ versions: [ProgramVersion], for period: Period) -> ProgramVersion? {
        let start = period.monthSpan.lowerBound
        func key(_ v: ProgramVersion) -> (Int, Int) { (v.firstMonth ?? Int.min, v.version) }
        let candidates = versions.filter { ($0.firstMonth ?? Int.min) <= start }
        if let v = candidates.max(by: { key($0) < key($1) }) { return v }
        return versions.min(by: { key($0) < key($1) })
    }
}
