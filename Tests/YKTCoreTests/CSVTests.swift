import Testing
@testable import YKTCore

@Suite("CSV reading, encodings, writing, display width")
struct CSVTests {
    func records(_ text: String) throws -> [CSVRecord] {
        try CSVReader(utf8: Array(text.utf8), file: "t.csv").records()
    }

    @Test("quotes, escaped quotes, embedded line breaks, CRLF, blank lines; line numbers are physical")
    func parsing() throws {
        let r = try records("a,b,c\r\n\"x,1\",\"say \"\"hi\"\"\",z\r\n\r\n\"multi\nline\",2,3\n  padded , ok ,\n")
        #expect(r.count == 4)
        #expect(r[1].fields == ["x,1", "say \"hi\"", "z"])
        #expect(r[1].line == 2)
        #expect(r[2].fields == ["multi\nline", "2", "3"])
        #expect(r[2].line == 4)
        #expect(r[3].line == 6)
        #expect(r[3].fields == ["padded", "ok", ""])
    }

    @Test("a large file without quotes, read in two halves at once, gives the same records and line numbers")
    func halves() throws {
        // Over 1 MiB, with CRLF and LF, padded fields, blank lines and Chinese text.
        var text = "姓名,身份证号,村\r\n"
        for i in 0..<40_000 {
            text += i % 7 == 0 ? "\n" : i % 3 == 0 ? "韦秀英\(i), 45022319500101\(i % 10) ,大塘村\r\n" : "覃\(i),x\(i),石门村\n"
        }
        #expect(text.utf8.count > 1 << 20)
        let fast = try records(text)
        // A quote in the last line sends the same text through the one-pass reader.
        let slow = try records(text + "\"end\",1,2\n")
        #expect(slow.count == fast.count + 1)
        #expect(zip(fast, slow).allSatisfy { $0.line == $1.line && $0.fields == $1.fields })
        #expect(fast[1].fields == ["覃1", "x1", "石门村"])
        #expect(fast.last?.line == 40_001)
    }

    @Test("read a chunk at a time, a file gives the same records, lines and errors as read whole, whatever the chunk's size")
    func chunks() throws {
        var rng = SplitMix(seed: 7)
        let pieces = ["a", "韦秀英", " padded ", "\"x,1\"", "\"say \"\"hi\"\"\"", "\"multi\nline\"", "", "\"\""]
        for round in 0..<200 {
            var text = round % 3 == 0 ? "\u{FEFF}" : ""
            for _ in 0..<Int(rng.next() % 12) {
                let width = 1 + Int(rng.next() % 4)
                let row = (0..<width).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined(separator: ",")
                text += row + (rng.next() % 4 == 0 ? "\r\n" : rng.next() % 5 == 0 ? "\n\n" : "\n")
                if rng.next() % 6 == 0 { text += ",,,\n" }
            }
            if rng.next() % 8 == 0 { text += "\"open,1\n2,3\n" }
            var reader = CSVReader(utf8: Array(text.utf8), file: "t.csv")
            reader.skipsEmptyRows = round % 2 == 0
            let whole = Result { () throws(YKTError) in try reader.records() }
            for size in [1, 2, 3, 7] {
                var chunks = CSVReader.Chunks(reader)
                let read = Result { () throws(YKTError) -> [CSVRecord] in
                    var all: [CSVRecord] = []
                    while true {
                        let chunk = try chunks.next(size)
                        if chunk.isEmpty { return all }
                        #expect(chunk.count <= size)
                        all += chunk
                    }
                }
                switch (whole, read) {
                case (.success(let a), .success(let b)):
                    #expect(a.map(\.line) == b.map(\.line), "\(text.debugDescription) by \(size)")
                    #expect(a.map(\.fields) == b.map(\.fields), "\(text.debugDescription) by \(size)")
                case (.failure(let a), .failure(let b)):
                    #expect(a.code == b.code && a.location?.line == b.location?.line && a.message == b.message)
                default:
                    Issue.record("whole \(whole) but chunked \(read) for \(text.debugDescription) by \(size)")
                }
            }
        }
    }

