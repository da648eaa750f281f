//! The SQS actions, over the in-memory queues and the writer.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use baton_storage::{MessageRecord, QueueOp, QueueRecord};
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use super::attrs::{self, Config, MAX_VISIBILITY_S, QueueMeta};
use super::errors::{
    batch_too_long, empty_batch, ids_not_distinct, invalid_attribute_name, invalid_batch_entry_id,
    invalid_parameter, invalid_value, message_not_inflight, missing_parameter, purge_in_progress,
    queue_does_not_exist, queue_name_exists, receipt_handle_invalid, too_many_entries,
};
use super::input::{Obj, opt_entries, opt_int, opt_str, opt_str_list, opt_str_map, req_str};
use super::message::{self, AttrFilter, Meta, md5_hex, md5_of_attrs};
use super::queue::{DEDUP_WINDOW_MS, Dedup, Msg, Queue};
use super::{Sqs, State, arn_of, durable, now_ms, queue_key};
use crate::{Scope, ServiceError};

/// System attributes a receive may ask for.
const SYSTEM_ATTRIBUTES: &[&str] = &[
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
];

/// The key a FIFO deduplication id is remembered under.
pub(crate) fn dedup_key(cfg: &Config, group: Option<&str>, dedup: &str) -> String {
    if cfg.dedup_per_group {
        format!("{}\n{dedup}", group.unwrap_or(""))
    } else {
        dedup.to_string()
    }
}

/// The queue a QueueUrl names: its `/<account>/<name>` path, whatever the
/// host; the region is the caller's. A bare name means the caller's account.
pub(crate) fn resolve(scope: &Scope, url: &str) -> Result<String, ServiceError> {
    let path = match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            rest.find('/').map_or("", |j| &rest[j..])
        }
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match parts.as_slice() {
        [.., account, name] => Ok(queue_key(&scope.region, account, name)),
        [name] => Ok(queue_key(&scope.region, &scope.account, name)),
        [] => Err(queue_does_not_exist()),
    }
}

fn queue_url_of(o: &Obj) -> Result<&str, ServiceError> {
    req_str(o, "QueueUrl")
}

fn get_queue<'a>(st: &'a mut State, key: &str) -> Result<&'a mut Queue, ServiceError> {
    st.queues.get_mut(key).ok_or_else(queue_does_not_exist)
}

/// An optional integer member that must lie in `range`; else
/// `InvalidParameterValue` with `message`.
fn opt_int_in(
    o: &Obj,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
    message: &str,
) -> Result<Option<i64>, ServiceError> {
    let v = opt_int(o, name)?;
    if let Some(v) = v
        && !range.contains(&v)
    {
        return Err(invalid_value(name, &v.to_string(), message));
    }
    Ok(v)
}

fn to_i64_ms(seconds: i64) -> i64 {
    seconds.saturating_mul(1000)
}

// ----- receipt handles -----------------------------------------------------

/// A receipt handle names the queue, the message, and which receive it came
/// from (so it changes with every receive).
fn receipt_handle(queue_id: u64, m: &Msg) -> String {
    let text = format!("{queue_id}:{}:{}:{}", m.seq, m.receive_count, m.message_id);
    base64::engine::general_purpose::STANDARD.encode(text)
}

struct Receipt {
    queue_id: u64,
    seq: u64,
    receive_count: u32,
    message_id: String,
}

fn parse_receipt(handle: &str) -> Result<Receipt, ServiceError> {
    let invalid = || receipt_handle_invalid(handle);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(handle.trim())
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.splitn(4, ':');
    let mut next = || parts.next().ok_or_else(invalid);
    let queue_id = next()?.parse().map_err(|_| invalid())?;
    let seq = next()?.parse().map_err(|_| invalid())?;
    let receive_count = next()?.parse().map_err(|_| invalid())?;
    let message_id = next()?.to_string();
    if message_id.is_empty() {
        return Err(invalid());
    }
    Ok(Receipt {
        queue_id,
        seq,
        receive_count,
        message_id,
    })
}

// ----- batch helpers --------------------------------------------------------

fn valid_entry_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a batch's entries: count, ids. Returns the entries with their ids.
fn batch_entries<'a>(
    o: &'a Obj,
    entry_name: &str,
) -> Result<Vec<(&'a str, &'a Obj)>, ServiceError> {
    let entries = opt_entries(o, "Entries")?;
    if entries.is_empty() {
        return Err(empty_batch(entry_name));
    }
    if entries.len() > 10 {
        return Err(too_many_entries(entries.len()));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let id = req_str(e, "Id")?;
        if !seen.insert(id) {
            return Err(ids_not_distinct(id));
        }
        out.push((id, e));
    }
    for (id, _) in &out {
        if !valid_entry_id(id) {
            return Err(invalid_batch_entry_id());
        }
    }
    Ok(out)
}

/// Runs `f` on every entry of a batch: the store operations of the entries
/// that succeeded, and the answer listing them (`Successful`) and the others
/// (`Failed`).
fn batch<'a>(
    entries: Vec<(&'a str, &'a Obj)>,
    mut f: impl FnMut(&'a Obj) -> Result<Option<QueueOp>, ServiceError>,
) -> (Vec<QueueOp>, Value) {
    let mut ops = Vec::new();
    let mut successful = Vec::new();
    let mut failed = Vec::new();
    for (id, e) in entries {
        match f(e) {
            Ok(op) => {
                ops.extend(op);
                successful.push(json!({ "Id": id }));
            }
            Err(e) => failed.push(failed_entry(id, &e)),
        }
    }
    (ops, json!({ "Successful": successful, "Failed": failed }))
}

