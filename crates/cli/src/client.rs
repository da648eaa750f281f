//! A small HTTP client for Baton's APIs, as the CLI uses them: the AWS JSON
//! protocol (Step Functions, SQS), the query protocol (SNS), the Lambda
//! REST API and Baton's own `/_baton/v1` API.
//!
//! Requests are not signed: Baton accepts unsigned requests unless it runs
//! with `--auth`. Each carries an `Authorization` header whose credential
//! scope names the region (and the account, as a 12-digit access key id) so
//! Baton acts in them.

use std::fmt;

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// The endpoint when neither `--endpoint` nor `BATON_ENDPOINT` is given.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";

/// An error answer from the server, in AWS's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub status: u16,
    /// The error code without its namespace (`QueueDoesNotExist`, ...).
    pub code: String,
    pub message: String,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}

/// The AWS error code of `e`, if the server answered one.
pub fn error_code(e: &anyhow::Error) -> Option<&str> {
    e.downcast_ref::<AwsError>().map(|a| a.code.as_str())
}

/// A client for one Baton endpoint, acting in one region and account.
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: String,
    authority: String,
    region: String,
    access_key: String,
}

impl Client {
    /// `endpoint` is `http://host:port`; `account` (12 digits) is sent as the
    /// access key id so Baton acts in it.
    pub fn new(endpoint: &str, region: &str, account: Option<&str>) -> anyhow::Result<Client> {
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let uri: hyper::Uri = endpoint
            .parse()
            .with_context(|| format!("invalid endpoint {endpoint:?}"))?;
        anyhow::ensure!(
            uri.scheme_str() == Some("http"),
            "the endpoint must be an http:// URL (got {endpoint:?})"
        );
        let authority = uri
            .authority()
            .map(|a| {
                if a.port().is_some() {
                    a.to_string()
                } else {
                    format!("{a}:80")
                }
            })
            .ok_or_else(|| anyhow::anyhow!("the endpoint {endpoint:?} names no host"))?;
        Ok(Client {
            endpoint,
            authority,
            region: region.to_string(),
            access_key: account.unwrap_or("baton").to_string(),
        })
    }

    /// The same endpoint in another region.
    pub fn in_region(&self, region: &str) -> Client {
        Client {
            region: region.to_string(),
            ..self.clone()
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// One request; answers the status, the `x-amzn-errortype` header and
    /// the body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        service: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, Option<String>, Bytes)> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot reach Baton at {}: {e}. Start it with `baton serve` (or pass --endpoint URL / \
                     set BATON_ENDPOINT)",
                    self.endpoint
                )
            })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .with_context(|| format!("cannot talk HTTP to {}", self.endpoint))?;
        let conn = tokio::spawn(conn);
        let stamp = baton_asl::time::format_basic(baton_engine::runtime::wall_clock_ms());
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential={}/{}/{}/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=0",
            self.access_key,
            &stamp[..8],
            self.region
        );
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.authority)
            .header("x-amz-date", &stamp)
            .header("authorization", authorization);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .context("cannot build the request")?;
        let resp = sender
            .send_request(req)
            .await
            .with_context(|| format!("the request to {} failed", self.endpoint))?;
        let status = resp.status().as_u16();
        let error_type = resp
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp
            .into_body()
            .collect()
            .await
            .with_context(|| format!("cannot read the answer of {}", self.endpoint))?
            .to_bytes();
        conn.abort();
        Ok((status, error_type, bytes))
    }

    /// An AWS JSON-protocol action: `target` is `AmazonSQS.CreateQueue`,
    /// `AWSStepFunctions.StartExecution`, ...; `service` the signing name.
    pub async fn json(&self, service: &str, target: &str, input: &Value) -> anyhow::Result<Value> {
        let (status, error_type, body) = self
            .send(
                Method::POST,
                "/",
                service,
                &[
                    ("x-amz-target", target),
                    ("content-type", "application/x-amz-json-1.0"),
                ],
                input.to_string().into_bytes(),
            )
            .await?;
        json_answer(status, error_type, &body, target)
    }

    /// A REST call with an optional JSON body (Lambda, Baton's API).
    pub async fn rest(
        &self,
        method: Method,
        path: &str,
        service: &str,
        input: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let what = format!("{method} {path}");
        let body = input
            .map(|v| v.to_string().into_bytes())
            .unwrap_or_default();
        let (status, error_type, body) = self
            .send(
                method,
                path,
                service,
                &[("content-type", "application/json")],
                body,
            )
            .await?;
        json_answer(status, error_type, &body, &what)
    }

    /// A query-protocol action (SNS): answers the XML text.
    pub async fn query(&self, service: &str, params: &[(&str, String)]) -> anyhow::Result<String> {
        let body: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect();
        let action = params
            .iter()
            .find(|(k, _)| *k == "Action")
            .map_or("", |(_, v)| v.as_str())
            .to_string();
        let (status, _, body) = self
            .send(
                Method::POST,
                "/",
                service,
                &[(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )],
                body.join("&").into_bytes(),
            )
            .await?;
        let text = String::from_utf8_lossy(&body).into_owned();
        if status >= 400 {
            let code = xml_text(&text, "Code").unwrap_or_else(|| format!("HTTP{status}"));
            let message = xml_text(&text, "Message").unwrap_or_else(|| text.trim().to_string());
            return Err(AwsError {
                status,
                code,
                message,
            })
            .with_context(|| format!("{service} {action} failed"));
        }
        Ok(text)
    }
}

