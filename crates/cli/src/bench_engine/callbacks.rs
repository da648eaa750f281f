//! `baton bench callbacks`: a chain of activity Tasks with many executions
//! waiting; latency = SendTaskSuccess sent over HTTP → the execution's next
//! activity task handed to a waiting GetActivityTask poller (HTTP long poll).
//!
//! The server (`baton_server::router`, axum) runs in this process on
//! 127.0.0.1 with its own store; the load generator runs on its own thread
//! (a single-threaded tokio runtime) over HTTP/1.1 keep-alive connections.
//!
//! Two phases: one callback at a time (`p50_ms`, `p99_ms`: the figure the
//! Restate peer's sequential "resume" latency compares with), then
//! `--concurrency` senders for `--seconds`, each in a closed loop over the
//! whole round trip (it sends its next callback once the previous one's next
//! task has been handed out): `callbacks_per_sec` and the latency under that
//! load.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};

use super::http::Conn;
use super::{
    TempDir, bounded, caller, create_state_machine, loadavg, open_engine, quantile, round3, runtime,
};

#[derive(clap::Args)]
pub(crate) struct CallbacksArgs {
    /// Print one JSON line instead of a summary.
    #[arg(long)]
    json: bool,
    /// Idle read connections the SQLite store keeps (default: the store's
    /// own default); a tuning experiment, durability is unchanged.
    #[arg(long, value_name = "N")]
    read_connections: Option<usize>,
    /// Executions waiting on an activity task.
    #[arg(long, default_value_t = 10_000)]
    executions: usize,
    /// Activity Tasks in each execution's chain.
    #[arg(long, default_value_t = 10)]
    chain: usize,
    /// Callbacks measured one at a time.
    #[arg(long, default_value_t = 2_000)]
    samples: usize,
    /// Senders (each with its own connection) in the loaded phase.
    #[arg(long, default_value_t = 128)]
    concurrency: usize,
    /// GetActivityTask pollers (each with its own connection).
    #[arg(long, default_value_t = 128)]
    pollers: usize,
    /// Length of the loaded phase, in seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Skip the Restate peer.
    #[arg(long)]
    no_peer: bool,
    /// The peer script (default: ../shared/bench/peers/restate_awakeable.cjs
    /// beside the repository).
    #[arg(long, value_name = "FILE", env = "BATON_RESTATE_SCRIPT")]
    peer_script: Option<PathBuf>,
    /// Where the peer's npm packages are installed (passed to the script as
    /// RESTATE_DIR; see the script's header).
    #[arg(long, value_name = "DIR", env = "RESTATE_DIR")]
    restate_dir: Option<PathBuf>,
    /// Runs of the peer's sequential measurements.
    #[arg(long, default_value_t = 5)]
    peer_runs: u32,
    /// Calls per run of the peer's sequential measurements.
    #[arg(long, default_value_t = 200)]
    peer_n: u32,
}

const ACTIVITY: &str = "bench-callbacks";

fn definition(activity_arn: &str, chain: usize) -> Value {
    let mut states = serde_json::Map::new();
    for i in 0..chain {
        let mut s = json!({
            "Type": "Task",
            "Resource": activity_arn,
            "Parameters": { "exec.$": "$$.Execution.Name", "step": i },
            "ResultPath": null,
        });
        if let Some(o) = s.as_object_mut() {
            if i + 1 == chain {
                o.insert("End".into(), Value::Bool(true));
            } else {
                o.insert("Next".into(), Value::String(format!("T{}", i + 1)));
            }
        }
        states.insert(format!("T{i}"), s);
    }
    json!({ "StartAt": "T0", "States": states })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Setup,
    Sequential,
    Loaded,
    Done,
}

