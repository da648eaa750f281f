//! Durable, retried deliveries.
//!
//! Publish writes one `sns:delivery` row per matching subscription in one
//! store transaction before it answers; this module then delivers each row
//! in the background and deletes it on success. A failed attempt is retried
//! on the delivery's [`RetryPolicy`] (the attempt count is written back to
//! the row, so a restart resumes where it stopped); when the retries run
//! out, or the endpoint refuses the message for good (a client-side error:
//! the queue or function is gone, an HTTP 4xx), the message goes to the
//! subscription's dead-letter queue (`RedrivePolicy`) if it has one and the
//! row is deleted. At start-up every remaining row is delivered again
//! (at-least-once).
//!
//! Rows of one FIFO subscription and message group are delivered one after
//! the other, in publish order; all others run concurrently (at most
//! [`MAX_IN_FLIGHT`] attempts at once).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::Digest as _;

use super::Inner;
use super::model::{KIND_DELIVERY, KIND_SUB, Subscription, sqs_queue_of};
use crate::{InvocationType, Scope, ServiceError};
use baton_storage::{ResourceOp, ResourceRecord};

/// Attempts running at once (across all subscriptions).
pub const MAX_IN_FLIGHT: u32 = 256;

/// How long one HTTP delivery may take (AWS's limit is 15 s).
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// How the delays between attempts grow in the backoff phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    Linear,
    Arithmetic,
    Geometric,
    Exponential,
}

/// AWS's delivery retry policy (`healthyRetryPolicy`): `num_retries`
/// retries after the first attempt, in four phases: `num_no_delay` at
/// once, `num_min_delay` after `min_delay` seconds each, a backoff phase
/// growing from `min_delay` to `max_delay`, and `num_max_delay` after
/// `max_delay` seconds each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub num_retries: u32,
    pub num_no_delay: u32,
    pub num_min_delay: u32,
    pub num_max_delay: u32,
    pub min_delay: u32,
    pub max_delay: u32,
    pub backoff: Backoff,
}

impl RetryPolicy {
    /// The policy of SQS and Lambda subscriptions. AWS retries these
    /// 100,015 times over 23 days; Baton keeps AWS's first three phases
    /// (3 immediate retries, 2 after 1 s, 10 backing off exponentially from
    /// 1 s to 20 s) and bounds the last one to 35 retries 20 s apart: 50
    /// retries over about 13 minutes.
    pub fn managed() -> Self {
        Self {
            num_retries: 50,
            num_no_delay: 3,
            num_min_delay: 2,
            num_max_delay: 35,
            min_delay: 1,
            max_delay: 20,
            backoff: Backoff::Exponential,
        }
    }

    /// AWS's default for HTTP/S subscriptions: 3 retries, 20 s apart.
    pub fn http_default() -> Self {
        Self {
            num_retries: 3,
            num_no_delay: 0,
            num_min_delay: 0,
            num_max_delay: 0,
            min_delay: 20,
            max_delay: 20,
            backoff: Backoff::Linear,
        }
    }

