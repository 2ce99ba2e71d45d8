#!/usr/bin/env bash
# Workspaces: `tandem share` of a generated 2,000-file, 50 MB tree (time to published, peak memory),
# `tandem sync` of it, save-on-disk latency between the two copies (p50/p99), keystroke latency from
# a tandem editor (in tmux) to both copies' files, and the idle CPU of both engines and the server
# over a minute. The generated trees are deleted at the end.
#
#   scripts/bench-workspace.sh            # FILES=2000 TOTAL_MB=50 SAVES=200 IDLE_S=60 KEYS=100 to change
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"
TARGET=$(target_dir)
cargo build --release -p tandem -p tandem-server --bins --manifest-path "$ROOT/Cargo.toml"
python3 "$ROOT/scripts/bench-workspace.py" "$TARGET/release/tandem" "$TARGET/release/tandem-server" \
    "$TARGET/bench-workspace" "${FILES:-2000}" "${TOTAL_MB:-50}" "${SAVES:-200}" "${IDLE_S:-60}" \
    "${KEYS:-100}"
