//! CloudFormation intrinsic functions over the values Baton knows before it
//! deploys: `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::Select`,
//! `Fn::Split`, `Fn::Base64`, `Fn::GetAZs`, `Fn::FindInMap`, and the pseudo
//! parameters (`AWS::Region`, `AWS::AccountId`, `AWS::Partition`,
//! `AWS::StackName`, `AWS::URLSuffix`, `AWS::NoValue`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// What a logical id resolves to: its `Ref` and its attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct Physical {
    /// The resource type (`AWS::SQS::Queue`, ...), for messages.
    pub kind: String,
    pub reference: Value,
    pub attributes: BTreeMap<String, Value>,
}

/// The resolver's context.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub region: String,
    pub account: String,
    pub partition: String,
    pub stack_name: String,
    /// Logical id → its values.
    pub resources: BTreeMap<String, Physical>,
    /// Resources declared but not deployed by Baton (logical id → type):
    /// referring to one is an error naming it.
    pub skipped: BTreeMap<String, String>,
    /// `resources.Mappings`.
    pub mappings: Value,
    /// Keys of `functions:` → their ARNs: inside state machine definitions
    /// `Ref: F`, `Fn::GetAtt: [F, Arn]` and their logical ids name the
    /// function's ARN (as the serverless-step-functions plugin inlines them).
    pub function_arns: Option<BTreeMap<String, String>>,
}

/// The value `AWS::NoValue` stands for: the key (or list item) is dropped.
const NO_VALUE: &str = "\u{0}AWS::NoValue";

impl Context {
    /// `v` with every intrinsic function replaced by its value.
    pub fn resolve(&self, v: &Value) -> anyhow::Result<Value> {
        let out = self.walk(v)?;
        Ok(if is_no_value(&out) { Value::Null } else { out })
    }

    fn walk(&self, v: &Value) -> anyhow::Result<Value> {
        match v {
            Value::Object(m) => {
                if m.len() == 1
                    && let Some((k, arg)) = m.iter().next()
                    && (k == "Ref" || k.starts_with("Fn::"))
                {
                    return self.function(k, arg);
                }
                let mut out = Map::new();
                for (k, item) in m {
                    let r = self.walk(item)?;
                    if !is_no_value(&r) {
                        out.insert(k.clone(), r);
                    }
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let r = self.walk(item)?;
                    if !is_no_value(&r) {
                        out.push(r);
                    }
                }
                Ok(Value::Array(out))
            }
            other => Ok(other.clone()),
        }
    }

