//! `baton bench waiting --executions N`: N executions waiting on task tokens
//! (`.waitForTaskToken`), then a restart, then every token answered.
//!
//! Each side of the restart is its own process (this binary, re-run with a
//! hidden `--phase`), so the resident memory measured after the restart is
//! that of a fresh process that recovered the N waiting executions from the
//! store, not what the first process left behind.
//!
//! The tokens go to a bench integration standing in for a queue
//! (`arn:aws:states:::batonbench:deliverToken.waitForTaskToken`): it appends
//! each token to a file in the data directory (the "worker's" side, kept out
//! of the engine's memory) and reports the task submitted, as a queue
//! integration does once the message is sent.

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use baton_engine::Engine;
use baton_engine::runtime::{Integration, Reporter, TaskInvocation};
use serde_json::{Value, json};

use super::{
    TempDir, bounded, caller, create_state_machine, loadavg, mib, open_engine, round3, rss, runtime,
};

#[derive(clap::Args)]
pub(crate) struct WaitingArgs {
    /// Print one JSON line instead of a summary.
    #[arg(long)]
    json: bool,
    /// Idle read connections the SQLite store keeps (default: the store's
    /// own default); a tuning experiment, durability is unchanged.
    #[arg(long, value_name = "N")]
    read_connections: Option<usize>,
    /// Executions waiting on a task token.
    #[arg(long, default_value_t = 1_000_000)]
    executions: usize,
    /// Starts (then answers) in flight at once.
    #[arg(long, default_value_t = 512)]
    concurrency: usize,
    /// Internal: which side of the restart this process runs.
    #[arg(long, value_enum, hide = true)]
    phase: Option<Phase>,
    /// Internal: the data directory the two sides share.
    #[arg(long, hide = true)]
    dir: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Phase {
    Prepare,
    Answer,
}

const RESOURCE: &str = "arn:aws:states:::batonbench:deliverToken.waitForTaskToken";

fn definition() -> Value {
    json!({
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": RESOURCE,
                "Parameters": { "TaskToken.$": "$$.Task.Token", "Name.$": "$$.Execution.Name" },
                "End": true,
            },
        },
    })
}

/// The stand-in queue: tokens to a file, then TaskSubmitted.
struct TokenSink {
    tx: std::sync::Mutex<std::sync::mpsc::Sender<String>>,
    delivered: Arc<AtomicUsize>,
}

impl Integration for TokenSink {
    fn accepts(&self, resource: &str) -> bool {
        resource == RESOURCE
    }

    fn invoke(
        &self,
        _engine: Engine,
        task: TaskInvocation,
        reporter: Reporter,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>> {
        if let Some(token) = task.request.token {
            if let Ok(tx) = self.tx.lock() {
                let _ = tx.send(token);
            }
            reporter.submitted(json!({ "MessageId": "bench" }));
            self.delivered.fetch_add(1, Ordering::Relaxed);
        } else {
            reporter.failed(
                Some("Bench.NoToken".into()),
                Some("the task has no token".into()),
            );
        }
        Box::pin(async {})
    }
}

/// Starts the writer of `path`; returns the sink's sender and the thread.
fn token_writer(
    path: &Path,
) -> anyhow::Result<(
    std::sync::mpsc::Sender<String>,
    std::thread::JoinHandle<std::io::Result<u64>>,
)> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let handle = std::thread::spawn(move || {
        let mut w = std::io::BufWriter::new(file);
        let mut n = 0u64;
        for token in rx {
            w.write_all(token.as_bytes())?;
            w.write_all(b"\n")?;
            n += 1;
        }
        w.flush()?;
        w.get_ref().sync_all()?;
        Ok(n)
    });
    Ok((tx, handle))
}

/// Waits until the engine's commit counter stops moving for `quiet`.
async fn settle(engine: &Engine, quiet: Duration) {
    let mut last = engine.metrics().commits.load(Ordering::Relaxed);
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = engine.metrics().commits.load(Ordering::Relaxed);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            return;
        }
    }
}

