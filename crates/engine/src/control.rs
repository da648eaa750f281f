//! The control plane: state machines (create, describe, update, delete, list,
//! validate), activities (create, describe, delete, list) and tags.
//!
//! Every method takes the [`Caller`]: ARNs are scoped by its account and
//! region, as AWS scopes them (a state machine of another region does not
//! exist for this caller). Request-shape checks (lengths, enums, required
//! fields) belong to the API layer; the checks here are the ones AWS makes
//! with its own error codes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use baton_asl::diag::invalid_definition_message;
use baton_asl::load::{Options, load_str_with};
use baton_storage::{
    ActivityRecord, ErrorKind as StoreErrorKind, MachineType, RevisionContent, StateMachineRecord,
    Store, Tag,
};
use serde_json::{Map, Value, json};

use crate::arn::{self, Parsed};
use crate::runtime::Page;
use crate::{Caller, Engine, Error, ErrorKind, Result};

/// Tags per resource.
pub const MAX_TAGS: usize = 50;
/// Default and largest page of ListStateMachines / ListActivities.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;
/// Largest `maxResults` of ValidateStateMachineDefinition.
const MAX_DIAGNOSTICS: usize = 100;

// ----- requests and answers ------------------------------------------------

/// CreateStateMachine's request, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateStateMachine {
    pub name: String,
    pub definition: String,
    pub role_arn: String,
    pub machine_type: MachineType,
    /// `loggingConfiguration` as sent (an object), if sent.
    pub logging_configuration: Option<Value>,
    pub tracing_configuration: Option<Value>,
    pub encryption_configuration: Option<Value>,
    pub tags: Vec<Tag>,
    pub publish: bool,
    pub version_description: Option<String>,
}

/// CreateStateMachine's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedStateMachine {
    pub state_machine_arn: String,
    pub creation_ms: i64,
}

/// UpdateStateMachine's request, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateStateMachine {
    pub state_machine_arn: String,
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub logging_configuration: Option<Value>,
    pub tracing_configuration: Option<Value>,
    pub encryption_configuration: Option<Value>,
    pub publish: bool,
    pub version_description: Option<String>,
}

/// UpdateStateMachine's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatedStateMachine {
    pub update_ms: i64,
    /// The current revision's id; `None` while the machine is at its first
    /// revision (AWS shows no revisionId before the first update).
    pub revision_id: Option<String>,
}

/// One diagnostic of ValidateStateMachineDefinition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationDiagnostic {
    /// `ERROR` or `WARNING`.
    pub severity: &'static str,
    pub code: String,
    pub message: String,
    /// `None` when AWS shows no location.
    pub location: Option<String>,
}

/// ValidateStateMachineDefinition's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationReport {
    /// `OK` or `FAIL`.
    pub result: &'static str,
    pub diagnostics: Vec<ValidationDiagnostic>,
    pub truncated: bool,
}

/// The configuration kept with a revision (`RevisionContent.config`), with
/// AWS's defaults filled in: what DescribeStateMachine shows.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineConfig {
    pub logging_configuration: Value,
    pub tracing_configuration: Value,
    /// Shown only when set: AWS's recorded DescribeStateMachine answers of
    /// machines created without one have no `encryptionConfiguration`.
    pub encryption_configuration: Option<Value>,
    pub description: Option<String>,
}

impl Default for MachineConfig {
    fn default() -> Self {
        Self {
            logging_configuration: json!({"level": "OFF", "includeExecutionData": false}),
            tracing_configuration: json!({"enabled": false}),
            encryption_configuration: None,
            description: None,
        }
    }
}

impl MachineConfig {
    /// Reads `RevisionContent.config`; anything missing or unreadable takes
    /// AWS's default.
    pub fn parse(text: &str) -> MachineConfig {
        let mut cfg = MachineConfig::default();
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(text) {
            if let Some(v @ Value::Object(_)) = m.get("loggingConfiguration") {
                cfg.logging_configuration = v.clone();
            }
            if let Some(v @ Value::Object(_)) = m.get("tracingConfiguration") {
                cfg.tracing_configuration = v.clone();
            }
            if let Some(v @ Value::Object(_)) = m.get("encryptionConfiguration") {
                cfg.encryption_configuration = Some(v.clone());
            }
            if let Some(Value::String(s)) = m.get("description") {
                cfg.description = Some(s.clone());
            }
        }
        cfg
    }