    /// The policy of a `healthyRetryPolicy` JSON object (missing members
    /// take the HTTP defaults).
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let d = Self::http_default();
        let num = |name: &str, default: u32| -> Result<u32, String> {
            match v.get(name) {
                None | Some(Value::Null) => Ok(default),
                Some(x) => x
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| format!("{name} must be a non-negative integer")),
            }
        };
        let p = Self {
            num_retries: num("numRetries", d.num_retries)?,
            num_no_delay: num("numNoDelayRetries", d.num_no_delay)?,
            num_min_delay: num("numMinDelayRetries", d.num_min_delay)?,
            num_max_delay: num("numMaxDelayRetries", d.num_max_delay)?,
            min_delay: num("minDelayTarget", d.min_delay)?,
            max_delay: num("maxDelayTarget", d.max_delay)?,
            backoff: match v.get("backoffFunction").and_then(Value::as_str) {
                None => d.backoff,
                Some("linear") => Backoff::Linear,
                Some("arithmetic") => Backoff::Arithmetic,
                Some("geometric") => Backoff::Geometric,
                Some("exponential") => Backoff::Exponential,
                Some(other) => return Err(format!("backoffFunction {other} is not valid")),
            },
        };
        if p.num_retries > 100 {
            return Err("numRetries must be between 0 and 100".into());
        }
        if p.min_delay < 1 || p.max_delay > 3600 || p.min_delay > p.max_delay {
            return Err(
                "minDelayTarget and maxDelayTarget must satisfy 1 <= minDelayTarget <= maxDelayTarget <= 3600"
                    .into(),
            );
        }
        if p.num_no_delay + p.num_min_delay + p.num_max_delay > p.num_retries {
            return Err(
                "numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries must not exceed numRetries"
                    .into(),
            );
        }
        Ok(p)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "minDelayTarget": self.min_delay,
            "maxDelayTarget": self.max_delay,
            "numRetries": self.num_retries,
            "numMaxDelayRetries": self.num_max_delay,
            "numNoDelayRetries": self.num_no_delay,
            "numMinDelayRetries": self.num_min_delay,
            "backoffFunction": match self.backoff {
                Backoff::Linear => "linear",
                Backoff::Arithmetic => "arithmetic",
                Backoff::Geometric => "geometric",
                Backoff::Exponential => "exponential",
            },
        })
    }

    /// The wait before retry `n` (1-based), or `None` when the retries are
    /// spent.
    pub fn delay(&self, n: u32) -> Option<Duration> {
        if n == 0 || n > self.num_retries {
            return None;
        }
        let secs = |s: f64| Some(Duration::from_millis((s * 1000.0).round() as u64));
        if n <= self.num_no_delay {
            return Some(Duration::ZERO);
        }
        let after_min = self.num_no_delay + self.num_min_delay;
        if n <= after_min {
            return secs(f64::from(self.min_delay));
        }
        let backoff = self.num_retries - after_min - self.num_max_delay;
        if n <= after_min + backoff {
            let i = f64::from(n - after_min);
            let b = f64::from(backoff);
            let t = match self.backoff {
                Backoff::Linear => i / b,
                Backoff::Arithmetic => (i * (i + 1.0)) / (b * (b + 1.0)),
                Backoff::Geometric => (2f64.powf(i) - 1.0) / (2f64.powf(b) - 1.0),
                Backoff::Exponential => (i.exp_m1()) / (b.exp_m1()),
            };
            let (lo, hi) = (f64::from(self.min_delay), f64::from(self.max_delay));
            return secs(lo + (hi - lo) * t.clamp(0.0, 1.0));
        }
        secs(f64::from(self.max_delay))
    }
}

/// One pending delivery, as kept in the store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    pub key: String,
    pub sub_arn: String,
    pub topic_arn: String,
    pub protocol: String,
    pub endpoint: String,
    /// `Notification` or `SubscriptionConfirmation`.
    pub kind: String,
    pub message_id: String,
    /// The message for this subscription's protocol.
    pub message: String,
    pub subject: Option<String>,
    /// JSON-protocol `MessageAttributes` (`DataType`, `StringValue`,
    /// `BinaryValue` in base64).
    #[serde(default)]
    pub attributes: Map<String, Value>,
    pub timestamp_ms: i64,
    pub raw: bool,
    pub fifo: bool,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    pub sequence: Option<String>,
    pub token: Option<String>,
    pub signature_version: String,
    pub content_type: Option<String>,
    pub policy: RetryPolicy,
    #[serde(default)]
    pub attempts: u32,
}

impl Delivery {
    /// The store key: publish time first, so a restart resumes in order.
    pub fn make_key(timestamp_ms: i64, message_id: &str, sub_arn: &str) -> String {
        let sub_id = sub_arn.rsplit(':').next().unwrap_or(sub_arn);
        format!("{timestamp_ms:015}:{message_id}:{sub_id}")
    }

    pub fn record(&self) -> Result<ResourceRecord, ServiceError> {
        Ok(ResourceRecord {
            kind: KIND_DELIVERY.into(),
            key: self.key.clone(),
            value: serde_json::to_string(self)
                .map_err(|e| ServiceError::internal(format!("cannot encode a delivery: {e}")))?,
        })
    }

