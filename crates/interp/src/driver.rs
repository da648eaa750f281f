//! Runs one execution to its end in process, with virtual time: timers fire
//! in due order without sleeping, tasks are answered by a [`TaskHandler`].
//! Used by `baton run-local`, the conformance runner, benchmarks and tests.
//!
//! PLACEHOLDER INTERFACE: the implementation lands with the interpreter.

use serde_json::Value;

use baton_asl::{Definition, Env};

use crate::HistoryEvent;

/// Names and ids of a new execution (what the Context Object and
/// ExecutionStarted show).
#[derive(Debug, Clone)]
pub struct StartContext {
    pub execution_arn: String,
    pub execution_name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub role_arn: String,
    /// The execution's input (already parsed).
    pub input: Value,
    /// Region the execution runs in (recorded in TaskScheduled).
    pub region: String,
}

/// A task the execution wants run.
#[derive(Debug, Clone)]
pub struct TaskRequest {
    /// The Task state's name.
    pub state_name: String,
    /// `Resource` as written.
    pub resource: String,
    /// The effective parameters (after InputPath and Parameters).
    pub parameters: Value,
    /// The task token, for `.waitForTaskToken` tasks and activities.
    pub token: Option<String>,
    /// 0 for the first attempt, then one more per retry.
    pub attempt: u32,
}

/// How a task ends.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskAnswer {
    /// The task succeeded with `output`. `submitted` is the integration's
    /// immediate response for `.sync`/`.waitForTaskToken` tasks (TaskSubmitted).
    Succeed { output: Value, submitted: Option<Value> },
    /// The task failed.
    Fail { error: Option<String>, cause: Option<String>, submitted: Option<Value> },
    /// The task never answers: its timeout or heartbeat timer decides.
    Never { submitted: Option<Value> },
}

/// Answers Task states.
pub trait TaskHandler {
    /// Answers one task request.
    fn invoke(&mut self, request: &TaskRequest) -> TaskAnswer;
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    /// AWS's `ExecutionStatus` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// The end of an execution run by [`run`].
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    /// The output, on success.
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// The whole history (empty when history is not kept).
    pub events: Vec<HistoryEvent>,
    /// States entered (the transitions a benchmark counts).
    pub states_entered: u64,
}

/// Options for [`run`].
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Keep the history (Standard) or not (Express).
    pub keep_history: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { keep_history: true }
    }
}

/// Runs `definition` from start to end.
pub fn run(
    _definition: &Definition,
    _start: StartContext,
    _tasks: &mut dyn TaskHandler,
    _env: &mut dyn Env,
    _options: &RunOptions,
) -> Outcome {
    Outcome {
        status: Status::Failed,
        output: None,
        error: Some("States.Runtime".into()),
        cause: Some("the interpreter is not built yet".into()),
        events: Vec::new(),
        states_entered: 0,
    }
}
