//! The definition and its graphs (top level, Parallel branches, Map item
//! processors): state names, transitions, reachability, terminal states.

use std::collections::VecDeque;

use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::state::{self, Edge};
use super::{Cx, child, codes};
use crate::diag::codes as aws;
use crate::model::{Definition, Graph, QueryLanguage, State, StateKind, Transition};

/// Which kind of object holds a graph; decides its allowed fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GraphKind {
    Top,
    Branch,
    /// `ItemProcessor` or the legacy `Iterator`.
    Processor,
}

const TOP_FIELDS: &[&str] = &[
    "Comment",
    "StartAt",
    "States",
    "Version",
    "TimeoutSeconds",
    "QueryLanguage",
];
const BRANCH_FIELDS: &[&str] = &["Comment", "StartAt", "States"];
const PROCESSOR_FIELDS: &[&str] = &["Comment", "StartAt", "States", "ProcessorConfig"];

/// The longest state name AWS accepts.
const MAX_STATE_NAME: usize = 80;

/// The whole definition.
pub(crate) fn definition(cx: &mut Cx, value: &Value) -> Option<Definition> {
    let Value::Object(obj) = value else {
        cx.schema("Definition must be a valid JSON object", "");
        return None;
    };
    let loc = "/";
    let comment = cx.string(obj, "Comment", loc).map(str::to_string);
    let version = cx.string(obj, "Version", loc).map(str::to_string);
    let timeout_seconds = cx.int(obj, "TimeoutSeconds", 0, Some(99_999_999), loc);
    let query_language = query_language(cx, obj, loc).unwrap_or_default();
    cx.top_ql = query_language;
    let graph = graph(cx, obj, loc, GraphKind::Top);
    Some(Definition {
        comment,
        version,
        timeout_seconds,
        query_language,
        graph: graph?,
    })
}

/// A `QueryLanguage` field: reported when it is not one of the two values.
/// AWS resolves exactly `JSONPath` to JSONPath and any other value to JSONata.
pub(crate) fn query_language(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    loc: &str,
) -> Option<QueryLanguage> {
    let v = obj.get("QueryLanguage")?;
    if !matches!(v.as_str(), Some("JSONPath" | "JSONata")) {
        cx.schema(
            "The field 'QueryLanguage' should have one of these values: [JSONPath, JSONata]",
            child(loc, "QueryLanguage"),
        );
    }
    Some(if v.as_str() == Some("JSONPath") {
        QueryLanguage::JsonPath
    } else {
        QueryLanguage::Jsonata
    })
}

