//! The functions themselves. Argument rules follow what AWS does, which is
//! not always what its documentation says:
//!
//! - `States.MathAdd` rounds each argument like Java's `Math.round`
//!   (AWS-recorded: `1.5 + 0 = 2`, `-1.5 + 0 = -1`, `-2.5 + 0 = -2`).
//! - `States.ArrayRange`, `States.MathRandom`, `States.ArrayGetItem` and
//!   `States.ArrayPartition` truncate non-integers toward zero (observed on
//!   AWS: `ArrayRange(1.6, 1.4, 1)` is `[1]`, `MathRandom(1.6, 5.4)` may
//!   return 1, `ArrayGetItem($.a, 1.2)` reads index 1).
//! - `States.ArrayGetItem` on an empty array returns `null` (observed on AWS);
//!   otherwise an index outside the array is an error.
//! - `States.Hash` hashes a non-string argument's JSON text (observed on AWS).
//! - `States.Base64Decode` is lenient like Apache commons-codec: characters
//!   outside the alphabet are skipped, decoding stops at `=`, a dangling
//!   partial byte is dropped (AWS accepts `'!!!invalid!!!'`, `'abc'`,
//!   `'ab==cd'` and `' YWJjZA== '`).
//! - `States.StringSplit` splits at any of the delimiter's characters and
//!   drops empty pieces (AWS-recorded).
//! - `States.Format` renders objects and arrays the way Java's `Map` and
//!   `List` print (`{Id=arn:..., Name=x}`, AWS-recorded) and `null` as `null`.

use std::borrow::Cow;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::java_random::JavaRandom;
use super::{FormatPart, Node, compact, parse_format_value};
use crate::StatesError;
use crate::payload::Scope;

/// Longest string `States.Base64Encode`, `States.Base64Decode` and
/// `States.Hash` accept (in characters).
pub const MAX_STRING_CHARS: usize = 10_000;
/// Most items `States.ArrayRange` may produce.
pub const MAX_RANGE_ITEMS: i64 = 1000;

/// The 18 functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Func {
    /// Every function.
    pub const ALL: [Func; 18] = [
        Func::Format,
        Func::StringToJson,
        Func::JsonToString,
        Func::Array,
        Func::ArrayPartition,
        Func::ArrayContains,
        Func::ArrayRange,
        Func::ArrayGetItem,
        Func::ArrayLength,
        Func::ArrayUnique,
        Func::Base64Encode,
        Func::Base64Decode,
        Func::Hash,
        Func::JsonMerge,
        Func::MathRandom,
        Func::MathAdd,
        Func::StringSplit,
        Func::Uuid,
    ];

    /// The full name, e.g. `States.Format`.
    pub fn name(self) -> &'static str {
        match self {
            Func::Format => "States.Format",
            Func::StringToJson => "States.StringToJson",
            Func::JsonToString => "States.JsonToString",
            Func::Array => "States.Array",
            Func::ArrayPartition => "States.ArrayPartition",
            Func::ArrayContains => "States.ArrayContains",
            Func::ArrayRange => "States.ArrayRange",
            Func::ArrayGetItem => "States.ArrayGetItem",
            Func::ArrayLength => "States.ArrayLength",
            Func::ArrayUnique => "States.ArrayUnique",
            Func::Base64Encode => "States.Base64Encode",
            Func::Base64Decode => "States.Base64Decode",
            Func::Hash => "States.Hash",
            Func::JsonMerge => "States.JsonMerge",
            Func::MathRandom => "States.MathRandom",
            Func::MathAdd => "States.MathAdd",
            Func::StringSplit => "States.StringSplit",
            Func::Uuid => "States.UUID",
        }
    }

    /// Looks a function up by its full name (case-sensitive).
    pub fn from_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// AWS's cause for any bad argument.
fn invalid(func: Func) -> StatesError {
    StatesError::runtime(format!("Invalid arguments in {}", func.name()))
}

