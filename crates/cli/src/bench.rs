//! `baton bench ...`.

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Interpreter throughput (CPU only, one execution at a time).
    Interp,
}

pub(crate) fn run(_cmd: Command) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
