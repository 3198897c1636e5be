import Foundation
import Testing
import YKTCore
import YKTCrypto
import YKTStore
import YKTTestSupport

/// Someone who can write the database edits audit entry `seq` and recomputes the chain after it
/// and the head in `meta` (docs/conventions.md (h)), so that `ykt audit verify` passes again.
/// Signed decisions cannot be recomputed without their signers' passwords (docs/operators.md), so
/// the insider starts after the last of them: what only the anchors can find.
private func rewriteChain(_ path: String, seq earliest: Int64) throws {
    let db = try Database(path: path)
    try db.transaction {
        let seq = max(earliest, (try db.integer("SELECT coalesce(max(seq), 0) FROM audit WHERE signature IS NOT NULL") ?? 0) + 1)
        try db.run("UPDATE audit SET detail = '改写过的记录' WHERE seq = ?", seq)
        try Insider.rechain(db, from: seq)
        // The anchors the county's receipts reported go too: whoever writes the file can.
        if try db.integer("SELECT count(*) FROM sqlite_master WHERE name = 'own_anchor'") == 1 { try db.run("DELETE FROM own_anchor") }
    }
}

@Suite("ykt audit anchors --export and ykt audit verify --anchors, as real processes over a real sync")
struct AuditAnchorCLITests {
    @Test("a rewritten chain that plain audit verify passes is found with the other node's exported anchors, both ways (YKT-AUDIT-ANCHOR, exit 7); the county finds its own at the next sync")
    func exportAndVerify() throws {
        let served = try ServedCounty()
        let (cli, county, port) = (served.cli, served.county, served.port)
        defer { served.stop() }
        for (n, body) in ["45022319500101123", "45022319620315456"].enumerated() {
            #expect(try cli.run("beneficiary", "add", "--id", ResidentID.completing(body), "--name", "韦秀英", "--village", "大塘村",
                                "--bank", "农行", "--account", AccountNumber.completingLuhn("62284800000000000\(n)"),
                                "--confirmation", "QR").status == 0)
            let sync = try cli.run("sync", "--county", "127.0.0.1:\(port)")
            #expect(sync.status == 0, "\(sync.stderr)")
        }

        // The county's anchors of the township's chain, exported; the untouched township holds them all.
        let countyFile = cli.path("county-anchors.json")
        let exported = try cli.run("audit", "anchors", "--export", countyFile, "--township", "450223101", "--node", county)
        #expect(exported.status == 0 && exported.stdout.contains("已导出 2 个锚点"), "\(exported.stdout)\(exported.stderr)")
        let listed = try cli.run("audit", "anchors", "--json", "--node", county)
        #expect(listed.status == 0 && listed.stdout.contains("450223101"))
        let good = try cli.run("audit", "verify", "--anchors", countyFile)
        #expect(good.status == 0 && good.stdout.contains("与对方持有的锚点一致：核对 2 个"), "\(good.stdout)\(good.stderr)")

        // The township's chain rewritten from entry 2 on: plain verify passes, the county's anchors do not.
        try rewriteChain(cli.path("node/township.db"), seq: 2)
        let plain = try cli.run("audit", "verify")
        #expect(plain.status == 0, "\(plain.stderr)")
        let found = try cli.run("audit", "verify", "--anchors", countyFile)
        #expect(found.status == 7, "\(found.stdout)\(found.stderr)")
        #expect(found.stderr.contains("YKT-AUDIT-ANCHOR") && found.stderr.contains("2 个锚点不符"))
        let anchors = try JSONValue.parse(Array(try String(contentsOfFile: countyFile, encoding: .utf8).utf8))
        guard case .array(let chains)? = anchors["export"]?["chains"], case .array(let list)? = chains.first?["anchors"] else {
            Issue.record("no anchors in \(countyFile)"); return
        }
        for a in list {   // each anchor named: its entry, the hash the county holds
            #expect(found.stderr.contains("第 \(a["seq"]?.intValue ?? -1) 条：对方持有的哈希为 \(a["hash"]?.stringValue ?? "?")"))
        }

        // The other way: the township's anchors of the county's chain.
        let townFile = cli.path("township-anchors.json")
        let townExport = try cli.run("audit", "anchors", "--export", townFile)
        #expect(townExport.status == 0 && townExport.stdout.contains("450223：2 个"), "\(townExport.stdout)\(townExport.stderr)")
        #expect(try cli.run("audit", "anchors", "--export", townFile, "--township", "450223101").stderr.contains("YKT-USAGE"))
        #expect(try cli.run("audit", "verify", "--anchors", townFile, "--node", county).status == 0)
        // The county's chain rewritten while it serves: the township's next sync names the anchor
        // it holds, and the county, finding its own chain does not have it, answers YKT-AUDIT-ANCHOR.
        try rewriteChain(county + "/county.db", seq: 2)
        let sync = try cli.run("sync", "--county", "127.0.0.1:\(port)")
        #expect(sync.status == 7 && sync.stderr.contains("YKT-AUDIT-ANCHOR"), "\(sync.stdout)\(sync.stderr)")
        served.stop()
        served.serve.waitUntilExit()
        #expect(try cli.run("audit", "verify", "--node", county).status == 0)
        let countyFound = try cli.run("audit", "verify", "--anchors", townFile, "--node", county)
        #expect(countyFound.status == 7 && countyFound.stderr.contains("YKT-AUDIT-ANCHOR"), "\(countyFound.stdout)\(countyFound.stderr)")
        // A file the county did not get from one of its townships (its own export) is refused.
        let ownFile = try cli.run("audit", "verify", "--anchors", countyFile, "--node", county)
        #expect(ownFile.status != 0 && ownFile.stderr.contains("YKT-ANCHOR-FILE"), "\(ownFile.stderr)")
    }
}
