//! The 18 `States.*` intrinsic functions: parser and evaluator.
//!
//! A call is parsed once (at load time) into a small tree; evaluating it walks
//! the tree without reparsing. Grammar, as AWS accepts it:
//!
//! ```text
//! call     := "States." Name "(" [ arg { "," arg } ] ")"
//! arg      := string | number | "true" | "false" | "null" | path | call
//! string   := "'" { char | "\'" | "\{" | "\}" | "\\" } "'"
//! path     := "$" ...            (a JSONPath: `$.x`, `$$.x`, `$var.x`)
//! ```
//!
//! Calls nest up to 10 levels deep. Unknown function names, bad escapes and
//! malformed syntax are load-time errors, and so is a literal argument that
//! makes the call fail whatever the input (`States.MathAdd(1, '-1')`, a
//! `States.Hash` algorithm outside the allowed set, a `States.Format` template
//! whose placeholders do not match its values, ...; see `check.rs`). What
//! depends on values read from paths or nested calls (argument types,
//! ranges) and the argument count fail the state at run time with
//! `States.Runtime` and the cause `Invalid arguments in States.Name`, which is
//! how AWS reports it (observed on AWS: e.g. `Invalid arguments in
//! States.MathAdd`, `... in States.ArrayRange`). An argument path that selects
//! nothing fails with AWS's "The JSONPath '...' specified for the field '...'
//! could not be found in the input '...'".

mod check;
mod functions;
mod java_random;

use std::borrow::Cow;

use serde_json::Value;

use crate::StatesError;
use crate::path::{Path, Root};
use crate::payload::Scope;

pub use functions::Func;

/// How deep calls may nest (the outermost call counts as 1).
pub const MAX_DEPTH: usize = 10;

/// A parse error, worded for a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
}

impl ParseError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    src: String,
    node: Node,
}

/// One call in the tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) func: Func,
    pub(crate) args: Vec<Arg>,
    /// For `States.Format` with a literal template: the template split at its
    /// `{}` placeholders (escaped braces already resolved), or `None` when the
    /// template is malformed (an error AWS reports only at run time).
    pub(crate) format: Option<Option<Vec<FormatPart>>>,
}

/// A piece of a `States.Format` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FormatPart {
    Text(String),
    Hole,
}

/// One argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Literal(Value),
    Path(Path),
    Call(Box<Node>),
}

/// Parses `States.Name(args...)`.
pub fn parse(src: &str) -> Result<Call, ParseError> {
    let mut p = Parser {
        s: src.as_bytes(),
        src,
        pos: 0,
    };
    p.skip_ws();
    let node = p.call(1)?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return Err(ParseError::new(format!(
            "unexpected text after the intrinsic function call at offset {}",
            p.pos
        )));
    }
    Ok(Call {
        src: src.to_string(),
        node,
    })
}

/// Whether `s` looks like an intrinsic function call (starts with `States.`).
pub fn looks_like_call(s: &str) -> bool {
    s.trim_start().starts_with("States.")
}

impl Call {
    /// The call as written.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// The outermost function.
    pub fn func(&self) -> Func {
        self.node.func
    }

    /// Whether evaluating reads the Context Object (`$$...`).
    pub fn uses_context(&self) -> bool {
        self.node
            .any_path(&mut |p| matches!(p.root(), Root::Context))
    }

    /// Whether evaluating reads workflow variables (`$name...`).
    pub fn uses_variables(&self) -> bool {
        self.node
            .any_path(&mut |p| matches!(p.root(), Root::Variable(_)))
    }

    /// Every variable name the call reads, in order of appearance (repeats kept).
    pub fn variables(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.node.collect_variables(&mut out);
        out
    }

    /// Evaluates the call. A missing path is reported as found in the field
    /// named by the call's own source text; use [`Call::eval_field`] to name
    /// the real field (`"x.$"`, `"CausePath"`, ...).
    pub fn eval(&self, scope: &mut Scope<'_>) -> Result<Value, StatesError> {
        self.node.eval(&self.src, scope)
    }

