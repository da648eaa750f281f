//! SNS-compatible topics: subscriptions and durable, retried deliveries.

use std::sync::Arc;

use baton_storage::Store;
use serde_json::Value;

use crate::{AwsService, BoxFuture, FunctionInvoker, Scope, Service, ServiceError};

/// The topic service.
pub struct Sns {
    _store: Arc<dyn Store>,
}

impl Sns {
    /// Opens the topics kept in `store`; deliveries go to `sqs` and
    /// `lambda`. Starts background work on the current tokio runtime.
    pub fn start(
        store: Arc<dyn Store>,
        _sqs: Service,
        _lambda: Arc<dyn FunctionInvoker>,
    ) -> Result<Arc<Sns>, ServiceError> {
        Ok(Arc::new(Sns { _store: store }))
    }

    /// Stops background work.
    pub async fn shutdown(&self) {}
}

impl AwsService for Sns {
    fn call<'a>(
        &'a self,
        _scope: &'a Scope,
        action: &'a str,
        _input: Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        Box::pin(async move {
            Err(ServiceError::client(
                "InvalidAction",
                format!("SNS action {action} is not available in this build"),
            ))
        })
    }
}
