internal import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import YKTCrypto

/// An OpenSSL `SSL_CTX` set up for this project's only use: **mutual TLS 1.3** against the
/// county's CA. One final class owns the C object and frees it in `deinit`.
///
/// Both sides present a certificate and verify the other's against the CA; TLS 1.2 and older
/// are refused; a CRL, when given, is checked for the peer's certificate.
///
/// The CRL is re-read when its file changes (device, inode, size or modification time, looked
/// at as each connection starts) or when `reloadCRL()` is called (SIGHUP at `ykt serve`): each
/// connection verifies against the CA and the CRL in force when it started (its own verify
/// store). A CRL past its nextUpdate refuses every connection (`TLSError.crlExpired`), and so
/// does one that cannot be read (fail closed; the next connection reads the file again).
public final class TLSContext: @unchecked Sendable {
    // Safe to share: after init the SSL_CTX is only read (SSL_new), which OpenSSL documents as
    // thread-safe for a context no longer being configured. The CRL state is guarded by
    // `crlLock`; an X509_STORE is reference-counted and safe to verify against from many threads.
    let ctx: OpaquePointer
    let caPath: String
    public let crlPath: String?
    private let crlLock = NSLock()
    private var crlStore: OpaquePointer?
    private var crlStamp: FileStamp?
    private var crlNextUpdate: time_t?
    private var crlNextUpdateText = ""
    private var loads = 0
    /// How many times the CRL has been read (tests and logs).
    public var crlLoads: Int { crlLock.withLock { loads } }

    /// What identifies one version of a file without reading it.
    struct FileStamp: Equatable {
        var device: UInt64, inode: UInt64, size: Int64, seconds: Int, nanoseconds: Int
    }

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

    /// `clientCertificates: false` makes a server that authenticates itself only: browsers reach
    /// the county's console with no certificate of their own (the operators log in instead).
    public init(role: Role, files: Files, tls12ForTesting: Bool = false, clientCertificates: Bool = true) throws(OpenSSLError) {
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
        let loaded: Bool
        if let seed = Self.ed25519Seed(pem: files.privateKey), let key = EVP_PKEY_new_raw_private_key_ex(nil, "ED25519", nil, seed, seed.count) {
            loaded = SSL_CTX_use_PrivateKey(ctx, key) == 1
            EVP_PKEY_free(key)
        } else {
            loaded = SSL_CTX_use_PrivateKey_file(ctx, files.privateKey, SSL_FILETYPE_PEM) == 1
        }
        guard loaded, SSL_CTX_check_private_key(ctx) == 1 else { throw .drain("load private key \(files.privateKey)") }
        guard SSL_CTX_load_verify_locations(ctx, files.caCertificate, nil) == 1 else {
            throw .drain("load CA \(files.caCertificate)")
        }
        SSL_CTX_set_verify(ctx, role == .server && !clientCertificates ? SSL_VERIFY_NONE : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        caPath = files.caCertificate
        crlPath = files.crl
        if files.crl != nil {
            do { try reloadCRL() } catch {
                var e = OpenSSLError.drain("load CRL")
                e.queue.append(error.description)
                throw e
            }
        }
    }

    /// The DER of an unencrypted Ed25519 key in PKCS #8 (RFC 8410), before its 32-byte seed.
    static let ed25519PKCS8Prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]

