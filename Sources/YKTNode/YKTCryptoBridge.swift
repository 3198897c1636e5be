import YKTCrypto

/// Hashing for the township module (file fingerprints, proofs).
package enum YKTCryptoBridge {
    package static func sha256Hex(_ bytes: [UInt8]) -> String { Hex.encode(SHA256.hash(bytes)) }
}
