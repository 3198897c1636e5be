import YKTCore
import YKTNode

/// What an import reports, and the audit note that records it (file name and fingerprint).
func importOutcome(_ loaded: LoadedCSV, imported: Int, rejected: Int, problems: [String], details: [YKTError] = [],
                   options: ImportOptions) -> (ImportResult, TownshipNode.AuditNote) {
    let result = ImportResult(file: loaded.name, encoding: loaded.encoding, sha256: loaded.sha256,
                              rows: loaded.rowCount, imported: imported, rejected: rejected,
                              rejectsFile: rejected > 0 ? options.rejectsPath : nil, problems: problems, details: details)
    return (result, TownshipNode.AuditNote(object: "file \(loaded.name) sha256:\(loaded.sha256.prefix(16))",
                                           detail: "rows=\(result.rows) imported=\(imported) rejected=\(rejected)"))
}
