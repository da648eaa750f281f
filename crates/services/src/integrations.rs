//! The Step Functions integrations of the built-in services:
//! `arn:aws:states:::sqs:sendMessage`, `sns:publish`, `lambda:invoke` (each
//! request-response and `.waitForTaskToken`), bare Lambda function ARNs,
//! and the `aws-sdk:sqs:*`, `aws-sdk:sns:*`, `aws-sdk:lambda:*` forms.
//!
//! Results and errors take AWS's recorded shapes: the optimized
//! integrations add the Java SDK's `SdkHttpMetadata`/`SdkResponseMetadata`
//! and name errors `SQS.<Exception>`, `SNS.<Exception>`,
//! `Lambda.<Exception>` with the SDK's cause text; `aws-sdk:*` names them
//! `Sqs.`, `Sns.`, `Lambda.`. A function's own error becomes the task's
//! error (`errorType`, else `Lambda.Unknown`) with the error payload as its
//! cause.
//!
//! Dispatch is at-least-once: after a crash between commit and dispatch a
//! task runs again (a message may be sent twice, as with any SQS producer).

use std::sync::Arc;

use baton_engine::Engine;
use baton_engine::runtime::{BoxFuture, Integration, Reporter, TaskInvocation};
use serde_json::{Map, Value, json};

use crate::{AwsService, FunctionInvoker, InvocationType, Scope, ServiceError, Services};

/// The integrations, over the services.
pub struct Integrations {
    services: Arc<Services>,
}

impl Integrations {
    pub fn new(services: Arc<Services>) -> Self {
        Self { services }
    }
}

/// What a Task's `Resource` asks of the services.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// `arn:aws:states:::<service>:<action>` (optimized).
    Optimized {
        service: Svc,
        action: String,
        wait: bool,
    },
    /// `arn:aws:states:::aws-sdk:<service>:<action>`.
    Sdk {
        service: Svc,
        action: String,
        wait: bool,
    },
    /// `arn:aws:lambda:<region>:<account>:function:<name>`.
    Function { arn: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Svc {
    Sqs,
    Sns,
    Lambda,
}

impl Svc {
    fn parse(s: &str) -> Option<Svc> {
        match s {
            "sqs" => Some(Svc::Sqs),
            "sns" => Some(Svc::Sns),
            "lambda" => Some(Svc::Lambda),
            _ => None,
        }
    }

    /// The Java SDK v2 service id `aws-sdk:*` errors are named by.
    fn sdk_name(self) -> &'static str {
        match self {
            Svc::Sqs => "Sqs",
            Svc::Sns => "Sns",
            Svc::Lambda => "Lambda",
        }
    }
}

fn parse_target(resource: &str) -> Option<Target> {
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" {
        return None;
    }
    match parts[2] {
        "lambda" => {
            let rest = parts[5];
            rest.starts_with("function:").then(|| Target::Function {
                arn: resource.to_string(),
            })
        }
        "states" if parts[3].is_empty() && parts[4].is_empty() => {
            let rest = parts[5];
            let (rest, wait) = match rest.strip_suffix(".waitForTaskToken") {
                Some(r) => (r, true),
                None => (rest, false),
            };
            if let Some(sdk) = rest.strip_prefix("aws-sdk:") {
                let (svc, action) = sdk.split_once(':')?;
                return Some(Target::Sdk {
                    service: Svc::parse(svc)?,
                    action: action.to_string(),
                    wait,
                });
            }
            let (svc, action) = rest.split_once(':')?;
            let service = Svc::parse(svc)?;
            let known = matches!(
                (service, action),
                (Svc::Sqs, "sendMessage") | (Svc::Sns, "publish") | (Svc::Lambda, "invoke")
            );
            known.then(|| Target::Optimized {
                service,
                action: action.to_string(),
                wait,
            })
        }
        _ => None,
    }
}

impl Integration for Integrations {
    fn accepts(&self, resource: &str) -> bool {
        parse_target(resource).is_some()
    }

