//! Tests of the function service with real `node` and `python3` handlers
//! (skipped with a message when the machine lacks them).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "baton-lambda-{name}-{}-{}",
        std::process::id(),
        NEXT_DIR.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// SQS as it answers before the queue service is there.
struct NoSqs;

impl AwsService for NoSqs {
    fn call<'a>(
        &'a self,
        _scope: &'a Scope,
        action: &'a str,
        _input: Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        Box::pin(async move {
            Err(ServiceError::client(
                "UnsupportedOperation",
                format!("SQS action {action} is not available in this build"),
            ))
        })
    }
}

struct Harness {
    dir: PathBuf,
    store: Arc<dyn Store>,
    lambda: Arc<Lambda>,
    scope: Scope,
}

fn open_store(dir: &Path) -> Arc<dyn Store> {
    Arc::new(baton_storage::sqlite::SqliteStore::open(&dir.join("baton.db")).unwrap())
}

fn start(name: &str, sqs: Service, tweak: impl FnOnce(&mut Config)) -> Harness {
    let dir = temp_dir(name);
    let store = open_store(&dir);
    let mut config = Config::new(dir.join("data"));
    tweak(&mut config);
    let lambda = Lambda::start(store.clone(), sqs, config).unwrap();
    lambda.set_endpoint("http://127.0.0.1:9");
    Harness {
        dir,
        store,
        lambda,
        scope: Scope::new("000000000000", "us-east-1"),
    }
}

fn have(program: &str) -> bool {
    if worker::which(program).is_some() {
        return true;
    }
    eprintln!("skipped: `{program}` is not on PATH");
    false
}

/// A code folder with `files`; `ships_sdk` adds the marker of an SDK the
/// app bundles (so no SDK is installed for tests that do not use it).
fn code(h: &Harness, name: &str, files: &[(&str, &str)], ships_sdk: bool) -> PathBuf {
    let d = h.dir.join("code").join(name);
    std::fs::create_dir_all(&d).unwrap();
    for (f, text) in files {
        let p = d.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    if ships_sdk {
        std::fs::create_dir_all(d.join("node_modules/@aws-sdk")).unwrap();
        std::fs::create_dir_all(d.join("boto3")).unwrap();
        std::fs::write(d.join("boto3/__init__.py"), "").unwrap();
    }
    d
}

async fn put(h: &Harness, name: &str, runtime: &str, handler: &str, dir: &Path, extra: Value) {
    let mut input = json!({
        "FunctionName": name, "Runtime": runtime, "Handler": handler,
        "CodeDirectory": dir.display().to_string(),
    });
    if let (Some(o), Some(e)) = (input.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            o.insert(k.clone(), v.clone());
        }
    }
    let out = h.lambda.call(&h.scope, "PutFunction", input).await.unwrap();
    assert_eq!(out["FunctionName"], name);
}

async fn invoke(h: &Harness, name: &str, payload: &str) -> Invocation {
    tokio::time::timeout(
        Duration::from_secs(60),
        h.lambda.invoke(
            &h.scope,
            name,
            payload.as_bytes().to_vec(),
            InvocationType::RequestResponse,
            true,
        ),
    )
    .await
    .expect("the invocation hangs")
    .unwrap()
}

fn payload(inv: &Invocation) -> Value {
    serde_json::from_slice(&inv.payload)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&inv.payload)))
}

