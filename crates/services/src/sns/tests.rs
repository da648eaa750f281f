//! Tests of the SNS service through `call`, with fake SQS and Lambda
//! services standing in for the real ones.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_storage::Store;
use serde_json::{Value, json};

use super::Sns;
use super::model::KIND_DELIVERY;
use crate::{
    AwsService, BoxFuture, FunctionInvoker, Invocation, InvocationType, Scope, ServiceError,
};

#[derive(Default)]
struct FakeSqs {
    sent: Mutex<Vec<(Scope, Value)>>,
    failures: Mutex<VecDeque<ServiceError>>,
    always_fail: Mutex<Option<ServiceError>>,
}

impl AwsService for FakeSqs {
    fn call<'a>(
        &'a self,
        scope: &'a Scope,
        action: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        Box::pin(async move {
            assert_eq!(action, "SendMessage");
            if let Some(e) = self.always_fail.lock().unwrap().clone() {
                return Err(e);
            }
            if let Some(e) = self.failures.lock().unwrap().pop_front() {
                return Err(e);
            }
            self.sent.lock().unwrap().push((scope.clone(), input));
            Ok(json!({"MessageId": "m"}))
        })
    }
}

impl FakeSqs {
    fn sent(&self) -> Vec<(Scope, Value)> {
        self.sent.lock().unwrap().clone()
    }
    fn bodies(&self) -> Vec<String> {
        self.sent()
            .iter()
            .map(|(_, v)| v["MessageBody"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

#[derive(Default)]
struct FakeLambda {
    calls: Mutex<Vec<(String, Value, InvocationType)>>,
}

impl FunctionInvoker for FakeLambda {
    fn invoke<'a>(
        &'a self,
        _scope: &'a Scope,
        function: &'a str,
        payload: Vec<u8>,
        invocation_type: InvocationType,
        _log_tail: bool,
    ) -> BoxFuture<'a, Result<Invocation, ServiceError>> {
        Box::pin(async move {
            let v: Value = serde_json::from_slice(&payload).unwrap();
            self.calls
                .lock()
                .unwrap()
                .push((function.to_string(), v, invocation_type));
            Ok(Invocation {
                status_code: 202,
                payload: Vec::new(),
                function_error: None,
                executed_version: "$LATEST".into(),
                log_tail: None,
            })
        })
    }
}

struct Env {
    sns: Arc<Sns>,
    sqs: Arc<FakeSqs>,
    lambda: Arc<FakeLambda>,
    store: Arc<dyn Store>,
    dir: PathBuf,
    scope: Scope,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-sns-test-{}", super::model::uuid()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn env() -> Env {
    let dir = temp_dir();
    let store: Arc<dyn Store> =
        Arc::new(baton_storage::sqlite::SqliteStore::open(&dir.join("t.db")).unwrap());
    let sqs = Arc::new(FakeSqs::default());
    let lambda = Arc::new(FakeLambda::default());
    let sns = Sns::start(store.clone(), sqs.clone(), lambda.clone()).unwrap();
    Env {
        sns,
        sqs,
        lambda,
        store,
        dir,
        scope: Scope::new("123456789012", "us-east-1"),
    }
}

impl Env {
    async fn call(&self, action: &str, input: Value) -> Result<Value, ServiceError> {
        self.sns.call(&self.scope, action, input).await
    }
    async fn ok(&self, action: &str, input: Value) -> Value {
        match self.call(action, input).await {
            Ok(v) => v,
            Err(e) => panic!("{action} failed: {e}"),
        }
    }
    async fn err(&self, action: &str, input: Value) -> ServiceError {
        match self.call(action, input).await {
            Ok(v) => panic!("{action} succeeded: {v}"),
            Err(e) => e,
        }
    }
    async fn topic(&self, name: &str) -> String {
        self.ok("CreateTopic", json!({"Name": name})).await["TopicArn"]
            .as_str()
            .unwrap()
            .to_string()
    }
    async fn sub_sqs(&self, topic: &str, queue: &str, attrs: Value) -> String {
        self.ok(
            "Subscribe",
            json!({"TopicArn": topic, "Protocol": "sqs",
                   "Endpoint": format!("arn:aws:sqs:us-east-1:123456789012:{queue}"),
                   "Attributes": attrs}),
        )
        .await["SubscriptionArn"]
            .as_str()
            .unwrap()
            .to_string()
    }
    fn pending_rows(&self) -> usize {
        self.store
            .list_resources(KIND_DELIVERY, "", None, 1000)
            .unwrap()
            .len()
    }
    async fn settle(&self) {
        wait_for(|| self.pending_rows() == 0).await;
    }
}

async fn wait_for(mut f: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting");
}

#[tokio::test]
async fn topics_are_idempotent_and_validated() {
    let e = env().await;
    let a = e.topic("orders").await;
    assert_eq!(a, "arn:aws:sns:us-east-1:123456789012:orders");
    assert_eq!(e.topic("orders").await, a);
    let err = e
        .err(
            "CreateTopic",
            json!({"Name": "orders", "Attributes": {"DisplayName": "x"}}),
        )
        .await;
    assert_eq!(err.code, "InvalidParameter");
    assert!(
        err.message.contains("different attributes"),
        "{}",
        err.message
    );
    let err = e.err("CreateTopic", json!({"Name": "bad name"})).await;
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        ("InvalidParameter", "Invalid parameter: Topic Name")
    );
    let err = e.err("CreateTopic", json!({"Name": "x.fifo"})).await;
    assert_eq!(err.message, "Invalid parameter: Topic Name");
    let err = e.err("CreateTopic", json!({})).await;
    assert_eq!(err.code, "ValidationError");

    let attrs = e.ok("GetTopicAttributes", json!({"TopicArn": a})).await["Attributes"].clone();
    assert_eq!(attrs["TopicArn"], json!(a));
    assert_eq!(attrs["Owner"], json!("123456789012"));
    assert_eq!(attrs["DisplayName"], json!(""));
    assert_eq!(attrs["SubscriptionsConfirmed"], json!("0"));
    let eff: Value =
        serde_json::from_str(attrs["EffectiveDeliveryPolicy"].as_str().unwrap()).unwrap();
    assert_eq!(
        eff["http"]["defaultHealthyRetryPolicy"]["numRetries"],
        json!(3)
    );
    assert!(
        attrs["Policy"]
            .as_str()
            .unwrap()
            .contains("__default_policy_ID")
    );

    e.ok(
        "SetTopicAttributes",
        json!({"TopicArn": a, "AttributeName": "DisplayName", "AttributeValue": "Orders"}),
    )
    .await;
    let attrs = e.ok("GetTopicAttributes", json!({"TopicArn": a})).await;
    assert_eq!(attrs["Attributes"]["DisplayName"], json!("Orders"));
    let err = e
        .err(
            "SetTopicAttributes",
            json!({"TopicArn": a, "AttributeName": "Nope", "AttributeValue": "1"}),
        )
        .await;
    assert_eq!(err.message, "Invalid parameter: AttributeName");

    let missing = "arn:aws:sns:us-east-1:123456789012:nope";
    let err = e
        .err("GetTopicAttributes", json!({"TopicArn": missing}))
        .await;
    assert_eq!((err.code.as_str(), err.status), ("NotFound", 404));
    assert_eq!(err.message, "Topic does not exist");
    let err = e
        .err("GetTopicAttributes", json!({"TopicArn": "garbage"}))
        .await;
    assert_eq!(
        err.message,
        "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1"
    );
    let err = e
        .err(
            "GetTopicAttributes",
            json!({"TopicArn": "arn:aws:sns:eu-west-1:123456789012:orders"}),
        )
        .await;
    assert_eq!(err.message, "Invalid parameter: TopicArn");

    // other accounts and regions do not see it
    let other = e
        .sns
        .call(
            &Scope::new("999999999999", "us-east-1"),
            "ListTopics",
            json!({}),
        )
        .await
        .unwrap();
    assert_eq!(other["Topics"], json!([]));

    e.ok("DeleteTopic", json!({"TopicArn": a})).await;
    e.ok("DeleteTopic", json!({"TopicArn": a})).await;
    let err = e.err("GetTopicAttributes", json!({"TopicArn": a})).await;
    assert_eq!(err.code, "NotFound");
}

#[tokio::test]
async fn list_topics_pages() {
    let e = env().await;
    for i in 0..105 {
        e.topic(&format!("t{i:03}")).await;
    }
    let p1 = e.ok("ListTopics", json!({})).await;
    assert_eq!(p1["Topics"].as_array().unwrap().len(), 100);
    let token = p1["NextToken"].as_str().unwrap();
    let p2 = e.ok("ListTopics", json!({"NextToken": token})).await;
    assert_eq!(p2["Topics"].as_array().unwrap().len(), 5);
    assert!(p2.get("NextToken").is_none());
    let err = e.err("ListTopics", json!({"NextToken": "!!"})).await;
    assert_eq!(err.code, "InvalidParameter");
}

#[tokio::test]
async fn fifo_topics() {
    let e = env().await;
    let err = e
        .err(
            "CreateTopic",
            json!({"Name": "nofifo", "Attributes": {"FifoTopic": "true"}}),
        )
        .await;
    assert!(
        err.message
            .starts_with("Fifo Topic names must end with .fifo")
    );
    let t = e
        .ok(
            "CreateTopic",
            json!({"Name": "o.fifo", "Attributes": {"FifoTopic": "true"}}),
        )
        .await["TopicArn"]
        .as_str()
        .unwrap()
        .to_string();
    let attrs = e.ok("GetTopicAttributes", json!({"TopicArn": t})).await["Attributes"].clone();
    assert_eq!(attrs["FifoTopic"], json!("true"));
    assert_eq!(attrs["ContentBasedDeduplication"], json!("false"));
    e.sub_sqs(&t, "q.fifo", json!({})).await;
    let err = e
        .err("Publish", json!({"TopicArn": t, "Message": "m"}))
        .await;
    assert_eq!(
        err.message,
        "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
    );
    let err = e
        .err(
            "Publish",
            json!({"TopicArn": t, "Message": "m", "MessageGroupId": "g"}),
        )
        .await;
    assert!(
        err.message.contains("ContentBasedDeduplication"),
        "{}",
        err.message
    );
    let p = json!({"TopicArn": t, "Message": "m", "MessageGroupId": "g", "MessageDeduplicationId": "d1"});
    let r1 = e.ok("Publish", p.clone()).await;
    let r2 = e.ok("Publish", p).await;
    assert_eq!(r1["MessageId"], r2["MessageId"], "deduplicated");
    assert_eq!(r1["SequenceNumber"].as_str().unwrap().len(), 20);
    let r3 = e
        .ok(
            "Publish",
            json!({"TopicArn": t, "Message": "m", "MessageGroupId": "g", "MessageDeduplicationId": "d2"}),
        )
        .await;
    assert!(r3["SequenceNumber"].as_str() > r1["SequenceNumber"].as_str());
    e.settle().await;
    let sent = e.sqs.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].1["MessageGroupId"], json!("g"));
    assert_eq!(sent[0].1["MessageDeduplicationId"], json!("d1"));
    assert_eq!(sent[1].1["MessageDeduplicationId"], json!("d2"));
    let env: Value = serde_json::from_str(sent[0].1["MessageBody"].as_str().unwrap()).unwrap();
    assert_eq!(env["SequenceNumber"], r1["SequenceNumber"]);
    // standard topics refuse FIFO queues and deduplication ids
    let std_topic = e.topic("std").await;
    let err = e
        .err(
            "Subscribe",
            json!({"TopicArn": std_topic, "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:123456789012:q.fifo"}),
        )
        .await;
    assert!(
        err.message
            .contains("FIFO SQS Queues can not be subscribed")
    );
    let err = e
        .err(
            "Publish",
            json!({"TopicArn": std_topic, "Message": "m", "MessageDeduplicationId": "x"}),
        )
        .await;
    assert!(err.message.contains("MessageDeduplicationId"));
}

