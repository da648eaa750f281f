//! Warm workers: one runtime process each (`node`, `python3`, or a
//! `provided` runtime's `bootstrap`), talking to its own Runtime API
//! endpoint, one invocation at a time; and the pool of workers of one
//! function revision.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot, watch};

use super::logs::BoundedLog;
use super::model::{FunctionRecord, now_ms};
use super::runtime_api::{ApiEvent, Pending, RuntimeApi};

/// How long a runtime may take to start and ask for its first event
/// (Lambda's init phase limit).
pub(crate) const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The line the Baton bootstraps write on stdout and stderr before they
/// answer, so that every line the invocation printed is in its log.
const SYNC_MARK: &[u8] = b"\x1fbaton-sync ";

/// How to start a worker.
#[derive(Debug, Clone)]
pub(crate) struct SpawnSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    /// The bootstrap writes [`SYNC_MARK`] lines.
    pub synced: bool,
}

/// Output of a worker, attributed to the invocation running.
#[derive(Default)]
struct SinkState {
    /// What the runtime printed while starting (before its `init` mark).
    init: BoundedLog,
    log: BoundedLog,
    /// stdout, stderr: past the `init` mark.
    past_init: [bool; 2],
    syncs: Vec<String>,
    eofs: u8,
}

/// The mark the Baton bootstraps print once the handler is loaded.
const INIT_ID: &str = "init";

#[derive(Default)]
pub(crate) struct LogSink {
    state: Mutex<SinkState>,
    notify: Notify,
}

impl LogSink {
    fn new(synced: bool) -> LogSink {
        let sink = LogSink::default();
        if let Ok(mut s) = sink.state.lock() {
            s.past_init = [!synced, !synced];
        }
        sink
    }

    fn push(&self, stream: usize, bytes: &[u8]) {
        if let Ok(mut s) = self.state.lock() {
            if s.past_init[stream] {
                s.log.push(bytes);
            } else {
                s.init.push(bytes);
            }
        }
    }

    fn line(&self, stream: usize, line: &[u8]) {
        match line.windows(SYNC_MARK.len()).position(|w| w == SYNC_MARK) {
            Some(i) => {
                if i > 0 {
                    let mut before = line[..i].to_vec();
                    before.push(b'\n');
                    self.push(stream, &before);
                }
                let id = String::from_utf8_lossy(&line[i + SYNC_MARK.len()..])
                    .trim()
                    .to_string();
                if let Ok(mut s) = self.state.lock() {
                    if id == INIT_ID {
                        s.past_init[stream] = true;
                    } else {
                        s.syncs.push(id);
                    }
                }
                self.notify.notify_waiters();
            }
            None => self.push(stream, line),
        }
    }

    fn take_init(&self) -> Vec<u8> {
        self.state
            .lock()
            .map(|mut s| s.init.take())
            .unwrap_or_default()
    }

    fn eof(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.eofs += 1;
        }
        self.notify.notify_waiters();
    }

    fn take(&self) -> Vec<u8> {
        self.state
            .lock()
            .map(|mut s| s.log.take())
            .unwrap_or_default()
    }

    /// Waits until `done` holds (checked under the lock) or `limit` passes.
    async fn wait(&self, limit: Duration, done: impl Fn(&mut SinkState) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.notify.notified();
            if self.state.lock().map(|mut s| done(&mut s)).unwrap_or(true) {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }
}

fn spawn_reader<R: AsyncRead + Unpin + Send + 'static>(
    mut r: R,
    stream: usize,
    sink: Arc<LogSink>,
) {
    tokio::spawn(async move {
        const MAX_LINE: usize = 64 * 1024;
        let mut pending: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 8192];
        loop {
            match r.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    pending.extend_from_slice(&chunk[..n]);
                    while let Some(i) = pending.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=i).collect();
                        sink.line(stream, &line);
                    }
                    if pending.len() > MAX_LINE {
                        sink.push(stream, &std::mem::take(&mut pending));
                    }
                }
            }
        }
        if !pending.is_empty() {
            sink.line(stream, &pending);
        }
        sink.eof();
    });
}

