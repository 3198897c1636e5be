import YKTCore
import YKTNode
import YKTStore

/// The township database schema, as numbered migrations. Never edit a released migration:
/// add a new one.
enum Schema {
    static let migrator = Migrator([
        .init(version: 1, sql: """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

        -- Official holiday arrangements loaded after the built-in years (ykt calendar load).
        CREATE TABLE calendar_day(date TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('holiday','workday')),
            name TEXT NOT NULL, source TEXT NOT NULL) WITHOUT ROWID;

        -- 补贴政策清单, as published by the county.
        CREATE TABLE program(code TEXT PRIMARY KEY, name TEXT NOT NULL, department TEXT NOT NULL,
            unit TEXT NOT NULL, standard_fen INTEGER NOT NULL CHECK (standard_fen >= 0),
            frequency TEXT NOT NULL, secret INTEGER NOT NULL, basis TEXT NOT NULL,
            version INTEGER NOT NULL, loaded_at TEXT NOT NULL) WITHOUT ROWID;

        -- 底册: one row per resident; the designated account lives in `account` with its history.
        CREATE TABLE beneficiary(id INTEGER PRIMARY KEY, resident_id TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL, village TEXT NOT NULL, household TEXT NOT NULL DEFAULT '',
            phone TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL);

        -- 一人一卡: exactly one current account (replaced_at IS NULL) per person; changes add rows.
        CREATE TABLE account(id INTEGER PRIMARY KEY,
            beneficiary_id INTEGER NOT NULL REFERENCES beneficiary(id),
            bank TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('card','passbook')), number TEXT NOT NULL,
            confirmation_ref TEXT NOT NULL, shared_reason TEXT, valid_from TEXT NOT NULL,
            replaced_at TEXT);
        CREATE UNIQUE INDEX account_current ON account(beneficiary_id) WHERE replaced_at IS NULL;
        CREATE INDEX account_number ON account(number) WHERE replaced_at IS NULL;

        CREATE TABLE application(id INTEGER PRIMARY KEY,
            beneficiary_id INTEGER NOT NULL REFERENCES beneficiary(id),
            program_code TEXT NOT NULL REFERENCES program(code), period TEXT NOT NULL,
            quantity_e4 INTEGER NOT NULL CHECK (quantity_e4 > 0), standard_fen INTEGER NOT NULL,
            amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
            village_result TEXT NOT NULL CHECK (village_result IN ('passed','failed')),
            village_note TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL CHECK (status IN ('recorded','not_passed','in_notice','cleared','removed','rostered')),
            notice_id INTEGER REFERENCES notice(id), version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL, UNIQUE (beneficiary_id, program_code, period));
        CREATE INDEX application_queue ON application(program_code, period, status);

        -- 公示
        CREATE TABLE notice(id INTEGER PRIMARY KEY, program_code TEXT NOT NULL REFERENCES program(code),
            period TEXT NOT NULL, place TEXT NOT NULL, phone TEXT NOT NULL, posted_on TEXT NOT NULL,
            first_day TEXT NOT NULL, last_day TEXT NOT NULL, earliest_close TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open','closed')), closed_on TEXT,
            proof_sha256 TEXT, version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);

        -- 异议
        CREATE TABLE objection(id INTEGER PRIMARY KEY, notice_id INTEGER NOT NULL REFERENCES notice(id),
            application_id INTEGER NOT NULL REFERENCES application(id), received_on TEXT NOT NULL,
            complainant TEXT NOT NULL DEFAULT '', content TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open','upheld','dismissed')),
            decision_reason TEXT, settled_on TEXT, version INTEGER NOT NULL DEFAULT 1);

        -- 发放清册: a draft is a local working copy; submitting freezes it and queues it.
        CREATE TABLE roster(id INTEGER PRIMARY KEY, program_code TEXT NOT NULL REFERENCES program(code),
            period TEXT NOT NULL, batch INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('draft','submitted')),
            line_count INTEGER NOT NULL, total_fen INTEGER NOT NULL, created_at TEXT NOT NULL,
            submitted_at TEXT, version INTEGER NOT NULL DEFAULT 1, UNIQUE (program_code, period, batch));
        CREATE TABLE roster_line(roster_id INTEGER NOT NULL REFERENCES roster(id), line_no INTEGER NOT NULL,
            application_id INTEGER NOT NULL UNIQUE REFERENCES application(id),
            beneficiary_id INTEGER NOT NULL, name TEXT NOT NULL, resident_id TEXT NOT NULL, village TEXT NOT NULL,
            bank TEXT NOT NULL, account_kind TEXT NOT NULL, account_number TEXT NOT NULL,
            quantity_e4 INTEGER NOT NULL, amount_fen INTEGER NOT NULL,
            PRIMARY KEY (roster_id, line_no)) WITHOUT ROWID;

        -- Outbound domain operations, gapless per node (seq), written with the change they record.
        -- The envelope's fields are columns and `data` is canonical JSON; the operation id
        -- ('<node>-<seq>') and the exact body are rebuilt from them (Operation.body).
        CREATE TABLE outbox(seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, entity TEXT NOT NULL,
            base_version INTEGER NOT NULL, at TEXT NOT NULL, by_operator TEXT NOT NULL, data TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending');

        -- Hash-chained audit trail.
        CREATE TABLE audit(seq INTEGER PRIMARY KEY, at TEXT NOT NULL, operator TEXT NOT NULL,
            action TEXT NOT NULL, object TEXT NOT NULL, detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
        """),
        .init(version: 2, sql: """
        -- Signed change sets built from the outbox, kept byte for byte until the county's
        -- receipt (docs/protocol.md). seq is the node's gapless change-set sequence.
        CREATE TABLE changeset_out(seq INTEGER PRIMARY KEY, first_op INTEGER NOT NULL, last_op INTEGER NOT NULL,
            key_id TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL, bytes BLOB NOT NULL, signature BLOB NOT NULL,
            state TEXT NOT NULL DEFAULT 'built' CHECK (state IN ('built','acknowledged')), created_at TEXT NOT NULL);
        """),
        .init(version: 3, sql: """
        -- The county's signed receipt for each acknowledged change set, and its decision per operation.
        ALTER TABLE changeset_out ADD COLUMN receipt TEXT;
        ALTER TABLE changeset_out ADD COLUMN receipt_signature BLOB;
        CREATE TABLE op_result(seq INTEGER PRIMARY KEY REFERENCES outbox(seq),
            status TEXT NOT NULL CHECK (status IN ('accepted','rejected','conflicted')),
            rule TEXT, reason TEXT, conflict_id INTEGER);
        """),
        .init(version: 4, sql: """
        -- Messages pulled from the county's signed stream, verbatim with their signatures.
        CREATE TABLE inbox(seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL, signature BLOB NOT NULL,
            received_at TEXT NOT NULL);
        """),
        .init(version: 5, sql: """
        -- Finding the unacknowledged change set must not read every stored set's bytes.
        CREATE INDEX changeset_out_state ON changeset_out(state);
        """),
        .init(version: 6, sql: """
        -- What the county decided about each submitted roster (from its stream).
        CREATE TABLE roster_decision(id INTEGER PRIMARY KEY, roster_id INTEGER NOT NULL REFERENCES roster(id),
            decision TEXT NOT NULL CHECK (decision IN ('received','reviewed','rejected','approved')),
            reason TEXT NOT NULL DEFAULT '', by_operator TEXT NOT NULL DEFAULT '', message_seq INTEGER NOT NULL, at TEXT NOT NULL);
        -- Payment results for this township's roster lines, as the county reported them; a failed
        -- line is corrected here (correction sent up as payment.correct) and re-issued by the county.
        CREATE TABLE payment_result(payment INTEGER PRIMARY KEY, roster_id INTEGER NOT NULL REFERENCES roster(id),
            line_no INTEGER NOT NULL, batch INTEGER NOT NULL, resident_id TEXT NOT NULL, name TEXT NOT NULL,
            bank TEXT NOT NULL, account_kind TEXT NOT NULL, account_number TEXT NOT NULL, amount_fen INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('paid','failed')), reason_code TEXT, reason TEXT, result_on TEXT NOT NULL,
            returned_fen INTEGER NOT NULL, reissue_of INTEGER, corrected_at TEXT, message_seq INTEGER NOT NULL);
        CREATE INDEX payment_result_roster ON payment_result(roster_id, line_no);
        """),
        .init(version: 7, sql: """
        -- An operation's sync state follows from the change sets and the county's receipts, so
        -- a push writes nothing per operation it sends, and nothing per operation accepted:
        -- pending until a change set holds it, batched until that set is acknowledged, then
        -- what the receipt said (op_result holds the operations not accepted). Change sets
        -- hold contiguous ranges and are acknowledged in order. Change sets keep their signed
        -- header only: the body is rebuilt from the outbox, and checked against the header.
        ALTER TABLE outbox DROP COLUMN state;
        CREATE VIEW outbox_state(seq, state) AS
            SELECT o.seq, CASE
                WHEN o.seq <= (SELECT coalesce(max(last_op), 0) FROM changeset_out WHERE state = 'acknowledged')
                    THEN coalesce((SELECT r.status FROM op_result r WHERE r.seq = o.seq), 'accepted')
                WHEN o.seq <= (SELECT coalesce(max(last_op), 0) FROM changeset_out) THEN 'batched'
                ELSE 'pending' END
            FROM outbox o;
        """),
        .init(version: 8, sql: """
        -- One calendar for the county (issue 14): the working-day calendar is the one the county
        -- published, as the last calendar.version message brought it (whole). calendar_day, the
        -- years a township loaded itself before, is no longer read.
        CREATE TABLE county_calendar_day(date TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('holiday','workday')),
            name TEXT NOT NULL) WITHOUT ROWID;
        """),
        // Operators are people (issue 15): accounts, roles, sessions and signed audit entries.
        .init(version: 9, sql: Operators.schemaSQL),
        .init(version: 10, sql: """
        -- Each side anchors the other's audit trail (issue 15, item 5). county_anchor: the county's
        -- audit head as each pull of its stream brought it, with the county's signed message
        -- verbatim; own_anchor: the anchor of this node's own chain the county said it held
        -- (each receipt's auditAnchor), which ykt audit verify checks this chain against.
        CREATE TABLE county_anchor(id INTEGER PRIMARY KEY, seq INTEGER NOT NULL CHECK (seq >= 0), hash TEXT NOT NULL,
            message TEXT NOT NULL, signature BLOB NOT NULL, received_at TEXT NOT NULL);
        CREATE TABLE own_anchor(changeset_seq INTEGER PRIMARY KEY, seq INTEGER NOT NULL CHECK (seq >= 0), hash TEXT NOT NULL,
            reported_at TEXT NOT NULL);
        """),
        // Keys that rotate (issue 15, item 6): this node's own rotations (pending until the
        // county's receipt confirms the new key; the statement travels in the change set
        // header's `key-next` field), and the county's keys as each was announced by the one
        // before (the first is node.conf's county_public_key).
        // (11: 9 is the operators' accounts, 10 the audit anchors.)
        .init(version: 11, sql: """
        CREATE TABLE key_rotation(new_key_id TEXT PRIMARY KEY, old_key_id TEXT NOT NULL, field TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending','confirmed')), created_at TEXT NOT NULL,
            confirmed_at TEXT, confirmed_by_changeset INTEGER) WITHOUT ROWID;
        CREATE TABLE county_key(key_id TEXT PRIMARY KEY, public_key BLOB NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('current','retired')), statement TEXT, accepted_at TEXT NOT NULL,
            retired_at TEXT) WITHOUT ROWID;
        """),
        // ykt status (issue 16, item 3): the last round of ykt sync that succeeded and what it
        // did, and the last that failed (code and message), one row. Kept here, not in the audit
        // trail: a round that moved nothing leaves no audit entry. Self-contained: renumber freely.
        .init(version: 12, sql: """
        CREATE TABLE sync_state(id INTEGER PRIMARY KEY CHECK (id = 1), success_at TEXT, outcome TEXT,
            failure_at TEXT, failure_code TEXT, failure_message TEXT,
            last_round TEXT CHECK (last_round IN ('success','failure')));
        """),
        // One policy list, from the county (issue 16, item 1): where each program came from.
        // 'county': a policy.version message; 'local': `ykt program load` at a township with no
        // county configured; 'withdrawn': a local one the county's list replaced (kept because
        // applications may name it; no new application may). Self-contained.
        .init(version: 13, sql: """
        ALTER TABLE program ADD COLUMN origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local','county','withdrawn'));
        ALTER TABLE program ADD COLUMN list_version INTEGER;
        -- `ykt beneficiary remove` (issue 16, item 2): the person stays as history (accounts,
        -- applications and rosters name them) but is out of the register from then on.
        ALTER TABLE beneficiary ADD COLUMN removed_at TEXT;
        ALTER TABLE beneficiary ADD COLUMN removed_reason TEXT;
        UPDATE program SET origin = 'county' WHERE EXISTS (SELECT 1 FROM inbox WHERE kind = 'policy.version'
            AND instr(body, '"code":"' || program.code || '"') > 0);
        """),
        // The county's decisions, by conflict (issue 16): an operation the county logged as a
        // conflict is 'decided' once the decision has arrived, so the outbox and `ykt status`
        // stop showing it as waiting for the county. Filled from the messages already here.
        .init(version: 14, sql: """
        CREATE TABLE conflict_decided(conflict_id INTEGER PRIMARY KEY, kind TEXT NOT NULL, decision TEXT NOT NULL,
            message_seq INTEGER NOT NULL);
        INSERT OR REPLACE INTO conflict_decided(conflict_id, kind, decision, message_seq)
            SELECT json_extract(body, '$.data.conflict'), coalesce(json_extract(body, '$.data.kind'), ''),
                   coalesce(json_extract(body, '$.data.decision'), ''), seq
            FROM inbox WHERE kind = 'conflict.decision' AND json_extract(body, '$.data.conflict') IS NOT NULL ORDER BY seq;
        DROP VIEW outbox_state;
        CREATE VIEW outbox_state(seq, state) AS
            SELECT o.seq, CASE
                WHEN o.seq <= (SELECT coalesce(max(last_op), 0) FROM changeset_out WHERE state = 'acknowledged')
                    THEN coalesce((SELECT CASE WHEN r.status = 'conflicted'
                                                AND EXISTS (SELECT 1 FROM conflict_decided d WHERE d.conflict_id = r.conflict_id)
                                               THEN 'decided' ELSE r.status END
                                   FROM op_result r WHERE r.seq = o.seq), 'accepted')
                WHEN o.seq <= (SELECT coalesce(max(last_op), 0) FROM changeset_out) THEN 'batched'
                ELSE 'pending' END
            FROM outbox o;
        """),
        // The office console's register pages (issue 17): one page of the register in order of
        // village and name, and its count, read from this index alone (covering: the filters on
        // name, village, resident ID and removal are in it), so a page answers in milliseconds
        // at any depth of a township's 100,000 people. Self-contained (renumber freely on merge).
        .init(version: 15, sql: """
        CREATE INDEX beneficiary_order ON beneficiary(village, name, resident_id, removed_at);
        """),
        // Issue 20, items 3-5 (docs/conventions.md): each program's 发放载体 (carrier: any account
        // kind, the social security card only, or the card with a warned transition), 发放对象 (per
        // person or per household) and 限时办理 (working days for township review, department review
        // and finance approval), as the county's policy list sets them. Self-contained.
        .init(version: 16, sql: Program.rulesSchemaSQL),
        // The summary table's two signers (汇总表, issue 20 item 2; seed 004: 职能站所负责人和乡（镇）
        // 主要负责人分别在汇总表上签字): who built the roster (the station head, as clerk) and who
        // submitted it (the leader), login and name as their accounts give them. Rosters made
        // before take both from the audit trail (the last roster.build and the roster.submit
        // entry of each roster) when that operator has an account; a draft left without a
        // preparer must be rebuilt before it is submitted (YKT-ROSTER-SIGNERS).
        // Self-contained (renumber freely on merge).
        .init(version: 17, sql: """
        ALTER TABLE roster ADD COLUMN prepared_by TEXT;
        ALTER TABLE roster ADD COLUMN prepared_name TEXT;
        ALTER TABLE roster ADD COLUMN submitted_by TEXT;
        ALTER TABLE roster ADD COLUMN submitted_name TEXT;
        UPDATE roster SET prepared_by = (SELECT a.operator FROM audit a JOIN operator_account o ON o.login = a.operator
                                         WHERE a.action = 'roster.build' AND a.object = 'roster#' || roster.id ORDER BY a.seq DESC LIMIT 1);
        UPDATE roster SET prepared_name = (SELECT real_name FROM operator_account WHERE login = roster.prepared_by)
            WHERE prepared_by IS NOT NULL;
        UPDATE roster SET submitted_by = (SELECT a.operator FROM audit a JOIN operator_account o ON o.login = a.operator
                                          WHERE a.action = 'roster.submit' AND a.object = 'roster#' || roster.id ORDER BY a.seq DESC LIMIT 1)
            WHERE status = 'submitted';
        UPDATE roster SET submitted_name = (SELECT real_name FROM operator_account WHERE login = roster.submitted_by)
            WHERE submitted_by IS NOT NULL;
        """),
        // Issue 20, item 4 (docs/conventions.md, "一人（户）一卡"): the household head (户主). A
        // household is the township's 户号; at most one head among its members still on the
        // register (the partial unique index); a head has a 户号. Self-contained (renumber freely).
        .init(version: 18, sql: """
        ALTER TABLE beneficiary ADD COLUMN head INTEGER NOT NULL DEFAULT 0 CHECK (head IN (0, 1) AND (head = 0 OR household <> ''));
        CREATE UNIQUE INDEX beneficiary_household_head ON beneficiary(household) WHERE head = 1 AND removed_at IS NULL;
        CREATE INDEX beneficiary_household ON beneficiary(household) WHERE household <> '';
        """),
        // Issue 20, item 3 (docs/conventions.md, 发放载体): the social security card's financial
        // account (社会保障卡金融账户) is an account kind of its own. `account.kind` had a CHECK of
        // card and passbook only, so the table is rebuilt (no table refers to it): rows kept as
        // they are — a 社保卡 typed before this was stored as `card` and stays so until declared
        // again. Self-contained (renumber freely on merge).
        .init(version: 19, sql: """
        CREATE TABLE account_v17(id INTEGER PRIMARY KEY,
            beneficiary_id INTEGER NOT NULL REFERENCES beneficiary(id),
            bank TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('card','passbook','social-security-card')), number TEXT NOT NULL,
            confirmation_ref TEXT NOT NULL, shared_reason TEXT, valid_from TEXT NOT NULL,
            replaced_at TEXT);
        INSERT INTO account_v17(id, beneficiary_id, bank, kind, number, confirmation_ref, shared_reason, valid_from, replaced_at)
            SELECT id, beneficiary_id, bank, kind, number, confirmation_ref, shared_reason, valid_from, replaced_at FROM account;
        DROP TABLE account;
        ALTER TABLE account_v17 RENAME TO account;
        CREATE UNIQUE INDEX account_current ON account(beneficiary_id) WHERE replaced_at IS NULL;
        CREATE INDEX account_number ON account(number) WHERE replaced_at IS NULL;
        """),
        // Two public notices (issue 20, item 1; seed 004; docs/conventions.md, "两级公示"): the
        // village's representative meeting (村民代表大会评议) with its date, attendance and
        // outcome; each notice's stage ('village': 村级拟补贴对象公示, naming its meeting;
        // 'township': 乡镇审核后发放清册公示); each application's village notice and two new
        // statuses (in_village_notice, village_cleared). SQLite cannot change the CHECK on
        // application.status in place and objection and roster_line reference application, so
        // the table is rebuilt the documented way (Migrator: foreign keys off outside the
        // transaction, foreign_key_check before the commit). Upgrade rule: a notice posted
        // before this version is the township stage, and an application a notice had already
        // listed counts as having passed a village notice: `village_legacy` = 1, set here and
        // nowhere else (no operation can set it). Self-contained: renumber freely on merge.
        .init(version: 20, sql: """
        CREATE TABLE meeting(id INTEGER PRIMARY KEY, village TEXT NOT NULL,
            program_code TEXT NOT NULL REFERENCES program(code), period TEXT NOT NULL, held_on TEXT NOT NULL,
            present INTEGER NOT NULL CHECK (present >= 0), expected INTEGER NOT NULL CHECK (expected > 0 AND present <= expected),
            outcome TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
        ALTER TABLE notice ADD COLUMN stage TEXT NOT NULL DEFAULT 'township' CHECK (stage IN ('village','township'));
        ALTER TABLE notice ADD COLUMN village TEXT;
        ALTER TABLE notice ADD COLUMN meeting_id INTEGER REFERENCES meeting(id);
        CREATE TABLE application_v16(id INTEGER PRIMARY KEY,
            beneficiary_id INTEGER NOT NULL REFERENCES beneficiary(id),
            program_code TEXT NOT NULL REFERENCES program(code), period TEXT NOT NULL,
            quantity_e4 INTEGER NOT NULL CHECK (quantity_e4 > 0), standard_fen INTEGER NOT NULL,
            amount_fen INTEGER NOT NULL CHECK (amount_fen >= 0),
            village_result TEXT NOT NULL CHECK (village_result IN ('passed','failed')),
            village_note TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL CHECK (status IN ('recorded','not_passed','in_village_notice','village_cleared',
                'in_notice','cleared','removed','rostered')),
            notice_id INTEGER REFERENCES notice(id), version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL, village_notice_id INTEGER REFERENCES notice(id),
            village_legacy INTEGER NOT NULL DEFAULT 0 CHECK (village_legacy IN (0, 1)),
            UNIQUE (beneficiary_id, program_code, period));
        INSERT INTO application_v16(id, beneficiary_id, program_code, period, quantity_e4, standard_fen, amount_fen,
            village_result, village_note, status, notice_id, version, created_at, village_notice_id, village_legacy)
            SELECT id, beneficiary_id, program_code, period, quantity_e4, standard_fen, amount_fen, village_result, village_note,
                   status, notice_id, version, created_at, NULL, notice_id IS NOT NULL FROM application;
        DROP TABLE application;
        ALTER TABLE application_v16 RENAME TO application;
        CREATE INDEX application_queue ON application(program_code, period, status);
        CREATE INDEX application_village_notice ON application(village_notice_id) WHERE village_notice_id IS NOT NULL;
        """, rebuildsReferencedTable: true),
        // The same CHECK on `account.kind`, written as equalities: SQLite checks `kind IN (three
        // values)` by building a temporary index of the three for every row it inserts (opened,
        // filled and closed: a fifth of the register import's writing). Rebuilt as in version 19
        // (no table refers to `account`); the rows are kept as they are.
        .init(version: 21, sql: """
        CREATE TABLE account_v21(id INTEGER PRIMARY KEY,
            beneficiary_id INTEGER NOT NULL REFERENCES beneficiary(id),
            bank TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind = 'card' OR kind = 'passbook' OR kind = 'social-security-card'),
            number TEXT NOT NULL, confirmation_ref TEXT NOT NULL, shared_reason TEXT, valid_from TEXT NOT NULL,
            replaced_at TEXT);
        INSERT INTO account_v21(id, beneficiary_id, bank, kind, number, confirmation_ref, shared_reason, valid_from, replaced_at)
            SELECT id, beneficiary_id, bank, kind, number, confirmation_ref, shared_reason, valid_from, replaced_at FROM account;
        DROP TABLE account;
        ALTER TABLE account_v21 RENAME TO account;
        CREATE UNIQUE INDEX account_current ON account(beneficiary_id) WHERE replaced_at IS NULL;
        CREATE INDEX account_number ON account(number) WHERE replaced_at IS NULL;
        """),
    ])
}
