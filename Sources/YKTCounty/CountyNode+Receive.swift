import Foundation
import YKTCore
import YKTCrypto
import YKTNode
import YKTStore
import YKTSync

/// Receiving change sets (docs/protocol.md).
extension CountyNode {
    /// What the county answers: an HTTP status and a JSON body; 200 bodies are receipts,
    /// signed by the county (`signature` over the body bytes).
    public struct Answer: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var signature: [UInt8]?
        /// The id of the county key that made `signature`, and the county's rotation statements
        /// (sent as `x-ykt-key` and `x-ykt-county-keys`), so that a township can follow a rotation.
        public var keyID: String?
        public var keyChain: [KeyRotation] = []

        public init(status: Int, body: [UInt8], signature: [UInt8]?) {
            self.status = status
            self.body = body
            self.signature = signature
        }
    }

    /// Checks and applies one change set sent by `peer` (the TLS certificate's node id).
    /// Nothing is applied unless everything up to the body checks out; then every operation
    /// is recorded as accepted, rejected (rule, reason) or conflicted in one transaction with
    /// the verbatim bytes and the receipt.
    public func receive(peer: String, bytes: [UInt8], signature: [UInt8]) -> Answer {
        receive(peer: peer, source: ChangeSetBytes(bytes), signature: signature)
    }

    /// The same, reading the change set as it arrives, in the three steps a server runs apart
    /// (`readHeader`, `admit`, `stage`, then `commit`): the header first (at most
    /// `ChangeSet.maximumHeaderBytes`), checked (bounds, peer, key, signature, sequence) before a
    /// byte of the body is read; then the body staged in the township's evidence file and
    /// proven against the signed header (length, hash, count) without touching the database;
    /// then every operation applied in one short transaction that reads the staged body back.
    public func receive(peer: String, source: some ChangeSetSource, signature: [UInt8]) -> Answer {
        let header: ArrivedHeader
        do { header = try Self.readHeader(from: source) } catch {
            return Self.refusal(YKTError(.syncBody, "变更集头部没有收齐：\(error)", hint: "重新发送"), position: nil)
        }
        switch admit(peer: peer, header: header, length: source.length, signature: signature) {
        case .answer(let answer): return answer
        case .stage(let plan):
            switch Self.stage(plan, source: source) {
            case .failure(let refused): return refused.answer
            case .success(let staged): return commit(staged)
            }
        }
    }

    /// The first bytes of a change set as they arrived: its header (up to its empty line, at
    /// most `ChangeSet.maximumHeaderBytes`) and perhaps the start of its body.
    public struct ArrivedHeader: Sendable {
        public var bytes: [UInt8]
        /// Where the body starts in `bytes`; nil when no empty line came in time.
        public var end: Int?
    }

    /// Reads a change set's header off `source`; no check yet, no database.
    public static func readHeader(from source: some ChangeSetSource) throws -> ArrivedHeader {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(ChangeSet.maximumHeaderBytes)
        var headerEnd: Int?
        while headerEnd == nil, buffer.count < ChangeSet.maximumHeaderBytes {
            let searchFrom = max(0, buffer.count - 1)
            guard try source.read(into: &buffer, max: min(1_024, ChangeSet.maximumHeaderBytes - buffer.count)) > 0 else { break }
            var k = searchFrom
            while k + 1 < buffer.count {
                if buffer[k] == 0x0A, buffer[k + 1] == 0x0A { headerEnd = k + 2; break }
                k += 1
            }
        }
        return ArrivedHeader(bytes: buffer, end: headerEnd)
    }

    /// What `admit` decided: answer at once (a refusal, or a replay's stored receipt), or read
    /// the body into the evidence file.
    public enum Admission: Sendable {
        case answer(Answer)
        case stage(StagingPlan)
    }

    /// A change set whose header passed every check, its body still to be read.
    public struct StagingPlan: Sendable {
        let changeSet: ChangeSet
        let headerBytes: [UInt8]
        let early: [UInt8]
        let signature: [UInt8]
        let directory: String
        /// Where the township's evidence file ends as the database records it (or as the change
        /// set ahead of this one will leave it, `admit(…following:)`).
        let committedEnd: Int64
        /// The keys the header was checked with, and the county's limit on a body: what a change
        /// set sent right behind this one is checked with while this one is applied.
        let registry: KeyRegistry
        let maximumBytes: Int
        public var node: String { changeSet.header.node }
        public var seq: Int64 { changeSet.header.seq }
        public var operations: Int { changeSet.header.ops }
        public var bodyBytes: Int { changeSet.header.bodyBytes }
    }

    /// Checks a change set's header: its integers within bounds (`maximumChangeSetBytes`), the
    /// TLS peer is the node it names, the signature verifies with that node's active key, and
    /// the sequence is the next one (a replay is answered with the stored receipt). Reads the
    /// database, writes nothing, waits on nothing.
    public func admit(peer: String, header: ArrivedHeader, length: Int, signature: [UInt8]) -> Admission {
        do {
            if let refused = try disabledRefusal(peer) { return .answer(Self.refusal(refused, position: nil)) }
            let registry = try registry()
            let parsed = try? ChangeSet.readHeader(header.bytes)
            let position = try self.position(of: parsed?.header.node ?? peer, for: parsed?.header.seq)
            let verdict: ChangeSetReceiver.Verdict
            do {
                verdict = try ChangeSetReceiver.check(bytes: header.bytes, signature: signature, peerNode: peer,
                                                      registry: registry, position: position)
            } catch {
                return .answer(Self.refusal(error, position: position))
            }
            switch verdict {
            case .replay(let seq):
                let stored = try db.first("SELECT receipt FROM upstream WHERE node_id = ? AND seq = ?", peer, seq) { Array($0.text(0).utf8) }
                guard let stored else { throw YKTError(.internalError, "已应用的变更集 \(seq) 没有回执") }
                // Signed again with the county's active key (the stored signature stays as
                // evidence): a rotation since then must not leave the township a retired key.
                return .answer(try signedAnswer(stored))
            case .apply(let set):
                let committedEnd = try db.integer("""
                    SELECT body_offset + body_bytes FROM upstream WHERE node_id = ? AND body_offset IS NOT NULL ORDER BY seq DESC LIMIT 1
                    """, set.header.node) ?? 0
                return Self.plan(set, header: header, length: length, signature: signature, directory: directory,
                                 committedEnd: committedEnd, registry: registry, maximumBytes: maximumChangeSetBytes)
            }
        } catch let e as YKTError {
            return .answer(Self.refusal(e, position: nil, status: e.code.rawValue.hasPrefix("YKT-SYNC") ? nil : 500))
        } catch {
            return .answer(Self.refusal(YKTError(.internalError, "\(error)"), position: nil, status: 500))
        }
    }

    /// A change set whose header checked out: to be staged, once its body is within the county's
    /// limit and the request's length is the header's and the body's.
    static func plan(_ set: ChangeSet, header: ArrivedHeader, length: Int, signature: [UInt8], directory: String,
                     committedEnd: Int64, registry: KeyRegistry, maximumBytes: Int) -> Admission {
        // Bounded by the header's own limits, so this sum cannot overflow.
        guard set.header.bodyBytes <= maximumBytes else {
            return .answer(refusal(YKTError(.syncFormat, "变更集正文 \(set.header.bodyBytes) 字节，超过县里的上限 \(maximumBytes) 字节",
                                            at: SourceLocation(field: "body"), hint: "把操作分成多个较小的变更集"),
                                   position: nil, status: 413))
        }
        guard let headerEnd = header.end, length == headerEnd + set.header.bodyBytes else {
            return .answer(refusal(YKTError(.syncBody, "请求长度 \(length) 字节与变更集头部写的正文 \(set.header.bodyBytes) 字节不符",
                                            hint: "重新发送"), position: nil))
        }
        return .stage(StagingPlan(changeSet: set, headerBytes: Array(header.bytes[..<headerEnd]), early: Array(header.bytes[headerEnd...]),
                                  signature: signature, directory: directory, committedEnd: committedEnd, registry: registry,
                                  maximumBytes: maximumBytes))
    }

    /// Checks the header of a change set sent right behind `ahead`, a change set of the same
    /// township already staged and now being applied (docs/protocol.md, "Two change sets in
    /// flight"): against `ahead` rather than the database, which `ahead`'s apply holds. The
    /// stream's position is `ahead` (its sequence and hash), the keys are those `ahead` was
    /// checked with, and the body goes into the evidence file after `ahead`'s. Only the very next
    /// change set is taken so; any other (a replay of `ahead`, one further on) and anything
    /// behind a key rotation is answered busy (429), to be sent again once `ahead` is answered.
    /// Staged so, it is applied only if `ahead` was, and `commit` checks everything again then.
    public static func admit(peer: String, header: ArrivedHeader, length: Int, signature: [UInt8],
                             following ahead: StagingPlan) -> Admission {
        let busy = refusal(YKTError(.syncBusy, "乡镇 \(ahead.node) 的第 \(ahead.seq) 号变更集正在应用", hint: "等它的回执到了再发送后面的变更集"),
                           position: nil, status: 429)
        guard ahead.changeSet.header.keyNext == nil else { return .answer(busy) }
        var position = StreamPosition(lastSeq: ahead.seq, lastHash: ahead.changeSet.hash)
        position.applied[ahead.seq] = ahead.changeSet.hash
        do {
            switch try ChangeSetReceiver.check(bytes: header.bytes, signature: signature, peerNode: peer,
                                               registry: ahead.registry, position: position) {
            case .replay: return .answer(busy)
            case .apply(let set):
                return plan(set, header: header, length: length, signature: signature, directory: ahead.directory,
                            committedEnd: ahead.committedEnd + Int64(ahead.bodyBytes), registry: ahead.registry,
                            maximumBytes: ahead.maximumBytes)
            }
        } catch where [.syncGap, .syncFork].contains(error.code) {
            // Not the next one after `ahead`: whether it is a gap or a fork is for the database
            // to say once `ahead` is decided.
            return .answer(busy)
        } catch {
            return .answer(refusal(error, position: nil))
        }
    }

    /// A change set's body read into the township's evidence file and proven against its
    /// signed header, not yet applied.
    public struct StagedChangeSet: @unchecked Sendable {
        // Safe: one receive owns it from `stage` to `commit` (one upload per township staged at a
        // time, and one applied).
        let plan: StagingPlan
        let evidence: EvidenceFile
        public var node: String { plan.node }
    }

    /// A refusal of the body, as an error value (`Result` needs one).
    public struct Refused: Error, Sendable { public var answer: Answer }

    /// Reads the body from `source` a part at a time into the township's evidence file, after
    /// its last committed body, hashing and counting as it goes, then proves it against the
    /// signed header and makes it durable. Touches no database: a slow sender holds no lock but
    /// its own township's (the caller's: one upload per township at a time). On any failure
    /// the bytes written are cut off again.
    public static func stage(_ plan: StagingPlan, source: some ChangeSetSource) -> Result<StagedChangeSet, Refused> {
        do {
            let evidence = try EvidenceFile(nodeDirectory: plan.directory, node: plan.node, committedEnd: plan.committedEnd)
            do {
                var reader = ChangeSetBodyReader(header: plan.changeSet.header)
                var part = plan.early
                while true {
                    part.reserveCapacity(evidencePartBytes)
                    while part.count < evidencePartBytes, try source.read(into: &part, max: evidencePartBytes - part.count) > 0 {}
                    if part.isEmpty { break }
                    _ = try reader.take(part)
                    try evidence.append(part)
                    part.removeAll(keepingCapacity: true)
                }
                try reader.finish()
                try evidence.sync()
                return .success(StagedChangeSet(plan: plan, evidence: evidence))
            } catch {
                evidence.discard()
                throw error
            }
        } catch let e as YKTError {
            return .failure(Refused(answer: refusal(e, position: nil, status: e.code.rawValue.hasPrefix("YKT-SYNC") ? nil : 500)))
        } catch {
            // The connection failed or timed out while the body arrived: nothing was applied.
            return .failure(Refused(answer: refusal(YKTError(.syncBody, "变更集正文没有收齐：\(error)",
                                                              hint: "网络中断或发送过慢；下次同步时重发"), position: nil, status: 408)))
        }
    }

    /// Applies a staged change set in one transaction, reading its body back from the evidence
    /// file (proven against the header once more as it is read), and answers with the signed
    /// receipt. The sequence is checked again inside the transaction.
    public func commit(_ staged: StagedChangeSet) -> Answer {
        do {
            return try apply(staged)
        } catch let e as YKTError {
            staged.evidence.discard()
            if e.code == .syncAudit { recordAnchorRefusal(node: staged.node, seq: staged.plan.seq, error: e) }
            return Self.refusal(e, position: nil, status: e.code.rawValue.hasPrefix("YKT-SYNC") ? nil : 500)
        } catch {
            staged.evidence.discard()
            return Self.refusal(YKTError(.internalError, "\(error)"), position: nil, status: 500)
        }
    }

    /// A refusal as the county answers it (JSON with code, message and hint; the HTTP status
    /// follows from the code unless given).
    public static func refusalAnswer(_ e: YKTError, status: Int? = nil) -> Answer { refusal(e, position: nil, status: status) }

    static func refusal(_ e: YKTError, position: StreamPosition?, status: Int? = nil) -> Answer {
        let code = e.code
        let http = status ?? ([.syncPeer, .syncKey, .syncSignature, .syncDisabled, .syncKeyRetired, .syncRotation].contains(code) ? 403
                              : [.syncGap, .syncFork, .syncAudit].contains(code) ? 409 : 400)
        var body: [String: JSONValue] = ["code": .string(code.rawValue), "message": .string(e.message)]
        if let hint = e.hint { body["hint"] = .string(hint) }
        if let position, [.syncGap, .syncFork].contains(code) {
            body["resumeSeq"] = .int(position.lastSeq + 1)
            body["resumePrev"] = .string(position.lastHash)
        }
        return Answer(status: http, body: Array(JSONValue.object(body).canonical.utf8), signature: nil)
    }

    /// What the county decided about one operation (the receipt's `status`).
    enum DecisionStatus: String {
        case accepted, rejected, conflicted
    }

    struct Decision {
        var status: DecisionStatus
        var rule: String?
        var reason: String?
        var conflict: (kind: String, other: String?, detail: String)?
        /// The conflict is the change set's one of its kind (`ProgramGate`): made by the first
        /// operation that runs into it, shared by the rest.
        var perChangeSet = false

        static let accepted = Decision(status: .accepted)
        static func rejected(_ code: ErrorCode, _ reason: String) -> Decision {
            Decision(status: .rejected, rule: code.rawValue, reason: reason)
        }
    }

    /// The size of the evidence parts a body is stored in, and read in.
    static let evidencePartBytes = 1 << 20

    func apply(_ staged: StagedChangeSet) throws -> Answer {
        let set = staged.plan.changeSet
        let node = set.header.node
        let setSeq = set.header.seq
        let evidence = staged.evidence
        return try perform("changeset.receive", object: "changeset/\(node)/\(setSeq)",
                           detail: "收到第 \(setSeq) 号变更集：操作 \(set.header.ops) 条，sha256:\(set.hash.prefix(16))") {
            // Checked when the header came; checked again now that the transaction holds the
            // write lock (nothing else may have moved this township's stream meanwhile).
            let position = try self.position(of: node)
            guard position.lastSeq + 1 == setSeq, position.lastHash == set.header.prev else {
                throw YKTError(.syncFork, "第 \(setSeq) 号变更集收齐时，县里已应用到第 \(position.lastSeq) 号",
                               hint: "从第 \(position.lastSeq + 1) 号续传")
            }
            // Disabled, or its key retired, while the body arrived: refused all the same.
            if let refused = try disabledRefusal(node) { throw refused }
            guard try db.integer("SELECT active FROM node_key WHERE node_id = ? AND key_id = ?", node, set.header.keyID) == 1 else {
                throw YKTError(.syncKeyRetired, "节点 \(node) 的签名密钥 \(set.header.keyID) 在变更集收齐前已停用", hint: "用新密钥重新签名后再同步")
            }
            // A key rotation statement (verified with the header): the new key is the
            // township's active key from this commit on, the old one retired.
            var rotatedKey: String?
            if let field = set.header.keyNext {
                let rotation = try KeyRotation(field: field, node: node, oldKeyID: set.header.keyID)
                let at = timestamp()
                rotatedKey = rotation.newKey.keyID
                try db.run("""
                    UPDATE node_key SET active = 0, retired_at = ?, replaced_by = ?, rotation = ? WHERE node_id = ? AND key_id = ?
                    """, at, rotation.newKey.keyID, field, node, set.header.keyID)
                try db.run("""
                    INSERT INTO node_key(node_id, key_id, public_key, active, registered_at) VALUES (?, ?, ?, 1, ?)
                    ON CONFLICT(node_id, key_id) DO UPDATE SET active = 1, retired_at = NULL, replaced_by = NULL
                    """, node, rotation.newKey.keyID, DatabaseValue.blob(rotation.newKey.raw), at)
                try AuditLog.append(db: db, at: at, operatorName: operatorName, action: "township.key.rotate", object: "township/\(node)",
                                    detail: "\(set.header.keyID) → \(rotation.newKey.keyID) changeset=\(setSeq)")
            }
            let committedEnd = try db.integer("""
                SELECT body_offset + body_bytes FROM upstream WHERE node_id = ? AND body_offset IS NOT NULL ORDER BY seq DESC LIMIT 1
                """, node) ?? 0
            guard committedEnd == evidence.start else {
                throw YKTError(.internalError, "存证文件位置已变（\(evidence.start) → \(committedEnd)）")
            }
            // The township's audit head is kept with the change set it came in (refused, with
            // nothing applied, when it goes back behind an anchor already held); the receipt
            // names the anchor held before, for the township to check its own chain against.
            let heldAnchor = try takeAnchor(node: node, changeSet: setSeq, head: set.header.audit)
            // The policy list, read once for the whole change set.
            let gate = try ProgramGate(db: db)
            let firstOp = try lastOperation(of: node) + 1
            var expected = firstOp
            // One prepared statement for the decisions; node and change set are bound once.
            let record = try db.statement("""
                INSERT INTO operation(node_id, op_seq, changeset_seq, kind, entity, status, rule, reason, conflict_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            try record.bind(1, node)
            try record.bind(3, setSeq)
            // Accepted registrations sent as the township writes them (entity `beneficiary/<ID>`)
            // come in runs, recorded one row per run (`operation_run`, county schema v32): the
            // run's first operation number and its IDs packed end to end (18 ASCII bytes each),
            // so that a million of them cost neither a million rows nor a million bind, step
            // and reset calls. `decision` reads them back one row per operation.
            let runRecord = try db.statement("""
                INSERT INTO operation_run(node_id, first_op, changeset_seq, ids) VALUES (?, ?, ?, ?)
                """)
            try runRecord.bind(1, node)
            try runRecord.bind(3, setSeq)
            var register = try RegisterStatements(db, node: node)
            var run: [UInt8] = []
            run.reserveCapacity(Self.acceptedRunLimit * 18)
            var runFirst: Int64 = 0
            func flushRun() throws {
                guard !run.isEmpty else { return }
                try runRecord.bind(2, runFirst)
                try runRecord.bind(4, blob: run)
                try runRecord.execute()
                run.removeAll(keepingCapacity: true)
            }
            // The receipt lists the operations not accepted (every other one from firstOp to
            // lastOp was), written as canonical JSON as they are decided.
            var results: [UInt8] = [UInt8(ascii: "[")]
            var result = CanonicalObjectWriter(capacity: 128)
            /// Records a decision of its own (the run so far first) and, unless accepted, puts
            /// it in the receipt's results.
            func settle(seq: Int64, kind: String, entity: String, _ decision: Decision) throws {
                try flushRun()
                var conflictID: Int64?
                if decision.perChangeSet, let shared = gate.conflictID {
                    conflictID = shared
                } else if let c = decision.conflict {
                    try db.run("""
                        INSERT INTO conflict(kind, entity, node_id, op_seq, other_node, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                        """, c.kind, entity, node, seq, c.other, c.detail, timestamp())
                    conflictID = db.lastInsertRowID
                    if decision.perChangeSet {
                        gate.conflictID = conflictID
                        // Named after the change set, not the first operation's entity.
                        try db.run("UPDATE conflict SET entity = ? WHERE id = ?", "changeset/\(node)/\(setSeq)", conflictID)
                    }
                }
                try record.bind(2, seq)
                try record.bind(4, kind)
                try record.bind(5, entity)
                try record.bind(6, decision.status.rawValue)
                try record.bind(7, decision.rule)
                try record.bind(8, decision.reason)
                try record.bind(9, conflictID)
                try record.execute()
                if decision.status == .accepted { return }
                result.reset()
                if let conflictID { result.int("conflict", conflictID) }
                result.string("id", "\(node)-\(seq)")
                if let reason = decision.reason { result.string("reason", reason) }
                if let rule = decision.rule { result.string("rule", rule) }
                result.string("status", decision.status.rawValue)
                if results.count > 1 { results.append(UInt8(ascii: ",")) }
                result.finish(appendingTo: &results)
            }
            /// An accepted registration whose entity names its resident: a place in the run.
            func accept(_ line: RegisterLine) throws {
                if run.isEmpty { runFirst = line.seq }
                line.withBytes(.residentID) { run.append(contentsOf: $0) }
                if run.count == Self.acceptedRunLimit * 18 { try flushRun() }
            }
            // Registrations waiting to go into the register together (`RegisterBatch`).
            var batch = RegisterBatch()
            func flushBatch() throws {
                while !batch.isEmpty {
                    // A head the register has another head for: the rows before it go in, it is
                    // decided on its own, and the rows after it go through the same steps next.
                    guard let k = try batch.firstSecondHead(db, statements: &register) else {
                        return try insertBatch()
                    }
                    let rest = batch.split(keeping: k)
                    try insertBatch()
                    let alone = rest[rest.startIndex]
                    let decision = try enterRegister(alone.line, kind: alone.kind, node: node, statements: register)
                    if decision.status == .accepted {
                        try accept(alone.line)
                    } else {
                        try settle(seq: alone.line.seq, kind: "beneficiary.register", entity: alone.line.entity, decision)
                    }
                    for row in rest.dropFirst() { batch.add(row.line, kind: row.kind) }
                }
            }
            func insertBatch() throws {
                guard !batch.isEmpty else { return }
                let went = try batch.insert(db, statements: &register)
                for (row, inserted) in zip(batch.rows, went) {
                    if inserted {
                        try accept(row.line)
                        continue
                    }
                    // Known already: taken again, refused or a conflict, as on its own.
                    let r = row.line
                    let decision = try enterRegister(residentID: try ResidentID(r.residentID), name: r.name, bank: r.bank, kind: row.kind,
                                                     number: r.number, node: node, household: r.household, head: r.head,
                                                     statements: register)
                    if decision.status == .accepted {
                        try accept(r)
                    } else {
                        try settle(seq: r.seq, kind: "beneficiary.register", entity: r.entity, decision)
                    }
                }
                batch.removeAll()
            }
            // Read back from the evidence file, proven and parsed beside this thread, which applies.
            let pipeline = BodyPipeline(header: set.header, early: [], source: evidence.staged(), evidence: nil,
                                        partBytes: Self.evidencePartBytes)
            defer { pipeline.stop() }
            parts: while true {
                let ops: [ChangeSet.ParsedLine<Registration>]
                switch pipeline.next() {
                case .end: break parts
                case .failed(let error): throw error
                case .part(let operations): ops = operations
                }
                do {
                    for parsed in ops {
                        let seq: Int64, kind: String, entity: String
                        var decision: Decision
                        switch parsed {
                        case .fast(let registration):
                            // A registration in canonical form (the bulk of a register's first sync),
                            // its ID, name and account already checked on the parsing threads.
                            let r = registration.line
                            guard r.seq == expected else {
                                throw YKTError(.syncBody, "第 \(set.header.seq) 号变更集的操作序号不连续：应从 \(expected) 开始",
                                               hint: "乡镇节点的操作队列与县里记录不一致，请联系县财政系统管理员")
                            }
                            if registration.entityNamesResident, batch.canTake(r) {
                                batch.add(r, kind: registration.kind)
                                expected += 1
                                if batch.isFull { try flushBatch() }
                                continue
                            }
                            try flushBatch()
                            decision = try enterRegister(r, kind: registration.kind, node: node, statements: register)
                            if decision.status == .accepted, registration.entityNamesResident {
                                try accept(r)
                                expected += 1
                                continue
                            }
                            (seq, kind, entity) = (r.seq, "beneficiary.register", r.entity)
                        case .json(let op):
                            try flushBatch()
                            try flushRun()   // the checks below see every decision before theirs
                            guard let s = op["seq"]?.intValue, s == expected, op["id"]?.stringValue == "\(node)-\(s)" else {
                                throw YKTError(.syncBody, "第 \(set.header.seq) 号变更集的操作序号不连续：应从 \(expected) 开始",
                                               hint: "乡镇节点的操作队列与县里记录不一致，请联系县财政系统管理员")
                            }
                            (seq, kind, entity) = (s, op["op"]?.stringValue ?? "", op["entity"]?.stringValue ?? "")
                            if op["v"]?.intValue != 1 {
                                decision = .rejected(.syncVersion, "操作格式版本 \(op["v"]?.intValue ?? 0) 本程序不认识（本程序只支持版本 1）")
                            } else {
                                // Its own savepoint: a handler that wrote and then refused (or
                                // failed) leaves nothing behind; only an accepted one's writes stay.
                                decision = try db.inSavepoint({ try check(op, kind: kind, node: node, gate: gate) },
                                                              keep: { $0.status == .accepted })
                            }
                        }
                        expected += 1
                        try settle(seq: seq, kind: kind, entity: entity, decision)
                    }
                }
            }
            try flushBatch()
            try flushRun()
            if let shared = gate.conflictID {
                try db.run("UPDATE conflict SET detail = ? WHERE id = ?", gate.detail(node: node, changeSet: setSeq), shared)
            }
            results.append(UInt8(ascii: "]"))
            var writer = CanonicalObjectWriter(capacity: results.count + 384)
            writer.raw("auditAnchor", heldAnchor.map { $0.head.json.canonical } ?? "null")
            writer.int("changeset", set.header.seq)
            writer.string("county", config.nodeID)
            writer.int("firstOp", firstOp)
            writer.string("hash", set.hash)
            writer.int("lastOp", expected - 1)
            writer.string("node", node)
            writer.string("receivedAt", timestamp())
            writer.raw("results", String(decoding: results, as: UTF8.self))
            if let rotatedKey { writer.string("rotatedKey", rotatedKey) }
            writer.int("v", 3)
            let receipt = writer.finish()
            let body = Array(receipt.utf8)
            let answer = try signedAnswer(body)
            let receiptSignature = answer.signature ?? []
            try db.run("""
                INSERT INTO upstream(node_id, seq, hash, prev, key_id, bytes, signature, receipt, receipt_signature, received_at,
                    body_offset, body_bytes)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, node, set.header.seq, set.hash, set.header.prev, set.header.keyID, DatabaseValue.blob(staged.plan.headerBytes),
                       DatabaseValue.blob(staged.plan.signature), receipt, DatabaseValue.blob(receiptSignature), timestamp(),
                       evidence.start, set.header.bodyBytes)
            try markRefusalsOvercome(node)
            return answer
        }
    }
}

