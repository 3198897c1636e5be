import Foundation
import Testing
import YKTCore
import YKTCrypto
import YKTNet
import YKTTestSupport
@testable import YKTPublic

/// A clock the tests move by hand (monotonic nanoseconds for the rate limiters).
final class ManualClock: @unchecked Sendable {
    // Safe: `value` is guarded by `lock`.
    private let lock = NSLock()
    private var value: UInt64 = 1_000_000_000_000

    var now: UInt64 { lock.withLock { value } }
    func advance(seconds: Double) { lock.withLock { value += UInt64(seconds * 1e9) } }
}

/// A published store and site, a development certificate (ECDSA, as browsers need), and a
/// public server on 127.0.0.1 at a port the OS chose, logging to a file. Each test its own.
final class PublicServerFixture {
    let folder: String
    let storePath: String
    let site: String
    let spool: String
    let logPath: String
    let clock = ManualClock()
    var server: PublicServer?
    let tls: TLSContext

    static let people: [(id: String, name: String)] = [("11010119900307123X", "张三丰"), ("440301198512250018", "欧阳娜娜")]
    static let phone = "13912345678"

    init(build: Bool = true) throws {
        folder = NSTemporaryDirectory() + "ykt-public-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        storePath = folder + "/query.store"
        site = folder + "/site"
        spool = folder + "/spool"
        logPath = folder + "/public.log"
        try TestPKI.script(["console", folder + "/pki"])
        tls = try TLSContext(role: .client, files: .init(certificate: folder + "/pki/console.crt", privateKey: folder + "/pki/console.key",
                                                         caCertificate: folder + "/pki/console-ca.crt"))
        _ = try QueryStore.build(path: storePath, county: "示范县", publishedAt: "2026-12-03 10:00") { add in
            for (i, p) in Self.people.enumerated() {
                try add(p.id, p.name, [PublicRecord(programName: "耕地地力保护补贴", period: "2026", amountFen: 12_345 + Int64(i), status: "已发放",
                                                    date: "2026-03-02", reason: "", account: Masking.account("6228480402564890018"),
                                                    township: "城关镇", phone: "0371-12345678")])
            }
        }
        try write("index.html", "<!doctype html><title>示范县</title><a href=\"query\">查询</a>")
        try write("style.css", "body { font-family: sans-serif; }")
        try write("policy/index.html", "<!doctype html><title>政策清单</title>")
        try write("policy/list.csv", "项目,标准\n耕地地力保护补贴,100\n")
        try sign()
        if build { try start() }
    }

    /// The county's key for this fixture's site: the server checks the manifest it signs.
    let countyKey = try! Ed25519.PrivateKey.generate()

    /// Lists every file now in the site, with the store, in a manifest signed by `countyKey`.
    func sign() throws {
        let size = (try FileManager.default.attributesOfItem(atPath: storePath)[.size] as? NSNumber)?.int64Value ?? 0
        let store = SiteManifest.Store(name: "query.store", sha256: try SHA256.hex(ofFile: storePath), bytes: size, entries: 2, records: 2)
        let manifest = try SiteManifest.make(siteFolder: site, county: "示范县", countyCode: "450223", publishedAt: "2026-12-03 10:00",
                                             store: store, publicKey: countyKey.publicKey)
        try manifest.write(siteFolder: site) { try countyKey.sign($0) }
    }