#[tokio::test]
async fn subscriptions() {
    let e = env().await;
    let t = e.topic("t").await;
    let s1 = e.sub_sqs(&t, "q1", json!({})).await;
    assert!(s1.starts_with(&format!("{t}:")));
    assert_eq!(e.sub_sqs(&t, "q1", json!({})).await, s1, "idempotent");
    let err = e
        .err(
            "Subscribe",
            json!({"TopicArn": t, "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:123456789012:q1",
                   "Attributes": {"RawMessageDelivery": "true"}}),
        )
        .await;
    assert!(
        err.message
            .contains("Subscription already exists with different attributes")
    );
    let err = e
        .err(
            "Subscribe",
            json!({"TopicArn": t, "Protocol": "carrier-pigeon", "Endpoint": "x"}),
        )
        .await;
    assert_eq!(
        err.message,
        "Invalid parameter: Amazon SNS does not support this protocol string: carrier-pigeon"
    );
    let err = e
        .err(
            "Subscribe",
            json!({"TopicArn": t, "Protocol": "sqs", "Endpoint": "not-an-arn"}),
        )
        .await;
    assert_eq!(err.message, "Invalid parameter: SQS endpoint ARN");
    let err = e
        .err(
            "Subscribe",
            json!({"TopicArn": t, "Protocol": "http", "Endpoint": "https://x"}),
        )
        .await;
    assert_eq!(
        err.message,
        "Invalid parameter: Endpoint must match the specified protocol"
    );
    let err = e
        .err(
            "Subscribe",
            json!({"TopicArn": t, "Protocol": "https", "Endpoint": "http://x"}),
        )
        .await;
    assert_eq!(
        err.message,
        "Invalid parameter: Endpoint must match the specified protocol"
    );
    let err = e
        .err(
            "Subscribe",
            json!({"TopicArn": format!("{t}x"), "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:1:q"}),
        )
        .await;
    assert_eq!(err.code, "NotFound");
    let s2 = e
        .ok(
            "Subscribe",
            json!({"TopicArn": t, "Protocol": "lambda",
                   "Endpoint": "arn:aws:lambda:us-east-1:123456789012:function:f"}),
        )
        .await["SubscriptionArn"]
        .as_str()
        .unwrap()
        .to_string();

    let attrs = e
        .ok("GetSubscriptionAttributes", json!({"SubscriptionArn": s1}))
        .await["Attributes"]
        .clone();
    assert_eq!(attrs["PendingConfirmation"], json!("false"));
    assert_eq!(attrs["RawMessageDelivery"], json!("false"));
    assert_eq!(attrs["Protocol"], json!("sqs"));
    assert_eq!(attrs["TopicArn"], json!(t));
    assert!(attrs.get("FilterPolicy").is_none());
    e.ok(
        "SetSubscriptionAttributes",
        json!({"SubscriptionArn": s1, "AttributeName": "FilterPolicy", "AttributeValue": "{\"a\": [\"b\"]}"}),
    )
    .await;
    let attrs = e
        .ok("GetSubscriptionAttributes", json!({"SubscriptionArn": s1}))
        .await["Attributes"]
        .clone();
    assert_eq!(attrs["FilterPolicyScope"], json!("MessageAttributes"));
    let err = e
        .err(
            "SetSubscriptionAttributes",
            json!({"SubscriptionArn": s1, "AttributeName": "RawMessageDelivery", "AttributeValue": "maybe"}),
        )
        .await;
    assert_eq!(
        err.message,
        "Invalid parameter: RawMessageDelivery: Invalid value [maybe]. Must be true or false."
    );
    let err = e
        .err(
            "SetSubscriptionAttributes",
            json!({"SubscriptionArn": s1, "AttributeName": "FilterPolicy", "AttributeValue": "{"}),
        )
        .await;
    assert_eq!(
        err.message,
        "Invalid parameter: FilterPolicy: failed to parse JSON."
    );
    let err = e
        .err(
            "SetSubscriptionAttributes",
            json!({"SubscriptionArn": s1, "AttributeName": "FilterPolicy", "AttributeValue": "{\"a\": {\"b\": [1]}}"}),
        )
        .await;
    assert_eq!(
        err.message,
        "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
    );

    let by_topic = e
        .ok("ListSubscriptionsByTopic", json!({"TopicArn": t}))
        .await;
    assert_eq!(by_topic["Subscriptions"].as_array().unwrap().len(), 2);
    let all = e.ok("ListSubscriptions", json!({})).await;
    assert_eq!(all["Subscriptions"].as_array().unwrap().len(), 2);
    let topic_attrs = e.ok("GetTopicAttributes", json!({"TopicArn": t})).await;
    assert_eq!(
        topic_attrs["Attributes"]["SubscriptionsConfirmed"],
        json!("2")
    );

    e.ok("Unsubscribe", json!({"SubscriptionArn": s2})).await;
    e.ok("Unsubscribe", json!({"SubscriptionArn": s2})).await;
    let err = e.err("Unsubscribe", json!({"SubscriptionArn": t})).await;
    assert_eq!(err.message, "Invalid parameter: SubscriptionId");
    let err = e
        .err("GetSubscriptionAttributes", json!({"SubscriptionArn": s2}))
        .await;
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        ("NotFound", "Subscription does not exist")
    );
    // deleting the topic deletes its subscriptions
    e.ok("DeleteTopic", json!({"TopicArn": t})).await;
    let all = e.ok("ListSubscriptions", json!({})).await;
    assert_eq!(all["Subscriptions"], json!([]));
}

