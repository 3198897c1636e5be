import Foundation
import YKTCore
import YKTCrypto
import YKTNode
import YKTPublic
import YKTStore

/// `ykt publish`: what the county shows the public (issue 18), gathered from one snapshot of
/// its database and written as a signed static site and a query store with no clear personal
/// data (docs/public.md). Secret (涉密) programs are left out everywhere: the policy list, the
/// notices, the payment results and the store. IDs, accounts and mobiles are masked here,
/// before anything reaches the site writer.
extension CountyNode {
    /// What a publish wrote, for the command's report.
    public struct PublishReport: Sendable, Codable {
        public var out: String
        public var publishedAt: String
        public var site: PublicSite.Written
        public var store: QueryStore.Summary
        /// SHA-256 of site/manifest.json (hex).
        public var manifestSHA256: String
        /// The signing key's id (as `ykt key show` prints it) and public key (hex).
        public var keyID: String
        public var publicKey: String
    }

    /// `public_url` in node.conf ("" when not set): the public query service's address.
    public var publicURL: String { config.extra["public_url"]?.trimmed ?? "" }

    /// The county's complaint phone (`complaint_phone` in node.conf), required to publish.
    func countyComplaintPhone() throws -> String {
        guard let phone = config.extra["complaint_phone"]?.trimmed, !phone.isEmpty else {
            throw YKTError(.nodeConfig, "公开站点须列出县财政的监督举报电话，但 node.conf 没有 complaint_phone",
                           at: SourceLocation(file: NSStringPath(directory).appending(NodeConfig.fileName), field: "complaint_phone"),
                           hint: "在县级节点的 node.conf 中加一行 complaint_phone = 监督举报电话（例如 0772-6812000）")
        }
        return phone
    }

    /// A phone for the public: an office number as it is, a mobile masked.
    static func publicPhone(_ phone: String) -> String {
        let p = phone.trimmed
        return p.count == 11 && p.first == "1" && p.allSatisfy({ $0.isASCII && $0.isNumber }) ? Masking.phone(p) : p
    }

    /// Each township's phone for the public: the supervision phone of its latest notice of a
    /// non-secret program (the county holds no other phone of a township; the township's own
    /// `complaint_phone` stays in its node.conf), a mobile masked; "" when it has posted none.
    func townshipPhones() throws -> [String: String] {
        var phones: [String: (at: String, phone: String)] = [:]
        try db.forEach("""
            SELECT n.node_id, n.phone, n.opened_at FROM notice n JOIN program p ON p.code = n.program
            WHERE p.secret = 0 AND n.phone <> ''
            """) { r in
            let node = r.text(0), at = r.text(2)
            if phones[node].map({ $0.at <= at }) ?? true { phones[node] = (at, r.text(1)) }
        }
        return phones.mapValues { Self.publicPhone($0.phone) }
    }

