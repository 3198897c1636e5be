import YKTCore
import YKTNode
import YKTStore

/// The county's answers about rosters and payments, applied as they arrive from its stream;
/// failed payments corrected here; the payment-result notice (发放结果公示).
extension TownshipNode {
    /// A roster the county returned (rejected at review, or refused line by line when it
    /// arrived): a draft again, its applications back where a roster takes them from (cleared by
    /// the notice; recorded, for a secret program), to be corrected and built into it anew;
    /// submitting sends the next version.
    func returnRoster(_ roster: Int64) throws {
        try db.run("""
            UPDATE application SET version = version + 1,
                status = CASE WHEN (SELECT secret FROM program p WHERE p.code = application.program_code) THEN 'recorded' ELSE 'cleared' END
            WHERE status = 'rostered' AND id IN (SELECT application_id FROM roster_line WHERE roster_id = ?)
            """, roster)
        try db.run("UPDATE roster SET status = 'draft', submitted_at = NULL, submitted_by = NULL, submitted_name = NULL, version = version + 1 WHERE id = ? AND status = 'submitted'",
                   roster)
    }

    /// Applies what one county message changes here. Runs inside the pull's transaction.
    func apply(message kind: String, seq: Int64, body: JSONValue) throws {
        let data = body["data"] ?? .null
        switch kind {
        case "policy.version":
            // A new policy list version replaces the programs it names.
            // The county's list replaces this township's own (`takeCountyList`).
            guard case .array(let items)? = data["programs"] else { throw YKTError(.syncBody, "政策清单消息没有项目") }
            var programs: [Program] = []
            for item in items {
                guard let program = Program(json: item) else { throw YKTError(.syncBody, "政策清单消息中的项目格式不对") }
                programs.append(program)
            }
            try takeCountyList(programs, version: data["version"]?.intValue.map(Int.init))
        case "calendar.version":
            try applyCalendar(body)
        case "roster.received", "roster.reviewed", "roster.approved":
            guard let roster = try rosterID(entity: data["entity"]?.stringValue ?? "") else { return }
            let decision = kind == "roster.received" ? "received"
                : kind == "roster.approved" ? "approved"
                : data["decision"]?.stringValue == "rejected" ? "rejected" : "reviewed"
            try db.run("""
                INSERT INTO roster_decision(roster_id, decision, reason, by_operator, message_seq, at) VALUES (?, ?, ?, ?, ?, ?)
                """, roster, decision, data["reason"]?.stringValue ?? "", data["by"]?.stringValue ?? "", seq,
                       body["at"]?.stringValue ?? timestamp())
            if decision == "rejected" { try returnRoster(roster) }
        case "payment.result":
            guard case .array(let lines)? = data["lines"] else { throw YKTError(.syncBody, "发放结果消息没有明细") }
            let batch = data["batch"]?.intValue ?? 0
            for l in lines {
                guard let roster = try rosterID(entity: l["entity"]?.stringValue ?? "") else { continue }
                try db.run("""
                    INSERT OR REPLACE INTO payment_result(payment, roster_id, line_no, batch, resident_id, name, bank, account_kind,
                        account_number, amount_fen, status, reason_code, reason, result_on, returned_fen, reissue_of, corrected_at, message_seq)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                            (SELECT corrected_at FROM payment_result WHERE payment = ?1), ?)
                    """, l["payment"]?.intValue ?? 0, roster, l["line"]?.intValue ?? 0, batch, l["residentId"]?.stringValue ?? "",
                           l["name"]?.stringValue ?? "", l["bank"]?.stringValue ?? "", l["accountKind"]?.stringValue ?? "",
                           l["accountNumber"]?.stringValue ?? "", l["amountFen"]?.intValue ?? 0, l["status"]?.stringValue ?? "failed",
                           l["reasonCode"]?.stringValue, l["reason"]?.stringValue, l["date"]?.stringValue ?? "",
                           l["returnedFen"]?.intValue ?? 0, l["reissueOf"]?.intValue, seq)
            }
        case "account.changed":
            // The county changed the account (a replaced card the bank reported). Taken only if
            // the account here is still the one the county replaced; otherwise it was changed
            // here too, the county records the conflict, and its decision will say which stands.
            try takeCountyAccount(data, onlyReplacing: data["previousNumber"]?.stringValue ?? "")
        case "conflict.decision":
            try takeDecision(data, seq: seq)
        default:
            break
        }
    }

