import Foundation
import Testing
import YKTCore
import YKTCrypto
import YKTDemo
import YKTNode
import YKTTestSupport
@testable import YKTCounty
@testable import YKTPublic
@testable import YKTTownship

/// The demo county (`CountyGenerator`: two townships, two villages each, five people a
/// village, with their real-looking IDs, cards and mobiles) taken through the whole loop:
/// every person applies for GD01 (耕地地力保护补贴, public) and the first three of each
/// township for TF01 (特殊对象生活补助, secret); GD01 is publicised for five working days
/// (寨沙镇 with an office phone, 中渡镇 with a mobile) and closed; both rosters are submitted.
/// At the county 寨沙镇's two rosters are reviewed, approved, paid by the bank (one GD01
/// payment failed: 账户已销户 6228…), 中渡镇's TF01 is paid too and its GD01 is still under review.
final class DemoCounty {
    let dir: String
    let county: CountyNode
    var towns: [String: TownshipNode] = [:]
    var people: [String: [CountyGenerator.Person]] = [:]
    let codes = ["450223101", "450223102"]
    var bankFolder: String { dir + "/bank-ABC" }
    /// Cheap scrypt for the tests' stores (the standard cost is for real counties).
    static let cheap = QueryStore.Parameters(logN: 4, r: 8, p: 1)