fn failed_entry(id: &str, e: &ServiceError) -> Value {
    json!({
        "Id": id,
        "SenderFault": e.sender_fault,
        "Code": e.query_code.as_deref().unwrap_or(&e.code),
        "Message": e.message,
    })
}

// ----- sending ---------------------------------------------------------------

/// A message ready to be added, or a FIFO duplicate.
enum Prepared {
    New(Box<Msg>),
    Duplicate {
        message_id: String,
        sequence_number: Option<String>,
        md5_body: String,
        md5_attrs: Option<String>,
        md5_system: Option<String>,
    },
}

fn valid_fifo_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic())
}

/// FIFO sequence numbers: 20 digits, increasing.
fn sequence_number(seq: u64) -> String {
    (18_000_000_000_000_000_000u128 + u128::from(seq)).to_string()
}

fn send_output(
    message_id: &str,
    md5_body: &str,
    md5_attrs: Option<&str>,
    md5_system: Option<&str>,
    sequence_number: Option<&str>,
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("MD5OfMessageBody".into(), Value::String(md5_body.into()));
    if let Some(m) = md5_attrs {
        out.insert("MD5OfMessageAttributes".into(), Value::String(m.into()));
    }
    if let Some(m) = md5_system {
        out.insert(
            "MD5OfMessageSystemAttributes".into(),
            Value::String(m.into()),
        );
    }
    out.insert("MessageId".into(), Value::String(message_id.into()));
    if let Some(s) = sequence_number {
        out.insert("SequenceNumber".into(), Value::String(s.into()));
    }
    out
}

impl Prepared {
    fn output(&self) -> Map<String, Value> {
        match self {
            Prepared::New(m) => send_output(
                &m.message_id,
                &m.md5_body,
                m.meta.md5_attrs.as_deref(),
                m.meta.md5_system.as_deref(),
                m.meta.sequence_number.as_deref(),
            ),
            Prepared::Duplicate {
                message_id,
                sequence_number,
                md5_body,
                md5_attrs,
                md5_system,
            } => send_output(
                message_id,
                md5_body,
                md5_attrs.as_deref(),
                md5_system.as_deref(),
                sequence_number.as_deref(),
            ),
        }
    }
}

/// The body as text: a string as is; any other JSON value (a state
/// machine's Parameters may hold an object) as its JSON text.
fn body_of(e: &Obj) -> Result<String, ServiceError> {
    match e.get("MessageBody") {
        None | Some(Value::Null) => Err(missing_parameter("MessageBody")),
        Some(Value::String(s)) if s.is_empty() => Err(missing_parameter("MessageBody")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
    }
}

/// Validates one message for queue `q`; assigns its seq.
fn prepare(
    st_next_seq: &mut u64,
    q: &mut Queue,
    e: &Obj,
    scope: &Scope,
    now: i64,
) -> Result<(Prepared, usize), ServiceError> {
    let body = body_of(e)?;
    message::check_chars(&body)?;
    let (attrs, attrs_size) = message::parse_attrs(e.get("MessageAttributes"), false)?;
    let (system, _) = message::parse_attrs(e.get("MessageSystemAttributes"), true)?;
    let size = body.len() + attrs_size;
    if size > q.cfg.max_message_size {
        return Err(invalid_parameter(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {} bytes.",
            q.cfg.max_message_size
        )));
    }
    let delay = opt_int(e, "DelaySeconds")?;
    if let Some(d) = delay {
        if !(0..=900).contains(&d) {
            return Err(invalid_value(
                "DelaySeconds",
                &d.to_string(),
                "DelaySeconds must be >= 0 and <= 900.",
            ));
        }
        if q.cfg.fifo && d != 0 {
            return Err(invalid_value(
                "DelaySeconds",
                &d.to_string(),
                "The request include parameter that is not valid for this queue type.",
            ));
        }
    }
    let group = opt_str(e, "MessageGroupId")?;
    let dedup_given = opt_str(e, "MessageDeduplicationId")?;
    if let Some(g) = group
        && !valid_fifo_id(g)
    {
        return Err(invalid_value(
            "MessageGroupId",
            g,
            "MessageGroupId can only include alphanumeric and punctuation characters. 1 to 128 in length.",
        ));
    }
    if let Some(d) = dedup_given
        && !valid_fifo_id(d)
    {
        return Err(invalid_value(
            "MessageDeduplicationId",
            d,
            "MessageDeduplicationId can only include alphanumeric and punctuation characters. 1 to 128 in length.",
        ));
    }
    let md5_body = md5_hex(body.as_bytes());
    let md5_attrs = (!attrs.is_empty()).then(|| md5_of_attrs(&attrs));
    let md5_system = (!system.is_empty()).then(|| md5_of_attrs(&system));
    let mut dedup = None;
    if q.cfg.fifo {
        let Some(g) = group else {
            return Err(missing_parameter("MessageGroupId"));
        };
        let id = match dedup_given {
            Some(d) => d.to_string(),
            None if q.cfg.content_dedup => message::sha256_hex(body.as_bytes()),
            None => {
                return Err(invalid_parameter(
                    "The queue should either have ContentBasedDeduplication enabled or \
                     MessageDeduplicationId provided explicitly",
                ));
            }
        };
        let key = dedup_key(&q.cfg, Some(g), &id);
        if let Some(d) = q.dedup_lookup(&key, now) {
            return Ok((
                Prepared::Duplicate {
                    message_id: d.message_id,
                    sequence_number: d.sequence_number,
                    md5_body,
                    md5_attrs,
                    md5_system,
                },
                size,
            ));
        }
        dedup = Some((key, id));
    } else if let Some(d) = dedup_given {
        return Err(invalid_value(
            "MessageDeduplicationId",
            d,
            "The request includes a parameter that is not valid for this queue type.",
        ));
    }
    let seq = *st_next_seq;
    *st_next_seq += 1;
    let message_id = baton_engine::control::uuid_v4();
    let sequence_number = q.cfg.fifo.then(|| sequence_number(seq));
    if let Some((key, _)) = &dedup {
        q.dedup_remember(
            key.clone(),
            Dedup {
                expires_ms: now + DEDUP_WINDOW_MS,
                message_id: message_id.clone(),
                sequence_number: sequence_number.clone(),
            },
        );
    }
    let delay_s = delay.unwrap_or(i64::from(q.cfg.delay_s));
    let meta = Meta {
        attrs,
        md5_attrs,
        trace: system.get("AWSTraceHeader").and_then(|v| v.string.clone()),
        md5_system,
        group: group.map(str::to_string),
        dedup: dedup.map(|(_, id)| id),
        sequence_number,
        sender: scope.account.clone(),
        dlq_source: None,
    };
    Ok((
        Prepared::New(Box::new(Msg {
            seq,
            message_id,
            body,
            md5_body,
            meta,
            sent_ms: now,
            visible_ms: now + to_i64_ms(delay_s),
            receive_count: 0,
            first_receive_ms: None,
            inflight: false,
        })),
        size,
    ))
}

