//! `baton run`: a Serverless Framework app end to end in one command: starts
//! Baton in process (a temporary data folder and an ephemeral loopback port
//! unless given), deploys the app to it, invokes a state machine, prints the
//! result, shuts down. Exits with the invocation's code.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::deploy::{self, Log};
use crate::invoke;

/// `baton run` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The app: a folder with serverless.yml, or the file itself.
    path: PathBuf,
    /// The state machine: its key under stepFunctions.stateMachines.
    #[arg(long, short = 'n')]
    name: String,
    /// The execution input (JSON text).
    #[arg(long, short = 'd', conflicts_with = "input_path")]
    data: Option<String>,
    /// A file holding the execution input (JSON).
    #[arg(long = "input-path", value_name = "FILE")]
    input_path: Option<PathBuf>,
    /// The stage (`${opt:stage}`).
    #[arg(long, short = 's')]
    stage: Option<String>,
    /// The region (`${opt:region}`).
    #[arg(long, short = 'r')]
    region: Option<String>,
    /// Keep Baton's data here (default: a temporary folder, removed after).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Listen here (default: 127.0.0.1 on a free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Do not run `npm install` for a package.json without node_modules.
    #[arg(long)]
    no_install: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let input = invoke::input(args.data.clone(), args.input_path.as_deref())?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let (data_dir, temporary) = match &args.data_dir {
        Some(d) => (d.clone(), false),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            (
                std::env::temp_dir().join(format!("baton-run-{}-{nanos}", std::process::id())),
                true,
            )
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(run_app(&args, input, &data_dir));
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    result
}

async fn run_app(
    args: &Args,
    input: Option<String>,
    data_dir: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let server = baton_server::start(
        baton_server::ServeOptions {
            listen,
            data_dir: data_dir.to_path_buf(),
            ..Default::default()
        },
        listener,
    )
    .await?;
    let endpoint = format!("http://{}", server.local_addr());
    eprintln!(
        "Baton is running at {endpoint} (data in {})",
        data_dir.display()
    );
    let outcome = async {
        let request = deploy::Request {
            path: args.path.clone(),
            stage: args.stage.clone(),
            region: args.region.clone(),
            account: None,
            install: !args.no_install,
        };
        let plan = deploy::deploy(&request, &endpoint, Log { to_stderr: true }).await?;
        anyhow::ensure!(
            plan.state_machines
                .iter()
                .any(|s| s.key == args.name || s.name == args.name || s.arn == args.name),
            "the app has no state machine {:?} (its keys: {})",
            args.name,
            plan.state_machines
                .iter()
                .map(|s| s.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        invoke::invoke(
            &endpoint,
            &invoke::Request {
                key: args.name.clone(),
                input,
                app: Some(plan.service.clone()),
                stage: Some(plan.stage.clone()),
                region: Some(plan.region.clone()),
            },
        )
        .await
    }
    .await;
    let stopped = server.shutdown().await;
    let code = outcome?;
    stopped?;
    Ok(code)
}
