import Foundation
import YKTCore
import YKTCrypto
import YKTNet
import YKTNode
import YKTCounty
import YKTTownship
import YKTTransport

/// The office console (`ykt console`): the node's pages served by the node itself.
///
/// - A township's console speaks plain HTTP on the office PC's loopback address only; a
///   county's is served over TLS with the county's server certificate (browsers need none).
/// - Each request opens the node afresh (its own SQLite connection, as a CLI command does), so
///   pages run side by side with `ykt serve`, `ykt sync` and the CLI.
/// - Login, sessions (30 minutes idle, 8 hours at most), lock-out and the signed decisions are
///   the operator accounts' own (`Operators`, `OperatorNode`); the session token travels in an
///   `HttpOnly`, `SameSite=Strict` cookie (`Secure` under TLS) and every form carries a CSRF
///   token derived from it.
public final class ConsoleServer: @unchecked Sendable {
    // Safe: the configuration is set in init and only read afterwards; `notices` and `jobs` are
    // guarded by `lock`.
    public let directory: String
    public let role: NodeConfig.Role
    public let tls: Bool
    let clock: (@Sendable () -> Date)?
    let logger: Logger?
    let pages: [ConsolePage]
    private var server: TLSServer!
    private let lock = NSLock()
    private var notices: [String: String] = [:]
    /// Long work started from a page (a sync round): its progress, by key.
    private var jobs: [String: ConsoleJob] = [:]

    public static let cookieName = "ykt_session"
    /// The console's default port (`console_listen` in node.conf, or `--listen`).
    public static let defaultPort: UInt16 = 8444

    struct NotFound: Error {}

    /// `host:port` to listen on; the township's must be a loopback address. `clock` is a
    /// training node's set clock (`YKT_CLOCK`), nil for the system clock.
    public init(directory: String, host: String, port: UInt16, clock: (@Sendable () -> Date)? = nil, logger: Logger? = nil) throws {
        let confPath = (directory as NSString).appendingPathComponent(NodeConfig.fileName)
        guard let data = FileManager.default.contents(atPath: confPath) else {
            throw YKTError(.nodeMissing, "\(directory) 不是节点目录（没有 \(NodeConfig.fileName)）", at: SourceLocation(file: confPath),
                           hint: "用 --node 或 YKT_NODE 指向节点目录")
        }
        let config = try NodeConfig(text: String(decoding: data, as: UTF8.self), file: confPath)
        self.directory = directory
        role = config.role
        self.clock = clock
        self.logger = logger
        pages = ConsoleRoutes.all.filter { $0.node == config.role }
        var limits = HTTPLimits()
        limits.maximumBodyBytes = 64 * 1024 * 1024   // a register of a whole township as CSV
        limits.headerDeadlineSeconds = 30
        var context: TLSContext?
        if config.role == .county {
            var files = try NodeTLS.files(config, directory: directory)
            files.crl = nil   // browsers bring no certificate to revoke
            // Browsers speak no Ed25519, the nodes' own key type: the console may have a
            // certificate of its own that they accept (ECDSA P-256 or RSA).
            if let certificate = Self.path(config, "console_tls_certificate", directory),
               let key = Self.path(config, "console_tls_key", directory) {
                files.certificate = certificate
                files.privateKey = key
            }
            do {
                context = try TLSContext(role: .server, files: files, clientCertificates: false)
            } catch {
                throw YKTError(.nodeConfig, "不能载入县财政的服务器证书：\(error)", at: SourceLocation(file: NodeConfig.fileName),
                               hint: "检查 node.conf 中 console_tls_certificate、console_tls_key（没有时用 tls_certificate、tls_key）和 tls_ca 指向的文件")
            }
            tls = true
        } else {
            guard host == "127.0.0.1" || host == "localhost" || host == "::1" else {
                throw YKTError(.usageValue, "乡镇的工作台只在本机（127.0.0.1）提供，不能监听 \(host)",
                               at: SourceLocation(field: "--listen"),
                               hint: "乡镇工作台不加密，只供本机浏览器使用；在办公电脑上打开 http://127.0.0.1:端口/")
            }
            tls = false
        }
        do {
            server = try TLSServer(context: context, host: host == "localhost" ? "127.0.0.1" : host, port: port, limits: limits,
                                   maximumConnections: 32, peersAuthenticate: false) { [unowned self] peer, request in
                self.answer(peer: peer, request)
            }
        } catch {
            throw YKTError(.nodeConfig, "不能监听 \(host):\(port)：\(error)", hint: "换一个端口（--listen 127.0.0.1:端口）或停止占用它的程序")
        }
        if let logger {
            server.log = { line in
                logger.log(line.level == .warning ? .warning : .info, line.message,
                           pairs: line.metadata.map { (key: $0.0, value: $0.1) })
            }
        }
    }

