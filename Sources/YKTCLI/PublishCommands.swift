import Foundation
import YKTCore
import YKTCrypto
import YKTCounty
import YKTNode
import YKTPublic

/// The public channel's files (issue 18): `ykt publish` writes the signed static site and the
/// query store; `ykt publish verify` checks a site against its signed manifest anywhere.
enum PublishCommands {
    /// A public key from `--public-key`: a file holding the 64 hex digits `ykt key show`
    /// prints as 「公钥」 (other words on its lines are ignored), or those digits themselves.
    static func publicKey(_ given: String) throws -> Ed25519.PublicKey {
        var text = given
        var info = stat()
        let isFile = stat(given, &info) == 0
        if isFile {
            guard (info.st_mode & S_IFMT) == S_IFREG, info.st_size <= 64 << 10, let data = FileManager.default.contents(atPath: given) else {
                throw YKTError(.usageValue, "公钥文件读不出或不是普通文件", at: SourceLocation(file: given, field: "--public-key"))
            }
            text = String(decoding: data, as: UTF8.self)
        }
        let tokens = text.split(whereSeparator: { !($0.isASCII && $0.isHexDigit) })
        guard let hex = tokens.first(where: { $0.count == 64 }), let raw = Hex.decode(hex), raw.count == Ed25519.keySize else {
            throw YKTError(.usageValue, isFile ? "公钥文件里没有 64 位十六进制的公钥" : "找不到公钥文件 \(given)",
                           at: SourceLocation(file: isFile ? given : nil, field: "--public-key"),
                           hint: "把县级节点 ykt key show 显示的「公钥」（64 位十六进制）存成文件，用 --public-key 文件 给出")
        }
        return Ed25519.PublicKey(raw: raw)
    }

    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["publish"], abstract: "（县级）发布公开站点和公众查询库：政策清单、公示、发放结果、投诉渠道，县财政签名",
            discussion: "在 --out 目录写入 site/（静态网页和 CSV，可由任何网站或镜像原样提供）和 query.store（公众查询库，不含明文身份证号和姓名）。"
                + "涉密项目一律不公开；身份证号、账号、手机号码只显示部分数字。site/manifest.json 列出每个文件的大小和 SHA-256 以及查询库的 SHA-256，"
                + "manifest.sig 是县级节点签名密钥对它的签名，任何人可用 ykt publish verify 校验。先写在临时目录，全部成功才放到位："
                + "发布失败时原有的发布（或空目录）保持不变。--out 里已有发布时须加 --replace。须在 node.conf 设 complaint_phone（县财政监督举报电话），"
                + "可设 public_url（公众查询服务的地址，首页列出查询网址）。详见 docs/public.md。",
            options: [.value("out", "目录", "输出目录（不存在时建立）", required: true), .flag("replace", "替换输出目录里已有的发布"),
                      .flag("json", "以 JSON 输出")],
            run: { inv in
                let out = try inv.require("out")
                let county = try inv.county()
                let r = try county.publish(out: out, replace: inv.flag("replace"))
                if inv.json { return try inv.out.json(r) }
                inv.out.fields([
                    ("发布目录", r.out), ("发布时间", r.publishedAt),
                    ("政策清单", "\(r.site.policies) 项（涉密项目不公开）"),
                    ("公示", "\(r.site.notices) 次，\(r.site.noticeLines) 人次"),
                    ("发放结果", "\(r.site.rosters) 份清册，\(r.site.paymentLines) 人次：已发放 \(r.site.paid) 人次 \(Fen(r.site.paidFen).yuanGrouped) 元，"
                        + "发放失败 \(r.site.failed) 人次 \(Fen(r.site.failedFen).yuanGrouped) 元，发放中 \(r.site.pending) 人次 \(Fen(r.site.pendingFen).yuanGrouped) 元"),
                    ("站点文件", "\(r.site.files.count + 2) 个（含 manifest.json、manifest.sig）"),
                    ("查询库", "\(r.store.entries) 条（\(r.store.records) 项记录），用时 \(String(format: "%.1f", r.store.seconds)) 秒，SHA-256 \(r.store.sha256)"),
                    ("清单 SHA-256", r.manifestSHA256),
                    ("签名密钥编号", r.keyID), ("签名公钥", r.publicKey),
                ])
                inv.out.message("镜像站点和公众查询服务可用 ykt publish verify \(out) 核对；签名密钥编号应与 ykt key show 显示的一致。")
            }),
        CommandSpec(
            path: ["publish", "verify"], abstract: "校验公开站点：县财政签名、每个文件的大小和 SHA-256、没有多出的文件，以及查询库",
            discussion: "给出 ykt publish 的输出目录或其中的 site 目录。不需要节点，也不需要登录。"
                + "用 --public-key 给出县财政公钥（县级节点 ykt key show 显示的「公钥」，存成文件）时，签名须出自该密钥；"
                + "不给时用清单里写明的公钥验签，并显示其密钥编号，须与县财政公布的核对。"
                + "--store 给出查询库时核对它的 SHA-256；不给而 site 旁边有 query.store 时也核对它。有任何不符时退出码非零，并指出是哪个文件。",
            positionals: [("目录", "ykt publish 的输出目录，或其中的 site 目录")],
            options: [.value("public-key", "文件", "县财政公钥文件（ykt key show 的「公钥」）"), .value("store", "文件", "要核对的查询库文件"),
                      .flag("json", "以 JSON 输出")],
            run: { inv in
                guard inv.args.positionals.count == 1 else {
                    throw YKTError(.usage, "须给出一个目录：ykt publish 的输出目录或其中的 site 目录", hint: "用法：\(inv.spec.usage)")
                }
                let given = inv.positional(0)
                let key = try inv.string("public-key").map(publicKey)
                var siteFolder = given
                if !FileManager.default.fileExists(atPath: NSStringPath(given).appending(SiteManifest.fileName)),
                   FileManager.default.fileExists(atPath: NSStringPath(given).appending(PublicSitePublication.siteFolderName)) {
                    siteFolder = NSStringPath(given).appending(PublicSitePublication.siteFolderName)
                }
                var store = inv.string("store")
                if store == nil {
                    let beside = NSStringPath((siteFolder as NSString).deletingLastPathComponent).appending(PublicSitePublication.storeFileName)
                    var info = stat()
                    if lstat(beside, &info) == 0 { store = beside }
                }
                let m = try SiteManifest.verify(siteFolder: siteFolder, storePath: store, publicKey: key)
                if inv.json {
                    struct Shown: Encodable { var ok = true; var site: String; var store: String?; var manifest: SiteManifest; var keyChecked: Bool }
                    return try inv.out.json(Shown(site: siteFolder, store: store, manifest: m, keyChecked: key != nil))
                }
                inv.out.line("校验通过：站点 \(m.entries.count) 个文件与县财政签名的清单一致，没有多出的文件" + (store != nil ? "，查询库一致。" : "。"))
                inv.out.fields([
                    ("县", m.county), ("发布时间", m.publishedAt), ("站点目录", siteFolder),
                    ("查询库", store.map { "\($0)（\(m.store.entries) 条，SHA-256 \(m.store.sha256)）" } ?? "未核对（没有给出 --store）"),
                    ("签名密钥编号", m.fingerprint), ("签名公钥", m.publicKey),
                ])
                if key == nil {
                    inv.out.message("没有给出 --public-key：请把签名密钥编号 \(m.fingerprint) 与县财政公布的（县级节点 ykt key show）核对。")
                }
            }),
    ]
}
