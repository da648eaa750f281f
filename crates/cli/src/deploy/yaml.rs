//! serverless.yml as JSON: YAML with CloudFormation's short-form tags
//! (`!Ref`, `!GetAtt A.B`, `!Sub`, `!Join`, ...) turned into their long
//! forms (`{"Ref": ...}`, `{"Fn::GetAtt": ["A", "B"]}`, ...), merge keys
//! (`<<: *anchor`) applied.

use serde_json::{Map, Number, Value};
use yaml_serde::Value as Yaml;

/// Parses YAML text (`what` names it in errors) into JSON.
pub fn parse(text: &str, what: &str) -> anyhow::Result<Value> {
    let mut doc: Yaml =
        yaml_serde::from_str(text).map_err(|e| anyhow::anyhow!("{what} is not valid YAML: {e}"))?;
    doc.apply_merge()
        .map_err(|e| anyhow::anyhow!("{what}: cannot apply a YAML merge key (<<): {e}"))?;
    to_json(doc, what)
}

fn to_json(v: Yaml, what: &str) -> anyhow::Result<Value> {
    Ok(match v {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                Value::Number(Number::from_f64(f).ok_or_else(|| {
                    anyhow::anyhow!("{what}: the number {n} cannot be written as JSON")
                })?)
            }
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(|i| to_json(i, what))
                .collect::<anyhow::Result<_>>()?,
        ),
        Yaml::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Yaml::String(s) => s,
                    Yaml::Bool(b) => b.to_string(),
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Null => "null".to_string(),
                    other => anyhow::bail!("{what}: a mapping key must be a scalar, got {other:?}"),
                };
                out.insert(key, to_json(v, what)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!').to_string();
            let value = to_json(t.value, what)?;
            long_form(&name, value)
        }
    })
}

/// The long form of CloudFormation short-form tag `!name value`.
fn long_form(name: &str, value: Value) -> Value {
    let mut out = Map::new();
    match name {
        "Ref" => {
            out.insert("Ref".into(), value);
        }
        "Condition" => {
            out.insert("Condition".into(), value);
        }
        "GetAtt" => {
            // `!GetAtt A.B` (split at the first dot) or `!GetAtt [A, B]`.
            let value = match value {
                Value::String(s) => match s.split_once('.') {
                    Some((a, b)) => Value::Array(vec![a.into(), b.into()]),
                    None => Value::String(s),
                },
                other => other,
            };
            out.insert("Fn::GetAtt".into(), value);
        }
        other => {
            out.insert(format!("Fn::{other}"), value);
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_long_forms() {
        let v = parse(
            r#"
a: !Ref MyQueue
b: !GetAtt MyQueue.Arn
c: !GetAtt [MyQueue, QueueName]
d: !Sub "arn:${AWS::Partition}:x"
e: !Join [":", [a, !Ref B]]
f: !Select [0, !GetAZs ""]
"#,
            "test",
        )
        .expect("parses");
        assert_eq!(
            v,
            json!({
                "a": {"Ref": "MyQueue"},
                "b": {"Fn::GetAtt": ["MyQueue", "Arn"]},
                "c": {"Fn::GetAtt": ["MyQueue", "QueueName"]},
                "d": {"Fn::Sub": "arn:${AWS::Partition}:x"},
                "e": {"Fn::Join": [":", ["a", {"Ref": "B"}]]},
                "f": {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
            })
        );
    }

    #[test]
    fn merge_keys_and_scalars() {
        let v = parse(
            "base: &b {x: 1, y: true}\nother:\n  <<: *b\n  z: 2.5\n  1: one\n",
            "test",
        )
        .expect("parses");
        assert_eq!(v["other"], json!({"x": 1, "y": true, "z": 2.5, "1": "one"}));
    }

    #[test]
    fn bad_yaml_is_an_error() {
        let e = parse("a: [1, 2", "serverless.yml").expect_err("invalid");
        assert!(
            e.to_string()
                .starts_with("serverless.yml is not valid YAML"),
            "{e}"
        );
    }
}
