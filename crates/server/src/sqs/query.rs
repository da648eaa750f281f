//! The SQS query protocol (API version 2012-11-05): flattened form
//! parameters (`Attribute.1.Name`, `MessageAttribute.1.Value.StringValue`,
//! `SendMessageBatchRequestEntry.1.Id`, ...) in, XML out.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use axum::http::StatusCode;
use axum::response::Response;
use baton_services::ServiceError;
use serde_json::{Map, Value};

use crate::xml::{self, element};

const XMLNS: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

/// How a member is flattened.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    /// `<wire>.N`
    List,
    /// `<wire>.N.Name` / `<wire>.N.Value`
    NameValueMap,
    /// `<wire>.N.Key` / `<wire>.N.Value`
    TagMap,
    /// `<wire>.N.Name` / `<wire>.N.Value.{DataType,StringValue,BinaryValue}`
    MessageAttributes,
    /// `<wire>.N.<member>`
    Entries(&'static [Member]),
}

struct Member {
    wire: &'static str,
    json: &'static str,
    kind: Kind,
}

const fn m(wire: &'static str, json: &'static str, kind: Kind) -> Member {
    Member { wire, json, kind }
}

const QUEUE_URL: Member = m("QueueUrl", "QueueUrl", Kind::Str);
const ENTRY_ID: Member = m("Id", "Id", Kind::Str);
const RECEIPT_HANDLE: Member = m("ReceiptHandle", "ReceiptHandle", Kind::Str);
const VISIBILITY_TIMEOUT: Member = m("VisibilityTimeout", "VisibilityTimeout", Kind::Int);

// What SendMessage and a SendMessageBatch entry share.
const MESSAGE_BODY: Member = m("MessageBody", "MessageBody", Kind::Str);
const DELAY_SECONDS: Member = m("DelaySeconds", "DelaySeconds", Kind::Int);
const MESSAGE_ATTRIBUTES: Member = m(
    "MessageAttribute",
    "MessageAttributes",
    Kind::MessageAttributes,
);
const MESSAGE_SYSTEM_ATTRIBUTES: Member = m(
    "MessageSystemAttribute",
    "MessageSystemAttributes",
    Kind::MessageAttributes,
);
const DEDUPLICATION_ID: Member = m(
    "MessageDeduplicationId",
    "MessageDeduplicationId",
    Kind::Str,
);
const GROUP_ID: Member = m("MessageGroupId", "MessageGroupId", Kind::Str);

const SEND_ENTRY: &[Member] = &[
    ENTRY_ID,
    MESSAGE_BODY,
    DELAY_SECONDS,
    MESSAGE_ATTRIBUTES,
    MESSAGE_SYSTEM_ATTRIBUTES,
    DEDUPLICATION_ID,
    GROUP_ID,
];

const DELETE_ENTRY: &[Member] = &[ENTRY_ID, RECEIPT_HANDLE];

const VISIBILITY_ENTRY: &[Member] = &[ENTRY_ID, RECEIPT_HANDLE, VISIBILITY_TIMEOUT];

