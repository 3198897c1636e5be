internal import COpenSSL

/// Ed25519 signatures through OpenSSL 3. Keys are small `Sendable` values (the 32-byte seed or
/// public key); the `EVP_PKEY` lives only for one operation, freed by `defer`.
public enum Ed25519 {
    public static let keySize = 32
    public static let signatureSize = 64

    /// A private signing key: the 32-byte seed. Never logged (its description is redacted).
    public struct PrivateKey: Sendable, CustomStringConvertible {
        public let seed: [UInt8]

        public init(seed: [UInt8]) throws(OpenSSLError) {
            guard seed.count == keySize else {
                throw OpenSSLError(operation: "Ed25519 key", queue: ["seed must be 32 bytes, got \(seed.count)"])
            }
            self.seed = seed
        }

        /// A new key from OpenSSL's CSPRNG.
        public static func generate() throws(OpenSSLError) -> PrivateKey {
            var seed = [UInt8](repeating: 0, count: keySize)
            guard RAND_bytes(&seed, Int32(keySize)) == 1 else { throw .drain("RAND_bytes") }
            return try PrivateKey(seed: seed)
        }

        public var publicKey: PublicKey {
            get throws(OpenSSLError) {
                let pkey = try Ed25519.privatePKey(seed)
                defer { EVP_PKEY_free(pkey) }
                var raw = [UInt8](repeating: 0, count: keySize)
                var length = keySize
                guard EVP_PKEY_get_raw_public_key(pkey, &raw, &length) == 1, length == keySize else {
                    throw .drain("EVP_PKEY_get_raw_public_key")
                }
                return PublicKey(raw: raw)
            }
        }

        /// Signs exactly `message`'s bytes (Ed25519 hashes internally; no digest is chosen).
        public func sign(_ message: [UInt8]) throws(OpenSSLError) -> [UInt8] {
            let pkey = try Ed25519.privatePKey(seed)
            defer { EVP_PKEY_free(pkey) }
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
