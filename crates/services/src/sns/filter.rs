//! Subscription filter policies: validation (with AWS's error messages) and
//! matching against a message's attributes (`FilterPolicyScope`
//! `MessageAttributes`) or its JSON body (`MessageBody`).
//!
//! A policy is a JSON object; each key names an attribute (or, for body
//! policies, a property, nested objects allowed) and holds an array of
//! conditions, any of which may match: exact strings, numbers, `true`,
//! `false`, `null`, and the operators `prefix`, `suffix`,
//! `equals-ignore-case`, `anything-but` (a value, a list, or a `prefix` /
//! `suffix` pattern), `numeric` (`=`, `<`, `<=`, `>`, `>=`, ranges),
//! `exists` and `cidr`. Every key must match; `$or` takes alternatives.

use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::ServiceError;

/// Where a policy looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    MessageAttributes,
    MessageBody,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "MessageAttributes" => Some(Scope::MessageAttributes),
            "MessageBody" => Some(Scope::MessageBody),
            _ => None,
        }
    }
}

fn invalid(prefix: &str, msg: impl std::fmt::Display) -> ServiceError {
    ServiceError::client("InvalidParameter", format!("{prefix}{msg}"))
}

/// How an invalid subscription attribute's message starts, as Subscribe
/// (`subscribe = true`) or SetSubscriptionAttributes words it.
pub(crate) fn error_prefix(subscribe: bool) -> &'static str {
    if subscribe {
        "Invalid parameter: Attributes Reason: "
    } else {
        "Invalid parameter: "
    }
}

/// Checks a policy as Subscribe (`subscribe = true`) or
/// SetSubscriptionAttributes words its errors.
pub fn validate(policy: &Value, scope: Scope, subscribe: bool) -> Result<(), ServiceError> {
    let prefix = error_prefix(subscribe);
    let Some(obj) = policy.as_object() else {
        return Err(invalid(
            prefix,
            "FilterPolicy: Filter policy must be a JSON object",
        ));
    };
    if obj.len() > 5 {
        return Err(invalid(
            prefix,
            "FilterPolicy: Filter policy can not have more than 5 keys",
        ));
    }
    let mut rules = Vec::new();
    let combinations = aggregate(obj, 1, 1, scope, prefix, &mut rules)?;
    if combinations > 150 {
        return Err(invalid(
            prefix,
            "FilterPolicy: Filter policy is too complex",
        ));
    }
    for list in rules {
        for rule in list {
            validate_rule(rule, prefix)?;
        }
    }
    Ok(())
}

fn aggregate<'a>(
    obj: &'a Map<String, Value>,
    depth: u64,
    mut combinations: u64,
    scope: Scope,
    prefix: &str,
    rules: &mut Vec<&'a Vec<Value>>,
) -> Result<u64, ServiceError> {
    for (key, value) in obj {
        match value {
            Value::Object(inner) => {
                if scope == Scope::MessageAttributes {
                    return Err(invalid(
                        prefix,
                        "Filter policy scope MessageAttributes does not support nested filter policy",
                    ));
                }
                combinations = aggregate(inner, depth + 1, combinations, scope, prefix, rules)?;
            }
            Value::Array(list) => {
                if list.is_empty() {
                    return Err(invalid(
                        prefix,
                        "FilterPolicy: Empty arrays are not allowed",
                    ));
                }
                if key == "$or" {
                    if list.len() < 2 {
                        return Err(invalid(
                            prefix,
                            "FilterPolicy: Or condition must have at least 2 sub-conditions",
                        ));
                    }
                    let mut total = 0u64;
                    for alt in list {
                        let Some(alt) = alt.as_object() else {
                            return Err(invalid(
                                prefix,
                                "FilterPolicy: Or condition must contain objects",
                            ));
                        };
                        total = total.saturating_add(aggregate(
                            alt,
                            depth,
                            combinations,
                            scope,
                            prefix,
                            rules,
                        )?);
                    }
                    combinations = total;
                } else {
                    rules.push(list);
                    combinations = combinations
                        .saturating_mul(list.len() as u64)
                        .saturating_mul(depth);
                }
            }
            _ => {
                return Err(invalid(
                    prefix,
                    format!("FilterPolicy: \"{key}\" must be an object or an array"),
                ));
            }
        }
    }
    Ok(combinations)
}

