//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector`,
//! `Credentials` and JSONPath-mode `Assign`, whose keys ending in `.$` take a
//! path (`$.x`), a context path (`$$.x`), a variable (`$name`) or an intrinsic
//! function call, at any depth.
//!
//! A template is compiled once: every path and call is parsed then, and every
//! problem is reported as a [`Diagnostic`]. Evaluating walks the compiled tree;
//! static subtrees are stored as ready-made values.

use serde_json::{Map, Value};

use crate::diag::pointer_segment;
use crate::intrinsics::{self, Call};
use crate::path::{Path, Root};
use crate::{Diagnostic, Env, StatesError};

/// Read access to the workflow variables visible from a state.
pub trait Vars {
    /// The value of variable `name`, if it is set.
    fn get(&self, name: &str) -> Option<&Value>;
}

/// No variables at all.
impl Vars for () {
    fn get(&self, _name: &str) -> Option<&Value> {
        None
    }
}

/// Variables held in a JSON object (name → value).
impl Vars for Map<String, Value> {
    fn get(&self, name: &str) -> Option<&Value> {
        Map::get(self, name)
    }
}

/// Variables held in a map.
impl<S: std::hash::BuildHasher> Vars for std::collections::HashMap<String, Value, S> {
    fn get(&self, name: &str) -> Option<&Value> {
        std::collections::HashMap::get(self, name)
    }
}

/// Everything an expression may read while it is evaluated.
pub struct Scope<'a> {
    /// What `$` refers to.
    pub input: &'a Value,
    /// What `$$` refers to (the Context Object).
    pub context: &'a Value,
    /// What `$name` refers to.
    pub vars: &'a dyn Vars,
    /// Where `States.UUID` and unseeded `States.MathRandom` draw from.
    pub env: &'a mut dyn Env,
}

/// A compiled payload template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    raw: Value,
    root: Node,
    uses_context: bool,
    uses_variables: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// A subtree without any `.$` key: copied as is.
    Static(Value),
    /// An object with at least one dynamic member.
    Object(Vec<(String, Node)>),
    /// An array with at least one dynamic element.
    Array(Vec<Node>),
    /// `"key.$": "$..."`; `field` is the key as written (with `.$`).
    Path { field: String, path: Path },
    /// `"key.$": "States.Fn(...)"`.
    Call { field: String, call: Call },
}

/// AWS's message for a `.$` value that is neither a path nor a call.
pub fn invalid_dynamic_value_message(field: &str) -> String {
    format!(
        "The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call"
    )
}

impl Template {
    /// Compiles `value` found at JSON pointer `location`; returns every problem.
    ///
    /// A bad `.$` value is reported at the pointer of the object that holds the
    /// key (AWS: `... for the field 'parsed.$' ... at /States/X/Parameters`).
    pub fn compile(value: &Value, location: &str) -> Result<Template, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let root = compile_node(value, location, &mut diags);
        if !diags.is_empty() {
            return Err(diags);
        }
        let mut t = Template {
            raw: value.clone(),
            root,
            uses_context: false,
            uses_variables: false,
        };
        t.uses_context = t.root.any(&|n| match n {
            Node::Path { path, .. } => matches!(path.root(), Root::Context),
            Node::Call { call, .. } => call.uses_context(),
            _ => false,
        });
        t.uses_variables = t.root.any(&|n| match n {
            Node::Path { path, .. } => matches!(path.root(), Root::Variable(_)),
            Node::Call { call, .. } => call.uses_variables(),
            _ => false,
        });
        Ok(t)
    }

    /// Whether evaluating needs the Context Object.
    pub fn uses_context(&self) -> bool {
        self.uses_context
    }

    /// Whether evaluating reads workflow variables.
    pub fn uses_variables(&self) -> bool {
        self.uses_variables
    }

    /// Every variable name the template reads (repeats kept, in order).
    pub fn variables(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.root.collect_variables(&mut out);
        out
    }

    /// Whether the template has no `.$` key at all.
    pub fn is_static(&self) -> bool {
        matches!(self.root, Node::Static(_))
    }

    /// The template as written.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Evaluates the template.
    pub fn eval(&self, scope: &mut Scope<'_>) -> Result<Value, StatesError> {
        self.root.eval(scope)
    }
}

