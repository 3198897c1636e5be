import Foundation
import Testing
import YKTNode
import YKTCore
import YKTDemo
import YKTCounty
import YKTCrypto
import YKTTestSupport
@testable import YKTTownship

/// The tools that read a printed card back: Chromium prints it to A4 PDF, poppler's pdfinfo,
/// pdftotext and pdftoppm read the PDF and draw its pages, zbarimg reads the QR code off the
/// page image. Installed by `.ci/setup`; missing, they fail the test that needs them unless
/// `YKT_SKIP_PRINT_TESTS=1` says to skip it on purpose.
enum CardPrintTools {
    static let skipped = ProcessInfo.processInfo.environment["YKT_SKIP_PRINT_TESTS"] == "1"

    static func find(_ name: String) -> String? {
        ["/usr/bin/", "/usr/local/bin/", "/bin/"].map { $0 + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func ready() -> Bool {
        let missing = ["chromium", "pdfinfo", "pdftotext", "pdftoppm", "zbarimg"].filter { find($0) == nil }
        if missing.isEmpty { return true }
        if !skipped { Issue.record("缺少打印测试工具：\(missing.joined(separator: "、"))。请运行 .ci/setup 安装（或设置 YKT_SKIP_PRINT_TESTS=1 明确跳过）") }
        return false
    }

    /// Prints `html` to `<same name>.pdf` as an office PC's Chromium does (A4, no header or footer).
    static func printToPDF(_ html: String) throws -> String {
        let pdf = URL(fileURLWithPath: html).deletingPathExtension().appendingPathExtension("pdf").path
        let profile = NSTemporaryDirectory() + "ykt-chromium-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: profile) }
        let r = try TestProcess.run("/usr/bin/timeout", ["90", find("chromium")!, "--headless", "--no-sandbox", "--disable-gpu",
                                                         "--user-data-dir=\(profile)", "--print-to-pdf=\(pdf)", "--no-pdf-header-footer",
                                                         URL(fileURLWithPath: html).absoluteString])
        #expect(r.status == 0 && FileManager.default.fileExists(atPath: pdf), "chromium \(html): \(r.status)")
        return pdf
    }

    static func pages(_ pdf: String) throws -> Int {
        let info = try TestProcess.run(find("pdfinfo")!, [pdf]).stdout
        let line = info.split(separator: "\n").first { $0.hasPrefix("Pages:") } ?? ""
        return Int(line.dropFirst("Pages:".count).trimmingCharacters(in: .whitespaces)) ?? 0
    }

    /// Each page's text, laid out as printed.
    static func pageTexts(_ pdf: String) throws -> [String] {
        try TestProcess.run(find("pdftotext")!, ["-layout", "-enc", "UTF-8", pdf, "-"]).stdout
            .split(separator: "\u{0C}", omittingEmptySubsequences: false).map(String.init)
            .filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
    }

    /// What zbarimg reads off each page of the PDF drawn at 150 dpi: the texts of the QR codes
    /// found, page by page.
    static func qrCodes(_ pdf: String) throws -> [[String]] {
        let base = URL(fileURLWithPath: pdf).deletingPathExtension().path + "-page"
        let drawn = try TestProcess.run(find("pdftoppm")!, ["-r", "150", "-gray", "-png", pdf, base])
        #expect(drawn.status == 0)
        let dir = URL(fileURLWithPath: pdf).deletingLastPathComponent().path
        let prefix = URL(fileURLWithPath: base).lastPathComponent
        let images = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(prefix) && $0.hasSuffix(".png") }.sorted()
        return try images.map { image in
            let r = try TestProcess.run(find("zbarimg")!, ["--raw", "-q", "-Sdisable", "-Sqrcode.enable", dir + "/" + image])
            return r.stdout.split(separator: "\n").map(String.init)
        }
    }
}

/// A county and one township with households: two members in household 0012 of 大塘村, one in
/// 0013 of 石门村, one in 大塘村 with no household number; GD01 and TZ01 (public) and TF01
/// (secret) applied, noticed, rostered, approved and paid, the bank failing 黄丽华's GD01 line.
struct CardWorld {
    let dir = TempDir()
    let county: CountyNode
    let node: TownshipNode
    static let publicURL = "https://ykt.example.gov.cn/"
    static let queryURL = "https://ykt.example.gov.cn/query"

