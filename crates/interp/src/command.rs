//! What goes into a step ([`Input`]) and what comes out of it ([`Command`],
//! [`Transition`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::HistoryEvent;

/// Identifies one task invocation (one attempt of one Task state entry)
/// within an execution.
pub type TaskId = u64;

/// Identifies one timer within an execution.
pub type TimerId = u64;

/// Something that happened to an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// The execution starts (records ExecutionStarted and enters `StartAt`).
    Start,
    /// An activity worker picked the task up (activities only:
    /// ActivityStarted).
    TaskStarted {
        task: TaskId,
        worker_name: Option<String>,
    },
    /// The integration accepted a `.sync` or `.waitForTaskToken` task; `output`
    /// is its immediate response (TaskSubmitted).
    TaskSubmitted { task: TaskId, output: Value },
    /// The task succeeded; `output` is the result as JSON text, recorded
    /// verbatim.
    TaskSucceeded { task: TaskId, output: String },
    /// The task failed.
    TaskFailed {
        task: TaskId,
        error: Option<String>,
        cause: Option<String>,
    },
    /// A heartbeat arrived for the task (no event is recorded).
    TaskHeartbeat { task: TaskId },
    /// A timer armed by a [`Command::ArmTimer`] is due.
    TimerFired { timer: TimerId },
    /// StopExecution.
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
    /// Go on after a step that ended with [`Command::Continue`].
    Continue,
    /// RedriveExecution: a FAILED, ABORTED or TIMED_OUT execution enters
    /// again the state where it stopped (ExecutionRedriven). Ignored when
    /// the execution cannot be redriven.
    Redrive,
}

/// A task the host must run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub task: TaskId,
    /// The Task state's name.
    pub state_name: String,
    /// `Resource` as written.
    pub resource: String,
    /// The effective parameters (after InputPath and Parameters).
    pub parameters: Value,
    /// The task token (`.waitForTaskToken` tasks and activities).
    pub token: Option<String>,
    /// 0 for the first attempt, then one more per retry.
    pub attempt: u32,
    pub timeout_seconds: Option<u64>,
    pub heartbeat_seconds: Option<u64>,
    /// Evaluated `Credentials`, if any.
    pub credentials: Option<Value>,
}

/// What the host must do after committing a transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Run a task; report back with `TaskSubmitted` / `TaskSucceeded` /
    /// `TaskFailed` inputs.
    InvokeTask(Box<TaskRequest>),
    /// The task is no longer wanted (its branch was aborted or the execution
    /// stopped); late answers are refused.
    CancelTask { task: TaskId },
    /// Feed `TimerFired { timer }` at `due` (epoch ms) or later.
    ArmTimer {
        timer: TimerId,
        due: i64,
        kind: TimerKind,
    },
    /// The timer is no longer wanted.
    CancelTimer { timer: TimerId },
    /// The step stopped early to bound its work: feed `Input::Continue`.
    Continue,
}

/// What a timer is for (hosts may scale waits differently from deadlines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerKind {
    /// A Wait state.
    Wait,
    /// A retry's back-off.
    Backoff,
    /// A task's `TimeoutSeconds`.
    TaskTimeout,
    /// A task's `HeartbeatSeconds`.
    Heartbeat,
    /// The execution's own `TimeoutSeconds`.
    Execution,
}

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Not ended (a local run that waits for something that never comes).
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    /// AWS's `ExecutionStatus` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }
}

/// The end of an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    pub status: Status,
    /// The output as JSON text, on success.
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// The result of one step: the events to append and the commands to run once
/// they are committed. The execution state itself is updated in place.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transition {
    pub events: Vec<HistoryEvent>,
    pub commands: Vec<Command>,
    /// Set when the execution ended in this step.
    pub completion: Option<Completion>,
    /// States entered in this step.
    pub states_entered: u64,
}
