//! Replays LocalStack's AWS-recorded Step Functions snapshot suite.
//!
//! For every test in the suite's `INDEX.json` and every snapshot entry, the
//! runner decides whether the entry can run here (or why not), runs each
//! recorded execution through [`baton_interp::driver::run`] with the recorded
//! input and recorded task outcomes, normalises our GetExecutionHistory
//! exactly as LocalStack's snapshot pipeline does ([`normalise`]) and compares
//! the whole history with the recording.

pub mod classify;
pub mod http;
pub mod jsonpath;
pub mod normalise;
pub mod pyjson;
pub mod table;
pub mod tasks;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use serde_json::{Map, Value};

use baton_asl::env::FixedEnv;
use baton_interp::driver::{self, RunOptions, StartContext, Status};

use normalise::Setup;
use table::Table;

/// The known-failures list embedded in the binary (`conformance/known-failures.txt`).
pub const KNOWN_FAILURES: &str = include_str!("../../../../conformance/known-failures.txt");

const PREFIX: &str = "tests/aws/services/stepfunctions/";
const ACCOUNT: &str = "111111111111";
const REGION: &str = "us-east-1";
const ROLE_ARN: &str = "arn:aws:iam::111111111111:role/BatonConformanceRole";
const MACHINE_NAME: &str = "BatonConformanceMachine";
/// Virtual start time of every execution (2024-01-01T00:00:00Z).
const START_MS: i64 = 1_704_067_200_000;

/// Runner options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only entries whose node id contains this.
    pub filter: Option<String>,
    /// The substitutions table; the embedded one when `None`.
    pub table: Option<Table>,
}

/// How entries are replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Through [`baton_interp::driver::run`], task outcomes answered from the
    /// recording, in virtual time.
    #[default]
    Driver,
    /// Through Baton's HTTP API (server, engine and SQLite store started in
    /// process), see [`http`].
    Http,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Driver => "driver",
            Mode::Http => "http",
        }
    }
}

/// How one unit ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass,
    /// With a short description of the first difference.
    Fail(String),
    /// With the reason.
    Skip(String),
}

/// The result of one snapshot entry.
#[derive(Debug, Clone)]
pub struct EntryResult {
    pub node_id: String,
    /// `v2/<folder>` (or the file stem for files directly in `v2/`).
    pub folder: String,
    pub verdict: Verdict,
    /// Choice-operator cases passed/failed in this entry.
    pub cases: (usize, usize),
    /// Intrinsic-function executions passed/failed in this entry.
    pub intrinsic_executions: (usize, usize),
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub entries: Vec<EntryResult>,
    /// Whether the run was restricted by [`Options::filter`].
    pub filtered: bool,
    /// The mode the entries ran in.
    pub mode: Mode,
}

/// The known-failures list (`conformance/known-failures.txt`): one entry per
/// line, `[MODE] node-id  # reason`, where MODE is `driver`, `http` or
/// `both`; a line without a mode marker is a driver-mode entry.
#[derive(Debug, Clone, Default)]
pub struct KnownFailures {
    /// Driver-mode entries.
    pub ids: BTreeMap<String, String>,
    /// HTTP-mode entries.
    pub http: BTreeMap<String, String>,
}

impl KnownFailures {
    pub fn parse(text: &str) -> KnownFailures {
        let mut k = KnownFailures::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (modes, line) = match line.strip_prefix('[').and_then(|r| r.split_once(']')) {
                Some(("http", rest)) => ((false, true), rest.trim()),
                Some(("both", rest)) => ((true, true), rest.trim()),
                Some(("driver", rest)) => ((true, false), rest.trim()),
                _ => ((true, false), line),
            };
            let (id, reason) = match line.find(" #") {
                Some(p) => (line[..p].trim(), line[p + 2..].trim()),
                None => (line, ""),
            };
            if modes.0 {
                k.ids.insert(id.to_string(), reason.to_string());
            }
            if modes.1 {
                k.http.insert(id.to_string(), reason.to_string());
            }
        }
        k
    }

    /// The entries of one mode.
    pub fn of(&self, mode: Mode) -> &BTreeMap<String, String> {
        match mode {
            Mode::Driver => &self.ids,
            Mode::Http => &self.http,
        }
    }

    /// Whether `id` is listed for the driver mode.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }

    /// Whether `id` is listed for `mode`.
    pub fn listed(&self, mode: Mode, id: &str) -> bool {
        self.of(mode).contains_key(id)
    }
}

impl Report {
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for e in &self.entries {
            match e.verdict {
                Verdict::Pass => c.0 += 1,
                Verdict::Fail(_) => c.1 += 1,
                Verdict::Skip(_) => c.2 += 1,
            }
        }
        c
    }

    /// Failures not in `known`.
    pub fn unexpected_failures<'a>(&'a self, known: &KnownFailures) -> Vec<&'a EntryResult> {
        self.entries
            .iter()
            .filter(|e| {
                matches!(e.verdict, Verdict::Fail(_)) && !known.listed(self.mode, &e.node_id)
            })
            .collect()
    }

    /// Entries listed in `known` that ran and did not fail (the list must be
    /// kept equal to what fails), and listed ids that match no entry of this
    /// run (only when the run was not filtered).
    pub fn stale_known_failures(&self, known: &KnownFailures, filtered: bool) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for e in &self.entries {
            seen.insert(e.node_id.as_str());
            if known.listed(self.mode, &e.node_id) && !matches!(e.verdict, Verdict::Fail(_)) {
                let what = match &e.verdict {
                    Verdict::Pass => "passes".to_string(),
                    Verdict::Skip(r) => format!("skipped: {r}"),
                    Verdict::Fail(_) => String::new(),
                };
                out.push(format!("{} ({what})", e.node_id));
            }
        }
        if !filtered {
            for id in known.of(self.mode).keys() {
                if !seen.contains(id.as_str()) {
                    out.push(format!("{id} (no such entry)"));
                }
            }
        }
        out
    }

    /// One line per entry: `PASS|FAIL|SKIP node-id [reason]`.
    pub fn list(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            let _ = match &e.verdict {
                Verdict::Pass => writeln!(out, "PASS {}", e.node_id),
                Verdict::Fail(d) => writeln!(
                    out,
                    "FAIL {}  # {}",
                    e.node_id,
                    d.lines().next().unwrap_or("")
                ),
                Verdict::Skip(r) => writeln!(out, "SKIP {}  # {r}", e.node_id),
            };
        }
        out
    }

    /// Skip reasons with counts, most frequent first.
    pub fn skip_reasons(&self) -> Vec<(String, usize)> {
        let mut m: HashMap<&str, usize> = HashMap::new();
        for e in &self.entries {
            if let Verdict::Skip(r) = &e.verdict {
                *m.entry(r.as_str()).or_default() += 1;
            }
        }
        let mut v: Vec<(String, usize)> = m.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// The printed report; the last line is exactly `N passed, M failed, K skipped`.
    pub fn render(&self, verbose: bool, known: &KnownFailures) -> String {
        let mut out = String::new();
        let mut folders: BTreeMap<&str, Vec<&EntryResult>> = BTreeMap::new();
        for e in &self.entries {
            folders.entry(e.folder.as_str()).or_default().push(e);
        }
        for (folder, entries) in &folders {
            let (mut p, mut f, mut s) = (0, 0, 0);
            let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
            for e in entries {
                match &e.verdict {
                    Verdict::Pass => p += 1,
                    Verdict::Fail(_) => f += 1,
                    Verdict::Skip(r) => {
                        s += 1;
                        *reasons.entry(r.as_str()).or_default() += 1;
                    }
                }
            }
            let _ = write!(
                out,
                "[{}] {folder}: {p} passed, {f} failed, {s} skipped",
                self.mode.as_str()
            );
            if !reasons.is_empty() {
                let mut rs: Vec<(&str, usize)> = reasons.into_iter().collect();
                rs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
                let parts: Vec<String> = rs.iter().map(|(r, n)| format!("{r}: {n}")).collect();
                let _ = write!(out, " ({})", parts.join(", "));
            }
            out.push('\n');
            if verbose {
                for e in entries {
                    if let Verdict::Fail(diff) = &e.verdict {
                        let tag = if known.listed(self.mode, &e.node_id) {
                            " [known]"
                        } else {
                            ""
                        };
                        let _ = writeln!(
                            out,
                            "  FAIL{tag} {}\n    {}",
                            e.node_id,
                            diff.replace('\n', "\n    ")
                        );
                    }
                }
            }
        }
        let (cp, cf) = self
            .entries
            .iter()
            .fold((0, 0), |a, e| (a.0 + e.cases.0, a.1 + e.cases.1));
        let (ip, ifl) = self.entries.iter().fold((0, 0), |a, e| {
            (
                a.0 + e.intrinsic_executions.0,
                a.1 + e.intrinsic_executions.1,
            )
        });
        let m = self.mode.as_str();
        let _ = writeln!(out, "[{m}] choice cases: {cp} passed, {cf} failed");
        let _ = writeln!(out, "[{m}] intrinsic executions: {ip} passed, {ifl} failed");
        let unexpected = self.unexpected_failures(known);
        let listed_failing = self
            .entries
            .iter()
            .filter(|e| matches!(e.verdict, Verdict::Fail(_)))
            .count()
            - unexpected.len();
        let _ = writeln!(
            out,
            "[{m}] known failures: {listed_failing} listed failing, {} unlisted failing",
            unexpected.len()
        );
        if !verbose {
            for e in unexpected.iter().take(20) {
                let _ = writeln!(out, "  [{m}] unlisted failure: {}", e.node_id);
            }
        }
        let stale = self.stale_known_failures(known, self.filtered);
        let _ = writeln!(
            out,
            "[{m}] known failures listed but not failing: {}",
            stale.len()
        );
        for s in &stale {
            let _ = writeln!(out, "  [{m}] listed but not failing: {s}");
        }
        let (p, f, s) = self.counts();
        let _ = write!(out, "{p} passed, {f} failed, {s} skipped");
        out
    }
}

