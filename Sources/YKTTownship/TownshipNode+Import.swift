import YKTCore
import YKTNode

/// Imports of village registers and application lists from CSV files.
extension TownshipNode {
    /// The register columns, with the spellings village spreadsheets use.
    public static let registerColumns: [CSVColumn] = [
        CSVColumn("name", ["姓名", "name"]),
        CSVColumn("residentID", ["身份证号", "身份证号码", "公民身份号码", "resident_id"], code: true),
        CSVColumn("village", ["村（社区）", "村(社区)", "村", "所在村", "village"]),
        CSVColumn("household", ["户号", "household"], required: false, code: true),
        CSVColumn("phone", ["联系电话", "电话", "手机号", "phone"], required: false, code: true),
        CSVColumn("bank", ["开户银行", "代发银行", "银行", "bank"]),
        CSVColumn("kind", ["账户类型", "account_kind"], required: false),
        CSVColumn("account", ["账号", "银行账号", "卡号", "account"], code: true),
        CSVColumn("confirmation", ["确认书编号", "confirmation"], code: true),
        CSVColumn("sharedReason", ["共用账户理由", "shared_reason"], required: false),
        // 户主 (一人（户）一卡): 是/否, or the relation to the head as household registers write it.
        CSVColumn("head", ["户主", "是否户主", "head"], required: false),
        CSVColumn("relation", ["与户主关系", "relation"], required: false),
    ]

    /// Whether a register line names the household head: 「户主」是/否 (also 1/0, Y/N, √ and
    /// empty for no), or 「与户主关系」户主/本人 (any other relation: a member).
    static func parseHead(_ flag: String, relation: String) throws(YKTError) -> Bool {
        // 是, 否 or nothing, and no relation (nearly every line), by the bytes.
        if relation.isEmpty, let quick = flag.utf8.withContiguousStorageIfAvailable(quickHead) ?? nil { return quick }
        var head = false
        switch flag.trimmed {
        case "是", "1", "Y", "y", "√", "户主": head = true
        case "", "否", "0", "N", "n": break
        default: throw YKTError(.valueInvalid, "「户主」列只能填 是 或 否，这里是「\(flag.trimmed)」", hint: "户主填 是，其他成员填 否 或留空")
        }
        if ["户主", "本人"].contains(relation.trimmed) { head = true }
        return head
    }

    /// `parseHead` of a flag that is exactly 是, 否 or empty; nil for anything else.
    private static func quickHead(_ flag: UnsafeBufferPointer<UInt8>) -> Bool? {
        if flag.isEmpty { return false }
        guard flag.count == 3, flag[0] == 0xE6 || flag[0] == 0xE5 else { return nil }
        if flag.elementsEqual("是".utf8) { return true }
        if flag.elementsEqual("否".utf8) { return false }
        return nil
    }

