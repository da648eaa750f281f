//! The execution state and the step function.
//!
//! An execution is a tree of frames: the top level, and one frame per running
//! Parallel branch or Map iteration. Each frame runs one state at a time. A
//! step feeds one [`Input`] in, lets every frame that can move run until it
//! waits (for a task, a timer or its children) or ends, and returns the
//! history events and commands that came out.

use std::borrow::Cow;
use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use baton_asl::error::names;
use baton_asl::model::{
    Assign, Catcher, ChoiceRule, Definition, Dynamic, Graph, Jitter, Operand, PathField, Recovery,
    State, StateKind, Text, Transition as Next, WaitFor,
};
use baton_asl::path::{Path, Root};
use baton_asl::payload::{Scope, Template, Vars};
use baton_asl::{Env, StatesError};

use crate::command::{
    Command, Completion, Input, Status, TaskId, TaskRequest, TimerId, TimerKind, Transition,
};
use crate::context::{StartContext, TokenMinter};
use crate::event::{EventType, HistoryEvent};
use crate::resource::{self, TaskKind};

/// The most events a Standard execution may have.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;
/// The largest payload (state input/output, task result), in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
/// The largest workflow variable, and the most one `Assign` may set.
pub const MAX_VARIABLE_BYTES: usize = 256 * 1024;
/// The most all of an execution's variables may take.
pub const MAX_EXECUTION_VARIABLE_BYTES: usize = 10 * 1024 * 1024;
/// How many states one step enters at most before it yields with
/// [`Command::Continue`].
pub const STEP_BUDGET: u64 = 10_000;
/// The most iterations an inline Map runs at once.
const INLINE_MAP_MAX_CONCURRENCY: usize = 40;

type FrameId = usize;