fn prepare(args: &WaitingArgs, dir: &Path) -> anyhow::Result<Value> {
    let dir = TempDir::existing(dir.to_path_buf());
    let rt = runtime()?;
    rt.block_on(async {
        let engine = open_engine(&dir, args.read_connections).await?;
        let (tx, writer) = token_writer(&dir.path().join("tokens.txt"))?;
        let delivered = Arc::new(AtomicUsize::new(0));
        engine.register_integration(Arc::new(TokenSink {
            tx: std::sync::Mutex::new(tx),
            delivered: delivered.clone(),
        }));
        let sm = create_state_machine(&engine, "bench-waiting", &definition()).await?;
        let started = Instant::now();
        let errors = AtomicUsize::new(0);
        let results = bounded(0..args.executions, args.concurrency, |i| {
            let engine = engine.clone();
            let sm = sm.clone();
            async move {
                engine
                    .start_execution(&caller(), &sm, Some(format!("w-{i}")), None, None)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
        .await;
        let mut first_error = None;
        for r in results {
            if let Err(e) = r {
                errors.fetch_add(1, Ordering::Relaxed);
                first_error.get_or_insert(e);
            }
        }
        if let Some(e) = first_error {
            anyhow::bail!(
                "{} StartExecution calls failed, the first: {e}",
                errors.into_inner()
            );
        }
        let start_seconds = started.elapsed().as_secs_f64();
        // Every token delivered, then its TaskSubmitted step durable.
        let deadline = Instant::now() + Duration::from_secs(600);
        while delivered.load(Ordering::Relaxed) < args.executions {
            anyhow::ensure!(
                Instant::now() < deadline,
                "only {} of {} tokens were delivered",
                delivered.load(Ordering::Relaxed),
                args.executions
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        settle(&engine, Duration::from_millis(500)).await;
        let waiting_seconds = started.elapsed().as_secs_f64();
        let (rss_now, _) = rss();
        engine.shutdown().await;
        drop(engine);
        let written = tokio::task::spawn_blocking(move || writer.join())
            .await
            .context("the token writer failed")?
            .map_err(|_| anyhow::anyhow!("the token writer panicked"))?
            .context("cannot write the tokens")?;
        let (_, hwm) = rss();
        let db_bytes = std::fs::metadata(dir.db()).map_or(0, |m| m.len())
            + std::fs::metadata(dir.path().join("baton.db-wal")).map_or(0, |m| m.len());
        anyhow::Ok(json!({
            "start_seconds": round3(start_seconds),
            "waiting_seconds": round3(waiting_seconds),
            "tokens": written,
            "rss_bytes": rss_now,
            "hwm_bytes": hwm,
            "db_bytes": db_bytes,
        }))
    })
}

fn answer(args: &WaitingArgs, dir: &Path) -> anyhow::Result<Value> {
    let dir = TempDir::existing(dir.to_path_buf());
    // What the first process left undelivered (re-dispatched at start).
    let outbox_left = {
        use baton_storage::Store as _;
        let store = baton_storage::sqlite::SqliteStore::open(&dir.db())
            .map_err(|e| anyhow::anyhow!("cannot open the store: {e}"))?;
        store
            .outbox(None, 1000)
            .map_err(|e| anyhow::anyhow!("cannot read the outbox: {e}"))?
            .len()
    };
    let rt = runtime()?;
    rt.block_on(async {
        let restart = Instant::now();
        let engine = open_engine(&dir, args.read_connections).await?;
        let restart_seconds = restart.elapsed().as_secs_f64();
        let (rss_restarted, _) = rss();
        let path = dir.path().join("tokens.txt");
        let file = std::fs::File::open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let lines = std::io::BufReader::new(file).lines().map_while(Result::ok);
        let started = Instant::now();
        let results = bounded(lines, args.concurrency, |token| {
            let engine = engine.clone();
            async move {
                engine
                    .send_task_success(&token, r#"{"answered":true}"#.to_string())
                    .await
                    .map_err(|e| format!("{:?}: {}", e.kind, e.message))
            }
        })
        .await;
        let answer_seconds = started.elapsed().as_secs_f64();
        let answered = results.iter().filter(|r| r.is_ok()).count();
        let first_error = results.iter().find_map(|r| r.as_ref().err().cloned());
        let finished = engine.metrics().executions_finished.load(Ordering::Relaxed);
        let (rss_end, hwm) = rss();
        engine.shutdown().await;
        anyhow::Ok(json!({
            "outbox_rows_at_restart": outbox_left,
            "restart_seconds": round3(restart_seconds),
            "rss_after_restart_bytes": rss_restarted,
            "answered": answered,
            "executions_finished": finished,
            "answer_errors": results.len() - answered,
            "first_error": first_error,
            "answer_seconds": round3(answer_seconds),
            "rss_end_bytes": rss_end,
            "hwm_bytes": hwm,
        }))
    })
}

/// Runs one side of the restart as a child process; returns its JSON line.
fn child(args: &WaitingArgs, phase: &str, dir: &Path) -> anyhow::Result<Value> {
    let exe = std::env::current_exe().context("cannot find this program")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["bench", "waiting", "--json"]);
    if let Some(n) = args.read_connections {
        cmd.args(["--read-connections", &n.to_string()]);
    }
    let out = cmd
        .args(["--executions", &args.executions.to_string()])
        .args(["--concurrency", &args.concurrency.to_string()])
        .args(["--phase", phase])
        .arg("--dir")
        .arg(dir)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run the {phase} process"))?;
    anyhow::ensure!(
        out.status.success(),
        "the {phase} process failed ({})",
        out.status
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .with_context(|| format!("the {phase} process printed no result"))?;
    serde_json::from_str(line).with_context(|| format!("bad result from the {phase} process"))
}

pub(crate) fn run(args: WaitingArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.executions > 0, "--executions must be at least 1");
    if let Some(phase) = args.phase {
        let dir = args.dir.clone().context("--phase needs --dir")?;
        let v = match phase {
            Phase::Prepare => prepare(&args, &dir)?,
            Phase::Answer => answer(&args, &dir)?,
        };
        crate::out(&v.to_string());
        return Ok(ExitCode::SUCCESS);
    }
    let load_before = loadavg();
    let dir = TempDir::new("waiting")?;
    let p = child(&args, "prepare", dir.path())?;
    let a = child(&args, "answer", dir.path())?;
    drop(dir);
    let load_after = loadavg();
    let u = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let f = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let rss_bytes = u(&p, "hwm_bytes").max(u(&a, "hwm_bytes"));
    let answered = u(&a, "answered");
    if args.json {
        crate::out(
            &json!({
                "workload": "waiting",
                "executions": args.executions,
                "rss_bytes": rss_bytes,
                "answered_after_restart": answered,
                "waiting_rss_bytes": u(&p, "rss_bytes"),
                "waiting_hwm_bytes": u(&p, "hwm_bytes"),
                "restarted_rss_bytes": u(&a, "rss_after_restart_bytes"),
                "answer_hwm_bytes": u(&a, "hwm_bytes"),
                "start_seconds": f(&p, "start_seconds"),
                "restart_seconds": f(&a, "restart_seconds"),
                "answer_seconds": f(&a, "answer_seconds"),
                "executions_finished": u(&a, "executions_finished"),
                "answer_errors": u(&a, "answer_errors"),
                "first_error": a.get("first_error").cloned().unwrap_or(Value::Null),
                "outbox_rows_at_restart": u(&a, "outbox_rows_at_restart"),
                "db_bytes": u(&p, "db_bytes"),
                "concurrency": args.concurrency,
                "store": "sqlite synchronous=FULL",
                "read_connections": args.read_connections,
                "loadavg_before": load_before,
                "loadavg_after": load_after,
            })
            .to_string(),
        );
    } else {
        crate::out(&format!(
            "waiting: {} executions waiting on task tokens (.waitForTaskToken), restart (new process), every token answered",
            args.executions
        ));
        crate::out(&format!(
            "  before the restart: started in {:.1} s; resident {:.0} MiB with all waiting (peak {:.0} MiB); database {:.0} MiB",
            f(&p, "start_seconds"),
            mib(u(&p, "rss_bytes")),
            mib(u(&p, "hwm_bytes")),
            mib(u(&p, "db_bytes"))
        ));
        crate::out(&format!(
            "  after the restart: recovered in {:.1} s, resident {:.0} MiB; answered {} of {} in {:.1} s (peak {:.0} MiB)",
            f(&a, "restart_seconds"),
            mib(u(&a, "rss_after_restart_bytes")),
            answered,
            args.executions,
            f(&a, "answer_seconds"),
            mib(u(&a, "hwm_bytes"))
        ));
        if let Some(e) = a.get("first_error").and_then(Value::as_str) {
            crate::out(&format!("  first error: {e}"));
        }
        crate::out(&format!(
            "  peak resident memory: {:.0} MiB; load average before/after: {} / {}",
            mib(rss_bytes),
            load_before.map_or("?".into(), |l| format!("{l:.2}")),
            load_after.map_or("?".into(), |l| format!("{l:.2}"))
        ));
    }
    Ok(ExitCode::SUCCESS)
}
