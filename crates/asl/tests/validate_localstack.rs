//! AWS-recorded validation results from LocalStack's snapshot suite: for each
//! recorded creation / validation error whose template we can load, our
//! diagnostics (and AWS's `InvalidDefinition` message built from them) match
//! AWS's exactly.

use std::path::PathBuf;

use baton_asl::diag::invalid_definition_message;
use baton_asl::load::{self, Options};
use serde_json::Value;

fn suite() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/suites/localstack-stepfunctions"
    ));
    dir.is_dir().then_some(dir)
}

fn template(root: &std::path::Path, rel: &str) -> Value {
    let path = root.join("json/templates").join(format!("{rel}.json"));
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&src).expect("template JSON")
}

/// The recorded value at `key` (a test id) → `field` path in a snapshot file.
fn recorded(root: &std::path::Path, file: &str, test: &str, path: &[&str]) -> Value {
    let src = std::fs::read_to_string(root.join("v2").join(file)).expect("snapshot");
    let snap: Value = serde_json::from_str(&src).expect("snapshot JSON");
    let id = format!(
        "tests/aws/services/stepfunctions/v2/{}::{test}",
        file.replace(".snapshot.json", ".py")
    );
    let mut v = snap
        .get(&id)
        .unwrap_or_else(|| panic!("no entry {id}"))
        .get("recorded-content")
        .expect("content");
    for p in path {
        v = v.get(*p).unwrap_or_else(|| panic!("{id}: no {p}"));
    }
    v.clone()
}

fn message_of(def: &Value, express: bool) -> String {
    let (_, diags) = load::load_with(def, &Options { express });
    invalid_definition_message(&diags)
}

/// `exception_value` holds `An error occurred (InvalidDefinition) when calling the CreateStateMachine operation: <message>`.
fn exception_message(v: &Value) -> String {
    let s = v.as_str().expect("exception_value");
    s.split_once("operation: ")
        .map_or(s, |(_, m)| m)
        .to_string()
}

#[test]
fn creation_errors_match_aws() {
    let Some(root) = suite() else {
        println!("skipped: the LocalStack suite is not present beside the repository");
        return;
    };
    let mut checked = 0;
    let mut check = |what: &str, ours: String, aws: String| {
        assert_eq!(ours, aws, "{what}");
        checked += 1;
    };

    // Missing States.
    let aws = recorded(
        &root,
        "test_sfn_api.snapshot.json",
        "TestSnfApi::test_create_delete_invalid_sm",
        &["invalid_definition_1", "message"],
    );
    check(
        "invalid_der",
        message_of(&template(&root, "base/statemachines/invalid_der"), false),
        aws.as_str().unwrap_or_default().into(),
    );

    // Credentials without RoleArn.
    for (param, tpl) in [
        (
            "EMPTY_CREDENTIALS",
            "credentials/statemachines/empty_credentials",
        ),
        (
            "INVALID_CREDENTIALS_FIELD",
            "credentials/statemachines/invalid_credentials_field",
        ),
    ] {
        let aws = recorded(
            &root,
            "credentials/test_credentials_base.snapshot.json",
            &format!("TestCredentialsBase::test_invalid_credentials_field[{param}]"),
            &["invalid_definition", "message"],
        );
        check(
            param,
            message_of(&template(&root, tpl), false),
            aws.as_str().unwrap_or_default().into(),
        );
    }

    // An optimized integration API that does not exist.
    let aws = recorded(
        &root,
        "services/test_dynamodb_task_service.snapshot.json",
        "TestTaskServiceDynamoDB::test_invalid_integration",
        &["exception", "exception_value"],
    );
    let ours = message_of(
        &template(
            &root,
            "services/statemachines/invalid_integration_dynamodb_query",
        ),
        false,
    )
    .replace("arn:aws:", "arn:<partition>:");
    check("dynamodb:query", ours, exception_message(&aws));

    // An unknown state type.
    let aws = recorded(
        &root,
        "test_state/test_test_state_machine_scenarios.snapshot.json",
        "TestStateMachineScenarios::test_state_name_invalid_state_definition",
        &["validation_exception", "message"],
    );
    check(
        "unknown Type",
        message_of(
            &template(
                &root,
                "test_state/statemachines/base_invalid_state_definition",
            ),
            false,
        ),
        aws.as_str().unwrap_or_default().into(),
    );

    // EXPRESS machines: callbacks, .sync and activities.
    let aws = recorded(
        &root,
        "test_sfn_api_express.snapshot.json",
        "TestSfnApiExpress::test_illegal_callbacks[WAIT_FOR_TASK_TOKEN]",
        &["creation_error", "message"],
    );
    check(
        "express waitForTaskToken",
        message_of(
            &template(
                &root,
                "callbacks/statemachines/sns_publish_wait_for_task_token",
            ),
            true,
        ),
        aws.as_str().unwrap_or_default().into(),
    );
    let aws = recorded(
        &root,
        "test_sfn_api_express.snapshot.json",
        "TestSfnApiExpress::test_illegal_callbacks[SYNC]",
        &["creation_error", "message"],
    );
    check(
        "express sync",
        message_of(
            &template(&root, "callbacks/statemachines/sfn_start_execution_sync"),
            true,
        ),
        aws.as_str().unwrap_or_default().into(),
    );
    let aws = recorded(
        &root,
        "test_sfn_api_express.snapshot.json",
        "TestSfnApiExpress::test_illegal_activity_task",
        &["creation_error", "message"],
    );
    let mut activity = template(&root, "activities/statemachines/base_activity_task");
    activity["States"]["ActivityTask"]["Resource"] =
        Value::String("arn:aws:states:us-east-1:111111111111:activity:activity_name".into());
    check(
        "express activity",
        message_of(&activity, true),
        aws.as_str().unwrap_or_default().into(),
    );

    // Wait Timestamp that is not RFC 3339 (values as the test substitutes them).
    let aws = recorded(
        &root,
        "scenarios/test_base_scenarios.snapshot.json",
        "TestBaseScenarios::test_wait_timestamp_invalid[NO_Z]",
        &["exception", "exception_value"],
    );
    for bad in [
        "2016-03-14T01:59:00",
        "2016-03-14 01:59:00Z",
        "2016-13-14T01:59:00Z",
        "2016-03-14T25:59:00Z",
    ] {
        let mut def = template(&root, "scenarios/statemachines/wait_timestamp");
        def["States"]["WaitUntil"]["Timestamp"] = Value::String(bad.into());
        check(bad, message_of(&def, false), exception_message(&aws));
    }
    println!("{checked} AWS-recorded creation errors matched");
}