/// The reports of several modes: each mode's report, a per-mode counts line
/// (`driver: N passed, M failed, K skipped`), and last the sum over the modes
/// as `N passed, M failed, K skipped`.
pub fn render_all(reports: &[Report], verbose: bool, known: &KnownFailures) -> String {
    let mut out = String::new();
    let mut sum = (0, 0, 0);
    for r in reports {
        let text = r.render(verbose, known);
        let body = text.rsplit_once('\n').map_or("", |(b, _)| b);
        out.push_str(body);
        out.push('\n');
    }
    for r in reports {
        let (p, f, s) = r.counts();
        sum = (sum.0 + p, sum.1 + f, sum.2 + s);
        let _ = writeln!(
            out,
            "{}: {p} passed, {f} failed, {s} skipped",
            r.mode.as_str()
        );
    }
    let _ = write!(out, "{} passed, {} failed, {} skipped", sum.0, sum.1, sum.2);
    out
}

/// Test function metadata from INDEX.json.
#[derive(Debug, serde::Deserialize)]
struct IndexTest {
    #[serde(default)]
    class_markers: Vec<String>,
    #[serde(default)]
    markers: Vec<String>,
    #[serde(default)]
    skip_snapshot_verify_paths: Vec<String>,
    #[serde(default)]
    snapshot_file: Option<String>,
    #[serde(default)]
    snapshot_keys: indexmap::IndexMap<String, Value>,
    #[serde(default)]
    templates: Vec<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Index {
    tests: indexmap::IndexMap<String, IndexTest>,
}

/// Runs the suite at `root` (a folder laid out like
/// `shared/suites/localstack-stepfunctions`) in the driver mode.
pub fn run(root: &Path, options: &Options) -> anyhow::Result<Report> {
    run_mode(root, options, Mode::Driver)
}

/// Runs the suite at `root` in `mode`. The HTTP mode starts Baton in process
/// for the run and replays entries on several threads.
pub fn run_mode(root: &Path, options: &Options, mode: Mode) -> anyhow::Result<Report> {
    let index_path = root.join("INDEX.json");
    let text = std::fs::read_to_string(&index_path)
        .with_context(|| format!("cannot read {}", index_path.display()))?;
    let index: Index = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a suite index", index_path.display()))?;
    let table = match &options.table {
        Some(t) => t.clone(),
        None => Table::parse(table::EMBEDDED).context("embedded substitutions table")?,
    };
    let scripts = http::api::Scripts::parse(http::api::EMBEDDED).context("embedded API scripts")?;
    let mut snapshots: HashMap<String, Option<Map<String, Value>>> = HashMap::new();
    // Every entry of the run, in index order.
    let mut jobs: Vec<Job<'_>> = Vec::new();
    for (test_id, test) in &index.tests {
        let validated = test
            .markers
            .iter()
            .chain(&test.class_markers)
            .any(|m| m == "markers.aws.validated");
        if let Some(f) = &test.snapshot_file {
            snapshots.entry(f.clone()).or_insert_with(|| {
                let path = root.join(f.strip_prefix(PREFIX).unwrap_or(f));
                std::fs::read_to_string(path)
                    .ok()
                    .and_then(|t| serde_json::from_str::<Map<String, Value>>(&t).ok())
            });
        }
        for node_id in test.snapshot_keys.keys() {
            if let Some(filter) = &options.filter
                && !node_id.contains(filter.as_str())
            {
                continue;
            }
            jobs.push(Job {
                test_id,
                test,
                node_id,
                validated,
            });
        }
    }
    let server = match mode {
        Mode::Driver => None,
        Mode::Http => Some(http::server::Server::start(http::server::TIME_SCALE)?),
    };
    let http_ctx = server
        .as_ref()
        .map(|s| http::Http::new(s.addr, s.dir().join("fixtures")));
    let exec = match &http_ctx {
        Some(h) => Exec::Http(h),
        None => Exec::Driver,
    };
    let ctx = RunCtx {
        root,
        table: &table,
        scripts: &scripts,
        snapshots: &snapshots,
        exec,
    };
    let results: Vec<EntryResult> = match exec {
        Exec::Driver => jobs.iter().map(|j| run_job(&ctx, j)).collect(),
        Exec::Http(_) => {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let slots: std::sync::Mutex<Vec<Option<EntryResult>>> =
                std::sync::Mutex::new(vec![None; jobs.len()]);
            let threads = std::thread::available_parallelism()
                .map_or(4, |n| n.get() * 4)
                .clamp(4, 16);
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| {
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(job) = jobs.get(i) else { break };
                            let r = run_job(&ctx, job);
                            if let Ok(mut s) = slots.lock()
                                && let Some(slot) = s.get_mut(i)
                            {
                                *slot = Some(r);
                            }
                        }
                    });
                }
            });
            slots
                .into_inner()
                .map_err(|_| anyhow!("a replay thread panicked"))?
                .into_iter()
                .zip(&jobs)
                .map(|(r, j)| {
                    r.unwrap_or_else(|| EntryResult {
                        node_id: j.node_id.clone(),
                        folder: folder_of(j.node_id),
                        verdict: Verdict::Fail("runner: the replay thread panicked".into()),
                        cases: (0, 0),
                        intrinsic_executions: (0, 0),
                    })
                })
                .collect()
        }
    };
    drop(server);
    Ok(Report {
        entries: results,
        filtered: options.filter.is_some(),
        mode,
    })
}

/// One snapshot entry to replay.
struct Job<'a> {
    test_id: &'a str,
    test: &'a IndexTest,
    node_id: &'a String,
    validated: bool,
}

