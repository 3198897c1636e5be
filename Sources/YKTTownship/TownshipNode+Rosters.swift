import YKTCore
import YKTNode
import YKTStore

/// Disbursement rosters (发放清册): built from applications whose notice closed, submitted
/// (frozen and queued for the county).
extension TownshipNode {
    func rosterKey(_ r: RosterRecord) -> String { "roster/\(config.nodeID)/\(r.programCode)/\(r.period)/\(r.batch)" }

    static let rosterColumns = """
        id, program_code, period, batch, status, line_count, total_fen, created_at, submitted_at, version,
        prepared_by, prepared_name, submitted_by, submitted_name
        """

    static func roster(from r: Row) -> RosterRecord {
        func signer(_ i: Int) -> RosterSigner? {
            r.optionalText(i).map { RosterSigner(login: $0, name: r.optionalText(i + 1) ?? $0) }
        }
        return RosterRecord(id: r.int64(0), programCode: r.text(1), period: r.text(2), batch: r.int(3),
                            status: RosterRecord.Status(rawValue: r.text(4)) ?? .draft, lineCount: r.int(5),
                            totalFen: r.int64(6), createdAt: r.text(7), submittedAt: r.optionalText(8), version: r.int(9),
                            preparedBy: signer(10), submittedBy: signer(12))
    }

    /// The acting operator as a signer: their login and the name their account gives (the
    /// login itself when there is no account, as in a node made before operator accounts).
    func actingSigner() throws -> RosterSigner {
        let name = try operators.account(operatorName)?.realName.trimmed
        return RosterSigner(login: operatorName, name: (name?.isEmpty ?? true) ? operatorName : name!)
    }

    public func rosters() throws -> [RosterRecord] {
        try db.all("SELECT \(Self.rosterColumns) FROM roster ORDER BY id", map: Self.roster(from:))
    }

    public func roster(_ id: Int64) throws -> RosterRecord {
        guard let r = try db.first("SELECT \(Self.rosterColumns) FROM roster WHERE id = ?", id, map: Self.roster(from:)) else {
            throw YKTError(.rosterUnknown, "没有编号为 \(id) 的清册", hint: "用 ykt roster list 查看清册编号")
        }
        return r
    }

    public func rosterLines(_ id: Int64) throws -> [RosterLine] {
        try db.all("""
            SELECT line_no, application_id, resident_id, name, village, bank, account_kind, account_number,
                   quantity_e4, amount_fen FROM roster_line WHERE roster_id = ? ORDER BY line_no
            """, id) { r in
            RosterLine(lineNo: r.int(0), applicationID: r.int64(1), residentID: r.text(2), name: r.text(3),
                       village: r.text(4), bank: r.text(5), accountKind: AccountKind(rawValue: r.text(6)) ?? .card,
                       accountNumber: r.text(7), quantity: Quantity(tenThousandths: r.int64(8)).description,
                       amountFen: r.int64(9))
        }
    }

    /// Builds (or rebuilds, while still a draft) the roster for `program` × `period` from every
    /// application cleared by a closed notice (for a secret program: passed by the village) and
    /// not yet on a roster. Each line snapshots name, current designated account and amount.
    @discardableResult
    public func buildRoster(program code: String, period: Period) throws -> RosterRecord {
        let program = try program(code)
        let id: Int64 = try perform("roster.build") {
            let draft = try db.first("SELECT \(Self.rosterColumns) FROM roster WHERE program_code = ? AND period = ? AND status = 'draft'",
                                     program.code, period.description, map: Self.roster(from:))
            if let draft { try db.run("DELETE FROM roster_line WHERE roster_id = ?", draft.id) }
            let eligible: ApplicationStatus = program.secret ? .recorded : .cleared
            let items = try applications(program: program.code, period: period.description, status: eligible)
            guard !items.isEmpty else {
                let all = try applications(program: program.code, period: period.description)
                let village = all.filter { [.recorded, .inVillageNotice, .villageCleared].contains($0.status) }.count
                let township = all.filter { $0.status == .inNotice }.count
                throw YKTError(.rosterEmpty, "\(period.chinese)「\(program.name)」没有可编入清册的申请" +
                               (township > 0 ? "（\(township) 条仍在乡镇公示中）" : "") +
                               (village > 0 ? "（\(village) 条还没有走完村级公示和乡镇公示）" : ""),
                               hint: township + village > 0
                                   ? "村级公示和乡镇公示都期满无异议并结束（ykt notice close）后再编制清册"
                                   : "先录入申请并完成村级公示、乡镇公示")
            }
            let rosterID: Int64
            let at = timestamp()
            // Whoever builds it prepares it: the first of the summary table's two signers.
            let preparer = try actingSigner()
            if let draft {
                rosterID = draft.id
                try db.run("UPDATE roster SET created_at = ?, prepared_by = ?, prepared_name = ?, version = version + 1 WHERE id = ?",
                           at, preparer.login, preparer.name, rosterID)
            } else {
                let batch = (try db.integer("SELECT max(batch) FROM roster WHERE program_code = ? AND period = ?",
                                            program.code, period.description) ?? 0) + 1
                try db.run("""
                    INSERT INTO roster(program_code, period, batch, status, line_count, total_fen, created_at, prepared_by, prepared_name)
                    VALUES (?, ?, ?, 'draft', 0, 0, ?, ?, ?)
                    """, program.code, period.description, batch, at, preparer.login, preparer.name)
                rosterID = db.lastInsertRowID
            }
            var people: [(ApplicationRecord, BeneficiaryRecord, AccountRecord)] = []
            for a in items {
                guard let b = try findBeneficiary(try ResidentID(a.residentID)), let acct = b.account else {
                    throw YKTError(.internalError, "申请 \(a.id) 的补贴对象没有指定账户")
                }
                people.append((a, b, acct))
            }
            try Self.refuseOffCarrier(program, people.map { (name: $0.1.name, maskedID: $0.1.maskedID, village: $0.1.village, kind: $0.2.kind) })
            var total: Int64 = 0
            for (i, (a, b, acct)) in people.enumerated() {
                try db.run("""
                    INSERT INTO roster_line(roster_id, line_no, application_id, beneficiary_id, name, resident_id, village,
                        bank, account_kind, account_number, quantity_e4, amount_fen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
                    """, rosterID, i + 1, a.id, b.id, b.name, b.residentID, b.village, acct.bank, acct.kind.rawValue,
                           acct.number, try Quantity(parsing: a.quantity).tenThousandths, a.amountFen)
                total += a.amountFen
            }
            try db.run("UPDATE roster SET line_count = ?, total_fen = ? WHERE id = ?", items.count, total, rosterID)
            return (rosterID, AuditNote(object: "roster#\(rosterID)",
                                        detail: "\(program.code) \(period) lines=\(items.count) total=\(Fen(total).yuan)"))
        }
        return try roster(id)
    }