fn validate_rule(rule: &Value, prefix: &str) -> Result<(), ServiceError> {
    match rule {
        Value::Null | Value::String(_) | Value::Bool(_) | Value::Number(_) => Ok(()),
        Value::Object(m) => {
            if m.len() != 1 {
                return Err(invalid(
                    prefix,
                    "FilterPolicy: Only one key allowed in match expression",
                ));
            }
            let Some((op, value)) = m.iter().next() else {
                return Err(invalid(
                    prefix,
                    "FilterPolicy: Only one key allowed in match expression",
                ));
            };
            match op.as_str() {
                "equals-ignore-case" | "prefix" | "suffix" => {
                    if value.is_string() {
                        Ok(())
                    } else {
                        Err(invalid(
                            prefix,
                            format!("FilterPolicy: {op} match pattern must be a string"),
                        ))
                    }
                }
                "anything-but" => match value {
                    Value::Array(items) => {
                        for item in items {
                            if item.is_object() || item.is_array() {
                                return Err(invalid(
                                    prefix,
                                    "FilterPolicy: Inside anything but list, start|null|boolean is not supported.",
                                ));
                            }
                        }
                        Ok(())
                    }
                    Value::Object(inner) => {
                        for (k, v) in inner {
                            if k != "prefix" && k != "suffix" {
                                return Err(invalid(
                                    prefix,
                                    format!("FilterPolicy: Unsupported anything-but pattern: {k}"),
                                ));
                            }
                            if !v.is_string() {
                                return Err(invalid(
                                    prefix,
                                    format!("FilterPolicy: {k} match pattern must be a string"),
                                ));
                            }
                        }
                        Ok(())
                    }
                    Value::String(_) | Value::Number(_) => Ok(()),
                    _ => Err(invalid(
                        prefix,
                        "FilterPolicy: Value of anything-but must be an array or single string/number value.",
                    )),
                },
                "exists" => {
                    if value.is_boolean() {
                        Ok(())
                    } else {
                        Err(invalid(
                            prefix,
                            "FilterPolicy: exists match pattern must be either true or false.",
                        ))
                    }
                }
                "numeric" => validate_numeric(value, prefix),
                "cidr" => validate_cidr(value, prefix),
                other => Err(invalid(
                    prefix,
                    format!("FilterPolicy: Unrecognized match type {other}"),
                )),
            }
        }
        Value::Array(_) => Err(invalid(
            prefix,
            "FilterPolicy: Match value must be String, number, true, false, or null",
        )),
    }
}

