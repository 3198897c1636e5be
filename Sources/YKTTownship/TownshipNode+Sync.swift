import Foundation
import YKTCore
import YKTCrypto
import YKTNode
import YKTStore
import YKTSync

/// Pushing the outbox to the county: change sets out, signed receipts back.
extension TownshipNode {
    /// What the county answered for one change set.
    public struct CountyAnswer: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var signature: [UInt8]?
        /// The county key that signed it (`x-ykt-key`) and the county's rotation statements
        /// (`x-ykt-county-keys`); nil and empty from a county that sends none.
        public var keyID: String?
        public var keyChain: [KeyRotation]
        public init(status: Int, body: [UInt8], signature: [UInt8]?, keyID: String? = nil, keyChain: [KeyRotation] = []) {
            self.status = status
            self.body = body
            self.signature = signature
            self.keyID = keyID
            self.keyChain = keyChain
        }
    }

    public struct PushReport: Sendable, Codable {
        public var changeSets = 0
        public var operations = 0
        public var accepted = 0
        public var rejected = 0
        public var conflicted = 0
        /// Messages pulled from the county's stream in the same round.
        public var pulled = 0
        /// Rejected and conflicted operations: id, status, rule, reason (masked).
        public var problems: [String] = []
        /// The same, grouped by status, rule and reason (what `ykt sync` prints: one line per
        /// group, so a systematic problem is a few lines, not one per operation).
        public var groups: [ProblemGroup] = []

        /// Rejected or conflicted operations that share a status, rule and reason.
        public struct ProblemGroup: Sendable, Codable {
            public var status: String
            public var rule: String
            public var reason: String
            public var count: Int
            /// The county's conflict numbers they fall under (one per change set for a program
            /// the county does not have).
            public var conflicts: [Int64]
            /// The first few operation ids.
            public var examples: [String]
        }

        mutating func note(id: String, status: String, rule: String, reason: String, conflict: Int64?) {
            problems.append("\(id) \(status) \(rule) \(reason)")
            if let i = groups.firstIndex(where: { $0.status == status && $0.rule == rule && $0.reason == reason }) {
                groups[i].count += 1
                if groups[i].examples.count < 3 { groups[i].examples.append(id) }
                if let conflict, !groups[i].conflicts.contains(conflict) { groups[i].conflicts.append(conflict) }
            } else if groups.count < Self.groupLimit {
                groups.append(ProblemGroup(status: status, rule: rule, reason: reason, count: 1, conflicts: conflict.map { [$0] } ?? [],
                                           examples: [id]))
            } else {
                otherProblems += 1
            }
        }

        /// Problems beyond the first `groupLimit` groups (counted, not grouped).
        public var otherProblems = 0
        static let groupLimit = 200

        /// The report in JSON with the names `Codable` gives its fields, as the round's record
        /// keeps it for `ykt status` (read back with `JSONDecoder`). Written with `JSONValue`:
        /// Foundation's encoder looked its types up at run time, a fifth of a millisecond of
        /// every `ykt sync`.
        public var json: String {
            func ints(_ values: [Int64]) -> JSONValue { .array(values.map { .int($0) }) }
            func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }
            let groups: [JSONValue] = groups.map { g in
                .object(["status": .string(g.status), "rule": .string(g.rule), "reason": .string(g.reason),
                         "count": .int(Int64(g.count)), "conflicts": ints(g.conflicts), "examples": strings(g.examples)])
            }
            return JSONValue.object([
                "changeSets": .int(Int64(changeSets)), "operations": .int(Int64(operations)), "accepted": .int(Int64(accepted)),
                "rejected": .int(Int64(rejected)), "conflicted": .int(Int64(conflicted)), "pulled": .int(Int64(pulled)),
                "problems": strings(problems), "groups": .array(groups), "otherProblems": .int(Int64(otherProblems)),
            ]).canonical
        }
    }

    /// The county's public key from `node.conf` (`county_public_key`), for checking receipts.
    func countyKey() throws -> Ed25519.PublicKey {
        guard let raw = Hex.decode(config.extra["county_public_key"] ?? ""), raw.count == 32 else {
            throw YKTError(.nodeConfig, "node.conf 缺少 county_public_key（县级节点 ykt key show 显示的公钥）",
                           at: SourceLocation(file: NodeConfig.fileName, field: "county_public_key"),
                           hint: "向县财政索取公钥并写入 node.conf")
        }
        return Ed25519.PublicKey(raw: raw)
    }

    /// Sends every pending change set through `send` until the outbox is empty. Each receipt's
    /// signature is checked with the county's key before anything is marked; an interrupted push
    /// resumes with the same bytes (the county answers a replay with its stored receipt).
    public func push(maxOperations: Int = TownshipNode.changeSetOperations,
                     send: ([UInt8], [UInt8]) throws -> CountyAnswer) throws -> PushReport {
        try pushPipelined(maxOperations: maxOperations) { bytes, signature in
            let answer = try send(bytes, signature)
            return Sending { answer }
        }
    }

    /// A change set on its way to the county: how to wait until its bytes are all sent (nil
    /// when that is only known with the answer), and how to wait for its answer.
    public struct Sending {
        public var sent: (() -> Void)?
        public var answer: () throws -> CountyAnswer

        public init(sent: (() -> Void)? = nil, answer: @escaping () throws -> CountyAnswer) {
            self.sent = sent
            self.answer = answer
        }
    }

    /// The most operations a change set holds (the body budget usually ends it first). The
    /// county streams each change set in and commits it once, so large sets cost it no memory
    /// and far fewer commits; the first sets of a push are smaller (`firstChangeSetOperations`,
    /// doubling), so the county starts work at once while the township builds. Doubling, not
    /// more: the township builds a set while the county applies the one before, and the county
    /// stages it meanwhile; a set twice the size of the one being applied is ready about when
    /// that one is done (the county applies a registration in about twice the time the
    /// township builds and the county stages it), where one eight times the size kept the
    /// county waiting a third of a second on the way up to full sets (issue 19).
    public static let changeSetOperations = 500_000
    public static let firstChangeSetOperations = 2_048

    /// `push` with the sending in steps, so that both nodes work at once: `start` sends a change
    /// set and returns how to wait for it. While the county checks one change set, the township
    /// builds and signs the next, and sends it as soon as the one before is sent whole (when
    /// `start` can say so): the county stages its body while it applies the one before, and
    /// applies it only once that one is taken (docs/protocol.md, "Two change sets in flight").
    /// Never more than two are on their way; answers are read and receipts recorded in order.
    /// A change set sent behind another and answered busy (429: a county that takes one at a
    /// time) is sent again once the one before is answered.
    public func pushPipelined(maxOperations: Int = TownshipNode.changeSetOperations,
                              start: ([UInt8], [UInt8]) throws -> Sending) throws -> PushReport {
        try db.makeDurable()
        var report = PushReport()
        var limit = min(maxOperations, Self.firstChangeSetOperations)
        guard var current = try nextChangeSet(maxOperations: limit) else { return report }
        // Sends still under way when the push fails are waited for (their answers unused), so
        // that none outlives the round and its sync lock.
        var outstanding: [Sending] = []
        defer { for sending in outstanding { _ = try? sending.answer() } }
        func send(_ stored: StoredChangeSet) throws -> Sending {
            let sending = try start(stored.set.bytes, stored.signature)
            outstanding.append(sending)
            return sending
        }
        func answerOf(_ sending: Sending) throws -> CountyAnswer {
            outstanding.removeFirst()   // the oldest is always the one answered next
            return try sending.answer()
        }
        var awaiting = try send(current)
        var awaitingBehind = false
        while true {
            limit = min(maxOperations, limit * 2)
            // A set that carries a key rotation statement is the last one signed with the old
            // key: the next is built once its receipt has confirmed the new key.
            if current.set.header.keyNext != nil {
                let answer = try answerOf(awaiting)
                let verified = try verifiedResults(answer, of: current)
                try acknowledge(current, answer: answer, results: verified.problems, anchor: verified.anchor, into: &report)
                _ = try signingState()   // a confirmed rotation: the new key replaces the old one now
                guard let next = try nextChangeSet(maxOperations: limit, after: current.set.header.seq) else { return report }
                awaiting = try send(next)
                awaitingBehind = false
                current = next
                continue
            }
            let next = try nextChangeSet(maxOperations: limit, after: current.set.header.seq)
            var behind: Sending?
            var sendError: (any Error)?
            if let next, let sent = awaiting.sent {
                sent()
                do { behind = try send(next) } catch { sendError = error }
            }
            var answer = try answerOf(awaiting)
            if awaitingBehind, answer.status == 429 || Self.isGapBefore(answer, seq: current.set.header.seq) {
                // Sent behind the one before while a county that takes one at a time still had
                // it (429), or before the county had even read the one before (its connection
                // not yet served: a gap naming the one we now hold a receipt for): the one sent
                // behind this one is refused too; both go again, in order. Once: a county still
                // behind then is answered as a gap.
                if let b = behind { _ = try? answerOf(b); behind = nil }
                sendError = nil
                answer = try answerOf(try send(current))
            }
            let verified = try verifiedResults(answer, of: current)
            let nextBehind = behind != nil
            if let next, behind == nil, sendError == nil {
                do { behind = try send(next) } catch { sendError = error }
            }
            try acknowledge(current, answer: answer, results: verified.problems, anchor: verified.anchor, into: &report)
            if let sendError { throw sendError }
            guard let next, let behind else { return report }
            current = next
            awaiting = behind
            awaitingBehind = nextBehind
        }
    }

    /// Whether `answer` refuses change set `seq` as a gap because the county expected the one
    /// just before it (`resumeSeq` = `seq` − 1).
    static func isGapBefore(_ answer: CountyAnswer, seq: Int64) -> Bool {
        guard answer.status == 409, let json = try? JSONValue.parse(answer.body) else { return false }
        guard json["code"]?.stringValue == ErrorCode.syncGap.rawValue, let resume = json["resumeSeq"]?.intValue else { return false }
        return resume == seq - 1
    }

    /// What an answer without a code of ours means: a county too busy for now (503, 429) or too
    /// slow (408) is a reason to try again later, not a fault of the program.
    static func code(forStatus status: Int) -> ErrorCode {
        switch status {
        case 503, 429: .syncBusy
        case 408: .syncTimeout
        default: .internalError
        }
    }

    /// The receipt's operations that were not accepted (by operation sequence), once the
    /// answer is a receipt for `stored` signed by the county. A receipt covers the change set's
    /// operations `firstOp`…`lastOp` and lists those rejected or conflicted, in order; every
    /// other one was accepted. A receipt of version 3 also names the anchor of this node's audit
    /// trail the county held before this change set (`auditAnchor`, null for the first).
    func verifiedResults(_ answer: CountyAnswer, of stored: StoredChangeSet) throws
        -> (problems: [(seq: Int64, result: JSONValue)], anchor: AuditHead?) {
        guard answer.status == 200 else {
            let json = try? JSONValue.parse(answer.body)
            let code = json?["code"]?.stringValue.map(ErrorCode.init(rawValue:)) ?? Self.code(forStatus: answer.status)
            var hint = json?["hint"]?.stringValue
            if let seq = json?["resumeSeq"]?.intValue { hint = (hint ?? "") + "（县里期待第 \(seq) 号）" }
            throw YKTError(code, "县财政拒收第 \(stored.set.header.seq) 号变更集（HTTP \(answer.status)）：" +
                           (json?["message"]?.stringValue ?? String(decoding: answer.body.prefix(200), as: UTF8.self)),
                           hint: hint)
        }
        let county = try countyKey(named: answer.keyID, chain: answer.keyChain)
        guard let signature = answer.signature, county.verify(signature, of: answer.body) else {
            throw YKTError(.syncSignature, "县财政回执的签名验证不通过", hint: "核对 node.conf 的 county_public_key；回执未采用")
        }
        let receipt: JSONValue
        do { receipt = try JSONValue.parse(answer.body) } catch {
            throw YKTError(.syncBody, "县财政回执不是有效 JSON：\(error)")
        }
        let mismatch = YKTError(.syncBody, "回执与第 \(stored.set.header.seq) 号变更集不对应")
        // Version 2 (no anchor) is what a county answers for a change set stored before format 3.
        let version = receipt["v"]?.intValue
        var anchor: AuditHead?
        if version == 3 {
            switch receipt["auditAnchor"] {
            case .null?: anchor = nil
            case let value?:
                guard let head = AuditHead(json: value) else { throw mismatch }
                anchor = head
            case nil: throw mismatch
            }
        }
        guard version == 3 || (version == 2 && stored.set.header.format == 2), receipt["node"]?.stringValue == config.nodeID,
              receipt["changeset"]?.intValue == stored.set.header.seq, receipt["hash"]?.stringValue == stored.set.hash,
              receipt["firstOp"]?.intValue == stored.firstOp, receipt["lastOp"]?.intValue == stored.lastOp,
              case .array(let results)? = receipt["results"] else { throw mismatch }
        var problems: [(seq: Int64, result: JSONValue)] = []
        var previous = stored.firstOp - 1
        let prefix = "\(config.nodeID)-"
        for r in results {
            guard let id = r["id"]?.stringValue, id.hasPrefix(prefix), let seq = Int64(id.dropFirst(prefix.count)),
                  seq > previous, seq <= stored.lastOp, ["rejected", "conflicted"].contains(r["status"]?.stringValue ?? "") else {
                throw mismatch
            }
            problems.append((seq, r))
            previous = seq
        }
        return (problems, anchor)
    }

    /// Records a verified receipt: the change set acknowledged (which makes every operation in
    /// it accepted), the rule and reason of each one that was not, and the anchor of this
    /// node's audit trail the county holds. That anchor is then checked against this node's
    /// chain: a mismatch (this node's history was rewritten after the county anchored it) is
    /// recorded in the audit trail and stops the push with `YKT-AUDIT-ANCHOR`; `ykt audit verify`
    /// finds it again from the stored anchor.
    func acknowledge(_ stored: StoredChangeSet, answer: CountyAnswer, results: [(seq: Int64, result: JSONValue)],
                     anchor: AuditHead?, into report: inout PushReport) throws {
        try perform("changeset.acknowledge") {
            if let anchor {
                try db.run("INSERT OR REPLACE INTO own_anchor(changeset_seq, seq, hash, reported_at) VALUES (?, ?, ?, ?)",
                           stored.set.header.seq, anchor.seq, anchor.hash, timestamp())
            }
            try db.run("UPDATE changeset_out SET state = 'acknowledged', receipt = ?, receipt_signature = ? WHERE seq = ?",
                       String(decoding: answer.body, as: UTF8.self), DatabaseValue.blob(answer.signature ?? []), stored.set.header.seq)
            try confirmRotation(stored, receipt: answer.body)
            let result = try db.statement("INSERT OR REPLACE INTO op_result(seq, status, rule, reason, conflict_id) VALUES (?, ?, ?, ?, ?)")
            for (seq, r) in results {
                let status = r["status"]?.stringValue ?? "rejected"
                try result.bind(1, seq)
                try result.bind(2, status)
                try result.bind(3, r["rule"]?.stringValue)
                try result.bind(4, r["reason"]?.stringValue)
                try result.bind(5, r["conflict"]?.intValue)
                try result.execute()
                if status == "conflicted" { report.conflicted += 1 } else { report.rejected += 1 }
                if status == "rejected" { try rosterRefused(seq: seq, result: r) }
                report.note(id: "\(config.nodeID)-\(seq)", status: status, rule: r["rule"]?.stringValue ?? "",
                            reason: r["reason"]?.stringValue ?? "", conflict: r["conflict"]?.intValue)
            }
            let count = Int(stored.lastOp - stored.firstOp + 1)
            report.accepted += count - results.count
            report.changeSets += 1
            report.operations += count
            let notAccepted = results.count
            return ((), AuditNote(object: "changeset#\(stored.set.header.seq)",
                                  detail: "县财政签收第 \(stored.set.header.seq) 号变更集：操作 \(count) 条，采纳 \(count - notAccepted) 条，未采纳 \(notAccepted) 条"))
        }
        if let anchor {
            let problems = try AuditLog.check(db: db, anchors: [(anchor, "县财政第 \(stored.set.header.seq) 号变更集回执")])
            if !problems.isEmpty { try anchorMismatch(problems) }
        }
    }
}

