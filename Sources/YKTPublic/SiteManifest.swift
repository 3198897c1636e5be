import Foundation
import YKTCore
import YKTCrypto
import YKTNode

/// The signed list of what a publish wrote (`site/manifest.json`, `site/manifest.sig`): every
/// file under `site/` with its size and SHA-256, the query store's name, SHA-256 and entry
/// count, the county, the publish time and the signing key. `manifest.sig` is the county node
/// key's Ed25519 signature over manifest.json's exact bytes, in hex. Any mirror, and the public
/// server at start, proves with `verify` that what it holds is what the county signed.
public struct SiteManifest: Sendable, Codable, Equatable {
    public static let fileName = "manifest.json"
    public static let signatureFileName = "manifest.sig"
    public static let format = "ykt-site-manifest-1"
    /// manifest.json is read whole; a larger one is not ours.
    static let maximumBytes = 64 << 20

    public struct File: Sendable, Codable, Equatable {
        public var path: String
        public var bytes: Int64
        public var sha256: String
    }

    public struct Store: Sendable, Codable, Equatable {
        public var name: String
        public var sha256: String
        public var bytes: Int64
        public var entries: Int
        public var records: Int

        public init(name: String, sha256: String, bytes: Int64, entries: Int, records: Int) {
            self.name = name
            self.sha256 = sha256
            self.bytes = bytes
            self.entries = entries
            self.records = records
        }
    }

    public var format: String
    public var county: String
    public var countyCode: String
    public var publishedAt: String
    /// The signer: its key id (first 16 hex digits of the public key's SHA-256) and public key (hex).
    public var keyID: String
    public var publicKey: String
    public var entries: [File]
    public var store: Store

    enum CodingKeys: String, CodingKey {
        case format, county, countyCode, publishedAt, keyID, publicKey, store
        case entries = "files"
    }

    /// The listed files, relative to the site folder (`index.html`, `policy/index.html`, …).
    public var files: [String] { entries.map(\.path) }

    /// The key's fingerprint as people compare it: the key id (as `ykt key show` prints it).
    public var fingerprint: String { keyID }

    /// A manifest of every regular file now under `siteFolder` (but the manifest's own two).
    public static func make(siteFolder: String, county: String, countyCode: String, publishedAt: String, store: Store,
                            publicKey: Ed25519.PublicKey) throws -> SiteManifest {
        let found = try walk(siteFolder)
        if let link = found.links.first {
            throw YKTError(.siteManifest, "站点目录里有符号链接：\(link)", at: SourceLocation(file: link), hint: "站点只由 ykt publish 写入")
        }
        var entries: [File] = []
        for path in found.files.sorted() where path != fileName && path != signatureFileName {
            let full = NSStringPath(siteFolder).appending(path)
            entries.append(File(path: path, bytes: try size(full), sha256: try digest(full)))
        }
        return SiteManifest(format: format, county: county, countyCode: countyCode, publishedAt: publishedAt, keyID: publicKey.keyID,
                            publicKey: Hex.encode(publicKey.raw), entries: entries, store: store)
    }

