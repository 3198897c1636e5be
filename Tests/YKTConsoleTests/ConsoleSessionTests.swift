import Foundation
import Testing
import YKTConsole
import YKTCore
import YKTNet
import YKTNode
import YKTTestSupport
import YKTTownship

/// The console's door: login with the node's accounts, the session cookie, CSRF and Origin
/// checks, roles, lock-out, logout, and the county's console over TLS.
@Suite struct ConsoleSessionTests {
    @Test func loginSetsAStrictHttpOnlyCookieAndShowsTheStatus() throws {
        let f = try ConsoleFixture()
        try f.township.actAs("weixy", .clerk)
        let b = try f.browser(f.township)
        // Not logged in: every page sends the browser to the login form.
        let first = try b.send("GET", "/")
        #expect(first.status == 303)
        #expect(first.location == "/login")
        let answer = try b.post("/login", [("login", "weixy"), ("password", TestOperators.password)], csrf: false, follow: false)
        #expect(answer.status == 303)
        let cookie = try #require(answer.headers["set-cookie"])
        #expect(cookie.contains("HttpOnly"))
        #expect(cookie.contains("SameSite=Strict"))
        #expect(!cookie.contains("Secure"))   // plain HTTP on the loopback address
        let home = try b.get("/")
        #expect(home.status == 200)
        #expect(home.body.contains("寨沙镇今日待办"))
        #expect(home.body.contains("测试weixy（weixy）"))
        #expect(home.headers["content-security-policy"]?.contains("frame-ancestors 'none'") == true)
    }

    @Test func aFormWithoutItsCSRFTokenOrFromAnotherSiteIsRefused() throws {
        let f = try ConsoleFixture()
        try f.township.actAs("weixy", .clerk)
        let b = try f.browser(f.township)
        try b.login("weixy", password: TestOperators.password)
        try b.get("/")
        let missing = try b.post("/logout", [], csrf: false, follow: false)
        #expect(missing.status == 403)
        #expect(missing.body.contains("CSRF"))
        let wrong = try b.post("/logout", [("csrf", "0123456789abcdef0123456789abcdef")], csrf: false, follow: false)
        #expect(wrong.status == 403)
        let foreign = try b.post("/logout", [], follow: false, headers: ["origin": "http://evil.example"])
        #expect(foreign.status == 403)
        // Still logged in: none of the refused forms did anything.
        #expect(try b.get("/").status == 200)
        // With the token the form works, and the session ends.
        #expect(try b.post("/logout", [], follow: false).status == 303)
        #expect(try b.send("GET", "/").status == 303)
    }

    @Test func wrongPasswordsLockTheAccountAsTheCLIDoes() throws {
        let f = try ConsoleFixture()
        try f.township.actAs("weixy", .clerk)
        let b = try f.browser(f.township)
        for _ in 0..<5 {
            let page = try b.post("/login", [("login", "weixy"), ("password", "wrong-password-9")], csrf: false, follow: false)
            #expect(page.status == 401)
        }
        let locked = try b.post("/login", [("login", "weixy"), ("password", TestOperators.password)], csrf: false, follow: false)
        #expect(locked.status == 401)
        #expect(locked.body.contains(ErrorCode.authLocked.rawValue))
        #expect(b.cookies.isEmpty)
    }

    @Test func anInitialPasswordMustBeChangedFirst() throws {
        let f = try ConsoleFixture()
        try f.township.actAs(TestOperators.administrator)
        try f.township.addOperator(login: "newbie", realName: "新经办", password: TestOperators.initialPassword, parameters: TestOperators.parameters)
        let b = try f.browser(f.township)
        let page = try b.login("newbie", password: TestOperators.initialPassword)
        #expect(page.body.contains("初始口令"))
        #expect(try b.get("/").body.contains("初始口令"))   // every page leads back to the password form
        let changed = try b.post("/password", [("old", TestOperators.initialPassword), ("new", "newbie-own-pass-42"), ("again", "newbie-own-pass-42")])
        #expect(changed.body.contains("口令已修改"))
    }

    @Test func aNextPathNeverLeavesTheConsole() throws {
        let f = try ConsoleFixture()
        try f.township.actAs("weixy", .clerk)
        let b = try f.browser(f.township)
        let page = try b.post("/login", [("login", "weixy"), ("password", TestOperators.password), ("next", "//evil.example/x")], csrf: false, follow: false)
        #expect(page.location == "/")
        // Browsers drop a tab from a URL: "/\t/evil" would become "//evil".
        for next in ["/\t/evil.example", "/ /evil.example", "/\u{0B}/evil.example", "/\\evil.example"] {
            let b = try f.browser(f.township)
            let page = try b.post("/login", [("login", "weixy"), ("password", TestOperators.password), ("next", next)], csrf: false, follow: false)
            #expect(page.location == "/", "next \(next.debugDescription)")
        }
    }

    @Test func theTownshipConsoleAnswersOnlyToItsLoopbackNames() throws {
        let f = try ConsoleFixture()
        try f.township.actAs("weixy", .clerk)
        let b = try f.browser(f.township)
        // A page whose DNS name was rebound to 127.0.0.1 sends its own name as the Host.
        let rebound = try b.send("GET", "/login", headers: ["host": "evil.example:\(b.port)"])
        #expect(rebound.status == 403)
        #expect(try b.send("GET", "/login", headers: ["host": "localhost:\(b.port)"]).status == 200)
        #expect(try b.send("GET", "/login").status == 200)
    }

    @Test func theCountyConsoleIsServedOverTLSWithASecureCookie() throws {
        let f = try ConsoleFixture()
        try f.county.actAs("zhou", .approver)
        let b = try f.browser(f.county)
        let answer = try b.post("/login", [("login", "zhou"), ("password", TestOperators.password)], csrf: false, follow: false)
        #expect(answer.headers["set-cookie"]?.contains("Secure") == true)
        #expect(try b.get("/").body.contains("鹿寨县今日待办"))
        // Plain HTTP to the county's console gets no answer.
        #expect(throws: (any Error).self) { try ConsoleBrowser(port: b.port).send("GET", "/login") }
    }

    @Test func aTownshipConsoleListensOnTheLoopbackAddressOnly() throws {
        let f = try ConsoleFixture()
        let e = #expect(throws: YKTError.self) { try ConsoleServer(directory: f.township.directory, host: "0.0.0.0", port: 0) }
        #expect(e?.code == .usageValue)
    }

    @Test func textFromAnyoneIsEscaped() {
        let name = "<script>alert(1)</script>"
        let html: HTML = "<td>\(name)</td>"
        #expect(html.text == "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>")
        #expect(HTML.escape("a\"b'c&") == "a&quot;b&#39;c&amp;")
    }
}
