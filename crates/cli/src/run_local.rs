//! `baton run-local`: runs a definition in process. Task states are answered
//! from an AWS Step Functions Local MockConfigFile; Wait states and retry
//! back-offs take no real time.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use baton_asl::env::FixedEnv;
use baton_interp::StartContext;
use baton_interp::driver::{self, RunOptions, Status, TaskHandler};
use baton_interp::mock::{NoTasks, TestCase};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The state machine definition (Amazon States Language, JSON).
    file: PathBuf,
    /// The execution input (JSON text).
    #[arg(long, default_value = "{}")]
    input: String,
    /// Also print the execution history, as GetExecutionHistory returns it.
    #[arg(long)]
    history: bool,
    /// A MockConfigFile (AWS Step Functions Local format) answering Task states.
    #[arg(long, requires = "test_case")]
    mock: Option<PathBuf>,
    /// The test case in the mock file.
    #[arg(long, requires = "mock")]
    test_case: Option<String>,
    /// The state machine's name in the mock file (default: FILE's stem).
    #[arg(long)]
    state_machine: Option<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let src = crate::read_file(&args.file)?;
    let (def, diags) = baton_asl::load::load_str(&src);
    let Some(def) = def else {
        for d in &diags {
            eprintln!("{}: {d}", args.file.display());
        }
        bail!("{}: invalid definition", args.file.display());
    };
    let input: Value = serde_json::from_str(&args.input).context("--input is not valid JSON")?;
    let stem = args
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("StateMachine")
        .to_string();
    let machine = args.state_machine.clone().unwrap_or_else(|| stem.clone());
    let mut handler: Box<dyn TaskHandlerWithMissing> = match (&args.mock, &args.test_case) {
        (Some(mock), Some(case)) => {
            let text = crate::read_file(mock)?;
            let config: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", mock.display()))?;
            Box::new(TestCase::from_config(&config, &machine, case)?)
        }
        _ => Box::new(NoTasks::default()),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let seed = now as u64 ^ u64::from(std::process::id()).rotate_left(32);
    let mut env = FixedEnv::new(now, seed);
    let execution_name = env_uuid(&mut env);
    let start = StartContext {
        input_text: Some(args.input.clone()),
        ..StartContext::local(&machine, &execution_name, input)
    };
    let outcome = driver::run(
        &def,
        start,
        handler.as_handler(),
        &mut env,
        &RunOptions { keep_history: true },
    );
    if args.history {
        let events: Vec<Value> = outcome.events.iter().map(|e| e.to_aws_json(true)).collect();
        crate::out(&serde_json::to_string_pretty(&json!({ "events": events }))?);
    }
    if let Some(missing) = handler.missing() {
        eprintln!("error: {missing}");
        return Ok(ExitCode::FAILURE);
    }
    match outcome.status {
        Status::Succeeded => {
            let output = outcome.output.unwrap_or(Value::Null);
            crate::out(&serde_json::to_string_pretty(&output)?);
            Ok(ExitCode::SUCCESS)
        }
        Status::Running => {
            eprintln!(
                "error: the execution waits for something that never comes in a local run (a task that is never answered and has no timeout)"
            );
            Ok(ExitCode::FAILURE)
        }
        status => {
            eprintln!("execution {}", status.as_str());
            if let Some(e) = &outcome.error {
                eprintln!("error: {e}");
            }
            if let Some(c) = &outcome.cause {
                eprintln!("cause: {c}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

fn env_uuid(env: &mut FixedEnv) -> String {
    baton_asl::Env::uuid_v4(env)
}

/// A task handler that remembers the first Task it could not answer.
trait TaskHandlerWithMissing {
    fn as_handler(&mut self) -> &mut dyn TaskHandler;
    fn missing(&self) -> Option<String>;
}

impl TaskHandlerWithMissing for TestCase {
    fn as_handler(&mut self) -> &mut dyn TaskHandler {
        self
    }
    fn missing(&self) -> Option<String> {
        self.missing.as_ref().map(ToString::to_string)
    }
}

impl TaskHandlerWithMissing for NoTasks {
    fn as_handler(&mut self) -> &mut dyn TaskHandler {
        self
    }
    fn missing(&self) -> Option<String> {
        self.missing.as_ref().map(ToString::to_string)
    }
}