fn members(action: &str) -> &'static [Member] {
    match action {
        "CreateQueue" => {
            const {
                &[
                    m("QueueName", "QueueName", Kind::Str),
                    m("Attribute", "Attributes", Kind::NameValueMap),
                    m("Tag", "tags", Kind::TagMap),
                ]
            }
        }
        "GetQueueUrl" => {
            const {
                &[
                    m("QueueName", "QueueName", Kind::Str),
                    m(
                        "QueueOwnerAWSAccountId",
                        "QueueOwnerAWSAccountId",
                        Kind::Str,
                    ),
                ]
            }
        }
        "GetQueueAttributes" => {
            const { &[QUEUE_URL, m("AttributeName", "AttributeNames", Kind::List)] }
        }
        "SetQueueAttributes" => {
            const { &[QUEUE_URL, m("Attribute", "Attributes", Kind::NameValueMap)] }
        }
        "ListQueues" => {
            const {
                &[
                    m("QueueNamePrefix", "QueueNamePrefix", Kind::Str),
                    m("NextToken", "NextToken", Kind::Str),
                    m("MaxResults", "MaxResults", Kind::Int),
                ]
            }
        }
        "ListDeadLetterSourceQueues" => {
            const {
                &[
                    QUEUE_URL,
                    m("NextToken", "NextToken", Kind::Str),
                    m("MaxResults", "MaxResults", Kind::Int),
                ]
            }
        }
        "TagQueue" => const { &[QUEUE_URL, m("Tag", "Tags", Kind::TagMap)] },
        "UntagQueue" => const { &[QUEUE_URL, m("TagKey", "TagKeys", Kind::List)] },
        "SendMessage" => {
            const {
                &[
                    QUEUE_URL,
                    MESSAGE_BODY,
                    DELAY_SECONDS,
                    MESSAGE_ATTRIBUTES,
                    MESSAGE_SYSTEM_ATTRIBUTES,
                    DEDUPLICATION_ID,
                    GROUP_ID,
                ]
            }
        }
        "SendMessageBatch" => {
            const {
                &[
                    QUEUE_URL,
                    m(
                        "SendMessageBatchRequestEntry",
                        "Entries",
                        Kind::Entries(SEND_ENTRY),
                    ),
                ]
            }
        }
        "ReceiveMessage" => {
            const {
                &[
                    QUEUE_URL,
                    m("AttributeName", "AttributeNames", Kind::List),
                    m(
                        "MessageSystemAttributeName",
                        "MessageSystemAttributeNames",
                        Kind::List,
                    ),
                    m("MessageAttributeName", "MessageAttributeNames", Kind::List),
                    m("MaxNumberOfMessages", "MaxNumberOfMessages", Kind::Int),
                    VISIBILITY_TIMEOUT,
                    m("WaitTimeSeconds", "WaitTimeSeconds", Kind::Int),
                    m(
                        "ReceiveRequestAttemptId",
                        "ReceiveRequestAttemptId",
                        Kind::Str,
                    ),
                ]
            }
        }
        "DeleteMessage" => const { &[QUEUE_URL, RECEIPT_HANDLE] },
        "DeleteMessageBatch" => {
            const {
                &[
                    QUEUE_URL,
                    m(
                        "DeleteMessageBatchRequestEntry",
                        "Entries",
                        Kind::Entries(DELETE_ENTRY),
                    ),
                ]
            }
        }
        "ChangeMessageVisibility" => const { &[QUEUE_URL, RECEIPT_HANDLE, VISIBILITY_TIMEOUT] },
        "ChangeMessageVisibilityBatch" => {
            const {
                &[
                    QUEUE_URL,
                    m(
                        "ChangeMessageVisibilityBatchRequestEntry",
                        "Entries",
                        Kind::Entries(VISIBILITY_ENTRY),
                    ),
                ]
            }
        }
        "DeleteQueue" | "PurgeQueue" | "ListQueueTags" | "AddPermission" | "RemovePermission" => {
            const { &[QUEUE_URL] }
        }
        _ => const { &[] },
    }
}

/// The indices `N` of `<prefix>N.` / `<prefix>N` keys, ascending.
fn indices(params: &HashMap<&str, &str>, prefix: &str) -> Vec<u32> {
    let mut out = BTreeSet::new();
    for k in params.keys() {
        if let Some(rest) = k.strip_prefix(prefix)
            && let Some(n) = rest.split('.').next()
            && let Ok(i) = n.parse::<u32>()
        {
            out.insert(i);
        }
    }
    out.into_iter().collect()
}

