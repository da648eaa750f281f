//! The asl-validator definitions: every valid one loads, every invalid one is
//! refused (where a definition contradicts AWS's behaviour, AWS wins: see
//! `AWS_OVERRIDES`).

use std::path::PathBuf;

#[test]
fn asl_validator_definitions() {
    let root = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/suites/asl-validator"
    ));
    if !root.join("definitions").is_dir() {
        println!("asl-validator: skipped, {} is not present", root.display());
        return;
    }
    let report = baton_conformance::asl_validator::run(&root).expect("the suite runs");
    println!("{report}");
    let text = report.to_string();
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("62/62 valid accepted, 50/50 invalid rejected"),
        "{text}"
    );
}
