//! The resources a LocalStack test created before it started its execution,
//! created again through Baton's HTTP API: SQS queues (the SQS JSON
//! protocol), SNS topics and their SQS subscriptions (the SNS query
//! protocol), Lambda functions (Baton's `PUT /_baton/v1/functions/{name}`)
//! and the state machine a `states:startExecution` test starts (its other
//! template, named as the recording's `<ArnPart_0idx>`), named so that the
//! recorded placeholders map back to them.
//!
//! The placeholders come from the recording itself: a recorded execution
//! input holds `<sqs_queue_url>` (or `sqs_queue_url`) where the test passed
//! its queue's URL, an SNS topic ARN whose name the resource-name
//! transformer numbered (`arn:<partition>:sns:<region>:111111111111:<resource:1>`),
//! and function names such as `<lambda_function_name>`; a template's
//! `Resource` placeholder (`__tbd__`, `_tbd_`, ...) is the ARN of the
//! function the recorded `LambdaFunctionScheduled` events name. Each created
//! name is registered as the `RegexTransformer(name, placeholder)` the test
//! registered, so normalising our history puts the placeholder back.
//!
//! The functions are test fixtures ([`fixture`]): LocalStack's handler
//! sources are not in the suite, so each function answers every invocation
//! with the outcome the recording holds for it.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::super::normalise::Extra;
use super::super::tasks::{self, Recorded};
use super::client::{Client, RawReply};
use super::server::ACCOUNT;
use super::{Http, REGION};
use baton_interp::driver::TaskAnswer;

/// Function-name placeholders the LocalStack tests register
/// (`RegexTransformer(function_name, "<lambda_function_name>")` and the
/// like), longest first so that one is never found inside another.
const FUNCTION_PLACEHOLDERS: [&str; 6] = [
    "<lambda_function_1_name>",
    "<lambda_function_2_name>",
    "<lambda_function_name>",
    "lambda_function_name",
    "function_name_branch1",
    "function_name_branch2",
];

/// Queue-URL placeholders (`RegexTransformer(queue_url, ...)`).
const QUEUE_PLACEHOLDERS: [&str; 2] = ["<sqs_queue_url>", "sqs_queue_url"];

/// Template placeholders the tests replace with a function's ARN.
const ARN_PLACEHOLDERS: [&str; 5] = [
    "__tbd__",
    "_tbd_",
    "_TBD_",
    "__tbc__",
    "%LAMBDA_FUNCTION_ARN_LITERAL_PLACEHOLDER%",
];

/// What was created for one entry.
#[derive(Debug, Default)]
pub struct Resources {
    /// The transformers the test registered for its resources, to register
    /// before the table's.
    pub extras: Vec<Extra>,
    /// The queue the test's callback consumer read: the one whose URL was
    /// passed in, or the one subscribed to the topic.
    pub callback_queue: Option<String>,
    /// Whether the consumer reads SNS notifications (the token is inside
    /// the envelope's `Message`).
    pub via_topic: bool,
}

/// The functions of one entry, named before anything is created (their
/// ARNs go into the template).
#[derive(Debug, Default)]
pub struct Plan {
    n: usize,
    /// (placeholder, function name, recorded invocations).
    functions: Vec<(String, String, Vec<Recorded>)>,
    /// The state machine the test created for its execution to start
    /// (`states:startExecution*`, `aws-sdk:sfn:startExecution`): its name
    /// and definition.
    child: Option<(String, String)>,
}

/// How a recorded input names the state machine the test created first
/// (`sfn_sm_create_arn`'s `<ArnPart_0idx>`, the runner's stand-in kept
/// as is by the input's denormalisation).
const CHILD_ARN_SUFFIX: &str = ":stateMachine:<ArnPart_0idx>";

impl Plan {
    /// Whether the entry's execution starts a state machine the runner
    /// creates.
    pub fn has_child(&self) -> bool {
        self.child.is_some()
    }
}

