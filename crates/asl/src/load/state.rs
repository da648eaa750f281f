//! One state of each of the eight types, with every field AWS accepts.

use serde_json::{Map, Value};

use super::graph::{self, GraphKind};
use super::{Cx, child, codes, item, jsonata, resource, type_name};
use crate::intrinsics;
use crate::model::{
    Assign, Catcher, Choice, ChoiceBranch, ChoiceRule, Comparison, Dynamic, Fail, Io, Jitter,
    Map as MapState, MapMode, Operand, Parallel, Pass, PathField, QueryLanguage, Recovery, Retrier,
    State, StateKind, Task, Text, Transition, Wait, WaitFor,
};
use crate::path::{Path, Root};
use crate::payload::Template;

/// A transition target found in a state, with where it was written.
#[derive(Debug, Clone)]
pub(crate) struct Edge {
    pub target: String,
    pub location: String,
}

const TYPES: &[&str] = &[
    "Task", "Wait", "Pass", "Succeed", "Fail", "Choice", "Parallel", "Map",
];
const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];
const IO_PATHS: &[&str] = &["InputPath", "OutputPath"];

/// Fields that exist only in JSONPath states.
const JSONPATH_ONLY: &[&str] = &[
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Result",
    "ItemsPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCountPath",
];
/// Fields that exist only in JSONata states.
const JSONATA_ONLY: &[&str] = &["Arguments", "Output", "Items"];

fn fields(ty: &str) -> Vec<&'static str> {
    let own: &[&str] = match ty {
        "Pass" => &[
            "Next",
            "End",
            "Parameters",
            "ResultPath",
            "Result",
            "Assign",
            "Output",
        ],
        "Task" => &[
            "Next",
            "End",
            "Resource",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
            "Assign",
            "Arguments",
            "Output",
        ],
        "Choice" => &["Choices", "Default", "Assign", "Output"],
        "Wait" => &[
            "Next",
            "End",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Assign",
            "Output",
        ],
        "Succeed" => &["Output"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Next",
            "End",
            "Branches",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Assign",
            "Arguments",
            "Output",
        ],
        "Map" => &[
            "Next",
            "End",
            "ItemProcessor",
            "Iterator",
            "ItemsPath",
            "Items",
            "ItemSelector",
            "Parameters",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "Label",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Assign",
            "Output",
        ],
        _ => &[],
    };
    let mut all: Vec<&'static str> = COMMON.to_vec();
    if ty != "Fail" {
        all.extend_from_slice(IO_PATHS);
    }
    all.extend_from_slice(own);
    all
}

/// Per-state loading context.
struct St<'a> {
    obj: &'a Map<String, Value>,
    loc: &'a str,
    ql: QueryLanguage,
    edges: Vec<Edge>,
}

impl St<'_> {
    fn at(&self, key: &str) -> String {
        child(self.loc, key)
    }

    /// The field, unless the state's language excludes it (already reported).
    fn get(&self, key: &str) -> Option<&Value> {
        if self.ql == QueryLanguage::Jsonata && JSONPATH_ONLY.contains(&key) {
            return None;
        }
        if self.ql == QueryLanguage::JsonPath && JSONATA_ONLY.contains(&key) {
            return None;
        }
        self.obj.get(key)
    }

    fn jsonata(&self) -> bool {
        self.ql == QueryLanguage::Jsonata
    }
}

/// Loads the state `name` (the object at `loc`).
///
/// Returns the state (`None` when it has errors), its transition targets and
/// whether it is terminal (`End: true`, Succeed, Fail), the last two as far as
/// they can be read even when the state has errors.
pub(crate) fn state(
    cx: &mut Cx,
    name: &str,
    obj: &Map<String, Value>,
    loc: &str,
) -> (Option<State>, Vec<Edge>, bool) {
    let mut edges = Vec::new();
    let terminal = obj.get("End") == Some(&Value::Bool(true))
        || matches!(
            obj.get("Type").and_then(Value::as_str),
            Some("Succeed" | "Fail")
        );
    let st = state_inner(cx, name, obj, loc, &mut edges);
    (st, edges, terminal)
}

fn state_inner(
    cx: &mut Cx,
    name: &str,
    obj: &Map<String, Value>,
    loc: &str,
    edges: &mut Vec<Edge>,
) -> Option<State> {
    let Some(ty_v) = obj.get("Type") else {
        cx.required(obj, &["Type"], loc);
        return None;
    };
    let ty = match ty_v.as_str() {
        Some(t) if TYPES.contains(&t) => t,
        _ => {
            cx.schema(
                format!(
                    "The field 'Type' should have one of these values: [{}]",
                    TYPES.join(", ")
                ),
                child(loc, "Type"),
            );
            return None;
        }
    };
    let own_ql = graph::query_language(cx, obj, loc);
    if cx.top_ql == QueryLanguage::Jsonata && own_ql == Some(QueryLanguage::JsonPath) {
        cx.schema(
            "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            loc,
        );
    }
    let ql = own_ql.unwrap_or(cx.top_ql);
    let allowed = fields(ty);
    cx.unknown_fields(obj, &allowed, loc);
    for key in obj.keys() {
        if !allowed.contains(&key.as_str()) {
            continue;
        }
        if ql == QueryLanguage::Jsonata && JSONPATH_ONLY.contains(&key.as_str()) {
            cx.schema(
                format!(
                    "The QueryLanguage is set to 'JSONata', but field '{key}' is only supported for the 'JSONPath' QueryLanguage"
                ),
                loc,
            );
        }
        if ql == QueryLanguage::JsonPath && JSONATA_ONLY.contains(&key.as_str()) {
            cx.schema(
                format!(
                    "The QueryLanguage is set to 'JSONPath', but field '{key}' is only supported for the 'JSONata' QueryLanguage"
                ),
                loc,
            );
        }
    }
    let comment = cx.string(obj, "Comment", loc).map(str::to_string);
    let mut st = St {
        obj,
        loc,
        ql,
        edges: Vec::new(),
    };

    let transition = match ty {
        "Choice" => Transition::Choice,
        "Succeed" | "Fail" => Transition::End,
        _ => next_or_end(cx, &mut st),
    };
    let mut io = Io {
        input_path: path_field(cx, &st, "InputPath", PathKind::Any),
        ..Io::default()
    };
    io.output_path = path_field(cx, &st, "OutputPath", PathKind::Any);
    io.assign = assign(cx, &st, st.obj.get("Assign"), &st.at("Assign"));
    io.output = raw_jsonata(cx, &st, "Output");

    let kind = match ty {
        "Pass" => pass(cx, &mut st, &mut io),
        "Task" => task(cx, &mut st, &mut io),
        "Choice" => choice(cx, &mut st),
        "Wait" => wait(cx, &mut st),
        "Succeed" => Some(StateKind::Succeed),
        "Fail" => fail(cx, &mut st),
        "Parallel" => parallel(cx, &mut st, &mut io),
        _ => map(cx, &mut st, &mut io),
    };
    *edges = st.edges;
    let kind = kind?;
    Some(State {
        name: name.to_string(),
        comment,
        query_language: ql,
        transition,
        io,
        kind,
    })
}

