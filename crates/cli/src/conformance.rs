//! `baton conformance PATH`: replays a conformance suite and prints counts.
//!
//! PATH is either a folder laid out like LocalStack's Step Functions snapshot
//! suite (`INDEX.json`, `v2/**/*.snapshot.json`, `json/templates/**`) or the
//! asl-validator definitions (`definitions/valid-*.json`). `--http` also
//! replays the LocalStack suite through Baton's HTTP API.

use std::path::PathBuf;
use std::process::ExitCode;

use baton_conformance::localstack;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The suite's root folder.
    path: PathBuf,
    /// Known-failures file (`node-id  # reason` per line); defaults to the
    /// list built in (conformance/known-failures.txt).
    #[arg(long)]
    known_failures: Option<PathBuf>,
    /// Only run entries whose node id contains this.
    #[arg(long)]
    filter: Option<String>,
    /// Show the first difference of every failure.
    #[arg(long)]
    verbose: bool,
    /// Print every entry's verdict (`PASS|FAIL|SKIP node-id  # reason`) first.
    #[arg(long)]
    list: bool,
    /// Also replay through Baton's HTTP API (Baton started in process on
    /// 127.0.0.1:0 with a temporary SQLite store); prints both modes and
    /// their sum.
    #[arg(long)]
    http: bool,
    /// Only the HTTP mode.
    #[arg(long, conflicts_with = "http")]
    http_only: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.path.join("definitions").is_dir() && !args.path.join("INDEX.json").is_file() {
        let report = baton_conformance::asl_validator::run(&args.path)?;
        println!("{report}");
        return Ok(if report.passed() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let known = localstack::read_known_failures(args.known_failures.as_deref())?;
    let options = localstack::Options {
        filter: args.filter,
        table: None,
    };
    let filtered = options.filter.is_some();
    let mut modes = Vec::new();
    if !args.http_only {
        modes.push(localstack::Mode::Driver);
    }
    if args.http || args.http_only {
        modes.push(localstack::Mode::Http);
    }
    let mut reports = Vec::new();
    for mode in modes {
        reports.push(localstack::run_mode(&args.path, &options, mode)?);
    }
    if args.list {
        for r in &reports {
            for line in r.list().lines() {
                println!("[{}] {line}", r.mode.as_str());
            }
        }
    }
    println!("{}", localstack::render_all(&reports, args.verbose, &known));
    // The known-failures list must stay equal to what fails: an entry
    // listed but passing fails the run too.
    let clean = reports.iter().all(|r| {
        r.unexpected_failures(&known).is_empty()
            && r.stale_known_failures(&known, filtered).is_empty()
    });
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
