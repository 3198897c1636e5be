import Foundation
import YKTCore
import YKTNode
import YKTStore

/// The 惠民惠农补贴明白卡: one A4 sheet per household of the register (底册 `household`, 户号),
/// handed to the household (or posted): who is in it, the designated account each is paid to,
/// and each member's programs with standard, quantity, period, amount and what the bank did,
/// from the roster lines the county approved and the payment results it sent down; the
/// complaint phone, and the query page's QR code. IDs and accounts are masked, since a card may
/// be lost or posted; phones are never on it; secret programs (涉密) never appear.
extension TownshipNode {
    /// Which households get a card.
    public enum CardSelection: Sendable, Hashable {
        /// Every household with approved or paid lines.
        case all
        /// The household with this number (in each village where the number is used).
        case household(String)
        /// The household of this resident (only the resident when the register has no 户号).
        case resident(ResidentID)
        /// Every household of this village with approved or paid lines.
        case village(String)
    }

    /// One line of a card: a member's program and period, as approved and as paid.
    public struct CardLine: Sendable, Hashable, Codable {
        public var name: String
        public var program: String
        public var period: String
        /// `112.35 元/亩`
        public var standard: String
        /// `3.5 亩`
        public var quantity: String
        public var amountFen: Int64
        /// 已发放, 补发成功, 发放失败（reason）, 发放中
        public var state: String
        public var paid: Bool
        /// yyyy-MM-dd of the bank's answer, "" while none.
        public var date: String
    }

    /// A member of a card's household.
    public struct CardMember: Sendable, Hashable, Codable {
        public var name: String
        public var maskedID: String
        public var bank: String
        public var maskedAccount: String
    }

    /// One household's card.
    public struct Card: Sendable, Hashable, Codable {
        public var village: String
        /// "" when the register has no household number: the card is one resident's.
        public var household: String
        public var members: [CardMember]
        public var lines: [CardLine]
        public var paidFen: Int64 { lines.filter(\.paid).reduce(0) { $0 + $1.amountFen } }
    }

    /// The cards of the selected households, in register order (village, household number). A
    /// household, village or whole township selected: those without any approved or paid line
    /// are left out (`skipped`); one household or resident asked for by name: its card even
    /// when empty. Throws YKT-CARD-NONE when there is nothing to print, YKT-RESIDENT-UNKNOWN for
    /// an ID not in the register.
    public func cards(_ selection: CardSelection) throws -> (cards: [Card], skipped: Int) {
        struct Person { var id: Int64; var residentID: String; var name: String; var village: String; var household: String }
        func people(household: String? = nil, village: String? = nil, id: Int64? = nil) throws -> [Person] {
            try db.all("""
                SELECT id, resident_id, name, village, household FROM beneficiary
                WHERE (?1 IS NULL OR (household = ?1 AND household <> '')) AND (?2 IS NULL OR village = ?2) AND (?3 IS NULL OR id = ?3)
                ORDER BY village, household, id
                """, household, village, id) {
                Person(id: $0.int64(0), residentID: $0.text(1), name: $0.text(2), village: $0.text(3), household: $0.text(4))
            }
        }
        var selected: [Person]
        var keepEmpty = false
        switch selection {
        case .all:
            selected = try people()
        case .household(let raw):
            let number = raw.trimmed
            selected = try people(household: number)
            guard !selected.isEmpty else {
                throw YKTError(.cardNone, "底册中没有户号为「\(number)」的对象", at: SourceLocation(field: "--household"),
                               hint: "用 ykt beneficiary list 查看底册中的户号；未登记户号的对象用 --resident 身份证号 打印")
            }
            keepEmpty = true
        case .resident(let id):
            guard let b = try findBeneficiary(id) else {
                throw YKTError(.residentUnknown, "底册中没有身份证号 \(id.masked)", at: SourceLocation(field: "--resident"))
            }
            selected = b.household.isEmpty ? try people(id: b.id) : try people(household: b.household, village: b.village)
            keepEmpty = true
        case .village(let raw):
            let village = raw.trimmed
            selected = try people(village: village)
            guard !selected.isEmpty else {
                throw YKTError(.cardNone, "底册中没有村（社区）「\(village)」的对象", at: SourceLocation(field: "--village"),
                               hint: "村（社区）名称须与底册一致，用 ykt beneficiary list 查看")
            }
        }
        // Households: one per (village, number); a resident without a number is a household alone.
        var order: [String] = []
        var groups: [String: [Person]] = [:]
        for p in selected {
            let key = p.household.isEmpty ? "#\(p.id)" : p.village + "\u{1F}" + p.household
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(p)
        }
        var programs: [String: Program] = [:]
        func program(_ code: String) throws -> Program {
            if let p = programs[code] { return p }
            let p = try self.program(code)
            programs[code] = p
            return p
        }
        var cards: [Card] = []
        var skipped = 0
        for key in order {
            let members = groups[key]!
            var card = Card(village: members[0].village, household: members[0].household, members: [], lines: [])
            for m in members {
                let account = try db.first("""
                    SELECT bank, number FROM account WHERE beneficiary_id = ? AND replaced_at IS NULL
                    """, m.id) { (bank: $0.text(0), number: $0.text(1)) }
                card.members.append(CardMember(name: m.name, maskedID: Masking.residentID(m.residentID), bank: account?.bank ?? "",
                                               maskedAccount: account.map { Masking.account($0.number) } ?? ""))
                card.lines += try cardLines(beneficiary: m.id, name: m.name, program: program)
            }
            card.lines.sort { a, b in
                let pa = try? Period(parsing: a.period), pb = try? Period(parsing: b.period)
                if let pa, let pb, pa != pb { return pa < pb }
                return a.program < b.program
            }
            if card.lines.isEmpty && !keepEmpty {
                skipped += 1
                continue
            }
            cards.append(card)
        }
        guard !cards.isEmpty else {
            throw YKTError(.cardNone, "所选的 \(skipped) 户都还没有经县财政审定的补贴发放记录，没有明白卡可打印",
                           hint: "县财政审定清册并同步（ykt sync）后再打印")
        }
        return (cards, skipped)
    }

