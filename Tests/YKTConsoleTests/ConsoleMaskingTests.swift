import Foundation
import Testing
import YKTConsole
import YKTCore
import YKTNode
import YKTTestSupport
import YKTTownship

/// Personal data the operator typed is not written back into a page that is not the audited
/// full view (found by integration/console.sh's scan of every page it visits).
@Suite struct ConsoleMaskingTests {
    @Test func aRegisterSearchByTheWholeIDFindsThePersonWithoutShowingTheID() throws {
        let f = try ConsoleFixture()
        try f.township.actAs("weixy", .clerk)
        let id = "450223198811119765"
        let csv = """
            姓名,身份证号,村（社区）,户号,联系电话,开户银行,账户类型,账号,确认书编号
            韦华,\(id),大塘村,450223101001,15927235585,中国农业银行,银行卡,6228482404643602297,QR101-00001

            """
        _ = try f.township.importBeneficiaries(path: f.dir.write("register.csv", csv))
        let b = try f.browser(f.township)
        try b.login("weixy", password: TestOperators.password)
        let page = try b.get("/register?q=\(id)")
        #expect(page.status == 200)
        #expect(page.body.contains("韦华"))
        #expect(page.body.contains("共 1 条"))
        #expect(!page.body.contains(id))
        // What the search box keeps (the last four) finds the same person.
        #expect(page.body.contains("name=\"q\" value=\"9765\""))
        #expect(try b.get("/register?q=9765").body.contains("韦华"))
    }
}
