//! Runs the tasks that committed steps asked for (the outbox), through
//! integrations. A crash between commit and dispatch re-runs the command at
//! the next start, so every integration is idempotent or at-least-once.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};

use baton_interp::{Input, TaskRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::{Shared, Work};
use crate::{Engine, ErrorKind};

/// A committed InvokeTask command, as kept in the outbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OutboxCommand {
    pub(crate) execution_id: u64,
    pub(crate) execution_arn: String,
    pub(crate) request: TaskRequest,
}

/// A task handed to an integration.
#[derive(Debug, Clone)]
pub struct TaskInvocation {
    pub execution_arn: String,
    pub request: TaskRequest,
}

impl TaskInvocation {
    /// The region of the execution (from its ARN).
    pub fn region(&self) -> &str {
        self.execution_arn.split(':').nth(3).unwrap_or("us-east-1")
    }

    /// The account of the execution (from its ARN).
    pub fn account(&self) -> &str {
        self.execution_arn
            .split(':')
            .nth(4)
            .unwrap_or("000000000000")
    }
}

/// How an integration reports a task's progress. Reports for a task that is
/// no longer awaited (timed out, aborted) are ignored.
#[derive(Clone)]
pub struct Reporter {
    shared: Weak<Shared>,
    execution_id: u64,
    task: u64,
}

impl Reporter {
    fn send(&self, input: Input) {
        if let Some(sh) = self.shared.upgrade() {
            sh.send(
                self.execution_id,
                Work::Input {
                    execution_id: self.execution_id,
                    input,
                    reply: None,
                    expect_task: Some(self.task),
                },
            );
        }
    }

    /// The integration accepted a `.sync`/`.waitForTaskToken` task; `output`
    /// is its immediate response (TaskSubmitted).
    pub fn submitted(&self, output: Value) {
        self.send(Input::TaskSubmitted {
            task: self.task,
            output,
        });
    }

    /// The task succeeded; `output` is JSON text.
    pub fn succeeded(&self, output: String) {
        self.send(Input::TaskSucceeded {
            task: self.task,
            output,
        });
    }

    /// The task failed.
    pub fn failed(&self, error: Option<String>, cause: Option<String>) {
        self.send(Input::TaskFailed {
            task: self.task,
            error,
            cause,
        });
    }
}

/// A future an integration returns.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Something that runs Task states of some resources (queues, topics,
/// functions, ...).
pub trait Integration: Send + Sync + 'static {
    /// Whether this integration runs `resource`.
    fn accepts(&self, resource: &str) -> bool;
    /// Runs the task and reports through `reporter` (at least once; the same
    /// task may be invoked again after a crash).
    fn invoke(&self, engine: Engine, task: TaskInvocation, reporter: Reporter) -> BoxFuture;
}

#[derive(Clone)]
pub(crate) struct Handle {
    tx: mpsc::UnboundedSender<OutboxCommand>,
}

impl Handle {
    pub(crate) fn send(&self, cmd: OutboxCommand) {
        let _ = self.tx.send(cmd);
    }
}

pub(crate) fn channel() -> (Handle, mpsc::UnboundedReceiver<OutboxCommand>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Handle { tx }, rx)
}