    /// Evaluates the call written in `field` (for error messages).
    pub fn eval_field(&self, field: &str, scope: &mut Scope<'_>) -> Result<Value, StatesError> {
        self.node.eval(field, scope)
    }
}

impl Node {
    fn any_path(&self, f: &mut dyn FnMut(&Path) -> bool) -> bool {
        self.args.iter().any(|a| match a {
            Arg::Literal(_) => false,
            Arg::Path(p) => f(p),
            Arg::Call(n) => n.any_path(f),
        })
    }

    fn collect_variables<'a>(&'a self, out: &mut Vec<&'a str>) {
        for a in &self.args {
            match a {
                Arg::Literal(_) => {}
                Arg::Path(p) => {
                    if let Root::Variable(name) = p.root() {
                        out.push(name.as_str());
                    }
                }
                Arg::Call(n) => n.collect_variables(out),
            }
        }
    }

    fn eval(&self, field: &str, scope: &mut Scope<'_>) -> Result<Value, StatesError> {
        let mut args: Vec<Cow<'_, Value>> = Vec::with_capacity(self.args.len());
        for a in &self.args {
            args.push(match a {
                Arg::Literal(v) => Cow::Borrowed(v),
                Arg::Path(p) => Cow::Owned(select_path(p, field, scope)?),
                Arg::Call(n) => Cow::Owned(n.eval(field, scope)?),
            });
        }
        functions::apply(self, args, scope)
    }
}

/// Selects `path` from the document its root names, or fails the way AWS does.
pub fn select_path(path: &Path, field: &str, scope: &Scope<'_>) -> Result<Value, StatesError> {
    let found = match path.root() {
        Root::Input => path.select(scope.input),
        Root::Context => path.select(scope.context),
        Root::Variable(name) => scope.vars.get(name).and_then(|v| path.select(v)),
    };
    found.ok_or_else(|| path_not_found(path.source(), field, scope.input))
}

/// AWS's cause for a path that selects nothing.
pub fn path_not_found(path: &str, field: &str, input: &Value) -> StatesError {
    StatesError::runtime(format!(
        "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{}'",
        compact(input)
    ))
}