/// The durable state of one execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Execution {
    ctx: StartContext,
    start_time: i64,
    next_event_id: u64,
    next_task: TaskId,
    next_timer: TimerId,
    frames: Vec<Option<Frame>>,
    tasks: BTreeMap<TaskId, FrameId>,
    timers: BTreeMap<TimerId, TimerPurpose>,
    paused: Vec<FrameId>,
    completion: Option<Completion>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Frame {
    parent: Option<FrameId>,
    /// Branch or iteration index in the parent.
    index: usize,
    /// How to find this frame's graph from the definition's top level:
    /// (state index, branch index) pairs.
    graph: Vec<(usize, usize)>,
    /// Variables assigned in this scope.
    vars: IndexMap<String, Value>,
    /// The last event in this frame's causal chain (`previousEventId`).
    chain: u64,
    cur: Cur,
    /// Where the frame failed or was aborted (state index, raw input): a
    /// redrive enters that state again.
    #[serde(default)]
    failed_at: Option<(usize, Value)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Cur {
    /// About to enter `state` with `input`.
    Enter { state: usize, input: Value },
    /// Inside a state, waiting for something.
    Active(Box<Active>),
    /// Finished with this output.
    Done(Value),
    /// Failed with this error.
    Failed(StatesError),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Active {
    state: usize,
    entered_id: u64,
    entered_time: i64,
    /// The raw state input (before InputPath).
    input: Value,
    /// Attempts used per retrier.
    retries: Vec<u32>,
    /// Retries so far (`$$.State.RetryCount`).
    retry_count: u32,
    wait: Await,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Await {
    Task(TaskWait),
    Timer(TimerId),
    Backoff(TimerId),
    Children(Children),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TaskWait {
    task: TaskId,
    kind: TaskKind,
    timeout_timer: Option<TimerId>,
    heartbeat_timer: Option<TimerId>,
    heartbeat_seconds: Option<u64>,
    /// The result arrived before TaskSubmitted was recorded (a callback can
    /// overtake the dispatch): it is applied once the submission is recorded.
    early: Option<Box<Input>>,
    submitted: bool,
    started: bool,
    needs_submit: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Children {
    map: bool,
    frames: Vec<Option<FrameId>>,
    results: Vec<Option<Value>>,
    /// Map: the items (after ItemsPath); the iteration inputs are built when
    /// an iteration starts.
    items: Vec<Value>,
    /// Map: the effective input (for ItemSelector's `$`).
    effective: Value,
    next: usize,
    running: usize,
    max: usize,
    /// Where the next iteration's MapIterationStarted points.
    chain: u64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum TimerPurpose {
    Wait(FrameId),
    Backoff(FrameId),
    TaskTimeout(FrameId, TaskId),
    Heartbeat(FrameId, TaskId),
    Execution,
}

/// A state-level error on its way to Retry/Catch.
struct Failure {
    error: StatesError,
    heartbeat: bool,
    /// `MapStateFailed`/`ParallelStateFailed`, recorded only when neither a
    /// retrier takes the error (a retried Map or Parallel records nothing).
    state_failed: Option<EventType>,
}

impl From<StatesError> for Failure {
    fn from(error: StatesError) -> Self {
        Failure {
            error,
            heartbeat: false,
            state_failed: None,
        }
    }
}

/// Everything a step needs besides the execution itself.
struct Step<'a> {
    exec: &'a mut Execution,
    def: &'a Definition,
    env: &'a mut dyn Env,
    tokens: &'a mut dyn TokenMinter,
    out: Transition,
}

impl Execution {
    /// A new execution, not started yet: feed [`Input::Start`].
    pub fn new(ctx: StartContext, now: i64) -> Self {
        Execution {
            ctx,
            start_time: now,
            next_event_id: 1,
            next_task: 1,
            next_timer: 1,
            frames: Vec::new(),
            tasks: BTreeMap::new(),
            timers: BTreeMap::new(),
            paused: Vec::new(),
            completion: None,
        }
    }

    /// The identity the execution was started with.
    pub fn context(&self) -> &StartContext {
        &self.ctx
    }

    /// How the execution ended, once it has.
    pub fn completion(&self) -> Option<&Completion> {
        self.completion.as_ref()
    }

    /// Events recorded so far.
    pub fn event_count(&self) -> u64 {
        self.next_event_id - 1
    }

    /// Whether a step stopped early and waits for [`Input::Continue`].
    pub fn has_paused(&self) -> bool {
        !self.exec_paused_is_empty()
    }

    fn exec_paused_is_empty(&self) -> bool {
        self.paused.is_empty()
    }

    /// The `Resource` of an awaited task.
    pub fn task_resource<'d>(&self, def: &'d Definition, task: TaskId) -> Option<&'d str> {
        let fid = *self.tasks.get(&task)?;
        let frame = self.frames.get(fid)?.as_ref()?;
        let Cur::Active(active) = &frame.cur else {
            return None;
        };
        let graph = graph_at(def, &frame.graph)?;
        match &graph.states.get_index(active.state)?.1.kind {
            StateKind::Task(t) => Some(t.resource.as_str()),
            _ => None,
        }
    }

    /// Whether `task` is still awaited (a callback for anything else is late).
    pub fn awaits_task(&self, task: TaskId) -> bool {
        self.tasks.contains_key(&task)
    }

    /// Feeds one input and runs every frame that can move.
    pub fn step(
        &mut self,
        def: &Definition,
        input: Input,
        env: &mut dyn Env,
        tokens: &mut dyn TokenMinter,
    ) -> Transition {
        let mut step = Step {
            exec: self,
            def,
            env,
            tokens,
            out: Transition::default(),
        };
        if input == Input::Redrive {
            step.redrive();
        } else if step.exec.completion.is_none() {
            step.apply(input);
        }
        step.out
    }
}

impl<'a> Step<'a> {
    // ----- plumbing -------------------------------------------------------

    fn now(&self) -> i64 {
        self.env.now_millis()
    }

    fn halted(&self) -> bool {
        self.exec.completion.is_some()
    }

    /// Records an event; returns its id.
    fn emit(&mut self, prev: u64, ty: EventType, details: Option<Map<String, Value>>) -> u64 {
        if self.halted() {
            return 0;
        }
        let id = self.exec.next_event_id;
        if self.exec.ctx.history_cap && id == MAX_HISTORY_EVENTS && ty != EventType::ExecutionFailed
        {
            self.finish_with_failure(
                prev,
                StatesError::runtime(format!(
                    "The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."
                )),
            );
            return 0;
        }
        self.exec.next_event_id += 1;
        if self.exec.ctx.keep_history {
            let timestamp = self.now();
            self.out.events.push(HistoryEvent {
                id,
                previous_event_id: prev,
                timestamp,
                r#type: ty,
                details,
            });
        }
        id
    }

    /// Records an event in `fid`'s chain.
    fn emit_in(&mut self, fid: FrameId, ty: EventType, details: Option<Map<String, Value>>) -> u64 {
        let prev = self.frame(fid).map_or(0, |f| f.chain);
        let id = self.emit(prev, ty, details);
        if let Some(f) = self.frame_mut(fid) {
            f.chain = id;
        }
        id
    }

    fn keep(&self) -> bool {
        self.exec.ctx.keep_history
    }

    fn frame(&self, fid: FrameId) -> Option<&Frame> {
        self.exec.frames.get(fid).and_then(Option::as_ref)
    }

    fn frame_mut(&mut self, fid: FrameId) -> Option<&mut Frame> {
        self.exec.frames.get_mut(fid).and_then(Option::as_mut)
    }

    fn new_frame(&mut self, frame: Frame) -> FrameId {
        if let Some(i) = self.exec.frames.iter().position(Option::is_none) {
            self.exec.frames[i] = Some(frame);
            i
        } else {
            self.exec.frames.push(Some(frame));
            self.exec.frames.len() - 1
        }
    }

    fn graph_of(&self, fid: FrameId) -> Option<&'a Graph> {
        let def: &'a Definition = self.def;
        let frame = self.frame(fid)?;
        graph_at(def, &frame.graph)
    }

    /// The state at `index` in `fid`'s graph, borrowed from the definition
    /// (not from the step, so the step stays mutable).
    fn state_of(&self, fid: FrameId, index: usize) -> Option<&'a State> {
        self.graph_of(fid)
            .and_then(|g| g.states.get_index(index))
            .map(|(_, s)| s)
    }

    fn arm_timer(&mut self, purpose: TimerPurpose, due: i64) -> TimerId {
        let id = self.exec.next_timer;
        self.exec.next_timer += 1;
        self.exec.timers.insert(id, purpose);
        let kind = match purpose {
            TimerPurpose::Wait(_) => TimerKind::Wait,
            TimerPurpose::Backoff(_) => TimerKind::Backoff,
            TimerPurpose::TaskTimeout(..) => TimerKind::TaskTimeout,
            TimerPurpose::Heartbeat(..) => TimerKind::Heartbeat,
            TimerPurpose::Execution => TimerKind::Execution,
        };
        self.out.commands.push(Command::ArmTimer {
            timer: id,
            due,
            kind,
        });
        id
    }

    fn cancel_timer(&mut self, timer: Option<TimerId>) {
        if let Some(t) = timer
            && self.exec.timers.remove(&t).is_some()
        {
            self.out.commands.push(Command::CancelTimer { timer: t });
        }
    }

    // ----- inputs ---------------------------------------------------------

    fn apply(&mut self, input: Input) {
        match input {
            Input::Start => self.start(),
            Input::Continue => {
                let paused = std::mem::take(&mut self.exec.paused);
                for fid in paused {
                    self.settle(fid);
                }
            }
            Input::TimerFired { timer } => self.timer_fired(timer),
            Input::Stop { error, cause } => self.stop(error, cause),
            Input::TaskHeartbeat { task } => self.heartbeat(task),
            Input::Redrive => {}
            Input::TaskStarted { .. }
            | Input::TaskSubmitted { .. }
            | Input::TaskSucceeded { .. }
            | Input::TaskFailed { .. } => self.task_input(input),
        }
    }

    fn start(&mut self) {
        if !self.exec.frames.is_empty() {
            return;
        }
        let input_text = match &self.exec.ctx.input_text {
            Some(t) => t.clone(),
            None => to_text(&self.exec.ctx.input),
        };
        let details = self.keep().then(|| {
            obj([
                ("input", Value::String(input_text)),
                ("inputDetails", json!({"truncated": false})),
                ("roleArn", Value::String(self.exec.ctx.role_arn.clone())),
            ])
        });
        self.emit(0, EventType::ExecutionStarted, details);
        if let Some(t) = self.def.timeout_seconds {
            let due = self.now() + (t as i64) * 1000;
            self.arm_timer(TimerPurpose::Execution, due);
        }
        let input = self.exec.ctx.input.clone();
        let root = self.new_frame(Frame {
            parent: None,
            index: 0,
            graph: Vec::new(),
            vars: IndexMap::new(),
            chain: 0,
            cur: Cur::Enter {
                state: self.def.graph.start,
                input,
            },
            failed_at: None,
        });
        self.settle(root);
    }

    /// Enters again the state where the execution failed, was aborted or
    /// timed out.
    fn redrive(&mut self) {
        match &self.exec.completion {
            Some(c) if c.status != Status::Succeeded => {}
            _ => return,
        }
        let Some((state, input)) = self.frame(0).and_then(|f| f.failed_at.clone()) else {
            return;
        };
        for f in self.exec.frames.iter_mut().skip(1) {
            *f = None;
        }
        self.exec.completion = None;
        self.exec.paused.clear();
        self.exec.tasks.clear();
        self.exec.timers.clear();
        self.exec.ctx.redrive_count += 1;
        let prev = self.exec.next_event_id - 1;
        let details = obj([("redriveCount", Value::from(self.exec.ctx.redrive_count))]);
        let id = self.emit(prev, EventType::ExecutionRedriven, Some(details));
        if let Some(root) = self.frame_mut(0) {
            root.failed_at = None;
            root.chain = id;
            root.cur = Cur::Enter { state, input };
        }
        self.settle(0);
    }

    fn timer_fired(&mut self, timer: TimerId) {
        let Some(purpose) = self.exec.timers.remove(&timer) else {
            return;
        };
        match purpose {
            TimerPurpose::Execution => {
                self.abort_all();
                let prev = self.exec.next_event_id - 1;
                let details = obj([("error", Value::from(names::TIMEOUT))]);
                self.emit(prev, EventType::ExecutionTimedOut, Some(details));
                self.complete(Completion {
                    status: Status::TimedOut,
                    output: None,
                    error: Some(names::TIMEOUT.into()),
                    cause: None,
                });
            }
            TimerPurpose::Wait(fid) => {
                let Some(Cur::Active(active)) = self.frame(fid).map(|f| f.cur.clone()) else {
                    return;
                };
                if !matches!(active.wait, Await::Timer(t) if t == timer) {
                    return;
                }
                if let Some(state) = self.state_of(fid, active.state) {
                    let input = active.input.clone();
                    let r = self
                        .effective_input(fid, &state, &active, &input)
                        .and_then(|eff| {
                            let out = self.output_path(fid, state, &active, eff.into_owned())?;
                            Ok(out)
                        });
                    match r {
                        Ok(out) => {
                            let assigned = match self.assign(
                                fid,
                                &state,
                                &active,
                                state.io.assign.as_ref(),
                                &input,
                            ) {
                                Ok(a) => a,
                                Err(e) => return self.fail_and_settle(fid, e.into()),
                            };
                            self.exit_state(fid, &state, out, assigned);
                        }
                        Err(e) => return self.fail_and_settle(fid, e.into()),
                    }
                }
                self.settle(fid);
            }
            TimerPurpose::Backoff(fid) => {
                let Some(Cur::Active(active)) = self.frame(fid).map(|f| f.cur.clone()) else {
                    return;
                };
                if !matches!(active.wait, Await::Backoff(t) if t == timer) {
                    return;
                }
                if let Some(state) = self.state_of(fid, active.state) {
                    self.run_state_body(fid, &state, *active);
                }
                self.settle(fid);
            }
            TimerPurpose::TaskTimeout(fid, task) | TimerPurpose::Heartbeat(fid, task) => {
                let heartbeat = matches!(purpose, TimerPurpose::Heartbeat(..));
                if self.exec.tasks.get(&task) != Some(&fid) {
                    return;
                }
                self.task_timed_out(fid, task, heartbeat);
                self.settle(fid);
            }
        }
    }

    /// StopExecution: AWS records only ExecutionAborted (previousEventId 0),
    /// no aborted state.
    fn stop(&mut self, error: Option<String>, cause: Option<String>) {
        if let Some(root) = self.exec.frames.iter().position(Option::is_some) {
            self.abort_frame(root, 0, false);
        }
        let prev = 0;
        let mut d = Map::new();
        if let Some(e) = &error {
            d.insert("error".into(), Value::from(e.clone()));
        }
        if let Some(c) = &cause {
            d.insert("cause".into(), Value::from(c.clone()));
        }
        self.emit(prev, EventType::ExecutionAborted, Some(d));
        self.complete(Completion {
            status: Status::Aborted,
            output: None,
            error,
            cause,
        });
    }

    fn heartbeat(&mut self, task: TaskId) {
        let Some(&fid) = self.exec.tasks.get(&task) else {
            return;
        };
        let Some(Cur::Active(active)) = self.frame(fid).map(|f| f.cur.clone()) else {
            return;
        };
        let Await::Task(mut tw) = active.wait.clone() else {
            return;
        };
        let Some(secs) = tw.heartbeat_seconds else {
            return;
        };
        if !tw.started {
            return;
        }
        self.cancel_timer(tw.heartbeat_timer);
        let due = self.now() + secs as i64 * 1000;
        tw.heartbeat_timer = Some(self.arm_timer(TimerPurpose::Heartbeat(fid, task), due));
        self.set_wait(fid, Await::Task(tw));
    }

    fn set_wait(&mut self, fid: FrameId, wait: Await) {
        if let Some(Frame {
            cur: Cur::Active(a),
            ..
        }) = self.frame_mut(fid)
        {
            a.wait = wait;
        }
    }

    // ----- frames ---------------------------------------------------------

    /// Runs `fid` until it waits or ends; then lets its parents react, up the
    /// tree.
    fn settle(&mut self, mut fid: FrameId) {
        loop {
            if self.halted() {
                return;
            }
            self.run_frame(fid);
            let Some(frame) = self.frame(fid) else { return };
            let finished = matches!(frame.cur, Cur::Done(_) | Cur::Failed(_));
            if !finished {
                return;
            }
            match frame.parent {
                None => {
                    self.finish_root(fid);
                    return;
                }
                Some(parent) => {
                    self.child_finished(parent, fid);
                    fid = parent;
                }
            }
        }
    }

    /// Runs one frame's states until it waits or ends.
    fn run_frame(&mut self, fid: FrameId) {
        loop {
            if self.halted() {
                return;
            }
            let Some(frame) = self.frame(fid) else { return };
            let Cur::Enter { state, .. } = &frame.cur else {
                return;
            };
            let state = *state;
            if self.out.states_entered >= STEP_BUDGET {
                if !self.exec.paused.contains(&fid) {
                    self.exec.paused.push(fid);
                }
                if !self.out.commands.contains(&Command::Continue) {
                    self.out.commands.push(Command::Continue);
                }
                return;
            }
            let input = match self
                .frame_mut(fid)
                .map(|f| std::mem::replace(&mut f.cur, Cur::Done(Value::Null)))
            {
                Some(Cur::Enter { input, .. }) => input,
                _ => return,
            };
            self.enter(fid, state, input);
        }
    }

    fn finish_root(&mut self, fid: FrameId) {
        let Some(frame) = self.frame(fid) else { return };
        let chain = frame.chain;
        match frame.cur.clone() {
            Cur::Done(output) => {
                let text = to_text(&output);
                let details = self.keep().then(|| {
                    obj([
                        ("output", Value::String(text.clone())),
                        ("outputDetails", json!({"truncated": false})),
                    ])
                });
                self.emit(chain, EventType::ExecutionSucceeded, details);
                self.complete(Completion {
                    status: Status::Succeeded,
                    output: Some(text),
                    error: None,
                    cause: None,
                });
            }
            Cur::Failed(err) => self.finish_with_failure(chain, err),
            _ => {}
        }
    }

    fn finish_with_failure(&mut self, prev: u64, err: StatesError) {
        if self.halted() {
            return;
        }
        self.abort_all_quietly();
        let mut d = Map::new();
        if let Some(c) = &err.cause {
            d.insert("cause".into(), Value::from(c.clone()));
        }
        if !err.error.is_empty() {
            d.insert("error".into(), Value::from(err.error.clone()));
        }
        // Bypass the history cap check: this is the event that ends it.
        let id = self.exec.next_event_id;
        self.exec.next_event_id += 1;
        if self.keep() {
            let timestamp = self.now();
            self.out.events.push(HistoryEvent {
                id,
                previous_event_id: prev,
                timestamp,
                r#type: EventType::ExecutionFailed,
                details: Some(d),
            });
        }
        self.complete(Completion {
            status: Status::Failed,
            output: None,
            error: (!err.error.is_empty()).then_some(err.error),
            cause: err.cause,
        });
    }

    fn complete(&mut self, completion: Completion) {
        self.cancel_all_timers();
        self.exec.completion = Some(completion.clone());
        self.out.completion = Some(completion);
        self.exec.paused.clear();
    }

    fn cancel_all_timers(&mut self) {
        let timers: Vec<TimerId> = self.exec.timers.keys().copied().collect();
        for t in timers {
            self.cancel_timer(Some(t));
        }
    }

    /// Aborts every running frame, recording the aborted states (stop,
    /// execution timeout).
    fn abort_all(&mut self) {
        if let Some(root) = self.exec.frames.iter().position(Option::is_some) {
            let prev = self.exec.next_event_id - 1;
            self.abort_frame(root, prev, true);
        }
    }

    /// Cancels every task and timer without recording events (the execution
    /// failed).
    fn abort_all_quietly(&mut self) {
        let tasks: Vec<TaskId> = self.exec.tasks.keys().copied().collect();
        for t in tasks {
            self.out.commands.push(Command::CancelTask { task: t });
        }
        self.exec.tasks.clear();
        self.cancel_all_timers();
    }

    /// Aborts `fid` and its children: cancels their tasks and timers and, with
    /// `record`, records `…StateAborted` for each active state, pointing at
    /// `prev`.
    fn abort_frame(&mut self, fid: FrameId, prev: u64, record: bool) {
        let Some(frame) = self.frame(fid) else { return };
        let Cur::Active(active) = frame.cur.clone() else {
            return;
        };
        let ty = self.state_of(fid, active.state).map(|s| match s.kind {
            StateKind::Task(_) => EventType::TaskStateAborted,
            StateKind::Wait(_) => EventType::WaitStateAborted,
            StateKind::Parallel(_) => EventType::ParallelStateAborted,
            StateKind::Map(_) => EventType::MapStateAborted,
            _ => EventType::TaskStateAborted,
        });
        match &active.wait {
            Await::Task(tw) => {
                self.exec.tasks.remove(&tw.task);
                self.out
                    .commands
                    .push(Command::CancelTask { task: tw.task });
                self.cancel_timer(tw.timeout_timer);
                self.cancel_timer(tw.heartbeat_timer);
            }
            Await::Timer(t) | Await::Backoff(t) => self.cancel_timer(Some(*t)),
            Await::Children(ch) => {
                for (i, c) in ch.frames.iter().enumerate() {
                    if let Some(c) = c {
                        if ch.map && record {
                            let d = obj([
                                ("index", Value::from(i)),
                                ("name", Value::from(self.state_name(fid, active.state))),
                            ]);
                            self.abort_frame(*c, prev, record);
                            self.emit(prev, EventType::MapIterationAborted, Some(d));
                        } else {
                            self.abort_frame(*c, prev, record);
                        }
                        self.exec.frames[*c] = None;
                    }
                }
            }
        }
        if record && let Some(ty) = ty {
            self.emit(prev, ty, None);
        }
        if let Some(f) = self.frame_mut(fid) {
            f.failed_at = Some((active.state, active.input.clone()));
            f.cur = Cur::Failed(StatesError::bare("States.Aborted"));
        }
    }

    /// Whether `fid` is a branch of a Parallel state.
    fn in_parallel_branch(&self, fid: FrameId) -> bool {
        let Some(parent) = self.frame(fid).and_then(|f| f.parent) else {
            return false;
        };
        matches!(self.frame(parent).map(|f| &f.cur), Some(Cur::Active(a)) if matches!(&a.wait, Await::Children(ch) if !ch.map))
    }

    fn state_name(&self, fid: FrameId, index: usize) -> String {
        self.graph_of(fid)
            .and_then(|g| g.states.get_index(index))
            .map(|(n, _)| n.clone())
            .unwrap_or_default()
    }

    // ----- entering and running states ---------------------------------------

    fn enter(&mut self, fid: FrameId, index: usize, input: Value) {
        let Some(state) = self.state_of(fid, index) else {
            self.set_cur(
                fid,
                Cur::Failed(StatesError::runtime(
                    "The state machine refers to a state that does not exist.",
                )),
            );
            return;
        };
        self.out.states_entered += 1;
        let entered_ty = match state.kind {
            StateKind::Pass(_) => EventType::PassStateEntered,
            StateKind::Task(_) => EventType::TaskStateEntered,
            StateKind::Choice(_) => EventType::ChoiceStateEntered,
            StateKind::Wait(_) => EventType::WaitStateEntered,
            StateKind::Succeed => EventType::SucceedStateEntered,
            StateKind::Fail(_) => EventType::FailStateEntered,
            StateKind::Parallel(_) => EventType::ParallelStateEntered,
            StateKind::Map(_) => EventType::MapStateEntered,
        };
        let details = self.keep().then(|| {
            obj([
                ("input", Value::String(to_text(&input))),
                ("inputDetails", json!({"truncated": false})),
                ("name", Value::String(state.name.clone())),
            ])
        });
        let entered_id = self.emit_in(fid, entered_ty, details);
        let retries = vec![0; recovery_of(&state).map_or(0, |r| r.retry.len())];
        let active = Active {
            state: index,
            entered_id,
            entered_time: self.now(),
            input,
            retries,
            retry_count: 0,
            wait: Await::Timer(0),
        };
        self.run_state_body(fid, &state, active);
    }

    fn set_cur(&mut self, fid: FrameId, cur: Cur) {
        if let Some(f) = self.frame_mut(fid) {
            f.cur = cur;
        }
    }

    /// Runs a state's body after StateEntered (or again, after a retry's
    /// back-off).
    fn run_state_body(&mut self, fid: FrameId, state: &State, active: Active) {
        let mut active = active;
        let r = match &state.kind {
            StateKind::Pass(p) => self.run_pass(fid, state, &mut active, p.result.as_ref()),
            StateKind::Choice(_) => self.run_choice(fid, state, &mut active),
            StateKind::Succeed => self.run_succeed(fid, state, &mut active),
            StateKind::Fail(_) => self.run_fail(fid, state, &active),
            StateKind::Wait(_) => self.run_wait(fid, state, &mut active),
            StateKind::Task(_) => self.run_task(fid, state, &mut active),
            StateKind::Parallel(_) => self.run_parallel(fid, state, &mut active),
            StateKind::Map(_) => self.run_map(fid, state, &mut active),
        };
        if let Err(failure) = r {
            self.set_cur(fid, Cur::Active(Box::new(active)));
            self.state_failed(fid, failure);
        }
    }

    fn run_pass(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &mut Active,
        result: Option<&Value>,
    ) -> Result<(), Failure> {
        let result = {
            let effective = self.effective_input(fid, state, active, &active.input)?;
            match (&state.io.parameters, result) {
                (Some(t), _) => self.eval_template(fid, state, active, t, &effective, None)?,
                (None, Some(r)) => r.clone(),
                (None, None) => effective.into_owned(),
            }
        };
        self.place_result(fid, state, active, result)
    }

    /// Assign, ResultPath, OutputPath, and leave the state: the end of every
    /// state that produces a result (Pass, Task, Parallel, Map).
    fn place_result(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &mut Active,
        result: Value,
    ) -> Result<(), Failure> {
        let assigned = self.assign(fid, state, active, state.io.assign.as_ref(), &result)?;
        let consume = output_cannot_fail(state);
        let merged = self.result_path(
            state,
            &state.io.result_path,
            &mut active.input,
            result,
            consume,
        )?;
        let output = self.output_path(fid, state, active, merged)?;
        self.exit_state(fid, state, output, assigned);
        Ok(())
    }

    fn run_succeed(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &mut Active,
    ) -> Result<(), Failure> {
        let output = match &state.io.input_path {
            PathField::Default if output_cannot_fail(state) => std::mem::take(&mut active.input),
            _ => self
                .effective_input(fid, state, active, &active.input)?
                .into_owned(),
        };
        let output = self.output_path(fid, state, active, output)?;
        self.exit_state(fid, state, output, None);
        Ok(())
    }

    fn run_fail(&mut self, fid: FrameId, state: &State, active: &Active) -> Result<(), Failure> {
        let StateKind::Fail(fail) = &state.kind else {
            return Ok(());
        };
        let error = self.fail_text(fid, state, active, fail.error.as_ref(), "ErrorPath")?;
        let cause = self.fail_text(fid, state, active, fail.cause.as_ref(), "CausePath")?;
        if let Some(f) = self.frame_mut(fid) {
            f.failed_at = Some((active.state, active.input.clone()));
        }
        self.set_cur(
            fid,
            Cur::Failed(StatesError {
                error: error.unwrap_or_default(),
                cause,
            }),
        );
        Ok(())
    }

    fn fail_text(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &Active,
        text: Option<&Text>,
        field: &str,
    ) -> Result<Option<String>, Failure> {
        Ok(match text {
            None => None,
            Some(Text::Literal(s)) => Some(s.clone()),
            Some(Text::Path(p)) => {
                let v = self.select(fid, state, active, p, &active.input, None).ok_or_else(|| {
                    self.runtime(
                        active,
                        state,
                        format!(
                            "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                            p.source(),
                            to_text(&active.input)
                        ),
                    )
                })?;
                Some(match v {
                    Value::String(s) => s,
                    other => to_text(&other),
                })
            }
            Some(Text::Intrinsic(call)) => {
                let ctx = self.context_object(fid, state, active, None, None);
                let vars = FrameVars {
                    exec: self.exec,
                    fid,
                };
                let mut scope = Scope {
                    input: &active.input,
                    context: &ctx,
                    vars: &vars,
                    env: &mut *self.env,
                };
                let v = call
                    .eval_field(field, &mut scope)
                    .map_err(|e| self.prefix(active, state, e))?;
                Some(match v {
                    Value::String(s) => s,
                    other => to_text(&other),
                })
            }
            Some(Text::Jsonata(_)) => return Err(self.jsonata_unsupported(active, state).into()),
        })
    }

    fn run_choice(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &mut Active,
    ) -> Result<(), Failure> {
        let StateKind::Choice(choice) = &state.kind else {
            return Ok(());
        };
        let effective = self.effective_input(fid, state, active, &active.input)?;
        let ctx = if choice.choices.iter().any(|b| rule_uses_context(&b.rule)) {
            self.context_object(fid, state, active, None, None)
        } else {
            Value::Null
        };
        let mut target = None;
        for branch in &choice.choices {
            let matched = {
                let vars = FrameVars {
                    exec: self.exec,
                    fid,
                };
                let scope = Scope {
                    input: &effective,
                    context: &ctx,
                    vars: &vars,
                    env: &mut *self.env,
                };
                baton_asl::choice::evaluate(&branch.rule, &scope)
            };
            match matched {
                Ok(true) => {
                    target = Some((branch.next.1, branch.assign.as_ref()));
                    break;
                }
                Ok(false) => {}
                Err(e) => return Err(self.prefix(active, state, e).into()),
            }
        }
        let (next, assign) = match target {
            Some((next, assign)) => (next, assign.or(state.io.assign.as_ref())),
            None => match &choice.default {
                Some((_, next)) => (*next, state.io.assign.as_ref()),
                None => {
                    return Err(StatesError::new(
                        names::NO_CHOICE_MATCHED,
                        format!("No Matches! (state '{}')", state.name),
                    )
                    .into());
                }
            },
        };
        let assigned = self.assign(fid, state, active, assign, &effective)?;
        let effective = match effective {
            Cow::Owned(v) => Some(v),
            Cow::Borrowed(_) => None,
        };
        let output = match effective {
            Some(v) => v,
            // InputPath `$`: hand the input over when OutputPath cannot fail.
            None if output_cannot_fail(state) => std::mem::take(&mut active.input),
            None => active.input.clone(),
        };
        let output = self.output_path(fid, state, active, output)?;
        self.record_exit(fid, state, &output, assigned);
        self.set_cur(
            fid,
            Cur::Enter {
                state: next,
                input: output,
            },
        );
        Ok(())
    }

    fn run_wait(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &mut Active,
    ) -> Result<(), Failure> {
        let StateKind::Wait(wait) = &state.kind else {
            return Ok(());
        };
        let effective = self.effective_input(fid, state, &active, &active.input)?;
        let now = self.now();
        let due = match &wait.until {
            WaitFor::Seconds(Dynamic::Literal(s)) => now + (*s as i64) * 1000,
            WaitFor::Seconds(Dynamic::Path(p)) => {
                let v = self.select(fid, state, &active, p, &effective, None);
                let fail = |this: &Self, what: String| -> Failure {
                    this.runtime(&active, state, what).into()
                };
                match v {
                    None => {
                        return Err(fail(
                            self,
                            format!(
                                "The SecondsPath parameter does not reference an input value: {}",
                                p.source()
                            ),
                        ));
                    }
                    Some(Value::Number(n)) => match n.as_i64() {
                        Some(s) if s < 0 => {
                            return Err(fail(
                                self,
                                format!(
                                    "The SecondsPath parameter references a negative value: {} == {n}",
                                    p.source()
                                ),
                            ));
                        }
                        Some(s) => now.saturating_add(s.saturating_mul(1000)),
                        None => {
                            return Err(fail(
                                self,
                                format!(
                                    "The SecondsPath parameter cannot be parsed as a long value: {} == {n}",
                                    p.source()
                                ),
                            ));
                        }
                    },
                    Some(other) => {
                        let shown = match &other {
                            Value::String(s) => s.clone(),
                            o => to_text(o),
                        };
                        return Err(fail(
                            self,
                            format!(
                                "The SecondsPath parameter cannot be parsed as a long value: {} == {shown}",
                                p.source()
                            ),
                        ));
                    }
                }
            }
            WaitFor::Timestamp(Dynamic::Literal(ts)) => {
                match baton_asl::time::parse_rfc3339_millis(ts) {
                    Some(ms) => ms,
                    None => {
                        return Err(self
                        .runtime(
                            &active,
                            state,
                            format!(
                                "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {ts}"
                            ),
                        )
                        .into());
                    }
                }
            }
            WaitFor::Timestamp(Dynamic::Path(p)) => {
                let v = self.select(fid, state, &active, p, &effective, None);
                match v
                    .as_ref()
                    .and_then(Value::as_str)
                    .and_then(baton_asl::time::parse_rfc3339_millis)
                {
                    Some(ms) => ms,
                    None => {
                        let shown = match &v {
                            Some(Value::String(s)) => s.clone(),
                            Some(other) => to_text(other),
                            None => "null".into(),
                        };
                        return Err(self
                            .runtime(
                                &active,
                                state,
                                format!(
                                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {} == {shown}",
                                    p.source()
                                ),
                            )
                            .into());
                    }
                }
            }
            WaitFor::Seconds(Dynamic::Jsonata(_)) | WaitFor::Timestamp(Dynamic::Jsonata(_)) => {
                return Err(self.jsonata_unsupported(&active, state).into());
            }
        };
        // AWS refuses waits longer than a year and a bit (the boundary recorded
        // in LocalStack's test_wait: 24855 days is too long).
        if due.saturating_sub(now) > 24_855_i64 * 86_400_000 {
            return Err(self
                .runtime(&active, state, "Wait state delay is too long.".to_string())
                .into());
        }
        let timer = self.arm_timer(TimerPurpose::Wait(fid), due);
        active.wait = Await::Timer(timer);
        self.set_cur(fid, Cur::Active(Box::new(take_active(active))));
        Ok(())
    }

    // ----- tasks ----------------------------------------------------------

    fn run_task(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &mut Active,
    ) -> Result<(), Failure> {
        let StateKind::Task(task) = &state.kind else {
            return Ok(());
        };
        let kind = resource::classify(&task.resource);
        if let Err(reason) = self.tokens.check_resource(&task.resource) {
            return Err(self.runtime(&active, state, reason).into());
        }
        let task_id = self.exec.next_task;
        self.exec.next_task += 1;
        let token = kind.needs_token(&task.resource).then(|| {
            self.tokens
                .mint(&self.exec.ctx.execution_arn, task_id, active.retry_count)
        });
        let effective = self.effective_input(fid, state, &active, &active.input)?;
        let parameters = match &state.io.parameters {
            Some(t) => self.eval_template(fid, state, &active, t, &effective, token.as_deref())?,
            None => effective.clone().into_owned(),
        };
        let timeout = self.dynamic_seconds(
            fid,
            state,
            &active,
            task.timeout_seconds.as_ref(),
            &effective,
            "TimeoutSecondsPath",
        )?;
        let heartbeat = self.dynamic_seconds(
            fid,
            state,
            &active,
            task.heartbeat_seconds.as_ref(),
            &effective,
            "HeartbeatSecondsPath",
        )?;
        let credentials = match &task.credentials {
            Some(t) => Some(self.eval_template(fid, state, &active, t, &effective, None)?),
            None => None,
        };
        if self.keep() {
            let (ty, d) = match &kind {
                TaskKind::Service {
                    resource_type,
                    resource,
                } => {
                    let mut d = obj([
                        ("resourceType", Value::from(resource_type.clone())),
                        ("resource", Value::from(resource.clone())),
                        ("region", Value::from(self.exec.ctx.region.clone())),
                        ("parameters", Value::from(to_text(&parameters))),
                    ]);
                    if let Some(t) = timeout {
                        d.insert("timeoutInSeconds".into(), Value::from(t));
                    }
                    if let Some(h) = heartbeat {
                        d.insert("heartbeatInSeconds".into(), Value::from(h));
                    }
                    if let Some(Value::Object(c)) = &credentials
                        && let Some(role) = c.get("RoleArn")
                    {
                        d.insert("taskCredentials".into(), json!({ "roleArn": role }));
                    }
                    (EventType::TaskScheduled, d)
                }
                TaskKind::Lambda => {
                    let mut d = obj([
                        ("resource", Value::from(task.resource.clone())),
                        ("input", Value::from(to_text(&parameters))),
                        ("inputDetails", json!({"truncated": false})),
                    ]);
                    if let Some(t) = timeout {
                        d.insert("timeoutInSeconds".into(), Value::from(t));
                    }
                    (EventType::LambdaFunctionScheduled, d)
                }
                TaskKind::Activity => {
                    let mut d = obj([
                        ("resource", Value::from(task.resource.clone())),
                        ("input", Value::from(to_text(&parameters))),
                        ("inputDetails", json!({"truncated": false})),
                    ]);
                    if let Some(t) = timeout {
                        d.insert("timeoutInSeconds".into(), Value::from(t));
                    }
                    if let Some(h) = heartbeat {
                        d.insert("heartbeatInSeconds".into(), Value::from(h));
                    }
                    (EventType::ActivityScheduled, d)
                }
            };
            self.emit_in(fid, ty, Some(d));
        } else {
            self.emit_in(fid, EventType::TaskScheduled, None);
        }
        let started = !matches!(kind, TaskKind::Activity);
        if started {
            self.record_task_started(fid, &kind, None);
        }
        let now = self.now();
        let timeout_timer = timeout.map(|t| {
            self.arm_timer(
                TimerPurpose::TaskTimeout(fid, task_id),
                now + t as i64 * 1000,
            )
        });
        let heartbeat_timer = match (heartbeat, started) {
            (Some(h), true) => {
                Some(self.arm_timer(TimerPurpose::Heartbeat(fid, task_id), now + h as i64 * 1000))
            }
            _ => None,
        };
        let needs_submit = resource::needs_submit(&task.resource);
        self.exec.tasks.insert(task_id, fid);
        self.out
            .commands
            .push(Command::InvokeTask(Box::new(TaskRequest {
                task: task_id,
                state_name: state.name.clone(),
                resource: task.resource.clone(),
                parameters,
                token,
                attempt: active.retry_count,
                timeout_seconds: timeout,
                heartbeat_seconds: heartbeat,
                credentials,
            })));
        active.wait = Await::Task(TaskWait {
            task: task_id,
            kind,
            timeout_timer,
            heartbeat_timer,
            heartbeat_seconds: heartbeat,
            early: None,
            submitted: false,
            started,
            needs_submit,
        });
        self.set_cur(fid, Cur::Active(Box::new(take_active(active))));
        Ok(())
    }

    fn record_task_started(&mut self, fid: FrameId, kind: &TaskKind, worker: Option<String>) {
        match kind {
            TaskKind::Service {
                resource_type,
                resource,
            } => {
                let d = self.keep().then(|| {
                    obj([
                        ("resourceType", Value::from(resource_type.clone())),
                        ("resource", Value::from(resource.clone())),
                    ])
                });
                self.emit_in(fid, EventType::TaskStarted, d);
            }
            TaskKind::Lambda => {
                self.emit_in(fid, EventType::LambdaFunctionStarted, None);
            }
            TaskKind::Activity => {
                let mut d = Map::new();
                if let Some(w) = worker {
                    d.insert("workerName".into(), Value::from(w));
                }
                self.emit_in(fid, EventType::ActivityStarted, Some(d));
            }
        }
    }

    fn dynamic_seconds(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &Active,
        field: Option<&Dynamic<u64>>,
        effective: &Value,
        field_name: &str,
    ) -> Result<Option<u64>, Failure> {
        match field {
            None => Ok(None),
            Some(Dynamic::Literal(v)) => Ok(Some(*v)),
            Some(Dynamic::Path(p)) => {
                let v = self.select(fid, state, active, p, effective, None);
                match v {
                    Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n > 0) => Ok(n.as_u64()),
                    Some(other) => Err(self
                        .runtime(
                            active,
                            state,
                            format!("The {field_name} field refers to value '{}' which is not a positive integer.", to_text(&other)),
                        )
                        .into()),
                    None => Err(self
                        .runtime(active, state, format!("Invalid path '{}' : {}", p.source(), not_found(p, effective)))
                        .into()),
                }
            }
            Some(Dynamic::Jsonata(_)) => Err(self.jsonata_unsupported(active, state).into()),
        }
    }

    fn task_input(&mut self, input: Input) {
        let task = match &input {
            Input::TaskStarted { task, .. }
            | Input::TaskSubmitted { task, .. }
            | Input::TaskSucceeded { task, .. }
            | Input::TaskFailed { task, .. } => *task,
            _ => return,
        };
        let Some(&fid) = self.exec.tasks.get(&task) else {
            return;
        };
        let Some(Cur::Active(mut active)) = self.frame(fid).map(|f| f.cur.clone()) else {
            return;
        };
        let Await::Task(mut tw) = active.wait.clone() else {
            return;
        };
        let Some(state) = self.state_of(fid, active.state) else {
            return;
        };
        match input {
            Input::TaskStarted { worker_name, .. } => {
                if tw.started {
                    return;
                }
                tw.started = true;
                self.record_task_started(fid, &tw.kind, worker_name);
                if let Some(h) = tw.heartbeat_seconds {
                    let due = self.now() + h as i64 * 1000;
                    tw.heartbeat_timer =
                        Some(self.arm_timer(TimerPurpose::Heartbeat(fid, task), due));
                }
                self.set_wait(fid, Await::Task(tw));
            }
            Input::TaskSubmitted { output, .. } => {
                if tw.submitted {
                    return;
                }
                tw.submitted = true;
                if let TaskKind::Service {
                    resource_type,
                    resource,
                } = &tw.kind
                {
                    let d = self.keep().then(|| {
                        obj([
                            ("resourceType", Value::from(resource_type.clone())),
                            ("resource", Value::from(resource.clone())),
                            ("output", Value::from(to_text(&output))),
                            ("outputDetails", json!({"truncated": false})),
                        ])
                    });
                    self.emit_in(fid, EventType::TaskSubmitted, d);
                }
                let early = tw.early.take();
                self.set_wait(fid, Await::Task(tw));
                if let Some(early) = early {
                    self.task_input(*early);
                }
            }
            Input::TaskSucceeded { output, .. } => {
                if tw.needs_submit && !tw.submitted && tw.early.is_none() {
                    tw.early = Some(Box::new(Input::TaskSucceeded { task, output }));
                    self.set_wait(fid, Await::Task(tw));
                    return;
                }
                self.finish_task(fid, &tw);
                let result: Value =
                    serde_json::from_str(&output).unwrap_or(Value::String(output.clone()));
                if output.len() > MAX_PAYLOAD_BYTES {
                    let err = StatesError::new(
                        names::DATA_LIMIT_EXCEEDED,
                        format!(
                            "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                            tw.kind.short_name(&state)
                        ),
                    );
                    self.record_task_failed(fid, &tw.kind, &err);
                    self.fail_and_settle(fid, err.into());
                    return;
                }
                match &tw.kind {
                    TaskKind::Service {
                        resource_type,
                        resource,
                    } => {
                        let d = self.keep().then(|| {
                            obj([
                                ("resourceType", Value::from(resource_type.clone())),
                                ("resource", Value::from(resource.clone())),
                                ("output", Value::from(output.clone())),
                                ("outputDetails", json!({"truncated": false})),
                            ])
                        });
                        self.emit_in(fid, EventType::TaskSucceeded, d);
                    }
                    TaskKind::Lambda | TaskKind::Activity => {
                        let ty = if tw.kind == TaskKind::Lambda {
                            EventType::LambdaFunctionSucceeded
                        } else {
                            EventType::ActivitySucceeded
                        };
                        let d = self.keep().then(|| {
                            obj([
                                ("output", Value::from(output.clone())),
                                ("outputDetails", json!({"truncated": false})),
                            ])
                        });
                        self.emit_in(fid, ty, d);
                    }
                }
                if let Err(f) = self.complete_with_result(fid, state, &mut active, result) {
                    self.state_failed(fid, f);
                }
                self.settle(fid);
            }
            Input::TaskFailed { error, cause, .. } => {
                if tw.needs_submit && !tw.submitted && tw.early.is_none() {
                    tw.early = Some(Box::new(Input::TaskFailed { task, error, cause }));
                    self.set_wait(fid, Await::Task(tw));
                    return;
                }
                self.finish_task(fid, &tw);
                let err = StatesError {
                    error: error.unwrap_or_default(),
                    cause,
                };
                self.record_task_failed(fid, &tw.kind, &err);
                self.fail_and_settle(fid, err.into());
            }
            _ => {}
        }
    }

    fn finish_task(&mut self, _fid: FrameId, tw: &TaskWait) {
        self.exec.tasks.remove(&tw.task);
        self.cancel_timer(tw.timeout_timer);
        self.cancel_timer(tw.heartbeat_timer);
    }

    fn record_task_failed(&mut self, fid: FrameId, kind: &TaskKind, err: &StatesError) {
        let types = [
            EventType::TaskFailed,
            EventType::LambdaFunctionFailed,
            EventType::ActivityFailed,
        ];
        self.record_task_end(fid, kind, err, types);
    }

    /// Records a task's failure or time-out: `types` are the event for a
    /// service integration, a bare Lambda ARN and an activity.
    fn record_task_end(
        &mut self,
        fid: FrameId,
        kind: &TaskKind,
        err: &StatesError,
        types: [EventType; 3],
    ) {
        let mut d = Map::new();
        if let Some(c) = &err.cause {
            d.insert("cause".into(), Value::from(c.clone()));
        }
        if !err.error.is_empty() {
            d.insert("error".into(), Value::from(err.error.clone()));
        }
        let ty = match kind {
            TaskKind::Service {
                resource_type,
                resource,
            } => {
                d.insert("resource".into(), Value::from(resource.clone()));
                d.insert("resourceType".into(), Value::from(resource_type.clone()));
                types[0]
            }
            TaskKind::Lambda => types[1],
            TaskKind::Activity => types[2],
        };
        self.emit_in(fid, ty, Some(d));
    }

    fn task_timed_out(&mut self, fid: FrameId, task: TaskId, heartbeat: bool) {
        let Some(Cur::Active(active)) = self.frame(fid).map(|f| f.cur.clone()) else {
            return;
        };
        let Await::Task(tw) = active.wait.clone() else {
            return;
        };
        if tw.task != task {
            return;
        }
        self.finish_task(fid, &tw);
        self.out.commands.push(Command::CancelTask { task });
        let types = [
            EventType::TaskTimedOut,
            EventType::LambdaFunctionTimedOut,
            EventType::ActivityTimedOut,
        ];
        self.record_task_end(fid, &tw.kind, &StatesError::bare(names::TIMEOUT), types);
        self.state_failed(
            fid,
            Failure {
                error: StatesError::bare(names::TIMEOUT),
                heartbeat,
                state_failed: None,
            },
        );
    }

    /// Applies ResultSelector, ResultPath, OutputPath and Assign to a Task,
    /// Parallel or Map result and leaves the state.
    fn complete_with_result(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &mut Active,
        result: Value,
    ) -> Result<(), Failure> {
        let selected = match &state.io.result_selector {
            Some(t) => self.eval_template(fid, state, active, t, &result, None)?,
            None => result,
        };
        self.place_result(fid, state, active, selected)
    }

    // ----- Parallel and Map -------------------------------------------------

    fn run_parallel(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &mut Active,
    ) -> Result<(), Failure> {
        let StateKind::Parallel(par) = &state.kind else {
            return Ok(());
        };
        let effective = self.effective_input(fid, state, &active, &active.input)?;
        let input = match &state.io.parameters {
            Some(t) => self.eval_template(fid, state, &active, t, &effective, None)?,
            None => effective.into_owned(),
        };
        let started = self.emit_in(fid, EventType::ParallelStateStarted, None);
        let mut graph = self.frame(fid).map(|f| f.graph.clone()).unwrap_or_default();
        graph.push((active.state, 0));
        let n = par.branches.len();
        let mut frames = Vec::with_capacity(n);
        for b in 0..n {
            let mut g = graph.clone();
            if let Some(last) = g.last_mut() {
                last.1 = b;
            }
            let start = par.branches[b].start;
            let child = self.new_frame(Frame {
                parent: Some(fid),
                index: b,
                graph: g,
                vars: IndexMap::new(),
                chain: started,
                cur: Cur::Enter {
                    state: start,
                    input: input.clone(),
                },
                failed_at: None,
            });
            frames.push(Some(child));
        }
        active.wait = Await::Children(Children {
            map: false,
            frames: frames.clone(),
            results: vec![None; n],
            items: Vec::new(),
            effective: Value::Null,
            next: n,
            running: n,
            max: n,
            chain: started,
        });
        self.set_cur(fid, Cur::Active(Box::new(take_active(active))));
        for child in frames.into_iter().flatten() {
            self.run_frame(child);
            if self.halted() {
                return Ok(());
            }
            let finished = self
                .frame(child)
                .is_some_and(|f| matches!(f.cur, Cur::Done(_) | Cur::Failed(_)));
            if finished {
                self.child_finished(fid, child);
                if !matches!(self.frame(fid).map(|f| &f.cur), Some(Cur::Active(a)) if matches!(a.wait, Await::Children(_)))
                {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn run_map(&mut self, fid: FrameId, state: &State, active: &mut Active) -> Result<(), Failure> {
        let StateKind::Map(map) = &state.kind else {
            return Ok(());
        };
        if map.mode == baton_asl::model::MapMode::Distributed {
            return Err(self
                .runtime(
                    &active,
                    state,
                    "Distributed Map is not supported by Baton yet.".to_string(),
                )
                .into());
        }
        if map.items.is_some() || map.item_selector_jsonata.is_some() {
            return Err(self.jsonata_unsupported(&active, state).into());
        }
        let effective = self.effective_input(fid, state, &active, &active.input)?;
        let items = match &map.items_path {
            PathField::Default => effective.clone().into_owned(),
            PathField::Null => Value::Object(Map::new()),
            PathField::Path(p) => self
                .select(fid, state, &active, p, &effective, None)
                .ok_or_else(|| {
                    self.runtime(
                        &active,
                        state,
                        format!(
                            "Invalid path '{}' : {}",
                            p.source(),
                            not_found(p, &effective)
                        ),
                    )
                })?,
        };
        let Value::Array(items) = items else {
            return Err(self
                .runtime(
                    &active,
                    state,
                    format!(
                        "Map state input must be an array but was: {}",
                        to_text(&items)
                    ),
                )
                .into());
        };
        let max = match &map.max_concurrency {
            Dynamic::Literal(n) => *n as usize,
            Dynamic::Path(p) => match self.select(fid, state, &active, p, &effective, None) {
                Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or(0) as usize,
                other => {
                    let shown = match other {
                        Some(Value::String(s)) => s,
                        Some(v) => to_text(&v),
                        None => "null".to_string(),
                    };
                    return Err(self
                        .runtime(
                            &active,
                            state,
                            format!("The MaxConcurrencyPath field refers to value \"{shown}\" which is not a valid integer: {}", p.source()),
                        )
                        .into());
                }
            },
            Dynamic::Jsonata(_) => return Err(self.jsonata_unsupported(&active, state).into()),
        };
        let max = if max == 0 {
            INLINE_MAP_MAX_CONCURRENCY
        } else {
            max.min(INLINE_MAP_MAX_CONCURRENCY)
        };
        let d = self
            .keep()
            .then(|| obj([("length", Value::from(items.len()))]));
        let started = self.emit_in(fid, EventType::MapStateStarted, d);
        let n = items.len();
        active.wait = Await::Children(Children {
            map: true,
            frames: vec![None; n],
            results: vec![None; n],
            items,
            effective: effective.into_owned(),
            next: 0,
            running: 0,
            max,
            chain: started,
        });
        self.set_cur(fid, Cur::Active(Box::new(take_active(active))));
        self.pump_map(fid);
        Ok(())
    }

    /// Starts Map iterations while there is room; finishes the Map when all
    /// are done.
    /// The active state of `fid`, without its input and wait (cheap to copy:
    /// enough for the Context Object and error texts).
    fn active_meta(&self, fid: FrameId) -> Option<Active> {
        match &self.frame(fid)?.cur {
            Cur::Active(a) => Some(Active {
                state: a.state,
                entered_id: a.entered_id,
                entered_time: a.entered_time,
                input: Value::Null,
                retries: Vec::new(),
                retry_count: a.retry_count,
                wait: Await::Timer(0),
            }),
            _ => None,
        }
    }

    fn children_mut(&mut self, fid: FrameId) -> Option<&mut Children> {
        match &mut self.frame_mut(fid)?.cur {
            Cur::Active(a) => match &mut a.wait {
                Await::Children(ch) => Some(ch),
                _ => None,
            },
            _ => None,
        }
    }

    /// Starts Map iterations while there is room; finishes the Map when all
    /// are done.
    fn pump_map(&mut self, fid: FrameId) {
        loop {
            if self.halted() {
                return;
            }
            let Some(meta) = self.active_meta(fid) else {
                return;
            };
            let Some(ch) = self.children_mut(fid) else {
                return;
            };
            if ch.next >= ch.items.len() {
                if ch.running == 0 {
                    self.children_succeeded(fid);
                }
                return;
            }
            if ch.running >= ch.max {
                return;
            }
            let index = ch.next;
            let chain = ch.chain;
            // Each item is used once: take it instead of copying it.
            let item = std::mem::take(&mut ch.items[index]);
            let Some(state) = self.state_of(fid, meta.state) else {
                return;
            };
            let StateKind::Map(map) = &state.kind else {
                return;
            };
            let d = self.keep().then(|| {
                obj([
                    ("index", Value::from(index)),
                    ("name", Value::from(state.name.clone())),
                ])
            });
            let started = self.emit(chain, EventType::MapIterationStarted, d);
            let input = match &map.item_selector {
                Some(t) => {
                    let ctx = self.context_object(fid, state, &meta, None, Some((index, &item)));
                    let effective = self
                        .children_mut(fid)
                        .map(|ch| std::mem::take(&mut ch.effective))
                        .unwrap_or_default();
                    let r = {
                        let vars = FrameVars {
                            exec: self.exec,
                            fid,
                        };
                        let mut scope = Scope {
                            input: &effective,
                            context: &ctx,
                            vars: &vars,
                            env: &mut *self.env,
                        };
                        t.eval(&mut scope)
                    };
                    if let Some(ch) = self.children_mut(fid) {
                        ch.effective = effective;
                    }
                    match r {
                        Ok(v) => v,
                        Err(e) => {
                            let e = self.prefix(&meta, state, e);
                            self.state_failed(fid, e.into());
                            return;
                        }
                    }
                }
                None => item,
            };
            let mut graph = self.frame(fid).map(|f| f.graph.clone()).unwrap_or_default();
            graph.push((meta.state, 0));
            let start = map.processor.start;
            let child = self.new_frame(Frame {
                parent: Some(fid),
                index,
                graph,
                vars: IndexMap::new(),
                chain: started,
                cur: Cur::Enter {
                    state: start,
                    input,
                },
                failed_at: None,
            });
            if let Some(ch) = self.children_mut(fid) {
                ch.frames[index] = Some(child);
                ch.next += 1;
                ch.running += 1;
            }
            self.run_frame(child);
            let finished = self
                .frame(child)
                .is_some_and(|f| matches!(f.cur, Cur::Done(_) | Cur::Failed(_)));
            if finished && !self.record_child(fid, child) {
                return;
            }
        }
    }

    /// A Parallel branch or Map iteration `child` of `fid` finished.
    fn child_finished(&mut self, fid: FrameId, child: FrameId) {
        if self.record_child(fid, child) {
            self.pump_map(fid);
        }
    }

    /// Records a finished child; returns whether the parent is a Map that
    /// may start more iterations (or finish).
    fn record_child(&mut self, fid: FrameId, child: FrameId) -> bool {
        let Some(index) = self.frame(child).map(|f| f.index) else {
            return false;
        };
        let Some(meta) = self.active_meta(fid) else {
            return false;
        };
        let is_map = match self.children_mut(fid) {
            Some(ch) if ch.frames.get(index).copied().flatten() == Some(child) => ch.map,
            _ => return false,
        };
        let Some(child_frame) = self.exec.frames.get_mut(child).and_then(Option::take) else {
            return false;
        };
        let name = if self.keep() {
            self.state_name(fid, meta.state)
        } else {
            String::new()
        };
        match child_frame.cur {
            Cur::Done(output) => {
                let mut running = 0;
                if let Some(ch) = self.children_mut(fid) {
                    ch.frames[index] = None;
                    ch.results[index] = Some(output);
                    ch.running = ch.running.saturating_sub(1);
                    running = ch.running;
                    if is_map {
                        ch.chain = child_frame.chain;
                    }
                }
                if is_map {
                    let d = self
                        .keep()
                        .then(|| obj([("index", Value::from(index)), ("name", Value::from(name))]));
                    self.emit(child_frame.chain, EventType::MapIterationSucceeded, d);
                    true
                } else {
                    if running == 0 {
                        self.children_succeeded(fid);
                    }
                    false
                }
            }
            Cur::Failed(err) => {
                let failing = child_frame.chain;
                let siblings: Vec<(usize, FrameId)> = match self.children_mut(fid) {
                    Some(ch) => {
                        ch.frames[index] = None;
                        let s = ch
                            .frames
                            .iter()
                            .enumerate()
                            .filter_map(|(i, c)| c.map(|c| (i, c)))
                            .collect();
                        for f in ch.frames.iter_mut() {
                            *f = None;
                        }
                        ch.running = 0;
                        s
                    }
                    None => Vec::new(),
                };
                if is_map {
                    let d = self.keep().then(|| {
                        obj([
                            ("index", Value::from(index)),
                            ("name", Value::from(name.clone())),
                        ])
                    });
                    self.emit(failing, EventType::MapIterationFailed, d);
                }
                let prev = self.exec.next_event_id - 1;
                for (i, c) in siblings {
                    self.abort_frame(c, failing, true);
                    if is_map {
                        let d = self.keep().then(|| {
                            obj([
                                ("index", Value::from(i)),
                                ("name", Value::from(name.clone())),
                            ])
                        });
                        self.emit(prev, EventType::MapIterationAborted, d);
                    }
                    if let Some(slot) = self.exec.frames.get_mut(c) {
                        *slot = None;
                    }
                }
                let ty = if is_map {
                    EventType::MapStateFailed
                } else {
                    EventType::ParallelStateFailed
                };
                if let Some(f) = self.frame_mut(fid) {
                    f.chain = failing;
                }
                self.state_failed(
                    fid,
                    Failure {
                        error: err,
                        heartbeat: false,
                        state_failed: Some(ty),
                    },
                );
                false
            }
            other => {
                // Not finished after all: put it back.
                if let Some(slot) = self.exec.frames.get_mut(child) {
                    *slot = Some(Frame {
                        cur: other,
                        ..child_frame
                    });
                }
                false
            }
        }
    }

    fn children_succeeded(&mut self, fid: FrameId) {
        let Some(frame) = self.frame_mut(fid) else {
            return;
        };
        let Cur::Active(mut active) = std::mem::replace(&mut frame.cur, Cur::Done(Value::Null))
        else {
            return;
        };
        let Await::Children(ch) = std::mem::replace(&mut active.wait, Await::Timer(0)) else {
            self.set_cur(fid, Cur::Active(active));
            return;
        };
        let Some(state) = self.state_of(fid, active.state) else {
            return;
        };
        let last = self.exec.next_event_id - 1;
        let ty = if ch.map {
            EventType::MapStateSucceeded
        } else {
            EventType::ParallelStateSucceeded
        };
        self.emit(last, ty, None);
        if let Some(f) = self.frame_mut(fid) {
            f.chain = last;
        }
        let results: Vec<Value> = ch
            .results
            .into_iter()
            .map(|r| r.unwrap_or(Value::Null))
            .collect();
        if let Err(f) = self.complete_with_result(fid, state, &mut active, Value::Array(results)) {
            self.set_cur(fid, Cur::Active(active));
            self.state_failed(fid, f);
        }
    }

    // ----- errors, Retry and Catch -------------------------------------------

    fn fail_and_settle(&mut self, fid: FrameId, failure: Failure) {
        self.state_failed(fid, failure);
        self.settle(fid);
    }

    /// The active state of `fid` raised `failure`: retry, catch, or fail the
    /// frame.
    fn state_failed(&mut self, fid: FrameId, failure: Failure) {
        let Some(Cur::Active(mut active)) = self.frame(fid).map(|f| f.cur.clone()) else {
            self.set_cur(fid, Cur::Failed(failure.error));
            return;
        };
        let Some(state) = self.state_of(fid, active.state) else {
            self.set_cur(fid, Cur::Failed(failure.error));
            return;
        };
        let recovery = recovery_of(&state).cloned().unwrap_or_default();
        let err = &failure.error;
        if let Some(i) = recovery
            .retry
            .iter()
            .position(|r| matches_error(&r.error_equals, err, failure.heartbeat))
        {
            let r = &recovery.retry[i];
            let used = active.retries.get(i).copied().unwrap_or(0);
            if u64::from(used) < r.max_attempts {
                let mut delay = r.interval_seconds as f64 * r.backoff_rate.powi(used as i32);
                if let Some(max) = r.max_delay_seconds {
                    delay = delay.min(max as f64);
                }
                if r.jitter == Jitter::Full {
                    delay *= self.env.random_f64();
                }
                let due = self.now() + (delay * 1000.0).round() as i64;
                if let Some(c) = active.retries.get_mut(i) {
                    *c += 1;
                }
                active.retry_count += 1;
                let timer = self.arm_timer(TimerPurpose::Backoff(fid), due);
                active.wait = Await::Backoff(timer);
                self.set_cur(fid, Cur::Active(active));
                return;
            }
        }
        if let Some(ty) = failure.state_failed {
            self.emit_in(fid, ty, None);
        }
        if let Some(catcher) = recovery
            .catch
            .iter()
            .find(|c| matches_error(&c.error_equals, err, failure.heartbeat))
        {
            match self.catch(fid, &state, &active, catcher, err) {
                Ok(()) => return,
                Err(f) => {
                    self.set_cur(fid, Cur::Failed(f.error));
                    return;
                }
            }
        }
        // A Task that fails a Parallel branch is recorded as aborted too
        // (AWS-recorded: TaskFailed → TaskStateAborted → ParallelStateFailed).
        if matches!(state.kind, StateKind::Task(_)) && self.in_parallel_branch(fid) {
            let chain = self.frame(fid).map_or(0, |f| f.chain);
            self.emit(chain, EventType::TaskStateAborted, None);
        }
        if let Some(f) = self.frame_mut(fid) {
            f.failed_at = Some((active.state, active.input.clone()));
        }
        self.set_cur(fid, Cur::Failed(failure.error));
    }

    fn catch(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &Active,
        catcher: &Catcher,
        err: &StatesError,
    ) -> Result<(), Failure> {
        let mut error_output = Map::new();
        // A failure with no error or cause (SendTaskFailure with neither)
        // shows them as null.
        let error = (!err.error.is_empty()).then(|| err.error.clone());
        error_output.insert("Error".into(), error.map_or(Value::Null, Value::from));
        // A failure with an error but no cause (a timeout) shows "".
        let cause = match (&err.cause, err.error.is_empty()) {
            (Some(c), _) => Value::from(c.clone()),
            (None, true) => Value::Null,
            (None, false) => Value::from(""),
        };
        error_output.insert("Cause".into(), cause);
        let error_output = Value::Object(error_output);
        let assigned = self.assign(fid, state, active, catcher.assign.as_ref(), &error_output)?;
        let mut input = active.input.clone();
        let output =
            self.result_path(state, &catcher.result_path, &mut input, error_output, true)?;
        self.record_exit(fid, state, &output, assigned);
        self.set_cur(
            fid,
            Cur::Enter {
                state: catcher.next.1,
                input: output,
            },
        );
        Ok(())
    }

    // ----- leaving a state ----------------------------------------------------

    fn exit_state(
        &mut self,
        fid: FrameId,
        state: &State,
        output: Value,
        assigned: Option<IndexMap<String, Value>>,
    ) {
        if !matches!(state.kind, StateKind::Fail(_)) {
            self.record_exit(fid, state, &output, assigned);
        }
        let cur = match &state.transition {
            Next::Next(_, i) => Cur::Enter {
                state: *i,
                input: output,
            },
            Next::End | Next::Choice => Cur::Done(output),
        };
        let cur = match &cur {
            Cur::Enter { input, .. } | Cur::Done(input) if payload_too_large(input) => {
                Cur::Failed(StatesError::new(
                    names::DATA_LIMIT_EXCEEDED,
                    format!(
                        "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                        state.name
                    ),
                ))
            }
            _ => cur,
        };
        self.set_cur(fid, cur);
    }

    fn record_exit(
        &mut self,
        fid: FrameId,
        state: &State,
        output: &Value,
        assigned: Option<IndexMap<String, Value>>,
    ) {
        let ty = match state.kind {
            StateKind::Pass(_) => EventType::PassStateExited,
            StateKind::Task(_) => EventType::TaskStateExited,
            StateKind::Choice(_) => EventType::ChoiceStateExited,
            StateKind::Wait(_) => EventType::WaitStateExited,
            StateKind::Succeed => EventType::SucceedStateExited,
            StateKind::Parallel(_) => EventType::ParallelStateExited,
            StateKind::Map(_) => EventType::MapStateExited,
            StateKind::Fail(_) => return,
        };
        let keep = self.keep();
        let details = keep.then(|| {
            let mut d = Map::new();
            if let Some(vars) = &assigned {
                let mut av = Map::new();
                for (k, v) in vars {
                    av.insert(k.clone(), Value::from(to_text(v)));
                }
                d.insert("assignedVariables".into(), Value::Object(av));
                d.insert(
                    "assignedVariablesDetails".into(),
                    json!({"truncated": false}),
                );
            }
            d.insert("name".into(), Value::from(state.name.clone()));
            d.insert("output".into(), Value::from(to_text(output)));
            d.insert("outputDetails".into(), json!({"truncated": false}));
            d
        });
        self.emit_in(fid, ty, details);
        if let Some(vars) = assigned
            && let Some(f) = self.frame_mut(fid)
        {
            for (k, v) in vars {
                f.vars.insert(k, v);
            }
        }
    }

    // ----- data flow ----------------------------------------------------------

    /// The state input after InputPath (borrowed when InputPath is `$`).
    fn effective_input<'i>(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &Active,
        input: &'i Value,
    ) -> Result<Cow<'i, Value>, StatesError> {
        match &state.io.input_path {
            PathField::Default => Ok(Cow::Borrowed(input)),
            PathField::Null => Ok(Cow::Owned(Value::Object(Map::new()))),
            PathField::Path(p) => self
                .select(fid, state, active, p, input, None)
                .map(Cow::Owned)
                .ok_or_else(|| {
                    self.runtime(
                        active,
                        state,
                        format!("Invalid path '{}' : {}", p.source(), not_found(p, input)),
                    )
                }),
        }
    }

    fn output_path(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &Active,
        output: Value,
    ) -> Result<Value, StatesError> {
        match &state.io.output_path {
            PathField::Default => Ok(output),
            PathField::Null => Ok(Value::Object(Map::new())),
            PathField::Path(p) => self
                .select(fid, state, active, p, &output, None)
                .ok_or_else(|| {
                    self.runtime(
                        active,
                        state,
                        format!("Invalid path '{}' : {}", p.source(), not_found(p, &output)),
                    )
                }),
        }
    }

    /// Places `result` into the state input. With `consume`, the input is
    /// handed over instead of copied when nothing after this can fail (the
    /// input is then no longer needed for Retry, Catch or a redrive).
    fn result_path(
        &mut self,
        state: &State,
        field: &PathField,
        input: &mut Value,
        result: Value,
        consume: bool,
    ) -> Result<Value, StatesError> {
        match field {
            PathField::Default => Ok(result),
            PathField::Null if consume => Ok(std::mem::take(input)),
            PathField::Null => Ok(input.clone()),
            PathField::Path(p) => {
                let target = if consume && p.writable(input) {
                    std::mem::take(input)
                } else {
                    input.clone()
                };
                p.write(target, result).map_err(|e| {
                    StatesError::new(
                        names::RESULT_PATH_MATCH_FAILURE,
                        format!("{} (state '{}')", e.message, state.name),
                    )
                })
            }
        }
    }

    /// Selects `path` by its root: `$` on `doc`, `$$` on the Context Object,
    /// `$name` on the variable.
    fn select(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &Active,
        path: &Path,
        doc: &Value,
        token: Option<&str>,
    ) -> Option<Value> {
        match path.root() {
            Root::Input => path.select(doc),
            Root::Context => {
                let ctx = self.context_object(fid, state, active, token, None);
                path.select(&ctx)
            }
            Root::Variable(name) => {
                let vars = FrameVars {
                    exec: self.exec,
                    fid,
                };
                vars.get(name).and_then(|v| path.select(v))
            }
        }
    }

    fn eval_template(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &Active,
        template: &Template,
        input: &Value,
        token: Option<&str>,
    ) -> Result<Value, StatesError> {
        let ctx = if template.uses_context() {
            self.context_object(fid, state, active, token, None)
        } else {
            Value::Null
        };
        let r = {
            let vars = FrameVars {
                exec: self.exec,
                fid,
            };
            let mut scope = Scope {
                input,
                context: &ctx,
                vars: &vars,
                env: &mut *self.env,
            };
            template.eval(&mut scope)
        };
        r.map_err(|e| self.prefix(active, state, e))
    }

    /// Evaluates an `Assign`; `$` is `input`. Values are computed against the
    /// variables as of state entry and applied when the state exits.
    fn assign(
        &mut self,
        fid: FrameId,
        state: &State,
        active: &Active,
        assign: Option<&Assign>,
        input: &Value,
    ) -> Result<Option<IndexMap<String, Value>>, StatesError> {
        match assign {
            None => Ok(None),
            Some(Assign::JsonPath(t)) => {
                let v = self.eval_template(fid, state, active, t, input, None)?;
                let Value::Object(m) = v else {
                    return Ok(None);
                };
                let vars: IndexMap<String, Value> = m.into_iter().collect();
                self.check_variable_sizes(fid, state, active, &vars)?;
                Ok(Some(vars))
            }
            Some(Assign::Jsonata(_)) => Err(self.jsonata_unsupported(active, state)),
        }
    }

    /// AWS's limits: one variable ≤ 256 KiB, one Assign ≤ 256 KiB, all the
    /// variables of an execution ≤ 10 MiB.
    fn check_variable_sizes(
        &self,
        fid: FrameId,
        state: &State,
        active: &Active,
        vars: &IndexMap<String, Value>,
    ) -> Result<(), StatesError> {
        let too_large = |what: String| {
            StatesError::new(
                names::DATA_LIMIT_EXCEEDED,
                format!(
                    "An error occurred while executing the state '{}' (entered at the event id #{}). {what}",
                    state.name, active.entered_id
                ),
            )
        };
        let mut total = 0usize;
        for (name, value) in vars {
            let size = to_text(value).len() + name.len();
            if size > MAX_VARIABLE_BYTES {
                return Err(too_large(format!(
                    "The variable '{name}' exceeds the maximum size of {MAX_VARIABLE_BYTES} bytes."
                )));
            }
            total += size;
        }
        if total > MAX_VARIABLE_BYTES {
            return Err(too_large(format!(
                "The variables assigned by this state exceed the maximum size of {MAX_VARIABLE_BYTES} bytes."
            )));
        }
        // Everything stored, counting the new values instead of the ones they
        // replace in this frame.
        let mut stored = total;
        for (i, f) in self.exec.frames.iter().enumerate() {
            let Some(f) = f else { continue };
            for (name, value) in &f.vars {
                if i == fid && vars.contains_key(name) {
                    continue;
                }
                stored += to_text(value).len() + name.len();
            }
        }
        if stored > MAX_EXECUTION_VARIABLE_BYTES {
            return Err(too_large(format!(
                "The variables of this execution exceed the maximum size of {MAX_EXECUTION_VARIABLE_BYTES} bytes."
            )));
        }
        Ok(())
    }

    fn context_object(
        &self,
        fid: FrameId,
        state: &State,
        active: &Active,
        token: Option<&str>,
        item: Option<(usize, &Value)>,
    ) -> Value {
        let ctx = &self.exec.ctx;
        let mut execution = Map::new();
        execution.insert("Id".into(), Value::from(ctx.execution_arn.clone()));
        execution.insert("Input".into(), ctx.input.clone());
        execution.insert(
            "StartTime".into(),
            Value::from(baton_asl::time::format_millis(self.exec.start_time)),
        );
        execution.insert("Name".into(), Value::from(ctx.execution_name.clone()));
        execution.insert("RoleArn".into(), Value::from(ctx.role_arn.clone()));
        execution.insert("RedriveCount".into(), Value::from(ctx.redrive_count));
        let mut st = Map::new();
        st.insert("Name".into(), Value::from(state.name.clone()));
        st.insert(
            "EnteredTime".into(),
            Value::from(baton_asl::time::format_millis(active.entered_time)),
        );
        if recovery_of(state).is_some() {
            st.insert("RetryCount".into(), Value::from(active.retry_count));
        }
        let mut m = Map::new();
        m.insert("Execution".into(), Value::Object(execution));
        m.insert(
            "StateMachine".into(),
            json!({"Id": ctx.state_machine_arn, "Name": ctx.state_machine_name}),
        );
        m.insert("State".into(), Value::Object(st));
        if let Some(t) = token {
            m.insert("Task".into(), json!({ "Token": t }));
        }
        if let Some((index, value)) = item {
            m.insert(
                "Map".into(),
                json!({"Item": {"Index": index, "Value": value}}),
            );
        }
        let _ = fid;
        Value::Object(m)
    }

    fn runtime(&self, active: &Active, state: &State, message: String) -> StatesError {
        StatesError::runtime(format!(
            "An error occurred while executing the state '{}' (entered at the event id #{}). {message}",
            state.name, active.entered_id
        ))
    }

    fn prefix(&self, active: &Active, state: &State, e: StatesError) -> StatesError {
        match e.cause {
            Some(c) if !c.starts_with("An error occurred while executing the state") => {
                StatesError {
                    error: e.error,
                    cause: Some(format!(
                        "An error occurred while executing the state '{}' (entered at the event id #{}). {c}",
                        state.name, active.entered_id
                    )),
                }
            }
            cause => StatesError {
                error: e.error,
                cause,
            },
        }
    }

    fn jsonata_unsupported(&self, active: &Active, state: &State) -> StatesError {
        self.runtime(
            active,
            state,
            "JSONata expressions are not supported by Baton yet.".to_string(),
        )
    }
}

/// Variables visible from a frame: its own, then its parents'.
struct FrameVars<'a> {
    exec: &'a Execution,
    fid: FrameId,
}

impl Vars for FrameVars<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        let mut fid = Some(self.fid);
        while let Some(f) = fid
            .and_then(|i| self.exec.frames.get(i))
            .and_then(Option::as_ref)
        {
            if let Some(v) = f.vars.get(name) {
                return Some(v);
            }
            fid = f.parent;
        }
        None
    }
}

