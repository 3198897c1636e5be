import YKTCore
import YKTStore

/// `roster.submit` checked line by line against what the county holds (docs/money-trace.md):
/// the township's resident, an application that passed the village evaluation, a notice that
/// cleared it, the standard in force times the quantity, the designated account the county
/// holds, and no other line for the person, program and an overlapping period. One bad line
/// refuses the whole roster; the receipt lists every line with every reason.
extension CountyNode {
    struct LineProblem: Sendable {
        var line: Int
        var code: ErrorCode
        var reason: String
    }

    /// The county's program: whether it is secret, and its standard for a period.
    func programFacts(_ code: String) throws -> (secret: Bool, standard: Int64, frequency: String)? {
        try db.first("SELECT secret, standard_fen, frequency FROM program WHERE code = ?", code) { ($0.bool(0), $0.int64(1), $0.text(2)) }
    }

    /// The standard (fen per unit) of the policy-list version in force for `period`.
    func standardInForce(program: String, period: Period) throws -> Int64? {
        Self.versionInForce(try Self.programVersions(db)[program] ?? [], for: period)?.standard
    }

    /// Whether a line for `a` and one for `b` pay the same person twice under a program of
    /// this frequency: a 一次性 program pays once whatever the periods; others when the periods
    /// share a month (a year and its months, a quarter and its months).
    static func periodsCollide(_ a: String, _ b: String, frequency: String) -> Bool {
        guard let pa = try? Period(parsing: a), let pb = try? Period(parsing: b) else { return a == b }
        return PaymentFrequency(rawValue: frequency)?.collides(pa, with: pb) ?? pa.overlaps(pb)
    }