/// How executions run.
#[derive(Clone, Copy)]
enum Exec<'a> {
    Driver,
    Http(&'a http::Http),
}

/// What every entry of a run shares.
struct RunCtx<'a> {
    root: &'a Path,
    table: &'a Table,
    scripts: &'a http::api::Scripts,
    snapshots: &'a HashMap<String, Option<Map<String, Value>>>,
    exec: Exec<'a>,
}

fn run_job(ctx: &RunCtx<'_>, job: &Job<'_>) -> EntryResult {
    let mut result = EntryResult {
        node_id: job.node_id.clone(),
        folder: folder_of(job.node_id),
        verdict: Verdict::Pass,
        cases: (0, 0),
        intrinsic_executions: (0, 0),
    };
    let entry = job
        .test
        .snapshot_file
        .as_ref()
        .and_then(|f| ctx.snapshots.get(f))
        .and_then(Option::as_ref)
        .and_then(|s| s.get(job.node_id))
        .and_then(|e| e.get("recorded-content"));
    result.verdict = if !job.validated {
        Verdict::Skip("not aws.validated".into())
    } else if let Some(Value::Object(recorded)) = entry {
        let test = job.test;
        match ctx.exec {
            Exec::Http(h) if ctx.scripts.lookup(job.node_id).is_some() => http::api::run(
                h,
                ctx.root,
                ctx.scripts,
                job.node_id,
                recorded,
                &test.skip_snapshot_verify_paths,
            ),
            _ => run_entry(ctx, job.test_id, test, job.node_id, recorded, &mut result),
        }
    } else {
        Verdict::Skip("snapshot entry not in suite".into())
    };
    result
}

/// `v2/<folder>` of a node id (the file stem for files directly in `v2/`).
fn folder_of(node_id: &str) -> String {
    let path = node_id.split("::").next().unwrap_or(node_id);
    let rel = path.strip_prefix(PREFIX).unwrap_or(path);
    let rel = rel.strip_prefix("v2/").unwrap_or(rel);
    match rel.split_once('/') {
        Some((dir, _)) => dir.to_string(),
        None => rel.strip_suffix(".py").unwrap_or(rel).to_string(),
    }
}

