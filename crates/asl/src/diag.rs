//! Validation diagnostics: every problem in a definition, each with AWS's code
//! and a JSON-pointer location, reported all at once.

use std::fmt;

/// One problem found in a state machine definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// AWS's code, e.g. `SCHEMA_VALIDATION_FAILED`, `MISSING_TRANSITION_TARGET`.
    pub code: &'static str,
    /// What is wrong, worded as AWS words it.
    pub message: String,
    /// JSON pointer into the definition, e.g. `/States/Wait/Timestamp`; `/`
    /// for the whole definition, empty when AWS reports no location.
    pub location: String,
}

/// The codes AWS uses in `InvalidDefinition` and ValidateStateMachineDefinition.
pub mod codes {
    pub const SCHEMA_VALIDATION_FAILED: &str = "SCHEMA_VALIDATION_FAILED";
    pub const MISSING_TRANSITION_TARGET: &str = "MISSING_TRANSITION_TARGET";
    pub const INVALID_JSON_DESCRIPTION: &str = "INVALID_JSON_DESCRIPTION";
    pub const DUPLICATE_STATE_NAME: &str = "DUPLICATE_STATE_NAME";
    pub const UNREACHABLE_STATE: &str = "UNREACHABLE_STATE";
    pub const NO_TERMINAL_STATE: &str = "NO_TERMINAL_STATE";
    pub const INVALID_RESOURCE: &str = "INVALID_RESOURCE";
}

impl Diagnostic {
    /// A diagnostic with `code` at `location`.
    pub fn new(
        code: &'static str,
        message: impl Into<String>,
        location: impl Into<String>,
    ) -> Self {
        Self {
            code,
            message: message.into(),
            location: location.into(),
        }
    }

    /// A `SCHEMA_VALIDATION_FAILED` diagnostic.
    pub fn schema(message: impl Into<String>, location: impl Into<String>) -> Self {
        Self::new(codes::SCHEMA_VALIDATION_FAILED, message, location)
    }
}

impl fmt::Display for Diagnostic {
    /// AWS's form: `CODE: message at /States/X/Field`; a diagnostic with no
    /// location reads `… at null`, as AWS prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.location.is_empty() {
            "null"
        } else {
            &self.location
        };
        write!(f, "{}: {} at {at}", self.code, self.message)
    }
}

/// AWS's `InvalidDefinition` message for a list of diagnostics:
/// `Invalid State Machine Definition: 'A, B'`.
pub fn invalid_definition_message(diags: &[Diagnostic]) -> String {
    let parts: Vec<String> = diags.iter().map(ToString::to_string).collect();
    format!("Invalid State Machine Definition: '{}'", parts.join(", "))
}

/// A JSON pointer segment, escaped (`~` → `~0`, `/` → `~1`).
pub fn pointer_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}