const NODE_HANDLERS: &str = r#"
console.log('loading');
exports.echo = async (event, context) => {
  console.log('event', JSON.stringify(event));
  return {
    event,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    arn: context.invokedFunctionArn,
    logGroup: context.logGroupName,
    remaining: context.getRemainingTimeInMillis(),
    memory: context.memoryLimitInMB,
    env: { region: process.env.AWS_REGION, endpoint: process.env.AWS_ENDPOINT_URL,
           key: process.env.AWS_ACCESS_KEY_ID, mine: process.env.MY_VAR,
           handler: process.env._HANDLER, root: process.env.LAMBDA_TASK_ROOT },
  };
};
exports.boom = async () => { throw new TypeError('bad thing'); };
exports.callback = (event, context, callback) => {
  setTimeout(() => callback(null, { via: 'callback', n: event.n }), 20);
};
exports.callbackError = (event, context, callback) => callback(new Error('cb failed'));
exports.slow = async (event) => { await new Promise(r => setTimeout(r, event.ms)); return 'done'; };
exports.pid = async () => process.pid;
exports.exit = async () => { process.exit(3); };
exports.nested = { deep: async () => 'deep' };
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_handlers_run_warm_with_lambdas_context_and_errors() {
    if !have("node") {
        return;
    }
    let h = start("node", Arc::new(NoSqs), |_| {});
    let dir = code(&h, "node", &[("handler.js", NODE_HANDLERS)], true);
    for export in [
        "echo",
        "boom",
        "callback",
        "callbackError",
        "pid",
        "exit",
        "nested.deep",
    ] {
        let name = format!("n-{}", export.replace('.', "-"));
        put(
            &h,
            &name,
            "nodejs20.x",
            &format!("handler.{export}"),
            &dir,
            json!({"Environment": {"Variables": {"MY_VAR": "mine"}}, "MemorySize": 256}),
        )
        .await;
    }

    let inv = invoke(&h, "n-echo", r#"{"hello":"world"}"#).await;
    assert_eq!(inv.status_code, 200);
    assert_eq!(inv.function_error, None);
    assert_eq!(inv.executed_version, "$LATEST");
    let p = payload(&inv);
    assert_eq!(p["event"], json!({"hello": "world"}));
    assert_eq!(p["functionName"], "n-echo");
    assert_eq!(
        p["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:n-echo"
    );
    assert_eq!(p["logGroup"], "/aws/lambda/n-echo");
    assert_eq!(p["memory"], "256");
    let remaining = p["remaining"].as_i64().unwrap();
    assert!(remaining > 4000 && remaining <= 6000, "{remaining}");
    assert_eq!(p["env"]["region"], "us-east-1");
    assert_eq!(p["env"]["endpoint"], "http://127.0.0.1:9");
    assert_eq!(p["env"]["key"], "000000000000");
    assert_eq!(p["env"]["mine"], "mine");
    assert_eq!(p["env"]["handler"], "handler.echo");
    assert_eq!(p["env"]["root"], dir.display().to_string());
    let tail = inv.log_tail.unwrap();
    let id = p["requestId"].as_str().unwrap();
    // The module's own output comes first (the runtime's start), then START.
    let loading = tail.find("\tINFO\tloading").expect("init output");
    assert!(loading < tail.find("START RequestId").unwrap(), "{tail}");
    assert!(
        tail.contains(&format!("START RequestId: {id} Version: $LATEST")),
        "{tail}"
    );
    assert!(
        tail.contains(&format!("\t{id}\tINFO\tevent {{\"hello\":\"world\"}}")),
        "{tail}"
    );
    assert!(tail.contains(&format!("END RequestId: {id}")), "{tail}");
    assert!(
        tail.contains(&format!("REPORT RequestId: {id}\tDuration: ")),
        "{tail}"
    );
    assert!(tail.contains("Init Duration: "), "{tail}");
    // Warm: the second invocation has no init and does not repeat module output.
    let inv = invoke(&h, "n-echo", "").await;
    assert_eq!(payload(&inv)["event"], json!({}));
    let tail = inv.log_tail.unwrap();
    assert!(!tail.contains("Init Duration"), "{tail}");
    assert!(!tail.contains("loading"), "{tail}");

    let inv = invoke(&h, "n-boom", "{}").await;
    assert_eq!(inv.function_error.as_deref(), Some("Unhandled"));
    let p = payload(&inv);
    assert_eq!(p["errorType"], "TypeError");
    assert_eq!(p["errorMessage"], "bad thing");
    assert!(
        p["trace"][0]
            .as_str()
            .unwrap()
            .starts_with("TypeError: bad thing")
    );
    assert!(inv.log_tail.unwrap().contains("ERROR\tInvoke Error"));

    let inv = invoke(&h, "n-callback", r#"{"n": 7}"#).await;
    assert_eq!(payload(&inv), json!({"via": "callback", "n": 7}));
    let inv = invoke(&h, "n-callbackError", "{}").await;
    assert_eq!(payload(&inv)["errorMessage"], "cb failed");
    assert_eq!(payload(&inv)["errorType"], "Error");
    let inv = invoke(&h, "n-nested-deep", "{}").await;
    assert_eq!(payload(&inv), json!("deep"));

    // One warm process serves consecutive invocations.
    let a = payload(&invoke(&h, "n-pid", "{}").await);
    let b = payload(&invoke(&h, "n-pid", "{}").await);
    assert_eq!(a, b);

    // A worker that exits reports Runtime.ExitError; the next one starts fresh.
    let inv = invoke(&h, "n-exit", "{}").await;
    assert_eq!(inv.function_error.as_deref(), Some("Unhandled"));
    let p = payload(&inv);
    assert_eq!(p["errorType"], "Runtime.ExitError");
    assert!(
        p["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Runtime exited with error: exit status 3"),
        "{p}"
    );

    // Bad payloads and unknown functions are AWS errors.
    let e = h
        .lambda
        .invoke(
            &h.scope,
            "n-echo",
            b"{nope".to_vec(),
            InvocationType::RequestResponse,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, "InvalidRequestContentException");
    let e = h
        .lambda
        .invoke(
            &h.scope,
            "missing",
            b"{}".to_vec(),
            InvocationType::RequestResponse,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.status),
        ("ResourceNotFoundException", 404)
    );
    assert_eq!(
        e.message,
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing:$LATEST",
        "Invoke names the version it looked for, as AWS's Invoke does"
    );
    let dry = h
        .lambda
        .invoke(
            &h.scope,
            "arn:aws:lambda:us-east-1:000000000000:function:n-echo",
            vec![],
            InvocationType::DryRun,
            false,
        )
        .await
        .unwrap();
    assert_eq!(dry.status_code, 204);

    // The logs are kept per invocation.
    let logs = h
        .lambda
        .call(
            &h.scope,
            "GetFunctionLogs",
            json!({"FunctionName": "n-echo"}),
        )
        .await
        .unwrap();
    let invs = logs["Invocations"].as_array().unwrap();
    assert_eq!(invs.len(), 2);
    assert!(invs[0]["Log"].as_str().unwrap().contains("START RequestId"));
    h.lambda.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_kill_the_worker_and_busy_functions_answer_429() {
    if !have("node") {
        return;
    }
    let h = start("timeout", Arc::new(NoSqs), |c| {
        c.max_workers_per_function = 1
    });
    let dir = code(&h, "slow", &[("handler.js", NODE_HANDLERS)], true);
    put(
        &h,
        "slow",
        "nodejs20.x",
        "handler.slow",
        &dir,
        json!({"Timeout": 1}),
    )
    .await;
    let inv = invoke(&h, "slow", r#"{"ms": 5000}"#).await;
    assert_eq!(inv.function_error.as_deref(), Some("Unhandled"));
    let p = payload(&inv);
    assert_eq!(p["errorType"], "Sandbox.Timedout");
    assert!(
        p["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Task timed out after 1.00 seconds"),
        "{p}"
    );
    let tail = inv.log_tail.unwrap();
    assert!(tail.contains("Task timed out after 1.00 seconds"), "{tail}");
    assert!(tail.contains("Status: timeout"), "{tail}");
    // A new worker serves the next invocation.
    let inv = invoke(&h, "slow", r#"{"ms": 10}"#).await;
    assert_eq!(payload(&inv), json!("done"));

    // With its only worker busy, RequestResponse is throttled as AWS does.
    let l = h.lambda.clone();
    let scope = h.scope.clone();
    let busy = tokio::spawn(async move {
        l.invoke(
            &scope,
            "slow",
            br#"{"ms": 700}"#.to_vec(),
            InvocationType::RequestResponse,
            false,
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The Lambda API (invoke_qualified) answers 429 at once ...
    let e = h
        .lambda
        .invoke_qualified(
            &h.scope,
            "slow",
            None,
            br#"{"ms": 1}"#.to_vec(),
            InvocationType::RequestResponse,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.status),
        ("TooManyRequestsException", 429)
    );
    assert_eq!(e.message, "Rate Exceeded.");
    // ... while Baton's own callers (Step Functions tasks, SNS) wait for the
    // worker, as the account's concurrency would let them run on AWS.
    let waited = tokio::time::timeout(
        Duration::from_secs(30),
        h.lambda.invoke(
            &h.scope,
            "slow",
            br#"{"ms": 1}"#.to_vec(),
            InvocationType::RequestResponse,
            false,
        ),
    )
    .await
    .expect("the invocation waits for the worker, then runs")
    .unwrap();
    assert_eq!(waited.status_code, 200);
    assert_eq!(busy.await.unwrap().unwrap().status_code, 200);
    h.lambda.shutdown().await;
}

const PY_HANDLERS: &str = r#"
import logging, os, sys
logger = logging.getLogger()
logger.setLevel(logging.INFO)
print("loading")

def echo(event, context):
    print("event", event)
    logger.info("info line")
    return {"event": event, "requestId": context.aws_request_id,
            "name": context.function_name, "arn": context.invoked_function_arn,
            "memory": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis(),
            "region": os.environ["AWS_REGION"], "path0": sys.path[0]}

def boom(event, context):
    raise ValueError("no good")

def bad_json(event, context):
    return {1, 2}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_handlers_run_with_lambdas_context_and_errors() {
    if !have("python3") {
        return;
    }
    let h = start("python", Arc::new(NoSqs), |_| {});
    let dir = code(&h, "py", &[("app.py", PY_HANDLERS)], true);
    for f in ["echo", "boom", "bad_json", "missing"] {
        put(
            &h,
            &format!("p-{f}"),
            "python3.12",
            &format!("app.{f}"),
            &dir,
            json!({}),
        )
        .await;
    }
    let inv = invoke(&h, "p-echo", r#"{"a": [1, 2]}"#).await;
    let p = payload(&inv);
    assert_eq!(p["event"], json!({"a": [1, 2]}));
    assert_eq!(p["name"], "p-echo");
    assert_eq!(p["memory"], 1024);
    assert_eq!(p["region"], "us-east-1");
    assert_eq!(p["path0"], dir.display().to_string());
    assert!(p["remaining"].as_i64().unwrap() > 4000);
    let id = p["requestId"].as_str().unwrap();
    let tail = inv.log_tail.unwrap();
    assert!(tail.contains("loading\nSTART RequestId"), "{tail}");
    assert!(tail.contains("event {'a': [1, 2]}"), "{tail}");
    assert!(tail.contains(&format!("Z\t{id}\tinfo line")), "{tail}");

    let inv = invoke(&h, "p-boom", "{}").await;
    assert_eq!(inv.function_error.as_deref(), Some("Unhandled"));
    let p = payload(&inv);
    assert_eq!(p["errorType"], "ValueError");
    assert_eq!(p["errorMessage"], "no good");
    assert!(
        p["stackTrace"][0].as_str().unwrap().contains("in boom"),
        "{p}"
    );
    assert!(
        inv.log_tail
            .unwrap()
            .contains("[ERROR] ValueError: no good")
    );

    let p = payload(&invoke(&h, "p-bad_json", "{}").await);
    assert_eq!(p["errorType"], "Runtime.MarshalError");

    let inv = invoke(&h, "p-missing", "{}").await;
    let p = payload(&inv);
    assert_eq!(p["errorType"], "Runtime.HandlerNotFound");
    assert_eq!(
        p["errorMessage"],
        "Handler 'missing' missing on module 'app'"
    );
    h.lambda.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provided_runtimes_speak_the_runtime_api() {
    if !have("python3") {
        return;
    }
    let h = start("provided", Arc::new(NoSqs), |_| {});
    let bootstrap = r#"#!/usr/bin/env python3
import json, os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    print("custom runtime got", event, flush=True)
    body = json.dumps({"upper": event["s"].upper(), "handler": os.environ["_HANDLER"]}).encode()
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=body, method="POST")).read()
"#;
    let dir = code(&h, "custom", &[("bootstrap", bootstrap)], false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            dir.join("bootstrap"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    put(&h, "custom", "provided.al2023", "anything", &dir, json!({})).await;
    let inv = invoke(&h, "custom", r#"{"s": "abc"}"#).await;
    assert_eq!(
        payload(&inv),
        json!({"upper": "ABC", "handler": "anything"})
    );
    assert!(inv.log_tail.unwrap().contains("custom runtime got"));

    let empty = code(&h, "empty", &[], false);
    put(&h, "nobootstrap", "provided.al2", "x", &empty, json!({})).await;
    let inv = invoke(&h, "nobootstrap", "{}").await;
    assert_eq!(payload(&inv)["errorType"], "Runtime.InvalidEntrypoint");
    h.lambda.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_are_validated_listed_and_kept_across_restarts() {
    let h = start("crud", Arc::new(NoSqs), |_| {});
    let dir = code(
        &h,
        "c",
        &[("handler.js", "exports.h = async () => 1;")],
        true,
    );
    let bad = |input: Value| {
        let l = h.lambda.clone();
        let s = h.scope.clone();
        async move { l.call(&s, "PutFunction", input).await.unwrap_err() }
    };
    let d = dir.display().to_string();
    let e = bad(
        json!({"FunctionName": "x", "Runtime": "java17", "Handler": "a.b", "CodeDirectory": d}),
    )
    .await;
    assert_eq!(e.code, "InvalidParameterValueException");
    assert!(e.message.contains("not supported by Baton"));
    let e = bad(json!({"FunctionName": "bad name", "Runtime": "nodejs20.x", "Handler": "a.b", "CodeDirectory": d})).await;
    assert_eq!(e.code, "ValidationException");
    let e = bad(json!({"FunctionName": "x", "Runtime": "nodejs20.x", "Handler": "a.b", "CodeDirectory": "relative"})).await;
    assert_eq!(e.code, "InvalidParameterValueException");
    let e = bad(json!({"FunctionName": "x", "Runtime": "nodejs20.x", "Handler": "a.b", "CodeDirectory": d, "Timeout": 901})).await;
    assert_eq!(e.code, "ValidationException");
    let e = bad(
        json!({"FunctionName": "x", "Runtime": "nodejs20.x", "Handler": "a.b", "CodeDirectory": d,
        "Environment": {"Variables": {"AWS_REGION": "x"}}}),
    )
    .await;
    assert!(
        e.message
            .contains("Reserved keys used in this request: AWS_REGION"),
        "{}",
        e.message
    );

    for name in ["f1", "f2", "f3"] {
        put(
            &h,
            name,
            "nodejs12.x",
            "handler.h",
            &dir,
            json!({"Description": "d"}),
        )
        .await;
    }
    let c = h
        .lambda
        .call(
            &h.scope,
            "GetFunctionConfiguration",
            json!({"FunctionName": "f1"}),
        )
        .await
        .unwrap();
    assert_eq!(c["Timeout"], 6);
    assert_eq!(c["Runtime"], "nodejs12.x");
    assert_eq!(c["Version"], "$LATEST");
    assert_eq!(c["State"], "Active");
    assert!(c["LastModified"].as_str().unwrap().ends_with("+0000"));
    let page = h
        .lambda
        .call(&h.scope, "ListFunctions", json!({"MaxItems": 2}))
        .await
        .unwrap();
    assert_eq!(page["Functions"].as_array().unwrap().len(), 2);
    let marker = page["NextMarker"].as_str().unwrap().to_string();
    let page = h
        .lambda
        .call(&h.scope, "ListFunctions", json!({"Marker": marker}))
        .await
        .unwrap();
    assert_eq!(page["Functions"][0]["FunctionName"], "f3");
    assert!(page.get("NextMarker").is_none());
    // Other regions and accounts see none of them.
    let other = Scope::new("111111111111", "us-east-1");
    let page = h
        .lambda
        .call(&other, "ListFunctions", json!({}))
        .await
        .unwrap();
    assert_eq!(page["Functions"], json!([]));

    // Kept across a restart.
    h.lambda.shutdown().await;
    let again = Lambda::start(
        h.store.clone(),
        Arc::new(NoSqs),
        Config::new(h.dir.join("data")),
    )
    .unwrap();
    let g = again
        .call(
            &h.scope,
            "GetFunction",
            json!({"FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:f2"}),
        )
        .await
        .unwrap();
    assert_eq!(g["Configuration"]["FunctionName"], "f2");
    again
        .call(&h.scope, "DeleteFunction", json!({"FunctionName": "f2"}))
        .await
        .unwrap();
    let e = again
        .call(&h.scope, "GetFunction", json!({"FunctionName": "f2"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, "ResourceNotFoundException");
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_invocations_are_queued_and_retried_twice() {
    if !have("node") {
        return;
    }
    let h = start("event", Arc::new(NoSqs), |c| {
        c.async_retry_delay = Duration::from_millis(100)
    });
    let marks = h.dir.join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let js = r#"
const fs = require('fs'); const path = require('path');
exports.h = async (event) => {
  const n = fs.readdirSync(process.env.MARKS).filter(f => f.startsWith(event.tag)).length;
  fs.writeFileSync(path.join(process.env.MARKS, event.tag + '-' + n), '');
  if (n < event.failures) throw new Error('attempt ' + n);
  return 'ok';
};"#;
    let dir = code(&h, "ev", &[("handler.js", js)], true);
    put(
        &h,
        "ev",
        "nodejs20.x",
        "handler.h",
        &dir,
        json!({"Environment": {"Variables": {"MARKS": marks.display().to_string()}}}),
    )
    .await;
    let count = |tag: &str| {
        std::fs::read_dir(&marks)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(tag))
            .count()
    };
    let inv = h
        .lambda
        .invoke(
            &h.scope,
            "ev",
            br#"{"tag": "a", "failures": 2}"#.to_vec(),
            InvocationType::Event,
            false,
        )
        .await
        .unwrap();
    assert_eq!(inv.status_code, 202);
    assert!(inv.payload.is_empty());
    h.lambda
        .invoke(
            &h.scope,
            "ev",
            br#"{"tag": "b", "failures": 9}"#.to_vec(),
            InvocationType::Event,
            false,
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (count("a") < 3 || count("b") < 3) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Succeeds on the third attempt; never more than three attempts.
    assert_eq!(count("a"), 3);
    assert_eq!(count("b"), 3);
    let left = h
        .store
        .list_resources("lambda-event", "", None, 10)
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    h.lambda.shutdown().await;
}

use std::time::Instant;

/// An SQS double: hands out queued messages once and records deletions.
#[derive(Default)]
struct FakeSqs {
    messages: Mutex<Vec<Value>>,
    deleted: Mutex<Vec<String>>,
    receives: AtomicUsize,
}

impl AwsService for FakeSqs {
    fn call<'a>(
        &'a self,
        _scope: &'a Scope,
        action: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        Box::pin(async move {
            match action {
                "ReceiveMessage" => {
                    self.receives.fetch_add(1, Ordering::SeqCst);
                    assert_eq!(input["QueueUrl"], "http://127.0.0.1:9/000000000000/q");
                    assert_eq!(input["AttributeNames"], json!(["All"]));
                    let max = input["MaxNumberOfMessages"].as_u64().unwrap() as usize;
                    let batch: Vec<Value> = {
                        let mut m = self.messages.lock().unwrap();
                        let n = max.min(m.len());
                        m.drain(..n).collect()
                    };
                    if batch.is_empty() {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    Ok(json!({"Messages": batch}))
                }
                "DeleteMessageBatch" => {
                    let mut d = self.deleted.lock().unwrap();
                    for e in input["Entries"].as_array().unwrap() {
                        d.push(e["ReceiptHandle"].as_str().unwrap().to_string());
                    }
                    Ok(json!({"Successful": [], "Failed": []}))
                }
                "GetQueueAttributes" => Ok(json!({"Attributes": {"VisibilityTimeout": "30"}})),
                _ => Err(ServiceError::client("UnsupportedOperation", action)),
            }
        })
    }
}

fn message(id: &str, body: &str) -> Value {
    json!({
        "MessageId": id, "ReceiptHandle": format!("rh-{id}"), "MD5OfBody": "md5", "Body": body,
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000",
                       "SenderId": "000000000000", "ApproximateFirstReceiveTimestamp": "1700000000001"},
        "MessageAttributes": {"kind": {"StringValue": "k", "DataType": "String"}},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_mappings_invoke_and_delete_successful_batches() {
    if !have("node") {
        return;
    }
    let sqs = Arc::new(FakeSqs::default());
    let h = start("esm", sqs.clone(), |_| {});
    let out = h.dir.join("seen");
    std::fs::create_dir_all(&out).unwrap();
    let js = r#"
const fs = require('fs'); const path = require('path');
exports.h = async (event) => {
  for (const r of event.Records) {
    fs.writeFileSync(path.join(process.env.OUT, r.messageId), JSON.stringify(r));
    if (r.body === 'fail') throw new Error('failed ' + r.messageId);
  }
};"#;
    let dir = code(&h, "esm", &[("handler.js", js)], true);
    put(
        &h,
        "consumer",
        "nodejs20.x",
        "handler.h",
        &dir,
        json!({"Environment": {"Variables": {"OUT": out.display().to_string()}}}),
    )
    .await;
    let arn = "arn:aws:sqs:us-east-1:000000000000:q";
    // Validation first.
    let e = h
        .lambda
        .call(&h.scope, "CreateEventSourceMapping", json!({"EventSourceArn": "arn:aws:kinesis:us-east-1:000000000000:stream/s", "FunctionName": "consumer"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, "InvalidParameterValueException");
    let e = h
        .lambda
        .call(
            &h.scope,
            "CreateEventSourceMapping",
            json!({"EventSourceArn": arn, "FunctionName": "nobody"}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, "ResourceNotFoundException");

    sqs.messages
        .lock()
        .unwrap()
        .push(message("m1", r#"{"Token":"t"}"#));
    let created = h
        .lambda
        .call(
            &h.scope,
            "CreateEventSourceMapping",
            json!({"EventSourceArn": arn, "FunctionName": "consumer", "BatchSize": 1}),
        )
        .await
        .unwrap();
    assert_eq!(created["State"], "Creating");
    assert_eq!(created["BatchSize"], 1);
    assert_eq!(
        created["FunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:consumer"
    );
    let uuid = created["UUID"].as_str().unwrap().to_string();
    let e = h
        .lambda
        .call(
            &h.scope,
            "CreateEventSourceMapping",
            json!({"EventSourceArn": arn, "FunctionName": "consumer"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.status),
        ("ResourceConflictException", 409)
    );

    let wait_deleted = |n: usize| {
        let sqs = sqs.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while sqs.deleted.lock().unwrap().len() < n && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    wait_deleted(1).await;
    assert_eq!(*sqs.deleted.lock().unwrap(), ["rh-m1"]);
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("m1")).unwrap()).unwrap();
    assert_eq!(
        record,
        json!({
            "messageId": "m1", "receiptHandle": "rh-m1", "body": "{\"Token\":\"t\"}",
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000",
                           "SenderId": "000000000000", "ApproximateFirstReceiveTimestamp": "1700000000001"},
            "messageAttributes": {"kind": {"stringValue": "k", "stringListValues": [], "binaryListValues": [], "dataType": "String"}},
            "md5OfBody": "md5", "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1",
        })
    );

    // A failed batch is not deleted.
    sqs.messages.lock().unwrap().push(message("m2", "fail"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !out.join("m2").exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(*sqs.deleted.lock().unwrap(), ["rh-m1"]);

    // Listed, updated (disabled: no more receives), restarted with Baton.
    let list = h
        .lambda
        .call(
            &h.scope,
            "ListEventSourceMappings",
            json!({"FunctionName": "consumer"}),
        )
        .await
        .unwrap();
    assert_eq!(list["EventSourceMappings"][0]["UUID"], uuid.as_str());
    assert_eq!(list["EventSourceMappings"][0]["State"], "Enabled");
    let up = h
        .lambda
        .call(
            &h.scope,
            "UpdateEventSourceMapping",
            json!({"UUID": uuid, "Enabled": false}),
        )
        .await
        .unwrap();
    assert_eq!(up["State"], "Updating");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before = sqs.receives.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(sqs.receives.load(Ordering::SeqCst), before);
    let got = h
        .lambda
        .call(&h.scope, "GetEventSourceMapping", json!({"UUID": uuid}))
        .await
        .unwrap();
    assert_eq!(got["State"], "Disabled");
    h.lambda
        .call(
            &h.scope,
            "UpdateEventSourceMapping",
            json!({"UUID": uuid, "Enabled": true}),
        )
        .await
        .unwrap();
    h.lambda.shutdown().await;

    let again = Lambda::start(
        h.store.clone(),
        sqs.clone(),
        Config::new(h.dir.join("data")),
    )
    .unwrap();
    again.set_endpoint("http://127.0.0.1:9");
    sqs.messages.lock().unwrap().push(message("m3", "x"));
    wait_deleted(2).await;
    assert_eq!(*sqs.deleted.lock().unwrap(), ["rh-m1", "rh-m3"]);
    let del = again
        .call(&h.scope, "DeleteEventSourceMapping", json!({"UUID": uuid}))
        .await
        .unwrap();
    assert_eq!(del["State"], "Deleting");
    let e = again
        .call(&h.scope, "GetEventSourceMapping", json!({"UUID": uuid}))
        .await
        .unwrap_err();
    assert_eq!(e.status, 404);
    again.shutdown().await;
}

/// A tiny HTTP endpoint standing in for Baton: records each request's
/// `X-Amz-Target` and body, answers `{}`.
async fn recording_endpoint() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = Arc::new(Mutex::new(Vec::new()));
    let rec = calls.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let rec = rec.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 8192];
                loop {
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i;
                        }
                        match s.read(&mut tmp).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap_or(0));
                    let target = head
                        .lines()
                        .find_map(|l| l.strip_prefix("x-amz-target:"))
                        .unwrap_or("")
                        .trim()
                        .to_string();
                    while buf.len() < head_end + 4 + len {
                        match s.read(&mut tmp).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        }
                    }
                    let body = String::from_utf8_lossy(&buf[head_end + 4..head_end + 4 + len])
                        .into_owned();
                    buf.drain(..head_end + 4 + len);
                    rec.lock().unwrap().push((target, body));
                    let resp = "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: r\r\nContent-Length: 2\r\n\r\n{}";
                    if s.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, calls)
}

/// The callback example's `lambda` handler style: aws-sdk v2 (provided by
/// the nodejs12.x runtime, installed into Baton's cache), unmodified
/// `new AWS.StepFunctions()` calling `sendTaskSuccess` on
/// `AWS_ENDPOINT_URL`. Uses the example itself when `../shared/seed` is
/// there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_handler_calls_send_task_success_on_baton() {
    if !have("node") || !have("npm") {
        return;
    }
    let seed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/seed/callback-example/handler.js");
    let handler_js = match std::fs::read_to_string(&seed) {
        Ok(t) => t,
        Err(_) => {
            eprintln!("../shared/seed is not here: using the same handler style inline");
            r#"const AWS = require('aws-sdk')
const SFN = new AWS.StepFunctions()
module.exports.lambda = async event => {
  console.log(JSON.stringify(event))
  const response = await SFN.sendTaskSuccess({ output: "42", taskToken: event.Token }).promise()
  return response
};"#
            .to_string()
        }
    };
    let h = start("seed", Arc::new(NoSqs), |_| {});
    let (url, calls) = recording_endpoint().await;
    h.lambda.set_endpoint(&url);
    let dir = code(&h, "seed", &[("handler.js", &handler_js)], false);
    put(
        &h,
        "lambda",
        "nodejs12.x",
        "handler.lambda",
        &dir,
        json!({}),
    )
    .await;
    let inv = tokio::time::timeout(
        Duration::from_secs(300),
        h.lambda.invoke(
            &h.scope,
            "arn:aws:lambda:us-east-1:000000000000:function:lambda",
            br#"{"Token": "tok-123", "ExecutionId": "e"}"#.to_vec(),
            InvocationType::RequestResponse,
            true,
        ),
    )
    .await
    .expect("hangs")
    .unwrap();
    assert_eq!(
        inv.function_error,
        None,
        "{}",
        String::from_utf8_lossy(&inv.payload)
    );
    assert_eq!(payload(&inv), json!({}));
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, "awsstepfunctions.sendtasksuccess");
    let body: Value = serde_json::from_str(&calls[0].1).unwrap();
    assert_eq!(body, json!({"output": "42", "taskToken": "tok-123"}));
    h.lambda.shutdown().await;
}

/// Python functions get boto3 from the runtime (Baton's cache), pointed at
/// Baton by `AWS_ENDPOINT_URL`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_handlers_get_boto3_pointed_at_baton() {
    if !have("python3") {
        return;
    }
    let h = start("boto3", Arc::new(NoSqs), |_| {});
    let (url, calls) = recording_endpoint().await;
    h.lambda.set_endpoint(&url);
    let py = r#"
import boto3
sfn = boto3.client("stepfunctions")
def handler(event, context):
    return sfn.send_task_success(taskToken=event["Token"], output="42")["ResponseMetadata"]["HTTPStatusCode"]
"#;
    let dir = code(&h, "boto", &[("app.py", py)], false);
    put(&h, "boto", "python3.12", "app.handler", &dir, json!({})).await;
    let inv = tokio::time::timeout(
        Duration::from_secs(300),
        h.lambda.invoke(
            &h.scope,
            "boto",
            br#"{"Token": "t-9"}"#.to_vec(),
            InvocationType::RequestResponse,
            false,
        ),
    )
    .await
    .expect("hangs")
    .unwrap();
    assert_eq!(
        inv.function_error,
        None,
        "{}",
        String::from_utf8_lossy(&inv.payload)
    );
    assert_eq!(payload(&inv), json!(200));
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].0, "awsstepfunctions.sendtasksuccess");
    h.lambda.shutdown().await;
}
