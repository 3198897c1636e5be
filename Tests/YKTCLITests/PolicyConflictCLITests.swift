import Foundation
import Testing
import YKTCore
import YKTCounty
import YKTTownship
@testable import YKTCLI

/// Issue 16, items 1–3: one policy list from the county, conflicts an administrator can work
/// through, and an inbox and outbox a clerk can read; run through the built `ykt` (the sync
/// itself in-process, as `CLI.receiveCountyCalendar` does: `ykt sync` needs TLS).
@Suite("policy list, conflicts at scale, inbox and outbox")
struct PolicyConflictCLITests {
    /// Pushes the township's outbox to the county in change sets of at most `maxOperations`.
    @discardableResult
    func push(_ cli: CLI, node: String = "node", maxOperations: Int = TownshipNode.changeSetOperations) throws -> TownshipNode.PushReport {
        let county = try CountyNode.open(directory: cli.path("county"))
        let township = try TownshipNode.open(directory: cli.path(node))
        return try township.push(maxOperations: maxOperations) { bytes, signature in
            let a = county.receive(peer: township.config.nodeID, bytes: bytes, signature: signature)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }

    /// Pulls the county's stream into the township.
    @discardableResult
    func pull(_ cli: CLI, node: String = "node") throws -> Int {
        let county = try CountyNode.open(directory: cli.path("county"))
        let township = try TownshipNode.open(directory: cli.path(node))
        return try township.pull { after in
            let a = county.stream(peer: township.config.nodeID, after: after)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }

    func json(_ r: CLI.Result) throws -> Any { try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) }

    @Test("7 programs loaded at the township, 2 published by the county: one conflict per change set, a few lines from sync, the county's list replaces the township's")
    func sixVersusTwo() throws {
        let cli = CLI()
        try cli.demoTownship(seed: 16, villages: 4, people: 150)
        // The trap: before any county is configured the township loads the demo's whole list (7).
        let loaded = try cli.run("program", "load", cli.path("data/programs.csv"))
        #expect(loaded.status == 0 && loaded.stdout.contains("7 个"))
        #expect(try cli.run("beneficiary", "import", cli.path("data/450223101-register.csv")).status == 0)
        #expect(try cli.run("application", "import", cli.path("data/450223101-applications.csv")).status == 0)
        let outbox = try cli.run("outbox", "list", "--summary", "--json")
        let rows = try json(outbox) as? [[String: Any]] ?? []
        let applications = rows.filter { $0["kind"] as? String == "application.record" }.reduce(0) { $0 + ($1["count"] as? Int ?? 0) }
        // The county publishes only GD01 and TF01; the township takes its calendar and list.
        let six = try String(contentsOfFile: cli.path("data/programs.csv"), encoding: .utf8)
        let two = six.split(whereSeparator: \.isNewline).filter { $0.contains("项目编码") || $0.hasPrefix("GD01") || $0.hasPrefix("TF01") }
            .joined(separator: "\n") + "\n"
        try two.write(toFile: cli.path("two.csv"), atomically: true, encoding: .utf8)
        try cli.receiveCountyCalendar(programs: cli.path("two.csv"))

        // The county's list replaced the township's own: the other five are withdrawn.
        let list = try cli.run("program", "list")
        #expect(list.stdout.contains("县财政清单第 1 版") && list.stdout.components(separatedBy: "已停用").count - 1 == 5)
        let usable = try TownshipNode.open(directory: cli.path("node")).programs().map(\.code)
        #expect(usable == ["GD01", "TF01"])
        // A township with a county configured cannot load a list of its own.
        let refused = try cli.run("program", "load", cli.path("data/programs.csv"))
        #expect(refused.status != 0 && refused.stderr.contains("YKT-PROGRAM-COUNTY") && refused.stderr.contains("ykt sync"))
        // The county lists its own programs, with the list's version.
        let county = try cli.run("program", "list", "--node", cli.path("county"))
        #expect(county.status == 0 && county.stdout.contains("第 1 版") && county.stdout.contains("GD01") && !county.stdout.contains("YL01"))

        // Push in change sets of 64 operations: many sets, each with applications for the five
        // programs the county lacks.
        let report = try push(cli, maxOperations: 64)
        let refusedOps = report.conflicted
        #expect(report.changeSets > 4 && refusedOps > 50 && applications > refusedOps)
        let conflicts = try CountyNode.open(directory: cli.path("county")).conflicts()
        // One conflict per change set that had such applications, never one per operation.
        #expect(conflicts.allSatisfy { $0.kind == "program.list" })
        #expect(conflicts.count <= report.changeSets && conflicts.count < refusedOps / 4)
        #expect(conflicts.first?.detail.contains("重新录入") == true)
        // `ykt sync` prints one line per program (status, rule and reason), not one per operation.
        let lines = SyncCommands.problemLines(report)
        #expect(lines.count == 5 && lines.allSatisfy { $0.contains("县里冲突编号") })
        // The administrator sees them grouped: one summary row.
        let summary = try cli.run("conflicts", "list", "--summary", "--node", cli.path("county"))
        #expect(summary.stdout.contains("program.list") && summary.stdout.contains("合计 \(conflicts.count) 条"))

        // Conflicts at a township: refused with a pointer to the inbox.
        let atTownship = try cli.run("conflicts", "list")
        #expect(atTownship.status != 0 && atTownship.stderr.contains("YKT-CONFLICT-TOWNSHIP") && atTownship.stderr.contains("inbox list"))

        // A decision not valid for the kind is refused, naming the valid ones.
        let foo = try cli.run("conflicts", "resolve", "1", "--decision", "foo", "--reason", "试", "--node", cli.path("county"))
        #expect(foo.status != 0 && foo.stderr.contains("YKT-CONFLICT-DECISION") && foo.stderr.contains("void"))
        let show = try cli.run("conflicts", "show", "1", "--node", cli.path("county"))
        #expect(show.stdout.contains("可用的决定") && show.stdout.contains("void："))
        // The whole set at once, one reason; audit verify still passes.
        let bulk = try cli.run("conflicts", "resolve", "all", "--kind", "program.list", "--township", "450223101",
                               "--decision", "void", "--reason", "乡镇误用本地清单，按县里清单重录", "--node", cli.path("county"))
        #expect(bulk.status == 0 && bulk.stdout.contains("已处理冲突 \(conflicts.count) 条"))
        #expect(try cli.run("conflicts", "list", "--status", "open", "--json", "--node", cli.path("county")).stdout.contains("[]") ||
                (try json(try cli.run("conflicts", "list", "--status", "open", "--json", "--node", cli.path("county"))) as? [Any])?.isEmpty == true)
        let verify = try cli.run("audit", "verify", "--node", cli.path("county"))
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")

        // The township reads the decisions in Chinese, with what to do; --json has the full message.
        #expect(try pull(cli) == conflicts.count)
        let inbox = try cli.run("inbox", "list")
        #expect(inbox.stdout.contains("冲突处理决定") && inbox.stdout.contains("补贴政策清单") && inbox.stdout.contains("重新录入"))
        #expect(!inbox.stdout.contains("{\""))
        let inboxJSON = try json(try cli.run("inbox", "list", "--json")) as? [[String: Any]] ?? []
        #expect(inboxJSON.contains { ($0["body"] as? String)?.contains("\"kind\":\"conflict.decision\"") == true && $0["action"] != nil })
        // The outbox speaks Chinese too, and lists each refused operation on request.
        let out = try cli.run("outbox", "list", "--summary")
        // Decided at the county: no longer waiting for it, here or in ykt status.
        #expect(out.stdout.contains("录入申请") && out.stdout.contains("冲突县里已裁决") && out.stdout.contains("县里已采纳"))
        #expect(!out.stdout.contains("冲突待县里处理"))
        let status = try json(try cli.run("status", "--json")) as? [String: Any]
        #expect(status?["operationsConflicted"] as? Int == 0)
        #expect(!(try cli.run("status").stdout.contains("由县财政处理")))
        // The voided applications are withdrawn here too: none of them is left to notice or pay.
        #expect(inbox.stdout.contains("已随之作废"))
        let apps = try json(try cli.run("application", "list", "--json")) as? [[String: Any]] ?? []
        let local = apps.filter { !["GD01", "TF01"].contains($0["programCode"] as? String ?? "") }
        #expect(!local.isEmpty && local.allSatisfy { $0["status"] as? String == "removed" }, "\(local.prefix(2))")
        #expect(apps.contains { $0["status"] as? String != "removed" })
        #expect(!out.stdout.contains("conflicted"))
        let problems = try cli.run("outbox", "list", "--problems", "--limit", "3")
        #expect(problems.stdout.contains("program.unknown") && problems.stdout.contains("县里的补贴政策清单没有项目"))
        let outJSON = try json(try cli.run("outbox", "list", "--json", "--limit", "2")) as? [[String: Any]] ?? []
        #expect(outJSON.count == 2 && outJSON.allSatisfy { $0["body"] != nil && $0["state"] != nil })
    }

