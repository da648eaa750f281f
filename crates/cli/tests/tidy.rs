//! Repository hygiene as a test: the architecture's invariants that can be
//! checked by reading files (rust-analyzer's `tidy`).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The language core is pure: no I/O, no clock, no OS randomness, no async
/// runtime, no database, no HTTP.
#[test]
fn language_core_is_pure() {
    for krate in ["asl", "interp"] {
        let dir = root().join("crates").join(krate);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let deps = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap_or("")
            .split("\n[")
            .next()
            .unwrap_or("");
        for banned in [
            "tokio",
            "axum",
            "hyper",
            "rusqlite",
            "sqlx",
            "reqwest",
            "rand",
            "getrandom",
            "uuid",
            "chrono",
            "jiff",
        ] {
            assert!(
                !deps.lines().any(|l| l.trim_start().starts_with(banned)),
                "crates/{krate} must not depend on {banned}"
            );
        }
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for banned in [
                "SystemTime",
                "Instant::now",
                "std::fs",
                "std::net",
                "std::process",
                "std::env",
                "thread::spawn",
            ] {
                assert!(
                    !text.contains(banned),
                    "{} uses {banned}: the language core does no I/O and reads no clock",
                    f.display()
                );
            }
        }
    }
}

/// Every crate follows the workspace lints.
#[test]
fn every_crate_uses_workspace_lints() {
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        assert!(
            text.contains("[lints]\nworkspace = true"),
            "{} lacks `[lints] workspace = true`",
            manifest.display()
        );
    }
}

/// SQL is known only to the storage backends.
#[test]
fn sql_stays_in_storage() {
    for krate in ["asl", "interp", "engine", "server", "conformance", "cli"] {
        let mut files = Vec::new();
        rust_files(&root().join("crates").join(krate).join("src"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for sql in ["SELECT ", "INSERT INTO", "CREATE TABLE", "rusqlite"] {
                assert!(
                    !text.contains(sql),
                    "{} contains SQL ({sql}); SQL belongs to crates/storage",
                    f.display()
                );
            }
        }
    }
}