/// `Next` or `End` (exactly one).
fn next_or_end(cx: &mut Cx, st: &mut St<'_>) -> Transition {
    let next = st.obj.get("Next");
    let end = st.obj.get("End");
    if next.is_some() && end.is_some() {
        cx.at_most_one(st.obj, &["Next", "End"], st.loc);
    }
    let end = cx.boolean(st.obj, "End", st.loc);
    if let Some(n) = cx.string(st.obj, "Next", st.loc) {
        st.edges.push(Edge {
            target: n.to_string(),
            location: st.at("Next"),
        });
        return Transition::Next(n.to_string(), usize::MAX);
    }
    match (next, end) {
        (None, Some(true)) => Transition::End,
        (None, Some(false)) => {
            cx.schema("Value must be true", st.at("End"));
            Transition::End
        }
        (None, None) if st.obj.get("End").is_none() => {
            cx.schema(
                "One of the following fields is required: [Next, End]",
                st.loc,
            );
            Transition::End
        }
        _ => Transition::End,
    }
}

// ---------------------------------------------------------------------------
// Paths, templates, JSONata values

#[derive(Clone, Copy, PartialEq, Eq)]
enum PathKind {
    /// `InputPath`, `OutputPath`, `ItemsPath`: any path.
    Any,
    /// `ResultPath`: a reference path into the input.
    Result,
}

fn path_field(cx: &mut Cx, st: &St<'_>, key: &str, kind: PathKind) -> PathField {
    let Some(v) = st.get(key) else {
        return PathField::Default;
    };
    path_value(cx, v, &st.at(key), kind)
}

fn path_value(cx: &mut Cx, v: &Value, loc: &str, kind: PathKind) -> PathField {
    match v {
        Value::Null => PathField::Null,
        Value::String(s) => match Path::parse(s) {
            Ok(p) => match kind {
                PathKind::Any => PathField::Path(p),
                PathKind::Result => {
                    if p.is_reference() && *p.root() == Root::Input {
                        PathField::Path(p)
                    } else {
                        cx.schema("Value is not a Reference Path", loc);
                        PathField::Default
                    }
                }
            },
            Err(_) => {
                match kind {
                    PathKind::Any => cx.schema("Value must be a valid JSONPath.", loc),
                    PathKind::Result => cx.schema("Value is not a Reference Path", loc),
                }
                PathField::Default
            }
        },
        _ => {
            cx.schema("Value must be a string", loc);
            PathField::Default
        }
    }
}

/// A reference path (`$`, `$var` and, if `context`, `$$` roots).
fn ref_path(cx: &mut Cx, v: &Value, loc: &str, context: bool) -> Option<Path> {
    let Some(s) = v.as_str() else {
        cx.schema("Value must be a string", loc);
        return None;
    };
    match Path::parse(s) {
        Ok(p) if p.is_reference() && (context || *p.root() != Root::Context) => Some(p),
        _ => {
            cx.schema("Value is not a Reference Path", loc);
            None
        }
    }
}

/// A payload template (JSONPath `Parameters`, `ResultSelector`, ...).
fn template(cx: &mut Cx, v: &Value, loc: &str) -> Option<Template> {
    let before = cx.diags.len();
    check_template(cx, v, loc);
    let own_ok = cx.diags.len() == before;
    match Template::compile(v, loc) {
        Ok(t) => own_ok.then_some(t),
        Err(ds) => {
            cx.diags.extend(ds);
            None
        }
    }
}

/// The checks on `.$` keys this loader makes itself: each value is a path or
/// an intrinsic function, and `a` and `a.$` do not both appear.
fn check_template(cx: &mut Cx, v: &Value, loc: &str) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                if let Some(base) = k.strip_suffix(".$") {
                    if m.contains_key(base) {
                        cx.schema(format!("The field '{base}' is specified more than once (as '{base}' and '{k}')"), loc);
                    }
                    let ok = match val.as_str() {
                        Some(s) => path_or_intrinsic(s),
                        None => false,
                    };
                    if !ok {
                        cx.schema(
                            format!("The value for the field '{k}' must be a valid JSONPath or a valid intrinsic function call"),
                            loc,
                        );
                    }
                } else {
                    check_template(cx, val, loc);
                }
            }
        }
        Value::Array(a) => {
            for val in a {
                check_template(cx, val, loc);
            }
        }
        _ => {}
    }
}

fn path_or_intrinsic(s: &str) -> bool {
    if s.starts_with("States.") {
        intrinsics::parse(s).is_ok()
    } else {
        Path::parse(s).is_ok()
    }
}

