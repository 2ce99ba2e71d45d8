#!/usr/bin/env bash
# Installs Node.js (Debian's nodejs and npm, when node or npm is missing) and the node packages
# the tests run: tests/js (stock yjs + y-websocket + ws, for the interop tests) and bench/ (the
# stock y-websocket server, for the load tool's test and the editor's interop test).
# Idempotent: a directory whose node_modules is newer than its package.json and package-lock.json
# is left alone, so it also works offline once installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/scripts/lib.sh"

ensure_command node nodejs
ensure_command npm npm

for dir in tests/js bench; do
    cd "$root/$dir"
    stamp=node_modules/.tandem-installed
    if [[ -f $stamp && $stamp -nt package.json && ( ! -f package-lock.json || $stamp -nt package-lock.json ) ]]; then
        echo "setup-node: $dir/node_modules is up to date"
        continue
    fi
    if [[ -f package-lock.json ]]; then
        npm ci --no-audit --no-fund --loglevel=error
    else
        npm install --no-audit --no-fund --loglevel=error
    fi
    touch "$stamp"
    echo "setup-node: installed $dir/node_modules"
done
