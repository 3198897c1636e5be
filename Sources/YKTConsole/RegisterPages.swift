import Foundation
import YKTCore
import YKTNode
import YKTTownship

/// The township's register (底册): search, one person with the account history, add, edit,
/// account change, the audited full view, removal; and the imports of a village register or
/// an application list. Each page calls what the CLI command of the same name calls.
/// People are addressed by their row number in the register (`/register/12`), never by their
/// resident ID (which would put it in addresses, history and logs).
enum RegisterPages {
    static let pages: [ConsolePage] = [
        ConsolePage("GET", "/register", node: .township, command: "beneficiary list", menu: ("底册", "底册查询"), handler: list),
        ConsolePage("GET", "/register/new", node: .township, command: "beneficiary add", menu: ("底册", "登记对象"), handler: addForm),
        ConsolePage("POST", "/register/new", node: .township, command: "beneficiary add", handler: add),
        ConsolePage("GET", "/register/:id", node: .township, command: "beneficiary show", handler: show),
        ConsolePage("GET", "/register/:id/edit", node: .township, command: "beneficiary edit", handler: editForm),
        ConsolePage("POST", "/register/:id/edit", node: .township, command: "beneficiary edit", handler: edit),
        ConsolePage("GET", "/register/:id/account", node: .township, command: "account change", handler: accountForm),
        ConsolePage("POST", "/register/:id/account", node: .township, command: "account change", handler: changeAccount),
        ConsolePage("GET", "/register/:id/full", node: .township, command: "beneficiary show", handler: full),
        ConsolePage("POST", "/register/:id/remove", node: .township, command: "beneficiary remove", handler: remove),
        ConsolePage("GET", "/import", node: .township, command: "beneficiary import", menu: ("底册", "导入底册"), handler: importForm),
        ConsolePage("POST", "/import", node: .township, command: "beneficiary import", handler: importRegister),
        ConsolePage("GET", "/import/progress", node: .township, command: "beneficiary import", handler: registerProgress),
        ConsolePage("GET", "/import/file", node: .township, command: "beneficiary import", handler: importFile),
        ConsolePage("GET", "/applications/import", node: .township, command: "application import", handler: applicationImportForm),
        ConsolePage("POST", "/applications/import", node: .township, command: "application import", handler: importApplications),
        ConsolePage("GET", "/applications/import/progress", node: .township, command: "application import", handler: applicationProgress),
        ConsolePage("GET", "/applications/import/file", node: .township, command: "application import", handler: importFile),
    ]

    // MARK: The register

    @Sendable static func list(_ c: ConsoleContext) throws -> WebResponse {
        let node = c.township
        let q = c.value("q"), village = c.value("village")
        let total = try node.searchBeneficiaries(query: q, village: village, offset: 0, limit: 0).total
        let pager = c.pager(total: total)
        let rows = try node.searchBeneficiaries(query: q, village: village, offset: pager.offset, limit: pager.limit).rows
        var options: HTML = "<option value=\"\">（全部村）</option>"
        for v in try node.villages() {
            options += v == village ? "<option selected>\(v)</option>" : "<option>\(v)</option>"
        }
        // A whole resident ID typed in is not written back into the page: its last four find the same person.
        let shownQuery = q.map { $0.count == 18 && $0.allSatisfy { $0.isASCII && ($0.isNumber || $0 == "X" || $0 == "x") } ? String($0.suffix(4)) : $0 }
        var body: HTML = """
            <form method="get" action="/register" id="register-search" class="form">
            <label>姓名、村或身份证号（全号或后四位）<input name="q" value="\(shownQuery ?? "")"></label>
            <label>村（社区）<select name="village">\(options)</select></label>
            <button type="submit">查询</button></form>
            """
        var actions: [HTML] = []
        if c.can("beneficiary add") { actions.append(Markup.link("/register/new", "登记新对象")) }
        if c.can("beneficiary import") { actions.append(Markup.link("/import", "导入村里报来的底册")) }
        if !actions.isEmpty { body += "<p>\(HTML.join(actions, "　"))</p>" }
        body += "<div id=\"register-list\">" + Markup.table(["村（社区）", "姓名", "身份证号", "开户银行", "账号", ""], rows.map { b in
            [HTML(stringLiteral: b.village), "\(b.name)", "\(b.maskedID)", "\(b.account?.bank ?? "")", "\(b.account?.masked ?? "")",
             Markup.link("/register/\(b.id)", "查看")]
        }, empty: q == nil && village == nil ? "底册还是空的。" : "没有符合条件的补贴对象。") + "</div>" + pager.links
        return c.page("底册", body)
    }

