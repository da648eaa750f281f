//! SNS-compatible topics: subscriptions and durable, retried deliveries.
//!
//! - [`model`]: the records kept in the store's resource table (topics,
//!   subscriptions, pending deliveries), scoped by account and region
//!   through their ARNs; AWS's errors.
//! - [`filter`]: subscription filter policies.
//! - [`publish`]: Publish and PublishBatch (validation, fan-out).
//! - [`delivery`]: the background deliveries (SQS, Lambda, HTTP) with
//!   their retry policies and dead-letter queues.
//!
//! [`Sns::call`] takes and answers the JSON-protocol shapes of the AWS SNS
//! API (`{"TopicArn": ..., "Message": ...}` → `{"MessageId": ...}`).

use std::sync::{Arc, RwLock};

use base64::Engine as _;
use baton_storage::{ResourceOp, ResourceRecord, Store};
use serde_json::{Map, Value, json};
use tokio::sync::{Semaphore, watch};

use crate::{AwsService, BoxFuture, FunctionInvoker, Scope, Service, ServiceError};

pub mod delivery;
pub mod filter;
mod http;
pub mod model;
mod publish;
#[cfg(test)]
mod tests;

use delivery::{Delivery, Lanes, MAX_IN_FLIGHT, RetryPolicy};
use model::{
    Input, KIND_SUB, KIND_TOPIC, Subscription, Topic, check_topic_arn, invalid_parameter, missing,
    parse_arn, resource_not_found, scope_prefix, subscription_not_found, topic_not_found,
};

/// The address SNS URLs (unsubscribe, confirmation, queue URLs) point at
/// until [`Sns::set_endpoint`] names the server's.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";

/// The topic service.
pub struct Sns {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    store: Arc<dyn Store>,
    sqs: Service,
    lambda: Arc<dyn FunctionInvoker>,
    runtime: tokio::runtime::Handle,
    endpoint: RwLock<String>,
    /// Serialises control-plane changes (read-check-write of topics and
    /// subscriptions).
    control: tokio::sync::Mutex<()>,
    lanes: Lanes,
    permits: Arc<Semaphore>,
    stop: watch::Sender<bool>,
    /// The HTTP/S client (replaced by [`Sns::set_extra_ca_file`]).
    http: RwLock<http::HttpClient>,
    /// FIFO deduplication: `topic arn + dedup id` → (when, message id,
    /// sequence number), for 5 minutes.
    dedup: std::sync::Mutex<std::collections::HashMap<String, (i64, String, String)>>,
}

impl Sns {
    /// Opens the topics kept in `store`; deliveries go to `sqs` and
    /// `lambda`. Starts background work on the current tokio runtime and
    /// resumes the deliveries an earlier run left pending.
    pub fn start(
        store: Arc<dyn Store>,
        sqs: Service,
        lambda: Arc<dyn FunctionInvoker>,
    ) -> Result<Arc<Sns>, ServiceError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| ServiceError::internal("SNS must be started inside a tokio runtime"))?;
        let (stop, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            store,
            sqs,
            lambda,
            runtime,
            endpoint: RwLock::new(DEFAULT_ENDPOINT.to_string()),
            control: tokio::sync::Mutex::new(()),
            lanes: Lanes::default(),
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT as usize)),
            stop,
            http: RwLock::new(http::client().map_err(ServiceError::internal)?),
            dedup: std::sync::Mutex::new(Default::default()),
        });
        let resumed = inner.resume()?;
        if resumed > 0 {
            tracing::info!(deliveries = resumed, "sns: resuming pending deliveries");
        }
        Ok(Arc::new(Sns { inner }))
    }

    /// The server's own address (`http://127.0.0.1:4566`): unsubscribe and
    /// confirmation URLs and the SQS queue URLs deliveries use point at it.
    pub fn set_endpoint(&self, url: &str) {
        if let Ok(mut e) = self.inner.endpoint.write() {
            *e = url.trim_end_matches('/').to_string();
        }
    }

    /// Trusts the CA certificates of the PEM file at `path` for HTTPS
    /// deliveries (besides Mozilla's and the system's roots), in place of
    /// those `BATON_EXTRA_CA_CERTS` named at start.
    pub fn set_extra_ca_file(&self, path: &std::path::Path) -> Result<(), ServiceError> {
        let certs = http::read_ca_file(path).map_err(invalid_parameter)?;
        let client = http::client_with(&certs).map_err(invalid_parameter)?;
        if let Ok(mut c) = self.inner.http.write() {
            *c = client;
        }
        Ok(())
    }

    /// Stops background work: deliveries in flight get a few seconds to
    /// finish; pending ones stay in the store for the next start.
    pub async fn shutdown(&self) {
        let _ = self.inner.stop.send(true);
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            self.inner.permits.acquire_many(MAX_IN_FLIGHT),
        )
        .await;
    }
}