    /// The JSON text kept in `RevisionContent.config`.
    pub fn to_text(&self) -> String {
        let mut m = Map::new();
        m.insert(
            "loggingConfiguration".into(),
            self.logging_configuration.clone(),
        );
        m.insert(
            "tracingConfiguration".into(),
            self.tracing_configuration.clone(),
        );
        if let Some(e) = &self.encryption_configuration {
            m.insert("encryptionConfiguration".into(), e.clone());
        }
        if let Some(d) = &self.description {
            m.insert("description".into(), Value::String(d.clone()));
        }
        Value::Object(m).to_string()
    }
}

// ----- helpers ---------------------------------------------------------------

/// A random (version 4) UUID in its usual text form, from the OS's random
/// source.
pub fn uuid_v4() -> String {
    let mut b = random_16();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// 16 random bytes: a process-wide stream (SplitMix64 over a counter)
/// seeded once from the OS, so the hot path (request ids, execution names)
/// does no I/O.
fn random_16() -> [u8; 16] {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        use std::io::Read as _;
        let mut b = [0u8; 8];
        let from_os = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut b))
            .is_ok();
        if from_os {
            u64::from_le_bytes(b)
        } else {
            // No /dev/urandom: std's RandomState is seeded per process.
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0),
            );
            h.write_u32(std::process::id());
            h.finish()
        }
    });
    let n = COUNTER.fetch_add(2, Ordering::Relaxed);
    let mix = |x: u64| {
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&mix(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_le_bytes());
    b[8..].copy_from_slice(
        &mix(seed.rotate_left(32) ^ (n + 1).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)).to_le_bytes(),
    );
    b
}

fn invalid_arn(msg: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidArn, format!("Invalid Arn: '{msg}'"))
}

/// Parses a Step Functions ARN of `resource_type`, with AWS's InvalidArn
/// messages.
pub(crate) fn parse_arn<'a>(s: &'a str, resource_type: &str) -> Result<Parsed<'a>> {
    if !s.starts_with("arn:") {
        return Err(invalid_arn(format_args!("Invalid ARN prefix: {s}")));
    }
    let parsed = Parsed::parse(s).ok_or_else(|| invalid_arn(format_args!("Invalid ARN: {s}")))?;
    if parsed.resource_type != resource_type {
        return Err(invalid_arn(format_args!(
            "Resource type not valid in this context: {}",
            parsed.resource_type
        )));
    }
    Ok(parsed)
}

fn belongs_to(parsed: &Parsed<'_>, caller: &Caller) -> bool {
    parsed.account == caller.account
        && parsed.region == caller.region
        && parsed.partition == caller.partition()
}

fn sm_does_not_exist(arn: &str) -> Error {
    Error::new(
        ErrorKind::StateMachineDoesNotExist,
        format!("State Machine Does Not Exist: '{arn}'"),
    )
}

fn activity_does_not_exist(arn: &str) -> Error {
    Error::new(
        ErrorKind::ActivityDoesNotExist,
        format!("Activity Does Not Exist: '{arn}'"),
    )
}

fn sm_deleting(arn: &str) -> Error {
    Error::new(
        ErrorKind::StateMachineDeleting,
        format!("State Machine is being deleted: '{arn}'"),
    )
}

fn versions_unsupported(what: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("{what}: Baton does not support state machine versions and aliases yet"),
    )
}

fn invalid_page_token() -> Error {
    Error::new(ErrorKind::InvalidToken, "Invalid Token: 'Invalid token'")
}

/// Reads up to `limit` records after an ARN from the store, in ARN order.
type ListAfter<R> = fn(&dyn Store, Option<&str>, usize) -> baton_storage::Result<Vec<R>>;

fn page_size(max_results: Option<usize>) -> usize {
    match max_results {
        None | Some(0) => DEFAULT_PAGE,
        Some(n) => n.min(MAX_PAGE),
    }
}

/// The page token: opaque base64 of the last ARN of the page.
fn encode_token(last_arn: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_arn.as_bytes())
}

fn decode_token(token: &str, prefix: &str) -> Result<String> {
    let raw = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| invalid_page_token())?;
    let s = String::from_utf8(raw).map_err(|_| invalid_page_token())?;
    if !s.starts_with(prefix) {
        return Err(invalid_page_token());
    }
    Ok(s)
}

/// The role ARN check AWS makes: an ARN of some IAM-like form.
fn check_role_arn(role_arn: &str) -> Result<()> {
    if !role_arn.starts_with("arn:") {
        return Err(invalid_arn(format_args!("Invalid ARN prefix: {role_arn}")));
    }
    if role_arn.splitn(6, ':').count() < 6 {
        return Err(invalid_arn(format_args!("Invalid ARN: {role_arn}")));
    }
    Ok(())
}

