//! The Lambda Runtime API (`/2018-06-01/runtime/...`) one worker process
//! talks to, on its own loopback port (`AWS_LAMBDA_RUNTIME_API`): a small
//! HTTP/1.1 server (keep-alive, `Content-Length` or chunked bodies) that
//! hands the worker's invocations out on `GET .../invocation/next` and
//! turns `POST .../response`, `.../error` and `.../init/error` into
//! [`ApiEvent`]s.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::model::{MAX_SYNC_PAYLOAD, now_ms};

/// The largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// One invocation waiting for the runtime's `next`.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub request_id: String,
    pub payload: Vec<u8>,
    /// The function's timeout; the deadline starts when `next` hands the
    /// event out.
    pub timeout_ms: u64,
    pub function_arn: String,
    pub trace_id: String,
}

/// What the runtime reported.
#[derive(Debug)]
pub(crate) enum ApiEvent {
    /// `next` handed the invocation out (its clock starts).
    Delivered {
        request_id: String,
        at: Instant,
    },
    Response {
        request_id: String,
        body: Vec<u8>,
    },
    Error {
        request_id: String,
        body: Vec<u8>,
        error_type: Option<String>,
    },
    /// The response was larger than 6 MB.
    TooLarge {
        request_id: String,
    },
    InitError {
        body: Vec<u8>,
        error_type: Option<String>,
    },
}

/// A worker's Runtime API endpoint; dropping it stops the server and
/// closes its connections.
pub(crate) struct RuntimeApi {
    pub addr: SocketAddr,
    pub pending: mpsc::Sender<Pending>,
    pub events: mpsc::UnboundedReceiver<ApiEvent>,
    task: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    pending: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    events: mpsc::UnboundedSender<ApiEvent>,
    current: std::sync::Mutex<Option<String>>,
}

impl RuntimeApi {
    /// Listens on a free loopback port.
    pub async fn start() -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (ptx, prx) = mpsc::channel(1);
        let (etx, erx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            pending: tokio::sync::Mutex::new(prx),
            events: etx,
            current: std::sync::Mutex::new(None),
        });
        let task = tokio::spawn(accept_loop(listener, shared));
        Ok(RuntimeApi {
            addr,
            pending: ptx,
            events: erx,
            task,
        })
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    conns.spawn(serve_conn(stream, shared.clone()));
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

enum ReadError {
    Closed,
    TooLarge(usize),
    Bad,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), ReadError> {
    let mut tmp = [0u8; 16 * 1024];
    match stream.read(&mut tmp).await {
        Ok(0) | Err(_) => Err(ReadError::Closed),
        Ok(n) => {
            buf.extend_from_slice(&tmp[..n]);
            Ok(())
        }
    }
}

/// Reads one request from `stream`; `buf` keeps bytes read past it.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Request, ReadError> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(ReadError::Bad);
        }
        fill(stream, buf).await?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let version = first.next().unwrap_or("");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let close = match get("connection") {
        Some(c) => c == "close",
        None => version == "HTTP/1.0",
    };
    let limit = MAX_SYNC_PAYLOAD + 1024;
    let body = if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(buf, b"\r\n") {
                    break i;
                }
                if buf.len() > 1024 {
                    return Err(ReadError::Bad);
                }
                fill(stream, buf).await?;
            };
            let size_text = String::from_utf8_lossy(&buf[..line_end]).into_owned();
            let size_text = size_text.split(';').next().unwrap_or("").trim().to_string();
            let size = usize::from_str_radix(&size_text, 16).map_err(|_| ReadError::Bad)?;
            buf.drain(..line_end + 2);
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    if let Some(i) = find(buf, b"\r\n") {
                        let empty = i == 0;
                        buf.drain(..i + 2);
                        if empty {
                            break;
                        }
                    } else {
                        fill(stream, buf).await?;
                    }
                }
                break;
            }
            if body.len() + size > limit {
                return Err(ReadError::TooLarge(body.len() + size));
            }
            while buf.len() < size + 2 {
                fill(stream, buf).await?;
            }
            body.extend_from_slice(&buf[..size]);
            buf.drain(..size + 2);
        }
        body
    } else {
        let len: usize = match get("content-length") {
            Some(l) => l.trim().parse().map_err(|_| ReadError::Bad)?,
            None => 0,
        };
        if len > limit {
            return Err(ReadError::TooLarge(len));
        }
        while buf.len() < len {
            fill(stream, buf).await?;
        }
        buf.drain(..len).collect()
    };
    Ok(Request {
        method,
        path,
        headers,
        body,
        close,
    })
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
    close: bool,
) -> bool {
    let reason = match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        _ => "Error",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    stream.write_all(&out).await.is_ok()
}

