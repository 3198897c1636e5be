import Foundation
import YKTCore
import YKTCrypto
import YKTNode
import YKTPublic
import YKTTransport

/// `ykt public serve` (the public query server), `ykt complaint import` (the county takes in
/// what it spooled) and `ykt demo public-store` (a store of made-up residents for benchmarks
/// and training). docs/public.md.
enum PublicCommands {
    static let rateHelp = "格式 次数/s、次数/min 或 次数/h"

    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["public", "serve"], abstract: "启动公众查询服务（HTTPS）：发布的网站、本人补贴查询、网上投诉举报",
            discussion: """
                只读 ykt publish 写出的查询库（--store）和网站目录（--site，默认查询库旁边的 site），不打开任何节点数据库，不用登录。\
                启动时按县财政签名的网站清单（site/manifest.json 和 manifest.sig）核对网站目录和查询库：签名须出自 --public-key 给的县财政公钥（必须给，\
                否则别人重新签名的网站也能启动）、\
                每个文件的大小和 SHA-256、没有多出的文件、没有符号链接、查询库的 SHA-256，查询库不许在网站目录内；不符合就不启动并指出是哪个文件。\
                查询须同时填身份证号和姓名；查询和投诉按来访地址限速，另有全站限速（默认：查询每地址 \(RateLimiter.Settings.queries.perAddress)、\
                连续 \(RateLimiter.Settings.queries.perAddressBurst) 次，全站 \(RateLimiter.Settings.queries.global)；\
                投诉每地址 \(RateLimiter.Settings.complaints.perAddress)、连续 \(RateLimiter.Settings.complaints.perAddressBurst) 次，\
                全站 \(RateLimiter.Settings.complaints.global)），超过时答 429 并告知多久后再试。\
                同一姓名 24 小时内没查到 5 次（--name-misses）后，不论来自哪个地址，该姓名的查询都答「这个姓名今天查询未成功的次数过多」\
                （防止用多个地址逐个试出被隐藏的出生日期）；查到的不计。\
                给了 --spool 才受理网上投诉：每件写成存放目录中的一个 JSON 文件（权限 0600），由县级用 ykt complaint import 导入。\
                日志每个请求一行（方法、路径、状态、毫秒、地址），不记身份证号、姓名、电话和投诉内容。\
                收到 SIGTERM 或 SIGINT 时处理完进行中的请求后退出。
                """,
            options: [
                .value("store", "文件", "查询库文件（ykt publish --out 目录 下的 query.store）", required: true),
                .value("site", "目录", "网站目录（默认查询库旁边的 site）"),
                .value("listen", "地址", "监听地址 主机:端口（默认 127.0.0.1:8443；对外服务用 0.0.0.0:443 或放在反向代理之后）"),
                .value("certificate", "PEM", "服务器证书（PEM，可含中间证书；ECDSA P-256 或 RSA）", required: true),
                .value("key", "PEM", "服务器证书的私钥（PEM）", required: true),
                .value("spool", "目录", "网上投诉的存放目录（没有时建立，权限 0700）；不给时不受理网上投诉"),
                .value("public-key", "文件", "县财政公钥文件（ykt key show 的输出或其中 64 位十六进制的「公钥」），网站清单的签名须出自它", required: true),
                .value("port-file", "文件", "把实际监听的端口写入这个文件（--listen 端口为 0 时由系统选）"),
                .value("query-rate", "速率", "每个地址的查询速率（默认 \(RateLimiter.Settings.queries.perAddress)；\(rateHelp)）"),
                .value("query-burst", "次数", "每个地址可连续查询的次数（默认 \(RateLimiter.Settings.queries.perAddressBurst)）"),
                .value("global-rate", "速率", "全站查询速率（默认 \(RateLimiter.Settings.queries.global)）"),
                .value("global-burst", "次数", "全站可连续查询的次数（默认 \(RateLimiter.Settings.queries.globalBurst)）"),
                .value("complaint-rate", "速率", "每个地址的投诉速率（默认 \(RateLimiter.Settings.complaints.perAddress)）"),
                .value("complaint-burst", "次数", "每个地址可连续投诉的次数（默认 \(RateLimiter.Settings.complaints.perAddressBurst)）"),
                .value("complaint-global-rate", "速率", "全站投诉速率（默认 \(RateLimiter.Settings.complaints.global)）"),
                .value("name-misses", "次数", "同一姓名（不论来自哪个地址）24 小时内没查到这么多次后，该姓名当天不再受理查询（默认 5）"),
                .value("max-connections", "个数", "同时打开的连接数上限（默认 128）"),
                .value("max-connections-per-address", "个数", "一个来访地址同时打开的连接数上限（默认 16；--trusted-proxy 的代理不受此限）"),
                .value("trusted-proxy", "地址", "前面的反向代理的地址（例如 127.0.0.1）：来自它的请求按 X-Forwarded-For 最后一个地址限速"),
            ],
            run: { inv in
                let store = try inv.require("store")
                var config = PublicServer.Configuration(storePath: store, certificate: try inv.require("certificate"), privateKey: try inv.require("key"))
                config.siteFolder = inv.string("site")
                let (host, port) = try NodeTLS.address(inv.string("listen") ?? "127.0.0.1:8443", field: "--listen")
                config.host = host
                config.port = port
                config.spoolFolder = inv.string("spool")
                let countyKey = try PublishCommands.publicKey(try inv.require("public-key"))
                config.publicKey = countyKey
                config.queries.perAddress = try rate(inv, "query-rate") ?? config.queries.perAddress
                config.queries.perAddressBurst = try count(inv, "query-burst") ?? config.queries.perAddressBurst
                config.queries.global = try rate(inv, "global-rate") ?? config.queries.global
                config.queries.globalBurst = try count(inv, "global-burst") ?? config.queries.globalBurst
                config.complaints.perAddress = try rate(inv, "complaint-rate") ?? config.complaints.perAddress
                config.complaints.perAddressBurst = try count(inv, "complaint-burst") ?? config.complaints.perAddressBurst
                config.complaints.global = try rate(inv, "complaint-global-rate") ?? config.complaints.global
                config.nameMisses = try count(inv, "name-misses") ?? config.nameMisses
                config.maximumConnections = try count(inv, "max-connections") ?? config.maximumConnections
                config.maximumConnectionsPerAddress = try count(inv, "max-connections-per-address") ?? config.maximumConnectionsPerAddress
                config.trustedProxy = inv.string("trusted-proxy")
                let logger = Logger(label: "ykt.public", format: inv.environment["YKT_LOG_FORMAT"] == "json" ? .jsonLines : .text)
                let server = try PublicServer(config, logger: logger)
                if let file = inv.string("port-file") { try FileOutput.writeAtomically("\(server.port)\n", to: file) }
                let stop = StopSignal()
                server.start()
                inv.out.message("ykt public serve: \(server.store.county)公众查询服务在 https://\(host == "0.0.0.0" ? "本机名或地址" : host):\(server.port)/ 提供"
                                + "（网站由县财政密钥 \(countyKey.keyID) 签名，网站文件 \(server.fileCount) 个，查询库 \(server.store.entryCount) 人\(config.spoolFolder == nil ? "，不受理网上投诉" : "")），按 Ctrl-C 停止")
                stop.wait()
                inv.out.message("ykt public serve: 收到停止信号，处理完进行中的请求后退出")
                server.stop()
            }),
        CommandSpec(
            path: ["complaint", "import"], abstract: "（县级）导入公众查询服务收到的网上投诉举报",
            discussion: """
                读存放目录中每个「受理编号.json」文件（只读普通文件，不跟随链接，每个不超过 64 KB），全部检查无误才导入，\
                在一个事务中登记为投诉举报（对象为「网上投诉」，每件记审计日志）；有一个文件不对就一件也不导入，并指出文件、行和字段。\
                导入后文件移到存放目录下的 imported 目录。已导入过的受理编号跳过（不重复登记）。
                """,
            positionals: [("存放目录", "ykt public serve --spool 的目录（或复制过来的副本）")],
            options: [.flag("json", "以 JSON 输出")],
            run: { inv in
                let result = try inv.county().importPublicComplaints(spool: inv.positional(0))
                if inv.json { return try inv.out.json(result) }
                for item in result.imported { inv.out.line("受理编号 \(item.receipt) → 投诉举报 \(item.complaint)") }
                inv.out.line("导入网上投诉举报 \(result.imported.count) 件" + (result.skipped.isEmpty ? "" : "，跳过已导入的 \(result.skipped.count) 件"))
                if !result.notMoved.isEmpty {
                    inv.out.message("提示：\(result.notMoved.count) 个文件未能移入 imported 目录（已导入，下次导入时跳过）：" + result.notMoved.joined(separator: "、"))
                }
            }),
        CommandSpec(
            path: ["demo", "public-store"], abstract: "生成一个虚构居民的公众查询库（压力测试、培训用）",
            discussion: """
                第 i 个居民（i 从 1 起）的身份证号为 45022319 后接 i 的 10 位数字（不足补 0），姓名为「测试」后接 i，\
                各有一条「耕地地力保护补贴」记录；供 benchmarks/public-query.sh 和培训使用，不含任何真实数据。\
                给了 --site 时还在该目录写一个最小的网站（首页和样式表）和它的清单，用一把临时生成的密钥签名，\
                公钥写入 --public-key-out 的文件，供 ykt public serve --public-key 使用。
                """,
            options: [.value("out", "文件", "查询库文件（不能已存在）", required: true),
                      .value("residents", "人数", "居民人数（默认 1000）"),
                      .value("site", "目录", "同时写出最小的签名网站（目录不能已有文件）"),
                      .value("public-key-out", "文件", "临时签名密钥的公钥写到这个文件（与 --site 同用）")],
            run: { inv in
                let n = try count(inv, "residents") ?? 1000
                let summary = try QueryStore.build(path: try inv.require("out"), county: "演示县", publishedAt: ChinaTime.timestamp()) { add in
                    for i in 1...max(1, n) {
                        try add(sampleID(i), "测试\(i)", [PublicRecord(programName: "耕地地力保护补贴", period: "2026", amountFen: 12_345 + Int64(i % 100),
                                                              status: "已发放", date: "2026-03-02", reason: "", account: "6210********\(String(format: "%04d", i % 10_000))",
                                                              township: "演示镇", phone: "0772-6812000")])
                    }
                }
                inv.out.line("已写入 \(summary.entries) 人、\(summary.records) 条记录，用时 \(String(format: "%.1f", summary.seconds)) 秒")
                if let site = inv.string("site") {
                    let keyFile = try inv.require("public-key-out")
                    try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
                    try FileOutput.writeAtomically("<!doctype html><meta charset=\"utf-8\"><title>演示县</title><a href=\"query\">查询</a>\n",
                                                   to: NSStringPath(site).appending("index.html"), mode: 0o644)
                    try FileOutput.writeAtomically("body { font-family: sans-serif; }\n", to: NSStringPath(site).appending("style.css"), mode: 0o644)
                    let key = try Ed25519.PrivateKey.generate()
                    let store = SiteManifest.Store(name: "query.store", sha256: summary.sha256, bytes: summary.bytes,
                                                   entries: summary.entries, records: summary.records)
                    let manifest = try SiteManifest.make(siteFolder: site, county: "演示县", countyCode: "450223", publishedAt: ChinaTime.timestamp(),
                                                         store: store, publicKey: try key.publicKey)
                    try manifest.write(siteFolder: site) { try key.sign($0) }
                    try FileOutput.writeAtomically(Hex.encode(try key.publicKey.raw) + "\n", to: keyFile, mode: 0o644)
                    inv.out.line("网站和签名清单：\(site)；公钥：\(keyFile)")
                }
            }),
    ]

    /// The made-up resident ID of `ykt demo public-store`'s `i`-th resident.
    static func sampleID(_ i: Int) -> String { "45022319" + String(format: "%010d", i) }

    static func rate(_ inv: Invocation, _ name: String) throws(YKTError) -> Rate? {
        try inv.optional(name) { s throws(YKTError) -> Rate in
            guard let r = Rate(parsing: s) else {
                throw YKTError(.usageValue, "--\(name) 的值「\(s)」不是速率", at: SourceLocation(field: "--\(name)"), hint: "写成 30/min、5/s 或 10/h")
            }
            return r
        }
    }

    static func count(_ inv: Invocation, _ name: String) throws(YKTError) -> Int? {
        try inv.optional(name) { s throws(YKTError) -> Int in
            guard let n = Int(s), n >= 1, n <= 10_000_000 else {
                throw YKTError(.usageValue, "--\(name) 应为正整数", at: SourceLocation(field: "--\(name)"))
            }
            return n
        }
    }
}