fn graph_at<'d>(def: &'d Definition, path: &[(usize, usize)]) -> Option<&'d Graph> {
    let mut g = &def.graph;
    for &(s, b) in path {
        let (_, state) = g.states.get_index(s)?;
        g = match &state.kind {
            StateKind::Parallel(p) => p.branches.get(b)?,
            StateKind::Map(m) => &m.processor,
            _ => return None,
        };
    }
    Some(g)
}

fn recovery_of(state: &State) -> Option<&Recovery> {
    match &state.kind {
        StateKind::Task(t) => Some(&t.recovery),
        StateKind::Parallel(p) => Some(&p.recovery),
        StateKind::Map(m) => Some(&m.recovery),
        _ => None,
    }
}

/// Whether a Choice rule reads the Context Object (`$$`).
fn rule_uses_context(rule: &ChoiceRule) -> bool {
    match rule {
        ChoiceRule::And(rs) | ChoiceRule::Or(rs) => rs.iter().any(rule_uses_context),
        ChoiceRule::Not(r) => rule_uses_context(r),
        ChoiceRule::Compare {
            variable, operand, ..
        } => {
            *variable.root() == Root::Context
                || matches!(operand, Operand::Path(p) if *p.root() == Root::Context)
        }
        ChoiceRule::Condition(_) => false,
    }
}

