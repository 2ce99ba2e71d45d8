#!/usr/bin/env bash
# Installs everything tandem's build and tests need, on a fresh machine or an old one. Idempotent:
# each step checks before it installs. Steps whose script is absent are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== setup: %s\n' "$*"; }

step "Rust wasm32 target"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

for script in setup-tmux.sh setup-node.sh setup-browser.sh setup-postgres.sh setup-deploy.sh setup-haproxy.sh setup-y-sweet.sh build-web.sh; do
  if [ -x "scripts/$script" ]; then
    step "$script"
    "scripts/$script"
  fi
done
