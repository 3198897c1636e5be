import Foundation
import YKTCore
import YKTCrypto
import YKTStore

/// How a resident's ID and name are written before they are hashed, so that what they type on
/// the public page finds what the county published: the ID trimmed and upper-cased (a final
/// `x` is `X`), the name trimmed, in Unicode NFC, with no whitespace inside (`张 三` is `张三`).
public enum QueryKey {
    /// The normalised pair, or nil when the ID is not 17 digits and a digit or `X`, or the
    /// name is empty or longer than 50 characters.
    public static func normalise(id: String, name: String) -> (id: String, name: String)? {
        let id = id.trimmingCharacters(in: .whitespacesAndNewlines).uppercased()
        guard id.utf8.count == 18, id.utf8.prefix(17).allSatisfy({ (0x30...0x39).contains($0) }),
              let last = id.utf8.last, (0x30...0x39).contains(last) || last == UInt8(ascii: "X") else { return nil }
        let name = String(name.precomposedStringWithCanonicalMapping.unicodeScalars.filter {
            !CharacterSet.whitespacesAndNewlines.contains($0) && !CharacterSet.controlCharacters.contains($0)
        })
        guard !name.isEmpty, name.count <= 50 else { return nil }
        return (id, name)
    }
}

/// The file the public query page answers from, written by `ykt publish` and read by
/// `ykt public serve`. It holds no clear personal data:
///
/// - an entry's key is the first 16 bytes of scrypt(ID ‖ 0x1F ‖ name, salt), with one random
///   salt per store and a deliberately slow cost (`Parameters.standard`); the next 32 bytes are
///   an AES-256-GCM key that seals the entry's records (masked already), with the key as
///   associated data. Without the ID *and* the name nothing can be found or read: entries
///   cannot be listed by person, and a guess costs one scrypt derivation.
/// - the metadata (county, publish time, salt, cost, counts) is in clear.
///
/// The file is SQLite, written once under a temporary name and renamed, then only read (opened
/// read-only, so its bytes, which the site's signed manifest names by SHA-256, never change).
/// Format and parameters: docs/public.md.
public final class QueryStore: @unchecked Sendable {
    // Safe: `db` is only used under `lock`; everything else is immutable after `init`.

    /// The scrypt cost of one lookup. `standard` (N = 2^7, r = 8, p = 1: 128 KiB, about half a
    /// millisecond) builds a store of 1,000,000 residents in about four minutes on two cores,
    /// and caps what the file is worth to someone who steals it: one guess of an ID and a name
    /// costs the same half millisecond (docs/public.md weighs this).
    public struct Parameters: Sendable, Hashable, Codable {
        public var logN: Int
        public var r: Int
        public var p: Int

        public init(logN: Int, r: Int, p: Int) {
            self.logN = logN
            self.r = r
            self.p = p
        }

        public static let standard = Parameters(logN: 7, r: 8, p: 1)

        var scrypt: Scrypt.Parameters { Scrypt.Parameters(logN: logN, r: r, p: p) }
    }

    /// What a build wrote.
    public struct Summary: Sendable, Codable {
        public var entries: Int
        public var records: Int
        /// SHA-256 of the finished file, hex.
        public var sha256: String
        public var bytes: Int64
        public var seconds: Double
    }

    static let format = "ykt-query-store-1"
    static let tagSize = 16

    public let path: String
    public let county: String
    public let publishedAt: String
    public let entryCount: Int
    public let parameters: Parameters
    private let salt: [UInt8]
    private let db: Database
    private let lock = NSLock()
    private let select: Statement
    /// Opened on a miss, so that a miss does the same work as a hit.
    private let decoy: AESGCM.Sealed

    // MARK: Building

