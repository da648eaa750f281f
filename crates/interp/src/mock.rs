//! AWS Step Functions Local's MockConfigFile: Task states answered from
//! mocked responses, per state machine and test case.
//!
//! ```json
//! {"StateMachines": {"<machine>": {"TestCases": {"<case>": {"<state>": "<mock>"}}}},
//!  "MockedResponses": {"<mock>": {"0": {"Return": {...}}, "1-2": {"Throw": {"Error": "...", "Cause": "..."}}}}}
//! ```
//!
//! The n-th call of a state (0-based, counting retries and Map iterations)
//! takes the response whose key is `n` or a range `a-b` containing `n`.

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::TaskRequest;
use crate::driver::{TaskAnswer, TaskHandler};

/// A mock configuration problem, or a Task with no mock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

#[derive(Debug, Clone)]
struct Response {
    from: u64,
    to: u64,
    answer: TaskAnswer,
}

/// The mocks of one test case: state name → its responses.
#[derive(Debug, Clone, Default)]
pub struct TestCase {
    states: HashMap<String, Vec<Response>>,
    calls: HashMap<String, u64>,
    /// The first Task that had no mock, if any.
    pub missing: Option<Error>,
}

impl TestCase {
    /// Reads test case `case` of state machine `machine` from a MockConfigFile.
    pub fn from_config(config: &Value, machine: &str, case: &str) -> Result<TestCase, Error> {
        let machines = config
            .get("StateMachines")
            .and_then(Value::as_object)
            .ok_or_else(|| Error("the mock file has no \"StateMachines\" object".into()))?;
        let m = machines.get(machine).ok_or_else(|| {
            Error(format!(
                "the mock file has no state machine '{machine}' (it has: {})",
                machines.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let cases = m
            .get("TestCases")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                Error(format!(
                    "state machine '{machine}' has no \"TestCases\" object"
                ))
            })?;
        let tc = cases.get(case).and_then(Value::as_object).ok_or_else(|| {
            Error(format!(
                "state machine '{machine}' has no test case '{case}' (it has: {})",
                cases.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        let responses = config.get("MockedResponses").and_then(Value::as_object);
        let mut states = HashMap::new();
        for (state, mock) in tc {
            let mock = mock.as_str().ok_or_else(|| {
                Error(format!(
                    "test case '{case}': the mock for state '{state}' must be a string"
                ))
            })?;
            let r = responses.and_then(|r| r.get(mock)).and_then(Value::as_object).ok_or_else(|| {
                Error(format!("test case '{case}': state '{state}' uses mocked response '{mock}', which is not defined"))
            })?;
            states.insert(state.clone(), parse_responses(mock, r)?);
        }
        Ok(TestCase {
            states,
            calls: HashMap::new(),
            missing: None,
        })
    }
}

fn parse_responses(mock: &str, r: &Map<String, Value>) -> Result<Vec<Response>, Error> {
    let mut out = Vec::new();
    for (key, v) in r {
        let bad = || {
            Error(format!(
                "mocked response '{mock}': '{key}' is not an invocation index or range like '1-2'"
            ))
        };
        let (from, to) = match key.split_once('-') {
            Some((a, b)) => (
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            ),
            None => {
                let n = key.trim().parse().map_err(|_| bad())?;
                (n, n)
            }
        };
        let answer = if let Some(ret) = v.get("Return") {
            TaskAnswer::Succeed {
                output: ret.clone(),
                submitted: None,
            }
        } else if let Some(t) = v.get("Throw") {
            TaskAnswer::Fail {
                error: t.get("Error").and_then(Value::as_str).map(str::to_string),
                cause: t.get("Cause").and_then(Value::as_str).map(str::to_string),
                submitted: None,
            }
        } else {
            return Err(Error(format!(
                "mocked response '{mock}' entry '{key}' needs \"Return\" or \"Throw\""
            )));
        };
        out.push(Response { from, to, answer });
    }
    Ok(out)
}

impl TaskHandler for TestCase {
    fn invoke(&mut self, request: &TaskRequest) -> TaskAnswer {
        let n = self.calls.entry(request.state_name.clone()).or_insert(0);
        let call = *n;
        *n += 1;
        let found = self
            .states
            .get(&request.state_name)
            .and_then(|rs| rs.iter().find(|r| r.from <= call && call <= r.to));
        match found {
            Some(r) => r.answer.clone(),
            None => {
                let msg = if self.states.contains_key(&request.state_name) {
                    format!(
                        "Task state '{}' has no mocked response for call {call}",
                        request.state_name
                    )
                } else {
                    format!(
                        "Task state '{}' has no mocked response in this test case",
                        request.state_name
                    )
                };
                self.missing.get_or_insert(Error(msg.clone()));
                TaskAnswer::Fail {
                    error: Some("Baton.NoMock".into()),
                    cause: Some(msg),
                    submitted: None,
                }
            }
        }
    }
}

/// Answers no Task at all: every Task fails with a clear error naming the
/// state (`run-local` without `--mock`).
#[derive(Debug, Default)]
pub struct NoTasks {
    /// The first Task that asked, if any.
    pub missing: Option<Error>,
}

impl TaskHandler for NoTasks {
    fn invoke(&mut self, request: &TaskRequest) -> TaskAnswer {
        let msg = format!(
            "Task state '{}' (resource {}) has no mock: pass --mock FILE --test-case NAME to answer it",
            request.state_name, request.resource
        );
        self.missing.get_or_insert(Error(msg.clone()));
        TaskAnswer::Fail {
            error: Some("Baton.NoMock".into()),
            cause: Some(msg),
            submitted: None,
        }
    }
}
