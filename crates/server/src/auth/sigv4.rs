//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`), as a server checks it.
//!
//! Service-agnostic: the caller names the service the credential scope must
//! carry (`states`, `sqs`, `sns`, `lambda`, ...). Both forms are verified:
//!
//! - the `Authorization` header:
//!   `AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/<service>/aws4_request,
//!   SignedHeaders=<h1;h2;...>, Signature=<hex>` with the time in `X-Amz-Date`
//!   (or, failing that, an RFC 1123 `Date` header);
//! - presigned query strings: `X-Amz-Algorithm`, `X-Amz-Credential`,
//!   `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`.
//!
//! The canonical request follows AWS's rules for every service but S3: the
//! URI path as received is normalised (empty and `.` segments dropped, `..`
//! resolved) and then URI-encoded once more, which makes SDKs' already
//! encoded paths double-encoded; the query is decoded and re-encoded strictly
//! (RFC 3986 unreserved characters only), sorted by name then value; header
//! values are trimmed with inner runs of spaces collapsed, repeated headers
//! joined with `,` in arrival order. The payload hash is the hex SHA-256 of the
//! body, or `X-Amz-Content-Sha256` when that header is present (it must then
//! match the body, unless it is `UNSIGNED-PAYLOAD` and signed). A session
//! token (`X-Amz-Security-Token`) is accepted whether signed or not: it is
//! covered only when the client signed it.
//!
//! The request time must lie within five minutes of the server's clock (a
//! presigned request is good from five minutes before its `X-Amz-Date` until
//! `X-Amz-Expires` seconds after it, at most seven days), and signatures are
//! compared in constant time.

use axum::http::HeaderMap;
use baton_asl::time;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm SigV4 knows.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The last element of every credential scope.
pub const TERMINATOR: &str = "aws4_request";
/// The payload hash of a client that chose not to sign the body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// How far the request time may be from the server's clock (AWS: 5 minutes).
pub const MAX_SKEW_SECS: i64 = 5 * 60;
/// The longest a presigned request may be valid (AWS: 7 days).
pub const MAX_EXPIRES_SECS: i64 = 7 * 24 * 60 * 60;
/// The SHA-256 of nothing.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The four ways AWS refuses a request's authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthErrorKind {
    /// Neither an `Authorization` header nor a presigned query.
    MissingAuthenticationToken,
    /// The signature's parts are missing or malformed.
    IncompleteSignature,
    /// The signature, its scope or its time is wrong.
    InvalidSignature,
    /// The access key id is not known.
    UnrecognizedClient,
}

/// Why a request's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    pub kind: AuthErrorKind,
    pub message: String,
}

impl AuthError {
    fn new(kind: AuthErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// `MissingAuthenticationTokenException`.
    pub fn missing() -> Self {
        Self::new(
            AuthErrorKind::MissingAuthenticationToken,
            "Request is missing Authentication Token",
        )
    }

    /// `UnrecognizedClientException`.
    pub fn unrecognized() -> Self {
        Self::new(
            AuthErrorKind::UnrecognizedClient,
            "The security token included in the request is invalid.",
        )
    }

    /// `InvalidSignatureException` for a signature that does not match.
    pub fn mismatch() -> Self {
        Self::new(
            AuthErrorKind::InvalidSignature,
            "The request signature we calculated does not match the signature you provided. \
             Check your AWS Secret Access Key and signing method. Consult the service \
             documentation for details.",
        )
    }

    fn incomplete(message: impl Into<String>) -> Self {
        Self::new(AuthErrorKind::IncompleteSignature, message)
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(AuthErrorKind::InvalidSignature, message)
    }

    /// The error code AWS sends (`__type` after `#`, or `<Code>`).
    pub fn code(&self) -> &'static str {
        match self.kind {
            AuthErrorKind::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            AuthErrorKind::IncompleteSignature => "IncompleteSignatureException",
            AuthErrorKind::InvalidSignature => "InvalidSignatureException",
            AuthErrorKind::UnrecognizedClient => "UnrecognizedClientException",
        }
    }
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message)
    }
}

