//! `baton logs FUNCTION`: prints a function's invocation logs (each one's
//! output between Lambda's `START`, `END` and `REPORT` lines), like `sls
//! logs -f FUNCTION`; `--follow` keeps printing new invocations.
//!
//! FUNCTION is a function's key in serverless.yml (looked up in Baton's apps
//! registry, so it works from any folder), its name, or its ARN.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use hyper::Method;
use serde_json::Value;

use crate::client::{Client, DEFAULT_ENDPOINT};

/// `baton logs` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The function: its key under `functions` in serverless.yml, its name
    /// or its ARN.
    function: String,
    /// How many of the latest invocations to print.
    #[arg(long, short = 'n', default_value_t = 10)]
    limit: u32,
    /// Keep printing new invocations (until Ctrl-C).
    #[arg(long, short = 'f')]
    follow: bool,
    /// Only the app deployed with this stage.
    #[arg(long, short = 's')]
    stage: Option<String>,
    /// The region of the function (default: the app's, else AWS_REGION,
    /// else us-east-1).
    #[arg(long, short = 'r')]
    region: Option<String>,
    /// Only this app (service name).
    #[arg(long)]
    app: Option<String>,
    /// Baton's URL.
    #[arg(long, env = "BATON_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    endpoint: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        (1..=1000).contains(&args.limit),
        "--limit must be between 1 and 1000"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(logs(args))
}

/// Where a function lives: (name or ARN, region, account).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    function: String,
    region: String,
    account: Option<String>,
}

fn default_region() -> String {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "us-east-1".into())
}

/// The function `args` names: an ARN as it is; else a key or name of a
/// deployed app's function; else a name in the region.
fn resolve(args: &Args, apps: Option<&Value>) -> anyhow::Result<Target> {
    if let Some(rest) = args.function.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.split(':').collect();
        anyhow::ensure!(
            parts.len() >= 6 && parts[1] == "lambda" && parts[4] == "function",
            "{} is not a function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)",
            args.function
        );
        return Ok(Target {
            function: args.function.clone(),
            region: parts[2].to_string(),
            account: Some(parts[3].to_string()),
        });
    }
    let mut found = Vec::new();
    let list = apps
        .and_then(|a| a.get("apps"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for app in &list {
        let field = |k: &str| app.get(k).and_then(Value::as_str).unwrap_or("");
        if args.app.as_deref().is_some_and(|a| a != field("name"))
            || args.stage.as_deref().is_some_and(|s| s != field("stage"))
            || args.region.as_deref().is_some_and(|r| r != field("region"))
        {
            continue;
        }
        for f in app
            .get("functions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = f.get("key").and_then(Value::as_str).unwrap_or("");
            let name = f.get("name").and_then(Value::as_str).unwrap_or("");
            if key == args.function || name == args.function {
                found.push((
                    format!("{} ({}, {})", name, field("name"), field("stage")),
                    Target {
                        function: name.to_string(),
                        region: field("region").to_string(),
                        account: Some(field("account").to_string()).filter(|a| !a.is_empty()),
                    },
                ));
            }
        }
    }
    match found.len() {
        0 => Ok(Target {
            function: args.function.clone(),
            region: args.region.clone().unwrap_or_else(default_region),
            account: None,
        }),
        1 => Ok(found.remove(0).1),
        _ => {
            let names: Vec<String> = found.into_iter().map(|(d, _)| d).collect();
            anyhow::bail!(
                "several deployed functions are called {}: {}; choose one with --app, --stage or \
                 --region",
                args.function,
                names.join(", ")
            )
        }
    }
}

/// `/_baton/v1/functions/NAME/logs?...`, the function name
/// percent-encoded.
fn logs_path(function: &str, limit: u32, after: Option<&str>) -> String {
    let mut path = format!(
        "/_baton/v1/functions/{}/logs?Limit={limit}",
        encode(function)
    );
    if let Some(a) = after {
        path.push_str("&NextToken=");
        path.push_str(&encode(a));
    }
    path
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Prints invocation logs; answers the cursor after them.
fn print_invocations(page: &Value) -> Option<String> {
    for inv in page
        .get("Invocations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(log) = inv.get("Log").and_then(Value::as_str) {
            crate::out(log.trim_end_matches('\n'));
        }
    }
    page.get("NextToken")
        .and_then(Value::as_str)
        .map(str::to_string)
}

async fn logs(args: Args) -> anyhow::Result<ExitCode> {
    let probe = Client::new(
        &args.endpoint,
        args.region.as_deref().unwrap_or("us-east-1"),
        None,
    )?;
    let apps = if args.function.starts_with("arn:") {
        None
    } else {
        probe
            .rest(Method::GET, "/_baton/v1/apps", "baton", None)
            .await
            .ok()
    };
    let target = resolve(&args, apps.as_ref())?;
    let client = Client::new(&args.endpoint, &target.region, target.account.as_deref())?;
    let page = client
        .rest(
            Method::GET,
            &logs_path(&target.function, args.limit, None),
            "baton",
            None,
        )
        .await
        .with_context(|| {
            format!(
                "cannot read the logs of function {} in {}",
                target.function, target.region
            )
        })?;
    let mut cursor = print_invocations(&page);
    if page
        .get("Invocations")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
        && !args.follow
    {
        eprintln!("no invocations of {} yet", target.function);
    }
    while args.follow {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let page = client
            .rest(
                Method::GET,
                &logs_path(&target.function, 1000, cursor.as_deref()),
                "baton",
                None,
            )
            .await?;
        if let Some(c) = print_invocations(&page) {
            cursor = Some(c);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(function: &str) -> Args {
        Args {
            function: function.into(),
            limit: 10,
            follow: false,
            stage: None,
            region: None,
            app: None,
            endpoint: DEFAULT_ENDPOINT.into(),
        }
    }

    #[test]
    fn functions_resolve_by_arn_key_or_name() {
        let t = resolve(
            &args("arn:aws:lambda:ap-southeast-2:123456789012:function:f"),
            None,
        )
        .unwrap();
        assert_eq!(t.region, "ap-southeast-2");
        assert_eq!(t.account.as_deref(), Some("123456789012"));
        let apps = json!({"apps": [
            {"name": "svc", "stage": "dev", "region": "ap-southeast-2", "account": "000000000000",
             "functions": [{"key": "sqs", "name": "svc-dev-sqs", "arn": "x"}]},
            {"name": "svc", "stage": "prod", "region": "ap-southeast-2", "account": "000000000000",
             "functions": [{"key": "sqs", "name": "svc-prod-sqs", "arn": "y"}]},
        ]});
        let e = resolve(&args("sqs"), Some(&apps)).unwrap_err();
        assert!(e.to_string().contains("--stage"), "{e}");
        let mut a = args("sqs");
        a.stage = Some("dev".into());
        let t = resolve(&a, Some(&apps)).unwrap();
        assert_eq!(t.function, "svc-dev-sqs");
        assert_eq!(t.region, "ap-southeast-2");
        let t = resolve(&args("svc-prod-sqs"), Some(&apps)).unwrap();
        assert_eq!(t.function, "svc-prod-sqs");
        let mut a = args("other");
        a.region = Some("eu-west-1".into());
        assert_eq!(resolve(&a, Some(&apps)).unwrap().region, "eu-west-1");
    }

    #[test]
    fn paths_are_encoded() {
        assert_eq!(
            logs_path("arn:aws:lambda:r:1:function:f", 5, Some("0001-a.log")),
            "/_baton/v1/functions/arn%3Aaws%3Alambda%3Ar%3A1%3Afunction%3Af/logs?Limit=5&NextToken=0001-a.log"
        );
    }
}
