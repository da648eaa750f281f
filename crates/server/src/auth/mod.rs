//! Who is calling: the region from the SigV4 credential scope, and the
//! account; with `--auth`, whether the request is signed at all.
//!
//! By default signatures are accepted unchecked: Baton is a local engine and
//! every client signs with whatever keys it was given. With `--auth` a
//! [`Verifier`] checks every request's SigV4 signature ([`sigv4`]) against the
//! keys of a credentials file ([`credentials`]); a request that fails gets
//! AWS's own error (`MissingAuthenticationTokenException`,
//! `IncompleteSignatureException`, `InvalidSignatureException`,
//! `UnrecognizedClientException`).

use axum::http::{HeaderMap, StatusCode};
use baton_engine::Caller;

use crate::sfn::ApiError;

pub mod credentials;
pub mod sigv4;

pub use credentials::{Credentials, Key};
pub use sigv4::{AuthError, AuthErrorKind};

/// The signing name (credential scope service) of Step Functions.
pub const SFN_SIGNING_NAME: &str = "states";

/// The region when the request names none.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The account when neither `--account` nor a 12-digit access key id names
/// one.
pub const DEFAULT_ACCOUNT: &str = "000000000000";

/// The access key id and region of a SigV4 `Authorization` header:
/// `AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...`.
pub fn credential_scope(authorization: &str) -> Option<(&str, &str)> {
    let rest = authorization
        .trim_start()
        .strip_prefix("AWS4-HMAC-SHA256")?;
    let cred = rest
        .split(',')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("Credential="))?;
    let mut parts = cred.split('/');
    let key = parts.next()?;
    let _date = parts.next()?;
    let region = parts.next()?;
    if key.is_empty() || region.is_empty() {
        return None;
    }
    Some((key, region))
}

/// Whether a region name is plausible (letters, digits and dashes).
fn plausible_region(r: &str) -> bool {
    r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The caller of a request. `account` (from `--account`) wins; else a
/// 12-digit access key id is the account; else `000000000000`.
pub fn caller(headers: &HeaderMap, account: Option<&str>) -> Caller {
    let scope = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(credential_scope);
    let region = scope
        .map(|(_, r)| r)
        .filter(|r| plausible_region(r))
        .unwrap_or(DEFAULT_REGION)
        .to_string();
    let account = match (account, scope) {
        (Some(a), _) => a.to_string(),
        (None, Some((key, _))) if is_account(key) => key.to_string(),
        _ => DEFAULT_ACCOUNT.to_string(),
    };
    Caller { account, region }
}

/// Whether an account id is 12 digits.
fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// What a verified signature says about its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key_id: String,
    /// The region of the credential scope.
    pub region: String,
    /// The account configured for the key, if any.
    pub account: Option<String>,
}

impl Verified {
    /// The caller: the key's own account wins, then `account` (`--account`),
    /// then a 12-digit access key id, then `000000000000`.
    pub fn caller(&self, account: Option<&str>) -> Caller {
        let account = match (&self.account, account) {
            (Some(a), _) => a.clone(),
            (None, Some(a)) => a.to_string(),
            (None, None) if is_account(&self.access_key_id) => self.access_key_id.clone(),
            (None, None) => DEFAULT_ACCOUNT.to_string(),
        };
        Caller {
            account,
            region: self.region.clone(),
        }
    }
}

/// Checks SigV4 signatures against configured keys, for any service.
#[derive(Debug, Clone)]
pub struct Verifier {
    credentials: Credentials,
}

impl Verifier {
    pub fn new(credentials: Credentials) -> Self {
        Self { credentials }
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Verifies `req`, signed for `service` (the credential scope's service:
    /// `states`, `sqs`, ...), at `now` (seconds since the epoch).
    pub fn verify(
        &self,
        service: &str,
        req: &sigv4::Request<'_>,
        now: i64,
    ) -> Result<Verified, AuthError> {
        let sig = sigv4::parse(req)?;
        if !plausible_region(&sig.scope.region) || sig.scope.region.is_empty() {
            return Err(AuthError {
                kind: AuthErrorKind::InvalidSignature,
                message: format!(
                    "Credential should be scoped to a valid region, not '{}'. ",
                    sig.scope.region
                ),
            });
        }
        sigv4::check_scope_and_time(&sig, service, now)?;
        let key = self
            .credentials
            .get(&sig.access_key_id)
            .ok_or_else(AuthError::unrecognized)?;
        sigv4::verify(req, &sig, &key.secret_access_key)?;
        Ok(Verified {
            access_key_id: sig.access_key_id,
            region: sig.scope.region,
            account: key.account.clone(),
        })
    }

    /// [`Verifier::verify`] at the system clock's time.
    pub fn verify_now(
        &self,
        service: &str,
        req: &sigv4::Request<'_>,
    ) -> Result<Verified, AuthError> {
        self.verify(service, req, unix_now())
    }
}

/// Seconds since the epoch by the system clock.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// AWS's JSON protocol answer for an authentication failure: HTTP 400 with
/// `__type` `com.amazon.coral.service#<Code>`.
impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            type_: format!("com.amazon.coral.service#{}", e.code()),
            message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn scope_from_boto3_header() {
        let h = headers(
            "AWS4-HMAC-SHA256 Credential=test/20261125/eu-west-2/states/aws4_request, SignedHeaders=content-type;host, Signature=ab",
        );
        assert_eq!(
            caller(&h, None),
            Caller {
                account: DEFAULT_ACCOUNT.into(),
                region: "eu-west-2".into()
            }
        );
        assert_eq!(caller(&h, Some("123456789012")).account, "123456789012");
    }

    #[test]
    fn twelve_digit_key_is_the_account() {
        let h = headers(
            "AWS4-HMAC-SHA256 Credential=111122223333/20261125/us-west-2/states/aws4_request",
        );
        assert_eq!(
            caller(&h, None),
            Caller {
                account: "111122223333".into(),
                region: "us-west-2".into()
            }
        );
    }

    #[test]
    fn no_header_defaults() {
        assert_eq!(
            caller(&HeaderMap::new(), None),
            Caller {
                account: DEFAULT_ACCOUNT.into(),
                region: DEFAULT_REGION.into()
            }
        );
        assert_eq!(caller(&headers("Bearer x"), None).region, DEFAULT_REGION);
    }
}
