//! The engine's errors. Each kind corresponds to one AWS error; the mapping
//! to AWS's error codes and HTTP statuses lives at the API boundary
//! (`baton-server`), the message text here is AWS's.

use std::fmt;

/// What went wrong, in the engine's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    ActivityAlreadyExists,
    ActivityDoesNotExist,
    ActivityLimitExceeded,
    ExecutionAlreadyExists,
    ExecutionDoesNotExist,
    ExecutionLimitExceeded,
    ExecutionNotRedrivable,
    InvalidArn,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidName,
    InvalidOutput,
    InvalidToken,
    InvalidLoggingConfiguration,
    InvalidTracingConfiguration,
    MissingRequiredParameter,
    ResourceNotFound,
    StateMachineAlreadyExists,
    StateMachineDeleting,
    StateMachineDoesNotExist,
    StateMachineTypeNotSupported,
    TaskDoesNotExist,
    TaskTimedOut,
    TooManyTags,
    /// A request field breaks a model constraint (AWS's ValidationException).
    Validation,
    /// Baton does not support this yet; the message says what.
    Unsupported,
    /// The store failed; nothing was acknowledged.
    Internal,
    /// The engine is shutting down.
    Unavailable,
}

/// An engine error: a kind and AWS's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

impl From<baton_storage::Error> for Error {
    fn from(e: baton_storage::Error) -> Self {
        Error::new(ErrorKind::Internal, e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