/// One runtime process.
pub(crate) struct Worker {
    api: RuntimeApi,
    sink: Arc<LogSink>,
    exit: watch::Receiver<Option<String>>,
    /// Dropping it kills the process.
    kill: oneshot::Sender<()>,
    pid: Option<u32>,
    synced: bool,
    initialized: bool,
    spawned: Instant,
    pub last_used: Instant,
    /// False once the process died, timed out or failed to initialise.
    pub healthy: bool,
}

/// What one invocation produced.
#[derive(Debug)]
pub(crate) struct RunReport {
    pub payload: Vec<u8>,
    /// The invocation failed (`X-Amz-Function-Error: Unhandled`).
    pub failed: bool,
    /// START .. REPORT, as Lambda writes them.
    pub log: Vec<u8>,
}

impl Worker {
    /// Starts a worker; `spec.env` gets `AWS_LAMBDA_RUNTIME_API` added.
    pub async fn spawn(spec: &SpawnSpec) -> std::io::Result<Worker> {
        let api = RuntimeApi::start().await?;
        let mut cmd = tokio::process::Command::new(&spec.program);
        cmd.args(&spec.args)
            .current_dir(&spec.cwd)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Terminal signals (Ctrl-C) go to Baton, which stops its workers.
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = cmd.spawn()?;
        let sink = Arc::new(LogSink::new(spec.synced));
        if let Some(out) = child.stdout.take() {
            spawn_reader(out, 0, sink.clone());
        } else {
            sink.eof();
        }
        if let Some(err) = child.stderr.take() {
            spawn_reader(err, 1, sink.clone());
        } else {
            sink.eof();
        }
        let pid = child.id();
        let (exit_tx, exit_rx) = watch::channel(None);
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let status = tokio::select! {
                s = child.wait() => s,
                _ = kill_rx => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            let text = match status {
                Ok(s) => describe_exit(s),
                Err(e) => format!("error: {e}"),
            };
            let _ = exit_tx.send(Some(text));
        });
        let now = Instant::now();
        Ok(Worker {
            api,
            sink,
            exit: exit_rx,
            kill: kill_tx,
            pid,
            synced: spec.synced,
            initialized: false,
            spawned: now,
            last_used: now,
            healthy: true,
        })
    }

    /// Whether the process is still running.
    pub fn alive(&self) -> bool {
        self.healthy && self.exit.borrow().is_none()
    }

    /// Runs one invocation to its end (response, error, timeout or the
    /// process dying).
    pub async fn invoke(
        &mut self,
        request_id: &str,
        payload: Vec<u8>,
        function: &FunctionRecord,
    ) -> RunReport {
        let timeout = Duration::from_secs(function.timeout);
        let pre = self.sink.take();
        let submitted = Instant::now();
        let pending = Pending {
            request_id: request_id.to_string(),
            payload,
            timeout_ms: function.timeout * 1000,
            function_arn: function.arn(),
            trace_id: trace_id(),
        };
        let mut delivered: Option<Instant> = None;
        let mut init_duration: Option<Duration> = None;
        let mut timed_out = false;
        let outcome: Result<Vec<u8>, Vec<u8>> = if self.api.pending.send(pending).await.is_err() {
            self.healthy = false;
            Err(exit_error(
                request_id,
                "Runtime exited without providing a reason",
            ))
        } else {
            loop {
                let deadline = match delivered {
                    Some(t) => t + timeout,
                    None => submitted + INIT_TIMEOUT.max(timeout),
                };
                tokio::select! {
                    ev = self.api.events.recv() => match ev {
                        None => {
                            self.healthy = false;
                            break Err(exit_error(request_id, "Runtime exited without providing a reason"));
                        }
                        Some(ev) => if let Some(done) = self.event(ev, request_id, &mut delivered, &mut init_duration) {
                            break done;
                        },
                    },
                    _ = self.exit.changed() => {
                        // An answer sent just before exiting still counts.
                        let mut answered = None;
                        while let Ok(ev) = self.api.events.try_recv() {
                            if let Some(done) = self.event(ev, request_id, &mut delivered, &mut init_duration) {
                                answered = Some(done);
                                break;
                            }
                        }
                        self.healthy = false;
                        match answered {
                            Some(done) => break done,
                            None => {
                                let status = self.exit.borrow().clone().unwrap_or_default();
                                break Err(exit_error(
                                    request_id,
                                    &format!("Runtime exited with error: {status}"),
                                ));
                            }
                        }
                    }
                    _ = tokio::time::sleep_until(deadline.into()) => {
                        self.healthy = false;
                        timed_out = true;
                        break Err(json!({
                            "errorType": "Sandbox.Timedout",
                            "errorMessage": format!(
                                "RequestId: {request_id} Error: Task timed out after {}.00 seconds",
                                function.timeout
                            ),
                        }).to_string().into_bytes());
                    }
                }
            }
        };
        let finished = Instant::now();
        // Every line printed before the answer belongs to this invocation.
        if self.alive() && self.synced {
            let id = request_id.to_string();
            self.sink
                .wait(Duration::from_secs(1), move |s| {
                    let n = s.syncs.iter().filter(|x| **x == id).count();
                    if n >= 2 || s.eofs >= 2 {
                        s.syncs.retain(|x| *x != id);
                        true
                    } else {
                        false
                    }
                })
                .await;
        } else if self.alive() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        } else if !timed_out {
            self.sink
                .wait(Duration::from_millis(300), |s| s.eofs >= 2)
                .await;
        }
        let max_memory = self.pid.and_then(max_memory_mb).unwrap_or(0);
        if timed_out {
            // Killed now; its output so far is in the log.
            let (tx, _) = oneshot::channel();
            drop(std::mem::replace(&mut self.kill, tx));
        }
        let during = self.sink.take();
        let started_at = delivered.unwrap_or(submitted);
        let duration = finished.saturating_duration_since(started_at);
        // Output of the runtime's start, then of the time between invocations.
        let mut log = self.sink.take_init();
        log.extend_from_slice(&pre);
        log.extend_from_slice(
            format!("START RequestId: {request_id} Version: $LATEST\n").as_bytes(),
        );
        log.extend_from_slice(&during);
        if timed_out {
            log.extend_from_slice(
                format!(
                    "{} {request_id} Task timed out after {}.00 seconds\n",
                    baton_asl::time::format_millis(now_ms()),
                    function.timeout
                )
                .as_bytes(),
            );
        }
        log.extend_from_slice(format!("END RequestId: {request_id}\n").as_bytes());
        let ms = duration.as_secs_f64() * 1000.0;
        let mut report = format!(
            "REPORT RequestId: {request_id}\tDuration: {ms:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {max_memory} MB\t",
            (ms.ceil() as u64).max(1),
            function.memory
        );
        if let Some(init) = init_duration {
            report.push_str(&format!(
                "Init Duration: {:.2} ms\t",
                init.as_secs_f64() * 1000.0
            ));
        }
        if timed_out {
            report.push_str("Status: timeout");
        }
        report.push('\n');
        log.extend_from_slice(report.as_bytes());
        self.last_used = Instant::now();
        let (payload, failed) = match outcome {
            Ok(p) => (p, false),
            Err(p) => (p, true),
        };
        RunReport {
            payload,
            failed,
            log,
        }
    }

    /// Handles one Runtime API event; `Some` ends the invocation (Ok: the
    /// response, Err: the error payload).
    fn event(
        &mut self,
        ev: ApiEvent,
        request_id: &str,
        delivered: &mut Option<Instant>,
        init_duration: &mut Option<Duration>,
    ) -> Option<Result<Vec<u8>, Vec<u8>>> {
        match ev {
            ApiEvent::Delivered { request_id: id, at } if id == request_id => {
                *delivered = Some(at);
                if !self.initialized {
                    self.initialized = true;
                    *init_duration = Some(at.saturating_duration_since(self.spawned));
                }
                None
            }
            ApiEvent::Response {
                request_id: id,
                body,
            } if id == request_id => Some(Ok(body)),
            ApiEvent::Error {
                request_id: id,
                body,
                error_type,
            } if id == request_id => Some(Err(error_payload(body, error_type))),
            ApiEvent::TooLarge { request_id: id } if id == request_id => Some(Err(json!({
                "errorType": "Function.ResponseSizeTooLarge",
                "errorMessage": format!(
                    "Response payload size exceeded maximum allowed payload size ({} bytes).",
                    super::model::MAX_SYNC_PAYLOAD
                ),
            })
            .to_string()
            .into_bytes())),
            ApiEvent::InitError { body, error_type } => {
                self.healthy = false;
                Some(Err(error_payload(body, error_type)))
            }
            _ => None,
        }
    }
}

