//! LocalStack's snapshot normalisation, replayed on our responses so they can
//! be compared with the AWS-recorded snapshots.
//!
//! Mirrors `localstack_snapshot` (`SnapshotSession._transform`) with the
//! transformers the Step Functions tests register, in their order:
//!
//! 1. keys sorted recursively (`_order_dict`), then every dict value that is a
//!    string starting with `{` and parses as JSON replaced by the parsed value
//!    (`_transform_dict_to_parseable_values`);
//! 2. priority-0 transformers: `stepfunctions_api()` (SdkHttpMetadata dates,
//!    `cause` JSON → `<json-input:N>`), then the test's own: role ARN →
//!    `snf_role_arn`, request ids, state machine name → `<ArnPart_0idx>`,
//!    execution names → `<ExecArnPart_<i>idx>`, map run ARNs, extras, and
//!    `SfnNoneRecursiveParallelTransformer` when the test uses it;
//! 3. priority-2 transformers: account, region, partition, ResponseMetadata,
//!    `<uuid:N>` for `*id` keys, ISO-8601 → `date`, datetimes → `datetime`,
//!    `*timestamp*` keys → `timestamp`;
//! 4. the test's `skip_snapshot_verify` paths deleted;
//! 5. the text replacements registered above applied, in registration order, to
//!    Python's `json.dumps` text of each top-level value.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{jsonpath, pyjson};

/// One registered text replacement.
#[derive(Debug, Clone)]
enum Replacement {
    /// `str.replace` (reference replacements, literal regexes).
    Literal { from: String, to: String },
    /// `Extended Request ID: [a-zA-Z0-9-/=+]+`.
    ExtendedRequestId,
    /// `Request ID: [a-zA-Z0-9-]+`.
    RequestId,
    /// `PATTERN_ISO8601` → `date`.
    Iso8601,
}

impl Replacement {
    fn apply(&self, s: &str) -> String {
        match self {
            Replacement::Literal { from, to } => {
                if from.is_empty() {
                    s.to_string()
                } else {
                    s.replace(from.as_str(), to)
                }
            }
            Replacement::ExtendedRequestId => replace_prefixed_run(
                s,
                "Extended Request ID: ",
                |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '/' | '=' | '+'),
                "Extended Request ID: <extended_request_id>",
            ),
            Replacement::RequestId => replace_prefixed_run(
                s,
                "Request ID: ",
                |c| c.is_ascii_alphanumeric() || c == '-',
                "Request ID: <request_id>",
            ),
            Replacement::Iso8601 => replace_iso8601(s, "date"),
        }
    }
}

/// `re.sub(prefix + "[class]+", to, s)`.
fn replace_prefixed_run(s: &str, prefix: &str, class: impl Fn(char) -> bool, to: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find(prefix) {
        let after = &rest[pos + prefix.len()..];
        let run: usize = after
            .chars()
            .take_while(|c| class(*c))
            .map(char::len_utf8)
            .sum();
        if run == 0 {
            out.push_str(&rest[..pos + 1]);
            rest = &rest[pos + 1..];
            continue;
        }
        out.push_str(&rest[..pos]);
        out.push_str(to);
        rest = &after[run..];
    }
    out.push_str(rest);
    out
}

/// The transform context: registered replacements and reference counters.
#[derive(Debug, Default)]
struct Ctx {
    replacements: Vec<Replacement>,
    scoped: HashMap<String, usize>,
    cache: HashSet<String>,
}

impl Ctx {
    fn literal(&mut self, from: &str, to: &str) {
        self.replacements.push(Replacement::Literal {
            from: from.into(),
            to: to.into(),
        });
    }

    /// `_register_serialized_reference_replacement`.
    fn reference(&mut self, value: &str, name: &str) {
        let value = value.replace('"', "\\\"");
        if self.cache.contains(&value) {
            return;
        }
        let counter = self.scoped.entry(name.to_string()).or_insert(1);
        let n = *counter;
        *counter += 1;
        self.cache.insert(value.clone());
        self.replacements.push(Replacement::Literal {
            from: value,
            to: format!("<{name}:{n}>"),
        });
    }
}

/// A test-specific extra transformer (from the substitutions table).
#[derive(Debug, Clone)]
pub enum Extra {
    /// `RegexTransformer(literal, replacement)`.
    Literal { from: String, to: String },
    /// `RegexTransformer(<value found at jsonpath in the raw response>, to)`;
    /// a JSON string found at the path is parsed first when `parse` is set and
    /// `field` picked from it.
    ValueAt {
        path: String,
        field: Option<String>,
        to: String,
    },
    /// `key_value(key, replacement)`: reference replacement of every value of `key`.
    KeyValue { key: String, to: String },
    /// `KeyValueBasedTransformer(_resource_name_transformer, to)` (part of
    /// `sqs_api()`, `sns_api()`, `lambda_api()`): the name in every ARN value.
    ResourceName { to: String },
    /// `JsonpathTransformer(path, to, replace_reference=False)`: every match
    /// set to `to` in place.
    JsonPathSet { path: String, to: Value },
    /// `JsonpathTransformer(path, to)` (reference replacement): every string
    /// matched becomes `<to:N>` wherever it appears.
    JsonPathRef { path: String, to: String },
}

