import Foundation
import YKTCore
import YKTNode
import YKTCounty
import YKTTownship

/// One run of one command: its parsed arguments, environment and output, and the node it
/// works on (opened on first use).
final class Invocation {
    let spec: CommandSpec
    let args: ParsedArguments
    let environment: YKTCommandLine.Environment
    let out = Output()
    private var openedNode: TownshipNode?
    private var openedCounty: CountyNode?
    /// Standard input's lines, once read (`--password-stdin`).
    var cachedPasswords: [String]?
    /// Who runs this command: the logged-in operator's login, or the service's name.
    var acting: String?

    init(spec: CommandSpec, args: ParsedArguments, environment: YKTCommandLine.Environment) {
        self.spec = spec
        self.args = args
        self.environment = environment
    }

    var json: Bool { args.flags.contains("json") }

    /// A list as JSON with `--json`, otherwise as a table, one row per item.
    func list<T: Encodable>(_ items: [T], _ headers: [String], rightAligned: Set<Int> = [], row: (T) -> [String]) throws {
        if json { return try out.json(items) }
        out.table(headers, items.map(row), rightAligned: rightAligned)
    }
    func flag(_ name: String) -> Bool { args.flags.contains(name) }
    func string(_ name: String) -> String? { args.values[name] }

    func require(_ name: String) throws(YKTError) -> String {
        guard let v = args.values[name], !v.trimmed.isEmpty else {
            throw YKTError(.usage, "缺少 --\(name)", at: SourceLocation(field: "--\(name)"), hint: "用法：\(spec.usage)")
        }
        return v
    }

    func positional(_ i: Int) -> String { args.positionals[i] }

    var isCounty: Bool { (try? role()) == .county }

