//! The queue service through [`AwsService::call`], on a real SQLite store.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton_storage::Store;
use baton_storage::sqlite::{SqliteOptions, SqliteStore, Synchronous};
use serde_json::{Value, json};

use super::Sqs;
use crate::{AwsService, Scope, ServiceError};

struct Db {
    path: PathBuf,
}

impl Db {
    fn new(tag: &str) -> Db {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Db {
            path: std::env::temp_dir()
                .join(format!("baton-sqs-{tag}-{}-{nanos}.db", std::process::id())),
        }
    }

    fn open(&self) -> Arc<dyn Store> {
        let opts = SqliteOptions {
            synchronous: Synchronous::Off,
            ..Default::default()
        };
        Arc::new(SqliteStore::open_with(&self.path, opts).expect("open store"))
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
}

fn scope() -> Scope {
    Scope::new("000000000000", "us-east-1")
}

async fn call(sqs: &Sqs, action: &str, input: Value) -> Value {
    match sqs.call(&scope(), action, input.clone()).await {
        Ok(v) => v,
        Err(e) => panic!("{action} {input}: {e}"),
    }
}

async fn fail(sqs: &Sqs, action: &str, input: Value) -> ServiceError {
    match sqs.call(&scope(), action, input.clone()).await {
        Ok(v) => panic!("{action} {input} succeeded: {v}"),
        Err(e) => e,
    }
}

async fn create(sqs: &Sqs, name: &str, attributes: Value) -> String {
    let v = call(
        sqs,
        "CreateQueue",
        json!({"QueueName": name, "Attributes": attributes}),
    )
    .await;
    v["QueueUrl"].as_str().expect("url").to_string()
}

async fn receive(sqs: &Sqs, url: &str, extra: Value) -> Vec<Value> {
    let mut input = json!({"QueueUrl": url, "MaxNumberOfMessages": 10});
    if let (Some(o), Value::Object(e)) = (input.as_object_mut(), extra) {
        o.extend(e);
    }
    let v = call(sqs, "ReceiveMessage", input).await;
    v.get("Messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn bodies(msgs: &[Value]) -> Vec<String> {
    msgs.iter()
        .map(|m| m["Body"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn attr(sqs: &Sqs, url: &str, name: &str) -> String {
    let v = call(
        sqs,
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": [name]}),
    )
    .await;
    v["Attributes"][name].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn create_get_list_delete() {
    let db = Db::new("create");
    let sqs = Sqs::start(db.open()).expect("start");
    sqs.set_endpoint("http://localhost:9999/");
    let url = create(&sqs, "orders", json!({"VisibilityTimeout": "45"})).await;
    assert_eq!(url, "http://localhost:9999/000000000000/orders");
    // Idempotent with the same attributes, an error with others.
    assert_eq!(
        create(&sqs, "orders", json!({"VisibilityTimeout": "45"})).await,
        url
    );
    let e = fail(
        &sqs,
        "CreateQueue",
        json!({"QueueName": "orders", "Attributes": {"VisibilityTimeout": "50"}}),
    )
    .await;
    assert_eq!(
        (e.code.as_str(), e.query_code.as_deref()),
        ("QueueNameExists", Some("QueueAlreadyExists"))
    );
    // Names.
    for bad in ["", "a b", &"x".repeat(81), "q.fifo"] {
        let e = fail(&sqs, "CreateQueue", json!({"QueueName": bad})).await;
        assert_eq!(e.code, "InvalidParameterValue", "{bad:?}");
    }
    let e = fail(
        &sqs,
        "CreateQueue",
        json!({"QueueName": "nofifo", "Attributes": {"FifoQueue": "true"}}),
    )
    .await;
    assert_eq!(e.code, "InvalidParameterValue");
    let e = fail(
        &sqs,
        "CreateQueue",
        json!({"QueueName": "x", "Attributes": {"Bogus": "1"}}),
    )
    .await;
    assert_eq!(e.code, "InvalidAttributeName");
    let e = fail(
        &sqs,
        "CreateQueue",
        json!({"QueueName": "x", "Attributes": {"DelaySeconds": "901"}}),
    )
    .await;
    assert_eq!(e.code, "InvalidAttributeValue");
    // GetQueueUrl and the URL forms that resolve.
    let v = call(&sqs, "GetQueueUrl", json!({"QueueName": "orders"})).await;
    assert_eq!(v["QueueUrl"], url.as_str());
    for form in [
        "https://sqs.us-east-1.amazonaws.com/000000000000/orders",
        "https://queue.amazonaws.com/000000000000/orders",
        "http://localhost:4566/000000000000/orders",
        "/000000000000/orders",
    ] {
        assert_eq!(attr(&sqs, form, "VisibilityTimeout").await, "45", "{form}");
    }
    let e = fail(&sqs, "GetQueueUrl", json!({"QueueName": "nope"})).await;
    assert_eq!(
        (e.code.as_str(), e.query_code.as_deref(), e.status),
        (
            "QueueDoesNotExist",
            Some("AWS.SimpleQueueService.NonExistentQueue"),
            400
        )
    );
    // ListQueues with a prefix and pages.
    for n in ["a1", "a2", "a3", "b1"] {
        create(&sqs, n, json!({})).await;
    }
    let v = call(&sqs, "ListQueues", json!({"QueueNamePrefix": "a"})).await;
    assert_eq!(v["QueueUrls"].as_array().map(Vec::len), Some(3));
    assert!(v.get("NextToken").is_none());
    let p1 = call(
        &sqs,
        "ListQueues",
        json!({"QueueNamePrefix": "a", "MaxResults": 2}),
    )
    .await;
    assert_eq!(p1["QueueUrls"].as_array().map(Vec::len), Some(2));
    let p2 = call(
        &sqs,
        "ListQueues",
        json!({"QueueNamePrefix": "a", "MaxResults": 2, "NextToken": p1["NextToken"]}),
    )
    .await;
    assert_eq!(
        p2["QueueUrls"],
        json!(["http://localhost:9999/000000000000/a3"])
    );
    assert!(p2.get("NextToken").is_none());
    // Other regions see nothing.
    let other = sqs
        .call(
            &Scope::new("000000000000", "eu-west-1"),
            "ListQueues",
            json!({}),
        )
        .await
        .expect("list");
    assert_eq!(other, json!({}));
    // Tags.
    call(
        &sqs,
        "TagQueue",
        json!({"QueueUrl": url, "Tags": {"team": "a", "env": "dev"}}),
    )
    .await;
    call(
        &sqs,
        "UntagQueue",
        json!({"QueueUrl": url, "TagKeys": ["env"]}),
    )
    .await;
    let v = call(&sqs, "ListQueueTags", json!({"QueueUrl": url})).await;
    assert_eq!(v, json!({"Tags": {"team": "a"}}));
    // Delete.
    call(&sqs, "DeleteQueue", json!({"QueueUrl": url})).await;
    let e = fail(&sqs, "GetQueueAttributes", json!({"QueueUrl": url})).await;
    assert_eq!(e.code, "QueueDoesNotExist");
    let e = fail(&sqs, "Frobnicate", json!({})).await;
    assert_eq!(e.code, "InvalidAction");
    sqs.shutdown().await;
}

#[tokio::test]
async fn send_receive_delete() {
    let db = Db::new("cycle");
    let sqs = Sqs::start(db.open()).expect("start");
    let url = create(&sqs, "q", json!({})).await;
    let v = call(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "{\"Token\":\"t-1\"}",
               "MessageAttributes": {
                   "color": {"DataType": "String", "StringValue": "red"},
                   "size.n": {"DataType": "Number", "StringValue": "3"},
                   "blob": {"DataType": "Binary", "BinaryValue": "AAEC"}}}),
    )
    .await;
    assert_eq!(v["MD5OfMessageBody"], "6a507424e588bb037191451f0444ea75");
    let md5_attrs = v["MD5OfMessageAttributes"]
        .as_str()
        .expect("md5")
        .to_string();
    assert_eq!(md5_attrs.len(), 32);
    assert!(v.get("SequenceNumber").is_none());
    let msgs = receive(
        &sqs,
        &url,
        json!({"AttributeNames": ["All"], "MessageAttributeNames": ["All"]}),
    )
    .await;
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m["MessageId"], v["MessageId"]);
    assert_eq!(m["MD5OfBody"], "6a507424e588bb037191451f0444ea75");
    assert_eq!(m["MD5OfMessageAttributes"], md5_attrs.as_str());
    assert_eq!(m["Attributes"]["ApproximateReceiveCount"], "1");
    assert_eq!(m["Attributes"]["SenderId"], "000000000000");
    assert_eq!(
        m["MessageAttributes"]["blob"],
        json!({"BinaryValue": "AAEC", "DataType": "Binary"})
    );
    // In flight: nothing more to receive; counts show it.
    assert!(receive(&sqs, &url, json!({})).await.is_empty());
    assert_eq!(
        attr(&sqs, &url, "ApproximateNumberOfMessagesNotVisible").await,
        "1"
    );
    assert_eq!(attr(&sqs, &url, "ApproximateNumberOfMessages").await, "0");
    // Visible again at once; the new receive has a new handle.
    let h1 = m["ReceiptHandle"].as_str().expect("handle").to_string();
    call(
        &sqs,
        "ChangeMessageVisibility",
        json!({"QueueUrl": url, "ReceiptHandle": h1, "VisibilityTimeout": 0}),
    )
    .await;
    let msgs = receive(
        &sqs,
        &url,
        json!({"MessageSystemAttributeNames": ["ApproximateReceiveCount"],
               "MessageAttributeNames": ["size.*"]}),
    )
    .await;
    assert_eq!(msgs.len(), 1);
    let h2 = msgs[0]["ReceiptHandle"]
        .as_str()
        .expect("handle")
        .to_string();
    assert_ne!(h1, h2);
    assert_eq!(
        msgs[0]["Attributes"],
        json!({"ApproximateReceiveCount": "2"})
    );
    assert_eq!(
        msgs[0]["MessageAttributes"],
        json!({"size.n": {"StringValue": "3", "DataType": "Number"}})
    );
    assert_ne!(msgs[0]["MD5OfMessageAttributes"], md5_attrs.as_str());
    // Changing the visibility of a message not in flight.
    call(
        &sqs,
        "ChangeMessageVisibility",
        json!({"QueueUrl": url, "ReceiptHandle": h2, "VisibilityTimeout": 0}),
    )
    .await;
    let e = fail(
        &sqs,
        "ChangeMessageVisibility",
        json!({"QueueUrl": url, "ReceiptHandle": h2, "VisibilityTimeout": 10}),
    )
    .await;
    assert_eq!(e.code, "MessageNotInflight");
    // An old handle still deletes on a standard queue; deleting twice is fine.
    call(
        &sqs,
        "DeleteMessage",
        json!({"QueueUrl": url, "ReceiptHandle": h1}),
    )
    .await;
    call(
        &sqs,
        "DeleteMessage",
        json!({"QueueUrl": url, "ReceiptHandle": h2}),
    )
    .await;
    assert!(receive(&sqs, &url, json!({})).await.is_empty());
    let e = fail(
        &sqs,
        "DeleteMessage",
        json!({"QueueUrl": url, "ReceiptHandle": "garbage"}),
    )
    .await;
    assert_eq!((e.code.as_str(), e.status), ("ReceiptHandleIsInvalid", 404));
    // Input errors.
    let e = fail(&sqs, "SendMessage", json!({"QueueUrl": url})).await;
    assert_eq!(e.code, "MissingParameter");
    let e = fail(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "a\u{1}b"}),
    )
    .await;
    assert_eq!(e.code, "InvalidMessageContents");
    let e = fail(
        &sqs,
        "ReceiveMessage",
        json!({"QueueUrl": url, "MaxNumberOfMessages": 11}),
    )
    .await;
    assert_eq!(e.code, "InvalidParameterValue");
    let e = fail(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "x",
               "MessageAttributes": {"AWS.x": {"DataType": "String", "StringValue": "v"}}}),
    )
    .await;
    assert_eq!(e.code, "InvalidParameterValue");
    let e = fail(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "x".repeat(262_145)}),
    )
    .await;
    assert_eq!(e.code, "InvalidParameterValue");
    sqs.shutdown().await;
}

