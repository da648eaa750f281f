//! Group commit: one thread takes the steps of many executions and writes
//! them in one [`Store::commit`](baton_storage::Store::commit); only then are
//! clients answered, timers armed and tasks dispatched.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::Instant;

use baton_interp::Command;
use baton_storage::{ExecutionRecord, TransitionWrite};
use tokio::sync::oneshot;

use super::activities::{ActivityTask, Handoff, Waiter};
use super::dispatch::OutboxCommand;
use super::{Shared, Work, wall_clock_ms};
use crate::{Error, ErrorKind, Result};

/// The most steps one commit takes.
const MAX_BATCH: usize = 2048;
/// How many steps may wait for the committer (back-pressure beyond).
const QUEUE: usize = 65_536;

/// What to do once a step is durable.
pub(crate) struct AfterCommit {
    /// States the step entered (counted as transitions once durable).
    pub(crate) states_entered: u64,
    pub(crate) execution_id: u64,
    pub(crate) execution_arn: String,
    pub(crate) version: u64,
    pub(crate) reply: Option<oneshot::Sender<Result<()>>>,
    pub(crate) commands: Vec<Command>,
    /// Activity tasks started in this step, for the polls claimed for them.
    pub(crate) handoffs: Vec<(Waiter, ActivityTask)>,
    /// The execution's record when the step ended it.
    pub(crate) ended: Option<ExecutionRecord>,
}

/// One step on its way to the store.
pub(crate) struct Commit {
    pub(crate) write: TransitionWrite,
    pub(crate) after: AfterCommit,
}

#[derive(Clone)]
pub(crate) struct Handle {
    tx: SyncSender<Commit>,
}

impl Handle {
    pub(crate) fn send(&self, commit: Commit) {
        match self.tx.try_send(commit) {
            Ok(()) => {}
            Err(TrySendError::Full(c)) => {
                let _ = self.tx.send(c);
            }
            Err(TrySendError::Disconnected(c)) => {
                if let Some(r) = c.after.reply {
                    let _ = r.send(Err(Error::new(
                        ErrorKind::Unavailable,
                        "Baton is shutting down",
                    )));
                }
            }
        }
    }
}

pub(crate) fn channel() -> (Handle, Receiver<Commit>) {
    let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
    (Handle { tx }, rx)
}

pub(crate) fn run(shared: Arc<Shared>, rx: Receiver<Commit>) {
    let mut batch: Vec<Commit> = Vec::with_capacity(MAX_BATCH);
    let mut writes: Vec<TransitionWrite> = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = match rx.recv_timeout(std::time::Duration::from_millis(200)) {
            Ok(c) => c,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if shared.shutting_down.load(Ordering::SeqCst) {
                    return;
                }
                continue;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        writes.clear();
        let mut afters = Vec::with_capacity(batch.len());
        for c in batch.drain(..) {
            writes.push(c.write);
            afters.push(c.after);
        }
        let started = Instant::now();
        let result = if shared.poisoned.load(Ordering::SeqCst) {
            Err(baton_storage::Error::new(
                baton_storage::ErrorKind::Unavailable,
                "an earlier commit failed",
            ))
        } else {
            match shared.lease() {
                Some(lease) => shared.store.commit_fenced(&lease, &writes),
                None => Err(baton_storage::Error::new(
                    baton_storage::ErrorKind::Unavailable,
                    "the store's lease was given up",
                )),
            }
        };
        shared.metrics.commits.fetch_add(1, Ordering::Relaxed);
        shared
            .metrics
            .commit_micros_total
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        match result {
            Ok(()) => {
                for after in afters {
                    after_commit(&shared, after);
                }
            }
            Err(e) => {
                // Fail-stop: the in-memory states ran ahead of the store, so
                // nothing more may be acknowledged. A restart recovers from the
                // last durable state.
                tracing::error!(error = %e, "commit failed; Baton stops acknowledging writes");
                shared.poisoned.store(true, Ordering::SeqCst);
                for after in afters {
                    if let Some(r) = after.reply {
                        let _ = r.send(Err(Error::new(
                            ErrorKind::Internal,
                            format!("commit failed: {e}"),
                        )));
                    }
                }
            }
        }
    }
}

fn after_commit(shared: &Shared, after: AfterCommit) {
    let id = after.execution_id;
    shared
        .metrics
        .transitions
        .fetch_add(after.states_entered, Ordering::Relaxed);
    let now = wall_clock_ms();
    for cmd in after.commands {
        match cmd {
            Command::ArmTimer { timer, due, kind } => {
                let fire = super::timers::scaled(shared.config.time_scale, kind, now, due);
                shared.timers.arm(id, timer, due, fire, now);
            }
            Command::CancelTimer { timer } => shared.timers.cancel(id, timer),
            Command::InvokeTask(request) => shared.dispatch.send(OutboxCommand {
                execution_id: id,
                execution_arn: after.execution_arn.clone(),
                request: *request,
            }),
            Command::CancelTask { task } => shared.cancel_task(id, task),
            Command::Continue => shared.send(
                id,
                Work::Input {
                    execution_id: id,
                    input: baton_interp::Input::Continue,
                    reply: None,
                    expect_task: None,
                },
            ),
        }
    }
    for (waiter, task) in after.handoffs {
        // A poll that gave up meanwhile leaves a started task without a
        // worker: its heartbeat or time-out ends it, as when a worker dies.
        waiter.hand(Handoff::Started(task));
    }
    if let Some(r) = after.reply {
        let _ = r.send(Ok(()));
    }
    if let Some(record) = &after.ended {
        shared
            .metrics
            .executions_finished
            .fetch_add(1, Ordering::Relaxed);
        shared.notify_end(record);
    }
    shared.send(
        id,
        Work::Committed {
            execution_id: id,
            version: after.version,
        },
    );
}
