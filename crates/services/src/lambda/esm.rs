//! SQS event source mappings: kept in the store (kind `lambda-esm`, key
//! `<account>/<region>/<uuid>`), one poller per enabled mapping. A poller
//! long-polls the queue through the SQS service (`ReceiveMessage`),
//! invokes the function with the batch as Lambda's SQS event, deletes the
//! batch on success (`DeleteMessageBatch`; with `ReportBatchItemFailures`,
//! all but the failed items) and leaves it for redelivery after the
//! visibility timeout on error.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::*;

const MAPPING_KIND: &str = "lambda-esm";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Mapping {
    uuid: String,
    account: String,
    region: String,
    event_source_arn: String,
    function: String,
    batch_size: u64,
    batching_window: u64,
    enabled: bool,
    function_response_types: Vec<String>,
    last_modified_ms: i64,
}

impl Mapping {
    fn scope(&self) -> Scope {
        Scope::new(&self.account, &self.region)
    }

    fn key(&self) -> String {
        format!("{}/{}/{}", self.account, self.region, self.uuid)
    }

    fn function_arn(&self) -> String {
        model::function_arn(&self.scope(), &self.function)
    }

    /// The `EventSourceMappingConfiguration` shape; `state` overrides the
    /// steady state (`Creating`, `Updating`, `Deleting`).
    fn configuration(&self, state: Option<&str>) -> Value {
        let steady = if self.enabled { "Enabled" } else { "Disabled" };
        let scope = self.scope();
        json!({
            "UUID": self.uuid,
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.batching_window,
            "EventSourceArn": self.event_source_arn,
            "FunctionArn": self.function_arn(),
            "LastModified": self.last_modified_ms as f64 / 1000.0,
            "State": state.unwrap_or(steady),
            "StateTransitionReason": "USER_INITIATED",
            "FunctionResponseTypes": self.function_response_types,
            "EventSourceMappingArn": format!(
                "arn:{}:lambda:{}:{}:event-source-mapping:{}",
                scope.partition(), scope.region, scope.account, self.uuid
            ),
        })
    }
}

/// `arn:aws:sqs:<region>:<account>:<name>` → (scope, name).
fn queue_of(arn: &str) -> Option<(Scope, String)> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "sqs", region, account, name]
            if !region.is_empty() && !account.is_empty() && !name.is_empty() =>
        {
            Some((Scope::new(*account, *region), (*name).to_string()))
        }
        _ => None,
    }
}

fn not_found_mapping() -> ServiceError {
    not_found("The resource you requested does not exist.")
}

fn parse_response_types(input: &Value) -> Result<Option<Vec<String>>, ServiceError> {
    match input.get("FunctionResponseTypes") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for v in a {
                match v.as_str() {
                    Some("ReportBatchItemFailures") => out.push("ReportBatchItemFailures".into()),
                    _ => {
                        return Err(validation(format!(
                            "1 validation error detected: Value '{v}' at 'functionResponseTypes' \
                             failed to satisfy constraint: Member must satisfy enum value set: \
                             [ReportBatchItemFailures]"
                        )));
                    }
                }
            }
            Ok(Some(out))
        }
        Some(_) => Err(invalid("FunctionResponseTypes must be a list")),
    }
}

fn member_bool(input: &Value, name: &str) -> Result<Option<bool>, ServiceError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
        Some(_) => Err(invalid(format!("{name} must be a boolean"))),
    }
}

/// Checks BatchSize and MaximumBatchingWindowInSeconds of an SQS mapping.
fn check_batching(batch: u64, window: u64, fifo: bool) -> Result<(), ServiceError> {
    let max = if fifo { 10 } else { 10_000 };
    if !(1..=max).contains(&batch) {
        return Err(invalid(format!(
            "BatchSize must be between 1 and {max} for {} SQS queues.",
            if fifo { "FIFO" } else { "standard" }
        )));
    }
    if window > 300 {
        return Err(validation(format!(
            "1 validation error detected: Value '{window}' at 'maximumBatchingWindowInSeconds' \
             failed to satisfy constraint: Member must have value less than or equal to 300"
        )));
    }
    if batch > 10 && window == 0 {
        return Err(invalid(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
        ));
    }
    Ok(())
}

