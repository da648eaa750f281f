//! AWS Step Functions' JSONPath dialect (Jayway-style), written for Baton.
//!
//! AWS evaluates JSONPath with Jayway JsonPath (its runtime errors quote Jayway's
//! messages, e.g. `No results for path: $['x']`), so this module follows
//! Jayway's grammar and semantics:
//!
//! - Roots: `$` (the document the caller passes), `$$` (Context Object) and
//!   `$name` (a workflow variable). The caller picks the document by
//!   [`Path::root`]; the segments after the root are applied to it.
//! - Tokens: `.name` (a name runs to the next `.`, `[` or `(`, so `-`, `:` or
//!   unicode are fine; a space is not), `['name']` / `["name"]` (escapes are kept
//!   verbatim, as AWS does), `[n]` and `[-n]`, index unions `[0,2]`, slices
//!   `[a:b]`, `[a:]`, `[:b]` (Jayway ignores a step), wildcards `.*` / `[*]`, deep
//!   scan `..x`, filters `[?(<expr>)]` with `== != < <= > >= =~ in nin subsetof
//!   anyof noneof size empty contains`, `&&`, `||`, `!`, parentheses, `@` and `$`
//!   paths, string / number / boolean / null / JSON-array literals and
//!   `/regex/i` patterns.
//! - `['a','b']` as the last token merges the named members into one object
//!   (a definite result); elsewhere it fails at runtime, as on AWS.
//! - Function calls (`$.a.length()`) parse, since AWS accepts them in a
//!   definition, but never find a value, since AWS fails them at runtime.
//!
//! A *definite* path (only names, single indices, a final name list) selects a
//! single value or fails; an *indefinite* path (wildcard, slice, index union,
//! filter, deep scan) always succeeds with the array of its matches, possibly
//! empty (AWS-recorded: `$.items[*]` on `{}` gives `[]`).

use std::borrow::Cow;

use serde_json::{Map, Value};

mod filter;
mod parse;
mod regex;

use parse::Seg;

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the state's input (or whatever document the caller evaluates on).
    Input,
    /// `$$`: the Context Object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// A parse error, worded for a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
}

/// A ResultPath write that cannot be applied.
///
/// `message` is the path layer's part of the `States.ResultPathMatchFailure`
/// cause; the interpreter adds the state context around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteError {
    pub message: String,
}

/// Why a definite path selected nothing, worded as Jayway words it.
///
/// AWS quotes this text for InputPath / OutputPath / `*Path` fields as
/// `Invalid path '<path>' : <message>`, e.g. `Invalid path '$.x' : No results
/// for path: $['x']` or `... : Missing property in path $['no']`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectError {
    pub message: String,
}

/// A compiled path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    src: String,
    root: Root,
    segs: Vec<Seg>,
    definite: bool,
    /// Only `Name` and `Index` segments: a reference path, evaluated on the fast path.
    simple: bool,
}

impl Path {
    /// Compiles a path. The text must start with `$`.
    pub fn parse(src: &str) -> Result<Path, ParseError> {
        let parsed = parse::parse_path(src).map_err(|detail| ParseError {
            message: format!("Invalid JSONPath '{src}': {detail}"),
        })?;
        let simple = parsed
            .segs
            .iter()
            .all(|s| matches!(s, Seg::Name(_) | Seg::Index(_)));
        let definite = is_definite(&parsed.segs);
        Ok(Path {
            src: src.to_string(),
            root: parsed.root,
            segs: parsed.segs,
            definite,
            simple,
        })
    }

    pub fn source(&self) -> &str {
        &self.src
    }

    pub fn root(&self) -> &Root {
        &self.root
    }

    /// A reference path: only `.name`, `['name']` and `[index]` after the root,
    /// so it names at most one node (ResultPath, ItemsPath, Choice `Variable`, ...).
    pub fn is_reference(&self) -> bool {
        self.simple
    }

    /// A definite path selects one value (or fails); an indefinite one an array.
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// Whether the path is just its root (`$`, `$$` or `$name`).
    pub fn is_root_only(&self) -> bool {
        self.segs.is_empty()
    }

