//! The SQS protocols: JSON (`X-Amz-Target: AmazonSQS.<Action>`, errors with
//! the `x-amzn-query-error` header) and query (form-encoded, XML answers).
//! Both map onto [`baton_services::AwsService::call`] with the JSON
//! protocol's shapes; [`query`] translates the query protocol's flattened
//! parameters and renders its XML.

mod query;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use baton_services::{AwsService as _, Scope, ServiceError};
use serde_json::{Map, Value};

use crate::{AppState, MAX_REQUEST_BYTES};

/// `X-Amz-Target` prefix of the SQS JSON protocol.
pub const TARGET_PREFIX: &str = "AmazonSQS.";

const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Whether a query-protocol request is meant for SQS (rather than SNS).
pub fn is_query_request(_action: &str, params: &[(String, String)], path: &str) -> bool {
    path != "/"
        || params
            .iter()
            .any(|(k, v)| k == "Version" && v == "2012-11-05")
}

/// Actions that take no `QueueUrl`.
fn takes_queue_url(action: &str) -> bool {
    !matches!(
        action,
        "CreateQueue"
            | "GetQueueUrl"
            | "ListQueues"
            | "StartMessageMoveTask"
            | "CancelMessageMoveTask"
            | "ListMessageMoveTasks"
    )
}

/// The queue a request POSTed to a queue URL's path (`/<account>/<name>`)
/// names, for requests that leave out `QueueUrl`.
fn path_queue(uri: &Uri) -> Option<&str> {
    let path = uri.path();
    (path != "/" && path.trim_matches('/').split('/').count() == 2).then_some(path)
}

fn request_id() -> String {
    baton_engine::control::uuid_v4()
}

fn not_available() -> ServiceError {
    ServiceError::internal("SQS is not running in this server")
}

/// One SQS JSON-protocol request.
pub async fn handle_json(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let action = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .unwrap_or("")
        .to_string();
    let bytes = match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return json_error(
                &ServiceError::client(
                    "RequestEntityTooLarge",
                    format!("The request is larger than {MAX_REQUEST_BYTES} bytes."),
                )
                .with_status(413),
            );
        }
    };
    let input = || {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Map::new()));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(ServiceError {
                code: "SerializationException".into(),
                message: "The request body is not a valid JSON object.".into(),
                status: 400,
                sender_fault: true,
                query_code: None,
            }),
        }
    };
    match call(state, method, uri, headers, &bytes, &action, input).await {
        Ok(v) => json_ok(&v),
        Err(e) => json_error(&e),
    }
}

/// Runs `action` for the caller of a request signed for SQS, with the
/// input `input` makes once the caller is known; a request POSTed to a
/// queue URL's path names that queue when it leaves out `QueueUrl`.
async fn call(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    action: &str,
    input: impl FnOnce() -> Result<Value, ServiceError>,
) -> Result<Value, ServiceError> {
    let caller = state.authorize("sqs", method, uri, headers, body)?;
    let services = state.services().ok_or_else(not_available)?;
    let mut input = input()?;
    if let (Some(path), Value::Object(o)) = (path_queue(uri), &mut input)
        && takes_queue_url(action)
        && !o.contains_key("QueueUrl")
    {
        o.insert("QueueUrl".into(), Value::String(path.to_string()));
    }
    let scope = Scope::new(caller.account, caller.region);
    services
        .sqs
        .call(&scope, action, input)
        .await
        .inspect_err(|e| {
            tracing::debug!(action, code = %e.code, message = %e.message, "SQS request failed");
        })
}

/// A JSON-protocol answer with its request id.
fn json_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    if let Ok(v) = HeaderValue::from_str(&request_id()) {
        h.insert("x-amzn-RequestId", v);
    }
    resp
}

fn json_ok(v: &Value) -> Response {
    json_response(StatusCode::OK, v.to_string())
}

/// An error in the JSON protocol: `__type` with the model's shape name, and
/// the query protocol's code in `x-amzn-query-error` (clients in query
/// compatibility mode report that code).
fn json_error(e: &ServiceError) -> Response {
    let prefix = match e.code.as_str() {
        "SerializationException" => "com.amazon.coral.service#",
        c if c.contains('#') => "",
        _ => "com.amazonaws.sqs#",
    };
    let body = serde_json::json!({
        "__type": format!("{prefix}{}", e.code),
        "message": e.message,
    });
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut resp = json_response(status, body.to_string());
    let h = resp.headers_mut();
    let fault = if e.sender_fault { "Sender" } else { "Receiver" };
    let code = e.query_code.as_deref().unwrap_or(&e.code);
    if let Ok(v) = HeaderValue::from_str(&format!("{code};{fault}")) {
        h.insert("x-amzn-query-error", v);
    }
    resp
}

/// One SQS query-protocol request.
pub async fn handle_query(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    params: Vec<(String, String)>,
) -> Response {
    let action = crate::query_action(&params);
    let input = || Ok(query::input(action, &params));
    match call(state, method, uri, headers, body, action, input).await {
        Ok(v) => query::ok(action, &v),
        Err(e) => query::error(&e),
    }
}
