import Foundation
import YKTCore
import YKTCrypto
import YKTNet
#if canImport(Glibc)
import Glibc
#endif

/// `ykt public serve`: the small HTTPS server that faces the public (docs/public.md,
/// "公众查询服务"). It serves the published site's files (only those, only from the site
/// folder), the query form over the query store, and the complaint form that writes to a spool
/// folder. It opens no node database: what it knows is the store and the site.
///
/// - TLS with a server certificate only (browsers bring none); HTTP keep-alive, each request
///   under the same limits.
/// - Queries and complaints are rate-limited per client address and in all (`RateLimiter`);
///   over the limit: 429 with `Retry-After`, a page in Chinese.
/// - Forms carry a token (an HMAC of a secret made at start, the hour and the client address)
///   and are refused from another origin (`Origin`, `Sec-Fetch-Site`).
/// - One log line per request: method, path (never a query string), status, milliseconds,
///   address. Never an ID, a name, a phone or a complaint's text: those travel only in POST
///   bodies, which are not logged.
public final class PublicServer: @unchecked Sendable {
    // Safe: everything is set in init and only read afterwards; the store and the limiters are
    // thread-safe themselves.

    public struct Configuration: Sendable {
        public var storePath: String
        /// nil: the `site` folder beside the store.
        public var siteFolder: String?
        public var host = "127.0.0.1"
        public var port: UInt16 = 0
        public var certificate: String
        public var privateKey: String
        /// Where complaints are written; nil: the complaint form says to use the phone channels.
        public var spoolFolder: String?
        /// The county's public key, for the site's signed manifest.
        public var publicKey: Ed25519.PublicKey?
        public var queries = RateLimiter.Settings.queries
        public var complaints = RateLimiter.Settings.complaints
        /// Misses for one name (from any address) before queries for it are refused for the rest
        /// of 24 hours (`NameMissLimiter`).
        public var nameMisses = 5
        /// The address of a reverse proxy in front of the server: requests from it are counted
        /// (rate limits, form tokens) by the client address it puts last in `X-Forwarded-For`.
        public var trustedProxy: String?
        public var maximumConnections = 128
        /// Connections one client address may hold at once (the trusted proxy's are not capped).
        public var maximumConnectionsPerAddress = 16
        /// Requests one connection may carry (keep-alive) and how long it may sit idle between them.
        public var requestsPerConnection = 100
        public var keepAliveSeconds = 5.0
        /// Monotonic nanoseconds for the rate limiters (tests set their own).
        public var limiterClock: @Sendable () -> UInt64 = RateLimiter.monotonicNow
        /// The wall clock for receipts.
        public var now: @Sendable () -> Date = { Date() }

        public init(storePath: String, certificate: String, privateKey: String) {
            self.storePath = storePath
            self.certificate = certificate
            self.privateKey = privateKey
        }

