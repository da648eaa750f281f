//! Baton's HTTP server: one endpoint speaking the AWS Step Functions JSON
//! protocol, the SQS JSON and query protocols, the SNS query protocol and the
//! Lambda REST API (so boto3, the aws CLI and the SDKs work unchanged), plus
//! Baton's own API for `baton deploy` (`/_baton/v1/...`), `/metrics`
//! (Prometheus text) and `/health`.
//!
//! - [`sfn`], [`sqs`], [`sns`], [`lambda`], [`baton_api`]: one module per
//!   protocol (the only module that knows it). `POST /` (and `POST` to a
//!   queue URL's path) is routed by [`protocol_of`].
//! - [`auth`]: region and account of a request; SigV4 verification with
//!   `--auth`.
//! - [`metrics`]: the metrics registry.
//!
//! StartSyncExecution is answered on any host: SDKs send it to
//! `sync-<endpoint host>` unless host prefix injection is disabled.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use baton_engine::Engine;

pub mod auth;
pub mod baton_api;
pub mod lambda;
pub mod metrics;
mod request;
pub mod sfn;
pub mod sns;
pub mod sqs;
mod xml;

pub use metrics::Registry;
pub use sfn::ApiError;

/// The largest request body accepted (AWS's hard 1 MB quota).
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// How long shutdown waits for in-flight requests (long polls included)
/// before closing them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// `baton serve`'s settings.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen (default `127.0.0.1:4566`).
    pub listen: SocketAddr,
    /// The data directory; the database is `<data>/baton.db`.
    pub data_dir: PathBuf,
    /// Scales every wait the engine makes (0 skips Wait states and
    /// back-off).
    pub time_scale: f64,
    /// An AWS Step Functions Local MockConfigFile.
    pub mock_config: Option<PathBuf>,
    /// The account every request acts in (else from the access key id, else
    /// `000000000000`).
    pub account: Option<String>,
    /// Verify every request's SigV4 signature against `credentials`.
    pub auth: bool,
    /// The keys `auth` accepts (see [`auth::credentials`] for the format).
    pub credentials: Option<PathBuf>,
    /// Allow listening on a non-loopback address without `auth`.
    pub insecure_allow_remote: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 4566)),
            data_dir: PathBuf::from(".baton"),
            time_scale: 1.0,
            mock_config: None,
            account: None,
            auth: false,
            credentials: None,
            insecure_allow_remote: false,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    engine: Engine,
    account: Option<String>,
    metrics: Arc<Registry>,
    verifier: Option<Arc<auth::Verifier>>,
    services: Option<Arc<baton_services::Services>>,
}

impl AppState {
    /// The state for `engine`; `account` fixes the account of every request.
    pub fn new(engine: Engine, account: Option<String>) -> Self {
        let metrics = Arc::new(Registry::new());
        let e = engine.clone();
        metrics.add_collector(move |out| engine_metrics(&e, out));
        Self {
            engine,
            account,
            metrics,
            verifier: None,
            services: None,
        }
    }

    /// Serves the SQS, SNS and Lambda APIs from `services`.
    pub fn with_services(mut self, services: Arc<baton_services::Services>) -> Self {
        self.services = Some(services);
        self
    }

    /// The built-in services, when this server runs them.
    pub fn services(&self) -> Option<&Arc<baton_services::Services>> {
        self.services.as_ref()
    }

