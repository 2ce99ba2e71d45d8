#!/usr/bin/env bash
# The server benchmark of issue 7: tandem-server (release) against the stock node y-websocket
# server (@y/websocket-server 0.1.1, bench/), same load generator (tandem-load), same run, one host.
#
#   scripts/bench-server.sh [OUT_DIR]          default OUT_DIR: load/bench-results
#
# Environment:
#   CARGO_TARGET_DIR  where tandem-server and tandem-load are built   (default: the workspace's)
#   BENCH_SECONDS     typing window of the timed scenarios            (default 20)
#   BENCH_SKIP_BUILD  set to 1 to use the binaries already built
#
# Writes OUT_DIR/raw/*.json (one tandem-load report per run, plus RSS/timing notes),
# OUT_DIR/results.json (everything, with tandem/node ratios) and OUT_DIR/bench.png.
# Each scenario starts a fresh server process (and a fresh data directory for tandem), so RSS and
# latency of one scenario do not carry over into the next.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/lib.sh"
OUT="${1:-$ROOT/load/bench-results}"
TARGET="$(target_dir)"
SECS="${BENCH_SECONDS:-20}"
RAW="$OUT/raw"
LOGS="$OUT/logs"
WORK="$(mktemp -d -t tandem-bench.XXXXXX)"
TPORT=18080
NPORT=18081
LOAD="$TARGET/release/tandem-load"
SERVER="$TARGET/release/tandem-server"
NODE_SERVER="$ROOT/bench/node_modules/@y/websocket-server/src/server.js"
TPID=""
NPID=""