/// What the normaliser needs to know about one recorded test.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The role ARN our executions ran with, and what the test mapped it to.
    pub role_arn: String,
    pub role_replacement: String,
    /// State machine name (→ `<ArnPart_0idx>`).
    pub state_machine_name: Option<String>,
    /// Execution names and what they become (`<ExecArnPart_<i>idx>` for
    /// `sfn_sm_exec_arn(exec, i)`).
    pub execution_names: Vec<(String, String)>,
    pub account: String,
    pub region: String,
    /// Partition as it appears in `arn:<partition>:`.
    pub partition: String,
    /// Whether the test registered `SfnNoneRecursiveParallelTransformer`.
    pub parallel: bool,
    /// Collect `$..mapRunArn` values (as `launch_and_record_execution` does).
    pub map_runs: bool,
    /// The test's own transformers, registered before `create_and_record_execution`
    /// (so before the role ARN and the state machine/execution ARN transformers).
    pub extras: Vec<Extra>,
    /// Transformers the test registers after the execution ran.
    pub late_extras: Vec<Extra>,
    pub skip_paths: Vec<String>,
}

/// Normalises `observed` (match key → raw response, event timestamps as
/// epoch-millisecond numbers under `timestamp` inside `events` arrays) exactly
/// as the snapshot library does. Returns the normalised state, or an error if
/// the replaced text no longer parses (the library then records `{}`).
pub fn normalise(
    observed: &Map<String, Value>,
    setup: &Setup,
) -> Result<Map<String, Value>, String> {
    let mut tmp = Map::new();
    for (k, v) in observed {
        tmp.insert(k.clone(), order_dict(v));
    }
    parse_json_strings(&mut tmp);
    // Event timestamps become Python datetimes, whose isoformat shows in the
    // Parallel sort key; they are replaced by `datetime` at priority 2.
    let mut ts = Map::new();
    for v in tmp.values_mut() {
        timestamps_to_iso(v, &mut ts);
        response_dates_to_iso(v, &mut ts);
    }

    let mut ctx = Ctx::default();

    // Priority 0: stepfunctions_api().
    for path in [
        ["SdkHttpMetadata", "AllHttpHeaders", "Date"],
        ["SdkHttpMetadata", "AllHttpHeaders", "X-Amzn-Trace-Id"],
        ["SdkHttpMetadata", "HttpHeaders", "Date"],
        ["SdkHttpMetadata", "HttpHeaders", "X-Amzn-Trace-Id"],
    ] {
        let repl = if path[2] == "Date" {
            "date"
        } else {
            "X-Amzn-Trace-Id"
        };
        for v in tmp.values_mut() {
            set_descendant_path(v, &path, repl);
        }
    }
    key_value_map(
        &mut tmp,
        &mut |k, v| cause_json_input(k, v),
        &mut |ctx_v: &str, c: &mut Ctx| c.reference(ctx_v, "json-input"),
        &mut ctx,
    );

    // Priority 0: the test's transformers, then `create_and_record_execution`'s.
    register_extras(&setup.extras, observed, &mut tmp, &mut ctx);
    ctx.literal(&setup.role_arn, &setup.role_replacement);
    ctx.replacements.push(Replacement::ExtendedRequestId);
    ctx.replacements.push(Replacement::RequestId);
    if let Some(name) = &setup.state_machine_name {
        ctx.literal(name, "<ArnPart_0idx>");
    }
    for (name, to) in &setup.execution_names {
        ctx.literal(name, to);
    }
    if setup.map_runs {
        let mut arns = Vec::new();
        for v in observed.values() {
            collect_key_strings(v, "mapRunArn", &mut arns);
        }
        let mut seen = HashSet::new();
        let mut i = 0;
        for arn in arns {
            if !seen.insert(arn.clone()) {
                continue;
            }
            let last = arn.rsplit('/').next().unwrap_or("");
            let parts: Vec<&str> = last.split(':').collect();
            if let Some(p1) = parts.get(1) {
                ctx.literal(p1, &format!("<MapRunArnPart1_{i}idx>"));
            }
            if let Some(p0) = parts.first()
                && starts_with_uuid(p0)
            {
                ctx.literal(p0, &format!("<MapRunArnPart0_{i}idx>"));
            }
            i += 1;
        }
    }
    register_extras(&setup.late_extras, observed, &mut tmp, &mut ctx);
    if setup.parallel {
        for v in tmp.values_mut() {
            parallel_transform(v);
        }
    }

    // Priority 2.
    ctx.literal(&setup.account, "111111111111");
    ctx.literal(&setup.region, "<region>");
    ctx.literal(&format!("arn:{}:", setup.partition), "arn:<partition>:");
    for (k, v) in tmp.iter_mut() {
        if k == "ResponseMetadata" {
            *v = simplify_response_metadata(v);
        } else if let Value::Object(m) = v {
            response_metadata(m);
        }
    }
    key_value_map(
        &mut tmp,
        &mut |k, v| match v {
            Value::String(s) if k.to_lowercase().ends_with("id") && starts_with_uuid(s) => {
                Some(s.clone())
            }
            _ => None,
        },
        &mut |val: &str, c: &mut Ctx| c.reference(val, "uuid"),
        &mut ctx,
    );
    ctx.replacements.push(Replacement::Iso8601);
    for v in tmp.values_mut() {
        datetimes_to_placeholder(v, &ts);
        if let Value::Object(m) = v {
            for k in RESPONSE_DATE_KEYS {
                if let Some(slot) = m.get_mut(k)
                    && slot.as_str().is_some_and(|s| ts.contains_key(s))
                {
                    *slot = Value::String("datetime".into());
                }
            }
        }
    }
    timestamp_keys(&mut tmp);

    // Skip paths, then the text replacements.
    for path in &setup.skip_paths {
        for v in tmp.values_mut() {
            jsonpath::delete(v, path);
        }
    }
    let mut out = Map::new();
    for (k, v) in tmp {
        let mut text = pyjson::dumps(&v);
        for r in &ctx.replacements {
            text = r.apply(&text);
        }
        let parsed: Value = serde_json::from_str(&text)
            .map_err(|e| format!("normalised `{k}` is no longer JSON ({e})"))?;
        out.insert(k, parsed);
    }
    Ok(out)
}