fn error_body(error_type: &str, message: &str) -> Vec<u8> {
    serde_json::json!({"errorMessage": message, "errorType": error_type})
        .to_string()
        .into_bytes()
}

const PREFIX: &str = "/2018-06-01/runtime/";

async fn serve_conn(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::new();
    loop {
        let req = match read_request(&mut stream, &mut buf).await {
            Ok(r) => r,
            Err(ReadError::Closed) => return,
            Err(ReadError::Bad) => {
                let body = error_body("InvalidRequest", "Malformed HTTP request");
                respond(&mut stream, 400, &[], &body, true).await;
                return;
            }
            Err(ReadError::TooLarge(size)) => {
                let id = shared.current.lock().ok().and_then(|mut c| c.take());
                if let Some(request_id) = id {
                    tracing::debug!(size, "a runtime's answer exceeds the payload limit");
                    let _ = shared.events.send(ApiEvent::TooLarge { request_id });
                }
                let body = error_body(
                    "RequestEntityTooLarge",
                    &format!("Exceeded maximum allowed payload size ({MAX_SYNC_PAYLOAD} bytes)."),
                );
                respond(&mut stream, 413, &[], &body, true).await;
                return;
            }
        };
        let path = req.path.split('?').next().unwrap_or("").to_string();
        let rest = path.strip_prefix(PREFIX).unwrap_or("");
        let ok = match (req.method.as_str(), rest) {
            ("GET", "invocation/next") => {
                let Some(ok) = next(&mut stream, &mut buf, &shared, req.close).await else {
                    return;
                };
                ok
            }
            ("POST", "init/error") => {
                let _ = shared.events.send(ApiEvent::InitError {
                    error_type: req
                        .header("lambda-runtime-function-error-type")
                        .map(str::to_string),
                    body: req.body,
                });
                respond(&mut stream, 202, &[], br#"{"status":"OK"}"#, req.close).await
            }
            ("POST", r) if r.starts_with("invocation/") => {
                let tail = &r["invocation/".len()..];
                let (id, kind) = match tail.rsplit_once('/') {
                    Some((id, k @ ("response" | "error"))) => (id, k),
                    _ => ("", ""),
                };
                if kind.is_empty() {
                    let body = error_body("InvalidRequest", "Unknown Runtime API path");
                    respond(&mut stream, 404, &[], &body, req.close).await
                } else {
                    let current = shared.current.lock().ok().and_then(|mut c| {
                        if c.as_deref() == Some(id) {
                            c.take()
                        } else {
                            None
                        }
                    });
                    match current {
                        None => {
                            let body = error_body("InvalidRequestID", "Invalid request ID");
                            respond(&mut stream, 400, &[], &body, req.close).await
                        }
                        Some(request_id) => {
                            let ev = if kind == "response" {
                                ApiEvent::Response {
                                    request_id,
                                    body: req.body,
                                }
                            } else {
                                ApiEvent::Error {
                                    request_id,
                                    error_type: req
                                        .header("lambda-runtime-function-error-type")
                                        .map(str::to_string),
                                    body: req.body,
                                }
                            };
                            let _ = shared.events.send(ev);
                            respond(&mut stream, 202, &[], br#"{"status":"OK"}"#, req.close).await
                        }
                    }
                }
            }
            _ => {
                let body = error_body("InvalidRequest", "Unknown Runtime API path");
                respond(&mut stream, 404, &[], &body, req.close).await
            }
        };
        if !ok || req.close {
            return;
        }
    }
}

/// `GET next`: waits for the worker's next invocation (or the client
/// leaving). `None` when the connection is gone.
async fn next(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    shared: &Shared,
    close: bool,
) -> Option<bool> {
    let mut rx = shared.pending.lock().await;
    let mut tmp = [0u8; 4096];
    let pending = loop {
        tokio::select! {
            p = rx.recv() => break p?,
            r = stream.read(&mut tmp) => match r {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            },
        }
    };
    drop(rx);
    let deadline = now_ms() + pending.timeout_ms as i64;
    if let Ok(mut c) = shared.current.lock() {
        *c = Some(pending.request_id.clone());
    }
    let _ = shared.events.send(ApiEvent::Delivered {
        request_id: pending.request_id.clone(),
        at: Instant::now(),
    });
    let headers = [
        ("Lambda-Runtime-Aws-Request-Id", pending.request_id.clone()),
        ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
        (
            "Lambda-Runtime-Invoked-Function-Arn",
            pending.function_arn.clone(),
        ),
        ("Lambda-Runtime-Trace-Id", pending.trace_id.clone()),
    ];
    Some(respond(stream, 200, &headers, &pending.payload, close).await)
}
