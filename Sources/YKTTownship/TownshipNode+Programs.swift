import YKTCore
import YKTStore

/// The policy list (补贴政策清单) as the county publishes it.
extension TownshipNode {
    public static let programColumns: [CSVColumn] = [
        CSVColumn("code", ["项目编码", "编码", "code"]),
        CSVColumn("name", ["项目名称", "名称", "name"]),
        CSVColumn("department", ["主管部门", "department"]),
        CSVColumn("standard", ["补贴标准(元)", "补贴标准", "标准", "standard_yuan"]),
        CSVColumn("unit", ["计量单位", "单位", "unit"]),
        CSVColumn("frequency", ["发放频次", "频次", "frequency"], required: false),
        CSVColumn("secret", ["是否涉密", "涉密", "secret"], required: false),
        CSVColumn("basis", ["政策依据", "basis"], required: false),
        CSVColumn("version", ["版本", "version"], required: false),
    ]

    /// Reads and validates a policy-list CSV file, all-or-nothing (every bad line reported).
    /// Returns the programs, the file name and its SHA-256.
    public static func readPolicyList(path: String, encoding: TextEncoding = .auto) throws
        -> (programs: [Program], file: String, sha256: String) {
        let loaded = try CSVFiles.load(path: path, encoding: encoding)
        let header = try CSVHeader(loaded.header, columns: Self.programColumns, file: loaded.name)
        var seen: Set<String> = []
        let screened = try screen(loaded, options: ImportOptions(), what: "补贴政策清单") { record in
            Self.validateProgramRow(record, header: header)
        } crossCheck: { _, program in
            if seen.insert(program.code).inserted { return [] }
            return [YKTError(.programInvalid, "项目编码 \(program.code) 重复", at: SourceLocation(field: header.label("code")),
                             hint: "每个项目只写一行")]
        }
        return (screened.good, loaded.name, loaded.sha256)
    }

    /// Loads (adds or replaces) programs from a policy-list CSV file. All-or-nothing.
    @discardableResult
    public func loadPrograms(path: String, encoding: TextEncoding = .auto) throws -> [Program] {
        let list = try Self.readPolicyList(path: path, encoding: encoding)
        try store(programs: list.programs, audit: AuditNote(object: "file \(list.file) sha256:\(list.sha256.prefix(16))",
                                                           detail: "programs=\(list.programs.count)"))
        return list.programs
    }

    /// Adds or replaces programs, in one command with its audit note.
    func store(programs: [Program], audit: AuditNote) throws {
        try perform("program.load") {
            let at = timestamp()
            for p in programs { try upsert(p, at: at) }
            return ((), audit)
        }
    }

    /// Adds or replaces one program. Must run inside `perform`.
    func upsert(_ p: Program, at: String) throws {
        try db.run("""
            INSERT INTO program(code, name, department, unit, standard_fen, frequency, secret, basis, version, loaded_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(code) DO UPDATE SET name = excluded.name, department = excluded.department,
              unit = excluded.unit, standard_fen = excluded.standard_fen, frequency = excluded.frequency,
              secret = excluded.secret, basis = excluded.basis, version = excluded.version,
              loaded_at = excluded.loaded_at
            """, p.code, p.name, p.department, p.unit.rawValue, p.standard.value, p.frequency, p.secret,
                   p.basis, p.version, at)
    }

    static func validateProgramRow(_ record: CSVRecord, header: CSVHeader) -> Result<Program, RowErrors> {
        var errors: [YKTError] = widthProblem(record, header).map { [$0] } ?? []
        func v(_ key: String) -> String { header.value(key, in: record).trimmed }
        for key in ["code", "name", "department"] where v(key).isEmpty {
            errors.append(YKTError(.fieldMissing, "\(header.label(key))为空", at: SourceLocation(field: header.label(key))))
        }
        let standard = field("standard", header, &errors) { () throws(YKTError) -> Fen in
            let fen = try Fen(yuan: v("standard"))
            guard fen <= AmountRule.maximumStandard else {
                throw YKTError(.programInvalid, "补贴标准 \(fen.yuanGrouped) 元超过每单位 1,000,000 元的上限", hint: "核对补贴标准")
            }
            return fen
        }
        let unit = field("unit", header, &errors) { () throws(YKTError) in try ProgramUnit(parsing: v("unit")) }
        let secretText = v("secret")
        var secret = false
        switch secretText {
        case "", "否", "0", "no", "false": secret = false
        case "是", "1", "yes", "true", "涉密": secret = true
        default:
            errors.append(YKTError(.programInvalid, "是否涉密应填 是 或 否，实际为「\(secretText)」",
                                   at: SourceLocation(field: header.label("secret"))))
        }
        let versionText = v("version")
        let version = versionText.isEmpty ? 1 : Int(versionText) ?? -1
        if version < 1 {
            errors.append(YKTError(.programInvalid, "版本应为正整数，实际为「\(versionText)」",
                                   at: SourceLocation(field: header.label("version"))))
        }
        guard errors.isEmpty, let standard, let unit else { return .failure(RowErrors(errors)) }
        return .success(Program(code: v("code"), name: v("name"), department: v("department"), unit: unit,
                                standard: standard, frequency: v("frequency"), secret: secret, basis: v("basis"),
                                version: version))
    }

    public func programs() throws -> [Program] {
        try db.all("SELECT code, name, department, unit, standard_fen, frequency, secret, basis, version FROM program ORDER BY code",
                   map: Self.program(from:))
    }

    static func program(from r: Row) -> Program {
        Program(code: r.text(0), name: r.text(1), department: r.text(2),
                unit: ProgramUnit(rawValue: r.text(3)) ?? .perPerson, standard: Fen(r.int64(4)),
                frequency: r.text(5), secret: r.bool(6), basis: r.text(7), version: r.int(8))
    }

    /// The program with this code; throws `YKT-PROGRAM-UNKNOWN` when the policy list lacks it.
    public func program(_ code: String) throws -> Program {
        let c = code.trimmed
        guard let p = try db.first("""
            SELECT code, name, department, unit, standard_fen, frequency, secret, basis, version FROM program WHERE code = ?
            """, c, map: Self.program(from:)) else {
            throw YKTError(.programUnknown, "补贴政策清单中没有项目编码「\(c)」",
                           hint: "用 ykt program list 查看已有项目；清单过旧请用 ykt program load 导入县里发布的新清单")
        }
        return p
    }
}