    /// manifest.json's bytes: JSON with sorted keys, one file per line, ending with a line break.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0A]
    }

    /// Writes manifest.json and manifest.sig (the signature of manifest.json's bytes, hex) into `siteFolder`.
    public func write(siteFolder: String, sign: ([UInt8]) throws -> [UInt8]) throws {
        let bytes = try encoded()
        let signature = try sign(bytes)
        try FileOutput.writeAtomically(bytes: bytes, to: NSStringPath(siteFolder).appending(Self.fileName), mode: 0o644)
        try FileOutput.writeAtomically(Hex.encode(signature) + "\n", to: NSStringPath(siteFolder).appending(Self.signatureFileName), mode: 0o644)
    }

    // MARK: Verifying

    /// Checks a published site: the signature of manifest.json (with `publicKey` when given,
    /// which must then be the signer; otherwise with the key the manifest names, whose
    /// fingerprint the caller shows to be compared with the county's), every listed file
    /// present, a regular file (no symbolic link anywhere), of the listed size and SHA-256, no
    /// file that is not listed, and, when `storePath` is given, the store's SHA-256. The first
    /// problem is thrown as `YKT-SITE-MANIFEST` naming the file. `siteFolder` may also be the
    /// publish folder that holds `site/`.
    public static func verify(siteFolder given: String, storePath: String?, publicKey: Ed25519.PublicKey?) throws -> SiteManifest {
        var siteFolder = given
        if !isRegular(NSStringPath(siteFolder).appending(fileName)), isDirectory(NSStringPath(given).appending("site")) {
            siteFolder = NSStringPath(given).appending("site")
        }
        func fail(_ file: String, _ message: String, hint: String = "从县财政重新取得完整的发布目录（ykt publish 的输出），或由县财政重新发布") -> YKTError {
            YKTError(.siteManifest, message, at: SourceLocation(file: file), hint: hint)
        }
        let manifestPath = NSStringPath(siteFolder).appending(fileName)
        let signaturePath = NSStringPath(siteFolder).appending(signatureFileName)
        guard isRegular(manifestPath) else {
            throw fail(manifestPath, "找不到站点清单 \(fileName)，或它不是普通文件", hint: "给出 ykt publish 的输出目录或其中的 site 目录")
        }
        guard isRegular(signaturePath) else { throw fail(signaturePath, "找不到站点清单的签名 \(signatureFileName)，或它不是普通文件") }
        guard try size(manifestPath) <= maximumBytes, let bytes = FileManager.default.contents(atPath: manifestPath).map(Array.init) else {
            throw fail(manifestPath, "站点清单 \(fileName) 读不出或过大")
        }
        let sigText = String(decoding: FileManager.default.contents(atPath: signaturePath)?.prefix(1024) ?? Data(), as: UTF8.self).trimmed
        guard let signature = Hex.decode(sigText), signature.count == Ed25519.signatureSize else {
            throw fail(signaturePath, "签名文件 \(signatureFileName) 应为 128 位十六进制的 Ed25519 签名")
        }
        let manifest: SiteManifest
        do { manifest = try JSONDecoder().decode(SiteManifest.self, from: Data(bytes)) } catch {
            throw fail(manifestPath, "站点清单 \(fileName) 的格式不对")
        }
        guard manifest.format == format else { throw fail(manifestPath, "站点清单的格式版本是「\(manifest.format.prefix(40))」，本程序认识 \(format)") }
        guard let raw = Hex.decode(manifest.publicKey), raw.count == Ed25519.keySize else {
            throw fail(manifestPath, "站点清单里的签名公钥格式不对")
        }
        let signer = Ed25519.PublicKey(raw: raw)
        guard signer.keyID == manifest.keyID else { throw fail(manifestPath, "站点清单里的密钥编号与公钥不符") }
        if let publicKey, publicKey != signer {
            throw fail(signaturePath, "站点由密钥 \(signer.keyID) 签名，不是给定的县财政公钥 \(publicKey.keyID)",
                       hint: "向县财政核对公钥（县级节点 ykt key show）；不是县财政签名的站点不可信")
        }
        let key = publicKey ?? signer
        guard key.verify(signature, of: bytes) else {
            throw fail(signaturePath, "站点清单 \(fileName) 的签名验证不通过：清单或签名被改动过")
        }
        // Every listed file, exactly as signed.
        var listed = Set<String>()
        for f in manifest.entries {
            guard safe(f.path), f.path != fileName, f.path != signatureFileName, listed.insert(f.path).inserted else {
                throw fail(manifestPath, "站点清单列出的文件名不合规：\(f.path.prefix(200))")
            }
            let full = NSStringPath(siteFolder).appending(f.path)
            if let bad = firstNonDirectory(siteFolder, f.path) {
                throw fail(bad, "站点里的 \(f.path) 所在目录不是普通目录（可能是符号链接）")
            }
            var info = stat()
            guard lstat(full, &info) == 0 else { throw fail(full, "站点缺少文件 \(f.path)") }
            guard (info.st_mode & S_IFMT) == S_IFREG else { throw fail(full, "站点里的 \(f.path) 不是普通文件（可能是符号链接）") }
            guard Int64(info.st_size) == f.bytes else {
                throw fail(full, "站点里的 \(f.path) 大小是 \(info.st_size) 字节，清单记的是 \(f.bytes) 字节：文件被改动过")
            }
            guard try digest(full) == f.sha256 else { throw fail(full, "站点里的 \(f.path) 的 SHA-256 与清单不符：文件被改动过") }
        }
        // Nothing else: no unlisted file, no link.
        let found = try walk(siteFolder)
        if let link = found.links.first { throw fail(NSStringPath(siteFolder).appending(link), "站点里有清单之外的符号链接 \(link)") }
        for path in found.files.sorted() where path != fileName && path != signatureFileName && !listed.contains(path) {
            throw fail(NSStringPath(siteFolder).appending(path), "站点里有清单没有列出的文件 \(path)", hint: "删去该文件，或由县财政重新发布")
        }
        if let storePath {
            var info = stat()
            guard lstat(storePath, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
                throw fail(storePath, "找不到查询库文件，或它不是普通文件（可能是符号链接）")
            }
            guard Int64(info.st_size) == manifest.store.bytes, try digest(storePath) == manifest.store.sha256 else {
                throw fail(storePath, "查询库文件的 SHA-256 与站点清单记的（\(manifest.store.sha256.prefix(16))…）不符：不是这次发布的查询库，或被改动过")
            }
        }
        return manifest
    }

    // MARK: Files

    /// A relative path of plain names: no empty, `.` or `..` part, no leading slash, no control character.
    static func safe(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), path.utf8.count <= 1024 else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { part in
            !part.isEmpty && part != "." && part != ".." && !part.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
        }
    }

    /// The first folder on the way to `relative` under `root` that is not a real directory.
    static func firstNonDirectory(_ root: String, _ relative: String) -> String? {
        var path = root
        for part in relative.split(separator: "/").dropLast() {
            path = NSStringPath(path).appending(String(part))
            var info = stat()
            if lstat(path, &info) != 0 || (info.st_mode & S_IFMT) != S_IFDIR { return path }
        }
        return nil
    }

    static func isRegular(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func size(_ path: String) throws -> Int64 {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw YKTError(.siteManifest, "读不到文件（\(String(cString: strerror(errno)))）", at: SourceLocation(file: path))
        }
        return Int64(info.st_size)
    }

    static func digest(_ path: String) throws -> String {
        do { return try SHA256.hex(ofFile: path) } catch {
            throw YKTError(.siteManifest, "读不出文件：\(error)", at: SourceLocation(file: path), hint: "检查文件权限")
        }
    }

    /// Every regular file (relative paths) and every symbolic link or other non-file under
    /// `root`, found without following links.
    static func walk(_ root: String) throws -> (files: [String], links: [String]) {
        var files: [String] = [], links: [String] = []
        func visit(_ relative: String) throws {
            let dir = relative.isEmpty ? root : NSStringPath(root).appending(relative)
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
                throw YKTError(.siteManifest, "读不出目录：\(error.localizedDescription)", at: SourceLocation(file: dir))
            }
            for name in names.sorted() {
                let rel = relative.isEmpty ? name : relative + "/" + name
                var info = stat()
                guard lstat(NSStringPath(root).appending(rel), &info) == 0 else { continue }
                switch info.st_mode & S_IFMT {
                case S_IFREG: files.append(rel)
                case S_IFDIR: try visit(rel)
                default: links.append(rel)
                }
            }
        }
        try visit("")
        return (files, links)
    }
}
