import Testing
import YKTCore
import YKTNode

@Suite("node.conf")
struct NodeConfigTests {
    @Test("key = value lines with comments, spaces and either line ending; written text reads back")
    func parse() throws {
        let lf = "# 寨沙镇\nrole = township\n\n  node_id=450223101  \nname = 寨沙镇\ncounty_code = 450223\n# county_address = x\ncounty_address = 127.0.0.1:7443\u{3000}\n"
        for text in [lf, lf.replacingOccurrences(of: "\n", with: "\r\n")] {
            let config = try NodeConfig(text: text, file: "node.conf")
            #expect(config.role == .township && config.nodeID == "450223101" && config.name == "寨沙镇" && config.countyCode == "450223")
            #expect(config.extra == ["county_address": "127.0.0.1:7443"])
            #expect(try NodeConfig(text: config.text, file: "node.conf") == config)
        }
    }

    @Test("a line without = is refused with its line number")
    func badLine() {
        #expect(throws: YKTError.self) { try NodeConfig(text: "role = county\nnode_id 450223\n", file: "node.conf") }
        do {
            _ = try NodeConfig(text: "role = county\n\nnode_id 450223\n", file: "node.conf")
            Issue.record("a line without = was accepted")
        } catch {
            #expect(error.location?.line == 3)
        }
    }
}