    static func person(_ c: ConsoleContext) throws -> BeneficiaryRecord {
        guard let b = try c.township.findBeneficiary(row: try c.id()) else { throw ConsoleServer.NotFound() }
        return b
    }

    static func accountFields(_ c: ConsoleContext) -> HTML {
        let kind = c.value("account_kind") ?? "card"
        return """
            <label>开户银行<input name="bank" required value="\(c.value("bank") ?? "")"></label>
            <label>账户类型<select name="account_kind"><option value="card"\(kind == "card" ? " selected" : "")>银行卡</option><option value="social-security-card"\(kind == "social-security-card" ? " selected" : "")>社保卡</option><option value="passbook"\(kind == "passbook" ? " selected" : "")>存折</option></select></label>
            <label>账号<input name="account" required inputmode="numeric" autocomplete="off" value="\(c.value("account") ?? "")"></label>
            <label>本人签字确认书编号<input name="confirmation" required value="\(c.value("confirmation") ?? "")"></label>
            <label>共用账户理由（账号已是他人指定账户时）<input name="shared_reason" value="\(c.value("shared_reason") ?? "")"></label>
            """
    }

    /// The account typed on a form, checked as the CLI checks `--bank --account --account-kind --confirmation`.
    static func accountInput(_ c: ConsoleContext) throws -> AccountInput {
        let kind: AccountKind
        do { kind = try AccountKind(parsing: c.value("account_kind") ?? "card") } catch { throw error.located(SourceLocation(field: "账户类型")) }
        let number: AccountNumber
        do { number = try AccountNumber(try c.require("account", "账号"), kind: kind) } catch let e as YKTError {
            throw e.location == nil ? e.located(SourceLocation(field: "账号")) : e
        }
        return AccountInput(bank: try c.require("bank", "开户银行"), number: number,
                            confirmation: try c.require("confirmation", "本人签字确认书编号"), sharedReason: c.value("shared_reason"))
    }

    @Sendable static func addForm(_ c: ConsoleContext) throws -> WebResponse {
        c.page("登记补贴对象", addMarkup(c, error: nil))
    }

    static func addMarkup(_ c: ConsoleContext, error: YKTError?) -> HTML {
        let fields: HTML = """
            <label>身份证号<input name="id" required maxlength="18" autocomplete="off" value="\(c.value("id") ?? "")"></label>
            <label>姓名<input name="name" required value="\(c.value("name") ?? "")"></label>
            <label>村（社区）<input name="village" required value="\(c.value("village") ?? "")"></label>
            <label>户号<input name="household" value="\(c.value("household") ?? "")"></label>
            <label><input type="checkbox" name="head" value="1"\(c.value("head") != nil ? " checked" : "")> 户主（须填户号；一户只能有一个户主）</label>
            <label>联系电话<input name="phone" inputmode="tel" value="\(c.value("phone") ?? "")"></label>
            """ + accountFields(c)
        return (error.map(Markup.error) ?? "") + formWithID("register-add", c.form("/register/new", fields, submit: "登记"))
    }

    /// Gives a form made by `c.form` its stable id (for the keyboard, and the Selenium driver).
    static func formWithID(_ id: String, _ form: HTML) -> HTML {
        HTML(trusted: form.text.replacingOccurrences(of: "<form ", with: "<form id=\"\(HTML.escape(id))\" ", options: [], range: form.text.range(of: "<form ")))
    }

