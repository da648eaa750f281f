//! `baton bench durable`: many concurrent executions of the 100-Pass chain,
//! started in process on a durable store (SQLite, `synchronous=FULL`);
//! throughput in transitions (states entered) per second, each counted once
//! the commit that holds it is durable.

use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use serde_json::{Value, json};

use super::{
    TempDir, caller, create_state_machine, loadavg, median, open_engine, round3, rss, runtime,
};

#[derive(clap::Args)]
pub(crate) struct DurableArgs {
    /// Print one JSON line instead of a summary.
    #[arg(long)]
    json: bool,
    /// Idle read connections the SQLite store keeps (default: the store's
    /// own default); a tuning experiment, durability is unchanged.
    #[arg(long, value_name = "N")]
    read_connections: Option<usize>,
    /// Executions started at once in each round.
    #[arg(long, default_value_t = 1000)]
    executions: usize,
    /// Pass states in the chain.
    #[arg(long, default_value_t = 100)]
    states: usize,
    /// Measured rounds (the reported rate is the median over rounds).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

/// The chain: `states` Pass states with Parameters and ResultPath (the
/// interpreter benchmark's pass-chain workload).
fn definition(states: usize) -> Value {
    let mut map = serde_json::Map::new();
    for i in 0..states {
        let mut s = json!({
            "Type": "Pass",
            "Parameters": { "step": i, "prev.$": "$.data.step", "order.$": "$.order.id" },
            "ResultPath": "$.data",
        });
        if let Some(o) = s.as_object_mut() {
            if i + 1 == states {
                o.insert("End".into(), Value::Bool(true));
            } else {
                o.insert("Next".into(), Value::String(format!("P{}", i + 1)));
            }
        }
        map.insert(format!("P{i}"), s);
    }
    json!({ "StartAt": "P0", "States": map })
}

const INPUT: &str =
    r#"{"data":{"step":-1},"order":{"id":"ord-1","amount":42,"items":[{"sku":"A","qty":1}]}}"#;

struct Round {
    seconds: f64,
    transitions: u64,
    commits: u64,
    commit_micros: u64,
}

async fn round(
    engine: &baton_engine::Engine,
    sm: &str,
    tag: &str,
    executions: usize,
    states: usize,
) -> anyhow::Result<Round> {
    let m = engine.metrics();
    let (t0, c0, us0) = (
        m.transitions.load(Relaxed),
        m.commits.load(Relaxed),
        m.commit_micros_total.load(Relaxed),
    );
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..executions {
        let engine = engine.clone();
        let sm = sm.to_string();
        let name = format!("{tag}-{i}");
        set.spawn(async move {
            let c = caller();
            let s = engine
                .start_execution(&c, &sm, Some(name), Some(INPUT.to_string()), None)
                .await
                .map_err(|e| anyhow::anyhow!("StartExecution failed: {e}"))?;
            let rec = engine
                .wait_for_end(&s.execution_arn)
                .await
                .map_err(|e| anyhow::anyhow!("waiting for the end failed: {e}"))?;
            anyhow::Ok(rec)
        });
    }
    while let Some(r) = set.join_next().await {
        let rec = r??;
        anyhow::ensure!(
            rec.status == "SUCCEEDED",
            "execution {} ended {} ({:?}: {:?})",
            rec.arn,
            rec.status,
            rec.error,
            rec.cause
        );
        let step = rec
            .output
            .as_deref()
            .and_then(|o| serde_json::from_str::<Value>(o).ok())
            .and_then(|v| v.pointer("/data/step").and_then(Value::as_i64));
        anyhow::ensure!(
            step == Some(states as i64 - 1),
            "execution {} has an unexpected output {:?}",
            rec.arn,
            rec.output
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(Round {
        seconds,
        transitions: m.transitions.load(Relaxed) - t0,
        commits: m.commits.load(Relaxed) - c0,
        commit_micros: m.commit_micros_total.load(Relaxed) - us0,
    })
}

pub(crate) fn run(args: DurableArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.executions > 0, "--executions must be at least 1");
    anyhow::ensure!(args.states > 0, "--states must be at least 1");
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    let load_before = loadavg();
    let dir = TempDir::new("durable")?;
    let rt = runtime()?;
    let rounds = rt.block_on(async {
        let engine = open_engine(&dir, args.read_connections).await?;
        let sm =
            create_state_machine(&engine, "bench-pass-chain", &definition(args.states)).await?;
        // Warm-up: compiles the definition, fills caches.
        round(&engine, &sm, "warm", args.executions.min(100), args.states).await?;
        let mut rounds = Vec::new();
        for r in 0..args.rounds {
            rounds.push(round(&engine, &sm, &format!("r{r}"), args.executions, args.states).await?);
        }
        engine.shutdown().await;
        anyhow::Ok(rounds)
    })?;
    drop(rt);
    let load_after = loadavg();
    let rates: Vec<f64> = rounds
        .iter()
        .map(|r| r.transitions as f64 / r.seconds)
        .collect();
    let transitions: u64 = rounds.iter().map(|r| r.transitions).sum();
    let commits: u64 = rounds.iter().map(|r| r.commits).sum();
    let commit_micros: u64 = rounds.iter().map(|r| r.commit_micros).sum();
    let seconds: f64 = rounds.iter().map(|r| r.seconds).sum();
    let rate = median(&rates);
    let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let max = rates.iter().copied().fold(0.0, f64::max);
    let (_, hwm) = rss();
    let per_commit = if commits > 0 {
        transitions as f64 / commits as f64
    } else {
        0.0
    };
    let commit_ms = if commits > 0 {
        commit_micros as f64 / commits as f64 / 1000.0
    } else {
        0.0
    };
    let exec_rate = median(
        &rounds
            .iter()
            .map(|r| args.executions as f64 / r.seconds)
            .collect::<Vec<_>>(),
    );
    if args.json {
        crate::out(
            &json!({
                "workload": "durable",
                "transitions_per_sec": rate.round(),
                "transitions_per_sec_min": min.round(),
                "transitions_per_sec_max": max.round(),
                "rounds": args.rounds,
                "executions_per_round": args.executions,
                "states_per_execution": args.states,
                "executions_per_sec": round3(exec_rate),
                "transitions": transitions,
                "seconds": round3(seconds),
                "commits": commits,
                "transitions_per_commit": round3(per_commit),
                "commit_ms_avg": round3(commit_ms),
                "store": "sqlite synchronous=FULL",
                "read_connections": args.read_connections,
                "history": true,
                "rss_peak_bytes": hwm,
                "loadavg_before": load_before,
                "loadavg_after": load_after,
            })
            .to_string(),
        );
    } else {
        crate::out(&format!(
            "durable: {} concurrent executions of a {}-Pass chain, started in process, SQLite synchronous=FULL, history kept",
            args.executions, args.states
        ));
        crate::out(&format!(
            "  transitions/s (counted once durable): {:.0} median of {} rounds (min {:.0}, max {:.0})",
            rate, args.rounds, min, max
        ));
        crate::out(&format!(
            "  executions/s: {exec_rate:.0}; {commits} commits, {per_commit:.1} transitions per commit, {commit_ms:.3} ms per commit"
        ));
        crate::out(&format!(
            "  load average before/after: {} / {}",
            load_before.map_or("?".into(), |l| format!("{l:.2}")),
            load_after.map_or("?".into(), |l| format!("{l:.2}"))
        ));
    }
    Ok(ExitCode::SUCCESS)
}
