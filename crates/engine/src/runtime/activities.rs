//! Activity task queues: tasks wait here (their outbox rows keep them durable)
//! until a worker's GetActivityTask takes one, and workers' polls wait here
//! until a task comes.
//!
//! When a poll is already waiting as a step schedules an activity task, the
//! execution's shard claims the poll ([`Activities::claim_waiter`]) and
//! records ActivityStarted in that same step: one group commit, then the
//! task goes to the poll already started ([`Handoff::Started`]). Otherwise
//! the task is queued from the outbox and the poll that takes it records
//! ActivityStarted before it answers ([`Handoff::Queued`]). Either way the
//! worker gets a task only once ActivityStarted, and the heartbeat and
//! time-out clocks it starts, are durable.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use tokio::sync::oneshot;

/// A task waiting for an activity worker.
#[derive(Debug, Clone)]
pub(crate) struct ActivityTask {
    pub(crate) execution_id: u64,
    pub(crate) task: u64,
    pub(crate) token: String,
    pub(crate) input: String,
}

/// How a task reaches a waiting poll.
#[derive(Debug)]
pub(crate) enum Handoff {
    /// ActivityStarted is committed: answer the worker at once.
    Started(ActivityTask),
    /// From the queue: the poll records ActivityStarted first.
    Queued(ActivityTask),
}

/// A GetActivityTask waiting for a task.
#[derive(Debug)]
pub(crate) struct Waiter {
    pub(crate) worker_name: Option<String>,
    tx: oneshot::Sender<Handoff>,
}

impl Waiter {
    /// Gives the poll its task; `false` if the poll is gone.
    pub(crate) fn hand(self, handoff: Handoff) -> bool {
        self.tx.send(handoff).is_ok()
    }
}

#[derive(Default)]
struct Queue {
    tasks: VecDeque<ActivityTask>,
    waiters: VecDeque<Waiter>,
}

/// What [`Activities::take_or_wait`] found.
pub(crate) enum Taken {
    Task(ActivityTask),
    Wait(oneshot::Receiver<Handoff>),
}

#[derive(Default)]
pub(crate) struct Activities {
    queues: Mutex<HashMap<String, Queue>>,
    /// Tasks no longer wanted (their state was aborted or timed out).
    cancelled: Mutex<HashSet<(u64, u64)>>,
}

impl Activities {
    /// Queues a task from the outbox, or gives it to a waiting poll.
    pub(crate) fn enqueue(
        &self,
        activity_arn: &str,
        execution_id: u64,
        task: u64,
        token: String,
        input: String,
    ) {
        let Ok(mut q) = self.queues.lock() else {
            return;
        };
        let queue = q.entry(activity_arn.to_string()).or_default();
        if queue
            .tasks
            .iter()
            .any(|t| t.execution_id == execution_id && t.task == task)
        {
            return;
        }
        let mut t = ActivityTask {
            execution_id,
            task,
            token,
            input,
        };
        while let Some(w) = queue.waiters.pop_front() {
            match w.tx.send(Handoff::Queued(t)) {
                Ok(()) => return,
                Err(Handoff::Queued(back) | Handoff::Started(back)) => t = back,
            }
        }
        queue.tasks.push_back(t);
    }

    pub(crate) fn cancel(&self, execution_id: u64, task: u64) {
        if let Ok(mut c) = self.cancelled.lock() {
            c.insert((execution_id, task));
        }
    }

    /// The next live task, or a receiver that a task will be handed to.
    pub(crate) fn take_or_wait(&self, activity_arn: &str, worker_name: Option<String>) -> Taken {
        let Ok(mut q) = self.queues.lock() else {
            let (_tx, rx) = oneshot::channel();
            return Taken::Wait(rx);
        };
        let queue = q.entry(activity_arn.to_string()).or_default();
        while let Some(t) = queue.tasks.pop_front() {
            let cancelled = self
                .cancelled
                .lock()
                .map(|mut c| c.remove(&(t.execution_id, t.task)))
                .unwrap_or(false);
            if !cancelled {
                return Taken::Task(t);
            }
        }
        queue.waiters.retain(|w| !w.tx.is_closed());
        let (tx, rx) = oneshot::channel();
        queue.waiters.push_back(Waiter { worker_name, tx });
        Taken::Wait(rx)
    }

    /// A poll waiting on `activity_arn` that is still there, taken out of
    /// the queue (the caller hands it a task or drops it).
    pub(crate) fn claim_waiter(&self, activity_arn: &str) -> Option<Waiter> {
        let mut q = self.queues.lock().ok()?;
        let queue = q.get_mut(activity_arn)?;
        while let Some(w) = queue.waiters.pop_front() {
            if !w.tx.is_closed() {
                return Some(w);
            }
        }
        None
    }

    /// Tasks waiting per activity (for metrics).
    pub(crate) fn waiting(&self) -> usize {
        self.queues
            .lock()
            .map(|q| q.values().map(|x| x.tasks.len()).sum())
            .unwrap_or(0)
    }
}
