import YKTCore
import YKTStore

/// The county's messages as a clerk reads them (issue 16, item 3): each with a one-line
/// summary in Chinese and, when the township must act, what to do.
extension TownshipNode {
    /// One message from the county, readable: `summary` says what it is, `action` what the
    /// clerk must do (nil when nothing: the node already applied it). `body` is the message
    /// verbatim (full personal data: `ykt inbox list --json` records the view).
    public struct InboxItem: Sendable, Codable {
        public var seq: Int64
        public var kind: String
        public var kindText: String
        public var receivedAt: String
        public var summary: String
        public var action: String?
        public var body: String
    }

    public func inboxItems() throws -> [InboxItem] {
        try inbox().map { m in
            let json = (try? JSONValue.parse(Array(m.body.utf8))) ?? .null
            let (summary, action) = try describe(kind: m.kind, data: json["data"] ?? .null)
            return InboxItem(seq: m.seq, kind: m.kind, kindText: SyncWords.message(m.kind), receivedAt: m.receivedAt,
                             summary: summary, action: action, body: m.body)
        }
    }

    /// What one message says, and what it asks of the clerk.
    func describe(kind: String, data: JSONValue) throws -> (String, String?) {
        func roster(_ entity: String?) -> String {
            let p = (entity ?? "").split(separator: "/")
            return p.count == 5 ? "清册 \(p[2]) \(p[3]) 第 \(p[4]) 批" : "清册 \(entity ?? "")"
        }
        switch kind {
        case "policy.version":
            let n = data["programs"].flatMap { if case .array(let a) = $0 { a.count } else { nil } } ?? 0
            let withdrawn = try db.all("SELECT code FROM program WHERE origin = 'withdrawn' ORDER BY code") { $0.text(0) }
            return ("县财政发布补贴政策清单第 \(data["version"]?.intValue ?? 0) 版（\(n) 个项目），本节点已采用"
                    + (withdrawn.isEmpty ? "" : "；本乡镇自行导入而县里清单没有的项目 \(withdrawn.joined(separator: "、")) 已停用"), nil)
        case "calendar.version":
            return ("县财政发布工作日历第 \(data["version"]?.intValue ?? 0) 版，本节点已采用", nil)
        case "roster.received":
            return ("\(roster(data["entity"]?.stringValue)) 县财政已收到", nil)
        case "roster.reviewed":
            if data["decision"]?.stringValue == "rejected" {
                return ("\(roster(data["entity"]?.stringValue)) 审核未通过，已退回：\(data["reason"]?.stringValue ?? "")",
                        "按退回理由改正后，用 ykt roster build 重新编制、ykt roster submit 重新报送")
            }
            return ("\(roster(data["entity"]?.stringValue)) 业务主管部门审核通过", nil)
        case "roster.approved":
            return ("\(roster(data["entity"]?.stringValue)) 县财政已审定，等待发放", nil)
        case "payment.result":
            var paid = 0, failed = 0
            if case .array(let lines)? = data["lines"] {
                for l in lines { if l["status"]?.stringValue == "paid" { paid += 1 } else { failed += 1 } }
            }
            return ("第 \(data["batch"]?.intValue ?? 0) 批发放结果：成功 \(paid) 笔，失败 \(failed) 笔",
                    failed > 0 ? "用 ykt payment list --status failed 查看失败的，核实新账户后用 ykt payment correct 更正" : nil)
        case "account.changed":
            let rid = data["residentId"]?.stringValue ?? ""
            return ("县财政按银行回报变更了 \(Masking.residentID(rid)) 的指定账户，本节点已采用", nil)
        case "conflict.decision":
            return try describeDecision(data)
        default:
            return (SyncWords.message(kind), nil)
        }
    }

    /// A decision in words: `keep-450223101` → 「由乡镇 450223101 登记」.
    static func decisionWords(_ decision: String) -> String {
        if decision.hasPrefix("keep-") { return "由乡镇 \(decision.dropFirst("keep-".count)) 登记" }
        switch decision {
        case "void": return "作废"
        case "township": return "以乡镇的为准"
        case "county": return "以县里的为准"
        default: return decision
        }
    }

    private func describeDecision(_ data: JSONValue) throws -> (String, String?) {
        let id = data["conflict"]?.intValue ?? 0
        let kind = data["kind"]?.stringValue ?? ""
        let decision = data["decision"]?.stringValue ?? ""
        let reason = data["reason"]?.stringValue ?? ""
        let me = config.nodeID
        let head = "冲突 \(id)（\(SyncWords.conflict(kind))）县里决定\(Self.decisionWords(decision))，理由：\(reason)。"
        switch kind {
        case "resident.two-townships", "resident.other-township":
            let rid = data["residentId"]?.stringValue
                ?? (data["entity"]?.stringValue).map { String($0.split(separator: "/").last ?? "") } ?? ""
            let here = try db.first("SELECT name, removed_at IS NOT NULL FROM beneficiary WHERE resident_id = ?", rid) { ($0.text(0), $0.bool(1)) }
            let person = here.map { "\($0.0)（\(Masking.residentID(rid))）" } ?? Masking.residentID(rid)
            let keeper = String(decision.dropFirst("keep-".count))
            if keeper == me { return (head + "\(person) 由本乡镇登记，无须办理", nil) }
            guard let here else { return (head + "\(person) 由乡镇 \(keeper) 登记；本乡镇底册没有此人，无须办理", nil) }
            if here.1 { return (head + "\(person) 由乡镇 \(keeper) 登记；本乡镇已移除此人", nil) }
            return (head + "\(person) 由乡镇 \(keeper) 登记，本乡镇须从底册移除此人",
                    "核实后运行 ykt beneficiary remove --conflict \(id)（全部此类决定：--conflict all）")
        case "account.both-sides":
            let account = data["account"]?["number"]?.stringValue ?? ""
            return (head + "现用账户为尾号 \(account.suffix(4)) 的账户，本节点已采用", nil)
        case "program.list":
            let voided = decision == "void" ? try voidedApplications(conflict: Int64(id)) : 0
            return (head + (data["detail"]?.stringValue ?? "") + (voided > 0 ? "本乡镇的这 \(voided) 条申请已随之作废。" : ""),
                    "用 ykt program list 查看县里的清单，按县里的项目用 ykt application add 或 import 重新录入这些申请")
        case "roster.already-accepted":
            return (head + "以县里已接收的清册为准，本次再次报送作废", nil)
        default:
            return (head, nil)
        }
    }
}
