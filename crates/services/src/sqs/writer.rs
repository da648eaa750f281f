//! Group commit for queue writes: one thread takes the changes of many
//! requests and writes them in one [`QueueStore::write_queues`]
//! transaction; each request is answered once its changes are durable.
//!
//! Requests enqueue their changes while they hold the service's lock, so
//! the store sees them in the order the in-memory queues applied them. A
//! failed commit stops all acknowledgements (fail-stop, as the engine's
//! committer): the in-memory queues ran ahead of the store, and a restart
//! recovers from the last durable state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};

use baton_storage::{QueueOp, Store};
use tokio::sync::oneshot;

/// The most ops one transaction takes before the others wait for the next.
const MAX_OPS: usize = 16_384;

pub(crate) type Done = oneshot::Sender<Result<(), String>>;

pub(crate) struct Batch {
    pub ops: Vec<QueueOp>,
    pub done: Option<Done>,
}

/// Counters of the writer.
#[derive(Default)]
pub(crate) struct Stats {
    pub commits: AtomicU64,
    pub ops: AtomicU64,
    pub failed: AtomicBool,
}

/// Starts the writer thread; it ends when every sender is dropped.
pub(crate) fn start(
    store: Arc<dyn Store>,
    stats: Arc<Stats>,
) -> std::io::Result<(Sender<Batch>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = channel();
    let handle = std::thread::Builder::new()
        .name("sqs-writer".into())
        .spawn(move || run(store, stats, rx))?;
    Ok((tx, handle))
}

fn run(store: Arc<dyn Store>, stats: Arc<Stats>, rx: Receiver<Batch>) {
    let mut ops: Vec<QueueOp> = Vec::new();
    let mut dones: Vec<Done> = Vec::new();
    while let Ok(first) = rx.recv() {
        ops.extend(first.ops);
        dones.extend(first.done);
        while ops.len() < MAX_OPS {
            match rx.try_recv() {
                Ok(b) => {
                    ops.extend(b.ops);
                    dones.extend(b.done);
                }
                Err(_) => break,
            }
        }
        let result = if stats.failed.load(Ordering::SeqCst) {
            Err("an earlier queue write failed; restart Baton to recover".to_string())
        } else {
            store.write_queues(&ops).map_err(|e| e.to_string())
        };
        if let Err(e) = &result {
            if !stats.failed.swap(true, Ordering::SeqCst) {
                tracing::error!(error = %e, "queue write failed; SQS stops acknowledging writes");
            }
        } else {
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats.ops.fetch_add(ops.len() as u64, Ordering::Relaxed);
        }
        ops.clear();
        for d in dones.drain(..) {
            let _ = d.send(result.clone());
        }
    }
}