/// A JSONata-only raw field (`Output`, `Arguments`), checked.
fn raw_jsonata(cx: &mut Cx, st: &St<'_>, key: &str) -> Option<Value> {
    let v = st.get(key)?;
    jsonata::check_value(cx, v, &st.at(key));
    Some(v.clone())
}

/// `Assign` (state, Choice rule or catcher).
fn assign(cx: &mut Cx, st: &St<'_>, v: Option<&Value>, loc: &str) -> Option<Assign> {
    let v = v?;
    let Value::Object(m) = v else {
        cx.schema("Value must be an object", loc);
        return None;
    };
    for k in m.keys() {
        let name = k.strip_suffix(".$").unwrap_or(k);
        if !variable_name_ok(name) {
            cx.schema(format!("The variable name '{name}' is not valid"), loc);
        }
    }
    if st.jsonata() {
        jsonata::check_value(cx, v, loc);
        Some(Assign::Jsonata(v.clone()))
    } else {
        template(cx, v, loc).map(Assign::JsonPath)
    }
}

/// Variable names: 1 to 80 characters, no whitespace, path syntax (`.`,
/// `[`, `]`) or `$`, and not the reserved `states`.
fn variable_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 80
        && !name
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '.' | '[' | ']' | '$'))
        && name != "states"
}

/// An integer field with a `…Path` variant (JSONPath) or a JSONata expression.
fn dynamic_int(
    cx: &mut Cx,
    st: &St<'_>,
    key: &str,
    path_key: &str,
    min: i64,
    max: Option<i64>,
    context: bool,
) -> Option<Dynamic<u64>> {
    cx.at_most_one(st.obj, &[key, path_key], st.loc);
    if let Some(v) = st.get(key) {
        let loc = st.at(key);
        if st.jsonata()
            && let Some(s) = v.as_str()
        {
            return jsonata::expression(cx, s, &loc).then(|| Dynamic::Jsonata(s.to_string()));
        }
        return cx.int_value(v, min, max, &loc).map(Dynamic::Literal);
    }
    let v = st.get(path_key)?;
    ref_path(cx, v, &st.at(path_key), context).map(Dynamic::Path)
}

// ---------------------------------------------------------------------------
// State types

fn pass(cx: &mut Cx, st: &mut St<'_>, io: &mut Io) -> Option<StateKind> {
    if let Some(v) = st.get("Parameters") {
        io.parameters = template(cx, v, &st.at("Parameters"));
    }
    io.result_path = path_field(cx, st, "ResultPath", PathKind::Result);
    let result = st.get("Result").cloned();
    Some(StateKind::Pass(Pass { result }))
}

fn task(cx: &mut Cx, st: &mut St<'_>, io: &mut Io) -> Option<StateKind> {
    let mut ok = cx.required(st.obj, &["Resource"], st.loc);
    let resource = cx.string(st.obj, "Resource", st.loc).map(str::to_string);
    if let Some(r) = &resource {
        ok &= resource::check(cx, r, &st.at("Resource"));
    } else {
        ok = false;
    }
    data_flow(cx, st, io);
    io.arguments = raw_jsonata(cx, st, "Arguments");
    let timeout_seconds = dynamic_int(
        cx,
        st,
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        1,
        Some(99_999_999),
        true,
    );
    let heartbeat_seconds = dynamic_int(
        cx,
        st,
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        1,
        Some(99_999_999),
        true,
    );
    if let (Some(Dynamic::Literal(t)), Some(Dynamic::Literal(h))) =
        (&timeout_seconds, &heartbeat_seconds)
        && h >= t
    {
        cx.schema(
            "HeartbeatSeconds must be smaller than TimeoutSeconds",
            st.at("HeartbeatSeconds"),
        );
    }
    let credentials = credentials(cx, st);
    let recovery = recovery(cx, st);
    let resource = resource?;
    ok.then(|| {
        StateKind::Task(Box::new(Task {
            resource,
            timeout_seconds,
            heartbeat_seconds,
            credentials,
            recovery,
        }))
    })
}

/// `Parameters`, `ResultSelector`, `ResultPath` (Task, Parallel, Map).
fn data_flow(cx: &mut Cx, st: &St<'_>, io: &mut Io) {
    if let Some(v) = st.get("Parameters") {
        io.parameters = template(cx, v, &st.at("Parameters"));
    }
    if let Some(v) = st.get("ResultSelector") {
        io.result_selector = template(cx, v, &st.at("ResultSelector"));
    }
    io.result_path = path_field(cx, st, "ResultPath", PathKind::Result);
}

fn credentials(cx: &mut Cx, st: &St<'_>) -> Option<Template> {
    let v = st.obj.get("Credentials")?;
    let loc = st.at("Credentials");
    let Value::Object(m) = v else {
        cx.schema("Value must be an object", &loc);
        return None;
    };
    let has_role = m.contains_key("RoleArn") || (!st.jsonata() && m.contains_key("RoleArn.$"));
    if !has_role {
        cx.schema("The field 'RoleArn' is required but was missing", &loc);
        return None;
    }
    if st.jsonata() {
        jsonata::check_value(cx, v, &loc);
        match Template::compile(v, &loc) {
            Ok(t) => Some(t),
            Err(ds) => {
                cx.diags.extend(ds);
                None
            }
        }
    } else {
        template(cx, v, &loc)
    }
}

const RETRIER_FIELDS: &[&str] = &[
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
];
const CATCHER_FIELDS: &[&str] = &[
    "ErrorEquals",
    "Next",
    "ResultPath",
    "Assign",
    "Output",
    "Comment",
];

