//! Choice rule semantics beyond the recorded operator suite: missing paths,
//! variables, the Context Object, StringMatches, And/Or/Not, ordering details.

use std::collections::HashMap;

use baton_asl::StatesError;
use baton_asl::choice::{evaluate, invalid_path_cause, string_matches};
use baton_asl::env::FixedEnv;
use baton_asl::model::{ChoiceRule, Comparison, Operand};
use baton_asl::path::Path;
use baton_asl::payload::{Scope, Vars};
use serde_json::{Value, json};

struct Map(HashMap<String, Value>);

impl Vars for Map {
    fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
}

/// These tests need real path selection; until the JSONPath module is in,
/// they report and skip.
fn path_ready() -> bool {
    let ready = Path::parse("$.a")
        .ok()
        .and_then(|p| p.select(&json!({"a": 1})))
        == Some(json!(1));
    if !ready {
        println!("choice semantics: JSONPath selection is not implemented yet, skipped");
    }
    ready
}

fn p(s: &str) -> Path {
    Path::parse(s).expect("valid path")
}

fn cmp(var: &str, op: Comparison, lit: Value) -> ChoiceRule {
    ChoiceRule::Compare {
        variable: p(var),
        op,
        operand: Operand::Literal(lit),
    }
}

fn cmp_path(var: &str, op: Comparison, other: &str) -> ChoiceRule {
    ChoiceRule::Compare {
        variable: p(var),
        op,
        operand: Operand::Path(p(other)),
    }
}

fn run(rule: &ChoiceRule, input: &Value) -> Result<bool, StatesError> {
    run_with(rule, input, &json!({}), &Map(HashMap::new()))
}

fn run_with(
    rule: &ChoiceRule,
    input: &Value,
    context: &Value,
    vars: &Map,
) -> Result<bool, StatesError> {
    let mut env = FixedEnv::new(0, 0);
    let scope = Scope {
        input,
        context,
        vars,
        env: &mut env,
    };
    evaluate(rule, &scope)
}

#[test]
fn a_missing_variable_is_a_runtime_error() {
    if !path_ready() {
        return;
    }
    let rule = cmp("$.missing", Comparison::NumericEquals, json!(1));
    let err = run(&rule, &json!({"other": 1})).expect_err("missing path");
    assert_eq!(err.error, "States.Runtime");
    assert_eq!(
        err.cause.as_deref(),
        Some(
            "Invalid path '$.missing': The choice state's condition path references an invalid value."
        )
    );
    assert_eq!(
        err.cause.as_deref(),
        Some(invalid_path_cause("$.missing").as_str())
    );
    // Every operator but IsPresent needs the value, the type tests included.
    for op in [
        Comparison::IsNull,
        Comparison::IsString,
        Comparison::IsTimestamp,
        Comparison::BooleanEquals,
    ] {
        assert!(
            run(&cmp("$.missing", op, json!(true)), &json!({})).is_err(),
            "{op:?}"
        );
    }
}

#[test]
fn a_missing_operand_path_is_a_runtime_error_naming_that_path() {
    if !path_ready() {
        return;
    }
    let rule = cmp_path("$.left", Comparison::NumericLessThanEquals, "$.right");
    let err = run(&rule, &json!({"left": 8})).expect_err("missing operand");
    assert_eq!(
        err.cause.as_deref(),
        Some(invalid_path_cause("$.right").as_str())
    );
    assert!(run(&rule, &json!({"left": 8, "right": 8})).expect("ok"));
    assert!(!run(&rule, &json!({"left": 9, "right": 8})).expect("ok"));
    // An operand of the wrong type is no error, just no match.
    assert!(!run(&rule, &json!({"left": 8, "right": {"value": 8}})).expect("ok"));
    assert!(!run(&rule, &json!({"left": "8", "right": 8})).expect("ok"));
}

