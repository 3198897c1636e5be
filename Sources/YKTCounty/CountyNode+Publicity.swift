import Foundation
import YKTCore
import YKTStore

/// What a payment rests on, kept at the county as the townships' operations arrive
/// (docs/money-trace.md): applications with their village evaluation, the notices that listed
/// them, the objections and how they were settled. Every business date is checked against the
/// township's recording time (the operation's `at`) and the county's own today, never trusted.
extension CountyNode {
    /// The day an operation was recorded at its township (the date part of its `at`).
    func recordingDay(_ op: JSONValue) throws -> CivilDate {
        let at = try op.requiredString("at")
        guard at.utf8.count >= 10, let day = try? CivilDate(parsing: String(at.prefix(10))) else {
            throw YKTError(.dateInvalid, "操作的录入时间「\(at.prefix(40))」无效")
        }
        return day
    }

    /// A business date checked against when it was recorded and the county's today: never after
    /// either; before the recording day only with a reason (`backdatedReason`), which is
    /// returned so that the caller raises the `backdated` warning.
    func checkBusinessDate(_ date: CivilDate, _ what: String, op: JSONValue, data: JSONValue) throws -> String? {
        let recorded = try recordingDay(op)
        let today = CivilDate.inChina(at: now())
        guard recorded <= today.adding(days: 1) else {
            throw YKTError(.dateFuture, "录入时间 \(recorded) 晚于县里的今天 \(today)：乡镇节点的时钟不对")
        }
        guard date <= recorded, date <= today else {
            throw YKTError(.dateFuture, "\(what) \(date) 晚于录入日 \(recorded)（县里今天 \(today)）：不能预先登记")
        }
        guard date < recorded else { return nil }
        let reason = data["backdatedReason"]?.stringValue?.trimmed ?? ""
        guard !reason.isEmpty else {
            throw YKTError(.dateBackdated, "\(what) \(date) 早于录入日 \(recorded)，没有写明补录理由")
        }
        return reason
    }

    /// The `backdated` warning for a dated act recorded after the fact: it blocks approval of
    /// the residents' lines until a reviewer clears it with a reason (it cannot be overridden).
    func raiseBackdated(entity: String, program: String, what: String, date: CivilDate, op: JSONValue, reason: String,
                        residents: [String]) throws {
        let evidence: JSONValue = [
            "entity": .string(entity), "program": .string(program), "act": .string(what), "businessDate": .string(date.description),
            "recordedAt": .string(op["at"]?.stringValue ?? ""), "reason": .string(reason),
        ]
        let at = timestamp()
        try db.run("""
            INSERT INTO warning(rule, subject, evidence, residents, found_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(rule, subject) DO UPDATE SET evidence = excluded.evidence, last_seen = excluded.last_seen, status = 'open'
            """, WarningRule.backdated.rawValue, entity, evidence.canonical, residents.joined(separator: ","), at, at)
        let id = try db.integer("SELECT id FROM warning WHERE rule = ? AND subject = ?", WarningRule.backdated.rawValue, entity) ?? 0
        let link = try db.statement("INSERT OR IGNORE INTO warning_resident(warning_id, resident_id) VALUES (?, ?)")
        for rid in residents { try link.run([id, rid]) }
    }

