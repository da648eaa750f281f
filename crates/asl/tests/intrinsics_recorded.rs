//! Oracle: AWS-recorded executions of single-Pass-state intrinsic templates.
//!
//! Source: the LocalStack Step Functions suite (`../shared/suites` beside the
//! repo), `v2/intrinsic_functions/*.snapshot.json` (JSONPath files only). Each
//! snapshot entry records executions (`exec_hist_resp_<i>`, ...) of a
//! template found through `INDEX.json`. For every execution we take the Pass
//! state's `Parameters`, evaluate them on the recorded input (the
//! `ExecutionStarted` event) and compare with the recorded `PassStateExited`
//! output, or with the recorded `ExecutionFailed` error and cause.
//!
//! Snapshot normalisation and how it is handled:
//! - JSON text fields were replaced by the parsed value; a leftover string
//!   input is parsed here.
//! - ARNs and names were replaced by placeholders (`<ArnPart_0idx>`,
//!   `<ExecArnPart_0idx>`, `arn:<partition>:states:<region>:111111111111:...`):
//!   the Context Object is built from the same placeholders, so results
//!   derived from it compare exactly.
//! - Random results were replaced: `RandomNumberGenerated` (unseeded and
//!   seeded `States.MathRandom`) is compared by shape (an integer), and
//!   `generated-uuid` / `<uuid:N>` (`States.UUID`) by shape (a v4 UUID). AWS's
//!   seeded values are therefore not recorded; Baton uses `java.util.Random`.
//! - Object key order is not compared (the snapshots sort keys).

use std::fs;
use std::path::{Path as FsPath, PathBuf};

use baton_asl::env::FixedEnv;
use baton_asl::payload::{Scope, Template};
use serde_json::{Value, json};

const STRIP: &str = "tests/aws/services/stepfunctions/";

fn suite_root() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/suites/localstack-stepfunctions"
    ))
}

