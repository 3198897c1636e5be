import Foundation
import YKTCore
import YKTTownship

extension TownshipNode {
    /// The village stage of the two notices (村级公示) for tests whose subject comes after it:
    /// each village with passed applications of `program` × `period` awaiting it holds its
    /// representative meeting on `posted` (20 of 25 representatives present) and posts its
    /// village notice that day; each notice is closed on `closed`. The node's clock is set to
    /// each day as it goes (10:00 China time) and left on `closed`. Returns the notices.
    @discardableResult
    public func passVillageNotices(program: String, period: String = "2026", posted: String = "2026-02-02",
                                   closed: String = "2026-02-09") throws -> [NoticeRecord] {
        let postedOn = try CivilDate(parsing: posted), closedOn = try CivilDate(parsing: closed)
        let p = try Period(parsing: period)
        let villages = Set(try applications(program: program, period: period, status: .recorded).map(\.village)).sorted()
        setClock(postedOn)
        var notices: [NoticeRecord] = []
        for village in villages {
            let m = try recordMeeting(village: village, program: program, period: p, heldOn: postedOn, present: 20, expected: 25,
                                      outcome: "评议通过，同意公示")
            notices.append(try openNotice(program: program, period: p, postedOn: postedOn, place: "\(village)村务公开栏",
                                          phone: "0772-6812345", stage: .village, meeting: m.id))
        }
        setClock(closedOn)
        return try notices.map { try closeNotice($0.id, on: closedOn) }
    }

    private func setClock(_ day: CivilDate) {
        let instant = day.instantInChina(hour: 10)
        now = { instant }
    }
}
