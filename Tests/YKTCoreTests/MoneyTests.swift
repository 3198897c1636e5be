import Testing
@testable import YKTCore

@Suite("Money in fen, quantities, rounding")
struct MoneyTests {
    @Test("yuan text parses exactly to fen", arguments: [
        ("112.35", Int64(11235)), ("80", 8000), ("0.5", 50), ("1,200.05", 120005), ("¥163.00", 16300), ("90元", 9000),
        // Full-width digits, comma and point as typed with a Chinese input method, read like IDs.
        ("１２", 1200), ("１，２００．５", 120050),
    ])
    func parse(text: String, fen: Int64) throws {
        #expect(try Fen(yuan: text).value == fen)
    }

    @Test("bad amounts are refused", arguments: ["-1", "1.234", "abc", "", "1.2.3", "－１"])
    func bad(text: String) {
        #expect((#expect(throws: YKTError.self) { try Fen(yuan: text) })?.code == .moneyInvalid)
    }

    @Test("formatting")
    func format() {
        #expect(Fen(123456789).yuanGrouped == "1,234,567.89")
        #expect(Fen(5).yuan == "0.05")
        #expect(Fen(-1050).yuan == "-10.50")
    }

    @Test("quantities keep up to four decimals exactly")
    func quantities() throws {
        #expect(try Quantity(parsing: "3.25").tenThousandths == 32500)
        #expect(try Quantity(parsing: "0.0001").description == "0.0001")
        #expect(try Quantity(parsing: "12").description == "12")
        #expect(try Quantity(parsing: "１．５").description == "1.5")
        #expect((#expect(throws: YKTError.self) { try Quantity(parsing: "－１．５") })?.message.contains("不能是负数") == true)
        #expect(throws: YKTError.self) { try Quantity(parsing: "1.23456") }
        #expect(throws: YKTError.self) { try Quantity(parsing: "0") }
        #expect(throws: YKTError.self) { try Quantity(parsing: "100001") }
    }

    @Test("amount = standard × quantity, rounded once, half up, to the fen")
    func rounding() throws {
        // 112.35 × 3.33 = 374.1255 → 374.13
        #expect(AmountRule.amount(standard: 11235, quantity: try Quantity(parsing: "3.33")) == 37413)
        // 112.35 × 0.1 = 11.235 → 11.24 (half up)
        #expect(AmountRule.amount(standard: 11235, quantity: try Quantity(parsing: "0.1")) == 1124)
        // 112.35 × 0.0004 = 0.04494 → 0.04
        #expect(AmountRule.amount(standard: 11235, quantity: try Quantity(parsing: "0.0004")) == 4)
        // 163 × 12 months exactly
        #expect(AmountRule.amount(standard: 16300, quantity: try Quantity(parsing: "12")) == 195600)
        // Rounding once, not per unit: 0.05 元 × 0.5 = 0.025 → 0.03
        #expect(AmountRule.amount(standard: 5, quantity: try Quantity(parsing: "0.5")) == 3)
        // The largest inputs stay in range.
        #expect(AmountRule.amount(standard: AmountRule.maximumStandard, quantity: try Quantity(parsing: "100000")).value == 10_000_000_000_000)
    }

    @Test("non-land units need whole quantities")
    func units() throws {
        #expect(throws: YKTError.self) { try ProgramUnit.perPersonMonth.validate(try Quantity(parsing: "1.5")) }
        #expect(throws: Never.self) { try ProgramUnit.perMu.validate(try Quantity(parsing: "1.5")) }
        #expect(try ProgramUnit(parsing: "元/人·月") == .perPersonMonth)
        #expect(try ProgramUnit(parsing: "元/亩") == .perMu)
    }

    @Test("periods")
    func periods() throws {
        #expect(try Period(parsing: "2026").description == "2026")
        #expect(try Period(parsing: "2026-03").chinese == "2026年3月")
        #expect(throws: YKTError.self) { try Period(parsing: "2026-13") }
        #expect(throws: YKTError.self) { try Period(parsing: "26") }
    }
}
