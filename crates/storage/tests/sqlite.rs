//! The conformance suite against SQLite, plus SQLite-specific durability
//! tests (reopen, drop without closing, schema versioning).

#![cfg(feature = "sqlite")]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use baton_storage::sqlite::{SCHEMA_VERSION, SqliteOptions, SqliteStore, Synchronous};
use baton_storage::{
    ErrorKind, EventRecord, ExecutionRecord, ExecutionWrite, MachineType, RevisionContent,
    StateMachineRecord, Store, Tag, TimerRecord, TransitionWrite,
};

/// A database path in the temp directory, removed (with its WAL and shm
/// files) on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new(tag: &str) -> TempDb {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "baton-storage-{tag}-{}-{nanos}-{n}.db",
            std::process::id()
        ));
        let db = TempDb(path);
        db.remove();
        db
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.remove();
    }
}

fn open(db: &TempDb) -> SqliteStore {
    SqliteStore::open(db.path()).expect("open store")
}

fn exec(id: u64, name: &str) -> ExecutionRecord {
    ExecutionRecord {
        id,
        arn: format!("arn:aws:states:us-east-1:123456789012:execution:sm:{name}"),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".to_string(),
        revision: 1,
        name: name.to_string(),
        status: "RUNNING".to_string(),
        start_ms: 1000,
        stop_ms: None,
        input: "{}".to_string(),
        output: None,
        error: None,
        cause: None,
        trace_header: None,
        redrive_count: 0,
        redrive_ms: None,
        state: vec![1, 2, 3],
        version: 1,
    }
}

fn ev(id: u64) -> EventRecord {
    EventRecord {
        id,
        previous_event_id: id - 1,
        timestamp_ms: 1000,
        event_type: "PassStateEntered".to_string(),
        details: "{}".to_string(),
    }
}

fn tw(execution: ExecutionWrite, events: Vec<EventRecord>) -> TransitionWrite {
    TransitionWrite {
        execution,
        events,
        timers_added: Vec::new(),
        timers_removed: Vec::new(),
        outbox_added: Vec::new(),
        outbox_removed: Vec::new(),
    }
}

#[test]
fn conformance_sqlite() {
    let db = TempDb::new("conformance");
    let store = open(&db);
    baton_storage::testing::conformance(&store);
    assert_eq!(
        store.integrity_check().expect("integrity_check"),
        Vec::<String>::new()
    );
}

#[test]
fn conformance_sqlite_synchronous_normal() {
    // The suite does not depend on the durability setting.
    let db = TempDb::new("conformance-normal");
    let store = SqliteStore::open_with(
        db.path(),
        SqliteOptions {
            synchronous: Synchronous::Normal,
            ..SqliteOptions::default()
        },
    )
    .expect("open");
    baton_storage::testing::conformance(&store);
}

#[test]
fn reopen_keeps_everything() {
    let db = TempDb::new("reopen");
    let sm = StateMachineRecord {
        arn: "arn:aws:states:us-east-1:123456789012:stateMachine:sm".to_string(),
        name: "sm".to_string(),
        machine_type: MachineType::Express,
        status: "ACTIVE".to_string(),
        creation_ms: 5,
        revision: 1,
        content: RevisionContent {
            definition: "{}".to_string(),
            role_arn: "arn:aws:iam::123456789012:role/r".to_string(),
            config: "{}".to_string(),
            revision_id: "rev-1".to_string(),
            update_ms: 5,
        },
    };
    let (secret, first_id, record) = {
        let store = open(&db);
        let secret = store.secret().expect("secret");
        let first_id = store.allocate_ids(10).expect("ids");
        store
            .create_state_machine(
                &sm,
                &[Tag {
                    key: "k".to_string(),
                    value: "v".to_string(),
                }],
            )
            .expect("create");
        let mut t = tw(ExecutionWrite::Insert(exec(first_id, "a")), vec![ev(1)]);
        t.timers_added = vec![TimerRecord {
            execution_id: first_id,
            timer_id: 1,
            due_ms: 77,
        }];
        store.commit(&[t]).expect("commit");
        let mut r = exec(first_id, "a");
        r.version = 2;
        r.state = vec![9; 1000];
        store
            .commit(&[tw(ExecutionWrite::Update(r.clone()), vec![ev(2)])])
            .expect("update");
        store.checkpoint().expect("checkpoint");
        (secret, first_id, r)
    };
    let store = open(&db);
    assert_eq!(
        store.secret().expect("secret after reopen"),
        secret,
        "the secret survives a reopen"
    );
    let next = store.allocate_ids(1).expect("ids after reopen");
    assert!(
        next >= first_id + 10,
        "ids continue after a reopen: {next} < {}",
        first_id + 10
    );
    assert_eq!(
        store.get_state_machine(&sm.arn).expect("get"),
        Some(sm.clone())
    );
    assert_eq!(store.tags(&sm.arn).expect("tags").len(), 1);
    assert_eq!(
        store.get_execution_by_id(first_id).expect("get"),
        Some(record)
    );
    assert_eq!(
        store.history(first_id, 0, 10, false).expect("history"),
        vec![ev(1), ev(2)]
    );
    assert_eq!(
        store.due_timers(100, 10).expect("timers"),
        vec![TimerRecord {
            execution_id: first_id,
            timer_id: 1,
            due_ms: 77
        }]
    );
    assert_eq!(store.running_executions(0, 10).expect("running").len(), 1);
    // Reopening an up-to-date database applies no migration twice.
    drop(store);
    let store = open(&db);
    assert_eq!(
        store
            .get_execution_by_id(first_id)
            .expect("get")
            .map(|e| e.version),
        Some(2)
    );
}

