//! The validated, compiled form of a state machine definition.
//!
//! Raw JSON becomes this model in [`crate::load`] (ripgrep's "low args → high
//! args"): paths and templates are compiled, transitions are resolved to state
//! indices, defaults are filled in. The interpreter reads only this model.

use indexmap::IndexMap;
use serde_json::Value;

use crate::intrinsics::Call;
use crate::path::Path;
use crate::payload::Template;

/// Which expression language a state's fields are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueryLanguage {
    /// The default: paths, payload templates, intrinsic functions.
    #[default]
    JsonPath,
    /// `{% ... %}` expressions.
    Jsonata,
}

/// A whole state machine.
#[derive(Debug, Clone)]
pub struct Definition {
    pub comment: Option<String>,
    pub version: Option<String>,
    /// The execution's own `TimeoutSeconds`.
    pub timeout_seconds: Option<u64>,
    pub query_language: QueryLanguage,
    /// The top-level states.
    pub graph: Graph,
}

/// A set of states with a start: the top level, a Parallel branch or a Map's
/// item processor.
#[derive(Debug, Clone)]
pub struct Graph {
    pub start_at: String,
    /// Index of the `StartAt` state in `states`.
    pub start: usize,
    /// The states in definition order, keyed by name.
    pub states: IndexMap<String, State>,
}

impl Graph {
    /// The state at `index`.
    pub fn state(&self, index: usize) -> &State {
        &self.states[index]
    }

    /// The index of the state called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.states.get_index_of(name)
    }
}

/// Where a state goes when it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// `Next`: the target's name and its index in the same graph.
    Next(String, usize),
    /// `End: true`, or a terminal state (Succeed, Fail).
    End,
    /// Choice states transition through their rules.
    Choice,
}

/// A `*Path` field (`InputPath`, `OutputPath`, `ResultPath`): absent (the
/// default `$`), explicitly `null`, or a path.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum PathField {
    #[default]
    Default,
    Null,
    Path(Path),
}

/// A field that is a literal, a path, or (JSONata) an expression; e.g.
/// `TimeoutSeconds` / `TimeoutSecondsPath`, `Seconds` / `SecondsPath`.
#[derive(Debug, Clone, PartialEq)]
pub enum Dynamic<T> {
    Literal(T),
    Path(Path),
    /// A `{% ... %}` JSONata expression (kept as written).
    Jsonata(String),
}

/// A Fail state's `Error`/`Cause`: literal, `ErrorPath`/`CausePath` (a path or
/// an intrinsic), or JSONata.
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    Literal(String),
    Path(Path),
    Intrinsic(Call),
    Jsonata(String),
}

/// One state.
#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    pub comment: Option<String>,
    /// The effective language (the state's own, or the definition's).
    pub query_language: QueryLanguage,
    pub transition: Transition,
    pub io: Io,
    pub kind: StateKind,
}

/// The input/output processing fields, in the order AWS applies them.
/// Which are allowed depends on the state type; the loader enforces that.
#[derive(Debug, Clone, Default)]
pub struct Io {
    pub input_path: PathField,
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: PathField,
    pub output_path: PathField,
    /// JSONPath-mode `Assign` (a payload template) or JSONata `Assign` (raw).
    pub assign: Option<Assign>,
    /// JSONata `Arguments` (raw, evaluated by the JSONata adapter).
    pub arguments: Option<Value>,
    /// JSONata `Output` (raw).
    pub output: Option<Value>,
}

/// A state's (or rule's, or catcher's) `Assign`.
#[derive(Debug, Clone, PartialEq)]
pub enum Assign {
    JsonPath(Template),
    Jsonata(Value),
}

/// The type-specific part of a state.
#[derive(Debug, Clone)]
pub enum StateKind {
    Pass(Pass),
    Task(Box<Task>),
    Choice(Choice),
    Wait(Wait),
    Succeed,
    Fail(Fail),
    Parallel(Parallel),
    Map(Box<Map>),
}

impl StateKind {
    /// The `Type` field's value.
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass(_) => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail(_) => "Fail",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Pass {
    /// `Result`, placed by ResultPath.
    pub result: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Task {
    /// The `Resource` URI as written.
    pub resource: String,
    pub timeout_seconds: Option<Dynamic<u64>>,
    pub heartbeat_seconds: Option<Dynamic<u64>>,
    /// `Credentials` (accepted and recorded in TaskScheduled).
    pub credentials: Option<Template>,
    pub recovery: Recovery,
}

/// `Retry` and `Catch` (Task, Parallel, Map).
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

/// `JitterStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    #[default]
    None,
    Full,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    /// Default 1.
    pub interval_seconds: u64,
    /// Default 3.
    pub max_attempts: u64,
    /// Default 2.0.
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    /// Target name and index.
    pub next: (String, usize),
    /// Default `$`.
    pub result_path: PathField,
    pub assign: Option<Assign>,
    /// JSONata `Output` (raw).
    pub output: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub choices: Vec<ChoiceBranch>,
    /// `Default`: target name and index.
    pub default: Option<(String, usize)>,
}

/// A top-level Choice rule, with its target.
#[derive(Debug, Clone)]
pub struct ChoiceBranch {
    pub rule: ChoiceRule,
    pub next: (String, usize),
    pub assign: Option<Assign>,
    /// JSONata `Output` (raw).
    pub output: Option<Value>,
}

/// A Boolean expression over the input.
#[derive(Debug, Clone, PartialEq)]
pub enum ChoiceRule {
    And(Vec<ChoiceRule>),
    Or(Vec<ChoiceRule>),
    Not(Box<ChoiceRule>),
    /// `Variable` compared with `Operator`.
    Compare {
        variable: Path,
        op: Comparison,
        operand: Operand,
    },
    /// JSONata `Condition`: a boolean literal or `{% ... %}` (raw).
    Condition(Value),
}

/// The right-hand side of a comparison: a literal, or a path for `…Path`
/// operators.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Literal(Value),
    Path(Path),
}