fn compile_node(value: &Value, location: &str, diags: &mut Vec<Diagnostic>) -> Node {
    match value {
        Value::Object(map) => {
            let mut members = Vec::with_capacity(map.len());
            let mut dynamic = false;
            for (key, v) in map {
                if let Some(out_key) = key.strip_suffix(".$") {
                    dynamic = true;
                    let node = compile_dynamic(key, v, location, diags);
                    members.push((out_key.to_string(), node));
                } else {
                    let child_loc = format!("{location}/{}", pointer_segment(key));
                    let node = compile_node(v, &child_loc, diags);
                    dynamic |= !matches!(node, Node::Static(_));
                    members.push((key.clone(), node));
                }
            }
            if dynamic {
                Node::Object(members)
            } else {
                Node::Static(value.clone())
            }
        }
        Value::Array(items) => {
            let mut nodes = Vec::with_capacity(items.len());
            let mut dynamic = false;
            for (i, v) in items.iter().enumerate() {
                let node = compile_node(v, &format!("{location}/{i}"), diags);
                dynamic |= !matches!(node, Node::Static(_));
                nodes.push(node);
            }
            if dynamic {
                Node::Array(nodes)
            } else {
                Node::Static(value.clone())
            }
        }
        other => Node::Static(other.clone()),
    }
}

fn compile_dynamic(field: &str, v: &Value, location: &str, diags: &mut Vec<Diagnostic>) -> Node {
    let bad = |diags: &mut Vec<Diagnostic>| {
        diags.push(Diagnostic::schema(
            invalid_dynamic_value_message(field),
            location,
        ));
        Node::Static(Value::Null)
    };
    let Some(s) = v.as_str() else {
        return bad(diags);
    };
    if s.starts_with('$') {
        match Path::parse(s) {
            Ok(path) => Node::Path {
                field: field.to_string(),
                path,
            },
            Err(_) => bad(diags),
        }
    } else if intrinsics::looks_like_call(s) {
        match intrinsics::parse(s) {
            Ok(call) => Node::Call {
                field: field.to_string(),
                call,
            },
            Err(_) => bad(diags),
        }
    } else {
        bad(diags)
    }
}

impl Node {
    fn any(&self, f: &dyn Fn(&Node) -> bool) -> bool {
        if f(self) {
            return true;
        }
        match self {
            Node::Object(members) => members.iter().any(|(_, n)| n.any(f)),
            Node::Array(items) => items.iter().any(|n| n.any(f)),
            _ => false,
        }
    }

    fn collect_variables<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Node::Static(_) => {}
            Node::Object(members) => members.iter().for_each(|(_, n)| n.collect_variables(out)),
            Node::Array(items) => items.iter().for_each(|n| n.collect_variables(out)),
            Node::Path { path, .. } => {
                if let Root::Variable(name) = path.root() {
                    out.push(name.as_str());
                }
            }
            Node::Call { call, .. } => out.extend(call.variables()),
        }
    }

    fn eval(&self, scope: &mut Scope<'_>) -> Result<Value, StatesError> {
        match self {
            Node::Static(v) => Ok(v.clone()),
            Node::Object(members) => {
                let mut map = Map::with_capacity(members.len());
                for (k, n) in members {
                    map.insert(k.clone(), n.eval(scope)?);
                }
                Ok(Value::Object(map))
            }
            Node::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for n in items {
                    out.push(n.eval(scope)?);
                }
                Ok(Value::Array(out))
            }
            Node::Path { field, path } => intrinsics::select_path(path, field, scope),
            Node::Call { field, call } => call.eval_field(field, scope),
        }
    }
}
