//! A shard: owns its executions, applies their inputs one at a time with
//! [`Execution::step`], and hands each step to the committer.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use baton_asl::{Definition, Env};
use baton_interp::{
    Command, Completion, Execution, Input, Status, TaskId, TokenMinter, Transition,
};
use baton_storage::{
    EventRecord, ExecutionRecord, ExecutionWrite, OutboxRecord, TimerRecord, TransitionWrite,
};

use super::activities::{ActivityTask, Waiter};
use super::committer::{AfterCommit, Commit};
use super::dispatch::OutboxCommand;
use super::{Shared, Work, wall_clock_ms};
use crate::tokens::TokenClaims;
use crate::{Error, ErrorKind, Result};

/// How many idle executions a shard keeps in memory.
const CACHE_IDLE_LIMIT: usize = 20_000;

/// An execution in memory.
pub(crate) struct Live {
    pub(crate) record: ExecutionRecord,
    pub(crate) exec: Execution,
    pub(crate) def: Arc<Definition>,
    /// The version of the last durable write.
    pub(crate) committed: u64,
}

/// The wall clock and a fast pseudo-random stream.
struct WallEnv {
    state: u64,
}

impl WallEnv {
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Env for WallEnv {
    fn now_millis(&self) -> i64 {
        wall_clock_ms()
    }
    fn uuid_v4(&mut self) -> String {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next().to_le_bytes());
        b[8..].copy_from_slice(&self.next().to_le_bytes());
        baton_asl::env::format_uuid_v4(b)
    }
    fn random_f64(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Mints tokens for one execution.
struct Minter<'a> {
    shared: &'a Shared,
    execution_id: u64,
}

impl TokenMinter for Minter<'_> {
    fn check_resource(&mut self, resource: &str) -> std::result::Result<(), String> {
        let is_activity =
            resource.starts_with("arn:") && resource.split(':').nth(5) == Some("activity");
        if !is_activity {
            return Ok(());
        }
        if self
            .shared
            .known_activities
            .read()
            .is_ok_and(|k| k.contains(resource))
        {
            return Ok(());
        }
        match self.shared.store.get_activity(resource) {
            Ok(Some(_)) => {
                if let Ok(mut k) = self.shared.known_activities.write() {
                    k.insert(resource.to_string());
                }
                Ok(())
            }
            Ok(None) => Err(format!("The activity {resource} does not exist.")),
            // The store will fail the commit too; let the task be scheduled.
            Err(_) => Ok(()),
        }
    }

    fn mint(&mut self, _execution_arn: &str, task: TaskId, attempt: u32) -> String {
        self.shared.key.mint(TokenClaims {
            execution_id: self.execution_id,
            task,
            attempt,
        })
    }
}

pub(crate) fn run(shared: Arc<Shared>, rx: Receiver<Work>) {
    let seed = (wall_clock_ms() as u64).rotate_left(17) ^ (Arc::as_ptr(&shared) as usize as u64);
    let mut shard = Shard {
        shared,
        live: HashMap::new(),
        env: WallEnv { state: seed },
    };
    while let Ok(work) = rx.recv() {
        match work {
            Work::Shutdown => break,
            Work::Start { live, reply } => shard.start(*live, reply),
            Work::Input {
                execution_id,
                input,
                reply,
                expect_task,
            } => shard.input(execution_id, input, reply, expect_task),
            Work::Committed {
                execution_id,
                version,
            } => shard.committed(execution_id, version),
        }
    }
}

struct Shard {
    shared: Arc<Shared>,
    live: HashMap<u64, Live>,
    env: WallEnv,
}

impl Shard {
    fn start(&mut self, mut live: Live, reply: tokio::sync::oneshot::Sender<Result<()>>) {
        let id = live.record.id;
        let mut minter = Minter {
            shared: &self.shared,
            execution_id: id,
        };
        let t = live
            .exec
            .step(&live.def, Input::Start, &mut self.env, &mut minter);
        let (t, handoffs) = self.hand_out(id, &mut live, t);
        let write = self.write_for(&mut live, &t, &Input::Start, true);
        self.live.insert(id, live);
        self.submit(id, write, t, Some(reply), handoffs);
    }

