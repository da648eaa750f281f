//! `baton invoke`: starts an execution of a deployed state machine and waits
//! for it, like `sls invoke stepf`: the key under `stepFunctions.stateMachines`
//! is resolved through Baton's apps registry (so it works from any folder);
//! a state machine's own name or ARN works too.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use hyper::Method;
use serde_json::{Value, json};

use crate::client::{AwsError, Client, DEFAULT_ENDPOINT, error_code};
use crate::deploy::apply::encode;

/// `baton invoke` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The state machine: its key under stepFunctions.stateMachines, its
    /// name or its ARN.
    #[arg(long, short = 'n')]
    name: String,
    /// The execution input (JSON text).
    #[arg(long, short = 'd', conflicts_with = "path")]
    data: Option<String>,
    /// A file holding the execution input (JSON).
    #[arg(long, short = 'p')]
    path: Option<PathBuf>,
    /// Only the app deployed with this stage.
    #[arg(long, short = 's')]
    stage: Option<String>,
    /// Only the app deployed in this region (and the region to look names
    /// up in when no app has the key).
    #[arg(long, short = 'r')]
    region: Option<String>,
    /// Only this app (service name).
    #[arg(long)]
    app: Option<String>,
    /// Baton's URL.
    #[arg(long, env = "BATON_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    endpoint: String,
}

/// Which state machine to run and with what.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub key: String,
    pub input: Option<String>,
    pub app: Option<String>,
    pub stage: Option<String>,
    pub region: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let input = input(args.data, args.path.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(invoke(
        &args.endpoint,
        &Request {
            key: args.name,
            input,
            app: args.app,
            stage: args.stage,
            region: args.region,
        },
    ))
}

/// `--data` or the JSON of `--path` (re-serialised, as `sls` does).
pub fn input(
    data: Option<String>,
    path: Option<&std::path::Path>,
) -> anyhow::Result<Option<String>> {
    if let Some(d) = data {
        return Ok(Some(d));
    }
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!("The file you provided does not exist: {}", path.display())
        } else {
            anyhow::anyhow!("cannot read {}: {e}", path.display())
        }
    })?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not valid JSON: {e}", path.display()))?;
    Ok(Some(v.to_string()))
}

/// Resolves, starts, waits, prints; exit 1 unless SUCCEEDED.
pub async fn invoke(endpoint: &str, req: &Request) -> anyhow::Result<ExitCode> {
    let region = req.region.clone().unwrap_or_else(|| "us-east-1".into());
    let client = Client::new(endpoint, &region, None)?;
    let (arn, sm_region, kind) = resolve(&client, req).await?;
    let client = client.in_region(&sm_region);
    let mut start = json!({ "stateMachineArn": arn });
    if let Some(i) = &req.input {
        start["input"] = json!(i);
    }
    let result = if kind == "EXPRESS" {
        client
            .json("states", "AWSStepFunctions.StartSyncExecution", &start)
            .await
            .map_err(|e| e.context(format!("cannot run {arn}")))?
    } else {
        let started = client
            .json("states", "AWSStepFunctions.StartExecution", &start)
            .await
            .map_err(|e| e.context(format!("cannot start {arn}")))?;
        let execution = started
            .get("executionArn")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow::anyhow!("StartExecution answered no executionArn"))?
            .to_string();
        wait(&client, &execution).await?
    };
    let status = result
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("UNKNOWN")
        .to_string();
    crate::out(&serde_json::to_string_pretty(&iso_dates(result.clone())).unwrap_or_default());
    if status == "SUCCEEDED" {
        return Ok(ExitCode::SUCCESS);
    }
    let field = |k: &str| result.get(k).and_then(Value::as_str).unwrap_or("");
    eprintln!(
        "error: the execution {status}{}{}",
        if field("error").is_empty() {
            String::new()
        } else {
            format!(": {}", field("error"))
        },
        if field("cause").is_empty() {
            String::new()
        } else {
            format!(": {}", field("cause"))
        }
    );
    Ok(ExitCode::FAILURE)
}

