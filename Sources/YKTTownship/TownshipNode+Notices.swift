import Foundation
import YKTCore
import YKTNode
import YKTStore

/// Public notices (公示) and objections (异议).
extension TownshipNode {
    /// Business dates record what happened: a date after today (China time) is refused, so a
    /// notice can never be closed "on" a day that has not yet come.
    func notInFuture(_ date: CivilDate, field: String, what: String) throws(YKTError) {
        let today = CivilDate.inChina(at: now())
        guard date <= today else {
            throw YKTError(.dateFuture, "\(what) \(date) 晚于今天 \(today)", at: SourceLocation(field: field),
                           hint: "只能登记已经发生的事；到那一天再办理")
        }
    }

    /// A business date checked against this node's clock: never in the future; earlier than
    /// today (补录) only with a reason, which the operation carries and the county turns into a
    /// `backdated` warning that a reviewer must clear before the roster can be approved.
    func dated(_ date: CivilDate, field: String, what: String, backdatedReason: String?) throws(YKTError) -> String? {
        try notInFuture(date, field: field, what: what)
        let today = CivilDate.inChina(at: now())
        guard date < today else { return nil }
        let reason = backdatedReason?.trimmed ?? ""
        guard !reason.isEmpty else {
            throw YKTError(.dateBackdated, "\(what) \(date) 早于今天 \(today)（补录）", at: SourceLocation(field: field),
                           hint: "当天的事当天登记；确属补录，用 --backdated-reason 写明理由（县里生成补录预警，审核人核实后才能审定）")
        }
        return reason
    }

    /// An operation's data, with `backdatedReason` when the act was recorded after its date.
    static func with(_ backdated: String?, _ fields: [String: JSONValue]) -> JSONValue {
        var data = fields
        if let backdated { data["backdatedReason"] = .string(backdated) }
        return .object(data)
    }

    func noticeKey(_ id: Int64) -> String { "notice/\(config.nodeID)/\(id)" }
    func objectionKey(_ id: Int64) -> String { "objection/\(config.nodeID)/\(id)" }
    func meetingKey(_ id: Int64) -> String { "meeting/\(config.nodeID)/\(id)" }

    /// A notice's lines still standing: for a village notice, those it cleared stay counted
    /// whatever the township stage did with them later.
    static let noticeLines = """
        CASE n.stage WHEN 'village' THEN a.village_notice_id = n.id AND (a.status != 'removed' OR a.notice_id IS NOT NULL)
                     ELSE a.notice_id = n.id AND a.status != 'removed' END
        """

    static let noticeColumns = """
        n.id, n.program_code, n.period, n.place, n.phone, n.posted_on, n.first_day, n.last_day, n.earliest_close,
        n.status, n.closed_on, n.proof_sha256, n.version,
        (SELECT count(*) FROM application a WHERE \(noticeLines)),
        (SELECT coalesce(sum(amount_fen), 0) FROM application a WHERE \(noticeLines)),
        n.stage, n.village, n.meeting_id
        """

    static func notice(from r: Row) throws -> NoticeRecord {
        NoticeRecord(id: r.int64(0), programCode: r.text(1), period: r.text(2), place: r.text(3), phone: r.text(4),
                     postedOn: try CivilDate(parsing: r.text(5)), firstDay: try CivilDate(parsing: r.text(6)),
                     lastDay: try CivilDate(parsing: r.text(7)), earliestClose: try CivilDate(parsing: r.text(8)),
                     status: NoticeRecord.Status(rawValue: r.text(9)) ?? .open,
                     closedOn: try r.optionalText(10).map { try CivilDate(parsing: $0) },
                     proofSHA256: r.optionalText(11), version: r.int(12), applicationCount: r.int(13),
                     totalFen: r.int64(14), stage: NoticeRecord.Stage(rawValue: r.text(15)) ?? .township,
                     village: r.optionalText(16), meetingID: r.isNull(17) ? nil : r.int64(17))
    }

    public func notices() throws -> [NoticeRecord] {
        try db.all("SELECT \(Self.noticeColumns) FROM notice n ORDER BY n.id", map: Self.notice(from:))
    }

