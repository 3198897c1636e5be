import Testing
import YKTCore
import YKTNode
import YKTSync
import YKTTransport

/// Where `ykt serve` listens (issue 16, item 6): `--listen`, else node.conf's `listen`, else the
/// documented default, port 8443 on every address. No server is started here: the default port
/// could clash with another test or program on the machine.
@Suite("ykt serve's listening address")
struct ServeAddressTests {
    @Test("the option wins over node.conf, node.conf over the default 0.0.0.0:8443; port 0 stays OS-chosen")
    func resolution() throws {
        var config = NodeConfig(role: .county, nodeID: "450223", name: "鹿寨县", countyCode: "450223", defaultOperator: "")
        let fallback = try NodeTLS.listenAddress(option: nil, config: config)
        #expect(fallback.host == "0.0.0.0" && fallback.port == 8443 && SyncProtocol.defaultPort == 8443)
        #expect(SyncProtocol.defaultListen == "0.0.0.0:8443")
        config.extra["listen"] = "127.0.0.1:0"
        let configured = try NodeTLS.listenAddress(option: nil, config: config)
        #expect(configured.host == "127.0.0.1" && configured.port == 0)
        let given = try NodeTLS.listenAddress(option: "127.0.0.1:9443", config: config)
        #expect(given.host == "127.0.0.1" && given.port == 9443)
        config.extra["listen"] = "8443"
        let bad = #expect(throws: YKTError.self) { try NodeTLS.listenAddress(option: nil, config: config) }
        #expect(bad?.code == .nodeConfig)
    }
}
