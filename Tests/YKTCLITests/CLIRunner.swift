import Foundation
import Testing
import YKTCore
import YKTCounty
import YKTTownship

/// Runs the built `ykt` binary as a user would, in its own temporary directory.
final class CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    let dir: String
    var environment: [String: String]

    init() {
        dir = NSTemporaryDirectory() + "ykt-cli-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var env = ProcessInfo.processInfo.environment
        env["YKT_NODE"] = dir + "/node"
        env["YKT_OPERATOR"] = "黑盒测试"
        environment = env
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// Runs the node's next commands on a set clock (`YKT_CLOCK`, 09:00 China time on `day`),
    /// allowing it in the node's configuration the first time, as the demo does.
    func clock(_ day: String) throws {
        let conf = dir + "/node/node.conf"
        let text = try String(contentsOfFile: conf, encoding: .utf8)
        if !text.contains("clock_override") {
            try (text + "clock_override = allowed\n").write(toFile: conf, atomically: true, encoding: .utf8)
        }
        environment["YKT_CLOCK"] = day
    }

    /// The `ykt` built next to this test bundle.
    static let binary: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("ykt").path
    }()

    @discardableResult
    func run(_ args: String...) throws -> Result { try run(args) }

    func run(_ args: [String]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.environment = environment
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }

    func path(_ name: String) -> String { dir + "/" + name }

    /// Gives the township at `node` the county's calendar, as in production: a county node
    /// (`county/`) publishes the standard 2025–2026 arrangement and enrols the township with
    /// `ykt`, and the township pulls the county's stream (in-process here: `ykt sync` needs TLS).
    func receiveCountyCalendar(node: String = "node") throws {
        func key(_ dir: String) throws -> (node: String, key: String) {
            let shown = try JSONSerialization.jsonObject(with: Data(try run("key", "show", "--json", "--node", path(dir)).stdout.utf8))
                as? [String: Any]
            return (shown?["node"] as? String ?? "", shown?["publicKey"] as? String ?? "")
        }
        if !FileManager.default.fileExists(atPath: path("county/node.conf")) {
            #expect(try run("init", "--role", "county", "--county", "450223", "--name", "鹿寨县", "--node", path("county")).status == 0)
            try WorkCalendar.builtInTSV.write(toFile: path("cn-holidays.tsv"), atomically: true, encoding: .utf8)
            #expect(try run("calendar", "publish", path("cn-holidays.tsv"), "--node", path("county")).status == 0)
        }
        let township = try key(node), county = try key("county")
        #expect(try run("township", "enrol", "--township", township.node, "--name", township.node, "--public-key", township.key,
                        "--node", path("county")).status == 0)
        let conf = path(node + "/node.conf")
        try (try String(contentsOfFile: conf, encoding: .utf8) + "county_public_key = \(county.key)\n")
            .write(toFile: conf, atomically: true, encoding: .utf8)
        let countyNode = try CountyNode.open(directory: path("county"))
        _ = try TownshipNode.open(directory: path(node)).pull { after in
            let a = countyNode.stream(peer: township.node, after: after)
            return TownshipNode.CountyAnswer(status: a.status, body: a.body, signature: a.signature)
        }
    }
}
