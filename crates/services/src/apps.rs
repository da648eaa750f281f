//! The apps registry: what `baton deploy` made for each app (a Serverless
//! Framework service at one stage, in one region and account), so that
//! `baton invoke --name KEY` finds a state machine by its key under
//! `stepFunctions.stateMachines` from any folder.
//!
//! Records live in the store's resource table (kind [`KIND`], key
//! `<account>/<region>/<app>/<stage>`), as JSON in camelCase (Baton's own
//! API, not an AWS one):
//!
//! ```json
//! {"name": "svc", "stage": "dev", "region": "us-east-1", "account": "000000000000",
//!  "directory": "/abs/app", "updatedAt": "2024-01-01T00:00:00.000Z",
//!  "stateMachines": [{"key": "main", "name": "main-sm", "arn": "arn:...", "type": "STANDARD"}],
//!  "functions": [{"key": "hello", "name": "svc-dev-hello", "arn": "arn:..."}],
//!  "resources": [{"logicalId": "MyQueue", "type": "AWS::SQS::Queue", "physicalId": "http://...", "arn": "arn:..."}]}
//! ```

use std::sync::Arc;

use baton_storage::{ResourceOp, ResourceRecord, Store};
use serde_json::{Map, Value, json};

use crate::{Scope, ServiceError};

/// The resource-table kind of app records.
pub const KIND: &str = "app";

/// How many records one store read returns while scanning.
const PAGE: usize = 500;

/// Narrows a state machine look-up when a key is used by several apps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub app: Option<String>,
    pub stage: Option<String>,
    pub region: Option<String>,
}

/// The registry over a store.
#[derive(Clone)]
pub struct Apps {
    store: Arc<dyn Store>,
}

