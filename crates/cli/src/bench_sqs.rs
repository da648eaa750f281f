//! `baton bench sqs`: full message cycles through the SQS JSON protocol over
//! HTTP/1.1 keep-alive against an in-process `baton serve` (its default
//! SQLite store, `synchronous=FULL`: every acknowledged send, receive and
//! delete is fsync'd).
//!
//! Each of `--concurrency` workers owns a connection and loops:
//! SendMessageBatch (`--batch` messages) → ReceiveMessage (up to `--batch`,
//! long poll) → DeleteMessageBatch of what it received. Throughput counts
//! messages deleted per second of wall time during the measured window
//! (after a warm-up); the load generator runs in this process on its own
//! thread.

use std::cell::Cell;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};

use crate::bench_engine::{TempDir, cpu_seconds, http, loadavg, quantile, round3, runtime};

#[derive(clap::Args)]
pub(crate) struct SqsArgs {
    /// Print one JSON line instead of a summary.
    #[arg(long)]
    json: bool,
    /// Length of the measured window, in seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Warm-up before the measured window, in seconds.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Workers, each with its own connection.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Messages per SendMessageBatch / ReceiveMessage / DeleteMessageBatch
    /// (1..=10).
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// Bytes in each message body.
    #[arg(long, default_value_t = 100)]
    body_bytes: usize,
}

/// One keep-alive connection speaking the SQS JSON protocol.
struct Conn(http::Conn);

impl Conn {
    async fn connect(addr: SocketAddr) -> anyhow::Result<Conn> {
        Ok(Conn(http::Conn::connect(addr).await?))
    }

