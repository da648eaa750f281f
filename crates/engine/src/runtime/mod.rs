//! Executions: start, step, commit, timers, outbox, callbacks.
//!
//! ```text
//!  API / timers / integrations ──Work──▶ worker shard (thread; owns its executions, runs Execution::step)
//!                                             │ TransitionWrite + after-commit actions
//!                                             ▼
//!                                        committer (thread): many steps → one Store::commit
//!                                             │ then: answer clients, arm timers, dispatch tasks
//!                                             ▼
//!                                timer service · dispatcher (integrations) · activity queues
//! ```
//!
//! An execution belongs to one shard (`id % shards`), so its inputs are
//! applied in order; the single committer keeps every execution's writes in
//! order too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use baton_asl::Definition;
use baton_interp::Input;
use baton_storage::Store;
use tokio::sync::oneshot;

use crate::tokens::TokenKey;
use crate::{Config, Engine, Error, ErrorKind, Result};

mod activities;
mod api;
mod committer;
mod dispatch;
mod lease;
mod timers;
mod worker;

pub use api::{Page, StartedExecution};
pub use dispatch::{BoxFuture, Integration, Reporter, TaskInvocation, sdk_metadata};

/// Work for a shard.
pub(crate) enum Work {
    /// A new execution: step it with `Input::Start` and insert it.
    Start {
        live: Box<worker::Live>,
        reply: oneshot::Sender<Result<()>>,
    },
    /// An input for an existing execution.
    Input {
        execution_id: u64,
        input: Input,
        /// Answered once the step is committed.
        reply: Option<oneshot::Sender<Result<()>>>,
        /// The input is a callback for this task: refuse it (TaskTimedOut) if
        /// the execution no longer awaits the task.
        expect_task: Option<u64>,
    },
    /// The step that made `version` of the execution is durable.
    Committed { execution_id: u64, version: u64 },
    /// Stop the shard thread.
    Shutdown,
}

/// State shared by the runtime's threads and tasks.
pub(crate) struct Shared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: Config,
    pub(crate) key: TokenKey,
    shards: Vec<std::sync::mpsc::Sender<Work>>,
    pub(crate) committer: committer::Handle,
    pub(crate) timers: timers::Handle,
    pub(crate) activities: activities::Activities,
    pub(crate) dispatch: dispatch::Handle,
    definitions: Mutex<HashMap<(String, u64), Arc<Definition>>>,
    ids: Mutex<(u64, u64)>,
    /// Watchers of executions' ends (StartSyncExecution, `.sync` parents).
    watchers: Mutex<HashMap<u64, Vec<oneshot::Sender<baton_storage::ExecutionRecord>>>>,
    /// Set when a commit failed: nothing more is acknowledged.
    pub(crate) poisoned: AtomicBool,
    pub(crate) shutting_down: AtomicBool,
    /// The engine, for integrations that start executions.
    pub(crate) engine: Mutex<Weak<crate::Inner>>,
    pub(crate) tokio: tokio::runtime::Handle,
    pub(crate) metrics: Metrics,
    /// Integrations registered by the host (queues, topics, functions, ...).
    pub(crate) integrations: std::sync::RwLock<Vec<Arc<dyn Integration>>>,
    /// Mock test cases answering the Tasks of executions started on
    /// `stateMachineArn#TestCase`.
    pub(crate) mocks: Mutex<HashMap<u64, baton_interp::mock::TestCase>>,
    /// Execution ARNs being started (a name is reserved until its insert is
    /// committed).
    pub(crate) starting: Mutex<std::collections::HashSet<String>>,
    /// State machines marked DELETING: deleted when their last execution
    /// ends.
    pub(crate) deleting: Mutex<std::collections::HashSet<String>>,
    /// Children of `.sync` tasks: (parent execution, task) → child ARN.
    children: Mutex<HashMap<(u64, u64), String>>,
    /// Activities known to exist (Task states check before scheduling);
    /// DeleteActivity removes its ARN.
    pub(crate) known_activities: std::sync::RwLock<std::collections::HashSet<String>>,
    /// The store's partition lease this process holds; commits are fenced
    /// by it.
    lease: Mutex<Option<baton_storage::Lease>>,
}