    fn invoke(&self, _engine: Engine, task: TaskInvocation, reporter: Reporter) -> BoxFuture {
        let services = self.services.clone();
        Box::pin(async move {
            let Some(target) = parse_target(&task.request.resource) else {
                reporter.failed(
                    Some("States.Runtime".into()),
                    Some(format!(
                        "Baton does not support the resource '{}'",
                        task.request.resource
                    )),
                );
                return;
            };
            let scope = Scope::new(task.account(), task.region());
            let params = task.request.parameters.clone();
            match target {
                Target::Optimized {
                    service,
                    action: _,
                    wait,
                } => {
                    let outcome = match service {
                        Svc::Sqs => send_message(services.sqs.as_ref(), &scope, params).await,
                        Svc::Sns => publish(services.sns.as_ref(), &scope, params).await,
                        Svc::Lambda => {
                            lambda_invoke(services.lambda.as_ref(), &scope, params).await
                        }
                    };
                    report(&reporter, wait, outcome);
                }
                Target::Sdk {
                    service,
                    action,
                    wait,
                } => {
                    let svc: &dyn AwsService = match service {
                        Svc::Sqs => services.sqs.as_ref(),
                        Svc::Sns => services.sns.as_ref(),
                        Svc::Lambda => services.lambda.as_ref(),
                    };
                    let outcome = sdk_call(svc, service, &scope, &action, params).await;
                    report(&reporter, wait, outcome);
                }
                Target::Function { arn } => {
                    let payload = baton_interp::exec::to_text(&params).into_bytes();
                    let outcome = match services
                        .lambda
                        .invoke(
                            &scope,
                            &arn,
                            payload,
                            InvocationType::RequestResponse,
                            false,
                        )
                        .await
                    {
                        Ok(inv) => match function_failure(&inv) {
                            Some(f) => Err(f),
                            None => Ok(parse_payload(&inv.payload)),
                        },
                        Err(e) => Err(optimized_error(Svc::Lambda, &e)),
                    };
                    report(&reporter, false, outcome);
                }
            }
        })
    }
}

/// A task's failure: the States error name and its cause.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    error: String,
    cause: String,
}

fn report(reporter: &Reporter, wait: bool, outcome: Result<Value, Failure>) {
    match outcome {
        Ok(v) if wait => reporter.submitted(v),
        Ok(v) => reporter.succeeded(baton_interp::exec::to_text(&v)),
        Err(f) => reporter.failed(Some(f.error), Some(f.cause)),
    }
}

/// Members whose value the integration sends as text: a JSON value given
/// in the state's parameters is serialised.
fn stringify(params: &mut Value, member: &str) {
    if let Some(m) = params.as_object_mut()
        && let Some(v) = m.get_mut(member)
        && !v.is_string()
        && !v.is_null()
    {
        *v = Value::String(baton_interp::exec::to_text(v));
    }
}

/// `sqs:sendMessage`.
async fn send_message(
    sqs: &dyn AwsService,
    scope: &Scope,
    mut params: Value,
) -> Result<Value, Failure> {
    stringify(&mut params, "MessageBody");
    // The Java SDK resolves the queue URL's host before sending: something
    // that is not a URL fails there, as AWS records it.
    if let Some(url) = params.get("QueueUrl").and_then(Value::as_str)
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        let host = url.split('/').next().unwrap_or(url);
        return Err(Failure {
            error: "SQS.SdkClientException".into(),
            cause: format!("Unable to execute HTTP request: {host}: Name or service not known"),
        });
    }
    let request_id = crate_uuid();
    match sqs.call(scope, "SendMessage", params).await {
        Ok(out) => {
            let body_len = out.to_string().len();
            Ok(with_metadata(
                out,
                http_metadata(&request_id, "application/x-amz-json-1.0", body_len, &[]),
                &request_id,
            ))
        }
        Err(e) => Err(optimized_error(Svc::Sqs, &e)),
    }
}

/// `sns:publish`.
async fn publish(sns: &dyn AwsService, scope: &Scope, mut params: Value) -> Result<Value, Failure> {
    stringify(&mut params, "Message");
    let request_id = crate_uuid();
    match sns.call(scope, "Publish", params).await {
        Ok(out) => {
            // The length of the XML answer the Java SDK read.
            let xml_len = publish_xml_len(&out, &request_id);
            Ok(with_metadata(
                out,
                http_metadata(&request_id, "text/xml", xml_len, &[]),
                &request_id,
            ))
        }
        Err(e) => Err(optimized_error(Svc::Sns, &e)),
    }
}