#[tokio::test]
async fn batches() {
    let db = Db::new("batch");
    let sqs = Sqs::start(db.open()).expect("start");
    let url = create(&sqs, "q", json!({})).await;
    let e = fail(
        &sqs,
        "SendMessageBatch",
        json!({"QueueUrl": url, "Entries": []}),
    )
    .await;
    assert_eq!(
        (e.code.as_str(), e.query_code.as_deref()),
        (
            "EmptyBatchRequest",
            Some("AWS.SimpleQueueService.EmptyBatchRequest")
        )
    );
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"Id": format!("e{i}"), "MessageBody": "x"}))
        .collect();
    let e = fail(
        &sqs,
        "SendMessageBatch",
        json!({"QueueUrl": url, "Entries": eleven}),
    )
    .await;
    assert_eq!(e.code, "TooManyEntriesInBatchRequest");
    let e = fail(
        &sqs,
        "SendMessageBatch",
        json!({"QueueUrl": url, "Entries": [{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}]}),
    )
    .await;
    assert_eq!(e.code, "BatchEntryIdsNotDistinct");
    let e = fail(
        &sqs,
        "SendMessageBatch",
        json!({"QueueUrl": url, "Entries": [{"Id": "a b", "MessageBody": "x"}]}),
    )
    .await;
    assert_eq!(e.code, "InvalidBatchEntryId");
    let v = call(
        &sqs,
        "SendMessageBatch",
        json!({"QueueUrl": url, "Entries": [
            {"Id": "ok1", "MessageBody": "one"},
            {"Id": "bad", "MessageBody": "x", "DelaySeconds": 1000},
            {"Id": "ok2", "MessageBody": "two"}]}),
    )
    .await;
    assert_eq!(v["Successful"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["Failed"][0]["Id"], "bad");
    assert_eq!(v["Failed"][0]["Code"], "InvalidParameterValue");
    assert_eq!(v["Failed"][0]["SenderFault"], true);
    let msgs = receive(&sqs, &url, json!({})).await;
    let mut got = bodies(&msgs);
    got.sort();
    assert_eq!(got, vec!["one", "two"]);
    let mut entries: Vec<Value> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"Id": format!("d{i}"), "ReceiptHandle": m["ReceiptHandle"]}))
        .collect();
    entries.push(json!({"Id": "junk", "ReceiptHandle": "nope"}));
    let v = call(
        &sqs,
        "DeleteMessageBatch",
        json!({"QueueUrl": url, "Entries": entries}),
    )
    .await;
    assert_eq!(v["Successful"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["Failed"][0]["Code"], "ReceiptHandleIsInvalid");
    assert_eq!(
        attr(&sqs, &url, "ApproximateNumberOfMessagesNotVisible").await,
        "0"
    );
    sqs.shutdown().await;
}

