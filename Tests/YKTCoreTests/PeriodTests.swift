import Testing
import YKTCore

@Suite("Periods: years, quarters, months; frequencies")
struct PeriodTests {
    func p(_ s: String) throws -> Period { try Period(parsing: s) }

    @Test("quarters are written 2026-Q1; other spellings are refused")
    func quarters() throws {
        #expect(try p("2026-Q1").description == "2026-Q1" && p("2026-Q1").kind == .quarter && p("2026-Q1").chinese == "2026年第1季度")
        #expect(try p("2026-Q4").months == 10...12)
        #expect(try p("2026").kind == .year && p("2026-03").kind == .month)
        for bad in ["2026-Q0", "2026-Q5", "2026-q1", "2026Q1", "2026-Q", "2026-Q12", "2026-1"] {
            #expect((#expect(throws: YKTError.self) { try p(bad) })?.code == .periodInvalid, "\(bad)")
        }
        #expect(try [p("2026-04"), p("2026-Q2"), p("2026-01"), p("2026"), p("2026-Q1")].sorted().map(\.description)
                == ["2026", "2026-Q1", "2026-01", "2026-Q2", "2026-04"])
    }

    @Test("a year overlaps its quarters and months, a quarter its months; nothing crosses years")
    func overlaps() throws {
        #expect(try p("2026").overlaps(p("2026-03")) && p("2026-03").overlaps(p("2026")))
        #expect(try p("2026").overlaps(p("2026-Q4")) && p("2026-Q1").overlaps(p("2026-03")))
        #expect(try !p("2026-Q1").overlaps(p("2026-04")) && !p("2026-Q1").overlaps(p("2026-Q2")))
        #expect(try !p("2026").overlaps(p("2027-01")) && !p("2026-12").overlaps(p("2027")))
        #expect(try p("2026-05").overlaps(p("2026-05")) && !p("2026-05").overlaps(p("2026-06")))
    }

    @Test("发放频次 is exactly 每年, 每季, 每月 or 一次性, and decides the period's form")
    func frequencies() throws {
        #expect(try PaymentFrequency(parsing: " 每季 ") == .quarterly)
        for bad in ["", "年", "每年度", "按月", "每季度", "yearly", "一次"] {
            #expect((#expect(throws: YKTError.self) { try PaymentFrequency(parsing: bad) })?.code == .programFrequency, "\(bad)")
        }
        try PaymentFrequency.yearly.check(p("2026"), program: "GD01")
        try PaymentFrequency.quarterly.check(p("2026-Q2"), program: "X")
        try PaymentFrequency.monthly.check(p("2026-02"), program: "YL01")
        try PaymentFrequency.once.check(p("2026"), program: "TF01")
        for (f, bad) in [(PaymentFrequency.yearly, "2026-03"), (.monthly, "2026"), (.monthly, "2026-Q1"), (.quarterly, "2026-03"), (.once, "2026-03")] {
            let e = #expect(throws: YKTError.self) { try f.check(p(bad), program: "P1") }
            #expect(e?.code == .periodFrequency && e?.message.contains(bad) == true, "\(f) \(bad)")
        }
        // 一次性: any two applications collide, whatever their periods.
        #expect(try PaymentFrequency.once.collides(p("2027"), with: p("2026")))
        #expect(try !PaymentFrequency.yearly.collides(p("2027"), with: p("2026")))
    }
}
