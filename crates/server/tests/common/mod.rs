//! A Baton server on `127.0.0.1:0` with a fresh SQLite store, and a tiny
//! HTTP/1.1 client that speaks to it the way AWS SDKs do.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A running server; its data directory is removed on drop.
pub struct Server {
    pub addr: SocketAddr,
    pub dir: PathBuf,
    pub engine: baton_engine::Engine,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_dir() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "baton-server-test-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Starts a server with `account` fixed (or not).
pub async fn start_with(account: Option<&str>) -> Server {
    let dir = temp_dir();
    let store =
        baton_storage::sqlite::SqliteStore::open(&dir.join("baton.db")).expect("open store");
    let engine = baton_engine::Engine::start(Arc::new(store), baton_engine::Config::default())
        .await
        .expect("engine");
    let app = baton_server::router(baton_server::AppState::new(
        engine.clone(),
        account.map(str::to_string),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server { addr, dir, engine }
}

pub async fn start() -> Server {
    start_with(None).await
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `(code after '#', message)` of an error answer.
    pub fn error(&self) -> (String, String) {
        let v = self.json();
        let t = v["__type"].as_str().unwrap_or_default();
        let code = t.rsplit('#').next().unwrap_or_default().to_string();
        (code, v["message"].as_str().unwrap_or_default().to_string())
    }
}

/// Sends one raw request and reads the whole answer.
pub async fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(req.as_bytes()).await.expect("write");
    s.write_all(body).await.expect("write body");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").expect("HTTP answer");
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// boto3's Authorization header for `region` and access key `key`.
pub fn authorization(key: &str, region: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={key}/20261125/{region}/states/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=00"
    )
}

/// Calls an action as boto3 does (us-east-1, access key `test`).
pub async fn call(addr: SocketAddr, action: &str, body: Value) -> Answer {
    call_as(addr, action, body, "test", "us-east-1").await
}

pub async fn call_as(
    addr: SocketAddr,
    action: &str,
    body: Value,
    key: &str,
    region: &str,
) -> Answer {
    let target = format!("AWSStepFunctions.{action}");
    let auth = authorization(key, region);
    raw(
        addr,
        "POST",
        "/",
        &[
            ("X-Amz-Target", &target),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Date", "20261125T145752Z"),
            ("Authorization", &auth),
        ],
        body.to_string().as_bytes(),
    )
    .await
}

/// Calls an action that must succeed; returns its JSON.
pub async fn ok(addr: SocketAddr, action: &str, body: Value) -> Value {
    let a = call(addr, action, body).await;
    assert_eq!(a.status, 200, "{action} failed: {}", a.body);
    a.json()
}

/// Calls an action that must fail with HTTP 400 and `code`; returns the
/// message.
pub async fn fails(addr: SocketAddr, action: &str, body: Value, code: &str) -> String {
    let a = call(addr, action, body).await;
    assert_eq!(
        a.status, 400,
        "{action}: expected 400 {code}, got {} {}",
        a.status, a.body
    );
    assert_eq!(a.header("content-type"), Some("application/x-amz-json-1.0"));
    let (c, m) = a.error();
    assert_eq!(c, code, "{action}: {}", a.body);
    m
}

pub const ROLE: &str = "arn:aws:iam::000000000000:role/sfn";
pub const PASS: &str = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;
