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
    ])
}