    /// The account fixed by `--account`, if any.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// Who sent a request signed for `service` (`sqs`, `sns`, `lambda`,
    /// ...): with `--auth` the signature is verified first; without it the
    /// region and account come from the credential scope unchecked.
    pub fn authorize(
        &self,
        service: &str,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<baton_engine::Caller, baton_services::ServiceError> {
        match self.verify(service, method, uri, headers, body) {
            Some(Ok(v)) => Ok(v.caller(self.account.as_deref())),
            Some(Err(e)) => {
                tracing::debug!(error = %e.message, "signature refused");
                Err(baton_services::ServiceError::client(e.code(), e.message).with_status(403))
            }
            None => Ok(auth::caller(headers, self.account.as_deref())),
        }
    }

    /// With `--auth`, the check of a request's signature for `service`;
    /// `None` without.
    fn verify(
        &self,
        service: &str,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Result<auth::Verified, auth::AuthError>> {
        let req = auth::sigv4::Request {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query().unwrap_or(""),
            headers,
            body,
        };
        Some(self.verifier.as_ref()?.verify_now(service, &req))
    }

    /// Verifies every request's SigV4 signature with `verifier` (`--auth`).
    pub fn with_verifier(mut self, verifier: auth::Verifier) -> Self {
        self.verifier = Some(Arc::new(verifier));
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The metrics registry `/metrics` renders.
    pub fn metrics(&self) -> &Arc<Registry> {
        &self.metrics
    }
}

/// The engine's counters in Prometheus text format.
fn engine_metrics(engine: &Engine, out: &mut String) {
    use std::fmt::Write as _;
    use std::sync::atomic::Ordering::Relaxed;
    let m = engine.metrics();
    for (name, help, counter) in [
        (
            "baton_transitions_total",
            "States entered, counted once durable (rate() gives transitions/s).",
            &m.transitions,
        ),
        (
            "baton_commits_total",
            "Group commits written to the store.",
            &m.commits,
        ),
        (
            "baton_executions_started_total",
            "Executions started by this process.",
            &m.executions_started,
        ),
        (
            "baton_executions_finished_total",
            "Executions that ended in this process.",
            &m.executions_finished,
        ),
        (
            "baton_timers_fired_total",
            "Durable timers fired.",
            &m.timers_fired,
        ),
    ] {
        let v = counter.load(Relaxed);
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    }
    // Executions by status, from the store (a scrape reads one small
    // aggregate).
    if let Ok(counts) = engine.store().execution_counts() {
        let _ = writeln!(
            out,
            "# HELP baton_executions Executions by status.\n# TYPE baton_executions gauge"
        );
        for (status, n) in counts {
            let _ = writeln!(out, "baton_executions{{status=\"{status}\"}} {n}");
        }
    }
    let started = m.executions_started.load(Relaxed);
    let finished = m.executions_finished.load(Relaxed);
    let _ = writeln!(
        out,
        "# HELP baton_activity_tasks_waiting Activity tasks waiting for a worker.\n# TYPE baton_activity_tasks_waiting gauge\nbaton_activity_tasks_waiting {}",
        engine.activity_tasks_waiting()
    );
    let _ = writeln!(
        out,
        "# HELP baton_executions_in_flight Executions started minus ended since this process started.\n# TYPE baton_executions_in_flight gauge\nbaton_executions_in_flight {}",
        started.saturating_sub(finished)
    );
    let histogram =
        |out: &mut String, name: &str, help: &str, h: &baton_engine::runtime::Histogram| {
            let (buckets, count, sum) = h.snapshot();
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
            for (bound, c) in buckets {
                if bound == u64::MAX {
                    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {c}");
                } else {
                    let _ = writeln!(out, "{name}_bucket{{le=\"{}\"}} {c}", bound as f64 / 1e6);
                }
            }
            let _ = writeln!(out, "{name}_sum {}\n{name}_count {count}", sum as f64 / 1e6);
        };
    histogram(
        out,
        "baton_commit_seconds",
        "Time one group commit takes.",
        &m.commit_latency,
    );
    histogram(
        out,
        "baton_timer_lateness_seconds",
        "How late durable timers fire.",
        &m.timer_lateness,
    );
}

/// The router: `POST /` (Step Functions, SQS and SNS by [`protocol_of`]),
/// `POST /<account>/<queue>` (SQS at a queue URL), the Lambda REST API,
/// Baton's own API, `GET /metrics`, `GET /health`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", post(api).get(query_get))
        .route("/{account}/{queue}", post(api))
        .route("/metrics", get(metrics_text))
        .route("/health", get(health))
        .merge(lambda::routes())
        .merge(baton_api::routes())
        .with_state(state)
}

/// Which protocol a `POST` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `X-Amz-Target: AWSStepFunctions.*` (and anything unrecognised, which
    /// the Step Functions module answers with its own errors).
    StepFunctions,
    /// `X-Amz-Target: AmazonSQS.*`.
    SqsJson,
    /// A form-encoded query request (`Action=...`): SQS or SNS, told apart
    /// by [`sqs::is_query_request`] / the signing service.
    Query,
}

/// The protocol of a request, from its headers.
pub fn protocol_of(headers: &HeaderMap) -> Protocol {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if target.starts_with(sqs::TARGET_PREFIX) {
        return Protocol::SqsJson;
    }
    if target.is_empty()
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
    {
        return Protocol::Query;
    }
    Protocol::StepFunctions
}

/// The signing service of a request (`sqs`, `sns`, `states`, ...), from its
/// `Authorization` header's credential scope.
pub fn signing_service(headers: &HeaderMap) -> Option<&str> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?;
    scope.split(['/', ',']).nth(3)
}

