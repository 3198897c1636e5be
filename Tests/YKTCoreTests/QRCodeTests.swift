import Foundation
import Testing
import YKTTestSupport
@testable import YKTCore

/// Reads QR codes back with Debian's zbarimg (`zbar-tools`, installed by `.ci/setup`): an
/// independent decoder, so a symbol that it reads is laid out as the standard says. Missing, it
/// fails the tests that need it (as Chromium and poppler do for the print tests), unless
/// `YKT_SKIP_PRINT_TESTS=1` says to skip them on purpose.
enum ZBar {
    static let path = ["/usr/bin/zbarimg", "/usr/local/bin/zbarimg"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let skipped = ProcessInfo.processInfo.environment["YKT_SKIP_PRINT_TESTS"] == "1"

    static func ready() -> Bool {
        if path != nil { return true }
        if !skipped { Issue.record("缺少 zbarimg（zbar-tools）。请运行 .ci/setup 安装（或设置 YKT_SKIP_PRINT_TESTS=1 明确跳过）") }
        return false
    }

    /// The text of each code zbarimg finds in the image file, in the order it reports them.
    static func decode(_ file: String) throws -> [String] {
        let r = try run(path!, ["--raw", "-q", "-Sdisable", "-Sqrcode.enable", file])
        return r.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    static func run(_ tool: String, _ args: [String]) throws -> (status: Int32, stdout: String) { try TestProcess.run(tool, args) }
}

@Suite("QR code (ISO/IEC 18004): the standard's tables, a known symbol, and zbarimg reading every version back")
struct QRCodeTests {
    /// The modules of a symbol, one hexadecimal number a row (the leftmost module the highest bit).
    static func hexRows(_ code: QRCode) -> [String] {
        (0..<code.size).map { y in
            var digits = ""
            let width = (code.size + 3) / 4
            var value: [Bool] = Array(repeating: false, count: width * 4 - code.size)
            value += (0..<code.size).map { code[$0, y] }
            for i in stride(from: 0, to: value.count, by: 4) {
                let nibble = (0..<4).reduce(0) { $0 << 1 | (value[i + $1] ? 1 : 0) }
                digits += String(nibble, radix: 16)
            }
            return digits
        }
    }

    @Test("format information, level M, masks 0–7: the 15-bit strings of the standard's table (Annex C)")
    func formatStrings() {
        let expected = ["101010000010010", "101000100100101", "101111001111100", "101101101001011",
                        "100010111111001", "100000011001110", "100111110010111", "100101010100000"]
        for mask in 0..<8 {
            let bits = String(QRCode.formatBits(level: .medium, mask: mask), radix: 2)
            #expect(String(repeating: "0", count: 15 - bits.count) + bits == expected[mask], "M\(mask)")
        }
        // One of each other level: L0, Q0, H0.
        #expect(QRCode.formatBits(level: .low, mask: 0) == 0b111011111000100)
        #expect(QRCode.formatBits(level: .quartile, mask: 0) == 0b011010101011111)
        #expect(QRCode.formatBits(level: .high, mask: 0) == 0b001011010001001)
    }

    @Test("version information 7–10: the 18-bit strings of the standard's table (Annex D)")
    func versionStrings() {
        let expected = [7: "000111110010010100", 8: "001000010110111100", 9: "001001101010011001", 10: "001010010011010011"]
        for (version, string) in expected {
            let bits = String(QRCode.versionBits(version), radix: 2)
            #expect(String(repeating: "0", count: 18 - bits.count) + bits == string, "version \(version)")
        }
    }

    @Test("Reed–Solomon: the EC codewords of two published 1-M examples; a generator polynomial's coefficients")
    func reedSolomon() {
        // ISO/IEC 18004 Annex I: 「01234567」, 1-M.
        let iso: [UInt8] = [0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11]
        #expect(QRCode.ReedSolomon.ecCodewords(iso, count: 10) == [0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55])
        // 「HELLO WORLD」, 1-M (alphanumeric data codewords; the RS step does not care which mode).
        let hello: [UInt8] = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17]
        #expect(QRCode.ReedSolomon.ecCodewords(hello, count: 10) == [196, 35, 39, 119, 235, 215, 231, 226, 93, 23])
        // The degree-7 generator: x⁷ + α⁸⁷x⁶ + α²²⁹x⁵ + α¹⁴⁶x⁴ + α¹⁴⁹x³ + α²³⁸x² + α¹⁰²x + α²¹ (Annex A).
        let log = QRCode.ReedSolomon.generator(degree: 7).map { QRCode.ReedSolomon.log[Int($0)] }
        #expect(log == [87, 229, 146, 149, 238, 102, 21])
    }

    @Test("byte-mode data codewords: mode 0100, 8-bit count, the bytes, terminator, pad 0xEC 0x11")
    func dataCodewords() {
        let data = QRCode.dataCodewords(Array("hello".utf8), version: 1, level: .medium)
        #expect(data == [0x40, 0x56, 0x86, 0x56, 0xC6, 0xC6, 0xF0, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC])
        // Version 10 counts in 16 bits: 0100 then 0000000000000001.
        #expect(QRCode.dataCodewords([0x41], version: 10, level: .medium).prefix(4) == [0x40, 0x00, 0x14, 0x10])
        // UTF-8: ECI 0111 00011010, then 0100, count 3, E8 A1 A5 (「补」).
        #expect(QRCode.dataCodewords(Array("补".utf8), version: 1, level: .medium, utf8: true).prefix(7)
                == [0x71, 0xA4, 0x03, 0xE8, 0xA1, 0xA5, 0x00])
    }

