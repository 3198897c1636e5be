// ykt-hostile: what a broken or hostile township would send, for the integration scenarios.
//   ykt-hostile CASE TOWNSHIP_DIR HOST:PORT
// Uses the township's own certificate and signing key (so only the case's fault is wrong)
// against a running county (`ykt serve`), and exits 0 when the county refuses the request
// the way docs/protocol.md says, 1 when it does not (it printed what came back), 2 on misuse.
// CASE: flipped (one byte of a signed change set changed), gap (sequence skips one), fork
// (an applied sequence number with other bytes), version (an unknown format version),
// oversized (a request header over the limit), stall (connects and says nothing), replay (the
// last applied change set again: answered with the stored receipt, byte for byte, nothing
// applied twice).
// It reads the township's database but never writes it.
import Foundation
import YKTCore
import YKTCrypto
import YKTNet
import YKTSync
import YKTTownship

func fail(_ text: String, _ status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data((text + "\n").utf8))
    exit(status)
}

let args = CommandLine.arguments
guard args.count == 4, let colon = args[3].lastIndex(of: ":"), let port = UInt16(args[3][args[3].index(after: colon)...]) else {
    fail("用法：ykt-hostile flipped|gap|fork|version|oversized|stall|replay 乡镇节点目录 主机:端口", 2)
}
let (what, directory, host) = (args[1], args[2], String(args[3][..<colon]))

do {
    let node = try TownshipNode.open(directory: directory)
    func file(_ key: String) throws -> String {
        guard let v = node.config.extra[key] else { fail("node.conf 缺少 \(key)", 2) }
        return v.hasPrefix("/") ? v : (directory as NSString).appendingPathComponent(v)
    }
    let context = try TLSContext(role: .client, files: TLSContext.Files(
        certificate: try file("tls_certificate"), privateKey: try file("tls_key"), caCertificate: try file("tls_ca")))
    let key = try NodeKey.load(from: directory)
    let keyID = try key.publicKey.keyID
    let applied = try node.storedChangeSets().last { $0.acknowledged }
    let lastSeq = applied?.set.header.seq ?? 0
    let lastHash = applied?.set.hash ?? ChangeSet.genesisHash
    // One well-formed operation line; the county refuses every case before it reads the body.
    let line = Operation.body(kind: "beneficiary.update", node: node.config.nodeID, seq: 1 << 40, entity: "beneficiary/x",
                              baseVersion: 1, at: "2026-01-01T00:00:00+08:00", by: "hostile", data: "{}")
    func changeSet(seq: Int64, prev: String) -> ChangeSet {
        ChangeSet.build(node: node.config.nodeID, keyID: keyID, seq: seq, prev: prev, operations: [line])
    }
    func post(_ bytes: [UInt8], signature: [UInt8], headers: [String: String] = [:]) throws -> HTTPResponse {
        var h = headers
        h["x-ykt-signature"] = Hex.encode(signature)
        return try TLSClient.send(HTTPRequest(method: "POST", path: "/v1/changesets", headers: h, body: bytes),
                                  host: host, port: port, context: context).response
    }
    func expect(_ r: HTTPResponse, status: Int, code: String?) -> Never {
        let got = (try? JSONValue.parse(r.body)["code"]?.stringValue) ?? nil
        let shown = "HTTP \(r.status) \(got ?? "")"
        guard r.status == status, code == nil || got == code else {
            fail("应被拒绝（HTTP \(status) \(code ?? "")），县财政却答复 \(shown)：\(String(decoding: r.body.prefix(300), as: UTF8.self))")
        }
        print("县财政拒收：\(shown)")
        exit(0)
    }

    switch what {
    case "flipped":
        // One byte of the body: the signed header's body-sha256 no longer matches; refused
        // after the body is read, and nothing of it applied (one transaction, rolled back).
        let set = changeSet(seq: lastSeq + 1, prev: lastHash)
        let signature = try key.sign(ChangeSet.signedPart(of: set.bytes))
        var bytes = set.bytes
        bytes[set.bodyOffset + 10] ^= 0x01
        expect(try post(bytes, signature: signature), status: 400, code: "YKT-SYNC-BODY")
    case "flipped-header":
        // One byte of the signed header (a digit of body-sha256): the signature fails.
        let set = changeSet(seq: lastSeq + 1, prev: lastHash)
        let signature = try key.sign(ChangeSet.signedPart(of: set.bytes))
        var bytes = set.bytes
        let at = set.bodyOffset - 3
        bytes[at] = bytes[at] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        expect(try post(bytes, signature: signature), status: 403, code: "YKT-SYNC-SIGNATURE")
    case "gap":
        let set = changeSet(seq: lastSeq + 2, prev: lastHash)
        expect(try post(set.bytes, signature: try key.sign(ChangeSet.signedPart(of: set.bytes))), status: 409, code: "YKT-SYNC-GAP")
    case "fork":
        guard lastSeq > 0 else { fail("乡镇还没有被县里采纳的变更集，无从分叉", 2) }
        let set = changeSet(seq: lastSeq, prev: applied?.set.header.prev ?? ChangeSet.genesisHash)
        expect(try post(set.bytes, signature: try key.sign(ChangeSet.signedPart(of: set.bytes))), status: 409, code: "YKT-SYNC-FORK")
    case "version":
        let set = changeSet(seq: lastSeq + 1, prev: lastHash)
        let bytes = Array(String(decoding: set.bytes, as: UTF8.self)
            .replacingOccurrences(of: "YKT-CHANGESET/\(ChangeSet.formatVersion)", with: "YKT-CHANGESET/9").utf8)
        expect(try post(bytes, signature: try key.sign(ChangeSet.signedPart(of: bytes))), status: 400, code: "YKT-SYNC-VERSION")
    case "oversized":
        let set = changeSet(seq: lastSeq + 1, prev: lastHash)
        expect(try post(set.bytes, signature: try key.sign(ChangeSet.signedPart(of: set.bytes)), headers: ["x-pad": String(repeating: "a", count: 64 * 1024)]),
               status: 431, code: nil)
    case "replay":
        guard let applied else { fail("乡镇还没有被县里采纳的变更集，无从重放", 2) }
        let r = try post(try node.withBody(applied).set.bytes, signature: applied.signature)
        let stored = try node.db.first("SELECT receipt FROM changeset_out WHERE seq = ?", applied.set.header.seq) { $0.text(0) }
        guard r.status == 200, String(decoding: r.body, as: UTF8.self) == stored else {
            fail("重放应得到原回执，县财政却答复 HTTP \(r.status)：\(String(decoding: r.body.prefix(300), as: UTF8.self))")
        }
        print("县财政以存档的原回执答复（\(r.body.count) 字节，逐字节相同），没有重复应用")
    case "stall":
        // Connect, say nothing, and wait for the county to hang up (its I/O timeout).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else { fail("连不上县财政 \(host):\(port)") }
        var tv = timeval(tv_sec: 120, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let started = Date()
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        close(fd)
        let waited = Date().timeIntervalSince(started)
        guard n <= 0, waited < 110 else { fail("县财政没有断开一个不说话的连接") }
        print("县财政在 \(String(format: "%.1f", waited)) 秒后断开了不说话的连接")
    default:
        fail("不认识的情形：\(what)", 2)
    }
} catch {
    fail("出错：\(error)")
}