fn invalid_logging(msg: &str) -> Error {
    Error::new(
        ErrorKind::InvalidLoggingConfiguration,
        format!("Invalid Logging Configuration: {msg}"),
    )
}

/// Validates a `loggingConfiguration` and fills AWS's defaults (`level` OFF,
/// `includeExecutionData` false).
fn normalise_logging(v: &Value) -> Result<Value> {
    let Value::Object(m) = v else {
        return Err(invalid_logging("Must be an object."));
    };
    let level = match m.get("level") {
        None | Some(Value::Null) => "OFF".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(invalid_logging("Invalid log level.")),
    };
    let destinations = match m.get("destinations") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(a.clone()),
        Some(_) => return Err(invalid_logging("Must specify exactly one Log Destination.")),
    };
    let n = destinations.as_ref().map_or(0, Vec::len);
    if n > 1 || (level != "OFF" && n == 0) {
        return Err(invalid_logging("Must specify exactly one Log Destination."));
    }
    if let Some(dests) = &destinations {
        for d in dests {
            let arn = d
                .get("cloudWatchLogsLogGroup")
                .and_then(|g| g.get("logGroupArn"))
                .and_then(Value::as_str);
            match arn {
                Some(a) if a.starts_with("arn:") && a.contains(":logs:") => {}
                _ => return Err(invalid_logging("Must set valid CloudWatch Log Group ARN.")),
            }
        }
    }
    let include = match m.get("includeExecutionData") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid_logging("includeExecutionData must be a boolean.")),
    };
    let mut out = Map::new();
    if let Some(d) = destinations {
        out.insert("destinations".into(), Value::Array(d));
    }
    out.insert("includeExecutionData".into(), Value::Bool(include));
    out.insert("level".into(), Value::String(level));
    Ok(Value::Object(out))
}

fn normalise_tracing(v: &Value) -> Result<Value> {
    match v {
        Value::Object(m) => match m.get("enabled") {
            None | Some(Value::Null) => Ok(json!({"enabled": false})),
            Some(Value::Bool(b)) => Ok(json!({"enabled": b})),
            Some(_) => Err(Error::new(
                ErrorKind::InvalidTracingConfiguration,
                "Invalid Tracing Configuration: enabled must be a boolean.",
            )),
        },
        _ => Err(Error::new(
            ErrorKind::InvalidTracingConfiguration,
            "Invalid Tracing Configuration",
        )),
    }
}

fn normalise_encryption(v: &Value) -> Result<Value> {
    let Value::Object(m) = v else {
        return Err(Error::new(
            ErrorKind::Validation,
            "encryptionConfiguration must be an object",
        ));
    };
    match m.get("type").and_then(Value::as_str) {
        Some("AWS_OWNED_KEY") => Ok(json!({"type": "AWS_OWNED_KEY"})),
        Some("CUSTOMER_MANAGED_KMS_KEY") => Err(Error::new(
            ErrorKind::Unsupported,
            "encryptionConfiguration: Baton does not support CUSTOMER_MANAGED_KMS_KEY encryption yet",
        )),
        _ => Err(Error::new(
            ErrorKind::Validation,
            "1 validation error detected: Value at 'encryptionConfiguration.type' failed to satisfy constraint: \
             Member must satisfy enum value set: [CUSTOMER_MANAGED_KMS_KEY, AWS_OWNED_KEY]",
        )),
    }
}

fn check_definition(definition: &str, machine_type: MachineType) -> Result<()> {
    let (def, diags) = load_str_with(
        definition,
        &Options {
            express: machine_type == MachineType::Express,
        },
    );
    if def.is_none() || !diags.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidDefinition,
            invalid_definition_message(&diags),
        ));
    }
    Ok(())
}

fn check_tags(tags: &[Tag]) -> Result<()> {
    for t in tags {
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::new(
                ErrorKind::Validation,
                format!(
                    "Tag keys starting with 'aws:' are reserved for AWS use: '{}'",
                    t.key
                ),
            ));
        }
    }
    Ok(())
}

fn too_many_tags(arn: &str) -> Error {
    Error::new(
        ErrorKind::TooManyTags,
        format!("Too many tags: a resource can have at most {MAX_TAGS} tags: '{arn}'"),
    )
}

