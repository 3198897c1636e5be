import YKTCore
import YKTNode
import YKTStore

/// 限时办理 (seed 000: 各补贴项目主管部门合理确定补贴资金兑付时限要求，实行限时办理): each roster's
/// township review, department review and finance approval against the working days its
/// program allows (`StepLimits`), on the county's calendar (docs/conventions.md, "限时办理").
extension CountyNode {
    /// Every timed step the county knows of, as it stood at the end of `asOf`: steps finished
    /// later than `asOf` count as not finished, steps started later are left out.
    ///
    /// - 乡镇审核 of a roster: from the latest close date of the notices that cleared its lines'
    ///   applications (for a version sent again after a return: from the day the county returned
    ///   the previous version) to the county's receipt. A secret program has no notice: its
    ///   first version has no township clock. A closed notice that cleared applications, with no
    ///   roster of the same township, program and period received since its close, and a
    ///   returned roster not yet sent again, are township reviews still open.
    /// - 部门审核: from receipt to the department's review (passed or returned).
    /// - 财政审批: from a passed review to finance's approval.
    ///
    /// A step whose count needs a year the calendar does not have is left out (`YKT-CAL-NODATA`
    /// is for the commands that date things, not for a status screen).
    ///
    /// `roster`: only that roster's steps (a roster's page). `openOnly`: only the steps not done
    /// by `asOf` (what `ykt status` and the console's queues show), which spares reading the lines
    /// of every received roster.
    /// The day the last notice behind roster `id`'s lines closed (nil: none), from its lines.
    func noticesClosedOn(roster id: Int64) throws -> String? {
        try db.first("""
            SELECT max(n.closed_on) FROM roster_line l JOIN application a ON a.entity = l.application
            JOIN notice n ON n.node_id = a.node_id AND n.entity = a.notice WHERE l.roster_id = ?
            """, id) { $0.optionalText(0) } ?? nil
    }

    public func timedSteps(asOf: CivilDate, roster only: Int64? = nil, openOnly: Bool = false) throws -> [TimedStep] {
        let calendar = try self.calendar
        struct Rules { var name: String; var limits: StepLimits }
        var programs: [String: Rules] = [:]
        try db.forEach("SELECT code, name, township_days, department_days, finance_days FROM program") { r in
            programs[r.text(0)] = Rules(name: r.text(1), limits: StepLimits(townshipReview: r.int(2), departmentReview: r.int(3),
                                                                          financeApproval: r.int(4)))
        }
        let towns = Dictionary(try db.all("SELECT node_id, name FROM township") { ($0.text(0), $0.text(1)) }, uniquingKeysWith: { a, _ in a })
        var out: [TimedStep] = []
        func add(_ step: ProcessingStep, node: String, program: String, period: String, subject: String, roster: Int64?,
                 start: String?, finished: String?) {
            guard let start = start.flatMap(Self.day), start <= asOf else { return }
            let rules = programs[program] ?? Rules(name: program, limits: .standard)
            let done = finished.flatMap(Self.day).flatMap { $0 <= asOf ? $0 : nil }
            if openOnly && done != nil { return }
            guard let clock = try? StepClock(step: step, start: start, limit: step.days(in: rules.limits), finished: done,
                                             today: asOf, calendar: calendar) else { return }
            out.append(TimedStep(township: node, townshipName: towns[node] ?? node, program: program, programName: rules.name,
                                 period: period, subject: subject, roster: roster, clock: clock))
        }
        // Rosters, every version.
        struct R { var id: Int64; var node: String; var entity: String; var version: Int; var program: String; var period: String
                   var status: String; var received: String; var reviewed: String?; var approved: String?; var noticesClosed: String? }
        let rosters = try db.all("""
            SELECT id, node_id, entity, version, program, period, status, received_at, reviewed_at, approved_at, notices_closed_on
            FROM roster ORDER BY id
            """) {
            R(id: $0.int64(0), node: $0.text(1), entity: $0.text(2), version: $0.int(3), program: $0.text(4), period: $0.text(5),
              status: $0.text(6), received: $0.text(7), reviewed: $0.optionalText(8), approved: $0.optionalText(9),
              noticesClosed: $0.optionalText(10))
        }
        var returnedOn: [String: String] = [:]   // "node|entity|version" → the day that version was returned
        for r in rosters where r.status == "rejected" { returnedOn["\(r.node)|\(r.entity)|\(r.version)"] = r.reviewed }
        var sentAgainOn: [String: CivilDate] = [:]   // "node|entity|version" → the day the next version arrived
        for r in rosters where r.version > 1 { sentAgainOn["\(r.node)|\(r.entity)|\(r.version - 1)"] = Self.day(r.received) }
        for r in rosters where only == nil || r.id == only {
            let subject = "清册 \(r.id)"
            // The township's review ends with the receipt: before it (as of `asOf`), the notice or
            // the returned version below stands for it, so it is counted once.
            let received = Self.day(r.received).map { $0 <= asOf } ?? false
            if received && !openOnly {
                var start: String?
                if r.version > 1 {
                    start = returnedOn["\(r.node)|\(r.entity)|\(r.version - 1)"]
                } else {
                    // Kept with the roster when received ('' when none); read from its lines
                    // only for a roster written some other way.
                    start = try r.noticesClosed.map { $0.isEmpty ? nil : $0 } ?? noticesClosedOn(roster: r.id)
                }
                add(.townshipReview, node: r.node, program: r.program, period: r.period, subject: subject, roster: r.id,
                    start: start, finished: r.received)
            }
            add(.departmentReview, node: r.node, program: r.program, period: r.period, subject: subject, roster: r.id,
                start: r.received, finished: r.reviewed)
            if r.status == "reviewed" || r.status == "approved" {
                add(.financeApproval, node: r.node, program: r.program, period: r.period, subject: subject, roster: r.id,
                    start: r.reviewed, finished: r.approved)
            }
            if r.status == "rejected", sentAgainOn["\(r.node)|\(r.entity)|\(r.version)"].map({ $0 > asOf }) ?? true {
                add(.townshipReview, node: r.node, program: r.program, period: r.period, subject: "\(subject)（退回重报）", roster: r.id,
                    start: r.reviewed, finished: nil)
            }
        }
        // Closed notices that cleared applications and after whose close no roster of the same
        // township, program and period has arrived: the township's review is running. (Read
        // from the rosters, not their lines: a county's lines run to hundreds of thousands.)
        if only != nil { return out }
        try db.forEach("""
            SELECT n.node_id, n.entity, n.program, n.period, n.closed_on FROM notice n
            WHERE n.status = 'closed' AND n.closed_on IS NOT NULL AND n.closed_on <= ?1
              AND NOT EXISTS (SELECT 1 FROM roster r WHERE r.program = n.program AND r.period = n.period AND r.node_id = n.node_id
                                AND substr(r.received_at, 1, 10) BETWEEN n.closed_on AND ?1)
              AND EXISTS (SELECT 1 FROM application a WHERE a.notice = n.entity AND a.node_id = n.node_id AND a.status = 'cleared')
            ORDER BY n.node_id, n.closed_on
            """, asOf.description) { r in
            let number = r.text(1).split(separator: "/").last.map(String.init) ?? r.text(1)
            add(.townshipReview, node: r.text(0), program: r.text(2), period: r.text(3), subject: "公示 \(number)（待报清册）",
                roster: nil, start: r.text(4), finished: nil)
        }
        return out
    }

