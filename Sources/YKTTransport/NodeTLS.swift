import Foundation
import YKTCore
import YKTNode
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

    public static func context(_ role: TLSContext.Role, _ files: TLSContext.Files) throws(YKTError) -> TLSContext {
        do { return try TLSContext(role: role, files: files) } catch {
            throw YKTError(.nodeConfig, "TLS 证书或密钥不能加载：\(error)", hint: "核对 node.conf 中 tls_* 的路径和文件")
        }
    }

    /// `host:port` → its parts, or a configuration error naming `field`.
    public static func address(_ text: String, field: String) throws(YKTError) -> (host: String, port: UInt16) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]), !parts[0].isEmpty else {
            throw YKTError(.nodeConfig, "地址「\(text)」应为 主机:端口", at: SourceLocation(field: field),
                           hint: "例如 127.0.0.1:8443")
        }
        return (String(parts[0]), port)
    }
}
