//! Raw definition → [`Definition`] plus every diagnostic.
//!
//! The loader walks the raw JSON by hand (no serde derive) so that it reports
//! every problem at once, each with AWS's code, AWS's wording and a JSON-pointer
//! location in AWS's style (`/States/Choice/Choices[0]/Next`). While it
//! validates it fills the [`crate::model`]: defaults are applied, paths,
//! payload templates and intrinsic functions are compiled, and transitions are
//! resolved to state indices.
//!
//! Wording sources, in order: AWS-recorded diagnostics (LocalStack's snapshot
//! suite, public reports of `validate-state-machine-definition` output), then
//! AWS documentation. Where AWS's exact text is not known the message follows
//! the style of the recorded ones.

mod graph;
pub mod jsonata;
mod resource;
mod state;

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::model::QueryLanguage;
use crate::{Definition, Diagnostic};

/// Codes AWS uses that [`crate::diag::codes`] does not list.
pub mod codes {
    /// The workflow (or a branch, or an item processor) has no terminal state.
    pub const MISSING_END_STATE: &str = "MISSING_END_STATE";
    /// A state name breaks the naming rules (too long).
    pub const INVALID_STATE_NAME: &str = "INVALID_STATE_NAME";
    /// A Map `Label` breaks the naming rules.
    pub const INVALID_LABEL_NAME: &str = "INVALID_LABEL_NAME";
    /// The same Map `Label` appears twice.
    pub const DUPLICATE_LABEL_NAME: &str = "DUPLICATE_LABEL_NAME";
    /// A JSONata expression does not parse.
    pub const INVALID_JSONATA_EXPRESSION: &str = "INVALID_JSONATA_EXPRESSION";
}

/// How a definition is loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Validate for an EXPRESS state machine: activities, `.sync` and
    /// `.waitForTaskToken` integrations are refused.
    pub express: bool,
}

/// Loads a definition from JSON text. The definition is `None` when any
/// diagnostic is an error; all diagnostics are returned at once.
pub fn load_str(src: &str) -> (Option<Definition>, Vec<Diagnostic>) {
    load_str_with(src, &Options::default())
}

/// [`load_str`] with options.
pub fn load_str_with(src: &str, options: &Options) -> (Option<Definition>, Vec<Diagnostic>) {
    if src.trim().is_empty() {
        return (
            None,
            vec![Diagnostic::schema(
                "Definition must be a valid JSON object",
                "",
            )],
        );
    }
    match serde_json::from_str::<Value>(src) {
        Ok(v) => load_with(&v, options),
        Err(e) => (
            None,
            vec![Diagnostic::new(
                crate::diag::codes::INVALID_JSON_DESCRIPTION,
                e.to_string(),
                format!("line: {}, column: {}", e.line(), e.column()),
            )],
        ),
    }
}

/// Loads a definition from a JSON value.
pub fn load(value: &Value) -> (Option<Definition>, Vec<Diagnostic>) {
    load_with(value, &Options::default())
}

/// [`load`] with options.
pub fn load_with(value: &Value, options: &Options) -> (Option<Definition>, Vec<Diagnostic>) {
    let mut cx = Cx::new(options.express);
    let def = graph::definition(&mut cx, value);
    let mut diags = cx.diags;
    dedup(&mut diags);
    if diags.is_empty() {
        (def, diags)
    } else {
        (None, diags)
    }
}

/// Removes exact repeats, keeping the first of each.
fn dedup(diags: &mut Vec<Diagnostic>) {
    let mut seen = HashSet::new();
    diags.retain(|d| seen.insert((d.code, d.message.clone(), d.location.clone())));
}

/// The loader's running state.
pub(crate) struct Cx {
    pub diags: Vec<Diagnostic>,
    /// The definition's own `QueryLanguage`.
    pub top_ql: QueryLanguage,
    /// EXPRESS rules apply (the machine, or a distributed EXPRESS processor).
    pub express: bool,
    /// Every state name seen so far, across nested graphs.
    pub names: HashSet<String>,
    /// Every Map `Label` seen so far.
    pub labels: HashSet<String>,
}

impl Cx {
    fn new(express: bool) -> Self {
        Cx {
            diags: Vec::new(),
            top_ql: QueryLanguage::JsonPath,
            express,
            names: HashSet::new(),
            labels: HashSet::new(),
        }
    }

    pub fn schema(&mut self, message: impl Into<String>, location: impl Into<String>) {
        self.diags.push(Diagnostic::schema(message, location));
    }

    pub fn err(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        location: impl Into<String>,
    ) {
        self.diags.push(Diagnostic::new(code, message, location));
    }

