/// Masking of personal data in anything public (notices, result lists) and in every log line.
///
/// Conventions (see `docs/conventions.md`): a resident ID keeps its 6-digit region code and its
/// last 4 characters; an account keeps its first 4 and last 4 digits; a mobile phone keeps its
/// first 3 and last 4. The masked text has the same length as the original, so columns line up.
public enum Masking {
    public static func residentID(_ id: String) -> String {
        keep(id, head: 6, tail: 4)
    }

    /// An entity key with a resident ID in it (`application/<id>/<program>/<period>`), the ID
    /// masked: `application/450223********1234/GD01/2026`.
    public static func entity(_ key: String) -> String {
        key.split(separator: "/", omittingEmptySubsequences: false).map { part in
            part.count == 18 && part.prefix(17).allSatisfy(\.isASCIIDigit) ? residentID(String(part)) : String(part)
        }.joined(separator: "/")
    }

    public static func account(_ number: String) -> String {
        let n = number.count
        if n <= 8 { return keep(number, head: min(2, n / 4), tail: min(2, n / 4)) }
        return keep(number, head: 4, tail: 4)
    }

    public static func phone(_ phone: String) -> String {
        if phone.count == 11, phone.first == "1" { return keep(phone, head: 3, tail: 4) }
        return keep(phone, head: min(4, phone.count / 3), tail: min(4, phone.count / 3))
    }

    /// Free text with every run of 16 or more digits (resident IDs, card numbers) and every
    /// 11-digit mobile number masked: for screens that show a county's reason or a raw body.
    public static func digits(in text: String) -> String {
        var out = ""
        var run = ""
        func flush() {
            if run.count >= 16 { out += residentID(run).count == run.count && run.count == 18 ? residentID(run) : account(run) }
            else if run.count == 11, run.first == "1" { out += phone(run) }
            else { out += run }
            run = ""
        }
        for ch in text {
            if ch.isNumber && ch.isASCII || (ch == "X" && run.count == 17) { run.append(ch) } else { flush(); out.append(ch) }
        }
        flush()
        return out
    }

    static func keep(_ s: String, head: Int, tail: Int) -> String {
        let chars = Array(s)
        guard chars.count > head + tail else { return String(repeating: "*", count: chars.count) }
        return String(chars[..<head]) + String(repeating: "*", count: chars.count - head - tail)
            + String(chars[(chars.count - tail)...])
    }
}
