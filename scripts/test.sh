#!/usr/bin/env bash
# Runs every check and every test of tandem, after installing what they need (scripts/setup.sh).
# CI runs exactly this (.ci/run), with CI=true: then a tool or service a test needs that is
# missing fails the run instead of skipping the test (tandem_require::require_or_skip).
# Ends with one line `N passed, N failed`, summed from cargo's "test result:" lines.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scripts/setup.sh

# Each step says when it starts (seconds since the script started), so a slow CI run shows where.
step() { printf '\n== test: %s (at %ds)\n' "$*" "$SECONDS"; }

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
# The load tool's test against a real server, and the e2e helpers, use these binaries (built
# here once, rather than again by each test process with its own feature set).
TANDEM_SERVER_BIN="$(target_dir)/debug/tandem-server"
TANDEM_LOAD_BIN="$(target_dir)/debug/tandem-load"
TANDEM_BIN="$(target_dir)/debug/tandem"
export TANDEM_SERVER_BIN TANDEM_LOAD_BIN TANDEM_BIN

step "tests"
# Every test binary runs even after one fails, so the summary counts the whole suite.
log="$(mktemp -t tandem-test.XXXXXX)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || status=$?
echo "test.sh took ${SECONDS}s"
awk '/^test result: / {
        for (i = 1; i < NF; i++) {
            if ($(i + 1) ~ /^passed/) passed += $i
            if ($(i + 1) ~ /^failed/) failed += $i
        }
     }
     END { printf "%d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
