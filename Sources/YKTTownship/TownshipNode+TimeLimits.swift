import YKTCore
import YKTNode
import YKTStore

/// 限时办理 as the township sees it (docs/conventions.md, "限时办理"): its own review, from the
/// close of a notice (or the county's return of a roster) to the roster's submission, and, as far
/// as the county's messages have told it, the department review and finance approval of the
/// rosters it submitted. Counted on the calendar the county published.
extension TownshipNode {
    /// Every timed step of the current version of each roster here, and the township reviews of
    /// closed notices whose cleared applications are on no roster yet, as they stood on `today`.
    /// A step whose count needs a year the calendar does not have is left out. `openOnly`: only
    /// the steps not done (what `ykt status` shows), which spares reading submitted rosters' lines.
    public func timedSteps(on today: CivilDate, openOnly: Bool = false) throws -> [TimedStep] {
        struct Rules { var name: String; var limits: StepLimits }
        var programs: [String: Rules] = [:]
        try db.forEach("SELECT code, name, township_days, department_days, finance_days FROM program") { r in
            programs[r.text(0)] = Rules(name: r.text(1), limits: StepLimits(townshipReview: r.int(2), departmentReview: r.int(3),
                                                                          financeApproval: r.int(4)))
        }
        var out: [TimedStep] = []
        func add(_ step: ProcessingStep, program: String, period: String, subject: String, roster: Int64?,
                 start: String?, finished: String?) {
            guard let start = start.flatMap(Self.day), start <= today, !(openOnly && finished != nil) else { return }
            let rules = programs[program] ?? Rules(name: program, limits: .standard)
            guard let clock = try? StepClock(step: step, start: start, limit: step.days(in: rules.limits),
                                             finished: finished.flatMap(Self.day), today: today, calendar: calendar) else { return }
            out.append(TimedStep(township: config.nodeID, townshipName: config.name, program: program, programName: rules.name,
                                 period: period, subject: subject, roster: roster, clock: clock))
        }
        let closedOn = try db.statement("""
            SELECT max(n.closed_on) FROM roster_line l JOIN application a ON a.id = l.application_id
            JOIN notice n ON n.id = a.notice_id WHERE l.roster_id = ?
            """)
        let decisions = try db.statement("SELECT id, decision, at FROM roster_decision WHERE roster_id = ? ORDER BY id")
        try db.forEach("SELECT id, program_code, period, status, submitted_at FROM roster ORDER BY id") { r in
            let (id, program, period) = (r.int64(0), r.text(1), r.text(2))
            let submitted = r.text(3) == "submitted" ? r.optionalText(4) : nil
            // Only what the county said about the current version: after its last return.
            var returned: String?
            var said: [String: String] = [:]
            try decisions.forEach([id]) { d in
                if d.text(1) == "rejected" {
                    returned = d.text(2)
                    said = [:]
                } else {
                    said[d.text(1)] = d.text(2)
                }
            }
            let subject = "清册 \(id)"
            if !(openOnly && submitted != nil) {
                var start = returned
                if start == nil { try closedOn.forEach([id]) { start = $0.optionalText(0) } }
                add(.townshipReview, program: program, period: period, subject: subject, roster: id, start: start, finished: submitted)
            }
            guard submitted != nil else { return }
            add(.departmentReview, program: program, period: period, subject: subject, roster: id,
                start: said["received"], finished: said["reviewed"])
            add(.financeApproval, program: program, period: period, subject: subject, roster: id,
                start: said["reviewed"], finished: said["approved"])
        }
        try db.forEach("""
            SELECT n.id, n.program_code, n.period, n.closed_on FROM notice n
            WHERE n.status = 'closed' AND n.closed_on IS NOT NULL AND EXISTS (
                SELECT 1 FROM application a WHERE a.notice_id = n.id AND a.status = 'cleared'
                  AND NOT EXISTS (SELECT 1 FROM roster_line l WHERE l.application_id = a.id))
            ORDER BY n.id
            """) { r in
            add(.townshipReview, program: r.text(1), period: r.text(2), subject: "公示 \(r.int64(0))（待编清册）", roster: nil,
                start: r.text(3), finished: nil)
        }
        return out
    }

    /// The steps not done on `today` that are due or overdue (overdue first), and how many
    /// others are still within their limit.
    public func stepsDueOrOverdue(on today: CivilDate) throws -> (due: [TimedStep], waiting: Int) {
        let open = try timedSteps(on: today, openOnly: true)
        let shown = open.filter { $0.clock.state != .waiting }.sorted {
            ($0.clock.state == .overdue ? 0 : 1, -$0.clock.workingDaysOver, $0.clock.due, $0.subject)
                < ($1.clock.state == .overdue ? 0 : 1, -$1.clock.workingDaysOver, $1.clock.due, $1.subject)
        }
        return (shown, open.count - shown.count)
    }

    /// The China date of a stored timestamp (`2026-10-13T08:00:02+08:00`) or date.
    static func day(_ text: String) -> CivilDate? {
        try? CivilDate(parsing: String(text.prefix(10)))
    }
}
