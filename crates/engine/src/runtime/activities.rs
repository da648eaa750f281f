//! Activity task queues: tasks wait here (their outbox rows keep them durable)
//! until a worker's GetActivityTask takes one.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// A task waiting for an activity worker.
#[derive(Debug, Clone)]
pub(crate) struct ActivityTask {
    pub(crate) execution_id: u64,
    pub(crate) task: u64,
    pub(crate) token: String,
    pub(crate) input: String,
}

#[derive(Default)]
struct Queue {
    tasks: VecDeque<ActivityTask>,
    notify: Arc<Notify>,
}

#[derive(Default)]
pub(crate) struct Activities {
    queues: Mutex<HashMap<String, Queue>>,
    /// Tasks no longer wanted (their state was aborted or timed out).
    cancelled: Mutex<HashSet<(u64, u64)>>,
}

impl Activities {
    pub(crate) fn enqueue(
        &self,
        activity_arn: &str,
        execution_id: u64,
        task: u64,
        token: String,
        input: String,
    ) {
        if let Ok(mut q) = self.queues.lock() {
            let queue = q.entry(activity_arn.to_string()).or_default();
            if queue
                .tasks
                .iter()
                .any(|t| t.execution_id == execution_id && t.task == task)
            {
                return;
            }
            queue.tasks.push_back(ActivityTask {
                execution_id,
                task,
                token,
                input,
            });
            queue.notify.notify_one();
        }
    }

    pub(crate) fn cancel(&self, execution_id: u64, task: u64) {
        if let Ok(mut c) = self.cancelled.lock() {
            c.insert((execution_id, task));
        }
    }

    /// The next live task, if any, and the notifier to wait on otherwise.
    pub(crate) fn take(&self, activity_arn: &str) -> (Option<ActivityTask>, Arc<Notify>) {
        let Ok(mut q) = self.queues.lock() else {
            return (None, Arc::new(Notify::new()));
        };
        let queue = q.entry(activity_arn.to_string()).or_default();
        while let Some(t) = queue.tasks.pop_front() {
            let cancelled = self
                .cancelled
                .lock()
                .map(|mut c| c.remove(&(t.execution_id, t.task)))
                .unwrap_or(false);
            if !cancelled {
                return (Some(t), queue.notify.clone());
            }
        }
        (None, queue.notify.clone())
    }

    /// Tasks waiting per activity (for metrics).
    pub(crate) fn waiting(&self) -> usize {
        self.queues
            .lock()
            .map(|q| q.values().map(|x| x.tasks.len()).sum())
            .unwrap_or(0)
    }
}