    @Sendable static func add(_ c: ConsoleContext) throws -> WebResponse {
        do {
            let id: ResidentID
            do { id = try ResidentID(try c.require("id", "身份证号"), today: c.today) } catch let e as YKTError {
                throw e.location == nil ? e.located(SourceLocation(field: "身份证号")) : e
            }
            let b = try c.township.register(BeneficiaryInput(
                residentID: id, name: try c.require("name", "姓名"), village: try c.require("village", "村（社区）"),
                household: c.value("household") ?? "", phone: c.value("phone") ?? "", account: try accountInput(c),
                head: c.value("head") != nil))
            return c.redirect("/register/\(b.id)", notice: "已登记 \(b.name)（\(b.maskedID)），指定账户 \(b.account?.masked ?? "")")
        } catch let e as YKTError {
            return c.page("登记补贴对象", addMarkup(c, error: e), status: 400)
        }
    }

    @Sendable static func show(_ c: ConsoleContext) throws -> WebResponse {
        let node = c.township
        let b = try person(c)
        let removed = try node.removal(of: b)
        var pairs: [(String, HTML)] = [
            ("姓名", "\(b.name)"), ("身份证号", "\(b.maskedID)"), ("村（社区）", "\(b.village)"), ("户号", "\(b.household)"), ("户主", "\(b.household.isEmpty ? "" : (b.head ? "是" : "否"))"),
            ("联系电话", "\(b.phone.isEmpty ? "" : Masking.phone(b.phone))"),
        ]
        if let a = b.account {
            pairs += [("开户银行", "\(a.bank)"), ("账户类型", "\(a.kind.chinese)"), ("账号", "\(a.masked)"), ("确认书编号", "\(a.confirmation)")]
            if let r = a.sharedReason { pairs.append(("共用账户理由", "\(r)")) }
        }
        pairs += [("版本", "\(b.version)"), ("登记时间", "\(Markup.when(b.createdAt))"), ("最后修改", "\(Markup.when(b.updatedAt))")]
        var body: HTML = ""
        if let removed {
            body += Markup.box("warn", "已于 \(String(removed.at.prefix(10))) 从底册移除：\(removed.reason)（只可查看，不能再办理）")
        }
        body += Markup.fields(pairs)
        var actions: [HTML] = [Markup.link("/register/\(b.id)/full", "查看完整信息（记入审计日志）")]
        if removed == nil {
            if c.can("beneficiary edit") { actions.append(Markup.link("/register/\(b.id)/edit", "修改信息")) }
            if c.can("account change") { actions.append(Markup.link("/register/\(b.id)/account", "变更指定账户")) }
        }
        body += "<p>\(HTML.join(actions, "　"))</p>"
        // The history of the designated account (`account history`; masked). A removed person's
        // history is read directly: the library refuses to act on them, not to show them.
        let history = removed == nil ? try node.accountHistory(try ResidentID(b.residentID, today: c.today)) : []
        body += "<h2>指定账户变更历史</h2>" + "<div id=\"account-history\">" + Markup.table(["启用时间", "停用时间", "开户银行", "类型", "账号", "确认书编号"], history.map {
            ["\(Markup.when($0.validFrom))", "\($0.replacedAt.map(Markup.when) ?? "（现用）")", "\($0.bank)", "\($0.kind.chinese)", "\($0.masked)", "\($0.confirmation)"]
        }) + "</div>"
        if removed == nil, c.can("beneficiary remove") {
            body += "<h2>从底册移除</h2><p class=\"muted\">此人的记录、账户和历史保留；未编入清册的申请一并撤回；下次同步时报送县财政。</p>"
            body += formWithID("register-remove", c.form("/register/\(b.id)/remove",
                                                         "<label>移除理由<input name=\"reason\" required size=\"40\"></label>",
                                                         submit: "从底册移除", danger: true))
        }
        return c.page("\(b.name)（\(b.maskedID)）", body)
    }