    /// Imports a village register. All-or-nothing unless `options.keepGood`; every bad line is
    /// reported with its line number, column and reason.
    public func importBeneficiaries(path: String, options: ImportOptions = ImportOptions()) throws -> ImportResult {
        let opened = try CSVFiles.open(path: path, encoding: options.encoding)
        let header = try CSVHeader(opened.header, columns: Self.registerColumns, file: opened.name)
        let today = CivilDate.inChina(at: now())
        // Accounts name their people by construction (`insertRegistered`): no parent look-up.
        return try db.withRollbackJournal { try db.withForeignKeysUnenforced { try perform("beneficiary.import") {
            let duplicates = RegisterDuplicates(header: header)
            try db.forEach("SELECT resident_id FROM beneficiary") { duplicates.known[$0.text(0)] = 0 }
            try db.forEach("SELECT household, resident_id FROM beneficiary WHERE head = 1 AND removed_at IS NULL") {
                duplicates.heads[$0.text(0)] = (0, $0.text(1))
            }
            try db.forEach("""
                SELECT a.number, b.resident_id FROM account a JOIN beneficiary b ON b.id = a.beneficiary_id
                WHERE a.replaced_at IS NULL
                """) { duplicates.holders[$0.text(0)] = (0, $0.text(1)) }
            let node = config.nodeID
            let columns = RegisterPositions(header)
            let deferred = opened.estimatedRecords >= Self.deferIndexesFrom && opened.estimatedRecords >= duplicates.known.count
                ? try dropRegisterIndexes() : []
            duplicates.reserve(lines: opened.estimatedRecords)
            let screened = try screenStreaming(opened, options: options.listingProblems(in: outFolder), what: "补贴对象底册", codes: header.codePositions) { records in
                // Each line on its own, on every core but the writer's; then the cross-line
                // checks in file order.
                let outcomes = Array(records).parallelMap(minimumChunk: 1_024, leavingCores: 1) { record in
                    Self.validateRegisterRow(record, header: header, at: columns, today: today)
                        .map { RegisterRow($0, township: node) }
                }
                // Sorted here, where the row's type is known (the pipeline's own loop is generic).
                var good: [RegisterRow] = []
                good.reserveCapacity(outcomes.count)
                var failures: [(index: Int, errors: RowErrors)] = []
                for (i, record) in zip(outcomes.indices, records) {
                    switch outcomes[i] {
                    case .success(let row):
                        let errors = duplicates.check(row.input, line: record.line)
                        if errors.isEmpty { good.append(row) } else { failures.append((i, RowErrors(errors))) }
                    case .failure(let errors):
                        failures.append((i, errors))
                    }
                }
                return (good, failures)
            } checked: {
                duplicates.release()   // its tables are large: free them on the checking thread
            } write: { rows in
                try insertRegistered(rows)
            }
            try rebuild(deferred)
            // A file that names heads must leave no household it touches without one: refused
            // whole; with --keep-good (a head's line may be among the rejects), reported.
            var problems = screened.problems
            if options.keepGood, let missing = duplicates.headless.first {
                problems.append("户号 \(missing.household)" + (duplicates.headless.count > 1 ? " 等 \(duplicates.headless.count) 户" : "")
                                + "没有户主（户主行有错未导入，或文件未标户主）：改正错误行后再导入，或用 ykt beneficiary edit <身份证号> --head 指定；"
                                + "指定前这些户不能申请按户发放的项目")
            } else if let missing = duplicates.headless.first {
                let more = duplicates.headless.count > 1 ? "等 \(duplicates.headless.count) 户" : ""
                throw YKTError(.householdHeads, "户号 \(missing.household)\(more)在本文件和底册中都没有户主（本文件第 \(missing.line) 行起）",
                               at: SourceLocation(file: opened.name, line: missing.line, field: header.label(header.positions["head"] != nil ? "head" : "relation")),
                               hint: "一户须有一个户主：在「户主」列给每户的户主填 是；整批未导入")
            }
            return importOutcome(screened.loaded, imported: screened.good, rejected: screened.bad,
                                 problems: problems, details: screened.details, options: options)
        } } }
    }

    /// A file of at least this many lines, and at least as many as the register holds, is
    /// written without the register's indexes whose keys come in no order of the file
    /// (`deferredIndexes`), which are built again at the end (one sort each, in the same
    /// transaction), instead of each line going into them at a random place. The others (the
    /// resident ID, households, an account's holder) follow the file's order or are needed
    /// while it is written, and stay.
    static let deferIndexesFrom = 2_000

    /// The register's order of listing (village, name) and the account number: where each new
    /// line goes in them is random. Building them again after writing took less than keeping
    /// them (100,000 lines, 0.80 against 0.93 s); building all five secondary indexes again
    /// took 0.91 s (docs/performance.md).
    static let deferredIndexes = ["beneficiary_order", "account_number"]

