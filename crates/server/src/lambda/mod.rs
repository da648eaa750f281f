//! The Lambda REST API (`/2015-03-31/...`, REST-JSON as in botocore's
//! `lambda` model) and Baton's function routes (`/_baton/v1/functions/...`).
//!
//! - `POST /2015-03-31/functions/{name}/invocations`: Invoke
//!   (`X-Amz-Invocation-Type`, `X-Amz-Log-Type`, `?Qualifier=`); the answer
//!   carries `X-Amz-Executed-Version`, `X-Amz-Function-Error`,
//!   `X-Amz-Log-Result`.
//! - `GET /2015-03-31/functions/`: ListFunctions; `GET|DELETE
//!   /2015-03-31/functions/{name}`: GetFunction, DeleteFunction;
//!   `GET .../{name}/configuration`: GetFunctionConfiguration.
//! - `POST|GET /2015-03-31/event-source-mappings/`, `GET|PUT|DELETE
//!   /2015-03-31/event-source-mappings/{uuid}`.
//! - `PUT|DELETE /_baton/v1/functions/{name}`: create or update a function
//!   from a local folder (`PutFunction`), delete it; `GET
//!   /_baton/v1/functions/{name}/logs[?Limit=&NextToken=]`: its invocation
//!   logs.
//!
//! Errors are Lambda's: `x-amzn-ErrorType: <Code>` and
//! `{"Type": "User"|"Service", "message": ...}`.

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use baton_services::lambda::Lambda;
use baton_services::{AwsService, InvocationType, Scope, ServiceError};
use serde_json::{Value, json};

use crate::AppState;

/// The signing name of the Lambda API.
const SIGNING_NAME: &str = "lambda";
/// The signing name of Baton's own API.
const BATON_SIGNING_NAME: &str = "baton";
/// The largest Invoke request body (6 MB), plus one byte to tell.
const MAX_INVOKE_BYTES: usize = 6 * 1024 * 1024 + 1;

/// The Lambda routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/2015-03-31/functions",
            get(list_functions).post(create_function),
        )
        .route(
            "/2015-03-31/functions/",
            get(list_functions).post(create_function),
        )
        .route(
            "/2015-03-31/functions/{name}",
            get(get_function).delete(delete_function),
        )
        .route(
            "/2015-03-31/functions/{name}/configuration",
            get(get_configuration),
        )
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .route(
            "/2015-03-31/event-source-mappings",
            get(list_mappings).post(create_mapping),
        )
        .route(
            "/2015-03-31/event-source-mappings/",
            get(list_mappings).post(create_mapping),
        )
        .route(
            "/2015-03-31/event-source-mappings/{uuid}",
            get(get_mapping).put(update_mapping).delete(delete_mapping),
        )
        .route(
            "/_baton/v1/functions/{name}",
            put(put_function).delete(baton_delete_function),
        )
        .route("/_baton/v1/functions/{name}/logs", get(function_logs))
}

/// A request's parts every route needs.
struct Req {
    state: AppState,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
}

impl Req {
    fn lambda(&self) -> Result<&std::sync::Arc<Lambda>, ServiceError> {
        self.state
            .services()
            .map(|s| &s.lambda)
            .ok_or_else(|| unavailable())
    }

    fn scope(&self, signing_name: &str, body: &[u8]) -> Result<Scope, ServiceError> {
        let caller =
            self.state
                .authorize(signing_name, &self.method, &self.uri, &self.headers, body)?;
        Ok(Scope::new(caller.account, caller.region))
    }

    /// Runs `action` with `input` for the caller.
    async fn call(
        &self,
        signing_name: &str,
        body: &[u8],
        action: &str,
        input: Value,
    ) -> Result<Value, ServiceError> {
        let scope = self.scope(signing_name, body)?;
        self.lambda()?.call(&scope, action, input).await
    }
}

fn unavailable() -> ServiceError {
    let mut e = ServiceError::internal("The Lambda service is not running in this server");
    e.code = "ServiceException".into();
    e
}

fn request_id() -> String {
    baton_engine::control::uuid_v4()
}

