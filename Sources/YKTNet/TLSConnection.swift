internal import COpenSSL
import Dispatch
import YKTCrypto
#if canImport(Glibc)
import Glibc
#endif

/// Why a TLS connection ended early.
public enum TLSError: Error, Sendable, CustomStringConvertible {
    /// The handshake failed for a reason other than a certificate (protocol, version).
    case handshake(String)
    /// A certificate was refused: ours by the peer (its alert says why: revoked, expired,
    /// unknown CA), or the peer's by us (the verify result says why).
    case certificate(String)
    /// The peer sent nothing within the read timeout or the deadline.
    case timeout
    /// The peer ended the TLS session cleanly (close_notify) where more was expected.
    case closed
    /// The connection ended without a TLS close_notify: cut, or the peer died.
    case unclean
    case io(String)
    /// The CRL (`path`) is past its nextUpdate: no connection is made or taken until a fresh
    /// one is issued (openssl ca -gencrl).
    case crlExpired(path: String, nextUpdate: String)
    /// The CRL (`path`) cannot be read or holds no CRL: connections are refused (fail closed).
    case crlUnreadable(path: String, why: String)

    public var description: String {
        switch self {
        case .handshake(let why): "TLS handshake failed: \(why)"
        case .certificate(let why): "certificate refused: \(why)"
        case .timeout: "timed out"
        case .closed: "connection closed by peer"
        case .unclean: "connection ended without TLS close_notify (cut or peer died)"
        case .io(let why): "TLS I/O failed: \(why)"
        case .crlExpired(let path, let next): "CRL \(path) expired at \(next) (nextUpdate): re-issue it with openssl ca -gencrl"
        case .crlUnreadable(let path, let why): "CRL \(path) cannot be used: \(why)"
        }
    }

    /// An OpenSSL failure as a `TLSError`: alerts about certificates become `.certificate`.
    static func from(_ e: OpenSSLError, handshake: Bool) -> TLSError {
        let text = e.queue.joined(separator: "; ")
        if text.contains("certificate") || text.contains("unknown ca") { return .certificate(text) }
        if text.contains("unexpected eof") { return .unclean }
        return handshake ? .handshake(e.description) : .io(e.description)
    }
}

/// One TLS connection over a connected socket. Owns the `SSL*` and the file descriptor and
/// frees both in `deinit`. A *plain* connection (no `SSL*`) carries HTTP in the clear, under the
/// same timeouts and deadlines: only the township's console on 127.0.0.1 uses one.
public final class TLSConnection {
    let ssl: OpaquePointer?
    let fd: Int32
    let timeoutSeconds: Double
    /// When set (monotonic nanoseconds), reads give up at this moment whatever arrives before it.
    var deadline: UInt64?
    /// Only a connection whose handshake completed and that met no fatal error may send
    /// close_notify (SSL_shutdown after SSL_ERROR_SYSCALL or SSL_ERROR_SSL is forbidden).
    private var usable = false

    init(context: TLSContext, fd: Int32, server: Bool, timeoutSeconds: Double, deadlineSeconds: Double? = nil) throws(TLSError) {
        self.timeoutSeconds = timeoutSeconds
        deadline = deadlineSeconds.map { Clock.now + UInt64($0 * 1e9) }
        Socket.setTimeouts(fd, seconds: deadlineSeconds.map { min($0, timeoutSeconds) } ?? timeoutSeconds)
        guard let ssl = SSL_new(context.ctx) else {
            close(fd)
            throw .handshake(OpenSSLError.drain("SSL_new").description)
        }
        self.ssl = ssl
        self.fd = fd
        // The CRL in force now (re-read when its file changed), checked for expiry.
        try context.applyCRL(to: ssl)
        SSL_set_fd(ssl, fd)
        let rc = server ? SSL_accept(ssl) : SSL_connect(ssl)
        if rc != 1 {
            let err = SSL_get_error(ssl, rc)
            let saved = errno
            let verify = SSL_get_verify_result(ssl)
            let queue = OpenSSLError.drain(server ? "SSL_accept" : "SSL_connect")
            if verify != X509_V_OK { throw .certificate(String(cString: X509_verify_cert_error_string(Int(verify)))) }
            // A blocking socket wants more only after its timeout ran out; errno counts only
            // when OpenSSL says the failure was the system's (it may be stale otherwise).
            if err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE
                || (err == SSL_ERROR_SYSCALL && (saved == EAGAIN || saved == EWOULDBLOCK)) { throw .timeout }
            if err == SSL_ERROR_SYSCALL, queue.queue.isEmpty { throw .unclean }
            throw TLSError.from(queue, handshake: true)
        }
        usable = true
    }