    /// Drops `deferredIndexes`, returning their SQL to build them again. Inside the import's
    /// transaction: a failure or a crash brings them back.
    func dropRegisterIndexes() throws -> [(name: String, sql: String)] {
        var indexes: [(name: String, sql: String)] = []
        try db.forEach("""
            SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN (?, ?) AND sql IS NOT NULL ORDER BY name
            """, Self.deferredIndexes[0], Self.deferredIndexes[1]) { indexes.append(($0.text(0), $0.text(1))) }
        for index in indexes { try db.execute("DROP INDEX \"\(index.name)\"") }
        return indexes
    }

    /// Builds again the indexes `dropRegisterIndexes` dropped. A unique one that no longer
    /// holds (the checks before writing make this impossible) fails the whole import.
    func rebuild(_ indexes: [(name: String, sql: String)]) throws {
        for index in indexes {
            do { try db.execute(index.sql) } catch {
                throw YKTError(.internalError, "导入后重建索引 \(index.name) 失败：\(error)",
                               hint: "整批未导入；请把这个错误报告给系统管理员")
            }
        }
    }

    /// Where each register column sits in a file's header, found once for the whole file (a
    /// lookup by name for every field of every line cost more than checking the field).
    struct RegisterPositions: Sendable {
        let name, residentID, village, household, phone, bank, kind, account, confirmation, sharedReason, head, relation: Int?

        init(_ header: CSVHeader) {
            let p = header.positions
            (name, residentID, village, household) = (p["name"], p["residentID"], p["village"], p["household"])
            (phone, bank, kind, account) = (p["phone"], p["bank"], p["kind"], p["account"])
            (confirmation, sharedReason, head, relation) = (p["confirmation"], p["sharedReason"], p["head"], p["relation"])
        }
    }

    /// Validates one register line, returning every problem on it.
    static func validateRegisterRow(_ record: CSVRecord, header: CSVHeader, at columns: RegisterPositions, today: CivilDate)
        -> Result<BeneficiaryInput, RowErrors> {
        var errors: [YKTError] = widthProblem(record, header).map { [$0] } ?? []
        func v(_ position: Int?) -> String { header.value(at: position, in: record) }
        func required(_ key: String, _ position: Int?) -> String? {
            let s = v(position).trimmed
            if s.isEmpty {
                errors.append(YKTError(.fieldMissing, "\(header.label(key))为空",
                                       at: SourceLocation(field: header.label(key)), hint: "补填这一项"))
                return nil
            }
            return s
        }
        let rid = required("residentID", columns.residentID).flatMap { s in field("residentID", header, &errors) { () throws(YKTError) in try ResidentID(s, today: today) } }
        let name = field("name", header, &errors) { () throws(YKTError) in try PersonName.validate(v(columns.name)) }
        let village = required("village", columns.village)
        let phoneText = v(columns.phone)
        let phone = phoneText.trimmed.isEmpty ? "" : field("phone", header, &errors) { () throws(YKTError) in try PhoneNumber.validate(phoneText) }
        let bank = required("bank", columns.bank)
        let kind = field("kind", header, &errors) { () throws(YKTError) in try AccountKind(parsing: v(columns.kind)) }
        let number = required("account", columns.account).flatMap { s in
            kind.flatMap { k in field("account", header, &errors) { () throws(YKTError) in try AccountNumber(s, kind: k) } }
        }
        let confirmation = required("confirmation", columns.confirmation)
        let household = v(columns.household).trimmed
        let head = field("head", header, &errors) { () throws(YKTError) in try parseHead(v(columns.head), relation: v(columns.relation)) }
        if head == true && household.isEmpty {
            errors.append(headWithoutHousehold(field: header.label("household")))
        }
        guard errors.isEmpty, let rid, let name, let village, let phone, let bank, let number, let confirmation, let head else {
            return .failure(RowErrors(errors))
        }
        let shared = v(columns.sharedReason).trimmed
        return .success(BeneficiaryInput(
            residentID: rid, name: name, village: village,
            household: household, phone: phone,
            account: AccountInput(bank: bank, number: number, confirmation: confirmation,
                                  sharedReason: shared.isEmpty ? nil : shared), head: head))
    }
}

