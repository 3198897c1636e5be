/// The words a clerk reads for the sync's technical names (issue 16, item 3): operation kinds
/// and their states in the outbox, message kinds in the inbox, conflict kinds and states. The
/// names themselves stay in `--json` output and in the protocol.
public enum SyncWords {
    /// An operation kind (docs/operations.md).
    public static func operation(_ kind: String) -> String {
        [
            "beneficiary.register": "登记补贴对象", "beneficiary.update": "修改补贴对象信息", "beneficiary.remove": "从底册移除补贴对象",
            "account.change": "变更指定账户", "payment.correct": "更正发放失败的账户", "application.record": "录入申请",
            "meeting.record": "登记村民代表会议评议", "notice.open": "张贴公示", "notice.close": "结束公示", "roster.submit": "报送清册",
            "objection.record": "登记异议", "objection.settle": "处理异议",
        ][kind] ?? kind
    }

    /// An outbox operation's state.
    public static func state(_ state: String) -> String {
        ["pending": "待同步", "batched": "已打包待回执", "accepted": "县里已采纳", "rejected": "县里退回", "conflicted": "冲突待县里处理", "decided": "冲突县里已裁决"][state] ?? state
    }

    /// A message kind from the county.
    public static func message(_ kind: String) -> String {
        [
            "policy.version": "补贴政策清单", "calendar.version": "工作日历", "roster.received": "清册已收到",
            "roster.reviewed": "清册审核结果", "roster.approved": "清册已审定", "payment.result": "发放结果",
            "account.changed": "县里变更账户", "conflict.decision": "冲突处理决定",
        ][kind] ?? kind
    }

    /// A conflict kind.
    public static func conflict(_ kind: String) -> String {
        [
            "resident.two-townships": "同一人在两个乡镇登记", "resident.other-township": "变更了别的乡镇登记的人",
            "account.both-sides": "县里和乡镇都改了账户", "program.list": "申请用了县里清单没有的项目或版本",
            "roster.already-accepted": "再次报送已接收的清册",
        ][kind] ?? kind
    }

    /// A conflict's state.
    public static func conflictStatus(_ status: String) -> String {
        ["open": "待处理", "resolved": "已处理"][status] ?? status
    }
}
