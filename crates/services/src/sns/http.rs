//! The HTTP client of HTTP/S deliveries (hyper's pooled client).

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

#[derive(Debug)]
pub enum PostError {
    /// The endpoint cannot be reached by this build (never worth a retry).
    Unsupported(String),
    /// The request failed (connection refused, reset, ...).
    Failed(String),
}

/// POSTs `body` to `url`; the response's status.
pub async fn post(
    client: &HttpClient,
    url: &str,
    headers: &[(&str, String)],
    body: String,
) -> Result<u16, PostError> {
    if url.starts_with("https://") {
        return Err(PostError::Unsupported(format!(
            "delivery to {url}: HTTPS endpoints are not supported by Baton (this build has no TLS client); subscribe an http:// endpoint"
        )));
    }
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| PostError::Unsupported(format!("{url} is not a valid URL: {e}")))?;
    let mut req = hyper::Request::builder()
        .method(hyper::Method::POST)
        .uri(uri);
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| PostError::Unsupported(format!("cannot build a request to {url}: {e}")))?;
    let resp = client
        .request(req)
        .await
        .map_err(|e| PostError::Failed(format!("POST {url} failed: {e}")))?;
    let status = resp.status().as_u16();
    // read (and drop) the body so the connection can be reused
    let _ = http_body_util::BodyExt::collect(resp.into_body()).await;
    Ok(status)
}