    /// A conflict decided at the county: recorded by conflict, so the operations it covers are
    /// 'decided' (outbox, `ykt status`); an account decided at the county is taken; applications
    /// the county voided (`program.list`, decision `void`) are withdrawn here too (status
    /// `removed`, as `beneficiary remove` withdraws them), unless already on a roster.
    func takeDecision(_ data: JSONValue, seq: Int64) throws {
        let kind = data["kind"]?.stringValue ?? "", decision = data["decision"]?.stringValue ?? ""
        if kind == "account.both-sides" { try takeCountyAccount(data, onlyReplacing: nil) }
        guard let conflict = data["conflict"]?.intValue else { return }
        try db.run("INSERT OR REPLACE INTO conflict_decided(conflict_id, kind, decision, message_seq) VALUES (?, ?, ?, ?)",
                   conflict, kind, decision, seq)
        if kind == "program.list", decision == "void" {
            try db.run("""
                UPDATE application SET status = 'removed', version = version + 1
                WHERE status IN ('recorded','not_passed','in_village_notice','village_cleared','in_notice','cleared') AND id IN (
                    SELECT a.id FROM op_result r JOIN outbox o ON o.seq = r.seq
                    JOIN application a JOIN beneficiary b ON b.id = a.beneficiary_id
                    WHERE r.conflict_id = ? AND o.kind = 'application.record'
                      AND o.entity = 'application/' || b.resident_id || '/' || a.program_code || '/' || a.period)
                """, conflict)
        }
    }

    /// How many of this township's applications a `void` decision withdrew (for the inbox).
    func voidedApplications(conflict: Int64) throws -> Int {
        try db.integer("""
            SELECT count(*) FROM op_result r JOIN outbox o ON o.seq = r.seq
            JOIN application a JOIN beneficiary b ON b.id = a.beneficiary_id
            WHERE r.conflict_id = ? AND o.kind = 'application.record' AND a.status = 'removed'
              AND o.entity = 'application/' || b.resident_id || '/' || a.program_code || '/' || a.period
            """, conflict).map(Int.init) ?? 0
    }

    /// `roster/<node>/<program>/<period>/<batch>` → the local roster id.
    func rosterID(entity: String) throws -> Int64? {
        let parts = entity.split(separator: "/").map(String.init)
        guard parts.count == 5, parts[0] == "roster", parts[1] == config.nodeID, let batch = Int(parts[4]) else { return nil }
        return try db.integer("SELECT id FROM roster WHERE program_code = ? AND period = ? AND batch = ?", parts[2], parts[3], batch)
    }

    /// The county's decisions on a roster, oldest first.
    public func rosterDecisions(_ id: Int64) throws -> [(decision: String, reason: String, by: String, at: String)] {
        try db.all("SELECT decision, reason, by_operator, at FROM roster_decision WHERE roster_id = ? ORDER BY id", id) {
            (decision: $0.text(0), reason: $0.text(1), by: $0.text(2), at: $0.text(3))
        }
    }

    public struct PaymentResult: Sendable, Codable {
        public var payment: Int64
        public var rosterID: Int64
        public var lineNo: Int
        public var batch: Int64
        public var residentID: String
        public var name: String
        public var bank: String
        public var accountKind: String
        public var accountNumber: String
        public var amountFen: Int64
        public var status: String
        public var reasonCode: String?
        public var reason: String?
        public var resultOn: String
        public var returnedFen: Int64
        public var reissueOf: Int64?
        public var correctedAt: String?

        public var statusChinese: String {
            status == "paid" ? (reissueOf == nil ? "已发放" : "补发成功") : "发放失败（\(reason ?? reasonCode ?? "")）"
        }
    }

    public func paymentResults(roster: Int64? = nil, status: String? = nil) throws -> [PaymentResult] {
        try db.all("""
            SELECT payment, roster_id, line_no, batch, resident_id, name, bank, account_kind, account_number, amount_fen, status,
                   reason_code, reason, result_on, returned_fen, reissue_of, corrected_at
            FROM payment_result WHERE (?1 IS NULL OR roster_id = ?1) AND (?2 IS NULL OR status = ?2) ORDER BY payment
            """, roster, status) { r in
            PaymentResult(payment: r.int64(0), rosterID: r.int64(1), lineNo: r.int(2), batch: r.int64(3), residentID: r.text(4),
                          name: r.text(5), bank: r.text(6), accountKind: r.text(7), accountNumber: r.text(8), amountFen: r.int64(9),
                          status: r.text(10), reasonCode: r.optionalText(11), reason: r.optionalText(12), resultOn: r.text(13),
                          returnedFen: r.int64(14), reissueOf: r.isNull(15) ? nil : r.int64(15), correctedAt: r.optionalText(16))
        }
    }

