#!/usr/bin/env bash
# Short fuzzing smoke of every cargo-fuzz target (CI calls this when cargo-fuzz is installed).
#
# Usage: fuzz/smoke.sh [SECONDS_PER_TARGET]   (default 20)
#
# Builds the targets with the installed stable toolchain (RUSTC_BOOTSTRAP=1 lets cargo-fuzz use
# the nightly-only sanitizer flags), then runs each for the given wall time. A crash makes the
# script exit non-zero; the crashing input is saved under fuzz/artifacts/<target>/. The working
# corpora live in fuzz/corpus/<target>/ (git-ignored); the tiny seeds in fuzz/seeds/<target>/
# are read too. Without cargo-fuzz this prints a skip message and exits 0.
set -euo pipefail

SECS="${1:-20}"
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz smoke skipped: cargo-fuzz is not installed (cargo install cargo-fuzz)"
  exit 0
fi

export RUSTC_BOOTSTRAP=1
cargo fuzz build
TARGETS="$(cargo fuzz list)"
for t in $TARGETS; do
  mkdir -p "corpus/$t" "artifacts/$t"
  dirs=("corpus/$t")
  [ -d "seeds/$t" ] && dirs+=("seeds/$t")
  echo "== fuzz $t for ${SECS}s"
  # -rss_limit_mb: a runaway allocation is a finding too.
  log="artifacts/$t/smoke.log"
  status=0
  cargo fuzz run "$t" "${dirs[@]}" -- -max_total_time="$SECS" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|panicked at|Test unit written|Reproduce with" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz target $t FAILED (exit $status): input saved under fuzz/artifacts/$t/, full log $log" >&2
    exit 1
  fi
done
echo "fuzz smoke passed: $(echo $TARGETS | wc -w) targets, ${SECS}s each"