impl AwsService for Sns {
    fn call<'a>(
        &'a self,
        scope: &'a Scope,
        action: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        Box::pin(async move {
            let empty = Map::new();
            let obj = match &input {
                Value::Object(m) => m,
                Value::Null => &empty,
                _ => {
                    return Err(ServiceError::client(
                        "ValidationError",
                        "The request input must be a JSON object",
                    ));
                }
            };
            let inp = Input(obj);
            let inner = &self.inner;
            match action {
                "CreateTopic" => inner.create_topic(scope, &inp).await,
                "DeleteTopic" => inner.delete_topic(scope, &inp).await,
                "ListTopics" => inner.list_topics(scope, &inp).await,
                "GetTopicAttributes" => inner.get_topic_attributes(scope, &inp).await,
                "SetTopicAttributes" => inner.set_topic_attributes(scope, &inp).await,
                "Subscribe" => inner.subscribe(scope, &inp).await,
                "ConfirmSubscription" => inner.confirm_subscription(scope, &inp).await,
                "Unsubscribe" => inner.unsubscribe(scope, &inp).await,
                "ListSubscriptions" => inner.list_subscriptions(scope, &inp).await,
                "ListSubscriptionsByTopic" => inner.list_subscriptions_by_topic(scope, &inp).await,
                "GetSubscriptionAttributes" => inner.get_subscription_attributes(scope, &inp).await,
                "SetSubscriptionAttributes" => inner.set_subscription_attributes(scope, &inp).await,
                "Publish" => inner.publish(scope, &inp).await,
                "PublishBatch" => inner.publish_batch(scope, &inp).await,
                "TagResource" => inner.tag_resource(scope, &inp).await,
                "UntagResource" => inner.untag_resource(scope, &inp).await,
                "ListTagsForResource" => inner.list_tags(scope, &inp).await,
                _ if KNOWN_UNSUPPORTED.contains(&action) => Err(invalid_parameter(format!(
                    "The SNS action {action} is not supported by Baton"
                ))),
                _ => Err(ServiceError::client(
                    "InvalidAction",
                    format!("The action {action} is not valid for this web service."),
                )),
            }
        })
    }
}

/// SNS actions Baton does not implement (SMS, mobile push, permissions,
/// data protection).
const KNOWN_UNSUPPORTED: &[&str] = &[
    "AddPermission",
    "RemovePermission",
    "CheckIfPhoneNumberIsOptedOut",
    "CreatePlatformApplication",
    "CreatePlatformEndpoint",
    "CreateSMSSandboxPhoneNumber",
    "DeleteEndpoint",
    "DeletePlatformApplication",
    "DeleteSMSSandboxPhoneNumber",
    "GetDataProtectionPolicy",
    "GetEndpointAttributes",
    "GetPlatformApplicationAttributes",
    "GetSMSAttributes",
    "GetSMSSandboxAccountStatus",
    "ListEndpointsByPlatformApplication",
    "ListOriginationNumbers",
    "ListPhoneNumbersOptedOut",
    "ListPlatformApplications",
    "ListSMSSandboxPhoneNumbers",
    "OptInPhoneNumber",
    "PutDataProtectionPolicy",
    "SetEndpointAttributes",
    "SetPlatformApplicationAttributes",
    "SetSMSAttributes",
    "VerifySMSSandboxPhoneNumber",
];

/// Topic attributes CreateTopic and SetTopicAttributes accept.
const TOPIC_ATTRIBUTES: &[&str] = &[
    "DisplayName",
    "Policy",
    "DeliveryPolicy",
    "KmsMasterKeyId",
    "SignatureVersion",
    "TracingConfig",
    "FifoTopic",
    "ContentBasedDeduplication",
    "FifoThroughputScope",
    "ArchivePolicy",
    "ApplicationSuccessFeedbackRoleArn",
    "ApplicationSuccessFeedbackSampleRate",
    "ApplicationFailureFeedbackRoleArn",
    "FirehoseSuccessFeedbackRoleArn",
    "FirehoseSuccessFeedbackSampleRate",
    "FirehoseFailureFeedbackRoleArn",
    "HTTPSuccessFeedbackRoleArn",
    "HTTPSuccessFeedbackSampleRate",
    "HTTPFailureFeedbackRoleArn",
    "LambdaSuccessFeedbackRoleArn",
    "LambdaSuccessFeedbackSampleRate",
    "LambdaFailureFeedbackRoleArn",
    "SQSSuccessFeedbackRoleArn",
    "SQSSuccessFeedbackSampleRate",
    "SQSFailureFeedbackRoleArn",
];

const SUBSCRIPTION_ATTRIBUTES: &[&str] = &[
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
];

/// Protocols AWS knows; Baton delivers to `sqs`, `lambda`, `http` and
/// `https`.
const AWS_PROTOCOLS: &[&str] = &[
    "http",
    "https",
    "email",
    "email-json",
    "sms",
    "sqs",
    "application",
    "lambda",
    "firehose",
];

const PAGE: usize = 100;

fn default_effective_delivery_policy() -> Value {
    json!({
        "http": {
            "defaultHealthyRetryPolicy": RetryPolicy::http_default().to_json(),
            "disableSubscriptionOverrides": false,
            "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"}
        }
    })
}

fn default_policy(topic: &Topic) -> String {
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes",
                "SNS:SetTopicAttributes",
                "SNS:AddPermission",
                "SNS:RemovePermission",
                "SNS:DeleteTopic",
                "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic",
                "SNS:Publish"
            ],
            "Resource": topic.arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": topic.owner}}
        }]
    })
    .to_string()
}

fn encode_token(key: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.as_bytes())
}

fn decode_token(token: &str) -> Result<String, ServiceError> {
    base64::engine::general_purpose::STANDARD
        .decode(token.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| invalid_parameter("Invalid parameter: NextToken"))
}

fn encode<T: serde::Serialize>(
    kind: &str,
    key: &str,
    value: &T,
) -> Result<ResourceRecord, ServiceError> {
    Ok(ResourceRecord {
        kind: kind.into(),
        key: key.into(),
        value: serde_json::to_string(value)
            .map_err(|e| ServiceError::internal(format!("cannot encode a record: {e}")))?,
    })
}

fn decode<T: serde::de::DeserializeOwned>(rec: &ResourceRecord) -> Result<T, ServiceError> {
    serde_json::from_str(&rec.value).map_err(|e| {
        ServiceError::internal(format!("unreadable {} record {}: {e}", rec.kind, rec.key))
    })
}