/// Names the entry's functions (those its recorded inputs name and those
/// its recorded invocations name) and puts the ARN into the template's
/// `Resource` placeholders; no request is made yet.
///
/// `child`: the definition of the other state machine the test created
/// (the entry's other template), when the recorded input names one.
pub fn plan(
    h: &Http,
    template: &str,
    histories: &[&[Value]],
    child: Option<String>,
) -> Result<(String, Plan), String> {
    let n = h.next();
    let inputs: Vec<String> = histories
        .iter()
        .filter_map(|events| {
            events
                .iter()
                .find(|e| e.get("type").and_then(Value::as_str) == Some("ExecutionStarted"))
                .and_then(|e| e.pointer("/executionStartedEventDetails/input"))
                .map(Value::to_string)
        })
        .collect();
    let recorded = recorded_invocations(histories)?;
    let placeholders: Vec<&str> = FUNCTION_PLACEHOLDERS
        .iter()
        .copied()
        .filter(|ph| {
            inputs.iter().any(|i| contains_token(i, ph))
                || recorded.iter().any(|(f, _)| f.as_deref() == Some(*ph))
        })
        .collect();
    let mut template = template.to_string();
    let mut functions = Vec::new();
    for (k, ph) in placeholders.iter().enumerate() {
        let name = format!("baton-fn-{n:05}-{k}");
        let outcomes: Vec<Recorded> = recorded
            .iter()
            .filter(|(f, _)| f.as_deref() == Some(*ph))
            .map(|(_, r)| r.clone())
            .collect();
        let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}");
        template = replace_resource_placeholders(&template, &arn, placeholders.len() == 1);
        functions.push((ph.to_string(), name, outcomes));
    }
    let child = child
        .filter(|_| inputs.iter().any(|i| i.contains(CHILD_ARN_SUFFIX)))
        .map(|def| (format!("BatonConformanceTarget{n:05}"), def));
    Ok((
        template,
        Plan {
            n,
            functions,
            child,
        },
    ))
}

impl Plan {
    /// Creates the entry's queues, topics (with a subscribed queue for the
    /// callback consumer) and fixture functions; returns the execution
    /// inputs with the placeholders replaced by them.
    pub fn create(&self, h: &Http, inputs: &[String]) -> Result<(Vec<String>, Resources), String> {
        let n = self.n;
        let mut res = Resources::default();
        let mut client = h.client();
        let mut inputs: Vec<String> = inputs.to_vec();

        // Queues whose URL the test passed in.
        for ph in QUEUE_PLACEHOLDERS {
            let quoted = format!("\"{ph}\"");
            if !inputs.iter().any(|i| i.contains(&quoted)) {
                continue;
            }
            let name = format!("baton-queue-{n:05}");
            let url = create_queue(&mut client, &name)?;
            for i in &mut inputs {
                *i = i.replace(&quoted, &format!("\"{url}\""));
            }
            res.extras.push(Extra::Literal {
                from: url.clone(),
                to: ph.to_string(),
            });
            res.extras.push(Extra::Literal {
                from: name,
                to: "<sqs_queue_name>".into(),
            });
            res.callback_queue.get_or_insert(url);
        }

        // Topics (their recorded names were numbered by the resource-name
        // transformer; the runner's stand-in is `baton-resource-N`).
        let topic_prefix = format!("arn:aws:sns:{REGION}:{ACCOUNT}:");
        let mut topics: Vec<String> = Vec::new();
        for i in &inputs {
            collect_prefixed(i, &topic_prefix, &mut topics);
        }
        for (k, stand_in) in topics.iter().enumerate() {
            let name = format!("baton-topic-{n:05}-{k}");
            let arn = create_topic(&mut client, &name)?;
            for i in &mut inputs {
                *i = i.replace(&format!("\"{stand_in}\""), &format!("\"{arn}\""));
            }
            if res.callback_queue.is_none() {
                // The test's consumer: a queue subscribed to the topic.
                let qname = format!("baton-subscriber-{n:05}-{k}");
                let url = create_queue(&mut client, &qname)?;
                let queue_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{qname}");
                subscribe(&mut client, &arn, &queue_arn)?;
                res.callback_queue = Some(url);
                res.via_topic = true;
            }
        }

        // The state machine the execution starts.
        if let Some((name, definition)) = &self.child {
            let r = super::call(
                &mut client,
                "CreateStateMachine",
                json!({"name": name, "definition": definition, "roleArn": super::super::ROLE_ARN}),
            )?;
            if !r.ok() {
                return Err(format!(
                    "CreateStateMachine (the started machine) answered {} {}",
                    r.status, r.body
                ));
            }
            for i in &mut inputs {
                *i = i.replace(CHILD_ARN_SUFFIX, &format!(":stateMachine:{name}"));
            }
            res.extras.push(Extra::Literal {
                from: name.clone(),
                to: "<ArnPart_0idx>".into(),
            });
        }

        // Fixture functions.
        for (ph, name, outcomes) in &self.functions {
            let dir = h.fixtures_dir().join(name);
            let rows: Vec<&Recorded> = outcomes.iter().collect();
            fixture::write(&dir, &rows)?;
            create_function(&mut client, name, &dir)?;
            for i in &mut inputs {
                *i = replace_token(i, ph, name);
            }
            res.extras.push(Extra::Literal {
                from: name.clone(),
                to: ph.clone(),
            });
        }
        Ok((inputs, res))
    }
}

