import YKTNet
import YKTSync

/// A change set's request body, as the county's receiver reads it.
final class StreamedChangeSet: ChangeSetSource {
    let body: HTTPBodyStream
    init(_ body: HTTPBodyStream) { self.body = body }
    var length: Int { body.length }
    func read(into buffer: inout [UInt8], max: Int) throws -> Int { try body.read(into: &buffer, max: max) }
}
