//! The execution's identity (what ExecutionStarted and the Context Object
//! show) and task tokens.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::command::TaskId;

/// Names and ids of a new execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartContext {
    pub execution_arn: String,
    pub execution_name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub role_arn: String,
    /// The execution's input (already parsed).
    pub input: Value,
    /// The input as the caller sent it (recorded verbatim in
    /// ExecutionStarted); `None` to serialise `input`.
    pub input_text: Option<String>,
    /// Region the execution runs in (recorded in TaskScheduled).
    pub region: String,
    /// Whether the history is kept (Standard) or not (Express).
    pub keep_history: bool,
    /// The 25,000-event cap applies (Standard executions).
    pub history_cap: bool,
    /// How many times the execution was redriven.
    pub redrive_count: u32,
}

impl StartContext {
    /// A context for a local run: the ARNs are built from `account`, `region`
    /// and the names.
    pub fn local(state_machine_name: &str, execution_name: &str, input: Value) -> Self {
        let account = "123456789012";
        let region = "us-east-1";
        Self {
            execution_arn: format!(
                "arn:aws:states:{region}:{account}:execution:{state_machine_name}:{execution_name}"
            ),
            execution_name: execution_name.to_string(),
            state_machine_arn: format!(
                "arn:aws:states:{region}:{account}:stateMachine:{state_machine_name}"
            ),
            state_machine_name: state_machine_name.to_string(),
            role_arn: format!("arn:aws:iam::{account}:role/baton-local"),
            input,
            input_text: None,
            region: region.to_string(),
            keep_history: true,
            history_cap: true,
            redrive_count: 0,
        }
    }
}

/// Mints task tokens (`$$.Task.Token`). The runtime's minter signs tokens so
/// they are unforgeable and route back to their execution; local runs use
/// [`PlainTokens`].
pub trait TokenMinter {
    /// A token for `task` (attempt `attempt`) of the execution `execution_arn`.
    fn mint(&mut self, execution_arn: &str, task: TaskId, attempt: u32) -> String;

    /// Whether a Task's resource can be scheduled; `Err` carries AWS's reason
    /// (e.g. `The activity <arn> does not exist.`), which fails the state
    /// with `States.Runtime` before anything is scheduled.
    fn check_resource(&mut self, _resource: &str) -> Result<(), String> {
        Ok(())
    }
}

/// Unsigned tokens for in-process runs: `<execution arn>#<task id>#<attempt>`
/// in base64.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainTokens;

impl TokenMinter for PlainTokens {
    fn mint(&mut self, execution_arn: &str, task: TaskId, attempt: u32) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .encode(format!("{execution_arn}#{task}#{attempt}"))
    }
}
