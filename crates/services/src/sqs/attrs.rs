//! Queue attributes: validation as AWS does it, defaults, and the parsed
//! settings the queue runs with.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::{
    invalid_attribute_name, invalid_attribute_value, invalid_parameter, invalid_value,
};
use crate::ServiceError;

/// What a queue row keeps (the store's `QueueRecord::value`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct QueueMeta {
    pub name: String,
    pub region: String,
    pub account: String,
    /// Epoch seconds.
    pub created_s: i64,
    pub modified_s: i64,
    /// The settable attributes, in their canonical text.
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A dead-letter redrive policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Redrive {
    pub target_arn: String,
    pub max_receive_count: u32,
}

/// The settings a queue runs with (parsed from its attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Config {
    pub delay_s: u32,
    pub max_message_size: usize,
    pub retention_s: u32,
    pub wait_s: u32,
    pub visibility_s: u32,
    pub redrive: Option<Redrive>,
    pub fifo: bool,
    pub content_dedup: bool,
    /// `DeduplicationScope=messageGroup`.
    pub dedup_per_group: bool,
}

pub(crate) const DEFAULT_MAX_MESSAGE_SIZE: u32 = 262_144;
pub(crate) const MAX_VISIBILITY_S: i64 = 43_200;

/// Attributes a caller may set (FIFO-only ones included).
const SETTABLE: &[&str] = &[
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "RedriveAllowPolicy",
];

const FIFO_ONLY: &[&str] = &[
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Attributes GetQueueAttributes knows (`All` aside).
pub(crate) const READABLE: &[&str] = &[
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
];

fn int_in(name: &str, value: &str, lo: i64, hi: i64) -> Result<String, ServiceError> {
    match value.trim().parse::<i64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v.to_string()),
        _ => Err(invalid_attribute_value(format!(
            "Invalid value for the parameter {name}."
        ))),
    }
}

fn boolean(name: &str, value: &str) -> Result<String, ServiceError> {
    if value.eq_ignore_ascii_case("true") {
        Ok("true".into())
    } else if value.eq_ignore_ascii_case("false") {
        Ok("false".into())
    } else {
        Err(invalid_attribute_value(format!(
            "Invalid value for the parameter {name}."
        )))
    }
}

/// Parses a RedrivePolicy value into its canonical JSON text.
pub(crate) fn parse_redrive(value: &str) -> Result<Redrive, ServiceError> {
    let bad = |reason: &str| invalid_value("RedrivePolicy", value, reason);
    let v: Value =
        serde_json::from_str(value).map_err(|_| bad("Redrive policy is not a valid JSON map."))?;
    let Value::Object(o) = v else {
        return Err(bad("Redrive policy is not a valid JSON map."));
    };
    for k in o.keys() {
        if k != "deadLetterTargetArn" && k != "maxReceiveCount" {
            return Err(bad(&format!(
                "Only following keys are allowed in a RedrivePolicy: deadLetterTargetArn, maxReceiveCount. Found: {k}"
            )));
        }
    }
    let target_arn = match o.get("deadLetterTargetArn") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(bad(
                "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.",
            ));
        }
    };
    let count = match o.get("maxReceiveCount") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        None => {
            return Err(bad(
                "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
            ));
        }
        _ => None,
    };
    let max_receive_count = match count {
        Some(c) if (1..=1000).contains(&c) => c as u32,
        _ => {
            return Err(bad(&format!(
                "Invalid value for maxReceiveCount: {}, valid values are from 1 to 1000 both inclusive.",
                o.get("maxReceiveCount")
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .unwrap_or_default()
            )));
        }
    };
    Ok(Redrive {
        target_arn,
        max_receive_count,
    })
}

pub(crate) fn redrive_text(r: &Redrive) -> String {
    serde_json::json!({
        "deadLetterTargetArn": r.target_arn,
        "maxReceiveCount": r.max_receive_count,
    })
    .to_string()
}