fn publish_xml_len(out: &Value, request_id: &str) -> usize {
    let id = out.get("MessageId").and_then(Value::as_str).unwrap_or("");
    let seq = out
        .get("SequenceNumber")
        .and_then(Value::as_str)
        .map(|s| format!("\n    <SequenceNumber>{s}</SequenceNumber>"))
        .unwrap_or_default();
    format!(
        "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\n  <PublishResult>\n    <MessageId>{id}</MessageId>{seq}\n  </PublishResult>\n  <ResponseMetadata>\n    <RequestId>{request_id}</RequestId>\n  </ResponseMetadata>\n</PublishResponse>\n"
    )
    .len()
}

/// `lambda:invoke`.
async fn lambda_invoke(
    lambda: &dyn FunctionInvoker,
    scope: &Scope,
    params: Value,
) -> Result<Value, Failure> {
    let s = |k: &str| params.get(k).and_then(Value::as_str).map(str::to_string);
    let Some(function) = s("FunctionName") else {
        return Err(Failure {
            error: "States.Runtime".into(),
            cause: "The field 'FunctionName' is required but was missing".into(),
        });
    };
    let function = match s("Qualifier") {
        Some(q) if !has_qualifier(&function) => format!("{function}:{q}"),
        _ => function,
    };
    let payload = match params.get("Payload") {
        None | Some(Value::Null) => b"{}".to_vec(),
        Some(v) => baton_interp::exec::to_text(v).into_bytes(),
    };
    let invocation_type = match s("InvocationType").as_deref() {
        Some("Event") => InvocationType::Event,
        Some("DryRun") => InvocationType::DryRun,
        _ => InvocationType::RequestResponse,
    };
    let tail = s("LogType").as_deref() == Some("Tail");
    let inv = lambda
        .invoke(scope, &function, payload, invocation_type, tail)
        .await
        .map_err(|e| optimized_error(Svc::Lambda, &e))?;
    if let Some(f) = function_failure(&inv) {
        return Err(f);
    }
    let request_id = crate_uuid();
    let mut out = Map::new();
    out.insert("ExecutedVersion".into(), json!(inv.executed_version));
    if let Some(log) = &inv.log_tail {
        use base64::Engine as _;
        out.insert(
            "LogResult".into(),
            json!(base64::engine::general_purpose::STANDARD.encode(log)),
        );
    }
    out.insert("Payload".into(), parse_payload(&inv.payload));
    let headers = [
        ("X-Amz-Executed-Version", inv.executed_version.as_str()),
        ("x-amzn-Remapped-Content-Length", "0"),
    ];
    let mut meta = http_metadata(&request_id, "application/json", inv.payload.len(), &headers);
    if let Some(m) = meta.as_object_mut() {
        m.insert("HttpStatusCode".into(), json!(inv.status_code));
    }
    out.insert("SdkHttpMetadata".into(), meta);
    out.insert(
        "SdkResponseMetadata".into(),
        json!({ "RequestId": request_id }),
    );
    out.insert("StatusCode".into(), json!(inv.status_code));
    Ok(Value::Object(out))
}

/// Whether a function name (`f`, `f:q`, `123:function:f[:q]`,
/// `arn:...:function:f[:q]`) names a version or alias.
fn has_qualifier(function: &str) -> bool {
    match function.split_once("function:") {
        Some((_, rest)) => rest.contains(':'),
        None => function.contains(':'),
    }
}

/// Errors of the Lambda sandbox rather than of the function's code: Step
/// Functions reports them as `Lambda.Unknown` ("unhandled errors in Lambda
/// ... include out-of-memory errors and function timeouts").
const SANDBOX_ERRORS: &[&str] = &[
    "Sandbox.Timedout",
    "Runtime.ExitError",
    "Runtime.OutOfMemory",
];

/// A function's own error (`X-Amz-Function-Error`) as the task's failure:
/// its `errorType`, or `Lambda.Unknown` for a timeout, a crash or an error
/// without a type; the error payload is the cause.
fn function_failure(inv: &crate::Invocation) -> Option<Failure> {
    inv.function_error.as_ref()?;
    let text = String::from_utf8_lossy(&inv.payload).into_owned();
    let error = serde_json::from_slice::<Value>(&inv.payload)
        .ok()
        .and_then(|v| {
            v.get("errorType")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|t| !SANDBOX_ERRORS.contains(&t.as_str()))
        .unwrap_or_else(|| "Lambda.Unknown".to_string());
    Some(Failure { error, cause: text })
}

/// A function's response: JSON when it is JSON, else its text.
fn parse_payload(payload: &[u8]) -> Value {
    if payload.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()))
}

