#!/usr/bin/env bash
# The server benchmark (issues 7 and 17): tandem-server (release) against the strongest Yjs
# servers, same load generator (tandem-load, speaking each one's dialect), same run, one host:
#
#   tandem      tandem-server, SQLite, this checkout
#   ysweet      y-sweet 0.9.1 (Rust, on yrs; scripts/setup-y-sweet.sh), filesystem store
#   hocuspocus  @hocuspocus/server 4.7.0 + @hocuspocus/extension-sqlite (bench/hocuspocus-server.mjs)
#   node        the stock node server @y/websocket-server 0.1.1 (bench/), with y-leveldb
#               persistence (YPERSISTENCE) in the durability run, in memory elsewhere
#
#   scripts/bench-server.sh [OUT_DIR]          default OUT_DIR: load/bench-results
#
# Environment:
#   CARGO_TARGET_DIR  where tandem-server and tandem-load are built     (default: the workspace's)
#   BENCH_SECONDS     typing window of the timed scenarios              (default 20)
#   BENCH_PEERS       servers to run, in order                          (default: tandem ysweet hocuspocus node)
#   BENCH_SCENARIOS   scenario groups: hot many idle durable capacity cold loss cluster text
#                     (default: all)
#   BENCH_CAP_RATES   keys/s per client of the capacity ladder          (default: 2 5 10 20 40 80 160)
#   BENCH_COLD_UPDATES  length of the cold scenario's update log       (default 100000)
#   BENCH_SKIP_BUILD  set to 1 to use the binaries already built
#   TANDEM_TOOLS_DIR  where scripts/setup-y-sweet.sh installed y-sweet (default ~/.cache/tandem-tools)
#   TANDEM_BENCH_DATABASE_URL  PostgreSQL (an admin URL) for the cluster runs
#                     (default postgres://postgres@127.0.0.1:5432/test; a fresh database is made)
#
# Writes OUT_DIR/raw/*.json (one tandem-load report per run, plus RSS/timing notes),
# OUT_DIR/results.json (everything, with ratios to tandem) and OUT_DIR/bench.png.
# Each scenario starts a fresh server process with a fresh store, so memory and latency of one
# scenario do not carry over into the next.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/lib.sh"
OUT="${1:-$ROOT/load/bench-results}"
TARGET="$(target_dir)"
SECS="${BENCH_SECONDS:-20}"
read -r -a PEERS <<<"${BENCH_PEERS:-tandem ysweet hocuspocus node}"
SCENARIOS=" ${BENCH_SCENARIOS:-hot many idle durable capacity cold loss cluster text} "
RAW="$OUT/raw"
LOGS="$OUT/logs"
WORK="$(mktemp -d -t tandem-bench.XXXXXX)"
LOAD="$TARGET/release/tandem-load"
SERVER="$TARGET/release/tandem-server"
NODE_SERVER="$ROOT/bench/node_modules/@y/websocket-server/src/server.js"
HOCUSPOCUS_SERVER="$ROOT/bench/hocuspocus-server.mjs"
Y_SWEET="${TANDEM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tandem-tools}/bin/y-sweet"
declare -A PORT=([tandem]=18080 [node]=18081 [hocuspocus]=18082 [ysweet]=18083)
declare -A PROTOCOL=([tandem]=y-websocket [node]=y-websocket [hocuspocus]=hocuspocus [ysweet]=y-sweet)
declare -A HEALTH=([tandem]=/healthz [node]=/ [hocuspocus]=/ [ysweet]=/ready)
declare -A PID=()
CLUSTER_PIDS=()

