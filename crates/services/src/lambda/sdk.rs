//! The AWS SDK a runtime provides, as AWS's runtimes do: aws-sdk v2 for
//! `nodejs16.x` and older, the SDK v3 clients for newer `nodejs`, boto3 for
//! `python`. Installed once into Baton's cache on first use of a runtime
//! family (one install at a time; concurrent invocations wait):
//!
//! ```text
//! <cache>/lambda-sdk/nodejs-aws-sdk-v2/node_modules/aws-sdk
//! <cache>/lambda-sdk/nodejs-aws-sdk-v3/node_modules/@aws-sdk/client-*
//! <cache>/lambda-sdk/python-boto3/boto3
//! ```
//!
//! `<cache>` is `BATON_CACHE_DIR`, else `$XDG_CACHE_HOME/baton`, else
//! `~/.cache/baton`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::model::{RuntimeFamily, service_exception};
use crate::ServiceError;

/// The SDK v3 clients installed for `nodejs18.x` and newer.
const NODE_V3_PACKAGES: &[&str] = &[
    "@aws-sdk/client-sfn",
    "@aws-sdk/client-sqs",
    "@aws-sdk/client-sns",
    "@aws-sdk/client-lambda",
    "@aws-sdk/client-dynamodb",
    "@aws-sdk/lib-dynamodb",
    "@aws-sdk/client-s3",
];

/// Baton's cache folder when the configuration names none.
pub(crate) fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BATON_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("baton");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(h).join(".cache").join("baton");
    }
    std::env::temp_dir().join("baton-cache")
}