/// Validates a DeliveryPolicy (topic or subscription).
fn validate_delivery_policy(
    value: &str,
    prefix: &str,
    topic_level: bool,
) -> Result<(), ServiceError> {
    let bad = |why: String| invalid_parameter(format!("{prefix}DeliveryPolicy: {why}"));
    let v: Value = serde_json::from_str(value).map_err(|_| bad("failed to parse JSON.".into()))?;
    if !v.is_object() {
        return Err(bad("must be a JSON object".into()));
    }
    let retry = if topic_level {
        ["http", "https"]
            .iter()
            .filter_map(|p| v.get(*p).and_then(|h| h.get("defaultHealthyRetryPolicy")))
            .next()
    } else {
        v.get("healthyRetryPolicy")
    };
    if let Some(r) = retry {
        RetryPolicy::from_json(r).map_err(bad)?;
    }
    Ok(())
}

fn validate_redrive(
    value: &str,
    prefix: &str,
    topic_arn: &str,
    endpoint: &str,
) -> Result<(), ServiceError> {
    let v: Value = serde_json::from_str(value)
        .map_err(|_| invalid_parameter(format!("{prefix}RedrivePolicy: failed to parse JSON.")))?;
    let target = v
        .get("deadLetterTargetArn")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some((_, name)) = model::sqs_queue_of(target) else {
        return Err(invalid_parameter(format!(
            "{prefix}RedrivePolicy: deadLetterTargetArn is an invalid arn"
        )));
    };
    if topic_arn.ends_with(".fifo") && endpoint.ends_with(".fifo") && !name.ends_with(".fifo") {
        return Err(invalid_parameter(format!(
            "{prefix}RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a FIFO Topic."
        )));
    }
    Ok(())
}

impl Inner {
    // ----- store access (the store is synchronous) --------------------------------

    async fn get(&self, kind: &str, key: &str) -> Result<Option<ResourceRecord>, ServiceError> {
        let store = self.store.clone();
        let (kind, key) = (kind.to_string(), key.to_string());
        tokio::task::spawn_blocking(move || store.get_resource(&kind, &key))
            .await
            .map_err(|e| ServiceError::internal(format!("store task failed: {e}")))?
            .map_err(Into::into)
    }

    async fn list(
        &self,
        kind: &str,
        prefix: &str,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<ResourceRecord>, ServiceError> {
        let store = self.store.clone();
        let (kind, prefix) = (kind.to_string(), prefix.to_string());
        tokio::task::spawn_blocking(move || {
            store.list_resources(&kind, &prefix, after.as_deref(), limit)
        })
        .await
        .map_err(|e| ServiceError::internal(format!("store task failed: {e}")))?
        .map_err(Into::into)
    }

    /// One page of `kind` records under `prefix`, after the one `token`
    /// names: the records, and the `NextToken` when more remain.
    async fn list_page(
        &self,
        kind: &str,
        prefix: &str,
        token: Option<String>,
    ) -> Result<(Vec<ResourceRecord>, Option<String>), ServiceError> {
        let after = match token {
            Some(t) if !t.is_empty() => Some(decode_token(&t)?),
            _ => None,
        };
        let mut page = self.list(kind, prefix, after, PAGE + 1).await?;
        let more = page.len() > PAGE;
        page.truncate(PAGE);
        let next = if more {
            page.last().map(|last| encode_token(&last.key))
        } else {
            None
        };
        Ok((page, next))
    }

    /// Writes one `kind` record.
    async fn put<T: serde::Serialize>(
        &self,
        kind: &str,
        key: &str,
        value: &T,
    ) -> Result<(), ServiceError> {
        self.write(vec![ResourceOp::Put(encode(kind, key, value)?)])
            .await
    }

    async fn write(&self, ops: Vec<ResourceOp>) -> Result<(), ServiceError> {
        if ops.is_empty() {
            return Ok(());
        }
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.write_resources(&ops))
            .await
            .map_err(|e| ServiceError::internal(format!("store task failed: {e}")))?
            .map_err(Into::into)
    }

    fn base_url(&self) -> String {
        self.endpoint
            .read()
            .map(|e| e.clone())
            .unwrap_or_else(|_| DEFAULT_ENDPOINT.to_string())
    }

    fn queue_url_base(&self) -> String {
        self.base_url()
    }

    async fn load_topic(&self, arn: &str) -> Result<Option<Topic>, ServiceError> {
        match self.get(KIND_TOPIC, arn).await? {
            Some(rec) => Ok(Some(decode(&rec)?)),
            None => Ok(None),
        }
    }

    /// The topic a caller names in `member`, or AWS's error.
    async fn topic(&self, scope: &Scope, arn: &str, member: &str) -> Result<Topic, ServiceError> {
        check_topic_arn(scope, arn, member)?;
        self.load_topic(arn).await?.ok_or_else(topic_not_found)
    }

