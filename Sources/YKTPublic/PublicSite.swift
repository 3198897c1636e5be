import Foundation
import YKTCore
import YKTNode

/// Writes the public site (`DIR/site/…`, docs/public.md): static HTML in Chinese, readable on a
/// phone, with a CSV beside every table, every text escaped. What it writes is what it is
/// given: masking and leaving out secret programs is the county's gathering's work
/// (`CountyNode.publicSiteContent`), and is checked again by the tests on every file.
public enum PublicSite {
    /// What was written: the files (relative to the site folder) and the counts and totals
    /// the publish prints.
    public struct Written: Sendable, Codable {
        public var files: [String] = []
        public var policies = 0
        public var notices = 0
        public var noticeLines = 0
        public var rosters = 0
        public var paymentLines = 0
        public var paid = 0
        public var paidFen: Int64 = 0
        public var failed = 0
        public var failedFen: Int64 = 0
        public var pending = 0
        public var pendingFen: Int64 = 0
    }

    /// Per village of a roster: people, paid, failed, in progress.
    struct Tally {
        var people = 0, paid = 0, failed = 0, pending = 0
        var fen: Int64 = 0, paidFen: Int64 = 0, failedFen: Int64 = 0, pendingFen: Int64 = 0

        mutating func add(_ l: PublicSiteContent.PaymentLine) {
            people += 1
            fen += l.amountFen
            switch l.outcome {
            case .paid: paid += 1; paidFen += l.amountFen
            case .failed: failed += 1; failedFen += l.amountFen
            case .pending: pending += 1; pendingFen += l.amountFen
            }
        }

        mutating func add(_ t: Tally) {
            people += t.people; paid += t.paid; failed += t.failed; pending += t.pending
            fen += t.fen; paidFen += t.paidFen; failedFen += t.failedFen; pendingFen += t.pendingFen
        }

        var cells: [String] {
            [String(people), Fen(fen).yuanGrouped, String(paid), Fen(paidFen).yuanGrouped, String(failed), Fen(failedFen).yuanGrouped,
             String(pending), Fen(pendingFen).yuanGrouped]
        }
        static let columns = ["人数", "金额（元）", "已发放（人）", "已发放金额（元）", "发放失败（人）", "失败金额（元）", "发放中（人）", "发放中金额（元）"]
    }

