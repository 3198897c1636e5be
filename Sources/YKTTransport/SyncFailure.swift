import YKTCore
import YKTNet

/// Network failures of a sync round, in the terms a township clerk can act on: the county
/// cannot be reached (`YKT-SYNC-OFFLINE`, retry later: nothing is lost), it did not answer in
/// time (`YKT-SYNC-TIMEOUT`), or a certificate was refused (`YKT-SYNC-CERT`, never mistaken for
/// a restored backup). Anything that is already a `YKTError` passes through.
public enum SyncFailure {
    public static func map(_ error: any Error, county: String, timeoutSeconds: Double) -> any Error {
        let saved = "本节点的工作已保存在本地，下次同步时会发送"
        switch error {
        case let e as SocketError where e.isTimeout:
            return YKTError(.syncTimeout, "连接县财政同步服务 \(county) 超时（\(Int(timeoutSeconds)) 秒内没有建立连接）",
                            hint: "检查网络；\(saved)")
        case let e as SocketError where e.isUnreachable:
            return YKTError(.syncOffline, "连不上县财政同步服务 \(county)：\(reason(e.errno))", hint: "检查网络或县财政服务是否在运行；\(saved)")
        case let e as TLSError:
            switch e {
            case .timeout:
                return YKTError(.syncTimeout, "县财政同步服务 \(county) 在 \(Int(timeoutSeconds)) 秒内没有答复", hint: "稍后重试；\(saved)")
            case .certificate(let why):
                return YKTError(.syncCertificate, "TLS 证书被拒绝：\(certificateReason(why))",
                                hint: "本节点证书可能已被吊销、过期或不是本县 CA 签发，或对方不是本县的服务；请联系县财政系统管理员核对证书")
            case .closed, .unclean, .io:
                return YKTError(.syncOffline, "与县财政同步服务 \(county) 的连接中途断开（\(e)）", hint: "稍后重试；\(saved)")
            case .crlExpired, .crlUnreadable:
                return NodeTLS.crlError(e) ?? YKTError(.crlExpired, "\(e)")
            case .handshake(let why):
                return YKTError(.syncOffline, "与县财政同步服务 \(county) 的 TLS 握手失败：\(why.prefix(200))",
                                hint: "核对 county_address 是否为县财政同步服务；\(saved)")
            }
        default:
            return error
        }
    }

    static func reason(_ errno: Int32) -> String {
        switch errno {
        case ECONNREFUSED: "对方拒绝连接（服务没有运行，或端口不对）"
        case EHOSTUNREACH, ENETUNREACH, ENETDOWN, EHOSTDOWN: "网络不通"
        case ECONNRESET: "连接被重置"
        case ETIMEDOUT: "连接超时"
        default: "系统错误 \(errno)"
        }
    }

    /// OpenSSL's words for a refused certificate, in Chinese where we know them.
    static func certificateReason(_ why: String) -> String {
        let known: [(String, String)] = [
            ("revoked", "证书已被吊销"), ("expired", "证书已过期"), ("unknown ca", "证书不是对方信任的 CA 签发"),
            ("unable to get local issuer", "对方证书不是本县 CA 签发"), ("certificate required", "对方要求提供证书"),
            ("bad certificate", "证书不被接受"), ("self-signed", "自签名证书不被信任"), ("not yet valid", "证书尚未生效"),
        ]
        let lower = why.lowercased()
        let words = known.filter { lower.contains($0.0) }.map(\.1)
        return (words.isEmpty ? "" : words.joined(separator: "，") + "（") + String(why.prefix(160)) + (words.isEmpty ? "" : "）")
    }
}

#if canImport(Glibc)
import Glibc
#endif
