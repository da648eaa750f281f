//! The 18 `States.*` intrinsic functions: parser and evaluator.
//!
//! PLACEHOLDER INTERFACE: the implementation lands with the intrinsics work.

use serde_json::Value;

use crate::payload::Scope;
use crate::StatesError;

/// A parse error, worded for a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    src: String,
}

/// Parses `States.Name(args...)`.
pub fn parse(src: &str) -> Result<Call, ParseError> {
    Ok(Call { src: src.to_string() })
}

impl Call {
    /// The call as written.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// Evaluates the call.
    pub fn eval(&self, _scope: &mut Scope<'_>) -> Result<Value, StatesError> {
        Err(StatesError::new(crate::error::names::INTRINSIC_FAILURE, "intrinsic functions are not available in this build"))
    }
}