    @Sendable static func full(_ c: ConsoleContext) throws -> WebResponse {
        let b = try person(c)
        // The same object name `ykt beneficiary show` records.
        try c.disclose("beneficiary#\(b.id) \(b.maskedID)")
        var pairs: [(String, HTML)] = [
            ("姓名", "\(b.name)"), ("身份证号", "<span id=\"full-resident-id\">\(b.residentID)</span>"), ("村（社区）", "\(b.village)"),
            ("户号", "\(b.household)"), ("联系电话", "\(b.phone)"),
        ]
        if let a = b.account {
            pairs += [("开户银行", "\(a.bank)"), ("账户类型", "\(a.kind.chinese)"), ("账号", "\(a.number)"), ("确认书编号", "\(a.confirmation)")]
        }
        let body = Markup.box("warn", "本页显示完整个人信息，查看已记入审计日志。请勿截屏外传。") + Markup.fields(pairs)
            + "<p>\(Markup.link("/register/\(b.id)", "返回（脱敏显示）"))</p>"
        return c.page("\(b.name) 完整信息", body)
    }

    static func editMarkup(_ c: ConsoleContext, _ b: BeneficiaryRecord, error: YKTError?) -> HTML {
        let fields: HTML = """
            <label>姓名<input name="name" required value="\(c.value("name") ?? b.name)"></label>
            <label>村（社区）<input name="village" required value="\(c.value("village") ?? b.village)"></label>
            <label>户号<input name="household" value="\(c.request.form["household"] ?? b.household)"></label>
            \(b.head ? HTML(trusted: "<p>此人是本户户主。</p>") : HTML(trusted: "<label><input type=\"checkbox\" name=\"head\" value=\"1\"> 定为户主（原户主改为成员）</label>"))
            <label>新的联系电话（不改则留空）<input name="phone" inputmode="tel" placeholder="\(b.phone.isEmpty ? "（无）" : Masking.phone(b.phone))" value="\(c.request.form["phone"] ?? "")"></label>
            <label><input type="checkbox" name="phone_clear" value="1"> 删除联系电话</label>
            """
        return (error.map(Markup.error) ?? "") + "<p>身份证号 \(b.maskedID) 不能修改。</p>"
            + formWithID("register-edit", c.form("/register/\(b.id)/edit", fields, submit: "保存修改"))
    }

    @Sendable static func editForm(_ c: ConsoleContext) throws -> WebResponse {
        let b = try person(c)
        return c.page("修改 \(b.name) 的信息", editMarkup(c, b, error: nil))
    }

    @Sendable static func edit(_ c: ConsoleContext) throws -> WebResponse {
        let b = try person(c)
        // Only what was changed on the form is sent, as the CLI sends only the options given.
        func changed(_ name: String, _ old: String) -> String? {
            let new = (c.request.form[name] ?? old).trimmingCharacters(in: .whitespacesAndNewlines)
            return new == old ? nil : new
        }
        // The phone is never written into the form (it is personal data): a blank field keeps it.
        let typed = c.value("phone")
        let newPhone: String? = c.value("phone_clear") != nil ? (b.phone.isEmpty ? nil : "") : typed.flatMap { $0 == b.phone ? nil : $0 }
        do {
            let after = try c.township.edit(try ResidentID(b.residentID, today: c.today), BeneficiaryEdit(
                name: changed("name", b.name), village: changed("village", b.village),
                household: changed("household", b.household), phone: newPhone, head: c.value("head") != nil ? true : nil))
            return c.redirect("/register/\(b.id)", notice: "已修改 \(after.name)（\(after.maskedID)），版本 \(after.version)")
        } catch let e as YKTError {
            return c.page("修改 \(b.name) 的信息", editMarkup(c, b, error: e), status: 400)
        }
    }

    static func accountMarkup(_ c: ConsoleContext, _ b: BeneficiaryRecord, error: YKTError?) -> HTML {
        (error.map(Markup.error) ?? "")
            + "<p>现用指定账户：\(b.account.map { "\($0.bank) \($0.masked)" } ?? "（无）")。变更须有本人签字的确认书，旧账户留存在历史中。</p>"
            + formWithID("account-change", c.form("/register/\(b.id)/account", accountFields(c), submit: "变更指定账户"))
    }

    @Sendable static func accountForm(_ c: ConsoleContext) throws -> WebResponse {
        let b = try person(c)
        return c.page("变更 \(b.name) 的指定账户", accountMarkup(c, b, error: nil))
    }