    fn lane(&self) -> String {
        match (&self.group_id, self.fifo) {
            (Some(g), true) => format!("{}\u{1}{g}", self.sub_arn),
            _ => self.key.clone(),
        }
    }

    fn timestamp(&self) -> String {
        baton_asl::time::format_millis(self.timestamp_ms)
    }

    /// `MessageAttributes` as the envelopes show them: `{"Type", "Value"}`.
    fn envelope_attributes(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for (name, a) in &self.attributes {
            let data_type = a
                .get("DataType")
                .and_then(Value::as_str)
                .unwrap_or("String");
            let value = if data_type.starts_with("Binary") {
                a.get("BinaryValue").cloned().unwrap_or(Value::Null)
            } else {
                a.get("StringValue").cloned().unwrap_or(Value::Null)
            };
            out.insert(name.clone(), json!({"Type": data_type, "Value": value}));
        }
        out
    }

    fn canonical(&self, subscribe_url: Option<&str>) -> String {
        let mut s = String::new();
        let mut add = |k: &str, v: &str| {
            s.push_str(k);
            s.push('\n');
            s.push_str(v);
            s.push('\n');
        };
        add("Message", &self.message);
        add("MessageId", &self.message_id);
        if let Some(u) = subscribe_url {
            add("SubscribeURL", u);
        }
        if let Some(subj) = &self.subject
            && subscribe_url.is_none()
        {
            add("Subject", subj);
        }
        add("Timestamp", &self.timestamp());
        if let Some(t) = &self.token {
            add("Token", t);
        }
        add("TopicArn", &self.topic_arn);
        add("Type", &self.kind);
        s
    }

    /// A digest of AWS's canonical string (Baton holds no AWS signing key,
    /// so this is not an RSA signature).
    fn signature(&self, subscribe_url: Option<&str>) -> String {
        let digest = sha2::Sha256::digest(self.canonical(subscribe_url).as_bytes());
        base64::engine::general_purpose::STANDARD.encode(digest)
    }

    /// The JSON document SQS and HTTP/S subscribers receive, member by
    /// member as AWS writes it.
    pub fn envelope(&self, base_url: &str) -> String {
        let mut fields: Vec<(&str, Value)> = Vec::new();
        let confirmation = self.kind != "Notification";
        let subscribe_url = self.token.as_ref().map(|t| {
            format!(
                "{base_url}/?Action=ConfirmSubscription&TopicArn={}&Token={t}",
                self.topic_arn
            )
        });
        fields.push(("Type", json!(self.kind)));
        fields.push(("MessageId", json!(self.message_id)));
        if confirmation && let Some(t) = &self.token {
            fields.push(("Token", json!(t)));
        }
        if let Some(seq) = &self.sequence {
            fields.push(("SequenceNumber", json!(seq)));
        }
        fields.push(("TopicArn", json!(self.topic_arn)));
        if !confirmation && let Some(s) = &self.subject {
            fields.push(("Subject", json!(s)));
        }
        fields.push(("Message", json!(self.message)));
        if confirmation && let Some(u) = &subscribe_url {
            fields.push(("SubscribeURL", json!(u)));
        }
        fields.push(("Timestamp", json!(self.timestamp())));
        if !self.fifo {
            fields.push(("SignatureVersion", json!(self.signature_version)));
            fields.push((
                "Signature",
                json!(self.signature(if confirmation {
                    subscribe_url.as_deref()
                } else {
                    None
                })),
            ));
            fields.push(("SigningCertURL", json!(signing_cert_url(base_url))));
        }
        if !confirmation {
            fields.push((
                "UnsubscribeURL",
                json!(unsubscribe_url(base_url, &self.sub_arn)),
            ));
            if !self.attributes.is_empty() {
                fields.push((
                    "MessageAttributes",
                    Value::Object(self.envelope_attributes()),
                ));
            }
        }
        // AWS's layout: two-space indent, " : " between name and value,
        // attribute objects on one line each.
        let mut out = String::from("{\n");
        for (i, (k, v)) in fields.iter().enumerate() {
            out.push_str("  ");
            out.push_str(&Value::String((*k).to_string()).to_string());
            out.push_str(" : ");
            if let Value::Object(attrs) = v {
                out.push_str("{\n");
                for (j, (name, a)) in attrs.iter().enumerate() {
                    out.push_str("    ");
                    out.push_str(&Value::String(name.clone()).to_string());
                    out.push_str(" : ");
                    out.push_str(&a.to_string());
                    if j + 1 < attrs.len() {
                        out.push(',');
                    }
                    out.push('\n');
                }
                out.push_str("  }");
            } else {
                out.push_str(&v.to_string());
            }
            if i + 1 < fields.len() {
                out.push(',');
            }
            out.push('\n');
        }
        out.push('}');
        out
    }

