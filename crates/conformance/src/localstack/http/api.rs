//! API-shape entries (`v2/test_sfn_api*.py` and tests whose call sequence is
//! not "create, execute, record"), replayed from `conformance/api-scripts.json`:
//! per LocalStack test (citing it), the calls the test makes in order, what
//! it matches under which key, the values it keeps and the transformers it
//! registers. The normaliser then treats our responses as the snapshot
//! library treats boto3's.
//!
//! Script format (see the file's `about`): `steps` is a list; each step is one
//! of
//! - `{"call": Action, "args": {...}, "match": key, "shape": "response" |
//!   "exception" | "typename", "save": {var: "/json/pointer"}}`: calls the
//!   action; `match` records the reply (boto3's response, or for an error
//!   `ClientError.response`; `exception` records `str(ClientError)`,
//!   `typename` records `{exception_typename, exception_value}`);
//! - `{"transform": [from, to]}`: `RegexTransformer(from, to)` (literal);
//! - `{"set": {var: value}}`: defines variables;
//! - `{"await_end": "${arn}"}`: polls DescribeExecution until not RUNNING;
//! - `{"await_running": "${arn}"}`: polls GetExecutionHistory until the
//!   history has `events` events (default 2);
//! - `{"skip": reason}`: the entry is skipped (for actions Baton lacks).
//!
//! Strings interpolate `${var}` (`${role}`, `${n}` (unique number),
//! `${param}` (the node id's `[param]`), saved and set variables, and
//! per-param variables from `params`); a string that is exactly `${var}` takes
//! the variable's JSON value. `{"$now_plus_days": N}` is the real clock's now
//! plus N days as `YYYY-MM-DDTHH:MM:SS.000Z`. `{"$template": "base/pass_result", "set":
//! {pointer: value}, "format": "pretty"}` is a template's JSON text (Python's
//! `json.dumps`, or indented).

use std::collections::HashMap;
use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::super::normalise::{self, Extra, Setup};
use super::super::{ROLE_ARN, Verdict, pyjson, table, value_diff};
use super::{Http, REGION, boto_exception_text, boto_response, call, dates_to_placeholder};

