//! `baton bench ...`.
//!
//! `baton bench interp` measures the in-process interpreter the way the peer
//! benchmark `asl_local_stepfunctions.cjs` (npm `aws-local-stepfunctions`)
//! measures its own: the same three definitions, one execution at a time on
//! one thread, the input built afresh for every execution, the output checked,
//! and throughput counted in state transitions (one per state entered, as AWS
//! bills them) per second of wall time. Executions run as Express executions
//! (no history kept). `bench/interp-vs-peer.sh` runs both side by side.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use baton_asl::env::FixedEnv;
use baton_asl::{Definition, Diagnostic};
use baton_interp::driver::{
    self, RunOptions, StartContext, Status, TaskAnswer, TaskHandler, TaskRequest,
};

#[derive(clap::Subcommand)]
pub(crate) enum Command {
    /// Interpreter throughput (CPU only, one execution at a time).
    Interp(InterpArgs),
    /// Durable transitions/s: concurrent 100-Pass chains, counted once committed.
    Durable(crate::bench_engine::DurableArgs),
    /// Callback latency over HTTP: SendTaskSuccess -> next activity task at a waiting poller.
    Callbacks(crate::bench_engine::CallbacksArgs),
    /// Executions waiting on task tokens across a restart: memory, all answered.
    Waiting(crate::bench_engine::WaitingArgs),
    /// Durable timer lateness: many Wait timers due within a minute.
    Timers(crate::bench_engine::TimersArgs),
    /// SQS messages/s: send → receive → delete cycles over HTTP (JSON protocol), durable.
    Sqs(crate::bench_sqs::SqsArgs),
}

#[derive(clap::Args)]
pub(crate) struct InterpArgs {
    /// Print one JSON line per workload instead of a table.
    #[arg(long)]
    json: bool,
    /// Run only this workload (repeatable; default: all three).
    #[arg(long, value_enum)]
    workload: Vec<WorkloadName>,
    /// Measured wall time per workload, in seconds.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Warm-up wall time per workload, in seconds (at least one execution runs).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Equal time windows the measurement is split into; the reported rate is
    /// the median over windows (the peer reports the median over runs).
    #[arg(long, default_value_t = 5)]
    windows: u32,
}

/// The three workloads of the peer benchmark.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum WorkloadName {
    /// 100 chained Pass states with Parameters and ResultPath (peer: a_pass100).
    PassChain,
    /// A Choice loop incrementing a counter 1,000 times with States.MathAdd (peer: b_choice1000).
    ChoiceLoop,
    /// A Map over 10,000 items with a Pass inside (peer: c_map10000; results
    /// replace the items to stay under AWS's 256 KiB payload limit).
    Map,
}

const ALL_WORKLOADS: [WorkloadName; 3] = [
    WorkloadName::PassChain,
    WorkloadName::ChoiceLoop,
    WorkloadName::Map,
];

impl WorkloadName {
    fn name(self) -> &'static str {
        match self {
            WorkloadName::PassChain => "pass-chain",
            WorkloadName::ChoiceLoop => "choice-loop",
            WorkloadName::Map => "map",
        }
    }

    /// The scenario name in the peer script's output.
    fn peer_name(self) -> &'static str {
        match self {
            WorkloadName::PassChain => "a_pass100",
            WorkloadName::ChoiceLoop => "b_choice1000",
            WorkloadName::Map => "c_map10000",
        }
    }
}

/// One workload: its definition, how to build an input, how to check an
/// output, and the states an execution enters.
struct Workload {
    name: WorkloadName,
    definition: Definition,
    input: fn() -> Value,
    check: fn(&Value) -> bool,
    transitions_per_execution: u64,
}

fn pass_chain_definition(n: usize) -> Value {
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let mut state = json!({
            "Type": "Pass",
            "Parameters": { "step": i, "prev.$": "$.data.step", "order.$": "$.order.id" },
            "ResultPath": "$.data",
        });
        if let Some(obj) = state.as_object_mut() {
            if i + 1 == n {
                obj.insert("End".into(), Value::Bool(true));
            } else {
                obj.insert("Next".into(), Value::String(format!("P{}", i + 1)));
            }
        }
        states.insert(format!("P{i}"), state);
    }
    json!({ "StartAt": "P0", "States": states })
}