    /// Selects from `doc` (the document for this path's root). `None` when a
    /// definite path finds nothing; indefinite paths always give an array.
    pub fn select(&self, doc: &Value) -> Option<Value> {
        self.select_ref(doc).map(Cow::into_owned)
    }

    /// Like [`Path::select`], borrowing from `doc` where the result is a node of it.
    pub fn select_ref<'a>(&self, doc: &'a Value) -> Option<Cow<'a, Value>> {
        if self.simple {
            return select_simple(&self.segs, doc).map(Cow::Borrowed);
        }
        self.try_select(doc).ok()
    }

    /// Like [`Path::select_ref`], with Jayway's explanation when nothing is found.
    pub fn try_select<'a>(&self, doc: &'a Value) -> Result<Cow<'a, Value>, SelectError> {
        if self.simple
            && let Some(v) = select_simple(&self.segs, doc)
        {
            return Ok(Cow::Borrowed(v));
        }
        let mut out = Vec::new();
        let result = eval_segments(&self.segs, 0, doc, doc, true, &mut out);
        match result {
            Err(Fail::NotFound(_)) if !self.definite => Ok(Cow::Owned(Value::Array(Vec::new()))),
            Err(fail) => Err(SelectError {
                message: fail.message(),
            }),
            Ok(()) if self.definite => out.pop().ok_or_else(|| SelectError {
                message: format!("No results for path: {}", display_path(&self.segs, true)),
            }),
            Ok(()) => Ok(Cow::Owned(Value::Array(
                out.into_iter().map(Cow::into_owned).collect(),
            ))),
        }
    }

    /// Applies this path as a ResultPath: places `value` into `target`.
    ///
    /// `$` replaces the whole target. `$.a.b` sets `b` in `a`, creating missing
    /// objects on the way. `[n]` replaces an existing array element (negative
    /// counts from the end). Writing through a value of the wrong type, or to an
    /// index outside the array, is an error.
    /// Whether [`write`](Self::write) would succeed on `target` (the same
    /// checks, changing nothing): a caller may then hand over its only copy.
    pub fn writable(&self, target: &Value) -> bool {
        if self.root != Root::Input || !self.simple {
            return false;
        }
        let mut cur = Some(target);
        for seg in &self.segs {
            cur = match (seg, cur) {
                (Seg::Name(k), Some(Value::Object(m))) => m.get(k.as_str()),
                // A missing member becomes a new object: names below it work.
                (Seg::Name(_), None) => None,
                (Seg::Index(n), Some(Value::Array(a))) => {
                    match resolve_index(a.len(), *n).and_then(|j| a.get(j)) {
                        Some(v) => Some(v),
                        None => return false,
                    }
                }
                _ => return false,
            };
        }
        true
    }

    pub fn write(&self, target: Value, value: Value) -> Result<Value, WriteError> {
        if self.root != Root::Input {
            return Err(WriteError {
                message: format!(
                    "Unable to apply ResultPath '{}': a ResultPath must start with '$', not a context object or variable reference",
                    self.src
                ),
            });
        }
        if !self.simple {
            return Err(WriteError {
                message: format!(
                    "Unable to apply ResultPath '{}': a ResultPath must be a reference path",
                    self.src
                ),
            });
        }
        if self.segs.is_empty() {
            return Ok(value);
        }
        let mut target = target;
        put(&self.src, &self.segs, 0, &mut target, value)?;
        Ok(target)
    }
}

/// All tokens definite (Jayway's `isPathDefinite`).
pub(crate) fn is_definite(segs: &[Seg]) -> bool {
    let n = segs.len();
    segs.iter()
        .enumerate()
        .all(|(i, s)| token_definite(s, i + 1 == n))
}

fn token_definite(seg: &Seg, leaf: bool) -> bool {
    match seg {
        Seg::Name(_) | Seg::Index(_) | Seg::Function(_) => true,
        Seg::Names(_) => leaf,
        Seg::Indexes(_) | Seg::Slice { .. } | Seg::Wildcard | Seg::Scan | Seg::Filter(_) => false,
    }
}

