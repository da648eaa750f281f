//! Crash test: `baton serve` is killed with SIGKILL in the middle of a load of
//! executions (Waits, retries, waiting activity tokens, Parallel, Map),
//! restarted on the same data, and every execution must finish exactly as it
//! would have without the crash: the same output, no history event lost or
//! duplicated, and every task token handed out before the crash still works.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One request over HTTP/1.1 to the Step Functions JSON API.
fn call(port: u16, action: &str, body: &Value, timeout: Duration) -> Result<(u16, Value), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let body = body.to_string();
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Target: AWSStepFunctions.{action}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261125/us-east-1/states/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf);
    let (head, payload) = text.split_once("\r\n\r\n").ok_or("no header end")?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status")?;
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)
    } else {
        payload.to_string()
    };
    let v = if payload.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(&payload).map_err(|e| format!("{e}: {payload}"))?
    };
    Ok((status, v))
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

fn ok(port: u16, action: &str, body: Value) -> Value {
    let (status, v) = call(port, action, &body, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{action}: {e}"));
    assert_eq!(status, 200, "{action} {body} → {v}");
    v
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
}

impl Server {
    fn start(port: u16, data: &Path) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("baton serve starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if call(
                port,
                "ListStateMachines",
                &json!({}),
                Duration::from_secs(2),
            )
            .is_ok_and(|(s, _)| s == 200)
            {
                return Server { child };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("baton serve did not come up");
    }

    fn kill(mut self) {
        // SIGKILL: no shutdown, no flush.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn machines(activity: &str) -> Vec<(&'static str, Value)> {
    let task = |name: &str| {
        json!({
            "Type": "Task", "Resource": activity, "TimeoutSeconds": 4, "HeartbeatSeconds": 3,
            "Parameters": {"step": name, "n.$": "$.n"},
            "Retry": [
                {"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 10, "BackoffRate": 1.0},
                {"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 1.5}
            ],
            "ResultPath": format!("$.{name}")
        })
    };
    let mut waits = task("work");
    waits["Next"] = json!("Done");
    let mut branch_task = task("branch");
    branch_task["End"] = json!(true);
    let mut item_task = task("item");
    item_task["End"] = json!(true);
    item_task["Parameters"] = json!({"step": "item", "n.$": "$.n"});
    item_task["ResultPath"] = json!("$.r");
    vec![
        (
            "crash-waits",
            json!({"StartAt": "Nap", "States": {
                "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Work"},
                "Work": waits,
                "Done": {"Type": "Pass", "Parameters": {"n.$": "$.n", "work.$": "$.work"}, "End": true}
            }}),
        ),
        (
            "crash-parallel",
            json!({"StartAt": "Both", "States": {
                "Both": {"Type": "Parallel", "Branches": [
                    {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 1, "Next": "Echo"}, "Echo": {"Type": "Pass", "End": true}}},
                    {"StartAt": "Branch", "States": {"Branch": branch_task}}
                ], "End": true}
            }}),
        ),
        (
            "crash-map",
            json!({"StartAt": "Items", "States": {
                "Items": {"Type": "Pass", "Parameters": {"items.$": "States.ArrayRange(1, 3, 1)", "n.$": "$.n"}, "Next": "Each"},
                "Each": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
                    "ItemSelector": {"n.$": "$$.Map.Item.Value"},
                    "ItemProcessor": {"StartAt": "Item", "States": {"Item": item_task}}, "End": true}
            }}),
        ),
    ]
}