/// The load generator's view: tokens in hand, callbacks in flight.
struct State {
    phase: Phase,
    chain: usize,
    /// Execution index → (token, step) of the task it waits on.
    tokens: HashMap<u32, (String, usize)>,
    /// Executions with a token in hand whose task is not the chain's last.
    available: VecDeque<u32>,
    /// Callbacks sent, awaiting the next task: execution → when sent.
    pending: HashMap<u32, Instant>,
    sequential: Vec<f64>,
    loaded: Vec<f64>,
    /// (when received) of loaded-phase completions.
    loaded_at: Vec<Instant>,
    send_ack: Vec<f64>,
    received: usize,
    errors: Vec<String>,
}

struct Shared {
    state: RefCell<State>,
    /// A task arrived (wakes the sequential driver and waiting senders).
    arrived: tokio::sync::Notify,
}

fn exec_index(input: &str) -> Option<(u32, usize)> {
    let v: Value = serde_json::from_str(input).ok()?;
    let name = v.get("exec")?.as_str()?;
    let i = name.strip_prefix("cb-")?.parse().ok()?;
    let step = usize::try_from(v.get("step")?.as_u64()?).ok()?;
    Some((i, step))
}

async fn poller(addr: SocketAddr, activity_arn: String, shared: Rc<Shared>) {
    let mut conn = match Conn::connect(addr).await {
        Ok(c) => c,
        Err(e) => {
            shared.state.borrow_mut().errors.push(e.to_string());
            return;
        }
    };
    let body = json!({ "activityArn": activity_arn, "workerName": "bench" }).to_string();
    loop {
        if shared.state.borrow().phase == Phase::Done {
            return;
        }
        let resp = match conn.call("GetActivityTask", body.as_bytes()).await {
            Ok(r) => r,
            Err(e) => {
                shared.state.borrow_mut().errors.push(e.to_string());
                return;
            }
        };
        let now = Instant::now();
        if resp.status != 200 {
            shared.state.borrow_mut().errors.push(format!(
                "GetActivityTask: {} {}",
                resp.status,
                String::from_utf8_lossy(&resp.body)
            ));
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&resp.body) else {
            continue;
        };
        let (Some(token), Some(input)) = (
            v.get("taskToken").and_then(Value::as_str),
            v.get("input").and_then(Value::as_str),
        ) else {
            continue;
        };
        let Some((i, step)) = exec_index(input) else {
            shared
                .state
                .borrow_mut()
                .errors
                .push(format!("unexpected task input {input}"));
            continue;
        };
        {
            let mut st = shared.state.borrow_mut();
            st.received += 1;
            if let Some(sent) = st.pending.remove(&i) {
                let ms = (now - sent).as_secs_f64() * 1000.0;
                match st.phase {
                    Phase::Sequential => st.sequential.push(ms),
                    Phase::Loaded => {
                        st.loaded.push(ms);
                        st.loaded_at.push(now);
                    }
                    Phase::Setup | Phase::Done => {}
                }
            }
            st.tokens.insert(i, (token.to_string(), step));
            if step + 1 < st.chain {
                st.available.push_back(i);
            }
        }
        shared.arrived.notify_waiters();
    }
}

