import Foundation
import YKTCore
import YKTCrypto
#if canImport(Glibc)
import Glibc
#endif

/// One complaint or report (投诉举报) filed on the public page, as the public server writes it
/// to the spool folder and `ykt complaint import` reads it (docs/public.md, "投诉举报导入").
public struct PublicComplaint: Sendable, Codable, Hashable {
    /// The format tag written in every file.
    public static let format = "ykt-public-complaint-1"
    /// The longest content accepted, in characters.
    public static let maximumContent = 2_000

    public var format: String
    /// The receipt number shown to the complainant; also the file's name (`receipt.json`).
    public var receipt: String
    /// When the server received it: `yyyy-MM-ddTHH:mm:ss+08:00` (China time).
    public var receivedAt: String
    /// 乡镇 and 补贴项目 as the complainant gave them (free text, may be empty).
    public var township: String
    public var program: String
    /// 投诉举报内容: 1 to 2,000 characters.
    public var content: String
    /// Optional: the complainant's name and phone.
    public var name: String
    public var phone: String

    enum CodingKeys: String, CodingKey {
        case format, receipt, township, program, content, name, phone
        case receivedAt = "received_at"
    }

    public init(receipt: String, receivedAt: String, township: String, program: String, content: String, name: String, phone: String) {
        format = Self.format
        self.receipt = receipt
        self.receivedAt = receivedAt
        self.township = township
        self.program = program
        self.content = content
        self.name = name
        self.phone = phone
    }

    /// The China calendar date it was received on.
    public var receivedOn: String { String(receivedAt.prefix(10)) }

    /// The field limits, in characters: (JSON key, Chinese name, maximum, required).
    static let fields: [(key: String, name: String, maximum: Int, required: Bool)] = [
        ("township", "乡镇", 50, false), ("program", "补贴项目", 100, false), ("content", "投诉举报内容", maximumContent, true),
        ("name", "姓名", 50, false), ("phone", "联系电话", 20, false),
    ]

    /// Checks every field as the form and the import both do; the first problem as an error
    /// naming the field (`at` gives the file).
    public func validate(at file: String? = nil, lines: [String: Int] = [:]) throws(YKTError) {
        func fail(_ key: String, _ message: String, hint: String? = nil) -> YKTError {
            YKTError(.publicSpool, message, at: SourceLocation(file: file, line: lines[key], field: key), hint: hint)
        }
        guard format == Self.format else {
            throw fail("format", "格式标记是「\(ExchangeFile.quote(format))」，应为 \(Self.format)", hint: "这不是本程序的公众查询服务写的投诉文件")
        }
        guard Self.isReceipt(receipt) else { throw fail("receipt", "受理编号「\(ExchangeFile.quote(receipt))」格式不对") }
        guard Self.isTimestamp(receivedAt) else { throw fail("received_at", "收到时间「\(ExchangeFile.quote(receivedAt))」格式不对") }
        let values = ["township": township, "program": program, "content": content, "name": name, "phone": phone]
        for f in Self.fields {
            let v = values[f.key] ?? ""
            if f.required && v.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw fail(f.key, "\(f.name)为空", hint: "请写明要反映的问题")
            }
            if v.count > f.maximum { throw fail(f.key, "\(f.name)有 \(v.count) 字，超过上限 \(f.maximum) 字") }
            let controls = v.unicodeScalars.contains { s in
                CharacterSet.controlCharacters.contains(s) && !(f.key == "content" && (s == "\n" || s == "\r" || s == "\t"))
            }
            if controls { throw fail(f.key, "\(f.name)含有控制字符") }
        }
        if !phone.isEmpty, !phone.allSatisfy({ $0.isASCII && ($0.isNumber || "-+ ()".contains($0)) }) {
            throw fail("phone", "联系电话只能含数字、空格和 -+()", hint: "例如 0772-6812000 或 13800000000")
        }
    }

    /// A receipt: 8 digits (the date), `-`, 10 characters of `0-9A-Z` without I, L, O, U.
    public static func isReceipt(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 19, u[8] == UInt8(ascii: "-") else { return false }
        return u[0..<8].allSatisfy { (0x30...0x39).contains($0) } && u[9...].allSatisfy { receiptAlphabet.utf8.contains($0) }
    }

    static func isTimestamp(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 25 else { return false }
        for (i, c) in u.enumerated() {
            switch i {
            case 4, 7: if c != UInt8(ascii: "-") { return false }
            case 10: if c != UInt8(ascii: "T") { return false }
            case 13, 16, 22: if c != UInt8(ascii: ":") { return false }
            case 19: if c != UInt8(ascii: "+") && c != UInt8(ascii: "-") { return false }
            default: if !(0x30...0x39).contains(c) { return false }
            }
        }
        return true
    }

    /// Crockford's base 32: no I, L, O or U, so a receipt read out on the phone is not misheard.
    static let receiptAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
}

/// The spool folder the public server writes complaints into and the county imports from
/// (`ykt complaint import`). One JSON file per complaint, named by its receipt
/// (`20260302-7F3K9QXM2A.json`), mode 0600 in a folder of mode 0700; written under a temporary
/// name (`.tmp-…`, created with `O_EXCL|O_NOFOLLOW`), synced, then linked to its final name
/// (which fails rather than replace a file) and the folder synced: a complaint on disk is
/// whole, and a receipt shown is a file kept.
public enum ComplaintSpool {
    /// The largest spool file read (a complaint is at most about 8 KB).
    public static let maximumFileBytes = 64 * 1024
    /// Where imported files are moved, inside the spool.
    public static let importedFolder = "imported"

