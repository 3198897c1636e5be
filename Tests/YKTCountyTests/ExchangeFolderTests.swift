import Foundation
import Testing
import YKTCore
import YKTCrypto
import YKTDemo
@testable import YKTCounty
@testable import YKTTownship

private func mode(_ path: String) -> mode_t {
    var st = stat()
    return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : 0o7777
}

@Suite("Writing files beside hostile ones: exclusive, unpredictable temporary files")
struct FileOutputTests {
    @Test("a symlink planted at the old predictable temporary name (path.tmp-<pid>) is not followed; a link at the target is replaced, not followed")
    func plantedLinks() throws {
        let dir = Dir()
        let secret = dir.sub("secret.txt")
        try "不要动我\n".write(toFile: secret, atomically: false, encoding: .utf8)
        #expect(chmod(secret, 0o600) == 0)
        try FileManager.default.createDirectory(atPath: dir.sub("outbox"), withIntermediateDirectories: false)
        let target = dir.sub("outbox/YKT-PAY-450223-ABC-000001.txt")
        try FileManager.default.createSymbolicLink(atPath: target + ".tmp-\(getpid())", withDestinationPath: secret)
        try FileOutput.writeAtomically(bytes: Array("payload\n".utf8), to: target, mode: 0o640)
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "不要动我\n")
        #expect(mode(secret) == 0o600)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "payload\n" && mode(target) == 0o640)

        // A link at the target itself: rename replaces the link, the file it named is untouched.
        let other = dir.sub("outbox/YKT-PAY-450223-ABC-000002.txt")
        try FileManager.default.createSymbolicLink(atPath: other, withDestinationPath: secret)
        try FileOutput.writeAtomically(bytes: Array("payload\n".utf8), to: other, mode: 0o640)
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "不要动我\n")
        var st = stat()
        #expect(lstat(other, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && st.st_mode & 0o7777 == 0o640)
        // Temporary names are not to be guessed, and one already there is refused, never followed.
        let names = (0..<4).map { _ in FileOutput.temporaryPath(beside: target) }
        #expect(Set(names).count == 4 && names.allSatisfy { ($0 as NSString).lastPathComponent.hasPrefix(".YKT-PAY-450223-ABC-000001.txt.tmp-") })
        let planted = target + ".tmp-\(getpid())"
        #expect((#expect(throws: YKTError.self) { _ = try FileOutput.createExclusive(planted, mode: 0o640) })?.code == .fileWrite)
        #expect((#expect(throws: YKTError.self) { _ = try FileOutput.createExclusive(target, mode: 0o640) })?.code == .fileWrite)
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "不要动我\n")
        // Nothing left behind but the planted link.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.sub("outbox")).sorted()
                == ["YKT-PAY-450223-ABC-000001.txt", "YKT-PAY-450223-ABC-000001.txt.tmp-\(getpid())", "YKT-PAY-450223-ABC-000002.txt"])
    }
}
