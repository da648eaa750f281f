//! The Lambda REST API (`/2015-03-31/functions/...`).

use axum::Router;

use crate::AppState;

/// The Lambda routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
