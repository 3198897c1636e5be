import Foundation
import Testing

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
}