fn resolve_index(len: usize, n: i32) -> Option<usize> {
    if n < 0 {
        let back = n.unsigned_abs() as usize;
        len.checked_sub(back)
    } else {
        let i = n as usize;
        (i < len).then_some(i)
    }
}

/// The fast path for reference paths.
fn select_simple<'a>(segs: &[Seg], doc: &'a Value) -> Option<&'a Value> {
    let mut cur = doc;
    for seg in segs {
        cur = match (seg, cur) {
            (Seg::Name(k), Value::Object(m)) => m.get(k)?,
            (Seg::Index(n), Value::Array(a)) => a.get(resolve_index(a.len(), *n)?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Why evaluation stopped. Jayway throws `PathNotFoundException` (which AWS
/// turns into an empty result for indefinite paths) or `InvalidPathException`
/// (which fails any path).
#[derive(Debug)]
pub(crate) enum Fail {
    NotFound(String),
    Invalid(String),
}

impl Fail {
    fn message(self) -> String {
        match self {
            Fail::NotFound(m) | Fail::Invalid(m) => m,
        }
    }
}

/// Jayway's evaluation: applies `segs[i..]` to `node`, pushing every match into
/// `out`. `upstream` is whether all tokens before `i` are definite; only then
/// does a missing member or a type mismatch raise an error (Jayway's message).
pub(crate) fn eval_segments<'a>(
    segs: &[Seg],
    i: usize,
    node: &'a Value,
    root: &'a Value,
    upstream: bool,
    out: &mut Vec<Cow<'a, Value>>,
) -> Result<(), Fail> {
    // Runs of names and single indices are followed without recursion.
    let (mut i, mut node) = (i, node);
    loop {
        let leaf = i + 1 == segs.len();
        match segs.get(i) {
            Some(Seg::Name(k)) => {
                let Value::Object(m) = node else {
                    return if upstream {
                        Err(not_an_object(segs, i, node))
                    } else {
                        Ok(())
                    };
                };
                match m.get(k) {
                    Some(v) => node = v,
                    None if !leaf && upstream => {
                        return Err(Fail::NotFound(format!(
                            "Missing property in path {}",
                            display_path(&segs[..=i], false)
                        )));
                    }
                    None => return Ok(()),
                }
            }
            Some(Seg::Index(n)) => {
                let Some(a) = array_model(segs, i, node, upstream)? else {
                    return Ok(());
                };
                match resolve_index(a.len(), *n).and_then(|j| a.get(j)) {
                    Some(v) => node = v,
                    None => return Ok(()),
                }
            }
            _ => break,
        }
        i += 1;
    }
    let Some(seg) = segs.get(i) else {
        out.push(Cow::Borrowed(node));
        return Ok(());
    };
    let leaf = i + 1 == segs.len();
    match seg {
        Seg::Name(_) | Seg::Index(_) => Ok(()),
        Seg::Names(ks) => {
            let Value::Object(m) = node else {
                return if upstream {
                    Err(not_an_object(segs, i, node))
                } else {
                    Ok(())
                };
            };
            if !leaf {
                let quoted: Vec<String> = ks.iter().map(|k| format!("'{k}'")).collect();
                return Err(Fail::Invalid(format!(
                    "Multi properties can only be used as path leafs: {}[{}]",
                    display_path(&segs[..i], false),
                    quoted.join(", ")
                )));
            }
            let mut merged = Map::new();
            for k in ks {
                if let Some(v) = m.get(k) {
                    merged.insert(k.clone(), v.clone());
                }
            }
            out.push(Cow::Owned(Value::Object(merged)));
            Ok(())
        }
        Seg::Indexes(ns) => {
            let Some(a) = array_model(segs, i, node, upstream)? else {
                return Ok(());
            };
            for n in ns {
                if let Some(v) = resolve_index(a.len(), *n).and_then(|j| a.get(j)) {
                    eval_segments(segs, i + 1, v, root, false, out)?;
                }
            }
            Ok(())
        }
        Seg::Slice { from, to } => {
            let Some(a) = array_model(segs, i, node, upstream)? else {
                return Ok(());
            };
            let len = i64::try_from(a.len()).unwrap_or(i64::MAX);
            let (start, end) = match (from, to) {
                (Some(f), None) => {
                    let f = i64::from(*f);
                    ((if f < 0 { len + f } else { f }).max(0), len)
                }
                // Jayway does not normalise negative bounds of `[a:b]`; negative
                // positions simply select nothing.
                (Some(f), Some(t)) => (i64::from(*f).max(0), i64::from(*t).min(len)),
                (None, Some(t)) => {
                    let t = i64::from(*t);
                    (0, (if t < 0 { len + t } else { t }).min(len))
                }
                (None, None) => (0, 0),
            };
            let mut k = start;
            while k < end {
                if let Some(v) = usize::try_from(k).ok().and_then(|j| a.get(j)) {
                    eval_segments(segs, i + 1, v, root, false, out)?;
                }
                k += 1;
            }
            Ok(())
        }
        Seg::Wildcard => {
            match node {
                Value::Object(m) => {
                    for v in m.values() {
                        eval_segments(segs, i + 1, v, root, false, out)?;
                    }
                }
                Value::Array(a) => {
                    for v in a {
                        eval_segments(segs, i + 1, v, root, false, out)?;
                    }
                }
                _ => {}
            }
            Ok(())
        }
        Seg::Scan => {
            if i + 1 >= segs.len() {
                return Ok(());
            }
            walk(segs, i + 1, node, root, out)
        }
        Seg::Filter(expr) => match node {
            Value::Object(_) => {
                if expr.test(node, root) {
                    eval_segments(segs, i + 1, node, root, false, out)?;
                }
                Ok(())
            }
            Value::Array(a) => {
                for v in a {
                    if expr.test(v, root) {
                        eval_segments(segs, i + 1, v, root, false, out)?;
                    }
                }
                Ok(())
            }
            _ if upstream => Err(Fail::Invalid(format!(
                "Filter: [?] can not be applied to primitives. Current context is: {}",
                java_to_string(node)
            ))),
            _ => Ok(()),
        },
        Seg::Function(name) => Err(Fail::Invalid(format!("Function {name}() is not supported"))),
    }
}

/// Deep scan (Jayway's `ScanPathToken.walk`): at every container, pre-order,
/// the target token applies when its predicate holds for that container.
fn walk<'a>(
    segs: &[Seg],
    target: usize,
    node: &'a Value,
    root: &'a Value,
    out: &mut Vec<Cow<'a, Value>>,
) -> Result<(), Fail> {
    let children: Box<dyn Iterator<Item = &'a Value>> = match node {
        Value::Object(m) => Box::new(m.values()),
        Value::Array(a) => Box::new(a.iter()),
        _ => return Ok(()),
    };
    if scan_predicate(segs, target, node, root) {
        eval_segments(segs, target, node, root, false, out)?;
    }
    for child in children {
        walk(segs, target, child, root, out)?;
    }
    Ok(())
}

fn scan_predicate(segs: &[Seg], target: usize, node: &Value, root: &Value) -> bool {
    let leaf = target + 1 == segs.len();
    match segs.get(target) {
        Some(Seg::Name(k)) => node.as_object().is_some_and(|m| m.contains_key(k)),
        Some(Seg::Names(ks)) => node
            .as_object()
            .is_some_and(|m| !leaf || ks.iter().all(|k| m.contains_key(k))),
        Some(Seg::Index(_) | Seg::Indexes(_) | Seg::Slice { .. }) => node.is_array(),
        Some(Seg::Wildcard) => true,
        Some(Seg::Filter(expr)) => expr.test(node, root),
        Some(Seg::Scan | Seg::Function(_)) | None => false,
    }
}

fn array_model<'a>(
    segs: &[Seg],
    i: usize,
    node: &'a Value,
    upstream: bool,
) -> Result<Option<&'a Vec<Value>>, Fail> {
    match node {
        Value::Array(a) => Ok(Some(a)),
        _ if !upstream => Ok(None),
        Value::Null => Err(Fail::NotFound(format!(
            "The path {} is null",
            display_path(&segs[..i], false)
        ))),
        _ => Err(Fail::NotFound(format!(
            "Filter: {} can only be applied to arrays. Current context is: {}",
            fragment(&segs[i], true),
            java_to_string(node)
        ))),
    }
}