#[tokio::test]
async fn long_poll_is_woken_by_a_send() {
    let db = Db::new("poll");
    let sqs = Sqs::start(db.open()).expect("start");
    let url = create(&sqs, "q", json!({})).await;
    let started = Instant::now();
    let poller = {
        let sqs = sqs.clone();
        let url = url.clone();
        tokio::spawn(async move { receive(&sqs, &url, json!({"WaitTimeSeconds": 10})).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    call(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "hi"}),
    )
    .await;
    let msgs = poller.await.expect("poller");
    assert_eq!(bodies(&msgs), vec!["hi"]);
    assert!(started.elapsed() < Duration::from_secs(5));
    // An empty long poll returns after its wait.
    let started = Instant::now();
    assert!(
        receive(&sqs, &url, json!({"WaitTimeSeconds": 1}))
            .await
            .is_empty()
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    sqs.shutdown().await;
}

#[tokio::test]
async fn delays_and_visibility_timeouts() {
    let db = Db::new("delay");
    let sqs = Sqs::start(db.open()).expect("start");
    let url = create(&sqs, "q", json!({"DelaySeconds": "1"})).await;
    call(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "late"}),
    )
    .await;
    call(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "now", "DelaySeconds": 0}),
    )
    .await;
    assert_eq!(
        attr(&sqs, &url, "ApproximateNumberOfMessagesDelayed").await,
        "1"
    );
    assert_eq!(bodies(&receive(&sqs, &url, json!({})).await), vec!["now"]);
    // The delayed message arrives within a long poll.
    let msgs = receive(
        &sqs,
        &url,
        json!({"WaitTimeSeconds": 3, "VisibilityTimeout": 1}),
    )
    .await;
    assert_eq!(bodies(&msgs), vec!["late"]);
    // After its 1 s visibility timeout it is received again.
    let msgs = receive(
        &sqs,
        &url,
        json!({"WaitTimeSeconds": 3, "AttributeNames": ["ApproximateReceiveCount"]}),
    )
    .await;
    assert_eq!(bodies(&msgs), vec!["late"]);
    assert_eq!(msgs[0]["Attributes"]["ApproximateReceiveCount"], "2");
    sqs.shutdown().await;
}