#[tokio::test]
async fn publish_to_sqs_envelope_and_raw() {
    let e = env().await;
    e.sns.set_endpoint("http://127.0.0.1:9999");
    let t = e.topic("t").await;
    let s = e.sub_sqs(&t, "q", json!({})).await;
    e.sub_sqs(&t, "raw", json!({"RawMessageDelivery": "True"}))
        .await;
    let r = e
        .ok(
            "Publish",
            json!({"TopicArn": t, "Message": "hello", "Subject": "greeting",
                   "MessageAttributes": {
                       "color": {"DataType": "String", "StringValue": "red"},
                       "n": {"DataType": "Number", "StringValue": "42"},
                       "b": {"DataType": "Binary", "BinaryValue": "AAEC"}}}),
        )
        .await;
    let id = r["MessageId"].as_str().unwrap().to_string();
    e.settle().await;
    let sent = e.sqs.sent();
    assert_eq!(sent.len(), 2);
    let (scope, wrapped) = sent
        .iter()
        .find(|(_, v)| v["QueueUrl"].as_str().unwrap().ends_with("/q"))
        .unwrap();
    assert_eq!(scope, &Scope::new("123456789012", "us-east-1"));
    assert_eq!(
        wrapped["QueueUrl"],
        json!("http://127.0.0.1:9999/123456789012/q")
    );
    assert!(wrapped.get("MessageAttributes").is_none());
    let body = wrapped["MessageBody"].as_str().unwrap();
    assert!(
        body.starts_with("{\n  \"Type\" : \"Notification\",\n  \"MessageId\" : "),
        "{body}"
    );
    let env: Value = serde_json::from_str(body).unwrap();
    let keys: Vec<&str> = env
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Type",
            "MessageId",
            "TopicArn",
            "Subject",
            "Message",
            "Timestamp",
            "SignatureVersion",
            "Signature",
            "SigningCertURL",
            "UnsubscribeURL",
            "MessageAttributes"
        ]
    );
    assert_eq!(env["MessageId"], json!(id));
    assert_eq!(env["TopicArn"], json!(t));
    assert_eq!(env["Message"], json!("hello"));
    assert_eq!(env["Subject"], json!("greeting"));
    assert_eq!(env["SignatureVersion"], json!("1"));
    let ts = env["Timestamp"].as_str().unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[19] == b'.',
        "{ts}"
    );
    assert_eq!(
        env["UnsubscribeURL"],
        json!(format!(
            "http://127.0.0.1:9999/?Action=Unsubscribe&SubscriptionArn={s}"
        ))
    );
    assert_eq!(
        env["MessageAttributes"]["color"],
        json!({"Type": "String", "Value": "red"})
    );
    assert_eq!(
        env["MessageAttributes"]["n"],
        json!({"Type": "Number", "Value": "42"})
    );
    assert_eq!(
        env["MessageAttributes"]["b"],
        json!({"Type": "Binary", "Value": "AAEC"})
    );

    let (_, raw) = sent
        .iter()
        .find(|(_, v)| v["QueueUrl"].as_str().unwrap().ends_with("/raw"))
        .unwrap();
    assert_eq!(raw["MessageBody"], json!("hello"));
    assert_eq!(
        raw["MessageAttributes"]["color"],
        json!({"DataType": "String", "StringValue": "red"})
    );
    assert_eq!(
        raw["MessageAttributes"]["b"],
        json!({"DataType": "Binary", "BinaryValue": "AAEC"})
    );
}

