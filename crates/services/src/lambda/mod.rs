//! Lambda-like functions: local handlers run by warm worker processes.
//!
//! - A function is a folder on Baton's machine plus a runtime and a
//!   handler, kept in the store (kind `lambda-function`, key
//!   `<account>/<region>/<name>`); Baton's own `PutFunction` creates or
//!   updates it ([`model`]).
//! - Each function has a pool of warm workers ([`worker`]): one `node`,
//!   `python3` or `provided` `bootstrap` process each, speaking the Lambda
//!   Runtime API on its own loopback port ([`runtime_api`]), one invocation
//!   at a time, at most [`Config::max_workers_per_function`] at once.
//!   The bootstraps (`bootstrap/node.js`, `bootstrap/python.py`) ship in
//!   the binary and are written under `<data>/lambda/runtime/`.
//! - The SDK the runtime provides is installed once into Baton's cache
//!   ([`sdk`]).
//! - `Event` invocations are queued durably and retried twice ([`asyncq`]);
//!   SQS event source mappings poll queues through the SQS service
//!   ([`esm`]); every invocation's log is kept ([`logs`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use base64::Engine as _;
use baton_storage::{ResourceOp, ResourceRecord, Store};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{
    AwsService, BoxFuture, FunctionInvoker, Invocation, InvocationType, Scope, Service,
    ServiceError,
};

mod asyncq;
mod esm;
mod logs;
mod model;
mod runtime_api;
mod sdk;
mod worker;

use model::{
    FUNCTION_KIND, FunctionRecord, FunctionRef, MAX_ASYNC_PAYLOAD, MAX_SYNC_PAYLOAD, RuntimeFamily,
    check_qualifier, function_key, invalid, member_u64, not_found, now_ms, parse_function_ref,
    runtime_family, service_exception, too_many_requests, validation,
};
use worker::{Pool, RunReport, SpawnSpec, Worker};

/// The Node.js bootstrap (a Runtime API client).
const NODE_BOOTSTRAP: &str = include_str!("bootstrap/node.js");
/// The Python bootstrap (a Runtime API client).
const PYTHON_BOOTSTRAP: &str = include_str!("bootstrap/python.py");

/// How long a worker stays warm without invocations.
const IDLE_TTL: Duration = Duration::from_secs(15 * 60);

/// Settings of the function service.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where invocation logs (`<data>/lambda/logs/`) and the runtime
    /// bootstraps (`<data>/lambda/runtime/`) live.
    pub data_dir: PathBuf,
    /// Where the runtimes' SDKs are installed; `None`: `BATON_CACHE_DIR`,
    /// else `$XDG_CACHE_HOME/baton`, else `~/.cache/baton`.
    pub cache_dir: Option<PathBuf>,
    /// Workers (so concurrent invocations) per function; a
    /// `RequestResponse` invocation beyond it gets `TooManyRequestsException`.
    pub max_workers_per_function: usize,
    /// The wait before an `Event` invocation's second attempt; the third
    /// waits twice as long (AWS: 1 and 2 minutes).
    pub async_retry_delay: Duration,
}

impl Config {
    /// The defaults, with data under `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            cache_dir: None,
            max_workers_per_function: 4,
            async_retry_delay: Duration::from_secs(60),
        }
    }
}

