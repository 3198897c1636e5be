import Testing
@testable import YKTCore

/// What Excel and WPS do to codes, and how files and parsers deal with it (`ExcelText`).
@Suite("Excel and WPS: protected cells, normalised codes, numbers a spreadsheet changed")
struct ExcelTextTests {
    let id = ResidentID.completing("45022319600101001")
    let card = AccountNumber.completingLuhn("621799000000100001")

    @Test("codes get a leading tab; the tab, =\"…\" and plain digits all read back the same")
    func protection() {
        #expect(ExcelText.protected(id) == "\t" + id)
        #expect(ExcelText.protected("\t" + id) == "\t" + id)           // never twice
        #expect(ExcelText.protected("0772-6812345") == "\t0772-6812345")
        #expect(ExcelText.protected("450223********1234") == "\t450223********1234")
        for notACode in ["", "韦秀英", "=1+1", "-5", "@x", "+8613800001234", "a\"b"] {
            #expect(ExcelText.protected(notACode) == notACode)
        }
        for form in [id, "\t" + id, "\t" + id + "\t", "=\"" + id + "\"", " \t" + id] {
            #expect(ExcelText.unprotected(form) == id, "\(form.debugDescription)")
        }
        #expect(ExcelText.unprotected("=\"a\"\"b\"") == "a\"b")
        #expect(ExcelText.unprotected("=SUM(A1)") == "=SUM(A1)")
    }

    @Test("the writer protects the columns named as codes, never money, counts or names, and still defuses formulas")
    func writer() throws {
        var w = CSVWriter()
        w.row(["序号", "姓名", "身份证号", "账号", "联系电话", "金额（元）", "数量"], codes: [2, 3, 4])
        w.row(["1", "韦秀英", id, card, "13800001234", "1,234.50", "12"], codes: [2, 3, 4])
        w.row(["2", "=HYPERLINK(\"x\")", "=1+1", "\t=1+1", "", "-1", "\t@x"], codes: [2, 3, 4])
        let lines = w.text.dropFirst().components(separatedBy: "\r\n")
        #expect(lines[0] == "序号,姓名,身份证号,账号,联系电话,金额（元）,数量")
        #expect(lines[1] == "1,韦秀英,\t\(id),\t\(card),\t13800001234,\"1,234.50\",12")
        #expect(lines[2] == "2,\"'=HYPERLINK(\"\"x\"\")\",'=1+1,'\t=1+1,,-1,'\t@x")
        // Read back through the reader and the header: the codes come out as they went in.
        var reader = CSVReader(utf8: Array(w.text.dropFirst().utf8), file: "w.csv")
        reader.skipsEmptyRows = true
        let records = try reader.records()
        let header = try CSVHeader(records[0], columns: [CSVColumn("id", ["身份证号"], code: true), CSVColumn("account", ["账号"], code: true),
                                                         CSVColumn("phone", ["联系电话"], code: true), CSVColumn("name", ["姓名"])], file: "w.csv")
        #expect(header.value("id", in: records[1]) == id && header.value("account", in: records[1]) == card)
        #expect(header.value("phone", in: records[1]) == "13800001234" && header.value("name", in: records[1]) == "韦秀英")
        #expect(header.codePositions == [2, 3, 4])
    }

    @Test("full-width digits and X, and every kind of space, are made plain; plain ASCII is returned as it is")
    func plainCodes() throws {
        let wide = String(String.UnicodeScalarView(id.unicodeScalars.map { Unicode.Scalar($0.value + 0xFEE0)! }))
        #expect(ExcelText.plainCode(wide) == id)
        #expect(ExcelText.plainCode("４５０２２３\u{3000}１９６０\u{A0}0101 001Ｘ\t") == "45022319600101001X")
        #expect(ExcelText.plainCode("\u{200B}1380000\u{FEFF}1234") == "13800001234")
        #expect(ExcelText.plainCode(id) == id)
        #expect(try ResidentID(wide).value == id)
        #expect(try ResidentID(" " + id.prefix(6) + "\u{3000}" + id.dropFirst(6) + "\u{A0}").value == id)
        #expect(try AccountNumber("６２１７ ９９００\u{3000}" + card.dropFirst(8), kind: .card).value == card)
        #expect(try PhoneNumber.validate("１３８\u{A0}0000 1234") == "13800001234")
    }