    /// Builds the store at `path`, which must not exist. `entries` is called once and hands
    /// each (ID, name, records) to `add`; a pair must be added only once (the caller groups by
    /// resident and name). The file appears at `path` only when it is complete.
    public static func build(path: String, county: String, publishedAt: String, parameters: Parameters = .standard,
                             entries: (_ add: (_ id: String, _ name: String, _ records: [PublicRecord]) throws -> Void) throws -> Void)
        throws -> Summary {
        let started = Date()
        guard parameters.scrypt.computable else {
            throw YKTError(.publicStore, "查询库的 scrypt 参数超出范围：logN=\(parameters.logN) r=\(parameters.r) p=\(parameters.p)")
        }
        guard !FileManager.default.fileExists(atPath: path) else {
            throw YKTError(.publicStore, "查询库文件已存在：\(path)", hint: "换一个输出目录，或先移走旧文件")
        }
        let temporary = path + ".part-" + Hex.encode(try Scrypt.randomBytes(6))
        defer { unlink(temporary); unlink(temporary + "-journal") }
        let salt = try Scrypt.randomBytes(16)
        var entryCount = 0, recordCount = 0
        do {
            let db = try Database(path: temporary)
            try db.execute("""
                PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
                CREATE TABLE store_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
                CREATE TABLE entry(tag BLOB PRIMARY KEY, sealed BLOB NOT NULL) WITHOUT ROWID;
                """)
            let insert = try db.statement("INSERT INTO entry(tag, sealed) VALUES (?1, ?2)")
            var pending: [(password: [UInt8], plain: [UInt8])] = []
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            func flush() throws {
                let batch = pending
                pending.removeAll(keepingCapacity: true)
                let derived: [Result<[UInt8], OpenSSLError>] = batch.parallelMap(minimumChunk: 64) { item in
                    Result { () throws(OpenSSLError) -> [UInt8] in
                        try Scrypt.derive(password: item.password, salt: salt, parameters: parameters.scrypt, length: 48)
                    }
                }
                try db.transaction {
                    for (item, result) in zip(batch, derived) {
                        let bytes = try result.get()
                        let tag = Array(bytes[0..<tagSize])
                        let sealed = try AESGCM.seal(item.plain, key: Array(bytes[tagSize..<(tagSize + 32)]), associated: tag)
                        try insert.bind([DatabaseValue.blob(tag), DatabaseValue.blob(sealed.nonce + sealed.tag + sealed.ciphertext)])
                        do {
                            try insert.step()
                        } catch let error as DatabaseError where error.resultCode == 19 {
                            throw YKTError(.internalError, "查询库里同一身份证号和姓名出现了两次", hint: "这是程序错误，请报告")
                        }
                    }
                }
            }
            try entries { id, name, records in
                guard let key = QueryKey.normalise(id: id, name: name) else {
                    throw YKTError(.publicStore, "身份证号或姓名不能写入查询库：\(Masking.residentID(id))")
                }
                pending.append((Array(key.id.utf8) + [0x1F] + Array(key.name.utf8), Array(try encoder.encode(records))))
                entryCount += 1
                recordCount += records.count
                if pending.count >= 4_096 { try flush() }
            }
            if !pending.isEmpty { try flush() }
            let meta: [(String, String)] = [
                ("format", format), ("county", county), ("published_at", publishedAt),
                ("salt", Hex.encode(salt)),
                ("log_n", String(parameters.logN)), ("r", String(parameters.r)), ("p", String(parameters.p)),
                ("entries", String(entryCount)), ("records", String(recordCount)),
            ]
            try db.transaction {
                for (k, v) in meta { try db.run("INSERT INTO store_meta(key, value) VALUES (?1, ?2)", k, v) }
            }
            try db.execute("PRAGMA journal_mode=DELETE;")
        }
        try syncFile(temporary)
        guard link(temporary, path) == 0 else {
            throw YKTError(.publicStore, "不能写入查询库文件 \(path)：\(String(cString: strerror(errno)))",
                           hint: errno == EEXIST ? "换一个输出目录，或先移走旧文件" : "检查目录是否存在、是否可写")
        }
        let digest = try SHA256.hex(ofFile: path)
        var info = stat()
        let size = stat(path, &info) == 0 ? Int64(info.st_size) : 0
        return Summary(entries: entryCount, records: recordCount, sha256: digest, bytes: size,
                       seconds: Date().timeIntervalSince(started))
    }