    /// Every subscription of a topic.
    async fn topic_subscriptions(
        &self,
        topic_arn: &str,
    ) -> Result<Vec<Subscription>, ServiceError> {
        let prefix = format!("{topic_arn}:");
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.list(KIND_SUB, &prefix, after.clone(), 1000).await?;
            if page.is_empty() {
                break;
            }
            after = page.last().map(|r| r.key.clone());
            for rec in &page {
                out.push(decode(rec)?);
            }
        }
        Ok(out)
    }

    async fn load_sub_checked(&self, arn: &str) -> Result<Subscription, ServiceError> {
        parse_arn(arn, "SubscriptionArn")?;
        match self.get(KIND_SUB, arn).await? {
            Some(rec) => decode(&rec),
            None => Err(subscription_not_found()),
        }
    }

    // ----- topics ----------------------------------------------------------------

    async fn create_topic(&self, scope: &Scope, inp: &Input<'_>) -> Result<Value, ServiceError> {
        let name = inp.required("Name")?;
        let mut attributes = inp.string_map("Attributes")?;
        let tags = inp.tags("Tags")?;
        if let Some(p) = inp.str("DataProtectionPolicy")?
            && !p.is_empty()
        {
            return Err(invalid_parameter(
                "Invalid parameter: DataProtectionPolicy is not supported by Baton",
            ));
        }
        let fifo = attributes
            .get("FifoTopic")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let valid_chars = |s: &str| {
            !s.is_empty()
                && s.len() <= 256
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if fifo {
            let ok = name
                .strip_suffix(".fifo")
                .is_some_and(|base| valid_chars(base) && name.len() <= 256);
            if !ok {
                return Err(invalid_parameter(
                    "Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.",
                ));
            }
            attributes.insert("FifoTopic".into(), "true".into());
            attributes
                .entry("ContentBasedDeduplication".into())
                .or_insert_with(|| "false".into());
        } else {
            if !valid_chars(&name) {
                return Err(invalid_parameter("Invalid parameter: Topic Name"));
            }
            // AWS does not keep an explicit FifoTopic=false
            attributes.remove("FifoTopic");
        }
        for (k, v) in &attributes {
            self.validate_topic_attribute(k, v, fifo, "Invalid parameter: Attributes Reason: ")?;
        }
        let tags = match tags {
            Some(t) => {
                validate_tags(&t)?;
                t
            }
            None => Vec::new(),
        };
        let arn = model::topic_arn(scope, &name);
        let _guard = self.control.lock().await;
        if let Some(existing) = self.load_topic(&arn).await? {
            for (k, v) in &attributes {
                if existing.attributes.get(k) != Some(v) {
                    return Err(invalid_parameter(
                        "Invalid parameter: Attributes Reason: Topic already exists with different attributes",
                    ));
                }
            }
            for t in &tags {
                if !existing.tags.contains(t) {
                    return Err(invalid_parameter(
                        "Invalid parameter: Tags Reason: Topic already exists with different tags",
                    ));
                }
            }
            return Ok(json!({"TopicArn": arn}));
        }
        let topic = Topic {
            arn: arn.clone(),
            name,
            owner: scope.account.clone(),
            attributes,
            tags,
        };
        self.put(KIND_TOPIC, &arn, &topic).await?;
        Ok(json!({"TopicArn": arn}))
    }

    fn validate_topic_attribute(
        &self,
        name: &str,
        value: &str,
        fifo: bool,
        prefix: &str,
    ) -> Result<(), ServiceError> {
        if !TOPIC_ATTRIBUTES.contains(&name) {
            return Err(invalid_parameter(format!("{prefix}AttributeName")));
        }
        match name {
            "DisplayName" if value.chars().count() > 100 => Err(invalid_parameter(format!(
                "{prefix}DisplayName: must be at most 100 characters long"
            ))),
            "Policy" if !value.is_empty() => match serde_json::from_str::<Value>(value) {
                Ok(Value::Object(_)) => Ok(()),
                _ => Err(invalid_parameter(format!(
                    "{prefix}Policy: failed to parse JSON."
                ))),
            },
            "DeliveryPolicy" if !value.is_empty() => validate_delivery_policy(value, prefix, true),
            "SignatureVersion" if value != "1" && value != "2" => Err(invalid_parameter(format!(
                "{prefix}SignatureVersion: must be 1 or 2"
            ))),
            "ContentBasedDeduplication" => {
                if !fifo {
                    return Err(invalid_parameter(format!(
                        "{prefix}ContentBasedDeduplication: Content-based deduplication can only be set for FIFO topics"
                    )));
                }
                if value != "true" && value != "false" {
                    return Err(invalid_parameter(format!(
                        "{prefix}ContentBasedDeduplication: Invalid value [{value}]. Must be true or false."
                    )));
                }
                Ok(())
            }
            "TracingConfig" if value != "PassThrough" && value != "Active" => Err(
                invalid_parameter(format!("{prefix}TracingConfig: Invalid value [{value}]")),
            ),
            _ => Ok(()),
        }
    }

    async fn delete_topic(&self, scope: &Scope, inp: &Input<'_>) -> Result<Value, ServiceError> {
        let arn = inp.required("TopicArn")?;
        check_topic_arn(scope, &arn, "TopicArn")?;
        let _guard = self.control.lock().await;
        let mut ops = vec![ResourceOp::Delete {
            kind: KIND_TOPIC.into(),
            key: arn.clone(),
        }];
        for sub in self.topic_subscriptions(&arn).await? {
            ops.push(ResourceOp::Delete {
                kind: KIND_SUB.into(),
                key: sub.arn,
            });
        }
        self.write(ops).await?;
        Ok(json!({}))
    }

    async fn list_topics(&self, scope: &Scope, inp: &Input<'_>) -> Result<Value, ServiceError> {
        let (page, next) = self
            .list_page(KIND_TOPIC, &scope_prefix(scope), inp.str("NextToken")?)
            .await?;
        let topics: Vec<Value> = page.iter().map(|r| json!({"TopicArn": r.key})).collect();
        let mut out = json!({"Topics": topics});
        if let Some(t) = next {
            out["NextToken"] = json!(t);
        }
        Ok(out)
    }

    async fn get_topic_attributes(
        &self,
        scope: &Scope,
        inp: &Input<'_>,
    ) -> Result<Value, ServiceError> {
        let arn = inp.required("TopicArn")?;
        let topic = self.topic(scope, &arn, "TopicArn").await?;
        let subs = self.topic_subscriptions(&arn).await?;
        let pending = subs.iter().filter(|s| s.pending).count();
        let mut attrs = Map::new();
        attrs.insert(
            "Policy".into(),
            json!(
                topic
                    .attributes
                    .get("Policy")
                    .filter(|p| !p.is_empty())
                    .cloned()
                    .unwrap_or_else(|| default_policy(&topic))
            ),
        );
        attrs.insert("Owner".into(), json!(topic.owner));
        attrs.insert("SubscriptionsPending".into(), json!(pending.to_string()));
        attrs.insert("TopicArn".into(), json!(topic.arn));
        attrs.insert(
            "EffectiveDeliveryPolicy".into(),
            json!(effective_delivery_policy(&topic).to_string()),
        );
        attrs.insert(
            "SubscriptionsConfirmed".into(),
            json!((subs.len() - pending).to_string()),
        );
        attrs.insert(
            "DisplayName".into(),
            json!(
                topic
                    .attributes
                    .get("DisplayName")
                    .cloned()
                    .unwrap_or_default()
            ),
        );
        attrs.insert("SubscriptionsDeleted".into(), json!("0"));
        for (k, v) in &topic.attributes {
            if k == "Policy" || k == "DisplayName" {
                continue;
            }
            if k == "DeliveryPolicy" && v.is_empty() {
                continue;
            }
            attrs.insert(k.clone(), json!(v));
        }
        Ok(json!({"Attributes": attrs}))
    }

    async fn set_topic_attributes(
        &self,
        scope: &Scope,
        inp: &Input<'_>,
    ) -> Result<Value, ServiceError> {
        let arn = inp.required("TopicArn")?;
        let name = inp.required("AttributeName")?;
        let value = inp.str("AttributeValue")?.unwrap_or_default();
        let _guard = self.control.lock().await;
        let mut topic = self.topic(scope, &arn, "TopicArn").await?;
        if name == "FifoTopic" {
            return Err(invalid_parameter("Invalid parameter: AttributeName"));
        }
        self.validate_topic_attribute(&name, &value, topic.is_fifo(), "Invalid parameter: ")?;
        if value.is_empty() && (name == "Policy" || name == "DeliveryPolicy") {
            topic.attributes.remove(&name);
        } else {
            topic.attributes.insert(name, value);
        }
        self.put(KIND_TOPIC, &arn, &topic).await?;
        Ok(json!({}))
    }

    // ----- subscriptions -------------------------------------------------------------

    async fn subscribe(
        self: &Arc<Self>,
        scope: &Scope,
        inp: &Input<'_>,
    ) -> Result<Value, ServiceError> {
        let topic_arn = inp.required("TopicArn")?;
        let protocol = inp.required("Protocol")?;
        let endpoint = inp.str("Endpoint")?.unwrap_or_default();
        let mut attributes = inp.string_map("Attributes")?;
        let return_arn = inp.bool("ReturnSubscriptionArn")?.unwrap_or(false);
        let topic = self.topic(scope, &topic_arn, "TopicArn").await?;
        if !AWS_PROTOCOLS.contains(&protocol.as_str()) {
            return Err(invalid_parameter(format!(
                "Invalid parameter: Amazon SNS does not support this protocol string: {protocol}"
            )));
        }
        if !matches!(protocol.as_str(), "sqs" | "lambda" | "http" | "https") {
            return Err(invalid_parameter(format!(
                "Invalid parameter: Protocol Reason: {protocol} subscriptions are not supported by Baton (sqs, lambda, http and https are)"
            )));
        }
        if endpoint.is_empty() {
            return Err(invalid_parameter("Invalid parameter: Endpoint"));
        }
        match protocol.as_str() {
            "http" | "https" => {
                if !endpoint.starts_with(&format!("{protocol}://")) {
                    return Err(invalid_parameter(
                        "Invalid parameter: Endpoint must match the specified protocol",
                    ));
                }
            }
            "sqs" => {
                if model::sqs_queue_of(&endpoint).is_none() {
                    return Err(invalid_parameter("Invalid parameter: SQS endpoint ARN"));
                }
                if endpoint.ends_with(".fifo") && !topic.is_fifo() {
                    return Err(invalid_parameter(
                        "Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics",
                    ));
                }
            }
            _ => {
                let parts: Vec<&str> = endpoint.split(':').collect();
                if parts.len() < 7
                    || parts[0] != "arn"
                    || parts[2] != "lambda"
                    || parts[5] != "function"
                {
                    return Err(invalid_parameter("Invalid parameter: Lambda endpoint ARN"));
                }
            }
        }
        for (k, v) in attributes.iter_mut() {
            validate_subscription_attribute(k, v, &protocol, &topic_arn, &endpoint, true)?;
            if k == "RawMessageDelivery" {
                *v = v.to_lowercase();
            }
        }
        if let Some(policy) = attributes.get("FilterPolicy").filter(|p| !p.is_empty()) {
            let scope_name = attributes
                .get("FilterPolicyScope")
                .map(String::as_str)
                .unwrap_or("MessageAttributes");
            check_filter_policy(policy, scope_name, true)?;
        }
        let _guard = self.control.lock().await;
        // the topic may have gone while we waited
        if self.load_topic(&topic_arn).await?.is_none() {
            return Err(topic_not_found());
        }
        for existing in self.topic_subscriptions(&topic_arn).await? {
            if existing.protocol == protocol && existing.endpoint == endpoint {
                for (k, v) in &attributes {
                    if existing.attributes.get(k) != Some(v) {
                        return Err(invalid_parameter(
                            "Invalid parameter: Attributes Reason: Subscription already exists with different attributes",
                        ));
                    }
                }
                let arn = if existing.pending && !return_arn {
                    "pending confirmation".to_string()
                } else {
                    existing.arn
                };
                return Ok(json!({"SubscriptionArn": arn}));
            }
        }
        let arn = format!("{topic_arn}:{}", model::uuid());
        let needs_confirmation = protocol == "http" || protocol == "https";
        let sub = Subscription {
            arn: arn.clone(),
            topic_arn: topic_arn.clone(),
            protocol: protocol.clone(),
            endpoint: endpoint.clone(),
            owner: scope.account.clone(),
            pending: needs_confirmation,
            token: if needs_confirmation {
                model::new_token()
            } else {
                String::new()
            },
            attributes,
        };
        let mut ops = vec![ResourceOp::Insert(encode(KIND_SUB, &arn, &sub)?)];
        let mut confirmation = None;
        if needs_confirmation {
            let d = self.confirmation_delivery(&topic, &sub);
            ops.push(ResourceOp::Insert(d.record()?));
            confirmation = Some(d);
        }
        self.write(ops).await?;
        drop(_guard);
        if let Some(d) = confirmation {
            self.enqueue(vec![d]);
        }
        let shown = if needs_confirmation && !return_arn {
            "pending confirmation".to_string()
        } else {
            arn
        };
        Ok(json!({"SubscriptionArn": shown}))
    }

    fn confirmation_delivery(&self, topic: &Topic, sub: &Subscription) -> Delivery {
        let now = model::now_ms();
        let message_id = model::uuid();
        let (policy, content_type) = http_policy(topic, sub);
        Delivery {
            key: Delivery::make_key(now, &message_id, &sub.arn),
            sub_arn: sub.arn.clone(),
            topic_arn: topic.arn.clone(),
            protocol: sub.protocol.clone(),
            endpoint: sub.endpoint.clone(),
            kind: "SubscriptionConfirmation".into(),
            message_id,
            message: format!(
                "You have chosen to subscribe to the topic {}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
                topic.arn
            ),
            subject: None,
            attributes: Map::new(),
            timestamp_ms: now,
            raw: false,
            fifo: false,
            group_id: None,
            dedup_id: None,
            sequence: None,
            token: Some(sub.token.clone()),
            signature_version: topic
                .attributes
                .get("SignatureVersion")
                .cloned()
                .unwrap_or_else(|| "1".into()),
            content_type,
            policy,
            attempts: 0,
        }
    }

    async fn confirm_subscription(
        &self,
        scope: &Scope,
        inp: &Input<'_>,
    ) -> Result<Value, ServiceError> {
        let topic_arn = inp.required("TopicArn")?;
        let token = inp.required("Token")?;
        parse_arn(&topic_arn, "TopicArn")?;
        // ConfirmSubscription may come unsigned from anywhere: the topic's
        // ARN names its account and region.
        let _ = scope;
        let _guard = self.control.lock().await;
        if self.load_topic(&topic_arn).await?.is_none() {
            return Err(invalid_parameter("Invalid parameter: Topic"));
        }
        let Some(mut sub) = self
            .topic_subscriptions(&topic_arn)
            .await?
            .into_iter()
            .find(|s| !s.token.is_empty() && s.token == token)
        else {
            return Err(invalid_parameter("Invalid parameter: Token"));
        };
        if sub.pending {
            sub.pending = false;
            self.put(KIND_SUB, &sub.arn, &sub).await?;
        }
        Ok(json!({"SubscriptionArn": sub.arn}))
    }

    async fn unsubscribe(&self, _scope: &Scope, inp: &Input<'_>) -> Result<Value, ServiceError> {
        let arn = inp.str("SubscriptionArn")?.ok_or_else(|| {
            invalid_parameter(
                "Invalid parameter: SubscriptionArn Reason: no value for required parameter",
            )
        })?;
        let parsed = parse_arn(&arn, "SubscriptionArn")?;
        if !parsed.resource.contains(':') {
            return Err(invalid_parameter("Invalid parameter: SubscriptionId"));
        }
        let _guard = self.control.lock().await;
        self.write(vec![ResourceOp::Delete {
            kind: KIND_SUB.into(),
            key: arn,
        }])
        .await?;
        Ok(json!({}))
    }

    async fn list_subscriptions_page(
        &self,
        prefix: &str,
        token: Option<String>,
    ) -> Result<Value, ServiceError> {
        let (page, next) = self.list_page(KIND_SUB, prefix, token).await?;
        let mut subs = Vec::new();
        for rec in &page {
            let s: Subscription = decode(rec)?;
            subs.push(json!({
                "SubscriptionArn": if s.pending { "PendingConfirmation".to_string() } else { s.arn.clone() },
                "Owner": s.owner,
                "Protocol": s.protocol,
                "Endpoint": s.endpoint,
                "TopicArn": s.topic_arn,
            }));
        }
        let mut out = json!({"Subscriptions": subs});
        if let Some(t) = next {
            out["NextToken"] = json!(t);
        }
        Ok(out)
    }

    async fn list_subscriptions(
        &self,
        scope: &Scope,
        inp: &Input<'_>,
    ) -> Result<Value, ServiceError> {
        self.list_subscriptions_page(&scope_prefix(scope), inp.str("NextToken")?)
            .await
    }

    async fn list_subscriptions_by_topic(
        &self,
        scope: &Scope,
        inp: &Input<'_>,
    ) -> Result<Value, ServiceError> {
        let arn = inp.required("TopicArn")?;
        self.topic(scope, &arn, "TopicArn").await?;
        self.list_subscriptions_page(&format!("{arn}:"), inp.str("NextToken")?)
            .await
    }

    async fn get_subscription_attributes(
        &self,
        _scope: &Scope,
        inp: &Input<'_>,
    ) -> Result<Value, ServiceError> {
        let arn = inp.required("SubscriptionArn")?;
        let sub = self.load_sub_checked(&arn).await?;
        let mut attrs = Map::new();
        attrs.insert(
            "ConfirmationWasAuthenticated".into(),
            json!(if sub.pending { "false" } else { "true" }),
        );
        attrs.insert("Endpoint".into(), json!(sub.endpoint));
        attrs.insert("Owner".into(), json!(sub.owner));
        attrs.insert(
            "PendingConfirmation".into(),
            json!(if sub.pending { "true" } else { "false" }),
        );
        attrs.insert("Protocol".into(), json!(sub.protocol));
        attrs.insert(
            "RawMessageDelivery".into(),
            json!(if sub.raw() { "true" } else { "false" }),
        );
        attrs.insert("SubscriptionArn".into(), json!(sub.arn));
        attrs.insert("TopicArn".into(), json!(sub.topic_arn));
        let has_filter = sub
            .attributes
            .get("FilterPolicy")
            .is_some_and(|p| !p.is_empty());
        for (k, v) in &sub.attributes {
            if k == "RawMessageDelivery" || v.is_empty() {
                continue;
            }
            if k == "FilterPolicyScope" && !has_filter {
                continue;
            }
            attrs.insert(k.clone(), json!(v));
        }
        if has_filter && !attrs.contains_key("FilterPolicyScope") {
            attrs.insert("FilterPolicyScope".into(), json!("MessageAttributes"));
        }
        if sub.protocol == "http" || sub.protocol == "https" {
            let topic = self.load_topic(&sub.topic_arn).await?;
            if let Some(topic) = topic {
                let (policy, _) = http_policy(&topic, &sub);
                attrs.insert(
                    "EffectiveDeliveryPolicy".into(),
                    json!(
                        json!({
                            "healthyRetryPolicy": policy.to_json(),
                        })
                        .to_string()
                    ),
                );
            }
        }
        Ok(json!({"Attributes": attrs}))
    }

    async fn set_subscription_attributes(
        &self,
        _scope: &Scope,
        inp: &Input<'_>,
    ) -> Result<Value, ServiceError> {
        let arn = inp.required("SubscriptionArn")?;
        let name = inp.required("AttributeName")?;
        let mut value = inp.str("AttributeValue")?.unwrap_or_default();
        let _guard = self.control.lock().await;
        let mut sub = self.load_sub_checked(&arn).await?;
        validate_subscription_attribute(
            &name,
            &value,
            &sub.protocol,
            &sub.topic_arn,
            &sub.endpoint,
            false,
        )?;
        if name == "RawMessageDelivery" {
            value = value.to_lowercase();
        }
        // a policy must hold under the scope it will be read with
        let (policy, scope_name) = match name.as_str() {
            "FilterPolicy" => (
                Some(value.clone()),
                sub.attributes
                    .get("FilterPolicyScope")
                    .cloned()
                    .unwrap_or_else(|| "MessageAttributes".into()),
            ),
            "FilterPolicyScope" => (sub.attributes.get("FilterPolicy").cloned(), value.clone()),
            _ => (None, String::new()),
        };
        if let Some(p) = policy.filter(|p| !p.is_empty()) {
            check_filter_policy(&p, &scope_name, false)?;
        }
        if value.is_empty() {
            sub.attributes.remove(&name);
        } else {
            sub.attributes.insert(name, value);
        }
        self.put(KIND_SUB, &arn, &sub).await?;
        Ok(json!({}))
    }

    // ----- tags ----------------------------------------------------------------------

    async fn tagged_topic(&self, scope: &Scope, arn: &str) -> Result<Topic, ServiceError> {
        let parsed = parse_arn(arn, "ResourceArn")?;
        if parsed.region != scope.region {
            return Err(resource_not_found());
        }
        self.load_topic(arn).await?.ok_or_else(resource_not_found)
    }

    async fn tag_resource(&self, scope: &Scope, inp: &Input<'_>) -> Result<Value, ServiceError> {
        let arn = inp.required("ResourceArn")?;
        let tags = inp.tags("Tags")?.ok_or_else(|| missing("tags"))?;
        validate_tags(&tags)?;
        let _guard = self.control.lock().await;
        let mut topic = self.tagged_topic(scope, &arn).await?;
        for (k, v) in tags {
            match topic.tags.iter_mut().find(|(tk, _)| *tk == k) {
                Some(t) => t.1 = v,
                None => topic.tags.push((k, v)),
            }
        }
        if topic.tags.len() > 50 {
            return Err(ServiceError::client(
                "TagLimitExceeded",
                "Could not complete request: tag quota of per resource exceeded",
            ));
        }
        self.put(KIND_TOPIC, &arn, &topic).await?;
        Ok(json!({}))
    }

    async fn untag_resource(&self, scope: &Scope, inp: &Input<'_>) -> Result<Value, ServiceError> {
        let arn = inp.required("ResourceArn")?;
        let keys = inp
            .string_list("TagKeys")?
            .ok_or_else(|| missing("tagKeys"))?;
        let _guard = self.control.lock().await;
        let mut topic = self.tagged_topic(scope, &arn).await?;
        topic.tags.retain(|(k, _)| !keys.contains(k));
        self.put(KIND_TOPIC, &arn, &topic).await?;
        Ok(json!({}))
    }

    async fn list_tags(&self, scope: &Scope, inp: &Input<'_>) -> Result<Value, ServiceError> {
        let arn = inp.required("ResourceArn")?;
        let topic = self.tagged_topic(scope, &arn).await?;
        let tags: Vec<Value> = topic
            .tags
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        Ok(json!({"Tags": tags}))
    }
}