    struct Person { var name: String; var id: String; var village: String; var household: String; var card: String; var phone: String }
    static let people = [
        Person(name: "韦秀英", id: Fixture.id("45022319500101123"), village: "大塘村", household: "0012",
               card: Fixture.card("622848000000000011"), phone: "13800138000"),
        Person(name: "覃建国", id: Fixture.id("45022319620315456"), village: "大塘村", household: "0012",
               card: Fixture.card("622848000000000022"), phone: "13912345678"),
        Person(name: "黄丽华", id: Fixture.id("45022319800707078"), village: "石门村", household: "0013",
               card: Fixture.card("622848000000000033"), phone: ""),
        Person(name: "蒙明", id: Fixture.id("45022319751111222"), village: "大塘村", household: "",
               card: Fixture.card("622848000000000044"), phone: ""),
    ]
    /// (person, program, 亩)
    static let applications: [(Int, String, String)] = [(0, "GD01", "3"), (0, "TZ01", "1.5"), (1, "GD01", "2"), (1, "TF01", "1"),
                                                          (2, "GD01", "1"), (3, "GD01", "4")]

    init() throws {
        (county, node) = try Self.nodes(dir)
        node.at("2026-09-20")
        for p in Self.people {
            _ = try node.register(BeneficiaryInput(
                residentID: try ResidentID(p.id), name: p.name, village: p.village, household: p.household, phone: p.phone,
                account: AccountInput(bank: "中国农业银行", number: try AccountNumber(p.card, kind: .card), confirmation: "QR-\(p.name)")))
        }
        for (person, program, mu) in Self.applications {
            _ = try node.recordApplication(ApplicationInput(residentID: try ResidentID(Self.people[person].id), programCode: program,
                                                            period: try Period(parsing: "2026"), quantity: try Quantity(parsing: mu),
                                                            villageResult: .passed))
        }
        var notices: [Int64] = []
        for program in ["GD01", "TZ01"] { try node.passVillageNotices(program: program, posted: "2026-09-21", closed: "2026-09-29") }
        node.at("2026-09-30")
        for program in ["GD01", "TZ01"] {
            notices.append(try node.openNotice(program: program, period: try Period(parsing: "2026"), postedOn: try CivilDate(parsing: "2026-09-30"),
                                               place: "各村村务公开栏", phone: "0772-6812345").id)
        }
        node.at("2026-10-13")
        for n in notices { _ = try node.closeNotice(n, on: try CivilDate(parsing: "2026-10-13")) }
        for program in ["GD01", "TZ01", "TF01"] {
            _ = try node.submitAsLeader(try node.buildRoster(program: program, period: try Period(parsing: "2026")).id)
        }
        _ = try Self.pay(county: county, node: node, dir: dir) { $0.program == "GD01" && $0.residentID == Self.people[2].id }
    }

    /// A county (calendar and the demo policy list published) and its township 寨沙镇
    /// (450223101), enrolled, with `public_url` and `complaint_phone` set, the county's lists pulled.
    static func nodes(_ dir: TempDir) throws -> (CountyNode, TownshipNode) {
        let county = try CountyNode.create(directory: dir.file("county"), config: NodeConfig(
            role: .county, nodeID: "450223", name: "鹿寨县", countyCode: "450223", defaultOperator: "县管理员"))
        try county.actAs(TestOperators.administrator)
        try county.publishCalendar(path: dir.write("cn-holidays.tsv", WorkCalendar.builtInTSV))
        try county.publishPolicy(path: dir.write("programs.csv", CountyGenerator.programsCSV))
        var config = NodeConfig(role: .township, nodeID: "450223101", name: "寨沙镇", countyCode: "450223", defaultOperator: "测试员")
        config.extra["county_public_key"] = Hex.encode(try county.publicKey().raw)
        config.extra["public_url"] = publicURL
        config.extra["complaint_phone"] = "0772-6812000"
        let node = try TownshipNode.create(directory: dir.file("node"), config: config)
        try node.actAs("tester", .clerk, .leader)
        try county.enrol(township: "450223101", name: "寨沙镇", publicKeyHex: Hex.encode(try node.publicKey().raw))
        try Fixture.pull(node, from: county)
        return (county, node)
    }