    /// The event a Lambda subscriber is invoked with.
    pub fn lambda_event(&self, base_url: &str) -> Value {
        let subject = match &self.subject {
            Some(s) => json!(s),
            None => Value::Null,
        };
        json!({
            "Records": [{
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": self.sub_arn,
                "Sns": {
                    "Type": self.kind,
                    "MessageId": self.message_id,
                    "TopicArn": self.topic_arn,
                    "Subject": subject,
                    "Message": self.message,
                    "Timestamp": self.timestamp(),
                    "SignatureVersion": self.signature_version,
                    "Signature": self.signature(None),
                    "SigningCertUrl": signing_cert_url(base_url),
                    "UnsubscribeUrl": unsubscribe_url(base_url, &self.sub_arn),
                    "MessageAttributes": Value::Object(self.envelope_attributes()),
                }
            }]
        })
    }
}

pub fn signing_cert_url(base_url: &str) -> String {
    format!("{base_url}/SimpleNotificationService-baton.pem")
}

pub fn unsubscribe_url(base_url: &str, sub_arn: &str) -> String {
    format!("{base_url}/?Action=Unsubscribe&SubscriptionArn={sub_arn}")
}

/// Why an attempt failed.
#[derive(Debug)]
pub enum Failure {
    /// Worth retrying (service errors, throttling, network failures).
    Retry(String, String),
    /// The endpoint refused the message for good (client-side error).
    Permanent(String, String),
}

fn classify(e: ServiceError) -> Failure {
    let throttled = e.status == 429
        || e.code.contains("Throttl")
        || e.code == "TooManyRequestsException"
        || e.code == "RequestThrottled";
    if e.sender_fault && !throttled && e.status < 500 {
        Failure::Permanent(e.code, e.message)
    } else {
        Failure::Retry(e.code, e.message)
    }
}

/// The delivery queue: lanes of deliveries run one after the other.
#[derive(Default)]
pub struct Lanes {
    lanes: std::sync::Mutex<HashMap<String, VecDeque<Delivery>>>,
}

impl Inner {
    /// Queues deliveries already written to the store.
    pub(super) fn enqueue(self: &Arc<Self>, deliveries: Vec<Delivery>) {
        for d in deliveries {
            let lane = d.lane();
            let start = {
                let Ok(mut lanes) = self.lanes.lanes.lock() else {
                    return;
                };
                match lanes.get_mut(&lane) {
                    Some(q) => {
                        q.push_back(d);
                        false
                    }
                    None => {
                        lanes.insert(lane.clone(), VecDeque::from([d]));
                        true
                    }
                }
            };
            if start {
                let me = self.clone();
                self.runtime.spawn(async move { me.run_lane(lane).await });
            }
        }
    }

