import YKTNode
import YKTTownship

extension TownshipNode {
    /// The login of the township leader who submits the rosters tests build.
    public static let testLeader = "leader"

    /// Submits roster `id` as the township leader `leader` (made when missing), then acts again
    /// as whoever acted before. The summary table (汇总表) is signed by two people, so whoever
    /// built a roster cannot also submit it: tests build as their clerk and submit with this.
    /// `try t.submitAsLeader(try t.buildRoster(…).id)` builds as the clerk (the argument is
    /// evaluated first), then submits as the leader.
    @discardableResult
    public func submitAsLeader(_ id: Int64) throws -> RosterRecord {
        let before = operatorName
        try actAs(Self.testLeader, .leader)
        defer { try? become(before) }
        return try submitRoster(id)
    }
}
