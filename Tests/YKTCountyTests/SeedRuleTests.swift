import Foundation
import Testing
import YKTNode
import YKTCore
import YKTStore
import YKTTestSupport
@testable import YKTCounty
@testable import YKTTownship

/// Issue 20, item 6: agency agreements (代发协议, seed 003: 签订不超过3年的代发协议).
@Suite("Agency bank agreements: at most 3 years, no dispatch without one in force, warned 60 days ahead")
struct BankAgreementTests {
    func terms(_ number: String, _ start: String, _ end: String, fees: String = "免费") throws -> CountyNode.AgreementTerms {
        .init(number: number, start: try CivilDate(parsing: start), end: try CivilDate(parsing: end), fees: fees)
    }

    @Test("an agreement longer than 3 calendar years is refused naming --agreement-end; exactly 3 years is taken")
    func longerThanThreeYears() throws {
        let loop = try Loop(agreement: nil)
        let county = try loop.by("管理员")
        let long = #expect(throws: YKTError.self) {
            try county.editBank(code: "ABC", agreement: try terms("LZ-4Y", "2025-01-01", "2028-01-02"))
        }
        #expect(long?.code == .bankAgreementTerm)
        #expect(long?.location?.field == "--agreement-end")
        #expect(long?.hint?.contains("2028-01-01") == true)
        // Also on `bank add`, and for a start on 29 February (3 years on: 28 February).
        let leap = #expect(throws: YKTError.self) {
            try county.addBank(code: "RCC", name: "农信社", serves: [], folder: loop.c.dir.sub("bank-RCC"),
                               agreement: try terms("LZ-LEAP", "2024-02-29", "2027-03-01"))
        }
        #expect(leap?.code == .bankAgreementTerm)
        #expect(try county.agencyBanks().map(\.code) == ["ABC"])   // nothing recorded
        #expect(try county.bankAgreements().isEmpty)
        try county.addBank(code: "RCC", name: "农信社", serves: [], folder: loop.c.dir.sub("bank-RCC"),
                           agreement: try terms("LZ-LEAP", "2024-02-29", "2027-02-28"))
        try county.editBank(code: "ABC", agreement: try terms("LZ-3Y", "2025-01-01", "2028-01-01"))
        #expect(try county.bankAgreements().map(\.terms.number) == ["LZ-3Y", "LZ-LEAP"])
    }

    @Test("an agreement that ends before it starts, or without fee terms, is refused naming the field")
    func endBeforeStartAndNoFees() throws {
        let loop = try Loop(agreement: nil)
        let county = try loop.by("管理员")
        let backwards = #expect(throws: YKTError.self) {
            try county.editBank(code: "ABC", agreement: try terms("LZ-1", "2026-01-01", "2025-12-31"))
        }
        #expect(backwards?.code == .dateOrder)
        #expect(backwards?.location?.field == "--agreement-end")
        let noFees = #expect(throws: YKTError.self) {
            try county.editBank(code: "ABC", agreement: try terms("LZ-1", "2026-01-01", "2026-12-31", fees: "  "))
        }
        #expect(noFees?.location?.field == "--fees")
        #expect(try county.bankAgreements().isEmpty)
    }

    @Test("dispatch is refused for a bank with no agreement, one not yet started or one expired; nothing is sent; recording one lets it go")
    func dispatchNeedsAnAgreementInForce() throws {
        let loop = try Loop(agreement: nil)
        try loop.by("审核员").review(1, approve: true, reason: "")
        _ = try loop.by("审定员").approve([1])
        let county = try loop.by("支付经办员")
        func refusal() throws -> YKTError? {
            let e = #expect(throws: YKTError.self) { try county.dispatch(on: loop.d("2026-11-16")) }
            #expect(try county.batches().allSatisfy { $0.status == "created" })
            #expect(try FileManager.default.contentsOfDirectory(atPath: loop.bankFolder + "/outbox").isEmpty)
            return e
        }
        let none = try refusal()
        #expect(none?.code == .bankAgreement)
        #expect(none?.message.contains("ABC（农行）：没有登记代发协议") == true)
        #expect(none?.hint?.contains("ykt bank edit --code ABC --agreement") == true)
        try loop.by("管理员").editBank(code: "ABC", agreement: try terms("LZ-NEXT", "2026-12-01", "2029-11-30"))
        #expect(try refusal()?.message.contains("代发协议 LZ-NEXT 自 2026-12-01 起才生效") == true)
        try loop.by("管理员").editBank(code: "ABC", agreement: try terms("LZ-OLD", "2023-11-16", "2026-11-15"))
        #expect(try refusal()?.message.contains("代发协议 LZ-OLD 已于 2026-11-15 到期") == true)
        // The old agreement corrected (same number): it ran to 2026-11-30.
        try loop.by("管理员").editBank(code: "ABC", agreement: try terms("LZ-OLD", "2023-12-01", "2026-11-30"))
        let sent = try loop.by("支付经办员").dispatch(on: loop.d("2026-11-16"))
        #expect(sent.count == 1 && sent[0].status == "dispatched")
    }

    @Test("the county is told 60 days before its agreements stop covering a bank, not earlier, and not once a renewal follows")
    func warnedSixtyDaysAhead() throws {
        let loop = try Loop()   // 2025-01-01 to 2027-12-31
        func expiring(_ day: String) throws -> [CountyNode.AgreementCover] { try loop.county.status(today: loop.d(day)).bankAgreements }
        #expect(try expiring("2027-11-01").first?.daysLeft == 60)
        #expect(try expiring("2027-11-01").first?.state == "expiring")
        #expect(try expiring("2027-10-31").isEmpty)
        #expect(try expiring("2028-01-01").first?.state == "none")
        #expect(try expiring("2028-01-01").first?.lastEnded?.terms.number == "LZCZ-DF-2025-01")
        // A renewal recorded ahead, starting the day after: the cover runs on, nothing to warn.
        try loop.by("管理员").editBank(code: "ABC", agreement: try terms("LZCZ-DF-2028-01", "2028-01-01", "2030-12-31"))
        #expect(try expiring("2027-11-01").isEmpty)
        let cover = try loop.county.agreementCovers(on: loop.d("2027-11-01")).first
        #expect(cover?.coveredThrough == loop.d("2030-12-31"))
        #expect(cover?.inForce?.terms.number == "LZCZ-DF-2025-01")
        #expect(try expiring("2030-11-01").first?.daysLeft == 60)
    }

    @Test("each recorded agreement rests on a signed entry: one changed in the database is found by audit verify")
    func agreementsAreSigned() throws {
        let loop = try Loop()
        try loop.by("管理员").editBank(code: "ABC", folder: loop.c.dir.sub("bank-ABC-2"),
                                      agreement: try terms("LZ-2", "2027-06-01", "2030-05-31", fees: "每笔 0.50 元，由财政支付"))
        #expect(try loop.county.verifyOperators(decided: loop.county.decidedRows()).isEmpty)
        #expect(try loop.county.agencyBanks().first?.folder == loop.c.dir.sub("bank-ABC-2"))
        try loop.county.db.run("UPDATE bank_agreement SET end_on = '2031-05-31' WHERE number = 'LZ-2'")
        let problems = try loop.county.verifyOperators(decided: loop.county.decidedRows())
        #expect(problems.count == 1)
        #expect(problems.first.map { "\($0)" }?.contains("代发协议 LZ-2") == true)
    }
}