fn choice_loop_definition(limit: u64) -> Value {
    json!({
        "StartAt": "Init",
        "States": {
            "Init": { "Type": "Pass", "Parameters": { "counter": 0 }, "Next": "Check" },
            "Check": {
                "Type": "Choice",
                "Choices": [{ "Variable": "$.counter", "NumericLessThan": limit, "Next": "Incr" }],
                "Default": "Done",
            },
            "Incr": { "Type": "Pass", "Parameters": { "counter.$": "States.MathAdd($.counter, 1)" }, "Next": "Check" },
            "Done": { "Type": "Succeed" },
        },
    })
}

/// The peer's Map definition, with one deviation: the results replace the
/// items (`ResultPath: $.items`) instead of being added beside them
/// (`$.out`). With `$.out` the Map state's output is about 360 KB, over AWS's
/// 256 KiB payload limit, so AWS (and Baton, which enforces the limit) fails
/// the execution with `States.DataLimitExceeded`; the peer does not enforce
/// the limit. The work measured is the same: 10,000 iterations of the same
/// Pass state and one ResultPath write of the 10,000 results.
fn map_definition() -> Value {
    json!({
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "P",
                    "States": { "P": { "Type": "Pass", "Parameters": { "x.$": "$.v", "tag": "done" }, "End": true } },
                },
                "ResultPath": "$.items",
                "End": true,
            },
        },
    })
}

fn pass_chain_input() -> Value {
    json!({ "data": { "step": -1 }, "order": { "id": "ord-1", "amount": 42, "items": [{ "sku": "A", "qty": 1 }] } })
}

fn pass_chain_check(out: &Value) -> bool {
    out.pointer("/data/step").and_then(Value::as_i64) == Some(99)
}

fn choice_loop_input() -> Value {
    json!({})
}

fn choice_loop_check(out: &Value) -> bool {
    out.get("counter").and_then(Value::as_f64) == Some(1000.0)
}

const MAP_ITEMS: usize = 10_000;

fn map_input() -> Value {
    let items: Vec<Value> = (0..MAP_ITEMS).map(|i| json!({ "v": i })).collect();
    json!({ "items": items })
}

fn map_check(out: &Value) -> bool {
    match out.get("items").and_then(Value::as_array) {
        Some(a) => {
            a.len() == MAP_ITEMS
                && a.last().and_then(|x| x.get("x")).and_then(Value::as_i64) == Some(9_999)
        }
        None => false,
    }
}

fn load(name: WorkloadName, value: &Value) -> anyhow::Result<Definition> {
    let src = serde_json::to_string(value)?;
    let (definition, diagnostics) = baton_asl::load::load_str(&src);
    match definition {
        Some(d) => Ok(d),
        None => anyhow::bail!(
            "cannot load the {} definition: {}",
            name.name(),
            describe(&diagnostics)
        ),
    }
}

fn describe(diagnostics: &[Diagnostic]) -> String {
    if diagnostics.is_empty() {
        return "the loader returned no definition and no diagnostic".into();
    }
    diagnostics
        .iter()
        .map(|d| format!("{}: {} (at '{}')", d.code, d.message, d.location))
        .collect::<Vec<_>>()
        .join("; ")
}

fn workload(name: WorkloadName) -> anyhow::Result<Workload> {
    Ok(match name {
        WorkloadName::PassChain => Workload {
            name,
            definition: load(name, &pass_chain_definition(100))?,
            input: pass_chain_input,
            check: pass_chain_check,
            transitions_per_execution: 100,
        },
        WorkloadName::ChoiceLoop => Workload {
            name,
            definition: load(name, &choice_loop_definition(1000))?,
            input: choice_loop_input,
            check: choice_loop_check,
            // Init + 1,001 Check + 1,000 Incr + Done.
            transitions_per_execution: 2_003,
        },
        WorkloadName::Map => Workload {
            name,
            definition: load(name, &map_definition())?,
            input: map_input,
            check: map_check,
            // The Map state + one Pass per item.
            transitions_per_execution: 1 + MAP_ITEMS as u64,
        },
    })
}

/// The workloads have no Task state; any task request is a bug.
struct NoTasks;

impl TaskHandler for NoTasks {
    fn invoke(&mut self, request: &TaskRequest) -> TaskAnswer {
        TaskAnswer::Fail {
            error: Some("Bench.UnexpectedTask".into()),
            cause: Some(format!(
                "the benchmark has no task handler (state '{}')",
                request.state_name
            )),
            submitted: None,
        }
    }
}

struct Runner {
    start: StartContext,
    env: FixedEnv,
    options: RunOptions,
}

