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
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TransformerSpec {
    Literal {
        literal: (String, String),
    },
    ValueAt {
        value_at: String,
        #[serde(default)]
        field: Option<String>,
        to: String,
    },
    KeyValue {
        key_value: String,
        to: String,
    },
}

impl TransformerSpec {
    pub fn to_extra(&self) -> Extra {
        match self {
            TransformerSpec::Literal { literal } => Extra::Literal {
                from: literal.0.clone(),
                to: literal.1.clone(),
            },
            TransformerSpec::ValueAt {
                value_at,
                field,
                to,
            } => Extra::ValueAt {
                path: value_at.clone(),
                field: field.clone(),
                to: to.clone(),
            },
            TransformerSpec::KeyValue { key_value, to } => Extra::KeyValue {
                key: key_value.clone(),
                to: to.clone(),
            },
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
    fn params() {
        let id = "a.py::C::test_x[$.items[0]]";
        assert_eq!(strip_param(id), "a.py::C::test_x");
        assert_eq!(param_of(id), Some("$.items[0]"));
        assert_eq!(param_of("a.py::C::test_x"), None);
    }
}