    /// Makes the spool folder (0700) unless it exists; refuses a link or a file in its place.
    public static func prepare(_ folder: String) throws(YKTError) {
        var st = stat()
        if lstat(folder, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw YKTError(.publicServe, "投诉存放目录不是目录（是文件或符号链接）", at: SourceLocation(file: folder),
                               hint: "--spool 指向一个真实的目录，或一个尚不存在的路径（程序会建立它，权限 0700）")
            }
            return
        }
        guard mkdir(folder, 0o700) == 0 else {
            throw YKTError(.publicServe, "不能建立投诉存放目录（\(String(cString: strerror(errno)))）", at: SourceLocation(file: folder),
                           hint: "检查上级目录是否存在、是否可写")
        }
    }

    /// A new receipt: the China date and 10 random characters (50 bits).
    public static func newReceipt(date: String) -> String {
        let alphabet = Array(PublicComplaint.receiptAlphabet)
        var bytes = [UInt8](repeating: 0, count: 10)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0..<32) }
        return date.replacingOccurrences(of: "-", with: "") + "-" + String(bytes.map { alphabet[Int($0)] })
    }

    /// The file's bytes: pretty-printed JSON, one field a line, keys sorted (so an import error
    /// can name the line of a field).
    public static func encode(_ c: PublicComplaint) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(c)) + [0x0A]
    }

    /// Writes `complaint` into `folder` (see the type's comment). Returns the file's path.
    @discardableResult
    public static func write(_ complaint: PublicComplaint, into folder: String) throws(YKTError) -> String {
        let bytes: [UInt8]
        do { bytes = try encode(complaint) } catch {
            throw YKTError(.internalError, "投诉不能编码为 JSON")
        }
        let final = (folder as NSString).appendingPathComponent(complaint.receipt + ".json")
        let temporary = (folder as NSString).appendingPathComponent(".tmp-" + complaint.receipt)
        func failure(_ what: String) -> YKTError {
            YKTError(.publicServe, "投诉不能写入存放目录：\(what)（\(String(cString: strerror(errno)))）", at: SourceLocation(file: folder),
                     hint: "检查 --spool 目录的权限和磁盘空间")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("建立文件") }
        var ok = bytes.withUnsafeBytes { buf -> Bool in
            var done = 0
            while done < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 { if errno == EINTR { continue }; return false }
                done += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok else {
            let e = failure("写入")
            unlink(temporary)
            throw e
        }
        // link(2) refuses to replace an existing name, as O_EXCL does.
        guard link(temporary, final) == 0 else {
            let e = failure("改名")
            unlink(temporary)
            throw e
        }
        unlink(temporary)
        syncFolder(folder)
        return final
    }

    static func syncFolder(_ folder: String) {
        let dfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Whether `name` is a spool file's name (`<receipt>.json`).
    public static func isComplaintFile(_ name: String) -> Bool {
        name.hasSuffix(".json") && PublicComplaint.isReceipt(String(name.dropLast(5)))
    }

    /// Reads and checks one spool file: a regular file (no link followed), at most
    /// `maximumFileBytes`, UTF-8 JSON of the format, every field valid, its name its receipt.
    /// An error names the file and the field (and the field's line).
    public static func read(path: String) throws(YKTError) -> PublicComplaint {
        try parse(try ExchangeFile.read(path: path, maximumBytes: maximumFileBytes), path: path)
    }

    /// Checks the bytes of the spool file at `path` (see `read`).
    public static func parse(_ bytes: [UInt8], path: String) throws(YKTError) -> PublicComplaint {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw YKTError(.publicSpool, "不是 UTF-8 文本", at: SourceLocation(file: path), hint: "投诉文件只能由公众查询服务写出；移走这个文件后重新导入")
        }
        // The line each key is on (one field a line, as `encode` writes).
        var lines: [String: Int] = [:]
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("\""), let end = t.dropFirst().firstIndex(of: "\"") {
                let key = String(t[t.index(after: t.startIndex)..<end])
                if lines[key] == nil { lines[key] = i + 1 }
            }
        }
        let object: [String: Any]
        do {
            guard let o = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { throw CocoaError(.coderReadCorrupt) }
            object = o
        } catch {
            throw YKTError(.publicSpool, "不是有效的 JSON 对象", at: SourceLocation(file: path),
                           hint: "投诉文件只能由公众查询服务写出；移走这个文件后重新导入")
        }
        func field(_ key: String) throws(YKTError) -> String {
            guard let v = object[key] else {
                throw YKTError(.publicSpool, "缺少字段「\(key)」", at: SourceLocation(file: path, field: key),
                               hint: "投诉文件只能由公众查询服务写出；移走这个文件后重新导入")
            }
            guard let s = v as? String else {
                throw YKTError(.publicSpool, "字段「\(key)」应为文字", at: SourceLocation(file: path, line: lines[key], field: key))
            }
            return s
        }
        let known: Set<String> = ["format", "receipt", "received_at", "township", "program", "content", "name", "phone"]
        if let extra = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw YKTError(.publicSpool, "有不认识的字段「\(ExchangeFile.quote(extra))」", at: SourceLocation(file: path, line: lines[extra]),
                           hint: "投诉文件只能由公众查询服务写出；移走这个文件后重新导入")
        }
        var c = PublicComplaint(receipt: try field("receipt"), receivedAt: try field("received_at"), township: try field("township"),
                                program: try field("program"), content: try field("content"), name: try field("name"), phone: try field("phone"))
        c.format = try field("format")
        try c.validate(at: path, lines: lines)
        let name = (path as NSString).lastPathComponent
        guard name == c.receipt + ".json" else {
            throw YKTError(.publicSpool, "文件名与受理编号 \(c.receipt) 不符", at: SourceLocation(file: path, line: lines["receipt"], field: "receipt"),
                           hint: "投诉文件不能改名；改回 \(c.receipt).json 后重新导入")
        }
        return c
    }
}
