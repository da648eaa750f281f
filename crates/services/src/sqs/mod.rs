//! SQS-compatible queues, durable in Baton's store.
//!
//! Every queue lives in memory with the indexes a receive needs
//! ([`queue::Queue`]); every change is also written to the store through one
//! writer thread that commits many requests' changes in one transaction
//! ([`writer`], group commit). A request that changes a queue (send,
//! receive, delete, visibility change, ...) is answered only once its changes
//! are durable, so an acknowledged message survives a crash, and a received
//! but undeleted message reappears after its visibility timeout. At start the
//! queues and messages are read back from the store.
//!
//! Inputs and outputs are the JSON protocol's shapes (PascalCase members);
//! `baton-server` maps the SQS JSON and query protocols onto [`Sqs::call`],
//! and the Step Functions integrations call it directly.

mod actions;
mod attrs;
mod errors;
mod input;
mod message;
mod queue;
mod writer;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use baton_storage::{QueueOp, Store};
use serde_json::Value;
use tokio::sync::{Notify, oneshot};

use crate::{AwsService, BoxFuture, Scope, ServiceError};

use queue::{DEDUP_WINDOW_MS, Dedup, Msg, Queue};

/// The queue URL host before [`Sqs::set_endpoint`] is called.
const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";

/// How often retention and visibility housekeeping runs.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The queue service.
pub struct Sqs {
    state: Mutex<State>,
    stats: Arc<writer::Stats>,
    stopping: AtomicBool,
    shutdown: Notify,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    sweeper: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Everything behind the service's lock.
pub(crate) struct State {
    /// By `region/account/name`.
    queues: HashMap<String, Queue>,
    /// Queue id → key.
    by_id: HashMap<u64, String>,
    next_queue_id: u64,
    next_seq: u64,
    writer: Option<Sender<writer::Batch>>,
    endpoint: String,
}

/// Counters of the queue service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqsStats {
    /// Group commits written.
    pub commits: u64,
    /// Queue changes written.
    pub ops: u64,
    pub queues: usize,
    pub messages: usize,
}

/// Now, in epoch milliseconds.
pub(crate) use baton_engine::runtime::wall_clock_ms as now_ms;

pub(crate) fn queue_key(region: &str, account: &str, name: &str) -> String {
    format!("{region}/{account}/{name}")
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(format!("the stored {what} cannot be read: {e}"))
}

impl Sqs {
    /// Opens the queues kept in `store` and starts their background work on
    /// the current tokio runtime (when there is one).
    pub fn start(store: Arc<dyn Store>) -> Result<Arc<Sqs>, ServiceError> {
        let now = now_ms();
        let mut state = State {
            queues: HashMap::new(),
            by_id: HashMap::new(),
            next_queue_id: 1,
            next_seq: 1,
            writer: None,
            endpoint: DEFAULT_ENDPOINT.to_string(),
        };
        for rec in store.queues()? {
            let meta: attrs::QueueMeta =
                serde_json::from_str(&rec.value).map_err(|e| corrupt("queue", e))?;
            let cfg = attrs::config(&meta.attributes);
            let arn = arn_of(&meta.region, &meta.account, &meta.name);
            state.next_queue_id = state.next_queue_id.max(rec.id + 1);
            state.by_id.insert(rec.id, rec.key.clone());
            state
                .queues
                .insert(rec.key, Queue::new(rec.id, meta, cfg, arn));
        }
        let mut after = 0;
        loop {
            let page = store.messages(after, 10_000)?;
            let Some(last) = page.last() else {
                break;
            };
            after = last.seq;
            for m in page {
                state.next_seq = state.next_seq.max(m.seq + 1);
                let Some(q) = state
                    .by_id
                    .get(&m.queue_id)
                    .and_then(|k| state.queues.get_mut(k))
                else {
                    continue;
                };
                let meta: message::Meta =
                    serde_json::from_str(&m.meta).map_err(|e| corrupt("message", e))?;
                if q.cfg.fifo
                    && let Some(d) = &meta.dedup
                    && m.sent_ms + DEDUP_WINDOW_MS > now
                {
                    let key = actions::dedup_key(&q.cfg, meta.group.as_deref(), d);
                    q.dedup_remember(
                        key,
                        Dedup {
                            expires_ms: m.sent_ms + DEDUP_WINDOW_MS,
                            message_id: m.message_id.clone(),
                            sequence_number: meta.sequence_number.clone(),
                        },
                    );
                }
                let msg = Msg {
                    seq: m.seq,
                    md5_body: message::md5_hex(m.body.as_bytes()),
                    message_id: m.message_id,
                    body: m.body,
                    meta,
                    sent_ms: m.sent_ms,
                    visible_ms: m.visible_ms,
                    receive_count: m.receive_count,
                    first_receive_ms: m.first_receive_ms,
                    inflight: m.receive_count > 0 && m.visible_ms > now,
                };
                q.insert(msg, now);
            }
        }
        let stats = Arc::new(writer::Stats::default());
        let (tx, thread) = writer::start(store, stats.clone())
            .map_err(|e| ServiceError::internal(format!("cannot start the queue writer: {e}")))?;
        state.writer = Some(tx);
        let sqs = Arc::new(Sqs {
            state: Mutex::new(state),
            stats,
            stopping: AtomicBool::new(false),
            shutdown: Notify::new(),
            writer_thread: Mutex::new(Some(thread)),
            sweeper: Mutex::new(None),
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&sqs);
            let task = rt.spawn(async move {
                loop {
                    tokio::time::sleep(SWEEP_EVERY).await;
                    let Some(sqs) = weak.upgrade() else {
                        return;
                    };
                    if sqs.stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    sqs.sweep();
                }
            });
            *lock(&sqs.sweeper) = Some(task);
        }
        Ok(sqs)
    }