extension TownshipNode {
    /// A `roster.submit` the county refused on arrival (its receipt lists every line with every
    /// reason): recorded as the county's rejection, with that reason, and the roster returned
    /// to a draft to be corrected and submitted again.
    func rosterRefused(seq: Int64, result r: JSONValue) throws {
        guard let op = try db.first("SELECT kind, entity FROM outbox WHERE seq = ?", seq, map: { (kind: $0.text(0), entity: $0.text(1)) }),
              op.kind == "roster.submit", let roster = try rosterID(entity: op.entity) else { return }
        let reason = "[\(r["rule"]?.stringValue ?? "")] " + (r["reason"]?.stringValue ?? "")
        try db.run("""
            INSERT INTO roster_decision(roster_id, decision, reason, by_operator, message_seq, at) VALUES (?, 'rejected', ?, '县财政（到达核对）', 0, ?)
            """, roster, reason, timestamp())
        try returnRoster(roster)
    }

    /// A message from the county's stream, as stored.
    public struct InboxMessage: Sendable, Codable {
        public var seq: Int64
        public var kind: String
        public var body: String
        public var receivedAt: String
    }

    public func inbox() throws -> [InboxMessage] {
        try db.all("SELECT seq, kind, body, received_at FROM inbox ORDER BY seq") {
            InboxMessage(seq: $0.int64(0), kind: $0.text(1), body: $0.text(2), receivedAt: $0.text(3))
        }
    }