impl std::error::Error for AuthError {}

/// One HTTP request as received: what a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path exactly as on the request line (still percent-encoded).
    pub path: &'a str,
    /// The query string without `?` (still percent-encoded), or `""`.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// `<yyyymmdd>/<region>/<service>/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub date: String,
    pub region: String,
    pub service: String,
}

impl Scope {
    /// The scope line of the string to sign.
    pub fn to_line(&self) -> String {
        format!(
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

/// A request's signature, parsed but not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub access_key_id: String,
    pub scope: Scope,
    /// Lower-case header names, in the order the client listed them.
    pub signed_headers: Vec<String>,
    /// The hex signature as sent.
    pub signature: String,
    /// The request time, ISO 8601 basic (`20150830T123600Z`).
    pub amz_date: String,
    /// The request time in seconds since the epoch.
    pub time: i64,
    /// Presigned requests: how long the signature is good for, in seconds.
    pub expires: Option<i64>,
}

impl Signature {
    pub fn presigned(&self) -> bool {
        self.expires.is_some()
    }
}

// ---------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = new_mac(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length: this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// The signing key: `HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
/// service), "aws4_request")`.
pub fn signing_key(secret: &str, scope: &Scope) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
    let k_region = hmac_sha256(&k_date, scope.region.as_bytes());
    let k_service = hmac_sha256(&k_region, scope.service.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

/// The hex signature of `string_to_sign`.
pub fn sign(key: &[u8; 32], string_to_sign: &[u8]) -> String {
    hex(&hmac_sha256(key, string_to_sign))
}

/// Whether `provided` (hex, any case) is the signature of `string_to_sign`,
/// compared in constant time.
pub fn signature_matches(key: &[u8; 32], string_to_sign: &[u8], provided: &str) -> bool {
    let Some(bytes) = unhex(provided) else {
        return false;
    };
    let mut mac = new_mac(key);
    mac.update(string_to_sign);
    mac.verify_slice(&bytes).is_ok()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|pair| Some(hex_val(*pair.first()?)? << 4 | hex_val(*pair.get(1)?)?))
        .collect()
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Canonical request
// ---------------------------------------------------------------------------

/// URI-encodes every byte but the RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - _ . ~`), and `/` when `keep_slash`; hex in upper case.
pub fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/')
        {
            s.push(char::from(b));
        } else {
            s.push('%');
            s.push(char::from(DIGITS[usize::from(b >> 4)]));
            s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
        }
    }
    s
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as is.
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex_val),
                b.get(i + 2).copied().and_then(hex_val),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Normalises a path as AWS does for every service but S3: empty and `.`
/// segments are dropped, `..` removes the segment before it; a leading and a
/// trailing `/` are kept.
pub fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    out.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// The canonical URI of a path as received: normalised, then URI-encoded
/// (so an SDK's percent-encoded path ends up encoded twice, as AWS signs it).
pub fn canonical_uri(path: &str) -> String {
    uri_encode(normalize_path(path).as_bytes(), true)
}

/// The canonical query string: every `name=value` pair decoded and
/// re-encoded strictly, sorted by name then value. With `presigned`, the
/// `X-Amz-Signature` parameter is left out.
pub fn canonical_query(query: &str, presigned: bool) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .filter(|(k, _)| !(presigned && k == "X-Amz-Signature"))
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// A header value as signed: leading and trailing spaces and tabs removed,
/// inner runs of them collapsed to one space.
fn trim_all(value: &[u8], out: &mut Vec<u8>) {
    let mut pending_space = false;
    let mut started = false;
    for &b in value {
        if b == b' ' || b == b'\t' {
            pending_space = started;
            continue;
        }
        if pending_space {
            out.push(b' ');
            pending_space = false;
        }
        out.push(b);
        started = true;
    }
}

/// The canonical headers block (each `name:value\n`) for `signed`.
pub fn canonical_headers(headers: &HeaderMap, signed: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for name in signed {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        for (i, v) in headers.get_all(name.as_str()).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            trim_all(v.as_bytes(), &mut out);
        }
        out.push(b'\n');
    }
    out
}

