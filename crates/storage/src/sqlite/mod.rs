//! The SQLite backend (the default): one file, WAL mode.
//!
//! One writer connection behind a mutex takes every write (each one
//! `BEGIN IMMEDIATE` transaction); a small pool of read connections serves
//! reads concurrently (WAL readers never block the writer).
//!
//! Durability: `synchronous=FULL` by default, so a commit that returned `Ok`
//! survives power loss (with WAL, `NORMAL` only survives process crashes).
//! After an I/O error or corruption on the write path the store fails stop:
//! every later write returns `Unavailable` until the process reopens the file
//! (retrying an fsync after a failure may falsely succeed).

mod leases;
mod queues;
mod resources;
mod schema;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Row, Transaction, TransactionBehavior, params,
};

use crate::{
    ActivityRecord, Error, ErrorKind, EventRecord, ExecutionQuery, ExecutionRecord, ExecutionWrite,
    MachineType, OutboxRecord, Result, RevisionContent, StateMachineRecord, Store, Tag,
    TimerRecord, TransitionWrite,
};

/// The schema version this build writes (the number of migrations).
pub const SCHEMA_VERSION: usize = schema::MIGRATIONS.len();

/// `PRAGMA synchronous` for the store's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// fsync the WAL at every commit: acknowledged commits survive power
    /// loss. The default.
    Full,
    /// fsync only at checkpoints: survives process crashes, but the last
    /// commits may be lost on power loss. For benchmarks and throwaway data.
    Normal,
    /// Never fsync. For tests only.
    Off,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
            Synchronous::Off => "OFF",
        }
    }
}

/// Options for [`SqliteStore::open_with`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub synchronous: Synchronous,
    /// Idle read connections kept open (more are opened on demand and closed
    /// after use).
    pub read_connections: usize,
    /// How long a statement waits for a lock held by another process.
    pub busy_timeout: Duration,
    /// WAL size (pages) after which a commit checkpoints.
    pub wal_autocheckpoint: u32,
    /// Page cache of the writer connection, in KiB.
    pub writer_cache_kib: u32,
    /// Database page size in bytes (a power of two, 512..=65536); applies
    /// only when the file is created.
    pub page_size: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Full,
            read_connections: 32,
            busy_timeout: Duration::from_secs(5),
            wal_autocheckpoint: 4000,
            writer_cache_kib: 16 * 1024,
            page_size: 4096,
        }
    }
}

/// A store in one SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    options: SqliteOptions,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Set after an I/O error or corruption on the write path.
    failed: AtomicBool,
    secret: OnceLock<[u8; 32]>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Columns of `executions e` in the order [`execution_row`] reads them
/// (without input and state).
const EXECUTION_COLUMNS: &str = "e.id, e.arn, e.state_machine_arn, e.revision, e.name, e.status, \
     e.start_ms, e.stop_ms, e.output, e.error, e.cause, e.trace_header, e.redrive_count, \
     e.redrive_ms, e.version";