mkdir -p "$RAW" "$LOGS"
# A run of some scenarios adds to (and overwrites in) the last full run's reports.
[[ -z ${BENCH_SCENARIOS:-} ]] && rm -f "$RAW"/*.json
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
wants() { [[ $SCENARIOS == *" $1 "* ]]; }

cleanup() {
    local pid
    for pid in "${PID[@]}" "${CLUSTER_PIDS[@]}"; do
        [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# Ten thousand sockets on each side of the idle scenario.
ulimit -n "$(ulimit -Hn)"

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    log "building tandem-server and tandem-load (release) into $TARGET"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release -p tandem-server -p tandem-load)
fi
for peer in "${PEERS[@]}"; do
    case "$peer" in
    node | hocuspocus) [[ -f "$NODE_SERVER" && -d "$ROOT/bench/node_modules/@hocuspocus/server" ]] \
        || "$ROOT/scripts/setup-node.sh" ;;
    ysweet) "$ROOT/scripts/setup-y-sweet.sh" ;;
    tandem) ;;
    *) log "unknown peer $peer"; exit 2 ;;
    esac
done

wait_http() { # URL: wait until it answers (20 s)
    for _ in $(seq 400); do
        curl -fs -o /dev/null "$1" && return 0
        sleep 0.05
    done
    log "server at $1 did not come up"
    return 1
}

# start PEER STORE_DIR [TANDEM FLAGS...]: a fresh process of PEER on its port, storing in
# STORE_DIR (kept across restarts). tandem's limits are raised so that the benchmark measures
# the server, not its per-connection rate limit (the seeding connection sends 100,000 updates).
start() {
    local peer="$1" dir="$2"
    shift 2
    mkdir -p "$dir"
    local port="${PORT[$peer]}"
    case "$peer" in
    tandem)
        RUST_LOG=warn "$SERVER" --listen "127.0.0.1:$port" --data-dir "$dir" \
            --max-connections 20000 --rate-limit-messages 1000000 --rate-limit-bytes 1000000000 \
            --idle-unload-secs 3600 "$@" >>"$LOGS/tandem.log" 2>&1 &
        ;;
    node)
        # y-leveldb persistence only where durability is measured: elsewhere the stock server
        # as most deployments run it, in memory.
        if [[ -n "${NODE_PERSIST:-}" ]]; then
            YPERSISTENCE="$dir/leveldb" HOST=127.0.0.1 PORT=$port node "$NODE_SERVER" >>"$LOGS/node.log" 2>&1 &
        else
            HOST=127.0.0.1 PORT=$port node "$NODE_SERVER" >>"$LOGS/node.log" 2>&1 &
        fi
        ;;
    hocuspocus)
        HOCUSPOCUS_DB="$dir/hocuspocus.sqlite" HOST=127.0.0.1 PORT=$port node "$HOCUSPOCUS_SERVER" \
            >>"$LOGS/hocuspocus.log" 2>&1 &
        ;;
    ysweet)
        # One log per process: measured() counts the frames it dropped (see there).
        : >"$LOGS/ysweet.log"
        RUST_LOG=warn "$Y_SWEET" serve "$dir" --host 127.0.0.1 --port "$port" >>"$LOGS/ysweet.log" 2>&1 &
        ;;
    esac
    PID[$peer]=$!
    wait_http "http://127.0.0.1:$port${HEALTH[$peer]}"
}
stop() { # PEER: SIGTERM, wait
    local pid="${PID[$1]:-}"
    [[ -n "$pid" ]] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
    PID[$1]=""
}
crash() { # PEER: SIGKILL, wait
    local pid="${PID[$1]:-}"
    [[ -n "$pid" ]] && { kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
    PID[$1]=""
}
url() { echo "ws://127.0.0.1:${PORT[$1]}"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
note() { # NAME JSON: a small JSON note next to the reports
    printf '%s\n' "$2" >"$RAW/$1.note.json"
}

# load NAME PEER [FLAGS...]: one tandem-load run against PEER, report in raw/NAME-PEER.json.
load() {
    local name="$1" peer="$2"
    shift 2
    log "run $name-$peer: $*"
    "$LOAD" --url "$(url "$peer")" --protocol "${PROTOCOL[$peer]}" --json "$@" \
        >"$RAW/$name-$peer.json" 2>>"$LOGS/load.log" || log "run $name-$peer exited with $?"
}

# measured NAME PEER [FLAGS...]: a run during which the server's RSS is sampled halfway through
# the typing window, and its CPU time is counted.
measured() {
    local name="$1" peer="$2"
    shift 2
    local pid="${PID[$peer]}" rss_before cpu_before
    rss_before=$(rss_kb "$pid")
    cpu_before=$(cpu_ticks "$pid")
    load "$name" "$peer" "$@" &
    local lpid=$!
    # The connect phase of big runs takes a few seconds; sample when typing is well under way.
    sleep "$(awk -v s="$SECS" 'BEGIN {print s / 2 + 3}')"
    local rss_mid
    rss_mid=$(rss_kb "$pid")
    wait "$lpid"
    # y-sweet drops a frame, with a warning, when a connection's queue (1,024 frames) is full.
    local dropped=null
    [[ $peer == ysweet ]] && dropped=$(grep -c "Error sending message" "$LOGS/ysweet.log" || true)
    note "$name-$peer" "{\"rss_before_kb\": $rss_before, \"rss_mid_kb\": $rss_mid, \"rss_peak_kb\": $(hwm_kb "$pid"), \"cpu_s\": $(awk -v a="$cpu_before" -v b="$(cpu_ticks "$pid")" -v hz="$(getconf CLK_TCK)" 'BEGIN {print (b - a) / hz}'), \"dropped_frames\": $dropped}"
}

# each NAME [FLAGS...]: the scenario against every peer, each on a fresh server and store.
each() {
    local name="$1" peer
    shift
    for peer in "${PEERS[@]}"; do
        start "$peer" "$WORK/$name-$peer"
        measured "$name" "$peer" "$@" --doc-prefix "$name-"
        stop "$peer"
    done
}

S=(--duration "$SECS" --drain 2)
# A partial run notes its machine apart: "machine-capacity" and so on.
tag=""
[[ -n ${BENCH_SCENARIOS:-} ]] && tag="-$(echo ${BENCH_SCENARIOS} | tr ' ' '-')"
note "machine$tag" "{\"cores\": $(nproc), \"loadavg_at_start\": \"$(cut -d' ' -f1-3 /proc/loadavg)\", \"y_sweet\": \"0.9.1\", \"hocuspocus\": \"$(node -p 'require("'"$ROOT"'/bench/node_modules/@hocuspocus/server/package.json").version' 2>/dev/null || echo none)\", \"node\": \"$(node --version 2>/dev/null || echo none)\"}"

# 1. Hot document: 1 x 50 x 5 and 1 x 200 x 5.
if wants hot; then
    for clients in 50 200; do
        each "hot$clients" --docs 1 --clients-per-doc "$clients" --rate 5 "${S[@]}"
    done
fi

# 2. Many documents: 1,000 x 5 x 1.
wants many && each many --docs 1000 --clients-per-doc 5 --rate 1 "${S[@]}"

# 3. Idle scale: 10,000 connections over 2,000 documents.
wants idle && each idle --docs 2000 --clients-per-doc 5 --rate 0 "${S[@]}"

# 4. Durable write throughput: 400 clients typing 60 keys/s (24,000 updates/s offered) into 200
# documents; tandem counts its Durable confirmations, the peers (which confirm nothing) run the
# same load for throughput and latency only.
if wants durable; then
    for peer in "${PEERS[@]}"; do
        flags=(--docs 200 --clients-per-doc 2 --rate 60 "${S[@]}" --doc-prefix durable-)
        [[ $peer == tandem ]] && flags+=(--ext-durable)
        start "$peer" "$WORK/durable-$peer"
        measured durable "$peer" "${flags[@]}"
        stop "$peer"
    done
fi

# 5. Capacity: the hot document at rising rates, to compare updates/s at the same p99.
if wants capacity; then
    for rate in ${BENCH_CAP_RATES:-2 5 10 20 40 80 160}; do
        for peer in "${PEERS[@]}"; do
            start "$peer" "$WORK/cap$rate-$peer"
            load "cap$rate" "$peer" --docs 1 --clients-per-doc 50 --rate "$rate" --duration 8 --drain 2 --doc-prefix "cap$rate-"
            stop "$peer"
        done
    done
fi

# 6. Cold load of a document whose log holds 100,000 updates: seed, stop the server the hard
# way (kill -9, so no shutdown snapshot), start it on the same store and time a fresh client
# from connect to SyncStep2, three times. tandem runs with compaction off here, so its log holds
# every update; "after compaction" is one graceful start/stop later. The others load whatever
# their store keeps (y-sweet: its last checkpoint; Hocuspocus: its last debounced store; node:
# y-leveldb's update log).
cold_samples() { # PEER TAG [TANDEM FLAGS...]
    local peer="$1" tag="$2"
    shift 2
    for i in 1 2 3; do
        start "$peer" "$WORK/cold-$peer" "$@"
        load "cold-$tag-$i" "$peer" --docs 1 --clients-per-doc 1 --rate 0 --duration 0 --drain 0 --doc-prefix cold-
        crash "$peer"
    done
}
if wants cold; then
    for peer in "${PEERS[@]}"; do
        flags=()
        [[ $peer == tandem ]] && flags=(--compact-after 1000000000)
        NODE_PERSIST=1 start "$peer" "$WORK/cold-$peer" "${flags[@]}"
        seed=(--seed-updates "${BENCH_COLD_UPDATES:-100000}")
        [[ $peer == tandem ]] && seed+=(--ext-durable)
        load cold-seed "$peer" --docs 1 --clients-per-doc 1 --rate 0 --duration 0 --drain 0 --doc-prefix cold- "${seed[@]}"
        # Give the others their chance to store: y-sweet checkpoints every 10 s, Hocuspocus
        # stores at most 10 s after a change.
        [[ $peer != tandem ]] && sleep 11
        crash "$peer"
        NODE_PERSIST=1 cold_samples "$peer" before "${flags[@]}"
        if [[ $peer == tandem ]]; then
            # A graceful stop snapshots the rooms it has loaded: open the document once first.
            start tandem "$WORK/cold-tandem"
            load cold-open tandem --docs 1 --clients-per-doc 1 --rate 0 --duration 0 --drain 0 --doc-prefix cold-
            stop tandem
            cold_samples tandem after
        fi
    done
fi

# 7. Durability side by side: the same typing load (1 x 50 x 5), the server killed with
# kill -9 two thirds into the window and restarted on the same store one second later. The
# clients do not reconnect (--reconnect never), so what the restarted server has is what it
# stored itself; --verify-sent counts the sent updates it lost, and for tandem --verify-durable
# the confirmed ones (which must be 0).
if wants loss; then
    for peer in "${PEERS[@]}"; do
        NODE_PERSIST=1 start "$peer" "$WORK/loss-$peer"
        flags=(--docs 1 --clients-per-doc 50 --rate 5 --duration "$SECS" --drain 1 --doc-prefix loss-
            --reconnect never --verify-sent)
        [[ $peer == tandem ]] && flags+=(--ext-durable --verify-durable)
        load loss "$peer" "${flags[@]}" &
        lpid=$!
        sleep "$(awk -v s="$SECS" 'BEGIN {print s * 2 / 3 + 2}')"
        log "loss: kill -9 $peer (${PID[$peer]})"
        crash "$peer"
        sleep 1
        NODE_PERSIST=1 start "$peer" "$WORK/loss-$peer"
        wait "$lpid" || true
        stop "$peer"
    done
fi

# 8. Cluster: 1, 2 and 3 tandem-servers on one PostgreSQL. Direct: tandem-load gets every
# node's URL and spreads each document's clients over them (cross-node latency measured).
# Behind HAProxy (assets/deploy/haproxy.cfg): round robin, and consistent hashing by document.
# Then the chaos run: kill -9 one node of three under load behind HAProxy, verify.
if wants cluster; then
    "$ROOT/scripts/setup-haproxy.sh" >/dev/null
    admin="${TANDEM_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
    dbname="tandem_bench_$$"
    psql "$admin" -qc "create database $dbname" >/dev/null
    dburl="${admin%/*}/$dbname"
    HAPROXY="$(command -v haproxy || echo /usr/sbin/haproxy)"
    start_node_n() { # I: tandem-server node I (port 18090+I) on the shared database
        local port=$((18090 + $1))
        RUST_LOG=warn "$SERVER" --listen "127.0.0.1:$port" --database-url "$dburl" --data-dir "$WORK/node$1" \
            --max-connections 20000 --rate-limit-messages 1000000 --rate-limit-bytes 1000000000 \
            >>"$LOGS/cluster.log" 2>&1 &
        CLUSTER_PIDS[$1]=$!
        wait_http "http://127.0.0.1:$port/healthz"
    }
    stop_nodes() {
        local pid
        for pid in "${CLUSTER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
        CLUSTER_PIDS=()
    }
    start_haproxy() { # MODE (roundrobin|uri): haproxy on 18099 over the three nodes
        local balancing="balance roundrobin"
        [[ $1 == uri ]] && balancing=$'balance uri\n    hash-type consistent'
        python3 - "$ROOT/assets/deploy/haproxy.cfg" "$WORK/haproxy.cfg" "$balancing" <<'PY'
import sys
src, dst, balancing = sys.argv[1:4]
cfg = open(src).read()
cfg = cfg.replace("bind 127.0.0.1:8080", "bind 127.0.0.1:18099")
cfg = cfg.replace("balance uri\n    hash-type consistent", balancing)
for i in (1, 2, 3):
    cfg = cfg.replace(f"127.0.0.1:808{i}", f"127.0.0.1:1809{i}")
cfg = cfg.replace("check inter 1s", "check inter 200ms")
open(dst, "w").write(cfg)
PY
        "$HAPROXY" -f "$WORK/haproxy.cfg" -db >>"$LOGS/haproxy.log" 2>&1 &
        CLUSTER_PIDS+=($!)
        wait_http "http://127.0.0.1:18099/healthz"
    }
    cluster_load() { # NAME URL... : 20 docs x 10 clients x 5 keys/s over the given URLs
        local name="$1"
        shift
        local urls=()
        for u in "$@"; do urls+=(--url "$u"); done
        log "run $name: $*"
        "$LOAD" "${urls[@]}" --json --docs 20 --clients-per-doc 10 --rate 5 "${S[@]}" --doc-prefix "$name-" \
            --ext-durable >"$RAW/$name-tandem.json" 2>>"$LOGS/load.log" || log "run $name exited with $?"
    }
    for n in 1 2 3; do
        urls=()
        for i in $(seq 1 "$n"); do start_node_n "$i"; urls+=("ws://127.0.0.1:$((18090 + i))"); done
        cluster_load "cluster-direct$n" "${urls[@]}"
        stop_nodes
    done
    for mode in roundrobin uri; do
        for i in 1 2 3; do start_node_n "$i"; done
        start_haproxy "$mode"
        cluster_load "cluster-haproxy-$mode" "ws://127.0.0.1:18099"
        stop_nodes
    done
    # Chaos: kill -9 node 1 a third into the window, back a second later; then a rolling
    # SIGTERM restart of nodes 2 and 3. Round robin, so every node has clients of every document.
    for i in 1 2 3; do start_node_n "$i"; done
    start_haproxy roundrobin
    "$LOAD" --url ws://127.0.0.1:18099 --json --docs 20 --clients-per-doc 10 --rate 5 "${S[@]}" \
        --doc-prefix cluster-chaos- --ext-durable --verify-durable \
        >"$RAW/cluster-chaos-tandem.json" 2>>"$LOGS/load.log" &
    lpid=$!
    sleep "$(awk -v s="$SECS" 'BEGIN {print s / 3 + 2}')"
    log "cluster chaos: kill -9 node 1"
    kill -9 "${CLUSTER_PIDS[1]}"; wait "${CLUSTER_PIDS[1]}" 2>/dev/null || true
    sleep 1
    start_node_n 1
    for i in 2 3; do
        log "cluster chaos: SIGTERM node $i, restart"
        kill -TERM "${CLUSTER_PIDS[$i]}"; wait "${CLUSTER_PIDS[$i]}" 2>/dev/null || true
        start_node_n "$i"
    done
    wait "$lpid" || log "cluster chaos run exited with $?"
    stop_nodes
    psql "$admin" -qc "drop database $dbname with (force)" >/dev/null || true
fi

# 9. The text of a document that is not loaded (issue 18 item 6), tandem only: the cold
# scenario's document (100,000 logged updates; compaction off, and kill -9 so that no unload or
# shutdown compacts it), on a fresh start, asked for by 20 GET /api/docs/ID/text at once while
# /healthz is timed every 20 ms, then 20 times one after another. Notes the wall time of each,
# the slowest /healthz and how many replicas were built.
if wants text && [[ " ${PEERS[*]} " == *" tandem "* ]]; then
    start tandem "$WORK/text-tandem" --compact-after 1000000000
    load text-seed tandem --docs 1 --clients-per-doc 1 --rate 0 --duration 0 --drain 0 --doc-prefix text- \
        --seed-updates "${BENCH_COLD_UPDATES:-100000}" --ext-durable
    crash tandem
    start tandem "$WORK/text-tandem" --compact-after 1000000000
    base="http://127.0.0.1:${PORT[tandem]}"
    timed() { curl -fs -o /dev/null -w '%{time_total}\n' "$base$1"; }
    start_s=$(date +%s.%N)
    requests=()
    for _ in $(seq 20); do
        timed /api/docs/text-0/text >>"$WORK/text-parallel.txt" &
        requests+=($!)
    done
    while kill -0 "${requests[@]}" 2>/dev/null; do timed /healthz >>"$WORK/text-healthz.txt"; sleep 0.02; done
    wait "${requests[@]}"
    parallel_s=$(awk -v a="$start_s" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
    start_s=$(date +%s.%N)
    for _ in $(seq 20); do timed /api/docs/text-0/text >/dev/null; done
    sequential_s=$(awk -v a="$start_s" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
    builds=$(curl -fs "$base/metrics" | awk '/^tandem_text_builds_total / {print $2}')
    note text-tandem "{\"parallel_20_wall_s\": $parallel_s, \"parallel_slowest_s\": $(sort -g "$WORK/text-parallel.txt" | tail -1), \"healthz_samples\": $(wc -l <"$WORK/text-healthz.txt"), \"healthz_slowest_s\": $(sort -g "$WORK/text-healthz.txt" | tail -1), \"sequential_20_wall_s\": $sequential_s, \"text_builds\": ${builds:-null}}"
    stop tandem
fi

note "machine-end$tag" "{\"loadavg_at_end\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
# The plot needs matplotlib: installed from PyPI for the python3 on the PATH when it is missing.
python3 -c 'import matplotlib' 2>/dev/null || python3 -m pip install --quiet matplotlib \
    || echo "matplotlib could not be installed: results.json only, no plot" >&2
python3 "$ROOT/scripts/bench-report.py" "$RAW" "$OUT/results.json" "$OUT/bench.png"
log "done: $OUT/results.json, $OUT/bench.png"
