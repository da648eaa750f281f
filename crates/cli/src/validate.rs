//! `baton validate`.

use std::path::PathBuf;
use std::process::ExitCode;

use baton_asl::load;

/// Validates state machine definitions (JSON) and prints every problem found.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Definition files (JSON).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Validate for an EXPRESS state machine (refuses activities, `.sync` and
    /// `.waitForTaskToken`).
    #[arg(long)]
    express: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = load::Options {
        express: args.express,
    };
    let mut all_valid = true;
    for file in &args.files {
        let src = crate::read_file(file)?;
        let (_, diagnostics) = load::load_str_with(&src, &options);
        if diagnostics.is_empty() {
            println!("{}: valid", file.display());
        } else {
            all_valid = false;
            for d in &diagnostics {
                println!("{}: {d}", file.display());
            }
        }
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