fn record_of(queue_id: u64, m: &Msg) -> MessageRecord {
    MessageRecord {
        queue_id,
        seq: m.seq,
        message_id: m.message_id.clone(),
        body: m.body.clone(),
        meta: serde_json::to_string(&m.meta).unwrap_or_else(|_| "{}".into()),
        sent_ms: m.sent_ms,
        visible_ms: m.visible_ms,
        receive_count: m.receive_count,
        first_receive_ms: m.first_receive_ms,
    }
}

// ----- receiving -------------------------------------------------------------

/// What a receive asked for.
struct ReceiveRequest {
    max: usize,
    visibility_s: Option<i64>,
    wait_s: Option<i64>,
    system: Vec<&'static str>,
    attrs: AttrFilter,
}

enum Attempt {
    Got(
        Value,
        Option<tokio::sync::oneshot::Receiver<Result<(), String>>>,
    ),
    Empty {
        notify: Arc<Notify>,
        next_due: Option<i64>,
        wait_s: u32,
    },
}

fn message_json(queue_id: u64, m: &Msg, req: &ReceiveRequest) -> Value {
    let mut out = Map::new();
    out.insert("MessageId".into(), Value::String(m.message_id.clone()));
    out.insert(
        "ReceiptHandle".into(),
        Value::String(receipt_handle(queue_id, m)),
    );
    out.insert("MD5OfBody".into(), Value::String(m.md5_body.clone()));
    out.insert("Body".into(), Value::String(m.body.clone()));
    let mut sys = Map::new();
    for name in &req.system {
        let v = match *name {
            "SenderId" => Some(m.meta.sender.clone()),
            "SentTimestamp" => Some(m.sent_ms.to_string()),
            "ApproximateReceiveCount" => Some(m.receive_count.to_string()),
            "ApproximateFirstReceiveTimestamp" => {
                Some(m.first_receive_ms.unwrap_or(m.sent_ms).to_string())
            }
            "SequenceNumber" => m.meta.sequence_number.clone(),
            "MessageDeduplicationId" => m.meta.dedup.clone(),
            "MessageGroupId" => m.meta.group.clone(),
            "AWSTraceHeader" => m.meta.trace.clone(),
            "DeadLetterQueueSourceArn" => m.meta.dlq_source.clone(),
            _ => None,
        };
        if let Some(v) = v {
            sys.insert((*name).to_string(), Value::String(v));
        }
    }
    if !sys.is_empty() {
        out.insert("Attributes".into(), Value::Object(sys));
    }
    if !req.attrs.is_empty() && !m.meta.attrs.is_empty() {
        let md5 = if req.attrs.is_all() {
            m.meta.md5_attrs.clone()
        } else {
            let chosen: BTreeMap<&String, &message::AttrValue> = m
                .meta
                .attrs
                .iter()
                .filter(|(k, _)| req.attrs.matches(k))
                .collect();
            (!chosen.is_empty()).then(|| md5_of_attrs(chosen))
        };
        let mut attrs = Map::new();
        for (k, v) in &m.meta.attrs {
            if req.attrs.matches(k) {
                attrs.insert(k.clone(), v.to_json());
            }
        }
        if let Some(md5) = md5
            && !attrs.is_empty()
        {
            out.insert("MD5OfMessageAttributes".into(), Value::String(md5));
            out.insert("MessageAttributes".into(), Value::Object(attrs));
        }
    }
    Value::Object(out)
}

