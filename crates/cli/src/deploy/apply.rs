//! Carries a [`Plan`] out against a running Baton, over HTTP only: SQS JSON,
//! SNS query, Baton's function routes and Lambda's event source mappings,
//! Step Functions JSON, then the apps registry. Every step is idempotent:
//! deploying again updates in place.

use std::collections::BTreeMap;

use hyper::Method;
use serde_json::{Value, json};

use super::plan::{Plan, QueuePlan, StateMachinePlan, SubscriptionPlan};
use crate::client::{Client, error_code, xml_blocks, xml_text};

/// Where progress lines go.
#[derive(Debug, Clone, Copy)]
pub struct Log {
    pub to_stderr: bool,
}

impl Log {
    pub fn line(&self, text: &str) {
        if self.to_stderr {
            eprintln!("{text}");
        } else {
            crate::out(text);
        }
    }

    fn step(&self, what: &str, name: &str, status: &str, detail: &str) {
        self.line(&format!("  {what:<13} {name:<40} {status:<9} {detail}"));
    }
}

/// Creates or updates the queues (dead-letter targets first); answers each
/// queue's URL as Baton gave it, by logical id.
pub async fn queues(
    client: &Client,
    plan: &Plan,
    log: Log,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut urls = BTreeMap::new();
    let mut left: Vec<&QueuePlan> = plan.queues.iter().collect();
    while !left.is_empty() {
        // A queue goes once no queue it refers to (by ARN) is left.
        let ready: Vec<&QueuePlan> = left
            .iter()
            .copied()
            .filter(|q| {
                !left.iter().any(|other| {
                    other.logical_id != q.logical_id
                        && q.attributes.values().any(|v| v.contains(&other.arn))
                })
            })
            .collect();
        // A cycle: take them in order.
        let ready = if ready.is_empty() {
            left.clone()
        } else {
            ready
        };
        for q in &ready {
            let url = queue(client, q, log).await?;
            urls.insert(q.logical_id.clone(), url);
        }
        left.retain(|q| !ready.iter().any(|r| r.logical_id == q.logical_id));
    }
    Ok(urls)
}

async fn queue(client: &Client, q: &QueuePlan, log: Log) -> anyhow::Result<String> {
    let found = client
        .json(
            "sqs",
            "AmazonSQS.GetQueueUrl",
            &json!({ "QueueName": q.name }),
        )
        .await;
    let url = match found {
        Ok(v) => v
            .get("QueueUrl")
            .and_then(Value::as_str)
            .map(str::to_string),
        Err(e)
            if matches!(
                error_code(&e),
                Some("QueueDoesNotExist" | "AWS.SimpleQueueService.NonExistentQueue")
            ) =>
        {
            None
        }
        Err(e) => return Err(e.context(format!("queue {}", q.name))),
    };
    let Some(url) = url else {
        let mut input = json!({ "QueueName": q.name, "Attributes": q.attributes });
        if !q.tags.is_empty() {
            input["tags"] = json!(q.tags);
        }
        let v = client
            .json("sqs", "AmazonSQS.CreateQueue", &input)
            .await
            .map_err(|e| e.context(format!("cannot create the queue {}", q.name)))?;
        let url = v
            .get("QueueUrl")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow::anyhow!("CreateQueue {} answered no QueueUrl", q.name))?
            .to_string();
        log.step("queue", &q.logical_id, "created", &url);
        return Ok(url);
    };
    let current = client
        .json(
            "sqs",
            "AmazonSQS.GetQueueAttributes",
            &json!({ "QueueUrl": url, "AttributeNames": ["All"] }),
        )
        .await
        .map_err(|e| e.context(format!("queue {}", q.name)))?;
    let current = current.get("Attributes").cloned().unwrap_or_default();
    let changed: BTreeMap<&String, &String> = q
        .attributes
        .iter()
        .filter(|(k, v)| {
            k.as_str() != "FifoQueue"
                && !same_attribute(current.get(k.as_str()).and_then(Value::as_str), v)
        })
        .collect();
    let mut status = "unchanged";
    if !changed.is_empty() {
        client
            .json(
                "sqs",
                "AmazonSQS.SetQueueAttributes",
                &json!({ "QueueUrl": url, "Attributes": changed }),
            )
            .await
            .map_err(|e| e.context(format!("cannot update the queue {}", q.name)))?;
        status = "updated";
    }
    if !q.tags.is_empty() {
        client
            .json(
                "sqs",
                "AmazonSQS.TagQueue",
                &json!({ "QueueUrl": url, "Tags": q.tags }),
            )
            .await
            .map_err(|e| e.context(format!("cannot tag the queue {}", q.name)))?;
    }
    log.step("queue", &q.logical_id, status, &url);
    Ok(url)
}