    /// The site's content (without the long lists, which `PublishSource` reads page by page).
    /// Call inside one snapshot with the lists and the store (`publish` does).
    public func publicSiteContent(publishedAt: String) throws -> PublicSiteContent {
        let countyPhone = try countyComplaintPhone()
        let programs = try db.all("""
            SELECT p.code, p.name, p.department, p.unit, p.standard_fen, p.frequency, p.basis, p.version,
                   coalesce((SELECT first_period FROM program_version v WHERE v.code = p.code AND v.version = p.version), '')
            FROM program p WHERE p.secret = 0 ORDER BY p.code
            """) { r in
            PublicSiteContent.Policy(code: r.text(0), name: r.text(1), department: r.text(2),
                                     unit: (ProgramUnit(rawValue: r.text(3)) ?? .perPerson).chinese, standardFen: r.int64(4),
                                     frequency: r.text(5), basis: r.text(6), version: r.int(7), firstPeriod: r.text(8))
        }
        let versions = try db.all("""
            SELECT v.code, p.name, v.version, coalesce(v.first_period, ''), v.unit, v.standard_fen, v.frequency,
                   coalesce(v.published_in, 0), coalesce(l.published_at, '')
            FROM program_version v JOIN program p ON p.code = v.code LEFT JOIN policy_version l ON l.version = v.published_in
            WHERE p.secret = 0 ORDER BY v.code, v.version
            """) { r in
            PublicSiteContent.ProgramVersion(code: r.text(0), name: r.text(1), version: r.int(2), firstPeriod: r.text(3),
                                             unit: (ProgramUnit(rawValue: r.text(4)) ?? .perPerson).chinese, standardFen: r.int64(5),
                                             frequency: r.text(6), listVersion: r.int(7), publishedAt: r.text(8))
        }
        let towns = Dictionary(try db.all("SELECT node_id, name FROM township") { ($0.text(0), $0.text(1)) }, uniquingKeysWith: { a, _ in a })
        // The township stage (乡镇审核后发放清册公示) is what the site publishes: it lists what the
        // village notices (posted in each village, kept at the county) cleared, with the amounts.
        let notices = try db.all("""
            SELECT n.entity, n.node_id, n.program, p.name, p.department, p.basis, p.unit, n.period, n.posted_on, n.first_day, n.last_day,
                   coalesce(n.closed_on, ''), n.place, n.phone
            FROM notice n JOIN program p ON p.code = n.program
            WHERE n.status = 'closed' AND p.secret = 0 AND n.stage = 'township' ORDER BY n.node_id, n.posted_on, n.op_seq
            """) { r -> PublicSiteContent.Notice in
            let unit = ProgramUnit(rawValue: r.text(6)) ?? .perPerson
            let period = r.text(7)
            return PublicSiteContent.Notice(key: r.text(0), township: r.text(1), townshipName: towns[r.text(1)] ?? r.text(1),
                                            programCode: r.text(2), programName: r.text(3), department: r.text(4), basis: r.text(5),
                                            period: period, periodChinese: (try? Period(parsing: period).chinese) ?? period,
                                            quantityUnit: unit.quantityUnit, standardUnit: unit.chinese, postedOn: r.text(8),
                                            firstDay: r.text(9), lastDay: r.text(10), closedOn: r.text(11), place: r.text(12),
                                            phone: Self.publicPhone(r.text(13)))
        }
        let rosters = try db.all("""
            SELECT r.id, r.node_id, r.program, p.name, r.period FROM roster r JOIN program p ON p.code = r.program
            WHERE r.status = 'approved' AND p.secret = 0 ORDER BY r.node_id, r.program, r.period, r.id
            """) { r -> PublicSiteContent.PaymentRoster in
            let period = r.text(4)
            return PublicSiteContent.PaymentRoster(id: r.int64(0), township: r.text(1), townshipName: towns[r.text(1)] ?? r.text(1),
                                                   programCode: r.text(2), programName: r.text(3), period: period,
                                                   periodChinese: (try? Period(parsing: period).chinese) ?? period)
        }
        let phones = try townshipPhones()
        let channels = towns.keys.sorted().map { PublicSiteContent.Channel(township: $0, name: towns[$0]!, phone: phones[$0] ?? "") }
        return PublicSiteContent(county: config.name, countyCode: config.countyCode, publishedAt: publishedAt, publicURL: publicURL,
                                 countyPhone: countyPhone, policies: programs, programVersions: versions, notices: notices,
                                 payments: rosters, channels: channels)
    }

    /// The status a resident reads for a payment (as `query` shows it).
    static func publicStatus(_ status: String, reissue: Bool) -> String {
        switch status {
        case "dispatched": "发放中"
        case "paid": reissue ? "补发成功" : "已发放"
        case "failed": "发放失败（待更正补发）"
        default: status
        }
    }

    /// Why a payment failed, for the public: the bank's stated reason (or its code's meaning),
    /// digits masked.
    static func publicReason(_ reason: String, code: String) -> String {
        let text = reason.trimmed.isEmpty ? (BankFile.FailureReason(rawValue: code)?.chinese ?? code) : reason.trimmed
        return Masking.digits(in: text)
    }

    /// The three ordered scans behind `forEachPublicEntry`, merged by resident ID, then the
    /// register row, the payments and the lines under review: SQLite merges them
    /// (multiSelectOrderBy). The register and the payments are read in order from their
    /// indexes (payments of one resident put in order among themselves only); the lines under
    /// review are found from their rosters (CROSS JOIN keeps SQLite from walking every roster
    /// line of the county in resident order) and only they are sorted.
    static let publicEntriesSQL = """
        SELECT resident_id, 0, name, '', '', 0, '', '', '', '', '', node_id, 0, 0 FROM resident
        UNION ALL
        SELECT resident_id, 1, name, program, period, amount_fen, status, coalesce(result_on, ''), coalesce(reason, ''),
               coalesce(reason_code, ''), account_number, node_id, reissue_of IS NOT NULL, id FROM payment
        UNION ALL
        SELECT l.resident_id, 2, l.name, r.program, r.period, l.amount_fen, '', '', '', '', l.account_number, r.node_id, 0, l.roster_id
        FROM roster r CROSS JOIN roster_line l ON l.roster_id = r.id WHERE r.status IN ('received', 'reviewed')
        ORDER BY 1, 2, 14
        """

