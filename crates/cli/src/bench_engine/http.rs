//! A small HTTP/1.1 keep-alive client for the load generators (`baton bench`
//! and `baton bench sqs`): awsJson requests, one at a time per connection,
//! `Content-Length` or chunked responses.

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One keep-alive connection to Baton's endpoint.
pub(crate) struct Conn {
    stream: TcpStream,
    host: String,
    /// Bytes read past the end of the last response.
    buf: Vec<u8>,
    request: Vec<u8>,
}

/// A response: status and body.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Conn {
    pub(crate) async fn connect(addr: SocketAddr) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            host: addr.to_string(),
            buf: Vec::with_capacity(8192),
            request: Vec::with_capacity(1024),
        })
    }

    /// Sends one Step Functions action (`X-Amz-Target:
    /// AWSStepFunctions.<action>`) and reads its response.
    pub(crate) async fn call(&mut self, action: &str, body: &[u8]) -> anyhow::Result<Response> {
        self.call_target("AWSStepFunctions.", action, body).await
    }

    /// Sends one awsJson action (`X-Amz-Target: <prefix><action>`) and reads
    /// its response.
    pub(crate) async fn call_target(
        &mut self,
        prefix: &str,
        action: &str,
        body: &[u8],
    ) -> anyhow::Result<Response> {
        self.request.clear();
        self.request.extend_from_slice(
            format!(
                "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-amz-json-1.0\r\n\
                 X-Amz-Target: {prefix}{action}\r\nContent-Length: {}\r\n\r\n",
                self.host,
                body.len()
            )
            .as_bytes(),
        );
        self.request.extend_from_slice(body);
        self.stream
            .write_all(&self.request)
            .await
            .context("cannot send the request")?;
        self.read_response().await
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0u8; 8192];
        let n = self
            .stream
            .read(&mut chunk)
            .await
            .context("cannot read the response")?;
        anyhow::ensure!(n > 0, "the server closed the connection");
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    async fn read_response(&mut self) -> anyhow::Result<Response> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            anyhow::ensure!(self.buf.len() < 64 * 1024, "response head too large");
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])
            .context("response head is not UTF-8")?
            .to_string();
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .context("bad status line")?;
        let mut length = None;
        let mut chunked = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        let body = if chunked {
            self.read_chunked().await?
        } else {
            let n = length.unwrap_or(0);
            while self.buf.len() < n {
                self.fill().await?;
            }
            self.buf.drain(..n).collect()
        };
        Ok(Response { status, body })
    }

    async fn read_chunked(&mut self) -> anyhow::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.buf, b"\r\n") {
                    break i;
                }
                self.fill().await?;
            };
            let size_text = std::str::from_utf8(&self.buf[..line_end]).unwrap_or("");
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .context("bad chunk size")?;
            self.buf.drain(..line_end + 2);
            while self.buf.len() < size + 2 {
                self.fill().await?;
            }
            body.extend_from_slice(&self.buf[..size]);
            self.buf.drain(..size + 2);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
