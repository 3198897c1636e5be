import YKTCore
import YKTNode

extension TownshipNode {
    /// The township's decisions as its tables record them (a submitted roster is the leader's
    /// signed sign-off), each of which must rest on a signed audit entry.
    public func decidedRows() throws -> [OperatorAudit.Decided] {
        guard try !operators.isEmpty else { return [] }
        return try db.all("SELECT id FROM roster WHERE status = 'submitted'") { r in
            OperatorAudit.Decided(what: "清册 \(r.int64(0)) 的报送", action: "roster.submit", login: nil, token: "roster#\(r.int64(0))")
        }
    }
}
