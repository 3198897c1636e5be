import YKTCore
import YKTNode
import YKTStore

/// The policy list (补贴政策清单) as the county publishes it.
extension TownshipNode {
    /// Loads (adds or replaces) programs from a policy-list CSV file. All-or-nothing.
    @discardableResult
    public func loadPrograms(path: String, encoding: TextEncoding = .auto) throws -> [Program] {
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
