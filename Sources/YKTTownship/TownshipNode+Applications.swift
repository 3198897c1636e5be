import YKTCore
import YKTNode
import YKTStore

/// Applications (申请) and their village evaluation (村评议).
extension TownshipNode {
    static let applicationColumns = """
        ap.id, b.resident_id, b.name, b.village, ap.program_code, ap.period, ap.quantity_e4, ap.standard_fen,
        ap.amount_fen, ap.village_result, ap.village_note, ap.status, ap.notice_id, ap.version, ap.village_notice_id, ap.village_legacy
        """

    static func application(from r: Row) -> ApplicationRecord {
        ApplicationRecord(id: r.int64(0), residentID: r.text(1), name: r.text(2), village: r.text(3),
                          programCode: r.text(4), period: r.text(5),
                          quantity: Quantity(tenThousandths: r.int64(6)).description, standardFen: r.int64(7),
                          amountFen: r.int64(8), villageResult: VillageResult(rawValue: r.text(9)) ?? .failed,
                          villageNote: r.text(10), status: ApplicationStatus(rawValue: r.text(11)) ?? .recorded,
                          noticeID: r.isNull(12) ? nil : r.int64(12), version: r.int(13),
                          villageNoticeID: r.isNull(14) ? nil : r.int64(14), villageLegacy: r.bool(15))
    }

    /// Applications, filtered by program, period, status and notice (of either stage).
    public func applications(program: String? = nil, period: String? = nil, status: ApplicationStatus? = nil,
                             notice: Int64? = nil) throws -> [ApplicationRecord] {
        try db.all("""
            SELECT \(Self.applicationColumns) FROM application ap JOIN beneficiary b ON b.id = ap.beneficiary_id
            WHERE (?1 IS NULL OR ap.program_code = ?1) AND (?2 IS NULL OR ap.period = ?2)
              AND (?3 IS NULL OR ap.status = ?3) AND (?4 IS NULL OR ap.notice_id = ?4 OR ap.village_notice_id = ?4)
            ORDER BY ap.program_code, ap.period, b.village, b.resident_id
            """, program, period, status?.rawValue, notice, map: Self.application(from:))
    }