/// The scripts embedded in the binary.
pub const EMBEDDED: &str = include_str!("../../../../../conformance/api-scripts.json");

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Scripts {
    #[serde(default)]
    pub tests: IndexMap<String, Script>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Script {
    /// The LocalStack test the sequence comes from.
    pub cite: String,
    /// What the test maps the role ARN to.
    #[serde(default)]
    pub role: Option<String>,
    /// Variables per `[param]` id.
    #[serde(default)]
    pub params: IndexMap<String, IndexMap<String, Value>>,
    pub steps: Vec<Value>,
}

impl Scripts {
    pub fn parse(text: &str) -> anyhow::Result<Scripts> {
        Ok(serde_json::from_str(text)?)
    }

    /// The script of a node id: the exact id first, then its test function.
    pub fn lookup(&self, node_id: &str) -> Option<&Script> {
        self.tests
            .get(node_id)
            .or_else(|| self.tests.get(table::strip_param(node_id)))
    }
}

/// Replays one entry's script and compares every matched key.
pub fn run(
    h: &Http,
    root: &Path,
    scripts: &Scripts,
    node_id: &str,
    recorded: &Map<String, Value>,
    skip_paths: &[String],
) -> Verdict {
    let Some(script) = scripts.lookup(node_id) else {
        return Verdict::Skip("API-shape entry".into());
    };
    let mut vars: HashMap<String, Value> = HashMap::new();
    vars.insert("role".into(), Value::String(ROLE_ARN.into()));
    vars.insert("n".into(), Value::String(format!("{:05}", h.next())));
    vars.insert("region".into(), Value::String(REGION.into()));
    if let Some(p) = table::param_of(node_id) {
        vars.insert("param".into(), Value::String(p.to_string()));
        vars.insert("param_unescaped".into(), Value::String(unescape_param(p)));
        if let Some(pv) = script.params.get(p) {
            for (k, v) in pv {
                vars.insert(k.clone(), v.clone());
            }
        }
    }
    let mut client = h.client();
    let mut ours: HashMap<String, Value> = HashMap::new();
    let mut extras: Vec<Extra> = Vec::new();
    let mut not_compared: Vec<String> = Vec::new();
    for step in &script.steps {
        if let Some(key) = step.get("client_side").and_then(Value::as_str) {
            not_compared.push(key.to_string());
            continue;
        }
        if let Some(sp) = step.get("set_path").and_then(Value::as_array) {
            match (sp.first().and_then(Value::as_str), sp.get(1)) {
                (Some(path), Some(to)) => extras.push(Extra::JsonPathSet {
                    path: path.to_string(),
                    to: to.clone(),
                }),
                _ => return Verdict::Fail("api script: set_path needs [path, value]".into()),
            }
            continue;
        }
        if let Some(reason) = step.get("skip").and_then(Value::as_str) {
            return Verdict::Skip(reason.to_string());
        }
        if let Some(set) = step.get("set").and_then(Value::as_object) {
            for (k, v) in set {
                match interpolate(v, &vars, root) {
                    Ok(v) => {
                        vars.insert(k.clone(), v);
                    }
                    Err(e) => return Verdict::Fail(format!("api script: {e}")),
                }
            }
            continue;
        }
        if let Some(t) = step.get("transform") {
            let t = match interpolate(t, &vars, root) {
                Ok(t) => t,
                Err(e) => return Verdict::Fail(format!("api script: {e}")),
            };
            match (
                t.get(0).and_then(Value::as_str),
                t.get(1).and_then(Value::as_str),
            ) {
                (Some(from), Some(to)) => extras.push(Extra::Literal {
                    from: from.to_string(),
                    to: to.to_string(),
                }),
                _ => return Verdict::Fail("api script: transform needs [from, to]".into()),
            }
            continue;
        }
        if let Some(arn) = step.get("await_end") {
            let arn = match interpolate(arn, &vars, root) {
                Ok(Value::String(s)) => s,
                _ => return Verdict::Fail("api script: await_end needs an ARN".into()),
            };
            if let Err(e) = super::await_end(&mut client, &arn) {
                return Verdict::Fail(format!("runner: {e}"));
            }
            continue;
        }
        if let Some(arn) = step.get("await_running") {
            let arn = match interpolate(arn, &vars, root) {
                Ok(Value::String(s)) => s,
                _ => return Verdict::Fail("api script: await_running needs an ARN".into()),
            };
            let want = step.get("events").and_then(Value::as_u64).unwrap_or(2) as usize;
            if let Err(e) = await_events(&mut client, &arn, want) {
                return Verdict::Fail(format!("runner: {e}"));
            }
            continue;
        }
        let Some(action) = step.get("call").and_then(Value::as_str) else {
            return Verdict::Fail(format!("api script: unknown step {step}"));
        };
        let args = match interpolate(step.get("args").unwrap_or(&json!({})), &vars, root) {
            Ok(a) => a,
            Err(e) => return Verdict::Fail(format!("api script: {e}")),
        };
        let reply = match call(&mut client, action, args) {
            Ok(r) => r,
            Err(e) => return Verdict::Fail(format!("runner: {e}")),
        };
        if let Some(save) = step.get("save").and_then(Value::as_object) {
            for (var, pointer) in save {
                let v = pointer
                    .as_str()
                    .and_then(|p| reply.body.pointer(p))
                    .cloned();
                match v {
                    Some(v) => {
                        vars.insert(var.clone(), v);
                    }
                    None => {
                        return Verdict::Fail(format!(
                            "{action} answered {} {} (no {pointer} to save)",
                            reply.status, reply.body
                        ));
                    }
                }
            }
        }
        if let Some(key) = step.get("match").and_then(Value::as_str) {
            let shape = step
                .get("shape")
                .and_then(Value::as_str)
                .unwrap_or("response");
            let v = match shape {
                "exception" if !reply.ok() => Value::String(boto_exception_text(action, &reply)),
                "typename" if !reply.ok() => json!({
                    "exception_typename": reply.error_code().unwrap_or(""),
                    "exception_value": boto_exception_text(action, &reply),
                }),
                _ => {
                    let mut v = boto_response(&reply);
                    dates_to_placeholder(&mut v);
                    v
                }
            };
            ours.insert(key.to_string(), v);
        }
    }
    let mut recorded = recorded.clone();
    for k in &not_compared {
        recorded.shift_remove(k);
    }
    compare(&recorded, ours, script, extras, skip_paths)
}

/// A pytest parameter id with its `\xNN` and `\\` escapes decoded.
fn unescape_param(p: &str) -> String {
    let mut out = String::new();
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('\\') => {
                chars.next();
                out.push('\\');
            }
            Some('x') => {
                chars.next();
                let hex: String = chars.by_ref().take(2).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => {
                        out.push_str("\\x");
                        out.push_str(&hex);
                    }
                }
            }
            _ => out.push('\\'),
        }
    }
    out
}