impl Apps {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Records (or replaces) app `name` in the caller's region and account
    /// from `input` (`stage`, `directory`, `stateMachines`, `functions`,
    /// `resources`); answers the stored record.
    pub fn put(&self, scope: &Scope, name: &str, input: Value) -> Result<Value, ServiceError> {
        check_name("app name", name)?;
        let Value::Object(input) = input else {
            return Err(invalid("the app record must be a JSON object"));
        };
        let stage = match input.get("stage") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => return Err(invalid("the app record needs a \"stage\"")),
            Some(_) => return Err(invalid("\"stage\" must be a string")),
        };
        check_name("stage", &stage)?;
        let directory = match input.get("directory") {
            Some(Value::String(s)) => Value::String(s.clone()),
            None | Some(Value::Null) => Value::Null,
            Some(_) => return Err(invalid("\"directory\" must be a string")),
        };
        let state_machines = entries(&input, "stateMachines", &["key", "name", "arn"])?;
        let functions = entries(&input, "functions", &["key", "name", "arn"])?;
        let resources = entries(&input, "resources", &["logicalId", "type"])?;
        let record = json!({
            "name": name,
            "stage": stage,
            "region": scope.region,
            "account": scope.account,
            "directory": directory,
            "updatedAt": now_iso(),
            "stateMachines": state_machines,
            "functions": functions,
            "resources": resources,
        });
        let key = record_key(&scope.account, &scope.region, name, &stage);
        self.store
            .write_resources(&[ResourceOp::Put(ResourceRecord {
                kind: KIND.into(),
                key,
                value: record.to_string(),
            })])?;
        Ok(record)
    }

    /// Every recorded app, ordered by account, region, name and stage:
    /// `{"apps": [...]}`.
    pub fn list(&self) -> Result<Value, ServiceError> {
        Ok(json!({ "apps": self.all()? }))
    }

    /// The state machine `key` names: a key under `stateMachines`, a state
    /// machine's name or its ARN, in any recorded app that `filter` admits.
    /// Answers `{"arn", "region", "account", "app", "stage", "key", "name",
    /// "type"}`; none is `ResourceNotFoundException` (404), several are
    /// `ConflictException` (409) listing them.
    pub fn resolve_state_machine(&self, key: &str, filter: &Filter) -> Result<Value, ServiceError> {
        let mut found = Vec::new();
        for app in self.all()? {
            let field = |k: &str| app.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let (name, stage, region) = (field("name"), field("stage"), field("region"));
            if filter.app.as_ref().is_some_and(|a| *a != name)
                || filter.stage.as_ref().is_some_and(|s| *s != stage)
                || filter.region.as_ref().is_some_and(|r| *r != region)
            {
                continue;
            }
            let Some(machines) = app.get("stateMachines").and_then(Value::as_array) else {
                continue;
            };
            for sm in machines {
                let get = |k: &str| sm.get(k).and_then(Value::as_str).unwrap_or("");
                if get("key") == key || get("name") == key || get("arn") == key {
                    found.push(json!({
                        "arn": get("arn"),
                        "region": region,
                        "account": field("account"),
                        "app": name,
                        "stage": stage,
                        "key": get("key"),
                        "name": get("name"),
                        "type": sm.get("type").and_then(Value::as_str).unwrap_or("STANDARD"),
                    }));
                }
            }
        }
        match found.len() {
            0 => Err(ServiceError::client(
                "ResourceNotFoundException",
                format!(
                    "No deployed app has a state machine \"{key}\"{}: deploy the app with `baton deploy`, \
                     or pass the state machine's name or ARN",
                    describe_filter(filter)
                ),
            )
            .with_status(404)),
            1 => Ok(found.remove(0)),
            n => {
                let list: Vec<String> = found
                    .iter()
                    .map(|f| {
                        let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("");
                        format!(
                            "{} (app {}, stage {}, region {})",
                            s("arn"),
                            s("app"),
                            s("stage"),
                            s("region")
                        )
                    })
                    .collect();
                Err(ServiceError::client(
                    "ConflictException",
                    format!(
                        "State machine key \"{key}\" is ambiguous: {n} deployed state machines match: {}. \
                         Name one by its ARN, or narrow with the app, stage or region",
                        list.join("; ")
                    ),
                )
                .with_status(409))
            }
        }
    }

    /// Every app record, parsed (unreadable rows are skipped).
    fn all(&self) -> Result<Vec<Value>, ServiceError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let rows = self
                .store
                .list_resources(KIND, "", after.as_deref(), PAGE)?;
            let done = rows.len() < PAGE;
            after = rows.last().map(|r| r.key.clone());
            for row in rows {
                match serde_json::from_str::<Value>(&row.value) {
                    Ok(v) => out.push(v),
                    Err(e) => tracing::warn!(key = %row.key, error = %e, "unreadable app record"),
                }
            }
            if done || after.is_none() {
                return Ok(out);
            }
        }
    }
}

/// The resource-table key of an app record.
pub fn record_key(account: &str, region: &str, name: &str, stage: &str) -> String {
    format!("{account}/{region}/{name}/{stage}")
}

fn describe_filter(filter: &Filter) -> String {
    let mut parts = Vec::new();
    if let Some(a) = &filter.app {
        parts.push(format!("app {a}"));
    }
    if let Some(s) = &filter.stage {
        parts.push(format!("stage {s}"));
    }
    if let Some(r) = &filter.region {
        parts.push(format!("region {r}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::client("InvalidParameterValueException", message)
}

/// Names and stages: 1..=128 letters, digits, `-`, `_` or `.`.
fn check_name(what: &str, s: &str) -> Result<(), ServiceError> {
    if s.is_empty()
        || s.len() > 128
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(invalid(format!(
            "invalid {what} {s:?}: use 1 to 128 letters, digits, '-', '_' or '.'"
        )));
    }
    Ok(())
}

/// The array member `field` of `input`: objects whose `required` members
/// are strings; other string members are kept, the rest dropped.
fn entries(
    input: &Map<String, Value>,
    field: &str,
    required: &[&str],
) -> Result<Vec<Value>, ServiceError> {
    let items = match input.get(field) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid(format!("\"{field}\" must be an array"))),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(invalid(format!("\"{field}\"[{i}] must be an object")));
        };
        for r in required {
            if !matches!(obj.get(*r), Some(Value::String(s)) if !s.is_empty()) {
                return Err(invalid(format!(
                    "\"{field}\"[{i}] needs a non-empty string \"{r}\""
                )));
            }
        }
        let kept: Map<String, Value> = obj
            .iter()
            .filter(|(_, v)| v.is_string())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.push(Value::Object(kept));
    }
    Ok(out)
}