    func insertApplication(_ input: ApplicationInput, beneficiaryID: Int64, program: Program, at: String) throws -> Int64 {
        let amount = AmountRule.amount(standard: program.standard, quantity: input.quantity)
        let status: ApplicationStatus = input.villageResult == .passed ? .recorded : .notPassed
        try db.run("""
            INSERT INTO application(beneficiary_id, program_code, period, quantity_e4, standard_fen, amount_fen,
                village_result, village_note, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, beneficiaryID, program.code, input.period.description, input.quantity.tenThousandths,
                   program.standard.value, amount.value, input.villageResult.rawValue, input.note, status.rawValue, at)
        let id = db.lastInsertRowID
        let data: JSONValue = [
            "residentId": .string(input.residentID.value), "program": .string(program.code),
            "programVersion": .int(Int64(program.version)), "period": .string(input.period.description),
            "quantity": .string(input.quantity.description), "standardFen": .int(program.standard.value),
            "amountFen": .int(amount.value), "villageResult": .string(input.villageResult.rawValue),
            "villageNote": .string(input.note),
        ]
        try enqueue("application.record",
                    entity: "application/\(input.residentID.value)/\(program.code)/\(input.period)",
                    baseVersion: 0, data: data)
        return id
    }

    /// Records one application with its village evaluation; the amount is computed from the
    /// program standard (`AmountRule`).
    @discardableResult
    public func recordApplication(_ input: ApplicationInput) throws -> ApplicationRecord {
        let program = try program(input.programCode)
        try Self.checkPeriodForm(input.period, program: program)
        try program.unit.validate(input.quantity)
        let id: Int64 = try perform("application.record") {
            let b = try beneficiary(input.residentID)
            if try db.integer("SELECT id FROM application WHERE beneficiary_id = ? AND program_code = ? AND period = ?",
                              b.id, program.code, input.period.description) != nil {
                throw YKTError(.applicationDuplicate,
                               "\(b.name)（\(b.maskedID)）\(input.period.chinese)「\(program.name)」已有申请",
                               hint: "同一人同一项目同一期次只能申请一次；用 ykt application list 查看")
            }
            try refuseOverlap(input.period, program: program, beneficiary: b)
            try refuseHouseholdApplication(b, program: program, period: input.period)
            let id = try insertApplication(input, beneficiaryID: b.id, program: program, at: timestamp())
            return (id, AuditNote(object: "application#\(id) \(b.maskedID)", detail: "\(program.code) \(input.period)"))
        }
        return try applicationRecord(id)
    }

    func applicationRecord(_ id: Int64) throws -> ApplicationRecord {
        guard let a = try db.first("""
            SELECT \(Self.applicationColumns) FROM application ap JOIN beneficiary b ON b.id = ap.beneficiary_id
            WHERE ap.id = ?
            """, id, map: Self.application(from:)) else {
            throw YKTError(.applicationUnknown, "没有编号为 \(id) 的申请")
        }
        return a
    }

    public static let applicationFileColumns: [CSVColumn] = [
        CSVColumn("residentID", ["身份证号", "身份证号码", "公民身份号码", "resident_id"], code: true),
        CSVColumn("name", ["姓名", "name"], required: false),
        CSVColumn("program", ["项目编码", "program"]),
        CSVColumn("period", ["期次", "发放期次", "period"], code: true),
        CSVColumn("quantity", ["数量", "面积(亩)", "补贴数量", "quantity"]),
        CSVColumn("result", ["村评议结果", "评议结果", "village_result"], required: false),
        CSVColumn("note", ["备注", "note"], required: false),
    ]

    /// Imports applications from CSV; all-or-nothing unless `options.keepGood`.
    public func importApplications(path: String, options: ImportOptions = ImportOptions()) throws -> ImportResult {
        let loaded = try CSVFiles.load(path: path, encoding: options.encoding)
        let header = try CSVHeader(loaded.header, columns: Self.applicationFileColumns, file: loaded.name)
        let today = CivilDate.inChina(at: now())
        var programByCode: [String: Program] = [:]
        for p in try programs() { programByCode[p.code] = p }
        return try perform("application.import") {
            var residents: [String: (id: Int64, name: String)] = [:]
            try db.forEach("SELECT resident_id, id, name FROM beneficiary WHERE removed_at IS NULL") { residents[$0.text(0)] = ($0.int64(1), $0.text(2)) }
            var existing: [String: Int] = [:]
            // Each person's periods per program, for the overlap rule (line 0: already recorded).
            var periodsOf: [String: [(period: Period, line: Int)]] = [:]
            try db.forEach("""
                SELECT b.resident_id || '|' || ap.program_code, ap.period FROM application ap
                JOIN beneficiary b ON b.id = ap.beneficiary_id
                """) {
                existing[$0.text(0) + "|" + $0.text(1)] = 0
                if let p = try? Period(parsing: $0.text(1)) { periodsOf[$0.text(0), default: []].append((p, 0)) }
            }
            let programs = programByCode, people = residents
            let households = try HouseholdApplications(db: db, programs: programByCode)
            let screened = try screen(loaded, options: options.listingProblems(in: outFolder), what: "申请", codes: header.codePositions) { record -> Result<(ApplicationInput, Int64, Program), RowErrors> in
                var errors: [YKTError] = widthProblem(record, header).map { [$0] } ?? []
                func v(_ key: String) -> String { header.value(key, in: record).trimmed }
                let rid = field("residentID", header, &errors) { () throws(YKTError) in try ResidentID(v("residentID"), today: today) }
                let code = v("program")
                let program = programs[code]
                if program == nil {
                    errors.append(YKTError(.programUnknown, "补贴政策清单中没有项目编码「\(code)」",
                                           at: SourceLocation(field: header.label("program")),
                                           hint: "用 ykt program list 核对编码"))
                }
                let period = field("period", header, &errors) { () throws(YKTError) -> Period in
                    let p = try Period(parsing: v("period"))
                    if let program { try Self.checkPeriodForm(p, program: program) }
                    return p
                }
                let quantity = field("quantity", header, &errors) { () throws(YKTError) -> Quantity in
                    let q = try Quantity(parsing: v("quantity"))
                    try program?.unit.validate(q)
                    return q
                }
                let result = field("result", header, &errors) { () throws(YKTError) in try VillageResult(parsing: v("result")) }
                var person: (id: Int64, name: String)?
                if let rid {
                    person = people[rid.value]
                    if person == nil {
                        errors.append(YKTError(.residentUnknown, "\(rid.masked) 不在底册中",
                                               at: SourceLocation(field: header.label("residentID")),
                                               hint: "先把此人登记到底册"))
                    } else if !v("name").isEmpty, v("name") != person!.name {
                        errors.append(YKTError(.nameInvalid, "姓名「\(v("name"))」与底册中的「\(person!.name)」不一致",
                                               at: SourceLocation(field: header.label("name")), hint: "核对身份证号和姓名"))
                    }
                }
                guard errors.isEmpty, let rid, let program, let period, let quantity, let result, let person else {
                    return .failure(RowErrors(errors))
                }
                return .success((ApplicationInput(residentID: rid, programCode: program.code, period: period,
                                                  quantity: quantity, villageResult: result, note: v("note")),
                                 person.id, program))
            } crossCheck: { record, item in
                let key = "\(item.0.residentID.value)|\(item.2.code)|\(item.0.period)"
                if let first = existing[key] {
                    return [YKTError(.applicationDuplicate,
                                     first == 0 ? "此人本项目本期次已有申请" : "与第 \(first) 行重复",
                                     at: SourceLocation(field: header.label("residentID")), hint: "删去这一行")]
                }
                existing[key] = record.line
                let person = "\(item.0.residentID.value)|\(item.2.code)"
                let frequency = item.2.paymentFrequency
                if let earlier = periodsOf[person]?.first(where: { frequency?.collides(item.0.period, with: $0.period) ?? $0.period.overlaps(item.0.period) }) {
                    var e = Self.overlapError(item.0.period, existing: earlier.period, program: item.2, who: "此人")
                    if earlier.line != 0 { e.message += "（第 \(earlier.line) 行）" }
                    return [e.located(SourceLocation(field: header.label("period")))]
                }
                let householdProblems = households.check(item.0, name: people[item.0.residentID.value]?.name ?? "",
                                                         program: item.2, line: record.line)
                if !householdProblems.isEmpty {
                    return householdProblems.map { $0.located(SourceLocation(field: header.label("residentID"))) }
                }
                periodsOf[person, default: []].append((item.0.period, record.line))
                return []
            }
            let at = timestamp()
            for (i, item) in screened.good.enumerated() {
                if i % 5000 == 0 { options.progress?("写入", i, screened.good.count) }
                _ = try insertApplication(item.0, beneficiaryID: item.1, program: item.2, at: at)
            }
            return importOutcome(loaded, imported: screened.good.count, rejected: screened.bad,
                                 problems: screened.problems, details: screened.details, options: options)
        }
    }
}