    @Test("the same people at two townships: filters, paging, bulk keep, and the other township removes them through sync")
    func twoTownshipsRemove() throws {
        let cli = CLI()
        #expect(try cli.run("demo", "generate", "--out", cli.path("data"), "--seed", "7", "--townships", "1",
                            "--villages", "2", "--people", "20").status == 0)
        for (code, dir) in [("450223101", "node"), ("450223102", "t2")] {
            #expect(try cli.run("init", "--township", code, "--name", code, "--node", cli.path(dir)).status == 0)
            try cli.receiveCountyCalendar(node: dir, programs: dir == "node" ? cli.path("data/programs.csv") : nil)
            if dir == "t2" { try pull(cli, node: "t2") }
            #expect(try cli.run("beneficiary", "import", cli.path("data/450223101-register.csv"), "--node", cli.path(dir)).status == 0)
        }
        let people = try TownshipNode.open(directory: cli.path("t2")).beneficiaries()
        #expect(people.count == 40)
        #expect(try push(cli).accepted == 40)
        let second = try push(cli, node: "t2")
        #expect(second.conflicted == 40)
        let countyDir = cli.path("county")
        // Filters and paging.
        let all = try json(try cli.run("conflicts", "list", "--json", "--node", countyDir)) as? [[String: Any]] ?? []
        #expect(all.count == 40)
        let page = try json(try cli.run("conflicts", "list", "--kind", "resident.two-townships", "--limit", "15", "--page", "3", "--json",
                                         "--node", countyDir)) as? [[String: Any]] ?? []
        #expect(page.count == 10 && page.first?["id"] as? Int == 31)
        let text = try cli.run("conflicts", "list", "--limit", "5", "--node", countyDir)
        #expect(text.stdout.contains("共 40 条") && text.stdout.contains("--offset 5"))
        let today = CivilDate.inChina().description
        #expect((try json(try cli.run("conflicts", "list", "--from", today, "--to", today, "--township", "450223102", "--json",
                                      "--node", countyDir)) as? [Any])?.count == 40)
        #expect((try json(try cli.run("conflicts", "list", "--to", "2020-01-01", "--json", "--node", countyDir)) as? [Any])?.isEmpty == true)
        // In words, not a bare table header.
        let none = try cli.run("conflicts", "list", "--to", "2020-01-01", "--node", countyDir)
        #expect(none.status == 0 && none.stdout.contains("没有符合条件的冲突") && !none.stdout.contains("编号"), "\(none.stdout)")
        #expect((try json(try cli.run("conflicts", "list", "--kind", "program.list", "--json", "--node", countyDir)) as? [Any])?.isEmpty == true)
        let summary = try json(try cli.run("conflicts", "list", "--summary", "--json", "--node", countyDir)) as? [[String: Any]] ?? []
        #expect(summary.count == 1 && summary.first?["count"] as? Int == 40 && summary.first?["township"] as? String == "450223102")
        // A decision for a township not involved is refused; keep-450223101 for the first one, then the rest at once.
        let wrong = try cli.run("conflicts", "resolve", "1", "--decision", "keep-450223109", "--reason", "试", "--node", countyDir)
        #expect(wrong.status != 0 && wrong.stderr.contains("keep-450223101") && wrong.stderr.contains("keep-450223102"))
        #expect(try cli.run("conflicts", "resolve", "1", "--decision", "keep-450223101", "--reason", "户籍在寨沙镇", "--node", countyDir).status == 0)
        let again = try cli.run("conflicts", "resolve", "1", "--decision", "keep-450223101", "--reason", "再次", "--node", countyDir)
        #expect(again.status != 0 && again.stderr.contains("YKT-CONFLICT-STATE") && again.stderr.contains("ykt conflicts show 1"), "\(again.stderr)")
        let bulk = try cli.run("conflicts", "resolve", "all", "--kind", "resident.two-townships", "--decision", "keep-450223101",
                               "--reason", "户籍均在寨沙镇", "--node", countyDir)
        #expect(bulk.stdout.contains("已处理冲突 39 条"))
        #expect(try cli.run("audit", "verify", "--node", countyDir).status == 0)

        // At the other township: one readable item per decision saying what to do.
        #expect(try pull(cli, node: "t2") == 40)
        let inbox = try cli.run("inbox", "list", "--waiting", "--node", cli.path("t2"))
        #expect(inbox.stdout.contains("本乡镇须从底册移除此人") && inbox.stdout.contains("ykt beneficiary remove"))
        let person = people[0]
        func decisionsWaiting() throws -> Int? {
            let status = try json(try cli.run("status", "--json", "--node", cli.path("t2"))) as? [String: Any]
            return (status?["decisionsToAct"] as? [Any])?.count
        }
        let waitingBefore = try #require(try decisionsWaiting())
        #expect(waitingBefore >= 1)
        let removed = try cli.run("beneficiary", "remove", "--id", person.residentID, "--reason", "县财政冲突决定由 450223101 登记",
                                  "--node", cli.path("t2"))
        #expect(removed.status == 0 && removed.stdout.contains("已从底册移除"))
        // ykt status no longer asks for what was done.
        #expect(try decisionsWaiting() == waitingBefore - 1)
        #expect(try cli.run("beneficiary", "remove", "--id", person.residentID, "--reason", "再次", "--node", cli.path("t2")).status != 0)
        #expect(try cli.run("beneficiary", "remove", "--id", people[1].residentID, "--node", cli.path("t2")).status != 0)   // no reason
        #expect(try TownshipNode.open(directory: cli.path("t2")).beneficiaries().count == 39)
        let after = try cli.run("inbox", "list", "--node", cli.path("t2"))
        #expect(after.stdout.contains("本乡镇已移除此人"))
        // Synced: the county applies it (the person stays 450223101's) and records it accepted.
        let r = try push(cli, node: "t2")
        #expect(r.operations == 1 && r.accepted == 1)
        let county = try CountyNode.open(directory: countyDir)
        #expect(try county.db.integer("SELECT count(*) FROM decision WHERE kind = 'beneficiary.remove' AND status = 'accepted'") == 1)
        #expect(try county.db.first("SELECT node_id FROM resident WHERE resident_id = ?", person.residentID) { $0.text(0) } == "450223101")
        let audit = try cli.run("audit", "list", "--node", cli.path("t2"))
        #expect(audit.stdout.contains("beneficiary.remove"))

        // The rest by the decisions themselves: one by its conflict number, then all; no ID typed.
        let waiting = try #require(try decisionsWaiting())
        let statusJSON = try cli.run("status", "--json", "--node", cli.path("t2")).stdout
        #expect(!people.contains { statusJSON.contains($0.residentID) }, "status --json shows masked IDs only")
        let toAct = (try json(try cli.run("status", "--json", "--node", cli.path("t2"))) as? [String: Any])?["decisionsToAct"] as? [[String: Any]]
        let one = try #require(toAct?.first?["conflict"] as? Int)
        let byConflict = try cli.run("beneficiary", "remove", "--conflict", String(one), "--node", cli.path("t2"))
        #expect(byConflict.status == 0 && byConflict.stdout.contains("冲突 \(one)：已从底册移除"), "\(byConflict.stderr)")
        let twice = try cli.run("beneficiary", "remove", "--conflict", String(one), "--node", cli.path("t2"))
        #expect(twice.status != 0 && twice.stderr.contains("YKT-CONFLICT-STATE"))
        let rest = try cli.run("beneficiary", "remove", "--conflict", "all", "--node", cli.path("t2"))
        #expect(rest.status == 0 && rest.stdout.contains("共移除 \(waiting - 1) 人"), "\(rest.stdout)\(rest.stderr)")
        #expect(try decisionsWaiting() == 0)
        #expect(try cli.run("beneficiary", "remove", "--conflict", "all", "--node", cli.path("t2")).stdout.contains("没有待办"))
        // A removed person can still be looked at, read only.
        let shown = try cli.run("beneficiary", "show", person.residentID, "--node", cli.path("t2"))
        #expect(shown.status == 0 && shown.stdout.contains("从底册移除") && shown.stdout.contains("只可查看"))
        #expect(try cli.run("beneficiary", "edit", person.residentID, "--phone", "0772-6812345", "--node", cli.path("t2")).status != 0)
    }

    @Test("the registering township removes a person: the county marks them removed and refuses later changes")
    func ownerRemoves() throws {
        let cli = CLI()
        try cli.demoTownship(seed: 9, villages: 1, people: 5)
        try cli.receiveCountyCalendar(programs: cli.path("data/programs.csv"))
        #expect(try cli.run("beneficiary", "import", cli.path("data/450223101-register.csv")).status == 0)
        try push(cli)
        let person = try TownshipNode.open(directory: cli.path("node")).beneficiaries()[0]
        #expect(try cli.run("beneficiary", "remove", "--id", person.residentID, "--reason", "迁出本县").status == 0)
        #expect(try cli.run("beneficiary", "edit", person.residentID, "--phone", "").status != 0)
        #expect(try push(cli).accepted == 1)
        let county = try CountyNode.open(directory: cli.path("county"))
        #expect(try county.db.first("SELECT removed_reason FROM resident WHERE resident_id = ?", person.residentID) { $0.text(0) } == "迁出本县")
    }
}