const STATE_MACHINE_COLUMNS: &str = "s.arn, s.name, s.machine_type, s.status, s.creation_ms, \
     s.revision, r.definition, r.role_arn, r.config, r.revision_id, r.update_ms";

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` with the default
    /// options (`synchronous=FULL`).
    pub fn open(path: &Path) -> Result<SqliteStore> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens (creating if needed) the database at `path`.
    pub fn open_with(path: &Path, options: SqliteOptions) -> Result<SqliteStore> {
        let mut writer = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        writer.busy_timeout(options.busy_timeout)?;
        if !options.page_size.is_power_of_two() || !(512..=65536).contains(&options.page_size) {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("bad page size {}", options.page_size),
            ));
        }
        // Takes effect only on a new (empty) file, before WAL mode is set.
        writer.execute_batch(&format!("PRAGMA page_size = {}", options.page_size))?;
        let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "cannot switch {} to WAL mode (journal_mode is {mode})",
                    path.display()
                ),
            ));
        }
        writer.execute_batch(&format!(
            "PRAGMA synchronous = {sync};
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -{cache};
             PRAGMA wal_autocheckpoint = {ckpt};
             PRAGMA journal_size_limit = {limit};",
            sync = options.synchronous.pragma(),
            cache = options.writer_cache_kib,
            ckpt = options.wal_autocheckpoint,
            // Keep the WAL file for reuse (overwriting is cheaper than
            // appending) but bound it.
            limit = 64 * 1024 * 1024,
        ))?;
        writer.set_prepared_statement_cache_capacity(64);
        schema::migrate(&mut writer)?;
        let store = SqliteStore {
            path: path.to_path_buf(),
            options,
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            failed: AtomicBool::new(false),
            secret: OnceLock::new(),
        };
        // Open one reader now so a misconfigured path fails at open.
        let reader = store.open_reader()?;
        store.put_reader(reader);
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `PRAGMA integrity_check` and returns its findings (empty when the
    /// file is sound).
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let mut st = c.prepare("PRAGMA integrity_check")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for row in rows {
                let row = row?;
                if row != "ok" {
                    out.push(row);
                }
            }
            Ok(out)
        })
    }

    /// Checkpoints the WAL into the database file and truncates it.
    pub fn checkpoint(&self) -> Result<()> {
        let conn = self.lock_writer()?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(|e| self.note(e.into()))
    }

    fn open_reader(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(self.options.busy_timeout)?;
        conn.execute_batch(&format!(
            "PRAGMA query_only = ON;
             PRAGMA synchronous = {};
             PRAGMA temp_store = MEMORY;
             PRAGMA cache_size = -16384;",
            self.options.synchronous.pragma()
        ))?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }

    fn take_reader(&self) -> Result<Connection> {
        let pooled = lock(&self.readers).pop();
        match pooled {
            Some(c) => Ok(c),
            None => self.open_reader(),
        }
    }

    fn put_reader(&self, conn: Connection) {
        let mut pool = lock(&self.readers);
        if pool.len() < self.options.read_connections.max(1) {
            pool.push(conn);
        }
    }

    /// Runs `f` on a read connection (one statement is one consistent
    /// snapshot; several statements run in one read transaction).
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.take_reader()?;
        let out = f(&conn);
        if out.is_ok() {
            self.put_reader(conn);
        }
        out
    }

    fn lock_writer(&self) -> Result<MutexGuard<'_, Connection>> {
        let guard = lock(&self.writer);
        if self.failed.load(Ordering::Acquire) {
            return Err(Error::new(
                ErrorKind::Unavailable,
                "the store stopped after an I/O error or corruption; restart to recover from disk",
            ));
        }
        Ok(guard)
    }

    /// Records a fatal error (fail-stop) and passes it on.
    fn note(&self, e: Error) -> Error {
        if e.kind == ErrorKind::Corrupt || e.message.starts_with(FATAL_PREFIX) {
            self.failed.store(true, Ordering::Release);
        }
        e
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer; commits
    /// if it returns `Ok`, rolls back otherwise.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock_writer()?;
        let run = |conn: &mut Connection| -> Result<T> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        run(&mut conn).map_err(|e| self.note(e))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock dropped (rolled back) any open
    // transaction, so the connection is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Message prefix of errors after which the writer must stop.
const FATAL_PREFIX: &str = "I/O error: ";

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match &e {
            rusqlite::Error::SqliteFailure(f, _) => {
                let kind = match f.code {
                    C::DatabaseBusy | C::DatabaseLocked => ErrorKind::Busy,
                    C::ConstraintViolation => ErrorKind::Conflict,
                    C::DatabaseCorrupt | C::NotADatabase => ErrorKind::Corrupt,
                    _ => ErrorKind::Unavailable,
                };
                let fatal = matches!(f.code, C::SystemIoFailure);
                let message = if fatal {
                    format!("{FATAL_PREFIX}{e}")
                } else {
                    e.to_string()
                };
                Error::new(kind, message)
            }
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::Utf8Error(..) => Error::new(ErrorKind::Corrupt, e.to_string()),
            _ => Error::new(ErrorKind::Unavailable, e.to_string()),
        }
    }
}

/// A u64 as SQLite's i64.
fn sql_int(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| {
        Error::new(
            ErrorKind::Conflict,
            format!("{what} {v} is too large to store"),
        )
    })
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn get_u64(row: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    let v: i64 = row.get(idx)?;
    u64::try_from(v).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(idx, v))
}

fn get_u32(row: &Row<'_>, idx: usize) -> rusqlite::Result<u32> {
    let v: i64 = row.get(idx)?;
    u32::try_from(v).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(idx, v))
}

fn machine_type(s: &str) -> Option<MachineType> {
    match s {
        "STANDARD" => Some(MachineType::Standard),
        "EXPRESS" => Some(MachineType::Express),
        _ => None,
    }
}

/// Reads [`EXECUTION_COLUMNS`] (then, with `full`, input and state).
fn execution_row(row: &Row<'_>, full: bool) -> rusqlite::Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        id: get_u64(row, 0)?,
        arn: row.get(1)?,
        state_machine_arn: row.get(2)?,
        revision: get_u64(row, 3)?,
        name: row.get(4)?,
        status: row.get(5)?,
        start_ms: row.get(6)?,
        stop_ms: row.get(7)?,
        output: row.get(8)?,
        error: row.get(9)?,
        cause: row.get(10)?,
        trace_header: row.get(11)?,
        redrive_count: get_u32(row, 12)?,
        redrive_ms: row.get(13)?,
        version: get_u64(row, 14)?,
        input: if full { row.get(15)? } else { String::new() },
        state: if full { row.get(16)? } else { Vec::new() },
    })
}

fn state_machine_row(row: &Row<'_>) -> rusqlite::Result<StateMachineRecord> {
    let kind: String = row.get(2)?;
    let machine_type = machine_type(&kind).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown state machine type {kind:?}").into(),
        )
    })?;
    Ok(StateMachineRecord {
        arn: row.get(0)?,
        name: row.get(1)?,
        machine_type,
        status: row.get(3)?,
        creation_ms: row.get(4)?,
        revision: get_u64(row, 5)?,
        content: RevisionContent {
            definition: row.get(6)?,
            role_arn: row.get(7)?,
            config: row.get(8)?,
            revision_id: row.get(9)?,
            update_ms: row.get(10)?,
        },
    })
}

fn event_row(row: &Row<'_>) -> rusqlite::Result<EventRecord> {
    Ok(EventRecord {
        id: get_u64(row, 0)?,
        previous_event_id: get_u64(row, 1)?,
        timestamp_ms: row.get(2)?,
        event_type: row.get(3)?,
        details: row.get(4)?,
    })
}

fn insert_tags(tx: &Transaction<'_>, arn: &str, tags: &[Tag]) -> Result<()> {
    execute_each(
        tx,
        "INSERT INTO tags (arn, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value",
        tags,
        |t| Ok((arn, &t.key, &t.value)),
    )
}

fn insert_revision(
    tx: &Transaction<'_>,
    arn: &str,
    revision: u64,
    c: &RevisionContent,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO state_machine_revisions
             (arn, revision, definition, role_arn, config, revision_id, update_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        arn,
        sql_int(revision, "revision")?,
        c.definition,
        c.role_arn,
        c.config,
        c.revision_id,
        c.update_ms
    ])?;
    Ok(())
}

/// Applies one transition inside the commit transaction.
pub(super) fn apply(tx: &Transaction<'_>, t: &TransitionWrite) -> Result<()> {
    let exec_id = match &t.execution {
        ExecutionWrite::Insert(e) => {
            let id = sql_int(e.id, "execution id")?;
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO executions
                         (id, arn, state_machine_arn, revision, name, status, start_ms, stop_ms,
                          output, error, cause, trace_header, redrive_count, redrive_ms, state,
                          version)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                )?
                .execute(params![
                    id,
                    e.arn,
                    e.state_machine_arn,
                    sql_int(e.revision, "revision")?,
                    e.name,
                    e.status,
                    e.start_ms,
                    e.stop_ms,
                    e.output,
                    e.error,
                    e.cause,
                    e.trace_header,
                    e.redrive_count,
                    e.redrive_ms,
                    e.state,
                    sql_int(e.version, "version")?,
                ]);
            match inserted {
                Ok(_) => {}
                Err(err) => {
                    let err = Error::from(err);
                    if err.kind == ErrorKind::Conflict {
                        return Err(Error::new(
                            ErrorKind::Conflict,
                            format!("execution {} (id {}) already exists", e.arn, e.id),
                        ));
                    }
                    return Err(err);
                }
            }
            tx.prepare_cached("INSERT INTO execution_inputs (id, input) VALUES (?1, ?2)")?
                .execute(params![id, e.input])?;
            id
        }
        ExecutionWrite::Update(e) => {
            let id = sql_int(e.id, "execution id")?;
            let version = sql_int(e.version, "version")?;
            let Some(read_version) = version.checked_sub(1).filter(|v| *v >= 0) else {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("execution {}: an update must carry version >= 1", e.arn),
                ));
            };
            let revision = sql_int(e.revision, "revision")?;
            // Both statements take these parameters.
            let update = params![
                id,
                revision,
                e.stop_ms,
                e.output,
                e.error,
                e.cause,
                e.trace_header,
                e.redrive_count,
                e.redrive_ms,
                e.state,
                version,
                read_version,
                e.status,
            ];
            // The hot path: the status is unchanged, so no index is touched.
            let changed = tx
                .prepare_cached(
                    "UPDATE executions SET revision = ?2, stop_ms = ?3, output = ?4, error = ?5,
                         cause = ?6, trace_header = ?7, redrive_count = ?8, redrive_ms = ?9,
                         state = ?10, version = ?11
                     WHERE id = ?1 AND version = ?12 AND status = ?13",
                )?
                .execute(update)?;
            let changed = if changed == 1 {
                changed
            } else {
                tx.prepare_cached(
                    "UPDATE executions SET revision = ?2, stop_ms = ?3, output = ?4, error = ?5,
                         cause = ?6, trace_header = ?7, redrive_count = ?8, redrive_ms = ?9,
                         state = ?10, version = ?11, status = ?13
                     WHERE id = ?1 AND version = ?12",
                )?
                .execute(update)?
            };
            if changed != 1 {
                let stored: Option<i64> = tx
                    .prepare_cached("SELECT version FROM executions WHERE id = ?1")?
                    .query_row([id], |r| r.get(0))
                    .optional()?;
                let message = match stored {
                    Some(v) => format!(
                        "execution {} (id {}): stored version {v}, the update expects {read_version}",
                        e.arn, e.id
                    ),
                    None => format!("execution {} (id {}) does not exist", e.arn, e.id),
                };
                return Err(Error::new(ErrorKind::Conflict, message));
            }
            id
        }
    };
    execute_each(
        tx,
        "INSERT INTO history_events
             (execution_id, id, previous_event_id, timestamp_ms, event_type, details)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &t.events,
        |ev| {
            Ok((
                exec_id,
                sql_int(ev.id, "event id")?,
                sql_int(ev.previous_event_id, "previous event id")?,
                ev.timestamp_ms,
                &ev.event_type,
                &ev.details,
            ))
        },
    )?;
    execute_each(
        tx,
        "DELETE FROM timers WHERE execution_id = ?1 AND timer_id = ?2",
        &t.timers_removed,
        |timer| Ok((exec_id, sql_int(*timer, "timer id")?)),
    )?;
    execute_each(
        tx,
        "INSERT INTO timers (execution_id, timer_id, due_ms) VALUES (?1, ?2, ?3)",
        &t.timers_added,
        |timer| {
            Ok((
                sql_int(timer.execution_id, "execution id")?,
                sql_int(timer.timer_id, "timer id")?,
                timer.due_ms,
            ))
        },
    )?;
    execute_each(
        tx,
        "DELETE FROM outbox WHERE execution_id = ?1 AND seq = ?2",
        &t.outbox_removed,
        |seq| Ok((exec_id, sql_int(*seq, "outbox seq")?)),
    )?;
    execute_each(
        tx,
        "INSERT INTO outbox (execution_id, seq, command) VALUES (?1, ?2, ?3)",
        &t.outbox_added,
        |o| {
            Ok((
                sql_int(o.execution_id, "execution id")?,
                sql_int(o.seq, "outbox seq")?,
                &o.command,
            ))
        },
    )
}

/// Runs the statement `sql` once for each of `items`, with the parameters
/// `params_of` gives it; prepares it only when there are items.
fn execute_each<'a, T, P: rusqlite::Params>(
    tx: &Transaction<'_>,
    sql: &str,
    items: &'a [T],
    mut params_of: impl FnMut(&'a T) -> Result<P>,
) -> Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut st = tx.prepare_cached(sql)?;
    for item in items {
        st.execute(params_of(item)?)?;
    }
    Ok(())
}

fn read_secret() -> Result<[u8; 32]> {
    let mut buf = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("cannot read /dev/urandom: {e}"),
            )
        })?;
    Ok(buf)
}

impl Store for SqliteStore {
    fn allocate_ids(&self, n: u64) -> Result<u64> {
        let n = sql_int(n, "id count")?;
        self.write(|tx| {
            let next: i64 = tx
                .prepare_cached(
                    "UPDATE counters SET value = value + ?1 WHERE name = 'execution_id' RETURNING value",
                )?
                .query_row([n], |r| r.get(0))?;
            let first = next - n;
            u64::try_from(first).map_err(|_| Error::new(ErrorKind::Corrupt, format!("bad id counter {next}")))
        })
    }

    fn secret(&self) -> Result<[u8; 32]> {
        if let Some(s) = self.secret.get() {
            return Ok(*s);
        }
        let secret = self.write(|tx| {
            let stored: Option<Vec<u8>> = tx
                .query_row("SELECT value FROM meta WHERE key = 'secret'", [], |r| {
                    r.get(0)
                })
                .optional()?;
            match stored {
                Some(v) => <[u8; 32]>::try_from(v.as_slice()).map_err(|_| {
                    Error::new(
                        ErrorKind::Corrupt,
                        format!("the stored secret has {} bytes", v.len()),
                    )
                }),
                None => {
                    let fresh = read_secret()?;
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ('secret', ?1)",
                        [&fresh[..]],
                    )?;
                    Ok(fresh)
                }
            }
        })?;
        Ok(*self.secret.get_or_init(|| secret))
    }

    fn create_state_machine(&self, sm: &StateMachineRecord, tags: &[Tag]) -> Result<()> {
        self.write(|tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO state_machines (arn, name, machine_type, status, creation_ms, revision)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (arn) DO NOTHING",
                )?
                .execute(params![
                    sm.arn,
                    sm.name,
                    sm.machine_type.as_str(),
                    sm.status,
                    sm.creation_ms,
                    sql_int(sm.revision, "revision")?
                ])?;
            if inserted == 0 {
                return Err(Error::new(ErrorKind::Conflict, format!("state machine {} exists", sm.arn)));
            }
            insert_revision(tx, &sm.arn, sm.revision, &sm.content)?;
            insert_tags(tx, &sm.arn, tags)
        })
    }

    fn update_state_machine(
        &self,
        arn: &str,
        revision: u64,
        content: &RevisionContent,
    ) -> Result<()> {
        let rev = sql_int(revision, "revision")?;
        self.write(|tx| {
            let changed = tx
                .prepare_cached(
                    "UPDATE state_machines SET revision = ?2 WHERE arn = ?1 AND revision = ?2 - 1",
                )?
                .execute(params![arn, rev])?;
            if changed != 1 {
                let current: Option<i64> = tx
                    .prepare_cached("SELECT revision FROM state_machines WHERE arn = ?1")?
                    .query_row([arn], |r| r.get(0))
                    .optional()?;
                let message = match current {
                    Some(c) => format!("state machine {arn} is at revision {c}, not {}", rev - 1),
                    None => format!("state machine {arn} does not exist"),
                };
                return Err(Error::new(ErrorKind::Conflict, message));
            }
            insert_revision(tx, arn, revision, content)
        })
    }

    fn set_state_machine_status(&self, arn: &str, status: &str) -> Result<()> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE state_machines SET status = ?2 WHERE arn = ?1")?
                .execute(params![arn, status])?;
            Ok(())
        })
    }

    fn delete_state_machine(&self, arn: &str) -> Result<bool> {
        self.write(|tx| {
            // Revisions go by ON DELETE CASCADE.
            let n = tx
                .prepare_cached("DELETE FROM state_machines WHERE arn = ?1")?
                .execute([arn])?;
            tx.prepare_cached("DELETE FROM tags WHERE arn = ?1")?
                .execute([arn])?;
            Ok(n > 0)
        })
    }

    fn get_state_machine(&self, arn: &str) -> Result<Option<StateMachineRecord>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {STATE_MACHINE_COLUMNS} FROM state_machines s
                 JOIN state_machine_revisions r ON r.arn = s.arn AND r.revision = s.revision
                 WHERE s.arn = ?1"
            );
            Ok(c.prepare_cached(&sql)?
                .query_row([arn], state_machine_row)
                .optional()?)
        })
    }

    fn get_revision(&self, arn: &str, revision: u64) -> Result<Option<RevisionContent>> {
        let Ok(rev) = i64::try_from(revision) else {
            return Ok(None);
        };
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT definition, role_arn, config, revision_id, update_ms
                 FROM state_machine_revisions WHERE arn = ?1 AND revision = ?2",
            )?
            .query_row(params![arn, rev], |r| {
                Ok(RevisionContent {
                    definition: r.get(0)?,
                    role_arn: r.get(1)?,
                    config: r.get(2)?,
                    revision_id: r.get(3)?,
                    update_ms: r.get(4)?,
                })
            })
            .optional()?)
        })
    }

    fn list_state_machines(
        &self,
        after_arn: Option<&str>,
        limit: usize,
    ) -> Result<Vec<StateMachineRecord>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {STATE_MACHINE_COLUMNS} FROM state_machines s
                 JOIN state_machine_revisions r ON r.arn = s.arn AND r.revision = s.revision
                 WHERE ?1 IS NULL OR s.arn > ?1
                 ORDER BY s.arn LIMIT ?2"
            );
            let mut st = c.prepare_cached(&sql)?;
            let rows = st.query_map(params![after_arn, sql_limit(limit)], state_machine_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn create_activity(&self, activity: &ActivityRecord, tags: &[Tag]) -> Result<()> {
        self.write(|tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO activities (arn, name, creation_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (arn) DO NOTHING",
                )?
                .execute(params![activity.arn, activity.name, activity.creation_ms])?;
            if inserted == 0 {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("activity {} exists", activity.arn),
                ));
            }
            insert_tags(tx, &activity.arn, tags)
        })
    }

    fn get_activity(&self, arn: &str) -> Result<Option<ActivityRecord>> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT arn, name, creation_ms FROM activities WHERE arn = ?1")?
                    .query_row([arn], |r| {
                        Ok(ActivityRecord {
                            arn: r.get(0)?,
                            name: r.get(1)?,
                            creation_ms: r.get(2)?,
                        })
                    })
                    .optional()?,
            )
        })
    }

    fn delete_activity(&self, arn: &str) -> Result<bool> {
        self.write(|tx| {
            let n = tx
                .prepare_cached("DELETE FROM activities WHERE arn = ?1")?
                .execute([arn])?;
            tx.prepare_cached("DELETE FROM tags WHERE arn = ?1")?
                .execute([arn])?;
            Ok(n > 0)
        })
    }

    fn list_activities(
        &self,
        after_arn: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ActivityRecord>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT arn, name, creation_ms FROM activities
                 WHERE ?1 IS NULL OR arn > ?1 ORDER BY arn LIMIT ?2",
            )?;
            let rows = st.query_map(params![after_arn, sql_limit(limit)], |r| {
                Ok(ActivityRecord {
                    arn: r.get(0)?,
                    name: r.get(1)?,
                    creation_ms: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn tag(&self, arn: &str, tags: &[Tag]) -> Result<()> {
        self.write(|tx| insert_tags(tx, arn, tags))
    }

    fn untag(&self, arn: &str, keys: &[String]) -> Result<()> {
        self.write(|tx| {
            let mut st = tx.prepare_cached("DELETE FROM tags WHERE arn = ?1 AND key = ?2")?;
            for k in keys {
                st.execute(params![arn, k])?;
            }
            Ok(())
        })
    }

    fn tags(&self, arn: &str) -> Result<Vec<Tag>> {
        self.read(|c| {
            let mut st =
                c.prepare_cached("SELECT key, value FROM tags WHERE arn = ?1 ORDER BY key")?;
            let rows = st.query_map([arn], |r| {
                Ok(Tag {
                    key: r.get(0)?,
                    value: r.get(1)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn commit(&self, batch: &[TransitionWrite]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.write(|tx| {
            for t in batch {
                apply(tx, t)?;
            }
            Ok(())
        })
    }

    fn get_execution(&self, arn: &str) -> Result<Option<ExecutionRecord>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {EXECUTION_COLUMNS}, i.input, e.state FROM executions e
                 JOIN execution_inputs i ON i.id = e.id WHERE e.arn = ?1"
            );
            Ok(c.prepare_cached(&sql)?
                .query_row([arn], |r| execution_row(r, true))
                .optional()?)
        })
    }

    fn get_execution_by_id(&self, id: u64) -> Result<Option<ExecutionRecord>> {
        let Ok(id) = i64::try_from(id) else {
            return Ok(None);
        };
        self.read(|c| {
            let sql = format!(
                "SELECT {EXECUTION_COLUMNS}, i.input, e.state FROM executions e
                 JOIN execution_inputs i ON i.id = e.id WHERE e.id = ?1"
            );
            Ok(c.prepare_cached(&sql)?
                .query_row([id], |r| execution_row(r, true))
                .optional()?)
        })
    }

    fn list_executions(&self, q: &ExecutionQuery) -> Result<Vec<ExecutionRecord>> {
        let after = match q.after_id {
            Some(a) => match i64::try_from(a) {
                Ok(a) => Some(a),
                Err(_) => return Ok(Vec::new()),
            },
            None => None,
        };
        let mut sql =
            format!("SELECT {EXECUTION_COLUMNS} FROM executions e WHERE e.state_machine_arn = ?1");
        if q.status.is_some() {
            sql.push_str(" AND e.status = ?2");
        }
        match q.redriven {
            Some(true) => sql.push_str(" AND e.redrive_count > 0"),
            Some(false) => sql.push_str(" AND e.redrive_count = 0"),
            None => {}
        }
        if after.is_some() {
            sql.push_str(" AND (e.start_ms, e.id) < (SELECT a.start_ms, a.id FROM executions a WHERE a.id = ?3)");
        }
        sql.push_str(" ORDER BY e.start_ms DESC, e.id DESC LIMIT ?4");
        self.read(|c| {
            let mut st = c.prepare_cached(&sql)?;
            // Unused parameters are left unbound (NULL).
            st.raw_bind_parameter(1, &q.state_machine_arn)?;
            if let Some(s) = &q.status {
                st.raw_bind_parameter(2, s)?;
            }
            if let Some(a) = after {
                st.raw_bind_parameter(3, a)?;
            }
            st.raw_bind_parameter(4, sql_limit(q.limit))?;
            let mut rows = st.raw_query();
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(execution_row(row, false)?);
            }
            Ok(out)
        })
    }

    fn history(
        &self,
        execution_id: u64,
        after_id: u64,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<EventRecord>> {
        let Ok(exec) = i64::try_from(execution_id) else {
            return Ok(Vec::new());
        };
        let after = i64::try_from(after_id).unwrap_or(i64::MAX);
        self.read(|c| {
            let (sql, bound) = if reverse {
                (
                    "SELECT id, previous_event_id, timestamp_ms, event_type, details FROM history_events
                     WHERE execution_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
                    if after_id == 0 { i64::MAX } else { after },
                )
            } else {
                (
                    "SELECT id, previous_event_id, timestamp_ms, event_type, details FROM history_events
                     WHERE execution_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                    after,
                )
            };
            let mut st = c.prepare_cached(sql)?;
            let rows = st.query_map(params![exec, bound, sql_limit(limit)], event_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn running_executions(&self, after_id: u64, limit: usize) -> Result<Vec<ExecutionRecord>> {
        let Ok(after) = i64::try_from(after_id) else {
            return Ok(Vec::new());
        };
        self.read(|c| {
            let sql = format!(
                "SELECT {EXECUTION_COLUMNS}, i.input, e.state FROM executions e
                 JOIN execution_inputs i ON i.id = e.id
                 WHERE e.status = 'RUNNING' AND e.id > ?1 ORDER BY e.id LIMIT ?2"
            );
            let mut st = c.prepare_cached(&sql)?;
            let rows =
                st.query_map(params![after, sql_limit(limit)], |r| execution_row(r, true))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn execution_counts(&self) -> Result<Vec<(String, u64)>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT status, COUNT(*) FROM executions GROUP BY status ORDER BY status",
            )?;
            let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, get_u64(r, 1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn due_timers(&self, before_ms: i64, limit: usize) -> Result<Vec<TimerRecord>> {
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT execution_id, timer_id, due_ms FROM timers WHERE due_ms <= ?1
                 ORDER BY due_ms, execution_id, timer_id LIMIT ?2",
            )?;
            let rows = st.query_map(params![before_ms, sql_limit(limit)], |r| {
                Ok(TimerRecord {
                    execution_id: get_u64(r, 0)?,
                    timer_id: get_u64(r, 1)?,
                    due_ms: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn outbox(&self, after: Option<(u64, u64)>, limit: usize) -> Result<Vec<OutboxRecord>> {
        let (exec, seq) = match after {
            None => (-1, -1),
            Some((e, s)) => match (i64::try_from(e), i64::try_from(s)) {
                (Ok(e), Ok(s)) => (e, s),
                (Ok(e), Err(_)) => (e, i64::MAX),
                (Err(_), _) => return Ok(Vec::new()),
            },
        };
        self.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT execution_id, seq, command FROM outbox WHERE (execution_id, seq) > (?1, ?2)
                 ORDER BY execution_id, seq LIMIT ?3",
            )?;
            let rows = st.query_map(params![exec, seq, sql_limit(limit)], |r| {
                Ok(OutboxRecord {
                    execution_id: get_u64(r, 0)?,
                    seq: get_u64(r, 1)?,
                    command: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_store(tag: &str) -> (SqliteStore, PathBuf) {
        let path = std::env::temp_dir().join(format!(
            "baton-storage-unit-{tag}-{}-{:?}.db",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
        ));
        let store = SqliteStore::open(&path).expect("open");
        (store, path)
    }

    fn cleanup(path: &Path) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.to_path_buf().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }

    /// Every hot query is served by an index (no full scan, no temp b-tree
    /// for ORDER BY).
    #[test]
    fn query_plans_use_indexes() {
        let (store, path) = temp_store("plans");
        let queries: &[(&str, &str)] = &[
            ("get by arn", "SELECT * FROM executions e JOIN execution_inputs i ON i.id = e.id WHERE e.arn = 'x'"),
            (
                "list",
                "SELECT e.id FROM executions e WHERE e.state_machine_arn = 'x' AND e.redrive_count > 0
                 AND (e.start_ms, e.id) < (SELECT a.start_ms, a.id FROM executions a WHERE a.id = 5)
                 ORDER BY e.start_ms DESC, e.id DESC LIMIT 10",
            ),
            (
                "list by status",
                "SELECT e.id FROM executions e WHERE e.state_machine_arn = 'x' AND e.status = 'RUNNING'
                 ORDER BY e.start_ms DESC, e.id DESC LIMIT 10",
            ),
            (
                "running",
                "SELECT e.id, i.input FROM executions e JOIN execution_inputs i ON i.id = e.id
                 WHERE e.status = 'RUNNING' AND e.id > 3 ORDER BY e.id LIMIT 10",
            ),
            ("history", "SELECT * FROM history_events WHERE execution_id = 1 AND id > 3 ORDER BY id LIMIT 5"),
            ("history desc", "SELECT * FROM history_events WHERE execution_id = 1 AND id < 9 ORDER BY id DESC LIMIT 5"),
            ("timers", "SELECT * FROM timers WHERE due_ms <= 5 ORDER BY due_ms, execution_id, timer_id LIMIT 5"),
            ("timer delete", "DELETE FROM timers WHERE execution_id = 1 AND timer_id = 2"),
            (
                "outbox",
                "SELECT * FROM outbox WHERE (execution_id, seq) > (1, 2) ORDER BY execution_id, seq LIMIT 5",
            ),
            ("outbox delete", "DELETE FROM outbox WHERE execution_id = 1 AND seq = 2"),
            ("update", "UPDATE executions SET state = x'00', version = 2 WHERE id = 1 AND version = 1 AND status = 'RUNNING'"),
        ];
        let plans = store
            .read(|c| {
                let mut out = Vec::new();
                for (name, sql) in queries {
                    let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let rows = st.query_map([], |r| r.get::<_, String>(3))?;
                    let plan = rows.collect::<rusqlite::Result<Vec<_>>>()?.join(" | ");
                    out.push((*name, plan));
                }
                Ok(out)
            })
            .expect("plans");
        for (name, plan) in plans {
            eprintln!("{name}: {plan}");
            let bad = plan.split(" | ").any(|step| {
                (step.starts_with("SCAN ") && !step.contains("USING"))
                    || step.contains("TEMP B-TREE")
            });
            assert!(!bad, "{name}: {plan}");
        }
        drop(store);
        cleanup(&path);
    }

    #[test]
    fn io_error_stops_writes() {
        let (store, path) = temp_store("failstop");
        let io = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR_FSYNC),
            Some("fsync failed".to_string()),
        );
        let e = store.note(Error::from(io));
        assert_eq!(e.kind, ErrorKind::Unavailable);
        let err = store
            .allocate_ids(1)
            .expect_err("writes are refused after an I/O error");
        assert_eq!(err.kind, ErrorKind::Unavailable);
        assert_eq!(
            store.commit(&[]).map_err(|e| e.kind),
            Ok(()),
            "an empty batch touches nothing"
        );
        // Reads still work.
        assert_eq!(store.get_execution_by_id(1).expect("read"), None);
        drop(store);
        // A reopened store works again.
        let store = SqliteStore::open(&path).expect("reopen");
        assert!(store.allocate_ids(1).is_ok());
        drop(store);
        cleanup(&path);
    }

    #[test]
    fn error_kinds() {
        let f = |code| {
            Error::from(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                None,
            ))
            .kind
        };
        assert_eq!(f(rusqlite::ffi::SQLITE_BUSY), ErrorKind::Busy);
        assert_eq!(f(rusqlite::ffi::SQLITE_LOCKED), ErrorKind::Busy);
        assert_eq!(
            f(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE),
            ErrorKind::Conflict
        );
        assert_eq!(
            f(rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY),
            ErrorKind::Conflict
        );
        assert_eq!(f(rusqlite::ffi::SQLITE_CORRUPT), ErrorKind::Corrupt);
        assert_eq!(f(rusqlite::ffi::SQLITE_NOTADB), ErrorKind::Corrupt);
        assert_eq!(f(rusqlite::ffi::SQLITE_FULL), ErrorKind::Unavailable);
        assert_eq!(f(rusqlite::ffi::SQLITE_IOERR_WRITE), ErrorKind::Unavailable);
        assert_eq!(f(rusqlite::ffi::SQLITE_CANTOPEN), ErrorKind::Unavailable);
    }
}
