//! The SQLite schema: versioned migrations kept in code.
//!
//! `schema_version` holds one row with the number of migrations applied.
//! Migration `n` (1-based) is `MIGRATIONS[n - 1]`; a database whose version is
//! higher than `MIGRATIONS.len()` was written by a newer Baton and is refused.
//! Migrations are append-only: never edit one that has shipped.

use rusqlite::{OptionalExtension, TransactionBehavior};

use crate::{Error, ErrorKind, Result};

/// `PRAGMA application_id` of a Baton database ("BATN").
pub(crate) const APPLICATION_ID: i64 = 0x4241_544E;

/// Every migration, in order.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('execution_id', 1);

CREATE TABLE state_machines (
    arn          TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    machine_type TEXT NOT NULL CHECK (machine_type IN ('STANDARD', 'EXPRESS')),
    status       TEXT NOT NULL,
    creation_ms  INTEGER NOT NULL,
    revision     INTEGER NOT NULL
);

CREATE TABLE state_machine_revisions (
    arn         TEXT NOT NULL REFERENCES state_machines (arn) ON DELETE CASCADE,
    revision    INTEGER NOT NULL,
    definition  TEXT NOT NULL,
    role_arn    TEXT NOT NULL,
    config      TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    update_ms   INTEGER NOT NULL,
    PRIMARY KEY (arn, revision)
);

CREATE TABLE activities (
    arn         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    creation_ms INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE tags (
    arn   TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
) WITHOUT ROWID;

-- The hot row: rewritten by every transition. The input lives in
-- execution_inputs so a large input is not rewritten with it.
CREATE TABLE executions (
    id                INTEGER PRIMARY KEY,
    arn               TEXT NOT NULL UNIQUE,
    state_machine_arn TEXT NOT NULL,
    revision          INTEGER NOT NULL,
    name              TEXT NOT NULL,
    status            TEXT NOT NULL,
    start_ms          INTEGER NOT NULL,
    stop_ms           INTEGER,
    output            TEXT,
    error             TEXT,
    cause             TEXT,
    trace_header      TEXT,
    redrive_count     INTEGER NOT NULL,
    redrive_ms        INTEGER,
    state             BLOB NOT NULL,
    version           INTEGER NOT NULL
);
-- ListExecutions: newest first, with and without a status filter.
CREATE INDEX executions_by_machine
    ON executions (state_machine_arn, start_ms DESC, id DESC);
CREATE INDEX executions_by_machine_status
    ON executions (state_machine_arn, status, start_ms DESC, id DESC);
-- Recovery: the RUNNING executions.
CREATE INDEX executions_running ON executions (id) WHERE status = 'RUNNING';

CREATE TABLE execution_inputs (
    id    INTEGER PRIMARY KEY,
    input TEXT NOT NULL
);

CREATE TABLE history_events (
    execution_id      INTEGER NOT NULL,
    id                INTEGER NOT NULL,
    previous_event_id INTEGER NOT NULL,
    timestamp_ms      INTEGER NOT NULL,
    event_type        TEXT NOT NULL,
    details           TEXT NOT NULL,
    PRIMARY KEY (execution_id, id)
);

CREATE TABLE timers (
    execution_id INTEGER NOT NULL,
    timer_id     INTEGER NOT NULL,
    due_ms       INTEGER NOT NULL,
    PRIMARY KEY (execution_id, timer_id)
) WITHOUT ROWID;
CREATE INDEX timers_by_due ON timers (due_ms, execution_id, timer_id);

CREATE TABLE outbox (
    execution_id INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    command      TEXT NOT NULL,
    PRIMARY KEY (execution_id, seq)
);
"#,
    // 2: services' control-plane records.
    r#"
CREATE TABLE resources (
    kind  TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
"#,
    // 3: SQS-compatible queues and their messages.
    r#"
CREATE TABLE sqs_queues (
    id    INTEGER PRIMARY KEY,
    key   TEXT NOT NULL UNIQUE,
    value TEXT NOT NULL
);

CREATE TABLE sqs_messages (
    seq              INTEGER PRIMARY KEY,
    queue_id         INTEGER NOT NULL,
    message_id       TEXT NOT NULL,
    body             TEXT NOT NULL,
    meta             TEXT NOT NULL,
    sent_ms          INTEGER NOT NULL,
    visible_ms       INTEGER NOT NULL,
    receive_count    INTEGER NOT NULL,
    first_receive_ms INTEGER
);
-- Purge, queue deletion and claims: a queue's messages in send order.
CREATE INDEX sqs_messages_by_queue ON sqs_messages (queue_id, seq);
"#,
    // 4: partition leases.
    r#"
CREATE TABLE leases (
    partition  INTEGER PRIMARY KEY,
    owner      TEXT NOT NULL,
    epoch      INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
"#,
];

/// Brings the database up to the newest schema (one transaction).
pub(crate) fn migrate(conn: &mut rusqlite::Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let app_id: i64 = tx.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if app_id != 0 && app_id != APPLICATION_ID {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!("not a Baton database (application_id {app_id:#x})"),
        ));
    }
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let stored: Option<i64> = tx
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .optional()?;
    if stored.is_none() && app_id == 0 {
        let objects: i64 = tx.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name <> 'schema_version'",
            [],
            |r| r.get(0),
        )?;
        if objects > 0 {
            return Err(Error::new(
                ErrorKind::Corrupt,
                "not a Baton database (it holds other tables)",
            ));
        }
    }
    let current = stored.unwrap_or(0);
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if current > known {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!(
                "the database has schema version {current}; this Baton knows up to {known} (it was written by a newer Baton)"
            ),
        ));
    }
    if current < 0 {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!("bad schema version {current}"),
        ));
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        tx.execute_batch(sql)?;
        let version = i64::try_from(i + 1).unwrap_or(i64::MAX);
        if stored.is_none() && i == 0 {
            tx.execute(
                "INSERT INTO schema_version (version) VALUES (?1)",
                [version],
            )?;
        } else {
            tx.execute("UPDATE schema_version SET version = ?1", [version])?;
        }
    }
    if app_id == 0 {
        tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}"))?;
    }
    tx.commit()?;
    Ok(())
}