    func write(_ relative: String, _ text: String) throws {
        let path = site + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    func configuration() -> PublicServer.Configuration {
        var c = PublicServer.Configuration(storePath: storePath, certificate: folder + "/pki/console.crt", privateKey: folder + "/pki/console.key")
        c.spoolFolder = spool
        c.queries = .init(perAddress: Rate(60, per: 60), perAddressBurst: 3, global: Rate(1000, per: 1), globalBurst: 1000)
        c.complaints = .init(perAddress: Rate(1, per: 60), perAddressBurst: 2, global: Rate(100, per: 1), globalBurst: 100)
        let clock = self.clock
        c.limiterClock = { clock.now }
        return c
    }

    func start(_ configure: (inout PublicServer.Configuration) -> Void = { _ in }) throws {
        var c = configuration()
        configure(&c)
        let logger = Logger(label: "ykt.public", writer: try LogWriter(appendingTo: logPath))
        let s = try PublicServer(c, logger: logger)
        s.start()
        server = s
    }

    deinit {
        server?.stop()
        try? FileManager.default.removeItem(atPath: folder)
    }

    struct Page {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    func send(_ method: String, _ path: String, headers: [String: String] = [:], body: [UInt8] = [], from source: String? = nil) throws -> Page {
        let (r, _) = try TLSClient.send(HTTPRequest(method: method, path: path, headers: headers, body: body), port: server!.port, context: tls,
                                        source: source)
        return Page(status: r.status, headers: r.headers, body: String(decoding: r.body, as: UTF8.self))
    }

    func get(_ path: String, from source: String? = nil) throws -> Page { try send("GET", path, from: source) }

    static func token(_ page: Page) -> String {
        guard let r = page.body.range(of: "name=\"token\" value=\"") else { return "" }
        return String(page.body[r.upperBound...].prefix { $0 != "\"" })
    }

    static func encode(_ fields: [(String, String)]) -> [UInt8] {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return Array(fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&").utf8)
    }

    /// Opens the form at `path` (for its token) and posts `fields` to it, as a browser would.
    func post(_ path: String, _ fields: [(String, String)], from source: String? = nil, headers: [String: String] = [:]) throws -> Page {
        let token = Self.token(try get(path, from: source))
        var h = headers
        h["content-type"] = "application/x-www-form-urlencoded"
        return try send("POST", path, headers: h, body: Self.encode([("token", token)] + fields), from: source)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

@Suite("Public query server")
struct PublicServerTests {
    /// The page with its records taken out: a hit and a miss must be equal after this.
    static func shape(_ body: String) -> String {
        var s = body
        for (open, close) in [("<div class=\"scroll\"><table class=\"records\">", "</table></div>"), ("<p class=\"none\">", "</p>")] {
            if let a = s.range(of: open), let b = s.range(of: close, range: a.upperBound..<s.endIndex) {
                s.replaceSubrange(a.lowerBound..<b.upperBound, with: "[records]")
            }
        }
        return s
    }

    @Test("a hit shows the resident's records; a miss says 没有查到 in the same page; the ID is masked, the name not shown")
    func hitAndMiss() throws {
        let f = try PublicServerFixture()
        let (id, name) = PublicServerFixture.people[0]
        let hit = try f.post("/query", [("id", id.lowercased()), ("name", " 张 三丰 ")])
        #expect(hit.status == 200)
        #expect(hit.body.contains("<table class=\"records\">") && hit.body.contains("耕地地力保护补贴") && hit.body.contains("123.45"))
        #expect(hit.body.contains("110101********123X"))
        #expect(!hit.body.contains(id) && !hit.body.contains(name) && !hit.body.contains("没有查到"))
        let miss = try f.post("/query", [("id", id), ("name", "张三")])
        #expect(miss.status == 200)
        #expect(miss.body.contains("没有查到") && !miss.body.contains("<table"))
        #expect(Self.shape(hit.body) == Self.shape(miss.body))
        #expect(hit.headers["cache-control"] == "no-store")
        #expect(hit.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        #expect(!hit.body.contains("<script") && !hit.body.contains("style=") && !hit.body.contains("<style"))
    }

    @Test("a malformed ID gets the same form back with a clear message, nothing echoed; both fields are required")
    func malformed() throws {
        let f = try PublicServerFixture()
        let bad = try f.post("/query", [("id", "1101011990030712"), ("name", "张三丰")])
        #expect(bad.status == 400)
        #expect(bad.body.contains("身份证号应为 18 位") && bad.body.contains("<form method=\"post\" action=\"/query\""))
        #expect(!bad.body.contains("1101011990030712") && !bad.body.contains("张三丰"))
        let noName = try f.post("/query", [("id", PublicServerFixture.people[0].id), ("name", "")])
        #expect(noName.status == 400 && noName.body.contains("身份证号和姓名都要填写"))
        #expect(!noName.body.contains(PublicServerFixture.people[0].id))
    }

    @Test("the site's files are served with their types; the store and anything not listed never are, however the path is written")
    func staticFiles() throws {
        let f = try PublicServerFixture()
        let home = try f.get("/")
        #expect(home.status == 200 && home.body.contains("示范县") && home.headers["content-type"] == "text/html; charset=utf-8")
        #expect(home.headers["cache-control"]?.hasPrefix("public") == true)
        #expect(try f.get("/style.css").headers["content-type"] == "text/css; charset=utf-8")
        #expect(try f.get("/policy/").body.contains("政策清单"))
        let csv = try f.get("/policy/list.csv")
        #expect(csv.status == 200 && csv.headers["content-type"] == "text/csv; charset=utf-8")
        // A file put in the site after the start is not in the list: not served.
        try f.write("late.html", "late")
        for path in ["/query.store", "/../query.store", "/%2e%2e/query.store", "/%2E%2E%2Fquery.store", "/policy/../../query.store",
                     "/policy/%2e%2e/%2e%2e/query.store", "/site/../query.store", "//query.store", "/late.html", "/policy", "/./index.html",
                     "/index.html%00", "/..%5cquery.store"] {
            let page = try f.get(path)
            #expect(page.status == 404, "\(path)")
            #expect(!page.body.contains("SQLite format"), "\(path)")
        }
        for method in ["DELETE", "PUT", "OPTIONS", "TRACE", "PATCH"] {
            let refused = try f.send(method, "/index.html")
            #expect(refused.status == 405 && refused.headers["allow"] == "GET, HEAD, POST", "\(method)")
        }
        #expect(try f.send("POST", "/index.html").status == 404)
    }

    @Test("a site that is not what the county signed (a changed page, a page more, another key) and the server refuses to start, naming the file")
    func refusesUnsignedSite() throws {
        let f = try PublicServerFixture(build: false)
        try f.write("policy/index.html", "<!doctype html><title>政策清单（改过）</title>")
        let changed = #expect(throws: YKTError.self) { try f.start() }
        #expect(changed?.code == .siteManifest && changed?.location?.file?.hasSuffix("policy/index.html") == true, "\(String(describing: changed))")
        try f.sign()
        try f.write("extra.html", "<!doctype html><title>多出来的</title>")
        let extra = #expect(throws: YKTError.self) { try f.start() }
        #expect(extra?.code == .siteManifest && extra?.location?.file?.hasSuffix("extra.html") == true, "\(String(describing: extra))")
        try FileManager.default.removeItem(atPath: f.site + "/extra.html")
        let other = try Ed25519.PrivateKey.generate().publicKey
        let foreign = #expect(throws: YKTError.self) { try f.start { $0.publicKey = other } }
        #expect(foreign?.code == .siteManifest, "\(String(describing: foreign))")
        let county = try f.countyKey.publicKey
        try f.start { $0.publicKey = county }
        #expect(try f.get("/").status == 200)
        #expect(try f.get("/manifest.json").status == 200)
        #expect(try f.get("/manifest.sig").status == 200)
    }

    @Test("a symbolic link in the site, or the store inside the site, and the server refuses to start")
    func refusesUnsafeSite() throws {
        let f = try PublicServerFixture(build: false)
        try FileManager.default.createSymbolicLink(atPath: f.site + "/policy/store.html", withDestinationPath: f.storePath)
        let link = #expect(throws: YKTError.self) { try f.start() }
        #expect(link?.code == .siteManifest && link?.message.contains("符号链接") == true && link?.location?.file?.hasSuffix("policy/store.html") == true,
                "\(String(describing: link))")
        try FileManager.default.removeItem(atPath: f.site + "/policy/store.html")
        try FileManager.default.copyItem(atPath: f.storePath, toPath: f.site + "/query.store")
        let inside = #expect(throws: YKTError.self) { try f.start { $0.storePath = f.site + "/query.store"; $0.siteFolder = f.site } }
        #expect(inside?.code == .publicServe && inside?.message.contains("网站目录之内") == true)
        try FileManager.default.removeItem(atPath: f.site + "/query.store")
        try f.start()
        #expect(try f.get("/").status == 200)
    }

    @Test("queries over the per-address limit get 429 in Chinese with Retry-After; another address is still served; time refills")
    func rateLimit() throws {
        let f = try PublicServerFixture()
        let (id, name) = PublicServerFixture.people[1]
        for _ in 0..<3 { #expect(try f.post("/query", [("id", id), ("name", name)]).status == 200) }
        let refused = try f.post("/query", [("id", id), ("name", name)])
        #expect(refused.status == 429)
        #expect(refused.headers["retry-after"] == "1")
        #expect(refused.body.contains("提交太频繁了") && refused.body.contains("1 秒"))
        #expect(!refused.body.contains("耕地地力保护补贴"))
        // The form pages themselves are not limited; another address is served.
        #expect(try f.get("/query").status == 200)
        #expect(try f.post("/query", [("id", id), ("name", name)], from: "127.0.0.2").status == 200)
        f.clock.advance(seconds: 1)
        #expect(try f.post("/query", [("id", id), ("name", name)]).status == 200)
        #expect(try f.post("/query", [("id", id), ("name", name)]).status == 429)
    }

    @Test("a form posted from another site, or without the page's token, is refused")
    func crossSite() throws {
        let f = try PublicServerFixture()
        let (id, name) = PublicServerFixture.people[0]
        #expect(try f.post("/query", [("id", id), ("name", name)], headers: ["origin": "https://evil.example"]).status == 403)
        #expect(try f.post("/query", [("id", id), ("name", name)], headers: ["sec-fetch-site": "cross-site"]).status == 403)
        let forged = try f.send("POST", "/query", headers: ["content-type": "application/x-www-form-urlencoded"],
                                body: PublicServerFixture.encode([("token", "0123456789abcdef0123456789abcdef"), ("id", id), ("name", name)]))
        // No valid token: the form again, with a fresh token, to be sent once more.
        #expect(forged.status == 403 && forged.body.contains("表单已过期") && forged.body.contains("<form method=\"post\" action=\"/query\""))
        #expect(!forged.body.contains(id))
        // A token handed to one address does not serve another.
        let token = PublicServerFixture.token(try f.get("/query"))
        let elsewhere = try f.send("POST", "/query", headers: ["content-type": "application/x-www-form-urlencoded"],
                                   body: PublicServerFixture.encode([("token", token), ("id", id), ("name", name)]), from: "127.0.0.2")
        #expect(elsewhere.status == 403)
        let same = try f.post("/query", [("id", id), ("name", name)], headers: ["origin": "https://127.0.0.1:\(f.server!.port)"])
        #expect(same.status == 200)
    }

    @Test("one log line per request (method, path, status, ms, address) and never an ID, a name, a phone or a complaint's text")
    func logsFreeOfPersonalData() throws {
        let f = try PublicServerFixture()
        let (id, name) = PublicServerFixture.people[0]
        _ = try f.post("/query", [("id", id), ("name", name)])
        _ = try f.post("/query", [("id", "440301198512250018"), ("name", "欧阳娜娜")])
        _ = try f.post("/query", [("id", "4403011985"), ("name", "欧阳娜娜")])
        _ = try f.get("/query?id=\(id)&name=%E5%BC%A0")
        let receipt = try f.post("/complaint", [("township", "城关镇"), ("program", "耕地地力保护补贴"), ("content", "村干部克扣补贴款项"),
                                                ("name", "李四光"), ("phone", PublicServerFixture.phone)])
        #expect(receipt.status == 200)
        f.server?.stop()
        f.server = nil
        let log = f.log
        #expect(log.contains("method=POST path=/query status=200"))
        #expect(log.contains("path=/complaint status=200"))
        #expect(log.contains("address=127.0.0.1") && log.contains(" ms="))
        #expect(log.contains("path=/query?…"))
        for secret in [id, String(id.prefix(14)), "4403011985", name, "欧阳娜娜", "张", "李四光", PublicServerFixture.phone, "克扣", "%E5%BC%A0"] {
            #expect(!log.contains(secret), "\(secret) in the log")
        }
    }

    @Test("keep-alive: several requests on one connection; the connection closes when the client asks")
    func keepAlive() throws {
        let f = try PublicServerFixture()
        let session = try TLSClient.Session(port: f.server!.port, context: f.tls)
        let first = try session.send(HTTPRequest(method: "GET", path: "/"))
        #expect(first.status == 200 && first.headers["connection"] == "keep-alive")
        let form = try session.send(HTTPRequest(method: "GET", path: "/query"))
        let token = PublicServerFixture.token(.init(status: form.status, headers: form.headers, body: String(decoding: form.body, as: UTF8.self)))
        let (id, name) = PublicServerFixture.people[1]
        let answer = try session.send(HTTPRequest(method: "POST", path: "/query", headers: ["content-type": "application/x-www-form-urlencoded"],
                                                  body: PublicServerFixture.encode([("token", token), ("id", id), ("name", name)])))
        #expect(answer.status == 200 && String(decoding: answer.body, as: UTF8.self).contains("123.46"))
        let last = try session.send(HTTPRequest(method: "GET", path: "/style.css", headers: ["connection": "close"]))
        #expect(last.status == 200 && last.headers["connection"] == "close")
        #expect(throws: (any Error).self) { try session.send(HTTPRequest(method: "GET", path: "/")) }
        f.server?.stop()
        f.server = nil
        // One line a request: the four answered.
        #expect(f.log.split(separator: "\n").filter { $0.contains(": request ") }.count == 4)
    }

    @Test("keep-alive ends after the per-connection cap; each request is read under the same limits")
    func keepAliveCap() throws {
        let f = try PublicServerFixture(build: false)
        try f.start { $0.requestsPerConnection = 2 }
        let session = try TLSClient.Session(port: f.server!.port, context: f.tls)
        #expect(try session.send(HTTPRequest(method: "GET", path: "/")).headers["connection"] == "keep-alive")
        #expect(try session.send(HTTPRequest(method: "GET", path: "/")).headers["connection"] == "close")
        #expect(throws: (any Error).self) { try session.send(HTTPRequest(method: "GET", path: "/")) }
        // A body over the form limit on a kept-alive connection: refused (413) and the connection closed.
        let other = try TLSClient.Session(port: f.server!.port, context: f.tls)
        #expect(try other.send(HTTPRequest(method: "GET", path: "/")).status == 200)
        let big = try other.send(HTTPRequest(method: "POST", path: "/query", body: [UInt8](repeating: 0x61, count: PublicServer.maximumFormBytes + 1)))
        #expect(big.status == 413 && big.headers["connection"] == "close")
    }

    @Test("a kept-alive connection idle past its deadline is closed by the server")
    func keepAliveIdle() throws {
        let f = try PublicServerFixture(build: false)
        try f.start { $0.keepAliveSeconds = 0.2 }
        let session = try TLSClient.Session(port: f.server!.port, context: f.tls)
        let first = try session.send(HTTPRequest(method: "GET", path: "/"))
        #expect(first.status == 200 && first.headers["keep-alive"] == "timeout=0, max=99")
        usleep(800_000)   // the deadline under test, not a synchronisation
        #expect(throws: (any Error).self) { try session.send(HTTPRequest(method: "GET", path: "/")) }
    }
}

extension PublicServerTests {
    @Test("behind a trusted proxy each client is limited by its own address (the last X-Forwarded-For); others cannot claim one")
    func trustedProxy() throws {
        let f = try PublicServerFixture(build: false)
        try f.start { $0.trustedProxy = "127.0.0.1" }
        let (id, name) = PublicServerFixture.people[0]
        func post(_ client: String, from source: String? = nil) throws -> Int {
            let form = try f.send("GET", "/query", headers: ["x-forwarded-for": "10.0.0.9, \(client)"], from: source)
            let body = PublicServerFixture.encode([("token", PublicServerFixture.token(form)), ("id", id), ("name", name)])
            return try f.send("POST", "/query", headers: ["x-forwarded-for": "10.0.0.9, \(client)", "content-type": "application/x-www-form-urlencoded"],
                              body: body, from: source).status
        }
        for _ in 0..<3 { #expect(try post("203.0.113.7") == 200) }
        #expect(try post("203.0.113.7") == 429)
        #expect(try post("203.0.113.8") == 200)
        // Not from the proxy: the header is ignored, the connection's address counts.
        for _ in 0..<3 { #expect(try post("203.0.113.7", from: "127.0.0.2") == 200) }
        #expect(try post("203.0.113.9", from: "127.0.0.2") == 429)
        f.server?.stop()
        f.server = nil
        #expect(f.log.contains("client=203.0.113.7"))
    }
}

@Suite("Public server rate limiter")
struct RateLimiterTests {
    @Test("per-address buckets and a global one; Retry-After from the emptier; idle addresses expire so memory stays bounded")
    func buckets() {
        let clock = ManualClock()
        let limiter = RateLimiter(.init(perAddress: Rate(6, per: 60), perAddressBurst: 2, global: Rate(2, per: 1), globalBurst: 3),
                                  maximumAddresses: 4, clock: { clock.now })
        #expect(limiter.take("a") == .allowed)
        #expect(limiter.take("a") == .allowed)
        #expect(limiter.take("a") == .refused(retryAfter: 10))
        #expect(limiter.take("b") == .allowed)
        #expect(limiter.take("c") == .refused(retryAfter: 1))   // the global bucket is empty
        clock.advance(seconds: 1)
        #expect(limiter.take("c") == .allowed)
        clock.advance(seconds: 60)
        for i in 0..<10 { _ = limiter.take("x\(i)"); clock.advance(seconds: 0.5) }
        #expect(limiter.trackedAddresses <= 4)
        clock.advance(seconds: 60)
        _ = limiter.take("y")
        #expect(limiter.trackedAddresses == 1)
    }

    @Test("rates parse as N/s, N/min, N/h; anything else is refused")
    func rates() {
        #expect(Rate(parsing: "30/min") == Rate(30, per: 60))
        #expect(Rate(parsing: "5/s")?.perSecond == 5)
        #expect(Rate(parsing: "10/h") == Rate(10, per: 3600))
        #expect(Rate(parsing: "20") == Rate(20, per: 60))
        for bad in ["", "0/s", "-1/min", "x/min", "5/day", "nan/s"] { #expect(Rate(parsing: bad) == nil, "\(bad)") }
    }
}

@Suite("Public server: misses per name")
struct NameMissTests {
    @Test("6 misses for one name from 6 addresses: the 6th is refused (429, in Chinese, before any lookup); another name is still answered; hits never count; a day later the name is answered again")
    func missesPerName() throws {
        let f = try PublicServerFixture()
        let id = PublicServerFixture.people[0].id
        for i in 2...6 {
            let miss = try f.post("/query", [("id", id), ("name", "王五")], from: "127.0.0.\(i)")
            #expect(miss.status == 200 && miss.body.contains("没有查到"), "miss \(i - 1)")
        }
        // Written differently (spaces), from a sixth address: the same name, refused.
        let refused = try f.post("/query", [("id", "110101199003071234"), ("name", "王 五")], from: "127.0.0.7")
        #expect(refused.status == 429)
        #expect(refused.body.contains("这个姓名今天查询未成功的次数过多，请明天再试，或打电话给所在乡镇查询"))
        #expect(!refused.body.contains("没有查到") && !refused.body.contains("王五"))
        #expect(Int(refused.headers["retry-after"] ?? "") ?? 0 > 23 * 3600)
        // Even the right ID is refused now for that name (a refusal is not a lookup).
        #expect(try f.post("/query", [("id", id), ("name", "王五")], from: "127.0.0.8").status == 429)
        // Another name, from the same address: answered.
        let other = try f.post("/query", [("id", id), ("name", "赵六")], from: "127.0.0.7")
        #expect(other.status == 200 && other.body.contains("没有查到"))
        // A third name that hits, more times than the limit, from several addresses: always answered.
        let (id1, name1) = PublicServerFixture.people[1]
        for i in 0..<7 {
            let hit = try f.post("/query", [("id", id1), ("name", name1)], from: "127.0.1.\(i + 1)")
            #expect(hit.status == 200 && hit.body.contains("123.46"), "hit \(i + 1)")
        }
        f.clock.advance(seconds: 24 * 3600 + 1)
        #expect(try f.post("/query", [("id", id), ("name", "王五")], from: "127.0.0.9").status == 200)
        f.server?.stop()
        f.server = nil
        #expect(f.log.contains("refused=name-misses") && !f.log.contains("王五"))
    }

    @Test("the table keeps no name (an HMAC under the server's secret), and is bounded: beyond it new names share one entry")
    func bounded() {
        let clock = ManualClock()
        let limiter = NameMissLimiter(limit: 2, maximumNames: 3, secret: Array("secret".utf8), clock: { clock.now })
        for name in ["甲", "乙", "丙"] { limiter.miss(name) }
        #expect(limiter.trackedNames == 3)
        #expect(limiter.refused("甲") == nil)
        limiter.miss("甲")
        #expect(limiter.refused("甲") != nil && limiter.refused("乙") == nil)
        // Full: new names share the overflow entry, which refuses them all after 2 misses.
        limiter.miss("丁")
        #expect(limiter.refused("戊") == nil)
        limiter.miss("戊")
        #expect(limiter.trackedNames == 3 && limiter.refused("己") != nil && limiter.refused("乙") == nil)
        #expect(NameMissLimiter(limit: 1, secret: [1]).key("甲") != NameMissLimiter(limit: 1, secret: [2]).key("甲"))
        clock.advance(seconds: 24 * 3600 + 61)
        #expect(limiter.refused("甲") == nil && limiter.refused("己") == nil)
        #expect(limiter.trackedNames == 0)
    }

    @Test("IPv6 clients are limited by their /64; IPv4-mapped addresses as IPv4")
    func ipv6Grouping() throws {
        #expect(PublicServer.limiterKey("203.0.113.7") == "203.0.113.7")
        #expect(PublicServer.limiterKey("2001:db8:1:2::1") == PublicServer.limiterKey("2001:db8:1:2:ffff:eeee:dddd:cccc"))
        #expect(PublicServer.limiterKey("2001:db8:1:2::1") == "2001:db8:1:2::/64")
        #expect(PublicServer.limiterKey("2001:db8:1:3::1") != PublicServer.limiterKey("2001:db8:1:2::1"))
        #expect(PublicServer.limiterKey("::ffff:203.0.113.7") == "203.0.113.7")
        // Through the trusted proxy: two addresses of one /64 share a bucket (burst 3).
        let f = try PublicServerFixture(build: false)
        try f.start { $0.trustedProxy = "127.0.0.1" }
        let (id, name) = PublicServerFixture.people[0]
        func post(_ client: String) throws -> Int {
            let form = try f.send("GET", "/query", headers: ["x-forwarded-for": client])
            let body = PublicServerFixture.encode([("token", PublicServerFixture.token(form)), ("id", id), ("name", name)])
            return try f.send("POST", "/query", headers: ["x-forwarded-for": client, "content-type": "application/x-www-form-urlencoded"], body: body).status
        }
        for i in 1...3 { #expect(try post("2001:db8:1:2::\(i)") == 200) }
        #expect(try post("2001:db8:1:2::99") == 429)
        #expect(try post("2001:db8:1:3::1") == 200)
    }
}

extension PublicServerTests {
    @Test("one address holds at most 16 connections: the 17th is refused at once (503, a page in Chinese) while another address is served")
    func connectionsPerAddress() throws {
        let f = try PublicServerFixture()
        var held: [TLSConnection] = []
        for _ in 0..<16 { held.append(try TLSClient.connect(host: "127.0.0.1", port: f.server!.port, context: f.tls)) }
        let until = Date().addingTimeInterval(5)
        while f.server!.connectionCounts.active < 16 && Date() < until { usleep(10_000) }
        #expect(f.server!.connectionCounts.active == 16)
        let refused = try f.get("/")
        #expect(refused.status == 503)
        #expect(refused.body.contains("现在访问的人太多") && refused.headers["content-type"] == "text/html; charset=utf-8")
        #expect(refused.headers["retry-after"] == "5")
        #expect(try f.get("/", from: "127.0.0.2").status == 200)
        // A slot given back is a slot for the same address again.
        held.removeFirst()   // closed as it goes
        let freed = Date().addingTimeInterval(5)
        while f.server!.connectionCounts.active > 15 && Date() < freed { usleep(10_000) }
        #expect(try f.get("/").status == 200)
        held.removeAll()
        f.server?.stop()
        f.server = nil
        #expect(f.log.contains("connection refused: 16 connections already open from one address"))
    }
}

extension PublicServerTests {
    @Test("a query with a malformed ID or an empty field, and a complaint refused for its content, take no token (no scrypt spent)")
    func refusedFormsTakeNoToken() throws {
        let f = try PublicServerFixture()   // queries: a burst of 3 per address; complaints: 2
        let (id, name) = PublicServerFixture.people[0]
        for _ in 0..<4 {
            #expect(try f.post("/query", [("id", "1101011990"), ("name", name)]).status == 400)
            #expect(try f.post("/query", [("id", id), ("name", " ")]).status == 400)
            #expect(try f.post("/query", [("id", ""), ("name", name)]).status == 400)
        }
        for _ in 0..<3 { #expect(try f.post("/query", [("id", id), ("name", name)]).status == 200) }
        #expect(try f.post("/query", [("id", id), ("name", name)]).status == 429)
        for _ in 0..<3 {
            #expect(try f.post("/complaint", [("content", "  "), ("township", "城关镇")]).status == 400)
            #expect(try f.post("/complaint", [("content", "有问题"), ("phone", "call me")]).status == 400)
        }
        for _ in 0..<2 { #expect(try f.post("/complaint", [("township", "城关镇"), ("content", "补贴没有收到")]).status == 200) }
        #expect(try f.post("/complaint", [("township", "城关镇"), ("content", "补贴没有收到")]).status == 429)
    }
}