/// The function service.
pub struct Lambda {
    me: Weak<Lambda>,
    store: Arc<dyn Store>,
    sqs: Service,
    config: Config,
    cache: sdk::SdkCache,
    node_bootstrap: PathBuf,
    python_bootstrap: PathBuf,
    logs_root: PathBuf,
    endpoint: watch::Sender<Option<String>>,
    stopping: watch::Sender<bool>,
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    /// Event source mapping pollers by UUID.
    pollers: Mutex<HashMap<String, JoinHandle<()>>>,
    /// Background work (the reaper, queued `Event` invocations).
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Lambda {
    /// Opens the functions kept in `store`; `sqs` feeds event source
    /// mappings. Starts background work on the current tokio runtime.
    pub fn start(
        store: Arc<dyn Store>,
        sqs: Service,
        config: Config,
    ) -> Result<Arc<Lambda>, ServiceError> {
        let runtime_dir = config.data_dir.join("lambda").join("runtime");
        std::fs::create_dir_all(&runtime_dir).map_err(|e| {
            ServiceError::internal(format!("cannot create {}: {e}", runtime_dir.display()))
        })?;
        let write = |name: &str, text: &str| -> Result<PathBuf, ServiceError> {
            let p = runtime_dir.join(name);
            if std::fs::read_to_string(&p).ok().as_deref() != Some(text) {
                std::fs::write(&p, text).map_err(|e| {
                    ServiceError::internal(format!("cannot write {}: {e}", p.display()))
                })?;
            }
            Ok(p)
        };
        let node_bootstrap = write("node-bootstrap.js", NODE_BOOTSTRAP)?;
        let python_bootstrap = write("python-bootstrap.py", PYTHON_BOOTSTRAP)?;
        let cache_root = config
            .cache_dir
            .clone()
            .unwrap_or_else(sdk::default_cache_dir);
        let logs_root = config.data_dir.join("lambda").join("logs");
        let lambda = Arc::new_cyclic(|me| Lambda {
            me: me.clone(),
            store,
            sqs,
            cache: sdk::SdkCache::new(cache_root),
            node_bootstrap,
            python_bootstrap,
            logs_root,
            endpoint: watch::channel(None).0,
            stopping: watch::channel(false).0,
            pools: Mutex::new(HashMap::new()),
            pollers: Mutex::new(HashMap::new()),
            tasks: Mutex::new(Vec::new()),
            config,
        });
        let reaper = {
            let me = lambda.me.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    let Some(l) = me.upgrade() else { return };
                    let pools: Vec<Arc<Pool>> = l
                        .pools
                        .lock()
                        .map(|p| p.values().cloned().collect())
                        .unwrap_or_default();
                    for p in pools {
                        p.reap(IDLE_TTL);
                    }
                }
            })
        };
        lambda.track(reaper);
        lambda.recover_async()?;
        lambda.recover_mappings()?;
        Ok(lambda)
    }

    /// The URL handlers reach Baton at (`AWS_ENDPOINT_URL`).
    pub fn set_endpoint(&self, url: &str) {
        self.endpoint
            .send_replace(Some(url.trim_end_matches('/').to_string()));
    }

    /// Stops background work and the worker processes.
    pub async fn shutdown(&self) {
        self.stopping.send_replace(true);
        let pollers: Vec<JoinHandle<()>> = self
            .pollers
            .lock()
            .map(|mut p| p.drain().map(|(_, h)| h).collect())
            .unwrap_or_default();
        let tasks: Vec<JoinHandle<()>> = self
            .tasks
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        for h in pollers.iter().chain(tasks.iter()) {
            h.abort();
        }
        for h in pollers.into_iter().chain(tasks) {
            let _ = h.await;
        }
        let pools: Vec<Arc<Pool>> = self
            .pools
            .lock()
            .map(|mut p| p.drain().map(|(_, v)| v).collect())
            .unwrap_or_default();
        for p in pools {
            p.retire();
        }
    }

    fn arc(&self) -> Result<Arc<Lambda>, ServiceError> {
        self.me
            .upgrade()
            .ok_or_else(|| service_exception("The function service is stopping"))
    }

    fn track(&self, h: JoinHandle<()>) {
        if let Ok(mut t) = self.tasks.lock() {
            t.retain(|h| !h.is_finished());
            t.push(h);
        }
    }

    fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Resolves once `shutdown` begins.
    async fn stopped(&self) {
        let mut rx = self.stopping.subscribe();
        loop {
            if *rx.borrow_and_update() {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Baton's endpoint, once `set_endpoint` gave it.
    async fn endpoint(&self) -> Result<String, ServiceError> {
        let mut rx = self.endpoint.subscribe();
        loop {
            if let Some(e) = rx.borrow_and_update().clone() {
                return Ok(e);
            }
            tokio::select! {
                r = rx.changed() => if r.is_err() {
                    return Err(service_exception("The function service is stopping"));
                },
                () = self.stopped() => return Err(service_exception("The function service is stopping")),
            }
        }
    }

    // ----- functions ---------------------------------------------------------

    fn load_function(&self, key: &str) -> Result<Option<FunctionRecord>, ServiceError> {
        match self.store.get_resource(FUNCTION_KIND, key)? {
            None => Ok(None),
            Some(r) => serde_json::from_str(&r.value).map(Some).map_err(|e| {
                ServiceError::internal(format!("a stored function is unreadable ({key}): {e}"))
            }),
        }
    }

    fn function(&self, r: &FunctionRef) -> Result<FunctionRecord, ServiceError> {
        self.load_function(&r.key())?.ok_or_else(|| r.not_found())
    }

    fn function_ref(
        &self,
        scope: &Scope,
        input: &Value,
        member: &str,
    ) -> Result<FunctionRef, ServiceError> {
        let name = input
            .get("FunctionName")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("FunctionName is required"))?;
        let r = parse_function_ref(scope, name, member)?;
        let q = input.get("Qualifier").and_then(Value::as_str);
        check_qualifier(r, q)
    }

    async fn put_function(&self, scope: &Scope, input: Value) -> Result<Value, ServiceError> {
        let p = model::parse_put_function(&input)?;
        let key = function_key(scope, &p.name);
        let dir = PathBuf::from(&p.code_dir);
        let (code_sha256, code_size) =
            tokio::task::spawn_blocking(move || model::digest_folder(&dir))
                .await
                .map_err(|e| ServiceError::internal(format!("cannot read the code folder: {e}")))?;
        let existing = self.load_function(&key)?;
        let role = p
            .role
            .or_else(|| existing.as_ref().map(|e| e.role.clone()))
            .unwrap_or_else(|| {
                format!(
                    "arn:{}:iam::{}:role/baton-lambda-role",
                    scope.partition(),
                    scope.account
                )
            });
        let record = FunctionRecord {
            name: p.name,
            account: scope.account.clone(),
            region: scope.region.clone(),
            runtime: p.runtime,
            handler: p.handler,
            code_dir: p.code_dir,
            environment: p.environment,
            timeout: p.timeout,
            memory: p.memory,
            description: p.description,
            role,
            last_modified_ms: now_ms(),
            revision_id: baton_engine::control::uuid_v4(),
            code_sha256,
            code_size,
        };
        let value = serde_json::to_string(&record)
            .map_err(|e| ServiceError::internal(format!("cannot encode the function: {e}")))?;
        self.store
            .write_resources(&[ResourceOp::Put(ResourceRecord {
                kind: FUNCTION_KIND.into(),
                key: key.clone(),
                value,
            })])?;
        self.retire_pool(&key);
        tracing::info!(function = %record.arn(), runtime = %record.runtime, code = %record.code_dir, "function saved");
        Ok(record.configuration())
    }

    async fn delete_function(&self, scope: &Scope, input: Value) -> Result<Value, ServiceError> {
        let r = self.function_ref(scope, &input, "functionName")?;
        if r.qualifier.is_some() {
            return Err(invalid(
                "Deletion of $LATEST version is not allowed. Delete the function without a qualifier.",
            ));
        }
        let f = self.function(&r)?;
        self.store.write_resources(&[ResourceOp::Delete {
            kind: FUNCTION_KIND.into(),
            key: f.key(),
        }])?;
        self.retire_pool(&f.key());
        Ok(json!({}))
    }

    fn list_functions(&self, scope: &Scope, input: &Value) -> Result<Value, ServiceError> {
        let max = member_u64(input, "MaxItems")?.unwrap_or(50);
        model::check_range(max, 1, 10_000, "maxItems")?;
        let prefix = format!("{}/{}/", scope.account, scope.region);
        let after = match input.get("Marker").and_then(Value::as_str) {
            Some(m) if !m.is_empty() => Some(decode_marker(m, &prefix)?),
            _ => None,
        };
        let rows = self.store.list_resources(
            FUNCTION_KIND,
            &prefix,
            after.as_deref(),
            max as usize + 1,
        )?;
        let mut functions = Vec::new();
        let mut next = None;
        for (i, row) in rows.iter().enumerate() {
            if i == max as usize {
                next = functions.last().map(|_| rows[i - 1].key.clone());
                break;
            }
            if let Ok(f) = serde_json::from_str::<FunctionRecord>(&row.value) {
                functions.push(f.configuration());
            }
        }
        let mut out = json!({ "Functions": functions });
        if let (Some(k), Some(o)) = (next, out.as_object_mut()) {
            o.insert("NextMarker".into(), Value::String(encode_marker(&k)));
        }
        Ok(out)
    }

    fn retire_pool(&self, key: &str) {
        let old = self.pools.lock().ok().and_then(|mut p| p.remove(key));
        if let Some(p) = old {
            p.retire();
        }
    }

    fn pool_for(&self, f: &FunctionRecord) -> Arc<Pool> {
        let key = f.key();
        let Ok(mut pools) = self.pools.lock() else {
            return Arc::new(Pool::new(f.clone(), self.config.max_workers_per_function));
        };
        if let Some(p) = pools.get(&key)
            && p.function.revision_id == f.revision_id
        {
            return p.clone();
        }
        let p = Arc::new(Pool::new(f.clone(), self.config.max_workers_per_function));
        if let Some(old) = pools.insert(key, p.clone()) {
            old.retire();
        }
        p
    }

    // ----- invocations -------------------------------------------------------

    /// Runs one invocation of `f` on a warm (or new) worker. With
    /// `wait_for_worker` false, a function whose workers are all busy
    /// answers `TooManyRequestsException` at once.
    async fn run(
        &self,
        f: FunctionRecord,
        payload: Vec<u8>,
        wait_for_worker: bool,
    ) -> Result<(String, RunReport), ServiceError> {
        let me = self.arc()?;
        // The invocation runs on its own task: a caller that goes away does
        // not kill the worker mid-invocation.
        tokio::spawn(async move { me.run_inner(f, payload, wait_for_worker).await })
            .await
            .map_err(|e| service_exception(format!("the invocation failed: {e}")))?
    }

    async fn run_inner(
        &self,
        mut f: FunctionRecord,
        payload: Vec<u8>,
        wait_for_worker: bool,
    ) -> Result<(String, RunReport), ServiceError> {
        let request_id = baton_engine::control::uuid_v4();
        let (pool, _permit) = loop {
            if self.is_stopping() {
                return Err(service_exception("The function service is stopping"));
            }
            let pool = self.pool_for(&f);
            let permit = if wait_for_worker {
                pool.slot().await
            } else {
                Some(pool.try_slot().ok_or_else(too_many_requests)?)
            };
            match permit {
                Some(p) => break (pool, p),
                // The function changed while waiting: run the new revision.
                None => {
                    f = self
                        .load_function(&f.key())?
                        .ok_or_else(|| not_found(format!("Function not found: {}", f.arn())))?
                }
            }
        };
        let mut worker = match pool.take_idle() {
            Some(w) => w,
            None => match self.spawn_worker(&pool.function).await? {
                Ok(w) => w,
                Err(report) => {
                    self.keep_log(&pool.function, &request_id, &report.log)
                        .await;
                    return Ok((request_id, report));
                }
            },
        };
        let report = tokio::select! {
            r = worker.invoke(&request_id, payload, &pool.function) => r,
            () = self.stopped() => return Err(service_exception("The function service is stopping")),
        };
        self.keep_log(&pool.function, &request_id, &report.log)
            .await;
        pool.put_back(worker);
        Ok((request_id, report))
    }

    async fn keep_log(&self, f: &FunctionRecord, request_id: &str, log: &[u8]) {
        let dir = logs::function_dir(&self.logs_root, &f.account, &f.region, &f.name);
        let id = request_id.to_string();
        let log = log.to_vec();
        let started = now_ms();
        let _ = tokio::task::spawn_blocking(move || {
            logs::write_invocation(&dir, started, &id, &log);
        })
        .await;
    }

    /// Starts a worker for `f`: `Ok(Err(report))` when the function cannot
    /// start (an invocation error, as Lambda reports a bad entry point).
    async fn spawn_worker(
        &self,
        f: &FunctionRecord,
    ) -> Result<Result<Worker, RunReport>, ServiceError> {
        let family = runtime_family(&f.runtime).ok_or_else(|| {
            service_exception(format!("Runtime {} is not supported by Baton", f.runtime))
        })?;
        let code_dir = PathBuf::from(&f.code_dir);
        let sdk_path = if sdk::SdkCache::shipped_by(&code_dir, family) {
            self.cache.path_if_installed(family)
        } else {
            tokio::select! {
                r = self.cache.ensure(family) => r?,
                () = self.stopped() => return Err(service_exception("The function service is stopping")),
            }
        };
        let endpoint = self.endpoint().await?;
        let search_path = |extra: Option<PathBuf>| {
            let mut paths = vec![code_dir.clone()];
            paths.extend(extra);
            std::env::join_paths(paths)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| f.code_dir.clone())
        };
        let (program, args, mut env, synced) = match family {
            RuntimeFamily::NodeSdkV2 | RuntimeFamily::NodeSdkV3 => {
                let node = worker::which("node").ok_or_else(|| {
                    service_exception(format!(
                        "Baton runs {} functions with this machine's `node`, which is not on \
                         PATH: install Node.js",
                        f.runtime
                    ))
                })?;
                let env = vec![
                    ("NODE_PATH".to_string(), search_path(sdk_path)),
                    ("AWS_NODEJS_CONNECTION_REUSE_ENABLED".into(), "1".into()),
                    (
                        "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE".into(),
                        "1".into(),
                    ),
                ];
                let args = vec![self.node_bootstrap.display().to_string()];
                (node, args, env, true)
            }
            RuntimeFamily::Python => {
                // The machine's python3 runs every python3.x runtime (an exact
                // `python3.x` on PATH may be a version manager's shim).
                let python = worker::which("python3").ok_or_else(|| {
                    service_exception(format!(
                        "Baton runs {} functions with this machine's `python3`, which is not \
                             on PATH: install Python 3",
                        f.runtime
                    ))
                })?;
                let env = vec![
                    ("PYTHONPATH".to_string(), search_path(sdk_path)),
                    ("PYTHONUNBUFFERED".into(), "1".into()),
                ];
                let args = vec![self.python_bootstrap.display().to_string()];
                (python, args, env, true)
            }
            RuntimeFamily::Provided => {
                let bootstrap = code_dir.join("bootstrap");
                if !worker::is_executable(&bootstrap) {
                    let request_id = baton_engine::control::uuid_v4();
                    let payload = json!({
                        "errorType": "Runtime.InvalidEntrypoint",
                        "errorMessage": format!(
                            "RequestId: {request_id} Error: Couldn't find valid bootstrap(s): [{}]",
                            bootstrap.display()
                        ),
                    });
                    let log = format!(
                        "START RequestId: {request_id} Version: $LATEST\n\
                         Couldn't find valid bootstrap(s): [{}]\n\
                         END RequestId: {request_id}\n\
                         REPORT RequestId: {request_id}\tDuration: 0.00 ms\tBilled Duration: 0 ms\tMemory Size: {} MB\tMax Memory Used: 0 MB\t\n",
                        bootstrap.display(),
                        f.memory
                    );
                    return Ok(Err(RunReport {
                        payload: payload.to_string().into_bytes(),
                        failed: true,
                        log: log.into_bytes(),
                    }));
                }
                (bootstrap, Vec::new(), Vec::new(), false)
            }
        };
        let now = now_ms();
        let stream = format!(
            "{}/[$LATEST]{}",
            model::format_day(now),
            baton_engine::control::uuid_v4().replace('-', "")
        );
        for (k, v) in [
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("HOME", std::env::var("HOME").unwrap_or_default()),
            ("LANG", "C.UTF-8".into()),
            ("TZ", ":UTC".into()),
            ("_HANDLER", f.handler.clone()),
            ("LAMBDA_TASK_ROOT", f.code_dir.clone()),
            (
                "LAMBDA_RUNTIME_DIR",
                self.node_bootstrap
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            ("AWS_EXECUTION_ENV", format!("AWS_Lambda_{}", f.runtime)),
            ("AWS_REGION", f.region.clone()),
            ("AWS_DEFAULT_REGION", f.region.clone()),
            ("AWS_ACCESS_KEY_ID", f.account.clone()),
            ("AWS_SECRET_ACCESS_KEY", "baton".into()),
            ("AWS_SESSION_TOKEN", "baton".into()),
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_LAMBDA_FUNCTION_NAME", f.name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", f.memory.to_string()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/{}", f.name),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ] {
            env.push((k.to_string(), v));
        }
        for (k, v) in &f.environment {
            if let Some(v) = v.as_str() {
                env.push((k.clone(), v.to_string()));
            }
        }
        let spec = SpawnSpec {
            program: program.clone(),
            args,
            env,
            cwd: code_dir,
            synced,
        };
        Worker::spawn(&spec).await.map(Ok).map_err(|e| {
            service_exception(format!(
                "Baton could not start {} for function {}: {e}",
                program.display(),
                f.name
            ))
        })
    }

    /// [`FunctionInvoker::invoke`] with a separate qualifier (the REST
    /// API's `?Qualifier=`); only `$LATEST` exists in Baton.
    pub async fn invoke_qualified(
        &self,
        scope: &Scope,
        function: &str,
        qualifier: Option<&str>,
        payload: Vec<u8>,
        invocation_type: InvocationType,
        log_tail: bool,
    ) -> Result<Invocation, ServiceError> {
        let r = parse_function_ref(scope, function, "functionName")?;
        let r = check_qualifier(r, qualifier)?;
        self.invoke_ref(&r, payload, invocation_type, log_tail, false)
            .await
    }

    /// One invocation of a function named by `r`. With `wait_for_worker`
    /// a RequestResponse invocation waits for a free worker instead of
    /// answering `TooManyRequestsException`.
    async fn invoke_ref(
        &self,
        r: &FunctionRef,
        payload: Vec<u8>,
        invocation_type: InvocationType,
        log_tail: bool,
        wait_for_worker: bool,
    ) -> Result<Invocation, ServiceError> {
        let f = self
            .load_function(&r.key())?
            .ok_or_else(|| r.invoke_not_found())?;
        let payload = check_payload(payload, invocation_type)?;
        match invocation_type {
            InvocationType::DryRun => Ok(Invocation {
                status_code: 204,
                payload: Vec::new(),
                function_error: None,
                executed_version: "$LATEST".into(),
                log_tail: None,
            }),
            InvocationType::Event => {
                self.enqueue_event(&f, payload)?;
                Ok(Invocation {
                    status_code: 202,
                    payload: Vec::new(),
                    function_error: None,
                    executed_version: "$LATEST".into(),
                    log_tail: None,
                })
            }
            InvocationType::RequestResponse => {
                let (_, report) = self.run(f, payload, wait_for_worker).await?;
                Ok(Invocation {
                    status_code: 200,
                    function_error: report.failed.then(|| "Unhandled".to_string()),
                    executed_version: "$LATEST".into(),
                    log_tail: log_tail.then(|| logs::tail_of(&report.log)),
                    payload: report.payload,
                })
            }
        }
    }

    /// `Invoke` in the JSON shape: `{"FunctionName", "Payload",
    /// "InvocationType", "LogType", "Qualifier"}` →
    /// `{"StatusCode", "Payload", "FunctionError", "ExecutedVersion",
    /// "LogResult"}`.
    async fn invoke_action(&self, scope: &Scope, input: Value) -> Result<Value, ServiceError> {
        let r = self.function_ref(scope, &input, "functionName")?;
        let invocation_type = match input.get("InvocationType").and_then(Value::as_str) {
            None | Some("RequestResponse") => InvocationType::RequestResponse,
            Some("Event") => InvocationType::Event,
            Some("DryRun") => InvocationType::DryRun,
            Some(other) => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{other}' at 'invocationType' failed to \
                     satisfy constraint: Member must satisfy enum value set: [Event, \
                     RequestResponse, DryRun]"
                )));
            }
        };
        let log_tail = match input.get("LogType").and_then(Value::as_str) {
            None | Some("None") => false,
            Some("Tail") => true,
            Some(other) => {
                return Err(validation(format!(
                    "1 validation error detected: Value '{other}' at 'logType' failed to satisfy \
                     constraint: Member must satisfy enum value set: [None, Tail]"
                )));
            }
        };
        let payload = match input.get("Payload") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => s.clone().into_bytes(),
            Some(other) => other.to_string().into_bytes(),
        };
        let inv = self
            .invoke_ref(&r, payload, invocation_type, log_tail, true)
            .await?;
        Ok(invocation_output(&inv, invocation_type))
    }

    fn function_logs(&self, scope: &Scope, input: &Value) -> Result<Value, ServiceError> {
        let r = self.function_ref(scope, input, "functionName")?;
        let dir = logs::function_dir(&self.logs_root, &r.scope.account, &r.scope.region, &r.name);
        if self.load_function(&r.key())?.is_none() && !dir.is_dir() {
            return Err(r.not_found());
        }
        let limit = member_u64(input, "Limit")?.unwrap_or(20).clamp(1, 1000) as usize;
        let after = input
            .get("NextToken")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut v = logs::read_invocations(&dir, after.as_deref(), limit);
        if let Some(o) = v.as_object_mut() {
            o.insert("FunctionName".into(), Value::String(r.name.clone()));
            o.insert(
                "FunctionArn".into(),
                Value::String(model::function_arn(&r.scope, &r.name)),
            );
        }
        Ok(v)
    }

    async fn dispatch(
        &self,
        scope: &Scope,
        action: &str,
        input: Value,
    ) -> Result<Value, ServiceError> {
        match action {
            "PutFunction" => self.put_function(scope, input).await,
            "DeleteFunction" => self.delete_function(scope, input).await,
            "GetFunction" => {
                let r = self.function_ref(scope, &input, "functionName")?;
                Ok(self.function(&r)?.get_function_output())
            }
            "GetFunctionConfiguration" => {
                let r = self.function_ref(scope, &input, "functionName")?;
                Ok(self.function(&r)?.configuration())
            }
            "ListFunctions" => self.list_functions(scope, &input),
            "Invoke" => self.invoke_action(scope, input).await,
            "GetFunctionLogs" => self.function_logs(scope, &input),
            "CreateEventSourceMapping" => self.create_mapping(scope, input).await,
            "GetEventSourceMapping" => self.get_mapping(scope, &input),
            "ListEventSourceMappings" => self.list_mappings(scope, &input),
            "UpdateEventSourceMapping" => self.update_mapping(scope, input).await,
            "DeleteEventSourceMapping" => self.delete_mapping(scope, &input),
            "CreateFunction" | "UpdateFunctionCode" => Err(invalid(format!(
                "{action} with a deployment package is not supported by Baton: functions run from \
                 a local folder (baton deploy, or PUT /_baton/v1/functions/NAME with \
                 CodeDirectory)"
            ))),
            _ => Err(ServiceError::client(
                "UnknownOperationException",
                format!("Lambda action {action} is not supported by Baton"),
            )
            .with_status(400)),
        }
    }
}

