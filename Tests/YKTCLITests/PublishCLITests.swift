import Foundation
import Testing
import YKTCore
import YKTDemo

@Suite("ykt publish and ykt publish verify, through the built binary")
struct PublishCLITests {
    /// A county with the demo policy list published and its complaint phone set.
    func county(_ cli: CLI) throws -> (node: String, keyID: String, publicKey: String) {
        let node = cli.path("county")
        #expect(try cli.run("init", "--role", "county", "--county", "450223", "--name", "鹿寨县", "--node", node).status == 0)
        try CountyGenerator.programsCSV.write(toFile: cli.path("programs.csv"), atomically: true, encoding: .utf8)
        #expect(try cli.run("policy", "publish", cli.path("programs.csv"), "--node", node).status == 0)
        let conf = node + "/node.conf"
        try (try String(contentsOfFile: conf, encoding: .utf8) + "complaint_phone = 0772-6812000\n").write(toFile: conf, atomically: true, encoding: .utf8)
        let shown = try JSONSerialization.jsonObject(with: Data(try cli.run("key", "show", "--json", "--node", node).stdout.utf8)) as? [String: Any]
        return (node, shown?["keyID"] as? String ?? "", shown?["publicKey"] as? String ?? "")
    }

    @Test("publish prints what it wrote and the key; verify needs no node or login, checks the key, and names a tampered file")
    func publishAndVerify() throws {
        let cli = CLI()
        let (node, keyID, publicKey) = try county(cli)
        #expect(keyID.count == 16 && publicKey.count == 64)
        let out = cli.path("public")
        let published = try cli.run("publish", "--node", node, "--out", out)
        #expect(published.status == 0, "\(published.stderr)")
        #expect(published.stdout.contains("签名密钥编号") && published.stdout.contains(keyID) && published.stdout.contains("清单 SHA-256"))
        #expect(published.stdout.contains("政策清单") && published.stdout.contains("6 项"))   // TF01 is secret
        let manifestHash = try #require(published.stdout.split(separator: "\n").first { $0.hasPrefix("清单 SHA-256") }?.split(separator: " ").last)
        #expect(try SHA256Hex.of(out + "/site/manifest.json") == String(manifestHash))
        #expect(FileManager.default.fileExists(atPath: out + "/query.store"))
        let policy = try String(contentsOfFile: out + "/site/policy/index.html", encoding: .utf8)
        #expect(policy.contains("耕地地力保护补贴") && !policy.contains("特殊对象生活补助"))

        // Again into the same folder: refused unless --replace.
        let again = try cli.run("publish", "--node", node, "--out", out)
        #expect(again.status == 1 && again.stderr.contains("YKT-PUBLISH-EXISTS") && again.stderr.contains("--replace"))
        #expect(try cli.run("publish", "--node", node, "--out", out, "--replace").status == 0)

        // Verify: no node, no session; the county's key from a file as `ykt key show` gives it.
        var env = cli.environment
        env["YKT_NODE"] = nil
        try "公钥：\(publicKey)\n".write(toFile: cli.path("county.pub"), atomically: true, encoding: .utf8)
        let ok = try cli.raw(["publish", "verify", out, "--public-key", cli.path("county.pub")], environment: env)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("校验通过") && ok.stdout.contains(keyID) && ok.stdout.contains("查询库"))
        let bare = try cli.raw(["publish", "verify", out + "/site"], environment: env)
        #expect(bare.status == 0 && bare.stderr.contains(keyID))   // asks to compare the fingerprint

        // A wrong key, a tampered file, a swapped store: each refused with exit 7, naming the file.
        try String(repeating: "ab", count: 32).write(toFile: cli.path("other.pub"), atomically: true, encoding: .utf8)
        let wrong = try cli.raw(["publish", "verify", out, "--public-key", cli.path("other.pub")], environment: env)
        #expect(wrong.status == 7 && wrong.stderr.contains("YKT-SITE-MANIFEST") && wrong.stderr.contains("manifest.sig"))
        let csv = out + "/site/policy/policy.csv"
        let handle = try #require(FileHandle(forWritingAtPath: csv))
        handle.seekToEndOfFile()
        handle.write(Data("x".utf8))
        handle.closeFile()
        let tampered = try cli.raw(["publish", "verify", out, "--public-key", cli.path("county.pub")], environment: env)
        #expect(tampered.status == 7 && tampered.stderr.contains("YKT-SITE-MANIFEST") && tampered.stderr.contains("policy/policy.csv"))
        #expect(!tampered.stdout.contains("校验通过"))
    }

    @Test("publish is the county's, for its administrator or complaints office, and needs the county's complaint phone")
    func access() throws {
        let cli = CLI()
        let node = cli.path("county")
        #expect(try cli.run("init", "--role", "county", "--county", "450223", "--name", "鹿寨县", "--node", node).status == 0)
        let noPhone = try cli.run("publish", "--node", node, "--out", cli.path("public"))
        #expect(noPhone.status == 6 && noPhone.stderr.contains("complaint_phone"))
        #expect(!FileManager.default.fileExists(atPath: cli.path("public")))
        let help = try cli.run("publish", "--help")
        #expect(help.status == 0 && help.stdout.contains("--replace"))
        let reference = try cli.run("docs", "commands").stdout
        #expect(reference.contains("## `ykt publish verify`") && reference.contains("无须登录"))
    }
}

/// SHA-256 of a file, hex, through the `sha256sum` every Debian has (the test checks the
/// program's own hashing against another tool).
enum SHA256Hex {
    static func of(_ path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }
}
