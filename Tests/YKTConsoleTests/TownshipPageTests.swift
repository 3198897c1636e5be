import Foundation
import Testing
import YKTConsole
import YKTCore
import YKTCounty
import YKTCrypto
import YKTNode
import YKTTestSupport
import YKTTownship

/// The township's pages through a real browser against a real in-process console: each form
/// does what its CLI command does (checked afterwards through the library), roles are
/// refused, personal data stays masked except on the audited full view.
@Suite struct TownshipPageTests {
    static let alice = ResidentID.completing("45022319500101123")
    static let bob = ResidentID.completing("45022319620315456")
    static let carol = ResidentID.completing("45022319800707078")
    static let aliceCard = AccountNumber.completingLuhn("622848000000000001")
    static let bobCard = AccountNumber.completingLuhn("622848000000000002")
    static let carolCard = AccountNumber.completingLuhn("622848000000000003")
    static let header = "姓名,身份证号,村（社区）,户号,联系电话,开户银行,账户类型,账号,确认书编号,共用账户理由\n"

    /// Alice and Carol are fine; Bob's ID has a wrong check digit (line 3 of the file).
    static var csvWithOneBadLine: String {
        let badBob = String(bob.dropLast()) + (bob.last == "1" ? "2" : "1")
        return header
            + "韦秀英,\(alice),大塘村,001,13800138000,中国农业银行,银行卡,\(aliceCard),QR-1,\n"
            + "覃建国,\(badBob),大塘村,002,,中国农业银行,银行卡,\(bobCard),QR-2,\n"
            + "黄丽华,\(carol),石门村,003,,广西农村信用社,,\(carolCard),QR-3,\n"
    }

    func loggedIn(_ f: ConsoleFixture, _ login: String, _ role: OperatorGrant) throws -> ConsoleBrowser {
        try f.township.actAs(login, role)
        let b = try f.browser(f.township)
        try b.login(login, password: TestOperators.password)
        return b
    }

    func audits(_ node: TownshipNode, _ action: String) throws -> Int {
        try AuditLog.entries(db: node.db).filter { $0.action == action }.count
    }

    func register(_ node: TownshipNode, _ id: String, _ name: String, card: String, village: String = "大塘村") throws {
        try node.register(BeneficiaryInput(residentID: try ResidentID(id), name: name, village: village,
                                           account: AccountInput(bank: "中国农业银行", number: try AccountNumber(card, kind: .card),
                                                                 confirmation: "QR-\(name)")))
    }

