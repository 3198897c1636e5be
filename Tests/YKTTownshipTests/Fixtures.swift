import Foundation
import YKTNode
import YKTCore
import YKTDemo
import YKTCounty
import YKTCrypto
import YKTTestSupport
@testable import YKTTownship

/// A temporary directory per test, removed afterwards.
final class TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "ykt-town-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
    func write(_ name: String, _ text: String) -> String {
        _ = FileManager.default.createFile(atPath: file(name), contents: Data(text.utf8))
        return file(name)
    }
    func write(_ name: String, bytes: [UInt8]) -> String {
        _ = FileManager.default.createFile(atPath: file(name), contents: Data(bytes))
        return file(name)
    }
}

enum Fixture {
    static let header = "姓名,身份证号,村（社区）,户号,联系电话,开户银行,账户类型,账号,确认书编号,共用账户理由\n"
    static func id(_ body: String) -> String { ResidentID.completing(body) }
    static func card(_ body: String) -> String { AccountNumber.completingLuhn(body) }

    static let alice = id("45022319500101123")
    static let bob = id("45022319620315456")
    static let carol = id("45022319800707078")
    static let aliceCard = card("622848000000000001")
    static let bobCard = card("622848000000000002")
    static let carolCard = card("622848000000000003")

    static var registerCSV: String {
        header
            + "韦秀英,\(alice),大塘村,001,13800138000,中国农业银行,银行卡,\(aliceCard),QR-1,\n"
            + "覃建国,\(bob),大塘村,002,,中国农业银行,银行卡,\(bobCard),QR-2,\n"
            + "黄丽华,\(carol),石门村,003,0772-6812345,广西农村信用社,,\(carolCard),QR-3,\n"
    }

    /// A new township node with the demo policy list loaded and the county's calendar (the
    /// standard 2025–2026 arrangement, published by a real county node in `dir` and pulled).
    static func node(_ dir: TempDir) throws -> TownshipNode {
        let county = try CountyNode.create(directory: dir.file("county"), config: NodeConfig(
            role: .county, nodeID: "450223", name: "鹿寨县", countyCode: "450223", defaultOperator: "县管理员"))
        try county.actAs(TestOperators.administrator)
        try county.publishCalendar(path: dir.write("cn-holidays.tsv", WorkCalendar.builtInTSV))
        var config = NodeConfig(role: .township, nodeID: "450223101", name: "寨沙镇", countyCode: "450223", defaultOperator: "测试员")
        config.extra["county_public_key"] = Hex.encode(try county.publicKey().raw)
        let node = try TownshipNode.create(directory: dir.file("node"), config: config)
        try node.actAs("tester", .clerk, .leader)
        try county.enrol(township: "450223101", name: "寨沙镇", publicKeyHex: Hex.encode(try node.publicKey().raw))
        try pull(node, from: county)
        try node.loadLocalPrograms(path: dir.write("programs.csv", CountyGenerator.programsCSV))
        node.at("2026-01-05")   // the register and applications are recorded before any notice
        return node
    }

    /// The township pulls the county's stream in-process (what `ykt sync` does over TLS).
    @discardableResult
    static func pull(_ node: TownshipNode, from county: CountyNode) throws -> Int {
        try node.pull { after in
            let a = county.stream(peer: node.config.nodeID, after: after)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }

    /// A node with the three residents registered.
    static func registered(_ dir: TempDir) throws -> TownshipNode {
        let node = try node(dir)
        _ = try node.importBeneficiaries(path: dir.write("reg.csv", registerCSV))
        return node
    }

    static func counts(_ node: TownshipNode) throws -> [Int64] {
        try ["beneficiary", "account", "application", "notice", "objection", "roster", "roster_line", "outbox", "audit"].map {
            try node.db.integer("SELECT count(*) FROM \($0)") ?? -1
        }
    }

    static func d(_ s: String) -> CivilDate { try! CivilDate(parsing: s) }
}

extension TownshipNode {
    /// Sets this node's clock to `day` (10:00 China time): an act dated `day` is then recorded
    /// on its day, as at a township office, not after the fact.
    func at(_ day: String, hour: Int = 10) {
        let instant = Fixture.d(day).instantInChina(hour: hour)
        now = { instant }
    }
}
