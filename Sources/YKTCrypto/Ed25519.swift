internal import COpenSSL

/// Ed25519 signatures through OpenSSL 3. Keys are small `Sendable` values (the 32-byte seed or
/// public key). A private key makes its `EVP_PKEY` once, when it is made (which derives the
/// public key: a scalar multiplication, as costly as a signature), and every copy shares it; a
/// public key makes one for each verification.
public enum Ed25519 {
    public static let keySize = 32
    public static let signatureSize = 64

    /// A private signing key: the 32-byte seed. Never logged (its description is redacted).
    public struct PrivateKey: Sendable, CustomStringConvertible {
        public let seed: [UInt8]
        /// The key as OpenSSL holds it, and its public half, made once: a county signs every
        /// receipt and stream answer with the same key, and made it again for each of them.
        private let made: Made

        /// The `EVP_PKEY`, freed with the last copy of the key. OpenSSL 3 lets threads sign
        /// with one key at once (each with its own `EVP_MD_CTX`); it is never changed after.
        private final class Made: @unchecked Sendable {
            let pkey: OpaquePointer
            let publicRaw: [UInt8]
            init(_ pkey: OpaquePointer, publicRaw: [UInt8]) { (self.pkey, self.publicRaw) = (pkey, publicRaw) }
            deinit { EVP_PKEY_free(pkey) }
        }

        public init(seed: [UInt8]) throws(OpenSSLError) {
            guard seed.count == keySize else {
                throw OpenSSLError(operation: "Ed25519 key", queue: ["seed must be 32 bytes, got \(seed.count)"])
            }
            let pkey = try Ed25519.privatePKey(seed)
            var raw = [UInt8](repeating: 0, count: keySize)
            var length = keySize
            guard EVP_PKEY_get_raw_public_key(pkey, &raw, &length) == 1, length == keySize else {
                EVP_PKEY_free(pkey)
                throw .drain("EVP_PKEY_get_raw_public_key")
            }
            self.seed = seed
            made = Made(pkey, publicRaw: raw)
        }

        /// A new key from OpenSSL's CSPRNG.
        public static func generate() throws(OpenSSLError) -> PrivateKey {
            var seed = [UInt8](repeating: 0, count: keySize)
            guard RAND_bytes(&seed, Int32(keySize)) == 1 else { throw .drain("RAND_bytes") }
            return try PrivateKey(seed: seed)
        }

        /// Throws nothing since the key derives it when it is made; `throws` is kept for its callers.
        public var publicKey: PublicKey {
            get throws(OpenSSLError) { PublicKey(raw: made.publicRaw) }
        }

        /// Signs exactly `message`'s bytes (Ed25519 hashes internally; no digest is chosen).
        public func sign(_ message: [UInt8]) throws(OpenSSLError) -> [UInt8] {
            let pkey = made.pkey
            defer { withExtendedLifetime(made) {} }
            guard let ctx = EVP_MD_CTX_new() else { throw .drain("EVP_MD_CTX_new") }
            defer { EVP_MD_CTX_free(ctx) }
            guard EVP_DigestSignInit(ctx, nil, nil, nil, pkey) == 1 else { throw .drain("EVP_DigestSignInit") }
            var signature = [UInt8](repeating: 0, count: signatureSize)
            var length = signatureSize
            let ok = message.withUnsafeBufferPointer { m in
                EVP_DigestSign(ctx, &signature, &length, m.baseAddress, m.count)
            }
            guard ok == 1, length == signatureSize else { throw .drain("EVP_DigestSign") }
            return signature
        }

        public var description: String { "Ed25519.PrivateKey(redacted)" }
    }

    /// A public key: 32 bytes. Its key id is the first 16 hex digits of its SHA-256.
    public struct PublicKey: Sendable, Hashable, CustomStringConvertible {
        public let raw: [UInt8]

        public init(raw: [UInt8]) { self.raw = raw }

        public var keyID: String { String(Hex.encode(SHA256.hash(raw)).prefix(16)) }

        /// Whether `signature` is this key's signature of exactly `message`.
        public func verify(_ signature: [UInt8], of message: [UInt8]) -> Bool {
            guard raw.count == keySize, signature.count == signatureSize else { return false }
            guard let pkey = EVP_PKEY_new_raw_public_key_ex(nil, "ED25519", nil, raw, raw.count) else {
                _ = OpenSSLError.drain("EVP_PKEY_new_raw_public_key_ex")
                return false
            }
            defer { EVP_PKEY_free(pkey) }
            guard let ctx = EVP_MD_CTX_new() else { return false }
            defer { EVP_MD_CTX_free(ctx) }
            guard EVP_DigestVerifyInit(ctx, nil, nil, nil, pkey) == 1 else {
                _ = OpenSSLError.drain("EVP_DigestVerifyInit")
                return false
            }
            let ok = message.withUnsafeBufferPointer { m in
                EVP_DigestVerify(ctx, signature, signature.count, m.baseAddress, m.count)
            }
            if ok != 1 { _ = OpenSSLError.drain("EVP_DigestVerify") }   // a bad signature queues an error
            return ok == 1
        }

        public var description: String { "Ed25519.PublicKey(\(keyID))" }
    }

    static func privatePKey(_ seed: [UInt8]) throws(OpenSSLError) -> OpaquePointer {
        guard let pkey = EVP_PKEY_new_raw_private_key_ex(nil, "ED25519", nil, seed, seed.count) else {
            throw .drain("EVP_PKEY_new_raw_private_key_ex")
        }
        return pkey
    }
}
