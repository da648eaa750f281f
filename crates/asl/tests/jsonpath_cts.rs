//! The RFC 9535 JSONPath Compliance Test Suite, run on the part of it that AWS
//! Step Functions' (Jayway) dialect shares with RFC 9535.
//!
//! The suite file is `shared/suites/jsonpath-cts/cts.json` beside the repository;
//! when it is absent the test prints a skip message and passes.
//!
//! Which cases are in the subset is decided from each case's tags and the text
//! of its selector only, never from our result. A case is outside the dialect,
//! for the first reason that applies, when:
//!
//! 1. it is an `invalid_selector` case: Jayway's grammar is looser than RFC 9535
//!    (leading zeros, any character in a dot-name, ...), so RFC's rejections are
//!    not the dialect's. They are still parsed (must not panic) and the number we
//!    also reject is printed;
//! 2. it is tagged `function` (RFC function extensions; the dialect's function
//!    syntax differs and AWS fails functions at runtime);
//! 3. its selector has a tab, CR or LF, or a space outside brackets (Jayway
//!    allows only spaces, and only inside brackets);
//! 4. its selector has a filter `?` (RFC writes `[?expr]`, the dialect `[?(expr)]`,
//!    and the semantics differ: Jayway compares numbers with numeric strings, ...);
//! 5. a bracket holds a union that is not made of integer indices only (Jayway
//!    merges `['a','b']` into one object and rejects mixed unions);
//! 6. a slice has a step (Jayway ignores it), omits both bounds (Jayway rejects
//!    `[:]`), contains a space (Jayway rejects it), or gives two bounds one of
//!    which is negative (Jayway does not normalise them);
//! 7. an integer does not fit in 32 bits (Jayway reads indices as Java `int`);
//! 8. a quoted name contains a backslash (AWS keeps escapes verbatim: the
//!    AWS-recorded `ESCAPE_SEQUENCES_JSONPATH` case).
//!
//! RFC results are node lists. A definite path (names and single indices) gives
//! one value or nothing, so it must match an RFC list of one node or an empty
//! list; an indefinite path gives an array that must equal the RFC list.

use std::collections::BTreeMap;

use baton_asl::path::Path;
use serde_json::Value;

fn suite_file() -> std::path::PathBuf {
    std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/suites"
    ))
    .join("jsonpath-cts")
    .join("cts.json")
}

/// The reason a case is outside the dialect, or `None` when it is inside.
fn outside(case: &Value) -> Option<&'static str> {
    if case.get("invalid_selector").and_then(Value::as_bool) == Some(true) {
        return Some("RFC-invalid selector");
    }
    let tags: Vec<&str> = case
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if tags.contains(&"function") {
        return Some("function extension");
    }
    let selector = case
        .get("selector")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let brackets = bracket_contents(selector);
    if selector.contains(['\t', '\n', '\r']) || space_outside_brackets(selector) {
        return Some("RFC whitespace");
    }
    if brackets
        .iter()
        .any(|b| b.trim_start().starts_with('?') || b.contains('?'))
    {
        return Some("RFC filter syntax");
    }
    for b in &brackets {
        let items = split_top(b, ',');
        if items.len() > 1 && !items.iter().all(|i| is_int(i.trim())) {
            return Some("name or mixed union");
        }
    }
    for b in &brackets {
        let item = b.trim();
        if item.starts_with(['\'', '"']) {
            continue;
        }
        if item.contains(':') {
            let parts: Vec<&str> = item.split(':').collect();
            if parts.len() > 2 {
                return Some("slice step");
            }
            if item.contains(' ') {
                return Some("space in a slice");
            }
            let (from, to) = (parts[0].trim(), parts.get(1).map_or("", |t| t.trim()));
            if from.is_empty() && to.is_empty() {
                return Some("slice without bounds");
            }
            if !from.is_empty() && !to.is_empty() && (from.starts_with('-') || to.starts_with('-'))
            {
                return Some("negative bounds in [a:b]");
            }
        }
        for num in item.split([',', ':']) {
            let num = num.trim();
            if !num.is_empty() && is_int(num) && num.parse::<i32>().is_err() {
                return Some("index beyond 32 bits");
            }
        }
    }
    if brackets
        .iter()
        .any(|b| b.trim().starts_with(['\'', '"']) && b.contains('\\'))
    {
        return Some("escape in quoted name");
    }
    None
}

