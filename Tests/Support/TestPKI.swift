import Foundation
import YKTCore

/// The development PKI of `certs/make-dev-pki.sh`, made for a test (`[dir, codes…]`, `revoke dir
/// code`, `crl-expired dir`, `console dir`: the script's own arguments).
public enum TestPKI {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func script(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [root.appendingPathComponent("certs/make-dev-pki.sh").path] + args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw YKTError(.internalError, "make-dev-pki.sh \(args) failed") }
    }
}
