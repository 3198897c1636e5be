import Foundation
import Testing
@testable import YKTCore

/// A log file in a temporary directory of its own, read back whole.
final class LogFile {
    let directory = NSTemporaryDirectory() + "ykt-log-" + UUID().uuidString
    var path: String { directory + "/ykt.log" }
    let writer: LogWriter
    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        writer = try LogWriter(appendingTo: directory + "/ykt.log")
    }
    deinit { try? FileManager.default.removeItem(atPath: directory) }
    var lines: [String] {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
}

/// A clock a test moves by hand.
final class ManualClock: @unchecked Sendable {
    // Safe: `now` is guarded by `lock`.
    private let lock = NSLock()
    private var time: Date
    init(_ start: Date) { time = start }
    var now: Date { lock.withLock { time } }
    func advance(_ seconds: TimeInterval) { lock.withLock { time += seconds } }
}

@Suite("Logger: one parseable line per event, levels, whole lines across threads, rate limits")
struct LoggerTests {
    /// 2026-03-02T06:05:09.123Z, i.e. 14:05:09.123 in China.
    static let instant = Date(timeIntervalSince1970: 1_772_431_509.123)
    static var pattern: Regex<(Substring, Substring)> { #/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+08:00 (debug|info|notice|warning|error) [A-Za-z0-9._-]+: /# }

    func logger(_ level: LogLevel = .debug, _ format: Logger.Format = .text, writer: LogWriter = .standardError,
                metadata: KeyValuePairs<String, String> = [:]) -> Logger {
        Logger(label: "ykt.serve", level: level, format: format, writer: writer, metadata: metadata, clock: { Self.instant })
    }

    @Test("a text line: China time to the millisecond, level, label, message, then metadata in a stable order")
    func textLine() {
        var log = logger(metadata: ["peer": "450223101", "township": "寨沙镇"])
        log[metadataKey: "address"] = "127.0.0.1:52044"
        #expect(log.line(.info, "change set applied", [("seq", "17"), ("ops", "290"), ("peer", "450223102"), ("ms", "85")])
                == "2026-03-02T14:05:09.123+08:00 info ykt.serve: change set applied peer=450223102 township=寨沙镇 "
                 + "address=127.0.0.1:52044 seq=17 ops=290 ms=85")
        log[metadataKey: "township"] = nil
        #expect(log.with(["status": "409", "code": "YKT-SYNC-GAP"]).line(.warning, "refused")
                == "2026-03-02T14:05:09.123+08:00 warning ykt.serve: refused peer=450223101 address=127.0.0.1:52044 status=409 code=YKT-SYNC-GAP")
        // The clock as it is: the timestamp pattern holds for now too.
        let now = Logger(label: "ykt sync/round", level: .info)
        #expect(now.label == "ykt_sync_round")
        #expect(now.line(.error, "x").firstMatch(of: Self.pattern) != nil)
    }

    @Test("China time: midnight, milliseconds, before 1970")
    func timestamps() {
        #expect(ChinaTime.timestampMilliseconds(Date(timeIntervalSince1970: 1_767_196_800.005)) == "2026-01-01T00:00:00.005+08:00")
        #expect(ChinaTime.timestampMilliseconds(Date(timeIntervalSince1970: 0)) == "1970-01-01T08:00:00.000+08:00")
        #expect(ChinaTime.timestampMilliseconds(Date(timeIntervalSince1970: -0.001)) == "1970-01-01T07:59:59.999+08:00")
        #expect(ChinaTime.timestamp(Self.instant) == "2026-03-02T14:05:09+08:00")
    }

    @Test("messages and values that would break a line are quoted as JSON strings; the line stays one line and splits back")
    func escaping() throws {
        let line = logger().line(.warning, "handshake refused:\n\"bad\" cert", [
            ("peer", "a b"), ("status", ""), ("code", "x=y"), ("address", "tab\there"), ("bytes", "1024"),
            ("township", "寨沙镇　大塘村"), ("ms", "back\\slash"), ("seq", "\u{2028}\u{1B}[31m"),
        ])
        #expect(!line.contains("\n") && !line.contains("\r") && !line.contains("\u{2028}") && !line.contains("\u{1B}"))
        #expect(line == #"2026-03-02T14:05:09.123+08:00 warning ykt.serve: "handshake refused:\n\"bad\" cert" peer="a b" status="" "#
                + #"code="x=y" address="tab\there" bytes=1024 township="寨沙镇　大塘村" ms="back\\slash" seq="\u2028\u001b[31m""#)
        // A bare message is text up to the first word holding `=`; a quoted one parses as JSON.
        #expect(logger().line(.info, "round synced", [("ops", "3")]).hasSuffix(": round synced ops=3"))
        #expect(logger().line(.info, "a=b").hasSuffix(#": "a=b""#))
        #expect(logger().line(.info, " padded").hasSuffix(#": " padded""#))
        let quoted = try #require(line.firstMatch(of: #/: ("(?:[^"\\]|\\.)*")/#)?.1)
        #expect(try JSONSerialization.jsonObject(with: Data(quoted.utf8), options: .fragmentsAllowed) as? String
                == "handshake refused:\n\"bad\" cert")
    }

    @Test("JSON lines: one object per line with the same fields, parsed by JSONSerialization")
    func jsonLines() throws {
        let log = logger(.debug, .jsonLines, metadata: ["peer": "450223101"])
        let line = log.line(.notice, "说明：\"引号\"\n换行\u{2028}与控制符\u{1}", [("seq", "17"), ("bytes", "a b")])
        #expect(!line.contains("\n") && !line.contains("\u{2028}"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["time"] as? String == "2026-03-02T14:05:09.123+08:00")
        #expect(object["level"] as? String == "notice")
        #expect(object["label"] as? String == "ykt.serve")
        #expect(object["message"] as? String == "说明：\"引号\"\n换行\u{2028}与控制符\u{1}")
        #expect(object["metadata"] as? [String: String] == ["peer": "450223101", "seq": "17", "bytes": "a b"])
        // Keys in a stable order in the text too.
        #expect(line.hasSuffix(#","metadata":{"peer":"450223101","seq":"17","bytes":"a b"}}"#))
    }

    @Test("only levels at or above the logger's are written, and a filtered message is never built")
    func levels() throws {
        let file = try LogFile()
        let log = logger(.warning, writer: file.writer)
        var built = 0
        func message(_ s: String) -> String { built += 1; return s }
        log.debug(message("d"))
        log.info(message("i"))
        log.notice(message("n"))
        log.warning(message("w"))
        log.error(message("e"), ["code": "YKT-DB-FULL"])
        #expect(file.lines.map { $0.split(separator: " ").dropFirst().joined(separator: " ") }
                == ["warning ykt.serve: w", "error ykt.serve: e code=YKT-DB-FULL"])
        #expect(built == 2)
        #expect(LogLevel.allCases.map(\.description) == ["debug", "info", "notice", "warning", "error"])
        #expect(LogLevel(name: "WARNING") == .warning && LogLevel(name: "trace") == nil)
        #expect(log.isEnabled(.error) && !log.isEnabled(.notice))
    }

    @Test("many threads writing at once: every line whole, none lost")
    func concurrentLinesStayWhole() throws {
        let file = try LogFile()
        let log = Logger(label: "ykt.serve", level: .debug, writer: file.writer)
        let threads = 8, perThread = 400
        let padding = String(repeating: "载", count: 200)   // 600 bytes, so a torn line would show
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let mine = log.with(["peer": "45022310\(t)"])
            for i in 0..<perThread { mine.info("line", ["seq": String(i), "bytes": padding]) }
        }
        let lines = file.lines
        #expect(lines.count == threads * perThread)
        var seen = [[Int]](repeating: [], count: threads)
        for line in lines {
            guard let m = line.firstMatch(of: #/^\d{4}-\d{2}-\d{2}T[0-9:.]{12}\+08:00 info ykt\.serve: line peer=45022310(\d) seq=(\d+) bytes=(载+)$/#),
                  let t = Int(m.1), let i = Int(m.2), m.3.count == 200 else {
                Issue.record("torn or malformed line: \(line.prefix(120))")
                continue
            }
            seen[t].append(i)
        }
        #expect(seen.allSatisfy { $0 == Array(0..<perThread) })
        #expect(file.writer.failedWrites == 0)
    }

    @Test("a flood is logged first, then at most once an interval with the count suppressed since, per key")
    func rateLimited() throws {
        let file = try LogFile()
        let clock = ManualClock(Self.instant)
        let log = Logger(label: "ykt.serve", level: .info, writer: file.writer, clock: { clock.now })
        let limited = RateLimitedLog(log, interval: 60)
        #expect(limited.log(.warning, key: "refused", "connection refused", ["address": "10.0.0.1:40000"]))
        for _ in 0..<5 {
            clock.advance(10)
            #expect(!limited.log(.warning, key: "refused", "connection refused", ["address": "10.0.0.2:40001"]))
        }
        #expect(limited.log(.warning, key: "handshake", "handshake refused"))   // another key is its own
        clock.advance(10)   // 60 s after the first line
        #expect(limited.log(.warning, key: "refused", "connection refused", ["address": "10.0.0.3:40002"]))
        clock.advance(1)
        #expect(!limited.log(.warning, key: "refused", "connection refused", ["address": "10.0.0.4:40003"]))
        #expect(!limited.log(.debug, key: "refused", "below the level: neither written nor counted"))
        limited.flush()
        #expect(limited.trackedKeys == 0)
        #expect(file.lines.map { $0.split(separator: " ", maxSplits: 1)[1] } == [
            "warning ykt.serve: connection refused address=10.0.0.1:40000",
            "warning ykt.serve: handshake refused",
            "warning ykt.serve: connection refused address=10.0.0.3:40002 suppressed=5",
            "warning ykt.serve: connection refused address=10.0.0.4:40003 suppressed=1",
        ])
        #expect(file.lines[2].hasPrefix("2026-03-02T14:06:09.123+08:00"))
    }

    @Test("a rate limit tracks at most so many keys; keys dropped for room give their pending counts first")
    func rateLimitBounded() throws {
        let file = try LogFile()
        let clock = ManualClock(Self.instant)
        let limited = RateLimitedLog(Logger(label: "t", writer: file.writer, clock: { clock.now }), interval: 60, maximumKeys: 3)
        for k in 0..<3 { limited.log(.warning, key: "k\(k)", "refused", ["peer": "p\(k)"]) }
        limited.log(.warning, key: "k0", "refused", ["peer": "p0"])   // suppressed
        clock.advance(1)
        for k in 3..<10 { limited.log(.warning, key: "k\(k)", "refused", ["peer": "p\(k)"]) }
        #expect(limited.trackedKeys == 3)
        let lines = file.lines.map { String($0.split(separator: " ", maxSplits: 1)[1]) }
        #expect(lines.count == 11)
        #expect(lines.contains("warning t: refused peer=p0 suppressed=1"))
    }

    @Test("a long run of digits (a resident ID, an account, a phone) is masked; codes, counts and hashes are not")
    func personalDataMasked() {
        let line = logger().line(.error, "身份证号450223195001011234有误", [
            ("peer", "450223101"), ("bytes", "1073741824"), ("address", "13812345678"), ("status", "6228480000000000011"),
            ("code", "45022319500101123X"), ("seq", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ])
        #expect(!line.contains("195001011234") && !line.contains("12345678") && !line.contains("800000000000"))
        #expect(line.contains("身份证号450223********1234有误"))
        #expect(line.contains("address=138****5678 status=6228***********0011 code=450223********123X"))
        #expect(line.contains("peer=450223101 bytes=1073741824"))
        #expect(line.contains("seq=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
    }

    @Test("a log file is created 0600 and appended to; a symlink is refused with the path")
    func logFile() throws {
        let file = try LogFile()
        logger(writer: file.writer).info("one")
        let again = try LogWriter(appendingTo: file.path)
        logger(writer: again).info("two")
        #expect(file.lines.count == 2)
        #expect(try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int == 0o600)
        let link = file.directory + "/link.log"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: file.path)
        let error = #expect(throws: YKTError.self) { try LogWriter(appendingTo: link) }
        #expect(error?.code == .fileWrite && error?.location?.file == link)
    }
}
