import Testing
import YKTCore
import YKTCrypto
@testable import YKTSync

@Suite("Ed25519 through OpenSSL")
struct Ed25519Tests {
    @Test("sign and verify; any flipped bit or other key fails")
    func signVerify() throws {
        let key = try Ed25519.PrivateKey.generate()
        let message = Array("一卡通 change set".utf8)
        let sig = try key.sign(message)
        #expect(sig.count == 64)
        #expect(try key.publicKey.verify(sig, of: message))
        var flipped = message
        flipped[3] ^= 0x01
        #expect(!(try key.publicKey.verify(sig, of: flipped)))
        #expect(!(try Ed25519.PrivateKey.generate().publicKey.verify(sig, of: message)))
        #expect(!(try key.publicKey.verify(Array(sig.dropLast()), of: message)))
        #expect("\(key)".contains("redacted"))
    }

    @Test("hex decoding: round trip, either case, odd length and bad digits refused")
    func hexDecode() {
        #expect(Hex.decode(Hex.encode([0, 1, 0xAB, 0xFF])) == [0, 1, 0xAB, 0xFF])
        #expect(Hex.decode("ABcd") == [0xAB, 0xCD])
        #expect(Hex.decode("abc") == nil && Hex.decode("zz") == nil)
        #expect(Hex.decode("") == [])
    }

    @Test("one key, made once, signs on many threads at once and outlives the copy it was made as")
    func sharedKey() throws {
        var made: Ed25519.PrivateKey? = try Ed25519.PrivateKey.generate()
        let key = made!
        let seed = key.seed
        made = nil
        let messages = (0..<64).map { Array("回执 \($0)".utf8) }
        let signatures = messages.parallelMap(minimumChunk: 1) { try? key.sign($0) }
        let again = try Ed25519.PrivateKey(seed: seed)
        for (m, s) in zip(messages, signatures) {
            let s = try #require(s)
            #expect(try key.publicKey.verify(s, of: m))
            #expect(try again.sign(m) == s)   // Ed25519 is deterministic: the same key gives the same bytes
        }
    }

    @Test("RFC 8032 test vector 1 (empty message)")
    func rfc8032() throws {
        func hex(_ s: String) -> [UInt8] { Hex.decode(s)! }
        let key = try Ed25519.PrivateKey(seed: hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"))
        #expect(try key.publicKey.raw == hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        #expect(try key.sign([]) == hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"))
    }
}

@Suite("Change sets and the receiver's refusals")
struct ChangeSetTests {
    let a = try! Ed25519.PrivateKey.generate()
    let b = try! Ed25519.PrivateKey.generate()

    /// A canonical operation body naming `node`.
    func op(_ node: String, _ seq: Int) -> String {
        JSONValue.object(["v": 1, "op": "beneficiary.update", "node": .string(node), "seq": .int(Int64(seq)),
                          "data": ["name": "韦秀英"]]).canonical
    }

    var registry: KeyRegistry {
        var r = KeyRegistry()
        r.register(node: "450223101", key: try! a.publicKey)
        r.register(node: "450223102", key: try! b.publicKey)
        return r
    }

    func signed(_ node: String, key: Ed25519.PrivateKey, seq: Int64, prev: String, ops: [String]) throws -> (ChangeSet, [UInt8]) {
        let set = ChangeSet.build(node: node, keyID: try key.publicKey.keyID, seq: seq, prev: prev, operations: ops, audit: .genesis)
        return (set, try key.sign(ChangeSet.signedPart(of: set.bytes)))
    }

    @Test("a change set round-trips: header, hash chain, operations")
    func roundTrip() throws {
        let (set, sig) = try signed("450223101", key: a, seq: 1, prev: ChangeSet.genesisHash, ops: [op("450223101", 1), op("450223101", 2)])
        guard case .apply(let got) = try ChangeSetReceiver.check(bytes: set.bytes, signature: sig, peerNode: "450223101",
                                                                  registry: registry, position: StreamPosition()) else {
            Issue.record("expected apply"); return
        }
        #expect(got.header == set.header)
        #expect(try got.operations().map { $0["seq"]?.intValue } == [1, 2])
        var position = StreamPosition()
        position.advance(to: got)
        let (next, sig2) = try signed("450223101", key: a, seq: 2, prev: set.hash, ops: [op("450223101", 3)])
        if case .apply = try ChangeSetReceiver.check(bytes: next.bytes, signature: sig2, peerNode: "450223101",
                                                     registry: registry, position: position) {} else { Issue.record("expected apply") }
    }

