import Foundation
import YKTCore
import YKTCounty
import YKTCrypto
import YKTSync

/// The fuzz targets (issue 5): the change-set decoder, the register importer's decoding and CSV
/// reading, and the bank file parsers. Whatever the bytes, each must return or throw a
/// `YKTError`, never crash, hang or run out of memory. Built two ways:
///
/// - with `-sanitize=fuzzer` and `-DFUZZING` (`fuzz/run.sh`): libFuzzer drives
///   `LLVMFuzzerTestOneInput`; `YKT_FUZZ_TARGET` picks the target;
/// - normally (part of every build): `ykt-fuzz TARGET FILE…` runs saved inputs through a target,
///   to replay a crash or the corpus.
enum FuzzTarget: String, CaseIterable {
    case changeset, csv, bankfile

    func run(_ bytes: [UInt8]) {
        switch self {
        case .changeset:
            // As received (header checks first), and, so the fuzzer gets past the body hash, the
            // same bytes as the body of a properly made change set.
            if let set = try? ChangeSet.readHeader(bytes) {
                _ = try? set.operations()
                // And streamed, in parts of an odd size, as the county reads a request body.
                var reader = ChangeSetBodyReader(header: set.header)
                var offset = set.bodyOffset
                while offset < bytes.count {
                    guard (try? reader.take(Array(bytes[offset..<min(offset + 61, bytes.count)]))) != nil else { break }
                    offset += 61
                }
                _ = try? reader.finish()
            }
            let operations = bytes.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
            let made = ChangeSet.build(node: "450223101", keyID: "k", seq: 1, prev: "", operations: operations, audit: .genesis)
            if let set = try? ChangeSet.readHeader(made.bytes) { _ = try? set.operations() }
        case .csv:
            guard let decoded = try? TextDecoding.decode(bytes, file: "fuzz.csv") else { return }
            _ = try? CSVReader(utf8: decoded.utf8, file: "fuzz.csv").records()
        case .bankfile:
            for magic in [BankFile.resultMagic, BankFile.instructionMagic, BankFile.statementMagic] {
                // The bytes as a whole file, and as the body under a header whose hash matches.
                let sealed = Array((magic + ",batch=1,bank=RCC,county=450223,lines=1,paid=1,paid_fen=1,failed=0,failed_fen=0," +
                                    "returned_fen=0,total_fen=1,from=2026-11-01,through=2026-11-30,body_sha256=" +
                                    Hex.encode(SHA256.hash(bytes)) + "\n").utf8) + bytes
                for file in [bytes, sealed] {
                    _ = try? BankFile.readResult(file, file: "fuzz")
                    _ = try? BankFile.readInstruction(file, file: "fuzz")
                    _ = try? BankFile.readStatement(file, file: "fuzz")
                }
            }
        }
    }
}

#if FUZZING
let fuzzTarget = FuzzTarget(rawValue: ProcessInfo.processInfo.environment["YKT_FUZZ_TARGET"] ?? "") ?? .changeset

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzTarget.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// SwiftPM names an executable's entry point after its module; hand over to libFuzzer's driver.
@_cdecl("ykt_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments, fuzzOne)
}
#else
@main
enum Replay {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: ykt-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE…")
            exit(2)
        }
        var count = 0
        for path in args.dropFirst() {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: path)).map { $0.map { path + "/" + $0 } } ?? [path]
            for file in files.sorted() {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                target.run([UInt8](data))
                count += 1
            }
        }
        print("\(target.rawValue): \(count) inputs, no crash")
    }
}
#endif
