#!/usr/bin/env bash
# Installs what the browser end-to-end tests need: Debian's Chromium and Firefox ESR and the npm
# packages of the test runner (playwright-core drives the system Chromium, puppeteer-core the
# system Firefox over WebDriver BiDi; neither ever downloads a browser).
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/scripts/lib.sh"

ensure_command chromium chromium fonts-noto-color-emoji fonts-noto-cjk
echo "setup-browser: $(chromium --version 2>/dev/null || echo 'chromium missing')"

# Firefox: Debian's ESR (Playwright cannot drive a stock Firefox; puppeteer-core can, over BiDi).
ensure_command firefox-esr firefox-esr fonts-noto-color-emoji fonts-noto-cjk
echo "setup-browser: $(firefox-esr --version 2>/dev/null || echo 'firefox-esr missing')"

ensure_command npm nodejs npm
cd "$root/tests/browser"
# puppeteer-core never downloads a browser; the variable makes sure nothing else in the tree does.
export PUPPETEER_SKIP_DOWNLOAD=1
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/puppeteer-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "setup-browser: npm ci in tests/browser"
    npm ci --no-audit --no-fund --loglevel=error
fi
echo "setup-browser: playwright-core $(node -p "require('playwright-core/package.json').version")"
echo "setup-browser: puppeteer-core $(node -p "require('puppeteer-core/package.json').version")"
