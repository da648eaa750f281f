//! End to end: Serverless Framework apps through `baton run`, and through
//! `baton serve` + `baton deploy` + `baton invoke` as separate processes.
//!
//! The seed app (`../shared/seed/callback-example` beside the repository,
//! skipped with a message when absent) is copied unchanged into a temporary
//! folder: two files, no node_modules. Its handlers answer with
//! SendTaskSuccess through the SDK Baton's function runtime provides.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Long enough for a first run that installs the runtime's SDK.
const TIMEOUT: Duration = Duration::from_secs(600);

struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("baton-test-{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The seed app copied into a fresh folder, or `None` (with a message) when
/// the shared folder is absent.
fn seed_copy() -> Option<TempDir> {
    let seed = repo().join("../shared/seed/callback-example");
    if !seed.join("serverless.yml").is_file() {
        eprintln!("skipped: the seed app ({}) is absent", seed.display());
        return None;
    }
    let dir = TempDir::new("seed");
    for name in ["serverless.yml", "handler.js"] {
        let text = std::fs::read(seed.join(name)).expect("read the seed");
        std::fs::write(dir.0.join(name), text).expect("copy the seed");
    }
    Some(dir)
}

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `baton ARGS` to its end (killed after `TIMEOUT`).
fn baton(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("baton starts");
    finish(child, &args.join(" "))
}

fn finish(mut child: Child, what: &str) -> Output {
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`baton {what}` did not finish in {TIMEOUT:?}; stderr:\n{}",
                err_t.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        code: status.code(),
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

/// The execution `baton invoke`/`run` printed; checks it SUCCEEDED.
fn succeeded(o: &Output) -> Value {
    assert_eq!(
        o.code,
        Some(0),
        "exit code; stdout:\n{}\nstderr:\n{}",
        o.stdout,
        o.stderr
    );
    let v: Value = serde_json::from_str(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", o.stdout));
    assert_eq!(v["status"], "SUCCEEDED", "{v:#}\nstderr:\n{}", o.stderr);
    // ISO-8601 dates, as `sls invoke stepf` prints them.
    let start = v["startDate"].as_str().expect("startDate is a string");
    assert!(
        start.len() == 24 && start.ends_with('Z'),
        "startDate {start}"
    );
    v
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

fn healthy(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.starts_with("HTTP/1.1 200")
}

struct Server(Child);

impl Server {
    fn start(port: u16, data: &Path) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("baton serve starts");
        let server = Server(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if healthy(port) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("baton serve did not come up");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_seed_runs_with_baton_run() {
    let Some(app) = seed_copy() else { return };
    let dir = app.0.to_string_lossy().into_owned();
    let o = baton(&["run", &dir, "--name", "callbackExample", "--data", "{}"]);
    let v = succeeded(&o);
    assert_eq!(v["output"], "42", "{v:#}");
    assert_eq!(v["input"], "{}");
    assert!(
        v["stateMachineArn"]
            .as_str()
            .is_some_and(|a| a.ends_with(":stateMachine:callback-example")
                && a.starts_with("arn:aws:states:ap-southeast-2:")),
        "{v:#}"
    );
    // Deploy progress and the plugin's validation went to stderr.
    assert!(
        o.stderr
            .contains("✓ State machine \"callbackExample\" definition is valid"),
        "{}",
        o.stderr
    );
    assert!(!app.0.join("node_modules").exists());
}

#[test]
fn the_seed_runs_with_serve_deploy_and_invoke() {
    let Some(app) = seed_copy() else { return };
    let data = TempDir::new("seed-serve");
    let port = free_port();
    let _server = Server::start(port, &data.0);
    let endpoint = format!("http://127.0.0.1:{port}");
    let dir = app.0.to_string_lossy().into_owned();

    let deployed = baton(&["deploy", &dir, "--endpoint", &endpoint]);
    assert_eq!(
        deployed.code,
        Some(0),
        "deploy: {}\n{}",
        deployed.stdout,
        deployed.stderr
    );
    assert!(
        deployed.stdout.contains("state machine"),
        "{}",
        deployed.stdout
    );
    assert!(
        deployed
            .stderr
            .contains("warning: provider.iamRoleStatements"),
        "{}",
        deployed.stderr
    );

    // From another folder: the key is found through the apps registry.
    let invoked = baton(&[
        "invoke",
        "--name",
        "callbackExample",
        "--data",
        "{}",
        "--endpoint",
        &endpoint,
    ]);
    let v = succeeded(&invoked);
    assert_eq!(v["output"], "42", "{v:#}");

    // Deploying again updates in place: nothing is created twice.
    let again = baton(&["deploy", &dir, "--endpoint", &endpoint]);
    assert_eq!(again.code, Some(0), "{}\n{}", again.stdout, again.stderr);
    assert!(!again.stdout.contains(" created "), "{}", again.stdout);
    let invoked = baton(&[
        "invoke",
        "--name",
        "callback-example",
        "--endpoint",
        &endpoint,
    ]);
    let v = succeeded(&invoked);
    assert_eq!(v["output"], "42", "{v:#}");
}

#[test]
fn the_callback_example_runs() {
    let dir = repo().join("examples/callback");
    let dir = dir.to_string_lossy().into_owned();
    let o = baton(&[
        "run",
        &dir,
        "--name",
        "callbackExample",
        "--data",
        r#"{"order": "A-17"}"#,
    ]);
    let v = succeeded(&o);
    let output: Value = serde_json::from_str(v["output"].as_str().expect("output")).expect("JSON");
    assert_eq!(output["order"], "A-17");
    assert_eq!(
        output["channels"],
        serde_json::json!(["sqs", "lambda", "sns"])
    );
}

#[test]
fn invoke_names_what_is_missing() {
    let data = TempDir::new("invoke-missing");
    let port = free_port();
    let _server = Server::start(port, &data.0);
    let endpoint = format!("http://127.0.0.1:{port}");
    let o = baton(&["invoke", "--name", "nothingHere", "--endpoint", &endpoint]);
    assert_eq!(o.code, Some(1), "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .contains("\"nothingHere\" stateMachine does not exist"),
        "{}",
        o.stderr
    );
}

#[test]
fn deploy_without_baton_is_a_clear_error() {
    let port = free_port();
    let dir = repo().join("examples/callback");
    let o = baton(&[
        "deploy",
        &dir.to_string_lossy(),
        "--endpoint",
        &format!("http://127.0.0.1:{port}"),
        "--no-install",
    ]);
    assert_eq!(o.code, Some(1), "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("cannot reach Baton at"), "{}", o.stderr);
}

#[test]
fn dry_run_prints_the_resolved_plan() {
    let dir = repo().join("examples/callback");
    let o = baton(&[
        "deploy",
        &dir.to_string_lossy(),
        "--dry-run",
        "--stage",
        "test",
        "--region",
        "eu-west-1",
    ]);
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).expect("JSON plan");
    assert_eq!(v["stage"], "test");
    assert_eq!(v["stateMachines"][0]["name"], "baton-callback-test");
    assert_eq!(
        v["stateMachines"][0]["arn"],
        "arn:aws:states:eu-west-1:000000000000:stateMachine:baton-callback-test"
    );
}
