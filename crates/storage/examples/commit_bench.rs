//! Commit throughput of the SQLite store.
//!
//! `cargo run --release -p baton-storage --example commit_bench -- [--dir DIR]
//! [--sync full|normal|off|both] [--rounds N] [--batches 1,10,100,1000]
//! [--page-size BYTES] [--cache-kib KIB] [--autocheckpoint PAGES] [--transitions N]`
//!
//! For each batch size it commits realistic transitions (see
//! `testing::bench_commit`) into a fresh database in DIR (default: the temp
//! directory) and prints transitions/s and commit latencies.

use std::path::PathBuf;

use baton_storage::sqlite::{SqliteOptions, SqliteStore, Synchronous};
use baton_storage::testing::bench_commit_report;

fn main() {
    let mut dir = std::env::temp_dir();
    let mut modes = vec![Synchronous::Full, Synchronous::Normal];
    let mut rounds = 3usize;
    let mut batches = vec![1usize, 10, 100, 1000];
    let mut page_size = SqliteOptions::default().page_size;
    let mut fixed_transitions: Option<usize> = None;
    let mut cache_kib = SqliteOptions::default().writer_cache_kib;
    let mut ckpt = SqliteOptions::default().wal_autocheckpoint;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().map(String::as_str).unwrap_or_default();
        match flag.as_str() {
            "--dir" => dir = PathBuf::from(value),
            "--sync" => {
                modes = match value {
                    "full" => vec![Synchronous::Full],
                    "normal" => vec![Synchronous::Normal],
                    "off" => vec![Synchronous::Off],
                    _ => vec![Synchronous::Full, Synchronous::Normal],
                }
            }
            "--rounds" => rounds = value.parse().unwrap_or(rounds).max(1),
            "--batches" => batches = value.split(',').filter_map(|s| s.parse().ok()).collect(),
            "--page-size" => page_size = value.parse().unwrap_or(page_size),
            "--cache-kib" => cache_kib = value.parse().unwrap_or(cache_kib),
            "--autocheckpoint" => ckpt = value.parse().unwrap_or(ckpt),
            "--transitions" => fixed_transitions = value.parse().ok(),
            other => {
                eprintln!("unknown flag {other}");
                std::process::exit(2);
            }
        }
    }
    println!(
        "sync    batch  transitions  commits  transitions/s median (min-max) of {rounds}   p50 us  p99 us  max us"
    );
    for mode in modes {
        for &batch in &batches {
            let transitions = fixed_transitions.unwrap_or(match batch {
                0..=1 => 10_000,
                2..=10 => 50_000,
                _ => 200_000,
            });
            let mut reports = Vec::new();
            for round in 0..rounds {
                let path = dir.join(format!(
                    "baton-commit-bench-{}-{round}.db",
                    std::process::id()
                ));
                remove(&path);
                let options = SqliteOptions {
                    synchronous: mode,
                    page_size,
                    writer_cache_kib: cache_kib,
                    wal_autocheckpoint: ckpt,
                    ..SqliteOptions::default()
                };
                let store = match SqliteStore::open_with(&path, options) {
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
