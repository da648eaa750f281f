//! Functions as stored, their AWS shapes (`FunctionConfiguration`), names
//! and ARNs, validation, and Lambda's errors.

use std::path::Path;

use baton_asl::time::UtcParts;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::{Scope, ServiceError};

/// The store kind of functions; key `<account>/<region>/<name>`.
pub(crate) const FUNCTION_KIND: &str = "lambda-function";

/// Timeout when PutFunction names none (serverless's default; AWS's is 3).
pub(crate) const DEFAULT_TIMEOUT: u64 = 6;
/// MemorySize when PutFunction names none (serverless's default is 1024,
/// AWS's 128).
pub(crate) const DEFAULT_MEMORY: u64 = 1024;

/// The largest synchronous payload, request or response (6 MB).
pub(crate) const MAX_SYNC_PAYLOAD: usize = 6 * 1024 * 1024;
/// The largest asynchronous (`Event`) payload (256 KB).
pub(crate) const MAX_ASYNC_PAYLOAD: usize = 256 * 1024;

/// The reserved environment variables a function may not set.
const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// A function as kept in the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FunctionRecord {
    pub name: String,
    pub account: String,
    pub region: String,
    pub runtime: String,
    pub handler: String,
    /// The absolute folder the handler is loaded from (`LAMBDA_TASK_ROOT`).
    pub code_dir: String,
    pub environment: Map<String, Value>,
    /// Seconds.
    pub timeout: u64,
    /// MB.
    pub memory: u64,
    pub description: String,
    pub role: String,
    pub last_modified_ms: i64,
    pub revision_id: String,
    pub code_sha256: String,
    pub code_size: u64,
}

impl FunctionRecord {
    pub fn scope(&self) -> Scope {
        Scope::new(&self.account, &self.region)
    }

    pub fn arn(&self) -> String {
        function_arn(&self.scope(), &self.name)
    }

    pub fn key(&self) -> String {
        function_key(&self.scope(), &self.name)
    }

    /// The `FunctionConfiguration` shape.
    pub fn configuration(&self) -> Value {
        let mut v = json!({
            "FunctionName": self.name,
            "FunctionArn": self.arn(),
            "Runtime": self.runtime,
            "Role": self.role,
            "Handler": self.handler,
            "CodeSize": self.code_size,
            "Description": self.description,
            "Timeout": self.timeout,
            "MemorySize": self.memory,
            "LastModified": format_last_modified(self.last_modified_ms),
            "CodeSha256": self.code_sha256,
            "Version": "$LATEST",
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": self.revision_id,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": [std::env::consts::ARCH.replace("aarch64", "arm64")],
            "EphemeralStorage": {"Size": 512},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", self.name)},
        });
        if !self.environment.is_empty()
            && let Some(o) = v.as_object_mut()
        {
            o.insert(
                "Environment".into(),
                json!({"Variables": Value::Object(self.environment.clone())}),
            );
        }
        v
    }

