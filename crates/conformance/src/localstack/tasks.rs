//! Answers Task states from the recorded history: every TaskScheduled /
//! LambdaFunctionScheduled / ActivityScheduled is paired with its recorded
//! outcome (TaskSucceeded/TaskFailed/TaskTimedOut, with TaskSubmitted), and the
//! interpreter's requests get those outcomes back in order.

use std::collections::HashMap;

use serde_json::Value;

use baton_interp::driver::{TaskAnswer, TaskHandler, TaskRequest};

/// One recorded task and its outcome.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `lambda`, `sqs`, `activity`, ... (see [`service_of`]).
    pub service: String,
    pub state_name: Option<String>,
    pub parameters: Option<Value>,
    pub answer: TaskAnswer,
    /// The recorded `resource` (`invoke`, `sendMessage.waitForTaskToken`, a
    /// function ARN, ...).
    pub resource: Option<String>,
    /// An `aws-sdk:*` task.
    pub sdk: bool,
    used: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Task,
    Lambda,
    Activity,
}

struct Pending {
    kind: Kind,
    resource: Option<String>,
    resource_type: Option<String>,
    state_name: Option<String>,
    parameters: Option<Value>,
    submitted: Option<Value>,
    answer: Option<TaskAnswer>,
}

/// The service a recorded task used (`lambda`, `sqs`, `s3`, ...).
fn service_of(resource_type: Option<&str>, kind: Kind) -> String {
    match kind {
        Kind::Lambda => "lambda".into(),
        Kind::Activity => "activity".into(),
        Kind::Task => {
            let rt = resource_type.unwrap_or("unknown");
            rt.strip_prefix("aws-sdk:").unwrap_or(rt).to_string()
        }
    }
}

/// A payload as recorded: objects were parsed by the snapshot pipeline, other
/// payloads are still JSON text.
fn payload(v: Option<&Value>) -> Result<Value, ()> {
    match v {
        None => Ok(Value::Null),
        Some(Value::String(s)) => serde_json::from_str(s).map_err(|_| ()),
        Some(other) => Ok(other.clone()),
    }
}

