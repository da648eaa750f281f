//! Response shapes: records as AWS's JSON, timestamps as epoch seconds with a
//! fractional part.

use baton_engine::control::MachineConfig;
use baton_storage::{ActivityRecord, ExecutionRecord, StateMachineRecord, Tag};
use serde_json::{Map, Value, json};

/// Epoch milliseconds as AWS's timestamp (epoch seconds, fractional).
pub(crate) fn ts(ms: i64) -> Value {
    if ms % 1000 == 0 {
        json!(ms / 1000)
    } else {
        json!(ms as f64 / 1000.0)
    }
}

/// DescribeStateMachine's answer.
pub(crate) fn describe_state_machine(sm: &StateMachineRecord) -> Value {
    let cfg = MachineConfig::parse(&sm.content.config);
    let mut m = Map::new();
    m.insert("stateMachineArn".into(), json!(sm.arn));
    m.insert("name".into(), json!(sm.name));
    m.insert("status".into(), json!(sm.status));
    m.insert("definition".into(), json!(sm.content.definition));
    m.insert("roleArn".into(), json!(sm.content.role_arn));
    m.insert("type".into(), json!(sm.machine_type.as_str()));
    m.insert("creationDate".into(), ts(sm.creation_ms));
    m.insert("loggingConfiguration".into(), cfg.logging_configuration);
    m.insert("tracingConfiguration".into(), cfg.tracing_configuration);
    if let Some(e) = cfg.encryption_configuration {
        m.insert("encryptionConfiguration".into(), e);
    }
    if !sm.content.revision_id.is_empty() {
        m.insert("revisionId".into(), json!(sm.content.revision_id));
    }
    if let Some(d) = cfg.description {
        m.insert("description".into(), json!(d));
    }
    Value::Object(m)
}

/// DescribeStateMachineForExecution's answer: the revision the execution
/// runs.
pub(crate) fn describe_state_machine_for_execution(sm: &StateMachineRecord) -> Value {
    let cfg = MachineConfig::parse(&sm.content.config);
    let mut m = Map::new();
    m.insert("stateMachineArn".into(), json!(sm.arn));
    m.insert("name".into(), json!(sm.name));
    m.insert("definition".into(), json!(sm.content.definition));
    m.insert("roleArn".into(), json!(sm.content.role_arn));
    m.insert("updateDate".into(), ts(sm.content.update_ms));
    m.insert("loggingConfiguration".into(), cfg.logging_configuration);
    m.insert("tracingConfiguration".into(), cfg.tracing_configuration);
    if let Some(e) = cfg.encryption_configuration {
        m.insert("encryptionConfiguration".into(), e);
    }
    if !sm.content.revision_id.is_empty() {
        m.insert("revisionId".into(), json!(sm.content.revision_id));
    }
    Value::Object(m)
}

/// A ListStateMachines item.
pub(crate) fn state_machine_item(sm: &StateMachineRecord) -> Value {
    json!({
        "stateMachineArn": sm.arn,
        "name": sm.name,
        "type": sm.machine_type.as_str(),
        "creationDate": ts(sm.creation_ms),
    })
}

/// DescribeActivity's answer and a ListActivities item (`full` adds the
/// encryption configuration, which only DescribeActivity shows).
pub(crate) fn activity(a: &ActivityRecord, full: bool) -> Value {
    let mut v = json!({
        "activityArn": a.arn,
        "name": a.name,
        "creationDate": ts(a.creation_ms),
    });
    if full {
        v["encryptionConfiguration"] = json!({"type": "AWS_OWNED_KEY"});
    }
    v
}

pub(crate) fn tags(tags: &[Tag]) -> Value {
    Value::Array(
        tags.iter()
            .map(|t| json!({"key": t.key, "value": t.value}))
            .collect(),
    )
}

/// DescribeExecution's redrive fields.
fn redrive_status(e: &ExecutionRecord, m: &mut Map<String, Value>) {
    match e.status.as_str() {
        "FAILED" | "ABORTED" | "TIMED_OUT" => {
            m.insert("redriveStatus".into(), json!("REDRIVABLE"));
        }
        other => {
            m.insert("redriveStatus".into(), json!("NOT_REDRIVABLE"));
            m.insert(
                "redriveStatusReason".into(),
                json!(format!("Execution is {other} and cannot be redriven")),
            );
        }
    }
}