    /// Pulls the county's stream from the last message stored here (which acknowledges it).
    /// Every message must carry the county's signature, name this node and follow the last one
    /// without a gap; messages are stored verbatim in one transaction per batch.
    public func pull(fetch: (Int64) throws -> CountyAnswer) throws -> Int {
        try pull { after, _ in try fetch(after) }
    }

    /// The same, each request also naming the last anchor of the county's audit trail held here
    /// (`SyncProtocol.auditAnchorHeader`), for the county to check its own chain against.
    public func pull(anchoredFetch fetch: (Int64, AuditHead?) throws -> CountyAnswer) throws -> Int {
        try db.makeDurable()
        var total = 0
        // Each answer's county head is checked; one is kept per batch of messages, or, when no
        // message came, the last one on its own, without an audit entry: a round that brought
        // nothing leaves nothing in the audit trail (the anchor is kept in county_anchor).
        var keptAnchor = false
        while true {
            let after = try db.integer("SELECT max(seq) FROM inbox") ?? 0
            let answer = try fetch(after, try latestCountyAnchor()?.head)
            guard answer.status == 200 else {
                let json = try? JSONValue.parse(answer.body)
                throw YKTError(json?["code"]?.stringValue.map(ErrorCode.init(rawValue:)) ?? Self.code(forStatus: answer.status),
                               "县财政拒绝下行同步（HTTP \(answer.status)）：\(json?["message"]?.stringValue ?? "")",
                               hint: json?["hint"]?.stringValue)
            }
            var messages: [(seq: Int64, kind: String, text: String, signature: [UInt8])] = []
            var expected = after + 1
            var anchor: CountyAnchor?
            let lines = answer.body.split(separator: 0x0A)
            for (i, line) in lines.enumerated() {
                let wrapper = try? JSONValue.parse(Array(line))
                if let text = wrapper?["anchor"]?.stringValue {
                    guard i == lines.count - 1 else { throw YKTError(.syncBody, "县财政的审计链头应在下行应答的最后一行") }
                    let signer = try countyKey(named: wrapper?["key"]?.stringValue ?? answer.keyID, chain: answer.keyChain)
                    anchor = try countyAnchor(text, signatureHex: wrapper?["signature"]?.stringValue, county: signer)
                    continue
                }
                guard let text = wrapper?["message"]?.stringValue, let hex = wrapper?["signature"]?.stringValue else {
                    throw YKTError(.syncBody, "下行消息格式不对")
                }
                // Each message names the county key that signed it (none: the key trusted now).
                let keyID = wrapper?["key"]?.stringValue
                let county = try countyKey(named: keyID, chain: answer.keyChain)
                let signature = Hex.decode(hex) ?? []
                guard county.verify(signature, of: Array(text.utf8)) else {
                    throw YKTError(.syncSignature, "下行消息的县财政签名验证不通过", hint: "已拒收；核对 county_public_key")
                }
                let message = try JSONValue.parse(Array(text.utf8))
                guard message["node"]?.stringValue == config.nodeID, message["seq"]?.intValue == expected else {
                    throw YKTError(.syncFork, "下行消息应为本节点第 \(expected) 条，收到的不是", hint: "报告县财政系统管理员")
                }
                messages.append((expected, message["kind"]?.stringValue ?? "", text, signature))
                expected += 1
            }
            guard let anchor else {
                throw YKTError(.syncBody, "下行应答缺少县财政签名的审计链头", hint: "县级节点的 ykt 版本较旧：两端升级到同一版本")
            }
            let newAnchor = try takeCountyAnchor(anchor)
            if messages.isEmpty {
                // The round's last request has been answered: nothing written from here on is sent.
                try db.relaxDurability()
                if newAnchor && !keptAnchor {
                    do { try db.transaction { try storeCountyAnchor(anchor) } } catch let error as DatabaseError {
                        throw StoreErrors.map(error)
                    }
                }
                return total
            }
            try perform("downstream.receive") {
                if newAnchor {
                    try storeCountyAnchor(anchor)
                    keptAnchor = true
                }
                for m in messages {
                    try db.run("INSERT INTO inbox(seq, kind, body, signature, received_at) VALUES (?, ?, ?, ?, ?)",
                               m.seq, m.kind, m.text, DatabaseValue.blob(m.signature), timestamp())
                    // What a message changes here is applied in the same transaction as storing it.
                    try apply(message: m.kind, seq: m.seq, body: try JSONValue.parse(Array(m.text.utf8)))
                }
                return ((), AuditNote(object: "downstream",
                                      detail: "收到县财政下行消息第 \(messages.first!.seq)–\(messages.last!.seq) 条（\(messages.count) 条）"))
            }
            // A new version of the county's calendar is used from the next command on.
            if messages.contains(where: { $0.kind == "calendar.version" }) { try reloadCalendar() }
            total += messages.count
        }
    }
}