/// Waits until `done` holds, waking on arrivals; fails after `limit`.
async fn wait_until(
    shared: &Shared,
    limit: Duration,
    what: &str,
    done: impl Fn(&State) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let notified = shared.arrived.notified();
        {
            let st = shared.state.borrow();
            if done(&st) {
                return Ok(());
            }
            if let Some(e) = st.errors.first() {
                anyhow::bail!("{what}: {e}");
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        anyhow::ensure!(!left.is_zero(), "{what}: timed out after {limit:?}");
        let _ = tokio::time::timeout(left.min(Duration::from_millis(100)), notified).await;
    }
}

fn success_body(token: &str) -> Vec<u8> {
    json!({ "taskToken": token, "output": "{\"ok\":true}" })
        .to_string()
        .into_bytes()
}

/// Takes an execution with a token in hand (not at its chain's last task).
fn take(shared: &Shared) -> Option<(u32, String)> {
    let mut st = shared.state.borrow_mut();
    while let Some(i) = st.available.pop_front() {
        if let Some((token, _)) = st.tokens.remove(&i) {
            return Some((i, token));
        }
    }
    None
}

async fn send(conn: &mut Conn, shared: &Shared, i: u32, token: &str) -> anyhow::Result<f64> {
    let body = success_body(token);
    let sent = Instant::now();
    shared.state.borrow_mut().pending.insert(i, sent);
    let resp = conn.call("SendTaskSuccess", &body).await?;
    anyhow::ensure!(
        resp.status == 200,
        "SendTaskSuccess: {} {}",
        resp.status,
        String::from_utf8_lossy(&resp.body)
    );
    Ok(sent.elapsed().as_secs_f64() * 1000.0)
}

async fn sender(addr: SocketAddr, shared: Rc<Shared>, until: Instant) -> anyhow::Result<()> {
    let mut conn = Conn::connect(addr).await?;
    loop {
        if Instant::now() >= until {
            return Ok(());
        }
        let next = loop {
            let notified = shared.arrived.notified();
            if let Some(x) = take(&shared) {
                break Some(x);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break None;
            }
            let _ = tokio::time::timeout(left, notified).await;
        };
        let Some((i, token)) = next else {
            return Ok(());
        };
        let ms = send(&mut conn, &shared, i, &token).await?;
        shared.state.borrow_mut().send_ack.push(ms);
        // A closed loop over the whole round trip: the next callback goes
        // once this one's next task has been handed out.
        wait_until(&shared, Duration::from_secs(30), "a callback", |s| {
            !s.pending.contains_key(&i)
        })
        .await?;
    }
}

struct ClientReport {
    sequential: Vec<f64>,
    loaded: Vec<f64>,
    loaded_completed: usize,
    loaded_seconds: f64,
    send_ack: Vec<f64>,
    /// SendTaskSuccess answered, one at a time (ms).
    seq_ack: Vec<f64>,
    setup_seconds: f64,
    exhausted: bool,
    /// Group commits during the loaded phase, and their total time (µs).
    loaded_commits: u64,
    loaded_commit_micros: u64,
    /// CPU time of the whole process (server and load generator) during the
    /// loaded phase.
    loaded_cpu_seconds: f64,
}

async fn client(
    addr: SocketAddr,
    activity_arn: String,
    args: ClientArgs,
    engine: baton_engine::Engine,
) -> anyhow::Result<ClientReport> {
    use std::sync::atomic::Ordering::Relaxed;
    let shared = Rc::new(Shared {
        state: RefCell::new(State {
            phase: Phase::Setup,
            chain: args.chain,
            tokens: HashMap::new(),
            available: VecDeque::new(),
            pending: HashMap::new(),
            sequential: Vec::new(),
            loaded: Vec::new(),
            loaded_at: Vec::new(),
            send_ack: Vec::new(),
            received: 0,
            errors: Vec::new(),
        }),
        arrived: tokio::sync::Notify::new(),
    });
    let setup = Instant::now();
    let mut pollers = Vec::new();
    for _ in 0..args.pollers.max(1) {
        pollers.push(tokio::task::spawn_local(poller(
            addr,
            activity_arn.clone(),
            shared.clone(),
        )));
    }
    // Every execution's first task handed out: all executions now wait on
    // a token the generator holds.
    let n = args.executions;
    wait_until(
        &shared,
        Duration::from_secs(600),
        "handing out the first tasks",
        |s| s.tokens.len() >= n,
    )
    .await?;
    let setup_seconds = setup.elapsed().as_secs_f64();

    // One callback at a time.
    shared.state.borrow_mut().phase = Phase::Sequential;
    let mut conn = Conn::connect(addr).await?;
    let mut exhausted = false;
    let mut seq_ack = Vec::with_capacity(args.samples);
    for _ in 0..args.samples {
        let Some((i, token)) = take(&shared) else {
            exhausted = true;
            break;
        };
        let ms = send(&mut conn, &shared, i, &token).await?;
        seq_ack.push(ms);
        wait_until(&shared, Duration::from_secs(30), "a callback", |s| {
            !s.pending.contains_key(&i)
        })
        .await?;
    }

    // Closed loop: `concurrency` senders.
    shared.state.borrow_mut().phase = Phase::Loaded;
    let m = engine.metrics();
    let (c0, us0) = (m.commits.load(Relaxed), m.commit_micros_total.load(Relaxed));
    let cpu0 = super::cpu_seconds();
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(args.seconds);
    let mut senders = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        senders.push(tokio::task::spawn_local(sender(
            addr,
            shared.clone(),
            until,
        )));
    }
    for s in senders {
        s.await.context("a sender panicked")??;
    }
    let loaded_seconds = start.elapsed().as_secs_f64();
    let (c1, us1) = (m.commits.load(Relaxed), m.commit_micros_total.load(Relaxed));
    let loaded_cpu_seconds = super::cpu_seconds() - cpu0;
    // Let the callbacks in flight land (they count in the latency figures).
    let _ = wait_until(&shared, Duration::from_secs(10), "draining", |s| {
        s.pending.is_empty()
    })
    .await;
    let mut st = shared.state.borrow_mut();
    st.phase = Phase::Done;
    if st.available.is_empty() && st.pending.is_empty() {
        exhausted = true;
    }
    let loaded_completed = st.loaded_at.iter().filter(|t| **t <= until).count();
    let report = ClientReport {
        sequential: std::mem::take(&mut st.sequential),
        loaded: std::mem::take(&mut st.loaded),
        loaded_completed,
        loaded_seconds: loaded_seconds.min(args.seconds.max(1e-9)),
        send_ack: std::mem::take(&mut st.send_ack),
        seq_ack,
        setup_seconds,
        exhausted,
        loaded_commits: c1 - c0,
        loaded_commit_micros: us1 - us0,
        loaded_cpu_seconds,
    };
    drop(st);
    for p in pollers {
        p.abort();
    }
    Ok(report)
}

