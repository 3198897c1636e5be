import YKTCore
import YKTNode

/// `ykt audit verify` at the county, as one library call (the CLI and the console's audit page
/// both run it): the hash chain, then the anchors a township's exported file holds (only once
/// the chain itself holds), the signatures and roles behind every decision, and, when all of
/// that holds, the stored change sets against their signed headers.
extension CountyNode {
    public struct AuditCheck: Sendable {
        /// The chain's report, with the decision problems (signatures, roles) added.
        public var report: AuditLog.Report
        public var anchorsChecked = 0
        public var anchorProblems: [AuditLog.AnchorProblem] = []
        /// Where the anchors came from (empty when none were checked).
        public var anchorSource = ""
        /// The evidence check: nil when it was not run because the chain or the anchors failed.
        public var evidence: (changeSets: Int, problems: [String])?
        public var ok: Bool { failure == nil }
        /// The error `audit verify` ends with, the first that applies: the chain, the anchors,
        /// the evidence; nil when everything holds.
        public var failure: YKTError? {
            if !report.ok { return AuditLog.brokenError(report) }
            if !anchorProblems.isEmpty { return AuditLog.anchorError(anchorProblems, checked: anchorsChecked, source: anchorSource) }
            if let evidence, !evidence.problems.isEmpty { return CountyNode.evidenceError(evidence) }
            return nil
        }
    }

    /// Runs every check of `ykt audit verify` (read only). `anchors` is a file a township
    /// exported (`ykt audit anchors --export`) and the path it was read from.
    public func checkAudit(anchors: (file: AuditAnchorFile, path: String)? = nil) throws -> AuditCheck {
        var check = AuditCheck(report: try AuditLog.verify(db: db))
        // Anchors are checked once the chain itself holds (a broken chain is reported first).
        if check.report.ok, let anchors {
            check.anchorProblems = try checkAnchors(file: anchors.file)
            check.anchorsChecked = try anchors.file.anchors(of: config.nodeID).count
            check.anchorSource = "锚点文件 \(anchors.path)（\(anchors.file.exportedBy) 于 \(anchors.file.exportedAt) 导出）"
        }
        // Who took each decision: signatures, roles at the moment, rows written around the program.
        check.report.problems += try verifyOperators(decided: try decidedRows())
        if check.report.ok && check.anchorProblems.isEmpty {
            let evidence = try verifyEvidence()
            check.evidence = (evidence.changeSets, evidence.problems)
        }
        return check
    }

    /// The error `audit verify` ends with when stored change sets do not match their headers.
    public static func evidenceError(_ evidence: (changeSets: Int, problems: [String])) -> YKTError {
        YKTError(.fileRead, "存证原文有 \(evidence.problems.count) 处与签名头部不符（共核对 \(evidence.changeSets) 个变更集）",
                 hint: "停止 ykt serve，从最近的备份恢复节点目录下的 evidence 目录，再核对",
                 details: evidence.problems.map { YKTError(.fileRead, $0) })
    }
}