/// Derives the answers of a recorded history. `Err(service)` when a task's
/// outcome cannot be derived from the record.
pub fn derive(events: &[Value]) -> Result<Vec<Recorded>, String> {
    let mut by_id: HashMap<u64, &Value> = HashMap::new();
    for e in events {
        if let Some(id) = e.get("id").and_then(Value::as_u64) {
            by_id.insert(id, e);
        }
    }
    let mut pending: Vec<Pending> = Vec::new();
    let mut last_task_state: Option<String> = None;
    for e in events {
        let ty = e.get("type").and_then(Value::as_str).unwrap_or("");
        if ty.ends_with("StateEntered") {
            last_task_state = e
                .pointer("/stateEnteredEventDetails/name")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        let (kind, details_key) = match ty {
            "TaskScheduled" => (Kind::Task, "taskScheduledEventDetails"),
            "LambdaFunctionScheduled" => (Kind::Lambda, "lambdaFunctionScheduledEventDetails"),
            "ActivityScheduled" => (Kind::Activity, "activityScheduledEventDetails"),
            _ => {
                settle(ty, e, &mut pending)?;
                continue;
            }
        };
        let d = e.get(details_key);
        // Parallel-normalised events (`id: [0]`) were re-sorted: their order
        // says nothing about which state scheduled them.
        let resorted = e.get("id").is_some_and(Value::is_array);
        let state_name = e
            .get("previousEventId")
            .and_then(Value::as_u64)
            .and_then(|p| by_id.get(&p))
            .and_then(|prev| prev.pointer("/stateEnteredEventDetails/name"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                if resorted {
                    None
                } else {
                    last_task_state.clone()
                }
            });
        let parameters = match d.and_then(|d| d.get("parameters").or_else(|| d.get("input"))) {
            Some(p) => payload(Some(p)).ok(),
            None => None,
        };
        pending.push(Pending {
            kind,
            resource: d
                .and_then(|d| d.get("resource"))
                .and_then(Value::as_str)
                .map(str::to_string),
            resource_type: d
                .and_then(|d| d.get("resourceType"))
                .and_then(Value::as_str)
                .map(str::to_string),
            state_name,
            parameters,
            submitted: None,
            answer: None,
        });
    }
    Ok(pending
        .into_iter()
        .map(|p| Recorded {
            service: service_of(p.resource_type.as_deref(), p.kind),
            sdk: p
                .resource_type
                .as_deref()
                .is_some_and(|t| t.starts_with("aws-sdk:")),
            resource: p.resource,
            state_name: p.state_name,
            parameters: p.parameters,
            // No recorded outcome: the execution ended first (aborted,
            // stopped, or timed out elsewhere); the task never answers.
            answer: p.answer.unwrap_or(TaskAnswer::Never {
                submitted: p.submitted,
            }),
            used: false,
        })
        .collect())
}

fn settle(ty: &str, e: &Value, pending: &mut [Pending]) -> Result<(), String> {
    let (kind, key) = match ty {
        "TaskSubmitted" | "TaskSucceeded" | "TaskFailed" | "TaskTimedOut" | "TaskStartFailed"
        | "TaskSubmitFailed" => (Kind::Task, task_details_key(ty)),
        "LambdaFunctionSucceeded"
        | "LambdaFunctionFailed"
        | "LambdaFunctionTimedOut"
        | "LambdaFunctionStartFailed"
        | "LambdaFunctionScheduleFailed" => (Kind::Lambda, lambda_details_key(ty)),
        "ActivitySucceeded" | "ActivityFailed" | "ActivityTimedOut" | "ActivityScheduleFailed" => {
            (Kind::Activity, activity_details_key(ty))
        }
        _ => return Ok(()),
    };
    let d = e.get(key);
    let resource = d.and_then(|d| d.get("resource")).and_then(Value::as_str);
    let resource_type = d
        .and_then(|d| d.get("resourceType"))
        .and_then(Value::as_str);
    let slot = pending.iter_mut().find(|p| {
        p.kind == kind
            && p.answer.is_none()
            && (kind != Kind::Task
                || (p.resource.as_deref() == resource
                    && p.resource_type.as_deref() == resource_type))
    });
    let Some(slot) = slot else {
        // An outcome without a schedule (e.g. LambdaFunctionScheduleFailed):
        // the interpreter cannot be told.
        return Err(service_of(resource_type, kind));
    };
    let service = service_of(slot.resource_type.as_deref(), kind);
    let err = |_| service.clone();
    // Causes the snapshot pipeline parsed into objects go back to JSON text.
    let text = |k: &str| match d.and_then(|d| d.get(k)) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    match ty {
        "TaskSubmitted" => {
            slot.submitted = Some(payload(d.and_then(|d| d.get("output"))).map_err(err)?);
        }
        "TaskSucceeded" | "LambdaFunctionSucceeded" | "ActivitySucceeded" => {
            let output = payload(d.and_then(|d| d.get("output"))).map_err(err)?;
            slot.answer = Some(TaskAnswer::Succeed {
                output,
                submitted: slot.submitted.take(),
            });
        }
        "TaskFailed" | "LambdaFunctionFailed" | "ActivityFailed" => {
            slot.answer = Some(TaskAnswer::Fail {
                error: text("error"),
                cause: text("cause"),
                submitted: slot.submitted.take(),
            });
        }
        "TaskTimedOut" | "LambdaFunctionTimedOut" | "ActivityTimedOut" => {
            slot.answer = Some(TaskAnswer::Never {
                submitted: slot.submitted.take(),
            });
        }
        // Start/submit/schedule failures have no TaskAnswer form.
        _ => return Err(service),
    }
    Ok(())
}

fn task_details_key(ty: &str) -> &'static str {
    match ty {
        "TaskSubmitted" => "taskSubmittedEventDetails",
        "TaskSucceeded" => "taskSucceededEventDetails",
        "TaskFailed" => "taskFailedEventDetails",
        "TaskTimedOut" => "taskTimedOutEventDetails",
        "TaskStartFailed" => "taskStartFailedEventDetails",
        _ => "taskSubmitFailedEventDetails",
    }
}

fn lambda_details_key(ty: &str) -> &'static str {
    match ty {
        "LambdaFunctionSucceeded" => "lambdaFunctionSucceededEventDetails",
        "LambdaFunctionFailed" => "lambdaFunctionFailedEventDetails",
        "LambdaFunctionTimedOut" => "lambdaFunctionTimedOutEventDetails",
        "LambdaFunctionStartFailed" => "lambdaFunctionStartFailedEventDetails",
        _ => "lambdaFunctionScheduleFailedEventDetails",
    }
}

fn activity_details_key(ty: &str) -> &'static str {
    match ty {
        "ActivitySucceeded" => "activitySucceededEventDetails",
        "ActivityFailed" => "activityFailedEventDetails",
        "ActivityTimedOut" => "activityTimedOutEventDetails",
        _ => "activityScheduleFailedEventDetails",
    }
}

/// A [`TaskHandler`] replaying recorded outcomes.
pub struct RecordedTasks {
    answers: Vec<Recorded>,
    /// Literal replacements that make our raw parameters comparable with the
    /// recorded (normalised) ones, e.g. `arn:aws:` → `arn:<partition>:`.
    pub param_normalisers: Vec<(String, String)>,
}

impl RecordedTasks {
    pub fn new(answers: Vec<Recorded>) -> Self {
        Self {
            answers,
            param_normalisers: Vec::new(),
        }
    }

    fn normalise_params(&self, v: &Value) -> Value {
        let mut text = v.to_string();
        for (from, to) in &self.param_normalisers {
            if !from.is_empty() {
                text = text.replace(from.as_str(), to);
            }
        }
        serde_json::from_str(&text).unwrap_or_else(|_| v.clone())
    }
}