extension CountyNode {
    /// A registration re-checked (ID, name, account) and entered in the county-wide register:
    /// accepted, or refused as this township's duplicate, or a conflict when another township
    /// registered the resident first.
    func checkRegister(residentID: String, name: String, bank: String, kind: String, number: String,
                       node: String, household: String = "", head: Bool = false) throws -> Decision {
        let (rid, accountKind) = try Registration.check(residentID: residentID, name: name, kind: kind, number: number)
        return try enterRegister(residentID: rid, name: name, bank: bank, kind: accountKind, number: number, node: node,
                                 household: household, head: head)
    }

    /// A checked registration entered in the county-wide register (`residentID` as
    /// `ResidentID` writes it).
    func enterRegister(residentID rid: ResidentID, name: String, bank: String, kind: AccountKind, number: String,
                       node: String, household: String = "", head: Bool = false, statements: RegisterStatements? = nil) throws -> Decision {
        // A household head (户主): one per household of the township (CountyNode+Households.swift).
        if head, let refused = try refuseSecondHead(resident: rid.value, household: household, node: node, statements: statements) {
            return refused
        }
        // Insert first; only a resident already known needs more. A plain insert that ignores
        // a known ID, not an upsert: the upsert's update fires `resident_warning_dirty`, so
        // SQLite kept a statement journal for every registration (a copy of each page it
        // touched, about 2.5 µs of the county's 15). The rare re-registration is its own update.
        let insert = try statements?.insert ?? db.statement(RegisterStatements.insertSQL)
        try bindRegistration(insert, rid, node, name, bank, kind, number, household, head)
        try insert.execute()
        if db.changes == 1 { return .accepted }
        // A person removed from a register is taken again.
        let retake = try db.statement("""
            UPDATE resident SET node_id = ?2, name = ?3, bank = ?4, account_kind = ?5, account_number = ?6, removed_at = NULL,
              removed_reason = NULL, household = ?7, head = ?8
            WHERE resident_id = ?1 AND removed_at IS NOT NULL
            """)
        try bindRegistration(retake, rid, node, name, bank, kind, number, household, head)
        try retake.execute()
        if db.changes == 1 { return .accepted }
        switch try db.first("SELECT node_id FROM resident WHERE resident_id = ?", rid.value, map: { $0.text(0) }) {
        case nil, node?:
            return .rejected(.residentDuplicate, "\(rid.masked) 已由本乡镇登记")
        case let other?:
            return Decision(status: .conflicted, rule: "resident.two-townships", reason: "\(rid.masked) 已由乡镇 \(other) 登记",
                            conflict: ("resident.two-townships", other, "\(rid.masked) 同时由 \(other) 和 \(node) 登记"))
        }
    }

