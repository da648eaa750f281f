//! The substitutions table (`conformance/substitutions.json` at the repository
//! root, embedded at build time): per LocalStack test, the values its Python
//! code puts into templates at run time, each citing the test.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use super::normalise::Extra;

/// The table embedded in the binary.
pub const EMBEDDED: &str = include_str!("../../../../conformance/substitutions.json");

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Table {
    #[serde(default)]
    pub tests: IndexMap<String, Entry>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Entry {
    /// The LocalStack test (and helper) the values come from.
    pub cite: String,
    /// Repository path of the template, when INDEX.json lists none or several.
    #[serde(default)]
    pub template: Option<String>,
    /// Text replacements on the template's JSON text.
    #[serde(default)]
    pub replace: IndexMap<String, String>,
    /// Choice-operator tests: replace `"$.Value"` by each case's value literal.
    #[serde(default)]
    pub choice_literal_value: Option<bool>,
    /// `[Variable, Value]` per case when the recorded inputs were normalised.
    #[serde(default)]
    pub case_inputs: Option<Vec<(Value, Value)>>,
    /// Extra snapshot transformers the test registers.
    #[serde(default)]
    pub transformers: Vec<TransformerSpec>,
    /// Execution inputs (per history key) when the recorded ones were normalised.
    #[serde(default)]
    pub inputs: IndexMap<String, Value>,
    /// Values the test assigns in the loaded template before `json.dumps`
    /// (`template["States"]["S"]["Result"] = ...`): JSON pointer → value.
    #[serde(default)]
    pub set: IndexMap<String, Value>,
    /// JSON pointers the test assigns its pytest parameter to (the `[param]`
    /// of the node id, a string).
    #[serde(default)]
    pub set_param: Vec<String>,
    /// JSON pointers the test deletes from the loaded template
    /// (`del template["States"]["S"]["TimeoutSeconds"]`).
    #[serde(default)]
    pub unset: Vec<String>,
    /// What the test maps each execution's name to, when not
    /// `sfn_sm_exec_arn(exec, i)`'s `<ExecArnPart_<i>idx>` (e.g. a
    /// `RegexTransformer(execution_name, "<execution-name>")`).
    #[serde(default)]
    pub execution_names: Vec<String>,
    /// Activity tests: the test creates an activity (`create_activity`,
    /// matched as `create_activity_output`), registers
    /// `RegexTransformer(activity_arn, "activity_arn")` and
    /// `RegexTransformer(activity_name, "activity_name")`, and puts the
    /// activity's ARN at this JSON pointer of the template. Replayed in the
    /// HTTP mode only.
    #[serde(default)]
    pub activity: Option<ActivitySpec>,
}

/// See [`Entry::activity`].
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActivitySpec {
    /// JSON pointer of the Task's `Resource`.
    pub resource: String,
    /// The test deletes the activity before the execution.
    #[serde(default)]
    pub deleted: bool,
}

impl Entry {
    /// Whether the entry changes the parsed template.
    pub fn edits_template(&self) -> bool {
        !self.set.is_empty() || !self.set_param.is_empty() || !self.unset.is_empty()
    }

    /// Applies `unset`, `set` and `set_param` to the parsed template.
    pub fn apply_sets(&self, node_id: &str, template: &mut Value) -> Result<(), String> {
        let param = param_of(node_id);
        let mut sets: Vec<(&str, Value)> = self
            .set
            .iter()
            .map(|(p, v)| (p.as_str(), v.clone()))
            .collect();
        for p in &self.set_param {
            let Some(param) = param else {
                return Err(format!("set_param {p}: node id has no [param]"));
            };
            sets.push((p.as_str(), Value::String(param.to_string())));
        }
        for pointer in &self.unset {
            let Some((parent, last)) = pointer.rsplit_once('/') else {
                return Err(format!("bad JSON pointer {pointer}"));
            };
            let key = last.replace("~1", "/").replace("~0", "~");
            match template.pointer_mut(parent) {
                Some(Value::Object(m)) if m.contains_key(&key) => {
                    m.shift_remove(&key);
                }
                _ => return Err(format!("nothing at {pointer} in the template")),
            }
        }
        for (pointer, value) in sets {
            let Some((parent, last)) = pointer.rsplit_once('/') else {
                return Err(format!("bad JSON pointer {pointer}"));
            };
            let key = last.replace("~1", "/").replace("~0", "~");
            match template.pointer_mut(parent) {
                Some(Value::Object(m)) => {
                    m.insert(key, value);
                }
                Some(Value::Array(a)) => match key.parse::<usize>().ok().and_then(|i| a.get_mut(i))
                {
                    Some(slot) => *slot = value,
                    None => return Err(format!("no element {pointer} in the template")),
                },
                _ => return Err(format!("no object at {parent} in the template")),
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TransformerSpec {
    Literal {
        literal: (String, String),
        #[serde(default)]
        late: bool,
    },
    ValueAt {
        value_at: String,
        #[serde(default)]
        field: Option<String>,
        to: String,
        #[serde(default)]
        late: bool,
    },
    KeyValue {
        key_value: String,
        to: String,
        #[serde(default)]
        late: bool,
    },
    ResourceName {
        resource_name: String,
    },
    JsonPathSet {
        jsonpath_set: String,
        to: Value,
    },
    JsonPathRef {
        jsonpath: String,
        to: String,
    },
}

impl TransformerSpec {
    /// The transformer, and whether the test registers it after the execution
    /// ran (`late`) rather than before `create_and_record_execution`.
    pub fn to_extra(&self) -> (Extra, bool) {
        match self {
            TransformerSpec::Literal { literal, late } => (
                Extra::Literal {
                    from: literal.0.clone(),
                    to: literal.1.clone(),
                },
                *late,
            ),
            TransformerSpec::ValueAt {
                value_at,
                field,
                to,
                late,
            } => (
                Extra::ValueAt {
                    path: value_at.clone(),
                    field: field.clone(),
                    to: to.clone(),
                },
                *late,
            ),
            TransformerSpec::KeyValue {
                key_value,
                to,
                late,
            } => (
                Extra::KeyValue {
                    key: key_value.clone(),
                    to: to.clone(),
                },
                *late,
            ),
            TransformerSpec::ResourceName { resource_name } => (
                Extra::ResourceName {
                    to: resource_name.clone(),
                },
                false,
            ),
            TransformerSpec::JsonPathRef { jsonpath, to } => (
                Extra::JsonPathRef {
                    path: jsonpath.clone(),
                    to: to.clone(),
                },
                false,
            ),
            TransformerSpec::JsonPathSet { jsonpath_set, to } => (
                Extra::JsonPathSet {
                    path: jsonpath_set.clone(),
                    to: to.clone(),
                },
                false,
            ),
        }
    }
}

impl Table {
    /// Parses the table.
    pub fn parse(text: &str) -> anyhow::Result<Table> {
        Ok(serde_json::from_str(text)?)
    }

    /// The entry for a snapshot entry: the exact node id first, then its test
    /// function (node id without the `[param]`).
    pub fn lookup(&self, node_id: &str) -> Option<&Entry> {
        self.tests
            .get(node_id)
            .or_else(|| self.tests.get(strip_param(node_id)))
    }
}

/// `path::Class::test[param]` → `path::Class::test`.
pub fn strip_param(node_id: &str) -> &str {
    let last = node_id.rfind("::").map(|i| i + 2).unwrap_or(0);
    match node_id[last..].find('[') {
        Some(p) => &node_id[..last + p],
        None => node_id,
    }
}

/// The `[param]` id of a node id, if any.
pub fn param_of(node_id: &str) -> Option<&str> {
    let last = node_id.rfind("::").map(|i| i + 2).unwrap_or(0);
    let tail = &node_id[last..];
    let open = tail.find('[')?;
    tail[open + 1..].strip_suffix(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_parses_and_cites() {
        let t = Table::parse(EMBEDDED).unwrap();
        assert!(!t.tests.is_empty());
        for (k, e) in &t.tests {
            assert!(e.cite.starts_with("tests/aws/"), "{k} lacks a citation");
        }
    }

    #[test]
    fn template_edits() {
        let e: Entry = serde_json::from_value(serde_json::json!({
            "cite": "tests/aws/x.py::C::t",
            "set": {"/States/A/Result": {"a": 1}, "/States/A/Catch/0/ErrorEquals": ["E"]},
            "set_param": ["/States/A/Parameters/item.$"],
            "unset": ["/States/A/TimeoutSeconds"]
        }))
        .unwrap();
        let mut t = serde_json::json!({"States": {"A": {"TimeoutSeconds": 5, "Parameters": {},
            "Catch": [{"ErrorEquals": []}]}}});
        e.apply_sets("a.py::C::t[$.x[0]]", &mut t).unwrap();
        assert_eq!(
            t,
            serde_json::json!({"States": {"A": {"Parameters": {"item.$": "$.x[0]"},
                "Catch": [{"ErrorEquals": ["E"]}], "Result": {"a": 1}}}})
        );
        assert!(e.apply_sets("a.py::C::t", &mut t).is_err());
    }

    #[test]
    fn params() {
        let id = "a.py::C::test_x[$.items[0]]";
        assert_eq!(strip_param(id), "a.py::C::test_x");
        assert_eq!(param_of(id), Some("$.items[0]"));
        assert_eq!(param_of("a.py::C::test_x"), None);
    }
}
