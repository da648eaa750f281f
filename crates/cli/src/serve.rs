//! `baton serve`: the AWS Step Functions API on one HTTP endpoint, backed by
//! an embedded SQLite database.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

/// `baton serve` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4566", env = "BATON_LISTEN")]
    listen: SocketAddr,
    /// Data directory (the database is DATA/baton.db; created if missing).
    #[arg(long, default_value = "./.baton", env = "BATON_DATA")]
    data: PathBuf,
    /// Scales every wait the engine makes (Wait states, retry back-off,
    /// timeouts, heartbeats); 0 skips Wait states and back-off.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// An AWS Step Functions Local MockConfigFile: StartExecution on
    /// `stateMachineArn#TestCase` answers Task states from that test case.
    #[arg(long, value_name = "FILE")]
    mock_config: Option<PathBuf>,
    /// The 12-digit account of every request (default: the access key id
    /// when it is 12 digits, else 000000000000).
    #[arg(long, value_name = "ID")]
    account: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(a) = &args.account {
        anyhow::ensure!(
            a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()),
            "--account must be 12 digits, got {a:?}"
        );
    }
    anyhow::ensure!(
        args.time_scale.is_finite() && args.time_scale >= 0.0,
        "--time-scale must be a number >= 0"
    );
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second initialisation (tests) is harmless.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(baton_server::serve(baton_server::ServeOptions {
        listen: args.listen,
        data_dir: args.data,
        time_scale: args.time_scale,
        mock_config: args.mock_config,
        account: args.account,
    }));
    // Blocking store calls still running get a moment; the engine has
    // already flushed what it acknowledged.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    result?;
    Ok(ExitCode::SUCCESS)
}