/// Registers (or applies, for in-place transformers) the test's extra
/// transformers in their order.
fn register_extras(
    extras: &[Extra],
    observed: &Map<String, Value>,
    tmp: &mut Map<String, Value>,
    ctx: &mut Ctx,
) {
    for extra in extras {
        match extra {
            Extra::Literal { from, to } => ctx.literal(from, to),
            Extra::ValueAt { path, field, to } => {
                for v in observed.values() {
                    let mut found = Vec::new();
                    jsonpath::find(v, path, &mut found);
                    for f in found {
                        let f = match (field, &f) {
                            (Some(field), Value::String(s)) => serde_json::from_str::<Value>(s)
                                .ok()
                                .and_then(|p| p.get(field).cloned())
                                .unwrap_or(Value::Null),
                            (Some(field), other) => {
                                other.get(field).cloned().unwrap_or(Value::Null)
                            }
                            (None, other) => other.clone(),
                        };
                        if let Value::String(s) = f {
                            ctx.literal(&s, to);
                        }
                    }
                }
            }
            Extra::ResourceName { to } => key_value_map(
                tmp,
                &mut |_, v| v.as_str().and_then(resource_name),
                &mut |val: &str, c: &mut Ctx| c.reference(val, to),
                ctx,
            ),
            Extra::JsonPathRef { path, to } => {
                for v in tmp.values() {
                    let mut found = Vec::new();
                    jsonpath::find(v, path, &mut found);
                    for f in found {
                        if let Value::String(s) = f {
                            ctx.reference(&s, to);
                        }
                    }
                }
            }
            Extra::JsonPathSet { path, to } => {
                for v in tmp.values_mut() {
                    jsonpath::set(v, path, to);
                }
            }
            Extra::KeyValue { key, to } => {
                let key = key.clone();
                key_value_map(
                    tmp,
                    &mut |k, v| match v {
                        Value::String(s) if k == key && !s.is_empty() => Some(s.clone()),
                        _ => None,
                    },
                    &mut |val: &str, c: &mut Ctx| c.reference(val, to),
                    ctx,
                );
            }
        }
    }
}

/// `_resource_name_transformer`: the resource name of an ARN value
/// (`PATTERN_ARN` matched at the start), `None` when the value is no ARN or
/// was already replaced (`<...>`).
pub fn resource_name(val: &str) -> Option<String> {
    let line = val.split('\n').next().unwrap_or("");
    let b = line.as_bytes();
    let mut p = "arn:".len();
    if !line.starts_with("arn:") {
        return None;
    }
    // (aws[a-zA-Z-]*)?:
    if line[p..].starts_with("aws") {
        let mut q = p + 3;
        while q < b.len() && (b[q].is_ascii_alphabetic() || b[q] == b'-') {
            q += 1;
        }
        if b.get(q) != Some(&b':') {
            return None;
        }
        p = q + 1;
    } else if b.get(p) == Some(&b':') {
        p += 1;
    } else {
        return None;
    }
    // ([a-zA-Z0-9-_.]+)?:
    while p < b.len() && (b[p].is_ascii_alphanumeric() || matches!(b[p], b'-' | b'_' | b'.')) {
        p += 1;
    }
    if b.get(p) != Some(&b':') {
        return None;
    }
    p += 1;
    // ([^:]+)?:  (`[^:]` also matches a newline, but the value ends at the
    // first line for `(.*)` anyway, so a region spanning lines cannot match)
    while p < b.len() && b[p] != b':' {
        p += 1;
    }
    if b.get(p) != Some(&b':') {
        return None;
    }
    p += 1;
    // (\d{12})?:
    if b.len() >= p + 13 && b[p..p + 12].iter().all(u8::is_ascii_digit) && b[p + 12] == b':' {
        p += 13;
    } else if b.get(p) == Some(&b':') {
        p += 1;
    } else {
        return None;
    }
    let res = &line[p..];
    if res.starts_with('<') && res.ends_with('>') {
        return None;
    }
    if val.contains(":changeSet/") {
        return val.rsplit(":changeSet/").next().map(str::to_string);
    }
    if res.contains('/') {
        return res.rsplit('/').next().map(str::to_string);
    }
    if let Some(f) = res.strip_prefix("function:") {
        let f = if f.contains('$') {
            f.split('$').next().unwrap_or("").trim_end_matches(':')
        } else {
            f
        };
        return Some(f.to_string());
    }
    if let Some(l) = res.strip_prefix("layer:") {
        let parts: Vec<&str> = l.split(':').collect();
        if parts.len() <= 2 {
            return parts.first().map(|s| s.to_string());
        }
    }
    if res.contains(':') {
        return res.rsplit(':').next().map(str::to_string);
    }
    Some(res.to_string())
}