    /// Failed payments still waiting for a correction from this township.
    public func paymentsToCorrect() throws -> [PaymentResult] {
        try paymentResults(status: "failed").filter { $0.correctedAt == nil }
    }

    /// Corrects a failed payment: with a new designated account (recorded with its confirmation
    /// form, as any account change) or, when the account itself is fine again (a card
    /// unfrozen), with the same account and a note. Sends `payment.correct` up in the same
    /// transaction; the county re-issues the line in a new batch.
    public func correctPayment(_ id: Int64, newAccount: AccountInput?, note: String) throws {
        try perform("payment.correct") {
            guard let p = try paymentResults().first(where: { $0.payment == id }) else {
                throw YKTError(.paymentUnknown, "没有编号为 \(id) 的发放结果", hint: "用 ykt payment list --failed 查看失败的发放")
            }
            guard p.status == "failed", p.correctedAt == nil else {
                throw YKTError(.paymentState, p.status == "paid" ? "发放 \(id) 已成功，无需更正" : "发放 \(id) 已于 \(p.correctedAt ?? "") 更正过")
            }
            let rid = try ResidentID(p.residentID)
            if let newAccount {
                _ = try changeAccount(rid, to: newAccount)
            } else if note.trimmed.isEmpty {
                throw YKTError(.fieldMissing, "不换账户重发须写明原因（例如 账户已解冻）", at: SourceLocation(field: "--note"))
            }
            guard let account = try beneficiary(rid).account else { throw YKTError(.internalError, "\(rid.masked) 没有指定账户") }
            let r = try roster(p.rosterID)
            try enqueue("payment.correct", entity: "payment/\(id)", baseVersion: 0, data: [
                "payment": .int(id), "residentId": .string(rid.value), "roster": .string(rosterKey(r)), "line": .int(Int64(p.lineNo)),
                "account": ["bank": .string(account.bank), "kind": .string(account.kind.rawValue), "number": .string(account.number),
                            "confirmation": .string(account.confirmation)],
                "note": .string(note.trimmed),
            ])
            try db.run("UPDATE payment_result SET corrected_at = ? WHERE payment = ?", timestamp(), id)
            return ((), AuditNote(object: "payment#\(id) \(rid.masked)", detail: "→ \(Masking.account(account.number)) \(note.trimmed)"))
        }
    }

