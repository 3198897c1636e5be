import YKTCore

/// Who may run each command (docs/operators.md; `docs/commands.md` lists it per command). The
/// console's pages and actions name the command they do and are allowed by the same entry.
public enum Access: Sendable {
    /// No login: the command touches no node data, or shows only what is public (a node's
    /// public key, the published calendar, the policy list).
    case open
    /// The node's own service (`ykt serve`, `ykt sync`, run by the system's scheduler): it
    /// carries only what operators already decided and signed; its audit entries name it.
    case service
    /// A logged-in operator holding one of `roles` (on the kind of node the command runs on);
    /// `signedAt` lists the nodes where the command is a decision that asks for the password
    /// again and is signed.
    case roles(Set<OperatorRole>, signedAt: Set<NodeConfig.Role> = [])
    /// Any logged-in operator (their own session: whoami, logout).
    case loggedIn

    /// The operator name the service's audit entries carry.
    public static let serviceName = "同步服务"

    public static let countyRoles: Set<OperatorRole> = [.administrator, .reviewer, .approver, .payments, .complaints, .auditor]
    public static let townshipRoles: Set<OperatorRole> = [.administrator, .clerk, .leader, .auditor]
    /// Reading lists (masked): anyone with a role on the node.
    public static let anyRole = Access.roles(countyRoles.union(townshipRoles))
    public static let admin = Access.roles([.administrator])
    public static let adminSigned = Access.roles([.administrator], signedAt: [.county, .township])

    /// The entry of a command, by its words (`"roster review"`); nil for a command not listed.
    /// A `switch`, not a dictionary: a command looks up one entry, and building the whole table
    /// (a hundred entries, most with sets of roles) cost a sixth of a millisecond at every start.
    public static func of(_ command: String) -> Access? {
        switch command {
        // Set-up and tools that touch no node data
        case "init", "docs commands", "docs errors", "demo generate": return .open
        case "key show", "calendar show", "calendar period", "calendar load", "program list": return .open
        case "bank simulate", "bank cards", "bank statement": return .open
        // The public query server: no node, only the published store and site
        case "public serve", "demo public-store": return .open
        // Sessions and accounts
        case "login", "operator bootstrap": return .open
        case "logout", "whoami", "password": return .loggedIn
        case "operator add", "operator disable", "operator enable": return adminSigned
        case "operator reset-password", "operator grant", "operator revoke": return adminSigned
        case "operator list": return .roles([.administrator, .auditor])
        case "backup": return admin
        // The service
        case "serve", "sync", "console": return .service
        // County administration
        case "township enrol": return .roles([.administrator], signedAt: [.county])
        case "township disable", "township enable": return .roles([.administrator], signedAt: [.county])
        case "township list": return .roles([.administrator, .auditor])
        case "key rotate": return adminSigned
        case "bank add", "bank edit": return .roles([.administrator], signedAt: [.county])
        case "policy publish", "calendar publish", "calendar correct": return admin
        case "conflicts resolve": return .roles([.administrator], signedAt: [.county])
        // Township register, applications, notices, rosters
        case "program load": return admin
        case "beneficiary import", "beneficiary add", "beneficiary edit": return .roles([.clerk])
        case "beneficiary remove": return .roles([.clerk])
        case "beneficiary show": return .roles([.clerk, .leader, .auditor])
        case "account change": return .roles([.clerk, .approver], signedAt: [.county])
        case "application add", "application import": return .roles([.clerk])
        case "meeting record": return .roles([.clerk])
        case "notice open", "notice close": return .roles([.clerk])
        case "notice print": return .roles([.clerk, .leader])
        case "objection add": return .roles([.clerk])
        case "objection settle": return .roles([.clerk, .leader])
        case "roster build": return .roles([.clerk])
        case "roster submit": return .roles([.leader], signedAt: [.township])
        // The summary table (汇总表): totals only, printed for the two signers.
        case "roster summary": return .roles([.clerk, .leader])
        case "payment correct": return .roles([.clerk])
        case "payment notice": return .roles([.clerk, .leader])
        case "card print": return .roles([.clerk, .leader])
        // County money
        case "roster review": return .roles([.reviewer], signedAt: [.county])
        case "roster approve": return .roles([.approver], signedAt: [.county])
        case "budget set": return .roles([.approver])
        case "batch dispatch", "bank receive": return .roles([.payments])
        case "batch reissue": return .roles([.payments], signedAt: [.county])
        case "reconcile": return .roles([.payments, .auditor])
        case "warnings run": return .roles([.reviewer, .approver, .payments])
        case "officials import", "deceased import": return .roles([.reviewer])
        case "warnings close": return .roles([.reviewer], signedAt: [.county])
        case "query": return .roles([.complaints])
        case "complaint add", "complaint close": return .roles([.complaints])
        case "complaint import": return .roles([.complaints])
        case "report monthly": return .roles([.approver, .payments, .auditor])
        // Counts of residents by account kind (no personal data), at the county and the township
        case "report carriers": return .roles([.reviewer, .approver, .payments, .auditor, .clerk, .leader])
        // The public channel (issue 18): the site is signed with the county node's key
        case "publish": return .roles([.administrator, .complaints])
        case "publish verify": return .open
        // Problem leads to the discipline commission: finance hands them over; `--full` (complete
        // IDs, complainants) only for an auditor, checked by `CountyNode.exportLeads`.
        case "leads list", "leads export": return .roles([.approver, .auditor])
        // Audit
        case "audit verify": return .roles([.auditor, .administrator])
        case "audit trace": return .roles([.auditor, .approver, .reviewer])
        case "audit list", "audit anchors": return .roles([.auditor, .administrator])
        // Reading (masked lists)
        case "application list", "notice list", "meeting list", "notice show", "objection list": return anyRole
        case "roster list", "roster show", "outbox list", "inbox list": return anyRole
        case "beneficiary list", "account history", "payment list": return anyRole
        case "budget list", "bank list", "batch list", "complaint list": return anyRole
        case "warnings list", "warnings show", "summary", "county totals": return anyRole
        case "conflicts list", "conflicts show": return anyRole
        // The day's overview (counts and masked lines only)
        case "status": return anyRole
        default: return nil
        }
    }