/// A Lambda error: `x-amzn-ErrorType` and `{"Type", "message"}`.
pub fn error_response(e: &ServiceError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut body = json!({
        "Type": if status.is_server_error() { "Service" } else { "User" },
        "message": e.message,
    });
    if e.code == "TooManyRequestsException"
        && let Some(o) = body.as_object_mut()
    {
        o.insert(
            "Reason".into(),
            Value::String("ConcurrentInvocationLimitExceeded".into()),
        );
    }
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&e.code) {
        h.insert("x-amzn-ErrorType", v);
    }
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        h.insert("x-amzn-RequestId", v);
    }
    if e.code == "TooManyRequestsException" {
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    let body = if status == StatusCode::NO_CONTENT {
        String::new()
    } else {
        v.to_string()
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        h.insert("x-amzn-RequestId", v);
    }
    resp
}

fn respond(status: StatusCode, r: Result<Value, ServiceError>) -> Response {
    match r {
        Ok(v) => json_response(status, &v),
        Err(e) => {
            tracing::debug!(code = %e.code, message = %e.message, "lambda request failed");
            error_response(&e)
        }
    }
}

/// A JSON request body (an empty body is `{}`).
fn body_json(body: &[u8]) -> Result<Value, ServiceError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ServiceError::client(
            "InvalidRequestContentException",
            "Could not parse request body into json: the body must be a JSON object",
        )),
        Err(e) => Err(ServiceError::client(
            "InvalidRequestContentException",
            format!("Could not parse request body into json: {e}"),
        )),
    }
}

/// Copies the query parameters `names` into `input` (numbers stay text:
/// the service accepts both).
fn with_query(mut input: Value, q: &HashMap<String, String>, names: &[&str]) -> Value {
    if let Some(o) = input.as_object_mut() {
        for n in names {
            if let Some(v) = q.get(*n) {
                o.insert((*n).to_string(), Value::String(v.clone()));
            }
        }
    }
    input
}

fn set(mut input: Value, key: &str, value: &str) -> Value {
    if let Some(o) = input.as_object_mut() {
        o.insert(key.to_string(), Value::String(value.to_string()));
    }
    input
}

// ----- functions -------------------------------------------------------------

async fn list_functions(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    let input = with_query(json!({}), &q, &["Marker", "MaxItems"]);
    respond(
        StatusCode::OK,
        req.call(SIGNING_NAME, b"", "ListFunctions", input).await,
    )
}

async fn create_function(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    let r = async {
        let input = body_json(&body)?;
        req.call(SIGNING_NAME, &body, "CreateFunction", input).await
    }
    .await;
    respond(StatusCode::CREATED, r)
}

async fn get_function(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    let input = with_query(json!({ "FunctionName": name }), &q, &["Qualifier"]);
    respond(
        StatusCode::OK,
        req.call(SIGNING_NAME, b"", "GetFunction", input).await,
    )
}

async fn get_configuration(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    let input = with_query(json!({ "FunctionName": name }), &q, &["Qualifier"]);
    respond(
        StatusCode::OK,
        req.call(SIGNING_NAME, b"", "GetFunctionConfiguration", input)
            .await,
    )
}

async fn delete_function(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    let input = with_query(json!({ "FunctionName": name }), &q, &["Qualifier"]);
    respond(
        StatusCode::NO_CONTENT,
        req.call(SIGNING_NAME, b"", "DeleteFunction", input).await,
    )
}

