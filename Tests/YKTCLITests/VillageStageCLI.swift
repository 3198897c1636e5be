import Foundation
import Testing

extension CLI {
    /// The village stage of the two notices through the commands, for tests whose subject
    /// comes after it: each village with applications of `program` × `period` awaiting it
    /// records its representative meeting (`ykt meeting record`) and posts its village notice
    /// (`ykt notice open --meeting`) on `posted`; each is closed on `closed` (the clock is left
    /// there). Returns the village notices' numbers.
    @discardableResult
    func passVillageNotices(program: String, period: String = "2026", posted: String = "2026-09-21",
                            closed: String = "2026-09-29") throws -> [String] {
        try clock(posted)
        let listed = try run("application", "list", "--program", program, "--period", period, "--status", "recorded", "--json")
        let apps = (try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]) ?? []
        let villages = Set(apps.compactMap { $0["village"] as? String }).sorted()
        var notices: [String] = []
        for village in villages {
            let m = try run("meeting", "record", "--village", village, "--program", program, "--period", period, "--present", "20",
                            "--expected", "25", "--outcome", "评议通过，同意公示", "--date", posted, "--json")
            let meeting = (try JSONSerialization.jsonObject(with: Data(m.stdout.utf8)) as? [String: Any])?["id"] as? Int
            #expect(meeting != nil, "\(m.stderr)")
            let n = try run("notice", "open", "--meeting", String(meeting ?? 0), "--place", "\(village)村务公开栏", "--phone", "0772-6812345",
                            "--date", posted, "--json")
            let id = (try JSONSerialization.jsonObject(with: Data(n.stdout.utf8)) as? [String: Any])?["id"] as? Int
            #expect(id != nil, "\(n.stderr)")
            notices.append(String(id ?? 0))
        }
        try clock(closed)
        for n in notices {
            let r = try run("notice", "close", n, "--date", closed)
            #expect(r.status == 0, "\(r.stderr)")
        }
        return notices
    }

    /// Opens a township notice and returns its number.
    func openTownshipNotice(_ args: String...) throws -> (Result, String) {
        let r = try run(["notice", "open"] + args + ["--json"])
        let id = (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["id"] as? Int
        return (r, id.map(String.init) ?? "?")
    }
}