/// Validates attributes given to CreateQueue (`creating`) or
/// SetQueueAttributes; returns them in canonical form (an empty value
/// for Policy, RedrivePolicy or RedriveAllowPolicy means "remove").
pub(crate) fn validate(
    given: &[(String, String)],
    creating: bool,
    fifo: bool,
) -> Result<BTreeMap<String, String>, ServiceError> {
    let mut out = BTreeMap::new();
    for (name, value) in given {
        let known = SETTABLE.contains(&name.as_str());
        let allowed = if name == "FifoQueue" {
            creating
        } else {
            fifo || !FIFO_ONLY.contains(&name.as_str())
        };
        if !known || !allowed {
            return Err(invalid_attribute_name(format!("Unknown Attribute {name}.")));
        }
        let canonical = match name.as_str() {
            "DelaySeconds" => int_in(name, value, 0, 900)?,
            "MaximumMessageSize" => int_in(name, value, 1024, 1_048_576)?,
            "MessageRetentionPeriod" => int_in(name, value, 60, 1_209_600)?,
            "ReceiveMessageWaitTimeSeconds" => int_in(name, value, 0, 20)?,
            "VisibilityTimeout" => int_in(name, value, 0, MAX_VISIBILITY_S)?,
            "KmsDataKeyReusePeriodSeconds" => int_in(name, value, 60, 86_400)?,
            "SqsManagedSseEnabled" | "FifoQueue" | "ContentBasedDeduplication" => {
                boolean(name, value)?
            }
            "DeduplicationScope" => match value.as_str() {
                "messageGroup" | "queue" => value.clone(),
                _ => {
                    return Err(invalid_attribute_value(format!(
                        "Invalid value for the parameter {name}."
                    )));
                }
            },
            "FifoThroughputLimit" => match value.as_str() {
                "perQueue" | "perMessageGroupId" => value.clone(),
                _ => {
                    return Err(invalid_attribute_value(format!(
                        "Invalid value for the parameter {name}."
                    )));
                }
            },
            "RedrivePolicy" => {
                if value.is_empty() {
                    String::new()
                } else {
                    redrive_text(&parse_redrive(value)?)
                }
            }
            "Policy" | "RedriveAllowPolicy" => {
                if !value.is_empty() && serde_json::from_str::<Value>(value).is_err() {
                    return Err(invalid_attribute_value(format!(
                        "Invalid value for the parameter {name}."
                    )));
                }
                value.clone()
            }
            _ => value.clone(),
        };
        out.insert(name.clone(), canonical);
    }
    if let Some(v) = out.get("FifoQueue")
        && v == "false"
        && fifo
    {
        return Err(invalid_parameter(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or \
             underscores, must end with .fifo suffix and be 1 to 80 in length.",
        ));
    }
    Ok(out)
}

/// The attributes of a new queue: defaults, then what was given.
pub(crate) fn with_defaults(
    given: BTreeMap<String, String>,
    fifo: bool,
) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert("DelaySeconds".to_string(), "0".to_string());
    a.insert(
        "MaximumMessageSize".to_string(),
        DEFAULT_MAX_MESSAGE_SIZE.to_string(),
    );
    a.insert("MessageRetentionPeriod".to_string(), "345600".to_string());
    a.insert("ReceiveMessageWaitTimeSeconds".to_string(), "0".to_string());
    a.insert("VisibilityTimeout".to_string(), "30".to_string());
    a.insert("SqsManagedSseEnabled".to_string(), "true".to_string());
    if fifo {
        a.insert("FifoQueue".to_string(), "true".to_string());
        a.insert("ContentBasedDeduplication".to_string(), "false".to_string());
        a.insert("DeduplicationScope".to_string(), "queue".to_string());
        a.insert("FifoThroughputLimit".to_string(), "perQueue".to_string());
    }
    for (k, v) in given {
        if v.is_empty() {
            a.remove(&k);
        } else {
            a.insert(k, v);
        }
    }
    a
}

fn num(a: &BTreeMap<String, String>, name: &str, default: u32) -> u32 {
    a.get(name)
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(default)
}

/// The settings of a queue with attributes `a`.
pub(crate) fn config(a: &BTreeMap<String, String>) -> Config {
    Config {
        delay_s: num(a, "DelaySeconds", 0),
        max_message_size: num(a, "MaximumMessageSize", DEFAULT_MAX_MESSAGE_SIZE) as usize,
        retention_s: num(a, "MessageRetentionPeriod", 345_600),
        wait_s: num(a, "ReceiveMessageWaitTimeSeconds", 0),
        visibility_s: num(a, "VisibilityTimeout", 30),
        redrive: a.get("RedrivePolicy").and_then(|v| parse_redrive(v).ok()),
        fifo: a.get("FifoQueue").is_some_and(|v| v == "true"),
        content_dedup: a
            .get("ContentBasedDeduplication")
            .is_some_and(|v| v == "true"),
        dedup_per_group: a
            .get("DeduplicationScope")
            .is_some_and(|v| v == "messageGroup"),
    }
}

/// Whether a queue name is valid (`fifo`: it must end with `.fifo`).
pub(crate) fn valid_name(name: &str, fifo: bool) -> bool {
    let base = if fifo {
        match name.strip_suffix(".fifo") {
            Some(b) => b,
            None => return false,
        }
    } else {
        name
    };
    !name.is_empty()
        && name.len() <= 80
        && !base.is_empty()
        && base
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