    /// The township's change sets go up; the county reviews, approves and pays every roster it
    /// received (the agency bank pays all three banks' accounts), the bank failing the payments
    /// `failing` picks; the results come down. Returns the county's payments.
    static func pay(county: CountyNode, node: TownshipNode, dir: TempDir,
                    failing: (CountyNode.Payment) -> Bool = { _ in false }) throws -> [CountyNode.Payment] {
        _ = try node.push { bytes, signature in
            let a = county.receive(peer: "450223101", bytes: bytes, signature: signature)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
        let rosters = try county.rosters()
        try county.actAs("payer", .payments)
        for r in rosters {
            try county.setBudget(program: r.program, period: try Period(parsing: r.period), amount: try Fen(yuan: "1000000"))
        }
        try county.actAs(TestOperators.administrator)
        let bank = dir.file("bank-ABC")
        try county.addBank(code: "ABC", name: "中国农业银行", serves: ["广西农村信用社", "中国邮政储蓄银行"], folder: bank, agreement: .init(number: "LZCZ-DF-2025-01", start: try CivilDate(parsing: "2025-01-01"), end: try CivilDate(parsing: "2027-12-31"), fees: "免费"))
        try county.actAs("reviewer", roles: Set(rosters.map(\.program)).sorted().map { OperatorGrant.reviewer($0) })
        for r in rosters { try county.review(r.id, approve: true, reason: "") }
        try county.actAs("approver", .approver)
        let approved = try county.approve(rosters.map(\.id))
        try county.actAs("payer", .payments)
        _ = try county.dispatch(on: try CivilDate(parsing: "2026-11-16"))
        var all: [CountyNode.Payment] = []
        for batch in approved.batches {
            let payments = try county.payments(batch: batch)
            all += payments
            let answers = try payments.map { p in
                let fail = failing(p)
                return BankFile.ResultLine(lineID: String(p.id), status: fail ? .failed : .paid, amountFen: p.amountFen,
                                           date: try CivilDate(parsing: "2026-11-17"), reason: fail ? .accountClosed : nil,
                                           reasonText: fail ? "账户已销户" : "", returnedFen: fail ? p.amountFen : 0)
            }
            try FileOutput.writeAtomically(bytes: BankFile.write(BankFile.Result(batch: batch, bank: "ABC", lines: answers)),
                                           to: bank + "/inbox/result-\(batch).txt")
        }
        #expect(try county.receiveResults(today: try CivilDate(parsing: "2026-11-18")).allSatisfy { $0.refusal == nil })
        try Fixture.pull(node, from: county)
        node.at("2026-11-20")
        return all
    }
}

@Suite("惠民惠农补贴明白卡: one sheet per household, the right programs and amounts, masked, with the query QR code")
struct CardTests {
    @Test("a household's card lists each member's public programs with standard, period, amount and state; secret programs never")
    func householdCard() throws {
        let w = try CardWorld()
        let (cards, skipped) = try w.node.cards(.household("0012"))
        #expect(skipped == 0 && cards.count == 1)
        let card = try #require(cards.first)
        #expect(card.village == "大塘村" && card.household == "0012")
        #expect(card.members.map(\.name) == ["韦秀英", "覃建国"])
        #expect(card.members.map(\.maskedID) == [Masking.residentID(CardWorld.people[0].id), Masking.residentID(CardWorld.people[1].id)])
        #expect(card.members.map(\.maskedAccount) == [Masking.account(CardWorld.people[0].card), Masking.account(CardWorld.people[1].card)])
        // 3 亩 × 112.35, 1.5 亩 × 150.00, 2 亩 × 112.35; TF01 (secret) is not on the card.
        let lines = card.lines.map { "\($0.name) \($0.program) \($0.period) \($0.standard) \($0.quantity) \(Fen($0.amountFen).yuan) \($0.state) \($0.date)" }
        #expect(lines.sorted() == [
            "覃建国 耕地地力保护补贴 2026 112.35 元/亩 2 亩 224.70 已发放 2026-11-17",
            "韦秀英 糖料蔗良种补贴 2026 150.00 元/亩 1.5 亩 225.00 已发放 2026-11-17",
            "韦秀英 耕地地力保护补贴 2026 112.35 元/亩 3 亩 337.05 已发放 2026-11-17",
        ].sorted())
        #expect(card.paidFen == 78_675)
        #expect(!card.lines.contains { $0.program.contains("特殊对象") })

