//! `baton bench timers`: many durable timers due within a minute (one Wait
//! state per execution, `TimestampPath`, due times spread evenly over the
//! window), and how late each one fires.
//!
//! Lateness of a timer = when the bench learns its execution ended (the step
//! that the timer fed is committed and the end reported) minus the due time:
//! the timer service, the shard's step, the group commit and the end
//! notification together. The engine's own figure (the timer thread's
//! lateness alone) is reported beside it.

use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

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
    /// Seconds from the start of the bench to the first due time (the
    /// executions are started in due order meanwhile).
    #[arg(long, default_value_t = 10.0)]
    lead: f64,
    /// Starts in flight at once.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
}

fn definition() -> Value {
    json!({
        "StartAt": "W",
        "States": { "W": { "Type": "Wait", "TimestampPath": "$.at", "End": true } },
    })
}

struct Outcome {
    /// Lateness in ms (negative: ended before due, a bug).
    late_ms: f64,
    /// The execution was started after its timer was due.
    started_late: bool,
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
    let (outcomes, start_seconds, engine_p99, fired, total_seconds) = rt.block_on(async {
        let engine = open_engine(&dir, args.read_connections).await?;
        let sm = create_state_machine(&engine, "bench-timers", &definition()).await?;
        let began = Instant::now();
        let first_due_ms = now_micros() / 1000 + (args.lead * 1000.0) as i64;
        let step = args.window * 1000.0 / args.timers as f64;
        let due = move |i: usize| first_due_ms + (i as f64 * step) as i64;
        let results = bounded(0..args.timers, args.concurrency, |i| {
            let engine = engine.clone();
            let sm = sm.clone();
            let due_ms = due(i);
            async move {
                let input = json!({ "at": baton_asl::time::format_millis(due_ms) }).to_string();
                let started = engine
                    .start_execution(&caller(), &sm, Some(format!("t-{i}")), Some(input), None)
                    .await
                    .map_err(|e| format!("StartExecution: {e}"))?;
                let started_late = now_micros() / 1000 > due_ms;
                // Watch for the end in the background; the start loop moves on.
                let watch = tokio::spawn(async move {
                    let rec = engine
                        .wait_for_end(&started.execution_arn)
                        .await
                        .map_err(|e| format!("waiting for the end: {e}"))?;
                    let at = now_micros();
                    if rec.status != "SUCCEEDED" {
                        return Err(format!("{} ended {}", rec.arn, rec.status));
                    }
                    Ok(Outcome {
                        late_ms: (at - due_ms * 1000) as f64 / 1000.0,
                        started_late,
                    })
                });
                Ok::<_, String>(watch)
            }
        })
        .await;
        let start_seconds = began.elapsed().as_secs_f64();
        let mut watches = Vec::with_capacity(results.len());
        for r in results {
            watches.push(r.map_err(anyhow::Error::msg)?);
        }
        let mut outcomes = Vec::with_capacity(watches.len());
        let limit = Duration::from_secs_f64(args.lead + args.window + 120.0);
        for w in watches {
            let left = limit.saturating_sub(began.elapsed());
            let o = tokio::time::timeout(left, w)
                .await
                .map_err(|_| anyhow::anyhow!("timers still pending after {limit:?}"))??
                .map_err(anyhow::Error::msg)?;
            outcomes.push(o);
        }
        let total_seconds = began.elapsed().as_secs_f64();
        let m = engine.metrics();
        let fired = m.timers_fired.load(Relaxed);
        let (buckets, count, _) = m.timer_lateness.snapshot();
        // The engine's histogram: the smallest bound holding 99%.
        let engine_p99 = buckets
            .iter()
            .find(|(_, c)| count > 0 && *c as f64 >= count as f64 * 0.99)
            .map(|(b, _)| *b);
        engine.shutdown().await;
        anyhow::Ok((outcomes, start_seconds, engine_p99, fired, total_seconds))
    })?;
    drop(rt);
    drop(dir);
    let load_after = loadavg();
    let mut late: Vec<f64> = outcomes.iter().map(|o| o.late_ms).collect();
    late.sort_by(f64::total_cmp);
    let early = late.iter().filter(|x| **x < 0.0).count();
    let started_late = outcomes.iter().filter(|o| o.started_late).count();
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
                "started_after_due": started_late,
                "start_seconds": round3(start_seconds),
                "total_seconds": round3(total_seconds),
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
            "  lateness (due -> the step it fed is durable and the end reported): p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms"
        ));
        crate::out(&format!(
            "  {} started in {:.1} s ({} after their due time); {} fired; {} ended before due",
            args.timers, start_seconds, started_late, fired, early
        ));
        crate::out(&format!(
            "  load average before/after: {} / {}",
            load_before.map_or("?".into(), |l| format!("{l:.2}")),
            load_after.map_or("?".into(), |l| format!("{l:.2}"))
        ));
    }
    Ok(ExitCode::SUCCESS)
}
