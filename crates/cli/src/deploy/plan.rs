//! serverless.yml → the deploy plan: every queue, topic, subscription,
//! function, event source mapping, activity and state machine Baton will
//! create or update, with every variable and CloudFormation intrinsic
//! resolved, plus the warnings (what Baton does not deploy) and notes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::cfn::{self, Context, Physical};
use super::{vars, yaml};

/// What the plan is built for.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// `--stage` (else `provider.stage`, else `dev`).
    pub stage: Option<String>,
    /// `--region` (else `provider.region`, else `us-east-1`).
    pub region: Option<String>,
    /// The account resources are made in.
    pub account: String,
    /// Baton's URL (queue URLs are `<endpoint>/<account>/<name>`).
    pub endpoint: String,
    /// The app folder (absolute).
    pub directory: PathBuf,
    /// Queue URLs as Baton answered them (logical id → URL), when they
    /// differ from the predicted ones.
    pub queue_urls: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub service: String,
    pub stage: String,
    pub region: String,
    pub account: String,
    pub directory: PathBuf,
    pub queues: Vec<QueuePlan>,
    pub topics: Vec<TopicPlan>,
    pub functions: Vec<FunctionPlan>,
    pub mappings: Vec<MappingPlan>,
    pub subscriptions: Vec<SubscriptionPlan>,
    pub activities: Vec<ActivityPlan>,
    pub state_machines: Vec<StateMachinePlan>,
    /// What Baton cannot deploy (printed as `warning:`).
    pub warnings: Vec<String>,
    /// What Baton accepts with nothing to do (printed as `note:`).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueuePlan {
    pub logical_id: String,
    pub name: String,
    pub url: String,
    pub arn: String,
    /// SQS attributes (`VisibilityTimeout`, `RedrivePolicy` as JSON text, ...).
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopicPlan {
    pub logical_id: String,
    pub name: String,
    pub arn: String,
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionPlan {
    /// The key under `functions:`.
    pub key: String,
    pub logical_id: String,
    /// The deployed name (`<service>-<stage>-<key>` unless `name:`).
    pub name: String,
    pub arn: String,
    pub handler: String,
    pub runtime: String,
    pub timeout: u64,
    pub memory_size: u64,
    pub description: Option<String>,
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MappingPlan {
    /// The function's deployed name.
    pub function: String,
    pub event_source_arn: String,
    pub batch_size: u64,
    pub enabled: bool,
    pub maximum_batching_window: Option<u64>,
    pub function_response_types: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionPlan {
    /// Where it was declared (`function sns`, `MyTopic.Subscription[0]`, ...).
    pub origin: String,
    pub topic_arn: String,
    pub protocol: String,
    pub endpoint: String,
    /// `FilterPolicy` (JSON text), `FilterPolicyScope`, `RawMessageDelivery`, ...
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActivityPlan {
    pub name: String,
    pub arn: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StateMachinePlan {
    /// The key under `stepFunctions.stateMachines` (what `invoke --name` takes).
    pub key: String,
    pub logical_id: String,
    pub name: String,
    pub arn: String,
    /// `STANDARD` or `EXPRESS`.
    pub kind: String,
    pub definition: Value,
    pub role_arn: String,
    pub tags: BTreeMap<String, String>,
}

/// The app folder and serverless.yml of `path` (a folder or the file).
pub fn locate(path: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let path = std::path::absolute(path)
        .map_err(|e| anyhow::anyhow!("cannot resolve the path {}: {e}", path.display()))?;
    if path.is_dir() {
        for name in ["serverless.yml", "serverless.yaml"] {
            let file = path.join(name);
            if file.is_file() {
                return Ok((path, file));
            }
        }
        for name in ["serverless.json", "serverless.ts", "serverless.js"] {
            if path.join(name).is_file() {
                anyhow::bail!(
                    "{} has {name}: Baton reads serverless.yml (or .yaml) only",
                    path.display()
                );
            }
        }
        anyhow::bail!("{} has no serverless.yml", path.display());
    }
    if path.is_file() {
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        return Ok((dir, path));
    }
    anyhow::bail!("{} does not exist", path.display())
}

/// Reads and parses serverless.yml.
pub fn read(file: &Path) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let name = file.file_name().map_or_else(
        || "serverless.yml".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    yaml::parse(&text, &name)
}

/// The logical id serverless gives function `key` (`hello` →
/// `HelloLambdaFunction`).
pub fn function_logical_id(key: &str) -> String {
    format!("{}LambdaFunction", normalize(key))
}

/// Serverless's name normalization: `-` → `Dash`, `_` → `Underscore`, first
/// letter upper-cased.
pub fn normalize(s: &str) -> String {
    upper_first(&s.replace('-', "Dash").replace('_', "Underscore"))
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

const TOP_LEVEL_APPLIED: &[&str] = &[
    "service",
    "provider",
    "functions",
    "stepFunctions",
    "resources",
    "plugins",
    "custom",
];
const TOP_LEVEL_NO_EFFECT: &[&str] = &[
    "frameworkVersion",
    "configValidationMode",
    "variablesResolutionMode",
    "deprecationNotificationMode",
    "disabledDeprecations",
    "org",
    "app",
    "console",
    "dashboard",
    "package",
];
const PROVIDER_APPLIED: &[&str] = &[
    "name",
    "runtime",
    "stage",
    "region",
    "environment",
    "timeout",
    "memorySize",
    "tags",
];
const PROVIDER_NO_EFFECT: &[&str] = &["profile", "versionFunctions", "logRetentionInDays"];
const FUNCTION_APPLIED: &[&str] = &[
    "handler",
    "runtime",
    "timeout",
    "memorySize",
    "environment",
    "name",
    "description",
    "events",
];
const STATE_MACHINE_KEYS: &[&str] = &[
    "definition",
    "name",
    "id",
    "type",
    "role",
    "iamRoleStatements",
    "kmsKeyArns",
    "dependsOn",
    "tags",
    "inheritGlobalTags",
    "retain",
    "useExactVersion",
    "configureTaskTimeouts",
    "loggingConfig",
    "tracingConfig",
    "encryptionConfig",
    "alarms",
    "notifications",
    "events",
];
const KNOWN_PLUGINS: &[&str] = &["serverless-step-functions", "serverless-pseudo-parameters"];

/// Builds the plan of the configuration `raw` (serverless.yml as JSON).
pub fn build(
    raw: &Value,
    opts: &BuildOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Plan> {
    let (cfg, var_warnings) = vars::resolve(
        raw,
        &vars::Options {
            stage: opts.stage.clone(),
            region: opts.region.clone(),
            account: opts.account.clone(),
        },
        env,
        &opts.directory,
    )?;
    let Value::Object(top) = &cfg else {
        anyhow::bail!("serverless.yml must be a mapping at the top level");
    };
    let mut warnings = var_warnings;
    let mut notes = Vec::new();

    let service = match top.get("service") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => match o.get("name") {
            Some(Value::String(s)) => s.clone(),
            _ => anyhow::bail!("service.name must be a string"),
        },
        _ => anyhow::bail!("serverless.yml needs `service:` (a name, or an object with `name`)"),
    };
    anyhow::ensure!(
        !service.is_empty()
            && service
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "service {service:?}: use letters, digits, '-' and '_'"
    );
    let empty = Map::new();
    let provider = match top.get("provider") {
        Some(Value::Object(p)) => p,
        None => &empty,
        Some(_) => anyhow::bail!("provider must be a mapping"),
    };
    if let Some(name) = provider.get("name")
        && name != "aws"
    {
        anyhow::bail!("provider.name is {name}: Baton deploys AWS apps only (provider.name: aws)");
    }
    let stage = opts
        .stage
        .clone()
        .or_else(|| provider.get("stage").and_then(cfn::scalar_text))
        .unwrap_or_else(|| "dev".into());
    let region = opts
        .region
        .clone()
        .or_else(|| provider.get("region").and_then(cfn::scalar_text))
        .unwrap_or_else(|| "us-east-1".into());
    let account = opts.account.clone();
    let part = baton_engine::arn::partition_for(&region).to_string();
    let stack_name = format!("{service}-{stage}");

    for key in top.keys() {
        if TOP_LEVEL_APPLIED.contains(&key.as_str()) {
            continue;
        }
        if TOP_LEVEL_NO_EFFECT.contains(&key.as_str()) {
            notes.push(format!("`{key}` has no effect on Baton"));
        } else {
            warnings.push(format!("`{key}` is not supported by Baton; ignored"));
        }
    }
    for (key, v) in provider {
        if PROVIDER_APPLIED.contains(&key.as_str()) {
            continue;
        }
        if PROVIDER_NO_EFFECT.contains(&key.as_str()) {
            notes.push(format!("provider.{key} has no effect on Baton"));
        } else if key == "iamRoleStatements" || key == "iam" {
            warnings.push(format!(
                "provider.{key}: Baton does not enforce IAM; every function may call every service"
            ));
        } else if !v.is_null() {
            warnings.push(format!("provider.{key} does not apply to Baton; ignored"));
        }
    }
    plugins(top.get("plugins"), &mut warnings)?;

    // ----- resources ---------------------------------------------------------
    let (resources, mappings) = resource_sections(top.get("resources"), &mut warnings, &mut notes)?;
    let mut ctx = Context {
        region: region.clone(),
        account: account.clone(),
        partition: part.clone(),
        stack_name: stack_name.clone(),
        mappings,
        ..Context::default()
    };
    // Names first (they may use pseudo parameters only).
    let names_ctx = ctx.clone();
    let mut queues = Vec::new();
    let mut topics = Vec::new();
    let mut pending_subscriptions = Vec::new();
    for (id, res) in &resources {
        let kind = res.get("Type").and_then(Value::as_str).unwrap_or("");
        let props = res
            .get("Properties")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        match kind {
            "AWS::SQS::Queue" => {
                let fifo = props.get("FifoQueue").is_some_and(truthy);
                let name = match props.get("QueueName") {
                    Some(n) => text(&names_ctx.resolve(n)?, &format!("{id}.QueueName"))?,
                    None => {
                        let base = format!("{stack_name}-{id}");
                        if fifo { format!("{base}.fifo") } else { base }
                    }
                };
                let url = opts
                    .queue_urls
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| format!("{}/{account}/{name}", opts.endpoint));
                let arn = format!("arn:{part}:sqs:{region}:{account}:{name}");
                ctx.resources.insert(
                    id.clone(),
                    Physical {
                        kind: kind.into(),
                        reference: json!(url),
                        attributes: [
                            ("Arn".to_string(), json!(arn)),
                            ("QueueName".to_string(), json!(name)),
                            ("QueueUrl".to_string(), json!(url)),
                        ]
                        .into(),
                    },
                );
                queues.push(QueuePlan {
                    logical_id: id.clone(),
                    name,
                    url,
                    arn,
                    attributes: BTreeMap::new(),
                    tags: BTreeMap::new(),
                });
            }
            "AWS::SNS::Topic" => {
                let fifo = props.get("FifoTopic").is_some_and(truthy);
                let name = match props.get("TopicName") {
                    Some(n) => text(&names_ctx.resolve(n)?, &format!("{id}.TopicName"))?,
                    None => {
                        let base = format!("{stack_name}-{id}");
                        if fifo { format!("{base}.fifo") } else { base }
                    }
                };
                let arn = format!("arn:{part}:sns:{region}:{account}:{name}");
                ctx.resources.insert(
                    id.clone(),
                    Physical {
                        kind: kind.into(),
                        reference: json!(arn),
                        attributes: [
                            ("TopicArn".to_string(), json!(arn)),
                            ("TopicName".to_string(), json!(name)),
                        ]
                        .into(),
                    },
                );
                topics.push(TopicPlan {
                    logical_id: id.clone(),
                    name,
                    arn,
                    attributes: BTreeMap::new(),
                    tags: BTreeMap::new(),
                });
            }
            "AWS::SNS::Subscription" => pending_subscriptions.push(id.clone()),
            "AWS::SQS::QueuePolicy" | "AWS::SNS::TopicPolicy" => {
                notes.push(format!(
                    "{id} ({kind}) accepted: Baton enforces no access policies, so there is nothing to apply"
                ));
                ctx.skipped.insert(id.clone(), kind.to_string());
            }
            "AWS::IAM::Role" => {
                let name = match props.get("RoleName") {
                    Some(n) => text(&names_ctx.resolve(n)?, &format!("{id}.RoleName"))?,
                    None => format!("{stack_name}-{id}"),
                };
                warnings.push(format!(
                    "{id} (AWS::IAM::Role): Baton does not enforce IAM; the role is not created (references give its ARN)"
                ));
                ctx.resources.insert(
                    id.clone(),
                    Physical {
                        kind: kind.into(),
                        reference: json!(name),
                        attributes: [
                            (
                                "Arn".to_string(),
                                json!(format!("arn:{part}:iam::{account}:role/{name}")),
                            ),
                            ("RoleId".to_string(), json!(format!("AROA{}", name.len()))),
                        ]
                        .into(),
                    },
                );
            }
            "" => anyhow::bail!("resources.Resources.{id} has no Type"),
            other => {
                warnings.push(format!(
                    "{id} ({other}) is not supported by Baton; not deployed"
                ));
                ctx.skipped.insert(id.clone(), other.to_string());
            }
        }
    }

    // ----- functions (names and ARNs) ---------------------------------------
    let functions_cfg = match top.get("functions") {
        Some(Value::Object(f)) => f.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => anyhow::bail!("functions must be a mapping"),
    };
    let mut function_arns = BTreeMap::new();
    let mut functions = Vec::new();
    for (key, f) in &functions_cfg {
        let Value::Object(f) = f else {
            anyhow::bail!("functions.{key} must be a mapping");
        };
        let name = match f.get("name") {
            Some(n) => text(n, &format!("functions.{key}.name"))?,
            None => format!("{service}-{stage}-{key}"),
        };
        let arn = format!("arn:{part}:lambda:{region}:{account}:function:{name}");
        let logical_id = function_logical_id(key);
        ctx.resources.insert(
            logical_id.clone(),
            Physical {
                kind: "AWS::Lambda::Function".into(),
                reference: json!(name),
                attributes: [("Arn".to_string(), json!(arn))].into(),
            },
        );
        function_arns.insert(key.clone(), arn.clone());
        functions.push((key.clone(), f.clone(), logical_id, name, arn));
    }

    // ----- step functions (names and ARNs) ----------------------------------
    let sfn_cfg = match top.get("stepFunctions") {
        Some(Value::Object(s)) => s.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => anyhow::bail!("stepFunctions must be a mapping"),
    };
    for key in sfn_cfg.keys() {
        if !["stateMachines", "validate", "noOutput", "activities"].contains(&key.as_str()) {
            warnings.push(format!(
                "stepFunctions.{key} is not supported by Baton; ignored"
            ));
        }
    }
    let mut activities = Vec::new();
    match sfn_cfg.get("activities") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for a in list {
                let name = text(a, "stepFunctions.activities[]")?;
                let arn = format!("arn:{part}:states:{region}:{account}:activity:{name}");
                ctx.resources.insert(
                    format!("{}StepFunctionsActivity", normalize(&name)),
                    Physical {
                        kind: "AWS::StepFunctions::Activity".into(),
                        reference: json!(arn),
                        attributes: [("Name".to_string(), json!(name))].into(),
                    },
                );
                activities.push(ActivityPlan { name, arn });
            }
        }
        Some(_) => anyhow::bail!("stepFunctions.activities must be a list of names"),
    }
    let machines_cfg = match sfn_cfg.get("stateMachines") {
        Some(Value::Object(m)) => m.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => anyhow::bail!("stepFunctions.stateMachines must be a mapping"),
    };
    let mut machine_heads = Vec::new();
    for (key, sm) in &machines_cfg {
        let Value::Object(sm) = sm else {
            anyhow::bail!("stepFunctions.stateMachines.{key} must be a mapping");
        };
        for k in sm.keys() {
            if !STATE_MACHINE_KEYS.contains(&k.as_str()) {
                anyhow::bail!(
                    "State machine [{key}] is malformed: \"{k}\" is not allowed (see the serverless-step-functions README)"
                );
            }
        }
        let name_opt = match sm.get("name") {
            Some(n) => Some(text(&names_ctx.resolve(n)?, &format!("{key}.name"))?),
            None => None,
        };
        let logical_id = match (sm.get("id"), &name_opt) {
            (Some(id), _) => normalize(&text(id, &format!("{key}.id"))?),
            (None, Some(n)) => normalize(n),
            (None, None) => format!("{}StepFunctionsStateMachine", normalize(key)),
        };
        let name = match name_opt {
            Some(n) => n,
            None => {
                let mut n = format!("{logical_id}-{stack_name}");
                n.truncate(80);
                n
            }
        };
        anyhow::ensure!(
            !name.is_empty() && name.len() <= 80,
            "state machine {key}: the name {name:?} must be 1 to 80 characters"
        );
        let arn = format!("arn:{part}:states:{region}:{account}:stateMachine:{name}");
        ctx.resources.insert(
            logical_id.clone(),
            Physical {
                kind: "AWS::StepFunctions::StateMachine".into(),
                reference: json!(arn),
                attributes: [
                    ("Name".to_string(), json!(name)),
                    ("Arn".to_string(), json!(arn)),
                ]
                .into(),
            },
        );
        machine_heads.push((key.clone(), sm.clone(), logical_id, name, arn));
    }

    // ----- implicit topics of sns events (topicName without arn) ------------
    for (key, f, ..) in &functions {
        for (i, ev) in events(f, key)?.iter().enumerate() {
            let Some(sns) = ev.get("sns") else { continue };
            let topic_name = match sns {
                Value::String(s) if !s.starts_with("arn:") => Some(s.clone()),
                Value::Object(o) if o.get("arn").is_none() => match o.get("topicName") {
                    Some(t) => Some(text(
                        t,
                        &format!("functions.{key}.events[{i}].sns.topicName"),
                    )?),
                    None => {
                        anyhow::bail!("functions.{key}.events[{i}].sns needs `arn` or `topicName`")
                    }
                },
                _ => None,
            };
            let Some(topic_name) = topic_name else {
                continue;
            };
            if topics.iter().any(|t| t.name == topic_name) {
                continue;
            }
            let id = format!("SNSTopic{}", upper_first(&alnum(&topic_name)));
            let arn = format!("arn:{part}:sns:{region}:{account}:{topic_name}");
            let mut attributes = BTreeMap::new();
            if let Some(d) = sns.get("displayName").and_then(cfn::scalar_text) {
                attributes.insert("DisplayName".to_string(), d);
            }
            ctx.resources.insert(
                id.clone(),
                Physical {
                    kind: "AWS::SNS::Topic".into(),
                    reference: json!(arn),
                    attributes: [
                        ("TopicArn".to_string(), json!(arn)),
                        ("TopicName".to_string(), json!(topic_name)),
                    ]
                    .into(),
                },
            );
            topics.push(TopicPlan {
                logical_id: id,
                name: topic_name,
                arn,
                attributes,
                tags: BTreeMap::new(),
            });
        }
    }

    // ----- resource properties -----------------------------------------------
    let mut subscriptions = Vec::new();
    for q in &mut queues {
        let props = properties(&resources, &q.logical_id);
        for (k, v) in &props {
            let v = ctx
                .resolve(v)
                .map_err(|e| anyhow::anyhow!("{}.{k}: {e}", q.logical_id))?;
            if v.is_null() {
                continue;
            }
            match k.as_str() {
                "QueueName" => {}
                "Tags" => q.tags = tags(&v, &format!("{}.Tags", q.logical_id))?,
                "ContentBasedDeduplication"
                | "DeduplicationScope"
                | "DelaySeconds"
                | "FifoQueue"
                | "FifoThroughputLimit"
                | "KmsDataKeyReusePeriodSeconds"
                | "KmsMasterKeyId"
                | "MaximumMessageSize"
                | "MessageRetentionPeriod"
                | "ReceiveMessageWaitTimeSeconds"
                | "RedriveAllowPolicy"
                | "RedrivePolicy"
                | "SqsManagedSseEnabled"
                | "VisibilityTimeout" => {
                    q.attributes.insert(k.clone(), attribute_text(&v));
                }
                other => warnings.push(format!(
                    "{}.{other} (AWS::SQS::Queue) is not supported by Baton; ignored",
                    q.logical_id
                )),
            }
        }
    }
    for t in &mut topics {
        let props = properties(&resources, &t.logical_id);
        for (k, v) in &props {
            let v = ctx
                .resolve(v)
                .map_err(|e| anyhow::anyhow!("{}.{k}: {e}", t.logical_id))?;
            if v.is_null() {
                continue;
            }
            match k.as_str() {
                "TopicName" => {}
                "Tags" => t.tags = tags(&v, &format!("{}.Tags", t.logical_id))?,
                "DisplayName"
                | "FifoTopic"
                | "ContentBasedDeduplication"
                | "KmsMasterKeyId"
                | "SignatureVersion"
                | "TracingConfig" => {
                    t.attributes.insert(k.clone(), attribute_text(&v));
                }
                "Subscription" => {
                    let Value::Array(list) = &v else {
                        anyhow::bail!("{}.Subscription must be a list", t.logical_id);
                    };
                    for (i, s) in list.iter().enumerate() {
                        let origin = format!("{}.Subscription[{i}]", t.logical_id);
                        let protocol = s.get("Protocol").and_then(Value::as_str);
                        let endpoint = s.get("Endpoint").and_then(cfn::scalar_text);
                        let (Some(protocol), Some(endpoint)) = (protocol, endpoint) else {
                            anyhow::bail!("{origin} needs Protocol and Endpoint");
                        };
                        subscriptions.push(SubscriptionPlan {
                            origin,
                            topic_arn: t.arn.clone(),
                            protocol: protocol.to_string(),
                            endpoint,
                            attributes: BTreeMap::new(),
                        });
                    }
                }
                other => warnings.push(format!(
                    "{}.{other} (AWS::SNS::Topic) is not supported by Baton; ignored",
                    t.logical_id
                )),
            }
        }
    }
    for id in &pending_subscriptions {
        let props = properties(&resources, id);
        let mut attributes = BTreeMap::new();
        let (mut topic_arn, mut protocol, mut endpoint) = (None, None, None);
        for (k, v) in &props {
            let v = ctx
                .resolve(v)
                .map_err(|e| anyhow::anyhow!("{id}.{k}: {e}"))?;
            if v.is_null() {
                continue;
            }
            match k.as_str() {
                "TopicArn" => topic_arn = Some(text(&v, &format!("{id}.TopicArn"))?),
                "Protocol" => protocol = Some(text(&v, &format!("{id}.Protocol"))?),
                "Endpoint" => endpoint = Some(text(&v, &format!("{id}.Endpoint"))?),
                "FilterPolicy"
                | "FilterPolicyScope"
                | "RawMessageDelivery"
                | "RedrivePolicy"
                | "DeliveryPolicy"
                | "SubscriptionRoleArn" => {
                    attributes.insert(k.clone(), attribute_text(&v));
                }
                "Region" => {}
                other => warnings.push(format!(
                    "{id}.{other} (AWS::SNS::Subscription) is not supported by Baton; ignored"
                )),
            }
        }
        let (Some(topic_arn), Some(protocol), Some(endpoint)) = (topic_arn, protocol, endpoint)
        else {
            anyhow::bail!("{id} (AWS::SNS::Subscription) needs TopicArn, Protocol and Endpoint");
        };
        subscriptions.push(SubscriptionPlan {
            origin: id.clone(),
            topic_arn,
            protocol,
            endpoint,
            attributes,
        });
    }

    // ----- functions ---------------------------------------------------------
    let default_runtime = provider
        .get("runtime")
        .and_then(cfn::scalar_text)
        .unwrap_or_else(|| "nodejs20.x".into());
    let default_timeout = number(provider.get("timeout"), "provider.timeout")?.unwrap_or(6);
    let default_memory = number(provider.get("memorySize"), "provider.memorySize")?.unwrap_or(1024);
    let provider_env = environment(&ctx, provider.get("environment"), "provider.environment")?;
    let mut function_plans = Vec::new();
    let mut mappings = Vec::new();
    for (key, f, logical_id, name, arn) in &functions {
        for (k, v) in f {
            if FUNCTION_APPLIED.contains(&k.as_str()) || v.is_null() {
                continue;
            }
            warnings.push(format!(
                "functions.{key}.{k} does not apply to Baton; ignored"
            ));
        }
        let Some(handler) = f.get("handler").and_then(Value::as_str) else {
            if f.get("image").is_some() {
                warnings.push(format!(
                    "functions.{key}: container image functions are not supported by Baton; not deployed"
                ));
                continue;
            }
            anyhow::bail!("functions.{key} needs a `handler` (file.export)");
        };
        let mut env_vars = provider_env.clone();
        env_vars.extend(environment(
            &ctx,
            f.get("environment"),
            &format!("functions.{key}.environment"),
        )?);
        let description = match f.get("description") {
            Some(d) => Some(text(
                &ctx.resolve(d)?,
                &format!("functions.{key}.description"),
            )?),
            None => None,
        };
        function_plans.push(FunctionPlan {
            key: key.clone(),
            logical_id: logical_id.clone(),
            name: name.clone(),
            arn: arn.clone(),
            handler: handler.to_string(),
            runtime: f
                .get("runtime")
                .and_then(cfn::scalar_text)
                .unwrap_or_else(|| default_runtime.clone()),
            timeout: number(f.get("timeout"), &format!("functions.{key}.timeout"))?
                .unwrap_or(default_timeout),
            memory_size: number(f.get("memorySize"), &format!("functions.{key}.memorySize"))?
                .unwrap_or(default_memory),
            description,
            environment: env_vars,
        });
        for (i, ev) in events(f, key)?.iter().enumerate() {
            let at = format!("functions.{key}.events[{i}]");
            let Value::Object(ev) = ev else {
                anyhow::bail!("{at} must be a mapping (e.g. `- sqs: ...`)");
            };
            for (kind, spec) in ev {
                match kind.as_str() {
                    "sqs" => mappings.push(sqs_event(&ctx, spec, name, &at, &mut warnings)?),
                    "sns" => {
                        subscriptions.push(sns_event(&ctx, spec, arn, &at, &topics, &mut warnings)?)
                    }
                    other => warnings.push(format!(
                        "{at}: `{other}` events are not supported by Baton; not deployed"
                    )),
                }
            }
        }
    }

    // ----- state machines ------------------------------------------------------
    let validate = sfn_cfg.get("validate").is_some_and(truthy);
    let provider_tags = match provider.get("tags") {
        Some(v) => string_map(&ctx.resolve(v)?, "provider.tags")?,
        None => BTreeMap::new(),
    };
    let mut sm_ctx = ctx.clone();
    sm_ctx.function_arns = Some(function_arns);
    let mut state_machines = Vec::new();
    for (key, sm, logical_id, name, arn) in machine_heads {
        let at = format!("stepFunctions.stateMachines.{key}");
        let kind = match sm.get("type").and_then(Value::as_str) {
            None => "STANDARD".to_string(),
            Some(t) if t.eq_ignore_ascii_case("standard") => "STANDARD".into(),
            Some(t) if t.eq_ignore_ascii_case("express") => "EXPRESS".into(),
            Some(t) => anyhow::bail!("{at}.type is {t:?}: use STANDARD or EXPRESS"),
        };
        let definition = match sm.get("definition") {
            Some(Value::String(s)) => serde_json::from_str(s)
                .or_else(|_| yaml::parse(s, &format!("{at}.definition")))
                .map_err(|e| anyhow::anyhow!("{at}.definition is a string but not JSON: {e}"))?,
            Some(Value::Object(o)) => Value::Object(o.clone()),
            Some(_) => anyhow::bail!("{at}.definition must be a mapping or a JSON string"),
            None => anyhow::bail!("State machine [{key}] is malformed: \"definition\" is required"),
        };
        let definition = pseudo_parameters(&definition);
        let definition = sm_ctx
            .resolve(&definition)
            .map_err(|e| anyhow::anyhow!("{at}.definition: {e}"))?;
        if validate {
            let src = definition.to_string();
            let (_, diagnostics) = baton_asl::load::load_str_with(
                &src,
                &baton_asl::load::Options {
                    express: kind == "EXPRESS",
                },
            );
            if !diagnostics.is_empty() {
                let lines: Vec<String> = diagnostics.iter().map(|d| format!("  {d}")).collect();
                anyhow::bail!(
                    "✕ State machine \"{key}\" definition is invalid:\n{}",
                    lines.join("\n")
                );
            }
            notes.push(format!("✓ State machine \"{key}\" definition is valid"));
        }
        let role_arn = match sm.get("role") {
            Some(r) => text(&ctx.resolve(r)?, &format!("{at}.role"))?,
            None => format!("arn:{part}:iam::{account}:role/{stack_name}-{logical_id}Role"),
        };
        let mut sm_tags = if sm.get("inheritGlobalTags").is_some_and(|v| v == false) {
            BTreeMap::new()
        } else {
            provider_tags.clone()
        };
        if let Some(t) = sm.get("tags") {
            sm_tags.extend(string_map(&ctx.resolve(t)?, &format!("{at}.tags"))?);
        }
        for k in sm.keys() {
            match k.as_str() {
                "definition" | "name" | "id" | "type" | "role" | "tags" | "inheritGlobalTags"
                | "dependsOn" => {}
                "iamRoleStatements" | "kmsKeyArns" => warnings.push(format!(
                    "{at}.{k}: Baton does not enforce IAM; ignored"
                )),
                "retain" => notes.push(format!("{at}.retain: Baton never deletes on deploy")),
                "events" => warnings.push(format!(
                    "{at}.events (http, schedule, eventBridge) are not supported by Baton; not deployed"
                )),
                other => warnings.push(format!(
                    "{at}.{other} is not supported by Baton; ignored"
                )),
            }
        }
        state_machines.push(StateMachinePlan {
            key,
            logical_id,
            name,
            arn,
            kind,
            definition,
            role_arn,
            tags: sm_tags,
        });
    }

    Ok(Plan {
        service,
        stage,
        region,
        account,
        directory: opts.directory.clone(),
        queues,
        topics,
        functions: function_plans,
        mappings,
        subscriptions,
        activities,
        state_machines,
        warnings,
        notes,
    })
}

/// `plugins:` as a list, or `{modules: [...]}`.
fn plugins(v: Option<&Value>, warnings: &mut Vec<String>) -> anyhow::Result<()> {
    let list = match v {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(l)) => l.clone(),
        Some(Value::Object(o)) => match o.get("modules") {
            Some(Value::Array(l)) => l.clone(),
            _ => anyhow::bail!("plugins must be a list (or {{modules: [...]}})"),
        },
        Some(_) => anyhow::bail!("plugins must be a list"),
    };
    for p in list {
        let name = p.as_str().unwrap_or_default();
        if !KNOWN_PLUGINS.contains(&name) {
            warnings.push(format!(
                "plugin {name} is not supported by Baton; ignored (Baton understands {})",
                KNOWN_PLUGINS.join(", ")
            ));
        }
    }
    Ok(())
}

/// `resources:` (a mapping, or a list of them): the merged `Resources`
/// and `Mappings`.
fn resource_sections(
    v: Option<&Value>,
    warnings: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> anyhow::Result<(Map<String, Value>, Value)> {
    let parts = match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(_)) => vec![v.cloned().unwrap_or_default()],
        Some(Value::Array(l)) => l.clone(),
        Some(_) => anyhow::bail!("resources must be a mapping"),
    };
    let mut resources = Map::new();
    let mut mappings = Map::new();
    for part in parts {
        let Value::Object(part) = part else {
            anyhow::bail!("each resources entry must be a mapping");
        };
        for (k, v) in part {
            match (k.as_str(), v) {
                ("Resources", Value::Object(r)) => {
                    for (id, res) in r {
                        anyhow::ensure!(res.is_object(), "resources.Resources.{id} must be a mapping");
                        resources.insert(id, res);
                    }
                }
                ("Mappings", Value::Object(m)) => mappings.extend(m),
                ("Resources" | "Mappings", _) => anyhow::bail!("resources.{k} must be a mapping"),
                ("Outputs", _) => notes.push(
                    "resources.Outputs: Baton keeps no stack outputs (`baton invoke` finds state machines by key)".into(),
                ),
                ("Description" | "AWSTemplateFormatVersion", _) => {}
                (other, _) => warnings.push(format!(
                    "resources.{other} is not supported by Baton; ignored"
                )),
            }
        }
    }
    Ok((resources, Value::Object(mappings)))
}

fn properties(resources: &Map<String, Value>, id: &str) -> Map<String, Value> {
    resources
        .get(id)
        .and_then(|r| r.get("Properties"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn events(f: &Map<String, Value>, key: &str) -> anyhow::Result<Vec<Value>> {
    match f.get("events") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(l)) => Ok(l.clone()),
        Some(_) => anyhow::bail!("functions.{key}.events must be a list"),
    }
}

/// An `sqs` event: an event source mapping.
fn sqs_event(
    ctx: &Context,
    spec: &Value,
    function: &str,
    at: &str,
    warnings: &mut Vec<String>,
) -> anyhow::Result<MappingPlan> {
    let spec = ctx
        .resolve(spec)
        .map_err(|e| anyhow::anyhow!("{at}.sqs: {e}"))?;
    let (arn, obj) = match &spec {
        Value::String(s) => (s.clone(), Map::new()),
        Value::Object(o) => match o.get("arn") {
            Some(Value::String(s)) => (s.clone(), o.clone()),
            _ => anyhow::bail!("{at}.sqs needs `arn` (a queue ARN or Fn::GetAtt: [Queue, Arn])"),
        },
        _ => anyhow::bail!("{at}.sqs must be a queue ARN or a mapping with `arn`"),
    };
    anyhow::ensure!(
        arn.starts_with("arn:") && arn.contains(":sqs:"),
        "{at}.sqs.arn {arn:?} is not a queue ARN"
    );
    let mut m = MappingPlan {
        function: function.to_string(),
        event_source_arn: arn,
        batch_size: 10,
        enabled: true,
        maximum_batching_window: None,
        function_response_types: Vec::new(),
    };
    for (k, v) in &obj {
        match k.as_str() {
            "arn" => {}
            "batchSize" => {
                m.batch_size = number(Some(v), &format!("{at}.sqs.batchSize"))?.unwrap_or(10)
            }
            "enabled" => m.enabled = truthy(v),
            "maximumBatchingWindow" => {
                m.maximum_batching_window =
                    number(Some(v), &format!("{at}.sqs.maximumBatchingWindow"))?;
            }
            "functionResponseType" => {
                m.function_response_types =
                    vec![text(v, &format!("{at}.sqs.functionResponseType"))?];
            }
            other => warnings.push(format!(
                "{at}.sqs.{other} is not supported by Baton; ignored"
            )),
        }
    }
    Ok(m)
}

/// An `sns` event: a `lambda` subscription of the function.
fn sns_event(
    ctx: &Context,
    spec: &Value,
    function_arn: &str,
    at: &str,
    topics: &[TopicPlan],
    warnings: &mut Vec<String>,
) -> anyhow::Result<SubscriptionPlan> {
    let spec = ctx
        .resolve(spec)
        .map_err(|e| anyhow::anyhow!("{at}.sns: {e}"))?;
    let by_name = |name: &str| {
        topics
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.arn.clone())
            .ok_or_else(|| anyhow::anyhow!("{at}.sns: no topic named {name}"))
    };
    let mut attributes = BTreeMap::new();
    let topic_arn = match &spec {
        Value::String(s) if s.starts_with("arn:") => s.clone(),
        Value::String(s) => by_name(s)?,
        Value::Object(o) => {
            for (k, v) in o {
                match k.as_str() {
                    "arn" | "topicName" | "displayName" => {}
                    "filterPolicy" => {
                        attributes.insert("FilterPolicy".into(), attribute_text(v));
                    }
                    "filterPolicyScope" => {
                        attributes.insert("FilterPolicyScope".into(), attribute_text(v));
                    }
                    "redrivePolicy" => warnings.push(format!(
                        "{at}.sns.redrivePolicy is not supported by Baton; ignored"
                    )),
                    other => warnings.push(format!(
                        "{at}.sns.{other} is not supported by Baton; ignored"
                    )),
                }
            }
            match (o.get("arn"), o.get("topicName")) {
                (Some(Value::String(a)), _) => a.clone(),
                (Some(other), _) => {
                    anyhow::bail!("{at}.sns.arn must resolve to a topic ARN, got {other}")
                }
                (None, Some(Value::String(n))) => by_name(n)?,
                _ => anyhow::bail!("{at}.sns needs `arn` or `topicName`"),
            }
        }
        _ => anyhow::bail!("{at}.sns must be a topic ARN, a topic name or a mapping"),
    };
    anyhow::ensure!(
        topic_arn.starts_with("arn:") && topic_arn.contains(":sns:"),
        "{at}.sns: {topic_arn:?} is not a topic ARN"
    );
    Ok(SubscriptionPlan {
        origin: at.to_string(),
        topic_arn,
        protocol: "lambda".into(),
        endpoint: function_arn.to_string(),
        attributes,
    })
}

/// `environment:` (provider or function) as resolved strings.
fn environment(
    ctx: &Context,
    v: Option<&Value>,
    at: &str,
) -> anyhow::Result<BTreeMap<String, String>> {
    let Some(v) = v else {
        return Ok(BTreeMap::new());
    };
    let v = ctx.resolve(v).map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
    string_map(&v, at)
}

/// A mapping of scalars as strings (nulls dropped).
fn string_map(v: &Value, at: &str) -> anyhow::Result<BTreeMap<String, String>> {
    match v {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(m) => {
            let mut out = BTreeMap::new();
            for (k, v) in m {
                if v.is_null() {
                    continue;
                }
                let s = cfn::scalar_text(v).ok_or_else(|| {
                    anyhow::anyhow!("{at}.{k} must be a string, number or boolean")
                })?;
                out.insert(k.clone(), s);
            }
            Ok(out)
        }
        _ => anyhow::bail!("{at} must be a mapping"),
    }
}

/// CloudFormation `Tags: [{Key, Value}]` (or a plain mapping).
fn tags(v: &Value, at: &str) -> anyhow::Result<BTreeMap<String, String>> {
    match v {
        Value::Array(list) => {
            let mut out = BTreeMap::new();
            for t in list {
                let (Some(k), Some(v)) = (
                    t.get("Key").and_then(cfn::scalar_text),
                    t.get("Value").and_then(cfn::scalar_text),
                ) else {
                    anyhow::bail!("{at}: each tag needs Key and Value");
                };
                out.insert(k, v);
            }
            Ok(out)
        }
        other => string_map(other, at),
    }
}

/// An attribute value as SQS/SNS take it: objects as JSON text.
fn attribute_text(v: &Value) -> String {
    cfn::scalar_text(v).unwrap_or_else(|| v.to_string())
}

fn text(v: &Value, at: &str) -> anyhow::Result<String> {
    cfn::scalar_text(v).ok_or_else(|| anyhow::anyhow!("{at} must be a string, got {v}"))
}

fn number(v: Option<&Value>, at: &str) -> anyhow::Result<Option<u64>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| anyhow::anyhow!("{at} must be a whole number >= 0, got {n}")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{at} must be a whole number >= 0, got {s:?}")),
        Some(other) => anyhow::bail!("{at} must be a number, got {other}"),
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => false,
    }
}