#[tokio::test]
async fn fifo_order_groups_and_deduplication() {
    let db = Db::new("fifo");
    let sqs = Sqs::start(db.open()).expect("start");
    let e = fail(&sqs, "CreateQueue", json!({"QueueName": "jobs.fifo"})).await;
    assert_eq!(e.code, "InvalidParameterValue");
    let url = create(&sqs, "jobs.fifo", json!({"FifoQueue": "true"})).await;
    assert_eq!(attr(&sqs, &url, "FifoQueue").await, "true");
    let e = fail(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "x", "MessageDeduplicationId": "d"}),
    )
    .await;
    assert_eq!(e.code, "MissingParameter");
    let e = fail(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "x", "MessageGroupId": "g"}),
    )
    .await;
    assert_eq!(e.code, "InvalidParameterValue");
    let mut seqs = Vec::new();
    for (body, group) in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b")] {
        let v = call(
            &sqs,
            "SendMessage",
            json!({"QueueUrl": url, "MessageBody": body, "MessageGroupId": group,
                   "MessageDeduplicationId": body}),
        )
        .await;
        seqs.push(v["SequenceNumber"].as_str().expect("seq").to_string());
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    // A duplicate within the window is accepted and dropped.
    let dup = call(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": url, "MessageBody": "a1", "MessageGroupId": "a",
               "MessageDeduplicationId": "a1"}),
    )
    .await;
    assert_eq!(dup["SequenceNumber"].as_str(), Some(seqs[0].as_str()));
    // One message at a time: a group with a message in flight is skipped.
    let first = receive(&sqs, &url, json!({"MaxNumberOfMessages": 1})).await;
    assert_eq!(bodies(&first), vec!["a1"]);
    let next = receive(
        &sqs,
        &url,
        json!({"MaxNumberOfMessages": 10, "AttributeNames": ["All"]}),
    )
    .await;
    assert_eq!(bodies(&next), vec!["b1", "b2"]);
    assert_eq!(next[0]["Attributes"]["MessageGroupId"], "b");
    assert_eq!(next[0]["Attributes"]["SequenceNumber"], seqs[1].as_str());
    assert!(receive(&sqs, &url, json!({})).await.is_empty());
    // Deleting a1 unlocks group a.
    call(
        &sqs,
        "DeleteMessage",
        json!({"QueueUrl": url, "ReceiptHandle": first[0]["ReceiptHandle"]}),
    )
    .await;
    assert_eq!(bodies(&receive(&sqs, &url, json!({})).await), vec!["a2"]);
    // Content-based deduplication.
    let url2 = create(
        &sqs,
        "cbd.fifo",
        json!({"FifoQueue": "true", "ContentBasedDeduplication": "true"}),
    )
    .await;
    let a = call(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": url2, "MessageBody": "same", "MessageGroupId": "g"}),
    )
    .await;
    let b = call(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": url2, "MessageBody": "same", "MessageGroupId": "g"}),
    )
    .await;
    assert_eq!(a["MessageId"], b["MessageId"]);
    assert_eq!(attr(&sqs, &url2, "ApproximateNumberOfMessages").await, "1");
    sqs.shutdown().await;
}

