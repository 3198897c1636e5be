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
/// township and no county command. Per township, one change set is staged at a time and one
/// applied (`lanes`): the next one's body may arrive while the one before it is applied
/// (docs/protocol.md, "Two change sets in flight").
public final class CountyService: @unchecked Sendable {
    // Safe: every use of `county` (and its SQLite connection) happens under `database`;
    // `lanes` and every `Lane` and `InFlight` in it are guarded by `uploads`.
    private let county: CountyNode
    private let database = NSLock()
    private let uploads = NSCondition()
    private var lanes: [String: Lane] = [:]
    private let committed: (@Sendable () -> Void)?
    /// How long a change set waits for the one ahead of it to be staged before it is answered
    /// busy: the township sends it once the one ahead is sent whole, so only that one's last
    /// bytes and its sync are left (a trickler's follower is refused after this).
    static let followerWaitSeconds = 2.0

    /// One township's uploads: the one being staged (with at most one more waiting for it), and
    /// the one being applied.
    private final class Lane {
        var staging = false
        var waiting = false
        var applying: InFlight?
    }

    /// A staged change set being applied, and then whether it was taken.
    private final class InFlight {
        let plan: CountyNode.StagingPlan
        var taken: Bool?
        init(_ plan: CountyNode.StagingPlan) { self.plan = plan }
    }

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
    /// into the evidence file (no database), then applied (database, briefly). A change set sent
    /// while the one before it is applied is admitted against that one, staged meanwhile, and
    /// applied once that one is taken (refused if it was not).
    public func receive(peer: String, request: HTTPRequest, body: HTTPBodyStream) -> HTTPResponse {
        guard case .began(let ahead) = beginStaging(peer) else {
            var r = Self.json(status: 429, code: ErrorCode.syncBusy.rawValue,
                              message: "乡镇 \(peer) 的另一个变更集正在上传", hint: "等它结束后再同步")
            r.log = [("township", peer), ("outcome", "refused"), ("code", ErrorCode.syncBusy.rawValue)]
            return r
        }
        var staging = true
        defer { if staging { endStaging(peer, applying: nil) } }
        if ahead == nil {
            // A disabled township is refused at once, before a byte of the change set is read
            // (read per request: a disable by another process counts from its commit). Behind a
            // change set being applied, the database is that one's: its commit and this one's
            // check it again.
            let disabled: CountyNode.Answer? = database.withLock {
                do { return try county.disabledRefusal(peer).map { CountyNode.refusalAnswer($0) } } catch {
                    return CountyNode.refusalAnswer(YKTError(.internalError, "\(error)"), status: 500)
                }
            }
            if let disabled { return response(disabled, peer: peer, plan: nil, replay: false) }
        }
        // A missing or malformed signature header verifies as nothing, and is refused as such.
        let signature = Hex.decode(request.headers[SyncProtocol.signatureHeader] ?? "") ?? []
        let source = StreamedChangeSet(body)
        let header: CountyNode.ArrivedHeader
        do { header = try CountyNode.readHeader(from: source) } catch {
            return response(CountyNode.Answer(status: 408, body: Array(#"{"code":"YKT-SYNC-TIMEOUT","message":"变更集头部没有按时收齐"}"#.utf8),
                                              signature: nil), peer: peer, plan: nil, replay: false)
        }
        // Behind one still being applied: checked against it, without the database.
        let following = ahead.flatMap { a in uploads.withLock { a.taken == nil ? a : nil } }
        let admission = following.map { CountyNode.admit(peer: peer, header: header, length: source.length, signature: signature, following: $0.plan) }
            ?? database.withLock { county.admit(peer: peer, header: header, length: source.length, signature: signature) }
        switch admission {
        case .answer(let answer):
            return response(answer, peer: peer, plan: nil, replay: answer.status == 200)
        case .stage(let plan):
            // How long the body took to arrive and be staged, and to be applied (with the wait
            // for the database), in the request's log line: where a slow sync spent its time.
            let started = YKTNet.Clock.now
            let stagedResult = CountyNode.stage(plan, source: source)
            let staged = YKTNet.Clock.now
            var timings = [("staged_ms", String((staged - started) / 1_000_000))]
            switch stagedResult {
            case .failure(let refused):
                return response(refused.answer, peer: peer, plan: plan, replay: false, timings: timings)
            case .success(let stagedSet):
                if let following, !waitTaken(following) {
                    // The one ahead was not taken, so this one cannot follow it: answered as the
                    // database now says (a gap), its staged bytes past the recorded end (cut off
                    // by the next receive).
                    var answer = database.withLock { () -> CountyNode.Answer in
                        if case .answer(let a) = county.admit(peer: peer, header: header, length: source.length, signature: signature) { return a }
                        return CountyNode.refusalAnswer(YKTError(.syncGap, "第 \(following.plan.seq) 号变更集没有被接收，第 \(plan.seq) 号不能接着应用",
                                                                 hint: "从第 \(following.plan.seq) 号续传"))
                    }
                    if answer.status == 200 { answer = CountyNode.refusalAnswer(YKTError(.syncBusy, "请重新发送"), status: 429) }
                    return response(answer, peer: peer, plan: plan, replay: false, timings: timings)
                }
                let mine = InFlight(plan)
                staging = false
                endStaging(peer, applying: mine)
                let answer = database.withLock { county.commit(stagedSet) }
                finishApplying(peer, mine, taken: answer.status == 200)
                if answer.status == 200 { committed?() }
                timings.append(("applied_ms", String((YKTNet.Clock.now - staged) / 1_000_000)))
                if let following { timings.append(("behind", String(following.plan.seq))) }
                return response(answer, peer: peer, plan: plan, replay: false, timings: timings)
            }
        }
    }

    /// What `beginStaging` decided: go on (behind `ahead`, a change set of the township being
    /// applied, when there is one), or answer busy.
    private enum Begin {
        case began(ahead: InFlight?)
        case busy
    }

    /// Takes the township's staging place: at once when free; when another change set is being
    /// staged, after it (one waiter at most, for `followerWaitSeconds`).
    private func beginStaging(_ township: String) -> Begin {
        uploads.lock()
        defer { uploads.unlock() }
        let lane = lanes[township] ?? Lane()
        lanes[township] = lane
        if lane.staging {
            guard !lane.waiting else { return .busy }
            lane.waiting = true
            defer { lane.waiting = false }
            let deadline = Date(timeIntervalSinceNow: Self.followerWaitSeconds)
            while lane.staging, uploads.wait(until: deadline) {}
            if lane.staging { return .busy }
        }
        lane.staging = true
        return .began(ahead: lane.applying)
    }

    /// Gives the staging place up; `applying` is then the township's change set being applied.
    private func endStaging(_ township: String, applying: InFlight?) {
        uploads.withLock {
            guard let lane = lanes[township] else { return }
            lane.staging = false
            if let applying { lane.applying = applying }
            if !lane.waiting, lane.applying == nil { lanes[township] = nil }
            uploads.broadcast()
        }
    }

    private func finishApplying(_ township: String, _ done: InFlight, taken: Bool) {
        uploads.withLock {
            done.taken = taken
            if let lane = lanes[township], lane.applying === done {
                lane.applying = nil
                if !lane.staging, !lane.waiting { lanes[township] = nil }
            }
            uploads.broadcast()
        }
    }

    /// Waits until `ahead` is decided; whether it was taken.
    private func waitTaken(_ ahead: InFlight) -> Bool {
        uploads.lock()
        defer { uploads.unlock() }
        while ahead.taken == nil { uploads.wait() }
        return ahead.taken!
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