#[test]
fn is_present_reads_absence() {
    if !path_ready() {
        return;
    }
    let input = json!({"a": null});
    assert!(run(&cmp("$.a", Comparison::IsPresent, json!(true)), &input).expect("ok"));
    assert!(!run(&cmp("$.b", Comparison::IsPresent, json!(true)), &input).expect("ok"));
    assert!(run(&cmp("$.b", Comparison::IsPresent, json!(false)), &input).expect("ok"));
    assert!(run(&cmp("$.a", Comparison::IsNull, json!(true)), &input).expect("ok"));
}

#[test]
fn variables_and_the_context_object() {
    if !path_ready() {
        return;
    }
    let vars = Map(HashMap::from([
        ("x".to_string(), json!(5)),
        ("cfg".to_string(), json!({"on": true})),
    ]));
    let context = json!({"Execution": {"Name": "run-1"}});
    let input = json!({});
    let x = cmp("$x", Comparison::NumericGreaterThan, json!(4));
    assert!(run_with(&x, &input, &context, &vars).expect("ok"));
    let on = cmp("$cfg.on", Comparison::BooleanEquals, json!(true));
    assert!(run_with(&on, &input, &context, &vars).expect("ok"));
    let name = cmp(
        "$$.Execution.Name",
        Comparison::StringEquals,
        json!("run-1"),
    );
    assert!(run_with(&name, &input, &context, &vars).expect("ok"));
    // An unset variable: absent for IsPresent, an error for the others.
    let unset = cmp("$nope", Comparison::IsPresent, json!(false));
    assert!(run_with(&unset, &input, &context, &vars).expect("ok"));
    let err = run_with(
        &cmp("$nope", Comparison::StringEquals, json!("a")),
        &input,
        &context,
        &vars,
    )
    .expect_err("unset variable");
    assert_eq!(
        err.cause.as_deref(),
        Some(invalid_path_cause("$nope").as_str())
    );
    // A variable as the operand of a …Path operator.
    let vs = cmp_path("$.n", Comparison::NumericEquals, "$x");
    assert!(run_with(&vs, &json!({"n": 5.0}), &context, &vars).expect("ok"));
}

#[test]
fn and_or_not_short_circuit() {
    if !path_ready() {
        return;
    }
    let input = json!({"a": 1, "s": "x"});
    let yes = cmp("$.a", Comparison::NumericEquals, json!(1));
    let no = cmp("$.a", Comparison::NumericEquals, json!(2));
    let boom = cmp("$.missing", Comparison::NumericEquals, json!(1));
    assert!(run(&ChoiceRule::And(vec![yes.clone(), yes.clone()]), &input).expect("ok"));
    assert!(!run(&ChoiceRule::And(vec![yes.clone(), no.clone()]), &input).expect("ok"));
    assert!(run(&ChoiceRule::Or(vec![no.clone(), yes.clone()]), &input).expect("ok"));
    assert!(!run(&ChoiceRule::Or(vec![no.clone(), no.clone()]), &input).expect("ok"));
    assert!(run(&ChoiceRule::Not(Box::new(no.clone())), &input).expect("ok"));
    assert!(!run(&ChoiceRule::Not(Box::new(yes.clone())), &input).expect("ok"));
    // The first deciding rule ends the evaluation.
    assert!(!run(&ChoiceRule::And(vec![no.clone(), boom.clone()]), &input).expect("short-circuit"));
    assert!(run(&ChoiceRule::Or(vec![yes.clone(), boom.clone()]), &input).expect("short-circuit"));
    assert!(run(&ChoiceRule::And(vec![yes, boom.clone()]), &input).is_err());
    assert!(run(&ChoiceRule::Not(Box::new(boom)), &input).is_err());
}

#[test]
fn numbers_compare_by_value() {
    if !path_ready() {
        return;
    }
    let eq = |a: Value, b: Value| {
        run(&cmp("$.v", Comparison::NumericEquals, b), &json!({"v": a})).expect("ok")
    };
    assert!(eq(json!(1), json!(1.0)));
    assert!(eq(json!(-0.0), json!(0)));
    assert!(eq(json!(2.22), json!(2.22)));
    assert!(!eq(
        json!(9_007_199_254_740_993u64),
        json!(9_007_199_254_740_992u64)
    ));
    assert!(eq(json!(u64::MAX), json!(u64::MAX)));
    assert!(!eq(json!(true), json!(1)));
    assert!(!eq(json!("1"), json!(1)));
    let lt = run(
        &cmp("$.v", Comparison::NumericLessThan, json!(-1)),
        &json!({"v": i64::MIN}),
    )
    .expect("ok");
    assert!(lt);
}

