//! Messages: attribute validation, the digests AWS computes (the SDKs check
//! `MD5OfMessageBody` and `MD5OfMessageAttributes`), and what is kept with
//! each message.

use std::collections::BTreeMap;

use base64::Engine as _;
use md5::{Digest as _, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::errors::{invalid_message_contents, invalid_parameter};
use crate::ServiceError;

/// One message attribute value. Binary values are kept as the base64 text
/// the caller sent (validated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AttrValue {
    #[serde(rename = "t")]
    pub data_type: String,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub string: Option<String>,
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
}

impl AttrValue {
    /// Bytes counted against the message size.
    fn size(&self, name: &str) -> usize {
        let value = match (&self.string, &self.binary) {
            (Some(s), _) => s.len(),
            (None, Some(b)) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_or(b.len(), |d| d.len()),
            (None, None) => 0,
        };
        name.len() + self.data_type.len() + value
    }

    /// The value in the JSON protocol's shape.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        if let Some(s) = &self.string {
            m.insert("StringValue".into(), Value::String(s.clone()));
        }
        if let Some(b) = &self.binary {
            m.insert("BinaryValue".into(), Value::String(b.clone()));
        }
        m.insert("DataType".into(), Value::String(self.data_type.clone()));
        Value::Object(m)
    }
}

pub(crate) type Attrs = BTreeMap<String, AttrValue>;

/// What is kept with a message besides its body (the store's
/// `MessageRecord::meta`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Meta {
    #[serde(rename = "a", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: Attrs,
    #[serde(rename = "ma", default, skip_serializing_if = "Option::is_none")]
    pub md5_attrs: Option<String>,
    /// `AWSTraceHeader`.
    #[serde(rename = "tr", default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    #[serde(rename = "ms", default, skip_serializing_if = "Option::is_none")]
    pub md5_system: Option<String>,
    #[serde(rename = "g", default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<String>,
    /// FIFO `SequenceNumber`.
    #[serde(rename = "n", default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    #[serde(rename = "sn", default)]
    pub sender: String,
    /// The queue a dead-lettered message came from.
    #[serde(rename = "dl", default, skip_serializing_if = "Option::is_none")]
    pub dlq_source: Option<String>,
}

/// The MD5 of a string, in hex.
pub(crate) fn md5_hex(bytes: &[u8]) -> String {
    hex(&Md5::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// The SHA-256 of a body, in hex (content-based deduplication).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    hex(&Sha256::digest(bytes))
}

/// `MD5OfMessageAttributes` as AWS computes it: for each attribute in name
/// order, the length-prefixed (4 bytes, big-endian) name and data type, a
/// transport byte (1 string, 2 binary) and the length-prefixed value.
pub(crate) fn md5_of_attrs<'a>(
    attrs: impl IntoIterator<Item = (&'a String, &'a AttrValue)>,
) -> String {
    let mut h = Md5::new();
    let put = |h: &mut Md5, b: &[u8]| {
        h.update((b.len() as u32).to_be_bytes());
        h.update(b);
    };
    for (name, v) in attrs {
        put(&mut h, name.as_bytes());
        put(&mut h, v.data_type.as_bytes());
        if let Some(s) = &v.string {
            h.update([1u8]);
            put(&mut h, s.as_bytes());
        } else if let Some(b) = &v.binary {
            h.update([2u8]);
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b)
                .unwrap_or_default();
            put(&mut h, &bytes);
        }
    }
    hex(&h.finalize())
}

/// Whether every character is one SQS accepts.
pub(crate) fn check_chars(s: &str) -> Result<(), ServiceError> {
    let ok = s.chars().all(|c| {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    });
    if ok {
        Ok(())
    } else {
        Err(invalid_message_contents())
    }
}

fn valid_attr_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.")
}

