//! `baton bench timers`: many durable timers due within a minute (one Wait
//! state per execution, `TimestampPath`, due times spread evenly over the
//! window), and how late each one fires.
//!
//! Set-up (not measured): every execution is started and waits at a gate
//! task (a task token the bench holds); then each gate is answered with its
//! execution's due time, in due order, `--lead` seconds before the first
//! one is due, so every timer is armed before it is due.
//!
//! Lateness of a timer = when the task after the Wait state is dispatched
//! (the step that the timer fed is durable: timer service, shard step, group
//! commit, outbox dispatch) minus the due time. The engine's own figure (the
//! timer thread alone, coarse histogram buckets) is reported beside it.

use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton_engine::Engine;
use baton_engine::runtime::{Integration, Reporter, TaskInvocation};
use serde_json::{Value, json};

use super::{
    TempDir, bounded, caller, create_state_machine, loadavg, now_micros, open_engine, quantile,
    round3, runtime,
};

#[derive(clap::Args)]
pub(crate) struct TimersArgs {
    /// Print one JSON line instead of a summary.
    #[arg(long)]
    json: bool,
    /// Idle read connections the SQLite store keeps (default: the store's
    /// own default); a tuning experiment, durability is unchanged.
    #[arg(long, value_name = "N")]
    read_connections: Option<usize>,
    /// Timers (one execution each).
    #[arg(long, default_value_t = 100_000)]
    timers: usize,
    /// The window the due times are spread over, in seconds.
    #[arg(long, default_value_t = 60.0)]
    window: f64,
    /// Seconds from the moment the timers start being armed to the first
    /// due time.
    #[arg(long, default_value_t = 15.0)]
    lead: f64,
    /// Starts (and gate answers) in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
}

const GATE: &str = "arn:aws:states:::batonbench:gate.waitForTaskToken";
const FIRED: &str = "arn:aws:states:::batonbench:fired";

/// Gate (a task token the bench answers with the due time) → Wait until it
/// → Fired (a task the bench records the time of, then answers).
fn definition() -> Value {
    json!({
        "StartAt": "Gate",
        "States": {
            "Gate": {
                "Type": "Task",
                "Resource": GATE,
                "Parameters": { "TaskToken.$": "$$.Task.Token", "Name.$": "$$.Execution.Name" },
                "ResultPath": "$",
                "Next": "W",
            },
            "W": { "Type": "Wait", "TimestampPath": "$.at", "Next": "Fired" },
            "Fired": {
                "Type": "Task",
                "Resource": FIRED,
                "Parameters": { "at.$": "$.at" },
                "End": true,
            },
        },
    })
}

#[derive(Default)]
struct Seen {
    /// Execution index → the gate's token.
    tokens: Vec<Option<String>>,
    gated: usize,
    /// Lateness of each fired timer, ms.
    late: Vec<f64>,
    bad: Vec<String>,
}

/// Both bench tasks: keeps the gate tokens; timestamps the fired ones.
struct Recorder {
    seen: Arc<Mutex<Seen>>,
}

impl Integration for Recorder {
    fn accepts(&self, resource: &str) -> bool {
        resource == GATE || resource == FIRED
    }