/// Issue 20, item 7: problem leads handed to the discipline commission (移交问题线索, seed 004).
@Suite("Problem leads: numbered once, masked unless an auditor asks, every export audited, counted monthly")
struct ProblemLeadTests {
    /// A loop with one confirmed warning (an official's relative on the roster), one upheld
    /// complaint, one complaint closed not upheld and one open warning-free complaint.
    static func withLeads() throws -> Loop {
        let loop = try Loop()
        let county = loop.county
        try county.db.run("INSERT INTO official(resident_id, name, unit, relation, source) VALUES (?, '韦秀英', '鹿寨县某局', '本人', 'test')",
                          loop.people[0])
        try loop.by("支付经办员").runWarnings()
        let warning = try #require(try county.warnings(status: "open", rule: .official).first)
        try loop.by("审核员").closeWarning(warning.id, confirmed: true, reason: "核实为该局在编人员本人，违规领取")
        try county.actAs("tousu", .complaints)
        let upheld = try county.addComplaint(about: "resident:\(loop.people[1])", content: "反映其已迁出仍领取，电话 13800138000",
                                             complainant: "李举报", channel: "来信", on: loop.d("2026-11-20"))
        try county.closeComplaint(upheld, outcome: "经核查属实", on: loop.d("2026-11-21"), upheld: true)
        let dismissed = try county.addComplaint(about: "resident:\(loop.people[2])", content: "反映到账晚", complainant: "匿名",
                                                channel: "来电", on: loop.d("2026-11-20"))
        try county.closeComplaint(dismissed, outcome: "已到账", on: loop.d("2026-11-21"))
        return loop
    }