impl State {
    /// The URLs of `(account, name)` queues, as a JSON list.
    fn urls_of(&self, names: &[(&str, &str)]) -> Value {
        Value::Array(
            names
                .iter()
                .map(|(a, n)| Value::String(self.url_of(a, n)))
                .collect(),
        )
    }

    /// One receive attempt on queue `key` at `now`.
    fn try_receive(
        &mut self,
        key: &str,
        req: &ReceiveRequest,
        now: i64,
    ) -> Result<Attempt, ServiceError> {
        let (redrive, vt_s, wait_s) = {
            let q = get_queue(self, key)?;
            (
                q.cfg.redrive.clone(),
                req.visibility_s.unwrap_or(i64::from(q.cfg.visibility_s)),
                q.cfg.wait_s,
            )
        };
        // Dead-letter only into a queue that exists (else messages stay).
        let dlq_key = redrive.as_ref().and_then(|r| {
            let scope = Scope::of_arn(&r.target_arn)?;
            let name = r.target_arn.rsplit(':').next()?;
            let k = queue_key(&scope.region, &scope.account, name);
            (k != key && self.queues.contains_key(&k)).then_some(k)
        });
        let redrive_max = dlq_key
            .as_ref()
            .and(redrive.as_ref())
            .map(|r| r.max_receive_count);
        let mut ops = Vec::new();
        let q = get_queue(self, key)?;
        let queue_id = q.id;
        let source_arn = q.arn.clone();
        let taken = q.take(now, req.max, to_i64_ms(vt_s), redrive_max);
        let mut messages = Vec::with_capacity(taken.received.len());
        for seq in &taken.received {
            let Some(m) = q.msgs.get(seq) else {
                continue;
            };
            ops.push(QueueOp::SetVisibility {
                queue_id,
                seq: *seq,
                visible_ms: m.visible_ms,
                receive_count: m.receive_count,
                first_receive_ms: m.first_receive_ms,
            });
            messages.push(message_json(queue_id, m, req));
        }
        let notify = q.notify.clone();
        let next_due = q.next_due();
        if !taken.dead.is_empty()
            && let Some(dk) = &dlq_key
        {
            let mut next_seq = self.next_seq;
            if let Some(dlq) = self.queues.get_mut(dk) {
                for mut m in taken.dead {
                    let new_seq = next_seq;
                    next_seq += 1;
                    ops.push(QueueOp::Move {
                        queue_id,
                        seq: m.seq,
                        to_queue_id: dlq.id,
                        new_seq,
                        visible_ms: now,
                    });
                    m.seq = new_seq;
                    m.visible_ms = now;
                    m.receive_count = 0;
                    m.first_receive_ms = None;
                    m.inflight = false;
                    m.meta.dlq_source = Some(source_arn.clone());
                    if m.meta.sequence_number.is_some() {
                        m.meta.sequence_number = Some(sequence_number(new_seq));
                    }
                    dlq.insert(m, now);
                }
                dlq.notify.notify_waiters();
            }
            self.next_seq = next_seq;
        }
        if messages.is_empty() {
            // Moves need no acknowledgement.
            self.submit(ops, false)?;
            return Ok(Attempt::Empty {
                notify,
                next_due,
                wait_s,
            });
        }
        let rx = self.submit(ops, true)?;
        Ok(Attempt::Got(json!({ "Messages": messages }), rx))
    }
}

// ----- the actions -----------------------------------------------------------

impl Sqs {
    /// Changes queue `key` with `f`, which returns the store operations to
    /// write and its answer, and waits until they are durable.
    async fn change_queue<T>(
        &self,
        key: &str,
        f: impl FnOnce(&mut Queue) -> Result<(Vec<QueueOp>, T), ServiceError>,
    ) -> Result<T, ServiceError> {
        let (out, rx) = {
            let mut st = self.lock();
            let (ops, out) = f(get_queue(&mut st, key)?)?;
            (out, st.submit(ops, true)?)
        };
        durable(rx).await?;
        Ok(out)
    }

    /// Checks a RedrivePolicy's target: it exists, and is FIFO iff the
    /// source is.
    fn check_redrive(
        st: &State,
        attrs: &BTreeMap<String, String>,
        fifo: bool,
    ) -> Result<(), ServiceError> {
        let Some(text) = attrs.get("RedrivePolicy").filter(|t| !t.is_empty()) else {
            return Ok(());
        };
        let r = attrs::parse_redrive(text)?;
        let target = Scope::of_arn(&r.target_arn).and_then(|s| {
            let name = r.target_arn.rsplit(':').next()?;
            st.queues.get(&queue_key(&s.region, &s.account, name))
        });
        match target {
            None => Err(invalid_value(
                "RedrivePolicy",
                text,
                "Dead letter target does not exist.",
            )),
            Some(t) if t.cfg.fifo != fifo => Err(invalid_value(
                "RedrivePolicy",
                text,
                "Dead-letter queue must be same type of queue as the source.",
            )),
            Some(_) => Ok(()),
        }
    }

