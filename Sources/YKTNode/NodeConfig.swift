import Foundation
import YKTCore

/// A node's configuration file, `node.conf` in the node directory: `key = value` lines,
/// `#` comments. Written by `ykt init`; see `nodes/` for examples and `docs/file-formats.md`.
public struct NodeConfig: Sendable, Equatable {
    public enum Role: String, Sendable { case township, county }

    public var role: Role
    /// The node id: the township's 9-digit administrative code (e.g. `450223101`).
    public var nodeID: String
    public var name: String
    public var countyCode: String
    /// Operator recorded in the audit trail when none is given on the command line.
    public var defaultOperator: String
    public var extra: [String: String] = [:]

    public init(role: Role, nodeID: String, name: String, countyCode: String, defaultOperator: String) {
        self.role = role
        self.nodeID = nodeID
        self.name = name
        self.countyCode = countyCode
        self.defaultOperator = defaultOperator
    }

    public static let fileName = "node.conf"

    public init(text: String, file: String) throws(YKTError) {
        var values: [String: String] = [:]
        // Lines and `=` found on the bytes, not by characters (every command reads this file;
        // a CR before the line feed is trimmed with the spaces).
        for (i, raw) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let line = Substring(raw).trimmed
            if line.isEmpty || line.utf8.first == UInt8(ascii: "#") { continue }
            guard let eq = line.utf8.firstIndex(of: UInt8(ascii: "=")) else {
                throw YKTError(.nodeConfig, "应为「键 = 值」", at: SourceLocation(file: file, line: i + 1),
                               hint: "参照 nodes/ 下的示例配置修改")
            }
            values[line[..<eq].trimmed] = line[line.utf8.index(after: eq)...]
                .trimmed
        }
        func need(_ key: String) throws(YKTError) -> String {
            guard let v = values.removeValue(forKey: key), !v.isEmpty else {
                throw YKTError(.nodeConfig, "缺少配置项 \(key)", at: SourceLocation(file: file, field: key),
                               hint: "参照 nodes/ 下的示例配置补上")
            }
            return v
        }
        guard let role = Role(rawValue: try need("role")) else {
            throw YKTError(.nodeConfig, "role 只能是 township 或 county", at: SourceLocation(file: file, field: "role"))
        }
        self.role = role
        nodeID = try need("node_id")
        name = try need("name")
        countyCode = try need("county_code")
        defaultOperator = values.removeValue(forKey: "operator") ?? ""
        extra = values
    }

    public var text: String {
        var lines = [
            "# Yikatong node configuration (see docs/file-formats.md)",
            "role = \(role.rawValue)",
            "node_id = \(nodeID)",
            "name = \(name)",
            "county_code = \(countyCode)",
        ]
        // `operator` no longer says who acts (operators log in); kept only when an older file had a value.
        if !defaultOperator.isEmpty { lines.append("operator = \(defaultOperator)") }
        for (k, v) in extra.sorted(by: { $0.key < $1.key }) { lines.append("\(k) = \(v)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