    init(countyPhone: String? = "0772-6812000") throws {
        dir = NSTemporaryDirectory() + "ykt-publish-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var config = NodeConfig(role: .county, nodeID: "450223", name: "鹿寨县", countyCode: "450223", defaultOperator: "县管理员")
        if let countyPhone { config.extra["complaint_phone"] = countyPhone }
        config.extra["public_url"] = "https://ykt.example.gov.cn/"
        county = try CountyNode.create(directory: dir + "/county", config: config)
        try county.actAs(TestOperators.administrator)
        try WorkCalendar.builtInTSV.write(toFile: dir + "/holidays.tsv", atomically: true, encoding: .utf8)
        try CountyGenerator.programsCSV.write(toFile: dir + "/programs.csv", atomically: true, encoding: .utf8)
        _ = try county.publishCalendar(path: dir + "/holidays.tsv")
        _ = try county.publishPolicy(path: dir + "/programs.csv")
        var options = CountyGenerator.Options()
        options.townships = 2
        options.villagesPerTownship = 2
        options.peoplePerVillage = 5
        let generator = CountyGenerator(options: options)
        var ids = Set<String>(), cards = Set<String>()
        let period = try Period(parsing: "2026")
        for (i, t) in generator.townships.enumerated() {
            var tc = NodeConfig(role: .township, nodeID: t.code, name: t.name, countyCode: "450223", defaultOperator: "经办人")
            tc.extra["county_public_key"] = Hex.encode(try county.publicKey().raw)
            let town = try TownshipNode.create(directory: dir + "/" + t.code, config: tc)
            try town.actAs("tester", .clerk, .leader)
            Self.at(town, "2026-01-05")
            try county.enrol(township: t.code, name: t.name, publicKeyHex: Hex.encode(try town.publicKey().raw))
            towns[t.code] = town
            _ = try pull(t.code)
            let mine = generator.people(of: t, index: i, ids: &ids, cards: &cards)
            people[t.code] = mine
            for (k, p) in mine.enumerated() {
                _ = try town.register(BeneficiaryInput(
                    residentID: try ResidentID(p.residentID), name: p.name, village: p.village, household: p.household, phone: p.phone,
                    account: AccountInput(bank: p.bank, number: try AccountNumber(p.account, kind: try AccountKind(parsing: p.kind)),
                                          confirmation: p.confirmation)))
                try town.recordApplication(ApplicationInput(residentID: try ResidentID(p.residentID), programCode: "GD01", period: period,
                                                            quantity: try Quantity(parsing: "2.5"), villageResult: .passed))
                if k < 3 {
                    try town.recordApplication(ApplicationInput(residentID: try ResidentID(p.residentID), programCode: "TF01", period: period,
                                                                quantity: try Quantity(parsing: "1"), villageResult: .passed))
                }
            }
            try town.passVillageNotices(program: "GD01")
            Self.at(town, "2026-03-02")
            let n = try town.openNotice(program: "GD01", period: period, postedOn: try CivilDate(parsing: "2026-03-02"), place: "各村村务公开栏",
                                        phone: i == 0 ? "0772-6812345" : "13912345678")
            Self.at(town, "2026-03-09")
            _ = try town.closeNotice(n.id, on: try CivilDate(parsing: "2026-03-09"))
            _ = try town.submitAsLeader(try town.buildRoster(program: "GD01", period: period).id)
            _ = try town.submitAsLeader(try town.buildRoster(program: "TF01", period: period).id)
            _ = try push(t.code)
        }
        try county.actAs("reviewer", .reviewer("GD01"), .reviewer("TF01"))
        try county.actAs("approver", .approver)
        try county.actAs("payer", .payments)
        try county.actAs(TestOperators.administrator)
        try county.addBank(code: "ABC", name: "农行", serves: ["广西农村信用社", "中国农业银行", "中国邮政储蓄银行"], folder: bankFolder, agreement: .init(number: "LZCZ-DF-2025-01", start: try CivilDate(parsing: "2025-01-01"), end: try CivilDate(parsing: "2027-12-31"), fees: "免费"))
        for program in ["GD01", "TF01"] {
            try county.actAs(TestOperators.administrator)
            try county.actAs("approver", .approver)
            try county.setBudget(program: program, period: period, amount: try Fen(yuan: "1000000"))
        }
        let rosters = try county.rosters()
        let paidNow = rosters.filter { $0.node == "450223101" || $0.program == "TF01" }
        try county.become("reviewer")
        for r in paidNow { try county.review(r.id, approve: true, reason: "") }
        try county.become("approver")
        let approval = try county.approve(paidNow.map(\.id))
        try county.become("payer")
        _ = try county.dispatch(on: try CivilDate(parsing: "2026-11-16"))
        // The bank pays all but the first GD01 payment of 寨沙镇.
        let gd = try county.payments().filter { $0.program == "GD01" }.map(\.id).min()!
        for batch in approval.batches {
            var lines: [BankFile.ResultLine] = []
            for p in try county.payments(batch: batch) {
                let fail = p.id == gd
                lines.append(.init(lineID: String(p.id), status: fail ? .failed : .paid, amountFen: p.amountFen, date: try CivilDate(parsing: "2026-11-17"),
                                   reason: fail ? .accountClosed : nil, reasonText: fail ? "账户已销户 \(p.accountNumber)" : "",
                                   returnedFen: fail ? p.amountFen : 0))
            }
            try FileOutput.writeAtomically(bytes: BankFile.write(BankFile.Result(batch: batch, bank: "ABC", lines: lines)),
                                           to: bankFolder + "/inbox/result-\(batch).txt")
        }
        _ = try county.receiveResults(today: try CivilDate(parsing: "2026-11-18"))
        try county.actAs(TestOperators.administrator)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    static func at(_ node: TownshipNode, _ day: String) {
        let instant = try! CivilDate(parsing: day).instantInChina(hour: 10)
        node.now = { instant }
    }

    func push(_ code: String) throws -> TownshipNode.PushReport {
        try towns[code]!.push(maxOperations: 50) { bytes, signature in
            let a = county.receive(peer: code, bytes: bytes, signature: signature)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }

    func pull(_ code: String) throws -> Int {
        try towns[code]!.pull { after in
            let a = county.stream(peer: code, after: after)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }

    var everyone: [CountyGenerator.Person] { codes.flatMap { people[$0]! } }

    func publish(_ out: String, replace: Bool = false, parameters: QueryStore.Parameters = cheap) throws -> CountyNode.PublishReport {
        try county.publish(out: out, replace: replace, parameters: parameters)
    }
}

/// Every regular file under `root` (relative paths).
func filesUnder(_ root: String) -> [String] {
    (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: root + "/" + $0, isDirectory: &isDir) && !isDir.boolValue
    }.sorted()
}

@Suite("ykt publish: the signed public site and the query store")
struct PublishTests {
    @Test("the demo county's site: policy list, notices, payment results and channels, nothing secret, nothing unmasked, totals as the county's")
    func demoSite() throws {
        let demo = try DemoCounty()
        let out = demo.dir + "/public"
        let report = try demo.publish(out)
        let site = out + "/site"
        let files = filesUnder(site)
        for f in ["index.html", "style.css", "policy/index.html", "policy/policy.csv", "policy/versions.html", "policy/versions.csv",
                  "notices/index.html", "notices/index.csv", "payments/index.html", "payments/index.csv", "payments/villages.csv",
                  "complaints.html", "complaints.csv", "manifest.json", "manifest.sig"] {
            #expect(files.contains(f), "\(f)")
        }
        #expect(filesUnder(out) == ["query.store"] + files.map { "site/" + $0 })   // nothing else, no temporary folder left
        // Every page: Chinese, a viewport, the stylesheet; every CSV linked from a page is there, with a BOM.
        for f in files where f.hasSuffix(".html") {
            let html = try String(contentsOfFile: site + "/" + f, encoding: .utf8)
            #expect(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"), "\(f)")
            #expect(html.contains("lang=\"zh-CN\"") && html.contains("style.css"), "\(f)")
            #expect(!html.contains("<script"), "\(f)")
            for csv in html.components(separatedBy: "href=\"").dropFirst().map({ String($0.prefix { $0 != "\"" }) }) where csv.hasSuffix(".csv") {
                let path = ((site + "/" + f) as NSString).deletingLastPathComponent + "/" + csv
                #expect(FileManager.default.contents(atPath: path)?.starts(with: [0xEF, 0xBB, 0xBF]) == true, "\(f) → \(csv)")
            }
        }
        let index = try String(contentsOfFile: site + "/index.html", encoding: .utf8)
        #expect(index.contains("鹿寨县") && index.contains(report.publishedAt) && index.contains("href=\"query\"") && index.contains("href=\"complaint\""))
        #expect(index.contains("https://ykt.example.gov.cn/query"))
        // What the site holds.
        let policy = try String(contentsOfFile: site + "/policy/index.html", encoding: .utf8)
        #expect(policy.contains("耕地地力保护补贴") && policy.contains("财农〔2016〕26号") && policy.contains("县农业农村局") && policy.contains("112.35"))
        #expect(report.site.policies == 6 && report.site.notices == 2 && report.site.noticeLines == 20)
        #expect(report.site.rosters == 1 && report.site.paymentLines == 10 && report.site.paid == 9 && report.site.failed == 1)
        let complaints = try String(contentsOfFile: site + "/complaints.html", encoding: .utf8)
        #expect(complaints.contains("0772-6812000") && complaints.contains("0772-6812345") && complaints.contains("139****5678"))
        #expect(!complaints.contains("13912345678"))
        let notice = try String(contentsOfFile: site + "/notices/450223101-1.html", encoding: .utf8)
        let first = demo.people["450223101"]![0]
        #expect(notice.contains(first.name) && notice.contains(Masking.residentID(first.residentID)) && notice.contains(first.village))
        #expect(notice.contains("2026-03-02") && notice.contains("各村村务公开栏"))
        let payments = try String(contentsOfFile: site + "/payments/index.html", encoding: .utf8)
        #expect(payments.contains("寨沙镇") && !payments.contains("中渡镇"))   // 中渡镇's GD01 is still under review
        // Each village's people on a page of their own, linked from the roster's page.
        let rosterPage = try #require(files.first { $0.hasPrefix("payments/450223101-") && $0.hasSuffix(".html") && $0.split(separator: "-").count == 2 })
        let villagePages = files.filter { $0.hasPrefix(String(rosterPage.dropLast(5)) + "-") && $0.hasSuffix(".html") }
        #expect(villagePages.count == 2)
        let villagePage = try String(contentsOfFile: site + "/" + villagePages[0], encoding: .utf8)
        let villagers = demo.people["450223101"]!.filter { villagePage.contains(Masking.residentID($0.residentID)) }
        #expect(villagers.count == 5 && villagers.allSatisfy { villagePage.contains($0.name) && villagePage.contains(Masking.account($0.account)) })
        // Secret programs nowhere; no ID, card, account or mobile of the demo anywhere in clear.
        var secrets = ["TF01", "特殊对象生活补助", "内部文件", "13912345678"]
        for p in demo.everyone {
            secrets += [p.residentID, p.account]
            if !p.phone.isEmpty { secrets.append(p.phone) }
        }
        let storeBytes = try Data(contentsOf: URL(fileURLWithPath: out + "/query.store"))
        for f in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: site + "/" + f))
            for s in secrets { #expect(bytes.range(of: Data(s.utf8)) == nil, "\(f) holds \(Masking.digits(in: s))") }
        }
        for s in secrets + demo.everyone.map(\.name) { #expect(storeBytes.range(of: Data(s.utf8)) == nil, "the store holds \(Masking.digits(in: s))") }
        // Totals as the county holds them (public programs only).
        let paidFen = try demo.county.db.integer("SELECT sum(amount_fen) FROM payment WHERE status = 'paid' AND program = 'GD01'") ?? -1
        let failedFen = try demo.county.db.integer("SELECT sum(amount_fen) FROM payment WHERE status = 'failed' AND program = 'GD01'") ?? -1
        #expect(report.site.paidFen == paidFen && report.site.failedFen == failedFen && paidFen > 0)
        let summary = try String(contentsOfFile: site + "/payments/index.csv", encoding: .utf8)
        #expect(summary.contains("合计,,,10,\"\(Fen(paidFen + failedFen).yuanGrouped)\",9,\"\(Fen(paidFen).yuanGrouped)\",1,"))
        // The query store: a resident finds their own records, masked; nothing secret.
        let store = try QueryStore(path: out + "/query.store")
        #expect(store.entryCount == report.store.entries && store.county == "鹿寨县")
        #expect(report.store.entries == 20)   // every GD01 applicant: paid, failed or under review
        let failedID = try #require(try demo.county.db.first("SELECT resident_id FROM payment WHERE status = 'failed'") { $0.text(0) })
        let unpaid = try #require(demo.everyone.first { $0.residentID == failedID })
        let failed = try #require(try store.lookup(id: unpaid.residentID, name: unpaid.name))
        #expect(failed.map(\.programName) == ["耕地地力保护补贴"])
        #expect(failed[0].status == "发放失败（待更正补发）" && failed[0].reason.hasPrefix("账户已销户 "), "\(failed[0].reason)")
        #expect(!failed[0].reason.contains(unpaid.account) && failed[0].reason.contains(Masking.account(unpaid.account)))
        #expect(failed[0].account == Masking.account(unpaid.account) && failed[0].phone == "0772-6812345" && failed[0].township == "寨沙镇")
        let second = try #require(demo.people["450223101"]!.first { $0.residentID != failedID })
        #expect(try store.lookup(id: second.residentID, name: second.name)?.map(\.status) == ["已发放"])
        let other = demo.people["450223102"]![0]
        let review = try #require(try store.lookup(id: other.residentID, name: other.name))
        #expect(review.map(\.status) == ["审核中"] && review[0].phone == "139****5678")
        #expect(try store.lookup(id: other.residentID, name: unpaid.name) == nil)
        // Signed, verifiable, audited.
        let manifest = try SiteManifest.verify(siteFolder: site, storePath: out + "/query.store", publicKey: try demo.county.publicKey())
        #expect(manifest.files == files.filter { $0 != "manifest.json" && $0 != "manifest.sig" })
        #expect(manifest.keyID == (try demo.county.publicKey().keyID) && manifest.store.sha256 == report.store.sha256)
        #expect(try SHA256.hex(ofFile: site + "/manifest.json") == report.manifestSHA256)
        #expect(try demo.county.db.integer("SELECT count(*) FROM audit WHERE action = 'publish'") == 1)
    }

    @Test("the store's entries come from one ordered scan, one per (ID, name) the county knows, each with all of the ID's public records")
    func entriesGrouped() throws {
        let demo = try DemoCounty()
        // 寨沙镇's first person also appears under a second name on a roster line (a corrected typo).
        let first = demo.people["450223101"]![0]
        try demo.county.db.run("UPDATE payment SET name = '改名' || name WHERE resident_id = ?", first.residentID)
        var calls: [(String, String, [PublicRecord])] = []
        try demo.county.db.snapshot { try demo.county.forEachPublicEntry { calls.append(($0, $1, $2)) } }
        #expect(calls.map(\.0) == calls.map(\.0).sorted())
        let mine = calls.filter { $0.0 == first.residentID }
        #expect(Set(mine.map(\.1)) == [first.name, "改名" + first.name])
        #expect(mine.allSatisfy { $0.2 == mine[0].2 && $0.2.count == 1 })
        #expect(calls.allSatisfy { $0.2.allSatisfy { $0.programName != "特殊对象生活补助" } })
        #expect(Set(calls.map(\.0)).count == 20)
        // The three scans are merged by SQLite, the register and the payments read in order from
        // their indexes: no temporary tree sorts them whole.
        let plan = try demo.county.db.all("EXPLAIN QUERY PLAN " + CountyNode.publicEntriesSQL) { $0.text(3) }
        #expect(plan.contains { $0.contains("MERGE") }, "\(plan)")
        #expect(plan.contains { $0.contains("resident") && $0.contains("INDEX") }, "\(plan)")
        #expect(plan.contains { $0.contains("payment") && $0.contains("payment_resident") }, "\(plan)")
        #expect(plan.contains { $0.contains("SEARCH l USING PRIMARY KEY") }, "\(plan)")   // lines under review from their rosters
    }

    @Test("a tampered site is refused, naming the file: a byte edited, a file added, one removed, the store swapped, a symlink, another key")
    func tampering() throws {
        let demo = try DemoCounty()
        let out = demo.dir + "/public"
        _ = try demo.publish(out)
        let site = out + "/site", store = out + "/query.store"
        let key = try demo.county.publicKey()
        func refused(_ file: String, _ what: String, key: Ed25519.PublicKey? = key, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
            let error = #expect(throws: YKTError.self, "\(what)", sourceLocation: sourceLocation) {
                try SiteManifest.verify(siteFolder: site, storePath: store, publicKey: key)
            }
            #expect(error?.code == .siteManifest, sourceLocation: sourceLocation)
            #expect(error?.location?.file?.hasSuffix(file) == true, "\(what): \(error?.location?.file ?? "none")", sourceLocation: sourceLocation)
        }
        _ = try SiteManifest.verify(siteFolder: site, storePath: store, publicKey: key)
        let page = site + "/policy/index.html"
        let original = try Data(contentsOf: URL(fileURLWithPath: page))
        var edited = original
        edited[edited.count / 2] ^= 0x01
        try edited.write(to: URL(fileURLWithPath: page))
        refused("policy/index.html", "a byte edited")
        try original.write(to: URL(fileURLWithPath: page))
        // Same size and a different byte in a CSV.
        try "<p>extra</p>".write(toFile: site + "/notices/extra.html", atomically: true, encoding: .utf8)
        refused("notices/extra.html", "a file added")
        try FileManager.default.removeItem(atPath: site + "/notices/extra.html")
        let csv = site + "/notices/index.csv"
        let csvBytes = try Data(contentsOf: URL(fileURLWithPath: csv))
        try FileManager.default.removeItem(atPath: csv)
        refused("notices/index.csv", "a file removed")
        // The same bytes behind a symbolic link are refused too.
        try csvBytes.write(to: URL(fileURLWithPath: demo.dir + "/copy.csv"))
        try FileManager.default.createSymbolicLink(atPath: csv, withDestinationPath: demo.dir + "/copy.csv")
        refused("notices/index.csv", "a symlink")
        try FileManager.default.removeItem(atPath: csv)
        try csvBytes.write(to: URL(fileURLWithPath: csv))
        _ = try SiteManifest.verify(siteFolder: site, storePath: store, publicKey: key)
        // Another store (from a second publish) in place of this one.
        _ = try demo.publish(demo.dir + "/second")
        let storeBytes = try Data(contentsOf: URL(fileURLWithPath: store))
        try FileManager.default.removeItem(atPath: store)
        try FileManager.default.copyItem(atPath: demo.dir + "/second/query.store", toPath: store)
        refused("query.store", "the store swapped")
        try FileManager.default.removeItem(atPath: store)
        try storeBytes.write(to: URL(fileURLWithPath: store))
        // The manifest edited, then re-signed with another key.
        let manifestPath = site + "/manifest.json"
        let manifestBytes = try Data(contentsOf: URL(fileURLWithPath: manifestPath))
        let forged = Data(String(decoding: manifestBytes, as: UTF8.self).replacingOccurrences(of: "鹿寨县", with: "鹿寨镇").utf8)
        try forged.write(to: URL(fileURLWithPath: manifestPath))
        refused("manifest.sig", "the manifest edited")
        try manifestBytes.write(to: URL(fileURLWithPath: manifestPath))
        let other = try Ed25519.PrivateKey.generate()
        var manifest = try JSONDecoder().decode(SiteManifest.self, from: manifestBytes)
        manifest.publicKey = Hex.encode(try other.publicKey.raw)
        manifest.keyID = try other.publicKey.keyID
        try FileManager.default.removeItem(atPath: manifestPath)
        try FileManager.default.removeItem(atPath: site + "/manifest.sig")
        try manifest.write(siteFolder: site) { try other.sign($0) }
        refused("manifest.sig", "signed with another key")
        // Without the county's key it verifies, and shows the other key's fingerprint, not the county's.
        let shown = try SiteManifest.verify(siteFolder: site, storePath: store, publicKey: nil)
        #expect(shown.fingerprint == (try other.publicKey.keyID) && shown.fingerprint != key.keyID)
    }