fn member_value(params: &HashMap<&str, &str>, prefix: &str, m: &Member) -> Option<Value> {
    let base = format!("{prefix}{}", m.wire);
    let get = |k: &str| params.get(k).map(|v| Value::String((*v).to_string()));
    match m.kind {
        Kind::Str => get(&base),
        Kind::Int => params
            .get(base.as_str())
            .map(|v| match v.trim().parse::<i64>() {
                Ok(i) => Value::from(i),
                Err(_) => Value::String((*v).to_string()),
            }),
        Kind::List => {
            let list: Vec<Value> = indices(params, &format!("{base}."))
                .into_iter()
                .filter_map(|i| get(&format!("{base}.{i}")))
                .collect();
            (!list.is_empty()).then_some(Value::Array(list))
        }
        Kind::NameValueMap | Kind::TagMap => {
            let key_name = if matches!(m.kind, Kind::TagMap) {
                "Key"
            } else {
                "Name"
            };
            let mut map = Map::new();
            for i in indices(params, &format!("{base}.")) {
                if let Some(k) = params.get(format!("{base}.{i}.{key_name}").as_str()) {
                    let v = params
                        .get(format!("{base}.{i}.Value").as_str())
                        .copied()
                        .unwrap_or("");
                    map.insert((*k).to_string(), Value::String(v.to_string()));
                }
            }
            (!map.is_empty()).then_some(Value::Object(map))
        }
        Kind::MessageAttributes => {
            let mut map = Map::new();
            for i in indices(params, &format!("{base}.")) {
                let Some(name) = params.get(format!("{base}.{i}.Name").as_str()) else {
                    continue;
                };
                let mut value = Map::new();
                for field in ["DataType", "StringValue", "BinaryValue"] {
                    if let Some(v) = params.get(format!("{base}.{i}.Value.{field}").as_str()) {
                        value.insert(field.to_string(), Value::String((*v).to_string()));
                    }
                }
                map.insert((*name).to_string(), Value::Object(value));
            }
            (!map.is_empty()).then_some(Value::Object(map))
        }
        Kind::Entries(fields) => {
            let list: Vec<Value> = indices(params, &format!("{base}."))
                .into_iter()
                .map(|i| {
                    let p = format!("{base}.{i}.");
                    let mut o = Map::new();
                    for f in fields {
                        if let Some(v) = member_value(params, &p, f) {
                            o.insert(f.json.to_string(), v);
                        }
                    }
                    Value::Object(o)
                })
                .collect();
            (!list.is_empty()).then_some(Value::Array(list))
        }
    }
}