        public var resolvedSiteFolder: String {
            siteFolder ?? ((storePath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("site")
        }
    }

    public let configuration: Configuration
    public let store: QueryStore
    let siteFolder: String
    /// Relative path → served (the manifest's files).
    let files: Set<String>
    let site: PublicPages.Site
    let queryLimiter: RateLimiter
    let complaintLimiter: RateLimiter
    let nameLimiter: NameMissLimiter
    private let secret: [UInt8]
    private var server: TLSServer!
    let logger: Logger?

    /// The largest form body accepted (a complaint of 2,000 characters, percent-encoded, is
    /// about 18 KB).
    static let maximumFormBytes = 32 * 1024

    public init(_ configuration: Configuration, logger: Logger? = nil) throws {
        self.configuration = configuration
        self.logger = logger
        store = try QueryStore(path: configuration.storePath)
        siteFolder = configuration.resolvedSiteFolder
        var files = Set(try PublicServerSite.files(siteFolder: siteFolder, storePath: configuration.storePath,
                                                   publicKey: configuration.publicKey))
        // The signed manifest itself, so that anyone can check what the server serves.
        for name in ["manifest.json", "manifest.sig"] {
            var st = stat()
            if lstat((siteFolder as NSString).appendingPathComponent(name), &st) == 0, st.st_mode & S_IFMT == S_IFREG { files.insert(name) }
        }
        self.files = files
        site = PublicPages.Site(county: store.county, publishedAt: store.publishedAt, hasStylesheet: files.contains("style.css"))
        if let spool = configuration.spoolFolder { try ComplaintSpool.prepare(spool) }
        queryLimiter = RateLimiter(configuration.queries, clock: configuration.limiterClock)
        complaintLimiter = RateLimiter(configuration.complaints, clock: configuration.limiterClock)
        var secret = [UInt8](repeating: 0, count: 32)
        for i in secret.indices { secret[i] = UInt8.random(in: 0...255) }
        self.secret = secret
        nameLimiter = NameMissLimiter(limit: configuration.nameMisses, secret: secret, clock: configuration.limiterClock)

        let context: TLSContext
        do {
            // No client certificates: the CA file is only what OpenSSL wants loaded; the
            // server's own certificate serves (no peer is ever verified against it).
            context = try TLSContext(role: .server, files: .init(certificate: configuration.certificate, privateKey: configuration.privateKey,
                                                                 caCertificate: configuration.certificate), clientCertificates: false)
        } catch {
            throw YKTError(.publicServe, "不能载入服务器证书或私钥：\(error)", at: SourceLocation(field: "--certificate"),
                           hint: "--certificate 给 PEM 格式的证书（可含中间证书），--key 给与它配对的私钥；浏览器接受 ECDSA P-256 或 RSA，不接受 Ed25519")
        }
        var limits = HTTPLimits()
        limits.maximumBodyBytes = Self.maximumFormBytes
        limits.headerDeadlineSeconds = 10
        limits.maximumRequestsPerConnection = max(1, configuration.requestsPerConnection)
        limits.keepAliveIdleSeconds = configuration.keepAliveSeconds
        let router: TLSServer.Router = { method, path in
            let bare = String(path.prefix { $0 != "?" })
            switch (method, bare) {
            case ("POST", "/query"), ("POST", "/complaint"): return .buffered(maximumBody: Self.maximumFormBytes)
            case ("GET", _), ("HEAD", _): return .buffered(maximumBody: 0)
            case ("POST", _): return nil
            default: return .buffered(maximumBody: 0)   // answered 405
            }
        }
        do {
            server = try TLSServer(context: context, host: configuration.host, port: configuration.port, limits: limits,
                                   maximumConnections: configuration.maximumConnections,
                                   maximumConnectionsPerPeer: configuration.maximumConnectionsPerAddress, peersAuthenticate: false,
                                   router: router) { [unowned self] peer, request in
                self.answer(peer: peer, request)
            }
        } catch {
            throw YKTError(.publicServe, "不能监听 \(configuration.host):\(configuration.port)：\(error)", at: SourceLocation(field: "--listen"),
                           hint: "换一个端口，或停止占用它的程序")
        }
        if let proxy = configuration.trustedProxy { server.uncappedPeers = [proxy] }
        server.busyResponse = secured(html(PublicPages.busy(site), status: 503, headers: ["retry-after": "5"]))
        if let logger {
            server.log = { line in
                // A query string never reaches the log (a mistaken GET /query?id=… would carry an ID).
                let pairs = line.metadata.filter { $0.0 != "peer" }.map { (key: $0.0, value: $0.0 == "path" ? Self.loggedPath($0.1) : $0.1) }
                logger.log(line.level == .warning ? .warning : .info, line.message, pairs: pairs)
            }
        }
    }

    public var port: UInt16 { server.port }
    /// Connections open now: (answering, still in their handshake).
    public var connectionCounts: (active: Int, pending: Int) { server.connectionCounts }
    public func start() { server.start() }
    public func stop() { server.stop() }
    /// The number of files the server may serve.
    public var fileCount: Int { files.count }

    static func loggedPath(_ path: String) -> String {
        let bare = String(path.prefix { $0 != "?" }.prefix(120))
        return bare.count < path.count ? bare + "?…" : bare
    }

    // MARK: Requests

    func answer(peer connection: String, _ request: HTTPRequest) -> HTTPResponse {
        let peer = client(connection, request)
        var response = route(peer: peer, request)
        if peer != connection { response.log.append(("client", peer)) }
        response = secured(response)
        if request.method == "HEAD" { response.body = [] }
        return response
    }

    /// The headers every answer carries.
    func secured(_ answer: HTTPResponse) -> HTTPResponse {
        var response = answer
        response.headers["x-content-type-options"] = "nosniff"
        response.headers["x-frame-options"] = "DENY"
        // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with a
        // form's POST, and the same-origin check below would refuse every real form.
        response.headers["referrer-policy"] = "same-origin"
        response.headers["content-security-policy"] = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        if response.headers["cache-control"] == nil { response.headers["cache-control"] = "no-store" }
        return response
    }

    /// Who the request is from: the connection's address, or behind the trusted proxy the last
    /// address it added to `X-Forwarded-For` (the one it saw; earlier ones the client may forge).
    func client(_ connection: String, _ request: HTTPRequest) -> String {
        guard let proxy = configuration.trustedProxy, connection == proxy,
              let forwarded = request.headers["x-forwarded-for"]?.split(separator: ",").last?.trimmingCharacters(in: .whitespaces),
              !forwarded.isEmpty, forwarded.count <= 45, forwarded.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) else {
            return connection
        }
        return forwarded
    }