fn validate_numeric(value: &Value, prefix: &str) -> Result<(), ServiceError> {
    let items = match value {
        Value::Array(items) if !items.is_empty() => items,
        _ => {
            return Err(invalid(
                prefix,
                "FilterPolicy: Invalid member in numeric match: ]",
            ));
        }
    };
    let op_name = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let op = match &items[0] {
        Value::String(s) => s.as_str(),
        other => {
            return Err(invalid(
                prefix,
                format!(
                    "FilterPolicy: Invalid member in numeric match: {}",
                    op_name(other)
                ),
            ));
        }
    };
    if !matches!(op, "<" | "<=" | "=" | ">" | ">=") {
        return Err(invalid(
            prefix,
            format!("FilterPolicy: Unrecognized numeric range operator: {op}"),
        ));
    }
    let Some(first) = items.get(1).and_then(Value::as_f64) else {
        let name = if op == "=" { "equals" } else { op };
        return Err(invalid(
            prefix,
            format!("FilterPolicy: Value of {name} must be numeric"),
        ));
    };
    if items.len() == 2 {
        return Ok(());
    }
    if op != ">" && op != ">=" {
        return Err(invalid(
            prefix,
            "FilterPolicy: Too many elements in numeric expression",
        ));
    }
    let op2 = match &items[2] {
        Value::String(s) => s.as_str(),
        other => {
            return Err(invalid(
                prefix,
                format!(
                    "FilterPolicy: Bad value in numeric range: {}",
                    op_name(other)
                ),
            ));
        }
    };
    if op2 != "<" && op2 != "<=" {
        return Err(invalid(
            prefix,
            format!("FilterPolicy: Bad numeric range operator: {op2}"),
        ));
    }
    let Some(second) = items.get(3).and_then(Value::as_f64) else {
        return Err(invalid(
            prefix,
            format!("FilterPolicy: Value of {op2} must be numeric"),
        ));
    };
    if second <= first {
        return Err(invalid(
            prefix,
            "FilterPolicy: Bottom must be less than top",
        ));
    }
    if items.len() > 4 {
        return Err(invalid(
            prefix,
            "FilterPolicy: Too many terms in numeric range expression",
        ));
    }
    Ok(())
}

