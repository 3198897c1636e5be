import Foundation
import Testing
import YKTStore

/// A register import killed at any moment (SIGKILL: power cut, OOM killer) leaves the node as
/// it was: the import runs as one transaction with a rollback journal, and the next connection
/// rolls the hot journal back. Then the same file imports whole.
@Suite("Register import under SIGKILL")
struct ImportCrashTests {
    @Test("killed at seeded moments, the import leaves nothing behind and the database intact")
    func killedImport() throws {
        let cli = CLI()
        #expect(try cli.run("demo", "generate", "--out", cli.path("data"), "--seed", "11", "--townships", "1",
                            "--villages", "20", "--people", "1500").status == 0)
        let register = cli.path("data/450223101-register.csv")
        // How long a whole import takes here (this build, this machine, this minute): the kills
        // fall inside that time, however fast the import has become.
        var timingEnv = cli.environment
        timingEnv["YKT_NODE"] = cli.path("timing")
        #expect(try run(["init", "--township", "450223101", "--name", "寨沙镇"], env: timingEnv, dir: cli.dir).status == 0)
        timingEnv["YKT_SESSION"] = CLI.sessionPath(node: cli.path("timing"), login: "tester")
        let started = Date()
        #expect(try run(["beneficiary", "import", register], env: timingEnv, dir: cli.dir).status == 0)
        let whole = Date().timeIntervalSince(started)
        var seed: UInt64 = 0x1_5EED
        var killedMidway = 0
        for trial in 0..<6 {
            let node = cli.path("node\(trial)")
            var env = cli.environment
            env["YKT_NODE"] = node
            #expect(try run(["init", "--township", "450223101", "--name", "寨沙镇"], env: env, dir: cli.dir).status == 0)
            // A delay between none and 90 % of a whole import, from a seeded generator (SplitMix64).
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            let delay = Double((z ^ (z >> 31)) % 1_000) / 1_000 * whole * 0.9
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLI.binary)
            p.arguments = ["beneficiary", "import", register]
            p.environment = env.merging(["YKT_SESSION": CLI.sessionPath(node: node, login: "tester")]) { $1 }
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            Thread.sleep(forTimeInterval: delay)
            let wasRunning = p.isRunning
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if wasRunning && p.terminationReason == .uncaughtSignal { killedMidway += 1 }

            // The next connection finds the database whole: everything or (killed) nothing.
            let db = try Database(path: node + "/township.db")
            #expect(try db.first("PRAGMA integrity_check") { $0.text(0) } == "ok")
            #expect(db.journalMode == "wal")
            let people = try db.integer("SELECT count(*) FROM beneficiary") ?? -1
            let ops = try db.integer("SELECT count(*) FROM outbox") ?? -1
            let accounts = try db.integer("SELECT count(*) FROM account") ?? -1
            #expect(people == ops && people == accounts, "trial \(trial): \(people) people, \(ops) operations")
            #expect(people == 0 || people == 30_000, "trial \(trial) after \(delay) s: \(people)")
            if people == 0 {
                #expect(try run(["beneficiary", "import", register], env: env, dir: cli.dir).status == 0)
                #expect(try db.integer("SELECT count(*) FROM beneficiary") == 30_000)
            }
            #expect(try run(["audit", "verify"], env: env, dir: cli.dir).status == 0)
        }
        #expect(killedMidway >= 3, "most trials must kill the import while it runs")
    }

    private func run(_ args: [String], env: [String: String], dir: String) throws -> CLI.Result {
        let cli = CLI()
        cli.environment = env
        return try cli.run(args)
    }
}
