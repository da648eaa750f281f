//! The loader's model output and graph diagnostics.

use baton_asl::load::{self, Options};
use baton_asl::model::{
    ChoiceRule, Comparison, Dynamic, Jitter, MapMode, PathField, QueryLanguage, StateKind,
    Transition,
};
use serde_json::json;

fn diags(v: serde_json::Value) -> Vec<String> {
    load::load(&v).1.iter().map(ToString::to_string).collect()
}

#[test]
fn task_defaults_and_transitions() {
    let (def, d) = load::load(&json!({
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "ResultPath": null,
                  "Retry": [{"ErrorEquals": ["States.ALL"]}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}],
                  "TimeoutSeconds": 10, "HeartbeatSecondsPath": "$.hb", "Next": "S"},
            "S": {"Type": "Succeed"},
            "F": {"Type": "Fail", "Error": "E"}
        }
    }));
    assert!(d.is_empty(), "{d:?}");
    let def = def.expect("definition");
    assert_eq!(def.query_language, QueryLanguage::JsonPath);
    let t = def.graph.state(0);
    assert_eq!(t.transition, Transition::Next("S".into(), 1));
    assert_eq!(t.io.input_path, PathField::Default);
    assert_eq!(t.io.result_path, PathField::Null);
    let StateKind::Task(task) = &t.kind else {
        panic!("task")
    };
    let r = &task.recovery.retry[0];
    assert_eq!(
        (r.interval_seconds, r.max_attempts, r.backoff_rate, r.jitter),
        (1, 3, 2.0, Jitter::None)
    );
    assert_eq!(task.recovery.catch[0].next, ("F".to_string(), 2));
    assert_eq!(task.timeout_seconds, Some(Dynamic::Literal(10)));
    assert!(matches!(task.heartbeat_seconds, Some(Dynamic::Path(_))));
    assert_eq!(def.graph.state(1).transition, Transition::End);
}

#[test]
fn choice_and_legacy_map() {
    let (def, d) = load::load(&json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [
                {"Not": {"Variable": "$.x", "NumericGreaterThanPath": "$.y"}, "Next": "M"}
            ], "Default": "M"},
            "M": {"Type": "Map", "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
                  "Parameters": {"v.$": "$$.Map.Item.Value"}, "MaxConcurrency": 2, "End": true}
        }
    }));
    assert!(d.is_empty(), "{d:?}");
    let def = def.expect("definition");
    let StateKind::Choice(c) = &def.graph.state(0).kind else {
        panic!("choice")
    };
    assert_eq!(c.default, Some(("M".to_string(), 1)));
    let ChoiceRule::Not(inner) = &c.choices[0].rule else {
        panic!("not")
    };
    assert!(matches!(
        **inner,
        ChoiceRule::Compare {
            op: Comparison::NumericGreaterThan,
            ..
        }
    ));
    let StateKind::Map(m) = &def.graph.state(1).kind else {
        panic!("map")
    };
    assert_eq!(m.mode, MapMode::Inline);
    assert!(m.item_selector.is_some());
    assert_eq!(m.max_concurrency, Dynamic::Literal(2));
    assert_eq!(m.processor.start, 0);
}

#[test]
fn graph_diagnostics() {
    assert_eq!(
        diags(json!({"StartAt": "pass1", "States": {
            "pass1": {"Type": "Pass", "Next": "pass3"},
            "pass2": {"Type": "Pass", "End": true}
        }})),
        [
            "MISSING_TRANSITION_TARGET: Missing 'Next' target: pass3 at /States/pass1/Next",
            "MISSING_TRANSITION_TARGET: State \"pass2\" is not reachable. at /States/pass2",
        ]
    );
    assert_eq!(
        diags(json!({"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}
        }})),
        ["MISSING_END_STATE: Workflow has no terminal state at null"]
    );
    assert_eq!(
        diags(json!({"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsNull": true, "Next": "X"}], "Default": "S"},
            "S": {"Type": "Succeed"}
        }})),
        ["MISSING_TRANSITION_TARGET: Missing 'Next' target: X at /States/C/Choices[0]/Next"]
    );
}

#[test]
fn field_rules() {
    assert_eq!(
        diags(
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "TimeoutSeconds": 5, "End": true}}})
        ),
        ["SCHEMA_VALIDATION_FAILED: Field 'TimeoutSeconds' is not supported at /States/P"]
    );
    assert_eq!(
        diags(json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": 1, "End": true}}})),
        [
            "SCHEMA_VALIDATION_FAILED: The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' QueryLanguage at /States/P"
        ]
    );
    assert_eq!(
        diags(
            json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ToleratedFailurePercentage": 105,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}})
        ),
        [
            "SCHEMA_VALIDATION_FAILED: Maximum value is 100.0 at /States/M/ToleratedFailurePercentage"
        ]
    );
    assert_eq!(
        diags(
            json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["States.ALL", "X"]}], "End": true}}})
        ),
        [
            "SCHEMA_VALIDATION_FAILED: 'States.ALL' must appear alone in 'ErrorEquals' at /States/T/Retry[0]/ErrorEquals"
        ]
    );
    assert_eq!(
        diags(json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
            "Parameters": {"a": 1, "a.$": "$.a"}, "End": true}}}))
        .len(),
        1
    );
    let jsonata = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {
        "P": {"Type": "Pass", "Output": {"v": "{% 1 + %}"}, "End": true}}});
    assert_eq!(
        diags(jsonata),
        ["INVALID_JSONATA_EXPRESSION: Unexpected end of expression at /States/P/Output/v"]
    );
}

#[test]
fn express_rules() {
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true}}});
    assert!(load::load(&def).1.is_empty());
    let (_, d) = load::load_with(&def, &Options { express: true });
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].location, "/States/T/Resource");
}