    /// `Field 'X' is not supported` for every key of `obj` not in `allowed`.
    pub fn unknown_fields(&mut self, obj: &Map<String, Value>, allowed: &[&str], loc: &str) {
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                self.schema(format!("Field '{key}' is not supported"), loc);
            }
        }
    }

    /// `These fields are required: [..]` for the missing ones.
    pub fn required(&mut self, obj: &Map<String, Value>, fields: &[&str], loc: &str) -> bool {
        let missing: Vec<&str> = fields
            .iter()
            .copied()
            .filter(|f| !obj.contains_key(*f))
            .collect();
        if missing.is_empty() {
            return true;
        }
        self.schema(
            format!("These fields are required: [{}]", missing.join(", ")),
            loc,
        );
        false
    }

    /// `There should only be one of the following fields: [..]` when more than
    /// one is present. Returns whether at most one is present.
    pub fn at_most_one(&mut self, obj: &Map<String, Value>, fields: &[&str], loc: &str) -> bool {
        if fields.iter().filter(|f| obj.contains_key(**f)).count() > 1 {
            self.schema(
                format!(
                    "There should only be one of the following fields: [{}]",
                    fields.join(", ")
                ),
                loc,
            );
            return false;
        }
        true
    }

    /// A string field; a non-string is reported.
    pub fn string<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
        loc: &str,
    ) -> Option<&'v str> {
        match obj.get(key)? {
            Value::String(s) => Some(s),
            _ => {
                self.schema("Value must be a string", child(loc, key));
                None
            }
        }
    }

    /// A boolean field.
    pub fn boolean(&mut self, obj: &Map<String, Value>, key: &str, loc: &str) -> Option<bool> {
        match obj.get(key)? {
            Value::Bool(b) => Some(*b),
            _ => {
                self.schema("Value must be a boolean", child(loc, key));
                None
            }
        }
    }

    /// An object field.
    pub fn object<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
        loc: &str,
    ) -> Option<&'v Map<String, Value>> {
        match obj.get(key)? {
            Value::Object(m) => Some(m),
            _ => {
                self.schema("Value must be an object", child(loc, key));
                None
            }
        }
    }

    /// An array field.
    pub fn array<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
        loc: &str,
    ) -> Option<&'v Vec<Value>> {
        match obj.get(key)? {
            Value::Array(a) => Some(a),
            _ => {
                self.schema("Value must be an array", child(loc, key));
                None
            }
        }
    }

    /// An integer value within `[min, max]`, at `loc`.
    pub fn int_value(&mut self, v: &Value, min: i64, max: Option<i64>, loc: &str) -> Option<u64> {
        let n = match v {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    i as f64
                } else if let Some(u) = n.as_u64() {
                    u as f64
                } else {
                    n.as_f64().unwrap_or(f64::NAN)
                }
            }
            _ => {
                self.schema("Value must be an integer", loc);
                return None;
            }
        };
        if n.fract() != 0.0 || !n.is_finite() {
            self.schema("Value must be an integer", loc);
            return None;
        }
        if n < min as f64 {
            self.schema(format!("Minimum value is {min}"), loc);
            return None;
        }
        if let Some(max) = max
            && n > max as f64
        {
            self.schema(format!("Maximum value is {max}"), loc);
            return None;
        }
        Some(n as u64)
    }

    /// An integer field within `[min, max]`.
    pub fn int(
        &mut self,
        obj: &Map<String, Value>,
        key: &str,
        min: i64,
        max: Option<i64>,
        loc: &str,
    ) -> Option<u64> {
        let v = obj.get(key)?;
        self.int_value(v, min, max, &child(loc, key))
    }

    /// A number within `[min, max]`, at `loc`.
    pub fn number_value(
        &mut self,
        v: &Value,
        min: f64,
        max: Option<f64>,
        loc: &str,
    ) -> Option<f64> {
        let Some(n) = v.as_f64() else {
            self.schema("Value must be a number", loc);
            return None;
        };
        if n < min {
            self.schema(format!("Minimum value is {min:?}"), loc);
            return None;
        }
        if let Some(max) = max
            && n > max
        {
            self.schema(format!("Maximum value is {max:?}"), loc);
            return None;
        }
        Some(n)
    }

    /// A string field restricted to `values`.
    pub fn enumeration<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
        values: &[&str],
        loc: &str,
    ) -> Option<&'v str> {
        let v = obj.get(key)?;
        match v.as_str() {
            Some(s) if values.contains(&s) => Some(s),
            _ => {
                self.schema(
                    format!(
                        "The field '{key}' should have one of these values: [{}]",
                        values.join(", ")
                    ),
                    child(loc, key),
                );
                None
            }
        }
    }
}

/// `loc` + `/key` (the root is `/`).
pub(crate) fn child(loc: &str, key: &str) -> String {
    if loc == "/" || loc.is_empty() {
        format!("/{key}")
    } else {
        format!("{loc}/{key}")
    }
}

/// `loc` + `/key[i]`, AWS's form for array elements.
pub(crate) fn item(loc: &str, key: &str, i: usize) -> String {
    format!("{}[{i}]", child(loc, key))
}

/// The JSON type name used in messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