/// Invoke's output in the JSON shape.
fn invocation_output(inv: &Invocation, invocation_type: InvocationType) -> Value {
    let mut out = json!({
        "StatusCode": inv.status_code,
        "Payload": String::from_utf8_lossy(&inv.payload),
    });
    if let Some(o) = out.as_object_mut() {
        if let Some(e) = &inv.function_error {
            o.insert("FunctionError".into(), Value::String(e.clone()));
        }
        if invocation_type == InvocationType::RequestResponse {
            o.insert(
                "ExecutedVersion".into(),
                Value::String(inv.executed_version.clone()),
            );
        }
        if let Some(t) = &inv.log_tail {
            o.insert(
                "LogResult".into(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(t)),
            );
        }
    }
    out
}

/// The payload an invocation carries: JSON (empty means `{}`), within the
/// size limit of its type.
fn check_payload(payload: Vec<u8>, t: InvocationType) -> Result<Vec<u8>, ServiceError> {
    let (limit, op) = match t {
        InvocationType::Event => (MAX_ASYNC_PAYLOAD, "InvokeFunctionAsync"),
        _ => (MAX_SYNC_PAYLOAD, "InvokeFunction"),
    };
    if payload.len() > limit {
        return Err(ServiceError::client(
            "RequestEntityTooLargeException",
            format!("Request must be smaller than {limit} bytes for the {op} operation"),
        )
        .with_status(413));
    }
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(b"{}".to_vec());
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload) {
        return Err(ServiceError::client(
            "InvalidRequestContentException",
            format!(
                "Could not parse request body into json: Could not parse payload into json: {e}"
            ),
        ));
    }
    Ok(payload)
}