pub(crate) async fn run(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<OutboxCommand>) {
    let weak = Arc::downgrade(&shared);
    drop(shared);
    while let Some(cmd) = rx.recv().await {
        let Some(shared) = weak.upgrade() else { return };
        let reporter = Reporter {
            shared: weak.clone(),
            execution_id: cmd.execution_id,
            task: cmd.request.task,
        };
        let resource = cmd.request.resource.clone();
        // A test case from the mock config answers every Task of its
        // execution.
        if let Some(answer) = shared.mock_answer(cmd.execution_id, &cmd.request) {
            report_mock(&reporter, &cmd.request, answer);
            continue;
        }
        if is_activity(&resource) {
            let token = cmd.request.token.clone().unwrap_or_default();
            let input = baton_interp::exec::to_text(&cmd.request.parameters);
            shared
                .activities
                .enqueue(&resource, cmd.execution_id, cmd.request.task, token, input);
            continue;
        }
        let Some(engine) = shared.engine() else {
            continue;
        };
        let task = TaskInvocation {
            execution_arn: cmd.execution_arn.clone(),
            request: cmd.request,
        };
        if let Some(integration) = shared.integration_for(&resource) {
            tokio::spawn(integration.invoke(engine, task, reporter));
            continue;
        }
        if resource.contains(":states:::states:startExecution") {
            tokio::spawn(start_execution(engine, task, reporter));
        } else if let Some(action) = resource.split(":states:::aws-sdk:sfn:").nth(1) {
            tokio::spawn(sdk_sfn(engine, action.to_string(), task, reporter));
        } else {
            reporter.failed(
                Some("States.Runtime".into()),
                Some(format!(
                    "Baton does not support the resource '{resource}' yet"
                )),
            );
        }
    }
}

pub(crate) fn is_activity(resource: &str) -> bool {
    resource.starts_with("arn:") && resource.split(':').nth(5).is_some_and(|r| r == "activity")
}

fn report_mock(
    reporter: &Reporter,
    request: &TaskRequest,
    answer: baton_interp::driver::TaskAnswer,
) {
    use baton_interp::driver::TaskAnswer;
    let submit = baton_interp::resource::needs_submit(&request.resource);
    match answer {
        TaskAnswer::Succeed { output, submitted } => {
            if submit {
                reporter.submitted(submitted.unwrap_or_else(|| json!({})));
            }
            reporter.succeeded(baton_interp::exec::to_text(&output));
        }
        TaskAnswer::Fail {
            error,
            cause,
            submitted,
        } => {
            if submit {
                reporter.submitted(submitted.unwrap_or_else(|| json!({})));
            }
            reporter.failed(error, cause);
        }
        TaskAnswer::Never { submitted } => {
            if submit {
                reporter.submitted(submitted.unwrap_or_else(|| json!({})));
            }
        }
    }
}

/// The Java-SDK metadata AWS's optimized integrations add to responses.
pub fn sdk_metadata(request_id: &str) -> (Value, Value) {
    (
        json!({
            "AllHttpHeaders": {"x-amzn-RequestId": [request_id], "Content-Type": ["application/x-amz-json-1.0"]},
            "HttpHeaders": {"x-amzn-RequestId": request_id, "Content-Type": "application/x-amz-json-1.0"},
            "HttpStatusCode": 200
        }),
        json!({ "RequestId": request_id }),
    )
}

