//! Filter expressions (`[?( ... )]`) and their evaluation, after Jayway's
//! `EvaluatorFactory`: numbers compare numerically (a numeric string equals the
//! number), strings compare by UTF-16 code units, `=~` is a whole-string regex
//! match, a missing path is "undefined" and equals nothing.

use std::borrow::Cow;

use serde_json::Value;

use super::parse::Seg;
use super::regex::Regex;
use super::{Fail, eval_segments, is_definite};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Exists(SubPath),
    Cmp(Operand, CmpOp, Operand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Regex,
    In,
    Nin,
    SubsetOf,
    AnyOf,
    NoneOf,
    Size,
    Empty,
    Contains,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Path(SubPath),
    Lit(Value),
    Regex(Box<Regex>),
}

/// A path inside a filter: `@...` (the item under test) or `$...` (the document).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SubPath {
    current: bool,
    segs: Vec<Seg>,
    definite: bool,
}

impl SubPath {
    pub(crate) fn new(current: bool, segs: Vec<Seg>) -> SubPath {
        let definite = is_definite(&segs);
        SubPath {
            current,
            segs,
            definite,
        }
    }

    /// The value: `None` when a definite path finds nothing; indefinite paths give an array.
    fn value<'a>(&self, item: &'a Value, root: &'a Value) -> Option<Cow<'a, Value>> {
        let start = if self.current { item } else { root };
        let mut out = Vec::new();
        match eval_segments(&self.segs, 0, start, root, true, &mut out) {
            Ok(()) if self.definite => out.pop(),
            Ok(()) => Some(Cow::Owned(Value::Array(
                out.into_iter().map(Cow::into_owned).collect(),
            ))),
            Err(Fail::NotFound(_)) if !self.definite => Some(Cow::Owned(Value::Array(Vec::new()))),
            // Jayway's filter treats a failing path as undefined.
            Err(_) => None,
        }
    }

    fn exists(&self, item: &Value, root: &Value) -> bool {
        match self.value(item, root) {
            None => false,
            Some(_) if self.definite => true,
            Some(v) => v.as_array().is_some_and(|a| !a.is_empty()),
        }
    }
}

enum Val<'a> {
    Undefined,
    Json(Cow<'a, Value>),
    Regex(&'a Regex),
}

impl Expr {
    /// Whether `item` passes the filter (`root` is the document the path runs on).
    pub(crate) fn test(&self, item: &Value, root: &Value) -> bool {
        match self {
            Expr::Or(items) => items.iter().any(|e| e.test(item, root)),
            Expr::And(items) => items.iter().all(|e| e.test(item, root)),
            Expr::Not(e) => !e.test(item, root),
            Expr::Exists(p) => p.exists(item, root),
            Expr::Cmp(l, op, r) => {
                let l = operand(l, item, root);
                let r = operand(r, item, root);
                compare(&l, *op, &r)
            }
        }
    }
}

fn operand<'a>(op: &'a Operand, item: &'a Value, root: &'a Value) -> Val<'a> {
    match op {
        Operand::Path(p) => match p.value(item, root) {
            Some(v) => Val::Json(v),
            None => Val::Undefined,
        },
        Operand::Lit(v) => Val::Json(Cow::Borrowed(v)),
        Operand::Regex(r) => Val::Regex(r.as_ref()),
    }
}