fn validate_cidr(value: &Value, prefix: &str) -> Result<(), ServiceError> {
    let Some(s) = value.as_str() else {
        return Err(invalid(
            prefix,
            "FilterPolicy: prefix match pattern must be a string",
        ));
    };
    let parts: Vec<&str> = s.split('/').collect();
    if parts.len() != 2 {
        return Err(invalid(
            prefix,
            "FilterPolicy: Malformed CIDR, one '/' required",
        ));
    }
    if parts[1].parse::<u8>().is_err() {
        return Err(invalid(
            prefix,
            "FilterPolicy: Malformed CIDR, mask bits must be an integer",
        ));
    }
    if parse_cidr(s).is_none() {
        return Err(invalid(
            prefix,
            format!("FilterPolicy: Nonstandard IP address: {}", parts[0]),
        ));
    }
    Ok(())
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

fn in_cidr(value: &str, cidr: &str) -> bool {
    let (Some((net, bits)), Ok(ip)) = (parse_cidr(cidr), value.parse::<IpAddr>()) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

// ----- matching ----------------------------------------------------------------

/// The policy as alternatives (one per `$or` branch), each a list of
/// (dotted key, conditions).
fn flatten_policy(policy: &Map<String, Value>) -> Vec<Vec<(String, &Vec<Value>)>> {
    fn walk<'a>(
        obj: &'a Map<String, Value>,
        branches: Vec<Vec<(String, &'a Vec<Value>)>>,
        parent: Option<&str>,
    ) -> Vec<Vec<(String, &'a Vec<Value>)>> {
        let mut branches = branches;
        for (key, value) in obj {
            if key == "$or"
                && let Value::Array(alts) = value
            {
                let mut next = Vec::new();
                for alt in alts {
                    if let Value::Object(alt) = alt {
                        next.extend(walk(alt, branches.clone(), parent));
                    }
                }
                branches = next;
                continue;
            }
            let path = match parent {
                Some(p) => format!("{p}.{key}"),
                None => key.clone(),
            };
            match value {
                Value::Object(inner) => branches = walk(inner, branches, Some(&path)),
                Value::Array(conds) => {
                    for b in &mut branches {
                        b.push((path.clone(), conds));
                    }
                }
                _ => {}
            }
        }
        branches
    }
    walk(policy, vec![Vec::new()], None)
}

/// The most flattened payload variants considered (arrays of objects
/// multiply them).
const MAX_PAYLOAD_VARIANTS: usize = 1024;

/// A JSON body as flat maps of dotted paths to scalar values, one per
/// combination of array elements.
fn flatten_payload(body: &Value) -> Vec<Vec<(String, Value)>> {
    fn walk(v: &Value, acc: Vec<Vec<(String, Value)>>, parent: &str) -> Vec<Vec<(String, Value)>> {
        match v {
            Value::Object(m) => {
                let mut acc = acc;
                for (k, child) in m {
                    let path = if parent.is_empty() {
                        k.clone()
                    } else {
                        format!("{parent}.{k}")
                    };
                    acc = walk(child, acc, &path);
                }
                acc
            }
            Value::Array(items) => {
                if items.is_empty() {
                    return acc;
                }
                let mut out = Vec::new();
                for item in items {
                    out.extend(walk(item, acc.clone(), parent));
                    if out.len() > MAX_PAYLOAD_VARIANTS {
                        out.truncate(MAX_PAYLOAD_VARIANTS);
                        break;
                    }
                }
                out
            }
            scalar => {
                let mut acc = acc;
                for a in &mut acc {
                    a.push((parent.to_string(), scalar.clone()));
                }
                acc
            }
        }
    }
    walk(body, vec![Vec::new()], "")
}

/// One message attribute as a filter sees it.
struct AttrView<'a> {
    data_type: &'a str,
    string_value: Option<&'a str>,
}

/// Whether a message with these attributes (JSON-protocol
/// `MessageAttributes`: `{"name": {"DataType", "StringValue"}}`) passes an
/// attribute policy.
pub fn matches_attributes(policy: &Value, attributes: &Map<String, Value>) -> bool {
    let attrs = |name: &str| {
        let a = attributes.get(name)?;
        Some(AttrView {
            data_type: a
                .get("DataType")
                .and_then(Value::as_str)
                .unwrap_or("String"),
            string_value: a.get("StringValue").and_then(Value::as_str),
        })
    };
    let Some(obj) = policy.as_object() else {
        return true;
    };
    if obj.is_empty() {
        return true;
    }
    flatten_policy(obj).iter().any(|branch| {
        branch.iter().all(|(key, conds)| {
            let attr = attrs(key);
            let exists = attr.is_some();
            match attr {
                Some(a) if a.data_type.starts_with("Binary") => conds
                    .iter()
                    .any(|c| eval(None, c, exists, Scope::MessageAttributes)),
                Some(a) if a.data_type.starts_with("String.Array") => {
                    let parsed: Option<Vec<Value>> =
                        a.string_value.and_then(|s| serde_json::from_str(s).ok());
                    match parsed {
                        Some(items) => items.iter().any(|item| {
                            conds
                                .iter()
                                .any(|c| eval(Some(item), c, exists, Scope::MessageAttributes))
                        }),
                        None => conds
                            .iter()
                            .any(|c| eval(None, c, exists, Scope::MessageAttributes)),
                    }
                }
                Some(a) => {
                    let v = a.string_value.map(|s| {
                        if a.data_type.starts_with("Number") {
                            s.trim()
                                .parse::<f64>()
                                .ok()
                                .and_then(serde_json::Number::from_f64)
                                .map(Value::Number)
                                .unwrap_or_else(|| Value::String(s.to_string()))
                        } else {
                            Value::String(s.to_string())
                        }
                    });
                    conds
                        .iter()
                        .any(|c| eval(v.as_ref(), c, exists, Scope::MessageAttributes))
                }
                None => conds
                    .iter()
                    .any(|c| eval(None, c, false, Scope::MessageAttributes)),
            }
        })
    })
}

/// Whether a message body passes a body policy (a body that is not a JSON
/// object never does).
pub fn matches_body(policy: &Value, body: &str) -> bool {
    let Some(obj) = policy.as_object() else {
        return true;
    };
    if obj.is_empty() {
        return true;
    }
    let Ok(payload @ Value::Object(_)) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    let flats = flatten_payload(&payload);
    flatten_policy(obj).iter().any(|branch| {
        branch.iter().all(|(key, conds)| {
            conds.iter().any(|c| {
                flats.iter().any(|flat| {
                    let v = flat.iter().find(|(k, _)| k == key).map(|(_, v)| v);
                    // a key holding an object or array is "present" too
                    let exists = v.is_some() || key_has_children(&payload, key);
                    eval(v, c, exists, Scope::MessageBody)
                })
            })
        })
    })
}

fn key_has_children(payload: &Value, dotted: &str) -> bool {
    let mut cur = payload;
    for part in dotted.split('.') {
        match cur.get(part) {
            Some(v) => cur = v,
            None => return false,
        }
    }
    true
}

fn num_of(v: &Value, scope: Scope) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if scope == Scope::MessageAttributes => s.trim().parse().ok(),
        _ => None,
    }
}