    /// A plain connection over `fd` (no TLS).
    init(plain fd: Int32, timeoutSeconds: Double, deadlineSeconds: Double? = nil) {
        self.timeoutSeconds = timeoutSeconds
        deadline = deadlineSeconds.map { Clock.now + UInt64($0 * 1e9) }
        Socket.setTimeouts(fd, seconds: deadlineSeconds.map { min($0, timeoutSeconds) } ?? timeoutSeconds)
        ssl = nil
        self.fd = fd
    }

    deinit {
        if let ssl {
            if usable, SSL_shutdown(ssl) < 0 { _ = OpenSSLError.drain("SSL_shutdown") }
            SSL_free(ssl)
        }
        close(fd)
    }

    /// After answering a request we refused before reading all of it: tell the peer we are done
    /// (TLS close_notify, TCP write shutdown), then read and discard what it still sends, at most
    /// `maxBytes` and `seconds`, so the kernel does not answer unread data with a reset that
    /// would destroy our answer before the peer reads it.
    func lingeringClose(maxBytes: Int = 1 << 20, seconds: Double = 2) {
        if usable, let ssl, SSL_shutdown(ssl) < 0 { _ = OpenSSLError.drain("SSL_shutdown") }
        usable = false
        shutdown(fd, Int32(SHUT_WR))
        Socket.setReadTimeout(fd, seconds: min(seconds, 0.5))
        var discarded = 0
        let deadline = Clock.now + UInt64(seconds * 1e9)
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while discarded < maxBytes, Clock.now < deadline {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            discarded += n
        }
    }

    /// Whether bytes of a next message are there to read (decrypted and waiting in OpenSSL, or
    /// arriving on the socket) within `seconds`. A peer that closed counts as readable: the
    /// read that follows finds the end.
    func waitReadable(seconds: Double) -> Bool {
        if let ssl, SSL_pending(ssl) > 0 { return true }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let rc = poll(&p, 1, Int32(max(0, seconds * 1000)))
        return rc > 0
    }

    /// The common name of the peer's verified certificate: the node id.
    public var peerCommonName: String? {
        guard let ssl, let cert = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(cert) }
        guard let name = X509_get_subject_name(cert) else { return nil }
        var buffer = [CChar](repeating: 0, count: 256)
        let n = X509_NAME_get_text_by_NID(name, NID_commonName, &buffer, Int32(buffer.count))
        guard n > 0 else { return nil }
        return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether OpenSSL's error queue of the calling thread is empty. Every call that fails must
    /// drain it, or the next OpenSSL call on the thread may misread what is left (tests check).
    static var threadErrorQueueIsEmpty: Bool { ERR_peek_error() == 0 }

    /// The negotiated protocol, e.g. `TLSv1.3`.
    public var protocolVersion: String { ssl.map { String(cString: SSL_get_version($0)) } ?? "plain" }

    /// Reads up to `max` bytes; empty at a clean end of stream.
    public func read(max: Int) throws(TLSError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        var got = 0
        var failure: TLSError?
        buffer.withUnsafeMutableBytes { p in
            do throws(TLSError) { got = try read(into: p) } catch { failure = error }
        }
        if let failure { throw failure }
        return got == buffer.count ? buffer : Array(buffer.prefix(got))
    }