async fn health() -> Response {
    let mut resp = (StatusCode::OK, r#"{"status":"ok"}"#).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    let mut resp = (StatusCode::OK, state.metrics.render()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// `GET /?Action=...`: a query-protocol request in the URL (the SNS
/// subscribe and unsubscribe links in notifications are such GETs).
async fn query_get(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let params = form_params(uri.query().unwrap_or(""), b"");
    if !params.iter().any(|(k, _)| k == "Action") {
        return (
            StatusCode::NOT_FOUND,
            "Baton: POST AWS API requests to this endpoint, or see /health and /metrics",
        )
            .into_response();
    }
    let action = query_action(&params);
    let empty = axum::body::Bytes::new();
    if sqs::is_query_request(action, &params, uri.path()) {
        sqs::handle_query(&state, &method, &uri, &headers, &empty, params).await
    } else {
        sns::handle_query(&state, &method, &uri, &headers, &empty, params).await
    }
}

/// `POST /` (or a queue URL's path): one action of the protocol the
/// headers name.
async fn api(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match protocol_of(&headers) {
        Protocol::SqsJson => return sqs::handle_json(&state, &method, &uri, &headers, body).await,
        Protocol::Query => {
            let bytes = match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
                Ok(b) => b,
                Err(_) => return ApiError::too_large(MAX_REQUEST_BYTES).into_response(),
            };
            let params = form_params(uri.query().unwrap_or(""), &bytes);
            let action = query_action(&params);
            let is_sns = match signing_service(&headers) {
                Some("sns") => true,
                Some("sqs") => false,
                _ => !sqs::is_query_request(action, &params, uri.path()),
            };
            return if is_sns {
                sns::handle_query(&state, &method, &uri, &headers, &bytes, params).await
            } else {
                sqs::handle_query(&state, &method, &uri, &headers, &bytes, params).await
            };
        }
        Protocol::StepFunctions => {}
    }
    if uri.path() != "/" {
        return ApiError::unknown_operation(
            headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
        )
        .into_response();
    }
    let started = Instant::now();
    let (action, result) = run_action(&state, &method, &uri, &headers, body).await;
    let (resp, code) = match result {
        Ok(v) => (sfn::json_response(StatusCode::OK, &v), "OK".to_string()),
        Err(e) => {
            tracing::debug!(action, error = e.code(), message = %e.message, "request failed");
            let code = e.code().to_string();
            (e.into_response(), code)
        }
    };
    let m = &state.metrics;
    m.counter(
        "baton_api_requests_total",
        "Step Functions API requests by action and outcome.",
        &[("action", action), ("code", &code)],
    )
    .inc();
    m.histogram(
        "baton_api_request_duration_seconds",
        "Step Functions API request latency by action.",
        metrics::LATENCY_BUCKETS,
        &[("action", action)],
    )
    .observe(started.elapsed().as_secs_f64());
    resp
}

async fn run_action(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> (&'static str, Result<serde_json::Value, ApiError>) {
    let target = sfn::action_of(headers);
    // The table's own &'static name, for metric labels.
    let action: &'static str = match &target {
        Ok(action) => sfn::ACTIONS
            .iter()
            .find(|(a, _)| a == action)
            .map_or("unknown", |(a, _)| a),
        Err(_) => "unknown",
    };
    if state.verifier.is_none()
        && let Err(e) = target
    {
        return (action, Err(e));
    }
    let bytes = match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(b) => b,
        Err(_) => return (action, Err(ApiError::too_large(MAX_REQUEST_BYTES))),
    };
    // With --auth the signature is checked before anything else is looked at.
    let verified = match state.verify(auth::SFN_SIGNING_NAME, method, uri, headers, &bytes) {
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => {
            tracing::debug!(error = %e, "signature refused");
            return (action, Err(e.into()));
        }
        None => None,
    };
    if let Err(e) = target {
        return (action, Err(e));
    }
    let obj = match sfn::parse_body(&bytes) {
        Ok(o) => o,
        Err(e) => return (action, Err(e)),
    };
    let caller = match &verified {
        Some(v) => v.caller(state.account.as_deref()),
        None => auth::caller(headers, state.account.as_deref()),
    };
    tracing::debug!(action, region = %caller.region, account = %caller.account, "request");
    (
        action,
        sfn::dispatch(&state.engine, &caller, action, obj).await,
    )
}

/// The `Action` of a query-protocol request (empty when there is none).
pub fn query_action(params: &[(String, String)]) -> &str {
    params
        .iter()
        .find(|(k, _)| k == "Action")
        .map_or("", |(_, v)| v.as_str())
}

/// The parameters of a query-protocol request: the URL's query string
/// followed by the form-encoded body, decoded, in order.
pub fn form_params(query: &str, body: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for src in [query.as_bytes(), body] {
        for pair in src.split(|&b| b == b'&') {
            if pair.is_empty() {
                continue;
            }
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            out.push((form_decode(k), form_decode(v)));
        }
    }
    out
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space).
fn form_decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(s[i + 1]), hex(s[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs `baton serve` until SIGINT or SIGTERM: opens the store, starts the
/// engine, serves, then shuts both down.
pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let mut running = start(opts, listener).await?;
    tokio::select! {
        () = shutdown_signal() => running.shutdown().await,
        r = &mut running.task => r.context("the server task failed")?,
    }
}

/// A server started by [`start`].
pub struct Running {
    addr: SocketAddr,
    stop: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting requests (open ones get a grace period), then stops
    /// the services and the engine.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.stop.notify_one();
        self.task.await.context("the server task failed")?
    }
}

