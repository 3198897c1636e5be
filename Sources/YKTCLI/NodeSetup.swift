import YKTSync

/// What `ykt init` adds to a new node's node.conf (every key the role uses; values still to
/// be obtained as comments), and the numbered next steps it prints (docs/operations-guide.md).
enum NodeSetup {
    /// A township's sync keys: all to be filled from what the county hands over.
    static func townshipSection(township: String, name: String) -> String {
        let issuer = name.hasSuffix("政府") ? name : name + "人民政府"
        return """

        # ---- 公示、明白卡的落款、监督电话和查询二维码（ykt notice print、ykt payment notice、ykt card print）----
        # 公示落款的发文机关；不填时为「\(issuer)」
        # issuer = \(issuer)
        # 发放结果公示和明白卡上的监督举报电话；不填时用对象所在那次公示（明白卡：最近一次公示）的电话
        # complaint_phone = 0772-6812000
        # 公众查询网站的地址：填写后，打印件右上角印查询二维码（内容为该地址加 query，例如 https://ykt.example.gov.cn/query）；
        # 不填时打印件没有二维码，命令会提示
        # public_url = https://ykt.example.gov.cn/

        # ---- 与县财政同步（ykt sync）----
        # 以下各项向县财政索取后填写，并去掉行首的 #（docs/operations-guide.md「Syncing with the county」一节）。
        # 县财政同步服务的地址 主机:端口（县里 ykt serve 的默认端口为 \(SyncProtocol.defaultPort)）
        # county_address = 县财政主机:\(SyncProtocol.defaultPort)
        # 本乡镇的 TLS 证书和私钥（由县财政 CA 签发，证书 CN 为乡镇代码 \(township)；私钥文件权限 0600）
        # tls_certificate = /etc/ykt/certs/\(township).crt
        # tls_key = /etc/ykt/certs/\(township).key
        # 县财政 CA 证书和证书吊销列表（CRL）
        # tls_ca = /etc/ykt/certs/ca.crt
        # tls_crl = /etc/ykt/certs/ca.crl
        # 县财政的签名公钥：县级节点 ykt key show 显示的「公钥」（64 位十六进制）
        # county_public_key = 县财政公钥

        """
    }

    /// The county's server keys: the listen address with its default, the certificates to be
    /// filled, the optional limits with their defaults.
    static func countySection(countyCode: String) -> String {
        """

        # ---- 同步服务（ykt serve）----
        # 监听地址 主机:端口；默认 \(SyncProtocol.defaultListen)（本机所有地址的 \(SyncProtocol.defaultPort) 端口）
        listen = \(SyncProtocol.defaultListen)
        # 县级服务器证书和私钥（由县财政 CA 签发，证书 CN 为县代码 \(countyCode)）、CA 证书和证书吊销列表：
        # 填写后去掉行首的 #（开发和演示用 certs/make-dev-pki.sh 生成，见 certs/README.md）
        # tls_certificate = /etc/ykt/certs/county.crt
        # tls_key = /etc/ykt/certs/county.key
        # tls_ca = /etc/ykt/certs/ca.crt
        # tls_crl = /etc/ykt/certs/ca.crl
        # 可选，所示为默认值（docs/protocol.md「Transport」）：每次读写的超时（秒）、握手期限、握手和请求头期限、
        # 正文最低速率（字节/秒）、同一地址同时未完成握手的连接数、单个变更集最大字节数、页缓存（MiB）、日志格式和级别
        # io_timeout_seconds = 10
        # handshake_deadline_seconds = 5
        # header_deadline_seconds = 15
        # min_body_bytes_per_second = 16384
        # max_pending_per_address = 32
        # max_changeset_bytes = 1073741824
        # cache_mib = 128
        # log_format = text
        # log_level = info

        # ---- 公开站点（ykt publish，docs/public.md）----
        # 县财政的监督举报电话：列在公开站点的首页和投诉举报页（发布前必须填写）
        # complaint_phone = 0772-6812000
        # 公众查询服务的地址（ykt public serve 对外的网址）：首页列出查询网址 <public_url>query
        # public_url = https://ykt.example.gov.cn/

        """
    }

    static func townshipNextSteps(directory dir: String, admin: String, township: String, name: String) -> String {
        let node = "--node \(quoted(dir))"
        return """

        接下来：
          1. 管理员登录：ykt login --login \(admin) \(node)
          2. 为经办人开户并授予角色（乡镇经办人 clerk、乡镇审核人 leader、审计查询人 auditor）：
             ykt operator add --login 登录名 --name 姓名 \(node)
             ykt operator grant --login 登录名 --role clerk \(node)
          3. 把本节点的签名公钥交县财政登记：ykt key show \(node)
             （县财政运行 ykt township enrol --township \(township) --name \(name) --public-key 公钥）
          4. 向县财政索取同步地址、本乡镇 TLS 证书和私钥、CA 证书、CRL 和县财政公钥（ykt key show），
             填入 \(dir)/node.conf 中以 # 开头的同步配置项，并去掉 #
          5. 第一次同步，收到县财政发布的政策清单和工作日历：ykt sync \(node)
          6. 查看今天的工作状态：ykt status \(node)
        """
    }

    static func countyNextSteps(directory dir: String, admin: String, countyCode: String) -> String {
        let node = "--node \(quoted(dir))"
        return """

        接下来：
          1. 管理员登录：ykt login --login \(admin) \(node)
          2. 为经办人开户并授予角色（业务主管部门审核人 reviewer、财政审定人 approver、支付经办人 payments、投诉受理人 complaints、审计查询人 auditor）：
             ykt operator add --login 登录名 --name 姓名 \(node)
             ykt operator grant --login 登录名 --role approver \(node)
          3. 准备证书（开发和演示：bash certs/make-dev-pki.sh 证书目录 乡镇代码…，YKT_COUNTY=\(countyCode)），
             填入 \(dir)/node.conf 中以 # 开头的 tls_ 配置项，并去掉 #
          4. 发布工作日历和政策清单：ykt calendar publish data/cn-holidays.tsv --reason 依据 \(node)
             ykt policy publish 政策清单.csv \(node)
          5. 登记各乡镇（公钥由乡镇 ykt key show 提供）：ykt township enrol --township 乡镇代码 --name 名称 --public-key 公钥 \(node)
          6. 启动同步服务（默认监听 \(SyncProtocol.defaultListen)）：ykt serve \(node)
             把县财政公钥（ykt key show \(node)）、同步地址 本机地址:\(SyncProtocol.defaultPort)、CA 证书和各乡镇证书交给乡镇
          7. 查看今天的工作状态：ykt status \(node)
        """
    }

    /// A directory as the shell takes it (quoted when it has spaces or quotes).
    static func quoted(_ s: String) -> String {
        s.contains(where: { " '\"$`\\".contains($0) }) ? "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" : s
    }
}
