//! LocalStack's AWS-recorded Choice operator suite
//! (`v2/choice_operators/*.snapshot.json`, 427 input → output cases).
//!
//! Each test there takes one template (`templates/choiceoperators/statemachines/template.json`)
//! whose rule is `{"Variable": "$.Variable", "%ComparisonOperatorType%": "$.Value", ...}`,
//! replaces the placeholder key with the operator named by the test
//! (`test_numeric_greater_than_equals_path` → `NumericGreaterThanEqualsPath`) and,
//! for the non-`…Path` operators, replaces the `"$.Value"` operand with the JSON
//! literal of the input's `Value`. It then runs the machine on
//! `{"Variable": …, "Value": …}` and records whether it went to `ConditionTrue`.
//!
//! The snapshots were normalised before they were stored: every timestamp with
//! a zone (e.g. `2012-10-09T19:00:55Z`) became the string `"date"`. The values
//! are known from the test sources (`choice_operators/utils.py`,
//! `test_timestamp_operators.py`); [`originals`] lists them in the order in
//! which the `"date"` strings appear, and the test checks that every `"date"`
//! is accounted for.

use std::path::{Path as FsPath, PathBuf};

use baton_asl::choice;
use baton_asl::env::FixedEnv;
use baton_asl::model::{ChoiceRule, Comparison, Operand};
use baton_asl::path::Path;
use baton_asl::payload::Scope;
use serde_json::{Value, json};

fn suites() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/suites"
    ))
}

const T0: &str = "2012-10-09T19:00:55Z";
const T1: &str = "2012-10-09T19:00:56Z";
const T0_PLUS_ONE: &str = "2012-10-09T19:00:55+01:00";

/// The recorded timestamps that the snapshot normaliser replaced by `"date"`,
/// in order of appearance (per case: `Variable`, then `Value`).
fn originals(test: &str) -> Vec<&'static str> {
    // `TYPE_COMPARISONS` in utils.py: rows 18-21 are the zoned timestamps.
    let type_comparisons = vec![T0, T0, T0_PLUS_ONE, T0_PLUS_ONE];
    // `BASE_COMPARISONS` in test_timestamp_operators.py.
    let base = vec![T0, T0, T0, T1, T1, T0];
    match test {
        "test_boolean_equals"
        | "test_boolean_equals_path"
        | "test_is_boolean"
        | "test_is_null"
        | "test_is_numeric"
        | "test_is_present"
        | "test_is_string"
        | "test_is_timestamp" => type_comparisons,
        // 14 type comparisons against T0, then the base comparisons.
        "test_timestamp_equals" => {
            let mut v = vec![T0; 14];
            v.extend(base);
            v
        }
        "test_timestamp_equals_path"
        | "test_timestamp_greater_than"
        | "test_timestamp_greater_than_equals"
        | "test_timestamp_less_than"
        | "test_timestamp_less_than_equals" => base,
        "test_timestamp_greater_than_path" | "test_timestamp_greater_than_equals_path" => {
            vec![T0, T1]
        }
        "test_timestamp_less_than_path" | "test_timestamp_less_than_equals_path" => vec![T1, T0],
        _ => Vec::new(),
    }
}