    private static func syncFile(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw YKTError(.publicStore, "不能打开 \(path)：\(String(cString: strerror(errno)))") }
        defer { close(fd) }
        fsync(fd)
    }

    // MARK: Reading

    /// Opens a store read-only. A file that is not a store, or of another format, is a clear
    /// `YKT-PUBLIC-STORE` error.
    public init(path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw YKTError(.publicStore, "找不到公众查询库文件，或它不是普通文件：\(path)",
                           hint: "用 ykt publish --out 目录 生成，查询库在该目录下的 query.store")
        }
        self.path = path
        do {
            db = try Database(path: path, readOnly: true)
            var meta: [String: String] = [:]
            try db.forEach("SELECT key, value FROM store_meta") { meta[$0.text(0)] = $0.text(1) }
            guard meta["format"] == Self.format,
                  let logN = meta["log_n"].flatMap(Int.init), let r = meta["r"].flatMap(Int.init), let p = meta["p"].flatMap(Int.init),
                  let saltHex = meta["salt"], let salt = Hex.decode(saltHex), salt.count == 16,
                  let entries = meta["entries"].flatMap(Int.init) else {
                throw YKTError(.publicStore, "\(path) 不是本程序写的公众查询库（格式 \(meta["format"] ?? "无")）",
                               hint: "用 ykt publish --out 目录 重新生成")
            }
            parameters = Parameters(logN: logN, r: r, p: p)
            guard parameters.scrypt.computable else {
                throw YKTError(.publicStore, "\(path) 的 scrypt 参数超出范围", hint: "用 ykt publish --out 目录 重新生成")
            }
            self.salt = salt
            county = meta["county"] ?? ""
            publishedAt = meta["published_at"] ?? ""
            entryCount = entries
            select = try db.statement("SELECT sealed FROM entry WHERE tag = ?1")
        } catch let error as DatabaseError {
            throw YKTError(.publicStore, "\(path) 不是可读的公众查询库：\(error.message)", hint: "用 ykt publish --out 目录 重新生成")
        }
        decoy = try AESGCM.seal(Array(repeating: 0x20, count: 256), key: Array(repeating: 0, count: 32))
    }

    /// The records published for this ID and name, or nil when there are none (or the pair is
    /// not well formed). A hit and a miss cost the same scrypt derivation, one indexed read and
    /// one AES-GCM open, so their timing does not tell them apart. Safe from many threads.
    public func lookup(id: String, name: String) throws -> [PublicRecord]? {
        let key = QueryKey.normalise(id: id, name: name)
        let password = key.map { Array($0.id.utf8) + [0x1F] + Array($0.name.utf8) } ?? Array(repeating: 0x30, count: 24)
        let derived = try Scrypt.derive(password: password, salt: salt, parameters: parameters.scrypt, length: 48)
        let tag = Array(derived[0..<Self.tagSize])
        let aesKey = Array(derived[Self.tagSize..<(Self.tagSize + 32)])
        let stored: [UInt8]? = try lock.withLock {
            var found: [UInt8]?
            try select.forEach([DatabaseValue.blob(tag)]) { found = $0.blob(0) }
            return found
        }
        guard key != nil, let stored, stored.count >= AESGCM.nonceSize + AESGCM.tagSize else {
            _ = AESGCM.open(decoy, key: aesKey, associated: tag)
            return nil
        }
        let sealed = AESGCM.Sealed(nonce: Array(stored[0..<AESGCM.nonceSize]),
                                   ciphertext: Array(stored[(AESGCM.nonceSize + AESGCM.tagSize)...]),
                                   tag: Array(stored[AESGCM.nonceSize..<(AESGCM.nonceSize + AESGCM.tagSize)]))
        guard let plain = AESGCM.open(sealed, key: aesKey, associated: tag) else {
            throw YKTError(.publicStore, "公众查询库的一条记录已损坏（解密校验不通过）：\(path)", hint: "用 ykt publish 重新生成查询库")
        }
        do {
            return try JSONDecoder().decode([PublicRecord].self, from: Data(plain))
        } catch {
            throw YKTError(.publicStore, "公众查询库的一条记录格式不对：\(path)", hint: "用 ykt publish 重新生成查询库")
        }
    }
}