/// A graph: `StartAt` and `States`, in the object at `loc`.
pub(crate) fn graph(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    loc: &str,
    kind: GraphKind,
) -> Option<Graph> {
    let allowed = match kind {
        GraphKind::Top => TOP_FIELDS,
        GraphKind::Branch => BRANCH_FIELDS,
        GraphKind::Processor => PROCESSOR_FIELDS,
    };
    cx.unknown_fields(obj, allowed, loc);
    if kind != GraphKind::Top {
        cx.string(obj, "Comment", loc);
    }
    cx.required(obj, &["States", "StartAt"], loc);
    let start_at = cx.string(obj, "StartAt", loc);
    let states_obj = cx.object(obj, "States", loc);

    let states_loc = child(loc, "States");
    let mut states: IndexMap<String, State> = IndexMap::new();
    // Per state in definition order: its targets and whether it is terminal.
    let mut edges: Vec<Vec<Edge>> = Vec::new();
    let mut terminal: Vec<bool> = Vec::new();
    let mut complete = start_at.is_some() && states_obj.is_some();
    if let Some(states_obj) = states_obj {
        if states_obj.is_empty() {
            cx.schema("Value cannot be empty", &states_loc);
            complete = false;
        }
        for (name, raw) in states_obj {
            let sloc = child(&states_loc, name);
            if name.chars().count() > MAX_STATE_NAME {
                cx.err(
                    codes::INVALID_STATE_NAME,
                    format!("State name '{name}' exceeds the maximum length of {MAX_STATE_NAME} characters"),
                    &sloc,
                );
            }
            if !cx.names.insert(name.clone()) {
                cx.err(
                    aws::DUPLICATE_STATE_NAME,
                    format!("Duplicate State name: {name}"),
                    &sloc,
                );
            }
            let Value::Object(sobj) = raw else {
                cx.schema("Value must be an object", &sloc);
                complete = false;
                edges.push(Vec::new());
                terminal.push(false);
                continue;
            };
            let (st, e, t) = state::state(cx, name, sobj, &sloc);
            match st {
                Some(st) => {
                    states.insert(name.clone(), st);
                }
                None => complete = false,
            }
            edges.push(e);
            terminal.push(t);
        }
    }

    // Transition targets, in definition order.
    let names: Vec<String> = match states_obj {
        Some(o) => o.keys().cloned().collect(),
        None => Vec::new(),
    };
    let mut start = None;
    if let (Some(start_at), Some(_)) = (start_at, states_obj) {
        start = names.iter().position(|n| n == start_at);
        if start.is_none() {
            cx.err(
                aws::MISSING_TRANSITION_TARGET,
                format!("Missing 'StartAt' target: {start_at}"),
                child(loc, "StartAt"),
            );
            complete = false;
        }
    }
    for e in edges.iter().flatten() {
        if !names.contains(&e.target) {
            cx.err(
                aws::MISSING_TRANSITION_TARGET,
                format!("Missing 'Next' target: {}", e.target),
                &e.location,
            );
            complete = false;
        }
    }

    // Terminal states and reachability are judged on whatever states parsed.
    if !names.is_empty() {
        if !terminal.contains(&true) {
            cx.err(
                codes::MISSING_END_STATE,
                "Workflow has no terminal state",
                "",
            );
        } else if let Some(start) = start {
            let reachable = reachable(&names, start, &edges);
            for (i, name) in names.iter().enumerate() {
                if !reachable[i] {
                    cx.err(
                        aws::MISSING_TRANSITION_TARGET,
                        format!("State \"{name}\" is not reachable."),
                        child(&states_loc, name),
                    );
                }
            }
        }
    }

    if !complete || states.len() != names.len() {
        return None;
    }
    let start = start?;
    for st in states.values_mut() {
        resolve(st, &names);
    }
    Some(Graph {
        start_at: start_at?.to_string(),
        start,
        states,
    })
}

/// Which states can be reached from `start`.
fn reachable(names: &[String], start: usize, edges: &[Vec<Edge>]) -> Vec<bool> {
    let mut seen = vec![false; names.len()];
    let mut queue = VecDeque::from([start]);
    while let Some(i) = queue.pop_front() {
        if seen.get(i).copied().unwrap_or(true) {
            continue;
        }
        seen[i] = true;
        for e in edges.get(i).into_iter().flatten() {
            if let Some(j) = names.iter().position(|n| *n == e.target) {
                queue.push_back(j);
            }
        }
    }
    seen
}

/// Fills in the indices of every transition target of `st`.
fn resolve(st: &mut State, names: &[String]) {
    let index = |name: &str| names.iter().position(|n| n == name).unwrap_or(usize::MAX);
    if let Transition::Next(name, i) = &mut st.transition {
        *i = index(name);
    }
    let recovery = match &mut st.kind {
        StateKind::Task(t) => Some(&mut t.recovery),
        StateKind::Parallel(p) => Some(&mut p.recovery),
        StateKind::Map(m) => Some(&mut m.recovery),
        StateKind::Choice(c) => {
            for b in &mut c.choices {
                b.next.1 = index(&b.next.0);
            }
            if let Some(d) = &mut c.default {
                d.1 = index(&d.0);
            }
            None
        }
        _ => None,
    };
    if let Some(r) = recovery {
        for c in &mut r.catch {
            c.next.1 = index(&c.next.0);
        }
    }
}