type Args<'a> = Vec<Cow<'a, Value>>;

fn arity(func: Func, args: &Args<'_>, n: usize) -> Result<(), StatesError> {
    if args.len() == n {
        Ok(())
    } else {
        Err(invalid(func))
    }
}

fn string_arg(func: Func, v: &Value) -> Result<&str, StatesError> {
    v.as_str().ok_or_else(|| invalid(func))
}

fn array_arg(func: Func, v: &Value) -> Result<&Vec<Value>, StatesError> {
    v.as_array().ok_or_else(|| invalid(func))
}

fn into_array(func: Func, v: Cow<'_, Value>) -> Result<Vec<Value>, StatesError> {
    match v {
        Cow::Owned(Value::Array(a)) => Ok(a),
        Cow::Borrowed(Value::Array(a)) => Ok(a.clone()),
        _ => Err(invalid(func)),
    }
}

/// A number truncated toward zero to a Java `int`.
pub(super) fn int_trunc(func: Func, v: &Value) -> Result<i64, StatesError> {
    let n = v.as_f64().ok_or_else(|| invalid(func))?;
    if !n.is_finite() {
        return Err(invalid(func));
    }
    let t = if let Some(i) = v.as_i64() {
        i
    } else {
        n.trunc() as i64
    };
    if t < i64::from(i32::MIN) || t > i64::from(i32::MAX) {
        return Err(invalid(func));
    }
    Ok(t)
}

/// A number rounded like Java's `Math.round` (half up, toward +infinity).
pub(super) fn int_round(func: Func, v: &Value) -> Result<i64, StatesError> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    let n = v.as_f64().ok_or_else(|| invalid(func))?;
    if !n.is_finite() {
        return Err(invalid(func));
    }
    // Java's Math.round: the nearest integer, halves toward +infinity. `n -
    // floor(n)` is exact, so 0.49999999999999994 rounds to 0 as in Java.
    let f = n.floor();
    let r = if n - f >= 0.5 { f + 1.0 } else { f };
    if r < i64::MIN as f64 || r > i64::MAX as f64 {
        return Err(invalid(func));
    }
    Ok(r as i64)
}

fn chars_len(s: &str) -> usize {
    // Java measures strings in UTF-16 code units.
    s.encode_utf16().count()
}