/// The JSON-protocol input of a query request.
pub(super) fn input(action: &str, params: &[(String, String)]) -> Value {
    let map: HashMap<&str, &str> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut o = Map::new();
    for m in members(action) {
        if let Some(v) = member_value(&map, "", m) {
            o.insert(m.json.to_string(), v);
        }
    }
    Value::Object(o)
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The element name of one item of list `key` in `action`'s result.
fn item_name(action: &str, key: &str) -> String {
    match key {
        "QueueUrls" | "queueUrls" => "QueueUrl".into(),
        "Messages" => "Message".into(),
        "Failed" => "BatchResultErrorEntry".into(),
        "Successful" => format!("{action}ResultEntry"),
        other => other.into(),
    }
}

/// A map as flattened entries: `<item><key_name>k</key_name><Value>v</Value></item>`.
fn entries_xml(out: &mut String, item: &str, key_name: &str, map: &Map<String, Value>) {
    for (k, val) in map {
        let _ = write!(out, "<{item}>");
        element(out, key_name, k);
        element(out, "Value", &scalar_text(val));
        let _ = write!(out, "</{item}>");
    }
}

fn members_xml(out: &mut String, action: &str, o: &Map<String, Value>) {
    for (key, v) in o {
        match (key.as_str(), v) {
            ("Attributes", Value::Object(map)) => entries_xml(out, "Attribute", "Name", map),
            ("Tags", Value::Object(map)) => entries_xml(out, "Tag", "Key", map),
            ("MessageAttributes", Value::Object(map)) => {
                for (k, val) in map {
                    out.push_str("<MessageAttribute>");
                    element(out, "Name", k);
                    out.push_str("<Value>");
                    if let Value::Object(fields) = val {
                        for f in ["StringValue", "BinaryValue", "DataType"] {
                            if let Some(x) = fields.get(f) {
                                element(out, f, &scalar_text(x));
                            }
                        }
                    }
                    out.push_str("</Value></MessageAttribute>");
                }
            }
            (k, Value::Array(items)) => {
                let name = item_name(action, k);
                for item in items {
                    match item {
                        Value::Object(inner) => {
                            let _ = write!(out, "<{name}>");
                            members_xml(out, action, inner);
                            let _ = write!(out, "</{name}>");
                        }
                        other => element(out, &name, &scalar_text(other)),
                    }
                }
            }
            (k, Value::Object(inner)) => {
                let _ = write!(out, "<{k}>");
                members_xml(out, action, inner);
                let _ = write!(out, "</{k}>");
            }
            (_, Value::Null) => {}
            (k, other) => element(out, k, &scalar_text(other)),
        }
    }
}

/// Actions whose response has no result element.
fn has_result(action: &str) -> bool {
    !matches!(
        action,
        "DeleteMessage"
            | "DeleteQueue"
            | "PurgeQueue"
            | "SetQueueAttributes"
            | "TagQueue"
            | "UntagQueue"
            | "ChangeMessageVisibility"
            | "AddPermission"
            | "RemovePermission"
    )
}

/// A successful query response.
pub(super) fn ok(action: &str, v: &Value) -> Response {
    let result = has_result(action).then(|| {
        let mut out = String::with_capacity(512);
        if let Value::Object(o) = v {
            members_xml(&mut out, action, o);
        }
        out
    });
    xml::response(
        StatusCode::OK,
        xml::ok_document(XMLNS, action, result.as_deref(), &super::request_id()),
    )
}

/// An error in the query protocol.
pub(super) fn error(e: &ServiceError) -> Response {
    let code = e.query_code.as_deref().unwrap_or(&e.code);
    xml::response(
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        xml::error_document(XMLNS, e, code, "<Detail/>", &super::request_id()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn flattened_parameters() {
        let v = input(
            "SendMessageBatch",
            &params(&[
                ("QueueUrl", "http://h/1/q"),
                ("SendMessageBatchRequestEntry.2.Id", "b"),
                ("SendMessageBatchRequestEntry.2.MessageBody", "two"),
                ("SendMessageBatchRequestEntry.1.Id", "a"),
                ("SendMessageBatchRequestEntry.1.MessageBody", "one"),
                ("SendMessageBatchRequestEntry.1.DelaySeconds", "5"),
                (
                    "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name",
                    "k",
                ),
                (
                    "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType",
                    "String",
                ),
                (
                    "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue",
                    "v",
                ),
            ]),
        );
        assert_eq!(
            v,
            serde_json::json!({
                "QueueUrl": "http://h/1/q",
                "Entries": [
                    {"Id": "a", "MessageBody": "one", "DelaySeconds": 5,
                     "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
                    {"Id": "b", "MessageBody": "two"},
                ],
            })
        );
        let v = input(
            "CreateQueue",
            &params(&[
                ("QueueName", "q"),
                ("Attribute.1.Name", "DelaySeconds"),
                ("Attribute.1.Value", "3"),
                ("Tag.1.Key", "team"),
                ("Tag.1.Value", "x"),
            ]),
        );
        assert_eq!(
            v,
            serde_json::json!({"QueueName": "q", "Attributes": {"DelaySeconds": "3"}, "tags": {"team": "x"}})
        );
    }

    #[test]
    fn xml_rendering() {
        let mut out = String::new();
        members_xml(
            &mut out,
            "ReceiveMessage",
            serde_json::json!({"Messages": [{"MessageId": "m", "Body": "a<b>&\r\n",
                "Attributes": {"SentTimestamp": "1"}}]})
            .as_object()
            .expect("object"),
        );
        assert_eq!(
            out,
            "<Message><MessageId>m</MessageId><Body>a&lt;b&gt;&amp;&#xD;\n</Body>\
             <Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute></Message>"
        );
    }
}
