//! Load-time checks on literal arguments.
//!
//! A literal argument of the wrong type for its position makes the call fail
//! on every input, so it is refused when the definition is loaded, as
//! asl-validator does for `States.MathAdd(1,'-1')` (no AWS recording shows
//! such a definition being accepted). Besides types, two fixed vocabularies
//! are checked: `States.Hash`'s algorithm and the `States.Format` template
//! (well-formed, one value per `{}`). The rule for each argument is the one
//! the evaluator applies at run time (same helpers), so a literal is refused
//! only when evaluation could never succeed. Ranges of values (`ArrayRange`
//! sizes, `MathRandom` bounds, partition sizes, string lengths), argument
//! counts, and everything read from paths or nested calls are checked at run
//! time only.
//!
//! Intrinsic literals are strings, numbers, `true`, `false` and `null`, so a
//! literal can never be the array or object an argument may require.

use super::functions::{HASH_ALGORITHMS, int_round, int_trunc};
use super::{Arg, FormatPart, Func, Node};

/// Checks the literal arguments of one call (not of nested calls: each call
/// is checked when it is parsed).
pub(super) fn literals(node: &Node) -> Result<(), String> {
    let func = node.func;
    let lit = |i: usize| match node.args.get(i) {
        Some(Arg::Literal(v)) => Some(v),
        _ => None,
    };
    let bad = |i: usize, want: &str| {
        Err(format!(
            "argument {} of {} must be {want}",
            i + 1,
            func.name()
        ))
    };
    let int = |i: usize| lit(i).map(|v| int_trunc(func, v).ok());
    match func {
        Func::MathAdd => {
            for i in 0..2 {
                if lit(i).is_some_and(|v| int_round(func, v).is_err()) {
                    return bad(i, "a number");
                }
            }
        }
        Func::MathRandom => {
            for i in 0..2 {
                if int(i) == Some(None) {
                    return bad(i, "an integer number");
                }
            }
            if lit(2).is_some_and(|seed| !seed.is_number() || int_trunc(func, seed).is_err()) {
                return bad(2, "an integer number");
            }
        }
        Func::ArrayRange => {
            for i in 0..3 {
                if int(i) == Some(None) {
                    return bad(i, "an integer number");
                }
            }
        }
        Func::ArrayPartition | Func::ArrayGetItem => {
            if lit(0).is_some() {
                return bad(0, "an array");
            }
            if int(1) == Some(None) {
                return bad(1, "an integer number");
            }
        }
        Func::ArrayContains | Func::ArrayLength | Func::ArrayUnique => {
            if lit(0).is_some() {
                return bad(0, "an array");
            }
        }
        Func::JsonMerge => {
            for i in 0..2 {
                if lit(i).is_some() {
                    return bad(i, "an object");
                }
            }
            if lit(2).is_some_and(|v| !v.is_boolean()) {
                return bad(2, "a boolean");
            }
        }
        Func::Base64Encode | Func::Base64Decode | Func::StringToJson => {
            if lit(0).is_some_and(|v| !v.is_string()) {
                return bad(0, "a string");
            }
        }
        Func::Hash => {
            if lit(1).is_some_and(|v| !v.as_str().is_some_and(|a| HASH_ALGORITHMS.contains(&a))) {
                return bad(1, "one of MD5, SHA-1, SHA-256, SHA-384 or SHA-512");
            }
        }
        Func::StringSplit => {
            for i in 0..2 {
                if lit(i).is_some_and(|v| !v.is_string()) {
                    return bad(i, "a string");
                }
            }
        }
        Func::Format => {
            if let Some(v) = lit(0) {
                if !v.is_string() {
                    return bad(0, "a string");
                }
                let Some(Some(parts)) = &node.format else {
                    return Err(format!(
                        "the template of {} has an unescaped '{{' or '}}' that is not part of '{{}}'",
                        func.name()
                    ));
                };
                let holes = parts
                    .iter()
                    .filter(|p| matches!(p, FormatPart::Hole))
                    .count();
                let values = node.args.len().saturating_sub(1);
                if holes != values {
                    return Err(format!(
                        "the template of {} has {holes} placeholder(s) for {values} value(s)",
                        func.name()
                    ));
                }
            }
        }
        Func::JsonToString | Func::Array | Func::Uuid => {}
    }
    Ok(())
}
