//! Choice rule evaluation.
//!
//! PLACEHOLDER INTERFACE: the implementation lands with the Choice work.

use crate::model::ChoiceRule;
use crate::payload::Scope;
use crate::StatesError;

/// Evaluates a JSONPath-mode rule.
pub fn evaluate(_rule: &ChoiceRule, _scope: &Scope<'_>) -> Result<bool, StatesError> {
    Ok(false)
}