extension PolicyConflictCLITests {
    @Test("a bulk resolve of 1,100 conflicts: signed in entries of 500, audit verify passes; a conflict marked resolved behind its back does not")
    func bulkResolveVerifies() throws {
        let cli = CLI()
        #expect(try cli.run("demo", "generate", "--out", cli.path("data"), "--seed", "11", "--townships", "1",
                            "--villages", "2", "--people", "550").status == 0)
        for (code, dir) in [("450223101", "node"), ("450223102", "t2")] {
            #expect(try cli.run("init", "--township", code, "--name", code, "--node", cli.path(dir)).status == 0)
            try cli.receiveCountyCalendar(node: dir)
            #expect(try cli.run("beneficiary", "import", cli.path("data/450223101-register.csv"), "--node", cli.path(dir)).status == 0)
        }
        try push(cli)
        #expect(try push(cli, node: "t2").conflicted == 1_100)
        let countyDir = cli.path("county")
        let unnamed = try cli.run("conflicts", "resolve", "all", "--decision", "keep-450223101", "--reason", "试", "--node", countyDir)
        #expect(unnamed.status != 0 && unnamed.stderr.contains("--kind"))
        let bulk = try cli.run("conflicts", "resolve", "all", "--township", "450223102", "--decision", "keep-450223101",
                               "--reason", "户籍均在寨沙镇", "--node", countyDir)
        #expect(bulk.status == 0 && bulk.stdout.contains("已处理冲突 1100 条"), "\(bulk.stderr)")
        let county = try CountyNode.open(directory: countyDir)
        #expect(try county.db.integer("SELECT count(*) FROM audit WHERE action = 'conflict.resolve' AND signature IS NOT NULL") == 3)
        let verify = try cli.run("audit", "verify", "--node", countyDir)
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        // A conflict written as resolved straight into the database rests on no signed decision.
        try county.db.run("""
            INSERT INTO conflict(kind, entity, node_id, op_seq, detail, status, decision, reason, created_at)
            VALUES ('resident.two-townships', 'beneficiary/x', '450223102', 1, 'x', 'resolved', 'keep-450223101', 'x', '2026-12-03')
            """)
        let forged = try cli.run("audit", "verify", "--node", countyDir)
        #expect(forged.status != 0 && (forged.stdout + forged.stderr).contains("冲突 1101 的处理"), "\(forged.stdout)\(forged.stderr)")
    }
}

