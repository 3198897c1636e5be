import YKTCore
import YKTNode
import YKTStore

/// The beneficiary register (底册) and designated accounts (一人一卡).
extension TownshipNode {
    static let beneficiaryColumns = """
        b.id, b.resident_id, b.name, b.village, b.household, b.phone, b.version, b.created_at, b.updated_at,
        a.bank, a.kind, a.number, a.confirmation_ref, a.shared_reason, a.valid_from, b.head
        """

    static func beneficiary(from r: Row) -> BeneficiaryRecord {
        var record = BeneficiaryRecord(id: r.int64(0), residentID: r.text(1), name: r.text(2), village: r.text(3),
                                       household: r.text(4), phone: r.text(5), version: r.int(6),
                                       createdAt: r.text(7), updatedAt: r.text(8), account: nil, head: r.bool(15))
        if !r.isNull(9) {
            record.account = AccountRecord(bank: r.text(9), kind: AccountKind(rawValue: r.text(10)) ?? .card,
                                           number: r.text(11), confirmation: r.text(12),
                                           sharedReason: r.optionalText(13), validFrom: r.text(14), replacedAt: nil)
        }
        return record
    }

    /// The beneficiary with this resident ID, or nil.
    public func findBeneficiary(_ id: ResidentID) throws -> BeneficiaryRecord? {
        try db.first("""
            SELECT \(Self.beneficiaryColumns) FROM beneficiary b
            LEFT JOIN account a ON a.beneficiary_id = b.id AND a.replaced_at IS NULL
            WHERE b.resident_id = ?
            """, id.value, map: Self.beneficiary(from:))
    }

    /// When and why `b` was removed from the register, or nil.
    public func removal(of b: BeneficiaryRecord) throws -> (at: String, reason: String)? {
        try db.first("SELECT removed_at, coalesce(removed_reason, '') FROM beneficiary WHERE id = ? AND removed_at IS NOT NULL", b.id) {
            (at: $0.text(0), reason: $0.text(1))
        }
    }

    /// The beneficiary with this resident ID; throws `YKT-RESIDENT-UNKNOWN` when absent.
    public func beneficiary(_ id: ResidentID) throws -> BeneficiaryRecord {
        guard let b = try findBeneficiary(id) else {
            throw YKTError(.residentUnknown, "底册中没有身份证号为 \(id.masked) 的补贴对象",
                           hint: "先用 ykt beneficiary add 或 ykt beneficiary import 登记")
        }
        if let removed = try db.first("SELECT removed_at, removed_reason FROM beneficiary WHERE id = ? AND removed_at IS NOT NULL", b.id,
                                      map: { (at: $0.text(0), reason: $0.text(1)) }) {
            throw YKTError(.residentUnknown, "\(b.name)（\(id.masked)）已于 \(removed.at.prefix(10)) 从底册移除（\(removed.reason)）",
                           hint: "已移除的人不能再办理；用 ykt inbox list 查看县里的决定")
        }
        return b
    }

    /// Removes a person from the register (`ykt beneficiary remove`), usually because the
    /// county decided a conflict for another township (`conflict.decision`). The person's row,
    /// accounts and history stay (rosters and payments name them); from now on nothing new
    /// may be done for them here. Their open applications (recorded, not passed, in an open
    /// notice, or cleared and not yet on a roster) are withdrawn: status `removed`, as an
    /// upheld objection removes one, so no notice or roster takes them again. Applications
    /// already on a roster stay as they are: that roster is the county's to decide. Audited,
    /// and sent to the county as the operation `beneficiary.remove` in the same transaction.
    /// Returns how many open applications were withdrawn.
    @discardableResult
    public func removeBeneficiary(_ id: ResidentID, reason: String) throws -> Int {
        let why = reason.trimmed
        guard !why.isEmpty else {
            throw YKTError(.fieldMissing, "移除补贴对象须写明理由", at: SourceLocation(field: "--reason"),
                           hint: "例如：县财政冲突 12 决定此人由乡镇 450223102 登记")
        }
        return try perform("beneficiary.remove") {
            let current = try beneficiary(id)
            let at = timestamp()
            try db.run("UPDATE beneficiary SET removed_at = ?, removed_reason = ?, version = version + 1, updated_at = ? WHERE id = ?",
                       at, why, at, current.id)
            try db.run("""
                UPDATE application SET status = 'removed' WHERE beneficiary_id = ? AND status IN ('recorded','not_passed','in_village_notice','village_cleared','in_notice','cleared')
                """, current.id)
            let withdrawn = db.changes
            try enqueue("beneficiary.remove", entity: current.entity, baseVersion: current.version,
                        data: ["residentId": .string(id.value), "reason": .string(why), "withdrawnApplications": .int(Int64(withdrawn))])
            return (withdrawn, AuditNote(object: "beneficiary#\(current.id) \(id.masked)", detail: "removed applications=\(withdrawn) reason=\(why)"))
        }
    }