/// Every recorded Lambda invocation (bare function ARN, `lambda:invoke`,
/// `aws-sdk:lambda:invoke`) with the function placeholder it named.
fn recorded_invocations(histories: &[&[Value]]) -> Result<Vec<(Option<String>, Recorded)>, String> {
    let mut out = Vec::new();
    for events in histories {
        let answers =
            tasks::derive(events).map_err(|s| format!("recorded {s} outcome not replayable"))?;
        for r in answers {
            if r.service != "lambda" {
                continue;
            }
            let function = match r.resource.as_deref() {
                Some(arn) if arn.contains(":function:") => arn
                    .rsplit_once(":function:")
                    .map(|(_, f)| f.split(':').next().unwrap_or(f).to_string()),
                _ => r
                    .parameters
                    .as_ref()
                    .and_then(|p| p.get("FunctionName"))
                    .and_then(Value::as_str)
                    .map(|f| {
                        f.rsplit_once(":function:")
                            .map_or(f, |(_, n)| n)
                            .split(':')
                            .next()
                            .unwrap_or(f)
                            .to_string()
                    }),
            };
            out.push((function, r));
        }
    }
    Ok(out)
}

/// Replaces a template's `Resource` placeholders by `arn` (only when the
/// entry has one function, so the placeholder cannot be ambiguous).
fn replace_resource_placeholders(template: &str, arn: &str, only_function: bool) -> String {
    if !only_function {
        return template.to_string();
    }
    let mut text = template.to_string();
    for ph in ARN_PLACEHOLDERS {
        text = text.replace(
            &format!("\"Resource\": \"{ph}\""),
            &format!("\"Resource\": \"{arn}\""),
        );
        text = text.replace(
            &format!("\"Resource\":\"{ph}\""),
            &format!("\"Resource\":\"{arn}\""),
        );
    }
    text
}

/// Whether `text` holds `token` not as part of a longer placeholder
/// (`lambda_function_name` inside `<lambda_function_name>` does not count).
fn contains_token(text: &str, token: &str) -> bool {
    find_tokens(text, token).next().is_some()
}

