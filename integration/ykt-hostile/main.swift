// ykt-hostile: what a broken or hostile township would send, for the integration scenarios
// and the load test (benchmarks/serve-load.sh).
//   ykt-hostile CASE TOWNSHIP_DIR HOST:PORT [ARGUMENTS]
// Uses the township's own certificate and signing key (so only the case's fault is wrong)
// against a running county (`ykt serve`), and exits 0 when the county refuses the request
// the way docs/protocol.md says, 1 when it does not (it printed what came back), 2 on misuse.
// With YKT_HOSTILE_BIND=127.0.0.2 (an address of this host) every connection comes from there.
// CASE: flipped (one byte of a signed change set changed), gap (sequence skips one), fork
// (an applied sequence number with other bytes), version (an unknown format version),
// oversized (a request header over the limit), stall (connects and says nothing), replay (the
// last applied change set again: answered with the stored receipt, byte for byte, nothing
// applied twice);
// idle-flood N SECONDS (N TCP connections that never speak, held at most SECONDS: every one
// must be closed by the county within SECONDS/2; TOWNSHIP_DIR is not read), trickle [BYTES
// [SECONDS]] (a valid signed change set with a body of about BYTES, default 4 MiB, whose body
// comes 4 bytes a second: the county must cut it within SECONDS, default 60), absurd-length
// [BODY] (a signed header whose body: is BODY, default 9223372036854775000, sent with the
// bytes it has and again with a Content-Length that believes it: each refused with a 4xx, the
// county still answering afterwards), unknown-path-big (POST to an unknown path announcing
// 64 MiB and sending none of it: 404 within 5 s).
// It reads the township's database but never writes it.
import Foundation
import YKTCore
import YKTNode
import YKTCrypto
import YKTNet
import YKTSync
import YKTTownship

func fail(_ text: String, _ status: Int32 = 1) -> Never {
    fflush(nil)   // what was printed comes first
    FileHandle.standardError.write(Data((text + "\n").utf8))
    exit(status)
}

let args = CommandLine.arguments
guard args.count >= 4, let colon = args[3].lastIndex(of: ":"), let port = UInt16(args[3][args[3].index(after: colon)...]) else {
    fail("用法：ykt-hostile flipped|flipped-header|gap|fork|version|oversized|stall|replay|idle-flood|trickle|absurd-length|unknown-path-big 乡镇节点目录 主机:端口 [参数]", 2)
}
let (what, directory, host) = (args[1], args[2], String(args[3][..<colon]))
let extra = Array(args.dropFirst(4))
let source = ProcessInfo.processInfo.environment["YKT_HOSTILE_BIND"].flatMap { $0.isEmpty ? nil : $0 }
let started = Date()
func elapsed() -> Double { Date().timeIntervalSince(started) }
func seconds(_ s: Double) -> String { String(format: "%.1f", s) }

