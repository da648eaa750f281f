//! The control plane over real HTTP: state machines, activities, tags and
//! definition validation, with AWS-recorded answers (LocalStack's snapshots
//! recorded against AWS) as the reference.

mod common;

use common::{PASS, ROLE, call_as, fails, ok, start};
use serde_json::{Value, json};

const SM_PREFIX: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_describe_is_idempotent_and_rejects_a_different_definition() {
    let s = start().await;
    let created = ok(
        s.addr,
        "CreateStateMachine",
        json!({"name": "m1", "definition": PASS, "roleArn": ROLE}),
    )
    .await;
    assert_eq!(created["stateMachineArn"], format!("{SM_PREFIX}m1"));
    assert!(created["creationDate"].is_number());

    // The same request again (even with another role and tags): the same answer.
    let again = ok(
        s.addr,
        "CreateStateMachine",
        json!({"name": "m1", "definition": PASS, "roleArn": "arn:aws:iam::000000000000:role/other",
               "tags": [{"key": "k", "value": "v"}]}),
    )
    .await;
    assert_eq!(again, created);

    let d = ok(
        s.addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": format!("{SM_PREFIX}m1")}),
    )
    .await;
    assert_eq!(d["name"], "m1");
    assert_eq!(d["status"], "ACTIVE");
    assert_eq!(d["type"], "STANDARD");
    assert_eq!(d["definition"], PASS);
    assert_eq!(
        d["roleArn"], ROLE,
        "the role of a repeated create is ignored"
    );
    assert_eq!(
        d["loggingConfiguration"],
        json!({"includeExecutionData": false, "level": "OFF"})
    );
    assert_eq!(d["tracingConfiguration"], json!({"enabled": false}));
    assert!(
        d.get("encryptionConfiguration").is_none(),
        "no encryptionConfiguration unless one was set (AWS-recorded DescribeStateMachine)"
    );
    assert_eq!(d["creationDate"], created["creationDate"]);
    assert!(
        d.get("revisionId").is_none(),
        "no revisionId before the first update (as AWS)"
    );

    // The same definition formatted differently is another definition.
    let other = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;
    let m = fails(
        s.addr,
        "CreateStateMachine",
        json!({"name": "m1", "definition": other, "roleArn": ROLE}),
        "StateMachineAlreadyExists",
    )
    .await;
    assert_eq!(m, format!("State Machine Already Exists: '{SM_PREFIX}m1'"));
    // So is another type.
    fails(
        s.addr,
        "CreateStateMachine",
        json!({"name": "m1", "definition": PASS, "roleArn": ROLE, "type": "EXPRESS"}),
        "StateMachineAlreadyExists",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_errors_as_aws_words_them() {
    let s = start().await;
    let m = fails(
        s.addr,
        "CreateStateMachine",
        json!({"name": "bad", "definition": r#"{"StartAt": "P"}"#, "roleArn": ROLE}),
        "InvalidDefinition",
    )
    .await;
    assert_eq!(
        m,
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'"
    );

    let wftt = r#"{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "Parameters": {"QueueUrl": "q", "MessageBody.$": "$$.Task.Token"}, "End": true}}}"#;
    let m = fails(
        s.addr,
        "CreateStateMachine",
        json!({"name": "x", "definition": wftt, "roleArn": ROLE, "type": "EXPRESS"}),
        "InvalidDefinition",
    )
    .await;
    assert!(
        m.contains(
            "Express state machine does not support '.waitForTaskToken' service integration"
        ),
        "{m}"
    );
    // The same definition is fine for STANDARD.
    ok(
        s.addr,
        "CreateStateMachine",
        json!({"name": "x", "definition": wftt, "roleArn": ROLE}),
    )
    .await;

    let m = fails(
        s.addr,
        "CreateStateMachine",
        json!({"name": "a b", "definition": PASS, "roleArn": ROLE}),
        "InvalidName",
    )
    .await;
    assert_eq!(m, "Invalid Name: 'a b'");

    let m = fails(
        s.addr,
        "CreateStateMachine",
        json!({"name": "r", "definition": PASS, "roleArn": "role"}),
        "InvalidArn",
    )
    .await;
    assert_eq!(m, "Invalid Arn: 'Invalid ARN prefix: role'");

    let m = fails(
        s.addr,
        "CreateStateMachine",
        json!({"name": "l", "definition": PASS, "roleArn": ROLE, "loggingConfiguration": {"level": "ALL"}}),
        "InvalidLoggingConfiguration",
    )
    .await;
    assert_eq!(
        m,
        "Invalid Logging Configuration: Must specify exactly one Log Destination."
    );

    let m = fails(
        s.addr,
        "CreateStateMachine",
        json!({"name": "v", "definition": PASS, "roleArn": ROLE, "versionDescription": "d"}),
        "ValidationException",
    )
    .await;
    assert_eq!(
        m,
        "Version description can only be set when publish is true"
    );

    let m = fails(
        s.addr,
        "CreateStateMachine",
        json!({"name": "t", "definition": PASS, "roleArn": ROLE, "type": "standard"}),
        "ValidationException",
    )
    .await;
    assert_eq!(
        m,
        "1 validation error detected: Value 'standard' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
    );

    let m = fails(
        s.addr,
        "CreateStateMachine",
        json!({"definition": PASS}),
        "ValidationException",
    )
    .await;
    assert_eq!(
        m,
        "2 validation errors detected: Value at 'name' failed to satisfy constraint: Member must not be null; \
         Value at 'roleArn' failed to satisfy constraint: Member must not be null"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logging_configuration_is_kept_with_defaults() {
    let s = start().await;
    let dest = json!({"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:us-east-1:000000000000:log-group:g:*"}});
    ok(
        s.addr,
        "CreateStateMachine",
        json!({"name": "lg", "definition": PASS, "roleArn": ROLE,
               "loggingConfiguration": {"level": "ALL", "destinations": [dest]},
               "tracingConfiguration": {"enabled": true}}),
    )
    .await;
    let d = ok(
        s.addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": format!("{SM_PREFIX}lg")}),
    )
    .await;
    assert_eq!(
        d["loggingConfiguration"],
        json!({"destinations": [dest], "includeExecutionData": false, "level": "ALL"})
    );
    assert_eq!(d["tracingConfiguration"], json!({"enabled": true}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_makes_a_revision_only_when_something_changes() {
    let s = start().await;
    let arn = format!("{SM_PREFIX}u");
    ok(
        s.addr,
        "CreateStateMachine",
        json!({"name": "u", "definition": PASS, "roleArn": ROLE}),
    )
    .await;

    let m = fails(
        s.addr,
        "UpdateStateMachine",
        json!({"stateMachineArn": arn}),
        "MissingRequiredParameter",
    )
    .await;
    assert_eq!(
        m,
        "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified"
    );

    let d2 = r#"{"StartAt": "Q", "States": {"Q": {"Type": "Pass", "Result": 1, "End": true}}}"#;
    let u1 = ok(
        s.addr,
        "UpdateStateMachine",
        json!({"stateMachineArn": arn, "definition": d2}),
    )
    .await;
    let rev1 = u1["revisionId"].as_str().expect("revisionId").to_string();
    assert_eq!(rev1.len(), 36);
    assert!(u1["updateDate"].is_number());
    let d = ok(
        s.addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": arn}),
    )
    .await;
    assert_eq!(d["definition"], d2);
    assert_eq!(d["revisionId"], rev1);

    // Nothing changes: the same revision.
    let u2 = ok(
        s.addr,
        "UpdateStateMachine",
        json!({"stateMachineArn": arn, "definition": d2, "roleArn": ROLE}),
    )
    .await;
    assert_eq!(u2["revisionId"], rev1);

    // The role changes: a new one.
    let u3 = ok(
        s.addr,
        "UpdateStateMachine",
        json!({"stateMachineArn": arn, "roleArn": "arn:aws:iam::000000000000:role/r2"}),
    )
    .await;
    assert_ne!(u3["revisionId"], rev1);
    let d = ok(
        s.addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": arn}),
    )
    .await;
    assert_eq!(d["roleArn"], "arn:aws:iam::000000000000:role/r2");
    assert_eq!(d["definition"], d2);

    let m = fails(
        s.addr,
        "UpdateStateMachine",
        json!({"stateMachineArn": arn, "definition": "{}"}),
        "InvalidDefinition",
    )
    .await;
    assert!(m.starts_with("Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States, StartAt] at /"), "{m}");

    let missing = format!("{SM_PREFIX}nope");
    let m = fails(
        s.addr,
        "UpdateStateMachine",
        json!({"stateMachineArn": missing, "roleArn": ROLE}),
        "StateMachineDoesNotExist",
    )
    .await;
    assert_eq!(m, format!("State Machine Does Not Exist: '{missing}'"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_and_delete_errors() {
    let s = start().await;
    let m = fails(
        s.addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": "not_a_valid_arn"}),
        "InvalidArn",
    )
    .await;
    assert_eq!(m, "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'");
    let missing = format!("{SM_PREFIX}gone");
    let m = fails(
        s.addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": missing}),
        "StateMachineDoesNotExist",
    )
    .await;
    assert_eq!(m, format!("State Machine Does Not Exist: '{missing}'"));
    let m = fails(
        s.addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": "arn:aws:states:us-east-1:000000000000:activity:a"}),
        "InvalidArn",
    )
    .await;
    assert_eq!(
        m,
        "Invalid Arn: 'Resource type not valid in this context: activity'"
    );

    // Deleting a state machine that does not exist succeeds, as in AWS.
    assert_eq!(
        ok(
            s.addr,
            "DeleteStateMachine",
            json!({"stateMachineArn": missing})
        )
        .await,
        json!({})
    );

    ok(
        s.addr,
        "CreateStateMachine",
        json!({"name": "d", "definition": PASS, "roleArn": ROLE}),
    )
    .await;
    let arn = format!("{SM_PREFIX}d");
    assert_eq!(
        ok(
            s.addr,
            "DeleteStateMachine",
            json!({"stateMachineArn": arn})
        )
        .await,
        json!({})
    );
    fails(
        s.addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": arn}),
        "StateMachineDoesNotExist",
    )
    .await;
    // The name is free again.
    ok(
        s.addr,
        "CreateStateMachine",
        json!({"name": "d", "definition": PASS, "roleArn": ROLE}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_state_machines_pages_by_arn() {
    let s = start().await;
    for i in 0..13 {
        ok(
            s.addr,
            "CreateStateMachine",
            json!({"name": format!("sm_{i}"), "definition": PASS, "roleArn": ROLE}),
        )
        .await;
    }
    let p1 = ok(s.addr, "ListStateMachines", json!({"maxResults": 10})).await;
    let names: Vec<&str> = p1["stateMachines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    // Ordered by ARN, as AWS lists them.
    assert_eq!(
        names,
        [
            "sm_0", "sm_1", "sm_10", "sm_11", "sm_12", "sm_2", "sm_3", "sm_4", "sm_5", "sm_6"
        ]
    );
    let item = &p1["stateMachines"][0];
    assert_eq!(item["type"], "STANDARD");
    assert!(item["creationDate"].is_number());
    assert_eq!(item["stateMachineArn"], format!("{SM_PREFIX}sm_0"));
    let token = p1["nextToken"].as_str().expect("nextToken").to_string();
    let p2 = ok(
        s.addr,
        "ListStateMachines",
        json!({"maxResults": 10, "nextToken": token}),
    )
    .await;
    let names: Vec<&str> = p2["stateMachines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sm_7", "sm_8", "sm_9"]);
    assert!(p2.get("nextToken").is_none());

    let m = fails(
        s.addr,
        "ListStateMachines",
        json!({"maxResults": 1001}),
        "ValidationException",
    )
    .await;
    assert_eq!(
        m,
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
    );
    let long = "x".repeat(1025);
    let m = fails(
        s.addr,
        "ListStateMachines",
        json!({"nextToken": long}),
        "ValidationException",
    )
    .await;
    assert_eq!(
        m,
        format!(
            "1 validation error detected: Value '{long}' at 'nextToken' failed to satisfy constraint: Member must have length less than or equal to 1024"
        )
    );
    fails(
        s.addr,
        "ListStateMachines",
        json!({"nextToken": "garbage!"}),
        "InvalidToken",
    )
    .await;

    // Another region sees none of them.
    let other = call_as(s.addr, "ListStateMachines", json!({}), "test", "eu-west-1").await;
    assert_eq!(other.json()["stateMachines"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_and_account_come_from_the_request() {
    let s = start().await;
    let a = call_as(
        s.addr,
        "CreateStateMachine",
        json!({"name": "r", "definition": PASS, "roleArn": ROLE}),
        "111122223333",
        "eu-west-2",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let arn = a.json()["stateMachineArn"].as_str().unwrap().to_string();
    assert_eq!(arn, "arn:aws:states:eu-west-2:111122223333:stateMachine:r");
    // The default caller (us-east-1, 000000000000) does not see it.
    fails(
        s.addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": arn}),
        "StateMachineDoesNotExist",
    )
    .await;
    let d = call_as(
        s.addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": arn}),
        "111122223333",
        "eu-west-2",
    )
    .await;
    assert_eq!(d.status, 200);

    // A fixed --account wins over the key.
    let fixed = common::start_with(Some("123456789012")).await;
    let a = call_as(
        fixed.addr,
        "CreateActivity",
        json!({"name": "act"}),
        "111122223333",
        "us-east-1",
    )
    .await;
    assert_eq!(
        a.json()["activityArn"],
        "arn:aws:states:us-east-1:123456789012:activity:act"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_state_machine_definition() {
    let s = start().await;
    let v = ok(
        s.addr,
        "ValidateStateMachineDefinition",
        json!({"definition": PASS}),
    )
    .await;
    assert_eq!(
        v,
        json!({"result": "OK", "diagnostics": [], "truncated": false})
    );
    let v = ok(
        s.addr,
        "ValidateStateMachineDefinition",
        json!({"definition": "{}"}),
    )
    .await;
    assert_eq!(
        v,
        json!({"result": "FAIL", "truncated": false, "diagnostics": [
            {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": "These fields are required: [States, StartAt]", "location": "/"}
        ]})
    );
    let v = ok(
        s.addr,
        "ValidateStateMachineDefinition",
        json!({"definition": ""}),
    )
    .await;
    assert_eq!(v["result"], "FAIL");
    assert_eq!(
        v["diagnostics"][0]["message"],
        "Definition must be a valid JSON object"
    );
    assert!(v["diagnostics"][0].get("location").is_none());
    let v = ok(
        s.addr,
        "ValidateStateMachineDefinition",
        json!({"definition": "not a definition"}),
    )
    .await;
    assert_eq!(v["diagnostics"][0]["code"], "INVALID_JSON_DESCRIPTION");
    let m = fails(
        s.addr,
        "ValidateStateMachineDefinition",
        json!({"definition": PASS, "maxResults": 101}),
        "ValidationException",
    )
    .await;
    assert!(
        m.contains("Member must have value less than or equal to 100"),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activities() {
    let s = start().await;
    let arn = "arn:aws:states:us-east-1:000000000000:activity:Activity1";
    let c1 = ok(s.addr, "CreateActivity", json!({"name": "Activity1"})).await;
    assert_eq!(c1["activityArn"], arn);
    assert!(c1["creationDate"].is_number());
    // Idempotent by name.
    let c2 = ok(
        s.addr,
        "CreateActivity",
        json!({"name": "Activity1", "tags": [{"key": "k", "value": "v"}]}),
    )
    .await;
    assert_eq!(c2, c1);
    let d = ok(s.addr, "DescribeActivity", json!({"activityArn": arn})).await;
    assert_eq!(
        d,
        json!({"activityArn": arn, "name": "Activity1", "creationDate": c1["creationDate"], "encryptionConfiguration": {"type": "AWS_OWNED_KEY"}})
    );
    ok(
        s.addr,
        "CreateActivity",
        json!({"name": "activity.name.v2"}),
    )
    .await;
    let l = ok(s.addr, "ListActivities", json!({})).await;
    let names: Vec<&str> = l["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Activity1", "activity.name.v2"]);
    let p = ok(s.addr, "ListActivities", json!({"maxResults": 1})).await;
    assert_eq!(p["activities"].as_array().unwrap().len(), 1);
    let p2 = ok(
        s.addr,
        "ListActivities",
        json!({"maxResults": 1, "nextToken": p["nextToken"]}),
    )
    .await;
    assert_eq!(p2["activities"][0]["name"], "activity.name.v2");

    // Delete twice: both succeed, as in AWS.
    assert_eq!(
        ok(s.addr, "DeleteActivity", json!({"activityArn": arn})).await,
        json!({})
    );
    assert_eq!(
        ok(s.addr, "DeleteActivity", json!({"activityArn": arn})).await,
        json!({})
    );
    let m = fails(
        s.addr,
        "DescribeActivity",
        json!({"activityArn": arn}),
        "ActivityDoesNotExist",
    )
    .await;
    assert_eq!(m, format!("Activity Does Not Exist: '{arn}'"));

    for bad in [
        "activity name",
        "activity:name",
        "activity/name",
        "\u{0}activity",
        "activity\u{7f}",
    ] {
        let m = fails(
            s.addr,
            "CreateActivity",
            json!({"name": bad}),
            "InvalidName",
        )
        .await;
        assert_eq!(m, format!("Invalid Name: '{bad}'"));
    }
    let m = fails(
        s.addr,
        "DescribeActivity",
        json!({"activityArn": "no_an_activity_arn"}),
        "InvalidArn",
    )
    .await;
    assert_eq!(m, "Invalid Arn: 'Invalid ARN prefix: no_an_activity_arn'");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_on_state_machines_and_activities() {
    let s = start().await;
    let arn = format!("{SM_PREFIX}tagged");
    ok(
        s.addr,
        "CreateStateMachine",
        json!({"name": "tagged", "definition": PASS, "roleArn": ROLE,
               "tags": [{"key": "key1", "value": "value1"}, {"key": "key2", "value": "value2"}]}),
    )
    .await;
    let l = ok(s.addr, "ListTagsForResource", json!({"resourceArn": arn})).await;
    assert_eq!(
        l,
        json!({"tags": [{"key": "key1", "value": "value1"}, {"key": "key2", "value": "value2"}]})
    );

    assert_eq!(ok(s.addr, "TagResource", json!({"resourceArn": arn, "tags": [{"key": "key1", "value": "new"}, {"key": "key3", "value": ""}]})).await, json!({}));
    assert_eq!(
        ok(
            s.addr,
            "UntagResource",
            json!({"resourceArn": arn, "tagKeys": ["key2", "absent"]})
        )
        .await,
        json!({})
    );
    let l = ok(s.addr, "ListTagsForResource", json!({"resourceArn": arn})).await;
    assert_eq!(
        l,
        json!({"tags": [{"key": "key1", "value": "new"}, {"key": "key3", "value": ""}]})
    );

    let act = ok(
        s.addr,
        "CreateActivity",
        json!({"name": "a", "tags": [{"key": "x", "value": "y"}]}),
    )
    .await;
    let act_arn = act["activityArn"].as_str().unwrap().to_string();
    let l = ok(
        s.addr,
        "ListTagsForResource",
        json!({"resourceArn": act_arn}),
    )
    .await;
    assert_eq!(l, json!({"tags": [{"key": "x", "value": "y"}]}));

    // 50 at most.
    let many: Vec<Value> = (0..49)
        .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
        .collect();
    fails(
        s.addr,
        "TagResource",
        json!({"resourceArn": arn, "tags": many}),
        "TooManyTags",
    )
    .await;
    let fits: Vec<Value> = (0..48)
        .map(|i| json!({"key": format!("k{i}"), "value": "v"}))
        .collect();
    ok(
        s.addr,
        "TagResource",
        json!({"resourceArn": arn, "tags": fits}),
    )
    .await;

    let missing = format!("{SM_PREFIX}missing");
    let m = fails(
        s.addr,
        "TagResource",
        json!({"resourceArn": missing, "tags": [{"key": "a", "value": "b"}]}),
        "ResourceNotFound",
    )
    .await;
    assert_eq!(m, format!("Resource not found: '{missing}'"));
    let version = format!("{arn}:1");
    let m = fails(
        s.addr,
        "TagResource",
        json!({"resourceArn": version, "tags": [{"key": "a", "value": "b"}]}),
        "ResourceNotFound",
    )
    .await;
    assert_eq!(m, format!("Resource not found: '{version}'"));
    fails(
        s.addr,
        "TagResource",
        json!({"resourceArn": arn, "tags": [{"key": "aws:reserved", "value": "b"}]}),
        "ValidationException",
    )
    .await;
    let m = fails(
        s.addr,
        "TagResource",
        json!({"resourceArn": arn, "tags": [{"key": "", "value": "b"}]}),
        "ValidationException",
    )
    .await;
    assert_eq!(
        m,
        "1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"
    );
    let m = fails(
        s.addr,
        "TagResource",
        json!({"resourceArn": arn}),
        "ValidationException",
    )
    .await;
    assert_eq!(
        m,
        "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must not be null"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_with_a_running_execution_marks_deleting() {
    let s = start().await;
    let wait =
        r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}}"#;
    ok(
        s.addr,
        "CreateStateMachine",
        json!({"name": "busy", "definition": wait, "roleArn": ROLE}),
    )
    .await;
    let arn = format!("{SM_PREFIX}busy");
    let started = common::call(s.addr, "StartExecution", json!({"stateMachineArn": arn})).await;
    if started.status != 200 {
        eprintln!(
            "skipped: StartExecution is not available yet: {}",
            started.body
        );
        return;
    }
    ok(
        s.addr,
        "DeleteStateMachine",
        json!({"stateMachineArn": arn}),
    )
    .await;
    let d = ok(
        s.addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": arn}),
    )
    .await;
    assert_eq!(d["status"], "DELETING");
    fails(
        s.addr,
        "StartExecution",
        json!({"stateMachineArn": arn}),
        "StateMachineDeleting",
    )
    .await;
    fails(
        s.addr,
        "CreateStateMachine",
        json!({"name": "busy", "definition": wait, "roleArn": ROLE}),
        "StateMachineDeleting",
    )
    .await;
    // Deleting again is fine.
    ok(
        s.addr,
        "DeleteStateMachine",
        json!({"stateMachineArn": arn}),
    )
    .await;
}