    pub(super) async fn create_queue(&self, scope: &Scope, o: &Obj) -> Result<Value, ServiceError> {
        let name = req_str(o, "QueueName")?;
        let given = opt_str_map(o, "Attributes")?;
        let mut tags = opt_str_map(o, "tags")?;
        if tags.is_empty() {
            tags = opt_str_map(o, "Tags")?;
        }
        let fifo_requested = given
            .iter()
            .any(|(k, v)| k == "FifoQueue" && v.eq_ignore_ascii_case("true"));
        let fifo = name.ends_with(".fifo");
        if fifo_requested && !attrs::valid_name(name, true) {
            return Err(invalid_parameter(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or \
                 underscores, must end with .fifo suffix and be 1 to 80 in length.",
            ));
        }
        if !attrs::valid_name(name, fifo_requested) || (fifo && !fifo_requested) {
            return Err(invalid_parameter(
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
            ));
        }
        let valid = attrs::validate(&given, true, fifo)?;
        let key = queue_key(&scope.region, &scope.account, name);
        let now = now_ms();
        let rx = {
            let mut st = self.lock();
            if let Some(q) = st.queues.get(&key) {
                for (k, v) in &valid {
                    let existing = q.meta.attributes.get(k).map_or("", String::as_str);
                    if existing != v {
                        return Err(queue_name_exists(format!(
                            "A queue already exists with the same name and a different value for attribute {k}"
                        )));
                    }
                }
                let url = st.url_of(&scope.account, name);
                return Ok(json!({ "QueueUrl": url }));
            }
            Self::check_redrive(&st, &valid, fifo)?;
            let attributes = attrs::with_defaults(valid, fifo);
            let meta = QueueMeta {
                name: name.to_string(),
                region: scope.region.clone(),
                account: scope.account.clone(),
                created_s: now / 1000,
                modified_s: now / 1000,
                attributes,
                tags: tags.into_iter().collect(),
            };
            let id = st.next_queue_id;
            st.next_queue_id += 1;
            let value =
                serde_json::to_string(&meta).map_err(|e| ServiceError::internal(e.to_string()))?;
            let cfg = attrs::config(&meta.attributes);
            let arn = arn_of(&scope.region, &scope.account, name);
            st.by_id.insert(id, key.clone());
            st.queues
                .insert(key.clone(), Queue::new(id, meta, cfg, arn));
            st.submit(
                vec![QueueOp::PutQueue(QueueRecord { id, key, value })],
                true,
            )?
        };
        durable(rx).await?;
        let url = self.lock().url_of(&scope.account, name);
        Ok(json!({ "QueueUrl": url }))
    }

    pub(super) fn get_queue_url(&self, scope: &Scope, o: &Obj) -> Result<Value, ServiceError> {
        let name = req_str(o, "QueueName")?;
        let account = opt_str(o, "QueueOwnerAWSAccountId")?.unwrap_or(&scope.account);
        let st = self.lock();
        if !st
            .queues
            .contains_key(&queue_key(&scope.region, account, name))
        {
            return Err(queue_does_not_exist());
        }
        Ok(json!({ "QueueUrl": st.url_of(account, name) }))
    }

