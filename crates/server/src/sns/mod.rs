//! The SNS query protocol (form-encoded requests, XML answers).

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// One SNS query-protocol request.
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
        "SNS is not available in this build",
    )
        .into_response()
}