    /// Every resident's public records, grouped, for the query store: for each resident ID with
    /// at least one record of a non-secret program — every payment (`payment`), and every roster
    /// line under review (审核中), as `query` lists them for one resident — `body` is called
    /// once per (ID, name) the county knows for that ID (the register's name, the names on its
    /// roster lines and payments, told apart as `QueryKey` writes them), each with all of the
    /// ID's records, as `query` answers any of them. One ordered scan of the three tables
    /// merged by resident ID, never a query per resident. Call inside a snapshot.
    public func forEachPublicEntry(_ body: (_ id: String, _ name: String, _ records: [PublicRecord]) throws -> Void) throws {
        let secret = Set(try db.all("SELECT code FROM program WHERE secret = 1") { $0.text(0) })
        let names = Dictionary(try db.all("SELECT code, name FROM program") { ($0.text(0), $0.text(1)) }, uniquingKeysWith: { a, _ in a })
        let towns = Dictionary(try db.all("SELECT node_id, name FROM township") { ($0.text(0), $0.text(1)) }, uniquingKeysWith: { a, _ in a })
        let phones = try townshipPhones()
        let countyPhone = Self.publicPhone(try countyComplaintPhone())
        var current = ""
        var people: [String] = []
        var records: [PublicRecord] = []
        func flush() throws {
            defer { people.removeAll(keepingCapacity: true); records.removeAll(keepingCapacity: true) }
            guard !records.isEmpty else { return }
            var seen = Set<String>()
            for name in people {
                guard let key = QueryKey.normalise(id: current, name: name), seen.insert(key.name).inserted else { continue }
                try body(current, name, records)
            }
        }
        try db.forEach(Self.publicEntriesSQL) { r in
            let id = r.text(0)
            if id != current {
                try flush()
                current = id
            }
            let name = r.text(2)
            if !people.contains(name) { people.append(name) }
            let kind = r.int(1)
            guard kind > 0 else { return }
            let program = r.text(3)
            guard !secret.contains(program) else { return }
            let node = r.text(11)
            let phone = phones[node].flatMap { $0.isEmpty ? nil : $0 } ?? countyPhone
            if kind == 1 {
                let status = r.text(6)
                records.append(PublicRecord(programName: names[program] ?? program, period: r.text(4), amountFen: r.int64(5),
                                            status: Self.publicStatus(status, reissue: r.bool(12)), date: r.text(7),
                                            reason: status == "failed" ? Self.publicReason(r.text(8), code: r.text(9)) : "",
                                            account: Masking.account(r.text(10)), township: towns[node] ?? node, phone: phone))
            } else {
                records.append(PublicRecord(programName: names[program] ?? program, period: r.text(4), amountFen: r.int64(5),
                                            status: "审核中", date: "", reason: "", account: Masking.account(r.text(10)),
                                            township: towns[node] ?? node, phone: phone))
            }
        }
        try flush()
    }

