//! The step function driven by hand: inputs in, events and commands out.

use serde_json::{Value, json};

use baton_asl::env::FixedEnv;
use baton_asl::model::Definition;
use baton_interp::driver::{self, RunOptions, TaskAnswer, TaskHandler};
use baton_interp::{
    Command, EventType, Execution, Input, PlainTokens, StartContext, Status, TaskRequest,
};

fn load(def: Value) -> Definition {
    let (d, diags) = baton_asl::load::load(&def);
    assert!(diags.is_empty(), "{diags:?}");
    d.expect("valid definition")
}

fn types(t: &[baton_interp::HistoryEvent]) -> Vec<&'static str> {
    t.iter().map(|e| e.r#type.as_str()).collect()
}

fn task_of(commands: &[Command]) -> TaskRequest {
    commands
        .iter()
        .find_map(|c| match c {
            Command::InvokeTask(r) => Some((**r).clone()),
            _ => None,
        })
        .expect("an InvokeTask command")
}

fn callback_machine() -> Definition {
    load(json!({
        "StartAt": "Wait for it",
        "States": {
            "Wait for it": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
                "HeartbeatSeconds": 5,
                "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.err", "Next": "Timed out"}],
                "End": true
            },
            "Timed out": {"Type": "Pass", "End": true}
        }
    }))
}

#[test]
fn callback_overtaking_its_dispatch_is_recorded_in_order() {
    let def = callback_machine();
    let mut env = FixedEnv::new(1_000, 1);
    let mut exec = Execution::new(StartContext::local("m", "e", json!({})), 1_000);
    let t = exec.step(&def, Input::Start, &mut env, &mut PlainTokens);
    let req = task_of(&t.commands);
    let token = req.token.clone().expect("a task token");
    assert_eq!(req.parameters["MessageBody"]["token"], json!(token));
    // The callback arrives before the integration reported the submission.
    let t1 = exec.step(
        &def,
        Input::TaskSucceeded {
            task: req.task,
            output: "\"done\"".into(),
        },
        &mut env,
        &mut PlainTokens,
    );
    assert!(
        t1.events.is_empty(),
        "nothing is recorded before TaskSubmitted"
    );
    let t2 = exec.step(
        &def,
        Input::TaskSubmitted {
            task: req.task,
            output: json!({"MessageId": "m"}),
        },
        &mut env,
        &mut PlainTokens,
    );
    assert_eq!(
        types(&t2.events),
        [
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        t2.events[1].details.as_ref().unwrap()["output"],
        json!("\"done\"")
    );
    assert_eq!(exec.completion().unwrap().status, Status::Succeeded);
}

#[test]
fn missed_heartbeat_is_states_timeout_caught_by_heartbeat_timeout() {
    let def = callback_machine();
    let mut env = FixedEnv::new(1_000, 1);
    let mut exec = Execution::new(StartContext::local("m", "e", json!({})), 1_000);
    let t = exec.step(&def, Input::Start, &mut env, &mut PlainTokens);
    let req = task_of(&t.commands);
    let hb = t
        .commands
        .iter()
        .find_map(|c| match c {
            Command::ArmTimer { timer, due, .. } => Some((*timer, *due)),
            _ => None,
        })
        .expect("a heartbeat timer");
    assert_eq!(hb.1, 6_000);
    exec.step(
        &def,
        Input::TaskSubmitted {
            task: req.task,
            output: json!({}),
        },
        &mut env,
        &mut PlainTokens,
    );
    env.now = 6_000;
    let t = exec.step(
        &def,
        Input::TimerFired { timer: hb.0 },
        &mut env,
        &mut PlainTokens,
    );
    assert_eq!(
        types(&t.events),
        [
            "TaskTimedOut",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        t.events[0].details.as_ref().unwrap()["error"],
        json!("States.Timeout")
    );
    // A late callback changes nothing.
    assert!(!exec.awaits_task(req.task));
    let late = exec.step(
        &def,
        Input::TaskSucceeded {
            task: req.task,
            output: "{}".into(),
        },
        &mut env,
        &mut PlainTokens,
    );
    assert!(late.events.is_empty());
}

#[test]
fn heartbeats_push_the_deadline() {
    let def = callback_machine();
    let mut env = FixedEnv::new(0, 1);
    let mut exec = Execution::new(StartContext::local("m", "e", json!({})), 0);
    let t = exec.step(&def, Input::Start, &mut env, &mut PlainTokens);
    let req = task_of(&t.commands);
    env.now = 4_000;
    let t = exec.step(
        &def,
        Input::TaskHeartbeat { task: req.task },
        &mut env,
        &mut PlainTokens,
    );
    assert!(t.events.is_empty(), "heartbeats write no event");
    assert!(
        t.commands
            .iter()
            .any(|c| matches!(c, Command::ArmTimer { due: 9_000, .. }))
    );
    assert!(
        t.commands
            .iter()
            .any(|c| matches!(c, Command::CancelTimer { .. }))
    );
}

#[test]
fn execution_state_survives_serialisation_mid_task() {
    let def = callback_machine();
    let mut env = FixedEnv::new(0, 1);
    let mut exec = Execution::new(StartContext::local("m", "e", json!({"a": 1})), 0);
    let t = exec.step(&def, Input::Start, &mut env, &mut PlainTokens);
    let req = task_of(&t.commands);
    let saved = serde_json::to_string(&exec).unwrap();
    let mut restored: Execution = serde_json::from_str(&saved).unwrap();
    restored.step(
        &def,
        Input::TaskSubmitted {
            task: req.task,
            output: json!({}),
        },
        &mut env,
        &mut PlainTokens,
    );
    let t = restored.step(
        &def,
        Input::TaskSucceeded {
            task: req.task,
            output: "{\"ok\":true}".into(),
        },
        &mut env,
        &mut PlainTokens,
    );
    assert_eq!(
        t.completion.unwrap().output.as_deref(),
        Some("{\"ok\":true}")
    );
}

#[test]
fn standard_history_is_capped_at_25000_events() {
    let def = load(json!({
        "StartAt": "Loop",
        "States": {
            "Loop": {"Type": "Pass", "Next": "Again?"},
            "Again?": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}], "Default": "Loop"},
            "Done": {"Type": "Succeed"}
        }
    }));
    let mut env = FixedEnv::new(0, 1);
    let outcome = driver::run(
        &def,
        StartContext::local("m", "e", json!({})),
        &mut NoTasks,
        &mut env,
        &RunOptions::default(),
    );
    assert_eq!(outcome.status, Status::Failed);
    let last = outcome.events.last().unwrap();
    assert_eq!(last.id, 25_000);
    assert_eq!(last.r#type, EventType::ExecutionFailed);
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        outcome.cause.as_deref(),
        Some("The execution reached the maximum number of history events (25000).")
    );
}