fn space_outside_brackets(selector: &str) -> bool {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in selector.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ' ' if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

fn is_int(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit())
}

/// The text inside each top-level `[...]` of a selector, quotes respected.
fn bracket_contents(selector: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut current = String::new();
    for c in selector.chars() {
        if let Some(q) = quote {
            if depth > 0 {
                current.push(c);
            }
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                if depth > 0 {
                    current.push(c);
                }
            }
            '[' => {
                if depth > 0 {
                    current.push(c);
                }
                depth += 1;
            }
            ']' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push(std::mem::take(&mut current));
                } else {
                    current.push(c);
                }
            }
            c if depth > 0 => current.push(c),
            _ => {}
        }
    }
    out
}

/// Splits on `sep` outside quotes and nested brackets.
fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut depth = 0usize;
    for c in s.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else if c == '\'' || c == '"' {
            quote = Some(c);
        } else if c == '[' || c == '(' {
            depth += 1;
        } else if (c == ']' || c == ')') && depth > 0 {
            depth -= 1;
        } else if c == sep && depth == 0 {
            out.push(String::new());
            continue;
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

/// Whether our result for `path` agrees with the RFC node list `nodes`.
fn agrees(path: &Path, got: &Option<Value>, nodes: &[Value]) -> bool {
    if path.is_definite() {
        match (got, nodes) {
            (None, []) => true,
            (Some(v), [n]) => v == n,
            _ => false,
        }
    } else {
        got.as_ref()
            .and_then(Value::as_array)
            .is_some_and(|a| a.as_slice() == nodes)
    }
}

#[test]
fn jsonpath_cts() {
    let file = suite_file();
    let Ok(text) = std::fs::read_to_string(&file) else {
        println!("jsonpath cts: skipped, {} not found", file.display());
        return;
    };
    let suite: Value = serde_json::from_str(&text).expect("cts.json is JSON");
    let cases = suite
        .get("tests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();

    let (mut passed, mut failed) = (0usize, Vec::new());
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut invalid_total, mut invalid_rejected) = (0usize, 0usize);

    for case in &cases {
        let name = case.get("name").and_then(Value::as_str).unwrap_or("?");
        let selector = case
            .get("selector")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(reason) = outside(case) {
            *reasons.entry(reason).or_default() += 1;
            if reason == "RFC-invalid selector" {
                invalid_total += 1;
                if Path::parse(selector).is_err() {
                    invalid_rejected += 1;
                }
            }
            continue;
        }
        let path = match Path::parse(selector) {
            Ok(p) => p,
            Err(e) => {
                failed.push(format!(
                    "{name}: {selector:?} does not parse: {}",
                    e.message
                ));
                continue;
            }
        };
        let doc = case.get("document").cloned().unwrap_or(Value::Null);
        let got = path.select(&doc);
        let expected: Vec<Vec<Value>> =
            if let Some(r) = case.get("result").and_then(Value::as_array) {
                vec![r.clone()]
            } else {
                case.get("results")
                    .and_then(Value::as_array)
                    .map(|all| all.iter().filter_map(|r| r.as_array().cloned()).collect())
                    .unwrap_or_default()
            };
        if expected.iter().any(|nodes| agrees(&path, &got, nodes)) {
            passed += 1;
        } else {
            failed.push(format!(
                "{name}: {selector:?} on {doc} gave {got:?}, RFC expects {expected:?}"
            ));
        }
    }

    let outside_total: usize = reasons.values().sum();
    let detail: Vec<String> = reasons.iter().map(|(r, n)| format!("{r}: {n}")).collect();
    println!(
        "jsonpath cts: {passed} passed, {} failed, {outside_total} outside the dialect ({})",
        failed.len(),
        detail.join(", ")
    );
    println!(
        "jsonpath cts: {invalid_rejected} of {invalid_total} RFC-invalid selectors are rejected by the dialect too"
    );
    for f in failed.iter().take(30) {
        println!("  FAIL {f}");
    }
    assert!(
        failed.is_empty(),
        "{} CTS cases inside the dialect failed",
        failed.len()
    );
}