/// Deletes the skip paths from a recorded snapshot entry.
pub fn delete_skip_paths(recorded: &mut Map<String, Value>, skip_paths: &[String]) {
    for path in skip_paths {
        for v in recorded.values_mut() {
            jsonpath::delete(v, path);
        }
    }
}

/// `_order_dict`: keys sorted recursively (also in dicts inside lists),
/// `ResponseMetadata` last.
pub fn order_dict(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| py_str_cmp(a, b));
            let mut out = Map::new();
            for k in keys {
                if let Some(val) = m.get(k) {
                    let val = match val {
                        Value::Object(_) => order_dict(val),
                        Value::Array(items) => Value::Array(items.iter().map(order_dict).collect()),
                        other => other.clone(),
                    };
                    out.insert(k.clone(), val);
                }
            }
            if let Some(rm) = out.shift_remove("ResponseMetadata") {
                out.insert("ResponseMetadata".into(), rm);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Python compares `str` by code point; Rust's `str` ordering (UTF-8 bytes) is
/// the same order.
fn py_str_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    a.cmp(b)
}

/// `_transform_dict_to_parseable_values`.
pub fn parse_json_strings(m: &mut Map<String, Value>) {
    for (_, v) in m.iter_mut() {
        match v {
            Value::Array(items) => {
                for item in items.iter_mut() {
                    if let Value::Object(im) = item {
                        parse_json_strings(im);
                    }
                }
            }
            Value::Object(inner) => parse_json_strings(inner),
            _ => {}
        }
        if let Value::String(s) = v
            && s.starts_with('{')
            && let Ok(parsed) = serde_json::from_str::<Value>(s)
        {
            *v = parsed;
        }
    }
}

/// Replaces `events[*].timestamp` numbers (epoch ms) by their Python
/// `datetime.isoformat()` text, remembering which strings are datetimes.
fn timestamps_to_iso(v: &mut Value, seen: &mut Map<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if k == "events"
                    && let Value::Array(events) = val
                {
                    for e in events.iter_mut() {
                        if let Some(Value::Number(n)) = e.get("timestamp") {
                            let ms = n.as_f64().map(|f| f.round() as i64).unwrap_or(0);
                            let iso = python_isoformat(ms);
                            seen.insert(iso.clone(), Value::Null);
                            if let Some(slot) = e.get_mut("timestamp") {
                                *slot = Value::String(iso);
                            }
                        }
                    }
                }
                timestamps_to_iso(val, seen);
            }
        }
        Value::Array(items) => {
            for i in items {
                timestamps_to_iso(i, seen);
            }
        }
        _ => {}
    }
}

/// Date fields of our API responses (epoch milliseconds in `observed`;
/// botocore parses them into datetimes).
const RESPONSE_DATE_KEYS: [&str; 2] = ["startDate", "stopDate"];

/// Top-level response dates (epoch ms) → Python `isoformat()` text,
/// remembered as datetimes.
fn response_dates_to_iso(v: &mut Value, seen: &mut Map<String, Value>) {
    let Value::Object(m) = v else { return };
    for k in RESPONSE_DATE_KEYS {
        if let Some(slot) = m.get_mut(k)
            && let Some(ms) = slot.as_f64()
        {
            let iso = python_isoformat(ms.round() as i64);
            seen.insert(iso.clone(), Value::Null);
            *slot = Value::String(iso);
        }
    }
}

/// The datetime `KeyValueBasedTransformer`: our datetimes (event timestamps)
/// become `datetime`.
fn datetimes_to_placeholder(v: &mut Value, ts: &Map<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if k == "events"
                    && let Value::Array(events) = val
                {
                    for e in events.iter_mut() {
                        if let Some(slot) = e.get_mut("timestamp")
                            && let Value::String(s) = slot
                            && ts.contains_key(s.as_str())
                        {
                            *slot = Value::String("datetime".into());
                        }
                    }
                }
                datetimes_to_placeholder(val, ts);
            }
        }
        Value::Array(items) => {
            for i in items {
                datetimes_to_placeholder(i, ts);
            }
        }
        _ => {}
    }
}

/// `datetime.isoformat()` of a UTC botocore timestamp.
pub fn python_isoformat(ms: i64) -> String {
    let t = baton_asl::time::UtcParts::from_millis(ms);
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    );
    if t.milli != 0 {
        s.push_str(&format!(".{:06}", t.milli * 1000));
    }
    s.push_str("+00:00");
    s
}

