import Foundation
import YKTCore
import YKTCrypto
import YKTNode
import YKTStore

/// The `ykt` command line: finds the command, parses its arguments, runs it, and turns every
/// error into a message and a documented exit status (`docs/errors.md`).
public enum YKTCommandLine {
    static let commands: [CommandSpec] =
        NodeCommands.all + StatusCommands.all + RegisterCommands.all + ApplicationCommands.all + NoticeCommands.all
            + RosterCommands.all + RecordCommands.all + SyncCommands.all + CountyCommands.all + DemoCommands.all + OperatorCommands.all + ConsoleCommands.all
            + PublishCommands.all
            + PublicCommands.all
            + CardCommands.all

    public static let version = "0.1.0"

    /// Runs `arguments` (without the program name); returns the exit status.
    public static func main(_ given: [String], environment: Environment = .process) -> Int32 {
        OpenSSLProcess.start()
        let out = Output()
        // `ykt --json status`: a leading `--json` (only that option) counts as given after the command words.
        let leadingJSON = given.prefix { $0 == "--json" }.count
        var arguments = Array(given.dropFirst(leadingJSON))
        // `--json` asks for JSON errors too, whether or not the command got as far as parsing.
        let json = leadingJSON > 0 || arguments.prefix { $0 != "--" }.contains("--json")
        if arguments.isEmpty || arguments == ["--help"] || arguments == ["help"] || arguments == ["-h"] {
            out.line(overview)
            return 0
        }
        if arguments == ["--version"] || arguments == ["version"] {
            out.line("ykt \(version)（SQLite \(Database.libraryVersion)）")
            return 0
        }
        // The longest command path that matches the leading words.
        let match = commands.filter { arguments.starts(with: $0.path) }.max { $0.path.count < $1.path.count }
        if leadingJSON > 0, let spec = match, !arguments.prefix(while: { $0 != "--" }).contains("--json") {
            arguments.insert("--json", at: spec.path.count)
        }
        guard let spec = match else {
            let group = commands.filter { $0.path.first == arguments[0] }
            if !group.isEmpty {
                if arguments.count == 1 || arguments[1] == "--help" {
                    out.line(groupHelp(arguments[0], group))
                    return arguments.count == 1 ? ExitStatus.usage.rawValue : 0
                }
                out.report(YKTError(.usageUnknownCommand, "「ykt \(arguments[0])」没有子命令「\(arguments[1])」",
                                    hint: "可用：" + group.map { $0.path.dropFirst().joined(separator: " ") }.joined(separator: "、")),
                           json: json)
                return ExitStatus.usage.rawValue
            }
            out.report(YKTError(.usageUnknownCommand, "没有命令「\(arguments[0])」", hint: "运行 ykt --help 查看全部命令"), json: json)
            return ExitStatus.usage.rawValue
        }
        do {
            let args = try ParsedArguments(Array(arguments.dropFirst(spec.path.count)), spec: spec)
            if args.flags.contains("help") {
                out.line(spec.help)
                return 0
            }
            let invocation = Invocation(spec: spec, args: args, environment: environment)
            try invocation.authorize()
            try spec.run(invocation)
            if let code = Output.stdoutFailure.code {
                out.report(YKTError(.fileWrite, "结果没有完整写到标准输出：\(String(cString: strerror(code)))",
                                    hint: "命令本身已办完（已提交的不会撤销）；检查磁盘空间或输出去向后，用相应的查看命令核对结果"),
                           json: json)
                return ExitStatus.storage.rawValue
            }
            return 0
        } catch let error as YKTError {
            out.report(error, json: json)
            return error.code.exitStatus.rawValue
        } catch let error as DatabaseError {
            out.report(YKTError(.database, "数据库操作失败：\(error.message)", hint: "操作已撤销；如反复出现请报告系统管理员"), json: json)
            return ExitStatus.storage.rawValue
        } catch {
            out.report(YKTError(.internalError, "意外错误：\(error)", hint: "请把这条信息报告给开发人员"), json: json)
            return ExitStatus.internalError.rawValue
        }
    }

