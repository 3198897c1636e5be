import Foundation
import YKTCore
import YKTNode

/// The console's frame: a header with the node and the operator, the navigation their roles
/// allow, and the page. Plain HTML and one stylesheet; it reads at 1366×768, prints on A4, and
/// every control is reachable by keyboard (a "skip to content" link, visible focus).
enum Layout {
    static func page(title: String, body: HTML, context c: ConsoleContext, notice: String?) -> HTML {
        let config = c.node.config
        var groups: [(String, [HTML])] = []
        for p in c.server.pages where p.method == "GET" {
            guard let menu = p.menu else { continue }
            if let command = p.command, !c.can(command) { continue }
            let current = p.path == c.request.path
            let link: HTML = current ? "<a href=\"\(p.path)\" aria-current=\"page\">\(menu.title)</a>" : "<a href=\"\(p.path)\">\(menu.title)</a>"
            if let i = groups.firstIndex(where: { $0.0 == menu.group }) { groups[i].1.append(link) } else { groups.append((menu.group, [link])) }
        }
        var nav: HTML = "<nav class=\"menu\" aria-label=\"功能\">"
        for (group, links) in groups {
            nav += "<div class=\"group\"><span>\(group)</span>\(links)</div>"
        }
        nav += "</nav>"
        let roles = c.session.grants.map(\.description).joined(separator: "、")
        let logout = c.form("/logout", "", submit: "退出", className: "inline")
        let message: HTML = notice.map { Markup.box("ok", "\($0)") } ?? ""
        return """
            <!DOCTYPE html>
            <html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) - \(config.name)一卡通工作台</title><link rel="stylesheet" href="/static/console.css"><script src="/static/console.js" defer></script></head>
            <body><a class="skip" href="#main">跳到正文</a>
            <header><a class="brand" href="/">\(config.name)（\(config.nodeID)）惠民惠农补贴一卡通</a>
            <span class="who">\(c.session.realName)（\(c.session.login)）\(roles.isEmpty ? "" : "：" + roles)</span>
            <a href="/password">修改口令</a>\(logout)</header>
            <div class="frame">\(nav)<main id="main"><h1>\(title)</h1>\(message)\(body)</main></div>
            </body></html>
            """
    }

    /// A page outside a session (login, errors before one).
    static func bare(title: String, body: HTML) -> HTML {
        """
        <!DOCTYPE html>
        <html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title) - 一卡通工作台</title><link rel="stylesheet" href="/static/console.css"></head>
        <body><main id="main" class="bare"><h1>\(title)</h1>\(body)</main></body></html>
        """
    }

    static func asset(_ path: String) -> WebResponse? {
        switch path {
        case "/static/console.css":
            return WebResponse(status: 200, headers: ["content-type": "text/css; charset=utf-8", "cache-control": "max-age=3600"],
                               body: Array(stylesheet.utf8))
        case "/static/console.js":
            return WebResponse(status: 200, headers: ["content-type": "text/javascript; charset=utf-8", "cache-control": "max-age=3600"],
                               body: Array(script.utf8))
        case "/favicon.ico":
            return WebResponse(status: 204, headers: ["cache-control": "max-age=86400"])
        default:
            return nil
        }
    }

    /// Small helpers that only add comfort; every page works without them.
    static let script = """
        // A page that shows work under way reloads itself every second until it is done.
        if (document.querySelector('[data-refresh]')) { setTimeout(function () { location.reload(); }, 1000); }
        // Forms marked data-confirm ask before they submit.
        document.querySelectorAll('form[data-confirm]').forEach(function (f) {
          f.addEventListener('submit', function (e) { if (!confirm(f.dataset.confirm)) e.preventDefault(); });
        });
        """

