import Testing
@testable import YKTCore

@Suite("UTF-8 check without a copy")
struct UTF8CheckTests {
    @Test("agrees with the standard library on the edges of every form")
    func edges() {
        let cases: [[UInt8]] = [
            [], Array("韦秀英 paid 224.70 元".utf8), Array("𠀀 four bytes".utf8),
            [0xC0, 0x80], [0xC1, 0xBF], [0xC2, 0x80], [0xDF, 0xBF],               // overlong two-byte forms, the first good ones
            [0xE0, 0x9F, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xED, 0xA0, 0x80],   // overlong, good, last before and first surrogate
            [0xEF, 0xBF, 0xBF], [0xF0, 0x8F, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0x80], [0xE4, 0xB8], [0xE4, 0xB8, 0x41],
            Array("12345678".utf8) + [0xE4, 0xB8, 0xAD] + Array("abcdefghi".utf8) + [0xE4],   // the eight-byte stride, then a cut-off end
        ]
        for bytes in cases {
            #expect(UTF8Check.isValid(bytes) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
            Self.expectFirstInvalid(bytes)
        }
    }

    /// `TextDecoding.firstInvalidUTF8` (a file's check before import) finds a bad byte exactly
    /// when the standard library refuses the bytes, and everything before it is valid.
    static func expectFirstInvalid(_ bytes: [UInt8]) {
        let bad = TextDecoding.firstInvalidUTF8(bytes)
        #expect((bad == nil) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
        if let bad { #expect(String(validating: bytes[..<bad], as: UTF8.self) != nil, "\(bytes) at \(bad)") }
    }

    @Test("the file check finds the first bad byte after runs of plain ASCII, read eight at a time")
    func firstInvalidAfterASCII() {
        var rng = SystemRandomNumberGenerator()
        let pool: [UInt8] = [0x80, 0xBF, 0xC2, 0xE0, 0xE4, 0xED, 0xF0, 0xF4, 0xFF]
        for _ in 0..<5_000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 0...4, using: &rng) {
                bytes += (0..<Int.random(in: 0...19, using: &rng)).map { _ in UInt8.random(in: 0x20...0x7E, using: &rng) }
                bytes += Int.random(in: 0...2, using: &rng) == 0 ? Array("韦秀英".utf8) : (0..<Int.random(in: 1...3, using: &rng)).map { _ in pool.randomElement(using: &rng)! }
            }
            Self.expectFirstInvalid(bytes)
        }
    }

    @Test("agrees with the standard library on random bytes around the multi-byte forms")
    func random() {
        var rng = SystemRandomNumberGenerator()
        let pool: [UInt8] = [0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xE4, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...12, using: &rng)).map { _ in pool.randomElement(using: &rng)! }
            #expect(UTF8Check.isValid(bytes) == (String(validating: bytes, as: UTF8.self) != nil), "\(bytes)")
            Self.expectFirstInvalid(bytes)
        }
    }

    @Test("a large text checked in two halves at once finds what one pass finds: a bad byte on either side of the split or on both, a character across it")
    func halves() {
        let lines = Array(repeating: Array("韦秀英,450223194202052624,大塘村,𠀀\n".utf8), count: 30_000).flatMap { $0 }
        var invalid = 0
        // Shifted by 0–4 bytes, the middle falls at each byte of a character.
        for shift in 0...4 {
            var text = Array(repeating: UInt8(ascii: "a"), count: shift) + lines
            #expect(text.count >= 1 << 20)
            #expect(TextDecoding.firstInvalidUTF8(text) == nil, "shift \(shift)")
            let mid = text.count / 2
            for place in [0, mid - 4, mid - 3, mid - 2, mid - 1, mid, mid + 1, mid + 2, mid + 3, mid + 4, mid + 5, text.count - 1] {
                for bad in [0xFF, 0x80, 0xE4, 0xF0] as [UInt8] {
                    let kept = text[place]
                    text[place] = bad
                    let onePass = text.withUnsafeBufferPointer { TextDecoding.firstInvalidUTF8($0) }
                    if onePass != nil { invalid += 1 }
                    #expect(TextDecoding.firstInvalidUTF8(text) == onePass, "shift \(shift): \(place) \(bad)")
                    // And with another bad byte far into the second half: the first one is named.
                    text[text.count - 10] = 0xFF
                    #expect(TextDecoding.firstInvalidUTF8(text) == text.withUnsafeBufferPointer { TextDecoding.firstInvalidUTF8($0) })
                    text[text.count - 10] = lines[lines.count - 10]
                    text[place] = kept
                }
            }
        }
        #expect(invalid > 150)   // most replacements break the text (some make another character)
    }
}
