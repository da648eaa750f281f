//! The action table: every action of the Step Functions API, each either
//! served by the engine or answered with a clear "not supported yet" error.

use baton_engine::control::{CreateStateMachine, UpdateStateMachine};
use baton_engine::{Caller, Engine};
use baton_storage::MachineType;
use serde_json::{Map, Value, json};

use super::input::{self, Input, Str};
use super::{ApiError, shapes};

/// Whether Baton serves an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Support {
    Served,
    /// Not built yet: the text names what is missing.
    NotYet(&'static str),
}

use Support::{NotYet, Served};

/// Every action of the API (the 2016-11-23 model).
pub(crate) const ACTIONS: &[(&str, Support)] = &[
    ("CreateActivity", Served),
    ("CreateStateMachine", Served),
    ("CreateStateMachineAlias", NotYet("state machine aliases")),
    ("DeleteActivity", Served),
    ("DeleteStateMachine", Served),
    ("DeleteStateMachineAlias", NotYet("state machine aliases")),
    (
        "DeleteStateMachineVersion",
        NotYet("state machine versions"),
    ),
    ("DescribeActivity", Served),
    ("DescribeExecution", Served),
    ("DescribeMapRun", NotYet("Distributed Map runs")),
    ("DescribeStateMachine", Served),
    ("DescribeStateMachineAlias", NotYet("state machine aliases")),
    ("DescribeStateMachineForExecution", Served),
    ("GetActivityTask", Served),
    ("GetExecutionHistory", Served),
    ("ListActivities", Served),
    ("ListExecutions", Served),
    ("ListMapRuns", NotYet("Distributed Map runs")),
    ("ListStateMachineAliases", NotYet("state machine aliases")),
    ("ListStateMachineVersions", NotYet("state machine versions")),
    ("ListStateMachines", Served),
    ("ListTagsForResource", Served),
    (
        "PublishStateMachineVersion",
        NotYet("state machine versions"),
    ),
    ("RedriveExecution", Served),
    ("SendTaskFailure", Served),
    ("SendTaskHeartbeat", Served),
    ("SendTaskSuccess", Served),
    ("StartExecution", Served),
    ("StartSyncExecution", Served),
    ("StopExecution", Served),
    ("TagResource", Served),
    ("TestState", NotYet("TestState")),
    ("UntagResource", Served),
    ("UpdateMapRun", NotYet("Distributed Map runs")),
    ("UpdateStateMachine", Served),
    ("UpdateStateMachineAlias", NotYet("state machine aliases")),
    ("ValidateStateMachineDefinition", Served),
];

const EXECUTION_STATUSES: &[&str] = &[
    "SUCCEEDED",
    "TIMED_OUT",
    "PENDING_REDRIVE",
    "ABORTED",
    "FAILED",
    "RUNNING",
];

fn machine_type(s: Option<&str>) -> MachineType {
    match s {
        Some("EXPRESS") => MachineType::Express,
        _ => MachineType::Standard,
    }
}