    /// `enterRegister` for a registration read on the bulk path (`Registration`, checked): its
    /// values bound from the line's bytes, with no `String` made of them unless the resident is
    /// known already or the head of a household without a number.
    func enterRegister(_ line: RegisterLine, kind: AccountKind, node: String, statements: RegisterStatements) throws -> Decision {
        func again() throws -> Decision {
            try enterRegister(residentID: try ResidentID(line.residentID), name: line.name, bank: line.bank, kind: kind,
                              number: line.number, node: node, household: line.household, head: line.head, statements: statements)
        }
        if line.head {
            guard line.withBytes(.household, { !$0.isEmpty }) else { return try again() }
            let otherHead = statements.otherHead
            defer { otherHead.reset() }
            let found = try line.withFields { field in
                try otherHead.bind(2, utf8TextNoCopy: field(.household))
                try otherHead.bind(3, utf8TextNoCopy: field(.residentID))
                return try otherHead.step()
            }
            if found {
                otherHead.reset()
                return try again()   // refused, with the other head named
            }
        }
        // The line's bytes bound without a copy (SQLite would copy each value into a buffer
        // of its own, and free it at the next row's bind), and the row run while they are held;
        // the node is bound once for the change set (`RegisterStatements`).
        let insert = statements.insert
        try line.withFields { field in
            try insert.bind(1, utf8TextNoCopy: field(.residentID))
            try insert.bind(3, utf8TextNoCopy: field(.name))
            try insert.bind(4, utf8TextNoCopy: field(.bank))
            try insert.bind(5, literal: kind.literal)
            try insert.bind(6, utf8TextNoCopy: field(.number))
            try insert.bind(7, utf8TextNoCopy: field(.household))
            try insert.bind(8, Int64(line.head ? 1 : 0))
            try insert.execute()
        }
        if db.changes == 1 { return .accepted }
        return try again()   // known already: taken again, or refused, or a conflict
    }

