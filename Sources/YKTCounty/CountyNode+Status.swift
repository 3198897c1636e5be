import Foundation
import YKTCore
import YKTNode
import YKTStore

/// What `ykt status` shows at the county: each township's last sync, and everything that waits
/// for someone here (docs/operations-guide.md, "每天先看 ykt status").
extension CountyNode {
    /// A change set (or stream request) the county refused.
    public struct Refusal: Sendable, Codable {
        public var changeSet: Int64?
        public var code: String
        public var message: String
        public var at: String
    }

    /// One township's sync as the county saw it.
    public struct TownshipSyncState: Sendable, Codable {
        public var code: String
        public var name: String
        public var disabled: Bool
        /// The last change set received: its number, when, and what the county decided.
        public var lastChangeSet: Int64?
        public var lastChangeSetAt: String?
        public var lastAccepted = 0
        public var lastRejected = 0
        public var lastConflicted = 0
        /// The last time it asked for its stream (the county's push down), and how far it has
        /// acknowledged it.
        public var lastPullAt: String?
        public var acknowledged: Int64 = 0
        /// Messages written for it that it has not fetched yet.
        public var waitingDown: Int64 = 0
        /// Refusals since the township last got through (a change set taken, or a pull answered).
        public var refusals: [Refusal] = []
        /// The later of the last change set and the last pull.
        public var lastSyncAt: String? { [lastChangeSetAt, lastPullAt].compactMap { $0 }.max() }
    }

    /// Failed payments, by what they wait for.
    public struct FailedPayments: Sendable, Codable {
        /// Waiting for the township's correction (no correction received, not re-issued).
        public var toCorrect = 0
        public var toCorrectFen: Int64 = 0
        /// Corrected by the township, waiting for `ykt batch reissue`.
        public var toReissue = 0
        public var toReissueFen: Int64 = 0
    }

    public struct Status: Sendable, Codable {
        public var node: String
        public var name: String
        public var today: String
        public var townships: [TownshipSyncState]
        public var rostersToReview: Int
        public var rostersToApprove: Int
        /// Approved rosters with no payment batch yet.
        public var rostersToDispatch: Int
        /// Batches created and not yet dispatched, or dispatched with the file not yet placed.
        public var batchesToDispatch: [Int64]
        /// Dispatched batches whose bank deadline is reached or passed.
        public var deadlines: [BatchDeadline]
        public var failedPayments: FailedPayments
        public var openWarnings: Int
        public var openConflicts: Int
        public var openComplaints: Int
        /// Result files lying in an agency bank's inbox folder, not yet read (`ykt bank receive`).
        public var bankFilesWaiting: [BankFilesWaiting] = []
        /// Agency banks with no agreement in force today, or whose agreements stop covering them
        /// within 60 days (`AgreementCover`; docs/conventions.md, "代发协议").
        public var bankAgreements: [AgreementCover] = []
        /// 限时办理: township review, department review and finance approval steps not yet done
        /// that are due (today or the next working day) or overdue (docs/conventions.md, "限时办理").
        public var timeLimits: [TimedStep] = []
        /// Steps not yet done and still within their limit, not due yet.
        public var stepsWithinLimit = 0
    }

    public struct BankFilesWaiting: Sendable, Codable {
        public var bank: String
        public var files: Int
    }

    /// Records a refused change set or stream request (`ykt serve`), for `ykt status`.
    public func recordRefusal(peer: String, changeSet: Int64?, answer: Answer) {
        let json = try? JSONValue.parse(answer.body)
        let code = json?["code"]?.stringValue ?? "HTTP \(answer.status)"
        let message = json?["message"]?.stringValue ?? ""
        try? db.run("INSERT INTO sync_refusal(node_id, changeset_seq, code, message, at) VALUES (?, ?, ?, ?, ?)",
                    peer, changeSet, code, String(message.prefix(500)), timestamp())
    }

    /// The township got through (a change set taken, or a pull answered): its earlier
    /// refusals are history, no longer a to-do in `ykt status`.
    func markRefusalsOvercome(_ peer: String) throws {
        try db.run("UPDATE sync_refusal SET overcome = 1 WHERE node_id = ? AND overcome = 0", peer)
    }

