//! The log's schema, versioned with `PRAGMA user_version`, and the migrations between versions.
//!
//! Version 1 was the first shape of the `exchanges` table: no attachments, no cached or reasoning
//! token counts, no clipping flag and no full-text index. Version 2 adds them. Version 3 adds
//! `run_id`: the `qstream map` run an exchange was an item of. Version 4 adds the `batches` table:
//! the Batch API jobs `qstream batch submit` sent, with the input each came from. Version 5
//! (current) adds `message_parts`: the messages of a big turn, in pieces, and the view
//! `exchanges_messages` that gives every row's messages whole. Every migration runs in one transaction, so a database is at one version or the
//! next, never between.

use rusqlite::{Connection, Transaction};

use super::{Result, StoreError};

/// The version this build writes.
pub const CURRENT: i64 = 5;

/// Version 1, kept to create old databases in tests and to document what a migration starts
/// from.
pub const V1: &str = "
CREATE TABLE exchanges (
    id            TEXT PRIMARY KEY,
    cid           TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    model         TEXT NOT NULL,
    protocol      TEXT NOT NULL,
    region        TEXT,
    base_url      TEXT NOT NULL,
    system        TEXT,
    prompt        TEXT,
    messages      TEXT NOT NULL,
    params        TEXT NOT NULL,
    content       TEXT NOT NULL DEFAULT '',
    reasoning     TEXT NOT NULL DEFAULT '',
    tool_calls    TEXT,
    sources       TEXT,
    finish_reason TEXT,
    input_tokens  INTEGER,
    output_tokens INTEGER,
    total_tokens  INTEGER,
    request_id    TEXT,
    ttft_ms       REAL,
    duration_ms   REAL,
    status        TEXT NOT NULL,
    error         TEXT,
    exit_code     INTEGER
);
CREATE INDEX exchanges_cid ON exchanges (cid, id);
CREATE INDEX exchanges_started ON exchanges (started_at);
";

/// From version 1 to 2.
const V1_TO_V2: &str = "
ALTER TABLE exchanges ADD COLUMN media TEXT;
ALTER TABLE exchanges ADD COLUMN cached_tokens INTEGER;
ALTER TABLE exchanges ADD COLUMN reasoning_tokens INTEGER;
ALTER TABLE exchanges ADD COLUMN clipped INTEGER NOT NULL DEFAULT 0;
CREATE VIRTUAL TABLE exchanges_fts USING fts5 (
    prompt, content, content = 'exchanges', content_rowid = 'rowid'
);
CREATE TRIGGER exchanges_fts_insert AFTER INSERT ON exchanges BEGIN
    INSERT INTO exchanges_fts (rowid, prompt, content) VALUES (new.rowid, new.prompt, new.content);
END;
CREATE TRIGGER exchanges_fts_delete AFTER DELETE ON exchanges BEGIN
    INSERT INTO exchanges_fts (exchanges_fts, rowid, prompt, content)
        VALUES ('delete', old.rowid, old.prompt, old.content);
END;
CREATE TRIGGER exchanges_fts_update AFTER UPDATE OF prompt, content ON exchanges BEGIN
    INSERT INTO exchanges_fts (exchanges_fts, rowid, prompt, content)
        VALUES ('delete', old.rowid, old.prompt, old.content);
    INSERT INTO exchanges_fts (rowid, prompt, content) VALUES (new.rowid, new.prompt, new.content);
END;
INSERT INTO exchanges_fts (exchanges_fts) VALUES ('rebuild');
";

/// From version 2 to 3: the run of `qstream map` an item was sent by (NULL for a single
/// request).
const V2_TO_V3: &str = "
ALTER TABLE exchanges ADD COLUMN run_id TEXT;
CREATE INDEX exchanges_run ON exchanges (run_id) WHERE run_id IS NOT NULL;
";

/// From version 3 to 4. `IF NOT EXISTS`: the step is harmless to repeat, so a database made by
/// a development build that numbered its steps differently still opens.
const V3_TO_V4: &str = "
CREATE TABLE IF NOT EXISTS batches (
    id            TEXT PRIMARY KEY,
    created_at    INTEGER NOT NULL,
    input         TEXT NOT NULL,
    input_file_id TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    region        TEXT,
    model         TEXT NOT NULL,
    endpoint      TEXT NOT NULL,
    window        TEXT NOT NULL,
    requests      INTEGER NOT NULL,
    test          INTEGER NOT NULL DEFAULT 0,
    ids           TEXT NOT NULL,
    status        TEXT,
    updated_at    INTEGER
);
CREATE INDEX IF NOT EXISTS batches_created ON batches (created_at);
";

/// From version 4 to 5: the messages of a turn whose JSON text is longer than
/// [`super::parts::PARTS_OVER`] bytes, in order, in parts of about a MiB (each whole UTF-8).
/// Such a row's `messages` holds `{"parts": N, "bytes": B}` instead (an object, where every
/// other row holds an array); `exchanges_messages` gives every row's messages as one text.
/// A rowid table, not `WITHOUT ROWID`: SQLite's advice is that those suit small rows only.
/// The trigger removes a row's parts with the row, whoever deletes it. The view orders the
/// parts in a subquery rather than with `group_concat(… ORDER BY …)`, which SQLite before 3.44
/// cannot parse: an older `sqlite3` shell would find the whole schema malformed. `IF NOT
/// EXISTS`, as in the step before.
const V4_TO_V5: &str = "
CREATE TABLE IF NOT EXISTS message_parts (
    exchange_id TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    text        TEXT NOT NULL,
    PRIMARY KEY (exchange_id, seq)
);
CREATE TRIGGER IF NOT EXISTS exchanges_parts_delete AFTER DELETE ON exchanges BEGIN
    DELETE FROM message_parts WHERE exchange_id = old.id;
END;
CREATE VIEW IF NOT EXISTS exchanges_messages (id, messages) AS
    SELECT e.id, coalesce(
        (SELECT group_concat(text, '') FROM
            (SELECT p.text FROM message_parts p WHERE p.exchange_id = e.id ORDER BY p.seq)),
        e.messages)
    FROM exchanges e;
";

/// Each step: the SQL that takes version `i + 1` to `i + 2`.
const STEPS: [&str; 4] = [V1_TO_V2, V2_TO_V3, V3_TO_V4, V4_TO_V5];

/// Bring the database to [`CURRENT`]: create it when empty, else run the missing steps.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == CURRENT {
        return Ok(());
    }
    if version > CURRENT {
        return Err(StoreError(format!(
            "the database is at schema version {version}, newer than this qstream's {CURRENT}"
        )));
    }
    // IMMEDIATE: take the write lock first, so two processes don't both create the schema.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == 0 {
        tx.execute_batch(V1)?;
        run_steps(&tx, 1)?;
    } else if version < CURRENT {
        run_steps(&tx, version)?;
    }
    tx.commit()?;
    Ok(())
}

fn run_steps(tx: &Transaction<'_>, from: i64) -> rusqlite::Result<()> {
    for (i, step) in STEPS.iter().enumerate() {
        let target = i as i64 + 2;
        if target > from {
            tx.execute_batch(step)?;
        }
    }
    tx.execute_batch(&format!("PRAGMA user_version = {CURRENT}"))
}
