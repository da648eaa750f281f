//! Runs one execution to its end in process, with virtual time: timers fire
//! in due order without sleeping, tasks are answered by a [`TaskHandler`].
//! Used by `baton run-local`, the conformance runner, benchmarks and tests.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde_json::Value;

use baton_asl::{Definition, Env};

use crate::HistoryEvent;
use crate::command::{Command, Input, TimerId};
pub use crate::command::{Status, TaskRequest};
use crate::context::PlainTokens;
pub use crate::context::StartContext;
use crate::exec::{Execution, to_text};

/// How a task ends.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskAnswer {
    /// The task succeeded with `output`. `submitted` is the integration's
    /// immediate response for `.sync`/`.waitForTaskToken` tasks (TaskSubmitted).
    Succeed {
        output: Value,
        submitted: Option<Value>,
    },
    /// The task failed.
    Fail {
        error: Option<String>,
        cause: Option<String>,
        submitted: Option<Value>,
    },
    /// The task never answers: its timeout or heartbeat timer decides.
    Never { submitted: Option<Value> },
}

/// Answers Task states.
pub trait TaskHandler {
    /// Answers one task request.
    fn invoke(&mut self, request: &TaskRequest) -> TaskAnswer;

    /// The worker that picks up an activity task (ActivityStarted).
    fn worker_name(&mut self, _request: &TaskRequest) -> Option<String> {
        None
    }
}

/// The end of an execution run by [`run`].
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `Running` when the execution waits for something that never comes.
    pub status: Status,
    /// The output, on success.
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// The whole history (empty when history is not kept).
    pub events: Vec<HistoryEvent>,
    /// States entered (the transitions a benchmark counts).
    pub states_entered: u64,
    /// Virtual time the execution took, in milliseconds.
    pub elapsed_millis: i64,
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

/// An [`Env`] whose clock the driver moves.
struct Clocked<'a> {
    inner: &'a mut dyn Env,
    now: i64,
}

impl Env for Clocked<'_> {
    fn now_millis(&self) -> i64 {
        self.now
    }
    fn uuid_v4(&mut self) -> String {
        self.inner.uuid_v4()
    }
    fn random_f64(&mut self) -> f64 {
        self.inner.random_f64()
    }
}

/// Runs `definition` from start to end.
pub fn run(
    definition: &Definition,
    mut start: StartContext,
    tasks: &mut dyn TaskHandler,
    env: &mut dyn Env,
    options: &RunOptions,
) -> Outcome {
    start.keep_history = options.keep_history;
    start.history_cap = options.keep_history;
    let started_at = env.now_millis();
    let mut clock = Clocked {
        now: started_at,
        inner: env,
    };
    let mut exec = Execution::new(start, clock.now);
    let mut tokens = PlainTokens;
    let mut queue: VecDeque<Input> = VecDeque::from([Input::Start]);
    let mut timers: BTreeSet<(i64, TimerId)> = BTreeSet::new();
    let mut due_of: BTreeMap<TimerId, i64> = BTreeMap::new();
    let mut events = Vec::new();
    let mut states_entered = 0;
    loop {
        let input = match queue.pop_front() {
            Some(i) => i,
            None => match timers.pop_first() {
                Some((due, timer)) => {
                    due_of.remove(&timer);
                    clock.now = clock.now.max(due);
                    Input::TimerFired { timer }
                }
                None => break,
            },
        };
        let t = exec.step(definition, input, &mut clock, &mut tokens);
        events.extend(t.events);
        states_entered += t.states_entered;
        if t.completion.is_some() {
            break;
        }
        for cmd in t.commands {
            match cmd {
                Command::InvokeTask(req) => {
                    if req.resource.contains(":activity:") {
                        let worker_name = tasks.worker_name(&req);
                        queue.push_back(Input::TaskStarted {
                            task: req.task,
                            worker_name,
                        });
                    }
                    let task = req.task;
                    let (submitted, result) = match tasks.invoke(&req) {
                        TaskAnswer::Succeed { output, submitted } => (
                            submitted,
                            Some(Input::TaskSucceeded {
                                task,
                                output: to_text(&output),
                            }),
                        ),
                        TaskAnswer::Fail {
                            error,
                            cause,
                            submitted,
                        } => (submitted, Some(Input::TaskFailed { task, error, cause })),
                        TaskAnswer::Never { submitted } => (submitted, None),
                    };
                    if crate::resource::needs_submit(&req.resource) {
                        let output = submitted.unwrap_or_else(|| Value::Object(Default::default()));
                        queue.push_back(Input::TaskSubmitted { task, output });
                    }
                    queue.extend(result);
                }
                Command::ArmTimer { timer, due, .. } => {
                    timers.insert((due, timer));
                    due_of.insert(timer, due);
                }
                Command::CancelTimer { timer } => {
                    if let Some(due) = due_of.remove(&timer) {
                        timers.remove(&(due, timer));
                    }
                }
                Command::CancelTask { .. } => {}
                Command::Continue => queue.push_back(Input::Continue),
            }
        }
    }
    let elapsed_millis = clock.now - started_at;
    match exec.completion() {
        Some(c) => Outcome {
            status: c.status,
            output: c
                .output
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok()),
            error: c.error.clone(),
            cause: c.cause.clone(),
            events,
            states_entered,
            elapsed_millis,
        },
        None => Outcome {
            status: Status::Running,
            output: None,
            error: None,
            cause: None,
            events,
            states_entered,
            elapsed_millis,
        },
    }
}