fn not_an_object(segs: &[Seg], i: usize, node: &Value) -> Fail {
    Fail::NotFound(format!(
        "Expected to find an object with property {} in path {} but found '{}'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'.",
        fragment(&segs[i], true),
        display_path(&segs[..i], false),
        java_class(node)
    ))
}

fn java_class(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) => {
            if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) {
                "java.lang.Integer"
            } else if n.is_i64() {
                "java.lang.Long"
            } else if n.is_u64() {
                "java.math.BigInteger"
            } else {
                "java.lang.Double"
            }
        }
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "net.minidev.json.JSONArray",
        Value::Object(_) => "net.minidev.json.JSONObject",
    }
}

fn java_to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Jayway's normalized form of a token (`['a']`, `[0]`, `[*]`, `..`, `[?]`).
fn fragment(seg: &Seg, escape: bool) -> String {
    let quote = |k: &str| {
        if escape {
            format!("'{}'", k.replace('\\', "\\\\").replace('\'', "\\'"))
        } else {
            format!("'{k}'")
        }
    };
    match seg {
        Seg::Name(k) => format!("[{}]", quote(k)),
        Seg::Names(ks) => {
            let q: Vec<String> = ks.iter().map(|k| quote(k)).collect();
            format!("[{}]", q.join(","))
        }
        Seg::Index(n) => format!("[{n}]"),
        Seg::Indexes(ns) => {
            let q: Vec<String> = ns.iter().map(i32::to_string).collect();
            format!("[{}]", q.join(","))
        }
        Seg::Slice { from, to } => format!(
            "[{}:{}]",
            from.map(|f| f.to_string()).unwrap_or_default(),
            to.map(|t| t.to_string()).unwrap_or_default()
        ),
        Seg::Wildcard => "[*]".to_string(),
        Seg::Scan => "..".to_string(),
        Seg::Filter(_) => "[?]".to_string(),
        Seg::Function(name) => format!(".{name}()"),
    }
}