/// `Retry` and `Catch`.
fn recovery(cx: &mut Cx, st: &mut St<'_>) -> Recovery {
    let mut rec = Recovery::default();
    if let Some(list) = cx.array(st.obj, "Retry", st.loc) {
        let n = list.len();
        for (i, v) in list.iter().enumerate() {
            let loc = item(st.loc, "Retry", i);
            let Value::Object(r) = v else {
                cx.schema("Value must be an object", &loc);
                continue;
            };
            cx.unknown_fields(r, RETRIER_FIELDS, &loc);
            cx.required(r, &["ErrorEquals"], &loc);
            cx.string(r, "Comment", &loc);
            let error_equals = error_equals(cx, r, &loc, i + 1 == n, "Retrier");
            let interval_seconds = cx
                .int(r, "IntervalSeconds", 1, Some(99_999_999), &loc)
                .unwrap_or(1);
            let max_attempts = cx
                .int(r, "MaxAttempts", 0, Some(99_999_999), &loc)
                .unwrap_or(3);
            let backoff_rate = match r.get("BackoffRate") {
                Some(b) => cx
                    .number_value(b, 1.0, None, &child(&loc, "BackoffRate"))
                    .unwrap_or(2.0),
                None => 2.0,
            };
            let max_delay_seconds = cx.int(r, "MaxDelaySeconds", 1, Some(31_622_400), &loc);
            let jitter = match cx.enumeration(r, "JitterStrategy", &["FULL", "NONE"], &loc) {
                Some("FULL") => Jitter::Full,
                _ => Jitter::None,
            };
            rec.retry.push(Retrier {
                error_equals,
                interval_seconds,
                max_attempts,
                backoff_rate,
                max_delay_seconds,
                jitter,
            });
        }
    }
    if let Some(list) = cx.array(st.obj, "Catch", st.loc) {
        let n = list.len();
        for (i, v) in list.iter().enumerate() {
            let loc = item(st.loc, "Catch", i);
            let Value::Object(c) = v else {
                cx.schema("Value must be an object", &loc);
                continue;
            };
            cx.unknown_fields(c, CATCHER_FIELDS, &loc);
            for key in c.keys() {
                if st.jsonata() && key == "ResultPath" {
                    cx.schema(
                        "The QueryLanguage is set to 'JSONata', but field 'ResultPath' is only supported for the 'JSONPath' QueryLanguage",
                        &loc,
                    );
                }
                if !st.jsonata() && key == "Output" {
                    cx.schema(
                        "The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' QueryLanguage",
                        &loc,
                    );
                }
            }
            cx.required(c, &["ErrorEquals", "Next"], &loc);
            cx.string(c, "Comment", &loc);
            let error_equals = error_equals(cx, c, &loc, i + 1 == n, "Catcher");
            let next = cx.string(c, "Next", &loc).map(str::to_string);
            if let Some(n) = &next {
                st.edges.push(Edge {
                    target: n.clone(),
                    location: child(&loc, "Next"),
                });
            }
            let result_path = match c.get("ResultPath") {
                Some(v) if !st.jsonata() => {
                    path_value(cx, v, &child(&loc, "ResultPath"), PathKind::Result)
                }
                _ => PathField::Default,
            };
            let assign = assign(cx, st, c.get("Assign"), &child(&loc, "Assign"));
            let output = match c.get("Output") {
                Some(v) if st.jsonata() => {
                    jsonata::check_value(cx, v, &child(&loc, "Output"));
                    Some(v.clone())
                }
                _ => None,
            };
            if let Some(next) = next {
                rec.catch.push(Catcher {
                    error_equals,
                    next: (next, usize::MAX),
                    result_path,
                    assign,
                    output,
                });
            }
        }
    }
    rec
}

/// `ErrorEquals`: a non-empty list of names; `States.ALL` alone and last.
fn error_equals(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    loc: &str,
    last: bool,
    what: &str,
) -> Vec<String> {
    let Some(list) = cx.array(obj, "ErrorEquals", loc) else {
        return Vec::new();
    };
    let eloc = child(loc, "ErrorEquals");
    if list.is_empty() {
        cx.schema("Value cannot be empty", &eloc);
    }
    let mut names = Vec::new();
    for (i, v) in list.iter().enumerate() {
        match v.as_str() {
            Some(s) => names.push(s.to_string()),
            None => cx.schema("Value must be a string", format!("{eloc}[{i}]")),
        }
    }
    if names.iter().any(|n| n == crate::error::names::ALL) {
        if list.len() > 1 {
            cx.schema("'States.ALL' must appear alone in 'ErrorEquals'", &eloc);
        }
        if !last {
            cx.schema(
                format!("A {what} with 'States.ALL' in 'ErrorEquals' must be the last one"),
                loc,
            );
        }
    }
    names
}

// ---------------------------------------------------------------------------
// Choice

const RULE_LOGIC: &[&str] = &["And", "Or", "Not"];

fn operator(key: &str) -> Option<(Comparison, bool)> {
    let (base, path) = match key.strip_suffix("Path") {
        Some(b) => (b, true),
        None => (key, false),
    };
    let (_, op) = Comparison::ALL.iter().find(|(n, _)| *n == base)?;
    if path && !op.has_path_form() {
        return None;
    }
    Some((*op, path))
}

fn choice(cx: &mut Cx, st: &mut St<'_>) -> Option<StateKind> {
    let mut ok = cx.required(st.obj, &["Choices"], st.loc);
    let mut choices = Vec::new();
    if let Some(list) = cx.array(st.obj, "Choices", st.loc) {
        if list.is_empty() {
            cx.schema("Value cannot be empty", st.at("Choices"));
            ok = false;
        }
        for (i, v) in list.iter().enumerate() {
            let loc = item(st.loc, "Choices", i);
            match choice_branch(cx, st, v, &loc) {
                Some(b) => choices.push(b),
                None => ok = false,
            }
        }
    } else {
        ok = false;
    }
    let default = cx.string(st.obj, "Default", st.loc).map(|d| {
        st.edges.push(Edge {
            target: d.to_string(),
            location: st.at("Default"),
        });
        (d.to_string(), usize::MAX)
    });
    ok.then_some(StateKind::Choice(Choice { choices, default }))
}