/// The runtime SDKs in the cache.
pub(crate) struct SdkCache {
    root: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

/// One SDK: where it lives and how it is installed.
struct Sdk {
    what: &'static str,
    dir: PathBuf,
    /// Files whose presence means the install is complete.
    markers: Vec<PathBuf>,
    program: &'static str,
    args: Vec<String>,
}

impl SdkCache {
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    fn sdk(&self, family: RuntimeFamily) -> Option<Sdk> {
        let base = self.root.join("lambda-sdk");
        match family {
            RuntimeFamily::NodeSdkV2 => {
                let dir = base.join("nodejs-aws-sdk-v2");
                Some(Sdk {
                    what: "aws-sdk v2 (the SDK of the nodejs16.x and older runtimes)",
                    markers: vec![dir.join("node_modules/aws-sdk/package.json")],
                    program: "npm",
                    args: npm_args(&dir, &["aws-sdk@2"]),
                    dir,
                })
            }
            RuntimeFamily::NodeSdkV3 => {
                let dir = base.join("nodejs-aws-sdk-v3");
                Some(Sdk {
                    what: "the AWS SDK v3 clients (the SDK of the nodejs18.x and newer runtimes)",
                    markers: NODE_V3_PACKAGES
                        .iter()
                        .map(|p| dir.join("node_modules").join(p).join("package.json"))
                        .collect(),
                    program: "npm",
                    args: npm_args(&dir, NODE_V3_PACKAGES),
                    dir,
                })
            }
            RuntimeFamily::Python => {
                let dir = base.join("python-boto3");
                let mut args: Vec<String> = ["-m", "pip", "install", "--disable-pip-version-check"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                args.extend([
                    "--no-input".into(),
                    "--upgrade".into(),
                    "--target".into(),
                    dir.display().to_string(),
                    "boto3".into(),
                ]);
                Some(Sdk {
                    what: "boto3 (the SDK of the python runtimes)",
                    markers: vec![
                        dir.join("boto3/__init__.py"),
                        dir.join("botocore/__init__.py"),
                    ],
                    program: "python3",
                    args,
                    dir,
                })
            }
            RuntimeFamily::Provided => None,
        }
    }

    /// The folder to put on `NODE_PATH` / `PYTHONPATH` for `family`, when
    /// it is installed.
    pub fn path_if_installed(&self, family: RuntimeFamily) -> Option<PathBuf> {
        let sdk = self.sdk(family)?;
        sdk.markers
            .iter()
            .all(|m| m.is_file())
            .then(|| search_path(family, &sdk.dir))
    }

    /// Whether a function's own folder ships the SDK its runtime would
    /// provide (then nothing needs installing).
    pub fn shipped_by(code_dir: &Path, family: RuntimeFamily) -> bool {
        match family {
            RuntimeFamily::NodeSdkV2 => {
                code_dir.join("node_modules/aws-sdk/package.json").is_file()
            }
            RuntimeFamily::NodeSdkV3 => code_dir.join("node_modules/@aws-sdk").is_dir(),
            RuntimeFamily::Python => code_dir.join("boto3/__init__.py").is_file(),
            RuntimeFamily::Provided => true,
        }
    }

    /// Installs the SDK of `family` unless it is there; returns the folder
    /// for `NODE_PATH` / `PYTHONPATH`.
    pub async fn ensure(&self, family: RuntimeFamily) -> Result<Option<PathBuf>, ServiceError> {
        let Some(sdk) = self.sdk(family) else {
            return Ok(None);
        };
        if let Some(p) = self.path_if_installed(family) {
            return Ok(Some(p));
        }
        let _guard = self.lock.lock().await;
        if let Some(p) = self.path_if_installed(family) {
            return Ok(Some(p));
        }
        let by_hand = format!(
            "{} {}",
            sdk.program,
            sdk.args
                .iter()
                .map(|a| shell_quote(a))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let fail = |why: String| {
            service_exception(format!(
                "Baton could not install {} into its cache {}: {why}. Run this once by hand \
                 (where the package registry is reachable), then invoke again: {by_hand}",
                sdk.what,
                sdk.dir.display()
            ))
        };
        std::fs::create_dir_all(&sdk.dir)
            .map_err(|e| fail(format!("cannot create the folder ({e})")))?;
        eprintln!(
            "baton: installing {} into {} (once; later invocations reuse it)...",
            sdk.what,
            sdk.dir.display()
        );
        tracing::info!(sdk = sdk.what, dir = %sdk.dir.display(), "installing a runtime SDK");
        let mut cmd = tokio::process::Command::new(sdk.program);
        cmd.args(&sdk.args)
            .stdin(Stdio::null())
            .stdout(stderr_stdio())
            .stderr(stderr_stdio())
            .kill_on_drop(true);
        let status = cmd.status().await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                fail(format!("{} is not installed", sdk.program))
            } else {
                fail(format!("cannot run {} ({e})", sdk.program))
            }
        })?;
        if !status.success() {
            let tool = if sdk.program == "npm" {
                "npm install"
            } else {
                "pip install"
            };
            return Err(fail(format!(
                "`{tool}` failed ({status}; is the package registry reachable?)"
            )));
        }
        match self.path_if_installed(family) {
            Some(p) => {
                eprintln!("baton: {} installed", sdk.what);
                Ok(Some(p))
            }
            None => Err(fail("the install finished but the SDK is missing".into())),
        }
    }
}

fn npm_args(dir: &Path, packages: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "install".into(),
        "--prefix".into(),
        dir.display().to_string(),
        "--no-audit".into(),
        "--no-fund".into(),
        "--no-package-lock".into(),
    ];
    args.extend(packages.iter().map(|p| p.to_string()));
    args
}

fn search_path(family: RuntimeFamily, dir: &Path) -> PathBuf {
    match family {
        RuntimeFamily::NodeSdkV2 | RuntimeFamily::NodeSdkV3 => dir.join("node_modules"),
        _ => dir.to_path_buf(),
    }
}

fn shell_quote(s: &str) -> String {
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_./@=:".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The installers' output goes to Baton's stderr (their progress).
#[cfg(unix)]
fn stderr_stdio() -> Stdio {
    use std::os::fd::AsFd as _;
    match std::io::stderr().as_fd().try_clone_to_owned() {
        Ok(fd) => Stdio::from(fd),
        Err(_) => Stdio::null(),
    }
}

/// The installers' output goes to Baton's own output (their progress).
#[cfg(not(unix))]
fn stderr_stdio() -> Stdio {
    Stdio::inherit()
}
