#!/usr/bin/env bash
# Start-up + open + first screen + quit: tandem vs vim vs nano on the same 100 MB source-like file, each driven in
# its own tmux pane (a real terminal) with its usual quit keys; hyperfine times whole runs. Also prints each editor's
# peak resident memory (VmHWM when its first screen is up).
#
#   scripts/bench-editor-startup.sh      # RUNS=10 SIZE_MB=100 to change; builds into $CARGO_TARGET_DIR or target/
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"
TARGET=$(target_dir)
# The timed `--once` runs of this script then find it without asking cargo.
export CARGO_TARGET_DIR=$TARGET
SIZE_MB=${SIZE_MB:-100}
RUNS=${RUNS:-5}
WORK=$TARGET/bench-editor
FILE=$WORK/bench-${SIZE_MB}mb.rs
TANDEM=$TARGET/release/tandem
SOCK=tandem-startup-bench

# One run of one editor: open FILE in a 120x40 pane, wait for its first line on screen, record memory, quit.
once() {
    local name=$1 cmd
    local -a quit
    case $name in
        tandem) cmd="$TANDEM --config $WORK/tandem.toml --log $WORK/tandem.log"; quit=(C-q) ;;
        vim) cmd="vim -u NONE -i NONE -n"; quit=(Escape ':qa!' Enter) ;;
        nano) cmd="nano --ignorercfiles"; quit=(C-x) ;;
        *) echo "unknown editor $name" >&2; exit 2 ;;
    esac
    tmux -L "$SOCK" new-session -d -x 120 -y 40 "exec $cmd $FILE"
    until tmux -L "$SOCK" capture-pane -p 2>/dev/null | grep -q "section 0: generated"; do sleep 0.002; done
    local pid
    pid=$(tmux -L "$SOCK" display -p '#{pane_pid}')
    awk '/VmHWM/ {print $2}' "/proc/$pid/status" > "$WORK/$name.mem"
    tmux -L "$SOCK" send-keys "${quit[@]}"
    while tmux -L "$SOCK" has-session 2>/dev/null; do sleep 0.002; done
}

if [[ ${1:-} == --once ]]; then
    once "$2"
    exit 0
fi

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v nano >/dev/null || need+=(nano)
command -v vim >/dev/null || need+=(vim)
command -v tmux >/dev/null || need+=(tmux)
if ((${#need[@]})); then
    echo "installing ${need[*]}" >&2
    apt_install "${need[@]}"
fi

mkdir -p "$WORK"
echo 'syntax = true' > "$WORK/tandem.toml"
if [[ ! -f $FILE ]]; then
    echo "generating $FILE" >&2
    awk -v limit=$((SIZE_MB * 1024 * 1024)) 'BEGIN {
        for (i = 0; bytes < limit; i++) {
            marker = (i % 1000 == 999) ? " needle" : ""
            block = sprintf("// section %d: generated for the tandem editor benchmark%s\n" \
                "pub fn compute_%d(input: &[u64], factor: u64) -> u64 {\n" \
                "    let mut total = 0u64; // running sum\n" \
                "    for (idx, value) in input.iter().enumerate() {\n" \
                "        if idx %% 3 == 0 { total = total.wrapping_add(value * factor); }\n" \
                "        else { total ^= value.rotate_left(idx as u32); }\n" \
                "    }\n" \
                "    let label = \"result-%d\";\n" \
                "    println!(\"{} = {}\", label, total);\n" \
                "    total\n" \
                "}\n\n", i, marker, i, i)
            printf "%s", block
            bytes += length(block)
        }
    }' > "$FILE"
fi
(cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release -p tandem -q)

echo "file: $FILE ($(du -m "$FILE" | cut -f1) MB), $(nproc) cores, $(uname -sr)"
echo "versions: $("$TANDEM" --version); $(vim --version | head -1); $(nano --version | head -1); $(tmux -V)"
hyperfine --warmup 1 --runs "$RUNS" --export-markdown "$WORK/startup.md" \
    -n tandem "$0 --once tandem" -n vim "$0 --once vim" -n nano "$0 --once nano"
for e in tandem vim nano; do
    echo "$e peak RSS at first screen: $(( $(cat "$WORK/$e.mem") / 1024 )) MB"
done
