import Foundation
import YKTCore
import YKTCrypto
#if canImport(Glibc)
import Glibc
#endif

/// The files of the published site the public server may serve: those the county's signed
/// manifest lists, checked at start (signature, every file's size and SHA-256, no file more,
/// no symbolic link, the store's SHA-256), and only when the store lies outside the site.
enum PublicServerSite {
    /// The relative paths (`index.html`, `payments/450223101/2026-03.csv`) of every file the
    /// server may serve from `siteFolder`, plus the manifest and its signature (a mirror's
    /// proof, served beside the site).
    static func files(siteFolder: String, storePath: String, publicKey: Ed25519.PublicKey?) throws -> [String] {
        var st = stat()
        guard lstat(siteFolder, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw YKTError(.publicServe, "网站目录不存在，或不是目录（符号链接也不行）", at: SourceLocation(file: siteFolder),
                           hint: "用 --site 指向 ykt publish --out 目录 写出的 site 目录")
        }
        let site = URL(fileURLWithPath: siteFolder).standardizedFileURL.resolvingSymlinksInPath().path
        let store = URL(fileURLWithPath: storePath).standardizedFileURL.resolvingSymlinksInPath().path
        if store.hasPrefix(site + "/") {
            throw YKTError(.publicServe, "查询库在网站目录之内，会被当作网页文件下载", at: SourceLocation(file: storePath),
                           hint: "查询库应在网站目录之外（ykt publish 写在 site 旁边的 query.store）")
        }
        let manifest = try SiteManifest.verify(siteFolder: siteFolder, storePath: storePath, publicKey: publicKey)
        return (manifest.files + [SiteManifest.fileName, SiteManifest.signatureFileName]).sorted()
    }
}
