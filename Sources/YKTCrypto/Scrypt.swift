internal import COpenSSL

/// scrypt (RFC 7914) through OpenSSL 3's EVP_KDF, for operators' passwords.
///
/// The cost is stored beside every hash (`Parameters`), so it can be raised later without
/// invalidating old passwords. The default, N = 2^15, r = 8, p = 1, needs 32 MiB and about a
/// tenth of a second on a modest office machine: slow enough to make guessing expensive, quick
/// enough for a login or a signed decision (docs/operators.md).
public enum Scrypt {
    public struct Parameters: Sendable, Hashable, Codable {
        public var logN: Int
        public var r: Int
        public var p: Int

        public init(logN: Int, r: Int, p: Int) {
            self.logN = logN
            self.r = r
            self.p = p
        }

        public static let standard = Parameters(logN: 15, r: 8, p: 1)

        /// Memory scrypt needs: 128 · r · N bytes (plus a little).
        var memory: UInt64 { 128 * UInt64(r) * (UInt64(1) << UInt64(logN)) }

        /// Within the range this program accepts for a password (from a stored hash, which may be edited).
        public var isSane: Bool { (10...20).contains(logN) && computable }

        /// Within what `derive` computes at all: a cheaper cost is allowed for lookups that
        /// must be fast in bulk (the public query store, docs/public.md).
        public var computable: Bool { (1...20).contains(logN) && (1...32).contains(r) && (1...16).contains(p) }
    }

    /// Derives `length` bytes from `password` and `salt`.
    public static func derive(password: [UInt8], salt: [UInt8], parameters: Parameters = .standard,
                              length: Int) throws(OpenSSLError) -> [UInt8] {
        guard parameters.computable, length > 0 else {
            throw OpenSSLError(operation: "scrypt", queue: ["parameters out of range"])
        }
        var out = [UInt8](repeating: 0, count: length)
        let ok = ykt_scrypt(password, password.count, salt, salt.count, UInt64(1) << UInt64(parameters.logN),
                            UInt32(parameters.r), UInt32(parameters.p), parameters.memory * 2 + (1 << 20),
                            &out, length)
        guard ok == 1 else { throw .drain("EVP_KDF_derive(SCRYPT)") }
        return out
    }

    /// `count` bytes from OpenSSL's CSPRNG (salts, nonces, session tokens).
    public static func randomBytes(_ count: Int) throws(OpenSSLError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { throw .drain("RAND_bytes") }
        return bytes
    }
}

/// AES-256-GCM through OpenSSL 3: a 12-byte random nonce and a 16-byte tag. Used to keep an
/// operator's signing key encrypted under a key derived from their password.
public enum AESGCM {
    public static let keySize = 32
    public static let nonceSize = 12
    public static let tagSize = 16

    public struct Sealed: Sendable, Hashable {
        public var nonce: [UInt8]
        public var ciphertext: [UInt8]
        public var tag: [UInt8]

        public init(nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
            self.nonce = nonce
            self.ciphertext = ciphertext
            self.tag = tag
        }
    }

    public static func seal(_ plaintext: [UInt8], key: [UInt8], associated: [UInt8] = []) throws(OpenSSLError) -> Sealed {
        guard key.count == keySize else { throw OpenSSLError(operation: "AES-256-GCM", queue: ["key must be 32 bytes"]) }
        let nonce = try Scrypt.randomBytes(nonceSize)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .drain("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, nonce, nil) == 1 else { throw .drain("EVP_EncryptInit_ex2") }
        var length: Int32 = 0
        if !associated.isEmpty {
            guard EVP_EncryptUpdate(ctx, nil, &length, associated, Int32(associated.count)) == 1 else {
                throw .drain("EVP_EncryptUpdate(aad)")
            }
        }
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        guard EVP_EncryptUpdate(ctx, &out, &length, plaintext, Int32(plaintext.count)) == 1 else {
            throw .drain("EVP_EncryptUpdate")
        }
        var total = Int(length)
        let ok = out.withUnsafeMutableBufferPointer { b in EVP_EncryptFinal_ex(ctx, b.baseAddress! + total, &length) }
        guard ok == 1 else { throw .drain("EVP_EncryptFinal_ex") }
        total += Int(length)
        var tag = [UInt8](repeating: 0, count: tagSize)
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tagSize), &tag) == 1 else {
            throw .drain("EVP_CTRL_GCM_GET_TAG")
        }
        return Sealed(nonce: nonce, ciphertext: Array(out.prefix(total)), tag: tag)
    }

    /// The plaintext, or nil when the key is wrong or anything was altered (the tag fails).
    public static func open(_ sealed: Sealed, key: [UInt8], associated: [UInt8] = []) -> [UInt8]? {
        guard key.count == keySize, sealed.nonce.count == nonceSize, sealed.tag.count == tagSize,
              let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var length: Int32 = 0
        guard EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key, sealed.nonce, nil) == 1 else {
            _ = OpenSSLError.drain("EVP_DecryptInit_ex2")
            return nil
        }
        if !associated.isEmpty, EVP_DecryptUpdate(ctx, nil, &length, associated, Int32(associated.count)) != 1 {
            _ = OpenSSLError.drain("EVP_DecryptUpdate(aad)")
            return nil
        }
        var out = [UInt8](repeating: 0, count: sealed.ciphertext.count + 16)
        guard EVP_DecryptUpdate(ctx, &out, &length, sealed.ciphertext, Int32(sealed.ciphertext.count)) == 1 else {
            _ = OpenSSLError.drain("EVP_DecryptUpdate")
            return nil
        }
        var total = Int(length)
        var tag = sealed.tag
        guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagSize), &tag) == 1 else {
            _ = OpenSSLError.drain("EVP_CTRL_GCM_SET_TAG")
            return nil
        }
        let ok = out.withUnsafeMutableBufferPointer { b in EVP_DecryptFinal_ex(ctx, b.baseAddress! + total, &length) }
        guard ok == 1 else {
            _ = OpenSSLError.drain("EVP_DecryptFinal_ex")
            return nil
        }
        total += Int(length)
        return Array(out.prefix(total))
    }
}