    @Test("a body written after room for the header gives the same bytes as one copied behind it, with room to spare, exactly enough or too little")
    func framedBody() throws {
        let body = Array([op("450223101", 1), op("450223101", 2), op("450223101", 3)].map { $0 + "\n" }.joined().utf8)
        let keyNext = String(repeating: "k", count: 200)
        for next in [nil, keyNext] {
            let plain = ChangeSet.build(node: "450223101", keyID: "k", seq: 9, prev: ChangeSet.genesisHash, count: 3, body: body,
                                        audit: .genesis, keyNext: next)
            let header = plain.bodyOffset
            for room in [ChangeSet.maximumHeaderBytes, header, header - 1, 0] {
                let framed = [UInt8](repeating: 0xEE, count: room) + body
                let set = ChangeSet.build(node: "450223101", keyID: "k", seq: 9, prev: ChangeSet.genesisHash, count: 3,
                                          framed: framed, bodyAt: room, audit: .genesis, keyNext: next)
                #expect(set.bytes == plain.bytes, "room \(room)")
                #expect(set.bodyOffset == header && set.header == plain.header)
                #expect(try ChangeSet.readHeader(set.bytes).header == plain.header)
            }
        }
    }

    @Test("refused: one flipped byte anywhere (header or body)")
    func tampered() throws {
        let (set, sig) = try signed("450223101", key: a, seq: 1, prev: ChangeSet.genesisHash, ops: [op("450223101", 1)])
        // A byte of the signed header: refused before the body is looked at.
        for index in [20, set.bodyOffset - 3] {
            var bytes = set.bytes
            bytes[index] ^= 0x04
            let error = #expect(throws: YKTError.self) {
                try ChangeSetReceiver.check(bytes: bytes, signature: sig, peerNode: "450223101", registry: registry, position: StreamPosition())
            }
            #expect(error?.code == .syncSignature || error?.code == .syncFormat, "byte \(index)")
        }
        // A byte of the body: the header (and so the signature) still checks, but the body does
        // not match the signed body-sha256, read whole or streamed in parts.
        for index in [set.bodyOffset + 10, set.bytes.count - 3] {
            var bytes = set.bytes
            bytes[index] ^= 0x04
            guard case .apply(let received) = try ChangeSetReceiver.check(bytes: bytes, signature: sig, peerNode: "450223101",
                                                                          registry: registry, position: StreamPosition()) else {
                Issue.record("expected apply"); continue
            }
            #expect((#expect(throws: YKTError.self) { try received.operations() })?.code == .syncBody, "byte \(index)")
            var reader = ChangeSetBodyReader(header: received.header)
            for part in stride(from: set.bodyOffset, to: bytes.count, by: 7) {
                _ = try reader.take(Array(bytes[part..<min(part + 7, bytes.count)]))
            }
            #expect((#expect(throws: YKTError.self) { try reader.finish() })?.code == .syncBody, "byte \(index), streamed")
        }
    }

