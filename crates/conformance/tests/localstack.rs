//! Replays LocalStack's AWS-recorded snapshot suite (from `../shared/suites`
//! beside the repository) in both modes, the interpreter driver and Baton's
//! HTTP API (Baton started in process), and fails on any failure not listed
//! for its mode in `conformance/known-failures.txt`, and on any listed entry
//! that no longer fails (the list stays equal to what fails).

use std::path::Path;

use baton_conformance::localstack::{self, KnownFailures, Mode, Options};

#[test]
fn localstack_snapshot_suite() {
    let root = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/suites/localstack-stepfunctions"
    ));
    if !root.join("INDEX.json").is_file() {
        eprintln!("skipping: LocalStack suite not found at {}", root.display());
        return;
    }
    let known = KnownFailures::parse(localstack::KNOWN_FAILURES);
    let mut reports = Vec::new();
    for mode in [Mode::Driver, Mode::Http] {
        let started = std::time::Instant::now();
        let report = localstack::run_mode(root, &Options::default(), mode).expect("suite runs");
        println!("({} mode took {:?})", mode.as_str(), started.elapsed());
        reports.push(report);
    }
    println!("{}", localstack::render_all(&reports, false, &known));
    let mut msg = String::new();
    let mut stale = Vec::new();
    for report in &reports {
        for e in report.unexpected_failures(&known).iter().take(30) {
            if let localstack::Verdict::Fail(d) = &e.verdict {
                msg.push_str(&format!(
                    "\n[{}] {}\n  {}",
                    report.mode.as_str(),
                    e.node_id,
                    d.replace('\n', "\n  ")
                ));
            }
        }
        for s in report.stale_known_failures(&known, false) {
            stale.push(format!("[{}] {s}", report.mode.as_str()));
        }
    }
    assert!(
        msg.is_empty(),
        "failures not in conformance/known-failures.txt:{msg}"
    );
    assert!(
        stale.is_empty(),
        "{} entries in conformance/known-failures.txt do not fail (remove them):\n{}",
        stale.len(),
        stale.join("\n")
    );
}
