//! The execution actions, as the API calls them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use baton_interp::{Execution, Input, StartContext};
use baton_storage::{ExecutionQuery, ExecutionRecord, MachineType, StateMachineRecord};
use serde_json::{Map, Value};
use tokio::sync::oneshot;

use super::activities::{Handoff, Taken};
use super::worker::Live;
use super::{Shared, Work, wall_clock_ms};
use crate::arn;
use crate::{Caller, Engine, Error, ErrorKind, Result};

/// The largest input, output or payload AWS accepts (bytes).
pub const MAX_PAYLOAD: usize = 262_144;

/// StartExecution's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedExecution {
    pub execution_arn: String,
    pub start_ms: i64,
}

/// One page of a listing; `next_token` continues it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

fn err(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error::new(kind, message)
}

/// Runs a blocking store call off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| err(ErrorKind::Internal, e.to_string()))?
}

fn invalid_arn(arn: &str) -> Error {
    err(ErrorKind::InvalidArn, format!("Invalid Arn: '{arn}'"))
}

fn execution_not_found(arn: &str) -> Error {
    err(
        ErrorKind::ExecutionDoesNotExist,
        format!("Execution Does Not Exist: '{arn}'"),
    )
}

fn check_execution_arn(arn: &str) -> Result<()> {
    match arn::Parsed::parse(arn) {
        Some(p) if p.resource_type == "execution" || p.resource_type == "express" => Ok(()),
        _ => Err(invalid_arn(arn)),
    }
}

fn page_size(max_results: Option<usize>) -> Result<usize> {
    match max_results {
        None | Some(0) => Ok(100),
        Some(n) if n <= 1000 => Ok(n),
        Some(_) => Err(err(
            ErrorKind::Validation,
            "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000",
        )),
    }
}

fn encode_token(v: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("baton:{v}"))
}

