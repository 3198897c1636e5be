import Foundation
import YKTConsole
import YKTCore
import YKTNet

/// A browser for tests: one cookie jar, every request on a real connection to a real console
/// (plain HTTP or TLS), the CSRF token picked from the last page, forms posted as a browser posts
/// them (urlencoded, or multipart with a file).
final class ConsoleBrowser {
    let port: UInt16
    let tls: TLSContext?
    var cookies: [String: String] = [:]
    /// The CSRF token of the last page that had a form.
    var csrf: String?
    var lastPage = ""

    init(port: UInt16, tls: TLSContext? = nil) {
        self.port = port
        self.tls = tls
    }

    struct Page {
        var status: Int
        var headers: [String: String]
        var body: String
        var location: String? { headers["location"] }
    }

    func send(_ method: String, _ path: String, headers extra: [String: String] = [:], body: [UInt8] = []) throws -> Page {
        var headers = extra
        if !cookies.isEmpty { headers["cookie"] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        let (response, _) = try TLSClient.send(HTTPRequest(method: method, path: path, headers: headers, body: body), port: port, context: tls)
        if let set = response.headers["set-cookie"], let kv = set.split(separator: ";").first {
            let parts = kv.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2 {
                let (name, value) = (String(parts[0]), String(parts[1]))
                if value.isEmpty { cookies[name] = nil } else { cookies[name] = value }
            }
        }
        let text = String(decoding: response.body, as: UTF8.self)
        if let r = text.range(of: "name=\"csrf\" value=\"") {
            csrf = String(text[r.upperBound...].prefix { $0 != "\"" })
        }
        lastPage = text
        return Page(status: response.status, headers: response.headers, body: text)
    }

    /// GET, following redirects (as a browser does).
    @discardableResult
    func get(_ path: String) throws -> Page {
        var page = try send("GET", path)
        var hops = 0
        while page.status == 303, let next = page.location, hops < 5 {
            page = try send("GET", next)
            hops += 1
        }
        return page
    }

    /// POST a form (with the CSRF token unless `csrf: false`); follows the redirect.
    @discardableResult
    func post(_ path: String, _ fields: [(String, String)], csrf withToken: Bool = true, follow: Bool = true,
              headers: [String: String] = [:]) throws -> Page {
        var all = fields
        if withToken, let csrf { all.append(("csrf", csrf)) }
        let body = all.map { "\(Markup.percentEncode($0.0))=\(Markup.percentEncode($0.1))" }.joined(separator: "&")
        var h = headers
        h["content-type"] = "application/x-www-form-urlencoded"
        let page = try send("POST", path, headers: h, body: Array(body.utf8))
        if follow, page.status == 303, let next = page.location { return try get(next) }
        return page
    }

    /// POST a multipart form with one file.
    @discardableResult
    func upload(_ path: String, file field: String, name: String, bytes: [UInt8], fields: [(String, String)] = []) throws -> Page {
        let boundary = "----ykt\(UInt64.random(in: 0...UInt64.max))"
        var body: [UInt8] = []
        var all = fields
        if let csrf { all.append(("csrf", csrf)) }
        for (k, v) in all {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(k)\"\r\n\r\n\(v)\r\n".utf8)
        }
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(name)\"\r\nContent-Type: text/csv\r\n\r\n".utf8)
        body += bytes
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        let page = try send("POST", path, headers: ["content-type": "multipart/form-data; boundary=\(boundary)"], body: body)
        if page.status == 303, let next = page.location { return try get(next) }
        return page
    }

    /// Logs in; returns the page after login.
    @discardableResult
    func login(_ login: String, password: String) throws -> Page {
        try post("/login", [("login", login), ("password", password)], csrf: false)
    }
}

/// A temporary directory removed when the test ends.
final class ConsoleTempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "ykt-console-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
    func write(_ name: String, _ text: String) -> String {
        _ = FileManager.default.createFile(atPath: file(name), contents: Data(text.utf8))
        return file(name)
    }
}
