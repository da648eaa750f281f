//! `baton bench durable | callbacks | waiting | timers`: the engine's
//! benchmarks (durable executions on the default SQLite store with
//! `synchronous=FULL`, group commit, task tokens, timers).
//!
//! Each one builds its own store in a fresh directory under the system's
//! temporary directory and removes it at the end; each prints one JSON line
//! with `--json`, a readable summary otherwise.
//!
//! - [`durable`]: concurrent executions of the 100-Pass chain started in
//!   process; transitions (states entered) counted once durable.
//! - [`callbacks`]: SendTaskSuccess over HTTP (keep-alive) → the next
//!   activity task handed to a waiting GetActivityTask poller, with many
//!   executions waiting; optionally the Restate awakeable peer in the same run.
//! - [`waiting`]: N executions waiting on task tokens, a restart (a new
//!   process), then every token answered; resident memory of each process.
//! - [`timers`]: many durable Wait timers due within a minute; how late each
//!   execution moves on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use baton_engine::{Caller, Config, Engine};
use serde_json::Value;

mod callbacks;
mod durable;
pub(crate) mod http;
mod timers;
mod waiting;

pub(crate) use callbacks::CallbacksArgs;
pub(crate) use durable::DurableArgs;
pub(crate) use timers::TimersArgs;
pub(crate) use waiting::WaitingArgs;

pub(crate) fn durable(args: DurableArgs) -> anyhow::Result<std::process::ExitCode> {
    durable::run(args)
}

pub(crate) fn callbacks(args: CallbacksArgs) -> anyhow::Result<std::process::ExitCode> {
    callbacks::run(args)
}

pub(crate) fn waiting(args: WaitingArgs) -> anyhow::Result<std::process::ExitCode> {
    waiting::run(args)
}

pub(crate) fn timers(args: TimersArgs) -> anyhow::Result<std::process::ExitCode> {
    timers::run(args)
}

/// The account and region every benchmark acts in (the server's defaults for
/// unsigned requests).
pub(crate) fn caller() -> Caller {
    Caller {
        account: "000000000000".into(),
        region: "us-east-1".into(),
    }
}

/// A data directory under the system's temporary directory, removed on drop
/// (unless kept for a later process).
pub(crate) struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    pub(crate) fn new(what: &str) -> anyhow::Result<TempDir> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path =
            std::env::temp_dir().join(format!("baton-bench-{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(TempDir { path, keep: false })
    }

    /// An existing directory another process made (not removed on drop).
    pub(crate) fn existing(path: PathBuf) -> TempDir {
        TempDir { path, keep: true }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.path.join("baton.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A multi-threaded tokio runtime (one worker per core).
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("bench-rt")
        .build()
        .context("cannot start the async runtime")
}

/// Opens the store in `dir` (SQLite with its default options:
/// `synchronous=FULL`) and starts an engine on it. `read_connections`
/// overrides the store's idle reader pool (a tuning experiment; durability
/// unchanged).
pub(crate) async fn open_engine(
    dir: &TempDir,
    read_connections: Option<usize>,
) -> anyhow::Result<Engine> {
    let db = dir.db();
    let mut options = baton_storage::sqlite::SqliteOptions::default();
    if let Some(n) = read_connections {
        options.read_connections = n;
    }
    let store = baton_storage::sqlite::SqliteStore::open_with(&db, options)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", db.display()))?;
    Engine::start(Arc::new(store), Config::default())
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the engine: {e}"))
}

/// Creates a Standard state machine; returns its ARN.
pub(crate) async fn create_state_machine(
    engine: &Engine,
    name: &str,
    definition: &Value,
) -> anyhow::Result<String> {
    let req = baton_engine::control::CreateStateMachine {
        name: name.into(),
        definition: definition.to_string(),
        role_arn: "arn:aws:iam::000000000000:role/bench".into(),
        machine_type: baton_storage::MachineType::Standard,
        logging_configuration: None,
        tracing_configuration: None,
        encryption_configuration: None,
        tags: Vec::new(),
        publish: false,
        version_description: None,
    };
    let created = engine
        .create_state_machine(&caller(), req)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the state machine {name}: {e}"))?;
    Ok(created.state_machine_arn)
}

/// Resident memory now and at its peak (`VmRSS`, `VmHWM`), in bytes.
pub(crate) fn rss() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time this process has used (user + system), in seconds.
pub(crate) fn cpu_seconds() -> f64 {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime and stime
    // are the 12th and 13th, in clock ticks (100 per second on Linux).
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// The 1-minute load average (`/proc/loadavg`), when readable.
pub(crate) fn loadavg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The value at quantile `q` (0..=1) of sorted samples (nearest rank).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The median of some values (unsorted).
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub(crate) fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Now, in epoch microseconds.
pub(crate) fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Runs `f` over `items` with at most `limit` futures in flight; returns the
/// outputs in completion order.
pub(crate) async fn bounded<I, F, Fut, T>(items: I, limit: usize, f: F) -> Vec<T>
where
    I: IntoIterator,
    F: Fn(I::Item) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    let mut out = Vec::new();
    for item in items {
        while set.len() >= limit.max(1) {
            if let Some(Ok(v)) = set.join_next().await {
                out.push(v);
            }
        }
        set.spawn(f(item));
    }
    while let Some(r) = set.join_next().await {
        if let Ok(v) = r {
            out.push(v);
        }
    }
    out
}
