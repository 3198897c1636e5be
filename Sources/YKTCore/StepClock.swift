/// The three steps a roster goes through after its notice, each with a time limit in working
/// days set per program in the policy list (限时办理, seed 000; `StepLimits`).
public enum ProcessingStep: String, Sendable, Codable, CaseIterable {
    /// 乡镇审核: from the close of the notice that cleared the roster's applications (or the
    /// county's return of the roster) to the county's receipt of the roster.
    case townshipReview = "township-review"
    /// 部门审核: from the county's receipt of the roster to the department's review decision.
    case departmentReview = "department-review"
    /// 财政审批: from the department's review to finance's approval.
    case financeApproval = "finance-approval"

    public var chinese: String {
        switch self {
        case .townshipReview: "乡镇审核"
        case .departmentReview: "部门审核"
        case .financeApproval: "财政审批"
        }
    }

    /// The working days `limits` allows for this step.
    public func days(in limits: StepLimits) -> Int {
        switch self {
        case .townshipReview: limits.townshipReview
        case .departmentReview: limits.departmentReview
        case .financeApproval: limits.financeApproval
        }
    }
}

/// One step's clock on the official working-day calendar (docs/conventions.md, "限时办理"),
/// counted like notices and bank deadlines:
///
/// - the **start day** (起算日) is working day 1 when it is a working day, else the next working
///   day is; the **due date** (办理时限) is the limit-th working day on or after the start day;
/// - a step finished on or before its due date, or on a rest day right after it, is **on time**;
///   finished on a later working day it is **late** by the working days after the due date
///   through the finishing day;
/// - an unfinished step is **overdue** (逾期) once a working day after its due date has begun
///   (`workingDaysOver` ≥ 1), **due** (即将到期) when the due date is today or the next working day,
///   and **waiting** (办理中) otherwise.
public struct StepClock: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Codable {
        case waiting
        case due
        case overdue
        case onTime = "on-time"
        case late

        public var chinese: String {
            switch self {
            case .waiting: "办理中"
            case .due: "即将到期"
            case .overdue: "逾期"
            case .onTime: "按时办结"
            case .late: "超时办结"
            }
        }

        public var finished: Bool { self == .onTime || self == .late }
    }

    public var step: ProcessingStep
    /// The day the clock starts (counted as working day 1 when it is one).
    public var start: CivilDate
    /// The working days allowed.
    public var limit: Int
    /// The last working day within the limit.
    public var due: CivilDate
    /// The day the step was done; nil while it waits.
    public var finished: CivilDate?
    public var state: State
    /// Working days after the due date: through today (overdue) or the finishing day (late); 0 otherwise.
    public var workingDaysOver: Int
    /// Working days from the day after today through the due date (an unfinished step not yet
    /// overdue); 0 otherwise.
    public var workingDaysLeft: Int

    /// The clock of `step` started on `start` with `limit` working days, finished on `finished`
    /// (nil: not yet), as it stands on `today`. Throws `YKT-CAL-NODATA` when the count needs a
    /// year the calendar does not have.
    public init(step: ProcessingStep, start: CivilDate, limit: Int, finished: CivilDate?, today: CivilDate,
                calendar: WorkCalendar) throws(YKTError) {
        precondition(limit >= 1)
        self.step = step
        self.start = start
        self.limit = limit
        self.finished = finished
        due = try calendar.workday(number: limit, onOrAfter: start)
        workingDaysLeft = 0
        workingDaysOver = 0
        if let finished {
            workingDaysOver = finished > due ? try calendar.workdays(from: due.adding(days: 1), through: finished) : 0
            state = workingDaysOver > 0 ? .late : .onTime
        } else if today > due, case let over = try calendar.workdays(from: due.adding(days: 1), through: today), over > 0 {
            workingDaysOver = over
            state = .overdue
        } else {
            workingDaysLeft = today >= due ? 0 : try calendar.workdays(from: today.adding(days: 1), through: due)
            state = workingDaysLeft <= 1 ? .due : .waiting
        }
    }

    /// `逾期 3 个工作日（应于 2026-10-12 前办结）` and the like: the state in words.
    public var summary: String {
        switch state {
        case .overdue: "应于 \(due) 前办结，已逾期 \(workingDaysOver) 个工作日"
        case .due: workingDaysLeft == 0 ? "应于今天（\(due)）办结" : "应于 \(due) 前办结，还剩 \(workingDaysLeft) 个工作日"
        case .waiting: "应于 \(due) 前办结，还剩 \(workingDaysLeft) 个工作日"
        case .onTime: "\(finished?.description ?? "") 办结，按时（时限 \(due)）"
        case .late: "\(finished?.description ?? "") 办结，超时 \(workingDaysOver) 个工作日（时限 \(due)）"
        }
    }
}

/// One timed step of one roster (or, before a roster exists, of one closed notice): what it is,
/// whose it is, and its clock. No personal data.
public struct TimedStep: Sendable, Hashable, Codable {
    public var township: String
    public var townshipName: String
    public var program: String
    public var programName: String
    public var period: String
    /// `清册 12`, `公示 3`: what the step is about, in the numbering of the node that shows it.
    public var subject: String
    /// The roster's number at the node that shows it, when there is one.
    public var roster: Int64?
    public var clock: StepClock

    public init(township: String, townshipName: String, program: String, programName: String, period: String,
                subject: String, roster: Int64?, clock: StepClock) {
        self.township = township
        self.townshipName = townshipName
        self.program = program
        self.programName = programName
        self.period = period
        self.subject = subject
        self.roster = roster
        self.clock = clock
    }
}

/// Counts of one step over a month: done on time, done late, and not done and overdue at the
/// month's end (the monthly report's 限时办理 section).
public struct StepTally: Sendable, Hashable, Codable {
    public var step: ProcessingStep
    public var onTime = 0
    public var late = 0
    public var overdue = 0

    public init(step: ProcessingStep) { self.step = step }
}