    @Test("only confirmed warnings and upheld complaints are leads; each is numbered on its first export and not listed again unless --all")
    func numberedOnceOnlyNewNextTime() throws {
        let loop = try Self.withLeads()
        try loop.county.actAs("approver", .approver)
        #expect(try loop.county.problemLeads().map(\.source).sorted() == ["complaint", "warning"])
        let out = loop.c.dir.sub("leads-1.csv")
        let first = try loop.county.exportLeads(to: out, full: false, on: loop.d("2026-11-21"))
        #expect(first.export == 1 && first.listed == 2 && first.newLeads == 2)
        let csv = try String(contentsOfFile: out, encoding: .utf8)
        #expect(FileManager.default.contents(atPath: out)?.prefix(3) == Data([0xEF, 0xBB, 0xBF]))   // UTF-8 BOM, for Excel/WPS
        #expect(csv.contains("线索编号,首次移交批次,来源,问题类别"))
        #expect(FileManager.default.fileExists(atPath: loop.c.dir.sub("leads-1.html")))
        #expect(try loop.county.db.all("SELECT number FROM lead ORDER BY number") { $0.int64(0) } == [1, 2])
        // Nothing new: no file, no export recorded.
        let again = try loop.county.exportLeads(to: loop.c.dir.sub("leads-2.csv"), full: false, on: loop.d("2026-11-22"))
        #expect(again.export == nil)
        #expect(!FileManager.default.fileExists(atPath: loop.c.dir.sub("leads-2.csv")))
        // A new upheld complaint: the next export lists it alone, number 3.
        try loop.county.actAs("tousu", .complaints)
        let third = try loop.county.addComplaint(about: "roster:1", content: "冒领", complainant: "王某", channel: "网络", on: loop.d("2026-11-22"))
        try loop.county.closeComplaint(third, outcome: "属实", on: loop.d("2026-11-23"), upheld: true)
        try loop.county.actAs("approver", .approver)
        let next = try loop.county.exportLeads(to: loop.c.dir.sub("leads-3.csv"), full: false, on: loop.d("2026-11-23"))
        #expect(next.export == 2 && next.listed == 1 && next.newLeads == 1)
        #expect(try loop.county.problemLeads(pendingOnly: false).compactMap(\.number) == [1, 2, 3])
        // --all: every lead, numbers unchanged, none new.
        let all = try loop.county.exportLeads(to: loop.c.dir.sub("leads-all.csv"), full: false, all: true, on: loop.d("2026-11-23"))
        #expect(all.listed == 3 && all.newLeads == 0)
        let allCSV = try String(contentsOfFile: loop.c.dir.sub("leads-all.csv"), encoding: .utf8)
        #expect(allCSV.contains("\r\n3,2,投诉举报 3,"))
        #expect(try loop.county.db.integer("SELECT max(number) FROM lead") == 3)
    }

