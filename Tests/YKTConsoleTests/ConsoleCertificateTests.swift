import Foundation
import Testing
import YKTConsole
import YKTNet
import YKTNode

/// The county's console in a browser: browsers accept no Ed25519 certificate (the nodes' own
/// key type), so node.conf may give the console one of its own (`console_tls_certificate`,
/// `console_tls_key`: ECDSA P-256 from `certs/make-dev-pki.sh console`).
@Suite struct ConsoleCertificateTests {
    @Test func theCountyConsolePresentsItsOwnCertificateWhenNodeConfNamesOne() throws {
        let f = try ConsoleFixture()
        try f.county.actAs("zhou", .approver)
        let pki = f.dir.file("pki")
        try ConsoleFixture.script(["console", pki])
        let conf = (f.county.directory as NSString).appendingPathComponent(NodeConfig.fileName)
        let text = try String(contentsOfFile: conf, encoding: .utf8)
        try (text + "console_tls_certificate = \(pki)/console.crt\nconsole_tls_key = \(pki)/console.key\n")
            .write(toFile: conf, atomically: true, encoding: .utf8)
        let server = try ConsoleServer(directory: f.county.directory, host: "127.0.0.1", port: 0, clock: f.clock)
        server.start()
        defer { server.stop() }
        func client(trusting ca: String) throws -> ConsoleBrowser {
            let tls = try TLSContext(role: .client, files: .init(certificate: "\(pki)/450223101.crt", privateKey: "\(pki)/450223101.key",
                                                                 caCertificate: ca))
            return ConsoleBrowser(port: server.port, tls: tls)
        }
        // A browser trusting the console's CA gets the login page over TLS 1.3 …
        let page = try client(trusting: "\(pki)/console-ca.crt").get("/login")
        #expect(page.status == 200)
        #expect(page.body.contains("登录一卡通工作台"))
        // … and the node's own Ed25519 certificate is no longer what the console presents.
        #expect(throws: (any Error).self) { try client(trusting: "\(pki)/ca.crt").get("/login") }
    }

    @Test func withoutAConsoleCertificateTheCountysServerCertificateIsUsed() throws {
        let f = try ConsoleFixture()
        let pki = f.dir.file("pki")
        let server = try ConsoleServer(directory: f.county.directory, host: "127.0.0.1", port: 0, clock: f.clock)
        server.start()
        defer { server.stop() }
        let tls = try TLSContext(role: .client, files: .init(certificate: "\(pki)/450223101.crt", privateKey: "\(pki)/450223101.key",
                                                             caCertificate: "\(pki)/ca.crt"))
        #expect(try ConsoleBrowser(port: server.port, tls: tls).get("/login").status == 200)
    }
}
