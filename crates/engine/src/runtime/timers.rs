//! Durable timers, fired on time. The timer rows live in the store (written
//! with the step that armed them); this service keeps them in memory and
//! feeds `TimerFired` to their executions when due.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use baton_interp::{Input, TimerKind};

use super::{Shared, Work, wall_clock_ms};

#[derive(Default)]
struct State {
    /// (fire at, due, execution, timer)
    heap: BinaryHeap<Reverse<(i64, i64, u64, u64)>>,
    cancelled: HashSet<(u64, u64)>,
    shutdown: bool,
}

#[derive(Clone)]
pub(crate) struct Handle {
    inner: Arc<(Mutex<State>, Condvar)>,
}

pub(crate) struct Rx {
    inner: Arc<(Mutex<State>, Condvar)>,
}

pub(crate) fn channel() -> (Handle, Rx) {
    let inner = Arc::new((Mutex::new(State::default()), Condvar::new()));
    (
        Handle {
            inner: inner.clone(),
        },
        Rx { inner },
    )
}

/// When a timer armed at `now` for `due` fires under `scale`: Wait states and
/// back-offs shrink with the scale (0 skips them); deadlines shrink too but
/// are never skipped.
pub(crate) fn scaled(scale: f64, kind: TimerKind, now: i64, due: i64) -> i64 {
    if (scale - 1.0).abs() < f64::EPSILON || due <= now {
        return due;
    }
    let skip_allowed = matches!(kind, TimerKind::Wait | TimerKind::Backoff);
    let scale = if scale <= 0.0 && !skip_allowed {
        1.0
    } else {
        scale.max(0.0)
    };
    now + ((due - now) as f64 * scale) as i64
}

impl Handle {
    pub(crate) fn arm(&self, execution_id: u64, timer: u64, due: i64, fire_at: i64, _now: i64) {
        let (lock, cv) = &*self.inner;
        if let Ok(mut s) = lock.lock() {
            s.cancelled.remove(&(execution_id, timer));
            s.heap.push(Reverse((fire_at, due, execution_id, timer)));
            cv.notify_one();
        }
    }

    pub(crate) fn cancel(&self, execution_id: u64, timer: u64) {
        let (lock, _) = &*self.inner;
        if let Ok(mut s) = lock.lock() {
            s.cancelled.insert((execution_id, timer));
        }
    }

    pub(crate) fn shutdown(&self) {
        let (lock, cv) = &*self.inner;
        if let Ok(mut s) = lock.lock() {
            s.shutdown = true;
            cv.notify_all();
        }
    }
}

pub(crate) fn run(shared: Arc<Shared>, rx: Rx) {
    let (lock, cv) = &*rx.inner;
    let Ok(mut s) = lock.lock() else { return };
    loop {
        if s.shutdown || shared.shutting_down.load(Ordering::SeqCst) {
            return;
        }
        let now = wall_clock_ms();
        match s.heap.peek().copied() {
            Some(Reverse((fire_at, _due, exec, timer))) if fire_at <= now => {
                s.heap.pop();
                if s.cancelled.remove(&(exec, timer)) {
                    continue;
                }
                let late = ((now - fire_at).max(0) as u64) * 1000;
                shared.metrics.timers_fired.fetch_add(1, Ordering::Relaxed);
                shared
                    .metrics
                    .timer_lateness_micros_total
                    .fetch_add(late, Ordering::Relaxed);
                shared.metrics.timer_lateness.observe(late);
                shared.send(
                    exec,
                    Work::Input {
                        execution_id: exec,
                        input: Input::TimerFired { timer },
                        reply: None,
                        expect_task: None,
                    },
                );
            }
            Some(Reverse((fire_at, ..))) => {
                let wait = Duration::from_millis((fire_at - now).clamp(1, 1000) as u64);
                s = match cv.wait_timeout(s, wait) {
                    Ok((g, _)) => g,
                    Err(_) => return,
                };
            }
            None => {
                s = match cv.wait_timeout(s, Duration::from_millis(500)) {
                    Ok((g, _)) => g,
                    Err(_) => return,
                };
            }
        }
    }
}