/// The canonical request:
/// `method\nuri\nquery\nheaders\n\nsigned;headers\npayload-hash`.
pub fn canonical_request(
    req: &Request<'_>,
    signed_headers: &[String],
    presigned: bool,
    payload_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(req.method.to_ascii_uppercase().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(req.path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(req.query, presigned).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(&canonical_headers(req.headers, signed_headers));
    out.push(b'\n');
    out.extend_from_slice(signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// `AWS4-HMAC-SHA256\n<amz-date>\n<scope>\n<hex sha256 of the canonical request>`.
pub fn string_to_sign(amz_date: &str, scope: &Scope, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{}\n{}",
        scope.to_line(),
        sha256_hex(canonical_request)
    )
}

// ---------------------------------------------------------------------------
// Parsing a signed request
// ---------------------------------------------------------------------------

/// The parameters of the query string, decoded (first occurrence wins).
fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (percent_decode(k) == name.as_bytes())
            .then(|| String::from_utf8_lossy(&percent_decode(v)).into_owned())
    })
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether the request carries any SigV4 authentication at all.
pub fn has_authentication(req: &Request<'_>) -> bool {
    req.headers.contains_key("authorization")
        || query_param(req.query, "X-Amz-Algorithm").is_some()
        || query_param(req.query, "X-Amz-Signature").is_some()
}

/// Parses the request's signature (header or presigned query).
pub fn parse(req: &Request<'_>) -> Result<Signature, AuthError> {
    if let Some(value) = req.headers.get("authorization") {
        let text = String::from_utf8_lossy(value.as_bytes());
        parse_header(&text, req.headers)
    } else if has_authentication(req) {
        parse_query(req.query)
    } else {
        Err(AuthError::missing())
    }
}

fn parse_header(authorization: &str, headers: &HeaderMap) -> Result<Signature, AuthError> {
    let trimmed = authorization.trim();
    let rest = trimmed
        .strip_prefix(ALGORITHM)
        .filter(|r| r.is_empty() || r.starts_with([' ', '\t', ',']));
    let (mut credential, mut signed, mut signature) = (None, None, None);
    if let Some(rest) = rest {
        for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = part.split_once('=') else {
                return Err(AuthError::incomplete(format!(
                    "'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{trimmed}'."
                )));
            };
            match k.trim() {
                "Credential" => credential = Some(v.trim()),
                "SignedHeaders" => signed = Some(v.trim()),
                "Signature" => signature = Some(v.trim()),
                _ => {}
            }
        }
    }
    let amz_date = header_str(headers, "x-amz-date");
    let http_date = header_str(headers, "date");
    let mut missing = String::new();
    if credential.is_none() {
        missing.push_str("Authorization header requires 'Credential' parameter. ");
    }
    if signature.is_none() {
        missing.push_str("Authorization header requires 'Signature' parameter. ");
    }
    if signed.is_none() {
        missing.push_str("Authorization header requires 'SignedHeaders' parameter. ");
    }
    if amz_date.is_none() && http_date.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(AuthError::incomplete(format!(
            "{missing}Authorization={trimmed}"
        )));
    };
    let (amz_date, time) = match (amz_date, http_date) {
        (Some(d), _) => {
            let t = parse_amz_date(d.trim()).ok_or_else(|| {
                AuthError::incomplete(format!(
                    "Date must be in ISO-8601 'basic format'. Got '{d}'. See http://en.wikipedia.org/wiki/ISO_8601"
                ))
            })?;
            (d.trim().to_string(), t)
        }
        (None, Some(d)) => {
            let t = parse_http_date(d).ok_or_else(|| {
                AuthError::incomplete(format!(
                    "Date must be in RFC 1123 format (e.g. 'Sun, 06 Nov 1994 08:49:37 GMT'). Got '{d}'."
                ))
            })?;
            (format_amz_date(t), t)
        }
        (None, None) => {
            return Err(AuthError::incomplete(format!(
                "{missing}Authorization={trimmed}"
            )));
        }
    };
    let (access_key_id, scope) = parse_credential(credential, &amz_date)?;
    Ok(Signature {
        access_key_id,
        scope,
        signed_headers: parse_signed_headers(signed)?,
        signature: signature.to_string(),
        amz_date,
        time,
        expires: None,
    })
}