/// A JSON answer, or its error as an [`AwsError`].
fn json_answer(
    status: u16,
    error_type: Option<String>,
    body: &[u8],
    what: &str,
) -> anyhow::Result<Value> {
    let parsed: Option<Value> = if body.is_empty() {
        Some(Value::Object(Default::default()))
    } else {
        serde_json::from_slice(body).ok()
    };
    if status < 400 {
        return parsed.ok_or_else(|| {
            anyhow::anyhow!(
                "{what}: the answer is not JSON: {}",
                String::from_utf8_lossy(body)
            )
        });
    }
    let field = |k: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let code = field("__type")
        .or_else(|| field("Type").filter(|t| t != "User"))
        .or_else(|| field("code"))
        .or(error_type)
        .map(|c| {
            let c = c.rsplit('#').next().unwrap_or(&c).to_string();
            c.split(':').next().unwrap_or(&c).to_string()
        })
        .unwrap_or_else(|| format!("HTTP{status}"));
    let message = field("message")
        .or_else(|| field("Message"))
        .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    Err(AwsError {
        status,
        code,
        message,
    })
    .with_context(|| format!("{what} failed"))
}

/// The text of the first `<tag>...</tag>` in `xml`, entities decoded.
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(xml_unescape(&xml[start..end]))
}

/// Every `<tag>...</tag>` block's inner text, in order.
pub fn xml_blocks<'x>(xml: &'x str, tag: &str) -> Vec<&'x str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#xD;", "\r")
        .replace("&#xA;", "\n")
        .replace("&amp;", "&")
}

/// `application/x-www-form-urlencoded` encoding (RFC 3986 unreserved kept).
fn form_encode(s: &str) -> String {
    percent_encode(s, b"")
}

/// Percent-encodes `s`, keeping RFC 3986's unreserved characters and the
/// bytes in `keep`.
pub fn percent_encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') || keep.contains(&b)
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let c = Client::new("http://127.0.0.1:4566/", "eu-west-1", None).expect("valid");
        assert_eq!(c.endpoint(), "http://127.0.0.1:4566");
        assert_eq!(c.authority, "127.0.0.1:4566");
        let c = Client::new("http://localhost", "eu-west-1", None).expect("valid");
        assert_eq!(c.authority, "localhost:80");
        assert!(Client::new("https://x:1", "r", None).is_err());
        assert!(Client::new("not a url", "r", None).is_err());
    }

    #[test]
    fn errors_and_xml() {
        let e = json_answer(
            400,
            None,
            br#"{"__type":"com.amazonaws.swf.service.v2.model#StateMachineDoesNotExist","message":"gone"}"#,
            "x",
        )
        .expect_err("error");
        assert_eq!(error_code(&e), Some("StateMachineDoesNotExist"));
        let e = json_answer(
            404,
            Some("ResourceNotFoundException:http://x".into()),
            b"{\"Type\":\"User\",\"Message\":\"m\"}",
            "x",
        )
        .expect_err("error");
        assert_eq!(error_code(&e), Some("ResourceNotFoundException"));
        let xml = "<R><member><A>1 &amp; 2</A></member><member><A>3</A></member></R>";
        assert_eq!(xml_blocks(xml, "member").len(), 2);
        assert_eq!(xml_text(xml, "A").as_deref(), Some("1 & 2"));
        assert_eq!(form_encode("a b/{\"x\"}"), "a%20b%2F%7B%22x%22%7D");
    }
}