fn alnum(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// serverless-pseudo-parameters' `#{AWS::Region}` / `#{Resource}` in
/// definition strings, as the plugin rewrites them: into `Fn::Sub`.
fn pseudo_parameters(v: &Value) -> Value {
    match v {
        Value::String(s) if s.contains("#{") => {
            json!({ "Fn::Sub": s.replace("${", "${!").replace("#{", "${") })
        }
        Value::Array(items) => Value::Array(items.iter().map(pseudo_parameters).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), pseudo_parameters(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The plan as JSON, for `baton deploy --dry-run`.
pub fn to_json(plan: &Plan) -> Value {
    json!({
        "service": plan.service,
        "stage": plan.stage,
        "region": plan.region,
        "account": plan.account,
        "directory": plan.directory,
        "queues": plan.queues.iter().map(|q| json!({
            "logicalId": q.logical_id, "name": q.name, "url": q.url, "arn": q.arn,
            "attributes": q.attributes, "tags": q.tags,
        })).collect::<Vec<_>>(),
        "topics": plan.topics.iter().map(|t| json!({
            "logicalId": t.logical_id, "name": t.name, "arn": t.arn,
            "attributes": t.attributes, "tags": t.tags,
        })).collect::<Vec<_>>(),
        "functions": plan.functions.iter().map(|f| json!({
            "key": f.key, "logicalId": f.logical_id, "name": f.name, "arn": f.arn,
            "handler": f.handler, "runtime": f.runtime, "timeout": f.timeout,
            "memorySize": f.memory_size, "description": f.description, "environment": f.environment,
        })).collect::<Vec<_>>(),
        "mappings": plan.mappings.iter().map(|m| json!({
            "function": m.function, "eventSourceArn": m.event_source_arn,
            "batchSize": m.batch_size, "enabled": m.enabled,
        })).collect::<Vec<_>>(),
        "subscriptions": plan.subscriptions.iter().map(|s| json!({
            "origin": s.origin, "topicArn": s.topic_arn, "protocol": s.protocol,
            "endpoint": s.endpoint, "attributes": s.attributes,
        })).collect::<Vec<_>>(),
        "activities": plan.activities.iter().map(|a| json!({"name": a.name, "arn": a.arn})).collect::<Vec<_>>(),
        "stateMachines": plan.state_machines.iter().map(|s| json!({
            "key": s.key, "logicalId": s.logical_id, "name": s.name, "arn": s.arn,
            "type": s.kind, "roleArn": s.role_arn, "tags": s.tags, "definition": s.definition,
        })).collect::<Vec<_>>(),
        "warnings": plan.warnings,
        "notes": plan.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(dir: &Path) -> BuildOptions {
        BuildOptions {
            stage: None,
            region: None,
            account: "000000000000".into(),
            endpoint: "http://127.0.0.1:4566".into(),
            directory: dir.to_path_buf(),
            queue_urls: BTreeMap::new(),
        }
    }

    fn plan_of(yaml_text: &str) -> anyhow::Result<Plan> {
        let raw = yaml::parse(yaml_text, "serverless.yml")?;
        build(&raw, &options(Path::new("/app")), &|_| None)
    }

    /// The repository's root.
    fn repo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn the_seed_resolves_to_its_plan() {
        let dir = repo().join("../shared/seed/callback-example");
        if !dir.join("serverless.yml").is_file() {
            eprintln!("skipped: {} is absent", dir.display());
            return;
        }
        let (dir, file) = locate(&dir).expect("locate");
        let raw = read(&file).expect("read");
        let plan = build(&raw, &options(&dir), &|_| None).expect("plan");
        let region = "ap-southeast-2";
        let acct = "000000000000";
        assert_eq!(
            (
                plan.service.as_str(),
                plan.stage.as_str(),
                plan.region.as_str()
            ),
            ("cmp-guide-step-functions", "dev", region)
        );
        let queue_url = format!("http://127.0.0.1:4566/{acct}/my-queue");
        let queue_arn = format!("arn:aws:sqs:{region}:{acct}:my-queue");
        assert_eq!(
            plan.queues,
            vec![QueuePlan {
                logical_id: "MyQueue".into(),
                name: "my-queue".into(),
                url: queue_url.clone(),
                arn: queue_arn.clone(),
                attributes: BTreeMap::new(),
                tags: BTreeMap::new(),
            }]
        );
        let topic_arn = format!("arn:aws:sns:{region}:{acct}:callback-topic");
        assert_eq!(
            plan.topics,
            vec![TopicPlan {
                logical_id: "MyTopic".into(),
                name: "callback-topic".into(),
                arn: topic_arn.clone(),
                attributes: [("DisplayName".to_string(), "callback-topic".to_string())].into(),
                tags: BTreeMap::new(),
            }]
        );
        let fname = |k: &str| format!("cmp-guide-step-functions-dev-{k}");
        let farn = |k: &str| format!("arn:aws:lambda:{region}:{acct}:function:{}", fname(k));
        let names: Vec<(&str, &str, &str)> = plan
            .functions
            .iter()
            .map(|f| (f.name.as_str(), f.handler.as_str(), f.runtime.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                (fname("sqs").as_str(), "handler.sqs", "nodejs12.x"),
                (fname("lambda").as_str(), "handler.lambda", "nodejs12.x"),
                (fname("sns").as_str(), "handler.sns", "nodejs12.x"),
            ]
        );
        assert!(
            plan.functions
                .iter()
                .all(|f| f.timeout == 6 && f.memory_size == 1024 && f.environment.is_empty())
        );
        assert_eq!(plan.functions[0].logical_id, "SqsLambdaFunction");
        assert_eq!(plan.functions[0].arn, farn("sqs"));
        assert_eq!(
            plan.mappings,
            vec![MappingPlan {
                function: fname("sqs"),
                event_source_arn: queue_arn,
                batch_size: 1,
                enabled: true,
                maximum_batching_window: None,
                function_response_types: Vec::new(),
            }]
        );
        assert_eq!(
            plan.subscriptions,
            vec![SubscriptionPlan {
                origin: "functions.sns.events[0]".into(),
                topic_arn: topic_arn.clone(),
                protocol: "lambda".into(),
                endpoint: farn("sns"),
                attributes: BTreeMap::new(),
            }]
        );
        assert_eq!(plan.state_machines.len(), 1);
        let sm = &plan.state_machines[0];
        assert_eq!(
            (sm.key.as_str(), sm.name.as_str(), sm.kind.as_str()),
            ("callbackExample", "callback-example", "STANDARD")
        );
        assert_eq!(
            sm.arn,
            format!("arn:aws:states:{region}:{acct}:stateMachine:callback-example")
        );
        let states = &sm.definition["States"];
        assert_eq!(
            states["Publish SQS message"]["Parameters"]["QueueUrl"],
            json!(queue_url)
        );
        assert_eq!(
            states["Invoke Lambda"]["Parameters"]["FunctionName"],
            json!(farn("lambda"))
        );
        assert_eq!(
            states["Publish SNS message"]["Parameters"]["TopicArn"],
            json!(topic_arn)
        );
        assert_eq!(
            states["Publish SQS message"]["Parameters"]["MessageBody"]["Token.$"],
            json!("$$.Task.Token")
        );
        assert!(
            plan.warnings
                .iter()
                .any(|w| w.contains("provider.iamRoleStatements")),
            "{:?}",
            plan.warnings
        );
        assert!(
            plan.notes
                .iter()
                .any(|n| n.contains("\"callbackExample\" definition is valid")),
            "{:?}",
            plan.notes
        );
    }

    #[test]
    fn the_callback_example_resolves() {
        let (dir, file) = locate(&repo().join("examples/callback")).expect("locate");
        let raw = read(&file).expect("read");
        let plan = build(&raw, &options(&dir), &|_| None).expect("plan");
        assert_eq!(plan.service, "baton-callback");
        assert_eq!(plan.queues.len(), 2);
        let q = &plan.queues[0];
        assert_eq!(q.name, "baton-callback-dev-approvals");
        let redrive: Value =
            serde_json::from_str(&q.attributes["RedrivePolicy"]).expect("JSON text");
        assert_eq!(
            redrive,
            json!({
                "deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:baton-callback-dev-approvals-dlq",
                "maxReceiveCount": 3
            })
        );
        assert_eq!(q.attributes["VisibilityTimeout"], "30");
        assert_eq!(
            plan.topics.len(),
            1,
            "the event's topicName is the declared topic"
        );
        assert_eq!(plan.functions[0].environment["APPROVER"], "baton-example");
        assert_eq!(plan.functions[0].timeout, 10);
        let sm = &plan.state_machines[0];
        assert_eq!(sm.name, "baton-callback-dev");
        assert_eq!(
            sm.definition["States"]["Ask the function"]["Parameters"]["FunctionName"],
            json!(
                "arn:aws:lambda:us-east-1:000000000000:function:baton-callback-dev-approveDirectly"
            )
        );
        assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    }

    #[test]
    fn options_and_defaults() {
        let text = "service: svc\nprovider:\n  name: aws\n  stage: ${opt:stage, 'dev'}\nstepFunctions:\n  stateMachines:\n    my-flow:\n      type: express\n      definition: '{\"StartAt\":\"A\",\"States\":{\"A\":{\"Type\":\"Pass\",\"End\":true}}}'\n";
        let raw = yaml::parse(text, "serverless.yml").expect("yaml");
        let mut opts = options(Path::new("/app"));
        opts.stage = Some("prod".into());
        opts.region = Some("eu-west-1".into());
        let plan = build(&raw, &opts, &|_| None).expect("plan");
        assert_eq!(
            (plan.stage.as_str(), plan.region.as_str()),
            ("prod", "eu-west-1")
        );
        let sm = &plan.state_machines[0];
        assert_eq!(sm.logical_id, "MyDashflowStepFunctionsStateMachine");
        assert_eq!(sm.name, "MyDashflowStepFunctionsStateMachine-svc-prod");
        assert_eq!(sm.kind, "EXPRESS");
        assert_eq!(sm.definition["StartAt"], "A");
    }

    #[test]
    fn functions_in_definitions_and_pseudo_parameters() {
        let plan = plan_of(
            r#"
service: {name: svc}
provider: {name: aws, region: eu-west-1, environment: {A: "1"}}
functions:
  hello-world:
    handler: h.hello
    environment: {B: 2, Q: !Ref Q}
    events:
      - sns: orders
      - sns:
          topicName: orders
          filterPolicy: {kind: [big]}
      - http: {path: /x, method: get}
stepFunctions:
  stateMachines:
    flow:
      name: flow
      definition:
        StartAt: A
        States:
          A:
            Type: Task
            Resource: {Ref: HelloDashworldLambdaFunction}
            Next: B
          B:
            Type: Task
            Resource: arn:aws:states:::sqs:sendMessage
            Parameters:
              QueueUrl: "https://sqs.#{AWS::Region}.amazonaws.com/#{AWS::AccountId}/q"
              MessageBody: "${literal}"
            End: true
resources:
  Resources:
    Q: {Type: AWS::SQS::Queue}
    T: {Type: AWS::DynamoDB::Table, Properties: {TableName: t}}
    P: {Type: AWS::SQS::QueuePolicy, Properties: {Queues: [!Ref Q]}}
"#,
        )
        .expect("plan");
        let f = &plan.functions[0];
        assert_eq!(f.name, "svc-dev-hello-world");
        assert_eq!(f.runtime, "nodejs20.x");
        assert_eq!(
            f.environment,
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "2".to_string()),
                (
                    "Q".to_string(),
                    "http://127.0.0.1:4566/000000000000/svc-dev-Q".to_string()
                ),
            ]
            .into()
        );
        // One implicit topic for both events; the filter policy as JSON text.
        assert_eq!(plan.topics.len(), 1);
        assert_eq!(plan.topics[0].logical_id, "SNSTopicOrders");
        assert_eq!(plan.subscriptions.len(), 2);
        assert_eq!(
            plan.subscriptions[1].attributes["FilterPolicy"],
            r#"{"kind":["big"]}"#
        );
        let def = &plan.state_machines[0].definition;
        assert_eq!(
            def["States"]["A"]["Resource"],
            "arn:aws:lambda:eu-west-1:000000000000:function:svc-dev-hello-world"
        );
        assert_eq!(
            def["States"]["B"]["Parameters"]["QueueUrl"],
            "https://sqs.eu-west-1.amazonaws.com/000000000000/q"
        );
        assert_eq!(
            def["States"]["B"]["Parameters"]["MessageBody"],
            "${literal}"
        );
        let all = plan.warnings.join("\n");
        assert!(
            all.contains("T (AWS::DynamoDB::Table) is not supported"),
            "{all}"
        );
        assert!(all.contains("`http` events are not supported"), "{all}");
        assert!(
            plan.notes
                .iter()
                .any(|n| n.contains("P (AWS::SQS::QueuePolicy) accepted")),
            "{:?}",
            plan.notes
        );
    }

    #[test]
    fn invalid_definitions_are_refused_with_their_diagnostics() {
        let e = plan_of(
            "service: s\nstepFunctions:\n  validate: true\n  stateMachines:\n    m:\n      definition:\n        StartAt: Nope\n        States:\n          A: {Type: Pass, End: true}\n",
        )
        .expect_err("invalid");
        let text = e.to_string();
        assert!(
            text.starts_with("✕ State machine \"m\" definition is invalid:"),
            "{text}"
        );
        assert!(text.contains("Nope"), "{text}");
    }

    #[test]
    fn bad_configurations_are_clear_errors() {
        for (text, expected) in [
            ("provider: {name: aws}", "needs `service:`"),
            (
                "service: s\nprovider: {name: google}",
                "Baton deploys AWS apps only",
            ),
            (
                "service: s\nstepFunctions:\n  stateMachines:\n    m: {definition: {}, bogus: 1}",
                "State machine [m] is malformed",
            ),
            (
                "service: s\nfunctions:\n  f: {runtime: nodejs20.x}",
                "needs a `handler`",
            ),
            (
                "service: s\nfunctions:\n  f:\n    handler: h.f\n    events:\n      - sqs: {arn: !Ref Missing}",
                "no resource, function or parameter named Missing",
            ),
        ] {
            let e = plan_of(text).expect_err(text);
            assert!(format!("{e:#}").contains(expected), "{text}: {e:#}");
        }
    }
}
