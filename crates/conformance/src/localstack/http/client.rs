//! A minimal blocking HTTP/1.1 client for Baton's Step Functions JSON API:
//! one keep-alive connection, `POST /` with `X-Amz-Target`, bodies framed by
//! `Content-Length` (or chunked, which the server may use).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// One answer: HTTP status and JSON body (`Null` when the body is empty or
/// not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error code (`__type` after `#`) of an error answer.
    pub fn error_code(&self) -> Option<&str> {
        let t = self.body.get("__type")?.as_str()?;
        Some(t.rsplit('#').next().unwrap_or(t))
    }

    pub fn error_message(&self) -> Option<&str> {
        self.body
            .get("message")
            .or_else(|| self.body.get("Message"))
            .and_then(Value::as_str)
    }
}

/// A client bound to one server address.
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    timeout: Duration,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            conn: None,
            timeout: Duration::from_secs(30),
        }
    }

    /// Calls `AWSStepFunctions.<action>` with a JSON body.
    pub fn call(&mut self, action: &str, body: &Value) -> Result<Reply, String> {
        let text = body.to_string();
        // A kept-alive connection may have been closed by the server: retry
        // once on a fresh one.
        match self.try_call(action, &text) {
            Ok(r) => Ok(r),
            Err(_) => {
                self.conn = None;
                self.try_call(action, &text)
            }
        }
    }

    fn connect(&mut self) -> Result<&mut BufReader<TcpStream>, String> {
        if self.conn.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))
                .map_err(|e| format!("cannot connect to {}: {e}", self.addr))?;
            let _ = s.set_nodelay(true);
            s.set_read_timeout(Some(self.timeout))
                .map_err(|e| e.to_string())?;
            self.conn = Some(BufReader::new(s));
        }
        self.conn
            .as_mut()
            .ok_or_else(|| "no connection".to_string())
    }

    fn try_call(&mut self, action: &str, body: &str) -> Result<Reply, String> {
        let target = format!("AWSStepFunctions.{action}");
        let raw = self.try_request(
            "POST",
            "/",
            &[
                ("Content-Type", "application/x-amz-json-1.0"),
                ("X-Amz-Target", &target),
            ],
            body.as_bytes(),
        )?;
        Ok(raw.json())
    }

    /// One request with any method, path, headers and body (a kept-alive
    /// connection closed by the server is retried once on a fresh one).
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<RawReply, String> {
        match self.try_request(method, path, headers, body) {
            Ok(r) => Ok(r),
            Err(_) => {
                self.conn = None;
                self.try_request(method, path, headers, body)
            }
        }
    }

    /// Sets how long a reply may take (long polls need more than the default).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
        self.conn = None;
    }

    fn try_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<RawReply, String> {
        let addr = self.addr;
        let conn = self.connect()?;
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
        for (k, v) in headers {
            req.push_str(k);
            req.push_str(": ");
            req.push_str(v);
            req.push_str("\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        conn.get_mut()
            .write_all(&bytes)
            .map_err(|e| format!("write: {e}"))?;
        let result = read_response(conn);
        if result.is_err() {
            self.conn = None;
        }
        let (status, close, body) = result?;
        if close {
            self.conn = None;
        }
        Ok(RawReply { status, body })
    }
}

/// An answer as bytes.
#[derive(Debug, Clone)]
pub struct RawReply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl RawReply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON (`Null` when empty or not JSON).
    pub fn json(self) -> Reply {
        let body = if self.body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            serde_json::from_slice(&self.body).unwrap_or(Value::Null)
        };
        Reply {
            status: self.status,
            body,
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads one response: (status, connection closes, body).
fn read_response(r: &mut BufReader<TcpStream>) -> Result<(u16, bool, Vec<u8>), String> {
    let mut line = String::new();
    if r.read_line(&mut line).map_err(|e| format!("read: {e}"))? == 0 {
        return Err("connection closed".into());
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {line:?}"))?;
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut close = false;
    loop {
        line.clear();
        if r.read_line(&mut line).map_err(|e| format!("read: {e}"))? == 0 {
            return Err("connection closed in headers".into());
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "content-length" => length = v.parse().ok(),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "connection" => close = v.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line).map_err(|e| format!("read: {e}"))?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| format!("bad chunk size {line:?}"))?;
            let mut chunk = vec![0u8; size + 2];
            r.read_exact(&mut chunk).map_err(|e| format!("read: {e}"))?;
            if size == 0 {
                break;
            }
            chunk.truncate(size);
            body.extend_from_slice(&chunk);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        r.read_exact(&mut body).map_err(|e| format!("read: {e}"))?;
    } else {
        r.read_to_end(&mut body).map_err(|e| format!("read: {e}"))?;
        close = true;
    }
    Ok((status, close, body))
}