/// DescribeExecution's answer.
pub(crate) fn describe_execution(e: &ExecutionRecord) -> Value {
    let mut m = Map::new();
    m.insert("executionArn".into(), json!(e.arn));
    m.insert("stateMachineArn".into(), json!(e.state_machine_arn));
    m.insert("name".into(), json!(e.name));
    m.insert("status".into(), json!(e.status));
    m.insert("startDate".into(), ts(e.start_ms));
    if let Some(s) = e.stop_ms {
        m.insert("stopDate".into(), ts(s));
    }
    m.insert("input".into(), json!(e.input));
    m.insert("inputDetails".into(), json!({"included": true}));
    if e.status == "SUCCEEDED"
        && let Some(o) = &e.output
    {
        m.insert("output".into(), json!(o));
        m.insert("outputDetails".into(), json!({"included": true}));
    }
    // AWS shows error and cause for FAILED and ABORTED executions, not for
    // TIMED_OUT ones (recorded: test_timeouts::test_global_timeout).
    if e.status != "TIMED_OUT" {
        if let Some(x) = &e.error {
            m.insert("error".into(), json!(x));
        }
        if let Some(x) = &e.cause {
            m.insert("cause".into(), json!(x));
        }
    }
    if let Some(x) = &e.trace_header {
        m.insert("traceHeader".into(), json!(x));
    }
    m.insert("redriveCount".into(), json!(e.redrive_count));
    if let Some(r) = e.redrive_ms {
        m.insert("redriveDate".into(), ts(r));
    }
    redrive_status(e, &mut m);
    Value::Object(m)
}

/// A ListExecutions item.
pub(crate) fn execution_item(e: &ExecutionRecord) -> Value {
    let mut m = Map::new();
    m.insert("executionArn".into(), json!(e.arn));
    m.insert("stateMachineArn".into(), json!(e.state_machine_arn));
    m.insert("name".into(), json!(e.name));
    m.insert("status".into(), json!(e.status));
    m.insert("startDate".into(), ts(e.start_ms));
    if let Some(s) = e.stop_ms {
        m.insert("stopDate".into(), ts(s));
    }
    m.insert("redriveCount".into(), json!(e.redrive_count));
    if let Some(r) = e.redrive_ms {
        m.insert("redriveDate".into(), ts(r));
    }
    Value::Object(m)
}

/// StartSyncExecution's answer (HTTP 200 even when the execution failed).
pub(crate) fn sync_execution(e: &ExecutionRecord) -> Value {
    let mut m = Map::new();
    m.insert("executionArn".into(), json!(e.arn));
    m.insert("stateMachineArn".into(), json!(e.state_machine_arn));
    m.insert("name".into(), json!(e.name));
    m.insert("startDate".into(), ts(e.start_ms));
    let stop = e.stop_ms.unwrap_or(e.start_ms);
    m.insert("stopDate".into(), ts(stop));
    m.insert("status".into(), json!(e.status));
    if let Some(x) = &e.error {
        m.insert("error".into(), json!(x));
    }
    if let Some(x) = &e.cause {
        m.insert("cause".into(), json!(x));
    }
    m.insert("input".into(), json!(e.input));
    m.insert("inputDetails".into(), json!({"included": true}));
    if let Some(o) = &e.output {
        m.insert("output".into(), json!(o));
        m.insert("outputDetails".into(), json!({"included": true}));
    }
    if let Some(x) = &e.trace_header {
        m.insert("traceHeader".into(), json!(x));
    }
    // Express billing: 64 MB, duration rounded up to 100 ms.
    let billed = ((stop - e.start_ms).max(0) + 99) / 100 * 100;
    m.insert(
        "billingDetails".into(),
        json!({"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": billed.max(100)}),
    );
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_fractional_seconds() {
        assert_eq!(ts(1_795_618_672_230).to_string(), "1795618672.23");
        assert_eq!(ts(1_000).to_string(), "1");
    }
}
