import YKTCore
import YKTNode
import YKTStore

/// The county node's schema.
enum CountySchema {
    static let migrator = Migrator([
        .init(version: 1, sql: """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        -- Enrolled townships and their signing keys (retired keys stay for re-verification).
        CREATE TABLE township(node_id TEXT PRIMARY KEY, name TEXT NOT NULL, enrolled_at TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE node_key(node_id TEXT NOT NULL REFERENCES township(node_id), key_id TEXT NOT NULL,
            public_key BLOB NOT NULL, active INTEGER NOT NULL, registered_at TEXT NOT NULL,
            PRIMARY KEY (node_id, key_id)) WITHOUT ROWID;
        -- Every applied change set, stored verbatim with its signature and the receipt sent back.
        CREATE TABLE upstream(node_id TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, prev TEXT NOT NULL,
            key_id TEXT NOT NULL, bytes BLOB NOT NULL, signature BLOB NOT NULL, receipt TEXT NOT NULL,
            receipt_signature BLOB NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (node_id, seq)) WITHOUT ROWID;
        -- What the county decided for each operation.
        CREATE TABLE operation(node_id TEXT NOT NULL, op_seq INTEGER NOT NULL, changeset_seq INTEGER NOT NULL,
            kind TEXT NOT NULL, entity TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('accepted','rejected','conflicted')),
            rule TEXT, reason TEXT, conflict_id INTEGER, PRIMARY KEY (node_id, op_seq)) WITHOUT ROWID;
        -- The county-wide register index: which township registered each resident.
        CREATE TABLE resident(resident_id TEXT PRIMARY KEY, node_id TEXT NOT NULL, name TEXT NOT NULL) WITHOUT ROWID;
        -- Submitted rosters as received (totals re-checked).
        CREATE TABLE roster(node_id TEXT NOT NULL, entity TEXT NOT NULL, program TEXT NOT NULL, period TEXT NOT NULL,
            line_count INTEGER NOT NULL, total_fen INTEGER NOT NULL, received_at TEXT NOT NULL,
            PRIMARY KEY (node_id, entity)) WITHOUT ROWID;
        -- Notices as posted, so a close can be re-checked against the calendar.
        CREATE TABLE notice(node_id TEXT NOT NULL, entity TEXT NOT NULL, posted_on TEXT NOT NULL, last_day TEXT NOT NULL,
            PRIMARY KEY (node_id, entity)) WITHOUT ROWID;
        -- Conflicts for admins to inspect and resolve.
        CREATE TABLE conflict(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, entity TEXT NOT NULL, node_id TEXT NOT NULL,
            op_seq INTEGER NOT NULL, other_node TEXT, detail TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','resolved')),
            decision TEXT, reason TEXT, created_at TEXT NOT NULL);
        CREATE TABLE audit(seq INTEGER PRIMARY KEY, at TEXT NOT NULL, operator TEXT NOT NULL,
            action TEXT NOT NULL, object TEXT NOT NULL, detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
        """),
        .init(version: 2, sql: """
        -- The signed stream to each township (roster received, conflict decisions, …).
        CREATE TABLE downstream(node_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL,
            signature BLOB NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (node_id, seq)) WITHOUT ROWID;
        -- How far each township has acknowledged its stream (it asks for what follows).
        CREATE TABLE checkpoint(node_id TEXT PRIMARY KEY, acked INTEGER NOT NULL, acked_at TEXT NOT NULL) WITHOUT ROWID;
        """),
        .init(version: 3, sql: """
        -- The county's policy list (补贴政策清单), versioned; each version flows down to every township.
        CREATE TABLE program(code TEXT PRIMARY KEY, name TEXT NOT NULL, department TEXT NOT NULL, unit TEXT NOT NULL,
            standard_fen INTEGER NOT NULL, frequency TEXT NOT NULL, secret INTEGER NOT NULL, basis TEXT NOT NULL,
            version INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE policy_version(version INTEGER PRIMARY KEY, file TEXT NOT NULL, sha256 TEXT NOT NULL,
            programs INTEGER NOT NULL, published_at TEXT NOT NULL);
        """),
        .init(version: 4, sql: """
        -- Rosters with their life at the county (issue 4): an integer id for people to type, a
        -- version per resubmission of the same township roster after a rejection, and the
        -- department review and finance approval with who, when and why.
        CREATE TABLE roster_v4(id INTEGER PRIMARY KEY, node_id TEXT NOT NULL, entity TEXT NOT NULL,
            version INTEGER NOT NULL DEFAULT 1, program TEXT NOT NULL, period TEXT NOT NULL,
            line_count INTEGER NOT NULL, total_fen INTEGER NOT NULL, received_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'received' CHECK (status IN ('received','reviewed','rejected','approved')),
            reviewed_by TEXT, reviewed_at TEXT, review_reason TEXT,
            approved_by TEXT, approved_at TEXT, approve_note TEXT,
            UNIQUE (node_id, entity, version));
        INSERT INTO roster_v4(node_id, entity, program, period, line_count, total_fen, received_at)
            SELECT node_id, entity, program, period, line_count, total_fen, received_at FROM roster;
        DROP TABLE roster;
        ALTER TABLE roster_v4 RENAME TO roster;
        CREATE INDEX roster_program ON roster(program, period, status);
        -- Every line of a received roster, as the township snapshotted it.
        CREATE TABLE roster_line(roster_id INTEGER NOT NULL REFERENCES roster(id), line_no INTEGER NOT NULL,
            resident_id TEXT NOT NULL, name TEXT NOT NULL, village TEXT NOT NULL, bank TEXT NOT NULL,
            account_kind TEXT NOT NULL, account_number TEXT NOT NULL, quantity TEXT NOT NULL,
            amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
            PRIMARY KEY (roster_id, line_no)) WITHOUT ROWID;
        CREATE INDEX roster_line_resident ON roster_line(resident_id);
        -- The designated account the county knows for each registered resident.
        ALTER TABLE resident ADD COLUMN bank TEXT NOT NULL DEFAULT '';
        ALTER TABLE resident ADD COLUMN account_kind TEXT NOT NULL DEFAULT '';
        ALTER TABLE resident ADD COLUMN account_number TEXT NOT NULL DEFAULT '';
        -- Who may do what: department reviewers per program, finance approvers (program '*': all).
        CREATE TABLE operator_role(name TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('reviewer','approver')),
            program TEXT NOT NULL, granted_at TEXT NOT NULL, PRIMARY KEY (name, role, program)) WITHOUT ROWID;
        -- Budget per program and period, in fen.
        CREATE TABLE budget(program TEXT NOT NULL, period TEXT NOT NULL, budget_fen INTEGER NOT NULL CHECK (budget_fen >= 0),
            set_by TEXT NOT NULL, set_at TEXT NOT NULL, PRIMARY KEY (program, period)) WITHOUT ROWID;
        -- Agency banks (代发金融机构): the account banks each one pays, and its exchange folder.
        CREATE TABLE agency_bank(code TEXT PRIMARY KEY, name TEXT NOT NULL, serves TEXT NOT NULL, folder TEXT NOT NULL,
            added_at TEXT NOT NULL) WITHOUT ROWID;
        -- Payment batches: one per agency bank per approval (or re-issue).
        CREATE TABLE batch(id INTEGER PRIMARY KEY, bank TEXT NOT NULL REFERENCES agency_bank(code),
            kind TEXT NOT NULL CHECK (kind IN ('original','reissue')), created_by TEXT NOT NULL, created_at TEXT NOT NULL,
            line_count INTEGER NOT NULL, total_fen INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'created' CHECK (status IN ('created','dispatched','resulted')),
            file TEXT, sha256 TEXT, dispatched_on TEXT, pay_due TEXT, report_due TEXT,
            result_file TEXT, result_sha256 TEXT, resulted_on TEXT);
        -- One payment instruction line. A roster line is paid at most once and has at most one
        -- payment outstanding (the partial unique indexes below); a re-issue links to the failed line.
        CREATE TABLE payment(id INTEGER PRIMARY KEY, batch_id INTEGER NOT NULL REFERENCES batch(id),
            roster_id INTEGER NOT NULL, line_no INTEGER NOT NULL, node_id TEXT NOT NULL,
            program TEXT NOT NULL, period TEXT NOT NULL, resident_id TEXT NOT NULL, name TEXT NOT NULL,
            bank TEXT NOT NULL, account_kind TEXT NOT NULL, account_number TEXT NOT NULL,
            amount_fen INTEGER NOT NULL CHECK (amount_fen > 0),
            reissue_of INTEGER REFERENCES payment(id),
            status TEXT NOT NULL DEFAULT 'dispatched' CHECK (status IN ('dispatched','paid','failed')),
            reason_code TEXT, reason TEXT, result_on TEXT, returned_fen INTEGER NOT NULL DEFAULT 0,
            FOREIGN KEY (roster_id, line_no) REFERENCES roster_line(roster_id, line_no));
        CREATE UNIQUE INDEX payment_paid_once ON payment(roster_id, line_no) WHERE status = 'paid';
        CREATE UNIQUE INDEX payment_open_once ON payment(roster_id, line_no) WHERE status = 'dispatched';
        CREATE UNIQUE INDEX payment_reissued_once ON payment(reissue_of) WHERE reissue_of IS NOT NULL;
        CREATE INDEX payment_batch ON payment(batch_id);
        CREATE INDEX payment_resident ON payment(resident_id);
        -- A township's correction of a failed payment (usually a new designated account).
        CREATE TABLE correction(payment_id INTEGER PRIMARY KEY REFERENCES payment(id), node_id TEXT NOT NULL,
            op_seq INTEGER NOT NULL, bank TEXT NOT NULL, account_kind TEXT NOT NULL, account_number TEXT NOT NULL,
            confirmation TEXT NOT NULL, note TEXT NOT NULL, received_at TEXT NOT NULL);
        -- Result files refused (kept for inspection with a report).
        CREATE TABLE result_refusal(id INTEGER PRIMARY KEY, bank TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL,
            kept_as TEXT NOT NULL, problems INTEGER NOT NULL, refused_at TEXT NOT NULL);
        -- Approvals that went ahead despite open warnings: who and why.
        CREATE TABLE warning_override(roster_id INTEGER NOT NULL, warning_id INTEGER NOT NULL, by_operator TEXT NOT NULL,
            reason TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (roster_id, warning_id)) WITHOUT ROWID;
        -- Warnings (预警): one per rule and subject; evidence as JSON; re-running keeps the status.
        CREATE TABLE warning(id INTEGER PRIMARY KEY, rule TEXT NOT NULL, subject TEXT NOT NULL, evidence TEXT NOT NULL,
            residents TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','confirmed','dismissed')),
            found_at TEXT NOT NULL, last_seen TEXT NOT NULL, closed_by TEXT, closed_at TEXT, close_reason TEXT,
            UNIQUE (rule, subject));
        CREATE TABLE warning_resident(warning_id INTEGER NOT NULL REFERENCES warning(id), resident_id TEXT NOT NULL,
            PRIMARY KEY (resident_id, warning_id)) WITHOUT ROWID;
        -- Lists from other departments: deceased residents (civil affairs) and officials with relatives.
        CREATE TABLE deceased(resident_id TEXT PRIMARY KEY, name TEXT NOT NULL, died_on TEXT NOT NULL, source TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE official(resident_id TEXT PRIMARY KEY, name TEXT NOT NULL, unit TEXT NOT NULL, relation TEXT NOT NULL,
            source TEXT NOT NULL) WITHOUT ROWID;
        -- Complaints and reports (投诉举报).
        CREATE TABLE complaint(id INTEGER PRIMARY KEY, subject_kind TEXT NOT NULL CHECK (subject_kind IN ('resident','roster','payment')),
            subject TEXT NOT NULL, received_on TEXT NOT NULL, channel TEXT NOT NULL, complainant TEXT NOT NULL, content TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed')), outcome TEXT, closed_by TEXT, closed_on TEXT);
        """),
        // The warning rules read every roster line in resident order with its account from this
        // index alone (it also holds the primary key), instead of sorting four million lines.
        .init(version: 5, sql: """
        DROP INDEX roster_line_resident;
        CREATE INDEX roster_line_resident ON roster_line(resident_id, account_number);
        """),
        // Designated accounts changed at the county or by a township, kept as history; the
        // county's side of the conflict "account changed on both sides".
        .init(version: 6, sql: """
        CREATE TABLE account_change(id INTEGER PRIMARY KEY, resident_id TEXT NOT NULL,
            source TEXT NOT NULL CHECK (source IN ('county','township')), node_id TEXT NOT NULL, op_seq INTEGER,
            bank TEXT NOT NULL, account_kind TEXT NOT NULL, account_number TEXT NOT NULL, confirmation TEXT NOT NULL,
            reason TEXT NOT NULL, previous_number TEXT NOT NULL, by_operator TEXT NOT NULL, at TEXT NOT NULL);
        CREATE INDEX account_change_resident ON account_change(resident_id, id);
        """),
        // Change sets of format 2 stream in: upstream.bytes keeps the signed header, the body
        // is kept verbatim in parts of 1 MiB as it arrives (docs/protocol.md).
        .init(version: 7, sql: """
        CREATE TABLE upstream_part(node_id TEXT NOT NULL, seq INTEGER NOT NULL, part INTEGER NOT NULL, bytes BLOB NOT NULL,
            PRIMARY KEY (node_id, seq, part)) WITHOUT ROWID;
        """),
        // The register as a table in arrival order with a unique index on the ID (where it
        // was one tree keyed by the ID): a registration then appends its row and puts only the
        // ID in random order, a third of the bytes, so a township's first sync of a large
        // register touches and commits far fewer pages.
        .init(version: 8, sql: """
        CREATE TABLE resident_v8(resident_id TEXT NOT NULL UNIQUE, node_id TEXT NOT NULL, name TEXT NOT NULL,
            bank TEXT NOT NULL DEFAULT '', account_kind TEXT NOT NULL DEFAULT '', account_number TEXT NOT NULL DEFAULT '');
        INSERT INTO resident_v8(resident_id, node_id, name, bank, account_kind, account_number)
            SELECT resident_id, node_id, name, bank, account_kind, account_number FROM resident;
        DROP TABLE resident;
        ALTER TABLE resident_v8 RENAME TO resident;
        """),
        // Change-set bodies go to an append-only evidence file per township (EvidenceFile):
        // where each one starts there, and its length. NULL for bodies stored in
        // upstream_part before this version, which stay readable there.
        .init(version: 9, sql: """
        ALTER TABLE upstream ADD COLUMN body_offset INTEGER;
        ALTER TABLE upstream ADD COLUMN body_bytes INTEGER;
        """),
        // What a payment rests on, mirrored from the townships' operations (docs/money-trace.md):
        // each application with its village evaluation, the notices that listed them (dates,
        // place, phone, proof), the objections and how they were settled. A roster line is
        // accepted only when this chain holds for it, and names the application it pays.
        .init(version: 10, sql: """
        CREATE TABLE application(entity TEXT PRIMARY KEY, node_id TEXT NOT NULL, op_seq INTEGER NOT NULL,
            resident_id TEXT NOT NULL, program TEXT NOT NULL, period TEXT NOT NULL, program_version INTEGER NOT NULL,
            quantity TEXT NOT NULL, standard_fen INTEGER NOT NULL, amount_fen INTEGER NOT NULL,
            village_result TEXT NOT NULL CHECK (village_result IN ('passed','failed')), village_note TEXT NOT NULL,
            recorded_at TEXT NOT NULL, notice TEXT,
            status TEXT NOT NULL DEFAULT 'recorded' CHECK (status IN ('recorded','in_notice','cleared','removed'))) WITHOUT ROWID;
        CREATE INDEX application_resident ON application(resident_id, program);
        CREATE INDEX application_notice ON application(notice);
        ALTER TABLE notice ADD COLUMN op_seq INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE notice ADD COLUMN program TEXT NOT NULL DEFAULT '';
        ALTER TABLE notice ADD COLUMN period TEXT NOT NULL DEFAULT '';
        ALTER TABLE notice ADD COLUMN place TEXT NOT NULL DEFAULT '';
        ALTER TABLE notice ADD COLUMN phone TEXT NOT NULL DEFAULT '';
        ALTER TABLE notice ADD COLUMN first_day TEXT NOT NULL DEFAULT '';
        ALTER TABLE notice ADD COLUMN opened_at TEXT NOT NULL DEFAULT '';
        ALTER TABLE notice ADD COLUMN status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed'));
        ALTER TABLE notice ADD COLUMN closed_on TEXT;
        ALTER TABLE notice ADD COLUMN closed_at TEXT;
        ALTER TABLE notice ADD COLUMN proof_sha256 TEXT;
        CREATE TABLE objection(entity TEXT PRIMARY KEY, node_id TEXT NOT NULL, notice TEXT NOT NULL, application TEXT NOT NULL,
            received_on TEXT NOT NULL, recorded_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','upheld','dismissed')),
            settled_on TEXT, settled_at TEXT, reason TEXT) WITHOUT ROWID;
        CREATE INDEX objection_application ON objection(application);
        CREATE INDEX objection_notice ON objection(notice, status);
        ALTER TABLE roster_line ADD COLUMN application TEXT NOT NULL DEFAULT '';
        """),
        // One calendar for the county (issue 14): the holiday arrangement the county publishes
        // and every township uses; each publication or correction is a version, sent down whole.
        .init(version: 11, sql: """
        CREATE TABLE calendar_day(date TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('holiday','workday')),
            name TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE calendar_version(version INTEGER PRIMARY KEY,
            action TEXT NOT NULL CHECK (action IN ('publish','correct')), years TEXT NOT NULL,
            file TEXT NOT NULL, sha256 TEXT NOT NULL, changed TEXT NOT NULL, reason TEXT NOT NULL,
            by_operator TEXT NOT NULL, published_at TEXT NOT NULL);
        """),
        // Periods follow the program's frequency (issue 14): every version of every program with
        // the first period it applies to (`program` keeps only the latest), so the above-standard
        // rule uses the standard in force for a roster's period; and the (resident, program,
        // period) of every application the county accepted, so an overlapping one is refused.
        .init(version: 12, sql: """
        CREATE TABLE program_version(code TEXT NOT NULL, version INTEGER NOT NULL, first_period TEXT,
            unit TEXT NOT NULL, standard_fen INTEGER NOT NULL, frequency TEXT NOT NULL, published_in INTEGER,
            PRIMARY KEY (code, version)) WITHOUT ROWID;
        INSERT INTO program_version(code, version, first_period, unit, standard_fen, frequency)
            SELECT code, version, NULL, unit, standard_fen, frequency FROM program;
        CREATE TABLE application_period(resident_id TEXT NOT NULL, program TEXT NOT NULL, period TEXT NOT NULL,
            node_id TEXT NOT NULL, PRIMARY KEY (resident_id, program, period)) WITHOUT ROWID;
        """),
        // Exactly-once dispatch (issue 14, item 3): a batch's instruction file gets a sequence number
        // per agency bank in the transaction that dispatches it; file_placed_at is set once the
        // file is renamed into the outbox (NULL: dispatched, file still to be put in place by
        // the next `batch dispatch`). Batches dispatched before this version had their file
        // written first, so they count as placed.
        .init(version: 13, sql: """
        ALTER TABLE batch ADD COLUMN file_seq INTEGER;
        ALTER TABLE batch ADD COLUMN file_placed_at TEXT;
        UPDATE batch SET file_placed_at = dispatched_on WHERE status != 'created';
        CREATE UNIQUE INDEX batch_file_seq ON batch(bank, file_seq) WHERE file_seq IS NOT NULL;
        """),
        // Operators are people (issue 15): accounts, roles, sessions and signed audit entries
        // (docs/operators.md). Roles granted to bare names before this version are dropped: they
        // named nobody who could log in; an administrator grants them again to accounts.
        .init(version: 14, sql: Operators.schemaSQL + """

        DROP TABLE operator_role;
        """),
        // Each side anchors the other's audit trail (issue 15, item 5): the audit head every change
        // set carries (format 3), kept per township in the transaction that applies the change set,
        // never updated or deleted; `ykt audit anchors --export` writes them out for the township's
        // `ykt audit verify --anchors`.
        .init(version: 15, sql: """
        CREATE TABLE audit_anchor(node_id TEXT NOT NULL, changeset_seq INTEGER NOT NULL, seq INTEGER NOT NULL CHECK (seq >= 0),
            hash TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (node_id, changeset_seq)) WITHOUT ROWID;
        CREATE INDEX audit_anchor_seq ON audit_anchor(node_id, seq);
        """),
        // Keys that can be cut off and rotated (issue 15, item 6): a township disabled by the
        // county is refused at once; a township key retired by a rotation statement names its
        // successor and the statement (the change set header's `key-next` field, verbatim); the
        // county's own keys, each new one announced by a statement signed by the one before;
        // which county key signed each downstream message.
        // (16: 14 is the operators' accounts, 15 the audit anchors.)
        .init(version: 16, sql: """
        ALTER TABLE township ADD COLUMN disabled_at TEXT;
        ALTER TABLE township ADD COLUMN disabled_by TEXT;
        ALTER TABLE township ADD COLUMN disabled_reason TEXT;
        ALTER TABLE node_key ADD COLUMN retired_at TEXT;
        ALTER TABLE node_key ADD COLUMN replaced_by TEXT;
        ALTER TABLE node_key ADD COLUMN rotation TEXT;
        CREATE TABLE county_key(key_id TEXT PRIMARY KEY, public_key BLOB NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('active','retired')), statement TEXT, old_signature BLOB,
            new_signature BLOB, created_at TEXT NOT NULL, retired_at TEXT) WITHOUT ROWID;
        ALTER TABLE downstream ADD COLUMN key_id TEXT;
        """),
        // ykt status (issue 16, item 3): when each township last asked for its stream (seen_at;
        // a request that acknowledges nothing new writes no audit entry), and the change sets
        // refused (signature, gap, fork, version, disabled, …), kept for the status view; neither
        // is an act of anyone, so neither is in the audit trail. Self-contained: renumber freely.
        .init(version: 17, sql: """
        ALTER TABLE checkpoint ADD COLUMN seen_at TEXT;
        CREATE TABLE sync_refusal(id INTEGER PRIMARY KEY, node_id TEXT NOT NULL, changeset_seq INTEGER,
            code TEXT NOT NULL, message TEXT NOT NULL, at TEXT NOT NULL,
            overcome INTEGER NOT NULL DEFAULT 0);   -- 1 once the township got through again
        CREATE INDEX sync_refusal_node ON sync_refusal(node_id, overcome);
        """),
        // A township removes a person from its register (issue 16, item 2: `beneficiary.remove`):
        // the county's register index keeps the row as history, marked removed; a later
        // registration of the same person (by any township) takes the row again. Self-contained.
        .init(version: 18, sql: """
        ALTER TABLE resident ADD COLUMN removed_at TEXT;
        ALTER TABLE resident ADD COLUMN removed_reason TEXT;
        """),
        // The office console's pages (issue 17) find a roster's lines by name and the failed
        // payments through an index, a page at a time, on a county of a million residents:
        // names within a roster, and the failed payments alone (a partial index: a few percent
        // of the payments). Self-contained: renumber freely.
        .init(version: 19, sql: """
        CREATE INDEX roster_line_name ON roster_line(roster_id, name);
        CREATE INDEX payment_failed ON payment(id) WHERE status = 'failed';
        """),
        // ykt publish (issue 18) reads each roster's payments line by line for the payment
        // results it publishes: an index on the line a payment pays (the partial unique ones
        // hold only paid and outstanding payments). Self-contained: renumber freely.
        .init(version: 20, sql: """
        CREATE INDEX payment_line ON payment(roster_id, line_no);
        """),
        // Complaints filed on the public page (ykt public serve → spool → ykt complaint import):
        // a fourth kind of subject, 'public' (the township and program the complainant named),
        // and the receipts already imported, so that a file imported twice is skipped. SQLite
        // cannot change a CHECK in place: the table is rebuilt with the same columns and rows.
        .init(version: 21, sql: """
        CREATE TABLE complaint_v20(id INTEGER PRIMARY KEY,
            subject_kind TEXT NOT NULL CHECK (subject_kind IN ('resident','roster','payment','public')),
            subject TEXT NOT NULL, received_on TEXT NOT NULL, channel TEXT NOT NULL, complainant TEXT NOT NULL, content TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed')), outcome TEXT, closed_by TEXT, closed_on TEXT);
        INSERT INTO complaint_v20 SELECT id, subject_kind, subject, received_on, channel, complainant, content, status, outcome,
            closed_by, closed_on FROM complaint;
        DROP TABLE complaint;
        ALTER TABLE complaint_v20 RENAME TO complaint;
        CREATE TABLE public_complaint(receipt TEXT PRIMARY KEY, complaint_id INTEGER NOT NULL, sha256 TEXT NOT NULL,
            imported_at TEXT NOT NULL) WITHOUT ROWID;
        """),
        // Issue 20, items 6 and 7 (docs/conventions.md, "代发协议" and "移交问题线索"). Agency
        // agreements (代发协议, seed 003: 不超过3年): each bank's agreements with their number,
        // term and fee terms; a bank is dispatched to only on a day one of them covers. Problem
        // leads handed to the discipline commission (移交问题线索, seed 004): a confirmed warning
        // or an upheld complaint gets a running number the first time it is exported
        // (AUTOINCREMENT: never reused), and each export is recorded. `complaint.upheld`: the
        // complaint was found true when closed (查实). Self-contained: renumber freely.
        .init(version: 22, sql: """
        CREATE TABLE bank_agreement(bank TEXT NOT NULL REFERENCES agency_bank(code), number TEXT NOT NULL,
            start_on TEXT NOT NULL, end_on TEXT NOT NULL CHECK (end_on >= start_on), fees TEXT NOT NULL,
            recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL, PRIMARY KEY (bank, number)) WITHOUT ROWID;
        ALTER TABLE complaint ADD COLUMN upheld INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE lead_export(id INTEGER PRIMARY KEY AUTOINCREMENT, by_operator TEXT NOT NULL, at TEXT NOT NULL,
            exported_on TEXT NOT NULL, full INTEGER NOT NULL, listed INTEGER NOT NULL, new_leads INTEGER NOT NULL,
            from_on TEXT, to_on TEXT, file TEXT NOT NULL, sha256 TEXT NOT NULL);
        CREATE TABLE lead(number INTEGER PRIMARY KEY AUTOINCREMENT,
            source TEXT NOT NULL CHECK (source IN ('warning','complaint')), source_id INTEGER NOT NULL,
            export_id INTEGER NOT NULL REFERENCES lead_export(id), UNIQUE (source, source_id));
        """),
        // Issue 20, items 3-5 (docs/conventions.md): each program's 发放载体 (carrier: any account
        // kind, the social security card only, or the card with a warned transition), 发放对象 (per
        // person or per household) and 限时办理 (working days for township review, department review
        // and finance approval), as the county's policy list sets them. Self-contained.
        .init(version: 23, sql: Program.rulesSchemaSQL),
        // The summary table's two signers (汇总表, issue 20 item 2): who built each roster at the
        // township (the station head, as clerk) and who submitted it (the township leader),
        // login and name, as the roster.submit carried them; NULL for rosters received before.
        // Self-contained (renumber freely on merge).
        .init(version: 24, sql: """
        ALTER TABLE roster ADD COLUMN prepared_by TEXT;
        ALTER TABLE roster ADD COLUMN prepared_name TEXT;
        ALTER TABLE roster ADD COLUMN submitted_by TEXT;
        ALTER TABLE roster ADD COLUMN submitted_name TEXT;
        """),
        // Issue 20, item 4 (docs/conventions.md, "一人（户）一卡"): each resident's household (户号,
        // keyed by township and number) and whether they head it, as the township sends them;
        // and for each line of a per-household program, the household it paid (as the county
        // held it when it accepted the roster; a table of its own, so roster_line keeps its
        // shape). Self-contained (renumber freely).
        .init(version: 25, sql: """
        ALTER TABLE resident ADD COLUMN household TEXT NOT NULL DEFAULT '';
        ALTER TABLE resident ADD COLUMN head INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX resident_household ON resident(node_id, household) WHERE household <> '';
        CREATE TABLE household_line(roster_id INTEGER NOT NULL, line_no INTEGER NOT NULL, node_id TEXT NOT NULL,
            household TEXT NOT NULL CHECK (household <> ''), PRIMARY KEY (roster_id, line_no),
            FOREIGN KEY (roster_id, line_no) REFERENCES roster_line(roster_id, line_no)) WITHOUT ROWID;
        CREATE INDEX household_line_household ON household_line(node_id, household);
        """),
        // Two public notices (issue 20, item 1; docs/conventions.md, "两级公示"; docs/money-trace.md):
        // the villages' representative meetings as the townships record them; each notice's
        // stage, village and meeting; each application's village notice and the two statuses
        // before the township notice. The application table (referenced by no foreign key) is
        // rebuilt for its CHECK. Upgrade rule: notices kept before this version are the township
        // stage, and an application one of them listed counts as having passed a village notice
        // (`village_legacy` = 1, set here only: no operation sets it). Self-contained: renumber freely.
        .init(version: 26, sql: """
        CREATE TABLE meeting(node_id TEXT NOT NULL, entity TEXT NOT NULL, op_seq INTEGER NOT NULL, village TEXT NOT NULL,
            program TEXT NOT NULL, period TEXT NOT NULL, held_on TEXT NOT NULL, present INTEGER NOT NULL,
            expected INTEGER NOT NULL, outcome TEXT NOT NULL, recorded_at TEXT NOT NULL, PRIMARY KEY (node_id, entity)) WITHOUT ROWID;
        ALTER TABLE notice ADD COLUMN stage TEXT NOT NULL DEFAULT 'township' CHECK (stage IN ('village','township'));
        ALTER TABLE notice ADD COLUMN village TEXT;
        ALTER TABLE notice ADD COLUMN meeting TEXT;
        CREATE TABLE application_v23(entity TEXT PRIMARY KEY, node_id TEXT NOT NULL, op_seq INTEGER NOT NULL,
            resident_id TEXT NOT NULL, program TEXT NOT NULL, period TEXT NOT NULL, program_version INTEGER NOT NULL,
            quantity TEXT NOT NULL, standard_fen INTEGER NOT NULL, amount_fen INTEGER NOT NULL,
            village_result TEXT NOT NULL CHECK (village_result IN ('passed','failed')), village_note TEXT NOT NULL,
            recorded_at TEXT NOT NULL, notice TEXT,
            status TEXT NOT NULL DEFAULT 'recorded'
                CHECK (status IN ('recorded','in_village_notice','village_cleared','in_notice','cleared','removed')),
            village_notice TEXT, village_legacy INTEGER NOT NULL DEFAULT 0 CHECK (village_legacy IN (0, 1))) WITHOUT ROWID;
        INSERT INTO application_v23(entity, node_id, op_seq, resident_id, program, period, program_version, quantity, standard_fen,
            amount_fen, village_result, village_note, recorded_at, notice, status, village_notice, village_legacy)
            SELECT entity, node_id, op_seq, resident_id, program, period, program_version, quantity, standard_fen, amount_fen,
                   village_result, village_note, recorded_at, notice, status, NULL, notice IS NOT NULL FROM application;
        DROP TABLE application;
        ALTER TABLE application_v23 RENAME TO application;
        CREATE INDEX application_resident ON application(resident_id, program);
        CREATE INDEX application_notice ON application(notice);
        CREATE INDEX application_village_notice ON application(village_notice) WHERE village_notice IS NOT NULL;
        """),
        // Warnings that cost what is new (docs/conventions.md): what the last run saw (the
        // register's rowid mark, each roster's liveness, the policy list), the changes to
        // residents already known and to the deceased and officials lists since (written by
        // these triggers), and the indexes that find everyone an account is named for.
        .init(version: 27, sql: """
        CREATE TABLE warning_state(id INTEGER PRIMARY KEY CHECK (id = 1), resident_rowid INTEGER NOT NULL, policy TEXT NOT NULL,
            mode TEXT NOT NULL, run_at TEXT NOT NULL);
        CREATE TABLE warning_roster(roster_id INTEGER PRIMARY KEY, live INTEGER NOT NULL);
        CREATE TABLE warning_dirty(id INTEGER PRIMARY KEY, resident_id TEXT NOT NULL, account_number TEXT NOT NULL,
            node_id TEXT NOT NULL DEFAULT '', household TEXT NOT NULL DEFAULT '');
        CREATE TRIGGER resident_warning_dirty AFTER UPDATE OF node_id, bank, account_kind, account_number, household, head ON resident
        BEGIN
            INSERT INTO warning_dirty(resident_id, account_number, node_id, household)
                VALUES (old.resident_id, old.account_number, old.node_id, old.household);
            INSERT INTO warning_dirty(resident_id, account_number, node_id, household)
                VALUES (new.resident_id, new.account_number, new.node_id, new.household);
        END;
        CREATE TRIGGER deceased_warning_added AFTER INSERT ON deceased
        BEGIN INSERT INTO warning_dirty(resident_id, account_number) VALUES (new.resident_id, ''); END;
        CREATE TRIGGER deceased_warning_changed AFTER UPDATE ON deceased
        BEGIN INSERT INTO warning_dirty(resident_id, account_number) VALUES (new.resident_id, ''); END;
        CREATE TRIGGER deceased_warning_removed AFTER DELETE ON deceased
        BEGIN INSERT INTO warning_dirty(resident_id, account_number) VALUES (old.resident_id, ''); END;
        CREATE TRIGGER official_warning_added AFTER INSERT ON official
        BEGIN INSERT INTO warning_dirty(resident_id, account_number) VALUES (new.resident_id, ''); END;
        CREATE TRIGGER official_warning_changed AFTER UPDATE ON official
        BEGIN INSERT INTO warning_dirty(resident_id, account_number) VALUES (new.resident_id, ''); END;
        CREATE TRIGGER official_warning_removed AFTER DELETE ON official
        BEGIN INSERT INTO warning_dirty(resident_id, account_number) VALUES (old.resident_id, ''); END;
        CREATE INDEX roster_line_account ON roster_line(account_number, resident_id);
        CREATE INDEX resident_account ON resident(account_number, resident_id) WHERE account_number <> '';
        """),
        // Reports that cost the month, not the years (issue 21): the month's results by date
        // (report and reconciliation), and per roster and result date the lines paid and their
        // amount, written with the results (`bank receive`, the only way a payment becomes
        // paid), so "unpaid at month end" is each approved roster's line count less a sum of a
        // few rows (a line is paid at most once: payment_paid_once).
        .init(version: 28, sql: """
        CREATE INDEX payment_result_on ON payment(result_on) WHERE result_on IS NOT NULL;
        CREATE TABLE roster_paid(roster_id INTEGER NOT NULL, paid_on TEXT NOT NULL, lines INTEGER NOT NULL, fen INTEGER NOT NULL,
            PRIMARY KEY (roster_id, paid_on)) WITHOUT ROWID;
        INSERT INTO roster_paid(roster_id, paid_on, lines, fen)
            SELECT roster_id, result_on, count(*), sum(amount_fen) FROM payment WHERE status = 'paid' GROUP BY roster_id, result_on;
        """),
        // The day the last notice behind a roster closed (where its township review starts,
        // conventions (r)), kept with the roster when it is received ('' when none), instead of
        // read from every line of every roster whenever time limits are shown (issue 21).
        .init(version: 29, sql: """
        ALTER TABLE roster ADD COLUMN notices_closed_on TEXT;
        UPDATE roster SET notices_closed_on = coalesce((SELECT max(n.closed_on) FROM roster_line l
            JOIN application a ON a.entity = l.application JOIN notice n ON n.node_id = a.node_id AND n.entity = a.notice
            WHERE l.roster_id = roster.id), '');
        """),
        // A month's results are read by batch (a result is dated between its batch's dispatch
        // and the day the file was received: `batchesAnswering`), so the index over every
        // payment's result date, which each result file had to extend, goes (issue 21).
        .init(version: 30, sql: """
        DROP INDEX payment_result_on;
        """),
        // What a roster's lines were checked against when it was received: its largest amount
        // and the standard every amount was found equal to (standard × quantity), so that the
        // above-standard rule reads a roster's lines only when they could be above the standard
        // in force now (WarningScan.aboveStandard; issue 21). NULL: not known (a roster from
        // before, where only the largest amount is filled in here), read as before.
        .init(version: 31, sql: """
        ALTER TABLE roster ADD COLUMN max_amount_fen INTEGER;
        ALTER TABLE roster ADD COLUMN checked_standard_fen INTEGER;
        UPDATE roster SET max_amount_fen = (SELECT max(amount_fen) FROM roster_line WHERE roster_id = roster.id);
        """),
        // Accepted registrations sent as the township writes them (entity `beneficiary/<ID>`)
        // are recorded in runs: one row for up to 4,096 consecutive operations, first_op to
        // first_op + length(ids) / 18 - 1, every one a `beneficiary.register` of the resident
        // whose ID is at its place in `ids` (18 ASCII bytes each, end to end), accepted in change
        // set `changeset_seq`. A million decision rows of their own cost the county about a tenth
        // of its time on a register's first sync (issue 19). Every other decision keeps its row
        // in `operation`; `decision` reads both as one row per operation.
        .init(version: 32, sql: """
        CREATE TABLE operation_run(node_id TEXT NOT NULL, first_op INTEGER NOT NULL, changeset_seq INTEGER NOT NULL,
            ids BLOB NOT NULL CHECK (length(ids) BETWEEN 18 AND 4096 * 18 AND length(ids) % 18 = 0),
            UNIQUE (node_id, first_op));
        CREATE VIEW decision(node_id, op_seq, changeset_seq, kind, entity, status, rule, reason, conflict_id) AS
            SELECT node_id, op_seq, changeset_seq, kind, entity, status, rule, reason, conflict_id FROM operation
            UNION ALL
            SELECT r.node_id, r.first_op + n.i, r.changeset_seq, 'beneficiary.register',
                   'beneficiary/' || substr(r.ids, n.i * 18 + 1, 18), 'accepted', NULL, NULL, NULL
            FROM operation_run r
            JOIN (WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 4095) SELECT i FROM k) n
              ON n.i < length(r.ids) / 18;
        """),
        // The register's account index keeps the account number alone (it held the resident's
        // ID beside it, for the warning rules to read without the row). Every registration
        // writes it in random order; half the key makes that insert about a tenth cheaper in
        // SQLite's own work on a million-person register (issue 19), and the rules that read
        // it (一卡多人, WarningScan) read the few rows an account names. Self-contained.
        .init(version: 33, sql: """
        DROP INDEX resident_account;
        CREATE INDEX resident_account ON resident(account_number) WHERE account_number <> '';
        """),
        // The register's household index keyed by the household number first, then the
        // township: every look-up of it names both (a household's members, its other head), and
        // every registration writes it. Led by the township, whose nine bytes every entry of a
        // township shares, each comparison of a seek read them and went on to the household in
        // SQLite's general record comparison; led by the household, most comparisons end in its
        // first field (issue 19: a head look-up about a quarter cheaper). Self-contained.
        .init(version: 34, sql: """
        DROP INDEX resident_household;
        CREATE INDEX resident_household ON resident(household, node_id) WHERE household <> '';
        """),
    ])
}
