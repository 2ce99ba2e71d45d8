#!/usr/bin/env bash
# Builds the browser client into web/dist/: the tandem-web crate compiled to wasm32 in release,
# wasm-bindgen's JS glue (--target web), wasm-opt -Oz, and the page's JS bundled by esbuild.
#
# Idempotent: it installs what is missing (the wasm32 target, wasm-bindgen-cli at exactly the
# wasm-bindgen version in Cargo.lock, the npm packages in web/) and skips what is there.
#
# Environment: CARGO_TARGET_DIR (default: the workspace's target directory),
# TANDEM_WEB_DEV=1 for an unminified bundle with a source map.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$root/web"
dist="$web/dist"
. "$root/scripts/lib.sh"
CARGO_TARGET_DIR="$(target_dir)"
export CARGO_TARGET_DIR

step() { echo "build-web: $*"; }

# 1. The wasm32 target.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

# 2. wasm-bindgen-cli at the version of the wasm-bindgen crate in Cargo.lock: the CLI refuses a
#    module built by another version.
want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock")"
if [ -z "$want" ]; then
    echo "build-web: no wasm-bindgen in Cargo.lock" >&2
    exit 1
fi
have="$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)"
if [ "$have" != "$want" ]; then
    step "installing wasm-bindgen-cli $want (found '${have:-none}')"
    # Its own target dir, so the install does not evict the project's build artefacts.
    CARGO_TARGET_DIR="$CARGO_TARGET_DIR/wasm-bindgen-cli" cargo install wasm-bindgen-cli --version "$want"
fi

# 3. npm packages (CodeMirror, esbuild, binaryen's wasm-opt). `npm ci` follows the lock file.
cd "$web"
if [ ! -d node_modules/@codemirror/view ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    step "npm ci in web/"
    npm ci --no-audit --no-fund --loglevel=error
fi

# 4. The wasm module. Size matters more than peak speed here, but keystrokes must stay fast:
#    opt-level s with LTO, no debug info; these apply to this build only.
step "cargo build (wasm32, release)"
CARGO_PROFILE_RELEASE_OPT_LEVEL=s \
CARGO_PROFILE_RELEASE_LTO=true \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
CARGO_PROFILE_RELEASE_DEBUG=false \
CARGO_PROFILE_RELEASE_PANIC=abort \
    cargo build --manifest-path "$root/Cargo.toml" -p tandem-web --release --target wasm32-unknown-unknown

pkg="$CARGO_TARGET_DIR/tandem-web-pkg"
rm -rf "$pkg"
mkdir -p "$pkg"
step "wasm-bindgen --target web"
wasm-bindgen --target web --no-typescript --out-dir "$pkg" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/tandem_web.wasm"

step "wasm-opt -Oz"
# The features wasm-bindgen's output uses in current Rust (bulk memory, sign extension, ...).
node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-mutable-globals --enable-reference-types --enable-multivalue --strip-debug --strip-producers \
    "$pkg/tandem_web_bg.wasm" -o "$pkg/tandem_web_bg.opt.wasm"

# 5. The page: one JS bundle, the wasm next to it, HTML, CSS, service worker.
step "esbuild"
rm -rf "$dist"
mkdir -p "$dist"
cp "$pkg/tandem_web_bg.opt.wasm" "$dist/tandem_web_bg.wasm"
minify=(--minify)
if [ "${TANDEM_WEB_DEV:-}" = 1 ]; then minify=(--sourcemap); fi
# --splitting: the language packages, imported dynamically, become chunks loaded only by the
# documents that need one (dist/chunks/), so they do not weigh on the first load.
node_modules/.bin/esbuild app/main.js --bundle --alias:tandem-wasm="$pkg/tandem_web.js" --format=esm --target=es2020 "${minify[@]}" \
    --splitting --outdir="$dist" --entry-names=app --chunk-names='chunks/[name]-[hash]' --log-level=warning \
    --metafile="$pkg/meta.json"
first_load="$(node tools/first-load.mjs "$pkg/meta.json" "$dist" app.js)"
# The service worker stores the first load's files at install, shared chunks included (their
# names carry a hash, so the build tells it).
shell_json="$(node -e 'console.log(JSON.stringify(["/", "/style.css", "/tandem_web_bg.wasm", ...process.argv.slice(1).map((f) => "/" + f)]))' $first_load)"
node_modules/.bin/esbuild app/sw.js --bundle --format=iife --target=es2020 "${minify[@]}" --define:TANDEM_SHELL="$shell_json" \
    --outfile="$dist/sw.js" --log-level=warning
cp app/index.html app/style.css "$dist/"

# 6. Sizes, raw and gzipped (what a browser downloads from a server that compresses). The first
#    load is every file but the chunks only reached by a dynamic import() (marked "lazy").
step "bundle sizes (raw / gzip -9):"
total_raw=0
total_gz=0
lazy_raw=0
lazy_gz=0
while IFS= read -r file; do
    raw=$(stat -c %s "$file")
    gz=$(gzip -9 -c "$file" | wc -c)
    name="${file#"$dist"/}"
    if [[ "$name" == chunks/* ]] && ! grep -qxF "$name" <<<"$first_load"; then
        lazy_raw=$((lazy_raw + raw))
        lazy_gz=$((lazy_gz + gz))
        name="$name (lazy)"
    else
        total_raw=$((total_raw + raw))
        total_gz=$((total_gz + gz))
    fi
    printf '  %-40s %9d B %9d B\n' "$name" "$raw" "$gz"
done < <(find "$dist" -type f | sort)
printf '  %-40s %9d B %9d B\n' "first load" "$total_raw" "$total_gz"
printf '  %-40s %9d B %9d B\n' "lazy (languages, when a document needs one)" "$lazy_raw" "$lazy_gz"
