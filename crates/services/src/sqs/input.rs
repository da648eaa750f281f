//! Reading action inputs (JSON-protocol shapes). Numbers are also accepted
//! as numeric strings (the query protocol sends every value as text).

use serde_json::{Map, Value};

use super::errors::{invalid_parameter, invalid_value, missing_parameter};
use crate::ServiceError;

pub(crate) type Obj = Map<String, Value>;

/// The input as an object (`null` is an empty input).
pub(crate) fn object(input: Value) -> Result<Obj, ServiceError> {
    match input {
        Value::Object(o) => Ok(o),
        Value::Null => Ok(Obj::new()),
        _ => Err(invalid_parameter("The request body must be a JSON object.")),
    }
}

/// An optional string member.
pub(crate) fn opt_str<'a>(o: &'a Obj, name: &str) -> Result<Option<&'a str>, ServiceError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid_value(
            name,
            &other.to_string(),
            "The value must be a string.",
        )),
    }
}

/// A required string member.
pub(crate) fn req_str<'a>(o: &'a Obj, name: &str) -> Result<&'a str, ServiceError> {
    opt_str(o, name)?.ok_or_else(|| missing_parameter(name))
}

/// An optional integer member (a JSON number or a numeric string).
pub(crate) fn opt_int(o: &Obj, name: &str) -> Result<Option<i64>, ServiceError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(Some(i)),
            None => Err(invalid_value(
                name,
                &n.to_string(),
                "The value must be an integer.",
            )),
        },
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| invalid_value(name, s, "The value must be an integer.")),
        Some(other) => Err(invalid_value(
            name,
            &other.to_string(),
            "The value must be an integer.",
        )),
    }
}

/// An optional list of strings.
pub(crate) fn opt_str_list(o: &Obj, name: &str) -> Result<Vec<String>, ServiceError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(invalid_value(
                    name,
                    &other.to_string(),
                    "The list must hold strings.",
                )),
            })
            .collect(),
        Some(other) => Err(invalid_value(
            name,
            &other.to_string(),
            "The value must be a list of strings.",
        )),
    }
}

/// An optional map of strings to strings, in the order given.
pub(crate) fn opt_str_map(o: &Obj, name: &str) -> Result<Vec<(String, String)>, ServiceError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                // Numbers and booleans are accepted as their text (a state
                // machine's Parameters may hold `"DelaySeconds": 5`).
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                Value::Bool(b) => Ok((k.clone(), b.to_string())),
                other => Err(invalid_value(
                    name,
                    &other.to_string(),
                    "The map values must be strings.",
                )),
            })
            .collect(),
        Some(other) => Err(invalid_value(
            name,
            &other.to_string(),
            "The value must be a map of strings.",
        )),
    }
}

/// An optional list of objects (batch entries).
pub(crate) fn opt_entries<'a>(o: &'a Obj, name: &str) -> Result<Vec<&'a Obj>, ServiceError> {
    match o.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::Object(e) => Ok(e),
                other => Err(invalid_value(
                    name,
                    &other.to_string(),
                    "The entries must be objects.",
                )),
            })
            .collect(),
        Some(other) => Err(invalid_value(
            name,
            &other.to_string(),
            "The value must be a list of entries.",
        )),
    }
}
