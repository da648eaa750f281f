//! `baton conformance PATH`: replays a conformance suite and prints counts.
//!
//! PATH is either a folder laid out like LocalStack's Step Functions snapshot
//! suite (`INDEX.json`, `v2/**/*.snapshot.json`, `json/templates/**`) or the
//! asl-validator definitions (`definitions/valid-*.json`).

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
    let report = localstack::run(&args.path, &options)?;
    if args.list {
        print!("{}", report.list());
    }
    println!("{}", report.render(args.verbose, &known));
    // The known-failures list must stay equal to what fails: an entry
    // listed but passing fails the run too.
    Ok(
        if report.unexpected_failures(&known).is_empty()
            && report.stale_known_failures(&known, filtered).is_empty()
        {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}
