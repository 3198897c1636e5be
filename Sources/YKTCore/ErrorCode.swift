/// The stable error codes. Each is listed, with its exit status and meaning, in `docs/errors.md`
/// (a test keeps that page and this list in step).
public struct ErrorCode: Sendable, Hashable, Codable, RawRepresentable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// The exit status of a process that stops on this error.
    public var exitStatus: ExitStatus { Self.catalog[self]?.exit ?? .internalError }
    /// One line in Chinese saying what the code means (for `docs/errors.md`).
    public var meaning: String { Self.catalog[self]?.meaning ?? "" }

    private static func code(_ raw: String) -> ErrorCode { ErrorCode(rawValue: raw) }

    // Usage
    public static let usage = code("YKT-USAGE")
    public static let usageUnknownCommand = code("YKT-USAGE-COMMAND")
    public static let usageValue = code("YKT-USAGE-VALUE")
    // Resident ID (GB 11643)
    public static let idLength = code("YKT-ID-LENGTH")
    public static let idCharacters = code("YKT-ID-CHARS")
    public static let idRegion = code("YKT-ID-REGION")
    public static let idBirthDate = code("YKT-ID-BIRTHDATE")
    public static let idCheckDigit = code("YKT-ID-CHECKDIGIT")
    // Accounts
    public static let accountFormat = code("YKT-ACCOUNT-FORMAT")
    public static let accountLuhn = code("YKT-ACCOUNT-LUHN")
    /// A resident ID or account number a spreadsheet turned into a number (`4.50223E+17`, last digits `0`).
    public static let excelNumber = code("YKT-EXCEL-NUMBER")
    public static let accountKind = code("YKT-ACCOUNT-KIND")
    public static let accountShared = code("YKT-ACCOUNT-SHARED")
    public static let accountConfirmation = code("YKT-ACCOUNT-CONFIRMATION")
    public static let accountUnchanged = code("YKT-ACCOUNT-UNCHANGED")
    // Other fields
    public static let nameInvalid = code("YKT-NAME")
    public static let phoneInvalid = code("YKT-PHONE")
    public static let fieldMissing = code("YKT-FIELD-MISSING")
    public static let valueInvalid = code("YKT-VALUE")
    public static let dateInvalid = code("YKT-DATE")
    public static let dateFuture = code("YKT-DATE-FUTURE")
    public static let dateBackdated = code("YKT-DATE-BACKDATED")
    public static let dateOrder = code("YKT-DATE-ORDER")
    public static let periodInvalid = code("YKT-PERIOD")
    public static let periodFrequency = code("YKT-PERIOD-FREQUENCY")
    public static let moneyInvalid = code("YKT-MONEY")
    public static let quantityInvalid = code("YKT-QUANTITY")
    // Files
    public static let fileRead = code("YKT-FILE-READ")
    public static let fileWrite = code("YKT-FILE-WRITE")
    public static let fileEncoding = code("YKT-FILE-ENCODING")
    public static let fileWorkbook = code("YKT-FILE-WORKBOOK")
    public static let fileUnsafe = code("YKT-FILE-UNSAFE")
    public static let fileTooLarge = code("YKT-FILE-SIZE")
    public static let csvHeader = code("YKT-CSV-HEADER")
    public static let csvSyntax = code("YKT-CSV-SYNTAX")
    public static let importRejected = code("YKT-IMPORT-REJECTED")
    // Register
    public static let residentDuplicate = code("YKT-RESIDENT-DUPLICATE")
    public static let residentUnknown = code("YKT-RESIDENT-UNKNOWN")
    // Households (一人（户）一卡)
    public static let householdHeads = code("YKT-HOUSEHOLD-HEADS")
    public static let householdHead = code("YKT-HOUSEHOLD-HEAD")
    public static let householdDuplicate = code("YKT-HOUSEHOLD-DUPLICATE")
    // Policy list
    public static let programUnknown = code("YKT-PROGRAM-UNKNOWN")
    public static let programInvalid = code("YKT-PROGRAM-INVALID")
    public static let programFrequency = code("YKT-PROGRAM-FREQUENCY")
    public static let programCounty = code("YKT-PROGRAM-COUNTY")
    // Applications
    public static let applicationDuplicate = code("YKT-APPLICATION-DUPLICATE")
    public static let applicationUnknown = code("YKT-APPLICATION-UNKNOWN")
    public static let applicationState = code("YKT-APPLICATION-STATE")
    public static let applicationOverlap = code("YKT-APPLICATION-OVERLAP")
    // Calendar and notices
    public static let calendarNoData = code("YKT-CAL-NODATA")
    public static let calendarFile = code("YKT-CAL-FILE")
    public static let calendarCounty = code("YKT-CAL-COUNTY")
    public static let calendarPublished = code("YKT-CAL-PUBLISHED")
    public static let calendarUsed = code("YKT-CAL-USED")
    public static let noticeUnknown = code("YKT-NOTICE-UNKNOWN")
    public static let noticeEmpty = code("YKT-NOTICE-EMPTY")
    public static let noticeTooEarly = code("YKT-NOTICE-EARLY")
    public static let noticeState = code("YKT-NOTICE-STATE")
    public static let noticeSecret = code("YKT-NOTICE-SECRET")
    public static let objectionUnknown = code("YKT-OBJECTION-UNKNOWN")
    public static let objectionState = code("YKT-OBJECTION-STATE")
    public static let objectionOpen = code("YKT-OBJECTION-OPEN")
    // Villagers' representative meetings (村民代表大会评议) and the village notice
    public static let meetingUnknown = code("YKT-MEETING-UNKNOWN")
    public static let meetingMissing = code("YKT-MEETING-MISSING")
    public static let meetingMismatch = code("YKT-MEETING-MISMATCH")
    public static let meetingQuorum = code("YKT-MEETING-QUORUM")
    // Rosters
    public static let rosterUnknown = code("YKT-ROSTER-UNKNOWN")
    public static let rosterEmpty = code("YKT-ROSTER-EMPTY")
    public static let rosterFrozen = code("YKT-ROSTER-FROZEN")
    public static let rosterStale = code("YKT-ROSTER-STALE")
    public static let rosterLines = code("YKT-ROSTER-LINES")
    public static let rosterResident = code("YKT-ROSTER-RESIDENT")
    public static let rosterApplication = code("YKT-ROSTER-APPLICATION")
    public static let rosterNotice = code("YKT-ROSTER-NOTICE")
    public static let rosterObjection = code("YKT-ROSTER-OBJECTION")
    public static let rosterAmount = code("YKT-ROSTER-AMOUNT")
    public static let rosterAccount = code("YKT-ROSTER-ACCOUNT")
    public static let rosterPeriod = code("YKT-ROSTER-PERIOD")
    /// The summary table (汇总表) is signed by two different people: the roster's preparer and its submitter.
    public static let rosterSigners = code("YKT-ROSTER-SIGNERS")
    public static let rosterHead = code("YKT-ROSTER-HEAD")
    public static let rosterHousehold = code("YKT-ROSTER-HOUSEHOLD")
    /// A roster line for a program the county pays on the social security card only, on another kind of account.
    public static let rosterCarrier = code("YKT-ROSTER-CARRIER")
    // Node and storage
    public static let nodeMissing = code("YKT-NODE-MISSING")
    public static let nodeExists = code("YKT-NODE-EXISTS")
    public static let nodeConfig = code("YKT-NODE-CONFIG")
    public static let database = code("YKT-DB")
    public static let databaseSchema = code("YKT-DB-SCHEMA")
    public static let databaseFull = code("YKT-DB-FULL")
    public static let databaseBusy = code("YKT-DB-BUSY")
    // Sync (change sets)
    public static let syncFormat = code("YKT-SYNC-FORMAT")
    public static let syncVersion = code("YKT-SYNC-VERSION")
    public static let syncPeer = code("YKT-SYNC-PEER")
    public static let syncKey = code("YKT-SYNC-KEY")
    public static let syncSignature = code("YKT-SYNC-SIGNATURE")
    public static let syncGap = code("YKT-SYNC-GAP")
    public static let syncFork = code("YKT-SYNC-FORK")
    public static let syncBody = code("YKT-SYNC-BODY")
    public static let syncRestored = code("YKT-SYNC-RESTORED")
    public static let syncBusy = code("YKT-SYNC-BUSY")
    public static let syncOffline = code("YKT-SYNC-OFFLINE")
    public static let syncTimeout = code("YKT-SYNC-TIMEOUT")
    public static let syncCertificate = code("YKT-SYNC-CERT")
    public static let syncAudit = code("YKT-SYNC-AUDIT")
    // Keys: disabled townships, key rotation, the CRL (issue 15, item 6)
    public static let syncDisabled = code("YKT-SYNC-DISABLED")
    public static let syncKeyRetired = code("YKT-SYNC-KEY-RETIRED")
    public static let syncKeyUnknown = code("YKT-SYNC-KEY-UNKNOWN")
    public static let syncRotation = code("YKT-SYNC-ROTATION")
    public static let keyRotationPending = code("YKT-KEY-PENDING")
    public static let townshipUnknown = code("YKT-TOWNSHIP-UNKNOWN")
    public static let crlExpired = code("YKT-CRL-EXPIRED")
    public static let conflictUnknown = code("YKT-CONFLICT-UNKNOWN")
    public static let conflictState = code("YKT-CONFLICT-STATE")
    public static let conflictDecision = code("YKT-CONFLICT-DECISION")
    public static let conflictTownship = code("YKT-CONFLICT-TOWNSHIP")
    // County: review, approval, banks, warnings
    public static let roleMissing = code("YKT-ROLE")
    public static let roleSelf = code("YKT-ROLE-SELF")
    public static let roleConflict = code("YKT-ROLE-CONFLICT")
    // Operators: accounts, passwords, sessions, signed decisions
    public static let authLogin = code("YKT-AUTH-LOGIN")
    public static let authPassword = code("YKT-AUTH-PASSWORD")
    public static let authLocked = code("YKT-AUTH-LOCKED")
    public static let authDisabled = code("YKT-AUTH-DISABLED")
    public static let authWeak = code("YKT-AUTH-WEAK")
    public static let authSign = code("YKT-AUTH-SIGN")
    public static let authChange = code("YKT-AUTH-CHANGE")
    public static let operatorUnknown = code("YKT-OPERATOR-UNKNOWN")
    public static let operatorExists = code("YKT-OPERATOR-EXISTS")
    public static let budgetMissing = code("YKT-BUDGET-MISSING")
    public static let budgetExceeded = code("YKT-BUDGET-EXCEEDED")
    public static let rosterState = code("YKT-ROSTER-STATE")
    public static let warningBlocking = code("YKT-WARNING-BLOCKING")
    public static let warningUnknown = code("YKT-WARNING-UNKNOWN")
    public static let warningState = code("YKT-WARNING-STATE")
    public static let bankUnknown = code("YKT-BANK-UNKNOWN")
    public static let bankFile = code("YKT-BANK-FILE")
    public static let bankControl = code("YKT-BANK-CONTROL")
    public static let bankLine = code("YKT-BANK-LINE")
    public static let bankFileRepeated = code("YKT-BANK-REPEAT")
    /// No agency agreement (代发协议) in force for the bank on the dispatch date.
    public static let bankAgreement = code("YKT-BANK-AGREEMENT")
    /// An agency agreement longer than 3 years (seed 003: 签订不超过3年的代发协议).
    public static let bankAgreementTerm = code("YKT-BANK-AGREEMENT-TERM")
    public static let batchUnknown = code("YKT-BATCH-UNKNOWN")
    public static let batchState = code("YKT-BATCH-STATE")
    public static let paymentUnknown = code("YKT-PAYMENT-UNKNOWN")
    public static let paymentState = code("YKT-PAYMENT-STATE")
    public static let complaintUnknown = code("YKT-COMPLAINT-UNKNOWN")
    public static let complaintState = code("YKT-COMPLAINT-STATE")
    public static let queryNoMatch = code("YKT-QUERY-NOMATCH")
    // The public channel
    public static let publicStore = code("YKT-PUBLIC-STORE")
    public static let publishExists = code("YKT-PUBLISH-EXISTS")
    public static let siteManifest = code("YKT-SITE-MANIFEST")
    public static let publicServe = code("YKT-PUBLIC-SERVE")
    public static let publicSpool = code("YKT-PUBLIC-SPOOL")
    public static let qrTooLong = code("YKT-QR-LONG")
    public static let cardNone = code("YKT-CARD-NONE")
    // Audit
    public static let auditBroken = code("YKT-AUDIT-BROKEN")
    public static let auditAnchor = code("YKT-AUDIT-ANCHOR")
    public static let anchorFile = code("YKT-ANCHOR-FILE")
    public static let traceBroken = code("YKT-TRACE-BROKEN")
    public static let internalError = code("YKT-INTERNAL")

    /// Code → (exit status, meaning). The single source for `docs/errors.md`.
    public static let catalog: [ErrorCode: (exit: ExitStatus, meaning: String)] = [
        usage: (.usage, "命令行用法错误：缺少参数、参数多余或选项不认识"),
        usageUnknownCommand: (.usage, "没有这个子命令"),
        usageValue: (.usage, "选项的值格式不对"),
        idLength: (.invalidInput, "身份证号不是 18 位"),
        idCharacters: (.invalidInput, "身份证号含有数字和末位 X 以外的字符"),
        idRegion: (.invalidInput, "身份证号前 6 位行政区划代码无效"),
        idBirthDate: (.invalidInput, "身份证号中的出生日期不存在、早于 1900 年或晚于今天"),
        idCheckDigit: (.invalidInput, "身份证号校验码（第 18 位）与前 17 位不符（GB 11643）"),
        accountFormat: (.invalidInput, "账号格式错误：社保卡、银行卡 16–19 位数字，存折 8–30 位数字"),
        accountLuhn: (.invalidInput, "社保卡或银行卡号未通过 Luhn 校验"),
        excelNumber: (.invalidInput, "身份证号或账号被 Excel/WPS 当作数字改掉了（科学计数法如 4.50223E+17，或末尾几位变成 0）：重新录入这一格，并把这一列设为文本"),
        accountKind: (.invalidInput, "账户类型只能是 社保卡、银行卡 或 存折"),
        accountShared: (.ruleRefused, "该账号已是另一位补贴对象的指定账户（一人一卡），须说明理由方可共用"),
        accountConfirmation: (.invalidInput, "变更或登记指定账户须填写本人签字确认书编号"),
        accountUnchanged: (.ruleRefused, "新账户与现用指定账户相同，无需变更"),
        nameInvalid: (.invalidInput, "姓名为空、过长或含有不允许的字符"),
        phoneInvalid: (.invalidInput, "联系电话不是 11 位手机号或带区号的固定电话"),
        fieldMissing: (.invalidInput, "必填字段为空"),
        valueInvalid: (.invalidInput, "字段的值不在允许的取值之内"),
        dateInvalid: (.invalidInput, "日期不是 YYYY-MM-DD 格式或日期不存在"),
        dateFuture: (.ruleRefused, "业务日期晚于今天（录入时的时钟），不能预先登记"),
        dateBackdated: (.ruleRefused, "业务日期早于录入日（补录），须用 --backdated-reason 写明理由；县里会生成预警，审核人核实后才能审定"),
        dateOrder: (.ruleRefused, "日期先后不合理：如公示早于所列申请的录入日，或异议处理早于收到日"),
        periodInvalid: (.invalidInput, "期次不是 YYYY、YYYY-Qn 或 YYYY-MM 格式"),
        periodFrequency: (.invalidInput, "期次的写法与项目的发放频次不符（每年、一次性写 YYYY，每季写 YYYY-Qn，每月写 YYYY-MM）"),
        moneyInvalid: (.invalidInput, "金额格式错误（元，最多两位小数，不能为负）"),
        quantityInvalid: (.invalidInput, "数量格式错误（最多四位小数，必须大于 0；按人按月计的须为整数）"),
        fileRead: (.storage, "文件无法读取"),
        fileWrite: (.storage, "文件无法写入"),
        fileEncoding: (.invalidInput, "文件既不是 UTF-8 也不是 GB18030 编码"),
        fileWorkbook: (.invalidInput, "文件是 Excel/WPS 工作簿（.xlsx 或 .xls），不是 CSV：另存为「CSV UTF-8（逗号分隔）」后再导入"),
        fileUnsafe: (.invalidInput, "从外部来的文件是符号链接、有多个硬链接，或不是普通文件（目录、命名管道、设备），未读取"),
        fileTooLarge: (.invalidInput, "从外部来的文件超过大小上限（银行文件默认 256 MiB），未读取"),
        csvHeader: (.invalidInput, "CSV 表头缺少必需的列或有重复列"),
        csvSyntax: (.invalidInput, "CSV 行格式错误（引号不配对或列数不对）"),
        importRejected: (.invalidInput, "导入文件有错误行，整批未导入"),
        residentDuplicate: (.ruleRefused, "该身份证号已在底册中（同一人不能登记两次）"),
        residentUnknown: (.notFound, "底册中没有这个身份证号"),
        householdHeads: (.ruleRefused, "一户只能有一个户主：登记、修改或导入会使一户有两个户主、户主没有户号、户主离户后留下无户主的成员，或导入文件有「户主」列而某户没有户主"),
        householdHead: (.ruleRefused, "按户发放的项目只能由户主申请：此人不是户主，或没有户号，或其户尚未指定户主"),
        householdDuplicate: (.ruleRefused, "按户发放的项目一户同一期次只能申请一次，本户已有成员的申请"),
        programUnknown: (.notFound, "补贴政策清单中没有这个项目编码"),
        programInvalid: (.invalidInput, "补贴政策清单文件中的项目定义有误"),
        programFrequency: (.invalidInput, "补贴政策清单的发放频次不是 每年、每季、每月、一次性 之一"),
        programCounty: (.ruleRefused, "补贴政策清单由县财政统一发布，已配置县财政的乡镇不能自行导入（同步后自动采用县里的清单）"),
        applicationDuplicate: (.ruleRefused, "同一对象同一项目同一期次已有申请"),
        applicationUnknown: (.notFound, "没有这个申请"),
        applicationState: (.ruleRefused, "申请当前状态不允许此操作"),
        applicationOverlap: (.ruleRefused, "同一对象同一项目已有期次重叠的申请（一次性项目：已有申请，不论期次）"),
        calendarNoData: (.configuration, "工作日历缺少该年度的节假日安排数据，不能推算工作日"),
        calendarFile: (.invalidInput, "节假日安排文件格式错误"),
        calendarCounty: (.ruleRefused, "节假日安排由县财政统一发布，乡镇不能自行导入或更改（同步后自动采用县里的版本）"),
        calendarPublished: (.ruleRefused, "该年度的节假日安排已发布，不能再次发布；改动须用 ykt calendar correct 并写明理由"),
        calendarUsed: (.ruleRefused, "更正会改变已被公示期或银行期限用到的日期，整份拒绝"),
        noticeUnknown: (.notFound, "没有这个公示"),
        noticeEmpty: (.ruleRefused, "没有可公示的申请（村级公示：村评议通过且尚未公示；乡镇公示：村级公示已结束且无成立的异议）"),
        noticeTooEarly: (.ruleRefused, "公示未满 5 个工作日，不能结束"),
        noticeState: (.ruleRefused, "公示当前状态不允许此操作"),
        noticeSecret: (.ruleRefused, "涉密项目不对外公示，不生成公示文件"),
        objectionUnknown: (.notFound, "没有这条异议"),
        objectionState: (.ruleRefused, "异议已处理，不能再次处理"),
        objectionOpen: (.ruleRefused, "公示还有未处理的异议，不能结束"),
        meetingUnknown: (.notFound, "没有这次村民代表会议（评议）的登记"),
        meetingMissing: (.ruleRefused, "村级公示须写明评议的村民代表会议（先用 ykt meeting record 登记）"),
        meetingMismatch: (.ruleRefused, "所写会议评议的不是本村、本项目、本期次，或不是本乡镇的会议"),
        meetingQuorum: (.ruleRefused, "村民代表会议实到不足应到的三分之二，不能召开，评议无效"),
        rosterUnknown: (.notFound, "没有这个发放清册"),
        rosterEmpty: (.ruleRefused, "没有可编入清册的申请（公示已结束且未被异议剔除）"),
        rosterFrozen: (.ruleRefused, "清册已报送，已冻结，不能修改"),
        rosterStale: (.ruleRefused, "清册编制后有对象的指定账户变更，须重新编制后再报送"),
        rosterLines: (.ruleRefused, "县里逐行核对清册，有行不符，整张清册退回；回执逐行列出每条原因（下列 YKT-ROSTER-* 代码）"),
        rosterResident: (.ruleRefused, "清册行的对象不是本乡镇在县里登记的对象"),
        rosterApplication: (.ruleRefused, "清册行没有县里记录的、经村评议通过的申请，或与申请的项目、期次、数量不符"),
        rosterNotice: (.ruleRefused, "清册行的申请没有走完两级公示：村级公示和乡镇公示都须已结束、满 5 个工作日（涉密项目除外）"),
        rosterObjection: (.ruleRefused, "清册行的申请有成立的异议，或异议尚未处理"),
        rosterAmount: (.ruleRefused, "清册行金额不等于该期次适用的补贴标准×数量"),
        rosterAccount: (.ruleRefused, "清册行的账户不是县里登记的此人现用指定账户"),
        rosterPeriod: (.ruleRefused, "同一人同一项目在重叠的期次已有清册行（或本清册内重复）"),
        rosterSigners: (.ruleRefused, "清册须由编制人（职能站所负责人）和报送人（乡镇主要负责人）两个不同的人分别签字：编制人未记录或与报送人为同一人"),
        rosterHead: (.ruleRefused, "按户发放的项目，清册行的对象不是县里登记的户主"),
        rosterHousehold: (.ruleRefused, "按户发放的项目，同一户在重叠的期次已有清册行（或本清册内重复）"),
        rosterCarrier: (.ruleRefused, "县里规定该项目只发放到社会保障卡金融账户（发放载体：社保卡），清册行的指定账户是其他银行卡或存折：先为此人登记社保卡为指定账户，再重新编制清册"),
        nodeMissing: (.configuration, "节点目录不存在或未初始化"),
        nodeExists: (.ruleRefused, "节点目录已初始化"),
        nodeConfig: (.configuration, "节点配置文件有误"),
        database: (.storage, "数据库操作失败"),
        databaseSchema: (.configuration, "数据库版本比本程序新，或结构不符"),
        databaseFull: (.storage, "磁盘已满，操作未执行，数据未改动"),
        databaseBusy: (.storage, "数据库被另一进程占用"),
        syncFormat: (.invalidInput, "变更集格式错误（头部字段缺失、顺序不对或超出大小限制）"),
        syncVersion: (.invalidInput, "变更集的格式版本或数据结构版本本程序不认识"),
        syncPeer: (.integrity, "变更集头部的节点与 TLS 证书的节点不是同一个"),
        syncKey: (.integrity, "变更集使用的签名密钥未在县级登记或已停用"),
        syncSignature: (.integrity, "变更集签名验证不通过：内容被改动或不是该节点签发"),
        syncGap: (.ruleRefused, "变更集序号不连续（中间缺了变更集），须从指定序号续传"),
        syncFork: (.integrity, "同一序号收到内容不同的变更集（分叉），或前一变更集哈希不符"),
        syncBody: (.invalidInput, "变更集正文与头部不符（字节数、哈希、操作条数或操作的节点）"),
        syncRestored: (.integrity, "同步位置倒退：县级或乡镇节点可能从旧备份恢复过，须人工核对"),
        syncBusy: (.retryable, "本节点另一个同步正在进行（例如定时同步），本次未执行；在县级：该乡镇另一个变更集正在上传"),
        syncOffline: (.retryable, "连不上县财政同步服务，或连接中途断开：本节点的工作已保存，下次同步时发送"),
        syncTimeout: (.retryable, "县财政同步服务在限定时间内没有答复（或发送太慢被断开）：工作已保存，稍后重试"),
        syncCertificate: (.configuration, "TLS 证书被对方拒绝或对方证书不被信任（吊销、过期、不是本县 CA 签发、证书名不符）"),
        syncDisabled: (.ruleRefused, "该乡镇已被县财政停用（ykt township disable）：它的变更集和下行同步一律拒收，直到重新启用"),
        syncKeyRetired: (.integrity, "签名密钥已更换，旧密钥签名的变更集（县级）或回执、下行消息（乡镇）一律拒收"),
        syncKeyUnknown: (.integrity, "县财政的回执或下行消息用了一个本节点不认识、也没有由现用密钥宣布的签名密钥"),
        syncRotation: (.integrity, "密钥更换声明验证不通过（不是旧密钥签发，或新密钥签名不符），变更集整份拒收"),
        keyRotationPending: (.ruleRefused, "上一次密钥更换还没有被县财政确认：先同步一次，确认后才能再次更换"),
        townshipUnknown: (.notFound, "县级没有登记这个乡镇"),
        crlExpired: (.configuration, "证书吊销列表（CRL）已过期（nextUpdate 已过）或不能读取：须在 CA 上重新签发（openssl ca -gencrl）"),
        conflictUnknown: (.notFound, "没有这个冲突"),
        conflictState: (.ruleRefused, "冲突已处理，不能再次处理"),
        conflictDecision: (.invalidInput, "这个决定不适用于该种冲突（每种冲突可用的决定见 ykt conflicts show）"),
        conflictTownship: (.ruleRefused, "冲突日志在县财政；乡镇用 ykt inbox list 查看县里的处理决定"),
        roleMissing: (.denied, "登录的经办人没有这条命令所需的角色（如业务主管部门审核人、财政审定人），或审核与审定是同一人"),
        roleSelf: (.denied, "不能给自己授予或收回角色，须由另一位管理员办理"),
        roleConflict: (.ruleRefused, "职责分离：管理员不能同时担任业务主管部门审核人或财政审定人"),
        authLogin: (.denied, "没有登录、会话已退出或已过期（登录满 8 小时或 30 分钟未操作）：用 ykt login 登录"),
        authPassword: (.denied, "登录名或口令不对（连续错 5 次锁定 15 分钟）"),
        authLocked: (.denied, "账户因连续输错口令被锁定 15 分钟"),
        authDisabled: (.denied, "账户已被管理员停用"),
        authWeak: (.invalidInput, "口令太短（至少 10 个字符）或含换行"),
        authChange: (.denied, "口令是管理员设定的初始口令（开户或重设后）：须先用 ykt password 改为只有本人知道的口令，才能办理其他事项"),
        authSign: (.denied, "这项决定须本人再次输入口令签名（--password-stdin 或在终端输入）"),
        operatorUnknown: (.notFound, "没有这个登录名的经办人"),
        operatorExists: (.ruleRefused, "登录名已被占用"),
        budgetMissing: (.configuration, "该项目该期次还没有预算，不能审定"),
        budgetExceeded: (.ruleRefused, "审定后将超出该项目该期次的预算"),
        rosterState: (.ruleRefused, "清册在县里的当前状态不允许此操作（须先审核后审定）"),
        warningBlocking: (.ruleRefused, "清册有未处理的预警，须处理预警或写明理由强制审定"),
        warningUnknown: (.notFound, "没有这条预警"),
        warningState: (.ruleRefused, "预警已处理，不能再次处理"),
        bankUnknown: (.configuration, "没有这个代发银行，或账户的开户行没有对应的代发银行"),
        bankFile: (.invalidInput, "银行文件格式错误，整个文件未采用（已原样保留）"),
        bankControl: (.integrity, "银行文件的控制数（行数、合计、SHA-256）与正文不符，整个文件未采用"),
        bankLine: (.integrity, "银行结果与支付指令不符（未知行、重复行、缺行或金额不同），整个文件未采用"),
        bankAgreement: (.ruleRefused, "代发银行在发送日没有有效的代发协议（未登记、未生效或已到期），支付批次未发送：续签后由管理员用 ykt bank edit --agreement 登记"),
        bankAgreementTerm: (.ruleRefused, "代发协议期限超过 3 年（按程序与代发金融机构签订的代发协议不超过 3 年），未登记"),
        bankFileRepeated: (.ruleRefused, "（代发银行）这份支付指令文件的批次、序号或内容已经付过，整份不予支付"),
        batchUnknown: (.notFound, "没有这个支付批次"),
        batchState: (.ruleRefused, "支付批次当前状态不允许此操作"),
        paymentUnknown: (.notFound, "没有这笔支付"),
        paymentState: (.ruleRefused, "这笔支付当前状态不允许此操作（只有失败且未更正的支付可以更正）"),
        complaintUnknown: (.notFound, "没有这件投诉举报"),
        complaintState: (.ruleRefused, "投诉举报已办结"),
        queryNoMatch: (.notFound, "身份证号与姓名对不上，或没有发放记录"),
        publicStore: (.invalidInput, "公众查询库文件不是 ykt publish 写的、格式版本不对、已损坏或已存在"),
        publishExists: (.ruleRefused, "输出目录里已有一次发布（site 或 query.store）；要替换须加 --replace"),
        siteManifest: (.integrity, "公开站点与县财政签名的清单不符：签名不通过、文件缺少、被改动、多出或是符号链接，或查询库不是这次发布的"),
        publicServe: (.invalidInput, "公众查询服务不能启动：网站目录含链接或不可读、查询库在网站目录内、证书或投诉存放目录不可用"),
        publicSpool: (.invalidInput, "投诉存放目录中的文件格式不对（字段缺少、过长或含控制字符，或文件名与受理编号不符），整批未导入"),
        cardNone: (.notFound, "没有可打印的明白卡：底册中没有这个户号或村（社区），或所选的户都还没有经县财政审定的补贴"),
        qrTooLong: (.invalidInput, "二维码内容超过 10 版（57×57 模块）在所选纠错等级下能容纳的字节数（M 级 213 字节）"),
        traceBroken: (.ruleRefused, "有付款或待付款的清册行追溯不到完整链条（申请→评议→公示→清册→审核→审定→批次→结果）"),
        auditBroken: (.integrity, "审计日志哈希链断裂：有记录被修改或删除"),
        auditAnchor: (.integrity, "审计日志与对方节点持有的锚点（序号和哈希）不符：该节点的审计历史在对方记下之后被改写过"),
        anchorFile: (.invalidInput, "审计锚点文件格式不对、签名验证不通过或不是给本节点的"),
        syncAudit: (.integrity, "对方的审计链头倒退（序号小于已持有的锚点，或同一序号哈希不同）：对方的审计日志被改写或从旧备份恢复，已拒收"),
        internalError: (.internalError, "程序内部错误，请报告"),
    ]

    /// Every code, sorted.
    public static var all: [ErrorCode] { catalog.keys.sorted { $0.rawValue < $1.rawValue } }
}