    @Test("capacity: bytes a version holds at level M (the standard's Table 7), and the codewords of each version")
    func capacity() throws {
        #expect((1...10).map { QRCode.byteCapacity(version: $0, level: .medium) } == [14, 26, 42, 62, 84, 106, 122, 152, 180, 213])
        #expect((1...10).map { QRCode.byteCapacity(version: $0, level: .low) } == [17, 32, 53, 78, 106, 134, 154, 192, 230, 271])
        #expect((1...10).map { QRCode.byteCapacity(version: $0, level: .high) } == [7, 14, 24, 34, 44, 58, 64, 84, 98, 119])
        for level in QRCode.Level.allCases {
            #expect((1...10).map { QRCode.blocks(version: $0, level: level).totalCodewords } == [26, 44, 70, 100, 134, 172, 196, 242, 292, 346])
        }
        // The smallest version that holds the text, and a clear error past version 10.
        #expect(try QRCode(String(repeating: "a", count: 14)).version == 1)
        #expect(try QRCode(String(repeating: "a", count: 15)).version == 2)
        #expect(try QRCode(String(repeating: "a", count: 213)).version == 10)
        #expect(throws: YKTError.self) { try QRCode(String(repeating: "a", count: 214)) }
        // Text that is not ASCII carries the UTF-8 ECI designator: 12 bits less for the bytes.
        #expect((1...10).map { QRCode.byteCapacity(version: $0, level: .medium, utf8: true) } == [13, 25, 41, 61, 83, 105, 121, 151, 179, 212])
        #expect(try QRCode(String(repeating: "补", count: 4)).version == 1 && QRCode(String(repeating: "补", count: 5)).version == 2)
        #expect(try QRCode(String(repeating: "补", count: 70) + "ab").version == 10)
        do {
            _ = try QRCode(String(repeating: "补", count: 71))   // 213 bytes
            Issue.record("213 bytes of Chinese made a symbol")
        } catch {
            #expect(error.code == .qrTooLong && error.message.contains("213 字节") && error.message.contains("212 字节"))
        }
    }

    /// Two symbols published as the expected output of Project Nayuki's QR Code generator
    /// (MIT licence) for byte-mode input, written here one hexadecimal number a row.
    static let knownSymbols: [(text: String, level: QRCode.Level, version: Int, mask: Int, rows: [String])] = [
        ("The quick brown fox jumps", .quartile, 3, 7,
         ["1fd5c17f", "1045e141", "175c0c5d", "1753665d", "1744a85d", "1058cf41", "1fd5557f", "00152000", "0af1e8ed", "0e3febc7",
          "065cedb2", "188f2026", "116bdbeb", "0a111a86", "15c45d93", "14375c23", "18d2c5aa", "070f7f68", "11c17807", "07898e71",
          "124571f4", "001ac713", "1fd08956", "1058991e", "1747e1f1", "175ebb51", "17460011", "1052eda2", "1fc8c91a"]),
        ("😀 € éñ 💩", .quartile, 2, 7,
         ["1fd2f7f", "1045141", "175575d", "1755b5d", "174945d", "1053141", "1fd557f", "0012800", "0af36ed", "1d18a9c",
          "0a79e70", "090daff", "03eb406", "09a2ccc", "16dcb86", "0ab761a", "1953df5", "0019b1b", "1fdcb56", "1056f13",
          "174f5f3", "1756c78", "1743865", "105252c", "1fc8897"]),
    ]