// N connections that never speak: the county should hang up on each well before SECONDS (a
// short handshake deadline), and refuse at once what one address opens beyond a few.
if what == "idle-flood" {
    guard extra.count == 2, let count = Int(extra[0]), (1...1_000).contains(count), let limit = Double(extra[1]), limit > 0,
          limit <= 600 else {
        fail("用法：ykt-hostile idle-flood 乡镇节点目录 主机:端口 连接数(1…1000) 秒数(≤600)", 2)
    }
    var fds: [Int32] = []
    var openedAt: [Double] = []
    var refusedAtConnect = 0
    for _ in 0..<count where elapsed() < limit {
        do {
            fds.append(try RawTLSClient.openTCP(host: host, port: port, source: source, timeoutSeconds: 5))
            openedAt.append(elapsed())
        } catch {
            refusedAtConnect += 1
        }
    }
    guard !fds.isEmpty else { fail("连不上县财政 \(host):\(port)：\(refusedAtConnect) 次连接全被拒绝（它在运行吗？）") }
    var closedAfter = [Double?](repeating: nil, count: fds.count)
    var spoke = 0
    var heldAtOnce = 0   // ours the county kept open longer than a second, at the same time
    var open = Set(fds.indices)
    while !open.isEmpty, elapsed() < limit {
        let order = Array(open)
        var polls = order.map { pollfd(fd: fds[$0], events: Int16(POLLIN), revents: 0) }
        _ = poll(&polls, nfds_t(polls.count), 100)
        let now = elapsed()
        for (k, i) in order.enumerated() where polls[k].revents != 0 {
            var byte: UInt8 = 0
            let n = recv(fds[i], &byte, 1, Int32(MSG_DONTWAIT))
            if n > 0 { spoke += 1; open.remove(i); continue }   // a TLS server never speaks first
            if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                closedAfter[i] = now - openedAt[i]
                open.remove(i)
            }
        }
        heldAtOnce = max(heldAtOnce, open.filter { now - openedAt[$0] >= 1 }.count)
    }
    fds.forEach { close($0) }
    let times = closedAfter.compactMap { $0 }.sorted()
    let closed = times.count + refusedAtConnect
    let atOnce = times.filter { $0 < 1 }.count + refusedAtConnect
    let slowest = times.last ?? 0
    var line = "县财政在 \(seconds(limit)) 秒内断开了 \(closed)/\(count) 个不说话的连接：\(atOnce) 个 1 秒内即断开或拒绝"
    if !times.isEmpty { line += "，断开用时中位 \(seconds(times[times.count / 2])) 秒、最慢 \(seconds(slowest)) 秒" }
    line += "；同一地址被同时保持（超过 1 秒）的最多 \(heldAtOnce) 个"
    if spoke > 0 { line += "；\(spoke) 个连接收到了县财政先发的字节" }
    print(line)
    guard closed == count, slowest <= limit / 2 else {
        fail("县财政没有在 \(seconds(limit / 2)) 秒内断开每一个不说话的连接（\(count - closed) 个到 \(seconds(limit)) 秒仍开着，最慢 \(seconds(slowest)) 秒）")
    }
    exit(0)
}

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
    // The audit head as an honest township would send it now (never behind what the county holds).
    let audit = try AuditLog.head(db: node.db)
    let lastSeq = applied?.set.header.seq ?? 0
    let lastHash = applied?.set.hash ?? ChangeSet.genesisHash
    // One well-formed operation line; the county refuses every case before it reads the body.
    let line = Operation.body(kind: "beneficiary.update", node: node.config.nodeID, seq: 1 << 40, entity: "beneficiary/x",
                              baseVersion: 1, at: "2026-01-01T00:00:00+08:00", by: "hostile", data: "{}")
    func changeSet(seq: Int64, prev: String) -> ChangeSet {
        ChangeSet.build(node: node.config.nodeID, keyID: keyID, seq: seq, prev: prev, operations: [line], audit: audit)
    }
    func post(_ bytes: [UInt8], signature: [UInt8], headers: [String: String] = [:]) throws -> HTTPResponse {
        var h = headers
        h[SyncProtocol.signatureHeader] = Hex.encode(signature)
        return try TLSClient.send(HTTPRequest(method: "POST", path: SyncProtocol.changeSetsPath, headers: h, body: bytes),
                                  host: host, port: port, context: context, source: source).response
    }
    /// A request head written as given (`Content-Length` is the caller's word, not the body's).
    func head(_ start: String, contentLength: String, signature: [UInt8]? = nil) -> [UInt8] {
        var text = "\(start) HTTP/1.1\r\nhost: \(host):\(port)\r\ncontent-length: \(contentLength)\r\n"
        if let signature { text += "\(SyncProtocol.signatureHeader): \(Hex.encode(signature))\r\ncontent-type: \(SyncProtocol.changeSetContentType)\r\n" }
        return Array((text + "\r\n").utf8)
    }
    func connectRaw() throws -> RawTLSClient {
        try RawTLSClient(host: host, port: port, context: context, source: source)
    }
    /// The county's answer on `client` within `seconds`: the response, or nil when it closed
    /// (or cut) the connection without one; throws `TLSError.timeout` when nothing came.
    func answer(_ client: RawTLSClient, within seconds: Double) throws -> HTTPResponse? {
        guard client.readable(within: seconds) else { throw TLSError.timeout }
        return try? client.response()
    }
    func code(_ r: HTTPResponse) -> String {
        ((try? JSONValue.parse(r.body)["code"]?.stringValue) ?? nil) ?? String(decoding: r.body.prefix(80), as: UTF8.self)
    }
    /// Still alive: a new connection gets an answer (the township's own stream position: 200).
    func alive() -> Bool {
        let after = (try? node.inbox().map(\.seq).max()) ?? 0
        let r = try? TLSClient.send(HTTPRequest(method: "GET", path: SyncProtocol.streamPath(after: after)), host: host, port: port,
                                    context: context, source: source).response
        return r?.status == 200
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
        let fd: Int32
        do { fd = try RawTLSClient.openTCP(host: host, port: port, source: source, timeoutSeconds: 120) } catch {
            fail("连不上县财政 \(host):\(port)：\(error)")
        }
        let since = Date()
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        close(fd)
        let waited = Date().timeIntervalSince(since)
        guard n <= 0, waited < 110 else { fail("县财政没有断开一个不说话的连接") }
        print("县财政在 \(seconds(waited)) 秒后断开了不说话的连接")
    case "trickle":
        // A valid change set (own key and certificate, next sequence) whose body comes a few
        // bytes a second: the body's rate is bytes received over time elapsed, so the county
        // must cut it soon, however long the body the header announces.
        guard extra.count <= 2, let target = extra.first.map({ Int($0) }) ?? (4 << 20), (1...(256 << 20)).contains(target),
              let limit = extra.count == 2 ? Double(extra[1]) : 60, limit > 0, limit <= 600 else {
            fail("用法：ykt-hostile trickle 乡镇节点目录 主机:端口 [正文字节数 [秒数]]", 2)
        }
        let firstOp = (applied?.lastOp ?? 0) + 1
        var lines: [String] = []
        var size = 0
        while size < target {
            let n = Int64(lines.count)
            let op = Operation.body(kind: "beneficiary.update", node: node.config.nodeID, seq: firstOp + n, entity: "beneficiary/trickle\(n)",
                                    baseVersion: 1, at: "2026-01-01T00:00:00+08:00", by: "hostile", data: #"{"household":"trickle"}"#)
            size += op.utf8.count + 1
            lines.append(op)
        }
        let set = ChangeSet.build(node: node.config.nodeID, keyID: keyID, seq: lastSeq + 1, prev: lastHash, operations: lines, audit: audit)
        let signature = try key.sign(ChangeSet.signedPart(of: set.bytes))
        let client = try connectRaw()
        let since = Date()
        var sent = 0
        do {
            try client.write(head("POST \(SyncProtocol.changeSetsPath)", contentLength: String(set.bytes.count), signature: signature)
                             + Array(set.bytes[..<set.bodyOffset]))
            var at = set.bodyOffset
            while Date().timeIntervalSince(since) < limit, at < set.bytes.count {
                if client.readable(within: 1) {
                    if let r = try? client.response() {
                        print("县财政在 \(seconds(Date().timeIntervalSince(since))) 秒后拒收拖延的正文（已发 \(sent) 字节）：HTTP \(r.status) \(code(r))")
                        exit(r.status == 200 ? 1 : 0)
                    }
                    print("县财政在 \(seconds(Date().timeIntervalSince(since))) 秒后断开了拖延的正文（已发 \(sent) 字节）")
                    exit(0)
                }
                let end = min(at + 4, set.bytes.count)
                try client.write(Array(set.bytes[at..<end]))
                sent += end - at
                at = end
            }
        } catch {
            print("县财政在 \(seconds(Date().timeIntervalSince(since))) 秒后断开了拖延的正文（已发 \(sent) 字节：\(error)）")
            exit(0)
        }
        fail("县财政 \(seconds(limit)) 秒内没有断开每秒只来 4 字节的正文（已发 \(sent)/\(set.bytes.count - set.bodyOffset) 字节，头部宣称正文 \(set.header.bodyBytes) 字节）")
    case "absurd-length":
        // A correctly signed header whose body: is near Int64.max, with a plausible count.
        guard extra.count <= 1, let claimed = extra.first.map({ Int64($0) }) ?? 9_223_372_036_854_775_000, claimed >= 0 else {
            fail("用法：ykt-hostile absurd-length 乡镇节点目录 主机:端口 [正文字节数]", 2)
        }
        let set = changeSet(seq: lastSeq + 1, prev: lastHash)
        let header = String(decoding: set.bytes[..<set.bodyOffset], as: UTF8.self)
            .replacingOccurrences(of: "ops: 1\nbody: \(set.header.bodyBytes)\n", with: "ops: 2048\nbody: \(claimed)\n")
        let headerBytes = Array(header.utf8)
        let bytes = headerBytes + set.bytes[set.bodyOffset...]
        let signature = try key.sign(headerBytes)
        // What actually goes, and the length the header would make of it (when it fits in Int64).
        let (total, overflow) = Int64(headerBytes.count).addingReportingOverflow(claimed)
        var attempts = [(String(bytes.count), bytes, "请求长度为实际字节数")]
        if !overflow { attempts.append((String(total), headerBytes, "请求长度按头部所写（\(total) 字节）")) }
        var bad: [String] = []
        for (length, payload, what) in attempts {
            var shown: String
            do {
                let client = try connectRaw()
                try? client.write(head("POST \(SyncProtocol.changeSetsPath)", contentLength: length, signature: signature) + payload)
                if let r = try answer(client, within: 15) {
                    shown = "HTTP \(r.status) \(code(r))"
                    if !(400..<500).contains(r.status) { bad.append("\(what)：\(shown)") }
                } else {
                    shown = "断开，没有答复"
                    bad.append("\(what)：\(shown)")
                }
            } catch {
                shown = "\(error)"
                bad.append("\(what)：\(shown)")
            }
            let up = alive()
            if !up { bad.append("\(what)之后县财政不再应答") }
            print("头部正文长度 \(claimed)，\(what)：\(shown)；之后县财政\(up ? "仍然应答" : "不再应答")")
        }
        guard bad.isEmpty else { fail("应以 4xx 拒收且之后仍然应答：" + bad.joined(separator: "；")) }
    case "unknown-path-big":
        // An unknown path announcing a 64 MiB body and sending none: answered 404 at once,
        // without waiting for (or making room for) the body.
        let client = try connectRaw()
        try client.write(head("POST /v1/unknown", contentLength: String(64 << 20)))
        let since = Date()
        let r: HTTPResponse?
        do { r = try answer(client, within: 30) } catch {
            fail("县财政 30 秒内没有答复宣称 64 MiB 正文的未知路径请求")
        }
        let waited = Date().timeIntervalSince(since)
        guard let r else { fail("县财政在 \(seconds(waited)) 秒后断开了未知路径的请求，没有答复 404") }
        guard r.status == 404, waited < 5 else {
            fail("未知路径应在 5 秒内答复 404，县财政在 \(seconds(waited)) 秒后答复 HTTP \(r.status) \(code(r))")
        }
        print("县财政在 \(seconds(waited)) 秒内答复未知路径 HTTP 404，没有等正文")
    default:
        fail("不认识的情形：\(what)", 2)
    }
} catch {
    fail("出错：\(error)")
}