fn find_tokens<'a>(text: &'a str, token: &'a str) -> impl Iterator<Item = usize> + 'a {
    text.match_indices(token).filter_map(move |(p, _)| {
        let before = text[..p].chars().next_back();
        let after = text[p + token.len()..].chars().next();
        let bracketed = !token.starts_with('<') && (before == Some('<') || after == Some('>'));
        let inner = !token.starts_with('<')
            && (before.is_some_and(|c| c.is_ascii_alphanumeric())
                || after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_'));
        (!bracketed && !inner).then_some(p)
    })
}

fn replace_token(text: &str, token: &str, with: &str) -> String {
    let spots: Vec<usize> = find_tokens(text, token).collect();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for p in spots {
        out.push_str(&text[last..p]);
        out.push_str(with);
        last = p + token.len();
    }
    out.push_str(&text[last..]);
    out
}

/// Distinct quoted string values of `text` starting with `prefix`.
fn collect_prefixed(text: &str, prefix: &str, out: &mut Vec<String>) {
    let needle = format!("\"{prefix}");
    for (p, _) in text.match_indices(&needle) {
        let rest = &text[p + 1..];
        if let Some(end) = rest.find('"') {
            let v = rest[..end].to_string();
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
}

/// `AmazonSQS.<action>` over the SQS JSON protocol.
pub fn sqs(client: &mut Client, action: &str, body: &Value) -> Result<Value, String> {
    let target = format!("AmazonSQS.{action}");
    let r = client.request(
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", &target),
        ],
        body.to_string().as_bytes(),
    )?;
    reply_json(action, r)
}

fn reply_json(action: &str, r: RawReply) -> Result<Value, String> {
    if r.ok() {
        Ok(r.json().body)
    } else {
        Err(format!("{action} answered {} {}", r.status, r.text()))
    }
}

/// An SNS query-protocol action; returns the XML answer.
fn sns(client: &mut Client, params: &[(&str, &str)]) -> Result<String, String> {
    let mut body = String::from("Version=2010-03-31");
    for (k, v) in params {
        body.push('&');
        body.push_str(k);
        body.push('=');
        body.push_str(&form_encode(v));
    }
    let r = client.request(
        "POST",
        "/",
        &[(
            "Content-Type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )],
        body.as_bytes(),
    )?;
    let action = params.first().map_or("SNS", |p| p.1);
    if r.ok() {
        Ok(r.text())
    } else {
        Err(format!("{action} answered {} {}", r.status, r.text()))
    }
}

fn form_encode(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

fn create_queue(client: &mut Client, name: &str) -> Result<String, String> {
    let out = sqs(client, "CreateQueue", &json!({ "QueueName": name }))?;
    out.get("QueueUrl")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("CreateQueue answered no QueueUrl: {out}"))
}

fn create_topic(client: &mut Client, name: &str) -> Result<String, String> {
    let xml = sns(client, &[("Action", "CreateTopic"), ("Name", name)])?;
    xml_text(&xml, "TopicArn")
        .map(str::to_string)
        .ok_or_else(|| format!("CreateTopic answered no TopicArn: {xml}"))
}

fn subscribe(client: &mut Client, topic: &str, queue_arn: &str) -> Result<(), String> {
    sns(
        client,
        &[
            ("Action", "Subscribe"),
            ("TopicArn", topic),
            ("Protocol", "sqs"),
            ("Endpoint", queue_arn),
        ],
    )
    .map(|_| ())
}

fn create_function(client: &mut Client, name: &str, dir: &Path) -> Result<(), String> {
    let body = json!({
        "FunctionName": name,
        "Runtime": "python3.12",
        "Handler": "handler.handler",
        "CodeDirectory": dir.display().to_string(),
        "Timeout": fixture::TIMEOUT_SECONDS,
    });
    let r = client.request(
        "PUT",
        &format!("/_baton/v1/functions/{name}"),
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )?;
    reply_json("PutFunction", r).map(|_| ())
}

/// The fixture functions: a Python handler and the recorded outcomes it
/// answers with.
pub mod fixture {
    use super::*;

    /// Step Functions' payload limit (256 KiB).
    const MAX_PAYLOAD_BYTES: u64 = 256 * 1024;

    /// The fixture functions' timeout; an invocation the recording never
    /// saw end (the Task timed out first) sleeps most of it.
    pub const TIMEOUT_SECONDS: u64 = 10;

    /// The handler: picks the first unused recorded outcome whose input
    /// equals the event (else the first unused one), remembers it under a
    /// lock, and returns the recorded result or raises the recorded error
    /// (an exception class named by `errorType`).
    const HANDLER: &str = r#"import fcntl
import json
import os
import time

_HERE = os.path.dirname(os.path.abspath(__file__))


def _canon(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def handler(event, context):
    with open(os.path.join(_HERE, "outcomes.json")) as f:
        outcomes = json.load(f)
    with open(os.path.join(_HERE, "used.json"), "a+") as state:
        fcntl.flock(state, fcntl.LOCK_EX)
        state.seek(0)
        text = state.read()
        used = json.loads(text) if text.strip() else []
        free = [i for i in range(len(outcomes)) if i not in used]
        if not free:
            free = [len(outcomes) - 1] if outcomes else []
        pick = next((i for i in free if "input" in outcomes[i] and _canon(outcomes[i]["input"]) == _canon(event)), free[0] if free else None)
        if pick is not None and pick not in used:
            used.append(pick)
        state.seek(0)
        state.truncate()
        state.write(json.dumps(used))
    if pick is None:
        raise RuntimeError("the fixture has no recorded outcome")
    o = outcomes[pick]
    if "large_utf8" in o:
        return "\u00ff" * ((o["large_utf8"] + 1) // 2)
    if "sleep" in o:
        time.sleep(o["sleep"])
        return None
    if "error" in o:
        raise type(o["error"], (Exception,), {})(o.get("message", ""))
    return o.get("result")
"#;

    /// Writes the handler and its outcomes into `dir`.
    pub fn write(dir: &Path, outcomes: &[&Recorded]) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let table: Vec<Value> = outcomes.iter().map(|r| outcome(r)).collect();
        let source = raising_handler(outcomes).unwrap_or_else(|| HANDLER.to_string());
        std::fs::write(dir.join("handler.py"), source)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        std::fs::write(dir.join("outcomes.json"), Value::Array(table).to_string())
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(())
    }

    /// Python's built-in exception classes a recorded handler may raise
    /// without defining them.
    const BUILTIN_EXCEPTIONS: [&str; 6] = [
        "Exception",
        "RuntimeError",
        "ValueError",
        "TypeError",
        "KeyError",
        "IndexError",
    ];

    /// The test's own handler when every recorded invocation raised the same
    /// error from one line of `handler` (the stack trace shows the line and
    /// its number): a handler raising from that line, so that the error,
    /// its message and the trace's line match the recorded ones.
    pub(super) fn raising_handler(outcomes: &[&Recorded]) -> Option<String> {
        // The error raised, without the invocation's request id.
        let mut causes = outcomes.iter().map(|r| match &r.answer {
            TaskAnswer::Fail { cause: Some(c), .. } => {
                let mut v = serde_json::from_str::<Value>(c).ok()?;
                v.as_object_mut()?.remove("requestId");
                Some(v)
            }
            _ => None,
        });
        let first = causes.next()??;
        for c in causes {
            if c.as_ref() != Some(&first) {
                return None;
            }
        }
        let ty = first.get("errorType")?.as_str()?;
        let trace = first.get("stackTrace")?.as_array()?;
        let [frame] = trace.as_slice() else {
            return None;
        };
        let frame = frame.as_str()?;
        let (head, code) = frame.split_once('\n')?;
        let code = code.trim();
        let line: usize = head
            .split(", line ")
            .nth(1)?
            .split(',')
            .next()?
            .trim()
            .parse()
            .ok()?;
        if !head.ends_with(", in handler") || code.is_empty() || code.contains('\n') {
            return None;
        }
        let builtin = BUILTIN_EXCEPTIONS.contains(&ty);
        let valid_name = ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && ty.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        // Line 1 defines the class when needed, the line before the
        // recorded one opens the handler.
        let needed = if builtin { 2 } else { 4 };
        if line < needed || !valid_name {
            return None;
        }
        let mut lines: Vec<String> = Vec::new();
        if !builtin {
            lines.push(format!("class {ty}(Exception):  # noqa"));
            lines.push("    pass".into());
        }
        while lines.len() < line - 2 {
            lines.push(String::new());
        }
        lines.push("def handler(event, context):".into());
        lines.push(format!("    {code}"));
        Some(lines.join("\n") + "\n")
    }

    /// One recorded invocation as the fixture's table row.
    fn outcome(r: &Recorded) -> Value {
        let bare = r
            .resource
            .as_deref()
            .is_some_and(|res| res.contains(":function:"));
        let mut row = Map::new();
        // The event the function got: a bare ARN's input, else the
        // integration's Payload.
        let input = if bare {
            r.parameters.clone()
        } else {
            r.parameters
                .as_ref()
                .and_then(|p| p.get("Payload"))
                .cloned()
        };
        if let Some(i) = input {
            row.insert("input".into(), i);
        }
        match &r.answer {
            TaskAnswer::Succeed { output, .. } => {
                let result = if bare {
                    output.clone()
                } else {
                    match output.get("Payload") {
                        Some(Value::String(s)) if r.sdk => {
                            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
                        }
                        Some(p) => p.clone(),
                        None => output.clone(),
                    }
                };
                row.insert("result".into(), result);
            }
            TaskAnswer::Fail { error, cause, .. } => {
                let cause: Option<Value> =
                    cause.as_deref().and_then(|c| serde_json::from_str(c).ok());
                let raised = cause.as_ref().is_some_and(|c| c.get("errorType").is_some());
                if !raised && error.as_deref() == Some("States.DataLimitExceeded") {
                    // The function answered more than Step Functions takes
                    // (256 KiB of UTF-8).
                    row.insert("large_utf8".into(), Value::from(MAX_PAYLOAD_BYTES + 2));
                    return Value::Object(row);
                }
                if !raised {
                    // Failed outside the function (Lambda.*, States.*): the
                    // function answers nothing of note, if called at all.
                    row.insert("result".into(), Value::Null);
                    return Value::Object(row);
                }
                let ty = cause
                    .as_ref()
                    .and_then(|c| c.get("errorType"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| error.clone())
                    .unwrap_or_else(|| "Exception".into());
                let message = cause
                    .as_ref()
                    .and_then(|c| c.get("errorMessage"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                row.insert("error".into(), Value::String(ty));
                row.insert("message".into(), Value::String(message.to_string()));
            }
            TaskAnswer::Never { .. } => {
                row.insert(
                    "sleep".into(),
                    Value::from(TIMEOUT_SECONDS.saturating_sub(2)),
                );
            }
        }
        Value::Object(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_placeholders_are_whole_tokens() {
        let text = r#"{"FunctionName": "<lambda_function_name>", "Other": "no_such_<lambda_function_name>"}"#;
        assert!(contains_token(text, "<lambda_function_name>"));
        assert!(!contains_token(text, "lambda_function_name"));
        assert_eq!(
            replace_token(text, "<lambda_function_name>", "fn-1"),
            r#"{"FunctionName": "fn-1", "Other": "no_such_fn-1"}"#
        );
        let bare = r#"{"FunctionName": "lambda_function_name", "x": "my_lambda_function_name_2"}"#;
        assert_eq!(
            replace_token(bare, "lambda_function_name", "fn-2"),
            r#"{"FunctionName": "fn-2", "x": "my_lambda_function_name_2"}"#
        );
    }

    #[test]
    fn topic_stand_ins() {
        let mut out = Vec::new();
        collect_prefixed(
            r#"{"TopicArn": "arn:aws:sns:us-east-1:111111111111:baton-resource-1", "b": "arn:aws:sns:us-east-1:111111111111:baton-resource-1"}"#,
            "arn:aws:sns:us-east-1:111111111111:",
            &mut out,
        );
        assert_eq!(out, ["arn:aws:sns:us-east-1:111111111111:baton-resource-1"]);
    }

    #[test]
    fn resource_placeholders_take_the_function_arn() {
        let t = r#"{"States": {"S": {"Type": "Task", "Resource": "__tbd__", "End": true}}}"#;
        assert_eq!(
            replace_resource_placeholders(t, "arn:aws:lambda:r:1:function:f", true),
            r#"{"States": {"S": {"Type": "Task", "Resource": "arn:aws:lambda:r:1:function:f", "End": true}}}"#
        );
        assert_eq!(replace_resource_placeholders(t, "arn", false), t);
    }

    fn failed(cause: Value) -> Recorded {
        let events = vec![
            json!({"id": 1, "previousEventId": 0, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "T"}}),
            json!({"id": 2, "previousEventId": 1, "type": "LambdaFunctionScheduled",
                   "lambdaFunctionScheduledEventDetails": {"resource": "arn:aws:lambda:r:1:function:<lambda_function_name>", "input": {}}}),
            json!({"id": 3, "previousEventId": 2, "type": "LambdaFunctionFailed",
                   "lambdaFunctionFailedEventDetails": {"error": "E", "cause": cause}}),
        ];
        tasks::derive(&events)
            .expect("derivable")
            .pop()
            .expect("one task")
    }

    #[test]
    fn handlers_rebuilt_from_one_frame_traces() {
        let r = failed(
            json!({"errorMessage": "", "errorType": "CustomException", "requestId": "<uuid:1>",
            "stackTrace": ["  File \"/var/task/handler.py\", line 9, in handler\n    raise CustomException()\n"]}),
        );
        let src = fixture::raising_handler(&[&r]).expect("a handler");
        let lines: Vec<&str> = src.lines().collect();
        assert_eq!(lines.len(), 9);
        assert_eq!(lines[0], "class CustomException(Exception):  # noqa");
        assert_eq!(lines[7], "def handler(event, context):");
        assert_eq!(lines[8], "    raise CustomException()");
        let r2 = failed(
            json!({"errorMessage": "m", "errorType": "Exception", "requestId": "<uuid:2>",
            "stackTrace": ["  File \"/var/task/handler.py\", line 2, in handler\n    raise Exception(\"m\")\n"]}),
        );
        assert_eq!(
            fixture::raising_handler(&[&r2, &r2]).as_deref(),
            Some("def handler(event, context):\n    raise Exception(\"m\")\n")
        );
        // Different errors: the table-driven handler.
        assert!(fixture::raising_handler(&[&r, &r2]).is_none());
    }
}
