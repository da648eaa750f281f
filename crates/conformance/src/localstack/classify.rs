//! Static features of a definition that decide whether an entry can run.

use serde_json::Value;

/// What a definition uses.
#[derive(Debug, Default, Clone)]
pub struct Features {
    pub jsonata: bool,
    pub distributed_map: bool,
    pub activity: bool,
    /// The first state's name (`StartAt`).
    pub start_at: Option<String>,
}

/// Walks every state (branches, iterators and item processors included).
pub fn features(def: &Value) -> Features {
    let mut f = Features {
        start_at: def
            .get("StartAt")
            .and_then(Value::as_str)
            .map(str::to_string),
        ..Features::default()
    };
    if is_jsonata(def) {
        f.jsonata = true;
    }
    walk_machine(def, &mut f);
    f
}

fn is_jsonata(v: &Value) -> bool {
    v.get("QueryLanguage").and_then(Value::as_str) == Some("JSONata")
}

fn walk_machine(machine: &Value, f: &mut Features) {
    let Some(states) = machine.get("States").and_then(Value::as_object) else {
        return;
    };
    for state in states.values() {
        if is_jsonata(state) {
            f.jsonata = true;
        }
        if let Some(r) = state.get("Resource").and_then(Value::as_str)
            && r.contains(":activity:")
        {
            f.activity = true;
        }
        if state.get("Type").and_then(Value::as_str) == Some("Map") {
            let mode = state
                .pointer("/ItemProcessor/ProcessorConfig/Mode")
                .and_then(Value::as_str);
            if mode == Some("DISTRIBUTED")
                || state.get("ItemReader").is_some()
                || state.get("ResultWriter").is_some()
                || state.get("ItemBatcher").is_some()
            {
                f.distributed_map = true;
            }
        }
        if let Some(branches) = state.get("Branches").and_then(Value::as_array) {
            for b in branches {
                walk_machine(b, f);
            }
        }
        for key in ["Iterator", "ItemProcessor"] {
            if let Some(inner) = state.get(key) {
                walk_machine(inner, f);
            }
        }
    }
}

/// Placeholders LocalStack's tests substitute at run time.
pub fn find_placeholder(text: &str) -> Option<String> {
    for p in ["__tbd__", "_tbd_", "_TBD_", "__tbc__"] {
        if text.contains(p) {
            return Some(p.to_string());
        }
    }
    // `%SomePlaceholder%` inside a JSON string.
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j < b.len() && b[j] == b'%' && j > i + 1 {
                return Some(text[i..=j].to_string());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detects_features() {
        let def = json!({"StartAt": "M", "States": {
            "M": {"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "A",
                "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:1:activity:x", "QueryLanguage": "JSONata", "End": true}}},
             "End": true}}});
        let f = features(&def);
        assert!(f.jsonata && f.distributed_map && f.activity);
        assert_eq!(f.start_at.as_deref(), Some("M"));
        let f = features(&json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}));
        assert!(!f.jsonata && !f.distributed_map && !f.activity);
    }

    #[test]
    fn placeholders() {
        assert_eq!(
            find_placeholder(r#"{"a": "%ComparisonOperatorType%"}"#).as_deref(),
            Some("%ComparisonOperatorType%")
        );
        assert_eq!(
            find_placeholder(r#"{"a": "__tbd__"}"#).as_deref(),
            Some("__tbd__")
        );
        assert_eq!(find_placeholder(r#"{"a": "100% sure 50%"}"#), None);
    }
}