/// `arn:aws:states:::states:startExecution[.sync|.sync:2|.waitForTaskToken]`.
async fn start_execution(engine: Engine, task: TaskInvocation, reporter: Reporter) {
    let p = &task.request.parameters;
    let Some(sm_arn) = p.get("StateMachineArn").and_then(Value::as_str) else {
        reporter.failed(
            Some("States.Runtime".into()),
            Some("The field 'StateMachineArn' is required but was missing".into()),
        );
        return;
    };
    let input = match p.get("Input") {
        None | Some(Value::Null) => "{}".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => baton_interp::exec::to_text(other),
    };
    // A deterministic default name makes a re-dispatch after a crash find the
    // same child instead of starting another.
    let name = p
        .get("Name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            let h = fnv(&format!("{}#{}", task.execution_arn, task.request.task));
            format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                h >> 32,
                (h >> 16) & 0xffff,
                h & 0xfff,
                (h >> 20) & 0xfff,
                h & 0xffff_ffff_ffff
            )
        });
    let caller = crate::Caller {
        account: task.account().to_string(),
        region: task.region().to_string(),
    };
    let resource = task.request.resource.clone();
    let started = match engine
        .start_execution(
            &caller,
            sm_arn,
            Some(name.clone()),
            Some(input.clone()),
            None,
        )
        .await
    {
        // A re-dispatch after a crash finds the child it started before.
        Err(e) if e.kind == ErrorKind::ExecutionAlreadyExists => {
            match crate::arn::execution(sm_arn, &name) {
                Some(arn) => match engine.describe_execution(&arn).await {
                    Ok(child) if child.input == input => Ok(super::StartedExecution {
                        execution_arn: child.arn,
                        start_ms: child.start_ms,
                    }),
                    _ => Err(e),
                },
                None => Err(e),
            }
        }
        other => other,
    };
    let started = match started {
        Ok(s) => s,
        Err(e) => {
            reporter.failed(
                Some(format!("StepFunctions.{:?}Exception", e.kind)),
                Some(e.message),
            );
            return;
        }
    };
    let (http, sdk) = sdk_metadata(&format!("{:x}", fnv(&started.execution_arn)));
    let response = json!({
        "ExecutionArn": started.execution_arn,
        "StartDate": started.start_ms,
        "SdkHttpMetadata": http,
        "SdkResponseMetadata": sdk,
    });
    if resource.ends_with(".waitForTaskToken") {
        reporter.submitted(response);
        return;
    }
    let sync2 = resource.ends_with(".sync:2");
    if !resource.ends_with(".sync") && !sync2 {
        reporter.succeeded(baton_interp::exec::to_text(&response));
        return;
    }
    reporter.submitted(response);
    // Stopping the parent's task stops the child (AWS grants `.sync`
    // integrations states:StopExecution on the child for that).
    let shared = engine.inner.runtime.shared.clone();
    shared.watch_child(reporter.execution_id, reporter.task, &started.execution_arn);
    let ended = engine.wait_for_end(&started.execution_arn).await;
    shared.forget_child(reporter.execution_id, reporter.task);
    let record = match ended {
        Ok(r) => r,
        Err(e) => {
            reporter.failed(Some("States.TaskFailed".into()), Some(e.message));
            return;
        }
    };
    let parse = |s: &Option<String>| -> Value {
        match s {
            None => Value::Null,
            Some(t) if sync2 => serde_json::from_str(t).unwrap_or(Value::String(t.clone())),
            Some(t) => Value::String(t.clone()),
        }
    };
    let mut out = Map::new();
    out.insert("ExecutionArn".into(), json!(record.arn));
    out.insert("Input".into(), parse(&Some(record.input.clone())));
    out.insert("InputDetails".into(), json!({"Included": true}));
    out.insert("Name".into(), json!(record.name));
    if record.status == "SUCCEEDED" {
        out.insert("Output".into(), parse(&record.output));
        out.insert("OutputDetails".into(), json!({"Included": true}));
    }
    out.insert("StartDate".into(), json!(record.start_ms));
    out.insert("StateMachineArn".into(), json!(record.state_machine_arn));
    out.insert("Status".into(), json!(record.status));
    out.insert("StopDate".into(), json!(record.stop_ms));
    if record.status == "SUCCEEDED" {
        reporter.succeeded(Value::Object(out).to_string());
    } else {
        if let Some(e) = &record.error {
            out.insert("Error".into(), json!(e));
        }
        if let Some(c) = &record.cause {
            out.insert("Cause".into(), json!(c));
        }
        reporter.failed(
            Some("States.TaskFailed".into()),
            Some(Value::Object(out).to_string()),
        );
    }
}