/// Counters the server exposes on `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// States entered, counted once durable.
    pub transitions: std::sync::atomic::AtomicU64,
    pub commits: std::sync::atomic::AtomicU64,
    pub commit_micros_total: std::sync::atomic::AtomicU64,
    pub executions_started: std::sync::atomic::AtomicU64,
    pub executions_finished: std::sync::atomic::AtomicU64,
    pub timer_lateness_micros_total: std::sync::atomic::AtomicU64,
    pub timers_fired: std::sync::atomic::AtomicU64,
    /// Commit latency, microseconds.
    pub commit_latency: Histogram,
    /// How late timers fire, microseconds.
    pub timer_lateness: Histogram,
}

/// A fixed-bucket histogram of microsecond values.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [std::sync::atomic::AtomicU64; HISTOGRAM_BOUNDS.len()],
    count: std::sync::atomic::AtomicU64,
    sum: std::sync::atomic::AtomicU64,
}

/// Upper bounds of [`Histogram`]'s buckets, in microseconds (the last bucket
/// is +Inf).
pub const HISTOGRAM_BOUNDS: [u64; 14] = [
    50,
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    1_000_000,
    u64::MAX,
];

impl Histogram {
    pub fn observe(&self, micros: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let i = HISTOGRAM_BOUNDS
            .iter()
            .position(|b| micros <= *b)
            .unwrap_or(HISTOGRAM_BOUNDS.len() - 1);
        self.buckets[i].fetch_add(1, Relaxed);
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(micros, Relaxed);
    }

    /// Cumulative counts per bound, the count and the sum (microseconds).
    pub fn snapshot(&self) -> (Vec<(u64, u64)>, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut acc = 0;
        let cumulative = HISTOGRAM_BOUNDS
            .iter()
            .zip(&self.buckets)
            .map(|(b, c)| {
                acc += c.load(Relaxed);
                (*b, acc)
            })
            .collect();
        (cumulative, self.count.load(Relaxed), self.sum.load(Relaxed))
    }
}

/// The execution runtime.
pub(crate) struct Runtime {
    pub(crate) shared: Arc<Shared>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Runtime {
    pub(crate) async fn start(store: Arc<dyn Store>, config: &Config) -> Result<Runtime> {
        let s = store.clone();
        let (secret, lease) = tokio::task::spawn_blocking(move || {
            Ok::<_, Error>((s.secret()?, lease::acquire(&*s)?))
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))??;
        let shard_count = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        let mut shard_rx = Vec::new();
        let mut shards = Vec::new();
        for _ in 0..shard_count {
            let (tx, rx) = std::sync::mpsc::channel();
            shards.push(tx);
            shard_rx.push(rx);
        }
        let (committer, committer_rx) = committer::channel();
        let (timers, timers_rx) = timers::channel();
        let (dispatch, dispatch_rx) = dispatch::channel();
        let shared = Arc::new(Shared {
            store,
            config: config.clone(),
            key: TokenKey::new(secret),
            shards,
            committer,
            timers,
            activities: activities::Activities::default(),
            dispatch,
            definitions: Mutex::new(HashMap::new()),
            ids: Mutex::new((0, 0)),
            watchers: Mutex::new(HashMap::new()),
            poisoned: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
            engine: Mutex::new(Weak::new()),
            tokio: tokio::runtime::Handle::current(),
            metrics: Metrics::default(),
            integrations: std::sync::RwLock::new(Vec::new()),
            mocks: Mutex::new(HashMap::new()),
            starting: Mutex::new(std::collections::HashSet::new()),
            deleting: Mutex::new(std::collections::HashSet::new()),
            children: Mutex::new(HashMap::new()),
            known_activities: std::sync::RwLock::new(std::collections::HashSet::new()),
            lease: Mutex::new(Some(lease)),
        });
        let mut threads = Vec::new();
        for (i, rx) in shard_rx.into_iter().enumerate() {
            let sh = shared.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("baton-shard-{i}"))
                    .spawn(move || worker::run(sh, rx))
                    .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?,
            );
        }
        {
            let sh = shared.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("baton-committer".into())
                    .spawn(move || committer::run(sh, committer_rx))
                    .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?,
            );
        }
        {
            let sh = shared.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("baton-timers".into())
                    .spawn(move || timers::run(sh, timers_rx))
                    .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?,
            );
        }
        {
            let sh = shared.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("baton-lease".into())
                    .spawn(move || lease::renew(sh))
                    .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?,
            );
        }
        tokio::spawn(dispatch::run(shared.clone(), dispatch_rx));
        // Recovery runs once the engine is fully built (see `Engine::start`):
        // re-dispatched commands need it.
        Ok(Runtime {
            shared,
            threads: Mutex::new(threads),
        })
    }

    /// Picks up where the last process stopped: pending timers, outbox
    /// commands and paused executions.
    pub(crate) async fn recover(&self) -> Result<()> {
        let sh = self.shared.clone();
        let (timers, outbox, paused) = tokio::task::spawn_blocking(move || -> Result<_> {
            let timers = sh.store.due_timers(i64::MAX, usize::MAX)?;
            let outbox = sh.store.outbox(None, usize::MAX)?;
            let mut paused = Vec::new();
            let mut after = 0;
            loop {
                let page = sh.store.running_executions(after, 1000)?;
                let Some(last) = page.last() else { break };
                after = last.id;
                for rec in &page {
                    if let Ok(exec) = serde_json::from_slice::<baton_interp::Execution>(&rec.state)
                        && exec.has_paused()
                    {
                        paused.push(rec.id);
                    }
                }
            }
            let mut deleting = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = sh.store.list_state_machines(after.as_deref(), 1000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.arn.clone());
                deleting.extend(
                    page.into_iter()
                        .filter(|m| m.status == "DELETING")
                        .map(|m| m.arn),
                );
            }
            if let Ok(mut d) = sh.deleting.lock() {
                d.extend(deleting);
            }
            Ok((timers, outbox, paused))
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))??;
        let now = wall_clock_ms();
        for t in timers {
            // The kind is unknown after a restart: deadlines keep their time.
            self.shared
                .timers
                .arm(t.execution_id, t.timer_id, t.due_ms, t.due_ms, now);
        }
        for row in outbox {
            if let Ok(cmd) = serde_json::from_str::<dispatch::OutboxCommand>(&row.command) {
                self.shared.dispatch.send(cmd);
            }
        }
        for id in paused {
            self.shared.send(
                id,
                Work::Input {
                    execution_id: id,
                    input: Input::Continue,
                    reply: None,
                    expect_task: None,
                },
            );
        }
        Ok(())
    }

    pub(crate) async fn shutdown(&self) {
        if self.shared.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        for tx in &self.shared.shards {
            let _ = tx.send(Work::Shutdown);
        }
        self.shared.timers.shutdown();
        let threads: Vec<_> = match self.threads.lock() {
            Ok(mut t) => t.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        let sh = self.shared.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
            // Everything is committed: the next process may start at once.
            if let Some(lease) = sh.take_lease() {
                let _ = sh.store.release_lease(&lease);
            }
        })
        .await;
    }
}

