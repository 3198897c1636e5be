/// Where a problem was found: a file, a line, a column or field. All optional, so the same
/// type serves a CSV line, a command-line option and a record in the database.
public struct SourceLocation: Sendable, Hashable, Codable {
    public var file: String?
    public var line: Int?
    public var field: String?

    public init(file: String? = nil, line: Int? = nil, field: String? = nil) {
        self.file = file
        self.line = line
        self.field = field
    }

    /// `文件 a.csv 第 12 行 字段「身份证号」`
    public var chinese: String {
        var parts: [String] = []
        if let file { parts.append("文件 \(file)") }
        if let line { parts.append("第 \(line) 行") }
        if let field { parts.append("字段「\(field)」") }
        return parts.joined(separator: " ")
    }
}

/// An error a user can act on: a stable code, what was wrong (in Chinese), where, and what to do.
///
/// Every error the program reports is one of these. `code` is stable and listed in
/// `docs/errors.md`; `kind` decides the process exit code.
public struct YKTError: Error, Sendable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var location: SourceLocation?
    public var hint: String?
    /// For errors that gather many (an import reports every bad line).
    public var details: [YKTError]

    public init(_ code: ErrorCode, _ message: String, at location: SourceLocation? = nil,
                hint: String? = nil, details: [YKTError] = []) {
        self.code = code
        self.message = message
        self.location = location
        self.hint = hint
        self.details = details
    }

    /// Returns a copy located at `location`, keeping any more precise parts already set.
    public func located(_ location: SourceLocation) -> YKTError {
        var copy = self
        var merged = location
        if let own = self.location {
            merged.file = own.file ?? location.file
            merged.line = own.line ?? location.line
            merged.field = own.field ?? location.field
        }
        copy.location = merged
        return copy
    }

    /// One line: `[YKT-ID-CHECKDIGIT] 文件 a.csv 第 3 行 字段「身份证号」: 校验码错误… 处理：…`
    public var description: String {
        var text = "[\(code.rawValue)] "
        if let location, !location.chinese.isEmpty { text += location.chinese + "：" }
        text += message
        if let hint { text += "。处理：" + hint }
        return text
    }
}

/// How an error class ends the process. Documented in `docs/errors.md`.
public enum ExitStatus: Int32, Sendable, CaseIterable {
    case success = 0
    /// A business rule refused the request (duplicate resident, closing a notice early…).
    case ruleRefused = 1
    /// The command line was wrong (unknown option, missing value).
    case usage = 2
    /// An input file or value was invalid (bad ID, bad CSV line).
    case invalidInput = 3
    /// A named record does not exist.
    case notFound = 4
    /// The database or the file system failed.
    case storage = 5
    /// The node is not set up, or reference data (calendar, policy list) is missing.
    case configuration = 6
    /// Tamper or integrity failure (audit chain broken).
    case integrity = 7
    /// Not logged in, wrong password, locked or disabled account, or the operator does not hold
    /// the role the command needs (77 is `EX_NOPERM` of sysexits.h).
    case denied = 77
    /// Nothing is wrong with the request or the data: the peer could not be reached, or did
    /// not answer in time. The work is kept; trying again later is the right thing to do
    /// (75 is `EX_TEMPFAIL` of sysexits.h, which schedulers know as "retry").
    case retryable = 75
    /// A bug: please report it.
    case internalError = 70
}
