import Foundation
import Testing
import YKTStore
import YKTSync

/// Real `ykt sync` and `ykt serve` processes with `FaultProxy` between them (issue 5).
@Suite("Network faults between a township and the county")
struct NetworkFaultTests {
    @Test("drops, resets, delays, truncation and flipped bytes: no partial apply is ever visible; sync converges once the faults stop")
    func faults() throws {
        let served = try ServedCounty()
        defer { served.stop() }
        let cli = served.cli
        #expect(try cli.run("demo", "generate", "--out", cli.path("data"), "--seed", "5", "--townships", "1", "--villages", "3",
                            "--people", "40").status == 0)
        #expect(try cli.run("beneficiary", "import", cli.path("data/450223101-register.csv")).status == 0)
        let town = try Database(path: served.town + "/township.db")
        let county = try Database(path: served.county + "/county.db")
        let ids = try town.all("SELECT resident_id FROM beneficiary ORDER BY id") { $0.text(0) }
        #expect(ids.count == 120)

        // The proving ground's soak mode sets more rounds and a new seed.
        let environment = ProcessInfo.processInfo.environment
        let rounds = Int(environment["YKT_FAULT_ROUNDS"] ?? "") ?? 24
        let seed = UInt64(environment["YKT_FAULT_SEED"] ?? "") ?? 2026
        let proxy = try FaultProxy(upstream: served.port, seed: seed)
        defer { proxy.stop() }
        var failed = 0
        for round in 0..<rounds {
            for k in 0...(round % 3) {
                _ = try cli.run("beneficiary", "edit", ids[(round * 7 + k) % ids.count], "--household", "R\(round)-\(k)")
            }
            if try cli.run("sync", "--county", "127.0.0.1:\(proxy.port)").status != 0 { failed += 1 }
            // Whatever broke, the county holds whole change sets only: each stored change set has a
            // decision for every one of its operations, and no decision lacks its change set.
            var whole = true
            try county.forEach("SELECT seq, bytes FROM upstream WHERE node_id = '450223101'") { r in
                let expected = try ChangeSet.readHeader(r.blob(1)).header.ops
                let decided = try county.integer("SELECT count(*) FROM decision WHERE node_id = '450223101' AND changeset_seq = ?", r.int64(0))
                if decided != Int64(expected) { whole = false }
            }
            let orphans = try county.integer("""
                SELECT count(*) FROM decision o WHERE NOT EXISTS
                    (SELECT 1 FROM upstream u WHERE u.node_id = o.node_id AND u.seq = o.changeset_seq)
                """)
            #expect(whole && orphans == 0, "round \(round): a partial change set is visible at the county")
        }
        let broken = proxy.injected.filter { $0.key != .none }.values.reduce(0, +)
        // At least one connection a round, two faults in each five connections.
        #expect(broken >= 2 * (rounds / 5) && failed > 0, "faults injected: \(proxy.injected)")
        let kinds = FaultProxy.Fault.allCases.filter { $0 != .none }.map { "\($0.rawValue) \(proxy.injected[$0] ?? 0)" }
        print("network faults (seed \(seed), \(rounds) rounds): \(broken) injected (\(kinds.joined(separator: ", "))); \(failed) syncs failed; converged")

        // Faults stop: one sync delivers everything, exactly once.
        proxy.faulty = false
        let last = try cli.run("sync", "--county", "127.0.0.1:\(proxy.port)")
        #expect(last.status == 0, "\(last.stderr)")
        let township = try town.first("SELECT count(*), sum(seq) FROM outbox") { [$0.int64(0), $0.int64(1)] }
        let atCounty = try county.first("SELECT count(*), sum(op_seq) FROM decision WHERE node_id = '450223101'") { [$0.int64(0), $0.int64(1)] }
        #expect(township == atCounty)
        #expect(try town.integer("SELECT count(*) FROM changeset_out WHERE state != 'acknowledged'") == 0)
        #expect(try cli.run("audit", "verify").status == 0)
        #expect(try cli.run("audit", "verify", "--node", served.county).status == 0)
    }
}