    /// A member's lines of approved (or already paid) rosters of programs that are not secret,
    /// with the state of the latest payment (a paid re-issue supersedes the failed original).
    private func cardLines(beneficiary: Int64, name: String, program: (String) throws -> Program) throws -> [CardLine] {
        let rows = try db.all("""
            SELECT l.roster_id, l.line_no, r.program_code, r.period, a.standard_fen, l.quantity_e4, l.amount_fen
            FROM roster_line l JOIN roster r ON r.id = l.roster_id JOIN application a ON a.id = l.application_id
            JOIN program p ON p.code = r.program_code
            WHERE l.beneficiary_id = ? AND NOT p.secret
              AND (EXISTS (SELECT 1 FROM roster_decision d WHERE d.roster_id = r.id AND d.decision = 'approved')
                   OR EXISTS (SELECT 1 FROM payment_result pr WHERE pr.roster_id = l.roster_id AND pr.line_no = l.line_no))
            """, beneficiary) {
            (roster: $0.int64(0), line: $0.int(1), program: $0.text(2), period: $0.text(3), standard: $0.int64(4),
             quantity: $0.int64(5), amount: $0.int64(6))
        }
        return try rows.map { r in
            let p = try program(r.program)
            let results = try db.all("""
                SELECT payment, status, coalesce(reason, reason_code, ''), result_on, reissue_of IS NOT NULL
                FROM payment_result WHERE roster_id = ? AND line_no = ? ORDER BY payment
                """, r.roster, r.line) { (payment: $0.int64(0), status: $0.text(1), reason: $0.text(2), date: $0.text(3), reissue: $0.bool(4)) }
            let latest = results.first { $0.status == "paid" } ?? results.last
            let state: String
            switch latest?.status {
            case "paid": state = latest!.reissue ? "补发成功" : "已发放"
            case "failed": state = "发放失败（\(Masking.digits(in: latest!.reason))）"
            default: state = "发放中"
            }
            return CardLine(name: name, program: p.name, period: r.period, standard: "\(Fen(r.standard).yuan) \(p.unit.chinese)",
                            quantity: "\(Quantity(tenThousandths: r.quantity)) \(p.unit.quantityUnit)", amountFen: r.amount,
                            state: state, paid: latest?.status == "paid", date: latest?.date ?? "")
        }
    }

    /// The phone printed on the cards: `complaint_phone` in node.conf, otherwise the phone of
    /// the latest public notice; YKT-NODE-CONFIG when there is neither.
    public func cardPhone() throws -> String {
        if let phone = config.extra["complaint_phone"]?.trimmed, !phone.isEmpty { return phone }
        if let phone = try db.first("SELECT phone FROM notice WHERE phone <> '' ORDER BY id DESC LIMIT 1", map: { $0.text(0) }) {
            return phone
        }
        throw YKTError(.nodeConfig, "明白卡须印监督举报电话，但 node.conf 没有 complaint_phone，本乡镇也还没有张贴过公示",
                       at: SourceLocation(file: NSStringPath(directory).appending(NodeConfig.fileName), field: "complaint_phone"),
                       hint: "在 node.conf 中加一行 complaint_phone = 监督举报电话（例如 0772-6812000）")
    }

    /// The cards as one printable HTML page (A4 portrait, one sheet a household).
    public func cardDocument(_ selection: CardSelection, printedOn: CivilDate) throws -> (html: String, cards: [Card], skipped: Int) {
        let (cards, skipped) = try cards(selection)
        let html = CardPage.html(cards: cards, township: config.name, issuer: issuingBody, phone: try cardPhone(),
                                 date: printedOn.chinese, qr: try queryCode())
        return (html, cards, skipped)
    }

    /// Writes the cards to `path` (one HTML file, atomically), recorded in the audit trail.
    public func printCards(_ selection: CardSelection, to path: String, printedOn: CivilDate) throws -> (cards: [Card], skipped: Int) {
        try perform("card.print") {
            let (html, cards, skipped) = try cardDocument(selection, printedOn: printedOn)
            try FileOutput.writeAtomically(html, to: path)
            let object: String
            switch selection {
            case .all: object = "township \(config.nodeID)"
            case .household(let h): object = "household \(h.trimmed)"
            case .resident(let id): object = "resident \(id.masked)"
            case .village(let v): object = "village \(v.trimmed)"
            }
            return ((cards, skipped), AuditNote(object: object, detail: "\(cards.count) 户 → \((path as NSString).lastPathComponent)"))
        }
    }
}
