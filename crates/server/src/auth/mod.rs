//! Who is calling: the region from the SigV4 credential scope of the
//! `Authorization` header, and the account.
//!
//! Signatures are accepted unchecked: Baton is a local engine and every
//! client signs with whatever keys it was given. Real SigV4 verification
//! (`--auth` against configured keys) is not built yet.

use axum::http::HeaderMap;
use baton_engine::Caller;

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
        (None, Some((key, _))) if key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit()) => {
            key.to_string()
        }
        _ => DEFAULT_ACCOUNT.to_string(),
    };
    Caller { account, region }
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
