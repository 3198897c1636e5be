import Foundation
import YKTCore
import YKTNode
import YKTCounty
import YKTTownship

/// One page or form action of the console. Who may open it is the Access entry of the command
/// it does (`command`), so the console and the CLI can never disagree on a role; `nil` is any
/// logged-in operator.
public struct ConsolePage: Sendable {
    public var method: String
    /// The path, with `:name` for a part taken as a parameter: `/rosters/:id`.
    public var path: String
    public var node: NodeConfig.Role
    public var command: String?
    /// Where it appears in the navigation (group, title); nil for pages reached by links.
    public var menu: (group: String, title: String)?
    public var handler: @Sendable (ConsoleContext) throws -> WebResponse

    public init(_ method: String, _ path: String, node: NodeConfig.Role, command: String?,
                menu: (group: String, title: String)? = nil, handler: @escaping @Sendable (ConsoleContext) throws -> WebResponse) {
        self.method = method
        self.path = path
        self.node = node
        self.command = command
        self.menu = menu
        self.handler = handler
    }

    /// The parameters when `path` matches this page's pattern.
    func match(_ path: String) -> [String: String]? {
        let want = self.path.split(separator: "/", omittingEmptySubsequences: true)
        let have = path.split(separator: "/", omittingEmptySubsequences: true)
        guard want.count == have.count else { return nil }
        var params: [String: String] = [:]
        for (w, h) in zip(want, have) {
            if w.hasPrefix(":") { params[String(w.dropFirst())] = String(h) } else if w != h { return nil }
        }
        return params
    }
}

/// What a page handler has: the request, the node (opened for this request), the operator's
/// session, and the helpers every page uses (forms with their CSRF token, the layout, the
/// password for a signed decision, a redirect with a message).
public final class ConsoleContext {
    public let request: WebRequest
    public let node: any OperatorNode
    public let role: NodeConfig.Role
    public let session: OperatorSession
    public let params: [String: String]
    let token: String
    let server: ConsoleServer
    /// The CSRF token every form carries (derived from the session, so it needs no storage).
    public let csrf: String

    init(request: WebRequest, node: any OperatorNode, role: NodeConfig.Role, session: OperatorSession, params: [String: String],
         token: String, server: ConsoleServer) {
        self.request = request
        self.node = node
        self.role = role
        self.session = session
        self.params = params
        self.token = token
        self.server = server
        csrf = ConsoleServer.csrfToken(for: token)
    }

    /// The township node (only on township pages).
    public var township: TownshipNode { node as! TownshipNode }
    /// The county node (only on county pages).
    public var county: CountyNode { node as! CountyNode }
    public var directory: String { server.directory }

    /// Today in China by the node's clock (a training node's set clock too).
    public var today: CivilDate { CivilDate.inChina(at: role == .county ? county.now() : township.now()) }

    /// Whether this operator may do `command` here (buttons and links are shown only then).
    public func can(_ command: String) -> Bool { Access.allows(command, grants: session.grants, on: role) }

    /// A form or query value, trimmed; nil when blank.
    public func value(_ name: String) -> String? { request.value(name) }

    /// A required form value; its absence is an error naming the field's label.
    public func require(_ name: String, _ label: String) throws -> String {
        guard let v = value(name) else {
            throw YKTError(.usageValue, "请填写「\(label)」", at: SourceLocation(field: label))
        }
        return v
    }

    /// A whole-number path parameter (`:id`).
    public func id(_ name: String = "id") throws -> Int64 {
        guard let text = params[name], let n = Int64(text), n > 0 else {
            throw ConsoleServer.NotFound()
        }
        return n
    }

    /// An integer form field, with its label for the error.
    public func number(_ name: String, _ label: String) throws -> Int64 {
        let text = try require(name, label)
        guard let n = Int64(text) else {
            throw YKTError(.usageValue, "「\(label)」应为整数，现为「\(text)」", at: SourceLocation(field: label))
        }
        return n
    }

    /// A date form field (YYYY-MM-DD), with its label for the error.
    public func date(_ name: String, _ label: String) throws -> CivilDate {
        let text = try require(name, label)
        do { return try CivilDate(parsing: text) } catch { throw error.located(SourceLocation(field: label)) }
    }

    /// For a decision the CLI signs: the operator's password, typed again on the form, unlocks
    /// their signing key for this request (a wrong one counts towards the lock-out).
    public func unlock() throws {
        guard let password = request.form["password"], !password.isEmpty else {
            throw YKTError(.authSign, "这是须本人签名的决定，请在「本人口令」一栏再次输入口令", at: SourceLocation(field: "本人口令"))
        }
        try node.act(session: token, password: password)
    }

    /// Records that this operator opened personal data in full (the audited view).
    public func disclose(_ object: String) throws {
        if role == .county { try county.recordView(of: object) } else { try township.recordView(of: object) }
    }

    /// A form posting to `action`, with its CSRF token; `signed` adds the password field of a
    /// decision the CLI signs; `id` is the form's stable `id` (browser tests find it by that).
    public func form(_ action: String, _ fields: HTML, submit: String, signed: Bool = false, multipart: Bool = false,
                     className: String = "form", danger: Bool = false, id: String? = nil) -> HTML {
        let identity: HTML = id.map { " id=\"\($0)\"" } ?? ""
        let enctype: HTML = multipart ? " enctype=\"multipart/form-data\"" : ""
        let password: HTML = signed
            ? "<label class=\"sign\">本人口令（签名）<input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>"
            : ""
        let button: HTML = danger ? "<button type=\"submit\" class=\"danger\">\(submit)</button>" : "<button type=\"submit\">\(submit)</button>"
        return "<form method=\"post\" action=\"\(action)\" class=\"\(className)\"\(identity)\(enctype)><input type=\"hidden\" name=\"csrf\" value=\"\(csrf)\">\(fields)\(password)\(button)</form>"
    }

    /// The page in the console's layout: navigation for this operator's roles, the message a
    /// previous form left, then `body`.
    public func page(_ title: String, _ body: HTML, status: Int = 200) -> WebResponse {
        .html(Layout.page(title: title, body: body, context: self, notice: server.takeNotice(token)), status: status)
    }

    /// After a form that changed something: back to a page, with a message for it.
    public func redirect(_ location: String, notice: String) -> WebResponse {
        server.leaveNotice(token, notice)
        return .redirect(location)
    }

    /// Page numbers for a list of `total` rows, `size` a page: the rows to show (offset, limit)
    /// and the links, keeping the other query values.
    public func pager(total: Int, size: Int = 50) -> (offset: Int, limit: Int, links: HTML) {
        let pages = max(1, (total + size - 1) / size)
        let current = min(max(1, Int(value("page") ?? "1") ?? 1), pages)
        let keep = request.query.filter { $0.key != "page" }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        var links: HTML = "<nav class=\"pager\" aria-label=\"分页\"><span>共 \(total) 条，第 \(current)/\(pages) 页</span>"
        if current > 1 { links += Markup.link(request.path, "上一页", query: keep + [("page", String(current - 1))]) }
        if current < pages { links += Markup.link(request.path, "下一页", query: keep + [("page", String(current + 1))]) }
        links += "</nav>"
        return ((current - 1) * size, size, links)
    }
}
