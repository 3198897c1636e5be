import Foundation
import YKTCore
import YKTCrypto

/// The signed manifest of a published site (placeholder signature for the server helper; the real checks follow).
public struct SiteManifest: Sendable, Codable { public var files: [String]; public static func verify(siteFolder: String, storePath: String?, publicKey: Ed25519.PublicKey?) throws -> SiteManifest { throw YKTError(.internalError, "manifest checks not written yet") } }
