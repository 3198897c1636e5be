internal import COpenSSL

/// A failure inside OpenSSL, with the whole OpenSSL error queue drained into it (the queue is
/// per thread; leaving entries behind would blame the next caller).
public struct OpenSSLError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var queue: [String]

    package static func drain(_ operation: String) -> OpenSSLError {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return OpenSSLError(operation: operation, queue: messages)
    }

    public var description: String {
        "OpenSSL \(operation) failed" + (queue.isEmpty ? "" : ": " + queue.joined(separator: "; "))
    }
}

/// OpenSSL in a `ykt` process.
public enum OpenSSLProcess {
    /// Starts OpenSSL without its clean-up at exit (`OPENSSL_INIT_NO_ATEXIT`); called first by
    /// the command line, before anything else uses OpenSSL. The clean-up freed every algorithm
    /// table and provider as the process ended (a tenth of a millisecond of each short command,
    /// memory the kernel takes back anyway), and could pull them from under a thread of `ykt
    /// serve` still working while the main thread exits. Configuration and algorithms are still
    /// loaded as usual, on first use.
    public static func start() {
        _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
    }
}
