import Dispatch
import Foundation
import YKTConsole
import YKTCore
import YKTNode
import YKTTransport

/// `ykt console`: the node's office console in a browser (docs/console.md).
enum ConsoleCommands {
    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["console"], abstract: "启动办公工作台（网页）：经办人、审核人、审定人在浏览器中办理业务",
            discussion: "乡镇节点只在本机提供（默认 http://127.0.0.1:\(ConsoleServer.defaultPort)/，不加密，只供本机浏览器使用）；县级节点用县财政的服务器证书以 HTTPS 提供（默认 0.0.0.0:\(ConsoleServer.defaultPort)，浏览器不需要证书，须信任签发它的 CA；浏览器不接受 Ed25519 证书，所以 node.conf 用 console_tls_certificate、console_tls_key 另给工作台一张 ECDSA P-256 或 RSA 证书，开发用的由 certs/make-dev-pki.sh console 生成）。监听地址取 --listen 或 node.conf 的 console_listen。用本节点的经办人账户登录，角色与命令行相同；会话 30 分钟无操作或登录 8 小时后失效；连续 5 次口令错误锁定 15 分钟。须本人签名的决定在页面上再次输入口令。实际端口写入 节点目录/console.port。收到 SIGTERM 或 SIGINT 时处理完进行中的请求后退出。",
            options: [.value("listen", "地址", "监听地址 主机:端口（乡镇默认 127.0.0.1:\(ConsoleServer.defaultPort)，县级默认 0.0.0.0:\(ConsoleServer.defaultPort)）")],
            run: { inv in
                let role = try inv.role()
                let config: NodeConfig = role == .county ? try inv.county().config : try inv.node().config
                let directory = role == .county ? try inv.county().directory : try inv.node().directory
                let text = inv.string("listen") ?? config.extra["console_listen"]
                    ?? (role == .county ? "0.0.0.0:\(ConsoleServer.defaultPort)" : "127.0.0.1:\(ConsoleServer.defaultPort)")
                let (host, port) = try NodeTLS.address(text, field: inv.string("listen") == nil ? "console_listen" : "--listen")
                let logger = Logger(label: "ykt.console", format: config.extra["log_format"] == "json" ? .jsonLines : .text)
                let server = try ConsoleServer(directory: directory, host: host, port: port, clock: try inv.clock(config), logger: logger)
                try FileOutput.writeAtomically("\(server.port)\n", to: (directory as NSString).appendingPathComponent("console.port"))
                let stop = StopSignal()
                server.start()
                let shown = host == "0.0.0.0" ? "本机名或地址" : host
                inv.out.message("ykt console: \(config.name)（\(config.nodeID)）工作台在 \(server.tls ? "https" : "http")://\(shown):\(server.port)/ 提供，按 Ctrl-C 停止")
                stop.wait()
                inv.out.message("ykt console: 收到停止信号，处理完进行中的请求后退出")
                server.stop()
            }),
    ]
}

/// SIGTERM and SIGINT, taken over from their default action: `wait()` returns at the first one,
/// so a server finishes the requests under way before the process ends.
final class StopSignal {
    private let semaphore = DispatchSemaphore(value: 0)
    private var sources: [any DispatchSourceSignal] = []

    init() {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            let semaphore = self.semaphore
            source.setEventHandler { semaphore.signal() }
            source.resume()
            sources.append(source)
        }
    }

    func wait() {
        semaphore.wait()
        sources.forEach { $0.cancel() }
    }
}