    async fn run_lane(self: Arc<Self>, lane: String) {
        loop {
            let next = {
                let Ok(mut lanes) = self.lanes.lanes.lock() else {
                    return;
                };
                match lanes.get(&lane).and_then(|q| q.front()) {
                    Some(d) => d.clone(),
                    None => {
                        lanes.remove(&lane);
                        return;
                    }
                }
            };
            let finished = self.deliver(next).await;
            let Ok(mut lanes) = self.lanes.lanes.lock() else {
                return;
            };
            if !finished {
                // stopping: the rows stay in the store for the next start
                lanes.remove(&lane);
                return;
            }
            if let Some(q) = lanes.get_mut(&lane) {
                q.pop_front();
            }
        }
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Delivers one row until it succeeds, fails for good or its retries
    /// run out; `false` when stopped first.
    async fn deliver(self: &Arc<Self>, mut d: Delivery) -> bool {
        let mut stop = self.stop.subscribe();
        loop {
            if self.stopping() {
                return false;
            }
            let sub = match self.load_sub(&d.sub_arn).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "sns: cannot read a subscription; retrying");
                    None
                }
            };
            let Some(sub) = sub else {
                // unsubscribed (or its topic deleted): nothing to deliver to
                tracing::debug!(subscription = %d.sub_arn, "sns: subscription gone; delivery dropped");
                self.finish(&d).await;
                return true;
            };
            let outcome = {
                let Ok(_permit) = self.permits.acquire().await else {
                    return false;
                };
                self.attempt(&d).await
            };
            let failure = match outcome {
                Ok(()) => {
                    self.finish(&d).await;
                    return true;
                }
                Err(f) => f,
            };
            d.attempts += 1;
            let (code, message, delay) = match failure {
                Failure::Permanent(c, m) => (c, m, None),
                Failure::Retry(c, m) => {
                    let delay = d.policy.delay(d.attempts);
                    (c, m, delay)
                }
            };
            match delay {
                None => {
                    tracing::info!(
                        subscription = %d.sub_arn, message_id = %d.message_id, attempts = d.attempts,
                        error = %code, detail = %message, "sns: delivery failed for good"
                    );
                    if d.kind == "Notification" {
                        self.dead_letter(&d, &sub, &code, &message).await;
                    }
                    self.finish(&d).await;
                    return true;
                }
                Some(wait) => {
                    tracing::debug!(
                        subscription = %d.sub_arn, attempts = d.attempts, error = %code,
                        detail = %message, ?wait, "sns: delivery failed; retrying"
                    );
                    if let Ok(rec) = d.record()
                        && let Err(e) = self.write(vec![ResourceOp::Put(rec)]).await
                    {
                        tracing::warn!(error = %e, "sns: cannot record a delivery attempt");
                    }
                    if !wait.is_zero() {
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {}
                            _ = stop.changed() => return false,
                        }
                    }
                }
            }
        }
    }

    async fn load_sub(&self, arn: &str) -> Result<Option<Subscription>, ServiceError> {
        match self.get(KIND_SUB, arn).await? {
            Some(rec) => Ok(serde_json::from_str(&rec.value).ok()),
            None => Ok(None),
        }
    }

    async fn finish(&self, d: &Delivery) {
        let op = ResourceOp::Delete {
            kind: KIND_DELIVERY.into(),
            key: d.key.clone(),
        };
        if let Err(e) = self.write(vec![op]).await {
            tracing::warn!(error = %e, key = %d.key, "sns: cannot delete a finished delivery (it will be delivered again after a restart)");
        }
    }

    async fn attempt(&self, d: &Delivery) -> Result<(), Failure> {
        let base = self.base_url();
        match d.protocol.as_str() {
            "sqs" => {
                let body = if d.raw && d.kind == "Notification" {
                    d.message.clone()
                } else {
                    d.envelope(&base)
                };
                let attrs = if d.raw && d.kind == "Notification" {
                    Some(&d.attributes)
                } else {
                    None
                };
                self.send_to_queue(&d.endpoint, body, attrs, d).await
            }
            "lambda" => {
                let Some(scope) = Scope::of_arn(&d.endpoint) else {
                    return Err(Failure::Permanent(
                        "InvalidParameter".into(),
                        format!("{} is not a function ARN", d.endpoint),
                    ));
                };
                let payload = d.lambda_event(&base).to_string().into_bytes();
                match self
                    .lambda
                    .invoke(&scope, &d.endpoint, payload, InvocationType::Event, false)
                    .await
                {
                    Ok(inv) if (200..300).contains(&inv.status_code) => Ok(()),
                    Ok(inv) => Err(Failure::Retry(
                        "InvocationFailed".into(),
                        format!("Lambda answered status {}", inv.status_code),
                    )),
                    Err(e) => Err(classify(e)),
                }
            }
            "http" | "https" => self.post(d, &base).await,
            other => Err(Failure::Permanent(
                "InvalidParameter".into(),
                format!("delivery over {other} is not supported by Baton"),
            )),
        }
    }

    async fn send_to_queue(
        &self,
        queue_arn: &str,
        body: String,
        attrs: Option<&Map<String, Value>>,
        d: &Delivery,
    ) -> Result<(), Failure> {
        let Some((scope, name)) = sqs_queue_of(queue_arn) else {
            return Err(Failure::Permanent(
                "InvalidParameter".into(),
                format!("{queue_arn} is not a queue ARN"),
            ));
        };
        let url = format!(
            "{}/{}/{}",
            self.queue_url_base().trim_end_matches('/'),
            scope.account,
            name
        );
        let mut input = Map::new();
        input.insert("QueueUrl".into(), json!(url));
        if name.ends_with(".fifo") {
            if let Some(g) = &d.group_id {
                input.insert("MessageGroupId".into(), json!(g));
            }
            let dedup = d.dedup_id.clone().unwrap_or_else(|| {
                let h = sha2::Sha256::digest(d.message.as_bytes());
                h.iter().map(|b| format!("{b:02x}")).collect()
            });
            input.insert("MessageDeduplicationId".into(), json!(dedup));
        }
        if let Some(attrs) = attrs
            && !attrs.is_empty()
        {
            let mut out = Map::new();
            for (k, a) in attrs {
                let mut v = Map::new();
                for f in ["DataType", "StringValue", "BinaryValue"] {
                    if let Some(x) = a.get(f) {
                        v.insert(f.into(), x.clone());
                    }
                }
                out.insert(k.clone(), Value::Object(v));
            }
            input.insert("MessageAttributes".into(), Value::Object(out));
        }
        input.insert("MessageBody".into(), json!(body));
        self.sqs
            .call(&scope, "SendMessage", Value::Object(input))
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn post(&self, d: &Delivery, base: &str) -> Result<(), Failure> {
        let body = if d.raw && d.kind == "Notification" {
            d.message.clone()
        } else {
            d.envelope(base)
        };
        let mut headers: Vec<(&str, String)> = vec![
            (
                "content-type",
                d.content_type
                    .clone()
                    .unwrap_or_else(|| "text/plain; charset=UTF-8".into()),
            ),
            (
                "user-agent",
                "Amazon Simple Notification Service Agent".into(),
            ),
            ("x-amz-sns-message-type", d.kind.clone()),
            ("x-amz-sns-message-id", d.message_id.clone()),
            ("x-amz-sns-topic-arn", d.topic_arn.clone()),
        ];
        if d.kind == "Notification" {
            headers.push(("x-amz-sns-subscription-arn", d.sub_arn.clone()));
            if d.raw {
                headers.push(("x-amz-sns-rawdelivery", "true".into()));
            }
        }
        match tokio::time::timeout(
            HTTP_TIMEOUT,
            super::http::post(&self.http_client(), &d.endpoint, &headers, body),
        )
        .await
        {
            Err(_) => Err(Failure::Retry(
                "Timeout".into(),
                format!("{} did not answer within {HTTP_TIMEOUT:?}", d.endpoint),
            )),
            Ok(Err(super::http::PostError::Unsupported(m))) => {
                Err(Failure::Permanent("InvalidParameter".into(), m))
            }
            Ok(Err(super::http::PostError::Failed(m))) => {
                Err(Failure::Retry("ConnectionFailed".into(), m))
            }
            Ok(Ok(status)) if (200..300).contains(&status) => Ok(()),
            Ok(Ok(status)) if (400..500).contains(&status) && status != 429 => {
                Err(Failure::Permanent(
                    status.to_string(),
                    format!("{} answered {status}", d.endpoint),
                ))
            }
            Ok(Ok(status)) => Err(Failure::Retry(
                status.to_string(),
                format!("{} answered {status}", d.endpoint),
            )),
        }
    }

    fn http_client(&self) -> super::http::HttpClient {
        match self.http.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Sends a message whose deliveries failed for good to the
    /// subscription's dead-letter queue, with AWS's `RequestID`,
    /// `ErrorCode` and `ErrorMessage` attributes.
    async fn dead_letter(&self, d: &Delivery, sub: &Subscription, code: &str, message: &str) {
        let Some(dlq) = sub.dead_letter_arn() else {
            return;
        };
        let base = self.base_url();
        let body = if d.raw {
            d.message.clone()
        } else {
            d.envelope(&base)
        };
        let mut attrs = Map::new();
        if d.raw {
            for (k, v) in &d.attributes {
                attrs.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in [
            ("RequestID", super::model::uuid()),
            ("ErrorCode", code.to_string()),
            ("ErrorMessage", message.to_string()),
        ] {
            attrs.insert(k.into(), json!({"DataType": "String", "StringValue": v}));
        }
        while attrs.len() > 10 {
            let Some(first) = attrs.keys().next().cloned() else {
                break;
            };
            attrs.remove(&first);
        }
        let mut dlq_delivery = d.clone();
        dlq_delivery.dedup_id = d
            .dedup_id
            .clone()
            .or_else(|| Some(d.message_id.replace('-', "")));
        match self
            .send_to_queue(&dlq, body, Some(&attrs), &dlq_delivery)
            .await
        {
            Ok(()) => {
                tracing::info!(subscription = %d.sub_arn, queue = %dlq, "sns: message moved to the dead-letter queue")
            }
            Err(e) => {
                tracing::warn!(subscription = %d.sub_arn, queue = %dlq, error = ?e, "sns: cannot send to the dead-letter queue")
            }
        }
    }

    /// Every row left by an earlier run, queued again.
    pub(super) fn resume(self: &Arc<Self>) -> Result<usize, ServiceError> {
        let mut after: Option<String> = None;
        let mut n = 0;
        loop {
            let page = self
                .store
                .list_resources(KIND_DELIVERY, "", after.as_deref(), 500)?;
            if page.is_empty() {
                break;
            }
            after = page.last().map(|r| r.key.clone());
            let mut batch = Vec::new();
            for rec in page {
                match serde_json::from_str::<Delivery>(&rec.value) {
                    Ok(d) => batch.push(d),
                    Err(e) => {
                        tracing::warn!(key = %rec.key, error = %e, "sns: unreadable delivery row skipped")
                    }
                }
            }
            n += batch.len();
            self.enqueue(batch);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managed_policy_is_bounded() {
        let p = RetryPolicy::managed();
        assert_eq!(p.delay(1), Some(Duration::ZERO));
        assert_eq!(p.delay(3), Some(Duration::ZERO));
        assert_eq!(p.delay(4), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(5), Some(Duration::from_secs(1)));
        let backoff: Vec<Duration> = (6..=15).filter_map(|n| p.delay(n)).collect();
        assert_eq!(backoff.len(), 10);
        assert!(backoff.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(backoff.last(), Some(&Duration::from_secs(20)));
        assert_eq!(p.delay(50), Some(Duration::from_secs(20)));
        assert_eq!(p.delay(51), None);
        let total: Duration = (1..=50).filter_map(|n| p.delay(n)).sum();
        assert!(total < Duration::from_secs(20 * 60), "{total:?}");
    }

    #[test]
    fn http_policy_from_json() {
        let p = RetryPolicy::from_json(
            &json!({"numRetries": 2, "minDelayTarget": 1, "maxDelayTarget": 1}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.delay(1), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(2), Some(Duration::from_secs(1)));
        assert_eq!(p.delay(3), None);
        assert!(RetryPolicy::from_json(&json!({"numRetries": 101})).is_err());
        assert_eq!(
            RetryPolicy::http_default().delay(3),
            Some(Duration::from_secs(20))
        );
    }
}
