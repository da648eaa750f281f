//! The asl-validator definition suite: `definitions/valid-*.json` must load
//! without diagnostics, `definitions/invalid-*.json` must produce at least one.
//!
//! Where a file's expectation contradicts AWS's own recorded behaviour, AWS
//! wins: [`AWS_OVERRIDES`] lists those files with the recording that decides.

use std::fmt;
use std::path::Path;

use anyhow::Context as _;
use baton_asl::{Diagnostic, load};

/// A file whose expected outcome follows AWS rather than asl-validator.
#[derive(Debug, Clone, Copy)]
pub struct Override {
    /// The file name in `definitions/`.
    pub file: &'static str,
    /// Whether AWS accepts the definition.
    pub aws_accepts: bool,
    /// Why, citing the AWS recording.
    pub reason: &'static str,
}

/// The asl-validator expectations AWS's recordings contradict.
pub const AWS_OVERRIDES: &[Override] = &[
    Override {
        file: "valid-task-credentials.json",
        aws_accepts: false,
        reason: "Credentials without RoleArn: AWS refuses it with \"The field 'RoleArn' is required but was \
                 missing\" (LocalStack v2/credentials/test_credentials_base.snapshot.json, \
                 test_invalid_credentials_field[INVALID_CREDENTIALS_FIELD], recorded against AWS)",
    },
    Override {
        file: "valid-cfn-definition-substitutions.json",
        aws_accepts: false,
        reason: "Resource \"${lambdaArn}\" is a CloudFormation placeholder, not an ARN: AWS refuses resources it \
                 does not recognise with \"The resource provided … is not recognized. The value is not a valid \
                 resource ARN\" (LocalStack v2/services/test_dynamodb_task_service.snapshot.json, \
                 test_invalid_integration, recorded against AWS)",
    },
    Override {
        file: "valid-task-intrisic-function.json",
        aws_accepts: false,
        reason: "Resource is a CloudFormation object ({\"Ref\": ...}), not an ARN string; refused like any \
                 unrecognised resource (LocalStack v2/services/test_dynamodb_task_service.snapshot.json, \
                 test_invalid_integration, recorded against AWS)",
    },
    Override {
        file: "valid-map-with-item-batcher-jsonata.json",
        aws_accepts: false,
        reason: "A state declaring QueryLanguage JSONPath in a JSONata machine: \"'QueryLanguage' can not be \
                 'JSONPath' if set to 'JSONata' for whole state machine\" (LocalStack \
                 v2/test_sfn_api_validation.snapshot.json, INVALID_DOWNGRADE_QUERY_LANGUAGE, recorded against AWS)",
    },
    Override {
        file: "valid-path-array-context.json",
        aws_accepts: false,
        reason: "OutputPath \"$[(@.length-1)].bar\" is a Goessner script expression. AWS compiles paths with \
                 Jayway JsonPath 2.x (its recorded runtime errors quote Jayway 2.x: \"Missing property in path \
                 $['no']\"); Jayway 2.x PathCompiler.readNextToken/readArrayToken accepts after '[' only a \
                 quoted name, an index/slice (digit, '-' or ':'), '*', a '?(' filter or a placeholder; \
                 '[(@.length-1)]' existed only in Jayway 1.x",
    },
    Override {
        file: "valid-current-value-predicate.json",
        aws_accepts: false,
        reason: "'[?(@.OutputKey == FooBar)]' compares with an unquoted word: Jayway 2.x \
                 FilterCompiler.readLiteral sends it to readNumberLiteral, which reads an empty number and \
                 fails (\"Could not compile inline filter\"), so AWS refuses the path argument at creation",
    },
];

/// One file whose outcome differs from the expectation.
#[derive(Debug, Clone)]
pub struct Failure {
    pub file: String,
    /// Whether the file was expected to load.
    pub expected_valid: bool,
    /// What the loader reported (empty when it accepted the file).
    pub diagnostics: Vec<Diagnostic>,
}

/// Counts per group and the failures.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// `valid-*` files, and how many of them behaved as expected.
    pub valid_total: usize,
    pub valid_ok: usize,
    /// `invalid-*` files, and how many of them behaved as expected.
    pub invalid_total: usize,
    pub invalid_ok: usize,
    /// Files whose expectation was flipped to AWS's behaviour.
    pub overridden: Vec<&'static str>,
    pub failures: Vec<Failure>,
}

impl Report {
    /// Whether every file behaved as expected.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} valid accepted, {}/{} invalid rejected",
            self.valid_ok, self.valid_total, self.invalid_ok, self.invalid_total
        )?;
        if !self.overridden.is_empty() {
            write!(
                f,
                " ({} expectations follow AWS's behaviour: {})",
                self.overridden.len(),
                self.overridden.join(", ")
            )?;
        }
        for fail in &self.failures {
            if fail.expected_valid {
                write!(f, "\n  {}: expected valid, got:", fail.file)?;
                for d in &fail.diagnostics {
                    write!(f, "\n    {d}")?;
                }
            } else {
                write!(f, "\n  {}: expected invalid, but it loaded", fail.file)?;
            }
        }
        Ok(())
    }
}

/// Runs the suite at `root` (a folder holding `definitions/`).
pub fn run(root: &Path) -> anyhow::Result<Report> {
    let dir = root.join("definitions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut report = Report::default();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let is_valid_group = name.starts_with("valid-");
        if !is_valid_group && !name.starts_with("invalid-") {
            continue;
        }
        let src = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let (_, diagnostics) = load::load_str(&src);
        let mut expected_valid = is_valid_group;
        if let Some(o) = AWS_OVERRIDES.iter().find(|o| o.file == name) {
            expected_valid = o.aws_accepts;
            report.overridden.push(o.file);
        }
        let ok = diagnostics.is_empty() == expected_valid;
        if is_valid_group {
            report.valid_total += 1;
            report.valid_ok += usize::from(ok);
        } else {
            report.invalid_total += 1;
            report.invalid_ok += usize::from(ok);
        }
        if !ok {
            report.failures.push(Failure {
                file: name,
                expected_valid,
                diagnostics,
            });
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs_the_suite() {
        let root = std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/suites/asl-validator"
        ));
        if !root.is_dir() {
            println!("skipped: the asl-validator suite is not present beside the repository");
            return;
        }
        let report = super::run(&root).expect("run");
        println!("{report}");
        assert_eq!((report.valid_total, report.invalid_total), (62, 50));
        assert_eq!(report.overridden.len(), super::AWS_OVERRIDES.len());
    }
}
