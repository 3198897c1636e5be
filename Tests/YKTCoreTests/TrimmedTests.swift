import Testing
@testable import YKTCore

@Suite("Trimming spaces on the bytes")
struct TrimmedTests {
    /// What `trimmed` promises, one scalar at a time (the earlier, generic implementation).
    static func byScalars(_ text: Substring) -> String {
        let spaces: Set<Unicode.Scalar> = [" ", "\t", "\r", "\n", "\u{3000}", "\u{A0}"]
        let scalars = Array(text.unicodeScalars)
        guard let first = scalars.firstIndex(where: { !spaces.contains($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !spaces.contains($0) })!
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[first...last])
        return String(out)
    }

    @Test("the spaces a register cell carries, and what is not a space")
    func cases() {
        #expect("  韦秀英\t".trimmed == "韦秀英")
        #expect("\u{3000}450223194202052624\u{3000}\r\n".trimmed == "450223194202052624")
        #expect("\u{A0}大塘村\u{A0}".trimmed == "大塘村")
        #expect(" \u{3000}\u{A0}\t\r\n".trimmed == "")
        #expect("".trimmed == "")
        #expect("已在 底册中".trimmed == "已在 底册中")        // spaces inside stay
        #expect("\u{3001}、".trimmed == "\u{3001}、")            // 、(E3 80 81) shares U+3000's first two bytes
        #expect("一\u{3000}".trimmed == "一")
        #expect("\u{A0}\u{301}x".trimmed == "\u{301}x")         // a combining mark after a trimmed space stays alone
        let cell = "  寨沙镇  "
        #expect(cell[cell.index(after: cell.startIndex)...].trimmed == "寨沙镇")
    }

    @Test("agrees with trimming scalar by scalar on random text")
    func random() {
        var rng = SystemRandomNumberGenerator()
        let pool: [String] = [" ", "\t", "\r", "\n", "\u{3000}", "\u{A0}", "a", "韦", "、", "\u{3001}", "\u{301}", "\u{C2}", "\u{80}", "𠀀", "\u{2000}"]
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 0...9, using: &rng)).map { _ in pool.randomElement(using: &rng)! }.joined()
            let cut = Int.random(in: 0...min(2, text.unicodeScalars.count), using: &rng)
            let sub = Substring(text.unicodeScalars.dropFirst(cut))
            #expect(Array(text.trimmed.unicodeScalars) == Array(Self.byScalars(text[...]).unicodeScalars), "\(Array(text.unicodeScalars))")
            #expect(Array(sub.trimmed.unicodeScalars) == Array(Self.byScalars(sub).unicodeScalars), "\(Array(sub.unicodeScalars))")
        }
    }

    @Test("the ends of a string read in place: empty, small, stored, a slice made a string")
    func ends() {
        #expect("".utf8Ends == nil)
        #expect("a".utf8Ends! == (0x61, 0x61))
        #expect("韦".utf8Ends! == (0xE9, 0xA6))
        let long = "450223194202052624 广西农村信用社 大塘村"
        #expect(long.utf8Ends! == (long.utf8.first!, long.utf8.last!))
        let slice = String(long.dropFirst(19).prefix(7))
        #expect(slice.utf8Ends! == (slice.utf8.first!, slice.utf8.last!))
        #expect(long.utf8AllSatisfy { $0 != 0 } && !long.utf8AllSatisfy { $0 < 0x80 } && "".utf8AllSatisfy { _ in false })
    }
}