#[tokio::test]
async fn dead_letter_redrive() {
    let db = Db::new("dlq");
    let sqs = Sqs::start(db.open()).expect("start");
    let dlq = create(&sqs, "dead", json!({})).await;
    let dlq_arn = attr(&sqs, &dlq, "QueueArn").await;
    assert_eq!(dlq_arn, "arn:aws:sqs:us-east-1:000000000000:dead");
    let e = fail(
        &sqs,
        "CreateQueue",
        json!({"QueueName": "src", "Attributes": {"RedrivePolicy":
            "{\"deadLetterTargetArn\":\"arn:aws:sqs:us-east-1:000000000000:missing\",\"maxReceiveCount\":2}"}}),
    )
    .await;
    assert_eq!(e.code, "InvalidParameterValue");
    let policy = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}).to_string();
    let src = create(&sqs, "src", json!({"RedrivePolicy": policy})).await;
    assert_eq!(
        attr(&sqs, &src, "RedrivePolicy").await,
        json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}).to_string()
    );
    let sent = call(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": src, "MessageBody": "poison"}),
    )
    .await;
    for _ in 0..2 {
        let m = receive(&sqs, &src, json!({"VisibilityTimeout": 0})).await;
        assert_eq!(bodies(&m), vec!["poison"]);
    }
    // The third receive moves it instead of delivering it.
    assert!(receive(&sqs, &src, json!({})).await.is_empty());
    let m = receive(&sqs, &dlq, json!({"AttributeNames": ["All"]})).await;
    assert_eq!(bodies(&m), vec!["poison"]);
    assert_eq!(m[0]["MessageId"], sent["MessageId"]);
    assert_eq!(
        m[0]["Attributes"]["DeadLetterQueueSourceArn"],
        "arn:aws:sqs:us-east-1:000000000000:src"
    );
    let v = call(&sqs, "ListDeadLetterSourceQueues", json!({"QueueUrl": dlq})).await;
    assert_eq!(v["queueUrls"], json!([src]));
    sqs.shutdown().await;
}

