import Testing
@testable import YKTCore

@Suite("Resident ID (GB 11643)")
struct ResidentIDTests {
    let today = CivilDate(year: 2026, month: 11, day: 21)!

    @Test("valid numbers pass, including check character X and lower-case x")
    func valid() throws {
        // 11010519491231002X is the standard's own example.
        #expect(try ResidentID("11010519491231002X", today: today).value == "11010519491231002X")
        #expect(try ResidentID("11010519491231002x", today: today).value == "11010519491231002X")
        let padded = ResidentID.completing("44052419800101001")
        #expect(try ResidentID(" \(padded) ", today: today).value == padded)
        let id = try ResidentID("11010519491231002X", today: today)
        #expect(id.birthDate == CivilDate(year: 1949, month: 12, day: 31))
        #expect(id.sex == "女")
    }

    @Test("completing computes the check character the validator expects")
    func completing() throws {
        for body in ["45022319500101123", "45022320000229456", "11010519491231002", "65010119800707070"] {
            let full = ResidentID.completing(body)
            #expect(try ResidentID(full, today: today).value == full)
        }
    }

    @Test("every wrong check character is refused with the right one named")
    func checkDigit() {
        let good = ResidentID.completing("45022319500101123")
        for c in "0123456789X" where Character(String(good.last!)) != c {
            let bad = String(good.dropLast()) + String(c)
            let error = #expect(throws: YKTError.self) { try ResidentID(bad, today: today) }
            #expect(error?.code == .idCheckDigit)
            #expect(error?.message.contains("「\(good.last!)」") == true)
        }
    }

    @Test("length, characters, region and birth date are checked", arguments: [
        ("4502231950010112", ErrorCode.idLength),
        ("4502231950010112345", .idLength),
        ("45022319500101A234", .idCharacters),
        ("X50223195001011234", .idCharacters),
        ("99022319500101123X", .idRegion),
        ("450000195001011234", .idRegion),
        ("450223195002301234", .idBirthDate),
        ("450223189912311234", .idBirthDate),
        ("450223202712011234", .idBirthDate),
        ("450223195013011234", .idBirthDate),
    ])
    func invalid(text: String, code: ErrorCode) {
        let error = #expect(throws: YKTError.self) { try ResidentID(text, today: today) }
        #expect(error?.code == code)
    }

    @Test("born today is accepted, born tomorrow is not")
    func birthBoundary() throws {
        let todayID = ResidentID.completing("45022320261121123")
        #expect(throws: Never.self) { try ResidentID(todayID, today: today) }
        let tomorrow = ResidentID.completing("45022320261122123")
        let error = #expect(throws: YKTError.self) { try ResidentID(tomorrow, today: today) }
        #expect(error?.code == .idBirthDate)
    }

    @Test("masking keeps region code and last four")
    func masking() throws {
        #expect(try ResidentID("11010519491231002X", today: today).masked == "110105********002X")
        #expect(Masking.residentID("450223195001011234") == "450223********1234")
    }
}
