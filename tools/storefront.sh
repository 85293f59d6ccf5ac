#!/usr/bin/env bash
# The storefront (storefront/): `build` installs its npm packages from the lock file and
# builds it into storefront/dist, which the gateway serves; `browser` installs Debian's
# chromium, which the browser tests and the benchmark drive (never a downloaded one).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/lib.sh
source "$ROOT/tools/lib.sh"
APP="$ROOT/storefront"

build() {
  require_cmd node "install Node.js >= 20.19 (apt install nodejs, or https://nodejs.org) and re-run"
  require_cmd npm "install npm (apt install npm) and re-run"
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
    die "Node.js $(node --version) is too old: the storefront's toolchain (Vite) needs >= 20.19"
  # npm ci only when the lock file changed since the last install: it starts from scratch.
  if [[ ! -f "$APP/node_modules/.package-lock.json" || "$APP/package-lock.json" -nt "$APP/node_modules/.package-lock.json" ]]; then
    log "installing the storefront's npm packages (npm ci)"
    (cd "$APP" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in storefront/: see the output above"
  fi
  log "building the storefront (typecheck, vite build) into storefront/dist"
  (cd "$APP" && npm run --silent build -- --logLevel warn) || die "the storefront does not build: see the output above"
}

browser() {
  if ! command -v chromium >/dev/null 2>&1; then
    log "installing chromium (apt), for the browser tests"
    apt_install chromium fonts-dejavu-core
  fi
  chromium --headless --no-sandbox --disable-gpu --dump-dom about:blank >/dev/null 2>&1 ||
    die "chromium is installed but does not start headless: run 'chromium --headless --no-sandbox --dump-dom about:blank' to see why"
}

case "${1:-}" in
  build) build ;;
  browser) browser ;;
  *) die "usage: tools/storefront.sh build|browser" ;;
esac
