import Foundation
import YKTCore
import YKTNode
import YKTSync
import YKTNet
import YKTTownship

/// A node's TLS files as `node.conf` names them, and the contexts made from them.
public enum NodeTLS {
    /// `tls_certificate`, `tls_key`, `tls_ca` and optional `tls_crl`, relative to the node
    /// directory unless absolute.
    public static func files(_ config: NodeConfig, directory: String) throws(YKTError) -> TLSContext.Files {
        func path(_ key: String, required: Bool = true) throws(YKTError) -> String? {
            guard let v = config.extra[key], !v.isEmpty else {
                if !required { return nil }
                throw YKTError(.nodeConfig, "node.conf 缺少 \(key)", at: SourceLocation(file: NodeConfig.fileName, field: key),
                               hint: "写明证书文件路径（certs/make-dev-pki.sh 生成开发用证书）")
            }
            return v.hasPrefix("/") ? v : (directory as NSString).appendingPathComponent(v)
        }
        return TLSContext.Files(certificate: try path("tls_certificate")!, privateKey: try path("tls_key")!,
                                caCertificate: try path("tls_ca")!, crl: try path("tls_crl", required: false))
    }

    /// The context for `role` from `files`. A CRL (`tls_crl`) that cannot be read, or whose
    /// nextUpdate has passed, is refused here (`YKT-CRL-EXPIRED`): a node neither serves nor
    /// syncs on a stale list of revoked certificates.
    public static func context(_ role: TLSContext.Role, _ files: TLSContext.Files) throws(YKTError) -> TLSContext {
        let context: TLSContext
        do { context = try TLSContext(role: role, files: files) } catch {
            if let crl = files.crl, error.queue.contains(where: { $0.contains("CRL") }) {
                throw YKTError(.crlExpired, "证书吊销列表（CRL）不能读取：\(error.queue.last ?? "")", at: SourceLocation(file: crl, field: "tls_crl"),
                               hint: "在 CA 上用 openssl ca -gencrl 重新签发 CRL（PEM 格式），放到 node.conf 的 tls_crl 所指的位置")
            }
            throw YKTError(.nodeConfig, "TLS 证书或密钥不能加载：\(error)", hint: "核对 node.conf 中 tls_* 的路径和文件")
        }
        do { try context.checkCRL() } catch {
            throw crlError(error) ?? YKTError(.nodeConfig, "\(error)")
        }
        return context
    }

    /// A CRL problem as the operator reads it: what, where, what to do.
    public static func crlError(_ error: TLSError) -> YKTError? {
        switch error {
        case .crlExpired(let path, let next):
            return YKTError(.crlExpired, "证书吊销列表（CRL）已过期：下次更新时间（nextUpdate）\(next) 已过", at: SourceLocation(file: path, field: "tls_crl"),
                            hint: "在县 CA 上用 openssl ca -gencrl 重新签发 CRL 并替换该文件（mv 整个替换）；运行中的 ykt serve 会自动读取新文件，也可发 SIGHUP。过期期间不接受也不发起任何连接")
        case .crlUnreadable(let path, let why):
            return YKTError(.crlExpired, "证书吊销列表（CRL）不能读取：\(why)", at: SourceLocation(file: path, field: "tls_crl"),
                            hint: "在 CA 上用 openssl ca -gencrl 重新签发 CRL（PEM 格式），放到 node.conf 的 tls_crl 所指的位置")
        default:
            return nil
        }
    }

    /// `host:port` → its parts, or a configuration error naming `field`.
    /// Where `ykt serve` listens: `--listen` (`option`), else node.conf's `listen`, else
    /// `SyncProtocol.defaultListen`. `host:0` lets the system choose a port (tests).
    public static func listenAddress(option: String?, config: NodeConfig) throws(YKTError) -> (host: String, port: UInt16) {
        if let option { return try address(option, field: "--listen") }
        if let listen = config.extra["listen"], !listen.isEmpty { return try address(listen, field: "listen") }
        return try address(SyncProtocol.defaultListen, field: "listen")
    }

    public static func address(_ text: String, field: String) throws(YKTError) -> (host: String, port: UInt16) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]), !parts[0].isEmpty else {
            throw YKTError(.nodeConfig, "地址「\(text)」应为 主机:端口", at: SourceLocation(field: field),
                           hint: "例如 127.0.0.1:8443")
        }
        return (String(parts[0]), port)
    }
}
