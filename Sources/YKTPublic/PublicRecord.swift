import Foundation

/// One line a resident sees when they look up their own payments on the public query page: a
/// program, a period, an amount and what became of it. Nothing in it identifies the resident:
/// the account is masked, the township's phone is an office number (a mobile is masked).
public struct PublicRecord: Sendable, Codable, Hashable {
    /// 项目名称.
    public var programName: String
    /// 期次 as the county stores it ("2026-03", "2026").
    public var period: String
    public var amountFen: Int64
    /// 已发放 / 补发成功 / 发放中 / 发放失败（待更正补发） / 审核中.
    public var status: String
    /// yyyy-MM-dd the bank paid or refused; "" when there is no result yet.
    public var date: String
    /// Why a payment failed (the bank's stated reason, digits masked); "" otherwise.
    public var reason: String
    /// The designated account, masked.
    public var account: String
    /// The township that pays, and its phone for questions.
    public var township: String
    public var phone: String

    public init(programName: String, period: String, amountFen: Int64, status: String, date: String, reason: String,
                account: String, township: String, phone: String) {
        self.programName = programName
        self.period = period
        self.amountFen = amountFen
        self.status = status
        self.date = date
        self.reason = reason
        self.account = account
        self.township = township
        self.phone = phone
    }
}