    func html(_ body: [UInt8], status: Int = 200, headers: [String: String] = [:], log: [(String, String)] = []) -> HTTPResponse {
        var h = headers
        h["content-type"] = "text/html; charset=utf-8"
        return HTTPResponse(status: status, headers: h, body: body, log: log)
    }

    /// The rate limiters' key for a client address: an IPv4 address itself; an IPv6 address
    /// by its /64 (one subscriber usually holds a whole /64 and can pick any address in it);
    /// an IPv4-mapped IPv6 address as the IPv4 address.
    static func limiterKey(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var raw = in6_addr()
        guard inet_pton(AF_INET6, address, &raw) == 1 else { return address }
        let bytes = withUnsafeBytes(of: &raw) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }

    func route(peer: String, _ request: HTTPRequest) -> HTTPResponse {
        let path = String(request.path.prefix { $0 != "?" })
        switch (request.method, path) {
        case ("GET", "/query"), ("HEAD", "/query"):
            return html(PublicPages.queryForm(site, token: token(peer: peer), message: nil))
        case ("POST", "/query"):
            return query(peer: peer, request)
        case ("GET", "/complaint"), ("HEAD", "/complaint"):
            return complaintForm(peer: peer, form: .init(), message: nil)
        case ("POST", "/complaint"):
            return complaint(peer: peer, request)
        case ("GET", _), ("HEAD", _):
            return staticFile(path)
        case (let method, _) where method != "POST":
            return html(PublicPages.refused(site, "本站只接受 GET、HEAD 和 POST 请求。"), status: 405, headers: ["allow": "GET, HEAD, POST"])
        default:
            return html(PublicPages.notFound(site), status: 404)
        }
    }