/// The number of distinct keys after adding `new` to `existing`.
fn merged_tag_count(existing: &[Tag], new: &[Tag]) -> usize {
    let mut keys: Vec<&str> = existing.iter().map(|t| t.key.as_str()).collect();
    for t in new {
        if !keys.contains(&t.key.as_str()) {
            keys.push(&t.key);
        }
    }
    keys.len()
}

/// The last value of each key, in first-seen order (AWS keeps the last of
/// repeated keys in one request).
fn dedup_tags(tags: Vec<Tag>) -> Vec<Tag> {
    let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
    for t in tags {
        match out.iter_mut().find(|o| o.key == t.key) {
            Some(o) => o.value = t.value,
            None => out.push(t),
        }
    }
    out
}

/// Which resource an ARN given to the tagging actions names.
enum Tagged {
    StateMachine,
    Activity,
}

// ----- the control plane -------------------------------------------------------

impl Engine {
    /// Runs a store call on the blocking pool.
    async fn with_store<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T> + Send + 'static,
    {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || f(&*store))
            .await
            .map_err(|e| Error::new(ErrorKind::Internal, format!("store task failed: {e}")))?
    }

    /// One page of the records whose ARNs start with `prefix`, in ARN
    /// order, after the one `next_token` names; `list` reads records after
    /// an ARN from the store.
    async fn list_by_arn<R: Send + 'static>(
        &self,
        prefix: String,
        max_results: Option<usize>,
        next_token: Option<String>,
        list: ListAfter<R>,
        arn_of: fn(&R) -> &String,
    ) -> Result<Page<R>> {
        let after = match &next_token {
            Some(t) => decode_token(t, &prefix)?,
            None => prefix.clone(),
        };
        let limit = page_size(max_results);
        self.with_store(move |s| {
            let mut rows = list(s, Some(&after), limit + 1)?;
            rows.retain(|r| arn_of(r).starts_with(&prefix));
            Ok(paginate(rows, limit, arn_of))
        })
        .await
    }

    /// The state machine at `arn` as this caller sees it (`None` when it
    /// does not exist here).
    async fn state_machine_for(
        &self,
        caller: &Caller,
        arn: &str,
    ) -> Result<Option<StateMachineRecord>> {
        let parsed = parse_arn(arn, "stateMachine")?;
        if parsed.resource_name.contains(':') {
            return Err(versions_unsupported(arn));
        }
        if !belongs_to(&parsed, caller) {
            return Ok(None);
        }
        let a = arn.to_string();
        self.with_store(move |s| Ok(s.get_state_machine(&a)?)).await
    }

    /// CreateStateMachine. Idempotent on name, definition, type, logging,
    /// tracing and encryption configuration (a different roleArn or tags
    /// are ignored); any other reuse of the name is
    /// `StateMachineAlreadyExists`.
    pub async fn create_state_machine(
        &self,
        caller: &Caller,
        req: CreateStateMachine,
    ) -> Result<CreatedStateMachine> {
        if req.version_description.is_some() && !req.publish {
            return Err(Error::new(
                ErrorKind::Validation,
                "Version description can only be set when publish is true",
            ));
        }
        if req.publish {
            return Err(versions_unsupported("CreateStateMachine with publish=true"));
        }
        if !arn::valid_name(&req.name) {
            return Err(Error::new(
                ErrorKind::InvalidName,
                format!("Invalid Name: '{}'", req.name),
            ));
        }
        check_role_arn(&req.role_arn)?;
        let mut cfg = MachineConfig::default();
        if let Some(l) = &req.logging_configuration {
            cfg.logging_configuration = normalise_logging(l)?;
        }
        if let Some(t) = &req.tracing_configuration {
            cfg.tracing_configuration = normalise_tracing(t)?;
        }
        if let Some(e) = &req.encryption_configuration {
            cfg.encryption_configuration = Some(normalise_encryption(e)?);
        }
        check_definition(&req.definition, req.machine_type)?;
        check_tags(&req.tags)?;
        let tags = dedup_tags(req.tags.clone());
        let sm_arn = arn::state_machine(&caller.region, &caller.account, &req.name);
        if tags.len() > MAX_TAGS {
            return Err(too_many_tags(&sm_arn));
        }
        let now = self.now_ms();
        let record = StateMachineRecord {
            arn: sm_arn.clone(),
            name: req.name.clone(),
            machine_type: req.machine_type,
            status: "ACTIVE".into(),
            creation_ms: now,
            revision: 1,
            content: RevisionContent {
                definition: req.definition.clone(),
                role_arn: req.role_arn.clone(),
                config: cfg.to_text(),
                revision_id: String::new(),
                update_ms: now,
            },
        };
        let same = move |existing: &StateMachineRecord| -> Result<CreatedStateMachine> {
            if existing.status == "DELETING" {
                return Err(sm_deleting(&existing.arn));
            }
            let existing_cfg = MachineConfig::parse(&existing.content.config);
            let identical = existing.machine_type == req.machine_type
                && existing.content.definition == req.definition
                && existing_cfg.logging_configuration == cfg.logging_configuration
                && existing_cfg.tracing_configuration == cfg.tracing_configuration
                && existing_cfg.encryption_configuration == cfg.encryption_configuration;
            if identical {
                Ok(CreatedStateMachine {
                    state_machine_arn: existing.arn.clone(),
                    creation_ms: existing.creation_ms,
                })
            } else {
                Err(Error::new(
                    ErrorKind::StateMachineAlreadyExists,
                    format!("State Machine Already Exists: '{}'", existing.arn),
                ))
            }
        };
        self.with_store(move |s| {
            if let Some(existing) = s.get_state_machine(&record.arn)? {
                return same(&existing);
            }
            match s.create_state_machine(&record, &tags) {
                Ok(()) => Ok(CreatedStateMachine {
                    state_machine_arn: record.arn.clone(),
                    creation_ms: now,
                }),
                Err(e) if e.kind == StoreErrorKind::Conflict => {
                    match s.get_state_machine(&record.arn)? {
                        Some(existing) => same(&existing),
                        None => Err(e.into()),
                    }
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// DescribeStateMachine.
    pub async fn describe_state_machine(
        &self,
        caller: &Caller,
        arn: &str,
    ) -> Result<StateMachineRecord> {
        self.state_machine_for(caller, arn)
            .await?
            .ok_or_else(|| sm_does_not_exist(arn))
    }

    /// UpdateStateMachine: a new revision when something changes; the
    /// current one otherwise.
    pub async fn update_state_machine(
        &self,
        caller: &Caller,
        req: UpdateStateMachine,
    ) -> Result<UpdatedStateMachine> {
        let arn = req.state_machine_arn.clone();
        parse_arn(&arn, "stateMachine")?;
        if req.version_description.is_some() && !req.publish {
            return Err(Error::new(
                ErrorKind::Validation,
                "Version description can only be set when publish is true",
            ));
        }
        if req.definition.is_none()
            && req.role_arn.is_none()
            && req.logging_configuration.is_none()
            && req.tracing_configuration.is_none()
            && req.encryption_configuration.is_none()
        {
            return Err(Error::new(
                ErrorKind::MissingRequiredParameter,
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
            ));
        }
        if req.publish {
            return Err(versions_unsupported("UpdateStateMachine with publish=true"));
        }
        if let Some(r) = &req.role_arn {
            check_role_arn(r)?;
        }
        for _attempt in 0..5 {
            let current = self
                .state_machine_for(caller, &arn)
                .await?
                .ok_or_else(|| sm_does_not_exist(&arn))?;
            if current.status == "DELETING" {
                return Err(sm_deleting(&arn));
            }
            if let Some(d) = &req.definition {
                check_definition(d, current.machine_type)?;
            }
            let mut cfg = MachineConfig::parse(&current.content.config);
            if let Some(l) = &req.logging_configuration {
                cfg.logging_configuration = normalise_logging(l)?;
            }
            if let Some(t) = &req.tracing_configuration {
                cfg.tracing_configuration = normalise_tracing(t)?;
            }
            if let Some(e) = &req.encryption_configuration {
                cfg.encryption_configuration = Some(normalise_encryption(e)?);
            }
            let now = self.now_ms();
            let content = RevisionContent {
                definition: req
                    .definition
                    .clone()
                    .unwrap_or_else(|| current.content.definition.clone()),
                role_arn: req
                    .role_arn
                    .clone()
                    .unwrap_or_else(|| current.content.role_arn.clone()),
                config: cfg.to_text(),
                revision_id: uuid_v4(),
                update_ms: now,
            };
            let unchanged = content.definition == current.content.definition
                && content.role_arn == current.content.role_arn
                && cfg == MachineConfig::parse(&current.content.config);
            if unchanged {
                let id = &current.content.revision_id;
                return Ok(UpdatedStateMachine {
                    update_ms: now,
                    revision_id: (!id.is_empty()).then(|| id.clone()),
                });
            }
            let next = current.revision + 1;
            let a = arn.clone();
            let c = content.clone();
            let res = self
                .with_store(move |s| Ok(s.update_state_machine(&a, next, &c)))
                .await?;
            match res {
                Ok(()) => {
                    return Ok(UpdatedStateMachine {
                        update_ms: now,
                        revision_id: Some(content.revision_id),
                    });
                }
                // Another update won the race: read again and retry.
                Err(e) if e.kind == StoreErrorKind::Conflict => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::new(
            ErrorKind::Internal,
            "UpdateStateMachine: too many concurrent updates; retry",
        ))
    }

    /// DeleteStateMachine: gone at once when no execution runs; otherwise
    /// DELETING until the last running execution ends (the runtime then
    /// calls [`Engine::finish_delete_if_idle`]). A state machine that does
    /// not exist is not an error, as in AWS.
    pub async fn delete_state_machine(&self, caller: &Caller, arn: &str) -> Result<()> {
        let Some(sm) = self.state_machine_for(caller, arn).await? else {
            return Ok(());
        };
        if sm.status != "DELETING" {
            let a = sm.arn.clone();
            self.with_store(move |s| Ok(s.set_state_machine_status(&a, "DELETING")?))
                .await?;
        }
        if let Ok(mut d) = self.inner.runtime.shared.deleting.lock() {
            d.insert(sm.arn.clone());
        }
        // Checked after marking: an execution ending in between then sees
        // DELETING and finishes the delete itself.
        self.finish_delete_if_idle(&sm.arn).await?;
        Ok(())
    }

    /// Deletes a DELETING state machine once none of its executions is
    /// RUNNING. The runtime calls this whenever an execution of a DELETING
    /// state machine ends; returns whether the machine was deleted.
    pub(crate) async fn finish_delete_if_idle(&self, arn: &str) -> Result<bool> {
        let a = arn.to_string();
        self.with_store(move |s| {
            let Some(sm) = s.get_state_machine(&a)? else {
                return Ok(false);
            };
            if sm.status != "DELETING" {
                return Ok(false);
            }
            let running = s.list_executions(&baton_storage::ExecutionQuery {
                state_machine_arn: a.clone(),
                status: Some("RUNNING".into()),
                redriven: None,
                after_id: None,
                limit: 1,
            })?;
            if !running.is_empty() {
                return Ok(false);
            }
            Ok(s.delete_state_machine(&a)?)
        })
        .await
    }

    /// ListStateMachines: this caller's state machines ordered by ARN.
    pub async fn list_state_machines(
        &self,
        caller: &Caller,
        max_results: Option<usize>,
        next_token: Option<String>,
    ) -> Result<Page<StateMachineRecord>> {
        self.list_by_arn(
            arn::state_machine(&caller.region, &caller.account, ""),
            max_results,
            next_token,
            |s, after, limit| s.list_state_machines(after, limit),
            |r| &r.arn,
        )
        .await
    }

    /// ValidateStateMachineDefinition: problems come back as diagnostics.
    /// `severity` is the lowest severity reported (`ERROR` by default, or
    /// `WARNING`).
    pub fn validate_state_machine_definition(
        &self,
        definition: &str,
        machine_type: MachineType,
        severity: Option<&str>,
        max_results: Option<usize>,
    ) -> ValidationReport {
        let _ = severity; // Every diagnostic Baton reports is an ERROR.
        let (def, diags) = load_str_with(
            definition,
            &Options {
                express: machine_type == MachineType::Express,
            },
        );
        let max = match max_results {
            None | Some(0) => MAX_DIAGNOSTICS,
            Some(n) => n.min(MAX_DIAGNOSTICS),
        };
        let failed = def.is_none() || !diags.is_empty();
        let truncated = diags.len() > max;
        let diagnostics = diags
            .into_iter()
            .take(max)
            .map(|d| ValidationDiagnostic {
                severity: "ERROR",
                code: d.code.to_string(),
                message: d.message,
                location: (!d.location.is_empty()).then_some(d.location),
            })
            .collect();
        ValidationReport {
            result: if failed { "FAIL" } else { "OK" },
            diagnostics,
            truncated,
        }
    }

    // ----- activities ------------------------------------------------------

    /// CreateActivity: idempotent by name (tags of a repeat are ignored).
    pub async fn create_activity(
        &self,
        caller: &Caller,
        name: &str,
        tags: Vec<Tag>,
        encryption_configuration: Option<Value>,
    ) -> Result<ActivityRecord> {
        if !arn::valid_name(name) {
            return Err(Error::new(
                ErrorKind::InvalidName,
                format!("Invalid Name: '{name}'"),
            ));
        }
        if let Some(e) = &encryption_configuration {
            normalise_encryption(e)?;
        }
        check_tags(&tags)?;
        let tags = dedup_tags(tags);
        let activity_arn = arn::activity(&caller.region, &caller.account, name);
        if tags.len() > MAX_TAGS {
            return Err(too_many_tags(&activity_arn));
        }
        let record = ActivityRecord {
            arn: activity_arn,
            name: name.to_string(),
            creation_ms: self.now_ms(),
        };
        self.with_store(move |s| {
            if let Some(existing) = s.get_activity(&record.arn)? {
                return Ok(existing);
            }
            match s.create_activity(&record, &tags) {
                Ok(()) => Ok(record),
                Err(e) if e.kind == StoreErrorKind::Conflict => {
                    s.get_activity(&record.arn)?.ok_or_else(|| e.into())
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// DescribeActivity.
    pub async fn describe_activity(
        &self,
        caller: &Caller,
        activity_arn: &str,
    ) -> Result<ActivityRecord> {
        let parsed = parse_arn(activity_arn, "activity")?;
        if !belongs_to(&parsed, caller) {
            return Err(activity_does_not_exist(activity_arn));
        }
        let a = activity_arn.to_string();
        self.with_store(move |s| {
            s.get_activity(&a)?
                .ok_or_else(|| activity_does_not_exist(&a))
        })
        .await
    }

    /// DeleteActivity: deleting an activity that does not exist is not an
    /// error, as in AWS.
    pub async fn delete_activity(&self, caller: &Caller, activity_arn: &str) -> Result<()> {
        let parsed = parse_arn(activity_arn, "activity")?;
        if !belongs_to(&parsed, caller) {
            return Ok(());
        }
        if let Ok(mut known) = self.inner.runtime.shared.known_activities.write() {
            known.remove(activity_arn);
        }
        let a = activity_arn.to_string();
        self.with_store(move |s| {
            s.delete_activity(&a)?;
            Ok(())
        })
        .await
    }

    /// ListActivities: this caller's activities ordered by ARN.
    pub async fn list_activities(
        &self,
        caller: &Caller,
        max_results: Option<usize>,
        next_token: Option<String>,
    ) -> Result<Page<ActivityRecord>> {
        self.list_by_arn(
            arn::activity(&caller.region, &caller.account, ""),
            max_results,
            next_token,
            |s, after, limit| s.list_activities(after, limit),
            |r| &r.arn,
        )
        .await
    }

    // ----- tags --------------------------------------------------------------

    /// Checks that `resource_arn` names an existing state machine or
    /// activity of this caller (`ResourceNotFound` otherwise).
    async fn tagged_resource(&self, caller: &Caller, resource_arn: &str) -> Result<Tagged> {
        if !resource_arn.starts_with("arn:") {
            return Err(invalid_arn(format_args!(
                "Invalid ARN prefix: {resource_arn}"
            )));
        }
        let not_found = || {
            Error::new(
                ErrorKind::ResourceNotFound,
                format!("Resource not found: '{resource_arn}'"),
            )
        };
        let Some(parsed) = Parsed::parse(resource_arn) else {
            return Err(invalid_arn(format_args!("Invalid ARN: {resource_arn}")));
        };
        let kind = match parsed.resource_type {
            "stateMachine" => Tagged::StateMachine,
            "activity" => Tagged::Activity,
            other => {
                return Err(invalid_arn(format_args!(
                    "Resource type not valid in this context: {other}"
                )));
            }
        };
        if !belongs_to(&parsed, caller) || parsed.resource_name.contains(':') {
            return Err(not_found());
        }
        let a = resource_arn.to_string();
        let exists = match kind {
            Tagged::StateMachine => {
                self.with_store(move |s| Ok(s.get_state_machine(&a)?.is_some()))
                    .await?
            }
            Tagged::Activity => {
                self.with_store(move |s| Ok(s.get_activity(&a)?.is_some()))
                    .await?
            }
        };
        if exists { Ok(kind) } else { Err(not_found()) }
    }

    /// TagResource (state machines and activities).
    pub async fn tag_resource(
        &self,
        caller: &Caller,
        resource_arn: &str,
        tags: Vec<Tag>,
    ) -> Result<()> {
        self.tagged_resource(caller, resource_arn).await?;
        check_tags(&tags)?;
        let tags = dedup_tags(tags);
        let a = resource_arn.to_string();
        self.with_store(move |s| {
            let existing = s.tags(&a)?;
            if merged_tag_count(&existing, &tags) > MAX_TAGS {
                return Err(too_many_tags(&a));
            }
            s.tag(&a, &tags)?;
            Ok(())
        })
        .await
    }

    /// UntagResource (state machines and activities).
    pub async fn untag_resource(
        &self,
        caller: &Caller,
        resource_arn: &str,
        keys: Vec<String>,
    ) -> Result<()> {
        self.tagged_resource(caller, resource_arn).await?;
        let a = resource_arn.to_string();
        self.with_store(move |s| Ok(s.untag(&a, &keys)?)).await
    }

    /// ListTagsForResource (state machines and activities).
    pub async fn list_tags_for_resource(
        &self,
        caller: &Caller,
        resource_arn: &str,
    ) -> Result<Vec<Tag>> {
        self.tagged_resource(caller, resource_arn).await?;
        let a = resource_arn.to_string();
        self.with_store(move |s| Ok(s.tags(&a)?)).await
    }
}

/// Cuts `rows` (fetched with one extra row) to `limit`, with a token when
/// more follow.
fn paginate<T>(mut rows: Vec<T>, limit: usize, arn_of: impl Fn(&T) -> &String) -> Page<T> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_token = if more {
        rows.last().map(|r| encode_token(arn_of(r)))
    } else {
        None
    };
    Page {
        items: rows,
        next_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let u = uuid_v4();
            assert_eq!(u.len(), 36);
            assert_eq!(&u[14..15], "4", "{u}");
            assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
            assert!(seen.insert(u), "a repeated UUID");
        }
    }

    #[test]
    fn uuids_look_right() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
        assert!(matches!(u.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(u, uuid_v4());
    }

    #[test]
    fn arns_are_checked_as_aws_does() {
        assert_eq!(
            parse_arn("not_a_valid_arn", "stateMachine")
                .unwrap_err()
                .message,
            "Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'"
        );
        assert_eq!(
            parse_arn("arn:aws:states:us-east-1:1:express:m:e:u", "execution")
                .unwrap_err()
                .message,
            "Invalid Arn: 'Resource type not valid in this context: express'"
        );
        assert!(
            parse_arn(
                "arn:aws:states:us-east-1:000000000000:stateMachine:m",
                "stateMachine"
            )
            .is_ok()
        );
    }

    #[test]
    fn logging_defaults_and_errors() {
        assert_eq!(
            normalise_logging(&json!({})).unwrap(),
            json!({"includeExecutionData": false, "level": "OFF"})
        );
        assert_eq!(
            normalise_logging(&json!({"level": "ALL"}))
                .unwrap_err()
                .message,
            "Invalid Logging Configuration: Must specify exactly one Log Destination."
        );
        let dest = json!({"cloudWatchLogsLogGroup": {"logGroupArn": "arn:aws:logs:us-east-1:1:log-group:g:*"}});
        assert!(normalise_logging(&json!({"level": "ALL", "destinations": [dest]})).is_ok());
        assert!(normalise_logging(&json!({"level": "ALL", "destinations": [dest, dest]})).is_err());
    }

    #[test]
    fn config_round_trips() {
        let c = MachineConfig {
            description: Some("d".into()),
            ..MachineConfig::default()
        };
        assert_eq!(MachineConfig::parse(&c.to_text()), c);
        assert_eq!(MachineConfig::parse("garbage"), MachineConfig::default());
    }

    #[test]
    fn page_tokens() {
        let t = encode_token("arn:aws:states:r:a:stateMachine:x");
        assert_eq!(
            decode_token(&t, "arn:aws:states:r:a:stateMachine:").unwrap(),
            "arn:aws:states:r:a:stateMachine:x"
        );
        assert!(decode_token(&t, "arn:aws:states:r:a:activity:").is_err());
        assert!(decode_token("!!", "").is_err());
    }

    #[test]
    fn tags_dedup_and_count() {
        let t = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        assert_eq!(
            dedup_tags(vec![t("a", "1"), t("a", "2")]),
            vec![t("a", "2")]
        );
        assert_eq!(
            merged_tag_count(&[t("a", "1")], &[t("a", "2"), t("b", "")]),
            2
        );
        assert!(check_tags(&[t("AWS:x", "")]).is_err());
    }
}