    public func notice(_ id: Int64) throws -> NoticeRecord {
        guard let n = try db.first("SELECT \(Self.noticeColumns) FROM notice n WHERE n.id = ?", id,
                                   map: Self.notice(from:)) else {
            throw YKTError(.noticeUnknown, "没有编号为 \(id) 的公示", hint: "用 ykt notice list 查看公示编号")
        }
        return n
    }

    /// Records a villagers' representative meeting (村民代表大会) that evaluated `village`'s
    /// applications for `program` × `period`: its date, attendance (实到/应到; the meeting is
    /// valid only with two thirds of the representatives present, 村民委员会组织法 第二十六条)
    /// and outcome. A village notice names it.
    @discardableResult
    public func recordMeeting(village rawVillage: String, program code: String, period: Period, heldOn: CivilDate,
                              present: Int, expected: Int, outcome rawOutcome: String,
                              backdatedReason: String? = nil) throws -> MeetingRecord {
        let program = try program(code)
        try Self.checkPeriodForm(period, program: program)
        let village = rawVillage.trimmed, outcome = rawOutcome.trimmed
        guard !village.isEmpty else {
            throw YKTError(.fieldMissing, "没有填写村（社区）", at: SourceLocation(field: "--village"), hint: "填写召开会议的村（社区）名称")
        }
        guard !outcome.isEmpty else {
            throw YKTError(.fieldMissing, "没有填写评议结果", at: SourceLocation(field: "--outcome"),
                           hint: "例如：评议通过 12 户，不通过 1 户（不符合条件）")
        }
        guard expected > 0 else {
            throw YKTError(.valueInvalid, "应到人数 \(expected) 无效", at: SourceLocation(field: "--expected"), hint: "填写村民代表的总人数")
        }
        guard present >= 0, present <= expected else {
            throw YKTError(.valueInvalid, "实到 \(present) 人，应到 \(expected) 人：实到不能多于应到", at: SourceLocation(field: "--present"),
                           hint: "核对会议签到表")
        }
        guard present * 3 >= expected * 2 else {
            throw YKTError(.meetingQuorum, "实到 \(present) 人不足应到 \(expected) 人的三分之二，会议不能召开，评议无效",
                           at: SourceLocation(field: "--present"),
                           hint: "村民代表会议须有三分之二以上组成人员参加方可召开（村民委员会组织法第二十六条）；另行召开后再登记")
        }
        let backdated = try dated(heldOn, field: "--date", what: "会议日期", backdatedReason: backdatedReason)
        let id: Int64 = try perform("meeting.record") {
            guard try db.integer("SELECT count(*) FROM beneficiary WHERE village = ? AND removed_at IS NULL", village) ?? 0 > 0 else {
                throw YKTError(.valueInvalid, "底册中没有「\(village)」的补贴对象", at: SourceLocation(field: "--village"),
                               hint: "村（社区）名称须与底册一致；用 ykt beneficiary list 查看")
            }
            try db.run("""
                INSERT INTO meeting(village, program_code, period, held_on, present, expected, outcome, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, village, program.code, period.description, heldOn.description, present, expected, outcome, timestamp())
            let id = db.lastInsertRowID
            try enqueue("meeting.record", entity: meetingKey(id), baseVersion: 0, data: Self.with(backdated, [
                "village": .string(village), "program": .string(program.code), "period": .string(period.description),
                "heldOn": .string(heldOn.description), "present": .int(Int64(present)), "expected": .int(Int64(expected)),
                "outcome": .string(outcome),
            ]))
            return (id, AuditNote(object: "meeting#\(id)", detail: "\(village) \(program.code) \(period) \(present)/\(expected)"))
        }
        return try meeting(id)
    }

    static let meetingColumns = "id, village, program_code, period, held_on, present, expected, outcome, version"

    static func meeting(from r: Row) throws -> MeetingRecord {
        MeetingRecord(id: r.int64(0), village: r.text(1), programCode: r.text(2), period: r.text(3),
                      heldOn: try CivilDate(parsing: r.text(4)), present: r.int(5), expected: r.int(6), outcome: r.text(7),
                      version: r.int(8))
    }

    public func meetings() throws -> [MeetingRecord] {
        try db.all("SELECT \(Self.meetingColumns) FROM meeting ORDER BY id", map: Self.meeting(from:))
    }

    public func meeting(_ id: Int64) throws -> MeetingRecord {
        guard let m = try db.first("SELECT \(Self.meetingColumns) FROM meeting WHERE id = ?", id, map: Self.meeting(from:)) else {
            throw YKTError(.meetingUnknown, "没有编号为 \(id) 的村民代表会议", at: SourceLocation(field: "--meeting"),
                           hint: "先用 ykt meeting record 登记评议会议；ykt meeting list 查看编号")
        }
        return m
    }

    /// Opens a notice of `stage` (docs/conventions.md, "两级公示"):
    ///
    /// - `.village` (村级拟补贴对象公示): names the representative `meeting` that evaluated the
    ///   village's applications (held on or before the posting date) and lists every
    ///   application of its village × program × period that the village passed and that no
    ///   notice has listed yet.
    /// - `.township` (乡镇审核后发放清册公示): lists every application of `program` × `period`
    ///   (optionally one village's) whose village notice closed with no upheld objection, posted
    ///   no earlier than that notice closed.
    ///
    /// The notice period is computed on the official calendar (`NoticePeriod`); a year without
    /// calendar data is refused.
    @discardableResult
    public func openNotice(program code: String, period: Period, postedOn: CivilDate, place rawPlace: String,
                           phone rawPhone: String, village: String? = nil, backdatedReason: String? = nil,
                           stage: NoticeRecord.Stage = .township, meeting meetingID: Int64? = nil) throws -> NoticeRecord {
        let program = try program(code)
        if program.secret {
            throw YKTError(.noticeSecret, "「\(program.name)」是涉密项目，不对外公示",
                           hint: "涉密项目的申请经村评议通过后可直接编入清册（ykt roster build）")
        }
        let place = rawPlace.trimmed
        guard !place.isEmpty else {
            throw YKTError(.fieldMissing, "没有填写公示地点", at: SourceLocation(field: "--place"),
                           hint: stage == .village ? "例如：大塘村村务公开栏" : "例如：镇政府公告栏、各村村务公开栏")
        }
        let phone: String
        do { phone = try PhoneNumber.validate(rawPhone) } catch { throw error.located(SourceLocation(field: "--phone")) }
        let backdated = try dated(postedOn, field: "--date", what: "张贴日期", backdatedReason: backdatedReason)
        let days = try NoticePeriod(posted: postedOn, calendar: calendar)
        let id: Int64 = try perform("notice.open") {
            var meeting: MeetingRecord?
            let items: [ApplicationRecord]
            switch stage {
            case .village:
                guard let meetingID else {
                    throw YKTError(.meetingMissing, "村级公示须写明评议的村民代表会议", at: SourceLocation(field: "--meeting"),
                                   hint: "先召开村民代表会议评议并登记（ykt meeting record），再用 --meeting 编号 张贴村级公示")
                }
                let m = try self.meeting(meetingID)
                guard m.programCode == program.code, m.period == period.description else {
                    throw YKTError(.meetingMismatch, "会议 \(m.id) 评议的是 \(m.programCode) \(m.period)，不是 \(program.code) \(period)",
                                   at: SourceLocation(field: "--meeting"), hint: "选用评议本项目本期次的会议")
                }
                if let village, village.trimmed != m.village {
                    throw YKTError(.meetingMismatch, "会议 \(m.id) 是「\(m.village)」的，不是「\(village)」的",
                                   at: SourceLocation(field: "--village"), hint: "村级公示只公示召开会议的那个村")
                }
                guard m.heldOn <= postedOn else {
                    throw YKTError(.dateOrder, "张贴日期 \(postedOn) 早于评议会议日期 \(m.heldOn)", at: SourceLocation(field: "--date"),
                                   hint: "村民代表会议评议之后才能张贴拟补贴对象名单")
                }
                meeting = m
                items = try applications(program: program.code, period: period.description, status: .recorded)
                    .filter { $0.village == m.village }
                guard !items.isEmpty else {
                    throw YKTError(.noticeEmpty, "「\(m.village)」\(period.chinese)「\(program.name)」没有待村级公示的申请",
                                   hint: "村评议通过的申请录入后（ykt application add / import）才能进入村级公示")
                }
            case .township:
                items = try applications(program: program.code, period: period.description, status: .villageCleared)
                    .filter { village == nil || $0.village == village }
                guard !items.isEmpty else {
                    let waiting = try applications(program: program.code, period: period.description)
                        .filter { [.recorded, .inVillageNotice].contains($0.status) && (village == nil || $0.village == village) }.count
                    throw YKTError(.noticeEmpty, "\(period.chinese)「\(program.name)」没有村级公示已结束、待乡镇公示的申请" +
                                   (village.map { "（\($0)）" } ?? "") + (waiting > 0 ? "（\(waiting) 条尚未走完村级公示）" : ""),
                                   hint: "乡镇公示只列村级公示期满无异议的对象：先张贴并结束村级公示（ykt notice open --meeting …）")
                }
                let closed = try db.first("""
                    SELECT max(n.closed_on) FROM notice n JOIN application a ON a.village_notice_id = n.id
                    WHERE a.id IN (\(items.map { String($0.id) }.joined(separator: ",")))
                    """) { $0.optionalText(0) } ?? nil
                if let closed, let day = try? CivilDate(parsing: closed), postedOn < day {
                    throw YKTError(.dateOrder, "张贴日期 \(postedOn) 早于所列对象的村级公示结束日 \(day)", at: SourceLocation(field: "--date"),
                                   hint: "乡镇在村级公示结束、审核村里上报的名单之后才张贴发放清册")
                }
            }
            // A notice lists what was recorded before it was posted, never later.
            let newest = try db.first("""
                SELECT max(created_at) FROM application WHERE id IN (\(items.map { String($0.id) }.joined(separator: ",")))
                """) { $0.optionalText(0) } ?? nil
            if let newest, let day = try? CivilDate(parsing: String(newest.prefix(10))), postedOn < day {
                throw YKTError(.dateOrder, "张贴日期 \(postedOn) 早于所列申请中最晚一件的录入日 \(day)", at: SourceLocation(field: "--date"),
                               hint: "公示只能在申请录入之后张贴")
            }
            try db.run("""
                INSERT INTO notice(program_code, period, place, phone, posted_on, first_day, last_day, earliest_close,
                    status, version, created_at, stage, village, meeting_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', 1, ?, ?, ?, ?)
                """, program.code, period.description, place, phone, postedOn.description, days.firstDay.description,
                       days.lastDay.description, days.earliestClose.description, timestamp(), stage.rawValue, meeting?.village,
                       meeting?.id)
            let id = db.lastInsertRowID
            let mark = stage == .village
                ? "UPDATE application SET status = 'in_village_notice', village_notice_id = ?, version = version + 1 WHERE id = ?"
                : "UPDATE application SET status = 'in_notice', notice_id = ?, version = version + 1 WHERE id = ?"
            for a in items { try db.run(mark, id, a.id) }
            var fields: [String: JSONValue] = [
                "program": .string(program.code), "period": .string(period.description), "place": .string(place),
                "phone": .string(phone), "postedOn": .string(postedOn.description),
                "firstDay": .string(days.firstDay.description), "lastDay": .string(days.lastDay.description),
                "applications": .array(items.map { .string($0.entity) }), "stage": .string(stage.rawValue),
            ]
            if let meeting {
                fields["village"] = .string(meeting.village)
                fields["meeting"] = .string(meetingKey(meeting.id))
            }
            try enqueue("notice.open", entity: noticeKey(id), baseVersion: 0, data: Self.with(backdated, fields))
            return (id, AuditNote(object: "notice#\(id)", detail: "\(stage.rawValue) \(program.code) \(period) lines=\(items.count)"))
        }
        return try notice(id)
    }

    /// Records an objection (异议) against one person's line on an open notice.
    @discardableResult
    public func recordObjection(notice noticeID: Int64, residentID: ResidentID, receivedOn: CivilDate,
                                complainant: String, content: String, backdatedReason: String? = nil) throws -> ObjectionRecord {
        let text = content.trimmed
        guard !text.isEmpty else {
            throw YKTError(.fieldMissing, "异议内容为空", at: SourceLocation(field: "--content"), hint: "写明异议的事实和理由")
        }
        let backdated = try dated(receivedOn, field: "--date", what: "收到异议的日期", backdatedReason: backdatedReason)
        let id: Int64 = try perform("objection.record") {
            let n = try notice(noticeID)
            guard n.status == .open else {
                throw YKTError(.noticeState, "公示 \(noticeID) 已于 \(n.closedOn?.description ?? "") 结束，不能再登记异议",
                               hint: "公示结束后的反映按投诉举报处理")
            }
            guard receivedOn >= n.postedOn else {
                throw YKTError(.dateInvalid, "异议收到日期 \(receivedOn) 早于公示张贴日 \(n.postedOn)",
                               at: SourceLocation(field: "--date"), hint: "核对收到异议的日期")
            }
            guard let app = try applications(notice: noticeID).first(where: { $0.residentID == residentID.value }) else {
                throw YKTError(.applicationUnknown, "公示 \(noticeID) 中没有 \(residentID.masked)",
                               hint: "用 ykt notice show \(noticeID) 核对公示名单")
            }
            try db.run("""
                INSERT INTO objection(notice_id, application_id, received_on, complainant, content, status)
                VALUES (?, ?, ?, ?, ?, 'open')
                """, noticeID, app.id, receivedOn.description, complainant, text)
            let id = db.lastInsertRowID
            try enqueue("objection.record", entity: objectionKey(id), baseVersion: 0, data: Self.with(backdated, [
                "notice": .string(noticeKey(noticeID)), "application": .string(app.entity),
                "receivedOn": .string(receivedOn.description), "complainant": .string(complainant),
                "content": .string(text),
            ]))
            return (id, AuditNote(object: "objection#\(id) notice#\(noticeID) \(residentID.masked)"))
        }
        return try objection(id)
    }

    /// Settles an objection: upheld (the line leaves the roster) or dismissed, always with a reason.
    @discardableResult
    public func settleObjection(_ id: Int64, upheld: Bool, reason: String, on date: CivilDate,
                                backdatedReason: String? = nil) throws -> ObjectionRecord {
        let why = reason.trimmed
        guard !why.isEmpty else {
            throw YKTError(.fieldMissing, "没有写处理理由", at: SourceLocation(field: "--reason"),
                           hint: "写明核实情况和处理结论")
        }
        let backdated = try dated(date, field: "--date", what: "处理日期", backdatedReason: backdatedReason)
        try perform("objection.settle") {
            let o = try objection(id)
            guard o.status == .open else {
                throw YKTError(.objectionState, "异议 \(id) 已于 \(o.settledOn?.description ?? "") 处理（\(o.status.chinese)）")
            }
            let status: ObjectionRecord.Status = upheld ? .upheld : .dismissed
            try db.run("UPDATE objection SET status = ?, decision_reason = ?, settled_on = ?, version = version + 1 WHERE id = ?",
                       status.rawValue, why, date.description, id)
            if upheld {
                try db.run("UPDATE application SET status = 'removed', version = version + 1 WHERE id = ?", o.applicationID)
            }
            try enqueue("objection.settle", entity: objectionKey(id), baseVersion: o.version, data: Self.with(backdated, [
                "decision": .string(status.rawValue), "reason": .string(why), "settledOn": .string(date.description),
            ]))
            return ((), AuditNote(object: "objection#\(id)", detail: status.rawValue))
        }
        return try objection(id)
    }

    public func objections(notice: Int64? = nil) throws -> [ObjectionRecord] {
        try db.all("""
            SELECT o.id, o.notice_id, o.application_id, b.resident_id, b.name, o.received_on, o.complainant, o.content,
                   o.status, o.decision_reason, o.settled_on, o.version
            FROM objection o JOIN application a ON a.id = o.application_id JOIN beneficiary b ON b.id = a.beneficiary_id
            WHERE ?1 IS NULL OR o.notice_id = ?1 ORDER BY o.id
            """, notice, map: Self.objection(from:))
    }

    func objection(_ id: Int64) throws -> ObjectionRecord {
        guard let o = try db.first("""
            SELECT o.id, o.notice_id, o.application_id, b.resident_id, b.name, o.received_on, o.complainant, o.content,
                   o.status, o.decision_reason, o.settled_on, o.version
            FROM objection o JOIN application a ON a.id = o.application_id JOIN beneficiary b ON b.id = a.beneficiary_id
            WHERE o.id = ?
            """, id, map: Self.objection(from:)) else {
            throw YKTError(.objectionUnknown, "没有编号为 \(id) 的异议", hint: "用 ykt objection list 查看")
        }
        return o
    }

    static func objection(from r: Row) throws -> ObjectionRecord {
        ObjectionRecord(id: r.int64(0), noticeID: r.int64(1), applicationID: r.int64(2), residentID: r.text(3),
                        name: r.text(4), receivedOn: try CivilDate(parsing: r.text(5)), complainant: r.text(6),
                        content: r.text(7), status: ObjectionRecord.Status(rawValue: r.text(8)) ?? .open,
                        decisionReason: r.optionalText(9), settledOn: try r.optionalText(10).map { try CivilDate(parsing: $0) },
                        version: r.int(11))
    }

    /// Closes a notice on `date`. Refused before its earliest close date (saying which), and while
    /// any objection is unsettled. Lines with an upheld objection stay removed; the rest are cleared
    /// for the roster. `proof` is a file (signed summary, photo of the posted notice) whose SHA-256
    /// is recorded.
    @discardableResult
    public func closeNotice(_ id: Int64, on date: CivilDate, proofPath: String? = nil,
                            backdatedReason: String? = nil) throws -> NoticeRecord {
        let proof = try proofPath.map { path throws(YKTError) in YKTCryptoBridge.sha256Hex(try CSVFiles.read(path: path)) }
        let backdated = try dated(date, field: "--date", what: "结束日期", backdatedReason: backdatedReason)
        try perform("notice.close") {
            let n = try notice(id)
            guard n.status == .open else {
                throw YKTError(.noticeState, "公示 \(id) 已于 \(n.closedOn?.description ?? "") 结束")
            }
            // Re-checked against the calendar, not only the stored date, so a calendar loaded
            // later cannot shorten a notice.
            let days = try NoticePeriod(posted: n.postedOn, calendar: calendar)
            let earliest = max(days.earliestClose, n.earliestClose)
            guard date >= earliest else {
                let done = date > n.firstDay ? try calendar.workdays(from: n.firstDay, through: date.adding(days: -1)) : 0
                throw YKTError(.noticeTooEarly,
                               "公示 \(id) 自 \(n.firstDay.chinese) 起须满 \(NoticePeriod.minimumWorkingDays) 个工作日" +
                               "（至 \(days.lastDay.chinese)），\(date.chinese) 之前只满 \(done) 个工作日",
                               hint: "最早可于 \(earliest.chinese)（\(earliest)）结束公示")
            }
            let open = try objections(notice: id).filter { $0.status == .open }
            guard open.isEmpty else {
                throw YKTError(.objectionOpen, "公示 \(id) 还有 \(open.count) 条异议未处理（编号 \(open.map { String($0.id) }.joined(separator: "、"))）",
                               hint: "先用 ykt objection settle 处理异议")
            }
            let lines = try applications(notice: id)
            let listed: ApplicationStatus = n.stage == .village ? .inVillageNotice : .inNotice
            if n.stage == .village {
                try db.run("""
                    UPDATE application SET status = 'village_cleared', version = version + 1
                    WHERE village_notice_id = ? AND status = 'in_village_notice'
                    """, id)
            } else {
                try db.run("UPDATE application SET status = 'cleared', version = version + 1 WHERE notice_id = ? AND status = 'in_notice'", id)
            }
            try db.run("UPDATE notice SET status = 'closed', closed_on = ?, proof_sha256 = ?, version = version + 1 WHERE id = ?",
                       date.description, proof, id)
            var data: [String: JSONValue] = [
                "closedOn": .string(date.description),
                "cleared": .array(lines.filter { $0.status == listed }.map { .string($0.entity) }),
                "removed": .array(lines.filter { $0.status == .removed }.map { .string($0.entity) }),
            ]
            if let proof { data["proofSha256"] = .string(proof) }
            if let backdated { data["backdatedReason"] = .string(backdated) }
            try enqueue("notice.close", entity: noticeKey(id), baseVersion: n.version, data: .object(data))
            return ((), AuditNote(object: "notice#\(id)", detail: "closed \(date)"))
        }
        return try notice(id)
    }
}
