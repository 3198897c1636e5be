import Foundation
import YKTCore
import YKTCounty
import YKTCrypto
import YKTNet
import YKTSync

/// The county node behind the server: the routes of the sync protocol and what each does.
/// Requests arrive on several threads; the county's one database connection serves one at a
/// time (`database`), and only for work that waits on nothing: a change set's header is read
/// and its body staged outside that lock, so a township that sends slowly holds up no other
/// township and no county command. One upload per township at a time (`uploads`).
public final class CountyService: @unchecked Sendable {
    // Safe: every use of `county` (and its SQLite connection) happens under `database`;
    // `uploading` is guarded by `uploads`.
    private let county: CountyNode
    private let database = NSLock()
    private let uploads = NSLock()
    private var uploading: Set<String> = []
    private let committed: (@Sendable () -> Void)?

    /// `committed` is called after each change set the county took (to ask for a checkpoint).
    public init(_ county: CountyNode, committed: (@Sendable () -> Void)? = nil) {
        self.county = county
        self.committed = committed
    }

    /// The protocol's routes: change sets stream in; the stream request has no body.
    public static let router: TLSServer.Router = { method, path in
        switch (method, path) {
        case ("POST", SyncProtocol.changeSetsPath): .streamed
        case ("GET", _) where SyncProtocol.streamAfter(path) != nil: .buffered(maximumBody: 0)
        default: nil
        }
    }

    public func handle(peer: String, request: HTTPRequest) -> HTTPResponse {
        guard request.method == "GET", let after = SyncProtocol.streamAfter(request.path) else {
            return Self.json(status: 404, code: "YKT-USAGE", message: "unknown endpoint")
        }
        guard let after else { return Self.json(status: 400, code: "YKT-USAGE", message: "bad after") }
        var anchor: AuditHead?
        if let text = request.headers[SyncProtocol.auditAnchorHeader] {
            guard let head = AuditHead(text: text) else {
                return Self.json(status: 400, code: "YKT-USAGE", message: "bad \(SyncProtocol.auditAnchorHeader)")
            }
            anchor = head
        }
        let answer = database.withLock {
            let answer = county.stream(peer: peer, after: after, anchor: anchor)
            if answer.status != 200 { county.recordRefusal(peer: peer, changeSet: nil, answer: answer) }
            return answer
        }
        var headers = ["content-type": answer.status == 200 ? SyncProtocol.streamContentType : SyncProtocol.receiptContentType]
        Self.addKeyHeaders(answer, to: &headers)
        var response = HTTPResponse(status: answer.status, headers: headers, body: answer.body)
        response.log = [("township", peer), ("after", String(after))] + Self.outcome(answer)
        return response
    }