    /// Publishes the site and the query store into `out` (`ykt publish`): everything read in
    /// one snapshot, written under a temporary folder, the manifest signed with the county's
    /// node key, then renamed into place inside the audited transaction (a failure anywhere
    /// leaves the previous publish, or nothing, as it was).
    public func publish(out: String, replace: Bool, parameters: QueryStore.Parameters = .standard) throws -> PublishReport {
        _ = try countyComplaintPhone()
        let key = try signingKey()
        let publicKey = try key.publicKey
        let publication = try PublicSitePublication(out: out, replace: replace)
        let stamp = timestamp()   // 2026-03-02T09:15:04+08:00
        let publishedAt = String(stamp.prefix(19)).replacingOccurrences(of: "T", with: " ")
        let (written, store) = try db.snapshot { () throws -> (PublicSite.Written, QueryStore.Summary) in
            let content = try publicSiteContent(publishedAt: publishedAt)
            let written = try PublicSite.write(content, source: PublishSource(node: self), into: publication.stagedSite)
            let store = try QueryStore.build(path: publication.stagedStore, county: config.name, publishedAt: publishedAt,
                                             parameters: parameters) { add in try forEachPublicEntry(add) }
            return (written, store)
        }
        let manifest = try SiteManifest.make(
            siteFolder: publication.stagedSite, county: config.name, countyCode: config.countyCode, publishedAt: publishedAt,
            store: SiteManifest.Store(name: PublicSitePublication.storeFileName, sha256: store.sha256, bytes: store.bytes,
                                      entries: store.entries, records: store.records),
            publicKey: publicKey)
        try manifest.write(siteFolder: publication.stagedSite) { bytes in try key.sign(bytes) }
        let manifestSHA256 = Hex.encode(SHA256.hash(try manifest.encoded()))
        try perform("publish", object: "site \(out)",
                    detail: "files=\(manifest.entries.count) notices=\(written.notices) rosters=\(written.rosters) entries=\(store.entries) manifest=\(manifestSHA256.prefix(16)) key=\(publicKey.keyID)") {
            try publication.commit()
        }
        return PublishReport(out: out, publishedAt: publishedAt, site: written, store: store, manifestSHA256: manifestSHA256,
                             keyID: publicKey.keyID, publicKey: Hex.encode(publicKey.raw))
    }
}

/// The long lists of the site, read one notice or roster at a time from the county's database
/// (inside `publish`'s snapshot), masked.
struct PublishSource: PublicSiteSource {
    let node: CountyNode

    func noticeLines(_ notice: PublicSiteContent.Notice) throws -> [PublicSiteContent.NoticeLine] {
        // Lines removed by an upheld objection are not published (as the township prints it).
        // The county holds no village per resident: a roster line's village when there is one.
        try node.db.all("""
            SELECT a.resident_id, coalesce(r.name, ''), a.quantity, a.standard_fen, a.amount_fen,
                   coalesce((SELECT l.village FROM roster_line l WHERE l.resident_id = a.resident_id LIMIT 1), '')
            FROM application a LEFT JOIN resident r ON r.resident_id = a.resident_id
            WHERE a.notice = ? AND a.status <> 'removed' ORDER BY a.op_seq
            """, notice.key) { r in
            PublicSiteContent.NoticeLine(village: r.text(5), name: r.text(1), maskedID: Masking.residentID(r.text(0)), quantity: r.text(2),
                                         standardFen: r.int64(3), amountFen: r.int64(4))
        }
    }

    func paymentLines(_ roster: PublicSiteContent.PaymentRoster) throws -> [PublicSiteContent.PaymentLine] {
        struct Paid { var id: Int64; var status: String; var reissue: Bool; var account: String; var date: String; var reason: String }
        var byLine: [Int: [Paid]] = [:]
        try node.db.forEach("""
            SELECT line_no, id, status, reissue_of IS NOT NULL, account_number, coalesce(result_on, ''), coalesce(reason, ''),
                   coalesce(reason_code, '')
            FROM payment WHERE roster_id = ? ORDER BY line_no, id
            """, roster.id) { r in
            byLine[r.int(0), default: []].append(Paid(id: r.int64(1), status: r.text(2), reissue: r.bool(3), account: r.text(4),
                                                      date: r.text(5), reason: CountyNode.publicReason(r.text(6), code: r.text(7))))
        }
        return try node.db.all("""
            SELECT line_no, village, name, resident_id, account_number, amount_fen FROM roster_line WHERE roster_id = ? ORDER BY line_no
            """, roster.id) { r in
            let mine = byLine[r.int(0)] ?? []
            // A paid re-issue supersedes the failed original; otherwise the latest payment.
            let latest = mine.first(where: { $0.status == "paid" }) ?? mine.max(by: { $0.id < $1.id })
            let outcome: PublicSiteContent.PaymentLine.Outcome
            let result: String
            switch latest?.status {
            case "paid": outcome = .paid; result = latest!.reissue ? "补发成功" : "已发放"
            case "failed": outcome = .failed; result = "发放失败（\(latest!.reason)）"
            default: outcome = .pending; result = "发放中"
            }
            return PublicSiteContent.PaymentLine(lineNo: r.int(0), village: r.text(1), name: r.text(2), maskedID: Masking.residentID(r.text(3)),
                                                 maskedAccount: Masking.account(latest?.account ?? r.text(4)), amountFen: r.int64(5),
                                                 outcome: outcome, result: result, date: outcome == .pending ? "" : latest!.date)
        }
    }
}