fn compare(l: &Val<'_>, op: CmpOp, r: &Val<'_>) -> bool {
    match op {
        CmpOp::Eq => equals(l, r),
        CmpOp::Ne => !equals(l, r),
        CmpOp::Lt => order(l, r).is_some_and(|o| o.is_lt()),
        CmpOp::Le => order(l, r).is_some_and(|o| o.is_le()),
        CmpOp::Gt => order(l, r).is_some_and(|o| o.is_gt()),
        CmpOp::Ge => order(l, r).is_some_and(|o| o.is_ge()),
        CmpOp::Regex => match (l, r) {
            (Val::Regex(re), other) | (other, Val::Regex(re)) => {
                if matches!(other, Val::Regex(_)) {
                    return false;
                }
                re.full_match(&regex_input(other))
            }
            _ => false,
        },
        CmpOp::In => json(r)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| value_equals(l, x))),
        CmpOp::Nin => json(r)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.iter().any(|x| value_equals(l, x))),
        CmpOp::SubsetOf => match (
            json(l).and_then(Value::as_array),
            json(r).and_then(Value::as_array),
        ) {
            (Some(a), Some(b)) => a.iter().all(|x| b.iter().any(|y| json_equals(x, y))),
            _ => false,
        },
        CmpOp::AnyOf => match (
            json(l).and_then(Value::as_array),
            json(r).and_then(Value::as_array),
        ) {
            (Some(a), Some(b)) => a.iter().any(|x| b.iter().any(|y| json_equals(x, y))),
            _ => false,
        },
        CmpOp::NoneOf => match (
            json(l).and_then(Value::as_array),
            json(r).and_then(Value::as_array),
        ) {
            (Some(a), Some(b)) => !a.iter().any(|x| b.iter().any(|y| json_equals(x, y))),
            _ => false,
        },
        CmpOp::Size => {
            let Some(n) = json(r).and_then(Value::as_f64) else {
                return false;
            };
            match json(l) {
                Some(Value::String(s)) => s.encode_utf16().count() as f64 == n,
                Some(Value::Array(a)) => a.len() as f64 == n,
                _ => false,
            }
        }
        CmpOp::Empty => {
            let Some(want) = json(r).and_then(Value::as_bool) else {
                return false;
            };
            match json(l) {
                Some(Value::String(s)) => s.is_empty() == want,
                Some(Value::Array(a)) => a.is_empty() == want,
                _ => false,
            }
        }
        CmpOp::Contains => match (json(l), json(r)) {
            (Some(Value::String(a)), Some(Value::String(b))) => a.contains(b.as_str()),
            (Some(Value::Array(a)), Some(_)) => a.iter().any(|x| value_equals(r, x)),
            _ => false,
        },
    }
}

fn json<'v>(v: &'v Val<'_>) -> Option<&'v Value> {
    match v {
        Val::Json(j) => Some(j.as_ref()),
        _ => None,
    }
}

fn regex_input(v: &Val<'_>) -> String {
    match json(v) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn equals(l: &Val<'_>, r: &Val<'_>) -> bool {
    match (l, r) {
        (Val::Json(a), Val::Json(b)) => json_equals(a, b),
        _ => false,
    }
}

fn value_equals(l: &Val<'_>, x: &Value) -> bool {
    json(l).is_some_and(|a| json_equals(a, x))
}

/// Jayway equality: numbers by value, a number equals a numeric string, the rest structurally.
fn json_equals(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => num_eq(x, y),
        (Value::Number(x), Value::String(s)) | (Value::String(s), Value::Number(x)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .zip(x.as_f64())
            .is_some_and(|(p, q)| p == q),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equals(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equals(v, w)))
        }
        _ => a == b,
    }
}

fn num_eq(x: &serde_json::Number, y: &serde_json::Number) -> bool {
    if let (Some(a), Some(b)) = (x.as_i64(), y.as_i64()) {
        return a == b;
    }
    if let (Some(a), Some(b)) = (x.as_u64(), y.as_u64()) {
        return a == b;
    }
    match (x.as_f64(), y.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn order(l: &Val<'_>, r: &Val<'_>) -> Option<std::cmp::Ordering> {
    match (json(l)?, json(r)?) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(a), Some(b)) = (x.as_i64(), y.as_i64()) {
                return Some(a.cmp(&b));
            }
            x.as_f64()?.partial_cmp(&y.as_f64()?)
        }
        (Value::String(a), Value::String(b)) => Some(a.encode_utf16().cmp(b.encode_utf16())),
        _ => None,
    }
}