    /// The value of the first `href` after `marker` on the page.
    func link(after marker: String, in page: String) throws -> String {
        let from = try #require(page.range(of: marker))
        let rest = page[from.upperBound...]
        let href = try #require(rest.range(of: "href=\""))
        return String(rest[href.upperBound...].prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
    }

    /// An import's page once it is done: the progress page refreshes itself until then.
    func outcome(_ b: ConsoleBrowser, _ page: ConsoleBrowser.Page) throws -> ConsoleBrowser.Page {
        var page = page
        for _ in 0..<400 where page.body.contains("id=\"import-running\"") {
            Thread.sleep(forTimeInterval: 0.025)
            page = try b.get(try link(after: "也可点", in: page.body))
        }
        return page
    }

    @Test func anImportWithOneBadLineShowsTheCellAndCommitsNothingButKeepGoodTakesTheGoodLines() throws {
        let f = try ConsoleFixture()
        let b = try loggedIn(f, "weixy", .clerk)
        #expect(try b.get("/import").body.contains("id=\"import-upload\""))
        let refused = try outcome(b, try b.upload("/import", file: "file", name: "大塘村.csv", bytes: Array(Self.csvWithOneBadLine.utf8), fields: [("mode", "all")]))
        #expect(refused.status == 400)
        #expect(refused.body.contains(ErrorCode.importRejected.rawValue))
        // The bad cell of line 3 is marked, with its code; the good lines are not.
        #expect(refused.body.contains("<tr data-line=\"3\">"))
        #expect(refused.body.contains("<td class=\"bad\" title=\"此格有误\" data-field=\"身份证号\">"))
        #expect(refused.body.contains(ErrorCode.idCheckDigit.rawValue))
        #expect(!refused.body.contains("data-line=\"2\""))
        // All or nothing: nobody was registered.
        #expect(try f.township.beneficiaryCount() == 0)
        // Personal data on the outcome page is masked.
        #expect(!refused.body.contains(Self.bob.prefix(17)))
        #expect(!refused.body.contains(Self.aliceCard))
        // The upload itself is not kept; only the list of problems the import wrote.
        let folder = f.township.outputFolder + "/console-imports"
        let inside = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/" + inside).allSatisfy { $0.hasPrefix("导入问题-") })
        // Another operator cannot see this import's outcome.
        let other = try loggedIn(f, "qinjg", .clerk)
        let progressPath = "/import/progress?job=" + inside
        #expect(try other.get(progressPath).status == 404)
        #expect(try b.get(progressPath).status == 400)
        // The problem list the import wrote can be downloaded; nothing outside the folder can.
        let list = try link(after: "全部 1 处问题的清单", in: refused.body)
        #expect(list.hasPrefix("/import/file?f="))
        let file = try b.get(list)
        #expect(file.status == 200)
        #expect(file.headers["content-disposition"]?.contains("filename*=UTF-8''") == true)
        #expect(file.body.contains("原行号") && file.body.contains(ErrorCode.idCheckDigit.rawValue))
        for evil in ["..%2F..%2Fnode.conf", "x%2F..%2F..%2Fnode.conf", "%2Fetc%2Fpasswd", "..%2Ftownship.db"] {
            #expect(try b.get("/import/file?f=" + evil).status == 404)
        }
        // A symlink planted in the import folder to a file outside is not followed out.
        try FileManager.default.createSymbolicLink(atPath: folder + "/" + inside + "/conf.csv",
                                                   withDestinationPath: f.township.directory + "/node.conf")
        #expect(try b.get("/import/file?f=" + Markup.percentEncode(inside + "/conf.csv")).status == 404)

        // Keep-good: the two good lines go in, the bad one is in the rejects file.
        b.csrf = nil
        try b.get("/import")
        let kept = try outcome(b, try b.upload("/import", file: "file", name: "大塘村.csv", bytes: Array(Self.csvWithOneBadLine.utf8), fields: [("mode", "keep-good")]))
        #expect(kept.status == 200)
        #expect(kept.body.contains("导入补贴对象 2 条，错误 1 行"))
        #expect(kept.body.contains("<td class=\"bad\" title=\"此格有误\" data-field=\"身份证号\">"))
        #expect(try f.township.beneficiaryCount() == 2)
        #expect(try f.township.findBeneficiary(try ResidentID(Self.alice)) != nil)
        // The rejects file holds the line in full: fetching it is an audited view.
        let before = try audits(f.township, "personal-data.view")
        let rejects = try b.get(try link(after: "改正后可再次导入", in: kept.body))
        #expect(rejects.status == 200 && rejects.body.contains("覃建国"))
        #expect(try audits(f.township, "personal-data.view") == before + 1)
    }

    @Test func anAuditorCannotPostTheImportForm() throws {
        let f = try ConsoleFixture()
        let b = try loggedIn(f, "shenji", .auditor)
        #expect(try b.get("/import").status == 403)
        #expect(try b.get("/register").status == 200)   // reading the register is theirs
        #expect(!b.lastPage.contains("href=\"/import\""))
        let page = try b.upload("/import", file: "file", name: "a.csv", bytes: Array(Self.csvWithOneBadLine.utf8), fields: [("mode", "keep-good")])
        #expect(page.status == 403)
        #expect(page.body.contains("无权办理"))   // refused for the role (the form's CSRF token was valid)
        #expect(try f.township.beneficiaryCount() == 0)
    }

    @Test func addEditAndAccountChangeDoWhatTheCLIDoesAndOnlyTheFullViewShowsTheID() throws {
        let f = try ConsoleFixture()
        let b = try loggedIn(f, "weixy", .clerk)
        try b.get("/register/new")
        let added = try b.post("/register/new", [
            ("id", Self.alice), ("name", "韦秀英"), ("village", "大塘村"), ("household", "001"), ("phone", "13800138000"),
            ("bank", "中国农业银行"), ("account_kind", "card"), ("account", Self.aliceCard), ("confirmation", "QR-1"),
        ])
        #expect(added.status == 200)
        #expect(added.body.contains("已登记 韦秀英"))
        let person = try #require(try f.township.findBeneficiary(try ResidentID(Self.alice)))
        #expect(person.account?.number == Self.aliceCard)
        // A bad ID is refused on the form, with what was typed kept.
        let bad = try b.post("/register/new", [("id", String(Self.bob.dropLast()) + "0"), ("name", "覃建国"), ("village", "大塘村"),
                                               ("bank", "农行"), ("account", Self.bobCard), ("confirmation", "QR-2")])
        #expect(bad.status == 400 && bad.body.contains("YKT-ID-") && bad.body.contains("value=\"覃建国\""))

        try b.get("/register/\(person.id)/edit")
        let edited = try b.post("/register/\(person.id)/edit", [("name", "韦秀英"), ("village", "石门村"), ("household", "001"), ("phone", "13800138000")])
        #expect(edited.body.contains("已修改 韦秀英"))
        #expect(try f.township.beneficiary(try ResidentID(Self.alice)).village == "石门村")
        // The phone is never written into the form; a blank field keeps it, the box deletes it.
        let form = try b.get("/register/\(person.id)/edit")
        #expect(!form.body.contains("13800138000") && form.body.contains(Masking.phone("13800138000")))
        try b.post("/register/\(person.id)/edit", [("name", "韦秀英"), ("village", "石门村"), ("household", "001"), ("phone", "")])
        #expect(try f.township.beneficiary(try ResidentID(Self.alice)).phone == "13800138000")
        try b.get("/register/\(person.id)/edit")
        try b.post("/register/\(person.id)/edit", [("name", "韦秀英"), ("village", "石门村"), ("household", "001"), ("phone", ""), ("phone_clear", "1")])
        #expect(try f.township.beneficiary(try ResidentID(Self.alice)).phone == "")

        try b.get("/register/\(person.id)/account")
        let newCard = AccountNumber.completingLuhn("622848000000000099")
        let changed = try b.post("/register/\(person.id)/account", [("bank", "中国农业银行"), ("account_kind", "card"), ("account", newCard), ("confirmation", "QR-9")])
        #expect(changed.body.contains("已变更 韦秀英"))
        #expect(try f.township.beneficiary(try ResidentID(Self.alice)).account?.number == newCard)
        #expect(try f.township.accountHistory(try ResidentID(Self.alice)).count == 2)
        // Without the confirmation number the library refuses, and nothing changes.
        let noConfirmation = try b.post("/register/\(person.id)/account", [("bank", "中国农业银行"), ("account", Self.aliceCard), ("confirmation", " ")])
        #expect(noConfirmation.status == 400)
        #expect(try f.township.beneficiary(try ResidentID(Self.alice)).account?.number == newCard)

        // Masked everywhere but the full view, which is recorded.
        for path in ["/register", "/register?q=韦秀英", "/register?q=\(Self.alice.suffix(4))", "/register/\(person.id)"] {
            let page = try b.get(path)
            #expect(page.status == 200)
            #expect(page.body.contains("韦秀英"))
            #expect(!page.body.contains(Self.alice))
            #expect(!page.body.contains(newCard))
            #expect(!page.body.contains("13800138000"))
        }
        let before = try audits(f.township, "personal-data.view")
        let full = try b.get("/register/\(person.id)/full")
        #expect(full.body.contains(Self.alice) && full.body.contains(newCard))
        #expect(try audits(f.township, "personal-data.view") == before + 1)
        let entry = try #require(try AuditLog.entries(db: f.township.db).last { $0.action == "personal-data.view" })
        #expect(entry.object == "beneficiary#\(person.id) \(Masking.residentID(Self.alice))")
        #expect(entry.operatorName == "weixy")
    }

    @Test func aNoticeCannotCloseBeforeFiveWorkingDaysButCanAfter() throws {
        let f = try ConsoleFixture()
        try f.township.actAs("weixy", .clerk)
        // The register and applications come in January, before the village stage (February).
        let today = f.township.now
        let january = try CivilDate(parsing: "2026-01-05").instantInChina(hour: 10)
        f.township.now = { january }
        try register(f.township, Self.alice, "韦秀英", card: Self.aliceCard)
        try register(f.township, Self.bob, "覃建国", card: Self.bobCard)
        for id in [Self.alice, Self.bob] {
            try f.township.recordApplication(ApplicationInput(residentID: try ResidentID(id), programCode: "GD01", period: try Period(parsing: "2026"),
                                                              quantity: try Quantity(parsing: "2"), villageResult: .passed))
        }
        f.township.now = today
        let b = try loggedIn(f, "weixy", .clerk)
        #expect(try b.get("/notices").body.contains("id=\"notice-open\""))
        // The township notice cannot come before the village notice.
        let first = try b.post("/notices", [("program", "GD01"), ("period", "2026"), ("place", "镇政府公告栏"), ("phone", "0772-6812345")])
        #expect(first.body.contains(ErrorCode.noticeEmpty.rawValue) && first.body.contains("尚未走完村级公示"))
        // The meeting form: refused without a quorum, recorded with one.
        #expect(try b.get("/notices").body.contains("id=\"meeting-record\""))
        let thin = try b.post("/meetings", [("village", "大塘村"), ("program", "TZ01"), ("period", "2026"), ("present", "10"), ("expected", "25"),
                                             ("outcome", "通过")])
        #expect(thin.body.contains(ErrorCode.meetingQuorum.rawValue))
        let met = try b.post("/meetings", [("village", "大塘村"), ("program", "TZ01"), ("period", "2026"), ("present", "20"), ("expected", "25"),
                                            ("outcome", "评议通过")])
        #expect(met.body.contains("已登记村民代表会议") && met.body.contains("id=\"meeting-list\""))
        // The village stage (meeting, village notice, closed after 5 working days), then back to today.
        let village = try f.township.passVillageNotices(program: "GD01")
        f.township.now = today
        let listed = try b.get("/notices").body
        #expect(listed.contains("村级公示") && listed.contains("大塘村"))
        let opened = try b.post("/notices", [("program", "GD01"), ("period", "2026"), ("place", "各村村务公开栏"), ("phone", "0772-6812345")])
        #expect(opened.body.contains("已张贴乡镇公示"))
        let notice = try #require(try f.township.notices().last)
        #expect(notice.stage == .township && notice.id != village.first?.id)
        #expect(notice.applicationCount == 2)
        #expect(!opened.body.contains(Self.alice))
        // An objection, settled (dismissed).
        let objected = try b.post("/notices/\(notice.id)/objections", [("id", Self.bob), ("content", "土地已转包，知情人身份证 \(Self.carol)"),
                                                                       ("complainant", "村民 13912345678")])
        #expect(objected.body.contains("已登记异议"))
        // Numbers typed into the objection's free text are masked like every other ID on the page.
        #expect(!objected.body.contains(Self.carol) && !objected.body.contains("13912345678"))
        #expect(objected.body.contains(Masking.residentID(Self.carol)) && objected.body.contains(Masking.phone("13912345678")))
        let objection = try #require(try f.township.objections(notice: notice.id).first)
        #expect(try b.post("/notices/\(notice.id)/objections/\(objection.id)", [("decision", "dismissed"), ("reason", "核实不属实")]).body.contains("异议不成立"))
        // Today is the day it was posted: the library refuses and the page says why.
        let early = try b.upload("/notices/\(notice.id)/close", file: "proof", name: "proof.jpg", bytes: [])
        #expect(early.status == 400)
        #expect(early.body.contains(ErrorCode.noticeTooEarly.rawValue))
        #expect(try f.township.notice(notice.id).status == .open)
        // The print preview is the A4 document `ykt notice print` writes, masked.
        let preview = try b.get("/notices/\(notice.id)/print")
        let doc = try f.township.noticeDocument(notice.id, printedOn: try CivilDate(parsing: "2026-03-02"))
        #expect(preview.body == doc.html)
        #expect(preview.body.contains(Masking.residentID(Self.alice)) && !preview.body.contains(Self.alice))
        let csv = try b.get("/notices/\(notice.id)/csv")
        #expect(csv.status == 200 && csv.headers["content-disposition"]?.contains(".csv") == true)

        // Three weeks later (a console on a later clock), the notice closes, with its proof.
        let later = try CivilDate(parsing: "2026-03-23").instantInChina(hour: 9)
        let server = try ConsoleServer(directory: f.township.directory, host: "127.0.0.1", port: 0, clock: { later })
        server.start()
        defer { server.stop() }
        let b2 = ConsoleBrowser(port: server.port)
        try b2.login("weixy", password: TestOperators.password)
        try b2.get("/notices/\(notice.id)")
        let closed = try b2.upload("/notices/\(notice.id)/close", file: "proof", name: "签字汇总表.jpg", bytes: Array("照片".utf8))
        #expect(closed.status == 200)
        #expect(closed.body.contains("已于 2026年3月23日 结束") || closed.body.contains("结束"))
        let after = try f.township.notice(notice.id)
        #expect(after.status == .closed)
        #expect(after.closedOn == (try CivilDate(parsing: "2026-03-23")))
        #expect(after.proofSHA256 == YKTCryptoBridge.sha256Hex(Array("照片".utf8)))
    }

    @Test func aRosterIsBuiltByTheClerkAndSubmittedByTheLeaderWithThePassword() throws {
        let f = try ConsoleFixture()
        try f.township.actAs("weixy", .clerk)
        try register(f.township, Self.alice, "韦秀英", card: Self.aliceCard)
        // TF01 is a secret program: no notice, the roster takes what the village passed.
        try f.township.recordApplication(ApplicationInput(residentID: try ResidentID(Self.alice), programCode: "TF01", period: try Period(parsing: "2026"),
                                                          quantity: try Quantity(parsing: "1"), villageResult: .passed))
        let clerk = try loggedIn(f, "weixy", .clerk)
        try clerk.get("/rosters")
        let built = try clerk.post("/rosters", [("program", "TF01"), ("period", "2026")])
        #expect(built.body.contains("已编制清册"))
        let roster = try #require(try f.township.rosters().first)
        #expect(roster.status == .draft && roster.lineCount == 1)
        #expect(built.body.contains("id=\"roster-lines\"") && !built.body.contains(Self.alice) && !built.body.contains(Self.aliceCard))
        // The clerk has no submit button, and a post is refused.
        #expect(!built.body.contains("id=\"roster-submit\""))
        #expect(try clerk.post("/rosters/\(roster.id)/submit", [("password", TestOperators.password)]).status == 403)
        #expect(try f.township.roster(roster.id).status == .draft)
        // The clerk prints the summary table (汇总表) from the roster's page, as `ykt roster summary` does: totals only.
        let draftPage = try clerk.get("/rosters/\(roster.id)")
        #expect(draftPage.body.contains("id=\"roster-summary\"") && draftPage.body.contains("打印汇总表") && draftPage.body.contains("测试weixy（weixy）"))
        let summary = try clerk.get("/rosters/\(roster.id)/summary")
        #expect(summary.status == 200 && summary.body.contains("发放汇总表") && summary.body.contains("编制人：测试weixy（weixy）"))
        #expect(summary.body.contains("职能站所负责人（签字）") && !summary.body.contains("韦秀英") && !summary.body.contains(Masking.residentID(Self.alice)))
        let summaryCSV = try clerk.get("/rosters/\(roster.id)/summary/csv")
        #expect(summaryCSV.status == 200 && summaryCSV.headers["content-disposition"]?.contains(".csv") == true)

        let leader = try loggedIn(f, "lanld", .leader)
        let page = try leader.get("/rosters/\(roster.id)")
        #expect(page.body.contains("id=\"roster-submit\"") && page.body.contains("name=\"password\""))
        let wrong = try leader.post("/rosters/\(roster.id)/submit", [("password", "not-my-password-1")])
        #expect(wrong.status == 403)
        #expect(wrong.body.contains(ErrorCode.authPassword.rawValue))
        #expect(try f.township.roster(roster.id).status == .draft)
        try leader.get("/rosters/\(roster.id)")
        let submitted = try leader.post("/rosters/\(roster.id)/submit", [("password", TestOperators.password)])
        #expect(submitted.body.contains("已报送并冻结"))
        #expect(try f.township.roster(roster.id).status == .submitted)
        // Signed by the leader, as `ykt roster submit` is.
        let entry = try #require(try AuditLog.entries(db: f.township.db).last { $0.action == "roster.submit" })
        #expect(entry.operatorName == "lanld" && entry.signature != nil)
        // Both signers of the summary table are on the page.
        let shown = try leader.get("/rosters/\(roster.id)")
        #expect(shown.body.contains("测试weixy（weixy）") && shown.body.contains("测试lanld（lanld）"))
    }

    @Test func aFailedPaymentIsCorrectedWithANewAccount() throws {
        let f = try ConsoleFixture()
        let town = f.township
        try town.actAs("weixy", .clerk)
        let people = [Self.alice, Self.bob]
        for (i, p) in people.enumerated() {
            try register(town, p, ["韦秀英", "覃建国"][i], card: [Self.aliceCard, Self.bobCard][i])
            try town.recordApplication(ApplicationInput(residentID: try ResidentID(p), programCode: "TF01", period: try Period(parsing: "2026"),
                                                        quantity: try Quantity(parsing: "1"), villageResult: .passed))
        }
        let roster = try town.buildRoster(program: "TF01", period: try Period(parsing: "2026"))
        try town.actAs("lanld", .leader)
        try town.submitRoster(roster.id)
        // Up to the county, reviewed, approved, paid by the bank with one failure, and down again.
        _ = try town.push { bytes, signature in
            let a = f.county.receive(peer: "450223101", bytes: bytes, signature: signature)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
        let county = f.county
        let bank = f.dir.file("bank-ABC")
        try county.actAs(TestOperators.administrator)
        try county.addBank(code: "ABC", name: "中国农业银行", serves: [], folder: bank, agreement: .init(number: "LZCZ-DF-2025-01", start: try CivilDate(parsing: "2025-01-01"), end: try CivilDate(parsing: "2027-12-31"), fees: "免费"))
        try county.actAs("approver", .approver)
        try county.setBudget(program: "TF01", period: try Period(parsing: "2026"), amount: try Fen(yuan: "10000"))
        try county.actAs("reviewer", OperatorGrant(role: .reviewer, program: "TF01"))
        let received: Int64 = 1   // the county's first roster
        try county.review(received, approve: true, reason: "")
        try county.become("approver")
        let approval = try county.approve([received])
        try county.actAs("payer", .payments)
        _ = try county.dispatch(on: try CivilDate(parsing: "2026-03-02"))
        let batch = approval.batches[0]
        var lines: [BankFile.ResultLine] = []
        for p in try county.payments(batch: batch) {
            let fail = p.residentID == Self.bob
            lines.append(.init(lineID: String(p.id), status: fail ? .failed : .paid, amountFen: p.amountFen, date: try CivilDate(parsing: "2026-03-03"),
                               reason: fail ? .accountClosed : nil, reasonText: fail ? "账户已销户" : "", returnedFen: fail ? p.amountFen : 0))
        }
        try FileOutput.writeAtomically(bytes: BankFile.write(BankFile.Result(batch: batch, bank: "ABC", lines: lines)), to: bank + "/inbox/result-\(batch).txt")
        _ = try county.receiveResults(today: try CivilDate(parsing: "2026-03-04"))
        try f.pull()
        let failed = try #require(try town.paymentsToCorrect().first)

        let b = try loggedIn(f, "weixy", .clerk)
        let list = try b.get("/payments")
        #expect(list.body.contains("id=\"payments-to-correct\"") && list.body.contains("账户已销户"))
        #expect(!list.body.contains(Self.bob) && !list.body.contains(Self.bobCard))
        try b.get("/payments/\(failed.payment)")
        let newCard = AccountNumber.completingLuhn("622848000000000077")
        // A new account without its confirmation number is refused; nothing is corrected.
        let refused = try b.post("/payments/\(failed.payment)", [("bank", "中国农业银行"), ("account", newCard)])
        #expect(refused.status == 400)
        #expect(try town.paymentsToCorrect().count == 1)
        let done = try b.post("/payments/\(failed.payment)", [("bank", "中国农业银行"), ("account_kind", "card"), ("account", newCard), ("confirmation", "QR-NEW")])
        #expect(done.body.contains("已更正"))
        #expect(try town.paymentsToCorrect().isEmpty)
        #expect(try town.beneficiary(try ResidentID(Self.bob)).account?.number == newCard)
        #expect(try town.outbox().contains { $0.kind == "payment.correct" })
    }

    @Test func theInboxAndOutboxShowTheirItemsMasked() throws {
        let f = try ConsoleFixture()
        try f.township.actAs("weixy", .clerk)
        try register(f.township, Self.alice, "韦秀英", card: Self.aliceCard)
        let b = try loggedIn(f, "weixy", .clerk)
        let inbox = try b.get("/inbox")
        #expect(inbox.status == 200 && inbox.body.contains("id=\"inbox-list\"") && inbox.body.contains("补贴政策清单"))
        let outbox = try b.get("/outbox")
        #expect(outbox.status == 200 && outbox.body.contains("id=\"outbox-list\""))
        #expect(outbox.body.contains(Masking.residentID(Self.alice)) && !outbox.body.contains(Self.alice))
        #expect(try b.get("/applications").status == 200)
    }

    @Test func anApplicationListIsImportedAsTheCLIImportsItAndAPersonCanBeRemoved() throws {
        let f = try ConsoleFixture()
        try f.township.actAs("weixy", .clerk)
        try register(f.township, Self.alice, "韦秀英", card: Self.aliceCard)
        try register(f.township, Self.bob, "覃建国", card: Self.bobCard)
        let b = try loggedIn(f, "weixy", .clerk)
        #expect(try b.get("/applications/import").body.contains("id=\"application-import\""))
        let csv = "身份证号,姓名,项目编码,期次,数量,村评议结果,备注\n\(Self.alice),韦秀英,GD01,2026,2.5,通过,\n\(Self.bob),覃建国,GD01,2026,abc,通过,\n"
        let refused = try outcome(b, try b.upload("/applications/import", file: "file", name: "申请.csv", bytes: Array(csv.utf8)))
        #expect(refused.status == 400)
        #expect(refused.body.contains("<tr data-line=\"3\">") && refused.body.contains("class=\"bad\" title=\"此格有误\" data-field=\"数量\""))
        #expect(try f.township.applications().isEmpty)
        let kept = try outcome(b, try b.upload("/applications/import", file: "file", name: "申请.csv", bytes: Array(csv.utf8), fields: [("mode", "keep-good")]))
        #expect(kept.body.contains("导入申请 1 条，错误 1 行"))
        #expect(try f.township.applications().map(\.residentID) == [Self.alice])
        // The application list page finds it by name, masked.
        let list = try b.get("/applications?q=韦秀英")
        #expect(list.body.contains("韦秀英") && !list.body.contains(Self.alice) && !list.body.contains("覃建国"))

        // Removal with a reason withdraws the open application, as `ykt beneficiary remove` does.
        let alice = try #require(try f.township.findBeneficiary(try ResidentID(Self.alice)))
        let page = try b.get("/register/\(alice.id)")
        #expect(page.body.contains("id=\"register-remove\""))
        #expect(try b.post("/register/\(alice.id)/remove", [("reason", " ")]).status == 400)
        let removed = try b.post("/register/\(alice.id)/remove", [("reason", "县财政冲突 3 决定由 450223102 登记")])
        #expect(removed.body.contains("已从底册移除 韦秀英") && removed.body.contains("撤回其未编入清册的申请 1 条"))
        #expect(try f.township.applications().map(\.status) == [.removed])
        #expect(try f.township.removal(of: alice) != nil)
        let after = try b.get("/register/\(alice.id)")
        #expect(after.body.contains("已于") && !after.body.contains("id=\"register-remove\"") && !after.body.contains("/account\""))
    }

    @Test func aCountyDecisionToRemoveAPersonIsDoneFromTheInbox() throws {
        let f = try ConsoleFixture()
        func push(_ node: TownshipNode) throws -> TownshipNode.PushReport {
            try node.push { bytes, signature in
                let a = f.county.receive(peer: node.config.nodeID, bytes: bytes, signature: signature)
                return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
            }
        }
        // Another township registered Alice first; ours registers her too: a conflict.
        var config = NodeConfig(role: .township, nodeID: "450223102", name: "四排镇", countyCode: "450223", defaultOperator: "测试员")
        config.extra["county_public_key"] = Hex.encode(try f.county.publicKey().raw)
        let other = try TownshipNode.create(directory: f.dir.file("township2"), config: config)
        try other.actAs(TestOperators.administrator)
        try f.county.actAs(TestOperators.administrator)
        try f.county.enrol(township: "450223102", name: "四排镇", publicKeyHex: Hex.encode(try other.publicKey().raw))
        _ = try other.pull { after in
            let a = f.county.stream(peer: "450223102", after: after)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
        try other.actAs("lu", .clerk)
        try register(other, Self.alice, "韦秀英", card: Self.carolCard)
        #expect(try push(other).accepted == 1)
        try f.township.actAs("weixy", .clerk)
        try register(f.township, Self.alice, "韦秀英", card: Self.aliceCard)
        #expect(try push(f.township).conflicted == 1)
        let conflict = try #require(try f.county.db.integer("SELECT id FROM conflict WHERE kind = 'resident.two-townships'"))
        try f.county.actAs(TestOperators.administrator)
        try f.county.resolveConflict(conflict, decision: "keep-450223102", reason: "本人户籍在四排镇")
        try f.pull()

        let b = try loggedIn(f, "weixy", .clerk)
        let inbox = try b.get("/inbox")
        #expect(inbox.body.contains("id=\"inbox-remove-\(conflict)\""))
        #expect(!inbox.body.contains(Self.alice))
        // An auditor sees the decision but has no button, and a post is refused.
        let auditor = try loggedIn(f, "shenji", .auditor)
        #expect(!(try auditor.get("/inbox")).body.contains("id=\"inbox-remove-"))
        #expect(try auditor.post("/inbox/remove", [("conflict", String(conflict))]).status == 403)
        #expect(try f.township.findBeneficiary(try ResidentID(Self.alice)).flatMap { try f.township.removal(of: $0) } == nil)

        let done = try b.post("/inbox/remove", [("conflict", String(conflict)), ("reason", "已核实")])
        #expect(done.body.contains("冲突 \(conflict)：已从底册移除"))
        let alice = try #require(try f.township.findBeneficiary(try ResidentID(Self.alice)))
        #expect(try f.township.removal(of: alice)?.reason == "县财政冲突 \(conflict) 决定由 450223102 登记；已核实")
        #expect(try f.township.decisionsToAct().isEmpty)
        #expect(!(try b.get("/inbox")).body.contains("id=\"inbox-remove-"))
    }
}