/// The register's cross-line checks: the same resident twice, and one account held by two
/// residents without a reason. Holds what the register and the earlier lines of the file
/// already have; used only by the import's checking thread, one line after another.
final class RegisterDuplicates: @unchecked Sendable {
    var known: [String: Int] = [:]       // resident ID → line (file) or 0 (register)
    var holders: [String: (line: Int, residentID: String)] = [:]  // account number → first holder
    var heads: [String: (line: Int, residentID: String)] = [:]    // household → its head (line, or 0: register)
    /// Households of the file (first line), when the file names heads (a 户主 column).
    var households: [String: Int] = [:]
    /// Those of them left without a head, found when the checking ends (`release`).
    var headless: [(household: String, line: Int)] = []
    let header: CSVHeader
    let namesHeads: Bool

    init(header: CSVHeader) {
        self.header = header
        namesHeads = header.positions["head"] != nil || header.positions["relation"] != nil
    }

    func release() {
        headless = households.filter { heads[$0.key] == nil }.map { (household: $0.key, line: $0.value) }
            .sorted { $0.line < $1.line }
        known = [:]
        holders = [:]
        heads = [:]
        households = [:]
    }

    /// Room for `lines` more of each kind, so the tables do not grow (and rehash) as they fill.
    func reserve(lines: Int) {
        known.reserveCapacity(known.count + lines)
        holders.reserveCapacity(holders.count + lines)
        heads.reserveCapacity(heads.count + lines / 2)
        if namesHeads { households.reserveCapacity(lines / 2) }
    }

    func check(_ input: BeneficiaryInput, line: Int) -> [YKTError] {
        var errors: [YKTError] = []
        // Each table is looked up and filled with one hash of its key (`updateValue`): the line
        // goes in as if good, and what it replaced is put back when it is refused (rare) or
        // when the table keeps the first (an account's first holder).
        let id = input.residentID.value
        let knownBefore = known.updateValue(line, forKey: id)
        if let first = knownBefore {
            errors.append(YKTError(.residentDuplicate,
                                   first == 0 ? "\(input.residentID.masked) 已在底册中"
                                              : "\(input.residentID.masked) 与第 \(first) 行重复",
                                   at: SourceLocation(field: header.label("residentID")),
                                   hint: "同一人只能登记一次；删去这一行"))
        }
        let number = input.account.number.value
        let holderBefore = holders.updateValue((line, id), forKey: number)
        if let holder = holderBefore, holder.residentID != id, input.account.sharedReason?.isEmpty ?? true {
            let whose = holder.line == 0 ? "底册中 \(Masking.residentID(holder.residentID))"
                                         : "第 \(holder.line) 行 \(Masking.residentID(holder.residentID))"
            errors.append(YKTError(.accountShared, "账号 \(input.account.number.masked) 已是\(whose)的指定账户",
                                   at: SourceLocation(field: header.label("account")),
                                   hint: "一人一卡：核实账号；确需共用须在「共用账户理由」列写明理由"))
        }
        let household = input.household
        let headBefore = input.head ? heads.updateValue((line, id), forKey: household) : nil
        if let head = headBefore {
            let whose = head.line == 0 ? "底册中已有户主 \(Masking.residentID(head.residentID))"
                                       : "第 \(head.line) 行 \(Masking.residentID(head.residentID)) 已是户主"
            errors.append(YKTError(.householdHeads, "户号 \(household) \(whose)",
                                   at: SourceLocation(field: header.label(header.positions["head"] != nil ? "head" : "relation")),
                                   hint: "一户只能有一个户主：核对这一行；换户主用 ykt beneficiary edit <身份证号> --head"))
        }
        if let holder = holderBefore { holders[number] = holder }   // the first holder stays
        if errors.isEmpty {
            // The household's first line, added only when missing (one hash: the default is
            // stored by the mutation).
            if namesHeads, !household.isEmpty { households[household, default: line] += 0 }
        } else {
            known[id] = knownBefore
            if holderBefore == nil { holders[number] = nil }
            if input.head { heads[household] = headBefore }
        }
        return errors
    }
}