    /// A path from node.conf, relative to the node directory; nil when the key is absent.
    static func path(_ config: NodeConfig, _ key: String, _ directory: String) -> String? {
        guard let v = config.extra[key], !v.isEmpty else { return nil }
        return v.hasPrefix("/") ? v : (directory as NSString).appendingPathComponent(v)
    }

    public var port: UInt16 { server.port }
    public func start() { server.start() }
    public func stop() { server.stop() }

    // MARK: Requests

    static func csrfToken(for token: String) -> String { String(SHA256.hex("ykt-console-csrf|" + token).prefix(32)) }

    /// The node, opened for one request, with the training clock when set.
    func openNode() throws -> any OperatorNode {
        if role == .county {
            let node = try CountyNode.open(directory: directory)
            if let clock { node.now = clock }
            return node
        }
        let node = try TownshipNode.open(directory: directory)
        if let clock { node.now = clock }
        return node
    }

    func answer(peer: String, _ http: HTTPRequest) -> HTTPResponse {
        var response: WebResponse
        do {
            let request = try WebRequest(http, peer: peer)
            response = try route(request)
        } catch let e as YKTError {
            response = .html(Layout.bare(title: "请求有误", body: Markup.error(e)), status: 400)
        } catch {
            response = .html(Layout.bare(title: "请求有误", body: Markup.box("error", "请求不能处理。")), status: 400)
        }
        var headers = response.headers
        headers["cache-control"] = headers["cache-control"] ?? "no-store"
        headers["x-content-type-options"] = "nosniff"
        headers["x-frame-options"] = "DENY"
        headers["referrer-policy"] = "same-origin"
        // A page may narrow it further (the printed notice: its own styles, nothing else).
        headers["content-security-policy"] = headers["content-security-policy"] ?? "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"
        return HTTPResponse(status: response.status, headers: headers, body: response.body)
    }

    func route(_ request: WebRequest) throws -> WebResponse {
        // The township's console answers only to its own loopback names: a page elsewhere that
        // rebinds its DNS name to 127.0.0.1 gets nothing (not even the login form to guess at).
        if !tls {
            let host = request.headers["host"] ?? ""
            let name = host.hasPrefix("[") ? String(host.prefix { $0 != "]" }) + "]" : String(host.prefix { $0 != ":" })
            guard ["127.0.0.1", "localhost", "[::1]"].contains(name.lowercased()) else {
                return forbidden("本工作台只接受本机地址（127.0.0.1 或 localhost）的访问。")
            }
        }
        if request.method == "GET", let asset = Layout.asset(request.path) { return asset }
        switch (request.method, request.path) {
        case ("GET", "/login"): return SessionPages.loginForm(self, request, message: nil)
        case ("POST", "/login"): return try SessionPages.login(self, request)
        default: break
        }
        let candidates = pages.compactMap { page in page.match(request.path).map { (page, $0) } }
        guard let (page, params) = candidates.first(where: { $0.0.method == request.method }) else {
            let known = !candidates.isEmpty
            return .html(Layout.bare(title: known ? "不支持的操作" : "没有这个页面",
                                     body: Markup.box("error", known ? "这个地址不接受这种请求。" : "没有这个页面。<a href=\"/\">回到首页</a>")),
                         status: known ? 405 : 404)
        }
        // Forms come only from our own pages: the Origin, when the browser sends it, must be us.
        if request.method == "POST" {
            if let origin = request.headers["origin"], let host = request.headers["host"],
               origin != "http://\(host)" && origin != "https://\(host)" {
                return forbidden("表单来自其他网站，已拒绝。")
            }
        }
        guard let token = request.cookies[Self.cookieName], !token.isEmpty else { return toLogin(request) }
        let node = try openNode()
        let session: OperatorSession
        do { session = try node.act(session: token) } catch { return toLogin(request) }
        if request.method == "POST" {
            guard let sent = request.form["csrf"], constantTimeEqual(sent, Self.csrfToken(for: token)) else {
                return forbidden("表单缺少有效的校验码（CSRF），已拒绝。请从页面重新打开表单后提交。")
            }
        }
        if try node.operators.mustChange(session.login), request.path != "/password", request.path != "/logout" {
            return .redirect("/password")
        }
        let context = ConsoleContext(request: request, node: node, role: role, session: session, params: params, token: token, server: self)
        if let command = page.command, !Access.allows(command, grants: session.grants, on: role) {
            return context.page("无权办理", Markup.box("error", "「\(page.menu?.title ?? command)」须由\(Self.rolesNeeded(command, on: role))办理；\(session.login) 没有这个角色。"), status: 403)
        }
        do {
            return try page.handler(context)
        } catch is NotFound {
            return context.page("没有这个记录", Markup.box("error", "没有这个记录。<a href=\"/\">回到首页</a>"), status: 404)
        } catch let e as YKTError {
            let back = request.value("back").flatMap { $0.hasPrefix("/") && !$0.hasPrefix("//") ? $0 : nil } ?? request.path
            // Refusals of the person (no role, wrong or locked password for a signed decision) are 403.
            let status = [.roleMissing, .authSign, .authLogin, .authChange].contains(e.code) || e.code.exitStatus == .denied ? 403 : 400
            return context.page("未能办理", Markup.error(e) + "<p><a href=\"\(back)\">返回</a></p>", status: status)
        } catch {
            logger?.error("console page failed", ["path": page.path, "error": String(describing: type(of: error))])
            return context.page("未能办理", Markup.box("error", "办理时出错：\(String(describing: error))"), status: 500)
        }
    }

