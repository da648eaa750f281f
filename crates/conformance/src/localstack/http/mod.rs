//! The HTTP replay mode: the same snapshot entries replayed through Baton's
//! HTTP API (the real router, engine and SQLite store started in process),
//! plus the API-shape entries of `v2/test_sfn_api*` and the activity, stop,
//! Wait-boundary and Express tests that need API actions.
//!
//! - [`client`]: a minimal blocking HTTP/1.1 client.
//! - [`server`]: Baton in process on `127.0.0.1:0`.
//! - [`api`]: the API-shape tests, replayed from `conformance/api-scripts.json`.
//! - [`resources`]: the queues, topics, fixture functions and started state
//!   machines a test created, created again under names the recorded
//!   placeholders map back to.
//! - [`responders`]: the callback consumer of `.waitForTaskToken` tests.

pub mod api;
pub mod client;
pub mod resources;
pub mod responders;
pub mod server;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::tasks::{self, Recorded};
use client::{Client, Reply};

/// The region of every request (no SigV4 header: Baton's default).
pub const REGION: &str = "us-east-1";

/// How long one execution may run (real time) before the runner gives up.
const EXECUTION_DEADLINE: Duration = Duration::from_secs(10);

/// A running Baton and the names handed out so far.
pub struct Http {
    pub addr: SocketAddr,
    seq: AtomicUsize,
    fixtures: PathBuf,
}

impl Http {
    /// `fixtures`: a folder for the test fixtures (function code) the run
    /// writes.
    pub fn new(addr: SocketAddr, fixtures: PathBuf) -> Http {
        Http {
            addr,
            seq: AtomicUsize::new(0),
            fixtures,
        }
    }

    /// Where fixture functions' code is written.
    pub fn fixtures_dir(&self) -> &Path {
        &self.fixtures
    }

    /// A fresh number for unique resource names.
    pub fn next(&self) -> usize {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    pub fn client(&self) -> Client {
        Client::new(self.addr)
    }
}

/// A reply as boto3 shows it before the snapshot normalisation: the body
/// with `ResponseMetadata` added (`HTTPHeaders` are reduced by the
/// normaliser), dates left as numbers for [`dates_to_placeholder`]; an error
/// as `ClientError.response`: `Error: {Code, Message}`, the modelled
/// `message` member, `ResponseMetadata`.
pub fn boto_response(reply: &Reply) -> Value {
    let mut m = Map::new();
    if reply.ok() {
        if let Value::Object(body) = &reply.body {
            for (k, v) in body {
                m.insert(k.clone(), v.clone());
            }
        }
    } else {
        let code = reply.error_code().unwrap_or("").to_string();
        let message = reply.error_message().unwrap_or("").to_string();
        m.insert(
            "Error".into(),
            json!({"Code": code, "Message": message.clone()}),
        );
        // botocore fills modelled members of the error shape; Step Functions
        // models `message` on its own errors, not on ValidationException.
        if code != "ValidationException" {
            m.insert("message".into(), Value::String(message));
        }
    }
    m.insert(
        "ResponseMetadata".into(),
        json!({"HTTPHeaders": {}, "HTTPStatusCode": reply.status}),
    );
    Value::Object(m)
}

/// `str(ClientError)`: `An error occurred (Code) when calling the Op
/// operation: Message`.
pub fn boto_exception_text(action: &str, reply: &Reply) -> String {
    format!(
        "An error occurred ({}) when calling the {action} operation: {}",
        reply.error_code().unwrap_or("Unknown"),
        reply.error_message().unwrap_or("")
    )
}

/// Response date fields (botocore datetimes) → `"datetime"`, as the
/// snapshot's datetime transformer does; event `timestamp`s (epoch seconds)
/// → epoch milliseconds for the normaliser.
pub fn dates_to_placeholder(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if DATE_KEYS.contains(&k.as_str()) && val.is_number() {
                    *val = Value::String("datetime".into());
                } else if k == "events"
                    && let Value::Array(events) = val
                {
                    for e in events.iter_mut() {
                        if let Some(ts) = e.get_mut("timestamp")
                            && let Some(s) = ts.as_f64()
                        {
                            *ts = Value::from((s * 1000.0).round() as i64);
                        }
                        dates_to_placeholder(e);
                    }
                } else {
                    dates_to_placeholder(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(dates_to_placeholder),
        _ => {}
    }
}

/// Timestamp members of the Step Functions model.
const DATE_KEYS: [&str; 6] = [
    "creationDate",
    "updateDate",
    "startDate",
    "stopDate",
    "redriveDate",
    "date",
];

/// Calls and fails with a readable message on a transport error.
pub fn call(client: &mut Client, action: &str, body: Value) -> Result<Reply, String> {
    client
        .call(action, &body)
        .map_err(|e| format!("{action}: {e}"))
}

/// Polls DescribeExecution until the execution leaves RUNNING.
pub fn await_end(client: &mut Client, execution_arn: &str) -> Result<Reply, String> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        let r = call(
            client,
            "DescribeExecution",
            json!({"executionArn": execution_arn}),
        )?;
        if !r.ok() {
            return Err(format!(
                "DescribeExecution answered {} {}",
                r.status, r.body
            ));
        }
        if r.body.get("status").and_then(Value::as_str) != Some("RUNNING") {
            return Ok(r);
        }
        if started.elapsed() > EXECUTION_DEADLINE {
            return Err(format!(
                "execution still RUNNING after {EXECUTION_DEADLINE:?} (real time)"
            ));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

/// GetExecutionHistory, all pages, as one response.
pub fn history(client: &mut Client, execution_arn: &str) -> Result<Reply, String> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"executionArn": execution_arn, "maxResults": 1000});
        if let Some(t) = &token {
            body["nextToken"] = Value::String(t.clone());
        }
        let r = call(client, "GetExecutionHistory", body)?;
        if !r.ok() {
            return Ok(r);
        }
        if let Some(Value::Array(page)) = r.body.get("events") {
            events.extend(page.iter().cloned());
        }
        token = r
            .body
            .get("nextToken")
            .and_then(Value::as_str)
            .map(str::to_string);
        if token.is_none() {
            return Ok(Reply {
                status: r.status,
                body: json!({ "events": events }),
            });
        }
    }
}

