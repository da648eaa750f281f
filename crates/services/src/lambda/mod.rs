//! Lambda-like functions: local handlers run by warm worker processes.

use std::path::PathBuf;
use std::sync::Arc;

use baton_storage::Store;
use serde_json::Value;

use crate::{
    AwsService, BoxFuture, FunctionInvoker, Invocation, InvocationType, Scope, Service,
    ServiceError,
};

/// Settings of the function service.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where invocation logs and the runtimes' SDK cache live.
    pub data_dir: PathBuf,
}

/// The function service.
pub struct Lambda {
    _store: Arc<dyn Store>,
}

impl Lambda {
    /// Opens the functions kept in `store`; `sqs` feeds event source
    /// mappings. Starts background work on the current tokio runtime.
    pub fn start(
        store: Arc<dyn Store>,
        _sqs: Service,
        _config: Config,
    ) -> Result<Arc<Lambda>, ServiceError> {
        Ok(Arc::new(Lambda { _store: store }))
    }

    /// The URL handlers reach Baton at (`AWS_ENDPOINT_URL`).
    pub fn set_endpoint(&self, _url: &str) {}

    /// Stops background work and the worker processes.
    pub async fn shutdown(&self) {}
}

impl AwsService for Lambda {
    fn call<'a>(
        &'a self,
        _scope: &'a Scope,
        action: &'a str,
        _input: Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        Box::pin(async move {
            Err(ServiceError::client(
                "InvalidRequestContentException",
                format!("Lambda action {action} is not available in this build"),
            ))
        })
    }
}

impl FunctionInvoker for Lambda {
    fn invoke<'a>(
        &'a self,
        _scope: &'a Scope,
        function: &'a str,
        _payload: Vec<u8>,
        _invocation_type: InvocationType,
        _log_tail: bool,
    ) -> BoxFuture<'a, Result<Invocation, ServiceError>> {
        Box::pin(async move {
            Err(ServiceError::client(
                "ResourceNotFoundException",
                format!("Function not found: {function}"),
            )
            .with_status(404))
        })
    }
}
