import Testing
@testable import YKTCore

@Suite("Designated accounts, phones, names")
struct AccountTests {
    @Test("cards of 16–19 digits pass Luhn; spaces and dashes are removed")
    func cards() throws {
        #expect(try AccountNumber("4111 1111 1111 1111", kind: .card).value == "4111111111111111")
        #expect(try AccountNumber("6228-4800-0000-0000-018", kind: .card).value.count == 19)
        let completed = AccountNumber.completingLuhn("622848123456789012")
        #expect(try AccountNumber(completed, kind: .card).value == completed)
    }

    @Test("a wrong digit fails Luhn")
    func luhn() {
        let error = #expect(throws: YKTError.self) { try AccountNumber("4111111111111112", kind: .card) }
        #expect(error?.code == .accountLuhn)
        // The message never shows the whole number.
        #expect(error?.message.contains("4111111111111112") == false)
    }

    @Test("length and characters", arguments: ["411111111111111", "41111111111111111111", "4111a11111111111"])
    func cardFormat(text: String) {
        let error = #expect(throws: YKTError.self) { try AccountNumber(text, kind: .card) }
        #expect(error?.code == .accountFormat)
    }

    @Test("passbooks have no Luhn check but a length of 8–30")
    func passbooks() throws {
        #expect(try AccountNumber("12345678901234567890", kind: .passbook).kind == .passbook)
        #expect(throws: YKTError.self) { try AccountNumber("1234567", kind: .passbook) }
    }