#[tokio::test]
async fn publish_validation() {
    let e = env().await;
    let t = e.topic("t").await;
    let cases = [
        (
            json!({"TopicArn": t, "Message": ""}),
            "InvalidParameter",
            "Invalid parameter: Empty message",
        ),
        (
            json!({"TopicArn": t, "Message": "m", "Subject": ""}),
            "InvalidParameter",
            "Invalid parameter: Subject",
        ),
        (
            json!({"TopicArn": t, "Message": "m", "Subject": "a\nb"}),
            "InvalidParameter",
            "Invalid parameter: Subject",
        ),
        (
            json!({"Message": "m"}),
            "InvalidParameter",
            "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
        ),
        (
            json!({"TopicArn": t}),
            "ValidationError",
            "1 validation error detected: Value null at 'message' failed to satisfy constraint: Member must not be null",
        ),
        (
            json!({"TopicArn": t, "Message": "x".repeat(262_145)}),
            "InvalidParameter",
            "Invalid parameter: Message too long",
        ),
        (
            json!({"TopicArn": t, "Message": "m", "MessageStructure": "json"}),
            "InvalidParameter",
            "Invalid parameter: Message Structure - JSON message body failed to parse",
        ),
        (
            json!({"TopicArn": t, "Message": "{\"sqs\": \"x\"}", "MessageStructure": "json"}),
            "InvalidParameter",
            "Invalid parameter: Message Structure - No default entry in JSON message body",
        ),
        (
            json!({"TopicArn": t, "Message": "m", "MessageAttributes": {"a": {"DataType": "Number", "StringValue": "abc"}}}),
            "ParameterValueInvalid",
            "Could not cast message attribute 'a' value to number.",
        ),
        (
            json!({"TopicArn": t, "Message": "m", "MessageAttributes": {"a": {"DataType": "Float", "StringValue": "1"}}}),
            "ParameterValueInvalid",
            "The message attribute 'a' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.",
        ),
        (
            json!({"TopicArn": t, "Message": "m", "MessageAttributes": {"a": {"StringValue": "1"}}}),
            "ValidationError",
            "1 validation error detected: Value null at 'messageAttributes.a.member.dataType' failed to satisfy constraint: Member must not be null",
        ),
        (
            json!({"TopicArn": t, "Message": "m", "MessageAttributes": {".a": {"DataType": "String", "StringValue": "1"}}}),
            "ParameterValueInvalid",
            "Invalid message attribute name starting with character '.' was found.",
        ),
        (
            json!({"TopicArn": t, "Message": "m", "MessageAttributes": {"a b": {"DataType": "String", "StringValue": "1"}}}),
            "ParameterValueInvalid",
            "Invalid non-alphanumeric character '#x20' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.",
        ),
        (
            json!({"TopicArn": t, "Message": "m", "MessageAttributes": {"a": {"DataType": "String", "StringValue": ""}}}),
            "ParameterValueInvalid",
            "The message attribute 'a' must contain non-empty message attribute value for message attribute type 'String'.",
        ),
        (
            json!({"TopicArn": format!("{t}-missing"), "Message": "m"}),
            "NotFound",
            "Topic does not exist",
        ),
        (
            json!({"PhoneNumber": "+15555550100", "Message": "m"}),
            "InvalidParameter",
            "Invalid parameter: PhoneNumber Reason: SMS delivery is not supported by Baton",
        ),
    ];
    for (input, code, message) in cases {
        let err = e.err("Publish", input.clone()).await;
        assert_eq!(
            (err.code.as_str(), err.message.as_str()),
            (code, message),
            "{input}"
        );
    }
    // TargetArn works as TopicArn; a non-string Message (Step Functions) is sent as JSON
    let r = e
        .ok("Publish", json!({"TargetArn": t, "Message": {"a": 1}}))
        .await;
    assert!(r["MessageId"].is_string());
}

