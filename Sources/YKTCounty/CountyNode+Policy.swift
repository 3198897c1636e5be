import YKTCore
import YKTStore
import YKTNode

/// The county's policy list: published in versions, sent down to every township.
extension CountyNode {
    /// Publishes a policy-list file (same format and checks as the townships' `program load`) as
    /// the next version, and queues it for every enrolled township. Returns the version number.
    @discardableResult
    public func publishPolicy(path: String, encoding: TextEncoding = .auto) throws -> Int {
        let list = try PolicyListFile.read(path: path, encoding: encoding)
        return try perform("policy.publish", object: "file \(list.file) sha256:\(list.sha256.prefix(16))",
                           detail: "programs=\(list.programs.count)") {
            let version = Int(try db.integer("SELECT max(version) FROM policy_version") ?? 0) + 1
            try keepVersions(list.programs, publishedIn: version)
            for p in list.programs {
                try db.run("""
                    INSERT INTO program(\(Program.storedColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(code) DO UPDATE SET name = excluded.name, department = excluded.department, unit = excluded.unit,
                      standard_fen = excluded.standard_fen, frequency = excluded.frequency, secret = excluded.secret,
                      basis = excluded.basis, version = excluded.version, carrier = excluded.carrier, payee = excluded.payee,
                      township_days = excluded.township_days, department_days = excluded.department_days,
                      finance_days = excluded.finance_days
                    """, p.code, p.name, p.department, p.unit.rawValue, p.standard.value, p.frequency, p.secret, p.basis, p.version,
                           p.rules.carrier.rawValue, p.rules.payee.rawValue, p.rules.limits.townshipReview,
                           p.rules.limits.departmentReview, p.rules.limits.financeApproval)
            }
            try db.run("INSERT INTO policy_version(version, file, sha256, programs, published_at) VALUES (?, ?, ?, ?, ?)",
                       version, list.file, list.sha256, list.programs.count, timestamp())
            let data: JSONValue = ["version": .int(Int64(version)), "programs": .array(list.programs.map(\.json))]
            for node in try db.all("SELECT node_id FROM township ORDER BY node_id", map: { $0.text(0) }) {
                try emit(to: node, kind: "policy.version", data: data)
            }
            return version
        }
    }

    /// The county's program with this code, if its policy list has one.
    func countyProgram(_ code: String) throws -> (version: Int, standard: Int64)? {
        try db.first("SELECT version, standard_fen FROM program WHERE code = ?", code) { ($0.int(0), $0.int64(1)) }
    }

    /// The county's policy list as it stands (every program ever published, at its latest
    /// version), with the list version that last published each: what `ykt program list` shows
    /// at the county.
    public func programs() throws -> [(program: Program, publishedIn: Int?)] {
        try db.all("""
            SELECT \(Program.storedColumns),
                   (SELECT published_in FROM program_version v WHERE v.code = program.code AND v.version = program.version)
            FROM program ORDER BY code
            """) { r in
            (Program.stored(r), r.isNull(Program.storedColumnCount) ? nil : r.int(Program.storedColumnCount))
        }
    }

    /// The latest published version of the list (0 before the first).
    public func policyVersion() throws -> Int {
        Int(try db.integer("SELECT max(version) FROM policy_version") ?? 0)
    }
}
