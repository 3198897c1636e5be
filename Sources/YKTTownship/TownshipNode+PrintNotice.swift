import YKTCore
import YKTNode

extension TownshipNode {
    /// The body that signs this township's public notices: `issuer` in `node.conf` when set,
    /// otherwise the township's name with 「人民政府」 (「寨沙镇」 → 「寨沙镇人民政府」) unless the
    /// name already ends in 「政府」.
    public var issuingBody: String {
        if let issuer = config.extra["issuer"]?.trimmed, !issuer.isEmpty { return issuer }
        return config.name.hasSuffix("政府") ? config.name : config.name + "人民政府"
    }

    /// The QR code of the public query page printed on this township's notices, payment-result
    /// notices and 明白卡: `<public_url>query` from node.conf; nil when `public_url` is not set
    /// (the printout is made without it; the command says so). A malformed `public_url` is a
    /// configuration error (YKT-NODE-CONFIG).
    public func queryCode() throws(YKTError) -> QueryCode? {
        try QueryCode.of(config, directory: directory)
    }

    /// The public notice (公示) of a notice, masked. Secret programs have none.
    public func noticeDocument(_ id: Int64, printedOn: CivilDate) throws -> NoticeDocument {
        let n = try notice(id)
        let program = try program(n.programCode)
        if program.secret {
            throw YKTError(.noticeSecret, "「\(program.name)」是涉密项目，不生成公示文件")
        }
        let period = try Period(parsing: n.period)
        if n.stage == .village { return try villageNoticeDocument(n, program: program, period: period, printedOn: printedOn) }
        // Lines removed by an upheld objection are no longer published.
        let lines = try applications(notice: id).filter { $0.status != .removed }
        let title = "\(config.name)\(period.chinese)\(program.name)发放对象公示"
        let columns = ["序号", "村（社区）", "姓名", "身份证号", "数量（\(program.unit.quantityUnit)）", "补贴标准（\(program.unit.chinese)）", "补贴金额（元）"]
        var rows: [[String]] = []
        var total = Fen.zero
        for (i, a) in lines.enumerated() {
            rows.append([String(i + 1), a.village, a.name, Masking.residentID(a.residentID), a.quantity,
                         Fen(a.standardFen).yuan, Fen(a.amountFen).yuanGrouped])
            total = total + Fen(a.amountFen)
        }
        let intro = [
            "根据\(program.department)\(program.name)政策（\(program.basis.isEmpty ? "补贴政策清单" : program.basis)），" +
            "经村民代表会议评议、村级公示无异议，乡镇审核，现将审核后的\(period.chinese)\(program.name)发放清册（发放对象及金额）予以公示，接受社会监督。",
            "公示时间：\(n.firstDay.chinese)至\(n.lastDay.chinese)（\(NoticePeriod.minimumWorkingDays)个工作日）。公示地点：\(n.place)。",
        ]
        let outro = [
            "公示期间，如对公示对象或金额有异议，请以书面或电话形式向\(issuingBody)反映。监督举报电话：\(n.phone)。",
            "为保护个人信息，身份证号只显示前六位和后四位。",
            issuingBody,
            printedOn.chinese,
        ]
        let totals = ["合计", "", "\(lines.count) 人", "", "", "", total.yuanGrouped]
        // 序号, 村, 姓名 (four characters at full size), 身份证号 (18 characters), 数量, 标准, 金额: 186 mm.
        let layout = PrintLayout(widths: [10, 30, 22, 40, 22, 34, 28])
        return NoticeDocument(title: title, intro: intro, columns: columns, numeric: [0, 4, 5, 6], rows: rows, totals: totals,
                              outro: outro, layout: layout, csvHead: [["公示时间", "\(n.firstDay)至\(n.lastDay)", "公示地点", n.place, "监督电话",
                                                                          ExcelText.protected(n.phone)]], codes: [3], qr: try queryCode())
    }

    /// The village notice (村级拟补贴对象名单公示, seed 004): the proposed beneficiaries the
    /// village's representative meeting passed, with name, masked ID, program and standard;
    /// the meeting's date, attendance and outcome; signed by the village committee. Lines an
    /// upheld objection removed at this stage are no longer published.
    func villageNoticeDocument(_ n: NoticeRecord, program: Program, period: Period, printedOn: CivilDate) throws -> NoticeDocument {
        let village = n.village ?? ""
        let meeting = try n.meetingID.map { try self.meeting($0) }
        let lines = try applications(notice: n.id).filter { !($0.status == .removed && $0.noticeID == nil) }
        let title = "\(village)\(period.chinese)\(program.name)拟补贴对象名单公示"
        let columns = ["序号", "姓名", "身份证号", "补贴项目", "补贴标准（\(program.unit.chinese)）"]
        let rows = lines.enumerated().map { i, a in
            [String(i + 1), a.name, Masking.residentID(a.residentID), program.name, Fen(a.standardFen).yuan]
        }
        let evaluated = meeting.map {
            "经\($0.heldOn.chinese)村民代表会议评议（应到 \($0.expected) 人，实到 \($0.present) 人；评议结果：\($0.outcome)），"
        } ?? "经村民代表会议评议，"
        let intro = [
            "根据\(program.department)\(program.name)政策（\(program.basis.isEmpty ? "补贴政策清单" : program.basis)），" +
            evaluated + "现将\(period.chinese)\(program.name)拟补贴对象名单予以公示，接受群众监督。",
            "公示时间：\(n.firstDay.chinese)至\(n.lastDay.chinese)（\(NoticePeriod.minimumWorkingDays)个工作日）。公示地点：\(n.place)。",
        ]
        let committee = "\(village)村（居）民委员会"
        let outro = [
            "公示期间，如有异议，请向\(committee)或\(issuingBody)反映。监督电话：\(n.phone)。公示期满无异议的，报乡镇审核后张贴发放清册公示。",
            "为保护个人信息，身份证号只显示前六位和后四位，不公示家庭住址和联系电话。",
            committee,
            printedOn.chinese,
        ]
        let totals = ["合计", "\(lines.count) 人", "", "", ""]
        // 序号, 姓名, 身份证号, 项目, 标准: 186 mm.
        let layout = PrintLayout(widths: [10, 26, 42, 70, 38])
        return NoticeDocument(title: title, intro: intro, columns: columns, numeric: [0, 4], rows: rows, totals: totals,
                              outro: outro, layout: layout, csvHead: [["公示时间", "\(n.firstDay)至\(n.lastDay)", "公示地点", n.place, "监督电话",
                                                                          ExcelText.protected(n.phone)]], codes: [2], qr: try queryCode())
    }

    /// Writes the notice's HTML and CSV into `directory` (default `<node>/out`) and records it in
    /// the audit trail. Returns the two paths.
    public func printNotice(_ id: Int64, into directory: String? = nil, printedOn: CivilDate) throws -> (html: String, csv: String) {
        try write(try noticeDocument(id, printedOn: printedOn), base: "公示-\(config.nodeID)-\(id)", into: directory,
                  action: "notice.print", object: "notice#\(id)")
    }

    /// Writes a document's HTML and CSV as `<base>.html` and `<base>.csv` into `directory`
    /// (default `<node>/out`), recorded in the audit trail. Returns the two paths.
    func write(_ doc: NoticeDocument, base: String, into directory: String?, action: String, object: String) throws -> (html: String, csv: String) {
        try perform(action) {
            (try doc.write(base: base, into: directory ?? outFolder), AuditNote(object: object, detail: base))
        }
    }

    /// `<node>/out`: where printed files and import problem lists go by default.
    var outFolder: String { NSStringPath(directory).appending("out") }
}