#[tokio::test]
async fn message_structure_json_per_protocol() {
    let e = env().await;
    let t = e.topic("t").await;
    e.sub_sqs(&t, "q", json!({"RawMessageDelivery": "true"}))
        .await;
    e.ok(
        "Subscribe",
        json!({"TopicArn": t, "Protocol": "lambda",
               "Endpoint": "arn:aws:lambda:us-east-1:123456789012:function:f"}),
    )
    .await;
    e.ok(
        "Publish",
        json!({"TopicArn": t, "MessageStructure": "json",
               "Message": "{\"default\": \"d\", \"sqs\": \"for sqs\", \"email\": 5}"}),
    )
    .await;
    e.settle().await;
    assert_eq!(e.sqs.bodies(), ["for sqs"]);
    let calls = e.lambda.calls.lock().unwrap().clone();
    assert_eq!(calls[0].1["Records"][0]["Sns"]["Message"], json!("d"));
}

#[tokio::test]
async fn lambda_event_shape() {
    let e = env().await;
    let t = e.topic("t").await;
    let f = "arn:aws:lambda:us-east-1:123456789012:function:f";
    let s = e
        .ok(
            "Subscribe",
            json!({"TopicArn": t, "Protocol": "lambda", "Endpoint": f}),
        )
        .await["SubscriptionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let err = e
        .err(
            "SetSubscriptionAttributes",
            json!({"SubscriptionArn": s, "AttributeName": "RawMessageDelivery", "AttributeValue": "true"}),
        )
        .await;
    assert_eq!(err.code, "InvalidParameter");
    let r = e
        .ok(
            "Publish",
            json!({"TopicArn": t, "Message": "hi",
                   "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}}),
        )
        .await;
    e.settle().await;
    let calls = e.lambda.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    let (function, event, kind) = &calls[0];
    assert_eq!(function, f);
    assert_eq!(*kind, InvocationType::Event);
    let rec = &event["Records"][0];
    assert_eq!(rec["EventSource"], json!("aws:sns"));
    assert_eq!(rec["EventVersion"], json!("1.0"));
    assert_eq!(rec["EventSubscriptionArn"], json!(s));
    let sns = &rec["Sns"];
    let keys: Vec<&str> = sns
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "Type",
            "MessageId",
            "TopicArn",
            "Subject",
            "Message",
            "Timestamp",
            "SignatureVersion",
            "Signature",
            "SigningCertUrl",
            "UnsubscribeUrl",
            "MessageAttributes"
        ]
    );
    assert_eq!(sns["Subject"], Value::Null);
    assert_eq!(sns["MessageId"], r["MessageId"]);
    assert_eq!(
        sns["MessageAttributes"]["k"],
        json!({"Type": "String", "Value": "v"})
    );
}

#[tokio::test]
async fn filter_policies_select_subscribers() {
    let e = env().await;
    let t = e.topic("t").await;
    e.sub_sqs(
        &t,
        "red",
        json!({"FilterPolicy": "{\"color\": [\"red\"], \"size\": [{\"numeric\": [\">\", 10]}]}"}),
    )
    .await;
    e.sub_sqs(
        &t,
        "body",
        json!({"FilterPolicyScope": "MessageBody",
               "FilterPolicy": "{\"order\": {\"kind\": [{\"prefix\": \"pri\"}]}}"}),
    )
    .await;
    e.sub_sqs(&t, "all", json!({})).await;
    let attr = |c: &str, n: &str| {
        json!({"color": {"DataType": "String", "StringValue": c},
               "size": {"DataType": "Number", "StringValue": n}})
    };
    e.ok(
        "Publish",
        json!({"TopicArn": t, "Message": "1", "MessageAttributes": attr("red", "11")}),
    )
    .await;
    e.ok(
        "Publish",
        json!({"TopicArn": t, "Message": "2", "MessageAttributes": attr("red", "9")}),
    )
    .await;
    e.ok(
        "Publish",
        json!({"TopicArn": t, "Message": "3", "MessageAttributes": attr("blue", "99")}),
    )
    .await;
    e.ok(
        "Publish",
        json!({"TopicArn": t, "Message": "{\"order\": {\"kind\": \"priority\"}}"}),
    )
    .await;
    e.ok(
        "Publish",
        json!({"TopicArn": t, "Message": "{\"order\": {\"kind\": \"bulk\"}}"}),
    )
    .await;
    e.settle().await;
    let to = |q: &str| -> Vec<String> {
        e.sqs
            .sent()
            .iter()
            .filter(|(_, v)| v["QueueUrl"].as_str().unwrap().ends_with(&format!("/{q}")))
            .map(|(_, v)| {
                let env: Value = serde_json::from_str(v["MessageBody"].as_str().unwrap()).unwrap();
                env["Message"].as_str().unwrap().to_string()
            })
            .collect()
    };
    assert_eq!(to("red"), ["1"]);
    assert_eq!(to("body"), ["{\"order\": {\"kind\": \"priority\"}}"]);
    assert_eq!(to("all").len(), 5);
}

#[tokio::test]
async fn retries_then_delivers() {
    let e = env().await;
    let t = e.topic("t").await;
    e.sub_sqs(&t, "q", json!({})).await;
    {
        let mut f = e.sqs.failures.lock().unwrap();
        f.push_back(ServiceError::internal("boom"));
        f.push_back(ServiceError::client("ThrottlingException", "slow down").with_status(429));
    }
    e.ok("Publish", json!({"TopicArn": t, "Message": "m"}))
        .await;
    e.settle().await;
    assert_eq!(e.sqs.sent().len(), 1);
}

#[tokio::test]
async fn client_errors_go_to_the_dead_letter_queue() {
    let e = env().await;
    let t = e.topic("t").await;
    let dlq = "arn:aws:sqs:us-east-1:123456789012:dlq";
    e.sub_sqs(
        &t,
        "gone",
        json!({"RedrivePolicy": format!("{{\"deadLetterTargetArn\": \"{dlq}\"}}")}),
    )
    .await;
    e.sqs
        .failures
        .lock()
        .unwrap()
        .push_back(ServiceError::client(
            "QueueDoesNotExist",
            "The specified queue does not exist.",
        ));
    e.ok("Publish", json!({"TopicArn": t, "Message": "m"}))
        .await;
    e.settle().await;
    let sent = e.sqs.sent();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].1["QueueUrl"].as_str().unwrap().ends_with("/dlq"));
    assert_eq!(
        sent[0].1["MessageAttributes"]["ErrorCode"]["StringValue"],
        json!("QueueDoesNotExist")
    );
    let env: Value = serde_json::from_str(sent[0].1["MessageBody"].as_str().unwrap()).unwrap();
    assert_eq!(env["Message"], json!("m"));
    let err = e
        .err(
            "Subscribe",
            json!({"TopicArn": t, "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:123456789012:x",
                   "Attributes": {"RedrivePolicy": "{\"deadLetterTargetArn\": \"nope\"}"}}),
        )
        .await;
    assert_eq!(
        err.message,
        "Invalid parameter: Attributes Reason: RedrivePolicy: deadLetterTargetArn is an invalid arn"
    );
}