/// The activity worker: answers every task; the first attempt of tasks whose
/// `n` is divisible by 5 fails with a retryable error. Tokens handed out are
/// kept, and some are answered only after a pause, so that some are answered
/// by the restarted server.
fn worker(
    port: u16,
    activity: String,
    stop: Arc<AtomicBool>,
    flaked: Arc<Mutex<BTreeMap<String, bool>>>,
) {
    while !stop.load(Ordering::SeqCst) {
        let got = call(
            port,
            "GetActivityTask",
            &json!({"activityArn": activity, "workerName": "w"}),
            Duration::from_secs(70),
        );
        let Ok((200, v)) = got else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let Some(token) = v["taskToken"]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_string)
        else {
            continue;
        };
        let input: Value =
            serde_json::from_str(v["input"].as_str().unwrap_or("{}")).unwrap_or(json!({}));
        let n = input["n"].as_i64().unwrap_or(0);
        let key = format!("{}-{n}", input["step"].as_str().unwrap_or(""));
        let flake = n % 5 == 0 && flaked.lock().unwrap().insert(key, true).is_none();
        let (action, body) = if flake {
            (
                "SendTaskFailure",
                json!({"taskToken": token, "error": "Flaky", "cause": "first try"}),
            )
        } else {
            (
                "SendTaskSuccess",
                json!({"taskToken": token, "output": json!({"by": "worker", "n": n}).to_string()}),
            )
        };
        if n % 7 == 0 {
            std::thread::sleep(Duration::from_millis(600));
        }
        // The server may be down right now: keep the token and try again.
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match call(port, action, &body, Duration::from_secs(10)) {
                Ok((200, _)) => break,
                Ok((400, e)) if e["__type"].as_str().unwrap_or("").ends_with("TaskTimedOut") => {
                    break;
                }
                Ok((status, e)) => panic!("{action} answered {status}: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

fn check_history(port: u16, arn: &str) -> Vec<(String, String)> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = json!({"executionArn": arn, "maxResults": 1000});
        if let Some(t) = &token {
            req["nextToken"] = json!(t);
        }
        let page = ok(port, "GetExecutionHistory", req);
        events.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    for (i, e) in events.iter().enumerate() {
        assert_eq!(
            e["id"].as_u64(),
            Some(i as u64 + 1),
            "{arn}: event ids are 1..n with no gap or duplicate"
        );
        assert!(e["previousEventId"].as_u64().unwrap() < e["id"].as_u64().unwrap());
    }
    let count = |t: &str| events.iter().filter(|e| e["type"] == t).count();
    assert_eq!(count("ExecutionStarted"), 1, "{arn}");
    assert_eq!(count("ExecutionSucceeded"), 1, "{arn}");
    let mut pairs: Vec<(String, String)> = events
        .iter()
        .filter(|e| {
            let t = e["type"].as_str().unwrap();
            t.ends_with("StateEntered") || t.ends_with("StateExited") || t.starts_with("Execution")
        })
        .map(|e| {
            let t = e["type"].as_str().unwrap().to_string();
            let name = e["stateEnteredEventDetails"]["name"]
                .as_str()
                .or(e["stateExitedEventDetails"]["name"].as_str())
                .unwrap_or("")
                .to_string();
            (t, name)
        })
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn executions_survive_sigkill() {
    let dir = TempDir(std::env::temp_dir().join(format!(
        "baton-crash-{}-{}",
        std::process::id(),
        free_port()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    let port = free_port();
    let server = Server::start(port, &dir.0);

    let activity = ok(port, "CreateActivity", json!({"name": "crash-work"}))["activityArn"]
        .as_str()
        .unwrap()
        .to_string();
    let mut machine_arns = Vec::new();
    for (name, def) in machines(&activity) {
        let v = ok(
            port,
            "CreateStateMachine",
            json!({"name": name, "definition": def.to_string(), "roleArn": "arn:aws:iam::000000000000:role/r"}),
        );
        machine_arns.push(v["stateMachineArn"].as_str().unwrap().to_string());
    }

    let stop = Arc::new(AtomicBool::new(false));
    let flaked = Arc::new(Mutex::new(BTreeMap::new()));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (a, s, f) = (activity.clone(), stop.clone(), flaked.clone());
            std::thread::spawn(move || worker(port, a, s, f))
        })
        .collect();

    // A load of executions, then a SIGKILL while they run.
    let mut started = Vec::new();
    for n in 0..150 {
        let sm = &machine_arns[n % machine_arns.len()];
        let v = ok(
            port,
            "StartExecution",
            json!({"stateMachineArn": sm, "name": format!("run-{n}"), "input": json!({"n": n}).to_string()}),
        );
        started.push((n, v["executionArn"].as_str().unwrap().to_string()));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let running: usize = machine_arns
        .iter()
        .map(|sm| {
            ok(
                port,
                "ListExecutions",
                json!({"stateMachineArn": sm, "statusFilter": "RUNNING"}),
            )["executions"]
                .as_array()
                .map_or(0, Vec::len)
        })
        .sum();
    assert!(running > 0, "the kill must hit running executions");
    server.kill();
    // Twice more, while the restarted server recovers and the load goes on.
    let mut server = Server::start(port, &dir.0);
    for pause in [700, 1100] {
        std::thread::sleep(Duration::from_millis(pause));
        server.kill();
        server = Server::start(port, &dir.0);
    }

    // Every execution ends, and ends well.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut pending: Vec<_> = started.clone();
    while !pending.is_empty() && Instant::now() < deadline {
        pending.retain(|(_, arn)| {
            let d = ok(port, "DescribeExecution", json!({"executionArn": arn}));
            d["status"] == "RUNNING"
        });
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::SeqCst);
    assert!(
        pending.is_empty(),
        "executions still running after the restart: {pending:?}"
    );

    let mut shapes: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
    for (n, arn) in &started {
        let d = ok(port, "DescribeExecution", json!({"executionArn": arn}));
        assert_eq!(d["status"], "SUCCEEDED", "{arn}: {d}");
        let output: Value = serde_json::from_str(d["output"].as_str().unwrap()).unwrap();
        let n = *n as i64;
        match n % 3 {
            0 => assert_eq!(output, json!({"n": n, "work": {"by": "worker", "n": n}})),
            1 => assert_eq!(
                output,
                json!([{"n": n}, {"n": n, "branch": {"by": "worker", "n": n}}])
            ),
            _ => assert_eq!(
                output,
                json!(
                    [1, 2, 3]
                        .iter()
                        .map(|i| json!({"n": i, "r": {"by": "worker", "n": i}}))
                        .collect::<Vec<_>>()
                )
            ),
        }
        let shape = check_history(port, arn);
        // Executions of the same machine enter and leave the same states.
        let first = shapes
            .entry((n % 3) as usize)
            .or_insert_with(|| shape.clone());
        let strip = |v: &[(String, String)]| v.to_vec();
        assert_eq!(
            strip(first),
            strip(&shape),
            "{arn} differs from its siblings"
        );
    }
    drop(server);
    // The workers may sit in a long poll; they end with the process.
    drop(workers);
}

/// The store's lease: a second `baton serve` on the same data directory is
/// refused while the first runs, and takes over at once after the first is
/// killed.
#[test]
fn one_server_per_data_directory() {
    let dir = TempDir(std::env::temp_dir().join(format!(
        "baton-lease-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    let first = Server::start(free_port(), &dir.0);
    let second = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--data",
        ])
        .arg(&dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("baton serve runs");
    assert!(!second.status.success(), "a second server must not start");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains("in use by another Baton"),
        "the refusal says why: {stderr}"
    );
    first.kill();
    let started = Instant::now();
    let _again = Server::start(free_port(), &dir.0);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the lease of a killed server is taken over at once"
    );
}
