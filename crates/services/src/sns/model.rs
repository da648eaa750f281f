//! The records SNS keeps in the store, AWS's errors, and small helpers
//! (ARNs, timestamps, JSON-protocol input access).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Scope, ServiceError};

/// Resource kinds in the store's resource table.
pub const KIND_TOPIC: &str = "sns:topic";
pub const KIND_SUB: &str = "sns:subscription";
pub const KIND_DELIVERY: &str = "sns:delivery";

/// A topic (key: its ARN).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Topic {
    pub arn: String,
    pub name: String,
    pub owner: String,
    /// The attributes set by CreateTopic / SetTopicAttributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
}

impl Topic {
    pub fn is_fifo(&self) -> bool {
        self.attributes.get("FifoTopic").map(String::as_str) == Some("true")
    }

    pub fn content_based_dedup(&self) -> bool {
        self.attributes
            .get("ContentBasedDeduplication")
            .map(String::as_str)
            == Some("true")
    }
}

/// A subscription (key: its ARN, `<topic arn>:<uuid>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub arn: String,
    pub topic_arn: String,
    pub protocol: String,
    pub endpoint: String,
    pub owner: String,
    /// Waiting for ConfirmSubscription (http/https).
    pub pending: bool,
    /// The confirmation token (http/https).
    #[serde(default)]
    pub token: String,
    /// RawMessageDelivery, FilterPolicy, FilterPolicyScope, RedrivePolicy,
    /// DeliveryPolicy, SubscriptionRoleArn.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl Subscription {
    pub fn raw(&self) -> bool {
        self.attributes
            .get("RawMessageDelivery")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn dead_letter_arn(&self) -> Option<String> {
        let policy: Value = serde_json::from_str(self.attributes.get("RedrivePolicy")?).ok()?;
        policy
            .get("deadLetterTargetArn")
            .and_then(Value::as_str)
            .map(str::to_string)
    }
}

// ----- errors ------------------------------------------------------------------

pub fn invalid_parameter(message: impl Into<String>) -> ServiceError {
    ServiceError::client("InvalidParameter", message)
}

pub fn invalid_parameter_value(message: impl Into<String>) -> ServiceError {
    ServiceError::client("ParameterValueInvalid", message)
}

pub fn topic_not_found() -> ServiceError {
    ServiceError::client("NotFound", "Topic does not exist").with_status(404)
}

pub fn subscription_not_found() -> ServiceError {
    ServiceError::client("NotFound", "Subscription does not exist").with_status(404)
}

pub fn resource_not_found() -> ServiceError {
    ServiceError::client("ResourceNotFound", "Resource does not exist").with_status(404)
}

/// AWS's "member must not be null" validation error; `member` in the
/// model's camelCase spelling.
pub fn missing(member: &str) -> ServiceError {
    ServiceError::client(
        "ValidationError",
        format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ),
    )
}

// ----- input access ------------------------------------------------------------

/// A JSON-protocol input object.
pub struct Input<'a>(pub &'a Map<String, Value>);

impl<'a> Input<'a> {
    /// A string member (numbers and booleans are accepted in their text
    /// form, as the query protocol sends everything as text).
    pub fn str(&self, name: &str) -> Result<Option<String>, ServiceError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(invalid_parameter(format!("Invalid parameter: {name}"))),
        }
    }

    pub fn required(&self, name: &str) -> Result<String, ServiceError> {
        self.str(name)?.ok_or_else(|| missing(&camel(name)))
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ServiceError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(invalid_parameter(format!("Invalid parameter: {name}"))),
        }
    }

    /// A string-to-string map member (`Attributes`).
    pub fn string_map(&self, name: &str) -> Result<BTreeMap<String, String>, ServiceError> {
        let mut out = BTreeMap::new();
        match self.0.get(name) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        other => other.to_string(),
                    };
                    out.insert(k.clone(), v);
                }
            }
            Some(_) => return Err(invalid_parameter(format!("Invalid parameter: {name}"))),
        }
        Ok(out)
    }

    /// A `[{Key, Value}]` list member (`Tags`).
    pub fn tags(&self, name: &str) -> Result<Option<Vec<(String, String)>>, ServiceError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let key = item
                        .get("Key")
                        .and_then(Value::as_str)
                        .ok_or_else(|| missing(&format!("{}.{}.member.key", camel(name), i + 1)))?;
                    let value = item.get("Value").and_then(Value::as_str).ok_or_else(|| {
                        missing(&format!("{}.{}.member.value", camel(name), i + 1))
                    })?;
                    out.push((key.to_string(), value.to_string()));
                }
                Ok(Some(out))
            }
            Some(_) => Err(invalid_parameter(format!("Invalid parameter: {name}"))),
        }
    }

    /// A list of strings (`TagKeys`).
    pub fn string_list(&self, name: &str) -> Result<Option<Vec<String>>, ServiceError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => Ok(Some(
                items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
            )),
            Some(_) => Err(invalid_parameter(format!("Invalid parameter: {name}"))),
        }
    }
}