#[tokio::test]
async fn pending_deliveries_survive_a_restart() {
    let e = env().await;
    let t = e.topic("t").await;
    e.sub_sqs(&t, "q", json!({})).await;
    *e.sqs.always_fail.lock().unwrap() = Some(ServiceError::internal("down"));
    e.ok("Publish", json!({"TopicArn": t, "Message": "durable"}))
        .await;
    assert_eq!(e.pending_rows(), 1, "written before Publish answered");
    // let the immediate retries fail, then stop
    wait_for(|| {
        let rows = e.store.list_resources(KIND_DELIVERY, "", None, 10).unwrap();
        rows.first()
            .is_some_and(|r| r.value.contains("\"attempts\":4"))
    })
    .await;
    e.sns.shutdown().await;
    assert_eq!(e.pending_rows(), 1);

    let sqs2 = Arc::new(FakeSqs::default());
    let _sns2 = Sns::start(e.store.clone(), sqs2.clone(), e.lambda.clone()).unwrap();
    wait_for(|| sqs2.sent().len() == 1).await;
    let env: Value = serde_json::from_str(sqs2.bodies()[0].as_str()).unwrap();
    assert_eq!(env["Message"], json!("durable"));
    e.settle().await;
}

#[tokio::test]
async fn publish_batch() {
    let e = env().await;
    let t = e.topic("t").await;
    e.sub_sqs(&t, "q", json!({})).await;
    let r = e
        .ok(
            "PublishBatch",
            json!({"TopicArn": t, "PublishBatchRequestEntries": [
                {"Id": "a", "Message": "one"},
                {"Id": "b", "Message": "two", "Subject": "s"}]}),
        )
        .await;
    assert_eq!(r["Successful"].as_array().unwrap().len(), 2);
    assert_eq!(r["Successful"][0]["Id"], json!("a"));
    assert_eq!(r["Failed"], json!([]));
    e.settle().await;
    assert_eq!(e.sqs.sent().len(), 2);
    let err = e
        .err(
            "PublishBatch",
            json!({"TopicArn": t, "PublishBatchRequestEntries": [
                {"Id": "a", "Message": "one"}, {"Id": "a", "Message": "two"}]}),
        )
        .await;
    assert_eq!(err.code, "BatchEntryIdsNotDistinct");
    let err = e
        .err(
            "PublishBatch",
            json!({"TopicArn": t, "PublishBatchRequestEntries": []}),
        )
        .await;
    assert_eq!(err.code, "EmptyBatchRequest");
    let many: Vec<Value> = (0..11)
        .map(|i| json!({"Id": format!("i{i}"), "Message": "m"}))
        .collect();
    let err = e
        .err(
            "PublishBatch",
            json!({"TopicArn": t, "PublishBatchRequestEntries": many}),
        )
        .await;
    assert_eq!(err.code, "TooManyEntriesInBatchRequest");
    let err = e
        .err(
            "PublishBatch",
            json!({"TopicArn": t, "PublishBatchRequestEntries": [{"Id": "a.b", "Message": "m"}]}),
        )
        .await;
    assert_eq!(err.code, "InvalidBatchEntryId");
}