    @Sendable static func changeAccount(_ c: ConsoleContext) throws -> WebResponse {
        let b = try person(c)
        do {
            let after = try c.township.changeAccount(try ResidentID(b.residentID, today: c.today), to: try accountInput(c))
            return c.redirect("/register/\(b.id)", notice: "已变更 \(after.name)（\(after.maskedID)）的指定账户为 \(after.account?.bank ?? "") \(after.account?.masked ?? "")")
        } catch let e as YKTError {
            return c.page("变更 \(b.name) 的指定账户", accountMarkup(c, b, error: e), status: 400)
        }
    }

    @Sendable static func remove(_ c: ConsoleContext) throws -> WebResponse {
        let b = try person(c)
        let withdrawn = try c.township.removeBeneficiary(try ResidentID(b.residentID, today: c.today), reason: c.value("reason") ?? "")
        return c.redirect("/register", notice: "已从底册移除 \(b.name)（\(b.maskedID)）" + (withdrawn > 0 ? "，撤回其未编入清册的申请 \(withdrawn) 条" : "")
                          + "；下次同步时报送县财政")
    }

    // MARK: Imports

    /// One kind of import: the register or the application list.
    struct ImportKind: Sendable {
        var path: String
        var formID: String
        var title: String
        var what: String
        var columns: [CSVColumn]
        var run: @Sendable (TownshipNode, String, ImportOptions) throws -> ImportResult
    }

    static let register = ImportKind(path: "/import", formID: "import-upload", title: "导入底册", what: "补贴对象", columns: TownshipNode.registerColumns) {
        try $0.importBeneficiaries(path: $1, options: $2)
    }
    static let applications = ImportKind(path: "/applications/import", formID: "application-import", title: "导入申请", what: "申请",
                                         columns: TownshipNode.applicationFileColumns) {
        try $0.importApplications(path: $1, options: $2)
    }

    static func uploadForm(_ c: ConsoleContext, _ kind: ImportKind) -> HTML {
        let fields: HTML = """
            <label>CSV 文件<input type="file" name="file" accept=".csv,text/csv" required></label>
            <label>编码<select name="encoding"><option value="auto">自动识别（UTF-8/GB18030）</option><option value="utf-8">UTF-8</option><option value="gb18030">GB18030（WPS/Excel 另存的 CSV）</option></select></label>
            <fieldset><legend>有错误行时</legend>
            <label><input type="radio" name="mode" value="all" checked> 整批要么全部导入，要么全不导入（默认）</label>
            <label><input type="radio" name="mode" value="keep-good"> 只导入正确的行，错误行写入错误行文件</label></fieldset>
            """
        return formWithID(kind.formID, c.form(kind.path, fields, submit: "上传并导入", multipart: true))
    }

    @Sendable static func importForm(_ c: ConsoleContext) throws -> WebResponse {
        let columns = TownshipNode.registerColumns.map { $0.label + ($0.required ? "" : "（可省）") }.joined(separator: ",")
        var body: HTML = "<p>村里报来的底册（CSV，UTF-8 或 GB18030）。列：\(columns)。</p>" + uploadForm(c, register)
        if c.can("application import") { body += "<p>\(Markup.link("/applications/import", "导入申请名单"))</p>" }
        return c.page("导入底册", body)
    }

    @Sendable static func applicationImportForm(_ c: ConsoleContext) throws -> WebResponse {
        let columns = TownshipNode.applicationFileColumns.map { $0.label + ($0.required ? "" : "（可省）") }.joined(separator: ",")
        return c.page("导入申请", "<p>申请名单（CSV），村评议结果一并导入。列：\(columns)。</p>" + uploadForm(c, applications))
    }

    @Sendable static func importRegister(_ c: ConsoleContext) throws -> WebResponse { try runImport(c, register) }
    @Sendable static func importApplications(_ c: ConsoleContext) throws -> WebResponse { try runImport(c, applications) }

    /// The folder under the node's `out` where the console keeps what one import wrote.
    static let uploads = "console-imports"