    /// A small seeded generator (SplitMix64), so a failing round can be read again.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
    }

    @Test("tab-separated files (Excel's Unicode text) are recognised")
    func tabs() throws {
        let r = try records("姓名\t身份证号\n韦秀英\t450223\n")
        #expect(r[1].fields == ["韦秀英", "450223"])
    }

    @Test("an unclosed quote names the line it opened on")
    func unclosed() {
        let error = #expect(throws: YKTError.self) { try records("a,b\n1,2\n\"3,4\n5,6\n") }
        #expect(error?.code == .csvSyntax)
        #expect(error?.location?.line == 3)
    }

    @Test("UTF-8 with and without BOM, GB18030 and UTF-16 decode to the same text")
    func encodings() throws {
        let text = "姓名,村（社区）\n韦秀英,大塘村\n"
        let utf8 = Array(text.utf8)
        #expect(try TextDecoding.decode(utf8, file: "a").utf8 == utf8)
        #expect(try TextDecoding.decode([0xEF, 0xBB, 0xBF] + utf8, file: "a").utf8 == utf8)
        let gb = try TextDecoding.encodeGB18030(utf8)
        #expect(gb != utf8)
        let decoded = try TextDecoding.decode(gb, file: "a")
        #expect(decoded.utf8 == utf8)
        #expect(decoded.detected == "GB18030")
        var utf16: [UInt8] = [0xFF, 0xFE]
        for u in text.utf16 { utf16 += [UInt8(u & 0xFF), UInt8(u >> 8)] }
        #expect(try TextDecoding.decode(utf16, file: "a").utf8 == utf8)
    }

    @Test("forcing UTF-8 on a GB18030 file says which line and what to do")
    func wrongEncoding() throws {
        let gb = try TextDecoding.encodeGB18030(Array("name\n韦秀英\n".utf8))
        let error = #expect(throws: YKTError.self) { try TextDecoding.decode(gb, as: .utf8, file: "v.csv") }
        #expect(error?.code == .fileEncoding)
        #expect(error?.location?.line == 2)
        #expect(error?.hint?.contains("gb18030") == true)
    }

    @Test("bytes that are neither UTF-8 nor GB18030 are refused")
    func garbage() {
        let error = #expect(throws: YKTError.self) { try TextDecoding.decode([0x61, 0x0A, 0x81, 0x0A], file: "g.csv") }
        #expect(error?.code == .fileEncoding)
    }

    @Test("headers map Chinese and English spellings; missing and duplicate columns are named")
    func headers() throws {
        let cols = [CSVColumn("name", ["姓名", "name"]), CSVColumn("village", ["村（社区）", "village"]),
                    CSVColumn("phone", ["联系电话"], required: false)]
        let h = try CSVHeader(CSVRecord(line: 1, fields: ["village", "姓名"]), columns: cols, file: "f")
        #expect(h.value("name", in: CSVRecord(line: 2, fields: ["大塘村", "韦秀英"])) == "韦秀英")
        #expect(h.value("phone", in: CSVRecord(line: 2, fields: ["大塘村", "韦秀英"])) == "")
        #expect(try CSVHeader(CSVRecord(line: 1, fields: ["姓名", "村(社区)"]), columns: cols, file: "f").positions["village"] == 1)
        let missing = #expect(throws: YKTError.self) { try CSVHeader(CSVRecord(line: 1, fields: ["姓名"]), columns: cols, file: "f") }
        #expect(missing?.message.contains("村（社区）") == true)
        #expect(throws: YKTError.self) { try CSVHeader(CSVRecord(line: 1, fields: ["姓名", "name", "village"]), columns: cols, file: "f") }
    }

    @Test("written CSV has a BOM, CRLF, quoting and formula protection, and reads back")
    func writing() throws {
        var w = CSVWriter()
        w.row(["a,b", "say \"hi\"", "=SUM(A1)", "-12.5"])
        #expect(w.text == "\u{FEFF}\"a,b\",\"say \"\"hi\"\"\",'=SUM(A1),-12.5\r\n")
        let back = try TextDecoding.decode(Array(w.text.utf8), file: "w")
        #expect(try CSVReader(utf8: back.utf8, file: "w").records()[0].fields == ["a,b", "say \"hi\"", "'=SUM(A1)", "-12.5"])
    }

    @Test("display width counts Chinese as two columns")
    func width() {
        #expect(DisplayWidth.of("韦秀英") == 6)
        #expect(DisplayWidth.of("abc") == 3)
        #expect(DisplayWidth.of("村（社区）") == 10)
        #expect(DisplayWidth.pad("金额", to: 6, right: true) == "  金额")
    }

    @Test("canonical JSON: sorted keys, escapes, no spaces")
    func json() {
        let v: JSONValue = ["b": 1, "a": ["x\n\"y\"", true, .null], "中": "文"]
        #expect(v.canonical == #"{"a":["x\n\"y\"",true,null],"b":1,"中":"文"}"#)
    }

    @Test("every error code has a meaning and an exit status")
    func errorCatalog() {
        for code in ErrorCode.all {
            #expect(!code.meaning.isEmpty)
            #expect(code.exitStatus != .success)
        }
        #expect(ErrorCode.idCheckDigit.exitStatus == .invalidInput)
    }
}