    fn input(
        &mut self,
        id: u64,
        input: Input,
        reply: Option<tokio::sync::oneshot::Sender<Result<()>>>,
        expect_task: Option<u64>,
    ) {
        if !self.live.contains_key(&id) {
            match self.load(id) {
                Ok(Some(live)) => {
                    self.live.insert(id, live);
                }
                Ok(None) => {
                    if let Some(r) = reply {
                        let _ = r.send(Err(task_gone()));
                    }
                    return;
                }
                Err(e) => {
                    if let Some(r) = reply {
                        let _ = r.send(Err(e));
                    }
                    return;
                }
            }
        }
        let Some(mut live) = self.live.remove(&id) else {
            return;
        };
        if live.exec.completion().is_some() && input != Input::Redrive {
            self.live.insert(id, live);
            if let Some(r) = reply {
                let _ = r.send(Err(task_gone()));
            }
            return;
        }
        if let Some(task) = expect_task
            && !live.exec.awaits_task(task)
        {
            self.live.insert(id, live);
            if let Some(r) = reply {
                let _ = r.send(Err(task_gone()));
            }
            return;
        }
        let mut minter = Minter {
            shared: &self.shared,
            execution_id: id,
        };
        let t = live
            .exec
            .step(&live.def, input.clone(), &mut self.env, &mut minter);
        let (t, handoffs) = self.hand_out(id, &mut live, t);
        let state_changed =
            !t.events.is_empty() || !t.commands.is_empty() || t.completion.is_some();
        // A `.sync` task's row stays until its outcome: after a restart the
        // re-dispatch finds the child again and waits for it.
        let keeps_row = matches!(input, Input::TaskSubmitted { task, .. }
            if live.exec.task_resource(&live.def, task).is_some_and(|r| r.ends_with(".sync") || r.ends_with(".sync:2")));
        let finishes_outbox = if keeps_row {
            None
        } else {
            outbox_done_by(&input)
        };
        if !state_changed && finishes_outbox.is_none() && !matches!(input, Input::TimerFired { .. })
        {
            self.live.insert(id, live);
            if let Some(r) = reply {
                let _ = r.send(Ok(()));
            }
            return;
        }
        let mut write = self.write_for(&mut live, &t, &input, false);
        if keeps_row {
            write
                .outbox_removed
                .retain(|seq| !matches!(input, Input::TaskSubmitted { task, .. } if task == *seq));
        }
        self.live.insert(id, live);
        self.submit(id, write, t, reply, handoffs);
    }

    /// Activity tasks this step scheduled for which a poll is waiting: the
    /// poll is claimed and the task recorded as started in this same step
    /// (no outbox row, one commit); after the commit the task goes to the
    /// poll. Executions answered by a mock test case are left alone.
    fn hand_out(
        &mut self,
        id: u64,
        live: &mut Live,
        mut t: Transition,
    ) -> (Transition, Vec<(Waiter, ActivityTask)>) {
        let mut handoffs = Vec::new();
        if !t.commands.iter().any(|c| {
            matches!(c, Command::InvokeTask(req) if super::dispatch::is_activity(&req.resource))
        }) || self.shared.has_mock(id)
        {
            return (t, handoffs);
        }
        let mut i = 0;
        while i < t.commands.len() {
            let claimed = match &t.commands[i] {
                Command::InvokeTask(req) if super::dispatch::is_activity(&req.resource) => self
                    .shared
                    .activities
                    .claim_waiter(&req.resource)
                    .map(|w| (w, req.task)),
                _ => None,
            };
            let Some((waiter, task)) = claimed else {
                i += 1;
                continue;
            };
            let Command::InvokeTask(req) = t.commands.remove(i) else {
                continue;
            };
            let mut minter = Minter {
                shared: &self.shared,
                execution_id: id,
            };
            let started = live.exec.step(
                &live.def,
                Input::TaskStarted {
                    task,
                    worker_name: waiter.worker_name.clone(),
                },
                &mut self.env,
                &mut minter,
            );
            t.events.extend(started.events);
            t.commands.extend(started.commands);
            t.states_entered += started.states_entered;
            if started.completion.is_some() {
                t.completion = started.completion;
            }
            handoffs.push((
                waiter,
                ActivityTask {
                    execution_id: id,
                    task,
                    token: req.token.clone().unwrap_or_default(),
                    input: baton_interp::exec::to_text(&req.parameters),
                },
            ));
        }
        (t, handoffs)
    }

    /// Loads a RUNNING execution from the store.
    fn load(&self, id: u64) -> Result<Option<Live>> {
        let Some(mut record) = self.shared.store.get_execution_by_id(id)? else {
            return Ok(None);
        };
        let exec: Execution = serde_json::from_slice(&record.state).map_err(|e| {
            Error::new(
                ErrorKind::Internal,
                format!("execution {} has unreadable state: {e}", record.arn),
            )
        })?;
        let def = self
            .shared
            .definition(&record.state_machine_arn, record.revision)?;
        record.state = Vec::new();
        let committed = record.version;
        Ok(Some(Live {
            record,
            exec,
            def,
            committed,
        }))
    }

    fn committed(&mut self, id: u64, version: u64) {
        let evict = match self.live.get_mut(&id) {
            Some(live) => {
                live.committed = live.committed.max(version);
                let idle = live.committed == live.record.version && !live.exec.has_paused();
                let done = live.exec.completion().is_some();
                idle && (done || self.live.len() > CACHE_IDLE_LIMIT)
            }
            None => false,
        };
        if evict {
            self.live.remove(&id);
        }
    }

