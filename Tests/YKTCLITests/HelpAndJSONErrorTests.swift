import Foundation
import Testing
@testable import YKTCLI

@Suite("Every help page ends with examples; --json errors are JSON")
struct HelpAndJSONErrorTests {
    /// Splits an example line as a shell would for plain words and double quotes, up to a comment.
    static func words(_ line: String) -> [String] {
        var words: [String] = [], current = "", quoted = false, started = false
        for ch in line {
            if ch == "\"" { quoted.toggle(); started = true; continue }
            if !quoted, ch == "#" { break }
            if !quoted, ch == " " || ch == "\t" {
                if started { words.append(current) }
                current = ""; started = false
                continue
            }
            current.append(ch); started = true
        }
        if started { words.append(current) }
        return words
    }

    @Test("each command has one or two examples, in its own words, using only options it has")
    func examples() throws {
        let specs = YKTCommandLine.commands
        var missing: [String] = []
        for spec in specs {
            let examples = Examples.of(spec.path)
            guard (1...2).contains(examples.count) else { missing.append(spec.path.joined(separator: " ")); continue }
            for example in examples {
                let w = Self.words(example)
                #expect(Array(w.prefix(1 + spec.path.count)) == ["ykt"] + spec.path, "\(example)")
                // The command's words, without a shell redirection (`> docs/commands.md`).
                let args = Array(w.dropFirst(1 + spec.path.count).prefix { $0 != ">" })
                // Every option named exists, every required one is given, and the words parse.
                let parsed = try ParsedArguments(args, spec: spec)
                for o in spec.options where o.required {
                    #expect(parsed.values[o.name] != nil, "\(example) lacks --\(o.name)")
                }
                #expect(parsed.positionals.count <= spec.positionals.count, "\(example)")
            }
        }
        #expect(missing.isEmpty, "commands without examples: \(missing)")
        // No example is written for a command that does not exist.
        let paths = Set(specs.map { $0.path.joined(separator: " ") })
        #expect(Set(Examples.table.keys).subtracting(paths).isEmpty)
    }

    @Test("--help of the built program ends with the examples")
    func helpEndsWithExamples() throws {
        let cli = CLI()
        for path in [["init"], ["beneficiary", "import"], ["roster", "approve"]] {
            let r = try cli.raw(path + ["--help"])
            #expect(r.status == 0)
            let tail = r.stdout.components(separatedBy: "示例：").last ?? ""
            #expect(r.stdout.contains("示例："), "\(path)")
            for e in Examples.of(path) { #expect(tail.contains(e)) }
        }
        // The overview serves both kinds of node.
        let overview = try cli.raw(["--help"])
        #expect(overview.status == 0 && overview.stdout.hasPrefix("ykt — 惠民惠农财政补贴资金「一卡通」乡镇和县级节点"), "\(overview.stdout.prefix(80))")
    }

    @Test("with --json an error is one JSON object on stderr: code, exit status, place, message, hint")
    func jsonErrors() throws {
        let cli = CLI()
        #expect(try cli.run("init", "--township", "450223101", "--name", "寨沙镇").status == 0)
        // A usage error before the command runs.
        let unknown = try cli.raw(["roster", "frobnicate", "--json"])
        #expect(unknown.status == 2)
        let u = try JSONSerialization.jsonObject(with: Data(unknown.stderr.utf8)) as? [String: Any]
        let ue = u?["error"] as? [String: Any]
        #expect(ue?["code"] as? String == "YKT-USAGE-COMMAND")
        #expect(ue?["exit"] as? Int == 2)
        // A leading --json (before the command words) is taken as given after them; errors are JSON too.
        let leading = try cli.raw(["--json", "roster", "frobnicate"])
        #expect(leading.status == 2 && !leading.stderr.contains("没有命令「--json」"))
        let le = (try? JSONSerialization.jsonObject(with: Data(leading.stderr.utf8)) as? [String: Any])?["error"] as? [String: Any]
        #expect(le?["code"] as? String == "YKT-USAGE-COMMAND", "\(leading.stderr)")
        let shown = try cli.raw(["--json", "key", "show"])
        #expect(shown.status == 0 && (try? JSONSerialization.jsonObject(with: Data(shown.stdout.utf8))) != nil, "\(shown.stderr)")
        // A located error with details: an import with two bad lines.
        let file = cli.dir + "/bad.csv"
        try "姓名,身份证号,村（社区）,开户银行,账号,确认书编号\n张三,123,大塘村,中国农业银行,6228480012345678901,QR-1\n李四,450223197105319300,大塘村,中国农业银行,x,QR-2\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let r = try cli.run("beneficiary", "import", file, "--json")
        #expect(r.status != 0)
        #expect(r.stdout.isEmpty)
        let o = try JSONSerialization.jsonObject(with: Data(r.stderr.utf8)) as? [String: Any]
        let e = try #require(o?["error"] as? [String: Any])
        #expect((e["code"] as? String)?.hasPrefix("YKT-") == true)
        #expect(e["exit"] as? Int == Int(r.status))
        let details = try #require(e["details"] as? [[String: Any]])
        #expect(details.count >= 2)
        #expect(e["detailsTotal"] as? Int == details.count)
        #expect((e["detailCounts"] as? [String: Int])?.values.reduce(0, +) == details.count)
        #expect(details.allSatisfy { ($0["line"] as? Int) != nil && ($0["message"] as? String)?.isEmpty == false })
        #expect(details.contains { $0["file"] as? String == "bad.csv" || ($0["file"] as? String)?.hasSuffix("bad.csv") == true })
        // Many problems of one code: the first 20 of it, and the whole count.
        var many = "姓名,身份证号,村（社区）,开户银行,账号,确认书编号\n"
        for i in 0..<50 { many += "张\(i),123,大塘村,中国农业银行,6228480012345678901,QR-\(i)\n" }
        try many.write(toFile: file, atomically: true, encoding: .utf8)
        let m = try cli.run("beneficiary", "import", file, "--json")
        let me = try #require((try JSONSerialization.jsonObject(with: Data(m.stderr.utf8)) as? [String: Any])?["error"] as? [String: Any])
        let counts = try #require(me["detailCounts"] as? [String: Int])
        #expect(me["detailsTotal"] as? Int == counts.values.reduce(0, +))
        #expect(counts.values.contains { $0 >= 50 })
        #expect((me["details"] as? [Any])?.count == counts.values.map { min($0, 20) }.reduce(0, +))
        // Without --json the same error is text.
        let text = try cli.run("beneficiary", "import", file)
        #expect(text.stderr.hasPrefix("错误 [YKT-"))
    }

    @Test("text from outside stays on its line in a table: a complaint cannot forge a row or overwrite one")
    func tableCellsOnOneLine() {
        let forged = "正常投诉\n   9  public:乡镇：伪造  已办结\r覆盖\u{2028}分行\u{7}"
        let cell = Output.oneLine(forged)
        #expect(!cell.contains("\n") && !cell.contains("\r") && !cell.contains("\u{2028}") && !cell.contains("\u{7}"))
        #expect(cell.hasPrefix("正常投诉 ") && cell.contains("已办结 覆盖 分行"))
        #expect(Output.oneLine("耕地地力保护补贴") == "耕地地力保护补贴")
    }

    @Test("a result that cannot be written to standard output (a full disk) ends with YKT-FILE-WRITE and status 5, not 0")
    func fullDisk() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["docs", "errors"]
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
        let err = Pipe()
        p.standardError = err
        try p.run()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 5)
        #expect(e.contains("YKT-FILE-WRITE") && e.contains("标准输出"), "\(e)")
    }
}
