//! The AWS Step Functions JSON protocol (awsJson1_0): the only module that
//! knows it. `POST /` with `X-Amz-Target: AWSStepFunctions.<Action>`; request
//! parsing and model validation ([`input`]), response shapes ([`shapes`]),
//! errors as AWS sends them ([`ApiError`]) and the action table
//! ([`actions`]).

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use baton_engine::{Error as EngineError, ErrorKind};
use serde_json::{Value, json};

mod actions;
mod input;
mod shapes;

pub(crate) use actions::{ACTIONS, dispatch};

/// The content type of every request and answer.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// The target prefix of every action.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";

/// The namespace of Step Functions' own (modelled) errors.
const SERVICE_NS: &str = "com.amazonaws.swf.service.v2.model";
/// The namespace of model-constraint violations.
const VALIDATE_NS: &str = "com.amazon.coral.validate";
/// The namespace of protocol-level errors (unknown operation, bad JSON).
const CORAL_NS: &str = "com.amazon.coral.service";

/// An error answer: HTTP status, `__type` and `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// The full `__type`, `namespace#Name`.
    pub type_: String,
    pub message: String,
}

impl ApiError {
    fn new(status: StatusCode, ns: &str, name: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            type_: format!("{ns}#{name}"),
            message: message.into(),
        }
    }

    /// A Step Functions error (`com.amazonaws.swf.service.v2.model#<name>`), 400.
    pub fn service(name: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, SERVICE_NS, name, message)
    }

    /// `com.amazon.coral.validate#ValidationException` with AWS's
    /// "N validation error(s) detected: ..." text.
    pub fn validation(errors: &[String]) -> Self {
        let n = errors.len();
        let noun = if n == 1 { "error" } else { "errors" };
        Self::new(
            StatusCode::BAD_REQUEST,
            VALIDATE_NS,
            "ValidationException",
            format!("{n} validation {noun} detected: {}", errors.join("; ")),
        )
    }

    /// `SerializationException`: the body is not the JSON the action takes.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            CORAL_NS,
            "SerializationException",
            message,
        )
    }

    /// `UnknownOperationException`: no such action.
    pub fn unknown_operation(target: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            CORAL_NS,
            "UnknownOperationException",
            format!("Unknown operation: '{target}'"),
        )
    }

    /// An action Baton does not provide yet.
    pub fn unsupported(action: &str, what: &str) -> Self {
        Self::service(
            "UnsupportedOperation",
            format!("{action}: Baton does not support {what} yet"),
        )
    }

    /// The request body is larger than the 1 MB AWS accepts.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            CORAL_NS,
            "RequestEntityTooLargeException",
            format!("Request size exceeds the limit of {limit} bytes"),
        )
    }

    /// The error's short name (after `#`), as SDKs show it.
    pub fn code(&self) -> &str {
        self.type_.rsplit('#').next().unwrap_or(&self.type_)
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"__type": self.type_, "message": self.message})
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let name = match e.kind {
            ErrorKind::ActivityAlreadyExists => "ActivityAlreadyExists",
            ErrorKind::ActivityDoesNotExist => "ActivityDoesNotExist",
            ErrorKind::ActivityLimitExceeded => "ActivityLimitExceeded",
            ErrorKind::ExecutionAlreadyExists => "ExecutionAlreadyExists",
            ErrorKind::ExecutionDoesNotExist => "ExecutionDoesNotExist",
            ErrorKind::ExecutionLimitExceeded => "ExecutionLimitExceeded",
            ErrorKind::ExecutionNotRedrivable => "ExecutionNotRedrivable",
            ErrorKind::InvalidArn => "InvalidArn",
            ErrorKind::InvalidDefinition => "InvalidDefinition",
            ErrorKind::InvalidExecutionInput => "InvalidExecutionInput",
            ErrorKind::InvalidName => "InvalidName",
            ErrorKind::InvalidOutput => "InvalidOutput",
            ErrorKind::InvalidToken => "InvalidToken",
            ErrorKind::InvalidLoggingConfiguration => "InvalidLoggingConfiguration",
            ErrorKind::InvalidTracingConfiguration => "InvalidTracingConfiguration",
            ErrorKind::MissingRequiredParameter => "MissingRequiredParameter",
            ErrorKind::ResourceNotFound => "ResourceNotFound",
            ErrorKind::StateMachineAlreadyExists => "StateMachineAlreadyExists",
            ErrorKind::StateMachineDeleting => "StateMachineDeleting",
            ErrorKind::StateMachineDoesNotExist => "StateMachineDoesNotExist",
            ErrorKind::StateMachineTypeNotSupported => "StateMachineTypeNotSupported",
            ErrorKind::TaskDoesNotExist => "TaskDoesNotExist",
            ErrorKind::TaskTimedOut => "TaskTimedOut",
            ErrorKind::TooManyTags => "TooManyTags",
            ErrorKind::Validation => "ValidationException",
            ErrorKind::Unsupported => "UnsupportedOperation",
            ErrorKind::Internal => {
                tracing::error!(error = %e.message, "internal error");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    CORAL_NS,
                    "InternalFailure",
                    e.message,
                );
            }
            ErrorKind::Unavailable => {
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    CORAL_NS,
                    "ServiceUnavailable",
                    e.message,
                );
            }
        };
        ApiError::service(name, e.message)
    }
}

/// A JSON answer with AWS's content type and a request id.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(&baton_engine::control::uuid_v4()) {
        h.insert("x-amzn-RequestId", v);
    }
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = json_response(self.status, &self.body());
        if let Ok(v) = HeaderValue::from_str(self.code()) {
            resp.headers_mut().insert("x-amzn-ErrorType", v);
        }
        resp
    }
}

/// The action named by `X-Amz-Target`, or UnknownOperationException.
pub fn action_of(headers: &HeaderMap) -> Result<&str, ApiError> {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match target.strip_prefix(TARGET_PREFIX) {
        Some(action) if ACTIONS.iter().any(|(a, _)| *a == action) => Ok(action),
        _ => Err(ApiError::unknown_operation(target)),
    }
}

/// Parses a request body: `{}` when empty, else a JSON object.
pub fn parse_body(body: &Bytes) -> Result<serde_json::Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::serialization(
            "Start of structure or map expected: the request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::serialization(format!(
            "Malformed JSON request body: {e}"
        ))),
    }
}