    /// Writes the site into `folder` (which must be empty or not yet exist).
    public static func write(_ content: PublicSiteContent, source: PublicSiteSource, into folder: String) throws -> Written {
        var w = Written()
        func put(_ relative: String, _ text: String) throws {
            let path = NSStringPath(folder).appending(relative)
            let dir = (path as NSString).deletingLastPathComponent
            if !FileManager.default.fileExists(atPath: dir) {
                guard mkdir(dir, 0o755) == 0 else {
                    throw YKTError(.fileWrite, "不能建立目录（\(String(cString: strerror(errno)))）", at: SourceLocation(file: dir),
                                   hint: "检查输出目录的权限和磁盘空间")
                }
            }
            try FileOutput.writeAtomically(text, to: path, mode: 0o644)
            w.files.append(relative)
        }
        typealias P = PublicSitePage
        try put("style.css", P.stylesheet)

        // Policy list in force, and every version of every program.
        w.policies = content.policies.count
        let policyColumns = ["项目编码", "项目名称", "主管部门", "补贴标准（元）", "计量单位", "发放频次", "政策依据", "清单版本", "起始期次"]
        let policyRows = content.policies.map {
            [$0.code, $0.name, $0.department, Fen($0.standardFen).yuan, $0.unit, $0.frequency, $0.basis, String($0.version),
             $0.firstPeriod.isEmpty ? "—" : $0.firstPeriod]
        }
        let versionColumns = ["项目编码", "项目名称", "版本", "起始期次", "补贴标准（元）", "计量单位", "发放频次", "所属清单版本", "清单发布时间"]
        let versionRows = content.programVersions.map {
            [$0.code, $0.name, String($0.version), $0.firstPeriod.isEmpty ? "—" : $0.firstPeriod, Fen($0.standardFen).yuan, $0.unit,
             $0.frequency, $0.listVersion == 0 ? "—" : String($0.listVersion), $0.publishedAt.isEmpty ? "—" : $0.publishedAt]
        }
        try put("policy/index.html", P.page(title: "\(content.county)惠民惠农财政补贴政策清单", depth: 1, content: content, body:
            P.paragraph("下表为现行有效的补贴政策清单：项目名称、主管部门、补贴标准、发放频次和政策依据。涉密项目不公开。")
            + P.table(columns: policyColumns, rows: policyRows, numeric: [3, 7], csv: "policy.csv")
            + "<h2>历次版本</h2>\n"
            + P.paragraph("各项目每一次调整（标准、单位、频次）及其起始期次，见“政策清单历次版本”。")
            + "<p><a href=\"versions.html\">政策清单历次版本</a></p>\n"))
        try put("policy/policy.csv", P.csv(title: "\(content.county)惠民惠农财政补贴政策清单（\(content.publishedAt)）",
                                           columns: policyColumns, rows: policyRows, codes: [0, 8]))
        try put("policy/versions.html", P.page(title: "\(content.county)补贴政策清单历次版本", depth: 1, content: content, body:
            P.table(columns: versionColumns, rows: versionRows, numeric: [2, 4, 7], csv: "versions.csv")))
        try put("policy/versions.csv", P.csv(title: "\(content.county)补贴政策清单历次版本", columns: versionColumns, rows: versionRows,
                                             codes: [0, 3]))

        // Notices, one page each, and their list.
        var noticeIndex: [[String]] = []
        var noticeLinks: [String] = []
        var perTownship: [String: Int] = [:]
        for n in content.notices {
            perTownship[n.township, default: 0] += 1
            let base = "\(n.township)-\(perTownship[n.township]!)"
            let lines = try source.noticeLines(n)
            w.notices += 1
            w.noticeLines += lines.count
            let columns = ["序号", "村（社区）", "姓名", "身份证号", "数量（\(n.quantityUnit)）", "补贴标准（\(n.standardUnit)）", "补贴金额（元）"]
            var total: Int64 = 0
            let rows = lines.enumerated().map { i, l -> [String] in
                total += l.amountFen
                return [String(i + 1), l.village.isEmpty ? "—" : l.village, l.name, l.maskedID, l.quantity, Fen(l.standardFen).yuan,
                        Fen(l.amountFen).yuanGrouped]
            }
            let totals = ["合计", "", "\(lines.count) 人", "", "", "", Fen(total).yuanGrouped]
            let title = "\(n.townshipName)\(n.periodChinese)\(n.programName)发放对象公示"
            let body = P.paragraph("根据\(n.department)\(n.programName)政策（\(n.basis.isEmpty ? "补贴政策清单" : n.basis)），经村（社区）评议、乡镇审核，" +
                                   "\(n.townshipName)将审核后的\(n.periodChinese)\(n.programName)发放清册（经村民代表会议评议、村级公示无异议的对象及金额）予以公示。")
                + P.paragraph("公示时间：\(n.firstDay) 至 \(n.lastDay)；公示地点：\(n.place)；监督举报电话：\(n.phone.isEmpty ? "—" : n.phone)。公示已于 \(n.closedOn) 结束。")
                + P.table(columns: columns, rows: rows, numeric: [0, 4, 5, 6], totals: totals, csv: base + ".csv")
                + P.note("为保护个人信息，身份证号只显示前六位和后四位。异议成立被剔除的对象不再列出。")
            try put("notices/\(base).html", P.page(title: title, depth: 1, content: content, body: body))
            try put("notices/\(base).csv", P.csv(title: title, head: [["公示时间", "\(n.firstDay)至\(n.lastDay)", "公示地点", n.place, "监督电话", n.phone]],
                                                 columns: columns, rows: rows, totals: totals, codes: [3]))
            noticeIndex.append([n.townshipName, n.programName, n.period, n.firstDay, n.lastDay, n.closedOn, String(lines.count),
                                Fen(total).yuanGrouped, n.phone])
            noticeLinks.append(base + ".html")
        }
        let noticeColumns = ["乡镇", "补贴项目", "期次", "公示开始", "公示截止", "结束日期", "人数", "金额（元）", "监督电话"]
        try put("notices/index.html", P.page(title: "\(content.county)补贴发放对象公示", depth: 1, content: content, body:
            P.paragraph("各乡镇已结束的发放对象公示：乡镇审核后的发放清册公示（此前各村已张贴村级拟补贴对象公示，不在此重复；涉密项目不公示）。点项目名称查看名单。")
            + P.table(columns: noticeColumns, rows: noticeIndex, numeric: [6, 7], csv: "index.csv", links: [1: noticeLinks])))
        try put("notices/index.csv", P.csv(title: "\(content.county)补贴发放对象公示一览", columns: noticeColumns, rows: noticeIndex,
                                           codes: [2, 8]))

        // Payment results: one page per roster (by village, then each person), and the summaries.
        var rosterIndex: [[String]] = []
        var rosterLinks: [String] = []
        var villageRows: [[String]] = []
        var all = Tally()
        for r in content.payments {
            let lines = try source.paymentLines(r)
            w.rosters += 1
            w.paymentLines += lines.count
            var villages: [String: Tally] = [:]
            var linesOf: [String: [PublicSiteContent.PaymentLine]] = [:]
            var order: [String] = []
            var tally = Tally()
            for l in lines {
                let v = l.village.isEmpty ? "—" : l.village
                if villages[v] == nil { order.append(v) }
                villages[v, default: Tally()].add(l)
                linesOf[v, default: []].append(l)
                tally.add(l)
            }
            all.add(tally)
            let base = "\(r.township)-\(r.id)"
            let title = "\(r.townshipName)\(r.periodChinese)\(r.programName)发放结果公示"
            let byVillage = order.map { [$0] + villages[$0]!.cells }
            for v in order { villageRows.append([r.townshipName, v, r.programName, r.period] + villages[v]!.cells) }
            let personColumns = ["序号", "村（社区）", "姓名", "身份证号", "账号", "金额（元）", "发放结果", "日期"]
            func personRow(_ l: PublicSiteContent.PaymentLine) -> [String] {
                [String(l.lineNo), l.village.isEmpty ? "—" : l.village, l.name, l.maskedID, l.maskedAccount, Fen(l.amountFen).yuanGrouped,
                 l.result, l.date]
            }
            let note = P.note("为保护个人信息，身份证号、账号只显示部分数字。如对发放结果有异议，请向\(r.townshipName)或县财政部门反映（见“投诉举报”）。")
            // Each village's people on a page of their own (a roster may hold tens of thousands:
            // one page each keeps it readable on a phone); the whole roster in one CSV.
            var villagePages: [String] = []
            for (k, v) in order.enumerated() {
                let page = "\(base)-\(k + 1)"
                villagePages.append(page + ".html")
                let rows = linesOf[v]!.map(personRow)
                let t = villages[v]!
                let villageTitle = "\(r.townshipName)\(v)\(r.periodChinese)\(r.programName)发放结果"
                try put("payments/\(page).html", P.page(title: villageTitle, depth: 1, content: content, body:
                    P.paragraph("\(v)共 \(t.people) 人，金额 \(Fen(t.fen).yuanGrouped) 元；已发放 \(t.paid) 人，发放失败 \(t.failed) 人，发放中 \(t.pending) 人。")
                    + "<p><a href=\"\(base).html\">返回\(r.townshipName)\(r.programName)汇总</a></p>\n"
                    + P.table(columns: personColumns, rows: rows, numeric: [0, 5], totals: ["合计", "", "\(t.people) 人", "", "", Fen(t.fen).yuanGrouped,
                                                                                             "已发放 \(t.paid) 人", ""], csv: page + ".csv")
                    + note))
                try put("payments/\(page).csv", P.csv(title: villageTitle, columns: personColumns, rows: rows, codes: [3, 4]))
            }
            let body = P.paragraph("\(r.periodChinese)\(r.programName)已通过“一卡通”发放。本清册共 \(tally.people) 人，金额 \(Fen(tally.fen).yuanGrouped) 元；" +
                                   "已发放 \(tally.paid) 人，金额 \(Fen(tally.paidFen).yuanGrouped) 元；发放失败 \(tally.failed) 人，金额 \(Fen(tally.failedFen).yuanGrouped) 元；" +
                                   "发放中 \(tally.pending) 人。发放失败的，乡镇与本人核实账户后由县财政补发。")
                + "<h2>按村（社区）汇总</h2>\n"
                + P.paragraph("点村名查看该村每人的发放结果。")
                + P.table(columns: ["村（社区）"] + Tally.columns, rows: byVillage, numeric: Set(1...8), totals: ["合计"] + tally.cells,
                          csv: base + "-villages.csv", links: [0: villagePages])
                + "<p class=\"csv\"><a href=\"\(base).csv\">下载全部发放明细（CSV，可用 WPS、Excel 打开）</a></p>\n"
                + note
            try put("payments/\(base).html", P.page(title: title, depth: 1, content: content, body: body))
            try put("payments/\(base)-villages.csv", P.csv(title: title + "（按村汇总）", columns: ["村（社区）"] + Tally.columns, rows: byVillage,
                                                           totals: ["合计"] + tally.cells))
            try put("payments/\(base).csv", P.csv(title: title, columns: personColumns, rows: lines.map(personRow), codes: [3, 4]))
            rosterIndex.append([r.townshipName, r.programName, r.period] + tally.cells)
            rosterLinks.append(base + ".html")
        }
        w.paid = all.paid; w.paidFen = all.paidFen
        w.failed = all.failed; w.failedFen = all.failedFen
        w.pending = all.pending; w.pendingFen = all.pendingFen
        let indexColumns = ["乡镇", "补贴项目", "期次"] + Tally.columns
        let villageColumns = ["乡镇", "村（社区）", "补贴项目", "期次"] + Tally.columns
        try put("payments/index.html", P.page(title: "\(content.county)补贴资金发放结果", depth: 1, content: content, body:
            P.paragraph("各乡镇、各项目、各期次的发放人数和金额（已发放、发放失败、发放中），点项目名称查看按村汇总和每人的发放结果。")
            + P.table(columns: indexColumns, rows: rosterIndex, numeric: Set(3...10), totals: ["合计", "", ""] + all.cells, csv: "index.csv",
                      links: [1: rosterLinks])
            + "<h2>按村（社区）汇总</h2>\n"
            + P.table(columns: villageColumns, rows: villageRows, numeric: Set(4...11), csv: "villages.csv")))
        try put("payments/index.csv", P.csv(title: "\(content.county)补贴资金发放结果汇总（\(content.publishedAt)）", columns: indexColumns,
                                            rows: rosterIndex, totals: ["合计", "", ""] + all.cells, codes: [2]))
        try put("payments/villages.csv", P.csv(title: "\(content.county)补贴资金发放结果按村汇总（\(content.publishedAt)）", columns: villageColumns,
                                               rows: villageRows, codes: [3]))

        // Complaint channels.
        let channelColumns = ["单位", "监督举报电话"]
        let channelRows = [["\(content.county)财政局", content.countyPhone]]
            + content.channels.map { [$0.name, $0.phone.isEmpty ? "请拨打县财政电话" : $0.phone] }
        try put("complaints.html", P.page(title: "投诉举报", depth: 0, content: content, body:
            P.paragraph("对补贴政策、发放对象、发放金额或发放结果有异议，或发现虚报冒领、截留挪用等问题，可以通过以下渠道反映。")
            + "<p><a href=\"complaint\">在线投诉举报</a>（须在县财政公众查询服务上打开）</p>\n"
            + P.table(columns: channelColumns, rows: channelRows, csv: "complaints.csv")
            + P.note("手机号码只显示部分数字的，请拨打县财政电话。")))
        try put("complaints.csv", P.csv(title: "\(content.county)补贴资金投诉举报渠道", columns: channelColumns, rows: channelRows, codes: [1]))

        // Home.
        var home = P.paragraph("发布时间：\(content.publishedAt)。本站公开\(content.county)惠民惠农财政补贴政策清单、发放对象公示和发放结果，" +
                               "并提供本人发放记录查询和投诉举报渠道。")
        home += "<ul class=\"links\">\n"
        home += "<li><a href=\"policy/index.html\">补贴政策清单</a>（现行 \(content.policies.count) 项，含历次版本）</li>\n"
        home += "<li><a href=\"notices/index.html\">发放对象公示</a>（\(w.notices) 次）</li>\n"
        home += "<li><a href=\"payments/index.html\">发放结果</a>（\(w.rosters) 份清册，已发放 \(all.paid) 人次、\(Fen(all.paidFen).yuanGrouped) 元）</li>\n"
        home += "<li><a href=\"query\">查询本人发放记录</a>（须输入身份证号和姓名）</li>\n"
        home += "<li><a href=\"complaint\">在线投诉举报</a>；<a href=\"complaints.html\">投诉举报电话</a></li>\n"
        home += "</ul>\n"
        if !content.publicURL.isEmpty {
            home += P.paragraph("查询网址：\(PublicSite.queryURL(content.publicURL))")
        }
        home += P.paragraph("县财政监督举报电话：\(content.countyPhone)")
        home += P.note("查询和在线投诉只在县财政的公众查询服务上提供；镜像站点只提供上面的公开文件。")
        try put("index.html", P.page(title: "\(content.county)惠民惠农财政补贴资金公开", depth: 0, content: content, body: home))
        return w
    }

    /// `<public_url>query`, with one slash between.
    public static func queryURL(_ publicURL: String) -> String {
        var base = publicURL.trimmed
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/query"
    }
}