#[tokio::test]
async fn tags() {
    let e = env().await;
    let t = e
        .ok(
            "CreateTopic",
            json!({"Name": "t", "Tags": [{"Key": "a", "Value": "1"}]}),
        )
        .await["TopicArn"]
        .as_str()
        .unwrap()
        .to_string();
    let err = e
        .err(
            "CreateTopic",
            json!({"Name": "t", "Tags": [{"Key": "a", "Value": "2"}]}),
        )
        .await;
    assert_eq!(
        err.message,
        "Invalid parameter: Tags Reason: Topic already exists with different tags"
    );
    e.ok(
        "TagResource",
        json!({"ResourceArn": t, "Tags": [{"Key": "b", "Value": "2"}]}),
    )
    .await;
    e.ok("UntagResource", json!({"ResourceArn": t, "TagKeys": ["a"]}))
        .await;
    let tags = e.ok("ListTagsForResource", json!({"ResourceArn": t})).await;
    assert_eq!(tags["Tags"], json!([{"Key": "b", "Value": "2"}]));
    let err = e
        .err(
            "ListTagsForResource",
            json!({"ResourceArn": format!("{t}x")}),
        )
        .await;
    assert_eq!((err.code.as_str(), err.status), ("ResourceNotFound", 404));
}

/// Reads HTTP/1.1 requests from `sock`, answers each with `status` and
/// hands over (headers, body).
async fn answer_requests<S>(
    mut sock: S,
    status: u16,
    tx: tokio::sync::mpsc::UnboundedSender<(String, String)>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let head = text[..end].to_string();
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                let _ = tx.send((head, body));
                let resp = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.flush().await;
                buf.clear();
            }
        }
    }
}

/// A one-shot HTTP server: answers each request with `status` and hands
/// over (headers, body).
async fn http_sink(
    status: u16,
) -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(answer_requests(sock, status, tx.clone()));
        }
    });
    (format!("http://{addr}/hook"), rx)
}

#[tokio::test]
async fn http_subscriptions_confirm_then_deliver() {
    let e = env().await;
    let t = e.topic("t").await;
    let (url, mut rx) = http_sink(200).await;
    let r = e
        .ok(
            "Subscribe",
            json!({"TopicArn": t, "Protocol": "http", "Endpoint": url}),
        )
        .await;
    assert_eq!(r["SubscriptionArn"], json!("pending confirmation"));
    let (head, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("post /hook http/1.1"), "{head}");
    assert!(
        head.contains("x-amz-sns-message-type: subscriptionconfirmation"),
        "{head}"
    );
    assert!(
        head.contains("content-type: text/plain; charset=utf-8"),
        "{head}"
    );
    let conf: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(conf["Type"], json!("SubscriptionConfirmation"));
    let token = conf["Token"].as_str().unwrap().to_string();
    assert!(conf["SubscribeURL"].as_str().unwrap().contains(&token));
    let attrs = e.ok("GetTopicAttributes", json!({"TopicArn": t})).await;
    assert_eq!(attrs["Attributes"]["SubscriptionsPending"], json!("1"));
    let subs = e
        .ok("ListSubscriptionsByTopic", json!({"TopicArn": t}))
        .await;
    assert_eq!(
        subs["Subscriptions"][0]["SubscriptionArn"],
        json!("PendingConfirmation")
    );

    // nothing is delivered while pending
    e.ok("Publish", json!({"TopicArn": t, "Message": "early"}))
        .await;
    let err = e
        .err(
            "ConfirmSubscription",
            json!({"TopicArn": t, "Token": "wrong"}),
        )
        .await;
    assert_eq!(err.message, "Invalid parameter: Token");
    let c = e
        .ok(
            "ConfirmSubscription",
            json!({"TopicArn": t, "Token": token}),
        )
        .await;
    let sub_arn = c["SubscriptionArn"].as_str().unwrap().to_string();
    assert!(sub_arn.starts_with(&t));
    e.ok(
        "Publish",
        json!({"TopicArn": t, "Message": "late", "Subject": "s"}),
    )
    .await;
    let (head, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("x-amz-sns-message-type: notification"),
        "{head}"
    );
    assert!(head.contains(&format!(
        "x-amz-sns-subscription-arn: {}",
        sub_arn.to_ascii_lowercase()
    )));
    assert!(head.contains(&format!("x-amz-sns-topic-arn: {}", t.to_ascii_lowercase())));
    let n: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(n["Message"], json!("late"));
    assert_eq!(n["Subject"], json!("s"));
    e.settle().await;
}

#[tokio::test]
async fn http_client_errors_are_not_retried() {
    let e = env().await;
    let t = e.topic("t").await;
    let (url, mut rx) = http_sink(404).await;
    e.ok(
        "Subscribe",
        json!({"TopicArn": t, "Protocol": "http", "Endpoint": url, "ReturnSubscriptionArn": true}),
    )
    .await;
    let _confirmation = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap();
    e.settle().await;
    assert!(rx.try_recv().is_err(), "a 404 is final");
}

/// A test CA (its PEM) and a server certificate for 127.0.0.1 and
/// localhost that it signed (certificate and key, DER).
fn test_ca_and_server_cert() -> (
    String,
    rustls::pki_types::CertificateDer<'static>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Baton test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    (ca.pem(), cert.der().clone(), key_der)
}

