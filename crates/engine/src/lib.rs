//! Baton's engine: durable executions of ASL state machines.
//!
//! - [`control`]: state machines, activities and tags (the control plane).
//! - [`runtime`]: executions: StartExecution, the group committer, durable
//!   timers, the outbox, task tokens and callbacks, activities' task queues.
//!
//! Architecture invariant: commit before effect. A step's new execution state,
//! its history events, timers and outbox commands are written in one
//! [`baton_storage::Store::commit`] (shared by many executions' steps) before
//! any client is answered or any command runs.
//!
//! The engine speaks no wire protocol: `baton-server` maps requests to these
//! methods and [`Error`]s to AWS's error codes.

use std::sync::Arc;

use baton_storage::Store;

pub mod arn;
pub mod control;
mod error;
pub mod runtime;
pub mod tokens;

pub use error::{Error, ErrorKind, Result};

/// Who is calling: the account and region every ARN is scoped by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub region: String,
}

impl Caller {
    /// The partition for the region (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &'static str {
        arn::partition_for(&self.region)
    }
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Scales every wait the engine makes (Wait states, retry back-off,
    /// timeouts, heartbeats); 0 skips Wait states and back-off.
    pub time_scale: f64,
    /// An AWS Step Functions Local MockConfigFile: a StartExecution on
    /// `stateMachineArn#TestCase` answers Task states from that test case.
    pub mock_config: Option<serde_json::Value>,
    /// How long GetActivityTask waits for a task before answering empty.
    pub activity_poll_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            time_scale: 1.0,
            mock_config: None,
            activity_poll_seconds: 60,
        }
    }
}

/// A running engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) runtime: runtime::Runtime,
}

impl Engine {
    /// Starts the engine on the current tokio runtime: recovers running
    /// executions, pending timers and outbox commands from `store`.
    pub async fn start(store: Arc<dyn Store>, config: Config) -> Result<Engine> {
        Self::start_with(store, config, Vec::new()).await
    }

    /// [`Engine::start`] with `integrations` registered before recovery
    /// re-dispatches the outbox (so recovered tasks reach them).
    pub async fn start_with(
        store: Arc<dyn Store>,
        config: Config,
        integrations: Vec<Arc<dyn runtime::Integration>>,
    ) -> Result<Engine> {
        let runtime = runtime::Runtime::start(store.clone(), &config).await?;
        let inner = Arc::new(Inner { store, runtime });
        if let Ok(mut weak) = inner.runtime.shared.engine.lock() {
            *weak = Arc::downgrade(&inner);
        }
        let engine = Engine {
            inner: inner.clone(),
        };
        for integration in integrations {
            engine.register_integration(integration);
        }
        // Only now: integrations that recovery re-dispatches call back into
        // the engine.
        inner.runtime.recover().await?;
        Ok(engine)
    }

    /// Stops taking work, flushes the committer and stops background tasks.
    pub async fn shutdown(&self) {
        self.inner.runtime.shutdown().await;
    }

    /// The store (for read-only views such as the web UI).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Now, in epoch milliseconds (the engine's clock).
    pub fn now_ms(&self) -> i64 {
        runtime::wall_clock_ms()
    }
}
