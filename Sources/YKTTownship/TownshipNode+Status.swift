import Foundation
import YKTCore
import YKTNode
import YKTStore

/// What `ykt status` shows at a township: the last sync with the county, and everything that
/// waits for someone here (docs/operations-guide.md, "每天先看 ykt status").
extension TownshipNode {
    /// The last round of `ykt sync` that succeeded, and the last that failed.
    public struct SyncState: Sendable, Codable {
        public var lastSuccessAt: String?
        public var lastOutcome: PushReport?
        public var lastFailureAt: String?
        public var lastFailureCode: String?
        public var lastFailureMessage: String?
        /// The last round failed (after the last success, or with none before it).
        public var failing = false
    }

    /// A roster the county returned, to be corrected and submitted again.
    public struct ReturnedRoster: Sendable, Codable {
        public var roster: Int64
        public var program: String
        public var period: String
        public var reason: String
        public var at: String
    }

    /// A county decision on a conflict that asks this township to act (the county kept
    /// another township's registration of a resident still in this register).
    /// A decision this township has to act on. `person` is masked; the full entity is kept for
    /// `beneficiary remove --conflict` and never written out (`ykt status --json` is not audited).
    public struct DecisionToAct: Sendable, Codable {
        public var message: Int64
        public var conflict: Int64
        public var person: String
        public var decision: String
        public var reason: String
        public var entity: String = ""

        enum CodingKeys: String, CodingKey { case message, conflict, person, decision, reason }

        /// The resident ID of the person to remove.
        public var residentID: String { String(entity.dropFirst("beneficiary/".count)) }
    }

    /// An open notice that has lasted its 5 working days (it may be closed today).
    public struct ClosableNotice: Sendable, Codable {
        public var notice: Int64
        public var program: String
        public var period: String
        public var earliestClose: String
        /// Objections still to settle before it can close.
        public var openObjections: Int
        /// Which of the two notices: "village" or "township", and a village notice's village.
        public var stage: String = "township"
        public var village: String? = nil

        /// 「村级公示 3（大塘村 GD01 2026）」, 「乡镇公示 4（GD01 2026）」.
        public var named: String {
            "\(stage == "village" ? "村级公示" : "乡镇公示") \(notice)（\(village.map { $0 + " " } ?? "")\(program) \(period)）"
        }
    }

    /// A payment the bank could not make, not yet corrected here.
    public struct FailedPayment: Sendable, Codable {
        public var payment: Int64
        public var roster: Int64
        public var line: Int
        /// Masked.
        public var residentID: String
        public var name: String
        public var amountFen: Int64
        public var reason: String
    }

    public struct Status: Sendable, Codable {
        public var node: String
        public var name: String
        public var today: String
        public var countyConfigured: Bool
        public var sync: SyncState
        /// Operations recorded here and not yet acknowledged by the county (pending or sent).
        public var outboxWaiting: Int
        /// Operations the county refused (rejected) or logged as conflicts, by its receipts.
        public var operationsRejected: Int
        public var operationsConflicted: Int
        public var inboxMessages: Int
        public var rostersReturned: [ReturnedRoster]
        public var draftRosters: [Int64]
        public var decisionsToAct: [DecisionToAct]
        public var closableNotices: [ClosableNotice]
        /// Open notices still within their 5 working days: id and the first day they may close.
        public var openNotices: [ClosableNotice]
        public var failedPayments: [FailedPayment]
        /// 限时办理: this township's reviews, and the county's steps on its submitted rosters as
        /// far as the county's messages tell, not done and due or overdue (docs/conventions.md).
        public var timeLimits: [TimedStep] = []
        /// Steps not done and still within their limit, not due yet.
        public var stepsWithinLimit = 0
    }

    // MARK: The sync state (not in the audit trail)

    /// Records a round that succeeded (called by `TownshipSync` after each round).
    public func recordSyncSuccess(_ report: PushReport) throws {
        let outcome = report.json
        try db.run("""
            INSERT INTO sync_state(id, success_at, outcome, last_round) VALUES (1, ?, ?, 'success')
            ON CONFLICT(id) DO UPDATE SET success_at = excluded.success_at, outcome = excluded.outcome, last_round = 'success'
            """, ChinaTime.timestamp(now()), outcome)
    }

    /// Records a round that failed, with its code and message.
    public func recordSyncFailure(_ error: any Error) throws {
        let (code, message): (String, String) = (error as? YKTError).map { ($0.code.rawValue, $0.message) }
            ?? (ErrorCode.internalError.rawValue, "\(error)")
        try db.run("""
            INSERT INTO sync_state(id, failure_at, failure_code, failure_message, last_round) VALUES (1, ?, ?, ?, 'failure')
            ON CONFLICT(id) DO UPDATE SET failure_at = excluded.failure_at, failure_code = excluded.failure_code,
                failure_message = excluded.failure_message, last_round = 'failure'
            """, ChinaTime.timestamp(now()), code, message)
    }

    public func syncState() throws -> SyncState {
        try db.first("SELECT success_at, outcome, failure_at, failure_code, failure_message, last_round FROM sync_state WHERE id = 1") { r in
            SyncState(lastSuccessAt: r.optionalText(0),
                      lastOutcome: r.optionalText(1).flatMap { try? JSONDecoder().decode(PushReport.self, from: Data($0.utf8)) },
                      lastFailureAt: r.optionalText(2), lastFailureCode: r.optionalText(3), lastFailureMessage: r.optionalText(4),
                      failing: r.optionalText(5) == "failure")
        } ?? SyncState()
    }