    /// The statements every registration runs, prepared once for a whole change set (each
    /// `db.statement` lookup hashes its SQL text: a second of a million registrations' apply).
    struct RegisterStatements {
        static let insertSQL = """
            INSERT OR IGNORE INTO resident(resident_id, node_id, name, bank, account_kind, account_number, household, head)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """
        static let otherHeadSQL = """
            SELECT resident_id FROM resident
            WHERE node_id = ?1 AND household = ?2 AND household <> '' AND head = 1 AND removed_at IS NULL AND resident_id <> ?3
            """
        let insert: Statement
        let otherHead: Statement
        /// The insert of `k` rows at `k - 1` (`RegisterBatch`), prepared when first needed.
        private var batches: [Statement?] = Array(repeating: nil, count: RegisterBatch.size)
        /// The heads of `k` households at `k - 1` (`RegisterBatch.firstSecondHead`).
        private var heads: [Statement?] = Array(repeating: nil, count: RegisterBatch.size)
        private let node: String

        /// `node`: the township of the change set, bound once (every path that runs `insert`
        /// binds the same node again, or leaves it).
        init(_ db: Database, node: String) throws {
            insert = try db.statement(Self.insertSQL)
            try insert.bind(2, node)
            otherHead = try db.statement(Self.otherHeadSQL)
            try otherHead.bind(1, node)
            self.node = node
        }

