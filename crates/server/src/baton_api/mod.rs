//! Baton's own API (`/_baton/v1/...`), used by `baton deploy`, `invoke` and
//! `logs`.

use axum::Router;

use crate::AppState;

/// The `/_baton/v1` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