/// The current time as `2024-01-01T00:00:00.000Z`.
fn now_iso() -> String {
    baton_asl::time::format_millis(baton_engine::runtime::wall_clock_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A registry on a fresh database in a folder of its own.
    fn apps() -> Apps {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "baton-apps-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let store = baton_storage::sqlite::SqliteStore::open(&dir.join("baton.db")).expect("store");
        Apps::new(Arc::new(store))
    }

    fn record(sm_key: &str, sm_name: &str, region: &str) -> Value {
        json!({
            "stage": "dev",
            "directory": "/app",
            "stateMachines": [{
                "key": sm_key,
                "name": sm_name,
                "arn": format!("arn:aws:states:{region}:000000000000:stateMachine:{sm_name}"),
                "type": "STANDARD",
            }],
            "functions": [],
            "resources": [{"logicalId": "Q", "type": "AWS::SQS::Queue", "physicalId": "u"}],
        })
    }

    #[test]
    fn put_list_resolve() {
        let apps = apps();
        let scope = Scope::new("000000000000", "eu-west-1");
        apps.put(&scope, "svc", record("main", "main-sm", "eu-west-1"))
            .expect("put");
        // Recording again replaces, it does not duplicate.
        apps.put(&scope, "svc", record("main", "main-sm", "eu-west-1"))
            .expect("put again");
        let list = apps.list().expect("list");
        assert_eq!(list["apps"].as_array().map(Vec::len), Some(1));
        for k in [
            "main",
            "main-sm",
            "arn:aws:states:eu-west-1:000000000000:stateMachine:main-sm",
        ] {
            let r = apps
                .resolve_state_machine(k, &Filter::default())
                .expect("resolve");
            assert_eq!(r["region"], "eu-west-1");
            assert_eq!(r["app"], "svc");
            assert_eq!(r["key"], "main");
        }
        let missing = apps
            .resolve_state_machine("nope", &Filter::default())
            .expect_err("missing");
        assert_eq!(
            (missing.code.as_str(), missing.status),
            ("ResourceNotFoundException", 404)
        );
    }

    #[test]
    fn ambiguous_keys_are_a_conflict() {
        let apps = apps();
        apps.put(
            &Scope::new("000000000000", "us-east-1"),
            "a",
            record("main", "a-main", "us-east-1"),
        )
        .expect("put a");
        apps.put(
            &Scope::new("000000000000", "us-east-1"),
            "b",
            record("main", "b-main", "us-east-1"),
        )
        .expect("put b");
        let e = apps
            .resolve_state_machine("main", &Filter::default())
            .expect_err("ambiguous");
        assert_eq!((e.code.as_str(), e.status), ("ConflictException", 409));
        assert!(
            e.message.contains("a-main") && e.message.contains("b-main"),
            "{}",
            e.message
        );
        let one = apps
            .resolve_state_machine(
                "main",
                &Filter {
                    app: Some("b".into()),
                    ..Filter::default()
                },
            )
            .expect("filtered");
        assert_eq!(one["name"], "b-main");
    }

    #[test]
    fn bad_records_are_refused() {
        let apps = apps();
        let scope = Scope::new("000000000000", "us-east-1");
        for (name, body) in [
            ("svc", json!([])),
            ("svc", json!({})),
            ("bad name", json!({"stage": "dev"})),
            (
                "svc",
                json!({"stage": "dev", "stateMachines": [{"key": "k"}]}),
            ),
            ("svc", json!({"stage": "dev", "functions": "x"})),
        ] {
            let e = apps.put(&scope, name, body).expect_err("refused");
            assert_eq!(e.status, 400);
        }
    }
}