/// Whether an attribute's current value equals the wanted one (JSON
/// policies compared as JSON, numbers and strings alike).
fn same_attribute(current: Option<&str>, wanted: &str) -> bool {
    let Some(current) = current else {
        return false;
    };
    if current == wanted {
        return true;
    }
    let norm = |s: &str| -> Option<BTreeMap<String, String>> {
        let Value::Object(m) = serde_json::from_str::<Value>(s).ok()? else {
            return None;
        };
        Some(
            m.into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        super::cfn::scalar_text(&v).unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect(),
        )
    };
    matches!((norm(current), norm(wanted)), (Some(a), Some(b)) if a == b)
}

/// Everything after the queues.
pub async fn rest(client: &Client, plan: &Plan, log: Log) -> anyhow::Result<()> {
    for t in &plan.topics {
        let mut params: Vec<(&str, String)> = vec![
            ("Action", "CreateTopic".into()),
            ("Version", "2010-03-31".into()),
            ("Name", t.name.clone()),
        ];
        if let Some(fifo) = t.attributes.get("FifoTopic") {
            params.push(("Attributes.entry.1.key", "FifoTopic".into()));
            params.push(("Attributes.entry.1.value", fifo.clone()));
        }
        let keys: Vec<String> = (1..=t.tags.len())
            .map(|i| format!("Tags.member.{i}.Key"))
            .collect();
        let values: Vec<String> = (1..=t.tags.len())
            .map(|i| format!("Tags.member.{i}.Value"))
            .collect();
        for (i, (k, v)) in t.tags.iter().enumerate() {
            params.push((&keys[i], k.clone()));
            params.push((&values[i], v.clone()));
        }
        let xml = client
            .query("sns", &params)
            .await
            .map_err(|e| e.context(format!("cannot create the topic {}", t.name)))?;
        let arn = xml_text(&xml, "TopicArn").unwrap_or_else(|| t.arn.clone());
        for (k, v) in &t.attributes {
            if k == "FifoTopic" {
                continue;
            }
            client
                .query(
                    "sns",
                    &[
                        ("Action", "SetTopicAttributes".into()),
                        ("Version", "2010-03-31".into()),
                        ("TopicArn", arn.clone()),
                        ("AttributeName", k.clone()),
                        ("AttributeValue", v.clone()),
                    ],
                )
                .await
                .map_err(|e| e.context(format!("cannot set {k} of the topic {}", t.name)))?;
        }
        log.step("topic", &t.logical_id, "deployed", &arn);
    }

    for a in &plan.activities {
        client
            .json(
                "states",
                "AWSStepFunctions.CreateActivity",
                &json!({ "name": a.name }),
            )
            .await
            .map_err(|e| e.context(format!("cannot create the activity {}", a.name)))?;
        log.step("activity", &a.name, "deployed", &a.arn);
    }

    for f in &plan.functions {
        let mut body = json!({
            "FunctionName": f.name,
            "Runtime": f.runtime,
            "Handler": f.handler,
            "CodeDirectory": plan.directory.to_string_lossy(),
            "Environment": { "Variables": f.environment },
            "Timeout": f.timeout,
            "MemorySize": f.memory_size,
        });
        if let Some(d) = &f.description {
            body["Description"] = json!(d);
        }
        client
            .rest(
                Method::PUT,
                &format!("/_baton/v1/functions/{}", encode(&f.name)),
                "lambda",
                Some(&body),
            )
            .await
            .map_err(|e| e.context(format!("cannot deploy the function {}", f.name)))?;
        log.step("function", &f.key, "deployed", &f.name);
    }

    for m in &plan.mappings {
        let existing = client
            .rest(
                Method::GET,
                &format!(
                    "/2015-03-31/event-source-mappings/?FunctionName={}",
                    encode(&m.function)
                ),
                "lambda",
                None,
            )
            .await
            .map_err(|e| {
                e.context(format!(
                    "cannot list the event source mappings of {}",
                    m.function
                ))
            })?;
        let found = existing
            .get("EventSourceMappings")
            .and_then(Value::as_array)
            .and_then(|list| {
                list.iter()
                    .find(|x| {
                        x.get("EventSourceArn").and_then(Value::as_str) == Some(&m.event_source_arn)
                    })
                    .cloned()
            });
        let queue = m.event_source_arn.rsplit(':').next().unwrap_or("");
        let label = format!("{} <- {queue}", m.function);
        let mut body = json!({
            "EventSourceArn": m.event_source_arn,
            "FunctionName": m.function,
            "BatchSize": m.batch_size,
            "Enabled": m.enabled,
        });
        if let Some(w) = m.maximum_batching_window {
            body["MaximumBatchingWindowInSeconds"] = json!(w);
        }
        if !m.function_response_types.is_empty() {
            body["FunctionResponseTypes"] = json!(m.function_response_types);
        }
        match found {
            None => {
                client
                    .rest(
                        Method::POST,
                        "/2015-03-31/event-source-mappings/",
                        "lambda",
                        Some(&body),
                    )
                    .await
                    .map_err(|e| e.context(format!("cannot map {queue} to {}", m.function)))?;
                log.step(
                    "sqs mapping",
                    &label,
                    "created",
                    &format!("batch size {}", m.batch_size),
                );
            }
            Some(x) => {
                let uuid = x
                    .get("UUID")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let enabled_now = !matches!(
                    x.get("State").and_then(Value::as_str),
                    Some("Disabled" | "Disabling")
                );
                let same = x.get("BatchSize").and_then(Value::as_u64) == Some(m.batch_size)
                    && enabled_now == m.enabled;
                if same || uuid.is_empty() {
                    log.step(
                        "sqs mapping",
                        &label,
                        "unchanged",
                        &format!("batch size {}", m.batch_size),
                    );
                } else {
                    let mut update = body.clone();
                    if let Some(o) = update.as_object_mut() {
                        o.remove("EventSourceArn");
                    }
                    client
                        .rest(
                            Method::PUT,
                            &format!("/2015-03-31/event-source-mappings/{}", encode(&uuid)),
                            "lambda",
                            Some(&update),
                        )
                        .await
                        .map_err(|e| e.context(format!("cannot update the mapping {uuid}")))?;
                    log.step(
                        "sqs mapping",
                        &label,
                        "updated",
                        &format!("batch size {}", m.batch_size),
                    );
                }
            }
        }
    }

    for s in &plan.subscriptions {
        subscription(client, s, log).await?;
    }

    for sm in &plan.state_machines {
        state_machine(client, sm, log).await?;
    }
    Ok(())
}

