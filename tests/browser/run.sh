#!/usr/bin/env bash
# Browser tests of the portal page and the staff console: Debian's Chromium driven by playwright-core, checked by axe-core;
# the console signed in at the test OpenID provider (tests/oidc/provider.mjs).
# Usage (from anywhere): bash tests/browser/run.sh   Set REBUILD=1 to rebuild the portal first
# (${CARGO_TARGET_DIR:-target}/debug/portal).
# Never downloads a browser: playwright-core has no browser of its own; Chromium comes from apt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -x /usr/bin/chromium ]; then
  echo "run.sh: installing Debian's chromium" >&2
  as_root apt-get update
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y chromium
fi

if [ ! -f tests/browser/node_modules/playwright-core/package.json ] \
  || [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  echo "run.sh: installing test dependencies (npm ci)" >&2
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/browser --no-audit --no-fund
fi

if [ ! -d tests/oidc/node_modules/oidc-provider ]; then
  echo "run.sh: installing the test OpenID provider (npm ci)" >&2
  npm ci --prefix tests/oidc --no-audit --no-fund
fi

binary="${CARGO_TARGET_DIR:-target}/debug/portal"
if [ ! -x "$binary" ] || [ "${REBUILD:-0}" = 1 ]; then
  echo "run.sh: building $binary" >&2
  cargo build -p portal
fi

node tests/browser/sha256.test.mjs
node tests/browser/staff_handler.test.mjs
node tests/browser/staff_console.test.mjs
node tests/browser/parts_crash.test.mjs
exec node tests/browser/portal.test.mjs
