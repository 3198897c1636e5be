import Foundation
import YKTCore
import YKTCrypto
#if canImport(Glibc)
import Glibc
#endif

/// The files of the published site the public server may serve.
///
/// TEMPORARY (lead: switch over at merge). The site helper writes
/// `SiteManifest.verify(siteFolder:storePath:publicKey:) throws -> SiteManifest`, which checks
/// the signed manifest (every file's SHA-256, the store's hash) and lists `.files`. Until that
/// lands in this branch, `files(…)` below lists the regular files under the site folder itself
/// and checks only what it can without a manifest: no symbolic link anywhere in the tree, only
/// regular files and folders, the store not inside the site. Its body is to become
/// `try SiteManifest.verify(siteFolder: siteFolder, storePath: storePath, publicKey: publicKey).files`
/// (keeping the store-outside-the-site check), with no other change to the server.
enum PublicServerSite {
    /// The most files a site may hold (a county's site has some thousands).
    static let maximumFiles = 1_000_000

    /// The relative paths (`index.html`, `payments/450223101/2026-03.csv`) of every file the
    /// server may serve from `siteFolder`.
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
        var files: [String] = []
        try walk(siteFolder, relative: "", into: &files)
        return files.sorted()
    }

    private static func walk(_ folder: String, relative: String, into files: inout [String]) throws {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw YKTError(.publicServe, "网站目录不能读取", at: SourceLocation(file: folder), hint: "检查目录权限")
        }
        for name in names.sorted() {
            let path = (folder as NSString).appendingPathComponent(name)
            let rel = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else {
                throw YKTError(.publicServe, "网站文件不能读取（\(String(cString: strerror(errno)))）", at: SourceLocation(file: path))
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                try walk(path, relative: rel, into: &files)
            case S_IFREG:
                files.append(rel)
                if files.count > maximumFiles {
                    throw YKTError(.publicServe, "网站目录的文件超过 \(maximumFiles) 个", at: SourceLocation(file: folder))
                }
            case S_IFLNK:
                throw YKTError(.publicServe, "网站目录中有符号链接，不能提供", at: SourceLocation(file: path),
                               hint: "网站目录只能有 ykt publish 写出的普通文件；删除这个链接，或重新发布")
            default:
                throw YKTError(.publicServe, "网站目录中有特殊文件（不是普通文件或目录）", at: SourceLocation(file: path),
                               hint: "删除它，或重新发布")
            }
        }
    }
}
