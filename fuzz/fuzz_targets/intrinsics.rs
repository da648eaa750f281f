//! Any text → the intrinsic function parser; a call that parses is then
//! evaluated over a fixed input, Context Object and variables with a
//! deterministic environment: it must return a value or a States error,
//! never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

use baton_asl::env::FixedEnv;
use baton_asl::payload::{Scope, Vars};

struct FixedVars(Map<String, Value>);

impl Vars for FixedVars {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(call) = baton_asl::intrinsics::parse(src) else {
        return;
    };
    let _ = call.source();
    let input = json!({
        "s": "a,b,c",
        "n": 3,
        "f": -2.5,
        "big": 9007199254740993u64,
        "arr": [1, 2, 2, "x", { "k": null }, [3]],
        "obj": { "k": "v", "nested": { "deep": [1, 2, 3] } },
        "json": "{\"a\":[1,2]}",
        "b64": "aGVsbG8=",
        "t": true,
        "nil": null,
        "empty": "",
    });
    let context = json!({
        "Execution": { "Id": "arn:aws:states:us-east-1:123456789012:execution:sm:run", "Input": {}, "Name": "run" },
        "State": { "Name": "S", "EnteredTime": "2024-01-01T00:00:00.000Z" },
        "Map": { "Item": { "Index": 1, "Value": { "v": 1 } } },
    });
    let mut vars = Map::new();
    vars.insert("x".into(), json!(7));
    vars.insert("list".into(), json!([1, 2, 3]));
    vars.insert("text".into(), json!("hello {}"));
    let vars = FixedVars(vars);
    let mut env = FixedEnv::new(1_700_000_000_000, 7);
    let mut scope = Scope {
        input: &input,
        context: &context,
        vars: &vars,
        env: &mut env,
    };
    let _ = call.eval(&mut scope);
});
