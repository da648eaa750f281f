//! Task tokens: unforgeable and self-routing.
//!
//! A token names the execution (its internal id), the task (one attempt of
//! one Task state entry: task ids are never reused within an execution) and
//! the attempt, and carries an HMAC-SHA256 over them under a secret kept in
//! the store. Checking a token costs no lookup; routing it costs one.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
const BODY: usize = 1 + 8 + 8 + 4;
const MAC: usize = 16;

/// What a valid token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenClaims {
    pub execution_id: u64,
    pub task: u64,
    pub attempt: u32,
}

/// Mints and checks tokens under one secret.
#[derive(Clone)]
pub struct TokenKey {
    secret: [u8; 32],
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    pub fn new(secret: [u8; 32]) -> Self {
        Self { secret }
    }

    fn mac(&self, body: &[u8]) -> [u8; MAC] {
        let mut m =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        m.update(body);
        let full = m.finalize().into_bytes();
        let mut out = [0u8; MAC];
        out.copy_from_slice(&full[..MAC]);
        out
    }

    /// A token for `claims`.
    pub fn mint(&self, claims: TokenClaims) -> String {
        let mut buf = Vec::with_capacity(BODY + MAC);
        buf.push(VERSION);
        buf.extend_from_slice(&claims.execution_id.to_be_bytes());
        buf.extend_from_slice(&claims.task.to_be_bytes());
        buf.extend_from_slice(&claims.attempt.to_be_bytes());
        let mac = self.mac(&buf);
        buf.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(buf)
    }

    /// The claims of a genuine token; `None` for anything malformed or forged.
    pub fn verify(&self, token: &str) -> Option<TokenClaims> {
        if token.len() > 2048 {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        if raw.len() != BODY + MAC || raw[0] != VERSION {
            return None;
        }
        let (body, mac) = raw.split_at(BODY);
        let expected = self.mac(body);
        // Constant-time comparison.
        let diff = expected
            .iter()
            .zip(mac)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff != 0 {
            return None;
        }
        let execution_id = u64::from_be_bytes(body[1..9].try_into().ok()?);
        let task = u64::from_be_bytes(body[9..17].try_into().ok()?);
        let attempt = u32::from_be_bytes(body[17..21].try_into().ok()?);
        Some(TokenClaims {
            execution_id,
            task,
            attempt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_forgery() {
        let key = TokenKey::new([7; 32]);
        let claims = TokenClaims {
            execution_id: 42,
            task: 3,
            attempt: 1,
        };
        let t = key.mint(claims);
        assert_eq!(key.verify(&t), Some(claims));
        assert_eq!(TokenKey::new([8; 32]).verify(&t), None, "another secret");
        let mut forged = t.clone().into_bytes();
        let i = forged.len() / 2;
        forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.verify(&String::from_utf8(forged).unwrap()), None);
        assert_eq!(key.verify("FakeTaskToken"), None);
        assert_eq!(key.verify(""), None);
    }
}
