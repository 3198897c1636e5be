import Foundation
import YKTCore
import YKTNet

/// `ykt serve`'s log on stderr: one line per request and per refusal summary, China time,
/// `key=value` metadata (or one JSON object a line with `log_format = json`). Never personal data.
enum ServeLog {
    static func write(_ line: ServerLogLine, json: Bool) {
        let stamp = ChinaTime.timestamp()
        var text: String
        if json {
            var object: [String: JSONValue] = ["time": .string(stamp), "level": .string(line.level.rawValue),
                                               "message": .string(line.message)]
            for (k, v) in line.metadata { object[k] = .string(v) }
            text = JSONValue.object(object).canonical
        } else {
            text = "\(stamp) \(line.level.rawValue) ykt-serve \(quoted(line.message))"
            for (k, v) in line.metadata { text += " \(k)=\(quoted(v))" }
        }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func quoted(_ v: String) -> String {
        guard v.isEmpty || v.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) else { return v }
        return "\"" + v.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r") + "\""
    }
}
