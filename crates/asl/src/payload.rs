//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector`,
//! `Credentials` and JSONPath-mode `Assign`, whose keys ending in `.$` take a
//! path (`$.x`), a context path (`$$.x`), a variable (`$name`) or an intrinsic
//! function call, at any depth.
//!
//! PLACEHOLDER INTERFACE: the implementation lands with the intrinsics work.

use serde_json::Value;

use crate::{Diagnostic, Env, StatesError};

/// Read access to the workflow variables visible from a state.
pub trait Vars {
    /// The value of variable `name`, if it is set.
    fn get(&self, name: &str) -> Option<&Value>;
}

/// No variables at all.
impl Vars for () {
    fn get(&self, _name: &str) -> Option<&Value> {
        None
    }
}

/// Everything an expression may read while it is evaluated.
pub struct Scope<'a> {
    /// What `$` refers to.
    pub input: &'a Value,
    /// What `$$` refers to (the Context Object).
    pub context: &'a Value,
    /// What `$name` refers to.
    pub vars: &'a dyn Vars,
    /// Where `States.UUID` and unseeded `States.MathRandom` draw from.
    pub env: &'a mut dyn Env,
}

/// A compiled payload template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    raw: Value,
}

impl Template {
    /// Compiles `value` found at JSON pointer `location`; returns every problem.
    pub fn compile(value: &Value, _location: &str) -> Result<Template, Vec<Diagnostic>> {
        Ok(Template { raw: value.clone() })
    }

    /// Whether evaluating needs the Context Object.
    pub fn uses_context(&self) -> bool {
        true
    }

    /// The template as written.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Evaluates the template.
    pub fn eval(&self, _scope: &mut Scope<'_>) -> Result<Value, StatesError> {
        Ok(self.raw.clone())
    }
}
