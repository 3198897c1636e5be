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
