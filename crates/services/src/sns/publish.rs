//! Publish and PublishBatch: validation with AWS's messages, filter
//! policies, and the fan-out that writes one pending delivery per matching
//! subscription in one store transaction before answering.

use std::collections::HashSet;
use std::sync::Arc;

use base64::Engine as _;
use baton_storage::ResourceOp;
use serde_json::{Map, Value, json};
use sha2::Digest as _;

use super::delivery::{Delivery, RetryPolicy};
use super::filter;
use super::model::{
    Input, Subscription, Topic, invalid_parameter, invalid_parameter_value, missing, now_ms,
};
use super::{Inner, http_policy};
use crate::{Scope, ServiceError};

/// The most a message (body and attributes) may hold: 256 KiB.
pub const MAX_MESSAGE_BYTES: usize = 262_144;

/// How long a FIFO deduplication id is remembered.
const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

/// One validated message.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub message: String,
    /// `MessageStructure=json`: the message per protocol (`default` at
    /// least).
    pub per_protocol: Option<Map<String, Value>>,
    pub subject: Option<String>,
    pub attributes: Map<String, Value>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    pub size: usize,
}

impl Prepared {
    /// The message a subscriber over `protocol` receives.
    pub fn content(&self, protocol: &str) -> String {
        match &self.per_protocol {
            Some(m) => m
                .get(protocol)
                .or_else(|| m.get("default"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            None => self.message.clone(),
        }
    }
}

/// Where a validation error points: Publish's members or a batch entry's.
#[derive(Clone, Copy)]
enum At {
    Publish,
    Entry(usize),
}

impl At {
    fn member(self, name: &str) -> String {
        match self {
            At::Publish => name.to_string(),
            At::Entry(i) => format!("publishBatchRequestEntries.{i}.member.{name}"),
        }
    }
}

fn valid_attribute_name(name: &str) -> Result<(), ServiceError> {
    if name.len() > 256 {
        return Err(invalid_parameter_value(
            "Length of message attribute name must be less than 256 bytes.",
        ));
    }
    if name.is_empty() {
        return Err(invalid_parameter_value(
            "The message attribute name can not be empty.",
        ));
    }
    if name.starts_with('.') {
        return Err(invalid_parameter_value(
            "Invalid message attribute name starting with character '.' was found.",
        ));
    }
    if name.ends_with('.') {
        return Err(invalid_parameter_value(
            "Invalid message attribute name ending with character '.' was found.",
        ));
    }
    let mut prev = ' ';
    for c in name.chars() {
        if !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.') {
            return Err(invalid_parameter_value(format!(
                "Invalid non-alphanumeric character '#x{:X}' was found in the message attribute name. Can only include alphanumeric characters, hyphens, underscores, or dots.",
                c as u32
            )));
        }
        if c == '.' && prev == '.' {
            return Err(invalid_parameter_value(
                "Message attribute name can not have successive '.' character.",
            ));
        }
        prev = c;
    }
    Ok(())
}

/// Validates `MessageAttributes` (JSON-protocol shape); returns them and
/// their size in bytes.
fn message_attributes(
    value: Option<&Value>,
    at: At,
) -> Result<(Map<String, Value>, usize), ServiceError> {
    let mut out = Map::new();
    let mut size = 0;
    let Some(value) = value else {
        return Ok((out, 0));
    };
    let Value::Object(attrs) = value else {
        if value.is_null() {
            return Ok((out, 0));
        }
        return Err(invalid_parameter("Invalid parameter: MessageAttributes"));
    };
    for (name, attr) in attrs {
        valid_attribute_name(name)?;
        let data_type = attr
            .get("DataType")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                missing(&at.member(&format!("messageAttributes.{name}.member.dataType")))
            })?;
        let base = data_type.split('.').next().unwrap_or("");
        if !matches!(base, "String" | "Number" | "Binary") {
            return Err(invalid_parameter_value(format!(
                "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
            )));
        }
        let string_value = attr.get("StringValue").and_then(Value::as_str);
        let binary_value = attr.get("BinaryValue").and_then(Value::as_str);
        if string_value.is_none() && binary_value.is_none() {
            return Err(invalid_parameter_value(format!(
                "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{data_type}'."
            )));
        }
        let mut clean = Map::new();
        clean.insert("DataType".into(), json!(data_type));
        size += name.len() + data_type.len();
        if base == "Binary" {
            let Some(b) = binary_value else {
                return Err(invalid_parameter_value(format!(
                    "The message attribute '{name}' with type '{data_type}' must use field 'Binary'."
                )));
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b.as_bytes())
                .map_err(|_| {
                    invalid_parameter_value(format!(
                        "The message attribute '{name}' has an invalid binary value."
                    ))
                })?;
            if bytes.is_empty() {
                return Err(invalid_parameter_value(format!(
                    "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{data_type}'."
                )));
            }
            size += bytes.len();
            clean.insert("BinaryValue".into(), json!(b));
        } else {
            let Some(s) = string_value else {
                return Err(invalid_parameter_value(format!(
                    "The message attribute '{name}' with type '{data_type}' must use field 'String'."
                )));
            };
            if s.is_empty() {
                return Err(invalid_parameter_value(format!(
                    "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{data_type}'."
                )));
            }
            if base == "Number"
                && s.trim()
                    .parse::<f64>()
                    .map(|f| !f.is_finite())
                    .unwrap_or(true)
            {
                return Err(invalid_parameter_value(format!(
                    "Could not cast message attribute '{name}' value to number."
                )));
            }
            if data_type == "String.Array" {
                let ok = matches!(
                    serde_json::from_str::<Value>(s),
                    Ok(Value::Array(items)) if items.iter().all(|i| !i.is_object() && !i.is_array())
                );
                if !ok {
                    return Err(invalid_parameter_value(format!(
                        "The message attribute '{name}' with type 'String.Array' must be a JSON array of strings, numbers, true, false or null."
                    )));
                }
            }
            size += s.len();
            clean.insert("StringValue".into(), json!(s));
        }
        out.insert(name.clone(), Value::Object(clean));
    }
    Ok((out, size))
}

