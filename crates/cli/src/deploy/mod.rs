//! `baton deploy`: deploys a Serverless Framework app (serverless.yml with
//! the serverless-step-functions plugin) to a running Baton, over HTTP
//! only.
//!
//! - [`yaml`]: YAML with CloudFormation short-form tags → JSON.
//! - [`vars`]: `${opt:...}`, `${self:...}`, `${env:...}`, ... variables.
//! - [`cfn`]: `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, ...
//! - [`plan`]: the resolved configuration → what to create or update.
//! - [`apply`]: the plan carried out against Baton's APIs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::client::{Client, DEFAULT_ENDPOINT};

pub mod apply;
pub mod cfn;
pub mod plan;
pub mod vars;
pub mod yaml;

pub use apply::Log;
pub use plan::{BuildOptions, Plan};

/// The account resources are made in unless `--account`.
pub const DEFAULT_ACCOUNT: &str = "000000000000";

/// `baton deploy` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The app: a folder with serverless.yml, or the file itself.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// The stage (`${opt:stage}`; default: provider.stage, else dev).
    #[arg(long, short = 's')]
    stage: Option<String>,
    /// The region (`${opt:region}`; default: provider.region, else us-east-1).
    #[arg(long, short = 'r')]
    region: Option<String>,
    /// Baton's URL.
    #[arg(long, env = "BATON_ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    endpoint: String,
    /// The 12-digit account to deploy into (default 000000000000).
    #[arg(long, value_name = "ID")]
    account: Option<String>,
    /// Do not run `npm install` for a package.json without node_modules.
    #[arg(long)]
    no_install: bool,
    /// Print the resolved plan as JSON and deploy nothing.
    #[arg(long)]
    dry_run: bool,
}

/// What [`deploy`] needs besides the client.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: PathBuf,
    pub stage: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    pub install: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    check_account(args.account.as_deref())?;
    let request = Request {
        path: args.path,
        stage: args.stage,
        region: args.region,
        account: args.account,
        install: !args.no_install,
    };
    if args.dry_run {
        let (plan, _) = build_plan(&request, &args.endpoint)?;
        print_notes(&plan);
        crate::out(&serde_json::to_string_pretty(&plan::to_json(&plan)).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let plan = runtime.block_on(deploy(&request, &args.endpoint, Log { to_stderr: false }))?;
    if let Some(sm) = plan.state_machines.first() {
        crate::out(&format!(
            "Invoke with: baton invoke --name {} --data '{{}}'",
            sm.key
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks `--account`.
pub fn check_account(account: Option<&str>) -> anyhow::Result<()> {
    if let Some(a) = account {
        anyhow::ensure!(
            a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()),
            "--account must be 12 digits, got {a:?}"
        );
    }
    Ok(())
}

/// Reads serverless.yml and builds the plan (no server involved).
pub fn build_plan(request: &Request, endpoint: &str) -> anyhow::Result<(Plan, serde_json::Value)> {
    let (dir, file) = plan::locate(&request.path)?;
    let raw = plan::read(&file)?;
    let opts = BuildOptions {
        stage: request.stage.clone(),
        region: request.region.clone(),
        account: request
            .account
            .clone()
            .unwrap_or_else(|| DEFAULT_ACCOUNT.into()),
        endpoint: endpoint.trim_end_matches('/').to_string(),
        directory: dir,
        queue_urls: Default::default(),
    };
    let env = |k: &str| std::env::var(k).ok();
    let plan = plan::build(&raw, &opts, &env)?;
    Ok((plan, raw))
}

fn print_notes(plan: &Plan) {
    for w in &plan.warnings {
        eprintln!("warning: {w}");
    }
    for n in &plan.notes {
        eprintln!("note: {n}");
    }
}

/// Deploys the app of `request` to Baton at `endpoint`; answers the plan
/// carried out.
pub async fn deploy(request: &Request, endpoint: &str, log: Log) -> anyhow::Result<Plan> {
    let (mut plan, raw) = build_plan(request, endpoint)?;
    print_notes(&plan);
    if request.install {
        npm_install(&plan.directory, log).await?;
    }
    let client = Client::new(endpoint, &plan.region, request.account.as_deref())?;
    log.line(&format!(
        "Deploying {} (stage {}, region {}) to {}",
        plan.service,
        plan.stage,
        plan.region,
        client.endpoint()
    ));
    let urls = apply::queues(&client, &plan, log).await?;
    if plan
        .queues
        .iter()
        .any(|q| urls.get(&q.logical_id) != Some(&q.url))
    {
        // Baton names queue URLs by its own address: resolve again with them.
        let opts = BuildOptions {
            stage: request.stage.clone(),
            region: request.region.clone(),
            account: plan.account.clone(),
            endpoint: endpoint.trim_end_matches('/').to_string(),
            directory: plan.directory.clone(),
            queue_urls: urls,
        };
        let env = |k: &str| std::env::var(k).ok();
        plan = plan::build(&raw, &opts, &env)?;
    }
    apply::rest(&client, &plan, log).await?;
    apply::record(&client, &plan).await?;
    log.line(&format!(
        "Deployed {} (stage {}): {} state machine(s), {} function(s), {} queue(s), {} topic(s)",
        plan.service,
        plan.stage,
        plan.state_machines.len(),
        plan.functions.len(),
        plan.queues.len(),
        plan.topics.len()
    ));
    Ok(plan)
}

/// `npm install` in an app folder with package.json and no node_modules.
async fn npm_install(dir: &Path, log: Log) -> anyhow::Result<()> {
    if !dir.join("package.json").is_file() || dir.join("node_modules").exists() {
        return Ok(());
    }
    log.line(&format!(
        "Installing dependencies: npm install (in {})",
        dir.display()
    ));
    let status = tokio::process::Command::new("npm")
        .arg("install")
        .arg("--no-audit")
        .arg("--no-fund")
        .current_dir(dir)
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .status()
        .await;
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => anyhow::bail!(
            "npm install failed in {} ({s}): if you are offline, install the dependencies when \
             you are back online (or copy node_modules in), then deploy again; --no-install skips this step",
            dir.display()
        ),
        Err(e) => anyhow::bail!(
            "cannot run npm ({e}): {} has a package.json but no node_modules; install Node.js and npm, \
             or install the dependencies yourself (--no-install skips this step)",
            dir.display()
        ),
    }
}
