import YKTCore
import YKTStore

/// The county's policy list as one change set is checked against it (issue 16, item 1).
///
/// Read once when the change set is applied (the list cannot change inside that transaction),
/// so an application costs no query for its program. An operation naming a program the county
/// does not have, or a version newer than the county's, is `conflicted`, and every such
/// operation of one change set shares ONE conflict (kind `program.list`): a township that
/// loaded its own list sends thousands of applications the county cannot take, and the
/// administrator gets one item that says which programs, how many, and what to do, not one
/// item per operation. The receipt still lists every operation, with the conflict's number.
final class ProgramGate {
    /// The kind of the change set's one conflict.
    static let conflictKind = "program.list"

    /// code → (current version, its standard in fen).
    private let current: [String: (version: Int, standard: Int64)]
    /// The conflict this change set's refused operations share, once made.
    var conflictID: Int64?
    /// What was refused, in order of first appearance: "TZ01 版本 1" and why, with counts.
    private(set) var refused: [(what: String, why: String, count: Int)] = []
    private var index: [String: Int] = [:]

    init(db: Database) throws {
        var programs: [String: (version: Int, standard: Int64)] = [:]
        try db.forEach("SELECT code, version, standard_fen FROM program") { r in programs[r.text(0)] = (r.int(1), r.int64(2)) }
        current = programs
    }

    /// Whether the county has published a list at all (before it has, applications are taken
    /// on the township's word for the program, as before).
    var hasList: Bool { !current.isEmpty }

    /// nil when the county has `code` at `version` (and, at its current version, the same
    /// standard); otherwise the operation's decision.
    func check(code: String, version: Int, standard: Int64?, node: String) -> CountyNode.Decision? {
        guard hasList else { return nil }
        guard let program = current[code] else {
            return refuse("\(code) 版本 \(version)", why: "县里的清单没有此项目", rule: "program.unknown",
                          reason: "县里的补贴政策清单没有项目 \(code)", node: node)
        }
        guard version <= program.version else {
            return refuse("\(code) 版本 \(version)", why: "县里只有版本 \(program.version)", rule: "program.version",
                          reason: "项目 \(code) 版本 \(version) 比县里的版本 \(program.version) 新", node: node)
        }
        if version == program.version, standard != program.standard {
            return .rejected(.moneyInvalid, "项目 \(code) 版本 \(version) 的标准是 \(Fen(program.standard).yuan) 元，申请用的是 \(Fen(standard ?? 0).yuan) 元")
        }
        return nil
    }

    private func refuse(_ what: String, why: String, rule: String, reason: String, node: String) -> CountyNode.Decision {
        if let i = index[what] { refused[i].count += 1 } else {
            index[what] = refused.count
            refused.append((what, why, 1))
        }
        var d = CountyNode.Decision(status: .conflicted, rule: rule, reason: reason,
                                    conflict: (Self.conflictKind, nil, ""))
        d.perChangeSet = true
        return d
    }

    /// The shared conflict's text once the change set is through: which programs, how many
    /// operations each, and what the township must do.
    func detail(node: String, changeSet: Int64) -> String {
        let total = refused.reduce(0) { $0 + $1.count }
        let items = refused.map { "\($0.what)（\($0.why)）\($0.count) 条" }.joined(separator: "；")
        return "乡镇 \(node) 第 \(changeSet) 号变更集中 \(total) 条申请用了县里补贴政策清单没有的项目或版本：\(items)。"
            + "这些申请县里不采纳；乡镇同步后采用县里的清单（ykt program list），须按县里的项目重新录入"
    }
}