/// Runs one action. `body` is the request's JSON object.
pub(crate) async fn dispatch(
    engine: &Engine,
    caller: &Caller,
    action: &str,
    body: Map<String, Value>,
) -> Result<Value, ApiError> {
    if let Some((_, NotYet(what))) = ACTIONS.iter().find(|(a, _)| *a == action) {
        return Err(ApiError::unsupported(action, what));
    }
    let mut i = Input::new(body);
    match action {
        // ----- state machines -------------------------------------------
        "CreateStateMachine" => {
            let name = i.req_str("name", input::NAME)?;
            let definition = i.req_str("definition", input::DEFINITION)?;
            let role_arn = i.req_str("roleArn", input::ARN)?;
            let type_ = i.enum_str("type", &["STANDARD", "EXPRESS"])?;
            let logging = i.object("loggingConfiguration")?;
            let tracing = i.object("tracingConfiguration")?;
            let encryption = i.object("encryptionConfiguration")?;
            let tags = i.tags("tags", false)?;
            let publish = i.bool("publish")?.unwrap_or(false);
            let version_description = i.str("versionDescription", input::VERSION_DESCRIPTION)?;
            i.finish()?;
            let created = engine
                .create_state_machine(
                    caller,
                    CreateStateMachine {
                        name,
                        definition,
                        role_arn,
                        machine_type: machine_type(type_.as_deref()),
                        logging_configuration: logging,
                        tracing_configuration: tracing,
                        encryption_configuration: encryption,
                        tags,
                        publish,
                        version_description,
                    },
                )
                .await?;
            Ok(json!({
                "stateMachineArn": created.state_machine_arn,
                "creationDate": shapes::ts(created.creation_ms),
            }))
        }
        "DescribeStateMachine" => {
            let arn = i.req_str("stateMachineArn", input::LONG_ARN)?;
            i.enum_str("includedData", &["ALL_DATA", "METADATA_ONLY"])?;
            i.finish()?;
            let sm = engine.describe_state_machine(caller, &arn).await?;
            Ok(shapes::describe_state_machine(&sm))
        }
        "UpdateStateMachine" => {
            let arn = i.req_str("stateMachineArn", input::ARN)?;
            let definition = i.str("definition", input::DEFINITION.optional())?;
            let role_arn = i.str("roleArn", Str::opt(1, 256))?;
            let logging = i.object("loggingConfiguration")?;
            let tracing = i.object("tracingConfiguration")?;
            let encryption = i.object("encryptionConfiguration")?;
            let publish = i.bool("publish")?.unwrap_or(false);
            let version_description = i.str("versionDescription", input::VERSION_DESCRIPTION)?;
            i.finish()?;
            let updated = engine
                .update_state_machine(
                    caller,
                    UpdateStateMachine {
                        state_machine_arn: arn,
                        definition,
                        role_arn,
                        logging_configuration: logging,
                        tracing_configuration: tracing,
                        encryption_configuration: encryption,
                        publish,
                        version_description,
                    },
                )
                .await?;
            let mut out = json!({"updateDate": shapes::ts(updated.update_ms)});
            if let Some(r) = updated.revision_id {
                out["revisionId"] = json!(r);
            }
            Ok(out)
        }
        "DeleteStateMachine" => {
            let arn = i.req_str("stateMachineArn", input::ARN)?;
            i.finish()?;
            engine.delete_state_machine(caller, &arn).await?;
            Ok(json!({}))
        }
        "ListStateMachines" => {
            let max = i.page_size("maxResults", 1000)?;
            let token = i.str("nextToken", input::PAGE_TOKEN)?;
            i.finish()?;
            let page = engine.list_state_machines(caller, max, token).await?;
            let mut out = json!({"stateMachines": page.items.iter().map(shapes::state_machine_item).collect::<Vec<_>>()});
            if let Some(t) = page.next_token {
                out["nextToken"] = json!(t);
            }
            Ok(out)
        }
        "ValidateStateMachineDefinition" => {
            // AWS answers an empty definition with a diagnostic, not a
            // validation error.
            let definition = i.req_str(
                "definition",
                Str {
                    min: 0,
                    ..input::DEFINITION
                },
            )?;
            let type_ = i.enum_str("type", &["STANDARD", "EXPRESS"])?;
            let severity = i.enum_str("severity", &["ERROR", "WARNING"])?;
            let max = i
                .int("maxResults", 0, 100)?
                .and_then(|n| usize::try_from(n).ok());
            i.finish()?;
            let report = engine.validate_state_machine_definition(
                &definition,
                machine_type(type_.as_deref()),
                severity.as_deref(),
                max,
            );
            let diagnostics: Vec<Value> = report
                .diagnostics
                .iter()
                .map(|d| {
                    let mut v =
                        json!({"severity": d.severity, "code": d.code, "message": d.message});
                    if let Some(l) = &d.location {
                        v["location"] = json!(l);
                    }
                    v
                })
                .collect();
            Ok(
                json!({"result": report.result, "diagnostics": diagnostics, "truncated": report.truncated}),
            )
        }

        // ----- activities ----------------------------------------------------
        "CreateActivity" => {
            let name = i.req_str("name", input::NAME)?;
            let tags = i.tags("tags", false)?;
            let encryption = i.object("encryptionConfiguration")?;
            i.finish()?;
            let a = engine
                .create_activity(caller, &name, tags, encryption)
                .await?;
            Ok(json!({"activityArn": a.arn, "creationDate": shapes::ts(a.creation_ms)}))
        }
        "DescribeActivity" => {
            let arn = i.req_str("activityArn", input::ARN)?;
            i.finish()?;
            let a = engine.describe_activity(caller, &arn).await?;
            Ok(shapes::activity(&a, true))
        }
        "DeleteActivity" => {
            let arn = i.req_str("activityArn", input::ARN)?;
            i.finish()?;
            engine.delete_activity(caller, &arn).await?;
            Ok(json!({}))
        }
        "ListActivities" => {
            let max = i.page_size("maxResults", 1000)?;
            let token = i.str("nextToken", input::PAGE_TOKEN)?;
            i.finish()?;
            let page = engine.list_activities(caller, max, token).await?;
            let items: Vec<Value> = page
                .items
                .iter()
                .map(|a| shapes::activity(a, false))
                .collect();
            let mut out = json!({"activities": items});
            if let Some(t) = page.next_token {
                out["nextToken"] = json!(t);
            }
            Ok(out)
        }
        "GetActivityTask" => {
            let arn = i.req_str("activityArn", input::ARN)?;
            let worker = i.str("workerName", Str::opt(1, 80))?;
            i.finish()?;
            match engine.get_activity_task(&arn, worker).await? {
                Some((token, input)) => Ok(json!({"taskToken": token, "input": input})),
                None => Ok(json!({})),
            }
        }

        // ----- tags ----------------------------------------------------------
        "TagResource" => {
            let arn = i.req_str("resourceArn", input::ARN)?;
            let tags = i.tags("tags", true)?;
            i.finish()?;
            engine.tag_resource(caller, &arn, tags).await?;
            Ok(json!({}))
        }
        "UntagResource" => {
            let arn = i.req_str("resourceArn", input::ARN)?;
            let keys = i.tag_keys("tagKeys")?;
            i.finish()?;
            engine.untag_resource(caller, &arn, keys).await?;
            Ok(json!({}))
        }
        "ListTagsForResource" => {
            let arn = i.req_str("resourceArn", input::ARN)?;
            i.finish()?;
            let tags = engine.list_tags_for_resource(caller, &arn).await?;
            Ok(json!({"tags": shapes::tags(&tags)}))
        }

        // ----- executions ------------------------------------------------------
        "StartExecution" | "StartSyncExecution" => {
            let arn = i.req_str("stateMachineArn", input::ARN)?;
            let name = i.str("name", Str::opt(1, 80))?;
            let data = i.str("input", input::DATA)?;
            let trace = i.str("traceHeader", input::TRACE_HEADER)?;
            if let Some(t) = &trace
                && !t.is_ascii()
            {
                i.fail(format!(
                    "Value '{t}' at 'traceHeader' failed to satisfy constraint: Member must satisfy regular expression pattern: \\p{{ASCII}}*"
                ));
            }
            i.finish()?;
            if action == "StartExecution" {
                let started = engine
                    .start_execution(caller, &arn, name, data, trace)
                    .await?;
                Ok(
                    json!({"executionArn": started.execution_arn, "startDate": shapes::ts(started.start_ms)}),
                )
            } else {
                let e = engine
                    .start_sync_execution(caller, &arn, name, data, trace)
                    .await?;
                Ok(shapes::sync_execution(&e))
            }
        }
        "DescribeExecution" => {
            let arn = i.req_str("executionArn", input::ARN)?;
            i.enum_str("includedData", &["ALL_DATA", "METADATA_ONLY"])?;
            i.finish()?;
            let e = engine.describe_execution(&arn).await?;
            Ok(shapes::describe_execution(&e))
        }
        "DescribeStateMachineForExecution" => {
            let arn = i.req_str("executionArn", input::ARN)?;
            i.enum_str("includedData", &["ALL_DATA", "METADATA_ONLY"])?;
            i.finish()?;
            let sm = engine.describe_state_machine_for_execution(&arn).await?;
            Ok(shapes::describe_state_machine_for_execution(&sm))
        }
        "ListExecutions" => {
            let arn = i.str("stateMachineArn", Str::opt(1, 256))?;
            let map_run = i.str("mapRunArn", Str::opt(1, 2000))?;
            let status = i.enum_str("statusFilter", EXECUTION_STATUSES)?;
            let redrive = i.enum_str("redriveFilter", &["REDRIVEN", "NOT_REDRIVEN"])?;
            let max = i.page_size("maxResults", 1000)?;
            let token = i.str("nextToken", input::LIST_EXECUTIONS_TOKEN)?;
            i.finish()?;
            if map_run.is_some() {
                return Err(ApiError::unsupported(
                    "ListExecutions",
                    "Distributed Map runs (mapRunArn)",
                ));
            }
            let Some(arn) = arn else {
                return Err(ApiError::service(
                    "ValidationException",
                    "Must provide a StateMachine ARN or MapRun ARN",
                ));
            };
            let page = engine
                .list_executions(&arn, status, redrive, max, token)
                .await?;
            let mut out = json!({"executions": page.items.iter().map(shapes::execution_item).collect::<Vec<_>>()});
            if let Some(t) = page.next_token {
                out["nextToken"] = json!(t);
            }
            Ok(out)
        }
        "GetExecutionHistory" => {
            let arn = i.req_str("executionArn", input::ARN)?;
            let max = i.page_size("maxResults", 1000)?;
            let reverse = i.bool("reverseOrder")?.unwrap_or(false);
            let token = i.str("nextToken", input::PAGE_TOKEN)?;
            let include = i.bool("includeExecutionData")?.unwrap_or(true);
            i.finish()?;
            let page = engine
                .get_execution_history(&arn, max, reverse, token, include)
                .await?;
            let mut out = json!({"events": page.items});
            if let Some(t) = page.next_token {
                out["nextToken"] = json!(t);
            }
            Ok(out)
        }
        "StopExecution" => {
            let arn = i.req_str("executionArn", input::ARN)?;
            let error = i.str("error", input::ERROR)?;
            let cause = i.str("cause", input::CAUSE)?;
            i.finish()?;
            let stop = engine.stop_execution(&arn, error, cause).await?;
            Ok(json!({"stopDate": shapes::ts(stop)}))
        }
        "RedriveExecution" => {
            let arn = i.req_str("executionArn", input::ARN)?;
            let token = i.str("clientToken", Str::opt(1, 64))?;
            i.finish()?;
            let at = engine.redrive_execution(&arn, token).await?;
            Ok(json!({"redriveDate": shapes::ts(at)}))
        }

        // ----- callbacks ---------------------------------------------------------
        "SendTaskSuccess" => {
            let token = i.req_str("taskToken", input::TASK_TOKEN)?;
            let output = i.req_str("output", input::DATA)?;
            i.finish()?;
            engine.send_task_success(&token, output).await?;
            Ok(json!({}))
        }
        "SendTaskFailure" => {
            let token = i.req_str("taskToken", input::TASK_TOKEN)?;
            let error = i.str("error", input::ERROR)?;
            let cause = i.str("cause", input::CAUSE)?;
            i.finish()?;
            engine.send_task_failure(&token, error, cause).await?;
            Ok(json!({}))
        }
        "SendTaskHeartbeat" => {
            let token = i.req_str("taskToken", input::TASK_TOKEN)?;
            i.finish()?;
            engine.send_task_heartbeat(&token).await?;
            Ok(json!({}))
        }
        other => Err(ApiError::unknown_operation(&format!(
            "{}{other}",
            super::TARGET_PREFIX
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_of_the_model_is_listed_once() {
        assert_eq!(ACTIONS.len(), 37);
        let mut names: Vec<&str> = ACTIONS.iter().map(|(a, _)| *a).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 37);
    }
}
