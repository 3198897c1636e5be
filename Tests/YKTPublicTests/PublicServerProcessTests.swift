import Foundation
import Testing
import YKTCore
import YKTCrypto
import YKTNet
@testable import YKTPublic

/// `ykt public serve` as the operator runs it: the built binary, a real process.
@Suite("ykt public serve (process)")
struct PublicServerProcessTests {
    /// The `ykt` built next to this test bundle.
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("ykt").path
    }()

    /// The fixture's county key as `--public-key` reads it.
    func keyFile(_ f: PublicServerFixture) throws -> String {
        let path = f.folder + "/county.pub"
        try Data(Hex.encode(try f.countyKey.publicKey.raw).utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func process(_ f: PublicServerFixture, _ extra: [String], publicKey: Bool = true) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = ["public", "serve", "--store", f.storePath, "--listen", "127.0.0.1:0", "--port-file", f.folder + "/port",
                       "--certificate", f.folder + "/pki/console.crt", "--key", f.folder + "/pki/console.key"]
            + (publicKey ? ["--public-key", try keyFile(f)] : []) + extra
        p.environment = ["PATH": "/usr/bin:/bin", "HOME": f.folder]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return (p, err)
    }

    @Test("it starts with no node and no login, writes its port, serves, and stops cleanly on SIGTERM")
    func startsAndStops() throws {
        let f = try PublicServerFixture(build: false)
        let (p, err) = try process(f, ["--spool", f.spool, "--query-rate", "5/s"])
        var port: UInt16?
        for _ in 0..<200 {
            if let text = try? String(contentsOfFile: f.folder + "/port", encoding: .utf8), let n = UInt16(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                port = n
                break
            }
            usleep(50_000)
        }
        guard let port else {
            p.terminate()
            Issue.record("no port file")
            return
        }
        let (home, _) = try TLSClient.send(HTTPRequest(method: "GET", path: "/"), port: port, context: f.tls)
        #expect(home.status == 200 && String(decoding: home.body, as: UTF8.self).contains("示范县"))
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.contains("收到停止信号") && stderr.contains("method=GET path=/ status=200"))
        // The start-up line names the key the site was checked against.
        #expect(stderr.contains("网站由县财政密钥 \(try f.countyKey.publicKey.keyID) 签名"), "\(stderr)")
        var st = stat()
        #expect(lstat(f.spool, &st) == 0 && st.st_mode & 0o777 == 0o700)
    }

    @Test("it refuses to start on a site with a link in it, or a bad rate, saying what and where")
    func refusesToStart() throws {
        let f = try PublicServerFixture(build: false)
        try FileManager.default.createSymbolicLink(atPath: f.site + "/store", withDestinationPath: f.storePath)
        let (p, err) = try process(f, [])
        p.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(p.terminationStatus != 0)
        #expect(stderr.contains("YKT-SITE-MANIFEST") && stderr.contains("符号链接") && stderr.contains("site/store"), "\(stderr)")
        try FileManager.default.removeItem(atPath: f.site + "/store")
        let (q, err2) = try process(f, ["--query-rate", "lots"])
        q.waitUntilExit()
        let stderr2 = String(decoding: err2.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(q.terminationStatus != 0 && stderr2.contains("YKT-USAGE-VALUE") && stderr2.contains("--query-rate"))
        // Without --public-key it does not start: anyone could re-sign a site.
        let (r, err3) = try process(f, [], publicKey: false)
        r.waitUntilExit()
        let stderr3 = String(decoding: err3.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(r.terminationStatus != 0 && stderr3.contains("YKT-USAGE") && stderr3.contains("--public-key"), "\(stderr3)")
        // A site re-signed with another key: refused, naming the key.
        let other = f.folder + "/other.pub"
        try Data(Hex.encode(try Ed25519.PrivateKey.generate().publicKey.raw).utf8).write(to: URL(fileURLWithPath: other))
        let (s, err4) = try process(f, ["--public-key", other], publicKey: false)
        s.waitUntilExit()
        let stderr4 = String(decoding: err4.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(s.terminationStatus != 0 && stderr4.contains("YKT-SITE-MANIFEST"), "\(stderr4)")
    }
}
