import YKTCore

/// 发放载体 (issue 20, item 3; docs/conventions.md): a program the county pays on the social
/// security card only takes no roster line on another kind of account. Checked when the roster
/// is built and again when it is submitted (the policy may have changed in between); the county
/// checks it again on every line (`YKT-ROSTER-CARRIER`).
extension TownshipNode {
    /// Refuses the roster of `program` when any of `people` (name, masked ID, village, account
    /// kind) is paid on another kind of account than the program requires.
    static func refuseOffCarrier(_ program: Program, _ people: [(name: String, maskedID: String, village: String, kind: AccountKind)]) throws(YKTError) {
        guard program.rules.carrier == .socialSecurityCard else { return }
        let off = people.filter { $0.kind != .socialSecurityCard }
        guard !off.isEmpty else { return }
        let listed = off.prefix(20).map { "\($0.village) \($0.name)（\($0.maskedID)，\($0.kind.chinese)）" }.joined(separator: "、")
        throw YKTError(.rosterCarrier,
                       "「\(program.name)」规定发放到社会保障卡金融账户，\(off.count) 人的指定账户不是社保卡：\(listed)"
                           + (off.count > 20 ? "……等" : ""),
                       hint: "为这些人登记社保卡为指定账户（ykt account change 身份证号 --bank 银行 --account 社保卡号 --account-kind 社保卡 --confirmation 编号；卡号不变只改类型也可以）后重新编制清册；对发放载体有疑问请问县财政")
    }
}