/// Moves an active state out, leaving its identity behind.
fn take_active(a: &mut Active) -> Active {
    let rest = Active {
        state: a.state,
        entered_id: a.entered_id,
        entered_time: a.entered_time,
        input: Value::Null,
        retries: Vec::new(),
        retry_count: a.retry_count,
        wait: Await::Timer(0),
    };
    std::mem::replace(a, rest)
}

/// Whether nothing after ResultPath can fail (OutputPath `$` or `null`), so
/// the state input may be handed over instead of copied.
fn output_cannot_fail(state: &State) -> bool {
    matches!(state.io.output_path, PathField::Default | PathField::Null)
}

/// Whether a retrier's or catcher's `ErrorEquals` matches `err`.
/// `States.Runtime` is never retried or caught: AWS fails the execution
/// even under an explicit `States.Runtime` catcher (recorded:
/// `test_catch_states_runtime`).
pub fn matches_error(error_equals: &[String], err: &StatesError, heartbeat: bool) -> bool {
    if err.error == names::RUNTIME {
        return false;
    }
    error_equals.iter().any(|name| match name.as_str() {
        names::ALL => err.error != names::RUNTIME,
        names::TASK_FAILED => {
            err.error != names::TIMEOUT && err.error != names::RUNTIME && !err.error.is_empty()
        }
        names::HEARTBEAT_TIMEOUT => heartbeat || err.error == names::HEARTBEAT_TIMEOUT,
        other => other == err.error,
    })
}