        /// `INSERT OR IGNORE` of `k` registrations: the node is ?1, row `i`'s seven values
        /// ?(2 + 7i) to ?(8 + 7i) in the order of `insertSQL`'s columns without the node.
        mutating func batchInsert(_ k: Int, _ db: Database) throws -> Statement {
            if let ready = batches[k - 1] { return ready }
            let rows = (0..<k).map { i in
                let p = 2 + 7 * i
                return "(?\(p), ?1, ?\(p + 1), ?\(p + 2), ?\(p + 3), ?\(p + 4), ?\(p + 5), ?\(p + 6))"
            }
            let statement = try db.statement("""
                INSERT OR IGNORE INTO resident(resident_id, node_id, name, bank, account_kind, account_number, household, head)
                VALUES \(rows.joined(separator: ", "))
                """)
            try statement.bind(1, node)
            batches[k - 1] = statement
            return statement
        }

        /// The live heads of `k` of the township's households (?2 to ?(k + 1)): for each, the
        /// household's place in the list (0 for ?2) and the head's resident ID. One look-up of
        /// the household index each, `UNION ALL` (`household IN (…)` builds a temporary index
        /// of the list at every run, which cost more than the look-ups it saved).
        mutating func otherHeads(_ k: Int, _ db: Database) throws -> Statement {
            if let ready = heads[k - 1] { return ready }
            let statement = try db.statement((0..<k).map { i in
                """
                SELECT \(i), resident_id FROM resident
                WHERE node_id = ?1 AND household = ?\(i + 2) AND household <> '' AND head = 1 AND removed_at IS NULL
                """
            }.joined(separator: " UNION ALL "))
            try statement.bind(1, node)
            heads[k - 1] = statement
            return statement
        }
    }