/// Every comparison operator (the `…Path` forms carry an [`Operand::Path`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

impl Comparison {
    /// All operators with their ASL names (without the `Path` suffix).
    pub const ALL: &'static [(&'static str, Comparison)] = &[
        ("StringEquals", Comparison::StringEquals),
        ("StringLessThan", Comparison::StringLessThan),
        ("StringGreaterThan", Comparison::StringGreaterThan),
        ("StringLessThanEquals", Comparison::StringLessThanEquals),
        (
            "StringGreaterThanEquals",
            Comparison::StringGreaterThanEquals,
        ),
        ("StringMatches", Comparison::StringMatches),
        ("NumericEquals", Comparison::NumericEquals),
        ("NumericLessThan", Comparison::NumericLessThan),
        ("NumericGreaterThan", Comparison::NumericGreaterThan),
        ("NumericLessThanEquals", Comparison::NumericLessThanEquals),
        (
            "NumericGreaterThanEquals",
            Comparison::NumericGreaterThanEquals,
        ),
        ("BooleanEquals", Comparison::BooleanEquals),
        ("TimestampEquals", Comparison::TimestampEquals),
        ("TimestampLessThan", Comparison::TimestampLessThan),
        ("TimestampGreaterThan", Comparison::TimestampGreaterThan),
        (
            "TimestampLessThanEquals",
            Comparison::TimestampLessThanEquals,
        ),
        (
            "TimestampGreaterThanEquals",
            Comparison::TimestampGreaterThanEquals,
        ),
        ("IsNull", Comparison::IsNull),
        ("IsPresent", Comparison::IsPresent),
        ("IsNumeric", Comparison::IsNumeric),
        ("IsString", Comparison::IsString),
        ("IsBoolean", Comparison::IsBoolean),
        ("IsTimestamp", Comparison::IsTimestamp),
    ];

    /// Whether the operator has a `…Path` form.
    pub fn has_path_form(self) -> bool {
        !matches!(
            self,
            Comparison::StringMatches
                | Comparison::IsNull
                | Comparison::IsPresent
                | Comparison::IsNumeric
                | Comparison::IsString
                | Comparison::IsBoolean
                | Comparison::IsTimestamp
        )
    }
}

#[derive(Debug, Clone)]
pub struct Wait {
    pub until: WaitFor,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    /// `Seconds` / `SecondsPath` / JSONata `Seconds`.
    Seconds(Dynamic<u64>),
    /// `Timestamp` / `TimestampPath` / JSONata `Timestamp`.
    Timestamp(Dynamic<String>),
}

#[derive(Debug, Clone)]
pub struct Fail {
    pub error: Option<Text>,
    pub cause: Option<Text>,
}

#[derive(Debug, Clone)]
pub struct Parallel {
    pub branches: Vec<Graph>,
    pub recovery: Recovery,
}

/// `ItemProcessor.ProcessorConfig.Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapMode {
    #[default]
    Inline,
    Distributed,
}

#[derive(Debug, Clone)]
pub struct Map {
    /// `ItemProcessor` (or the legacy `Iterator`).
    pub processor: Graph,
    pub mode: MapMode,
    /// `ProcessorConfig.ExecutionType` (distributed).
    pub execution_type: Option<String>,
    /// `ItemsPath` (default `$`).
    pub items_path: PathField,
    /// JSONata `Items` (raw).
    pub items: Option<Value>,
    /// `ItemSelector` (or the legacy `Parameters`).
    pub item_selector: Option<Template>,
    /// JSONata `ItemSelector` (raw).
    pub item_selector_jsonata: Option<Value>,
    /// `MaxConcurrency` / `MaxConcurrencyPath` (0 = unlimited).
    pub max_concurrency: Dynamic<u64>,
    pub tolerated_failure_count: Option<Dynamic<u64>>,
    pub tolerated_failure_percentage: Option<Dynamic<f64>>,
    /// Distributed Map configuration, validated and kept as written.
    pub item_reader: Option<Value>,
    pub item_batcher: Option<Value>,
    pub result_writer: Option<Value>,
    pub label: Option<String>,
    pub recovery: Recovery,
}
