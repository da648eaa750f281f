//! SQS-compatible queues, durable in Baton's store.

use std::sync::Arc;

use baton_storage::Store;
use serde_json::Value;

use crate::{AwsService, BoxFuture, Scope, ServiceError};

/// The queue service.
pub struct Sqs {
    _store: Arc<dyn Store>,
}

impl Sqs {
    /// Opens the queues kept in `store` and starts their background work on
    /// the current tokio runtime.
    pub fn start(store: Arc<dyn Store>) -> Result<Arc<Sqs>, ServiceError> {
        Ok(Arc::new(Sqs { _store: store }))
    }

    /// Stops background work.
    pub async fn shutdown(&self) {}
}

impl AwsService for Sqs {
    fn call<'a>(
        &'a self,
        _scope: &'a Scope,
        action: &'a str,
        _input: Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        Box::pin(async move {
            Err(ServiceError::client(
                "UnsupportedOperation",
                format!("SQS action {action} is not available in this build"),
            ))
        })
    }
}
