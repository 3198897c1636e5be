import Foundation
import Testing
import YKTCore
import YKTTestSupport

/// Issue 20, item 3 through the built binary: 社保卡 as an account kind in the register import
/// and `account change`, and `ykt report carriers` at the township and the county.
@Suite("ykt report carriers and the social security card, black-box")
struct CarrierCLITests {
    @Test("the demo register's 社保卡 rows are counted as social security cards; re-declaring one with account change moves it; --json, --out CSV and the county's report")
    func carriers() throws {
        let cli = CLI()
        try cli.demoTownship(seed: 11, villages: 2, people: 15)
        try cli.receiveCountyCalendar(programs: cli.path("data/programs.csv"))
        let register = try String(contentsOfFile: cli.path("data/450223101-register.csv"), encoding: .utf8)
        let rows = register.split(whereSeparator: \.isNewline).dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let kinds = rows.map { $0[6] }
        #expect(kinds.count == 30 && kinds.filter { $0 == "社保卡" }.count > kinds.count / 2)   // the demo: most on the card
        #expect(try cli.run("beneficiary", "import", cli.path("data/450223101-register.csv")).status == 0)

        func counts() throws -> (ssc: Int, card: Int, passbook: Int) {
            let r = try cli.run("report", "carriers", "--json")
            #expect(r.status == 0, "\(r.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            let register = json?["register"] as? [[String: Any]] ?? []
            #expect(register.count == 2)   // two villages
            func sum(_ key: String) -> Int { register.reduce(0) { $0 + ($1[key] as? Int ?? 0) } }
            return (sum("socialSecurityCard"), sum("otherCard"), sum("passbook"))
        }
        let before = try counts()
        #expect(before.ssc == kinds.filter { $0 == "社保卡" }.count && before.card == kinds.filter { $0 == "银行卡" }.count
                && before.passbook == kinds.filter { $0 == "存折" }.count)

        // A bank card declared a social security card (same number): counted as one.
        let bank = try #require(rows.first { $0[6] == "银行卡" })
        let same = try cli.run("account", "change", bank[1], "--bank", bank[5], "--account", bank[7], "--confirmation", "QR-社保", "--account-kind", "银行卡")
        #expect(same.status != 0 && same.stderr.contains("YKT-ACCOUNT-UNCHANGED"))
        let changed = try cli.run("account", "change", bank[1], "--bank", bank[5], "--account", bank[7], "--confirmation", "QR-社保",
                                  "--account-kind", "社保卡")
        #expect(changed.status == 0, "\(changed.stderr)")
        let after = try counts()
        #expect(after.ssc == before.ssc + 1 && after.card == before.card - 1)
        #expect(try cli.run("account", "history", bank[1]).stdout.contains("社保卡"))
        let badKind = try cli.run("account", "change", bank[1], "--bank", bank[5], "--account", bank[7], "--confirmation", "QR-1",
                                  "--account-kind", "医保卡")
        #expect(badKind.status == 3 && badKind.stderr.contains("YKT-ACCOUNT-KIND") && badKind.stderr.contains("社保卡"))

        // The table, and the CSV for WPS/Excel.
        let table = try cli.run("report", "carriers", "--out", cli.path("carriers.csv"))
        #expect(table.status == 0 && table.stdout.contains("社保卡（人）") && table.stdout.contains("合计") && table.stdout.contains("底册"))
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: cli.path("carriers.csv"))))
        #expect(bytes.starts(with: [0xEF, 0xBB, 0xBF]))   // the BOM WPS and Excel read as UTF-8
        let csv = String(decoding: bytes.dropFirst(3), as: UTF8.self)
        #expect(csv.hasPrefix("范围,乡镇,村（社区）,社保卡（人）,其他银行卡（人）,存折（人）,合计（人）,社保卡占比"))
        #expect(csv.contains("底册,寨沙镇,") && csv.contains("底册,合计,,\(after.ssc),\(after.card),\(after.passbook),30,"))
        #expect(try cli.run("report", "carriers", "--program", "XX99").stderr.contains("YKT-PROGRAM-UNKNOWN"))

        // The county's report runs (nothing synced yet: zero everywhere) for a county reader.
        let county = try cli.run("report", "carriers", "--node", cli.path("county"), "--period", "2026", "--json")
        #expect(county.status == 0, "\(county.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(county.stdout.utf8)) as? [String: Any]
        #expect((json?["rosters"] as? [Any])?.isEmpty == true && json?["period"] as? String == "2026")
    }
}