impl Lambda {
    fn load_mapping(&self, scope: &Scope, uuid: &str) -> Result<Mapping, ServiceError> {
        if uuid.is_empty() || uuid.contains('/') {
            return Err(not_found_mapping());
        }
        let key = format!("{}/{}/{uuid}", scope.account, scope.region);
        let row = self
            .store
            .get_resource(MAPPING_KIND, &key)?
            .ok_or_else(not_found_mapping)?;
        serde_json::from_str(&row.value).map_err(|e| {
            ServiceError::internal(format!("a stored event source mapping is unreadable: {e}"))
        })
    }

    fn save_mapping(&self, m: &Mapping, insert: bool) -> Result<(), ServiceError> {
        let value = serde_json::to_string(m)
            .map_err(|e| ServiceError::internal(format!("cannot encode the mapping: {e}")))?;
        let rec = ResourceRecord {
            kind: MAPPING_KIND.into(),
            key: m.key(),
            value,
        };
        self.store.write_resources(&[if insert {
            ResourceOp::Insert(rec)
        } else {
            ResourceOp::Put(rec)
        }])?;
        Ok(())
    }

    fn scope_mappings(&self, scope: &Scope) -> Result<Vec<Mapping>, ServiceError> {
        let prefix = format!("{}/{}/", scope.account, scope.region);
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let rows = self
                .store
                .list_resources(MAPPING_KIND, &prefix, after.as_deref(), 1000)?;
            let Some(last) = rows.last() else { break };
            after = Some(last.key.clone());
            out.extend(
                rows.iter()
                    .filter_map(|r| serde_json::from_str::<Mapping>(&r.value).ok()),
            );
        }
        Ok(out)
    }

    /// Validates the queue: it exists (when SQS can tell) and its
    /// visibility timeout covers the function's timeout.
    async fn check_queue(
        &self,
        queue_scope: &Scope,
        name: &str,
        function_timeout: u64,
    ) -> Result<(), ServiceError> {
        let url = self.queue_url(queue_scope, name);
        let r = self
            .sqs
            .call(
                queue_scope,
                "GetQueueAttributes",
                json!({"QueueUrl": url, "AttributeNames": ["VisibilityTimeout"]}),
            )
            .await;
        match r {
            Ok(v) => {
                let vt = v
                    .pointer("/Attributes/VisibilityTimeout")
                    .and_then(|x| match x {
                        Value::String(s) => s.parse::<u64>().ok(),
                        other => other.as_u64(),
                    });
                if let Some(vt) = vt
                    && vt < function_timeout
                {
                    return Err(invalid(format!(
                        "Queue visibility timeout: {vt} seconds is less than Function timeout: \
                         {function_timeout} seconds"
                    )));
                }
                Ok(())
            }
            Err(e)
                if e.code == "QueueDoesNotExist"
                    || e.code == "AWS.SimpleQueueService.NonExistentQueue" =>
            {
                Err(invalid(
                    "Error occurred while ReceiveMessage. SQS Error Code: \
                     AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified \
                     queue does not exist for this wsdl version.",
                ))
            }
            // SQS cannot tell (e.g. not running in this build): the poller
            // reports problems later.
            Err(_) => Ok(()),
        }
    }

    /// The queue URL SQS resolves by path.
    fn queue_url(&self, scope: &Scope, name: &str) -> String {
        let base = self
            .endpoint
            .borrow()
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:4566".into());
        format!("{base}/{}/{name}", scope.account)
    }

    pub(super) async fn create_mapping(
        &self,
        scope: &Scope,
        input: Value,
    ) -> Result<Value, ServiceError> {
        let arn = input
            .get("EventSourceArn")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("EventSourceArn is required: Baton reads SQS queues"))?;
        let Some((queue_scope, queue_name)) = queue_of(arn) else {
            return Err(invalid(format!(
                "Event source {arn} is not supported by Baton: event source mappings read SQS \
                 queues (arn:aws:sqs:REGION:ACCOUNT:NAME)"
            )));
        };
        for unsupported in [
            "FilterCriteria",
            "DestinationConfig",
            "SelfManagedEventSource",
        ] {
            if input.get(unsupported).is_some_and(|v| !v.is_null()) {
                return Err(invalid(format!(
                    "{unsupported} is not supported by Baton's event source mappings"
                )));
            }
        }
        if input.get("StartingPosition").is_some_and(|v| !v.is_null()) {
            return Err(invalid(
                "StartingPosition is not valid for SQS event sources.",
            ));
        }
        let r = self.function_ref(scope, &input, "functionName")?;
        let f = self.function(&r)?;
        let fifo = queue_name.ends_with(".fifo");
        let batch = member_u64(&input, "BatchSize")?.unwrap_or(10);
        let window = member_u64(&input, "MaximumBatchingWindowInSeconds")?.unwrap_or(0);
        check_batching(batch, window, fifo)?;
        let enabled = member_bool(&input, "Enabled")?.unwrap_or(true);
        let response_types = parse_response_types(&input)?.unwrap_or_default();
        if let Some(existing) = self
            .scope_mappings(scope)?
            .into_iter()
            .find(|m| m.event_source_arn == arn && m.function == f.name)
        {
            return Err(model::conflict(format!(
                "An event source mapping with SQS arn (\" {arn} \") and function (\" {} \") \
                 already exists. Please update or delete the existing mapping with UUID {}",
                f.name, existing.uuid
            )));
        }
        self.check_queue(&queue_scope, &queue_name, f.timeout)
            .await?;
        let m = Mapping {
            uuid: baton_engine::control::uuid_v4(),
            account: scope.account.clone(),
            region: scope.region.clone(),
            event_source_arn: arn.to_string(),
            function: f.name.clone(),
            batch_size: batch,
            batching_window: window,
            enabled,
            function_response_types: response_types,
            last_modified_ms: now_ms(),
        };
        self.save_mapping(&m, true)?;
        self.restart_poller(&m);
        Ok(m.configuration(Some("Creating")))
    }

    pub(super) fn get_mapping(&self, scope: &Scope, input: &Value) -> Result<Value, ServiceError> {
        let uuid = input.get("UUID").and_then(Value::as_str).unwrap_or("");
        Ok(self.load_mapping(scope, uuid)?.configuration(None))
    }

    pub(super) fn list_mappings(
        &self,
        scope: &Scope,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let arn = input.get("EventSourceArn").and_then(Value::as_str);
        let function = match input.get("FunctionName").and_then(Value::as_str) {
            Some(name) => Some(parse_function_ref(scope, name, "functionName")?.name),
            None => None,
        };
        let max = member_u64(input, "MaxItems")?
            .unwrap_or(100)
            .clamp(1, 10_000) as usize;
        let marker = input.get("Marker").and_then(Value::as_str).unwrap_or("");
        let all: Vec<Mapping> = self
            .scope_mappings(scope)?
            .into_iter()
            .filter(|m| arn.is_none_or(|a| m.event_source_arn == a))
            .filter(|m| function.as_deref().is_none_or(|f| m.function == f))
            .filter(|m| marker.is_empty() || m.uuid.as_str() > marker)
            .collect();
        let page: Vec<Value> = all
            .iter()
            .take(max)
            .map(|m| m.configuration(None))
            .collect();
        let mut out = json!({ "EventSourceMappings": page });
        if all.len() > max
            && let Some(o) = out.as_object_mut()
        {
            o.insert(
                "NextMarker".into(),
                Value::String(all[max - 1].uuid.clone()),
            );
        }
        Ok(out)
    }

    pub(super) async fn update_mapping(
        &self,
        scope: &Scope,
        input: Value,
    ) -> Result<Value, ServiceError> {
        let uuid = input.get("UUID").and_then(Value::as_str).unwrap_or("");
        let mut m = self.load_mapping(scope, uuid)?;
        if input.get("FunctionName").is_some_and(|v| !v.is_null()) {
            let r = self.function_ref(scope, &input, "functionName")?;
            m.function = self.function(&r)?.name;
        }
        if let Some(b) = member_u64(&input, "BatchSize")? {
            m.batch_size = b;
        }
        if let Some(w) = member_u64(&input, "MaximumBatchingWindowInSeconds")? {
            m.batching_window = w;
        }
        let fifo = m.event_source_arn.ends_with(".fifo");
        check_batching(m.batch_size, m.batching_window, fifo)?;
        if let Some(e) = member_bool(&input, "Enabled")? {
            m.enabled = e;
        }
        if let Some(t) = parse_response_types(&input)? {
            m.function_response_types = t;
        }
        m.last_modified_ms = now_ms();
        self.save_mapping(&m, false)?;
        self.restart_poller(&m);
        Ok(m.configuration(Some("Updating")))
    }

    pub(super) fn delete_mapping(
        &self,
        scope: &Scope,
        input: &Value,
    ) -> Result<Value, ServiceError> {
        let uuid = input.get("UUID").and_then(Value::as_str).unwrap_or("");
        let m = self.load_mapping(scope, uuid)?;
        self.store.write_resources(&[ResourceOp::Delete {
            kind: MAPPING_KIND.into(),
            key: m.key(),
        }])?;
        self.stop_poller(&m.uuid);
        Ok(m.configuration(Some("Deleting")))
    }

    /// Starts the pollers of every enabled mapping kept in the store.
    pub(super) fn recover_mappings(&self) -> Result<(), ServiceError> {
        let mut after: Option<String> = None;
        loop {
            let rows = self
                .store
                .list_resources(MAPPING_KIND, "", after.as_deref(), 1000)?;
            let Some(last) = rows.last() else { break };
            after = Some(last.key.clone());
            for row in rows {
                if let Ok(m) = serde_json::from_str::<Mapping>(&row.value) {
                    self.restart_poller(&m);
                }
            }
        }
        Ok(())
    }

    fn stop_poller(&self, uuid: &str) {
        if let Some(h) = self.pollers.lock().ok().and_then(|mut p| p.remove(uuid)) {
            h.abort();
        }
    }

    fn restart_poller(&self, m: &Mapping) {
        self.stop_poller(&m.uuid);
        if !m.enabled || self.is_stopping() {
            return;
        }
        let me = self.me.clone();
        let mapping = m.clone();
        let h = tokio::spawn(poll(me, mapping));
        if let Ok(mut p) = self.pollers.lock() {
            p.insert(m.uuid.clone(), h);
        }
    }
}