extension PolicyConflictCLITests {
    @Test("ykt sync against a real ykt serve: a township's own 7-program list against the county's 2 prints a few lines, not one per operation")
    func syncPrintsFewLines() throws {
        let served = try ServedCounty()
        defer { served.stop() }
        let cli = served.cli
        #expect(try cli.run("demo", "generate", "--out", cli.path("data"), "--seed", "16", "--townships", "1",
                            "--villages", "4", "--people", "150").status == 0)
        // As in the issue: the list loaded at the township before its county was configured.
        let conf = served.town + "/node.conf"
        let configured = try String(contentsOfFile: conf, encoding: .utf8)
        try configured.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("county_public_key") }
            .joined(separator: "\n").write(toFile: conf, atomically: true, encoding: .utf8)
        #expect(try cli.run("program", "load", cli.path("data/programs.csv")).status == 0)
        try configured.write(toFile: conf, atomically: true, encoding: .utf8)
        #expect(try cli.run("beneficiary", "import", cli.path("data/450223101-register.csv")).status == 0)
        #expect(try cli.run("application", "import", cli.path("data/450223101-applications.csv")).status == 0)
        let six = try String(contentsOfFile: cli.path("data/programs.csv"), encoding: .utf8)
        let two = six.split(whereSeparator: \.isNewline).filter { $0.contains("项目编码") || $0.hasPrefix("GD01") || $0.hasPrefix("TF01") }
            .joined(separator: "\n") + "\n"
        try two.write(toFile: cli.path("two.csv"), atomically: true, encoding: .utf8)
        #expect(try cli.run("policy", "publish", cli.path("two.csv"), "--node", served.county).status == 0)

        let sync = try cli.run("sync", "--county", "127.0.0.1:\(served.port)")
        #expect(sync.status == 0, "\(sync.stderr)")
        let lines = sync.stdout.split(separator: "\n")
        // One summary line and one per program the county lacks (5), though hundreds were refused.
        #expect(lines.count == 6 && lines.dropFirst().allSatisfy { $0.contains("[program.unknown]") }, "\(sync.stdout)")
        let summary = try cli.run("conflicts", "list", "--summary", "--json", "--node", served.county)
        let rows = try JSONSerialization.jsonObject(with: Data(summary.stdout.utf8)) as? [[String: Any]] ?? []
        // The first change sets are small and double: a handful of conflicts in all.
        #expect(rows.count == 1 && (rows.first?["count"] as? Int ?? 0) <= 4 && rows.first?["kind"] as? String == "program.list")
        let refused = try #require(lines.first?.split(separator: "，").first { $0.hasPrefix("冲突 ") })
        #expect((Int(refused.dropFirst(3).prefix { $0.isNumber }) ?? 0) > 100, "\(sync.stdout)")
        // The county's list arrived in the same round and replaced the township's own.
        #expect(try cli.run("program", "list").stdout.components(separatedBy: "已停用").count - 1 == 5)
    }
}