/// The error a runtime posted; an empty body becomes an object naming the
/// error type.
fn error_payload(body: Vec<u8>, error_type: Option<String>) -> Vec<u8> {
    if body.iter().all(u8::is_ascii_whitespace) {
        let t = error_type.unwrap_or_else(|| "Unhandled".into());
        return json!({"errorType": t, "errorMessage": t})
            .to_string()
            .into_bytes();
    }
    body
}

fn exit_error(request_id: &str, why: &str) -> Vec<u8> {
    json!({
        "errorType": "Runtime.ExitError",
        "errorMessage": format!("RequestId: {request_id} Error: {why}"),
    })
    .to_string()
    .into_bytes()
}

fn describe_exit(s: std::process::ExitStatus) -> String {
    if let Some(code) = s.code() {
        return format!("exit status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(sig) = s.signal() {
            let name = match sig {
                6 => "aborted",
                9 => "killed",
                11 => "segmentation fault",
                15 => "terminated",
                _ => "",
            };
            return if name.is_empty() {
                format!("signal: {sig}")
            } else {
                format!("signal: {name}")
            };
        }
    }
    s.to_string()
}

/// A process's peak resident memory in MB (Linux).
fn max_memory_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())?;
    Some(kb.div_ceil(1024))
}

/// An X-Ray trace header (`Root=1-<8 hex time>-<24 hex>;Parent=...;Sampled=0`).
fn trace_id() -> String {
    let u = baton_engine::control::uuid_v4().replace('-', "");
    let secs = now_ms() / 1000;
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0;Lineage=1:{}:0",
        &u[..24],
        &u[16..32],
        &u[24..32]
    )
}