fn choice_branch(cx: &mut Cx, st: &mut St<'_>, v: &Value, loc: &str) -> Option<ChoiceBranch> {
    let Value::Object(r) = v else {
        cx.schema("Value must be an object", loc);
        return None;
    };
    let next = cx.string(r, "Next", loc).map(str::to_string);
    if let Some(n) = &next {
        st.edges.push(Edge {
            target: n.clone(),
            location: child(loc, "Next"),
        });
    }
    let rule = if st.jsonata() {
        cx.unknown_fields(
            r,
            &["Condition", "Next", "Assign", "Output", "Comment"],
            loc,
        );
        cx.required(r, &["Condition", "Next"], loc);
        cx.string(r, "Comment", loc);
        match r.get("Condition") {
            Some(Value::Bool(b)) => Some(ChoiceRule::Condition(Value::Bool(*b))),
            Some(Value::String(s)) => {
                let cloc = child(loc, "Condition");
                if jsonata::is_expression(s) {
                    jsonata::expression(cx, s, &cloc)
                        .then(|| ChoiceRule::Condition(Value::String(s.clone())))
                } else {
                    cx.schema("Value must be a boolean or a JSONata expression", cloc);
                    None
                }
            }
            Some(_) => {
                cx.schema(
                    "Value must be a boolean or a JSONata expression",
                    child(loc, "Condition"),
                );
                None
            }
            None => None,
        }
    } else {
        if !r.contains_key("Next") {
            cx.required(r, &["Next"], loc);
        }
        rule(cx, r, loc, true)
    };
    let assign = assign(cx, st, r.get("Assign"), &child(loc, "Assign"));
    let output = match r.get("Output") {
        Some(v) if st.jsonata() => {
            jsonata::check_value(cx, v, &child(loc, "Output"));
            Some(v.clone())
        }
        Some(_) => {
            cx.schema(
                "The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' QueryLanguage",
                loc,
            );
            None
        }
        None => None,
    };
    Some(ChoiceBranch {
        rule: rule?,
        next: (next?, usize::MAX),
        assign,
        output,
    })
}

