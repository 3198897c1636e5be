import YKTCore
import YKTNode

/// What a clerk enters for a new designated account.
public struct AccountInput: Sendable, Hashable {
    public var bank: String
    public var number: AccountNumber
    /// Reference of the confirmation form the person signed (本人签字确认书编号).
    public var confirmation: String
    /// Reason, when the number is already another resident's designated account.
    public var sharedReason: String?

    public init(bank: String, number: AccountNumber, confirmation: String, sharedReason: String? = nil) {
        self.bank = bank
        self.number = number
        self.confirmation = confirmation
        self.sharedReason = sharedReason
    }

    var json: JSONValue {
        var o: [String: JSONValue] = ["bank": .string(bank), "kind": .string(number.kind.rawValue),
                                      "number": .string(number.value), "confirmation": .string(confirmation)]
        if let sharedReason { o["sharedReason"] = .string(sharedReason) }
        return .object(o)
    }
}

/// What a clerk enters to register a beneficiary (补贴对象).
public struct BeneficiaryInput: Sendable, Hashable {
    public var residentID: ResidentID
    public var name: String
    public var village: String
    public var household: String
    public var phone: String
    public var account: AccountInput
    /// The household head (户主) of `household` (which must then be given).
    public var head: Bool

    public init(residentID: ResidentID, name: String, village: String, household: String = "", phone: String = "",
                account: AccountInput, head: Bool = false) {
        self.residentID = residentID
        self.name = name
        self.village = village
        self.household = household
        self.phone = phone
        self.account = account
        self.head = head
    }

    /// The UTF-8 bytes of all its text (to size a buffer written from it).
    var byteCount: Int {
        residentID.value.utf8.count + name.utf8.count + village.utf8.count + household.utf8.count + phone.utf8.count
            + account.bank.utf8.count + account.number.value.utf8.count + account.confirmation.utf8.count
            + (account.sharedReason?.utf8.count ?? 0)
    }
}

/// A designated account as stored, current or replaced.
public struct AccountRecord: Sendable, Codable, Hashable {
    public var bank: String
    public var kind: AccountKind
    public var number: String
    public var confirmation: String
    public var sharedReason: String?
    public var validFrom: String
    /// nil while this is the current account.
    public var replacedAt: String?

    public var masked: String { Masking.account(number) }
}

/// A beneficiary of the register (底册) with the current designated account.
public struct BeneficiaryRecord: Sendable, Codable, Hashable {
    public var id: Int64
    public var residentID: String
    public var name: String
    public var village: String
    public var household: String
    public var phone: String
    public var version: Int
    public var createdAt: String
    public var updatedAt: String
    public var account: AccountRecord?
    /// The head (户主) of `household`.
    public var head: Bool = false

    public var maskedID: String { Masking.residentID(residentID) }
    /// The operation entity key: residents are identified by their ID number everywhere.
    public var entity: String { "beneficiary/\(residentID)" }
}

/// Changes to a beneficiary's details (nil: unchanged).
public struct BeneficiaryEdit: Sendable, Hashable {
    public var name: String?
    public var village: String?
    public var household: String?
    public var phone: String?
    /// true: make this person the head (户主) of their household (the one given in `household`
    /// when it changes too); the previous head stays a member. nil: unchanged, except that a
    /// person moving to another household joins it as a member.
    public var head: Bool?

    public init(name: String? = nil, village: String? = nil, household: String? = nil, phone: String? = nil, head: Bool? = nil) {
        self.name = name
        self.village = village
        self.household = household
        self.phone = phone
        self.head = head
    }
}
