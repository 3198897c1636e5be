import Foundation
import YKTCore
import YKTNet

/// One browser request, parsed: path, query, cookies, and a form's fields and files
/// (`application/x-www-form-urlencoded` or `multipart/form-data`).
public struct WebRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String] = [:]
    public var form: [String: String] = [:]
    /// Uploaded files by field name: the name the browser gave and the bytes.
    public var files: [String: (name: String, bytes: [UInt8])] = [:]
    public var cookies: [String: String] = [:]
    public var headers: [String: String]
    /// The peer's address (for the log and the lock-out message; never personal data).
    public var peer: String

    /// Fields past this many are refused (a form never has so many).
    static let maximumFields = 2_000

    public init(_ http: HTTPRequest, peer: String) throws(YKTError) {
        method = http.method
        headers = http.headers
        self.peer = peer
        let target = http.path
        if let q = target.firstIndex(of: "?") {
            path = String(target[..<q])
            query = try Self.parseURLEncoded(String(target[target.index(after: q)...]))
        } else {
            path = target
        }
        path = Self.percentDecode(path) ?? path
        if let cookie = http.headers["cookie"] {
            for part in cookie.split(separator: ";") {
                let kv = part.split(separator: "=", maxSplits: 1)
                if kv.count == 2 { cookies[kv[0].trimmingCharacters(in: .whitespaces)] = kv[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        guard method == "POST" else { return }
        let type = http.headers["content-type"] ?? ""
        if type.hasPrefix("application/x-www-form-urlencoded") {
            form = try Self.parseURLEncoded(String(decoding: http.body, as: UTF8.self))
        } else if type.hasPrefix("multipart/form-data") {
            guard let boundary = Self.parameter("boundary", in: type) else {
                throw YKTError(.usageValue, "表单缺少 multipart 分隔符", hint: "请用页面上的表单提交")
            }
            try parseMultipart(http.body, boundary: boundary)
        }
    }

    /// A form or query value, trimmed; nil when absent or blank.
    public func value(_ name: String) -> String? {
        let v = (form[name] ?? query[name])?.trimmingCharacters(in: .whitespacesAndNewlines)
        return v?.isEmpty == false ? v : nil
    }

    static func parseURLEncoded(_ text: String) throws(YKTError) -> [String: String] {
        var out: [String: String] = [:]
        for pair in text.split(separator: "&") {
            guard out.count < maximumFields else { throw YKTError(.usageValue, "表单字段过多") }
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = percentDecode(String(kv[0]).replacingOccurrences(of: "+", with: " ")) ?? ""
            let value = kv.count > 1 ? percentDecode(String(kv[1]).replacingOccurrences(of: "+", with: " ")) ?? "" : ""
            // A repeated name (checkboxes) keeps every value, separated by a newline.
            if let old = out[key] { out[key] = old + "\n" + value } else { out[key] = value }
        }
        return out
    }

    /// Decodes `%XX`; nil when the result is not UTF-8.
    static func percentDecode(_ s: String) -> String? {
        guard s.contains("%") else { return s }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%"), it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    static func parameter(_ name: String, in header: String) -> String? {
        for part in header.split(separator: ";") {
            let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0].lowercased() == name {
                var v = String(kv[1])
                if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
                return v
            }
        }
        return nil
    }

    mutating func parseMultipart(_ body: [UInt8], boundary: String) throws(YKTError) {
        let delimiter = Array("--\(boundary)".utf8)
        var position = 0
        guard let first = Self.find(delimiter, in: body, from: 0) else {
            throw YKTError(.usageValue, "表单内容不完整", hint: "请重新选择文件后提交")
        }
        position = first + delimiter.count
        var count = 0
        while position + 2 <= body.count {
            if body[position] == UInt8(ascii: "-") && body[position + 1] == UInt8(ascii: "-") { return }   // the closing delimiter
            position += 2   // CRLF after the delimiter
            guard let headEnd = Self.find([13, 10, 13, 10], in: body, from: position) else { break }
            let head = String(decoding: body[position..<headEnd], as: UTF8.self)
            let start = headEnd + 4
            guard let next = Self.find([13, 10] + delimiter, in: body, from: start) else { break }
            var name: String?
            var fileName: String?
            for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
                name = Self.parameter("name", in: String(line))
                fileName = Self.parameter("filename", in: String(line))
            }
            count += 1
            guard count <= Self.maximumFields else { throw YKTError(.usageValue, "表单字段过多") }
            if let name {
                if let fileName {
                    files[name] = ((fileName as NSString).lastPathComponent, Array(body[start..<next]))
                } else {
                    form[name] = String(decoding: body[start..<next], as: UTF8.self)
                }
            }
            position = next + 2 + delimiter.count
        }
        throw YKTError(.usageValue, "表单内容不完整（上传中断？）", hint: "请重新选择文件后提交")
    }

    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        let first = needle[0]
        var i = from
        let last = hay.count - needle.count
        return hay.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                while i <= last {
                    if h[i] == first && memcmp(h.baseAddress! + i, n.baseAddress!, n.count) == 0 { return i }
                    i += 1
                }
                return nil
            }
        }
    }
}

/// What a page answers.
public struct WebResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int = 200, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func html(_ page: HTML, status: Int = 200) -> WebResponse {
        WebResponse(status: status, headers: ["content-type": "text/html; charset=utf-8"], body: Array(page.text.utf8))
    }

    /// After a form that changed something: go to `location` (303, the browser GETs it).
    public static func redirect(_ location: String) -> WebResponse {
        WebResponse(status: 303, headers: ["location": location])
    }

    /// A file to save: `name` may be Chinese (RFC 6266 `filename*`, with a plain fallback).
    public static func download(_ bytes: [UInt8], name: String, type: String) -> WebResponse {
        let ascii = String(name.unicodeScalars.map { $0.isASCII && $0 != "\"" && $0 != "\\" && $0.value >= 0x20 ? Character($0) : "_" })
        return WebResponse(status: 200, headers: [
            "content-type": type,
            "content-disposition": "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(Markup.percentEncode(name))",
        ], body: bytes)
    }
}