#[test]
fn strings_order_by_utf16_code_units() {
    if !path_ready() {
        return;
    }
    // U+10000 is the surrogate pair D800 DC00, which sorts before U+FFFF in
    // Java (byte order would say the opposite).
    let rule = cmp("$.v", Comparison::StringLessThan, json!("\u{FFFF}"));
    assert!(run(&rule, &json!({"v": "\u{10000}"})).expect("ok"));
    let rule = cmp("$.v", Comparison::StringGreaterThan, json!("A"));
    assert!(run(&rule, &json!({"v": "a"})).expect("ok"));
    assert!(!run(&rule, &json!({"v": 5})).expect("ok"));
}

#[test]
fn timestamps_compare_as_instants() {
    if !path_ready() {
        return;
    }
    let eq = cmp(
        "$.t",
        Comparison::TimestampEquals,
        json!("2012-10-09T19:00:55Z"),
    );
    assert!(run(&eq, &json!({"t": "2012-10-09T20:00:55+01:00"})).expect("ok"));
    assert!(run(&eq, &json!({"t": "2012-10-09T19:00:55.000Z"})).expect("ok"));
    assert!(!run(&eq, &json!({"t": "2012-10-09T19:00:55"})).expect("ok"));
    assert!(!run(&eq, &json!({"t": 1_349_809_255})).expect("ok"));
    let before = cmp(
        "$.t",
        Comparison::TimestampLessThan,
        json!("2012-10-09T19:00:55Z"),
    );
    assert!(run(&before, &json!({"t": "2012-10-09T19:00:55+01:00"})).expect("ok"));
    let is = |v: Value| {
        run(
            &cmp("$.t", Comparison::IsTimestamp, json!(true)),
            &json!({"t": v}),
        )
        .expect("ok")
    };
    assert!(is(json!("2012-10-09T19:00:55Z")));
    assert!(is(json!("2012-10-09T19:00:55.123456789-07:00")));
    assert!(!is(json!("2012-10-09T19:00:55")));
    assert!(!is(json!("2023-02-24")));
    assert!(!is(json!(0)));
}

#[test]
fn string_matches_wildcards_and_escapes() {
    assert!(string_matches("log-2024.txt", "log-*.txt"));
    assert!(string_matches("log-.txt", "log-*.txt"));
    assert!(!string_matches("log-2024.txt.bak", "log-*.txt"));
    assert!(string_matches("anything", "*"));
    assert!(string_matches("", "*"));
    assert!(string_matches("", ""));
    assert!(!string_matches("a", ""));
    assert!(string_matches("abcabd", "*abd"));
    assert!(string_matches("a*b", "a\\*b"));
    assert!(!string_matches("axb", "a\\*b"));
    assert!(string_matches("a\\b", "a\\\\b"));
    assert!(string_matches("x*y*z", "x*\\**z"));
    assert!(string_matches("日本語", "日*"));
    assert!(string_matches("a?b", "a?b"));
    assert!(!string_matches("axb", "a?b"));
    assert!(string_matches(
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
        "a*a*a*a*a*a*a*b"
    ));
    assert!(!string_matches(
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "a*a*a*a*a*a*a*b"
    ));
}

#[test]
fn a_literal_condition_evaluates_to_itself() {
    let input = json!({});
    assert!(run(&ChoiceRule::Condition(json!(true)), &input).expect("ok"));
    assert!(!run(&ChoiceRule::Condition(json!(false)), &input).expect("ok"));
    assert!(run(&ChoiceRule::Condition(json!("{% true %}")), &input).is_err());
}