    /// The payment-result notice (发放结果公示) of a roster: each line's outcome, masked. Its
    /// words follow what happened: how many were paid (re-issues among them), and only when
    /// some failed, how many and what happens next. It carries the complaint phone
    /// (`complaintPhone(roster:)`).
    public func paymentNoticeDocument(_ id: Int64, printedOn: CivilDate) throws -> NoticeDocument {
        let r = try roster(id)
        let program = try program(r.programCode)
        if program.secret {
            throw YKTError(.noticeSecret, "「\(program.name)」是涉密项目，不生成发放结果公示")
        }
        let results = try paymentResults(roster: id)
        guard !results.isEmpty else {
            throw YKTError(.rosterState, "清册 \(id) 还没有收到发放结果", hint: "同步（ykt sync）取回县财政的发放结果后再打印")
        }
        let phone = try complaintPhone(roster: id)
        let period = try Period(parsing: r.period)
        let title = "\(config.name)\(period.chinese)\(program.name)发放结果公示"
        let columns = ["序号", "村（社区）", "姓名", "身份证号", "账号", "金额（元）", "发放结果", "日期"]
        var rows: [[String]] = []
        var paid = Fen.zero, paidCount = 0, reissued = 0
        var failed = Fen.zero, failedCount = 0, toCorrect = 0, pending = 0
        for l in try rosterLines(id) {
            // The line's latest payment: a paid re-issue supersedes the failed original.
            let mine = results.filter { $0.lineNo == l.lineNo }
            let latest = mine.first(where: { $0.status == "paid" }) ?? mine.max(by: { $0.payment < $1.payment })
            let state = latest?.statusChinese ?? "发放中"
            switch latest?.status {
            case "paid":
                paid = paid + Fen(l.amountFen)
                paidCount += 1
                if latest?.reissueOf != nil { reissued += 1 }
            case "failed":
                failed = failed + Fen(l.amountFen)
                failedCount += 1
                if latest?.correctedAt == nil { toCorrect += 1 }
            default:
                pending += 1
            }
            rows.append([String(l.lineNo), l.village, l.name, Masking.residentID(l.residentID),
                         Masking.account(latest?.accountNumber ?? l.accountNumber), Fen(l.amountFen).yuanGrouped, state,
                         latest?.resultOn ?? ""])
        }
        var counts = "本清册共 \(rows.count) 人，金额 \(Fen(r.totalFen).yuanGrouped) 元。已发放到本人指定账户 \(paidCount) 人，" +
            "金额 \(paid.yuanGrouped) 元" + (reissued > 0 ? "（其中更正账户后补发 \(reissued) 人）" : "") + "。"
        if failedCount > 0 {
            counts += "发放失败 \(failedCount) 人，金额 \(failed.yuanGrouped) 元，原因见下表；"
            let corrected = failedCount - toCorrect
            counts += corrected == 0 ? "乡镇将与本人核实账户，更正后由县财政补发"
                : toCorrect == 0 ? "均已更正账户，等待县财政补发"
                : "其中 \(toCorrect) 人乡镇正与本人核实账户，\(corrected) 人已更正账户、等待县财政补发"
            counts += "，补发结果另行公示。"
        }
        if pending > 0 { counts += "另有 \(pending) 人的银行发放结果尚未返回。" }
        let intro = [
            "\(period.chinese)\(program.name)已通过“一卡通”发放，现将发放结果予以公示，接受社会监督。",
            counts,
        ]
        let outro = ["如对发放结果有异议，请以书面或电话形式向\(issuingBody)或县财政部门反映。监督举报电话：\(phone)。",
                     "为保护个人信息，身份证号、账号只显示部分数字。",
                     issuingBody, printedOn.chinese]
        let totals = ["合计", "", "\(rows.count) 人", "", "", Fen(r.totalFen).yuanGrouped, "已发放 \(paidCount) 人", ""]
        // 序号, 村, 姓名, 身份证号, 账号 (19 digits), 金额, 发放结果 (a failure's reason on a
        // second line), 日期: 186 mm.
        let layout = PrintLayout(widths: [9, 20, 18, 38, 39, 21, 19, 22], wrapping: [6])
        return NoticeDocument(title: title, intro: intro, columns: columns, numeric: [0, 5], rows: rows, totals: totals, outro: outro,
                              layout: layout, codes: [3, 4], qr: try queryCode())
    }

    /// The supervision phone printed on a roster's payment-result notice: `complaint_phone` in
    /// `node.conf` when set, otherwise the phone of the public notice its people were listed
    /// on (the latest, when several).
    public func complaintPhone(roster id: Int64) throws -> String {
        if let phone = config.extra["complaint_phone"]?.trimmed, !phone.isEmpty { return phone }
        let listed = try db.first("""
            SELECT n.phone FROM notice n JOIN application a ON a.notice_id = n.id
            JOIN roster_line l ON l.application_id = a.id WHERE l.roster_id = ? AND n.phone <> '' ORDER BY n.id DESC LIMIT 1
            """, id) { $0.text(0) }
        guard let listed else {
            throw YKTError(.nodeConfig, "发放结果公示须印监督举报电话，但 node.conf 没有 complaint_phone，清册 \(id) 的对象也没有公示电话",
                           at: SourceLocation(file: NSStringPath(directory).appending(NodeConfig.fileName), field: "complaint_phone"),
                           hint: "在 node.conf 中加一行 complaint_phone = 监督举报电话（例如 0772-6812000）")
        }
        return listed
    }

    public func printPaymentNotice(_ id: Int64, into directory: String? = nil, printedOn: CivilDate) throws -> (html: String, csv: String) {
        try write(try paymentNoticeDocument(id, printedOn: printedOn), base: "发放结果-\(config.nodeID)-\(id)", into: directory,
                  action: "payment.notice.print", object: "roster#\(id)")
    }
}
