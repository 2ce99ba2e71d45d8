#!/usr/bin/env bash
# Runs every check and every test of tandem, after installing what they need (scripts/setup.sh).
# CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

step() { printf '\n== test: %s\n' "$*"; }

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "web app: JS unit tests (node --test) and type check (tsc --checkJs)"
(cd web && npm test --silent && npm run check --silent)

step "tandem-crdt builds for wasm32-unknown-unknown"
cargo build -p tandem-crdt --target wasm32-unknown-unknown

if [ -z "${TANDEM_TEST_DATABASE_URL:-}" ] && command -v pg_isready >/dev/null \
   && pg_isready -q -h 127.0.0.1 -p 5432; then
  export TANDEM_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test
  echo "PostgreSQL answers on 127.0.0.1:5432: PostgreSQL tests run against $TANDEM_TEST_DATABASE_URL"
else
  echo "PostgreSQL tests: ${TANDEM_TEST_DATABASE_URL:-skipped (no server on 127.0.0.1:5432)}"
fi

step "build binaries (end-to-end tests spawn them)"
cargo build --workspace --bins
# The load tool's test against a real server, and the e2e helpers, use this binary.
export TANDEM_SERVER_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/tandem-server"

step "tests"
cargo test --workspace
