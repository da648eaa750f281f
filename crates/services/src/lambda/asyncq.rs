//! `Event` invocations: queued durably in the store (kind `lambda-event`,
//! key `<enqueued ms>-<request id>`) before Invoke answers 202, run when a
//! worker is free, retried twice on error as Lambda's asynchronous
//! invocation does (after [`Config::async_retry_delay`], then twice that),
//! and recovered when Baton restarts.

use serde::{Deserialize, Serialize};

use super::*;

const EVENT_KIND: &str = "lambda-event";
/// One attempt plus two retries.
const MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct QueuedEvent {
    request_id: String,
    account: String,
    region: String,
    function: String,
    payload: String,
    attempts: u32,
    not_before_ms: i64,
}

impl Lambda {
    /// Queues an `Event` invocation (durable once this returns).
    pub(super) fn enqueue_event(
        &self,
        f: &FunctionRecord,
        payload: Vec<u8>,
    ) -> Result<(), ServiceError> {
        let payload =
            String::from_utf8(payload).map_err(|_| invalid("The payload must be UTF-8 JSON"))?;
        let now = now_ms();
        let ev = QueuedEvent {
            request_id: baton_engine::control::uuid_v4(),
            account: f.account.clone(),
            region: f.region.clone(),
            function: f.name.clone(),
            payload,
            attempts: 0,
            not_before_ms: now,
        };
        let key = format!("{now:013}-{}", ev.request_id);
        let value = serde_json::to_string(&ev)
            .map_err(|e| ServiceError::internal(format!("cannot encode the event: {e}")))?;
        self.store
            .write_resources(&[ResourceOp::Insert(ResourceRecord {
                kind: EVENT_KIND.into(),
                key: key.clone(),
                value,
            })])?;
        self.spawn_event(key, ev);
        Ok(())
    }

    /// Re-queues the `Event` invocations a previous run left.
    pub(super) fn recover_async(&self) -> Result<(), ServiceError> {
        let mut after: Option<String> = None;
        let mut n = 0usize;
        loop {
            let rows = self
                .store
                .list_resources(EVENT_KIND, "", after.as_deref(), 1000)?;
            let Some(last) = rows.last() else { break };
            after = Some(last.key.clone());
            for row in rows {
                match serde_json::from_str::<QueuedEvent>(&row.value) {
                    Ok(ev) => {
                        n += 1;
                        self.spawn_event(row.key, ev);
                    }
                    Err(e) => {
                        tracing::warn!(key = %row.key, error = %e, "dropping an unreadable queued event");
                        self.delete_event(&row.key);
                    }
                }
            }
        }
        if n > 0 {
            tracing::info!(events = n, "queued function invocations recovered");
        }
        Ok(())
    }

    fn spawn_event(&self, key: String, ev: QueuedEvent) {
        let me = self.me.clone();
        let h = tokio::spawn(async move {
            if let Some(l) = me.upgrade() {
                l.run_event(key, ev).await;
            }
        });
        self.track(h);
    }

    fn delete_event(&self, key: &str) {
        if let Err(e) = self.store.write_resources(&[ResourceOp::Delete {
            kind: EVENT_KIND.into(),
            key: key.to_string(),
        }]) {
            tracing::warn!(key, error = %e.message, "cannot remove a queued event");
        }
    }

    async fn run_event(&self, key: String, mut ev: QueuedEvent) {
        loop {
            let wait = ev.not_before_ms - now_ms();
            if wait > 0 {
                tokio::time::sleep(Duration::from_millis(wait as u64)).await;
            }
            let scope = Scope::new(&ev.account, &ev.region);
            let f = match self.load_function(&function_key(&scope, &ev.function)) {
                Ok(Some(f)) => f,
                Ok(None) => {
                    tracing::warn!(function = %ev.function, request_id = %ev.request_id,
                        "an Event invocation was dropped: its function no longer exists");
                    self.delete_event(&key);
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e.message, "cannot read a function; retrying");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            };
            let arn = f.arn();
            let result = self.run(f, ev.payload.clone().into_bytes(), true).await;
            if self.is_stopping() {
                return;
            }
            ev.attempts += 1;
            let why = match &result {
                Ok((_, r)) if !r.failed => None,
                Ok((id, r)) => Some(format!(
                    "request {id} failed: {}",
                    String::from_utf8_lossy(&r.payload)
                )),
                Err(e) => Some(e.to_string()),
            };
            let Some(why) = why else {
                self.delete_event(&key);
                return;
            };
            if ev.attempts >= MAX_ATTEMPTS {
                tracing::warn!(function = %arn, attempts = ev.attempts, error = %why,
                    "an Event invocation failed on every attempt and was dropped");
                self.delete_event(&key);
                return;
            }
            tracing::info!(function = %arn, attempt = ev.attempts, error = %why,
                "an Event invocation failed; it will be retried");
            let delay = self.config.async_retry_delay * ev.attempts;
            ev.not_before_ms = now_ms() + delay.as_millis() as i64;
            match serde_json::to_string(&ev) {
                Ok(value) => {
                    if let Err(e) = self
                        .store
                        .write_resources(&[ResourceOp::Put(ResourceRecord {
                            kind: EVENT_KIND.into(),
                            key: key.clone(),
                            value,
                        })])
                    {
                        tracing::warn!(error = %e.message, "cannot record a retry");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot encode a retry"),
            }
        }
    }
}