    @Test("the masked list shows no full resident ID, phone or complainant; --full shows them, only for an auditor, in a 0600 file")
    func maskedUnlessAuditor() throws {
        let loop = try Self.withLeads()
        let full = loop.people[1]
        try loop.county.actAs("approver", .approver)
        let refused = #expect(throws: YKTError.self) {
            try loop.county.exportLeads(to: loop.c.dir.sub("full.csv"), full: true, on: loop.d("2026-11-21"))
        }
        #expect(refused?.code == .roleMissing)
        #expect(try loop.county.db.integer("SELECT count(*) FROM lead") == 0)
        try loop.county.actAs("payer", .payments)
        #expect((#expect(throws: YKTError.self) {
            try loop.county.exportLeads(to: loop.c.dir.sub("x.csv"), full: false, on: loop.d("2026-11-21"))
        })?.code == .roleMissing)

        try loop.county.actAs("approver", .approver)
        _ = try loop.county.exportLeads(to: loop.c.dir.sub("masked.csv"), full: false, on: loop.d("2026-11-21"))
        let masked = try String(contentsOfFile: loop.c.dir.sub("masked.csv"), encoding: .utf8)
            + String(contentsOfFile: loop.c.dir.sub("masked.html"), encoding: .utf8)
        #expect(!masked.contains(full) && masked.contains(Masking.residentID(full)))
        #expect(!masked.contains(loop.people[0]))
        #expect(!masked.contains("13800138000") && !masked.contains("李举报"))
        try loop.county.actAs("shen", .auditor)
        let r = try loop.county.exportLeads(to: loop.c.dir.sub("full.csv"), full: true, all: true, on: loop.d("2026-11-21"))
        #expect(r.full && r.listed == 2 && r.newLeads == 0)
        let text = try String(contentsOfFile: loop.c.dir.sub("full.csv"), encoding: .utf8)
        #expect(text.contains(full) && text.contains("李举报") && text.contains("13800138000"))
        let mode = try FileManager.default.attributesOfItem(atPath: loop.c.dir.sub("full.csv"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // Both exports are in the audit trail: who, how many, masked or full.
        let audited = try loop.county.db.all("SELECT operator, detail FROM audit WHERE action = 'leads.export' ORDER BY seq") {
            "\($0.text(0)) \($0.text(1))"
        }
        #expect(audited.count == 2)
        #expect(audited[0].hasPrefix("approver export=#1 listed=2 new=2 numbers=1-2 masked"))
        #expect(audited[1].hasPrefix("shen export=#2 listed=2 new=0 numbers=1-2 full all"))
    }

    @Test("an export that cannot write its file records nothing: no numbers, no export")
    func failedExportRecordsNothing() throws {
        let loop = try Self.withLeads()
        try loop.county.actAs("approver", .approver)
        // A regular file where the folder should be: the CSV cannot be written.
        try Data("x".utf8).write(to: URL(fileURLWithPath: loop.c.dir.sub("blocker")))
        #expect(throws: YKTError.self) {
            try loop.county.exportLeads(to: loop.c.dir.sub("blocker/leads.csv"), full: false, on: loop.d("2026-11-21"))
        }
        #expect(try loop.county.db.integer("SELECT count(*) FROM lead") == 0)
        #expect(try loop.county.db.integer("SELECT count(*) FROM lead_export") == 0)
        #expect(try loop.county.db.integer("SELECT count(*) FROM audit WHERE action = 'leads.export'") == 0)
    }

    @Test("--from/--to bound the day a lead was decided; --to before --from is refused")
    func dateRange() throws {
        let loop = try Self.withLeads()
        // The complaint was closed on 2026-11-21, the warning confirmed today (the county's clock).
        let today = CivilDate.inChina(at: loop.county.now())
        #expect(try loop.county.problemLeads(from: loop.d("2026-11-21"), to: loop.d("2026-11-21")).map(\.source) == (today == loop.d("2026-11-21") ? ["complaint", "warning"] : ["complaint"]))
        #expect(try loop.county.problemLeads(from: today, to: today).map(\.source).contains("warning"))
        #expect(try loop.county.problemLeads(to: loop.d("2026-11-20")).isEmpty)
        let e = #expect(throws: YKTError.self) { try loop.county.problemLeads(from: loop.d("2026-11-22"), to: loop.d("2026-11-21")) }
        #expect(e?.code == .dateOrder)
    }

    @Test("the monthly report counts the leads first handed over in the month")
    func monthlyReportCountsLeads() throws {
        let loop = try Self.withLeads()
        try loop.county.actAs("approver", .approver)
        _ = try loop.county.exportLeads(to: loop.c.dir.sub("leads.csv"), full: false, on: loop.d("2026-11-21"))
        _ = try loop.county.exportLeads(to: loop.c.dir.sub("leads-all.csv"), full: false, all: true, on: loop.d("2026-12-01"))
        #expect(try loop.county.leadsHandedOver(month: Period(parsing: "2026-11")) == .init(warnings: 1, complaints: 1))
        #expect(try loop.county.leadsHandedOver(month: Period(parsing: "2026-12")).total == 0)   // re-listed, not new
        let paths = try loop.county.printMonthlyReport(month: Period(parsing: "2026-11"), into: loop.c.dir.path, printedOn: loop.d("2026-12-01"))
        #expect(try String(contentsOfFile: paths.html, encoding: .utf8).contains("本月向纪委监委移交问题线索 2 条（预警 1 条，投诉举报 1 条"))
        #expect(try String(contentsOfFile: paths.csv, encoding: .utf8).contains("本月移交问题线索（条）,2,其中预警,1,其中投诉举报,1"))
    }
}
