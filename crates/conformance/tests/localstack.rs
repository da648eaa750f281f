//! Replays LocalStack's AWS-recorded snapshot suite (from `../shared/suites`
//! beside the repository) and fails on any failure not listed in
//! `conformance/known-failures.txt`, and on any listed entry that no longer
//! fails (the list stays equal to what fails).

use std::path::Path;

use baton_conformance::localstack::{self, KnownFailures, Options};

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
    let started = std::time::Instant::now();
    let report = localstack::run(root, &Options::default()).expect("suite runs");
    println!("{}", report.render(false, &known));
    println!("(took {:?})", started.elapsed());
    let unexpected = report.unexpected_failures(&known);
    let mut msg = String::new();
    for e in unexpected.iter().take(30) {
        if let localstack::Verdict::Fail(d) = &e.verdict {
            msg.push_str(&format!("\n{}\n  {}", e.node_id, d.replace('\n', "\n  ")));
        }
    }
    assert!(
        unexpected.is_empty(),
        "{} failures not in conformance/known-failures.txt:{msg}",
        unexpected.len()
    );
    let stale = report.stale_known_failures(&known, false);
    assert!(
        stale.is_empty(),
        "{} entries in conformance/known-failures.txt do not fail (remove them):\n{}",
        stale.len(),
        stale.join("\n")
    );
}