/// `test_numeric_greater_than_equals_path` → `NumericGreaterThanEqualsPath`.
fn operator_name(test: &str) -> String {
    test.trim_start_matches("test_")
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// The template's first Choice rule, with the placeholder substituted the way
/// the LocalStack test does it.
fn substituted_rule(template: &Value, operator: &str, value: &Value) -> Value {
    let rule = &template["States"]["CheckValues"]["Choices"][0];
    let mut out = serde_json::Map::new();
    for (k, v) in rule.as_object().expect("the template's rule is an object") {
        if k == "%ComparisonOperatorType%" {
            let is_path = operator.ends_with("Path");
            let operand = if !is_path && v == "$.Value" {
                value.clone()
            } else {
                v.clone()
            };
            out.insert(operator.to_string(), operand);
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// Compiles a JSONPath-mode comparison rule (`Variable` + one operator).
fn compile_rule(rule: &Value) -> Result<ChoiceRule, String> {
    let obj = rule.as_object().ok_or("rule is not an object")?;
    let variable = obj
        .get("Variable")
        .and_then(Value::as_str)
        .ok_or("no Variable")?;
    let variable = Path::parse(variable).map_err(|e| e.message)?;
    for (key, value) in obj {
        if key == "Variable" || key == "Next" {
            continue;
        }
        for (name, op) in Comparison::ALL {
            if key == name {
                return Ok(ChoiceRule::Compare {
                    variable,
                    op: *op,
                    operand: Operand::Literal(value.clone()),
                });
            }
            if op.has_path_form() && key.strip_suffix("Path") == Some(name) {
                let p = value.as_str().ok_or("path operand is not a string")?;
                let p = Path::parse(p).map_err(|e| e.message)?;
                return Ok(ChoiceRule::Compare {
                    variable,
                    op: *op,
                    operand: Operand::Path(p),
                });
            }
        }
        return Err(format!("unknown operator {key}"));
    }
    Err("no operator".into())
}

/// Replaces every `"date"` in `v` by the next original timestamp.
fn restore(
    v: &Value,
    queue: &mut std::slice::Iter<'_, &'static str>,
    missing: &mut usize,
) -> Value {
    match v {
        Value::String(s) if s == "date" => match queue.next() {
            Some(t) => json!(t),
            None => {
                *missing += 1;
                v.clone()
            }
        },
        other => other.clone(),
    }
}

fn run_file(
    file: &FsPath,
    template: &Value,
    totals: &mut (usize, usize, usize),
    failures: &mut Vec<String>,
) {
    let text = std::fs::read_to_string(file).expect("readable snapshot");
    let snapshot: Value = serde_json::from_str(&text).expect("snapshot is JSON");
    for (id, entry) in snapshot.as_object().expect("snapshot is an object") {
        let test = id.rsplit("::").next().unwrap_or(id);
        let test = test.split('[').next().unwrap_or(test);
        let Some(cases) = entry["recorded-content"]["cases"].as_array() else {
            failures.push(format!("{test}: no `cases`"));
            continue;
        };
        totals.0 += 1;
        let operator = operator_name(test);
        let originals = originals(test);
        let mut queue = originals.iter();
        let mut missing = 0;
        for (i, case) in cases.iter().enumerate() {
            let variable = restore(&case["input"]["Variable"], &mut queue, &mut missing);
            let value = restore(&case["input"]["Value"], &mut queue, &mut missing);
            let expected = match case["output"]["TestResult.$"].as_str() {
                Some("ConditionTrue") => true,
                Some("ConditionFalse") => false,
                other => {
                    failures.push(format!("{test}[{i}]: unexpected output {other:?}"));
                    totals.2 += 1;
                    continue;
                }
            };
            let rule_json = substituted_rule(template, &operator, &value);
            let rule = match compile_rule(&rule_json) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(format!("{test}[{i}]: cannot compile {rule_json}: {e}"));
                    totals.2 += 1;
                    continue;
                }
            };
            let input = json!({"Variable": variable, "Value": value});
            let context = json!({});
            let mut env = FixedEnv::new(0, 0);
            let scope = Scope {
                input: &input,
                context: &context,
                vars: &(),
                env: &mut env,
            };
            match choice::evaluate(&rule, &scope) {
                Ok(got) if got == expected => totals.1 += 1,
                Ok(got) => {
                    totals.2 += 1;
                    failures.push(format!(
                        "{test}[{i}]: {rule_json} on {input}: got {got}, AWS {expected}"
                    ));
                }
                Err(e) => {
                    totals.2 += 1;
                    failures.push(format!("{test}[{i}]: {rule_json} on {input}: error {e}"));
                }
            }
        }
        if missing > 0 || queue.next().is_some() {
            failures.push(format!(
                "{test}: the list of original timestamps does not match the snapshot's \"date\" strings"
            ));
        }
    }
}

#[test]
fn choice_operators_match_aws() {
    let root = suites().join("localstack-stepfunctions");
    let dir = root.join("v2/choice_operators");
    let template_file = root.join("json/templates/choiceoperators/statemachines/template.json");
    if !dir.is_dir() || !template_file.is_file() {
        println!(
            "choice operators: suite not found at {}, skipped",
            dir.display()
        );
        return;
    }
    let path_ready = Path::parse("$.a")
        .ok()
        .and_then(|p| p.select(&json!({"a": 1})))
        == Some(json!(1));
    if !path_ready {
        println!("choice operators: JSONPath selection is not implemented yet, skipped");
        return;
    }
    let template: Value =
        serde_json::from_str(&std::fs::read_to_string(&template_file).expect("readable template"))
            .expect("JSON");

    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("readable suite folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".snapshot.json"))
        .collect();
    files.sort();

    let mut totals = (0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    for file in &files {
        run_file(file, &template, &mut totals, &mut failures);
    }
    let (entries, passed, failed) = totals;
    println!("choice operators: {entries} entries, {passed} cases passed, {failed} failed");
    for f in &failures {
        println!("  {f}");
    }
    assert!(
        failures.is_empty(),
        "{} choice operator failures",
        failures.len()
    );
    assert!(entries > 0 && passed > 0, "no cases found");
}

#[test]
fn operator_names_follow_the_test_names() {
    assert_eq!(
        operator_name("test_numeric_greater_than_equals_path"),
        "NumericGreaterThanEqualsPath"
    );
    assert_eq!(operator_name("test_is_null"), "IsNull");
    assert_eq!(operator_name("test_boolean_equals"), "BooleanEquals");
}