fn validate_tags(tags: &[(String, String)]) -> Result<(), ServiceError> {
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(invalid_parameter(
                "Invalid parameter: Tags Reason: Tag keys must be between 1 and 128 characters in length",
            ));
        }
        if v.chars().count() > 256 {
            return Err(invalid_parameter(
                "Invalid parameter: Tags Reason: Tag values must be between 0 and 256 characters in length",
            ));
        }
    }
    if tags.len() > 50 {
        return Err(ServiceError::client(
            "TagLimitExceeded",
            "Could not complete request: tag quota of per resource exceeded",
        ));
    }
    Ok(())
}

fn check_filter_policy(
    policy: &str,
    scope_name: &str,
    subscribe: bool,
) -> Result<(), ServiceError> {
    let prefix = filter::error_prefix(subscribe);
    let v: Value = serde_json::from_str(policy)
        .map_err(|_| invalid_parameter(format!("{prefix}FilterPolicy: failed to parse JSON.")))?;
    let scope = filter::Scope::parse(scope_name).unwrap_or(filter::Scope::MessageAttributes);
    filter::validate(&v, scope, subscribe)
}

fn validate_subscription_attribute(
    name: &str,
    value: &str,
    protocol: &str,
    topic_arn: &str,
    endpoint: &str,
    subscribe: bool,
) -> Result<(), ServiceError> {
    let prefix = filter::error_prefix(subscribe);
    if !SUBSCRIPTION_ATTRIBUTES.contains(&name) {
        return Err(invalid_parameter(format!("{prefix}AttributeName")));
    }
    match name {
        "FilterPolicy" if !value.is_empty() && serde_json::from_str::<Value>(value).is_err() => {
            return Err(invalid_parameter(format!(
                "{prefix}FilterPolicy: failed to parse JSON."
            )));
        }
        "FilterPolicyScope" if filter::Scope::parse(value).is_none() => {
            return Err(invalid_parameter(format!(
                "{prefix}FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody or MessageAttributes"
            )));
        }
        "RawMessageDelivery" => {
            if !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false") {
                return Err(invalid_parameter(format!(
                    "{prefix}RawMessageDelivery: Invalid value [{value}]. Must be true or false."
                )));
            }
            if protocol == "lambda" && value.eq_ignore_ascii_case("true") {
                return Err(invalid_parameter(format!(
                    "{prefix}Delivery protocol [lambda] does not support raw message delivery."
                )));
            }
        }
        "RedrivePolicy" if !value.is_empty() => {
            validate_redrive(value, prefix, topic_arn, endpoint)?;
        }
        "DeliveryPolicy" if !value.is_empty() => {
            if protocol != "http" && protocol != "https" {
                return Err(invalid_parameter(format!(
                    "{prefix}DeliveryPolicy: Delivery policy is only supported for HTTP/S subscriptions"
                )));
            }
            validate_delivery_policy(value, prefix, false)?;
        }
        _ => {}
    }
    Ok(())
}

