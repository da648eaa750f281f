//! Commit throughput of the SQLite store.
//!
//! `cargo run --release -p baton-storage --example commit_bench -- [DIR] [full|normal|both] [ROUNDS]`
//!
//! For each batch size (1, 10, 100, 1000) it commits realistic transitions
//! (see `testing::bench_commit`) into a fresh database in DIR (default: the
//! temp directory) and prints transitions/s and commit latencies.

use std::path::PathBuf;

use baton_storage::sqlite::{SqliteOptions, SqliteStore, Synchronous};
use baton_storage::testing::bench_commit_report;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    let modes: Vec<Synchronous> = match args.get(2).map(String::as_str) {
        Some("full") => vec![Synchronous::Full],
        Some("normal") => vec![Synchronous::Normal],
        _ => vec![Synchronous::Full, Synchronous::Normal],
    };
    let rounds: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3);
    println!("mode    batch  transitions  commits  transitions/s (median of {rounds}; min-max)  p50 us  p99 us  max us");
    for mode in modes {
        for (batch, transitions) in [(1usize, 10_000usize), (10, 50_000), (100, 200_000), (1000, 200_000)] {
            let mut reports = Vec::new();
            for round in 0..rounds {
                let path = dir.join(format!("baton-commit-bench-{}-{round}.db", std::process::id()));
                remove(&path);
                let store = match SqliteStore::open_with(&path, SqliteOptions { synchronous: mode, ..SqliteOptions::default() }) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("cannot open {}: {e}", path.display());
                        std::process::exit(1);
                    }
                };
                reports.push(bench_commit_report(&store, transitions, batch));
                drop(store);
                remove(&path);
            }
            reports.sort_by(|a, b| a.transitions_per_s.total_cmp(&b.transitions_per_s));
            let mid = &reports[reports.len() / 2];
            println!(
                "{:<7} {:>5}  {:>11}  {:>7}  {:>10.0} ({:.0}-{:.0})  {:>8.0}  {:>6.0}  {:>6.0}",
                format!("{mode:?}"),
                batch,
                transitions,
                mid.commits,
                mid.transitions_per_s,
                reports[0].transitions_per_s,
                reports[reports.len() - 1].transitions_per_s,
                mid.p50_commit_us,
                mid.p99_commit_us,
                mid.max_commit_us
            );
        }
    }
}

fn remove(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.to_path_buf().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}