async fn invoke(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    let body = match axum::body::to_bytes(body, MAX_INVOKE_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(
                &ServiceError::client(
                    "RequestEntityTooLargeException",
                    format!(
                        "Request must be smaller than {} bytes for the InvokeFunction operation",
                        MAX_INVOKE_BYTES - 1
                    ),
                )
                .with_status(413),
            );
        }
    };
    let header = |n: &str| req.headers.get(n).and_then(|v| v.to_str().ok());
    let r = async {
        let scope = req.scope(SIGNING_NAME, &body)?;
        let lambda = req.lambda()?;
        let invocation_type = match header("x-amz-invocation-type") {
            None | Some("RequestResponse") => InvocationType::RequestResponse,
            Some("Event") => InvocationType::Event,
            Some("DryRun") => InvocationType::DryRun,
            Some(other) => {
                return Err(ServiceError::client(
                    "ValidationException",
                    format!(
                        "1 validation error detected: Value '{other}' at 'invocationType' failed \
                         to satisfy constraint: Member must satisfy enum value set: [Event, \
                         RequestResponse, DryRun]"
                    ),
                ));
            }
        };
        let log_tail = match header("x-amz-log-type") {
            None | Some("None") => false,
            Some("Tail") => true,
            Some(other) => {
                return Err(ServiceError::client(
                    "ValidationException",
                    format!(
                        "1 validation error detected: Value '{other}' at 'logType' failed to \
                         satisfy constraint: Member must satisfy enum value set: [None, Tail]"
                    ),
                ));
            }
        };
        let inv = lambda
            .invoke_qualified(
                &scope,
                &name,
                q.get("Qualifier").map(String::as_str),
                body.to_vec(),
                invocation_type,
                log_tail && invocation_type == InvocationType::RequestResponse,
            )
            .await?;
        Ok(inv)
    }
    .await;
    let inv = match r {
        Ok(inv) => inv,
        Err(e) => return error_response(&e),
    };
    let status = StatusCode::from_u16(inv.status_code).unwrap_or(StatusCode::OK);
    let mut resp = (status, inv.payload).into_response();
    let h = resp.headers_mut();
    if status == StatusCode::OK {
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Ok(v) = HeaderValue::from_str(&inv.executed_version) {
            h.insert("X-Amz-Executed-Version", v);
        }
    }
    if let Some(fe) = inv.function_error.as_deref()
        && let Ok(v) = HeaderValue::from_str(fe)
    {
        h.insert("X-Amz-Function-Error", v);
    }
    if let Some(tail) = &inv.log_tail {
        let b64 = base64::engine::general_purpose::STANDARD.encode(tail);
        if let Ok(v) = HeaderValue::from_str(&b64) {
            h.insert("X-Amz-Log-Result", v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        h.insert("x-amzn-RequestId", v);
    }
    resp
}

// ----- event source mappings -------------------------------------------------

async fn create_mapping(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    let r = async {
        let input = body_json(&body)?;
        req.call(SIGNING_NAME, &body, "CreateEventSourceMapping", input)
            .await
    }
    .await;
    respond(StatusCode::ACCEPTED, r)
}

async fn list_mappings(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    let input = with_query(
        json!({}),
        &q,
        &["EventSourceArn", "FunctionName", "Marker", "MaxItems"],
    );
    respond(
        StatusCode::OK,
        req.call(SIGNING_NAME, b"", "ListEventSourceMappings", input)
            .await,
    )
}

async fn get_mapping(
    State(state): State<AppState>,
    Path(uuid): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    respond(
        StatusCode::OK,
        req.call(
            SIGNING_NAME,
            b"",
            "GetEventSourceMapping",
            json!({ "UUID": uuid }),
        )
        .await,
    )
}

async fn update_mapping(
    State(state): State<AppState>,
    Path(uuid): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    let r = async {
        let input = set(body_json(&body)?, "UUID", &uuid);
        req.call(SIGNING_NAME, &body, "UpdateEventSourceMapping", input)
            .await
    }
    .await;
    respond(StatusCode::ACCEPTED, r)
}

async fn delete_mapping(
    State(state): State<AppState>,
    Path(uuid): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    respond(
        StatusCode::ACCEPTED,
        req.call(
            SIGNING_NAME,
            b"",
            "DeleteEventSourceMapping",
            json!({ "UUID": uuid }),
        )
        .await,
    )
}

// ----- Baton's function routes -----------------------------------------------

async fn put_function(
    State(state): State<AppState>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    let r = async {
        let input = body_json(&body)?;
        if let Some(n) = input.get("FunctionName").and_then(Value::as_str)
            && n != name
        {
            return Err(ServiceError::client(
                "InvalidParameterValueException",
                format!("FunctionName {n:?} in the body differs from {name:?} in the path"),
            ));
        }
        let input = set(input, "FunctionName", &name);
        req.call(BATON_SIGNING_NAME, &body, "PutFunction", input)
            .await
    }
    .await;
    respond(StatusCode::OK, r)
}

async fn baton_delete_function(
    State(state): State<AppState>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    respond(
        StatusCode::NO_CONTENT,
        req.call(
            BATON_SIGNING_NAME,
            b"",
            "DeleteFunction",
            json!({ "FunctionName": name }),
        )
        .await,
    )
}

async fn function_logs(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let req = Req {
        state,
        method,
        uri,
        headers,
    };
    let input = with_query(json!({ "FunctionName": name }), &q, &["Limit", "NextToken"]);
    respond(
        StatusCode::OK,
        req.call(BATON_SIGNING_NAME, b"", "GetFunctionLogs", input)
            .await,
    )
}