/// Applies `node.func` to evaluated arguments.
pub(super) fn apply(
    node: &Node,
    mut args: Args<'_>,
    scope: &mut Scope<'_>,
) -> Result<Value, StatesError> {
    let func = node.func;
    match func {
        Func::Format => format(node, &args),
        Func::StringToJson => {
            arity(func, &args, 1)?;
            let s = string_arg(func, &args[0])?;
            serde_json::from_str::<Value>(s).map_err(|_| invalid(func))
        }
        Func::JsonToString => {
            arity(func, &args, 1)?;
            Ok(Value::String(compact(&args[0])))
        }
        Func::Array => Ok(Value::Array(
            args.into_iter().map(Cow::into_owned).collect(),
        )),
        Func::ArrayPartition => {
            arity(func, &args, 2)?;
            let size = int_trunc(func, &args[1])?;
            if size <= 0 {
                return Err(invalid(func));
            }
            let size = usize::try_from(size).map_err(|_| invalid(func))?;
            let first = args.swap_remove(0);
            let items = into_array(func, first)?;
            let mut out = Vec::with_capacity(items.len().div_ceil(size));
            let mut it = items.into_iter().peekable();
            while it.peek().is_some() {
                out.push(Value::Array(it.by_ref().take(size).collect()));
            }
            Ok(Value::Array(out))
        }
        Func::ArrayContains => {
            arity(func, &args, 2)?;
            let items = array_arg(func, &args[0])?;
            let needle: &Value = &args[1];
            Ok(Value::Bool(items.iter().any(|v| v == needle)))
        }
        Func::ArrayRange => {
            arity(func, &args, 3)?;
            let first = int_trunc(func, &args[0])?;
            let last = int_trunc(func, &args[1])?;
            let step = int_trunc(func, &args[2])?;
            if step == 0 {
                return Err(invalid(func));
            }
            let count = if (step > 0 && first > last) || (step < 0 && first < last) {
                0
            } else {
                (last - first) / step + 1
            };
            if count > MAX_RANGE_ITEMS {
                return Err(invalid(func));
            }
            let mut out = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
            let mut v = first;
            for _ in 0..count {
                out.push(Value::from(v));
                v += step;
            }
            Ok(Value::Array(out))
        }
        Func::ArrayGetItem => {
            arity(func, &args, 2)?;
            let index = int_trunc(func, &args[1])?;
            let items = array_arg(func, &args[0])?;
            if items.is_empty() {
                return Ok(Value::Null);
            }
            let i = usize::try_from(index).map_err(|_| invalid(func))?;
            items.get(i).cloned().ok_or_else(|| invalid(func))
        }
        Func::ArrayLength => {
            arity(func, &args, 1)?;
            Ok(Value::from(array_arg(func, &args[0])?.len()))
        }
        Func::ArrayUnique => {
            arity(func, &args, 1)?;
            let first = args.swap_remove(0);
            let items = into_array(func, first)?;
            let mut out: Vec<Value> = Vec::with_capacity(items.len());
            for v in items {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Ok(Value::Array(out))
        }
        Func::Base64Encode => {
            arity(func, &args, 1)?;
            let s = string_arg(func, &args[0])?;
            if chars_len(s) > MAX_STRING_CHARS {
                return Err(invalid(func));
            }
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
            ))
        }
        Func::Base64Decode => {
            arity(func, &args, 1)?;
            let s = string_arg(func, &args[0])?;
            if chars_len(s) > MAX_STRING_CHARS {
                return Err(invalid(func));
            }
            let bytes = lenient_base64_decode(s);
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
        Func::Hash => {
            arity(func, &args, 2)?;
            let algorithm = string_arg(func, &args[1])?;
            let text: Cow<'_, str> = match &*args[0] {
                Value::String(s) => Cow::Borrowed(s.as_str()),
                other => Cow::Owned(compact(other)),
            };
            if chars_len(&text) > MAX_STRING_CHARS {
                return Err(invalid(func));
            }
            let digest = hash_hex(algorithm, text.as_bytes()).ok_or_else(|| invalid(func))?;
            Ok(Value::String(digest))
        }
        Func::JsonMerge => {
            arity(func, &args, 3)?;
            if args[2].as_bool() != Some(false) {
                return Err(invalid(func));
            }
            if !args[0].is_object() || !args[1].is_object() {
                return Err(invalid(func));
            }
            args.truncate(2);
            let second = args.pop().map(Cow::into_owned);
            let first = args.pop().map(Cow::into_owned);
            match (first, second) {
                (Some(Value::Object(mut a)), Some(Value::Object(b))) => {
                    for (k, v) in b {
                        a.insert(k, v);
                    }
                    Ok(Value::Object(a))
                }
                _ => Err(invalid(func)),
            }
        }
        Func::MathRandom => {
            if args.len() != 2 && args.len() != 3 {
                return Err(invalid(func));
            }
            let start = int_trunc(func, &args[0])?;
            let end = int_trunc(func, &args[1])?;
            if end <= start {
                return Err(invalid(func));
            }
            let span = end - start;
            let offset = match args.get(2) {
                Some(seed) => {
                    if !seed.is_number() {
                        return Err(invalid(func));
                    }
                    let seed = int_trunc(func, seed)?;
                    let bound = i32::try_from(span).map_err(|_| invalid(func))?;
                    i64::from(
                        JavaRandom::new(seed)
                            .next_int(bound)
                            .ok_or_else(|| invalid(func))?,
                    )
                }
                None => {
                    let r = scope.env.random_f64();
                    let r = if (0.0..1.0).contains(&r) { r } else { 0.0 };
                    ((r * span as f64).floor() as i64).clamp(0, span - 1)
                }
            };
            Ok(Value::from(start + offset))
        }
        Func::MathAdd => {
            arity(func, &args, 2)?;
            let a = int_round(func, &args[0])?;
            let b = int_round(func, &args[1])?;
            a.checked_add(b)
                .map(Value::from)
                .ok_or_else(|| invalid(func))
        }
        Func::StringSplit => {
            arity(func, &args, 2)?;
            let s = string_arg(func, &args[0])?;
            let delims = string_arg(func, &args[1])?;
            let out: Vec<Value> = if delims.is_empty() {
                if s.is_empty() {
                    Vec::new()
                } else {
                    vec![Value::String(s.to_string())]
                }
            } else {
                s.split(|c: char| delims.contains(c))
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_string()))
                    .collect()
            };
            Ok(Value::Array(out))
        }
        Func::Uuid => {
            arity(func, &args, 0)?;
            Ok(Value::String(scope.env.uuid_v4()))
        }
    }
}

