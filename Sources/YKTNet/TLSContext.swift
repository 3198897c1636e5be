internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif
import YKTCrypto

/// An OpenSSL `SSL_CTX` set up for this project's only use: **mutual TLS 1.3** against the
/// county's CA. One final class owns the C object and frees it in `deinit`.
///
/// Both sides present a certificate and verify the other's against the CA; TLS 1.2 and older
/// are refused; a CRL, when given, is checked for the peer's certificate.
public final class TLSContext: @unchecked Sendable {
    // Safe to share: after init the SSL_CTX is only read (SSL_new), which OpenSSL documents as
    // thread-safe for a context no longer being configured.
    let ctx: OpaquePointer

    public enum Role: Sendable { case server, client }

    public struct Files: Sendable {
        public var certificate: String
        public var privateKey: String
        public var caCertificate: String
        public var crl: String?

        public init(certificate: String, privateKey: String, caCertificate: String, crl: String? = nil) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.caCertificate = caCertificate
            self.crl = crl
        }
    }

    /// `tls12ForTesting` makes a client that offers at most TLS 1.2, to show the server refuses it.
    /// OpenSSL writes to the socket itself, so `MSG_NOSIGNAL` cannot be used: a peer that closes
    /// while we write would raise SIGPIPE and kill the process. Ignore it once, process-wide;
    /// the write then fails with EPIPE and is reported as an error.
    private static let ignoreSIGPIPE: Bool = {
        signal(SIGPIPE, SIG_IGN)
        return true
    }()

    public init(role: Role, files: Files, tls12ForTesting: Bool = false) throws(OpenSSLError) {
        _ = Self.ignoreSIGPIPE
        let maximumVersion = tls12ForTesting ? TLS1_2_VERSION : TLS1_3_VERSION
        let method = role == .server ? TLS_server_method() : TLS_client_method()
        guard let ctx = SSL_CTX_new(method) else { throw .drain("SSL_CTX_new") }
        self.ctx = ctx
        // `maximumVersion` exists so tests can play an old client; nodes always use 1.3.
        let minimum = min(TLS1_3_VERSION, maximumVersion)
        guard ykt_ssl_ctx_set_min_proto(ctx, role == .server ? TLS1_3_VERSION : minimum) == 1,
              ykt_ssl_ctx_set_max_proto(ctx, maximumVersion) == 1 else { throw .drain("set TLS versions") }
        ykt_ssl_ctx_set_no_renegotiation_and_tickets(ctx)
        guard SSL_CTX_use_certificate_chain_file(ctx, files.certificate) == 1 else {
            throw .drain("load certificate \(files.certificate)")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, files.privateKey, SSL_FILETYPE_PEM) == 1,
              SSL_CTX_check_private_key(ctx) == 1 else { throw .drain("load private key \(files.privateKey)") }
        guard SSL_CTX_load_verify_locations(ctx, files.caCertificate, nil) == 1 else {
            throw .drain("load CA \(files.caCertificate)")
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        if let crl = files.crl {
            guard let store = SSL_CTX_get_cert_store(ctx),
                  let lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file()),
                  X509_load_crl_file(lookup, crl, X509_FILETYPE_PEM) >= 1,
                  X509_STORE_set_flags(store, UInt(X509_V_FLAG_CRL_CHECK)) == 1 else {
                throw .drain("load CRL \(crl)")
            }
        }
    }

    deinit { SSL_CTX_free(ctx) }
}
