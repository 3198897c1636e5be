import Foundation
import YKTCore
import YKTSync

/// A change set's body read, proven and parsed on a thread of its own, a part at a time, while
/// the receiving thread applies the parts before it. The receiver holds the database's write
/// lock and does nothing but write; the reading (of the staged evidence file), the hashing and
/// the parsing and checking of each line happen beside it, at most `depth` parts ahead, so
/// memory still follows the part, not the change set.
///
/// The last item is `.end` only once `ChangeSetBodyReader.finish` has proven the whole body
/// against the signed header (length, hash, count) and the evidence file holds it durably;
/// any failure arrives as `.failed` in its place, so a receiver that commits only after
/// `.end` never commits a body that does not match, or one whose evidence is not on disk.
final class BodyPipeline: @unchecked Sendable {
    enum Item {
        /// The operation lines a part completes, parsed.
        case part(operations: [ChangeSet.ParsedLine<Registration>])
        case end
        case failed(any Error)
    }

    // Safe: `items`, `cancelled` and `finished` are guarded by `condition`; `source` and
    // `evidence` are used by the producing thread only, from its start until it sets
    // `finished`, and by no one else before.
    private let condition = NSCondition()
    private var items: [Item] = []
    private var cancelled = false
    private var finished = false
    private let depth: Int
    private let source: any ChangeSetSource
    private let evidence: EvidenceFile?

    /// `evidence`, when given, receives each part as it is read (and is synced before `.end`);
    /// a body read back from its evidence file has none.
    init(header: ChangeSet.Header, early: [UInt8], source: any ChangeSetSource, evidence: EvidenceFile?, partBytes: Int,
         depth: Int = 2) {
        self.depth = max(depth, 2)
        self.source = source
        self.evidence = evidence
        // A body of one part (the usual few operations of a day's sync) is read and parsed here
        // at once: its part and `.end` fit in the queue, and a thread would cost more to start
        // than the work (up to a millisecond when the other core is asleep or busy).
        if early.count + header.bodyBytes < partBytes {
            produce(header: header, early: early, partBytes: partBytes)
            finished = true
            return
        }
        let thread = Thread { [self] in
            produce(header: header, early: early, partBytes: partBytes)
            condition.withLock {
                finished = true
                condition.broadcast()
            }
        }
        thread.name = "ykt-body"
        thread.start()
    }

    private func produce(header: ChangeSet.Header, early: [UInt8], partBytes: Int) {
        var reader = ChangeSetBodyReader(header: header)
        var part = early
        do {
            while true {
                part.reserveCapacity(partBytes)
                // A receiver that gave up (a bad operation) stops the reading at once, not
                // after a whole part at the slowest sender's pace.
                while part.count < partBytes, !isCancelled, try source.read(into: &part, max: partBytes - part.count) > 0 {}
                if isCancelled { return }
                if part.isEmpty { break }
                let lines = try reader.take(part)
                try evidence?.append(part)
                // A line that does not parse refuses the whole change set.
                let today = CivilDate.inChina()
                let operations = try ChangeSet.parseOperations(lines.bytes, lines: lines.lines[...], node: header.node,
                                                               numberedFrom: lines.firstNumber, parallel: false,
                                                               fast: { Registration.read($0, node: $1, today: today) })
                guard put(.part(operations: operations)) else { return }
                part = []
            }
            try reader.finish()
            try evidence?.sync()
            _ = put(.end)
        } catch {
            _ = put(.failed(error))
        }
    }

    private var isCancelled: Bool { condition.withLock { cancelled } }

    /// Waits for room; false once the receiver has given up.
    private func put(_ item: Item) -> Bool {
        condition.withLock {
            while items.count >= depth, !cancelled { condition.wait() }
            guard !cancelled else { return false }
            items.append(item)
            condition.broadcast()
            return true
        }
    }

    /// The next part, `.end` or `.failed`, in order.
    func next() -> Item {
        condition.withLock {
            while items.isEmpty {
                if finished { return .failed(YKTError(.internalError, "正文读取线程已结束")) }
                condition.wait()
            }
            let item = items.removeFirst()
            condition.broadcast()
            return item
        }
    }

    /// Stops the producing thread and waits for it (reading stops at the next part; a read
    /// under way ends with the connection's own timeout at worst). After this, the source is
    /// free for the caller again.
    func stop() {
        condition.withLock {
            cancelled = true
            items.removeAll()
            condition.broadcast()
            while !finished { condition.wait() }
        }
    }
}
