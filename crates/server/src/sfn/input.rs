//! Request fields, read and checked against the API model's constraints with
//! AWS's ValidationException wording:
//! `Value 'x' at 'name' failed to satisfy constraint: Member must have length
//! less than or equal to 80`. Every constraint error of a request is
//! collected and reported at once, as AWS does; a field of the wrong JSON
//! type is a SerializationException.

use serde_json::{Map, Value};

use super::ApiError;

/// A string field's model constraints.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Str {
    pub required: bool,
    pub min: usize,
    pub max: usize,
    /// AWS leaves the value out of the message for sensitive members.
    pub sensitive: bool,
}

impl Str {
    pub const fn req(min: usize, max: usize) -> Str {
        Str {
            required: true,
            min,
            max,
            sensitive: false,
        }
    }
    pub const fn opt(min: usize, max: usize) -> Str {
        Str {
            required: false,
            min,
            max,
            sensitive: false,
        }
    }
    pub const fn secret(self) -> Str {
        Str {
            sensitive: true,
            ..self
        }
    }
    pub const fn optional(self) -> Str {
        Str {
            required: false,
            ..self
        }
    }
}

/// `Arn` (1..256).
pub(crate) const ARN: Str = Str::req(1, 256);
/// `LongArn` (1..2000).
pub(crate) const LONG_ARN: Str = Str::req(1, 2000);
/// `Name` (1..80).
pub(crate) const NAME: Str = Str::req(1, 80);
/// `Definition` (1..1,048,576, sensitive).
pub(crate) const DEFINITION: Str = Str::req(1, 1_048_576).secret();
/// `SensitiveData` (input/output, up to 262,144).
pub(crate) const DATA: Str = Str::opt(0, 262_144).secret();
/// `SensitiveError` (up to 256).
pub(crate) const ERROR: Str = Str::opt(0, 256).secret();
/// `SensitiveCause` (up to 32,768).
pub(crate) const CAUSE: Str = Str::opt(0, 32_768).secret();
/// `TaskToken` (1..2048).
pub(crate) const TASK_TOKEN: Str = Str::req(1, 2048);
/// `PageToken` (1..1024).
pub(crate) const PAGE_TOKEN: Str = Str::opt(1, 1024);
/// `ListExecutionsPageToken` (1..3096).
pub(crate) const LIST_EXECUTIONS_TOKEN: Str = Str::opt(1, 3096);
/// `TraceHeader` (0..256).
pub(crate) const TRACE_HEADER: Str = Str::opt(0, 256);
/// `VersionDescription` (0..256, sensitive).
pub(crate) const VERSION_DESCRIPTION: Str = Str::opt(0, 256).secret();

/// Java's `String.length()`: UTF-16 code units, which is what the model's
/// length constraints count.
fn java_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// The fields of one request.
pub(crate) struct Input {
    obj: Map<String, Value>,
    errors: Vec<String>,
}

impl Input {
    pub fn new(obj: Map<String, Value>) -> Self {
        Self {
            obj,
            errors: Vec::new(),
        }
    }

    /// A field; JSON `null` counts as absent, as AWS reads it.
    fn get(&self, key: &str) -> Option<&Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn constraint(&mut self, key: &str, shown: Option<String>, what: String) {
        let at = match shown {
            Some(v) => format!("Value '{v}' at '{key}'"),
            None => format!("Value at '{key}'"),
        };
        self.errors
            .push(format!("{at} failed to satisfy constraint: Member {what}"));
    }

    fn check_str(&mut self, key: &str, s: &str, spec: Str) {
        let len = java_len(s);
        let shown = (!spec.sensitive).then(|| s.to_string());
        if len < spec.min {
            self.constraint(
                key,
                shown,
                format!("must have length greater than or equal to {}", spec.min),
            );
        } else if len > spec.max {
            self.constraint(
                key,
                shown,
                format!("must have length less than or equal to {}", spec.max),
            );
        }
    }

    /// A string field.
    pub fn str(&mut self, key: &str, spec: Str) -> Result<Option<String>, ApiError> {
        match self.get(key) {
            None => {
                if spec.required {
                    self.constraint(key, None, "must not be null".into());
                }
                Ok(None)
            }
            Some(Value::String(s)) => {
                let s = s.clone();
                self.check_str(key, &s, spec);
                Ok(Some(s))
            }
            Some(_) => Err(type_error(key, "a string")),
        }
    }

    /// A required string field (empty when missing: the collected
    /// validation error is reported by [`Input::finish`]).
    pub fn req_str(&mut self, key: &str, spec: Str) -> Result<String, ApiError> {
        Ok(self
            .str(
                key,
                Str {
                    required: true,
                    ..spec
                },
            )?
            .unwrap_or_default())
    }

    /// A string field restricted to `allowed`.
    pub fn enum_str(&mut self, key: &str, allowed: &[&str]) -> Result<Option<String>, ApiError> {
        let v = self.str(key, Str::opt(0, usize::MAX))?;
        if let Some(s) = &v
            && !allowed.contains(&s.as_str())
        {
            self.constraint(
                key,
                Some(s.clone()),
                format!("must satisfy enum value set: [{}]", allowed.join(", ")),
            );
        }
        Ok(v)
    }