    /// The register, ordered by village and name; `village` filters.
    public func beneficiaries(village: String? = nil) throws -> [BeneficiaryRecord] {
        var list: [BeneficiaryRecord] = []
        try forEachBeneficiary(village: village) { list.append($0) }
        return list
    }

    /// The register (or one village's) in `beneficiaries`' order, one person at a time: for
    /// a listing that need not hold the whole register.
    public func forEachBeneficiary(village: String? = nil, _ body: (BeneficiaryRecord) throws -> Void) throws {
        try db.forEach("""
            SELECT \(Self.beneficiaryColumns) FROM beneficiary b
            LEFT JOIN account a ON a.beneficiary_id = b.id AND a.replaced_at IS NULL
            WHERE b.removed_at IS NULL AND (?1 IS NULL OR b.village = ?1) ORDER BY b.village, b.name, b.resident_id
            """, village) { try body(Self.beneficiary(from: $0)) }
    }

    /// How many people `beneficiaries(village:)` lists.
    public func listedBeneficiaryCount(village: String? = nil) throws -> Int {
        Int(try db.integer("SELECT count(*) FROM beneficiary WHERE removed_at IS NULL AND (?1 IS NULL OR village = ?1)", village) ?? 0)
    }

    public func beneficiaryCount() throws -> Int { Int(try db.integer("SELECT count(*) FROM beneficiary") ?? 0) }

    /// The resident (other than `excluding`) whose current account has this number, if any.
    func currentHolder(ofAccount number: String, excluding: Int64? = nil) throws -> (id: Int64, residentID: String, name: String)? {
        try db.first("""
            SELECT b.id, b.resident_id, b.name FROM account a JOIN beneficiary b ON b.id = a.beneficiary_id
            WHERE a.number = ? AND a.replaced_at IS NULL AND b.id IS NOT ? LIMIT 1
            """, number, excluding) { (id: $0.int64(0), residentID: $0.text(1), name: $0.text(2)) }
    }

    func checkSharedAccount(_ account: AccountInput, holder: (id: Int64, residentID: String, name: String)?) throws(YKTError) {
        guard let holder else { return }
        if account.sharedReason?.isEmpty ?? true {
            throw YKTError(.accountShared,
                           "账号 \(account.number.masked) 已是 \(holder.name)（\(Masking.residentID(holder.residentID))）的指定账户",
                           at: SourceLocation(field: "账号"),
                           hint: "一人一卡：请核实账号；确需共用（如监护人代领）须用 --shared-account-reason 写明理由")
        }
    }

    static func validateConfirmation(_ text: String) throws(YKTError) -> String {
        let t = text.trimmed
        guard !t.isEmpty else {
            throw YKTError(.accountConfirmation, "缺少本人签字确认书编号", at: SourceLocation(field: "确认书编号"),
                           hint: "指定账户须经本人签字确认，填写确认书编号（--confirmation）")
        }
        return t
    }

    /// The canonical `data` of a `beneficiary.register` operation, written directly (keys in
    /// order) because an import writes 100,000 of them; a test checks it equals the
    /// `JSONValue` form.
    static func registerData(_ input: BeneficiaryInput, township: String) -> String {
        String(decoding: registerDataBytes(input, township: township), as: UTF8.self)
    }

    /// `registerData`'s UTF-8 bytes (valid: every member is a `String`).
    static func registerDataBytes(_ input: BeneficiaryInput, township: String) -> [UInt8] {
        let row = RegisterRow(input, township: township)
        return Array(row.bytes[..<row.dataCount])
    }

