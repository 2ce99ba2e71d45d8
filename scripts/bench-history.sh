#!/usr/bin/env bash
# What version history costs the durable write path (issue 14): tandem-server (release, SQLite)
# under the durable scenario of scripts/bench-server.sh (400 clients typing 60 keys/s into 200
# documents, counting Durable confirmations), once recording a version of every changed document
# every second (--version-interval 1, 300x the default rate) and once with automatic versions
# out of the window (--version-interval 1000000, the baseline), alternating, in one run.
#
#   scripts/bench-history.sh [ROUNDS]            default ROUNDS: 2 (each: baseline, then history)
#
# Environment: CARGO_TARGET_DIR, BENCH_SECONDS (default 15), BENCH_SKIP_BUILD=1.
# Prints one line per run and the ratio of the medians.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/lib.sh"
TARGET="$(target_dir)"
ROUNDS="${1:-2}"
SECS="${BENCH_SECONDS:-15}"
PORT=18090
WORK="$(mktemp -d -t tandem-bench-history.XXXXXX)"
PID=""
cleanup() {
    [[ -n "$PID" ]] && kill -9 "$PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release -p tandem-server -p tandem-load)
fi

run() { # NAME INTERVAL: one run, prints "NAME confirmed/s versions"
    local name="$1" interval="$2" dir="$WORK/$1"
    mkdir -p "$dir"
    RUST_LOG=warn "$TARGET/release/tandem-server" --listen "127.0.0.1:$PORT" --data-dir "$dir" \
        --max-connections 20000 --rate-limit-messages 1000000 --rate-limit-bytes 1000000000 \
        --idle-unload-secs 3600 --version-interval "$interval" >>"$WORK/server.log" 2>&1 &
    PID=$!
    for _ in $(seq 200); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.05; done
    "$TARGET/release/tandem-load" --url "ws://127.0.0.1:$PORT" --json --docs 200 --clients-per-doc 2 \
        --rate 60 --duration "$SECS" --drain 2 --doc-prefix durable- --ext-durable >"$WORK/$name.json" 2>>"$WORK/load.log"
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    local versions
    versions=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from versions').fetchone()[0])" "$dir/tandem.db")
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], round(d['durable']['confirmed_per_s']), sys.argv[3])" \
        "$WORK/$name.json" "$name" "$versions"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
results=()
for round in $(seq "$ROUNDS"); do
    results+=("$(run "baseline-$round" 1000000)")
    echo "${results[-1]} (versions recorded)"
    results+=("$(run "history-$round" 1)")
    echo "${results[-1]} (versions recorded)"
done
printf '%s\n' "${results[@]}" | python3 -c '
import sys, statistics
rows = [line.split() for line in sys.stdin if line.strip()]
base = statistics.median(float(r[1]) for r in rows if r[0].startswith("baseline"))
hist = statistics.median(float(r[1]) for r in rows if r[0].startswith("history"))
print(f"median confirmed/s: baseline {base:.0f}, history every 1 s {hist:.0f}, ratio {hist / base:.3f}")
'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
