#!/usr/bin/env bash
# Shipping, the shop's Go service (services/shipping, its own go.mod): `build` compiles
# it into .runtime/bin/shipping, which dapr.yaml and the test launcher run; `test` is its
# gofmt check, go vet and unit tests; `format-check` the gofmt check alone (`make
# lint`). Go itself is not installed by the project: it must be on PATH at the version
# services/shipping/go.mod names, or newer.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=tools/lib.sh
source "$ROOT/tools/lib.sh"
SRC="$ROOT/services/shipping"
BIN="$RUNTIME_DIR/bin/shipping"

# Never let the go command fetch another toolchain behind our back: too old is an
# error with its fix, not a download.
export GOTOOLCHAIN=local

# Up to date when no source, go.mod or go.sum is newer than the binary: a re-run costs
# a find, not a go command.
up_to_date() {
  [[ -x "$BIN" ]] && [[ -z "$(find "$SRC" -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -newer "$BIN" -print -quit)" ]]
}

build() {
  if up_to_date; then
    return 0
  fi
  require_go "$SRC"
  mkdir -p "$(dirname "$BIN")"
  log "building shipping (Go) into ${BIN#"$ROOT"/}"
  # The first build downloads the modules go.sum pins, from the Go module proxy.
  go -C "$SRC" build -trimpath -o "$BIN" . || die "shipping does not build: see the output above"
}

format_check() {
  require_go "$SRC"
  local unformatted
  unformatted="$(cd "$SRC" && gofmt -l .)"
  [[ -z "$unformatted" ]] || die "not gofmt-formatted (run: gofmt -w services/shipping): $unformatted"
}

test_() {
  log "shipping (Go): gofmt, go vet, go test"
  format_check
  go -C "$SRC" vet ./... || die "go vet found problems in services/shipping: see above"
  # From services/shipping, the tests read the committed schemas at ../../contracts/events.
  go -C "$SRC" test -count=1 ./... || die "shipping's unit tests failed: see above"
}

case "${1:-}" in
  build) build ;;
  test) test_ ;;
  format-check) format_check ;;
  *) die "usage: tools/shipping.sh build|test|format-check" ;;
esac
