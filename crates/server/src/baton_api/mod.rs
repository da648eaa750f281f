//! Baton's own API (`/_baton/v1/...`), used by `baton deploy`, `invoke` and
//! `logs`: JSON in and out, errors as `{"__type", "message"}`.
//!
//! - `PUT /_baton/v1/apps/{name}`: records what a deploy made (see
//!   [`baton_services::apps`]); region and account are the caller's.
//! - `GET /_baton/v1/apps`: `{"apps": [...]}`.
//! - `GET /_baton/v1/state-machines/{key}[?app=&stage=&region=]`: the state
//!   machine a key (or name, or ARN) names: `{"arn", "region", "account",
//!   "app", "stage", "key", "name", "type"}`; 404 when none, 409 listing them
//!   when several apps use the key.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use baton_services::ServiceError;
use baton_services::apps::{Apps, Filter};
use serde_json::{Value, json};

use crate::AppState;
use crate::request::RequestHead;

/// The signing name requests to this API are checked against with `--auth`.
const SIGNING_NAME: &str = "baton";

/// The `/_baton/v1` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_baton/v1/apps", get(list_apps))
        .route("/_baton/v1/apps/{name}", put(put_app))
        .route("/_baton/v1/state-machines/{key}", get(state_machine))
}

/// The registry on the engine's store.
fn apps(state: &AppState) -> Apps {
    Apps::new(state.engine().store().clone())
}

async fn put_app(Path(name): Path<String>, req: RequestHead, body: Bytes) -> Response {
    let result = (|| {
        let scope = req.scope(SIGNING_NAME, &body)?;
        let input: Value = serde_json::from_slice(&body).map_err(|e| {
            ServiceError::client(
                "SerializationException",
                format!("the app record is not valid JSON: {e}"),
            )
        })?;
        apps(&req.state).put(&scope, &name, input)
    })();
    respond(result)
}

async fn list_apps(req: RequestHead) -> Response {
    let result = req
        .scope(SIGNING_NAME, b"")
        .and_then(|_| apps(&req.state).list());
    respond(result)
}

async fn state_machine(
    Path(key): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    req: RequestHead,
) -> Response {
    let pick = |k: &str| {
        query
            .iter()
            .find(|(name, v)| name == k && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let filter = Filter {
        app: pick("app"),
        stage: pick("stage"),
        region: pick("region"),
    };
    let result = req
        .scope(SIGNING_NAME, b"")
        .and_then(|_| apps(&req.state).resolve_state_machine(&key, &filter));
    respond(result)
}

/// A JSON answer, or the error as `{"__type", "message"}` with its status.
fn respond(result: Result<Value, ServiceError>) -> Response {
    let (status, body) = match result {
        Ok(v) => (StatusCode::OK, v),
        Err(e) => (
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            json!({ "__type": e.code, "message": e.message }),
        ),
    };
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}
