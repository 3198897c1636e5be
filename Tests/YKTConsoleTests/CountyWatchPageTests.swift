import Foundation
import Testing
import YKTConsole
import YKTCore
import YKTCounty
import YKTCrypto
import YKTNode
import YKTStore
import YKTTestSupport
import YKTTownship

/// The county's supervision and reporting pages (issue 17, item 3): warnings, conflicts,
/// complaints, the counter clerk's query, the monthly report, townships and the audit trail,
/// each driven through a real console and checked against the node's state afterwards.
@Suite struct CountyWatchPageTests {
    static let alice = ResidentID.completing("45022319500101123")
    static let bob = ResidentID.completing("45022319620315456")
    static let carol = ResidentID.completing("45022319800707078")

    static func card(_ n: Int) throws -> AccountNumber {
        try AccountNumber(AccountNumber.completingLuhn("62284800000000\(String(format: "%04d", n))"), kind: .card)
    }

    static func register(_ t: TownshipNode, _ id: String, _ name: String, card n: Int, shared: String? = nil) throws {
        _ = try t.register(BeneficiaryInput(residentID: try ResidentID(id), name: name, village: "大塘村",
                                            account: AccountInput(bank: "农行", number: try card(n), confirmation: "QR", sharedReason: shared)))
    }

    /// The township pushes its outbox to the county in-process (what `ykt sync` does over TLS).
    static func push(_ f: ConsoleFixture, _ t: TownshipNode) throws {
        _ = try t.push { bytes, signature in
            let a = f.county.receive(peer: t.config.nodeID, bytes: bytes, signature: signature)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }

    /// Another township enrolled at the fixture's county, its policy list pulled.
    static func township(_ f: ConsoleFixture, _ code: String) throws -> TownshipNode {
        var config = NodeConfig(role: .township, nodeID: code, name: "乡镇\(code.suffix(3))", countyCode: "450223", defaultOperator: "测试员")
        config.extra["county_public_key"] = Hex.encode(try f.county.publicKey().raw)
        let t = try TownshipNode.create(directory: f.dir.file(code), config: config)
        try t.actAs("weixy", .clerk)
        try f.county.actAs(TestOperators.administrator)
        try f.county.enrol(township: code, name: config.name, publicKeyHex: Hex.encode(try t.publicKey().raw))
        _ = try t.pull { after in
            let a = f.county.stream(peer: code, after: after)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
        t.now = f.clock
        return t
    }

    /// Waits for a console job to finish (it runs on its own thread), at most 30 s.
    static func wait(_ f: ConsoleFixture, _ key: String) throws -> ConsoleJob {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let job = f.servers.last?.job(key), job.isFinished { return job }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw YKTError(.internalError, "job \(key) did not finish")
    }

    @Test func warningsAreRunListedMaskedAndClosedWithThePassword() throws {
        let f = try ConsoleFixture()
        try f.township.actAs("weixy", .clerk)
        // One account named for two people (a guardian's card, with the reason): 一卡多人.
        try Self.register(f.township, Self.alice, "韦秀英", card: 1)
        try Self.register(f.township, Self.bob, "覃建国", card: 1, shared: "监护人代领")
        try Self.push(f, f.township)
        try f.county.actAs("lihua", .reviewer())
        try f.county.actAs("chen", .complaints)

        let b = try f.browser(f.county)
        try b.login("lihua", password: TestOperators.password)
        #expect(try b.get("/warnings").body.contains("还没有预警"))
        // The rules run as a job; the page shows its outcome.
        let started = try b.post("/warnings/run", [], follow: false)
        #expect(started.status == 303 && started.location == "/warnings/run")
        let job = try Self.wait(f, "warnings-run")
        #expect(job.error == nil)
        #expect(job.progress.contains { $0.contains("一卡多人：1 条") })
        #expect(try b.get("/warnings/run").body.contains("预警规则已运行完毕"))
        let w = try #require(try f.county.warnings(status: "open", rule: .sharedAccount).first)

        let list = try b.get("/warnings?status=open&rule=one-account-several-people")
        #expect(list.status == 200)
        #expect(list.body.contains("href=\"/warnings/\(w.id)\""))
        #expect(list.body.contains(Masking.residentID(Self.alice)))
        #expect(!list.body.contains(Self.alice) && !list.body.contains(Self.bob))
        #expect(!list.body.contains(try Self.card(1).value))
        let shown = try b.get("/warnings/\(w.id)")
        #expect(shown.body.contains("id=\"warning-close\"") && shown.body.contains("name=\"password\""))
        #expect(shown.body.contains(Masking.account(try Self.card(1).value)))
        #expect(!shown.body.contains(try Self.card(1).value) && !shown.body.contains(Self.alice))

        // Without the password: refused, nothing changed.
        let unsigned = try b.post("/warnings/\(w.id)/close", [("outcome", "dismiss"), ("reason", "经核实为监护人代领")])
        #expect(unsigned.status == 403)
        #expect(unsigned.body.contains(ErrorCode.authSign.rawValue))
        #expect(try f.county.warning(w.id).status == "open")
        // With it: dismissed, signed by the reviewer.
        try b.get("/warnings/\(w.id)")
        let closed = try b.post("/warnings/\(w.id)/close", [("outcome", "dismiss"), ("reason", "经核实为监护人代领"),
                                                            ("password", TestOperators.password)])
        #expect(closed.status == 200 && closed.body.contains("预警 \(w.id) 已处理"))
        let after = try f.county.warning(w.id)
        #expect(after.status == "dismissed" && after.closedBy == "lihua" && after.closeReason == "经核实为监护人代领")
        let entry = try #require(try AuditLog.entries(db: f.county.db, limit: 5).last { $0.action == "warning.close" })
        #expect(entry.operatorName == "lihua" && entry.signature != nil)
        #expect(try AuditLog.verify(db: f.county.db).ok)

        // A complaints clerk may read the list but not decide: 403, and no button shown.
        let clerk = try f.browser(f.county)
        try clerk.login("chen", password: TestOperators.password)
        #expect(try clerk.get("/warnings").status == 200)
        let page = try clerk.get("/warnings/\(w.id)")
        #expect(!page.body.contains("id=\"warning-close\"") && !page.body.contains("id=\"warnings-run\""))
        let refused = try clerk.post("/warnings/\(w.id)/close", [("outcome", "confirm"), ("reason", "试"), ("password", TestOperators.password)])
        #expect(refused.status == 403)
        #expect(try clerk.post("/warnings/run", [], follow: false).status == 403)
        #expect(try f.county.warning(w.id).status == "dismissed")
    }

    @Test func aFilteredSetOfConflictsIsResolvedAtOnceWithThePassword() throws {
        let f = try ConsoleFixture()
        try f.township.actAs("weixy", .clerk)
        let t2 = try Self.township(f, "450223102")
        let t3 = try Self.township(f, "450223103")
        // Alice and Bob registered at 101, then at 102 as well (two conflicts); Carol at 101 and 103 (one).
        try Self.register(f.township, Self.alice, "韦秀英", card: 1)
        try Self.register(f.township, Self.bob, "覃建国", card: 2)
        try Self.register(f.township, Self.carol, "黄丽华", card: 3)
        try Self.push(f, f.township)
        try Self.register(t2, Self.alice, "韦秀英", card: 11)
        try Self.register(t2, Self.bob, "覃建国", card: 12)
        try Self.push(f, t2)
        try Self.register(t3, Self.carol, "黄丽华", card: 13)
        try Self.push(f, t3)
        #expect(try f.county.conflictCount(CountyNode.ConflictFilter(status: "open")) == 3)

        let b = try f.browser(f.county)
        try b.login(TestOperators.administrator, password: TestOperators.password)
        let all = try b.get("/conflicts")
        #expect(all.status == 200)
        #expect(all.body.contains("id=\"conflicts-summary\"") && all.body.contains("合计 3 条"))
        #expect(!all.body.contains("id=\"conflicts-resolve\""))   // no filter: no bulk decision over "everything"
        #expect(!all.body.contains(Self.alice) && all.body.contains(Masking.residentID(Self.alice)))
        let filtered = try b.get("/conflicts?status=open&kind=resident.two-townships&township=450223102")
        #expect(filtered.body.contains("id=\"conflicts-resolve\"") && filtered.body.contains("处理这 2 条冲突"))
        #expect(filtered.body.contains("value=\"keep-450223101\""))

        // The decision without the password is refused and changes nothing.
        let fields = [("kind", "resident.two-townships"), ("township", "450223102"), ("decision", "keep-450223101"),
                      ("reason", "经核实户籍在寨沙镇")]
        #expect(try b.post("/conflicts/resolve", fields).status == 403)
        #expect(try f.county.conflictCount(CountyNode.ConflictFilter(status: "open")) == 3)
        try b.get("/conflicts?status=open&kind=resident.two-townships&township=450223102")
        let done = try b.post("/conflicts/resolve", fields + [("password", TestOperators.password)])
        #expect(done.status == 200 && done.body.contains("已处理冲突 2 条"))
        // Exactly the filtered set: 102's two resolved with the decision, 103's still open.
        let resolved = try f.county.conflicts(CountyNode.ConflictFilter(status: "resolved"))
        #expect(resolved.count == 2 && resolved.allSatisfy { $0.node == "450223102" && $0.decision == "keep-450223101" })
        let open = try f.county.conflicts(CountyNode.ConflictFilter(status: "open"))
        #expect(open.map(\.node) == ["450223103"])
        let entry = try #require(try AuditLog.entries(db: f.county.db, limit: 5).last { $0.action == "conflict.resolve" })
        #expect(entry.operatorName == TestOperators.administrator && entry.signature != nil && entry.detail.contains("bulk=2"))

        // One conflict: its page offers the decisions valid for its kind.
        let one = try b.get("/conflicts/\(open[0].id)")
        #expect(one.body.contains("id=\"conflict-resolve\"") && one.body.contains("keep-450223101") && one.body.contains("keep-450223103"))
        #expect(!one.body.contains(Self.carol))
        let wrong = try b.post("/conflicts/\(open[0].id)/resolve", [("decision", "void"), ("reason", "试"), ("password", TestOperators.password)])
        #expect(wrong.status == 400 && wrong.body.contains(ErrorCode.conflictDecision.rawValue))
        #expect(try f.county.conflictCount(CountyNode.ConflictFilter(status: "open")) == 1)

        // A reviewer may read the log, not decide.
        try f.county.actAs("lihua", .reviewer())
        let reviewer = try f.browser(f.county)
        try reviewer.login("lihua", password: TestOperators.password)
        #expect(!(try reviewer.get("/conflicts?kind=resident.two-townships&township=450223103").body.contains("id=\"conflicts-resolve\"")))
        #expect(try reviewer.post("/conflicts/resolve", [("township", "450223103"), ("decision", "keep-450223101"), ("reason", "试"),
                                                         ("password", TestOperators.password)]).status == 403)
    }

    @Test func aComplaintIsAddedAndClosed() throws {
        let f = try ConsoleFixture()
        try f.county.actAs("chen", .complaints)
        let b = try f.browser(f.county)
        try b.login("chen", password: TestOperators.password)
        let page = try b.get("/complaints")
        #expect(page.body.contains("id=\"complaint-add\""))
        // A bad ID: the form again, with the error and what was typed.
        let bad = try b.post("/complaints", [("about_kind", "resident"), ("about", "450223"), ("content", "11月耕地补贴未到账")])
        #expect(bad.status == 400 && bad.body.contains("YKT-ID-") && bad.body.contains("11月耕地补贴未到账"))
        #expect(try f.county.complaintCount() == 0)
        let added = try b.post("/complaints", [("about_kind", "resident"), ("about", Self.alice), ("content", "11月耕地补贴未到账，电话 13807721234"),
                                               ("channel", "来电"), ("complainant", "韦秀英 13907725678")])
        #expect(added.status == 200 && added.body.contains("已登记投诉举报 1"))
        #expect(added.body.contains("id=\"complaint-close\""))
        #expect(!added.body.contains(Self.alice) && added.body.contains(Masking.residentID(Self.alice)))
        #expect(!added.body.contains("13807721234") && added.body.contains(Masking.phone("13807721234")))
        #expect(!added.body.contains("13907725678") && added.body.contains(Masking.phone("13907725678")))
        // A whole ID typed into the search is not written back into the page.
        let searched = try b.get("/complaints?q=\(Self.alice)")
        #expect(!searched.body.contains("value=\"\(Self.alice)\""))
        let stored = try f.county.complaint(1)
        #expect(stored.subject == Self.alice && stored.channel == "来电" && stored.status == "open")
        #expect(try b.get("/complaints").body.contains("href=\"/complaints/1\""))
        #expect(try b.get("/complaints?q=%E8%80%95%E5%9C%B0").body.contains("href=\"/complaints/1\""))   // 耕地
        #expect(try b.get("/complaints?q=%E4%BD%8F%E6%88%BF").body.contains("没有符合条件的投诉举报"))   // 住房
        let closed = try b.post("/complaints/1/close", [("outcome", "已核实，开户行退回，已更正账户并补发")])
        #expect(closed.body.contains("投诉举报 1 已办结"))
        let after = try f.county.complaint(1)
        #expect(after.status == "closed" && after.closedBy == "chen" && after.outcome == "已核实，开户行退回，已更正账户并补发")
        #expect(try b.get("/complaints").body.contains("没有办理中的投诉举报"))
        // A reviewer may list complaints, not add or close them.
        try f.county.actAs("lihua", .reviewer())
        let reviewer = try f.browser(f.county)
        try reviewer.login("lihua", password: TestOperators.password)
        #expect(!(try reviewer.get("/complaints").body.contains("id=\"complaint-add\"")))
        #expect(try reviewer.post("/complaints", [("about_kind", "resident"), ("about", Self.bob), ("content", "试")]).status == 403)
        #expect(try f.county.complaintCount() == 1)
    }

    /// A resident registered at the county with one payment made in February 2026 and one line
    /// under review (rows written as a bank result and a received roster leave them).
    static func paidResident(_ f: ConsoleFixture) throws -> String {
        try f.township.actAs("weixy", .clerk)
        try register(f.township, alice, "韦秀英", card: 1)
        try push(f, f.township)
        let account = try card(1).value
        try f.county.db.run("""
            INSERT INTO roster(id, node_id, entity, program, period, line_count, total_fen, received_at, status)
              VALUES (1, '450223101', 'roster/450223101/GD01/2026/1', 'GD01', '2026', 1, 22470, 'test', 'approved'),
                     (2, '450223101', 'roster/450223101/YL01/2026/1', 'YL01', '2026', 1, 195600, 'test', 'received');
            """)
        try f.county.db.run("""
            INSERT INTO roster_line(roster_id, line_no, resident_id, name, village, bank, account_kind, account_number, quantity, amount_fen)
              VALUES (1, 1, ?1, '韦秀英', '大塘村', '农行', 'card', ?2, '2', 22470), (2, 1, ?1, '韦秀英', '大塘村', '农行', 'card', ?2, '12', 195600)
            """, alice, account)
        try f.county.db.run("INSERT INTO agency_bank(code, name, serves, folder, added_at) VALUES ('RCC', '广西农村信用社', '', ?, 'test')", f.dir.file("bank"))
        try f.county.db.run("""
            INSERT INTO batch(id, bank, kind, created_by, created_at, line_count, total_fen, status) VALUES (1, 'RCC', 'original', 'test', 'test', 1, 22470, 'resulted')
            """)
        try f.county.db.run("""
            INSERT INTO payment(batch_id, roster_id, line_no, node_id, program, period, resident_id, name, bank, account_kind, account_number,
                                amount_fen, status, result_on)
              VALUES (1, 1, 1, '450223101', 'GD01', '2026', ?, '韦秀英', '农行', 'card', ?, 22470, 'paid', '2026-02-10')
            """, alice, account)
        return account
    }

    @Test func theQueryPageShowsPaymentsMasked() throws {
        let f = try ConsoleFixture()
        let account = try Self.paidResident(f)
        try f.county.actAs("chen", .complaints)
        let b = try f.browser(f.county)
        try b.login("chen", password: TestOperators.password)
        #expect(try b.get("/query").body.contains("id=\"query\""))
        let page = try b.post("/query", [("id", Self.alice), ("name", "韦秀英")])
        #expect(page.status == 200)
        #expect(page.body.contains("id=\"query-result\"") && page.body.contains("224.70") && page.body.contains("审核中"))
        #expect(page.body.contains(Masking.account(account)) && page.body.contains(Masking.residentID(Self.alice)))
        #expect(!page.body.contains(account) && !page.body.contains(Self.alice))
        // A name that does not match: no answer, and no hint which half was wrong.
        let wrong = try b.post("/query", [("id", Self.alice), ("name", "覃建国")])
        #expect(wrong.status == 400 && wrong.body.contains(ErrorCode.queryNoMatch.rawValue) && !wrong.body.contains("224.70"))
        // Each query is in the audit trail, the ID masked.
        let queries = try AuditLog.entries(db: f.county.db, limit: 10).filter { $0.action == "payment.query" }
        #expect(queries.count == 2 && queries.allSatisfy { !$0.object.contains(Self.alice) })
        // Only the complaints clerk answers the counter.
        try f.county.actAs("zhou", .approver)
        let approver = try f.browser(f.county)
        try approver.login("zhou", password: TestOperators.password)
        #expect(try approver.get("/query").status == 403)
    }

    @Test func theMonthlyReportPageShowsTheLibrarysTotalsAndAChart() throws {
        let f = try ConsoleFixture()
        _ = try Self.paidResident(f)
        try f.county.actAs("zhou", .approver)
        let b = try f.browser(f.county)
        try b.login("zhou", password: TestOperators.password)
        let month = try Period(parsing: "2026-02")
        let rows = try f.county.monthlyReport(month: month)
        let paid = rows.reduce(Int64(0)) { $0 + $1.paidFen }
        #expect(paid == 22470)
        let page = try b.get("/reports/monthly?month=2026-02")
        #expect(page.status == 200)
        #expect(page.body.contains("<strong id=\"monthly-paid-total\">\(Markup.yuan(paid))</strong>"))
        #expect(page.body.contains("<svg") && page.body.contains("各项目发放金额"))
        #expect(page.body.contains("id=\"monthly-download\""))
        // The CSV the CLI writes, downloaded.
        let csv = try b.post("/reports/monthly", [("month", "2026-02"), ("format", "csv")], follow: false)
        #expect(csv.status == 200)
        #expect(csv.headers["content-disposition"]?.contains("attachment") == true)
        #expect(csv.body.contains("发放情况月报") && csv.body.contains("224.70"))
        // March has nothing paid yet.
        #expect(try b.get("/reports/monthly?month=2026-03").body.contains("本月无发放"))
        // A complaints clerk has no monthly report.
        try f.county.actAs("chen", .complaints)
        let clerk = try f.browser(f.county)
        try clerk.login("chen", password: TestOperators.password)
        #expect(try clerk.get("/reports/monthly").status == 403)
    }

    @Test func aBankStatementIsUploadedAndReconciledAsTheCLIDoes() throws {
        let f = try ConsoleFixture()
        let account = try Self.paidResident(f)
        try f.county.actAs("zhi", .payments)
        let b = try f.browser(f.county)
        try b.login("zhi", password: TestOperators.password)
        #expect(try b.get("/reports/reconcile").body.contains("id=\"reconcile\""))
        func statement(_ fen: Int64) throws -> [UInt8] {
            BankFile.write(BankFile.Statement(bank: "RCC", from: try CivilDate(parsing: "2026-02-01"), to: try CivilDate(parsing: "2026-02-28"),
                                              lines: [BankFile.StatementLine(lineID: "1", batch: 1, accountNumber: account, amountFen: fen,
                                                                             kind: .paid, date: try CivilDate(parsing: "2026-02-10"))]))
        }
        let clean = try b.upload("/reports/reconcile", file: "statement", name: "对账单-2026-02.txt", bytes: try statement(22470),
                                 fields: [("period", "2026-02"), ("output", "page")])
        #expect(clean.status == 200 && clean.body.contains("账实相符") && clean.body.contains("<svg"))
        try b.get("/reports/reconcile")
        let off = try b.upload("/reports/reconcile", file: "statement", name: "对账单.txt", bytes: try statement(22000),
                               fields: [("period", "2026-02"), ("output", "page")])
        #expect(off.body.contains("id=\"reconcile-differences\"") && off.body.contains("金额不符") && off.body.contains("220.00"))
        #expect(!off.body.contains(account))
        // The same as the library says for that file.
        let path = f.dir.write("statement.txt", String(decoding: try statement(22000), as: UTF8.self))
        let r = try f.county.reconcile(statementPath: path, from: try CivilDate(parsing: "2026-02-01"), to: try CivilDate(parsing: "2026-02-28"))
        #expect(r.differences.map(\.kind) == ["amount"])
        // The month asked must be the statement's.
        try b.get("/reports/reconcile")
        let wrong = try b.upload("/reports/reconcile", file: "statement", name: "对账单.txt", bytes: try statement(22470),
                                 fields: [("period", "2026-03"), ("output", "page")])
        #expect(wrong.status == 400 && wrong.body.contains(ErrorCode.bankFile.rawValue))
        // The report the CLI writes, downloaded.
        try b.get("/reports/reconcile")
        let csv = try b.upload("/reports/reconcile", file: "statement", name: "对账单.txt", bytes: try statement(22470),
                               fields: [("period", "2026-02"), ("output", "csv")])
        #expect(csv.headers["content-disposition"]?.contains("attachment") == true && csv.body.contains("账实相符"))
    }

    @Test func townshipsAndTheAuditTrailAreForTheAdministratorAndTheAuditor() throws {
        let f = try ConsoleFixture()
        try f.county.actAs("shen", .auditor)
        try f.county.actAs("lihua", .reviewer())
        let b = try f.browser(f.county)
        try b.login("shen", password: TestOperators.password)
        let towns = try b.get("/townships")
        #expect(towns.status == 200 && towns.body.contains("450223101") && towns.body.contains("寨沙镇"))
        let audit = try b.get("/audit")
        #expect(audit.status == 200 && audit.body.contains("id=\"audit-list\"") && audit.body.contains("id=\"audit-verify\""))
        #expect(audit.body.contains("township.enrol"))
        #expect(try b.upload("/audit/verify", file: "anchors", name: "", bytes: []).status == 200)
        let job = try Self.wait(f, "audit-verify")
        #expect(job.error == nil)
        #expect(job.progress.contains { $0.hasPrefix("审计日志完好") })
        #expect(try b.get("/audit").body.contains("没有问题"))
        // A reviewer is refused both.
        let reviewer = try f.browser(f.county)
        try reviewer.login("lihua", password: TestOperators.password)
        #expect(try reviewer.get("/audit").status == 403)
        #expect(try reviewer.get("/townships").status == 403)
        #expect(try reviewer.upload("/audit/verify", file: "anchors", name: "", bytes: []).status == 403)
    }

    @Test func aChartEscapesItsLabelsAndKeepsItsSize() {
        let chart = SVGChart(title: "<b>标题</b>", series: ["县财政", "银行"],
                             rows: (0..<30).map { SVGChart.Row("项目<\($0)>", [Int64($0) * 100, 50]) }, format: { String($0) })
        let svg = chart.svg.text
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"))
        #expect(!svg.contains("<b>") && svg.contains("&lt;b&gt;"))
        #expect(svg.contains("width=\"\(SVGChart.width)\""))
        #expect(chart.rows.count == SVGChart.maximumRows && chart.rows.last?.label == "其余 15 项")
    }
}