    /// A file of the site, when `path` names one the manifest lists; `/` and a folder's `/`
    /// are its `index.html`. Nothing else on disk is reachable: the decoded path must be one
    /// of the listed names exactly.
    func staticFile(_ path: String) -> HTTPResponse {
        guard let decoded = path.removingPercentEncoding, decoded.hasPrefix("/") else { return html(PublicPages.notFound(site), status: 404) }
        var relative = String(decoded.dropFirst())
        if relative.isEmpty || relative.hasSuffix("/") { relative += "index.html" }
        let segments = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }), !relative.contains("\0"), !relative.contains("\\"),
              files.contains(relative) else {
            return html(PublicPages.notFound(site), status: 404)
        }
        let full = (siteFolder as NSString).appendingPathComponent(relative)
        let bytes: [UInt8]
        do { bytes = try ExchangeFile.read(path: full, maximumBytes: 512 << 20) } catch {
            logger?.warning("site file unreadable", ["file": relative, "code": error.code.rawValue])
            return html(PublicPages.notFound(site), status: 404)
        }
        let type = Self.contentType(relative)
        let cache = relative.hasSuffix(".css") ? "public, max-age=3600" : "public, max-age=300"
        return HTTPResponse(status: 200, headers: ["content-type": type, "cache-control": cache], body: bytes)
    }

    static func contentType(_ path: String) -> String {
        switch (path as NSString).pathExtension.lowercased() {
        case "html", "htm": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "csv": "text/csv; charset=utf-8"
        case "json": "application/json"
        case "txt", "sig": "text/plain; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "ico": "image/x-icon"
        case "pdf": "application/pdf"
        default: "application/octet-stream"
        }
    }

    // MARK: Query

    func query(peer: String, _ request: HTTPRequest) -> HTTPResponse {
        let token = self.token(peer: peer)
        switch checkForm(peer: peer, request) {
        case .crossSite: return crossSite()
        case .staleToken: return html(PublicPages.queryForm(site, token: token, message: Self.staleTokenMessage), status: 403)
        case nil: break
        }
        // A form refused for its fields spends no scrypt: it takes no token either.
        let form = Self.form(request.body)
        let id = form["id"] ?? "", name = form["name"] ?? ""
        guard !id.trimmingCharacters(in: .whitespaces).isEmpty, !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            return html(PublicPages.queryForm(site, token: token, message: "身份证号和姓名都要填写。"), status: 400)
        }
        guard let key = QueryKey.normalise(id: id, name: name) else {
            let message = QueryKey.normalise(id: id, name: "甲") == nil
                ? "身份证号应为 18 位：17 位数字，最后一位是数字或 X。请核对后重新输入。"
                : "姓名不对：请写身份证上的姓名（不超过 50 字）。"
            return html(PublicPages.queryForm(site, token: token, message: message), status: 400)
        }
        // Before the lookup, so that a refusal says nothing about whether the person is there.
        if let after = nameLimiter.refused(key.name) {
            return html(PublicPages.nameRefused(site), status: 429, headers: ["retry-after": String(after)], log: [("refused", "name-misses")])
        }
        if case .refused(let after) = queryLimiter.take(Self.limiterKey(peer)) { return tooMany(after) }
        let records: [PublicRecord]?
        do { records = try store.lookup(id: key.id, name: key.name) } catch {
            logger?.error("query store failed", ["code": (error as? YKTError)?.code.rawValue ?? "?"])
            return html(PublicPages.refused(site, "查询暂时不能办理，请稍后再试。"), status: 500)
        }
        if records == nil { nameLimiter.miss(key.name) }
        return html(PublicPages.queryAnswer(site, maskedID: Masking.residentID(key.id), records: records))
    }

    // MARK: Complaints

    func complaintForm(peer: String, form: PublicPages.ComplaintForm, message: String?, status: Int = 200) -> HTTPResponse {
        guard configuration.spoolFolder != nil else {
            return html(PublicPages.refused(site, "本站暂不受理网上投诉，请打电话给县、乡镇的投诉电话（见投诉举报渠道页）。"), status: 404)
        }
        return html(PublicPages.complaintForm(site, token: token(peer: peer), form: form, message: message), status: status)
    }

    func complaint(peer: String, _ request: HTTPRequest) -> HTTPResponse {
        guard let spool = configuration.spoolFolder else { return complaintForm(peer: peer, form: .init(), message: nil) }
        let problem = checkForm(peer: peer, request)
        if problem == .crossSite { return crossSite() }
        let f = Self.form(request.body)
        func field(_ k: String) -> String { (f[k] ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        let form = PublicPages.ComplaintForm(township: field("township"), program: field("program"),
                                             content: (f["content"] ?? "").replacingOccurrences(of: "\r\n", with: "\n")
                                                .trimmingCharacters(in: .whitespacesAndNewlines),
                                             name: field("name"), phone: field("phone"))
        if problem == .staleToken { return complaintForm(peer: peer, form: form, message: Self.staleTokenMessage, status: 403) }
        let now = configuration.now()
        let complaint = PublicComplaint(receipt: ComplaintSpool.newReceipt(date: CivilDate.inChina(at: now).description),
                                        receivedAt: ChinaTime.timestamp(now), township: form.township, program: form.program,
                                        content: form.content, name: form.name, phone: form.phone)
        do {
            try complaint.validate()
        } catch {
            return complaintForm(peer: peer, form: form, message: error.message + "。" + (error.hint ?? ""), status: 400)
        }
        // Only a complaint that would be written takes a token: one refused for its content costs nothing.
        if case .refused(let after) = complaintLimiter.take(Self.limiterKey(peer)) { return tooMany(after) }
        // 50 random bits a day: a clash is not expected, and link(2) refuses one rather than replace a file.
        do {
            try ComplaintSpool.write(complaint, into: spool)
            logger?.info("complaint spooled", ["receipt": complaint.receipt])
            return html(PublicPages.complaintReceipt(site, receipt: complaint.receipt))
        } catch {
            logger?.error("complaint not spooled", ["code": error.code.rawValue])
        }
        return html(PublicPages.refused(site, "投诉暂时不能保存，请稍后再试，或打电话反映。"), status: 500)
    }

    // MARK: Forms

    enum FormProblem {
        /// Posted from another site: refused outright.
        case crossSite
        /// No valid token (expired, from a server since restarted, from another address): the
        /// form is shown again, with a fresh token, to be sent once more.
        case staleToken
    }

    static let staleTokenMessage = "表单已过期（或是在别的网络打开的），请再提交一次。"

    /// Whether the form came from our own page: the same origin, and a valid token.
    func checkForm(peer: String, _ request: HTTPRequest) -> FormProblem? {
        if let fetch = request.headers["sec-fetch-site"]?.lowercased(), fetch != "same-origin", fetch != "none" { return .crossSite }
        if let origin = request.headers["origin"], let host = request.headers["host"], origin != "https://\(host)" { return .crossSite }
        let sent = Self.form(request.body)["token"] ?? ""
        let hour = Int(configuration.now().timeIntervalSince1970) / 3600
        guard [hour, hour - 1].contains(where: { Self.constantTimeEqual(sent, token(peer: peer, hour: $0)) }) else { return .staleToken }
        return nil
    }

    func crossSite() -> HTTPResponse { html(PublicPages.refused(site, "表单来自其他网站，已拒绝。"), status: 403) }

    /// The form token for `peer` in this hour (valid this hour and the next).
    func token(peer: String, hour: Int? = nil) -> String {
        let h = hour ?? Int(configuration.now().timeIntervalSince1970) / 3600
        return String(Hex.encode(Self.hmac(key: secret, Array("ykt-public-form|\(h)|\(peer)".utf8))).prefix(32))
    }

    func tooMany(_ retryAfter: Int) -> HTTPResponse {
        html(PublicPages.tooMany(site, retryAfter: retryAfter), status: 429, headers: ["retry-after": String(retryAfter)])
    }

    /// An `application/x-www-form-urlencoded` body, decoded (the last of repeated names wins).
    static func form(_ body: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            out[decode(kv[0])] = kv.count == 2 ? decode(kv[1]) : ""
        }
        return out
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var d: UInt8 = 0
        for i in 0..<x.count { d |= x[i] ^ y[i] }
        return d == 0
    }

    /// HMAC-SHA-256 (RFC 2104).
    static func hmac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var k = key.count > 64 ? SHA256.hash(key) : key
        k += [UInt8](repeating: 0, count: 64 - k.count)
        let inner = SHA256.hash(k.map { $0 ^ 0x36 } + message)
        return SHA256.hash(k.map { $0 ^ 0x5c } + inner)
    }
}