#[derive(Clone, Copy)]
struct ClientArgs {
    executions: usize,
    chain: usize,
    samples: usize,
    concurrency: usize,
    pollers: usize,
    seconds: f64,
}

/// Runs the load generator on its own thread (single-threaded runtime).
fn spawn_client(
    addr: SocketAddr,
    activity_arn: String,
    args: ClientArgs,
    engine: baton_engine::Engine,
) -> std::thread::JoinHandle<anyhow::Result<ClientReport>> {
    std::thread::Builder::new()
        .name("bench-client".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, client(addr, activity_arn, args, engine))
        })
        .unwrap_or_else(|e| {
            std::thread::spawn(move || Err(anyhow::anyhow!("cannot start the client thread: {e}")))
        })
}

struct BatonResult {
    report: ClientReport,
    start_seconds: f64,
}

fn run_baton(args: &CallbacksArgs) -> anyhow::Result<BatonResult> {
    let dir = TempDir::new("callbacks")?;
    let rt = runtime()?;
    let result = rt.block_on(async {
        let engine = open_engine(&dir, args.read_connections).await?;
        let activity = engine
            .create_activity(&caller(), ACTIVITY, Vec::new(), None)
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the activity: {e}"))?;
        let sm = create_state_machine(
            &engine,
            "bench-activity-chain",
            &definition(&activity.arn, args.chain),
        )
        .await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let app = baton_server::router(baton_server::AppState::new(engine.clone(), None));
        let server = tokio::spawn(async move { axum::serve(listener, app).await });

        let started = Instant::now();
        let names = 0..args.executions;
        let results = bounded(names, 256, |i| {
            let engine = engine.clone();
            let sm = sm.clone();
            async move {
                engine
                    .start_execution(&caller(), &sm, Some(format!("cb-{i}")), None, None)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
        .await;
        if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
            anyhow::bail!("StartExecution failed: {e}");
        }
        let start_seconds = started.elapsed().as_secs_f64();

        let client_args = ClientArgs {
            executions: args.executions,
            chain: args.chain,
            samples: args.samples,
            concurrency: args.concurrency,
            pollers: args.pollers,
            seconds: args.seconds,
        };
        let handle = spawn_client(addr, activity.arn.clone(), client_args, engine.clone());
        let report = tokio::task::spawn_blocking(move || handle.join())
            .await
            .context("the client thread failed")?
            .map_err(|_| anyhow::anyhow!("the client thread panicked"))??;
        server.abort();
        engine.shutdown().await;
        anyhow::Ok(BatonResult {
            report,
            start_seconds,
        })
    });
    // Dropping the runtime ends the connections still open (long polls).
    drop(rt);
    result
}

/// The Restate peer's figures, or why there are none.
fn run_peer(args: &CallbacksArgs) -> Value {
    if args.no_peer {
        return json!({ "status": "skipped", "reason": "--no-peer" });
    }
    let script = args.peer_script.clone().unwrap_or_else(|| {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/bench/peers/restate_awakeable.cjs"
        ))
    });
    if !script.is_file() {
        return json!({
            "status": "unavailable",
            "reason": format!("peer script not found: {} (set --peer-script)", script.display()),
        });
    }
    let mut cmd = std::process::Command::new("node");
    cmd.arg(&script)
        .args(["--runs", &args.peer_runs.to_string()])
        .args(["--n", &args.peer_n.to_string()])
        .args(["--conc", "8", "--secs", "2"])
        .stdin(std::process::Stdio::null());
    if let Some(d) = &args.restate_dir {
        cmd.env("RESTATE_DIR", d);
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            return json!({ "status": "unavailable", "reason": format!("cannot run node: {e}") });
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'));
    let parsed = line.and_then(|l| serde_json::from_str::<Value>(l).ok());
    let Some(v) = parsed.filter(|_| out.status.success()) else {
        let tail: String = stderr
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" | ");
        return json!({
            "status": "unavailable",
            "reason": format!(
                "the peer did not run ({}): {tail} (install it as the script's header says: npm packages @restatedev/restate-server and @restatedev/restate-sdk into RESTATE_DIR)",
                out.status
            ),
        });
    };
    let awakeable = v.get("results").and_then(Value::as_array).and_then(|r| {
        r.iter()
            .find(|x| x.get("name") == Some(&json!("awakeable")))
    });
    let get = |p: &str| {
        awakeable
            .and_then(|a| a.pointer(p))
            .cloned()
            .unwrap_or(Value::Null)
    };
    json!({
        "status": "ok",
        "name": "restate awakeable",
        "server": v.get("server").cloned().unwrap_or(Value::Null),
        "resume_p50_ms": get("/component_p50_ms/resume/median"),
        "resolve_call_p50_ms": get("/component_p50_ms/resolveApi/median"),
        "round_trip_p50_ms": get("/p50_ms/median"),
        "round_trip_p99_ms": get("/p99_ms/median"),
        "runs": args.peer_runs,
        "samples_per_run": args.peer_n,
    })
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

pub(crate) fn run(args: CallbacksArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.executions > 0, "--executions must be at least 1");
    anyhow::ensure!(args.chain >= 2, "--chain must be at least 2");
    anyhow::ensure!(
        args.seconds.is_finite() && args.seconds > 0.0,
        "--seconds must be positive"
    );
    anyhow::ensure!(
        u32::try_from(args.executions).is_ok(),
        "--executions is too large"
    );
    let load_before = loadavg();
    let baton = run_baton(&args)?;
    let load_after = loadavg();
    // The peer runs after Baton has stopped, so neither takes the other's CPU.
    let peer = run_peer(&args);
    let r = &baton.report;
    let seq = sorted(r.sequential.clone());
    let loaded = sorted(r.loaded.clone());
    let ack = sorted(r.send_ack.clone());
    let seq_ack = sorted(r.seq_ack.clone());
    let rate = r.loaded_completed as f64 / r.loaded_seconds;
    let p50 = quantile(&seq, 0.5);
    let p99 = quantile(&seq, 0.99);
    let peer_resume = peer.get("resume_p50_ms").and_then(Value::as_f64);
    let commit_ms = if r.loaded_commits > 0 {
        r.loaded_commit_micros as f64 / r.loaded_commits as f64 / 1000.0
    } else {
        0.0
    };
    if args.json {
        crate::out(
            &json!({
                "workload": "callbacks",
                "p50_ms": round3(p50),
                "p99_ms": round3(p99),
                "callbacks_per_sec": rate.round(),
                "samples": seq.len(),
                "max_ms": round3(seq.last().copied().unwrap_or(0.0)),
                "send_ack_p50_ms": round3(quantile(&seq_ack, 0.5)),
                "executions_waiting": args.executions,
                "chain": args.chain,
                "pollers": args.pollers,
                "loaded_concurrency": args.concurrency,
                "loaded_seconds": round3(r.loaded_seconds),
                "loaded_callbacks": r.loaded_completed,
                "loaded_p50_ms": round3(quantile(&loaded, 0.5)),
                "loaded_p99_ms": round3(quantile(&loaded, 0.99)),
                "loaded_send_ack_p50_ms": round3(quantile(&ack, 0.5)),
                "loaded_commits_per_sec": (r.loaded_commits as f64 / r.loaded_seconds).round(),
                "loaded_commit_ms_avg": round3(commit_ms),
                "loaded_cores_used": round3(r.loaded_cpu_seconds / r.loaded_seconds),
                "loaded_cpu_us_per_callback": (r.loaded_cpu_seconds * 1e6 / r.loaded_completed.max(1) as f64).round(),
                "exhausted": r.exhausted,
                "start_seconds": round3(baton.start_seconds),
                "hand_out_seconds": round3(r.setup_seconds),
                "http": "HTTP/1.1 keep-alive, 127.0.0.1, one connection per poller and per sender",
                "store": "sqlite synchronous=FULL",
                "read_connections": args.read_connections,
                "peer": peer,
                "peer_resume_p50_ms": peer_resume,
                "loadavg_before": load_before,
                "loadavg_after": load_after,
            })
            .to_string(),
        );
    } else {
        crate::out(&format!(
            "callbacks: {} executions waiting on a chain of {} activity Tasks; SendTaskSuccess over HTTP -> next task at a waiting GetActivityTask poller ({} pollers)",
            args.executions, args.chain, args.pollers
        ));
        crate::out(&format!(
            "  one at a time ({} samples): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (SendTaskSuccess answered: p50 {:.3} ms)",
            seq.len(),
            p50,
            p99,
            seq.last().copied().unwrap_or(0.0),
            quantile(&seq_ack, 0.5)
        ));
        crate::out(&format!(
            "  {} senders for {:.1} s: {:.0} callbacks/s, p50 {:.3} ms, p99 {:.3} ms (SendTaskSuccess answered: p50 {:.3} ms){}",
            args.concurrency,
            r.loaded_seconds,
            rate,
            quantile(&loaded, 0.5),
            quantile(&loaded, 0.99),
            quantile(&ack, 0.5),
            if r.exhausted {
                " [ran out of tasks: raise --chain]"
            } else {
                ""
            }
        ));
        crate::out(&format!(
            "  loaded phase: {:.0} group commits/s, {:.3} ms per commit on average; {:.2} cores used, {:.0} us CPU per callback (server + load generator)",
            r.loaded_commits as f64 / r.loaded_seconds,
            commit_ms,
            r.loaded_cpu_seconds / r.loaded_seconds,
            r.loaded_cpu_seconds * 1e6 / r.loaded_completed.max(1) as f64
        ));
        match peer_resume {
            Some(x) => crate::out(&format!(
                "  peer (Restate awakeable, same run, after Baton): resume p50 {x:.2} ms; Baton p50 {p50:.3} ms"
            )),
            None => crate::out(&format!(
                "  peer: {}",
                peer.get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("not run")
            )),
        }
        crate::out(&format!(
            "  load average before/after: {} / {}",
            load_before.map_or("?".into(), |l| format!("{l:.2}")),
            load_after.map_or("?".into(), |l| format!("{l:.2}"))
        ));
    }
    Ok(ExitCode::SUCCESS)
}
