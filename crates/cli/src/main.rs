//! The `baton` command: thin glue over the library crates.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod bench_engine;
mod bench_sqs;
mod client;
mod conformance;
mod deploy;
mod invoke;
mod logs;
mod run;
mod run_local;
mod serve;
mod validate;

/// The interpreter and the engine allocate many small values; mimalloc is
/// markedly faster at that than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Baton runs AWS Step Functions state machines on your own machines.
#[derive(Parser)]
#[command(name = "baton", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validates state machine definitions and prints every problem found.
    Validate(validate::Args),
    /// Runs a definition in process and prints its output (and history).
    RunLocal(run_local::Args),
    /// Replays a conformance suite (LocalStack's AWS-recorded snapshots, the
    /// asl-validator definitions, ...) and prints pass/fail counts.
    Conformance(conformance::Args),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(bench::Command),
    /// Serves the AWS Step Functions API (boto3, the aws CLI and the SDKs
    /// work unchanged) with executions kept in an embedded database.
    Serve(serve::Args),
    /// Deploys a Serverless Framework app (serverless.yml) to a running
    /// Baton: queues, topics, functions, subscriptions, state machines.
    Deploy(deploy::Args),
    /// Starts an execution of a deployed state machine (by its key under
    /// stepFunctions.stateMachines), waits for it and prints it.
    Invoke(invoke::Args),
    /// Starts Baton in process, deploys an app, invokes a state machine,
    /// prints the result and stops.
    Run(run::Args),
    /// Prints a function's invocation logs (START/END/REPORT and its
    /// output), like `sls logs -f FUNCTION`.
    Logs(logs::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::RunLocal(args) => run_local::run(args),
        Command::Conformance(args) => conformance::run(args),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Serve(args) => serve::run(args),
        Command::Deploy(args) => deploy::run(args),
        Command::Invoke(args) => invoke::run(args),
        Command::Run(args) => run::run(args),
        Command::Logs(args) => logs::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints a line to stdout; a closed pipe (`baton … | head`) ends the
/// program quietly, as ripgrep does.
pub(crate) fn out(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {e}");
        std::process::exit(2);
    }
}

/// Reads a file, naming it in the error.
pub(crate) fn read_file(path: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
}
