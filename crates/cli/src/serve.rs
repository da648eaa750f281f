//! `baton serve`: the AWS Step Functions API on one HTTP endpoint, backed by
//! an embedded SQLite database.
//!
//! Signatures are accepted unchecked unless `--auth` is given; a non-loopback
//! `--listen` address is refused without `--auth` (or
//! `--insecure-allow-remote`).

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
    /// Verify every request's AWS SigV4 signature (Authorization header or
    /// presigned query) against the keys of --credentials; requests that are
    /// unsigned, signed with an unknown key, tampered with or more than 5
    /// minutes off the server's clock get AWS's error. Without --auth,
    /// signatures are accepted unchecked.
    #[arg(long)]
    auth: bool,
    /// The keys --auth accepts: a text file (mode 0600), one key a line,
    /// `ACCESS_KEY_ID SECRET_ACCESS_KEY [ACCOUNT]`, separated by spaces;
    /// blank lines and lines starting with # are ignored. ACCOUNT (12
    /// digits) is the account that key's requests act in.
    #[arg(long, value_name = "FILE", env = "BATON_CREDENTIALS")]
    credentials: Option<PathBuf>,
    /// Allow a non-loopback --listen address (e.g. 0.0.0.0) without --auth:
    /// anyone who can reach the port can then call the API unsigned.
    #[arg(long)]
    insecure_allow_remote: bool,
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
        auth: args.auth,
        credentials: args.credentials,
        insecure_allow_remote: args.insecure_allow_remote,
    }));
    // Blocking store calls still running get a moment; the engine has
    // already flushed what it acknowledged.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    result?;
    Ok(ExitCode::SUCCESS)
}