/// `TopicArn` → `topicArn`.
pub fn camel(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

// ----- ARNs ----------------------------------------------------------------------

/// The parts of an SNS ARN.
pub struct Arn<'a> {
    pub region: &'a str,
    pub account: &'a str,
    /// Everything after the account (`name` or `name:uuid`).
    pub resource: &'a str,
}

/// Splits an ARN, with AWS's message for one with too few elements.
/// `member` is the parameter's name (`TopicArn`, `SubscriptionArn`).
pub fn parse_arn<'a>(arn: &'a str, member: &str) -> Result<Arn<'a>, ServiceError> {
    let count = arn.split(':').count();
    if count < 6 {
        return Err(invalid_parameter(format!(
            "Invalid parameter: {member} Reason: An ARN must have at least 6 elements, not {count}"
        )));
    }
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some(service), Some(region), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid_parameter(format!("Invalid parameter: {member}")));
    };
    if service != "sns" || rest.is_empty() {
        return Err(invalid_parameter(format!("Invalid parameter: {member}")));
    }
    Ok(Arn {
        region,
        account,
        resource: rest,
    })
}

/// Checks a topic ARN given by a caller in `scope` (the topic must be in
/// the caller's region).
pub fn check_topic_arn(scope: &Scope, arn: &str, member: &str) -> Result<(), ServiceError> {
    let parsed = parse_arn(arn, member)?;
    if parsed.region != scope.region || parsed.resource.contains(':') {
        return Err(invalid_parameter(format!("Invalid parameter: {member}")));
    }
    Ok(())
}

pub fn topic_arn(scope: &Scope, name: &str) -> String {
    format!(
        "arn:{}:sns:{}:{}:{}",
        scope.partition(),
        scope.region,
        scope.account,
        name
    )
}

/// The key prefix of every topic and subscription of a scope.
pub fn scope_prefix(scope: &Scope) -> String {
    format!(
        "arn:{}:sns:{}:{}:",
        scope.partition(),
        scope.region,
        scope.account
    )
}

/// `arn:aws:sqs:region:account:name` → (scope, name).
pub fn sqs_queue_of(arn: &str) -> Option<(Scope, String)> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[5].is_empty() {
        return None;
    }
    Some((Scope::new(parts[4], parts[3]), parts[5].to_string()))
}

// ----- time and ids ----------------------------------------------------------------

/// Now, in epoch milliseconds.
pub use baton_engine::runtime::wall_clock_ms as now_ms;

pub fn uuid() -> String {
    baton_engine::control::uuid_v4()
}

/// A confirmation token: 128 hex digits.
pub fn new_token() -> String {
    let mut s = String::with_capacity(128);
    for _ in 0..4 {
        s.push_str(&uuid().replace('-', ""));
    }
    s
}

/// A FIFO sequence number: 20 digits, increasing within the process and
/// across restarts (it starts from the clock).
pub fn next_sequence_number() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let floor = (now_ms().max(0) as u64).saturating_mul(1_000_000);
    let mut cur = LAST.load(Ordering::Relaxed);
    loop {
        let next = floor.max(cur + 1);
        match LAST.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return format!("{next:020}"),
            Err(actual) => cur = actual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        assert!(parse_arn("nope", "TopicArn").is_err());
        let a = parse_arn("arn:aws:sns:us-east-1:123:t", "TopicArn").ok();
        assert_eq!(a.map(|a| a.resource), Some("t"));
        let (scope, name) = sqs_queue_of("arn:aws:sqs:eu-west-1:111:q.fifo")
            .unwrap_or_else(|| (Scope::new("", ""), String::new()));
        assert_eq!(
            (scope.region.as_str(), name.as_str()),
            ("eu-west-1", "q.fifo")
        );
        let s1 = next_sequence_number();
        let s2 = next_sequence_number();
        assert!(s2 > s1 && s1.len() == 20);
    }
}
