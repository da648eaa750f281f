//! The runtime end to end on a real SQLite store: start, callbacks through
//! activities, timers, restarts.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use baton_engine::{Caller, Config, Engine, ErrorKind};
use baton_storage::sqlite::SqliteStore;
use baton_storage::{ActivityRecord, MachineType, RevisionContent, StateMachineRecord, Store};
use serde_json::{Value, json};

struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "baton-engine-{name}-{}-{}.db",
            std::process::id(),
            rand_suffix()
        ));
        TempDb(p)
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn caller() -> Caller {
    Caller {
        account: "000000000000".into(),
        region: "us-east-1".into(),
    }
}

fn create_machine(
    store: &dyn Store,
    name: &str,
    definition: Value,
    machine_type: MachineType,
) -> String {
    let arn = format!("arn:aws:states:us-east-1:000000000000:stateMachine:{name}");
    store
        .create_state_machine(
            &StateMachineRecord {
                arn: arn.clone(),
                name: name.into(),
                machine_type,
                status: "ACTIVE".into(),
                creation_ms: 0,
                revision: 1,
                content: RevisionContent {
                    definition: definition.to_string(),
                    role_arn: "arn:aws:iam::000000000000:role/r".into(),
                    config: "{}".into(),
                    revision_id: "r1".into(),
                    update_ms: 0,
                },
            },
            &[],
        )
        .unwrap();
    arn
}

fn activity(store: &dyn Store, name: &str) -> String {
    let arn = format!("arn:aws:states:us-east-1:000000000000:activity:{name}");
    store
        .create_activity(
            &ActivityRecord {
                arn: arn.clone(),
                name: name.into(),
                creation_ms: 0,
            },
            &[],
        )
        .unwrap();
    arn
}

async fn engine(store: Arc<dyn Store>) -> Engine {
    Engine::start(
        store,
        Config {
            activity_poll_seconds: 2,
            ..Config::default()
        },
    )
    .await
    .unwrap()
}