impl Runner {
    fn new(name: WorkloadName) -> Self {
        let mut start =
            StartContext::local(&format!("bench-{}", name.name()), "bench", Value::Null);
        // Express: no history, no history cap (the driver also applies RunOptions).
        start.keep_history = false;
        start.history_cap = false;
        Self {
            start,
            env: FixedEnv::new(1_700_000_000_000, 42),
            options: RunOptions {
                keep_history: false,
            },
        }
    }

    /// Runs one execution (input built inside, like the peer); returns the
    /// states it entered.
    fn execute(&mut self, w: &Workload) -> anyhow::Result<u64> {
        let mut start = self.start.clone();
        start.input = (w.input)();
        let outcome = driver::run(
            &w.definition,
            start,
            &mut NoTasks,
            &mut self.env,
            &self.options,
        );
        if outcome.status != Status::Succeeded {
            anyhow::bail!(
                "{}: the execution ended {} (error {}, cause {})",
                w.name.name(),
                outcome.status.as_str(),
                outcome.error.as_deref().unwrap_or("none"),
                outcome.cause.as_deref().unwrap_or("none"),
            );
        }
        let ok = outcome.output.as_ref().is_some_and(w.check);
        if !ok {
            let shown = outcome
                .output
                .as_ref()
                .map(|o| o.to_string())
                .unwrap_or_else(|| "no output".into());
            let shown: String = shown.chars().take(200).collect();
            anyhow::bail!("{}: unexpected output {shown}", w.name.name());
        }
        if outcome.states_entered != w.transitions_per_execution {
            anyhow::bail!(
                "{}: the execution entered {} states, expected {} (the count would not compare with the peer's)",
                w.name.name(),
                outcome.states_entered,
                w.transitions_per_execution,
            );
        }
        Ok(outcome.states_entered)
    }
}

/// The measurement of one workload.
struct Measurement {
    name: WorkloadName,
    transitions_per_execution: u64,
    executions: u64,
    transitions: u64,
    seconds: f64,
    /// Transitions per second of each window.
    window_rates: Vec<f64>,
}

