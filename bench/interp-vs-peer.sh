#!/usr/bin/env bash
# Baton's interpreter side by side with a peer: the npm package aws-local-stepfunctions
# (an in-process TypeScript ASL interpreter), on the same three workloads, one execution at a
# time, throughput in state transitions (states entered) per second.
#
# Usage (from anywhere):
#
#   bench/interp-vs-peer.sh [--runs N] [--seconds S] [--workload NAME]...
#
#   --runs N          peer runs after its warm-up run (default 5; it reports the median over runs)
#   --seconds S       Baton's measured wall time per workload (default 5; median over 5 windows)
#   --workload NAME   measure only this Baton workload (pass-chain, choice-loop, map; repeatable);
#                     the peer always runs its three scenarios
#
# The peer is installed into bench/peer/node_modules (git-ignored) from the pinned
# bench/peer/package.json when missing (needs node and npm). The peer's benchmark script is
# read from ../shared/bench/peers/asl_local_stepfunctions.cjs beside the repo, or from
# $PEER_SCRIPT. Baton is built with `cargo build --release -p baton`.
# The two run one after the other, never at the same time. Figures from a busy machine
# (other builds running) are noisy: compare ratios from one run, not figures across runs.
set -euo pipefail

RUNS=5
SECONDS_PER_WORKLOAD=5
WORKLOADS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --seconds) SECONDS_PER_WORKLOAD="$2"; shift 2 ;;
    --workload) WORKLOADS+=(--workload "$2"); shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEER_DIR="$HERE/peer"
PEER_SCRIPT="${PEER_SCRIPT:-$ROOT/../shared/bench/peers/asl_local_stepfunctions.cjs}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

command -v node >/dev/null || { echo "node is not installed: cannot run the peer" >&2; exit 1; }
[ -f "$PEER_SCRIPT" ] || { echo "peer script not found: $PEER_SCRIPT (set PEER_SCRIPT)" >&2; exit 1; }

if [ ! -d "$PEER_DIR/node_modules/aws-local-stepfunctions" ]; then
  echo "installing the peer into $PEER_DIR/node_modules ..." >&2
  (cd "$PEER_DIR" && npm install --no-audit --no-fund --loglevel=error) >&2
fi

echo "building baton (release) ..." >&2
cargo build --release -q -p baton --manifest-path "$ROOT/Cargo.toml" >&2
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
BATON="$TARGET_DIR/release/baton"

echo "running the peer (aws-local-stepfunctions, $RUNS runs after a warm-up) ..." >&2
ASL_DIR="$PEER_DIR" node "$PEER_SCRIPT" --runs "$RUNS" >"$OUT/peer.json"

echo "running baton bench interp ($SECONDS_PER_WORKLOAD s per workload) ..." >&2
BATON_STATUS=0
"$BATON" bench interp --json --seconds "$SECONDS_PER_WORKLOAD" ${WORKLOADS[@]+"${WORKLOADS[@]}"} >"$OUT/baton.jsonl" 2>"$OUT/baton.err" || BATON_STATUS=$?

node - "$OUT/peer.json" "$OUT/baton.jsonl" "$OUT/baton.err" "$BATON_STATUS" <<'EOF'
const fs = require('fs');
const [peerFile, batonFile, errFile, status] = process.argv.slice(2);
const peer = JSON.parse(fs.readFileSync(peerFile, 'utf8'));
const ours = fs.readFileSync(batonFile, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
const names = { a_pass100: 'pass-chain', b_choice1000: 'choice-loop', c_map10000: 'map' };
const fmt = (x) => (x === undefined ? '-' : Math.round(x).toLocaleString('en-US'));
console.log(`peer: ${peer.package} on node ${peer.node}; baton: release build, no history`);
console.log('workload      trans/exec   peer trans/s (min-max)          baton trans/s (min-max)         baton/peer');
const rows = [];
for (const r of peer.results) {
  const name = names[r.name] || r.name;
  const b = ours.find((o) => o.workload === name);
  const p = r.transitions_per_s;
  const ratio = b ? b.transitions_per_sec / p.median : undefined;
  rows.push({ workload: name, transitions_per_execution: r.transitions_per_execution,
    peer_transitions_per_sec: p.median, baton_transitions_per_sec: b ? b.transitions_per_sec : null,
    ratio: ratio === undefined ? null : +ratio.toFixed(2) });
  console.log(
    `${name.padEnd(13)} ${String(r.transitions_per_execution).padStart(10)}   ` +
      `${`${fmt(p.median)} (${fmt(p.min)}-${fmt(p.max)})`.padEnd(31)} ` +
      `${(b ? `${fmt(b.transitions_per_sec)} (${fmt(b.transitions_per_sec_min)}-${fmt(b.transitions_per_sec_max)})` : 'n/a').padEnd(31)} ` +
      `${ratio === undefined ? 'n/a' : ratio.toFixed(1) + 'x'}`
  );
}
console.log(JSON.stringify({ bench: 'interp-vs-peer', peer: peer.package, rows }));
if (status !== '0') {
  console.error(`baton bench interp failed (exit ${status}): ${fs.readFileSync(errFile, 'utf8').trim()}`);
  process.exit(1);
}
EOF