fn valid_subject(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= 100
        && s.chars().all(|c| c.is_ascii() && !c.is_ascii_control())
        && !s.starts_with(' ')
}

/// Validates one message (Publish's members or a batch entry).
fn prepare(obj: &Map<String, Value>, topic: &Topic, at: At) -> Result<Prepared, ServiceError> {
    let inp = Input(obj);
    let message = match obj.get("Message") {
        None | Some(Value::Null) => return Err(missing(&at.member("message"))),
        Some(Value::String(s)) => s.clone(),
        // the Step Functions integration may pass a JSON value
        Some(other) => other.to_string(),
    };
    let subject = inp.str("Subject")?;
    if let Some(s) = &subject
        && !valid_subject(s)
    {
        return Err(invalid_parameter("Invalid parameter: Subject"));
    }
    if message.is_empty() {
        return Err(invalid_parameter("Invalid parameter: Empty message"));
    }
    let (attributes, attr_size) = message_attributes(obj.get("MessageAttributes"), at)?;
    let size = message.len() + attr_size;
    let group_id = inp.str("MessageGroupId")?;
    let dedup_id = inp.str("MessageDeduplicationId")?;
    if topic.is_fifo() {
        if group_id.is_none() {
            return Err(invalid_parameter(
                "Invalid parameter: The MessageGroupId parameter is required for FIFO topics",
            ));
        }
        if dedup_id.is_none() && !topic.content_based_dedup() {
            return Err(invalid_parameter(
                "Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
            ));
        }
        for (what, v) in [
            ("MessageGroupId", &group_id),
            ("MessageDeduplicationId", &dedup_id),
        ] {
            if let Some(v) = v
                && (v.is_empty() || v.len() > 128 || !v.chars().all(|c| c.is_ascii_graphic()))
            {
                return Err(invalid_parameter(format!(
                    "Invalid parameter: {what} Reason: {what} must be 1 to 128 alphanumeric or punctuation characters"
                )));
            }
        }
    } else if dedup_id.is_some() {
        return Err(invalid_parameter(
            "Invalid parameter: MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type",
        ));
    }
    let per_protocol = match inp.str("MessageStructure")?.as_deref() {
        None => None,
        Some("json") => {
            let parsed: Value = serde_json::from_str(&message).map_err(|_| {
                invalid_parameter(
                    "Invalid parameter: Message Structure - JSON message body failed to parse",
                )
            })?;
            let Value::Object(m) = parsed else {
                return Err(invalid_parameter(
                    "Invalid parameter: Message Structure - JSON message body failed to parse",
                ));
            };
            // keys whose value is not a string are ignored
            let m: Map<String, Value> = m.into_iter().filter(|(_, v)| v.is_string()).collect();
            if !m.contains_key("default") {
                return Err(invalid_parameter(
                    "Invalid parameter: Message Structure - No default entry in JSON message body",
                ));
            }
            Some(m)
        }
        Some(_) => return Err(invalid_parameter("Invalid parameter: MessageStructure")),
    };
    Ok(Prepared {
        message,
        per_protocol,
        subject,
        attributes,
        group_id,
        dedup_id,
        size,
    })
}