    /// Sets Baton's own address (`http://host:port`): queue URLs are
    /// `<endpoint>/<account>/<name>`.
    pub fn set_endpoint(&self, url: &str) {
        self.lock().endpoint = url.trim_end_matches('/').to_string();
    }

    /// Stops background work: long polls return, the writer finishes what
    /// was queued.
    pub async fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.shutdown.notify_waiters();
        if let Some(task) = lock(&self.sweeper).take() {
            task.abort();
        }
        {
            let mut st = self.lock();
            st.writer = None;
            for q in st.queues.values() {
                q.notify.notify_waiters();
            }
        }
        let thread = lock(&self.writer_thread).take();
        if let Some(t) = thread {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }

    /// Counters (group commits, queue changes written, queues, messages).
    pub fn stats(&self) -> SqsStats {
        let (queues, messages) = {
            let st = self.lock();
            (
                st.queues.len(),
                st.queues.values().map(|q| q.msgs.len()).sum(),
            )
        };
        SqsStats {
            commits: self.stats.commits.load(Ordering::Relaxed),
            ops: self.stats.ops.load(Ordering::Relaxed),
            queues,
            messages,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Housekeeping: messages past their retention period are deleted;
    /// long polls wake when delayed or in-flight messages become visible.
    fn sweep(&self) {
        let now = now_ms();
        let mut st = self.lock();
        let mut ops = Vec::new();
        for q in st.queues.values_mut() {
            let cutoff = now - i64::from(q.cfg.retention_s) * 1000;
            for seq in q.expired(cutoff) {
                q.remove(seq);
                ops.push(QueueOp::Delete {
                    queue_id: q.id,
                    seq,
                });
            }
            if q.promote(now) {
                q.notify.notify_waiters();
            }
        }
        if !ops.is_empty() {
            let _ = st.submit(ops, false);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn arn_of(region: &str, account: &str, name: &str) -> String {
    let partition = baton_engine::arn::partition_for(region);
    format!("arn:{partition}:sqs:{region}:{account}:{name}")
}

impl State {
    /// Queues `ops` for the writer (in the order of the lock); with `wait`,
    /// returns the receiver that tells when they are durable.
    fn submit(
        &mut self,
        ops: Vec<QueueOp>,
        wait: bool,
    ) -> Result<Option<oneshot::Receiver<Result<(), String>>>, ServiceError> {
        if ops.is_empty() {
            return Ok(None);
        }
        let Some(tx) = &self.writer else {
            return Err(ServiceError::internal("Baton is shutting down"));
        };
        let (done, rx) = if wait {
            let (d, r) = oneshot::channel();
            (Some(d), Some(r))
        } else {
            (None, None)
        };
        tx.send(writer::Batch { ops, done })
            .map_err(|_| ServiceError::internal("Baton is shutting down"))?;
        Ok(rx)
    }

    fn url_of(&self, account: &str, name: &str) -> String {
        format!("{}/{account}/{name}", self.endpoint)
    }
}

/// Waits until submitted changes are durable.
async fn durable(rx: Option<oneshot::Receiver<Result<(), String>>>) -> Result<(), ServiceError> {
    let Some(rx) = rx else {
        return Ok(());
    };
    match rx.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ServiceError::internal(format!(
            "Baton could not store the change: {e}"
        ))),
        Err(_) => Err(ServiceError::internal(
            "Baton stopped before the change was stored",
        )),
    }
}

impl AwsService for Sqs {
    fn call<'a>(
        &'a self,
        scope: &'a Scope,
        action: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        Box::pin(async move {
            let o = input::object(input)?;
            match action {
                "CreateQueue" => self.create_queue(scope, &o).await,
                "GetQueueUrl" => self.get_queue_url(scope, &o),
                "GetQueueAttributes" => self.get_queue_attributes(scope, &o),
                "SetQueueAttributes" => self.set_queue_attributes(scope, &o).await,
                "ListQueues" => self.list_queues(scope, &o),
                "DeleteQueue" => self.delete_queue(scope, &o).await,
                "PurgeQueue" => self.purge_queue(scope, &o).await,
                "TagQueue" => self.tag_queue(scope, &o).await,
                "UntagQueue" => self.untag_queue(scope, &o).await,
                "ListQueueTags" => self.list_queue_tags(scope, &o),
                "ListDeadLetterSourceQueues" => self.list_dead_letter_source_queues(scope, &o),
                "SendMessage" => self.send_message(scope, &o).await,
                "SendMessageBatch" => self.send_message_batch(scope, &o).await,
                "ReceiveMessage" => self.receive_message(scope, &o).await,
                "DeleteMessage" => self.delete_message(scope, &o).await,
                "DeleteMessageBatch" => self.delete_message_batch(scope, &o).await,
                "ChangeMessageVisibility" => self.change_message_visibility(scope, &o).await,
                "ChangeMessageVisibilityBatch" => {
                    self.change_message_visibility_batch(scope, &o).await
                }
                "AddPermission" | "RemovePermission" => Err(errors::unsupported(format!(
                    "{action} is not supported by Baton (queue policies are not enforced)."
                ))),
                "StartMessageMoveTask" | "CancelMessageMoveTask" | "ListMessageMoveTasks" => Err(
                    errors::unsupported(format!("{action} is not supported by Baton.")),
                ),
                _ => Err(errors::invalid_action(action)),
            }
        })
    }
}