#[tokio::test]
async fn purge() {
    let db = Db::new("purge");
    let sqs = Sqs::start(db.open()).expect("start");
    let url = create(&sqs, "q", json!({})).await;
    for i in 0..5 {
        call(
            &sqs,
            "SendMessage",
            json!({"QueueUrl": url, "MessageBody": format!("m{i}")}),
        )
        .await;
    }
    call(&sqs, "PurgeQueue", json!({"QueueUrl": url})).await;
    assert_eq!(attr(&sqs, &url, "ApproximateNumberOfMessages").await, "0");
    let e = fail(&sqs, "PurgeQueue", json!({"QueueUrl": url})).await;
    assert_eq!((e.code.as_str(), e.status), ("PurgeQueueInProgress", 403));
    sqs.shutdown().await;
}

#[tokio::test]
async fn restart_keeps_messages_and_in_flight_state() {
    let db = Db::new("restart");
    let (url, in_flight_handle) = {
        let sqs = Sqs::start(db.open()).expect("start");
        let url = create(&sqs, "q", json!({"VisibilityTimeout": "1"})).await;
        let fifo = create(
            &sqs,
            "f.fifo",
            json!({"FifoQueue": "true", "ContentBasedDeduplication": "true"}),
        )
        .await;
        for body in ["kept", "taken", "deleted"] {
            call(
                &sqs,
                "SendMessage",
                json!({"QueueUrl": url, "MessageBody": body}),
            )
            .await;
        }
        call(
            &sqs,
            "SendMessage",
            json!({"QueueUrl": fifo, "MessageBody": "f", "MessageGroupId": "g"}),
        )
        .await;
        let m = receive(&sqs, &url, json!({"MaxNumberOfMessages": 2})).await;
        assert_eq!(bodies(&m), vec!["kept", "taken"]);
        // "kept" goes back; "taken" stays in flight; "deleted" is deleted.
        call(&sqs, "ChangeMessageVisibility", json!({"QueueUrl": url, "ReceiptHandle": m[0]["ReceiptHandle"], "VisibilityTimeout": 0})).await;
        let d = receive(
            &sqs,
            &url,
            json!({"MaxNumberOfMessages": 1, "VisibilityTimeout": 0}),
        )
        .await;
        let d = if bodies(&d) == vec!["deleted"] {
            d
        } else {
            receive(
                &sqs,
                &url,
                json!({"MaxNumberOfMessages": 10, "VisibilityTimeout": 0}),
            )
            .await
            .into_iter()
            .filter(|m| m["Body"] == "deleted")
            .collect()
        };
        call(
            &sqs,
            "DeleteMessage",
            json!({"QueueUrl": url, "ReceiptHandle": d[0]["ReceiptHandle"]}),
        )
        .await;
        call(&sqs, "ChangeMessageVisibility", json!({"QueueUrl": url, "ReceiptHandle": m[1]["ReceiptHandle"], "VisibilityTimeout": 2})).await;
        sqs.shutdown().await;
        (
            url,
            m[1]["ReceiptHandle"].as_str().expect("handle").to_string(),
        )
    };
    let sqs = Sqs::start(db.open()).expect("restart");
    assert_eq!(attr(&sqs, &url, "VisibilityTimeout").await, "1");
    assert_eq!(
        attr(&sqs, &url, "ApproximateNumberOfMessagesNotVisible").await,
        "1"
    );
    let now = receive(&sqs, &url, json!({"VisibilityTimeout": 30})).await;
    assert_eq!(bodies(&now), vec!["kept"]);
    // The in-flight one comes back after its visibility timeout.
    let later = receive(
        &sqs,
        &url,
        json!({"WaitTimeSeconds": 5, "AttributeNames": ["ApproximateReceiveCount"]}),
    )
    .await;
    assert_eq!(bodies(&later), vec!["taken"]);
    assert_eq!(later[0]["Attributes"]["ApproximateReceiveCount"], "2");
    // A handle from before the restart still deletes (standard queue).
    call(
        &sqs,
        "DeleteMessage",
        json!({"QueueUrl": url, "ReceiptHandle": in_flight_handle}),
    )
    .await;
    assert_eq!(sqs.stats().messages, 2);
    // FIFO deduplication survives the restart.
    let fifo = call(&sqs, "GetQueueUrl", json!({"QueueName": "f.fifo"})).await;
    call(
        &sqs,
        "SendMessage",
        json!({"QueueUrl": fifo["QueueUrl"], "MessageBody": "f", "MessageGroupId": "g"}),
    )
    .await;
    assert_eq!(
        attr(
            &sqs,
            fifo["QueueUrl"].as_str().unwrap_or(""),
            "ApproximateNumberOfMessages"
        )
        .await,
        "1"
    );
    sqs.shutdown().await;
}