#[test]
fn drop_without_closing_keeps_committed_batches() {
    let db = TempDb::new("crash");
    let ids;
    {
        let store = open(&db);
        ids = store.allocate_ids(200).expect("ids");
        let batch: Vec<_> = (0..200)
            .map(|i| {
                tw(
                    ExecutionWrite::Insert(exec(ids + i, &format!("e{i}"))),
                    vec![ev(1)],
                )
            })
            .collect();
        store.commit(&batch).expect("insert");
        for step in 2..=20u64 {
            let batch: Vec<_> = (0..200)
                .map(|i| {
                    let mut r = exec(ids + i, &format!("e{i}"));
                    r.version = step;
                    tw(ExecutionWrite::Update(r), vec![ev(step)])
                })
                .collect();
            store.commit(&batch).expect("commit");
        }
        // A batch that fails is not applied, even though the store is dropped right after.
        let mut r = exec(ids, "e0");
        r.version = 99;
        let err = store
            .commit(&[tw(ExecutionWrite::Update(r), vec![ev(21)])])
            .expect_err("stale");
        assert_eq!(err.kind, ErrorKind::Conflict);
        // A reader is still out; the store is dropped with the WAL not
        // checkpointed (no close, no checkpoint).
        let _ = store.get_execution_by_id(ids).expect("read");
        std::mem::forget(store);
    }
    let wal = {
        let mut p = db.path().to_path_buf().into_os_string();
        p.push("-wal");
        PathBuf::from(p)
    };
    assert!(
        wal.exists(),
        "the WAL is still there (nothing was checkpointed on close)"
    );
    let store = open(&db);
    for i in 0..200 {
        let e = store
            .get_execution_by_id(ids + i)
            .expect("get")
            .expect("exists");
        assert_eq!(e.version, 20, "execution {i} lost committed updates");
        assert_eq!(
            store
                .history(ids + i, 0, 100, false)
                .expect("history")
                .len(),
            20
        );
    }
    assert_eq!(
        store.integrity_check().expect("integrity"),
        Vec::<String>::new()
    );
}

#[test]
fn schema_is_versioned() {
    let db = TempDb::new("schema");
    drop(open(&db));
    let conn = rusqlite::Connection::open(db.path()).expect("raw open");
    let v: i64 = conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v as usize, SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    // A database from a newer Baton is refused, not modified.
    conn.execute("UPDATE schema_version SET version = version + 1", [])
        .expect("bump");
    drop(conn);
    let err = SqliteStore::open(db.path()).expect_err("newer schema");
    assert_eq!(err.kind, ErrorKind::Corrupt, "{err}");
}

#[test]
fn foreign_database_is_refused() {
    let db = TempDb::new("foreign");
    {
        let conn = rusqlite::Connection::open(db.path()).expect("raw open");
        conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
            .expect("create");
    }
    let err = SqliteStore::open(db.path()).expect_err("foreign database");
    assert_eq!(err.kind, ErrorKind::Corrupt, "{err}");
    // And a file that is not SQLite at all.
    let junk = TempDb::new("junk");
    std::fs::write(junk.path(), vec![0x42u8; 8192]).expect("write junk");
    let err = SqliteStore::open(junk.path()).expect_err("junk file");
    assert_eq!(err.kind, ErrorKind::Corrupt, "{err}");
}

#[test]
fn readers_do_not_block_the_writer() {
    let db = TempDb::new("readers");
    let store = open(&db);
    let id = store.allocate_ids(1).expect("ids");
    store
        .commit(&[tw(ExecutionWrite::Insert(exec(id, "r")), vec![ev(1)])])
        .expect("insert");
    std::thread::scope(|s| {
        let store = &store;
        let reader = s.spawn(move || {
            let mut reads = 0;
            for _ in 0..2000 {
                let e = store
                    .get_execution_by_id(id)
                    .expect("read")
                    .expect("exists");
                assert!(e.version >= 1);
                let h = store.history(id, 0, 1000, false).expect("history");
                assert!(
                    h.len() as u64 >= e.version,
                    "history read after the row has at least its events"
                );
                reads += 1;
            }
            reads
        });
        for v in 2..=200u64 {
            let mut r = exec(id, "r");
            r.version = v;
            store
                .commit(&[tw(ExecutionWrite::Update(r), vec![ev(v)])])
                .expect("update");
        }
        assert_eq!(reader.join().expect("reader"), 2000);
    });
    assert_eq!(
        store
            .get_execution_by_id(id)
            .expect("get")
            .map(|e| e.version),
        Some(200)
    );
}

