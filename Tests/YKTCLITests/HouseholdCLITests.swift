import Foundation
import Testing
import YKTCore
import YKTDemo
import YKTTestSupport

/// Issue 20, item 4 through the built binary: the household head (户主) on `beneficiary add`,
/// `edit` and `show`, and a per-household program (the demo list's GY01, 按户) applied for by the
/// head only.
@Suite("ykt households (户主), black-box")
struct HouseholdCLITests {
    @Test("beneficiary add --head, a second head refused, edit --head hands over, show says 户主; a member's GY01 application refused")
    func heads() throws {
        let cli = CLI()
        #expect(try cli.run("init", "--township", "450223101", "--name", "寨沙镇").status == 0)
        let programs = cli.path("programs.csv")
        try CountyGenerator.programsCSV.write(toFile: programs, atomically: true, encoding: .utf8)
        try cli.receiveCountyCalendar(programs: programs)
        let alice = ResidentID.completing("45022319500101123"), bob = ResidentID.completing("45022319620315456")
        func add(_ id: String, _ name: String, _ card: String, head: Bool) throws -> CLI.Result {
            try cli.run(["beneficiary", "add", "--id", id, "--name", name, "--village", "大塘村", "--household", "0012",
                         "--bank", "农行", "--account", AccountNumber.completingLuhn(card), "--confirmation", "QR"] + (head ? ["--head"] : []))
        }
        #expect(try add(alice, "韦秀英", "622848000000000001", head: true).status == 0)
        let second = try add(bob, "覃建国", "622848000000000002", head: true)
        #expect(second.status == 1 && second.stderr.contains("YKT-HOUSEHOLD-HEADS") && second.stderr.contains("edit"), "\(second.stderr)")
        #expect(try add(bob, "覃建国", "622848000000000002", head: false).status == 0)
        #expect(try cli.run("beneficiary", "show", bob).stdout.contains("户主"))

        let member = try cli.run("application", "add", "--id", bob, "--program", "GY01", "--period", "2026", "--quantity", "3")
        #expect(member.status == 1 && member.stderr.contains("YKT-HOUSEHOLD-HEAD") && member.stderr.contains("户主是 韦秀英"), "\(member.stderr)")
        #expect(try cli.run("application", "add", "--id", alice, "--program", "GY01", "--period", "2026", "--quantity", "3").status == 0)

        let handed = try cli.run("beneficiary", "edit", bob, "--head")
        #expect(handed.status == 0, "\(handed.stderr)")
        let shown = try cli.run("beneficiary", "show", "--json", bob)
        #expect((try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])?["head"] as? Bool == true, "\(shown.stdout)")
        let twice = try cli.run("application", "add", "--id", bob, "--program", "GY01", "--period", "2026", "--quantity", "3")
        #expect(twice.status == 1 && twice.stderr.contains("YKT-HOUSEHOLD-DUPLICATE"), "\(twice.stderr)")
    }
}
