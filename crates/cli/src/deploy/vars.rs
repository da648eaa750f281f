//! Serverless Framework variables: `${opt:stage, 'dev'}`, `${self:a.b}`,
//! `${env:X, 'default'}`, `${sls:stage}`, `${aws:region}`,
//! `${aws:accountId}`, `${file(./x.yml):a.b}`, with fallbacks (quoted
//! strings, numbers, booleans, nested `${...}` or bare `source:address`),
//! resolved after the YAML is loaded, as the framework does before any
//! plugin sees the configuration.
//!
//! `${...}` whose content is not a variable (`${AWS::Region}`,
//! `${MyQueue.Arn}` in an `Fn::Sub` string) is left for CloudFormation.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

/// The command-line options variables may read.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--stage`.
    pub stage: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// The account (`${aws:accountId}`).
    pub account: String,
}

/// How deep `${self:...}` and `${file(...)}` chains may go.
const MAX_DEPTH: usize = 64;

/// Resolves every variable of `raw`; answers the resolved configuration and
/// the warnings (variable sources Baton cannot read that had a fallback).
pub fn resolve(
    raw: &Value,
    opts: &Options,
    env: &dyn Fn(&str) -> Option<String>,
    dir: &Path,
) -> anyhow::Result<(Value, Vec<String>)> {
    let mut r = Resolver {
        raw,
        opts,
        env,
        dir,
        stack: Vec::new(),
        cache: HashMap::new(),
        warnings: Vec::new(),
    };
    let v = r.value(raw, "")?;
    Ok((v, r.warnings))
}

struct Resolver<'a> {
    raw: &'a Value,
    opts: &'a Options,
    env: &'a dyn Fn(&str) -> Option<String>,
    dir: &'a Path,
    /// `self:` addresses (and files) being resolved, for cycle detection.
    stack: Vec<String>,
    cache: HashMap<String, Value>,
    warnings: Vec<String>,
}