    // MARK: The status

    /// Everything `ykt status` shows, on `today` (China).
    public func status(today: CivilDate? = nil) throws -> Status {
        let today = today ?? CivilDate.inChina(at: now())
        let waiting = try db.integer("SELECT count(*) FROM outbox_state WHERE state IN ('pending', 'batched')") ?? 0
        let rejected = try db.integer("SELECT count(*) FROM op_result WHERE status = 'rejected'") ?? 0
        // Conflicts still waiting for the county's decision (a decided one is in the inbox).
        let conflicted = try db.integer("""
            SELECT count(*) FROM op_result r WHERE status = 'conflicted'
              AND NOT EXISTS (SELECT 1 FROM conflict_decided d WHERE d.conflict_id = r.conflict_id)
            """) ?? 0
        let inbox = try db.integer("SELECT count(*) FROM inbox") ?? 0
        let returned = try db.all("""
            SELECT r.id, r.program_code, r.period, d.reason, d.at FROM roster r
            JOIN roster_decision d ON d.id = (SELECT max(id) FROM roster_decision WHERE roster_id = r.id)
            WHERE r.status = 'draft' AND d.decision = 'rejected' ORDER BY r.id
            """) { ReturnedRoster(roster: $0.int64(0), program: $0.text(1), period: $0.text(2), reason: $0.text(3), at: $0.text(4)) }
        let drafts = try db.all("""
            SELECT id FROM roster r WHERE status = 'draft' AND NOT EXISTS (SELECT 1 FROM roster_decision d WHERE d.roster_id = r.id)
            ORDER BY id
            """) { $0.int64(0) }
        var noticeLists: (closable: [ClosableNotice], open: [ClosableNotice]) = ([], [])
        for n in try notices().filter({ $0.status == .open }) {
            // The same rule `notice close` applies: the stored date, or later if the calendar says so.
            let computed = (try? NoticePeriod(posted: n.postedOn, calendar: calendar))?.earliestClose ?? n.earliestClose
            let earliest = max(computed, n.earliestClose)
            let objections = try db.integer("SELECT count(*) FROM objection WHERE notice_id = ? AND status = 'open'", n.id) ?? 0
            let item = ClosableNotice(notice: n.id, program: n.programCode, period: n.period, earliestClose: earliest.description,
                                      openObjections: Int(objections), stage: n.stage.rawValue, village: n.village)
            if earliest <= today { noticeLists.closable.append(item) } else { noticeLists.open.append(item) }
        }
        let failed = try db.all("""
            SELECT p.payment, p.roster_id, p.line_no, p.resident_id, p.name, p.amount_fen, coalesce(p.reason, '') FROM payment_result p
            WHERE p.status = 'failed' AND p.corrected_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM payment_result q WHERE q.reissue_of = p.payment)
            ORDER BY p.payment
            """) {
            FailedPayment(payment: $0.int64(0), roster: $0.int64(1), line: $0.int(2), residentID: Masking.residentID($0.text(3)),
                          name: $0.text(4), amountFen: $0.int64(5), reason: $0.text(6))
        }
        let steps = try stepsDueOrOverdue(on: today)
        return Status(node: config.nodeID, name: config.name, today: today.description,
                      countyConfigured: !(config.extra["county_address"] ?? "").isEmpty,
                      sync: try syncState(), outboxWaiting: Int(waiting), operationsRejected: Int(rejected),
                      operationsConflicted: Int(conflicted), inboxMessages: Int(inbox), rostersReturned: returned,
                      draftRosters: drafts, decisionsToAct: try decisionsToAct(), closableNotices: noticeLists.closable,
                      openNotices: noticeLists.open, failedPayments: failed, timeLimits: steps.due,
                      stepsWithinLimit: steps.waiting)
    }

    /// Conflict decisions that keep another township's registration of a resident who is still
    /// in this register: this township has to act on them.
    public func decisionsToAct() throws -> [DecisionToAct] {
        var out: [DecisionToAct] = []
        try db.forEach("SELECT seq, body FROM inbox WHERE kind = 'conflict.decision' ORDER BY seq") { r in
            guard let body = try? JSONValue.parse(Array(r.text(1).utf8)), let data = body["data"],
                  data["kind"]?.stringValue != "account.both-sides",
                  let decision = data["decision"]?.stringValue, decision.hasPrefix("keep-"),
                  decision != "keep-\(config.nodeID)", let entity = data["entity"]?.stringValue,
                  entity.hasPrefix("beneficiary/") else { return }
            let rid = String(entity.dropFirst("beneficiary/".count))
            out.append(DecisionToAct(message: r.int64(0), conflict: Int64(data["conflict"]?.intValue ?? 0), person: Masking.residentID(rid),
                                     decision: decision, reason: data["reason"]?.stringValue ?? "", entity: entity))
        }
        return try out.filter { d in
            let rid = String(d.entity.dropFirst("beneficiary/".count))
            return try db.integer("SELECT count(*) FROM beneficiary WHERE resident_id = ? AND removed_at IS NULL", rid) ?? 0 > 0
        }
    }
}