    @Test("scientific notation and cut digits in IDs and accounts get YKT-EXCEL-NUMBER, saying Excel did it and what to do")
    func spreadsheetNumbers() {
        #expect(ExcelText.isScientific("4.50223E+17") && ExcelText.isScientific("4.50223199001011E+17"))
        #expect(ExcelText.isScientific("4E17") && ExcelText.isScientific("6.21799e+18"))
        #expect(!ExcelText.isScientific(id) && !ExcelText.isScientific("4.5") && !ExcelText.isScientific("E17") && !ExcelText.isScientific("4.E17"))
        for text in ["4.50223E+17", "4.50223199001011E+17"] {
            let e = #expect(throws: YKTError.self) { try ResidentID(text) }
            #expect(e?.code == .excelNumber && e?.message.contains("科学计数法") == true && e?.hint?.contains("文本") == true)
        }
        // 15 significant digits kept, the rest 0: the mark of a number a spreadsheet saved.
        let cut = String(id.prefix(15)) + "000"
        let e = #expect(throws: YKTError.self) { try ResidentID(cut) }
        #expect(e?.code == .excelNumber && e?.message.contains("截断") == true && e?.message.contains("15 位有效数字") == true)
        // A mistyped ID is still a typing error.
        #expect((#expect(throws: YKTError.self) { try ResidentID(String(id.dropLast()) + (id.last == "1" ? "2" : "1")) })?.code == .idCheckDigit)
        #expect((#expect(throws: YKTError.self) { try ResidentID("45022319600101") })?.code == .idLength)
        let sci = #expect(throws: YKTError.self) { try AccountNumber("6.21799E+18", kind: .card) }
        #expect(sci?.code == .excelNumber && sci?.message.contains("账号") == true)
        let cutCard = #expect(throws: YKTError.self) { try AccountNumber(String(card.prefix(15)) + "0000", kind: .card) }
        #expect(cutCard?.code == .excelNumber)
        #expect(ExcelText.cutZeros("450223196001010000") == 4 && ExcelText.cutZeros("4502231960010100") == nil)
    }

    @Test("a negative quantity says it must not be negative, not that it is no number")
    func negativeQuantity() {
        let e = #expect(throws: YKTError.self) { try Quantity(parsing: "-1") }
        #expect(e?.code == .quantityInvalid && e?.message.contains("不能是负数") == true && e?.message.contains("不是数字") == false)
        #expect((#expect(throws: YKTError.self) { try Quantity(parsing: "abc") })?.message.contains("不是数字") == true)
    }

    @Test("rows of separators only are skipped in files from people, kept in machine formats")
    func separatorRows() throws {
        let text = "a,b,c\r\n1,2,3\r\n,,\r\n\"\",,\r\n4,,\r\n"
        var people = CSVReader(utf8: Array(text.utf8), file: "p.csv")
        people.skipsEmptyRows = true
        let kept = try people.records()
        #expect(kept.map(\.line) == [1, 2, 5])
        #expect(try CSVReader(utf8: Array(text.utf8), file: "m.csv").records().count == 5)
    }

    @Test("a workbook (ZIP or OLE signature) is named as one, with how to save it as CSV")
    func workbooks() {
        for (bytes, kind) in [([0x50, 0x4B, 0x03, 0x04, 0x14, 0, 6, 0], ".xlsx"), ([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0], ".xls")] as [([UInt8], String)] {
            let e = #expect(throws: YKTError.self) { try TextDecoding.decode(bytes + [UInt8](repeating: 0x80, count: 40), file: "r.csv") }
            #expect(e?.code == .fileWorkbook && e?.message.contains(kind) == true && e?.hint?.contains("CSV UTF-8") == true)
        }
        #expect(TextDecoding.workbookKind(Array("PK,姓名\n".utf8)) == nil)
    }

    @Test("a long problem list is summarised by code with the first 20 each; a short one is listed whole")
    func summary() {
        let many = (0..<100_000).map { YKTError(.excelNumber, "x", at: SourceLocation(file: "f", line: $0 + 2)) }
            + (0..<3).map { YKTError(.fieldMissing, "y", at: SourceLocation(file: "f", line: $0 + 2)) }
        let lines = ProblemSummary.lines(many, fullList: "/tmp/list.csv")
        #expect(lines.count == 1 + 2 + 1 + 20 + 1 + 3 + 1)
        #expect(lines[0] == "共 100003 处问题，按错误代码：")
        #expect(lines[1].hasPrefix("  YKT-EXCEL-NUMBER  100000 处") && lines[2].hasPrefix("  YKT-FIELD-MISSING  3 处"))
        #expect(lines.last == "每一处问题见完整清单：/tmp/list.csv")
        let few = ProblemSummary.lines(Array(many.suffix(3)))
        #expect(few.count == 4 && few[0] == "共 3 处问题：")
    }
}