    @Test("two full known symbols, module for module, and the mask the penalty rules choose for them")
    func knownSymbol() throws {
        for k in Self.knownSymbols {
            let fixed = try QRCode(bytes: Array(k.text.utf8), level: k.level, version: k.version, mask: k.mask)
            #expect(Self.hexRows(fixed) == k.rows, "\(k.text)")
            let chosen = try QRCode(bytes: Array(k.text.utf8), level: k.level)
            #expect(chosen.version == k.version && chosen.mask == k.mask, "\(k.text): version \(chosen.version) mask \(chosen.mask)")
            #expect(chosen == fixed)
        }
    }

    @Test("the penalty rules: each rule scores a made-up grid as the standard counts it")
    func penaltyRules() {
        // N3 on a line: 1011101 with four light modules after it (and before it: the quiet zone).
        #expect(QRCode.Grid.finderLike([true, false, true, true, true, false, true, false, false, false, false]) == 1)
        #expect(QRCode.Grid.finderLike([false, false, false, false, true, false, true, true, true, false, true]) == 1)
        #expect(QRCode.Grid.finderLike([true, true, false, false, false, false, true, false, true, true, true, false, true, true, true, true, true]) == 1)
        #expect(QRCode.Grid.finderLike([true, true, true, true, true, false, true, true, true, false, true, true, true, true, true]) == 0)
        // A version-1 grid all light: N1 21 rows + 21 columns of a 21-run (3 + 16 each), N2 20 × 20
        // blocks, N4 all light (50 % away: 10 steps of 5 %, less the first).
        var grid = QRCode.Grid(version: 1)
        grid.dark = Array(repeating: false, count: 21 * 21)
        #expect(grid.penalty() == 42 * 19 + 400 * 3 + 9 * 10)
    }

    @Test("every version's function patterns where the standard puts them; the format and version bits read back from both copies")
    func layout() throws {
        for version in 1...10 {
            let capacity = QRCode.byteCapacity(version: version, level: .medium)
            let code = try QRCode(String(repeating: "x", count: capacity))
            #expect(code.version == version && code.size == 17 + 4 * version)
            let n = code.size
            // Finders: the dark 7 × 7 ring and 3 × 3 core, the light ring between, light separators.
            for (ox, oy) in [(0, 0), (n - 7, 0), (0, n - 7)] {
                for i in 0..<7 {
                    #expect(code[ox + i, oy] && code[ox + i, oy + 6] && code[ox, oy + i] && code[ox + 6, oy + i])
                }
                #expect(code[ox + 3, oy + 3] && !code[ox + 1, oy + 1] && !code[ox + 5, oy + 5])
            }
            for i in 0..<8 { #expect(!code[i, 7] && !code[7, i] && !code[n - 1 - i, 7] && !code[i, n - 8]) }
            // Timing: alternate from dark at 8 to n − 9 on row 6 and column 6.
            for i in 8..<(n - 8) { #expect(code[i, 6] == (i % 2 == 0) && code[6, i] == (i % 2 == 0)) }
            // The dark module.
            #expect(code[8, n - 8])
            // Alignment centres dark with a light ring round them.
            let centres = QRCode.alignmentCentres(version)
            for cy in centres {
                for cx in centres where !(cx == 6 && cy == 6) && !(cx == 6 && cy == centres.last!) && !(cy == 6 && cx == centres.last!) {
                    #expect(code[cx, cy] && !code[cx + 1, cy] && !code[cx, cy - 1] && code[cx + 2, cy + 2])
                }
            }
            // Format bits: round the top-left finder, and split below and right.
            var first = 0, second = 0
            let firstCells = [(8, 0), (8, 1), (8, 2), (8, 3), (8, 4), (8, 5), (8, 7), (8, 8), (7, 8), (5, 8), (4, 8), (3, 8), (2, 8), (1, 8), (0, 8)]
            for (i, (x, y)) in firstCells.enumerated() where code[x, y] { first |= 1 << i }
            for i in 0..<8 where code[n - 1 - i, 8] { second |= 1 << i }
            for i in 8..<15 where code[8, n - 15 + i] { second |= 1 << i }
            #expect(first == second && first == QRCode.formatBits(level: .medium, mask: code.mask))
            if version >= 7 {
                var a = 0, b = 0
                for i in 0..<18 {
                    if code[n - 11 + i % 3, i / 3] { a |= 1 << i }
                    if code[i / 3, n - 11 + i % 3] { b |= 1 << i }
                }
                #expect(a == b && a == QRCode.versionBits(version))
            }
        }
    }

    @Test("SVG: one path, crisp edges, presentation attributes only; PGM: a P5 header and a square of pixels")
    func drawings() throws {
        let code = try QRCode("https://ykt.example.gov.cn/query")
        let svg = code.svg(moduleSize: 3, quietZone: 4)
        let side = (code.size + 8) * 3
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(side) \(side)\""))
        #expect(svg.contains("shape-rendering=\"crispEdges\"") && !svg.contains("style"))
        #expect(svg.components(separatedBy: "<path").count == 2 && svg.hasSuffix("</svg>"))
        // Every dark module is in the path: count the squares' total width.
        let darkCount = (0..<code.size).reduce(0) { sum, y in sum + (0..<code.size).filter { code[$0, y] }.count }
        let widths = svg.components(separatedBy: "h").dropFirst().reduce(0) { sum, part in
            sum + (part.split(separator: "v").first.flatMap { Int($0) } ?? 0)
        }
        #expect(widths == darkCount * 3)
        let pgm = code.pgm(moduleSize: 2, quietZone: 4)
        let header = Array("P5\n\((code.size + 8) * 2) \((code.size + 8) * 2)\n255\n".utf8)
        #expect(Array(pgm.prefix(header.count)) == header && pgm.count == header.count + (code.size + 8) * (code.size + 8) * 4)
        #expect(pgm[header.count] == 255 && pgm[header.count + (8 * (code.size + 8) + 8) * 2] == 0)   // quiet zone light, finder corner dark
    }