    pub(super) fn get_queue_attributes(
        &self,
        scope: &Scope,
        o: &Obj,
    ) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let names = opt_str_list(o, "AttributeNames")?;
        for n in &names {
            if n != "All" && !attrs::READABLE.contains(&n.as_str()) {
                return Err(invalid_attribute_name(format!("Unknown Attribute {n}.")));
            }
        }
        let all = names.iter().any(|n| n == "All");
        let mut st = self.lock();
        let q = get_queue(&mut st, &key)?;
        let (visible, inflight, delayed) = q.counts(now_ms());
        let mut out = Map::new();
        for name in attrs::READABLE {
            if !all && !names.iter().any(|n| n == name) {
                continue;
            }
            let v = match *name {
                "QueueArn" => Some(q.arn.clone()),
                "ApproximateNumberOfMessages" => Some(visible.to_string()),
                "ApproximateNumberOfMessagesNotVisible" => Some(inflight.to_string()),
                "ApproximateNumberOfMessagesDelayed" => Some(delayed.to_string()),
                "CreatedTimestamp" => Some(q.meta.created_s.to_string()),
                "LastModifiedTimestamp" => Some(q.meta.modified_s.to_string()),
                other => q.meta.attributes.get(other).cloned(),
            };
            if let Some(v) = v {
                out.insert((*name).to_string(), Value::String(v));
            }
        }
        if out.is_empty() {
            return Ok(json!({}));
        }
        Ok(json!({ "Attributes": out }))
    }

    pub(super) async fn set_queue_attributes(
        &self,
        scope: &Scope,
        o: &Obj,
    ) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let given = opt_str_map(o, "Attributes")?;
        let rx = {
            let mut st = self.lock();
            let fifo = get_queue(&mut st, &key)?.cfg.fifo;
            let valid = attrs::validate(&given, false, fifo)?;
            Self::check_redrive(&st, &valid, fifo)?;
            let q = get_queue(&mut st, &key)?;
            for (k, v) in valid {
                if v.is_empty() {
                    q.meta.attributes.remove(&k);
                } else {
                    q.meta.attributes.insert(k, v);
                }
            }
            q.meta.modified_s = now_ms() / 1000;
            q.cfg = attrs::config(&q.meta.attributes);
            let op = put_queue_op(q)?;
            q.notify.notify_waiters();
            st.submit(vec![op], true)?
        };
        durable(rx).await?;
        Ok(json!({}))
    }

    pub(super) fn list_queues(&self, scope: &Scope, o: &Obj) -> Result<Value, ServiceError> {
        let prefix = opt_str(o, "QueueNamePrefix")?.unwrap_or("");
        let (max, after) = page_request(o)?;
        let st = self.lock();
        let mut names: Vec<(&str, &str)> = st
            .queues
            .values()
            .filter(|q| {
                q.meta.region == scope.region
                    && q.meta.account == scope.account
                    && q.meta.name.starts_with(prefix)
                    && after.as_deref().is_none_or(|a| q.meta.name.as_str() > a)
            })
            .map(|q| (q.meta.account.as_str(), q.meta.name.as_str()))
            .collect();
        names.sort_unstable();
        let next_token = page(&mut names, max);
        let mut out = Map::new();
        if !names.is_empty() {
            out.insert("QueueUrls".into(), st.urls_of(&names));
        }
        if let Some(t) = next_token {
            out.insert("NextToken".into(), Value::String(t));
        }
        Ok(Value::Object(out))
    }

    pub(super) async fn delete_queue(&self, scope: &Scope, o: &Obj) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let rx = {
            let mut st = self.lock();
            let mut q = st.queues.remove(&key).ok_or_else(queue_does_not_exist)?;
            st.by_id.remove(&q.id);
            q.clear();
            q.notify.notify_waiters();
            st.submit(vec![QueueOp::DeleteQueue { id: q.id }], true)?
        };
        durable(rx).await?;
        Ok(json!({}))
    }

    pub(super) async fn purge_queue(&self, scope: &Scope, o: &Obj) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let now = now_ms();
        let rx = {
            let mut st = self.lock();
            let up_to_seq = st.next_seq.saturating_sub(1);
            let q = get_queue(&mut st, &key)?;
            if let Some(last) = q.last_purge_ms
                && now - last < 60_000
            {
                return Err(purge_in_progress(&q.meta.name));
            }
            q.last_purge_ms = Some(now);
            q.clear();
            let id = q.id;
            st.submit(
                vec![QueueOp::Purge {
                    queue_id: id,
                    up_to_seq,
                }],
                true,
            )?
        };
        durable(rx).await?;
        Ok(json!({}))
    }

    pub(super) async fn tag_queue(&self, scope: &Scope, o: &Obj) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let tags = opt_str_map(o, "Tags")?;
        if tags.is_empty() {
            return Err(missing_parameter("Tags"));
        }
        self.change_queue(&key, |q| {
            for (k, v) in tags {
                q.meta.tags.insert(k, v);
            }
            if q.meta.tags.len() > 50 {
                return Err(invalid_parameter("Too many tags added for queue."));
            }
            Ok((vec![put_queue_op(q)?], json!({})))
        })
        .await
    }

    pub(super) async fn untag_queue(&self, scope: &Scope, o: &Obj) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let keys = opt_str_list(o, "TagKeys")?;
        if keys.is_empty() {
            return Err(missing_parameter("TagKeys"));
        }
        self.change_queue(&key, |q| {
            for k in &keys {
                q.meta.tags.remove(k);
            }
            Ok((vec![put_queue_op(q)?], json!({})))
        })
        .await
    }

    pub(super) fn list_queue_tags(&self, scope: &Scope, o: &Obj) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let mut st = self.lock();
        let q = get_queue(&mut st, &key)?;
        if q.meta.tags.is_empty() {
            return Ok(json!({}));
        }
        Ok(json!({ "Tags": q.meta.tags }))
    }

    pub(super) fn list_dead_letter_source_queues(
        &self,
        scope: &Scope,
        o: &Obj,
    ) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let (max, after) = page_request(o)?;
        let st = self.lock();
        let target = st.queues.get(&key).ok_or_else(queue_does_not_exist)?;
        let mut sources: Vec<(&str, &str)> = st
            .queues
            .values()
            .filter(|q| {
                q.cfg
                    .redrive
                    .as_ref()
                    .is_some_and(|r| r.target_arn == target.arn)
                    && after.as_deref().is_none_or(|a| q.meta.name.as_str() > a)
            })
            .map(|q| (q.meta.account.as_str(), q.meta.name.as_str()))
            .collect();
        sources.sort_unstable_by(|a, b| a.1.cmp(b.1));
        let next_token = page(&mut sources, max);
        let mut out = Map::new();
        out.insert("queueUrls".into(), st.urls_of(&sources));
        if let Some(t) = next_token {
            out.insert("NextToken".into(), Value::String(t));
        }
        Ok(Value::Object(out))
    }

    pub(super) async fn send_message(&self, scope: &Scope, o: &Obj) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let now = now_ms();
        let (out, rx) = {
            let mut st = self.lock();
            let mut next_seq = st.next_seq;
            let q = get_queue(&mut st, &key)?;
            let (prepared, _) = prepare(&mut next_seq, q, o, scope, now)?;
            let out = prepared.output();
            let mut ops = Vec::new();
            if let Prepared::New(m) = prepared {
                ops.push(QueueOp::Send(record_of(q.id, &m)));
                q.insert(*m, now);
                q.notify.notify_waiters();
            }
            st.next_seq = next_seq;
            (out, st.submit(ops, true)?)
        };
        durable(rx).await?;
        Ok(Value::Object(out))
    }

    pub(super) async fn send_message_batch(
        &self,
        scope: &Scope,
        o: &Obj,
    ) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let entries = batch_entries(o, "SendMessageBatchRequestEntry")?;
        let now = now_ms();
        let (successful, failed, rx) = {
            let mut st = self.lock();
            let mut next_seq = st.next_seq;
            let q = get_queue(&mut st, &key)?;
            let mut results = Vec::with_capacity(entries.len());
            let mut total = 0;
            for (id, e) in &entries {
                let r = prepare(&mut next_seq, q, e, scope, now);
                if let Ok((_, size)) = &r {
                    total += size;
                }
                results.push((*id, r));
            }
            let limit = q
                .cfg
                .max_message_size
                .max(attrs::DEFAULT_MAX_MESSAGE_SIZE as usize);
            if total > limit {
                return Err(batch_too_long(limit, total));
            }
            let mut ops = Vec::new();
            let mut successful = Vec::new();
            let mut failed = Vec::new();
            for (id, r) in results {
                match r {
                    Ok((prepared, _)) => {
                        let mut out = prepared.output();
                        out.insert("Id".into(), Value::String(id.to_string()));
                        successful.push(Value::Object(out));
                        if let Prepared::New(m) = prepared {
                            ops.push(QueueOp::Send(record_of(q.id, &m)));
                            q.insert(*m, now);
                        }
                    }
                    Err(e) => failed.push(failed_entry(id, &e)),
                }
            }
            if !ops.is_empty() {
                q.notify.notify_waiters();
            }
            st.next_seq = next_seq;
            (successful, failed, st.submit(ops, true)?)
        };
        durable(rx).await?;
        Ok(json!({ "Successful": successful, "Failed": failed }))
    }

    pub(super) async fn receive_message(
        &self,
        scope: &Scope,
        o: &Obj,
    ) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let max = opt_int(o, "MaxNumberOfMessages")?.unwrap_or(1);
        if !(1..=10).contains(&max) {
            return Err(invalid_value(
                "MaxNumberOfMessages",
                &max.to_string(),
                "Must be between 1 and 10, if provided.",
            ));
        }
        let visibility_s = opt_int_in(
            o,
            "VisibilityTimeout",
            0..=MAX_VISIBILITY_S,
            "Must be >= 0 and <= 43200, if provided.",
        )?;
        let wait_s = opt_int_in(
            o,
            "WaitTimeSeconds",
            0..=20,
            "Must be >= 0 and <= 20, if provided.",
        )?;
        let mut wanted = opt_str_list(o, "AttributeNames")?;
        wanted.extend(opt_str_list(o, "MessageSystemAttributeNames")?);
        let all = wanted.iter().any(|n| n == "All");
        let system: Vec<&'static str> = SYSTEM_ATTRIBUTES
            .iter()
            .copied()
            .filter(|n| all || wanted.iter().any(|w| w == n))
            .collect();
        let req = ReceiveRequest {
            max: max as usize,
            visibility_s,
            wait_s,
            system,
            attrs: AttrFilter::new(&opt_str_list(o, "MessageAttributeNames")?),
        };
        let mut notify: Option<Arc<Notify>> = None;
        let mut deadline: Option<i64> = None;
        loop {
            let registered = notify.clone();
            let mut notified = registered.as_ref().map(|n| Box::pin(n.notified()));
            if let Some(f) = notified.as_mut() {
                f.as_mut().enable();
            }
            let now = now_ms();
            let attempt = self.lock().try_receive(&key, &req, now)?;
            match attempt {
                Attempt::Got(v, rx) => {
                    durable(rx).await?;
                    return Ok(v);
                }
                Attempt::Empty {
                    notify: n,
                    next_due,
                    wait_s,
                } => {
                    let until = *deadline.get_or_insert_with(|| {
                        now + to_i64_ms(req.wait_s.unwrap_or(i64::from(wait_s)))
                    });
                    if now >= until || self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                        return Ok(json!({}));
                    }
                    let Some(mut notified) = notified else {
                        // Register for wake-ups, then look once more.
                        notify = Some(n);
                        continue;
                    };
                    let wake = next_due.map_or(until, |d| d.min(until));
                    let sleep_ms = u64::try_from((wake - now).max(1)).unwrap_or(1);
                    tokio::select! {
                        () = &mut notified => {}
                        () = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
                        () = self.shutdown.notified() => {}
                    }
                    // A deleted and re-created queue has a new notifier.
                    notify = Some(n);
                }
            }
        }
    }

    pub(super) async fn delete_message(
        &self,
        scope: &Scope,
        o: &Obj,
    ) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let handle = req_str(o, "ReceiptHandle")?;
        let receipt = parse_receipt(handle)?;
        self.change_queue(&key, |q| {
            let op = delete_one(q, &receipt, handle)?;
            Ok((op.into_iter().collect(), json!({})))
        })
        .await
    }

    pub(super) async fn delete_message_batch(
        &self,
        scope: &Scope,
        o: &Obj,
    ) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let entries = batch_entries(o, "DeleteMessageBatchRequestEntry")?;
        self.change_queue(&key, |q| {
            Ok(batch(entries, |e| {
                let h = req_str(e, "ReceiptHandle")?;
                let receipt = parse_receipt(h)?;
                delete_one(q, &receipt, h)
            }))
        })
        .await
    }

    pub(super) async fn change_message_visibility(
        &self,
        scope: &Scope,
        o: &Obj,
    ) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let handle = req_str(o, "ReceiptHandle")?;
        let timeout = opt_int(o, "VisibilityTimeout")?
            .ok_or_else(|| missing_parameter("VisibilityTimeout"))?;
        let receipt = parse_receipt(handle)?;
        self.change_queue(&key, |q| {
            let op = change_one(q, &receipt, handle, timeout, now_ms())?;
            Ok((vec![op], json!({})))
        })
        .await
    }

    pub(super) async fn change_message_visibility_batch(
        &self,
        scope: &Scope,
        o: &Obj,
    ) -> Result<Value, ServiceError> {
        let key = resolve(scope, queue_url_of(o)?)?;
        let entries = batch_entries(o, "ChangeMessageVisibilityBatchRequestEntry")?;
        let now = now_ms();
        self.change_queue(&key, |q| {
            Ok(batch(entries, |e| {
                let h = req_str(e, "ReceiptHandle")?;
                let timeout = opt_int(e, "VisibilityTimeout")?
                    .ok_or_else(|| missing_parameter("VisibilityTimeout"))?;
                let receipt = parse_receipt(h)?;
                change_one(q, &receipt, h, timeout, now).map(Some)
            }))
        })
        .await
    }
}

