/// A QR code symbol (ISO/IEC 18004:2015), made here so that printouts need no outside tool:
/// byte mode (the text's UTF-8 bytes), versions 1–10, any of the four error-correction levels
/// (M by default: about 15 % of the symbol may be soiled or torn and it still reads).
///
/// The symbol is built as the standard lays it out, step by step: the data bit stream (mode
/// indicator, character count, the bytes, terminator, padding to whole codewords, the pad
/// codewords 0xEC 0x11), split into the version's blocks, each given its Reed–Solomon error
/// correction codewords over GF(2⁸) (field polynomial x⁸+x⁴+x³+x²+1), interleaved; the function
/// patterns (finders, separators, timing, alignment, the dark module); the codewords placed in
/// the two-module-wide zigzag from the bottom right; each of the eight masks tried and scored by
/// the four penalty rules (N1 = 3, N2 = 3, N3 = 40, N4 = 10), the lowest kept; then the format
/// information (BCH(15,5), XOR 101010000010010) and, from version 7, the version information
/// (BCH(18,6)).
///
/// `docs/conventions.md` says why byte mode and level M.
public struct QRCode: Sendable, Equatable {
    /// The error-correction level: the share of codewords that may be restored.
    public enum Level: Int, Sendable, CaseIterable {
        /// About 7 %.
        case low
        /// About 15 %: the default, for printouts that may be soiled or folded.
        case medium
        /// About 25 %.
        case quartile
        /// About 30 %.
        case high

        /// The two bits the format information carries (ISO/IEC 18004 Table 12): L 01, M 00, Q 11, H 10.
        public var formatBits: Int {
            switch self {
            case .low: return 1
            case .medium: return 0
            case .quartile: return 3
            case .high: return 2
            }
        }

        /// L, M, Q or H.
        public var letter: String { ["L", "M", "Q", "H"][rawValue] }
    }

    /// The largest version made here (57 × 57 modules): enough for a query address at level M.
    public static let maximumVersion = 10

    /// The version (1–10): the symbol is `17 + 4 × version` modules wide.
    public let version: Int
    /// The number of modules on a side.
    public let size: Int
    /// The error-correction level.
    public let level: Level
    /// The mask pattern (0–7) the penalty rules chose.
    public let mask: Int
    /// Dark modules, row by row (`y * size + x`).
    private let modules: [Bool]

    /// Encodes `text` as UTF-8 bytes in the smallest version (1–10) that holds it at `level`.
    /// Text that is not all ASCII is preceded by the ECI designator 26 (UTF-8): without it a
    /// reader guesses the bytes' character set, and some guess Shift JIS (zbar does). An ASCII
    /// text (a URL) has none, and reads the same everywhere. Throws `YKT-QR-LONG` when even
    /// version 10 does not hold the text.
    public init(_ text: String, level: Level = .medium) throws(YKTError) {
        let bytes = Array(text.utf8)
        try self.init(bytes: bytes, level: level, utf8: bytes.contains { $0 >= 0x80 })
    }