    /// An accepted application, kept: the roster lines that pay it are checked against it.
    func keepApplication(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        let entity = try op.requiredString("entity")
        let rid = try data.requiredString("residentId"), program = try data.requiredString("program")
        let period = try data.requiredString("period")
        guard entity == "application/\(rid)/\(program)/\(period)" else {
            return .rejected(.syncBody, "申请的实体键 \(Masking.entity(entity)) 与其对象、项目、期次不符")
        }
        let result = try data.requiredString("villageResult")
        guard result == "passed" || result == "failed" else {
            return .rejected(.valueInvalid, "村评议结果「\(result)」只能是 passed 或 failed")
        }
        if try db.integer("SELECT count(*) FROM application WHERE entity = ?", entity) != 0 {
            return .rejected(.applicationDuplicate, "\(Masking.residentID(rid)) 的 \(program) \(period) 申请县里已有记录")
        }
        if let refused = try refuseHouseholdApplication(resident: rid, program: program, period: period, node: node) {
            return refused   // 按户发放 (CountyNode+Households.swift)
        }
        _ = try recordingDay(op)
        try db.run("""
            INSERT INTO application(entity, node_id, op_seq, resident_id, program, period, program_version, quantity, standard_fen,
                amount_fen, village_result, village_note, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, entity, node, try op.requiredInt("seq"), rid, program, period, try data.requiredInt("programVersion"),
                   try data.requiredString("quantity"), try data.requiredInt("standardFen"), try data.requiredInt("amountFen"),
                   result, data["villageNote"]?.stringValue ?? "", try op.requiredString("at"))
        return .accepted
    }

    /// A villagers' representative meeting (村民代表大会评议): this township's, of a program the
    /// county lists, with its date (not in the future; backdated only with a reason), an
    /// attendance that makes it valid (two thirds of the representatives present) and an outcome.
    func decideMeetingRecord(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        let entity = try op.requiredString("entity")
        guard entity.hasPrefix("meeting/\(node)/") else {
            return .rejected(.syncBody, "会议的实体键 \(entity) 不是本乡镇的")
        }
        if try db.integer("SELECT count(*) FROM meeting WHERE node_id = ? AND entity = ?", node, entity) != 0 {
            return .rejected(.meetingMismatch, "会议 \(entity) 县里已有登记")
        }
        let village = try data.requiredString("village").trimmed, outcome = try data.requiredString("outcome").trimmed
        let program = try data.requiredString("program"), period = try data.requiredString("period")
        guard !village.isEmpty, !outcome.isEmpty else { return .rejected(.fieldMissing, "会议没有写明村（社区）或评议结果") }
        guard try programFacts(program) != nil else { return .rejected(.programUnknown, "县里的补贴政策清单没有项目 \(program)") }
        _ = try Period(parsing: period)
        let present = try data.requiredInt("present"), expected = try data.requiredInt("expected")
        guard expected > 0, present >= 0, present <= expected else {
            return .rejected(.valueInvalid, "会议实到 \(present) 人、应到 \(expected) 人不合理")
        }
        guard present * 3 >= expected * 2 else {
            return .rejected(.meetingQuorum, "会议实到 \(present) 人不足应到 \(expected) 人的三分之二，评议无效")
        }
        let held = try CivilDate(parsing: try data.requiredString("heldOn"))
        let backdated = try checkBusinessDate(held, "会议日期", op: op, data: data)
        try db.run("""
            INSERT INTO meeting(node_id, entity, op_seq, village, program, period, held_on, present, expected, outcome, recorded_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, node, entity, try op.requiredInt("seq"), village, program, period, held.description, present, expected, outcome,
                   try op.requiredString("at"))
        if let backdated {
            try raiseBackdated(entity: entity, program: program, what: "村民代表会议评议", date: held, op: op, reason: backdated,
                               residents: [])
        }
        return .accepted
    }

    /// A notice posted, at its stage (docs/money-trace.md; a notice without `stage` is read as
    /// the township stage, which still needs a closed village notice for every line). Every
    /// application it lists is this township's, passed the village evaluation, is of the
    /// notice's program and period and on no other notice of the stage; a village notice
    /// names this township's representative meeting of its village, program and period, held
    /// on or before the posting date, and lists applications no notice has listed; a township
    /// notice lists only applications whose village notice closed with no upheld objection, on
    /// or before its posting date. It is posted no earlier than the newest application was
    /// recorded, and not in the future; its last day is recomputed on the county's calendar.
    func decideNoticeOpen(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        let entity = try op.requiredString("entity")
        let posted = try CivilDate(parsing: try data.requiredString("postedOn"))
        let program = try data.requiredString("program"), period = try data.requiredString("period")
        let stage = data["stage"]?.stringValue ?? "township"
        guard stage == "village" || stage == "township" else {
            return .rejected(.valueInvalid, "公示阶段「\(stage)」只能是 village 或 township")
        }
        if try db.integer("SELECT count(*) FROM notice WHERE node_id = ? AND entity = ?", node, entity) != 0 {
            return .rejected(.noticeState, "公示 \(entity) 县里已有张贴记录")
        }
        if try db.first("SELECT secret FROM program WHERE code = ?", program, map: { $0.bool(0) }) == true {
            return .rejected(.noticeSecret, "项目 \(program) 是涉密项目，不对外公示")
        }
        guard case .array(let listed)? = data["applications"], !listed.isEmpty else {
            return .rejected(.noticeEmpty, "公示没有列出申请")
        }
        var village: String?, meeting: String?
        if stage == "village" {
            guard let key = data["meeting"]?.stringValue, !key.isEmpty else {
                return .rejected(.meetingMissing, "村级公示没有写明评议的村民代表会议")
            }
            guard let m = try db.first("SELECT village, program, period, held_on FROM meeting WHERE node_id = ? AND entity = ?", node, key,
                                       map: { (village: $0.text(0), program: $0.text(1), period: $0.text(2), held: $0.text(3)) }) else {
                return .rejected(.meetingMismatch, "村级公示所写的会议 \(key) 县里没有本乡镇的登记")
            }
            guard m.village == data["village"]?.stringValue, m.program == program, m.period == period else {
                return .rejected(.meetingMismatch, "会议 \(key) 评议的是「\(m.village)」\(m.program) \(m.period)，与本公示（「\(data["village"]?.stringValue ?? "")」\(program) \(period)）不符")
            }
            guard try CivilDate(parsing: m.held) <= posted else {
                return .rejected(.dateOrder, "村级公示张贴日 \(posted) 早于评议会议日期 \(m.held)")
            }
            (village, meeting) = (m.village, key)
        }
        let backdated = try checkBusinessDate(posted, "张贴日期", op: op, data: data)
        let period5 = try NoticePeriod(posted: posted, calendar: calendar)
        guard data["lastDay"]?.stringValue == period5.lastDay.description else {
            return .rejected(.noticeTooEarly, "公示期应至 \(period5.lastDay)，乡镇报的是 \(data["lastDay"]?.stringValue ?? "")")
        }
        var residents: [String] = []
        var keys = Set<String>()
        for item in listed {
            guard let key = item.stringValue, keys.insert(key).inserted else {
                return .rejected(.syncBody, "公示列出的申请重复或格式不对")
            }
            guard let a = try db.first("""
                SELECT a.node_id, a.resident_id, a.program, a.period, a.village_result, a.status, a.recorded_at, v.status, v.closed_on
                FROM application a LEFT JOIN notice v ON v.node_id = a.node_id AND v.entity = a.village_notice WHERE a.entity = ?
                """, key, map: { (node: $0.text(0), rid: $0.text(1), program: $0.text(2), period: $0.text(3), result: $0.text(4),
                                  status: $0.text(5), recorded: $0.text(6), villageStatus: $0.optionalText(7),
                                  villageClosed: $0.optionalText(8)) }), a.node == node else {
                return .rejected(.applicationUnknown, "公示列出的申请 \(Masking.entity(key)) 县里没有本乡镇的记录")
            }
            let masked = Masking.entity(key)
            guard a.program == program, a.period == period else {
                return .rejected(.applicationState, "申请 \(masked) 不是 \(program) \(period) 的申请")
            }
            guard a.result == "passed" else {
                return .rejected(.applicationState, "申请 \(masked) 未通过村评议，不能列入公示")
            }
            if stage == "village" {
                guard a.status == "recorded" else {
                    return .rejected(.applicationState, "申请 \(masked) 已列入另一次公示，不能再列入村级公示")
                }
            } else {
                switch a.status {
                case "village_cleared": break
                case "recorded":
                    return .rejected(.applicationState, "申请 \(masked) 没有经过村级公示，不能列入乡镇公示")
                case "in_village_notice":
                    return .rejected(.applicationState, "申请 \(masked) 的村级公示尚未结束，不能列入乡镇公示")
                case "removed":
                    return .rejected(.applicationState, "申请 \(masked) 已因异议成立剔除，不能列入乡镇公示")
                default:
                    return .rejected(.applicationState, "申请 \(masked) 已列入另一次乡镇公示")
                }
                guard a.villageStatus == "closed", let closed = a.villageClosed.flatMap({ try? CivilDate(parsing: $0) }) else {
                    return .rejected(.applicationState, "申请 \(masked) 的村级公示县里没有结束记录")
                }
                guard closed <= posted else {
                    return .rejected(.dateOrder, "乡镇公示张贴日 \(posted) 早于申请 \(masked) 的村级公示结束日 \(closed)")
                }
            }
            if let day = try? CivilDate(parsing: String(a.recorded.prefix(10))), posted < day {
                return .rejected(.dateOrder, "张贴日期 \(posted) 早于所列申请 \(masked) 的录入日 \(day)")
            }
            residents.append(a.rid)
        }
        try db.run("""
            INSERT INTO notice(node_id, entity, posted_on, last_day, op_seq, program, period, place, phone, first_day, opened_at,
                stage, village, meeting) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, node, entity, posted.description, period5.lastDay.description, try op.requiredInt("seq"), program, period,
                   try data.requiredString("place"), try data.requiredString("phone"), period5.firstDay.description,
                   try op.requiredString("at"), stage, village, meeting)
        let mark = try db.statement(stage == "village"
            ? "UPDATE application SET status = 'in_village_notice', village_notice = ? WHERE entity = ?"
            : "UPDATE application SET status = 'in_notice', notice = ? WHERE entity = ?")
        for key in keys { try mark.run([entity, key]) }
        if let backdated {
            try raiseBackdated(entity: entity, program: program, what: stage == "village" ? "村级公示张贴" : "公示张贴", date: posted,
                               op: op, reason: backdated, residents: residents)
        }
        return .accepted
    }

    /// A notice closed: not before its 5th working day on the county's calendar has passed, by
    /// the date given and by the clock it was recorded on; every objection settled; the
    /// applications removed are exactly those with an upheld objection.
    func decideNoticeClose(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        let entity = try op.requiredString("entity")
        let closed = try CivilDate(parsing: try data.requiredString("closedOn"))
        guard let n = try db.first("SELECT last_day, status, program, stage FROM notice WHERE node_id = ? AND entity = ?", node, entity,
                                   map: { (lastDay: $0.text(0), status: $0.text(1), program: $0.text(2), stage: $0.text(3)) }) else {
            return .rejected(.noticeUnknown, "县里没有这个公示的张贴记录")
        }
        // A village notice's lines are linked by `village_notice`, a township notice's by `notice`.
        let column = n.stage == "village" ? "village_notice" : "notice"
        let passed = n.stage == "village" ? "village_cleared" : "cleared"
        guard n.status == "open" else { return .rejected(.noticeState, "公示 \(entity) 县里已记为结束") }
        let lastDay = try CivilDate(parsing: n.lastDay)
        guard closed > lastDay else {
            return .rejected(.noticeTooEarly, "公示至 \(lastDay) 才满 5 个工作日，不能在 \(closed) 结束")
        }
        let backdated = try checkBusinessDate(closed, "结束日期", op: op, data: data)
        if let open = try db.integer("SELECT count(*) FROM objection WHERE notice = ? AND status = 'open'", entity), open > 0 {
            return .rejected(.objectionOpen, "公示还有 \(open) 件异议未处理，不能结束")
        }
        let listed = Set(try db.all("SELECT entity FROM application WHERE \(column) = ?", entity, map: { $0.text(0) }))
        let upheld = Set(try db.all("SELECT application FROM objection WHERE notice = ? AND status = 'upheld'", entity, map: { $0.text(0) }))
        func keys(_ field: String) throws -> Set<String> {
            guard case .array(let items)? = data[field] else { throw YKTError(.fieldMissing, "公示结束缺少字段 \(field)") }
            return Set(items.compactMap(\.stringValue))
        }
        let cleared = try keys("cleared"), removed = try keys("removed")
        guard cleared.isDisjoint(with: removed), cleared.union(removed) == listed else {
            return .rejected(.syncBody, "公示结束时的通过与剔除名单和张贴时列出的申请不一致")
        }
        guard removed == upheld else {
            return .rejected(.objectionState, "剔除的申请应恰为异议成立的 \(upheld.count) 件，乡镇报的是 \(removed.count) 件")
        }
        try db.run("""
            UPDATE notice SET status = 'closed', closed_on = ?, closed_at = ?, proof_sha256 = ? WHERE node_id = ? AND entity = ?
            """, closed.description, try op.requiredString("at"), data["proofSha256"]?.stringValue, node, entity)
        try db.run("UPDATE application SET status = CASE WHEN entity IN (SELECT application FROM objection WHERE notice = ?1 AND status = 'upheld') THEN 'removed' ELSE '\(passed)' END WHERE \(column) = ?1", entity)
        if let backdated {
            let residents = try db.all("SELECT resident_id FROM application WHERE \(column) = ? AND status = ?", entity, passed,
                                       map: { $0.text(0) })
            try raiseBackdated(entity: entity, program: n.program, what: n.stage == "village" ? "村级公示结束" : "公示结束", date: closed,
                               op: op, reason: backdated,
                               residents: residents)
        }
        return .accepted
    }

    /// An objection recorded against one application on an open notice.
    func decideObjectionRecord(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        let entity = try op.requiredString("entity")
        let notice = try data.requiredString("notice"), application = try data.requiredString("application")
        let received = try CivilDate(parsing: try data.requiredString("receivedOn"))
        guard let n = try db.first("SELECT posted_on, status, program FROM notice WHERE node_id = ? AND entity = ?", node, notice,
                                   map: { (posted: $0.text(0), status: $0.text(1), program: $0.text(2)) }) else {
            return .rejected(.noticeUnknown, "异议所指的公示 \(notice) 县里没有张贴记录")
        }
        guard n.status == "open" else { return .rejected(.noticeState, "公示 \(notice) 已结束，不能再登记异议") }
        guard let rid = try db.first("SELECT resident_id FROM application WHERE entity = ?1 AND (notice = ?2 OR village_notice = ?2)",
                                     application, notice, map: { $0.text(0) }) else {
            return .rejected(.applicationUnknown, "异议所指的申请不在公示 \(notice) 中")
        }
        guard received >= (try CivilDate(parsing: n.posted)) else {
            return .rejected(.dateOrder, "异议收到日 \(received) 早于公示张贴日 \(n.posted)")
        }
        let backdated = try checkBusinessDate(received, "异议收到日期", op: op, data: data)
        if try db.integer("SELECT count(*) FROM objection WHERE entity = ?", entity) != 0 {
            return .rejected(.objectionState, "异议 \(entity) 县里已有记录")
        }
        try db.run("""
            INSERT INTO objection(entity, node_id, notice, application, received_on, recorded_at) VALUES (?, ?, ?, ?, ?, ?)
            """, entity, node, notice, application, received.description, try op.requiredString("at"))
        if let backdated {
            try raiseBackdated(entity: entity, program: n.program, what: "异议登记", date: received, op: op, reason: backdated,
                               residents: [rid])
        }
        return .accepted
    }

    /// An objection settled: upheld (the application leaves the notice's list) or dismissed.
    func decideObjectionSettle(_ op: JSONValue, _ data: JSONValue, node: String) throws -> Decision {
        let entity = try op.requiredString("entity")
        guard let o = try db.first("""
            SELECT o.status, o.received_on, a.resident_id, n.program FROM objection o JOIN application a ON a.entity = o.application
            JOIN notice n ON n.node_id = o.node_id AND n.entity = o.notice WHERE o.entity = ? AND o.node_id = ?
            """, entity, node, map: { (status: $0.text(0), received: $0.text(1), rid: $0.text(2), program: $0.text(3)) }) else {
            return .rejected(.objectionUnknown, "县里没有异议 \(entity) 的登记")
        }
        guard o.status == "open" else { return .rejected(.objectionState, "异议 \(entity) 已处理") }
        let decision = try data.requiredString("decision")
        guard decision == "upheld" || decision == "dismissed" else {
            return .rejected(.valueInvalid, "异议处理结果「\(decision)」只能是 upheld 或 dismissed")
        }
        let reason = try data.requiredString("reason").trimmed
        guard !reason.isEmpty else { return .rejected(.fieldMissing, "异议处理没有写明理由") }
        let settled = try CivilDate(parsing: try data.requiredString("settledOn"))
        guard settled >= (try CivilDate(parsing: o.received)) else {
            return .rejected(.dateOrder, "异议处理日 \(settled) 早于收到日 \(o.received)")
        }
        let backdated = try checkBusinessDate(settled, "异议处理日期", op: op, data: data)
        try db.run("UPDATE objection SET status = ?, settled_on = ?, settled_at = ?, reason = ? WHERE entity = ?",
                   decision, settled.description, try op.requiredString("at"), reason, entity)
        if let backdated {
            try raiseBackdated(entity: entity + "#settle", program: o.program, what: "异议处理", date: settled, op: op,
                               reason: backdated, residents: [o.rid])
        }
        return .accepted
    }
}