/// Whether a subscription's filter policy lets a message through.
pub fn passes(sub: &Subscription, p: &Prepared) -> bool {
    let Some(policy) = sub.attributes.get("FilterPolicy").filter(|s| !s.is_empty()) else {
        return true;
    };
    let Ok(policy) = serde_json::from_str::<Value>(policy) else {
        return true;
    };
    let scope = sub
        .attributes
        .get("FilterPolicyScope")
        .and_then(|s| filter::Scope::parse(s))
        .unwrap_or(filter::Scope::MessageAttributes);
    match scope {
        filter::Scope::MessageBody => filter::matches_body(&policy, &p.content(&sub.protocol)),
        filter::Scope::MessageAttributes => filter::matches_attributes(&policy, &p.attributes),
    }
}

impl Inner {
    /// The topic a Publish names (TopicArn or TargetArn).
    async fn publish_target(&self, scope: &Scope, inp: &Input<'_>) -> Result<Topic, ServiceError> {
        if inp.str("PhoneNumber")?.is_some() {
            return Err(invalid_parameter(
                "Invalid parameter: PhoneNumber Reason: SMS delivery is not supported by Baton",
            ));
        }
        let (arn, member) = match (inp.str("TopicArn")?, inp.str("TargetArn")?) {
            (Some(t), _) => (t, "TopicArn"),
            (None, Some(t)) => (t, "TargetArn"),
            (None, None) => {
                return Err(invalid_parameter(
                    "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
                ));
            }
        };
        if arn.contains(":endpoint/") {
            return Err(invalid_parameter(
                "Invalid parameter: TargetArn Reason: publishing to mobile push endpoints is not supported by Baton",
            ));
        }
        self.topic(scope, &arn, member).await
    }

    /// Deduplicates a FIFO message: the earlier (message id, sequence) when
    /// this one was seen in the last 5 minutes, else records it.
    fn dedup(
        &self,
        topic: &Topic,
        p: &Prepared,
        message_id: &str,
        seq: &str,
    ) -> Option<(String, String)> {
        let id = p.dedup_id.clone().unwrap_or_else(|| {
            let h = sha2::Sha256::digest(p.message.as_bytes());
            h.iter().map(|b| format!("{b:02x}")).collect()
        });
        let key = format!("{}\u{1}{id}", topic.arn);
        let now = now_ms();
        let Ok(mut map) = self.dedup.lock() else {
            return None;
        };
        if map.len() > 4096 {
            map.retain(|_, (t, _, _)| now - *t < DEDUP_WINDOW_MS);
        }
        match map.get(&key) {
            Some((t, mid, s)) if now - *t < DEDUP_WINDOW_MS => Some((mid.clone(), s.clone())),
            _ => {
                map.insert(key, (now, message_id.to_string(), seq.to_string()));
                None
            }
        }
    }

    /// The deliveries of one message; `(message id, sequence number,
    /// deliveries)`.
    fn fan_out(
        &self,
        topic: &Topic,
        subs: &[Subscription],
        p: &Prepared,
    ) -> (String, Option<String>, Vec<Delivery>) {
        let message_id = super::model::uuid();
        let sequence = topic.is_fifo().then(super::model::next_sequence_number);
        if let Some(seq) = &sequence
            && let Some((mid, s)) = self.dedup(topic, p, &message_id, seq)
        {
            return (mid, Some(s), Vec::new());
        }
        let now = now_ms();
        let signature_version = topic
            .attributes
            .get("SignatureVersion")
            .cloned()
            .unwrap_or_else(|| "1".into());
        let mut out = Vec::new();
        for sub in subs {
            if sub.pending || !passes(sub, p) {
                continue;
            }
            let (policy, content_type) = match sub.protocol.as_str() {
                "http" | "https" => http_policy(topic, sub),
                _ => (RetryPolicy::managed(), None),
            };
            out.push(Delivery {
                key: Delivery::make_key(now, &message_id, &sub.arn),
                sub_arn: sub.arn.clone(),
                topic_arn: topic.arn.clone(),
                protocol: sub.protocol.clone(),
                endpoint: sub.endpoint.clone(),
                kind: "Notification".into(),
                message_id: message_id.clone(),
                message: p.content(&sub.protocol),
                subject: p.subject.clone(),
                attributes: p.attributes.clone(),
                timestamp_ms: now,
                raw: sub.raw() && sub.protocol != "lambda",
                fifo: topic.is_fifo(),
                group_id: p.group_id.clone(),
                dedup_id: p.dedup_id.clone(),
                sequence: sequence.clone(),
                token: None,
                signature_version: signature_version.clone(),
                content_type,
                policy,
                attempts: 0,
            });
        }
        (message_id, sequence, out)
    }

