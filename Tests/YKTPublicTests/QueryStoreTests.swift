import Foundation
import Testing
import YKTCore
import YKTCrypto
@testable import YKTPublic

@Suite("Public query store")
final class QueryStoreTests {
    let folder: String

    init() throws {
        folder = NSTemporaryDirectory() + "ykt-store-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    static let people: [(id: String, name: String)] = [
        ("11010119900307123X", "张三"), ("110101199003071250", "李四"), ("440301198512250018", "欧阳娜娜"),
    ]

    static func records(_ i: Int) -> [PublicRecord] {
        (0...i).map { k in
            PublicRecord(programName: "耕地地力保护补贴", period: "2026-0\(k + 1)", amountFen: 12_345 + Int64(k), status: k == 1 ? "发放失败（待更正补发）" : "已发放",
                         date: "2026-0\(k + 1)-15", reason: k == 1 ? "账户已销户" : "", account: Masking.account("6228480402564890018"),
                         township: "城关镇", phone: "0371-12345678")
        }
    }

    func build(_ name: String = "query.store", parameters: QueryStore.Parameters = .standard) throws -> (String, QueryStore.Summary) {
        let path = folder + "/" + name
        let summary = try QueryStore.build(path: path, county: "示范县", publishedAt: "2026-12-03 10:00", parameters: parameters) { add in
            for (i, p) in Self.people.enumerated() { try add(p.id, p.name, Self.records(i)) }
        }
        return (path, summary)
    }

    @Test("a resident finds their records by ID and name, written as people type them")
    func hit() throws {
        let (path, summary) = try build()
        #expect(summary.entries == 3 && summary.records == 6)
        #expect(summary.sha256 == (try SHA256.hex(ofFile: path)))
        let store = try QueryStore(path: path)
        #expect(store.county == "示范县" && store.entryCount == 3)
        #expect(try store.lookup(id: "11010119900307123X", name: "张三") == Self.records(0))
        #expect(try store.lookup(id: " 11010119900307123x ", name: "张 三") == Self.records(0))
        #expect(try store.lookup(id: "440301198512250018", name: "欧阳娜娜") == Self.records(2))
    }

    @Test("a wrong name, a wrong ID or a malformed one finds nothing")
    func miss() throws {
        let store = try QueryStore(path: try build().0)
        #expect(try store.lookup(id: "11010119900307123X", name: "李四") == nil)
        #expect(try store.lookup(id: "110101199003071250", name: "张三") == nil)
        #expect(try store.lookup(id: "1101011990", name: "张三") == nil)
        #expect(try store.lookup(id: "11010119900307123X", name: "") == nil)
    }

    @Test("the file holds no ID, no name and no readable record")
    func noClearData() throws {
        let (path, _) = try build()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for needle in Self.people.flatMap({ [$0.id, $0.name, String($0.id.suffix(10))] }) + ["耕地地力保护补贴", "6228", "城关镇", "账户已销户"] {
            #expect(bytes.range(of: Data(needle.utf8)) == nil, "found \(needle) in the store")
        }
    }

    @Test("the same people give different keys under another salt")
    func saltPerStore() throws {
        let a = try build("a.store").1, b = try build("b.store").1
        #expect(a.sha256 != b.sha256)
    }

    @Test("a store is never written over, and a file that is not a store is refused with a clear error")
    func refusals() throws {
        let (path, _) = try build()
        #expect(throws: YKTError.self) { try build() }
        let other = folder + "/other.store"
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: other))
        let error = try #require(throws: YKTError.self) { try QueryStore(path: other) }
        #expect(error.code == .publicStore)
        symlink(path, folder + "/link.store")
        #expect(throws: YKTError.self) { try QueryStore(path: folder + "/link.store") }
        #expect(throws: YKTError.self) { try QueryStore(path: folder + "/missing.store") }
        // Reading never changes the file's bytes (its SHA-256 is signed in the site's manifest).
        let before = try SHA256.hex(ofFile: path)
        _ = try QueryStore(path: path).lookup(id: "11010119900307123X", name: "张三")
        #expect(try SHA256.hex(ofFile: path) == before)
    }

    @Test("an entry altered in the file is reported, never returned")
    func tampered() throws {
        let (path, _) = try build()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // Flip every byte of the last page but its header: the entries live there in a small store.
        let pageSize = Int(bytes[16]) << 8 | Int(bytes[17])
        let start = bytes.count - pageSize + 200
        for i in start..<(bytes.count - 8) { bytes[i] ^= 0x01 }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let store = try QueryStore(path: path)
        var refused = 0
        for p in Self.people {
            do { if try store.lookup(id: p.id, name: p.name) == nil { refused += 1 } } catch let e as YKTError where e.code == .publicStore { refused += 1 }
        }
        #expect(refused > 0)
    }

    @Test("a duplicate (ID, name) pair is a program error, and no file is left behind")
    func duplicate() throws {
        let path = folder + "/dup.store"
        #expect(throws: YKTError.self) {
            _ = try QueryStore.build(path: path, county: "示范县", publishedAt: "x") { add in
                try add("11010119900307123X", "张三", [])
                try add("11010119900307123x", "张三", [])
            }
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
    }
}
