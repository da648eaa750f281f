//! Any text → the JSONPath parser; a path that parses is then selected from
//! and written into a small fixed document: no panic, whatever the path.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fn document() -> Value {
    json!({
        "a": { "b": [1, 2, { "c": "x", "d": [true, null] }], "e": "text" },
        "n": 5,
        "f": 1.5,
        "empty": {},
        "list": [{ "k": 1, "v": "one" }, { "k": 2, "v": "two" }, { "k": 3 }],
        "with space": { "dot.key": 0 },
        "": "blank",
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(path) = baton_asl::path::Path::parse(src) else {
        return;
    };
    let _ = path.source();
    let _ = path.root();
    let _ = path.is_reference();
    let _ = path.is_definite();
    let _ = path.is_root_only();
    let doc = document();
    let selected = path.select(&doc);
    // The borrowing and explaining forms agree with `select`.
    assert_eq!(path.select_ref(&doc).map(|v| v.into_owned()), selected);
    assert_eq!(path.try_select(&doc).ok().map(|v| v.into_owned()), selected);
    if !path.is_definite() {
        assert!(matches!(selected, None | Some(Value::Array(_))));
    }
    let _ = path.select(&Value::Null);
    let _ = path.select(&json!([[1, [2, [3]]], { "x": { "x": { "x": 1 } } }]));
    let _ = path.write(doc.clone(), json!({ "written": true }));
    let _ = path.write(json!({}), json!(1));
    let _ = path.write(json!("scalar"), Value::Null);
});