    @Test("account kinds in Chinese")
    func kinds() throws {
        #expect(try AccountKind(parsing: "存折") == .passbook)
        #expect(try AccountKind(parsing: "银行卡") == .card)
        #expect(try AccountKind(parsing: "") == .card)
        #expect(throws: YKTError.self) { try AccountKind(parsing: "信用卡") }
        // Every spelling as written, trimmed, or in capitals; the refusal names the text.
        for (text, kind) in [("折", AccountKind.passbook), (" 存折\u{3000}", .passbook), ("PASSBOOK", .passbook), (" Card ", .card),
                             ("借记卡", .card), ("其他银行卡", .card), ("卡", .card), ("社保卡金融账户", .socialSecurityCard)] {
            #expect(try AccountKind(parsing: text) == kind, "\(text)")
        }
        #expect(throws: YKTError.self) { try AccountKind(parsing: "存 折") }
        do { _ = try AccountKind(parsing: "信用卡 ") } catch { #expect(error.message.contains("「信用卡 」")) }
    }

    @Test("the social security card is a kind of its own (issue 20): 社保卡 no longer means a bank card; its number is checked like a card's")
    func socialSecurityCard() throws {
        for text in ["社保卡", "社会保障卡", "社会保障卡金融账户", "social-security-card", " 社保卡 "] {
            #expect(try AccountKind(parsing: text) == .socialSecurityCard)
        }
        #expect(AccountKind.socialSecurityCard.rawValue == "social-security-card")
        #expect(AccountKind.socialSecurityCard.chinese == "社保卡")
        #expect(try AccountKind(parsing: AccountKind.socialSecurityCard.rawValue) == .socialSecurityCard)
        let n = try AccountNumber("6230 1812 3456 7890 127", kind: .socialSecurityCard)
        #expect(n.kind == .socialSecurityCard && n.value == "6230181234567890127")
        #expect(n.masked == Masking.account("6230181234567890127"))
        let luhn = #expect(throws: YKTError.self) { try AccountNumber("6230181234567890126", kind: .socialSecurityCard) }
        #expect(luhn?.code == .accountLuhn && luhn?.message.contains("社保卡号") == true)
        let short = #expect(throws: YKTError.self) { try AccountNumber("123456789012", kind: .socialSecurityCard) }
        #expect(short?.code == .accountFormat)
        let kind = #expect(throws: YKTError.self) { try AccountKind(parsing: "医保卡") }
        #expect(kind?.hint?.contains("社保卡") == true)
    }

    @Test("phones: mobile and fixed line")
    func phones() throws {
        #expect(try PhoneNumber.validate("138 0013 8000") == "13800138000")
        #expect(try PhoneNumber.validate("0772-6812345") == "0772-6812345")
        #expect(throws: YKTError.self) { try PhoneNumber.validate("12345") }
        #expect(Masking.phone("13800138000") == "138****8000")
    }

    @Test("names: Chinese, minority names with a dot; no digits")
    func names() throws {
        #expect(try PersonName.validate(" 韦秀英 ") == "韦秀英")
        #expect(try PersonName.validate("阿依古丽·买买提") == "阿依古丽·买买提")
        #expect((#expect(throws: YKTError.self) { try PersonName.validate("") })?.code == .fieldMissing)
        #expect((#expect(throws: YKTError.self) { try PersonName.validate("张3") })?.code == .nameInvalid)
    }

    @Test("account masking keeps first and last four, same length")
    func masking() {
        #expect(Masking.account("6228480000000000018") == "6228***********0018")
        #expect(Masking.account("6228480000000000018").count == 19)
    }

    /// The byte checks of the county's bulk path say yes only where the full check accepts the
    /// text unchanged: never to anything the full check refuses or would normalise.
    @Test("the byte checks of names and account numbers accept a subset of what the full checks accept unchanged")
    func byteChecks() {
        func plainName(_ s: String) -> Bool { Array(s.utf8).withUnsafeBufferPointer(PersonName.isPlainIdeographs) }
        func plainNumber(_ s: String, _ kind: AccountKind) -> Bool {
            Array(s.utf8).withUnsafeBufferPointer { AccountNumber.isPlainValid($0, kind: kind) }
        }
        #expect(plainName("韦秀英") && plainName("㐀") && plainName(String(repeating: "韦", count: 30)))
        for name in ["", " 韦秀英", "韦秀英 ", "阿依·买买提", "Aygul", "韦秀英1", String(repeating: "韦", count: 31), "韦\u{3000}英", "ｱ", "〇"] {
            #expect(!plainName(name), "\(name)")
        }
        // Overlong and surrogate three-byte forms are never ideographs.
        for bytes: [UInt8] in [[0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xE4, 0xB8], [0xE4, 0x38, 0x80]] {
            #expect(!bytes.withUnsafeBufferPointer(PersonName.isPlainIdeographs))
        }
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("韦秀英覃一丁龥㐀䶵·. 1aＡ\u{3000}")
        for _ in 0..<2_000 {
            let name = String((0..<Int.random(in: 0...32, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            if plainName(name) { #expect((try? PersonName.validate(name)) == name, "\(name)") }
        }
        func exactly(_ s: String) -> AccountKind? { Array(s.utf8).withUnsafeBufferPointer(AccountKind.init(exactly:)) }
        #expect(AccountKind.allCases.allSatisfy { exactly($0.rawValue) == $0 })
        #expect(["", "Card", "card ", "银行卡", "passbooK", "social-security-carD"].allSatisfy { exactly($0) == nil })
        let card = AccountNumber.completingLuhn("622848000000000001")
        #expect(plainNumber(card, .card) && plainNumber(card, .socialSecurityCard) && plainNumber("12345678", .passbook))
        for (number, kind) in [("6228-480000000000018", AccountKind.card), (" " + card, .card), ("１" + card.dropFirst(), .card),
                               (String(card.dropLast()) + (card.last == "0" ? "1" : "0"), .card), ("1234567", .passbook),
                               (String(repeating: "1", count: 31), .passbook), ("411111111111111", .card), ("", .card)] {
            #expect(!plainNumber(number, kind), "\(number)")
        }
        let digits = Array("0123456789-x")
        for _ in 0..<2_000 {
            let number = String((0..<Int.random(in: 6...21, using: &generator)).map { _ in digits.randomElement(using: &generator)! })
            for kind in AccountKind.allCases where plainNumber(number, kind) {
                #expect((try? AccountNumber(number, kind: kind))?.value == number, "\(number)")
            }
        }
    }
}
