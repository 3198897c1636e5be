import YKTCore
import YKTNode
import YKTTownship

/// 惠民惠农补贴明白卡.
enum CardCommands {
    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["card", "print"], abstract: "（乡镇）打印惠民惠农补贴明白卡：每户一张 A4，列出家庭成员各项补贴的标准、期次、金额和发放情况（脱敏）",
            discussion: "户按底册的户号归并（同村同户号为一户）；底册没有户号的对象每人一张。只列县财政已审定（或已有发放结果）的清册明细，" +
                "涉密项目不列。卡上印监督举报电话（node.conf 的 complaint_phone，不填时用最近一次公示的电话），" +
                "node.conf 有 public_url 时右上角印查询二维码（内容为该地址加 query）。" +
                "--household、--resident、--village 至多给一个；都不给时打印全乡镇有发放记录的各户。",
            options: [
                .value("household", "户号", "只打印这个户号的一户"),
                .value("resident", "身份证号", "打印此人所在的一户（没有户号时只列本人）"),
                .value("village", "村", "打印这个村（社区）有发放记录的各户"),
                .value("out", "文件", "输出的 HTML 文件（用浏览器打印为 A4）", required: true),
                .value("date", "日期", "落款日期；不给时为今天"),
            ],
            run: { inv in
                let given = ["household", "resident", "village"].filter { inv.string($0) != nil }
                guard given.count <= 1 else {
                    throw YKTError(.usage, "--household、--resident、--village 至多给一个，实际给了 " + given.map { "--" + $0 }.joined(separator: "、"),
                                   hint: "一次打印一户、一人所在的户或一个村")
                }
                let selection: TownshipNode.CardSelection
                if let h = inv.string("household") {
                    selection = .household(h)
                } else if inv.string("resident") != nil {
                    selection = .resident(try inv.parse("resident") { s throws(YKTError) in try ResidentID(s) })
                } else if let v = inv.string("village") {
                    selection = .village(v)
                } else {
                    selection = .all
                }
                let node = try inv.node()
                let path = try inv.require("out")
                let printed = try node.printCards(selection, to: path, printedOn: try inv.date())
                inv.out.line("已生成明白卡 \(printed.cards.count) 户：\(path)")
                if printed.skipped > 0 { inv.out.message("另有 \(printed.skipped) 户还没有经县财政审定的补贴，未打印") }
                try NoticeCommands.hintWithoutQueryCode(inv, node)
            }),
    ]
}
