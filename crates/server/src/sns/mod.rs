//! The SNS query protocol (form-encoded requests, XML answers).
//!
//! A request's flattened parameters (`Attributes.entry.1.key`,
//! `Tags.member.1.Key`, `MessageAttributes.entry.1.Value.DataType`, ...)
//! become the JSON-protocol input of [`baton_services::sns::Sns`]; its
//! JSON output becomes AWS's XML (`<XResponse><XResult>...`), its errors
//! `<ErrorResponse><Error><Type>Sender</Type><Code>...`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use baton_services::{AwsService, Scope, ServiceError};
use serde_json::{Map, Value};

use crate::AppState;
use crate::xml::{self, escape};

const XMLNS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

/// Actions whose answer has a `<XResult>` element.
const WITH_RESULT: &[&str] = &[
    "CreateTopic",
    "ListTopics",
    "GetTopicAttributes",
    "Subscribe",
    "ConfirmSubscription",
    "ListSubscriptions",
    "ListSubscriptionsByTopic",
    "GetSubscriptionAttributes",
    "Publish",
    "PublishBatch",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
];

/// One SNS query-protocol request.
pub async fn handle_query(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    params: Vec<(String, String)>,
) -> Response {
    let request_id = baton_engine::control::uuid_v4();
    let caller = match state.authorize("sns", method, uri, headers, body) {
        Ok(c) => c,
        Err(e) => return error_response(&e, &request_id),
    };
    let Some(services) = state.services() else {
        return error_response(
            &ServiceError::internal("SNS is not running in this server"),
            &request_id,
        );
    };
    let action = crate::query_action(&params);
    if action.is_empty() {
        return error_response(
            &ServiceError::client("MissingAction", "Missing Action parameter"),
            &request_id,
        );
    }
    let input = params_to_json(&params);
    let scope = Scope::new(caller.account, caller.region);
    tracing::debug!(action = %action, region = %scope.region, account = %scope.account, "sns request");
    match services.sns.call(&scope, action, input).await {
        Ok(out) => ok_response(action, &out, &request_id),
        Err(e) => {
            tracing::debug!(action = %action, error = %e.code, message = %e.message, "sns request failed");
            error_response(&e, &request_id)
        }
    }
}

// ----- request: flattened parameters → JSON --------------------------------------

enum Node {
    Leaf(String),
    Branch(BTreeMap<String, Node>),
}

/// The flattened query parameters (without `Action` and `Version`) as a
/// JSON-protocol input: `X.member.N` → list, `X.entry.N.{key,value}` (or
/// `{Name,Value}`) → map, `A.B` → nested object.
pub fn params_to_json(params: &[(String, String)]) -> Value {
    let mut root = BTreeMap::new();
    for (k, v) in params {
        if k == "Action" || k == "Version" {
            continue;
        }
        insert(&mut root, k.split('.').collect::<Vec<_>>().as_slice(), v);
    }
    convert_branch(&root)
}

fn insert(node: &mut BTreeMap<String, Node>, path: &[&str], value: &str) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        node.insert((*first).to_string(), Node::Leaf(value.to_string()));
        return;
    }
    let child = node
        .entry((*first).to_string())
        .or_insert_with(|| Node::Branch(BTreeMap::new()));
    if let Node::Leaf(_) = child {
        *child = Node::Branch(BTreeMap::new());
    }
    if let Node::Branch(m) = child {
        insert(m, rest, value);
    }
}

fn convert(node: &Node) -> Value {
    match node {
        Node::Leaf(s) => Value::String(s.clone()),
        Node::Branch(m) => convert_branch(m),
    }
}

fn indexed(m: &BTreeMap<String, Node>) -> Vec<(u64, &Node)> {
    let mut items: Vec<(u64, &Node)> = m
        .iter()
        .filter_map(|(k, v)| k.parse::<u64>().ok().map(|i| (i, v)))
        .collect();
    items.sort_by_key(|(i, _)| *i);
    items
}

fn convert_branch(m: &BTreeMap<String, Node>) -> Value {
    if m.len() == 1 {
        if let Some(Node::Branch(items)) = m.get("member") {
            return Value::Array(
                indexed(items)
                    .into_iter()
                    .map(|(_, n)| convert(n))
                    .collect(),
            );
        }
        if let Some(Node::Branch(items)) = m.get("entry") {
            let mut out = Map::new();
            for (_, entry) in indexed(items) {
                let Node::Branch(e) = entry else {
                    continue;
                };
                let key = e.get("key").or_else(|| e.get("Name"));
                let value = e.get("value").or_else(|| e.get("Value"));
                if let Some(Node::Leaf(k)) = key {
                    out.insert(k.clone(), value.map(convert).unwrap_or(Value::Null));
                }
            }
            return Value::Object(out);
        }
    }
    let mut out = Map::new();
    for (k, v) in m {
        out.insert(k.clone(), convert(v));
    }
    Value::Object(out)
}

// ----- response: JSON → XML ----------------------------------------------------------

fn scalar(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => escape(out, s),
        Value::Null => {}
        other => escape(out, &other.to_string()),
    }
}