    static let stylesheet = """
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.5 "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; color: #1d2733; background: #f4f6f8; }
        a { color: #0b5cad; }
        a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #f5a623; outline-offset: 1px; }
        .skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 10; }
        header { display: flex; gap: 16px; align-items: center; background: #a3191f; color: #fff; padding: 8px 16px; }
        header a { color: #fff; } header .brand { font-weight: bold; text-decoration: none; font-size: 17px; }
        header .who { margin-left: auto; }
        header form.inline button { background: transparent; color: #fff; border: 1px solid #fff; padding: 2px 10px; }
        .frame { display: flex; min-height: calc(100vh - 44px); }
        nav.menu { width: 170px; flex: none; background: #fff; border-right: 1px solid #d8dde3; padding: 8px 0; }
        nav.menu .group { margin-bottom: 10px; } nav.menu .group span { display: block; color: #667; font-size: 13px; padding: 2px 16px; }
        nav.menu a { display: block; padding: 4px 16px 4px 24px; text-decoration: none; }
        nav.menu a[aria-current] { background: #e8f0fa; font-weight: bold; }
        main { flex: 1; padding: 12px 24px 32px; min-width: 0; max-width: 1180px; }
        main.bare { max-width: 520px; margin: 40px auto; background: #fff; padding: 24px 32px; border: 1px solid #d8dde3; }
        h1 { font-size: 22px; margin: 4px 0 12px; } h2 { font-size: 18px; margin: 20px 0 8px; }
        .table-wrap { overflow-x: auto; background: #fff; border: 1px solid #d8dde3; }
        table { border-collapse: collapse; width: 100%; font-size: 14px; }
        th, td { padding: 5px 8px; border-bottom: 1px solid #e3e7ec; text-align: left; vertical-align: top; }
        th { background: #eef1f4; white-space: nowrap; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        caption { text-align: left; font-weight: bold; padding: 6px 8px; }
        table.problems td.why { min-width: 280px; max-width: 420px; } table.problems td.why ul { margin: 0; padding-left: 18px; }
        td.bad, span.bad { background: #fde2e1; color: #8a1116; font-weight: bold; }
        dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; background: #fff; border: 1px solid #d8dde3; padding: 10px 16px; }
        dl.fields dt { color: #556; } dl.fields dd { margin: 0; }
        .box { padding: 10px 14px; margin: 10px 0; border-left: 5px solid; background: #fff; }
        .box.ok { border-color: #2e7d32; } .box.warn { border-color: #f5a623; background: #fff8e6; } .box.error { border-color: #c62828; background: #fdecec; }
        .box p { margin: 4px 0; }
        form.form { background: #fff; border: 1px solid #d8dde3; padding: 12px 16px; margin: 10px 0; display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: flex-end; }
        form.form label { display: flex; flex-direction: column; font-size: 13px; color: #445; }
        form.inline { display: inline; }
        input, select, textarea { font: inherit; padding: 4px 6px; border: 1px solid #aab4be; border-radius: 3px; }
        button { font: inherit; padding: 5px 14px; background: #0b5cad; color: #fff; border: 0; border-radius: 3px; cursor: pointer; }
        button.danger { background: #b3261e; } button.secondary { background: #5f6b77; }
        label.sign { background: #fff8e6; padding: 4px; }
        nav.pager { margin: 8px 0; display: flex; gap: 16px; }
        .empty { color: #667; }
        .waiting-list li { margin: 4px 0; }
        .muted { color: #667; font-size: 13px; }
        fieldset.choice { border: 1px solid #d8dde3; padding: 4px 10px; } fieldset.choice label { flex-direction: row; gap: 4px; }
        pre.report { white-space: pre-wrap; margin: 0; font-size: 13px; max-width: 520px; }
        nav.tabs { margin: 8px 0; } nav.tabs a.current { font-weight: bold; text-decoration: none; color: #1d2733; }
        svg.chart text { font-size: 12px; fill: #1d2733; } svg.chart rect.bar { fill: #0b5cad; }
        svg.chart rect.s1 { fill: #e08a00; } svg.chart rect.s2 { fill: #2e7d32; } svg.chart text.chart-title { font-size: 14px; font-weight: bold; }
        .chart-box { background: #fff; border: 1px solid #d8dde3; padding: 8px; margin: 10px 0; max-width: 100%; overflow-x: auto; }
        pre.evidence { white-space: pre-wrap; word-break: break-all; background: #fff; border: 1px solid #d8dde3; padding: 8px; font-size: 13px; }
        textarea { min-width: 360px; min-height: 3em; }
        fieldset.choice { border: 0; padding: 0; margin: 0; } fieldset.choice label { flex-direction: row; gap: 4px; align-items: center; }
        @media print { header, nav.menu, form, .pager, .skip { display: none !important; } body { background: #fff; } main { padding: 0; } }
        """
}