async fn subscription(client: &Client, s: &SubscriptionPlan, log: Log) -> anyhow::Result<()> {
    let mut existing = None;
    let mut token: Option<String> = None;
    loop {
        let mut params: Vec<(&str, String)> = vec![
            ("Action", "ListSubscriptionsByTopic".into()),
            ("Version", "2010-03-31".into()),
            ("TopicArn", s.topic_arn.clone()),
        ];
        if let Some(t) = &token {
            params.push(("NextToken", t.clone()));
        }
        let xml = client.query("sns", &params).await.map_err(|e| {
            e.context(format!(
                "{}: cannot list the subscriptions of {}",
                s.origin, s.topic_arn
            ))
        })?;
        for m in xml_blocks(&xml, "member") {
            if xml_text(m, "Protocol").as_deref() == Some(s.protocol.as_str())
                && xml_text(m, "Endpoint").as_deref() == Some(s.endpoint.as_str())
            {
                existing = xml_text(m, "SubscriptionArn");
            }
        }
        token = xml_text(&xml, "NextToken").filter(|t| !t.is_empty());
        if existing.is_some() || token.is_none() {
            break;
        }
    }
    let topic = s.topic_arn.rsplit(':').next().unwrap_or("");
    let target = s.endpoint.rsplit(':').next().unwrap_or("");
    let label = format!("{topic} -> {target}");
    match existing {
        Some(arn) if arn.starts_with("arn:") => {
            let xml = client
                .query(
                    "sns",
                    &[
                        ("Action", "GetSubscriptionAttributes".into()),
                        ("Version", "2010-03-31".into()),
                        ("SubscriptionArn", arn.clone()),
                    ],
                )
                .await
                .map_err(|e| {
                    e.context(format!("{}: cannot read the subscription {arn}", s.origin))
                })?;
            let mut current = BTreeMap::new();
            for entry in xml_blocks(&xml, "entry") {
                if let (Some(k), Some(v)) = (xml_text(entry, "key"), xml_text(entry, "value")) {
                    current.insert(k, v);
                }
            }
            let mut status = "unchanged";
            for (k, v) in &s.attributes {
                if same_attribute(current.get(k).map(String::as_str), v) {
                    continue;
                }
                client
                    .query(
                        "sns",
                        &[
                            ("Action", "SetSubscriptionAttributes".into()),
                            ("Version", "2010-03-31".into()),
                            ("SubscriptionArn", arn.clone()),
                            ("AttributeName", k.clone()),
                            ("AttributeValue", v.clone()),
                        ],
                    )
                    .await
                    .map_err(|e| e.context(format!("{}: cannot set {k} of {arn}", s.origin)))?;
                status = "updated";
            }
            log.step(&format!("{} sub", s.protocol), &label, status, &arn);
        }
        _ => {
            let mut params: Vec<(&str, String)> = vec![
                ("Action", "Subscribe".into()),
                ("Version", "2010-03-31".into()),
                ("TopicArn", s.topic_arn.clone()),
                ("Protocol", s.protocol.clone()),
                ("Endpoint", s.endpoint.clone()),
                ("ReturnSubscriptionArn", "true".into()),
            ];
            let names: Vec<(String, String)> = (1..=s.attributes.len())
                .map(|i| {
                    (
                        format!("Attributes.entry.{i}.key"),
                        format!("Attributes.entry.{i}.value"),
                    )
                })
                .collect();
            for (i, (k, v)) in s.attributes.iter().enumerate() {
                params.push((&names[i].0, k.clone()));
                params.push((&names[i].1, v.clone()));
            }
            let xml = client.query("sns", &params).await.map_err(|e| {
                e.context(format!(
                    "{}: cannot subscribe {} to {}",
                    s.origin, s.endpoint, s.topic_arn
                ))
            })?;
            let arn = xml_text(&xml, "SubscriptionArn").unwrap_or_default();
            log.step(&format!("{} sub", s.protocol), &label, "created", &arn);
        }
    }
    Ok(())
}