/// `$` followed by the normalized tokens, as in Jayway's messages.
fn display_path(segs: &[Seg], escape: bool) -> String {
    let mut s = String::from("$");
    for seg in segs {
        s.push_str(&fragment(seg, escape));
    }
    s
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn put(src: &str, segs: &[Seg], i: usize, cur: &mut Value, value: Value) -> Result<(), WriteError> {
    let Some(seg) = segs.get(i) else {
        *cur = value;
        return Ok(());
    };
    let last = i + 1 == segs.len();
    match seg {
        Seg::Name(k) => {
            let Value::Object(m) = cur else {
                return Err(WriteError {
                    message: format!(
                        "Unable to apply ResultPath '{src}': the value at {} is {}, not an object, so the field '{k}' cannot be set",
                        display_path(&segs[..i], false),
                        describe(cur)
                    ),
                });
            };
            if last {
                m.insert(k.clone(), value);
                return Ok(());
            }
            let child = m
                .entry(k.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            put(src, segs, i + 1, child, value)
        }
        Seg::Index(n) => {
            let Value::Array(a) = cur else {
                return Err(WriteError {
                    message: format!(
                        "Unable to apply ResultPath '{src}': the value at {} is {}, not an array, so the index [{n}] cannot be set",
                        display_path(&segs[..i], false),
                        describe(cur)
                    ),
                });
            };
            let len = a.len();
            let Some(child) = resolve_index(len, *n).and_then(|j| a.get_mut(j)) else {
                return Err(WriteError {
                    message: format!(
                        "Unable to apply ResultPath '{src}': the index [{n}] is outside the array at {} (length {len})",
                        display_path(&segs[..i], false)
                    ),
                });
            };
            put(src, segs, i + 1, child, value)
        }
        _ => Err(WriteError {
            message: format!(
                "Unable to apply ResultPath '{src}': a ResultPath must be a reference path"
            ),
        }),
    }
}

#[cfg(test)]
mod tests;