/// The activity worker of one recorded execution: takes as many tasks as the
/// recording started (with the recorded worker names) and answers each from
/// the recorded ActivitySucceeded/ActivityFailed (a timed-out one is never
/// answered).
pub struct ActivityWorker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl ActivityWorker {
    pub fn start(
        http: &Http,
        activity_arn: String,
        events: &[Value],
    ) -> Result<Option<ActivityWorker>, String> {
        let workers: Vec<Option<String>> = events
            .iter()
            .filter(|e| e.get("type").and_then(Value::as_str) == Some("ActivityStarted"))
            .map(|e| {
                e.pointer("/activityStartedEventDetails/workerName")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .collect();
        if workers.is_empty() {
            return Ok(None);
        }
        let answers: Vec<Recorded> = tasks::derive(events)
            .map_err(|s| format!("recorded {s} outcome not replayable"))?
            .into_iter()
            .filter(|r| r.service == "activity")
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let mut client = http.client();
        let thread = std::thread::spawn(move || -> Result<(), String> {
            let mut answers = answers.into_iter();
            for worker in workers {
                let token = loop {
                    if stop2.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    let mut body = json!({"activityArn": activity_arn});
                    if let Some(w) = &worker {
                        body["workerName"] = Value::String(w.clone());
                    }
                    let r = call(&mut client, "GetActivityTask", body)?;
                    if !r.ok() {
                        return Err(format!("GetActivityTask answered {} {}", r.status, r.body));
                    }
                    if let Some(t) = r.body.get("taskToken").and_then(Value::as_str) {
                        break t.to_string();
                    }
                };
                let Some(answer) = answers.next() else {
                    return Ok(());
                };
                let r = match answer.answer {
                    baton_interp::driver::TaskAnswer::Succeed { output, .. } => call(
                        &mut client,
                        "SendTaskSuccess",
                        json!({"taskToken": token, "output": output.to_string()}),
                    )?,
                    baton_interp::driver::TaskAnswer::Fail { error, cause, .. } => {
                        let mut body = json!({ "taskToken": token });
                        if let Some(e) = error {
                            body["error"] = Value::String(e);
                        }
                        if let Some(c) = cause {
                            body["cause"] = Value::String(c);
                        }
                        call(&mut client, "SendTaskFailure", body)?
                    }
                    _ => continue,
                };
                if !r.ok() {
                    return Err(format!("callback answered {} {}", r.status, r.body));
                }
            }
            Ok(())
        });
        Ok(Some(ActivityWorker {
            stop,
            thread: Some(thread),
        }))
    }

    /// Stops polling and returns the worker's error, if any.
    pub fn finish(mut self) -> Result<(), String> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err("the activity worker panicked".into()),
            None => Ok(()),
        }
    }
}

impl Drop for ActivityWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