impl TaskHandler for RecordedTasks {
    fn invoke(&mut self, request: &TaskRequest) -> TaskAnswer {
        let ours = self.normalise_params(&request.parameters);
        let candidates: Vec<usize> = self
            .answers
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                !a.used
                    && a.state_name
                        .as_deref()
                        .is_none_or(|n| n == request.state_name)
            })
            .map(|(i, _)| i)
            .collect();
        let pick = candidates
            .iter()
            .copied()
            .find(|i| self.answers[*i].parameters.as_ref() == Some(&ours))
            .or_else(|| candidates.first().copied());
        match pick {
            Some(i) => {
                self.answers[i].used = true;
                self.answers[i].answer.clone()
            }
            None => TaskAnswer::Fail {
                error: Some("Baton.Conformance".into()),
                cause: Some(format!(
                    "no recorded outcome left for task state '{}'",
                    request.state_name
                )),
                submitted: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(name: &str, params: Value) -> TaskRequest {
        TaskRequest {
            task: 0,
            state_name: name.into(),
            resource: "r".into(),
            parameters: params,
            token: None,
            attempt: 0,
            timeout_seconds: None,
            heartbeat_seconds: None,
            credentials: None,
        }
    }

    #[test]
    fn pairs_outcomes_in_order() {
        let events = vec![
            json!({"id": 2, "previousEventId": 0, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "T"}}),
            json!({"id": 3, "previousEventId": 2, "type": "TaskScheduled",
                   "taskScheduledEventDetails": {"resource": "sendMessage.waitForTaskToken", "resourceType": "sqs", "parameters": {"a": 1}}}),
            json!({"id": 4, "previousEventId": 3, "type": "TaskStarted"}),
            json!({"id": 5, "previousEventId": 4, "type": "TaskSubmitted",
                   "taskSubmittedEventDetails": {"resource": "sendMessage.waitForTaskToken", "resourceType": "sqs", "output": {"MessageId": "<uuid:1>"}}}),
            json!({"id": 6, "previousEventId": 5, "type": "TaskSucceeded",
                   "taskSucceededEventDetails": {"resource": "sendMessage.waitForTaskToken", "resourceType": "sqs", "output": "\"done\""}}),
            json!({"id": 7, "previousEventId": 6, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "L"}}),
            json!({"id": 8, "previousEventId": 7, "type": "LambdaFunctionScheduled",
                   "lambdaFunctionScheduledEventDetails": {"resource": "arn", "input": "[1]"}}),
            json!({"id": 9, "previousEventId": 8, "type": "LambdaFunctionFailed",
                   "lambdaFunctionFailedEventDetails": {"error": "E", "cause": "C"}}),
        ];
        let answers = derive(&events).unwrap();
        assert_eq!(answers.len(), 2);
        let mut h = RecordedTasks::new(answers);
        assert_eq!(
            h.invoke(&req("T", json!({"a": 1}))),
            TaskAnswer::Succeed {
                output: json!("done"),
                submitted: Some(json!({"MessageId": "<uuid:1>"}))
            }
        );
        assert_eq!(
            h.invoke(&req("L", json!([1]))),
            TaskAnswer::Fail {
                error: Some("E".into()),
                cause: Some("C".into()),
                submitted: None
            }
        );
        assert!(
            matches!(h.invoke(&req("L", json!([1]))), TaskAnswer::Fail { error: Some(e), .. } if e == "Baton.Conformance")
        );
    }

    #[test]
    fn start_failures_are_not_derivable() {
        let events = vec![
            json!({"id": 3, "previousEventId": 2, "type": "TaskScheduled",
                   "taskScheduledEventDetails": {"resource": "invoke", "resourceType": "lambda"}}),
            json!({"id": 4, "previousEventId": 3, "type": "TaskStartFailed",
                   "taskStartFailedEventDetails": {"resource": "invoke", "resourceType": "lambda", "error": "x"}}),
        ];
        assert_eq!(derive(&events).err(), Some("lambda".into()));
    }

    #[test]
    fn prefers_matching_parameters() {
        let events = vec![
            json!({"id": 1, "previousEventId": 0, "type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "T"}}),
            json!({"id": 2, "previousEventId": 1, "type": "TaskScheduled", "taskScheduledEventDetails": {"resource": "invoke", "resourceType": "lambda", "parameters": {"Payload": 1}}}),
            json!({"id": 3, "previousEventId": 1, "type": "TaskScheduled", "taskScheduledEventDetails": {"resource": "invoke", "resourceType": "lambda", "parameters": {"Payload": 2}}}),
            json!({"id": 4, "previousEventId": 2, "type": "TaskSucceeded", "taskSucceededEventDetails": {"resource": "invoke", "resourceType": "lambda", "output": {"r": 1}}}),
            json!({"id": 5, "previousEventId": 3, "type": "TaskSucceeded", "taskSucceededEventDetails": {"resource": "invoke", "resourceType": "lambda", "output": {"r": 2}}}),
        ];
        let mut h = RecordedTasks::new(derive(&events).unwrap());
        assert_eq!(
            h.invoke(&req("T", json!({"Payload": 2}))),
            TaskAnswer::Succeed {
                output: json!({"r": 2}),
                submitted: None
            }
        );
    }
}