/// Parses `MessageAttributes` (`system`: `MessageSystemAttributes`, where
/// only `AWSTraceHeader` exists). Returns the attributes and their size.
pub(crate) fn parse_attrs(v: Option<&Value>, system: bool) -> Result<(Attrs, usize), ServiceError> {
    let mut out = Attrs::new();
    let mut size = 0;
    let map = match v {
        None | Some(Value::Null) => return Ok((out, 0)),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(invalid_parameter(
                "The message attributes must be a map of names to values.",
            ));
        }
    };
    if map.len() > 10 {
        return Err(invalid_parameter(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [10].",
            map.len()
        )));
    }
    let kind = if system { "system" } else { "(user)" };
    for (name, value) in map {
        if system {
            if name != "AWSTraceHeader" {
                return Err(invalid_parameter(format!(
                    "Message system attribute name '{name}' is invalid."
                )));
            }
        } else if !valid_attr_name(name) {
            return Err(invalid_parameter(format!(
                "Message (user) attribute name '{name}' is invalid. The name must contain only \
                 alphanumeric characters, hyphens, underscores and periods, must not start or end \
                 with a period, must not contain consecutive periods and must not start with \
                 'AWS.' or 'Amazon.'."
            )));
        }
        let Value::Object(o) = value else {
            return Err(invalid_parameter(format!(
                "The message {kind} attribute '{name}' must contain a value."
            )));
        };
        let data_type = match o.get("DataType") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(invalid_parameter(format!(
                    "The message {kind} attribute '{name}' must contain non-empty message attribute type."
                )));
            }
        };
        let base = data_type.split('.').next().unwrap_or("");
        if !matches!(base, "String" | "Number" | "Binary") || data_type.len() > 256 {
            return Err(invalid_parameter(format!(
                "The message {kind} attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
            )));
        }
        if system && base != "String" {
            return Err(invalid_parameter(format!(
                "The message system attribute '{name}' must be of type String."
            )));
        }
        let string = match o.get("StringValue") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        let binary = match o.get("BinaryValue") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(_) => {
                return Err(invalid_parameter(format!(
                    "The message {kind} attribute '{name}' has an invalid binary value."
                )));
            }
        };
        let missing = || {
            invalid_parameter(format!(
                "The message {kind} attribute '{name}' must contain non-empty message attribute value for message attribute type '{base}'."
            ))
        };
        let value = match base {
            "Binary" => {
                let b = binary.filter(|b| !b.is_empty()).ok_or_else(missing)?;
                if base64::engine::general_purpose::STANDARD
                    .decode(&b)
                    .is_err()
                {
                    return Err(invalid_parameter(format!(
                        "The message {kind} attribute '{name}' has an invalid binary value (not base64)."
                    )));
                }
                AttrValue {
                    data_type,
                    string: None,
                    binary: Some(b),
                }
            }
            _ => {
                let s = string.filter(|s| !s.is_empty()).ok_or_else(missing)?;
                check_chars(&s)?;
                if base == "Number" && !is_number(&s) {
                    return Err(invalid_parameter(format!(
                        "Can't cast the value of message {kind} attribute '{name}' to a number."
                    )));
                }
                AttrValue {
                    data_type,
                    string: Some(s),
                    binary: None,
                }
            }
        };
        size += value.size(name);
        out.insert(name.clone(), value);
    }
    Ok((out, size))
}

fn is_number(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && t.len() <= 40 && t.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Which message attributes a receive asked for (`MessageAttributeNames`):
/// `All` / `.*`, exact names, and prefixes `foo.*`.
pub(crate) struct AttrFilter {
    all: bool,
    names: Vec<String>,
    prefixes: Vec<String>,
}

impl AttrFilter {
    pub fn new(names: &[String]) -> AttrFilter {
        let mut f = AttrFilter {
            all: false,
            names: Vec::new(),
            prefixes: Vec::new(),
        };
        for n in names {
            if n == "All" || n == ".*" {
                f.all = true;
            } else if let Some(p) = n.strip_suffix(".*") {
                f.prefixes.push(format!("{p}."));
            } else {
                f.names.push(n.clone());
            }
        }
        f
    }

    pub fn is_empty(&self) -> bool {
        !self.all && self.names.is_empty() && self.prefixes.is_empty()
    }

    pub fn is_all(&self) -> bool {
        self.all
    }

    pub fn matches(&self, name: &str) -> bool {
        self.all
            || self.names.iter().any(|n| n == name)
            || self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_body() {
        // From the wire captures: the SDKs check these.
        assert_eq!(
            md5_hex(b"{\"Token\":\"t-1\"}"),
            "6a507424e588bb037191451f0444ea75"
        );
        assert_eq!(
            md5_hex(b"{\"Token\": \"t-1\"}"),
            "efb21bcc36bce68e35aebb7d7de5ba75"
        );
    }

    #[test]
    fn md5_of_message_attributes() {
        let (attrs, _) = parse_attrs(
            Some(&serde_json::json!({
                "test": {"DataType": "String", "StringValue": "test"},
            })),
            false,
        )
        .expect("valid");
        // Computed by hand: name "test", type "String", transport 1, value "test".
        let mut buf = Vec::new();
        for part in [&b"test"[..], &b"String"[..]] {
            buf.extend_from_slice(&(part.len() as u32).to_be_bytes());
            buf.extend_from_slice(part);
        }
        buf.push(1);
        buf.extend_from_slice(&4u32.to_be_bytes());
        buf.extend_from_slice(b"test");
        assert_eq!(md5_of_attrs(&attrs), md5_hex(&buf));
    }
}
