//! The wire protocol over real HTTP: targets, content types, error shapes,
//! request limits, `/health` and `/metrics`. Requests are shaped as the
//! wire captures of boto3, the aws CLI and the JavaScript SDKs show them
//! (`../shared/reference/wire-captures/`).

mod common;

use common::{PASS, ROLE, call, fails, ok, raw, start};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_carry_aws_content_type_and_request_id() {
    let s = start().await;
    let a = call(s.addr, "ListStateMachines", json!({})).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/x-amz-json-1.0"));
    assert_eq!(a.header("x-amzn-requestid").map(str::len), Some(36));
    assert_eq!(a.json(), json!({"stateMachines": []}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_shapes() {
    let s = start().await;
    // Unknown action.
    let a = raw(
        s.addr,
        "POST",
        "/",
        &[
            ("X-Amz-Target", "AWSStepFunctions.Frobnicate"),
            ("Content-Type", "application/x-amz-json-1.0"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["__type"],
        "com.amazon.coral.service#UnknownOperationException"
    );
    // No target at all.
    let a = raw(
        s.addr,
        "POST",
        "/",
        &[("Content-Type", "application/x-amz-json-1.0")],
        b"{}",
    )
    .await;
    assert_eq!(a.error().0, "UnknownOperationException");

    // Malformed JSON.
    let a = raw(
        s.addr,
        "POST",
        "/",
        &[
            ("X-Amz-Target", "AWSStepFunctions.ListStateMachines"),
            ("Content-Type", "application/x-amz-json-1.0"),
        ],
        b"{not json",
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json()["__type"],
        "com.amazon.coral.service#SerializationException"
    );
    // A field of the wrong type.
    let a = call(s.addr, "ListStateMachines", json!({"maxResults": "ten"})).await;
    assert_eq!(a.error().0, "SerializationException");

    // Model validation: the recorded AWS text and namespace.
    let a = call(
        s.addr,
        "SendTaskSuccess",
        json!({"taskToken": "FakeTaskToken"}),
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json(),
        json!({"__type": "com.amazon.coral.validate#ValidationException",
               "message": "1 validation error detected: Value at 'output' failed to satisfy constraint: Member must not be null"})
    );
    assert_eq!(a.header("x-amzn-errortype"), Some("ValidationException"));

    // Service errors: the service namespace.
    let a = call(
        s.addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": "not_a_valid_arn"}),
    )
    .await;
    assert_eq!(
        a.json(),
        json!({"__type": "com.amazonaws.swf.service.v2.model#InvalidArn",
               "message": "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'"})
    );

    let m = fails(s.addr, "ListExecutions", json!({"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:x", "statusFilter": "succeeded"}), "ValidationException").await;
    assert_eq!(
        m,
        "1 validation error detected: Value 'succeeded' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]"
    );
    let long = "x".repeat(3097);
    let m = fails(s.addr, "ListExecutions", json!({"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:x", "nextToken": long}), "ValidationException").await;
    assert!(m.ends_with("at 'nextToken' failed to satisfy constraint: Member must have length less than or equal to 3096"));

    // Sensitive members are not echoed back.
    let big = "x".repeat(262_145);
    let m = fails(
        s.addr,
        "SendTaskSuccess",
        json!({"taskToken": "t", "output": big}),
        "ValidationException",
    )
    .await;
    assert_eq!(
        m,
        "1 validation error detected: Value at 'output' failed to satisfy constraint: Member must have length less than or equal to 262144"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_not_built_yet_say_so() {
    let s = start().await;
    for action in [
        "PublishStateMachineVersion",
        "CreateStateMachineAlias",
        "DescribeMapRun",
        "TestState",
        "ListStateMachineVersions",
    ] {
        let a = call(s.addr, action, json!({})).await;
        assert_eq!(a.status, 400, "{action}");
        let (code, message) = a.error();
        assert_eq!(code, "UnsupportedOperation", "{action}");
        assert!(
            message.starts_with(action) && message.contains("Baton does not support"),
            "{message}"
        );
    }
    let a = call(
        s.addr,
        "CreateStateMachine",
        json!({"name": "p", "definition": PASS, "roleArn": ROLE, "publish": true}),
    )
    .await;
    assert_eq!(a.error().0, "UnsupportedOperation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_one_megabyte_are_refused() {
    let s = start().await;
    let body = format!("{{\"definition\": \"{}\"}}", "x".repeat(1024 * 1024));
    let a = raw(
        s.addr,
        "POST",
        "/",
        &[
            (
                "X-Amz-Target",
                "AWSStepFunctions.ValidateStateMachineDefinition",
            ),
            ("Content-Type", "application/x-amz-json-1.0"),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(a.status, 413);
    assert_eq!(a.error().0, "RequestEntityTooLargeException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_host_prefix_is_served() {
    let s = start().await;
    ok(
        s.addr,
        "CreateStateMachine",
        json!({"name": "std", "definition": PASS, "roleArn": ROLE}),
    )
    .await;
    // An SDK without AWS_DISABLE_HOST_PREFIX_INJECTION sends sync-<host>.
    let a = raw(
        s.addr,
        "POST",
        "/",
        &[
            ("X-Amz-Target", "AWSStepFunctions.StartSyncExecution"),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("Host", "sync-localhost:4566"),
        ],
        json!({"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:std"})
            .to_string()
            .as_bytes(),
    )
    .await;
    // Routed to the action (whatever the runtime answers), not refused.
    assert_ne!(a.error().0, "UnknownOperationException", "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics() {
    let s = start().await;
    let h = raw(s.addr, "GET", "/health", &[], b"").await;
    assert_eq!(h.status, 200);
    assert_eq!(h.json(), json!({"status": "ok"}));
    call(s.addr, "ListStateMachines", json!({})).await;
    call(
        s.addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": "x"}),
    )
    .await;
    let m = raw(s.addr, "GET", "/metrics", &[], b"").await;
    assert_eq!(m.status, 200);
    assert!(
        m.header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain")
    );
    assert!(
        m.body
            .contains("baton_api_requests_total{action=\"ListStateMachines\",code=\"OK\"} 1"),
        "{}",
        m.body
    );
    assert!(
        m.body.contains(
            "baton_api_requests_total{action=\"DescribeStateMachine\",code=\"InvalidArn\"} 1"
        ),
        "{}",
        m.body
    );
    assert!(
        m.body
            .contains("baton_api_request_duration_seconds_count{action=\"ListStateMachines\"} 1")
    );
}
