use serde_json::{Value, json};

use super::{Path, Root};

fn p(src: &str) -> Path {
    match Path::parse(src) {
        Ok(p) => p,
        Err(e) => panic!("{src}: {}", e.message),
    }
}

fn sel(src: &str, doc: &Value) -> Option<Value> {
    p(src).select(doc)
}

#[test]
fn smoke() {
    let doc = json!({"a": {"b": [1, 2, 3]}});
    assert_eq!(sel("$.a.b[1]", &doc), Some(json!(2)));
    assert_eq!(p("$$.Execution.Id").root(), &Root::Context);
}