    /// Imports started from the console: who started each (only they see its outcome) and,
    /// once done, its outcome page and status.
    final class Runs: @unchecked Sendable {
        // Safe: `runs` is guarded by `lock`.
        private let lock = NSLock()
        private var runs: [String: (login: String, outcome: HTML?, status: Int)] = [:]
        func start(_ id: String, login: String) { lock.withLock { runs[id] = (login, nil, 200) } }
        func finish(_ id: String, _ outcome: HTML, status: Int) { lock.withLock { runs[id]?.outcome = outcome; runs[id]?.status = status } }
        func get(_ id: String) -> (login: String, outcome: HTML?, status: Int)? { lock.withLock { runs[id] } }
    }
    static let runs = Runs()

    /// Saves the upload in a folder of its own under `<node>/out/console-imports`, then runs the
    /// same import as the CLI on a thread of its own (the problem list and the rejects file
    /// written into that folder), as this operator, and sends the browser to its progress page.
    /// When the import is done the upload is removed and the outcome kept for that page.
    static func runImport(_ c: ConsoleContext, _ kind: ImportKind) throws -> WebResponse {
        guard let upload = c.request.files["file"], !upload.bytes.isEmpty else {
            throw YKTError(.usageValue, "请选择要导入的 CSV 文件", at: SourceLocation(field: "CSV 文件"), hint: "点「选择文件」选中村里报来的 CSV 后再提交")
        }
        let encoding: TextEncoding
        do { encoding = try TextEncoding(parsing: c.value("encoding") ?? "auto") } catch { throw error.located(SourceLocation(field: "编码")) }
        let keepGood = c.value("mode") == "keep-good"
        let stamp = ChinaTime.timestamp(c.township.now()).prefix(19).replacingOccurrences(of: ":", with: "").replacingOccurrences(of: "-", with: "")
        let folder = "\(stamp)-\(UUID().uuidString.prefix(8).lowercased())"
        let dir = (c.township.outputFolder as NSString).appendingPathComponent("\(uploads)/\(folder)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let given = upload.name.filter { $0 != "/" && $0 != "\\" && $0 != "\0" }
        let name = given.isEmpty || given.hasPrefix(".") ? "upload.csv" : given
        let saved = (dir as NSString).appendingPathComponent(name)
        guard FileManager.default.createFile(atPath: saved, contents: Data(upload.bytes), attributes: [.posixPermissions: 0o600]) else {
            throw YKTError(.fileWrite, "不能保存上传的文件", at: SourceLocation(file: dir), hint: "检查节点目录下 out 文件夹的权限和磁盘空间")
        }
        let stem = (name as NSString).deletingPathExtension
        let rejectsName = "导入错误行-\(stem).csv"
        let (directory, clock, token) = (c.directory, c.server.clock, c.token)
        runs.start(folder, login: c.session.login)
        _ = c.server.startJob("import-\(folder)") { job in
            defer { try? FileManager.default.removeItem(atPath: saved) }
            let options = ImportOptions(encoding: encoding, keepGood: keepGood,
                                        rejectsPath: keepGood ? (dir as NSString).appendingPathComponent(rejectsName) : nil,
                                        problemsDirectory: dir,
                                        progress: { @Sendable phase, done, total in job.say("\(phase)：\(done)/\(total) 行") })
            var body: HTML = ""
            var problems: [YKTError] = []
            var status = 200
            do {
                // The operator's own session, as each request opens the node.
                let node = try TownshipNode.open(directory: directory)
                if let clock { node.now = clock }
                _ = try node.act(session: token)
                job.say("已收到 \(name)（\(upload.bytes.count / 1024 + 1) KB），开始校验……")
                let r = try kind.run(node, saved, options)
                problems = r.details
                body += Markup.box(r.rejected > 0 ? "warn" : "ok",
                                   "<p id=\"import-outcome\">\(r.file)（\(r.encoding)）共 \(r.rows) 行：导入\(kind.what) \(r.imported) 条，错误 \(r.rejected) 行</p>")
                if r.rejectsFile != nil {
                    body += "<p>错误行已写入错误行文件，改正后可再次导入：\(Markup.link(kind.path + "/file", "下载 " + rejectsName, query: [("f", "\(folder)/\(rejectsName)")], className: "download"))</p>"
                }
            } catch let e as YKTError {
                status = e.code.exitStatus == .denied ? 403 : 400
                problems = e.details
                if e.code == .importRejected {
                    body += Markup.box("error", "<p id=\"import-outcome\"><strong>[\(e.code.rawValue)]</strong> \(e.message)</p><p>没有导入任何一行。按下表改正原文件后重新导入；或选「只导入正确的行」先导入正确的行。</p>")
                    if let list = try? FileManager.default.contentsOfDirectory(atPath: dir).first(where: { $0.hasPrefix("导入问题-") }) {
                        body += "<p>全部 \(e.details.count) 处问题的清单（可用 WPS/Excel 打开）：\(Markup.link(kind.path + "/file", "下载 " + list, query: [("f", "\(folder)/\(list)")], className: "download"))</p>"
                    }
                } else {
                    body += Markup.error(e)
                }
            } catch {
                status = 500
                body += Markup.box("error", "导入时出错：\(String(describing: error))")
            }
            if !problems.isEmpty {
                body += problemTable(saved: saved, encoding: encoding, columns: kind.columns, problems: problems)
            }
            runs.finish(folder, body, status: status)
            job.finish()
        }
        return .redirect(Markup.url(kind.path + "/progress", query: [("job", folder)]))
    }

    /// An import's progress while it runs (the page refreshes itself), then its outcome.
    static func progress(_ c: ConsoleContext, _ kind: ImportKind) throws -> WebResponse {
        guard let id = c.value("job"), let run = runs.get(id), run.login == c.session.login,
              let job = c.server.job("import-\(id)") else { throw ConsoleServer.NotFound() }
        guard job.isFinished, let outcome = run.outcome else {
            let here = Markup.url(kind.path + "/progress", query: [("job", id)])
            let body: HTML = "<p data-refresh id=\"import-running\">正在导入……（页面每秒刷新；也可点 <a id=\"import-refresh\" href=\"\(here)\">刷新</a>）</p>"
                + "<noscript><meta http-equiv=\"refresh\" content=\"1\"></noscript>"
                + "<pre class=\"progress\">\(job.progress.suffix(20).joined(separator: "\n"))</pre>"
            return c.page(kind.title, body)
        }
        return c.page(kind.title, outcome + "<h2>再导入一个文件</h2>" + uploadForm(c, kind), status: run.status)
    }

    @Sendable static func registerProgress(_ c: ConsoleContext) throws -> WebResponse { try progress(c, register) }
    @Sendable static func applicationProgress(_ c: ConsoleContext) throws -> WebResponse { try progress(c, applications) }

    /// Every problem, by line: the line's cells (IDs, accounts and phones masked) with each bad
    /// cell marked `class="bad"`, and the problems with their codes and what to do.
    static func problemTable(saved: String, encoding: TextEncoding, columns: [CSVColumn], problems: [YKTError]) -> HTML {
        guard let loaded = try? CSVFiles.load(path: saved, encoding: encoding),
              let header = try? CSVHeader(loaded.header, columns: columns, file: loaded.name) else {
            return Markup.table(["行号", "列", "错误代码", "错误说明", "怎么办"], problems.prefix(500).map { p in
                ["\(p.location?.line.map(String.init) ?? "")", "\(p.location?.field ?? "")", "\(p.code.rawValue)", "\(p.message)", "\(p.hint ?? "")"]
            })
        }
        // Which column each label names, and how a column's cells are masked.
        var position: [String: Int] = [:]
        var mask: [Int: (String) -> String] = [:]
        for col in header.columns {
            guard let p = header.positions[col.key] else { continue }
            position[col.label] = p
            switch col.key {
            case "residentID": mask[p] = Masking.residentID
            case "account": mask[p] = Masking.account
            case "phone": mask[p] = Masking.phone
            default: break
            }
        }
        var byLine: [Int: [YKTError]] = [:]
        var order: [Int] = []
        for p in problems {
            let line = p.location?.line ?? 0
            if byLine[line] == nil { order.append(line) }
            byLine[line, default: []].append(p)
        }
        let records = Dictionary(loaded.rows.map { ($0.line, $0) }, uniquingKeysWith: { a, _ in a })
        let shown = order.prefix(200)
        var out: HTML = "<h2>问题（\(problems.count) 处，\(order.count) 行）</h2>"
        if order.count > shown.count { out += "<p>下表列出前 \(shown.count) 行；全部问题见可下载的清单。</p>" }
        // The explanation comes right after the line number: it is what the clerk reads first, and
        // it stays in view at 1366 px however many columns the file has.
        out += "<div class=\"table-wrap\"><table id=\"import-problems\" class=\"problems\"><thead><tr><th class=\"num\">行号</th>"
        out += "<th class=\"why\">问题（错误代码、说明、怎么办）</th>"
        for h in loaded.header.fields { out += "<th>\(h)</th>" }
        out += "</tr></thead><tbody>"
        for line in shown {
            let errs = byLine[line] ?? []
            let bad = Set(errs.compactMap { $0.location?.field.flatMap { position[$0] } })
            let whole = errs.contains { $0.location?.field == nil }
            out += "<tr data-line=\"\(line)\"><td class=\"num\">\(line)</td>"
            out += "<td class=\"why\"><ul>"
            for e in errs {
                out += "<li><strong>[\(e.code.rawValue)]</strong> \(e.location?.field.map { "「\($0)」" } ?? "")\(e.message)\(e.hint.map { "。怎么办：\($0)" } ?? "")</li>"
            }
            out += "</ul></td>"
            let fields = records[line]?.fields ?? []
            for i in loaded.header.fields.indices {
                let raw = i < fields.count ? fields[i] : ""
                let text = raw.isEmpty ? "" : (mask[i]?(raw) ?? raw)
                let field = loaded.header.fields[i]
                out += bad.contains(i) || (whole && fields.count != loaded.header.fields.count)
                    ? "<td class=\"bad\" title=\"此格有误\" data-field=\"\(field)\">\(text.isEmpty ? "（空）" : text)</td>"
                    : "<td data-field=\"\(field)\">\(text)</td>"
            }
            out += "</tr>"
        }
        return out + "</tbody></table></div>"
    }

    /// A file an import wrote (problem list, rejects), from `<node>/out/console-imports` only:
    /// the name is `folder/file` as the outcome page linked it; `..`, absolute paths, anything
    /// that resolves (through a symlink) outside that folder, and anything not a regular file
    /// are refused. The rejects file holds personal data in full: serving it is recorded.
    @Sendable static func importFile(_ c: ConsoleContext) throws -> WebResponse {
        let relative = c.value("f") ?? ""
        let base = (c.township.outputFolder as NSString).appendingPathComponent(uploads)
        guard let path = safeFile(relative, under: base) else { throw ConsoleServer.NotFound() }
        guard let data = FileManager.default.contents(atPath: path) else { throw ConsoleServer.NotFound() }
        let name = (path as NSString).lastPathComponent
        if name.hasPrefix("导入错误行-") { try c.disclose("import-rejects \(relative)") }
        return .download(Array(data), name: name, type: "text/csv; charset=utf-8")
    }

    /// `relative` inside `base`, or nil: two parts (`folder/file`), no `.`/`..`, no hidden or
    /// empty part, the resolved path (symlinks followed) still under the resolved base, and a
    /// regular file.
    static func safeFile(_ relative: String, under base: String) -> String? {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !relative.contains("\\"), !relative.contains("\0"),
              parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.hasPrefix(".") }) else { return nil }
        let root = URL(fileURLWithPath: base).resolvingSymlinksInPath().path
        let path = URL(fileURLWithPath: base).appendingPathComponent(relative).resolvingSymlinksInPath().path
        guard path.hasPrefix(root + "/") else { return nil }
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path),
              attrs[.type] as? FileAttributeType == .typeRegular else { return nil }
        return path
    }
}
