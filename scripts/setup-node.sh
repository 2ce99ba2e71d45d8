#!/usr/bin/env bash
# Installs the node packages of tests/js (stock yjs + y-websocket + ws) that the end-to-end
# interop tests run. Idempotent: does nothing when node_modules is newer than package.json and
# package-lock.json, so it also works offline once installed. Without npm it only warns (those
# tests then skip themselves with a reason).
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/js" && pwd)"
cd "$dir"

if ! command -v npm >/dev/null 2>&1; then
    echo "setup-node: npm not found; the stock Yjs client tests will be skipped" >&2
    exit 0
fi

stamp=node_modules/.tandem-installed
if [[ -f $stamp && $stamp -nt package.json && ( ! -f package-lock.json || $stamp -nt package-lock.json ) ]]; then
    echo "setup-node: tests/js/node_modules is up to date"
    exit 0
fi

if [[ -f package-lock.json ]]; then
    npm ci --no-audit --no-fund --loglevel=error
else
    npm install --no-audit --no-fund --loglevel=error
fi
touch "$stamp"
echo "setup-node: installed tests/js/node_modules"