    /// A registration's eight values, in the order of `resident`'s columns in `enterRegister`.
    private func bindRegistration(_ statement: Statement, _ rid: ResidentID, _ node: String, _ name: String, _ bank: String,
                                  _ kind: AccountKind, _ number: String, _ household: String, _ head: Bool) throws {
        try statement.bind(1, rid.value)
        try statement.bind(2, node)
        try statement.bind(3, name)
        try statement.bind(4, bank)
        try statement.bind(5, kind.rawValue)
        try statement.bind(6, number)
        try statement.bind(7, household)
        try statement.bind(8, Int64(head ? 1 : 0))
    }

    /// How many accepted registrations share one `operation_run` row (its CHECK says the same).
    static let acceptedRunLimit = 4_096

    /// The number of the last operation from `node` the county has decided (0 before its first):
    /// the larger of its last decision row and the end of its last run.
    func lastOperation(of node: String) throws -> Int64 {
        try db.integer("""
            SELECT max(coalesce((SELECT max(op_seq) FROM operation WHERE node_id = ?1), 0),
                       coalesce((SELECT first_op + length(ids) / 18 - 1 FROM operation_run WHERE node_id = ?1
                                 ORDER BY first_op DESC LIMIT 1), 0))
            """, node) ?? 0
    }

    /// The operations from `nodes` the county decided about `entity`, oldest first per node:
    /// decision rows and places in runs (whose IDs are searched in the blob, at whole
    /// 18-byte places only). `kinds` narrows the decision rows (runs are all registrations).
    func decidedOperations(entity: String, nodes: [String], kinds: [String]? = nil) throws -> [(node: String, op: Int64, set: Int64)] {
        var found: [(node: String, op: Int64, set: Int64)] = []
        for node in Set(nodes).sorted() {
            var rows = try db.all("""
                SELECT op_seq, changeset_seq, kind FROM operation WHERE node_id = ? AND entity = ? ORDER BY op_seq
                """, node, entity) { (op: $0.int64(0), set: $0.int64(1), kind: $0.text(2)) }
            if let kinds { rows = rows.filter { kinds.contains($0.kind) } }
            found += rows.map { (node, $0.op, $0.set) }
            let id = Array(entity.utf8.dropFirst(12))
            guard entity.hasPrefix("beneficiary/"), id.count == 18, kinds?.contains("beneficiary.register") ?? true else { continue }
            try db.forEach("""
                SELECT first_op, changeset_seq, ids FROM operation_run WHERE node_id = ? AND instr(ids, ?) > 0 ORDER BY first_op
                """, node, DatabaseValue.blob(id)) { r in
                let ids = r.blob(2)
                var k = 0
                while k + 18 <= ids.count {
                    if ids[k..<(k + 18)].elementsEqual(id) { found.append((node, r.int64(0) + Int64(k / 18), r.int64(1))) }
                    k += 18
                }
            }
        }
        return found.sorted { ($0.node, $0.op) < ($1.node, $1.op) }
    }
}