    /// Submits a draft roster: it is frozen, its applications are marked rostered, and the whole
    /// roster (every line) is queued for the county as one `roster.submit` operation, with its
    /// two signers (`preparedBy`, `submittedBy`: seed 004's 汇总表 is signed by the station head
    /// and the township leader, two people).
    /// Refused when a line went stale since it was built (account changed): rebuild first; and
    /// (`YKT-ROSTER-SIGNERS`) when the submitter built it, or when no preparer is recorded (a
    /// draft built before signers were recorded): another leader submits, or it is rebuilt.
    @discardableResult
    public func submitRoster(_ id: Int64) throws -> RosterRecord {
        try perform("roster.submit") {
            let r = try roster(id)
            guard r.status == .draft else {
                throw YKTError(.rosterFrozen, "清册 \(id) 已于 \(r.submittedAt ?? "") 报送，已冻结",
                               hint: "已报送的清册不能修改；更正通过县级退回或补发清册处理")
            }
            guard let preparer = r.preparedBy else {
                throw YKTError(.rosterSigners, "清册 \(id) 没有记录编制人（在本程序记录汇总表签字人之前编制）",
                               hint: "由乡镇经办人（职能站所负责人）重新编制（ykt roster build --program \(r.programCode) --period \(r.period)），核对汇总表后再报送")
            }
            let submitter = try actingSigner()
            guard preparer.login != submitter.login else {
                throw YKTError(.rosterSigners, "清册 \(id) 由 \(preparer.description) 编制，不能再由本人报送：汇总表须由职能站所负责人和乡（镇）主要负责人两人分别签字",
                               hint: "由另一位乡镇审核人（乡镇主要负责人）报送；或由另一位经办人重新编制后再报送")
            }
            let lines = try rosterLines(id)
            try Self.refuseOffCarrier(try program(r.programCode), lines.map {
                (name: $0.name, maskedID: Masking.residentID($0.residentID), village: $0.village, kind: $0.accountKind)
            })
            for line in lines {
                let b = try beneficiary(try ResidentID(line.residentID))
                if b.account?.number != line.accountNumber || b.account?.bank != line.bank {
                    throw YKTError(.rosterStale, "清册 \(id) 第 \(line.lineNo) 行 \(line.name) 的指定账户在编制后已变更",
                                   hint: "重新编制清册（ykt roster build）核对后再报送")
                }
            }
            let at = timestamp()
            try db.run("""
                UPDATE roster SET status = 'submitted', submitted_at = ?, submitted_by = ?, submitted_name = ?, version = version + 1
                WHERE id = ?
                """, at, submitter.login, submitter.name, id)
            try db.run("""
                UPDATE application SET status = 'rostered', version = version + 1
                WHERE id IN (SELECT application_id FROM roster_line WHERE roster_id = ?)
                """, id)
            let program = try program(r.programCode)
            try enqueue("roster.submit", entity: rosterKey(r), baseVersion: 0, data: [
                "program": .string(r.programCode), "programVersion": .int(Int64(program.version)),
                "period": .string(r.period), "batch": .int(Int64(r.batch)), "township": .string(config.nodeID),
                "lineCount": .int(Int64(lines.count)), "totalFen": .int(r.totalFen),
                "preparedBy": preparer.json, "submittedBy": submitter.json,
                "lines": .array(lines.map { l in
                    [
                        "line": .int(Int64(l.lineNo)), "application": .string("application/\(l.residentID)/\(r.programCode)/\(r.period)"),
                        "residentId": .string(l.residentID), "name": .string(l.name), "village": .string(l.village),
                        "bank": .string(l.bank), "accountKind": .string(l.accountKind.rawValue),
                        "accountNumber": .string(l.accountNumber), "quantity": .string(l.quantity),
                        "amountFen": .int(l.amountFen),
                    ] as JSONValue
                }),
            ])
            return ((), AuditNote(object: "roster#\(id)", detail: "lines=\(lines.count) total=\(Fen(r.totalFen).yuan)"))
        }
        return try roster(id)
    }
}