fn encode_marker(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

fn decode_marker(m: &str, prefix: &str) -> Result<String, ServiceError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(m)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|k| k.starts_with(prefix))
        .ok_or_else(|| invalid("Invalid pagination token"))
}

impl AwsService for Lambda {
    fn call<'a>(
        &'a self,
        scope: &'a Scope,
        action: &'a str,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, ServiceError>> {
        Box::pin(self.dispatch(scope, action, input))
    }
}

/// Invocations from inside Baton (Step Functions tasks, SNS deliveries)
/// wait for a free worker: on AWS they would run on the account's
/// concurrency (1,000 by default), so a Map state invoking one function
/// many times at once must not see `TooManyRequestsException` only because
/// Baton keeps few warm workers per function. The Lambda API's Invoke
/// answers 429 as AWS does.
impl FunctionInvoker for Lambda {
    fn invoke<'a>(
        &'a self,
        scope: &'a Scope,
        function: &'a str,
        payload: Vec<u8>,
        invocation_type: InvocationType,
        log_tail: bool,
    ) -> BoxFuture<'a, Result<Invocation, ServiceError>> {
        Box::pin(async move {
            let r = parse_function_ref(scope, function, "functionName")?;
            let r = check_qualifier(r, None)?;
            self.invoke_ref(&r, payload, invocation_type, log_tail, true)
                .await
        })
    }
}

#[cfg(test)]
mod tests;
