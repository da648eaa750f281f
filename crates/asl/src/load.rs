//! Raw definition → [`Definition`] plus every diagnostic.
//!
//! PLACEHOLDER INTERFACE: the implementation lands with the validator work.

use serde_json::Value;

use crate::{Definition, Diagnostic};

/// Loads a definition from JSON text. The definition is `None` when any
/// diagnostic is an error; all diagnostics are returned at once.
pub fn load_str(src: &str) -> (Option<Definition>, Vec<Diagnostic>) {
    match serde_json::from_str::<Value>(src) {
        Ok(v) => load(&v),
        Err(e) => (
            None,
            vec![Diagnostic::new(crate::diag::codes::INVALID_JSON_DESCRIPTION, e.to_string(), "")],
        ),
    }
}

/// Loads a definition from a JSON value.
pub fn load(_value: &Value) -> (Option<Definition>, Vec<Diagnostic>) {
    (None, vec![Diagnostic::schema("the loader is not built yet", "")])
}
