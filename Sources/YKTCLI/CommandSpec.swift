import YKTCore

/// One option of a command: `--name VALUE`, or a flag when `value` is nil.
struct OptionSpec: Sendable {
    var name: String
    var value: String?
    var help: String
    var required = false

    static func flag(_ name: String, _ help: String) -> OptionSpec { OptionSpec(name: name, value: nil, help: help) }
    static func value(_ name: String, _ placeholder: String, _ help: String, required: Bool = false) -> OptionSpec {
        OptionSpec(name: name, value: placeholder, help: help, required: required)
    }
}

/// A subcommand: where it sits (`["beneficiary", "import"]`), what it says about itself, what
/// it accepts and what it does.
struct CommandSpec: Sendable {
    var path: [String]
    var abstract: String
    var discussion: String = ""
    var positionals: [(name: String, help: String)] = []
    var options: [OptionSpec] = []
    var run: @Sendable (Invocation) throws -> Void

    var usage: String {
        var parts = ["ykt"] + path
        parts += positionals.map { "<\($0.name)>" }
        for o in options where o.required { parts.append("--\(o.name) <\(o.value ?? "")>") }
        if options.contains(where: { !$0.required }) { parts.append("[选项]") }
        return parts.joined(separator: " ")
    }

    var help: String {
        var lines = ["\(abstract)", "", "用法：\(usage)"]
        if !discussion.isEmpty { lines += ["", discussion] }
        if !positionals.isEmpty {
            lines += ["", "参数："]
            let w = positionals.map { DisplayWidth.of("<\($0.name)>") }.max() ?? 0
            for p in positionals { lines.append("  " + DisplayWidth.pad("<\(p.name)>", to: w) + "  " + p.help) }
        }
        let all = options + Self.common
        lines += ["", "选项："]
        let labels = all.map { "--\($0.name)" + ($0.value.map { " <\($0)>" } ?? "") }
        let w = labels.map(DisplayWidth.of).max() ?? 0
        for (o, label) in zip(all, labels) {
            lines.append("  " + DisplayWidth.pad(label, to: w) + "  " + o.help + (o.required ? "（必填）" : ""))
        }
        let examples = Examples.of(path)
        if !examples.isEmpty { lines += ["", "示例："] + examples.map { "  " + $0 } }
        return lines.joined(separator: "\n")
    }

    /// Options every command accepts.
    static let common: [OptionSpec] = [
        .value("node", "目录", "节点目录；不给时用环境变量 YKT_NODE"),
        .flag("password-stdin", "从标准输入读口令（每行一个：本人口令；设口令的命令第 2 行为新口令），不从终端询问"),
        .flag("help", "显示本帮助"),
    ]
}

/// Parsed arguments of one command.
struct ParsedArguments: Sendable {
    var values: [String: String] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []

    /// Parses `tokens` against `spec`. Errors name the option and say what is expected.
    init(_ tokens: [String], spec: CommandSpec) throws(YKTError) {
        let all = spec.options + CommandSpec.common
        var i = 0
        var onlyPositionals = false
        while i < tokens.count {
            let t = tokens[i]
            i += 1
            if onlyPositionals || !t.hasPrefix("--") || t == "-" {
                positionals.append(t)
                continue
            }
            if t == "--" { onlyPositionals = true; continue }
            var name = String(t.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            if name == "operator" {
                throw YKTError(.usage, "--operator 已停用：经办人由登录决定", at: SourceLocation(field: "--operator"),
                               hint: "用 ykt login --login 登录名 登录本人账户，再办理")
            }
            guard let option = all.first(where: { $0.name == name }) else {
                throw YKTError(.usage, "「ykt \(spec.path.joined(separator: " "))」没有选项 --\(name)",
                               at: SourceLocation(field: "--\(name)"),
                               hint: "可用选项：" + all.map { "--\($0.name)" }.joined(separator: " ") + "；详见 --help")
            }
            if option.value == nil {
                guard inline == nil else {
                    throw YKTError(.usage, "--\(name) 是开关，不带值", at: SourceLocation(field: "--\(name)"))
                }
                flags.insert(name)
            } else if let inline {
                values[name] = inline
            } else {
                guard i < tokens.count else {
                    throw YKTError(.usage, "--\(name) 后面缺少 <\(option.value!)>", at: SourceLocation(field: "--\(name)"),
                                   hint: option.help)
                }
                values[name] = tokens[i]
                i += 1
            }
        }
        if flags.contains("help") { return }
        for o in spec.options where o.required && values[o.name] == nil {
            throw YKTError(.usage, "缺少必填选项 --\(o.name) <\(o.value ?? "")>（\(o.help)）",
                           at: SourceLocation(field: "--\(o.name)"), hint: "用法：\(spec.usage)")
        }
        if positionals.count > spec.positionals.count {
            throw YKTError(.usage, "多余的参数「\(positionals[spec.positionals.count])」",
                           hint: "用法：\(spec.usage)")
        }
        if positionals.count < spec.positionals.count {
            let missing = spec.positionals[positionals.count]
            throw YKTError(.usage, "缺少参数 <\(missing.name)>（\(missing.help)）", hint: "用法：\(spec.usage)")
        }
    }
}