/// The state machine's ARN, region and type.
async fn resolve(client: &Client, req: &Request) -> anyhow::Result<(String, String, String)> {
    let mut query = Vec::new();
    for (k, v) in [
        ("app", &req.app),
        ("stage", &req.stage),
        ("region", &req.region),
    ] {
        if let Some(v) = v {
            query.push(format!("{k}={}", encode(v)));
        }
    }
    let path = format!(
        "/_baton/v1/state-machines/{}{}{}",
        encode(&req.key),
        if query.is_empty() { "" } else { "?" },
        query.join("&")
    );
    match client.rest(Method::GET, &path, "baton", None).await {
        Ok(v) => {
            let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            anyhow::ensure!(
                !s("arn").is_empty(),
                "Baton answered no ARN for {}",
                req.key
            );
            Ok((s("arn"), s("region"), s("type")))
        }
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {
            // Not in any app: an ARN, or a name in the region.
            if req.key.starts_with("arn:") {
                let region = req
                    .key
                    .split(':')
                    .nth(3)
                    .unwrap_or(client.region())
                    .to_string();
                let c = client.in_region(&region);
                let d = c
                    .json(
                        "states",
                        "AWSStepFunctions.DescribeStateMachine",
                        &json!({ "stateMachineArn": req.key }),
                    )
                    .await?;
                let kind = d.get("type").and_then(Value::as_str).unwrap_or("STANDARD");
                return Ok((req.key.clone(), region, kind.to_string()));
            }
            let mut token: Option<String> = None;
            loop {
                let mut input = json!({ "maxResults": 1000 });
                if let Some(t) = &token {
                    input["nextToken"] = json!(t);
                }
                let list = client
                    .json("states", "AWSStepFunctions.ListStateMachines", &input)
                    .await?;
                if let Some(sm) = list
                    .get("stateMachines")
                    .and_then(Value::as_array)
                    .and_then(|l| {
                        l.iter()
                            .find(|sm| sm.get("name").and_then(Value::as_str) == Some(&req.key))
                    })
                {
                    let s = |k: &str| sm.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    return Ok((s("stateMachineArn"), client.region().to_string(), s("type")));
                }
                token = list
                    .get("nextToken")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
            let message = e
                .downcast_ref::<AwsError>()
                .map_or_else(|| e.to_string(), |a| a.message.clone());
            anyhow::bail!(
                "\"{}\" stateMachine does not exist: {message} (no state machine of that name in {} either)",
                req.key,
                client.region()
            )
        }
        Err(e) => {
            let message = e
                .downcast_ref::<AwsError>()
                .map_or_else(|| format!("{e:#}"), |a| a.message.clone());
            anyhow::bail!("{message}")
        }
    }
}

/// Polls DescribeExecution until the execution is no longer RUNNING.
async fn wait(client: &Client, execution: &str) -> anyhow::Result<Value> {
    let mut delay = Duration::from_millis(50);
    loop {
        let d = client
            .json(
                "states",
                "AWSStepFunctions.DescribeExecution",
                &json!({ "executionArn": execution }),
            )
            .await
            .map_err(|e| e.context(format!("cannot describe {execution}")))?;
        match d.get("status").and_then(Value::as_str) {
            Some("RUNNING" | "PENDING_REDRIVE") => {}
            _ => return Ok(d),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(1));
    }
}

/// Epoch-seconds dates (`startDate`, `stopDate`, `redriveDate`) as
/// ISO-8601, as the AWS SDK for JavaScript prints them.
pub fn iso_dates(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        for k in ["startDate", "stopDate", "redriveDate"] {
            if let Some(secs) = m.get(k).and_then(Value::as_f64) {
                let ms = (secs * 1000.0).round() as i64;
                m.insert(k.into(), json!(baton_asl::time::format_millis(ms)));
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_become_iso() {
        let v = iso_dates(
            json!({"startDate": 1_709_720_954.123, "stopDate": 1_709_720_955, "status": "SUCCEEDED"}),
        );
        assert_eq!(v["startDate"], "2024-03-06T10:29:14.123Z");
        assert_eq!(v["stopDate"], "2024-03-06T10:29:15.000Z");
        assert_eq!(v["status"], "SUCCEEDED");
    }

    #[test]
    fn input_from_a_file() {
        assert_eq!(
            input(Some("{}".into()), None).expect("data"),
            Some("{}".into())
        );
        assert_eq!(input(None, None).expect("none"), None);
        let e =
            input(None, Some(std::path::Path::new("/nonexistent/x.json"))).expect_err("missing");
        assert!(
            e.to_string()
                .starts_with("The file you provided does not exist"),
            "{e}"
        );
    }
}