#[test]
fn long_runs_yield_with_continue() {
    let mut states = serde_json::Map::new();
    for i in 0..12_000 {
        let next = if i + 1 < 12_000 {
            json!({"Type": "Pass", "Next": format!("S{}", i + 1)})
        } else {
            json!({"Type": "Pass", "End": true})
        };
        states.insert(format!("S{i}"), next);
    }
    let def = load(json!({"StartAt": "S0", "States": states}));
    let mut env = FixedEnv::new(0, 1);
    let mut exec = Execution::new(StartContext::local("m", "e", json!({})), 0);
    let t = exec.step(&def, Input::Start, &mut env, &mut PlainTokens);
    assert!(t.commands.contains(&Command::Continue));
    assert!(t.completion.is_none());
    let t = exec.step(&def, Input::Continue, &mut env, &mut PlainTokens);
    assert_eq!(t.completion.unwrap().status, Status::Succeeded);
}

struct NoTasks;
impl TaskHandler for NoTasks {
    fn invoke(&mut self, _r: &TaskRequest) -> TaskAnswer {
        TaskAnswer::Fail {
            error: Some("X".into()),
            cause: None,
            submitted: None,
        }
    }
}

#[test]
fn parallel_branch_failure_aborts_siblings_and_is_caught() {
    let def = load(json!({
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Slow", "States": {"Slow": {"Type": "Wait", "Seconds": 100, "End": true}}},
                    {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Boom", "Cause": "bad"}}}
                ],
                "Catch": [{"ErrorEquals": ["Boom"], "Next": "Caught"}],
                "End": true
            },
            "Caught": {"Type": "Pass", "End": true}
        }
    }));
    let mut env = FixedEnv::new(0, 1);
    let outcome = driver::run(
        &def,
        StartContext::local("m", "e", json!({})),
        &mut NoTasks,
        &mut env,
        &RunOptions::default(),
    );
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(
        outcome.output,
        Some(json!({"Error": "Boom", "Cause": "bad"}))
    );
    let t = types(&outcome.events);
    assert!(t.contains(&"WaitStateAborted"), "{t:?}");
    assert!(t.contains(&"ParallelStateFailed"), "{t:?}");
    assert_eq!(outcome.elapsed_millis, 0, "the aborted wait never fired");
}

#[test]
fn retry_backoff_and_max_delay() {
    let def = load(json!({
        "StartAt": "T",
        "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "BackoffRate": 1.5, "MaxAttempts": 3, "MaxDelaySeconds": 4}],
            "End": true
        }}
    }));
    let mut env = FixedEnv::new(0, 1);
    let outcome = driver::run(
        &def,
        StartContext::local("m", "e", json!({})),
        &mut NoTasks,
        &mut env,
        &RunOptions::default(),
    );
    assert_eq!(outcome.status, Status::Failed);
    // 3 s, then 4.5 s capped to 4 s, then 6.75 s capped to 4 s.
    assert_eq!(outcome.elapsed_millis, 11_000);
    assert_eq!(
        types(&outcome.events)
            .iter()
            .filter(|t| **t == "TaskScheduled")
            .count(),
        4
    );
}

#[test]
fn variables_have_size_limits() {
    let def = load(json!({
        "StartAt": "Keep",
        "States": {"Keep": {"Type": "Pass", "Assign": {"big.$": "$.big"}, "End": true}}
    }));
    let mut env = FixedEnv::new(0, 1);
    let input = json!({"big": "x".repeat(300 * 1024)});
    let outcome = driver::run(
        &def,
        StartContext::local("m", "e", input),
        &mut NoTasks,
        &mut env,
        &RunOptions::default(),
    );
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(outcome.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(
        outcome
            .cause
            .unwrap()
            .contains("The variable 'big' exceeds the maximum size")
    );
}