/// A JSONPath Choice rule (top-level when `top`).
fn rule(cx: &mut Cx, r: &Map<String, Value>, loc: &str, top: bool) -> Option<ChoiceRule> {
    let mut ops: Vec<&str> = Vec::new();
    for key in r.keys() {
        let k = key.as_str();
        if RULE_LOGIC.contains(&k) || operator(k).is_some() {
            ops.push(k);
        } else if !(k == "Variable" || k == "Comment" || (top && (k == "Next" || k == "Assign"))) {
            cx.schema(format!("Field '{k}' is not supported"), loc);
        }
    }
    cx.string(r, "Comment", loc);
    if ops.len() > 1 {
        cx.schema(
            format!(
                "There should only be one of the following fields: [{}]",
                ops.join(", ")
            ),
            loc,
        );
        return None;
    }
    let Some(op) = ops.first().copied() else {
        cx.schema(
            "A Choice Rule must have exactly one comparison operator or one of [And, Or, Not]",
            loc,
        );
        return None;
    };
    if RULE_LOGIC.contains(&op) {
        if r.contains_key("Variable") {
            cx.schema("Field 'Variable' is not supported", loc);
        }
        let v = r.get(op)?;
        if op == "Not" {
            let Value::Object(inner) = v else {
                cx.schema("Value must be an object", child(loc, op));
                return None;
            };
            return rule(cx, inner, &child(loc, op), false).map(|x| ChoiceRule::Not(Box::new(x)));
        }
        let Value::Array(list) = v else {
            cx.schema("Value must be an array", child(loc, op));
            return None;
        };
        if list.is_empty() {
            cx.schema("Value cannot be empty", child(loc, op));
            return None;
        }
        let mut rules = Vec::new();
        let mut ok = true;
        for (i, x) in list.iter().enumerate() {
            let iloc = item(loc, op, i);
            match x {
                Value::Object(inner) => match rule(cx, inner, &iloc, false) {
                    Some(x) => rules.push(x),
                    None => ok = false,
                },
                _ => {
                    cx.schema("Value must be an object", iloc);
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        return Some(if op == "And" {
            ChoiceRule::And(rules)
        } else {
            ChoiceRule::Or(rules)
        });
    }
    let (cmp, is_path) = operator(op)?;
    if !cx.required(r, &["Variable"], loc) {
        return None;
    }
    let variable = ref_path(cx, r.get("Variable")?, &child(loc, "Variable"), true);
    let v = r.get(op)?;
    let oloc = child(loc, op);
    let operand = if is_path {
        ref_path(cx, v, &oloc, true).map(Operand::Path)
    } else {
        operand(cx, cmp, v, &oloc).map(Operand::Literal)
    };
    Some(ChoiceRule::Compare {
        variable: variable?,
        op: cmp,
        operand: operand?,
    })
}

fn operand(cx: &mut Cx, cmp: Comparison, v: &Value, loc: &str) -> Option<Value> {
    use Comparison as C;
    let ok = match cmp {
        C::StringEquals
        | C::StringLessThan
        | C::StringGreaterThan
        | C::StringLessThanEquals
        | C::StringGreaterThanEquals
        | C::StringMatches => v.is_string().then_some(()).ok_or("Value must be a string"),
        C::NumericEquals
        | C::NumericLessThan
        | C::NumericGreaterThan
        | C::NumericLessThanEquals
        | C::NumericGreaterThanEquals => {
            v.is_number().then_some(()).ok_or("Value must be a number")
        }
        C::TimestampEquals
        | C::TimestampLessThan
        | C::TimestampGreaterThan
        | C::TimestampLessThanEquals
        | C::TimestampGreaterThanEquals => match v.as_str() {
            Some(s) if crate::time::parse_rfc3339(s).is_some() => Ok(()),
            Some(_) => Err("String does not match RFC3339 timestamp"),
            None => Err("Value must be a string"),
        },
        C::BooleanEquals
        | C::IsNull
        | C::IsPresent
        | C::IsNumeric
        | C::IsString
        | C::IsBoolean
        | C::IsTimestamp => v
            .is_boolean()
            .then_some(())
            .ok_or("Value must be a boolean"),
    };
    match ok {
        Ok(()) => Some(v.clone()),
        Err(m) => {
            cx.schema(m, loc);
            None
        }
    }
}

// ---------------------------------------------------------------------------
// Wait, Fail

const WAIT_FIELDS: &[&str] = &["Seconds", "Timestamp", "SecondsPath", "TimestampPath"];

fn wait(cx: &mut Cx, st: &mut St<'_>) -> Option<StateKind> {
    let present: Vec<&str> = WAIT_FIELDS
        .iter()
        .copied()
        .filter(|f| st.obj.contains_key(*f))
        .collect();
    if present.len() > 1 {
        cx.at_most_one(st.obj, WAIT_FIELDS, st.loc);
        return None;
    }
    if present.is_empty() {
        cx.schema(
            format!(
                "One of the following fields is required: [{}]",
                WAIT_FIELDS.join(", ")
            ),
            st.loc,
        );
        return None;
    }
    let until = if st.obj.contains_key("Seconds") || st.obj.contains_key("SecondsPath") {
        WaitFor::Seconds(dynamic_int(
            cx,
            st,
            "Seconds",
            "SecondsPath",
            0,
            Some(99_999_999),
            true,
        )?)
    } else if let Some(v) = st.get("TimestampPath") {
        WaitFor::Timestamp(Dynamic::Path(ref_path(
            cx,
            v,
            &st.at("TimestampPath"),
            true,
        )?))
    } else {
        let v = st.obj.get("Timestamp")?;
        let loc = st.at("Timestamp");
        let Some(s) = v.as_str() else {
            cx.schema("Value must be a string", loc);
            return None;
        };
        if st.jsonata() && jsonata::is_expression(s) {
            jsonata::expression(cx, s, &loc).then_some(())?;
            WaitFor::Timestamp(Dynamic::Jsonata(s.to_string()))
        } else if crate::time::parse_rfc3339(s).is_some() {
            WaitFor::Timestamp(Dynamic::Literal(s.to_string()))
        } else {
            cx.schema("String does not match RFC3339 timestamp", loc);
            return None;
        }
    };
    Some(StateKind::Wait(Wait { until }))
}

fn fail(cx: &mut Cx, st: &mut St<'_>) -> Option<StateKind> {
    let a = cx.at_most_one(st.obj, &["Error", "ErrorPath"], st.loc);
    let b = cx.at_most_one(st.obj, &["Cause", "CausePath"], st.loc);
    let error = fail_text(cx, st, "Error", "ErrorPath");
    let cause = fail_text(cx, st, "Cause", "CausePath");
    (a && b).then_some(StateKind::Fail(Fail { error, cause }))
}

fn fail_text(cx: &mut Cx, st: &St<'_>, key: &str, path_key: &str) -> Option<Text> {
    if let Some(s) = cx.string(st.obj, key, st.loc) {
        if st.jsonata() && jsonata::is_expression(s) {
            return jsonata::expression(cx, s, &st.at(key)).then(|| Text::Jsonata(s.to_string()));
        }
        return Some(Text::Literal(s.to_string()));
    }
    let v = st.get(path_key)?;
    let loc = st.at(path_key);
    let bad = |cx: &mut Cx| {
        cx.schema(
            format!("The value for the field '{path_key}' must be a valid JSONPath or a valid intrinsic function call"),
            &loc,
        )
    };
    let Some(s) = v.as_str() else {
        bad(cx);
        return None;
    };
    if s.starts_with("States.") {
        return match intrinsics::parse(s) {
            Ok(c) => Some(Text::Intrinsic(c)),
            Err(_) => {
                bad(cx);
                None
            }
        };
    }
    match Path::parse(s) {
        Ok(p) if p.is_reference() => Some(Text::Path(p)),
        _ => {
            bad(cx);
            None
        }
    }
}

// ---------------------------------------------------------------------------
// Parallel, Map

fn parallel(cx: &mut Cx, st: &mut St<'_>, io: &mut Io) -> Option<StateKind> {
    let mut ok = cx.required(st.obj, &["Branches"], st.loc);
    let mut branches = Vec::new();
    if let Some(list) = cx.array(st.obj, "Branches", st.loc) {
        if list.is_empty() {
            cx.schema("Value cannot be empty", st.at("Branches"));
            ok = false;
        }
        for (i, b) in list.iter().enumerate() {
            let loc = item(st.loc, "Branches", i);
            let Value::Object(bo) = b else {
                cx.schema("Value must be an object", loc);
                ok = false;
                continue;
            };
            match graph::graph(cx, bo, &loc, GraphKind::Branch) {
                Some(g) => branches.push(g),
                None => ok = false,
            }
        }
    } else {
        ok = false;
    }
    data_flow(cx, st, io);
    io.arguments = raw_jsonata(cx, st, "Arguments");
    let recovery = recovery(cx, st);
    ok.then_some(StateKind::Parallel(Parallel { branches, recovery }))
}

/// Characters a Map `Label` may not contain.
fn label_char_ok(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_control()
        || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
        || ('\u{7f}'..='\u{9f}').contains(&c))
}

fn map(cx: &mut Cx, st: &mut St<'_>, io: &mut Io) -> Option<StateKind> {
    let mut ok = true;
    // The item processor.
    let key = if st.obj.contains_key("ItemProcessor") {
        "ItemProcessor"
    } else {
        "Iterator"
    };
    if !cx.at_most_one(st.obj, &["ItemProcessor", "Iterator"], st.loc) {
        ok = false;
    }
    let mut mode = MapMode::Inline;
    let mut execution_type = None;
    let processor = match st.obj.get(key) {
        None => {
            cx.schema("These fields are required: [ItemProcessor]", st.loc);
            None
        }
        Some(Value::Object(p)) => {
            let ploc = st.at(key);
            if let Some(pc) = cx.object(p, "ProcessorConfig", &ploc) {
                let pcloc = child(&ploc, "ProcessorConfig");
                cx.unknown_fields(pc, &["Mode", "ExecutionType"], &pcloc);
                if cx.enumeration(pc, "Mode", &["INLINE", "DISTRIBUTED"], &pcloc)
                    == Some("DISTRIBUTED")
                {
                    mode = MapMode::Distributed;
                }
                execution_type = cx
                    .enumeration(pc, "ExecutionType", &["STANDARD", "EXPRESS"], &pcloc)
                    .map(str::to_string);
            }
            let outer = cx.express;
            if mode == MapMode::Distributed && execution_type.as_deref() == Some("EXPRESS") {
                cx.express = true;
            }
            let g = graph::graph(cx, p, &ploc, GraphKind::Processor);
            cx.express = outer;
            g
        }
        Some(_) => {
            cx.schema("Value must be an object", st.at(key));
            None
        }
    };

    // Items.
    let items_path = path_field(cx, st, "ItemsPath", PathKind::Any);
    let items = match st.get("Items") {
        Some(v @ Value::Array(_)) => {
            jsonata::check_value(cx, v, &st.at("Items"));
            Some(v.clone())
        }
        Some(v @ Value::String(s)) if jsonata::is_expression(s) => {
            jsonata::expression(cx, s, &st.at("Items")).then(|| v.clone())
        }
        Some(_) => {
            cx.schema(
                "Value must be an array or a JSONata expression",
                st.at("Items"),
            );
            None
        }
        None => None,
    };
    let mut item_selector = None;
    let mut item_selector_jsonata = None;
    if cx.at_most_one(st.obj, &["ItemSelector", "Parameters"], st.loc) {
        if let Some(v) = st.obj.get("ItemSelector") {
            if st.jsonata() {
                jsonata::check_value(cx, v, &st.at("ItemSelector"));
                item_selector_jsonata = Some(v.clone());
            } else {
                item_selector = template(cx, v, &st.at("ItemSelector"));
            }
        } else if let Some(v) = st.get("Parameters") {
            item_selector = template(cx, v, &st.at("Parameters"));
        }
    }
    if let Some(v) = st.get("ResultSelector") {
        io.result_selector = template(cx, v, &st.at("ResultSelector"));
    }
    io.result_path = path_field(cx, st, "ResultPath", PathKind::Result);

    // Concurrency and failure tolerance.
    let max_concurrency = dynamic_int(
        cx,
        st,
        "MaxConcurrency",
        "MaxConcurrencyPath",
        0,
        None,
        false,
    )
    .unwrap_or(Dynamic::Literal(0));
    let tolerated_failure_count = dynamic_int(
        cx,
        st,
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        0,
        None,
        false,
    );
    let tolerated_failure_percentage = {
        cx.at_most_one(
            st.obj,
            &[
                "ToleratedFailurePercentage",
                "ToleratedFailurePercentagePath",
            ],
            st.loc,
        );
        if let Some(v) = st.get("ToleratedFailurePercentage") {
            let loc = st.at("ToleratedFailurePercentage");
            match v.as_str() {
                Some(s) if st.jsonata() => {
                    jsonata::expression(cx, s, &loc).then(|| Dynamic::Jsonata(s.to_string()))
                }
                _ => cx
                    .number_value(v, 0.0, Some(100.0), &loc)
                    .map(Dynamic::Literal),
            }
        } else {
            st.get("ToleratedFailurePercentagePath")
                .and_then(|v| ref_path(cx, v, &st.at("ToleratedFailurePercentagePath"), false))
                .map(Dynamic::Path)
        }
    };

    // Distributed configuration.
    let item_reader = st
        .obj
        .get("ItemReader")
        .and_then(|v| item_reader(cx, st, v));
    let item_batcher = st
        .obj
        .get("ItemBatcher")
        .and_then(|v| item_batcher(cx, st, v));
    let result_writer = st
        .obj
        .get("ResultWriter")
        .and_then(|v| result_writer(cx, st, v));
    let label = cx.string(st.obj, "Label", st.loc).map(str::to_string);
    if let Some(l) = &label {
        let lloc = st.at("Label");
        if l.is_empty() {
            cx.err(codes::INVALID_LABEL_NAME, "Label cannot be empty", &lloc);
        } else if l.chars().count() > 40 {
            cx.err(
                codes::INVALID_LABEL_NAME,
                "Label exceeds the maximum length of 40 characters",
                &lloc,
            );
        } else if let Some(c) = l.chars().find(|c| !label_char_ok(*c)) {
            cx.err(
                codes::INVALID_LABEL_NAME,
                format!("Label contains invalid character: {c:?}"),
                &lloc,
            );
        } else if !cx.labels.insert(l.clone()) {
            cx.err(
                codes::DUPLICATE_LABEL_NAME,
                format!("Duplicate Label: {l}"),
                &lloc,
            );
        }
    }
    let recovery = recovery(cx, st);
    let processor = processor?;
    ok.then(|| {
        StateKind::Map(Box::new(MapState {
            processor,
            mode,
            execution_type,
            items_path,
            items,
            item_selector,
            item_selector_jsonata,
            max_concurrency,
            tolerated_failure_count,
            tolerated_failure_percentage,
            item_reader,
            item_batcher,
            result_writer,
            label,
            recovery,
        }))
    })
}

/// `Parameters` (JSONPath) or `Arguments` (JSONata) of a reader or writer.
fn resource_args(cx: &mut Cx, st: &St<'_>, o: &Map<String, Value>, loc: &str) {
    cx.at_most_one(o, &["Parameters", "Arguments"], loc);
    if let Some(v) = o.get("Parameters") {
        if st.jsonata() {
            cx.schema(
                "The QueryLanguage is set to 'JSONata', but field 'Parameters' is only supported for the 'JSONPath' QueryLanguage",
                loc,
            );
        } else {
            template(cx, v, &child(loc, "Parameters"));
        }
    }
    if let Some(v) = o.get("Arguments") {
        if st.jsonata() {
            jsonata::check_value(cx, v, &child(loc, "Arguments"));
        } else {
            cx.schema(
                "The QueryLanguage is set to 'JSONPath', but field 'Arguments' is only supported for the 'JSONata' QueryLanguage",
                loc,
            );
        }
    }
    if let Some(r) = cx.string(o, "Resource", loc) {
        resource::check_arn(cx, r, &child(loc, "Resource"));
    }
}

/// An integer that may be a JSONata expression, with a `…Path` variant.
fn config_int(
    cx: &mut Cx,
    st: &St<'_>,
    o: &Map<String, Value>,
    key: &str,
    max: Option<i64>,
    loc: &str,
) {
    let path_key = format!("{key}Path");
    cx.at_most_one(o, &[key, &path_key], loc);
    if let Some(v) = o.get(key) {
        let vloc = child(loc, key);
        match v.as_str() {
            Some(s) if st.jsonata() => {
                jsonata::expression(cx, s, &vloc);
            }
            _ => {
                cx.int_value(v, 0, max, &vloc);
            }
        }
    }
    if let Some(v) = o.get(&path_key) {
        if st.jsonata() {
            cx.schema(
                format!(
                    "The QueryLanguage is set to 'JSONata', but field '{path_key}' is only supported for the 'JSONPath' QueryLanguage"
                ),
                loc,
            );
        } else {
            ref_path(cx, v, &child(loc, &path_key), false);
        }
    }
}

fn item_reader(cx: &mut Cx, st: &St<'_>, v: &Value) -> Option<Value> {
    let loc = st.at("ItemReader");
    let Value::Object(o) = v else {
        cx.schema("Value must be an object", loc);
        return None;
    };
    let before = cx.diags.len();
    cx.unknown_fields(
        o,
        &["Resource", "Parameters", "Arguments", "ReaderConfig"],
        &loc,
    );
    cx.required(o, &["Resource"], &loc);
    resource_args(cx, st, o, &loc);
    if let Some(rc) = cx.object(o, "ReaderConfig", &loc) {
        let rloc = child(&loc, "ReaderConfig");
        cx.unknown_fields(
            rc,
            &[
                "InputType",
                "CSVHeaderLocation",
                "CSVHeaders",
                "CSVDelimiter",
                "MaxItems",
                "MaxItemsPath",
                "ManifestType",
                "Transformation",
                "ItemsPointer",
            ],
            &rloc,
        );
        cx.enumeration(
            rc,
            "InputType",
            &["CSV", "JSON", "JSONL", "PARQUET", "MANIFEST"],
            &rloc,
        );
        cx.enumeration(rc, "CSVHeaderLocation", &["FIRST_ROW", "GIVEN"], &rloc);
        cx.enumeration(
            rc,
            "CSVDelimiter",
            &["COMMA", "PIPE", "SEMICOLON", "SPACE", "TAB"],
            &rloc,
        );
        cx.enumeration(rc, "ManifestType", &["ATHENA_DATA", "S3_INVENTORY"], &rloc);
        cx.enumeration(rc, "Transformation", &["NONE", "LOAD_AND_FLATTEN"], &rloc);
        cx.string(rc, "ItemsPointer", &rloc);
        if let Some(h) = cx.array(rc, "CSVHeaders", &rloc) {
            for (i, x) in h.iter().enumerate() {
                if !x.is_string() {
                    cx.schema("Value must be a string", item(&rloc, "CSVHeaders", i));
                }
            }
        }
        config_int(cx, st, rc, "MaxItems", Some(100_000_000), &rloc);
    }
    (cx.diags.len() == before).then(|| v.clone())
}

fn item_batcher(cx: &mut Cx, st: &St<'_>, v: &Value) -> Option<Value> {
    let loc = st.at("ItemBatcher");
    let Value::Object(o) = v else {
        cx.schema("Value must be an object", loc);
        return None;
    };
    let before = cx.diags.len();
    cx.unknown_fields(
        o,
        &[
            "MaxItemsPerBatch",
            "MaxItemsPerBatchPath",
            "MaxInputBytesPerBatch",
            "MaxInputBytesPerBatchPath",
            "BatchInput",
        ],
        &loc,
    );
    config_int(cx, st, o, "MaxItemsPerBatch", None, &loc);
    config_int(cx, st, o, "MaxInputBytesPerBatch", Some(262_144), &loc);
    if let Some(b) = o.get("BatchInput") {
        if st.jsonata() {
            jsonata::check_value(cx, b, &child(&loc, "BatchInput"));
        } else {
            template(cx, b, &child(&loc, "BatchInput"));
        }
    }
    (cx.diags.len() == before).then(|| v.clone())
}

fn result_writer(cx: &mut Cx, st: &St<'_>, v: &Value) -> Option<Value> {
    let loc = st.at("ResultWriter");
    let Value::Object(o) = v else {
        cx.schema(
            format!("Value must be an object, not {}", type_name(v)),
            loc,
        );
        return None;
    };
    let before = cx.diags.len();
    cx.unknown_fields(
        o,
        &["Resource", "Parameters", "Arguments", "WriterConfig"],
        &loc,
    );
    resource_args(cx, st, o, &loc);
    if let Some(wc) = cx.object(o, "WriterConfig", &loc) {
        let wloc = child(&loc, "WriterConfig");
        cx.unknown_fields(wc, &["OutputType", "Transformation"], &wloc);
        cx.enumeration(wc, "OutputType", &["JSON", "JSONL"], &wloc);
        cx.enumeration(wc, "Transformation", &["NONE", "COMPACT", "FLATTEN"], &wloc);
    }
    (cx.diags.len() == before).then(|| v.clone())
}