#[tokio::test]
async fn set_queue_attributes_and_all() {
    let db = Db::new("attrs");
    let sqs = Sqs::start(db.open()).expect("start");
    let url = create(&sqs, "q", json!({})).await;
    call(
        &sqs,
        "SetQueueAttributes",
        json!({"QueueUrl": url, "Attributes": {"VisibilityTimeout": "7", "ReceiveMessageWaitTimeSeconds": "2"}}),
    )
    .await;
    let v = call(
        &sqs,
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["All"]}),
    )
    .await;
    let a = &v["Attributes"];
    assert_eq!(a["VisibilityTimeout"], "7");
    assert_eq!(a["ReceiveMessageWaitTimeSeconds"], "2");
    assert_eq!(a["MaximumMessageSize"], "262144");
    assert_eq!(a["MessageRetentionPeriod"], "345600");
    assert_eq!(a["DelaySeconds"], "0");
    assert_eq!(a["ApproximateNumberOfMessages"], "0");
    assert!(a.get("FifoQueue").is_none());
    assert!(
        a["CreatedTimestamp"]
            .as_str()
            .is_some_and(|t| t.len() == 10)
    );
    let e = fail(
        &sqs,
        "GetQueueAttributes",
        json!({"QueueUrl": url, "AttributeNames": ["Nope"]}),
    )
    .await;
    assert_eq!(e.code, "InvalidAttributeName");
    let e = fail(
        &sqs,
        "SetQueueAttributes",
        json!({"QueueUrl": url, "Attributes": {"FifoQueue": "true"}}),
    )
    .await;
    assert_eq!(e.code, "InvalidAttributeName");
    // The queue's ReceiveMessageWaitTimeSeconds applies when the call gives none.
    let started = Instant::now();
    assert!(receive(&sqs, &url, json!({})).await.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(1900));
    sqs.shutdown().await;
}

#[test]
fn retention_expires_oldest_first() {
    use super::attrs::{QueueMeta, config, with_defaults};
    use super::queue::{Msg, Queue};
    let attributes = with_defaults(Default::default(), false);
    let meta = QueueMeta {
        name: "q".into(),
        region: "r".into(),
        account: "a".into(),
        created_s: 0,
        modified_s: 0,
        attributes: attributes.clone(),
        tags: Default::default(),
    };
    let mut q = Queue::new(1, meta, config(&attributes), "arn".into());
    for seq in 1..=4u64 {
        q.insert(
            Msg {
                seq,
                message_id: format!("m{seq}"),
                body: String::new(),
                md5_body: String::new(),
                meta: Default::default(),
                sent_ms: seq as i64 * 100,
                visible_ms: 0,
                receive_count: 0,
                first_receive_ms: None,
                inflight: false,
            },
            0,
        );
    }
    q.remove(1);
    assert_eq!(q.expired(300), vec![2, 3]);
    for s in [2, 3] {
        q.remove(s);
    }
    assert_eq!(q.expired(300), Vec::<u64>::new());
    assert_eq!(q.counts(0), (1, 0, 0));
}