fn parse_query(query: &str) -> Result<Signature, AuthError> {
    let algorithm = query_param(query, "X-Amz-Algorithm");
    let credential = query_param(query, "X-Amz-Credential");
    let signed = query_param(query, "X-Amz-SignedHeaders");
    let signature = query_param(query, "X-Amz-Signature");
    let date = query_param(query, "X-Amz-Date");
    let expires = query_param(query, "X-Amz-Expires");
    let mut missing = Vec::new();
    for (name, v) in [
        ("X-Amz-Algorithm", &algorithm),
        ("X-Amz-Credential", &credential),
        ("X-Amz-Signature", &signature),
        ("X-Amz-SignedHeaders", &signed),
        ("X-Amz-Date", &date),
    ] {
        if v.is_none() {
            missing.push(format!(
                "AWS query-string parameters must include '{name}'."
            ));
        }
    }
    let (Some(algorithm), Some(credential), Some(signed), Some(signature), Some(date)) =
        (algorithm, credential, signed, signature, date)
    else {
        return Err(AuthError::incomplete(format!(
            "{} Re-examine the query-string parameters.",
            missing.join(" ")
        )));
    };
    if algorithm != ALGORITHM {
        return Err(AuthError::incomplete(format!(
            "Unsupported AWS 'algorithm': '{algorithm}'."
        )));
    }
    let time = parse_amz_date(&date).ok_or_else(|| {
        AuthError::incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        ))
    })?;
    let expires = match expires {
        None => MAX_EXPIRES_SECS,
        Some(e) => match e.parse::<i64>() {
            Ok(n) if (1..=MAX_EXPIRES_SECS).contains(&n) => n,
            Ok(n) if n > MAX_EXPIRES_SECS => {
                return Err(AuthError::invalid(format!(
                    "X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES_SECS}"
                )));
            }
            _ => {
                return Err(AuthError::incomplete(format!(
                    "X-Amz-Expires must be a positive integer number of seconds, got '{e}'."
                )));
            }
        },
    };
    let (access_key_id, scope) = parse_credential(&credential, &date)?;
    Ok(Signature {
        access_key_id,
        scope,
        signed_headers: parse_signed_headers(&signed)?,
        signature,
        amz_date: date,
        time,
        expires: Some(expires),
    })
}

/// `<key>/<yyyymmdd>/<region>/<service>/aws4_request`, checked against the
/// request date.
fn parse_credential(credential: &str, amz_date: &str) -> Result<(String, Scope), AuthError> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [key, date, region, service, terminator] = parts.as_slice() else {
        return Err(AuthError::incomplete(format!(
            "Credential should have exactly 5 slash-separated parts \
             (<access key id>/<yyyymmdd>/<region>/<service>/aws4_request), got '{credential}'."
        )));
    };
    if key.is_empty() {
        return Err(AuthError::incomplete(
            "Credential must name an access key id.",
        ));
    }
    if *terminator != TERMINATOR {
        return Err(AuthError::invalid(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{terminator}'. "
        )));
    }
    let day = amz_date.get(..8).unwrap_or(amz_date);
    if *date != day {
        return Err(AuthError::invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{day}', from '{amz_date}'."
        )));
    }
    Ok((
        (*key).to_string(),
        Scope {
            date: (*date).to_string(),
            region: (*region).to_string(),
            service: (*service).to_string(),
        },
    ))
}