/// The topic's delivery policy with AWS's defaults filled in.
fn effective_delivery_policy(topic: &Topic) -> Value {
    let mut eff = default_effective_delivery_policy();
    if let Some(Ok(Value::Object(given))) = topic
        .attributes
        .get("DeliveryPolicy")
        .map(|p| serde_json::from_str::<Value>(p))
    {
        for (proto, v) in given {
            match (eff.get_mut(&proto), v) {
                (Some(Value::Object(base)), Value::Object(over)) => {
                    for (k, x) in over {
                        base.insert(k, x);
                    }
                }
                (_, v) => {
                    eff[proto.as_str()] = v;
                }
            }
        }
    }
    eff
}

/// The retry policy and content type of an HTTP/S subscription: the
/// subscription's DeliveryPolicy unless the topic disables overrides, else
/// the topic's, else AWS's defaults.
fn http_policy(topic: &Topic, sub: &Subscription) -> (RetryPolicy, Option<String>) {
    let eff = effective_delivery_policy(topic);
    let proto = eff.get(sub.protocol.as_str()).or_else(|| eff.get("http"));
    let overrides_off = proto
        .and_then(|p| p.get("disableSubscriptionOverrides"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let sub_policy: Option<Value> = sub
        .attributes
        .get("DeliveryPolicy")
        .and_then(|p| serde_json::from_str(p).ok());
    let mut retry = proto
        .and_then(|p| p.get("defaultHealthyRetryPolicy"))
        .and_then(|r| RetryPolicy::from_json(r).ok())
        .unwrap_or_else(RetryPolicy::http_default);
    let mut content_type = proto
        .and_then(|p| p.get("defaultRequestPolicy"))
        .and_then(|r| r.get("headerContentType"))
        .and_then(Value::as_str)
        .map(str::to_string);
    if !overrides_off && let Some(sp) = &sub_policy {
        if let Some(r) = sp
            .get("healthyRetryPolicy")
            .and_then(|r| RetryPolicy::from_json(r).ok())
        {
            retry = r;
        }
        if let Some(ct) = sp
            .get("requestPolicy")
            .and_then(|r| r.get("headerContentType"))
            .and_then(Value::as_str)
        {
            content_type = Some(ct.to_string());
        }
    }
    (retry, content_type)
}
