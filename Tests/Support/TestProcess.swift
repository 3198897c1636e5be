import Foundation

/// Runs a program to its end, as the tests run `ykt`, Chromium or poppler: its exit status and
/// standard output (standard error is dropped).
public enum TestProcess {
    public static func run(_ tool: String, _ args: [String], environment: [String: String]? = nil) throws -> (status: Int32, stdout: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        if let environment { p.environment = environment }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
