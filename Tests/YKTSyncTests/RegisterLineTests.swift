import Testing
import YKTCore
@testable import YKTSync

@Suite("The county's fast reader for registration lines")
struct RegisterLineTests {
    static let canonical = #"{"at":"2026-11-22T10:00:00+08:00","base":0,"by":"韦经办","data":{"account":{"bank":"中国农业银行","confirmation":"QR-1","kind":"card","number":"6228480000000000018"},"household":"001","name":"韦秀英","phone":"13800138000","residentId":"45022319500101123X","township":"450223101","village":"大塘村"},"entity":"beneficiary/45022319500101123X","id":"450223101-7","node":"450223101","op":"beneficiary.register","seq":7,"v":1}"#

    func read(_ line: String, node: String = "450223101") -> RegisterLine? {
        Array(line.utf8).withUnsafeBufferPointer { RegisterLine.read($0, node: node) }
    }

    @Test("the canonical line is read with the same values the general parser finds")
    func sameValues() throws {
        let r = try #require(read(Self.canonical))
        let op = try JSONValue.parse(Array(Self.canonical.utf8))
        #expect(r.seq == op["seq"]?.intValue)
        #expect(r.entity == op["entity"]?.stringValue)
        #expect(r.residentID == op["data"]?["residentId"]?.stringValue)
        #expect(r.name == op["data"]?["name"]?.stringValue)
        #expect(r.bank == op["data"]?["account"]?["bank"]?.stringValue)
        #expect(r.kind == op["data"]?["account"]?["kind"]?.stringValue)
        #expect(r.number == op["data"]?["account"]?["number"]?.stringValue)
        let shared = Self.canonical.replacingOccurrences(of: #""number":"6228480000000000018"}"#,
                                                         with: #""number":"6228480000000000018","sharedReason":"夫妻共用"}"#)
        #expect(read(shared)?.number == "6228480000000000018")
    }

    @Test("the household (户号) and the head flag are read: head:true only where the township writes it, before the household")
    func householdAndHead() throws {
        let member = try #require(read(Self.canonical))
        #expect(member.household == "001" && !member.head)
        let head = Self.canonical.replacingOccurrences(of: #"},"household""#, with: #"},"head":true,"household""#)
        let r = try #require(read(head))
        #expect(r.household == "001" && r.head)
        #expect(try JSONValue.parse(Array(head.utf8))["data"]?["head"] == .bool(true))
        // Not as the township writes it: for the general parser.
        #expect(read(Self.canonical.replacingOccurrences(of: #"},"household""#, with: #"},"head":false,"household""#)) == nil)
    }

    @Test("anything but the exact canonical form is left to the general parser", arguments: [
        (#""name":"韦秀英""#, #""name":"\u97e6秀英""#),          // an escape
        (#""node":"450223101""#, #""node":"450223102""#),        // another node
        (#""id":"450223101-7""#, #""id":"450223101-8""#),        // id not node-seq
        (#""v":1}"#, #""v":2}"#),                                // another format version
        (#""seq":7"#, #""seq":07"#),                             // a leading zero
        (#""base":0"#, #""base":-0"#),                           // not canonical
        (#""base":0,"by""#, #""base":0, "by""#),                 // whitespace
        (#""village":"大塘村"}"#, #""village":"大塘村","x":1}"#), // a key the reader does not know
        (#""op":"beneficiary.register""#, #""op":"beneficiary.update""#),
        (#""seq":7"#, #""seq":99999999999999999999"#),           // overflow
    ])
    func fallsBack(_ change: (String, String)) {
        #expect(read(Self.canonical.replacingOccurrences(of: change.0, with: change.1)) == nil)
        #expect(read(Self.canonical + " ") == nil)
        #expect(read(String(Self.canonical.dropLast())) == nil)
    }

    @Test("invalid UTF-8 in a string is never read as text")
    func invalidUTF8() {
        var bytes = Array(Self.canonical.utf8)
        let at = bytes.firstIndex(of: 0xE9)!   // the first byte of 韦 in "by"
        bytes[at + 1] = 0x20
        #expect(bytes.withUnsafeBufferPointer { RegisterLine.read($0, node: "450223101") } == nil)
        #expect(throws: (any Error).self) { try JSONValue.parse(bytes) }
    }
}