    /// A validated beneficiary ready to be written, with what its rows are written from made
    /// beforehand (the import makes them on its checking thread): the operation's `data`
    /// (`registerData`) and then its entity, in one buffer, and where each value the writer
    /// binds sits in it, so that SQLite reads them there (`Statement.bind(_:utf8TextNoCopy:)`)
    /// instead of copying each into memory of its own.
    struct RegisterRow: Sendable {
        var input: BeneficiaryInput
        /// `registerData` as UTF-8 in `bytes[..<dataCount]`, then the entity
        /// (`beneficiary/<resident ID>`).
        var bytes: [UInt8]
        var dataCount: Int
        /// Where the values sit in `bytes`; nil when one of them needed an escape in the JSON
        /// (a quote, a backslash, a control character: never in a valid register line's
        /// codes, possible in a name of place or a reason), and the writer binds the strings.
        var spans: Spans?

        /// Positions in `bytes`, as (start, count).
        struct Spans: Sendable {
            var residentID, name, village, household, phone, bank, number, confirmation, entity: (Int, Int)
            var sharedReason: (Int, Int)?
        }

        init(_ input: BeneficiaryInput, township: String) {
            self.input = input
            let account = input.account, kind = account.number.kind.rawValue, id = input.residentID.value
            let size = Self.frameSize + input.byteCount + kind.utf8.count + township.utf8.count + id.utf8.count
                + (account.sharedReason == nil ? 0 : Self.sharedReason.utf8CodeUnitCount + 2)
                + (input.head ? Self.head.utf8CodeUnitCount : 0)
            // Written once into memory of the exact size; given up (empty) at a value that
            // needs an escape.
            var spans: Spans?
            var dataCount = 0
            bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
                initialized = 0
                var w = RowWriter(base: buffer.baseAddress!)
                guard let bank = w.member(Self.open, account.bank),
                      let confirmation = w.member(Self.confirmation, account.confirmation),
                      w.member(Self.kind, kind) != nil,
                      let number = w.member(Self.number, account.number.value) else { return }
                var reason: (Int, Int)?
                if let r = account.sharedReason {
                    guard let span = w.member(Self.sharedReason, r) else { return }
                    reason = span
                }
                w.put(Self.closeAccount)
                if input.head { w.put(Self.head) }   // only when true: a member's line is as before
                guard let household = w.member(Self.household, input.household),
                      let name = w.member(Self.name, input.name),
                      let phone = w.member(Self.phone, input.phone),
                      let residentID = w.member(Self.residentID, id),
                      w.member(Self.township, township) != nil,
                      let village = w.member(Self.village, input.village) else { return }
                w.put(Self.close)
                dataCount = w.position
                w.put(Self.entityPrefix)
                let entity = w.position - Self.entityPrefix.utf8CodeUnitCount
                _ = w.copy(id)
                assert(w.position == size)
                spans = Spans(residentID: residentID, name: name, village: village, household: household, phone: phone, bank: bank,
                              number: number, confirmation: confirmation, entity: (entity, w.position - entity), sharedReason: reason)
                initialized = w.position
            }
            if spans == nil {
                // A value with a quote, a backslash or a control character: the general writer.
                var w = CanonicalObjectWriter(capacity: size + 64)
                w.object("account") { a in
                    a.string("bank", account.bank)
                    a.string("confirmation", account.confirmation)
                    a.string("kind", kind)
                    a.string("number", account.number.value)
                    if let r = account.sharedReason { a.string("sharedReason", r) }
                }
                if input.head { w.raw("head", "true") }
                w.string("household", input.household)
                w.string("name", input.name)
                w.string("phone", input.phone)
                w.string("residentId", id)
                w.string("township", township)
                w.string("village", input.village)
                bytes = w.finishBytes()
                dataCount = bytes.count
                bytes.append(contentsOf: "beneficiary/\(id)".utf8)
            }
            self.dataCount = dataCount
            self.spans = spans
        }