async fn history_types(engine: &Engine, arn: &str) -> Vec<String> {
    let page = engine
        .get_execution_history(arn, Some(1000), false, None, true)
        .await
        .unwrap();
    page.items
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_chain_runs_to_the_end_and_is_durable() {
    let db = TempDb::new("pass");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db.0).unwrap());
    let sm = create_machine(
        &*store,
        "chain",
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": {"x": 1}, "Next": "B"}, "B": {"Type": "Pass", "End": true}}}),
        MachineType::Standard,
    );
    let engine = engine(store.clone()).await;
    let started = engine
        .start_execution(&caller(), &sm, Some("e1".into()), Some("{}".into()), None)
        .await
        .unwrap();
    let rec = engine.wait_for_end(&started.execution_arn).await.unwrap();
    assert_eq!(rec.status, "SUCCEEDED");
    assert_eq!(rec.output.as_deref(), Some("{\"x\":1}"));
    assert_eq!(
        history_types(&engine, &started.execution_arn).await,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    // Same name, same input, but no longer running: ExecutionAlreadyExists.
    let again = engine
        .start_execution(&caller(), &sm, Some("e1".into()), Some("{}".into()), None)
        .await;
    assert_eq!(again.unwrap_err().kind, ErrorKind::ExecutionAlreadyExists);
    let page = engine
        .list_executions(&sm, None, None, None, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_tokens_survive_a_restart() {
    let db = TempDb::new("activity");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db.0).unwrap());
    let act = activity(&*store, "work");
    let sm = create_machine(
        &*store,
        "act",
        json!({"StartAt": "Do", "States": {"Do": {"Type": "Task", "Resource": act, "HeartbeatSeconds": 60, "End": true}}}),
        MachineType::Standard,
    );
    let e1 = engine(store.clone()).await;
    let started = e1
        .start_execution(&caller(), &sm, None, Some("{\"n\":7}".into()), None)
        .await
        .unwrap();
    // Same name and input while running returns the same execution.
    let name = started
        .execution_arn
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let again = e1
        .start_execution(&caller(), &sm, Some(name), Some("{\"n\":7}".into()), None)
        .await
        .unwrap();
    assert_eq!(again.execution_arn, started.execution_arn);
    let (token, input) = e1
        .get_activity_task(&act, Some("w1".into()))
        .await
        .unwrap()
        .expect("a task");
    assert_eq!(input, "{\"n\":7}");
    e1.send_task_heartbeat(&token).await.unwrap();
    e1.shutdown().await;
    drop(e1);

    // A new engine on the same store: the token still works.
    let e2 = engine(store.clone()).await;
    e2.send_task_success(&token, "{\"done\":true}".into())
        .await
        .unwrap();
    let rec = e2.wait_for_end(&started.execution_arn).await.unwrap();
    assert_eq!(rec.status, "SUCCEEDED");
    assert_eq!(rec.output.as_deref(), Some("{\"done\":true}"));
    // A second answer is late.
    let late = e2.send_task_success(&token, "{}".into()).await.unwrap_err();
    assert_eq!(late.kind, ErrorKind::TaskTimedOut);
    assert_eq!(
        late.message,
        "Task Timed Out: 'Provided task does not exist anymore'"
    );
    let bad = e2
        .send_task_success("FakeTaskToken", "{}".into())
        .await
        .unwrap_err();
    assert_eq!(bad.kind, ErrorKind::InvalidToken);
    assert_eq!(
        history_types(&e2, &started.execution_arn).await,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "ActivityScheduled",
            "ActivityStarted",
            "ActivitySucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    e2.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_activity_task_and_wait_timer_survive_a_restart() {
    let db = TempDb::new("timer");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db.0).unwrap());
    let act = activity(&*store, "later");
    let sm = create_machine(
        &*store,
        "waits",
        json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "Do"},
            "Do": {"Type": "Task", "Resource": act, "End": true}
        }}),
        MachineType::Standard,
    );
    let e1 = engine(store.clone()).await;
    let started = e1
        .start_execution(&caller(), &sm, None, None, None)
        .await
        .unwrap();
    e1.shutdown().await;
    drop(e1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let e2 = engine(store.clone()).await;
    // The overdue Wait fires after the restart and the activity task is queued.
    let (token, _) = e2
        .get_activity_task(&act, None)
        .await
        .unwrap()
        .expect("a task after the restart");
    e2.send_task_failure(&token, Some("Oops".into()), Some("it broke".into()))
        .await
        .unwrap();
    let rec = e2.wait_for_end(&started.execution_arn).await.unwrap();
    assert_eq!(rec.status, "FAILED");
    assert_eq!(rec.error.as_deref(), Some("Oops"));
    assert_eq!(rec.cause.as_deref(), Some("it broke"));
    e2.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_nested_sync_execution() {
    let db = TempDb::new("nested");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db.0).unwrap());
    let child = create_machine(
        &*store,
        "child",
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"child": "ok"}, "End": true}}}),
        MachineType::Standard,
    );
    let parent = create_machine(
        &*store,
        "parent",
        json!({"StartAt": "Run", "States": {"Run": {
            "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Parameters": {"StateMachineArn": child, "Input": {"a": 1}},
            "OutputPath": "$.Output", "End": true
        }}}),
        MachineType::Standard,
    );
    let e = engine(store.clone()).await;
    let started = e
        .start_execution(&caller(), &parent, None, None, None)
        .await
        .unwrap();
    let rec = e.wait_for_end(&started.execution_arn).await.unwrap();
    assert_eq!(rec.status, "SUCCEEDED", "{rec:?}");
    assert_eq!(rec.output.as_deref(), Some("{\"child\":\"ok\"}"));

    let waits = create_machine(
        &*store,
        "long",
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}),
        MachineType::Standard,
    );
    let s = e
        .start_execution(&caller(), &waits, None, None, None)
        .await
        .unwrap();
    e.stop_execution(
        &s.execution_arn,
        Some("Stopped".into()),
        Some("by test".into()),
    )
    .await
    .unwrap();
    let rec = e.describe_execution(&s.execution_arn).await.unwrap();
    assert_eq!(rec.status, "ABORTED");
    let types = history_types(&e, &s.execution_arn).await;
    assert_eq!(types.last().map(String::as_str), Some("ExecutionAborted"));
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_enters_the_failed_state_again() {
    let db = TempDb::new("redrive");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db.0).unwrap());
    let act = activity(&*store, "flaky");
    let sm = create_machine(
        &*store,
        "redrivable",
        json!({"StartAt": "Prep", "States": {
            "Prep": {"Type": "Pass", "Result": {"ready": true}, "Next": "Do"},
            "Do": {"Type": "Task", "Resource": act, "End": true}
        }}),
        MachineType::Standard,
    );
    let e = engine(store.clone()).await;
    let s = e
        .start_execution(&caller(), &sm, None, None, None)
        .await
        .unwrap();
    let (token, input) = e.get_activity_task(&act, None).await.unwrap().unwrap();
    assert_eq!(input, "{\"ready\":true}");
    e.send_task_failure(&token, Some("Boom".into()), None)
        .await
        .unwrap();
    assert_eq!(
        e.wait_for_end(&s.execution_arn).await.unwrap().status,
        "FAILED"
    );

    e.redrive_execution(&s.execution_arn, None).await.unwrap();
    let (token, input) = e.get_activity_task(&act, None).await.unwrap().unwrap();
    assert_eq!(
        input, "{\"ready\":true}",
        "the failed state gets its input again"
    );
    e.send_task_success(&token, "{\"ok\":1}".into())
        .await
        .unwrap();
    let rec = e.wait_for_end(&s.execution_arn).await.unwrap();
    assert_eq!(rec.status, "SUCCEEDED");
    assert_eq!(rec.redrive_count, 1);
    let types = history_types(&e, &s.execution_arn).await;
    let redriven = types
        .iter()
        .position(|t| t == "ExecutionRedriven")
        .expect("ExecutionRedriven");
    assert_eq!(types[redriven + 1], "TaskStateEntered");
    assert_eq!(
        types.iter().filter(|t| *t == "PassStateEntered").count(),
        1,
        "states before the failure do not run again"
    );
    let again = e
        .redrive_execution(&s.execution_arn, None)
        .await
        .unwrap_err();
    assert_eq!(again.kind, ErrorKind::ExecutionNotRedrivable);
    e.shutdown().await;
}