async fn state_machine(client: &Client, sm: &StateMachinePlan, log: Log) -> anyhow::Result<()> {
    let definition = sm.definition.to_string();
    let current = client
        .json(
            "states",
            "AWSStepFunctions.DescribeStateMachine",
            &json!({ "stateMachineArn": sm.arn }),
        )
        .await;
    let tags: Vec<Value> = sm
        .tags
        .iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect();
    match current {
        Err(e) if error_code(&e) == Some("StateMachineDoesNotExist") => {
            let mut input = json!({
                "name": sm.name,
                "definition": definition,
                "roleArn": sm.role_arn,
                "type": sm.kind,
            });
            if !tags.is_empty() {
                input["tags"] = json!(tags);
            }
            client
                .json("states", "AWSStepFunctions.CreateStateMachine", &input)
                .await
                .map_err(|e| {
                    e.context(format!(
                        "cannot create the state machine {} ({})",
                        sm.key, sm.name
                    ))
                })?;
            log.step("state machine", &sm.key, "created", &sm.arn);
        }
        Err(e) => return Err(e.context(format!("state machine {}", sm.key))),
        Ok(current) => {
            let kind = current
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("STANDARD");
            anyhow::ensure!(
                kind == sm.kind,
                "state machine {} ({}) exists as {kind}; its type cannot change to {}: delete it first \
                 (aws stepfunctions delete-state-machine --state-machine-arn {})",
                sm.key,
                sm.name,
                sm.kind,
                sm.arn
            );
            let same_definition = current
                .get("definition")
                .and_then(Value::as_str)
                .and_then(|d| serde_json::from_str::<Value>(d).ok())
                .is_some_and(|d| d == sm.definition);
            let same_role =
                current.get("roleArn").and_then(Value::as_str) == Some(sm.role_arn.as_str());
            let status = if same_definition && same_role {
                "unchanged"
            } else {
                client
                    .json(
                        "states",
                        "AWSStepFunctions.UpdateStateMachine",
                        &json!({
                            "stateMachineArn": sm.arn,
                            "definition": definition,
                            "roleArn": sm.role_arn,
                        }),
                    )
                    .await
                    .map_err(|e| {
                        e.context(format!(
                            "cannot update the state machine {} ({})",
                            sm.key, sm.name
                        ))
                    })?;
                "updated"
            };
            if !tags.is_empty() {
                client
                    .json(
                        "states",
                        "AWSStepFunctions.TagResource",
                        &json!({ "resourceArn": sm.arn, "tags": tags }),
                    )
                    .await
                    .map_err(|e| e.context(format!("cannot tag the state machine {}", sm.key)))?;
            }
            log.step("state machine", &sm.key, status, &sm.arn);
        }
    }
    Ok(())
}