fn parse_signed_headers(signed: &str) -> Result<Vec<String>, AuthError> {
    let names: Vec<String> = signed
        .split(';')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if names.iter().any(|h| {
        h.is_empty()
            || !h
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b':' && b != b';')
    }) {
        return Err(AuthError::incomplete(format!(
            "SignedHeaders '{signed}' is not a ';'-separated list of header names."
        )));
    }
    if !names.iter().any(|h| h == "host" || h == ":authority") {
        return Err(AuthError::invalid(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    Ok(names)
}

// ---------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------

/// Checks a parsed signature's scope and time against `service` and `now`
/// (seconds since the epoch). Region validity is the caller's concern.
pub fn check_scope_and_time(sig: &Signature, service: &str, now: i64) -> Result<(), AuthError> {
    if sig.scope.service != service {
        return Err(AuthError::invalid(format!(
            "Credential should be scoped to correct service: '{service}'. "
        )));
    }
    // Signed requests expire 5 minutes after their date; presigned URLs
    // after their X-Amz-Expires.
    let expired = match sig.expires {
        None => (sig.time < now - MAX_SKEW_SECS).then(|| (MAX_SKEW_SECS, "5 min.".to_string())),
        Some(expires) => {
            (now > sig.time.saturating_add(expires)).then(|| (expires, format!("{expires} sec.")))
        }
    };
    if let Some((window, shown)) = expired {
        return Err(AuthError::invalid(format!(
            "Signature expired: {} is now earlier than {} ({} - {shown})",
            sig.amz_date,
            format_amz_date(now - window),
            format_amz_date(now)
        )));
    }
    if sig.time > now + MAX_SKEW_SECS {
        return Err(AuthError::invalid(format!(
            "Signature not yet current: {} is still later than {} ({} + 5 min.)",
            sig.amz_date,
            format_amz_date(now + MAX_SKEW_SECS),
            format_amz_date(now)
        )));
    }
    Ok(())
}

/// The payload hashes the signature may cover, in the order to try.
fn payload_hashes(req: &Request<'_>, sig: &Signature) -> Result<Vec<String>, AuthError> {
    let body_hash = sha256_hex(req.body);
    match header_str(req.headers, "x-amz-content-sha256").map(str::trim) {
        Some(UNSIGNED_PAYLOAD)
            if sig.presigned()
                || sig
                    .signed_headers
                    .iter()
                    .any(|h| h == "x-amz-content-sha256") =>
        {
            Ok(vec![UNSIGNED_PAYLOAD.to_string()])
        }
        Some(claimed) if claimed.eq_ignore_ascii_case(&body_hash) => Ok(vec![claimed.to_string()]),
        Some(claimed) if claimed.len() == 64 && claimed.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Err(AuthError::invalid(
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            ))
        }
        Some(_) => Err(AuthError::invalid(
            "The 'x-amz-content-sha256' header must be the hex SHA-256 of the payload or UNSIGNED-PAYLOAD.",
        )),
        // A presigned URL may have been signed with S3's UNSIGNED-PAYLOAD.
        None if sig.presigned() => Ok(vec![body_hash, UNSIGNED_PAYLOAD.to_string()]),
        None => Ok(vec![body_hash]),
    }
}

/// Verifies `sig` (already parsed and scope-checked) over `req` with the
/// secret access key, in constant time.
pub fn verify(req: &Request<'_>, sig: &Signature, secret: &str) -> Result<(), AuthError> {
    let key = signing_key(secret, &sig.scope);
    let mut matched = false;
    for payload_hash in payload_hashes(req, sig)? {
        let creq = canonical_request(req, &sig.signed_headers, sig.presigned(), &payload_hash);
        let sts = string_to_sign(&sig.amz_date, &sig.scope, &creq);
        matched |= signature_matches(&key, sts.as_bytes(), &sig.signature);
    }
    if matched {
        Ok(())
    } else {
        Err(AuthError::mismatch())
    }
}

// ---------------------------------------------------------------------------
// Signing (for tests and clients)
// ---------------------------------------------------------------------------

/// The `Authorization` header value for `req`, signed at `amz_date` with
/// `signed_headers` (lower case, sorted) and the body's SHA-256.
pub fn authorization_header(
    req: &Request<'_>,
    access_key_id: &str,
    secret: &str,
    scope: &Scope,
    amz_date: &str,
    signed_headers: &[String],
) -> String {
    let creq = canonical_request(req, signed_headers, false, &sha256_hex(req.body));
    let sts = string_to_sign(amz_date, scope, &creq);
    let signature = sign(&signing_key(secret, scope), sts.as_bytes());
    format!(
        "{ALGORITHM} Credential={access_key_id}/{}, SignedHeaders={}, Signature={signature}",
        scope.to_line(),
        signed_headers.join(";")
    )
}

// ---------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------

fn epoch_seconds(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    if !(1..=12).contains(&mo)
        || d < 1
        || d > time::days_in_month(y, mo)
        || !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0..61).contains(&s)
    {
        return None;
    }
    Some(time::days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses `yyyymmddThhmmssZ` into seconds since the epoch.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    if s.len() != 16 || s.get(8..9)? != "T" || s.get(15..16)? != "Z" {
        return None;
    }
    epoch_seconds(
        digits(s.get(0..4)?)?,
        digits(s.get(4..6)?)?,
        digits(s.get(6..8)?)?,
        digits(s.get(9..11)?)?,
        digits(s.get(11..13)?)?,
        digits(s.get(13..15)?)?,
    )
}

/// Formats seconds since the epoch as `yyyymmddThhmmssZ`.
pub fn format_amz_date(t: i64) -> String {
    time::format_basic(t.saturating_mul(1000))
}

/// Parses an RFC 1123 date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn parse_http_date(s: &str) -> Option<i64> {
    let rest = s.trim();
    let rest = rest.split_once(", ").map_or(rest, |(_, r)| r);
    let mut it = rest.split_ascii_whitespace();
    let day = digits(it.next()?)?;
    let month = match it.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year = digits(it.next()?)?;
    let mut hms = it.next()?.split(':');
    let (h, mi, sec) = (
        digits(hms.next()?)?,
        digits(hms.next()?)?,
        digits(hms.next()?)?,
    );
    if hms.next().is_some() || !matches!(it.next()?, "GMT" | "UTC") || it.next().is_some() {
        return None;
    }
    epoch_seconds(year, month, day, h, mi, sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1_440_938_160));
        assert_eq!(format_amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(format_amz_date(951_782_400), "20000229T000000Z");
        assert_eq!(parse_amz_date("20150230T123600Z"), None);
        assert_eq!(parse_amz_date("2015-08-30T12:36:00Z"), None);
        assert_eq!(parse_amz_date("20150830T1236000"), None);
        assert_eq!(
            parse_http_date("Sun, 30 Aug 2015 12:36:00 GMT"),
            Some(1_440_938_160)
        );
        assert_eq!(parse_http_date("Sun, 30 Aug 2015 12:36 GMT"), None);
    }

    #[test]
    fn encoding() {
        assert_eq!(uri_encode(b"a b/c~d*", false), "a%20b%2Fc~d%2A");
        assert_eq!(uri_encode(b"a b/c", true), "a%20b/c");
        assert_eq!(percent_decode("%E1%88%B4%zz%4"), "ሴ%zz%4".as_bytes());
        assert_eq!(canonical_uri("/%E1%88%B4"), "/%25E1%2588%25B4");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(normalize_path("//example//"), "/example/");
        assert_eq!(normalize_path("/a/b/../../.."), "/");
        assert_eq!(
            canonical_query("b=2&a=%7e&a=1&X-Amz-Signature=x&c", true),
            "a=1&a=~&b=2&c="
        );
    }

    #[test]
    fn unhex_is_total() {
        assert_eq!(unhex("0aFf"), Some(vec![0x0a, 0xff]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é"), None);
    }
}
