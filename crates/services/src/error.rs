//! The error every service action returns.

use std::fmt;

/// An AWS API error: the protocol modules in `baton-server` render it
/// (`__type` for JSON, `<Error><Code>` for query/XML, the
/// `x-amzn-query-error` header for SQS JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// AWS's error code, e.g. `QueueDoesNotExist`, `NotFound`,
    /// `ResourceNotFoundException`.
    pub code: String,
    pub message: String,
    /// The HTTP status (400, 403, 404, 409, 413, 429, 500, 502, ...).
    pub status: u16,
    /// `true` for client errors (`Sender`), `false` for service errors
    /// (`Receiver`).
    pub sender_fault: bool,
    /// The code the SQS query protocol shows when it differs from `code`
    /// (e.g. `AWS.SimpleQueueService.NonExistentQueue` for
    /// `QueueDoesNotExist`), sent in `x-amzn-query-error` by the JSON
    /// protocol.
    pub query_code: Option<String>,
}

impl ServiceError {
    /// A client error (status 400).
    pub fn client(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status: 400,
            sender_fault: true,
            query_code: None,
        }
    }

    /// A service-side failure (status 500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: "InternalFailure".into(),
            message: message.into(),
            status: 500,
            sender_fault: false,
            query_code: None,
        }
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    pub fn with_query_code(mut self, code: impl Into<String>) -> Self {
        self.query_code = Some(code.into());
        self
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ServiceError {}

impl From<baton_storage::Error> for ServiceError {
    fn from(e: baton_storage::Error) -> Self {
        ServiceError::internal(format!("Baton's store failed: {}", e.message))
    }
}