    @Test("a streamed body: the same operation lines part by part as read whole; short, long or miscounted bodies refused")
    func streamedBody() throws {
        let ops = (1...40).map { op("450223101", $0) }
        let (set, _) = try signed("450223101", key: a, seq: 1, prev: ChangeSet.genesisHash, ops: ops)
        let body = Array(set.bytes[set.bodyOffset...])
        for size in [1, 5, 64, 1_000, body.count] {
            var reader = ChangeSetBodyReader(header: set.header)
            var lines: [String] = []
            for start in stride(from: 0, to: body.count, by: size) {
                let part = try reader.take(Array(body[start..<min(start + size, body.count)]))
                #expect(part.firstNumber == lines.count + 1)
                lines += part.lines.map { String(decoding: part.bytes[$0], as: UTF8.self) }
            }
            try reader.finish()
            #expect(lines == ops, "parts of \(size)")
        }
        var short = ChangeSetBodyReader(header: set.header)
        _ = try short.take(Array(body.dropLast(1)))
        #expect((#expect(throws: YKTError.self) { try short.finish() })?.code == .syncBody)
        var long = ChangeSetBodyReader(header: set.header)
        #expect((#expect(throws: YKTError.self) { _ = try long.take(body + [0x0A]) })?.code == .syncBody)
        var miscounted = set.header
        miscounted.ops = 39
        var counted = ChangeSetBodyReader(header: miscounted)
        #expect((#expect(throws: YKTError.self) { _ = try counted.take(body) })?.code == .syncBody)
    }