    /// The variables a command reads (`YKT_NODE`, `YKT_SESSION`, `HOME`…), each asked for when
    /// needed: `.process` reads them with `getenv`, without building a dictionary of the whole
    /// environment as `ProcessInfo` does through generic code (a quarter of a millisecond at
    /// every start); `.fixed` holds a given set.
    public struct Environment: Sendable {
        let fixed: [String: String]?

        public static let process = Environment(fixed: nil)
        public static func fixed(_ variables: [String: String]) -> Environment { Environment(fixed: variables) }

        public subscript(name: String) -> String? {
            if let fixed { return fixed[name] }
            return getenv(name).map { String(cString: $0) }
        }
    }

    static func groupHelp(_ group: String, _ specs: [CommandSpec]) -> String {
        let w = specs.map { DisplayWidth.of($0.path.joined(separator: " ")) }.max() ?? 0
        return (["ykt \(group) 的子命令：", ""] + specs.map {
            "  ykt " + DisplayWidth.pad($0.path.joined(separator: " "), to: w) + "  " + $0.abstract
        } + ["", "每个子命令都有 --help。"]).joined(separator: "\n")
    }

    static var overview: String {
        let specs = commands
        let w = specs.map { DisplayWidth.of($0.path.joined(separator: " ")) }.max() ?? 0
        var lines = [
            "ykt — 惠民惠农财政补贴资金「一卡通」乡镇和县级节点",
            "",
            "用法：ykt <命令> [子命令] [参数] [选项]",
            "节点目录用 --node 目录 或环境变量 YKT_NODE 指定；先用 ykt login 登录本人账户，命令以登录的经办人办理。",
            "",
            "命令：",
        ]
        lines += specs.map { "  ykt " + DisplayWidth.pad($0.path.joined(separator: " "), to: w) + "  " + $0.abstract }
        lines += ["", "每个命令都有 --help。错误代码和退出码见 docs/errors.md，命令参考见 docs/commands.md。"]
        return lines.joined(separator: "\n")
    }

    /// The command reference in Markdown (`docs/commands.md` is this text; a test keeps them equal).
    public static var markdownReference: String {
        var md = "# 命令参考 (command reference)\n\n本页由 `ykt` 自身的帮助生成（`swift run ykt docs commands`）；" +
            "测试保证它与程序一致。\n\n"
        md += "所有命令都接受 `--node 目录`（或环境变量 `YKT_NODE`）、`--password-stdin` 和 `--help`。"
        md += "经办人由登录决定（`ykt login`，会话文件见 docs/operators.md）；每条命令下写明须由哪个角色办理。\n\n"
        for spec in commands {
            md += "## `ykt \(spec.path.joined(separator: " "))`\n\n\(spec.abstract)\n\n```\n\(spec.usage)\n```\n\n"
            if !spec.discussion.isEmpty { md += spec.discussion + "\n\n" }
            md += "办理人：" + (Access.of(spec)?.documented ?? "（未登记）") + "\n\n"
            if !spec.positionals.isEmpty || !spec.options.isEmpty {
                md += "| 参数或选项 | 说明 |\n| --- | --- |\n"
                for p in spec.positionals { md += "| `<\(p.name)>` | \(p.help) |\n" }
                for o in spec.options {
                    md += "| `--\(o.name)\(o.value.map { " <\($0)>" } ?? "")` | \(o.help)\(o.required ? "（必填）" : "") |\n"
                }
                md += "\n"
            }
            let examples = Examples.of(spec.path)
            if !examples.isEmpty { md += "示例：\n\n```\n" + examples.joined(separator: "\n") + "\n```\n\n" }
        }
        return md
    }

    /// The error-code table in Markdown, for `docs/errors.md`.
    public static var errorTable: String {
        var md = "| 代码 | 退出码 | 含义 |\n| --- | --- | --- |\n"
        for code in ErrorCode.all { md += "| `\(code.rawValue)` | \(code.exitStatus.rawValue) | \(code.meaning) |\n" }
        return md
    }
}