/// `aws-sdk:<service>:<action>`: the action's API name is the camelCase
/// action with its first letter upper-cased; the output is the API's.
async fn sdk_call(
    svc: &dyn AwsService,
    service: Svc,
    scope: &Scope,
    action: &str,
    params: Value,
) -> Result<Value, Failure> {
    let mut chars = action.chars();
    let api_action = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    };
    let out = match (service, api_action.as_str()) {
        // Lambda's Invoke takes and gives a blob: the SDK integration sends
        // the JSON it is given and answers the function's response as text.
        (Svc::Lambda, "Invoke") => {
            let mut params = params;
            stringify(&mut params, "Payload");
            svc.call(scope, "Invoke", params).await
        }
        _ => svc.call(scope, &api_action, params).await,
    };
    out.map_err(|e| Failure {
        error: format!("{}.{}", service.sdk_name(), exception_name(&e.code)),
        cause: format!(
            "{} (Service: {}, Status Code: {}, Request ID: {})",
            e.message,
            service.sdk_name(),
            e.status,
            crate_uuid()
        ),
    })
}

/// The Java SDK exception class for an error code.
fn exception_name(code: &str) -> String {
    let code = code.rsplit('#').next().unwrap_or(code);
    if code.ends_with("Exception") {
        code.to_string()
    } else {
        format!("{code}Exception")
    }
}

/// SQS errors the Java SDK v1 has a class for; others are
/// `AmazonSQSException`.
const SQS_MODELED: &[&str] = &[
    "QueueDoesNotExist",
    "QueueNameExists",
    "QueueDeletedRecently",
    "PurgeQueueInProgress",
    "InvalidMessageContents",
    "UnsupportedOperation",
    "TooManyEntriesInBatchRequest",
    "BatchEntryIdsNotDistinct",
    "EmptyBatchRequest",
    "InvalidBatchEntryId",
    "BatchRequestTooLong",
    "MessageNotInflight",
    "ReceiptHandleIsInvalid",
    "InvalidIdFormat",
    "OverLimit",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "RequestThrottled",
    "InvalidAddress",
    "InvalidSecurity",
    "KmsAccessDenied",
    "KmsDisabled",
    "KmsInvalidKeyUsage",
    "KmsInvalidState",
    "KmsNotFound",
    "KmsOptInRequired",
    "KmsThrottled",
];

/// An optimized integration's error: `SQS.`/`SNS.`/`Lambda.` + the Java SDK
/// v1 exception, with its cause text.
fn optimized_error(service: Svc, e: &ServiceError) -> Failure {
    let code = e.code.rsplit('#').next().unwrap_or(&e.code);
    let wire_code = e.query_code.as_deref().unwrap_or(code);
    let request_id = crate_uuid();
    let (prefix, class, service_name) = match service {
        Svc::Sqs => (
            "SQS",
            if SQS_MODELED.contains(&code) {
                exception_name(code)
            } else {
                "AmazonSQSException".to_string()
            },
            "AmazonSQS",
        ),
        Svc::Sns => ("SNS", exception_name(code), "AmazonSNS"),
        Svc::Lambda => ("Lambda", exception_name(code), "AWSLambda"),
    };
    Failure {
        error: format!("{prefix}.{class}"),
        cause: format!(
            "{} (Service: {service_name}; Status Code: {}; Error Code: {wire_code}; Request ID: {request_id}; Proxy: null)",
            e.message, e.status
        ),
    }
}

fn with_metadata(out: Value, meta: Value, request_id: &str) -> Value {
    let mut m = match out {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert("Result".into(), other);
            m
        }
    };
    m.insert("SdkHttpMetadata".into(), meta);
    m.insert(
        "SdkResponseMetadata".into(),
        json!({ "RequestId": request_id }),
    );
    // The Java SDK's JSON lists members in name order.
    let mut entries: Vec<(String, Value)> = m.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(entries.into_iter().collect())
}