    /// Writes deliveries in one transaction, then starts them.
    async fn commit(self: &Arc<Self>, deliveries: Vec<Delivery>) -> Result<(), ServiceError> {
        let mut ops = Vec::with_capacity(deliveries.len());
        for d in &deliveries {
            ops.push(ResourceOp::Insert(d.record()?));
        }
        self.write(ops).await?;
        self.enqueue(deliveries);
        Ok(())
    }

    pub(super) async fn publish(
        self: &Arc<Self>,
        scope: &Scope,
        inp: &Input<'_>,
    ) -> Result<Value, ServiceError> {
        let topic = self.publish_target(scope, inp).await?;
        let p = prepare(inp.0, &topic, At::Publish)?;
        if p.size > MAX_MESSAGE_BYTES {
            return Err(invalid_parameter("Invalid parameter: Message too long"));
        }
        let subs = self.topic_subscriptions(&topic.arn).await?;
        let (message_id, sequence, deliveries) = self.fan_out(&topic, &subs, &p);
        self.commit(deliveries).await?;
        let mut out = json!({"MessageId": message_id});
        if let Some(s) = sequence {
            out["SequenceNumber"] = json!(s);
        }
        Ok(out)
    }

    pub(super) async fn publish_batch(
        self: &Arc<Self>,
        scope: &Scope,
        inp: &Input<'_>,
    ) -> Result<Value, ServiceError> {
        let arn = inp.required("TopicArn")?;
        let entries = match inp.0.get("PublishBatchRequestEntries") {
            Some(Value::Array(e)) => e,
            None | Some(Value::Null) => return Err(missing("publishBatchRequestEntries")),
            Some(_) => {
                return Err(invalid_parameter(
                    "Invalid parameter: PublishBatchRequestEntries",
                ));
            }
        };
        if entries.is_empty() {
            return Err(ServiceError::client(
                "EmptyBatchRequest",
                "The batch request doesn't contain any entries.",
            ));
        }
        if entries.len() > 10 {
            return Err(ServiceError::client(
                "TooManyEntriesInBatchRequest",
                "The batch request contains more entries than permissible.",
            ));
        }
        let topic = self.topic(scope, &arn, "TopicArn").await?;
        let mut ids = HashSet::new();
        let mut objs = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let Value::Object(obj) = e else {
                return Err(invalid_parameter(
                    "Invalid parameter: PublishBatchRequestEntries",
                ));
            };
            let id = Input(obj).str("Id")?.ok_or_else(|| {
                missing(&format!("publishBatchRequestEntries.{}.member.id", i + 1))
            })?;
            if !ids.insert(id.clone()) {
                return Err(ServiceError::client(
                    "BatchEntryIdsNotDistinct",
                    "Two or more batch entries in the request have the same Id.",
                ));
            }
            if id.len() > 80 {
                return Err(ServiceError::client(
                    "InvalidBatchEntryId",
                    format!("The Id of a batch entry in the batch request is too long: {id}"),
                ));
            }
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(ServiceError::client(
                    "InvalidBatchEntryId",
                    format!(
                        "The Id of a batch entry in the batch request contains an impermissible character: {id}"
                    ),
                ));
            }
            objs.push((id, obj));
        }
        let mut prepared = Vec::new();
        let mut total = 0;
        for (i, (id, obj)) in objs.into_iter().enumerate() {
            let p = prepare(obj, &topic, At::Entry(i + 1))?;
            total += p.size;
            prepared.push((id, p));
        }
        if total > MAX_MESSAGE_BYTES {
            return Err(ServiceError::client(
                "BatchRequestTooLong",
                "The length of all the messages put together is more than the limit.",
            ));
        }
        let subs = self.topic_subscriptions(&topic.arn).await?;
        let mut successful = Vec::new();
        let mut all = Vec::new();
        for (id, p) in &prepared {
            let (message_id, sequence, deliveries) = self.fan_out(&topic, &subs, p);
            let mut entry = json!({"Id": id, "MessageId": message_id});
            if let Some(s) = sequence {
                entry["SequenceNumber"] = json!(s);
            }
            successful.push(entry);
            all.extend(deliveries);
        }
        self.commit(all).await?;
        Ok(json!({"Successful": successful, "Failed": []}))
    }
}
