import YKTCore
import YKTNode
import YKTStore

/// The policy list (补贴政策清单) as the county publishes it.
extension TownshipNode {
    /// Whether this township takes its programs from a county: node.conf names one
    /// (`county_address` or `county_public_key`, what `ykt sync` needs).
    public var hasCounty: Bool {
        !(config.extra["county_address"] ?? "").trimmed.isEmpty || !(config.extra["county_public_key"] ?? "").trimmed.isEmpty
    }

    /// Loads (adds or replaces) programs from a policy-list CSV file. All-or-nothing. Refused
    /// at a township that has a county configured (`YKT-PROGRAM-COUNTY`): there the list comes
    /// only from the county, through `ykt sync` (issue 16: a township's own list made every
    /// application the county could not take a conflict of its own).
    @discardableResult
    public func loadPrograms(path: String, encoding: TextEncoding = .auto) throws -> [Program] {
        guard !hasCounty else {
            throw YKTError(.programCounty, "本乡镇已配置县财政（node.conf 的 county_address / county_public_key），补贴政策清单只能由县财政发布、同步时下发，不能自行导入",
                           at: SourceLocation(file: path),
                           hint: "请县财政用 ykt policy publish 发布清单，再在本节点运行 ykt sync；用 ykt program list 查看已收到的清单")
        }
        return try loadLocalPrograms(path: path, encoding: encoding)
    }

    /// The same without the county check: a township with no county (and tests that set up
    /// the case of a township that loaded its own list before its county was configured).
    @discardableResult
    package func loadLocalPrograms(path: String, encoding: TextEncoding = .auto) throws -> [Program] {
        let list = try PolicyListFile.read(path: path, encoding: encoding)
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

    /// Adds or replaces one program. Must run inside `perform`. `listVersion`: the county's
    /// list version it came in (nil: loaded here).
    func upsert(_ p: Program, at: String, listVersion: Int? = nil) throws {
        try db.run("""
            INSERT INTO program(code, name, department, unit, standard_fen, frequency, secret, basis, version, loaded_at, origin, list_version,
                carrier, payee, township_days, department_days, finance_days)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(code) DO UPDATE SET name = excluded.name, department = excluded.department,
              unit = excluded.unit, standard_fen = excluded.standard_fen, frequency = excluded.frequency,
              secret = excluded.secret, basis = excluded.basis, version = excluded.version,
              loaded_at = excluded.loaded_at, origin = excluded.origin, list_version = excluded.list_version,
              carrier = excluded.carrier, payee = excluded.payee, township_days = excluded.township_days,
              department_days = excluded.department_days, finance_days = excluded.finance_days
            """, p.code, p.name, p.department, p.unit.rawValue, p.standard.value, p.frequency, p.secret,
                   p.basis, p.version, at, listVersion == nil ? "local" : "county", listVersion.map(Int64.init),
                   p.rules.carrier.rawValue, p.rules.payee.rawValue, p.rules.limits.townshipReview,
                   p.rules.limits.departmentReview, p.rules.limits.financeApproval)
    }

    /// A policy-list version from the county: its programs replace the ones here with the same
    /// code, and every program this township loaded itself that the county's list does not have
    /// is withdrawn (kept, since applications may name it, but no new application, notice or
    /// roster may use it). Must run inside the transaction that stores the message.
    func takeCountyList(_ programs: [Program], version: Int?) throws {
        let at = timestamp()
        for p in programs { try upsert(p, at: at, listVersion: version ?? 0) }
        try db.run("UPDATE program SET origin = 'withdrawn' WHERE origin = 'local'")
    }

    /// Every program here with where it came from, for `ykt program list`.
    public func programList() throws -> [(program: Program, origin: String, listVersion: Int?)] {
        try db.all("""
            SELECT \(Program.storedColumns), origin, list_version FROM program ORDER BY code
            """) { r in (Self.program(from: r), r.text(14), r.isNull(15) ? nil : r.int(15)) }
    }


    /// The programs applications may use (not those withdrawn when the county's list came).
    public func programs() throws -> [Program] {
        try db.all("""
            SELECT \(Program.storedColumns) FROM program
            WHERE origin != 'withdrawn' ORDER BY code
            """,
                   map: Self.program(from:))
    }

    static func program(from r: Row) -> Program {
        Program.stored(r)
    }

    /// The program with this code; throws `YKT-PROGRAM-UNKNOWN` when the policy list lacks it.
    public func program(_ code: String) throws -> Program {
        let c = code.trimmed
        guard let p = try db.first("""
            SELECT \(Program.storedColumns) FROM program
            WHERE code = ? AND origin != 'withdrawn'
            """, c, map: Self.program(from:)) else {
            if try db.integer("SELECT count(*) FROM program WHERE code = ?", c) ?? 0 > 0 {
                throw YKTError(.programUnknown, "项目「\(c)」是本乡镇自行导入的，县里发布的补贴政策清单没有它，已停用",
                               hint: "用 ykt program list 查看县里的清单，按县里的项目办理")
            }
            throw YKTError(.programUnknown, "补贴政策清单中没有项目编码「\(c)」",
                           hint: hasCounty ? "用 ykt program list 查看已有项目；清单由县财政发布，运行 ykt sync 取得最新版"
                                           : "用 ykt program list 查看已有项目；清单过旧请用 ykt program load 导入县里发布的新清单")
        }
        return p
    }
}