fn read_json(p: &FsPath) -> Value {
    let text = fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The template for a test node id (falling back to the same test function
/// under another class of the same file, as some snapshot ids are older).
fn template_for(index: &Value, node_id: &str) -> Option<PathBuf> {
    let tests = index.get("tests")?.as_object()?;
    let entry = tests.get(node_id).or_else(|| {
        let (file, rest) = node_id.split_once("::")?;
        let func = rest.rsplit("::").next()?;
        tests
            .iter()
            .find(|(k, _)| k.starts_with(file) && k.ends_with(&format!("::{func}")))
            .map(|(_, v)| v)
    })?;
    let templates = entry.get("templates")?.as_array()?;
    let first = templates
        .iter()
        .filter_map(Value::as_str)
        .find(|t| t.ends_with(".json5"))?;
    let rel = first.strip_prefix(STRIP)?.strip_suffix(".json5")?;
    Some(suite_root().join("json").join(format!("{rel}.json")))
}

fn context(input: &Value, state: &str) -> Value {
    json!({
        "Execution": {
            "Id": "arn:<partition>:states:<region>:111111111111:execution:<ArnPart_0idx>:<ExecArnPart_0idx>",
            "Input": input,
            "Name": "<ExecArnPart_0idx>",
            "RoleArn": "snf_role_arn",
            "StartTime": "2024-01-01T00:00:00.000Z",
            "RedriveCount": 0
        },
        "StateMachine": {
            "Id": "arn:<partition>:states:<region>:111111111111:stateMachine:<ArnPart_0idx>",
            "Name": "<ArnPart_0idx>"
        },
        "State": {"EnteredTime": "2024-01-01T00:00:00.000Z", "Name": state, "RetryCount": 0}
    })
}

/// Follows a dotted reference path (`$.a.b`) for the few templates that use
/// ResultPath/OutputPath.
fn dotted<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix('$')?;
    rest.split('.')
        .filter(|s| !s.is_empty())
        .try_fold(doc, |cur, seg| cur.get(seg))
}

fn write_dotted(mut doc: Value, path: &str, value: Value) -> Value {
    let segs: Vec<&str> = path
        .trim_start_matches('$')
        .split('.')
        .filter(|s| !s.is_empty())
        .collect();
    if segs.is_empty() {
        return value;
    }
    let mut cur = &mut doc;
    for (i, seg) in segs.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let Some(obj) = cur.as_object_mut() else {
            break;
        };
        if i + 1 == segs.len() {
            obj.insert((*seg).to_string(), value);
            break;
        }
        cur = obj.entry((*seg).to_string()).or_insert_with(|| json!({}));
    }
    doc
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Compares with placeholder-aware shape rules (see the module docs).
fn matches(expected: &Value, got: &Value) -> bool {
    match (expected, got) {
        (Value::String(e), g) if e == "RandomNumberGenerated" => g.is_i64() || g.is_u64(),
        (Value::String(e), Value::String(g))
            if e == "generated-uuid" || (e.starts_with("<uuid:") && e.ends_with('>')) =>
        {
            is_uuid(g)
        }
        (Value::Object(e), Value::Object(g)) => {
            e.len() == g.len()
                && e.iter()
                    .all(|(k, ev)| g.get(k).is_some_and(|gv| matches(ev, gv)))
        }
        (Value::Array(e), Value::Array(g)) => {
            e.len() == g.len() && e.iter().zip(g).all(|(a, b)| matches(a, b))
        }
        (e, g) => e == g,
    }
}

/// Strips the interpreter's "An error occurred while executing the state
/// 'X' (entered at the event id #N). " prefix.
fn strip_state_prefix(cause: &str) -> &str {
    if cause.starts_with("An error occurred while executing the state")
        && let Some(i) = cause.find("). ")
    {
        return &cause[i + 3..];
    }
    cause
}

#[derive(Default)]
struct Counts {
    executions: usize,
    exact: usize,
    shape: usize,
    failures_compared: usize,
    mismatches: Vec<String>,
}

fn uses_placeholder(v: &Value) -> bool {
    match v {
        Value::String(s) => {
            s == "RandomNumberGenerated" || s == "generated-uuid" || s.starts_with("<uuid:")
        }
        Value::Array(a) => a.iter().any(uses_placeholder),
        Value::Object(o) => o.values().any(uses_placeholder),
        _ => false,
    }
}

fn run_execution(name: &str, template: &Value, events: &[Value], counts: &mut Counts) {
    let start_at = template
        .get("StartAt")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let state = template
        .get("States")
        .and_then(|s| s.get(start_at))
        .cloned()
        .unwrap_or(Value::Null);
    let Some(params) = state.get("Parameters") else {
        counts
            .mismatches
            .push(format!("{name}: no Parameters in the start state"));
        return;
    };
    let started = events
        .iter()
        .find(|e| e.get("type").and_then(Value::as_str) == Some("ExecutionStarted"));
    let mut input = started
        .and_then(|e| e.get("executionStartedEventDetails"))
        .and_then(|d| d.get("input"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Value::String(s) = &input
        && let Ok(v) = serde_json::from_str::<Value>(s)
    {
        input = v;
    }
    let exited = events
        .iter()
        .find(|e| e.get("type").and_then(Value::as_str) == Some("PassStateExited"));
    let failed = events
        .iter()
        .find(|e| e.get("type").and_then(Value::as_str) == Some("ExecutionFailed"));

    let template = match Template::compile(params, &format!("/States/{start_at}/Parameters")) {
        Ok(t) => t,
        Err(d) => {
            counts
                .mismatches
                .push(format!("{name}: compile failed: {d:?}"));
            return;
        }
    };
    let ctx = context(&input, start_at);
    let mut env = FixedEnv::new(1_700_000_000_000, 42);
    let mut scope = Scope {
        input: &input,
        context: &ctx,
        vars: &(),
        env: &mut env,
    };
    let result = template.eval(&mut scope);
    counts.executions += 1;

    match (exited, failed, result) {
        (Some(ev), _, Ok(value)) => {
            let mut expected = ev
                .get("stateExitedEventDetails")
                .and_then(|d| d.get("output"))
                .cloned()
                .unwrap_or(Value::Null);
            if let Value::String(s) = &expected
                && let Ok(v) = serde_json::from_str::<Value>(s)
            {
                expected = v;
            }
            // ResultPath / OutputPath, for the templates that use them.
            let mut out = value;
            if let Some(rp) = state.get("ResultPath").and_then(Value::as_str) {
                out = write_dotted(input.clone(), rp, out);
            }
            if let Some(op) = state.get("OutputPath").and_then(Value::as_str) {
                out = dotted(&out, op).cloned().unwrap_or(Value::Null);
            }
            if matches(&expected, &out) {
                if uses_placeholder(&expected) {
                    counts.shape += 1
                } else {
                    counts.exact += 1
                }
            } else {
                counts.mismatches.push(format!(
                    "{name}: input {input} expected {expected} got {out}"
                ));
            }
        }
        (None, Some(ev), Err(err)) => {
            let d = ev
                .get("executionFailedEventDetails")
                .cloned()
                .unwrap_or(Value::Null);
            let want_error = d.get("error").and_then(Value::as_str).unwrap_or_default();
            let want_cause = d
                .get("cause")
                .and_then(Value::as_str)
                .map(strip_state_prefix)
                .unwrap_or_default();
            counts.failures_compared += 1;
            if err.error == want_error && err.cause.as_deref().unwrap_or_default() == want_cause {
                counts.exact += 1;
            } else {
                counts.mismatches.push(format!(
                    "{name}: expected {want_error}/{want_cause} got {err}"
                ));
            }
        }
        (_, _, Ok(v)) => counts
            .mismatches
            .push(format!("{name}: AWS failed, Baton returned {v}")),
        (_, _, Err(e)) => counts
            .mismatches
            .push(format!("{name}: AWS succeeded, Baton failed: {e}")),
    }
}

#[test]
fn intrinsic_functions_match_aws_recordings() {
    let root = suite_root();
    let dir = root.join("v2/intrinsic_functions");
    if !dir.is_dir() {
        eprintln!("skipping: suite not found at {}", dir.display());
        return;
    }
    let index = read_json(&root.join("INDEX.json"));
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| {
        let n = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        n.ends_with(".snapshot.json") && !n.contains("_jsonata")
    });
    files.sort();

    let mut counts = Counts::default();
    let mut entries = 0usize;
    for file in &files {
        let snapshot = read_json(file);
        let Some(obj) = snapshot.as_object() else {
            continue;
        };
        for (node_id, entry) in obj {
            entries += 1;
            let Some(tpl_path) = template_for(&index, node_id) else {
                counts
                    .mismatches
                    .push(format!("{node_id}: no template in INDEX.json"));
                continue;
            };
            let template = read_json(&tpl_path);
            let Some(recorded) = entry.get("recorded-content").and_then(Value::as_object) else {
                continue;
            };
            for (key, content) in recorded {
                let Some(events) = content.get("events").and_then(Value::as_array) else {
                    continue;
                };
                let short = node_id.rsplit("::").next().unwrap_or(node_id);
                run_execution(&format!("{short}/{key}"), &template, events, &mut counts);
            }
        }
    }
    println!(
        "intrinsics oracle: {} snapshot files, {entries} entries, {} executions: {} exact, {} by shape (random/UUID), {} recorded failures compared, {} mismatches",
        files.len(),
        counts.executions,
        counts.exact,
        counts.shape,
        counts.failures_compared,
        counts.mismatches.len()
    );
    for m in &counts.mismatches {
        println!("  MISMATCH {m}");
    }
    assert!(counts.executions > 0, "no executions found");
    assert!(
        counts.mismatches.is_empty(),
        "{} mismatches",
        counts.mismatches.len()
    );
}