    /// A comma-separated list of positive numbers (`--rosters 3,4,5`).
    func numbers(_ name: String) throws(YKTError) -> [Int64] {
        try parse(name) { s throws(YKTError) -> [Int64] in
            let parts = s.split(separator: ",").map { Int64($0.trimmed) }
            guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw YKTError(.usageValue, "应为逗号分隔的编号，例如 3,4,5")
            }
            return parts.map { $0! }
        }
    }

    func yuan(_ name: String) throws(YKTError) -> Fen {
        try parse(name) { s throws(YKTError) in try Fen(yuan: s) }
    }

    /// Prints JSON that carries full personal data (resident IDs, account numbers), after
    /// recording in the audit trail who exported what (`personal-data.view`).
    func disclose<T: Encodable>(_ value: T, object: String) throws {
        if try role() == .county { try county().recordView(of: object) } else { try node().recordView(of: object) }
        try out.json(value)
    }

    var nodeDirectory: String? { args.values["node"] ?? environment["YKT_NODE"] }

    /// A set clock for demonstrations and training: `YKT_CLOCK=2026-09-30` (09:00 China time
    /// that day) or `2026-09-30T14:05`, honoured only by a node whose configuration says
    /// `clock_override = allowed` (never set on a node in service: the county checks every
    /// recording time against its own clock anyway). nil: the system clock.
    func clock(_ config: NodeConfig) throws(YKTError) -> (@Sendable () -> Date)? {
        guard let text = environment["YKT_CLOCK"], !text.isEmpty else { return nil }
        guard config.extra["clock_override"] == "allowed" else {
            throw YKTError(.nodeConfig, "设置了 YKT_CLOCK，但本节点不允许改用设定的时钟",
                           hint: "YKT_CLOCK 只用于演示和培训节点（node.conf 中 clock_override = allowed）；在用节点请取消这个环境变量")
        }
        let parts = text.split(separator: "T", maxSplits: 1)
        let day: CivilDate
        do { day = try CivilDate(parsing: String(parts[0])) } catch {
            throw YKTError(.usageValue, "YKT_CLOCK「\(text)」应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM")
        }
        var (hour, minute) = (9, 0)
        if parts.count == 2 {
            let hm = parts[1].split(separator: ":").map { Int($0) }
            guard hm.count == 2, let h = hm[0], let m = hm[1], (0..<24).contains(h), (0..<60).contains(m) else {
                throw YKTError(.usageValue, "YKT_CLOCK「\(text)」应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM")
            }
            (hour, minute) = (h, m)
        }
        let start = day.instantInChina(hour: hour, minute: minute)
        let offset = Date().timeIntervalSince1970 - start.timeIntervalSince1970
        return { Date(timeIntervalSince1970: Date().timeIntervalSince1970 - offset) }
    }

    /// The role named in the node directory's configuration.
    func role() throws -> NodeConfig.Role {
        guard let dir = nodeDirectory, !dir.isEmpty else {
            throw YKTError(.nodeMissing, "没有指定节点目录", hint: "用 --node 目录 指定，或设置环境变量 YKT_NODE")
        }
        let path = (dir as NSString).appendingPathComponent(NodeConfig.fileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw YKTError(.nodeMissing, "\(dir) 不是节点目录（没有 \(NodeConfig.fileName)）", at: SourceLocation(file: path),
                           hint: "先运行 ykt init")
        }
        return try NodeConfig(text: String(decoding: data, as: UTF8.self), file: path).role
    }

    func county() throws -> CountyNode {
        if let openedCounty { return openedCounty }
        guard let dir = nodeDirectory, !dir.isEmpty else {
            throw YKTError(.nodeMissing, "没有指定节点目录", hint: "用 --node 目录 指定，或设置环境变量 YKT_NODE")
        }
        let node = try CountyNode.open(directory: dir, operatorName: acting ?? "未登录")
        if let clock = try clock(node.config) { node.now = clock }
        openedCounty = node
        return node
    }

    func node() throws -> TownshipNode {
        if let openedNode { return openedNode }
        guard let dir = nodeDirectory, !dir.isEmpty else {
            throw YKTError(.nodeMissing, "没有指定节点目录",
                           hint: "用 --node 目录 指定，或设置环境变量 YKT_NODE；新节点先运行 ykt init")
        }
        let node = try TownshipNode.open(directory: dir, operatorName: acting ?? "未登录")
        if let clock = try clock(node.config) { node.now = clock }
        openedNode = node
        return node
    }

    /// A value parsed by `parse`; its error is located at the option.
    func parse<T>(_ name: String, _ parse: (String) throws(YKTError) -> T) throws(YKTError) -> T {
        let text = try require(name)
        do { return try parse(text) } catch { throw error.located(SourceLocation(field: "--\(name)")) }
    }

    func optional<T>(_ name: String, _ parse: (String) throws(YKTError) -> T) throws(YKTError) -> T? {
        guard let text = args.values[name] else { return nil }
        do { return try parse(text) } catch { throw error.located(SourceLocation(field: "--\(name)")) }
    }

    /// The business date: `--date`, else the node's today (`today()`).
    func date(_ name: String = "date") throws -> CivilDate {
        if let given = try optional(name, { s throws(YKTError) in try CivilDate(parsing: s) }) { return given }
        return try today()
    }

    /// Today in China by the node's clock: the same clock `ykt status` and every recording time
    /// use, so a training node's `YKT_CLOCK` holds for default dates too. With no node named
    /// (the bank simulator), the machine's date.
    func today() throws -> CivilDate {
        guard let dir = nodeDirectory, !dir.isEmpty,
              FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(NodeConfig.fileName)) else {
            return CivilDate.inChina()
        }
        return CivilDate.inChina(at: try role() == .county ? county().now() : node().now())
    }

    /// The business date of a county act (`--date`, else the county's today): never after the
    /// county's today, by its own clock (`YKT-DATE-FUTURE`).
    func countyDate() throws -> CivilDate {
        let county = try county()
        let today = CivilDate.inChina(at: county.now())
        guard let text = args.values["date"] else { return today }
        let date: CivilDate
        do { date = try CivilDate(parsing: text) } catch { throw error.located(SourceLocation(field: "--date")) }
        guard date <= today else {
            throw YKTError(.dateFuture, "日期 \(date) 晚于今天 \(today)", at: SourceLocation(field: "--date"),
                           hint: "只能登记已经发生的事；到那一天再办理")
        }
        return date
    }

    func residentID(positional i: Int) throws(YKTError) -> ResidentID {
        do { return try ResidentID(args.positionals[i]) } catch {
            throw error.located(SourceLocation(field: "<\(spec.positionals[i].name)>"))
        }
    }

    func number(positional i: Int) throws(YKTError) -> Int64 {
        guard let n = Int64(args.positionals[i]), n > 0 else {
            throw YKTError(.usageValue, "<\(spec.positionals[i].name)> 应为正整数编号，实际为「\(args.positionals[i])」",
                           hint: "用对应的 list 命令查看编号")
        }
        return n
    }

    func importOptions(progress: Progress) throws(YKTError) -> ImportOptions {
        let encoding = try optional("encoding") { s throws(YKTError) in try TextEncoding(parsing: s) } ?? .auto
        let keep = flag("keep-good")
        let rejects = string("rejects")
        if keep && rejects == nil {
            throw YKTError(.usage, "--keep-good 须同时给出 --rejects 文件", at: SourceLocation(field: "--rejects"),
                           hint: "错误行会写入这个文件，改正后可再导入")
        }
        let json = self.json
        return ImportOptions(encoding: encoding, keepGood: keep, rejectsPath: rejects,
                             progress: json ? nil : { @Sendable phase, done, total in progress.update(phase, done, total) })
    }
}
