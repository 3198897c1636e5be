import Foundation
import Testing
import YKTNode
import YKTCore
import YKTStore
@testable import YKTTownship

/// 一人（户）一卡 at the township: the household head (户主) on the register, and the programs
/// paid per household (the demo list's GY01 生态公益林补偿, 发放对象 按户).
@Suite("Households: one head per household, per-household programs applied for by the head once")
struct HouseholdTests {
    static let dave = Fixture.id("45022319700505055")
    static let daveCard = Fixture.card("622848000000000004")

    /// Alice heads household 001, Bob is a member of it; Carol heads 003; Dave has no 户号.
    static let headedCSV = "姓名,身份证号,村（社区）,户号,联系电话,开户银行,账户类型,账号,确认书编号,共用账户理由,户主\n"
        + "韦秀英,\(Fixture.alice),大塘村,001,,中国农业银行,银行卡,\(Fixture.aliceCard),QR-1,,是\n"
        + "覃建国,\(Fixture.bob),大塘村,001,,中国农业银行,银行卡,\(Fixture.bobCard),QR-2,,否\n"
        + "黄丽华,\(Fixture.carol),石门村,003,,广西农村信用社,,\(Fixture.carolCard),QR-3,,是\n"
        + "蒙小军,\(dave),石门村,,,中国农业银行,,\(daveCard),QR-4,,\n"

    static func headed(_ dir: TempDir) throws -> TownshipNode {
        let node = try Fixture.node(dir)
        _ = try node.importBeneficiaries(path: dir.write("headed.csv", headedCSV))
        return node
    }

    static func forest(_ node: TownshipNode, _ id: String, period: String = "2026") throws {
        try node.recordApplication(ApplicationInput(residentID: try ResidentID(id), programCode: "GY01", period: try Period(parsing: period),
                                                    quantity: try Quantity(parsing: "3.5"), villageResult: .passed))
    }

    @Test("the import's 户主 column: heads kept and sent (head:true in the operation), a second head or a household left without one refused with the line")
    func importHeads() throws {
        let dir = TempDir()
        let node = try Self.headed(dir)
        #expect(try node.beneficiary(try ResidentID(Fixture.alice)).head)
        #expect(try !node.beneficiary(try ResidentID(Fixture.bob)).head)
        let ops = try node.outbox()
        #expect(ops[0].body.contains(#""head":true,"household":"001""#))
        #expect(!ops[1].body.contains("\"head\""))

        // A second head for 001 (in the register already) and for 007 (twice in the file).
        let header = "姓名,身份证号,村（社区）,户号,开户银行,账号,确认书编号,与户主关系\n"
        let twice = header
            + "蓝天,\(Fixture.id("45022319900101222")),大塘村,001,农行,\(Fixture.card("622848000000000011")),QR-5,户主\n"
            + "莫凡,\(Fixture.id("45022319900101333")),大塘村,007,农行,\(Fixture.card("622848000000000012")),QR-6,本人\n"
            + "潘安,\(Fixture.id("45022319900101444")),大塘村,007,农行,\(Fixture.card("622848000000000013")),QR-7,户主\n"
        let refused = #expect(throws: YKTError.self) { try node.importBeneficiaries(path: dir.write("twice.csv", twice)) }
        let found = Set((refused?.details ?? []).map { "\($0.location?.line ?? 0):\($0.code.rawValue)" })
        #expect(found == ["2:YKT-HOUSEHOLD-HEADS", "4:YKT-HOUSEHOLD-HEADS"])
        // A household whose members the file lists with no head: the whole file refused, naming it.
        let headless = header + "蓝天,\(Fixture.id("45022319900101222")),大塘村,009,农行,\(Fixture.card("622848000000000011")),QR-5,妻\n"
        let none = #expect(throws: YKTError.self) { try node.importBeneficiaries(path: dir.write("none.csv", headless)) }
        #expect(none?.code == .householdHeads && none?.message.contains("户号 009") == true && none?.location?.line == 2)
        #expect(try node.beneficiaryCount() == 4)
        // A head needs a household number.
        let noNumber = header + "蓝天,\(Fixture.id("45022319900101222")),大塘村,,农行,\(Fixture.card("622848000000000011")),QR-5,户主\n"
        let e = #expect(throws: YKTError.self) { try node.importBeneficiaries(path: dir.write("nonumber.csv", noNumber)) }
        #expect(e?.details.first?.code == .householdHeads)
    }