/// `<name>value</name>`; `Attributes` objects are maps (`entry`/`key`/
/// `value`), arrays are `member` lists.
fn element(name: &str, v: &Value, out: &mut String) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    match v {
        Value::Object(m) if name == "Attributes" => {
            for (k, val) in m {
                out.push_str("<entry><key>");
                escape(out, k);
                out.push_str("</key><value>");
                scalar(val, out);
                out.push_str("</value></entry>");
            }
        }
        Value::Object(m) => {
            for (k, val) in m {
                element(k, val, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(m) => {
                        out.push_str("<member>");
                        for (k, val) in m {
                            element(k, val, out);
                        }
                        out.push_str("</member>");
                    }
                    other => {
                        out.push_str("<member>");
                        scalar(other, out);
                        out.push_str("</member>");
                    }
                }
            }
        }
        other => scalar(other, out),
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut resp = xml::response(status, body);
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

/// An action's answer as XML.
pub fn render_ok(action: &str, out: &Value, request_id: &str) -> String {
    let result = WITH_RESULT.contains(&action).then(|| {
        let mut s = String::with_capacity(256);
        if let Value::Object(members) = out {
            for (k, v) in members {
                element(k, v, &mut s);
            }
        }
        s
    });
    xml::ok_document(XMLNS, action, result.as_deref(), request_id)
}

fn ok_response(action: &str, out: &Value, request_id: &str) -> Response {
    xml_response(
        StatusCode::OK,
        render_ok(action, out, request_id),
        request_id,
    )
}

/// An error as SNS's XML.
pub fn render_error(e: &ServiceError, request_id: &str) -> String {
    xml::error_document(XMLNS, e, &e.code, "", request_id)
}

fn error_response(e: &ServiceError, request_id: &str) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    xml_response(status, render_error(e, request_id), request_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn flattened_params_become_json() {
        let v = params_to_json(&p(&[
            ("Action", "Publish"),
            ("Version", "2010-03-31"),
            ("TopicArn", "arn:aws:sns:us-east-1:1:t"),
            ("Message", "hi"),
            ("MessageAttributes.entry.2.Name", "b"),
            ("MessageAttributes.entry.2.Value.DataType", "Binary"),
            ("MessageAttributes.entry.2.Value.BinaryValue", "AAE="),
            ("MessageAttributes.entry.1.Name", "a"),
            ("MessageAttributes.entry.1.Value.DataType", "String"),
            ("MessageAttributes.entry.1.Value.StringValue", "x"),
        ]));
        assert_eq!(
            v,
            json!({"Message": "hi", "MessageAttributes": {
                "a": {"DataType": "String", "StringValue": "x"},
                "b": {"DataType": "Binary", "BinaryValue": "AAE="}},
                "TopicArn": "arn:aws:sns:us-east-1:1:t"})
        );
        let v = params_to_json(&p(&[
            ("Name", "t"),
            ("Attributes.entry.1.key", "DisplayName"),
            ("Attributes.entry.1.value", "D"),
            ("Tags.member.10.Key", "k10"),
            ("Tags.member.10.Value", "v10"),
            ("Tags.member.2.Key", "k2"),
            ("Tags.member.2.Value", "v2"),
            ("TagKeys.member.1", "z"),
        ]));
        assert_eq!(v["Attributes"], json!({"DisplayName": "D"}));
        assert_eq!(
            v["Tags"],
            json!([{"Key": "k2", "Value": "v2"}, {"Key": "k10", "Value": "v10"}])
        );
        assert_eq!(v["TagKeys"], json!(["z"]));
        let v = params_to_json(&p(&[
            ("PublishBatchRequestEntries.member.1.Id", "a"),
            ("PublishBatchRequestEntries.member.1.Message", "m"),
            (
                "PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Name",
                "k",
            ),
            (
                "PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.DataType",
                "String",
            ),
            (
                "PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.StringValue",
                "v",
            ),
        ]));
        assert_eq!(
            v["PublishBatchRequestEntries"],
            json!([{"Id": "a", "Message": "m",
                    "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}}])
        );
    }

    #[test]
    fn json_becomes_xml() {
        let x = render_ok(
            "ListTopics",
            &json!({"Topics": [{"TopicArn": "a&b"}], "NextToken": "t"}),
            "rid",
        );
        assert_eq!(
            x,
            "<?xml version=\"1.0\"?>\n<ListTopicsResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><ListTopicsResult><Topics><member><TopicArn>a&amp;b</TopicArn></member></Topics><NextToken>t</NextToken></ListTopicsResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></ListTopicsResponse>"
        );
        let x = render_ok(
            "GetTopicAttributes",
            &json!({"Attributes": {"k": "<v>"}}),
            "r",
        );
        assert!(x.contains(
            "<Attributes><entry><key>k</key><value>&lt;v&gt;</value></entry></Attributes>"
        ));
        let x = render_ok("DeleteTopic", &json!({}), "r");
        assert!(!x.contains("Result"));
        let e = ServiceError::client("NotFound", "Topic does not exist").with_status(404);
        assert_eq!(
            render_error(&e, "r"),
            "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        );
    }
}