fn decode_token(t: &str) -> Result<u64> {
    URL_SAFE_NO_PAD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("baton:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| err(ErrorKind::InvalidToken, format!("Invalid Token: '{t}'")))
}

fn check_len(field: &str, value: &Option<String>, max: usize) -> Result<()> {
    match value {
        Some(v) if v.chars().count() > max => Err(err(
            ErrorKind::Validation,
            format!(
                "1 validation error detected: Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            ),
        )),
        _ => Ok(()),
    }
}

impl Engine {
    fn shared(&self) -> &Arc<Shared> {
        &self.inner.runtime.shared
    }

    /// The runtime's counters.
    pub fn metrics(&self) -> &super::Metrics {
        &self.shared().metrics
    }

    /// Activity tasks waiting for a worker.
    pub fn activity_tasks_waiting(&self) -> usize {
        self.shared().activities.waiting()
    }

    /// Registers an integration (queues, topics, functions, ...): Task states
    /// whose resource it accepts are handed to it.
    pub fn register_integration(&self, integration: Arc<dyn super::Integration>) {
        if let Ok(mut list) = self.shared().integrations.write() {
            list.push(integration);
        }
    }

    /// StartExecution (Standard or Express). `input` defaults to `{}`; `name`
    /// to a UUID. A name reused while that execution is RUNNING with the same
    /// input returns it; any other reuse is `ExecutionAlreadyExists`.
    /// `state_machine_arn` may end in `#TestCase` when a mock config is set.
    pub async fn start_execution(
        &self,
        caller: &Caller,
        state_machine_arn: &str,
        name: Option<String>,
        input: Option<String>,
        trace_header: Option<String>,
    ) -> Result<StartedExecution> {
        let (prepared, reply) = self
            .prepare_start(caller, state_machine_arn, name, input, trace_header, false)
            .await?;
        match prepared {
            Prepared::Existing(started) => Ok(started),
            Prepared::New(live) => self.launch(*live, reply).await,
        }
    }

    /// StartSyncExecution (Express only): runs the execution to its end and
    /// returns it.
    pub async fn start_sync_execution(
        &self,
        caller: &Caller,
        state_machine_arn: &str,
        name: Option<String>,
        input: Option<String>,
        trace_header: Option<String>,
    ) -> Result<ExecutionRecord> {
        let (prepared, reply) = self
            .prepare_start(caller, state_machine_arn, name, input, trace_header, true)
            .await?;
        let Prepared::New(live) = prepared else {
            return Err(err(
                ErrorKind::ExecutionAlreadyExists,
                "Execution Already Exists",
            ));
        };
        let id = live.record.id;
        let (tx, rx) = oneshot::channel();
        self.shared().watch(id, tx);
        self.launch(*live, reply).await?;
        rx.await
            .map_err(|_| err(ErrorKind::Unavailable, "Baton is shutting down"))
    }

    async fn launch(
        &self,
        live: Live,
        reply: (oneshot::Sender<Result<()>>, oneshot::Receiver<Result<()>>),
    ) -> Result<StartedExecution> {
        let shared = self.shared().clone();
        let started = StartedExecution {
            execution_arn: live.record.arn.clone(),
            start_ms: live.record.start_ms,
        };
        let id = live.record.id;
        let arn = live.record.arn.clone();
        let (tx, rx) = reply;
        shared
            .metrics
            .executions_started
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        shared.send(
            id,
            Work::Start {
                live: Box::new(live),
                reply: tx,
            },
        );
        let r = rx
            .await
            .map_err(|_| err(ErrorKind::Unavailable, "Baton is shutting down"));
        if let Ok(mut s) = shared.starting.lock() {
            s.remove(&arn);
        }
        r??;
        Ok(started)
    }

    async fn prepare_start(
        &self,
        caller: &Caller,
        state_machine_arn: &str,
        name: Option<String>,
        input: Option<String>,
        trace_header: Option<String>,
        sync: bool,
    ) -> Result<(
        Prepared,
        (oneshot::Sender<Result<()>>, oneshot::Receiver<Result<()>>),
    )> {
        let shared = self.shared().clone();
        shared.check_writable()?;
        let (sm_arn, test_case) = match state_machine_arn.split_once('#') {
            Some((a, c)) => (a.to_string(), Some(c.to_string())),
            None => (state_machine_arn.to_string(), None),
        };
        match arn::Parsed::parse(&sm_arn) {
            Some(p) if p.resource_type == "stateMachine" && !p.resource_name.contains(':') => {}
            Some(p) if p.resource_type == "stateMachine" => {
                return Err(err(
                    ErrorKind::Unsupported,
                    format!(
                        "Baton does not support state machine versions and aliases yet: '{sm_arn}'"
                    ),
                ));
            }
            _ => return Err(invalid_arn(&sm_arn)),
        }
        let store = shared.store.clone();
        let a = sm_arn.clone();
        let sm = blocking(move || Ok(store.get_state_machine(&a)?))
            .await?
            .ok_or_else(|| {
                err(
                    ErrorKind::StateMachineDoesNotExist,
                    format!("State Machine Does Not Exist: '{sm_arn}'"),
                )
            })?;
        if sm.status == "DELETING" {
            return Err(err(
                ErrorKind::StateMachineDeleting,
                format!("State machine is being deleted: '{sm_arn}'"),
            ));
        }
        let express = sm.machine_type == MachineType::Express;
        if sync && !express {
            return Err(err(
                ErrorKind::StateMachineTypeNotSupported,
                "This operation is not supported by this type of state machine",
            ));
        }
        let name = match name {
            Some(n) if arn::valid_name(&n) => n,
            Some(n) => return Err(err(ErrorKind::InvalidName, format!("Invalid Name: '{n}'"))),
            None => crate::control::uuid_v4(),
        };
        let input = input.unwrap_or_else(|| "{}".to_string());
        if input.len() > MAX_PAYLOAD {
            return Err(err(
                ErrorKind::Validation,
                format!(
                    "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to {MAX_PAYLOAD}"
                ),
            ));
        }
        let parsed: Value = serde_json::from_str(&input).map_err(|e| {
            err(
                ErrorKind::InvalidExecutionInput,
                format!("Invalid State Machine Execution Input: '{e}'"),
            )
        })?;
        let execution_arn = if express {
            arn::express_execution(&sm_arn, &name, &crate::control::uuid_v4())
        } else {
            arn::execution(&sm_arn, &name)
        }
        .ok_or_else(|| invalid_arn(&sm_arn))?;
        // Reserve the name, then look for an execution that has it.
        {
            let mut starting = shared
                .starting
                .lock()
                .map_err(|_| err(ErrorKind::Internal, "poisoned"))?;
            if !starting.insert(execution_arn.clone()) {
                return Err(err(
                    ErrorKind::ExecutionAlreadyExists,
                    format!("Execution Already Exists: '{execution_arn}'"),
                ));
            }
        }
        let release = |shared: &Shared, arn: &str| {
            if let Ok(mut s) = shared.starting.lock() {
                s.remove(arn);
            }
        };
        if !express {
            let store = shared.store.clone();
            let a = execution_arn.clone();
            let existing = match blocking(move || Ok(store.get_execution(&a)?)).await {
                Ok(e) => e,
                Err(e) => {
                    release(&shared, &execution_arn);
                    return Err(e);
                }
            };
            if let Some(rec) = existing {
                release(&shared, &execution_arn);
                if rec.status == "RUNNING" && rec.input == input {
                    let (tx, rx) = oneshot::channel();
                    return Ok((
                        Prepared::Existing(StartedExecution {
                            execution_arn: rec.arn,
                            start_ms: rec.start_ms,
                        }),
                        (tx, rx),
                    ));
                }
                return Err(err(
                    ErrorKind::ExecutionAlreadyExists,
                    format!("Execution Already Exists: '{execution_arn}'"),
                ));
            }
        }
        let prepared = (|| -> Result<Live> {
            let def = shared.definition(&sm_arn, sm.revision)?;
            let id = shared.allocate_id()?;
            if let Some(case) = &test_case {
                let config = shared.config.mock_config.as_ref().ok_or_else(|| {
                    err(
                        ErrorKind::InvalidArn,
                        format!("Invalid Arn: '{state_machine_arn}' (no mock config is loaded)"),
                    )
                })?;
                let tc = baton_interp::mock::TestCase::from_config(config, &sm.name, case)
                    .map_err(|e| err(ErrorKind::Validation, e.to_string()))?;
                if let Ok(mut m) = shared.mocks.lock() {
                    m.insert(id, tc);
                }
            }
            let now = wall_clock_ms();
            let ctx = StartContext {
                execution_arn: execution_arn.clone(),
                execution_name: name.clone(),
                state_machine_arn: sm_arn.clone(),
                state_machine_name: sm.name.clone(),
                role_arn: sm.content.role_arn.clone(),
                input: parsed,
                input_text: Some(input.clone()),
                region: caller.region.clone(),
                keep_history: !express,
                history_cap: !express,
                redrive_count: 0,
            };
            let exec = Execution::new(ctx, now);
            let record = ExecutionRecord {
                id,
                arn: execution_arn.clone(),
                state_machine_arn: sm_arn.clone(),
                revision: sm.revision,
                name: name.clone(),
                status: "RUNNING".into(),
                start_ms: now,
                stop_ms: None,
                input: input.clone(),
                output: None,
                error: None,
                cause: None,
                trace_header,
                redrive_count: 0,
                redrive_ms: None,
                state: Vec::new(),
                version: 0,
            };
            Ok(Live {
                record,
                exec,
                def,
                committed: 0,
            })
        })();
        match prepared {
            Ok(live) => Ok((Prepared::New(Box::new(live)), oneshot::channel())),
            Err(e) => {
                release(&shared, &execution_arn);
                Err(e)
            }
        }
    }

    /// Waits until the execution ends; returns its record.
    pub async fn wait_for_end(&self, execution_arn: &str) -> Result<ExecutionRecord> {
        let rec = self.describe_execution(execution_arn).await?;
        if rec.status != "RUNNING" {
            return Ok(rec);
        }
        let (tx, rx) = oneshot::channel();
        self.shared().watch(rec.id, tx);
        // It may have ended between the read and the watch.
        let again = self.describe_execution(execution_arn).await?;
        if again.status != "RUNNING" {
            return Ok(again);
        }
        rx.await
            .map_err(|_| err(ErrorKind::Unavailable, "Baton is shutting down"))
    }

    /// DescribeExecution.
    pub async fn describe_execution(&self, execution_arn: &str) -> Result<ExecutionRecord> {
        check_execution_arn(execution_arn)?;
        let store = self.shared().store.clone();
        let a = execution_arn.to_string();
        let mut rec = blocking(move || Ok(store.get_execution(&a)?))
            .await?
            .ok_or_else(|| execution_not_found(execution_arn))?;
        rec.state = Vec::new();
        Ok(rec)
    }

    /// DescribeStateMachineForExecution: the state machine with the revision
    /// the execution runs.
    pub async fn describe_state_machine_for_execution(
        &self,
        execution_arn: &str,
    ) -> Result<StateMachineRecord> {
        let rec = self.describe_execution(execution_arn).await?;
        let store = self.shared().store.clone();
        let (sm, content) = blocking(move || {
            Ok((
                store.get_state_machine(&rec.state_machine_arn)?,
                store.get_revision(&rec.state_machine_arn, rec.revision)?,
            ))
        })
        .await?;
        let mut sm = sm.ok_or_else(|| execution_not_found(execution_arn))?;
        if let Some(c) = content {
            sm.content = c;
        }
        Ok(sm)
    }

    /// ListExecutions, newest first.
    pub async fn list_executions(
        &self,
        state_machine_arn: &str,
        status_filter: Option<String>,
        redrive_filter: Option<String>,
        max_results: Option<usize>,
        next_token: Option<String>,
    ) -> Result<Page<ExecutionRecord>> {
        let limit = page_size(max_results)?;
        match arn::Parsed::parse(state_machine_arn) {
            Some(p) if p.resource_type == "stateMachine" => {}
            _ => return Err(invalid_arn(state_machine_arn)),
        }
        let after_id = next_token.as_deref().map(decode_token).transpose()?;
        let redriven = match redrive_filter.as_deref() {
            None => None,
            Some("REDRIVEN") => Some(true),
            Some("NOT_REDRIVEN") => Some(false),
            Some(other) => {
                return Err(err(
                    ErrorKind::Validation,
                    format!(
                        "1 validation error detected: Value '{other}' at 'redriveFilter' failed to satisfy constraint: Member must satisfy enum value set: [REDRIVEN, NOT_REDRIVEN]"
                    ),
                ));
            }
        };
        let store = self.shared().store.clone();
        let a = state_machine_arn.to_string();
        let sm = blocking({
            let store = store.clone();
            move || Ok(store.get_state_machine(&a)?)
        })
        .await?
        .ok_or_else(|| {
            err(
                ErrorKind::StateMachineDoesNotExist,
                format!("State Machine Does Not Exist: '{state_machine_arn}'"),
            )
        })?;
        if sm.machine_type == MachineType::Express {
            return Err(err(
                ErrorKind::StateMachineTypeNotSupported,
                "This operation is not supported by this type of state machine",
            ));
        }
        let query = ExecutionQuery {
            state_machine_arn: state_machine_arn.to_string(),
            status: status_filter,
            redriven,
            after_id,
            limit: limit + 1,
        };
        let mut items = blocking(move || Ok(store.list_executions(&query)?)).await?;
        let next_token = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|r| encode_token(r.id))
        } else {
            None
        };
        for r in &mut items {
            r.state = Vec::new();
        }
        Ok(Page { items, next_token })
    }

    /// GetExecutionHistory: events in GetExecutionHistory's JSON shape
    /// (`timestamp` as epoch seconds).
    pub async fn get_execution_history(
        &self,
        execution_arn: &str,
        max_results: Option<usize>,
        reverse_order: bool,
        next_token: Option<String>,
        include_execution_data: bool,
    ) -> Result<Page<Value>> {
        let limit = page_size(max_results)?;
        let rec = self.describe_execution(execution_arn).await?;
        if arn::Parsed::parse(execution_arn).is_some_and(|p| p.resource_type == "express") {
            return Err(err(
                ErrorKind::InvalidArn,
                format!(
                    "Invalid Arn: 'Resource type not valid in this context: express' ({execution_arn})"
                ),
            ));
        }
        let after = next_token
            .as_deref()
            .map(decode_token)
            .transpose()?
            .unwrap_or(0);
        let store = self.shared().store.clone();
        let events =
            blocking(move || Ok(store.history(rec.id, after, limit + 1, reverse_order)?)).await?;
        let more = events.len() > limit;
        let events: Vec<_> = events.into_iter().take(limit).collect();
        let next_token = if more {
            events.last().map(|e| encode_token(e.id))
        } else {
            None
        };
        let items = events
            .iter()
            .map(|e| event_json(e, include_execution_data))
            .collect();
        Ok(Page { items, next_token })
    }

    /// StopExecution; returns the stop date (epoch ms).
    pub async fn stop_execution(
        &self,
        execution_arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<i64> {
        check_len("error", &error, 256)?;
        check_len("cause", &cause, 32768)?;
        let shared = self.shared().clone();
        shared.check_writable()?;
        let rec = self.describe_execution(execution_arn).await?;
        if rec.status == "RUNNING" {
            let (tx, rx) = oneshot::channel();
            shared.send(
                rec.id,
                Work::Input {
                    execution_id: rec.id,
                    input: Input::Stop { error, cause },
                    reply: Some(tx),
                    expect_task: None,
                },
            );
            match rx
                .await
                .map_err(|_| err(ErrorKind::Unavailable, "Baton is shutting down"))?
            {
                Ok(()) => {}
                // It ended on its own in the meantime.
                Err(e) if e.kind == ErrorKind::TaskTimedOut => {}
                Err(e) => return Err(e),
            }
        }
        let rec = self.describe_execution(execution_arn).await?;
        Ok(rec.stop_ms.unwrap_or_else(wall_clock_ms))
    }

    /// RedriveExecution; returns the redrive date (epoch ms). The execution
    /// enters again the state where it failed, was aborted or timed out (a
    /// Parallel or Map state runs again whole).
    pub async fn redrive_execution(
        &self,
        execution_arn: &str,
        _client_token: Option<String>,
    ) -> Result<i64> {
        let shared = self.shared().clone();
        shared.check_writable()?;
        let rec = self.describe_execution(execution_arn).await?;
        if arn::Parsed::parse(execution_arn).is_some_and(|p| p.resource_type == "express") {
            return Err(err(
                ErrorKind::ExecutionNotRedrivable,
                format!("Express executions cannot be redriven: '{execution_arn}'"),
            ));
        }
        let not_redrivable = |why: String| {
            err(
                ErrorKind::ExecutionNotRedrivable,
                format!("{why}: '{execution_arn}'"),
            )
        };
        if !matches!(rec.status.as_str(), "FAILED" | "ABORTED" | "TIMED_OUT") {
            return Err(not_redrivable(format!(
                "Execution is {} and cannot be redriven",
                rec.status
            )));
        }
        if rec
            .stop_ms
            .is_some_and(|s| wall_clock_ms() - s > 14 * 86_400_000)
        {
            return Err(not_redrivable(
                "Execution closed more than 14 days ago and cannot be redriven".into(),
            ));
        }
        let (tx, rx) = oneshot::channel();
        shared.send(
            rec.id,
            Work::Input {
                execution_id: rec.id,
                input: Input::Redrive,
                reply: Some(tx),
                expect_task: None,
            },
        );
        rx.await
            .map_err(|_| err(ErrorKind::Unavailable, "Baton is shutting down"))??;
        let after = self.describe_execution(execution_arn).await?;
        match after.redrive_ms {
            Some(ms) if after.redrive_count > rec.redrive_count => Ok(ms),
            _ => Err(not_redrivable("Execution cannot be redriven".into())),
        }
    }

    /// SendTaskSuccess.
    pub async fn send_task_success(&self, task_token: &str, output: String) -> Result<()> {
        if output.len() > MAX_PAYLOAD {
            return Err(err(
                ErrorKind::Validation,
                format!(
                    "1 validation error detected: Value at 'output' failed to satisfy constraint: Member must have length less than or equal to {MAX_PAYLOAD}"
                ),
            ));
        }
        let claims = self.claims(task_token)?;
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&output) {
            return Err(err(
                ErrorKind::InvalidOutput,
                format!("Invalid Output: '{e}'"),
            ));
        }
        self.callback(
            claims,
            Input::TaskSucceeded {
                task: claims.task,
                output,
            },
        )
        .await
    }

    /// SendTaskFailure.
    pub async fn send_task_failure(
        &self,
        task_token: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<()> {
        check_len("error", &error, 256)?;
        check_len("cause", &cause, 32768)?;
        let claims = self.claims(task_token)?;
        self.callback(
            claims,
            Input::TaskFailed {
                task: claims.task,
                error,
                cause,
            },
        )
        .await
    }

    /// SendTaskHeartbeat.
    pub async fn send_task_heartbeat(&self, task_token: &str) -> Result<()> {
        let claims = self.claims(task_token)?;
        self.callback(claims, Input::TaskHeartbeat { task: claims.task })
            .await
    }

    fn claims(&self, task_token: &str) -> Result<crate::tokens::TokenClaims> {
        self.shared()
            .key
            .verify(task_token)
            .ok_or_else(|| err(ErrorKind::InvalidToken, "Invalid Token: 'Invalid token'"))
    }

    async fn callback(&self, claims: crate::tokens::TokenClaims, input: Input) -> Result<()> {
        let shared = self.shared().clone();
        shared.check_writable()?;
        let (tx, rx) = oneshot::channel();
        shared.send(
            claims.execution_id,
            Work::Input {
                execution_id: claims.execution_id,
                input,
                reply: Some(tx),
                expect_task: Some(claims.task),
            },
        );
        rx.await
            .map_err(|_| err(ErrorKind::Unavailable, "Baton is shutting down"))?
    }

    /// GetActivityTask: waits up to the poll time for a task of the activity;
    /// `None` when none came (AWS answers with an empty token).
    pub async fn get_activity_task(
        &self,
        activity_arn: &str,
        worker_name: Option<String>,
    ) -> Result<Option<(String, String)>> {
        check_len("workerName", &worker_name, 80)?;
        match arn::Parsed::parse(activity_arn) {
            Some(p) if p.resource_type == "activity" => {}
            _ => return Err(invalid_arn(activity_arn)),
        }
        let shared = self.shared().clone();
        let known = shared
            .known_activities
            .read()
            .is_ok_and(|k| k.contains(activity_arn));
        if !known {
            let store = shared.store.clone();
            let a = activity_arn.to_string();
            if blocking(move || Ok(store.get_activity(&a)?))
                .await?
                .is_none()
            {
                return Err(err(
                    ErrorKind::ActivityDoesNotExist,
                    format!("Activity Does Not Exist: '{activity_arn}'"),
                ));
            }
            if let Ok(mut k) = shared.known_activities.write() {
                k.insert(activity_arn.to_string());
            }
        }
        let deadline = Instant::now() + Duration::from_secs(shared.config.activity_poll_seconds);
        loop {
            shared.check_writable()?;
            let t = match shared
                .activities
                .take_or_wait(activity_arn, worker_name.clone())
            {
                Taken::Task(t) => t,
                Taken::Wait(rx) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Ok(None);
                    }
                    match tokio::time::timeout(deadline - now, rx).await {
                        // Dropping the receiver withdraws the poll.
                        Err(_) => return Ok(None),
                        Ok(Ok(Handoff::Started(t))) => return Ok(Some((t.token, t.input))),
                        Ok(Ok(Handoff::Queued(t))) => t,
                        // The step that claimed this poll did not commit.
                        Ok(Err(_)) => continue,
                    }
                }
            };
            // ActivityStarted is durable before the worker gets the task:
            // the heartbeat and time-out clocks it starts survive a crash
            // right after the hand-out.
            let (tx, rx) = oneshot::channel();
            shared.send(
                t.execution_id,
                Work::Input {
                    execution_id: t.execution_id,
                    input: Input::TaskStarted {
                        task: t.task,
                        worker_name: worker_name.clone(),
                    },
                    reply: Some(tx),
                    expect_task: Some(t.task),
                },
            );
            match rx
                .await
                .map_err(|_| err(ErrorKind::Unavailable, "Baton is shutting down"))?
            {
                Ok(()) => return Ok(Some((t.token, t.input))),
                Err(e) if e.kind == ErrorKind::TaskTimedOut => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

enum Prepared {
    New(Box<Live>),
    Existing(StartedExecution),
}

/// A stored event in GetExecutionHistory's JSON shape.
pub fn event_json(e: &baton_storage::EventRecord, include_data: bool) -> Value {
    let mut m = Map::new();
    m.insert(
        "timestamp".into(),
        Value::from(e.timestamp_ms as f64 / 1000.0),
    );
    m.insert("type".into(), Value::from(e.event_type.clone()));
    m.insert("id".into(), Value::from(e.id));
    m.insert("previousEventId".into(), Value::from(e.previous_event_id));
    let ty: Option<baton_interp::EventType> =
        serde_json::from_value(Value::String(e.event_type.clone())).ok();
    if let Some(key) = ty.and_then(|t| t.details_key())
        && let Ok(Value::Object(mut d)) = serde_json::from_str::<Value>(&e.details)
    {
        if !include_data {
            for k in ["input", "output", "parameters", "assignedVariables"] {
                d.remove(k);
            }
        }
        m.insert(key.into(), Value::Object(d));
    }
    Value::Object(m)
}
