//! Task `Resource` URIs.
//!
//! AWS checks the ARN syntax, the Lambda function ARN form and, for optimized
//! integrations (`arn:<partition>:states:::<service>:<api>`), that the API is
//! one the integration offers. Recorded: `arn:aws:states:::dynamodb:query` is
//! refused with "The resource provided … is not recognized". Services this
//! table does not list (and every `aws-sdk:` integration) are accepted.

use super::Cx;

/// Optimized integrations and their APIs.
const OPTIMIZED: &[(&str, &[&str])] = &[
    ("lambda", &["invoke"]),
    (
        "dynamodb",
        &["getItem", "putItem", "deleteItem", "updateItem"],
    ),
    ("sqs", &["sendMessage"]),
    ("sns", &["publish"]),
    ("events", &["putEvents"]),
    ("states", &["startExecution"]),
    ("batch", &["submitJob"]),
    ("glue", &["startJobRun"]),
    ("ecs", &["runTask"]),
    ("apigateway", &["invoke"]),
    ("http", &["invoke"]),
];

/// The suffixes of the integration patterns.
const SUFFIXES: &[&str] = &[".waitForTaskToken", ".sync:2", ".sync"];

fn not_recognized(cx: &mut Cx, r: &str, loc: &str) {
    cx.schema(
        format!(
            "The resource provided {r} is not recognized. The value is not a valid resource ARN, or the resource is not available in this region."
        ),
        loc,
    );
}

/// `arn:partition:service:region:account:resource`, split.
fn split(r: &str) -> Option<[&str; 5]> {
    let mut it = r.splitn(6, ':');
    let (arn, partition, service, region, account, rest) = (
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    );
    if arn != "arn" || partition.is_empty() || service.is_empty() || rest.is_empty() {
        return None;
    }
    Some([partition, service, region, account, rest])
}

/// Checks only the ARN syntax (ItemReader, ResultWriter).
pub(crate) fn check_arn(cx: &mut Cx, r: &str, loc: &str) -> bool {
    if split(r).is_none() {
        not_recognized(cx, r, loc);
        return false;
    }
    true
}

fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks a Task `Resource`.
pub(crate) fn check(cx: &mut Cx, r: &str, loc: &str) -> bool {
    let Some([_, service, region, account, rest]) = split(r) else {
        not_recognized(cx, r, loc);
        return false;
    };
    match service {
        "lambda" => {
            let mut parts = rest.split(':');
            let ok = parts.next() == Some("function")
                && parts.next().is_some_and(name_ok)
                && parts.next().is_none_or(|q| q == "$LATEST" || name_ok(q))
                && parts.next().is_none();
            if !ok {
                not_recognized(cx, r, loc);
            }
            ok
        }
        "states" if region.is_empty() && account.is_empty() => {
            let (base, suffix) = match SUFFIXES.iter().find(|s| rest.ends_with(**s)) {
                Some(s) => (&rest[..rest.len() - s.len()], Some(*s)),
                None => (rest, None),
            };
            let mut parts = base.splitn(2, ':');
            let svc = parts.next().unwrap_or_default();
            let api = parts.next().unwrap_or_default();
            let known = if svc == "aws-sdk" {
                let mut p = api.splitn(2, ':');
                p.next().is_some_and(|s| !s.is_empty()) && p.next().is_some_and(|a| !a.is_empty())
            } else if svc.is_empty() || api.is_empty() {
                false
            } else {
                match OPTIMIZED.iter().find(|(s, _)| *s == svc) {
                    Some((_, apis)) => apis.contains(&api),
                    None => true,
                }
            };
            if !known {
                not_recognized(cx, r, loc);
                return false;
            }
            if cx.express {
                match suffix {
                    Some(".waitForTaskToken") => {
                        cx.schema("Express state machine does not support '.waitForTaskToken' service integration ", loc);
                        return false;
                    }
                    Some(_) => {
                        cx.schema(
                            "Express state machine does not support '.sync' service integration",
                            loc,
                        );
                        return false;
                    }
                    None => {}
                }
            }
            true
        }
        "states" if rest.starts_with("activity:") => {
            if cx.express {
                cx.schema("Express state machine does not support Activity ARN", loc);
                return false;
            }
            true
        }
        _ => true,
    }
}