/// `SdkHttpMetadata` as the Java SDK records an answer's HTTP headers.
fn http_metadata(
    request_id: &str,
    content_type: &str,
    content_length: usize,
    extra: &[(&str, &str)],
) -> Value {
    let date = baton_asl::time::format_http_date(baton_engine::runtime::wall_clock_ms());
    let len = content_length.to_string();
    let mut all = Map::new();
    let mut one = Map::new();
    let mut put = |k: &str, v: &str| {
        all.insert(k.to_string(), json!([v]));
        one.insert(k.to_string(), json!(v));
    };
    put("x-amzn-RequestId", request_id);
    put("connection", "keep-alive");
    put("Content-Length", &len);
    put("Date", &date);
    put("Content-Type", content_type);
    for (k, v) in extra {
        put(k, v);
    }
    json!({ "AllHttpHeaders": all, "HttpHeaders": one, "HttpStatusCode": 200 })
}

fn crate_uuid() -> String {
    baton_engine::control::uuid_v4()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target("arn:aws:states:::sqs:sendMessage.waitForTaskToken"),
            Some(Target::Optimized {
                service: Svc::Sqs,
                action: "sendMessage".into(),
                wait: true
            })
        );
        assert_eq!(
            parse_target("arn:aws:states:::aws-sdk:sqs:receiveMessage"),
            Some(Target::Sdk {
                service: Svc::Sqs,
                action: "receiveMessage".into(),
                wait: false
            })
        );
        assert!(matches!(
            parse_target("arn:aws:lambda:us-east-1:000000000000:function:f"),
            Some(Target::Function { .. })
        ));
        assert_eq!(parse_target("arn:aws:states:::sqs:purgeQueue"), None);
        assert_eq!(parse_target("arn:aws:states:::dynamodb:putItem"), None);
        assert_eq!(
            parse_target("arn:aws:states:::aws-sdk:sfn:startExecution"),
            None
        );
        assert_eq!(
            parse_target("arn:aws:states:us-east-1:1:activity:a"),
            None,
            "activities are the engine's"
        );
    }

    #[test]
    fn sns_publish_answer_length_matches_aws() {
        let out = json!({"MessageId": "3a2b2c8e-0d5f-5c1e-9f45-6d5b1b0e5d11"});
        assert_eq!(
            publish_xml_len(&out, "0f3c4a5e-2b7d-5e8f-9a1b-2c3d4e5f6a7b"),
            294
        );
    }

    #[test]
    fn error_names() {
        let e = ServiceError::client("QueueDoesNotExist", "The specified queue does not exist.")
            .with_query_code("AWS.SimpleQueueService.NonExistentQueue");
        let f = optimized_error(Svc::Sqs, &e);
        assert_eq!(f.error, "SQS.QueueDoesNotExistException");
        assert!(
            f.cause
                .contains("Error Code: AWS.SimpleQueueService.NonExistentQueue;")
        );
        let e = ServiceError::client(
            "MissingParameter",
            "The request must contain the parameter MessageBody.",
        );
        assert_eq!(
            optimized_error(Svc::Sqs, &e).error,
            "SQS.AmazonSQSException"
        );
        let e = ServiceError::client("InvalidParameter", "Invalid parameter: x");
        assert_eq!(
            optimized_error(Svc::Sns, &e).error,
            "SNS.InvalidParameterException"
        );
        let e = ServiceError::client("ResourceNotFoundException", "Function not found: f")
            .with_status(404);
        let f = optimized_error(Svc::Lambda, &e);
        assert_eq!(f.error, "Lambda.ResourceNotFoundException");
        assert!(f.cause.starts_with("Function not found: f (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: "));
    }

    #[test]
    fn function_errors() {
        let inv = crate::Invocation {
            status_code: 200,
            payload: br#"{"errorType":"CustomException","errorMessage":""}"#.to_vec(),
            function_error: Some("Unhandled".into()),
            executed_version: "$LATEST".into(),
            log_tail: None,
        };
        let f = function_failure(&inv).expect("a failure");
        assert_eq!(f.error, "CustomException");
        let inv = crate::Invocation {
            payload:
                br#"{"errorMessage":"2026-12-01T00:00:00Z abc Task timed out after 3.00 seconds"}"#
                    .to_vec(),
            ..inv
        };
        assert_eq!(
            function_failure(&inv).expect("a failure").error,
            "Lambda.Unknown"
        );
        let inv = crate::Invocation {
            payload: br#"{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: 1 Error: Task timed out after 3.00 seconds"}"#.to_vec(),
            ..inv
        };
        let f = function_failure(&inv).expect("a failure");
        assert_eq!(f.error, "Lambda.Unknown", "a timeout is Lambda.Unknown");
        assert!(f.cause.contains("Task timed out after 3.00 seconds"));
    }
}
