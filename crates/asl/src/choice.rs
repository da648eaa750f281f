//! Choice rule evaluation (JSONPath mode), as AWS Step Functions evaluates it.
//!
//! - A comparison whose `Variable` (or whose `…Path` operand) selects nothing is
//!   a `States.Runtime` error, worded as AWS words it: see
//!   [`invalid_path_cause`]. Only `IsPresent` reads a missing value (as absent).
//! - A value of the wrong type never matches: `StringEquals` on a number,
//!   `NumericEquals` on a string, `BooleanEquals` on `0`, `Timestamp*` on a
//!   string that is not a timestamp all evaluate to `false`, not an error.
//! - Numbers compare by value (`1` equals `1.0`); strings compare by UTF-16
//!   code units (Java's `String.compareTo`); timestamps compare as instants
//!   (`…T19:00:55Z` equals `…T20:00:55+01:00`).
//! - `And`/`Or` stop at the first rule that decides them.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use crate::StatesError;
use crate::error::names;
use crate::model::{ChoiceRule, Comparison, Operand};
use crate::path::{Path, Root};
use crate::payload::Scope;
use crate::time;

/// Evaluates a JSONPath-mode rule.
///
/// A JSONata `Condition` that is a boolean literal evaluates to itself; any
/// other `Condition` must go through the JSONata engine and is an error here.
pub fn evaluate(rule: &ChoiceRule, scope: &Scope<'_>) -> Result<bool, StatesError> {
    match rule {
        ChoiceRule::And(rules) => {
            for r in rules {
                if !evaluate(r, scope)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        ChoiceRule::Or(rules) => {
            for r in rules {
                if evaluate(r, scope)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        ChoiceRule::Not(inner) => Ok(!evaluate(inner, scope)?),
        ChoiceRule::Compare {
            variable,
            op,
            operand,
        } => compare(variable, *op, operand, scope),
        ChoiceRule::Condition(Value::Bool(b)) => Ok(*b),
        ChoiceRule::Condition(other) => Err(StatesError::new(
            names::QUERY_EVALUATION_ERROR,
            format!(
                "The Condition {other} is a JSONata expression; it is evaluated by the JSONata engine, not as a JSONPath rule"
            ),
        )),
    }
}

/// The cause AWS gives (with error `States.Runtime`) when a Choice rule's
/// `Variable` or `…Path` operand selects nothing. The interpreter prefixes it
/// with `An error occurred while executing the state '<name>' (entered at the
/// event id #<n>). ` as it does for every state runtime error.
pub fn invalid_path_cause(path: &str) -> String {
    format!("Invalid path '{path}': The choice state's condition path references an invalid value.")
}

/// Reads `path` in the scope: `$` is the input, `$$` the Context Object,
/// `$name` a variable. `None` when the path (or the variable) selects nothing.
pub fn select(path: &Path, scope: &Scope<'_>) -> Option<Value> {
    match path.root() {
        Root::Input => path.select(scope.input),
        Root::Context => path.select(scope.context),
        Root::Variable(name) => path.select(scope.vars.get(name)?),
    }
}

/// `StringMatches`: `*` matches any run of characters (also none); a
/// backslash makes the next character literal (`\*` is a star, `\\` a
/// backslash). The whole string must match.
pub fn string_matches(text: &str, pattern: &str) -> bool {
    let tokens = tokenize_pattern(pattern);
    let text: Vec<char> = text.chars().collect();
    // Classic greedy wildcard matching with backtracking to the last star.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Star) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens.iter().skip(p).all(|tok| matches!(tok, Token::Star))
}

enum Token {
    Star,
    Char(char),
}

fn tokenize_pattern(pattern: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                // Consecutive stars match the same as one.
                if !matches!(out.last(), Some(Token::Star)) {
                    out.push(Token::Star);
                }
            }
            '\\' => out.push(Token::Char(chars.next().unwrap_or('\\'))),
            other => out.push(Token::Char(other)),
        }
    }
    out
}

fn compare(
    variable: &Path,
    op: Comparison,
    operand: &Operand,
    scope: &Scope<'_>,
) -> Result<bool, StatesError> {
    let value = select(variable, scope);
    if op == Comparison::IsPresent {
        return Ok(match operand {
            Operand::Literal(Value::Bool(b)) => value.is_some() == *b,
            _ => false,
        });
    }
    let value = value.ok_or_else(|| StatesError::runtime(invalid_path_cause(variable.source())))?;
    let owned;
    let rhs: &Value = match operand {
        Operand::Literal(v) => v,
        Operand::Path(p) => {
            owned = select(p, scope)
                .ok_or_else(|| StatesError::runtime(invalid_path_cause(p.source())))?;
            &owned
        }
    };
    Ok(test(op, &value, rhs))
}

/// Applies `op` to the selected `value` and the operand `rhs`.
fn test(op: Comparison, value: &Value, rhs: &Value) -> bool {
    use Comparison as C;
    match op {
        C::StringEquals => strings(value, rhs).is_some_and(|(a, b)| a == b),
        C::StringLessThan => string_order(value, rhs).is_some_and(Ordering::is_lt),
        C::StringGreaterThan => string_order(value, rhs).is_some_and(Ordering::is_gt),
        C::StringLessThanEquals => string_order(value, rhs).is_some_and(Ordering::is_le),
        C::StringGreaterThanEquals => string_order(value, rhs).is_some_and(Ordering::is_ge),
        C::StringMatches => strings(value, rhs).is_some_and(|(a, b)| string_matches(a, b)),
        C::NumericEquals => number_order(value, rhs).is_some_and(Ordering::is_eq),
        C::NumericLessThan => number_order(value, rhs).is_some_and(Ordering::is_lt),
        C::NumericGreaterThan => number_order(value, rhs).is_some_and(Ordering::is_gt),
        C::NumericLessThanEquals => number_order(value, rhs).is_some_and(Ordering::is_le),
        C::NumericGreaterThanEquals => number_order(value, rhs).is_some_and(Ordering::is_ge),
        C::BooleanEquals => matches!((value, rhs), (Value::Bool(a), Value::Bool(b)) if a == b),
        C::TimestampEquals => timestamp_order(value, rhs).is_some_and(Ordering::is_eq),
        C::TimestampLessThan => timestamp_order(value, rhs).is_some_and(Ordering::is_lt),
        C::TimestampGreaterThan => timestamp_order(value, rhs).is_some_and(Ordering::is_gt),
        C::TimestampLessThanEquals => timestamp_order(value, rhs).is_some_and(Ordering::is_le),
        C::TimestampGreaterThanEquals => timestamp_order(value, rhs).is_some_and(Ordering::is_ge),
        C::IsNull => type_test(value.is_null(), rhs),
        C::IsPresent => type_test(true, rhs),
        C::IsNumeric => type_test(value.is_number(), rhs),
        C::IsString => type_test(value.is_string(), rhs),
        C::IsBoolean => type_test(value.is_boolean(), rhs),
        C::IsTimestamp => type_test(value.as_str().is_some_and(time::is_timestamp), rhs),
    }
}

fn type_test(is: bool, rhs: &Value) -> bool {
    rhs.as_bool().is_some_and(|want| is == want)
}

fn strings<'v>(a: &'v Value, b: &'v Value) -> Option<(&'v str, &'v str)> {
    Some((a.as_str()?, b.as_str()?))
}

/// Java's `String.compareTo`: lexicographic over UTF-16 code units.
fn string_order(a: &Value, b: &Value) -> Option<Ordering> {
    let (a, b) = strings(a, b)?;
    Some(a.encode_utf16().cmp(b.encode_utf16()))
}

fn number_order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b),
        _ => None,
    }
}

/// Compares two JSON numbers by value: exactly when both are integers,
/// otherwise as doubles.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    match (as_i128(a), as_i128(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn as_i128(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

fn timestamp_order(a: &Value, b: &Value) -> Option<Ordering> {
    let (a, b) = strings(a, b)?;
    Some(time::parse_rfc3339(a)?.cmp(&time::parse_rfc3339(b)?))
}