    fn function(&self, name: &str, arg: &Value) -> anyhow::Result<Value> {
        match name {
            "Ref" => {
                let Value::String(id) = self.walk(arg)? else {
                    anyhow::bail!("Ref takes a logical id (a string), got {arg}");
                };
                self.reference(&id)
            }
            "Fn::GetAtt" => {
                let arg = self.walk(arg)?;
                let (id, attr) = match &arg {
                    Value::String(s) => match s.split_once('.') {
                        Some((a, b)) => (a.to_string(), b.to_string()),
                        None => anyhow::bail!("Fn::GetAtt takes [LogicalId, Attribute], got {arg}"),
                    },
                    Value::Array(a) if a.len() == 2 => match (&a[0], &a[1]) {
                        (Value::String(x), Value::String(y)) => (x.clone(), y.clone()),
                        _ => anyhow::bail!("Fn::GetAtt takes [LogicalId, Attribute], got {arg}"),
                    },
                    _ => anyhow::bail!("Fn::GetAtt takes [LogicalId, Attribute], got {arg}"),
                };
                self.attribute(&id, &attr)
            }
            "Fn::Sub" => {
                let (template, vars) = match arg {
                    Value::String(s) => (s.clone(), Map::new()),
                    Value::Array(a) if a.len() == 2 => {
                        let Value::String(s) = self.walk(&a[0])? else {
                            anyhow::bail!("Fn::Sub's first argument must be a string");
                        };
                        let Value::Object(vars) = self.walk(&a[1])? else {
                            anyhow::bail!("Fn::Sub's second argument must be a map of variables");
                        };
                        (s, vars)
                    }
                    _ => anyhow::bail!(
                        "Fn::Sub takes a string or [string, {{variables}}], got {arg}"
                    ),
                };
                self.sub(&template, &vars).map(Value::String)
            }
            "Fn::Join" => {
                let arg = self.walk(arg)?;
                let Some([Value::String(sep), Value::Array(items)]) =
                    arg.as_array().map(Vec::as_slice)
                else {
                    anyhow::bail!("Fn::Join takes [delimiter, [values]], got {arg}");
                };
                let parts: Vec<String> = items
                    .iter()
                    .map(|i| {
                        scalar_text(i).ok_or_else(|| anyhow::anyhow!("Fn::Join cannot join {i}"))
                    })
                    .collect::<anyhow::Result<_>>()?;
                Ok(Value::String(parts.join(sep)))
            }
            "Fn::Select" => {
                let arg = self.walk(arg)?;
                let Some([index, Value::Array(items)]) = arg.as_array().map(Vec::as_slice) else {
                    anyhow::bail!("Fn::Select takes [index, [values]], got {arg}");
                };
                let i = match index {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                }
                .and_then(|i| usize::try_from(i).ok())
                .ok_or_else(|| {
                    anyhow::anyhow!("Fn::Select's index must be a number, got {index}")
                })?;
                items
                    .get(i)
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("Fn::Select: index {i} is out of range"))
            }
            "Fn::Split" => {
                let arg = self.walk(arg)?;
                let Some([Value::String(sep), Value::String(s)]) =
                    arg.as_array().map(Vec::as_slice)
                else {
                    anyhow::bail!("Fn::Split takes [delimiter, string], got {arg}");
                };
                anyhow::ensure!(!sep.is_empty(), "Fn::Split's delimiter must not be empty");
                Ok(Value::Array(
                    s.split(sep.as_str())
                        .map(|p| Value::String(p.into()))
                        .collect(),
                ))
            }
            "Fn::Base64" => {
                let arg = self.walk(arg)?;
                let Value::String(s) = arg else {
                    anyhow::bail!("Fn::Base64 takes a string, got {arg}");
                };
                Ok(Value::String(base64(s.as_bytes())))
            }
            "Fn::GetAZs" => Ok(Value::Array(
                ["a", "b", "c"]
                    .iter()
                    .map(|z| Value::String(format!("{}{z}", self.region)))
                    .collect(),
            )),
            "Fn::FindInMap" => {
                let arg = self.walk(arg)?;
                let Some(
                    [
                        Value::String(map),
                        Value::String(top),
                        Value::String(second),
                    ],
                ) = arg.as_array().map(Vec::as_slice)
                else {
                    anyhow::bail!(
                        "Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey], got {arg}"
                    );
                };
                self.mappings
                    .get(map)
                    .and_then(|m| m.get(top))
                    .and_then(|m| m.get(second))
                    .cloned()
                    .ok_or_else(|| {
                        anyhow::anyhow!(
                            "Fn::FindInMap: no {map}.{top}.{second} in resources.Mappings"
                        )
                    })
            }
            other => anyhow::bail!(
                "the intrinsic function {other} is not supported by Baton (supported: Ref, Fn::GetAtt, \
                 Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::Base64, Fn::GetAZs, Fn::FindInMap)"
            ),
        }
    }

    /// `Ref: id`.
    pub fn reference(&self, id: &str) -> anyhow::Result<Value> {
        match id {
            "AWS::Region" => return Ok(Value::String(self.region.clone())),
            "AWS::AccountId" => return Ok(Value::String(self.account.clone())),
            "AWS::Partition" => return Ok(Value::String(self.partition.clone())),
            "AWS::StackName" => return Ok(Value::String(self.stack_name.clone())),
            "AWS::StackId" => {
                return Ok(Value::String(format!(
                    "arn:{}:cloudformation:{}:{}:stack/{}/baton",
                    self.partition, self.region, self.account, self.stack_name
                )));
            }
            "AWS::URLSuffix" => return Ok(Value::String("amazonaws.com".into())),
            "AWS::NoValue" => return Ok(Value::String(NO_VALUE.into())),
            _ => {}
        }
        if let Some(arn) = self.function_arn(id) {
            return Ok(Value::String(arn));
        }
        match self.resources.get(id) {
            Some(p) => Ok(p.reference.clone()),
            None => Err(self.unknown(id)),
        }
    }

    /// `Fn::GetAtt: [id, attr]`.
    pub fn attribute(&self, id: &str, attr: &str) -> anyhow::Result<Value> {
        if attr == "Arn"
            && let Some(arn) = self.function_arn(id)
        {
            return Ok(Value::String(arn));
        }
        let Some(p) = self.resources.get(id) else {
            return Err(self.unknown(id));
        };
        p.attributes.get(attr).cloned().ok_or_else(|| {
            let known: Vec<&str> = p.attributes.keys().map(String::as_str).collect();
            anyhow::anyhow!(
                "{id} ({}) has no attribute {attr} in Baton (it has: {})",
                p.kind,
                known.join(", ")
            )
        })
    }

    /// In a state machine definition: a function's key or logical id names
    /// its ARN.
    fn function_arn(&self, id: &str) -> Option<String> {
        let arns = self.function_arns.as_ref()?;
        if let Some(arn) = arns.get(id) {
            return Some(arn.clone());
        }
        arns.iter()
            .find(|(key, _)| super::plan::function_logical_id(key) == id)
            .map(|(_, arn)| arn.clone())
    }

    fn unknown(&self, id: &str) -> anyhow::Error {
        match self.skipped.get(id) {
            Some(kind) => anyhow::anyhow!(
                "{id} is a {kind}, which Baton does not deploy: it cannot be referred to"
            ),
            None => anyhow::anyhow!(
                "unresolved reference: no resource, function or parameter named {id}"
            ),
        }
    }

    /// `Fn::Sub`: `${Name}` (a variable, parameter or Ref), `${Id.Attr}`,
    /// `${!Literal}`.
    fn sub(&self, template: &str, vars: &Map<String, Value>) -> anyhow::Result<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                anyhow::bail!("Fn::Sub: unterminated ${{ in {template:?}");
            };
            let name = &after[..end];
            if let Some(lit) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(lit);
                out.push('}');
            } else {
                let v = match vars.get(name) {
                    Some(v) => v.clone(),
                    None => match name.split_once('.') {
                        Some((id, attr)) if !name.starts_with("AWS::") => {
                            self.attribute(id, attr)?
                        }
                        _ => self.reference(name)?,
                    },
                };
                let text = scalar_text(&v)
                    .ok_or_else(|| anyhow::anyhow!("Fn::Sub: ${{{name}}} is not a string ({v})"))?;
                out.push_str(&text);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn is_no_value(v: &Value) -> bool {
    v.as_str() == Some(NO_VALUE)
}

/// A scalar as text (strings as they are).
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Context {
        let mut resources = BTreeMap::new();
        resources.insert(
            "Q".to_string(),
            Physical {
                kind: "AWS::SQS::Queue".into(),
                reference: json!("http://h/000000000000/q"),
                attributes: [
                    ("Arn".to_string(), json!("arn:aws:sqs:r:000000000000:q")),
                    ("QueueName".to_string(), json!("q")),
                ]
                .into_iter()
                .collect(),
            },
        );
        Context {
            region: "r".into(),
            account: "000000000000".into(),
            partition: "aws".into(),
            stack_name: "svc-dev".into(),
            resources,
            skipped: [("T".to_string(), "AWS::DynamoDB::Table".to_string())].into(),
            ..Context::default()
        }
    }

    #[test]
    fn functions() {
        let c = ctx();
        let v = c
            .resolve(&json!({
                "a": {"Ref": "Q"},
                "b": {"Fn::GetAtt": ["Q", "Arn"]},
                "c": {"Fn::Sub": "${AWS::Region}:${Q.QueueName}:${!Keep}"},
                "d": {"Fn::Sub": ["${x}-${AWS::AccountId}", {"x": {"Ref": "AWS::StackName"}}]},
                "e": {"Fn::Join": ["/", ["a", {"Ref": "AWS::Partition"}, 3]]},
                "f": {"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]},
                "g": {"Ref": "AWS::NoValue"},
                "h": [1, {"Ref": "AWS::NoValue"}],
                "i": {"Fn::Base64": "hi!"},
            }))
            .expect("resolves");
        assert_eq!(
            v,
            json!({
                "a": "http://h/000000000000/q",
                "b": "arn:aws:sqs:r:000000000000:q",
                "c": "r:q:${Keep}",
                "d": "svc-dev-000000000000",
                "e": "a/aws/3",
                "f": "y",
                "h": [1],
                "i": "aGkh",
            })
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let c = ctx();
        let e = c.resolve(&json!({"Ref": "Nope"})).expect_err("unknown");
        assert!(
            e.to_string()
                .contains("no resource, function or parameter named Nope")
        );
        let e = c.resolve(&json!({"Ref": "T"})).expect_err("skipped");
        assert!(e.to_string().contains("AWS::DynamoDB::Table"), "{e}");
        let e = c
            .resolve(&json!({"Fn::GetAtt": ["Q", "Bogus"]}))
            .expect_err("attr");
        assert!(e.to_string().contains("has no attribute Bogus"), "{e}");
        let e = c
            .resolve(&json!({"Fn::ImportValue": "x"}))
            .expect_err("unsupported");
        assert!(e.to_string().contains("not supported by Baton"), "{e}");
    }
}