/// The workers of one function revision; at most `max` run at once.
pub(crate) struct Pool {
    pub function: FunctionRecord,
    sem: Arc<Semaphore>,
    idle: Mutex<Vec<Worker>>,
    retired: AtomicBool,
}

impl Pool {
    pub fn new(function: FunctionRecord, max: usize) -> Pool {
        Pool {
            function,
            sem: Arc::new(Semaphore::new(max.max(1))),
            idle: Mutex::new(Vec::new()),
            retired: AtomicBool::new(false),
        }
    }

    /// A slot to run one invocation, at once or `None`.
    pub fn try_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.sem.clone().try_acquire_owned().ok()
    }

    /// A slot to run one invocation, waiting for one.
    pub async fn slot(&self) -> Option<OwnedSemaphorePermit> {
        self.sem.clone().acquire_owned().await.ok()
    }

    /// A warm worker, if one is idle.
    pub fn take_idle(&self) -> Option<Worker> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(w) = idle.pop() {
            if w.alive() {
                return Some(w);
            }
        }
        None
    }

    /// Keeps a worker warm for the next invocation (or stops it when it is
    /// broken or the function changed).
    pub fn put_back(&self, w: Worker) {
        if !w.alive() || self.retired.load(Ordering::SeqCst) {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(w);
        }
        if self.retired.load(Ordering::SeqCst) {
            self.stop_idle();
        }
    }

    /// The function changed or was deleted: stop idle workers now, busy
    /// ones when they finish.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
        self.sem.close();
        self.stop_idle();
    }

    fn stop_idle(&self) {
        let workers = self.idle.lock().map(|mut i| std::mem::take(&mut *i));
        drop(workers);
    }

    /// Stops workers idle for longer than `ttl`.
    pub fn reap(&self, ttl: Duration) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.retain(|w| w.alive() && w.last_used.elapsed() < ttl);
        }
    }
}

/// A program on `PATH`.
pub(crate) fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Whether a file can be executed.
pub(crate) fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        p.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}