fn is_history_key(k: &str) -> bool {
    k == "get_execution_history"
        || k == "exec_hist_resp"
        || k.strip_prefix("exec_hist_resp_")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn history_index(k: &str) -> usize {
    k.strip_prefix("exec_hist_resp_")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn run_entry(
    ctx: &RunCtx<'_>,
    test_id: &str,
    test: &IndexTest,
    node_id: &str,
    recorded: &Map<String, Value>,
    result: &mut EntryResult,
) -> Verdict {
    let root = ctx.root;
    if node_id.contains("/v2/test_state/") || recorded.contains_key("test_case_response") {
        return Verdict::Skip("TestState API".into());
    }
    let subst = ctx.table.lookup(node_id);
    if recorded.contains_key("cases") {
        return run_choice_cases(root, ctx.exec, node_id, recorded, subst, result);
    }
    let mut keys: Vec<&String> = recorded
        .iter()
        .filter(|(k, v)| is_history_key(k) && v.get("events").is_some_and(Value::is_array))
        .map(|(k, _)| k)
        .collect();
    keys.sort_by_key(|k| history_index(k));
    // DescribeExecution of the (first) recorded execution.
    let describe_key = DESCRIBE_KEYS
        .into_iter()
        .find(|k| recorded.get(*k).is_some_and(|v| v.get("status").is_some()));
    let describe = describe_key.and_then(|k| recorded.get(k));
    if keys.is_empty() && describe.is_none() {
        return Verdict::Skip("API-shape entry".into());
    }

    // Template.
    let first_state = keys
        .first()
        .and_then(|k| recorded.get(*k))
        .and_then(first_state_name);
    let template_path =
        match resolve_template(root, test_id, test, node_id, subst, first_state.as_deref()) {
            Ok(p) => p,
            Err(reason) => return Verdict::Skip(reason),
        };
    let Ok(mut text) = std::fs::read_to_string(&template_path) else {
        return Verdict::Skip("template not found".into());
    };
    // Activity tests: the activity is created (HTTP mode) and its ARN put
    // into the template.
    let mut activity: Option<(String, String)> = None;
    let mut activity_output: Option<Value> = None;
    if let Some(spec) = subst.and_then(|s| s.activity.as_ref()) {
        let Exec::Http(h) = ctx.exec else {
            return Verdict::Skip("needs activities".into());
        };
        let Ok(mut v) = serde_json::from_str::<Value>(&text) else {
            return Verdict::Skip("template not strict JSON".into());
        };
        let name = format!("activity-baton{:05}", h.next());
        let mut client = h.client();
        let created = match http::call(
            &mut client,
            "CreateActivity",
            serde_json::json!({"name": name}),
        ) {
            Ok(r) if r.ok() => r,
            Ok(r) => {
                return Verdict::Fail(format!("CreateActivity answered {} {}", r.status, r.body));
            }
            Err(e) => return Verdict::Fail(format!("runner: {e}")),
        };
        let arn = created
            .body
            .get("activityArn")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut out = http::boto_response(&created);
        http::dates_to_placeholder(&mut out);
        activity_output = Some(out);
        if spec.deleted {
            match http::call(
                &mut client,
                "DeleteActivity",
                serde_json::json!({"activityArn": arn}),
            ) {
                Ok(r) if r.ok() => {}
                Ok(r) => {
                    return Verdict::Fail(format!(
                        "DeleteActivity answered {} {}",
                        r.status, r.body
                    ));
                }
                Err(e) => return Verdict::Fail(format!("runner: {e}")),
            }
        }
        match v.pointer_mut(&spec.resource) {
            Some(slot) => *slot = Value::String(arn.clone()),
            None => {
                return Verdict::Fail(format!("substitutions table: nothing at {}", spec.resource));
            }
        }
        text = pyjson::dumps(&v);
        activity = Some((arn, name));
    }
    if let Some(s) = subst {
        for (from, to) in &s.replace {
            text = text.replace(from.as_str(), to);
        }
        if s.edits_template() {
            let Ok(mut v) = serde_json::from_str::<Value>(&text) else {
                return Verdict::Skip("template not strict JSON".into());
            };
            if let Err(e) = s.apply_sets(node_id, &mut v) {
                return Verdict::Fail(format!("substitutions table: {e}"));
            }
            // As the test sends it: `json.dumps(template)`.
            text = pyjson::dumps(&v);
        }
    }
    // HTTP mode: the functions the test created, named now (their ARNs go
    // into the template's Resource placeholders); created after the checks
    // below.
    let mut resource_plan: Option<http::resources::Plan> = None;
    if let Exec::Http(h) = ctx.exec {
        let histories: Vec<&[Value]> = keys
            .iter()
            .filter_map(|k| recorded.get(*k))
            .filter_map(|h| h.get("events").and_then(Value::as_array))
            .map(Vec::as_slice)
            .collect();
        // The other template of the test: the state machine it created for
        // its execution to start.
        let child = other_template(root, test, &template_path);
        match http::resources::plan(h, &text, &histories, child) {
            Ok((t, plan)) => {
                text = t;
                resource_plan = Some(plan);
            }
            Err(reason) => return Verdict::Skip(reason),
        }
    }
    if let Some(p) = classify::find_placeholder(&text) {
        return Verdict::Skip(format!("needs substitution {p}"));
    }
    let Ok(def_value) = serde_json::from_str::<Value>(&text) else {
        return Verdict::Skip("template not strict JSON".into());
    };
    let features = classify::features(&def_value);
    if features.jsonata {
        return Verdict::Skip("JSONata".into());
    }
    if features.distributed_map {
        return Verdict::Skip("Distributed Map".into());
    }
    if features.activity && activity.is_none() {
        return Verdict::Skip("needs activities".into());
    }

    // Inputs and task outcomes: one execution per recorded history; the
    // DescribeExecution belongs to the first (its own execution when the test
    // recorded no history).
    let mut plans: Vec<(Option<String>, Input, Vec<tasks::Recorded>)> = Vec::new();
    for key in &keys {
        let events: &[Value] = recorded
            .get(*key)
            .and_then(|h| h.get("events"))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let input = match subst.and_then(|s| s.inputs.get(key.as_str())) {
            Some(v) => Input {
                text: pyjson::dumps(v),
                value: v.clone(),
            },
            None => match recorded_input(events) {
                Some(v) => v,
                None => return Verdict::Skip("no ExecutionStarted input".into()),
            },
        };
        let answers = match tasks::derive(events) {
            Ok(a) => a,
            Err(service) if service == "activity" => {
                return Verdict::Skip("needs activities".into());
            }
            Err(service) => return Verdict::Skip(format!("needs {service} integration")),
        };
        let has_child = resource_plan
            .as_ref()
            .is_some_and(http::resources::Plan::has_child);
        if let Exec::Http(_) = ctx.exec
            && let Some(a) = answers.iter().find(|a| !http_replayable(a, has_child))
        {
            return Verdict::Skip(match a.service.as_str() {
                // Built in the engine, but the tests' child machines and
                // resources are not created by the runner.
                "states" | "sfn" => format!(
                    "needs {} resources set up (child state machines, activities)",
                    a.service
                ),
                "lambda" => {
                    "needs a fixture function that calls back (lambda:invoke.waitForTaskToken)"
                        .to_string()
                }
                other => format!("needs {other} integration"),
            });
        }
        plans.push((Some(key.to_string()), input, answers));
    }
    if plans.is_empty()
        && let Some(d) = describe
    {
        let input = match subst.and_then(|s| describe_key.and_then(|k| s.inputs.get(k))) {
            Some(v) => Input {
                text: pyjson::dumps(v),
                value: v.clone(),
            },
            None => match d.get("input").and_then(input_of) {
                Some(i) => i,
                None => return Verdict::Skip("no DescribeExecution input".into()),
            },
        };
        plans.push((None, input, Vec::new()));
    }
    let compared = plans.len() + usize::from(describe.is_some() && !keys.is_empty());

    let (definition, diags) = baton_asl::load::load_str(&text);
    let Some(definition) = definition else {
        let msg = baton_asl::diag::invalid_definition_message(&diags);
        result.intrinsic_executions = intrinsic_counts(node_id, 0, keys.len());
        return Verdict::Fail(format!("definition rejected (AWS accepted it): {msg}"));
    };

    let parallel = keys
        .iter()
        .any(|k| recorded.get(*k).is_some_and(has_parallel_ids));
    let role_replacement = keys
        .first()
        .and_then(|k| recorded.get(*k))
        .and_then(|h| h.pointer("/events/0/executionStartedEventDetails/roleArn"))
        .and_then(Value::as_str)
        .filter(|r| !r.starts_with("arn:"))
        .unwrap_or("snf_role_arn")
        .to_string();
    let mut extras_from_resources = Vec::new();
    let (mut ours_raw, exec_names, machine_name) = match ctx.exec {
        Exec::Driver => {
            let (raw, names) =
                driver_executions(&definition, plans, describe_key, subst, &role_replacement);
            (raw, names, MACHINE_NAME.to_string())
        }
        Exec::Http(h) => match http_executions(
            h,
            &text,
            recorded,
            plans,
            describe_key,
            activity.as_ref().map(|a| a.0.as_str()),
            resource_plan.as_ref(),
        ) {
            Ok((raw, names, machine, resource_extras)) => {
                extras_from_resources = resource_extras;
                (raw, names, machine)
            }
            Err(v) => return v,
        },
    };
    if let Some(out) = activity_output {
        ours_raw.insert("create_activity_output".into(), out);
    }
    // The snapshot library transforms the matched keys together, in the order
    // the test matched them (the recording's order).
    let mut observed = Map::new();
    for k in recorded.keys() {
        if let Some(v) = ours_raw.remove(k) {
            observed.insert(k.clone(), v);
        }
    }
    // The test's resource transformers come first (it registered them
    // before its other transformers and before the execution).
    let (mut extras, mut late_extras) = (extras_from_resources, Vec::new());
    if let Some((arn, name)) = &activity {
        extras.push(normalise::Extra::Literal {
            from: arn.clone(),
            to: "activity_arn".into(),
        });
        extras.push(normalise::Extra::Literal {
            from: name.clone(),
            to: "activity_name".into(),
        });
    }
    for t in subst.map(|s| s.transformers.as_slice()).unwrap_or_default() {
        match t.to_extra() {
            (e, false) => extras.push(e),
            (e, true) => late_extras.push(e),
        }
    }
    let setup = Setup {
        role_arn: ROLE_ARN.into(),
        role_replacement,
        state_machine_name: Some(machine_name),
        execution_names: exec_names
            .into_iter()
            .enumerate()
            .map(|(i, n)| (n, execution_placeholder(subst, i)))
            .collect(),
        account: ACCOUNT.into(),
        region: REGION.into(),
        partition: "aws".into(),
        parallel,
        map_runs: true,
        extras,
        late_extras,
        skip_paths: test.skip_snapshot_verify_paths.clone(),
    };
    let ours = match normalise::normalise(&observed, &setup) {
        Ok(o) => o,
        Err(e) => {
            result.intrinsic_executions = intrinsic_counts(node_id, 0, keys.len());
            return Verdict::Fail(e);
        }
    };
    let mut expected = Map::new();
    for k in observed.keys() {
        if let Some(v) = recorded.get(k) {
            expected.insert(k.clone(), v.clone());
        }
    }
    normalise::delete_skip_paths(&mut expected, &test.skip_snapshot_verify_paths);
    let mut first_diff = None;
    let mut passed = 0;
    let mut history_passed = 0;
    for k in observed.keys() {
        let (Some(a), Some(b)) = (expected.get(k), ours.get(k)) else {
            continue;
        };
        // DescribeExecution and CreateActivity responses are single values.
        let is_describe = describe_key == Some(k.as_str()) || k == "create_activity_output";
        let diff = if is_describe {
            value_diff(a, b)
        } else {
            history_diff(a, b)
        };
        match diff {
            None => {
                passed += 1;
                if !is_describe {
                    history_passed += 1;
                }
            }
            Some(d) => {
                if first_diff.is_none() {
                    first_diff = Some(format!("{k}: {d}"));
                }
            }
        }
    }
    result.intrinsic_executions = intrinsic_counts(
        node_id,
        history_passed,
        keys.len().saturating_sub(history_passed),
    );
    let compared = compared + usize::from(activity.is_some());
    match first_diff {
        None if passed == compared => Verdict::Pass,
        None => Verdict::Fail(format!("compared {passed} of {compared} responses")),
        Some(d) => Verdict::Fail(d),
    }
}

/// Runs the planned executions through the interpreter's driver; returns
/// the raw responses by match key and the execution names.
fn driver_executions(
    definition: &baton_asl::Definition,
    plans: Vec<(Option<String>, Input, Vec<tasks::Recorded>)>,
    describe_key: Option<&str>,
    subst: Option<&table::Entry>,
    role_replacement: &str,
) -> (HashMap<String, Value>, Vec<String>) {
    let mut ours_raw: HashMap<String, Value> = HashMap::new();
    let mut exec_names = Vec::new();
    for (i, (key, input, answers)) in plans.into_iter().enumerate() {
        let exec_name = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            0xba70_0000u32 + i as u32,
            i
        );
        let start = StartContext {
            execution_arn: format!(
                "arn:aws:states:{REGION}:{ACCOUNT}:execution:{MACHINE_NAME}:{exec_name}"
            ),
            execution_name: exec_name.clone(),
            state_machine_arn: format!(
                "arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{MACHINE_NAME}"
            ),
            state_machine_name: MACHINE_NAME.into(),
            role_arn: ROLE_ARN.into(),
            input: input.value,
            input_text: Some(input.text),
            region: REGION.into(),
            keep_history: true,
            history_cap: true,
            redrive_count: 0,
        };
        let mut handler = tasks::RecordedTasks::new(answers);
        handler.param_normalisers = vec![
            (ROLE_ARN.into(), role_replacement.to_string()),
            (MACHINE_NAME.into(), "<ArnPart_0idx>".into()),
            (exec_name.clone(), execution_placeholder(subst, i)),
            (REGION.into(), "<region>".into()),
            ("arn:aws:".into(), "arn:<partition>:".into()),
        ];
        let mut env = FixedEnv::new(START_MS, 0x5eed_0000 + i as u64);
        let outcome = driver::run(
            definition,
            start.clone(),
            &mut handler,
            &mut env,
            &RunOptions::default(),
        );
        if i == 0
            && let Some(k) = describe_key
        {
            ours_raw.insert(k.into(), describe_response(&start, &outcome));
        }
        if let Some(key) = key {
            ours_raw.insert(key, history_response(&outcome.events));
        }
        exec_names.push(exec_name);
    }
    (ours_raw, exec_names)
}

/// Raw responses by match key, execution names, state machine name, the
/// transformers of the resources created.
type HttpRun = (
    HashMap<String, Value>,
    Vec<String>,
    String,
    Vec<normalise::Extra>,
);

/// Whether the HTTP mode can replay a recorded task: activities (answered
/// by the runner's worker), SQS and SNS (Baton's services; a
/// `.waitForTaskToken` one answered by the runner's consumer) and Lambda
/// (a fixture function answering from the recording; not one that must
/// call back itself).
fn http_replayable(a: &tasks::Recorded, has_child: bool) -> bool {
    let wait = a
        .resource
        .as_deref()
        .is_some_and(|r| r.ends_with(".waitForTaskToken"));
    match a.service.as_str() {
        "activity" | "sqs" | "sns" => true,
        "lambda" => !wait,
        // The engine's own integrations, once the started machine exists.
        "states" | "sfn" => has_child && !wait,
        _ => false,
    }
}

/// The entry's other template (strict JSON), when the test lists exactly
/// two and one is the entry's: the state machine the test created first.
fn other_template(root: &Path, test: &IndexTest, chosen: &Path) -> Option<String> {
    let paths: Vec<PathBuf> = test
        .templates
        .iter()
        .filter(|t| t.ends_with(".json5"))
        .map(|t| {
            let rel = t.strip_prefix(PREFIX).unwrap_or(t);
            let rel = rel.strip_suffix(".json5").unwrap_or(rel);
            root.join("json").join(format!("{rel}.json"))
        })
        .collect();
    if paths.len() != 2 || !paths.iter().any(|p| p == chosen) {
        return None;
    }
    let other = paths.iter().find(|p| *p != chosen)?;
    let text = std::fs::read_to_string(other).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    if classify::find_placeholder(&text).is_some() {
        return None;
    }
    Some(pyjson::dumps(&value))
}

/// Runs the planned executions through Baton's HTTP API: creates the state
/// machine, starts each execution (with its activity worker when the
/// recording started activity tasks), waits for its end and reads its
/// history; returns the raw responses by match key, the execution names and
/// the state machine's name.
fn http_executions(
    h: &http::Http,
    definition: &str,
    recorded: &Map<String, Value>,
    plans: Vec<(Option<String>, Input, Vec<tasks::Recorded>)>,
    describe_key: Option<&str>,
    activity_arn: Option<&str>,
    resource_plan: Option<&http::resources::Plan>,
) -> Result<HttpRun, Verdict> {
    let mut client = h.client();
    // The test's resources, created before its state machine.
    let mut plans = plans;
    let resources = match resource_plan {
        Some(p) => {
            let texts: Vec<String> = plans.iter().map(|(_, i, _)| i.text.clone()).collect();
            let (texts, res) = p
                .create(h, &texts)
                .map_err(|e| Verdict::Fail(format!("runner: setting up resources: {e}")))?;
            for ((_, input, _), text) in plans.iter_mut().zip(texts) {
                if text != input.text {
                    input.value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    input.text = text;
                }
            }
            Some(res)
        }
        None => None,
    };
    let machine = format!("BatonConformance{:05}", h.next());
    let created = http::call(
        &mut client,
        "CreateStateMachine",
        serde_json::json!({"name": machine, "definition": definition, "roleArn": ROLE_ARN}),
    )
    .map_err(|e| Verdict::Fail(format!("runner: {e}")))?;
    if !created.ok() {
        return Err(Verdict::Fail(match created.error_code() {
            Some("InvalidDefinition") => format!(
                "definition rejected (AWS accepted it): {}",
                created.error_message().unwrap_or("")
            ),
            _ => format!(
                "CreateStateMachine answered {} {}",
                created.status, created.body
            ),
        }));
    }
    let sm_arn = created
        .body
        .get("stateMachineArn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut ours_raw = HashMap::new();
    let mut exec_names = Vec::new();
    for (i, (key, input, answers)) in plans.into_iter().enumerate() {
        let exec_name = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            0xba70_0000u32 + i as u32,
            i
        );
        let events: &[Value] = key
            .as_deref()
            .and_then(|k| recorded.get(k))
            .and_then(|h| h.get("events"))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let worker = match activity_arn {
            Some(arn) => http::ActivityWorker::start(h, arn.to_string(), events)
                .map_err(|e| Verdict::Fail(format!("runner: {e}")))?,
            None => None,
        };
        let responder = resources.as_ref().and_then(|r| {
            r.callback_queue.as_ref().and_then(|q| {
                http::responders::Responder::start(h, q.clone(), r.via_topic, answers.clone())
            })
        });
        let started = http::call(
            &mut client,
            "StartExecution",
            serde_json::json!({"stateMachineArn": sm_arn, "name": exec_name, "input": input.text}),
        )
        .map_err(|e| Verdict::Fail(format!("runner: {e}")))?;
        if !started.ok() {
            return Err(Verdict::Fail(format!(
                "StartExecution answered {} {}",
                started.status, started.body
            )));
        }
        let exec_arn = started
            .body
            .get("executionArn")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let described = http::await_end(&mut client, &exec_arn);
        let worker_result = worker.map_or(Ok(()), http::ActivityWorker::finish);
        let responder_result =
            responder.map_or(Ok(Vec::new()), http::responders::Responder::finish);
        let described = described.map_err(|e| Verdict::Fail(format!("runner: {e}")))?;
        worker_result.map_err(|e| Verdict::Fail(format!("runner: activity worker: {e}")))?;
        responder_result.map_err(|e| Verdict::Fail(format!("runner: callback consumer: {e}")))?;
        if i == 0
            && let Some(k) = describe_key
        {
            let mut v = http::boto_response(&described);
            http::dates_to_placeholder(&mut v);
            ours_raw.insert(k.to_string(), v);
        }
        if let Some(key) = key {
            let hist = http::history(&mut client, &exec_arn)
                .map_err(|e| Verdict::Fail(format!("runner: {e}")))?;
            if !hist.ok() {
                return Err(Verdict::Fail(format!(
                    "GetExecutionHistory answered {} {}",
                    hist.status, hist.body
                )));
            }
            let mut v = http::boto_response(&hist);
            http::dates_to_placeholder(&mut v);
            ours_raw.insert(key, v);
        }
        exec_names.push(exec_name);
    }
    Ok((
        ours_raw,
        exec_names,
        machine,
        resources.map(|r| r.extras).unwrap_or_default(),
    ))
}

/// What execution `i`'s name becomes in the recording.
fn execution_placeholder(subst: Option<&table::Entry>, i: usize) -> String {
    subst
        .and_then(|s| s.execution_names.get(i).cloned())
        .unwrap_or_else(|| format!("<ExecArnPart_{i}idx>"))
}

/// The recorded keys of a DescribeExecution response of the recorded execution.
const DESCRIBE_KEYS: [&str; 2] = ["describe_execution", "describe_execution_response"];

/// DescribeExecution's response body for an execution, shaped as AWS does:
/// `error`/`cause` only for FAILED, `output` only for SUCCEEDED, `stopDate`
/// once ended, `redriveStatus` REDRIVABLE for FAILED/TIMED_OUT/ABORTED.
/// Dates are epoch milliseconds (the normaliser turns them into datetimes).
fn describe_response(start: &StartContext, outcome: &driver::Outcome) -> Value {
    let status = outcome.status;
    let mut m = Map::new();
    if status == Status::Failed {
        if let Some(c) = &outcome.cause {
            m.insert("cause".into(), Value::String(c.clone()));
        }
        if let Some(e) = &outcome.error {
            m.insert("error".into(), Value::String(e.clone()));
        }
    }
    m.insert(
        "executionArn".into(),
        Value::String(start.execution_arn.clone()),
    );
    let input_text = start
        .input_text
        .clone()
        .unwrap_or_else(|| serde_json::to_string(&start.input).unwrap_or_default());
    m.insert("input".into(), Value::String(input_text));
    m.insert("inputDetails".into(), serde_json::json!({"included": true}));
    m.insert("name".into(), Value::String(start.execution_name.clone()));
    if status == Status::Succeeded {
        let output = succeeded_output(outcome).unwrap_or(Value::Null);
        m.insert("output".into(), output);
        m.insert(
            "outputDetails".into(),
            serde_json::json!({"included": true}),
        );
    }
    m.insert("redriveCount".into(), Value::from(start.redrive_count));
    let (redrive, reason) = match status {
        Status::Failed | Status::TimedOut | Status::Aborted => ("REDRIVABLE", None),
        Status::Succeeded | Status::Running => ("NOT_REDRIVABLE", Some(status.as_str())),
    };
    m.insert("redriveStatus".into(), Value::String(redrive.into()));
    if let Some(s) = reason {
        m.insert(
            "redriveStatusReason".into(),
            Value::String(format!("Execution is {s} and cannot be redriven")),
        );
    }
    m.insert("startDate".into(), Value::from(START_MS));
    m.insert(
        "stateMachineArn".into(),
        Value::String(start.state_machine_arn.clone()),
    );
    m.insert("status".into(), Value::String(status.as_str().into()));
    if status != Status::Running {
        m.insert(
            "stopDate".into(),
            Value::from(START_MS + outcome.elapsed_millis),
        );
    }
    m.insert(
        "ResponseMetadata".into(),
        serde_json::json!({"HTTPHeaders": {}, "HTTPStatusCode": 200}),
    );
    Value::Object(m)
}

/// The output text of a succeeded execution, as ExecutionSucceeded records it.
fn succeeded_output(outcome: &driver::Outcome) -> Option<Value> {
    let from_event = outcome.events.iter().rev().find_map(|e| {
        (e.r#type == baton_interp::EventType::ExecutionSucceeded)
            .then(|| e.details.as_ref().and_then(|d| d.get("output")).cloned())
            .flatten()
    });
    from_event.or_else(|| {
        outcome
            .output
            .as_ref()
            .map(|v| Value::String(serde_json::to_string(v).unwrap_or_default()))
    })
}

/// The first difference between two JSON values (by path).
pub fn value_diff(expected: &Value, ours: &Value) -> Option<String> {
    fn walk(path: &str, a: &Value, b: &Value) -> Option<String> {
        if a == b {
            return None;
        }
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, av) in x {
                    let p = format!("{path}.{k}");
                    match y.get(k) {
                        Some(bv) => {
                            if let Some(d) = walk(&p, av, bv) {
                                return Some(d);
                            }
                        }
                        None => return Some(format!("{p}: recorded {}, ours absent", short(av))),
                    }
                }
                y.iter()
                    .find(|(k, _)| !x.contains_key(*k))
                    .map(|(k, bv)| format!("{path}.{k}: recorded absent, ours {}", short(bv)))
            }
            _ => Some(format!("{path}: recorded {}, ours {}", short(a), short(b))),
        }
    }
    walk("$", expected, ours)
}