    /// GetFunction's output.
    pub fn get_function_output(&self) -> Value {
        json!({
            "Configuration": self.configuration(),
            "Code": {
                "RepositoryType": "Local",
                "Location": format!("file://{}", self.code_dir),
            },
        })
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>`.
pub(crate) fn function_arn(scope: &Scope, name: &str) -> String {
    format!(
        "arn:{}:lambda:{}:{}:function:{name}",
        scope.partition(),
        scope.region,
        scope.account
    )
}

pub(crate) fn function_key(scope: &Scope, name: &str) -> String {
    format!("{}/{}/{name}", scope.account, scope.region)
}

/// A function named by a name, partial ARN or ARN, with an optional
/// qualifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunctionRef {
    pub scope: Scope,
    pub name: String,
    pub qualifier: Option<String>,
}

impl FunctionRef {
    /// The ARN as Lambda's "not found" message shows it (qualified when a
    /// qualifier was given).
    pub fn arn(&self) -> String {
        let base = function_arn(&self.scope, &self.name);
        match &self.qualifier {
            Some(q) => format!("{base}:{q}"),
            None => base,
        }
    }

    pub fn key(&self) -> String {
        function_key(&self.scope, &self.name)
    }

    pub fn not_found(&self) -> ServiceError {
        not_found(format!("Function not found: {}", self.arn()))
    }

    /// Invoke's not-found error names the version it looked for
    /// (`...:function:f:$LATEST` when none was given), as AWS's does.
    pub fn invoke_not_found(&self) -> ServiceError {
        let arn = match &self.qualifier {
            Some(_) => self.arn(),
            None => format!("{}:$LATEST", self.arn()),
        };
        not_found(format!("Function not found: {arn}"))
    }
}

fn valid_function_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn valid_qualifier(s: &str) -> bool {
    s == "$LATEST"
        || (!s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

const FUNCTION_NAME_PATTERN: &str = "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?(-iso([a-z])?)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?";

/// Parses a FunctionName member (name, `name:qualifier`,
/// `account:function:name[:qualifier]`, or a full ARN) in `scope`.
pub(crate) fn parse_function_ref(
    scope: &Scope,
    s: &str,
    member: &str,
) -> Result<FunctionRef, ServiceError> {
    let bad = || {
        validation(format!(
            "1 validation error detected: Value '{s}' at '{member}' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: {FUNCTION_NAME_PATTERN}"
        ))
    };
    if s.is_empty() || s.len() > 170 {
        return Err(if s.is_empty() {
            validation(format!(
                "1 validation error detected: Value '{s}' at '{member}' failed to satisfy \
                 constraint: Member must have length greater than or equal to 1"
            ))
        } else {
            bad()
        });
    }
    let parts: Vec<&str> = s.split(':').collect();
    let (account, region, name, qualifier) = match parts.as_slice() {
        [name] => (None, None, *name, None),
        [name, q] => (None, None, *name, Some(*q)),
        [acct, "function", name] => (Some(*acct), None, *name, None),
        [acct, "function", name, q] => (Some(*acct), None, *name, Some(*q)),
        ["arn", _partition, "lambda", region, acct, "function", name] => {
            (Some(*acct), Some(*region), *name, None)
        }
        [
            "arn",
            _partition,
            "lambda",
            region,
            acct,
            "function",
            name,
            q,
        ] => (Some(*acct), Some(*region), *name, Some(*q)),
        _ => return Err(bad()),
    };
    if let Some(a) = account
        && !(a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad());
    }
    if let Some(r) = region
        && (r.is_empty()
            || !r
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    {
        return Err(bad());
    }
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(bad());
    }
    if let Some(q) = qualifier
        && !valid_qualifier(q)
    {
        return Err(bad());
    }
    Ok(FunctionRef {
        scope: Scope::new(
            account.unwrap_or(&scope.account),
            region.unwrap_or(&scope.region),
        ),
        name: name.to_string(),
        qualifier: qualifier.map(str::to_string),
    })
}

/// The qualifier of a request: only `$LATEST` exists in Baton (no
/// published versions or aliases).
pub(crate) fn check_qualifier(
    mut r: FunctionRef,
    qualifier: Option<&str>,
) -> Result<FunctionRef, ServiceError> {
    if let Some(q) = qualifier {
        if !valid_qualifier(q) {
            return Err(validation(format!(
                "1 validation error detected: Value '{q}' at 'qualifier' failed to satisfy \
                 constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)"
            )));
        }
        match &r.qualifier {
            Some(existing) if existing != q => {
                return Err(invalid(
                    "The derived qualifier from the function name does not match the specified qualifier.",
                ));
            }
            _ => r.qualifier = Some(q.to_string()),
        }
    }
    if let Some(q) = &r.qualifier
        && q != "$LATEST"
    {
        return Err(r.not_found());
    }
    Ok(r)
}

/// What PutFunction asks for, validated.
#[derive(Debug, Clone)]
pub(crate) struct PutFunction {
    pub name: String,
    pub runtime: String,
    pub handler: String,
    pub code_dir: String,
    pub environment: Map<String, Value>,
    pub timeout: u64,
    pub memory: u64,
    pub description: String,
    pub role: Option<String>,
}

/// The runtimes Baton runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RuntimeFamily {
    /// `nodejs`..`nodejs16.x`: the runtime provides aws-sdk v2.
    NodeSdkV2,
    /// `nodejs18.x` and newer: the runtime provides the SDK v3 clients.
    NodeSdkV3,
    Python,
    /// `provided`, `provided.al2`, `provided.al2023`: an executable
    /// `bootstrap` speaking the Runtime API.
    Provided,
}

/// The family of a runtime name, or `None` when Baton cannot run it.
pub(crate) fn runtime_family(runtime: &str) -> Option<RuntimeFamily> {
    if let Some(rest) = runtime.strip_prefix("nodejs") {
        if rest.is_empty() {
            return Some(RuntimeFamily::NodeSdkV2);
        }
        let major: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let major: u32 = major.parse().ok()?;
        let tail = &rest[major.to_string().len()..];
        if !(tail.is_empty() || tail == ".x" || tail.starts_with('.')) {
            return None;
        }
        return Some(if major <= 16 {
            RuntimeFamily::NodeSdkV2
        } else {
            RuntimeFamily::NodeSdkV3
        });
    }
    if let Some(rest) = runtime.strip_prefix("python") {
        let ok = rest.is_empty()
            || (rest.starts_with('3') && rest.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
        return ok.then_some(RuntimeFamily::Python);
    }
    if matches!(runtime, "provided" | "provided.al2" | "provided.al2023") {
        return Some(RuntimeFamily::Provided);
    }
    None
}

fn member_str<'a>(input: &'a Value, name: &str) -> Result<Option<&'a str>, ServiceError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

/// An integer member, also accepted as a numeric string.
pub(crate) fn member_u64(input: &Value, name: &str) -> Result<Option<u64>, ServiceError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(format!("{name} must be a non-negative integer"))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| invalid(format!("{name} must be a non-negative integer"))),
        Some(_) => Err(invalid(format!("{name} must be a non-negative integer"))),
    }
}

/// Validates PutFunction's input.
pub(crate) fn parse_put_function(input: &Value) -> Result<PutFunction, ServiceError> {
    if !input.is_object() {
        return Err(invalid("The request body must be a JSON object"));
    }
    let name =
        member_str(input, "FunctionName")?.ok_or_else(|| invalid("FunctionName is required"))?;
    if !valid_function_name(name) {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'functionName' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and \
             have length less than or equal to 64"
        )));
    }
    let runtime = member_str(input, "Runtime")?.ok_or_else(|| invalid("Runtime is required"))?;
    if runtime_family(runtime).is_none() {
        return Err(invalid(format!(
            "Runtime {runtime} is not supported by Baton: use nodejs* (e.g. nodejs20.x), \
             python3* (e.g. python3.12) or provided.al2023"
        )));
    }
    let handler = match member_str(input, "Handler")? {
        Some(h) => h,
        None if runtime.starts_with("provided") => "bootstrap",
        None => return Err(invalid("Handler is required")),
    };
    if handler.is_empty() || handler.len() > 128 || handler.chars().any(char::is_whitespace) {
        return Err(validation(format!(
            "1 validation error detected: Value '{handler}' at 'handler' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: [^\\s]+"
        )));
    }
    let code_dir = member_str(input, "CodeDirectory")?.ok_or_else(|| {
        invalid("CodeDirectory is required (an absolute folder on Baton's machine)")
    })?;
    let path = Path::new(code_dir);
    if !path.is_absolute() {
        return Err(invalid(format!(
            "CodeDirectory must be an absolute path, got {code_dir:?}"
        )));
    }
    if !path.is_dir() {
        return Err(invalid(format!(
            "CodeDirectory {code_dir} is not a folder on Baton's machine"
        )));
    }
    let mut environment = Map::new();
    match input.get("Environment") {
        None | Some(Value::Null) => {}
        Some(Value::Object(env)) => match env.get("Variables") {
            None | Some(Value::Null) => {}
            Some(Value::Object(vars)) => {
                let mut reserved = Vec::new();
                for (k, v) in vars {
                    let key_ok = k.len() >= 2
                        && k.as_bytes()[0].is_ascii_alphabetic()
                        && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                    if !key_ok {
                        return Err(validation(format!(
                            "1 validation error detected: Value at 'environment.variables' \
                             failed to satisfy constraint: Map keys must satisfy constraint: \
                             [Member must satisfy regular expression pattern: \
                             [a-zA-Z]([a-zA-Z0-9_])+] (key {k:?})"
                        )));
                    }
                    if RESERVED_ENV.contains(&k.as_str()) {
                        reserved.push(k.clone());
                    }
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => {
                            return Err(invalid(format!(
                                "Environment variable {k} must be a string"
                            )));
                        }
                    };
                    environment.insert(k.clone(), Value::String(text));
                }
                if !reserved.is_empty() {
                    return Err(invalid(format!(
                        "Lambda was unable to configure your environment variables because the \
                         environment variables you have provided contains reserved keys that are \
                         currently not supported for modification. Reserved keys used in this \
                         request: {}",
                        reserved.join(", ")
                    )));
                }
            }
            Some(_) => return Err(invalid("Environment.Variables must be an object")),
        },
        Some(_) => return Err(invalid("Environment must be an object")),
    }
    let timeout = member_u64(input, "Timeout")?.unwrap_or(DEFAULT_TIMEOUT);
    check_range(timeout, 1, 900, "timeout")?;
    let memory = member_u64(input, "MemorySize")?.unwrap_or(DEFAULT_MEMORY);
    check_range(memory, 128, 10240, "memorySize")?;
    let description = member_str(input, "Description")?.unwrap_or("");
    if description.chars().count() > 256 {
        return Err(validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: \
             Member must have length less than or equal to 256",
        ));
    }
    let role = member_str(input, "Role")?.map(str::to_string);
    Ok(PutFunction {
        name: name.to_string(),
        runtime: runtime.to_string(),
        handler: handler.to_string(),
        code_dir: code_dir.to_string(),
        environment,
        timeout,
        memory,
        description: description.to_string(),
        role,
    })
}

/// CodeSha256 and CodeSize of a folder: a digest of every file's relative
/// path, size and modification time (the content of a large `node_modules`
/// is not read), and the total size.
pub(crate) fn digest_folder(dir: &Path) -> (String, u64) {
    use base64::Engine as _;
    const MAX_FILES: usize = 200_000;
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let mut files = 0usize;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = rd.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let Ok(meta) = e.metadata() else { continue };
            let p = e.path();
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                files += 1;
                if files > MAX_FILES {
                    break;
                }
                total += meta.len();
                let rel = p.strip_prefix(dir).unwrap_or(&p);
                hasher.update(rel.to_string_lossy().as_bytes());
                hasher.update(meta.len().to_le_bytes());
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                hasher.update(mtime.to_le_bytes());
            }
        }
    }
    (
        base64::engine::general_purpose::STANDARD.encode(hasher.finalize()),
        total,
    )
}

// ----- time ------------------------------------------------------------------

/// Now, in epoch milliseconds.
pub(crate) use baton_engine::runtime::wall_clock_ms as now_ms;

/// Lambda's `LastModified`: `2024-01-31T12:34:56.789+0000`.
pub(crate) fn format_last_modified(ms: i64) -> String {
    let t = UtcParts::from_millis(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.milli
    )
}

/// `2024/01/31`, the date part of a log stream name.
pub(crate) fn format_day(ms: i64) -> String {
    let t = UtcParts::from_millis(ms);
    format!("{:04}/{:02}/{:02}", t.year, t.month, t.day)
}

// ----- errors ----------------------------------------------------------------

pub(crate) fn not_found(message: impl Into<String>) -> ServiceError {
    ServiceError::client("ResourceNotFoundException", message).with_status(404)
}

pub(crate) fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::client("InvalidParameterValueException", message)
}

/// AWS's validation error for a number outside `lo..=hi`.
pub(crate) fn check_range(value: u64, lo: u64, hi: u64, member: &str) -> Result<(), ServiceError> {
    if (lo..=hi).contains(&value) {
        return Ok(());
    }
    let bound = if value < lo {
        format!("greater than or equal to {lo}")
    } else {
        format!("less than or equal to {hi}")
    };
    Err(validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy \
         constraint: Member must have value {bound}"
    )))
}

pub(crate) fn validation(message: impl Into<String>) -> ServiceError {
    ServiceError::client("ValidationException", message)
}

pub(crate) fn conflict(message: impl Into<String>) -> ServiceError {
    ServiceError::client("ResourceConflictException", message).with_status(409)
}

/// Every worker of the function is busy (AWS: the concurrency limit).
pub(crate) fn too_many_requests() -> ServiceError {
    ServiceError::client("TooManyRequestsException", "Rate Exceeded.").with_status(429)
}

/// A failure on Baton's side (AWS's `ServiceException`, 500).
pub(crate) fn service_exception(message: impl Into<String>) -> ServiceError {
    let mut e = ServiceError::internal(message);
    e.code = "ServiceException".into();
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_refs() {
        let s = Scope::new("000000000000", "us-east-1");
        let r = parse_function_ref(&s, "f", "functionName").unwrap();
        assert_eq!(r.arn(), "arn:aws:lambda:us-east-1:000000000000:function:f");
        let r = parse_function_ref(&s, "f:$LATEST", "functionName").unwrap();
        assert_eq!(r.qualifier.as_deref(), Some("$LATEST"));
        let r = parse_function_ref(&s, "123456789012:function:g", "functionName").unwrap();
        assert_eq!(r.scope, Scope::new("123456789012", "us-east-1"));
        let r = parse_function_ref(
            &s,
            "arn:aws:lambda:eu-west-1:123456789012:function:h:$LATEST",
            "functionName",
        )
        .unwrap();
        assert_eq!(r.scope, Scope::new("123456789012", "eu-west-1"));
        assert_eq!(r.name, "h");
        for bad in [
            "",
            "a b",
            "x:y:z",
            "arn:aws:sqs:r:123456789012:function:f",
            "a:b:c:d:e",
        ] {
            assert!(
                parse_function_ref(&s, bad, "functionName").is_err(),
                "{bad}"
            );
        }
        let e = check_qualifier(parse_function_ref(&s, "f:3", "functionName").unwrap(), None)
            .unwrap_err();
        assert_eq!(e.code, "ResourceNotFoundException");
        assert!(e.message.ends_with("function:f:3"), "{}", e.message);
    }

    #[test]
    fn runtimes() {
        assert_eq!(runtime_family("nodejs12.x"), Some(RuntimeFamily::NodeSdkV2));
        assert_eq!(runtime_family("nodejs16.x"), Some(RuntimeFamily::NodeSdkV2));
        assert_eq!(runtime_family("nodejs20.x"), Some(RuntimeFamily::NodeSdkV3));
        assert_eq!(runtime_family("python3.12"), Some(RuntimeFamily::Python));
        assert_eq!(
            runtime_family("provided.al2023"),
            Some(RuntimeFamily::Provided)
        );
        assert_eq!(runtime_family("java17"), None);
        assert_eq!(runtime_family("nodejsx"), None);
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            format_last_modified(1_700_000_000_123),
            "2023-11-14T22:13:20.123+0000"
        );
        assert_eq!(format_day(1_700_000_000_123), "2023/11/14");
    }
}
