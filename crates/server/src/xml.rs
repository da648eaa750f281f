//! What the query protocols (SQS's and SNS's) share in their XML answers:
//! escaping, the `<XResponse>` and `<ErrorResponse>` documents, and the HTTP
//! response that carries them.

use std::fmt::Write as _;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use baton_services::ServiceError;

/// Appends `s` as XML text (`\r` too, which XML parsers would otherwise fold).
pub(crate) fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// Appends `<name>text</name>`, the text escaped.
pub(crate) fn element(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>");
    escape(out, text);
    let _ = write!(out, "</{name}>");
}

/// An action's answer: `<{action}Response xmlns>`, with `result` (XML)
/// inside `<{action}Result>` when the action has one, then the request id.
pub(crate) fn ok_document(
    xmlns: &str,
    action: &str,
    result: Option<&str>,
    request_id: &str,
) -> String {
    let mut out = String::with_capacity(512);
    let _ = write!(
        out,
        "<?xml version=\"1.0\"?>\n<{action}Response xmlns=\"{xmlns}\">"
    );
    if let Some(result) = result {
        let _ = write!(out, "<{action}Result>");
        out.push_str(result);
        let _ = write!(out, "</{action}Result>");
    }
    out.push_str("<ResponseMetadata>");
    element(&mut out, "RequestId", request_id);
    let _ = write!(out, "</ResponseMetadata></{action}Response>");
    out
}

/// An error: `<ErrorResponse xmlns><Error>` with its `Type` (`Sender` or
/// `Receiver`), `code` and message, then `detail` (written as is) and the
/// request id.
pub(crate) fn error_document(
    xmlns: &str,
    e: &ServiceError,
    code: &str,
    detail: &str,
    request_id: &str,
) -> String {
    let mut out = String::with_capacity(256);
    let _ = write!(
        out,
        "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{xmlns}\"><Error>"
    );
    element(
        &mut out,
        "Type",
        if e.sender_fault { "Sender" } else { "Receiver" },
    );
    element(&mut out, "Code", code);
    element(&mut out, "Message", &e.message);
    out.push_str(detail);
    out.push_str("</Error>");
    element(&mut out, "RequestId", request_id);
    out.push_str("</ErrorResponse>");
    out
}

/// An XML answer (`Content-Type: text/xml`).
pub(crate) fn response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    resp
}