    /// Reads up to `into.count` bytes into `into`; 0 at a clean end of stream (close_notify).
    /// An end without close_notify is `.unclean`, never a clean end. No allocation, so a large
    /// body streams through one buffer.
    func read(into target: UnsafeMutableRawBufferPointer) throws(TLSError) -> Int {
        if let deadline {
            let now = Clock.now
            guard now < deadline else { throw .timeout }
            Socket.setReadTimeout(fd, seconds: min(Double(deadline - now) / 1e9, timeoutSeconds))
        }
        guard let ssl else { return try plainRead(into: target) }
        var got = 0
        let rc = SSL_read_ex(ssl, target.baseAddress, target.count, &got)
        if rc == 1 { return got }
        let err = SSL_get_error(ssl, 0)
        let saved = errno
        let queue = OpenSSLError.drain("SSL_read_ex")
        switch err {
        case SSL_ERROR_ZERO_RETURN:
            return 0
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            throw .timeout   // a blocking socket only wants more after its timeout ran out
        case SSL_ERROR_SYSCALL:
            usable = false
            if saved == EAGAIN || saved == EWOULDBLOCK { throw .timeout }
            if queue.queue.isEmpty { throw .unclean }
            throw .io("SSL_read_ex: \(String(cString: strerror(saved)))")
        default:
            usable = false
            throw TLSError.from(queue, handshake: false)
        }
    }

    private func plainRead(into target: UnsafeMutableRawBufferPointer) throws(TLSError) -> Int {
        while true {
            let n = recv(fd, target.baseAddress, target.count, 0)
            if n >= 0 { return n }
            let saved = errno
            if saved == EINTR { continue }
            if saved == EAGAIN || saved == EWOULDBLOCK { throw .timeout }
            throw .unclean
        }
    }

    private func plainWrite(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        var offset = 0
        while offset < bytes.count {
            let n = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 {
                let saved = errno
                if saved == EINTR { continue }
                if saved == EAGAIN || saved == EWOULDBLOCK { throw .timeout }
                throw .unclean
            }
            offset += n
        }
    }

    /// A certificate alert the peer sent before it closed, if one is waiting to be read.
    private func pendingAlert() -> TLSError? {
        guard let ssl else { return nil }
        Socket.setReadTimeout(fd, seconds: 1)
        var byte: UInt8 = 0
        var got = 0
        guard SSL_read_ex(ssl, &byte, 1, &got) != 1 else { return nil }
        let text = OpenSSLError.drain("SSL_read_ex").queue.joined(separator: "; ")
        return text.contains("certificate") || text.contains("unknown ca") ? .certificate(text) : nil
    }

    public func write(_ bytes: [UInt8]) throws(TLSError) {
        var failure: TLSError?
        bytes.withUnsafeBytes { buf in
            do throws(TLSError) { try write(buf) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        guard let ssl else { return try plainWrite(bytes) }
        var offset = 0
        while offset < bytes.count {
            var written = 0
            let rc = SSL_write_ex(ssl, bytes.baseAddress! + offset, bytes.count - offset, &written)
            if rc != 1 {
                let err = SSL_get_error(ssl, 0)
                let saved = errno
                let queue = OpenSSLError.drain("SSL_write_ex")
                if err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ { throw .timeout }
                usable = false
                // In TLS 1.3 a client's handshake is done before the server has checked its
                // certificate: a refusal comes as an alert, and the write that follows may fail
                // first. Read what the server said before calling it a cut connection.
                if let alert = pendingAlert() { throw alert }
                if err == SSL_ERROR_SYSCALL {
                    if saved == EAGAIN || saved == EWOULDBLOCK { throw .timeout }
                    if saved == EPIPE || saved == ECONNRESET { throw .unclean }
                    throw .io("SSL_write_ex: \(String(cString: strerror(saved)))")
                }
                throw TLSError.from(queue, handshake: false)
            }
            offset += written
        }
    }
}