fn compare(
    recorded: &Map<String, Value>,
    mut ours: HashMap<String, Value>,
    script: &Script,
    extras: Vec<Extra>,
    skip_paths: &[String],
) -> Verdict {
    let mut observed = Map::new();
    for k in recorded.keys() {
        if let Some(v) = ours.remove(k) {
            observed.insert(k.clone(), v);
        }
    }
    let setup = Setup {
        role_arn: ROLE_ARN.into(),
        role_replacement: script.role.clone().unwrap_or_else(|| "snf_role_arn".into()),
        state_machine_name: None,
        execution_names: vec![],
        account: super::server::ACCOUNT.into(),
        region: REGION.into(),
        partition: "aws".into(),
        parallel: false,
        map_runs: false,
        extras,
        late_extras: vec![],
        skip_paths: skip_paths.to_vec(),
    };
    let normalised = match normalise::normalise(&observed, &setup) {
        Ok(n) => n,
        Err(e) => return Verdict::Fail(e),
    };
    let mut expected = recorded.clone();
    normalise::delete_skip_paths(&mut expected, skip_paths);
    for (k, want) in &expected {
        match normalised.get(k) {
            None => return Verdict::Fail(format!("{k}: recorded, not produced by the script")),
            Some(got) => {
                if let Some(d) = value_diff(want, got) {
                    return Verdict::Fail(format!("{k}: {d}"));
                }
            }
        }
    }
    if let Some(k) = ours.keys().next() {
        return Verdict::Fail(format!("{k}: matched by the script, not recorded"));
    }
    Verdict::Pass
}

/// Polls GetExecutionHistory until it has at least `want` events.
fn await_events(client: &mut super::Client, arn: &str, want: usize) -> Result<(), String> {
    let started = std::time::Instant::now();
    loop {
        let r = super::history(client, arn)?;
        let n = r
            .body
            .get("events")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if n >= want {
            return Ok(());
        }
        if started.elapsed() > std::time::Duration::from_secs(10) {
            return Err(format!(
                "execution has {n} events after 10 s, awaited {want}"
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Interpolates `${var}` in strings and expands `$template` objects.
fn interpolate(v: &Value, vars: &HashMap<String, Value>, root: &Path) -> Result<Value, String> {
    match v {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
                && !name.contains("${")
                && !name.contains('}')
            {
                return vars
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("no variable {name}"));
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(p) = rest.find("${") {
                out.push_str(&rest[..p]);
                let after = &rest[p + 2..];
                let end = after
                    .find('}')
                    .ok_or_else(|| format!("unclosed ${{ in {s}"))?;
                let name = &after[..end];
                match vars.get(name) {
                    Some(Value::String(x)) => out.push_str(x),
                    Some(other) => out.push_str(&other.to_string()),
                    None => return Err(format!("no variable {name}")),
                }
                rest = &after[end + 1..];
            }
            out.push_str(rest);
            Ok(Value::String(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|i| interpolate(i, vars, root))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(m) => {
            if let Some(path) = m.get("$template") {
                let path = match interpolate(path, vars, root)? {
                    Value::String(p) => p,
                    other => return Err(format!("template path {other} is not a string")),
                };
                return template(&path, m, vars, root);
            }
            if let Some(days) = m.get("$now_plus_days") {
                let days = match interpolate(days, vars, root)? {
                    Value::String(d) => d.parse::<i64>().map_err(|e| e.to_string())?,
                    Value::Number(n) => n.as_i64().unwrap_or(0),
                    other => return Err(format!("$now_plus_days {other} is not a number")),
                };
                return Ok(Value::String(now_plus_days(days)));
            }
            let mut out = Map::new();
            for (k, val) in m {
                out.insert(k.clone(), interpolate(val, vars, root)?);
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// `(datetime.now() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.000Z")`.
fn now_plus_days(days: i64) -> String {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let secs = now_ms / 1000 + days * 86_400;
    let iso = normalise::python_isoformat(secs * 1000);
    format!("{}.000Z", iso.trim_end_matches("+00:00"))
}

/// `{"$template": "<folder>/<name>", "set": {...}, "format": ...}` → the
/// template's JSON text.
fn template(
    path: &str,
    spec: &Map<String, Value>,
    vars: &HashMap<String, Value>,
    root: &Path,
) -> Result<Value, String> {
    let (folder, name) = path
        .split_once('/')
        .ok_or_else(|| format!("template path {path} is not <folder>/<name>"))?;
    let file = root
        .join("json/templates")
        .join(folder)
        .join("statemachines")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut def: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    if let Some(Value::Object(sets)) = spec.get("set") {
        for (pointer, value) in sets {
            let value = interpolate(value, vars, root)?;
            let (parent, key) = pointer
                .rsplit_once('/')
                .ok_or_else(|| format!("bad pointer {pointer}"))?;
            match def.pointer_mut(parent) {
                Some(Value::Object(o)) => {
                    if value.is_null() && spec.get("delete_nulls").is_some() {
                        o.shift_remove(key);
                    } else {
                        o.insert(key.to_string(), value);
                    }
                }
                _ => return Err(format!("no object at {parent} in {path}")),
            }
        }
    }
    Ok(Value::String(
        match spec.get("format").and_then(Value::as_str) {
            Some("pretty") => serde_json::to_string_pretty(&def).map_err(|e| e.to_string())?,
            _ => pyjson::dumps(&def),
        },
    ))
}
