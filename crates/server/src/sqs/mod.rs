//! The SQS protocols: JSON (`X-Amz-Target: AmazonSQS.<Action>`, errors with
//! the `x-amzn-query-error` header) and query (form-encoded, XML answers).

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// `X-Amz-Target` prefix of the SQS JSON protocol.
pub const TARGET_PREFIX: &str = "AmazonSQS.";

/// Whether a query-protocol request is meant for SQS (rather than SNS).
pub fn is_query_request(_action: &str, params: &[(String, String)], path: &str) -> bool {
    path != "/"
        || params
            .iter()
            .any(|(k, v)| k == "Version" && v == "2012-11-05")
}

/// One SQS JSON-protocol request.
pub async fn handle_json(
    _state: &AppState,
    _method: &Method,
    _uri: &Uri,
    _headers: &HeaderMap,
    _body: Body,
) -> Response {
    (
        StatusCode::BAD_REQUEST,
        "SQS is not available in this build",
    )
        .into_response()
}

/// One SQS query-protocol request.
pub async fn handle_query(
    _state: &AppState,
    _method: &Method,
    _uri: &Uri,
    _headers: &HeaderMap,
    _body: &Bytes,
    _params: Vec<(String, String)>,
) -> Response {
    (
        StatusCode::BAD_REQUEST,
        "SQS is not available in this build",
    )
        .into_response()
}