    /// Encodes `bytes` in byte mode, after the ECI designator 26 (UTF-8) when `utf8`; `version`
    /// and `mask` fixed when given (for tests and for comparing with other encoders), otherwise
    /// the smallest version and the best mask.
    public init(bytes: [UInt8], level: Level = .medium, utf8: Bool = false, version fixedVersion: Int? = nil,
                mask fixedMask: Int? = nil) throws(YKTError) {
        let fits = (1...Self.maximumVersion).first { Self.byteCapacity(version: $0, level: level, utf8: utf8) >= bytes.count }
        guard let version = fixedVersion ?? fits, (1...Self.maximumVersion).contains(version),
              Self.byteCapacity(version: version, level: level, utf8: utf8) >= bytes.count else {
            let limit = fixedVersion.map { min(max($0, 1), Self.maximumVersion) } ?? Self.maximumVersion
            throw YKTError(.qrTooLong, "二维码内容 \(bytes.count) 字节，超过 \(limit) 版 \(level.letter) 级最多能容纳的 " +
                           "\(Self.byteCapacity(version: limit, level: level, utf8: utf8)) 字节",
                           hint: "缩短内容（例如 node.conf 中 public_url 用较短的网址）")
        }
        if let fixedMask, !(0...7).contains(fixedMask) {
            throw YKTError(.valueInvalid, "二维码掩模编号应为 0–7，不是 \(fixedMask)")
        }
        let data = Self.dataCodewords(bytes, version: version, level: level, utf8: utf8)
        let codewords = Self.codewords(data: data, version: version, level: level)
        var grid = Grid(version: version)
        grid.drawFunctionPatterns()
        grid.placeCodewords(codewords)
        var chosen = fixedMask ?? 0
        if fixedMask == nil {
            var lowest = Int.max
            for m in 0..<8 {
                var trial = grid
                trial.applyMask(m)
                trial.drawFormat(level: level, mask: m)
                let score = trial.penalty()
                if score < lowest { lowest = score; chosen = m }
            }
        }
        grid.applyMask(chosen)
        grid.drawFormat(level: level, mask: chosen)
        self.version = version
        self.size = grid.size
        self.level = level
        self.mask = chosen
        self.modules = grid.dark
    }

    /// Whether the module at column `x`, row `y` (0-based, from the top left) is dark. Outside
    /// the symbol (the quiet zone): light.
    public subscript(x: Int, y: Int) -> Bool {
        guard x >= 0, y >= 0, x < size, y < size else { return false }
        return modules[y * size + x]
    }

    // MARK: - Drawing