fn intrinsic_counts(node_id: &str, passed: usize, failed: usize) -> (usize, usize) {
    if folder_of(node_id) == "intrinsic_functions" {
        (passed, failed)
    } else {
        (0, 0)
    }
}

/// GetExecutionHistory's response body for our events.
fn history_response(events: &[baton_interp::HistoryEvent]) -> Value {
    let mut events_json = Vec::with_capacity(events.len());
    for e in events {
        let mut v = e.to_aws_json(true);
        // Keep milliseconds exactly (the normaliser turns them into datetimes).
        if let Some(ts) = v.get_mut("timestamp") {
            *ts = Value::from(e.timestamp);
        }
        events_json.push(v);
    }
    let mut m = Map::new();
    m.insert("events".into(), Value::Array(events_json));
    m.insert(
        "ResponseMetadata".into(),
        serde_json::json!({"HTTPHeaders": {}, "HTTPStatusCode": 200}),
    );
    Value::Object(m)
}

fn has_parallel_ids(history: &Value) -> bool {
    history
        .get("events")
        .and_then(Value::as_array)
        .is_some_and(|evs| evs.iter().any(|e| e.get("id").is_some_and(Value::is_array)))
}

fn first_state_name(history: &Value) -> Option<String> {
    history.get("events")?.as_array()?.iter().find_map(|e| {
        e.pointer("/stateEnteredEventDetails/name")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

/// An execution input: its text (as sent) and value.
struct Input {
    text: String,
    value: Value,
}

/// The execution input recorded in ExecutionStarted (objects were parsed by
/// the snapshot pipeline, so their text is Python's `json.dumps`, as the tests
/// sent it; other inputs are still the text sent).
fn recorded_input(events: &[Value]) -> Option<Input> {
    let started = events
        .iter()
        .find(|e| e.get("type").and_then(Value::as_str) == Some("ExecutionStarted"))?;
    input_of(started.pointer("/executionStartedEventDetails/input")?)
}

/// A recorded input value (see [`recorded_input`]), with the resource
/// placeholders the normalisation put in turned back into stand-in values
/// ([`denormalise`]), so that normalising our run replaces them again.
fn input_of(recorded: &Value) -> Option<Input> {
    let text = match recorded {
        Value::String(s) => s.clone(),
        other => pyjson::dumps(other),
    };
    let back = denormalise(&text);
    if back == text {
        return input_text_of(recorded);
    }
    let value = serde_json::from_str(&back).ok()?;
    Some(Input { text: back, value })
}

/// Stand-ins for the placeholders of resources the tests created:
/// `arn:<partition>:` → `arn:aws:`, `<region>` → our region, `<resource:N>` →
/// `baton-resource-N` (numbered again by the resource-name transformer in
/// the order the recording numbered the originals).
fn denormalise(text: &str) -> String {
    let mut out = text
        .replace("arn:<partition>:", "arn:aws:")
        .replace("<region>", REGION);
    while let Some(p) = out.find("<resource:") {
        let rest = &out[p + "<resource:".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || !rest[digits.len()..].starts_with('>') {
            break;
        }
        let end = p + "<resource:".len() + digits.len() + 1;
        out.replace_range(p..end, &format!("baton-resource-{digits}"));
    }
    out
}

fn input_text_of(recorded: &Value) -> Option<Input> {
    match recorded {
        Value::String(s) => serde_json::from_str(s).ok().map(|value| Input {
            text: s.clone(),
            value,
        }),
        other => Some(Input {
            text: pyjson::dumps(other),
            value: other.clone(),
        }),
    }
}

/// Picks the template of an entry: the table's, the one named by the param
/// id (LocalStack names template constants after the file), the only one, or
/// the one whose `StartAt` is the first state the recording entered.
fn resolve_template(
    root: &Path,
    test_id: &str,
    test: &IndexTest,
    node_id: &str,
    subst: Option<&table::Entry>,
    first_state: Option<&str>,
) -> Result<PathBuf, String> {
    let to_path = |repo_path: &str| -> PathBuf {
        let rel = repo_path.strip_prefix(PREFIX).unwrap_or(repo_path);
        let rel = rel
            .strip_suffix(".json5")
            .map(|r| format!("{r}.json"))
            .unwrap_or_else(|| rel.to_string());
        root.join("json").join(rel)
    };
    if let Some(t) = subst.and_then(|s| s.template.as_deref()) {
        return Ok(to_path(t));
    }
    let candidates: Vec<(String, PathBuf)> = test
        .templates
        .iter()
        .filter(|t| t.ends_with(".json5"))
        .map(|t| {
            (
                t.rsplit('/')
                    .next()
                    .unwrap_or(t)
                    .trim_end_matches(".json5")
                    .to_lowercase(),
                to_path(t),
            )
        })
        .filter(|(_, p)| p.is_file())
        .collect();
    if candidates.is_empty() {
        return Err("template not found".into());
    }
    if let Some(param) = table::param_of(node_id) {
        let name = param.rsplit('.').next().unwrap_or(param).to_lowercase();
        if let Some((_, p)) = candidates.iter().find(|(n, _)| *n == name) {
            return Ok(p.clone());
        }
    }
    if candidates.len() == 1 {
        return Ok(candidates[0].1.clone());
    }
    if let Some(first) = first_state {
        let matching: Vec<&PathBuf> = candidates
            .iter()
            .filter(|(_, p)| {
                std::fs::read_to_string(p)
                    .ok()
                    .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                    .and_then(|v| v.get("StartAt").and_then(Value::as_str).map(|s| s == first))
                    .unwrap_or(false)
            })
            .map(|(_, p)| p)
            .collect();
        if matching.len() == 1 {
            return Ok(matching[0].clone());
        }
    }
    let _ = test_id;
    Err("template ambiguous".into())
}

/// The first difference between a recorded and our normalised history.
pub fn history_diff(expected: &Value, ours: &Value) -> Option<String> {
    if expected == ours {
        return None;
    }
    let (Some(a), Some(b)) = (
        expected.get("events").and_then(Value::as_array),
        ours.get("events").and_then(Value::as_array),
    ) else {
        return Some(format!("expected {} got {}", short(expected), short(ours)));
    };
    for i in 0..a.len().max(b.len()) {
        match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => {
                return Some(format!(
                    "event {} ({} recorded, {} ours)\n  recorded: {}\n  ours:     {}",
                    i + 1,
                    a.len(),
                    b.len(),
                    x.map_or("(none)".into(), short),
                    y.map_or("(none)".into(), short)
                ));
            }
        }
    }
    Some(format!("expected {} got {}", short(expected), short(ours)))
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 600 {
        format!("{}…", s.chars().take(600).collect::<String>())
    } else {
        s
    }
}

/// Choice-operator entries: each recorded case through a Choice machine built
/// from the template, comparing the recorded `{input, output}` pairs.
fn run_choice_cases(
    root: &Path,
    exec: Exec<'_>,
    node_id: &str,
    recorded: &Map<String, Value>,
    subst: Option<&table::Entry>,
    result: &mut EntryResult,
) -> Verdict {
    let Some(cases) = recorded.get("cases").and_then(Value::as_array) else {
        return Verdict::Skip("API-shape entry".into());
    };
    let Some(subst) = subst else {
        return Verdict::Skip("needs substitution %ComparisonOperatorType%".into());
    };
    let Some(template) = subst.template.as_deref() else {
        return Verdict::Skip("template not found".into());
    };
    let rel = template.strip_prefix(PREFIX).unwrap_or(template);
    let path = root.join("json").join(
        rel.strip_suffix(".json5")
            .map(|r| format!("{r}.json"))
            .unwrap_or_else(|| rel.into()),
    );
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Verdict::Skip("template not found".into());
    };
    // LocalStack replaces in `json.dumps(definition)`.
    let Ok(def_value) = serde_json::from_str::<Value>(&text) else {
        return Verdict::Skip("template not strict JSON".into());
    };
    let mut base = pyjson::dumps(&def_value);
    for (from, to) in &subst.replace {
        base = base.replace(from.as_str(), to);
    }
    if let Some(p) = classify::find_placeholder(&base) {
        return Verdict::Skip(format!("needs substitution {p}"));
    }
    if let Some(inputs) = &subst.case_inputs
        && inputs.len() != cases.len()
    {
        return Verdict::Fail(format!(
            "substitutions table has {} case inputs, the recording {}",
            inputs.len(),
            cases.len()
        ));
    }
    let literal = subst.choice_literal_value.unwrap_or(false);
    let mut observed_cases = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let (variable, value) = match &subst.case_inputs {
            Some(inputs) => inputs[i].clone(),
            None => {
                let input = case.get("input");
                (
                    input
                        .and_then(|x| x.get("Variable"))
                        .cloned()
                        .unwrap_or(Value::Null),
                    input
                        .and_then(|x| x.get("Value"))
                        .cloned()
                        .unwrap_or(Value::Null),
                )
            }
        };
        let mut input_obj = Map::new();
        input_obj.insert("Variable".into(), variable);
        input_obj.insert("Value".into(), value.clone());
        let input_value = Value::Object(input_obj);
        let def_text = if literal {
            base.replace("\"$.Value\"", &pyjson::dumps(&value))
        } else {
            base.clone()
        };
        let output = match exec {
            Exec::Driver => run_case(&def_text, input_value.clone(), i),
            Exec::Http(h) => run_case_http(h, &def_text, &input_value),
        };
        let mut case_obj = Map::new();
        case_obj.insert("input".into(), Value::String(pyjson::dumps(&input_value)));
        case_obj.insert("output".into(), output);
        observed_cases.push(Value::Object(case_obj));
    }
    let mut observed = Map::new();
    observed.insert("cases".into(), Value::Array(observed_cases));
    let setup = Setup {
        role_arn: ROLE_ARN.into(),
        role_replacement: "snf_role_arn".into(),
        state_machine_name: None,
        execution_names: vec![],
        account: ACCOUNT.into(),
        region: REGION.into(),
        partition: "aws".into(),
        parallel: false,
        map_runs: false,
        extras: vec![],
        late_extras: vec![],
        skip_paths: vec![],
    };
    let ours = match normalise::normalise(&observed, &setup) {
        Ok(o) => o,
        Err(e) => {
            result.cases = (0, cases.len());
            return Verdict::Fail(e);
        }
    };
    let ours_cases = ours
        .get("cases")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut first = None;
    let mut passed = 0;
    for (i, case) in cases.iter().enumerate() {
        match ours_cases.get(i) {
            Some(o) if o == case => passed += 1,
            o => {
                if first.is_none() {
                    first = Some(format!(
                        "case {} of {}\n  recorded: {}\n  ours:     {}",
                        i + 1,
                        cases.len(),
                        short(case),
                        o.map_or("(none)".into(), short)
                    ));
                }
            }
        }
    }
    result.cases = (passed, cases.len() - passed);
    let _ = node_id;
    match first {
        None => Verdict::Pass,
        Some(d) => Verdict::Fail(d),
    }
}

/// Runs one Choice case through the HTTP API (a state machine per case, as
/// the test does); the value is the execution's output text, or an error
/// marker.
fn run_case_http(h: &http::Http, def_text: &str, input: &Value) -> Value {
    let mut client = h.client();
    let name = format!("BatonChoice{:05}", h.next());
    let created = match http::call(
        &mut client,
        "CreateStateMachine",
        serde_json::json!({"name": name, "definition": def_text, "roleArn": ROLE_ARN}),
    ) {
        Ok(r) => r,
        Err(e) => return Value::String(format!("<runner: {e}>")),
    };
    if !created.ok() {
        return Value::String(format!(
            "<definition rejected: {}>",
            created.error_message().unwrap_or("")
        ));
    }
    let arn = created
        .body
        .get("stateMachineArn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let started = match http::call(
        &mut client,
        "StartExecution",
        serde_json::json!({"stateMachineArn": arn, "input": pyjson::dumps(input)}),
    ) {
        Ok(r) if r.ok() => r,
        Ok(r) => {
            return Value::String(format!("<StartExecution answered {} {}>", r.status, r.body));
        }
        Err(e) => return Value::String(format!("<runner: {e}>")),
    };
    let exec_arn = started
        .body
        .get("executionArn")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let described = match http::await_end(&mut client, &exec_arn) {
        Ok(d) => d,
        Err(e) => return Value::String(format!("<runner: {e}>")),
    };
    match described.body.get("status").and_then(Value::as_str) {
        Some("SUCCEEDED") => described.body.get("output").cloned().unwrap_or(Value::Null),
        other => Value::String(format!(
            "<execution {}: {} {}>",
            other.unwrap_or("?"),
            described
                .body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or(""),
            described
                .body
                .get("cause")
                .and_then(Value::as_str)
                .unwrap_or("")
        )),
    }
}

/// Runs one Choice case; the value is what the test records as `output`
/// (the ExecutionSucceeded output text), or an error marker.
fn run_case(def_text: &str, input: Value, i: usize) -> Value {
    let (definition, diags) = baton_asl::load::load_str(def_text);
    let Some(definition) = definition else {
        return Value::String(format!(
            "<definition rejected: {}>",
            baton_asl::diag::invalid_definition_message(&diags)
        ));
    };
    let exec_name = format!(
        "{:08x}-0000-4000-8000-{:012x}",
        0xca5e_0000u32 + i as u32,
        i
    );
    let start = StartContext {
        execution_arn: format!(
            "arn:aws:states:{REGION}:{ACCOUNT}:execution:{MACHINE_NAME}_{i}:{exec_name}"
        ),
        execution_name: exec_name,
        state_machine_arn: format!(
            "arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{MACHINE_NAME}_{i}"
        ),
        state_machine_name: format!("{MACHINE_NAME}_{i}"),
        role_arn: ROLE_ARN.into(),
        input_text: Some(pyjson::dumps(&input)),
        input,
        region: REGION.into(),
        keep_history: true,
        history_cap: true,
        redrive_count: 0,
    };
    let mut handler = tasks::RecordedTasks::new(Vec::new());
    let mut env = FixedEnv::new(START_MS, 0xc0de + i as u64);
    let outcome = driver::run(
        &definition,
        start,
        &mut handler,
        &mut env,
        &RunOptions::default(),
    );
    if outcome.status != Status::Succeeded {
        return Value::String(format!(
            "<execution {}: {} {}>",
            outcome.status.as_str(),
            outcome.error.unwrap_or_default(),
            outcome.cause.unwrap_or_default()
        ));
    }
    succeeded_output(&outcome).unwrap_or(Value::Null)
}

/// Reads a known-failures file.
pub fn read_known_failures(path: Option<&Path>) -> anyhow::Result<KnownFailures> {
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow!("cannot read {}: {e}", p.display()))?;
            Ok(KnownFailures::parse(&text))
        }
        None => Ok(KnownFailures::parse(KNOWN_FAILURES)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_keys() {
        assert_eq!(
            folder_of("tests/aws/services/stepfunctions/v2/base/test_base.py::T::t"),
            "base"
        );
        assert_eq!(
            folder_of("tests/aws/services/stepfunctions/v2/test_sfn_api.py::T::t[x]"),
            "test_sfn_api"
        );
        assert!(
            is_history_key("exec_hist_resp_12")
                && is_history_key("get_execution_history")
                && is_history_key("exec_hist_resp")
        );
        assert!(!is_history_key("exec_hist_resp_x") && !is_history_key("describe_execution"));
        assert_eq!(history_index("exec_hist_resp_10"), 10);
    }

    #[test]
    fn known_failures_parse() {
        let k = KnownFailures::parse("# comment\n\na.py::C::t[x]  # reason here\nb.py::C::u\n");
        assert!(k.contains("a.py::C::t[x]") && k.contains("b.py::C::u"));
        assert_eq!(
            k.ids.get("a.py::C::t[x]").map(String::as_str),
            Some("reason here")
        );
        KnownFailures::parse(KNOWN_FAILURES);
        let k = KnownFailures::parse(
            "[http] h.py::C::t  # r1\n[both] b.py::C::t[x]  # r2\n[driver] d.py::C::t\n",
        );
        assert!(k.listed(Mode::Http, "h.py::C::t") && !k.listed(Mode::Driver, "h.py::C::t"));
        assert!(k.listed(Mode::Http, "b.py::C::t[x]") && k.listed(Mode::Driver, "b.py::C::t[x]"));
        assert!(k.listed(Mode::Driver, "d.py::C::t") && !k.listed(Mode::Http, "d.py::C::t"));
        assert_eq!(k.http.get("b.py::C::t[x]").map(String::as_str), Some("r2"));
    }

    #[test]
    fn report_last_line() {
        let mut r = Report::default();
        for (v, f) in [
            (Verdict::Pass, "base"),
            (Verdict::Fail("d".into()), "base"),
            (Verdict::Skip("JSONata".into()), "assign"),
        ] {
            r.entries.push(EntryResult {
                node_id: "x".into(),
                folder: f.into(),
                verdict: v,
                cases: (0, 0),
                intrinsic_executions: (0, 0),
            });
        }
        let text = r.render(true, &KnownFailures::default());
        assert_eq!(text.lines().last(), Some("1 passed, 1 failed, 1 skipped"));
        assert!(text.contains("[driver] assign: 0 passed, 0 failed, 1 skipped (JSONata: 1)"));
        assert!(text.contains("[driver] base: 1 passed, 1 failed, 0 skipped"));
        let mut h = r.clone();
        h.mode = Mode::Http;
        let all = render_all(&[r, h], false, &KnownFailures::default());
        let last: Vec<&str> = all.lines().rev().take(3).collect();
        assert_eq!(
            last,
            [
                "2 passed, 2 failed, 2 skipped",
                "http: 1 passed, 1 failed, 1 skipped",
                "driver: 1 passed, 1 failed, 1 skipped"
            ]
        );
    }

    #[test]
    fn recorded_inputs() {
        let ev = |input: Value| {
            vec![
                serde_json::json!({"type": "ExecutionStarted", "executionStartedEventDetails": {"input": input}}),
            ]
        };
        let i = recorded_input(&ev(serde_json::json!({"a": 1}))).unwrap();
        assert_eq!(
            (i.text.as_str(), i.value),
            ("{\"a\": 1}", serde_json::json!({"a": 1}))
        );
        let i = recorded_input(&ev(Value::String("[1,2]".into()))).unwrap();
        assert_eq!(
            (i.text.as_str(), i.value),
            ("[1,2]", serde_json::json!([1, 2]))
        );
        assert!(recorded_input(&ev(Value::String("not json".into()))).is_none());
    }
}