    /// One action; the response body as JSON (an error if not 200).
    async fn call(&mut self, action: &str, body: &[u8]) -> anyhow::Result<Value> {
        let r = self.0.call_target("AmazonSQS.", action, body).await?;
        anyhow::ensure!(
            r.status == 200,
            "{action}: HTTP {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        serde_json::from_slice(&r.body).with_context(|| format!("{action}: the answer is not JSON"))
    }
}

/// What the workers share (one thread).
struct Shared {
    measuring: Cell<bool>,
    stop: Cell<bool>,
    deleted: Cell<u64>,
    cycles: std::cell::RefCell<Vec<f64>>,
    error: std::cell::RefCell<Option<String>>,
}

async fn worker(addr: SocketAddr, url: String, args: Rc<(usize, String)>, shared: Rc<Shared>) {
    if let Err(e) = cycle_loop(addr, &url, &args, &shared).await {
        shared.error.borrow_mut().get_or_insert(format!("{e:#}"));
        shared.stop.set(true);
    }
}

async fn cycle_loop(
    addr: SocketAddr,
    url: &str,
    args: &(usize, String),
    shared: &Shared,
) -> anyhow::Result<()> {
    let (batch, body) = args;
    let mut conn = Conn::connect(addr).await?;
    let entries: Vec<Value> = (0..*batch)
        .map(|i| json!({"Id": format!("m{i}"), "MessageBody": body}))
        .collect();
    let send = json!({"QueueUrl": url, "Entries": entries}).to_string();
    let receive =
        json!({"QueueUrl": url, "MaxNumberOfMessages": batch, "WaitTimeSeconds": 1}).to_string();
    while !shared.stop.get() {
        let started = Instant::now();
        let sent = conn.call("SendMessageBatch", send.as_bytes()).await?;
        anyhow::ensure!(
            sent["Failed"].as_array().is_none_or(Vec::is_empty),
            "SendMessageBatch failed: {sent}"
        );
        let got = conn.call("ReceiveMessage", receive.as_bytes()).await?;
        let handles: Vec<Value> = got["Messages"]
            .as_array()
            .map(|msgs| {
                msgs.iter()
                    .enumerate()
                    .map(|(i, m)| json!({"Id": format!("d{i}"), "ReceiptHandle": m["ReceiptHandle"]}))
                    .collect()
            })
            .unwrap_or_default();
        if handles.is_empty() {
            continue;
        }
        let n = handles.len() as u64;
        let del = json!({"QueueUrl": url, "Entries": handles}).to_string();
        let deleted = conn.call("DeleteMessageBatch", del.as_bytes()).await?;
        anyhow::ensure!(
            deleted["Failed"].as_array().is_none_or(Vec::is_empty),
            "DeleteMessageBatch failed: {deleted}"
        );
        if shared.measuring.get() {
            shared.deleted.set(shared.deleted.get() + n);
            shared
                .cycles
                .borrow_mut()
                .push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(())
}

/// The load generator: its own single-threaded runtime on its own thread.
fn load(addr: SocketAddr, args: &SqsArgs) -> anyhow::Result<(u64, f64, Vec<f64>, f64)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the load generator's runtime")?;
    let local = tokio::task::LocalSet::new();
    let batch = args.batch;
    let body = "x".repeat(args.body_bytes.max(1));
    let (concurrency, warmup, seconds) = (args.concurrency.max(1), args.warmup, args.seconds);
    local.block_on(&rt, async move {
        let mut setup = Conn::connect(addr).await?;
        let created = setup
            .call(
                "CreateQueue",
                json!({"QueueName": "bench-sqs"}).to_string().as_bytes(),
            )
            .await?;
        let url = created["QueueUrl"]
            .as_str()
            .context("CreateQueue returned no QueueUrl")?
            .to_string();
        let shared = Rc::new(Shared {
            measuring: Cell::new(false),
            stop: Cell::new(false),
            deleted: Cell::new(0),
            cycles: std::cell::RefCell::new(Vec::new()),
            error: std::cell::RefCell::new(None),
        });
        let params = Rc::new((batch, body));
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            tasks.push(tokio::task::spawn_local(worker(
                addr,
                url.clone(),
                params.clone(),
                shared.clone(),
            )));
        }
        tokio::time::sleep(Duration::from_secs_f64(warmup.max(0.0))).await;
        let cpu0 = cpu_seconds();
        let started = Instant::now();
        shared.measuring.set(true);
        tokio::time::sleep(Duration::from_secs_f64(seconds.max(0.1))).await;
        shared.measuring.set(false);
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        shared.stop.set(true);
        for t in tasks {
            let _ = t.await;
        }
        if let Some(e) = shared.error.borrow().clone() {
            anyhow::bail!("a worker failed: {e}");
        }
        let cycles = shared.cycles.borrow().clone();
        Ok((shared.deleted.get(), elapsed, cycles, cpu))
    })
}

pub(crate) fn run(args: SqsArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        (1..=10).contains(&args.batch),
        "--batch must be between 1 and 10"
    );
    let dir = TempDir::new("sqs")?;
    let rt = runtime()?;
    let running = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("cannot listen on 127.0.0.1")?;
        let opts = baton_server::ServeOptions {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        baton_server::start(opts, listener).await
    })?;
    let addr = running.local_addr();
    let result = std::thread::scope(|s| {
        s.spawn(|| load(addr, &args))
            .join()
            .map_err(|_| anyhow::anyhow!("the load generator panicked"))?
    });
    rt.block_on(running.shutdown())?;
    let (deleted, elapsed, mut cycles, cpu) = result?;
    cycles.sort_by(f64::total_cmp);
    let rate = deleted as f64 / elapsed;
    let out = json!({
        "workload": "sqs",
        "messages_per_sec": rate.round(),
        "messages": deleted,
        "seconds": round3(elapsed),
        "concurrency": args.concurrency,
        "batch": args.batch,
        "body_bytes": args.body_bytes,
        "cycle_p50_ms": round3(quantile(&cycles, 0.5)),
        "cycle_p99_ms": round3(quantile(&cycles, 0.99)),
        "cpu_percent": round3(100.0 * cpu / elapsed),
        "synchronous": "FULL",
        "loadavg": loadavg(),
    });
    if args.json {
        crate::out(&out.to_string());
    } else {
        crate::out(&format!(
            "sqs: {:.0} messages/s (send → receive → delete, batches of {}, {} workers, {:.1} s; \
             cycle p50 {:.2} ms, p99 {:.2} ms; durable, synchronous=FULL)",
            rate,
            args.batch,
            args.concurrency,
            elapsed,
            quantile(&cycles, 0.5),
            quantile(&cycles, 0.99)
        ));
    }
    Ok(ExitCode::SUCCESS)
}