impl Resolver<'_> {
    fn value(&mut self, v: &Value, at: &str) -> anyhow::Result<Value> {
        Ok(match v {
            Value::String(s) => self.string(s, at)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.value(item, &join(at, &i.to_string())))
                    .collect::<anyhow::Result<_>>()?,
            ),
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, item) in m {
                    out.insert(k.clone(), self.value(item, &join(at, k))?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// A string with variables: a string that is exactly one variable takes
    /// the variable's value (of any type); otherwise values are spliced in.
    fn string(&mut self, s: &str, at: &str) -> anyhow::Result<Value> {
        if !s.contains("${") {
            return Ok(Value::String(s.to_string()));
        }
        let mut out = String::new();
        let mut rest = s;
        let mut whole: Option<Value> = None;
        while let Some(start) = rest.find("${") {
            let Some(len) = closing(&rest[start + 2..]) else {
                anyhow::bail!("{}: unterminated variable in {s:?}", place(at));
            };
            let inner = &rest[start + 2..start + 2 + len];
            let before = &rest[..start];
            let after = &rest[start + 3 + len..];
            if !is_variable(inner) {
                out.push_str(before);
                out.push_str(&rest[start..start + 3 + len]);
                rest = after;
                continue;
            }
            let value = self.expression(inner, at)?;
            if before.is_empty() && after.is_empty() && out.is_empty() {
                whole = Some(value);
            } else {
                out.push_str(before);
                match value {
                    Value::String(v) => out.push_str(&v),
                    Value::Number(n) => out.push_str(&n.to_string()),
                    Value::Bool(b) => out.push_str(&b.to_string()),
                    _ => anyhow::bail!(
                        "{}: ${{{inner}}} is an object or list and cannot be part of the string {s:?}",
                        place(at)
                    ),
                }
            }
            rest = after;
        }
        if let Some(v) = whole {
            return Ok(v);
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }

    /// One `${...}`'s content: the first alternative with a value.
    fn expression(&mut self, inner: &str, at: &str) -> anyhow::Result<Value> {
        for alt in split_top(inner, ',') {
            let alt = alt.trim();
            if alt.is_empty() {
                continue;
            }
            let v = if let Some(q) = unquote(alt) {
                Some(Value::String(q))
            } else if alt.starts_with("${") {
                Some(self.string(alt, at)?)
            } else if let Ok(n) = alt.parse::<i64>() {
                Some(Value::from(n))
            } else if let Some(n) = alt
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                Some(Value::Number(n))
            } else if alt == "true" || alt == "false" {
                Some(Value::Bool(alt == "true"))
            } else if alt == "null" {
                None
            } else {
                self.source(alt, at)?
            };
            if let Some(v) = v.filter(|v| !v.is_null()) {
                return Ok(v);
            }
        }
        anyhow::bail!(
            "{}: cannot resolve the variable ${{{inner}}}: it has no value and no default",
            place(at)
        )
    }

    /// `source:address` or `source(param):address`.
    fn source(&mut self, alt: &str, at: &str) -> anyhow::Result<Option<Value>> {
        // Variables inside the address (`${self:custom.${opt:stage}}`).
        let alt = if alt.contains("${") {
            match self.string(alt, at)? {
                Value::String(s) => s,
                _ => anyhow::bail!(
                    "{}: the variable address {alt:?} is not a string",
                    place(at)
                ),
            }
        } else {
            alt.to_string()
        };
        let name_end = alt
            .find(|c: char| c == ':' || c == '(')
            .unwrap_or(alt.len());
        let name = &alt[..name_end];
        let mut rest = &alt[name_end..];
        let mut param = None;
        if let Some(r) = rest.strip_prefix('(') {
            let Some(close) = r.rfind(')') else {
                anyhow::bail!("{}: unbalanced parentheses in ${{{alt}}}", place(at));
            };
            param = Some(r[..close].trim().to_string());
            rest = &r[close + 1..];
        }
        let address = rest.strip_prefix(':').unwrap_or(rest).trim();
        match name {
            "opt" => Ok(match address {
                "stage" => self.opts.stage.clone().map(Value::String),
                "region" => self.opts.region.clone().map(Value::String),
                _ => None,
            }),
            "env" => Ok((self.env)(address).map(Value::String)),
            "self" => self.self_ref(address).map(Some),
            "sls" => match address {
                "stage" => self.stage().map(|s| Some(Value::String(s))),
                "instanceId" => Ok(Some(Value::String(format!("baton-{}", std::process::id())))),
                _ => {
                    self.warnings.push(format!(
                        "{}: ${{sls:{address}}} is not known to Baton; used the fallback",
                        place(at)
                    ));
                    Ok(None)
                }
            },
            "aws" => match address {
                "region" => self.region().map(|s| Some(Value::String(s))),
                "accountId" => Ok(Some(Value::String(self.opts.account.clone()))),
                _ => {
                    self.warnings.push(format!(
                        "{}: ${{aws:{address}}} is not known to Baton; used the fallback",
                        place(at)
                    ));
                    Ok(None)
                }
            },
            "file" => {
                let Some(path) = param else {
                    anyhow::bail!("{}: ${{file(...)}} needs a path", place(at));
                };
                self.file(unquote(&path).unwrap_or(path), address, at)
                    .map(Some)
            }
            "strToBool" => {
                let p = param.unwrap_or_default();
                let p = unquote(&p).unwrap_or(p);
                match p.trim() {
                    "true" | "1" => Ok(Some(Value::Bool(true))),
                    "false" | "0" => Ok(Some(Value::Bool(false))),
                    other => anyhow::bail!(
                        "{}: strToBool({other}) is neither true nor false",
                        place(at)
                    ),
                }
            }
            "cf" | "ssm" | "s3" | "param" | "sls-param" | "terraform" | "vault" => {
                self.warnings.push(format!(
                    "{}: the variable source `{name}` (${{{alt}}}) is not supported by Baton",
                    place(at)
                ));
                Ok(None)
            }
            other => anyhow::bail!(
                "{}: unknown variable source `{other}` in ${{{alt}}}",
                place(at)
            ),
        }
    }

    /// `${self:a.b.c}`: that part of the configuration, itself resolved.
    fn self_ref(&mut self, address: &str) -> anyhow::Result<Value> {
        let key = format!("self:{address}");
        if let Some(v) = self.cache.get(&key) {
            return Ok(v.clone());
        }
        if self.stack.contains(&key) {
            anyhow::bail!(
                "circular variable reference: {} -> {key}",
                self.stack.join(" -> ")
            );
        }
        anyhow::ensure!(
            self.stack.len() < MAX_DEPTH,
            "variables nest more than {MAX_DEPTH} deep at ${{{key}}}"
        );
        let Some(node) = lookup(self.raw, address) else {
            return Ok(Value::Null);
        };
        self.stack.push(key.clone());
        let r = self.value(node, address);
        self.stack.pop();
        let v = r?;
        self.cache.insert(key, v.clone());
        Ok(v)
    }

    /// `${file(path):address}`, relative to the app folder.
    fn file(&mut self, path: String, address: &str, at: &str) -> anyhow::Result<Value> {
        let full = self.dir.join(&path);
        let key = format!("file:{}", full.display());
        if self.stack.contains(&key) {
            anyhow::bail!("circular file reference: {}", full.display());
        }
        let text = std::fs::read_to_string(&full).map_err(|e| {
            anyhow::anyhow!(
                "{}: cannot read {} (${{file({path})}}): {e}",
                place(at),
                full.display()
            )
        })?;
        let ext = full
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let parsed = match ext.as_str() {
            "yml" | "yaml" => super::yaml::parse(&text, &path)?,
            "json" => serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{path} is not valid JSON: {e}"))?,
            _ => Value::String(text),
        };
        self.stack.push(key);
        let r = self.value(&parsed, &path);
        self.stack.pop();
        let resolved = r?;
        if address.is_empty() {
            return Ok(resolved);
        }
        Ok(lookup(&resolved, address).cloned().unwrap_or(Value::Null))
    }

    /// The stage: `--stage`, else `provider.stage`, else `dev`.
    fn stage(&mut self) -> anyhow::Result<String> {
        if let Some(s) = &self.opts.stage {
            return Ok(s.clone());
        }
        match self.self_ref("provider.stage")? {
            Value::String(s) => Ok(s),
            _ => Ok("dev".into()),
        }
    }

    /// The region: `--region`, else `provider.region`, else `us-east-1`.
    fn region(&mut self) -> anyhow::Result<String> {
        if let Some(s) = &self.opts.region {
            return Ok(s.clone());
        }
        match self.self_ref("provider.region")? {
            Value::String(s) => Ok(s),
            _ => Ok("us-east-1".into()),
        }
    }
}

/// The value at a dotted path (`a.b.0.c`).
pub fn lookup<'v>(v: &'v Value, address: &str) -> Option<&'v Value> {
    if address.is_empty() {
        return Some(v);
    }
    let mut cur = v;
    for part in address.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn join(at: &str, k: &str) -> String {
    if at.is_empty() {
        k.to_string()
    } else {
        format!("{at}.{k}")
    }
}

