//! The head of a request (method, URI, headers) with the server's state: what
//! the REST-style routes (the Lambda API, Baton's own API) take to tell who
//! is calling.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, Uri};
use baton_services::{Scope, ServiceError};

use crate::AppState;

/// A request's parts every REST-style route needs, extracted in one piece.
pub(crate) struct RequestHead {
    pub(crate) state: AppState,
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    pub(crate) headers: HeaderMap,
}

impl RequestHead {
    /// The caller's scope for a request signed for `signing_name` with
    /// `body`, or the error refusing it (`--auth`).
    pub(crate) fn scope(&self, signing_name: &str, body: &[u8]) -> Result<Scope, ServiceError> {
        let caller =
            self.state
                .authorize(signing_name, &self.method, &self.uri, &self.headers, body)?;
        Ok(Scope::new(caller.account, caller.region))
    }
}

impl FromRequestParts<AppState> for RequestHead {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self {
            state: state.clone(),
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
    }
}