#[test]
fn bench_hook_runs() {
    let db = TempDb::new("bench");
    let store = SqliteStore::open_with(
        db.path(),
        SqliteOptions {
            synchronous: Synchronous::Off,
            ..SqliteOptions::default()
        },
    )
    .expect("open");
    let r = baton_storage::testing::bench_commit_report(&store, 2000, 100);
    assert_eq!(r.commits, 20);
    assert!(r.transitions_per_s > 0.0);
    // Every transition landed: 1000 executions, 2 transitions each.
    let e = store
        .get_execution_by_id(store.allocate_ids(1).expect("ids") - 1)
        .expect("get")
        .expect("exists");
    assert_eq!(e.version, 3);
    assert_eq!(
        store.due_timers(i64::MAX, 10_000).expect("timers").len(),
        1000,
        "one live timer per execution"
    );
    assert!(baton_storage::testing::bench_commit(&store, 10, 3) > 0.0);
}

/// The child side of `killed_writer_keeps_acknowledged_batches`: commits
/// batches for ever, printing `ack N` after batch N committed.
fn crash_child(path: &Path) {
    use std::io::Write;
    let store = open_path(path);
    let first = store.allocate_ids(100).expect("ids");
    let batch: Vec<_> = (0..100)
        .map(|i| {
            tw(
                ExecutionWrite::Insert(exec(first + i, &format!("k{first}-{i}"))),
                vec![ev(1)],
            )
        })
        .collect();
    store.commit(&batch).expect("insert");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "first {first}");
    let _ = out.flush();
    for step in 2u64.. {
        let batch: Vec<_> = (0..100)
            .map(|i| {
                let mut r = exec(first + i, &format!("k{first}-{i}"));
                r.version = step;
                r.state = vec![7; 600];
                let mut t = tw(ExecutionWrite::Update(r), vec![ev(step)]);
                t.timers_added = vec![TimerRecord {
                    execution_id: first + i,
                    timer_id: step,
                    due_ms: 1,
                }];
                t.timers_removed = vec![step - 1];
                t
            })
            .collect();
        store.commit(&batch).expect("commit");
        let _ = writeln!(out, "ack {step}");
        let _ = out.flush();
    }
}

fn open_path(path: &Path) -> SqliteStore {
    SqliteStore::open(path).expect("open store")
}

#[test]
fn killed_writer_keeps_acknowledged_batches() {
    use std::io::BufRead;
    if let Ok(path) = std::env::var("BATON_STORAGE_CRASH_CHILD") {
        crash_child(Path::new(&path));
        return;
    }
    let db = TempDb::new("kill9");
    let exe = std::env::current_exe().expect("current exe");
    for round in 0..3 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "killed_writer_keeps_acknowledged_batches",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("BATON_STORAGE_CRASH_CHILD", db.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut first = None;
        let mut acked = 0u64;
        let mut seen = Vec::new();
        // Kill at a different point each round, mid-stream.
        let kill_after = 20 + round * 37;
        while let Some(Ok(line)) = lines.next() {
            if seen.len() < 5 {
                seen.push(line.clone());
            }
            // libtest prints its own prefix on the same line.
            if let Some(f) = line.split("first ").nth(1) {
                first = f.trim().parse::<u64>().ok();
            } else if let Some(n) = line.strip_prefix("ack ") {
                acked = n.trim().parse().unwrap_or(acked);
                if acked >= kill_after {
                    child.kill().expect("kill -9");
                }
            }
        }
        let _ = child.wait();
        let Some(first) = first else {
            panic!("round {round}: the child did not start; its output began with {seen:?}");
        };
        assert!(
            acked >= kill_after,
            "round {round}: the child stopped early at {acked}"
        );
        let store = open(&db);
        assert_eq!(
            store.integrity_check().expect("integrity"),
            Vec::<String>::new()
        );
        let mut versions = Vec::new();
        for i in 0..100 {
            let e = store
                .get_execution_by_id(first + i)
                .expect("get")
                .expect("acknowledged insert survives");
            assert!(
                e.version >= acked,
                "round {round}: execution {i} at version {} < acknowledged {acked}",
                e.version
            );
            let h = store
                .history(first + i, 0, 100_000, false)
                .expect("history");
            assert_eq!(
                h.len() as u64,
                e.version,
                "round {round}: history matches the row"
            );
            versions.push(e.version);
        }
        // Batches are atomic: every execution is at the same version.
        assert!(
            versions.windows(2).all(|w| w[0] == w[1]),
            "round {round}: a batch was torn: {versions:?}"
        );
        let timers: Vec<_> = store
            .due_timers(10, 100_000)
            .expect("timers")
            .into_iter()
            .filter(|t| t.execution_id >= first)
            .collect();
        assert_eq!(
            timers.len(),
            100,
            "round {round}: exactly one live timer per execution"
        );
    }
}
