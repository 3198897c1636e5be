import YKTCore

/// The policy list (补贴政策清单) as a CSV file: its columns, and reading it whole with every bad
/// line reported. Both nodes read it (the county publishes it; a township may load it offline).
public enum PolicyListFile {
    public static let columns: [CSVColumn] = [
        CSVColumn("code", ["项目编码", "编码", "code"]),
        CSVColumn("name", ["项目名称", "名称", "name"]),
        CSVColumn("department", ["主管部门", "department"]),
        CSVColumn("standard", ["补贴标准(元)", "补贴标准", "标准", "standard_yuan"]),
        CSVColumn("unit", ["计量单位", "单位", "unit"]),
        CSVColumn("frequency", ["发放频次", "频次", "frequency"], required: false),
        CSVColumn("secret", ["是否涉密", "涉密", "secret"], required: false),
        CSVColumn("basis", ["政策依据", "basis"], required: false),
        CSVColumn("version", ["版本", "version"], required: false),
        CSVColumn("firstPeriod", ["起始期次", "适用起始期次", "first_period"], required: false),
        CSVColumn("carrier", ["发放载体", "载体", "carrier"], required: false),
        CSVColumn("payee", ["发放对象", "按人按户", "payee"], required: false),
        CSVColumn("townshipDays", ["乡镇审核时限(工作日)", "乡镇审核时限", "township_review_days"], required: false),
        CSVColumn("departmentDays", ["部门审核时限(工作日)", "部门审核时限", "department_review_days"], required: false),
        CSVColumn("financeDays", ["财政审批时限(工作日)", "财政审批时限", "finance_approval_days"], required: false),
    ]

    /// Reads and validates a policy-list CSV file, all-or-nothing (every bad line reported).
    /// Returns the programs, the file name and its SHA-256.
    public static func read(path: String, encoding: TextEncoding = .auto) throws
        -> (programs: [Program], file: String, sha256: String) {
        let loaded = try CSVFiles.load(path: path, encoding: encoding)
        let header = try CSVHeader(loaded.header, columns: Self.columns, file: loaded.name)
        var seen: Set<String> = []
        let screened = try screen(loaded, options: ImportOptions(), what: "补贴政策清单") { record in
            Self.validateRow(record, header: header)
        } crossCheck: { _, program in
            if seen.insert(program.code).inserted { return [] }
            return [YKTError(.programInvalid, "项目编码 \(program.code) 重复", at: SourceLocation(field: header.label("code")),
                             hint: "每个项目只写一行")]
        }
        return (screened.good, loaded.name, loaded.sha256)
    }

    static func validateRow(_ record: CSVRecord, header: CSVHeader) -> Result<Program, RowErrors> {
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
        // 发放频次 decides how the program's periods are written: only the four spellings.
        let frequency = field("frequency", header, &errors) { () throws(YKTError) in try PaymentFrequency(parsing: v("frequency")) }
        var firstPeriod: Period?
        if !v("firstPeriod").isEmpty {
            firstPeriod = field("firstPeriod", header, &errors) { () throws(YKTError) -> Period in
                let p = try Period(parsing: v("firstPeriod"))
                try frequency?.check(p, program: v("code"))
                return p
            }
        }
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
        let carrier = field("carrier", header, &errors) { () throws(YKTError) in try CarrierRule(parsing: v("carrier")) }
        let payee = field("payee", header, &errors) { () throws(YKTError) in try PayeeUnit(parsing: v("payee")) }
        // 限时办理: working days per step; blank is the standard (StepLimits.standard).
        func days(_ key: String, _ standard: Int) -> Int {
            let text = v(key)
            if text.isEmpty { return standard }
            guard let n = Int(text), n >= 1, n <= StepLimits.maximumDays else {
                errors.append(YKTError(.programInvalid, "\(header.label(key))应为 1 到 \(StepLimits.maximumDays) 的工作日数，实际为「\(text)」",
                                       at: SourceLocation(field: header.label(key)), hint: "填写整数个工作日，或留空按默认时限"))
                return standard
            }
            return n
        }
        let limits = StepLimits(townshipReview: days("townshipDays", StepLimits.standard.townshipReview),
                                departmentReview: days("departmentDays", StepLimits.standard.departmentReview),
                                financeApproval: days("financeDays", StepLimits.standard.financeApproval))
        guard errors.isEmpty, let standard, let unit, let frequency, let carrier, let payee else { return .failure(RowErrors(errors)) }
        return .success(Program(code: v("code"), name: v("name"), department: v("department"), unit: unit,
                                standard: standard, frequency: frequency.rawValue, secret: secret, basis: v("basis"),
                                version: version, firstPeriod: firstPeriod,
                                rules: ProgramRules(carrier: carrier, payee: payee, limits: limits)))
    }
}