/// An HTTPS server with `cert`: answers each request with 200 and hands
/// over (headers, body); counts the TLS handshakes that failed.
async fn https_sink(
    cert: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
    Arc<std::sync::atomic::AtomicUsize>,
) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let failed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let failures = failed.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, tx, failures) = (acceptor.clone(), tx.clone(), failures.clone());
            tokio::spawn(async move {
                match acceptor.accept(sock).await {
                    Ok(tls) => answer_requests(tls, 200, tx).await,
                    Err(_) => {
                        failures.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            });
        }
    });
    (format!("https://{addr}/hook"), rx, failed)
}

#[tokio::test]
async fn https_subscriptions_confirm_then_deliver() {
    let e = env().await;
    let (ca_pem, cert, key) = test_ca_and_server_cert();
    let ca_file = e.dir.join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    e.sns.set_extra_ca_file(&ca_file).unwrap();
    let t = e.topic("t").await;
    let (url, mut rx, failed) = https_sink(cert, key).await;
    let r = e
        .ok(
            "Subscribe",
            json!({"TopicArn": t, "Protocol": "https", "Endpoint": url}),
        )
        .await;
    assert_eq!(r["SubscriptionArn"], json!("pending confirmation"));
    let (head, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("post /hook http/1.1"), "{head}");
    assert!(
        head.contains("x-amz-sns-message-type: subscriptionconfirmation"),
        "{head}"
    );
    assert!(
        head.contains("user-agent: amazon simple notification service agent"),
        "{head}"
    );
    let conf: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(conf["Type"], json!("SubscriptionConfirmation"));
    assert!(head.contains(&format!(
        "x-amz-sns-message-id: {}",
        conf["MessageId"].as_str().unwrap()
    )));
    let token = conf["Token"].as_str().unwrap().to_string();
    let c = e
        .ok(
            "ConfirmSubscription",
            json!({"TopicArn": t, "Token": token}),
        )
        .await;
    let sub_arn = c["SubscriptionArn"].as_str().unwrap().to_string();
    e.ok(
        "Publish",
        json!({"TopicArn": t, "Message": "over tls", "Subject": "s",
               "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}}),
    )
    .await;
    let (head, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("x-amz-sns-message-type: notification"),
        "{head}"
    );
    assert!(
        head.contains(&format!(
            "x-amz-sns-subscription-arn: {}",
            sub_arn.to_ascii_lowercase()
        )),
        "{head}"
    );
    assert!(head.contains(&format!("x-amz-sns-topic-arn: {}", t.to_ascii_lowercase())));
    assert!(
        head.contains("content-type: text/plain; charset=utf-8"),
        "{head}"
    );
    let n: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(n["Type"], json!("Notification"));
    assert_eq!(n["Message"], json!("over tls"));
    assert_eq!(n["Subject"], json!("s"));
    assert_eq!(
        n["MessageAttributes"]["k"],
        json!({"Type": "String", "Value": "v"})
    );
    assert!(head.contains(&format!(
        "x-amz-sns-message-id: {}",
        n["MessageId"].as_str().unwrap()
    )));
    e.settle().await;
    assert_eq!(failed.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn https_untrusted_certificates_are_retried_delivery_failures() {
    let e = env().await;
    // Baton trusts one CA; the endpoint's certificate comes from another
    let (trusted_pem, _, _) = test_ca_and_server_cert();
    let (_, cert, key) = test_ca_and_server_cert();
    let ca_file = e.dir.join("ca.pem");
    std::fs::write(&ca_file, trusted_pem).unwrap();
    e.sns.set_extra_ca_file(&ca_file).unwrap();
    let t = e.topic("t").await;
    let (url, mut rx, failed) = https_sink(cert, key).await;
    let policy =
        json!({"healthyRetryPolicy": {"numRetries": 2, "minDelayTarget": 1, "maxDelayTarget": 1}});
    let r = e
        .ok(
            "Subscribe",
            json!({"TopicArn": t, "Protocol": "https", "Endpoint": url,
                   "ReturnSubscriptionArn": true,
                   "Attributes": {"DeliveryPolicy": policy.to_string()}}),
        )
        .await;
    let sub_arn = r["SubscriptionArn"].as_str().unwrap().to_string();
    // the first attempt and both retries reach the server and fail the
    // handshake; the row records its attempts, then is dropped
    wait_for(|| failed.load(std::sync::atomic::Ordering::SeqCst) >= 1).await;
    wait_for(|| {
        e.store
            .list_resources(KIND_DELIVERY, "", None, 10)
            .unwrap()
            .first()
            .is_some_and(|r| r.value.contains("\"attempts\":1"))
    })
    .await;
    for _ in 0..3 {
        if e.pending_rows() == 0 {
            break;
        }
        e.settle().await;
    }
    assert_eq!(e.pending_rows(), 0);
    assert_eq!(failed.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(rx.try_recv().is_err(), "nothing crossed an untrusted TLS");
    // the service goes on; the subscription is still pending
    let a = e
        .ok(
            "GetSubscriptionAttributes",
            json!({"SubscriptionArn": sub_arn}),
        )
        .await;
    assert_eq!(a["Attributes"]["PendingConfirmation"], json!("true"));
    // the failure names the reason (what the delivery log shows)
    let client = super::http::client_with(&[]).unwrap();
    match super::http::post(&client, &url, &[], String::new()).await {
        Err(super::http::PostError::Failed(m)) => {
            assert!(m.contains("invalid peer certificate"), "{m}")
        }
        other => panic!("{other:?}"),
    }

    // a bundle that is not PEM is refused with an AWS-shaped error
    let bad = e.dir.join("bad.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let err = e.sns.set_extra_ca_file(&bad).unwrap_err();
    assert_eq!(err.code, "InvalidParameter");
}