fn scalar_eq(value: &Value, cond: &Value, scope: Scope) -> bool {
    match (value, cond) {
        (Value::String(a), Value::String(b)) => a == b,
        (_, Value::Number(b)) => num_of(value, scope)
            .zip(b.as_f64())
            .is_some_and(|(a, b)| a == b),
        (Value::Number(a), Value::String(b)) if scope == Scope::MessageAttributes => {
            a.to_string() == *b
        }
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Null, Value::Null) => true,
        _ => false,
    }
}

fn eval(value: Option<&Value>, cond: &Value, exists: bool, scope: Scope) -> bool {
    let Value::Object(op) = cond else {
        return match value {
            Some(v) => scalar_eq(v, cond, scope),
            None => false,
        };
    };
    let Some((name, arg)) = op.iter().next() else {
        return false;
    };
    if name == "exists" {
        return arg.as_bool() == Some(exists);
    }
    let Some(value) = value else {
        return false;
    };
    match name.as_str() {
        "prefix" => {
            matches!((value, arg), (Value::String(v), Value::String(p)) if v.starts_with(p.as_str()))
        }
        "suffix" => {
            matches!((value, arg), (Value::String(v), Value::String(s)) if v.ends_with(s.as_str()))
        }
        "equals-ignore-case" => {
            matches!((value, arg), (Value::String(v), Value::String(s)) if v.to_lowercase() == s.to_lowercase())
        }
        "anything-but" => match arg {
            Value::Array(items) => !items.iter().any(|i| scalar_eq(value, i, scope)),
            Value::Object(pat) => {
                let Value::String(v) = value else {
                    return false;
                };
                pat.iter().all(|(k, p)| match (k.as_str(), p) {
                    ("prefix", Value::String(p)) => !v.starts_with(p.as_str()),
                    ("suffix", Value::String(s)) => !v.ends_with(s.as_str()),
                    _ => false,
                })
            }
            other => !scalar_eq(value, other, scope),
        },
        "numeric" => {
            let Some(v) = num_of(value, scope) else {
                return false;
            };
            let Value::Array(terms) = arg else {
                return false;
            };
            terms.chunks(2).all(|pair| {
                let (Some(op), Some(n)) = (
                    pair.first().and_then(Value::as_str),
                    pair.get(1).and_then(Value::as_f64),
                ) else {
                    return false;
                };
                match op {
                    "=" => v == n,
                    "<" => v < n,
                    "<=" => v <= n,
                    ">" => v > n,
                    ">=" => v >= n,
                    _ => false,
                }
            })
        }
        "cidr" => match (value, arg) {
            (Value::String(v), Value::String(c)) => in_cidr(v, c),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(pairs: &[(&str, &str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(n, t, v)| (n.to_string(), json!({"DataType": t, "StringValue": v})))
            .collect()
    }

    fn attr_match(policy: Value, a: &[(&str, &str, &str)]) -> bool {
        validate(&policy, Scope::MessageAttributes, true)
            .unwrap_or_else(|e| panic!("{policy}: {e}"));
        matches_attributes(&policy, &attrs(a))
    }

    fn body_match(policy: Value, body: Value) -> bool {
        validate(&policy, Scope::MessageBody, true).unwrap_or_else(|e| panic!("{policy}: {e}"));
        matches_body(&policy, &body.to_string())
    }

    #[test]
    fn attribute_policies() {
        let s = |n, v| (n, "String", v);
        // exact strings, any of a list
        assert!(attr_match(json!({"c": ["red", "blue"]}), &[s("c", "blue")]));
        assert!(!attr_match(json!({"c": ["red"]}), &[s("c", "green")]));
        assert!(!attr_match(json!({"c": ["red"]}), &[]));
        // every key must match
        assert!(!attr_match(
            json!({"c": ["red"], "d": ["x"]}),
            &[s("c", "red")]
        ));
        // numbers: exact and ranges
        assert!(attr_match(json!({"n": [100]}), &[("n", "Number", "100.0")]));
        assert!(attr_match(
            json!({"n": [{"numeric": [">=", 0, "<", 10]}]}),
            &[("n", "Number", "9.5")]
        ));
        assert!(!attr_match(
            json!({"n": [{"numeric": [">=", 0, "<", 10]}]}),
            &[("n", "Number", "10")]
        ));
        assert!(attr_match(
            json!({"n": [{"numeric": ["=", 3]}]}),
            &[("n", "Number", "3")]
        ));
        assert!(!attr_match(
            json!({"n": [{"numeric": [">", 3]}]}),
            &[s("n", "abc")]
        ));
        // prefix, suffix, equals-ignore-case
        assert!(attr_match(
            json!({"c": [{"prefix": "ord"}]}),
            &[s("c", "order-1")]
        ));
        assert!(!attr_match(
            json!({"c": [{"prefix": "ord"}]}),
            &[s("c", "rod")]
        ));
        assert!(attr_match(
            json!({"c": [{"suffix": ".png"}]}),
            &[s("c", "a.png")]
        ));
        assert!(attr_match(
            json!({"c": [{"equals-ignore-case": "RED"}]}),
            &[s("c", "red")]
        ));
        // anything-but: value, list, prefix; a missing attribute does not match
        assert!(attr_match(
            json!({"c": [{"anything-but": "red"}]}),
            &[s("c", "blue")]
        ));
        assert!(!attr_match(
            json!({"c": [{"anything-but": ["red", "blue"]}]}),
            &[s("c", "blue")]
        ));
        assert!(!attr_match(json!({"c": [{"anything-but": "red"}]}), &[]));
        assert!(attr_match(
            json!({"c": [{"anything-but": {"prefix": "int"}}]}),
            &[s("c", "ext-1")]
        ));
        assert!(!attr_match(
            json!({"c": [{"anything-but": {"prefix": "int"}}]}),
            &[s("c", "int-1")]
        ));
        assert!(attr_match(
            json!({"n": [{"anything-but": [1, 2]}]}),
            &[("n", "Number", "3")]
        ));
        // exists
        assert!(attr_match(json!({"c": [{"exists": true}]}), &[s("c", "x")]));
        assert!(!attr_match(json!({"c": [{"exists": true}]}), &[]));
        assert!(attr_match(json!({"c": [{"exists": false}]}), &[]));
        assert!(!attr_match(
            json!({"c": [{"exists": false}]}),
            &[s("c", "x")]
        ));
        // String.Array: any element
        assert!(attr_match(
            json!({"c": ["b"]}),
            &[("c", "String.Array", "[\"a\", \"b\"]")]
        ));
        assert!(!attr_match(
            json!({"c": ["z"]}),
            &[("c", "String.Array", "[\"a\", \"b\"]")]
        ));
        // cidr
        assert!(attr_match(
            json!({"ip": [{"cidr": "10.0.0.0/24"}]}),
            &[s("ip", "10.0.0.7")]
        ));
        assert!(!attr_match(
            json!({"ip": [{"cidr": "10.0.0.0/24"}]}),
            &[s("ip", "10.0.1.7")]
        ));
        // $or
        let or = json!({"$or": [{"a": ["1"]}, {"b": ["2"]}]});
        assert!(attr_match(or.clone(), &[s("b", "2")]));
        assert!(!attr_match(or, &[s("b", "3")]));
        // an empty policy lets everything through
        assert!(attr_match(json!({}), &[]));
    }

    #[test]
    fn body_policies() {
        let p = json!({"order": {"kind": ["priority"], "total": [{"numeric": [">", 100]}]}});
        assert!(body_match(
            p.clone(),
            json!({"order": {"kind": "priority", "total": 150}})
        ));
        assert!(!body_match(
            p.clone(),
            json!({"order": {"kind": "priority", "total": 50}})
        ));
        assert!(!body_match(
            p,
            json!({"order": {"kind": "bulk", "total": 150}})
        ));
        // arrays in the body: any element
        assert!(body_match(
            json!({"tags": ["b"]}),
            json!({"tags": ["a", "b"]})
        ));
        assert!(body_match(
            json!({"items": {"sku": ["x"]}}),
            json!({"items": [{"sku": "y"}, {"sku": "x"}]})
        ));
        // booleans and null
        assert!(body_match(json!({"ok": [true]}), json!({"ok": true})));
        assert!(body_match(json!({"v": [null]}), json!({"v": null})));
        // exists on nested keys
        assert!(body_match(
            json!({"a": {"b": [{"exists": true}]}}),
            json!({"a": {"b": 1}})
        ));
        assert!(body_match(
            json!({"a": {"b": [{"exists": false}]}}),
            json!({"a": {"c": 1}})
        ));
        // numeric strings in a body are strings
        assert!(!body_match(json!({"n": [5]}), json!({"n": "5"})));
        // $or nested
        let or = json!({"a": ["x"], "$or": [{"b": ["1"]}, {"c": {"d": ["2"]}}]});
        assert!(body_match(or.clone(), json!({"a": "x", "c": {"d": "2"}})));
        assert!(!body_match(or, json!({"a": "x", "c": {"d": "3"}})));
        // a body that is not a JSON object never matches
        assert!(!matches_body(&json!({"a": ["x"]}), "not json"));
    }

    #[test]
    fn invalid_policies() {
        let err = |p: Value, scope: Scope| match validate(&p, scope, false) {
            Ok(()) => panic!("{p} accepted"),
            Err(e) => e.message,
        };
        let a = Scope::MessageAttributes;
        assert_eq!(
            err(json!({"a": "x"}), a),
            "Invalid parameter: FilterPolicy: \"a\" must be an object or an array"
        );
        assert_eq!(
            err(json!({"a": []}), a),
            "Invalid parameter: FilterPolicy: Empty arrays are not allowed"
        );
        assert_eq!(
            err(json!({"a": [{"wat": 1}]}), a),
            "Invalid parameter: FilterPolicy: Unrecognized match type wat"
        );
        assert_eq!(
            err(json!({"a": [{"numeric": [">", "x"]}]}), a),
            "Invalid parameter: FilterPolicy: Value of > must be numeric"
        );
        assert_eq!(
            err(json!({"a": [{"numeric": [">", 5, "<", 1]}]}), a),
            "Invalid parameter: FilterPolicy: Bottom must be less than top"
        );
        assert_eq!(
            err(json!({"a": [{"exists": "yes"}]}), a),
            "Invalid parameter: FilterPolicy: exists match pattern must be either true or false."
        );
        assert_eq!(
            err(json!({"a": [{"prefix": 1}]}), a),
            "Invalid parameter: FilterPolicy: prefix match pattern must be a string"
        );
        assert_eq!(
            err(
                json!({"a": ["1"], "b": ["1"], "c": ["1"], "d": ["1"], "e": ["1"], "f": ["1"]}),
                a
            ),
            "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys"
        );
        assert_eq!(
            err(json!({"a": {"b": ["1"]}}), a),
            "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
        );
        let many: Vec<Value> = (0..151).map(|i| json!(i.to_string())).collect();
        assert_eq!(
            err(json!({"a": many}), a),
            "Invalid parameter: FilterPolicy: Filter policy is too complex"
        );
        assert!(validate(&json!({"a": {"b": ["1"]}}), Scope::MessageBody, false).is_ok());
    }
}