        // The JSON around the values, keys in order (as `CanonicalObjectWriter` writes them).
        private static let open: StaticString = #"{"account":{"bank":"#
        private static let confirmation: StaticString = #","confirmation":"#
        private static let kind: StaticString = #","kind":"#
        private static let number: StaticString = #","number":"#
        private static let sharedReason: StaticString = #","sharedReason":"#
        private static let closeAccount: StaticString = "}"
        private static let head: StaticString = #","head":true"#
        private static let household: StaticString = #","household":"#
        private static let name: StaticString = #","name":"#
        private static let phone: StaticString = #","phone":"#
        private static let residentID: StaticString = #","residentId":"#
        private static let township: StaticString = #","township":"#
        private static let village: StaticString = #","village":"#
        private static let close: StaticString = "}"
        private static let entityPrefix: StaticString = "beneficiary/"
        /// What every row has besides its values: the keys, braces and a member's quotes
        /// (ten members always there), and the entity's prefix.
        private static let frameSize = [open, confirmation, kind, number, closeAccount, household, name, phone, residentID,
                                        township, village, close, entityPrefix].reduce(0) { $0 + $1.utf8CodeUnitCount } + 2 * 10
    }

    /// Writes a `RegisterRow`'s bytes into memory sized for them.
    private struct RowWriter {
        let base: UnsafeMutablePointer<UInt8>
        var position = 0

        mutating func put(_ s: StaticString) {
            (base + position).initialize(from: s.utf8Start, count: s.utf8CodeUnitCount)
            position += s.utf8CodeUnitCount
        }

        /// `key` (with its comma), then `value` in quotes; where the value's bytes are, or nil
        /// (nothing more written) when it needs an escape.
        mutating func member(_ key: StaticString, _ value: String) -> (Int, Int)? {
            put(key)
            base[position] = UInt8(ascii: "\"")
            position += 1
            let start = position
            guard copy(value) else { return nil }
            base[position] = UInt8(ascii: "\"")
            position += 1
            return (start, position - 1 - start)
        }

        /// Copies `value`'s bytes unless one needs an escape in JSON.
        mutating func copy(_ value: String) -> Bool {
            func copy(_ src: UnsafeBufferPointer<UInt8>) -> Bool {
                guard !JSONValue.needsEscape(src) else { return false }
                if let from = src.baseAddress { (base + position).initialize(from: from, count: src.count) }
                position += src.count
                return true
            }
            if let done = value.utf8.withContiguousStorageIfAvailable(copy) { return done }
            var v = value
            return v.withUTF8(copy)
        }
    }

    /// Inserts validated beneficiaries with their accounts and one `beneficiary.register`
    /// operation each. Must run inside `perform`.
    @discardableResult
    func insertBeneficiaries(_ inputs: [BeneficiaryInput]) throws -> [Int64] {
        let node = config.nodeID
        return try insertRegistered(inputs.map { RegisterRow($0, township: node) })
    }

    /// How many register lines go in one statement of each kind (`insertRegistered`).
    static let registerBatch = 16

    /// Writes the rows in order with typed binds, `registerBatch` rows to a statement of each
    /// kind (beneficiary, account, operation): SQLite opens its cursors and ends a statement
    /// once for them, not once a row. The beneficiaries' ids are given, not left to SQLite: the
    /// ones it would give (the largest so far + 1, and on), known beforehand so that the accounts
    /// can name them. What is the same for every row (time, operator, kind) is bound once.
    /// Text is bound where it sits in each row's buffer, without a copy: the statements run
    /// while every buffer of the batch is held (`bindRows` nests one access in the next).
    /// Each account names the id its person was written with, in the same batch, just before;
    /// since every statement must write all its rows (below), that person exists: the import
    /// writes with foreign keys unenforced on that ground (`withForeignKeysUnenforced`).
    ///
    /// The rows are checked before (the register's rules, and every constraint the tables
    /// have), so the inserts are `OR IGNORE` and each must write all its rows, or the whole
    /// change fails: a plain multi-row insert would keep a statement journal (a copy of every
    /// page it touches, to undo its own earlier rows if a later one failed), which the caller's
    /// transaction already gives.
    @discardableResult
    func insertRegistered(_ rows: [RegisterRow]) throws -> [Int64] {
        guard !rows.isEmpty else { return [] }
        let at = timestamp()
        let firstSeq = try reserveOutboxSequence(count: rows.count)
        let firstID = (try db.integer("SELECT max(id) FROM beneficiary") ?? 0) + 1
        var prepared: [Int: RegisterStatements] = [:]
        var start = 0
        while start < rows.count {
            let k = min(Self.registerBatch, rows.count - start)
            let s = try prepared[k] ?? RegisterStatements(db, rows: k, at: at, operatorName: operatorName)
            prepared[k] = s
            try bindRows(rows, from: start, count: k, to: s, firstID: firstID, firstSeq: firstSeq)
            start += k
        }
        return (0..<Int64(rows.count)).map { firstID + $0 }
    }

    /// Binds rows `start + j` for j from `j` to `count - 1`, each inside the access to its own
    /// buffer, and runs the statements in the innermost, while every buffer is held.
    private func bindRows(_ rows: [RegisterRow], from start: Int, count k: Int, _ j: Int = 0, to s: RegisterStatements,
                          firstID: Int64, firstSeq: Int64) throws {
        guard j < k else {
            for statement in [s.person, s.account, s.operation] {
                try statement.execute()
                guard db.changes == k else {
                    throw YKTError(.internalError, "写入第 \(start + 1) 行起的 \(k) 人时只写入 \(db.changes) 行，与写入前的检查不符",
                                   hint: "整批未写入；请把这个错误报告给系统管理员")
                }
            }
            return
        }
        let i = start + j
        let row = rows[i]
        try row.bytes.withUnsafeBufferPointer { buf in
            let id = firstID + Int64(i)
            var p = Int32(2 + 7 * j)
            try s.person.bind(p, id)
            try s.person.bind(p + 6, Int64(row.input.head ? 1 : 0))
            let a = Int32(2 + 6 * j)
            try s.account.bind(a, id)
            try s.account.bind(a + 2, literal: row.input.account.number.kind.literal)
            let o = Int32(3 + 3 * j)
            try s.operation.bind(o, firstSeq + Int64(i))
            try s.operation.bind(o + 2, utf8TextNoCopy: UnsafeBufferPointer(rebasing: buf[..<row.dataCount]))
            if let spans = row.spans {
                func text(_ span: (Int, Int)) -> UnsafeBufferPointer<UInt8> {
                    UnsafeBufferPointer(rebasing: buf[span.0 ..< span.0 + span.1])
                }
                try s.person.bind(p + 1, utf8TextNoCopy: text(spans.residentID))
                try s.person.bind(p + 2, utf8TextNoCopy: text(spans.name))
                try s.person.bind(p + 3, utf8TextNoCopy: text(spans.village))
                try s.person.bind(p + 4, utf8TextNoCopy: text(spans.household))
                try s.person.bind(p + 5, utf8TextNoCopy: text(spans.phone))
                try s.account.bind(a + 1, utf8TextNoCopy: text(spans.bank))
                try s.account.bind(a + 3, utf8TextNoCopy: text(spans.number))
                try s.account.bind(a + 4, utf8TextNoCopy: text(spans.confirmation))
                if let reason = spans.sharedReason {
                    try s.account.bind(a + 5, utf8TextNoCopy: text(reason))
                } else {
                    try s.account.bind(a + 5, nil as String?)
                }
                try s.operation.bind(o + 1, utf8TextNoCopy: text(spans.entity))
            } else {
                let input = row.input
                for text in [input.residentID.value, input.name, input.village, input.household, input.phone] {
                    p += 1
                    try s.person.bind(p, text)
                }
                try s.account.bind(a + 1, input.account.bank)
                try s.account.bind(a + 3, input.account.number.value)
                try s.account.bind(a + 4, input.account.confirmation)
                try s.account.bind(a + 5, input.account.sharedReason)
                try s.operation.bind(o + 1, utf8Text: UnsafeBufferPointer(rebasing: buf[row.dataCount...]))
            }
            try bindRows(rows, from: start, count: k, j + 1, to: s, firstID: firstID, firstSeq: firstSeq)
        }
    }

    /// The three inserts of `insertRegistered` for `rows` lines at once: the time is ?1 in each,
    /// the operator ?2 of the operation's; then each line's values in order.
    private struct RegisterStatements {
        let person, account, operation: Statement

        init(_ db: Database, rows: Int, at: String, operatorName: String) throws {
            func values(_ width: Int, first: Int, _ row: ([String]) -> String) -> String {
                (0..<rows).map { j in row((0..<width).map { "?\(first + width * j + $0)" }) }.joined(separator: ", ")
            }
            person = try db.statement("""
                INSERT OR IGNORE INTO beneficiary(id, resident_id, name, village, household, phone, version, created_at, updated_at, head)
                VALUES \(values(7, first: 2) { "(\($0[0]), \($0[1]), \($0[2]), \($0[3]), \($0[4]), \($0[5]), 1, ?1, ?1, \($0[6]))" })
                """)
            account = try db.statement("""
                INSERT OR IGNORE INTO account(beneficiary_id, bank, kind, number, confirmation_ref, shared_reason, valid_from)
                VALUES \(values(6, first: 2) { "(\($0.joined(separator: ", ")), ?1)" })
                """)
            operation = try db.statement("""
                INSERT OR IGNORE INTO outbox(seq, kind, entity, base_version, at, by_operator, data)
                VALUES \(values(3, first: 3) { "(\($0[0]), 'beneficiary.register', \($0[1]), 0, ?1, ?2, \($0[2]))" })
                """)
            for statement in [person, account, operation] { try statement.bind(1, at) }
            try operation.bind(2, operatorName)
        }
    }

    /// Registers one beneficiary with a designated account. The same resident twice is refused;
    /// an account already held by another resident needs `sharedReason`.
    @discardableResult
    public func register(_ raw: BeneficiaryInput) throws -> BeneficiaryRecord {
        var input = raw
        input.name = try PersonName.validate(raw.name)
        input.village = raw.village.trimmed
        if input.village.isEmpty {
            throw YKTError(.fieldMissing, "村（社区）为空", at: SourceLocation(field: "村（社区）"), hint: "填写所在村（社区）")
        }
        if !raw.phone.isEmpty { input.phone = try PhoneNumber.validate(raw.phone) }
        input.account.confirmation = try Self.validateConfirmation(raw.account.confirmation)
        input.account.bank = raw.account.bank.trimmed
        if input.account.bank.isEmpty {
            throw YKTError(.fieldMissing, "开户银行为空", at: SourceLocation(field: "开户银行"), hint: "填写代发银行名称")
        }
        input.household = raw.household.trimmed
        if input.head && input.household.isEmpty { throw Self.headWithoutHousehold(field: "--head") }
        try perform("beneficiary.register") {
            if let existing = try findBeneficiary(input.residentID) {
                throw YKTError(.residentDuplicate, "\(existing.name)（\(input.residentID.masked)）已在底册中（\(existing.village)）",
                               hint: "同一人不能登记两次；要修改信息用 ykt beneficiary edit，换卡用 ykt account change")
            }
            if input.head, let other = try householdHead(of: input.household) {
                throw YKTError(.householdHeads, "户号 \(input.household) 已有户主 \(other.name)（\(Masking.residentID(other.residentID))）",
                               at: SourceLocation(field: "--head"),
                               hint: "一户只能有一个户主：先不加 --head 登记，再用 ykt beneficiary edit <身份证号> --head 换户主")
            }
            try checkSharedAccount(input.account, holder: try currentHolder(ofAccount: input.account.number.value))
            let id = try insertBeneficiaries([input])[0]
            return ((), AuditNote(object: "beneficiary#\(id) \(input.residentID.masked)", detail: input.village))
        }
        return try beneficiary(input.residentID)
    }

    /// Edits a beneficiary's name, village, household or phone (never the resident ID).
    @discardableResult
    public func edit(_ id: ResidentID, _ edit: BeneficiaryEdit) throws -> BeneficiaryRecord {
        var changes: [String: JSONValue] = [:]
        if let n = edit.name { changes["name"] = .string(try PersonName.validate(n)) }
        if let v = edit.village {
            let t = v.trimmed
            if t.isEmpty { throw YKTError(.fieldMissing, "村（社区）为空", at: SourceLocation(field: "--village")) }
            changes["village"] = .string(t)
        }
        if let h = edit.household { changes["household"] = .string(h.trimmed) }
        if let p = edit.phone { changes["phone"] = .string(p.isEmpty ? "" : try PhoneNumber.validate(p)) }
        if changes.isEmpty && edit.head != true {
            throw YKTError(.usage, "没有要修改的内容", hint: "至少给出 --name、--village、--household、--phone、--head 中的一项")
        }
        try perform("beneficiary.update") {
            let current = try beneficiary(id)
            let at = timestamp()
            if let head = try householdChange(current, edit: edit, at: at) { changes["head"] = .bool(head) }
            // A head stepping down first, one taking over last: never two heads at once.
            if case .bool(false)? = changes["head"] {
                try db.run("UPDATE beneficiary SET head = 0 WHERE id = ?", current.id)
            }
            for (column, value) in changes {
                guard case .string(let s) = value else { continue }
                // Column names come from the fixed set above, never from input.
                try db.run("UPDATE beneficiary SET \(column) = ? WHERE id = ?", s, current.id)
            }
            if case .bool(true)? = changes["head"] {
                try db.run("UPDATE beneficiary SET head = 1 WHERE id = ?", current.id)
            }
            try db.run("UPDATE beneficiary SET version = version + 1, updated_at = ? WHERE id = ?", at, current.id)
            var data = changes
            data["residentId"] = .string(id.value)
            try enqueue("beneficiary.update", entity: current.entity, baseVersion: current.version, data: .object(data))
            return ((), AuditNote(object: "beneficiary#\(current.id) \(id.masked)",
                                  detail: changes.keys.sorted().joined(separator: ",")))
        }
        return try beneficiary(id)
    }

    /// The head (户主) of household `number` on the register now, if any.
    func householdHead(of number: String) throws -> (id: Int64, residentID: String, name: String, version: Int)? {
        guard !number.isEmpty else { return nil }
        return try db.first("""
            SELECT id, resident_id, name, version FROM beneficiary WHERE household = ? AND head = 1 AND removed_at IS NULL
            """, number) { (id: $0.int64(0), residentID: $0.text(1), name: $0.text(2), version: $0.int(3)) }
    }

    static func headWithoutHousehold(field: String) -> YKTError {
        YKTError(.householdHeads, "户主须有户号", at: SourceLocation(field: field), hint: "同时给出户号（--household 或「户号」列）")
    }

    /// The household rules of an edit (一户一个户主, docs/conventions.md): `--head` makes the
    /// person the head of their (new) household, and the previous head, if any, a member (sent
    /// as its own `beneficiary.update`, before this person's); a person moving to another
    /// household joins it as a member; a head may not leave members behind without a head.
    /// Returns the person's head flag to record, or nil when neither household nor head changes.
    func householdChange(_ current: BeneficiaryRecord, edit: BeneficiaryEdit, at: String) throws -> Bool? {
        let household = edit.household?.trimmed ?? current.household
        let moving = household != current.household
        guard moving || edit.head == true else { return nil }
        if edit.head == true && household.isEmpty { throw Self.headWithoutHousehold(field: "--head") }
        if moving && current.head {
            let others = try db.integer("""
                SELECT count(*) FROM beneficiary WHERE household = ? AND household <> '' AND id <> ? AND removed_at IS NULL
                """, current.household, current.id) ?? 0
            if others > 0 {
                throw YKTError(.householdHeads, "\(current.name)（\(current.maskedID)）是户号 \(current.household) 的户主，户内还有 \(others) 人",
                               at: SourceLocation(field: "--household"),
                               hint: "先用 ykt beneficiary edit <新户主的身份证号> --head 把户主换给户内另一人，再改户号")
            }
        }
        guard edit.head == true else { return false }
        if let other = try householdHead(of: household), other.id != current.id {
            try db.run("UPDATE beneficiary SET head = 0, version = version + 1, updated_at = ? WHERE id = ?", at, other.id)
            try enqueue("beneficiary.update", entity: "beneficiary/" + other.residentID, baseVersion: other.version,
                        data: ["residentId": .string(other.residentID), "head": .bool(false)])
        }
        return true
    }

    /// Makes the account in a county message (`account.changed`, or the decision on an account
    /// conflict) the beneficiary's current one, keeping the old one in the history, as
    /// `changeAccount` does, but without an outbound operation: the county already has it.
    /// With `onlyReplacing`, only if the current account is that one. A decision on a conflict
    /// is not taken if the account was changed here again after the operation it decides: that
    /// later change goes to the county and is judged on its own. Runs inside the pull.
    func takeCountyAccount(_ data: JSONValue, onlyReplacing previous: String?) throws {
        let account = data["account"] ?? .null
        let number = account["number"]?.stringValue ?? "", bank = account["bank"]?.stringValue ?? ""
        guard let rid = data["residentId"]?.stringValue, !number.isEmpty,
              let person = try db.first("SELECT id FROM beneficiary WHERE resident_id = ?", rid, map: { $0.int64(0) }) else { return }
        if let decided = data["operation"]?.stringValue, let seq = Int64(decided.split(separator: "-").last ?? ""),
           try db.integer("SELECT count(*) FROM outbox WHERE kind = 'account.change' AND entity = ? AND seq > ?",
                          "beneficiary/" + rid, seq) ?? 0 > 0 {
            return
        }
        let current = try db.first("SELECT number, bank, kind FROM account WHERE beneficiary_id = ? AND replaced_at IS NULL", person) {
            (number: $0.text(0), bank: $0.text(1), kind: $0.text(2))
        }
        if current?.number == number && current?.bank == bank && current?.kind == (account["kind"]?.stringValue ?? "card") { return }
        if let previous, current?.number != previous || (data["previousBank"]?.stringValue).map({ $0 != current?.bank }) == true {
            return
        }
        let at = timestamp()
        try db.run("UPDATE account SET replaced_at = ? WHERE beneficiary_id = ? AND replaced_at IS NULL", at, person)
        try db.run("""
            INSERT INTO account(beneficiary_id, bank, kind, number, confirmation_ref, shared_reason, valid_from)
            VALUES (?, ?, ?, ?, ?, NULL, ?)
            """, person, bank, account["kind"]?.stringValue ?? "card", number,
                   account["confirmation"]?.stringValue ?? "县财政变更", at)
        try db.run("UPDATE beneficiary SET version = version + 1, updated_at = ? WHERE id = ?", at, person)
    }

    /// Changes the designated account. The old account stays in the history with the time it
    /// was replaced; the change needs the signed confirmation form's reference.
    @discardableResult
    public func changeAccount(_ id: ResidentID, to raw: AccountInput) throws -> BeneficiaryRecord {
        var account = raw
        account.confirmation = try Self.validateConfirmation(raw.confirmation)
        account.bank = raw.bank.trimmed
        if account.bank.isEmpty {
            throw YKTError(.fieldMissing, "开户银行为空", at: SourceLocation(field: "--bank"), hint: "填写代发银行名称")
        }
        try perform("account.change") {
            let current = try beneficiary(id)
            if let old = current.account, old.number == account.number.value, old.bank == account.bank, old.kind == account.number.kind {
                throw YKTError(.accountUnchanged, "新账户 \(account.number.masked) 与现用指定账户相同",
                               hint: "核对新卡号；如只改确认书编号无需变更账户")
            }
            try checkSharedAccount(account, holder: try currentHolder(ofAccount: account.number.value, excluding: current.id))
            let at = timestamp()
            try db.run("UPDATE account SET replaced_at = ? WHERE beneficiary_id = ? AND replaced_at IS NULL", at, current.id)
            try db.run("""
                INSERT INTO account(beneficiary_id, bank, kind, number, confirmation_ref, shared_reason, valid_from)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, current.id, account.bank, account.number.kind.rawValue, account.number.value,
                       account.confirmation, account.sharedReason, at)
            try db.run("UPDATE beneficiary SET version = version + 1, updated_at = ? WHERE id = ?", at, current.id)
            var data: [String: JSONValue] = ["residentId": .string(id.value), "account": account.json]
            if let old = current.account {
                data["previousNumber"] = .string(old.number)
                data["previousBank"] = .string(old.bank)
            }
            try enqueue("account.change", entity: current.entity, baseVersion: current.version, data: .object(data))
            return ((), AuditNote(object: "beneficiary#\(current.id) \(id.masked)",
                                  detail: "\(current.account?.masked ?? "-") → \(account.number.masked)"))
        }
        return try beneficiary(id)
    }

    /// Every designated account the person has had, oldest first.
    public func accountHistory(_ id: ResidentID) throws -> [AccountRecord] {
        let b = try beneficiary(id)
        return try db.all("""
            SELECT bank, kind, number, confirmation_ref, shared_reason, valid_from, replaced_at
            FROM account WHERE beneficiary_id = ? ORDER BY id
            """, b.id) { r in
            AccountRecord(bank: r.text(0), kind: AccountKind(rawValue: r.text(1)) ?? .card, number: r.text(2),
                          confirmation: r.text(3), sharedReason: r.optionalText(4), validFrom: r.text(5),
                          replacedAt: r.optionalText(6))
        }
    }
}

extension TownshipNode {
    /// Records in the audit trail that personal data was displayed or exported in full.
    public func recordView(of object: String) throws {
        try perform("personal-data.view") { ((), AuditNote(object: object)) }
    }
}