fn payload_too_large(v: &Value) -> bool {
    let mut size = 0;
    json_size(v, &mut size);
    size > MAX_PAYLOAD_BYTES
}

/// Adds the length of `v`'s compact JSON text to `acc` (exact, without
/// writing it), stopping early once past the payload limit.
fn json_size(v: &Value, acc: &mut usize) {
    if *acc > MAX_PAYLOAD_BYTES {
        return;
    }
    match v {
        Value::Null => *acc += 4,
        Value::Bool(b) => *acc += if *b { 4 } else { 5 },
        Value::Number(n) => {
            *acc += match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => digits(u),
                (None, Some(i)) => digits(i.unsigned_abs()) + 1,
                _ => n.to_string().len(),
            }
        }
        Value::String(s) => *acc += string_size(s),
        Value::Array(a) => {
            *acc += 2 + a.len().saturating_sub(1);
            for x in a {
                json_size(x, acc);
            }
        }
        Value::Object(o) => {
            *acc += 2 + o.len().saturating_sub(1) + o.len();
            for (k, x) in o {
                *acc += string_size(k);
                json_size(x, acc);
            }
        }
    }
}

fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

/// The length of a JSON string literal as serde_json writes it.
fn string_size(s: &str) -> usize {
    let mut n = 2;
    for b in s.bytes() {
        n += match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        };
    }
    n
}

/// Jayway's message for a path that selects nothing (`No results for path:
/// $['a']`, `Missing property in path $['a']`), as AWS quotes it.
fn not_found(path: &Path, doc: &Value) -> String {
    match path.try_select(doc) {
        Err(e) => e.message,
        Ok(_) => format!("No results for path: {}", path.source()),
    }
}

/// Compact JSON text.
pub fn to_text(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    let mut m = Map::with_capacity(N);
    for (k, v) in pairs {
        m.insert(k.to_string(), v);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_size_is_exact() {
        for v in [
            json!(null),
            json!({"a": [1, -2, 3.5, 1e300, true, false, null], "é\"\\\n\u{1}": "x\ty\u{7f}ü"}),
            json!([]),
            json!({}),
            json!([
                [],
                {},
                "",
                0,
                -9_223_372_036_854_775_807i64,
                18_446_744_073_709_551_615u64
            ]),
        ] {
            let mut n = 0;
            json_size(&v, &mut n);
            assert_eq!(n, serde_json::to_string(&v).unwrap().len(), "{v}");
        }
    }
}
