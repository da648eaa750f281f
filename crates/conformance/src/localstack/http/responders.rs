//! The callback consumer of a `.waitForTaskToken` test: what LocalStack's
//! test did with the message its state machine sent. It long-polls the
//! test's queue (`sqs:sendMessage.waitForTaskToken`, or the queue
//! subscribed to the topic of `sns:publish.waitForTaskToken`), takes the
//! task token out of the message (the body's JSON, or the `Message` of an
//! SNS notification), and answers as the recording shows: SendTaskSuccess
//! with the recorded output, SendTaskFailure with the recorded error and
//! cause, and nothing when the task timed out (the test sent nothing).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use super::super::tasks::Recorded;
use super::{Http, call, resources};
use baton_interp::driver::TaskAnswer;

/// A running consumer.
pub struct Responder {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Result<Vec<Value>, String>>>,
}

impl Responder {
    /// Starts consuming `queue_url` for the recorded `.waitForTaskToken`
    /// tasks of one execution (in their recorded order). `None` when the
    /// recording answered none of them.
    pub fn start(
        h: &Http,
        queue_url: String,
        via_topic: bool,
        recorded: Vec<Recorded>,
    ) -> Option<Responder> {
        let answers: Vec<TaskAnswer> = recorded
            .into_iter()
            .filter(|r| {
                r.resource
                    .as_deref()
                    .is_some_and(|res| res.ends_with(".waitForTaskToken"))
            })
            .map(|r| r.answer)
            .collect();
        if answers.is_empty() {
            return None;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let mut client = h.client();
        let thread = std::thread::spawn(move || -> Result<Vec<Value>, String> {
            let mut answers = answers.into_iter();
            let mut received = Vec::new();
            while !stop2.load(Ordering::Relaxed) {
                let out = resources::sqs(
                    &mut client,
                    "ReceiveMessage",
                    &json!({"QueueUrl": queue_url, "WaitTimeSeconds": 1, "MaxNumberOfMessages": 10}),
                )?;
                let messages = out
                    .get("Messages")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                for m in messages {
                    let body = m.get("Body").and_then(Value::as_str).unwrap_or("");
                    let parsed: Value =
                        serde_json::from_str(body).unwrap_or(Value::String(body.into()));
                    let content = if via_topic {
                        match parsed.get("Message") {
                            Some(Value::String(s)) => {
                                serde_json::from_str(s).unwrap_or(Value::String(s.clone()))
                            }
                            Some(other) => other.clone(),
                            None => Value::Null,
                        }
                    } else {
                        parsed.clone()
                    };
                    received.push(parsed);
                    if let Some(handle) = m.get("ReceiptHandle").and_then(Value::as_str) {
                        resources::sqs(
                            &mut client,
                            "DeleteMessage",
                            &json!({"QueueUrl": queue_url, "ReceiptHandle": handle}),
                        )?;
                    }
                    let Some(token) = find_token(&content) else {
                        continue;
                    };
                    let Some(answer) = answers.next() else {
                        continue;
                    };
                    let r = match answer {
                        TaskAnswer::Succeed { output, .. } => call(
                            &mut client,
                            "SendTaskSuccess",
                            json!({"taskToken": token, "output": output.to_string()}),
                        )?,
                        TaskAnswer::Fail { error, cause, .. } => {
                            let mut body = json!({ "taskToken": token });
                            if let Some(e) = error {
                                body["error"] = Value::String(e);
                            }
                            if let Some(c) = cause {
                                body["cause"] = Value::String(c);
                            }
                            call(&mut client, "SendTaskFailure", body)?
                        }
                        TaskAnswer::Never { .. } => continue,
                    };
                    if !r.ok() {
                        return Err(format!("callback answered {} {}", r.status, r.body));
                    }
                }
            }
            Ok(received)
        });
        Some(Responder {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops consuming; returns the message bodies received, or the
    /// consumer's error.
    pub fn finish(mut self) -> Result<Vec<Value>, String> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err("the callback consumer panicked".into()),
            None => Ok(Vec::new()),
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The task token in a message: the value of a `TaskToken` member at any
/// depth (as the tests' templates pass `$$.Task.Token`).
fn find_token(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(t)) = m.get("TaskToken") {
                return Some(t.clone());
            }
            m.values().find_map(find_token)
        }
        Value::Array(items) => items.iter().find_map(find_token),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_at_any_depth() {
        assert_eq!(
            find_token(&json!({"Context": {"a": 1}, "TaskToken": "t1"})),
            Some("t1".into())
        );
        assert_eq!(
            find_token(&json!({"Input": [{"x": {"TaskToken": "t2"}}]})),
            Some("t2".into())
        );
        assert_eq!(find_token(&json!({"Context": {"QueueUrl": "q"}})), None);
    }
}
