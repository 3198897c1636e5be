import YKTCore
import YKTDemo

/// Demo data.
enum DemoCommands {
    static let all: [CommandSpec] = [
        CommandSpec(
            path: ["demo", "generate"], abstract: "生成一个县的演示数据（政策清单、各乡镇底册和申请 CSV），可植入错误",
            discussion: "同一 --seed 总是生成同样的数据。--defects 例：checkdigit=3,shared-account=2,bad-card=1,missing-name=1,duplicate=1。",
            options: [
                .value("out", "目录", "输出目录", required: true),
                .value("seed", "整数", "随机种子（默认 1）"),
                .value("townships", "个数", "乡镇个数（默认 3）"),
                .value("villages", "个数", "每个乡镇的村数（默认 4）"),
                .value("people", "人数", "每个村的人数（默认 25）"),
                .value("period", "期次", "申请期次（默认 2026）：每年、一次性项目用其年份，每月项目用其月份（只给年份时用该年 1 月）"),
                .value("defects", "清单", "植入的错误：种类=行数，逗号分隔"),
                .value("encoding", "编码", "底册文件编码：utf-8（默认，带 BOM）或 gb18030"),
            ],
            run: { inv in
                func int(_ name: String, _ def: Int) throws(YKTError) -> Int {
                    try inv.optional(name) { s throws(YKTError) -> Int in
                        guard let n = Int(s), n >= 0 else { throw YKTError(.usageValue, "--\(name) 应为非负整数") }
                        return n
                    } ?? def
                }
                var options = CountyGenerator.Options()
                options.seed = UInt64(try int("seed", 1))
                options.townships = try int("townships", 3)
                options.villagesPerTownship = try int("villages", 4)
                options.peoplePerVillage = try int("people", 25)
                options.period = try inv.optional("period") { s throws(YKTError) in try Period(parsing: s) } ?? options.period
                options.defects = try inv.optional("defects") { s throws(YKTError) in try CountyGenerator.Defect.parse(s) } ?? [:]
                options.gb18030 = try inv.optional("encoding") { s throws(YKTError) in try TextEncoding(parsing: s) } == .gb18030
                let written = try CountyGenerator(options: options).write(to: try inv.require("out"))
                for f in written { inv.out.line(f) }
            }),
    ]
}