    /// Whether an operator holding `grants` may do `command` on a node of kind `node` (any
    /// logged-in operator for `.loggedIn`; never for `.service`, which no operator runs).
    public static func allows(_ command: String, grants: [OperatorGrant], on node: NodeConfig.Role) -> Bool {
        switch of(command) {
        case .open, .loggedIn: return true
        case .roles(let roles, _): return grants.contains { roles.contains($0.role) && $0.role.applies(to: node) }
        case .service, nil: return false
        }
    }

    /// Whether the command asks for the password and signs on a node of this kind.
    public func signs(on node: NodeConfig.Role) -> Bool {
        if case .roles(_, let at) = self { return at.contains(node) }
        return false
    }

    /// One line for docs/commands.md.
    public var documented: String {
        switch self {
        case .open: return "无须登录"
        case .service: return "节点服务（定时任务运行，不用登录；审计日志记为「\(Self.serviceName)」）"
        case .loggedIn: return "已登录的任何经办人"
        case .roles(let roles, let at):
            var parts: [String] = []
            for (node, name) in [(NodeConfig.Role.county, "县级"), (.township, "乡镇")] {
                let names = OperatorRole.allCases.filter { roles.contains($0) && $0.applies(to: node) }.map(\.chinese)
                if !names.isEmpty { parts.append("\(name)：" + names.joined(separator: "、") + (at.contains(node) ? "（须再次输入口令，本人签名）" : "")) }
            }
            return parts.joined(separator: "；")
        }
    }
}
