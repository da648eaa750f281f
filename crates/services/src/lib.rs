//! Baton's built-in services, the AWS-like resources the callback pattern
//! needs: SQS-compatible queues ([`sqs`]), SNS-compatible topics ([`sns`])
//! and Lambda-like functions ([`lambda`]), plus their Step Functions
//! integrations ([`integrations`]).
//!
//! Architecture: like the engine, this crate speaks no wire protocol.
//! `baton-server` parses each protocol (SQS JSON and query, SNS query, the
//! Lambda REST API) into an action name and a JSON input in the shape of the
//! AWS API's JSON protocol (PascalCase members, as in the SDK models), calls
//! [`AwsService::call`], and renders the JSON output or the
//! [`ServiceError`] in its protocol. The Step Functions integrations
//! (`arn:aws:states:::sqs:sendMessage`, `aws-sdk:sqs:*`, ...) call the same
//! entry point, so one implementation serves both. State lives in the
//! [`baton_storage::Store`] (SQL stays in the storage backends).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

pub mod error;

pub use error::ServiceError;

/// A boxed future, as the service traits return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who is calling: resources are scoped by account and region as on AWS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            account: account.into(),
            region: region.into(),
        }
    }

    /// The scope an ARN names (`arn:aws:svc:region:account:...`).
    pub fn of_arn(arn: &str) -> Option<Scope> {
        let mut parts = arn.split(':');
        if parts.next() != Some("arn") {
            return None;
        }
        let _partition = parts.next()?;
        let _service = parts.next()?;
        let region = parts.next()?;
        let account = parts.next()?;
        Some(Scope::new(account, region))
    }

    /// The partition for the region (`aws`, `aws-cn`, `aws-us-gov`).
    pub fn partition(&self) -> &'static str {
        baton_engine::arn::partition_for(&self.region)
    }
}

/// One AWS-like service: an action by its API name (`SendMessage`,
/// `Publish`, `Invoke`, ...) with its input in the shape of the AWS API's
/// JSON protocol, answering with the output in the same shape.
pub trait AwsService: Send + Sync + 'static {
    fn call<'a>(
        &'a self,
        scope: &'a Scope,
        action: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>>;
}

/// How a function is invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    /// Wait for the result.
    RequestResponse,
    /// Queue the event durably and return at once (status 202).
    Event,
    /// Check the function exists and may be invoked (status 204).
    DryRun,
}

/// The result of one invocation, as Lambda's Invoke answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// 200, 202 or 204.
    pub status_code: u16,
    /// The function's response (or its error object) as bytes.
    pub payload: Vec<u8>,
    /// `Unhandled` or `Handled` when the function failed (`X-Amz-Function-Error`).
    pub function_error: Option<String>,
    /// `$LATEST` (`X-Amz-Executed-Version`).
    pub executed_version: String,
    /// The last 4 KB of the invocation's log (`X-Amz-Log-Result`, base64 on
    /// the wire), when asked for with `LogType: Tail`.
    pub log_tail: Option<String>,
}

/// Invoking functions (for SNS deliveries, event sources and the Step
/// Functions integrations).
pub trait FunctionInvoker: Send + Sync + 'static {
    /// `function` is a name, a partial ARN or a full ARN, with an optional
    /// `:qualifier`.
    fn invoke<'a>(
        &'a self,
        scope: &'a Scope,
        function: &'a str,
        payload: Vec<u8>,
        invocation_type: InvocationType,
        log_tail: bool,
    ) -> BoxFuture<'a, Result<Invocation, ServiceError>>;
}

/// A shared handle on a service.
pub type Service = Arc<dyn AwsService>;

pub mod apps;
pub mod integrations;
pub mod lambda;
pub mod sns;
pub mod sqs;

/// Settings of the built-in services.
#[derive(Debug, Clone)]
pub struct Config {
    pub lambda: lambda::Config,
}

/// The built-in services, started together.
pub struct Services {
    pub sqs: Arc<sqs::Sqs>,
    pub sns: Arc<sns::Sns>,
    pub lambda: Arc<lambda::Lambda>,
}

impl Services {
    /// Opens every service on `store` and starts their background work on
    /// the current tokio runtime.
    pub fn start(
        store: Arc<dyn baton_storage::Store>,
        config: Config,
    ) -> Result<Arc<Services>, ServiceError> {
        let sqs = sqs::Sqs::start(store.clone())?;
        let lambda = lambda::Lambda::start(store.clone(), sqs.clone(), config.lambda)?;
        let sns = sns::Sns::start(store, sqs.clone(), lambda.clone())?;
        Ok(Arc::new(Services { sqs, sns, lambda }))
    }

    /// The Step Functions integrations these services run
    /// (`sqs:sendMessage`, `sns:publish`, `lambda:invoke`, `aws-sdk:*`),
    /// to register with the engine before it recovers.
    pub fn integrations(self: &Arc<Self>) -> Vec<Arc<dyn baton_engine::runtime::Integration>> {
        vec![Arc::new(integrations::Integrations::new(self.clone()))]
    }

    /// The URL handlers and queue URLs point at (Baton's own address).
    pub fn set_endpoint(&self, url: &str) {
        self.sqs.set_endpoint(url);
        self.sns.set_endpoint(url);
        self.lambda.set_endpoint(url);
    }

    /// Stops background work.
    pub async fn shutdown(&self) {
        self.sns.shutdown().await;
        self.lambda.shutdown().await;
        self.sqs.shutdown().await;
    }
}