    static func rolesNeeded(_ command: String, on node: NodeConfig.Role) -> String {
        guard case .roles(let roles, _) = Access.of(command) else { return "有权限的人" }
        return OperatorRole.allCases.filter { roles.contains($0) && $0.applies(to: node) }.map(\.chinese).joined(separator: "或")
    }

    func forbidden(_ message: String) -> WebResponse {
        .html(Layout.bare(title: "已拒绝", body: Markup.box("error", "\(message)")), status: 403)
    }

    func toLogin(_ request: WebRequest) -> WebResponse {
        let next = request.method == "GET" ? request.path : "/"
        return .redirect(Markup.url("/login", query: [("next", next == "/" ? "" : next)]))
    }

    func sessionCookie(_ token: String, maxAge: Int? = nil) -> String {
        var cookie = "\(Self.cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict"
        if tls { cookie += "; Secure" }
        if let maxAge { cookie += "; Max-Age=\(maxAge)" }
        return cookie
    }

    func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var d: UInt8 = 0
        for i in 0..<x.count { d |= x[i] ^ y[i] }
        return d == 0
    }

    // MARK: Messages left for the next page, and long work

    func leaveNotice(_ token: String, _ text: String) { lock.withLock { notices[SHA256.hex(token)] = text } }
    func takeNotice(_ token: String) -> String? { lock.withLock { notices.removeValue(forKey: SHA256.hex(token)) } }

    /// Starts `work` on a thread of its own under `key`, unless one with that key is running.
    /// `work` reports progress through the job it is given.
    public func startJob(_ key: String, _ work: @escaping @Sendable (ConsoleJob) -> Void) -> ConsoleJob {
        let job: ConsoleJob = lock.withLock {
            if let running = jobs[key], !running.isFinished { return running }
            let job = ConsoleJob()
            jobs[key] = job
            return job
        }
        if job.start() {
            let thread = Thread { work(job) }
            thread.name = "ykt-console-job"
            thread.start()
        }
        return job
    }

    public func job(_ key: String) -> ConsoleJob? { lock.withLock { jobs[key] } }

    /// Starts `work` as the job `key` on the node opened afresh (with the training clock), as
    /// the operator whose session `token` is, or as the node's service when `token` is nil; any
    /// error ends the job with it.
    @discardableResult
    func startNodeJob<N: OperatorNode & SendableMetatype>(_ key: String, as token: String?, _ type: N.Type,
                                       _ work: @escaping @Sendable (N, ConsoleJob) throws -> Void) -> ConsoleJob {
        startJob(key) { [self] job in
            do {
                guard let node = try openNode() as? N else { throw YKTError(.internalError, "节点类型不符") }
                if let token { _ = try node.act(session: token) } else { node.operatorName = Access.serviceName }
                try work(node, job)
                if !job.isFinished { job.finish() }
            } catch let e as YKTError {
                job.finish(e)
            } catch {
                job.finish(YKTError(.internalError, "\(error)"))
            }
        }
    }
}

/// Long work started from a page: lines of progress, then done (with an error or not).
public final class ConsoleJob: @unchecked Sendable {
    // Safe: every field is guarded by `lock`.
    private let lock = NSLock()
    private var started = false
    private var lines: [String] = []
    private var finished = false
    private var failure: YKTError?

    func start() -> Bool { lock.withLock { defer { started = true }; return !started } }
    public func say(_ line: String) { lock.withLock { lines.append(line) } }
    public func finish(_ error: YKTError? = nil) { lock.withLock { finished = true; failure = error } }
    public var isFinished: Bool { lock.withLock { finished } }
    public var progress: [String] { lock.withLock { lines } }
    public var error: YKTError? { lock.withLock { failure } }
}