    /// The seed of an Ed25519 private key in the one form `openssl genpkey` and `req -newkey
    /// ed25519` write (`BEGIN PRIVATE KEY`, unencrypted PKCS #8), read from its fixed layout:
    /// OpenSSL's general decoder tries its formats one by one (0.4 ms, a sixth of a small sync's
    /// TLS setup). Nil for anything else, which OpenSSL then reads itself (and explains, if it
    /// can't). The key must still match the certificate (`SSL_CTX_check_private_key`).
    static func ed25519Seed(pem path: String) -> [UInt8]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        // Spaces and tabs dropped by hand and the lines joined with `+=`: Foundation's trimming
        // (through `NSString`) and a generic `joined()` looked their types up at run time, a
        // fifth of a millisecond at every start of a sync.
        let lines = text.split(whereSeparator: \.isNewline).map(\.trimmingSpacesAndTabs).filter { !$0.isEmpty }
        var base64 = ""
        for line in lines.dropFirst().dropLast() { base64 += line }
        guard lines.count >= 3, lines.first == "-----BEGIN PRIVATE KEY-----", lines.last == "-----END PRIVATE KEY-----",
              let der = Data(base64Encoded: base64),
              der.count == ed25519PKCS8Prefix.count + 32, der.prefix(ed25519PKCS8Prefix.count).elementsEqual(ed25519PKCS8Prefix) else {
            return nil
        }
        return [UInt8](der.suffix(32))
    }

    deinit {
        SSL_CTX_free(ctx)
        if let crlStore { X509_STORE_free(crlStore) }
    }

    /// Reads the CRL file again now, whether or not it changed (SIGHUP). Fails when the file
    /// cannot be read; an expired CRL is loaded, and refused by `checkCRL` and every connection.
    public func reloadCRL() throws(TLSError) {
        guard let path = crlPath else { return }
        crlLock.lock()
        defer { crlLock.unlock() }
        try load(path, stamp: Self.stamp(path))
    }

    /// Fails when the CRL in force has expired (its nextUpdate has passed) or cannot be read;
    /// reads the file again first if it changed.
    public func checkCRL() throws(TLSError) {
        guard crlPath != nil else { return }
        let store = try currentStore()
        X509_STORE_free(store)
    }

    /// The CRL's nextUpdate as OpenSSL prints it (empty without a CRL or without nextUpdate).
    public var crlNextUpdateDescription: String { crlLock.withLock { crlNextUpdateText } }

    /// Gives `ssl` the verify store with the CRL in force (nothing without a CRL).
    func applyCRL(to ssl: OpaquePointer) throws(TLSError) {
        guard crlPath != nil else { return }
        let store = try currentStore()
        defer { X509_STORE_free(store) }
        guard ykt_ssl_set1_verify_cert_store(ssl, store) == 1 else {
            throw .handshake(OpenSSLError.drain("SSL_set1_verify_cert_store").description)
        }
    }

    /// The store with the CRL in force, one reference for the caller: re-read when the file
    /// changed, refused when expired.
    private func currentStore() throws(TLSError) -> OpaquePointer {
        guard let path = crlPath else { throw .crlUnreadable(path: "", why: "no CRL configured") }
        crlLock.lock()
        defer { crlLock.unlock() }
        let stamp = Self.stamp(path)
        if stamp == nil || stamp != crlStamp || crlStore == nil { try load(path, stamp: stamp) }
        guard let store = crlStore else { throw .crlUnreadable(path: path, why: "not loaded") }
        if let next = crlNextUpdate, time(nil) >= next { throw .crlExpired(path: path, nextUpdate: crlNextUpdateText) }
        X509_STORE_up_ref(store)
        return store
    }

    /// Builds a verify store from the CA and every CRL in `path`. Called with `crlLock` held.
    /// On failure the old store is dropped (fail closed) and the stamp forgotten, so the next
    /// connection reads the file again (it may have been caught half-written).
    private func load(_ path: String, stamp: FileStamp?) throws(TLSError) {
        if let old = crlStore { X509_STORE_free(old) }
        crlStore = nil
        crlStamp = nil
        guard let store = X509_STORE_new() else { throw .crlUnreadable(path: path, why: OpenSSLError.drain("X509_STORE_new").description) }
        var keep = false
        defer { if !keep { X509_STORE_free(store) } }
        guard X509_STORE_load_file(store, caPath) == 1 else {
            throw .crlUnreadable(path: path, why: OpenSSLError.drain("load CA \(caPath)").description)
        }
        guard let bio = BIO_new_file(path, "r") else {
            throw .crlUnreadable(path: path, why: OpenSSLError.drain("open").description)
        }
        defer { BIO_free(bio) }
        var count = 0
        var earliest: (time: time_t, text: String)?
        while let crl = PEM_read_bio_X509_CRL(bio, nil, nil, nil) {
            defer { X509_CRL_free(crl) }
            guard X509_STORE_add_crl(store, crl) == 1 else {
                throw .crlUnreadable(path: path, why: OpenSSLError.drain("X509_STORE_add_crl").description)
            }
            count += 1
            if let next = X509_CRL_get0_nextUpdate(crl) {
                var tm = tm()
                guard ASN1_TIME_to_tm(next, &tm) == 1 else {
                    throw .crlUnreadable(path: path, why: OpenSSLError.drain("nextUpdate").description)
                }
                let t = timegm(&tm)
                if earliest == nil || t < earliest!.time { earliest = (t, Self.text(next)) }
            }
        }
        // PEM_read stops at the end of the file with a "no start line" error: not a failure.
        _ = OpenSSLError.drain("PEM_read_bio_X509_CRL")
        guard count > 0 else { throw .crlUnreadable(path: path, why: "no CRL in the file") }
        guard X509_STORE_set_flags(store, UInt(X509_V_FLAG_CRL_CHECK)) == 1 else {
            throw .crlUnreadable(path: path, why: OpenSSLError.drain("X509_STORE_set_flags").description)
        }
        keep = true
        crlStore = store
        crlStamp = stamp
        crlNextUpdate = earliest?.time
        crlNextUpdateText = earliest?.text ?? ""
        loads += 1
    }

    static func stamp(_ path: String) -> FileStamp? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileStamp(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                         seconds: st.st_mtim.tv_sec, nanoseconds: st.st_mtim.tv_nsec)
    }

    /// An ASN1_TIME as text (`Jan  1 00:00:00 2020 GMT`).
    static func text(_ time: UnsafePointer<ASN1_TIME>) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        guard ASN1_TIME_print(bio, time) == 1 else { return "" }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = BIO_read(bio, &buffer, Int32(buffer.count))
        return n > 0 ? String(decoding: buffer.prefix(Int(n)), as: UTF8.self) : ""
    }
}
