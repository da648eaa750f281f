//! Payload templates: compile-time diagnostics and evaluation.

use baton_asl::StatesError;
use baton_asl::env::FixedEnv;
use baton_asl::payload::{Scope, Template};
use serde_json::{Map, Value, json};

fn eval(template: &Value, input: &Value) -> Result<Value, StatesError> {
    let t = Template::compile(template, "/States/S/Parameters").unwrap_or_else(|d| panic!("{d:?}"));
    let ctx = json!({"Execution": {"Name": "exec-1", "Input": {"a": 1}}, "Map": {"Item": {"Index": 2, "Value": "v"}}});
    let mut vars = Map::new();
    vars.insert("x".into(), json!({"deep": [5, 6]}));
    let mut env = FixedEnv::new(0, 1);
    let mut scope = Scope {
        input,
        context: &ctx,
        vars: &vars,
        env: &mut env,
    };
    t.eval(&mut scope)
}

#[test]
fn static_template_is_copied() {
    let tpl = json!({"a": 1, "b": {"c": [1, {"d": "$.not_a_path"}]}, "e.f": null});
    let t = Template::compile(&tpl, "/States/S/Parameters").unwrap_or_else(|d| panic!("{d:?}"));
    assert!(t.is_static());
    assert!(!t.uses_context());
    assert_eq!(t.raw(), &tpl);
    assert_eq!(eval(&tpl, &json!({})), Ok(tpl.clone()));
}

#[test]
fn dynamic_keys_at_any_depth() {
    let tpl = json!({
        "plain": "x",
        "p.$": "$.a",
        "whole.$": "$",
        "ctx.$": "$$.Execution.Name",
        "var.$": "$x.deep",
        "fn.$": "States.Format('{}-{}', $.a, $$.Map.Item.Index)",
        "nested": {"inner.$": "$.b", "list": [1, {"deep.$": "States.Array($.a)"}, "s"]},
        "arr": [{"k.$": "$.a"}]
    });
    let input = json!({"a": "A", "b": [true]});
    let got = eval(&tpl, &input);
    assert_eq!(
        got,
        Ok(json!({
            "plain": "x",
            "p": "A",
            "whole": {"a": "A", "b": [true]},
            "ctx": "exec-1",
            "var": [5, 6],
            "fn": "A-2",
            "nested": {"inner": [true], "list": [1, {"deep": ["A"]}, "s"]},
            "arr": [{"k": "A"}]
        }))
    );
    // Key order is kept as written.
    let keys: Vec<String> = got
        .ok()
        .and_then(|v| v.as_object().map(|m| m.keys().cloned().collect()))
        .unwrap_or_default();
    assert_eq!(
        keys,
        vec!["plain", "p", "whole", "ctx", "var", "fn", "nested", "arr"]
    );
    let t = Template::compile(&tpl, "").unwrap_or_else(|d| panic!("{d:?}"));
    assert!(t.uses_context());
    assert!(t.uses_variables());
    assert_eq!(t.variables(), vec!["x"]);
}

#[test]
fn uses_context_only_when_needed() {
    let t = Template::compile(&json!({"a.$": "$.x", "b": {"c.$": "States.UUID()"}}), "")
        .unwrap_or_else(|d| panic!("{d:?}"));
    assert!(!t.uses_context());
    assert!(!t.uses_variables());
    let t = Template::compile(
        &json!({"b": [{"c.$": "States.Array($$.Execution.Id)"}]}),
        "",
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    assert!(t.uses_context());
}

#[test]
fn missing_path_is_states_runtime() {
    let err = eval(&json!({"JobName.$": "$.JobName"}), &json!({}));
    assert_eq!(
        err,
        Err(StatesError::runtime(
            "The JSONPath '$.JobName' specified for the field 'JobName.$' could not be found in the input '{}'"
        ))
    );
    let err = eval(
        &json!({"n": {"v.$": "States.Array($.nope)"}}),
        &json!({"other": 1}),
    );
    assert_eq!(
        err,
        Err(StatesError::runtime(
            "The JSONPath '$.nope' specified for the field 'v.$' could not be found in the input '{\"other\":1}'"
        ))
    );
    let err = eval(&json!({"v.$": "$undefinedVar"}), &json!({}));
    assert_eq!(
        err,
        Err(StatesError::runtime(
            "The JSONPath '$undefinedVar' specified for the field 'v.$' could not be found in the input '{}'"
        ))
    );
}

#[test]
fn intrinsic_errors_pass_through() {
    let err = eval(
        &json!({"v.$": "States.MathAdd($.a, 1)"}),
        &json!({"a": "x"}),
    );
    assert_eq!(
        err,
        Err(StatesError::runtime("Invalid arguments in States.MathAdd"))
    );
}

#[test]
fn diagnostics_report_every_problem() {
    let tpl = json!({
        "parsed.$": "States.StringToJson('{\"text\":\"An \\\"escaped double quote\\\" here\"}')",
        "ok.$": "$.fine",
        "num.$": 5,
        "plain.$": "hello",
        "unknown.$": "States.Nope()",
        "nested": {"bad.$": "States.Array("},
        "list": [{"worse.$": null}]
    });
    let diags = match Template::compile(&tpl, "/States/IntrinsicEscape/Parameters") {
        Ok(_) => panic!("expected diagnostics"),
        Err(d) => d,
    };
    let got: Vec<String> = diags.iter().map(ToString::to_string).collect();
    let msg = |f: &str, at: &str| {
        format!(
            "SCHEMA_VALIDATION_FAILED: The value for the field '{f}' must be a valid JSONPath or a valid intrinsic function call at {at}"
        )
    };
    assert_eq!(
        got,
        vec![
            msg("parsed.$", "/States/IntrinsicEscape/Parameters"),
            msg("num.$", "/States/IntrinsicEscape/Parameters"),
            msg("plain.$", "/States/IntrinsicEscape/Parameters"),
            msg("unknown.$", "/States/IntrinsicEscape/Parameters"),
            msg("bad.$", "/States/IntrinsicEscape/Parameters/nested"),
            msg("worse.$", "/States/IntrinsicEscape/Parameters/list/0"),
        ]
    );
}

#[test]
fn non_object_templates() {
    assert_eq!(
        eval(&json!([{"a.$": "$.x"}, 2]), &json!({"x": 1})),
        Ok(json!([{"a": 1}, 2]))
    );
    assert_eq!(
        eval(&json!("just a string"), &json!({})),
        Ok(json!("just a string"))
    );
}
