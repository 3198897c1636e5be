import Foundation
import YKTCore
import YKTStore
import YKTSync

/// Registrations read on the bulk path, put into the register several to a statement
/// (`INSERT OR IGNORE … VALUES (…), (…), …`): SQLite then opens and closes the register's
/// cursors, and ends a statement, once for `size` rows instead of once a row (a fifth of the
/// county's instructions per registration). Decided exactly as one at a time would be:
/// - A row goes in only when no other registration of its resident went in before it (the
///   statement inserts its rows in order and ignores a known ID, as the single insert does).
/// - A household head waits only if no row waiting here names the same household (`canTake`);
///   otherwise the rows waiting go in first and the head is decided on its own. Before the
///   rows go in, one query asks the register for all the waiting heads' households
///   (`firstSecondHead`); the first head whose household has another head there splits the
///   batch: the rows before it go in, it is decided on its own, and the rows after it go
///   through the same steps next, in the same flush.
/// - A row that did not go in (its resident known already) is decided afterwards, in order, by
///   the single-row path (`enterRegister(residentID:…)`): taken again, refused, or a conflict;
///   that decision looks only at its own resident, which no later row of the batch changed.
struct RegisterBatch {
    static let size = 16

    /// One waiting registration: its line (kept for the slow decision) and where its bytes are
    /// in `bytes`.
    struct Row {
        var line: RegisterLine
        var kind: AccountKind
        var offset: Int
    }

    private(set) var rows: [Row] = []
    /// The waiting lines' bytes end to end, bound to the statement without a copy.
    private var bytes: [UInt8] = []

    init() {
        rows.reserveCapacity(Self.size)
        bytes.reserveCapacity(Self.size * 160)
    }

    var isEmpty: Bool { rows.isEmpty }
    var isFull: Bool { rows.count == Self.size }

    /// Whether `line` (its entity naming its resident) may wait here: anyone who is not a
    /// household head; a head only with a household and no row waiting of the same household
    /// (which, going in first, might be one). Whether the register holds another head of its
    /// household is asked for all the waiting heads at once, before they go in
    /// (`firstSecondHead`): nothing is written to the register while rows wait.
    func canTake(_ line: RegisterLine) -> Bool {
        guard line.head else { return true }
        return line.withBytes(.household) { household in
            !household.isEmpty && !waits(household: household)
        }
    }

    /// Whether a waiting row's household is `household`.
    private func waits(household: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.withUnsafeBufferPointer { all in
            rows.contains { row in
                let r = row.line.range(.household)
                return r.count == household.count && (r.isEmpty || memcmp(all.baseAddress! + row.offset + r.lowerBound, household.baseAddress!, r.count) == 0)
            }
        }
    }

    /// The first waiting head whose household the register already has another head of (a
    /// resident other than the row's own): that row is decided on its own, after the rows
    /// before it go in (refused, with the other head named). `nil` when every waiting head may
    /// go in. One query for all the waiting heads (`RegisterStatements.otherHeads`), where a
    /// query for each head, as it joined, cost a third of the bulk path's instructions outside
    /// SQLite's inserting.
    func firstSecondHead(_ db: Database, statements: inout CountyNode.RegisterStatements) throws -> Int? {
        let heads = rows.count(where: \.line.head)
        guard heads > 0 else { return nil }
        let query = try statements.otherHeads(heads, db)
        defer { query.reset() }
        var first: Int?
        try bytes.withUnsafeBufferPointer { all in
            var p: Int32 = 2
            var waiting: [Int] = []   // the heads' rows, in the order of the query's households
            waiting.reserveCapacity(heads)
            for (i, row) in rows.enumerated() where row.line.head {
                let r = row.line.range(.household)
                try query.bind(p, utf8TextNoCopy: UnsafeBufferPointer(rebasing: all[row.offset + r.lowerBound..<row.offset + r.upperBound]))
                waiting.append(i)
                p += 1
            }
            while try query.step() {
                let found = query.row
                let i = waiting[found.int(0)]
                let own = rows[i].line.range(.residentID)
                let other = found.utf8(1)
                if other.elementsEqual(all[rows[i].offset + own.lowerBound..<rows[i].offset + own.upperBound]) { continue }
                first = min(first ?? i, i)
            }
        }
        return first
    }

    /// Keeps the first `k` rows waiting and gives back the others, in order.
    mutating func split(keeping k: Int) -> ArraySlice<Row> {
        let rest = rows[k...]
        bytes.removeSubrange((k < rows.count ? rows[k].offset : bytes.count)...)
        rows.removeSubrange(k...)
        return rest
    }

    mutating func add(_ line: RegisterLine, kind: AccountKind) {
        rows.append(Row(line: line, kind: kind, offset: bytes.count))
        bytes.append(contentsOf: line.text)
    }

    /// Runs the insert for the waiting rows; returns which of them went in (in order).
    func insert(_ db: Database, statements: inout CountyNode.RegisterStatements) throws -> [Bool] {
        let statement = try statements.batchInsert(rows.count, db)
        try bytes.withUnsafeBufferPointer { all in
            for (i, row) in rows.enumerated() {
                func text(_ field: RegisterLine.Field) -> UnsafeBufferPointer<UInt8> {
                    let r = row.line.range(field)
                    return UnsafeBufferPointer(rebasing: all[row.offset + r.lowerBound..<row.offset + r.upperBound])
                }
                let p = Int32(2 + 7 * i)
                try statement.bind(p, utf8TextNoCopy: text(.residentID))
                try statement.bind(p + 1, utf8TextNoCopy: text(.name))
                try statement.bind(p + 2, utf8TextNoCopy: text(.bank))
                try statement.bind(p + 3, literal: row.kind.literal)
                try statement.bind(p + 4, utf8TextNoCopy: text(.number))
                try statement.bind(p + 5, utf8TextNoCopy: text(.household))
                try statement.bind(p + 6, Int64(row.line.head ? 1 : 0))
            }
            try statement.execute()
        }
        let inserted = db.changes
        if inserted == rows.count { return Array(repeating: true, count: rows.count) }
        // Some residents were known: the rows that went in have the statement's new rowids
        // (consecutive, ending at the last one), each the first of its resident here.
        let last = db.lastInsertRowID
        let fresh: Range<Int64> = inserted == 0 ? 0..<0 : (last - Int64(inserted) + 1)..<(last + 1)
        var seen = Set<String>()
        let went = try rows.map { row in
            let id = row.line.residentID
            guard seen.insert(id).inserted,
                  let rowid = try db.first("SELECT rowid FROM resident WHERE resident_id = ?", id, map: { $0.int64(0) }) else { return false }
            return fresh.contains(rowid)
        }
        guard went.count(where: { $0 }) == inserted else {
            throw YKTError(.internalError, "登记批量写入 \(rows.count) 行，写入 \(inserted) 行，与逐行核对不符")
        }
        return went
    }

    mutating func removeAll() {
        rows.removeAll(keepingCapacity: true)
        bytes.removeAll(keepingCapacity: true)
    }
}
