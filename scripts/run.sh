#!/usr/bin/env bash
# Builds and runs tandem-server with embedded SQLite, serving the browser client.
# Extra arguments go to tandem-server (see `tandem-server --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
scripts/build-web.sh
cargo build --release -p tandem-server -p tandem
exec "$(target_dir)/release/tandem-server" --web-dir web/dist "$@"