    func decideRosterSubmit(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        guard case .array(let lines)? = data["lines"], !lines.isEmpty else { return .rejected(.syncBody, "清册没有明细") }
        // A roster the county already accepted is frozen: sending it again (say, from a
        // township restored from a backup, with other lines) is a conflict, never an edit.
        // A roster the county rejected may come back, corrected, as its next version.
        let entity = try op.requiredString("entity")
        if try db.integer("SELECT count(*) FROM roster WHERE node_id = ? AND entity = ? AND status != 'rejected'", node, entity) != 0 {
            return Decision(status: .conflicted, rule: "roster.already-accepted", reason: "该清册县里已接收，已冻结",
                            conflict: ("roster.already-accepted", nil, "乡镇 \(node) 再次报送已接收的清册 \(op["entity"]?.stringValue ?? "")"))
        }
        let signers: (prepared: RosterSigners.Signer, submitted: RosterSigners.Signer)
        switch Self.rosterSigners(op, data) {
        case .refused(let decision): return decision
        case .signed(let prepared, let submitted): signers = (prepared, submitted)
        }
        let program = try data.requiredString("program")
        let period = try Period(parsing: try data.requiredString("period"))
        guard let facts = try programFacts(program) else {
            return .rejected(.programUnknown, "县里的补贴政策清单没有项目 \(program)，清册不能接收")
        }
        let standard = try standardInForce(program: program, period: period) ?? facts.standard
        let carrier = try programCarrier(program)
        var sum: Int64 = 0
        var parsed: [RosterLineData] = []
        var problems: [LineProblem] = []
        var inRoster = Set<String>()
        // 按户发放: one line per household, for its head (CountyNode+Households.swift).
        let perHousehold = try paidPerHousehold(program)
        var households: [String: Int] = [:]
        for (i, line) in lines.enumerated() {
            let n = i + 1
            func problem(_ code: ErrorCode, _ reason: String) { problems.append(LineProblem(line: n, code: code, reason: reason)) }
            let rid = try line.requiredString("residentId")
            let kind = try AccountKind(parsing: try line.requiredString("accountKind"))
            let number = try AccountNumber(try line.requiredString("accountNumber"), kind: kind)
            let amount = try line.requiredInt("amountFen")
            let quantityText = try line.requiredString("quantity")
            let bank = try line.requiredString("bank")
            guard amount > 0, line["line"]?.intValue == Int64(n) else {
                return .rejected(.moneyInvalid, "清册第 \(n) 行的行号或金额无效")
            }
            sum += amount
            let masked = Masking.residentID(rid)
            // The township's own resident, with the designated account the county holds.
            guard let resident = try db.first("""
                SELECT node_id, bank, account_kind, account_number, removed_at IS NOT NULL FROM resident WHERE resident_id = ?
                """, rid, map: { (node: $0.text(0), bank: $0.text(1), kind: $0.text(2), number: $0.text(3), removed: $0.bool(4)) }),
                  resident.node == node else {
                problem(.rosterResident, "\(masked) 不是本乡镇在县里登记的对象")
                continue
            }
            if resident.removed {
                problem(.rosterResident, "\(masked) 已由本乡镇从底册移除（beneficiary.remove）")
                continue
            }
            if resident.number != number.value || resident.bank != bank || resident.kind != kind.rawValue {
                problem(.rosterAccount, "\(masked) 的账户 \(number.masked)（\(bank)）不是县里登记的现用指定账户 \(Masking.account(resident.number))（\(resident.bank)）")
            }
            if let reason = Self.carrierProblem(carrier, kind: resident.kind, person: masked) { problem(.rosterCarrier, reason) }
            // The application, its village evaluation and its notice.
            let key = "application/\(rid)/\(program)/\(period)"
            let app = try db.first("""
                SELECT a.node_id, a.village_result, a.quantity, a.status, a.village_legacy, v.status, a.notice IS NULL
                FROM application a LEFT JOIN notice v ON v.node_id = a.node_id AND v.entity = a.village_notice WHERE a.entity = ?
                """, key) {
                (node: $0.text(0), result: $0.text(1), quantity: $0.text(2), status: $0.text(3), legacy: $0.bool(4),
                 villageNotice: $0.optionalText(5), beforeTownship: $0.bool(6))
            }
            if line["application"]?.stringValue != key {
                problem(.rosterApplication, "行的申请「\(Masking.entity(line["application"]?.stringValue ?? ""))」不是此人 \(program) \(period) 的申请")
            } else if let app, app.node == node {
                if app.result != "passed" {
                    problem(.rosterApplication, "\(masked) 的申请未通过村评议")
                } else if app.quantity != quantityText {
                    problem(.rosterApplication, "\(masked) 的数量 \(quantityText) 与申请的 \(app.quantity) 不符")
                }
                // Both notices (docs/money-trace.md): the village notice closed (or, for a line a
                // notice listed before the two stages existed, the upgrade's mark) and the
                // township notice closed, no upheld objection at either.
                let openObjection = try db.integer("SELECT count(*) FROM objection WHERE application = ? AND status = 'open'", key) ?? 0 > 0
                let upheld = try db.integer("SELECT count(*) FROM objection WHERE application = ? AND status = 'upheld'", key) ?? 0 > 0
                switch (facts.secret, app.status) {
                case (true, "recorded"): break
                case (false, "cleared"):
                    if !app.legacy && app.villageNotice != "closed" {
                        problem(.rosterNotice, "\(masked) 的申请没有已结束的村级公示")
                    }
                    if upheld { problem(.rosterObjection, "\(masked) 的申请有成立的异议") }
                case (true, _): problem(.rosterApplication, "涉密项目的申请不应列入公示")
                case (false, "removed"):
                    problem(.rosterObjection, app.beforeTownship ? "\(masked) 的申请因村级公示异议成立已剔除"
                                                                 : "\(masked) 的申请因乡镇公示异议成立已剔除")
                case (false, "in_village_notice") where upheld:
                    problem(.rosterObjection, "\(masked) 的申请在村级公示中异议成立（公示结束时剔除）")
                case (false, "in_village_notice"):
                    problem(openObjection ? .rosterObjection : .rosterNotice,
                            openObjection ? "\(masked) 的申请在村级公示中有尚未处理的异议" : "\(masked) 的申请所在的村级公示尚未结束")
                case (false, "village_cleared"):
                    problem(.rosterNotice, "\(masked) 的申请只走完村级公示，乡镇公示尚未张贴")
                case (false, "in_notice") where upheld:
                    problem(.rosterObjection, "\(masked) 的申请在乡镇公示中异议成立（公示结束时剔除）")
                case (false, "in_notice"):
                    problem(openObjection ? .rosterObjection : .rosterNotice,
                            openObjection ? "\(masked) 的申请有尚未处理的异议" : "\(masked) 的申请所在的乡镇公示尚未结束")
                default: problem(.rosterNotice, "\(masked) 的申请没有列入村级公示和乡镇公示（各须公示满 5 个工作日）")
                }
            } else {
                problem(.rosterApplication, "县里没有 \(masked) 的 \(program) \(period) 申请记录")
            }
            // The amount: the standard in force for the period times the quantity.
            if let quantity = try? Quantity(parsing: quantityText) {
                let expected = AmountRule.amount(standard: Fen(standard), quantity: quantity)
                if expected.value != amount {
                    problem(.rosterAmount, "\(masked) 的金额 \(Fen(amount).yuan) 元，应为标准 \(Fen(standard).yuan) 元 × \(quantityText) = \(expected.yuan) 元")
                }
            } else {
                problem(.rosterAmount, "\(masked) 的数量「\(quantityText)」无效")
            }
            // No other line for the person, program and an overlapping period.
            if !inRoster.insert(rid).inserted {
                problem(.rosterPeriod, "\(masked) 在本清册中重复出现")
            }
            let other = try db.all("""
                SELECT r.period, r.id, l.line_no FROM roster_line l JOIN roster r ON r.id = l.roster_id
                WHERE l.resident_id = ? AND r.program = ? AND r.status != 'rejected'
                """, rid, program, map: { (period: $0.text(0), roster: $0.int64(1), line: $0.int(2)) })
                .first { Self.periodsCollide($0.period, period.description, frequency: facts.frequency) }
            if let other {
                problem(.rosterPeriod, "\(masked) 的 \(program) 已在县里清册 \(other.roster) 第 \(other.line) 行（期次 \(other.period)），与 \(period) 重叠")
            }
            var household = ""
            if perHousehold {
                let checked = try householdLineProblems(resident: rid, node: node, program: program, period: period,
                                                        frequency: facts.frequency, seen: &households, line: n)
                household = checked.household
                problems += checked.problems
            }
            parsed.append(RosterLineData(lineNo: n, residentID: rid, name: try PersonName.validate(try line.requiredString("name")),
                                         village: try line.requiredString("village"), bank: resident.bank,
                                         accountKind: resident.kind, accountNumber: resident.number,
                                         quantity: quantityText, amountFen: amount, application: key, household: household))
        }
        guard sum == data["totalFen"]?.intValue, lines.count == Int(try data.requiredInt("lineCount")) else {
            return .rejected(.moneyInvalid, "清册合计与明细不符")
        }
        if !problems.isEmpty { return Self.refusal(problems, lineCount: lines.count) }
        let version = (try db.integer("SELECT max(version) FROM roster WHERE node_id = ? AND entity = ?", node, entity) ?? 0) + 1
        // With the largest amount and the standard every amount was just checked against, so the
        // warning rules need not read its lines again while the standard stays (WarningScan.aboveStandard).
        try db.run("""
            INSERT INTO roster(node_id, entity, version, program, period, line_count, total_fen, received_at,
                prepared_by, prepared_name, submitted_by, submitted_name, max_amount_fen, checked_standard_fen)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, node, entity, version, program, period.description, lines.count, sum, timestamp(),
            signers.prepared.login, signers.prepared.name, signers.submitted.login, signers.submitted.name,
            parsed.map(\.amountFen).max() ?? 0, standard)
        let rosterID = db.lastInsertRowID
        // The accounts written are the county's own (checked equal above): approval pays them.
        let insert = try db.statement("""
            INSERT INTO roster_line(roster_id, line_no, resident_id, name, village, bank, account_kind, account_number,
                quantity, amount_fen, application) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for l in parsed {
            try insert.run([rosterID, l.lineNo, l.residentID, l.name, l.village, l.bank, l.accountKind, l.accountNumber,
                            l.quantity, l.amountFen, l.application])
            if !l.household.isEmpty {
                try db.run("INSERT INTO household_line(roster_id, line_no, node_id, household) VALUES (?, ?, ?, ?)",
                           rosterID, l.lineNo, node, l.household)
            }
        }
        try db.run("UPDATE roster SET notices_closed_on = ? WHERE id = ?", try noticesClosedOn(roster: rosterID) ?? "", rosterID)
        try emit(to: node, kind: "roster.received", data: [
            "entity": .string(entity), "roster": .int(rosterID), "version": .int(version),
            "lineCount": .int(Int64(lines.count)), "totalFen": .int(sum),
        ])
        return .accepted
    }

    /// The summary table's two signers as a `roster.submit` carries them (seed 004: the station
    /// head and the township's main leader sign the 汇总表, 分别, two people): `preparedBy` (who
    /// built the roster) and `submittedBy` (who submitted it: the operation's own `by`), each
    /// `{"login", "name"}`. Refused (`YKT-ROSTER-SIGNERS`) when either is missing, when they are
    /// the same login, or when `submittedBy` is not the operator who sent the operation. A
    /// township running a program from before this rule sends neither and is refused: the
    /// roster goes back to a draft there, to be submitted again once the program is upgraded.
    static func rosterSigners(_ op: JSONValue, _ data: JSONValue) -> RosterSigners {
        func signer(_ field: String) -> RosterSigners.Signer? {
            guard let value = data[field], let login = value["login"]?.stringValue?.trimmed, !login.isEmpty else { return nil }
            let name = value["name"]?.stringValue?.trimmed ?? ""
            return .init(login: login, name: name.isEmpty ? login : name)
        }
        func refused(_ reason: String) -> RosterSigners { .refused(.rejected(.rosterSigners, reason)) }
        guard let prepared = signer("preparedBy") else {
            return refused("清册没有载明编制人（preparedBy）：汇总表须由职能站所负责人和乡（镇）主要负责人分别签字。乡镇程序须升级后重新编制、报送")
        }
        guard let submitted = signer("submittedBy") else {
            return refused("清册没有载明报送人（submittedBy）。乡镇程序须升级后重新报送")
        }
        guard prepared.login != submitted.login else {
            return refused("清册的编制人和报送人是同一人（\(prepared.login)）：汇总表须由职能站所负责人和乡（镇）主要负责人两人分别签字")
        }
        if let by = op["by"]?.stringValue, by != submitted.login {
            return refused("清册载明的报送人 \(submitted.login) 不是报送这项操作的经办人 \(by)")
        }
        return .signed(prepared: prepared, submitted: submitted)
    }

    enum RosterSigners {
        struct Signer: Sendable {
            var login: String
            var name: String
        }
        case signed(prepared: Signer, submitted: Signer)
        case refused(Decision)
    }

    /// The program's 发放载体 as the county's policy list sets it now (docs/conventions.md): the
    /// rule in force when a roster arrives, whatever its period.
    func programCarrier(_ code: String) throws -> CarrierRule {
        CarrierRule(rawValue: try db.first("SELECT carrier FROM program WHERE code = ?", code) { $0.text(0) } ?? "") ?? .any
    }

    /// A line for a program paid on the social security card only, on another kind of account
    /// (the one the county holds for the person): the reason it is refused. A program in
    /// transition accepts the line; the warning scan raises `carrier-transition` for it.
    static func carrierProblem(_ carrier: CarrierRule, kind: String, person: String) -> String? {
        guard carrier == .socialSecurityCard, kind != AccountKind.socialSecurityCard.rawValue else { return nil }
        let label = AccountKind(rawValue: kind)?.chinese ?? "「\(kind)」"
        return "\(person) 的指定账户是\(label)，该项目规定发放到社会保障卡金融账户：先为此人登记社保卡为指定账户（ykt account change），再重新编制清册"
    }

    /// The whole roster refused: the reason lists every line with every problem (at most 200
    /// lines spelled out; the count is always exact), each with its code.
    static func refusal(_ problems: [LineProblem], lineCount: Int) -> Decision {
        let byLine = Dictionary(grouping: problems, by: \.line)
        var text = "清册 \(lineCount) 行中有 \(byLine.count) 行不符，整张退回："
        for line in byLine.keys.sorted().prefix(200) {
            text += "\n第 \(line) 行：" + byLine[line]!.map { "[\($0.code.rawValue)] \($0.reason)" }.joined(separator: "；")
        }
        if byLine.count > 200 { text += "\n……另有 \(byLine.count - 200) 行" }
        return Decision(status: .rejected, rule: ErrorCode.rosterLines.rawValue, reason: text)
    }
}