    /// The symbol as an SVG image: one `<path>` of the dark modules (one `h`/`v` square each,
    /// merged along a row), on a white background with `quietZone` light modules round it,
    /// `moduleSize` user units a module. Presentation attributes only (`fill`,
    /// `shape-rendering="crispEdges"`), no `style`, so a strict Content-Security-Policy shows it.
    public func svg(moduleSize: Int = 4, quietZone: Int = 4) -> String {
        let unit = max(1, moduleSize), quiet = max(0, quietZone)
        let side = (size + 2 * quiet) * unit
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard self[x, y] else { x += 1; continue }
                var run = 1
                while x + run < size && self[x + run, y] { run += 1 }
                path += "M\((x + quiet) * unit) \((y + quiet) * unit)h\(run * unit)v\(unit)h-\(run * unit)z"
                x += run
            }
        }
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(side) \(side)\" width=\"\(side)\" height=\"\(side)\" " +
            "shape-rendering=\"crispEdges\" role=\"img\"><rect width=\"\(side)\" height=\"\(side)\" fill=\"#fff\"/>" +
            "<path fill=\"#000\" d=\"\(path)\"/></svg>"
    }

    /// The symbol as a binary greyscale PGM (P5) image, `moduleSize` pixels a module, with
    /// `quietZone` light modules round it: black 0, white 255.
    public func pgm(moduleSize: Int = 4, quietZone: Int = 4) -> [UInt8] {
        let (side, pixels) = raster(moduleSize: moduleSize, quietZone: quietZone)
        return Array("P5\n\(side) \(side)\n255\n".utf8) + pixels
    }

    /// The grey pixels, row by row, of the symbol drawn `moduleSize` pixels a module with
    /// `quietZone` light modules round it; and the image's side in pixels.
    public func raster(moduleSize: Int = 4, quietZone: Int = 4) -> (side: Int, pixels: [UInt8]) {
        let unit = max(1, moduleSize), quiet = max(0, quietZone)
        let side = (size + 2 * quiet) * unit
        var pixels = [UInt8](repeating: 255, count: side * side)
        for y in 0..<size {
            for x in 0..<size where self[x, y] {
                for py in 0..<unit {
                    let row = ((y + quiet) * unit + py) * side + (x + quiet) * unit
                    for px in 0..<unit { pixels[row + px] = 0 }
                }
            }
        }
        return (side, pixels)
    }

    // MARK: - The version table (ISO/IEC 18004 Table 9)

    /// One version and level: the error-correction codewords of each block, and the blocks of
    /// the two groups (count, data codewords each; the second group's blocks hold one more).
    public struct Blocks: Sendable, Equatable {
        public var ecPerBlock: Int
        public var group1: (count: Int, data: Int)
        public var group2: (count: Int, data: Int)

        public static func == (a: Blocks, b: Blocks) -> Bool {
            a.ecPerBlock == b.ecPerBlock && a.group1 == b.group1 && a.group2 == b.group2
        }

        /// The data codewords of all blocks.
        public var dataCodewords: Int { group1.count * group1.data + group2.count * group2.data }
        /// Every codeword of the symbol.
        public var totalCodewords: Int { dataCodewords + (group1.count + group2.count) * ecPerBlock }
    }

    /// Per version 1–10, per level L, M, Q, H: (EC codewords per block, group 1 blocks, their data
    /// codewords, group 2 blocks, their data codewords).
    private static let table: [[(Int, Int, Int, Int, Int)]] = [
        [(7, 1, 19, 0, 0), (10, 1, 16, 0, 0), (13, 1, 13, 0, 0), (17, 1, 9, 0, 0)],
        [(10, 1, 34, 0, 0), (16, 1, 28, 0, 0), (22, 1, 22, 0, 0), (28, 1, 16, 0, 0)],
        [(15, 1, 55, 0, 0), (26, 1, 44, 0, 0), (18, 2, 17, 0, 0), (22, 2, 13, 0, 0)],
        [(20, 1, 80, 0, 0), (18, 2, 32, 0, 0), (26, 2, 24, 0, 0), (16, 4, 9, 0, 0)],
        [(26, 1, 108, 0, 0), (24, 2, 43, 0, 0), (18, 2, 15, 2, 16), (22, 2, 11, 2, 12)],
        [(18, 2, 68, 0, 0), (16, 4, 27, 0, 0), (24, 4, 19, 0, 0), (28, 4, 15, 0, 0)],
        [(20, 2, 78, 0, 0), (18, 4, 31, 0, 0), (18, 2, 14, 4, 15), (26, 4, 13, 1, 14)],
        [(24, 2, 97, 0, 0), (22, 2, 38, 2, 39), (22, 4, 18, 2, 19), (26, 4, 14, 2, 15)],
        [(30, 2, 116, 0, 0), (22, 3, 36, 2, 37), (20, 4, 16, 4, 17), (24, 4, 12, 4, 13)],
        [(18, 2, 68, 2, 69), (26, 4, 43, 1, 44), (24, 6, 19, 2, 20), (28, 6, 15, 2, 16)],
    ]

    /// The block structure of a version (1–10) at a level.
    public static func blocks(version: Int, level: Level) -> Blocks {
        let e = table[version - 1][level.rawValue]
        return Blocks(ecPerBlock: e.0, group1: (e.1, e.2), group2: (e.3, e.4))
    }

    /// How many bytes a version (1–10) holds in byte mode at a level: the data bits less the
    /// mode indicator (4 bits) and the character count (8 bits to version 9, 16 from 10), and
    /// less the UTF-8 ECI designator (12 bits) when `utf8`.
    public static func byteCapacity(version: Int, level: Level, utf8: Bool = false) -> Int {
        guard (1...maximumVersion).contains(version) else { return 0 }
        return (blocks(version: version, level: level).dataCodewords * 8 - (utf8 ? 12 : 0) - 4 - countBits(version)) / 8
    }

    static func countBits(_ version: Int) -> Int { version <= 9 ? 8 : 16 }

    /// The centres of the alignment patterns along each axis (ISO/IEC 18004 Annex E).
    static func alignmentCentres(_ version: Int) -> [Int] {
        [[], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50]][version - 1]
    }

    // MARK: - Data and error correction

    /// The data codewords: for UTF-8 the ECI mode 0111 and designator 00011010 (26); mode 0100,
    /// the count, the bytes, up to four 0 bits of terminator, 0 bits to a whole byte, then 0xEC
    /// 0x11 alternately to fill the version's data codewords.
    static func dataCodewords(_ bytes: [UInt8], version: Int, level: Level, utf8: Bool = false) -> [UInt8] {
        let capacity = blocks(version: version, level: level).dataCodewords * 8
        var bits: [Bool] = []
        func append(_ value: Int, _ count: Int) {
            for i in stride(from: count - 1, through: 0, by: -1) { bits.append((value >> i) & 1 == 1) }
        }
        if utf8 {
            append(0b0111, 4)
            append(26, 8)
        }
        append(0b0100, 4)
        append(bytes.count, countBits(version))
        for b in bytes { append(Int(b), 8) }
        append(0, min(4, capacity - bits.count))
        append(0, (8 - bits.count % 8) % 8)
        var out: [UInt8] = []
        for i in stride(from: 0, to: bits.count, by: 8) {
            var byte: UInt8 = 0
            for j in 0..<8 where bits[i + j] { byte |= 0x80 >> UInt8(j) }
            out.append(byte)
        }
        var pad: UInt8 = 0xEC
        while out.count < capacity / 8 {
            out.append(pad)
            pad = pad == 0xEC ? 0x11 : 0xEC
        }
        return out
    }

    /// The final sequence: the data split into blocks (group 1 first), each block's EC
    /// codewords computed, data codewords interleaved column by column, then EC codewords.
    static func codewords(data: [UInt8], version: Int, level: Level) -> [UInt8] {
        let b = blocks(version: version, level: level)
        var dataBlocks: [[UInt8]] = []
        var at = 0
        for (count, length) in [b.group1, b.group2] {
            for _ in 0..<count {
                dataBlocks.append(Array(data[at..<at + length]))
                at += length
            }
        }
        let generator = ReedSolomon.generator(degree: b.ecPerBlock)
        let ecBlocks = dataBlocks.map { ReedSolomon.remainder($0, generator: generator) }
        var out: [UInt8] = []
        let longest = dataBlocks.map(\.count).max() ?? 0
        for i in 0..<longest {
            for block in dataBlocks where i < block.count { out.append(block[i]) }
        }
        for i in 0..<b.ecPerBlock {
            for block in ecBlocks { out.append(block[i]) }
        }
        return out
    }

    /// Reed–Solomon error correction over GF(2⁸) with the field polynomial 0x11D and the
    /// generator polynomials ∏(x − αⁱ), i = 0 … n−1, that the standard uses (Annex A).
    public enum ReedSolomon {
        /// α⁰ … α²⁵⁴.
        static let exp: [UInt8] = {
            var exp = [UInt8](repeating: 0, count: 255)
            var x = 1
            for i in 0..<255 {
                exp[i] = UInt8(x)
                x <<= 1
                if x & 0x100 != 0 { x ^= 0x11D }
            }
            return exp
        }()

        /// The logarithm of each non-zero element.
        static let log: [Int] = {
            var log = [Int](repeating: 0, count: 256)
            for (i, v) in exp.enumerated() { log[Int(v)] = i }
            return log
        }()

        static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
            a == 0 || b == 0 ? 0 : exp[(log[Int(a)] + log[Int(b)]) % 255]
        }

        /// The generator polynomial of degree `degree`, its coefficients from x^(degree−1)
        /// down to x⁰ (the leading 1 left out).
        public static func generator(degree: Int) -> [UInt8] {
            var poly = [UInt8](repeating: 0, count: degree)
            poly[degree - 1] = 1
            var root: UInt8 = 1
            for _ in 0..<degree {
                // Multiply by (x − root); in GF(2⁸) minus is plus.
                for j in 0..<degree {
                    poly[j] = multiply(poly[j], root)
                    if j + 1 < degree { poly[j] ^= poly[j + 1] }
                }
                root = multiply(root, 2)
            }
            return poly
        }

        /// The error-correction codewords of `data`: the remainder of data·x^n divided by the
        /// generator (n = its degree).
        public static func remainder(_ data: [UInt8], generator: [UInt8]) -> [UInt8] {
            var r = [UInt8](repeating: 0, count: generator.count)
            for byte in data {
                let factor = byte ^ r.removeFirst()
                r.append(0)
                for i in 0..<r.count { r[i] ^= multiply(generator[i], factor) }
            }
            return r
        }

        /// The EC codewords of `data` for `count` EC codewords.
        public static func ecCodewords(_ data: [UInt8], count: Int) -> [UInt8] {
            remainder(data, generator: generator(degree: count))
        }
    }

    // MARK: - Format and version information

    /// The 15 format bits of a level and mask: 5 data bits, BCH(15,5) remainder of the
    /// generator 10100110111, the whole XOR 101010000010010 (ISO/IEC 18004 7.9).
    public static func formatBits(level: Level, mask: Int) -> Int {
        let data = level.formatBits << 3 | mask
        var rem = data
        for _ in 0..<10 { rem = (rem << 1) ^ ((rem >> 9) * 0x537) }
        return (data << 10 | rem) ^ 0x5412
    }

    /// The 18 version bits (versions 7 and up): the 6-bit version and its BCH(18,6) remainder
    /// of the generator 1111100100101 (ISO/IEC 18004 7.10).
    public static func versionBits(_ version: Int) -> Int {
        var rem = version
        for _ in 0..<12 { rem = (rem << 1) ^ ((rem >> 11) * 0x1F25) }
        return version << 12 | rem
    }

    // MARK: - The module grid

    /// The grid under construction: dark modules, and which are function patterns (not data).
    struct Grid {
        let version: Int
        let size: Int
        var dark: [Bool]
        var function: [Bool]

        init(version: Int) {
            self.version = version
            size = 17 + 4 * version
            dark = [Bool](repeating: false, count: size * size)
            function = [Bool](repeating: false, count: size * size)
        }

        func isDark(_ x: Int, _ y: Int) -> Bool { dark[y * size + x] }

        mutating func set(_ x: Int, _ y: Int, _ value: Bool) {
            dark[y * size + x] = value
            function[y * size + x] = true
        }

        mutating func drawFunctionPatterns() {
            // Timing patterns, row 6 and column 6.
            for i in 0..<size {
                set(6, i, i % 2 == 0)
                set(i, 6, i % 2 == 0)
            }
            // Finder patterns with their separators, in three corners.
            for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
                for dy in -4...4 {
                    for dx in -4...4 {
                        let x = cx + dx, y = cy + dy
                        guard x >= 0, y >= 0, x < size, y < size else { continue }
                        let ring = max(abs(dx), abs(dy))
                        set(x, y, ring != 2 && ring != 4)
                    }
                }
            }
            // Alignment patterns, except where they would overlap a finder.
            let centres = QRCode.alignmentCentres(version)
            for (i, cy) in centres.enumerated() {
                for (j, cx) in centres.enumerated() {
                    let last = centres.count - 1
                    if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) { continue }
                    for dy in -2...2 {
                        for dx in -2...2 { set(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1) }
                    }
                }
            }
            // Reserve the format areas (drawn after masking) and draw the dark module.
            drawFormat(level: .medium, mask: 0)
            // Version information, versions 7 and up: two 6 × 3 blocks.
            if version >= 7 {
                let bits = QRCode.versionBits(version)
                for i in 0..<18 {
                    let bit = (bits >> i) & 1 == 1
                    let a = size - 11 + i % 3, b = i / 3
                    set(a, b, bit)
                    set(b, a, bit)
                }
            }
        }

        /// The 15 format bits, twice: round the top-left finder, and split between the other
        /// two; the dark module at (8, size − 8).
        mutating func drawFormat(level: Level, mask: Int) {
            let bits = QRCode.formatBits(level: level, mask: mask)
            func bit(_ i: Int) -> Bool { (bits >> i) & 1 == 1 }
            for i in 0..<6 { set(8, i, bit(i)) }
            set(8, 7, bit(6))
            set(8, 8, bit(7))
            set(7, 8, bit(8))
            for i in 9..<15 { set(14 - i, 8, bit(i)) }
            for i in 0..<8 { set(size - 1 - i, 8, bit(i)) }
            for i in 8..<15 { set(8, size - 15 + i, bit(i)) }
            set(8, size - 8, true)
        }

        /// The codewords' bits, most significant first, in the zigzag: two-column strips from
        /// the right, upward then downward, skipping column 6 and the function modules. The
        /// remainder bits left over are light.
        mutating func placeCodewords(_ codewords: [UInt8]) {
            var i = 0
            let total = codewords.count * 8
            var right = size - 1
            while right >= 1 {
                if right == 6 { right = 5 }
                for vert in 0..<size {
                    for j in 0..<2 {
                        let x = right - j
                        let upward = (right + 1) & 2 == 0
                        let y = upward ? size - 1 - vert : vert
                        guard !function[y * size + x] else { continue }
                        if i < total {
                            dark[y * size + x] = (codewords[i >> 3] >> (7 - UInt8(i & 7))) & 1 == 1
                            i += 1
                        }
                    }
                }
                right -= 2
            }
        }

        /// Inverts the data modules where the mask's condition holds (ISO/IEC 18004 Table 10);
        /// applying it twice undoes it.
        mutating func applyMask(_ mask: Int) {
            for y in 0..<size {
                for x in 0..<size where !function[y * size + x] {
                    let invert: Bool
                    switch mask {
                    case 0: invert = (x + y) % 2 == 0
                    case 1: invert = y % 2 == 0
                    case 2: invert = x % 3 == 0
                    case 3: invert = (x + y) % 3 == 0
                    case 4: invert = (x / 3 + y / 2) % 2 == 0
                    case 5: invert = x * y % 2 + x * y % 3 == 0
                    case 6: invert = (x * y % 2 + x * y % 3) % 2 == 0
                    default: invert = ((x + y) % 2 + x * y % 3) % 2 == 0
                    }
                    if invert { dark[y * size + x].toggle() }
                }
            }
        }

        /// The penalty score of the finished symbol (ISO/IEC 18004 7.8.3):
        /// N1: each run of 5 or more same-colour modules in a row or column, 3 + (length − 5);
        /// N2: each 2 × 2 block of one colour, 3;
        /// N3: each 1:1:3:1:1 finder-like pattern (dark-light-dark×3-light-dark) with four
        ///     light modules on either side, in a row or column, 40;
        /// N4: 10 for each full 5 % the dark share is away from 50 %.
        func penalty() -> Int {
            var score = 0
            // N1 and N3, rows then columns.
            for line in 0..<size {
                for horizontal in [true, false] {
                    var run = 0
                    var colour = false
                    var cells = [Bool](repeating: false, count: size)
                    for i in 0..<size {
                        let c = horizontal ? isDark(i, line) : isDark(line, i)
                        cells[i] = c
                        if i > 0 && c == colour {
                            run += 1
                        } else {
                            if run >= 5 { score += 3 + run - 5 }
                            colour = c
                            run = 1
                        }
                    }
                    if run >= 5 { score += 3 + run - 5 }
                    score += 40 * Self.finderLike(cells)
                }
            }
            // N2.
            for y in 0..<size - 1 {
                for x in 0..<size - 1 {
                    let c = isDark(x, y)
                    if c == isDark(x + 1, y) && c == isDark(x, y + 1) && c == isDark(x + 1, y + 1) { score += 3 }
                }
            }
            // N4.
            let darkCount = dark.reduce(0) { $0 + ($1 ? 1 : 0) }
            let total = size * size
            // The smallest k with 45 − 5k% ≤ share ≤ 55 + 5k%.
            let k = (abs(darkCount * 20 - total * 10) + total - 1) / total - 1
            score += max(0, k) * 10
            return score
        }

        /// How many times 1011101 with 0000 before it or after it (the quiet zone beyond the
        /// symbol counting as light) appears in a line of modules.
        static func finderLike(_ cells: [Bool]) -> Int {
            let pattern: [Bool] = [true, false, true, true, true, false, true]
            func light(_ from: Int, _ count: Int) -> Bool {
                (from..<from + count).allSatisfy { $0 < 0 || $0 >= cells.count || !cells[$0] }
            }
            var count = 0
            for start in 0...(cells.count - 7) {
                guard (0..<7).allSatisfy({ cells[start + $0] == pattern[$0] }) else { continue }
                if light(start - 4, 4) || light(start + 7, 4) { count += 1 }
            }
            return count
        }
    }
}