/// `KeyValueBasedTransformer.transform` with a reference replacement, over the
/// top-level map.
fn key_value_map(
    m: &mut Map<String, Value>,
    matcher: &mut dyn FnMut(&str, &Value) -> Option<String>,
    register: &mut dyn FnMut(&str, &mut Ctx),
    ctx: &mut Ctx,
) {
    for (k, v) in m.iter_mut() {
        if let Some(found) = matcher(k, v) {
            register(&found, ctx);
        } else if let Value::Array(items) = v {
            for item in items.iter_mut() {
                if let Value::Object(im) = item {
                    key_value_map(im, matcher, register, ctx);
                }
            }
        } else if let Value::Object(inner) = v {
            key_value_map(inner, matcher, register, ctx);
        }
    }
}

/// `_transform_stepfunctions_cause_details`: `re.match(r".*'({.*})'", cause)`
/// whose group parses as JSON.
fn cause_json_input(k: &str, v: &Value) -> Option<String> {
    if k != "cause" {
        return None;
    }
    let s = v.as_str()?;
    let line = s.split('\n').next().unwrap_or("");
    let b = line.as_bytes();
    // Greedy `.*'` prefers the last `'{`; the greedy group the last `}'`.
    let mut p = b.len();
    while p > 0 {
        p -= 1;
        if b[p] != b'\'' || b.get(p + 1) != Some(&b'{') {
            continue;
        }
        let mut q = b.len();
        while q > p + 2 {
            q -= 1;
            if b[q] == b'\'' && b[q - 1] == b'}' {
                let group = &line[p + 1..q];
                return serde_json::from_str::<Value>(group)
                    .ok()
                    .map(|_| group.to_string());
            }
        }
    }
    None
}

/// `JsonpathTransformer("$..a.b.c", repl, replace_reference=False)`.
fn set_descendant_path(v: &mut Value, path: &[&str; 3], repl: &str) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if k == path[0]
                    && let Some(slot) = val.get_mut(path[1]).and_then(|x| x.get_mut(path[2]))
                {
                    *slot = Value::String(repl.into());
                }
                set_descendant_path(val, path, repl);
            }
        }
        Value::Array(items) => {
            for i in items {
                set_descendant_path(i, path, repl);
            }
        }
        _ => {}
    }
}

fn collect_key_strings(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                if k == key
                    && let Value::String(s) = val
                {
                    out.push(s.clone());
                }
                collect_key_strings(val, key, out);
            }
        }
        Value::Array(items) => {
            for i in items {
                collect_key_strings(i, key, out);
            }
        }
        _ => {}
    }
}

/// `ResponseMetaDataTransformer` below the top level.
fn response_metadata(m: &mut Map<String, Value>) {
    for (k, v) in m.iter_mut() {
        if k == "ResponseMetadata" {
            *v = simplify_response_metadata(v);
        } else if let Value::Object(inner) = v {
            response_metadata(inner);
        }
    }
}

fn simplify_response_metadata(v: &Value) -> Value {
    let mut headers = Map::new();
    if let Some(ct) = v.get("HTTPHeaders").and_then(|h| h.get("content_type"))
        && !is_falsy(ct)
    {
        headers.insert("content_type".into(), ct.clone());
    }
    let mut out = Map::new();
    out.insert("HTTPHeaders".into(), Value::Object(headers));
    if let Some(code) = v.get("HTTPStatusCode")
        && !is_falsy(code)
    {
        out.insert("HTTPStatusCode".into(), code.clone());
    }
    Value::Object(out)
}

fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// The `timestamp` key transformer: keys matching `^.*timestamp.*$` (any case)
/// or `creationTime`/`ingestionTime`, whose `str(value)` does not start with
/// an ISO-8601 timestamp, get the value `timestamp`.
fn timestamp_keys(m: &mut Map<String, Value>) {
    for (k, v) in m.iter_mut() {
        let key_matches = (!k.contains('\n') && k.to_lowercase().contains("timestamp"))
            || k == "creationTime"
            || k == "ingestionTime";
        if key_matches && iso8601_match_at(py_str(v).as_bytes(), 0).is_none() {
            *v = Value::String("timestamp".into());
        } else if let Value::Array(items) = v {
            for item in items.iter_mut() {
                if let Value::Object(im) = item {
                    timestamp_keys(im);
                }
            }
        } else if let Value::Object(inner) = v {
            timestamp_keys(inner);
        }
    }
}

/// Python's `str(value)` far enough for the ISO-8601 prefix test.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => pyjson::dumps(other),
    }
}

/// `SfnNoneRecursiveParallelTransformer` on every `events` list.
fn parallel_transform(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if k == "events"
                    && let Value::Array(events) = val
                {
                    normalise_parallel_events(events);
                }
                parallel_transform(val);
            }
        }
        Value::Array(items) => {
            for i in items {
                parallel_transform(i);
            }
        }
        _ => {}
    }
}