        // The same household from one of its members; a resident without a household number alone.
        #expect(try w.node.cards(.resident(try ResidentID(CardWorld.people[1].id))).cards == cards)
        let alone = try w.node.cards(.resident(try ResidentID(CardWorld.people[3].id))).cards
        #expect(alone.count == 1 && alone[0].household == "" && alone[0].members.map(\.name) == ["蒙明"])
        #expect(alone[0].lines.map { Fen($0.amountFen).yuan } == ["449.40"])
        // A village: its households with approved lines, one card each; the whole township.
        #expect(try w.node.cards(.village("大塘村")).cards.map(\.members.count) == [1, 2])
        let failed = try w.node.cards(.village("石门村")).cards
        #expect(failed.count == 1 && failed[0].lines.map(\.state) == ["发放失败（账户已销户）"] && failed[0].paidFen == 0)
        #expect(try w.node.cards(.all).cards.count == 3)
    }

    @Test("a household of the demo county (ykt demo generate's register and applications): its card lists exactly the public payments the county made to its members")
    func demoHousehold() throws {
        let dir = TempDir()
        var options = CountyGenerator.Options()
        options.townships = 1
        options.villagesPerTownship = 1
        options.peoplePerVillage = 30
        let generator = CountyGenerator(options: options)
        _ = try generator.write(to: dir.file("demo"))
        let (county, node) = try CardWorld.nodes(dir)
        node.at("2026-09-20")
        #expect(try node.importBeneficiaries(path: dir.file("demo/450223101-register.csv")).imported == 30)
        _ = try node.importApplications(path: dir.file("demo/450223101-applications.csv"))
        // Every public program and period noticed and closed; every one rostered and submitted.
        let groups = Set(try node.applications().map { "\($0.programCode)/\($0.period)" }).sorted()
        var notices: [Int64] = []
        for g in groups {
            let parts = g.split(separator: "/").map(String.init)
            guard !(try node.program(parts[0])).secret else { continue }
            try node.passVillageNotices(program: parts[0], period: parts[1], posted: "2026-09-21", closed: "2026-09-29")
        }
        node.at("2026-09-30")
        for g in groups {
            let parts = g.split(separator: "/").map(String.init)
            guard !(try node.program(parts[0])).secret else { continue }
            notices.append(try node.openNotice(program: parts[0], period: try Period(parsing: parts[1]),
                                               postedOn: try CivilDate(parsing: "2026-09-30"), place: "村务公开栏", phone: "0772-6812345").id)
        }
        node.at("2026-10-13")
        for n in notices { _ = try node.closeNotice(n, on: try CivilDate(parsing: "2026-10-13")) }
        for g in groups {
            let parts = g.split(separator: "/").map(String.init)
            _ = try node.submitAsLeader(try node.buildRoster(program: parts[0], period: try Period(parsing: parts[1])).id)
        }
        let payments = try CardWorld.pay(county: county, node: node, dir: dir)

        // The demo's households are three residents each; take the one the county paid most lines to.
        let register = try node.beneficiaries()
        let households = Dictionary(grouping: register, by: \.household)
        let paidLines = { (h: String) in payments.filter { p in households[h]!.contains { $0.residentID == p.residentID } }.count }
        let household = try #require(households.keys.sorted().max { paidLines($0) < paidLines($1) })
        #expect(households[household]!.count == 3 && paidLines(household) >= 2)

        let card = try #require(try node.cards(.household(household)).cards.first)
        #expect(card.members.map(\.name).sorted() == households[household]!.map(\.name).sorted())
        let programs = try Dictionary(uniqueKeysWithValues: ["GD01", "TZ01", "YL01", "GL01", "CJ01", "TF01", "GY01"].map { ($0, try node.program($0)) })
        let expected = payments.filter { p in households[household]!.contains { $0.residentID == p.residentID } && !programs[p.program]!.secret }
            .map { "\($0.name) \(programs[$0.program]!.name) \($0.period) \(Fen($0.amountFen).yuan) 已发放" }.sorted()
        let listed = card.lines.map { "\($0.name) \($0.program) \($0.period) \(Fen($0.amountFen).yuan) \($0.state)" }.sorted()
        #expect(listed == expected)
        #expect(card.paidFen == payments.filter { p in households[household]!.contains { $0.residentID == p.residentID }
            && !programs[p.program]!.secret }.reduce(0) { $0 + $1.amountFen })
    }

    @Test("what cannot be printed: an unknown household, village or resident; nothing approved yet")
    func nothingToPrint() throws {
        let w = try CardWorld()
        #expect(#expect(throws: YKTError.self) { try w.node.cards(.household("9999")) }?.code == .cardNone)
        #expect(#expect(throws: YKTError.self) { try w.node.cards(.village("无此村")) }?.code == .cardNone)
        let stranger = try ResidentID(Fixture.id("45022319900101001"))
        #expect(#expect(throws: YKTError.self) { try w.node.cards(.resident(stranger)) }?.code == .residentUnknown)
        // A new household with nothing approved: skipped in a village, printed empty when asked for by number.
        _ = try w.node.register(BeneficiaryInput(residentID: try ResidentID(Fixture.id("45022319881231456")), name: "陆海", village: "古木村",
                                                 household: "0099", account: AccountInput(bank: "中国农业银行",
                                                 number: try AccountNumber(Fixture.card("622848000000000055"), kind: .card), confirmation: "QR-9")))
        #expect(#expect(throws: YKTError.self) { try w.node.cards(.village("古木村")) }?.code == .cardNone)
        let empty = try w.node.cards(.household("0099")).cards
        #expect(empty.count == 1 && empty[0].lines.isEmpty)
        let html = try w.node.cardDocument(.household("0099"), printedOn: try CivilDate(parsing: "2026-11-20")).html
        #expect(html.contains("暂无经县财政审定的补贴发放记录"))
    }

    @Test("the printed card: masked, the complaint phone, audited; on A4 through Chromium one page a household; zbarimg reads its QR code as the query URL")
    func printedCard() throws {
        let w = try CardWorld()
        let out = w.dir.file("明白卡-大塘村.html")
        let printed = try w.node.printCards(.village("大塘村"), to: out, printedOn: try CivilDate(parsing: "2026-11-20"))
        #expect(printed.cards.count == 2 && printed.skipped == 0)
        let html = try String(contentsOfFile: out, encoding: .utf8)
        // Nothing unmasked: no whole ID, account or phone of anyone in the register; no secret program.
        for p in CardWorld.people {
            #expect(!html.contains(p.id) && !html.contains(p.card) && (p.phone.isEmpty || !html.contains(p.phone)), "\(p.name)")
        }
        #expect(html.contains(Masking.residentID(CardWorld.people[0].id)) && html.contains(Masking.account(CardWorld.people[0].card)))
        #expect(!html.contains("特殊对象生活补助"))
        #expect(html.contains("0772-6812000") && html.contains("寨沙镇人民政府") && html.contains("2026年11月20日"))
        #expect(html.components(separatedBy: "<section class=\"card\">").count == 3)
        #expect(html.components(separatedBy: "<svg").count == 3 && html.contains("扫码查询本人<br>补贴发放情况"))
        #expect(!html.contains("style=\""))   // widths in the stylesheet; the QR code by presentation attributes
        let audits = try AuditLog.entries(db: w.node.db).filter { $0.action == "card.print" }
        #expect(audits.count == 1 && audits[0].object == "village 大塘村")

        guard CardPrintTools.ready() else { return }
        let pdf = try CardPrintTools.printToPDF(out)
        #expect(try CardPrintTools.pages(pdf) == 2)
        let pages = try CardPrintTools.pageTexts(pdf)
        #expect(pages.count == 2)
        let flat = pages.map { $0.replacingOccurrences(of: " ", with: "").replacingOccurrences(of: "\n", with: "") }
        // In register order: 蒙明 (no household number) first, then household 0012.
        #expect(flat[0].contains("蒙明") && flat[0].contains("449.40") && !flat[0].contains("韦秀英") && flat[0].contains("本卡只列本人"))
        #expect(flat[1].contains("惠民惠农补贴明白卡") && flat[1].contains("户号：0012") && flat[1].contains("韦秀英") && flat[1].contains("覃建国"))
        #expect(flat[1].contains("337.05") && flat[1].contains("225.00") && flat[1].contains("224.70") && flat[1].contains("合计786.75元"))
        #expect(flat[1].contains("扫码查询本人") && flat[1].contains("监督举报电话：0772-6812000"))
        for p in CardWorld.people { #expect(!pages.joined().contains(p.id) && !pages.joined().contains(p.card)) }
        // Each sheet's QR code, read off the printed page, is the query page's address.
        #expect(try CardPrintTools.qrCodes(pdf) == [[CardWorld.queryURL], [CardWorld.queryURL]])
    }

    @Test("notices and payment-result notices carry the QR code in the corner when public_url is set, and not without it")
    func noticesCarryTheCode() throws {
        let w = try CardWorld()
        let day = try CivilDate(parsing: "2026-11-20")
        let notice = try w.node.noticeDocument(1, printedOn: day).html
        let payment = try w.node.paymentNoticeDocument(1, printedOn: day).html
        let code = try QRCode(CardWorld.queryURL).svg(moduleSize: 4, quietZone: 4)
        for html in [notice, payment] {
            #expect(html.contains(code) && html.contains("扫码查询本人<br>补贴发放情况") && html.contains(".qr { float: right"))
        }
        // Without public_url: the same documents without the code or its stylesheet.
        let conf = w.dir.file("node/node.conf")
        let text = try String(contentsOfFile: conf, encoding: .utf8)
        try text.split(separator: "\n").filter { !$0.hasPrefix("public_url") }.joined(separator: "\n").appending("\n")
            .write(toFile: conf, atomically: true, encoding: .utf8)
        let plain = try TownshipNode.open(directory: w.dir.file("node"))
        try plain.actAs("tester", .clerk, .leader)
        #expect(try plain.queryCode() == nil)
        for html in [try plain.noticeDocument(1, printedOn: day).html, try plain.paymentNoticeDocument(1, printedOn: day).html,
                     try plain.cardDocument(.household("0012"), printedOn: day).html] {
            #expect(!html.contains("<svg") && !html.contains("扫码查询本人") && !html.contains("二维码") && !html.contains(".qr {"))
        }
        // A public_url that is not a web address is a configuration error naming the key.
        try (text.replacingOccurrences(of: "public_url = \(CardWorld.publicURL)", with: "public_url = ykt.example.gov.cn/查询"))
            .write(toFile: conf, atomically: true, encoding: .utf8)
        let wrong = try TownshipNode.open(directory: w.dir.file("node"))
        let e = #expect(throws: YKTError.self) { try wrong.queryCode() }
        #expect(e?.code == .nodeConfig && e?.location?.field == "public_url" && e?.location?.file == conf)
    }

    @Test("the query URL: one slash between public_url and query; too long a public_url is a clear error")
    func queryURL() throws {
        #expect(try QueryCode(publicURL: "https://ykt.example.gov.cn", file: "node.conf").url == "https://ykt.example.gov.cn/query")
        #expect(try QueryCode(publicURL: " https://ykt.example.gov.cn/public/ ", file: "node.conf").url == "https://ykt.example.gov.cn/public/query")
        for bad in ["ftp://x.cn/", "https://", "https://a b.cn/", "https://x.cn/?a=1", "https://x.cn/\"><script>"] {
            #expect(throws: YKTError.self, "\(bad)") { try QueryCode(publicURL: bad, file: "node.conf") }
        }
        let long = #expect(throws: YKTError.self) { try QueryCode(publicURL: "https://x.cn/" + String(repeating: "a", count: 210), file: "node.conf") }
        #expect(long?.code == .qrTooLong && long?.location?.field == "public_url")
    }
}
