import Testing
@testable import YKTCore

@Suite("JSON strings: which need an escape, read eight bytes at a time")
struct JSONEscapeTests {
    static func byBytes(_ bytes: [UInt8]) -> Bool { bytes.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C } }

    static func needsEscape(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBufferPointer(JSONValue.needsEscape) }

    @Test("each byte that needs one, at every place of a word and of the tail, and its neighbours that do not")
    func everyPlace() {
        for length in 0...20 {
            for place in 0..<max(length, 1) {
                for b in [0x00, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7F, 0x80, 0x9F, 0xA2, 0xDC, 0xFF] as [UInt8] {
                    var bytes = Array(repeating: UInt8(ascii: "a"), count: length)
                    if length > 0 { bytes[place] = b }
                    #expect(Self.needsEscape(bytes) == Self.byBytes(bytes), "\(bytes)")
                }
            }
        }
    }

    @Test("agrees with the byte loop on random text of Chinese, ASCII and the bytes around the ones escaped")
    func random() {
        var rng = SystemRandomNumberGenerator()
        let pool: [UInt8] = [0x00, 0x01, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x30, 0x5B, 0x5C, 0x5D, 0x7F, 0x80, 0xA2, 0xDC, 0xE9, 0x9F, 0xFF]
        for _ in 0..<20_000 {
            let clean = Int.random(in: 0...40, using: &rng)
            var bytes = Array("韦秀英 大塘村 6230182667969154031".utf8.prefix(clean))
            for _ in 0..<Int.random(in: 0...2, using: &rng) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = pool.randomElement(using: &rng)!
            }
            #expect(Self.needsEscape(bytes) == Self.byBytes(bytes), "\(bytes)")
        }
    }

    @Test("a string written with and without an escape is the canonical form")
    func written() {
        for text in ["大塘村", "0\"01", "a\\b", "line\nbreak", "\u{1}", "plain ASCII text, longer than a word"] {
            var out: [UInt8] = []
            var s = text
            s.withUTF8 { JSONValue.writeString(utf8: $0, into: &out) }
            #expect(String(decoding: out, as: UTF8.self) == JSONValue.string(text).canonical)
        }
    }
}