fn put_queue_op(q: &Queue) -> Result<QueueOp, ServiceError> {
    let value =
        serde_json::to_string(&q.meta).map_err(|e| ServiceError::internal(e.to_string()))?;
    Ok(QueueOp::PutQueue(QueueRecord {
        id: q.id,
        key: queue_key(&q.meta.region, &q.meta.account, &q.meta.name),
        value,
    }))
}

/// Deletes the message a receipt names. A message already gone is not an
/// error (as on AWS); on a FIFO queue only the latest receipt deletes.
fn delete_one(q: &mut Queue, r: &Receipt, handle: &str) -> Result<Option<QueueOp>, ServiceError> {
    if r.queue_id != q.id {
        return Err(receipt_handle_invalid(handle));
    }
    let Some(m) = q.msgs.get(&r.seq) else {
        return Ok(None);
    };
    if m.message_id != r.message_id {
        return Ok(None);
    }
    if q.cfg.fifo && m.receive_count != r.receive_count {
        return Err(invalid_value(
            "ReceiptHandle",
            handle,
            "The receipt handle has expired.",
        ));
    }
    q.remove(r.seq);
    Ok(Some(QueueOp::Delete {
        queue_id: q.id,
        seq: r.seq,
    }))
}

/// Changes the visibility of the in-flight message a receipt names.
fn change_one(
    q: &mut Queue,
    r: &Receipt,
    handle: &str,
    timeout: i64,
    now: i64,
) -> Result<QueueOp, ServiceError> {
    if !(0..=MAX_VISIBILITY_S).contains(&timeout) {
        return Err(invalid_value(
            "VisibilityTimeout",
            &timeout.to_string(),
            "Must be between 0 and 43200, if provided.",
        ));
    }
    if r.queue_id != q.id {
        return Err(receipt_handle_invalid(handle));
    }
    let gone = || {
        invalid_value(
            "ReceiptHandle",
            handle,
            "Message does not exist or is not available for visibility timeout change.",
        )
    };
    let Some(m) = q.msgs.get(&r.seq) else {
        return Err(gone());
    };
    if m.message_id != r.message_id {
        return Err(gone());
    }
    if !q.is_inflight(r.seq, now) {
        return Err(message_not_inflight());
    }
    let visible_ms = now + to_i64_ms(timeout);
    q.set_visibility(r.seq, visible_ms, now);
    if timeout == 0 {
        q.notify.notify_waiters();
    }
    let m = q.msgs.get(&r.seq).ok_or_else(gone)?;
    Ok(QueueOp::SetVisibility {
        queue_id: q.id,
        seq: r.seq,
        visible_ms,
        receive_count: m.receive_count,
        first_receive_ms: m.first_receive_ms,
    })
}

/// A list request's `MaxResults` (1 to 1000) and the queue name its
/// `NextToken` continues after.
fn page_request(o: &Obj) -> Result<(Option<i64>, Option<String>), ServiceError> {
    let max = opt_int_in(
        o,
        "MaxResults",
        1..=1000,
        "MaxResults must be an integer between 1 and 1000.",
    )?;
    let after = match opt_str(o, "NextToken")? {
        Some(t) => Some(decode_token(t)?),
        None => None,
    };
    Ok((max, after))
}

/// Cuts the sorted `(account, name)` list to one page of at most `max`
/// (1000 when not given); the `NextToken` when `max` was given and more
/// remain.
fn page(names: &mut Vec<(&str, &str)>, max: Option<i64>) -> Option<String> {
    let limit = max.map_or(1000, |m| m as usize);
    let more = names.len() > limit;
    names.truncate(limit);
    if more && max.is_some() {
        names.last().map(|(_, last)| encode_token(last))
    } else {
        None
    }
}

fn encode_token(last: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("q:{last}"))
}

fn decode_token(t: &str) -> Result<String, ServiceError> {
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("q:").map(str::to_string))
        .ok_or_else(|| invalid_parameter("Invalid or expired next token."))
}