    /// Each enrolled township's sync: what `ykt status` and `ykt township list` show.
    public func townshipSyncs() throws -> [TownshipSyncState] {
        try townships().map { t in
            var s = TownshipSyncState(code: t.code, name: t.name, disabled: t.disabledAt != nil)
            if let last = try db.first("SELECT seq, received_at FROM upstream WHERE node_id = ? ORDER BY seq DESC LIMIT 1", t.code,
                                       map: { ($0.int64(0), $0.text(1)) }) {
                s.lastChangeSet = last.0
                s.lastChangeSetAt = last.1
                try db.forEach("""
                    SELECT status, sum(n) FROM (
                        SELECT status, count(*) AS n FROM operation WHERE node_id = ?1 AND changeset_seq = ?2 GROUP BY status
                        UNION ALL
                        SELECT 'accepted', length(ids) / 18 FROM operation_run WHERE node_id = ?1 AND changeset_seq = ?2)
                    GROUP BY status
                    """, t.code, last.0) { r in
                    switch r.text(0) {
                    case "accepted": s.lastAccepted = r.int(1)
                    case "rejected": s.lastRejected = r.int(1)
                    default: s.lastConflicted = r.int(1)
                    }
                }
            }
            if let c = try db.first("SELECT acked, coalesce(seen_at, acked_at) FROM checkpoint WHERE node_id = ?", t.code,
                                    map: { ($0.int64(0), $0.text(1)) }) {
                s.acknowledged = c.0
                s.lastPullAt = c.1
            }
            s.waitingDown = max(0, (try db.integer("SELECT max(seq) FROM downstream WHERE node_id = ?", t.code) ?? 0) - s.acknowledged)
            // Refusals since the township last got through (a change set taken, or a pull).
            s.refusals = try db.all("""
                SELECT changeset_seq, code, message, at FROM sync_refusal WHERE node_id = ? AND overcome = 0 ORDER BY id DESC LIMIT 5
                """, t.code) {
                Refusal(changeSet: $0.isNull(0) ? nil : $0.int64(0), code: $0.text(1), message: $0.text(2), at: $0.text(3))
            }
            return s
        }
    }

    /// Everything `ykt status` shows, on `today` (China).
    public func status(today: CivilDate? = nil) throws -> Status {
        let today = today ?? CivilDate.inChina(at: now())
        func count(_ sql: String) throws -> Int { Int(try db.integer(sql) ?? 0) }
        var failed = FailedPayments()
        try db.forEach("""
            SELECT EXISTS (SELECT 1 FROM correction c WHERE c.payment_id = p.id), count(*), coalesce(sum(p.amount_fen), 0)
            FROM payment p WHERE p.status = 'failed' AND NOT EXISTS (SELECT 1 FROM payment q WHERE q.reissue_of = p.id)
            GROUP BY 1
            """) { r in
            if r.bool(0) { (failed.toReissue, failed.toReissueFen) = (r.int(1), r.int64(2)) }
            else { (failed.toCorrect, failed.toCorrectFen) = (r.int(1), r.int64(2)) }
        }
        let deadlines = (try? self.deadlines(on: today)) ?? []
        let steps = try stepsDueOrOverdue(on: today)
        return Status(
            node: config.nodeID, name: config.name, today: today.description, townships: try townshipSyncs(),
            rostersToReview: try count("SELECT count(*) FROM roster WHERE status = 'received'"),
            rostersToApprove: try count("SELECT count(*) FROM roster WHERE status = 'reviewed'"),
            rostersToDispatch: try count("""
                SELECT count(*) FROM roster r WHERE r.status = 'approved' AND NOT EXISTS (SELECT 1 FROM payment p WHERE p.roster_id = r.id)
                """),
            batchesToDispatch: try db.all("""
                SELECT id FROM batch WHERE status = 'created' OR (status = 'dispatched' AND file_placed_at IS NULL) ORDER BY id
                """) { $0.int64(0) },
            deadlines: deadlines.filter { $0.state != "waiting" },
            failedPayments: failed,
            openWarnings: try count("SELECT count(*) FROM warning WHERE status = 'open'"),
            openConflicts: try count("SELECT count(*) FROM conflict WHERE status = 'open'"),
            openComplaints: try count("SELECT count(*) FROM complaint WHERE status = 'open'"),
            bankFilesWaiting: try agencyBanks().compactMap { bank in
                let n = Self.resultFiles(of: bank).files.count
                return n > 0 ? BankFilesWaiting(bank: bank.code, files: n) : nil
            },
            bankAgreements: try agreementCovers(on: today).filter { $0.state != "ok" },
            timeLimits: steps.due, stepsWithinLimit: steps.waiting)
    }
}