/// `SfnNoneRecursiveParallelTransformer._normalise_events`, slice assignment
/// quirks included (a `ParallelStateSucceeded` followed by
/// `ParallelStateExited` is dropped by the second re-sort).
pub fn normalise_parallel_events(events: &mut Vec<Value>) {
    let mut start_idx: Option<usize> = None;
    let mut sublist: Vec<Value> = Vec::new();
    // Indices of the sublist members are tracked by value: Python keeps
    // references, we keep the mutated copies.
    let mut in_sublist = false;
    let mut i = 0;
    while i < events.len() {
        let ty = events[i]
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_string);
        match ty.as_deref() {
            None => in_sublist = false,
            Some(
                "ParallelStateSucceeded"
                | "ParallelStateAborted"
                | "ParallelStateExited"
                | "ParallelStateFailed",
            ) => {
                let mut sorted = sublist.clone();
                sorted.sort_by_cached_key(pyjson::dumps);
                let start = start_idx.unwrap_or(0).min(events.len());
                let end = i.max(start);
                events.splice(start..end, sorted);
                in_sublist = false;
                // Python's enumerate continues at the next index of the
                // mutated list.
            }
            Some("ParallelStateStarted") => {
                in_sublist = true;
                sublist = Vec::new();
                start_idx = Some(i + 1);
            }
            Some(_) if in_sublist => {
                if let Value::Object(m) = &mut events[i] {
                    m.insert("id".into(), Value::Array(vec![Value::from(0)]));
                    m.insert("previousEventId".into(), Value::from(0));
                }
                sublist.push(events[i].clone());
            }
            Some(_) => {}
        }
        i += 1;
    }
}

/// `re.match(PATTERN_UUID, s)`.
pub fn starts_with_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    let groups = [8usize, 4, 4, 4, 12];
    let mut pos = 0;
    for (gi, len) in groups.iter().enumerate() {
        for _ in 0..*len {
            match b.get(pos) {
                Some(c) if c.is_ascii_hexdigit() => pos += 1,
                _ => return false,
            }
        }
        if gi < 4 {
            if b.get(pos) != Some(&b'-') {
                return false;
            }
            pos += 1;
        }
    }
    true
}

/// `re.sub(PATTERN_ISO8601, to, s)`.
pub fn replace_iso8601(s: &str, to: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if let Some(len) = iso8601_match_at(b, i) {
            out.push_str(&s[last..i]);
            out.push_str(to);
            i += len;
            last = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[last..]);
    out
}

