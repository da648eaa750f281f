//! The execution actions, as the API calls them.

use baton_storage::{ExecutionRecord, StateMachineRecord};
use serde_json::Value;

use crate::{Caller, Engine, Error, ErrorKind, Result};

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

fn not_yet(what: &str) -> Error {
    Error::new(ErrorKind::Unsupported, format!("{what} is not available yet"))
}

impl Engine {
    /// StartExecution (Standard or Express). `input` defaults to `{}`; `name`
    /// to a UUID. A name reused while that execution is RUNNING with the same
    /// input returns it; any other reuse is `ExecutionAlreadyExists`.
    /// `state_machine_arn` may end in `#TestCase` when a mock config is set.
    pub async fn start_execution(
        &self,
        _caller: &Caller,
        _state_machine_arn: &str,
        _name: Option<String>,
        _input: Option<String>,
        _trace_header: Option<String>,
    ) -> Result<StartedExecution> {
        Err(not_yet("StartExecution"))
    }

    /// StartSyncExecution (Express only): runs the execution to its end and
    /// returns it.
    pub async fn start_sync_execution(
        &self,
        _caller: &Caller,
        _state_machine_arn: &str,
        _name: Option<String>,
        _input: Option<String>,
        _trace_header: Option<String>,
    ) -> Result<ExecutionRecord> {
        Err(not_yet("StartSyncExecution"))
    }

    /// DescribeExecution.
    pub async fn describe_execution(&self, _execution_arn: &str) -> Result<ExecutionRecord> {
        Err(not_yet("DescribeExecution"))
    }

    /// DescribeStateMachineForExecution: the state machine with the revision
    /// the execution runs.
    pub async fn describe_state_machine_for_execution(&self, _execution_arn: &str) -> Result<StateMachineRecord> {
        Err(not_yet("DescribeStateMachineForExecution"))
    }

    /// ListExecutions, newest first.
    pub async fn list_executions(
        &self,
        _state_machine_arn: &str,
        _status_filter: Option<String>,
        _redrive_filter: Option<String>,
        _max_results: Option<usize>,
        _next_token: Option<String>,
    ) -> Result<Page<ExecutionRecord>> {
        Err(not_yet("ListExecutions"))
    }

    /// GetExecutionHistory: events in GetExecutionHistory's JSON shape
    /// (`timestamp` as epoch seconds).
    pub async fn get_execution_history(
        &self,
        _execution_arn: &str,
        _max_results: Option<usize>,
        _reverse_order: bool,
        _next_token: Option<String>,
        _include_execution_data: bool,
    ) -> Result<Page<Value>> {
        Err(not_yet("GetExecutionHistory"))
    }

    /// StopExecution; returns the stop date (epoch ms).
    pub async fn stop_execution(
        &self,
        _execution_arn: &str,
        _error: Option<String>,
        _cause: Option<String>,
    ) -> Result<i64> {
        Err(not_yet("StopExecution"))
    }

    /// RedriveExecution; returns the redrive date (epoch ms).
    pub async fn redrive_execution(&self, _execution_arn: &str, _client_token: Option<String>) -> Result<i64> {
        Err(not_yet("RedriveExecution"))
    }

    /// SendTaskSuccess.
    pub async fn send_task_success(&self, _task_token: &str, _output: String) -> Result<()> {
        Err(not_yet("SendTaskSuccess"))
    }

    /// SendTaskFailure.
    pub async fn send_task_failure(
        &self,
        _task_token: &str,
        _error: Option<String>,
        _cause: Option<String>,
    ) -> Result<()> {
        Err(not_yet("SendTaskFailure"))
    }

    /// SendTaskHeartbeat.
    pub async fn send_task_heartbeat(&self, _task_token: &str) -> Result<()> {
        Err(not_yet("SendTaskHeartbeat"))
    }

    /// GetActivityTask: waits up to the poll time for a task of the activity;
    /// `None` when none came (AWS answers with an empty token).
    pub async fn get_activity_task(
        &self,
        _activity_arn: &str,
        _worker_name: Option<String>,
    ) -> Result<Option<(String, String)>> {
        Err(not_yet("GetActivityTask"))
    }
}
