//! The keys `--auth` accepts: a text file, one key a line.
//!
//! ```text
//! # ACCESS_KEY_ID      SECRET_ACCESS_KEY                          [ACCOUNT]
//! AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY   111122223333
//! test                 test
//! ```
//!
//! Fields are separated by spaces or tabs; blank lines and lines starting
//! with `#` are ignored. The optional third field is the 12-digit account
//! that key's requests act in (else `--account`, else the usual default).
//! Access key ids are unique. The file should be readable by its owner only
//! (mode 0600); a looser mode is reported by [`Credentials::load`].

use std::collections::HashMap;
use std::path::Path;

/// One configured key.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub account: Option<String>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("account", &self.account)
            .finish()
    }
}

/// The configured keys, by access key id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    keys: HashMap<String, Key>,
}

impl Credentials {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a key.
    pub fn insert(&mut self, key: Key) {
        self.keys.insert(key.access_key_id.clone(), key);
    }

    /// The key with this access key id.
    pub fn get(&self, access_key_id: &str) -> Option<&Key> {
        self.keys.get(access_key_id)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Parses the file format above. Errors name the line, never a secret.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut creds = Self::new();
        for (n, line) in text.lines().enumerate() {
            let n = n + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_ascii_whitespace().collect();
            let (id, secret, account) = match fields.as_slice() {
                [id, secret] => (*id, *secret, None),
                [id, secret, account] => (*id, *secret, Some(*account)),
                _ => {
                    return Err(format!(
                        "line {n}: expected `ACCESS_KEY_ID SECRET_ACCESS_KEY [ACCOUNT]`, found {} fields",
                        fields.len()
                    ));
                }
            };
            if !id
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b'/' && b != b',')
            {
                return Err(format!(
                    "line {n}: the access key id {id:?} may not contain '/' or ','"
                ));
            }
            if let Some(a) = account
                && !(a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(format!(
                    "line {n}: the account must be 12 digits, got {a:?}"
                ));
            }
            if creds.get(id).is_some() {
                return Err(format!(
                    "line {n}: the access key id {id:?} is listed twice"
                ));
            }
            creds.insert(Key {
                access_key_id: id.to_string(),
                secret_access_key: secret.to_string(),
                account: account.map(str::to_string),
            });
        }
        Ok(creds)
    }

    /// Reads and parses a credentials file. The second value is a warning
    /// when the file is readable or writable by others than its owner.
    pub fn load(path: &Path) -> Result<(Self, Option<String>), String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the credentials file {}: {e}", path.display()))?;
        let creds = Self::parse(&text)
            .map_err(|e| format!("the credentials file {}: {e}", path.display()))?;
        if creds.is_empty() {
            return Err(format!(
                "the credentials file {} lists no key (lines `ACCESS_KEY_ID SECRET_ACCESS_KEY [ACCOUNT]`)",
                path.display()
            ));
        }
        Ok((creds, loose_mode_warning(path)))
    }
}

#[cfg(unix)]
fn loose_mode_warning(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then(|| {
        format!(
            "the credentials file {} has mode {:o}: other users may read the secret keys (chmod 600 it)",
            path.display(),
            mode & 0o777
        )
    })
}

#[cfg(not(unix))]
fn loose_mode_warning(_path: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_comments_and_accounts() {
        let c = Credentials::parse(
            "# keys\n\nAKIDEXAMPLE wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY 111122223333\n  test\ttest  \n",
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        let k = c.get("AKIDEXAMPLE").unwrap();
        assert_eq!(
            k.secret_access_key,
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        );
        assert_eq!(k.account.as_deref(), Some("111122223333"));
        assert_eq!(c.get("test").unwrap().account, None);
        assert!(!format!("{k:?}").contains("EXAMPLEKEY"));
    }

    #[test]
    fn refuses_bad_lines_without_leaking_secrets() {
        for (text, want) in [
            ("onlyone\n", "line 1"),
            ("a b c d\n", "4 fields"),
            ("a/b secret\n", "may not contain"),
            ("a s3cr3t 12345\n", "12 digits"),
            ("a x\na y\n", "listed twice"),
        ] {
            let e = Credentials::parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(!e.contains("s3cr3t"), "{e}");
        }
    }
}
