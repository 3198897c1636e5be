/// A list of problems shown short enough to read: when no error code has more than `perCode`
/// problems, every problem; otherwise the count for each code, then the first `perCode`
/// problems of each. One systematic mistake in 100,000 lines prints a few dozen lines, not
/// 100,000; the whole list goes to a file (`docs/conventions.md` (e)).
public enum ProblemSummary {
    public static let perCode = 20

    /// The lines to print, without a trailing line break. `fullList` names where every problem
    /// was written, when it was.
    public static func lines(_ problems: [YKTError], perCode: Int = perCode, fullList: String? = nil) -> [String] {
        guard !problems.isEmpty else { return [] }
        var order: [ErrorCode] = []
        var byCode: [ErrorCode: [YKTError]] = [:]
        for p in problems {
            if byCode[p.code] == nil { order.append(p.code) }
            if byCode[p.code, default: []].count < perCode { byCode[p.code, default: []].append(p) }
        }
        var counts: [ErrorCode: Int] = [:]
        for p in problems { counts[p.code, default: 0] += 1 }
        guard counts.values.contains(where: { $0 > perCode }) else {
            var out = ["共 \(problems.count) 处问题："]
            out += problems.map { "  - " + $0.description }
            if let fullList { out.append("完整清单：\(fullList)") }
            return out
        }
        var out = ["共 \(problems.count) 处问题，按错误代码："]
        for code in order {
            let meaning = code.meaning.isEmpty ? "" : "  " + code.meaning
            out.append("  \(code.rawValue)  \(counts[code] ?? 0) 处" + meaning)
        }
        for code in order {
            let count = counts[code] ?? 0
            out.append(count > perCode ? "\(code.rawValue) 的前 \(perCode) 处（共 \(count) 处）：" : "\(code.rawValue)（\(count) 处）：")
            out += (byCode[code] ?? []).map { "  - " + $0.description }
        }
        if let fullList { out.append("每一处问题见完整清单：\(fullList)") }
        return out
    }
}