/// `arn:aws:states:::aws-sdk:sfn:<action>`: the callback actions and a few
/// others, answered by this engine.
async fn sdk_sfn(engine: Engine, action: String, task: TaskInvocation, reporter: Reporter) {
    let p = task.request.parameters.clone();
    let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    let result = match action.trim_end_matches(".waitForTaskToken") {
        "sendTaskSuccess" => {
            let output = match p.get("Output") {
                Some(Value::String(t)) => t.clone(),
                Some(v) => baton_interp::exec::to_text(v),
                None => "null".into(),
            };
            engine
                .send_task_success(&s("TaskToken").unwrap_or_default(), output)
                .await
                .map(|()| json!({}))
        }
        "sendTaskFailure" => engine
            .send_task_failure(&s("TaskToken").unwrap_or_default(), s("Error"), s("Cause"))
            .await
            .map(|()| json!({})),
        "sendTaskHeartbeat" => engine
            .send_task_heartbeat(&s("TaskToken").unwrap_or_default())
            .await
            .map(|()| json!({})),
        "startExecution" => {
            let caller = crate::Caller {
                account: task.account().to_string(),
                region: task.region().to_string(),
            };
            let input = match p.get("Input") {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) => Some(t.clone()),
                Some(v) => Some(baton_interp::exec::to_text(v)),
            };
            engine
                .start_execution(
                    &caller,
                    &s("StateMachineArn").unwrap_or_default(),
                    s("Name"),
                    input,
                    None,
                )
                .await
                .map(|st| json!({"ExecutionArn": st.execution_arn, "StartDate": sdk_date(st.start_ms)}))
        }
        "describeExecution" => engine
            .describe_execution(&s("ExecutionArn").unwrap_or_default())
            .await
            .map(|r| {
                let mut m = Map::new();
                m.insert("ExecutionArn".into(), json!(r.arn));
                m.insert("StateMachineArn".into(), json!(r.state_machine_arn));
                m.insert("Name".into(), json!(r.name));
                m.insert("Status".into(), json!(r.status));
                m.insert("StartDate".into(), sdk_date(r.start_ms));
                if let Some(s) = r.stop_ms {
                    m.insert("StopDate".into(), sdk_date(s));
                }
                m.insert("Input".into(), json!(r.input));
                if let Some(o) = r.output {
                    m.insert("Output".into(), json!(o));
                }
                Value::Object(m)
            }),
        "stopExecution" => engine
            .stop_execution(
                &s("ExecutionArn").unwrap_or_default(),
                s("Error"),
                s("Cause"),
            )
            .await
            .map(|stop| json!({"StopDate": sdk_date(stop)})),
        other => {
            reporter.failed(
                Some("States.Runtime".into()),
                Some(format!(
                    "Baton does not support the action 'sfn:{other}' yet"
                )),
            );
            return;
        }
    };
    match result {
        Ok(v) => {
            if task.request.resource.ends_with(".waitForTaskToken") {
                reporter.submitted(v);
            } else {
                reporter.succeeded(v.to_string());
            }
        }
        Err(e) => {
            let name = match e.kind {
                ErrorKind::InvalidToken => "InvalidToken",
                ErrorKind::TaskTimedOut => "TaskTimedOut",
                ErrorKind::TaskDoesNotExist => "TaskDoesNotExist",
                ErrorKind::InvalidOutput => "InvalidOutput",
                ErrorKind::ExecutionDoesNotExist => "ExecutionDoesNotExist",
                ErrorKind::StateMachineDoesNotExist => "StateMachineDoesNotExist",
                ErrorKind::ExecutionAlreadyExists => "ExecutionAlreadyExists",
                _ => "SfnException",
            };
            reporter.failed(
                Some(format!("Sfn.{name}Exception")),
                Some(format!(
                    "{} (Service: Sfn, Status Code: 400, Request ID: {:x})",
                    e.message,
                    fnv(&e.message)
                )),
            );
        }
    }
}

/// A timestamp in an `aws-sdk:*` result: the SDK's ISO-8601 text (the
/// optimized integrations keep epoch milliseconds, as AWS records them).
fn sdk_date(ms: i64) -> Value {
    Value::String(baton_asl::time::format_millis(ms))
}

/// FNV-1a, for deterministic ids.
pub(crate) fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
