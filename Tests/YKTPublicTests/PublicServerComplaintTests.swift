import Foundation
import Testing
import YKTCore
import YKTCounty
import YKTNet
import YKTNode
import YKTStore
import YKTTestSupport
@testable import YKTPublic

@Suite("Public complaints: spool and county import")
struct PublicServerComplaintTests {
    func county(_ f: PublicServerFixture) throws -> CountyNode {
        let county = try CountyNode.create(directory: f.folder + "/county", config: NodeConfig(
            role: .county, nodeID: "450223", name: "鹿寨县", countyCode: "450223", defaultOperator: "县管理员"))
        try county.actAs("chen", .complaints)
        return county
    }

    func spoolFiles(_ f: PublicServerFixture) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: f.spool).filter { $0.hasSuffix(".json") }.sorted()
    }

    @Test("a complaint filed on the form is one JSON file (0600, in a 0700 folder) named by the receipt shown")
    func spooled() throws {
        let f = try PublicServerFixture()
        let page = try f.post("/complaint", [("township", "城关镇"), ("program", "耕地地力保护补贴"),
                                             ("content", "第二行<script>\r\n补贴没有到账"), ("name", "李四"), ("phone", "0772-6812000")])
        #expect(page.status == 200 && page.body.contains("受理编号"))
        #expect(!page.body.contains("<script>"))
        let files = try spoolFiles(f)
        #expect(files.count == 1)
        let receipt = String(files[0].dropLast(5))
        #expect(page.body.contains(receipt) && PublicComplaint.isReceipt(receipt))
        let attributes = try FileManager.default.attributesOfItem(atPath: f.spool + "/" + files[0])
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((try FileManager.default.attributesOfItem(atPath: f.spool)[.posixPermissions] as? Int) == 0o700)
        let c = try ComplaintSpool.read(path: f.spool + "/" + files[0])
        #expect(c.content == "第二行<script>\n补贴没有到账" && c.township == "城关镇" && c.phone == "0772-6812000" && c.receipt == receipt)
        // Nothing left under a temporary name.
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.spool).count == 1)
    }

    @Test("a bad complaint comes back on the form with its words and a message; nothing is spooled")
    func badComplaint() throws {
        let f = try PublicServerFixture(build: false)
        try f.start { $0.complaints.perAddressBurst = 3 }
        let long = String(repeating: "长", count: PublicComplaint.maximumContent + 1)
        let tooLong = try f.post("/complaint", [("content", long)])
        #expect(tooLong.status == 400 && tooLong.body.contains("超过上限 2000 字"))
        let empty = try f.post("/complaint", [("content", "  "), ("township", "城关镇")])
        #expect(empty.status == 400 && empty.body.contains("投诉举报内容为空") && empty.body.contains("value=\"城关镇\""))
        let phone = try f.post("/complaint", [("content", "有问题"), ("phone", "call me")])
        #expect(phone.status == 400 && phone.body.contains("联系电话只能含数字"))
        // A stale token: the form again with the words kept and a fresh token; not counted by the limiter.
        let stale = try f.send("POST", "/complaint", headers: ["content-type": "application/x-www-form-urlencoded"],
                               body: PublicServerFixture.encode([("token", "stale"), ("content", "有问题要反映"), ("township", "城关镇")]))
        #expect(stale.status == 403 && stale.body.contains("表单已过期") && stale.body.contains(">有问题要反映</textarea>"))
        #expect(!PublicServerFixture.token(.init(status: 0, headers: [:], body: stale.body)).isEmpty)
        #expect(try spoolFiles(f).isEmpty)
        // Complaints have their own, tighter limit (burst 3 here); the bad posts took none of it.
        for _ in 0..<3 { #expect(try f.post("/complaint", [("content", "有问题")]).status == 200) }
        let limited = try f.post("/complaint", [("content", "有问题")])
        #expect(limited.status == 429 && limited.headers["retry-after"] != nil)
    }

    @Test("the spool never follows a link: a link planted at the temporary name or as the folder is refused")
    func noSymlinkFollowed() throws {
        let f = try PublicServerFixture(build: false)
        try ComplaintSpool.prepare(f.spool)
        let target = f.folder + "/target.txt"
        try Data("original".utf8).write(to: URL(fileURLWithPath: target))
        let c = PublicComplaint(receipt: "20261203-ABCDEFGHJK", receivedAt: "2026-12-03T10:00:00+08:00", township: "", program: "",
                                content: "内容", name: "", phone: "")
        try FileManager.default.createSymbolicLink(atPath: f.spool + "/.tmp-20261203-ABCDEFGHJK", withDestinationPath: target)
        #expect(throws: YKTError.self) { try ComplaintSpool.write(c, into: f.spool) }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "original")
        #expect(!FileManager.default.fileExists(atPath: f.spool + "/20261203-ABCDEFGHJK.json"))
        // The spool folder itself a link: refused at start.
        try FileManager.default.createSymbolicLink(atPath: f.folder + "/spool-link", withDestinationPath: f.spool)
        let refused = #expect(throws: YKTError.self) { try f.start { $0.spoolFolder = f.folder + "/spool-link" } }
        #expect(refused?.code == .publicServe)
        // A file already there under the final name is never replaced.
        try FileManager.default.removeItem(atPath: f.spool + "/.tmp-20261203-ABCDEFGHJK")
        try Data("kept".utf8).write(to: URL(fileURLWithPath: f.spool + "/20261203-ABCDEFGHJK.json"))
        #expect(throws: YKTError.self) { try ComplaintSpool.write(c, into: f.spool) }
        #expect(try String(contentsOfFile: f.spool + "/20261203-ABCDEFGHJK.json", encoding: .utf8) == "kept")
    }

    @Test("import is all-or-nothing: one bad file imports nothing and names file, line and field; then all, audited, moved; twice is skipped")
    func importAllOrNothing() throws {
        let f = try PublicServerFixture()
        for i in 0..<2 {
            #expect(try f.post("/complaint", [("township", "城关镇"), ("content", "第 \(i) 件：补贴未到账"), ("phone", "13800000000")]).status == 200)
        }
        let good = try spoolFiles(f)
        #expect(good.count == 2)
        // A third file, made by hand with a field too long.
        let bad = PublicComplaint(receipt: "20261203-BADF00E000", receivedAt: "2026-12-03T10:00:00+08:00", township: String(repeating: "镇", count: 51),
                                  program: "", content: "内容", name: "", phone: "")
        let badPath = f.spool + "/20261203-BADF00E000.json"
        try Data(try ComplaintSpool.encode(bad)).write(to: URL(fileURLWithPath: badPath))
        let county = try county(f)
        let refused = #expect(throws: YKTError.self) { try county.importPublicComplaints(spool: f.spool) }
        #expect(refused?.code == .publicSpool)
        #expect(refused?.location?.file == badPath && refused?.location?.field == "township" && refused?.location?.line == 9)
        #expect(refused?.message.contains("超过上限 50 字") == true)
        #expect(try county.complaints().isEmpty)
        #expect(try spoolFiles(f).count == 3)

        // A link named like a complaint is refused too.
        try FileManager.default.removeItem(atPath: badPath)
        try FileManager.default.createSymbolicLink(atPath: badPath, withDestinationPath: f.spool + "/" + good[0])
        let link = #expect(throws: YKTError.self) { try county.importPublicComplaints(spool: f.spool) }
        #expect(link?.code == .fileUnsafe && link?.location?.file == badPath)
        #expect(try county.complaints().isEmpty)
        try FileManager.default.removeItem(atPath: badPath)

        let result = try county.importPublicComplaints(spool: f.spool)
        #expect(result.imported.count == 2 && result.skipped.isEmpty && result.notMoved.isEmpty)
        let list = try county.complaints()
        #expect(list.count == 2)
        #expect(list.allSatisfy { $0.subjectKind == "public" && $0.subject == "乡镇：城关镇" && $0.complainant == "13800000000" && $0.status == "open" })
        #expect(Set(list.map(\.content)) == ["第 0 件：补贴未到账", "第 1 件：补贴未到账"])
        #expect(list.allSatisfy { c in result.imported.contains { c.channel.contains($0.receipt) } })
        let audit = try AuditLog.entries(db: county.db).filter { $0.action == "complaint.import" }
        #expect(audit.count == 2 && audit.allSatisfy { $0.operatorName == "chen" })
        #expect(try spoolFiles(f).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.spool + "/imported").sorted() == good)

        // The same file put back: skipped by its receipt, not recorded twice.
        try FileManager.default.copyItem(atPath: f.spool + "/imported/" + good[0], toPath: f.spool + "/" + good[0])
        let again = try county.importPublicComplaints(spool: f.spool)
        #expect(again.imported.isEmpty && again.skipped == [String(good[0].dropLast(5))])
        #expect(try county.complaints().count == 2)
        #expect(try spoolFiles(f).isEmpty)

        // The same receipt with another text (edited or forged): the whole import is refused.
        let original = try String(contentsOfFile: f.spool + "/imported/" + good[0], encoding: .utf8)
        let forged = original.replacingOccurrences(of: "\"content\" : \"", with: "\"content\" : \"改过的")
        #expect(forged != original)
        try forged.write(toFile: f.spool + "/" + good[0], atomically: true, encoding: .utf8)
        let forgedRefused = #expect(throws: YKTError.self) { try county.importPublicComplaints(spool: f.spool) }
        #expect(forgedRefused?.code == .publicSpool && forgedRefused?.location?.file?.hasSuffix(good[0]) == true, "\(String(describing: forgedRefused))")
        #expect(try county.complaints().count == 2)
    }

    @Test("a spool file that is not JSON, lacks a field, or was renamed is refused, naming the file")
    func spoolFileChecks() throws {
        let f = try PublicServerFixture(build: false)
        try ComplaintSpool.prepare(f.spool)
        let path = f.spool + "/20261203-ABCDEFGHJK.json"
        try Data("{\"format\": ".utf8).write(to: URL(fileURLWithPath: path))
        #expect((#expect(throws: YKTError.self) { try ComplaintSpool.read(path: path) })?.message.contains("不是有效的 JSON") == true)
        try Data("{\"format\": \"ykt-public-complaint-1\"}".utf8).write(to: URL(fileURLWithPath: path))
        #expect((#expect(throws: YKTError.self) { try ComplaintSpool.read(path: path) })?.location?.field == "receipt")
        let c = PublicComplaint(receipt: "20261203-ZZZZZZZZZZ", receivedAt: "2026-12-03T10:00:00+08:00", township: "", program: "",
                                content: "内容", name: "", phone: "")
        try Data(try ComplaintSpool.encode(c)).write(to: URL(fileURLWithPath: path))
        let renamed = #expect(throws: YKTError.self) { try ComplaintSpool.read(path: path) }
        #expect(renamed?.message.contains("文件名与受理编号") == true && renamed?.location?.file == path)
    }

    @Test("after migration 20 the county records both kinds of complaint and keeps imported receipts; no table left over")
    func migration() throws {
        let f = try PublicServerFixture(build: false)
        let county = try county(f)
        try county.addComplaint(about: "resident:110101199003071233", content: "旧的投诉", complainant: "匿名", channel: "来电",
                                on: try CivilDate(parsing: "2026-03-02"))
        #expect(try county.complaints().map(\.subjectKind) == ["resident"])
        #expect(try county.db.integer("SELECT count(*) FROM sqlite_master WHERE name = 'public_complaint'") == 1)
        #expect(try county.db.integer("SELECT count(*) FROM sqlite_master WHERE name = 'complaint_v20'") == 0)
    }
}