fn place(at: &str) -> String {
    if at.is_empty() {
        "serverless.yml".into()
    } else {
        format!("at {at}")
    }
}

/// The length of a `${...}` body starting right after `${`, up to its
/// matching `}` (nested `${...}` and quoted text skipped).
fn closing(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'\'' | b'"' => quote = Some(c),
                b'$' if b.get(i + 1) == Some(&b'{') => {
                    depth += 1;
                    i += 1;
                }
                b'{' => depth += 1,
                b'}' => {
                    if depth == 0 {
                        return Some(i);
                    }
                    depth -= 1;
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Splits at `sep` outside quotes, parentheses and nested `${...}`.
fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '{' | '(' => depth += 1,
                '}' | ')' => depth -= 1,
                c if c == sep && depth == 0 => {
                    out.push(&s[start..i]);
                    start = i + c.len_utf8();
                }
                _ => {}
            },
        }
    }
    out.push(&s[start..]);
    out
}

/// `'text'` or `"text"` without its quotes.
fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    for q in ['\'', '"'] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return Some(s[1..s.len() - 1].to_string());
        }
    }
    None
}

/// Whether `${inner}` is a Serverless variable (`source:...`,
/// `source(...)`), not CloudFormation text (`AWS::Region`, `Queue.Arn`).
fn is_variable(inner: &str) -> bool {
    let first = split_top(inner, ',')[0].trim();
    let name_len = first
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
        .count();
    if name_len == 0 || !first.as_bytes()[0].is_ascii_alphabetic() {
        return first.starts_with("${");
    }
    match first.as_bytes().get(name_len) {
        Some(b'(') => true,
        Some(b':') => first.as_bytes().get(name_len + 1) != Some(&b':'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(raw: Value, stage: Option<&str>, env: &[(&str, &str)]) -> anyhow::Result<Value> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup_env = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let opts = Options {
            stage: stage.map(str::to_string),
            region: None,
            account: "000000000000".into(),
        };
        resolve(&raw, &opts, &lookup_env, Path::new(".")).map(|(v, _)| v)
    }

    #[test]
    fn options_with_quoted_defaults() {
        let raw = json!({"provider": {"stage": "${opt:stage, 'dev'}", "region": "${opt:region, \"ap-southeast-2\"}"}});
        let v = run(raw.clone(), None, &[]).expect("resolves");
        assert_eq!(
            v["provider"],
            json!({"stage": "dev", "region": "ap-southeast-2"})
        );
        let v = run(raw, Some("prod"), &[]).expect("resolves");
        assert_eq!(v["provider"]["stage"], "prod");
    }

    #[test]
    fn self_env_nested_and_typed() {
        let raw = json!({
            "service": "svc",
            "custom": {"prod": {"size": 512}, "dev": {"size": 128}, "n": 3},
            "provider": {"stage": "${opt:stage, self:custom.defaultStage, 'dev'}"},
            "a": "${self:service}-${sls:stage}-q",
            "b": "${self:custom.${sls:stage}.size}",
            "c": "${env:MISSING, ${env:HOME_X, 'fallback'}}",
            "d": "${env:SET}",
            "e": "${self:custom.n}",
            "f": "arn:${AWS::Partition}:sqs:${AWS::Region}:${MyQueue.Arn}",
            "g": "${aws:accountId}/${aws:region}",
        });
        let v = run(raw, None, &[("SET", "yes")]).expect("resolves");
        assert_eq!(v["a"], "svc-dev-q");
        assert_eq!(v["b"], 128);
        assert_eq!(v["c"], "fallback");
        assert_eq!(v["d"], "yes");
        assert_eq!(v["e"], 3);
        assert_eq!(
            v["f"],
            "arn:${AWS::Partition}:sqs:${AWS::Region}:${MyQueue.Arn}"
        );
        assert_eq!(v["g"], "000000000000/us-east-1");
    }

    #[test]
    fn errors_are_clear() {
        let e = run(json!({"a": "${env:NOPE}"}), None, &[]).expect_err("no value");
        assert!(
            e.to_string()
                .contains("at a: cannot resolve the variable ${env:NOPE}"),
            "{e}"
        );
        let e = run(json!({"a": "${self:b}", "b": "${self:a}"}), None, &[]).expect_err("cycle");
        assert!(e.to_string().contains("circular"), "{e}");
        let e = run(json!({"a": "${bogus:x}"}), None, &[]).expect_err("unknown");
        assert!(
            e.to_string().contains("unknown variable source `bogus`"),
            "{e}"
        );
        let e = run(json!({"a": "${opt:stage"}), None, &[]).expect_err("unterminated");
        assert!(e.to_string().contains("unterminated"), "{e}");
    }

    #[test]
    fn unsupported_sources_fall_back_with_a_warning() {
        let opts = Options::default();
        let (v, warnings) = resolve(
            &json!({"a": "${ssm:/x, 'dflt'}"}),
            &opts,
            &|_| None,
            Path::new("."),
        )
        .expect("resolves");
        assert_eq!(v["a"], "dflt");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("`ssm`"), "{}", warnings[0]);
    }
}
