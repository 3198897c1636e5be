import Foundation
import YKTCore
import YKTNode

/// Login, logout and the operator's own password: the same accounts, lock-out and sessions as
/// `ykt login`, `ykt logout` and `ykt password`.
enum SessionPages {
    static func loginForm(_ server: ConsoleServer, _ request: WebRequest, message: HTML?, status: Int = 200) -> WebResponse {
        let next = safeNext(request.value("next"))
        let body: HTML = """
            \(message ?? "")
            <form method="post" action="/login" class="form login">
            <input type="hidden" name="next" value="\(next)">
            <label>登录名<input name="login" autocomplete="username" required autofocus value="\(request.value("login") ?? "")"></label>
            <label>口令<input type="password" name="password" autocomplete="current-password" required></label>
            <button type="submit">登录</button></form>
            <p class="muted">账户由本节点管理员开设（ykt operator add）。连续 5 次口令错误，账户锁定 15 分钟。</p>
            """
        return .html(Layout.bare(title: "登录一卡通工作台", body: body), status: status)
    }

    /// Only a path on this console (never another site) after login.
    static func safeNext(_ next: String?) -> String {
        // Browsers drop tabs and newlines from URLs ("/\t/evil" becomes "//evil"): only visible
        // ASCII, and never a second slash or a backslash at the start.
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.contains("\\"),
              next.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else { return "/" }
        return next
    }

    static func login(_ server: ConsoleServer, _ request: WebRequest) throws -> WebResponse {
        if let origin = request.headers["origin"], let host = request.headers["host"],
           origin != "http://\(host)" && origin != "https://\(host)" {
            return server.forbidden("登录表单来自其他网站，已拒绝。")
        }
        let node = try server.openNode()
        do {
            let login = request.value("login") ?? ""
            let (token, _) = try node.login(login, password: request.form["password"] ?? "")
            var response = WebResponse.redirect(try node.operators.mustChange(login) ? "/password" : safeNext(request.value("next")))
            response.headers["set-cookie"] = server.sessionCookie(token)
            return response
        } catch let e as YKTError {
            return loginForm(server, request, message: Markup.error(e), status: 401)
        }
    }

    static let pages: [ConsolePage] = [
        ConsolePage("POST", "/logout", node: .township, command: "logout", handler: logout),
        ConsolePage("POST", "/logout", node: .county, command: "logout", handler: logout),
        ConsolePage("GET", "/password", node: .township, command: "password", handler: passwordForm),
        ConsolePage("GET", "/password", node: .county, command: "password", handler: passwordForm),
        ConsolePage("POST", "/password", node: .township, command: "password", handler: changePassword),
        ConsolePage("POST", "/password", node: .county, command: "password", handler: changePassword),
    ]

    @Sendable static func logout(_ c: ConsoleContext) throws -> WebResponse {
        try c.node.logout(session: c.token)
        var response = WebResponse.redirect("/login")
        response.headers["set-cookie"] = c.server.sessionCookie("", maxAge: 0)
        return response
    }

    @Sendable static func passwordForm(_ c: ConsoleContext) throws -> WebResponse {
        let must = try c.node.operators.mustChange(c.session.login)
        let fields: HTML = """
            <label>原口令<input type="password" name="old" autocomplete="current-password" required></label>
            <label>新口令<input type="password" name="new" autocomplete="new-password" required minlength="8"></label>
            <label>再输一次新口令<input type="password" name="again" autocomplete="new-password" required minlength="8"></label>
            """
        let intro: HTML = must
            ? Markup.box("warn", "您的口令是管理员设定的初始口令，须先改为只有您本人知道的口令才能办理业务。")
            : "<p>修改口令的同时生成只有您本人能解开的新签名密钥。</p>"
        return c.page("修改口令", intro + c.form("/password", fields, submit: "修改口令"))
    }

    @Sendable static func changePassword(_ c: ConsoleContext) throws -> WebResponse {
        let new = c.request.form["new"] ?? ""
        guard new == c.request.form["again"] ?? "" else {
            throw YKTError(.usageValue, "两次输入的新口令不一致", at: SourceLocation(field: "再输一次新口令"))
        }
        try c.node.changeOwnPassword(old: c.request.form["old"] ?? "", new: new)
        return c.redirect("/", notice: "口令已修改，新的签名密钥已生成。")
    }
}