#[test]
fn validation_api_entries_match_aws() {
    let Some(root) = suite() else {
        println!("skipped: the LocalStack suite is not present beside the repository");
        return;
    };
    let file = "test_sfn_api_validation.snapshot.json";
    let cases: &[(&str, Option<&str>, bool)] = &[
        (
            "test_validate_state_machine_definition_type_standard[VALID_BASE_PASS]",
            Some("validation/statemachines/valid_base_pass"),
            false,
        ),
        (
            "test_validate_state_machine_definition_type_standard[INVALID_BASE_NO_STARTAT]",
            Some("validation/statemachines/invalid_base_no_startat"),
            false,
        ),
        (
            "test_validate_state_machine_definition_type_standard[INVALID_DOWNGRADE_QUERY_LANGUAGE]",
            Some("validation/statemachines/invalid_downgrade_query_language"),
            false,
        ),
        (
            "test_validate_state_machine_definition_type_express[VALID_QUERY_LANGUAGE_PASS]",
            Some("validation/statemachines/valid_query_language_pass"),
            true,
        ),
        (
            "test_validate_state_machine_definition_type_express[ILLEGAL_WFTT]",
            Some("callbacks/statemachines/sqs_wait_for_task_token"),
            true,
        ),
        (
            "test_validate_state_machine_definition_not_a_definition[EMPTY_DICT]",
            None,
            false,
        ),
    ];
    for (test, tpl, express) in cases {
        let aws = recorded(
            &root,
            file,
            &format!("TestSfnApiValidation::{test}"),
            &["validation_response", "diagnostics"],
        );
        let def = match tpl {
            Some(t) => template(&root, t),
            None => serde_json::json!({}),
        };
        let (_, diags) = load::load_with(&def, &Options { express: *express });
        let ours: Vec<Value> = diags
            .iter()
            .map(|d| {
                let mut o =
                    serde_json::json!({"code": d.code, "message": d.message, "severity": "ERROR"});
                if !d.location.is_empty() {
                    o["location"] = Value::String(d.location.clone());
                }
                o
            })
            .collect();
        assert_eq!(Value::Array(ours), aws, "{test}");
    }
    // An empty definition.
    let (_, diags) = load::load_str("");
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code, "SCHEMA_VALIDATION_FAILED");
    assert_eq!(diags[0].message, "Definition must be a valid JSON object");
}