    /// Builds the durable write of one step.
    fn write_for(
        &self,
        live: &mut Live,
        t: &Transition,
        input: &Input,
        insert: bool,
    ) -> TransitionWrite {
        let rec = &mut live.record;
        rec.version += 1;
        if *input == Input::Redrive
            && t.events
                .iter()
                .any(|e| e.r#type == baton_interp::EventType::ExecutionRedriven)
        {
            rec.status = "RUNNING".into();
            rec.redrive_count += 1;
            rec.redrive_ms = Some(wall_clock_ms());
            rec.stop_ms = None;
            rec.output = None;
            rec.error = None;
            rec.cause = None;
        }
        if let Some(c) = &t.completion {
            apply_completion(rec, c, wall_clock_ms());
        }
        let mut state = serde_json::to_vec(&live.exec).unwrap_or_default();
        std::mem::swap(&mut rec.state, &mut state);
        let full = rec.clone();
        std::mem::swap(&mut rec.state, &mut state);
        rec.state = Vec::new();
        let events = t
            .events
            .iter()
            .map(|e| EventRecord {
                id: e.id,
                previous_event_id: e.previous_event_id,
                timestamp_ms: e.timestamp,
                event_type: e.r#type.as_str().to_string(),
                details: e
                    .details
                    .as_ref()
                    .map(|d| serde_json::to_string(d).unwrap_or_else(|_| "{}".into()))
                    .unwrap_or_else(|| "{}".into()),
            })
            .collect();
        let mut timers_added = Vec::new();
        let mut timers_removed = Vec::new();
        let mut outbox_added = Vec::new();
        let mut outbox_removed = Vec::new();
        if let Input::TimerFired { timer } = input {
            timers_removed.push(*timer);
        }
        if let Some(task) = outbox_done_by(input) {
            outbox_removed.push(task);
        }
        for c in &t.commands {
            match c {
                Command::ArmTimer { timer, due, .. } => timers_added.push(TimerRecord {
                    execution_id: full.id,
                    timer_id: *timer,
                    due_ms: *due,
                }),
                Command::CancelTimer { timer } => timers_removed.push(*timer),
                Command::InvokeTask(req) => {
                    let cmd = OutboxCommand {
                        execution_id: full.id,
                        execution_arn: full.arn.clone(),
                        request: (**req).clone(),
                    };
                    outbox_added.push(OutboxRecord {
                        execution_id: full.id,
                        seq: req.task,
                        command: serde_json::to_string(&cmd).unwrap_or_default(),
                    });
                }
                Command::CancelTask { task } => outbox_removed.push(*task),
                Command::Continue => {}
            }
        }
        // A task that starts and ends within one step leaves no outbox row.
        outbox_added.retain(|o| !outbox_removed.contains(&o.seq));
        TransitionWrite {
            execution: if insert {
                ExecutionWrite::Insert(full)
            } else {
                ExecutionWrite::Update(full)
            },
            events,
            timers_added,
            timers_removed,
            outbox_added,
            outbox_removed,
        }
    }

    fn submit(
        &self,
        id: u64,
        write: TransitionWrite,
        t: Transition,
        reply: Option<tokio::sync::oneshot::Sender<Result<()>>>,
        handoffs: Vec<(Waiter, ActivityTask)>,
    ) {
        let ended = t.completion.as_ref().map(|_| match &write.execution {
            ExecutionWrite::Insert(r) | ExecutionWrite::Update(r) => {
                let mut r = r.clone();
                r.state = Vec::new();
                r
            }
        });
        let version = match &write.execution {
            ExecutionWrite::Insert(r) | ExecutionWrite::Update(r) => r.version,
        };
        let after = AfterCommit {
            states_entered: t.states_entered,
            execution_id: id,
            version,
            reply,
            commands: t.commands,
            handoffs,
            ended,
            execution_arn: match &write.execution {
                ExecutionWrite::Insert(r) | ExecutionWrite::Update(r) => r.arn.clone(),
            },
        };
        self.shared.committer.send(Commit { write, after });
    }
}

/// The outbox row (task) an input finishes: a task's outcome, its pickup by
/// an activity worker, or its submission.
fn outbox_done_by(input: &Input) -> Option<u64> {
    match input {
        Input::TaskSucceeded { task, .. }
        | Input::TaskFailed { task, .. }
        | Input::TaskSubmitted { task, .. }
        | Input::TaskStarted { task, .. } => Some(*task),
        _ => None,
    }
}

pub(crate) fn apply_completion(rec: &mut ExecutionRecord, c: &Completion, now: i64) {
    rec.status = c.status.as_str().to_string();
    rec.stop_ms = Some(now);
    rec.output = if c.status == Status::Succeeded {
        c.output.clone()
    } else {
        None
    };
    rec.error = c.error.clone();
    rec.cause = c.cause.clone();
}

/// AWS's answer to a callback for a task that is gone.
pub(crate) fn task_gone() -> Error {
    Error::new(
        ErrorKind::TaskTimedOut,
        "Task Timed Out: 'Provided task does not exist anymore'",
    )
}