/// Records the app in Baton's registry.
pub async fn record(client: &Client, plan: &Plan) -> anyhow::Result<()> {
    let mut resources: Vec<Value> = Vec::new();
    for q in &plan.queues {
        resources.push(json!({"logicalId": q.logical_id, "type": "AWS::SQS::Queue", "physicalId": q.url, "arn": q.arn}));
    }
    for t in &plan.topics {
        resources.push(json!({"logicalId": t.logical_id, "type": "AWS::SNS::Topic", "physicalId": t.arn, "arn": t.arn}));
    }
    for a in &plan.activities {
        resources.push(json!({"logicalId": a.name, "type": "AWS::StepFunctions::Activity", "physicalId": a.arn, "arn": a.arn}));
    }
    for s in &plan.subscriptions {
        resources.push(json!({
            "logicalId": s.origin, "type": "AWS::SNS::Subscription",
            "physicalId": format!("{} -> {}", s.topic_arn, s.endpoint),
        }));
    }
    for m in &plan.mappings {
        resources.push(json!({
            "logicalId": format!("{} <- {}", m.function, m.event_source_arn),
            "type": "AWS::Lambda::EventSourceMapping",
            "physicalId": m.event_source_arn,
        }));
    }
    let body = json!({
        "stage": plan.stage,
        "directory": plan.directory.to_string_lossy(),
        "stateMachines": plan.state_machines.iter().map(|s| json!({
            "key": s.key, "name": s.name, "arn": s.arn, "type": s.kind,
        })).collect::<Vec<_>>(),
        "functions": plan.functions.iter().map(|f| json!({
            "key": f.key, "name": f.name, "arn": f.arn,
        })).collect::<Vec<_>>(),
        "resources": resources,
    });
    client
        .rest(
            Method::PUT,
            &format!("/_baton/v1/apps/{}", encode(&plan.service)),
            "baton",
            Some(&body),
        )
        .await
        .map_err(|e| e.context(format!("cannot record the app {}", plan.service)))?;
    Ok(())
}

/// Percent-encodes a path segment or query value (`:` kept, for ARNs).
pub fn encode(s: &str) -> String {
    crate::client::percent_encode(s, b":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_compare_as_json() {
        assert!(same_attribute(Some("30"), "30"));
        assert!(!same_attribute(None, "30"));
        assert!(same_attribute(
            Some(r#"{"deadLetterTargetArn":"arn:x","maxReceiveCount":3}"#),
            r#"{"maxReceiveCount":"3","deadLetterTargetArn":"arn:x"}"#
        ));
        assert!(!same_attribute(Some("31"), "30"));
        assert_eq!(encode("a b/c:d"), "a%20b%2Fc:d");
    }
}