/// Opens the store under `opts.data_dir`, starts the engine and the
/// services, and serves on `listener` (its address wins over
/// `opts.listen`) in a task of the current runtime until
/// [`Running::shutdown`].
pub async fn start(
    mut opts: ServeOptions,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<Running> {
    opts.listen = listener.local_addr().unwrap_or(opts.listen);
    let verifier = auth_setup(&opts)?;
    std::fs::create_dir_all(&opts.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            opts.data_dir.display()
        )
    })?;
    let db = opts.data_dir.join("baton.db");
    let store = baton_storage::sqlite::SqliteStore::open(&db)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", db.display()))?;
    let mock_config = match &opts.mock_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the mock config {}", path.display()))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?;
            Some(value)
        }
        None => None,
    };
    anyhow::ensure!(
        opts.time_scale.is_finite() && opts.time_scale >= 0.0,
        "--time-scale must be a number >= 0"
    );
    let config = baton_engine::Config {
        time_scale: opts.time_scale,
        mock_config,
        ..Default::default()
    };
    let store: Arc<dyn baton_storage::Store> = Arc::new(store);
    let services = baton_services::Services::start(
        store.clone(),
        baton_services::Config {
            lambda: baton_services::lambda::Config::new(opts.data_dir.clone()),
        },
    )
    .map_err(|e| anyhow::anyhow!("cannot start the services: {e}"))?;
    let engine = Engine::start_with(store, config, services.integrations())
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the engine: {e}"))?;

    let local = opts.listen;
    tracing::info!(address = %local, data = %db.display(), "baton serve: listening");
    services.set_endpoint(&format!("http://{local}"));

    let mut state =
        AppState::new(engine.clone(), opts.account.clone()).with_services(services.clone());
    if let Some(v) = verifier {
        state = state.with_verifier(v);
    }
    let app = router(state);
    let stop = Arc::new(tokio::sync::Notify::new());
    let stop_request = stop.clone();
    let task = tokio::spawn(async move {
        let stopping = Arc::new(tokio::sync::Notify::new());
        let stopping_signal = stopping.clone();
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            stop_request.notified().await;
            tracing::info!("baton serve: shutting down");
            stopping_signal.notify_one();
        });
        let grace = async {
            stopping.notified().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        let served = tokio::select! {
            r = server => r.context("the HTTP server failed"),
            () = grace => {
                tracing::warn!("baton serve: requests still open after {SHUTDOWN_GRACE:?}; closing them");
                Ok(())
            }
        };
        services.shutdown().await;
        engine.shutdown().await;
        tracing::info!("baton serve: stopped");
        served
    });
    Ok(Running {
        addr: local,
        stop,
        task,
    })
}

/// Checks `--auth`, `--credentials` and `--insecure-allow-remote` against the
/// listen address and loads the keys: a non-loopback address needs `--auth`
/// (or the explicit `--insecure-allow-remote`).
pub fn auth_setup(opts: &ServeOptions) -> anyhow::Result<Option<auth::Verifier>> {
    let verifier = match (opts.auth, &opts.credentials) {
        (true, Some(path)) => {
            let (creds, warning) = auth::Credentials::load(path).map_err(anyhow::Error::msg)?;
            if let Some(w) = warning {
                tracing::warn!("{w}");
            }
            tracing::info!(
                keys = creds.len(),
                "SigV4 verification on: requests must be signed with a configured key"
            );
            Some(auth::Verifier::new(creds))
        }
        (true, None) => anyhow::bail!(
            "--auth needs the keys to accept: --credentials FILE (or BATON_CREDENTIALS=FILE), \
             lines `ACCESS_KEY_ID SECRET_ACCESS_KEY [ACCOUNT]`"
        ),
        (false, Some(path)) => anyhow::bail!(
            "credentials were given ({}) but --auth was not: add --auth to verify signatures, \
             or drop --credentials / BATON_CREDENTIALS",
            path.display()
        ),
        (false, None) => None,
    };
    if !opts.listen.ip().is_loopback() && verifier.is_none() {
        anyhow::ensure!(
            opts.insecure_allow_remote,
            "refusing to listen on {} without authentication: anyone who can reach it could run \
             and read your workflows. Use --auth with --credentials FILE, listen on a loopback \
             address (127.0.0.1, ::1), or pass --insecure-allow-remote to accept unsigned \
             requests from the network",
            opts.listen
        );
        tracing::warn!(
            address = %opts.listen,
            "INSECURE: listening on a non-loopback address without --auth; anyone who can reach it can call the API"
        );
    }
    Ok(verifier)
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