    fn invoke(
        &self,
        _engine: Engine,
        task: TaskInvocation,
        reporter: Reporter,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>> {
        let at = now_micros();
        let p = &task.request.parameters;
        let Ok(mut seen) = self.seen.lock() else {
            return Box::pin(async {});
        };
        if task.request.resource == GATE {
            let index = p
                .get("Name")
                .and_then(Value::as_str)
                .and_then(|n| n.strip_prefix("t-"))
                .and_then(|n| n.parse::<usize>().ok());
            match (index, task.request.token) {
                (Some(i), Some(token)) if i < seen.tokens.len() => {
                    if seen.tokens[i].replace(token).is_none() {
                        seen.gated += 1;
                    }
                    drop(seen);
                    reporter.submitted(json!({}));
                }
                _ => seen.bad.push(format!("unexpected gate task {p}")),
            }
        } else {
            match p
                .get("at")
                .and_then(Value::as_str)
                .and_then(baton_asl::time::parse_rfc3339_millis)
            {
                Some(due_ms) => {
                    seen.late.push((at - due_ms * 1000) as f64 / 1000.0);
                    drop(seen);
                    reporter.succeeded("{}".into());
                }
                None => seen.bad.push(format!("unexpected fired task {p}")),
            }
        }
        Box::pin(async {})
    }
}

/// Waits until `done(seen)`, for at most `limit`.
async fn wait_for(
    seen: &Mutex<Seen>,
    limit: Duration,
    what: &str,
    done: impl Fn(&Seen) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(s) = seen.lock() {
            if let Some(b) = s.bad.first() {
                anyhow::bail!("{what}: {b}");
            }
            if done(&s) {
                return Ok(());
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{what}: timed out after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

struct Measured {
    late: Vec<f64>,
    start_seconds: f64,
    arm_seconds: f64,
    armed_late: usize,
    engine_p99: Option<u64>,
    fired: u64,
}

pub(crate) fn run(args: TimersArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.timers > 0, "--timers must be at least 1");
    anyhow::ensure!(
        args.window.is_finite() && args.window > 0.0,
        "--window must be positive"
    );
    anyhow::ensure!(
        args.lead.is_finite() && args.lead >= 0.0,
        "--lead must be >= 0"
    );
    let load_before = loadavg();
    let dir = TempDir::new("timers")?;
    let rt = runtime()?;
    let n = args.timers;
    let m = rt.block_on(async {
        let engine = open_engine(&dir, args.read_connections).await?;
        let seen = Arc::new(Mutex::new(Seen {
            tokens: vec![None; n],
            ..Seen::default()
        }));
        engine.register_integration(Arc::new(Recorder { seen: seen.clone() }));
        let sm = create_state_machine(&engine, "bench-timers", &definition()).await?;
        // Set-up: every execution started and waiting at its gate.
        let began = Instant::now();
        let results = bounded(0..n, args.concurrency, |i| {
            let engine = engine.clone();
            let sm = sm.clone();
            async move {
                engine
                    .start_execution(&caller(), &sm, Some(format!("t-{i}")), None, None)
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("StartExecution: {e}"))
            }
        })
        .await;
        if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
            anyhow::bail!(e);
        }
        wait_for(&seen, Duration::from_secs(600), "gating", |s| s.gated >= n).await?;
        let start_seconds = began.elapsed().as_secs_f64();
        // Arm: each gate answered with its due time, in due order.
        let first_due_ms = now_micros() / 1000 + (args.lead * 1000.0) as i64;
        let step = args.window * 1000.0 / n as f64;
        let tokens: Vec<Option<String>> = match seen.lock() {
            Ok(mut s) => std::mem::take(&mut s.tokens),
            Err(_) => anyhow::bail!("the recorder failed"),
        };
        let armed = Instant::now();
        let results = bounded(
            tokens.into_iter().enumerate(),
            args.concurrency,
            |(i, t)| {
                let engine = engine.clone();
                let due_ms = first_due_ms + (i as f64 * step) as i64;
                async move {
                    let token = t.ok_or_else(|| format!("no gate token for t-{i}"))?;
                    let out = json!({ "at": baton_asl::time::format_millis(due_ms) }).to_string();
                    engine
                        .send_task_success(&token, out)
                        .await
                        .map_err(|e| format!("SendTaskSuccess: {e}"))?;
                    Ok::<bool, String>(now_micros() / 1000 > due_ms)
                }
            },
        )
        .await;
        let arm_seconds = armed.elapsed().as_secs_f64();
        let mut armed_late = 0;
        for r in results {
            if r.map_err(anyhow::Error::msg)? {
                armed_late += 1;
            }
        }
        let limit = Duration::from_secs_f64(args.lead + args.window + 120.0);
        wait_for(&seen, limit, "timers", |s| s.late.len() >= n).await?;
        let late = match seen.lock() {
            Ok(mut s) => std::mem::take(&mut s.late),
            Err(_) => anyhow::bail!("the recorder failed"),
        };
        let metrics = engine.metrics();
        let fired = metrics.timers_fired.load(Relaxed);
        let (buckets, count, _) = metrics.timer_lateness.snapshot();
        // The engine's histogram: the smallest bound holding 99%.
        let engine_p99 = buckets
            .iter()
            .find(|(_, c)| count > 0 && *c as f64 >= count as f64 * 0.99)
            .map(|(b, _)| *b);
        engine.shutdown().await;
        anyhow::Ok(Measured {
            late,
            start_seconds,
            arm_seconds,
            armed_late,
            engine_p99,
            fired,
        })
    })?;
    drop(rt);
    drop(dir);
    let load_after = loadavg();
    let mut late = m.late;
    late.sort_by(f64::total_cmp);
    let early = late.iter().filter(|x| **x < 0.0).count();
    let (start_seconds, fired, engine_p99) = (m.start_seconds, m.fired, m.engine_p99);
    let p50 = quantile(&late, 0.5);
    let p99 = quantile(&late, 0.99);
    let max = late.last().copied().unwrap_or(0.0);
    let engine_p99_ms = engine_p99.map(|b| {
        if b == u64::MAX {
            Value::String("+Inf".into())
        } else {
            json!(b as f64 / 1000.0)
        }
    });
    if args.json {
        crate::out(
            &json!({
                "workload": "timers",
                "lateness_p99_ms": round3(p99),
                "lateness_p50_ms": round3(p50),
                "lateness_max_ms": round3(max),
                "timers": args.timers,
                "window_seconds": args.window,
                "fired": fired,
                "ended_before_due": early,
                "armed_after_due": m.armed_late,
                "setup_seconds": round3(start_seconds),
                "arm_seconds": round3(m.arm_seconds),
                "engine_timer_lateness_p99_ms_bucket": engine_p99_ms,
                "store": "sqlite synchronous=FULL",
                "read_connections": args.read_connections,
                "loadavg_before": load_before,
                "loadavg_after": load_after,
            })
            .to_string(),
        );
    } else {
        crate::out(&format!(
            "timers: {} Wait timers due evenly over {} s (first due {} s after the start), SQLite synchronous=FULL",
            args.timers, args.window, args.lead
        ));
        crate::out(&format!(
            "  lateness (due -> the step it fed is durable and the next task dispatched): p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms"
        ));
        crate::out(&format!(
            "  set-up {:.1} s; armed in {:.1} s ({} after their due time); {} fired; {} before due",
            start_seconds, m.arm_seconds, m.armed_late, fired, early
        ));
        crate::out(&format!(
            "  load average before/after: {} / {}",
            load_before.map_or("?".into(), |l| format!("{l:.2}")),
            load_after.map_or("?".into(), |l| format!("{l:.2}"))
        ));
    }
    Ok(ExitCode::SUCCESS)
}