impl Shared {
    /// The lease commits are fenced by (`None` after shutdown).
    pub(crate) fn lease(&self) -> Option<baton_storage::Lease> {
        self.lease.lock().ok().and_then(|l| l.clone())
    }

    fn set_lease(&self, lease: baton_storage::Lease) {
        if let Ok(mut l) = self.lease.lock()
            && l.is_some()
        {
            *l = Some(lease);
        }
    }

    fn take_lease(&self) -> Option<baton_storage::Lease> {
        self.lease.lock().ok().and_then(|mut l| l.take())
    }

    /// Sends work to the shard that owns `execution_id`.
    pub(crate) fn send(&self, execution_id: u64, work: Work) {
        let i = (execution_id % self.shards.len() as u64) as usize;
        let _ = self.shards[i].send(work);
    }

    /// Fails fast when the engine cannot take writes.
    pub(crate) fn check_writable(&self) -> Result<()> {
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(Error::new(
                ErrorKind::Internal,
                "Baton's store failed to commit; restart Baton to recover from the last durable state",
            ));
        }
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::Unavailable, "Baton is shutting down"));
        }
        Ok(())
    }

    /// A fresh execution id.
    pub(crate) fn allocate_id(&self) -> Result<u64> {
        let mut ids = self
            .ids
            .lock()
            .map_err(|_| Error::new(ErrorKind::Internal, "id allocator poisoned"))?;
        if ids.0 >= ids.1 {
            let first = self.store.allocate_ids(1024)?;
            *ids = (first, first + 1024);
        }
        let id = ids.0;
        ids.0 += 1;
        Ok(id)
    }

    /// The compiled definition of a state machine revision (cached).
    pub(crate) fn definition(&self, arn: &str, revision: u64) -> Result<Arc<Definition>> {
        let key = (arn.to_string(), revision);
        if let Ok(cache) = self.definitions.lock()
            && let Some(d) = cache.get(&key)
        {
            return Ok(d.clone());
        }
        let content = self.store.get_revision(arn, revision)?.ok_or_else(|| {
            Error::new(
                ErrorKind::StateMachineDoesNotExist,
                format!("State Machine Does Not Exist: '{arn}'"),
            )
        })?;
        let (def, diags) = baton_asl::load::load_str(&content.definition);
        let def = def.ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidDefinition,
                baton_asl::diag::invalid_definition_message(&diags),
            )
        })?;
        let def = Arc::new(def);
        if let Ok(mut cache) = self.definitions.lock() {
            cache.insert(key, def.clone());
        }
        Ok(def)
    }

    /// Calls `tx` with the execution's record once it ends.
    pub(crate) fn watch(
        &self,
        execution_id: u64,
        tx: oneshot::Sender<baton_storage::ExecutionRecord>,
    ) {
        if let Ok(mut w) = self.watchers.lock() {
            w.entry(execution_id).or_default().push(tx);
        }
    }

    /// An execution ended: wake its watchers, drop its mock, and finish the
    /// delete of its state machine if that waited for it.
    pub(crate) fn notify_end(&self, record: &baton_storage::ExecutionRecord) {
        if let Ok(mut m) = self.mocks.lock() {
            m.remove(&record.id);
        }
        let deleting = self
            .deleting
            .lock()
            .is_ok_and(|d| d.contains(&record.state_machine_arn));
        if deleting && let Some(engine) = self.engine() {
            let arn = record.state_machine_arn.clone();
            self.tokio.spawn(async move {
                if let Ok(true) = engine.finish_delete_if_idle(&arn).await
                    && let Ok(mut d) = engine.inner.runtime.shared.deleting.lock()
                {
                    d.remove(&arn);
                }
            });
        }
        self.wake_watchers(record);
    }

    fn wake_watchers(&self, record: &baton_storage::ExecutionRecord) {
        let txs = self
            .watchers
            .lock()
            .ok()
            .and_then(|mut w| w.remove(&record.id));
        for tx in txs.into_iter().flatten() {
            let _ = tx.send(record.clone());
        }
    }

    /// The answer of the mock test case of `execution_id`, if it has one.
    /// Whether a mock test case answers this execution's tasks.
    pub(crate) fn has_mock(&self, execution_id: u64) -> bool {
        self.mocks
            .lock()
            .is_ok_and(|m| m.contains_key(&execution_id))
    }

    pub(crate) fn mock_answer(
        &self,
        execution_id: u64,
        request: &baton_interp::TaskRequest,
    ) -> Option<baton_interp::driver::TaskAnswer> {
        use baton_interp::driver::TaskHandler as _;
        let mut mocks = self.mocks.lock().ok()?;
        let case = mocks.get_mut(&execution_id)?;
        Some(case.invoke(request))
    }

    /// The registered integration that runs `resource`.
    pub(crate) fn integration_for(&self, resource: &str) -> Option<Arc<dyn Integration>> {
        let list = self.integrations.read().ok()?;
        list.iter().find(|i| i.accepts(resource)).cloned()
    }

    pub(crate) fn watch_child(&self, execution_id: u64, task: u64, child_arn: &str) {
        if let Ok(mut c) = self.children.lock() {
            c.insert((execution_id, task), child_arn.to_string());
        }
    }

    pub(crate) fn forget_child(&self, execution_id: u64, task: u64) {
        if let Ok(mut c) = self.children.lock() {
            c.remove(&(execution_id, task));
        }
    }

    /// A task is no longer wanted: drop it from the activity queues and stop
    /// the child execution of a `.sync` task.
    pub(crate) fn cancel_task(&self, execution_id: u64, task: u64) {
        self.activities.cancel(execution_id, task);
        let child = self
            .children
            .lock()
            .ok()
            .and_then(|mut c| c.remove(&(execution_id, task)));
        if let (Some(child), Some(engine)) = (child, self.engine()) {
            self.tokio.spawn(async move {
                let _ = engine.stop_execution(&child, None, None).await;
            });
        }
    }

    /// The engine, for integrations that call back into it.
    pub(crate) fn engine(&self) -> Option<Engine> {
        let inner = self.engine.lock().ok()?.upgrade()?;
        Some(Engine { inner })
    }
}

/// The wall clock, in epoch milliseconds.
pub fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