/// The SQS event of a received batch, as Lambda builds it.
fn sqs_event(messages: &[Value], event_source_arn: &str, region: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut attrs = serde_json::Map::new();
            if let Some(a) = m.get("Attributes").and_then(Value::as_object) {
                for (k, v) in a {
                    attrs.insert(k.clone(), v.clone());
                }
            }
            let mut mattrs = serde_json::Map::new();
            if let Some(a) = m.get("MessageAttributes").and_then(Value::as_object) {
                for (k, v) in a {
                    let mut o = serde_json::Map::new();
                    if let Some(s) = v.get("StringValue") {
                        o.insert("stringValue".into(), s.clone());
                    }
                    if let Some(b) = v.get("BinaryValue") {
                        o.insert("binaryValue".into(), b.clone());
                    }
                    o.insert(
                        "stringListValues".into(),
                        v.get("StringListValues").cloned().unwrap_or(json!([])),
                    );
                    o.insert(
                        "binaryListValues".into(),
                        v.get("BinaryListValues").cloned().unwrap_or(json!([])),
                    );
                    o.insert(
                        "dataType".into(),
                        v.get("DataType").cloned().unwrap_or(Value::Null),
                    );
                    mattrs.insert(k.clone(), Value::Object(o));
                }
            }
            json!({
                "messageId": m.get("MessageId").cloned().unwrap_or(Value::Null),
                "receiptHandle": m.get("ReceiptHandle").cloned().unwrap_or(Value::Null),
                "body": m.get("Body").cloned().unwrap_or(Value::String(String::new())),
                "attributes": attrs,
                "messageAttributes": mattrs,
                "md5OfBody": m.get("MD5OfBody").cloned().unwrap_or(Value::Null),
                "eventSource": "aws:sqs",
                "eventSourceARN": event_source_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The receipt handles to delete after an invocation: all on success; with
/// `ReportBatchItemFailures`, all but the reported failures (none when the
/// report is malformed).
fn handles_to_delete(
    messages: &[Value],
    failed: bool,
    payload: &[u8],
    partial: bool,
) -> Vec<String> {
    let handle = |m: &Value| {
        m.get("ReceiptHandle")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if failed {
        return Vec::new();
    }
    if !partial {
        return messages.iter().filter_map(handle).collect();
    }
    let response: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let failures = match response.get("batchItemFailures") {
        None | Some(Value::Null) => return messages.iter().filter_map(handle).collect(),
        Some(Value::Array(a)) => a,
        Some(_) => return Vec::new(),
    };
    let mut failed_ids = Vec::new();
    for f in failures {
        match f.get("itemIdentifier").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => failed_ids.push(id.to_string()),
            _ => return Vec::new(),
        }
    }
    messages
        .iter()
        .filter(|m| {
            m.get("MessageId")
                .and_then(Value::as_str)
                .is_none_or(|id| !failed_ids.iter().any(|f| f == id))
        })
        .filter_map(handle)
        .collect()
}

/// One mapping's poller: receive, invoke, delete, until aborted.
async fn poll(me: Weak<Lambda>, m: Mapping) {
    let Some((queue_scope, queue_name)) = queue_of(&m.event_source_arn) else {
        return;
    };
    // Queue URLs name Baton's endpoint: wait for it.
    let url = {
        let Some(l) = me.upgrade() else { return };
        if l.endpoint().await.is_err() {
            return;
        }
        l.queue_url(&queue_scope, &queue_name)
    };
    let (slots, sqs) = {
        let Some(l) = me.upgrade() else { return };
        (
            Arc::new(Semaphore::new(l.config.max_workers_per_function.max(1))),
            l.sqs.clone(),
        )
    };
    let fn_key = function_key(&m.scope(), &m.function);
    let partial = m
        .function_response_types
        .iter()
        .any(|t| t == "ReportBatchItemFailures");
    let mut last_problem = String::new();
    let mut backoff = Duration::from_millis(500);
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let function = {
            let Some(l) = me.upgrade() else { return };
            if l.is_stopping() {
                return;
            }
            l.load_function(&fn_key)
        };
        let f = match function {
            Ok(Some(f)) => f,
            Ok(None) | Err(_) => {
                let problem = format!("function {} not found", m.function);
                if problem != last_problem {
                    tracing::warn!(mapping = %m.uuid, "event source mapping paused: {problem}");
                    last_problem = problem;
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        // Gather a batch: up to BatchSize within the batching window.
        let started = tokio::time::Instant::now();
        let window = Duration::from_secs(m.batching_window);
        let mut messages: Vec<Value> = Vec::new();
        let mut problem = None;
        loop {
            let want = (m.batch_size as usize - messages.len()).min(10);
            let wait = if messages.is_empty() {
                20
            } else {
                window.saturating_sub(started.elapsed()).as_secs().min(20)
            };
            let asked = tokio::time::Instant::now();
            let r = sqs
                .call(
                    &queue_scope,
                    "ReceiveMessage",
                    json!({
                        "QueueUrl": url,
                        "MaxNumberOfMessages": want,
                        "WaitTimeSeconds": wait,
                        "AttributeNames": ["All"],
                        "MessageSystemAttributeNames": ["All"],
                        "MessageAttributeNames": ["All"],
                    }),
                )
                .await;
            match r {
                Ok(v) => {
                    let got = v
                        .get("Messages")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    let empty = got.is_empty();
                    messages.extend(got);
                    if empty && messages.is_empty() && asked.elapsed() < Duration::from_millis(200)
                    {
                        // An answer without waiting: do not spin.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    if empty
                        || messages.len() >= m.batch_size as usize
                        || started.elapsed() >= window
                    {
                        break;
                    }
                }
                Err(e) => {
                    problem = Some(e.to_string());
                    break;
                }
            }
        }
        if let Some(p) = problem
            && messages.is_empty()
        {
            if p != last_problem {
                tracing::warn!(mapping = %m.uuid, queue = %m.event_source_arn, error = %p,
                    "event source mapping cannot receive from its queue; retrying");
                last_problem = p;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
            continue;
        }
        backoff = Duration::from_millis(500);
        if !last_problem.is_empty() {
            tracing::info!(mapping = %m.uuid, "event source mapping receiving again");
            last_problem.clear();
        }
        if messages.is_empty() {
            continue;
        }
        let event = sqs_event(&messages, &m.event_source_arn, &queue_scope.region);
        let me2 = me.clone();
        let sqs2 = sqs.clone();
        let scope2 = queue_scope.clone();
        let url2 = url.clone();
        let uuid = m.uuid.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let Some(l) = me2.upgrade() else { return };
            let arn = f.arn();
            let result = l.run(f, event.to_string().into_bytes(), true).await;
            drop(l);
            let to_delete = match &result {
                Ok((_, r)) => handles_to_delete(&messages, r.failed, &r.payload, partial),
                Err(_) => Vec::new(),
            };
            match &result {
                Ok((id, r)) if r.failed => tracing::info!(mapping = %uuid, function = %arn,
                    request_id = %id, "the function failed; the batch returns to the queue after its visibility timeout"),
                Err(e) => tracing::warn!(mapping = %uuid, function = %arn, error = %e,
                    "cannot invoke the function; the batch returns to the queue after its visibility timeout"),
                _ => {}
            }
            for chunk in to_delete.chunks(10) {
                let entries: Vec<Value> = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, h)| json!({"Id": i.to_string(), "ReceiptHandle": h}))
                    .collect();
                if let Err(e) = sqs2
                    .call(
                        &scope2,
                        "DeleteMessageBatch",
                        json!({"QueueUrl": url2, "Entries": entries}),
                    )
                    .await
                {
                    tracing::warn!(mapping = %uuid, error = %e, "cannot delete a processed batch");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_lambdas_shape() {
        let msgs = vec![json!({
            "MessageId": "m1", "ReceiptHandle": "r1", "MD5OfBody": "x", "Body": "hello",
            "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1", "SenderId": "A",
                           "ApproximateFirstReceiveTimestamp": "2"},
            "MessageAttributes": {"a": {"StringValue": "v", "DataType": "String"}},
        })];
        let e = sqs_event(&msgs, "arn:aws:sqs:us-east-1:000000000000:q", "us-east-1");
        let r = &e["Records"][0];
        assert_eq!(r["messageId"], "m1");
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(r["attributes"]["SenderId"], "A");
        assert_eq!(
            r["messageAttributes"]["a"],
            json!({"stringValue": "v", "stringListValues": [], "binaryListValues": [], "dataType": "String"})
        );
        assert_eq!(r["md5OfBody"], "x");
    }

    #[test]
    fn partial_batch_responses() {
        let msgs = vec![
            json!({"MessageId": "a", "ReceiptHandle": "ra"}),
            json!({"MessageId": "b", "ReceiptHandle": "rb"}),
        ];
        assert_eq!(
            handles_to_delete(&msgs, false, b"null", false),
            ["ra", "rb"]
        );
        assert!(handles_to_delete(&msgs, true, b"null", false).is_empty());
        assert_eq!(
            handles_to_delete(
                &msgs,
                false,
                br#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#,
                true
            ),
            ["ra"]
        );
        assert!(
            handles_to_delete(
                &msgs,
                false,
                br#"{"batchItemFailures":[{"itemIdentifier":""}]}"#,
                true
            )
            .is_empty()
        );
        assert_eq!(handles_to_delete(&msgs, false, b"{}", true), ["ra", "rb"]);
    }

    #[test]
    fn queue_arns() {
        let (s, n) = queue_of("arn:aws:sqs:eu-west-1:123456789012:my-queue").unwrap();
        assert_eq!(s, Scope::new("123456789012", "eu-west-1"));
        assert_eq!(n, "my-queue");
        assert!(queue_of("arn:aws:kinesis:eu-west-1:123456789012:stream/x").is_none());
    }
}