    /// The steps not finished on `today` that are due or overdue, overdue first (most working
    /// days over first), then by due date.
    public func stepsDueOrOverdue(on today: CivilDate) throws -> (due: [TimedStep], waiting: Int) {
        let open = try timedSteps(asOf: today, openOnly: true)
        let shown = open.filter { $0.clock.state != .waiting }.sorted {
            ($0.clock.state == .overdue ? 0 : 1, -$0.clock.workingDaysOver, $0.clock.due, $0.township, $0.subject)
                < ($1.clock.state == .overdue ? 0 : 1, -$1.clock.workingDaysOver, $1.clock.due, $1.township, $1.subject)
        }
        return (shown, open.count - shown.count)
    }

    /// The monthly report's 限时办理 section: per step, the ones finished in `month` on time and
    /// late, and the ones unfinished and overdue at the month's last day.
    public func stepTallies(month: Period) throws -> [StepTally] {
        guard let m = month.month else { throw YKTError(.periodInvalid, "月报须给出月份，例如 2026-11", at: SourceLocation(field: "--month")) }
        let first = try CivilDate(parsing: "\(month)-01")
        let last = try CivilDate(parsing: "\(month)-\(CivilDate.daysIn(month: m, year: month.year))")
        var tallies = Dictionary(uniqueKeysWithValues: ProcessingStep.allCases.map { ($0, StepTally(step: $0)) })
        for s in try timedSteps(asOf: last) {
            switch s.clock.state {
            case .onTime where s.clock.finished.map({ $0 >= first }) ?? false: tallies[s.clock.step]!.onTime += 1
            case .late where s.clock.finished.map({ $0 >= first }) ?? false: tallies[s.clock.step]!.late += 1
            case .overdue: tallies[s.clock.step]!.overdue += 1
            default: break
            }
        }
        return ProcessingStep.allCases.map { tallies[$0]! }
    }

    /// The China date of a stored timestamp (`2026-10-13T08:00:02+08:00`) or date.
    static func day(_ text: String) -> CivilDate? {
        try? CivilDate(parsing: String(text.prefix(10)))
    }
}