    /// Texts that need each version 1–10 at level M, the longest each holds: one all ASCII (a
    /// URL, letters and digits), and one with Chinese (three bytes a character in UTF-8, after
    /// the UTF-8 ECI designator).
    static func texts() -> [String] {
        var list: [String] = []
        for version in 1...10 {
            for chinese in [false, true] {
                let capacity = QRCode.byteCapacity(version: version, level: .medium, utf8: chinese)
                let previous = version == 1 ? 0 : QRCode.byteCapacity(version: version - 1, level: .medium, utf8: chinese)
                var text = chinese ? ["鹿寨县寨沙镇", "惠民惠农一卡通", "耕地地力保护补贴"][version % 3]
                    : ["https://ykt.example.gov.cn/query?v=\(version)&q=", "Yikatong-\(version)-"][version % 2]
                while text.utf8.count > capacity { text.removeLast() }
                while text.utf8.count < capacity {
                    text += chinese && capacity - text.utf8.count >= 3 && text.utf8.count % 2 == 0 ? "补" : "\(text.utf8.count % 10)"
                }
                #expect(text.utf8.count > previous && text.utf8.count == capacity, "\(version): \(text.utf8.count)")
                list.append(text)
            }
        }
        return list
    }

    @Test("zbarimg reads back a symbol of every version 1–10 (Chinese, a URL, the longest each holds), PGM at 3 pixels a module")
    func zbarReadsEveryVersion() throws {
        guard ZBar.ready() else { return }
        let dir = NSTemporaryDirectory() + "ykt-qr-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var cases = Self.texts().map { ($0, QRCode.Level.medium) }
        #expect(cases.count == 20)
        cases += [("https://ykt.example.gov.cn/query", .medium), ("扫码查询本人补贴发放情况", .medium)]
        cases += QRCode.Level.allCases.map { ("惠民惠农补贴明白卡 https://ykt.example.gov.cn/query", $0) }
        var versions: Set<Int> = []
        for (i, (text, level)) in cases.enumerated() {
            let code = try QRCode(text, level: level)
            versions.insert(code.version)
            let file = "\(dir)/\(i).pgm"
            try Data(code.pgm(moduleSize: 3, quietZone: 4)).write(to: URL(fileURLWithPath: file))
            let decoded = try ZBar.decode(file)
            #expect(decoded == [text], "version \(code.version)-\(level.letter) mask \(code.mask): \(decoded)")
        }
        #expect(versions == Set(1...10))
    }

    @Test("the SVG itself reads back: Chromium draws it on a page, zbarimg reads the screenshot")
    func svgThroughChromium() throws {
        guard ZBar.ready() else { return }
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("跳过：没有 Chromium（/usr/bin/chromium），不能把 SVG 画成图片再读")
            return
        }
        let dir = NSTemporaryDirectory() + "ykt-qr-svg-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = "https://ykt.example.gov.cn/query"
        let code = try QRCode(text)
        let page = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>" +
            "<div>\(code.svg(moduleSize: 6, quietZone: 4))</div></body></html>"
        try page.write(toFile: "\(dir)/qr.html", atomically: true, encoding: .utf8)
        let r = try ZBar.run("/usr/bin/timeout", ["90", chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                                   "--user-data-dir=\(dir)/profile", "--screenshot=\(dir)/qr.png", "--window-size=400,400",
                                                   URL(fileURLWithPath: "\(dir)/qr.html").absoluteString])
        #expect(r.status == 0 && FileManager.default.fileExists(atPath: "\(dir)/qr.png"))
        #expect(try ZBar.decode("\(dir)/qr.png") == [text])
    }
}