impl Measurement {
    fn overall_rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.transitions as f64 / self.seconds
        } else {
            0.0
        }
    }

    fn median_rate(&self) -> f64 {
        let mut r = self.window_rates.clone();
        r.sort_by(f64::total_cmp);
        let n = r.len();
        match n {
            0 => self.overall_rate(),
            _ if n % 2 == 1 => r[n / 2],
            _ => (r[n / 2 - 1] + r[n / 2]) / 2.0,
        }
    }

    fn min_rate(&self) -> f64 {
        self.window_rates
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
    }

    fn max_rate(&self) -> f64 {
        self.window_rates.iter().copied().fold(0.0, f64::max)
    }

    fn executions_per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.executions as f64 / self.seconds
        } else {
            0.0
        }
    }

    fn ms_per_execution(&self) -> f64 {
        if self.executions > 0 {
            self.seconds * 1000.0 / self.executions as f64
        } else {
            0.0
        }
    }

    fn json(&self) -> Value {
        json!({
            "workload": self.name.name(),
            "transitions_per_sec": self.median_rate().round(),
            "executions": self.executions,
            "seconds": round3(self.seconds),
            "transitions_per_execution": self.transitions_per_execution,
            "transitions": self.transitions,
            "transitions_per_sec_overall": self.overall_rate().round(),
            "transitions_per_sec_min": self.min_rate().round(),
            "transitions_per_sec_max": self.max_rate().round(),
            "windows": self.window_rates.len(),
            "executions_per_sec": round3(self.executions_per_sec()),
            "ms_per_execution": round3(self.ms_per_execution()),
            "peer_scenario": self.name.peer_name(),
            "history": false,
            "concurrency": 1,
        })
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn measure(w: &Workload, args: &InterpArgs) -> anyhow::Result<Measurement> {
    let mut runner = Runner::new(w.name);

    // Warm-up: at least one execution (which also checks the workload runs).
    let warm = Duration::from_secs_f64(args.warmup);
    let t0 = Instant::now();
    loop {
        runner.execute(w)?;
        if t0.elapsed() >= warm {
            break;
        }
    }

    let windows = args.windows.max(1);
    let window = Duration::from_secs_f64(args.seconds / f64::from(windows));
    let mut m = Measurement {
        name: w.name,
        transitions_per_execution: w.transitions_per_execution,
        executions: 0,
        transitions: 0,
        seconds: 0.0,
        window_rates: Vec::with_capacity(windows as usize),
    };
    for _ in 0..windows {
        let start = Instant::now();
        let mut transitions = 0u64;
        loop {
            transitions += runner.execute(w)?;
            m.executions += 1;
            if start.elapsed() >= window {
                break;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        m.transitions += transitions;
        m.seconds += secs;
        m.window_rates.push(if secs > 0.0 {
            transitions as f64 / secs
        } else {
            0.0
        });
    }
    Ok(m)
}

fn print_table_header() {
    println!(
        "{:<12} {:>11} {:>10} {:>8} {:>10} {:>10} {:>14} {:>23}",
        "workload",
        "trans/exec",
        "execs",
        "secs",
        "exec/s",
        "ms/exec",
        "transitions/s",
        "(min-max over windows)"
    );
}

fn print_table_row(m: &Measurement) {
    println!(
        "{:<12} {:>11} {:>10} {:>8.2} {:>10.2} {:>10.3} {:>14.0} {:>23}",
        m.name.name(),
        m.transitions_per_execution,
        m.executions,
        m.seconds,
        m.executions_per_sec(),
        m.ms_per_execution(),
        m.median_rate(),
        format!("({:.0}-{:.0})", m.min_rate(), m.max_rate()),
    );
}

fn interp(args: InterpArgs) -> anyhow::Result<ExitCode> {
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        anyhow::bail!("--seconds must be a positive number");
    }
    if !(args.warmup.is_finite() && args.warmup >= 0.0) {
        anyhow::bail!("--warmup must be zero or a positive number");
    }
    let names: Vec<WorkloadName> = if args.workload.is_empty() {
        ALL_WORKLOADS.to_vec()
    } else {
        ALL_WORKLOADS
            .iter()
            .copied()
            .filter(|w| args.workload.contains(w))
            .collect()
    };
    if !args.json {
        println!(
            "baton interpreter, one execution at a time, no history; {} s per workload after {} s warm-up",
            args.seconds, args.warmup
        );
        print_table_header();
    }
    for name in names {
        let w = workload(name)?;
        let m = measure(&w, &args)?;
        if args.json {
            println!("{}", m.json());
        } else {
            print_table_row(&m);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Interp(args) => interp(args),
        Command::Durable(args) => crate::bench_engine::durable(args),
        Command::Callbacks(args) => crate::bench_engine::callbacks(args),
        Command::Waiting(args) => crate::bench_engine::waiting(args),
        Command::Timers(args) => crate::bench_engine::timers(args),
        Command::Sqs(args) => crate::bench_sqs::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_match_the_peer_script() {
        let p = pass_chain_definition(100);
        assert_eq!(p["States"].as_object().map(|o| o.len()), Some(100));
        assert_eq!(p["States"]["P0"]["Next"], "P1");
        assert_eq!(p["States"]["P99"]["End"], true);
        assert_eq!(p["States"]["P5"]["Parameters"]["step"], 5);
        let c = choice_loop_definition(1000);
        assert_eq!(c["States"]["Check"]["Choices"][0]["NumericLessThan"], 1000);
        assert_eq!(map_input()["items"].as_array().map(Vec::len), Some(10_000));
    }

    #[test]
    fn checks_accept_the_expected_outputs() {
        assert!(pass_chain_check(
            &json!({ "data": { "step": 99, "prev": 98, "order": "ord-1" } })
        ));
        assert!(!pass_chain_check(&json!({ "data": { "step": 98 } })));
        assert!(choice_loop_check(&json!({ "counter": 1000 })));
        let out: Vec<Value> = (0..MAP_ITEMS)
            .map(|i| json!({ "x": i, "tag": "done" }))
            .collect();
        assert!(map_check(&json!({ "items": out })));
        assert!(!map_check(&json!({ "items": [] })));
    }

    #[test]
    fn json_line_has_the_documented_keys() {
        let m = Measurement {
            name: WorkloadName::ChoiceLoop,
            transitions_per_execution: 2_003,
            executions: 10,
            transitions: 20_030,
            seconds: 2.0,
            window_rates: vec![9_000.0, 11_000.0, 10_000.0],
        };
        let j = m.json();
        assert_eq!(j["workload"], "choice-loop");
        assert_eq!(j["transitions_per_sec"], 10_000.0);
        assert_eq!(j["transitions_per_sec_overall"], 10_015.0);
        assert_eq!(j["executions"], 10);
        assert_eq!(j["seconds"], 2.0);
        assert_eq!(j["peer_scenario"], "b_choice1000");
        assert!(!j.to_string().contains('\n'));
    }
}