    @Test("add and edit: --head refused where the household has a head; edit --head hands over (old head sent first); a head cannot leave members behind")
    func editHeads() throws {
        let dir = TempDir()
        let node = try Self.headed(dir)
        let account = AccountInput(bank: "农行", number: try AccountNumber(Fixture.card("622848000000000011"), kind: .card), confirmation: "QR-9")
        let newcomer = try ResidentID(Fixture.id("45022319900101222"))
        let second = #expect(throws: YKTError.self) {
            try node.register(BeneficiaryInput(residentID: newcomer, name: "蓝天", village: "大塘村", household: "001", account: account, head: true))
        }
        #expect(second?.code == .householdHeads && second?.message.contains("韦秀英") == true)
        let noNumber = #expect(throws: YKTError.self) {
            try node.register(BeneficiaryInput(residentID: newcomer, name: "蓝天", village: "大塘村", account: account, head: true))
        }
        #expect(noNumber?.code == .householdHeads)
        // Alice, head of 001 with Bob in it, may not move out.
        let leaving = #expect(throws: YKTError.self) { try node.edit(try ResidentID(Fixture.alice), BeneficiaryEdit(household: "002")) }
        #expect(leaving?.code == .householdHeads && leaving?.message.contains("户内还有 1 人") == true)
        // Bob takes over: Alice becomes a member, her change sent before his.
        let before = try node.outbox().count
        let bob = try node.edit(try ResidentID(Fixture.bob), BeneficiaryEdit(head: true))
        #expect(bob.head)
        #expect(try !node.beneficiary(try ResidentID(Fixture.alice)).head)
        let sent = try node.outbox().dropFirst(before)
        #expect(sent.map(\.kind) == ["beneficiary.update", "beneficiary.update"])
        #expect(sent.first?.entity == "beneficiary/\(Fixture.alice)" && sent.first?.body.contains(#""head":false"#) == true)
        #expect(sent.last?.entity == "beneficiary/\(Fixture.bob)" && sent.last?.body.contains(#""head":true"#) == true)
        // Now Alice (a member) may move; she joins 003 as a member.
        let alice = try node.edit(try ResidentID(Fixture.alice), BeneficiaryEdit(household: "003"))
        #expect(alice.household == "003" && !alice.head)
        #expect(try node.db.integer("SELECT count(*) FROM beneficiary WHERE household = '003' AND head = 1") == 1)
    }

    @Test("a per-household program: a member, a person with no 户号 and a headless household refused (YKT-HOUSEHOLD-HEAD); one application per household and period (YKT-HOUSEHOLD-DUPLICATE), also in an import")
    func householdApplications() throws {
        let dir = TempDir()
        let node = try Self.headed(dir)
        #expect(try node.program("GY01").rules.payee == .household)
        let member = #expect(throws: YKTError.self) { try Self.forest(node, Fixture.bob) }
        #expect(member?.code == .householdHead && member?.message.contains("户主是 韦秀英") == true)
        let noNumber = #expect(throws: YKTError.self) { try Self.forest(node, Self.dave) }
        #expect(noNumber?.code == .householdHead && noNumber?.message.contains("没有户号") == true)
        try Self.forest(node, Fixture.alice)
        // Bob becomes head; the household already applied for 2026.
        try node.edit(try ResidentID(Fixture.bob), BeneficiaryEdit(head: true))
        let again = #expect(throws: YKTError.self) { try Self.forest(node, Fixture.bob) }
        #expect(again?.code == .householdDuplicate && again?.message.contains("户号 001") == true)
        try Self.forest(node, Fixture.bob, period: "2027")   // another year: fine
        // A per-person program is untouched by all this.
        try apply(node, Fixture.bob, "GD01", quantity: "1")
        try apply(node, Self.dave, "GD01", quantity: "1")

        // The import: Carol (head of 003) twice in the file, and Alice (no longer head).
        let file = dir.write("apps.csv", "身份证号,姓名,项目编码,期次,数量,村评议结果\n"
            + "\(Fixture.carol),黄丽华,GY01,2026,2.0,通过\n"
            + "\(Fixture.alice),韦秀英,GY01,2028,2.0,通过\n"
            + "\(Fixture.carol),黄丽华,GY01,2026,2.0,通过\n")
        let refused = #expect(throws: YKTError.self) { try node.importApplications(path: file) }
        let found = Set((refused?.details ?? []).map { "\($0.location?.line ?? 0):\($0.code.rawValue)" })
        #expect(found == ["3:YKT-HOUSEHOLD-HEAD", "4:YKT-APPLICATION-DUPLICATE"])
    }

    @Test("a removed head leaves the household headless: its members cannot apply until a new head is named")
    func removedHead() throws {
        let dir = TempDir()
        let node = try Self.headed(dir)
        try node.removeBeneficiary(try ResidentID(Fixture.alice), reason: "迁出")
        let headless = #expect(throws: YKTError.self) { try Self.forest(node, Fixture.bob) }
        #expect(headless?.code == .householdHead && headless?.message.contains("尚未指定户主") == true)
        try node.edit(try ResidentID(Fixture.bob), BeneficiaryEdit(head: true))
        try Self.forest(node, Fixture.bob)
    }

    @Test("户主 and 与户主关系 cells: every spelling, with and without a relation; a near miss of 是 refused")
    func headCells() throws {
        let cases: [(String, String, Bool)] = [
            ("是", "", true), ("否", "", false), ("", "", false), (" 是", "", true), ("是\u{3000}", "", true), ("1", "", true), ("√", "", true),
            ("户主", "", true), ("N", "", false), ("否", "户主", true), ("否", "本人", true), ("是", "子", true), ("", "子", false), ("", "本人", true),
        ]
        for (flag, relation, head) in cases {
            #expect(try TownshipNode.parseHead(flag, relation: relation) == head, "\(flag)/\(relation)")
        }
        for flag in ["是的", "昰", "吝", "x", "否否"] {   // 昰 and 吝 share 是's and 否's first two bytes
            #expect(throws: YKTError.self, "\(flag)") { try TownshipNode.parseHead(flag, relation: "") }
        }
    }
}

/// Records a village-passed application (2026).
private func apply(_ node: TownshipNode, _ resident: String, _ program: String, quantity: String) throws {
    try node.recordApplication(ApplicationInput(residentID: try ResidentID(resident), programCode: program, period: try Period(parsing: "2026"),
                                                quantity: try Quantity(parsing: quantity), villageResult: .passed))
}
