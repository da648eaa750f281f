//! Executions: start, step, commit, timers, outbox, callbacks.

use std::sync::Arc;

use baton_storage::Store;

mod api;
pub use api::{Page, StartedExecution};

use crate::{Config, Result};

/// The execution runtime.
pub(crate) struct Runtime {}

impl Runtime {
    pub(crate) async fn start(_store: Arc<dyn Store>, _config: &Config) -> Result<Runtime> {
        Ok(Runtime {})
    }

    pub(crate) async fn shutdown(&self) {}
}

/// The wall clock, in epoch milliseconds.
pub fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
