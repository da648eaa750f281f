//! The HTTP client of HTTP/S deliveries: hyper's pooled client over rustls
//! (with the `ring` crypto provider).
//!
//! HTTPS endpoints are trusted through Mozilla's roots (`webpki-roots`),
//! the system's roots (`rustls-native-certs`) and, when the environment
//! names one in [`EXTRA_CA_ENV`], a PEM bundle of extra CA certificates
//! (for endpoints with self-signed or private-CA certificates).

use std::path::Path;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The environment variable naming a PEM file of extra trusted CAs.
pub const EXTRA_CA_ENV: &str = "BATON_EXTRA_CA_CERTS";

/// Mozilla's roots and the system's, read once per process.
fn base_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::debug!(error = %e, "sns: cannot read some of the system's CA certificates");
        }
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(
            system = added,
            ignored,
            total = roots.len(),
            "sns: TLS trust roots loaded"
        );
        roots
    })
}

/// The certificates of a PEM file.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// A client trusting the base roots and `extra` CA certificates.
pub fn client_with(extra: &[CertificateDer<'static>]) -> Result<HttpClient, String> {
    let mut roots = base_roots().clone();
    for cert in extra {
        roots
            .add(cert.clone())
            .map_err(|e| format!("an extra CA certificate is not usable: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// The client of a server: the base roots plus the CAs of the file named
/// by [`EXTRA_CA_ENV`], if any (a file that cannot be read is logged and
/// left out).
pub fn client() -> Result<HttpClient, String> {
    let extra = match std::env::var_os(EXTRA_CA_ENV) {
        Some(path) if !path.is_empty() => match read_ca_file(Path::new(&path)) {
            Ok(certs) => {
                tracing::info!(
                    file = %Path::new(&path).display(),
                    certificates = certs.len(),
                    "sns: trusting extra CA certificates from {EXTRA_CA_ENV}"
                );
                certs
            }
            Err(e) => {
                tracing::warn!(error = %e, "sns: {EXTRA_CA_ENV} ignored");
                Vec::new()
            }
        },
        _ => Vec::new(),
    };
    match client_with(&extra) {
        Ok(c) => Ok(c),
        Err(e) if !extra.is_empty() => {
            tracing::warn!(error = %e, "sns: {EXTRA_CA_ENV} ignored");
            client_with(&[])
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug)]
pub enum PostError {
    /// The endpoint cannot be reached by this build (never worth a retry).
    Unsupported(String),
    /// The request failed (connection refused, reset, TLS handshake or
    /// certificate failure, ...).
    Failed(String),
}

/// The whole chain of an error's causes, one after the other (hyper's
/// top-level "client error (Connect)" hides the TLS reason).
fn reason(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cause = c.source();
    }
    out
}

/// POSTs `body` to `url`; the response's status.
pub async fn post(
    client: &HttpClient,
    url: &str,
    headers: &[(&str, String)],
    body: String,
) -> Result<u16, PostError> {
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
        .map_err(|e| PostError::Failed(format!("POST {url} failed: {}", reason(&e))))?;
    let status = resp.status().as_u16();
    // read (and drop) the body so the connection can be reused
    let _ = http_body_util::BodyExt::collect(resp.into_body()).await;
    Ok(status)
}
