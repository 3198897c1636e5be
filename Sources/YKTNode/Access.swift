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

    public static let table: [String: Access] = [
        // Set-up and tools that touch no node data
        "init": .open, "docs commands": .open, "docs errors": .open, "demo generate": .open,
        "key show": .open, "calendar show": .open, "calendar period": .open, "calendar load": .open, "program list": .open,
        "bank simulate": .open, "bank cards": .open, "bank statement": .open,
        // The public query server: no node, only the published store and site
        "public serve": .open, "demo public-store": .open,
        // Sessions and accounts
        "login": .open, "operator bootstrap": .open, "logout": .loggedIn, "whoami": .loggedIn, "password": .loggedIn,
        "operator add": adminSigned, "operator disable": adminSigned, "operator enable": adminSigned,
        "operator reset-password": adminSigned, "operator grant": adminSigned, "operator revoke": adminSigned,
        "operator list": .roles([.administrator, .auditor]),
        "backup": admin,
        // The service
        "serve": .service, "sync": .service, "console": .service,
        // County administration
        "township enrol": .roles([.administrator], signedAt: [.county]),
        "township disable": .roles([.administrator], signedAt: [.county]), "township enable": .roles([.administrator], signedAt: [.county]),
        "township list": .roles([.administrator, .auditor]), "key rotate": adminSigned,
        "bank add": .roles([.administrator], signedAt: [.county]), "bank edit": .roles([.administrator], signedAt: [.county]),
        "policy publish": admin, "calendar publish": admin, "calendar correct": admin,
        "conflicts resolve": .roles([.administrator], signedAt: [.county]),
        // Township register, applications, notices, rosters
        "program load": admin,
        "beneficiary import": .roles([.clerk]), "beneficiary add": .roles([.clerk]), "beneficiary edit": .roles([.clerk]),
        "beneficiary remove": .roles([.clerk]),
        "beneficiary show": .roles([.clerk, .leader, .auditor]),
        "account change": .roles([.clerk, .approver], signedAt: [.county]),
        "application add": .roles([.clerk]), "application import": .roles([.clerk]),
        "meeting record": .roles([.clerk]),
        "notice open": .roles([.clerk]), "notice close": .roles([.clerk]), "notice print": .roles([.clerk, .leader]),
        "objection add": .roles([.clerk]), "objection settle": .roles([.clerk, .leader]),
        "roster build": .roles([.clerk]),
        "roster submit": .roles([.leader], signedAt: [.township]),
        // The summary table (汇总表): totals only, printed for the two signers.
        "roster summary": .roles([.clerk, .leader]),
        "payment correct": .roles([.clerk]), "payment notice": .roles([.clerk, .leader]),
        "card print": .roles([.clerk, .leader]),
        // County money
        "roster review": .roles([.reviewer], signedAt: [.county]),
        "roster approve": .roles([.approver], signedAt: [.county]),
        "budget set": .roles([.approver]),
        "batch dispatch": .roles([.payments]), "bank receive": .roles([.payments]),
        "batch reissue": .roles([.payments], signedAt: [.county]),
        "reconcile": .roles([.payments, .auditor]),
        "warnings run": .roles([.reviewer, .approver, .payments]),
        "officials import": .roles([.reviewer]), "deceased import": .roles([.reviewer]),
        "warnings close": .roles([.reviewer], signedAt: [.county]),
        "query": .roles([.complaints]),
        "complaint add": .roles([.complaints]), "complaint close": .roles([.complaints]),
        "complaint import": .roles([.complaints]),
        "report monthly": .roles([.approver, .payments, .auditor]),
        // Counts of residents by account kind (no personal data), at the county and the township
        "report carriers": .roles([.reviewer, .approver, .payments, .auditor, .clerk, .leader]),
        // The public channel (issue 18): the site is signed with the county node's key
        "publish": .roles([.administrator, .complaints]), "publish verify": .open,
        // Problem leads to the discipline commission: finance hands them over; `--full` (complete
        // IDs, complainants) only for an auditor, checked by `CountyNode.exportLeads`.
        "leads list": .roles([.approver, .auditor]), "leads export": .roles([.approver, .auditor]),
        // Audit
        "audit verify": .roles([.auditor, .administrator]), "audit trace": .roles([.auditor, .approver, .reviewer]),
        "audit list": .roles([.auditor, .administrator]), "audit anchors": .roles([.auditor, .administrator]),
        // Reading (masked lists)
        "application list": anyRole, "notice list": anyRole, "meeting list": anyRole, "notice show": anyRole, "objection list": anyRole,
        "roster list": anyRole, "roster show": anyRole, "outbox list": anyRole, "inbox list": anyRole,
        "beneficiary list": anyRole, "account history": anyRole, "payment list": anyRole,
        "budget list": anyRole, "bank list": anyRole, "batch list": anyRole, "complaint list": anyRole,
        "warnings list": anyRole, "warnings show": anyRole, "summary": anyRole, "county totals": anyRole,
        "conflicts list": anyRole, "conflicts show": anyRole,
        // The day's overview (counts and masked lines only)
        "status": anyRole,
    ]

    /// The entry of a command, by its words (`"roster review"`).
    public static func of(_ command: String) -> Access? { table[command] }

    /// Whether an operator holding `grants` may do `command` on a node of kind `node` (any
    /// logged-in operator for `.loggedIn`; never for `.service`, which no operator runs).
    public static func allows(_ command: String, grants: [OperatorGrant], on node: NodeConfig.Role) -> Bool {
        switch table[command] {
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