/// Length of a `PATTERN_ISO8601` match starting at `i`.
pub fn iso8601_match_at(b: &[u8], i: usize) -> Option<usize> {
    let d = |k: usize| {
        b.get(i + k)
            .copied()
            .filter(u8::is_ascii_digit)
            .map(|c| c - b'0')
    };
    let ch = |k: usize, c: u8| b.get(i + k) == Some(&c);
    // Year [1-9]\d{3}
    let (y0, y1, y2, y3) = (d(0)?, d(1)?, d(2)?, d(3)?);
    if y0 == 0 || !ch(4, b'-') {
        return None;
    }
    let (m0, m1, d0, d1) = (d(5)?, d(6)?, d(8)?, d(9)?);
    if !ch(7, b'-') {
        return None;
    }
    let month = m0 * 10 + m1;
    let day = d0 * 10 + d1;
    let ok_common = (1..=12).contains(&month) && (1..=28).contains(&day);
    let ok_29_30 = (month == 1 || (3..=12).contains(&month)) && (day == 29 || day == 30);
    let ok_31 = matches!(month, 1 | 3 | 5 | 7 | 8 | 10 | 12) && day == 31;
    let leap = {
        let a = matches!((y2, y3), (0, 4) | (0, 8))
            || (matches!(y2, 2 | 4 | 6 | 8) && matches!(y3, 0 | 4 | 8))
            || (matches!(y2, 1 | 3 | 5 | 7 | 9) && matches!(y3, 2 | 6));
        let b_case = y2 == 0
            && y3 == 0
            && ((matches!(y0, 2 | 4 | 6 | 8) && matches!(y1, 0 | 4 | 8))
                || (matches!(y0, 1 | 3 | 5 | 7 | 9) && matches!(y1, 2 | 6)));
        a || b_case
    };
    let ok_leap = month == 2 && day == 29 && leap;
    if !(ok_common || ok_29_30 || ok_31 || ok_leap) {
        return None;
    }
    if !ch(10, b'T') {
        return None;
    }
    let (h0, h1) = (d(11)?, d(12)?);
    if !(h0 <= 1 || (h0 == 2 && h1 <= 3)) || !ch(13, b':') {
        return None;
    }
    let (mi0, _) = (d(14)?, d(15)?);
    if mi0 > 5 || !ch(16, b':') {
        return None;
    }
    let (s0, _) = (d(17)?, d(18)?);
    if s0 > 5 {
        return None;
    }
    let mut k = 19;
    if ch(k, b'.') && d(k + 1).is_some() {
        let mut n = 0;
        while n < 9 && d(k + 1 + n).is_some() {
            n += 1;
        }
        k += 1 + n;
    }
    if ch(k, b'Z') {
        return Some(k + 1);
    }
    if ch(k, b'+') || ch(k, b'-') {
        let t0 = d(k + 1)?;
        d(k + 2)?;
        if t0 > 1 {
            return None;
        }
        k += 3;
        if ch(k, b':') {
            k += 1;
        }
        if let (Some(a), Some(_)) = (d(k), d(k + 1))
            && a <= 5
        {
            k += 2;
        }
        return Some(k);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn setup() -> Setup {
        Setup {
            role_arn: "arn:aws:iam::111111111111:role/baton-role".into(),
            role_replacement: "snf_role_arn".into(),
            state_machine_name: Some("BatonMachine".into()),
            execution_names: vec![(
                "e1a2b3c4-0000-4000-8000-000000000000".into(),
                "<ExecArnPart_0idx>".into(),
            )],
            account: "111111111111".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
            parallel: false,
            map_runs: true,
            extras: vec![],
            late_extras: vec![],
            skip_paths: vec![],
        }
    }

    fn obs(v: Value) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("get_execution_history".into(), v);
        m
    }

    #[test]
    fn iso8601() {
        let m = |s: &str| iso8601_match_at(s.as_bytes(), 0);
        assert_eq!(m("2012-10-09T19:00:55Z"), Some(20));
        assert_eq!(m("2012-10-09T19:00:55.123456Z"), Some(27));
        assert_eq!(m("2012-10-09T19:00:55+01:00"), Some(25));
        assert_eq!(m("2012-10-09T19:00:55+0100x"), Some(24));
        assert_eq!(m("2012-10-09T19:00:55"), None);
        assert_eq!(m("2012-02-30T19:00:55Z"), None);
        assert_eq!(m("2024-02-29T00:00:00Z"), Some(20));
        assert_eq!(m("2023-02-29T00:00:00Z"), None);
        assert_eq!(m("2000-02-29T00:00:00Z"), Some(20));
        assert_eq!(m("1900-02-29T00:00:00Z"), None);
        assert_eq!(m("2023-02-24 12:15:56.832957"), None);
        assert_eq!(
            replace_iso8601("a \"2016-03-14T01:59:00Z\" b", "date"),
            "a \"date\" b"
        );
    }

    #[test]
    fn uuid_prefix() {
        assert!(starts_with_uuid("0f4e5a2c-1b2c-4d5e-8f90-123456789abc"));
        assert!(starts_with_uuid("0F4E5A2C-1B2C-4D5E-8F90-123456789ABCxyz"));
        assert!(!starts_with_uuid("0f4e5a2c-1b2c-4d5e-8f90-12345678"));
    }

    #[test]
    fn isoformat() {
        assert_eq!(
            python_isoformat(1_704_067_200_000),
            "2024-01-01T00:00:00+00:00"
        );
        assert_eq!(
            python_isoformat(1_704_067_200_123),
            "2024-01-01T00:00:00.123000+00:00"
        );
    }

    #[test]
    fn history_normalisation() {
        let raw = json!({
            "events": [
                {"timestamp": 1704067200000_i64, "type": "ExecutionStarted", "id": 1, "previousEventId": 0,
                 "executionStartedEventDetails": {"input": "{\"b\":1,\"a\":\"2012-10-09T19:00:55Z\"}",
                    "inputDetails": {"truncated": false}, "roleArn": "arn:aws:iam::111111111111:role/baton-role"}},
                {"timestamp": 1704067200001_i64, "type": "PassStateExited", "id": 2, "previousEventId": 1,
                 "stateExitedEventDetails": {"name": "P", "output": "{\"RequestId\":\"0f4e5a2c-1b2c-4d5e-8f90-123456789abc\",\"x\":\"arn:aws:states:us-east-1:111111111111:execution:BatonMachine:e1a2b3c4-0000-4000-8000-000000000000\",\"Timestamp\":5}",
                    "outputDetails": {"truncated": false}}},
                {"timestamp": 1704067200002_i64, "type": "ExecutionSucceeded", "id": 3, "previousEventId": 2,
                 "executionSucceededEventDetails": {"output": "[1,2]", "outputDetails": {"truncated": false}}}
            ],
            "ResponseMetadata": {"HTTPHeaders": {}, "HTTPStatusCode": 200}
        });
        let out = normalise(&obs(raw), &setup()).unwrap();
        let expected = json!({
            "events": [
                {"executionStartedEventDetails": {"input": {"b": 1, "a": "date"}, "inputDetails": {"truncated": false}, "roleArn": "snf_role_arn"},
                 "id": 1, "previousEventId": 0, "timestamp": "timestamp", "type": "ExecutionStarted"},
                {"id": 2, "previousEventId": 1, "stateExitedEventDetails": {"name": "P",
                    "output": {"RequestId": "<uuid:1>", "x": "arn:<partition>:states:<region>:111111111111:execution:<ArnPart_0idx>:<ExecArnPart_0idx>", "Timestamp": "timestamp"},
                    "outputDetails": {"truncated": false}}, "timestamp": "timestamp", "type": "PassStateExited"},
                {"executionSucceededEventDetails": {"output": "[1,2]", "outputDetails": {"truncated": false}},
                 "id": 3, "previousEventId": 2, "timestamp": "timestamp", "type": "ExecutionSucceeded"}
            ],
            "ResponseMetadata": {"HTTPHeaders": {}, "HTTPStatusCode": 200}
        });
        assert_eq!(out.get("get_execution_history"), Some(&expected));
    }

    #[test]
    fn uuid_numbering_follows_traversal_and_is_shared() {
        let raw = json!({"events": [
            {"type": "X", "id": 1, "previousEventId": 0, "timestamp": 0,
             "stateExitedEventDetails": {"output": "{\"B_id\":\"11111111-1111-4111-8111-111111111111\",\"A_id\":\"22222222-2222-4222-8222-222222222222\",\"again\":\"11111111-1111-4111-8111-111111111111\"}"}}
        ]});
        let out = normalise(&obs(raw), &setup()).unwrap();
        let o = &out["get_execution_history"]["events"][0]["stateExitedEventDetails"]["output"];
        assert_eq!(
            o,
            &json!({"B_id": "<uuid:1>", "A_id": "<uuid:2>", "again": "<uuid:1>"})
        );
    }

    #[test]
    fn parallel_events_resorted_and_succeeded_dropped() {
        let ev = |id: u64, ty: &str, name: &str| {
            json!({"id": id, "previousEventId": id - 1, "timestamp": 1704067200000_i64 + id as i64, "type": ty,
                   "stateEnteredEventDetails": {"name": name}})
        };
        let raw = json!({"events": [
            ev(1, "ParallelStateEntered", "Par"),
            {"id": 2, "previousEventId": 1, "timestamp": 1704067200002_i64, "type": "ParallelStateStarted"},
            ev(3, "PassStateEntered", "B"),
            ev(4, "PassStateEntered", "A"),
            {"id": 5, "previousEventId": 4, "timestamp": 1704067200005_i64, "type": "ParallelStateSucceeded"},
            {"id": 6, "previousEventId": 5, "timestamp": 1704067200006_i64, "type": "ParallelStateExited",
             "stateExitedEventDetails": {"name": "Par"}},
        ]});
        let mut s = setup();
        s.parallel = true;
        let out = normalise(&obs(raw), &s).unwrap();
        let events = out["get_execution_history"]["events"]
            .as_array()
            .unwrap()
            .clone();
        let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "ParallelStateEntered",
                "ParallelStateStarted",
                "PassStateEntered",
                "PassStateEntered",
                "ParallelStateExited"
            ]
        );
        assert_eq!(events[2]["stateEnteredEventDetails"]["name"], "A");
        assert_eq!(events[2]["id"], json!([0]));
        assert_eq!(events[2]["previousEventId"], json!(0));
        assert_eq!(events[4]["id"], json!(6));
    }

    #[test]
    fn cause_json_input_and_skip_paths() {
        assert_eq!(
            cause_json_input("cause", &json!("An error occurred: 'x' and '{\"a\": 1}'")),
            Some("{\"a\": 1}".into())
        );
        assert_eq!(cause_json_input("cause", &json!("no json here")), None);
        let raw = json!({"events": [{"type": "T", "id": 1, "previousEventId": 0, "timestamp": 0,
            "taskSucceededEventDetails": {"output": "{\"SdkHttpMetadata\":{\"x\":1},\"Body\":\"ok\"}"}}]});
        let mut s = setup();
        s.skip_paths = vec![
            "$..SdkHttpMetadata".into(),
            "$..events[0].previousEventId".into(),
        ];
        let out = normalise(&obs(raw), &s).unwrap();
        let e = &out["get_execution_history"]["events"][0];
        assert_eq!(
            e["taskSucceededEventDetails"]["output"],
            json!({"Body": "ok"})
        );
        assert!(e.get("previousEventId").is_none());
    }

    #[test]
    fn resource_names() {
        let r = |s: &str| resource_name(s);
        assert_eq!(
            r("arn:aws:iam::111111111111:role/SFN-role").as_deref(),
            Some("SFN-role")
        );
        assert_eq!(
            r("arn:aws:sns:us-east-1:111111111111:topic-1").as_deref(),
            Some("topic-1")
        );
        assert_eq!(
            r("arn:aws:lambda:us-east-1:111111111111:function:fn:$LATEST").as_deref(),
            Some("fn")
        );
        assert_eq!(
            r("arn:aws:states:us-east-1:111111111111:execution:sm:exec").as_deref(),
            Some("exec")
        );
        assert_eq!(r("arn:aws:sns:us-east-1:111111111111:<resource:1>"), None);
        assert_eq!(r("arn:<partition>:sns:<region>:111111111111:x"), None);
        assert_eq!(r("not an arn"), None);
    }

    #[test]
    fn resource_name_transformer_numbers_in_traversal_order() {
        let raw = json!({"events": [{"type": "ExecutionStarted", "id": 1, "previousEventId": 0, "timestamp": 0,
            "executionStartedEventDetails": {
                "input": "{\"TopicArn\":\"arn:aws:sns:us-east-1:111111111111:topic-1\"}",
                "roleArn": "arn:aws:iam::111111111111:role/baton-role"}}]});
        let mut s = setup();
        s.extras = vec![Extra::ResourceName {
            to: "resource".into(),
        }];
        let out = normalise(&obs(raw), &s).unwrap();
        let d = &out["get_execution_history"]["events"][0]["executionStartedEventDetails"];
        assert_eq!(
            d["input"]["TopicArn"],
            "arn:<partition>:sns:<region>:111111111111:<resource:1>"
        );
        assert_eq!(
            d["roleArn"],
            "arn:<partition>:iam::111111111111:role/<resource:2>"
        );
    }

    #[test]
    fn request_ids() {
        let r = Replacement::RequestId.apply("x (Request ID: ab-12, Extended Request ID: zz)");
        assert_eq!(
            r,
            "x (Request ID: <request_id>, Extended Request ID: <request_id>)"
        );
        let r = Replacement::ExtendedRequestId.apply("Extended Request ID: a/b=+c)");
        assert_eq!(r, "Extended Request ID: <extended_request_id>)");
    }
}