    /// A boolean field.
    pub fn bool(&mut self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(type_error(key, "a boolean")),
        }
    }

    /// An integer field within `min..=max`.
    pub fn int(&mut self, key: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
        let n = match self.get(key) {
            None => return Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => i,
                None => return Err(type_error(key, "an integer")),
            },
            Some(_) => return Err(type_error(key, "an integer")),
        };
        if n < min {
            self.constraint(
                key,
                Some(n.to_string()),
                format!("must have value greater than or equal to {min}"),
            );
        } else if n > max {
            self.constraint(
                key,
                Some(n.to_string()),
                format!("must have value less than or equal to {max}"),
            );
        }
        Ok(Some(n))
    }

    /// A `PageSize` (`maxResults`, 0..1000; 0 means the default).
    pub fn page_size(&mut self, key: &str, max: i64) -> Result<Option<usize>, ApiError> {
        Ok(self.int(key, 0, max)?.and_then(|n| usize::try_from(n).ok()))
    }

    /// An object field, kept as JSON.
    pub fn object(&mut self, key: &str) -> Result<Option<Value>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
            Some(_) => Err(type_error(key, "an object")),
        }
    }

    /// A `TagList`: `[{key (1..128), value (0..256)}]`.
    pub fn tags(&mut self, key: &str, required: bool) -> Result<Vec<baton_storage::Tag>, ApiError> {
        let items = match self.get(key) {
            None => {
                if required {
                    self.constraint(key, None, "must not be null".into());
                }
                return Ok(Vec::new());
            }
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err(type_error(key, "a list")),
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Value::Object(m) = item else {
                return Err(type_error(&format!("{key}.{}.member", i + 1), "an object"));
            };
            let mut tag = baton_storage::Tag {
                key: String::new(),
                value: String::new(),
            };
            let path = format!("{key}.{}.member", i + 1);
            match m.get("key") {
                Some(Value::String(s)) => {
                    self.check_str(&format!("{path}.key"), s, Str::opt(1, 128));
                    tag.key = s.clone();
                }
                None | Some(Value::Null) => {
                    self.constraint(&format!("{path}.key"), None, "must not be null".into())
                }
                Some(_) => return Err(type_error(&format!("{path}.key"), "a string")),
            }
            match m.get("value") {
                Some(Value::String(s)) => {
                    self.check_str(&format!("{path}.value"), s, Str::opt(0, 256));
                    tag.value = s.clone();
                }
                None | Some(Value::Null) => {}
                Some(_) => return Err(type_error(&format!("{path}.value"), "a string")),
            }
            out.push(tag);
        }
        Ok(out)
    }

    /// A `TagKeyList`.
    pub fn tag_keys(&mut self, key: &str) -> Result<Vec<String>, ApiError> {
        let items = match self.get(key) {
            None => {
                self.constraint(key, None, "must not be null".into());
                return Ok(Vec::new());
            }
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err(type_error(key, "a list")),
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) => {
                    self.check_str(&format!("{key}.{}.member", i + 1), s, Str::opt(1, 128));
                    out.push(s.clone());
                }
                _ => return Err(type_error(&format!("{key}.{}.member", i + 1), "a string")),
            }
        }
        Ok(out)
    }

    /// Adds a validation error of the action's own.
    pub fn fail(&mut self, message: impl Into<String>) {
        self.errors.push(message.into());
    }

    /// Every constraint error collected, as one ValidationException.
    pub fn finish(&self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(&self.errors))
        }
    }
}

fn type_error(key: &str, expected: &str) -> ApiError {
    ApiError::serialization(format!(
        "Unexpected value type for '{key}': expected {expected}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Value) -> Input {
        match v {
            Value::Object(m) => Input::new(m),
            _ => Input::new(Map::new()),
        }
    }

    #[test]
    fn null_and_lengths_as_aws_words_them() {
        let mut i = input(json!({"taskToken": "t"}));
        i.req_str("taskToken", TASK_TOKEN).unwrap();
        i.req_str("output", DATA).unwrap();
        assert_eq!(
            i.finish().unwrap_err().message,
            "1 validation error detected: Value at 'output' failed to satisfy constraint: Member must not be null"
        );
        let mut i = input(json!({"maxResults": 1001, "nextToken": "x".repeat(1025)}));
        i.page_size("maxResults", 1000).unwrap();
        i.str("nextToken", PAGE_TOKEN).unwrap();
        let m = i.finish().unwrap_err().message;
        assert!(m.starts_with("2 validation errors detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000; Value 'xxx"), "{m}");
        assert!(m.ends_with("at 'nextToken' failed to satisfy constraint: Member must have length less than or equal to 1024"));
    }

    #[test]
    fn enums_and_types() {
        let mut i = input(json!({"statusFilter": "succeeded", "reverseOrder": "yes"}));
        i.enum_str("statusFilter", &["SUCCEEDED", "FAILED"])
            .unwrap();
        assert_eq!(
            i.finish().unwrap_err().message,
            "1 validation error detected: Value 'succeeded' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, FAILED]"
        );
        assert_eq!(
            i.bool("reverseOrder").unwrap_err().code(),
            "SerializationException"
        );
    }

    #[test]
    fn tags_paths() {
        let mut i = input(json!({"tags": [{"key": "", "value": "v"}]}));
        let t = i.tags("tags", true).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(
            i.finish().unwrap_err().message,
            "1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
    }
}