    @Test("an output folder that holds a publish is refused unless --replace; replacing swaps both; a failed publish leaves nothing")
    func replaceAndFailure() throws {
        let demo = try DemoCounty()
        let out = demo.dir + "/public"
        let first = try demo.publish(out)
        let error = #expect(throws: YKTError.self) { try demo.publish(out) }
        #expect(error?.code == .publishExists && error?.code.exitStatus == .ruleRefused)
        // A publish that fails half-way (the store cannot be built) leaves the old one as it was.
        let before = try filesUnder(out).map { try SHA256.hex(ofFile: out + "/" + $0) }
        #expect(throws: YKTError.self) { try demo.publish(out, replace: true, parameters: QueryStore.Parameters(logN: 0, r: 8, p: 1)) }
        #expect(try filesUnder(out).map { try SHA256.hex(ofFile: out + "/" + $0) } == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["query.store", "site"])
        // Into a new folder: nothing at all is left, not even the folder.
        let fresh = demo.dir + "/fresh"
        #expect(throws: YKTError.self) { try demo.publish(fresh, parameters: QueryStore.Parameters(logN: 0, r: 8, p: 1)) }
        #expect(!FileManager.default.fileExists(atPath: fresh))
        #expect(try demo.county.db.integer("SELECT count(*) FROM audit WHERE action = 'publish'") == 1)
        // Replaced: the new site and store verify together, and the other files in the folder stay.
        try "keep".write(toFile: out + "/README.txt", atomically: true, encoding: .utf8)
        demo.county.now = { Date().addingTimeInterval(3600) }
        let second = try demo.publish(out, replace: true)
        #expect(second.store.sha256 != first.store.sha256)
        _ = try SiteManifest.verify(siteFolder: out, storePath: out + "/query.store", publicKey: try demo.county.publicKey())
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["README.txt", "query.store", "site"])
        #expect(try String(contentsOfFile: out + "/site/index.html", encoding: .utf8).contains(second.publishedAt))
    }

    @Test("no complaint phone in the county's node.conf: refused before anything is written")
    func needsCountyPhone() throws {
        let demo = try DemoCounty(countyPhone: nil)
        let error = #expect(throws: YKTError.self) { try demo.publish(demo.dir + "/public") }
        #expect(error?.code == .nodeConfig && error?.location?.field == "complaint_phone")
        #expect(!FileManager.default.fileExists(atPath: demo.dir + "/public"))
    }
}