fn format(node: &Node, args: &Args<'_>) -> Result<Value, StatesError> {
    let func = Func::Format;
    let Some(template) = args.first() else {
        return Err(invalid(func));
    };
    let parsed;
    let parts: &[FormatPart] = match &node.format {
        Some(Some(p)) => p,
        Some(None) => return Err(invalid(func)),
        None => {
            let s = string_arg(func, template)?;
            parsed = parse_format_value(s).ok_or_else(|| invalid(func))?;
            &parsed
        }
    };
    let values = args.get(1..).unwrap_or(&[]);
    let holes = parts
        .iter()
        .filter(|p| matches!(p, FormatPart::Hole))
        .count();
    if holes != values.len() {
        return Err(invalid(func));
    }
    let mut out = String::new();
    let mut next = values.iter();
    for part in parts {
        match part {
            FormatPart::Text(t) => out.push_str(t),
            FormatPart::Hole => {
                if let Some(v) = next.next() {
                    java_string(v, &mut out);
                }
            }
        }
    }
    Ok(Value::String(out))
}

/// How a value prints in `States.Format`: strings as they are, objects and
/// arrays like Java's `Map.toString()` / `List.toString()`.
fn java_string(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                java_string(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => java_map(map, out),
        other => out.push_str(&compact(other)),
    }
}

fn java_map(map: &Map<String, Value>, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(k);
        out.push('=');
        java_string(v, out);
    }
    out.push('}');
}

/// The algorithms `States.Hash` accepts.
pub const HASH_ALGORITHMS: [&str; 5] = ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"];

fn hash_hex(algorithm: &str, data: &[u8]) -> Option<String> {
    use md5::Digest as _;
    let bytes: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    };
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    Some(s)
}

/// Decodes Base64 the forgiving way (see the module docs).
fn lenient_base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut n = 0u32;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_decode() {
        assert_eq!(lenient_base64_decode("aGVsbG8="), b"hello");
        assert_eq!(lenient_base64_decode(" YWJjZA== "), b"abcd");
        assert_eq!(lenient_base64_decode("abc").len(), 2);
        assert_eq!(lenient_base64_decode("ab==cd").len(), 1);
        assert_eq!(lenient_base64_decode("!!!invalid!!!").len(), 5);
        assert_eq!(lenient_base64_decode("Y"), b"");
    }

    #[test]
    fn java_rounding() {
        let f = Func::MathAdd;
        let r = |x: f64| int_round(f, &Value::from(x)).unwrap_or(i64::MIN);
        assert_eq!(r(1.5), 2);
        assert_eq!(r(-1.5), -1);
        assert_eq!(r(-2.5), -2);
        assert_eq!(r(-0.5), 0);
        assert_eq!(r(0.49999999999999994), 0);
        assert_eq!(r(-1.51), -2);
        assert_eq!(r(2.5), 3);
    }
}
