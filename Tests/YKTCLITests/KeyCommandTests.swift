import Foundation
import Testing
import YKTCore
#if canImport(Glibc)
import Glibc
#endif

/// The key commands as a user runs them, against a real `ykt serve` process (issue 15, item 6).
@Suite("ykt township disable, ykt key rotate and the CRL against a running ykt serve")
struct KeyCommandTests {
    func keyID(_ cli: CLI, _ args: String...) throws -> String {
        let shown = try JSONSerialization.jsonObject(with: Data(try cli.run(["key", "show", "--json"] + args).stdout.utf8)) as? [String: Any]
        return shown?["keyID"] as? String ?? ""
    }

    func add(_ cli: CLI, _ n: Int) throws {
        #expect(try cli.run("beneficiary", "add", "--id", ResidentID.completing(String(format: "45022319500101%03d", n)), "--name", "韦秀英",
                            "--village", "大塘村", "--bank", "农行", "--account", AccountNumber.completingLuhn(String(format: "622848000000000%03d", n)),
                            "--confirmation", "QR").status == 0)
    }

    /// Whether `condition` holds within `seconds`.
    func eventually(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let until = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > until { return false }
            usleep(20_000)
        }
        return true
    }

    @Test("disable and enable take effect in the running server; both keys rotate while it runs; SIGHUP reloads the CRL")
    func keysAgainstRunningServer() throws {
        // The county's CRL, relative to its node directory (the PKI is made beside it).
        let served = try ServedCounty(config: ["tls_crl = ../pki/ca.crl"])
        defer { served.stop() }
        let (cli, county, port) = (served.cli, served.county, served.port)
        let address = "127.0.0.1:\(port)"
        try add(cli, 1)

        // Disabled by another process: the running server refuses the next sync.
        #expect(try cli.run("township", "disable", "450223101", "--reason", "证书疑似被盗", "--node", county).status == 0)
        let refused = try cli.run("sync", "--county", address)
        #expect(refused.status == 1 && refused.stderr.contains("YKT-SYNC-DISABLED"), "\(refused.stderr)")
        #expect(eventually { ((try? String(contentsOfFile: served.log, encoding: .utf8)) ?? "").contains("code=YKT-SYNC-DISABLED") })
        let list = try cli.run("township", "list", "--node", county)
        #expect(list.stdout.contains("已停用") && list.stdout.contains("证书疑似被盗"))
        #expect(try cli.run("township", "enable", "450223101", "--reason", "已核实", "--node", county).status == 0)
        #expect(try cli.run("sync", "--county", address).status == 0)

        // The township's key: the old one until the county confirms the new one.
        let old = try keyID(cli)
        let rotated = try cli.run("key", "rotate", "--json")
        #expect(rotated.status == 0)
        let new = (try JSONSerialization.jsonObject(with: Data(rotated.stdout.utf8)) as? [String: Any])?["newKeyID"] as? String ?? ""
        #expect(try keyID(cli) == old && cli.run("key", "show").stdout.contains(new))
        #expect(try cli.run("key", "rotate").stderr.contains("YKT-KEY-PENDING"))
        // The county's key, rotated by another process while the server runs.
        let countyOld = try keyID(cli, "--node", county)
        #expect(try cli.run("key", "rotate", "--node", county).status == 0)
        #expect(try keyID(cli, "--node", county) != countyOld)
        try add(cli, 2)
        let synced = try cli.run("sync", "--county", address)
        #expect(synced.status == 0, "\(synced.stderr)")
        #expect(try keyID(cli) == new)
        try add(cli, 3)
        #expect(try cli.run("sync", "--county", address).status == 0)
        #expect(try cli.run("township", "list", "--node", county).stdout.contains(new))

        // SIGHUP: the CRL read again at once, its nextUpdate in the log.
        kill(served.serve.processIdentifier, SIGHUP)
        #expect(eventually { ((try? String(contentsOfFile: served.log, encoding: .utf8)) ?? "").contains("CRL reloaded") },
                "\((try? String(contentsOfFile: served.log, encoding: .utf8)) ?? "")")
        #expect(try cli.run("sync", "--county", address).status == 0)
    }
}