/// A registration line read by `RegisterLine` whose resident ID, name and account pass every
/// check as sent, checked on their bytes on the parsing threads, so the thread that writes does
/// only the writing. Any other registration (one to refuse, or one the checks accept only once
/// normalised: a lower-case `x`, full-width digits, a Latin name) is not read here: it goes to
/// the general parser and `decideRegister`, which decides and explains it as always.
struct Registration: Sendable {
    var line: RegisterLine
    var kind: AccountKind
    /// The entity is `beneficiary/` and the resident ID as sent: the decision row can then be
    /// written from the ID alone (`acceptedRunLimit`).
    var entityNamesResident: Bool

    static func check(residentID: String, name: String, kind: String, number: String)
        throws(YKTError) -> (ResidentID, AccountKind) {
        let rid = try ResidentID(residentID)
        _ = try PersonName.validate(name)
        let accountKind = try AccountKind(parsing: kind)
        _ = try AccountNumber(number, kind: accountKind)
        return (rid, accountKind)
    }

    /// `today` bounds the birth dates, as `ResidentID` does.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, node: String, today: CivilDate) -> Registration? {
        guard let line = RegisterLine.read(bytes, node: node),
              let kind = line.withBytes(.kind, AccountKind.init(exactly:)),
              line.withBytes(.residentID, { id in
                  id.count == 18 && id[17] != UInt8(ascii: "x") && ResidentID.problem(in: id, today: today) == nil
              }),
              line.withBytes(.name, PersonName.isPlainIdeographs),
              line.withBytes(.number, { AccountNumber.isPlainValid($0, kind: kind) }) else { return nil }
        let prefix = "beneficiary/".utf8
        let named = line.withBytes(.entity) { entity in
            entity.count == prefix.count + 18 && entity.prefix(prefix.count).elementsEqual(prefix)
                && line.withBytes(.residentID) { entity.suffix(18).elementsEqual($0) }
        }
        return Registration(line: line, kind: kind, entityNamesResident: named)
    }
}

/// One roster line as the township sent it, checked.
struct RosterLineData {
    var lineNo: Int
    var residentID: String
    var name: String
    var village: String
    var bank: String
    var accountKind: String
    var accountNumber: String
    var quantity: String
    var amountFen: Int64
    /// The application the line pays (`application/<id>/<program>/<period>`).
    var application: String = ""
    /// The household a per-household program's line pays ("" on per-person programs).
    var household: String = ""
}