    /// A change set: header read off the connection, admitted (database, briefly), body staged
    /// into the evidence file (no database), then applied (database, briefly).
    public func receive(peer: String, request: HTTPRequest, body: HTTPBodyStream) -> HTTPResponse {
        guard beginUpload(peer) else {
            var r = Self.json(status: 429, code: ErrorCode.syncBusy.rawValue,
                              message: "乡镇 \(peer) 的另一个变更集正在上传", hint: "等它结束后再同步")
            r.log = [("township", peer), ("outcome", "refused"), ("code", ErrorCode.syncBusy.rawValue)]
            return r
        }
        defer { endUpload(peer) }
        // A disabled township is refused at once, before a byte of the change set is read
        // (read per request: a disable by another process counts from its commit).
        let disabled: CountyNode.Answer? = database.withLock {
            do { return try county.disabledRefusal(peer).map { CountyNode.refusalAnswer($0) } } catch {
                return CountyNode.refusalAnswer(YKTError(.internalError, "\(error)"), status: 500)
            }
        }
        if let disabled { return response(disabled, peer: peer, plan: nil, replay: false) }
        // A missing or malformed signature header verifies as nothing, and is refused as such.
        let signature = Hex.decode(request.headers[SyncProtocol.signatureHeader] ?? "") ?? []
        let source = StreamedChangeSet(body)
        let header: CountyNode.ArrivedHeader
        do { header = try CountyNode.readHeader(from: source) } catch {
            return response(CountyNode.Answer(status: 408, body: Array(#"{"code":"YKT-SYNC-TIMEOUT","message":"变更集头部没有按时收齐"}"#.utf8),
                                              signature: nil), peer: peer, plan: nil, replay: false)
        }
        let admission = database.withLock { county.admit(peer: peer, header: header, length: source.length, signature: signature) }
        switch admission {
        case .answer(let answer):
            return response(answer, peer: peer, plan: nil, replay: answer.status == 200)
        case .stage(let plan):
            // How long the body took to arrive and be staged, and to be applied (with the wait
            // for the database), in the request's log line: where a slow sync spent its time.
            let started = YKTNet.Clock.now
            let stagedResult = CountyNode.stage(plan, source: source)
            let staged = YKTNet.Clock.now
            let timings = [("staged_ms", String((staged - started) / 1_000_000))]
            switch stagedResult {
            case .failure(let refused):
                return response(refused.answer, peer: peer, plan: plan, replay: false, timings: timings)
            case .success(let stagedSet):
                let answer = database.withLock { county.commit(stagedSet) }
                if answer.status == 200 { committed?() }
                return response(answer, peer: peer, plan: plan, replay: false,
                                timings: timings + [("applied_ms", String((YKTNet.Clock.now - staged) / 1_000_000))])
            }
        }
    }

    private func beginUpload(_ township: String) -> Bool {
        uploads.withLock { uploading.insert(township).inserted }
    }

    private func endUpload(_ township: String) {
        _ = uploads.withLock { uploading.remove(township) }
    }

    private func response(_ answer: CountyNode.Answer, peer: String, plan: CountyNode.StagingPlan?, replay: Bool,
                          timings: [(String, String)] = []) -> HTTPResponse {
        var headers = ["content-type": SyncProtocol.receiptContentType]
        if let s = answer.signature { headers[SyncProtocol.signatureHeader] = Hex.encode(s) }
        Self.addKeyHeaders(answer, to: &headers)
        var r = HTTPResponse(status: answer.status, headers: headers, body: answer.body)
        if answer.status != 200, answer.status != 429 {
            // Kept for `ykt status` (not an act of anyone: not in the audit trail).
            database.withLock { county.recordRefusal(peer: peer, changeSet: plan?.seq, answer: answer) }
        }
        r.log = [("township", peer)]
        if let plan { r.log += [("seq", String(plan.seq)), ("ops", String(plan.operations))] }
        r.log += replay ? [("outcome", "replayed")] : Self.outcome(answer)
        r.log += timings
        return r
    }

    /// The signing key's id and the county's rotation statements, when the answer has them.
    static func addKeyHeaders(_ answer: CountyNode.Answer, to headers: inout [String: String]) {
        if let id = answer.keyID { headers[SyncProtocol.keyHeader] = id }
        if !answer.keyChain.isEmpty { headers[SyncProtocol.countyKeysHeader] = KeyRotation.chain(answer.keyChain) }
    }

    /// `outcome=accepted`, or `outcome=refused code=…` from the answer's JSON.
    static func outcome(_ answer: CountyNode.Answer) -> [(String, String)] {
        if answer.status == 200 { return [("outcome", "accepted")] }
        let code = (try? JSONValue.parse(answer.body)["code"]?.stringValue) ?? nil
        return [("outcome", "refused"), ("code", code ?? "-")]
    }

    static func json(status: Int, code: String, message: String, hint: String? = nil) -> HTTPResponse {
        var body: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let hint { body["hint"] = .string(hint) }
        return HTTPResponse(status: status, headers: ["content-type": SyncProtocol.receiptContentType],
                            body: Array(JSONValue.object(body).canonical.utf8))
    }
}