/// Compact JSON text of `v`.
pub(crate) fn compact(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn call(&mut self, depth: usize) -> Result<Node, ParseError> {
        if depth > MAX_DEPTH {
            return Err(ParseError::new(format!(
                "intrinsic functions can be nested at most {MAX_DEPTH} levels deep"
            )));
        }
        if !self.rest().starts_with("States.") {
            return Err(ParseError::new(
                "an intrinsic function call must start with 'States.'",
            ));
        }
        let start = self.pos;
        self.pos += "States.".len();
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let name = self.src.get(start..self.pos).unwrap_or("");
        let func = Func::from_name(name)
            .ok_or_else(|| ParseError::new(format!("unknown intrinsic function '{name}'")))?;
        self.skip_ws();
        if self.peek() != Some(b'(') {
            return Err(ParseError::new(format!("expected '(' after {name}")));
        }
        self.pos += 1;
        let mut args = Vec::new();
        let mut format_template: Option<Option<Vec<FormatPart>>> = None;
        self.skip_ws();
        if self.peek() == Some(b')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                let (arg, raw_string) = self.arg(depth)?;
                if func == Func::Format
                    && args.is_empty()
                    && let Some(raw) = raw_string
                {
                    format_template = Some(parse_format_literal(&raw));
                }
                args.push(arg);
                self.skip_ws();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => {
                        return Err(ParseError::new(format!(
                            "expected ',' or ')' in the arguments of {name}"
                        )));
                    }
                }
            }
        }
        let node = Node {
            func,
            args,
            format: format_template,
        };
        check::literals(&node).map_err(ParseError::new)?;
        Ok(node)
    }

    /// One argument; for a string literal also its raw (still escaped) text.
    fn arg(&mut self, depth: usize) -> Result<(Arg, Option<String>), ParseError> {
        match self.peek() {
            Some(b'\'') => {
                let (value, raw) = self.string()?;
                Ok((Arg::Literal(Value::String(value)), Some(raw)))
            }
            Some(b'$') => Ok((Arg::Path(self.path()?), None)),
            Some(b'-' | b'0'..=b'9') => Ok((Arg::Literal(self.number()?), None)),
            _ => {
                let rest = self.rest();
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if rest.starts_with(word)
                        && !is_word_byte(rest.as_bytes().get(word.len()).copied())
                    {
                        self.pos += word.len();
                        return Ok((Arg::Literal(v), None));
                    }
                }
                if rest.starts_with("States.") {
                    return Ok((Arg::Call(Box::new(self.call(depth + 1)?)), None));
                }
                Err(ParseError::new(format!(
                    "invalid intrinsic function argument at offset {}",
                    self.pos
                )))
            }
        }
    }

    /// A single-quoted string literal: returns (decoded, raw-between-quotes).
    fn string(&mut self) -> Result<(String, String), ParseError> {
        self.pos += 1; // opening quote
        let start = self.pos;
        let mut out = String::new();
        loop {
            let rest = self.rest();
            let mut chars = rest.chars();
            match chars.next() {
                None => return Err(ParseError::new("unterminated string literal")),
                Some('\'') => {
                    let raw = self.src.get(start..self.pos).unwrap_or("").to_string();
                    self.pos += 1;
                    return Ok((out, raw));
                }
                Some('\\') => match chars.next() {
                    Some(c @ ('\'' | '{' | '}' | '\\')) => {
                        out.push(c);
                        self.pos += 2;
                    }
                    _ => {
                        return Err(ParseError::new(format!(
                            "invalid escape sequence in string literal at offset {} (only \\', \\{{, \\}} and \\\\ are allowed)",
                            self.pos
                        )));
                    }
                },
                Some(c) => {
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.pos += 1;
        }
        let text = self.src.get(start..self.pos).unwrap_or("");
        match serde_json::from_str::<Value>(text) {
            Ok(v @ Value::Number(_)) => Ok(v),
            _ => Err(ParseError::new(format!("invalid number '{text}'"))),
        }
    }

    /// A path runs to the next top-level `,` or `)` (brackets, parentheses and
    /// quotes inside brackets are skipped over).
    fn path(&mut self) -> Result<Path, ParseError> {
        let start = self.pos;
        let mut depth = 0usize;
        let mut quote: Option<u8> = None;
        while let Some(c) = self.peek() {
            if let Some(q) = quote {
                if c == b'\\' {
                    self.pos += 2;
                    continue;
                }
                if c == q {
                    quote = None;
                }
                self.pos += 1;
                continue;
            }
            match c {
                b'\'' | b'"' if depth > 0 => quote = Some(c),
                b'[' | b'(' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b')' if depth == 0 => break,
                b')' => depth -= 1,
                b',' if depth == 0 => break,
                _ => {}
            }
            self.pos += 1;
        }
        let end = self.pos.min(self.s.len());
        self.pos = end;
        let text = self.src.get(start..end).unwrap_or("").trim_end();
        Path::parse(text)
            .map_err(|e| ParseError::new(format!("invalid path '{text}': {}", e.message)))
    }
}

fn is_word_byte(b: Option<u8>) -> bool {
    matches!(b, Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
}

/// Splits a literal `States.Format` template (raw, escapes intact) at its
/// placeholders. An unescaped brace that is not part of `{}` makes the
/// template malformed (`None`).
fn parse_format_literal(raw: &str) -> Option<Vec<FormatPart>> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) => text.push(e),
                None => return None,
            },
            '{' => {
                if chars.next() != Some('}') {
                    return None;
                }
                if !text.is_empty() {
                    parts.push(FormatPart::Text(std::mem::take(&mut text)));
                }
                parts.push(FormatPart::Hole);
            }
            '}' => return None,
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(FormatPart::Text(text));
    }
    Some(parts)
}

/// Splits a template that came from a path (no escapes) at its placeholders.
pub(crate) fn parse_format_value(s: &str) -> Option<Vec<FormatPart>> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                if chars.next() != Some('}') {
                    return None;
                }
                if !text.is_empty() {
                    parts.push(FormatPart::Text(std::mem::take(&mut text)));
                }
                parts.push(FormatPart::Hole);
            }
            '}' => return None,
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(FormatPart::Text(text));
    }
    Some(parts)
}