mkdir -p "$RAW" "$LOGS"
rm -f "$RAW"/*.json
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
    [[ -n "$TPID" ]] && kill -9 "$TPID" 2>/dev/null || true
    [[ -n "$NPID" ]] && kill -9 "$NPID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# Ten thousand sockets on each side of the idle scenario.
ulimit -n "$(ulimit -Hn)"

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "building tandem-server and tandem-load (release) into $TARGET"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release -p tandem-server -p tandem-load)
fi
if [[ ! -f "$NODE_SERVER" ]]; then
    log "installing the node y-websocket server into bench/"
    (cd "$ROOT/bench" && npm install --no-audit --no-fund >/dev/null)
fi

wait_http() { # URL: wait until it answers (10 s)
    for _ in $(seq 200); do
        curl -fs -o /dev/null "$1" && return 0
        sleep 0.05
    done
    log "server at $1 did not come up"
    return 1
}

# start_tandem DATA_DIR [FLAGS...]: limits are raised so that the benchmark measures the server,
# not its per-connection rate limit (the seeding connection sends 100,000 updates at once).
start_tandem() {
    local dir="$1"
    shift
    mkdir -p "$dir"
    RUST_LOG=warn "$SERVER" --listen "127.0.0.1:$TPORT" --data-dir "$dir" \
        --max-connections 20000 --rate-limit-messages 1000000 --rate-limit-bytes 1000000000 \
        --idle-unload-secs 3600 "$@" >>"$LOGS/tandem.log" 2>&1 &
    TPID=$!
    wait_http "http://127.0.0.1:$TPORT/healthz"
}
stop_tandem() {
    [[ -n "$TPID" ]] && { kill -TERM "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; }
    TPID=""
}
start_node() {
    HOST=127.0.0.1 PORT=$NPORT node "$NODE_SERVER" >>"$LOGS/node.log" 2>&1 &
    NPID=$!
    wait_http "http://127.0.0.1:$NPORT/"
}
stop_node() {
    [[ -n "$NPID" ]] && { kill -TERM "$NPID" 2>/dev/null || true; wait "$NPID" 2>/dev/null || true; }
    NPID=""
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
note() { # NAME JSON: a small JSON note next to the reports
    printf '%s\n' "$2" >"$RAW/$1.note.json"
}

# load NAME URL [FLAGS...]: one tandem-load run, report in raw/NAME.json.
load() {
    local name="$1" url="$2"
    shift 2
    log "run $name: $*"
    "$LOAD" --url "$url" --json "$@" >"$RAW/$name.json" 2>>"$LOGS/load.log" || log "run $name exited with $?"
}

# measured NAME SERVER_PID URL [FLAGS...]: a run during which the server's RSS is sampled
# halfway through the typing window, and its CPU time is counted.
measured() {
    local name="$1" pid="$2" url="$3"
    shift 3
    local rss_before cpu_before
    rss_before=$(rss_kb "$pid")
    cpu_before=$(cpu_ticks "$pid")
    load "$name" "$url" "$@" &
    local lpid=$!
    # The connect phase of big runs takes a few seconds; sample when typing is well under way.
    sleep "$(awk -v s="$SECS" 'BEGIN {print s / 2 + 3}')"
    local rss_mid
    rss_mid=$(rss_kb "$pid")
    wait "$lpid"
    note "$name" "{\"rss_before_kb\": $rss_before, \"rss_mid_kb\": $rss_mid, \"rss_peak_kb\": $(hwm_kb "$pid"), \"cpu_s\": $(awk -v a="$cpu_before" -v b="$(cpu_ticks "$pid")" -v hz="$(getconf CLK_TCK)" 'BEGIN {print (b - a) / hz}')}"
}

T="ws://127.0.0.1:$TPORT"
N="ws://127.0.0.1:$NPORT"
S=(--duration "$SECS" --drain 2)

# 1. Hot document: 1 x 50 x 5 and 1 x 200 x 5.
for clients in 50 200; do
    start_tandem "$WORK/hot$clients"
    measured "hot$clients-tandem" "$TPID" "$T" --docs 1 --clients-per-doc "$clients" --rate 5 "${S[@]}" --doc-prefix "hot$clients-"
    stop_tandem
    start_node
    measured "hot$clients-node" "$NPID" "$N" --docs 1 --clients-per-doc "$clients" --rate 5 "${S[@]}" --doc-prefix "hot$clients-"
    stop_node
done

# Chaos: scenario 1 (1 x 50 x 5) with durable confirmations; kill -9 the server a third of the
# way in, restart it on the same data directory one second later, verify at the end.
start_tandem "$WORK/chaos"
load chaos-tandem "$T" --docs 1 --clients-per-doc 50 --rate 5 "${S[@]}" --doc-prefix chaos- \
    --ext-durable --verify-durable &
chaos_load=$!
sleep "$(awk -v s="$SECS" 'BEGIN {print s / 3 + 1}')"
log "chaos: kill -9 tandem-server ($TPID)"
kill -9 "$TPID"
wait "$TPID" 2>/dev/null || true
sleep 1
start_tandem "$WORK/chaos"
wait "$chaos_load" || true
stop_tandem

# 2. Many documents: 1,000 x 5 x 1.
start_tandem "$WORK/many"
measured many-tandem "$TPID" "$T" --docs 1000 --clients-per-doc 5 --rate 1 "${S[@]}" --doc-prefix many-
stop_tandem
start_node
measured many-node "$NPID" "$N" --docs 1000 --clients-per-doc 5 --rate 1 "${S[@]}" --doc-prefix many-
stop_node

# 3. Idle scale: 10,000 connections over 2,000 documents.
start_tandem "$WORK/idle"
measured idle-tandem "$TPID" "$T" --docs 2000 --clients-per-doc 5 --rate 0 "${S[@]}" --doc-prefix idle-
stop_tandem
start_node
measured idle-node "$NPID" "$N" --docs 2000 --clients-per-doc 5 --rate 0 "${S[@]}" --doc-prefix idle-
stop_node

# 4. Durable write throughput: 400 clients typing 60 keys/s (24,000 updates/s offered) into 200
# documents, counting Durable confirmations. The node server has no durability: it runs the same
# load without the extension, for throughput and latency only.
start_tandem "$WORK/durable"
measured durable-tandem "$TPID" "$T" --docs 200 --clients-per-doc 2 --rate 60 "${S[@]}" --doc-prefix durable- --ext-durable
stop_tandem
start_node
measured durable-node "$NPID" "$N" --docs 200 --clients-per-doc 2 --rate 60 "${S[@]}" --doc-prefix durable-
stop_node

# Capacity: the hot document at rising rates, to compare updates/s at the same p99.
for rate in 2 5 10 20 40; do
    start_tandem "$WORK/cap$rate"
    load "cap$rate-tandem" "$T" --docs 1 --clients-per-doc 50 --rate "$rate" --duration 8 --drain 2 --doc-prefix "cap$rate-"
    stop_tandem
    start_node
    load "cap$rate-node" "$N" --docs 1 --clients-per-doc 50 --rate "$rate" --duration 8 --drain 2 --doc-prefix "cap$rate-"
    stop_node
done

# 5. Cold load of a document whose log holds 100,000 updates. tandem-server snapshots a room when
# it shuts down gracefully, so "before compaction" stops it with kill -9 every time (the updates
# are confirmed durable, so the log holds them all) and runs with compaction off. Each sample is a
# fresh server process and one fresh client timed from connect to SyncStep2. "After": one graceful
# start/stop with compaction on turns the log into a snapshot, then the same three samples.
kill_tandem() {
    [[ -n "$TPID" ]] && { kill -9 "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; }
    TPID=""
}
log_rows() { # rows in the update log and snapshots of the cold database
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute('select count(*) from updates').fetchone()[0], c.execute('select count(*) from snapshots').fetchone()[0])" "$WORK/cold/tandem.db"
}
cold_samples() { # TAG STOP_FUNCTION [SERVER FLAGS...]
    local tag="$1" stop="$2"
    shift 2
    for i in 1 2 3; do
        start_tandem "$WORK/cold" "$@"
        load "cold-$tag-$i-tandem" "$T" --docs 1 --clients-per-doc 1 --rate 0 --duration 0 --drain 0 --doc-prefix cold-
        "$stop"
    done
}
start_tandem "$WORK/cold" --compact-after 1000000000
load cold-seed-tandem "$T" --docs 1 --clients-per-doc 1 --rate 0 --duration 0 --drain 0 --doc-prefix cold- \
    --seed-updates 100000 --ext-durable
kill_tandem
read -r rows_before snaps_before < <(log_rows)
cold_samples before kill_tandem --compact-after 1000000000
start_tandem "$WORK/cold"
load cold-open-tandem "$T" --docs 1 --clients-per-doc 1 --rate 0 --duration 0 --drain 0 --doc-prefix cold-
stop_tandem
read -r rows_after snaps_after < <(log_rows)
note cold-compaction "{\"log_rows_before\": $rows_before, \"snapshots_before\": $snaps_before, \"log_rows_after\": $rows_after, \"snapshots_after\": $snaps_after, \"db_bytes\": $(du -cb "$WORK/cold" | tail -1 | cut -f1)}"
cold_samples after stop_tandem
# The node server keeps documents in memory only (no persistence configured), so its "cold" load
# is a load from memory: seed, then time a fresh client's sync while the server still runs.
start_node
load cold-seed-node "$N" --docs 1 --clients-per-doc 1 --rate 0 --duration 0 --drain 0 --doc-prefix cold- --seed-updates 100000
for i in 1 2 3; do
    load "cold-memory-$i-node" "$N" --docs 1 --clients-per-doc 1 --rate 0 --duration 0 --drain 0 --doc-prefix cold-
done
stop_node

python3 "$ROOT/scripts/bench-report.py" "$RAW" "$OUT/results.json" "$OUT/bench.png"
log "done: $OUT/results.json, $OUT/bench.png"
