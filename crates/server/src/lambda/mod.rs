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
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use baton_services::lambda::Lambda;
use baton_services::{AwsService, InvocationType, ServiceError};
use serde_json::{Value, json};

use crate::AppState;
use crate::request::RequestHead;

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

impl RequestHead {
    fn lambda(&self) -> Result<&std::sync::Arc<Lambda>, ServiceError> {
        self.state
            .services()
            .map(|s| &s.lambda)
            .ok_or_else(unavailable)
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

    /// Runs `action` with `input` (the request has no body) and answers with
    /// `status`.
    async fn answer(
        &self,
        status: StatusCode,
        signing_name: &str,
        action: &str,
        input: Value,
    ) -> Response {
        respond(status, self.call(signing_name, b"", action, input).await)
    }

    /// Runs `action` with the JSON `body` as `input` turns it into the
    /// action's input, and answers with `status`.
    async fn answer_json(
        &self,
        status: StatusCode,
        signing_name: &str,
        action: &str,
        body: &[u8],
        input: impl FnOnce(Value) -> Result<Value, ServiceError>,
    ) -> Response {
        let r = match body_json(body).and_then(input) {
            Ok(input) => self.call(signing_name, body, action, input).await,
            Err(e) => Err(e),
        };
        respond(status, r)
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

/// An action on the function in the path, with its `?Qualifier=`.
async fn function_action(
    req: &RequestHead,
    name: String,
    q: &HashMap<String, String>,
    status: StatusCode,
    action: &str,
) -> Response {
    let input = with_query(json!({ "FunctionName": name }), q, &["Qualifier"]);
    req.answer(status, SIGNING_NAME, action, input).await
}

async fn list_functions(Query(q): Query<HashMap<String, String>>, req: RequestHead) -> Response {
    let input = with_query(json!({}), &q, &["Marker", "MaxItems"]);
    req.answer(StatusCode::OK, SIGNING_NAME, "ListFunctions", input)
        .await
}

async fn create_function(req: RequestHead, body: Bytes) -> Response {
    req.answer_json(
        StatusCode::CREATED,
        SIGNING_NAME,
        "CreateFunction",
        &body,
        Ok,
    )
    .await
}

async fn get_function(
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    req: RequestHead,
) -> Response {
    function_action(&req, name, &q, StatusCode::OK, "GetFunction").await
}

async fn get_configuration(
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    req: RequestHead,
) -> Response {
    function_action(&req, name, &q, StatusCode::OK, "GetFunctionConfiguration").await
}

async fn delete_function(
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    req: RequestHead,
) -> Response {
    function_action(&req, name, &q, StatusCode::NO_CONTENT, "DeleteFunction").await
}

async fn invoke(
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    req: RequestHead,
    body: Body,
) -> Response {
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

async fn create_mapping(req: RequestHead, body: Bytes) -> Response {
    req.answer_json(
        StatusCode::ACCEPTED,
        SIGNING_NAME,
        "CreateEventSourceMapping",
        &body,
        Ok,
    )
    .await
}

async fn list_mappings(Query(q): Query<HashMap<String, String>>, req: RequestHead) -> Response {
    let input = with_query(
        json!({}),
        &q,
        &["EventSourceArn", "FunctionName", "Marker", "MaxItems"],
    );
    req.answer(
        StatusCode::OK,
        SIGNING_NAME,
        "ListEventSourceMappings",
        input,
    )
    .await
}

async fn get_mapping(Path(uuid): Path<String>, req: RequestHead) -> Response {
    req.answer(
        StatusCode::OK,
        SIGNING_NAME,
        "GetEventSourceMapping",
        json!({ "UUID": uuid }),
    )
    .await
}

async fn update_mapping(Path(uuid): Path<String>, req: RequestHead, body: Bytes) -> Response {
    req.answer_json(
        StatusCode::ACCEPTED,
        SIGNING_NAME,
        "UpdateEventSourceMapping",
        &body,
        |input| Ok(set(input, "UUID", &uuid)),
    )
    .await
}

async fn delete_mapping(Path(uuid): Path<String>, req: RequestHead) -> Response {
    req.answer(
        StatusCode::ACCEPTED,
        SIGNING_NAME,
        "DeleteEventSourceMapping",
        json!({ "UUID": uuid }),
    )
    .await
}

// ----- Baton's function routes -----------------------------------------------

async fn put_function(Path(name): Path<String>, req: RequestHead, body: Bytes) -> Response {
    req.answer_json(
        StatusCode::OK,
        BATON_SIGNING_NAME,
        "PutFunction",
        &body,
        |input| {
            if let Some(n) = input.get("FunctionName").and_then(Value::as_str)
                && n != name
            {
                return Err(ServiceError::client(
                    "InvalidParameterValueException",
                    format!("FunctionName {n:?} in the body differs from {name:?} in the path"),
                ));
            }
            Ok(set(input, "FunctionName", &name))
        },
    )
    .await
}

async fn baton_delete_function(Path(name): Path<String>, req: RequestHead) -> Response {
    req.answer(
        StatusCode::NO_CONTENT,
        BATON_SIGNING_NAME,
        "DeleteFunction",
        json!({ "FunctionName": name }),
    )
    .await
}

async fn function_logs(
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    req: RequestHead,
) -> Response {
    let input = with_query(json!({ "FunctionName": name }), &q, &["Limit", "NextToken"]);
    req.answer(StatusCode::OK, BATON_SIGNING_NAME, "GetFunctionLogs", input)
        .await
}