    @Test("refused: township A's change set on township B's connection")
    func wrongPeer() throws {
        let (set, sig) = try signed("450223101", key: a, seq: 1, prev: ChangeSet.genesisHash, ops: [op("450223101", 1)])
        let error = #expect(throws: YKTError.self) {
            try ChangeSetReceiver.check(bytes: set.bytes, signature: sig, peerNode: "450223102", registry: registry, position: StreamPosition())
        }
        #expect(error?.code == .syncPeer)
    }

    @Test("refused: signed with another node's key, an unknown key, or a retired key")
    func keys() throws {
        let stranger = try Ed25519.PrivateKey.generate()
        let (set, sig) = try signed("450223101", key: stranger, seq: 1, prev: ChangeSet.genesisHash, ops: [op("450223101", 1)])
        #expect((#expect(throws: YKTError.self) {
            try ChangeSetReceiver.check(bytes: set.bytes, signature: sig, peerNode: "450223101", registry: registry, position: StreamPosition())
        })?.code == .syncKey)
        // Header claims A's key id but B signed it.
        let forged = ChangeSet.build(node: "450223101", keyID: try a.publicKey.keyID, seq: 1, prev: ChangeSet.genesisHash,
                                     operations: [op("450223101", 1)], audit: .genesis)
        #expect((#expect(throws: YKTError.self) {
            try ChangeSetReceiver.check(bytes: forged.bytes, signature: try b.sign(ChangeSet.signedPart(of: forged.bytes)), peerNode: "450223101",
                                        registry: registry, position: StreamPosition())
        })?.code == .syncSignature)
        var retired = registry
        retired.register(node: "450223101", key: try a.publicKey, active: false)
        let (ok, okSig) = try signed("450223101", key: a, seq: 1, prev: ChangeSet.genesisHash, ops: [op("450223101", 1)])
        #expect((#expect(throws: YKTError.self) {
            try ChangeSetReceiver.check(bytes: ok.bytes, signature: okSig, peerNode: "450223101", registry: retired, position: StreamPosition())
        })?.code == .syncKey)
        #expect(try a.publicKey.verify(okSig, of: ChangeSet.signedPart(of: ok.bytes)))   // still verifiable by an auditor
    }

    @Test("replay returns the stored receipt; a gap and a fork are refused with where to resume")
    func sequence() throws {
        let (first, sig1) = try signed("450223101", key: a, seq: 1, prev: ChangeSet.genesisHash, ops: [op("450223101", 1)])
        var position = StreamPosition()
        position.advance(to: first)
        guard case .replay(let seq) = try ChangeSetReceiver.check(bytes: first.bytes, signature: sig1, peerNode: "450223101",
                                                                   registry: registry, position: position) else {
            Issue.record("expected replay"); return
        }
        #expect(seq == 1)
        let (gap, sigGap) = try signed("450223101", key: a, seq: 3, prev: first.hash, ops: [op("450223101", 2)])
        let gapError = #expect(throws: YKTError.self) {
            try ChangeSetReceiver.check(bytes: gap.bytes, signature: sigGap, peerNode: "450223101", registry: registry, position: position)
        }
        #expect(gapError?.code == .syncGap && gapError?.hint?.contains("第 2 号") == true)
        // Same sequence, different content: a fork (e.g. a township restored from an old backup).
        let (other, sigOther) = try signed("450223101", key: a, seq: 1, prev: ChangeSet.genesisHash, ops: [op("450223101", 9)])
        #expect((#expect(throws: YKTError.self) {
            try ChangeSetReceiver.check(bytes: other.bytes, signature: sigOther, peerNode: "450223101", registry: registry, position: position)
        })?.code == .syncFork)
        // Next sequence but the wrong previous hash: also a fork.
        let (badPrev, sigBad) = try signed("450223101", key: a, seq: 2, prev: ChangeSet.genesisHash, ops: [op("450223101", 2)])
        #expect((#expect(throws: YKTError.self) {
            try ChangeSetReceiver.check(bytes: badPrev.bytes, signature: sigBad, peerNode: "450223101", registry: registry, position: position)
        })?.code == .syncFork)
    }

    @Test("refused: unknown format or schema version, naming both versions")
    func versions() throws {
        let set = ChangeSet.build(node: "450223101", keyID: "x", seq: 1, prev: ChangeSet.genesisHash, operations: [], audit: .genesis)
        var text = String(decoding: set.bytes, as: UTF8.self)
        // Format 1 signed all the bytes and cannot be streamed; it is refused like any other.
        text = text.replacingOccurrences(of: "YKT-CHANGESET/3", with: "YKT-CHANGESET/1")
        let e1 = #expect(throws: YKTError.self) { try ChangeSet.readHeader(Array(text.utf8)) }
        #expect(e1?.code == .syncVersion && e1?.message.contains("1") == true && e1?.message.contains("3") == true)
        let schema = String(decoding: set.bytes, as: UTF8.self).replacingOccurrences(of: "schema: 1", with: "schema: 7")
        let e2 = #expect(throws: YKTError.self) { try ChangeSet.readHeader(Array(schema.utf8)) }
        #expect(e2?.code == .syncVersion && e2?.message.contains("7") == true)
    }

    @Test("the audit line: the last header line, '<seq> <64 hex>', strictly; format 2 (without it) is read for stored sets but not applied anew")
    func auditLine() throws {
        let head = AuditHead(seq: 41, hash: String(repeating: "ab", count: 32))
        #expect(try signed("450223101", key: a, seq: 1, prev: ChangeSet.genesisHash, ops: []).0.header.audit == .genesis)
        let built = ChangeSet.build(node: "450223101", keyID: try a.publicKey.keyID, seq: 1, prev: ChangeSet.genesisHash,
                                    operations: [op("450223101", 1)], audit: head)
        let text = String(decoding: built.headerBytes, as: UTF8.self)
        #expect(text.hasPrefix("YKT-CHANGESET/3\n") && text.hasSuffix("body-sha256: \(built.header.bodySHA256)\naudit: 41 \(head.hash)\n\n"))
        #expect(try ChangeSet.readHeader(built.bytes).header.audit == head)
        // Each malformed audit line is refused naming the field.
        for bad in ["audit: 41", "audit: -1 \(head.hash)", "audit: +41 \(head.hash)", "audit: 041 \(head.hash)",
                    "audit: 41 \(head.hash.uppercased())", "audit: 41 \(head.hash.dropLast())", "audit: 41  \(head.hash)",
                    "audit: 41 \(head.hash) x", "audit:41 \(head.hash)"] {
            let spoiled = text.replacingOccurrences(of: "audit: 41 \(head.hash)", with: bad)
            let e = #expect(throws: YKTError.self, "\(bad)") { try ChangeSet.readHeader(Array(spoiled.utf8)) }
            #expect(e?.code == .syncFormat, "\(bad)")
        }
        // Format 3 without its audit line, or with it before another line, is refused.
        let missing = text.replacingOccurrences(of: "audit: 41 \(head.hash)\n", with: "")
        #expect((#expect(throws: YKTError.self) { try ChangeSet.readHeader(Array(missing.utf8)) })?.code == .syncFormat)
        let moved = text.replacingOccurrences(of: "audit: 41 \(head.hash)\n", with: "").replacingOccurrences(of: "ops: 1\n", with: "audit: 41 \(head.hash)\nops: 1\n")
        #expect((#expect(throws: YKTError.self) { try ChangeSet.readHeader(Array(moved.utf8)) })?.code == .syncFormat)
        // Format 2: the same header without the audit line, as stored before; readable, audit nil.
        let v2 = missing.replacingOccurrences(of: "YKT-CHANGESET/3", with: "YKT-CHANGESET/2")
        let old = try ChangeSet.readHeader(Array(v2.utf8))
        #expect(old.header.format == 2 && old.header.audit == nil)
        #expect((#expect(throws: YKTError.self) { try ChangeSet.readHeader(Array(text.replacingOccurrences(of: "YKT-CHANGESET/3", with: "YKT-CHANGESET/2").utf8)) })?.code == .syncFormat)
        // A new change set in format 2 is refused naming both versions; one already applied is a replay.
        let v2sig = try a.sign(ChangeSet.signedPart(of: Array(v2.utf8)))
        let refused = #expect(throws: YKTError.self) {
            try ChangeSetReceiver.check(bytes: Array(v2.utf8), signature: v2sig, peerNode: "450223101", registry: registry, position: StreamPosition())
        }
        #expect(refused?.code == .syncVersion && refused?.message.contains("2") == true && refused?.message.contains("3") == true)
        var applied = StreamPosition()
        applied.advance(to: old)
        guard case .replay(seq: 1) = try ChangeSetReceiver.check(bytes: Array(v2.utf8), signature: v2sig, peerNode: "450223101",
                                                                  registry: registry, position: applied) else {
            Issue.record("expected a replay"); return
        }
    }

    @Test("refused: malformed headers, oversized headers, bodies that disagree with the header")
    func malformed() throws {
        #expect((#expect(throws: YKTError.self) { try ChangeSet.readHeader(Array("GET / HTTP/1.1\n\n".utf8)) })?.code == .syncFormat)
        #expect((#expect(throws: YKTError.self) { try ChangeSet.readHeader([UInt8](repeating: 0x41, count: 10_000)) })?.code == .syncFormat)
        let set = ChangeSet.build(node: "450223101", keyID: "k", seq: 1, prev: ChangeSet.genesisHash, operations: [op("450223101", 1)], audit: .genesis)
        let swapped = String(decoding: set.bytes, as: UTF8.self).replacingOccurrences(of: "node: 450223101\nkey", with: "key: k\nnode")
        #expect((#expect(throws: YKTError.self) { try ChangeSet.readHeader(Array(swapped.utf8)) })?.code == .syncFormat)
        // Body truncated after signing checks would have caught it: operations() still refuses.
        let truncated = try ChangeSet.readHeader(Array(set.bytes.dropLast(5)))
        #expect((#expect(throws: YKTError.self) { try truncated.operations() })?.code == .syncBody)
        // An operation claiming another node inside A's change set.
        let mixed = ChangeSet.build(node: "450223101", keyID: "k", seq: 1, prev: ChangeSet.genesisHash, operations: [op("450223102", 1)], audit: .genesis)
        #expect((#expect(throws: YKTError.self) { try ChangeSet.readHeader(mixed.bytes).operations() })?.code == .syncBody)
    }

    @Test("JSON parsing: canonical round trip, integers only, bad input refused")
    func json() throws {
        let v: JSONValue = ["a": [1, -2, "x\"\n\u{1}中"], "b": .null, "c": true]
        #expect(try JSONValue.parse(Array(v.canonical.utf8)) == v)
        #expect(try JSONValue.parse(Array(#" {"s" : "\u4e2d\ud83d\ude00"} "#.utf8))["s"]?.stringValue == "中😀")
        for bad in ["{\"a\":1.5}", "[1,]", "{\"a\":1,\"a\":2}", "\"\\ud800\"", "01", "{", "nul"] {
            #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(bad.utf8)) }
        }
    }
}
